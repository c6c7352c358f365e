//! The parameters that define a stream's bytes, and their validation.

pub use crate::compress_mix::{CompressMix, CompressSpec, MixClass};
use crate::error::{Error, Result};
use crate::size::format_size;

/// Default dedup block size: 128 KiB. See the README ("Choosing the dedup unit"): it is the largest
/// fixed dedup block that common arrays use, and the ratio holds at every unit from 4 KiB up to it.
pub const DEFAULT_DEDUP_UNIT: u64 = 128 << 10;
/// Smallest dedup unit (one atom).
pub const MIN_DEDUP_UNIT: u64 = 4 << 10;
/// Largest dedup unit.
pub const MAX_DEDUP_UNIT: u64 = 16 << 20;
/// Largest dedup ratio accepted.
pub const MAX_DEDUP_RATIO: f64 = 1_000_000.0;
/// Largest compression ratio accepted.
pub const MAX_COMPRESS_RATIO: f64 = 50.0;

/// Largest compression ratio for [`CompressCodec::Snappy`]: snappy stores at most 64 bytes per
/// copy (3 bytes each), so no 4 KiB unit compresses past about 20:1 with it.
pub const MAX_SNAPPY_RATIO: f64 = 16.0;

/// The codecs a compression ratio is calibrated for.
///
/// Codecs disagree on what a match costs: snappy's copies hold at most 64 bytes (3 bytes per 64
/// bytes of match), where lz4, LZO and zstd store a long match in a few bytes. No data is
/// compressed to the same ratio by both kinds once the ratio passes about 2 (see the README,
/// "Which codecs see the ratio"), so the ratio is made exact for one kind.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum CompressCodec {
    /// lz4, zstd, LZO1X-1, deflate and brotli (ZFS, btrfs, most arrays): the default.
    #[default]
    Lz,
    /// snappy (Ceph BlueStore, RocksDB, MongoDB); lz4 and zstd then see a higher ratio.
    Snappy,
}

impl CompressCodec {
    /// The name used on command lines (`lz`, `snappy`).
    pub fn name(self) -> &'static str {
        match self {
            CompressCodec::Lz => "lz",
            CompressCodec::Snappy => "snappy",
        }
    }
}

impl std::str::FromStr for CompressCodec {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "lz" | "lz4" | "zstd" | "lzo" | "deflate" | "default" => Ok(CompressCodec::Lz),
            "snappy" => Ok(CompressCodec::Snappy),
            _ => Err(Error::invalid(
                "compress codec",
                format!("{text:?} is not one of lz (lz4, zstd, LZO, deflate: the default), snappy"),
            )),
        }
    }
}

/// Where copies take their originals from: the dedup *working set* (issue 11).
///
/// By default (`working_set: None`) a copy takes an original from a sliding window, the last 256
/// MiB of unique data, so copies stay near their originals and every original is copied about
/// `d - 1` times. With a working set, copies take their originals only from the oldest
/// `working_set` share of the unique blocks written before them (as fio's
/// `dedupe_working_set_percentage`), so a fingerprint cache of that size can hold every original;
/// `skew` then makes some originals more popular than others (Zipf, oldest most popular), as
/// vdbench's hot sets. Neither changes how many blocks are unique, so the ratio is as exact as
/// without them.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CopySource {
    /// Share of the unique blocks written so far that copies take originals from, in `(0, 1]`;
    /// `None`: the sliding window.
    pub working_set: Option<f64>,
    /// Zipf exponent of the originals' popularity in the working set, in `[0, 10]`: 0 (default)
    /// is uniform, 1 the classic Zipf. A skew without a working set uses all unique blocks.
    pub skew: f64,
    /// Shifted duplicates: each copy run holds its original's bytes moved by a multiple of 512
    /// bytes (512 to 3584) off the 4 KiB grid, for arrays that dedup variable chunks at 512-byte
    /// granularity. Fixed 4 KiB blocks then find almost no duplicates (the point), 512-byte
    /// blocks and content-defined chunks find them.
    #[serde(default)]
    pub shifted: bool,
}

