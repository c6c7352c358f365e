//! The one io_uring wrapper of dgen, used by the `dgen write` / `dgen verify` pipeline and by the
//! fio engine, and the one policy for what a completion means for a transfer.
//!
//! Two layers, in the style of the `io-uring` crate (thin typed wrappers, unsafe where the kernel
//! keeps pointers):
//!
//! * [`Ring`]: queue reads and writes (plain or on registered buffers), submit, reap completions
//!   by user data. It reports each completion as the kernel returned it (bytes or `-errno`):
//!   the fio engine hands them to fio, which completes short transfers itself.
//! * [`Transfer`]: what one completion means for a read or write that must move a given number
//!   of bytes (done, short: submit the rest, retry, failed: end of file, nothing written, an
//!   error). The pipeline runs every completion through it, io_uring's and pwrite's alike.
//!
//! The ring is sized for `depth` operations in flight (plus one journal `fdatasync`), so a full
//! submission queue only happens transiently and is reported as "busy" (`queue` returns
//! `Ok(false)`: submit, then queue again).
//!
//! With a journal gate ([`Ring::gate_writes`], the fio engine's `dgen_map_durability=power`) a
//! write reaches the kernel only after an `fdatasync` of the map's journal that started after its
//! intent was appended: writes queued while one such `fdatasync` is in flight wait for the next,
//! which starts as soon as the previous one completes (group commit, without ever blocking the
//! thread).

use std::io;
use std::time::Duration;

use io_uring::{opcode, squeue, types, IoUring};

/// `IORING_ENTER_GETEVENTS` from `<linux/io_uring.h>`.
const IORING_ENTER_GETEVENTS: u32 = 1;

/// User data reserved by the ring for the journal's `fdatasync` entries: callers never use it
/// (fio's io_u keys are pointers, the pipeline's are buffer indices and its own wake token).
pub const RESERVED_USER_DATA: u64 = u64::MAX;

/// User data of the journal's `fdatasync` entries.
const SYNC_TAG: u64 = RESERVED_USER_DATA;

/// Direction of a read or write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// From the file into memory.
    Read,
    /// From memory to the file.
    Write,
}

/// Writes waiting for the journal to be durable (`dgen_map_durability=power`).
#[derive(Default)]
struct Gate {
    /// The journal's file descriptor.
    fd: i32,
    /// Writes whose intents are appended, waiting for the next `fdatasync` to start.
    held: Vec<squeue::Entry>,
    /// Writes waiting for the `fdatasync` in flight.
    gated: Vec<squeue::Entry>,
    /// An `fdatasync` of the journal is in the kernel.
    in_flight: bool,
    /// The errno of a failed `fdatasync`: every later write fails with it, unsubmitted.
    failed: Option<i32>,
    /// A failure not yet taken by [`Ring::take_sync_error`].
    unreported: Option<i32>,
}

/// An io_uring ring used by one thread, and the completions of its last reap.
pub struct Ring {
    ring: IoUring,
    /// Pushed to the submission queue, not yet submitted.
    pending: u32,
    /// Completions of the last reap: (user data, result).
    events: Vec<(u64, i32)>,
    /// Results made up for writes failed before submission (a failed journal `fdatasync`),
    /// returned by the next reap.
    failed: Vec<(u64, i32)>,
    /// Submission queue entries.
    capacity: u32,
    /// Submitted to the kernel and not reaped yet (a journal `fdatasync` included).
    in_kernel: u32,
    /// The journal gate, when writes wait for their intents to be durable.
    gate: Option<Gate>,
}

