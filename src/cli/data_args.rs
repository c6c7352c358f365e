//! The flags that define the data (ratios, dedup unit, seed, stream), shared by every subcommand.

use clap::Args;
use dgen::params::{random_seed, StreamChoice};
use dgen::size::{format_size, parse_size};

// The dedup unit default below must stay equal to dgen::params::DEFAULT_DEDUP_UNIT (a test checks it).
use super::report::msgln;
use dgen::{CompressCodec, CompressSpec, CopySource, DedupScope, GenParams};
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

/// Parses `--dedup-working-set` for clap: `10%` or `0.1`.
fn share_arg(text: &str) -> Result<f64, String> {
    dgen::params::parse_share("dedup working set", text).map_err(|e| e.to_string())
}

/// `--dedup-scope`: which targets share one dedup space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ScopeKind {
    /// Each target on its own (the default).
    Stream,
    /// Every target of a run shares one dedup space.
    Global,
}

/// Parses `--compress` for clap: a ratio (`3`) or a mix (`1:30%,4:50%,16:20%`).
fn compress_arg(text: &str) -> Result<CompressSpec, String> {
    CompressSpec::parse(text, dgen::params::MAX_COMPRESS_RATIO).map_err(|reason| {
        let what = if text.contains(':') { "mix" } else { "ratio" };
        format!("compression {what}: {reason}")
    })
}

/// `--profile`: a built-in profile's name or a profile file, loaded and checked as it is parsed
/// (so a missing, malformed or other-version file is a one-line usage error naming the flag).
#[derive(Clone, Debug)]
pub struct ProfileArg {
    /// The profile.
    pub profile: std::sync::Arc<dgen::profile::Profile>,
}

/// Parses `--profile` (and `dgen analyze`'s `--against` and `--fit-from`) for clap.
pub(super) fn profile_arg(text: &str) -> Result<ProfileArg, String> {
    dgen::profile::load(text)
        .map(|p| ProfileArg {
            profile: std::sync::Arc::new(p),
        })
        .map_err(|e| e.reason())
}