impl CopySource {
    /// Largest skew accepted.
    pub const MAX_SKEW: f64 = 10.0;

    /// Whether copies come from a working set (a share, or a skew over all unique blocks).
    pub fn is_working_set(&self) -> bool {
        self.working_set.is_some() || self.skew > 0.0
    }

    /// The working set's share of the unique blocks (1.0 when only a skew is set).
    pub fn share(&self) -> f64 {
        self.working_set.unwrap_or(1.0)
    }

    /// Checks both fields; the error names the offending one.
    pub fn validate(&self) -> Result<()> {
        if let Some(share) = self.working_set {
            if !(share > 0.0 && share <= 1.0) {
                return Err(Error::invalid(
                    "dedup working set",
                    format!("{share} must be a share in (0, 1], or a percentage in (0%, 100%]"),
                ));
            }
        }
        if !(0.0..=Self::MAX_SKEW).contains(&self.skew) {
            return Err(Error::invalid(
                "dedup skew",
                format!(
                    "{} must be a number from 0 (uniform) to {} (Zipf exponent)",
                    self.skew,
                    Self::MAX_SKEW
                ),
            ));
        }
        Ok(())
    }
}

/// Which streams share one dedup space (issue 11).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DedupScope {
    /// Each stream (target) is deduplicated on its own: copies take originals from their own
    /// stream, and two streams never share content (the default).
    #[default]
    Stream,
    /// Every stream of a run (jobs, files, hosts) shares one dedup space: this stream is number
    /// `index` (0-based, dense), its content depends on the seed and the index only (not on the
    /// path), and its copies take originals from any stream `0..=index`. With every stream the
    /// same size, all of them together hold the ratio; each alone holds more copies than `d`
    /// says (its copies of other streams' blocks count as unique within it).
    Global {
        /// This stream's number in the scope.
        index: u32,
    },
}

impl DedupScope {
    /// Parses `stream` or `global` (the index comes separately). The error names `name`.
    pub fn parse_kind(name: &'static str, text: &str) -> Result<bool> {
        match text.trim().to_ascii_lowercase().as_str() {
            "stream" => Ok(false),
            "global" => Ok(true),
            _ => Err(Error::invalid(
                name,
                format!("{text:?} is not one of stream (each target on its own: the default), global (all targets of a run share one dedup space)"),
            )),
        }
    }
}

/// Parses a share: `10%`, `0.1` or `1` (all). The error names `name`.
pub fn parse_share(name: &'static str, text: &str) -> Result<f64> {
    let t = text.trim();
    let (number, scale) = match t.strip_suffix('%') {
        Some(p) => (p.trim(), 100.0),
        None => (t, 1.0),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| Error::invalid(name, format!("{text:?} is not a share (10% or 0.1)")))?;
    let share = value / scale;
    if !(share > 0.0 && share <= 1.0) {
        return Err(Error::invalid(
            name,
            format!("{text:?} must be in (0%, 100%] (0.1 and 10% are the same)"),
        ));
    }
    Ok(share)
}

/// Everything that determines the bytes of a stream.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GenParams {
    /// The seed: same seed (and other fields), same bytes.
    pub seed: u64,
    /// Separates streams (files) generated from one seed: different ids give unrelated content.
    pub stream_id: u64,
    /// Deduplication ratio `d >= 1`: a `1/d` share of dedup blocks is unique.
    pub dedup_ratio: f64,
    /// Compression ratio `c >= 1`: every 4 KiB unit compresses to about `1/c`. With a
    /// [`compress_mix`](GenParams::compress_mix), the mix's aggregate ratio.
    pub compress_ratio: f64,
    /// Dedup block size in bytes: a power of two from 4 KiB to 16 MiB.
    pub dedup_unit: u64,
    /// The codecs `compress_ratio` is calibrated for.
    #[serde(default)]
    pub compress_codec: CompressCodec,
    /// Where copies take their originals from (default: a sliding window).
    #[serde(default)]
    pub copy_source: CopySource,
    /// Which streams share one dedup space (default: each stream on its own).
    #[serde(default)]
    pub scope: DedupScope,
    /// A compressibility mix (shares of dedup blocks at several ratios), or `None`: every block at
    /// `compress_ratio`. Set both with [`GenParams::set_compress`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compress_mix: Option<CompressMix>,
    /// The ratio that codecs with an entropy coder (zstd, deflate, brotli) see, when asked apart
    /// from lz4's `compress_ratio` (`--compress lz4=2.2,zstd=3.5`): literal bytes then take fewer
    /// values. `None`: every codec sees `compress_ratio`. Set it with [`GenParams::set_compress`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compress_zstd: Option<f64>,
    /// A data profile's classes (`--profile`, [`crate::profile`]): each dedup block is all zeros
    /// or in one of the classes, each with its own lz4 and zstd ratios. `compress_ratio` is then
    /// the classes' aggregate lz4 ratio (for logs). Set it with [`GenParams::set_profile`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compress_profile: Option<crate::profile::ProfileMix>,
}