impl Ring {
    /// A ring with room for `depth` operations in flight.
    ///
    /// Set up as fio's own io_uring engine sets up its ring: completions run in this task when it
    /// asks for them (`COOP_TASKRUN`, and `SINGLE_ISSUER` + `DEFER_TASKRUN`) rather than by
    /// interrupting it. With this setup, the GETEVENTS commit and the polling reap below, 4 KiB
    /// random writes at queue depth 32 went from 0.81-0.85 of fio's own engine to 0.86-0.91 in
    /// `scripts/bench-fio` on the development VM. Kernels that lack a flag refuse it with EINVAL:
    /// as fio does, the ring is then set up without it.
    ///
    /// `SINGLE_ISSUER` requires that one thread creates the ring and makes every call on it (fio
    /// calls a job's init, queue, commit and getevents from the job's thread; the pipeline's
    /// driver runs on the thread that opened its engine).
    pub fn new(depth: u32) -> io::Result<Self> {
        let entries = (depth.clamp(1, 4096) + 1).next_power_of_two();
        let build = |coop: bool, defer: bool| {
            let mut builder = IoUring::builder();
            builder.setup_cqsize(entries * 2);
            if coop {
                builder.setup_coop_taskrun();
            }
            if defer {
                builder.setup_single_issuer().setup_defer_taskrun();
            }
            builder.build(entries)
        };
        let einval = |e: &io::Error| e.raw_os_error() == Some(libc::EINVAL);
        let ring = match build(true, true) {
            Err(e) if einval(&e) => match build(true, false) {
                Err(e) if einval(&e) => build(false, false),
                other => other,
            },
            other => other,
        }?;
        Ok(Ring {
            capacity: ring.params().sq_entries(),
            ring,
            pending: 0,
            events: Vec::with_capacity(entries as usize * 2),
            failed: Vec::new(),
            in_kernel: 0,
            gate: None,
        })
    }

    /// Whether the kernel supports [`Ring::wait`]'s timeout (`IORING_FEAT_EXT_ARG`, Linux 5.11).
    pub fn supports_timed_wait(&self) -> bool {
        self.ring.params().is_feature_ext_arg()
    }

    /// Registers `iovecs` as the ring's fixed buffers, for [`Ring::queue_fixed`].
    ///
    /// # Safety
    /// The memory `iovecs` describes must outlive the ring, or be leaked when the ring is dropped
    /// with operations on it in flight.
    pub unsafe fn register_buffers(&mut self, iovecs: &[libc::iovec]) -> io::Result<()> {
        // SAFETY: forwarded from this function's contract.
        unsafe { self.ring.submitter().register_buffers(iovecs) }
    }

    /// Operations queued but not yet submitted (writes waiting at the journal gate included).
    pub fn pending(&self) -> u32 {
        self.pending
            + self
                .gate
                .as_ref()
                .map_or(0, |g| (g.held.len() + g.gated.len()) as u32)
    }

    /// Whether one more operation can be queued now (room is kept for a journal `fdatasync`).
    pub fn has_room(&self) -> bool {
        self.pending() + u32::from(self.gate.is_some()) < self.capacity
    }

    /// Operations submitted to the kernel whose completions have not been reaped.
    pub fn in_kernel(&self) -> u32 {
        self.in_kernel
    }

    /// From now on every write waits for an `fdatasync` of `journal_fd` that starts after it is
    /// queued (its intent must be appended to the journal before it is queued). Called again
    /// with the journal's new descriptor after a checkpoint (with no `fdatasync` in flight).
    pub fn gate_writes(&mut self, journal_fd: i32) {
        self.gate.get_or_insert_with(Gate::default).fd = journal_fd;
    }

    /// Whether a journal `fdatasync` is in the kernel (its descriptor must stay open until then).
    pub fn sync_in_flight(&self) -> bool {
        self.gate.as_ref().is_some_and(|g| g.in_flight)
    }

    /// Writes waiting at the journal gate.
    pub fn held(&self) -> usize {
        self.gate
            .as_ref()
            .map_or(0, |g| g.held.len() + g.gated.len())
    }

    /// The errno of a journal `fdatasync` that failed since the last call (its writes, and every
    /// later one, fail with it without reaching the kernel).
    pub fn take_sync_error(&mut self) -> Option<i32> {
        self.gate.as_mut().and_then(|g| g.unreported.take())
    }

    /// Lets the writes waiting for the next journal `fdatasync` go without it (a checkpoint made
    /// their intents durable). Writes waiting for the `fdatasync` in flight keep waiting.
    pub fn release_held(&mut self) -> io::Result<()> {
        let held = match self.gate.as_mut() {
            Some(g) => std::mem::take(&mut g.held),
            None => return Ok(()),
        };
        self.push_all(held)
    }

    /// Pushes `entries` to the submission queue (the next enter submits them); what does not fit
    /// fails with `EBUSY`.
    fn push_all(&mut self, entries: Vec<squeue::Entry>) -> io::Result<()> {
        let mut sq = self.ring.submission();
        let mut pushed = 0u32;
        let mut full = false;
        for e in entries {
            // SAFETY: the buffers and fds of queued writes stay valid until their completion is
            // reaped (the caller of `queue` guaranteed it for the entry's whole life).
            if full || unsafe { sq.push(&e) }.is_err() {
                full = true;
                self.failed.push((e.get_user_data(), -libc::EBUSY));
            } else {
                pushed += 1;
            }
        }
        drop(sq);
        self.pending += pushed;
        if full {
            return Err(io::Error::from_raw_os_error(libc::EBUSY));
        }
        Ok(())
    }

