//! What the generator takes from a profile: its classes made reachable, its zero share, its
//! *echoes*, and the dedup ratio to ask for so that the data, zero blocks included, has the
//! sample's.
//!
//! Echoes make the ratio grow with the unit as real data's does (text: lz4 2.3 at 8 KiB, 3.3 at
//! 1 MiB), where dgen's atoms, which share nothing, give the same ratio at every unit. An echoed
//! atom holds the same bytes as the atom `D` bytes before it (its own header aside): a codec that
//! sees both in one unit stores it as one match, which happens in an aligned unit of `u` bytes
//! with probability `1 - D/u`, when the atom `D` bytes before has the same run class. lz4 sees
//! distances below 64 KiB only, zstd-1 up to 512 KiB, as the real codecs do. The shares of echoed
//! atoms at each distance (from the class unit up: none is found within a class-unit chunk, so
//! the class unit keeps the sample's ratios) are fitted to the sample's ratios across its units
//! ([`fit_echoes`]), and scaled per class by the profile's echo exponent ([`echo_scales`]).

use super::format::{Profile, ProfileClass, ProfileKind};
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
    /// Shares of class-unit pieces whose class is that of their group of
    /// [`super::RUN_GROUPS`] pieces (the profile's `runs`).
    #[serde(default)]
    pub runs: Vec<f64>,
    /// The piece of content that has one class, in bytes (the profile's `class_unit`; 0: the
    /// block).
    #[serde(default)]
    pub class_unit: u64,
    /// Per class (in `classes`' order): the factor on its atoms' echo shares (the profile's
    /// `echo_exponent` at work: [`echo_scales`]). Empty: 1 for every class.
    #[serde(default)]
    pub echo_scale: Vec<f64>,
    /// A `blend_share` of the pieces whose run has one of `classes[blend_from..]` take one of
    /// those drawn at random (the profile's).
    #[serde(default)]
    pub blend_from: u64,
    /// See `blend_from`.
    #[serde(default)]
    pub blend_share: f64,
    /// The blend's most compressible classes drawn per group of pieces (the profile's
    /// `strong_classes`).
    #[serde(default)]
    pub strong_classes: u64,
    /// Pieces per group of those draws (the profile's `strong_group`).
    #[serde(default = "one_piece")]
    pub strong_group: u64,
    /// The blend's share in runs of those classes (the profile's `strong_blend`, or its
    /// `blend_share` when it has none).
    #[serde(default)]
    pub strong_blend: f64,
    /// Kinds of regions (the profile's `kinds`): per kind, its share of the regions and its
    /// class shares in `classes`' order, then the zero class when `zero_share` is above 0.
    /// Empty: every region draws from the classes' shares.
    #[serde(default)]
    pub kinds: Vec<ProfileKind>,
    /// Pieces per region of a kind (the profile's `kind_pieces`).
    #[serde(default = "largest_run_group")]
    pub kind_pieces: u64,
    /// How far the kinds of one group of the largest run group spread (the profile's
    /// `kind_span`).
    #[serde(default)]
    pub kind_span: f64,
    /// The share of an echoing atom's literal granules that repeat its source (the profile's
    /// `echo_fraction`; 1: the whole atom).
    #[serde(default = "whole_atom")]
    pub echo_fraction: f64,
    /// The literal alphabet of the classes near plain literals (the profile's
    /// `near_plain_symbols`; 256: plain).
    #[serde(default = "plain_symbols")]
    pub near_plain_symbols: u16,
}

/// `strong_group` when a mix does not say: each piece its own.
fn one_piece() -> u64 {
    1
}

/// `near_plain_symbols` when a mix does not say: plain literals.
fn plain_symbols() -> u16 {
    256
}

/// `echo_fraction` when a mix does not say: whole atoms.
fn whole_atom() -> f64 {
    1.0
}

/// The largest run group (pieces): `kind_pieces` when a mix does not say.
fn largest_run_group() -> u64 {
    super::RUN_GROUPS[super::RUN_GROUPS.len() - 1]
}

