//! Compressibility classes: which ratio of a mix ([`crate::compress_mix`]) each dedup block has.
//!
//! The granularity is the dedup block (a profile's: a piece of its class unit, 8 KiB, numbered
//! `slot * pieces per block + piece`), and the class is a function of the block's *slot* (the
//! content it holds, see [`super::BlockContent`]), never of its offset: a duplicate holds the
//! same bytes as its original, so it must have the same class, and an overwrite that gives a block
//! a new generation of its slot keeps the slot's class (the mix of live contents stays the same).
//!
//! Slots get classes from a low-discrepancy sequence, so the shares are exact on every prefix of
//! slots, not just on average: slot `s` is first moved within its group of [`GROUP`] slots by a
//! seeded permutation (so the order of classes looks random), then placed at
//! `x = offset + s' * 2^64/phi (mod 2^64)` (a golden-ratio Weyl sequence with a seeded offset),
//! and class `c` takes the slots whose `x` falls in its share of `[0, 2^64)`. The golden-ratio
//! Weyl sequence has the lowest discrepancy of its kind: any run of `n` consecutive points puts
//! within a few points of `n * share` in any interval (the error grows with `log n`: 3.2 at most
//! up to 10^6 points, measured), and the permutation moves points only within a group. So among
//! the first `n` slots (or any `n` consecutive ones) each class has its share to within about 4
//! blocks when `n` is a multiple of [`GROUP`], and [`GROUP`] + 4 otherwise, whatever `n`.

use super::atom::CompressPlan;
use super::calibration::literal_bytes_for_resync;
use super::mix::mix64;
use crate::compress_mix::CompressMix;
use crate::params::CompressCodec;
use crate::profile::ProfileKind;

/// Slots are shuffled within groups of this many (a power of two).
pub(crate) const GROUP: u64 = 16;
/// 2^64 / phi, odd: the golden-ratio step of the Weyl sequence.
const PHI64: u64 = 0x9e37_79b9_7f4a_7c15;

/// The classes of a mix: one plan per class, and the assignment of slots to classes.
#[derive(Clone, Debug)]
pub(crate) struct Classes {
    plans: std::sync::Arc<[CompressPlan]>,
    /// `bounds[c]`: the end of class `c`'s part of `[0, 2^64)` (the last class takes the rest).
    bounds: std::sync::Arc<[u64]>,
    salt: u64,
    offset: u64,
    /// Runs of slots that share a class (a profile's, [`crate::profile`]): `(threshold, group)`,
    /// a slot whose hash falls below the threshold (and above the previous one) takes the class
    /// of its group of `group` consecutive slots. `None`: every slot its own.
    runs: Option<std::sync::Arc<[(u64, u64)]>>,
    /// `(from, threshold, n)`: a slot whose run has one of classes `from..n` (sorted by ratio)
    /// takes, when its hash falls below the threshold, one of those classes drawn by a hash
    /// instead (a blend of those classes within a run); other classes (the zero class) stay.
    blend: (usize, u64, usize),
    /// `(q, group, share)`: of the blend's draws, those of its `q` most compressible classes
    /// are made once per aligned group of `group` slots, all of the group taking one of them,
    /// and the runs of those classes are blended by `share` ([`Classes::with_strong_groups`]);
    /// `(0, 1, _)`: each slot its own.
    strong: (usize, u64, f64),
    /// Kinds of regions (a profile's, [`crate::profile::ProfileKind`]): a region whose point of
    /// the kinds' sequence falls below `thresholds[i]` (and above the one before) has kind `i`,
    /// and draws its classes by `bounds[i]` (as `bounds` for the whole) from its own part of
    /// the sequence. `None`: every region draws by `bounds`.
    kinds: Option<std::sync::Arc<Kinds>>,
}

