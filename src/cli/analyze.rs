//! `dgen analyze`: what an array would see in a file (dedup, compression per codec, zero units).

use super::data_args::size_arg;
use clap::Args;
use dgen::analyze::{
    analyze_file_with_cdc, AnalyzeOptions, Codec, Report, DEFAULT_CDC_AVERAGES, DEFAULT_UNITS,
};
use dgen::size::format_size;
use dgen::{Error, Result};
use std::path::PathBuf;

/// Arguments of `dgen analyze`.
#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// File (or block device) to analyze.
    pub file: PathBuf,
    /// Unit sizes, comma-separated (powers of two from 512 bytes to 64MiB).
    #[arg(long, value_delimiter = ',', value_parser = size_arg, default_values_t = DEFAULT_UNITS.to_vec(), value_name = "SIZES")]
    pub units: Vec<u64>,
    /// Codecs, comma-separated: zstd-1, zstd-3, lz4, deflate-1, deflate-6, snappy, lzo1x-1 (with
    /// the default `lzo` feature), brotli-1. Default: all of them.
    #[arg(long, value_delimiter = ',', value_parser = codec_arg, value_name = "CODECS")]
    pub codecs: Vec<Codec>,
    /// FastCDC (2020) average chunk sizes, comma-separated (powers of two from 1KiB to 4MiB; min
    /// and max chunk are avg/4 and avg*4): the dedup ratio with content-defined chunks.
    #[arg(long, value_delimiter = ',', value_parser = size_arg, default_values_t = DEFAULT_CDC_AVERAGES.to_vec(), value_name = "SIZES")]
    pub cdc: Vec<u64>,
    /// Skip the FastCDC measurement.
    #[arg(long, conflicts_with = "cdc")]
    pub no_cdc: bool,
    /// Analyze only the first SIZE bytes.
    #[arg(long, value_parser = size_arg, value_name = "SIZE")]
    pub limit: Option<u64>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

fn codec_arg(text: &str) -> Result<Codec, String> {
    Codec::ALL
        .iter()
        .copied()
        .find(|c| c.name() == text)
        .ok_or_else(|| {
            let known: Vec<&str> = Codec::ALL.iter().map(|c| c.name()).collect();
            format!("unknown codec {text:?} (known: {})", known.join(", "))
        })
}

/// Runs `dgen analyze`; returns the exit status.
pub fn run(args: AnalyzeArgs) -> Result<i32> {
    let opts = AnalyzeOptions {
        units: args.units,
        codecs: if args.codecs.is_empty() {
            Codec::ALL.to_vec()
        } else {
            args.codecs
        },
        limit: args.limit,
    };
    let cdc = if args.no_cdc { Vec::new() } else { args.cdc };
    let report = analyze_file_with_cdc(&args.file, &opts, &cdc)?;
    // Data smaller than a unit has no ratio at that unit: an error, not a row of zeros.
    if let Some(u) = report.units.iter().find(|u| u.units == 0) {
        return Err(Error::invalid(
            "file",
            format!(
                "{}: {} bytes analyzed, less than one {} unit: no ratio to report (use smaller \
                 --units or more data)",
                args.file.display(),
                report.bytes,
                format_size(u.unit)
            ),
        ));
    }
    if args.json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Error::io("print", "<json>", None, e.into()))?;
        println!("{text}");
    } else {
        print_table(&args.file, &report);
    }
    Ok(0)
}

