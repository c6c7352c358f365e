//! The profile file: JSON, version [`VERSION`].
//!
//! ```text
//! {
//!   "format": "dgen-profile", "version": 2,
//!   "name": "text",                      // the sample's file stem (no path, no content)
//!   "sample_bytes": 268435456,
//!   "reference_unit": 32768,             // where zero share and dedup are taken (dedup unit)
//!   "class_unit": 8192,                  // where classes are taken (smallest analyzed unit)
//!   "zero_share": 0.012,                 // all-zero chunks at the reference unit
//!   "dedup_ratio": 1.05,                 // chunks / distinct chunks at the reference unit
//!   "classes": [                         // the non-zero chunks at the class unit, cut into
//!     {"share": 0.0309, "lz4": 1.52, "zstd": 2.11}, ...   // equal-count groups by lz4 ratio:
//!   ],                                   // each group's share of all chunks and aggregate ratios
//!   "runs": [0.1, 0.3, 0.2, 0.4],        // shares of class units in runs of 1, 4, 16, 128
//!   "echo_exponent": 1.5,                // more compressible classes gain more from big units
//!   "echo_weights": [0.0, 0.1, ...],     // or one weight per class (optional)
//!   "blend_from": 8, "blend_share": 0.75, // 3/4 of the pieces of runs of the 9th least
//!                                        // compressible class and up take one of those at random
//!   "strong_classes": 1, "strong_group": 16, // the blend's strongest class drawn per 16 pieces
//!                                        // (absent: 0 and 1, each piece alone)
//!   "strong_blend": 0.4,                 // its runs blended by 0.4 (absent: blend_share)
//!   "kinds": [                           // kinds of 128 KiB regions (optional): each region
//!     {"share": 0.57, "classes": [0.0, 0.01, ...]}, ...  // takes one, its pieces' classes
//!   ],                                   // drawn by the kind's shares (the zero class last)
//!   "kind_pieces": 16,                   // pieces per region of a kind (absent: 128)
//!   "kind_span": 0.15,                   // how far a 1 MiB region's kinds spread (absent: 0)
//!   "echo_fraction": 0.5,                // an echo repeats this share of an atom's literal
//!                                        // granules (absent: 1, the whole atom)
//!   "near_plain_symbols": 235,           // the literal alphabet of classes whose zstd-1 is
//!                                        // within 2% of plain literals' (absent: 256)
//!   "units": [                           // one per analyzed unit
//!     {"unit": 8192, "chunks": 32768, "dedup_ratio": 1.0, "zero_share": 0.01,
//!      "codecs": {"lz4": {"ratio": 2.33, "speed_mbps": 211,
//!                         "quantiles": [65 per-chunk ratios at 0%, 1/64, ..., 100%]}, ...}}
//!   ]
//! }
//! ```
//!
//! The size does not grow with the sample: about 1.5 KiB of classes, 0.6 KiB of quantiles per
//! unit and codec, and up to 2.5 KiB of kinds.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The value of the `format` field.
pub const FORMAT: &str = "dgen-profile";
/// The version this dgen writes and reads.
pub const VERSION: u64 = 2;
/// Per-chunk ratios are kept as `QUANTILES + 1` quantiles (0%, 1/64, ..., 100%).
pub const QUANTILES: usize = 64;

