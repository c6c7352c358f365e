//! Generation maps shared by the jobs of one fio process: `numjobs` clones with `thread=1` (fio
//! runs them as threads of one process), or jobs of one run in threads that name the same
//! `dgen_map`. Each map path is opened once; the jobs that name it share one [`MapJob`] behind a
//! mutex, so every write of every job goes through one block map and one journal (the live
//! ratios hold over the whole target, and a verify checks what any job wrote).
//!
//! A block written by one job is busy for the others until its write completes (they retry, as
//! for their own writes). Jobs in separate processes (fio's default fork mode) cannot share a
//! map: the second one is refused by the map's lock ([`dgen::map::MapLock`]).

use crate::mapjob::MapJob;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// A map open in this process, shared by the jobs that use it.
pub type SharedMap = Arc<Mutex<MapJob>>;

/// The maps open in this process, by the path as the jobs give it.
static OPEN: Mutex<Vec<(PathBuf, Weak<Mutex<MapJob>>)>> = Mutex::new(Vec::new());

fn registry() -> MutexGuard<'static, Vec<(PathBuf, Weak<Mutex<MapJob>>)>> {
    OPEN.lock().unwrap_or_else(|e| e.into_inner())
}

/// Locks a shared map (a job that panicked while holding it leaves it usable: every engine
/// entry point catches panics, and the map's own state is updated before any I/O).
pub fn lock(map: &SharedMap) -> MutexGuard<'_, MapJob> {
    map.lock().unwrap_or_else(|e| e.into_inner())
}

/// The map at `path`: the one another job of this process has open (`joined` is true; `fits`
/// says whether it may be shared, with the reason when not), else the one `open` makes.
pub fn open_or_join(
    path: &Path,
    fits: impl FnOnce(&MapJob) -> Result<(), String>,
    open: impl FnOnce() -> Result<MapJob, String>,
) -> Result<(SharedMap, bool), String> {
    let mut open_maps = registry();
    open_maps.retain(|(_, w)| w.strong_count() > 0);
    if let Some(shared) = open_maps
        .iter()
        .find(|(p, _)| p == path)
        .and_then(|(_, w)| w.upgrade())
    {
        fits(&lock(&shared))?;
        return Ok((shared, true));
    }
    let shared = Arc::new(Mutex::new(open()?));
    open_maps.push((path.to_path_buf(), Arc::downgrade(&shared)));
    Ok((shared, false))
}

/// Ends one job's use of `map`: the map itself when that job was its last user (the caller then
/// finishes it: done watermark and checkpoint), else `None` (the others go on with it).
pub fn leave(map: SharedMap) -> Option<SharedMap> {
    let _open_maps = registry();
    // Checked and dropped under the registry's lock, so of two jobs leaving at once exactly one
    // sees itself last.
    if Arc::strong_count(&map) > 1 {
        drop(map);
        None
    } else {
        Some(map)
    }
}