/// A slot's run class and where it was drawn ([`Classes::run_and_echo_key`]).
struct RunDraw {
    class: usize,
    /// The region's run level; `None` without runs.
    level: Option<usize>,
    /// 1 + the region's kind; 0 without kinds.
    kind: u64,
}

/// See [`Classes::with_kinds`].
#[derive(Debug)]
struct Kinds {
    thresholds: Vec<u64>,
    bounds: Vec<Vec<u64>>,
    offset: u64,
    /// Slots per group of regions (the largest run group), which share one point of the kinds'
    /// sequence.
    region: u64,
    /// Slots per region of a kind (`region` or a divisor of it).
    pieces: u64,
    /// How far the point moves from one region of a kind to the next within a group.
    step: u64,
}

/// 2^64 / sqrt(2), odd: the step of the kinds' Weyl sequence. With the classes' golden-ratio step
/// (1, phi and sqrt 2 are independent over the rationals), the kind of a region and its run
/// level are drawn independently.
const SQRT2_64: u64 = 0xb504_f333_f9de_6485;

/// `2^64 * cumulative shares` of all but the last of `fractions` (the last takes the rest).
fn bounds_of(fractions: &[f64]) -> Vec<u64> {
    let mut cumulative = 0.0;
    fractions[..fractions.len().saturating_sub(1)]
        .iter()
        .map(|f| {
            cumulative += f;
            // 2^64 * cumulative, saturating (f64 -> u64 casts saturate).
            (cumulative * 18_446_744_073_709_551_616.0) as u64
        })
        .collect()
}

/// The plan of a mix's class of `ratio`, calibrated for `codec`: its atoms open with a re-sync
/// piece (a compressible block may follow an incompressible one: see `Layout::draw`).
fn mix_class_plan(ratio: f64, codec: CompressCodec) -> CompressPlan {
    CompressPlan::resync(literal_bytes_for_resync(ratio, codec))
}

/// The ratios of `mix`'s classes whose atoms (calibrated for `codec`) open with a short re-sync
/// piece in some layout: laid out otherwise than by a dgen before those.
pub(crate) fn short_resync_ratios(mix: &CompressMix, codec: CompressCodec) -> Vec<f64> {
    mix.classes()
        .iter()
        .filter(|c| mix_class_plan(c.ratio, codec).has_short_resync())
        .map(|c| c.ratio)
        .collect()
}

impl Classes {
    /// The classes of `mix`, calibrated for `codec` ([`mix_class_plan`]), with assignment keyed
    /// by `salt`.
    pub(crate) fn new(mix: &CompressMix, codec: CompressCodec, salt: u64) -> Self {
        let plans = mix
            .classes()
            .iter()
            .map(|c| mix_class_plan(c.ratio, codec))
            .collect();
        let fractions: Vec<f64> = (0..mix.classes().len()).map(|i| mix.fraction(i)).collect();
        Self::with_plans(plans, &fractions, salt)
    }

    /// Classes with their own plans (each may have its own literal alphabet, or be all zeros:
    /// a profile's classes, [`crate::profile`]), class `i` taking a `fractions[i]` share of the
    /// slots (the fractions sum to 1), with assignment keyed by `salt`.
    pub(crate) fn with_plans(plans: Vec<CompressPlan>, fractions: &[f64], salt: u64) -> Self {
        debug_assert_eq!(plans.len(), fractions.len());
        Classes {
            plans: plans.into(),
            bounds: bounds_of(fractions).into(),
            salt: mix64(salt ^ 0x0063_6c61_7373_6573),
            offset: mix64(salt ^ 0x6f66_6673_6574),
            runs: None,
            blend: (0, 0, 0),
            strong: (0, 1, 0.0),
            kinds: None,
        }
    }

