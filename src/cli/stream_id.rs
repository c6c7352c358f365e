//! `dgen stream-id`: the stream id each target gets by default, so a file that was renamed or
//! moved, or a device written from another host, can be verified with `--stream-id` (fio:
//! `dgen_stream=`, Python: `stream_id=`).

use super::report::outln;
use clap::Args;
use dgen::params::{canonical_target_path, is_device, stream_id_for_name, stream_id_for_path_on};
use dgen::Result;
use std::path::PathBuf;

/// Arguments of `dgen stream-id`.
#[derive(Args, Debug)]
pub struct StreamIdArgs {
    /// Targets (files need not exist; their directory should).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The old rule: the hash of the file name only (`--stream-id name`).
    #[arg(long)]
    pub name: bool,
    /// The host a device was written from (default: this host); files ignore it.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
}

/// Prints `ID<TAB>PATH` per target (the path hashed: canonical, with `@host` for devices).
pub fn run(args: StreamIdArgs) -> Result<i32> {
    let host = match &args.host {
        Some(h) => h.as_bytes().to_vec(),
        None => dgen::params::host_name(),
    };
    for path in &args.paths {
        if args.name {
            outln!("{}\t{}", stream_id_for_name(path), path.display());
            continue;
        }
        let full = canonical_target_path(path);
        if is_device(path) {
            outln!(
                "{}\t{}@{}",
                stream_id_for_path_on(path, &host),
                full.display(),
                String::from_utf8_lossy(&host)
            );
        } else {
            outln!("{}\t{}", stream_id_for_path_on(path, &host), full.display());
        }
    }
    Ok(0)
}
