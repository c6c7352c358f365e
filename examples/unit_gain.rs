//! Diagnostic (not a test): what a larger unit gains over its pieces compressed apart, by band of
//! the chunks' ratio, for a sample and for data generated from its profile side by side.
//!
//! `cargo run --release --example unit_gain -- UNIT PIECE FILE [FILE ...]`
//! (for example `32k 8k sample.bin generated.bin`; `LIMIT=256m` bytes read per file).
//!
//! For each chunk of UNIT bytes: its lz4 ratio as its pieces of PIECE bytes give it (their
//! bytes over their compressed bytes summed), and the gain per codec (the pieces' compressed
//! bytes summed over the chunk's). Chunks are grouped in bands of that ratio; per band, the share
//! of the chunks and the gain's quartiles with lz4 and zstd-1. A profile's echoes make its larger
//! units gain: where a sample's band gains and the generated one does not (or the other way
//! round), the per-chunk distributions part at the larger unit however the classes are laid out
//! (this is how `compressed`'s weakly compressible chunks were seen to gain 0.7% at 32 KiB in the
//! sample and nothing in dgen's data).

use dgen::analyze::{Codec, Compressors};
use std::io::Read;

/// Upper bounds of the bands of the chunks' lz4 ratio from their pieces.
const BANDS: [f64; 8] = [0.9965, 1.005, 1.02, 1.05, 1.1, 1.3, 2.0, f64::INFINITY];
const CODECS: [Codec; 2] = [Codec::Lz4, Codec::Zstd1];

fn main() {
    if let Err(e) = run() {
        eprintln!("unit_gain: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        return Err("usage: unit_gain UNIT PIECE FILE [FILE ...]".into());
    }
    let unit = dgen::size::parse_size("UNIT", &args[0]).map_err(|e| e.to_string())? as usize;
    let piece = dgen::size::parse_size("PIECE", &args[1]).map_err(|e| e.to_string())? as usize;
    if piece == 0 || unit <= piece || !unit.is_multiple_of(piece) {
        return Err(format!(
            "UNIT {unit} is not a multiple of PIECE {piece} above it"
        ));
    }
    let limit = match std::env::var("LIMIT") {
        Ok(v) => dgen::size::parse_size("LIMIT", &v).map_err(|e| e.to_string())?,
        Err(_) => 256 << 20,
    };
    let mut compressors = Compressors::new(unit).map_err(|e| e.to_string())?;
    for path in &args[2..] {
        let mut data = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(limit).read_to_end(&mut data))
            .map_err(|e| format!("{path}: {e}"))?;
        // Per chunk: its lz4 ratio from its pieces, and its gain per codec.
        let mut chunks: Vec<(f64, [f64; 2])> = Vec::new();
        for chunk in data.chunks_exact(unit) {
            let mut ratio = 0.0;
            let mut gains = [0.0; 2];
            for (i, codec) in CODECS.into_iter().enumerate() {
                let mut apart = 0;
                for p in chunk.chunks_exact(piece) {
                    apart += compressors
                        .compressed_len(codec, p)
                        .map_err(|e| e.to_string())?;
                }
                let whole = compressors
                    .compressed_len(codec, chunk)
                    .map_err(|e| e.to_string())?;
                gains[i] = apart as f64 / whole.max(1) as f64;
                if codec == Codec::Lz4 {
                    ratio = unit as f64 / apart.max(1) as f64;
                }
            }
            chunks.push((ratio, gains));
        }
        if chunks.is_empty() {
            return Err(format!("{path}: shorter than one UNIT ({unit} bytes)"));
        }
        println!(
            "{path}: {} chunks of {unit} bytes, pieces of {piece}",
            chunks.len()
        );
        println!("  lz4 from pieces   share   lz4 gain p25/p50/p75     zstd-1 gain p25/p50/p75");
        let mut low = 0.0;
        for high in BANDS {
            let band: Vec<&(f64, [f64; 2])> =
                chunks.iter().filter(|c| c.0 >= low && c.0 < high).collect();
            if !band.is_empty() {
                let quartiles = |i: usize| {
                    let mut g: Vec<f64> = band.iter().map(|c| c.1[i]).collect();
                    g.sort_by(f64::total_cmp);
                    let at = |q: f64| g[((g.len() - 1) as f64 * q).round() as usize];
                    format!("{:.4} {:.4} {:.4}", at(0.25), at(0.5), at(0.75))
                };
                println!(
                    "  [{low:.4}, {high:.4})  {:.3}   {}   {}",
                    band.len() as f64 / chunks.len() as f64,
                    quartiles(0),
                    quartiles(1)
                );
            }
            low = high;
        }
    }
    Ok(())
}
