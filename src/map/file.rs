//! The map on disk: checkpoints, the intent journal with group commit, and crash recovery.

use super::appender::JournalAppender;
use super::format::{self, Pending, SEQ_RECOVERED};
use super::journal::{self, Record, JOURNAL_HEADER, RECORD};
use super::lock::MapLock;
use super::state::{BlockMap, Content, MapIdentity, Transition};
use crate::error::{Error, Result};
use crate::params::GenParams;
use std::collections::{HashSet, VecDeque};
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// When a write's intent must be durable, relative to its data write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// The intent is appended to the journal (a copy into the page cache) before the data write
    /// is submitted, and synced at checkpoints and at the end: the map survives the writer being
    /// killed (`kill -9`, an OOM kill, fio crashing), at no cost to the I/O. After a power cut
    /// or an OS crash the map may miss the last writes, and a verify fails on them (it says the
    /// block is ahead of the map). The default.
    #[default]
    Process,
    /// The intent is synced (`fdatasync` of the journal) before the data write is submitted:
    /// the map survives a power cut or an OS crash too. Costs a device flush per group commit.
    Power,
}

impl std::str::FromStr for Durability {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "process" => Ok(Durability::Process),
            "power" => Ok(Durability::Power),
            _ => Err(
                "expected process (survives the writer being killed) or power (survives a \
                      power cut; a device flush per group commit)"
                    .into(),
            ),
        }
    }
}

impl std::fmt::Display for Durability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Durability::Process => "process",
            Durability::Power => "power",
        })
    }
}

/// What an opened map must belong to.
#[derive(Clone, Debug, PartialEq)]
pub struct MapExpect {
    /// The generator parameters of this run (seed, stream id, ratios, dedup unit, codec).
    pub params: GenParams,
    /// Size of the target in bytes.
    pub size: u64,
    /// The run the map must come from; `None` accepts the run recorded in the map (a verify that
    /// learns the run id from the map).
    pub run_id: Option<u64>,
}

impl From<&MapIdentity> for MapExpect {
    fn from(id: &MapIdentity) -> Self {
        MapExpect {
            params: id.params.clone(),
            size: id.size,
            run_id: Some(id.run_id),
        }
    }
}

/// What recovery found when a map was opened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Journal intents replayed on top of the checkpoint.
    pub replayed: u64,
    /// Writes whose data may or may not have reached the target: the block holds `old` or `new`
    /// (for a block listed several times, any state of its chain, in order). At most the queue
    /// depth plus one commit batch per crash. Everything else is certain.
    pub uncertain: Vec<Transition>,
    /// Bytes of a partial record at the journal's end (a write torn by the crash), ignored.
    pub torn_tail_bytes: u64,
    /// Whole journal records from the first one that failed its checksum, epoch, sequence or
    /// transition check to the end: none of them was replayed. Not 0 means damage, not a crash.
    pub corrupt_records: u64,
    /// The journal predates the checkpoint (a crash between the checkpoint's rename and the
    /// journal's reset): its records are all in the checkpoint and were ignored.
    pub stale_journal: bool,
    /// A leftover `PATH.tmp` (a checkpoint interrupted before its rename) was found; it is ignored
    /// (and removed by [`MapFile::open`]).
    pub leftover_tmp: bool,
}

impl Recovery {
    /// For each uncertain block, the first state of its chain other than what `map` expects
    /// now (a block rewritten once holds its old or its new content).
    pub fn alternatives(&self, map: &BlockMap) -> std::collections::HashMap<u64, Content> {
        let mut alternatives = std::collections::HashMap::new();
        for t in &self.uncertain {
            let current = map.expected(t.block);
            if let Some(&other) = self
                .accepted(t.block, current)
                .iter()
                .find(|&&c| c != current)
            {
                alternatives.entry(t.block).or_insert(other);
            }
        }
        alternatives
    }

