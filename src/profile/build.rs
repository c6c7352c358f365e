//! From an analysis to a profile: per-unit aggregates and quantiles, and the classes cut from the
//! chunks recorded at the class unit (the smallest analyzed unit from 4 KiB).
//!
//! The classes: the non-zero chunks at the class unit, sorted by lz4 ratio and cut into
//! [`MAX_PROFILE_CLASSES`] groups of equal count (fewer when there are fewer chunks). Each class
//! holds its group's share of all chunks and its group's *aggregate* lz4 and zstd-1 ratios (chunk
//! bytes / compressed bytes), so the classes together have exactly the sample's aggregate ratio
//! per codec, and the per-chunk distribution of lz4 ratios is matched to within one group (a
//! Kolmogorov-Smirnov distance of at most about `1 / classes` for lz4; zstd's follows as far as
//! the two ratios rise together, which the comparison reports).

use super::format::{
    CodecProfile, Profile, ProfileClass, ProfileKind, UnitProfile, FORMAT, QUANTILES, VERSION,
};
use super::measure::{FitProgress, Refinement};
use crate::analyze::{ChunkRecord, Codec, Report};
use crate::error::{Error, Result};

/// The groups of class-unit pieces that share a class in runs ([`Profile::runs`]): with 8 KiB
/// pieces, 8 KiB, 32 KiB, 128 KiB and 1 MiB. Each region of the largest group takes one level
/// (a region of small files, of medium ones, or one large file), each group of that level within
/// it one class.
pub const RUN_GROUPS: [u64; 4] = [1, 4, 16, 128];

/// Most classes a profile has.
pub const MAX_PROFILE_CLASSES: usize = 32;
/// The reference unit when the analyzed units include it.
pub const DEFAULT_REFERENCE_UNIT: u64 = 32 << 10;

/// The class unit of a profile taken at `reference` from an analysis at `units`: the smallest
/// power-of-two unit from 4 KiB up to `reference` (the reference unit itself when there is none).
pub fn class_unit_for(units: &[u64], reference: u64) -> u64 {
    units
        .iter()
        .copied()
        .filter(|&u| u.is_power_of_two() && u >= crate::params::MIN_DEDUP_UNIT && u <= reference)
        .min()
        .unwrap_or(reference)
}