/// A profile: what a sample's chunks compress to, per unit and codec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`] for a profile this dgen reads.
    pub version: u64,
    /// A name for the sample (its file stem by default).
    pub name: String,
    /// Bytes analyzed.
    pub sample_bytes: u64,
    /// The unit the zero share and dedup ratio are measured at; the dedup unit of data generated
    /// from the profile.
    pub reference_unit: u64,
    /// The unit the classes are measured at (the smallest analyzed unit from 4 KiB, at most the
    /// reference unit): generated data picks a class per piece of this size (version 2; version
    /// 1 took classes at the reference unit).
    pub class_unit: u64,
    /// Share of all-zero chunks at the reference unit.
    pub zero_share: f64,
    /// Chunks / distinct chunks at the reference unit (zero chunks included).
    pub dedup_ratio: f64,
    /// The non-zero chunks at the class unit in equal-count groups by lz4 ratio, their shares
    /// scaled to `1 - zero_share`.
    pub classes: Vec<ProfileClass>,
    /// How neighbouring chunks share a class: the share of class-unit pieces whose class is
    /// that of their aligned group of 1, 4, 16 and 128 pieces ([`super::RUN_GROUPS`]), fitted to
    /// the per-chunk distributions at the larger units. Absent: every piece on its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<f64>,
    /// How much more the more compressible classes gain from larger units: echo shares of
    /// class `i` are scaled by `(1 - 1 / lz4_i)^echo_exponent` (normalised, see
    /// [`super::mix::echo_scales`]); fitted with `runs`. 0: every echoing class alike.
    #[serde(default)]
    pub echo_exponent: f64,
    /// Per class, in `classes`' order (by increasing lz4 ratio): the weight of its echo shares
    /// (normalised as `echo_exponent`'s are), fitted with `runs` where one rule for all classes
    /// does not fit (a database's middle classes gain most from larger units, its least and most
    /// compressible less). Absent: `(1 - 1 / lz4)^echo_exponent`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub echo_weights: Vec<f64>,
    /// The blend: a `blend_share` of the pieces whose run has one of the classes from the
    /// `blend_from`-th least compressible on (by lz4 ratio, counting from 0) take one of those
    /// drawn at random instead; fitted with `runs`. A share of 0: no blend.
    #[serde(default)]
    pub blend_from: u64,
    /// See `blend_from`.
    #[serde(default)]
    pub blend_share: f64,
    /// Of the blend's draws, those of its `strong_classes` most compressible classes are made
    /// once per aligned group of `strong_group` class-unit pieces (one of
    /// [`super::RUN_GROUPS`]), the whole group taking one of them: real data holds its most
    /// compressible pieces in runs, where a blend piece by piece scatters them among weak ones.
    /// Fitted by the measured fit. Absent: 0 (each piece draws alone).
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub strong_classes: u64,
    /// See `strong_classes`. Absent: 1.
    #[serde(default = "one_piece", skip_serializing_if = "is_one_piece")]
    pub strong_group: u64,
    /// With `strong_classes`: the share of the pieces of runs of those classes that the blend
    /// gives one of the weaker classes (the groups of weaker runs draw the strong classes by
    /// what that gives back, so the shares stay). Below `blend_share` it keeps strong runs
    /// more whole, as real data's whole regions of compressible files (`compressed`: 0.4,
    /// where its blend is 3/4, took lz4 at 1 MiB from 0.104 to 0.043 with 1 GiB). Absent:
    /// `blend_share`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strong_blend: Option<f64>,
    /// Kinds of regions (of `kind_pieces` class-unit pieces): each region of content takes one
    /// kind (a `share` of the regions), and its pieces take their classes (per run, as `runs`
    /// says) by the kind's class shares instead of the profile's. Measured on the sample (its
    /// regions' class histograms, clustered: a database has regions of table pages and regions
    /// of index pages), so the classes' overall shares stay the profile's; in the order of
    /// their mean class (see `kind_span`). Absent: every region draws from the profile's
    /// shares.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<ProfileKind>,
    /// The class-unit pieces in a region of a kind: one of [`super::RUN_GROUPS`] (16: 128 KiB
    /// with 8 KiB pieces). Absent: the largest group (128), what profiles had before this field.
    #[serde(
        default = "largest_run_group",
        skip_serializing_if = "is_largest_run_group"
    )]
    pub kind_pieces: u64,
    /// How far the kinds of the regions in one group of the largest run group (1 MiB) spread, in
    /// [0, 1]: the kinds lie in a row on `[0, 1)`, each over its share, and the regions of one
    /// group take the kinds at evenly spaced points over a `kind_span` of it (0: one kind for
    /// the whole group). A sample's runs of index pages are not aligned to 1 MiB: a span lets a
    /// 1 MiB chunk hold some index regions and some table regions, each 128 KiB of one kind.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub kind_span: f64,
    /// The share of an echoing atom that repeats its source ([`super::mix`]): 1, the whole atom
    /// (what profiles had before this field), or part of its literal granules, in pairs drawn
    /// from a hash (one of [`ECHO_FRACTIONS`]), with proportionally more atoms echoing. Whole atoms make a unit's gain a whole number of atoms: a database's
    /// 32 KiB chunks gained 14% or 33% where the sample's all gain 14-19%. Fitted by the
    /// measured fit ([`super::measure`]).
    #[serde(default = "whole_atom", skip_serializing_if = "is_whole_atom")]
    pub echo_fraction: f64,
    /// The literal alphabet (values, [`NEAR_PLAIN_SYMBOLS`]) of the classes whose zstd-1 ratio at
    /// the class unit is within 2% of what plain literals give: an entropy coder gains on such
    /// a class in larger units what it cannot at 8 KiB (below zstd-1's threshold for coding
    /// literals there), as on compressed files, whose bytes are not quite uniform (a
    /// `compressed` sample's chunks at lz4 1.01-1.05 gain 1-2% more with zstd-1 at 128 KiB than
    /// at 8 KiB). Fitted by the measured fit. Absent: 256 (plain literals).
    #[serde(default = "all_values", skip_serializing_if = "is_all_values")]
    pub near_plain_symbols: u16,
    /// One entry per analyzed unit, by increasing unit.
    pub units: Vec<UnitProfile>,
}

