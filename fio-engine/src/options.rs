//! The engine's `dgen_*` options: parsing and validation of the strings fio stores.
//!
//! Every value is checked when fio parses it (so a bad job fails before any file is laid out)
//! and again when a job starts; errors name the option and the value.

use std::fmt;
use std::path::{Path, PathBuf};

use dgen::map::{Durability, TrimCheck};
use dgen::params::{check_dedup_unit, check_ratio, StreamChoice};
use dgen::params::{MAX_COMPRESS_RATIO, MAX_DEDUP_RATIO};
use dgen::GenParams;

/// How the engine performs I/O (`dgen_io=`). The discriminants are the C enum's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum IoMode {
    /// Own io_uring ring per job, asynchronous (default).
    Uring = 0,
    /// pread/pwrite, one at a time.
    Psync = 1,
    /// No I/O at all: writes are generated and counted, reads complete at once.
    Null = 2,
}

/// Which stream id each file gets (`dgen_stream=`): `path` (default: xxh3 of the file's
/// canonical absolute path, plus the host name for devices, as `dgen::params::stream_id_for_path`
/// and `dgen gen`), `name` (the file name only: the rule before issue 11) or one fixed integer.
pub type StreamPolicy = StreamChoice;

/// A bad option value: which option, the value, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionError {
    /// The option name, e.g. `dgen_compress_ratio`.
    pub option: &'static str,
    /// The value as given.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "dgen: bad option {}={}: {}",
            self.option, self.value, self.reason
        )
    }
}

impl std::error::Error for OptionError {}

/// The option strings as fio stored them (`None` when unset: the default applies).
#[derive(Clone, Copy, Debug, Default)]
pub struct RawOptions<'a> {
    /// `dgen_dedupe_ratio`
    pub dedupe_ratio: Option<&'a str>,
    /// `dgen_compress_ratio`
    pub compress_ratio: Option<&'a str>,
    /// `dgen_dedupe_unit`
    pub dedupe_unit: Option<&'a str>,
    /// `dgen_seed`
    pub seed: Option<&'a str>,
    /// `dgen_stream`
    pub stream: Option<&'a str>,
    /// `dgen_io`
    pub io: Option<&'a str>,
    /// `dgen_verify`
    pub verify: Option<&'a str>,
    /// `dgen_prepopulate`
    pub prepopulate: Option<&'a str>,
    /// `dgen_compress_codec`
    pub compress_codec: Option<&'a str>,
    /// `dgen_map`
    pub map: Option<&'a str>,
    /// `dgen_map_durability`
    pub map_durability: Option<&'a str>,
    /// `dgen_map_trimmed`
    pub map_trimmed: Option<&'a str>,
    /// `dgen_dedupe_working_set`
    pub dedupe_working_set: Option<&'a str>,
    /// `dgen_dedupe_skew`
    pub dedupe_skew: Option<&'a str>,
    /// `dgen_dedupe_scope`
    pub dedupe_scope: Option<&'a str>,
    /// `dgen_dedupe_shifted`
    pub dedupe_shifted: Option<&'a str>,
    /// `dgen_profile`
    pub profile: Option<&'a str>,
    /// Where the job sits among this fio's jobs.
    pub placement: Placement,
    /// `DGEN_HOST_INDEX` from the environment (None: unset).
    pub host_index: Option<&'a str>,
}

/// Where a job sits among the jobs of the fio process that runs it (for a global dedup scope).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    /// The job's number among this fio's jobs, from 0 (`td->thread_number - 1`).
    pub job_index: u32,
    /// How many jobs this fio runs.
    pub jobs: u32,
    /// The job's files (`nrfiles`).
    pub nr_files: u32,
}

/// `dgen_dedupe_scope=global`: the numbers of this job's files in the run's one dedup space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GlobalScope {
    /// The number of the job's first file: `(host index * jobs + job index) * nrfiles`.
    pub first_index: u32,
    /// The job's files.
    pub nr_files: u32,
}

