//! The generator: bytes as a pure function of `(seed, stream id, parameters, absolute offset)`.
//!
//! The stream is cut into dedup blocks ([`dedup`]) and each block into 4 KiB atoms ([`atom`]).
//! Block `b` carries a content key (its own, or an earlier block's when it is a copy); atom `i` of a
//! block is generated from `(stream, key, i)`; with a compressibility mix, the block's slot picks
//! the class whose plan its atoms use ([`classes`]). Nothing here knows about threads, files or buffers
//! beyond the slice it is handed: any range can be produced alone, in any order, by any thread.

mod atom;
mod calibration;
mod classes;
mod dedup;
mod header;
pub(crate) mod mix;
mod piece;
mod random;

use crate::params::{DedupScope, GenParams};
use atom::{
    literal_count, literal_granules, low_bits, write_atom, write_atom_over, CompressPlan,
    LiteralSymbols, Scratch,
};
use classes::Classes;
use dedup::DedupMap;
use header::HeaderCipher;
use mix::mix64;
use random::StreamKeys;

pub use atom::ATOM;
pub use calibration::{
    literal_bytes_for, literal_bytes_for_ratio, literal_symbols_for, max_zstd_ratio,
};
pub(crate) use classes::short_resync_ratios;
use header::stream_tag;
pub use header::{run_tag, AtomHeader, HEADER_LEN};
pub(crate) use piece::{max_piece_zstd, near_plain, PIECE_UNIT};

/// Which content a dedup block holds: a *slot* (the rank of the unique block the content started
/// as) at a *generation* (0 for what a fresh write lays down; each overwrite of a block that is
/// its slot's only holder advances it). See `crate::map` for how writes move blocks between them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockContent {
    /// The slot.
    pub slot: u64,
    /// The generation.
    pub generation: u32,
}

impl BlockContent {
    /// A trimmed (discarded) block: zeros, the bytes a device that reads zeros after a discard
    /// returns (`crate::map::Content::TRIMMED`).
    pub const TRIMMED: BlockContent = BlockContent {
        slot: u64::MAX,
        generation: 0,
    };
}

/// The pseudo-random choice a map write of `block` uses to pick a new slot: a pure function of
/// the run, the map's epoch and the block, so a rewrite is reproducible.
pub fn mix_choice(run_id: u64, epoch: u64, block: u64) -> u64 {
    mix64(run_id ^ mix64(epoch ^ mix64(block ^ 0x6368_6f69_6365)))
}

/// Which content each block holds when it is not what a fresh write lays down: the state of a
/// generation map (`crate::map`), as the generator reads it while filling or checking.
pub trait BlockContents: Send + Sync + std::fmt::Debug {
    /// The content block `block` should hold.
    fn content(&self, block: u64) -> BlockContent;
    /// Another content block `block` may hold instead (a write in flight at a crash: the block
    /// holds either); `None` for most blocks.
    fn alternative(&self, _block: u64) -> Option<BlockContent> {
        None
    }
    /// The current generation of `slot` (for diagnosis); `None` when unknown.
    fn slot_generation(&self, _slot: u64) -> Option<u32> {
        None
    }
    /// Up to `limit` blocks that should hold `content` now (for diagnosis); empty when unknown.
    fn blocks_holding(&self, _content: BlockContent, _limit: usize) -> Vec<u64> {
        Vec::new()
    }
    /// Whether a verify accepts any bytes in block `block` (a trimmed block on a device that
    /// does not promise zeros after a discard); `false` for most blocks.
    fn unchecked(&self, _block: u64) -> bool {
        false
    }
    /// Whether block `block` held `slot` before its last write (for diagnosis); `None` when
    /// unknown.
    fn held_before(&self, _block: u64, _slot: u64) -> Option<bool> {
        None
    }
}

/// The salt of stream `index` of a global dedup scope: its content depends on the seed and the
/// index only, so any stream can make any other's unique blocks.
fn scope_stream_salt(seed: u64, index: u64) -> u64 {
    mix64(mix64(seed ^ 0x676c_6f62_616c) ^ index)
}

/// What separates one stream's atoms from another's: the salt mixed into atom ids and the tag in
/// headers.
#[derive(Clone, Copy, Debug)]
struct StreamSalt {
    salt: u64,
    tag: u32,
}

/// A configured generator. Cheap to clone, `Send + Sync`: share one across threads.
#[derive(Clone, Debug)]
pub struct Generator {
    params: GenParams,
    keys: StreamKeys,
    dedup: DedupMap,
    plan: CompressPlan,
    /// The classes of a compressibility mix (each block then uses its class's plan, not `plan`).
    classes: Option<Classes>,
    /// A profile's echoed atoms (see [`crate::profile::mix`]).
    echoes: Option<Echoes>,
    /// Mixed into every atom id: separates streams.
    stream_salt: u64,
    atoms_per_block: u64,
    /// Atoms that share one class (a profile's class unit; the block for a mix): the class of
    /// atom `a` of slot `s` is that of piece `(s * atoms_per_block + a) / class_atoms`, a
    /// function of the content, never of the offset.
    class_atoms: u64,
    header: HeaderCipher,
    /// The run tag written into every header (0 without a map).
    run_tag: u32,
    /// The stream tag written into every header.
    stream_tag: u32,
    /// The blocks' contents, when a map says them (else each block holds its fresh content).
    contents: Option<std::sync::Arc<dyn BlockContents>>,
}