/// The values [`Profile::near_plain_symbols`] takes.
pub const NEAR_PLAIN_SYMBOLS: [u16; 6] = [256, 248, 240, 235, 230, 225];

/// `near_plain_symbols` of profiles written before it: plain literals.
fn all_values() -> u16 {
    256
}

fn is_all_values(symbols: &u16) -> bool {
    *symbols == 256
}

/// The values [`Profile::echo_fraction`] takes.
pub const ECHO_FRACTIONS: [f64; 4] = [1.0, 0.75, 0.5, 0.25];

/// `strong_group` of profiles written before it: each piece its own.
fn one_piece() -> u64 {
    1
}

fn is_one_piece(group: &u64) -> bool {
    *group == 1
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

/// `echo_fraction` of profiles written before it: whole atoms.
fn whole_atom() -> f64 {
    1.0
}

fn is_whole_atom(fraction: &f64) -> bool {
    *fraction == 1.0
}

/// The largest run group: `kind_pieces` of profiles written before it.
fn largest_run_group() -> u64 {
    super::RUN_GROUPS[super::RUN_GROUPS.len() - 1]
}

fn is_largest_run_group(pieces: &u64) -> bool {
    *pieces == largest_run_group()
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// One class: a share of the chunks and their aggregate ratios (chunk bytes / compressed bytes).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfileClass {
    /// Share of all chunks at the reference unit (zero chunks included in the whole).
    pub share: f64,
    /// lz4 (block) ratio of the class's chunks.
    pub lz4: f64,
    /// zstd level 1 ratio of the class's chunks.
    pub zstd: f64,
}

/// A kind of region ([`Profile::kinds`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfileKind {
    /// Share of the regions.
    pub share: f64,
    /// Share of the region's pieces in each class, in `classes`' order, then (when the profile
    /// has zero chunks) the zero class; they sum to 1.
    pub classes: Vec<f64>,
}

impl ProfileKind {
    /// Checks that `kinds`' shares are in [0, 1] and sum to 1, and that each kind has `n` class
    /// shares (the non-zero classes, then the zero class if any) in [0, 1] summing to 1 (to
    /// within 0.005: class shares are kept to four decimals, and the generator normalises them).
    pub fn check_shapes(kinds: &[ProfileKind], n: usize) -> Result<(), String> {
        let sums_to_one = |v: &mut dyn Iterator<Item = f64>| {
            let mut total = 0.0;
            for x in v {
                if !(0.0..=1.0).contains(&x) {
                    return false;
                }
                total += x;
            }
            (total - 1.0).abs() <= 5e-3
        };
        if !kinds.is_empty() && !sums_to_one(&mut kinds.iter().map(|k| k.share)) {
            return Err("kinds: the shares are not in [0, 1] summing to 1".into());
        }
        for (i, k) in kinds.iter().enumerate() {
            if k.classes.len() != n || !sums_to_one(&mut k.classes.iter().copied()) {
                return Err(format!(
                    "kind {i}: its classes are not {n} shares in [0, 1] summing to 1"
                ));
            }
        }
        Ok(())
    }

