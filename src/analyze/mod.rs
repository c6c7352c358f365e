//! The analyzer: measures what an array would see in a file, with real codecs and hashes.
//!
//! For each unit size it cuts the data into aligned units and reports the dedup ratio
//! (units / distinct units, by xxh3-128), the aggregate compression ratio of each codec over
//! independent units (sum of unit sizes / sum of compressed sizes), the share of all-zero units and
//! the spread of per-unit ratios (percentiles, and a histogram in half-octave bins). Work is
//! spread over the rayon pool; memory is fixed per unit size (a hash map of distinct units and
//! their counts grows with the data, about 24 bytes per distinct unit).
//!
//! [`analyze_file_with_cdc`] adds content-defined chunking ([`cdc`]: FastCDC 2020 at given average
//! chunk sizes), the dedup ratio of arrays and backup tools that cut variable-size chunks.

pub mod cdc;
mod codecs;
mod copies;
mod histogram;

pub use cdc::{CdcReport, DEFAULT_CDC_AVERAGES};
pub use codecs::{Codec, Compressors};
pub use copies::CopySummary;
pub use histogram::{HistogramBin, RatioHistogram};
// (ChunkRecord and analyze_file_recording: per-chunk records for profiles, crate::profile)

use crate::error::{Error, Result};
use rayon::prelude::*;
use std::io::Read;
use std::path::Path;
use std::time::Instant;

/// The unit sizes analyzed by default: 4K, 8K, 32K, 128K and 1M.
pub const DEFAULT_UNITS: [u64; 5] = [4 << 10, 8 << 10, 32 << 10, 128 << 10, 1 << 20];
/// Data is read and processed in pieces of this size (a multiple of every unit).
const PIECE: usize = 64 << 20;

/// What to analyze.
#[derive(Clone, Debug)]
pub struct AnalyzeOptions {
    /// Unit sizes: powers of two from 512 bytes to 64 MiB.
    pub units: Vec<u64>,
    /// Codecs to measure.
    pub codecs: Vec<Codec>,
    /// Analyze at most this many bytes from the start.
    pub limit: Option<u64>,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            units: DEFAULT_UNITS.to_vec(),
            codecs: Codec::ALL.to_vec(),
            limit: None,
        }
    }
}

impl AnalyzeOptions {
    /// Checks the unit sizes and codecs.
    pub fn validate(&self) -> Result<()> {
        if self.units.is_empty() {
            return Err(Error::invalid("units", "no unit size given"));
        }
        for &u in &self.units {
            if !u.is_power_of_two() || !(512..=PIECE as u64).contains(&u) {
                return Err(Error::invalid(
                    "units",
                    format!("{u} must be a power of two from 512 bytes to 64MiB"),
                ));
            }
        }
        if self.codecs.is_empty() {
            return Err(Error::invalid("codecs", "no codec given"));
        }
        if self.codecs.len() > MAX_CODECS {
            return Err(Error::invalid(
                "codecs",
                format!("{} given, at most {MAX_CODECS} at once", self.codecs.len()),
            ));
        }
        Ok(())
    }
}

/// One codec's result at one unit size.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CodecReport {
    /// The codec.
    pub codec: Codec,
    /// Sum of unit sizes / sum of compressed sizes.
    pub ratio: f64,
    /// 5th percentile of per-unit ratios.
    pub p5: Option<f64>,
    /// Median per-unit ratio.
    pub p50: Option<f64>,
    /// 95th percentile of per-unit ratios.
    pub p95: Option<f64>,
    /// Per-unit ratios in half-octave bins ([`RatioHistogram::half_octaves`]): a compressibility
    /// mix shows one peak per class at units up to its dedup block.
    #[serde(rename = "histogram")]
    pub bins: Vec<HistogramBin>,
    /// Per-unit ratios, for further queries.
    #[serde(skip)]
    pub histogram: RatioHistogram,
    /// Compression speed on one core: unit bytes / time spent compressing them, in MB/s (10^6
    /// bytes). Real data and data that mimics it should compress at a similar speed, not only
    /// to a similar ratio (issue 13).
    pub speed_mbps: f64,
    #[serde(skip)]
    compressed_bytes: u64,
    #[serde(skip)]
    nanos: u64,
}

/// Results at one unit size.
#[derive(Clone, Debug, serde::Serialize)]
pub struct UnitReport {
    /// Unit size in bytes.
    pub unit: u64,
    /// Number of whole units analyzed.
    pub units: u64,
    /// Number of distinct units.
    pub distinct: u64,
    /// `units / distinct`.
    pub dedup_ratio: f64,
    /// Number of units made only of zero bytes.
    pub zero_units: u64,
    /// `zero_units / units`.
    pub zero_share: f64,
    /// One entry per codec.
    pub compression: Vec<CodecReport>,
    /// Copies per original: how the duplicates spread over the distinct units.
    pub copies: CopySummary,
    #[serde(skip)]
    seen: copies::Occurrences,
}