impl Generator {
    /// Builds a generator; fails when a parameter is out of range (see [`GenParams::validate`]).
    pub fn new(params: GenParams) -> crate::Result<Self> {
        params.validate()?;
        let (stream_salt, scope_index) = match params.scope {
            DedupScope::Stream => (
                mix64(mix64(params.seed ^ 0x7374_7265_616d) ^ params.stream_id),
                None,
            ),
            DedupScope::Global { index } => (
                scope_stream_salt(params.seed, index as u64),
                Some(index as u64),
            ),
        };
        Ok(Generator {
            keys: StreamKeys::from_seed(params.seed),
            dedup: DedupMap::new(
                params.dedup_ratio,
                params.dedup_unit,
                params.copy_source,
                scope_index,
                stream_salt ^ 0x0064_6564_7570,
            ),
            plan: CompressPlan::new(literal_bytes_for(
                params.compress_ratio,
                params.compress_codec,
            ))
            .with_symbols(
                params.compress_zstd.and_then(|z| {
                    LiteralSymbols::new(literal_symbols_for(params.compress_ratio, z))
                }),
            ),
            // In a global scope every stream assigns classes alike, so a copy of another
            // stream's block has its original's class (and bytes).
            classes: {
                let salt = match scope_index {
                    None => stream_salt,
                    Some(_) => mix64(params.seed ^ 0x676c_6f62_616c),
                } ^ 0x0063_6c61_7373;
                match (&params.compress_mix, &params.compress_profile) {
                    (Some(mix), _) => Some(Classes::new(mix, params.compress_codec, salt)),
                    (None, Some(profile)) => Some(profile_classes(profile, salt)),
                    (None, None) => None,
                }
            },
            echoes: params
                .compress_profile
                .as_ref()
                .and_then(|p| Echoes::new(p, params.dedup_unit, stream_salt)),
            stream_salt,
            atoms_per_block: params.dedup_unit / ATOM as u64,
            class_atoms: match &params.compress_profile {
                Some(p) if params.compress_mix.is_none() && p.class_unit > 0 => {
                    (p.class_unit / ATOM as u64).max(1)
                }
                _ => params.dedup_unit / ATOM as u64,
            },
            header: HeaderCipher::new(params.seed),
            run_tag: 0,
            stream_tag: stream_tag(stream_salt),
            contents: None,
            params,
        })
    }

    /// The stream as written by the run `run_id` (a map's run id, drawn at random when the map
    /// is made; 0: no run, the plain stream): the run id is mixed into every atom, so one run's
    /// data never equals another's (nor the plain stream's), and every header carries the run's
    /// tag. The layout, the ratios and the slots are those of the plain stream.
    pub fn with_run_id(mut self, run_id: u64) -> Self {
        self.run_tag = run_tag(run_id);
        if run_id != 0 {
            self.stream_salt = mix64(self.stream_salt ^ mix64(run_id ^ 0x0072_756e_6964));
        }
        self
    }

    /// The same generator, with each block's content taken from `contents` (a map's state) instead
    /// of the fresh write's: [`Generator::fill`] and [`Generator::first_mismatch`] then give and
    /// check what the map says the target holds.
    pub fn with_contents(mut self, contents: std::sync::Arc<dyn BlockContents>) -> Self {
        self.contents = Some(contents);
        self
    }

    /// The content block `block` holds: the map's, or the fresh write's.
    #[inline]
    pub fn content_of(&self, block: u64) -> BlockContent {
        match &self.contents {
            Some(c) => c.content(block),
            None => self.initial_content(block),
        }
    }

    /// Up to `limit` blocks that a map says hold `content` now (empty without a map).
    pub fn blocks_holding(&self, content: BlockContent, limit: usize) -> Vec<u64> {
        self.contents
            .as_ref()
            .map_or_else(Vec::new, |c| c.blocks_holding(content, limit))
    }

    /// The current generation of `slot` according to the map (`None` without one).
    pub fn slot_generation(&self, slot: u64) -> Option<u32> {
        self.contents.as_ref().and_then(|c| c.slot_generation(slot))
    }

    /// Whether a map says block `block` held `slot` before its last write (`None` without a map
    /// or a history).
    pub fn held_before(&self, block: u64, slot: u64) -> Option<bool> {
        self.contents
            .as_ref()
            .and_then(|c| c.held_before(block, slot))
    }

    /// Whether a map says which content each block holds.
    pub fn has_map(&self) -> bool {
        self.contents.is_some()
    }

    /// The stream tag in this generator's headers.
    pub fn stream_tag(&self) -> u32 {
        self.stream_tag
    }

    /// The run tag in this generator's headers.
    pub fn run_tag(&self) -> u32 {
        self.run_tag
    }