    /// Starts an `fdatasync` of the journal for the writes held at the gate, unless one is in
    /// flight (they wait for the next); after a failed one, fails them instead.
    fn start_sync(&mut self) -> io::Result<()> {
        let Some(g) = self.gate.as_mut() else {
            return Ok(());
        };
        // While data writes are in the kernel (or about to be), a device flush waits for them
        // (measured on a virtio disk: 4 KiB randwrite qd32 ran at 20k IOPS with overlapping
        // flushes): the fdatasync starts once they have drained, and the writes queued meanwhile
        // join its batch.
        if g.in_flight || g.held.is_empty() || self.in_kernel > 0 || self.pending > 0 {
            return Ok(());
        }
        if let Some(errno) = g.failed {
            for e in g.held.drain(..) {
                self.failed.push((e.get_user_data(), -errno));
            }
            return Ok(());
        }
        let entry = opcode::Fsync::new(types::Fd(g.fd))
            .flags(types::FsyncFlags::DATASYNC)
            .build()
            .user_data(SYNC_TAG);
        // SAFETY: an fsync entry references no memory; the journal's fd stays open while it is
        // in flight (the fio job checkpoints, which replaces the journal, only when none is).
        if unsafe { self.ring.submission().push(&entry) }.is_err() {
            return Err(io::Error::from_raw_os_error(libc::EBUSY));
        }
        self.pending += 1;
        g.in_flight = true;
        g.gated = std::mem::take(&mut g.held);
        Ok(())
    }

    /// The journal `fdatasync` completed with `res`: its writes go to the submission queue, or
    /// fail with its error.
    fn sync_completed(&mut self, res: i32) -> io::Result<()> {
        let Some(g) = self.gate.as_mut() else {
            return Ok(());
        };
        g.in_flight = false;
        let gated = std::mem::take(&mut g.gated);
        if res < 0 {
            g.failed = Some(-res);
            g.unreported = Some(-res);
            for e in gated {
                self.failed.push((e.get_user_data(), res));
            }
            return Ok(());
        }
        self.push_all(gated)
    }

    /// Queues one read or write. `Ok(false)`: the submission queue is full (submit first).
    /// With a journal gate, a write stays out of the submission queue until an `fdatasync` of the
    /// journal started after this call has completed.
    ///
    /// # Safety
    /// `buf` must be valid for `len` bytes (writable for a read) until the completion carrying
    /// `user_data` has been reaped by [`Ring::getevents`] or [`Ring::wait`]; `fd` must stay open
    /// until then. `user_data` must not be [`RESERVED_USER_DATA`].
    pub unsafe fn queue(
        &mut self,
        user_data: u64,
        fd: i32,
        is_write: bool,
        buf: *mut u8,
        len: usize,
        offset: u64,
    ) -> io::Result<bool> {
        let len = u32::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let entry = if is_write {
            opcode::Write::new(types::Fd(fd), buf, len)
                .offset(offset)
                .build()
        } else {
            opcode::Read::new(types::Fd(fd), buf, len)
                .offset(offset)
                .build()
        };
        // SAFETY: forwarded from this function's contract.
        Ok(unsafe { self.queue_entry(entry.user_data(user_data), is_write) })
    }

