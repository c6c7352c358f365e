//! A job's generation map (`dgen_map=PATH`, see `dgen::map`): every write gives the dedup blocks
//! it covers their next content (so an overwrite writes new bytes while the live dedup ratio stays
//! exact), and every read is checked against what the map says each block holds.
//!
//! Protocol (as `dgen::map::MapFile` documents it): a write io_u's blocks are advanced with
//! [`BlockMap::write`] and their intents logged and appended to the journal
//! ([`MapJob::append`]) when fio queues it, before it can be submitted. With
//! `dgen_map_durability=power` they are also made durable before it is submitted: `psync` syncs
//! before each `pwrite`, and the ring holds map writes back until an `fdatasync` of the journal,
//! started after their intents were appended, completes (group commit through the ring). A
//! completed write marks its intents done. Two writes of
//! one block are never in flight together (the second waits: fio's "busy"), so the order in which
//! they land cannot differ from the map's.

// The per-write maps are keyed by block numbers and io_u keys: FxHash is several times cheaper
// than the default SipHash there (6 lookups per write at 100k IOPS), and keys are not chosen by
// an adversary.
use rustc_hash::FxHashMap as HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dgen::diagnose::diagnose;
use dgen::gen::{mix_choice, BlockContent, ATOM};
use dgen::map::session::MapView;
use dgen::map::{BlockMap, Content, MapExpect, MapFile, MapLock, Recovery, TrimCheck};
use dgen::{GenParams, Generator};

/// Checkpoint when the journal grows past this (bounds its size and the replay at the next open).
const CHECKPOINT_JOURNAL_BYTES: u64 = 64 << 20;

/// A write or trim in flight.
#[derive(Clone, Copy, Debug)]
struct InFlight {
    /// Sequence number of its first intent.
    first_seq: u64,
    /// Intents it logged (consecutive from `first_seq`; a trim of blocks trimmed already logs
    /// fewer than its blocks).
    logged: u64,
    /// Its first block.
    first: u64,
    /// Its blocks.
    blocks: u64,
}

/// What a map write (or trim) of one io_u did.
#[derive(Debug, PartialEq, Eq)]
pub enum MapWrite {
    /// The buffer holds the blocks' new contents; their intents are logged.
    Filled,
    /// A block of the io_u has a write in flight: try again after reaping.
    Busy,
}

fn content(c: Content) -> BlockContent {
    BlockContent {
        slot: c.slot,
        generation: c.generation,
    }
}

/// The errno of a core error (EIO when it carries none).
pub fn errno_of(e: &dgen::Error) -> i32 {
    match e {
        dgen::Error::Io { source, .. } => source.raw_os_error().unwrap_or(libc::EIO),
        dgen::Error::InvalidArgument { .. } => libc::EINVAL,
        dgen::Error::Interrupted => libc::EINTR,
    }
}

/// The map of one job's file.
pub struct MapJob {
    path: PathBuf,
    /// The file the map tracks.
    target: PathBuf,
    /// `None`: opened read-only (a verify-only job never writes the map).
    file: Option<MapFile>,
    /// A read-only job's shared lock (a writer holds its lock in `file`): no job writes the map
    /// while this one verifies against it.
    _read_lock: Option<MapLock>,
    map: BlockMap,
    /// Uncertain blocks found at open: the content each may hold instead.
    alternatives: HashMap<u64, Content>,
    gen: Generator,
    params: GenParams,
    unit: u64,
    size: u64,
    run_id: u64,
    epoch: u64,
    /// Write io_us so far (mixed into each write's slot choice).
    counter: u64,
    /// Block writes journaled by this job.
    pub journaled: u64,
    /// Blocks uncertain when the map was opened (a crash during an earlier run).
    pub uncertain_at_open: u64,
    /// This job created the map.
    pub created: bool,
    /// One bit per block: a write of it is in flight.
    busy: Vec<u64>,
    /// In-flight writes and trims by key (fio's io_u).
    inflight: HashMap<u64, InFlight>,
    /// What a verify expects of a trimmed block (`dgen_map_trimmed`).
    trim_check: TrimCheck,
    /// Blocks trimmed by this job.
    pub trimmed: u64,
    /// The content each block with a write in flight held before it (a read meanwhile may see
    /// either).
    before: HashMap<u64, Content>,
    /// The blocks of each read in flight (by io_u key), first and last.
    reads: HashMap<u64, (u64, u64)>,
    /// Reads in flight per block: a write of the block waits for them (and a read waits for a
    /// write in flight), so a read never sees a 4 KiB unit torn between two contents.
    reading: HashMap<u64, u32>,
}