    /// The content that block `block` holds after a fresh write: the slot of the unique block it
    /// is (or copies), at generation 0.
    pub fn initial_content(&self, block: u64) -> BlockContent {
        BlockContent {
            slot: self.dedup.content_key(block),
            generation: 0,
        }
    }

    /// Distinct contents (slots) among the first `blocks` blocks of a fresh write.
    pub fn slots_for(&self, blocks: u64) -> u64 {
        self.dedup.uniques_before(blocks)
    }

    /// The block that holds `slot` at generation 0 in a fresh write (the unique block of that
    /// rank): where a misdirected generation-0 unit belongs.
    pub fn home_block(&self, slot: u64) -> u64 {
        self.dedup.unique_block(slot)
    }

    /// The class of `slot`'s content in the compressibility mix (an index into the mix's
    /// classes), or `None` without a mix. Every block that holds the slot, at any generation, has
    /// that class: block `b` of a fresh write has the class of `initial_content(b).slot`.
    pub fn compress_class(&self, slot: u64) -> Option<usize> {
        self.compress_class_at(slot, 0)
    }

    /// The class of atom `atom` of `slot`'s content: [`Generator::compress_class`] for a mix
    /// (one class per block); a profile's blocks have one class per class-unit piece.
    pub fn compress_class_at(&self, slot: u64, atom: u64) -> Option<usize> {
        self.classes.as_ref().map(|c| {
            c.class_of(self.class_piece(slot.wrapping_mul(self.atoms_per_block).wrapping_add(atom)))
        })
    }

    /// The class piece of the atom at `position` (`slot * atoms_per_block + atom`).
    #[inline]
    fn class_piece(&self, position: u64) -> u64 {
        if self.class_atoms == self.atoms_per_block {
            position / self.atoms_per_block
        } else {
            position / self.class_atoms
        }
    }

    /// The dedup unit (block size) in bytes.
    pub fn dedup_unit(&self) -> u64 {
        self.params.dedup_unit
    }

    /// The header in the first [`HEADER_LEN`] bytes of an atom, or `None` when those bytes are
    /// not a header of this stream (another seed or stream, or corrupted).
    pub fn decode_header(&self, atom_start: &[u8; HEADER_LEN]) -> Option<AtomHeader> {
        self.header.decode(atom_start)
    }

    /// A generator whose atoms hold `literal_bytes` literal bytes on average, whatever the params'
    /// compression ratio says. For calibrating against codecs only (`examples/calibrate.rs`).
    #[doc(hidden)]
    pub fn with_literal_bytes(params: GenParams, literal_bytes: f64) -> crate::Result<Self> {
        let mut generator = Generator::new(params)?;
        generator.plan = CompressPlan::new(literal_bytes);
        Ok(generator)
    }

    /// A generator whose literal bytes take `symbols` values (2 to 256), whatever the params say.
    /// For calibrating against codecs only (`examples/calibrate_entropy.rs`).
    #[doc(hidden)]
    pub fn with_literal_symbols(params: GenParams, symbols: u16) -> crate::Result<Self> {
        let mut generator = Generator::new(params)?;
        generator.plan = generator.plan.with_symbols(LiteralSymbols::new(symbols));
        Ok(generator)
    }

    /// A generator whose atoms hold `literal_bytes` literal bytes on average, taken from `symbols`
    /// values (2 to 256; 256: plain literals), in the layouts of a mix's or a profile's classes
    /// (with a re-sync piece), whatever the params say. For calibrating against codecs only
    /// (`examples/calibrate_piece.rs`, `examples/calibrate.rs -- --resync`).
    #[doc(hidden)]
    pub fn with_literal_plan(
        params: GenParams,
        literal_bytes: f64,
        symbols: u16,
    ) -> crate::Result<Self> {
        let mut generator = Generator::new(params)?;
        generator.plan =
            CompressPlan::resync(literal_bytes).with_symbols(LiteralSymbols::new(symbols));
        Ok(generator)
    }

    /// The parameters this generator was built with.
    pub fn params(&self) -> &GenParams {
        &self.params
    }

    /// The id of atom `atom_in_block` of the block whose content key is `key`, in the stream of
    /// `salt`.
    #[inline]
    fn atom_id(&self, key: u64, atom_in_block: u64, salt: u64) -> u64 {
        // `key * atoms_per_block + atom` is injective and mix64 is a bijection: ids never collide
        // within a stream.
        mix64(
            key.wrapping_mul(self.atoms_per_block)
                .wrapping_add(atom_in_block)
                ^ salt,
        )
    }

    /// This stream's salt and tag.
    #[inline]
    fn own_salt(&self) -> StreamSalt {
        StreamSalt {
            salt: self.stream_salt,
            tag: self.stream_tag,
        }
    }

    /// The content block `block` holds, the stream it comes from (its own, or in a global scope
    /// the stream whose unique block it copies) and, for a shifted copy, its shift in bytes.
    #[inline]
    fn block_source(&self, block: u64) -> (BlockContent, StreamSalt, usize) {
        if self.contents.is_some() {
            return (self.content_of(block), self.own_salt(), 0);
        }
        let origin = self.dedup.origin(block);
        let content = BlockContent {
            slot: origin.key,
            generation: 0,
        };
        let source = match (origin.stream, self.params.scope) {
            (Some(i), DedupScope::Global { index }) if i != index as u64 => {
                let salt = scope_stream_salt(self.params.seed, i);
                StreamSalt {
                    salt,
                    tag: stream_tag(salt),
                }
            }
            _ => self.own_salt(),
        };
        (content, source, origin.shift as usize)
    }

