//! The map file (a checkpoint): header, arrays and pending transitions; encoding, decoding and
//! the identity check. The layout is documented in the module doc of [`crate::map`].

use super::compact::{InitialSlots, Side};
use super::state::{BlockMap, Content, MapIdentity, Transition};
use crate::error::{Error, Result};
use crate::params::{CompressCodec, CompressMix, GenParams, MixClass, MAX_COMPRESS_RATIO};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use xxhash_rust::xxh3::{xxh3_64, Xxh3Default};

/// Magic of a map file.
pub(crate) const MAP_MAGIC: [u8; 8] = *b"DGENMAP\0";
/// Map format version of a map without a compressibility mix. 2: the dedup layout of issue 11
/// (extents; a map of version 1 describes data laid out the old way, which this dgen no longer
/// makes, and is refused).
pub(crate) const MAP_VERSION: u32 = 2;
/// Map format version of a map with a compressibility mix (version 2 plus the mix trailer: a dgen
/// that reads only version 2 refuses it rather than misreading it).
pub(crate) const MAP_VERSION_MIX: u32 = 3;
/// Bytes per class in the mix trailer (ratio and share in percent, f64 bits each).
const MIX_CLASS: usize = 16;
/// Bit of the header's mix field saying the trailer starts with zstd's ratio (f64 bits).
const ZSTD_FLAG: u32 = 1 << 31;
/// Bytes in the map header.
pub(crate) const MAP_HEADER: usize = 136;
/// Bytes in one pending transition.
pub(crate) const PENDING: usize = 40;
/// Flag: the slot array of the older layout is present (`K != N`; read, never written).
const FLAG_SLOTS: u32 = 1;
/// Flag: the older layout's slot array entries are 8 bytes (`K > 2^32`).
const FLAG_WIDE: u32 = 2;
/// Flag: the trimmed-block bitset is present (some block was trimmed). A dgen that predates trims
/// refuses such a map (its flags do not fit), never misreads it.
const FLAG_TRIMS: u32 = 4;
/// Flag: the older layout's per-block history tags are present (one byte per block, `K < N`
/// only; read and dropped: the versions say what a block held before).
const FLAG_HISTORY: u32 = 8;
/// Flag: per-block versions (two bytes each) and the side table are present (`K != N`);
/// a dgen from before them refuses such a map (its flags do not fit), never misreads it.
const FLAG_VERSIONS: u32 = 16;
/// Flag: the map's mix classes are laid out with re-sync pieces
/// (`Layout::draw`). A mix map without it describes data of an older dgen, which this one no
/// longer makes (it is refused: verifying against it would fail every compressible block), and a
/// dgen from before re-sync pieces refuses a map with it (its flags do not fit).
const FLAG_RESYNC: u32 = 32;
/// Flag: the map's mix classes near 1:1 are laid out with short re-sync pieces
/// (`Layout::draw`). A mix map without it, of a mix with such a class, describes data of an
/// older dgen, which this one no longer makes (refused, as [`FLAG_RESYNC`]); one whose classes
/// have none is laid out alike and taken. A dgen from before them refuses a map with it.
const FLAG_SHORT_RESYNC: u32 = 64;
/// Bytes in one side-table entry: block, slot and slot held before (u64 each; [`NONE`]: none).
const SIDE_ENTRY: u64 = 24;
/// A side-table field with no value.
const NONE: u64 = u64::MAX;
/// The sequence number of a pending transition carried over from a recovery: it stays uncertain
/// until the block is rewritten (or the caller settles it), whatever later done records say.
pub(crate) const SEQ_RECOVERED: u64 = 0;

/// A transition whose data write was not known to be complete at a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pending {
    /// Its intent's sequence number, or [`SEQ_RECOVERED`].
    pub(crate) seq: u64,
    pub(crate) transition: Transition,
}

/// A map file's header.
#[derive(Clone, Debug)]
pub(crate) struct Header {
    pub(crate) identity: MapIdentity,
    pub(crate) blocks: u64,
    pub(crate) slots: u64,
    flags: u32,
    pub(crate) epoch: u64,
    pub(crate) next_seq: u64,
    pub(crate) pending: u64,
    body_sum: u64,
    /// Classes in the mix trailer (0: no mix).
    mix_classes: u32,
    /// Whether the trailer starts with zstd's ratio (per-codec ratios).
    has_zstd: bool,
}