    /// The same classes in kinds of regions of `pieces` slots: each kind a `share` of the
    /// regions, whose slots take class `i` with share `classes[i]` in place of the classes'
    /// fractions (each kind's own low-discrepancy sequence, so its shares hold on every run of
    /// its regions). The regions of a group of `region` slots (the largest run group) take
    /// their kinds at evenly spaced points over a `span` of `[0, 1)`, where the kinds lie in a
    /// row each over its share: a group starts at a point of a low-discrepancy sequence, so
    /// every region takes each kind with its share, and neighbouring regions take neighbouring
    /// kinds (span 0: one kind for the group). Fewer than two kinds: no change.
    pub(crate) fn with_kinds(
        mut self,
        kinds: &[ProfileKind],
        region: u64,
        pieces: u64,
        span: f64,
    ) -> Self {
        if kinds.len() < 2 {
            return self;
        }
        let total: f64 = kinds.iter().map(|k| k.share).sum();
        let shares: Vec<f64> = kinds.iter().map(|k| k.share / total).collect();
        let mut thresholds = bounds_of(&shares);
        thresholds.push(u64::MAX);
        let bounds = kinds
            .iter()
            .map(|k| {
                let sum: f64 = k.classes.iter().sum();
                bounds_of(&k.classes.iter().map(|x| x / sum).collect::<Vec<_>>())
            })
            .collect();
        if self.runs.is_none() {
            // Every slot on its own, in regions.
            self.runs = Some(vec![(u64::MAX, 1), (u64::MAX, region.max(1))].into());
        }
        let region = region.max(1);
        let pieces = pieces.clamp(1, region);
        let per_group = (region / pieces) as f64;
        self.kinds = Some(std::sync::Arc::new(Kinds {
            thresholds,
            bounds,
            offset: mix64(self.salt ^ 0x006b_696e_6473),
            region,
            pieces,
            // 2^64 * span / regions per group (f64 -> u64 casts saturate).
            step: (span.clamp(0.0, 1.0) / per_group * 18_446_744_073_709_551_616.0) as u64,
        }));
        self
    }

    /// The bounds `region` draws its classes by, and a tag for its kind's part of the sequence
    /// (0 without kinds).
    #[inline]
    fn region_bounds(&self, region: u64, slot: u64) -> (&[u64], u64) {
        let Some(kinds) = &self.kinds else {
            return (&self.bounds, 0);
        };
        // The region's point, moved by the span's step for each region of a kind before this
        // slot's within it.
        let within = (slot % kinds.region) / kinds.pieces;
        let y = self
            .permuted(region, self.salt ^ 0x6b69_6e64)
            .wrapping_mul(SQRT2_64)
            .wrapping_add(kinds.offset)
            .wrapping_add(within.wrapping_mul(kinds.step));
        let kind = kinds
            .thresholds
            .iter()
            .position(|&t| y < t)
            .unwrap_or(kinds.thresholds.len() - 1);
        (&kinds.bounds[kind], kind as u64 + 1)
    }

    /// The same classes, where a `share` of the slots whose run has one of classes `from..n`
    /// (sorted by ratio, of equal shares) take one of those classes drawn at random instead: the
    /// classes keep their shares, and a run of those classes holds a blend of them (a
    /// database's table pages differ from page to page, its index pages do not).
    pub(crate) fn with_blend(mut self, from: usize, share: f64, n: usize) -> Self {
        let n = n.min(self.plans.len());
        if share > 0.0 && from + 1 < n {
            self.blend = (
                from,
                (share.min(1.0) * 18_446_744_073_709_551_615.0) as u64,
                n,
            );
        }
        self
    }

