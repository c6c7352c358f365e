//! What a 4 KiB unit holds when it is not what verification expected: the atom's in-band header
//! (see `gen::AtomHeader`) names the content it is, and the bytes are checked against that claim.
//!
//! This turns a bare "mismatch at offset X" into one of: a lost write (an older generation of the
//! expected content, or another run's data), a misdirected write (content that belongs elsewhere,
//! with where), another stream's data (a renamed or misplaced file), corruption inside a unit whose
//! header is right, or bytes that are no data of this seed at all (zeros, another tool's data, a
//! corrupted header).

use crate::gen::{BlockContent, Generator, ATOM, HEADER_LEN};

/// What an unexpected 4 KiB unit holds.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// The unit is what was expected after all (the mismatch lies elsewhere).
    Expected,
    /// No header of this seed: zeros (`zeros`), another seed's or tool's data, or corruption.
    Unrecognised {
        /// Every byte is zero (a hole, a trimmed or never-written block).
        zeros: bool,
    },
    /// Data of this seed written for another stream: a renamed, moved or misplaced file (the
    /// stream id defaults to a hash of the target's canonical path, plus the host name for
    /// devices; pass the stream id the file was written with).
    OtherStream,
    /// Data of this stream written by another run (another map, or none): this run's write of
    /// the block never landed.
    OtherRun,
    /// What the block held before it was first rewritten (its fresh-write content): a lost
    /// write.
    LostWriteFirstContent,
    /// An older generation of the expected content: a lost write.
    LostWrite {
        /// Generation found.
        found: u32,
        /// Generation expected.
        expected: u32,
    },
    /// Content of this run that belongs elsewhere: a misdirected write.
    Misdirected {
        /// The slot found.
        slot: u64,
        /// Its generation.
        generation: u32,
        /// The atom (4 KiB unit) of the block it is.
        atom: u16,
        /// For generation 0: the byte offset where that unit sits in a fresh write.
        home_offset: Option<u64>,
    },
    /// Content of this run that is stale everywhere (an older generation of a slot that has
    /// moved on): no write in flight writes stale content, so this block missed its last write.
    LostWriteStale {
        /// The slot found.
        slot: u64,
        /// Its generation.
        generation: u32,
        /// The slot's generation now.
        current: u32,
    },
    /// Content that the map says other blocks hold now (`now_at`: byte offsets of the first few)
    /// and that this block held before it moved to its current slot (the map's per-block
    /// history, derived from its version): that write was lost.
    LostWriteMoved {
        /// The slot found.
        slot: u64,
        /// Its generation.
        generation: u32,
        /// Where that content is expected now (byte offsets of the unit, at most 8).
        now_at: Vec<u64>,
    },
    /// Content that the map says other blocks hold now, and that this block did not hold
    /// before its last write: a write meant for one of those blocks landed here, or (after a
    /// power cut under `Durability::Process`) a write of this block the map never recorded.
    MisdirectedLive {
        /// The slot found.
        slot: u64,
        /// Its generation.
        generation: u32,
        /// The atom (4 KiB unit) of the block it is.
        atom: u16,
        /// Where that content is expected now (byte offsets of the unit, at most 8).
        now_at: Vec<u64>,
    },
    /// Content that the map says other blocks hold now (`now_at`: byte offsets of the first few):
    /// either this block held it before and its last write was lost, or a write meant for one of
    /// those blocks landed here. Only for maps without a per-block history (made before it
    /// existed).
    LostOrMisdirected {
        /// The slot found.
        slot: u64,
        /// Its generation.
        generation: u32,
        /// The atom (4 KiB unit) of the block it is.
        atom: u16,
        /// Where that content is expected now (byte offsets of the unit, at most 8).
        now_at: Vec<u64>,
    },
    /// A generation of a slot newer than any the map has recorded: the block was written after
    /// the map's last durable journal entry (a power cut or an OS crash under
    /// `Durability::Process`, which keeps intents durable against the writer being killed only),
    /// or the map is older than the data (restored from a backup).
    AheadOfMap {
        /// The slot found.
        slot: u64,
        /// Its generation.
        generation: u32,
        /// The slot's newest generation in the map.
        current: u32,
    },
    /// Data of this run in a block the map says was trimmed: the device kept (or returned) data
    /// after the discard, or the trim never reached it. Devices that do not promise zeros after a
    /// discard are checked with `trimmed=skip`.
    DataAfterTrim {
        /// The slot found.
        slot: u64,
        /// Its generation.
        generation: u32,
    },
    /// The header names a content, but the unit's bytes are not that content.
    Corrupted {
        /// First wrong byte within the unit, against the content its header names.
        first_bad: usize,
        /// The stream has a mix or a profile and the unit goes wrong at byte 32, where the
        /// atoms of a dgen before re-sync pieces (2026-12-03), or before short re-sync pieces
        /// (2026-12-04, classes near 1:1), part from this one's.
        older_layout: bool,
    },
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finding::Expected => write!(f, "the expected content"),
            Finding::Unrecognised { zeros: true } => {
                write!(f, "zeros (never written, trimmed, or a hole)")
            }
            Finding::Unrecognised { zeros: false } => write!(
                f,
                "no data of this seed (another seed or tool, or a corrupted header)"
            ),
            Finding::OtherStream => write!(
                f,
                "data of this seed but another stream: a renamed, moved or misplaced file, or a \
                 device written from another host? (the stream id defaults to a hash of the \
                 target's canonical path, plus the host name for devices: pass the id the write \
                 printed, --stream-id K, fio dgen_stream=K, Python stream_id=K)"
            ),
            Finding::OtherRun => write!(f, "data of another run: a lost write"),
            Finding::DataAfterTrim { slot, generation } => write!(
                f,
                "data of this run (slot {slot} generation {generation}) where the map says the \
                 block was trimmed: the device does not read zeros after a discard, or the trim \
                 was lost (verify a device without deterministic zeros after discard with \
                 trimmed blocks skipped: --map-trimmed skip, dgen_map_trimmed=skip, \
                 map_trimmed=\"skip\")"
            ),
            Finding::LostWriteFirstContent => write!(
                f,
                "the content a fresh write gave this block, since rewritten: a lost write"
            ),
            Finding::LostWrite { found, expected } => write!(
                f,
                "generation {found} of the expected content, not {expected}: a lost write"
            ),
            Finding::Misdirected {
                slot,
                generation,
                atom,
                home_offset,
            } => {
                write!(
                    f,
                    "content of slot {slot} generation {generation} (4 KiB unit {atom} of its \
                     block): a misdirected write"
                )?;
                if let Some(home) = home_offset {
                    write!(f, "; in a fresh write its original sits at offset {home}")?;
                }
                Ok(())
            }
            Finding::LostWriteStale {
                slot,
                generation,
                current,
            } => write!(
                f,
                "generation {generation} of slot {slot}, which has moved on to generation \
                 {current} everywhere: stale data, a lost write"
            ),
            Finding::LostWriteMoved {
                slot,
                generation,
                now_at,
            } => write!(
                f,
                "content of slot {slot} generation {generation}, which this block held before its \
                 last write and the units at offsets {now_at:?} hold now: a lost write"
            ),
            Finding::MisdirectedLive {
                slot,
                generation,
                atom,
                now_at,
            } => write!(
                f,
                "content of slot {slot} generation {generation} (4 KiB unit {atom} of its block), \
                 which belongs at offsets {now_at:?} and which this block did not hold before: a \
                 misdirected write (or a write the map never recorded: after a power cut or an \
                 OS crash with the default dgen_map_durability=process the map can be behind \
                 the data)"
            ),
            Finding::LostOrMisdirected {
                slot,
                generation,
                atom,
                now_at,
            } => write!(
                f,
                "content of slot {slot} generation {generation} (4 KiB unit {atom} of its \
                 block), which the units at offsets {now_at:?} hold now: this block's last write \
                 was lost (it held that content before) or a write meant for one of them landed \
                 here"
            ),
            Finding::AheadOfMap {
                slot,
                generation,
                current,
            } => write!(
                f,
                "generation {generation} of slot {slot}, newer than the map's {current}: written \
                 after the map's last durable journal entry (a power cut or OS crash with map \
                 durability 'process': use 'power' for power-cut tests), or the map is older \
                 than the data"
            ),
            Finding::Corrupted {
                first_bad,
                older_layout,
            } => {
                write!(
                    f,
                    "corruption: its header is right but byte {first_bad} of the unit is not"
                )?;
                if *older_layout {
                    write!(
                        f,
                        " (or data written with a mix or a profile by a dgen before re-sync \
                         pieces, 2026-12-03, or before short re-sync pieces for classes near \
                         1:1, 2026-12-04, whose compressible atoms part from this one's at byte \
                         32: verify it with the dgen that wrote it)"
                    )?;
                }
                Ok(())
            }
        }
    }
}