impl GenParams {
    /// Parameters for incompressible, unique data from `seed`, stream 0, default dedup unit.
    pub fn new(seed: u64) -> Self {
        GenParams {
            seed,
            stream_id: 0,
            dedup_ratio: 1.0,
            compress_ratio: 1.0,
            dedup_unit: DEFAULT_DEDUP_UNIT,
            compress_codec: CompressCodec::Lz,
            copy_source: CopySource::default(),
            scope: DedupScope::Stream,
            compress_mix: None,
            compress_zstd: None,
            compress_profile: None,
        }
    }

    /// Sets the compressibility to a profile's classes (and no ratio, mix or per-codec ratios;
    /// `compress_ratio` gets the classes' aggregate lz4 ratio).
    pub fn set_profile(&mut self, mix: crate::profile::ProfileMix) {
        self.compress_mix = None;
        self.compress_zstd = None;
        self.compress_ratio = mix.aggregate().0.clamp(1.0, MAX_COMPRESS_RATIO);
        self.compress_profile = Some(mix);
    }

    /// Sets the compressibility: one ratio (and no mix), or a mix (and its aggregate ratio in
    /// `compress_ratio`).
    pub fn set_compress(&mut self, spec: CompressSpec) {
        self.compress_mix = None;
        self.compress_zstd = None;
        self.compress_profile = None;
        match spec {
            CompressSpec::Ratio(r) => self.compress_ratio = r,
            CompressSpec::Mix(m) => {
                self.compress_ratio = m.aggregate_ratio();
                self.compress_mix = Some(m);
            }
            CompressSpec::Codecs { lz4, zstd } => {
                self.compress_ratio = lz4;
                self.compress_zstd = Some(zstd);
            }
        }
    }

    /// The compressibility as the user gives it: the ratio, or the mix.
    pub fn compress_spec(&self) -> CompressSpec {
        match (&self.compress_mix, self.compress_zstd) {
            (Some(m), _) => CompressSpec::Mix(m.clone()),
            (None, Some(zstd)) => CompressSpec::Codecs {
                lz4: self.compress_ratio,
                zstd,
            },
            (None, None) => CompressSpec::Ratio(self.compress_ratio),
        }
    }

