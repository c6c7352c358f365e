//! On-disk compression ratios on a real file system: btrfs on a loop device, mounted with
//! `compress-force=zstd:1`, `lzo` and `zlib:1` in turn, files written at c = 2, 3 and 4 with
//! `dgen write` and through the fio engine (with its default, no preallocation), measured with `compsize -b`.
//!
//! btrfs compresses each 128 KiB extent on its own and stores it in whole 4 KiB sectors, so the
//! best possible result at ratio c is `ceil(128 KiB / c / 4 KiB)` sectors per extent (c = 3:
//! 44 KiB, an on-disk ratio of 2.909). Each file must store, on average over its extents, within
//! one sector of that: no more than one sector above it (the data compresses as asked) and no
//! more than one sector below it (the data is not more compressible than asked).
//!
//! The work is done by `scripts/btrfs-ratios --json` (which also prints the README's table); the
//! test passes it this build's `dgen` and the engine (`DGEN_FIO_ENGINE`, else `libdgen_fio.so`
//! next to `dgen`, as `cargo build --release -p dgen-fio` leaves it). It prints
//! `SKIPPED: <reason>` and passes where root, loop devices, btrfs, `mkfs.btrfs`, `compsize`,
//! fio or the engine are missing or the mount fails (the script exits 77 then).

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/btrfs-ratios");
const DGEN: &str = env!("CARGO_BIN_EXE_dgen");
/// Bytes per file: 512 extents of 128 KiB.
const SIZE: &str = "64M";
/// The columns that must land within one sector of the ideal, with their names in the report.
const CHECKED: [(&str, &str); 2] = [
    ("dgen_write", "dgen write"),
    ("engine", "fio engine (its default: no preallocation)"),
];

fn engine() -> PathBuf {
    match std::env::var_os("DGEN_FIO_ENGINE") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(DGEN).with_file_name("libdgen_fio.so"),
    }
}

fn field(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no integer {key:?} in {v}"))
}

#[test]
fn btrfs_compress_force_extents_within_one_sector_of_ideal() {
    let out = Command::new("bash")
        .arg(SCRIPT)
        .args(["--json", "--size", SIZE])
        .env("DGEN_BIN", DGEN)
        .env("DGEN_FIO_ENGINE", engine())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {SCRIPT}: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(77) {
        let reason = stderr
            .lines()
            .find(|l| l.starts_with("SKIPPED:"))
            .unwrap_or("SKIPPED: scripts/btrfs-ratios exited 77");
        eprintln!("btrfs test {reason}");
        return;
    }
    assert!(
        out.status.success(),
        "scripts/btrfs-ratios failed ({}):\n{stderr}",
        out.status
    );

    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect();
    assert_eq!(rows.len(), 9, "expected 3 codecs x 3 ratios, got {rows:?}");

    let mut report = String::new();
    let mut failures = Vec::new();
    for row in &rows {
        let codec = row["codec"].as_str().expect("codec");
        let c = field(row, "c");
        let size = field(row, "size");
        let extent = field(row, "extent");
        let sector = field(row, "sector");
        let ideal = field(row, "ideal_extent_bytes");
        assert_eq!(ideal, (extent.div_ceil(c)).div_ceil(sector) * sector);
        let extents = size / extent;
        for (key, name) in CHECKED {
            let cell = &row[key];
            let (disk, unc) = (field(cell, "disk"), field(cell, "uncompressed"));
            let per_extent = disk as f64 / extents as f64 / 1024.0;
            let line = format!(
                "{codec:>7} c={c} {name:<27}: on-disk {:.3} (ideal {:.3}), {per_extent:.1} KiB per extent (ideal {}, allowed {}..={})",
                unc as f64 / disk as f64,
                extent as f64 / ideal as f64,
                ideal / 1024,
                (ideal - sector) / 1024,
                (ideal + sector) / 1024,
            );
            report.push_str(&line);
            report.push('\n');
            if unc != size {
                failures.push(format!(
                    "{line}: compsize saw {unc} uncompressed bytes, not {size}"
                ));
            } else if disk > (ideal + sector) * extents {
                failures.push(format!("{line}: more than one sector above the ideal"));
            } else if disk < (ideal - sector) * extents {
                failures.push(format!("{line}: more than one sector below the ideal"));
            }
        }
    }
    eprintln!("btrfs compress-force, {SIZE} per file:\n{report}");
    assert!(
        failures.is_empty(),
        "{} of {} files off by more than one 4 KiB sector per 128 KiB extent:\n{}",
        failures.len(),
        rows.len() * CHECKED.len(),
        failures.join("\n")
    );
}
