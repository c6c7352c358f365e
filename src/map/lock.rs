//! [`MapLock`]: one writer per map, no reader beside a writer.
//!
//! The lock is an `flock` on `PATH.lock`, a small file beside the map that stays in place
//! (removing a lock file races with the next taker; the map and journal themselves are replaced
//! by rename at each checkpoint, so a lock on them would not last). A writer (`dgen write --map`,
//! a writing fio job, `write_file(map=)`) holds it exclusively from open to close; a verify that
//! keeps the map open (a fio job that only reads) holds it shared. `flock` locks belong to an
//! open file description, so two jobs of one fio process (threads) exclude each other as two
//! processes do, and the kernel drops the lock when its holder dies (`kill -9` leaves no stale
//! lock).

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// A held lock on a map; released when dropped.
#[derive(Debug)]
pub struct MapLock {
    _file: Option<File>,
}

/// `PATH.lock`.
fn lock_path(map: &Path) -> PathBuf {
    let mut s = map.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

impl MapLock {
    /// Takes the map's lock for writing, or fails at once (never waits) with a one-line error
    /// saying that another writer or reader has it.
    pub fn exclusive(map: &Path) -> Result<MapLock> {
        let path = lock_path(map);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("create", &path, None, e))?;
        take(&file, libc::LOCK_EX, map, &path)?;
        Ok(MapLock { _file: Some(file) })
    }

    /// Takes the map's lock for reading, or fails at once while a writer has it. Where the lock
    /// file cannot be created (a read-only file system, a directory the reader may not write),
    /// no writer can have taken it there either: no lock is needed, and none is held.
    pub fn shared(map: &Path) -> Result<MapLock> {
        let path = lock_path(map);
        let file = match OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .or_else(|_| File::open(&path))
        {
            Ok(f) => f,
            Err(_) => return Ok(MapLock { _file: None }),
        };
        take(&file, libc::LOCK_SH, map, &path)?;
        Ok(MapLock { _file: Some(file) })
    }
}

fn take(file: &File, how: libc::c_int, map: &Path, path: &Path) -> Result<()> {
    loop {
        // SAFETY: flock on a descriptor `file` owns; no memory is passed.
        if unsafe { libc::flock(file.as_raw_fd(), how | libc::LOCK_NB) } == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) => {
                return Err(Error::invalid(
                    "map",
                    format!(
                        "{} is in use: {} (one writer at a time, and no verify beside a writer: \
                         run the jobs one after the other, e.g. with fio's stonewall, or give \
                         each its own map)",
                        map.display(),
                        if how == libc::LOCK_EX {
                            "another job or process has it open (writing or verifying)"
                        } else {
                            "another job or process is writing it"
                        }
                    ),
                ))
            }
            _ => return Err(Error::io("lock", path, None, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_writer_and_no_reader_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let map = dir.path().join("m.map");
        let w = MapLock::exclusive(&map).unwrap();
        let e = MapLock::exclusive(&map).unwrap_err().to_string();
        assert!(
            e.contains("is in use: another job or process has it open"),
            "{e}"
        );
        let e = MapLock::shared(&map).unwrap_err().to_string();
        assert!(
            e.contains("is in use: another job or process is writing it"),
            "{e}"
        );
        drop(w);
        let r1 = MapLock::shared(&map).unwrap();
        let _r2 = MapLock::shared(&map).unwrap();
        assert!(
            MapLock::exclusive(&map).is_err(),
            "a writer waits for readers"
        );
        drop((r1, _r2));
        MapLock::exclusive(&map).unwrap();
        assert!(dir.path().join("m.map.lock").exists());
    }
}
