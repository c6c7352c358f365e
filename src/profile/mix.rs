//! What the generator takes from a profile: its classes made reachable, its zero share, its
//! *echoes*, and the dedup ratio to ask for so that the data, zero blocks included, has the
//! sample's.
//!
//! Echoes make the ratio grow with the unit as real data's does (text: lz4 2.3 at 8 KiB, 3.3 at
//! 1 MiB), where dgen's atoms, which share nothing, give the same ratio at every unit. An echoed
//! atom holds the same bytes as the atom `D` bytes before it (its own header aside): a codec that
//! sees both in one unit stores it as one match, which happens in an aligned unit of `u` bytes
//! with probability `1 - D/u`. lz4 sees distances below 64 KiB only, zstd-1 up to 512 KiB, as
//! the real codecs do. The shares of echoed atoms at each distance are fitted to the sample's
//! ratios across its units ([`fit_echoes`]), and the classes' ratios are divided by what echoes
//! give at the reference unit, so the reference unit keeps the sample's ratios.

use super::format::{Profile, ProfileClass};
use serde::{Deserialize, Serialize};

/// A profile's classes as the generator makes them ([`crate::GenParams::compress_profile`]):
/// each dedup block (slot) is all zeros with probability `zero_share`, else in one class, whose
/// atoms have the class's lz4 ratio and a literal alphabet that gives its zstd ratio.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfileMix {
    /// The profile's name (for logs).
    pub name: String,
    /// Share of all-zero blocks.
    pub zero_share: f64,
    /// The classes, by increasing lz4 ratio; their shares and `zero_share` sum to 1. Their ratios
    /// are those of atoms without echoes.
    pub classes: Vec<ProfileClass>,
    /// Echoed atoms: the share of atoms at each distance (in atoms), in the classes from
    /// `echo_from` on (the compressible ones).
    #[serde(default)]
    pub echoes: Vec<Echo>,
    /// The first class with echoes.
    #[serde(default)]
    pub echo_from: usize,
    /// The block size (dedup unit) the echoes were fitted for, in bytes.
    #[serde(default)]
    pub echo_block: u64,
    /// Shares of blocks whose class is that of their group of [`super::RUN_GROUPS`] blocks
    /// (the profile's `runs`).
    #[serde(default)]
    pub runs: Vec<f64>,
}

/// A share of atoms that repeat the atom `atoms` atoms (of 4 KiB) before them.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Echo {
    /// Distance in atoms.
    pub atoms: u32,
    /// Share of the atoms (of echoing classes).
    pub share: f64,
}

/// Echo distances tried, in bytes: lz4 sees the first four (its matches reach 65535 bytes back),
/// zstd-1 all of them.
const ECHO_DISTANCES: [u64; 7] = [
    4 << 10,
    8 << 10,
    16 << 10,
    32 << 10,
    64 << 10,
    128 << 10,
    256 << 10,
];
/// Farthest match lz4 makes.
const LZ4_WINDOW: u64 = 65535;
/// Classes whose lz4 ratio at the reference unit is below this get no echoes (incompressible
/// chunks stay incompressible at every unit).
const ECHO_MIN_RATIO: f64 = 1.15;
/// Most atoms echoed in all.
const MAX_ECHO_SHARE: f64 = 0.9;

/// The share of atoms drawn for an echo at distance `d` bytes that an aligned unit of `u` bytes
/// holds with their source, in blocks of `block` bytes. An echo shorter than the block stays in
/// its block (atoms less than `d` into a block do not echo), so every unit from the block up
/// finds it, and a unit of a block sees the same echoes in every block; a longer echo crosses
/// blocks and an aligned unit holds both ends with probability `1 - d/u`.
fn found(u: u64, d: u64, block: u64, cross: f64) -> f64 {
    if d >= block {
        // The source is in another block, which echoes (so holds the bytes that the echo
        // repeats) with probability `cross`.
        return cross * (1.0 - d as f64 / u as f64).max(0.0);
    }
    let atom = crate::gen::ATOM as u64;
    let (n, d, k) = (block / atom, d / atom, (u / atom).max(1));
    // Atoms `d..n` of a block echo; atom `i` finds its source `i - d` when both are in one unit.
    let hits = (d..n).filter(|&i| u >= block || i % k >= d).count();
    hits as f64 / n as f64
}