/// A job's complete engine configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineConfig {
    /// Seed, ratios and dedup unit; the stream id is set per file by [`EngineConfig::params_for`].
    pub params: GenParams,
    /// Stream id policy.
    pub stream: StreamPolicy,
    /// I/O mode.
    pub io: IoMode,
    /// Compare every byte read with the generated content.
    pub verify: bool,
    /// Rewrite fio's layout of fresh files with generated content.
    pub prepopulate: bool,
    /// Generation map of the job's file (`dgen_map=PATH`): overwrites write new content and
    /// reads verify what the map says. `None`: the stateless stream.
    pub map: Option<PathBuf>,
    /// When a map write's intent is durable (`dgen_map_durability`).
    pub map_durability: Durability,
    /// What a verify expects of a block trimmed through the map (`dgen_map_trimmed`).
    pub map_trimmed: TrimCheck,
    /// The job's files (`nrfiles`, or `filename` with `:`): with more than one, each has its own
    /// map, `dgen_map` + `.N` (see [`EngineConfig::map_path`]).
    pub map_files: u32,
    /// `dgen_dedupe_scope=global`: where the job's files sit in the run's dedup space
    /// (`None`: each file on its own).
    pub global_scope: Option<GlobalScope>,
}

impl EngineConfig {
    /// Parses and validates every option. A missing seed is an error here: the shim draws it
    /// when fio parses the options, so every user of the job sees the same seed.
    pub fn parse(raw: &RawOptions<'_>) -> Result<Self, OptionError> {
        let seed = raw.seed.ok_or_else(|| OptionError {
            option: "dgen_seed",
            value: String::new(),
            reason: "no seed (internal error: it should have been drawn when parsing)".into(),
        })?;
        let mut params = GenParams::new(parse_seed(seed)?);
        if let Some(v) = raw.dedupe_ratio {
            params.dedup_ratio = parse_ratio("dgen_dedupe_ratio", v, MAX_DEDUP_RATIO)?;
        }
        if let Some(v) = raw.compress_ratio {
            params.set_compress(parse_compress(v)?);
        }
        if let Some(v) = raw.dedupe_unit {
            params.dedup_unit = parse_unit(v)?;
        }
        if let Some(v) = raw.compress_codec {
            params.compress_codec = parse_codec(v)?;
        }
        if let Some(v) = raw.dedupe_working_set {
            params.copy_source.working_set = parse_working_set(v)?;
        }
        if let Some(v) = raw.dedupe_skew {
            params.copy_source.skew = parse_skew(v)?;
        }
        if let Some(v) = raw.dedupe_shifted {
            params.copy_source.shifted = parse_bool("dgen_dedupe_shifted", v)?;
        }
        if let Some(v) = raw.profile.filter(|v| !v.trim().is_empty()) {
            apply_profile(raw, v, &mut params)?;
        }
        let global_scope = match raw.dedupe_scope.map(parse_scope).transpose()? {
            Some(true) => Some(global_scope(raw)?),
            _ => None,
        };
        params.validate().map_err(|e| OptionError {
            option: "dgen_*",
            value: String::new(),
            reason: e.to_string(),
        })?;
        let config = EngineConfig {
            params,
            stream: raw.stream.map_or(Ok(StreamPolicy::Path), parse_stream)?,
            io: raw.io.map_or(Ok(IoMode::Uring), parse_io)?,
            verify: raw
                .verify
                .map_or(Ok(false), |v| parse_bool("dgen_verify", v))?,
            prepopulate: raw
                .prepopulate
                .map_or(Ok(true), |v| parse_bool("dgen_prepopulate", v))?,
            map: raw.map.map(parse_map).transpose()?.flatten(),
            map_durability: raw
                .map_durability
                .map_or(Ok(Durability::Process), parse_durability)?,
            map_trimmed: raw
                .map_trimmed
                .map_or(Ok(TrimCheck::Zeros), parse_trim_check)?,
            map_files: raw.placement.nr_files.max(1),
            global_scope,
        };
        if config.map.is_some() && config.io == IoMode::Null {
            return Err(bad(
                "dgen_map",
                raw.map.unwrap_or(""),
                "dgen_io=null writes nothing, so the map would not say what the file holds \
                 (use dgen_io=uring or dgen_io=psync)",
            ));
        }
        if config.verify && config.io == IoMode::Null {
            return Err(bad(
                "dgen_verify",
                raw.verify.unwrap_or("1"),
                "dgen_io=null reads nothing, so there would be nothing to verify \
                 (use dgen_io=uring or dgen_io=psync)",
            ));
        }
        Ok(config)
    }