impl UnitReport {
    /// The result of `codec`, when it was measured.
    pub fn codec(&self, codec: Codec) -> Option<&CodecReport> {
        self.compression.iter().find(|c| c.codec == codec)
    }
}

/// The analyzer's whole result.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    /// Bytes analyzed (from the start of the input).
    pub bytes: u64,
    /// Wall time of the analysis.
    pub seconds: f64,
    /// Analyzed bytes per second across all unit sizes, in MB/s (10^6).
    pub throughput_mbps: f64,
    /// One entry per unit size.
    pub units: Vec<UnitReport>,
    /// One entry per FastCDC average chunk size (empty unless asked for).
    pub cdc: Vec<CdcReport>,
}

impl Report {
    /// The result for unit size `unit`, when it was analyzed.
    pub fn unit(&self, unit: u64) -> Option<&UnitReport> {
        self.units.iter().find(|u| u.unit == unit)
    }

    /// The FastCDC result at average chunk size `avg`, when it was measured.
    pub fn cdc(&self, avg: u64) -> Option<&CdcReport> {
        self.cdc.iter().find(|c| c.avg == avg)
    }
}

/// Per-unit measurements, computed in parallel.
struct UnitSample {
    hash: u128,
    zero: bool,
    /// Compressed length per codec, in the options' codec order.
    compressed: [u32; MAX_CODECS],
    /// Nanoseconds each codec took.
    nanos: [u32; MAX_CODECS],
}

/// Room for every codec in [`UnitSample`].
pub const MAX_CODECS: usize = 8;

/// One chunk at the recorded unit ([`analyze_file_recording`]): whether it is all zeros, and
/// its compressed length by each codec (in the options' codec order; unused entries 0).
#[derive(Clone, Copy, Debug)]
pub struct ChunkRecord {
    /// All bytes zero.
    pub zero: bool,
    /// Compressed length per codec.
    pub compressed: [u32; MAX_CODECS],
}

/// Incremental analysis: feed pieces whose length is a multiple of the largest unit (the last may be shorter).
struct Analyzer {
    opts: AnalyzeOptions,
    units: Vec<UnitReport>,
    cdc: Vec<CdcReport>,
    bytes: u64,
    /// The unit whose chunks are recorded one by one, and the records.
    record: Option<(u64, Vec<ChunkRecord>)>,
}

impl Analyzer {
    fn new(opts: AnalyzeOptions, cdc_averages: &[u64]) -> Self {
        let units = opts
            .units
            .iter()
            .map(|&unit| UnitReport {
                unit,
                units: 0,
                distinct: 0,
                dedup_ratio: 0.0,
                zero_units: 0,
                zero_share: 0.0,
                compression: opts
                    .codecs
                    .iter()
                    .map(|&codec| CodecReport {
                        codec,
                        ratio: 0.0,
                        p5: None,
                        p50: None,
                        p95: None,
                        bins: Vec::new(),
                        histogram: RatioHistogram::default(),
                        speed_mbps: 0.0,
                        compressed_bytes: 0,
                        nanos: 0,
                    })
                    .collect(),
                copies: CopySummary::default(),
                seen: copies::Occurrences::default(),
            })
            .collect();
        Analyzer {
            opts,
            units,
            cdc: cdc_averages.iter().map(|&a| CdcReport::new(a)).collect(),
            bytes: 0,
            record: None,
        }
    }

    fn feed(&mut self, data: &[u8]) -> Result<()> {
        self.bytes += data.len() as u64;
        cdc::feed_all(&mut self.cdc, data);
        let max_unit = *self.opts.units.iter().max().unwrap_or(&4096) as usize;
        let codecs = self.opts.codecs.clone();
        for report in &mut self.units {
            let unit = report.unit as usize;
            let samples: Vec<std::io::Result<UnitSample>> = data
                .par_chunks_exact(unit)
                .map_init(
                    || Compressors::new(max_unit),
                    |comp, chunk| {
                        let comp = comp
                            .as_mut()
                            .map_err(|e| std::io::Error::new(e.kind(), e.to_string()))?;
                        let mut compressed = [0u32; MAX_CODECS];
                        let mut nanos = [0u32; MAX_CODECS];
                        for ((slot, time), &codec) in
                            compressed.iter_mut().zip(&mut nanos).zip(&codecs)
                        {
                            let started = Instant::now();
                            *slot = comp.compressed_len(codec, chunk)? as u32;
                            *time = started.elapsed().as_nanos().min(u32::MAX as u128) as u32;
                        }
                        Ok(UnitSample {
                            hash: xxhash_rust::xxh3::xxh3_128(chunk),
                            zero: chunk.iter().all(|&b| b == 0),
                            compressed,
                            nanos,
                        })
                    },
                )
                .collect();
            for sample in samples {
                let sample = sample.map_err(|e| Error::io("compress", "<unit>", None, e))?;
                if let Some((_, records)) = self.record.as_mut().filter(|(u, _)| *u == report.unit)
                {
                    records.push(ChunkRecord {
                        zero: sample.zero,
                        compressed: sample.compressed,
                    });
                }
                report.units += 1;
                if report.seen.add(sample.hash) {
                    report.distinct += 1;
                }
                report.zero_units += sample.zero as u64;
                for ((c, &len), &nanos) in report
                    .compression
                    .iter_mut()
                    .zip(&sample.compressed)
                    .zip(&sample.nanos)
                {
                    c.compressed_bytes += len as u64;
                    c.nanos += nanos as u64;
                    c.histogram.add(unit as f64 / len.max(1) as f64);
                }
            }
        }
        Ok(())
    }