    /// The classes' overall shares that `kinds` give (the zero class last when there is one).
    pub fn overall(kinds: &[ProfileKind], classes: usize) -> Vec<f64> {
        let mut out = vec![0.0; classes];
        for k in kinds {
            for (o, f) in out.iter_mut().zip(&k.classes) {
                *o += k.share * f;
            }
        }
        out
    }
}

/// The sample at one unit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnitProfile {
    /// Unit size in bytes.
    pub unit: u64,
    /// Whole units analyzed.
    pub chunks: u64,
    /// Chunks / distinct chunks.
    pub dedup_ratio: f64,
    /// Share of all-zero chunks.
    pub zero_share: f64,
    /// By codec name (`lz4`, `zstd-1`, ... as `dgen analyze --codecs` names them).
    pub codecs: BTreeMap<String, CodecProfile>,
}

/// One codec at one unit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CodecProfile {
    /// Aggregate ratio: bytes / compressed bytes over independent units.
    pub ratio: f64,
    /// Compression speed on one core, MB/s (10^6 bytes).
    pub speed_mbps: f64,
    /// Per-chunk ratios at 0%, 1/64, ..., 100% ([`QUANTILES`] + 1 values, non-decreasing).
    pub quantiles: Vec<f64>,
}

impl Profile {
    /// The entry of unit `unit`.
    pub fn unit(&self, unit: u64) -> Option<&UnitProfile> {
        self.units.iter().find(|u| u.unit == unit)
    }

