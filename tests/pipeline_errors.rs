//! Bad options touch nothing; I/O errors end the run with errno, path, offset and bytes done;
//! cancellation stops promptly; io_uring and O_DIRECT refusals fall back; block devices.

mod pipeline_common;

use dgen::pipeline::{verify_file, write_file, IoEngine, VerifyOptions, WriteOptions};
use dgen::Error;
use pipeline_common::*;
use std::time::{Duration, Instant};

fn is_invalid(e: &Error) -> bool {
    matches!(e, Error::InvalidArgument { .. })
}

#[test]
fn bad_options_are_rejected_before_the_file_is_touched() {
    let dir = disk_tempdir();
    let path = dir.path().join("keep.bin");
    std::fs::write(&path, b"keep me").unwrap();
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let good = write_opts(params(1, 0), 1 << 20);
    let mut bad: Vec<(&str, WriteOptions)> = Vec::new();
    let mut o = good.clone();
    o.buffer_size = 1000;
    bad.push(("buffer size", o));
    let mut o = good.clone();
    o.buffer_size = 0;
    bad.push(("buffer size", o));
    let mut o = good.clone();
    o.buffer_size = 2 << 30;
    bad.push(("buffer size", o));
    let mut o = good.clone();
    o.queue_depth = 0;
    bad.push(("queue depth", o));
    let mut o = good.clone();
    o.buffer_count = 1 << 20;
    bad.push(("buffer count", o));
    let mut o = good.clone();
    o.buffer_size = 1 << 30;
    o.buffer_count = 4096;
    bad.push(("buffer pool", o));
    let mut o = good.clone();
    o.params.dedup_ratio = 0.5;
    bad.push(("dedup ratio", o));
    let mut o = good.clone();
    o.params.compress_ratio = f64::NAN;
    bad.push(("compression ratio", o));
    let mut o = good.clone();
    o.params.dedup_unit = 3000;
    bad.push(("dedup unit", o));
    let mut o = good.clone();
    o.size = Some(0);
    bad.push(("size", o));
    let mut o = good.clone();
    o.size = None; // regular files need a size
    bad.push(("size", o));
    for (name, o) in bad {
        let e = write_file(&path, &o, &mut no_progress()).unwrap_err();
        assert!(is_invalid(&e.error), "{name}: {e}");
        assert!(e.error.to_string().contains(name), "{name}: {e}");
        assert_eq!(e.bytes_done, 0);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"keep me",
            "{name} touched the file"
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            mtime,
            "{name}"
        );
    }
    // Verify: size beyond the end of the file is missing data, an Io error at its end.
    let mut v = verify_opts(params(1, 0));
    v.size = Some(8);
    let e = verify_file(&path, &v, &mut no_progress()).unwrap_err();
    assert!(
        matches!(
            e.error,
            Error::Io {
                offset: Some(7),
                ..
            }
        ),
        "{e}"
    );
    v.size = None;
    v.queue_depth = 0;
    assert!(is_invalid(
        &verify_file(&path, &v, &mut no_progress())
            .unwrap_err()
            .error
    ));
}

#[test]
fn missing_directory_and_directories_are_io_errors_that_create_nothing() {
    let dir = disk_tempdir();
    let missing = dir.path().join("no/such/dir/f.bin");
    let e = write_file(
        &missing,
        &write_opts(params(1, 0), 4096),
        &mut no_progress(),
    )
    .unwrap_err();
    assert_eq!(e.error.errno(), Some(libc::ENOENT), "{e}");
    assert!(e.to_string().contains("no/such/dir/f.bin"), "{e}");
    assert!(!dir.path().join("no").exists());
    let e = write_file(
        dir.path(),
        &write_opts(params(1, 0), 4096),
        &mut no_progress(),
    )
    .unwrap_err();
    assert_eq!(e.error.errno(), Some(libc::EISDIR), "{e}");
    let e = verify_file(&missing, &verify_opts(params(1, 0)), &mut no_progress()).unwrap_err();
    assert_eq!(e.error.errno(), Some(libc::ENOENT), "{e}");
}