    /// The same blend, where the draws of its `q` most compressible classes come in aligned
    /// groups of `group` slots, and the runs of those classes are blended by `share` of their
    /// slots (each taking one of the weaker classes of the blend) rather than the blend's
    /// share. A group of a weaker run takes one of the strong classes, as a whole, with the
    /// odds that give back what the strong runs blend away, and its slots draw the weaker
    /// classes by the rest of the blend's share, so every class keeps its share. Real data
    /// holds its most compressible pieces in runs (an already-compressed sample's strong 8 KiB
    /// chunks: 78% are followed by another) and in whole regions (2.7% of its 1 MiB chunks
    /// compress 2:1 or more), where a blend piece by piece scatters them among weak ones. No
    /// effect without a blend, or with `q` of 0 or `group` of 1.
    pub(crate) fn with_strong_groups(mut self, q: usize, group: u64, share: f64) -> Self {
        let (from, _, n) = self.blend;
        if q > 0 && group > 1 && from + q < n {
            self.strong = (q, group, share.clamp(0.0, 1.0));
        }
        self
    }

    /// The same classes in runs: a `shares[i]` share of the regions of `groups.last()` slots
    /// (chosen by a hash) have each slot take the class of its aligned group of `groups[i]`
    /// slots, each level with its own sequence of classes, so every level, and the whole, keeps
    /// the classes' shares; neighbours share a class as often as the shares say (real data holds
    /// whole files of one kind, or regions of small files).
    pub(crate) fn with_runs(mut self, shares: &[f64], groups: &[u64]) -> Self {
        if shares.iter().skip(1).all(|&s| s <= 0.0) {
            return self;
        }
        let total: f64 = shares.iter().sum();
        let mut cumulative = 0.0;
        self.runs = Some(
            shares
                .iter()
                .zip(groups)
                .map(|(&s, &g)| {
                    cumulative += s / total;
                    ((cumulative * 18_446_744_073_709_551_616.0) as u64, g.max(1))
                })
                .collect(),
        );
        self
    }

    /// The class of `slot`: an index into the mix's classes.
    #[inline]
    pub(crate) fn class_of(&self, slot: u64) -> usize {
        self.class_in_run(slot, self.run_class_of(slot))
    }

    /// The class of `slot`, whose run class is `c` ([`Classes::run_class_of`]): `c`, or the
    /// class the blend draws for it.
    #[inline]
    pub(crate) fn class_in_run(&self, slot: u64, c: usize) -> usize {
        let (from, threshold, n) = self.blend;
        if !(from..n).contains(&c) {
            return c;
        }
        // The slot's own draw.
        let h = mix64(slot ^ self.salt ^ 0x0062_6c65_6e64);
        let (q, group, strong_share) = self.strong;
        if q > 0 {
            return self.grouped_blend(slot, h, c, q, group, strong_share);
        }
        if h >= threshold {
            return c;
        }
        from + (mix64(h) % (n - from) as u64) as usize
    }

    /// [`Classes::class_in_run`] with the blend's `q` most compressible classes drawn per group
    /// of `group` slots and their runs blended by `strong_share` ([`Classes::with_strong_groups`]);
    /// `h` is the slot's own draw.
    ///
    /// With `m` classes in the blend (of equal shares `s`) and the blend's share `b`, a strong
    /// class loses `s * strong_share` to the weaker ones, so the groups of the `m - q` weaker
    /// runs draw the strong classes with odds `b * p`, `p = q * strong_share / ((m - q) b)`,
    /// and their other slots the weaker classes with odds `b (1 - p) / (1 - b p)`: each weaker
    /// class then gains `s b (1 - p) + q s strong_share / (m - q) = s b`, what it loses.
    #[inline]
    fn grouped_blend(
        &self,
        slot: u64,
        h: u64,
        c: usize,
        q: usize,
        group: u64,
        strong_share: f64,
    ) -> usize {
        let (from, threshold, n) = self.blend;
        // A hash as a number in [0, 1).
        let unit = |h: u64| (h >> 11) as f64 / (1u64 << 53) as f64;
        let weaker = (n - q - from) as f64;
        let weak_class =
            |v: f64, odds: f64| from + ((v / odds * weaker) as usize).min(n - q - from - 1);
        let v = unit(h);
        if c >= n - q {
            // A strong run: a `strong_share` of its slots take one of the weaker classes.
            return if v < strong_share {
                weak_class(v, strong_share)
            } else {
                c
            };
        }
        let share = threshold as f64 / 18_446_744_073_709_551_616.0;
        let p = (q as f64 * strong_share / (weaker * share)).min(1.0);
        // The group's draw: one of the strong classes.
        let strong = share * p;
        let u = unit(mix64((slot / group) ^ self.salt ^ 0x0067_7270));
        if u < strong {
            return n - q + ((u / strong * q as f64) as usize).min(q - 1);
        }
        // The slot's draw among the weaker classes, with the odds left to them.
        let weak = share * (1.0 - p) / (1.0 - strong);
        if v < weak {
            return weak_class(v, weak);
        }
        c
    }