impl MapJob {
    /// Opens (or, for a writing job that `creates`, creates when missing: a fresh run, every
    /// block at generation 0 of its slot) the map at `path` for `target`, `size` bytes written with `params`. A read-only open changes no file. Errors are one line
    /// naming the reason.
    pub fn open(
        path: &Path,
        params: GenParams,
        target: &Path,
        size: u64,
        writes: bool,
        creates: bool,
    ) -> Result<Self, String> {
        let unit = params.dedup_unit;
        let blocks = size.div_ceil(unit);
        let expect = MapExpect {
            params: params.clone(),
            size,
            run_id: None,
        };
        let plain = Generator::new(params.clone()).map_err(|e| e.to_string())?;
        let mut read_lock = None;
        let (file, map, recovery, created) = if !writes {
            if !path.exists() {
                return Err(format!(
                    "{} does not exist (a job that only reads needs the map a writing job made; \
                     it never creates one)",
                    path.display()
                ));
            }
            read_lock = Some(MapLock::shared(path).map_err(|e| e.to_string())?);
            let (map, recovery) = MapFile::read(path, &expect).map_err(|e| e.to_string())?;
            (None, map, recovery, false)
        } else if !creates && !path.exists() {
            return Err(format!(
                "{} does not exist (a job that trims and never writes needs the map a writing \
                 job made; it never creates one)",
                path.display()
            ));
        } else if path.exists() {
            let (file, map, recovery) = MapFile::open(path, &expect).map_err(|e| e.to_string())?;
            (Some(file), map, recovery, false)
        } else {
            let (file, map) =
                dgen::map::session::create_map(path, &params, size).map_err(|e| e.to_string())?;
            (Some(file), map, Recovery::default(), true)
        };
        let alternatives = recovery.alternatives(&map);
        let run_id = map.identity().run_id;
        let epoch = file.as_ref().map_or(0, MapFile::epoch);
        Ok(MapJob {
            path: path.to_path_buf(),
            target: target.to_path_buf(),
            file,
            _read_lock: read_lock,
            uncertain_at_open: alternatives.len() as u64,
            alternatives: alternatives.into_iter().collect(),
            gen: plain.with_run_id(run_id),
            params,
            unit,
            size,
            run_id,
            epoch,
            counter: 0,
            journaled: 0,
            created,
            busy: vec![0; blocks.div_ceil(64) as usize],
            inflight: HashMap::default(),
            trim_check: TrimCheck::Zeros,
            trimmed: 0,
            before: HashMap::default(),
            reads: HashMap::default(),
            reading: HashMap::default(),
            map,
        })
    }

    /// The map's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether a job of this process may share this map: the same target, size and stream
    /// parameters, and a writable map for a job that writes. `Err` says why not.
    pub fn fits(
        &self,
        target: &Path,
        size: u64,
        params: &GenParams,
        writes: bool,
    ) -> Result<(), String> {
        let why = if target != self.target {
            format!(
                "it tracks {}, not {}",
                self.target.display(),
                target.display()
            )
        } else if size != self.size {
            format!("it tracks {} bytes, this job {size}", self.size)
        } else if *params != self.params {
            "it was opened with other data parameters (seed, ratios, unit, stream)".to_string()
        } else if writes && self.file.is_none() {
            "a job that only reads has it open read-only".to_string()
        } else {
            return Ok(());
        };
        Err(format!(
            "another job of this fio process has it open, and {why}: jobs share a map only for \
             one target with the same parameters"
        ))
    }

    /// A generator of what the map says the file holds (reads the map's state as of now).
    pub fn generator(&self) -> Result<Generator, String> {
        let view =
            MapView::new(self.map.clone(), &Recovery::default()).with_trim_check(self.trim_check);
        Ok(Generator::new(self.params.clone())
            .map_err(|e| e.to_string())?
            .with_run_id(self.run_id)
            .with_contents(Arc::new(view)))
    }

    /// Bytes of the file the map tracks (the job's range, from offset 0).
    pub fn size(&self) -> u64 {
        self.map.identity().size
    }

