//! Per-job state (fio's `td->io_ops_data`): the configuration, one generator per file, and the
//! job's io_uring ring. fio never calls one job's engine hooks concurrently, so no locking.

use std::io;
use std::path::{Path, PathBuf};

use dgen::Generator;

use crate::coverage::Coverage;
use crate::log;
use crate::mapjob::{errno_of, MapJob, MapWrite};
use crate::options::{EngineConfig, IoMode};
use crate::shared_map::{self, SharedMap};
use dgen::io::ring::Ring;
use dgen::map::Durability;

/// What [`Job::fill_io`] did with a write buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Fill {
    /// The buffer is filled: submit it.
    Ready,
    /// Not now (a block of it is being written, or the ring is full): reap, then try again.
    Busy,
}

/// One fio job's engine state.
pub struct Job {
    /// The job's name (for messages).
    pub name: String,
    /// Parsed options.
    pub config: EngineConfig,
    /// Generator of each file, by fio's file number, created on first use.
    generators: Vec<Option<Generator>>,
    /// The job's ring (`dgen_io=uring` only).
    pub ring: Option<Ring>,
    /// fio's io_u buffers, registered with the ring as fixed buffer 0: start and length.
    fixed: Option<(usize, usize)>,
    /// The generation map of each of the job's files (`dgen_map`), by fio's file number, once
    /// the file is opened; shared with the other jobs of this process that name it (`numjobs`
    /// clones with `thread=1`).
    maps: Vec<Option<SharedMap>>,
    /// What the job's verified reads covered, by fio's file number (made on the first verify).
    coverage: Vec<Option<(PathBuf, Coverage)>>,
}

impl Job {
    /// Builds the job state; opens the ring for `dgen_io=uring`.
    pub fn new(name: &str, config: EngineConfig, iodepth: u32) -> io::Result<Self> {
        let ring = match config.io {
            IoMode::Uring => Some(Ring::new(iodepth)?),
            IoMode::Psync | IoMode::Null => None,
        };
        Ok(Job {
            name: name.to_string(),
            config,
            generators: Vec::new(),
            ring,
            fixed: None,
            maps: Vec::new(),
            coverage: Vec::new(),
        })
    }