    /// Contents block `block` may hold: its expected content `current` when the block is certain,
    /// else every state of its chain of uncertain writes (the first one's `old`, then each `new`).
    pub fn accepted(&self, block: u64, current: Content) -> Vec<Content> {
        let mut states = Vec::new();
        for t in self.uncertain.iter().filter(|t| t.block == block) {
            if states.is_empty() {
                states.push(t.old);
            }
            if !states.contains(&t.new) {
                states.push(t.new);
            }
        }
        if !states.contains(&current) {
            states.push(current);
        }
        states
    }
}

/// A write logged but not yet covered by the done watermark.
#[derive(Clone, Copy, Debug)]
struct Logged {
    seq: u64,
    transition: Transition,
    done: bool,
}

/// The on-disk map at `PATH` and its journal at `PATH.journal`.
///
/// Protocol for a writer: `t = map.write(..)`, `seq = file.log(&t)` for each write of a batch;
/// then, *before* submitting the batch's data writes, either [`commit`](MapFile::commit) (append
/// and `fdatasync`: the intents survive a power cut) or [`append`](MapFile::append) alone (a copy
/// into the journal's page cache: they survive the process being killed, and become durable with
/// the next [`sync`](MapFile::sync), an `fdatasync` of [`journal_fd`](MapFile::journal_fd), or a
/// checkpoint);
/// [`completed(seq)`](MapFile::completed) as each data write finishes (its watermark goes out with
/// the next append); [`checkpoint`](MapFile::checkpoint) now and then to bound the journal. One
/// process writes a map at a time.
#[derive(Debug)]
pub struct MapFile {
    path: PathBuf,
    journal_path: PathBuf,
    journal: JournalAppender,
    /// Bytes of the last checkpoint written (the map file's size).
    checkpoint_bytes: u64,
    /// How appends reach the journal (see [`MapFile::set_durability`]).
    durability: Durability,
    run_id: u64,
    epoch: u64,
    next_seq: u64,
    /// Encoded intents not yet committed.
    buf: Vec<u8>,
    /// Logged writes with sequence numbers `done_through + 1 ..`, in order.
    logged: VecDeque<Logged>,
    /// Every write with a sequence number up to this one has completed.
    done_through: u64,
    /// The watermark last committed to the journal.
    done_written: u64,
    /// Uncertain writes inherited from a recovery, carried into every checkpoint until the block
    /// is rewritten (and that write completes) or [`MapFile::settle_recovered`] is called.
    recovered: Vec<Transition>,
    /// Why commits are refused (a failed `fdatasync`, a failed journal reset); cleared by a
    /// successful checkpoint, which rewrites both files.
    broken: Option<String>,
    /// The map's writer lock, held while this is open.
    _lock: MapLock,
}

/// `PATH` + `suffix`.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s: OsString = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The directory holding `path`, for fsyncing a rename.
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn sync_dir(path: &Path) -> Result<()> {
    let dir = parent_dir(path);
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("fsync directory", dir, None, e))
}