    /// Whether the map was opened for writing.
    pub fn writable(&self) -> bool {
        self.file.is_some()
    }

    fn is_busy(&self, b: u64) -> bool {
        self.busy[(b / 64) as usize] & (1 << (b % 64)) != 0
    }

    fn set_busy(&mut self, b: u64, on: bool) {
        let w = &mut self.busy[(b / 64) as usize];
        if on {
            *w |= 1 << (b % 64);
        } else {
            *w &= !(1 << (b % 64));
        }
    }

    /// The blocks `[offset, offset + len)` covers, checked to be whole blocks (or ending at the
    /// map's end).
    fn blocks_of(&self, offset: u64, len: u64) -> Result<(u64, u64), String> {
        let end = offset + len;
        if !offset.is_multiple_of(self.unit)
            || (!len.is_multiple_of(self.unit) && end < self.size)
            || end > self.size
        {
            return Err(format!(
                "write at offset {offset}, length {len} is not whole dedup blocks of {} bytes \
                 inside the map's {} bytes (the map tracks whole dedup blocks)",
                self.unit, self.size
            ));
        }
        Ok((offset / self.unit, len.div_ceil(self.unit)))
    }

    /// Advances the blocks of the write io_u `key` at `offset` and fills `buf` with their new
    /// contents; logs their intents (into the journal with the next [`MapJob::append`]).
    pub fn write(&mut self, key: u64, offset: u64, buf: &mut [u8]) -> Result<MapWrite, String> {
        if self.file.is_none() {
            return Err("the map was opened read-only (a job that only reads)".into());
        }
        let (first, n) = self.blocks_of(offset, buf.len() as u64)?;
        if self.any_busy(first, n) {
            return Ok(MapWrite::Busy);
        }
        self.counter += 1;
        let mix = self.epoch ^ (self.counter << 20);
        let file = self.file.as_mut().expect("checked above");
        let mut first_seq = 0;
        for (i, chunk) in buf.chunks_mut(self.unit as usize).enumerate() {
            let b = first + i as u64;
            let t = self
                .map
                .write(b, mix_choice(self.run_id, mix, b))
                .map_err(|e| e.to_string())?;
            let seq = file.log(&t);
            if i == 0 {
                first_seq = seq;
            }
            // what a read may still see until the write completes (an alternative from recovery
            // stays accepted until then too)
            self.before.insert(b, t.old);
            self.gen.fill_content(content(t.new), 0, chunk);
        }
        self.start(
            key,
            InFlight {
                first_seq,
                logged: n,
                first,
                blocks: n,
            },
        );
        Ok(MapWrite::Filled)
    }

    /// Whether a block of `first..first + n` has a write or a read in flight.
    fn any_busy(&self, first: u64, n: u64) -> bool {
        (first..first + n).any(|b| self.is_busy(b) || self.reading.contains_key(&b))
    }

    /// Records a write or trim as in flight (its blocks busy until [`MapJob::done`]).
    fn start(&mut self, key: u64, w: InFlight) {
        for b in w.first..w.first + w.blocks {
            self.set_busy(b, true);
        }
        self.journaled += w.logged;
        self.inflight.insert(key, w);
    }

    /// Marks the blocks of the trim io_u `key` (`len` bytes at `offset`) trimmed and logs their
    /// intents (blocks trimmed already log nothing); [`MapJob::done`] ends it like a write.
    pub fn trim(&mut self, key: u64, offset: u64, len: u64) -> Result<MapWrite, String> {
        if self.file.is_none() {
            return Err("the map was opened read-only (a job that only reads)".into());
        }
        let (first, n) = self.blocks_of(offset, len)?;
        if self.any_busy(first, n) {
            return Ok(MapWrite::Busy);
        }
        let file = self.file.as_mut().expect("checked above");
        let (mut first_seq, mut logged) = (0, 0);
        for b in first..first + n {
            let Some(t) = self.map.trim(b).map_err(|e| e.to_string())? else {
                continue;
            };
            let seq = file.log(&t);
            if logged == 0 {
                first_seq = seq;
            }
            logged += 1;
            self.before.insert(b, t.old);
        }
        self.start(
            key,
            InFlight {
                first_seq,
                logged,
                first,
                blocks: n,
            },
        );
        self.trimmed += logged;
        Ok(MapWrite::Filled)
    }