/// `E(u)`: the share of echoing atoms that a codec with window `window` finds at unit `u`, in
/// blocks of `(block bytes, share of blocks in echoing classes)`.
fn echo_gain(shares: &[f64], u: u64, window: u64, (block, cross): (u64, f64)) -> f64 {
    ECHO_DISTANCES
        .iter()
        .zip(shares)
        .filter(|(&d, _)| d <= window)
        .map(|(&d, &e)| e * found(u, d, block, cross))
        .sum()
}

/// The share of all blocks in classes `from..` of `classes`.
fn echoing_share(classes: &[ProfileClass], from: usize) -> f64 {
    classes
        .get(from..)
        .map_or(0.0, |c| c.iter().map(|c| c.share).sum())
}

/// Fits echo shares to the sample's ratios per unit: with `w` the share of compressed bytes in
/// echoing classes, a codec's compressed size at unit `u` is `B (1 - w E(u))`, so the ratio at
/// `u` over the ratio at the reference unit `r` is `(1 - w E(r)) / (1 - w E(u))`. Least squares in
/// the log of that, over lz4 and zstd-1 at every unit from 4 KiB, by coordinate descent.
fn fit_echoes(profile: &Profile, w: (f64, f64), cross: f64) -> Vec<f64> {
    let r = profile.reference_unit;
    let blocks = (r, cross);
    let Some(reference) = profile.unit(r) else {
        return vec![0.0; ECHO_DISTANCES.len()];
    };
    let mut points = Vec::new();
    for (codec, window, w) in [("lz4", LZ4_WINDOW, w.0), ("zstd-1", u64::MAX, w.1)] {
        let Some(at_r) = reference.codecs.get(codec) else {
            continue;
        };
        for u in profile
            .units
            .iter()
            .filter(|u| u.unit >= 4096 && u.unit != r)
        {
            if let Some(c) = u.codecs.get(codec) {
                if c.ratio > 0.0 && at_r.ratio > 0.0 {
                    points.push((u.unit, window, w, (c.ratio / at_r.ratio).ln()));
                }
            }
        }
    }
    // The echoing classes' ratios are divided by what echoes give at the reference unit: they
    // must stay at 1 or above.
    let least = (
        profile
            .classes
            .iter()
            .map(|c| c.lz4)
            .filter(|&r| r >= ECHO_MIN_RATIO)
            .fold(f64::MAX, f64::min),
        profile
            .classes
            .iter()
            .filter(|c| c.lz4 >= ECHO_MIN_RATIO)
            .map(|c| c.zstd)
            .fold(f64::MAX, f64::min),
    );
    let cost = |e: &[f64]| -> f64 {
        if 1.0 - echo_gain(e, r, LZ4_WINDOW, blocks) < 1.0 / least.0
            || 1.0 - echo_gain(e, r, u64::MAX, blocks) < 1.0 / least.1
        {
            return f64::INFINITY;
        }
        points
            .iter()
            .map(|&(u, window, w, want)| {
                let got = ((1.0 - w * echo_gain(e, r, window, blocks))
                    / (1.0 - w * echo_gain(e, u, window, blocks)).max(1e-3))
                .ln();
                (got - want).powi(2)
            })
            .sum()
    };
    let mut e = vec![0.0; ECHO_DISTANCES.len()];
    if points.is_empty() {
        return e;
    }
    for _ in 0..40 {
        for j in 0..e.len() {
            let room = MAX_ECHO_SHARE - (e.iter().sum::<f64>() - e[j]);
            let (mut best, mut best_cost) = (e[j], cost(&e));
            for step in 0..=100 {
                e[j] = room * step as f64 / 100.0;
                let c = cost(&e);
                if c < best_cost - 1e-15 {
                    (best, best_cost) = (e[j], c);
                }
            }
            e[j] = best;
        }
    }
    e
}

/// A class the generator cannot make as the sample has it, and what it makes instead.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Miss {
    /// The class's index.
    pub class: usize,
    /// The sample's ratios.
    pub asked: ProfileClass,
    /// The nearest reachable point.
    pub made: ProfileClass,
}

