//! The run loop, on the calling thread: hands pool buffers to the workers and to the I/O engine
//! in turn, completes short transfers and retries EINTR/EAGAIN (by [`Transfer`]'s rules, for
//! either back end), stops at the first error or when the progress hook asks, and always drains
//! what is in flight before returning.
//!
//! Write: free buffer -> worker (fill) -> engine (write) -> free buffer.
//! Verify: free buffer -> engine (read) -> worker (check) -> free buffer.

use super::engine::{Dir, Engine, IoDone, IoOp};
use super::pool::Slot;
use super::workers::{Check, Chunk, Job, Ready, Task};
use crate::error::Error;
use crate::io::ring::{Step, Transfer};
use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::os::fd::RawFd;
use std::path::Path;
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

/// How often the progress hook is called.
pub(crate) const TICK: Duration = Duration::from_millis(100);

/// One file of a run, as the driver sees it.
pub(crate) struct FileIo<'a> {
    pub(crate) fd: RawFd,
    pub(crate) path: &'a Path,
    /// The pipeline covers bytes `0..end` of the file.
    pub(crate) end: u64,
    /// Verify with O_DIRECT: reads are rounded up to `align`.
    pub(crate) round_reads_to: usize,
}

/// The longest prefix of a file whose chunks have all been written, from completions that
/// arrive in any order.
#[derive(Clone, Debug, Default)]
pub(crate) struct WrittenPrefix {
    end: u64,
    /// Completed chunks beyond `end`: offset to length.
    ahead: BTreeMap<u64, u64>,
}

impl WrittenPrefix {
    /// Records that `offset..offset + len` is written.
    pub(crate) fn add(&mut self, offset: u64, len: u64) {
        if offset != self.end {
            self.ahead.insert(offset, len);
            return;
        }
        self.end += len;
        while let Some(len) = self.ahead.remove(&self.end) {
            self.end += len;
        }
    }

    /// End of the prefix: every byte before it is written.
    pub(crate) fn end(&self) -> u64 {
        self.end
    }
}

/// What a run did.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Bytes written or checked, in all files.
    pub(crate) bytes_done: u64,
    /// Per file: bytes written or checked.
    pub(crate) file_bytes: Vec<u64>,
    /// Per file (writes): the longest prefix whose every chunk has been written.
    pub(crate) written_prefix: Vec<WrittenPrefix>,
    /// Per file: I/O operations completed.
    pub(crate) file_ops: Vec<u64>,
    /// Checks summed over the run (verify).
    pub(crate) bad_blocks: u64,
    pub(crate) first_bad: Option<u64>,
    /// The first error, if any (the run stopped there).
    pub(crate) error: Option<Error>,
    /// The progress hook asked to stop.
    pub(crate) cancelled: bool,
    /// False when the engine failed with operations still in flight (the pool must be leaked).
    pub(crate) drained: bool,
}

/// Everything the run loop needs.
pub(crate) struct Driver<'a, 'p> {
    pub(crate) task: Task,
    pub(crate) files: &'a [FileIo<'a>],
    pub(crate) buffer_size: usize,
    pub(crate) queue_depth: usize,
    /// Total for the progress hook (may include bytes written outside the pipeline).
    pub(crate) progress_total: u64,
    /// Added to `bytes_done` in progress reports.
    pub(crate) progress_base: u64,
    pub(crate) jobs: Sender<Job<'p>>,
    pub(crate) ready: Receiver<Ready<'p>>,
}

/// A transfer in flight.
struct Flight<'p> {
    slot: Slot<'p>,
    chunk: Chunk,
    /// What is transferred so far, and what is left.
    transfer: Transfer,
}

/// The mutable state of a run.
struct State<'a, 'p, 'e> {
    d: Driver<'a, 'p>,
    engine: &'e mut dyn Engine,
    free: Vec<Slot<'p>>,
    /// Filled buffers waiting for a free queue slot (write).
    queued: VecDeque<(Slot<'p>, Chunk)>,
    flights: Vec<Option<Flight<'p>>>,
    in_flight: usize,
    at_workers: usize,
    /// Next offset per file, and the file to take the next chunk from (round robin).
    next_offset: Vec<u64>,
    cursor: usize,
    stopping: bool,
    out: Outcome,
}

impl<'a, 'p> Driver<'a, 'p> {
    /// Runs until every byte is done, an error occurs or the hook cancels; always drains.
    pub(crate) fn run(
        self,
        engine: &mut dyn Engine,
        slots: Vec<Slot<'p>>,
        progress: &mut dyn FnMut(u64, u64) -> bool,
    ) -> Outcome {
        let n_files = self.files.len();
        let mut st = State {
            flights: (0..slots.len()).map(|_| None).collect(),
            free: slots,
            queued: VecDeque::new(),
            in_flight: 0,
            at_workers: 0,
            next_offset: vec![0; n_files],
            cursor: 0,
            stopping: false,
            out: Outcome {
                file_bytes: vec![0; n_files],
                file_ops: vec![0; n_files],
                written_prefix: vec![WrittenPrefix::default(); n_files],
                drained: true,
                ..Outcome::default()
            },
            engine,
            d: self,
        };
        st.run(progress);
        st.out
    }
}