/// Writes `write` into `PATH.tmp`, fsyncs it and renames it over `path`, then fsyncs the
/// directory. On failure before the rename, the temporary file is removed and `path` is as it was.
fn replace_atomically(path: &Path, write: impl FnOnce(&File) -> io::Result<()>) -> Result<()> {
    let tmp = with_suffix(path, ".tmp");
    let result = (|| {
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| Error::io("create", &tmp, None, e))?;
        write(&f).map_err(|e| Error::io("write", &tmp, None, e))?;
        f.sync_all()
            .map_err(|e| Error::io("fsync", &tmp, None, e))?;
        fs::rename(&tmp, path).map_err(|e| Error::io("rename", &tmp, None, e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_dir(path)
}

/// Where writing a checkpoint failed.
enum Stage {
    /// Before the map's rename: nothing changed.
    Map(Error),
    /// After it: the map is the new checkpoint, the journal the old one (stale, ignored on open).
    Journal(Error),
}

/// Writes the checkpoint of `map` at `path` (epoch `epoch`) and a fresh journal for it; returns
/// the journal, open for appending.
fn write_files(
    path: &Path,
    run_id: u64,
    map: &BlockMap,
    epoch: u64,
    next_seq: u64,
    pending: &[Pending],
) -> std::result::Result<JournalAppender, Stage> {
    replace_atomically(path, |f| {
        format::write_map(f, map, epoch, next_seq, pending)
    })
    .map_err(Stage::Map)?;
    let journal_path = with_suffix(path, ".journal");
    let header = journal::encode_header(run_id, epoch);
    replace_atomically(&journal_path, |f| f.write_all_at(&header, 0))
        .and_then(|()| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .open(&journal_path)
                .map_err(|e| Error::io("open", &journal_path, None, e))
        })
        .map(|f| JournalAppender::new(f, JOURNAL_HEADER as u64))
        .map_err(Stage::Journal)
}

/// The size of the file at `path` (0 when it cannot be read).
fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map_or(0, |m| m.len())
}

/// The state recovery leaves: the map, the report, and where sequence numbers stand.
struct Loaded {
    map: BlockMap,
    recovery: Recovery,
    epoch: u64,
    next_seq: u64,
}

/// Loads the checkpoint at `path`, checks its identity and replays its journal. Reads only.
fn load(path: &Path, expect: &MapExpect) -> Result<Loaded> {
    let leftover_tmp = with_suffix(path, ".tmp").exists();
    let file = File::open(path).map_err(|e| Error::io("open", path, None, e))?;
    let header = format::read_header(path, &file)?;
    format::check_identity(
        path,
        &header.identity,
        &expect.params,
        expect.size,
        expect.run_id,
    )?;
    let run_id = header.identity.run_id;
    let epoch = header.epoch;
    let mut next_seq = header.next_seq;
    let loaded = format::read_body(path, &file, header)?;
    let mut map = loaded.map;
    let mut recovery = Recovery {
        leftover_tmp,
        ..Recovery::default()
    };

    let journal_path = with_suffix(path, ".journal");
    let bytes = match File::open(&journal_path) {
        Ok(mut f) => {
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes)
                .map_err(|e| Error::io("read", &journal_path, None, e))?;
            Some(bytes)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("open", &journal_path, None, e)),
    };
    let bad_journal = |reason: String| {
        Error::invalid(
            "map journal",
            format!("{}: {reason}", journal_path.display()),
        )
    };
    let mut journal_intents: Vec<(u64, Transition)> = Vec::new();
    let mut watermark = 0u64;
    match bytes {
        None if next_seq == 1 && loaded.pending.is_empty() => {}
        None => {
            return Err(bad_journal(
                "missing, so the writes since the last checkpoint are unknown".into(),
            ))
        }
        Some(bytes) => {
            let (journal_run, journal_epoch) =
                journal::decode_header(&bytes).map_err(bad_journal)?;
            if journal_run != run_id {
                return Err(bad_journal(format!(
                    "belongs to run {journal_run:#018x}, the map to run {run_id:#018x}"
                )));
            }
            if journal_epoch > epoch {
                return Err(bad_journal(format!(
                    "epoch {journal_epoch} is newer than the map's {epoch}"
                )));
            }
            if journal_epoch < epoch {
                recovery.stale_journal = true;
            } else {
                let body = &bytes[JOURNAL_HEADER..];
                let whole = body.len() / RECORD;
                // A partial record at the very end (not the pre-written zeros) is a torn write.
                let tail = &body[whole * RECORD..];
                if tail.iter().any(|&b| b != 0) {
                    recovery.torn_tail_bytes = tail.len() as u64;
                }
                for i in 0..whole {
                    let raw: &[u8; RECORD] = body[i * RECORD..(i + 1) * RECORD].try_into().unwrap();
                    if raw.iter().all(|&b| b == 0) {
                        // The pre-written zeros past the last record: the journal's end.
                        break;
                    }
                    let ok = match journal::decode_record(raw, run_id, epoch) {
                        Some(Record::Intent { seq, block, new }) if seq == next_seq => {
                            match map.apply_checked(block, new) {
                                Ok(t) => {
                                    journal_intents.push((seq, t));
                                    next_seq += 1;
                                    recovery.replayed += 1;
                                    true
                                }
                                Err(_) => false,
                            }
                        }
                        Some(Record::Done { seq }) if seq >= watermark && seq < next_seq => {
                            watermark = seq;
                            true
                        }
                        _ => false,
                    };
                    if !ok {
                        let rest = &body[(i + 1) * RECORD..];
                        if rest.iter().all(|&b| b == 0) {
                            // The last record, cut by the crash before the zeros: a torn tail.
                            recovery.torn_tail_bytes = RECORD as u64;
                        } else {
                            // Whole records from this one on, up to the pre-written zeros.
                            recovery.corrupt_records = body[i * RECORD..whole * RECORD]
                                .chunks(RECORD)
                                .filter(|r| r.iter().any(|&b| b != 0))
                                .count()
                                as u64;
                        }
                        break;
                    }
                }
            }
        }
    }

    // Blocks whose later write is known complete: an inherited uncertainty about them is moot.
    let settled: HashSet<u64> = journal_intents
        .iter()
        .filter(|(seq, _)| *seq <= watermark)
        .map(|(_, t)| t.block)
        .collect();
    for p in &loaded.pending {
        let uncertain = if p.seq == SEQ_RECOVERED {
            !settled.contains(&p.transition.block)
        } else {
            p.seq > watermark
        };
        if uncertain {
            recovery.uncertain.push(p.transition);
        }
    }
    recovery.uncertain.extend(
        journal_intents
            .iter()
            .filter(|(seq, _)| *seq > watermark)
            .map(|(_, t)| *t),
    );
    Ok(Loaded {
        map,
        recovery,
        epoch,
        next_seq,
    })
}

