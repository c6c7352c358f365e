//! Prints the codec table (codec x unit x ratio) for generated data: `cargo run --release --example measure -- [MiB] [c...]`.
use dgen::analyze::{analyze_bytes, AnalyzeOptions, Codec};
use dgen::{GenParams, Generator};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mib: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(16);
    let ratios: Vec<f64> = if args.len() > 1 {
        args[1..].iter().map(|a| a.parse().unwrap()).collect()
    } else {
        vec![1.0, 1.5, 2.0, 3.0, 4.0, 8.0]
    };
    let mut buf = vec![0u8; mib << 20];
    for c in ratios {
        let mut p = GenParams::new(7);
        p.compress_ratio = c;
        let g = Generator::new(p).unwrap();
        g.fill_parallel(0, &mut buf);
        let r = analyze_bytes(&buf, &AnalyzeOptions::default()).unwrap();
        print!("c={c:<5}");
        for codec in Codec::ALL {
            print!(" | {:>9}", codec.name());
            for u in &r.units {
                let cr = u.codec(codec).unwrap();
                print!(" {:6.3}", cr.ratio / c);
            }
        }
        let u4 = &r.units[0];
        let z = u4.codec(Codec::Zstd1).unwrap();
        println!(
            " | p5/50/95 {:.2}/{:.2}/{:.2} within10 {:.3}",
            z.p5.unwrap(),
            z.p50.unwrap(),
            z.p95.unwrap(),
            z.histogram.share_within(c, 0.1)
        );
    }
}