    /// Checks what the generator and the comparison rely on; the error is the reason alone.
    pub fn check(&self) -> Result<(), String> {
        let r = self.reference_unit;
        if !r.is_power_of_two()
            || !(crate::params::MIN_DEDUP_UNIT..=crate::params::MAX_DEDUP_UNIT).contains(&r)
        {
            return Err(format!(
                "reference_unit {r} is not a power of two from 4096 to 16777216"
            ));
        }
        let cu = self.class_unit;
        if !cu.is_power_of_two() || cu < crate::params::MIN_DEDUP_UNIT || cu > r {
            return Err(format!(
                "class_unit {cu} is not a power of two from 4096 to the reference_unit {r}"
            ));
        }
        if self.unit(cu).is_none() {
            return Err(format!("no entry in \"units\" for the class_unit {cu}"));
        }
        let reference = self
            .unit(r)
            .ok_or_else(|| format!("no entry in \"units\" for the reference_unit {r}"))?;
        for codec in ["lz4", "zstd-1"] {
            if !reference.codecs.contains_key(codec) {
                return Err(format!(
                    "no {codec} measurement at the reference unit (analyze with --codecs lz4,zstd-1)"
                ));
            }
        }
        let share_ok = |s: f64| s.is_finite() && (0.0..=1.0).contains(&s);
        if !share_ok(self.zero_share) {
            return Err(format!("zero_share {} is not in [0, 1]", self.zero_share));
        }
        if !(self.dedup_ratio.is_finite() && self.dedup_ratio >= 1.0) {
            return Err(format!("dedup_ratio {} is below 1", self.dedup_ratio));
        }
        if self.classes.is_empty() && self.zero_share < 1.0 {
            return Err("no classes".into());
        }
        if self.classes.len() > super::MAX_PROFILE_CLASSES {
            return Err(format!(
                "{} classes, at most {}",
                self.classes.len(),
                super::MAX_PROFILE_CLASSES
            ));
        }
        for (i, c) in self.classes.iter().enumerate() {
            if !(c.share > 0.0 && c.share <= 1.0) {
                return Err(format!("class {i}: share {} is not in (0, 1]", c.share));
            }
            if !(c.lz4.is_finite() && c.lz4 > 0.0 && c.zstd.is_finite() && c.zstd > 0.0) {
                return Err(format!("class {i}: ratios lz4={} zstd={}", c.lz4, c.zstd));
            }
        }
        if !(self.echo_exponent.is_finite() && (-8.0..=8.0).contains(&self.echo_exponent)) {
            return Err(format!(
                "echo_exponent {} is not within [-8, 8]",
                self.echo_exponent
            ));
        }
        if !self.echo_weights.is_empty() {
            if self.echo_weights.len() != self.classes.len() {
                return Err(format!(
                    "{} echo_weights for {} classes",
                    self.echo_weights.len(),
                    self.classes.len()
                ));
            }
            if let Some(w) = self
                .echo_weights
                .iter()
                .find(|w| !(w.is_finite() && **w >= 0.0))
            {
                return Err(format!("echo weight {w} is not a finite number from 0"));
            }
            if self.classes.windows(2).any(|w| w[1].lz4 < w[0].lz4) {
                return Err("echo_weights need classes by increasing lz4 ratio".into());
            }
        }
        if !NEAR_PLAIN_SYMBOLS.contains(&self.near_plain_symbols) {
            return Err(format!(
                "near_plain_symbols {} is not one of {NEAR_PLAIN_SYMBOLS:?}",
                self.near_plain_symbols
            ));
        }
        if !ECHO_FRACTIONS.contains(&self.echo_fraction) {
            return Err(format!(
                "echo_fraction {} is not one of {ECHO_FRACTIONS:?}",
                self.echo_fraction
            ));
        }
        if self.blend_from > self.classes.len() as u64 || !(0.0..=1.0).contains(&self.blend_share) {
            return Err(format!(
                "blend_from {} is above the number of classes or blend_share {} is not in [0, 1]",
                self.blend_from, self.blend_share
            ));
        }
        if let Some(share) = self.strong_blend {
            let weaker = self.classes.len() as f64
                - self.blend_from as f64
                - self.strong_classes.max(1) as f64;
            if !(0.0..=1.0).contains(&share)
                || share * (self.strong_classes.max(1) as f64) > weaker * self.blend_share
            {
                return Err(format!(
                    "strong_blend {share} is not in [0, 1], or above what the blend's weaker \
                     classes can give back (blend_share {} over {weaker} classes)",
                    self.blend_share
                ));
            }
        }
        if self.strong_classes > 0
            && (self.blend_from + self.strong_classes >= self.classes.len() as u64
                || !super::RUN_GROUPS.contains(&self.strong_group))
        {
            return Err(format!(
                "strong_classes {} leaves the blend (from class {} of {}) no weaker class, or \
                 strong_group {} is not one of {:?}",
                self.strong_classes,
                self.blend_from,
                self.classes.len(),
                self.strong_group,
                super::RUN_GROUPS
            ));
        }
        let total = self.zero_share + self.classes.iter().map(|c| c.share).sum::<f64>();
        if (total - 1.0).abs() > 1e-3 {
            return Err(format!(
                "the class shares and zero_share sum to {total}, not 1"
            ));
        }
        if !self.runs.is_empty()
            && (self.runs.len() != super::RUN_GROUPS.len()
                || self.runs.iter().any(|r| !(0.0..=1.0).contains(r))
                || (self.runs.iter().sum::<f64>() - 1.0).abs() > 1e-3)
        {
            return Err(format!(
                "runs {:?} are not {} shares summing to 1",
                self.runs,
                super::RUN_GROUPS.len()
            ));
        }
        self.check_kinds()?;
        for u in &self.units {
            for (name, c) in &u.codecs {
                if c.quantiles.len() != QUANTILES + 1
                    || c.quantiles.windows(2).any(|w| w[0].is_nan() || w[0] > w[1])
                {
                    return Err(format!(
                        "unit {}: {name}: quantiles are not {} non-decreasing numbers",
                        u.unit,
                        QUANTILES + 1
                    ));
                }
            }
        }
        Ok(())
    }

    /// Checks [`Profile::kinds`]: shares summing to 1, each kind's class shares (one per class,
    /// and one for the zero class when `zero_share` is above 0) summing to 1, and together the
    /// classes' shares to within 0.01 (of all pieces).
    fn check_kinds(&self) -> Result<(), String> {
        if !super::RUN_GROUPS.contains(&self.kind_pieces) {
            return Err(format!(
                "kind_pieces {} is not one of {:?}",
                self.kind_pieces,
                super::RUN_GROUPS
            ));
        }
        if !(0.0..=1.0).contains(&self.kind_span) {
            return Err(format!("kind_span {} is not in [0, 1]", self.kind_span));
        }
        if self.kinds.is_empty() {
            return Ok(());
        }
        let n = self.classes.len() + usize::from(self.zero_share > 0.0);
        ProfileKind::check_shapes(&self.kinds, n)?;
        let want = self
            .classes
            .iter()
            .map(|c| c.share)
            .chain((self.zero_share > 0.0).then_some(self.zero_share));
        let worst = ProfileKind::overall(&self.kinds, n)
            .iter()
            .zip(want)
            .map(|(got, want)| (got - want).abs())
            .fold(0.0, f64::max);
        if worst > 0.01 {
            return Err(format!(
                "kinds: together they give a class {worst:.4} more or less than its share"
            ));
        }
        Ok(())
    }

