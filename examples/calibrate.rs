//! Finds, for a grid of compression ratios, the literal bytes per atom that make lz4 and zstd-1
//! measure that ratio, and prints the table for `src/gen/calibration.rs`.
//!
//! `cargo run --release --example calibrate -- [MiB per sample] [from] [to] [--snappy] [--resync]`
//!
//! With `--resync` it prints `RESYNC_TABLE`, the same for the layouts of a mix's classes (atoms
//! that open with a re-sync piece, `Layout::draw`).
//!
//! With `--snappy` it prints the table for data aimed at snappy instead
//! (`SNAPPY_TABLE`): the literal bytes at which snappy (raw) over 8 KiB to 1 MiB units measures the
//! ratio, centred between its extremes.
//!
//! The primary codecs (lz4 block and zstd-1, what arrays use most) are kept inside 90% of their
//! tolerance (3% at 4 KiB units, 2% at 8 KiB to 1 MiB); inside that band, up to 4.5:1, the point that
//! brings zstd-3 and deflate closest to the ratio is taken.
use dgen::analyze::{analyze_bytes, AnalyzeOptions, Codec};
use dgen::{GenParams, Generator};

const GRID: [f64; 23] = [
    1.05, 1.1, 1.2, 1.3, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0, 20.0,
    25.0, 30.0, 35.0, 40.0, 50.0,
];

/// Relative tolerances: lz4 and zstd-1 (primary) 3% at 4 KiB, 2% at 8 KiB to 1 MiB; the
/// secondary codecs (zstd-3, deflate, LZO1X-1, brotli-1) 5%.
fn tolerance(codec: Codec, unit: u64) -> f64 {
    match codec {
        Codec::Lz4 | Codec::Zstd1 if unit == 4096 => 0.03,
        Codec::Lz4 | Codec::Zstd1 => 0.02,
        _ => 0.05,
    }
}

/// Normalised errors `ln(measured / c) / tolerance`, split into (primary, secondary).
fn errors(buf: &mut [u8], literal: f64, c: f64) -> (Vec<f64>, Vec<f64>) {
    let g = if resync() {
        Generator::with_literal_plan(GenParams::new(11), literal, 256)
    } else {
        Generator::with_literal_bytes(GenParams::new(11), literal)
    }
    .unwrap();
    g.fill_parallel(0, buf);
    // Snappy is left out: its copies hold at most 64 bytes, so it needs its own table (`--snappy`).
    let codecs = if c > 4.5 {
        vec![Codec::Lz4, Codec::Zstd1]
    } else {
        Codec::ALL
            .iter()
            .copied()
            .filter(|&c| c != Codec::Snappy)
            .collect()
    };
    let opts = AnalyzeOptions {
        codecs,
        ..AnalyzeOptions::default()
    };
    let r = analyze_bytes(buf, &opts).unwrap();
    let (mut primary, mut secondary) = (Vec::new(), Vec::new());
    for u in &r.units {
        for cr in &u.compression {
            let e = (cr.ratio / c).ln() / tolerance(cr.codec, u.unit);
            match cr.codec {
                Codec::Lz4 | Codec::Zstd1 => primary.push(e),
                _ => secondary.push(e),
            }
        }
    }
    (primary, secondary)
}

/// Whether `--resync` was given: the layouts of a mix's classes (`RESYNC_TABLE`).
fn resync() -> bool {
    std::env::args().any(|a| a == "--resync")
}

fn max(v: &[f64]) -> f64 {
    v.iter().cloned().fold(f64::MIN, f64::max)
}

fn min(v: &[f64]) -> f64 {
    v.iter().cloned().fold(f64::MAX, f64::min)
}

