//! One *atom*: a 4 KiB-aligned piece of the stream, the unit that compression is built into.
//!
//! An atom is a sequence of *pieces*, each a fresh literal run (incompressible bytes from
//! [`super::random`]) followed by a match that repeats the tail of that run, like the output of an
//! LZ parser read backwards. A codec stores the literals and a few bytes per match, so an atom
//! compresses to about `literal bytes + pieces * (cost of a match)`, on its own and inside any larger
//! unit (atoms share nothing). The compressible part is real LZ work (back-references over
//! overlapping and non-overlapping distances), never zeros or a repeated byte.
//!
//! The shapes (run and match lengths, distances) come from a cycle of [`LAYOUTS`] layouts drawn once
//! per compression ratio, with the dithered quantities stratified so that the cycle's averages are
//! exact. The caller gives each atom its place in the cycle (consecutive unique atoms take consecutive
//! places, so any 32 of them, a 128 KiB block for one, hold the whole cycle once). The
//! literal bytes themselves are unique to the atom. So an atom is a pure function of
//! `(keys, plan, id, slot)`, and generating it costs no per-atom decisions.
//!
//! Why a short cycle rather than a random layout per atom: the writer's loops run as long as the
//! runs and matches are, and a CPU's branch predictor learns a sequence of 32 shapes that repeats,
//! but not 1024 shapes in random order. Measured on Zen 4: random layouts ran compressible data at
//! 0.5-0.65 of the incompressible rate, a 32-layout cycle at 0.6-0.9.

use super::header::HEADER_LEN;
use super::mix::{mix64, Rng};
#[cfg(target_arch = "x86_64")]
use super::random::x86;
use super::random::{fill_blocks_portable, level, Level, StreamKeys};
use std::sync::Arc;

/// Bytes per atom.
pub const ATOM: usize = 4096;
/// Number of layouts in a plan's cycle (a power of two, and the atoms in a 128 KiB block).
pub(crate) const LAYOUTS: usize = 32;
/// Shortest mean length of a match, in bytes (matches vary from 2/3 to 4/3 of their mean).
const MEAN_MATCH: f64 = 256.0;
/// Share of the compressed size that codec differences in match cost may take.
const SPREAD_BUDGET: f64 = 0.025;
/// Bytes by which lz4 and zstd differ per match (besides lz4's length bytes).
const MATCH_COST_GAP: f64 = 3.0;
/// Lengths and distances are whole granules of this many bytes (so a repeat is never a short
/// pattern, and the writer moves whole vectors).
pub(crate) const GRANULE: usize = 32;
/// Most pieces an atom has (more cost more to write and widen the codecs' disagreement).
const MAX_PIECES: f64 = 4.0;
/// Room for pieces in a layout.
const MAX_MATCHES: usize = 8;
/// Longest literal run, in granules (896 bytes). Skip-ahead scanners (snappy, LZO1X-1, brotli's
/// fast mode) look up every position for the first 32 bytes after a match, then step by
/// `1 + run / 32`: at the end of an 896-byte run the step is 29, so the position where the scanner
/// lands in the match (at most 28 bytes in) repeats a position it indexed at step 1.
const MAX_RUN_GRANULES: usize = 28;

/// How compressible atoms are.
#[derive(Clone, Debug)]
pub(crate) struct CompressPlan {
    /// The layouts atoms choose from; `None` when incompressible.
    layouts: Option<Arc<[Layout]>>,
    /// The alphabet of literal bytes, when smaller than all 256 values (literal entropy).
    symbols: Option<LiteralSymbols>,
    /// All-zero atoms (a profile's zero blocks): no literals, no header.
    zero: bool,
}

/// First byte value of a reduced literal alphabet: symbols are `SYMBOL_BASE ^ 0..m`.
const SYMBOL_BASE: u8 = 0x20;

/// A reduced alphabet of literal bytes: each random byte `b` becomes `(b * m) >> 8` (so `m`
/// symbols, near-uniform: each has 256/m preimages, give or take one), xored with
/// [`SYMBOL_BASE`]. An order-0 entropy coder (zstd's and deflate's Huffman literals) stores such a
/// literal in about `log2(m)` bits; lz4, which stores literals as they are, does not gain. Matches
/// repeat the mapped bytes, so the LZ structure, and lz4's ratio, are those of the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LiteralSymbols {
    m: u16,
}

impl LiteralSymbols {
    /// An alphabet of `m` symbols (2 to 255; 256 is no reduction: `None`).
    pub(crate) fn new(m: u16) -> Option<Self> {
        (2..256).contains(&m).then_some(LiteralSymbols { m })
    }

    /// Maps every byte of `bytes` into the alphabet (vectorised by the compiler).
    #[inline(always)]
    fn apply(self, bytes: &mut [u8]) {
        for b in bytes {
            *b = ((*b as u16 * self.m) >> 8) as u8 ^ SYMBOL_BASE;
        }
    }
}

impl CompressPlan {
    /// A plan for `literal_bytes` literal bytes per atom on average.
    pub(crate) fn new(literal_bytes: f64) -> Self {
        Self::with_layouts(literal_bytes, false)
    }

    /// A plan for `literal_bytes` literal bytes per atom whose atoms open with a re-sync piece
    /// (the classes of a mix or a profile, where a compressible atom may follow incompressible
    /// data: see [`Layout::draw`]).
    pub(crate) fn resync(literal_bytes: f64) -> Self {
        Self::with_layouts(literal_bytes, true)
    }

    fn with_layouts(literal_bytes: f64, resync: bool) -> Self {
        let literal_bytes = literal_bytes.clamp(1.0, ATOM as f64);
        let layouts = (literal_bytes < ATOM as f64).then(|| {
            (0..LAYOUTS)
                .map(|k| Layout::draw(literal_bytes, k, resync))
                .collect::<Vec<_>>()
                .into()
        });
        CompressPlan {
            layouts,
            symbols: None,
            zero: false,
        }
    }

