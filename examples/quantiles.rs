//! Diagnostic (not a test): where a generated file's per-chunk ratios part from a profile's.
//! `cargo run --release --example quantiles -- PROFILE FILE UNIT CODEC` (UNIT: 32k, 131072, ...)
use dgen::analyze::{analyze_file, AnalyzeOptions, Codec};

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let profile = dgen::profile::load(&a[0]).expect("profile");
    let unit = dgen::size::parse_size("UNIT", &a[2]).expect("unit (32768, 32k, ...)");
    let codec = Codec::ALL
        .iter()
        .copied()
        .find(|c| c.name() == a[3])
        .expect("codec");
    let opts = AnalyzeOptions {
        units: vec![unit],
        codecs: vec![codec],
        limit: None,
    };
    let report = analyze_file(std::path::Path::new(&a[1]), &opts).expect("analyze");
    let c = report.unit(unit).unwrap().codec(codec).unwrap();
    let s = &profile.unit(unit).unwrap().codecs[&a[3]];
    let n = dgen::profile::QUANTILES;
    println!("ratio sample {:.4} generated {:.4}", s.ratio, c.ratio);
    for k in 0..=n {
        let p = k as f64 / n as f64;
        let q = s.quantiles[k];
        let d = f64::max(
            c.histogram.share_below(q) - p,
            p - c.histogram.share_at_most(q),
        );
        let g = c.histogram.percentile(p * 100.0).unwrap_or(0.0);
        println!("{k:2} {p:.3} sample {q:.4} generated {g:.4} d {d:+.3}");
    }
}
