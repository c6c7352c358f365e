//! Calibrates a profile's class pieces: prints `PIECE_TABLE` and `PIECE_ENTROPY_TABLE` for
//! `src/gen/calibration.rs`.
//!
//! `cargo run --release --example calibrate_piece -- [MiB per sample]` (default 16; 10 s on
//! 2 cores).
//!
//! A profile gives each class its lz4 and zstd-1 ratios *at 8 KiB* (the class unit), and its
//! pieces must have them there: the tables of plain data (`TABLE`, `ENTROPY_TABLE`) balance the
//! errors over 4 KiB to 1 MiB instead, which leaves 8 KiB pieces up to 2% off (lz4 +0.7% at 2:1,
//! -2.4% at 10:1; zstd-1 -1% against the 8 KiB-1 MiB mean), more than a narrow band of a sample's
//! per-chunk ratios is wide (a database's table pages: half its chunks within 4%).
//!
//! The pieces are made as a profile's are, in the layouts with a re-sync piece (`Layout::draw`).
//! `PIECE_TABLE`: per lz4 ratio, the literal bytes per atom at which lz4 over 8 KiB units
//! measures exactly that ratio (plain literals). Then per lz4 ratio (made with `PIECE_TABLE`'s
//! literal bytes) and per literal alphabet `SYMBOLS[j]`: `PIECE_ZSTD`, zstd-1's ratio at 8 KiB;
//! `PIECE_LZ4_FACTOR`, lz4's ratio at 8 KiB over the plain literals' (few values give lz4 a few
//! short matches too). A cell is NaN where that lz4 factor is above 1.025 or
//! zstd-3 at 8 KiB moves more than 3% from zstd-1.
use dgen::analyze::{analyze_bytes, AnalyzeOptions, Codec, Report};
use dgen::{GenParams, Generator};

const GRID: [f64; 23] = [
    1.05, 1.1, 1.2, 1.3, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0, 20.0,
    25.0, 30.0, 35.0, 40.0, 50.0,
];
const ENTROPY_LZ4: [f64; 16] = [
    1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0, 20.0, 30.0, 50.0,
];
const SYMBOLS: [u16; 10] = [256, 181, 128, 100, 76, 56, 45, 36, 30, 26];
const KIB8: u64 = 8 << 10;

fn measure(
    buf: &mut [u8],
    literal: f64,
    symbols: u16,
    codecs: Vec<Codec>,
    units: Vec<u64>,
) -> Report {
    Generator::with_literal_plan(GenParams::new(11), literal, symbols)
        .unwrap()
        .fill_parallel(0, buf);
    let opts = AnalyzeOptions {
        units,
        codecs,
        limit: None,
    };
    analyze_bytes(buf, &opts).unwrap()
}

fn ratio(r: &Report, unit: u64, codec: Codec) -> f64 {
    r.unit(unit).unwrap().codec(codec).unwrap().ratio
}

/// lz4 at 8 KiB for `literal` literal bytes per atom (plain literals).
fn lz4_8k(buf: &mut [u8], literal: f64) -> f64 {
    ratio(
        &measure(buf, literal, 256, vec![Codec::Lz4], vec![KIB8]),
        KIB8,
        Codec::Lz4,
    )
}

/// The literal bytes at which lz4 at 8 KiB measures `c`: bisection in `ln(literal)` (the ratio
/// falls as literals rise), to within 0.05%.
fn literal_for(buf: &mut [u8], c: f64) -> f64 {
    if c <= 1.0 {
        return 4096.0;
    }
    let (mut lo, mut hi) = ((4096.0 / c * 0.7).max(1.0), (4096.0 / c * 1.3).min(4096.0));
    for _ in 0..40 {
        let mid = (lo * hi).sqrt();
        if hi / lo < 1.0005 {
            break;
        }
        if lz4_8k(buf, mid) > c {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo * hi).sqrt()
}

/// The literal bytes for `c` interpolated in `1/c` between the calibrated grid points.
fn interpolate(table: &[(f64, f64)], c: f64) -> f64 {
    if c <= 1.0 {
        return 4096.0;
    }
    let upper = table
        .iter()
        .position(|&(r, _)| r >= c)
        .unwrap_or(table.len() - 1)
        .max(1);
    let ((c0, l0), (c1, l1)) = (table[upper - 1], table[upper]);
    let t = (1.0 / c - 1.0 / c0) / (1.0 / c1 - 1.0 / c0);
    l0 + t * (l1 - l0)
}

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .map_or(16, |a| a.parse().expect("MiB"));
    let mut buf = vec![0u8; mib << 20];
    let mut table = vec![(1.0, 4096.0)];
    println!("const PIECE_TABLE: [(f64, f64); {}] = [", GRID.len() + 1);
    println!("    (1.00, 4096.00),");
    for c in GRID {
        let l = literal_for(&mut buf, c);
        println!("    ({c:.2}, {l:.2}),");
        table.push((c, l));
    }
    println!("];");
    // Two tables of the same shape (lz4 ratio, one value per alphabet).
    let mut rows: Vec<(f64, Vec<Option<[f64; 2]>>)> = Vec::new();
    for c in ENTROPY_LZ4 {
        let l = interpolate(&table, c);
        let mut plain_lz4 = 0.0;
        let mut row = Vec::new();
        for m in SYMBOLS {
            let r = measure(
                &mut buf,
                l,
                m,
                vec![Codec::Lz4, Codec::Zstd1, Codec::Zstd3],
                vec![KIB8],
            );
            let lz4 = ratio(&r, KIB8, Codec::Lz4);
            if m == 256 {
                plain_lz4 = lz4;
            }
            let z8 = ratio(&r, KIB8, Codec::Zstd1);
            let z3 = ratio(&r, KIB8, Codec::Zstd3);
            let f = lz4 / plain_lz4;
            let ok = (f - 1.0).abs() <= 0.025 && (z3 / z8 - 1.0).abs() <= 0.03;
            row.push(ok.then_some([z8, f]));
        }
        rows.push((c, row));
    }
    for (k, name) in ["PIECE_ZSTD", "PIECE_LZ4_FACTOR"].iter().enumerate() {
        println!("const {name}: EntropyTable = [",);
        for (c, row) in &rows {
            let cells: Vec<String> = row
                .iter()
                .map(|cell| cell.map_or("f64::NAN".into(), |v| format!("{:.4}", v[k])))
                .collect();
            println!("    ({c:.2}, [{}]),", cells.join(", "));
        }
        println!("];");
    }
}