    /// The profile as JSON (what [`parse`] reads back): indented, with each innermost array or
    /// object (a class, a list of quantiles) on one line.
    pub fn to_json(&self) -> String {
        compact_innermost(&serde_json::to_string_pretty(self).expect("a profile serializes"))
    }
}

/// Why a profile could not be loaded.
#[derive(Debug)]
pub enum ProfileError {
    /// Not a built-in name, and the file cannot be read.
    Open(std::path::PathBuf, std::io::Error),
    /// Not JSON, not a profile, or a field out of range.
    Malformed(String),
    /// A profile of another format version.
    Version(u64),
}

impl ProfileError {
    /// The reason, on one line, without the value (the caller names the argument and value).
    pub fn reason(&self) -> String {
        match self {
            ProfileError::Open(_, e) => format!(
                "cannot read it: {e} (and it is not a built-in profile: {})",
                super::builtin::NAMES.join(", ")
            ),
            ProfileError::Malformed(r) => format!("not a valid dgen profile: {r}"),
            ProfileError::Version(v) => format!(
                "profile format version {v}, this dgen reads version {VERSION} (make it again \
                 with this dgen's `dgen analyze --profile`)"
            ),
        }
    }

    /// The core error: [`crate::Error::Io`] (open, with the path) for a file that cannot be read,
    /// [`crate::Error::InvalidArgument`] naming `profile` and the value otherwise.
    pub fn into_error(self, value: &str) -> crate::Error {
        match self {
            ProfileError::Open(path, e) => crate::Error::io("open", path, None, e),
            other => crate::Error::invalid("profile", format!("{value:?}: {}", other.reason())),
        }
    }
}

/// Loads a profile by built-in name (`text`, ...) or path. A value that names no built-in
/// profile is a path.
pub fn load(name_or_path: &str) -> Result<Profile, ProfileError> {
    if let Some(text) = super::builtin::get(name_or_path) {
        return parse(text);
    }
    load_file(Path::new(name_or_path))
}

/// Loads a profile file.
pub fn load_file(path: &Path) -> Result<Profile, ProfileError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| ProfileError::Open(path.to_path_buf(), e))?;
    parse(&text)
}

/// Parses a profile's JSON text and checks it.
pub fn parse(text: &str) -> Result<Profile, ProfileError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ProfileError::Malformed(e.to_string()))?;
    if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
        return Err(ProfileError::Malformed(format!(
            "no \"format\": \"{FORMAT}\" field"
        )));
    }
    let version = value
        .get("version")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| ProfileError::Malformed("no \"version\" number".into()))?;
    if version != VERSION {
        return Err(ProfileError::Version(version));
    }
    let profile: Profile =
        serde_json::from_value(value).map_err(|e| ProfileError::Malformed(e.to_string()))?;
    profile.check().map_err(ProfileError::Malformed)?;
    Ok(profile)
}