impl<'p> State<'_, 'p, '_> {
    fn run(&mut self, progress: &mut dyn FnMut(u64, u64) -> bool) {
        let mut done = Vec::new();
        let mut next_tick = Instant::now() + TICK;
        loop {
            self.take_ready();
            self.feed();
            if self.finished() {
                break;
            }
            let timeout = next_tick.saturating_duration_since(Instant::now());
            if let Err(e) = self.engine.wait(timeout, &mut done) {
                // The engine itself failed: what is in flight can no longer be tracked.
                self.fail(Error::io("wait for I/O on", self.d.files[0].path, None, e));
                if self.in_flight > 0 {
                    self.out.drained = false;
                }
                // Workers still hand back their buffers; only the kernel's are lost.
                while self.at_workers > 0 {
                    match self.d.ready.recv() {
                        Ok(_) => self.at_workers -= 1,
                        Err(_) => break,
                    }
                }
                return;
            }
            for d in done.drain(..) {
                self.complete(d);
            }
            let now = Instant::now();
            if now >= next_tick {
                next_tick = now + TICK;
                if !self.stopping
                    && !progress(
                        self.d.progress_base + self.out.bytes_done,
                        self.d.progress_total,
                    )
                {
                    self.out.cancelled = true;
                    self.stopping = true;
                }
            }
        }
    }

    /// Nothing in flight, nothing at the workers, and nothing left to do (or stopping).
    fn finished(&self) -> bool {
        self.in_flight == 0
            && self.at_workers == 0
            && self.queued.is_empty()
            && (self.stopping || self.next_chunk_peek().is_none())
    }

    /// Records the first error and stops handing out work.
    fn fail(&mut self, e: Error) {
        if self.out.error.is_none() {
            self.out.error = Some(e);
        }
        self.stopping = true;
    }

    fn next_chunk_peek(&self) -> Option<usize> {
        let n = self.d.files.len();
        (0..n)
            .map(|i| (self.cursor + i) % n)
            .find(|&f| self.next_offset[f] < self.d.files[f].end)
    }

    /// The next chunk, taking files in turn so that several files progress together.
    fn next_chunk(&mut self) -> Option<Chunk> {
        let f = self.next_chunk_peek()?;
        let file = &self.d.files[f];
        let offset = self.next_offset[f];
        let len = (file.end - offset).min(self.d.buffer_size as u64) as usize;
        let io_len = match self.d.task {
            Task::Fill => len,
            Task::Check => len
                .next_multiple_of(file.round_reads_to.max(1))
                .min(self.d.buffer_size),
        };
        self.next_offset[f] = offset + len as u64;
        self.cursor = (f + 1) % self.d.files.len();
        Some(Chunk {
            file: f,
            offset,
            len,
            io_len,
        })
    }

    /// Gives free buffers work and fills the queue up to the queue depth.
    fn feed(&mut self) {
        if self.stopping {
            while let Some((slot, _)) = self.queued.pop_front() {
                self.free.push(slot);
            }
            return;
        }
        match self.d.task {
            Task::Fill => {
                while !self.free.is_empty() {
                    let Some(chunk) = self.next_chunk() else {
                        break;
                    };
                    let slot = self.free.pop().expect("checked non-empty");
                    self.hand_to_workers(slot, chunk);
                }
                while self.in_flight < self.d.queue_depth && !self.stopping {
                    let Some((slot, chunk)) = self.queued.pop_front() else {
                        break;
                    };
                    let transfer = self.transfer(&chunk);
                    self.submit(Flight {
                        slot,
                        chunk,
                        transfer,
                    });
                }
            }
            Task::Check => {
                while self.in_flight < self.d.queue_depth && !self.free.is_empty() && !self.stopping
                {
                    let Some(chunk) = self.next_chunk() else {
                        break;
                    };
                    let slot = self.free.pop().expect("checked non-empty");
                    let transfer = self.transfer(&chunk);
                    self.submit(Flight {
                        slot,
                        chunk,
                        transfer,
                    });
                }
            }
        }
    }

    /// The transfer of a chunk: writes must write all of `io_len`; reads must read the chunk's
    /// `len` bytes (an O_DIRECT read, rounded up, may end at the end of the file past them).
    fn transfer(&self, chunk: &Chunk) -> Transfer {
        match self.d.task {
            Task::Fill => Transfer::new(Dir::Write, chunk.offset, chunk.io_len, chunk.io_len),
            Task::Check => Transfer::new(Dir::Read, chunk.offset, chunk.io_len, chunk.len),
        }
    }