    fn finish(mut self, started: Instant) -> Report {
        cdc::finish_all(&mut self.cdc);
        for r in &mut self.units {
            r.copies = r.seen.summary();
            r.dedup_ratio = if r.distinct > 0 {
                r.units as f64 / r.distinct as f64
            } else {
                0.0
            };
            r.zero_share = if r.units > 0 {
                r.zero_units as f64 / r.units as f64
            } else {
                0.0
            };
            for c in &mut r.compression {
                c.ratio = if c.compressed_bytes > 0 {
                    (r.units * r.unit) as f64 / c.compressed_bytes as f64
                } else {
                    0.0
                };
                c.speed_mbps = if c.nanos > 0 {
                    (r.units * r.unit) as f64 * 1e3 / c.nanos as f64
                } else {
                    0.0
                };
                c.p5 = c.histogram.percentile(5.0);
                c.p50 = c.histogram.percentile(50.0);
                c.p95 = c.histogram.percentile(95.0);
                c.bins = c.histogram.half_octaves();
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        Report {
            bytes: self.bytes,
            seconds,
            throughput_mbps: self.bytes as f64 * self.units.len() as f64 / seconds.max(1e-9) / 1e6,
            units: self.units,
            cdc: self.cdc,
        }
    }
}

/// Analyzes bytes in memory.
pub fn analyze_bytes(data: &[u8], opts: &AnalyzeOptions) -> Result<Report> {
    analyze_bytes_with_cdc(data, opts, &[])
}

/// Analyzes bytes in memory, with FastCDC at each of `cdc_averages` (average chunk sizes, powers
/// of two from 1 KiB to 4 MiB; see [`cdc`]).
pub fn analyze_bytes_with_cdc(
    data: &[u8],
    opts: &AnalyzeOptions,
    cdc_averages: &[u64],
) -> Result<Report> {
    opts.validate()?;
    cdc::check_averages(cdc_averages)?;
    let started = Instant::now();
    let data = match opts.limit {
        Some(limit) => &data[..data.len().min(limit as usize)],
        None => data,
    };
    let mut analyzer = Analyzer::new(opts.clone(), cdc_averages);
    for piece in data.chunks(PIECE) {
        analyzer.feed(piece)?;
    }
    Ok(analyzer.finish(started))
}

/// Analyzes a file (or any readable path, such as a block device), reading it in 64 MiB pieces.
pub fn analyze_file(path: &Path, opts: &AnalyzeOptions) -> Result<Report> {
    analyze_file_with_cdc(path, opts, &[])
}

/// [`analyze_file`] with FastCDC at each of `cdc_averages` (see [`analyze_bytes_with_cdc`]).
pub fn analyze_file_with_cdc(
    path: &Path,
    opts: &AnalyzeOptions,
    cdc_averages: &[u64],
) -> Result<Report> {
    analyze_file_recording(path, opts, cdc_averages, None).map(|(report, _)| report)
}

/// [`analyze_file_with_cdc`], also recording every chunk at unit `record` (one of the options'
/// units) in file order: what a profile's classes are cut from ([`crate::profile`]).
pub fn analyze_file_recording(
    path: &Path,
    opts: &AnalyzeOptions,
    cdc_averages: &[u64],
    record: Option<u64>,
) -> Result<(Report, Vec<ChunkRecord>)> {
    opts.validate()?;
    cdc::check_averages(cdc_averages)?;
    let started = Instant::now();
    let file = std::fs::File::open(path).map_err(|e| Error::io("open", path, None, e))?;
    let mut reader = file.take(opts.limit.unwrap_or(u64::MAX));
    let mut analyzer = Analyzer::new(opts.clone(), cdc_averages);
    analyzer.record = record.map(|u| (u, Vec::new()));
    let mut buf = vec![0u8; PIECE];
    loop {
        let mut filled = 0;
        while filled < buf.len() {
            let n = reader
                .read(&mut buf[filled..])
                .map_err(|e| Error::io("read", path, Some(analyzer.bytes + filled as u64), e))?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            break;
        }
        analyzer.feed(&buf[..filled])?;
        if filled < buf.len() {
            break;
        }
    }
    let records = analyzer.record.take().map(|(_, r)| r).unwrap_or_default();
    Ok((analyzer.finish(started), records))
}
