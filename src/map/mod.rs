//! The block map: which content every tracked block of a target holds now, so overwrites write
//! new bytes while the live dedup ratio stays exact (the slot scheme of the overwrite design).
//!
//! * [`state`]: [`BlockMap`], the write rule, [`Content`], [`Transition`], [`MapIdentity`].
//! * [`mod@file`]: [`MapFile`], the checkpoint at `PATH`, the intent journal at `PATH.journal` with
//!   group commit, and crash recovery ([`Recovery`]).
//! * `format`, `journal`: the byte layouts below (no I/O policy).
//!
//! No I/O to the target and no data generation happen here.
//!
//! # Model
//! `N` tracked blocks (one per dedup unit) share `K` content slots, `K` = the unique blocks of the
//! initial layout (block `b` starts at the slot numbered by the rank of the unique block it
//! copies, generation 0). Writing block `X` at slot `s`: when `s` has other holders, `X` moves to
//! its next *candidate* slot `s'` (a pseudo-random sequence per block drawn from the run id, see
//! `compact::Placement`) that is neither `s` nor the slot it held before `s`, and takes
//! `(s', G[s'])`, content live elsewhere; when `X` is `s`'s only holder, `G[s] += 1` and `X`
//! takes `(s, G[s])`, new content. Every slot keeps at least one holder, so exactly `K` distinct
//! contents are live after every write, and every write changes the block's content. `K == N`
//! (no dedup): only generations move. `K == 1 < N` is refused at creation: one live content
//! cannot change under a write without becoming two.
//!
//! Trims ([`BlockMap::trim`]): a trimmed block holds no content (a verify expects zeros, see
//! [`TrimCheck`]) and is no slot's holder. A slot whose last holder is trimmed is *orphaned*: its
//! content is gone from the target. A write that would make a duplicate takes an orphaned slot
//! instead, one generation on (new content), and so does the rewrite of a trimmed block whose own
//! slot is orphaned; so distinct live contents climb back to `K` as the target is rewritten.
//!
//! # Cost
//! | | in memory | map file |
//! |---|---|---|
//! | `K == N` (d = 1) | 2 B/block (a generation per slot: its low 16 bits, the rest in a side table) | 4 B/block (a `u32` generation per slot) |
//! | `K < N` (d > 1) | `2 + 3/d` B/block: a version per block (`u16`: which of its candidate slots it holds), a generation (`u16`) and a holder count (`u8`) per slot; d = 2: 3.5 | `2 + 4/d` B/block (versions, `u32` generations; holders are rebuilt on open); d = 2: 4 |
//!
//! Plus 32 bytes in memory (24 on disk) per side-table entry: a block whose slot is not one of
//! its candidates or whose previous slot is not its previous candidate (about `4/K` of the blocks
//! that moved, and the blocks that took an orphaned slot), a slot rewritten in place more than
//! 65,535 times, a slot with 255 holders or more. A map of the older layout (a slot per block,
//! flag bit 0) is read with every moved block in the side table and written back in this layout;
//! its blocks leave the table as they are rewritten.
//!
//! Per TiB of target: at 4 KiB tracking units (2^28 blocks) d = 1 takes 512 MiB in memory and
//! 1 GiB on disk, d = 2 takes 896 MiB in memory and 1 GiB on disk; at 128 KiB units (2^23 blocks)
//! d = 1 takes 16 MiB and 32 MiB, d = 2 takes 28 MiB and 32 MiB. Opening a map recounts the
//! holders: about 55 ns per block on one core, computed in parallel (0.53 s for 2^24 blocks on
//! 2 cores, measured with `examples/map_cost.rs`).
//! The journal costs 48 bytes per write plus 48 per commit (the done watermark) until the next
//! checkpoint.
//!
//! # Map file (`PATH`), little-endian
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `DGENMAP\0` |
//! | 8 | 4 | version (2: the dedup layout of issue 11, 1 was the layout before it and is refused; 3 when the stream has a compressibility mix or per-codec ratios, which add the trailer) |
//! | 12 | 4 | flags: bit 4 versions and side table present (`K != N`; a dgen that predates them refuses such a map), bit 2 trimmed-block bitset present (a dgen that predates trims refuses such a map), bit 5 a mix's classes laid out with re-sync pieces and bit 6 with short re-sync pieces (set on every mix map; a mix map without bit 5, or without bit 6 when a class of its mix has short re-sync pieces, describes data this dgen no longer makes and is refused); read only, from maps of the older layout: bit 0 slot array present, bit 1 slot entries are 8 bytes, bit 3 per-block history tags present |
//! | 16 | 8 | seed |
//! | 24 | 8 | stream id |
//! | 32 | 8 | dedup ratio (f64 bits) |
//! | 40 | 8 | compression ratio (f64 bits; a mix's aggregate ratio) |
//! | 48 | 8 | dedup unit (bytes) |
//! | 56 | 4 | compress codec (0 lz, 1 snappy) |
//! | 60 | 4 | bits 0..31: `M`, classes in the compressibility mix (0: none); bit 31: zstd's ratio is set apart (`Z`) |
//! | 64 | 8 | target size (bytes) |
//! | 72 | 8 | run id |
//! | 80 | 8 | `N` blocks |
//! | 88 | 8 | `K` slots |
//! | 96 | 8 | checkpoint epoch |
//! | 104 | 8 | next intent sequence number |
//! | 112 | 8 | `P`, pending transitions |
//! | 120 | 8 | xxh3-64 of everything after the header |
//! | 128 | 8 | xxh3-64 of bytes 0..128 |
//! | 136 | `N * 2` | version of each block (`u16`; only when flag bit 4): it holds its candidate slot of that number, 0 being its initial slot |
//! | | `N * 4` (or 8) | older layout: slot of each block (only when flag bit 0) |
//! | | `K * 4` | generation of each slot (`u32`) |
//! | | `8 + S * 24` | side table (only when flag bit 4): `S`, then per entry block, slot (`u64::MAX`: its candidate) and slot held before (`u64::MAX`: unknown), sorted by block |
//! | | `N` | older layout: history tags (only when flag bit 3; read and dropped) |
//! | | `ceil(N / 64) * 8` | trimmed blocks, one bit each, 64 per `u64` (only when flag bit 2); a trimmed block's slot entry is the slot it held last, and it is not counted as a holder |
//! | | `P * 40` | pending: seq u64, block u64, old slot u64, new slot u64, old gen u32, new gen u32 (seq 0: inherited from a recovery; slot `u64::MAX`: trimmed) |
//! | | `Z * 8 + M * 16 + 8` | trailer (only when `M > 0` or `Z`): zstd's ratio (f64 bits, when `Z`), ratio and share in percent (f64 bits) per class, then xxh3-64 of those |
//!
//! Pending transitions are writes not known complete at the checkpoint: the map holds their
//! `new`, the target may hold `old`. A checkpoint is written to `PATH.tmp`, fsynced, renamed over
//! `PATH`, and the directory fsynced; a leftover `PATH.tmp` is an interrupted checkpoint and is
//! ignored (removed by [`MapFile::open`]).
//!
//! # Journal (`PATH.journal`), little-endian
//! Header, 40 bytes: magic `DGENJRNL`, version u32 (1), reserved u32, run id u64, epoch u64 (the
//! checkpoint it follows), xxh3-64 of bytes 0..32. Then 48-byte records: kind u32 (1 intent,
//! 2 done), new generation u32, epoch u64, seq u64, block u64, new slot u64, and xxh3-64 (seeded
//! from the run id and epoch) of bytes 0..40. An intent `seq` says block `block` is about to be
//! written with `(slot, generation)` (slot `u64::MAX`: trimmed); intents are numbered
//! consecutively. A done record `seq`
//! says every intent up to `seq` has completed. A checkpoint replaces the journal (by rename) with
//! an empty one of the new epoch; a journal of an older epoch than the map is stale and ignored.
//!
//! # Recovery
//! Load the checkpoint, replay intents in order while each record passes its checksum, epoch,
//! sequence and transition checks; stop at the first that does not (counted in
//! [`Recovery::corrupt_records`]) or at a partial record ([`Recovery::torn_tail_bytes`]). Intents
//! after the last done watermark, and pending transitions of the checkpoint, are
//! [`Recovery::uncertain`]: the block holds the old or the new content. [`MapFile::read`] does
//! this without changing any file (for a verify); [`MapFile::open`] then writes a fresh checkpoint
//! that carries the uncertain writes (sequence number 0) until their blocks are rewritten and
//! completed, or [`MapFile::settle_recovered`] is called, and removes a leftover `PATH.tmp`.
//! Done watermarks are contiguous: a write completed out of order stays uncertain until every
//! earlier one has completed too.

mod appender;
mod compact;
pub mod file;
mod format;
mod journal;
mod lock;
pub mod session;
pub mod state;
mod trim;

pub use file::{Durability, MapExpect, MapFile, Recovery};
pub use lock::MapLock;
pub use state::{new_run_id, BlockMap, Content, MapIdentity, Transition};
pub use trim::TrimCheck;