    /// A plan for all-zero atoms (the zero blocks of a profile, [`crate::profile`]). They carry no
    /// header: a verifier compares them with zeros, and a diagnosis cannot name their block.
    pub(crate) fn zero() -> Self {
        CompressPlan {
            layouts: None,
            symbols: None,
            zero: true,
        }
    }

    /// Whether some layout of this plan opens with a short re-sync piece ([`Layout::draw`]):
    /// its atoms are laid out otherwise than by a dgen before those.
    pub(crate) fn has_short_resync(&self) -> bool {
        self.layouts
            .as_ref()
            .is_some_and(|l| l.iter().any(|l| l.dists[0] == CONSTANT_RUN))
    }

    /// Whether atoms of this plan are all zeros.
    pub(crate) fn is_zero(&self) -> bool {
        self.zero
    }

    /// The same plan with literal bytes drawn from `symbols` (all 256 values when `None`).
    pub(crate) fn with_symbols(mut self, symbols: Option<LiteralSymbols>) -> Self {
        self.symbols = symbols;
        self
    }
}

/// Writes atom `id`, with layout `slot` of the plan's cycle (any number: it is taken modulo
/// [`LAYOUTS`]), into `out`, with the best implementation for this CPU (all give the same bytes).
/// The atom's first [`HEADER_LEN`] bytes are `header` (they replace the start of its first
/// literal run, and its first match repeats them like the rest of the run). `work` is scratch
/// space (its contents do not matter).
pub(crate) fn write_atom(
    keys: &StreamKeys,
    plan: &CompressPlan,
    id: u64,
    slot: u64,
    header: &[u8; HEADER_LEN],
    out: &mut [u8; ATOM],
    work: &mut Scratch,
) {
    write_atom_over(keys, plan, id, slot, header, out, work, None)
}

/// [`write_atom`], with some granules of its literal runs taken from another atom's: the
/// literal granules are counted in order (the first granule, which holds the header, aside), and
/// with `overlay = (packed, count, mask)` literal granule `j` is `packed`'s `j`-th granule when
/// `j < count` and bit `j` of `mask` is set ([`literal_granules`] gives an atom's), before the runs'
/// matches repeat them: an atom that shares those granules with another (a profile's partial
/// echo), whose own matches stay whole, and which repeats nothing of the other's matches (a
/// match's bytes repeat with its period, and copied twice they would match each other).
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_atom_over(
    keys: &StreamKeys,
    plan: &CompressPlan,
    id: u64,
    slot: u64,
    header: &[u8; HEADER_LEN],
    out: &mut [u8; ATOM],
    work: &mut Scratch,
    overlay: Option<(&[u8; ATOM], usize, u128)>,
) {
    if plan.zero {
        out.fill(0);
        return;
    }
    let slot = (slot % LAYOUTS as u64) as usize;
    match level() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level()` reported VAES, AES-NI and AVX2 on this CPU.
        Level::Vaes256 => unsafe {
            write_atom_vaes256(keys, plan, id, slot, header, out, work, overlay)
        },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level()` reported AES-NI and AVX2 on this CPU.
        Level::AesNi => unsafe {
            write_atom_aesni(keys, plan, id, slot, header, out, work, overlay)
        },
        _ => write_atom_with::<false>(
            plan,
            slot,
            header,
            out,
            work,
            overlay,
            |first, dst, copy| {
                fill_blocks_portable(keys, id, first, dst);
                if let Some(copy) = copy {
                    copy.copy_from_slice(dst);
                }
            },
        ),
    }
}

/// [`write_atom`] compiled for AES-NI and AVX2.
///
/// # Safety
/// The CPU must support AES-NI and AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "aes,avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn write_atom_aesni(
    keys: &StreamKeys,
    plan: &CompressPlan,
    id: u64,
    slot: usize,
    header: &[u8; HEADER_LEN],
    out: &mut [u8; ATOM],
    work: &mut Scratch,
    overlay: Option<(&[u8; ATOM], usize, u128)>,
) {
    let k = x86::Keys128::load(keys);
    // SAFETY: this function has the `aes` feature; the writer passes lengths that are multiples of 16.
    write_atom_with::<true>(
        plan,
        slot,
        header,
        out,
        work,
        overlay,
        |first, dst, copy| unsafe { x86::fill_aesni(&k, id, first, dst, copy) },
    )
}

/// [`write_atom`] compiled for VAES on 256-bit registers.
///
/// # Safety
/// The CPU must support VAES, AES-NI and AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "aes,avx2,vaes")]
#[allow(clippy::too_many_arguments)]
unsafe fn write_atom_vaes256(
    keys: &StreamKeys,
    plan: &CompressPlan,
    id: u64,
    slot: usize,
    header: &[u8; HEADER_LEN],
    out: &mut [u8; ATOM],
    work: &mut Scratch,
    overlay: Option<(&[u8; ATOM], usize, u128)>,
) {
    let k = x86::Keys128::load(keys);
    // SAFETY: this function has the needed features; lengths are multiples of 16.
    write_atom_with::<true>(
        plan,
        slot,
        header,
        out,
        work,
        overlay,
        |first, dst, copy| unsafe { x86::fill_vaes256(&k, id, first, dst, copy) },
    )
}

