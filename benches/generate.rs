//! Generation speed, side by side with fio 3.33's own generator, in one run.
//!
//! `cargo bench --bench generate` (set `DGEN_BENCH_QUICK=1` for a short run,
//! `DGEN_BENCH_THREADS=N` for N threads instead of one per core).
//!
//! Prints, for each (dedup, compression) pair: our rate on one core into a reused 8 MiB buffer,
//! on all cores (one long-lived thread per core, each with its own reused buffer), and fio's
//! rate with `--ioengine=null` and its equivalent options, as medians of several runs, with ratios;
//! then two compressibility mixes (no fio equivalent).

use dgen::{GenParams, Generator};
use std::process::Command;
use std::time::Instant;

const BUF: usize = 8 << 20;

/// GB/s (10^9) of one core filling a reused 8 MiB buffer for about `secs` seconds.
fn one_core(generator: &Generator, secs: f64) -> f64 {
    let mut buf = vec![0u8; BUF];
    generator.fill(0, &mut buf); // first touch outside the timing
    let start = Instant::now();
    let mut offset = 0u64;
    while start.elapsed().as_secs_f64() < secs {
        generator.fill(offset, &mut buf);
        offset += BUF as u64;
    }
    offset as f64 / start.elapsed().as_secs_f64() / 1e9
}

/// GB/s of `threads` threads, each filling its own reused 8 MiB buffer at its own offsets.
///
/// Plain scoped threads, one per core, as the writer's long-lived workers are: a rayon job per
/// thread could be run twice by one worker while another sleeps, which halves the figure.
fn all_cores(generator: &Generator, threads: usize, secs: f64) -> f64 {
    let start = Instant::now();
    let bytes: u64 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let mut buf = vec![0u8; BUF];
                    generator.fill(0, &mut buf);
                    let begin = Instant::now();
                    let mut n = 0u64;
                    while begin.elapsed().as_secs_f64() < secs {
                        generator.fill((n * threads as u64 + t as u64) * BUF as u64, &mut buf);
                        n += 1;
                    }
                    n * BUF as u64
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("bench thread"))
            .sum()
    });
    bytes as f64 / start.elapsed().as_secs_f64() / 1e9
}

/// fio's own generation rate (GB/s) with the null engine, or None when fio is not installed.
fn fio_rate(extra: &[&str], size: &str) -> Option<f64> {
    let out = Command::new("fio")
        .args([
            "--name=gen",
            "--ioengine=null",
            "--rw=write",
            "--bs=1M",
            "--refill_buffers",
            "--output-format=json",
        ])
        .arg(format!("--size={size}"))
        .args(extra)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let bw_kib = json["jobs"][0]["write"]["bw_bytes"].as_f64()?;
    Some(bw_kib / 1e9)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let quick = std::env::var_os("DGEN_BENCH_QUICK").is_some();
    let (runs, secs, fio_size) = if quick {
        (3, 0.3, "2G")
    } else {
        (5, 1.0, "16G")
    };
    let threads = std::env::var("DGEN_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
    let cases: [(f64, f64, &[&str]); 6] = [
        (1.0, 1.0, &[]),
        (2.0, 1.0, &["--dedupe_percentage=50"]),
        (1.0, 2.0, &["--buffer_compress_percentage=50"]),
        (1.0, 3.0, &["--buffer_compress_percentage=67"]),
        (
            2.0,
            3.0,
            &["--dedupe_percentage=50", "--buffer_compress_percentage=67"],
        ),
        (1.0, 8.0, &["--buffer_compress_percentage=88"]),
    ];
    println!("generation rate, GB/s (10^9), median of {runs} runs; fio 3.33 --ioengine=null --bs=1M --size={fio_size} --refill_buffers");
    println!(
        "{:>6} {:>6} | {:>9} {:>9} {:>8} | {:>9} | {:>11} {:>12}",
        "dedup",
        "comp",
        "dgen 1c",
        format!("dgen {threads}c"),
        "scaling",
        "fio 1c",
        "dgen/fio 1c",
        "dgen/fio all"
    );
    for (d, c, fio_opts) in cases {
        let mut p = GenParams::new(1);
        p.dedup_ratio = d;
        p.compress_ratio = c;
        let g = Generator::new(p).expect("valid params");
        let one = median((0..runs).map(|_| one_core(&g, secs)).collect());
        let all = median((0..runs).map(|_| all_cores(&g, threads, secs)).collect());
        let fio: Vec<f64> = (0..runs)
            .filter_map(|_| fio_rate(fio_opts, fio_size))
            .collect();
        let fio = (!fio.is_empty()).then(|| median(fio));
        let show = |v: Option<f64>| v.map(|x| format!("{x:.2}")).unwrap_or_else(|| "n/a".into());
        println!(
            "{d:>6} {c:>6} | {one:>9.2} {all:>9.2} {:>7.2}x | {:>9} | {:>10}x {:>11}x",
            all / one,
            show(fio),
            show(fio.map(|f| one / f)),
            show(fio.map(|f| all / f)),
        );
    }
    // Compressibility mixes (fio has no equivalent): each block at its class's ratio.
    for mix in ["1:30%,4:50%,16:20%", "2:50%,8:50%"] {
        let mut p = GenParams::new(1);
        p.set_compress(mix.parse().expect("a mix"));
        let g = Generator::new(p).expect("valid params");
        let one = median((0..runs).map(|_| one_core(&g, secs)).collect());
        let all = median((0..runs).map(|_| all_cores(&g, threads, secs)).collect());
        println!(
            "{:>6} {mix:>6} | {one:>9.2} {all:>9.2} {:>7.2}x |",
            1,
            all / one
        );
    }
}
