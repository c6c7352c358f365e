//! One-core fill speed into a reused 8 MiB buffer, interleaved across ratios so that machine noise
//! hits all alike: `cargo run --release --example speed -- ROUNDS C1 C2 ...` (medians, GB/s); each
//! `C` is a ratio or a compressibility mix (`1:30%,4:50%,16:20%`).
//! `BUF_KIB` sets the buffer (default 8192), `UNIT_KIB` the dedup unit, `DEDUP` the dedup ratio.
use dgen::{GenParams, Generator};
use std::time::Instant;
fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = a[0].parse().expect("ROUNDS");
    let gens: Vec<Generator> = a[1..]
        .iter()
        .map(|c| {
            let mut p = GenParams::new(1);
            p.set_compress(c.parse().expect("a ratio or a mix"));
            if let Some(kib) = std::env::var("UNIT_KIB")
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
            {
                p.dedup_unit = kib << 10;
            }
            if let Some(d) = std::env::var("DEDUP")
                .ok()
                .and_then(|v| v.parse::<f64>().ok())
            {
                p.dedup_ratio = d;
            }
            Generator::new(p).unwrap()
        })
        .collect();
    let mut buf = vec![
        0u8;
        std::env::var("BUF_KIB")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(8192)
            << 10
    ];
    let mut rates = vec![Vec::new(); gens.len()];
    for r in 0..rounds {
        for (g, rate) in gens.iter().zip(&mut rates) {
            let t = Instant::now();
            for k in 0..4u64 {
                g.fill((r as u64 * 4 + k) * buf.len() as u64, &mut buf);
            }
            rate.push(4.0 * buf.len() as f64 / t.elapsed().as_secs_f64() / 1e9);
        }
    }
    for (c, mut r) in a[1..].iter().zip(rates) {
        r.sort_by(|x, y| x.total_cmp(y));
        print!("c={c}: {:.1}  ", r[r.len() / 2]);
    }
    println!();
}
