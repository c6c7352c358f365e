//! One io_uring ring per fio job: queue reads/writes, submit, reap completions.
//!
//! fio bounds the number of io_us in flight by `iodepth`; the ring is sized for that, so a full
//! submission queue only happens transiently and is reported as "busy".

use std::io;

use io_uring::{opcode, squeue, types, IoUring};

/// `IORING_ENTER_GETEVENTS` from `<linux/io_uring.h>`.
const IORING_ENTER_GETEVENTS: u32 = 1;

/// A job's ring and the completions of the last reap.
pub struct Ring {
    ring: IoUring,
    /// Pushed to the submission queue, not yet submitted.
    pending: u32,
    /// Completions of the last [`Ring::getevents`]: (user data, result).
    events: Vec<(u64, i32)>,
    /// Entries held back from the submission queue until [`Ring::release_held`] (writes whose
    /// map intents are not durable yet): the kernel never sees them before.
    held: Vec<squeue::Entry>,
    /// Results made up for held entries that were failed ([`Ring::fail_held`]), returned by the
    /// next [`Ring::getevents`].
    failed: Vec<(u64, i32)>,
    /// Submission queue entries.
    capacity: u32,
    /// Submitted to the kernel and not reaped yet.
    in_kernel: u32,
    /// Hold every write back until [`Ring::release_held`] (a map job: a write is submitted only
    /// once its intent is durable).
    pub hold_writes: bool,
}

