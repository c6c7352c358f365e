//! The files and block devices a run reads or writes: what they are (looked at without changing
//! anything), opening them (O_DIRECT with a buffered fallback), the unaligned tail of a direct
//! write, and fsync.

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Smallest alignment used for O_DIRECT buffers, offsets and lengths.
pub(crate) const MIN_ALIGN: usize = 4096;

/// What a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A regular file, or a path that does not exist yet (created as one).
    Regular,
    /// A block device: never truncated, never written past its end.
    Block,
    /// `/dev/null`, the only other target accepted (FIFOs, sockets and other character devices
    /// are refused by [`probe`]).
    Other,
}

/// A path as found before the run, with nothing changed.
#[derive(Debug)]
pub(crate) struct Probe {
    pub(crate) path: PathBuf,
    pub(crate) kind: Kind,
    /// Current size: file length, device size, 0 for others or missing files.
    pub(crate) size: u64,
    /// O_DIRECT alignment: the logical block size, at least 4096.
    pub(crate) align: usize,
    /// Whether the path existed (a missing one is created, and removed again if the run fails
    /// before its first write).
    pub(crate) exists: bool,
}

/// Looks at `path` without changing anything (`stat`, never `open`, so a FIFO cannot block it).
/// A missing file is fine when its directory exists (`for_write`); a directory is an error, and
/// so are FIFOs, sockets and character devices other than `/dev/null` (bad input).
pub(crate) fn probe(path: &Path, for_write: bool) -> Result<Probe> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound && for_write => {
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            if !parent.is_dir() {
                return Err(Error::io(
                    "create",
                    path,
                    None,
                    io::Error::from_raw_os_error(libc::ENOENT),
                ));
            }
            return Ok(Probe {
                path: path.to_path_buf(),
                kind: Kind::Regular,
                size: 0,
                align: MIN_ALIGN,
                exists: false,
            });
        }
        Err(e) => return Err(Error::io("open", path, None, e)),
    };
    let ft = meta.file_type();
    if ft.is_dir() {
        return Err(Error::io(
            "open",
            path,
            None,
            io::Error::from_raw_os_error(libc::EISDIR),
        ));
    }
    if ft.is_block_device() {
        let (size, logical) = block_geometry(path)?;
        return Ok(Probe {
            path: path.to_path_buf(),
            kind: Kind::Block,
            size,
            align: logical.max(MIN_ALIGN),
            exists: true,
        });
    }
    if !ft.is_file() && !is_dev_null(&meta) {
        return Err(Error::invalid(
            "path",
            format!(
                "{} is {}: dgen writes and verifies regular files, block devices and /dev/null only",
                path.display(),
                describe_type(ft)
            ),
        ));
    }
    Ok(Probe {
        path: path.to_path_buf(),
        kind: if ft.is_file() {
            Kind::Regular
        } else {
            Kind::Other
        },
        size: if ft.is_file() { meta.len() } else { 0 },
        align: MIN_ALIGN,
        exists: true,
    })
}

/// `/dev/null` (character device 1:3), whatever the path it is reached by.
fn is_dev_null(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    let rdev = meta.rdev();
    meta.file_type().is_char_device() && libc::major(rdev) == 1 && libc::minor(rdev) == 3
}