/// The atom writer, generic over how literal blocks are produced (inlined into each caller so the
/// caller's target features apply). `fill(first_block, dst, copy)` writes blocks `first_block..` of
/// the atom's stream into `dst`, and into `copy` too when given.
/// `AVX2` says the caller has AVX2 enabled (vector copies are used).
#[inline(always)]
fn write_atom_with<const AVX2: bool>(
    plan: &CompressPlan,
    slot: usize,
    header: &[u8; HEADER_LEN],
    out: &mut [u8; ATOM],
    scratch: &mut Scratch,
    overlay: Option<(&[u8; ATOM], usize, u128)>,
    mut fill: impl FnMut(u64, &mut [u8], Option<&mut [u8]>),
) {
    let Some(layouts) = &plan.layouts else {
        match plan.symbols {
            None => fill(0, out, None),
            Some(symbols) => {
                let work = scratch.atom();
                fill(0, work, None);
                symbols.apply(work);
                out.copy_from_slice(work);
            }
        }
        out[..HEADER_LEN].copy_from_slice(header);
        return;
    };
    let layout = &layouts[slot % LAYOUTS];
    // Matches are written to `out` from a copy of their pattern in a cache-hot scratch. Nothing is
    // read back from `out`: its lines may still be on their way from memory, and loads that wait
    // for them stall.
    let work = scratch.atom();
    let mut pos = 0usize;
    // Literal granules so far (the first granule aside).
    let mut literal = 0usize;
    for i in 0..layout.n {
        let run = layout.runs[i] as usize * GRANULE;
        let len = layout.matches[i] as usize * GRANULE;
        let dist = layout.dists[i] as usize * GRANULE;
        let constant = layout.dists[i] == CONSTANT_RUN;
        // The run's granules taken from `overlay` (bit `k`: its `k`-th granule), the literal
        // rank of its first counted granule (the header's granule is not counted), and where
        // they are taken from.
        let (shared, rank, packed) = match overlay {
            None => (0u128, 0usize, &[0u8; 0][..]),
            Some((packed, count, mask)) => {
                // The header's granule is never shared.
                let skip = usize::from(pos == 0);
                let granules = run / GRANULE - skip;
                let taken = count.saturating_sub(literal).min(granules);
                let bits = if literal < 128 {
                    ((mask >> literal) & low_bits(taken)) << skip
                } else {
                    0
                };
                let rank = literal;
                literal += granules;
                (bits, rank, &packed[..])
            }
        };
        // The run in stretches, each drawn fresh or taken whole (the taken ones are not drawn).
        let mut k = 0usize;
        while k < run / GRANULE {
            let taken = (shared >> k) & 1 == 1;
            let same = if taken {
                (shared >> k).trailing_ones()
            } else {
                (!shared >> k).trailing_ones()
            } as usize;
            let n = same.min(run / GRANULE - k);
            let (a, b) = (pos + k * GRANULE, pos + (k + n) * GRANULE);
            if taken {
                // Literal rank of granule `k`: the run's first counted granule is `rank`.
                let from = (rank + k - usize::from(pos == 0)) * GRANULE;
                // Granule by granule: fixed-size copies the compiler makes vector moves (a
                // library call per stretch cost a tenth of a profile's generation time).
                for g in 0..n {
                    let (to, at) = (a + g * GRANULE, from + g * GRANULE);
                    let granule: &[u8; GRANULE] =
                        packed[at..at + GRANULE].try_into().expect("a granule");
                    out[to..to + GRANULE].copy_from_slice(granule);
                    work[to..to + GRANULE].copy_from_slice(granule);
                }
            } else {
                match plan.symbols {
                    // The stretch into `out` and, from the same registers, into the scratch,
                    // where the match reads its pattern.
                    None => fill((a / 16) as u64, &mut out[a..b], Some(&mut work[a..b])),
                    // The stretch into the scratch, mapped there (in cache), then copied out.
                    Some(symbols) => {
                        fill((a / 16) as u64, &mut work[a..b], None);
                        symbols.apply(&mut work[a..b]);
                        out[a..b].copy_from_slice(&work[a..b]);
                    }
                }
            }
            k += n;
        }
        if i == 0 {
            // Every run is at least one granule (32 bytes): the header fits in the first.
            out[..HEADER_LEN].copy_from_slice(header);
            work[..HEADER_LEN].copy_from_slice(header);
        }
        pos += run;
        if constant {
            let pattern = ResyncPattern([work[pos - 1]; RESYNC_PATTERN]);
            repeat_granules::<AVX2>(out, pos, &pattern.0, 0, GRANULE, len);
        } else if dist == 0 {
            // The re-sync match: the run's last `RESYNC_PERIOD` bytes, repeated. The pattern is
            // the period doubled up (3, 6, ..., 96 bytes: five short copies, where a loop with a
            // modulo per byte cost a fifth of a mix's generation time).
            let mut pattern = ResyncPattern([0u8; RESYNC_PATTERN]);
            pattern.0[..RESYNC_PERIOD].copy_from_slice(&work[pos - RESYNC_PERIOD..pos]);
            let mut filled = RESYNC_PERIOD;
            while filled < RESYNC_PATTERN {
                pattern.0.copy_within(0..filled, filled);
                filled *= 2;
            }
            repeat_granules::<AVX2>(out, pos, &pattern.0, 0, RESYNC_PATTERN, len);
        } else {
            // An LZ77 match at distance `dist`: the run's last `dist` bytes, repeated, from the
            // scratch.
            repeat_granules::<AVX2>(out, pos, work, pos - dist, dist, len);
        }
        pos += len;
    }
    debug_assert_eq!(pos, ATOM);
}

/// The literal granules of atom `id` (of `plan`, layout `slot`) that bit `j` of `mask` names
/// (literal granule `j`, counted as [`write_atom_over`] counts them), written plain (as the
/// atom has them when it shares none of its own) at `32 j` in `packed`, with the best
/// implementation for this CPU; returns how many literal granules the atom has. Costs what the
/// named granules' literal bytes cost, not a whole atom.
pub(crate) fn literal_granules(
    keys: &StreamKeys,
    plan: &CompressPlan,
    id: u64,
    slot: u64,
    mask: u128,
    packed: &mut [u8; ATOM],
) -> usize {
    let slot = (slot % LAYOUTS as u64) as usize;
    match level() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level()` reported VAES, AES-NI and AVX2 on this CPU.
        Level::Vaes256 => unsafe { literal_granules_vaes256(keys, plan, id, slot, mask, packed) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level()` reported AES-NI and AVX2 on this CPU.
        Level::AesNi => unsafe { literal_granules_aesni(keys, plan, id, slot, mask, packed) },
        _ => literal_granules_with(plan, slot, mask, packed, |first, dst| {
            fill_blocks_portable(keys, id, first, dst)
        }),
    }
}