/// Rounds to 5 significant digits (profiles stay small and diff well).
fn round(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let digits = 4 - x.abs().log10().floor() as i32;
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

/// The profile of an analysis: `report` from [`crate::analyze::analyze_file_recording`] with
/// `codecs` (its options' codecs, in order, lz4 and zstd-1 among them) and `records`, the chunks
/// at `class_unit` (one of the analyzed units, at most `reference_unit`, another). `name` names
/// the sample. `starts` are earlier profiles whose shape (runs, blend, echoes, alphabet, kinds of
/// regions) the measured fit also starts from, on this analysis's classes (see
/// [`shape_of`]); it keeps whichever start measures best. `progress` hears of each candidate the
/// fit measures ([`super::measure::refine`]).
#[allow(clippy::too_many_arguments)]
pub fn profile_from_analysis(
    name: &str,
    report: &Report,
    codecs: &[Codec],
    records: &[ChunkRecord],
    reference_unit: u64,
    class_unit: u64,
    starts: &[Profile],
    progress: FitProgress,
) -> Result<(Profile, Option<Refinement>)> {
    let index = |c: Codec| {
        codecs.iter().position(|&x| x == c).ok_or_else(|| {
            Error::invalid(
                "codecs",
                format!("a profile needs {} (add it to --codecs)", c.name()),
            )
        })
    };
    let (lz4, zstd) = (index(Codec::Lz4)?, index(Codec::Zstd1)?);
    let reference = report.unit(reference_unit).ok_or_else(|| {
        Error::invalid(
            "profile unit",
            format!("{reference_unit} is not among the analyzed units"),
        )
    })?;
    if reference.units == 0 {
        return Err(Error::invalid(
            "profile unit",
            format!(
                "the sample holds {} whole {reference_unit}-byte chunks, at least one is needed",
                reference.units
            ),
        ));
    }
    let classed = report.unit(class_unit).ok_or_else(|| {
        Error::invalid(
            "profile unit",
            format!("the class unit {class_unit} is not among the analyzed units"),
        )
    })?;
    if class_unit > reference_unit || records.len() as u64 != classed.units {
        return Err(Error::invalid(
            "profile unit",
            format!(
                "{} chunks recorded at the class unit {class_unit}, the analysis has {} (and \
                 the class unit must be at most the reference unit {reference_unit})",
                records.len(),
                classed.units
            ),
        ));
    }
    let units = report
        .units
        .iter()
        .map(|u| UnitProfile {
            unit: u.unit,
            chunks: u.units,
            dedup_ratio: round(u.dedup_ratio),
            zero_share: round(u.zero_share),
            codecs: u
                .compression
                .iter()
                .map(|c| {
                    let quantiles = (0..=QUANTILES)
                        .map(|k| {
                            round(
                                c.histogram
                                    .percentile(100.0 * k as f64 / QUANTILES as f64)
                                    .unwrap_or(1.0),
                            )
                        })
                        .collect();
                    (
                        c.codec.name().to_string(),
                        CodecProfile {
                            ratio: round(c.ratio),
                            speed_mbps: round(c.speed_mbps),
                            quantiles,
                        },
                    )
                })
                .collect(),
        })
        .collect();
    let zero_share = reference.zero_share;
    // (record, lz4 bytes, zstd-1 bytes) of the non-zero chunks, by decreasing lz4 bytes
    // (increasing ratio); chunks of equal size (incompressible ones all measure alike) in a
    // scrambled order, so that no class is one part of the file.
    let mut chunks: Vec<(usize, u32, u32)> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.zero)
        .map(|(i, r)| (i, r.compressed[lz4].max(1), r.compressed[zstd].max(1)))
        .collect();
    chunks.sort_by_key(|&(i, l, _)| {
        (
            std::cmp::Reverse(l),
            crate::gen::mix_choice(i as u64, 0x7469_6573, 0),
        )
    });
    let k = MAX_PROFILE_CLASSES.min(chunks.len());
    // The non-zero share is the reference unit's (where dedup and zero blocks are taken).
    let total = chunks.len() as f64 / (1.0 - zero_share);
    let group = |i: usize| &chunks[i * chunks.len() / k..(i + 1) * chunks.len() / k];
    let classes = (0..k)
        .map(|i| {
            let group = group(i);
            let bytes = group.len() as f64 * class_unit as f64;
            let sum =
                |f: fn(&(usize, u32, u32)) -> u32| group.iter().map(|c| f(c) as f64).sum::<f64>();
            ProfileClass {
                share: round(group.len() as f64 / total),
                lz4: round(bytes / sum(|c| c.1)),
                zstd: round(bytes / sum(|c| c.2)),
            }
        })
        .collect::<Vec<_>>();
    // Each record's class, in file order (the zero class `k` when the profile has zero blocks;
    // `None` for a zero chunk of a profile without).
    let mut class_of: Vec<Option<usize>> = records
        .iter()
        .map(|r| (r.zero && zero_share > 0.0).then_some(k))
        .collect();
    for i in 0..k {
        for &(record, _, _) in group(i) {
            class_of[record] = Some(i);
        }
    }
    let mut targets: Vec<f64> = classes.iter().map(|c| c.share).collect();
    if zero_share > 0.0 {
        targets.push(zero_share);
    }
    let kinds = super::kinds::region_kinds(&class_of, &targets, KIND_PIECES as usize)
        .into_iter()
        .map(|k| ProfileKind {
            share: round(k.share),
            // Four decimals: the file stays small.
            classes: k.classes.iter().map(|&f| (f * 1e4).round() / 1e4).collect(),
        })
        .collect();
    let profile = Profile {
        format: FORMAT.to_string(),
        version: VERSION,
        name: name.to_string(),
        sample_bytes: report.bytes,
        reference_unit,
        class_unit,
        zero_share: round(zero_share),
        dedup_ratio: round(reference.dedup_ratio),
        classes,
        runs: Vec::new(),
        echo_exponent: 0.0,
        echo_weights: Vec::new(),
        blend_from: 0,
        blend_share: 0.0,
        strong_classes: 0,
        strong_group: 1,
        strong_blend: None,
        kinds,
        kind_pieces: KIND_PIECES,
        kind_span: 0.0,
        echo_fraction: 1.0,
        near_plain_symbols: 256,
        units,
    };
    profile
        .check()
        .map_err(|r| Error::invalid("profile", format!("the analysis gives a bad profile: {r}")))?;
    // The runs, blend and echoes fitted by simulation with the kinds of regions and without,
    // then the better of the two improved by measurement.
    let fitted = |p: Profile| {
        let fit = fit_runs(&p);
        Profile {
            runs: fit.runs.iter().map(|&r| round(r)).collect(),
            echo_exponent: fit.exponent,
            echo_weights: fit.weights.iter().map(|&w| round(w)).collect(),
            blend_from: fit.blend.0 as u64,
            blend_share: fit.blend.1,
            kind_span: fit.span,
            ..p
        }
    };
    let without_kinds = (!profile.kinds.is_empty()).then(|| {
        fitted(Profile {
            kinds: Vec::new(),
            ..profile.clone()
        })
    });
    let others: Vec<Profile> = without_kinds
        .into_iter()
        .chain(starts.iter().filter_map(|start| shape_of(&profile, start)))
        .collect();
    let first = fitted(profile);
    // The simulation cannot see where strong pieces lie: the first fit with the blend's
    // strongest classes drawn in groups too.
    let others: Vec<Profile> = others
        .into_iter()
        .chain(super::measure::with_strong_draws(&first))
        .collect();
    let (mut profile, refinement) = super::measure::refine(first, others, progress);
    // The search moves shares in steps of 0.1 and 0.25: 0.7, not 0.7000000000000001.
    profile.runs.iter_mut().for_each(|r| *r = round(*r));
    if profile.kinds.is_empty() {
        // No kinds: their fields as a profile without them has them (and leaves out).
        profile.kind_pieces = RUN_GROUPS[RUN_GROUPS.len() - 1];
        profile.kind_span = 0.0;
    }
    profile
        .check()
        .map_err(|r| Error::invalid("profile", format!("the analysis gives a bad profile: {r}")))?;
    Ok((profile, refinement))
}