impl Ring {
    /// A ring with room for `depth` operations in flight.
    ///
    /// Set up as fio's own io_uring engine sets up its ring: completions run in this task when it
    /// asks for them (`COOP_TASKRUN`, and `SINGLE_ISSUER` + `DEFER_TASKRUN`) rather than by
    /// interrupting it. With this setup, the GETEVENTS commit and the polling reap below, 4 KiB
    /// random writes at queue depth 32 went from 0.81-0.85 of fio's own engine to 0.86-0.91 in
    /// `scripts/bench-fio` on the development VM. Kernels that lack a flag refuse it with EINVAL:
    /// as fio does, the ring is then set up without it. The ring is created and used by the fio
    /// job's own thread only (fio calls init, queue, commit and getevents from it), as
    /// `SINGLE_ISSUER` requires.
    pub fn new(depth: u32) -> io::Result<Self> {
        let entries = depth.clamp(1, 4096).next_power_of_two();
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
            held: Vec::new(),
            failed: Vec::new(),
            hold_writes: false,
            in_kernel: 0,
        })
    }

    /// Operations queued but not yet submitted (held ones included).
    pub fn pending(&self) -> u32 {
        self.pending + self.held.len() as u32
    }

    /// Whether one more operation can be queued now.
    pub fn has_room(&self) -> bool {
        self.pending() < self.capacity
    }

    /// Operations submitted to the kernel whose completions have not been reaped.
    pub fn in_kernel(&self) -> u32 {
        self.in_kernel
    }

    /// Completions ready to be reaped without waiting (entering the kernel once, without waiting,
    /// when the completion queue looks empty: a DEFER_TASKRUN ring posts them only then).
    pub fn ready(&mut self) -> io::Result<usize> {
        let n = self.ring.completion().len();
        if n > 0 || self.in_kernel == 0 {
            return Ok(n);
        }
        self.enter(0)?;
        Ok(self.ring.completion().len())
    }

    /// Entries held back (see [`Ring::hold_writes`]).
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Moves the held entries into the submission queue (the next commit submits them).
    pub fn release_held(&mut self) -> io::Result<()> {
        if self.held.is_empty() {
            return Ok(());
        }
        let mut sq = self.ring.submission();
        for (i, e) in self.held.iter().enumerate() {
            // SAFETY: the buffers and fds of held entries stay valid until their completion is
            // reaped (the caller of `queue` guaranteed it for the entry's whole life).
            if unsafe { sq.push(e) }.is_err() {
                drop(sq);
                self.pending += i as u32;
                self.held.drain(..i);
                return Err(io::Error::from_raw_os_error(libc::EBUSY));
            }
        }
        drop(sq);
        self.pending += self.held.len() as u32;
        self.held.clear();
        Ok(())
    }

    /// Fails every held entry with `-errno` (its completion comes from the next getevents); the
    /// kernel never sees them.
    pub fn fail_held(&mut self, errno: i32) {
        for e in self.held.drain(..) {
            self.failed.push((e.get_user_data(), -errno));
        }
    }

    /// Queues one read or write. `Ok(false)`: the submission queue is full (submit first).
    /// With [`Ring::hold_writes`], a write stays out of the submission queue until
    /// [`Ring::release_held`] (or is failed with [`Ring::fail_held`]).
    ///
    /// # Safety
    /// `buf` must be valid for `len` bytes (writable for a read) until the completion carrying
    /// `user_data` has been reaped by [`Ring::getevents`]; `fd` must stay open until then.
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
        }
        .user_data(user_data);
        if is_write && self.hold_writes {
            if !self.has_room() {
                return Ok(false);
            }
            self.held.push(entry);
            return Ok(true);
        }
        // SAFETY: the caller guarantees that buf/len and fd stay valid until the completion is
        // reaped, which is what the kernel needs for this entry.
        let pushed = unsafe { self.ring.submission().push(&entry) };
        if pushed.is_err() {
            return Ok(false);
        }
        self.pending += 1;
        Ok(true)
    }

    /// Submits the pending operations; returns how many the kernel took.
    pub fn commit(&mut self) -> io::Result<u32> {
        if self.pending == 0 {
            return Ok(0);
        }
        // With GETEVENTS, as fio's io_uring engine commits: on a DEFER_TASKRUN ring the kernel
        // then also posts the completions that are ready.
        self.enter(0)
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
        let take = self.failed.len().min(max);
        self.events.extend(self.failed.drain(..take));
        let mut entered = !self.events.is_empty();
        loop {
            let before = self.events.len();
            for cqe in self.ring.completion() {
                self.in_kernel = self.in_kernel.saturating_sub(1);
                self.events.push((cqe.user_data(), cqe.result()));
                if self.events.len() >= max {
                    break;
                }
            }
            let reaped = self.events.len() > before;
            if self.events.len() >= min as usize && (reaped || entered) {
                return Ok(self.events.len() as u32);
            }
            let want = (min as usize).saturating_sub(self.events.len());
            self.enter(want as u32)?;
            entered = true;
        }
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
        self.pending = self.pending.saturating_sub(n);
        self.in_kernel += n;
        Ok(n)
    }

    /// The `idx`-th completion of the last reap: (user data, result: bytes or -errno).
    pub fn event(&self, idx: usize) -> Option<(u64, i32)> {
        self.events.get(idx).copied()
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, SeekFrom};
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

    /// Held writes reach the kernel only when released; failed ones come back as errors.
    #[test]
    fn held_writes_wait_for_release_or_fail() {
        let mut file = tempfile::tempfile().unwrap();
        let fd = file.as_raw_fd();
        let mut ring = Ring::new(4).unwrap();
        ring.hold_writes = true;
        let mut a = vec![1u8; 4096];
        let mut b = vec![2u8; 4096];
        // SAFETY: the buffers outlive the reaps below; the file stays open.
        unsafe {
            assert!(ring.queue(1, fd, true, a.as_mut_ptr(), 4096, 0).unwrap());
            assert!(ring.queue(2, fd, true, b.as_mut_ptr(), 4096, 4096).unwrap());
        }
        assert_eq!((ring.pending(), ring.held()), (2, 2));
        assert_eq!(ring.commit().unwrap(), 0, "held entries are not submitted");
        let mut all = Vec::new();
        file.read_to_end(&mut all).unwrap();
        assert!(all.is_empty());
        ring.fail_held(libc::ENOSPC);
        assert_eq!(ring.getevents(2, 4).unwrap(), 2);
        assert_eq!(ring.event(1), Some((2, -libc::ENOSPC)));
        // SAFETY: as above.
        unsafe { ring.queue(3, fd, true, a.as_mut_ptr(), 4096, 0) }.unwrap();
        ring.release_held().unwrap();
        assert_eq!(ring.commit().unwrap(), 1);
        assert_eq!(ring.getevents(1, 4).unwrap(), 1);
        assert_eq!(ring.event(0), Some((3, 4096)));
    }
}