impl MapFile {
    /// Creates the map at `path` (a checkpoint of `map`, epoch 0) and an empty journal at
    /// `PATH.journal`. Refuses to replace an existing map unless `replace` is true.
    pub fn create(path: &Path, map: &BlockMap, replace: bool) -> Result<MapFile> {
        format::check_mappable(&map.identity().params)?;
        if !replace && path.exists() {
            return Err(Error::invalid(
                "map",
                format!(
                    "{} already exists; remove it or ask for it to be replaced",
                    path.display()
                ),
            ));
        }
        let lock = MapLock::exclusive(path)?;
        let journal =
            write_files(path, map.identity().run_id, map, 0, 1, &[]).map_err(|e| match e {
                Stage::Map(e) | Stage::Journal(e) => e,
            })?;
        Ok(MapFile {
            path: path.to_path_buf(),
            journal,
            checkpoint_bytes: file_len(path),
            durability: Durability::Process,
            journal_path: with_suffix(path, ".journal"),
            run_id: map.identity().run_id,
            epoch: 0,
            next_seq: 1,
            buf: Vec::new(),
            logged: VecDeque::new(),
            done_through: 0,
            done_written: 0,
            recovered: Vec::new(),
            broken: None,
            _lock: lock,
        })
    }

    /// Opens the map at `path` to go on writing: checks that it belongs to `expect` (a mismatch
    /// is a one-line error naming the field and both values, and leaves the files untouched),
    /// replays the journal, removes a leftover `PATH.tmp`, and writes a fresh checkpoint that
    /// carries the recovered uncertain writes (so a later crash still knows them). Returns the
    /// file, the recovered map and what recovery found.
    pub fn open(path: &Path, expect: &MapExpect) -> Result<(MapFile, BlockMap, Recovery)> {
        format::check_mappable(&expect.params)?;
        let lock = MapLock::exclusive(path)?;
        let loaded = load(path, expect)?;
        if loaded.recovery.leftover_tmp {
            let tmp = with_suffix(path, ".tmp");
            fs::remove_file(&tmp).map_err(|e| Error::io("remove", tmp, None, e))?;
        }
        let recovered = loaded.recovery.uncertain.clone();
        let pending: Vec<Pending> = recovered
            .iter()
            .map(|t| Pending {
                seq: SEQ_RECOVERED,
                transition: *t,
            })
            .collect();
        let epoch = loaded.epoch + 1;
        let run_id = loaded.map.identity().run_id;
        let journal = write_files(path, run_id, &loaded.map, epoch, loaded.next_seq, &pending)
            .map_err(|e| match e {
                Stage::Map(e) | Stage::Journal(e) => e,
            })?;
        let file = MapFile {
            path: path.to_path_buf(),
            journal,
            checkpoint_bytes: file_len(path),
            durability: Durability::Process,
            journal_path: with_suffix(path, ".journal"),
            run_id,
            epoch,
            next_seq: loaded.next_seq,
            buf: Vec::new(),
            logged: VecDeque::new(),
            done_through: loaded.next_seq - 1,
            done_written: loaded.next_seq - 1,
            recovered,
            broken: None,
            _lock: lock,
        };
        Ok((file, loaded.map, loaded.recovery))
    }

