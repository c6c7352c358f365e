//! The bytes on disk are `Generator::fill`'s whatever the buffer size, buffer count, threads,
//! queue depth, io_uring or pwrite, O_DIRECT or buffered.

mod pipeline_common;

use dgen::pipeline::{verify_file, write_file, IoEngine, VerifyOptions, WriteOptions};
use pipeline_common::*;

/// (buffer size, buffer count, threads, queue depth, io_uring, direct)
const CONFIGS: &[(usize, usize, usize, usize, bool, bool)] = &[
    (4 << 10, 1, 1, 1, true, true),
    (64 << 10, 3, 1, 2, true, true),
    (1 << 20, 8, 2, 4, false, true),
    (1 << 20, 2, 3, 8, true, false),
    (8 << 20, 0, 0, 1, false, false),
    (256 << 10, 5, 2, 3, true, true),
    (128 << 10, 16, 4, 16, false, true),
];

#[test]
fn every_configuration_writes_the_same_bytes() {
    let dir = disk_tempdir();
    let p = params(21, 5);
    let size = (6 << 20) + 12345;
    let want = expected(&p, size);
    for (i, &(buffer_size, buffer_count, threads, queue_depth, io_uring, direct_io)) in
        CONFIGS.iter().enumerate()
    {
        let path = dir.path().join(format!("c{i}.bin"));
        let opts = WriteOptions {
            params: p.clone(),
            size: Some(size),
            buffer_size,
            buffer_count,
            threads,
            queue_depth,
            io_uring,
            direct_io,
            fsync: i % 2 == 0,
            map: None,
        };
        let stats = write_file(&path, &opts, &mut no_progress()).unwrap();
        let engine = if io_uring {
            IoEngine::IoUring
        } else {
            IoEngine::Pwrite
        };
        assert_eq!(stats.io_engine, engine, "config {i}: {:?}", stats.warnings);
        assert_eq!(stats.direct_io, direct_io, "config {i}");
        assert_file_is(&path, &want);

        // Read it back with a different configuration.
        let &(vb, vc, vt, vq, vu, vd) = &CONFIGS[(i + 3) % CONFIGS.len()];
        let vopts = VerifyOptions {
            params: p.clone(),
            size: None,
            buffer_size: vb,
            buffer_count: vc,
            threads: vt,
            queue_depth: vq,
            io_uring: vu,
            direct_io: vd,
            map: None,
        };
        let v = verify_file(&path, &vopts, &mut no_progress()).unwrap();
        assert_eq!(
            (v.bytes_checked, v.first_mismatch_offset),
            (size, None),
            "config {i}"
        );
    }
}