    /// [`Ring::queue`] on registered buffer `buf_index` ([`Ring::register_buffers`]), which
    /// `buf .. buf + len` must lie in.
    ///
    /// # Safety
    /// As for [`Ring::queue`]; the buffers must be registered and `buf .. buf + len` inside
    /// buffer `buf_index`.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn queue_fixed(
        &mut self,
        user_data: u64,
        fd: i32,
        is_write: bool,
        buf: *mut u8,
        len: usize,
        offset: u64,
        buf_index: u16,
    ) -> io::Result<bool> {
        let len = u32::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let entry = if is_write {
            opcode::WriteFixed::new(types::Fd(fd), buf, len, buf_index)
                .offset(offset)
                .build()
        } else {
            opcode::ReadFixed::new(types::Fd(fd), buf, len, buf_index)
                .offset(offset)
                .build()
        };
        // SAFETY: forwarded from this function's contract.
        Ok(unsafe { self.queue_entry(entry.user_data(user_data), is_write) })
    }

    /// Puts `entry` at the journal gate (a write, when writes are gated) or in the submission
    /// queue; `false` when there is no room.
    ///
    /// # Safety
    /// What the entry points to must stay valid until its completion is reaped.
    unsafe fn queue_entry(&mut self, entry: squeue::Entry, is_write: bool) -> bool {
        debug_assert_ne!(entry.get_user_data(), RESERVED_USER_DATA);
        if is_write {
            if let Some(g) = self.gate.as_mut() {
                if self.pending + (g.held.len() + g.gated.len()) as u32 + 1 >= self.capacity {
                    return false;
                }
                g.held.push(entry);
                return true;
            }
        }
        // SAFETY: the caller guarantees that the entry's buffer and fd stay valid until the
        // completion is reaped, which is what the kernel needs for this entry.
        let pushed = unsafe { self.ring.submission().push(&entry) };
        if pushed.is_err() {
            return false;
        }
        self.pending += 1;
        true
    }

    /// Submits the pending operations; returns how many the kernel took.
    pub fn commit(&mut self) -> io::Result<u32> {
        self.start_sync()?;
        if self.pending == 0 {
            return Ok(0);
        }
        // With GETEVENTS, as fio's io_uring engine commits: on a DEFER_TASKRUN ring the kernel
        // then also posts the completions that are ready.
        self.enter(0)
    }

    /// Moves failed-before-submission results and posted completions to the event list, up to
    /// `max` events; handles journal `fdatasync` completions (never returned as events).
    fn take(&mut self, max: usize) -> io::Result<()> {
        let take = self.failed.len().min(max.saturating_sub(self.events.len()));
        self.events.extend(self.failed.drain(..take));
        let mut synced = Vec::new();
        if self.events.len() < max {
            for cqe in self.ring.completion() {
                self.in_kernel = self.in_kernel.saturating_sub(1);
                if cqe.user_data() == SYNC_TAG {
                    synced.push(cqe.result());
                    continue;
                }
                self.events.push((cqe.user_data(), cqe.result()));
                if self.events.len() >= max {
                    break;
                }
            }
        }
        for res in synced {
            self.sync_completed(res)?;
        }
        self.start_sync()
    }

    /// Reaps at least `min` (when that many are in flight) and at most `max` completions into
    /// the event list; returns how many.
    ///
    /// The loop of fio's io_uring engine: take what the completion queue holds; when that is
    /// nothing, or fewer than `min`, enter the kernel (waiting for the missing ones, or with
    /// `min` 0 just having it post the completions that are ready: on a DEFER_TASKRUN ring they
    /// appear only then), and take again.
    pub fn getevents(&mut self, min: u32, max: u32) -> io::Result<u32> {
        self.events.clear();
        let max = max.max(min).max(1) as usize;
        let mut entered = false;
        loop {
            let before = self.events.len();
            self.take(max)?;
            let reaped = self.events.len() > before;
            if self.events.len() >= min as usize && (reaped || entered) {
                return Ok(self.events.len() as u32);
            }
            let want = (min as usize).saturating_sub(self.events.len());
            if !self.failed.is_empty() {
                continue;
            }
            if self.in_kernel == 0 && self.pending == 0 {
                // Nothing can complete (cannot happen while the caller's count is right): return
                // what there is rather than wait forever.
                return Ok(self.events.len() as u32);
            }
            // Never wait for more completions than the kernel holds: writes at the journal gate
            // reach it only after the fdatasync's completion is reaped here.
            self.enter((want as u32).min(self.in_kernel + self.pending))?;
            entered = true;
        }
    }

    /// Submits what is pending, then reaps every completion into the event list, waiting up to
    /// `timeout` for one when none is ready (zero: never waits); returns how many. A wait that
    /// times out or is interrupted by a signal reaps nothing and is not an error.
    ///
    /// Needs [`Ring::supports_timed_wait`] when `timeout` is not zero.
    pub fn wait(&mut self, timeout: Duration) -> io::Result<u32> {
        self.events.clear();
        self.take(usize::MAX)?;
        if self.events.is_empty() && self.failed.is_empty() && !timeout.is_zero() {
            let ts = types::Timespec::from(timeout);
            let args = types::SubmitArgs::new().timespec(&ts);
            // Sets GETEVENTS (a wait for one completion): on a DEFER_TASKRUN ring that is also
            // what posts the completions that are ready.
            match self.ring.submitter().submit_with_args(1, &args) {
                Ok(n) => self.submitted(n as u32),
                Err(e) if is_transient(&e) => {}
                Err(e) => return Err(e),
            }
        } else {
            self.enter(0)?;
        }
        self.take(usize::MAX)?;
        Ok(self.events.len() as u32)
    }

    /// `io_uring_enter` with GETEVENTS: submits what is pending and waits for `min_complete`
    /// completions (0: only posts those that are ready); returns how many were submitted.
    fn enter(&mut self, min_complete: u32) -> io::Result<u32> {
        let to_submit = self.pending;
        // SAFETY: the pending entries were pushed through `submission()` (whose drop published
        // them); no argument struct is passed.
        let n = retry_intr(|| unsafe {
            self.ring.submitter().enter::<libc::sigset_t>(
                to_submit,
                min_complete,
                IORING_ENTER_GETEVENTS,
                None,
            )
        })? as u32;
        self.submitted(n);
        Ok(n)
    }

    /// The kernel took `n` pending entries.
    fn submitted(&mut self, n: u32) {
        self.pending = self.pending.saturating_sub(n);
        self.in_kernel += n;
    }

    /// The `idx`-th completion of the last reap: (user data, result: bytes or -errno).
    pub fn event(&self, idx: usize) -> Option<(u64, i32)> {
        self.events.get(idx).copied()
    }

    /// The completions of the last reap: (user data, result: bytes or -errno).
    pub fn events(&self) -> &[(u64, i32)] {
        &self.events
    }
}