/// What the bytes are: the same flags give the same bytes.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// Deduplication ratio, any real number >= 1 (2 = half the dedup blocks are copies).
    /// (Default 1; with --profile, the profile's.)
    #[arg(
        long = "dedup",
        short = 'd',
        value_name = "RATIO",
        allow_negative_numbers = true
    )]
    pub dedup_ratio: Option<f64>,
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
    /// A data profile, built in (`text`, `executables`, `database`, `compressed`) or a file made
    /// by `dgen analyze SAMPLE --profile FILE`: blocks compress like the sample's chunks (per
    /// codec, with its zero blocks and dedup ratio; see the README, "Profiles"). Cannot be
    /// combined with --compress; --dedup replaces the profile's dedup ratio, --dedup-unit its
    /// reference unit. Not with --map.
    #[arg(long, value_parser = profile_arg, value_name = "NAME|PATH", conflicts_with = "compress")]
    pub profile: Option<ProfileArg>,
    /// The codecs the compression ratio is made exact for: `lz` (lz4, zstd, LZO1X-1, deflate,
    /// brotli: the default) or `snappy` (Ceph, RocksDB, MongoDB; lz4 and zstd then see more).
    #[arg(long, default_value = "lz", value_parser = codec_arg, value_name = "CODEC")]
    pub compress_codec: CompressCodec,
    /// Dedup block size: a power of two from 4KiB to 16MiB. The dedup ratio holds at every unit
    /// from 4KiB up to it. Default 128KiB; with --profile, the profile's reference unit.
    #[arg(long, value_parser = size_arg, value_name = "SIZE")]
    pub dedup_unit: Option<u64>,
    /// Copies take their originals only from the oldest SHARE of the unique blocks written before
    /// them (`10%` or `0.1`), as fio's dedupe_working_set_percentage: an array's fingerprint cache
    /// of that size holds every original. Default: a sliding window of the last 256 MiB of
    /// unique data. The ratio is unchanged.
    #[arg(long, value_name = "SHARE", value_parser = share_arg)]
    pub dedup_working_set: Option<f64>,
    /// Popularity skew of the originals that copies take (Zipf exponent from 0 to 10; 0: uniform,
    /// 1: classic Zipf, the oldest most popular), as vdbench's hot sets. Without
    /// --dedup-working-set it ranges over all unique blocks so far. The ratio is unchanged.
    #[arg(long, value_name = "S", default_value_t = 0.0)]
    pub dedup_skew: f64,
    /// Shifted duplicates: copies hold their originals' bytes moved 512 to 3584 bytes off the
    /// 4 KiB grid, for arrays that dedup variable chunks at 512-byte granularity (fixed 4 KiB
    /// blocks then find almost none; 512-byte blocks and content-defined chunks find them).
    #[arg(long)]
    pub dedup_shifted: bool,
    /// Dedup scope: `stream` (default: each target deduplicated on its own, never sharing
    /// content with another) or `global` (every target of a run, on any host, shares one dedup
    /// space; give each target its number with --scope-index, and the same at verify).
    #[arg(long, value_name = "SCOPE", value_enum, default_value_t = ScopeKind::Stream)]
    pub dedup_scope: ScopeKind,
    /// This target's number (0-based) in a global dedup scope: targets 0..N-1 of a run, all the
    /// same size, hold the dedup ratio together. Its copies take originals from targets 0 to J.
    #[arg(long, value_name = "J")]
    pub scope_index: Option<u32>,
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
    /// The dedup scope; fails when a global scope has no index or an index comes without one.
    pub fn scope(&self) -> dgen::Result<DedupScope> {
        match (self.dedup_scope, self.scope_index) {
            (ScopeKind::Global, Some(index)) => Ok(DedupScope::Global { index }),
            (ScopeKind::Stream, None) => Ok(DedupScope::Stream),
            (ScopeKind::Global, None) => Err(dgen::Error::invalid(
                "dedup scope",
                "global needs --scope-index J, this target's number (0-based) among the run's targets",
            )),
            (ScopeKind::Stream, Some(j)) => Err(dgen::Error::invalid(
                "scope index",
                format!("{j} is given but the dedup scope is stream; add --dedup-scope global"),
            )),
        }
    }

    /// The generator parameters, drawing a seed when none was given; `path` (if any) names the
    /// target, whose path gives the default stream id. Fails on a scope without an index (or an
    /// index without a scope); the other fields are checked by [`GenParams::validate`].
    pub fn params(&self, path: Option<&Path>) -> dgen::Result<GenParams> {
        let mut params = GenParams {
            seed: self.seed.unwrap_or_else(random_seed),
            stream_id: match (self.stream_id, path) {
                (StreamChoice::Fixed(id), _) => id,
                (choice, Some(path)) => choice.stream_id(path),
                (_, None) => 0,
            },
            dedup_ratio: self.dedup_ratio.unwrap_or(1.0),
            compress_ratio: 1.0,
            dedup_unit: self.dedup_unit.unwrap_or(dgen::params::DEFAULT_DEDUP_UNIT),
            compress_codec: self.compress_codec,
            copy_source: CopySource {
                working_set: self.dedup_working_set,
                skew: self.dedup_skew,
                shifted: self.dedup_shifted,
            },
            scope: self.scope()?,
            compress_mix: None,
            compress_zstd: None,
            compress_profile: None,
        };
        params.set_compress(self.compress.clone());
        if let Some(arg) = &self.profile {
            if let Some(note) = dgen::profile::apply_profile(
                &mut params,
                &arg.profile,
                self.dedup_ratio,
                self.dedup_unit,
            ) {
                // Once per process (verify and multi-target writes build params more than once).
                static ONCE: std::sync::Once = std::sync::Once::new();
                ONCE.call_once(|| msgln!("dgen: {note}"));
            }
        }
        Ok(params)
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
        match (&p.compress_profile, p.compress_spec()) {
            (Some(profile), _) => {
                let (lz4, zstd) = profile.aggregate_at(p.dedup_unit);
                format!(
                    "profile {} ({} classes, lz4 {lz4:.3} zstd-1 {zstd:.3}, zero blocks {:.2}%)",
                    profile.name,
                    profile.classes.len(),
                    profile.zero_share * 100.0
                )
            }
            (None, CompressSpec::Mix(mix)) => {
                format!("{mix} (aggregate {:.4})", p.compress_ratio)
            }
            (None, spec) => spec.to_string(),
        },
        match p.compress_codec {
            CompressCodec::Lz => "",
            CompressCodec::Snappy => " (for snappy)",
        },
        format_size(p.dedup_unit)
    ) + &describe_copy_source(p)
}

/// ` working-set 10% skew 1 scope global #3` (empty for the defaults).
fn describe_copy_source(p: &GenParams) -> String {
    let s = &p.copy_source;
    let mut text = String::new();
    if let DedupScope::Global { index } = p.scope {
        text += &format!(" scope global #{index}");
    }
    if let Some(share) = s.working_set {
        text += &format!(" working-set {}%", share * 100.0);
    }
    if s.skew > 0.0 {
        text += &format!(" skew {}", s.skew);
    }
    if s.shifted {
        text += " shifted";
    }
    text
}