    /// What a verify expects of trimmed blocks from now on.
    pub fn set_trim_check(&mut self, check: TrimCheck) {
        self.trim_check = check;
    }

    /// Appends the logged intents to the journal (from then on they survive the process being
    /// killed). Call before the data writes can be submitted.
    pub fn append(&mut self) -> Result<(), dgen::Error> {
        self.file.as_mut().map_or(Ok(()), MapFile::append)
    }

    /// How the job makes intents durable (appends take the cheaper path for it).
    pub fn set_durability(&mut self, durability: dgen::map::Durability) {
        if let Some(file) = self.file.as_mut() {
            file.set_durability(durability);
        }
    }

    /// Makes the appended intents durable (one `fdatasync` of the journal).
    pub fn sync(&mut self) -> Result<(), dgen::Error> {
        self.file.as_mut().map_or(Ok(()), MapFile::sync)
    }

    /// The journal's file descriptor (a writable map), for an `fdatasync` through the ring. It
    /// changes at each checkpoint.
    pub fn journal_fd(&self) -> Option<std::os::unix::io::RawFd> {
        self.file.as_ref().map(MapFile::journal_fd)
    }

    /// An `fdatasync` of the journal through the ring failed with `errno`: later appends are
    /// refused until a checkpoint.
    pub fn sync_failed(&mut self, errno: i32) {
        if let Some(file) = self.file.as_mut() {
            file.sync_failed(errno);
        }
    }

    /// Checkpoints when the journal has grown past the map's own size, and at least
    /// [`CHECKPOINT_JOURNAL_BYTES`] (so a checkpoint costs at most as much as the journal it
    /// clears). Every intent appended is durable afterwards (in the checkpoint, as uncertain when
    /// its write has not completed). Returns whether it checkpointed.
    pub fn checkpoint_if_due(&mut self) -> Result<bool, dgen::Error> {
        let Some(file) = self.file.as_mut() else {
            return Ok(false);
        };
        if file.journal_bytes() <= CHECKPOINT_JOURNAL_BYTES.max(file.checkpoint_bytes()) {
            return Ok(false);
        }
        file.checkpoint(&self.map)?;
        Ok(true)
    }

    /// The write io_u `key` finished: `ok` when all its bytes were written (its intents are then
    /// done; otherwise its blocks stay uncertain).
    pub fn done(&mut self, key: u64, ok: bool) {
        let Some(InFlight {
            first_seq: seq,
            logged,
            first,
            blocks: n,
        }) = self.inflight.remove(&key)
        else {
            return;
        };
        for b in first..first + n {
            self.set_busy(b, false);
            let old = self.before.remove(&b);
            if ok {
                self.alternatives.remove(&b);
            } else if let Some(old) = old {
                // the block holds the old or the new content (or a mix of 4 KiB units)
                self.alternatives.insert(b, old);
            }
        }
        if ok {
            if let Some(file) = self.file.as_mut() {
                for s in seq..seq + logged {
                    file.completed(s);
                }
            }
        }
    }

    /// Writes logged whose data write has not finished.
    pub fn in_flight(&self) -> usize {
        self.inflight.len()
    }

    /// A read (io_u `key`) of `len` bytes at `offset` is about to be queued. `false`: a block
    /// of it has a write in flight (busy: reap, then try again). Otherwise writes of its blocks
    /// wait until [`MapJob::read_done`], so the read sees one content per block, the one the map
    /// expects when it is verified (the kernel does not order overlapping O_DIRECT reads and
    /// writes: a read beside a write can return a 4 KiB unit torn between the two).
    pub fn read_queued(&mut self, key: u64, offset: u64, len: u64) -> bool {
        self.read_done(key);
        let blocks = self.size.div_ceil(self.unit);
        if len == 0 || offset / self.unit >= blocks {
            return true;
        }
        let (first, last) = (
            offset / self.unit,
            ((offset + len - 1) / self.unit).min(blocks - 1),
        );
        if (first..=last).any(|b| self.is_busy(b)) {
            return false;
        }
        for b in first..=last {
            *self.reading.entry(b).or_insert(0) += 1;
        }
        self.reads.insert(key, (first, last));
        true
    }