impl ProfileMix {
    /// The mix of `profile`, each class moved to the nearest point dgen makes (lz4 from 1 to 50;
    /// zstd from lz4's ratio up to [`crate::gen::max_zstd_ratio`]); the classes moved are returned
    /// with it.
    pub fn from_profile(profile: &Profile) -> (ProfileMix, Vec<Miss>) {
        let mut classes = profile.classes.clone();
        classes.sort_by(|a, b| a.lz4.total_cmp(&b.lz4));
        let echo_from = classes
            .iter()
            .position(|c| c.lz4 >= ECHO_MIN_RATIO)
            .unwrap_or(classes.len());
        // Compressed bytes of the echoing classes, as a share of all (per codec).
        let weight = |f: fn(&ProfileClass) -> f64| {
            let all: f64 = classes.iter().map(|c| c.share / f(c)).sum();
            let echoing: f64 = classes[echo_from..].iter().map(|c| c.share / f(c)).sum();
            if all > 0.0 {
                echoing / all
            } else {
                0.0
            }
        };
        let shares = if echo_from < classes.len() {
            fit_echoes(
                profile,
                (weight(|c| c.lz4), weight(|c| c.zstd)),
                echoing_share(&classes, echo_from),
            )
        } else {
            vec![0.0; ECHO_DISTANCES.len()]
        };
        let r = profile.reference_unit;
        let blocks = (r, echoing_share(&classes, echo_from));
        let (keep_lz4, keep_zstd) = (
            1.0 - echo_gain(&shares, r, LZ4_WINDOW, blocks),
            1.0 - echo_gain(&shares, r, u64::MAX, blocks),
        );
        let mut misses = Vec::new();
        for (i, class) in classes.iter_mut().enumerate() {
            let asked = *class;
            let (scale_lz4, scale_zstd) = if i >= echo_from {
                (keep_lz4, keep_zstd)
            } else {
                (1.0, 1.0)
            };
            let lz4 = (asked.lz4 * scale_lz4).clamp(1.0, crate::params::MAX_COMPRESS_RATIO);
            let zstd = (asked.zstd * scale_zstd).clamp(lz4, crate::gen::max_zstd_ratio(lz4));
            *class = ProfileClass {
                share: asked.share,
                lz4,
                zstd,
            };
            // What the class gives at the reference unit, echoes included.
            let made = ProfileClass {
                share: asked.share,
                lz4: lz4 / scale_lz4,
                zstd: zstd / scale_zstd,
            };
            // Ratios below 1 (codecs expand incompressible data slightly) are what dgen's
            // incompressible data gives too: not a miss.
            let off = |a: f64, m: f64| a.max(1.0) / m - 1.0;
            if off(asked.lz4, made.lz4).abs() > 0.005 || off(asked.zstd, made.zstd).abs() > 0.005 {
                misses.push(Miss {
                    class: i,
                    asked,
                    made,
                });
            }
        }
        let echoes = ECHO_DISTANCES
            .iter()
            .zip(&shares)
            .filter(|(_, &e)| e > 1e-4)
            .map(|(&d, &e)| Echo {
                atoms: (d / crate::gen::ATOM as u64) as u32,
                share: e,
            })
            .collect();
        (
            ProfileMix {
                name: profile.name.clone(),
                zero_share: profile.zero_share,
                classes,
                echoes,
                echo_from,
                echo_block: r,
                runs: profile.runs.clone(),
            },
            misses,
        )
    }

