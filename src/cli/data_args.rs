//! The flags that define the data (ratios, dedup unit, seed, stream), shared by every subcommand.

use clap::Args;
use dgen::params::{random_seed, stream_id_for_path};
use dgen::size::{format_size, parse_size};

// The dedup unit default below must stay equal to dgen::params::DEFAULT_DEDUP_UNIT (a test checks it).
use dgen::{CompressCodec, GenParams};
use std::path::Path;

/// Parses a size flag for clap (`4k`, `64KiB`, `1.5G`).
pub fn size_arg(text: &str) -> Result<u64, String> {
    parse_size("size", text).map_err(|e| e.to_string())
}

/// Parses `--compress-codec` for clap.
fn codec_arg(text: &str) -> Result<CompressCodec, String> {
    text.parse().map_err(|e: dgen::Error| e.to_string())
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
    /// with lz4 and zstd).
    #[arg(
        long = "compress",
        short = 'c',
        default_value_t = 1.0,
        value_name = "RATIO",
        allow_negative_numbers = true
    )]
    pub compress_ratio: f64,
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
    /// Stream id: separates files made from one seed. Default: a hash of the output file's name
    /// (so the same name gets the same content), or 0 for standard output.
    #[arg(long, value_name = "K")]
    pub stream_id: Option<u64>,
}

impl DataArgs {
    /// The generator parameters, drawing a seed when none was given; `path` (if any) names the
    /// file, whose name gives the default stream id.
    pub fn params(&self, path: Option<&Path>) -> GenParams {
        GenParams {
            seed: self.seed.unwrap_or_else(random_seed),
            stream_id: self
                .stream_id
                .unwrap_or_else(|| path.map(stream_id_for_path).unwrap_or(0)),
            dedup_ratio: self.dedup_ratio,
            compress_ratio: self.compress_ratio,
            dedup_unit: self.dedup_unit,
            compress_codec: self.compress_codec,
        }
    }
}

/// One line describing the data, for logs: `seed 42 stream 7 dedup 2 compress 3 dedup-unit 128KiB`.
pub fn describe(p: &GenParams) -> String {
    format!(
        "seed {} stream {} dedup {} compress {}{} dedup-unit {}",
        p.seed,
        p.stream_id,
        p.dedup_ratio,
        p.compress_ratio,
        match p.compress_codec {
            CompressCodec::Lz => "",
            CompressCodec::Snappy => " (for snappy)",
        },
        format_size(p.dedup_unit)
    )
}
