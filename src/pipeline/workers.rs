//! Long-lived worker threads (scoped to the run) that generate into pool buffers before they are
//! written, or compare pool buffers with the generator after they are read.

use super::engine::Waker;
use super::pool::Slot;
use crate::gen::{Generator, ATOM};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Mutex;

/// What the workers do with a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Task {
    /// Fill it with the stream's bytes (before a write).
    Fill,
    /// Compare it with the stream's bytes (after a read).
    Check,
}

/// A byte range of one file, carried in one pool buffer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Chunk {
    /// Index of the file in the run.
    pub(crate) file: usize,
    /// Offset of the range in the file (and in the stream).
    pub(crate) offset: u64,
    /// Bytes of the range that belong to the run.
    pub(crate) len: usize,
    /// Bytes to transfer: `len`, or more for O_DIRECT reads rounded up to the block size.
    pub(crate) io_len: usize,
}

/// The comparison of one chunk (or of any buffer held at a stream offset: [`check`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Check {
    /// 4 KiB blocks (aligned in the stream) with at least one wrong byte.
    pub bad_blocks: u64,
    /// Stream offset of the first wrong byte.
    pub first_bad: Option<u64>,
}

/// A buffer handed to a worker.
pub(crate) struct Job<'p> {
    pub(crate) slot: Slot<'p>,
    pub(crate) chunk: Chunk,
}

/// A buffer handed back, with the comparison (checks) or an error (a panic in the generator).
pub(crate) struct Ready<'p> {
    pub(crate) slot: Slot<'p>,
    pub(crate) chunk: Chunk,
    pub(crate) outcome: Result<Check, String>,
}

/// Runs jobs until the job channel closes; wakes the driver after each one.
pub(crate) fn worker<'p>(
    task: Task,
    generators: &[Generator],
    jobs: &Mutex<Receiver<Job<'p>>>,
    ready: Sender<Ready<'p>>,
    waker: Waker,
) {
    loop {
        let Job { slot, chunk } = {
            let rx = jobs.lock().unwrap_or_else(|e| e.into_inner());
            match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        let gen = &generators[chunk.file];
        let data = &mut slot.buf[..chunk.len];
        let outcome = catch_unwind(AssertUnwindSafe(|| match task {
            Task::Fill => {
                gen.fill(chunk.offset, data);
                Check::default()
            }
            Task::Check => check(gen, chunk.offset, data),
        }))
        .map_err(|p| {
            let text = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            format!("worker thread panicked: {text}")
        });
        if ready
            .send(Ready {
                slot,
                chunk,
                outcome,
            })
            .is_err()
        {
            return;
        }
        waker.wake();
    }
}

/// Compares `data` (read at file offset `offset`) with the stream: counts the wrong 4 KiB blocks
/// and finds the first wrong byte. A clean chunk costs one pass of [`Generator::first_mismatch`].
pub fn check(gen: &Generator, offset: u64, data: &[u8]) -> Check {
    let Some(first) = gen.first_mismatch(offset, data) else {
        return Check::default();
    };
    let first_bad = offset + first as u64;
    let mut bad_blocks = 1;
    // Continue from the block after the one holding the first bad byte.
    let next_block = (first_bad / ATOM as u64 + 1) * ATOM as u64;
    let mut pos = (next_block - offset) as usize;
    while pos < data.len() {
        let end = (pos + ATOM).min(data.len());
        if gen
            .first_mismatch(offset + pos as u64, &data[pos..end])
            .is_some()
        {
            bad_blocks += 1;
        }
        pos = end;
    }
    Check {
        bad_blocks,
        first_bad: Some(first_bad),
    }
}

/// [`check`] split across the current rayon pool in 1 MiB pieces aligned to the stream (so a
/// 4 KiB block never straddles two pieces and the counts add up): the same result as `check`.
pub fn check_parallel(gen: &Generator, offset: u64, data: &[u8]) -> Check {
    use rayon::prelude::*;
    const PIECE: usize = 1 << 20;
    let head = (((PIECE as u64 - offset % PIECE as u64) % PIECE as u64) as usize).min(data.len());
    let (first, rest) = data.split_at(head);
    let head_check = check(gen, offset, first);
    rest.par_chunks(PIECE)
        .enumerate()
        .map(|(i, piece)| check(gen, offset + (head + i * PIECE) as u64, piece))
        .collect::<Vec<_>>()
        .into_iter()
        .fold(head_check, |acc, c| Check {
            bad_blocks: acc.bad_blocks + c.bad_blocks,
            first_bad: acc.first_bad.or(c.first_bad),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GenParams;

    fn gen() -> Generator {
        Generator::new(GenParams {
            dedup_ratio: 2.0,
            compress_ratio: 3.0,
            ..GenParams::new(7)
        })
        .unwrap()
    }

    #[test]
    fn parallel_check_matches_the_serial_one() {
        let g = gen();
        let offset = 12_345;
        let mut data = vec![0u8; (5 << 20) + 777];
        g.fill(offset, &mut data);
        assert_eq!(check_parallel(&g, offset, &data), Check::default());
        // Flip bytes in several pieces, one on each side of a 1 MiB stream boundary.
        let boundary = ((1u64 << 20) * 2 - offset) as usize;
        for at in [100, boundary - 1, boundary, (4 << 20) + 5] {
            data[at] ^= 0x5a;
        }
        let serial = check(&g, offset, &data);
        assert_eq!(serial.first_bad, Some(offset + 100));
        assert_eq!(serial.bad_blocks, 4);
        assert_eq!(check_parallel(&g, offset, &data), serial);
    }
}