/// Where an atom of a mix or a profile made by a dgen before re-sync pieces (or, near 1:1,
/// before short ones) first differs from this dgen's: after the re-sync piece's one-granule run
/// (`Layout::draw`).
const OLDER_LAYOUT_PARTS_AT: usize = 32;

/// Diagnoses `unit`, the 4 KiB-aligned unit `atom` of block `block`, which should hold
/// `expected`. `unit` may be shorter than 4 KiB at the end of a file (at least [`HEADER_LEN`]
/// bytes are needed to read a header).
pub fn diagnose(
    gen: &Generator,
    block: u64,
    expected: BlockContent,
    atom: u64,
    unit: &[u8],
) -> Finding {
    let offset_in_block = atom * ATOM as u64;
    if gen
        .first_mismatch_content(expected, offset_in_block, unit)
        .is_none()
    {
        return Finding::Expected;
    }
    let zeros = unit.iter().all(|&b| b == 0);
    let Some(head) = unit.get(..HEADER_LEN) else {
        return Finding::Unrecognised { zeros };
    };
    let Some(h) = gen.decode_header(head.try_into().expect("16 bytes")) else {
        return Finding::Unrecognised { zeros };
    };
    if h.stream_tag != gen.stream_tag() {
        return Finding::OtherStream;
    }
    if h.run_tag != gen.run_tag() {
        return Finding::OtherRun;
    }
    let found = BlockContent {
        slot: h.slot,
        generation: h.generation,
    };
    if let Some(first_bad) = gen.first_mismatch_content(found, h.atom as u64 * ATOM as u64, unit) {
        return Finding::Corrupted {
            first_bad,
            older_layout: first_bad == OLDER_LAYOUT_PARTS_AT && gen.compress_class(0).is_some(),
        };
    }
    if expected == BlockContent::TRIMMED {
        return Finding::DataAfterTrim {
            slot: h.slot,
            generation: h.generation,
        };
    }
    let own_atom = h.atom as u64 == atom;
    if own_atom && found == gen.initial_content(block) && found != expected {
        return Finding::LostWriteFirstContent;
    }
    if h.slot == expected.slot && own_atom && h.generation < expected.generation {
        return Finding::LostWrite {
            found: h.generation,
            expected: expected.generation,
        };
    }
    if let Some(current) = gen.slot_generation(h.slot) {
        if h.generation > current {
            return Finding::AheadOfMap {
                slot: h.slot,
                generation: h.generation,
                current,
            };
        }
        if h.generation < current {
            return Finding::LostWriteStale {
                slot: h.slot,
                generation: h.generation,
                current,
            };
        }
    }
    if gen.has_map() {
        let unit = gen.dedup_unit();
        let now_at: Vec<u64> = gen
            .blocks_holding(found, 8)
            .into_iter()
            .map(|b| b * unit + h.atom as u64 * ATOM as u64)
            .collect();
        if !now_at.is_empty() {
            return match gen.held_before(block, h.slot) {
                // Lost only if it is the unit this block's own position held (atom index too).
                Some(true) if own_atom => Finding::LostWriteMoved {
                    slot: h.slot,
                    generation: h.generation,
                    now_at,
                },
                Some(_) => Finding::MisdirectedLive {
                    slot: h.slot,
                    generation: h.generation,
                    atom: h.atom,
                    now_at,
                },
                None => Finding::LostOrMisdirected {
                    slot: h.slot,
                    generation: h.generation,
                    atom: h.atom,
                    now_at,
                },
            };
        }
    }
    let home_offset = (h.generation == 0)
        .then(|| gen.home_block(h.slot) * gen.dedup_unit() + h.atom as u64 * ATOM as u64);
    Finding::Misdirected {
        slot: h.slot,
        generation: h.generation,
        atom: h.atom,
        home_offset,
    }
}
