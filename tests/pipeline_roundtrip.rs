//! Write then verify: round trips, exact sizes, mismatch reports, progress, several files.

mod pipeline_common;

use dgen::params::stream_id_for_path;
use dgen::pipeline::{verify_file, write_file, write_files, IoEngine};
use pipeline_common::*;

#[test]
fn write_then_verify_is_clean_and_bytes_match_the_generator() {
    let dir = disk_tempdir();
    let path = dir.path().join("a.bin");
    let p = params(7, 3);
    let size = 24 << 20;
    let stats = write_file(&path, &write_opts(p.clone(), size), &mut no_progress()).unwrap();
    assert_eq!(stats.bytes_written, size);
    assert_eq!(stats.seed, 7);
    assert_eq!(stats.stream_id, 3);
    assert!(
        stats.direct_io,
        "O_DIRECT works on the disk: {:?}",
        stats.warnings
    );
    assert_eq!(stats.io_engine, IoEngine::IoUring, "{:?}", stats.warnings);
    assert!(stats.operations >= 24);
    assert_file_is(&path, &expected(&p, size));

    let v = verify_file(&path, &verify_opts(p.clone()), &mut no_progress()).unwrap();
    assert_eq!(v.bytes_checked, size);
    assert_eq!(v.first_mismatch_offset, None);
    assert_eq!(v.mismatched_blocks, 0);
    assert!(v.direct_io);
}

#[test]
fn unaligned_sizes_under_o_direct_are_exact() {
    let dir = disk_tempdir();
    let p = params(11, 0);
    for size in [
        1u64,
        511,
        4095,
        4097,
        (1 << 20) + 123,
        (3 << 20) - 1,
        5 << 20,
    ] {
        let path = dir.path().join(format!("u{size}.bin"));
        let stats = write_file(&path, &write_opts(p.clone(), size), &mut no_progress()).unwrap();
        assert!(stats.direct_io, "{:?}", stats.warnings);
        assert_eq!(stats.bytes_written, size);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), size);
        assert_file_is(&path, &expected(&p, size));
        let v = verify_file(&path, &verify_opts(p.clone()), &mut no_progress()).unwrap();
        assert!(v.direct_io);
        assert_eq!(
            (v.bytes_checked, v.first_mismatch_offset),
            (size, None),
            "size {size}"
        );
    }
}

#[test]
fn overwriting_a_larger_file_leaves_exactly_the_new_size() {
    let dir = disk_tempdir();
    let path = dir.path().join("big.bin");
    std::fs::write(&path, vec![0xAAu8; 3 << 20]).unwrap();
    let p = params(12, 1);
    let size = (1 << 20) + 7;
    write_file(&path, &write_opts(p.clone(), size), &mut no_progress()).unwrap();
    assert_file_is(&path, &expected(&p, size));
}

#[test]
fn flipped_bytes_are_reported_at_their_offsets() {
    let dir = disk_tempdir();
    let path = dir.path().join("flip.bin");
    let p = params(13, 2);
    let size = (6 << 20) + 1000;
    write_file(&path, &write_opts(p.clone(), size), &mut no_progress()).unwrap();
    let mut data = std::fs::read(&path).unwrap();

    let first = 3_333_333usize;
    data[first] ^= 0x01;
    std::fs::write(&path, &data).unwrap();
    let v = verify_file(&path, &verify_opts(p.clone()), &mut no_progress()).unwrap();
    assert_eq!(v.first_mismatch_offset, Some(first as u64));
    assert_eq!(v.mismatched_blocks, 1);
    assert_eq!(v.bytes_checked, size);
    assert!(!v.is_clean());

    // A second bad byte earlier, in another buffer and block, and one in the unaligned tail.
    let earlier = 5000usize;
    data[earlier] ^= 0x80;
    data[size as usize - 1] ^= 0xFF;
    std::fs::write(&path, &data).unwrap();
    let v = verify_file(&path, &verify_opts(p.clone()), &mut no_progress()).unwrap();
    assert_eq!(v.first_mismatch_offset, Some(earlier as u64));
    assert_eq!(v.mismatched_blocks, 3);

    // Checking only a prefix that ends before the bad bytes is clean.
    let mut o = verify_opts(p.clone());
    o.size = Some(4096);
    let v = verify_file(&path, &o, &mut no_progress()).unwrap();
    assert_eq!((v.bytes_checked, v.first_mismatch_offset), (4096, None));

    // Wrong seed: everything differs from byte 0.
    let v = verify_file(&path, &verify_opts(params(14, 2)), &mut no_progress()).unwrap();
    assert_eq!(v.first_mismatch_offset, Some(0));
    assert_eq!(v.mismatched_blocks, size.div_ceil(4096));
}

#[test]
fn progress_is_called_monotonic_and_ends_at_the_total() {
    let dir = disk_tempdir();
    let path = dir.path().join("progress.bin");
    let p = params(15, 0);
    let size = 64 << 20;
    let mut calls: Vec<(u64, u64)> = Vec::new();
    let mut opts = write_opts(p.clone(), size);
    opts.io_uring = false; // also covers the pwrite engine end to end
    write_file(&path, &opts, &mut |d, t| {
        calls.push((d, t));
        true
    })
    .unwrap();
    assert!(!calls.is_empty());
    assert!(calls.iter().all(|&(_, t)| t == size));
    assert!(calls.windows(2).all(|w| w[0].0 <= w[1].0), "{calls:?}");
    assert_eq!(calls.last().unwrap().0, size);

    let mut calls: Vec<(u64, u64)> = Vec::new();
    verify_file(&path, &verify_opts(p), &mut |d, t| {
        calls.push((d, t));
        true
    })
    .unwrap();
    assert!(calls.windows(2).all(|w| w[0].0 <= w[1].0));
    assert_eq!(*calls.last().unwrap(), (size, size));
}

#[test]
fn several_files_get_their_own_streams() {
    let dir = disk_tempdir();
    let paths: Vec<_> = ["f0.bin", "f1.bin", "f2.bin"]
        .iter()
        .map(|n| dir.path().join(n))
        .collect();
    let p = params(16, 999);
    let size = (3 << 20) + 100;
    let stats = write_files(&paths, &write_opts(p.clone(), size), &mut no_progress()).unwrap();
    assert_eq!(stats.len(), 3);
    let mut contents = Vec::new();
    for (s, path) in stats.iter().zip(&paths) {
        let mut want = p.clone();
        want.stream_id = stream_id_for_path(path);
        assert_eq!(s.stream_id, want.stream_id);
        assert_eq!(s.bytes_written, size);
        assert_file_is(path, &expected(&want, size));
        let v = verify_file(path, &verify_opts(want), &mut no_progress()).unwrap();
        assert!(v.is_clean());
        contents.push(std::fs::read(path).unwrap());
    }
    assert_ne!(contents[0], contents[1]);
    assert_ne!(contents[1], contents[2]);
}