/// [`literal_granules`] compiled for AES-NI and AVX2.
///
/// # Safety
/// The CPU must support AES-NI and AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "aes,avx2")]
unsafe fn literal_granules_aesni(
    keys: &StreamKeys,
    plan: &CompressPlan,
    id: u64,
    slot: usize,
    mask: u128,
    packed: &mut [u8; ATOM],
) -> usize {
    let k = x86::Keys128::load(keys);
    // SAFETY: this function has the `aes` feature; every fill is whole granules (multiples of
    // 16 bytes).
    literal_granules_with(plan, slot, mask, packed, |first, dst| unsafe {
        x86::fill_aesni(&k, id, first, dst, None)
    })
}

/// [`literal_granules`] compiled for VAES on 256-bit registers.
///
/// # Safety
/// The CPU must support VAES, AES-NI and AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "aes,avx2,vaes")]
unsafe fn literal_granules_vaes256(
    keys: &StreamKeys,
    plan: &CompressPlan,
    id: u64,
    slot: usize,
    mask: u128,
    packed: &mut [u8; ATOM],
) -> usize {
    let k = x86::Keys128::load(keys);
    // SAFETY: this function has the needed features; every fill is whole granules.
    literal_granules_with(plan, slot, mask, packed, |first, dst| unsafe {
        x86::fill_vaes256(&k, id, first, dst, None)
    })
}

/// How many literal granules an atom of `plan`'s layout `slot` has (the first granule aside),
/// as [`write_atom_over`] counts them.
pub(crate) fn literal_count(plan: &CompressPlan, slot: u64) -> usize {
    match &plan.layouts {
        None => ATOM / GRANULE - 1,
        Some(layouts) => {
            let layout = &layouts[(slot % LAYOUTS as u64) as usize];
            layout.runs[..layout.n]
                .iter()
                .map(|&r| r as usize)
                .sum::<usize>()
                - 1
        }
    }
}

/// [`literal_granules`], generic over the fill (`fill(first_block, dst)`): one fill per run of
/// named granules in a row.
#[inline(always)]
fn literal_granules_with(
    plan: &CompressPlan,
    slot: usize,
    mask: u128,
    packed: &mut [u8; ATOM],
    mut fill: impl FnMut(u64, &mut [u8]),
) -> usize {
    // Granules `first..first + n` of the atom, literal granules `j..j + n`.
    let mut take = |first: usize, j: usize, n: usize, packed: &mut [u8; ATOM]| {
        let mut bits = if j < 128 {
            (mask >> j) & low_bits(n)
        } else {
            0
        };
        while bits != 0 {
            let start = bits.trailing_zeros() as usize;
            let len = (bits >> start).trailing_ones() as usize;
            let dst = &mut packed[(j + start) * GRANULE..(j + start + len) * GRANULE];
            fill(((first + start) * GRANULE / 16) as u64, dst);
            if let Some(symbols) = plan.symbols {
                symbols.apply(dst);
            }
            bits &= !(low_bits(len) << start);
        }
    };
    match &plan.layouts {
        None => {
            take(1, 0, ATOM / GRANULE - 1, packed);
            ATOM / GRANULE - 1
        }
        Some(layouts) => {
            let layout = &layouts[slot % LAYOUTS];
            let (mut pos, mut literal) = (0usize, 0usize);
            for i in 0..layout.n {
                let (run, len) = (layout.runs[i] as usize, layout.matches[i] as usize);
                let first = pos.max(1);
                take(first, literal, pos + run - first, packed);
                literal += pos + run - first;
                pos += run + len;
            }
            literal
        }
    }
}

/// The lowest `n` bits set (`n` up to 128; 0 for none or fewer).
#[inline]
pub(crate) fn low_bits(n: usize) -> u128 {
    match n {
        0 => 0,
        128.. => u128::MAX,
        n => (1u128 << n) - 1,
    }
}

/// Shortest match, in granules, that opens an atom as a re-sync piece ([`Layout::draw`]): a
/// shorter one holds too few lookups at the steps it is there for, and measured worse than none
/// (a mix `1:50%,1.1:50%` of 128 KiB blocks: lz4 at 1 MiB -3.0% with re-sync pieces of 2-3
/// granules, -0.3% without).
const RESYNC_MIN_MATCH: usize = 4;

/// `dists` marker of a match that repeats its run's last byte (a short re-sync piece,
/// [`Layout::draw`]).
const CONSTANT_RUN: u8 = u8::MAX;
/// Granules of a short re-sync piece's match: one byte repeated over 64 bytes, where any two
/// lookups find a match, so a codec stepping up to about 30 bytes per lookup (lz4 after 24 KiB
/// of incompressible data) finds it; 32 bytes held two lookups only up to a step of about 14.
const CONSTANT_MIN_MATCH: usize = 2;

/// Bytes in the re-sync match's period ([`Layout::draw`]).
const RESYNC_PERIOD: usize = 3;
/// A whole number of granules holding whole periods: the pattern the writer repeats.
const RESYNC_PATTERN: usize = RESYNC_PERIOD * GRANULE;

/// The re-sync match's pattern, aligned as the vector copies read patterns.
#[repr(align(32))]
struct ResyncPattern([u8; RESYNC_PATTERN]);

