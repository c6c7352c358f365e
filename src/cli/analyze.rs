//! `dgen analyze`: what an array would see in a file (dedup, compression per codec, zero units).

use super::data_args::{profile_arg, size_arg, ProfileArg};
use super::report::{msgln, out, outln};
use clap::Args;
use dgen::analyze::{
    analyze_file_recording, AnalyzeOptions, Codec, Report, DEFAULT_CDC_AVERAGES, DEFAULT_UNITS,
};
use dgen::size::format_size;
use dgen::{Error, Result};
use std::path::PathBuf;

/// Arguments of `dgen analyze`.
#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// File (or block device) to analyze; `-` reads standard input (`zcat sample.gz | dgen
    /// analyze - --profile p.json`).
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
    /// Write the sample's anonymous profile (no content bytes, a few KiB) to FILE, for
    /// `dgen gen --profile FILE` (README, "Profiles"). Needs the lz4 and zstd-1 codecs.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// The profile's reference unit (its classes, zero share and dedup ratio are taken there, and
    /// data made from it has this dedup unit). Default: 32KiB, or the analyzed unit nearest to it.
    #[arg(long, value_parser = size_arg, value_name = "SIZE", requires = "profile")]
    pub profile_unit: Option<u64>,
    /// The profile's name (default: the sample's file stem).
    #[arg(long, value_name = "NAME", requires = "profile")]
    pub profile_name: Option<String>,
    /// Compare the file with a profile (built-in name or file): ratio per codec and unit, the
    /// Kolmogorov-Smirnov distance of the per-chunk ratios, and compression speeds, side by side.
    #[arg(long, value_name = "NAME|PATH", value_parser = profile_arg)]
    pub against: Option<ProfileArg>,
    /// Also start the profile's fit from this profile's shape (built-in name or file: its runs,
    /// blend, echoes and literal alphabet, on this sample's classes): an earlier profile of the
    /// same sample, or of a similar one. The fit keeps whichever start measures best.
    #[arg(long, value_name = "NAME|PATH", value_parser = profile_arg, requires = "profile")]
    pub fit_from: Option<ProfileArg>,
}

