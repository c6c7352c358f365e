//! Build script of the fio engine: finds fio's source headers (matching the installed fio),
//! configures them, and compiles the thin C shim `c/dgen_shim.c` against them.
//!
//! Where the headers come from, in order:
//! 1. `FIO_SRC`: a configured or unconfigured fio source tree (the directory holding `fio.h`);
//! 2. `fio-engine/fio-src/` (or its single `fio-*` subdirectory, as `apt-get source` leaves it);
//! 3. otherwise `fio-engine/fetch-fio-src` is run to fetch the Debian/Ubuntu source of the
//!    installed fio into `fio-engine/fio-src/` (set `DGEN_FIO_NO_FETCH=1` to forbid that).
//!
//! The build stops with a message when fio is not installed, the headers cannot be found, or
//! their version differs from `fio --version` (a mismatch would silently corrupt fio's structs).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=c/dgen_shim.c");
    println!("cargo:rerun-if-changed=c/dgen_fio.h");
    println!("cargo:rerun-if-changed=fetch-fio-src");
    println!("cargo:rerun-if-env-changed=FIO_SRC");
    println!("cargo:rerun-if-env-changed=FIO");
    println!("cargo:rerun-if-env-changed=DGEN_FIO_NO_FETCH");

    if let Err(msg) = build() {
        eprintln!("\nerror: cannot build the dgen fio engine: {msg}\n");
        std::process::exit(1);
    }
}

fn build() -> Result<(), String> {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let installed = installed_fio_version()?;
    let src = find_source(&manifest)?;
    println!("cargo:rerun-if-changed={}", src.join("fio.h").display());

    let headers = header_version(&src)?;
    if headers != installed {
        return Err(format!(
            "the fio headers in {} are {headers}, but the installed fio is {installed}: the engine \
             must be compiled against the headers of the fio that loads it. Point FIO_SRC at the \
             {installed} source, or remove {} and rebuild to fetch it",
            src.display(),
            manifest.join("fio-src").display()
        ));
    }
    configure(&src)?;

    let config_host = src.join("config-host.h");
    cc::Build::new()
        .file(manifest.join("c/dgen_shim.c"))
        .include(&src)
        .include(manifest.join("c"))
        .flag("-include")
        .flag(config_host.to_str().ok_or("non-UTF-8 fio source path")?)
        .define("_GNU_SOURCE", None)
        .define("_FILE_OFFSET_BITS", "64")
        .define("DGEN_FIO_VERSION", format!("\"{installed}\"").as_str())
        .flag_if_supported("-Wno-unused-parameter")
        .flag_if_supported("-Wno-sign-compare")
        .flag_if_supported("-Wno-missing-field-initializers")
        .compile("dgen_shim");
    Ok(())
}

/// `fio --version` of the fio on PATH (or `$FIO`), e.g. `fio-3.33`.
fn installed_fio_version() -> Result<String, String> {
    let fio = env::var("FIO").unwrap_or_else(|_| "fio".into());
    let out = Command::new(&fio).arg("--version").output().map_err(|e| {
        format!("`{fio} --version` failed ({e}): install fio first (apt-get install fio)")
    })?;
    let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || !v.starts_with("fio-") {
        return Err(format!(
            "`{fio} --version` printed {v:?}, not a fio version"
        ));
    }
    Ok(v)
}

/// A directory that holds `fio.h`: `$FIO_SRC`, `fio-src/`, `fio-src/fio-*/`, else fetched.
fn find_source(manifest: &Path) -> Result<PathBuf, String> {
    if let Ok(dir) = env::var("FIO_SRC") {
        let dir = PathBuf::from(dir);
        if dir.join("fio.h").is_file() {
            return Ok(dir);
        }
        return Err(format!("FIO_SRC={} holds no fio.h", dir.display()));
    }
    let root = manifest.join("fio-src");
    if let Some(dir) = source_in(&root) {
        return Ok(dir);
    }
    if env::var("DGEN_FIO_NO_FETCH").is_ok_and(|v| v == "1") {
        return Err(format!(
            "no fio source found: set FIO_SRC, or run fio-engine/fetch-fio-src to fetch it into {}",
            root.display()
        ));
    }
    let script = manifest.join("fetch-fio-src");
    let status = Command::new(&script)
        .arg(&root)
        .status()
        .map_err(|e| format!("could not run {}: {e}", script.display()))?;
    if !status.success() {
        return Err(format!(
            "{} failed (see its output above): fetch fio's source yourself and set FIO_SRC, \
             or run scripts/setup (it installs fio, dpkg-dev and the deb-src entry it needs)",
            script.display()
        ));
    }
    source_in(&root).ok_or_else(|| format!("{} left no fio source", script.display()))
}

fn source_in(root: &Path) -> Option<PathBuf> {
    if root.join("fio.h").is_file() {
        return Some(root.to_path_buf());
    }
    let mut dirs: Vec<PathBuf> = fs::read_dir(root)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("fio.h").is_file())
        .collect();
    dirs.sort();
    dirs.pop()
}

/// The version the source tree builds: its `FIO-VERSION-FILE` if generated, else `DEF_VER`.
fn header_version(src: &Path) -> Result<String, String> {
    if let Ok(text) = fs::read_to_string(src.join("FIO-VERSION-FILE")) {
        if let Some(v) = text.split('=').nth(1) {
            return Ok(v.trim().to_string());
        }
    }
    let gen = fs::read_to_string(src.join("FIO-VERSION-GEN"))
        .map_err(|e| format!("{}: {e}", src.join("FIO-VERSION-GEN").display()))?;
    gen.lines()
        .find_map(|l| l.strip_prefix("DEF_VER="))
        .map(|v| v.trim().to_string())
        .ok_or_else(|| format!("no DEF_VER in {}", src.join("FIO-VERSION-GEN").display()))
}

/// Runs `./configure --disable-native` once, for `config-host.h` (struct layout depends on it).
fn configure(src: &Path) -> Result<(), String> {
    if src.join("config-host.h").is_file() {
        return Ok(());
    }
    let out = Command::new("./configure")
        .arg("--disable-native")
        .current_dir(src)
        .output()
        .map_err(|e| format!("running ./configure in {}: {e}", src.display()))?;
    if !out.status.success() || !src.join("config-host.h").is_file() {
        return Err(format!(
            "./configure --disable-native failed in {}:\n{}{}",
            src.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}