    /// The read io_u `key` completed (verified or not): writes of its blocks may go.
    pub fn read_done(&mut self, key: u64) {
        let Some((first, last)) = self.reads.remove(&key) else {
            return;
        };
        for b in first..=last {
            if let Some(n) = self.reading.get_mut(&b) {
                *n -= 1;
                if *n == 0 {
                    self.reading.remove(&b);
                }
            }
        }
    }

    /// Checks `data`, read at `offset`, against the map. On a mismatch returns a one-line
    /// description: offset, both bytes, the block's content and what the 4 KiB unit holds.
    pub fn verify(&self, offset: u64, data: &[u8]) -> Result<(), String> {
        let atom = ATOM as u64;
        let mut pos = 0usize;
        while pos < data.len() {
            let at = offset + pos as u64;
            let next = ((at / atom) + 1) * atom;
            let len = ((next - at) as usize).min(data.len() - pos);
            let piece = &data[pos..pos + len];
            let block = at / self.unit;
            let in_block = at % self.unit;
            let exp = content(self.map.expected(block));
            let skipped = exp == BlockContent::TRIMMED && self.trim_check == TrimCheck::Skip;
            if skipped {
                pos += len;
                continue;
            }
            if let Some(i) = self.gen.first_mismatch_content(exp, in_block, piece) {
                let alt_ok = [self.alternatives.get(&block), self.before.get(&block)]
                    .into_iter()
                    .flatten()
                    .any(|&alt| {
                        self.gen
                            .first_mismatch_content(content(alt), in_block, piece)
                            .is_none()
                    });
                if !alt_ok {
                    return Err(self.describe(offset, data, pos + i, block, exp));
                }
            }
            pos += len;
        }
        Ok(())
    }

    fn describe(
        &self,
        offset: u64,
        data: &[u8],
        i: usize,
        block: u64,
        exp: BlockContent,
    ) -> String {
        let at = offset + i as u64;
        let mut expected = [0u8; 1];
        self.gen.fill_content(exp, at % self.unit, &mut expected);
        let alt = self
            .alternatives
            .get(&block)
            .map(|a| {
                format!(
                    " or slot {} generation {} (uncertain since a crash)",
                    a.slot, a.generation
                )
            })
            .unwrap_or_default();
        // What the whole 4 KiB unit holds, when the read covers it.
        let atom = ATOM as u64;
        let unit_start = at / atom * atom;
        let finding = if unit_start >= offset && unit_start + atom <= offset + data.len() as u64 {
            let s = (unit_start - offset) as usize;
            let view = MapView::new(self.map.clone(), &Recovery::default());
            match Generator::new(self.params.clone()) {
                Ok(g) => {
                    let g = g.with_run_id(self.run_id).with_contents(Arc::new(view));
                    let atom_in_block = (unit_start % self.unit) / atom;
                    format!(
                        "; the 4 KiB unit at {unit_start}: {}",
                        diagnose(&g, block, exp, atom_in_block, &data[s..s + ATOM])
                    )
                }
                Err(_) => String::new(),
            }
        } else {
            String::new()
        };
        let holds = if exp == BlockContent::TRIMMED {
            "trimmed (expected to read as zeros: dgen_map_trimmed=zeros)".to_string()
        } else {
            format!("slot {} generation {}", exp.slot, exp.generation)
        };
        format!(
            "verify failed: file {} offset {at} (0x{at:x}): expected 0x{:02x}, read 0x{:02x} \
             (io at offset {offset}, length {}, byte {i}; dgen_map={} block {block}: \
             {holds}{alt}){finding}",
            self.target.display(),
            expected[0],
            data[i],
            data.len(),
            self.path.display(),
        )
    }