    /// The classes' aggregate lz4 and zstd ratios at unit `unit`, echoes included (what the
    /// non-zero blocks should measure).
    pub fn aggregate_at(&self, unit: u64) -> (f64, f64) {
        let mut shares = vec![0.0; ECHO_DISTANCES.len()];
        for e in &self.echoes {
            if let Some(j) = ECHO_DISTANCES
                .iter()
                .position(|&d| d == e.atoms as u64 * crate::gen::ATOM as u64)
            {
                shares[j] = e.share;
            }
        }
        let blocks = (
            self.echo_block,
            echoing_share(&self.classes, self.echo_from),
        );
        let keep = (
            1.0 - echo_gain(&shares, unit, LZ4_WINDOW, blocks),
            1.0 - echo_gain(&shares, unit, u64::MAX, blocks),
        );
        let with_echoes: Vec<ProfileClass> = self
            .classes
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let (kl, kz) = if i >= self.echo_from {
                    keep
                } else {
                    (1.0, 1.0)
                };
                ProfileClass {
                    share: c.share,
                    lz4: c.lz4 / kl.max(1e-3),
                    zstd: c.zstd / kz.max(1e-3),
                }
            })
            .collect();
        aggregate(&with_echoes)
    }

    /// Checks the mix (as [`crate::GenParams::validate`] does); the error is the reason alone.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.zero_share) {
            return Err(format!("zero share {} is not in [0, 1]", self.zero_share));
        }
        if self.classes.len() > super::MAX_PROFILE_CLASSES {
            return Err(format!(
                "{} classes, at most {}",
                self.classes.len(),
                super::MAX_PROFILE_CLASSES
            ));
        }
        let echoed: f64 = self.echoes.iter().map(|e| e.share).sum();
        if !(0.0..=MAX_ECHO_SHARE + 1e-9).contains(&echoed)
            || self
                .echoes
                .iter()
                .any(|e| e.atoms == 0 || e.share.is_nan() || e.share < 0.0)
        {
            return Err(format!(
                "echo shares {echoed} are not within [0, {MAX_ECHO_SHARE}]"
            ));
        }
        for c in &self.classes {
            if c.share.is_nan() || c.share <= 0.0 {
                return Err(format!("class share {} is not above 0", c.share));
            }
            crate::compress_mix::check_codec_ratios(c.lz4, c.zstd)?;
        }
        let total = self.zero_share + self.classes.iter().map(|c| c.share).sum::<f64>();
        if (total - 1.0).abs() > 1e-3 {
            return Err(format!("the shares sum to {total}, not 1"));
        }
        Ok(())
    }

    /// The aggregate lz4 and zstd ratios of the non-zero blocks: `1 / sum(share_i / ratio_i)`
    /// over the classes (shares taken within the non-zero blocks).
    pub fn aggregate(&self) -> (f64, f64) {
        aggregate(&self.classes)
    }

    /// The dedup ratio to generate with so that the data has `overall` (the sample's, zero blocks
    /// included): every zero block is a copy of every other, so the other blocks need
    /// `overall * (1 - zero share)`, at least 1.
    pub fn generator_dedup(&self, overall: f64) -> f64 {
        (overall * (1.0 - self.zero_share)).max(1.0)
    }
}

/// The aggregate lz4 and zstd ratios of `classes` (their shares normalised).
pub fn aggregate(classes: &[ProfileClass]) -> (f64, f64) {
    let total: f64 = classes.iter().map(|c| c.share).sum();
    if total <= 0.0 {
        return (1.0, 1.0);
    }
    let inv = |f: fn(&ProfileClass) -> f64| {
        total
            / classes
                .iter()
                .map(|c| c.share / f(c).max(1e-9))
                .sum::<f64>()
    };
    (inv(|c| c.lz4), inv(|c| c.zstd))
}

/// Sets `params` to generate data like `profile`: its classes (made reachable), its zero blocks
/// and echoes, the dedup ratio `dedup` (the sample's when `None`; zero blocks included either
/// way, see [`ProfileMix::generator_dedup`]) and the dedup unit `unit` (the profile's reference
/// unit when `None`). Returns one line saying which classes are out of reach, if any (every face
/// shows it: stderr, fio's log, a Python warning).
pub fn apply_profile(
    params: &mut crate::GenParams,
    profile: &Profile,
    dedup: Option<f64>,
    unit: Option<u64>,
) -> Option<String> {
    let (mix, misses) = ProfileMix::from_profile(profile);
    params.dedup_ratio = mix.generator_dedup(dedup.unwrap_or(profile.dedup_ratio));
    params.dedup_unit = unit.unwrap_or(profile.reference_unit);
    let note = miss_report(profile, &mix, &misses);
    params.set_profile(mix);
    note
}