fn codec_code(c: CompressCodec) -> u32 {
    match c {
        CompressCodec::Lz => 0,
        CompressCodec::Snappy => 1,
    }
}

fn encode_header(h: &Header) -> [u8; MAP_HEADER] {
    let p = &h.identity.params;
    let mut b = [0u8; MAP_HEADER];
    let mut put = |at: usize, bytes: &[u8]| b[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, &MAP_MAGIC);
    let version = if h.mix_classes > 0 || h.has_zstd {
        MAP_VERSION_MIX
    } else {
        MAP_VERSION
    };
    put(8, &version.to_le_bytes());
    put(12, &h.flags.to_le_bytes());
    put(16, &p.seed.to_le_bytes());
    put(24, &p.stream_id.to_le_bytes());
    put(32, &p.dedup_ratio.to_bits().to_le_bytes());
    put(40, &p.compress_ratio.to_bits().to_le_bytes());
    put(48, &p.dedup_unit.to_le_bytes());
    put(56, &codec_code(p.compress_codec).to_le_bytes());
    put(
        60,
        &(h.mix_classes | if h.has_zstd { ZSTD_FLAG } else { 0 }).to_le_bytes(),
    );
    put(64, &h.identity.size.to_le_bytes());
    put(72, &h.identity.run_id.to_le_bytes());
    put(80, &h.blocks.to_le_bytes());
    put(88, &h.slots.to_le_bytes());
    put(96, &h.epoch.to_le_bytes());
    put(104, &h.next_seq.to_le_bytes());
    put(112, &h.pending.to_le_bytes());
    put(120, &h.body_sum.to_le_bytes());
    let sum = xxh3_64(&b[..128]);
    b[128..136].copy_from_slice(&sum.to_le_bytes());
    b
}

fn decode_header(b: &[u8; MAP_HEADER]) -> std::result::Result<Header, String> {
    let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
    let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
    if b[..8] != MAP_MAGIC {
        return Err("not a dgen map (bad magic)".into());
    }
    if u32_at(8) != MAP_VERSION && u32_at(8) != MAP_VERSION_MIX {
        return Err(format!(
            "map version {}, this dgen reads {MAP_VERSION} and {MAP_VERSION_MIX}",
            u32_at(8)
        ));
    }
    if xxh3_64(&b[..128]) != u64_at(128) {
        return Err("header checksum mismatch (the file is damaged)".into());
    }
    let compress_codec = match u32_at(56) {
        0 => CompressCodec::Lz,
        1 => CompressCodec::Snappy,
        other => return Err(format!("unknown compress codec code {other}")),
    };
    let h = Header {
        identity: MapIdentity {
            params: GenParams {
                seed: u64_at(16),
                stream_id: u64_at(24),
                dedup_ratio: f64::from_bits(u64_at(32)),
                compress_ratio: f64::from_bits(u64_at(40)),
                dedup_unit: u64_at(48),
                compress_codec,
                // Maps refuse working sets and global scopes (check_mappable).
                copy_source: Default::default(),
                scope: Default::default(),
                compress_mix: None,
                compress_zstd: None,
                compress_profile: None,
            },
            size: u64_at(64),
            run_id: u64_at(72),
        },
        blocks: u64_at(80),
        slots: u64_at(88),
        flags: u32_at(12),
        epoch: u64_at(96),
        next_seq: u64_at(104),
        pending: u64_at(112),
        body_sum: u64_at(120),
        mix_classes: u32_at(60) & !ZSTD_FLAG,
        has_zstd: u32_at(60) & ZSTD_FLAG != 0,
    };
    if (h.mix_classes > 0 || h.has_zstd) != (u32_at(8) == MAP_VERSION_MIX)
        || h.mix_classes as usize > crate::compress_mix::MAX_MIX_CLASSES
    {
        return Err(format!(
            "{} mix classes in a version {} map",
            h.mix_classes,
            u32_at(8)
        ));
    }
    if h.blocks == 0 || h.slots == 0 || h.slots > h.blocks {
        return Err(format!("{} blocks over {} slots", h.blocks, h.slots));
    }
    let resync_mix = h.mix_classes > 0;
    if resync_mix && h.flags & FLAG_RESYNC == 0 {
        return Err(
            "a map of a mix written by a dgen before re-sync pieces: its data is laid out the \
             older way, which this dgen no longer makes (verify it with the dgen that wrote it, \
             or start a new map)"
                .into(),
        );
    }
    if !resync_mix && h.flags & (FLAG_RESYNC | FLAG_SHORT_RESYNC) != 0 {
        return Err(format!(
            "flags {:#x} mark re-sync pieces without a mix",
            h.flags
        ));
    }
    let shape = h.flags & !FLAG_TRIMS & !FLAG_RESYNC & !FLAG_SHORT_RESYNC;
    let older = shape & !FLAG_HISTORY == older_flags_for(h.blocks, h.slots)
        && !(shape & FLAG_HISTORY != 0 && h.slots == h.blocks);
    if shape != flags_for(h.blocks, h.slots) && !older {
        return Err(format!(
            "flags {:#x} do not fit {} blocks over {} slots",
            h.flags, h.blocks, h.slots
        ));
    }
    Ok(h)
}