/// Puts every innermost `[...]` or `{...}` of pretty JSON on one line (they hold numbers and
/// keys only, so dropping line breaks and indentation changes no value).
fn compact_innermost(pretty: &str) -> String {
    let mut out = String::with_capacity(pretty.len());
    let mut open: Option<usize> = None;
    let mut in_string = false;
    let mut escaped = false;
    for ch in pretty.chars() {
        if in_string {
            out.push(ch);
            match (escaped, ch) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match ch {
            '"' => {
                in_string = true;
                out.push(ch);
            }
            '[' | '{' => {
                open = Some(out.len());
                out.push(ch);
            }
            ']' | '}' => {
                if let Some(start) = open.take() {
                    let inner: String = out[start + 1..]
                        .split('\n')
                        .map(str::trim)
                        .collect::<Vec<_>>()
                        .join(" ");
                    out.truncate(start + 1);
                    out.push_str(inner.trim());
                }
                out.push(ch);
            }
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn innermost_brackets_go_on_one_line() {
        let pretty = "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {\n    \"c\": \"x [ y\"\n  }\n}";
        let compact = compact_innermost(pretty);
        assert_eq!(
            compact,
            "{\n  \"a\": [1, 2],\n  \"b\": {\"c\": \"x [ y\"}\n}"
        );
        let a: serde_json::Value = serde_json::from_str(pretty).unwrap();
        let b: serde_json::Value = serde_json::from_str(&compact).unwrap();
        assert_eq!(a, b);
    }

    /// A profile written before `kind_pieces` and `kind_span` (its kinds of 1 MiB regions, one
    /// per region) reads as it was meant; those fields are written only when they say more.
    #[test]
    fn kinds_regions_default_to_the_largest_group() {
        let mut p = load("database").unwrap();
        assert!(p.kinds.len() >= 2);
        p.kind_pieces = 128;
        p.kind_span = 0.0;
        let old = p.to_json();
        assert!(!old.contains("kind_pieces") && !old.contains("kind_span"));
        assert_eq!(parse(&old).unwrap(), p);
        p.kind_pieces = 16;
        p.kind_span = 0.125;
        let new = p.to_json();
        assert!(new.contains("\"kind_pieces\": 16") && new.contains("\"kind_span\": 0.125"));
        assert_eq!(parse(&new).unwrap(), p);
    }

    /// A profile written before `echo_fraction` reads as whole-atom echoes, and a profile of
    /// whole-atom echoes is written without the field (as an older dgen wrote it); another
    /// fraction is written and read back, and a fraction it does not take is refused in one
    /// line naming the field.
    #[test]
    fn echo_fraction_defaults_to_whole_atoms() {
        let mut p = load("text").unwrap();
        p.echo_fraction = 1.0;
        let old = p.to_json();
        assert!(!old.contains("echo_fraction"));
        assert_eq!(parse(&old).unwrap().echo_fraction, 1.0);
        p.echo_fraction = 0.5;
        let new = p.to_json();
        assert!(new.contains("\"echo_fraction\": 0.5"));
        assert_eq!(parse(&new).unwrap(), p);
        for bad in [0.0, 0.3, 1.5] {
            p.echo_fraction = bad;
            let e = p.check().unwrap_err();
            assert!(
                e.contains(&format!("echo_fraction {bad} is not one of")),
                "{e}"
            );
        }
    }

    /// The alphabet of classes near plain literals: absent reads as plain (256) and plain is
    /// written without the field; another is written and read back; one it does not take is
    /// refused in one line naming the field.
    #[test]
    fn near_plain_symbols_default_to_plain() {
        let mut p = load("compressed").unwrap();
        p.near_plain_symbols = 256;
        let old = p.to_json();
        assert!(!old.contains("near_plain_symbols"));
        assert_eq!(parse(&old).unwrap().near_plain_symbols, 256);
        p.near_plain_symbols = 235;
        let new = p.to_json();
        assert!(new.contains("\"near_plain_symbols\": 235"));
        assert_eq!(parse(&new).unwrap(), p);
        p.near_plain_symbols = 100;
        let e = p.check().unwrap_err();
        assert!(e.contains("near_plain_symbols 100 is not one of"), "{e}");
    }

    /// The grouped draws of the blend's strongest classes: absent read as none (0, 1) and none
    /// is written without the fields; a grouping is written and read back; one that leaves the
    /// blend no weaker class, or a group that is not a run group, is refused in one line naming
    /// the fields.
    #[test]
    fn strong_draws_default_to_none() {
        let mut p = load("compressed").unwrap();
        (p.strong_classes, p.strong_group, p.strong_blend) = (0, 1, None);
        let old = p.to_json();
        assert!(!old.contains("strong_classes") && !old.contains("strong_group"));
        let read = parse(&old).unwrap();
        assert_eq!((read.strong_classes, read.strong_group), (0, 1));
        (p.strong_classes, p.strong_group) = (2, 4);
        let new = p.to_json();
        assert!(new.contains("\"strong_classes\": 2") && new.contains("\"strong_group\": 4"));
        assert_eq!(parse(&new).unwrap(), p);
        for (q, group) in [(2, 5), (p.classes.len() as u64 - p.blend_from, 4)] {
            (p.strong_classes, p.strong_group) = (q, group);
            let e = p.check().unwrap_err();
            assert!(e.starts_with(&format!("strong_classes {q} ")), "{e}");
            assert!(e.contains(&format!("strong_group {group} ")), "{e}");
        }
        // The strong runs' blend: absent is the blend's, written only when given, and refused
        // outside [0, 1] or above what the weaker classes can give back.
        (p.strong_classes, p.strong_group, p.strong_blend) = (1, 16, None);
        assert!(!p.to_json().contains("strong_blend"));
        p.strong_blend = Some(0.4);
        let new = p.to_json();
        assert!(new.contains("\"strong_blend\": 0.4"), "{new}");
        assert_eq!(parse(&new).unwrap(), p);
        p.blend_share = 0.01;
        for bad in [1.5, 0.4] {
            p.strong_blend = Some(bad);
            let e = p.check().unwrap_err();
            assert!(e.starts_with(&format!("strong_blend {bad} ")), "{e}");
        }
    }

    #[test]
    fn checks_name_the_field() {
        let p = load("text").unwrap();
        let mut bad = p.clone();
        bad.reference_unit = 3000;
        assert!(bad.check().unwrap_err().contains("reference_unit"));
        let mut bad = p.clone();
        bad.classes[0].share += 0.5;
        assert!(bad.check().unwrap_err().contains("sum to"));
        let mut bad = p.clone();
        bad.echo_weights = vec![1.0; 3];
        assert!(bad
            .check()
            .unwrap_err()
            .contains("3 echo_weights for 32 classes"));
        let mut bad = p.clone();
        bad.echo_weights = vec![1.0; bad.classes.len()];
        bad.echo_weights[5] = -1.0;
        assert!(bad.check().unwrap_err().contains("echo weight -1"));
        let mut bad = p.clone();
        bad.echo_weights = vec![1.0; bad.classes.len()];
        bad.classes.swap(0, 1);
        assert!(bad.check().unwrap_err().contains("increasing lz4"));
        // Kinds: the right length, summing to 1, giving the classes their shares.
        let n = p.classes.len() + usize::from(p.zero_share > 0.0);
        let even = |share: f64| ProfileKind {
            share,
            classes: p
                .classes
                .iter()
                .map(|c| c.share)
                .chain((p.zero_share > 0.0).then_some(p.zero_share))
                .collect(),
        };
        let mut good = p.clone();
        good.kinds = vec![even(0.5), even(0.5)];
        assert_eq!(good.check(), Ok(()));
        let mut bad = good.clone();
        bad.kinds[1].classes.pop();
        assert!(bad
            .check()
            .unwrap_err()
            .contains(&format!("kind 1: its classes are not {n} shares")));
        let mut bad = good.clone();
        bad.kinds[0].share = 0.7;
        assert!(bad.check().unwrap_err().contains("kinds: the shares"));
        // Their regions: one of the run groups, a span in [0, 1].
        let mut bad = good.clone();
        bad.kind_pieces = 24;
        assert!(bad
            .check()
            .unwrap_err()
            .contains("kind_pieces 24 is not one of [1, 4, 16, 128]"));
        let mut bad = good.clone();
        bad.kind_span = 1.5;
        assert!(bad
            .check()
            .unwrap_err()
            .contains("kind_span 1.5 is not in [0, 1]"));
        let mut bad = good;
        for (i, k) in bad.kinds.iter_mut().enumerate() {
            k.classes = (0..n).map(|c| if c == i { 1.0 } else { 0.0 }).collect();
        }
        assert!(bad
            .check()
            .unwrap_err()
            .contains("more or less than its share"));
        let mut bad = p;
        bad.units[0]
            .codecs
            .get_mut("lz4")
            .unwrap()
            .quantiles
            .reverse();
        assert!(bad.check().unwrap_err().contains("quantiles"));
        let e = load("/nonexistent/x.json").unwrap_err();
        assert!(matches!(e, ProfileError::Open(..)), "{e:?}");
        assert!(e
            .reason()
            .contains("text, executables, database, compressed"));
    }
}