/// `profile` (an analysis's classes, units and kinds of regions) with the shape of `start`: its
/// runs, blend, echoes, echo fraction, near-plain alphabet and kinds' span, and kinds of regions
/// only where `start` has them. Per-class echo weights carry over only for as many classes (else
/// `start`'s echo exponent alone), a blend only from a class `profile` has. `None` when the
/// result is not a valid profile (a start from another class unit, say).
fn shape_of(profile: &Profile, start: &Profile) -> Option<Profile> {
    let n = profile.classes.len();
    let candidate = Profile {
        runs: start.runs.clone(),
        echo_exponent: start.echo_exponent,
        echo_weights: if start.echo_weights.len() == n {
            start.echo_weights.clone()
        } else {
            Vec::new()
        },
        blend_from: start.blend_from.min(n.saturating_sub(2) as u64),
        blend_share: start.blend_share,
        strong_classes: start.strong_classes,
        strong_group: start.strong_group,
        strong_blend: start.strong_blend,
        kinds: if start.kinds.is_empty() {
            Vec::new()
        } else {
            profile.kinds.clone()
        },
        kind_span: start.kind_span,
        echo_fraction: start.echo_fraction,
        near_plain_symbols: start.near_plain_symbols,
        ..profile.clone()
    };
    (start.class_unit == profile.class_unit
        && start.runs.len() == RUN_GROUPS.len()
        && candidate.check().is_ok())
    .then_some(candidate)
}

/// A unit the runs are fitted at: its size in class units, per codec (lz4, zstd-1) the sample's
/// quantiles and aggregate ratio, and its size in bytes.
type UnitTarget<'a> = (u64, [(&'a [f64], f64); 2], u64);

/// What a blend of share 1 costs in the runs fit (summed KS distances).
const BLEND_COST: f64 = 0.3;

/// Blend shares tried (here and in the measured search, [`super::measure`]).
pub(super) const BLEND_SHARES: [f64; 6] = [0.0, 0.25, 0.5, 0.75, 0.875, 1.0];