/// The shape flags of a map this dgen writes.
fn flags_for(blocks: u64, slots: u64) -> u32 {
    if slots == blocks {
        0
    } else {
        FLAG_VERSIONS
    }
}

/// The shape flags of the older layout (a slot per block), which this dgen reads.
fn older_flags_for(blocks: u64, slots: u64) -> u32 {
    match (slots == blocks, slots - 1 > u32::MAX as u64) {
        (true, _) => 0,
        (false, false) => FLAG_SLOTS,
        (false, true) => FLAG_SLOTS | FLAG_WIDE,
    }
}

/// Writes `map` as a map file into `file` (from offset 0; the file must be empty).
pub(crate) fn write_map(
    file: &File,
    map: &BlockMap,
    epoch: u64,
    next_seq: u64,
    pending: &[Pending],
) -> io::Result<()> {
    let mut hash = Xxh3Default::new();
    {
        let mut w = HashingWriter {
            inner: BufWriter::with_capacity(1 << 20, file),
            hash: &mut hash,
        };
        w.inner.write_all(&[0u8; MAP_HEADER])?;
        let mut chunk = Vec::with_capacity(1 << 16);
        let flush = |chunk: &mut Vec<u8>, w: &mut HashingWriter<'_>| -> io::Result<()> {
            w.write_all(chunk)?;
            chunk.clear();
            Ok(())
        };
        if let Some(place) = map.placement() {
            for v in place.versions() {
                chunk.extend_from_slice(&v.to_le_bytes());
                if chunk.len() >= 1 << 16 {
                    flush(&mut chunk, &mut w)?;
                }
            }
        }
        for s in 0..map.slots() {
            chunk.extend_from_slice(&map.generation(s).to_le_bytes());
            if chunk.len() >= 1 << 16 {
                flush(&mut chunk, &mut w)?;
            }
        }
        if let Some(place) = map.placement() {
            let side = place.side_entries();
            chunk.extend_from_slice(&(side.len() as u64).to_le_bytes());
            for (b, e) in side {
                for x in [b, e.slot.unwrap_or(NONE), e.previous.unwrap_or(NONE)] {
                    chunk.extend_from_slice(&x.to_le_bytes());
                }
                if chunk.len() >= 1 << 16 {
                    flush(&mut chunk, &mut w)?;
                }
            }
        }
        if let Some(words) = map.trimmed_words() {
            for word in words {
                chunk.extend_from_slice(&word.to_le_bytes());
                if chunk.len() >= 1 << 16 {
                    flush(&mut chunk, &mut w)?;
                }
            }
        }
        for p in pending {
            let t = &p.transition;
            for x in [p.seq, t.block, t.old.slot, t.new.slot] {
                chunk.extend_from_slice(&x.to_le_bytes());
            }
            chunk.extend_from_slice(&t.old.generation.to_le_bytes());
            chunk.extend_from_slice(&t.new.generation.to_le_bytes());
            if chunk.len() >= 1 << 16 {
                flush(&mut chunk, &mut w)?;
            }
        }
        let p = &map.identity().params;
        if p.compress_mix.is_some() || p.compress_zstd.is_some() {
            chunk.extend_from_slice(&encode_trailer(p));
        }
        flush(&mut chunk, &mut w)?;
        w.inner.flush()?;
    }
    let header = Header {
        identity: map.identity().clone(),
        blocks: map.blocks(),
        slots: map.slots(),
        flags: flags_for(map.blocks(), map.slots())
            | if map.trimmed_words().is_some() {
                FLAG_TRIMS
            } else {
                0
            }
            | if map.identity().params.compress_mix.is_some() {
                FLAG_RESYNC | FLAG_SHORT_RESYNC
            } else {
                0
            },
        epoch,
        next_seq,
        pending: pending.len() as u64,
        body_sum: hash.digest(),
        mix_classes: map
            .identity()
            .params
            .compress_mix
            .as_ref()
            .map_or(0, |m| m.classes().len() as u32),
        has_zstd: map.identity().params.compress_zstd.is_some(),
    };
    file.write_all_at(&encode_header(&header), 0)
}

