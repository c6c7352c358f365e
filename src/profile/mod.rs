//! Data profiles (issue 13): a small, anonymous description of a real sample's compressibility,
//! measured by `dgen analyze SAMPLE --profile out.json`, from which `--profile` (`dgen_profile=`,
//! `profile=`) generates data that compresses like the sample.
//!
//! * [`format`]: the JSON file (no content bytes; a few KiB whatever the sample's size) and its
//!   loading, with one-line reasons for files that are missing, malformed or of another version.
//! * [`build`]: from an analysis (with per-chunk ratios recorded at the reference unit) to a
//!   profile: the quantile classes (at the class unit, the smallest analyzed) and their runs.
//! * [`mix`]: what the generator takes from a profile ([`ProfileMix`], in [`crate::GenParams`]):
//!   the classes made reachable, the zero share, the dedup ratio to ask for.
//! * [`compare`]: a generated file's analysis against a profile: ratio per codec and unit, the
//!   Kolmogorov-Smirnov distance of the per-chunk ratios, compression speeds.
//! * [`builtin`]: the profiles shipped in the binary (`text`, `executables`, `database`,
//!   `compressed`), measured by `scripts/make-profiles`.

pub mod build;
pub mod builtin;
pub mod compare;
pub mod format;
pub mod kinds;
pub mod measure;
pub mod mix;

pub use build::{
    class_unit_for, profile_from_analysis, DEFAULT_REFERENCE_UNIT, MAX_PROFILE_CLASSES, RUN_GROUPS,
};
pub use compare::{compare, CodecComparison, Comparison};
pub use format::{
    load, load_file, parse, CodecProfile, Profile, ProfileClass, ProfileError, ProfileKind,
    UnitProfile, FORMAT, QUANTILES, VERSION,
};
pub use mix::{apply_profile, Echo, Miss, ProfileMix};
