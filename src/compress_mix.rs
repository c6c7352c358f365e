//! Compressibility mixes: shares of dedup blocks at each of several compression ratios, such as
//! `1:30%,4:50%,16:20%` (30% of the blocks incompressible, 50% at 4:1, 20% at 16:1).
//!
//! It also holds [`CompressSpec`], everything `--compress` may say: one ratio, a mix, or
//! per-codec ratios (`lz4=2.2,zstd=3.3`, literal bytes of fewer values for entropy coders).
//! This module only parses, checks and prints; which block gets which ratio is the generator's
//! business (`gen::classes`), and so is the literal alphabet (`gen::calibration`). The *aggregate* ratio of a mix is what a codec sees
//! over all of it: total bytes / total compressed bytes, `1 / sum(share_i / ratio_i)`.

use crate::error::{Error, Result};
use std::fmt;
use std::sync::Arc;

/// Most classes a mix may have.
pub const MAX_MIX_CLASSES: usize = 16;
/// How far from 100% the shares may sum (in percentage points): `33.33%` three times passes.
const SHARE_SUM_SLACK: f64 = 0.01;

/// One class of a mix: a share of the blocks at one compression ratio.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MixClass {
    /// The compression ratio of the class's blocks (1 to 50).
    pub ratio: f64,
    /// The class's share of the blocks, in percent as given (the shares sum to 100 give or take
    /// 0.01; [`CompressMix::fraction`] normalises them).
    pub percent: f64,
}

/// A mix of compression ratios (two classes or more; one class at 100% is a plain ratio).
/// Cheap to clone.
#[derive(Clone, Debug, PartialEq)]
pub struct CompressMix {
    classes: Arc<[MixClass]>,
    sum: f64,
}

impl CompressMix {
    /// A mix of `classes`, checked: each ratio from 1 to `max_ratio`, each share above 0, the
    /// shares summing to 100% (within 0.01), no ratio twice, 2 to [`MAX_MIX_CLASSES`] classes.
    /// The error gives the reason only: the caller names the argument.
    pub fn new(classes: Vec<MixClass>, max_ratio: f64) -> std::result::Result<Self, String> {
        if classes.len() < 2 {
            return Err(
                "a mix needs two classes or more (one ratio alone is a plain ratio)".into(),
            );
        }
        if classes.len() > MAX_MIX_CLASSES {
            return Err(format!(
                "{} classes, at most {MAX_MIX_CLASSES}",
                classes.len()
            ));
        }
        for (i, c) in classes.iter().enumerate() {
            if !c.ratio.is_finite() || c.ratio < 1.0 {
                return Err(format!(
                    "ratio {} is below 1 (1 means incompressible)",
                    c.ratio
                ));
            }
            if c.ratio > max_ratio {
                return Err(format!(
                    "ratio {} is above the supported maximum {max_ratio}",
                    c.ratio
                ));
            }
            if !c.percent.is_finite() || c.percent <= 0.0 || c.percent > 100.0 {
                return Err(format!(
                    "share {}% of ratio {} is not above 0% and at most 100%",
                    c.percent, c.ratio
                ));
            }
            if classes[..i].iter().any(|o| o.ratio == c.ratio) {
                return Err(format!("ratio {} is given twice", c.ratio));
            }
        }
        let sum: f64 = classes.iter().map(|c| c.percent).sum();
        if (sum - 100.0).abs() > SHARE_SUM_SLACK {
            return Err(format!("the shares sum to {sum}%, not 100%"));
        }
        Ok(CompressMix {
            classes: classes.into(),
            sum,
        })
    }

    /// The classes, in the order given.
    pub fn classes(&self) -> &[MixClass] {
        &self.classes
    }

    /// Class `i`'s share of the blocks, from 0 to 1 (the shares sum to 1).
    pub fn fraction(&self, i: usize) -> f64 {
        self.classes[i].percent / self.sum
    }

    /// The aggregate compression ratio: total bytes / total compressed bytes,
    /// `1 / sum(share_i / ratio_i)`.
    pub fn aggregate_ratio(&self) -> f64 {
        let inverse: f64 = (0..self.classes.len())
            .map(|i| self.fraction(i) / self.classes[i].ratio)
            .sum();
        1.0 / inverse
    }

    /// The largest ratio of the mix.
    pub fn max_ratio(&self) -> f64 {
        self.classes.iter().map(|c| c.ratio).fold(1.0, f64::max)
    }
}

impl fmt::Display for CompressMix {
    /// The canonical text, `1:30%,4:50%,16:20%`: parsing it gives the same mix.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.classes.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}:{}%", c.ratio, c.percent)?;
        }
        Ok(())
    }
}

/// What `--compress`, `dgen_compress_ratio` and `compress_ratio=` say: one ratio for every block,
/// or a mix.
#[derive(Clone, Debug, PartialEq)]
pub enum CompressSpec {
    /// Every block at this ratio.
    Ratio(f64),
    /// Shares of blocks at several ratios.
    Mix(CompressMix),
    /// One ratio for lz4 (and other codecs without an entropy coder) and a higher one for zstd
    /// (and deflate, brotli): `lz4=2.2,zstd=3.5`. The literal bytes take fewer values, which an
    /// entropy coder stores in fewer bits.
    Codecs {
        /// The ratio lz4 sees.
        lz4: f64,
        /// The ratio zstd sees.
        zstd: f64,
    },
}