/// Writes `out[to..to + len]` by repeating `src[from..from + period]` (all multiples of
/// [`GRANULE`]; `src[from..]` 32-byte aligned), with inline 32-byte vector moves when `AVX2`
/// (the copies are too short for a library call to pay).
#[inline(always)]
fn repeat_granules<const AVX2: bool>(
    out: &mut [u8; ATOM],
    to: usize,
    src: &[u8],
    from: usize,
    period: usize,
    len: usize,
) {
    let dst = &mut out[to..to + len];
    let pattern = &src[from..from + period];
    #[cfg(target_arch = "x86_64")]
    if AVX2 {
        // SAFETY: the caller has AVX2 enabled (`AVX2`); `dst` holds `len` bytes and `pattern`
        // `period` bytes, both multiples of 32, in different arrays; `pattern` starts 32-byte
        // aligned (callers pass the 64-aligned scratch at a multiple of 32, or a
        // `ResyncPattern`).
        unsafe { x86::repeat32(dst.as_mut_ptr(), pattern.as_ptr(), period, len) };
        return;
    }
    for (d, s) in dst.chunks_mut(period).zip(std::iter::repeat(pattern)) {
        d.copy_from_slice(&s[..d.len()]);
    }
}

/// Scratch space for building atoms in cache.
#[repr(align(64))]
pub(crate) struct Scratch([u8; ATOM]);

impl Scratch {
    /// Zeroed scratch space.
    pub(crate) fn new() -> Self {
        Scratch([0u8; ATOM])
    }

    /// The scratch as one atom.
    #[inline]
    pub(crate) fn atom(&mut self) -> &mut [u8; ATOM] {
        &mut self.0
    }
}

/// The pieces of one atom, in [`GRANULE`]s: piece `i` is a fresh literal run of `runs[i]` granules
/// followed by a match of `matches[i]` granules that repeats the last `dists[i]` granules of that run
/// (an LZ match at distance `dists[i]`, overlapping when it is longer than the distance), or, for
/// `dists[i] == 0` (a re-sync piece, the first), its last [`RESYNC_PERIOD`] bytes, and for
/// `dists[i] ==` [`CONSTANT_RUN`] (a short re-sync piece, the first), its last byte. The last
/// match of a layout with a short re-sync piece may be empty (`matches[i] == 0`).
///
/// Every match copies fresh bytes that occur nowhere else, so any LZ parser finds each match whole,
/// as one sequence: lz4, zstd and deflate then agree on the compressed size. Lengths in whole
/// granules let the writer move 32-byte vectors only.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    runs: [u8; MAX_MATCHES],
    matches: [u8; MAX_MATCHES],
    dists: [u8; MAX_MATCHES],
    n: usize,
}

/// Splits `total` into `out.len()` integers of at least 1 with random weights, in place.
fn split(total: usize, out: &mut [u8], rng: &mut Rng) {
    let parts = out.len();
    debug_assert!(total >= parts);
    let spare = total - parts;
    let mut weights = [0u32; MAX_MATCHES];
    let mut sum = 0u64;
    let mut bits = 0u64;
    for (i, w) in weights[..parts].iter_mut().enumerate() {
        if i % 8 == 0 {
            bits = rng.next_u64();
        }
        *w = 256 + (bits & 0xff) as u32;
        bits >>= 8;
        sum += *w as u64;
    }
    let mut given = 0usize;
    for (slot, w) in out.iter_mut().zip(weights) {
        let share = (spare as u64 * w as u64 / sum) as usize;
        *slot = 1 + share as u8;
        given += share;
    }
    // Rounding leftovers (fewer than `parts`) go to the first slots.
    for slot in out.iter_mut().take(spare - given) {
        *slot += 1;
    }
}

impl Layout {
    /// How many pieces an atom has, before dithering to a whole number.
    ///
    /// Codecs differ in what a match costs: lz4 spends 3-4 bytes plus one byte per 255 of length,
    /// zstd about 3 bytes at 4 KiB and 2 at 1 MiB (its entropy coder learns the lengths). The
    /// difference, times the number of matches, must stay a small share of the compressed size, so
    /// the more compressible the atom, the fewer (and longer) its matches: several short ones at
    /// 1.5:1, one or two long ones at 8:1.
    fn pieces(literal_bytes: f64, match_bytes: f64) -> f64 {
        let allowed = (SPREAD_BUDGET * literal_bytes - match_bytes / 255.0) / MATCH_COST_GAP;
        let by_length = match_bytes / MEAN_MATCH;
        allowed.min(by_length).clamp(1.0, MAX_PIECES)
    }