/// The reference unit: the one asked (added to the units), else 32KiB or the unit nearest it.
fn reference_unit(args: &AnalyzeArgs, units: &mut Vec<u64>) -> Result<u64> {
    if let Some(u) = args.profile_unit {
        dgen::params::check_dedup_unit(u).map_err(|_| {
            Error::invalid(
                "profile unit",
                format!("{u} must be a power of two from 4KiB to 16MiB"),
            )
        })?;
        if !units.contains(&u) {
            units.push(u);
            units.sort_unstable();
        }
        return Ok(u);
    }
    let default = dgen::profile::DEFAULT_REFERENCE_UNIT;
    units
        .iter()
        .copied()
        .filter(|&u| dgen::params::check_dedup_unit(u).is_ok())
        .min_by_key(|&u| (u.max(default) / u.min(default), u))
        .ok_or_else(|| {
            Error::invalid(
                "units",
                "a profile needs a unit from 4KiB to 16MiB among --units",
            )
        })
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
pub fn run(mut args: AnalyzeArgs) -> Result<i32> {
    if args.file.as_os_str() == "-" {
        args.file = PathBuf::from("/dev/stdin");
    }
    // Loaded as the arguments are parsed: a bad profile fails at once, naming its flag.
    let against = args.against.as_ref().map(|a| &*a.profile);
    let fit_from: Vec<dgen::profile::Profile> =
        args.fit_from.iter().map(|a| (*a.profile).clone()).collect();
    let mut units = args.units.clone();
    let reference = match &args.profile {
        Some(_) => Some(reference_unit(&args, &mut units)?),
        None => None,
    };
    let opts = AnalyzeOptions {
        units,
        codecs: if args.codecs.is_empty() {
            Codec::ALL.to_vec()
        } else {
            args.codecs.clone()
        },
        limit: args.limit,
    };
    if reference.is_some() {
        for c in [Codec::Lz4, Codec::Zstd1] {
            if !opts.codecs.contains(&c) {
                return Err(Error::invalid(
                    "codecs",
                    format!("a profile needs {} (add it to --codecs)", c.name()),
                ));
            }
        }
    }
    let cdc = if args.no_cdc {
        Vec::new()
    } else {
        args.cdc.clone()
    };
    let class_unit = reference.map(|r| dgen::profile::class_unit_for(&opts.units, r));
    let (report, records) = analyze_file_recording(&args.file, &opts, &cdc, class_unit)?;
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
    if let (Some(path), Some(unit), Some(class_unit)) = (&args.profile, reference, class_unit) {
        let name = args.profile_name.clone().unwrap_or_else(|| {
            args.file
                .file_stem()
                .map_or_else(|| "sample".into(), |s| s.to_string_lossy().into_owned())
        });
        msgln!(
            "dgen: fitting the profile's runs, blend and echoes (a simulation, then candidates \
             generated and measured with lz4 and zstd-1: one to three minutes)"
        );
        let spinner = super::io_args::spinner("dgen: fit");
        if let Some(s) = &spinner {
            s.set_message("simulating");
        }
        let (profile, refinement) = dgen::profile::profile_from_analysis(
            &name,
            &report,
            &opts.codecs,
            &records,
            unit,
            class_unit,
            &fit_from,
            &mut |measured, lowest| {
                if let Some(s) = &spinner {
                    s.set_message(format!(
                        "{measured} candidates measured, lowest cost {lowest:.3}"
                    ));
                }
            },
        )?;
        if let Some(s) = spinner {
            s.finish_and_clear();
        }
        if let Some(r) = refinement {
            msgln!(
                "dgen: fit measured {} candidates: cost (KS distances to the sample summed, \
                 with what is above 0.1 and aggregate errors above 1.5%) {:.3} -> {:.3} ({} kinds \
                 of regions)",
                r.measured,
                r.before,
                r.after,
                profile.kinds.len()
            );
            msgln!(
                "dgen: the profile's data, made with the fit's seed and measured against the \
                 sample: {}",
                r.verdict
            );
        }
        let text = profile.to_json() + "\n";
        std::fs::write(path, &text).map_err(|e| Error::io("create", path, None, e))?;
        msgln!(
            "dgen: profile {name:?} written to {} ({} bytes: {} classes at {}, reference unit {}, \
             {} units)",
            path.display(),
            text.len(),
            profile.classes.len(),
            format_size(class_unit),
            format_size(unit),
            profile.units.len()
        );
    }
    let comparison = against.as_ref().map(|p| dgen::profile::compare(p, &report));
    if args.json {
        let mut value = serde_json::to_value(&report)
            .map_err(|e| Error::io("print", "<json>", None, e.into()))?;
        if let Some(c) = &comparison {
            value["against"] = serde_json::to_value(c)
                .map_err(|e| Error::io("print", "<json>", None, e.into()))?;
        }
        let text = serde_json::to_string_pretty(&value)
            .map_err(|e| Error::io("print", "<json>", None, e.into()))?;
        outln!("{text}");
    } else {
        print_table(&args.file, &report)?;
        if let Some(c) = &comparison {
            print_comparison(c)?;
        }
    }
    Ok(0)
}

/// The comparison with a profile, one row per unit and codec.
fn print_comparison(c: &dgen::profile::Comparison) -> Result<()> {
    outln!(
        "against profile {:?} (ratio: sample / this file, error; KS: Kolmogorov-Smirnov distance \
         of per-unit ratios, and what chance alone reaches 1 time in 20 at these chunk counts; \
         speed MB/s: sample / this file):",
        c.profile
    );
    outln!(
        "{:>8} {:>9} {:>8} {:>8} {:>8} {:>6} {:>6} {:>7} {:>7}",
        "unit",
        "codec",
        "sample",
        "this",
        "error",
        "KS",
        "chance",
        "s-MB/s",
        "t-MB/s"
    );
    for r in &c.rows {
        // What the row misses of the profile's promise (see the verdict below).
        let miss = match (r.ratio_ok, r.ks_ok) {
            (true, true) => "",
            (false, true) => "  <- ratio",
            (true, false) => "  <- KS",
            (false, false) => "  <- ratio, KS",
        };
        outln!(
            "{:>8} {:>9} {:>8.3} {:>8.3} {:>+7.1}% {:>6.3} {:>6.3} {:>7.0} {:>7.0}{miss}",
            format_size(r.unit),
            r.codec,
            r.sample_ratio,
            r.generated_ratio,
            r.ratio_error * 100.0,
            r.ks,
            r.ks_chance,
            r.sample_speed_mbps,
            r.generated_speed_mbps
        );
    }
    outln!("{:>8} {:>13} {:>15}", "unit", "dedup s/t", "zero% s/t");
    for &(unit, sd, gd, sz, gz) in &c.dedup {
        outln!(
            "{:>8} {:>6.3}/{:<6.3} {:>7.2}/{:<7.2}",
            format_size(unit),
            sd,
            gd,
            sz * 100.0,
            gz * 100.0
        );
    }
    outln!("verdict: {}", c.verdict());
    Ok(())
}

fn print_table(file: &std::path::Path, r: &Report) -> Result<()> {
    outln!(
        "{}: {} analyzed in {:.2} s ({:.0} MB/s over {} unit sizes)",
        file.display(),
        format_size(r.bytes),
        r.seconds,
        r.throughput_mbps,
        r.units.len()
    );
    let Some(first) = r.units.first() else {
        return Ok(());
    };
    out!("{:>8} {:>9} {:>7} {:>7}", "unit", "units", "dedup", "zero%");
    for c in &first.compression {
        out!(" {:>9}", c.codec.name());
    }
    outln!();
    for u in &r.units {
        out!(
            "{:>8} {:>9} {:>7.3} {:>7.2}",
            format_size(u.unit),
            u.units,
            u.dedup_ratio,
            u.zero_share * 100.0
        );
        for c in &u.compression {
            out!(" {:>9.3}", c.ratio);
        }
        outln!();
    }
    if !r.cdc.is_empty() {
        outln!(
            "FastCDC 2020 (min avg/4, max avg*4), dedup = bytes / bytes of distinct chunks (xxh3-128):"
        );
        outln!(
            "{:>8} {:>9} {:>9} {:>10} {:>7}",
            "avg",
            "chunks",
            "distinct",
            "mean size",
            "dedup"
        );
        for c in &r.cdc {
            outln!(
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
        outln!("copies per original (originals with copies: share, copies p50 / p90 / p99 / max, share of copies to the top 1% / 10%):");
        for u in &r.units {
            let c = &u.copies;
            outln!(
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
        outln!(
            "compression speed (MB/s on one core; compare a sample with data made to mimic it):"
        );
        out!("{:>8}", "unit");
        for c in &first.compression {
            out!(" {:>9}", c.codec.name());
        }
        outln!();
        for u in &r.units {
            out!("{:>8}", format_size(u.unit));
            for c in &u.compression {
                out!(" {:>9.0}", c.speed_mbps);
            }
            outln!();
        }
    }
    if let Some(u) = r.units.iter().min_by_key(|u| u.unit) {
        outln!(
            "per-unit compression ratio at {} (p5 / p50 / p95):",
            format_size(u.unit)
        );
        for c in &u.compression {
            let f = |v: Option<f64>| v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into());
            outln!(
                "  {:>9}  {} / {} / {}",
                c.codec.name(),
                f(c.p5),
                f(c.p50),
                f(c.p95)
            );
        }
        print_histogram(u)?;
    }
    Ok(())
}

/// The per-unit ratios of `u` in half-octave bins, one column per codec (share of units).
fn print_histogram(u: &dgen::analyze::UnitReport) -> Result<()> {
    let mut centers: Vec<f64> = u
        .compression
        .iter()
        .flat_map(|c| c.bins.iter().map(|b| b.center))
        .collect();
    centers.sort_by(f64::total_cmp);
    centers.dedup();
    outln!(
        "per-unit compression ratio histogram at {} (share of units per half-octave bin):",
        format_size(u.unit)
    );
    out!("  {:>13}", "ratio");
    for c in &u.compression {
        out!(" {:>9}", c.codec.name());
    }
    outln!();
    for center in centers {
        let Some(bin) = u
            .compression
            .iter()
            .flat_map(|c| c.bins.iter())
            .find(|b| b.center == center)
        else {
            continue;
        };
        let range = match (bin.low, bin.high) {
            (None, Some(h)) => format!("< {h:.2}"),
            (Some(l), Some(h)) => format!("{l:.2}-{h:.2}"),
            (Some(l), None) => format!(">= {l:.2}"),
            (None, None) => "all".to_string(),
        };
        out!("  {range:>13}");
        for c in &u.compression {
            let share = c
                .bins
                .iter()
                .find(|b| b.center == center)
                .map_or(0.0, |b| b.share);
            out!(" {:>8.1}%", share * 100.0);
        }
        outln!();
    }
    Ok(())
}