#[test]
fn enospc_ends_the_run_with_errno_offset_and_bytes_done() {
    let Some(fs) = SmallTmpfs::mount("8m") else {
        return;
    };
    for io_uring in [true, false] {
        let path = fs.dir.path().join(format!("full-{io_uring}.bin"));
        let mut o = write_opts(params(2, 0), 64 << 20);
        o.io_uring = io_uring;
        let start = Instant::now();
        let e = write_file(&path, &o, &mut no_progress()).unwrap_err();
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "took {:?}",
            start.elapsed()
        );
        assert_eq!(e.error.errno(), Some(libc::ENOSPC), "{e}");
        match &e.error {
            Error::Io {
                op,
                path: p,
                offset,
                ..
            } => {
                assert_eq!(*op, "write");
                assert_eq!(p, &path);
                assert!(offset.is_some());
            }
            other => panic!("not an Io error: {other}"),
        }
        // Some data went in before the file system filled up, and no more than it holds.
        assert!(
            e.bytes_done > 0 && e.bytes_done <= 8 << 20,
            "bytes_done {}",
            e.bytes_done
        );
        // The file is cut back to its longest fully written prefix (not left at 64 MiB with
        // holes), and that prefix holds exactly the generator's bytes.
        let len = std::fs::metadata(&path).unwrap().len();
        assert!(
            len <= e.bytes_done,
            "length {len} > bytes done {}",
            e.bytes_done
        );
        assert_eq!(len % o.buffer_size as u64, 0, "length {len}");
        let allocated =
            std::os::unix::fs::MetadataExt::blocks(&std::fs::metadata(&path).unwrap()) * 512;
        assert!(allocated <= 8 << 20, "allocated {allocated}");
        if len > 0 {
            let mut v = verify_opts(params(2, 0));
            v.size = Some(len);
            v.direct_io = false;
            assert!(verify_file(&path, &v, &mut no_progress())
                .unwrap()
                .is_clean());
        }
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn cancelling_through_the_progress_hook_stops_promptly() {
    let dir = disk_tempdir();
    for (io_uring, direct) in [(true, true), (false, true), (true, false)] {
        let path = dir.path().join(format!("cancel-{io_uring}-{direct}.bin"));
        let mut o = write_opts(params(3, 0), 64 << 30); // far more than the test will write
        o.io_uring = io_uring;
        o.direct_io = direct;
        o.fsync = false;
        let start = Instant::now();
        let mut calls = 0;
        let e = write_file(&path, &o, &mut |_, _| {
            calls += 1;
            calls < 3
        })
        .unwrap_err();
        let took = start.elapsed();
        assert!(matches!(e.error, Error::Interrupted), "{e}");
        assert!(took < Duration::from_secs(3), "took {took:?}");
        assert!(e.bytes_done < 64 << 30);
        // The file is cut back to what was written in full from the start, and holds the
        // generator's bytes there (the run was cut, not corrupted).
        let len = std::fs::metadata(&path).unwrap().len();
        assert!(
            len <= e.bytes_done,
            "length {len} > bytes done {}",
            e.bytes_done
        );
        if len > 0 {
            let mut v = verify_opts(params(3, 0));
            v.size = Some(len);
            assert!(verify_file(&path, &v, &mut no_progress())
                .unwrap()
                .is_clean());
        }
        std::fs::remove_file(&path).unwrap();
    }

    // Verify cancels the same way.
    let path = dir.path().join("v.bin");
    write_file(
        &path,
        &write_opts(params(4, 0), 32 << 20),
        &mut no_progress(),
    )
    .unwrap();
    let mut o = verify_opts(params(4, 0));
    o.buffer_size = 4096;
    o.buffer_count = 1;
    o.queue_depth = 1;
    let e = verify_file(&path, &o, &mut |_, _| false).unwrap_err();
    assert!(matches!(e.error, Error::Interrupted), "{e}");
}

#[cfg(target_arch = "x86_64")]
#[test]
fn io_uring_refused_falls_back_to_pwrite_with_a_warning() {
    let dir = disk_tempdir();
    let path = dir.path().join("nouring.bin");
    let p = params(5, 0);
    let size = (2 << 20) + 3;
    let Some((w, v)) = with_seccomp(true, false, || {
        let w = write_file(&path, &write_opts(p.clone(), size), &mut no_progress()).unwrap();
        let v = verify_file(&path, &verify_opts(p.clone()), &mut no_progress()).unwrap();
        (w, v)
    }) else {
        return;
    };
    assert_eq!(w.io_engine, IoEngine::Pwrite);
    assert!(
        w.warnings
            .iter()
            .any(|x| x.contains("io_uring unavailable") && x.contains("EPERM")),
        "{:?}",
        w.warnings
    );
    assert!(w.direct_io);
    assert_eq!(v.io_engine, IoEngine::Pwrite);
    assert!(v.is_clean());
    assert_file_is(&path, &expected(&p, size));
}

#[cfg(target_arch = "x86_64")]
#[test]
fn o_direct_refused_falls_back_to_buffered_with_a_warning() {
    let dir = disk_tempdir();
    let path = dir.path().join("nodirect.bin");
    let p = params(6, 0);
    let size = (2 << 20) + 5;
    let Some((w, v)) = with_seccomp(false, true, || {
        let w = write_file(&path, &write_opts(p.clone(), size), &mut no_progress()).unwrap();
        let v = verify_file(&path, &verify_opts(p.clone()), &mut no_progress()).unwrap();
        (w, v)
    }) else {
        return;
    };
    assert!(!w.direct_io);
    assert!(
        w.warnings.iter().any(|x| x.contains("O_DIRECT")),
        "{:?}",
        w.warnings
    );
    assert_eq!(w.io_engine, IoEngine::IoUring);
    assert!(!v.direct_io);
    assert!(v.is_clean());
    assert_file_is(&path, &expected(&p, size));
}

#[test]
fn block_devices_are_written_to_their_end_and_never_past_it() {
    let dev_size = 8 << 20;
    let Some(lo) = LoopDevice::new(dev_size, 0xAB) else {
        return;
    };
    let p = params(7, 0);

    // No size: the whole device.
    let mut o = write_opts(p.clone(), 0);
    o.size = None;
    let w = write_file(&lo.device, &o, &mut no_progress()).unwrap();
    assert_eq!(w.bytes_written, dev_size as u64);
    let v = verify_file(&lo.device, &verify_opts(p.clone()), &mut no_progress()).unwrap();
    assert_eq!(
        (v.bytes_checked, v.first_mismatch_offset),
        (dev_size as u64, None)
    );

    // Larger than the device: rejected, nothing written.
    let before = std::fs::read(&lo.backing).unwrap();
    let e = write_file(
        &lo.device,
        &write_opts(params(8, 0), dev_size as u64 + 4096),
        &mut no_progress(),
    )
    .unwrap_err();
    assert!(is_invalid(&e.error), "{e}");

    // An unaligned size: exactly those bytes change, the rest of the device keeps its content.
    let size = (5 << 20) + 777;
    let q = params(9, 0);
    let w = write_file(&lo.device, &write_opts(q.clone(), size), &mut no_progress()).unwrap();
    assert!(w.direct_io);
    assert_eq!(w.bytes_written, size);
    // Read through the device with O_DIRECT-free buffered reads after the fsync.
    let after = std::fs::read(&lo.device).unwrap();
    assert_eq!(after.len(), dev_size, "the device was resized");
    assert_eq!(&after[..size as usize], &expected(&q, size)[..]);
    assert_eq!(&after[size as usize..], &before[size as usize..]);
    assert_eq!(
        std::fs::metadata(&lo.backing).unwrap().len(),
        dev_size as u64
    );
    let mut v = VerifyOptions {
        size: Some(size),
        ..verify_opts(q)
    };
    v.io_uring = false;
    assert!(verify_file(&lo.device, &v, &mut no_progress())
        .unwrap()
        .is_clean());
}

/// A cancelled overwrite of an existing file keeps what the file held past the written prefix:
/// its old length and its old bytes there (nothing that was there is lost).
#[test]
fn a_cancelled_overwrite_keeps_the_old_bytes_past_the_prefix() {
    let dir = disk_tempdir();
    let path = dir.path().join("old.bin");
    let old: Vec<u8> = (0..(128u32 << 20) / 4)
        .flat_map(|i| i.to_le_bytes())
        .collect();
    std::fs::write(&path, &old).unwrap();
    // Small writes one at a time, so the run is still going when the hook first runs.
    let mut o = write_opts(params(8, 0), old.len() as u64);
    o.buffer_size = 4096;
    o.buffer_count = 1;
    o.queue_depth = 1;
    o.threads = 1;
    o.direct_io = false;
    o.fsync = false;
    let e = write_file(&path, &o, &mut |_, _| false).unwrap_err();
    assert!(matches!(e.error, Error::Interrupted), "{e}");
    let valid = e.valid_length().unwrap_or(0);
    assert!(valid < old.len() as u64, "the run was not cut short");
    let now = std::fs::read(&path).unwrap();
    assert_eq!(now.len(), old.len(), "the file lost its old tail");
    assert!(
        now[valid as usize..] == old[valid as usize..] || {
            // Chunks past the prefix may have landed (completions are out of order): those hold
            // new bytes; every other byte is the old one.
            let mut fresh = vec![0u8; old.len()];
            dgen::Generator::new(params(8, 0))
                .unwrap()
                .fill(0, &mut fresh);
            now.iter()
                .zip(&old)
                .zip(&fresh)
                .skip(valid as usize)
                .all(|((n, o), f)| n == o || n == f)
        }
    );
    let mut v = verify_opts(params(8, 0));
    v.size = Some(valid.max(1));
    if valid > 0 {
        assert!(verify_file(&path, &v, &mut no_progress())
            .unwrap()
            .is_clean());
    }
}