    /// Writes the atom with absolute index `atom_index` (byte offset `atom_index * 4096`) as its
    /// block's content has it.
    #[inline]
    fn write_atom_at(&self, atom_index: u64, cursor: &mut Cursor, out: &mut [u8; ATOM]) {
        let block = atom_index / self.atoms_per_block;
        if cursor.block != block {
            cursor.block = block;
            (cursor.content, cursor.source, cursor.shift) = self.block_source(block);
        }
        let (content, source, shift) = (cursor.content, cursor.source, cursor.shift);
        let atom = atom_index % self.atoms_per_block;
        if shift == 0 {
            self.write_content_atom(content, atom, source, cursor, out);
        } else {
            self.write_shifted_atom(content, atom, source, shift, cursor, out);
        }
    }

    /// Writes atom `atom` of a shifted copy of `content`: the original's bytes from `shift` on,
    /// so the atom is the tail of the original's atom `atom` and the head of the next one (past
    /// the block's last atom, the first atom of the next key: the original's neighbour when they
    /// sit in one run of unique blocks).
    #[cold]
    fn write_shifted_atom(
        &self,
        content: BlockContent,
        atom: u64,
        source: StreamSalt,
        shift: usize,
        cursor: &mut Cursor,
        out: &mut [u8; ATOM],
    ) {
        let mut part = [0u8; ATOM];
        self.write_content_atom(content, atom, source, cursor, &mut part);
        out[..ATOM - shift].copy_from_slice(&part[shift..]);
        let (next, next_atom) = if atom + 1 < self.atoms_per_block {
            (content, atom + 1)
        } else {
            (
                BlockContent {
                    slot: content.slot + 1,
                    generation: content.generation,
                },
                0,
            )
        };
        self.write_content_atom(next, next_atom, source, cursor, &mut part);
        out[ATOM - shift..].copy_from_slice(&part[..shift]);
    }

    /// The key that atom ids and layouts derive from for `content`: the slot itself at generation
    /// 0 (so a fresh write is what [`Generator::fill`] gives), else a mix of both (always at or
    /// above 2^63, so never a generation-0 key).
    #[inline]
    fn content_key(content: BlockContent) -> u64 {
        if content.generation == 0 {
            content.slot
        } else {
            mix64(content.slot ^ mix64(content.generation as u64 ^ 0x6765_6e65_7261_7469)) | 1 << 63
        }
    }

    /// Writes atom `atom_in_block` of a block that holds `content` of the stream of `source`.
    #[inline]
    fn write_content_atom(
        &self,
        content: BlockContent,
        atom_in_block: u64,
        source: StreamSalt,
        cursor: &mut Cursor,
        out: &mut [u8; ATOM],
    ) {
        if content == BlockContent::TRIMMED {
            out.fill(0);
            return;
        }
        let key = Self::content_key(content);
        let source_salt = source.salt;
        let id = self.atom_id(key, atom_in_block, source_salt);
        // The atom's place in the plan's cycle of layouts: consecutive atoms of consecutive unique
        // blocks take consecutive places (so the cycle repeats unbroken, and every 32 such atoms
        // hold it once), and a duplicate block takes its original's.
        let slot = key
            .wrapping_mul(self.atoms_per_block)
            .wrapping_add(atom_in_block);
        let header = self.header.encode(AtomHeader {
            slot: content.slot,
            generation: content.generation,
            atom: atom_in_block as u16,
            run_tag: self.run_tag,
            stream_tag: source.tag,
        });
        let (plan, id, slot) = match &self.classes {
            Some(classes) => {
                let piece = if self.class_atoms == self.atoms_per_block {
                    content.slot
                } else {
                    content
                        .slot
                        .wrapping_mul(self.atoms_per_block)
                        .wrapping_add(atom_in_block)
                        / self.class_atoms
                };
                let (run, echo_key) = classes.run_and_echo_key(piece);
                let class = classes.class_in_run(piece, run);
                // The echoes, when the piece echoes (its run class echoes, and its key).
                let echo = self
                    .echoes
                    .as_ref()
                    .filter(|e| content.generation == 0 && e.echoing(run) && e.echoing(echo_key));
                match echo {
                    Some(echoes) if echoes.partial() => {
                        let plan = classes.plan(class);
                        if let Some((from, from_class)) =
                            self.echo_source(echoes, classes, echo_key, slot)
                        {
                            let mask = echoes.mask(slot);
                            let count = self.shared_granules(
                                echoes,
                                classes,
                                echo_key,
                                (from, from_class),
                                mask,
                                source_salt,
                                &mut cursor.shared,
                            );
                            write_atom_over(
                                &self.keys,
                                plan,
                                id,
                                slot,
                                &header,
                                out,
                                &mut cursor.work,
                                Some((&cursor.shared, count, mask)),
                            );
                            return;
                        }
                        (plan, id, slot)
                    }
                    Some(echoes) => {
                        let source = echoes
                            .source(slot, echo_key, |s| classes.echo_key_of(self.class_piece(s)));
                        let (key, atom) =
                            (source / self.atoms_per_block, source % self.atoms_per_block);
                        (
                            classes.plan(classes.class_of(self.class_piece(source))),
                            self.atom_id(key, atom, source_salt),
                            source,
                        )
                    }
                    None => (classes.plan(class), id, slot),
                }
            }
            None => (&self.plan, id, slot),
        };
        write_atom(&self.keys, plan, id, slot, &header, out, &mut cursor.work);
    }