    /// Checks every field; the error names the offending parameter.
    pub fn validate(&self) -> Result<()> {
        check_ratio("dedup ratio", self.dedup_ratio, MAX_DEDUP_RATIO)?;
        check_ratio("compression ratio", self.compress_ratio, MAX_COMPRESS_RATIO)?;
        let mut most = self.compress_ratio;
        if let Some(mix) = &self.compress_mix {
            // Rebuilt from its classes, so a mix made by hand is checked like a parsed one.
            CompressMix::new(mix.classes().to_vec(), MAX_COMPRESS_RATIO)
                .map_err(|r| Error::invalid("compression mix", format!("{mix}: {r}")))?;
            let aggregate = mix.aggregate_ratio();
            if (self.compress_ratio - aggregate).abs() > 1e-9 * aggregate {
                return Err(Error::invalid(
                    "compression ratio",
                    format!(
                        "{} is not the aggregate {aggregate} of the mix {mix} (set both with \
                         GenParams::set_compress)",
                        self.compress_ratio
                    ),
                ));
            }
            most = mix.max_ratio();
        }
        if let Some(profile) = &self.compress_profile {
            if self.compress_mix.is_some() || self.compress_zstd.is_some() {
                return Err(Error::invalid(
                    "profile",
                    "a profile and a compression ratio, mix or per-codec ratios cannot be combined",
                ));
            }
            if self.compress_codec == CompressCodec::Snappy {
                return Err(Error::invalid(
                    "profile",
                    "profiles are made for lz4 and zstd, not for snappy",
                ));
            }
            profile
                .validate()
                .map_err(|r| Error::invalid("profile", format!("{}: {r}", profile.name)))?;
        }
        if let Some(zstd) = self.compress_zstd {
            if self.compress_mix.is_some() {
                return Err(Error::invalid(
                    "compression ratio",
                    "a mix and per-codec ratios (zstd=, lz4=) cannot be combined",
                ));
            }
            if self.compress_codec == CompressCodec::Snappy {
                return Err(Error::invalid(
                    "compression ratio",
                    "per-codec ratios (zstd=, lz4=) are made for lz4 and zstd, not for snappy",
                ));
            }
            crate::compress_mix::check_codec_ratios(self.compress_ratio, zstd)
                .map_err(|r| Error::invalid("compression ratio", r))?;
        }
        if self.compress_codec == CompressCodec::Snappy && most > MAX_SNAPPY_RATIO {
            return Err(Error::invalid(
                "compression ratio",
                format!(
                    "{most} is above {MAX_SNAPPY_RATIO}, the most dgen makes for snappy (its \
                     copies hold at most 64 bytes)"
                ),
            ));
        }
        check_dedup_unit(self.dedup_unit)?;
        self.copy_source.validate()
    }
}

/// Checks that a ratio is a finite number in `[1, max]`.
pub fn check_ratio(name: &'static str, value: f64, max: f64) -> Result<()> {
    if !value.is_finite() {
        return Err(Error::invalid(
            name,
            format!("{value} is not a finite number"),
        ));
    }
    if value < 1.0 {
        return Err(Error::invalid(
            name,
            format!("{value} is below 1.0 (1.0 means no reduction)"),
        ));
    }
    if value > max {
        return Err(Error::invalid(
            name,
            format!("{value} is above the supported maximum {max}"),
        ));
    }
    Ok(())
}

/// Checks that a dedup unit is a power of two from 4 KiB to 16 MiB.
pub fn check_dedup_unit(unit: u64) -> Result<()> {
    if !unit.is_power_of_two() || !(MIN_DEDUP_UNIT..=MAX_DEDUP_UNIT).contains(&unit) {
        return Err(Error::invalid(
            "dedup unit",
            format!(
                "{} ({unit} bytes) must be a power of two from {} to {}",
                format_size(unit),
                format_size(MIN_DEDUP_UNIT),
                format_size(MAX_DEDUP_UNIT)
            ),
        ));
    }
    Ok(())
}

/// The default stream id of a target (the `path` rule): xxh3 of its canonical absolute path,
/// plus the host name when the target is a block or character device.
///
/// The path is the target's parent directory made canonical (absolute, symlinks and `..`
/// resolved) joined with the target's own name as given, so a file not created yet gets the id
/// it will keep once written, and `data.bin` run from `/mnt/a` is `/mnt/a/data.bin`. The last
/// component is not followed: a symlink is its own target name. When the parent directory does
/// not exist, the absolute path made lexically is used. For a block or character device (after
/// following symlinks: `/dev/disk/by-id/...` counts) the host name is hashed in too, so
/// `/dev/sdb` on two hosts gets two streams. Two different targets thus never share content,
/// and the same target written and later verified on the same host gets the same content. A
/// renamed or moved file, or a device verified from another host, needs the id it was written
/// with (`--stream-id`, `dgen_stream=`, `stream_id=`; every face prints it).
pub fn stream_id_for_path(path: &std::path::Path) -> u64 {
    stream_id_for_path_on(path, &host_name())
}