/// The literal count (in [1, 4096]) where `f` crosses zero, for an `f` that falls as literals grow:
/// regula falsi (Illinois variant) on a bracket, to within half a byte, in a handful of evaluations.
fn root(mut f: impl FnMut(f64) -> f64, guess: f64) -> f64 {
    let (mut a, mut b) = ((guess * 0.9).max(1.0), (guess * 1.1).min(4096.0));
    let (mut fa, mut fb) = (f(a), f(b));
    while fa < 0.0 && a > 1.0 {
        a = (a * 0.8).max(1.0);
        fa = f(a);
    }
    while fb > 0.0 && b < 4096.0 {
        b = (b * 1.25).min(4096.0);
        fb = f(b);
    }
    if fa < 0.0 || fb > 0.0 {
        return if fa < 0.0 { a } else { b };
    }
    let mut side = 0;
    for _ in 0..12 {
        if b - a < 0.5 {
            break;
        }
        let m = (a * fb - b * fa) / (fb - fa);
        let fm = f(m);
        if fm > 0.0 {
            a = m;
            fa = fm;
            if side == 1 {
                fb /= 2.0;
            }
            side = 1;
        } else {
            b = m;
            fb = fm;
            if side == -1 {
                fa /= 2.0;
            }
            side = -1;
        }
    }
    (a + b) / 2.0
}

/// Literal bytes for ratio `c`: the primary codecs stay inside 90% of their tolerance; inside that
/// band, the point that balances the secondary codecs' errors (for c <= 4.5, where they have a
/// tolerance) or else the primary codecs' own balance point.
fn calibrate(buf: &mut [u8], c: f64) -> f64 {
    const MARGIN: f64 = 0.9;
    let guess = 4096.0 / c;
    // All ratios fall as literals rise, so every error below decreases with `literal`.
    let primary_centre = root(
        |l| {
            let (p, _) = errors(buf, l, c);
            max(&p) + min(&p)
        },
        guess,
    );
    if c > 4.5 {
        return primary_centre;
    }
    let band_low = root(|l| max(&errors(buf, l, c).0) - MARGIN, primary_centre);
    let band_high = root(|l| min(&errors(buf, l, c).0) + MARGIN, primary_centre);
    if band_low > band_high {
        return primary_centre;
    }
    let secondary_centre = root(
        |l| {
            let (_, s) = errors(buf, l, c);
            max(&s) + min(&s)
        },
        primary_centre,
    );
    secondary_centre.clamp(band_low, band_high)
}

/// Literal bytes for ratio `c` as snappy sees it: its errors over 8 KiB-1 MiB units centred.
fn calibrate_snappy(buf: &mut [u8], c: f64) -> f64 {
    root(
        |l| {
            let g = if resync() {
                Generator::with_literal_plan(GenParams::new(11), l, 256)
            } else {
                Generator::with_literal_bytes(GenParams::new(11), l)
            }
            .unwrap();
            g.fill_parallel(0, buf);
            let opts = AnalyzeOptions {
                units: vec![8 << 10, 128 << 10, 1 << 20],
                codecs: vec![Codec::Snappy],
                ..AnalyzeOptions::default()
            };
            let r = analyze_bytes(buf, &opts).unwrap();
            let e: Vec<f64> = r
                .units
                .iter()
                .map(|u| (u.compression[0].ratio / c).ln())
                .collect();
            max(&e) + min(&e)
        },
        4096.0 / c,
    )
}

fn main() {
    if std::env::args().any(|a| a == "--snappy") {
        let mut buf = vec![0u8; 16 << 20];
        // Snappy data goes up to 16:1 (`MAX_SNAPPY_RATIO`), and 1:1 is 4096 literal bytes.
        let grid: Vec<f64> = GRID.into_iter().filter(|&c| c <= 16.0).collect();
        let name = if resync() {
            "RESYNC_SNAPPY_TABLE"
        } else {
            "SNAPPY_TABLE"
        };
        println!("const {name}: [(f64, f64); {}] = [", grid.len() + 1);
        println!("    (1.00, 4096.00),");
        for c in grid {
            println!("    ({c:.2}, {:.2}),", calibrate_snappy(&mut buf, c));
        }
        println!("];");
        return;
    }
    let args: Vec<String> = std::env::args().filter(|a| a != "--resync").collect();
    let mib: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(8);
    let mut buf = vec![0u8; mib << 20];
    // Optional: only ratios in [from, to] (to split the work across processes).
    let from: f64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(0.0);
    let to: f64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(f64::MAX);
    let name = if resync() { "RESYNC_TABLE" } else { "TABLE" };
    println!("const {name}: [(f64, f64); {}] = [", GRID.len());
    for c in GRID.into_iter().filter(|c| (from..=to).contains(c)) {
        println!("    ({c:.2}, {:.2}),", calibrate(&mut buf, c));
    }
    println!("];");
}