    /// Layout `k` of the table for `literal_bytes` literal bytes per atom on average.
    ///
    /// The two dithers (match granules and number of pieces) take stratified values over the
    /// table, so the table's average is exact; the rest (lengths, distances) is random.
    ///
    /// With `resync`, an atom of more than one piece whose longest match is at least
    /// [`RESYNC_MIN_MATCH`] granules opens with a *re-sync piece*: a run of one granule, then
    /// that match, repeating the run's last [`RESYNC_PERIOD`] bytes (distance 0 in `dists`).
    /// A codec that reaches it right after a match (the previous atom's last) indexed the short
    /// run at step 1 and finds it at once, like any other match. One that reaches it after
    /// incompressible data steps over many bytes per lookup (zstd-1's step grows by one every
    /// 256 bytes without a match, lz4's every 64 lookups, snappy's by 1/32 of itself each), so
    /// it has indexed neither a run's first bytes nor their repeat and misses the usual
    /// matches; in the re-sync match any two lookups a multiple of the period apart see the
    /// same bytes, which it finds within [`RESYNC_PERIOD`] lookups, whatever its step, and it
    /// is back at step 1 for the rest of the atom. Mixes and profiles (`CompressPlan::resync`)
    /// put compressible blocks after incompressible ones: a mix `1:50%,3:50%` of 8 KiB blocks
    /// lost 7-10% with zstd-1 and 1-4% with lz4 at 32 KiB-1 MiB units without it, 0.2-0.3%
    /// with it (`README.md`, "Compressibility mixes").
    ///
    /// An atom whose matches are all shorter than [`RESYNC_MIN_MATCH`] (the barely compressible
    /// ones, up to about 1.2:1) opens instead with a *short re-sync piece*, when it has
    /// [`CONSTANT_MIN_MATCH`] match granules: a one-granule run, then a match of that many
    /// granules repeating the run's last byte ([`CONSTANT_RUN`]), found by any two lookups in
    /// it; its other match granules and runs go to the other pieces as drawn. Without it lz4,
    /// stepping 16-30 bytes per lookup after 8-24 KiB of incompressible data, missed every match
    /// of half of such 8 KiB pieces at 32 KiB (a profile's weak pieces after incompressible
    /// ones; `tests/compress_mix.rs`).
    fn draw(literal_bytes: f64, k: usize, resync: bool) -> Self {
        const GRANULES: usize = ATOM / GRANULE;
        let mut rng = Rng::new(mix64(k as u64 ^ 0x5bd1_e995_7f4a_7c15));
        let u_bytes = (k as f64 + 0.5) / LAYOUTS as f64;
        let u_pieces = ((k as f64 + 0.5) * 0.618_033_988_749_894_9).fract();
        let match_target = ATOM as f64 - literal_bytes;
        let match_granules = ((match_target / GRANULE as f64 + u_bytes) as usize).min(GRANULES - 1);
        let mut layout = Layout {
            runs: [0; MAX_MATCHES],
            matches: [0; MAX_MATCHES],
            dists: [0; MAX_MATCHES],
            n: 1,
        };
        if match_granules == 0 {
            layout.runs[0] = GRANULES as u8;
            return layout;
        }
        let run_granules = GRANULES - match_granules;
        let n = (Self::pieces(literal_bytes, match_target) + u_pieces) as usize;
        // Enough pieces that no run outgrows what a skip-ahead scanner indexes at step 1 (see
        // `MAX_RUN_GRANULES`): `split` gives a piece at most twice the mean.
        let n = n.max((2 * run_granules).div_ceil(MAX_RUN_GRANULES));
        let n = n.clamp(1, match_granules.min(run_granules).min(MAX_MATCHES));
        layout.n = n;
        split(match_granules, &mut layout.matches[..n], &mut rng);
        split(run_granules, &mut layout.runs[..n], &mut rng);
        // Each match repeats its run from the run's first byte (distance = the run's length). The
        // first bytes after a match are the ones every scanner indexes at step 1, so a scanner that
        // lands anywhere in the first granule of the match, whatever its step, finds the source.
        layout.dists[..n].copy_from_slice(&layout.runs[..n]);
        let longest = (0..n).max_by_key(|&i| layout.matches[i]).unwrap_or(0);
        if resync && n > 1 && layout.matches[longest] as usize >= RESYNC_MIN_MATCH {
            // The longest match first, after a one-granule run; the run's other granules go, one
            // by one, to the shortest of the other runs (so none outgrows what the others may).
            layout.matches.swap(0, longest);
            for _ in 1..layout.runs[0] {
                let shortest = (1..n).min_by_key(|&i| layout.runs[i]).unwrap_or(1);
                layout.runs[shortest] += 1;
            }
            layout.runs[0] = 1;
            layout.dists[..n].copy_from_slice(&layout.runs[..n]);
            layout.dists[0] = 0;
        } else if resync
            && match_granules >= CONSTANT_MIN_MATCH
            && (layout.matches[longest] as usize) < RESYNC_MIN_MATCH
        {
            // A short re-sync piece: a one-granule run, then a match of CONSTANT_MIN_MATCH
            // granules repeating the run's last byte; the other match granules and runs over
            // the other pieces (one at least, for the rest of the runs).
            let rest = match_granules - CONSTANT_MIN_MATCH;
            let others = (n - 1).min(rest).max(1);
            layout.n = 1 + others;
            layout.runs[0] = 1;
            layout.matches[0] = CONSTANT_MIN_MATCH as u8;
            layout.matches[1..].fill(0);
            if rest > 0 {
                split(rest, &mut layout.matches[1..1 + others], &mut rng);
            }
            split(run_granules - 1, &mut layout.runs[1..1 + others], &mut rng);
            layout.runs[1 + others..].fill(0);
            layout.dists.copy_from_slice(&layout.runs);
            layout.dists[0] = CONSTANT_RUN;
        }
        layout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header that differs from atom to atom.
    fn test_header(id: u64) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[..8].copy_from_slice(&mix64(id).to_le_bytes());
        h[8..].copy_from_slice(&mix64(!id).to_le_bytes());
        h
    }

    /// The atom as layout `slot` describes it, written the way an LZ77 decoder would: each run
    /// from the atom's stream at its own position (mapped into `symbols`: `(b * m) >> 8 ^ 0x20`),
    /// each match byte by byte from `dist` bytes back (the run's last [`RESYNC_PERIOD`] bytes for
    /// a re-sync piece, in the layouts with one when `resync`).
    fn reference_atom_with(
        keys: &StreamKeys,
        literal_bytes: f64,
        symbols: Option<u16>,
        id: u64,
        slot: usize,
        resync: bool,
    ) -> [u8; ATOM] {
        reference_atom_over(keys, literal_bytes, symbols, id, slot, resync, None)
    }

