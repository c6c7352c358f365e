//! I/O shared by every face that moves bytes to storage: the `dgen write` / `dgen verify`
//! pipeline (CLI and Python) and the fio engine.
//!
//! * [`ring`]: the one io_uring wrapper ([`ring::Ring`]: setup, queue, submit, reap, the journal
//!   gate) and the one short-transfer policy ([`ring::Transfer`]: short reads and writes, end of
//!   file, retries and errors).

pub mod ring;