    /// Ends the job: a writable map gets its done watermark and a checkpoint (so the journal is
    /// bounded). Returns the line to log.
    pub fn finish(&mut self) -> Result<String, String> {
        let uncertain = if self.uncertain_at_open > 0 {
            format!(
                ", {} blocks uncertain at open (a crash during an earlier run; either content \
                 accepted)",
                self.uncertain_at_open
            )
        } else {
            String::new()
        };
        let trimmed = match self.map.trimmed_blocks() {
            0 => String::new(),
            n => format!(
                ", {n} blocks trimmed ({} by this job; {})",
                self.trimmed,
                match self.trim_check {
                    TrimCheck::Zeros => "reads of them must return zeros",
                    TrimCheck::Skip => "reads of them are not verified: dgen_map_trimmed=skip",
                }
            ),
        };
        let uncertain = format!("{uncertain}{trimmed}");
        let Some(file) = self.file.as_mut() else {
            return Ok(format!(
                "dgen_map={}: read only{uncertain}",
                self.path.display()
            ));
        };
        let result = file.commit().and_then(|()| file.checkpoint(&self.map));
        let left = file.in_flight();
        let created = if self.created { " (created)" } else { "" };
        let left = if left > 0 {
            format!(", {left} writes not completed (uncertain)")
        } else {
            String::new()
        };
        let trims = if self.trimmed > 0 {
            format!(" and {} block trims", self.trimmed)
        } else {
            String::new()
        };
        match result {
            Ok(()) => Ok(format!(
                "dgen_map={}{created}: {} block writes{trims} journaled{uncertain}{left}, \
                 checkpointed",
                self.path.display(),
                self.journaled - self.trimmed
            )),
            Err(e) => Err(format!(
                "dgen_map={}: checkpoint failed: {e} (the journal still holds every committed \
                 write)",
                self.path.display()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> GenParams {
        let mut p = GenParams::new(9);
        p.dedup_ratio = 2.0;
        p.compress_ratio = 2.0;
        p.dedup_unit = 16 << 10;
        p.stream_id = 3;
        p
    }

    #[test]
    fn writes_change_content_and_verify_follows_the_map() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("m.map");
        let size = 16u64 << 20;
        let unit = 16 << 10;
        let mut m = MapJob::open(&path, params(), Path::new("f"), size, true, true).unwrap();
        assert!(m.created);
        let mut before = vec![0u8; 2 * unit];
        // a fresh map: generation 0 of the run
        let g = Generator::new(params()).unwrap().with_run_id(m.run_id);
        g.fill(unit as u64 * 4, &mut before);
        assert_eq!(m.verify(unit as u64 * 4, &before), Ok(()));
        let mut buf = vec![0u8; 2 * unit];
        assert_eq!(m.write(7, unit as u64 * 4, &mut buf), Ok(MapWrite::Filled));
        assert_ne!(buf, before);
        // the same block again while in flight: busy
        let mut other = vec![0u8; unit];
        assert_eq!(m.write(8, unit as u64 * 5, &mut other), Ok(MapWrite::Busy));
        m.append().unwrap();
        m.sync().unwrap();
        // while it is in flight a read may see either content
        assert_eq!(m.verify(unit as u64 * 4, &before), Ok(()));
        assert_eq!(m.verify(unit as u64 * 4, &buf), Ok(()));
        m.done(7, true);
        assert_eq!(m.verify(unit as u64 * 4, &buf), Ok(()));
        let e = m.verify(unit as u64 * 4, &before).unwrap_err();
        assert!(e.contains(&format!("offset {}", unit * 4)), "{e}");
        assert!(e.contains("4 KiB unit"), "{e}");
        // a read and a write of one block are never in flight together
        let mut fresh = vec![0u8; unit];
        g.fill(unit as u64 * 10, &mut fresh);
        assert!(m.read_queued(21, unit as u64 * 10, unit as u64));
        assert_eq!(
            m.write(22, unit as u64 * 10, &mut other),
            Ok(MapWrite::Busy)
        );
        assert_eq!(m.verify(unit as u64 * 10, &fresh), Ok(()));
        m.read_done(21);
        assert_eq!(
            m.write(22, unit as u64 * 10, &mut other),
            Ok(MapWrite::Filled)
        );
        assert!(
            !m.read_queued(23, unit as u64 * 10, unit as u64),
            "a write is in flight"
        );
        m.done(22, true);
        assert!(m.read_queued(23, unit as u64 * 10, unit as u64));
        m.read_done(23);
        // misaligned writes are refused
        assert!(m.write(9, 4096, &mut other).is_err());
        assert!(m.finish().unwrap().contains("3 block writes journaled"));
        drop(m);
        // reopened read-only: the same expectation, nothing written
        let r = MapJob::open(&path, params(), Path::new("f"), size, false, false).unwrap();
        assert!(!r.writable());
        assert_eq!(r.verify(unit as u64 * 4, &buf), Ok(()));
        // another seed is refused
        let mut p = params();
        p.seed = 10;
        let e = MapJob::open(&path, p, Path::new("f"), size, false, false)
            .err()
            .unwrap();
        assert!(e.contains("seed"), "{e}");
    }
}