    /// [`reference_atom_with`], with literal granule `j` (counted in order over the runs, the
    /// first granule aside) taken from `packed` when `j < count` and bit `j` of `mask` is set,
    /// before the matches repeat it.
    fn reference_atom_over(
        keys: &StreamKeys,
        literal_bytes: f64,
        symbols: Option<u16>,
        id: u64,
        slot: usize,
        resync: bool,
        overlay: Option<(&[u8; ATOM], usize, u128)>,
    ) -> [u8; ATOM] {
        let mut atom = [0u8; ATOM];
        let mut literal = 0usize;
        let layout = Layout::draw(literal_bytes, slot % LAYOUTS, resync);
        let mut pos = 0;
        for i in 0..layout.n {
            let run = layout.runs[i] as usize * GRANULE;
            let len = layout.matches[i] as usize * GRANULE;
            let dist = match layout.dists[i] {
                0 => RESYNC_PERIOD,
                CONSTANT_RUN => 1,
                d => d as usize * GRANULE,
            };
            fill_blocks_portable(keys, id, (pos / 16) as u64, &mut atom[pos..pos + run]);
            if let Some(m) = symbols {
                for b in &mut atom[pos..pos + run] {
                    *b = ((*b as u32 * m as u32) >> 8) as u8 ^ 0x20;
                }
            }
            if i == 0 {
                atom[..HEADER_LEN].copy_from_slice(&test_header(id));
            }
            for g in (pos / GRANULE).max(1)..(pos + run) / GRANULE {
                if let Some((packed, count, mask)) = overlay {
                    if literal < count && literal < 128 && mask >> literal & 1 == 1 {
                        atom[g * GRANULE..(g + 1) * GRANULE]
                            .copy_from_slice(&packed[literal * GRANULE..(literal + 1) * GRANULE]);
                    }
                }
                literal += 1;
            }
            pos += run;
            for p in pos..pos + len {
                atom[p] = atom[p - dist];
            }
            pos += len;
        }
        assert_eq!(pos, ATOM);
        atom
    }

    /// For each of `literals`, the plain plan and the plan with re-sync pieces.
    fn plans_of(literals: &[f64]) -> Vec<(f64, bool, CompressPlan)> {
        literals
            .iter()
            .flat_map(|&l| {
                [
                    (l, false, CompressPlan::new(l)),
                    (l, true, CompressPlan::resync(l)),
                ]
            })
            .collect()
    }

    /// Every level's writer gives the atom its layout describes (and so the same bytes).
    #[test]
    fn every_level_writes_the_layouts_atom() {
        let keys = StreamKeys::from_seed(5);
        for (literal, resync, plan) in plans_of(&[3500.0, 2048.0, 1000.0, 300.0, 80.0]) {
            for (slot, id) in (0..300u64)
                .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
                .enumerate()
            {
                let want = reference_atom_with(&keys, literal, None, id, slot, resync);
                let mut got = [1u8; ATOM];
                let h = test_header(id);
                write_atom(
                    &keys,
                    &plan,
                    id,
                    slot as u64,
                    &h,
                    &mut got,
                    &mut Scratch::new(),
                );
                assert!(
                    got == want,
                    "literal {literal} resync {resync} id {id} slot {slot}: level {:?} differs",
                    level()
                );
            }
        }
    }