    /// The path of file `fileno`'s map (`None` without `dgen_map`): `dgen_map` itself for a job
    /// of one file, `PATH.N` (N: fio's file number, from 0) for each file of a job of several.
    pub fn map_path(&self, fileno: usize) -> Option<PathBuf> {
        let path = self.map.as_ref()?;
        if self.map_files <= 1 {
            return Some(path.clone());
        }
        let mut name = path.clone().into_os_string();
        name.push(format!(".{fileno}"));
        Some(PathBuf::from(name))
    }

    /// The generator parameters of file `fileno` (named `file`) of the job.
    pub fn params_for(&self, fileno: usize, file: &Path) -> GenParams {
        let mut p = self.params.clone();
        p.stream_id = self.stream.stream_id(file);
        if let Some(g) = self.global_scope {
            // fileno < nrfiles, and first_index + nrfiles was checked to fit in u32.
            p.scope = dgen::DedupScope::Global {
                index: g.first_index + (fileno as u32).min(g.nr_files.saturating_sub(1)),
            };
        }
        p
    }
}

/// Validates one option value (called by fio's parser through the shim).
pub fn check_option(name: &str, value: &str) -> Result<(), OptionError> {
    match name {
        "dgen_dedupe_ratio" => parse_ratio("dgen_dedupe_ratio", value, MAX_DEDUP_RATIO).map(drop),
        "dgen_compress_ratio" => parse_compress(value).map(drop),
        "dgen_dedupe_unit" => parse_unit(value).map(drop),
        "dgen_seed" => parse_seed(value).map(drop),
        "dgen_stream" => parse_stream(value).map(drop),
        "dgen_io" => parse_io(value).map(drop),
        "dgen_verify" => parse_bool("dgen_verify", value).map(drop),
        "dgen_prepopulate" => parse_bool("dgen_prepopulate", value).map(drop),
        "dgen_compress_codec" => parse_codec(value).map(drop),
        "dgen_map" => parse_map(value).map(drop),
        "dgen_map_durability" => parse_durability(value).map(drop),
        "dgen_map_trimmed" => parse_trim_check(value).map(drop),
        "dgen_dedupe_working_set" => parse_working_set(value).map(drop),
        "dgen_dedupe_skew" => parse_skew(value).map(drop),
        "dgen_dedupe_scope" => parse_scope(value).map(drop),
        "dgen_dedupe_shifted" => parse_bool("dgen_dedupe_shifted", value).map(drop),
        "dgen_profile" => parse_profile(value).map(drop),
        _ => Err(OptionError {
            option: "dgen_?",
            value: format!("{name}={value}"),
            reason: "unknown dgen option".into(),
        }),
    }
}

/// `dgen_profile`: a built-in profile's name or a profile file; empty: none.
fn parse_profile(value: &str) -> Result<Option<dgen::profile::Profile>, OptionError> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    dgen::profile::load(value.trim())
        .map(Some)
        .map_err(|e| bad("dgen_profile", value, e.reason()))
}

