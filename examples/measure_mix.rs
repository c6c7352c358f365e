//! Prints, as Markdown, what real codecs measure on a compressibility mix: each class's ratio
//! (units inside its blocks) at units up to the dedup block, and the aggregate at every unit:
//! `cargo run --release --example measure_mix -- [MiB] [MIX] [dedup unit KiB]`
//! (defaults: 64, `1:30%,4:50%,16:20%`, 128). The aggregate's deviation is from
//! `1 / sum(share_i / ratio_i)` with the sample's own class counts (they are the mix's shares to
//! within a few blocks; the nominal figure is printed too).
use dgen::analyze::{Codec, Compressors};
use dgen::size::format_size;
use dgen::{GenParams, Generator};
use rayon::prelude::*;

const UNITS: [usize; 5] = [4 << 10, 8 << 10, 32 << 10, 128 << 10, 1 << 20];
const CODECS: [Codec; 4] = [Codec::Lz4, Codec::Zstd1, Codec::Zstd3, Codec::Deflate1];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mib: usize = args.first().map_or(64, |a| a.parse().expect("MiB"));
    let mix_text = args.get(1).map_or("1:30%,4:50%,16:20%", |s| s.as_str());
    let block: usize = args.get(2).map_or(128, |a| a.parse().expect("KiB")) << 10;
    let mut p = GenParams::new(7);
    p.dedup_unit = block as u64;
    p.set_compress(mix_text.parse().expect("a mix"));
    let mix = p.compress_mix.clone().expect("a mix, not one ratio");
    let g = Generator::new(p).unwrap();
    let mut data = vec![0u8; mib << 20];
    g.fill_parallel(0, &mut data);
    let blocks = data.len() / block;
    let class_of: Vec<usize> = (0..blocks as u64)
        .map(|b| g.compress_class(g.initial_content(b).slot).unwrap())
        .collect();
    let k = mix.classes().len();
    let mut counts = vec![0usize; k];
    for &c in &class_of {
        counts[c] += 1;
    }
    let actual = blocks as f64
        / (0..k)
            .map(|c| counts[c] as f64 / mix.classes()[c].ratio)
            .sum::<f64>();
    println!(
        "mix {mix}, {} sample, dedup unit {}: blocks per class {counts:?} of {blocks}; aggregate \
         {:.4} nominal, {actual:.4} for these counts",
        format_size(data.len() as u64),
        format_size(block as u64),
        mix.aggregate_ratio()
    );
    print!("| codec | what |");
    for u in UNITS {
        print!(" {} |", format_size(u as u64));
    }
    println!();
    println!("|---|---|{}", "---|".repeat(UNITS.len()));
    for codec in CODECS {
        // (raw, compressed) bytes per class, per unit; classes only where a unit lies in a block
        let sums: Vec<Vec<(u64, u64)>> = UNITS
            .iter()
            .map(|&unit| {
                data.par_chunks_exact(unit)
                    .enumerate()
                    .map_init(
                        || Compressors::new(1 << 20).unwrap(),
                        |comp, (i, chunk)| {
                            let class = if unit <= block {
                                class_of[i * unit / block]
                            } else {
                                k
                            };
                            (class, comp.compressed_len(codec, chunk).unwrap() as u64)
                        },
                    )
                    .fold(
                        || vec![(0u64, 0u64); k + 1],
                        |mut acc, (class, len)| {
                            acc[class].0 += unit as u64;
                            acc[class].1 += len;
                            acc
                        },
                    )
                    .reduce(
                        || vec![(0u64, 0u64); k + 1],
                        |mut a, b| {
                            for (x, y) in a.iter_mut().zip(b) {
                                x.0 += y.0;
                                x.1 += y.1;
                            }
                            a
                        },
                    )
            })
            .collect();
        for (c, class) in mix.classes().iter().enumerate() {
            print!(
                "| {} | class {}:1 ({}%) |",
                codec.name(),
                class.ratio,
                class.percent
            );
            for (u, s) in UNITS.iter().zip(&sums) {
                if *u > block {
                    print!(" - |");
                } else {
                    let r = s[c].0 as f64 / s[c].1 as f64;
                    print!(" {r:.3} ({:+.1}%) |", (r / class.ratio - 1.0) * 100.0);
                }
            }
            println!();
        }
        print!("| {} | **aggregate** |", codec.name());
        for s in &sums {
            let raw: u64 = s.iter().map(|x| x.0).sum();
            let packed: u64 = s.iter().map(|x| x.1).sum();
            let r = raw as f64 / packed as f64;
            print!(" **{r:.3}** ({:+.1}%) |", (r / actual - 1.0) * 100.0);
        }
        println!();
    }
}