/// Errors of `io_uring_enter` that only mean "try again" (signal, timeout, full queue).
pub fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EINTR | libc::ETIME | libc::EBUSY | libc::EAGAIN)
    )
}

fn retry_intr(mut f: impl FnMut() -> io::Result<usize>) -> io::Result<usize> {
    loop {
        match f() {
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINTR) | Some(libc::EAGAIN)) => {
                continue
            }
            other => return other,
        }
    }
}

/// A completion's result as the kernel returns it (bytes, or `-errno`) as an `io::Result`.
pub fn result_of(res: i32) -> io::Result<usize> {
    if res < 0 {
        Err(io::Error::from_raw_os_error(-res))
    } else {
        Ok(res as usize)
    }
}

/// A read or write of `len` bytes at `offset` that may take several operations: the kernel may
/// move fewer bytes than asked (a short transfer), which is not an error, and the rest is then
/// submitted from where it stopped.
#[derive(Clone, Copy, Debug)]
pub struct Transfer {
    /// Read or write.
    pub dir: Dir,
    /// File offset of the first byte.
    pub offset: u64,
    /// Bytes to submit in all.
    pub len: usize,
    /// Bytes that must be moved for the transfer to be complete (at most `len`; less for an
    /// O_DIRECT read rounded up past the end of the data: the file may end before `len`).
    pub wanted: usize,
    /// Bytes moved so far.
    pub done: usize,
}

/// What one completion means for a [`Transfer`].
#[derive(Debug)]
pub enum Step {
    /// This completion moved the given bytes and the transfer is complete.
    Done(usize),
    /// This completion moved the given bytes, fewer than wanted: submit the rest
    /// ([`Transfer::rest`]).
    Short(usize),
    /// Interrupted (`EINTR`, `EAGAIN`): submit the rest again.
    Retry,
    /// The transfer failed at [`Transfer::at`]: a read found the end of the file, a write wrote
    /// nothing, or the OS error.
    Failed(io::Error),
}

impl Transfer {
    /// A transfer of `len` bytes at `offset`, complete once `wanted` of them have been moved.
    pub fn new(dir: Dir, offset: u64, len: usize, wanted: usize) -> Self {
        Transfer {
            dir,
            offset,
            len,
            wanted: wanted.min(len),
            done: 0,
        }
    }

    /// File offset of the next byte to move.
    pub fn at(&self) -> u64 {
        self.offset + self.done as u64
    }

    /// What to submit next: (start in the buffer, length, file offset).
    pub fn rest(&self) -> (usize, usize, u64) {
        (self.done, self.len - self.done, self.at())
    }