    /// The atom that atom `position` (of echo key `key`) repeats granules of, with its class,
    /// when its draw says it echoes and that atom has the same echo key (one draw of its class).
    #[inline]
    fn echo_source(
        &self,
        echoes: &Echoes,
        classes: &Classes,
        key: usize,
        position: u64,
    ) -> Option<(u64, usize)> {
        let from = echoes.step_back(position, key)?;
        let piece = self.class_piece(from);
        let (run, from_key) = classes.run_and_echo_key(piece);
        (from_key == key).then(|| (from, classes.class_in_run(piece, run)))
    }

    /// The literal granules of atom `from` (position of content, and its class) that `mask`
    /// names, as the stream has them, into `shared` at `32 j` for literal granule `j`
    /// ([`atom::literal_granules`]); returns how many literal granules `from` has. A granule
    /// that `from` itself repeats (it echoes, with echo key `key`, and its mask names the
    /// granule) is its source's, and so on back: each atom of the chain gives the granules it
    /// has plain, so no atom is written whole, and each costs one draw of its class.
    #[allow(clippy::too_many_arguments)]
    fn shared_granules(
        &self,
        echoes: &Echoes,
        classes: &Classes,
        key: usize,
        (from, class): (u64, usize),
        mask: u128,
        salt: u64,
        shared: &mut [u8; ATOM],
    ) -> usize {
        let id_of = |position: u64| {
            self.atom_id(
                position / self.atoms_per_block,
                position % self.atoms_per_block,
                salt,
            )
        };
        let count = literal_count(classes.plan(class), from);
        let (mut at, mut plan) = (from, classes.plan(class));
        let mut pending = mask & low_bits(count);
        for _ in 0..MAX_CHAIN {
            if pending == 0 {
                break;
            }
            // What `at` repeats from further back: the granules it shares that its source has.
            let back = self.echo_source(echoes, classes, key, at).map(|(next, c)| {
                let next_plan = classes.plan(c);
                let deeper = pending & echoes.mask(at) & low_bits(literal_count(next_plan, next));
                (next, next_plan, deeper)
            });
            let deeper = back.map_or(0, |b| b.2);
            literal_granules(&self.keys, plan, id_of(at), at, pending & !deeper, shared);
            pending = deeper;
            if let Some((next, next_plan, _)) = back {
                (at, plan) = (next, next_plan);
            }
        }
        if pending != 0 {
            // The chain's end (rare: `MAX_CHAIN` atoms deep): taken as plain there.
            literal_granules(&self.keys, plan, id_of(at), at, pending, shared);
        }
        count
    }

    /// Fills `buf` with the bytes at `offset_in_block..offset_in_block + buf.len()` of a block
    /// that holds `content` (the range must lie within one dedup block).
    pub fn fill_content(&self, content: BlockContent, offset_in_block: u64, buf: &mut [u8]) {
        debug_assert!(offset_in_block + buf.len() as u64 <= self.params.dedup_unit);
        fill_atoms(offset_in_block, buf, |atom, cursor, out| {
            self.write_content_atom(content, atom, self.own_salt(), cursor, out)
        });
    }

    /// Compares `data` with the bytes at `offset_in_block` of a block that holds `content`;
    /// returns the index in `data` of the first byte that differs, or `None` when all match.
    pub fn first_mismatch_content(
        &self,
        content: BlockContent,
        offset_in_block: u64,
        data: &[u8],
    ) -> Option<usize> {
        first_mismatch_atoms(
            offset_in_block,
            data,
            |atom, cursor, out| {
                self.write_content_atom(content, atom, self.own_salt(), cursor, out)
            },
            |_, _, _| false,
        )
    }

    /// Fills `buf` with the bytes at `offset..offset + buf.len()` of the stream.
    pub fn fill(&self, offset: u64, buf: &mut [u8]) {
        fill_atoms(offset, buf, |atom, cursor, out| {
            self.write_atom_at(atom, cursor, out)
        });
    }

    /// Compares `data` with the bytes the stream has at `offset`; returns the index in `data` of
    /// the first byte that differs, or `None` when all match. Uses no heap memory. A unit of a
    /// block the map marks uncertain (see [`BlockContents::alternative`]) may hold either content.
    pub fn first_mismatch(&self, offset: u64, data: &[u8]) -> Option<usize> {
        first_mismatch_atoms(
            offset,
            data,
            |atom, cursor, out| self.write_atom_at(atom, cursor, out),
            |atom, skip, got| self.matches_alternative(atom, skip, got),
        )
    }

