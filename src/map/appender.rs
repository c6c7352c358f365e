//! The journal file's bytes: pre-written zeros, appends through a shared memory mapping, and
//! `fdatasync`. No record format here (see `journal`), no recovery (see `file`).
//!
//! An append is a `memcpy` into the file's page cache: no system call, and the bytes survive the
//! process being killed (`kill -9`, an OOM kill, fio crashing) as soon as the copy is done. They
//! survive an OS crash or a power cut only once [`JournalAppender::sync`] (or an `fdatasync` of
//! [`JournalAppender::fd`] issued by someone else, such as an io_uring `FSYNC`) has returned.
//!
//! The file grows in chunks of written zeros (64 KiB, doubling up to [`JOURNAL_CHUNK`]), each made
//! durable at once: appends inside them change neither the file's size nor its allocation, so a
//! later `fdatasync` commits data only and a page fault on the mapping never allocates.

use memmap2::{MmapMut, MmapOptions};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::os::unix::io::{AsRawFd, RawFd};

/// The most the journal grows by at a time.
pub(crate) const JOURNAL_CHUNK: u64 = 4 << 20;

/// An open journal file, appended to through a shared mapping of its written zeros.
#[derive(Debug)]
pub(crate) struct JournalAppender {
    file: File,
    /// Maps `[0, allocated)` of the file (none while `allocated` is 0).
    mapping: Option<MmapMut>,
    /// Where the next append goes.
    len: u64,
    /// Bytes of the file written (zeros past `len`).
    allocated: u64,
    /// Bytes known durable (an `fdatasync` returned after they were appended).
    synced: u64,
    /// Append through the mapping (no system call); otherwise with `pwrite`, whose `fdatasync`
    /// is several times faster (measured 130 us against 620 us on ext4: a page dirtied through
    /// a mapping costs a write-protect fault and more writeback work at each sync).
    pub(crate) mapped: bool,
}

impl JournalAppender {
    /// Takes over `file`, whose first `len` bytes (the header and any records) are written and
    /// durable, and whose size is `len`.
    pub(crate) fn new(file: File, len: u64) -> JournalAppender {
        JournalAppender {
            file,
            mapping: None,
            len,
            allocated: len,
            synced: len,
            mapped: true,
        }
    }

    /// Where the next append goes (the journal's length in use).
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Whether everything appended is known durable.
    pub(crate) fn is_synced(&self) -> bool {
        self.synced >= self.len
    }

    /// The file descriptor, for an `fdatasync` issued elsewhere.
    pub(crate) fn fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    /// Copies `bytes` to the journal's end. Fails only when the file cannot grow (`ENOSPC`,
    /// `EIO`): nothing is appended then.
    pub(crate) fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        let end = self.len + bytes.len() as u64;
        self.grow(end)?;
        if !self.mapped {
            self.file.write_all_at(bytes, self.len)?;
            self.len = end;
            return Ok(());
        }
        let mapping = self
            .mapping
            .as_mut()
            .expect("grow maps the file's written part");
        mapping[self.len as usize..end as usize].copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    /// `fdatasync`: everything appended so far becomes durable.
    pub(crate) fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()?;
        self.synced = self.len;
        Ok(())
    }

    /// Makes sure written zeros (mapped) reach at least `end`. The file grows by as much again as
    /// it holds, from 64 KiB up to [`JOURNAL_CHUNK`] at a time; where that much does not fit (a
    /// nearly full file system), by just the pages `end` needs.
    fn grow(&mut self, end: u64) -> io::Result<()> {
        if end <= self.allocated && (self.mapping.is_some() || !self.mapped) {
            return Ok(());
        }
        if end > self.allocated {
            let step = self.allocated.clamp(64 << 10, JOURNAL_CHUNK);
            let generous = end.max(self.allocated + step).div_ceil(4096) * 4096;
            let tight = end.div_ceil(4096) * 4096;
            let mut last = None;
            for target in [generous, tight] {
                let zeros = vec![0u8; (target - self.allocated) as usize];
                match self.file.write_all_at(&zeros, self.allocated) {
                    Ok(()) => {
                        // The new size and allocation are made durable now, so that appends'
                        // later `fdatasync`s commit data only.
                        self.file.sync_data()?;
                        self.allocated = target;
                        last = None;
                        break;
                    }
                    Err(e) => {
                        // Back to what is known to be zeros (ENOSPC may have written part).
                        let _ = self.file.set_len(self.allocated);
                        last = Some(e);
                    }
                }
            }
            if let Some(e) = last {
                return Err(e);
            }
        }
        self.mapping = None;
        if !self.mapped {
            return Ok(());
        }
        // SAFETY: the mapping covers bytes of a file this process created and alone writes (one
        // writer per map, documented); the file is never truncated below `allocated` while
        // mapped (set_len above only runs on bytes past the mapping, before it is remade), so
        // every access stays inside the file and cannot raise SIGBUS.
        let mapping = unsafe {
            MmapOptions::new()
                .len(self.allocated as usize)
                .map_mut(&self.file)?
        };
        self.mapping = Some(mapping);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::OpenOptions;

    #[test]
    fn appends_land_in_the_file_and_grow_it_in_zeroed_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        f.write_all_at(b"HEAD", 0).unwrap();
        let mut j = JournalAppender::new(f, 4);
        let record = [7u8; 48];
        for _ in 0..3000 {
            j.append(&record).unwrap();
        }
        assert_eq!(j.len(), 4 + 3000 * 48);
        assert!(!j.is_synced());
        // Seen by another reader of the file before any sync (a process that died now).
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..4], b"HEAD");
        assert!(bytes[4..4 + 3000 * 48].iter().all(|&b| b == 7));
        assert!(bytes[4 + 3000 * 48..].iter().all(|&b| b == 0));
        assert_eq!(bytes.len() % 4096, 0, "grown in whole pages");
        j.sync().unwrap();
        assert!(j.is_synced());
    }

    #[test]
    fn a_journal_that_cannot_grow_fails_the_append_and_appends_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        std::fs::write(&path, b"HEAD").unwrap();
        // A read-only handle stands in for ENOSPC/EIO on growth.
        let mut j = JournalAppender::new(File::open(&path).unwrap(), 4);
        let err = j.append(&[1u8; 48]).unwrap_err();
        assert!(err.raw_os_error().is_some(), "{err}");
        assert_eq!(j.len(), 4);
        assert_eq!(std::fs::read(&path).unwrap(), b"HEAD");
    }
}