/// Checks per-codec ratios: lz4's from 1 to the maximum, zstd's from lz4's up to the most literal
/// entropy can give ([`crate::gen::max_zstd_ratio`]). The error is the reason alone.
pub fn check_codec_ratios(lz4: f64, zstd: f64) -> std::result::Result<(), String> {
    check_codec_ratios_up_to(lz4, zstd, crate::gen::max_zstd_ratio(lz4))
}

/// [`check_codec_ratios`] with `most`, the most zstd may see at `lz4` (a profile's 8 KiB pieces
/// reach their own most, [`crate::gen::max_piece_zstd`]).
pub(crate) fn check_codec_ratios_up_to(
    lz4: f64,
    zstd: f64,
    most: f64,
) -> std::result::Result<(), String> {
    crate::params::check_ratio("lz4 ratio", lz4, crate::params::MAX_COMPRESS_RATIO)
        .map_err(|e| format!("lz4={lz4}: {}", reason(e)))?;
    if !zstd.is_finite() || zstd < lz4 {
        return Err(format!(
            "zstd={zstd} is below lz4={lz4} (zstd never sees less)"
        ));
    }
    if zstd > most {
        return Err(format!(
            "zstd={zstd} is above {most:.3}, the most dgen makes with lz4={lz4} (literal bytes \
             of fewer values would give lz4 matches too)"
        ));
    }
    Ok(())
}

impl CompressSpec {
    /// Parses `3`, `1.5`, a mix `RATIO:SHARE%,...` (for example `1:30%,4:50%,16:20%`; a mix of
    /// one class at 100% is that ratio) or per-codec ratios `lz4=R1,zstd=R2`. Ratios are checked against `max_ratio`. The error is
    /// the reason alone (the caller names the argument and the value).
    pub fn parse(text: &str, max_ratio: f64) -> std::result::Result<Self, String> {
        let t = text.trim();
        if t.contains('=') {
            return parse_codecs(t);
        }
        if !t.contains(':') {
            let r: f64 = t.parse().map_err(|_| {
                "not a ratio (e.g. 3 or 1.5) nor a mix (e.g. 1:30%,4:50%,16:20%)".to_string()
            })?;
            crate::params::check_ratio("compression ratio", r, max_ratio).map_err(reason)?;
            return Ok(CompressSpec::Ratio(r));
        }
        let mut classes = Vec::new();
        for entry in t.split(',') {
            let entry = entry.trim();
            let (ratio, share) = entry
                .split_once(':')
                .ok_or_else(|| format!("{entry:?} is not RATIO:SHARE% (e.g. 4:50%)"))?;
            let ratio: f64 = ratio.trim().parse().map_err(|_| {
                format!(
                    "{:?} in {entry:?} is not a ratio (e.g. 4 or 1.5)",
                    ratio.trim()
                )
            })?;
            let percent: f64 = share
                .trim()
                .strip_suffix('%')
                .and_then(|p| p.trim().parse().ok())
                .ok_or_else(|| {
                    format!(
                        "{:?} in {entry:?} is not a share in percent (e.g. 50%)",
                        share.trim()
                    )
                })?;
            classes.push(MixClass { ratio, percent });
        }
        if classes.len() == 1 {
            let c = classes[0];
            if (c.percent - 100.0).abs() > SHARE_SUM_SLACK {
                return Err(format!("the shares sum to {}%, not 100%", c.percent));
            }
            crate::params::check_ratio("compression ratio", c.ratio, max_ratio).map_err(reason)?;
            return Ok(CompressSpec::Ratio(c.ratio));
        }
        CompressMix::new(classes, max_ratio).map(CompressSpec::Mix)
    }

    /// The aggregate ratio (the ratio itself, the mix's [`CompressMix::aggregate_ratio`], or
    /// lz4's ratio).
    pub fn aggregate_ratio(&self) -> f64 {
        match self {
            CompressSpec::Ratio(r) => *r,
            CompressSpec::Mix(m) => m.aggregate_ratio(),
            CompressSpec::Codecs { lz4, .. } => *lz4,
        }
    }
}

impl fmt::Display for CompressSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompressSpec::Ratio(r) => write!(f, "{r}"),
            CompressSpec::Mix(m) => write!(f, "{m}"),
            CompressSpec::Codecs { lz4, zstd } => write!(f, "lz4={lz4},zstd={zstd}"),
        }
    }
}

impl std::str::FromStr for CompressSpec {
    type Err = Error;

    /// [`CompressSpec::parse`] up to [`crate::params::MAX_COMPRESS_RATIO`]; the error names the
    /// compression ratio and quotes the value.
    fn from_str(text: &str) -> Result<Self> {
        CompressSpec::parse(text, crate::params::MAX_COMPRESS_RATIO)
            .map_err(|r| Error::invalid("compression ratio", format!("{text:?}: {r}")))
    }
}

