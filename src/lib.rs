//! dgen: a deterministic, offset-addressable data generator with exact deduplication and
//! compression ratios, for storage testing.
//!
//! * [`gen`]: the bytes, a pure function of `(seed, stream id, parameters, offset)`.
//! * [`map`]: which content each block of a target holds after overwrites, its file and journal.
//! * [`io`]: the io_uring ring and short-transfer policy shared by the pipeline and the fio engine.
//! * [`numa`]: the NUMA topology and placement of threads and memory on a node.
//! * [`analyze`]: measures dedup and compression ratios of a file with real codecs and hashes.
//! * [`size`], [`params`], [`compress_mix`], [`error`]: the shared vocabulary of every face (CLI,
//!   Python, fio).

pub mod analyze;
pub mod compress_mix;
pub mod diagnose;
pub mod error;
pub mod gen;
pub mod io;
pub mod map;
pub mod numa;
pub mod params;
pub mod pipeline;
pub mod profile;
pub mod size;

pub use error::{Error, Result};
pub use gen::Generator;
pub use params::{CompressCodec, CompressSpec, CopySource, DedupScope, GenParams};