/// Class-unit pieces per region of a kind ([`Profile::kind_pieces`]): 128 KiB with 8 KiB
/// pieces. A database's runs of index pages are about 1 MiB long but not aligned to it, so its
/// 128 KiB chunks are mostly of one kind where its 1 MiB chunks hold two in every proportion.
pub const KIND_PIECES: u64 = RUN_GROUPS[2];

/// Spans of the kinds within a group of regions tried ([`Profile::kind_span`]).
pub(super) const KIND_SPANS: [f64; 6] = [0.0, 0.0625, 0.125, 0.1875, 0.25, 0.5];

/// Factors on a class's echo weight tried in the fit's last step (0: none).
const WEIGHT_STEPS: [f64; 8] = [0.0, 0.25, 0.5, 0.75, 1.25, 1.5, 2.0, 3.0];

/// Echo exponents tried ([`Profile::echo_exponent`]).
const ECHO_EXPONENTS: [f64; 8] = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0];

/// The shares of class-unit pieces in runs ([`RUN_GROUPS`]), the blend and the echo exponent,
/// then a weight per class, whose simulated per-chunk lz4 and zstd-1 ratios at the class unit and
/// above come closest (Kolmogorov-Smirnov, summed over those units and codecs) to the sample's,
/// each scaled to the sample's aggregate at its unit: a chunk's compressed size is the sum of its
/// pieces', each its class's less what echoes take at that unit ([`super::mix::unit_gains`],
/// [`super::mix::echo_scales`]), where an echoed atom that the unit does not hold with its source
/// has its source's bytes (of another class in a blended run: so the class unit sees a blend
/// too). A grid of fifths for the runs and of [`ECHO_EXPONENTS`], then of twentieths around the
/// best, then [`WEIGHT_STEPS`] on each class's weight. No runs (empty) when the profile has no
/// unit above the class unit.
fn fit_runs(profile: &Profile) -> Fit {
    let cu = profile.class_unit;
    let (from, echoed, model) = super::mix::unit_gains(profile);
    let mut units: Vec<UnitTarget> = Vec::new();
    for u in profile
        .units
        .iter()
        .filter(|u| u.unit >= cu && u.unit / cu <= 1024)
    {
        if let (Some(l), Some(z)) = (u.codecs.get("lz4"), u.codecs.get("zstd-1")) {
            units.push((
                u.unit / cu,
                [
                    (l.quantiles.as_slice(), l.ratio),
                    (z.quantiles.as_slice(), z.ratio),
                ],
                u.unit,
            ));
        }
    }
    if units.is_empty() || profile.classes.is_empty() {
        return Fit {
            cost: 0.0,
            runs: Vec::new(),
            exponent: 0.0,
            weights: Vec::new(),
            blend: (0, 0.0),
            span: profile.kind_span,
        };
    }
    // The classes by increasing lz4 (as the generator has them), then the zero class.
    let (classes, kinds) = super::mix::classes_by_lz4(profile);
    let mut shares: Vec<f64> = classes.iter().map(|c| c.share).collect();
    if profile.zero_share > 0.0 {
        shares.push(profile.zero_share);
    }
    let cdf_of = |shares: &[f64]| {
        let total: f64 = shares.iter().sum();
        let mut acc = 0.0;
        shares
            .iter()
            .map(|s| {
                acc += s / total.max(1e-12);
                acc
            })
            .collect::<Vec<f64>>()
    };
    // One distribution of classes per kind of region (one for all without kinds), and the
    // kinds' cumulative shares.
    let (kind_cdf, cdfs): (Vec<f64>, Vec<Vec<f64>>) = if kinds.len() >= 2 {
        let kind_shares: Vec<f64> = kinds.iter().map(|k| k.share).collect();
        let cdfs = kinds.iter().map(|k| cdf_of(&k.classes)).collect();
        (cdf_of(&kind_shares), cdfs)
    } else {
        (vec![1.0], vec![cdf_of(&shares)])
    };
    let pick = |cdf: &[f64], x: f64| cdf.iter().position(|&c| x < c).unwrap_or(cdf.len() - 1);
    let kinded = cdfs.len() >= 2;
    let uniform = |seed: u64| {
        (crate::gen::mix_choice(seed, 0x7275_6e73, 0) >> 11) as f64 / (1u64 << 53) as f64
    };
    // Per kind (the zero kind last, which lz4 stores in about 1/250), its compressed share
    // per codec without echoes.
    let mut base: Vec<[f64; 2]> = classes
        .iter()
        .map(|c| [1.0 / c.lz4, 1.0 / c.zstd])
        .collect();
    if profile.zero_share > 0.0 {
        base.push([1.0 / 250.0, 1.0 / 250.0]);
    }
    // Chunks simulated per unit: few for the coarse search, more for the fine one.
    let chunks = std::cell::Cell::new(800u64);
    // A chunk's compressed share is `a + b`, `b` from the echoing classes: `b` is scaled so that
    // the aggregate is the sample's (what the model of echoes leaves out), `a` stays (an
    // incompressible chunk stays incompressible).
    let ks = |parts: &[(f64, f64)], k: u64, quantiles: &[f64], sample_ratio: f64| -> f64 {
        let (a, b) = parts
            .iter()
            .fold((0.0, 0.0), |(a, b), p| (a + p.0, b + p.1));
        let want = parts.len() as f64 * k as f64 / sample_ratio;
        let f = if b > 0.0 {
            ((want - a) / b).clamp(0.2, 5.0)
        } else {
            1.0
        };
        let mut ratios: Vec<f64> = parts.iter().map(|p| k as f64 / (p.0 + f * p.1)).collect();
        ratios.sort_by(f64::total_cmp);
        let n = ratios.len() as f64;
        quantiles
            .iter()
            .enumerate()
            .map(|(i, &q)| {
                let p = i as f64 / (quantiles.len() - 1) as f64;
                let below = ratios.partition_point(|&x| x < q) as f64 / n;
                let at_most = ratios.partition_point(|&x| x <= q) as f64 / n;
                f64::max(below - p, p - at_most)
            })
            .fold(0.0, f64::max)
    };
    let n = classes.len();
    // Regions of a kind per group of the largest run group.
    let per_group = (RUN_GROUPS[RUN_GROUPS.len() - 1] / profile.kind_pieces.max(1)).max(1);
    let simulate =
        |shares: &[f64], exponent: f64, weights: &[f64], blend: (usize, f64), span: f64| {
            let mut scales = super::mix::echo_scales(&classes, from, exponent, weights, echoed);
            scales.push(0.0);
            // Per kind of region, the echo scale of its pieces on their own (as the generator
            // takes it).
            let kind_scales = super::mix::kind_echo_scales(&kinds, &scales[..n]);
            let top = RUN_GROUPS.len() - 1;
            let echo_levels = super::mix::echo_runs(shares, kinded);
            let mut cost = 0.0;
            // Per run level, the share of atoms made echoes (found or not: all distances).
            let made = model.gains(&echo_levels, 1 << 40);
            for &(k, codecs, unit) in &units {
                let gains = model.gains(&echo_levels, unit);
                let mut parts = [
                    Vec::with_capacity(chunks.get() as usize),
                    Vec::with_capacity(chunks.get() as usize),
                ];
                let mut seed = k << 32;
                let mut next = || {
                    seed += 1;
                    uniform(seed)
                };
                let mut drawn: Vec<Vec<f64>> = RUN_GROUPS
                    .iter()
                    .map(|&g| Vec::with_capacity(k.div_ceil(g) as usize))
                    .collect();
                let region = RUN_GROUPS[RUN_GROUPS.len() - 1];
                let mut levels = Vec::with_capacity(k.div_ceil(region) as usize);
                for _ in 0..chunks.get() {
                    // One level and one point of the kinds' row per region, one kind per region of
                    // a kind (the point moved by the span), one draw per group of each level present
                    // in the chunk (its class by the kind of the piece's region, as the generator
                    // maps a region's draw).
                    drawn.iter_mut().for_each(Vec::clear);
                    levels.clear();
                    let mut sum = [0.0; 4];
                    for b in 0..k {
                        while levels.len() as u64 <= b / region {
                            let x = next();
                            let mut level = 0;
                            let mut acc = shares[0];
                            while x >= acc && level + 1 < shares.len() {
                                level += 1;
                                acc += shares[level];
                            }
                            levels.push((level, next()));
                        }
                        let (level, y) = levels[(b / region) as usize];
                        let within = (b % region) / (region / per_group);
                        let kind = pick(
                            &kind_cdf,
                            (y + within as f64 * span / per_group as f64).fract(),
                        );
                        let group = (b / RUN_GROUPS[level]) as usize;
                        while drawn[level].len() <= group {
                            drawn[level].push(next());
                        }
                        let run = pick(&cdfs[kind], drawn[level][group]);
                        let mut blended = || {
                            if blend.1 > 0.0 && (blend.0..n).contains(&run) && next() < blend.1 {
                                blend.0
                                    + ((next() * (n - blend.0) as f64) as usize)
                                        .min(n - blend.0 - 1)
                            } else {
                                run
                            }
                        };
                        let c = blended();
                        // The echoes are the run class's, the bytes the piece's class's; an echoed
                        // atom the unit does not hold with its source has the source's bytes, a
                        // piece of the same run (of another class when the run is blended: one
                        // drawn for the piece's echoes).
                        let (source, g, m, scale) = if kinded && level == 0 {
                            // A piece on its own in a region of a kind: it echoes any non-zero
                            // piece of its region (so at the top level's odds), with the kind's
                            // scale.
                            let source = pick(&cdfs[kind], next());
                            let scale = if scales[run] > 0.0 && source < n {
                                kind_scales[kind]
                            } else {
                                0.0
                            };
                            (source, gains[top], made[top][1], scale)
                        } else {
                            (blended(), gains[level], made[level][1], scales[run])
                        };
                        let d: [f64; 2] = std::array::from_fn(|j| {
                            base[c][j] * (1.0 - scale * m).max(0.05)
                                + scale * (m - g[j]).max(0.0) * base[source][j]
                        });
                        if c >= from && c < n {
                            sum[1] += d[0];
                            sum[3] += d[1];
                        } else {
                            sum[0] += d[0];
                            sum[2] += d[1];
                        }
                    }
                    parts[0].push((sum[0], sum[1]));
                    parts[1].push((sum[2], sum[3]));
                }
                for (p, &(quantiles, sample_ratio)) in parts.iter().zip(&codecs) {
                    let d = ks(p, k, quantiles, sample_ratio);
                    cost += d;
                }
            }
            cost
        };
    let distance = |fit: &Fit| simulate(&fit.runs, fit.exponent, &fit.weights, fit.blend, fit.span);
    let levels = RUN_GROUPS.len();
    // Every split of `steps` steps among the levels.
    fn splits(levels: usize, steps: u32) -> Vec<Vec<u32>> {
        if levels == 1 {
            return vec![vec![steps]];
        }
        (0..=steps)
            .flat_map(|a| {
                splits(levels - 1, steps - a).into_iter().map(move |mut v| {
                    v.insert(0, a);
                    v
                })
            })
            .collect()
    }
    let mut best = Fit {
        cost: f64::INFINITY,
        runs: Vec::new(),
        exponent: 0.0,
        weights: Vec::new(),
        blend: (0, 0.0),
        span: profile.kind_span,
    };
    let consider = |best: &mut Fit, mut fit: Fit| {
        // A blend mixes literal alphabets within a chunk, which costs zstd a little that the
        // simulation does not see (text: -2% at 8 KiB): taken only when it pays.
        fit.cost = distance(&fit) + BLEND_COST * fit.blend.1;
        if fit.cost < best.cost - 1e-9 {
            *best = fit;
        }
    };
    // A coarse search (runs in fifths, every other exponent, blends from every fourth class,
    // fewer chunks); then, three times, the blend, the runs in twentieths near the best, and the
    // exponent, each with the others held.
    chunks.set(250);
    let mut blends = vec![(0, 0.0)];
    for from in (0..n.saturating_sub(1)).step_by(4) {
        blends.push((from, 0.5));
        blends.push((from, 1.0));
    }
    for split in splits(levels, 5) {
        for &exponent in ECHO_EXPONENTS.iter().step_by(2) {
            for &blend in &blends {
                let runs = split.iter().map(|&a| a as f64 / 5.0).collect();
                consider(
                    &mut best,
                    Fit {
                        cost: 0.0,
                        runs,
                        exponent,
                        weights: Vec::new(),
                        blend,
                        span: profile.kind_span,
                    },
                );
            }
        }
    }
    chunks.set(800);
    best.cost = distance(&best) + BLEND_COST * best.blend.1;
    let twentieths = splits(levels, 20);
    for _ in 0..3 {
        for from in 0..n.saturating_sub(1) {
            for share in BLEND_SHARES {
                let fit = Fit {
                    blend: (from, share),
                    ..best.clone()
                };
                consider(&mut best, fit);
            }
        }
        let centre: Vec<i64> = best
            .runs
            .iter()
            .map(|s| (s * 20.0).round() as i64)
            .collect();
        for split in &twentieths {
            if split
                .iter()
                .zip(&centre)
                .any(|(&a, &c)| (a as i64 - c).abs() > 2)
            {
                continue;
            }
            let runs = split.iter().map(|&a| a as f64 / 20.0).collect();
            let fit = Fit {
                runs,
                ..best.clone()
            };
            consider(&mut best, fit);
        }
        for &exponent in &ECHO_EXPONENTS {
            let fit = Fit {
                exponent,
                ..best.clone()
            };
            consider(&mut best, fit);
        }
        if kinded && per_group > 1 {
            for &span in &KIND_SPANS {
                let fit = Fit {
                    span,
                    ..best.clone()
                };
                consider(&mut best, fit);
            }
        }
    }
    // Then a weight per class, from the exponent's, by coordinate descent (twice over the
    // classes): one rule for all classes leaves a sample whose middle classes gain most from
    // larger units (a database's) at 0.15-0.2.
    if from < n {
        let mut weights = super::mix::exponent_weights(&classes, best.exponent);
        let mean = weights[from..].iter().sum::<f64>() / (n - from) as f64;
        weights.iter_mut().for_each(|w| *w /= mean.max(1e-12));
        best = Fit {
            weights,
            ..best.clone()
        };
        best.cost = distance(&best) + BLEND_COST * best.blend.1;
        for _ in 0..2 {
            for i in from..n {
                let here = best.weights[i];
                for w in WEIGHT_STEPS.iter().map(|f| f * here.max(0.05)) {
                    let mut fit = best.clone();
                    fit.weights[i] = w;
                    consider(&mut best, fit);
                }
            }
        }
    }
    best
}