    /// With a reduced alphabet, every level's writer gives the layout's atom with its literals
    /// mapped (and its matches repeating the mapped bytes); the literals use only `m` values.
    #[test]
    fn every_level_maps_literals_into_the_alphabet() {
        let keys = StreamKeys::from_seed(9);
        for (literal, m) in [(2048.0, 30u16), (1000.0, 90), (300.0, 200), (4096.0, 45)] {
            let plan = CompressPlan::new(literal).with_symbols(LiteralSymbols::new(m));
            for slot in 0..64usize {
                let id = (slot as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                let h = test_header(id);
                let mut got = [1u8; ATOM];
                write_atom(
                    &keys,
                    &plan,
                    id,
                    slot as u64,
                    &h,
                    &mut got,
                    &mut Scratch::new(),
                );
                let want = if literal >= ATOM as f64 {
                    let mut a = [0u8; ATOM];
                    fill_blocks_portable(&keys, id, 0, &mut a);
                    for b in a.iter_mut() {
                        *b = ((*b as u32 * m as u32) >> 8) as u8 ^ 0x20;
                    }
                    a[..HEADER_LEN].copy_from_slice(&h);
                    a
                } else {
                    reference_atom_with(&keys, literal, Some(m), id, slot, false)
                };
                assert!(
                    got == want,
                    "literal {literal} m {m} slot {slot}: level {:?}",
                    level()
                );
                let distinct: std::collections::HashSet<u8> =
                    got[HEADER_LEN..].iter().copied().collect();
                // the header's 16 bytes are not mapped (and the first match repeats them)
                assert!(
                    distinct.len() <= m as usize + HEADER_LEN,
                    "{} values",
                    distinct.len()
                );
            }
        }
        assert_eq!(LiteralSymbols::new(256), None);
        assert_eq!(LiteralSymbols::new(1), None);
    }

    /// An incompressible plan writes the stream itself, at every level.
    #[test]
    fn incompressible_atoms_are_the_stream() {
        let keys = StreamKeys::from_seed(6);
        let plan = CompressPlan::new(ATOM as f64);
        let mut want = [0u8; ATOM];
        fill_blocks_portable(&keys, 77, 0, &mut want);
        want[..HEADER_LEN].copy_from_slice(&test_header(77));
        let mut got = [1u8; ATOM];
        write_atom(
            &keys,
            &plan,
            77,
            3,
            &test_header(77),
            &mut got,
            &mut Scratch::new(),
        );
        assert!(got == want);
    }

    /// Each layout fills the atom exactly, with repeats no longer than their distance allows.
    #[test]
    fn layouts_tile_the_atom() {
        for (literal, resync, plan) in
            plans_of(&[4000.0, 3000.0, 2048.0, 1024.0, 512.0, 200.0, 70.0])
        {
            let layouts = plan.layouts.as_ref().expect("compressible");
            let mut total_literal = 0usize;
            for l in layouts.iter() {
                let mut sum = 0;
                // A re-sync piece opens the atom when it has more than one, with the longest match;
                // a short one when its matches are all shorter, if it has granules enough.
                let long = l.matches[..l.n]
                    .iter()
                    .any(|&m| m as usize >= RESYNC_MIN_MATCH);
                let matched: usize = l.matches[..l.n].iter().map(|&m| m as usize).sum();
                let short = resync && l.dists[0] == CONSTANT_RUN;
                if short {
                    assert!(!long, "{l:?}");
                    assert_eq!((l.runs[0], l.matches[0] as usize), (1, CONSTANT_MIN_MATCH));
                    assert!(l.n >= 2, "{l:?}");
                } else if resync {
                    assert!(
                        long || matched < CONSTANT_MIN_MATCH,
                        "no re-sync piece: {l:?}"
                    );
                } else {
                    assert!(l.dists[..l.n].iter().all(|&d| d != CONSTANT_RUN));
                }
                let resyncs = (resync && l.n > 1 && long) || short;
                if resyncs && !short {
                    assert_eq!((l.runs[0], l.dists[0]), (1, 0), "{l:?}");
                    assert!(l.matches[..l.n].iter().all(|&m| m <= l.matches[0]), "{l:?}");
                }
                for i in usize::from(resyncs)..l.n {
                    assert!(l.runs[i] >= 1 && l.dists[i] >= 1 && l.dists[i] <= l.runs[i]);
                    sum += (l.runs[i] as usize + l.matches[i] as usize) * GRANULE;
                    total_literal += l.runs[i] as usize * GRANULE;
                }
                for i in 0..usize::from(resyncs) {
                    sum += (l.runs[i] as usize + l.matches[i] as usize) * GRANULE;
                    total_literal += l.runs[i] as usize * GRANULE;
                }
                assert_eq!(sum, ATOM);
                if literal <= 3000.0 {
                    assert!(
                        l.runs[..l.n]
                            .iter()
                            .all(|&r| r as usize <= MAX_RUN_GRANULES),
                        "literal {literal}: a run outgrows {MAX_RUN_GRANULES} granules: {l:?}"
                    );
                }
            }
            let mean = total_literal as f64 / LAYOUTS as f64;
            assert!(
                (mean - literal).abs() < 1.0,
                "mean literal {mean} for {literal}"
            );
        }
    }

    /// A random mask of literal granules.
    fn test_mask(seed: u64) -> u128 {
        (mix64(seed ^ 0x1234_5678) as u128) << 64 | mix64(seed ^ 0x9abc_def0) as u128
    }

    /// `literal_granules` gives an atom's literal granules as its writer lays them down (the
    /// first granule aside), only those its mask names, and their count; every level alike.
    #[test]
    fn literal_granules_are_the_atoms_own() {
        let keys = StreamKeys::from_seed(11);
        for (literal, m) in [
            (2048.0, None),
            (1000.0, Some(45u16)),
            (300.0, None),
            (4096.0, None),
        ] {
            let plan = CompressPlan::resync(literal).with_symbols(m.and_then(LiteralSymbols::new));
            for slot in 0..64usize {
                let id = (slot as u64 + 7).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                let atom = reference_atom_with(&keys, literal, m, id, slot, true);
                // The atom's literal granules, in order.
                let mut want = Vec::new();
                match Layout::draw(literal, slot % LAYOUTS, true) {
                    _ if literal >= ATOM as f64 => want.extend(1..ATOM / GRANULE),
                    layout => {
                        let mut pos = 0;
                        for i in 0..layout.n {
                            let run = layout.runs[i] as usize;
                            want.extend(pos.max(1)..pos + run);
                            pos += run + layout.matches[i] as usize;
                        }
                    }
                }
                let mask = test_mask(slot as u64);
                let mut packed = [0xaau8; ATOM];
                let count = literal_granules(&keys, &plan, id, slot as u64, mask, &mut packed);
                assert_eq!(count, want.len(), "literal {literal} slot {slot}");
                assert_eq!(count, literal_count(&plan, slot as u64));
                for (j, &g) in want.iter().enumerate() {
                    let got = &packed[j * GRANULE..(j + 1) * GRANULE];
                    if mask >> j & 1 == 1 {
                        assert_eq!(got, &atom[g * GRANULE..(g + 1) * GRANULE], "granule {j}");
                    } else {
                        assert!(got.iter().all(|&b| b == 0xaa), "granule {j} written");
                    }
                }
            }
        }
    }

    /// An atom written over another's granules takes them where its mask says, before its
    /// matches repeat its runs (so its own matches stay whole), on every level.
    #[test]
    fn an_overlay_takes_the_named_granules_before_the_matches() {
        let keys = StreamKeys::from_seed(12);
        let mut packed = [0u8; ATOM];
        for (i, b) in packed.iter_mut().enumerate() {
            *b = mix64(i as u64) as u8;
        }
        for (literal, m) in [(2048.0, None), (1000.0, Some(45u16)), (300.0, None)] {
            let plan = CompressPlan::resync(literal).with_symbols(m.and_then(LiteralSymbols::new));
            for slot in 0..64usize {
                let id = (slot as u64 + 3).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                let (mask, count) = (test_mask(slot as u64 ^ 0x77), 20 + slot);
                let overlay = Some((&packed, count, mask));
                let want = reference_atom_over(&keys, literal, m, id, slot, true, overlay);
                let mut got = [1u8; ATOM];
                let h = test_header(id);
                write_atom_over(
                    &keys,
                    &plan,
                    id,
                    slot as u64,
                    &h,
                    &mut got,
                    &mut Scratch::new(),
                    overlay,
                );
                assert!(
                    got == want,
                    "literal {literal} slot {slot}: level {:?}",
                    level()
                );
                let plain = reference_atom_with(&keys, literal, m, id, slot, true);
                assert!(got != plain, "literal {literal} slot {slot}: nothing taken");
            }
        }
    }
}