/// [`stream_id_for_path`] as host `host` computes it (the host only counts for devices):
/// `dgen stream-id --host H /dev/sdb` gives the id another host wrote `/dev/sdb` with.
pub fn stream_id_for_path_on(path: &std::path::Path, host: &[u8]) -> u64 {
    use std::os::unix::ffi::OsStrExt;
    let full = canonical_target_path(path);
    let mut key = b"dgen stream v2 path\0".to_vec();
    key.extend_from_slice(full.as_os_str().as_bytes());
    if is_device(path) {
        key.extend_from_slice(b"\0host\0");
        key.extend_from_slice(host);
    }
    xxhash_rust::xxh3::xxh3_64(&key)
}

/// Whether `path` (symlinks followed) is a block or character device.
pub fn is_device(path: &std::path::Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path)
        .map(|m| m.file_type().is_block_device() || m.file_type().is_char_device())
        .unwrap_or(false)
}

/// The old rule (`name`): xxh3 of the file name alone, so `/a/x.bin` and `/b/x.bin` share
/// content. Kept for users who relied on it (`--stream-id name`, `dgen_stream=name`,
/// `stream_id="name"`).
pub fn stream_id_for_name(path: &std::path::Path) -> u64 {
    let name = path
        .file_name()
        .map(|n| n.as_encoded_bytes())
        .unwrap_or(b"");
    xxhash_rust::xxh3::xxh3_64(name)
}

/// The absolute path [`stream_id_for_path`] hashes: the canonical parent joined with the name.
pub fn canonical_target_path(path: &std::path::Path) -> std::path::PathBuf {
    let lexical = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let (Some(parent), Some(name)) = (lexical.parent(), lexical.file_name()) else {
        // `/` or a path ending in `..`: resolve it whole.
        return std::fs::canonicalize(&lexical).unwrap_or(lexical);
    };
    match std::fs::canonicalize(parent) {
        Ok(dir) => dir.join(name),
        Err(_) => lexical,
    }
}

/// This machine's host name (empty when the OS will not say).
pub fn host_name() -> Vec<u8> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return Vec::new();
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    buf[..len].to_vec()
}

/// How a target's stream id is chosen: `path` (the default, [`stream_id_for_path`]), `name`
/// (the file name only, [`stream_id_for_name`]: the rule before issue 11), or one fixed id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StreamChoice {
    /// xxh3 of the canonical path, plus the host name for devices.
    #[default]
    Path,
    /// xxh3 of the file name alone: same name, same content, in any directory.
    Name,
    /// This id for every target.
    Fixed(u64),
}

impl StreamChoice {
    /// The stream id of `path` under this choice.
    pub fn stream_id(self, path: &std::path::Path) -> u64 {
        match self {
            StreamChoice::Path => stream_id_for_path(path),
            StreamChoice::Name => stream_id_for_name(path),
            StreamChoice::Fixed(id) => id,
        }
    }
}

impl std::str::FromStr for StreamChoice {
    type Err = Error;

    /// `path`, `name`, or an unsigned 64-bit integer (decimal or 0x hex).
    fn from_str(text: &str) -> Result<Self> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("path") {
            return Ok(StreamChoice::Path);
        }
        if t.eq_ignore_ascii_case("name") {
            return Ok(StreamChoice::Name);
        }
        let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => t.parse(),
        };
        parsed.map(StreamChoice::Fixed).map_err(|_| {
            Error::invalid(
                "stream id",
                format!(
                    "{text:?} is not 'path' (hash of the canonical path, the default), 'name' \
                     (hash of the file name only) or an unsigned 64-bit integer"
                ),
            )
        })
    }
}