    /// Whether `got` (at `skip` within atom `atom_index`) is the alternative content the map
    /// allows for its block.
    fn matches_alternative(&self, atom_index: u64, skip: usize, got: &[u8]) -> bool {
        let block = atom_index / self.atoms_per_block;
        let Some(contents) = self.contents.as_ref() else {
            return false;
        };
        if contents.unchecked(block) {
            return true;
        }
        let Some(alt) = contents.alternative(block) else {
            return false;
        };
        let offset_in_block = (atom_index % self.atoms_per_block) * ATOM as u64 + skip as u64;
        self.first_mismatch_content(alt, offset_in_block, got)
            .is_none()
    }

    /// Like [`Generator::fill`], split across the rayon thread pool in 1 MiB pieces.
    pub fn fill_parallel(&self, offset: u64, buf: &mut [u8]) {
        use rayon::prelude::*;
        const PIECE: usize = 1 << 20;
        // Align pieces to the stream so every piece but the first starts on an atom.
        let head = ((PIECE as u64 - offset % PIECE as u64) % PIECE as u64) as usize;
        let head = head.min(buf.len());
        let (first, rest) = buf.split_at_mut(head);
        self.fill(offset, first);
        rest.par_chunks_mut(PIECE)
            .enumerate()
            .for_each(|(i, chunk)| {
                self.fill(offset + (head + i * PIECE) as u64, chunk);
            });
    }
}

/// A profile's echoes: which atoms repeat an earlier one, and how far back.
///
/// Positions are counted in the stream of unique content (`slot * atoms per block + atom`, what
/// a fresh write lays down when every block is unique), so an echo is a property of the content:
/// a duplicate block repeats its original's echoes. Atom `p` of class `c` echoes with the share of
/// its distance `d` times its class's echo scale (a Weyl sequence of `p` picks it) when `p - d` is
/// in an echoing class; the echo repeats what that atom holds, following its own echo, so both
/// are the same bytes.
#[derive(Clone, Debug)]
struct Echoes {
    /// Per class: `(threshold, distance in atoms)`, a value below the threshold (and above the
    /// previous one) picks the distance; empty for a class that does not echo (the zero class,
    /// the last, never does).
    picks: Vec<Vec<(u64, u64)>>,
    /// Atoms per block.
    block: u64,
    salt: u64,
    /// The share of an echoing atom's literal granules that repeat its source (the profile's
    /// `echo_fraction`; 1: the whole atom is its source's).
    fraction: f64,
}

impl Echoes {
    fn new(profile: &crate::profile::ProfileMix, block: u64, salt: u64) -> Option<Self> {
        if profile.echoes.is_empty() {
            return None;
        }
        // Per class, then none for the zero class, then per kind of region (their echo keys,
        // `Classes::echo_key_of`).
        let class_scales: Vec<f64> = (0..profile.classes.len())
            .map(|c| profile.echo_scale_of(c))
            .collect();
        let zero = usize::from(profile.zero_share > 0.0);
        let scales: Vec<f64> = class_scales
            .iter()
            .copied()
            .chain(std::iter::repeat_n(0.0, zero))
            .chain(crate::profile::mix::kind_echo_scales(
                &profile.kinds,
                &class_scales,
            ))
            .collect();
        let fraction = profile.echo_fraction.clamp(0.25, 1.0);
        // What an echoing atom gives a unit that holds its source, as a share of a whole atom
        // (more atoms echo when each gives less).
        let shared = if fraction < 1.0 {
            fraction * partial_echo_yield(fraction)
        } else {
            1.0
        };
        let picks = scales
            .iter()
            .map(|&scale| {
                let mut cumulative = 0.0;
                profile
                    .echoes
                    .iter()
                    .filter(|_| scale > 0.0)
                    .map(|e| {
                        cumulative += e.share * scale / shared;
                        (
                            (cumulative.min(1.0) * 18_446_744_073_709_551_616.0) as u64,
                            e.atoms as u64,
                        )
                    })
                    .collect()
            })
            .collect();
        Some(Echoes {
            picks,
            block: block / ATOM as u64,
            salt: mix64(salt ^ 0x6563_686f),
            fraction,
        })
    }

    /// Whether echoes share part of an atom (else the whole atom).
    #[inline]
    fn partial(&self) -> bool {
        self.fraction < 1.0
    }

    /// The literal granules atom `position` repeats from its source when it echoes partly, in
    /// pairs (bit `j` is literal granule `j`, see [`atom::write_atom_over`]): each pair with
    /// odds `fraction` (a multiple of 1/4), from a hash of the position, so a unit's gain is the
    /// sum of many small ones (about 32 pairs per atom at 1/2) rather than a whole number of
    /// atoms.
    #[inline]
    fn mask(&self, position: u64) -> u128 {
        let h = mix64(position ^ self.salt ^ 0x6d61_736b);
        let (a, b) = (h, mix64(h ^ 0x7061_6972));
        let pairs = match (self.fraction * 4.0).round() as u32 {
            0 | 1 => a & b,
            2 => a,
            3 => a | b,
            _ => u64::MAX,
        };
        both_granules(pairs)
    }

