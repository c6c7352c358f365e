//! What a block map costs at scale: memory per block, and the time to make it, write every block
//! once at random, checkpoint it and read it back.
//!
//! `cargo run --release --example map_cost -- BLOCKS [DEDUP]` (default 16 Mi blocks, d = 2).

use dgen::map::{BlockMap, MapExpect, MapFile, MapIdentity};
use dgen::GenParams;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let blocks: u64 = args.next().map_or(16 << 20, |a| a.parse().expect("BLOCKS"));
    let dedup: f64 = args.next().map_or(2.0, |a| a.parse().expect("DEDUP"));
    let params = GenParams {
        dedup_ratio: dedup,
        dedup_unit: 4096,
        ..GenParams::new(1)
    };
    let identity = MapIdentity {
        params,
        size: blocks * 4096,
        run_id: 12345,
    };
    let t = Instant::now();
    let mut map = BlockMap::in_layout(identity.clone(), blocks).expect("map");
    let made = t.elapsed();
    let fresh = map.bytes_per_block();
    let t = Instant::now();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..blocks {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        map.write(x % blocks, x.rotate_left(32)).expect("write");
    }
    let written = t.elapsed();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cost.map");
    let t = Instant::now();
    let file = MapFile::create(&path, &map, false).expect("create");
    drop(file);
    let saved = t.elapsed();
    let on_disk = std::fs::metadata(&path).expect("stat").len();
    let t = Instant::now();
    let (read, _) = MapFile::read(&path, &MapExpect::from(&identity)).expect("read");
    let loaded = t.elapsed();
    assert_eq!(read.slots(), map.slots());
    println!(
        "blocks {blocks} d {dedup}: memory {fresh:.2} B/block fresh, {:.2} after {blocks} random \
         writes; file {:.2} B/block; make {:.2} s, writes {:.0} ns each, checkpoint {:.2} s, read {:.2} s",
        map.bytes_per_block(),
        on_disk as f64 / blocks as f64,
        made.as_secs_f64(),
        written.as_secs_f64() * 1e9 / blocks as f64,
        saved.as_secs_f64(),
        loaded.as_secs_f64()
    );
}
