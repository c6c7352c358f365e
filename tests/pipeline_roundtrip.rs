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