    /// The atom an echo of atom `position` (of echo key `run`) repeats, when its draw says it
    /// echoes: the one its distance reaches (within its block when shorter than one), whose echo
    /// key the caller checks. One step of [`Echoes::source`]'s walk and of
    /// [`Generator::shared_granules`]'s.
    #[inline]
    fn step_back(&self, position: u64, run: usize) -> Option<u64> {
        let d = self.distance(position, run)?;
        (d >= self.block || position % self.block >= d).then(|| position - d)
    }

    /// Whether atoms of class `class` echo.
    #[inline]
    fn echoing(&self, class: usize) -> bool {
        self.picks.get(class).is_some_and(|p| !p.is_empty())
    }

    /// The distance atom `position` (of class `class`) echoes at, if it does. Positions take
    /// values from a golden-ratio Weyl sequence (as classes do), not a hash: any run of atoms
    /// holds each distance's share to within a few atoms, so the ratio varies little from unit
    /// to unit.
    #[inline]
    fn distance(&self, position: u64, class: usize) -> Option<u64> {
        let h = position
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .wrapping_add(self.salt);
        let d = self.picks.get(class)?.iter().find(|&&(t, _)| h < t)?.1;
        (position >= d).then_some(d)
    }

    /// The position whose bytes atom `position` (of run class `run`) holds: itself, or
    /// (following echoes back to an atom that does not echo) the atom it repeats. An atom echoes
    /// only an atom of its own run class (`run_of(p)` is position `p`'s), so an echo never moves
    /// bytes of one class into a piece of a far one, and the echo shares are the run class's,
    /// so pieces of one run (blended, see `Classes::with_blend`) echo one another alike. Each
    /// step goes back, so the walk ends (after `1 / (1 - echo share)` steps on average: 10 at
    /// most).
    #[inline]
    fn source(&self, mut position: u64, run: usize, run_of: impl Fn(u64) -> usize) -> u64 {
        while let Some(next) = self.step_back(position, run) {
            if run_of(next) != run {
                break;
            }
            position = next;
        }
        position
    }
}

/// The classes of a profile: one plan per class (its lz4 ratio's literal bytes, and the literal
/// alphabet that gives its zstd ratio), then the zero blocks' plan when there are any.
fn profile_classes(profile: &crate::profile::ProfileMix, salt: u64) -> Classes {
    let mut plans = Vec::new();
    let mut fractions = Vec::new();
    for c in &profile.classes {
        // Pieces of 8 KiB are calibrated at 8 KiB, where the profile measured their classes.
        let (literal_bytes, symbols) = if profile.class_unit == PIECE_UNIT {
            piece::piece_plan(c.lz4, c.zstd, profile.near_plain_symbols)
        } else {
            (
                calibration::literal_bytes_for_resync(c.lz4, crate::params::CompressCodec::Lz),
                literal_symbols_for(c.lz4, c.zstd),
            )
        };
        plans.push(CompressPlan::resync(literal_bytes).with_symbols(LiteralSymbols::new(symbols)));
        fractions.push(c.share);
    }
    if profile.zero_share > 0.0 {
        plans.push(CompressPlan::zero());
        fractions.push(profile.zero_share);
    }
    let total: f64 = fractions.iter().sum();
    fractions.iter_mut().for_each(|f| *f /= total);
    Classes::with_plans(plans, &fractions, salt)
        .with_runs(&profile.runs, &crate::profile::RUN_GROUPS)
        .with_blend(
            profile.blend_from as usize,
            profile.blend_share,
            profile.classes.len(),
        )
        .with_strong_groups(
            profile.strong_classes as usize,
            profile.strong_group,
            profile.strong_blend,
        )
        .with_kinds(
            &profile.kinds,
            crate::profile::RUN_GROUPS[crate::profile::RUN_GROUPS.len() - 1],
            profile.kind_pieces,
            profile.kind_span,
        )
}

/// Fills `buf` (the bytes at `offset..`) atom by atom with `write(atom_index, cursor, atom)`.
#[inline]
fn fill_atoms(
    offset: u64,
    buf: &mut [u8],
    mut write: impl FnMut(u64, &mut Cursor, &mut [u8; ATOM]),
) {
    // Made (zeroed) only for a partial atom: zeroing 4 KiB on every call cost 3% of the CPU of
    // a 4 KiB random-write fio job (perf).
    let mut scratch: Option<[u8; ATOM]> = None;
    // The cursor's 4 KiB work area is zeroed once per thread, not once per call (that memset
    // cost 3% of the CPU of a 4 KiB random-write fio job, perf): taken from this thread's
    // spare (a fresh one when a call is nested) and put back after.
    let mut cursor = SPARE_CURSOR
        .with(|c| c.take())
        .unwrap_or_else(|| Box::new(Cursor::new()));
    cursor.block = u64::MAX;
    for piece in atom_pieces(offset, buf.len()) {
        let dst = &mut buf[piece.pos..piece.pos + piece.len];
        if let Ok(whole) = <&mut [u8; ATOM]>::try_from(&mut *dst) {
            write(piece.atom_index, &mut cursor, whole);
        } else {
            let scratch = scratch.get_or_insert([0u8; ATOM]);
            write(piece.atom_index, &mut cursor, scratch);
            dst.copy_from_slice(&scratch[piece.skip..piece.skip + piece.len]);
        }
    }
    SPARE_CURSOR.with(|c| c.set(Some(cursor)));
}