/// The factor on each echoing class's echo shares: `x^g / mean(x^g)` with `x = 1 - 1 / lz4` (the
/// share of a chunk that a codec can shorten) and `g` the profile's `echo_exponent`, the mean
/// weighted by the classes' compressed bytes, so the echoing classes together keep the fitted
/// gain; each capped so that a class echoes at most [`MAX_ECHO_SHARE`] of its atoms. With `g`
/// above 0 the more compressible chunks gain more from a larger unit than the less
/// compressible ones, as in real data (text's top quantile of lz4 ratios grows from 5.3 at
/// 8 KiB to 7.1 at 1 MiB, its median from 2.1 to 2.7; a database's least compressible pages
/// barely gain). `classes` by increasing lz4 ratio; classes before `from` do not echo (0).
/// `weights`, one per class (the profile's `echo_weights`), replace `x^g` when given; `g` is
/// used otherwise.
pub fn echo_scales(
    classes: &[ProfileClass],
    from: usize,
    exponent: f64,
    weights: &[f64],
    echoed: f64,
) -> Vec<f64> {
    if weights.len() == classes.len() {
        return weighted_echo_scales(classes, from, weights, echoed);
    }
    weighted_echo_scales(classes, from, &exponent_weights(classes, exponent), echoed)
}

/// The echo weight of each class by the exponent rule: `(1 - 1 / lz4)^exponent`.
pub fn exponent_weights(classes: &[ProfileClass], exponent: f64) -> Vec<f64> {
    classes
        .iter()
        .map(|c| (1.0 - 1.0 / c.lz4.max(1.0)).max(1e-6).powf(exponent))
        .collect()
}

/// [`echo_scales`] with a weight per class (a profile's `echo_weights`) in place of
/// `(1 - 1 / lz4)^exponent`.
fn weighted_echo_scales(
    classes: &[ProfileClass],
    from: usize,
    weights: &[f64],
    echoed: f64,
) -> Vec<f64> {
    let x = |i: usize| weights.get(i).copied().unwrap_or(1.0);
    let cap = if echoed > 0.0 {
        MAX_ECHO_SHARE / echoed
    } else {
        f64::INFINITY
    };
    // The factor on `x` that gives a weighted mean of 1 with the capped classes at the cap
    // (raised while the mean falls short: capping takes from the most compressible).
    let mean = |f: f64| {
        let (mut num, mut den) = (0.0, 0.0);
        for (i, c) in classes.iter().enumerate().skip(from) {
            num += c.share / c.lz4 * (f * x(i)).min(cap);
            den += c.share / c.lz4;
        }
        if den > 0.0 {
            num / den
        } else {
            1.0
        }
    };
    let mut f = 1.0 / mean(1.0).max(1e-12);
    for _ in 0..60 {
        let m = mean(f);
        if m >= 1.0 - 1e-9 || f > 1e12 {
            break;
        }
        f /= m.max(1e-3);
    }
    classes
        .iter()
        .enumerate()
        .map(|(i, _)| if i < from { 0.0 } else { (f * x(i)).min(cap) })
        .collect()
}

/// `profile`'s classes by increasing lz4 ratio (a stable sort: a profile's are in that order), as
/// the generator has them, and its kinds with their class shares in the same order (the zero
/// class last).
pub fn classes_by_lz4(profile: &Profile) -> (Vec<ProfileClass>, Vec<ProfileKind>) {
    let mut order: Vec<usize> = (0..profile.classes.len()).collect();
    order.sort_by(|&a, &b| profile.classes[a].lz4.total_cmp(&profile.classes[b].lz4));
    let classes = order.iter().map(|&i| profile.classes[i]).collect();
    let kinds = profile
        .kinds
        .iter()
        .map(|k| ProfileKind {
            share: k.share,
            classes: order
                .iter()
                .map(|&i| k.classes[i])
                .chain(k.classes.get(order.len()).copied())
                .collect(),
        })
        .collect();
    (classes, kinds)
}

/// Per kind of region, the echo scale of its pieces on their own (`Classes::echo_key_of`): the
/// mean of its echoing classes' scales (`scales`, one per non-zero class, 0 for one that does
/// not echo), weighted by the kind's shares of them; 0 when none echoes.
pub fn kind_echo_scales(kinds: &[ProfileKind], scales: &[f64]) -> Vec<f64> {
    kinds
        .iter()
        .map(|k| {
            let (mut sum, mut weight) = (0.0, 0.0);
            for (&f, &scale) in k.classes.iter().zip(scales) {
                if scale > 0.0 {
                    sum += f * scale;
                    weight += f;
                }
            }
            if weight > 0.0 {
                sum / weight
            } else {
                0.0
            }
        })
        .collect()
}

