//! Per-IO fill cost: `Generator::fill` of one `bs` buffer at pseudo-random aligned offsets
//! (what the fio engine does per write: d = 2, c = 3, the dedup unit given), in ns per call,
//! beside one large sequential fill (which streams to memory).
//! `cargo run --release --example fill_io -- [bs] [dedup_unit]`
use dgen::{GenParams, Generator};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bs: usize = args.get(1).map_or(4096, |s| s.parse().unwrap());
    let unit: u64 = args.get(2).map_or(4096, |s| s.parse().unwrap());
    let mut p = GenParams::new(7);
    p.dedup_ratio = 2.0;
    p.compress_ratio = 3.0;
    p.dedup_unit = unit;
    let g = Generator::new(p).unwrap();
    let mut buf = vec![0u8; bs];
    let span = 256u64 << 20;
    let n = 400_000u64;
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    // Touched once before timing: the sequential figure is the fill, not first-touch faults.
    let mut big = vec![0u8; 64 << 20];
    g.fill(0, &mut big);
    for round in 0..3 {
        let t = Instant::now();
        for _ in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let off = (x % (span / bs as u64)) * bs as u64;
            g.fill(off, &mut buf);
        }
        let per = t.elapsed().as_nanos() as f64 / n as f64;
        let t = Instant::now();
        g.fill(0, &mut big);
        let seq = t.elapsed().as_nanos() as f64 / (big.len() / bs) as f64;
        println!(
            "round {round}: random {bs} B fill {per:.0} ns/call (cache-hot buffer); one 64 MiB \
             fill {seq:.0} ns per {bs} B (bound by memory bandwidth)"
        );
    }
}