thread_local! {
    /// A [`Cursor`] kept between [`fill_atoms`] calls of this thread.
    static SPARE_CURSOR: std::cell::Cell<Option<Box<Cursor>>> = const { std::cell::Cell::new(None) };
}

/// Compares `data` (the bytes at `offset..`) with what `write` gives atom by atom; a piece that
/// differs but that `tolerate(atom_index, skip, got)` accepts counts as matching. Returns the index
/// in `data` of the first wrong byte. Uses no heap memory.
#[inline]
fn first_mismatch_atoms(
    offset: u64,
    data: &[u8],
    mut write: impl FnMut(u64, &mut Cursor, &mut [u8; ATOM]),
    tolerate: impl Fn(u64, usize, &[u8]) -> bool,
) -> Option<usize> {
    let mut expected = [0u8; ATOM];
    let mut cursor = Cursor::new();
    for piece in atom_pieces(offset, data.len()) {
        write(piece.atom_index, &mut cursor, &mut expected);
        let got = &data[piece.pos..piece.pos + piece.len];
        let want = &expected[piece.skip..piece.skip + piece.len];
        if got != want && !tolerate(piece.atom_index, piece.skip, got) {
            let i = got.iter().zip(want).position(|(a, b)| a != b).unwrap_or(0);
            return Some(piece.pos + i);
        }
    }
    None
}

/// What consecutive atoms share: the current block's content key and scratch space.
struct Cursor {
    block: u64,
    content: BlockContent,
    source: StreamSalt,
    /// The current block's shift (shifted duplicates), in bytes.
    shift: usize,
    work: Scratch,
    /// A partial echo's shared granules ([`atom::literal_granules`]); in the cursor, not on the
    /// heap, so a comparison uses no heap memory.
    shared: [u8; ATOM],
}

impl Cursor {
    fn new() -> Self {
        Cursor {
            block: u64::MAX,
            content: BlockContent {
                slot: 0,
                generation: 0,
            },
            source: StreamSalt { salt: 0, tag: 0 },
            shift: 0,
            work: Scratch::new(),
            shared: [0u8; ATOM],
        }
    }
}

/// Bit `i` of `pairs` as bits `2 i` and `2 i + 1`: each pair of granules taken together.
#[inline]
fn both_granules(pairs: u64) -> u128 {
    // Spread the bits apart (bit `i` to bit `2 i`), then double them.
    let mut x = pairs as u128;
    x = (x | (x << 32)) & 0x0000_0000_ffff_ffff_0000_0000_ffff_ffff;
    x = (x | (x << 16)) & 0x0000_ffff_0000_ffff_0000_ffff_0000_ffff;
    x = (x | (x << 8)) & 0x00ff_00ff_00ff_00ff_00ff_00ff_00ff_00ff;
    x = (x | (x << 4)) & 0x0f0f_0f0f_0f0f_0f0f_0f0f_0f0f_0f0f_0f0f;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333_3333_3333_3333_3333;
    x = (x | (x << 1)) & 0x5555_5555_5555_5555_5555_5555_5555_5555;
    x | (x << 1)
}

/// What a partial echo of `fraction` of an atom's literal granules saves a codec, as a share of
/// those granules' bytes: each run of shared granules (pairs drawn at random: `1 / (1 -
/// fraction)` pairs in a row on average) costs a match and splits a literal run, and a source
/// with fewer literal granules than the atom shares fewer. Measured with lz4 and zstd-1 on the
/// `database` profile (`scripts/compare-profiles`: the aggregate ratios at 32 KiB-1 MiB as with
/// whole atoms): 0.89 at 1/2, 0.93 at 3/4.
fn partial_echo_yield(fraction: f64) -> f64 {
    0.81 + 0.16 * fraction
}

/// Most atoms a partial echo's granules go back through ([`Generator::shared_granules`]).
const MAX_CHAIN: usize = 8;

/// The part of one atom that a byte range covers.
struct AtomPiece {
    atom_index: u64,
    /// Bytes of the atom before the range starts (non-zero only for the first piece).
    skip: usize,
    /// Position of the piece in the range.
    pos: usize,
    len: usize,
}

/// The atoms that `offset..offset + len` overlaps, in order.
fn atom_pieces(offset: u64, len: usize) -> impl Iterator<Item = AtomPiece> {
    let first = offset / ATOM as u64;
    let head_skip = (offset % ATOM as u64) as usize;
    let mut pos = 0usize;
    (first..).map_while(move |atom_index| {
        if pos >= len {
            return None;
        }
        let skip = if pos == 0 { head_skip } else { 0 };
        let take = (ATOM - skip).min(len - pos);
        let piece = AtomPiece {
            atom_index,
            skip,
            pos,
            len: take,
        };
        pos += take;
        Some(piece)
    })
}