/// Draws a random seed from the OS (used when the user gives none; always report it).
pub fn random_seed() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::getrandom(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        bytes = (nanos ^ (std::process::id() as u64).rotate_left(32)).to_le_bytes();
    }
    u64::from_le_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_parameter() {
        let mut p = GenParams::new(1);
        p.dedup_ratio = 0.5;
        assert!(p
            .validate()
            .unwrap_err()
            .to_string()
            .contains("dedup ratio"));
        p.dedup_ratio = 1.37;
        p.compress_ratio = f64::NAN;
        assert!(p
            .validate()
            .unwrap_err()
            .to_string()
            .contains("compression ratio"));
        p.compress_ratio = f64::INFINITY;
        assert!(p.validate().is_err());
        p.compress_ratio = 2.0;
        p.dedup_unit = 12 << 10;
        assert!(p.validate().unwrap_err().to_string().contains("dedup unit"));
        p.dedup_unit = 32 << 20;
        assert!(p.validate().is_err());
        p.dedup_unit = 64 << 10;
        assert!(p.validate().is_ok());
    }

    #[test]
    fn compress_codec_parses_and_bounds_snappy() {
        assert_eq!(
            "snappy".parse::<CompressCodec>().unwrap(),
            CompressCodec::Snappy
        );
        assert_eq!("LZ4".parse::<CompressCodec>().unwrap(), CompressCodec::Lz);
        let err = "gzip".parse::<CompressCodec>().unwrap_err().to_string();
        assert!(
            err.contains("compress codec") && err.contains("gzip"),
            "{err}"
        );
        let mut p = GenParams::new(1);
        p.compress_codec = CompressCodec::Snappy;
        p.compress_ratio = 16.0;
        assert!(p.validate().is_ok());
        p.compress_ratio = 20.0;
        assert!(p.validate().unwrap_err().to_string().contains("snappy"));
    }

    #[test]
    fn stream_id_depends_on_the_path() {
        use std::path::Path;
        let d = std::env::temp_dir();
        let (a, b) = (d.join("dgen-p-a"), d.join("dgen-p-b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let id = stream_id_for_path;
        assert_ne!(id(&a.join("x.bin")), id(&b.join("x.bin")));
        assert_ne!(id(&a.join("x.bin")), id(&a.join("y.bin")));
        // `..` and `.` are resolved; a file that does not exist yet gets its future id.
        assert_eq!(
            id(&a.join("x.bin")),
            id(&b.join("..").join("dgen-p-a").join(".").join("x.bin"))
        );
        std::fs::write(a.join("z.bin"), b"z").unwrap();
        let before = id(&a.join("new.bin"));
        std::fs::rename(a.join("z.bin"), a.join("new.bin")).unwrap();
        assert_eq!(before, id(&a.join("new.bin")));
        std::fs::remove_file(a.join("new.bin")).unwrap();
        // the old rule: the name alone
        assert_eq!(
            stream_id_for_name(Path::new("/a/x.bin")),
            stream_id_for_name(Path::new("/b/x.bin"))
        );
        assert_eq!(
            StreamChoice::Name.stream_id(&a.join("x.bin")),
            xxhash_rust::xxh3::xxh3_64(b"x.bin")
        );
    }

    #[test]
    fn devices_hash_the_host_name() {
        use std::path::Path;
        let null = Path::new("/dev/null");
        let mut key = b"dgen stream v2 path\0/dev/null\0host\0".to_vec();
        key.extend_from_slice(&host_name());
        assert_eq!(stream_id_for_path(null), xxhash_rust::xxh3::xxh3_64(&key));
        assert!(!host_name().is_empty());
    }

    #[test]
    fn stream_choice_parses() {
        assert_eq!("path".parse::<StreamChoice>().unwrap(), StreamChoice::Path);
        assert_eq!("NAME".parse::<StreamChoice>().unwrap(), StreamChoice::Name);
        assert_eq!(
            "0x10".parse::<StreamChoice>().unwrap(),
            StreamChoice::Fixed(16)
        );
        assert_eq!(
            StreamChoice::Fixed(7).stream_id(std::path::Path::new("x")),
            7
        );
        let e = "file".parse::<StreamChoice>().unwrap_err().to_string();
        assert!(
            e.contains("stream id") && e.contains("\"file\"") && !e.contains('\n'),
            "{e}"
        );
        assert!("-1".parse::<StreamChoice>().is_err());
    }
}
