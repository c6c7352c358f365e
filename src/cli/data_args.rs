//! The flags that define the data (ratios, dedup unit, seed, stream), shared by every subcommand.

use clap::Args;
use dgen::params::{random_seed, StreamChoice};
use dgen::size::{format_size, parse_size};

// The dedup unit default below must stay equal to dgen::params::DEFAULT_DEDUP_UNIT (a test checks it).
use dgen::{CompressCodec, CompressSpec, GenParams};
use std::path::Path;

/// Parses a size flag for clap (`4k`, `64KiB`, `1.5G`).
pub fn size_arg(text: &str) -> Result<u64, String> {
    parse_size("size", text).map_err(|e| e.to_string())
}

/// Parses `--stream-id` for clap: `path`, `name` or an integer.
fn stream_arg(text: &str) -> Result<StreamChoice, String> {
    text.parse().map_err(|e: dgen::Error| e.to_string())
}

/// Parses `--compress-codec` for clap.
fn codec_arg(text: &str) -> Result<CompressCodec, String> {
    text.parse().map_err(|e: dgen::Error| e.to_string())
}

/// Parses `--compress` for clap: a ratio (`3`) or a mix (`1:30%,4:50%,16:20%`).
fn compress_arg(text: &str) -> Result<CompressSpec, String> {
    CompressSpec::parse(text, dgen::params::MAX_COMPRESS_RATIO).map_err(|reason| {
        let what = if text.contains(':') { "mix" } else { "ratio" };
        format!("compression {what}: {reason}")
    })
}

/// What the bytes are: the same flags give the same bytes.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// Deduplication ratio, any real number >= 1 (2 = half the dedup blocks are copies).
    #[arg(
        long = "dedup",
        short = 'd',
        default_value_t = 1.0,
        value_name = "RATIO",
        allow_negative_numbers = true
    )]
    pub dedup_ratio: f64,
    /// Compression ratio, any real number from 1 to 50 (every 4 KiB unit compresses to about 1/RATIO
    /// with lz4 and zstd), or a mix of ratios by share of dedup blocks, such as
    /// `1:30%,4:50%,16:20%` (each block compresses to its class's ratio; see the README,
    /// "Compressibility mixes"), or per-codec ratios such as `lz4=2.2,zstd=3.3` (README,
    /// "Codec-realistic literals").
    #[arg(
        long = "compress",
        short = 'c',
        default_value = "1",
        value_parser = compress_arg,
        value_name = "RATIO|MIX",
        allow_negative_numbers = true
    )]
    pub compress: CompressSpec,
    /// The codecs the compression ratio is made exact for: `lz` (lz4, zstd, LZO1X-1, deflate,
    /// brotli: the default) or `snappy` (Ceph, RocksDB, MongoDB; lz4 and zstd then see more).
    #[arg(long, default_value = "lz", value_parser = codec_arg, value_name = "CODEC")]
    pub compress_codec: CompressCodec,
    /// Dedup block size: a power of two from 4KiB to 16MiB. The dedup ratio holds at every unit
    /// from 4KiB up to it.
    #[arg(long, value_parser = size_arg, default_value = "128KiB", value_name = "SIZE")]
    pub dedup_unit: u64,
    /// Seed (u64). Without one, a random seed is drawn and printed: keep it to reproduce or verify.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Stream id: separates targets made from one seed. `path` (default): a hash of the target's
    /// canonical absolute path, plus the host name for block and character devices, so two
    /// targets never share content and the same target always gets the same; `name`: a hash of
    /// the file name only (the rule before issue 11); or an integer (decimal or 0x hex), e.g. the
    /// id a renamed file was written with. Standard output gets 0 unless an integer is given.
    #[arg(long, value_name = "K|path|name", value_parser = stream_arg, default_value = "path")]
    pub stream_id: StreamChoice,
}

impl DataArgs {
    /// The generator parameters, drawing a seed when none was given; `path` (if any) names the
    /// target, whose path gives the default stream id.
    pub fn params(&self, path: Option<&Path>) -> GenParams {
        let mut params = GenParams {
            seed: self.seed.unwrap_or_else(random_seed),
            stream_id: match (self.stream_id, path) {
                (StreamChoice::Fixed(id), _) => id,
                (choice, Some(path)) => choice.stream_id(path),
                (_, None) => 0,
            },
            dedup_ratio: self.dedup_ratio,
            compress_ratio: 1.0,
            dedup_unit: self.dedup_unit,
            compress_codec: self.compress_codec,
            compress_mix: None,
            compress_zstd: None,
        };
        params.set_compress(self.compress.clone());
        params
    }
}

/// One line describing the data, for logs: `seed 42 stream 7 dedup 2 compress 3 dedup-unit 128KiB`
/// (a mix reads `compress 1:30%,4:50%,16:20% (aggregate 2.25)`).
pub fn describe(p: &GenParams) -> String {
    format!(
        "seed {} stream {} dedup {} compress {}{} dedup-unit {}",
        p.seed,
        p.stream_id,
        p.dedup_ratio,
        match p.compress_spec() {
            CompressSpec::Mix(mix) => format!("{mix} (aggregate {:.4})", p.compress_ratio),
            spec => spec.to_string(),
        },
        match p.compress_codec {
            CompressCodec::Lz => "",
            CompressCodec::Snappy => " (for snappy)",
        },
        format_size(p.dedup_unit)
    )
}
