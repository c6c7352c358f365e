//! Measures, for a grid of lz4 ratios and literal alphabets, the ratio zstd-1 sees, and prints
//! `ENTROPY_TABLE` for `src/gen/calibration.rs` (per-codec ratios, `--compress lz4=2.2,zstd=3.5`).
//!
//! `cargo run --release --example calibrate_entropy -- [MiB per sample]` (default 8).
//!
//! A cell is the geometric mean of zstd-1's ratios over 8 KiB and 1 MiB units; NaN where lz4 at
//! 8 KiB moves more than 2.5% from the plain data's, or zstd-3 at 8 KiB more than 3% from zstd-1
//! (few literal values give short matches that those codecs find).
use dgen::analyze::{analyze_bytes, AnalyzeOptions, Codec};
use dgen::{GenParams, Generator};

const LZ4: [f64; 16] = [
    1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0, 20.0, 30.0, 50.0,
];
const SYMBOLS: [u16; 10] = [256, 181, 128, 100, 76, 56, 45, 36, 30, 26];

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .map_or(8, |a| a.parse().expect("MiB"));
    let mut buf = vec![0u8; mib << 20];
    let opts = AnalyzeOptions {
        units: vec![8 << 10, 1 << 20],
        codecs: vec![Codec::Lz4, Codec::Zstd1, Codec::Zstd3],
        limit: None,
    };
    println!(
        "const ENTROPY_TABLE: [(f64, [f64; {}]); {}] = [",
        SYMBOLS.len(),
        LZ4.len()
    );
    for c in LZ4 {
        let mut p = GenParams::new(11);
        p.compress_ratio = c;
        let mut plain_lz4 = 0.0;
        let mut row = Vec::new();
        for m in SYMBOLS {
            Generator::with_literal_symbols(p.clone(), m)
                .unwrap()
                .fill_parallel(0, &mut buf);
            let r = analyze_bytes(&buf, &opts).unwrap();
            let at = |unit: u64, codec: Codec| r.unit(unit).unwrap().codec(codec).unwrap().ratio;
            let lz4 = at(8 << 10, Codec::Lz4);
            if m == 256 {
                plain_lz4 = lz4;
            }
            let z8 = at(8 << 10, Codec::Zstd1);
            let z3 = at(8 << 10, Codec::Zstd3);
            let z = (z8 * at(1 << 20, Codec::Zstd1)).sqrt();
            let ok = (lz4 / plain_lz4 - 1.0).abs() <= 0.025 && (z3 / z8 - 1.0).abs() <= 0.03;
            row.push(if ok {
                format!("{z:.3}")
            } else {
                "f64::NAN".into()
            });
        }
        println!("    ({c:.2}, [{}]),", row.join(", "));
    }
    println!("];");
}