/// Writes through to `inner`, hashing what it writes.
struct HashingWriter<'a> {
    inner: BufWriter<&'a File>,
    hash: &'a mut Xxh3Default,
}

impl Write for HashingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A map file read back.
pub(crate) struct Loaded {
    pub(crate) map: BlockMap,
    pub(crate) pending: Vec<Pending>,
}

fn damaged(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::invalid("map file", format!("{}: {reason}", path.display()))
}

/// Reads `buf.len()` bytes at `at`: a file that ends before is damaged (`short` says what is
/// missing), any other failure an I/O error naming the offset.
fn read_at(path: &Path, file: &File, buf: &mut [u8], at: u64, short: &str) -> Result<()> {
    file.read_exact_at(buf, at).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            damaged(path, short)
        } else {
            Error::io("read", path, Some(at), e)
        }
    })
}

/// The number of side-table entries in the map file at `path` (0 without versions): a count
/// stored after the versions and the generations.
fn side_table_len(path: &Path, file: &File, header: &Header) -> Result<u64> {
    if header.flags & FLAG_VERSIONS == 0 {
        return Ok(0);
    }
    let at = header
        .blocks
        .checked_mul(2)
        .and_then(|v| v.checked_add(header.slots.checked_mul(4)?))
        .and_then(|v| v.checked_add(MAP_HEADER as u64))
        .ok_or_else(|| damaged(path, "impossible array sizes"))?;
    let mut count = [0u8; 8];
    read_at(
        path,
        file,
        &mut count,
        at,
        "shorter than its header implies",
    )?;
    Ok(u64::from_le_bytes(count))
}