/// Applies `dgen_profile=value` to `params` (parsed from the other options): refuses a
/// compression ratio other than the default 1 and a map; a dedup ratio of 1 and a dedup unit of
/// 128k (fio stores the defaults, so they cannot be told from values given) take the profile's.
fn apply_profile(
    raw: &RawOptions<'_>,
    value: &str,
    params: &mut GenParams,
) -> Result<(), OptionError> {
    let Some(profile) = parse_profile(value)? else {
        return Ok(());
    };
    if let Some(c) = raw.compress_ratio.filter(|c| c.trim() != "1") {
        return Err(bad(
            "dgen_profile",
            value,
            format!("cannot be combined with dgen_compress_ratio={c} (the profile sets the compressibility)"),
        ));
    }
    if raw.map.is_some_and(|m| !m.trim().is_empty()) {
        return Err(bad(
            "dgen_profile",
            value,
            "cannot be used with dgen_map yet (a profile's larger-unit ratios come from echoes \
             between neighbouring blocks, which overwrites that move blocks between slots break)",
        ));
    }
    let dedup = (params.dedup_ratio != 1.0).then_some(params.dedup_ratio);
    let unit = (params.dedup_unit != dgen::params::DEFAULT_DEDUP_UNIT).then_some(params.dedup_unit);
    if let Some(note) = dgen::profile::apply_profile(params, &profile, dedup, unit) {
        crate::log::info(&format!("dgen: {note}"));
    }
    Ok(())
}

/// `dgen_compress_codec`: `lz` or `snappy`.
fn parse_codec(value: &str) -> Result<dgen::CompressCodec, OptionError> {
    value
        .parse()
        .map_err(|_| bad("dgen_compress_codec", value, "not one of lz, snappy"))
}

/// `dgen_dedupe_working_set`: a share (`10%`, `0.1`); empty: the sliding window.
fn parse_working_set(value: &str) -> Result<Option<f64>, OptionError> {
    let option = "dgen_dedupe_working_set";
    if value.trim().is_empty() {
        return Ok(None);
    }
    dgen::params::parse_share(option, value)
        .map(Some)
        .map_err(|e| bad(option, value, reason_of(e)))
}

/// `dgen_dedupe_skew`: a Zipf exponent from 0 to 10.
fn parse_skew(value: &str) -> Result<f64, OptionError> {
    let option = "dgen_dedupe_skew";
    let skew: f64 = value
        .trim()
        .parse()
        .map_err(|_| bad(option, value, "not a number (0: uniform, 1: Zipf)"))?;
    let source = dgen::CopySource {
        working_set: None,
        skew,
        ..Default::default()
    };
    source
        .validate()
        .map_err(|e| bad(option, value, reason_of(e)))?;
    Ok(skew)
}

/// `dgen_dedupe_scope`: true for `global`, false for `stream`.
fn parse_scope(value: &str) -> Result<bool, OptionError> {
    let option = "dgen_dedupe_scope";
    dgen::DedupScope::parse_kind(option, value).map_err(|e| bad(option, value, reason_of(e)))
}

/// Where the job's files sit in a global scope: `DGEN_HOST_INDEX` (default 0) and the job's
/// placement among this fio's jobs.
fn global_scope(raw: &RawOptions<'_>) -> Result<GlobalScope, OptionError> {
    let host = match raw.host_index {
        None => 0,
        Some(v) => v.trim().parse::<u32>().map_err(|_| {
            bad(
                "dgen_dedupe_scope",
                "global",
                format!("DGEN_HOST_INDEX={v:?} in the environment is not an unsigned integer (each fio server's number, from 0)"),
            )
        })?,
    };
    let p = raw.placement;
    let nr_files = p.nr_files.max(1);
    let first = (host as u64 * p.jobs.max(1) as u64 + p.job_index as u64) * nr_files as u64;
    if first + nr_files as u64 > u32::MAX as u64 {
        return Err(bad(
            "dgen_dedupe_scope",
            "global",
            format!(
                "DGEN_HOST_INDEX={host} with {} jobs of {nr_files} files numbers files past 2^32",
                p.jobs
            ),
        ));
    }
    Ok(GlobalScope {
        first_index: first as u32,
        nr_files,
    })
}