    /// What `slot`'s echoes go by ([`crate::profile::mix`]): an atom echoes only an atom of the
    /// same key. The run class ([`Classes::run_class_of`]), except for a non-zero slot on its own
    /// (run level 0) in a region of a kind ([`Classes::with_kinds`]): there, the kind (`plans +
    /// kind`), so the pieces of regions of one kind echo one another, whatever their classes,
    /// as a database's table pages share their rows' structure.
    #[inline]
    pub(crate) fn echo_key_of(&self, slot: u64) -> usize {
        self.run_and_echo_key(slot).1
    }

    /// [`Classes::run_class_of`] and [`Classes::echo_key_of`] of `slot`, drawn once.
    #[inline]
    pub(crate) fn run_and_echo_key(&self, slot: u64) -> (usize, usize) {
        let draw = self.run_draw(slot);
        let key = match draw.level {
            Some(0) if draw.kind > 0 && !self.plans[draw.class].is_zero() => {
                self.plans.len() + draw.kind as usize - 1
            }
            _ => draw.class,
        };
        (draw.class, key)
    }

    /// The class of `slot`'s run (before [`Classes::with_blend`]'s draw).
    #[inline]
    pub(crate) fn run_class_of(&self, slot: u64) -> usize {
        self.run_draw(slot).class
    }

    /// The class of `slot`'s run, with its region's run level (`None` without runs) and kind
    /// (1 + its index; 0 without kinds).
    #[inline]
    fn run_draw(&self, slot: u64) -> RunDraw {
        match &self.runs {
            None => RunDraw {
                class: self.class_in_sequence(slot),
                level: None,
                kind: 0,
            },
            Some(runs) => {
                // One level per region (the largest group), from one point of a low-discrepancy
                // sequence of regions: a region at the top level takes its class from the same
                // point (where it falls within the level's part), so consecutive regions hold
                // the levels' shares, and the top level's classes' shares, to within a few
                // regions (hashes there made a 256 MiB file's ratio vary by +-3% with the seed).
                let size = runs.last().map_or(1, |r| r.1);
                let region = slot / size;
                let x = self
                    .sequence_point(region | (0x3f << 58))
                    .wrapping_add(self.salt);
                let mut low = 0u64;
                let mut pick = (runs.len() - 1, low, u64::MAX);
                for (l, &(t, _)) in runs.iter().enumerate() {
                    if x < t || l + 1 == runs.len() {
                        pick = (l, low, t);
                        break;
                    }
                    low = t;
                }
                let (level, low, high) = pick;
                let group = runs[level].1;
                let (bounds, kind) = self.region_bounds(region, slot);
                let class = if group == size {
                    let high = if level + 1 == runs.len() {
                        u64::MAX
                    } else {
                        high
                    };
                    let span = (high - low).max(1) as u128;
                    let v = (((x - low) as u128) << 64) / span;
                    let v = v.min(u64::MAX as u128) as u64;
                    bounds.iter().take_while(|&&b| v >= b).count()
                } else {
                    // Each level (and kind) its own range of the sequence.
                    let x =
                        self.sequence_point(((level as u64) << 58) | (kind << 52) | (slot / group));
                    bounds.iter().take_while(|&&b| x >= b).count()
                };
                RunDraw {
                    class,
                    level: Some(level),
                    kind,
                }
            }
        }
    }

