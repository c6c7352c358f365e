//! Helpers shared by the pipeline tests.
#![allow(dead_code)]

use dgen::pipeline::{VerifyOptions, WriteOptions};
use dgen::{GenParams, Generator};
use std::path::Path;

/// A temporary directory on the real disk (O_DIRECT works there; /dev/shm is tmpfs).
pub fn disk_tempdir() -> tempfile::TempDir {
    let base = option_env!("CARGO_TARGET_TMPDIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    std::fs::create_dir_all(&base).unwrap();
    tempfile::Builder::new()
        .prefix("pipeline-")
        .tempdir_in(base)
        .unwrap()
}

/// Parameters with compression and dedup, so that the test covers the interesting paths.
pub fn params(seed: u64, stream_id: u64) -> GenParams {
    GenParams {
        seed,
        stream_id,
        dedup_ratio: 2.0,
        compress_ratio: 3.0,
        dedup_unit: 64 << 10,
    }
}

/// Write options with small buffers for tests.
pub fn write_opts(params: GenParams, size: u64) -> WriteOptions {
    WriteOptions {
        params,
        size: Some(size),
        buffer_size: 1 << 20,
        buffer_count: 6,
        queue_depth: 4,
        threads: 2,
        ..WriteOptions::default()
    }
}

/// Verify options matching [`write_opts`].
pub fn verify_opts(params: GenParams) -> VerifyOptions {
    VerifyOptions {
        params,
        buffer_size: 1 << 20,
        buffer_count: 6,
        queue_depth: 4,
        threads: 2,
        ..VerifyOptions::default()
    }
}

/// What `Generator::fill` gives for `params` over `0..size`.
pub fn expected(params: &GenParams, size: u64) -> Vec<u8> {
    let mut buf = vec![0u8; size as usize];
    Generator::new(params.clone()).unwrap().fill(0, &mut buf);
    buf
}

/// Asserts that the file holds exactly `want`, naming the first differing offset.
pub fn assert_file_is(path: &Path, want: &[u8]) {
    let got = std::fs::read(path).unwrap();
    assert_eq!(got.len(), want.len(), "size of {}", path.display());
    if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
        panic!(
            "{} differs from Generator::fill at byte {i}",
            path.display()
        );
    }
}

/// A progress hook that never cancels.
pub fn no_progress() -> impl FnMut(u64, u64) -> bool {
    |_, _| true
}
