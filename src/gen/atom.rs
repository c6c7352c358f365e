//! One *atom*: a 4 KiB-aligned piece of the stream, the unit that compression is built into.
//!
//! An atom is a sequence of literal runs (incompressible bytes from [`super::random`]) and matches
//! (copies of earlier bytes of the same atom), like the output of an LZ parser read backwards:
//! `lit0 match1 lit1 match2 ... match_n lit_n`. A codec stores the literals and a few bytes per match,
//! so an atom compresses to about `literal bytes + n * (cost of a match)`, on its own and inside any
//! larger unit (atoms share nothing). The compressible part is real LZ work (matches at varied
//! distances, 128-256 bytes long), never zeros or a repeated byte.
//!
//! All choices (how many literal bytes, the run and match lengths, the match sources) are drawn from
//! the atom's id, so the atom is a pure function of `(keys, plan, id)`.

use super::mix::{mix64, Rng};
use super::random::{fill_blocks, StreamKeys};

/// Bytes per atom.
pub const ATOM: usize = 4096;
/// Shortest mean length of a match, in bytes (matches vary from 2/3 to 4/3 of their mean).
const MEAN_MATCH: f64 = 256.0;
/// Share of the compressed size that codec differences in match cost may take.
const SPREAD_BUDGET: f64 = 0.025;
/// Bytes by which lz4 and zstd differ per match (besides lz4's length bytes).
const MATCH_COST_GAP: f64 = 3.0;
/// Literal runs are at least about this long, so a repeat is never a short pattern.
const MIN_RUN: usize = 16;
/// Most matches an atom can hold.
const MAX_MATCHES: usize = 64;

/// How compressible atoms are: the expected number of literal bytes per atom.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct CompressPlan {
    /// Expected literal bytes per atom, in `(0, ATOM]`; `ATOM` means incompressible.
    pub(crate) literal_bytes: f64,
}

impl CompressPlan {
    /// Whether atoms are pure random bytes.
    pub(crate) fn is_incompressible(&self) -> bool {
        self.literal_bytes >= ATOM as f64
    }
}

/// Writes atom `id` into `out`.
pub(crate) fn write_atom(keys: &StreamKeys, plan: &CompressPlan, id: u64, out: &mut [u8; ATOM]) {
    if plan.is_incompressible() {
        fill_blocks(keys, id, 0, out);
        return;
    }
    let mut rng = Rng::new(mix64(id ^ 0x5bd1_e995_7f4a_7c15));
    let layout = Layout::draw(plan, &mut rng);
    layout.fill_literals(keys, id, out);
    layout.copy_matches(out);
}

/// The pieces of one atom: piece `i` is a fresh literal run of `runs[i]` bytes followed by a match of
/// `matches[i]` bytes that repeats the last `dists[i]` bytes of that run (an LZ match at distance
/// `dists[i]`, overlapping when it is longer than the distance).
///
/// Every match copies fresh bytes that occur nowhere else, so any LZ parser finds each match whole,
/// as one sequence: lz4, zstd and deflate then agree on the compressed size.
struct Layout {
    runs: [u16; MAX_MATCHES],
    matches: [u16; MAX_MATCHES],
    dists: [u16; MAX_MATCHES],
    n: usize,
}

/// Splits `total` into `out.len()` integers with random weights in `[256, 512)`, in place.
fn split(total: usize, out: &mut [u16], rng: &mut Rng) {
    let mut weights = [0u32; MAX_MATCHES];
    let mut sum = 0u64;
    let mut bits = 0u64;
    for (i, w) in weights[..out.len()].iter_mut().enumerate() {
        if i % 8 == 0 {
            bits = rng.next_u64();
        }
        *w = 256 + (bits & 0xff) as u32;
        bits >>= 8;
        sum += *w as u64;
    }
    let mut given = 0usize;
    for (slot, w) in out.iter_mut().zip(weights) {
        let share = (total as u64 * w as u64 / sum) as usize;
        *slot = share as u16;
        given += share;
    }
    // Rounding leftovers (fewer than `out.len()`) go to the first slots.
    for slot in out.iter_mut().take(total - given) {
        *slot += 1;
    }
}