    /// Reads the map at `path` and replays its journal without changing any file (for a verify):
    /// the map every committed write leads to, and what recovery found. Takes no lock: a verify
    /// that must not run beside a writer holds [`MapLock::shared`] itself (see
    /// [`super::session::open_for_verify`]).
    pub fn read(path: &Path, expect: &MapExpect) -> Result<(BlockMap, Recovery)> {
        let loaded = load(path, expect)?;
        Ok((loaded.map, loaded.recovery))
    }

    /// Buffers the intent of `t` (no system call) and returns its sequence number, to pass to
    /// [`MapFile::completed`] when its data write finishes.
    pub fn log(&mut self, t: &Transition) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        journal::encode_record(
            &Record::Intent {
                seq,
                block: t.block,
                new: t.new,
            },
            self.run_id,
            self.epoch,
            &mut self.buf,
        );
        self.logged.push_back(Logged {
            seq,
            transition: *t,
            done: false,
        });
        seq
    }

    /// How the writer will make intents durable, so appends take the cheaper path for it:
    /// [`Durability::Process`] copies into a shared mapping of the journal (no system call),
    /// [`Durability::Power`] uses `pwrite` (its `fdatasync` is several times faster). Either
    /// way the bytes are the same, and [`MapFile::commit`] syncs them.
    pub fn set_durability(&mut self, durability: Durability) {
        self.durability = durability;
        self.journal.mapped = durability == Durability::Process;
    }

    /// Why appends and commits are refused, as an error for `op`.
    fn refused(&self, op: &'static str) -> Option<Error> {
        self.broken.as_ref().map(|why| {
            Error::io(
                op,
                &self.journal_path,
                Some(self.journal.len()),
                io::Error::other(format!("journal unusable until a checkpoint: {why}")),
            )
        })
    }

    /// Appends the buffered intents (and the done watermark, when it moved) to the journal: a
    /// copy into its page cache, no system call except when the file grows. From then on they
    /// survive the process being killed; they survive a power cut once synced. Nothing buffered:
    /// nothing done. On failure (the journal cannot grow: `ENOSPC`, `EIO`) nothing is appended
    /// and the intents stay buffered for a retry.
    pub fn append(&mut self) -> Result<()> {
        if let Some(e) = self.refused("append") {
            return Err(e);
        }
        let intents = self.buf.len();
        if self.done_through > self.done_written {
            journal::encode_record(
                &Record::Done {
                    seq: self.done_through,
                },
                self.run_id,
                self.epoch,
                &mut self.buf,
            );
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.journal.append(&self.buf) {
            self.buf.truncate(intents);
            return Err(Error::io(
                "extend",
                &self.journal_path,
                Some(self.journal.len()),
                e,
            ));
        }
        self.buf.clear();
        self.done_written = self.done_through;
        Ok(())
    }

    /// `fdatasync` of the journal (when something appended is not yet durable): every appended
    /// intent survives a power cut from then on. A failure refuses every later append and commit
    /// until a checkpoint succeeds.
    pub fn sync(&mut self) -> Result<()> {
        if let Some(e) = self.refused("fdatasync") {
            return Err(e);
        }
        if self.journal.is_synced() {
            return Ok(());
        }
        self.journal.sync().map_err(|e| {
            self.broken = Some(format!("fdatasync failed: {e}"));
            Error::io("fdatasync", &self.journal_path, Some(self.journal.len()), e)
        })
    }

    /// Group commit: [`append`](MapFile::append) then [`sync`](MapFile::sync), one `fdatasync`
    /// for every intent buffered. Call it before submitting the data writes of those intents.
    /// Nothing to write: no system call. On failure the intents stay buffered (a failed append)
    /// or every later commit is refused until a checkpoint (a failed `fdatasync`).
    pub fn commit(&mut self) -> Result<()> {
        self.append()?;
        self.sync()
    }

    /// The journal's file descriptor, for an `fdatasync` issued elsewhere (an io_uring `FSYNC`
    /// with `DATASYNC`) after [`append`](MapFile::append); report a failure with
    /// [`sync_failed`](MapFile::sync_failed). It changes at each checkpoint.
    pub fn journal_fd(&self) -> std::os::unix::io::RawFd {
        self.journal.fd()
    }

    /// An `fdatasync` of [`journal_fd`](MapFile::journal_fd) issued elsewhere failed with
    /// `errno`: every later append and commit is refused until a checkpoint succeeds.
    pub fn sync_failed(&mut self, errno: i32) {
        let e = io::Error::from_raw_os_error(errno);
        self.broken = Some(format!("fdatasync failed: {e}"));
    }

    /// Marks the write with sequence number `seq` as completed (its data reached the target).
    /// The contiguous watermark ("every write up to N completed") goes out with the next commit.
    /// Unknown or already covered numbers are ignored.
    pub fn completed(&mut self, seq: u64) {
        let Some(front) = self.logged.front().map(|l| l.seq) else {
            return;
        };
        if seq < front {
            return;
        }
        if let Some(l) = self.logged.get_mut((seq - front) as usize) {
            l.done = true;
        }
        while let Some(l) = self.logged.front() {
            if !l.done {
                break;
            }
            self.done_through = l.seq;
            let block = l.transition.block;
            self.logged.pop_front();
            if !self.recovered.is_empty() {
                self.recovered.retain(|t| t.block != block);
            }
        }
    }

    /// Forgets the uncertain writes inherited from recovery (after a verify has settled them).
    pub fn settle_recovered(&mut self) {
        self.recovered.clear();
    }

    /// Writes a checkpoint of `map` atomically (`PATH.tmp`, fsync, rename, fsync of the
    /// directory), then resets the journal the same way under the next epoch (records carry the
    /// epoch, so an old journal's records are never replayed onto the new map). Writes not yet
    /// completed are carried in the checkpoint as uncertain. `map` must be the map every
    /// [`MapFile::log`]ged transition was applied to. On failure the last committed state stays
    /// readable.
    pub fn checkpoint(&mut self, map: &BlockMap) -> Result<()> {
        if map.identity().run_id != self.run_id {
            return Err(Error::invalid(
                "map",
                format!(
                    "checkpoint of run {:#018x} into the map of run {:#018x}",
                    map.identity().run_id,
                    self.run_id
                ),
            ));
        }
        self.write_checkpoint(map, self.epoch + 1)
    }

    fn write_checkpoint(&mut self, map: &BlockMap, epoch: u64) -> Result<()> {
        let pending: Vec<Pending> = self
            .recovered
            .iter()
            .map(|t| Pending {
                seq: SEQ_RECOVERED,
                transition: *t,
            })
            .chain(self.logged.iter().filter(|l| !l.done).map(|l| Pending {
                seq: l.seq,
                transition: l.transition,
            }))
            .collect();
        match write_files(&self.path, self.run_id, map, epoch, self.next_seq, &pending) {
            Ok(mut journal) => {
                self.checkpoint_bytes = file_len(&self.path);
                self.epoch = epoch;
                journal.mapped = self.durability == Durability::Process;
                self.buf.clear();
                self.done_written = self.done_through;
                self.journal = journal;
                self.broken = None;
                Ok(())
            }
            Err(Stage::Map(e)) => Err(e),
            Err(Stage::Journal(e)) => {
                // The map says `epoch`: the old journal is stale, appending to it would be lost.
                self.epoch = epoch;
                self.buf.clear();
                self.done_written = self.done_through;
                self.broken = Some(format!("journal reset failed: {e}"));
                Err(e)
            }
        }
    }

    /// The map's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The checkpoint epoch (0 at creation, +1 per checkpoint and per open).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Bytes of the last checkpoint (the map file's size).
    pub fn checkpoint_bytes(&self) -> u64 {
        self.checkpoint_bytes
    }

    /// Bytes appended to the journal: checkpoint when this grows too large.
    pub fn journal_bytes(&self) -> u64 {
        self.journal.len()
    }

    /// Writes logged and not yet known complete (the uncertain set if the process died now, less
    /// the inherited ones).
    pub fn in_flight(&self) -> usize {
        self.logged.iter().filter(|l| !l.done).count()
    }

    /// Every write with a sequence number up to this one has completed.
    pub fn done_through(&self) -> u64 {
        self.done_through
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 16 blocks of 64 KiB at d = 2, in the generator's layout (what a map file reloads).
    fn map() -> BlockMap {
        let params = GenParams {
            dedup_ratio: 2.0,
            dedup_unit: 64 << 10,
            ..GenParams::new(3)
        };
        let generator = crate::gen::Generator::new(params.clone()).unwrap();
        let identity = MapIdentity {
            params,
            size: 1 << 20,
            run_id: 11,
        };
        let slots = generator.slots_for(16);
        BlockMap::new(identity, 16, slots, move |b| {
            generator.initial_content(b).slot
        })
        .unwrap()
    }

    #[test]
    fn a_failed_append_keeps_the_committed_state_and_can_be_retried() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fail.map");
        let mut m = map();
        let mut file = MapFile::create(&path, &m, false).unwrap();
        let t1 = m.write(1, 5).unwrap();
        file.log(&t1);
        file.commit().unwrap();
        let committed = m.clone();
        let t2 = m.write(2, 6).unwrap();
        file.log(&t2);
        // A handle that cannot grow the file stands in for ENOSPC/EIO.
        let stuck = JournalAppender::new(
            File::open(&file.journal_path).unwrap(),
            file.journal_bytes(),
        );
        let good = std::mem::replace(&mut file.journal, stuck);
        let err = file.commit().unwrap_err();
        assert!(err.to_string().starts_with("extend "), "{err}");
        assert!(err.errno().is_some());
        assert_eq!(file.journal_bytes(), (JOURNAL_HEADER + RECORD) as u64);
        let expect = MapExpect::from(m.identity());
        let (read, rec) = MapFile::read(&path, &expect).unwrap();
        assert_eq!(read, committed, "the last committed state stays readable");
        assert_eq!(rec.replayed, 1);
        // While the fault lasts every retry fails the same way, and nothing is half committed.
        let err = file.commit().unwrap_err().to_string();
        assert!(err.starts_with("extend "), "{err}");
        assert_eq!(file.journal_bytes(), (JOURNAL_HEADER + RECORD) as u64);
        // Once the fault clears the retry commits the buffered intent (inside the pre-written
        // zeros: no need to cut anything back); a checkpoint then carries both as uncertain.
        file.journal = good;
        file.commit().unwrap();
        let (read, rec) = MapFile::read(&path, &expect).unwrap();
        assert_eq!((read, rec.replayed), (m.clone(), 2));
        file.checkpoint(&m).unwrap();
        let (read, rec) = MapFile::read(&path, &expect).unwrap();
        assert_eq!(read, m);
        assert_eq!(rec.uncertain, vec![t1, t2]);
        let t3 = m.write(3, 7).unwrap();
        let seq = file.log(&t3);
        assert_eq!(seq, 3);
        file.commit().unwrap();
        let (read, rec) = MapFile::read(&path, &expect).unwrap();
        assert_eq!(read, m);
        assert_eq!((rec.replayed, rec.corrupt_records), (1, 0));
    }

    #[test]
    fn trims_survive_the_journal_and_the_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trims.map");
        let mut m = map();
        let mut file = MapFile::create(&path, &m, false).unwrap();
        let expect = MapExpect::from(m.identity());
        // Two blocks that alone share a slot: trimming both orphans it; and a third block.
        let holders_of = |m: &BlockMap, s: u64| -> Vec<u64> {
            (0..m.blocks()).filter(|&b| m.slot_of(b) == s).collect()
        };
        let shared = (0..m.slots())
            .find(|&s| holders_of(&m, s).len() == 2)
            .unwrap();
        let pair = holders_of(&m, shared);
        let third = (0..m.blocks()).find(|&b| m.slot_of(b) != shared).unwrap();
        // A block whose slot has other holders (its write makes a duplicate, or takes the orphan).
        let writer = (0..m.blocks())
            .find(|&b| {
                b != third
                    && m.slot_of(b) != shared
                    && m.holders(m.slot_of(b)) > 1
                    && m.slot_of(b) != m.slot_of(third)
            })
            .unwrap();
        let ts: Vec<Transition> = [pair[0], pair[1], third]
            .iter()
            .filter_map(|&b| m.trim(b).unwrap())
            .collect();
        for t in &ts {
            let seq = file.log(t);
            file.completed(seq);
        }
        file.commit().unwrap();
        // Replayed from the journal.
        let (read, rec) = MapFile::read(&path, &expect).unwrap();
        assert_eq!((rec.replayed, rec.corrupt_records), (3, 0));
        assert_eq!(read, m);
        assert_eq!(read.trimmed_blocks(), 3);
        let history = |m: &BlockMap| -> Vec<Option<bool>> {
            (0..m.blocks())
                .flat_map(|b| (0..m.slots()).map(move |s| (b, s)))
                .map(|(b, s)| m.held_before(b, s))
                .collect()
        };
        assert_eq!(history(&read), history(&m), "the history is replayed too");
        assert_eq!(read.holders(shared), 0);
        // In the checkpoint (the trimmed bitset), and a rewrite takes the orphan back.
        file.checkpoint(&m).unwrap();
        let (mut read, _) = MapFile::read(&path, &expect).unwrap();
        assert_eq!(read, m);
        assert_eq!(history(&read), history(&m), "and checkpointed");
        let t = read.write(writer, 1).unwrap();
        assert_eq!(
            t.new,
            Content {
                slot: shared,
                generation: 1
            },
            "the orphaned slot, new content"
        );
        // A trim whose completion was not recorded is uncertain: old content or trimmed.
        let t = m.trim(writer).unwrap().unwrap();
        file.log(&t);
        file.commit().unwrap();
        let (_, rec) = MapFile::read(&path, &expect).unwrap();
        assert_eq!(rec.uncertain, vec![t]);
        assert_eq!(
            rec.accepted(writer, Content::TRIMMED),
            vec![t.old, Content::TRIMMED]
        );
    }

    #[test]
    fn a_broken_journal_refuses_commits_until_a_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.map");
        let mut m = map();
        let mut file = MapFile::create(&path, &m, false).unwrap();
        file.broken = Some("fdatasync failed: EIO".into());
        let t = m.write(3, 1).unwrap();
        file.log(&t);
        let err = file.commit().unwrap_err().to_string();
        assert!(err.contains("unusable until a checkpoint"), "{err}");
        file.checkpoint(&m).unwrap();
        let t = m.write(4, 1).unwrap();
        file.log(&t);
        file.commit().unwrap();
        let (read, rec) = MapFile::read(&path, &MapExpect::from(m.identity())).unwrap();
        assert_eq!(read, m);
        assert_eq!(rec.uncertain.len(), 2);
    }
}