    /// Applies one completion's result.
    pub fn complete(&mut self, result: io::Result<usize>) -> Step {
        match result {
            Ok(0) => Step::Failed(match self.dir {
                Dir::Write => io::Error::new(io::ErrorKind::WriteZero, "the write wrote nothing"),
                Dir::Read => io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "the file ends at byte {}, before the size to verify",
                        self.at()
                    ),
                ),
            }),
            Ok(n) => {
                let n = n.min(self.len - self.done);
                self.done += n;
                if self.done < self.wanted {
                    Step::Short(n)
                } else {
                    Step::Done(n)
                }
            }
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINTR | libc::EAGAIN)) => Step::Retry,
            Err(e) => Step::Failed(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, SeekFrom, Write};
    use std::os::fd::AsRawFd;

    #[test]
    fn write_then_read_back() {
        let mut file = tempfile::tempfile().unwrap();
        let fd = file.as_raw_fd();
        let mut ring = Ring::new(4).unwrap();
        let mut bufs: Vec<Vec<u8>> = (0..4u8).map(|i| vec![i + 1; 4096]).collect();
        for (i, b) in bufs.iter_mut().enumerate() {
            // SAFETY: the buffers outlive the reap below; the file stays open.
            let ok =
                unsafe { ring.queue(i as u64, fd, true, b.as_mut_ptr(), b.len(), i as u64 * 4096) }
                    .unwrap();
            assert!(ok);
        }
        assert_eq!(ring.pending(), 4);
        assert_eq!(ring.commit().unwrap(), 4);
        let mut seen = 0;
        while seen < 4 {
            let n = ring.getevents(1, 4).unwrap();
            for i in 0..n as usize {
                let (_, res) = ring.event(i).unwrap();
                assert_eq!(res, 4096);
            }
            seen += n;
        }
        let mut all = Vec::new();
        file.seek(SeekFrom::Start(0)).unwrap();
        file.read_to_end(&mut all).unwrap();
        assert_eq!(all.len(), 4 * 4096);
        assert!(all[4096 * 3..].iter().all(|&b| b == 4));

        let mut back = vec![0u8; 4096];
        // SAFETY: `back` outlives the reap; the file stays open.
        unsafe { ring.queue(9, fd, false, back.as_mut_ptr(), 4096, 4096) }.unwrap();
        // getevents submits pending operations itself when it has to wait.
        assert_eq!(ring.getevents(1, 1).unwrap(), 1);
        assert_eq!(ring.event(0), Some((9, 4096)));
        assert!(back.iter().all(|&b| b == 2));
    }

    /// A non-blocking reap (`min` 0) still finds completions that are done, though the ring
    /// defers posting them until the task enters the kernel (fio polls this way between waits).
    #[test]
    fn polling_reap_finds_finished_completions() {
        let file = tempfile::tempfile().unwrap();
        let fd = file.as_raw_fd();
        let mut ring = Ring::new(4).unwrap();
        let mut buf = vec![7u8; 4096];
        // SAFETY: `buf` outlives the reap below; the file stays open.
        assert!(unsafe { ring.queue(1, fd, true, buf.as_mut_ptr(), 4096, 0) }.unwrap());
        assert_eq!(ring.commit().unwrap(), 1);
        let mut got = 0;
        for _ in 0..1000 {
            got = ring.getevents(0, 4).unwrap();
            if got > 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(got, 1, "a polling reap never saw the finished write");
        assert_eq!(ring.event(0), Some((1, 4096)));
    }

    /// Gated writes reach the kernel only after the journal's `fdatasync` (whose completion is
    /// not returned as an event); writes queued meanwhile wait for the next one.
    #[test]
    fn gated_writes_follow_the_journal_sync() {
        let mut file = tempfile::tempfile().unwrap();
        let journal = tempfile::tempfile().unwrap();
        let fd = file.as_raw_fd();
        let mut ring = Ring::new(4).unwrap();
        ring.gate_writes(journal.as_raw_fd());
        let mut bufs: Vec<Vec<u8>> = (0..3u8).map(|i| vec![i + 1; 4096]).collect();
        let mut queue = |ring: &mut Ring, i: usize| {
            let b = &mut bufs[i];
            // SAFETY: the buffers outlive the reaps below; the file stays open.
            unsafe { ring.queue(i as u64, fd, true, b.as_mut_ptr(), 4096, i as u64 * 4096) }
                .unwrap()
        };
        assert!(queue(&mut ring, 0));
        assert!(queue(&mut ring, 1));
        assert_eq!((ring.pending(), ring.held()), (2, 2));
        assert_eq!(ring.commit().unwrap(), 1, "only the fdatasync is submitted");
        assert!(ring.sync_in_flight());
        assert!(queue(&mut ring, 2), "queued behind the fdatasync in flight");
        let mut seen = Vec::new();
        while seen.len() < 3 {
            let n = ring.getevents(1, 4).unwrap();
            for i in 0..n as usize {
                let (key, res) = ring.event(i).unwrap();
                assert_eq!(res, 4096, "write {key}");
                seen.push(key);
            }
        }
        seen.sort();
        assert_eq!(seen, vec![0, 1, 2]);
        assert!(!ring.sync_in_flight());
        assert_eq!(ring.take_sync_error(), None);
        let mut all = Vec::new();
        file.read_to_end(&mut all).unwrap();
        assert_eq!(all.len(), 3 * 4096);
    }

    /// A failed journal `fdatasync` fails its writes, and every later one, without submitting
    /// them; the error is reported once.
    #[test]
    fn a_failed_journal_sync_fails_the_writes_unsubmitted() {
        let mut file = tempfile::tempfile().unwrap();
        let fd = file.as_raw_fd();
        let mut ring = Ring::new(4).unwrap();
        ring.gate_writes(-1);
        let mut a = vec![1u8; 4096];
        // SAFETY: the buffer outlives the reaps below; the file stays open.
        unsafe {
            assert!(ring.queue(1, fd, true, a.as_mut_ptr(), 4096, 0).unwrap());
        }
        ring.commit().unwrap();
        assert_eq!(ring.getevents(1, 4).unwrap(), 1);
        assert_eq!(ring.event(0), Some((1, -libc::EBADF)));
        assert_eq!(ring.take_sync_error(), Some(libc::EBADF));
        assert_eq!(ring.take_sync_error(), None);
        // SAFETY: as above.
        unsafe {
            assert!(ring.queue(2, fd, true, a.as_mut_ptr(), 4096, 0).unwrap());
        }
        ring.commit().unwrap();
        assert_eq!(ring.getevents(1, 4).unwrap(), 1);
        assert_eq!(ring.event(0), Some((2, -libc::EBADF)));
        let mut all = Vec::new();
        file.read_to_end(&mut all).unwrap();
        assert!(all.is_empty(), "no gated write reached the file");
    }

    /// The timed wait returns nothing, without error, when nothing completes in time, and the
    /// completions (by user data) on registered buffers when they do.
    #[test]
    fn timed_wait_and_fixed_buffers() {
        let file = tempfile::tempfile().unwrap();
        let fd = file.as_raw_fd();
        let mut ring = Ring::new(4).unwrap();
        assert!(ring.supports_timed_wait());
        assert_eq!(ring.wait(Duration::from_millis(5)).unwrap(), 0);
        let mut buf = vec![3u8; 8192];
        let iov = [libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        }];
        // SAFETY: `buf` outlives the ring (dropped at the end of the test, after it).
        unsafe { ring.register_buffers(&iov) }.unwrap();
        // SAFETY: `buf` is registered buffer 0 and outlives the reap; the file stays open.
        let ok = unsafe { ring.queue_fixed(5, fd, true, buf.as_mut_ptr(), 8192, 0, 0) }.unwrap();
        assert!(ok);
        let mut seen = Vec::new();
        for _ in 0..100 {
            ring.wait(Duration::from_millis(100)).unwrap();
            seen.extend_from_slice(ring.events());
            if !seen.is_empty() {
                break;
            }
        }
        assert_eq!(seen, vec![(5, 8192)]);
        drop(ring);
    }

    /// A read of 8 KiB from a 5000-byte file is short; the transfer submits the rest, which
    /// finds the end of the file: with 8 KiB wanted that fails at byte 5000, with 5000 wanted
    /// (an O_DIRECT read rounded up) the first completion was enough.
    #[test]
    fn short_read_then_eof_through_the_ring() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&[9u8; 5000]).unwrap();
        let fd = file.as_raw_fd();
        let mut ring = Ring::new(4).unwrap();
        let mut buf = vec![0u8; 8192];
        let mut run = |ring: &mut Ring, t: &mut Transfer| -> Step {
            let (start, len, offset) = t.rest();
            // SAFETY: `start + len <= buf.len()`; `buf` outlives the reap; the file stays open.
            let ok = unsafe { ring.queue(1, fd, false, buf.as_mut_ptr().add(start), len, offset) }
                .unwrap();
            assert!(ok);
            assert_eq!(ring.getevents(1, 1).unwrap(), 1);
            let (key, res) = ring.event(0).unwrap();
            assert_eq!(key, 1);
            t.complete(result_of(res))
        };
        let mut t = Transfer::new(Dir::Read, 0, 8192, 8192);
        assert!(matches!(run(&mut ring, &mut t), Step::Short(5000)));
        assert_eq!((t.done, t.at(), t.rest()), (5000, 5000, (5000, 3192, 5000)));
        match run(&mut ring, &mut t) {
            Step::Failed(e) => {
                assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
                assert!(e.to_string().contains("ends at byte 5000"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        let mut t = Transfer::new(Dir::Read, 0, 8192, 5000);
        assert!(matches!(run(&mut ring, &mut t), Step::Done(5000)));
        assert!(buf[..5000].iter().all(|&b| b == 9));
    }

    /// A short write continues where it stopped until every byte is written.
    #[test]
    fn short_write_continues() {
        let mut t = Transfer::new(Dir::Write, 4096, 8192, 8192);
        assert!(matches!(t.complete(Ok(3000)), Step::Short(3000)));
        assert_eq!(t.rest(), (3000, 5192, 7096));
        assert!(matches!(t.complete(Ok(5000)), Step::Short(5000)));
        assert_eq!(t.rest(), (8000, 192, 12096));
        assert!(matches!(t.complete(Ok(192)), Step::Done(192)));
        assert_eq!(t.done, 8192);
    }

    /// A write that writes nothing fails (rather than loop), at the byte it stopped.
    #[test]
    fn zero_byte_write_fails() {
        let mut t = Transfer::new(Dir::Write, 0, 4096, 4096);
        assert!(matches!(t.complete(Ok(1000)), Step::Short(1000)));
        match t.complete(Ok(0)) {
            Step::Failed(e) => assert_eq!(e.kind(), io::ErrorKind::WriteZero),
            other => panic!("{other:?}"),
        }
        assert_eq!(t.at(), 1000);
    }

    /// A 0-byte read is the end of the file: a failure before the wanted bytes.
    #[test]
    fn eof_read_fails_at_its_offset() {
        let mut t = Transfer::new(Dir::Read, 1 << 20, 4096, 4096);
        match t.complete(Ok(0)) {
            Step::Failed(e) => {
                assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
                assert!(e.to_string().contains("ends at byte 1048576"), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }

    /// EINTR and EAGAIN retry the rest; other errors fail, with the OS error kept.
    #[test]
    fn errors_retry_or_fail() {
        let mut t = Transfer::new(Dir::Write, 0, 4096, 4096);
        assert!(matches!(t.complete(result_of(-libc::EINTR)), Step::Retry));
        assert!(matches!(t.complete(result_of(-libc::EAGAIN)), Step::Retry));
        assert_eq!(t.done, 0);
        match t.complete(result_of(-libc::ENOSPC)) {
            Step::Failed(e) => assert_eq!(e.raw_os_error(), Some(libc::ENOSPC)),
            other => panic!("{other:?}"),
        }
        assert_eq!(result_of(4096).unwrap(), 4096);
    }

    /// An error completion from the kernel arrives by user data as `-errno`.
    #[test]
    fn kernel_errors_arrive_as_negative_errno() {
        let file = tempfile::tempfile().unwrap();
        let mut ring = Ring::new(2).unwrap();
        let mut buf = vec![0u8; 4096];
        // A read from a descriptor opened for writing only fails with EBADF.
        let path = format!("/proc/self/fd/{}", file.as_raw_fd());
        let wo = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        // SAFETY: `buf` outlives the reap; `wo` stays open.
        let ok = unsafe { ring.queue(7, wo.as_raw_fd(), false, buf.as_mut_ptr(), 4096, 0) };
        assert!(ok.unwrap());
        assert_eq!(ring.getevents(1, 1).unwrap(), 1);
        assert_eq!(ring.event(0), Some((7, -libc::EBADF)));
        let mut t = Transfer::new(Dir::Read, 0, 4096, 4096);
        assert!(matches!(
            t.complete(result_of(-libc::EBADF)),
            Step::Failed(_)
        ));
    }
}