impl Layout {
    /// How many pieces an atom has (dithered to a whole number).
    ///
    /// Codecs differ in what a match costs: lz4 spends 3-4 bytes plus one byte per 255 of length,
    /// zstd about 3 bytes at 4 KiB and 2 at 1 MiB (its entropy coder learns the lengths). The
    /// difference, times the number of matches, must stay a small share of the compressed size, so
    /// the more compressible the atom, the fewer (and longer) its matches: many short ones at 1.5:1,
    /// one or two long ones at 8:1.
    fn pieces(literal_bytes: f64, match_bytes: f64, rng: &mut Rng) -> usize {
        let allowed = (SPREAD_BUDGET * literal_bytes - match_bytes / 255.0) / MATCH_COST_GAP;
        let by_length = match_bytes / MEAN_MATCH;
        let by_runs = literal_bytes / MIN_RUN as f64;
        let target = allowed.min(by_length).min(by_runs).max(1.0);
        ((target + rng.unit()) as usize).clamp(1, MAX_MATCHES)
    }

    fn draw(plan: &CompressPlan, rng: &mut Rng) -> Self {
        let match_target = ATOM as f64 - plan.literal_bytes;
        let (n, match_bytes) = if match_target < MEAN_MATCH {
            // Fewer bytes than one match: one match of the mean length in a share of the atoms.
            let hit = rng.unit() * MEAN_MATCH < match_target;
            (hit as usize, if hit { MEAN_MATCH as usize } else { 0 })
        } else {
            let bytes = ((match_target + rng.unit()) as usize).min(ATOM - MIN_RUN);
            (Self::pieces(plan.literal_bytes, match_target, rng), bytes)
        };
        let mut layout = Layout {
            runs: [0; MAX_MATCHES],
            matches: [0; MAX_MATCHES],
            dists: [0; MAX_MATCHES],
            n,
        };
        if n == 0 {
            layout.n = 1;
            layout.runs[0] = ATOM as u16;
            return layout;
        }
        split(match_bytes, &mut layout.matches[..n], rng);
        split(ATOM - match_bytes, &mut layout.runs[..n], rng);
        let mut bits = 0u64;
        for i in 0..n {
            if i % 4 == 0 {
                bits = rng.next_u64();
            }
            // Distance from half the run to the whole run (at least MIN_RUN / 2 bytes).
            let run = layout.runs[i] as u64;
            let low = (run / 2).max((MIN_RUN / 2) as u64).min(run);
            let span = run - low + 1;
            layout.dists[i] = (low + ((bits & 0xffff) * span >> 16)) as u16;
            bits >>= 16;
        }
        layout
    }

    /// Writes the literal runs (rounded out to 16-byte blocks: the spill lands in the neighbouring
    /// matches, which [`Layout::copy_matches`] overwrites next).
    fn fill_literals(&self, keys: &StreamKeys, id: u64, out: &mut [u8; ATOM]) {
        let mut pos = 0usize;
        for i in 0..self.n {
            let run = self.runs[i] as usize;
            let first = pos / 16;
            let end = (pos + run).div_ceil(16);
            fill_blocks(keys, id, first as u64, &mut out[first * 16..end * 16]);
            pos += run + self.matches[i] as usize;
        }
    }

    /// Writes each match as an LZ copy (forward, overlapping allowed) from `dist` bytes back.
    fn copy_matches(&self, out: &mut [u8; ATOM]) {
        let mut pos = 0usize;
        for i in 0..self.n {
            pos += self.runs[i] as usize;
            let len = self.matches[i] as usize;
            let dist = self.dists[i] as usize;
            let mut done = 0;
            while done < len {
                // Each pass copies what is already final: at most `dist << passes` bytes.
                let chunk = (dist + done).min(len - done);
                out.copy_within(pos - dist..pos - dist + chunk, pos + done);
                done += chunk;
            }
            pos += len;
        }
    }
}