/// `dgen_map`: a path (empty: no map).
fn parse_map(value: &str) -> Result<Option<PathBuf>, OptionError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.ends_with('/') {
        return Err(bad(
            "dgen_map",
            value,
            "names a directory; give the path of the map file (created when missing)",
        ));
    }
    Ok(Some(PathBuf::from(v)))
}

/// `dgen_map_trimmed`: `zeros` or `skip`.
fn parse_trim_check(value: &str) -> Result<TrimCheck, OptionError> {
    value
        .parse()
        .map_err(|reason: String| bad("dgen_map_trimmed", value, reason))
}

/// `dgen_map_durability`: `process` or `power`.
fn parse_durability(value: &str) -> Result<Durability, OptionError> {
    value
        .parse()
        .map_err(|reason: String| bad("dgen_map_durability", value, reason))
}

fn bad(option: &'static str, value: &str, reason: impl Into<String>) -> OptionError {
    OptionError {
        option,
        value: value.to_string(),
        reason: reason.into(),
    }
}

fn parse_ratio(option: &'static str, value: &str, max: f64) -> Result<f64, OptionError> {
    let r: f64 = value
        .trim()
        .parse()
        .map_err(|_| bad(option, value, "not a number (examples: 1, 2, 1.37)"))?;
    check_ratio(option, r, max).map_err(|e| bad(option, value, reason_of(e)))?;
    Ok(r)
}

/// `dgen_compress_ratio`: a ratio (`3`) or a mix (`1:30%,4:50%,16:20%`).
fn parse_compress(value: &str) -> Result<dgen::CompressSpec, OptionError> {
    dgen::CompressSpec::parse(value, MAX_COMPRESS_RATIO)
        .map_err(|reason| bad("dgen_compress_ratio", value, reason))
}

fn parse_unit(value: &str) -> Result<u64, OptionError> {
    let option = "dgen_dedupe_unit";
    let unit =
        dgen::size::parse_size(option, value).map_err(|e| bad(option, value, reason_of(e)))?;
    check_dedup_unit(unit).map_err(|e| bad(option, value, reason_of(e)))?;
    Ok(unit)
}

/// Accepts decimal or 0x-prefixed hexadecimal.
fn parse_seed(value: &str) -> Result<u64, OptionError> {
    let v = value.trim();
    let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    parsed.map_err(|_| {
        bad(
            "dgen_seed",
            value,
            "not an unsigned 64-bit integer (decimal or 0x hex), nor 'random'",
        )
    })
}

fn parse_stream(value: &str) -> Result<StreamPolicy, OptionError> {
    value.parse().map_err(|_| {
        bad(
            "dgen_stream",
            value,
            "expected 'path' (hash of the file's canonical path, plus the host name for \
             devices: the default), 'name' (hash of the file name only) or an unsigned integer",
        )
    })
}

fn parse_io(value: &str) -> Result<IoMode, OptionError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "uring" | "io_uring" => Ok(IoMode::Uring),
        "psync" => Ok(IoMode::Psync),
        "null" | "none" => Ok(IoMode::Null),
        _ => Err(bad("dgen_io", value, "expected uring, psync or null")),
    }
}

fn parse_bool(option: &'static str, value: &str) -> Result<bool, OptionError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(bad(option, value, "expected 0 or 1")),
    }
}