/// `a FIFO (named pipe)`, `a socket`, ... for errors.
fn describe_type(ft: std::fs::FileType) -> &'static str {
    if ft.is_fifo() {
        "a FIFO (named pipe)"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_char_device() {
        "a character device other than /dev/null"
    } else if ft.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Refuses a size that a regular file at `probe` cannot have, before anything is touched: above
/// this process's file size limit (`RLIMIT_FSIZE`, which would end the run with SIGXFSZ), or
/// above the file system's largest file (EFBIG, tried on a sparse scratch file created and
/// removed in the same directory; the target itself is not opened).
pub(crate) fn check_file_size(probe: &Probe, size: u64) -> Result<()> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit struct into a live local.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut lim) };
    if rc == 0 && lim.rlim_cur != libc::RLIM_INFINITY && size > lim.rlim_cur {
        return Err(Error::invalid(
            "size",
            format!(
                "{} ({size} bytes) for {} is above this process's file size limit \
                 (RLIMIT_FSIZE, `ulimit -f`) of {} bytes",
                crate::size::format_size(size),
                probe.path.display(),
                lim.rlim_cur
            ),
        ));
    }
    if size > i64::MAX as u64 {
        return Err(Error::invalid(
            "size",
            format!(
                "{} ({size} bytes) for {} is above the largest size a file can have \
                 (2^63 - 1 bytes)",
                crate::size::format_size(size),
                probe.path.display()
            ),
        ));
    }
    if size <= probe.size {
        return Ok(());
    }
    let dir = match probe.path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let scratch = dir.join(format!(".dgen-size-check.{}.{nanos}", std::process::id()));
    let Ok(file) = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&scratch)
    else {
        // No scratch file (read-only directory, full file system...): the open of the target
        // reports what is wrong, if anything.
        return Ok(());
    };
    let result = file.set_len(size);
    drop(file);
    let _ = std::fs::remove_file(&scratch);
    match result {
        Err(e) if matches!(e.raw_os_error(), Some(libc::EFBIG | libc::EINVAL)) => {
            Err(Error::invalid(
                "size",
                format!(
                    "{} ({size} bytes) is larger than the file system holding {} allows for one \
                     file (EFBIG)",
                    crate::size::format_size(size),
                    probe.path.display()
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// Size in bytes and logical block size of a block device (opened read-only, then closed).
fn block_geometry(path: &Path) -> Result<(u64, usize)> {
    let file = File::open(path).map_err(|e| Error::io("open", path, None, e))?;
    let fd = file.as_raw_fd();
    let mut size: u64 = 0;
    // SAFETY: BLKGETSIZE64 writes one u64 into `size`, a live local.
    if unsafe { libc::ioctl(fd, BLKGETSIZE64, &mut size as *mut u64) } < 0 {
        return Err(Error::io(
            "get the size of",
            path,
            None,
            io::Error::last_os_error(),
        ));
    }
    let mut logical: libc::c_int = 0;
    // SAFETY: BLKSSZGET writes one int into `logical`, a live local.
    if unsafe { libc::ioctl(fd, BLKSSZGET, &mut logical as *mut libc::c_int) } < 0 {
        return Err(Error::io(
            "get the block size of",
            path,
            None,
            io::Error::last_os_error(),
        ));
    }
    let logical = usize::try_from(logical).unwrap_or(0);
    Ok((
        size,
        if logical.is_power_of_two() {
            logical
        } else {
            MIN_ALIGN
        },
    ))
}

/// `_IOR(0x12, 114, size_t)`: block device size in bytes.
const BLKGETSIZE64: libc::c_ulong = 0x8008_1272;
/// `_IO(0x12, 104)`: logical block size.
const BLKSSZGET: libc::c_ulong = 0x1268;

/// An open target, with the I/O mode it really got.
pub(crate) struct Opened {
    pub(crate) file: File,
    pub(crate) direct: bool,
}

/// Opens a target for writing without changing it: a missing regular file is created (exclusively:
/// it is ours to remove if the run fails before writing), an existing one is **not** truncated
/// (its length is set by [`set_length`] just before the first write); block devices are opened
/// exclusively (fails with EBUSY when mounted or in use) and never truncated. With `direct`, a
/// file system that refuses O_DIRECT (EINVAL) gets buffered I/O and a warning.
pub(crate) fn open_for_write(
    probe: &Probe,
    direct: bool,
    warnings: &mut Vec<String>,
) -> Result<Opened> {
    let mut flags = 0;
    let mut opts = OpenOptions::new();
    opts.write(true);
    match probe.kind {
        Kind::Regular if !probe.exists => {
            opts.create_new(true).mode(0o644);
        }
        Kind::Regular => {}
        Kind::Block => flags |= libc::O_EXCL,
        Kind::Other => {}
    }
    open_with_fallback(probe, opts, flags, direct, warnings)
}

/// Opens a target for reading (O_DIRECT with the same fallback as writes).
pub(crate) fn open_for_read(
    probe: &Probe,
    direct: bool,
    warnings: &mut Vec<String>,
) -> Result<Opened> {
    let mut opts = OpenOptions::new();
    opts.read(true);
    open_with_fallback(probe, opts, 0, direct, warnings)
}

fn open_with_fallback(
    probe: &Probe,
    opts: OpenOptions,
    flags: libc::c_int,
    direct: bool,
    warnings: &mut Vec<String>,
) -> Result<Opened> {
    // O_NONBLOCK: a path swapped for a FIFO since the probe cannot block the open; the type is
    // checked again on the descriptor, then the flag is cleared.
    let open = |direct: bool| {
        let mut o = opts.clone();
        o.custom_flags(flags | libc::O_NONBLOCK | if direct { libc::O_DIRECT } else { 0 });
        let file = o.open(&probe.path)?;
        let ft = file.metadata()?.file_type();
        let same = match probe.kind {
            Kind::Regular => ft.is_file(),
            Kind::Block => ft.is_block_device(),
            Kind::Other => ft.is_char_device(),
        };
        if !same {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "the path changed type since it was checked (now {})",
                    describe_type(ft)
                ),
            ));
        }
        let fd = file.as_raw_fd();
        // SAFETY: F_GETFL/F_SETFL on a descriptor we own change only its status flags.
        unsafe {
            let fl = libc::fcntl(fd, libc::F_GETFL);
            if fl >= 0 {
                libc::fcntl(fd, libc::F_SETFL, fl & !libc::O_NONBLOCK);
            }
        }
        Ok(file)
    };
    match open(direct) {
        Ok(file) => Ok(Opened { file, direct }),
        Err(e) if direct && e.raw_os_error() == Some(libc::EINVAL) => {
            warnings.push(format!(
                "{}: the file system refuses O_DIRECT (EINVAL): using buffered I/O",
                probe.path.display()
            ));
            let file = open(false).map_err(|e| Error::io("open", &probe.path, None, e))?;
            Ok(Opened {
                file,
                direct: false,
            })
        }
        Err(e) => Err(Error::io("open", &probe.path, None, e)),
    }
}

/// Gives a regular file its final length just before the first write (extending it sparsely, or
/// cutting an existing longer file), so that no write extends it: ext4 and others run extending
/// O_DIRECT writes synchronously (one at a time, whatever the queue depth), and writes inside the
/// file's length asynchronously. After a failed or cancelled run the file is cut back to its
/// longest fully written prefix.
pub(crate) fn set_length(file: &File, path: &Path, size: u64) -> Result<()> {
    file.set_len(size)
        .map_err(|e| Error::io("set the length of", path, None, e))
}

/// Writes `data` at `offset` with buffered I/O (clearing O_DIRECT on the descriptor first):
/// the part of a direct write that is not a whole block. Completes short writes, retries EINTR.
pub(crate) fn write_tail(file: &File, path: &Path, offset: u64, data: &[u8]) -> Result<u64> {
    let fd = file.as_raw_fd();
    // SAFETY: F_GETFL/F_SETFL on a descriptor we own change only its status flags.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl >= 0 && fl & libc::O_DIRECT != 0 {
            libc::fcntl(fd, libc::F_SETFL, fl & !libc::O_DIRECT);
        }
    }
    let mut done = 0usize;
    let mut ops = 0u64;
    while done < data.len() {
        let rest = &data[done..];
        // SAFETY: writes from a live slice of `rest.len()` bytes.
        let n = unsafe {
            libc::pwrite(
                fd,
                rest.as_ptr().cast(),
                rest.len(),
                (offset + done as u64) as libc::off_t,
            )
        };
        ops += 1;
        if n < 0 {
            let e = io::Error::last_os_error();
            if matches!(e.raw_os_error(), Some(libc::EINTR | libc::EAGAIN)) {
                continue;
            }
            return Err(Error::io("write", path, Some(offset + done as u64), e));
        }
        if n == 0 {
            let e = io::Error::new(io::ErrorKind::WriteZero, "the write wrote nothing");
            return Err(Error::io("write", path, Some(offset + done as u64), e));
        }
        done += n as usize;
    }
    Ok(ops)
}

/// Flushes a written target to stable storage (character devices and FIFOs are skipped).
pub(crate) fn sync(file: &File, probe: &Probe) -> Result<()> {
    if probe.kind == Kind::Other {
        return Ok(());
    }
    file.sync_all()
        .map_err(|e| Error::io("fsync", &probe.path, None, e))
}