fn print_table(file: &std::path::Path, r: &Report) {
    println!(
        "{}: {} analyzed in {:.2} s ({:.0} MB/s over {} unit sizes)",
        file.display(),
        format_size(r.bytes),
        r.seconds,
        r.throughput_mbps,
        r.units.len()
    );
    let Some(first) = r.units.first() else { return };
    print!("{:>8} {:>9} {:>7} {:>7}", "unit", "units", "dedup", "zero%");
    for c in &first.compression {
        print!(" {:>9}", c.codec.name());
    }
    println!();
    for u in &r.units {
        print!(
            "{:>8} {:>9} {:>7.3} {:>7.2}",
            format_size(u.unit),
            u.units,
            u.dedup_ratio,
            u.zero_share * 100.0
        );
        for c in &u.compression {
            print!(" {:>9.3}", c.ratio);
        }
        println!();
    }
    if !r.cdc.is_empty() {
        println!(
            "FastCDC 2020 (min avg/4, max avg*4), dedup = bytes / bytes of distinct chunks (xxh3-128):"
        );
        println!(
            "{:>8} {:>9} {:>9} {:>10} {:>7}",
            "avg", "chunks", "distinct", "mean size", "dedup"
        );
        for c in &r.cdc {
            println!(
                "{:>8} {:>9} {:>9} {:>10.0} {:>7.3}",
                format_size(c.avg),
                c.chunks,
                c.distinct,
                c.mean_chunk,
                c.dedup_ratio
            );
        }
    }
    if r.units.iter().any(|u| u.copies.copied > 0) {
        println!("copies per original (originals with copies: share, copies p50 / p90 / p99 / max, share of copies to the top 1% / 10%):");
        for u in &r.units {
            let c = &u.copies;
            println!(
                "{:>8} {:>6.1}%  {} / {} / {} / {}  {:.1}% / {:.1}%",
                format_size(u.unit),
                c.copied_share * 100.0,
                c.p50,
                c.p90,
                c.p99,
                c.max,
                c.top1_share * 100.0,
                c.top10_share * 100.0
            );
        }
    }
    if let Some(first) = r.units.first() {
        println!(
            "compression speed (MB/s on one core; compare a sample with data made to mimic it):"
        );
        print!("{:>8}", "unit");
        for c in &first.compression {
            print!(" {:>9}", c.codec.name());
        }
        println!();
        for u in &r.units {
            print!("{:>8}", format_size(u.unit));
            for c in &u.compression {
                print!(" {:>9.0}", c.speed_mbps);
            }
            println!();
        }
    }
    if let Some(u) = r.units.iter().min_by_key(|u| u.unit) {
        println!(
            "per-unit compression ratio at {} (p5 / p50 / p95):",
            format_size(u.unit)
        );
        for c in &u.compression {
            let f = |v: Option<f64>| v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into());
            println!(
                "  {:>9}  {} / {} / {}",
                c.codec.name(),
                f(c.p5),
                f(c.p50),
                f(c.p95)
            );
        }
        print_histogram(u);
    }
}

/// The per-unit ratios of `u` in half-octave bins, one column per codec (share of units).
fn print_histogram(u: &dgen::analyze::UnitReport) {
    let mut centers: Vec<f64> = u
        .compression
        .iter()
        .flat_map(|c| c.bins.iter().map(|b| b.center))
        .collect();
    centers.sort_by(f64::total_cmp);
    centers.dedup();
    println!(
        "per-unit compression ratio histogram at {} (share of units per half-octave bin):",
        format_size(u.unit)
    );
    print!("  {:>13}", "ratio");
    for c in &u.compression {
        print!(" {:>9}", c.codec.name());
    }
    println!();
    for center in centers {
        let bin = u
            .compression
            .iter()
            .flat_map(|c| c.bins.iter())
            .find(|b| b.center == center)
            .expect("a bin with this centre");
        let range = match (bin.low, bin.high) {
            (None, Some(h)) => format!("< {h:.2}"),
            (Some(l), Some(h)) => format!("{l:.2}-{h:.2}"),
            (Some(l), None) => format!(">= {l:.2}"),
            (None, None) => "all".to_string(),
        };
        print!("  {range:>13}");
        for c in &u.compression {
            let share = c
                .bins
                .iter()
                .find(|b| b.center == center)
                .map_or(0.0, |b| b.share);
            print!(" {:>8.1}%", share * 100.0);
        }
        println!();
    }
}