/// The runs as echoes see them: with kinds of regions, a piece on its own (run level 0) echoes
/// the pieces of its region whatever their classes (`Classes::echo_key_of`), as a piece of a
/// region of one class (the top level) does, so its share counts at the top level.
pub fn echo_runs(runs: &[f64], kinds: bool) -> Vec<f64> {
    let mut runs = runs.to_vec();
    if kinds && runs.len() > 1 {
        let last = runs.len() - 1;
        runs[last] += runs[0];
        runs[0] = 0.0;
    }
    runs
}

/// What echoes give a profile's classes (before runs and the echo exponent, as if every echo
/// found its source in its own class): the first echoing
/// class of `profile.classes` sorted by increasing lz4 ratio, the echo shares' sum, and per
/// analyzed unit `(unit, E lz4, E zstd)`, the shares of an echoing atom that each codec finds.
pub fn unit_gains(profile: &Profile) -> (usize, f64, EchoModel) {
    let (mix, _) = ProfileMix::build(
        &Profile {
            echo_exponent: 0.0,
            echo_weights: Vec::new(),
            ..profile.clone()
        },
        false,
    );
    let shares = mix.echo_shares();
    let echoed = shares.iter().sum();
    let model = EchoModel {
        shares,
        block: mix.echo_block,
        class_unit: profile.class_unit,
    };
    (mix.echo_from, echoed, model)
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
/// Classes whose lz4 ratio at the class unit is below this get no echoes (incompressible chunks
/// stay incompressible at every unit).
const ECHO_MIN_RATIO: f64 = 1.0;
/// Most atoms echoed in all.
const MAX_ECHO_SHARE: f64 = 0.9;

/// The share of atoms drawn for an echo at distance `d` bytes that an aligned unit of `u` bytes
/// holds with their source, in blocks of `block` bytes. An echo shorter than the block stays in
/// its block (atoms less than `d` into a block do not echo), so every unit from the block up
/// finds it, and a unit of a block sees the same echoes in every block; a longer echo crosses
/// blocks and an aligned unit holds both ends with probability `1 - d/u`. Either way the echo
/// is made only when its source has the echo's own class, with probability `same`.
fn found(u: u64, d: u64, block: u64, same: f64) -> f64 {
    if d >= block {
        return same * (1.0 - d as f64 / u as f64).max(0.0);
    }
    let atom = crate::gen::ATOM as u64;
    let (n, d, k) = (block / atom, d / atom, (u / atom).max(1));
    // Atoms `d..n` of a block echo; atom `i` finds its source `i - d` when both are in one unit.
    let hits = (d..n).filter(|&i| u >= block || i % k >= d).count();
    same * hits as f64 / n as f64
}

/// Per echo distance ([`ECHO_DISTANCES`]), the odds that the piece of content that far back has
/// the same class, with class-unit pieces in `runs` ([`super::RUN_GROUPS`]; empty: each piece on
/// its own) and classes of `shares` (the zero class included): two pieces in one region (the
/// largest group, which has one level) and in one group of that level share it; other pairs by
/// chance.
fn same_class_odds(runs: &[f64], shares: &[f64], class_unit: u64, block: u64) -> [f64; 7] {
    let total: f64 = shares.iter().sum();
    let chance: f64 = shares.iter().map(|s| (s / total).powi(2)).sum();
    let runs: &[f64] = if runs.is_empty() { &[1.0] } else { runs };
    let mut odds = [0.0; ECHO_DISTANCES.len()];
    for (o, &d) in odds.iter_mut().zip(&ECHO_DISTANCES) {
        let together: f64 = runs
            .iter()
            .zip(level_odds(d, class_unit, block, runs.len()))
            .map(|(&s, p)| s * p)
            .sum();
        *o = together + (1.0 - together) * chance;
    }
    odds
}

/// Per run level (of `levels`), the odds that the piece `d` bytes back is in the same region and
/// the same group of that level (so has the same run class).
fn level_odds(d: u64, class_unit: u64, block: u64, levels: usize) -> Vec<f64> {
    let region = super::RUN_GROUPS[levels - 1] as f64;
    let pieces = (d / class_unit.max(1)) as f64;
    let one_region = (1.0 - pieces / region).max(0.0);
    super::RUN_GROUPS[..levels]
        .iter()
        .map(|&g| {
            // Within a block, groups of a block or more always hold both ends.
            let p = if d < block && g * class_unit >= block {
                1.0
            } else {
                (1.0 - pieces / g as f64).max(0.0)
            };
            p * one_region
        })
        .collect()
}

/// Echo shares fitted as if every echo found a source of its class ([`unit_gains`]), for the
/// runs fit to tell what a piece at each run level gains.
#[derive(Clone, Debug)]
pub struct EchoModel {
    shares: Vec<f64>,
    block: u64,
    class_unit: u64,
}

impl EchoModel {
    /// Per run level, `[E lz4, E zstd]` at unit `u` with runs `runs`: a piece gains from the
    /// echoes whose source has its run class (more likely at the higher levels), the shares
    /// raised by the odds over all levels (as the fit of echoes does, up to its cap).
    pub fn gains(&self, runs: &[f64], u: u64) -> Vec<[f64; 2]> {
        let levels = runs.len().max(1);
        let odds: Vec<Vec<f64>> = ECHO_DISTANCES
            .iter()
            .map(|&d| level_odds(d, self.class_unit, self.block, levels))
            .collect();
        let scale: f64 = {
            let (mut raw, mut with) = (0.0, 0.0);
            for ((&d, &e), o) in ECHO_DISTANCES.iter().zip(&self.shares).zip(&odds) {
                let _ = d;
                let avg: f64 = runs.iter().zip(o).map(|(s, p)| s * p).sum();
                raw += e;
                with += e * avg.max(1e-3);
            }
            if with > 0.0 {
                // Raised no further than the cap allows.
                (raw / with).min(MAX_ECHO_SHARE / raw.max(1e-9))
            } else {
                1.0
            }
        };
        (0..levels)
            .map(|l| {
                let mut g = [0.0, 0.0];
                for ((&d, &e), o) in ECHO_DISTANCES.iter().zip(&self.shares).zip(&odds) {
                    let f = e * scale * found(u, d, self.block, o[l]);
                    if d <= LZ4_WINDOW {
                        g[0] += f;
                    }
                    g[1] += f;
                }
                g
            })
            .collect()
    }
}

/// `E(u)`: the share of echoing atoms that a codec with window `window` finds at unit `u`, in
/// blocks of `(block bytes, odds of the same class at each distance)`.
fn echo_gain(shares: &[f64], u: u64, window: u64, (block, same): (u64, [f64; 7])) -> f64 {
    ECHO_DISTANCES
        .iter()
        .zip(shares)
        .zip(same)
        .filter(|((&d, _), _)| d <= window)
        .map(|((&d, &e), same)| e * found(u, d, block, same))
        .sum()
}

/// The most zstd-1 a class at lz4 ratio `lz4` reaches with pieces of `class_unit` bytes: 8 KiB
/// pieces are calibrated at 8 KiB ([`crate::gen::max_piece_zstd`]), others as plain data.
fn max_class_zstd(lz4: f64, class_unit: u64) -> f64 {
    if class_unit == crate::gen::PIECE_UNIT {
        crate::gen::max_piece_zstd(lz4)
    } else {
        crate::gen::max_zstd_ratio(lz4)
    }
}

/// The classes' shares, then the zero class's.
fn class_shares(classes: &[ProfileClass], zero_share: f64) -> Vec<f64> {
    classes
        .iter()
        .map(|c| c.share)
        .chain(std::iter::once(zero_share))
        .collect()
}

/// Fits echo shares to the sample's ratios per unit: with `w` the share of compressed bytes in
/// echoing classes, a codec's compressed size at unit `u` is `B (1 - w E(u))`, so the ratio at
/// `u` over the ratio at the class unit `c` is `(1 - w E(c)) / (1 - w E(u))`. Least squares in
/// the log of that, over lz4 and zstd-1 at every unit from 4 KiB, by coordinate descent. Only
/// distances from the class unit on are used: a shorter echo is found in some class-unit chunks
/// and not in others, which splits their ratios in two (a 4 KiB echo doubles the ratio of the
/// 8 KiB chunks that hold both ends), where the sample's vary smoothly.
fn fit_echoes(profile: &Profile, w: (f64, f64), same: [f64; 7]) -> Vec<f64> {
    let r = profile.reference_unit;
    let c = profile.class_unit;
    let blocks = (r, same);
    let Some(reference) = profile.unit(c) else {
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
            .filter(|u| u.unit >= 4096 && u.unit != c)
        {
            if let Some(c) = u.codecs.get(codec) {
                if c.ratio > 0.0 && at_r.ratio > 0.0 {
                    points.push((u.unit, window, w, (c.ratio / at_r.ratio).ln()));
                }
            }
        }
    }
    // The echoing classes' ratios are divided by what echoes give at the class unit: they must
    // stay at 1 or above. A class already below 1 with one codec (lz4 1.002 with zstd-1 0.9996:
    // zstd-1 stores it raw) leaves no room there, but must not forbid echoes that the class
    // unit does not see (before, it made every candidate infinite, and the profile had no
    // echoes at all).
    let least = (
        profile
            .classes
            .iter()
            .map(|c| c.lz4)
            .filter(|&r| r >= ECHO_MIN_RATIO)
            .fold(f64::MAX, f64::min)
            .max(1.0),
        profile
            .classes
            .iter()
            .filter(|c| c.lz4 >= ECHO_MIN_RATIO)
            .map(|c| c.zstd)
            .fold(f64::MAX, f64::min)
            .max(1.0),
    );
    let cost = |e: &[f64]| -> f64 {
        if 1.0 - echo_gain(e, c, LZ4_WINDOW, blocks) < 1.0 / least.0
            || 1.0 - echo_gain(e, c, u64::MAX, blocks) < 1.0 / least.1
        {
            return f64::INFINITY;
        }
        points
            .iter()
            .map(|&(u, window, w, want)| {
                let got = ((1.0 - w * echo_gain(e, c, window, blocks))
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
            if ECHO_DISTANCES[j] < c {
                continue;
            }
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
    /// zstd from lz4's ratio up to [`max_class_zstd`]); the classes moved are returned with it.
    pub fn from_profile(profile: &Profile) -> (ProfileMix, Vec<Miss>) {
        Self::build(profile, true)
    }

    /// [`ProfileMix::from_profile`]; with `runs` false, as if every echo found its source in its
    /// own class (what the runs are fitted with).
    fn build(profile: &Profile, runs: bool) -> (ProfileMix, Vec<Miss>) {
        let (mut classes, kinds) = classes_by_lz4(profile);
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
        let r = profile.reference_unit;
        let cu = profile.class_unit;
        let same = if runs {
            same_class_odds(
                &echo_runs(&profile.runs, profile.kinds.len() >= 2),
                &class_shares(&classes, profile.zero_share),
                cu,
                r,
            )
        } else {
            [1.0; ECHO_DISTANCES.len()]
        };
        let shares = if echo_from < classes.len() {
            fit_echoes(profile, (weight(|c| c.lz4), weight(|c| c.zstd)), same)
        } else {
            vec![0.0; ECHO_DISTANCES.len()]
        };
        let blocks = (r, same);
        let (keep_lz4, keep_zstd) = (
            1.0 - echo_gain(&shares, cu, LZ4_WINDOW, blocks),
            1.0 - echo_gain(&shares, cu, u64::MAX, blocks),
        );
        let scales = echo_scales(
            &classes,
            echo_from,
            profile.echo_exponent,
            &profile.echo_weights,
            shares.iter().sum(),
        );
        let mut misses = Vec::new();
        for (i, class) in classes.iter_mut().enumerate() {
            let asked = *class;
            let (scale_lz4, scale_zstd) = (
                1.0 - scales[i] * (1.0 - keep_lz4),
                1.0 - scales[i] * (1.0 - keep_zstd),
            );
            let lz4 = (asked.lz4 * scale_lz4).clamp(1.0, crate::params::MAX_COMPRESS_RATIO);
            let zstd = (asked.zstd * scale_zstd).clamp(lz4, max_class_zstd(lz4, cu));
            *class = ProfileClass {
                share: asked.share,
                lz4,
                zstd,
            };
            // What the class gives at the class unit, echoes included.
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
                class_unit: cu,
                echo_scale: scales,
                blend_from: profile.blend_from,
                blend_share: profile.blend_share,
                strong_classes: profile.strong_classes,
                strong_group: profile.strong_group,
                strong_blend: profile.strong_blend.unwrap_or(profile.blend_share),
                kinds,
                kind_pieces: profile.kind_pieces,
                kind_span: profile.kind_span,
                echo_fraction: profile.echo_fraction,
                near_plain_symbols: profile.near_plain_symbols,
            },
            misses,
        )
    }

    /// The classes' aggregate lz4 and zstd ratios at unit `unit`, echoes included (what the
    /// non-zero blocks should measure).
    pub fn aggregate_at(&self, unit: u64) -> (f64, f64) {
        let shares = self.echo_shares();
        let blocks = (
            self.echo_block,
            same_class_odds(
                &echo_runs(&self.runs, self.kinds.len() >= 2),
                &class_shares(&self.classes, self.zero_share),
                if self.class_unit > 0 {
                    self.class_unit
                } else {
                    self.echo_block
                },
                self.echo_block,
            ),
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
                let scale = self.echo_scale_of(i);
                let (kl, kz) = (1.0 - scale * (1.0 - keep.0), 1.0 - scale * (1.0 - keep.1));
                ProfileClass {
                    share: c.share,
                    lz4: c.lz4 / kl.max(1e-3),
                    zstd: c.zstd / kz.max(1e-3),
                }
            })
            .collect();
        aggregate(&with_echoes)
    }

    /// The echo shares by [`ECHO_DISTANCES`].
    fn echo_shares(&self) -> Vec<f64> {
        let mut shares = vec![0.0; ECHO_DISTANCES.len()];
        for e in &self.echoes {
            if let Some(j) = ECHO_DISTANCES
                .iter()
                .position(|&d| d == e.atoms as u64 * crate::gen::ATOM as u64)
            {
                shares[j] = e.share;
            }
        }
        shares
    }

    /// The factor on class `i`'s echo shares (0 for a class that does not echo).
    pub fn echo_scale_of(&self, i: usize) -> f64 {
        if i < self.echo_from {
            0.0
        } else {
            self.echo_scale.get(i).copied().unwrap_or(1.0)
        }
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
        if !self.echo_scale.is_empty()
            && (self.echo_scale.len() != self.classes.len()
                || self
                    .echo_scale
                    .iter()
                    .any(|&a| !(0.0..=1e6).contains(&a) || a * echoed > MAX_ECHO_SHARE + 1e-9))
        {
            return Err(format!(
                "echo scales {:?} are not one per class within [0, {MAX_ECHO_SHARE} / echo share]",
                self.echo_scale
            ));
        }
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
            crate::compress_mix::check_codec_ratios_up_to(
                c.lz4,
                c.zstd,
                max_class_zstd(c.lz4, self.class_unit),
            )?;
        }
        let total = self.zero_share + self.classes.iter().map(|c| c.share).sum::<f64>();
        if (total - 1.0).abs() > 1e-3 {
            return Err(format!("the shares sum to {total}, not 1"));
        }
        ProfileKind::check_shapes(
            &self.kinds,
            self.classes.len() + usize::from(self.zero_share > 0.0),
        )?;
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
    let (lz4, zstd) = mix.aggregate_at(profile.class_unit);
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
        profile.class_unit >> 10,
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
        // Echoes that cross blocks: 1 - d/u, when the source has the same class.
        assert_eq!(found(32 << 10, 64 << 10, block, 1.0), 0.0);
        assert!((found(1 << 20, 128 << 10, block, 0.5) - 0.5 * 0.875).abs() < 1e-12);
        // lz4 does not see 128 KiB echoes, zstd does.
        let shares = [0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 0.0];
        assert_eq!(
            echo_gain(&shares, 1 << 20, LZ4_WINDOW, (block, [1.0; 7])),
            0.0
        );
        assert!(echo_gain(&shares, 1 << 20, u64::MAX, (block, [1.0; 7])) > 0.2);
    }

    /// A class that one codec already sees below 1 (lz4 1.002 with zstd-1 0.9996: zstd-1 stores
    /// it raw) leaves echoes that the class unit does not see: the profile keeps its echoes (at
    /// least half the shares it has with that class as the sample has it).
    #[test]
    fn a_class_below_1_with_one_codec_keeps_the_echoes() {
        let mut p = super::super::load("compressed").unwrap();
        let (at_one, _) = ProfileMix::from_profile(&p);
        assert!(!at_one.echoes.is_empty(), "the built-in profile echoes");
        let weak = p
            .classes
            .iter()
            .position(|c| c.lz4 >= ECHO_MIN_RATIO)
            .expect("an echoing class");
        p.classes[weak].lz4 = p.classes[weak].lz4.max(1.002);
        p.classes[weak].zstd = 0.9996;
        let (below, _) = ProfileMix::from_profile(&p);
        assert!(!below.echoes.is_empty(), "no echoes left");
        let shares = |m: &ProfileMix| m.echoes.iter().map(|e| e.share).sum::<f64>();
        assert!(shares(&below) > 0.5 * shares(&at_one), "{below:?}");
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
                assert!(c.lz4 >= 1.0 && c.zstd <= max_class_zstd(c.lz4, p.class_unit) + 1e-9);
            }
            assert!(
                misses.iter().all(|m| m.asked.share == m.made.share),
                "{name}"
            );
            // The prediction at the class unit: the sample's aggregates, less the misses.
            let (asked, made) = (aggregate(&p.classes), mix.aggregate_at(p.class_unit));
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
