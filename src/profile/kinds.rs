//! Kinds of regions ([`super::Profile::kinds`]): what a sample's regions (128 KiB of 8 KiB
//! pieces, [`super::build::KIND_PIECES`]) hold, measured as a histogram of their pieces' classes
//! and clustered.
//!
//! Real data is not one shuffled bag of chunks: a database file has regions of table pages and
//! regions of index pages, a file system regions of media and regions of logs. A region's 1 MiB
//! ratio depends on what it holds, so drawing every region's pieces from the same shares (with
//! runs and blends, [`super::RUN_GROUPS`]) gives 1 MiB chunks of one shape where the sample has
//! several (`database`: three fifths of its 1 MiB chunks within lz4 3.09-3.26, the rest from 1.8
//! to 2.7). The kinds are found by k-means on the regions' class histograms, then adjusted
//! (iterative proportional fitting) so that together they give every class exactly its share,
//! and put in a row by mean class. Regions of 128 KiB rather than 1 MiB: a database's runs of
//! index pages are about 1 MiB long but fall anywhere, so most of its 128 KiB chunks hold one
//! kind of page where its 1 MiB chunks hold both in every proportion; the kinds of one 1 MiB
//! group are neighbours in the row ([`super::Profile::kind_span`]).

use super::format::ProfileKind;

/// Most kinds a profile has.
pub const MAX_KINDS: usize = 8;
/// Fewest regions per kind on average (fewer regions give fewer kinds).
const REGIONS_PER_KIND: usize = 8;
/// Rounds of k-means.
const KMEANS_ROUNDS: usize = 30;
/// Rounds of proportional fitting to the classes' shares.
const FITTING_ROUNDS: usize = 50;

/// The kinds of the regions of `region` consecutive records, `class_of` each record's class in
/// file order (`None`: not counted), `targets` every class's share of all pieces (summing to 1).
/// Empty when the sample has fewer than two whole regions per kind for two kinds.
pub fn region_kinds(
    class_of: &[Option<usize>],
    targets: &[f64],
    region: usize,
) -> Vec<ProfileKind> {
    let n = targets.len();
    let histograms: Vec<Vec<f64>> = class_of
        .chunks_exact(region.max(1))
        .filter_map(|r| {
            let mut h = vec![0.0; n];
            let mut counted = 0.0;
            for c in r.iter().flatten() {
                if let Some(x) = h.get_mut(*c) {
                    *x += 1.0;
                    counted += 1.0;
                }
            }
            (counted > 0.0).then(|| h.iter().map(|x| x / counted).collect())
        })
        .collect();
    let k = MAX_KINDS.min(histograms.len() / REGIONS_PER_KIND);
    if k < 2 || n < 2 {
        return Vec::new();
    }
    let (centroids, counts) = kmeans(&histograms, k);
    let total = histograms.len() as f64;
    let mut kinds: Vec<ProfileKind> = centroids
        .into_iter()
        .zip(counts)
        .filter(|&(_, count)| count > 0)
        .map(|(classes, count)| ProfileKind {
            share: count as f64 / total,
            classes,
        })
        .collect();
    fit_to_targets(&mut kinds, targets);
    // In a row by mean class (see `Profile::kind_span`: neighbouring regions take neighbouring
    // kinds).
    kinds.sort_by(|a, b| mean_class(&a.classes).total_cmp(&mean_class(&b.classes)));
    kinds
}

/// The mean class of a histogram of classes.
fn mean_class(histogram: &[f64]) -> f64 {
    histogram
        .iter()
        .enumerate()
        .map(|(i, x)| i as f64 * x)
        .sum()
}

/// k-means of `points` into `k` clusters, started from the points at `k` evenly spaced ranks
/// by mean class (so the same sample gives the same kinds): the centroids and their counts.
fn kmeans(points: &[Vec<f64>], k: usize) -> (Vec<Vec<f64>>, Vec<usize>) {
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| mean_class(&points[a]).total_cmp(&mean_class(&points[b])));
    let mut centroids: Vec<Vec<f64>> = (0..k)
        .map(|j| points[order[(2 * j + 1) * points.len() / (2 * k)]].clone())
        .collect();
    let distance =
        |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>();
    let mut assigned = vec![0usize; points.len()];
    let mut counts = vec![0usize; k];
    for _ in 0..KMEANS_ROUNDS {
        for (p, a) in points.iter().zip(assigned.iter_mut()) {
            *a = (0..k)
                .min_by(|&x, &y| distance(p, &centroids[x]).total_cmp(&distance(p, &centroids[y])))
                .unwrap_or(0);
        }
        counts.iter_mut().for_each(|c| *c = 0);
        let mut sums = vec![vec![0.0; points[0].len()]; k];
        for (p, &a) in points.iter().zip(&assigned) {
            counts[a] += 1;
            sums[a].iter_mut().zip(p).for_each(|(s, x)| *s += x);
        }
        for ((c, s), &count) in centroids.iter_mut().zip(sums).zip(&counts) {
            if count > 0 {
                *c = s.into_iter().map(|x| x / count as f64).collect();
            }
        }
    }
    (centroids, counts)
}

/// Scales each class's column so that the kinds together give it its target share, and each
/// kind's row so that it sums to 1, in turn ([`FITTING_ROUNDS`] rounds).
fn fit_to_targets(kinds: &mut [ProfileKind], targets: &[f64]) {
    for _ in 0..FITTING_ROUNDS {
        let overall = ProfileKind::overall(kinds, targets.len());
        for kind in kinds.iter_mut() {
            for ((f, &got), &want) in kind.classes.iter_mut().zip(&overall).zip(targets) {
                if got > 0.0 {
                    *f *= want / got;
                }
            }
            let sum: f64 = kind.classes.iter().sum();
            if sum > 0.0 {
                kind.classes.iter_mut().for_each(|f| *f /= sum);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two kinds of regions (low classes, high classes) are told apart, and together they give
    /// every class its share.
    #[test]
    fn regions_of_two_kinds_are_found_and_keep_the_shares() {
        let region = 16;
        let mut class_of = Vec::new();
        for r in 0..64 {
            for i in 0..region {
                // Three regions in five hold classes 2 and 3, the others 0 and 1.
                let high = r % 5 < 3;
                class_of.push(Some(usize::from(high) * 2 + i % 2));
            }
        }
        // 39 high regions, 25 low ones.
        let targets = [25.0 / 128.0, 25.0 / 128.0, 39.0 / 128.0, 39.0 / 128.0];
        let kinds = region_kinds(&class_of, &targets, region);
        assert!(kinds.len() >= 2, "{kinds:?}");
        let high: f64 = kinds
            .iter()
            .filter(|k| k.classes[2] + k.classes[3] > 0.99)
            .map(|k| k.share)
            .sum();
        let low: f64 = kinds
            .iter()
            .filter(|k| k.classes[0] + k.classes[1] > 0.99)
            .map(|k| k.share)
            .sum();
        assert!((high - 39.0 / 64.0).abs() < 1e-9, "{kinds:?}");
        assert!((low - 25.0 / 64.0).abs() < 1e-9, "{kinds:?}");
        for (got, want) in ProfileKind::overall(&kinds, 4).iter().zip(targets) {
            assert!((got - want).abs() < 1e-3, "{got} against {want}");
        }
    }

    /// Too few regions give no kinds.
    #[test]
    fn a_small_sample_has_no_kinds() {
        let class_of = vec![Some(0); 16 * 10];
        assert!(region_kinds(&class_of, &[0.5, 0.5], 16).is_empty());
    }
}