    /// Registers `len` bytes at `buf` (fio's io_u buffers) with the ring as fixed buffer 0; I/O
    /// inside them then skips the kernel's per-I/O page pinning. At most 1 GiB (the kernel's
    /// limit for one buffer).
    ///
    /// # Safety
    /// `buf` must be valid for `len` bytes and stay allocated while the ring lives.
    pub unsafe fn register_buffer(&mut self, buf: *mut u8, len: usize) -> io::Result<()> {
        let Some(ring) = self.ring.as_mut() else {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        };
        if len == 0 || len > 1 << 30 {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let iov = libc::iovec {
            iov_base: buf.cast(),
            iov_len: len,
        };
        // SAFETY: forwarded from this function's contract.
        unsafe { ring.register_buffers(&[iov])? };
        self.fixed = Some((buf as usize, len));
        Ok(())
    }

    /// Whether `len` bytes at `buf` lie in the registered fixed buffer.
    pub fn fixed_buffer_holds(&self, buf: *const u8, len: usize) -> bool {
        self.fixed.is_some_and(|(start, size)| {
            let at = buf as usize;
            at >= start && at.checked_add(len).is_some_and(|end| end <= start + size)
        })
    }

    /// The map of file `fileno`, when the job has one.
    fn map(&self, fileno: usize) -> Option<&SharedMap> {
        self.maps.get(fileno).and_then(Option::as_ref)
    }

    /// Opens the map (`dgen_map`) of file `fileno` (named `file`) of `size` bytes; a job that
    /// writes (or trims) changes it, one that only reads never writes it; only a job that writes
    /// (`creates`) makes it when missing. Each file of a job has its own map
    /// ([`EngineConfig::map_path`]).
    pub fn open_map(
        &mut self,
        fileno: usize,
        file: &Path,
        size: u64,
        writes: bool,
        creates: bool,
    ) -> Result<(), i32> {
        let Some(path) = self.config.map_path(fileno) else {
            return Ok(());
        };
        if self.map(fileno).is_some() {
            return Ok(());
        }
        let params = self.config.params_for(fileno, file);
        let power = self.config.map_durability == Durability::Power;
        let opened = shared_map::open_or_join(
            &path,
            |m| {
                if power {
                    return Err("another job of this fio process has it open, and \
                                dgen_map_durability=power needs a map per job (each job's ring \
                                waits on the journal, which the other job's checkpoints replace); \
                                use dgen_map_durability=process"
                        .into());
                }
                m.fits(file, size, &params, writes)
            },
            || MapJob::open(&path, params.clone(), file, size, writes, creates),
        );
        match opened {
            Ok((shared, joined)) => {
                let m = shared_map::lock(&shared);
                if joined {
                    log::info(&format!(
                        "dgen: job {}: dgen_map={}: shared with the other jobs of this fio \
                         process that write {}",
                        self.name,
                        path.display(),
                        file.display()
                    ));
                } else {
                    let mut m = m;
                    m.set_durability(self.config.map_durability);
                    m.set_trim_check(self.config.map_trimmed);
                    if m.created {
                        log::info(&format!(
                            "dgen: job {}: dgen_map={}: created for {} ({} bytes; a fresh run: \
                             write the whole file before verifying it)",
                            self.name,
                            path.display(),
                            file.display(),
                            size
                        ));
                    }
                    // dgen_map_durability=power: a map write waits in the ring for an
                    // fdatasync of the journal started after its intent was appended.
                    if let (Some(ring), Some(fd), true) =
                        (self.ring.as_mut(), m.journal_fd(), power)
                    {
                        ring.gate_writes(fd);
                    }
                }
                if self.maps.len() <= fileno {
                    self.maps.resize_with(fileno + 1, || None);
                }
                self.maps[fileno] = Some(shared.clone());
                Ok(())
            }
            Err(reason) => {
                let order = if self.config.map_files > 1 {
                    format!(
                        " (the job has {} files, each with its own map: file {fileno}, {}, \
                         has {}; keep the files in the order they were written with)",
                        self.config.map_files,
                        file.display(),
                        path.display()
                    )
                } else {
                    String::new()
                };
                log::error(&format!(
                    "dgen: job {}: bad option dgen_map={}: {reason}{order}",
                    self.name,
                    path.display()
                ));
                Err(libc::EINVAL)
            }
        }
    }

    /// Fills the write buffer of io_u `key`: the stream's bytes, or with a map the blocks' next
    /// contents (intents logged; with `dgen_io=psync` also made durable here, before the write).
    pub fn fill_io(
        &mut self,
        key: u64,
        fileno: usize,
        file: &Path,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<Fill, i32> {
        if self.map(fileno).is_none() {
            return match self.fill(fileno, file, offset, buf) {
                Ok(()) => Ok(Fill::Ready),
                Err(e) => {
                    log::error(&format!("dgen: job {}: {e}", self.name));
                    Err(libc::EINVAL)
                }
            };
        }
        if self.ring.as_ref().is_some_and(|r| !r.has_room()) {
            return Ok(Fill::Busy);
        }
        self.map_op(key, fileno, false, |map| map.write(key, offset, buf))
    }

    /// Runs `op` (a write or trim of io_u `key`) on the map, then journals its intents
    /// (`synchronous`: see [`Job::journal_intents`]); busy when a block of it is. Without a map,
    /// nothing to do.
    fn map_op(
        &mut self,
        key: u64,
        fileno: usize,
        synchronous: bool,
        op: impl FnOnce(&mut MapJob) -> Result<MapWrite, String>,
    ) -> Result<Fill, i32> {
        let Some(shared) = self.map(fileno) else {
            return Ok(Fill::Ready);
        };
        let mut map = shared_map::lock(shared);
        match op(&mut map) {
            Ok(MapWrite::Busy) => {
                drop(map);
                self.wait_for_other_jobs();
                return Ok(Fill::Busy);
            }
            Ok(MapWrite::Filled) => {}
            Err(reason) => {
                log::error(&format!(
                    "dgen: job {}: dgen_map={}: {reason}",
                    self.name,
                    map.path().display()
                ));
                return Err(libc::EINVAL);
            }
        }
        drop(map);
        self.journal_intents(key, fileno, synchronous)?;
        Ok(Fill::Ready)
    }

    /// A block this job is about to write or read is busy. When none of this job's own I/O is
    /// in flight, another job sharing the map has it: give that job's thread the CPU for a
    /// moment instead of spinning (fio retries a busy io_u at once when nothing is in flight).
    fn wait_for_other_jobs(&self) {
        let idle = self
            .ring
            .as_ref()
            .is_none_or(|r| r.in_kernel() == 0 && r.pending() == 0);
        if idle {
            std::thread::sleep(std::time::Duration::from_micros(20));
        }
    }

    /// Marks the blocks of trim io_u `key` (`len` bytes at `offset`) trimmed in the map and
    /// journals their intents (synced first with `dgen_map_durability=power`: the trim is
    /// synchronous and bypasses the ring's journal gate); [`Job::write_done`] ends it. Without a
    /// map, nothing to do.
    pub fn trim_io(&mut self, key: u64, fileno: usize, offset: u64, len: u64) -> Result<Fill, i32> {
        self.map_op(key, fileno, true, |map| map.trim(key, offset, len))
    }

    /// Appends the intents just logged for io_u `key` to the map's journal, before it can be
    /// submitted; with `dgen_map_durability=power` and `psync` (or a `synchronous` operation,
    /// which bypasses the ring), also syncs them (the ring syncs them itself). Checkpoints when the journal is due for it and no journal `fdatasync` is in
    /// flight. On failure logs why, forgets the write and returns the errno to fail it with.
    fn journal_intents(&mut self, key: u64, fileno: usize, synchronous: bool) -> Result<(), i32> {
        let power = self.config.map_durability == Durability::Power;
        let Some(shared) = self.maps.get(fileno).and_then(Option::as_ref) else {
            return Ok(());
        };
        let mut map = shared_map::lock(shared);
        let mut journaled = map.append();
        if journaled.is_ok() && power && (self.ring.is_none() || synchronous) {
            journaled = map.sync();
        }
        if let Err(e) = journaled {
            log::error(&format!(
                "dgen: job {}: dgen_map={}: cannot journal the write intents, failing the \
                 writes that depend on them: {e}",
                self.name,
                map.path().display()
            ));
            map.done(key, false);
            return Err(errno_of(&e));
        }
        if self.ring.as_ref().is_some_and(Ring::sync_in_flight) {
            return Ok(());
        }
        match map.checkpoint_if_due() {
            Ok(false) => {}
            Ok(true) => {
                if let Some(ring) = self.ring.as_mut() {
                    // The checkpoint made every appended intent durable.
                    if let (Some(fd), true) = (map.journal_fd(), power) {
                        ring.gate_writes(fd);
                    }
                    if let Err(e) = ring.release_held() {
                        log::error(&format!("dgen: job {}: io_uring: {e}", self.name));
                    }
                }
            }
            // This write's intent is in the journal the checkpoint left (or in the new
            // checkpoint); later appends fail if the journal became unusable.
            Err(e) => log::error(&format!(
                "dgen: job {}: dgen_map={}: checkpoint failed: {e}",
                self.name,
                map.path().display()
            )),
        }
        Ok(())
    }

    /// After a reap or submit: a failed journal `fdatasync` in the ring (its writes failed
    /// unsubmitted) makes the map refuse later appends; logs it once.
    pub fn report_sync_error(&mut self) {
        let Some(errno) = self.ring.as_mut().and_then(Ring::take_sync_error) else {
            return;
        };
        // dgen_map_durability=power (the only mode with a journal sync in the ring) is refused
        // with several files, so this is the job's one map.
        if let Some(shared) = self.maps.iter().flatten().next() {
            let mut map = shared_map::lock(shared);
            map.sync_failed(errno);
            log::error(&format!(
                "dgen: job {}: dgen_map={}: cannot make the write intents durable (fdatasync of \
                 the journal: {}), failing the writes that depend on them",
                self.name,
                map.path().display(),
                io::Error::from_raw_os_error(errno)
            ));
        }
    }

    /// A write of io_u `key` finished (`ok`: every byte written).
    pub fn write_done(&mut self, key: u64, fileno: usize, ok: bool) {
        if let Some(m) = self.map(fileno) {
            shared_map::lock(m).done(key, ok);
        }
    }

    /// Ends the job: logs how much of each file its verified reads covered, checkpoints each
    /// writable map and logs one line about each.
    pub fn finish(&mut self) {
        let name = self.name.clone();
        for (file, c) in self.coverage.drain(..).flatten() {
            log::info(&format!("dgen: job {name}: {}", c.line(&file)));
        }
        for shared in std::mem::take(&mut self.maps).into_iter().flatten() {
            // Of the jobs sharing a map, the last one to end finishes it.
            let Some(shared) = shared_map::leave(shared) else {
                log::info(&format!(
                    "dgen: job {name}: done with dgen_map (the other jobs sharing it go on; the \
                     last one checkpoints it)"
                ));
                continue;
            };
            let mut m = shared_map::lock(&shared);
            match m.finish() {
                Ok(line) => log::info(&format!("dgen: job {name}: {line}")),
                Err(line) => log::error(&format!("dgen: job {name}: {line}")),
            }
        }
    }

    /// The generator of file `fileno` (named `file`).
    pub fn generator(&mut self, fileno: usize, file: &Path) -> dgen::Result<&Generator> {
        if self.generators.len() <= fileno {
            self.generators.resize(fileno + 1, None);
        }
        let slot = &mut self.generators[fileno];
        if slot.is_none() {
            *slot = Some(Generator::new(self.config.params_for(fileno, file))?);
        }
        Ok(slot.as_ref().expect("just set"))
    }

    /// Fills `buf` with the file's bytes at `offset`.
    pub fn fill(
        &mut self,
        fileno: usize,
        file: &Path,
        offset: u64,
        buf: &mut [u8],
    ) -> dgen::Result<()> {
        self.generator(fileno, file)?.fill(offset, buf);
        Ok(())
    }

    /// A read io_u `key` of `len` bytes at `offset` is about to be queued. In a map job (one
    /// file) that verifies, a read and a write of one block are never in flight together:
    /// `false` when a block of it has a write in flight (busy: reap, then try again).
    pub fn read_queued(&mut self, key: u64, fileno: usize, offset: u64, len: u64) -> bool {
        if !self.config.verify {
            return true;
        }
        let free = self
            .map(fileno)
            .is_none_or(|m| shared_map::lock(m).read_queued(key, offset, len));
        if !free {
            self.wait_for_other_jobs();
        }
        free
    }

    /// The read io_u `key` completed (after its verify): writes of its blocks may go.
    pub fn read_done(&mut self, key: u64, fileno: usize) {
        if let Some(m) = self.map(fileno) {
            shared_map::lock(m).read_done(key);
        }
    }

    /// Checks `data`, read at `offset`, against the file's content. On a mismatch, logs the
    /// file, the absolute offset and both byte values, and returns `Err(EILSEQ)`.
    pub fn verify(
        &mut self,
        fileno: usize,
        file: &Path,
        offset: u64,
        data: &[u8],
    ) -> Result<(), i32> {
        let result = self.check(fileno, file, offset, data);
        self.covered(fileno, file, offset, data.len() as u64, result.is_ok());
        result
    }

    /// Records a verified read for the job's last line (see [`Coverage`]).
    fn covered(&mut self, fileno: usize, file: &Path, offset: u64, len: u64, ok: bool) {
        if self.coverage.len() <= fileno {
            self.coverage.resize_with(fileno + 1, || None);
        }
        if self.coverage[fileno].is_none() {
            let map_size = self.map(fileno).map(|m| shared_map::lock(m).size());
            let size = map_size.or_else(|| dgen::pipeline::current_size(file).ok());
            self.coverage[fileno] = size
                .and_then(Coverage::new)
                .map(|c| (file.to_path_buf(), c));
        }
        if let Some((_, c)) = self.coverage[fileno].as_mut() {
            c.add(offset, len, ok);
        }
    }

    /// Checks `data` (see [`Job::verify`]).
    fn check(&mut self, fileno: usize, file: &Path, offset: u64, data: &[u8]) -> Result<(), i32> {
        let job = self.name.clone();
        if let Some(m) = self.map(fileno) {
            return shared_map::lock(m).verify(offset, data).map_err(|msg| {
                log::error(&format!("dgen: job {job}: {msg}"));
                libc::EILSEQ
            });
        }
        let gen = self.generator(fileno, file).map_err(|e| {
            log::error(&format!("dgen: job {job}: {e}"));
            libc::EINVAL
        })?;
        let Some(i) = gen.first_mismatch(offset, data) else {
            return Ok(());
        };
        let at = offset + i as u64;
        let mut expected = [0u8; 1];
        gen.fill(at, &mut expected);
        let p = gen.params();
        let finding = unit_finding(gen, file, offset, data, at);
        log::error(&format!(
            "dgen: job {job}: verify failed: file {} offset {at} (0x{at:x}): expected \
             0x{:02x}, read 0x{:02x} (io at offset {offset}, length {}, byte {i}; seed {} \
             stream {} dedupe {} compress {} unit {}){finding}",
            file.display(),
            expected[0],
            data[i],
            data.len(),
            p.seed,
            p.stream_id,
            p.dedup_ratio,
            p.compress_spec(),
            p.dedup_unit
        ));
        Err(libc::EILSEQ)
    }
}

/// What the 4 KiB unit holding the first wrong byte `at` holds (when the read covers it whole),
/// as `; the 4 KiB unit at N: ...`, with the stream id's origin when it is another stream's data
/// (a renamed or moved file, or a device written from another host).
fn unit_finding(gen: &Generator, file: &Path, offset: u64, data: &[u8], at: u64) -> String {
    use dgen::diagnose::{diagnose, Finding};
    const ATOM: u64 = 4096;
    let start = at / ATOM * ATOM;
    if start < offset || start + ATOM > offset + data.len() as u64 {
        return String::new();
    }
    let s = (start - offset) as usize;
    let unit = gen.params().dedup_unit;
    let block = start / unit;
    let f = diagnose(
        gen,
        block,
        gen.initial_content(block),
        (start % unit) / ATOM,
        &data[s..s + ATOM as usize],
    );
    let mut out = format!("; the 4 KiB unit at {start}: {f}");
    if f == Finding::OtherStream {
        out.push_str(&format!(
            "; this job's stream id {} comes from the path {} (and the host for devices) \
             unless dgen_stream sets it: give dgen_stream=<the id it was written with> \
             (`dgen stream-id OLD_PATH` prints it)",
            gen.params().stream_id,
            dgen::params::canonical_target_path(file).display()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::RawOptions;

    fn job(io: &str) -> Job {
        let raw = RawOptions {
            seed: Some("5"),
            compress_ratio: Some("2"),
            io: Some(io),
            ..Default::default()
        };
        Job::new("t", EngineConfig::parse(&raw).unwrap(), 8).unwrap()
    }

    #[test]
    fn fill_matches_core_generator_for_the_file_stream() {
        let mut j = job("psync");
        let mut buf = vec![0u8; 8192];
        j.fill(0, Path::new("dir/f.0.0"), 4096, &mut buf).unwrap();
        let gen = Generator::new(j.config.params_for(0, Path::new("dir/f.0.0"))).unwrap();
        let mut want = vec![0u8; 8192];
        gen.fill(4096, &mut want);
        assert_eq!(buf, want);
        assert!(j.ring.is_none());
        assert!(job("uring").ring.is_some());
    }

    #[test]
    fn io_inside_the_registered_buffer_uses_it() {
        let mut j = job("uring");
        let mut area = vec![0u8; 3 * 4096];
        let base = area.as_mut_ptr();
        assert!(!j.fixed_buffer_holds(base, 4096), "nothing registered yet");
        // SAFETY: `area` outlives the job's ring (`j` is dropped first, below).
        unsafe { j.register_buffer(base, area.len()).unwrap() };
        // SAFETY: offsets inside `area`.
        let (mid, end) = unsafe { (base.add(4096), base.add(3 * 4096)) };
        assert!(j.fixed_buffer_holds(base, 3 * 4096));
        assert!(j.fixed_buffer_holds(mid, 8192));
        assert!(!j.fixed_buffer_holds(mid, 8193), "runs past the end");
        assert!(!j.fixed_buffer_holds(end, 1));
        assert!(!j.fixed_buffer_holds(base.wrapping_sub(1), 2));
        drop(j);
        drop(area);
        // Without a ring (psync) there is nothing to register.
        let mut p = job("psync");
        // SAFETY: nothing is registered.
        assert!(unsafe { p.register_buffer(std::ptr::null_mut(), 4096) }.is_err());
    }

    #[test]
    fn verify_reports_the_first_flipped_byte() {
        let mut j = job("null");
        let mut buf = vec![0u8; 65536];
        j.fill(1, Path::new("x"), 1 << 20, &mut buf).unwrap();
        assert_eq!(j.verify(1, Path::new("x"), 1 << 20, &buf), Ok(()));
        buf[12345] ^= 0x40;
        assert_eq!(
            j.verify(1, Path::new("x"), 1 << 20, &buf),
            Err(libc::EILSEQ)
        );
        // another file (stream) does not match
        buf[12345] ^= 0x40;
        assert_eq!(
            j.verify(2, Path::new("y"), 1 << 20, &buf),
            Err(libc::EILSEQ)
        );
    }
}
