//! Synchronous I/O: the `psync` mode's pread/pwrite, and writing generated content over a
//! freshly laid-out file (prepopulate).

use std::io;

use dgen::Generator;

/// One `pread`/`pwrite` of `buf` at `offset`; returns the bytes transferred.
pub fn pio(fd: i32, is_write: bool, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let off =
        libc::off_t::try_from(offset).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    loop {
        let r = if is_write {
            // SAFETY: `buf` is a valid, initialised slice for its whole length during the call.
            unsafe { libc::pwrite(fd, buf.as_ptr().cast(), buf.len(), off) }
        } else {
            // SAFETY: `buf` is valid for writes of its whole length during the call.
            unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), off) }
        };
        if r >= 0 {
            return Ok(r as usize);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

/// Writes `gen`'s bytes over `[0, len)` of the open file `fd`, `chunk` bytes at a time.
pub fn prepopulate(gen: &Generator, fd: i32, len: u64, chunk: usize) -> io::Result<()> {
    let chunk = chunk.clamp(4096, 64 << 20);
    let mut buf = vec![0u8; chunk.min(usize::try_from(len).unwrap_or(usize::MAX)).max(1)];
    let mut off = 0u64;
    while off < len {
        let n = buf
            .len()
            .min(usize::try_from(len - off).unwrap_or(usize::MAX));
        let part = &mut buf[..n];
        gen.fill(off, part);
        let mut done = 0;
        while done < n {
            let w = pio(fd, true, &mut part[done..], off + done as u64)?;
            if w == 0 {
                return Err(io::Error::from_raw_os_error(libc::EIO));
            }
            done += w;
        }
        off += n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dgen::GenParams;
    use std::os::fd::AsRawFd;

    #[test]
    fn prepopulate_writes_the_stream() {
        let f = tempfile::tempfile().unwrap();
        let gen = Generator::new(GenParams::new(3)).unwrap();
        let len = 3 * 4096 + 100;
        prepopulate(&gen, f.as_raw_fd(), len, 4096).unwrap();
        let mut got = vec![0u8; len as usize];
        assert_eq!(
            pio(f.as_raw_fd(), false, &mut got, 0).unwrap(),
            len as usize
        );
        let mut want = vec![0u8; len as usize];
        gen.fill(0, &mut want);
        assert_eq!(got, want);
        assert_eq!(pio(f.as_raw_fd(), false, &mut got, len).unwrap(), 0);
    }
}