/// Reads the header of the map file at `path`.
pub(crate) fn read_header(path: &Path, file: &File) -> Result<Header> {
    let mut b = [0u8; MAP_HEADER];
    read_at(path, file, &mut b, 0, "shorter than its header")?;
    let mut header = decode_header(&b).map_err(|r| damaged(path, r))?;
    if mix_len(&header) > 0 {
        // The mix is part of the identity, checked before the body: read it now.
        let at = body_len(&header, side_table_len(path, file, &header)?)
            .and_then(|n| n.checked_add(MAP_HEADER as u64))
            .ok_or_else(|| damaged(path, "impossible array sizes"))?;
        let mut trailer = vec![0u8; mix_len(&header) as usize];
        read_at(
            path,
            file,
            &mut trailer,
            at,
            "shorter than its header implies (no mix trailer)",
        )?;
        let (zstd, mix) =
            decode_trailer(&trailer, header.has_zstd).map_err(|r| damaged(path, r))?;
        if let Some(mix) = &mix {
            let older = crate::gen::short_resync_ratios(mix, header.identity.params.compress_codec);
            if header.flags & FLAG_SHORT_RESYNC == 0 && !older.is_empty() {
                return Err(damaged(
                    path,
                    format!(
                        "a map of a mix written by a dgen before short re-sync pieces: its \
                         classes near 1:1 ({}) are laid out the older way, which this dgen no \
                         longer makes (verify it with the dgen that wrote it, or start a new map)",
                        older
                            .iter()
                            .map(|r| r.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        header.identity.params.compress_mix = mix;
        header.identity.params.compress_zstd = zstd;
    }
    Ok(header)
}

/// The trailer: zstd's ratio (f64 bits) with per-codec ratios, each mix class's ratio and
/// percent (f64 bits), then xxh3-64 of those.
fn encode_trailer(p: &GenParams) -> Vec<u8> {
    let mut b = Vec::new();
    if let Some(zstd) = p.compress_zstd {
        b.extend_from_slice(&zstd.to_bits().to_le_bytes());
    }
    for c in p.compress_mix.iter().flat_map(|m| m.classes()) {
        b.extend_from_slice(&c.ratio.to_bits().to_le_bytes());
        b.extend_from_slice(&c.percent.to_bits().to_le_bytes());
    }
    let sum = xxh3_64(&b);
    b.extend_from_slice(&sum.to_le_bytes());
    b
}

type Trailer = (Option<f64>, Option<CompressMix>);

fn decode_trailer(b: &[u8], has_zstd: bool) -> std::result::Result<Trailer, String> {
    let (body, sum) = b.split_at(b.len() - 8);
    if xxh3_64(body).to_le_bytes() != sum {
        return Err("mix trailer checksum mismatch (the file is damaged)".into());
    }
    let f64_at = |i: usize| f64::from_bits(u64::from_le_bytes(b[i..i + 8].try_into().unwrap()));
    let skip = if has_zstd { 8 } else { 0 };
    let zstd = has_zstd.then(|| f64_at(0));
    let classes: Vec<MixClass> = (0..(body.len() - skip) / MIX_CLASS)
        .map(|i| MixClass {
            ratio: f64_at(skip + i * MIX_CLASS),
            percent: f64_at(skip + i * MIX_CLASS + 8),
        })
        .collect();
    let mix = if classes.is_empty() {
        None
    } else {
        Some(
            CompressMix::new(classes, MAX_COMPRESS_RATIO)
                .map_err(|r| format!("bad mix trailer: {r}"))?,
        )
    };
    Ok((zstd, mix))
}

/// Bytes of the mix trailer.
fn mix_len(h: &Header) -> u64 {
    let body = h.mix_classes as u64 * MIX_CLASS as u64 + if h.has_zstd { 8 } else { 0 };
    if body == 0 {
        0
    } else {
        body + 8
    }
}

/// Reads the body of the map file at `path` whose header is `header`.
pub(crate) fn read_body(path: &Path, file: &File, header: Header) -> Result<Loaded> {
    let expected_len = body_len(&header, side_table_len(path, file, &header)?)
        .and_then(|n| n.checked_add(MAP_HEADER as u64 + mix_len(&header)))
        .ok_or_else(|| damaged(path, "impossible array sizes"))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io("stat", path, None, e))?
        .len();
    if len != expected_len {
        return Err(damaged(
            path,
            format!("{len} bytes where its header implies {expected_len}"),
        ));
    }
    let generator = crate::gen::Generator::new(header.identity.params.clone())?;
    let initial = InitialSlots::new(move |b| generator.initial_content(b).slot);
    let mut map = BlockMap::empty(
        header.identity.clone(),
        header.blocks,
        header.slots,
        initial,
    )?;
    let mut hash = Xxh3Default::new();
    let mut r = HashingReader {
        inner: BufReader::with_capacity(1 << 20, file),
        hash: &mut hash,
        offset: MAP_HEADER as u64,
    };
    let read_err = |e: io::Error, at: u64| Error::io("read", path, Some(at), e);
    let mut skip = [0u8; MAP_HEADER];
    // `BufReader<&File>` reads from the file position: 0 for a fresh handle (the header was
    // read with pread, which does not move it). Skip the header, which the body hash excludes.
    r.inner.read_exact(&mut skip).map_err(|e| read_err(e, 0))?;
    let io = |(e, at): (io::Error, u64)| read_err(e, at);
    if header.flags & FLAG_VERSIONS != 0 {
        let place = map.placement_mut().expect("K < N with versions");
        for v in place.versions_mut() {
            *v = u16::from_le_bytes(r.take::<2>().map_err(io)?);
        }
    }
    if header.flags & FLAG_SLOTS != 0 {
        // The older layout: a slot per block, kept as exceptions where it is not the block's
        // initial slot.
        let wide = header.flags & FLAG_WIDE != 0;
        let place = map.placement_mut().expect("K < N with a slot array");
        for b in 0..header.blocks {
            let slot = if wide {
                u64::from_le_bytes(r.take::<8>().map_err(io)?)
            } else {
                u64::from(u32::from_le_bytes(r.take::<4>().map_err(io)?))
            };
            if slot >= header.slots {
                return Err(damaged(
                    path,
                    format!("block {b} holds slot {slot}, not below {}", header.slots),
                ));
            }
            place.set_loaded_slot(b, slot);
        }
    }
    for slot in 0..header.slots {
        map.set_generation(slot, u32::from_le_bytes(r.take::<4>().map_err(io)?));
    }
    if header.flags & FLAG_VERSIONS != 0 {
        let count = u64::from_le_bytes(r.take::<8>().map_err(io)?);
        let place = map.placement_mut().expect("K < N with versions");
        for _ in 0..count {
            let mut x = [0u64; 3];
            for v in &mut x {
                *v = u64::from_le_bytes(r.take::<8>().map_err(io)?);
            }
            let [b, slot, previous] = x;
            let slot = (slot != NONE).then_some(slot);
            let previous = (previous != NONE).then_some(previous);
            let bad = |s: Option<u64>| s.is_some_and(|s| s >= header.slots);
            if b >= header.blocks || bad(slot) || bad(previous) {
                return Err(damaged(
                    path,
                    format!("side table: block {b} (slot {slot:?}, before {previous:?}) is out of range"),
                ));
            }
            place.insert_side(b, Side { slot, previous });
        }
    }
    if header.flags & FLAG_HISTORY != 0 {
        // The older layout's history tags: the versions say this now.
        let mut tags = vec![0u8; 1 << 16];
        let mut left = header.blocks;
        while left > 0 {
            let n = left.min(1 << 16) as usize;
            r.fill(&mut tags[..n]).map_err(io)?;
            left -= n as u64;
        }
    }
    if header.flags & FLAG_TRIMS != 0 {
        let mut words = Vec::with_capacity(header.blocks.div_ceil(64) as usize);
        for _ in 0..header.blocks.div_ceil(64) {
            words.push(u64::from_le_bytes(
                r.take::<8>().map_err(|(e, at)| read_err(e, at))?,
            ));
        }
        map.set_trimmed_words(words);
    }
    let mut pending = Vec::new();
    for _ in 0..header.pending {
        let b = r.take::<PENDING>().map_err(|(e, at)| read_err(e, at))?;
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
        pending.push(Pending {
            seq: u64_at(0),
            transition: Transition {
                block: u64_at(8),
                old: Content {
                    slot: u64_at(16),
                    generation: u32_at(32),
                },
                new: Content {
                    slot: u64_at(24),
                    generation: u32_at(36),
                },
            },
        });
    }
    // The mix trailer (already decoded with the header) counts in the body checksum.
    for _ in 0..mix_len(&header) {
        r.take::<1>().map_err(|(e, at)| read_err(e, at))?;
    }
    if hash.digest() != header.body_sum {
        return Err(damaged(
            path,
            "body checksum mismatch (the file is damaged)",
        ));
    }
    map.rebuild_holders()
        .map_err(|e| damaged(path, e.to_string()))?;
    for p in &pending {
        // A pending write need not be the block's last (it may have been rewritten since), so
        // only ranges are checked here.
        let t = &p.transition;
        let in_range = |c: Content| c.slot < header.slots || c.is_trimmed();
        if t.block >= header.blocks || !in_range(t.old) || !in_range(t.new) {
            return Err(damaged(
                path,
                format!("pending write to block {} is out of range", t.block),
            ));
        }
    }
    Ok(Loaded { map, pending })
}

fn body_len(h: &Header, side_entries: u64) -> Option<u64> {
    let placement = if h.flags & FLAG_VERSIONS != 0 {
        h.blocks
            .checked_mul(2)?
            .checked_add(8)?
            .checked_add(side_entries.checked_mul(SIDE_ENTRY)?)?
    } else if h.flags & FLAG_SLOTS != 0 {
        let width = if h.flags & FLAG_WIDE != 0 { 8 } else { 4 };
        h.blocks.checked_mul(width)?
    } else {
        0
    };
    let trims = if h.flags & FLAG_TRIMS != 0 {
        h.blocks.div_ceil(64) * 8
    } else {
        0
    };
    let history = if h.flags & FLAG_HISTORY != 0 {
        h.blocks
    } else {
        0
    };
    placement
        .checked_add(h.slots.checked_mul(4)?)?
        .checked_add(history)?
        .checked_add(trims)?
        .checked_add(h.pending.checked_mul(PENDING as u64)?)
}

/// Reads through a buffer, hashing what it reads.
struct HashingReader<'a> {
    inner: BufReader<&'a File>,
    hash: &'a mut Xxh3Default,
    offset: u64,
}

impl HashingReader<'_> {
    /// Reads exactly `buf.len()` bytes, hashing them.
    fn fill(&mut self, buf: &mut [u8]) -> std::result::Result<(), (io::Error, u64)> {
        self.inner.read_exact(buf).map_err(|e| (e, self.offset))?;
        self.hash.update(buf);
        self.offset += buf.len() as u64;
        Ok(())
    }

    fn take<const N: usize>(&mut self) -> std::result::Result<[u8; N], (io::Error, u64)> {
        let mut b = [0u8; N];
        self.inner
            .read_exact(&mut b)
            .map_err(|e| (e, self.offset))?;
        self.hash.update(&b);
        self.offset += N as u64;
        Ok(b)
    }
}

/// Fails when a map cannot track data made with `params`: copies from a working set (an
/// overwrite moves a block to a live slot chosen uniformly, which a working set would not keep)
/// or a global scope (copies of other streams' blocks, which one stream's map cannot follow).
pub(crate) fn check_mappable(params: &GenParams) -> Result<()> {
    if params.copy_source.is_working_set() || params.copy_source.shifted {
        return Err(Error::invalid(
            "map",
            "a dedup working set, skew or shifted duplicates cannot be used with a map yet \
             (overwrites pick the copies' originals uniformly among live blocks, unshifted); drop \
             the map or the option",
        ));
    }
    if params.compress_profile.is_some() {
        return Err(Error::invalid(
            "map",
            "a profile (--profile) cannot be used with a map yet (its larger-unit ratios come from \
             echoes between neighbouring blocks, which overwrites that move blocks between slots \
             break, and zero blocks carry no header to diagnose); drop the map or the profile",
        ));
    }
    if params.scope != crate::params::DedupScope::Stream {
        return Err(Error::invalid(
            "map",
            "a global dedup scope cannot be used with a map yet (a map tracks the live content \
             of one stream); drop the map or use the per-stream scope",
        ));
    }
    Ok(())
}

/// Fails with a one-line error naming the first field where `found` (read from the map at
/// `path`) differs from `expected`; `run_id: None` accepts any run.
pub(crate) fn check_identity(
    path: &Path,
    found: &MapIdentity,
    expected: &GenParams,
    size: u64,
    run_id: Option<u64>,
) -> Result<()> {
    let (f, e) = (&found.params, expected);
    let mismatch = |field: &str, have: String, want: String| {
        Err(Error::invalid(
            "map",
            format!(
                "{} was made with {field} {have}, this run has {field} {want}; use a new map \
                 (or the run's own parameters)",
                path.display()
            ),
        ))
    };
    if f.seed != e.seed {
        return mismatch("seed", f.seed.to_string(), e.seed.to_string());
    }
    if f.stream_id != e.stream_id {
        return mismatch(
            "stream id",
            f.stream_id.to_string(),
            e.stream_id.to_string(),
        );
    }
    if f.dedup_ratio.to_bits() != e.dedup_ratio.to_bits() {
        return mismatch(
            "dedup ratio",
            f.dedup_ratio.to_string(),
            e.dedup_ratio.to_string(),
        );
    }
    if f.compress_mix != e.compress_mix
        || f.compress_zstd.map(f64::to_bits) != e.compress_zstd.map(f64::to_bits)
    {
        return mismatch(
            "compression",
            f.compress_spec().to_string(),
            e.compress_spec().to_string(),
        );
    }
    if f.compress_ratio.to_bits() != e.compress_ratio.to_bits() {
        return mismatch(
            "compression ratio",
            f.compress_ratio.to_string(),
            e.compress_ratio.to_string(),
        );
    }
    if f.dedup_unit != e.dedup_unit {
        return mismatch(
            "dedup unit",
            f.dedup_unit.to_string(),
            e.dedup_unit.to_string(),
        );
    }
    if f.compress_codec != e.compress_codec {
        return mismatch(
            "compress codec",
            f.compress_codec.name().into(),
            e.compress_codec.name().into(),
        );
    }
    if found.size != size {
        return mismatch("size", found.size.to_string(), size.to_string());
    }
    if let Some(run) = run_id {
        if found.run_id != run {
            return mismatch(
                "run id",
                format!("{:#018x}", found.run_id),
                format!("{run:#018x} (the map belongs to another run)"),
            );
        }
    }
    Ok(())
}