    /// Position `slot` of the low-discrepancy sequence of classes.
    #[inline]
    fn class_in_sequence(&self, slot: u64) -> usize {
        let x = self.sequence_point(slot);
        self.bounds.iter().take_while(|&&b| x >= b).count()
    }

    /// Point `slot` of the low-discrepancy sequence, in `[0, 2^64)`.
    #[inline]
    fn sequence_point(&self, slot: u64) -> u64 {
        self.permuted(slot, self.salt)
            .wrapping_mul(PHI64)
            .wrapping_add(self.offset)
    }

    /// `slot` moved within its group of [`GROUP`] by a permutation keyed by `salt`.
    #[inline]
    fn permuted(&self, slot: u64, salt: u64) -> u64 {
        let group = slot & !(GROUP - 1);
        let h = mix64(group ^ salt);
        // An affine map then an xor, both bijections of 0..GROUP.
        let multiplier = (h | 1) & (GROUP - 1);
        let within = ((slot & (GROUP - 1))
            .wrapping_mul(multiplier)
            .wrapping_add(h >> 8)
            ^ (h >> 16))
            & (GROUP - 1);
        group | within
    }

    /// The plan of class `class`.
    #[inline]
    pub(crate) fn plan(&self, class: usize) -> &CompressPlan {
        &self.plans[class]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compress_mix::CompressSpec;

    fn classes(text: &str, salt: u64) -> (Classes, CompressMix) {
        let CompressSpec::Mix(mix) = CompressSpec::parse(text, 50.0).unwrap() else {
            panic!("a mix")
        };
        (Classes::new(&mix, CompressCodec::Lz, salt), mix)
    }

    /// Every prefix of slots holds each class's share to within a group and a few blocks, and
    /// every prefix of whole groups to within a few blocks.
    #[test]
    fn shares_are_exact_on_prefixes() {
        for (text, salt) in [
            ("1:30%,4:50%,16:20%", 1),
            ("1:30%,4:50%,16:20%", 0xdead_beef),
            ("2:99%,8:1%", 7),
            ("1:33.33%,3:33.33%,9:33.34%", 3),
            (
                "1:10%,2:10%,3:10%,4:10%,5:10%,6:10%,7:10%,8:10%,9:10%,10:10%",
                11,
            ),
        ] {
            let (c, mix) = classes(text, salt);
            let k = mix.classes().len();
            let mut counts = vec![0u64; k];
            let mut worst = 0.0f64;
            let mut worst_whole = 0.0f64;
            for s in 0..200_000u64 {
                counts[c.class_of(s)] += 1;
                let n = (s + 1) as f64;
                for (i, &got) in counts.iter().enumerate() {
                    let off = (got as f64 - n * mix.fraction(i)).abs();
                    worst = worst.max(off);
                    if (s + 1) % GROUP == 0 {
                        worst_whole = worst_whole.max(off);
                    }
                }
            }
            assert!(
                worst <= GROUP as f64 + 4.0,
                "{text}: a prefix is off by {worst}"
            );
            assert!(
                worst_whole <= 4.0,
                "{text}: a prefix of groups is off by {worst_whole}"
            );
        }
    }

    /// With kinds of regions, a region draws only the classes its kind has, the kinds hold
    /// their shares of the regions, and the classes their shares overall; a region's pieces on
    /// their own share one echo key (their kind's), a zero piece keeps its own. Regions smaller
    /// than a group of the largest run group take one kind per group with no span, and
    /// neighbouring kinds with one (the low kind's quarter of `[0, 1)` and a span of 0.3: a
    /// group crosses one of its two ends with odds 2 * 0.3 * 7/8).
    #[test]
    fn regions_of_a_kind_draw_its_classes() {
        let plans = vec![
            CompressPlan::new(1000.0),
            CompressPlan::new(2000.0),
            CompressPlan::new(3000.0),
            CompressPlan::zero(),
        ];
        let kind = |share: f64, classes: [f64; 4]| ProfileKind {
            share,
            classes: classes.to_vec(),
        };
        let kinds = [
            kind(0.25, [0.8, 0.2, 0.0, 0.0]),
            kind(0.75, [0.0, 0.2, 0.6, 0.2]),
        ];
        let overall = [0.2, 0.2, 0.45, 0.15];
        let group = 128u64;
        for (pieces, span, mixed_groups) in [
            (128u64, 0.0, 0.0..=0.0),
            (16, 0.0, 0.0..=0.0),
            (16, 0.3, 0.45..=0.6),
        ] {
            let c = Classes::with_plans(plans.clone(), &overall, 9)
                .with_kinds(&kinds, group, pieces, span);
            let groups = 4000u64;
            let (mut counts, mut low_regions, mut mixed) = ([0u64; 4], 0u64, 0u64);
            for g in 0..groups {
                let mut lows = 0;
                for r in g * group / pieces..(g + 1) * group / pieces {
                    let classes: Vec<usize> = (r * pieces..(r + 1) * pieces)
                        .map(|s| c.class_of(s))
                        .collect();
                    let low = classes.contains(&0);
                    let high = classes.contains(&2) || classes.contains(&3);
                    assert!(
                        !(low && high),
                        "{pieces}: region {r} mixes two kinds: {classes:?}"
                    );
                    lows += u64::from(low);
                    for (s, &k) in (r * pieces..).zip(&classes) {
                        counts[k] += 1;
                        let key = c.echo_key_of(s);
                        if k == 3 {
                            assert_eq!(key, 3, "a zero piece echoes by its own class");
                        } else {
                            assert_eq!(key, 4 + usize::from(!low), "slot {s} of class {k}");
                        }
                    }
                }
                low_regions += lows;
                mixed += u64::from(lows > 0 && lows < group / pieces);
            }
            let regions = groups * group / pieces;
            let share = low_regions as f64 / regions as f64;
            assert!((share - 0.25).abs() < 0.01, "{pieces} {span}: {share}");
            let mixed = mixed as f64 / groups as f64;
            assert!(mixed_groups.contains(&mixed), "{pieces} {span}: {mixed}");
            let total = (groups * group) as f64;
            for (k, (&n, want)) in counts.iter().zip(overall).enumerate() {
                assert!(
                    (n as f64 / total - want).abs() < 0.01,
                    "{pieces} {span}: class {k}: {n}"
                );
            }
        }
    }

    /// Grouped draws of the blend's strongest classes: every class keeps its share (with the
    /// strong runs blended by the blend's share, or by less), a group of `group` slots holds one
    /// strong class or none (the strong classes come in whole groups where the blend would
    /// scatter them), a strong run keeps all but its blend share, and without a blend the
    /// grouping changes nothing.
    #[test]
    fn the_strongest_classes_come_in_whole_groups() {
        let n = 8usize;
        let plans: Vec<CompressPlan> = (0..n)
            .map(|i| CompressPlan::new(4000.0 - 400.0 * i as f64))
            .collect();
        let shares = vec![1.0 / n as f64; n];
        let (q, group) = (2usize, 16u64);
        let base = Classes::with_plans(plans.clone(), &shares, 5)
            .with_runs(&[0.0, 0.0, 0.0, 1.0], &[1, 4, 16, 128]);
        let grouped = base
            .clone()
            .with_blend(2, 0.75, n)
            .with_strong_groups(q, group, 0.75);
        let scattered = base.clone().with_blend(2, 0.75, n);
        let slots = 1u64 << 20;
        let mut counts = vec![0u64; n];
        let (mut strong_groups, mut whole) = (0u64, 0u64);
        let mut scattered_partial = 0u64;
        for g in 0..slots / group {
            let classes: Vec<usize> = (g * group..(g + 1) * group)
                .map(|s| grouped.class_of(s))
                .collect();
            classes.iter().for_each(|&c| counts[c] += 1);
            // Slots drawn by the group: a strong class that is not the run's own.
            let run = grouped.run_class_of(g * group);
            let drawn: Vec<usize> = classes
                .iter()
                .copied()
                .filter(|&c| c >= n - q && c != run)
                .collect();
            if !drawn.is_empty() {
                strong_groups += 1;
                whole +=
                    u64::from(drawn.len() as u64 == group && drawn.iter().all(|&c| c == drawn[0]));
            }
            let theirs = (g * group..(g + 1) * group)
                .filter(|&s| scattered.class_of(s) >= n - q && scattered.run_class_of(s) < n - q)
                .count() as u64;
            scattered_partial += u64::from(theirs > 0 && theirs < group);
        }
        for (c, &k) in counts.iter().enumerate() {
            let share = k as f64 / slots as f64;
            assert!((share - 1.0 / n as f64).abs() < 0.01, "class {c}: {share}");
        }
        assert!(strong_groups > 100, "{strong_groups}");
        assert_eq!(whole, strong_groups, "every drawn strong group is whole");
        assert!(
            scattered_partial > strong_groups,
            "{scattered_partial} {strong_groups}"
        );
        // Strong runs blended by less: the shares stay, and a strong run keeps 70%.
        let kept = base
            .clone()
            .with_blend(2, 0.75, n)
            .with_strong_groups(q, group, 0.3);
        let mut counts = vec![0u64; n];
        let (mut strong_run, mut stayed) = (0u64, 0u64);
        for s in 0..slots {
            let (run, class) = (kept.run_class_of(s), kept.class_of(s));
            counts[class] += 1;
            if run >= n - q {
                strong_run += 1;
                stayed += u64::from(class == run);
            }
        }
        for (c, &k) in counts.iter().enumerate() {
            let share = k as f64 / slots as f64;
            assert!((share - 1.0 / n as f64).abs() < 0.01, "class {c}: {share}");
        }
        let stayed = stayed as f64 / strong_run as f64;
        assert!((stayed - 0.7).abs() < 0.02, "{stayed}");
        // Without a blend, the grouping does nothing.
        let plain = base.clone().with_strong_groups(q, group, 0.3);
        assert!((0..4096).all(|s| plain.class_of(s) == base.class_of(s)));
    }

    /// Any window of slots (not only a prefix) holds the shares too, and the assignment depends
    /// on the salt and looks random (no class fills a whole group on a balanced mix).
    #[test]
    fn windows_hold_the_shares_and_salts_differ() {
        let (a, mix) = classes("1:30%,4:50%,16:20%", 5);
        let (b, _) = classes("1:30%,4:50%,16:20%", 6);
        for start in [0u64, 12_345, 1 << 40, u64::MAX / 3] {
            let mut counts = [0u64; 3];
            for s in start..start + 10_000 {
                counts[a.class_of(s)] += 1;
            }
            for (i, &n) in counts.iter().enumerate() {
                let off = (n as f64 - 10_000.0 * mix.fraction(i)).abs();
                assert!(
                    off <= 2.0 * GROUP as f64 + 4.0,
                    "window at {start}: class {i} {n}"
                );
            }
        }
        let differ = (0..1000u64)
            .filter(|&s| a.class_of(s) != b.class_of(s))
            .count();
        assert!(
            differ > 300,
            "salts give nearly the same classes: {differ} of 1000 differ"
        );
        let runs = (0..1000u64)
            .step_by(GROUP as usize)
            .filter(|&g| (g..g + GROUP).all(|s| a.class_of(s) == a.class_of(g)))
            .count();
        assert_eq!(runs, 0);
    }
}
