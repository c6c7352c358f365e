//! No thread and no descriptor outlives a run, whether it succeeds, fails or is cancelled.
//! (One test in this binary, so that nothing else runs in the process meanwhile.)

mod pipeline_common;

use dgen::pipeline::{verify_file, write_file};
use pipeline_common::*;

#[test]
fn runs_leave_no_thread_and_no_descriptor_behind() {
    let dir = disk_tempdir();
    let tmpfs = SmallTmpfs::mount("4m");
    let before = (thread_names(), fd_count());
    for round in 0..3 {
        for io_uring in [true, false] {
            let path = dir.path().join(format!("ok-{round}-{io_uring}.bin"));
            let mut o = write_opts(params(1, 0), 8 << 20);
            o.io_uring = io_uring;
            write_file(&path, &o, &mut no_progress()).unwrap();
            let mut v = verify_opts(params(1, 0));
            v.io_uring = io_uring;
            assert!(verify_file(&path, &v, &mut no_progress())
                .unwrap()
                .is_clean());

            let mut big = o.clone();
            big.size = Some(64 << 30);
            let e = write_file(&path, &big, &mut |_, _| false).unwrap_err();
            assert!(matches!(e.error, dgen::Error::Interrupted));

            if let Some(fs) = &tmpfs {
                let full = fs.dir.path().join("full.bin");
                let mut o = o.clone();
                o.size = Some(16 << 20);
                let e = write_file(&full, &o, &mut no_progress()).unwrap_err();
                assert_eq!(e.error.errno(), Some(libc::ENOSPC));
                std::fs::remove_file(&full).unwrap();
            }
        }
    }
    // The kernel's io_uring workers (iou-wrk-*) exit on their own once the ring is closed; the
    // process's own threads must all be gone when a run returns.
    assert_eq!(
        (thread_names(), fd_count()),
        before,
        "(threads, fds) before and after"
    );
}