/// Parses `lz4=2.2,zstd=3.5` (either order; both needed).
fn parse_codecs(t: &str) -> std::result::Result<CompressSpec, String> {
    let (mut lz4, mut zstd) = (None, None);
    for entry in t.split(',') {
        let entry = entry.trim();
        let (name, value) = entry
            .split_once('=')
            .ok_or_else(|| format!("{entry:?} is not CODEC=RATIO (e.g. zstd=3.5)"))?;
        let value: f64 = value
            .trim()
            .parse()
            .map_err(|_| format!("{:?} in {entry:?} is not a ratio", value.trim()))?;
        let slot = match name.trim().to_ascii_lowercase().as_str() {
            "lz4" => &mut lz4,
            "zstd" => &mut zstd,
            other => {
                return Err(format!(
                    "{other:?} is not a codec dgen sets apart (lz4, zstd)"
                ))
            }
        };
        if slot.replace(value).is_some() {
            return Err(format!("{} is given twice", name.trim()));
        }
    }
    let (Some(lz4), Some(zstd)) = (lz4, zstd) else {
        return Err("give both lz4= and zstd= (e.g. lz4=2.2,zstd=3.5)".into());
    };
    check_codec_ratios(lz4, zstd)?;
    Ok(CompressSpec::Codecs { lz4, zstd })
}

/// The reason of an [`Error::InvalidArgument`] (its whole text otherwise).
fn reason(e: Error) -> String {
    match e {
        Error::InvalidArgument { reason, .. } => reason,
        other => other.to_string(),
    }
}

impl serde::Serialize for CompressMix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for CompressMix {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match CompressSpec::parse(&text, crate::params::MAX_COMPRESS_RATIO) {
            Ok(CompressSpec::Mix(m)) => Ok(m),
            Ok(_) => Err(serde::de::Error::custom(format!("{text:?} is not a mix"))),
            Err(r) => Err(serde::de::Error::custom(format!("{text:?}: {r}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> std::result::Result<CompressSpec, String> {
        CompressSpec::parse(t, 50.0)
    }

    #[test]
    fn parses_ratios_and_mixes() {
        assert_eq!(parse(" 3 ").unwrap(), CompressSpec::Ratio(3.0));
        assert_eq!(parse("2.5:100%").unwrap(), CompressSpec::Ratio(2.5));
        let CompressSpec::Mix(m) = parse("1:30%, 4:50% ,16:20 %").unwrap() else {
            panic!("a mix")
        };
        assert_eq!(m.classes().len(), 3);
        assert_eq!(
            m.classes()[1],
            MixClass {
                ratio: 4.0,
                percent: 50.0
            }
        );
        assert_eq!(m.to_string(), "1:30%,4:50%,16:20%");
        assert_eq!(parse(&m.to_string()).unwrap(), CompressSpec::Mix(m.clone()));
        let agg = 1.0 / (0.3 / 1.0 + 0.5 / 4.0 + 0.2 / 16.0);
        assert!((m.aggregate_ratio() - agg).abs() < 1e-12);
        assert_eq!(m.max_ratio(), 16.0);
        // thirds: within the slack, normalised
        let CompressSpec::Mix(t) = parse("1:33.33%,2:33.33%,3:33.34%").unwrap() else {
            panic!("a mix")
        };
        let total: f64 = (0..3).map(|i| t.fraction(i)).sum();
        assert!((total - 1.0).abs() < 1e-12);
    }

    #[test]
    fn refuses_bad_mixes_with_a_reason() {
        for (text, why) in [
            ("1:30%,4:50%", "sum to 80%"),
            ("0.5:50%,4:50%", "below 1"),
            ("1:50%,60:50%", "above the supported maximum 50"),
            ("1:50%,1:50%", "twice"),
            ("1:50,4:50%", "in percent"),
            ("1:-10%,4:110%", "above 0%"),
            ("x:50%,4:50%", "not a ratio"),
            ("1:50%,,4:50%", "RATIO:SHARE%"),
            ("abc", "not a ratio"),
            ("0.9", "below 1.0"),
            ("4:90%", "sum to 90%"),
            ("nan:50%,2:50%", "below 1"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
        let many: Vec<String> = (1..=17).map(|i| format!("{i}:{}%", 100.0 / 17.0)).collect();
        assert!(parse(&many.join(",")).unwrap_err().contains("at most 16"));
        let e = "1:30%,4:50%"
            .parse::<CompressSpec>()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("compression ratio") && e.contains("1:30%,4:50%") && e.contains("80%"),
            "{e}"
        );
    }

    #[test]
    fn serde_round_trips_as_text() {
        let CompressSpec::Mix(m) = parse("1:25%,8:75%").unwrap() else {
            panic!("a mix")
        };
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, "\"1:25%,8:75%\"");
        assert_eq!(serde_json::from_str::<CompressMix>(&json).unwrap(), m);
        assert!(serde_json::from_str::<CompressMix>("\"3\"").is_err());
    }
}
