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
/// Mean length of a match, in bytes; lengths vary from 2/3 to 4/3 of it, so they stay within
/// deflate's 258-byte limit and cost every codec the same number of matches.
const MEAN_MATCH: f64 = 192.0;
/// The first literal run is at least this long, so the first match always has history to copy.
const MIN_FIRST_RUN: usize = 16;
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
    let mut layout = Layout::draw(plan, &mut rng);
    layout.fill_literals(keys, id, out);
    layout.copy_matches(&mut rng, out);
}

/// The lengths of the runs and matches of one atom.
struct Layout {
    /// Literal run lengths; `runs[i]` precedes match `i` (the last one ends the atom).
    runs: [u16; MAX_MATCHES + 1],
    matches: [u16; MAX_MATCHES],
    n: usize,
}

/// Splits `total` into `parts` integers with random weights in `[256, 512)`, in place.
fn split(total: usize, out: &mut [u16], rng: &mut Rng) {
    let mut weights = [0u32; MAX_MATCHES + 1];
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
    // Rounding leftovers (fewer than `parts`) go to the first slots.
    for slot in out.iter_mut().take(total - given) {
        *slot += 1;
    }
}

impl Layout {
    fn draw(plan: &CompressPlan, rng: &mut Rng) -> Self {
        let match_target = ATOM as f64 - plan.literal_bytes;
        let (n, match_bytes) = if match_target < MEAN_MATCH {
            // Fewer bytes than one match: one match of the mean length in a share of the atoms.
            let hit = rng.unit() * MEAN_MATCH < match_target;
            (hit as usize, if hit { MEAN_MATCH as usize } else { 0 })
        } else {
            let n = (match_target / MEAN_MATCH + rng.unit()) as usize;
            let bytes = (match_target + rng.unit()) as usize;
            (n.clamp(1, MAX_MATCHES), bytes.min(ATOM - MIN_FIRST_RUN))
        };
        let mut layout = Layout {
            runs: [0; MAX_MATCHES + 1],
            matches: [0; MAX_MATCHES],
            n,
        };
        split(match_bytes, &mut layout.matches[..n], rng);
        split(ATOM - MIN_FIRST_RUN - match_bytes, &mut layout.runs[..n + 1], rng);
        layout.runs[0] += MIN_FIRST_RUN as u16;
        layout
    }

    /// Writes the literal runs (rounded out to 16-byte blocks: the spill lands in match space,
    /// which [`Layout::copy_matches`] overwrites next).
    fn fill_literals(&self, keys: &StreamKeys, id: u64, out: &mut [u8; ATOM]) {
        let mut pos = 0usize;
        for i in 0..=self.n {
            let run = self.runs[i] as usize;
            if run > 0 {
                let first = pos / 16;
                let end = (pos + run).div_ceil(16);
                fill_blocks(keys, id, first as u64, &mut out[first * 16..end * 16]);
            }
            pos += run;
            if i < self.n {
                pos += self.matches[i] as usize;
            }
        }
    }

    /// Writes each match as a copy of earlier bytes of the atom.
    fn copy_matches(&mut self, rng: &mut Rng, out: &mut [u8; ATOM]) {
        let mut pos = 0usize;
        for i in 0..self.n {
            pos += self.runs[i] as usize;
            let len = self.matches[i] as usize;
            if pos >= len {
                let src = rng.below((pos - len + 1) as u64) as usize;
                out.copy_within(src..src + len, pos);
            } else {
                // Not enough history yet: repeat the whole prefix (an overlapping match, period `pos`).
                let mut done = 0;
                while done < len {
                    let chunk = (pos + done).min(len - done);
                    out.copy_within(done..done + chunk, pos + done);
                    done += chunk;
                }
            }
            pos += len;
        }
    }
}