    fn hand_to_workers(&mut self, slot: Slot<'p>, chunk: Chunk) {
        match self.d.jobs.send(Job { slot, chunk }) {
            Ok(()) => self.at_workers += 1,
            Err(err) => {
                self.free.push(err.0.slot);
                self.fail(Error::io(
                    "run workers for",
                    self.d.files[chunk.file].path,
                    None,
                    io::Error::other("worker threads are gone"),
                ));
            }
        }
    }

    /// Buffers back from the workers.
    fn take_ready(&mut self) {
        while let Ok(Ready {
            slot,
            chunk,
            outcome,
        }) = self.d.ready.try_recv()
        {
            self.at_workers -= 1;
            match outcome {
                Err(text) => {
                    self.free.push(slot);
                    let path = self.d.files[chunk.file].path;
                    self.fail(Error::io(
                        "generate for",
                        path,
                        Some(chunk.offset),
                        io::Error::other(text),
                    ));
                }
                Ok(check) => match self.d.task {
                    Task::Fill if self.stopping => self.free.push(slot),
                    Task::Fill => self.queued.push_back((slot, chunk)),
                    Task::Check => {
                        self.add_check(check);
                        self.out.bytes_done += chunk.len as u64;
                        self.out.file_bytes[chunk.file] += chunk.len as u64;
                        self.free.push(slot);
                    }
                },
            }
        }
    }

    fn add_check(&mut self, check: Check) {
        self.out.bad_blocks += check.bad_blocks;
        if let Some(b) = check.first_bad {
            self.out.first_bad = Some(self.out.first_bad.map_or(b, |a| a.min(b)));
        }
    }

    /// Starts (or continues, after a short transfer) the transfer of a flight.
    fn submit(&mut self, flight: Flight<'p>) {
        let file = &self.d.files[flight.chunk.file];
        let index = flight.slot.index;
        let (start, len, offset) = flight.transfer.rest();
        let op = IoOp {
            token: index as u64,
            fd: file.fd,
            dir: flight.transfer.dir,
            // SAFETY (of the add): `start = done < io_len <= buffer length`.
            ptr: unsafe { flight.slot.buf.as_mut_ptr().add(start) },
            len,
            offset,
            buf_index: index as u16,
        };
        // SAFETY: the buffer is moved into `flights` below and stays there, untouched, until the
        // engine returns this token's completion (`complete`); the pool outlives the run or is
        // leaked when the engine cannot be drained.
        match unsafe { self.engine.push(op) } {
            Ok(()) => {
                self.flights[index] = Some(flight);
                self.in_flight += 1;
            }
            Err(e) => {
                let path = file.path;
                self.free.push(flight.slot);
                self.fail(Error::io("submit I/O to", path, Some(offset), e));
            }
        }
    }

    /// One completion from the engine.
    fn complete(&mut self, done: IoDone) {
        let Some(mut flight) = self
            .flights
            .get_mut(done.token as usize)
            .and_then(Option::take)
        else {
            return;
        };
        self.in_flight -= 1;
        let chunk = flight.chunk;
        let path = self.d.files[chunk.file].path;
        self.out.file_ops[chunk.file] += 1;
        let at = flight.transfer.at();
        let op = match self.d.task {
            Task::Fill => "write",
            Task::Check => "read",
        };
        match flight.transfer.complete(done.result) {
            Step::Failed(e) => {
                self.free.push(flight.slot);
                self.fail(Error::io(op, path, Some(at), e));
            }
            Step::Retry if self.stopping => self.free.push(flight.slot),
            Step::Retry => self.submit(flight),
            Step::Short(n) | Step::Done(n) => {
                if self.d.task == Task::Fill {
                    self.out.bytes_done += n as u64;
                    self.out.file_bytes[chunk.file] += n as u64;
                }
                if flight.transfer.done < flight.transfer.wanted {
                    // Short transfer: continue where it stopped.
                    if self.stopping {
                        self.free.push(flight.slot);
                    } else {
                        self.submit(flight);
                    }
                } else {
                    match self.d.task {
                        Task::Fill => {
                            self.out.written_prefix[chunk.file].add(chunk.offset, chunk.len as u64);
                            self.free.push(flight.slot);
                        }
                        Task::Check if self.stopping => self.free.push(flight.slot),
                        Task::Check => self.hand_to_workers(flight.slot, chunk),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::WrittenPrefix;

    #[test]
    fn written_prefix_grows_only_over_contiguous_chunks() {
        let mut p = WrittenPrefix::default();
        p.add(8, 8);
        assert_eq!(p.end(), 0, "a chunk past a gap does not count");
        p.add(24, 4);
        p.add(0, 8);
        assert_eq!(p.end(), 16, "the gap closed: both leading chunks count");
        p.add(16, 8);
        assert_eq!(p.end(), 28, "and the one waiting beyond");
    }
}
