//! Issue 11 (A): no accidental cross-target dedup. With a fixed seed, two targets with the same
//! file name in different directories get different content (the default stream id hashes the
//! canonical path), the same target gets the same content on every run, a moved file fails
//! verification with a hint, and `--stream-id name` / an explicit id bring back the old
//! behaviour.

use dgen::params::{stream_id_for_name, stream_id_for_path};
use std::path::Path;
use std::process::{Command, Output};

fn dgen_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dgen"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run dgen")
}

fn dgen(args: &[&str]) -> Output {
    dgen_in(Path::new("/"), args)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The data every write and verify here uses: buffered, 2 MiB, d = 2, c = 2, seed 7.
const DATA: [&str; 9] = [
    "--size",
    "2M",
    "--seed",
    "7",
    "-d",
    "2",
    "-c",
    "2",
    "--no-direct",
];

/// `dgen write PATH` (buffered, 2 MiB, d = 2, c = 2, seed 7) plus `extra`; returns the stream id
/// it reports.
fn write(path: &Path, extra: &[&str]) -> u64 {
    let mut args = vec!["write", path.to_str().unwrap()];
    args.extend_from_slice(&DATA);
    args.push("--json");
    args.extend_from_slice(extra);
    let o = dgen(&args);
    assert!(o.status.success(), "{}", text(&o));
    let json: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    json["stream_id"].as_u64().unwrap()
}

fn verify(path: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["verify", path.to_str().unwrap()];
    args.extend_from_slice(&DATA);
    args.extend_from_slice(extra);
    dgen(&args)
}

#[test]
fn same_name_in_two_directories_differs_and_each_verifies() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (root.path().join("vol1"), root.path().join("vol2"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let (fa, fb) = (a.join("test.dat"), b.join("test.dat"));
    let ida = write(&fa, &[]);
    let idb = write(&fb, &[]);
    assert_ne!(ida, idb);
    assert_eq!(ida, stream_id_for_path(&fa));
    let (ca, cb) = (std::fs::read(&fa).unwrap(), std::fs::read(&fb).unwrap());
    assert_eq!(ca.len(), 2 << 20);
    // Not a single 4 KiB unit in common: no cross-target dedup at any unit.
    let units: std::collections::HashSet<&[u8]> = ca.chunks(4096).collect();
    assert!(cb.chunks(4096).all(|u| !units.contains(u)));
    for f in [&fa, &fb] {
        let o = verify(f, &[]);
        assert!(o.status.success(), "{}", text(&o));
    }
    // Rewriting the same target (here through a relative path from its directory) gives the
    // same bytes.
    let o = dgen_in(&a, &[&["write", "test.dat"][..], &DATA].concat());
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::fs::read(&fa).unwrap() == ca);
    // and through a path with `..` in it
    let odd = b.join("..").join("vol1").join("test.dat");
    assert_eq!(write(&odd, &[]), ida);
    let o = verify(&odd, &[]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn gen_follows_the_same_rule_and_name_brings_back_the_old_one() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let gen = |dir: &Path, extra: &[&str]| {
        let mut args = vec![
            "gen", "--size", "2M", "--seed", "7", "-d", "2", "-c", "2", "-o", "x.bin",
        ];
        args.extend_from_slice(extra);
        let o = dgen_in(dir, &args);
        assert!(o.status.success(), "{}", text(&o));
        std::fs::read(dir.join("x.bin")).unwrap()
    };
    assert!(gen(&a, &[]) != gen(&b, &[]));
    // `dgen gen` and `dgen write` agree on a target's stream.
    let ga = gen(&a, &[]);
    write(&a.join("x.bin"), &[]);
    assert!(std::fs::read(a.join("x.bin")).unwrap() == ga);
    // The old rule: the file name alone.
    let na = gen(&a, &["--stream-id", "name"]);
    assert!(na == gen(&b, &["--stream-id", "name"]));
    let id = stream_id_for_name(Path::new("x.bin")).to_string();
    assert!(na == gen(&b, &["--stream-id", &id]));
}

#[test]
fn a_moved_file_fails_with_a_hint_and_verifies_with_its_id() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let id = write(&a.join("f.dat"), &[]);
    std::fs::rename(a.join("f.dat"), b.join("f.dat")).unwrap();
    let moved = b.join("f.dat");
    let o = verify(&moved, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("another stream") && t.contains("moved"), "{t}");
    assert!(
        t.contains("hash of the path")
            && t.contains(&moved.canonicalize().unwrap().display().to_string()),
        "{t}"
    );
    assert!(t.contains("--stream-id"), "{t}");
    let o = verify(&moved, &["--stream-id", &id.to_string()]);
    assert!(o.status.success(), "{}", text(&o));
    // `dgen stream-id OLD_PATH` prints the id the write used (the file is gone from there).
    let old = a.join("f.dat");
    let o = dgen(&["stream-id", old.to_str().unwrap(), "--name"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).starts_with(&format!("{}\t", stream_id_for_name(&old)))
    );
    let o = dgen(&["stream-id", old.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    let canon = a.canonicalize().unwrap().join("f.dat");
    assert_eq!(out, format!("{id}\t{}\n", canon.display()));
}

#[test]
fn devices_are_told_apart_by_host() {
    // /dev/null is a character device: its id depends on the host it is written from.
    let here = dgen(&["stream-id", "/dev/null"]);
    let h1 = dgen(&["stream-id", "/dev/null", "--host", "server1"]);
    let h2 = dgen(&["stream-id", "/dev/null", "--host", "server2"]);
    let id = |o: &Output| {
        String::from_utf8_lossy(&o.stdout)
            .split('\t')
            .next()
            .unwrap()
            .to_string()
    };
    assert_ne!(id(&h1), id(&h2));
    assert_eq!(
        id(&here),
        stream_id_for_path(Path::new("/dev/null")).to_string()
    );
    assert!(String::from_utf8_lossy(&h1.stdout)
        .trim_end()
        .ends_with("/dev/null@server1"));
    // A file's id does not depend on the host: a shared file system verifies from anywhere.
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("x");
    let f1 = dgen(&["stream-id", f.to_str().unwrap(), "--host", "server1"]);
    let f2 = dgen(&["stream-id", f.to_str().unwrap(), "--host", "server2"]);
    assert_eq!(id(&f1), id(&f2));
    assert_eq!(id(&f1), stream_id_for_path(&f).to_string());
}

#[test]
fn a_bad_stream_id_is_one_line_naming_it() {
    let o = dgen(&[
        "gen",
        "--size",
        "4k",
        "--seed",
        "1",
        "--stream-id",
        "file",
        "-o",
        "-",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--stream-id") && err.contains("file") && err.contains("'path'"),
        "{err}"
    );
}