fn reason_of(e: dgen::Error) -> String {
    match e {
        dgen::Error::InvalidArgument { reason, .. } => reason,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(seed: &str) -> RawOptions<'_> {
        RawOptions {
            seed: Some(seed),
            ..Default::default()
        }
    }

    #[test]
    fn defaults() {
        let c = EngineConfig::parse(&raw("7")).unwrap();
        assert_eq!(c.params, GenParams::new(7));
        assert_eq!(c.stream, StreamPolicy::Path);
        assert_eq!(c.io, IoMode::Uring);
        assert!(!c.verify);
        assert!(c.prepopulate);
    }

    #[test]
    fn global_scope_numbers_files_by_host_job_and_file() {
        let r = RawOptions {
            seed: Some("1"),
            dedupe_scope: Some("global"),
            placement: Placement {
                job_index: 2,
                jobs: 4,
                nr_files: 3,
            },
            host_index: Some("5"),
            ..Default::default()
        };
        let c = EngineConfig::parse(&r).unwrap();
        // (host 5 * 4 jobs + job 2) * 3 files = 66, then the file number.
        for fileno in 0..3 {
            assert_eq!(
                c.params_for(fileno, Path::new("f")).scope,
                dgen::DedupScope::Global {
                    index: 66 + fileno as u32
                }
            );
        }
        let bad = RawOptions {
            host_index: Some("two"),
            ..r
        };
        let e = EngineConfig::parse(&bad).unwrap_err().to_string();
        assert!(e.contains("DGEN_HOST_INDEX") && e.contains("two"), "{e}");
        let huge = RawOptions {
            host_index: Some("4000000000"),
            ..r
        };
        assert!(EngineConfig::parse(&huge).is_err());
    }

    #[test]
    fn values_parse() {
        let r = RawOptions {
            dedupe_ratio: Some("1.37"),
            compress_ratio: Some("3"),
            dedupe_unit: Some("64k"),
            seed: Some("0x10"),
            stream: Some("42"),
            io: Some("psync"),
            verify: Some("1"),
            prepopulate: Some("0"),
            compress_codec: Some("snappy"),
            map: Some("/tmp/m.map"),
            map_durability: Some("power"),
            dedupe_working_set: Some("25%"),
            dedupe_skew: Some("0.5"),
            dedupe_scope: Some("stream"),
            ..Default::default()
        };
        let c = EngineConfig::parse(&r).unwrap();
        assert_eq!(c.map_durability, Durability::Power);
        assert_eq!(c.params.copy_source.working_set, Some(0.25));
        assert_eq!(c.params.copy_source.skew, 0.5);
        assert_eq!(c.global_scope, None);
        assert_eq!(c.params.compress_codec, dgen::CompressCodec::Snappy);
        assert_eq!(c.params.seed, 16);
        assert_eq!(c.params.dedup_ratio, 1.37);
        assert_eq!(c.params.compress_ratio, 3.0);
        assert_eq!(c.params.dedup_unit, 64 << 10);
        assert_eq!(c.params_for(0, Path::new("any/file")).stream_id, 42);
        assert_eq!(c.io, IoMode::Psync);
        assert!(c.verify && !c.prepopulate);
        assert_eq!(c.map.as_deref(), Some(Path::new("/tmp/m.map")));
        let empty = RawOptions {
            map: Some(""),
            ..raw("1")
        };
        assert_eq!(EngineConfig::parse(&empty).unwrap().map, None);
        let null = RawOptions {
            map: Some("m"),
            io: Some("null"),
            ..raw("1")
        };
        assert_eq!(EngineConfig::parse(&null).unwrap_err().option, "dgen_map");
        assert_eq!(
            EngineConfig::parse(&raw("1")).unwrap().map_durability,
            Durability::Process
        );
        let e = check_option("dgen_map_durability", "disk").unwrap_err();
        assert_eq!(e.option, "dgen_map_durability");
        assert!(e.to_string().contains("expected process"), "{e}");
    }

    #[test]
    fn stream_from_path_or_name() {
        use dgen::params::{stream_id_for_name, stream_id_for_path};
        let c = EngineConfig::parse(&raw("1")).unwrap();
        let id = |c: &EngineConfig, p: &str| c.params_for(0, Path::new(p)).stream_id;
        let a = id(&c, "/mnt/a/job.0.0");
        assert_ne!(a, id(&c, "/other/job.0.0"));
        assert_eq!(a, stream_id_for_path(Path::new("/mnt/a/job.0.0")));
        assert_ne!(a, id(&c, "/mnt/a/job.1.0"));
        let n = EngineConfig::parse(&RawOptions {
            stream: Some("name"),
            ..raw("1")
        })
        .unwrap();
        assert_eq!(id(&n, "/mnt/a/job.0.0"), id(&n, "/other/job.0.0"));
        assert_eq!(
            id(&n, "/mnt/a/job.0.0"),
            stream_id_for_name(Path::new("job.0.0"))
        );
    }

    #[test]
    fn bad_values_name_the_option() {
        for (name, value) in [
            ("dgen_compress_ratio", "0.5"),
            ("dgen_dedupe_ratio", "abc"),
            ("dgen_dedupe_ratio", "nan"),
            ("dgen_dedupe_unit", "3k"),
            ("dgen_dedupe_unit", "64q"),
            ("dgen_seed", "-1"),
            ("dgen_stream", "file"),
            ("dgen_io", "libaio"),
            ("dgen_verify", "2"),
            ("dgen_map", "/tmp/dir/"),
        ] {
            let e = check_option(name, value).unwrap_err();
            assert_eq!(e.option, name);
            let msg = e.to_string();
            assert!(msg.contains(name) && msg.contains(value), "{msg}");
        }
        assert!(check_option("dgen_compress_ratio", "1.5").is_ok());
    }

    #[test]
    fn a_mix_parses_and_a_bad_one_is_named() {
        let r = RawOptions {
            compress_ratio: Some("1:30%,4:50%,16:20%"),
            ..raw("1")
        };
        let c = EngineConfig::parse(&r).unwrap();
        let mix = c.params.compress_mix.clone().expect("a mix");
        assert_eq!(mix.to_string(), "1:30%,4:50%,16:20%");
        assert_eq!(c.params.compress_ratio, mix.aggregate_ratio());
        assert!(check_option("dgen_compress_ratio", "2:50%,8:50%").is_ok());
        let e = check_option("dgen_compress_ratio", "2:50%,8:40%").unwrap_err();
        assert_eq!(
            e.to_string(),
            "dgen: bad option dgen_compress_ratio=2:50%,8:40%: the shares sum to 90%, not 100%"
        );
        let snappy = RawOptions {
            compress_ratio: Some("1:50%,20:50%"),
            compress_codec: Some("snappy"),
            ..raw("1")
        };
        let e = EngineConfig::parse(&snappy).unwrap_err().to_string();
        assert!(e.contains("snappy") && !e.contains('\n'), "{e}");
    }

    #[test]
    fn per_codec_ratios_parse_and_bad_ones_are_named() {
        let r = RawOptions {
            compress_ratio: Some("lz4=2.2,zstd=3.3"),
            ..raw("1")
        };
        let p = EngineConfig::parse(&r).unwrap().params;
        assert_eq!((p.compress_ratio, p.compress_zstd), (2.2, Some(3.3)));
        let e = check_option("dgen_compress_ratio", "lz4=3,zstd=2").unwrap_err();
        assert_eq!(
            e.to_string(),
            "dgen: bad option dgen_compress_ratio=lz4=3,zstd=2: zstd=2 is below lz4=3 (zstd \
             never sees less)"
        );
    }

    #[test]
    fn verify_in_null_mode_is_refused() {
        let r = RawOptions {
            seed: Some("1"),
            io: Some("null"),
            verify: Some("1"),
            ..Default::default()
        };
        let e = EngineConfig::parse(&r).unwrap_err();
        assert_eq!(e.option, "dgen_verify");
        assert_eq!(
            e.to_string(),
            "dgen: bad option dgen_verify=1: dgen_io=null reads nothing, so there would be \
             nothing to verify (use dgen_io=uring or dgen_io=psync)"
        );
        let ok = RawOptions {
            verify: Some("0"),
            ..r
        };
        assert!(EngineConfig::parse(&ok).is_ok());
    }
}