/// What [`fit_runs`] finds: the runs, the echo exponent and the blend `(from, share)`, and their
/// cost (the KS distances summed).
#[derive(Clone, Debug)]
struct Fit {
    cost: f64,
    runs: Vec<f64>,
    exponent: f64,
    /// Per class (by increasing lz4): echo weights in place of the exponent's (empty: none).
    weights: Vec<f64>,
    /// `(from, share)`: [`Profile::blend_from`] and [`Profile::blend_share`].
    blend: (usize, f64),
    /// [`Profile::kind_span`].
    span: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A start's shape goes onto the analysis's classes; its kinds only as "some or none"; its
    /// per-class weights only for as many classes; a start of another class unit is no start.
    #[test]
    fn a_start_gives_its_shape_and_keeps_the_analysis() {
        let analysis = crate::profile::load("text").unwrap();
        let mut start = crate::profile::load("database").unwrap();
        start.runs = vec![0.1, 0.2, 0.3, 0.4];
        start.blend_from = 40;
        start.echo_fraction = 0.5;
        start.near_plain_symbols = 240;
        start.kinds.clear();
        let shaped = shape_of(&analysis, &start).expect("a valid start");
        assert_eq!(shaped.classes, analysis.classes);
        assert_eq!(shaped.units, analysis.units);
        assert_eq!(shaped.name, analysis.name);
        assert_eq!(shaped.runs, start.runs);
        assert_eq!(shaped.blend_from, analysis.classes.len() as u64 - 2);
        assert_eq!(
            (shaped.echo_fraction, shaped.near_plain_symbols),
            (0.5, 240)
        );
        assert!(shaped.kinds.is_empty());
        assert_eq!(shaped.echo_weights, start.echo_weights);

        let mut fewer = start.clone();
        fewer.echo_weights.truncate(3);
        assert!(shape_of(&analysis, &fewer).unwrap().echo_weights.is_empty());

        let mut other_unit = start.clone();
        other_unit.class_unit *= 2;
        assert!(shape_of(&analysis, &other_unit).is_none());
    }
}
