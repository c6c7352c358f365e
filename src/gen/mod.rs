//! The generator: bytes as a pure function of `(seed, stream id, parameters, absolute offset)`.
//!
//! The stream is cut into dedup blocks ([`dedup`]) and each block into 4 KiB atoms ([`atom`]).
//! Block `b` carries a content key (its own, or an earlier block's when it is a copy); atom `i` of a
//! block is generated from `(stream, key, i)`. Nothing here knows about threads, files or buffers
//! beyond the slice it is handed: any range can be produced alone, in any order, by any thread.

mod atom;
mod calibration;
mod dedup;
mod mix;
mod random;

use crate::params::GenParams;
use atom::{write_atom, CompressPlan, Scratch};
use dedup::DedupMap;
use mix::mix64;
use random::StreamKeys;

pub use atom::ATOM;
pub use calibration::{literal_bytes_for, literal_bytes_for_ratio};

/// A configured generator. Cheap to clone, `Send + Sync`: share one across threads.
#[derive(Clone, Debug)]
pub struct Generator {
    params: GenParams,
    keys: StreamKeys,
    dedup: DedupMap,
    plan: CompressPlan,
    /// Mixed into every atom id: separates streams.
    stream_salt: u64,
    atoms_per_block: u64,
}

impl Generator {
    /// Builds a generator; fails when a parameter is out of range (see [`GenParams::validate`]).
    pub fn new(params: GenParams) -> crate::Result<Self> {
        params.validate()?;
        let stream_salt = mix64(mix64(params.seed ^ 0x7374_7265_616d) ^ params.stream_id);
        Ok(Generator {
            keys: StreamKeys::from_seed(params.seed),
            dedup: DedupMap::new(
                params.dedup_ratio,
                params.dedup_unit,
                stream_salt ^ 0x0064_6564_7570,
            ),
            plan: CompressPlan::new(literal_bytes_for(
                params.compress_ratio,
                params.compress_codec,
            )),
            stream_salt,
            atoms_per_block: params.dedup_unit / ATOM as u64,
            params,
        })
    }

    /// A generator whose atoms hold `literal_bytes` literal bytes on average, whatever the params'
    /// compression ratio says. For calibrating against codecs only (`examples/calibrate.rs`).
    #[doc(hidden)]
    pub fn with_literal_bytes(params: GenParams, literal_bytes: f64) -> crate::Result<Self> {
        let mut generator = Generator::new(params)?;
        generator.plan = CompressPlan::new(literal_bytes);
        Ok(generator)
    }

    /// The parameters this generator was built with.
    pub fn params(&self) -> &GenParams {
        &self.params
    }

    /// The id of atom `atom_in_block` of the block whose content key is `key`.
    #[inline]
    fn atom_id(&self, key: u64, atom_in_block: u64) -> u64 {
        // `key * atoms_per_block + atom` is injective and mix64 is a bijection: ids never collide
        // within a stream.
        mix64(
            key.wrapping_mul(self.atoms_per_block)
                .wrapping_add(atom_in_block)
                ^ self.stream_salt,
        )
    }

    /// Writes the atom with absolute index `atom_index` (byte offset `atom_index * 4096`).
    #[inline]
    fn write_atom_at(&self, atom_index: u64, cursor: &mut Cursor, out: &mut [u8; ATOM]) {
        let block = atom_index / self.atoms_per_block;
        if cursor.block != block {
            cursor.block = block;
            cursor.key = self.dedup.content_key(block);
        }
        let atom_in_block = atom_index % self.atoms_per_block;
        let id = self.atom_id(cursor.key, atom_in_block);
        // The atom's place in the plan's cycle of layouts: consecutive atoms of consecutive unique
        // blocks take consecutive places (so the cycle repeats unbroken, and every 32 such atoms
        // hold it once), and a duplicate block takes its original's.
        let slot = cursor
            .key
            .wrapping_mul(self.atoms_per_block)
            .wrapping_add(atom_in_block);
        write_atom(&self.keys, &self.plan, id, slot, out, &mut cursor.work);
    }

    /// Fills `buf` with the bytes at `offset..offset + buf.len()` of the stream.
    pub fn fill(&self, offset: u64, buf: &mut [u8]) {
        let mut scratch = [0u8; ATOM];
        let mut key_cache = Cursor::new();
        for piece in atom_pieces(offset, buf.len()) {
            let dst = &mut buf[piece.pos..piece.pos + piece.len];
            if let Ok(whole) = <&mut [u8; ATOM]>::try_from(&mut *dst) {
                self.write_atom_at(piece.atom_index, &mut key_cache, whole);
            } else {
                self.write_atom_at(piece.atom_index, &mut key_cache, &mut scratch);
                dst.copy_from_slice(&scratch[piece.skip..piece.skip + piece.len]);
            }
        }
    }

    /// Compares `data` with the bytes the stream has at `offset`; returns the index in `data` of
    /// the first byte that differs, or `None` when all match. Uses no heap memory.
    pub fn first_mismatch(&self, offset: u64, data: &[u8]) -> Option<usize> {
        let mut expected = [0u8; ATOM];
        let mut key_cache = Cursor::new();
        for piece in atom_pieces(offset, data.len()) {
            self.write_atom_at(piece.atom_index, &mut key_cache, &mut expected);
            let got = &data[piece.pos..piece.pos + piece.len];
            let want = &expected[piece.skip..piece.skip + piece.len];
            if got != want {
                let i = got.iter().zip(want).position(|(a, b)| a != b).unwrap_or(0);
                return Some(piece.pos + i);
            }
        }
        None
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

/// What consecutive atoms share: the current block's content key and scratch space.
struct Cursor {
    block: u64,
    key: u64,
    work: Scratch,
}

impl Cursor {
    fn new() -> Self {
        Cursor {
            block: u64::MAX,
            key: 0,
            work: Scratch::new(),
        }
    }
}

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
