//! Prints the measured codec table (ratio x codec x unit) for generated data, as Markdown:
//! `cargo run --release --example measure -- [MiB per sample] [ratios...] [--snappy]`
//! (`--snappy`: data made for snappy, `compress_codec = snappy`).
use dgen::analyze::{analyze_bytes, AnalyzeOptions, Codec};
use dgen::size::format_size;
use dgen::{GenParams, Generator};

fn main() {
    let snappy = std::env::args().any(|a| a == "--snappy");
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--snappy")
        .collect();
    let mib: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(64);
    let ratios: Vec<f64> = if args.len() > 1 {
        args[1..]
            .iter()
            .map(|a| a.parse().expect("a ratio"))
            .collect()
    } else {
        vec![1.0, 1.5, 2.0, 3.0, 4.0, 8.0]
    };
    let opts = AnalyzeOptions::default();
    let mut buf = vec![0u8; mib << 20];
    print!("| c | codec |");
    for u in &opts.units {
        print!(" {} |", format_size(*u));
    }
    println!(" 4KiB p5 / p50 / p95 | 4KiB units within 10% |");
    println!("|---|---|{}---|---|", "---|".repeat(opts.units.len()));
    for c in ratios {
        let p = GenParams {
            compress_ratio: c,
            compress_codec: if snappy {
                dgen::CompressCodec::Snappy
            } else {
                dgen::CompressCodec::Lz
            },
            ..GenParams::new(7)
        };
        Generator::new(p).unwrap().fill_parallel(0, &mut buf);
        let r = analyze_bytes(&buf, &opts).unwrap();
        for &codec in Codec::ALL {
            print!("| {c} | {} |", codec.name());
            for u in &r.units {
                let ratio = u.codec(codec).unwrap().ratio;
                print!(" {ratio:.3} ({:+.1}%) |", (ratio / c - 1.0) * 100.0);
            }
            let h = r.units[0].codec(codec).unwrap();
            println!(
                " {:.2} / {:.2} / {:.2} | {:.1}% |",
                h.p5.unwrap(),
                h.p50.unwrap(),
                h.p95.unwrap(),
                h.histogram.share_within(c, 0.10) * 100.0
            );
        }
    }
}