/// One line on the classes that dgen makes at the nearest reachable point, and what the
/// aggregate ratios at the reference unit become; `None` when every class is made as asked.
pub fn miss_report(profile: &Profile, mix: &ProfileMix, misses: &[Miss]) -> Option<String> {
    let worst = misses.iter().max_by(|a, b| {
        let off = |m: &Miss| {
            (m.asked.zstd.max(1.0) / m.made.zstd - 1.0).abs()
                + (m.asked.lz4.max(1.0) / m.made.lz4 - 1.0).abs()
        };
        off(a).total_cmp(&off(b))
    })?;
    let share: f64 = misses.iter().map(|m| m.asked.share).sum();
    let (asked_lz4, asked_zstd) = aggregate(&profile.classes);
    let (lz4, zstd) = mix.aggregate_at(profile.reference_unit);
    Some(format!(
        "profile {}: {} of {} classes ({:.1}% of the blocks) are out of dgen's reach and made at \
         the nearest point (worst: lz4={:.3},zstd={:.3} made as lz4={:.3},zstd={:.3}); aggregate \
         of the non-zero blocks at {} KiB: lz4 {:.3} (sample {:.3}, {:+.1}%), zstd-1 {:.3} \
         (sample {:.3}, {:+.1}%)",
        profile.name,
        misses.len(),
        profile.classes.len(),
        share * 100.0,
        worst.asked.lz4,
        worst.asked.zstd,
        worst.made.lz4,
        worst.made.zstd,
        profile.reference_unit >> 10,
        lz4,
        asked_lz4,
        (lz4 / asked_lz4 - 1.0) * 100.0,
        zstd,
        asked_zstd,
        (zstd / asked_zstd - 1.0) * 100.0
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_within_a_block_are_found_from_the_block_up() {
        let block = 32 << 10;
        // 4 KiB echoes: atoms 1..8 of a block echo; at 8 KiB units half of them find their
        // source (odd atoms), from a block up all of them.
        assert!((found(8 << 10, 4 << 10, block, 1.0) - 4.0 / 8.0).abs() < 1e-12);
        assert!((found(32 << 10, 4 << 10, block, 1.0) - 7.0 / 8.0).abs() < 1e-12);
        assert_eq!(
            found(1 << 20, 4 << 10, block, 1.0),
            found(32 << 10, 4 << 10, block, 1.0)
        );
        // Echoes that cross blocks: 1 - d/u, when the source block echoes.
        assert_eq!(found(32 << 10, 64 << 10, block, 1.0), 0.0);
        assert!((found(1 << 20, 128 << 10, block, 0.5) - 0.5 * 0.875).abs() < 1e-12);
        // lz4 does not see 128 KiB echoes, zstd does.
        let shares = [0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 0.0];
        assert_eq!(echo_gain(&shares, 1 << 20, LZ4_WINDOW, (block, 1.0)), 0.0);
        assert!(echo_gain(&shares, 1 << 20, u64::MAX, (block, 1.0)) > 0.2);
    }

    #[test]
    fn unreachable_classes_are_moved_and_reported() {
        for name in super::super::builtin::NAMES {
            let p = super::super::load(name).unwrap();
            let (mix, misses) = ProfileMix::from_profile(&p);
            mix.validate().unwrap();
            assert_eq!(mix.classes.len(), p.classes.len());
            // Every class as made is reachable.
            for c in &mix.classes {
                assert!(c.lz4 >= 1.0 && c.zstd <= crate::gen::max_zstd_ratio(c.lz4) + 1e-9);
            }
            assert!(
                misses.iter().all(|m| m.asked.share == m.made.share),
                "{name}"
            );
            // The prediction at the reference unit: the sample's aggregates, less the misses.
            let (asked, made) = (aggregate(&p.classes), mix.aggregate_at(p.reference_unit));
            if misses.is_empty() {
                assert!((made.0 / asked.0 - 1.0).abs() < 0.005, "{name}");
            }
            assert!(
                (made.0 / asked.0 - 1.0).abs() < 0.05,
                "{name}: {made:?} {asked:?}"
            );
        }
    }
}
