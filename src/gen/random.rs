//! The incompressible byte source: a keyed, counter-addressed stream built from two AES rounds.
//!
//! Output block `j` (16 bytes) of the stream `id` is
//! `aesenc(aesenc((id, j) ^ K0, K1), K2)`, where the keys come from the seed. Any block can be
//! produced on its own, so any byte range of any atom can be regenerated without its neighbours.
//! Two AES rounds give full diffusion of every input byte: compressors find nothing in it.
//!
//! The x86_64 path uses AES-NI, chosen at run time; everything else (and x86 CPUs without AES-NI)
//! uses the `aes` crate's round function, which gives the same bytes (tested below).

use aes::hazmat::cipher_round;
use aes::Block;

/// The three 128-bit keys of the stream, derived from the seed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StreamKeys {
    k: [[u8; 16]; 3],
}

impl StreamKeys {
    /// Derives the keys from a seed with splitmix64.
    pub(crate) fn from_seed(seed: u64) -> Self {
        let mut state = seed ^ 0x6467_656e_2d61_6573; // "dgen-aes"
        let mut k = [[0u8; 16]; 3];
        for key in &mut k {
            key[..8].copy_from_slice(&super::mix::splitmix64(&mut state).to_le_bytes());
            key[8..].copy_from_slice(&super::mix::splitmix64(&mut state).to_le_bytes());
        }
        StreamKeys { k }
    }
}

/// The fastest implementation this CPU supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    /// The `aes` crate's round function (any CPU).
    Portable,
    /// x86_64 AES-NI, 128 bits at a time, with AVX2 for copies.
    AesNi,
    /// x86_64 VAES on 256-bit registers (two blocks per instruction), with AVX2.
    Vaes256,
}

/// The implementation level, detected once (`DGEN_FORCE_PORTABLE=1` forces the portable one).
#[inline]
pub(crate) fn level() -> Level {
    use std::sync::atomic::{AtomicU8, Ordering};
    static LEVEL: AtomicU8 = AtomicU8::new(0); // 0 = not yet detected
    match LEVEL.load(Ordering::Relaxed) {
        1 => Level::Portable,
        2 => Level::AesNi,
        3 => Level::Vaes256,
        _ => {
            let level = detect();
            LEVEL.store(level as u8 + 1, Ordering::Relaxed);
            level
        }
    }
}

fn detect() -> Level {
    if std::env::var_os("DGEN_FORCE_PORTABLE").is_some_and(|v| v != "0") {
        return Level::Portable;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let aes = std::is_x86_feature_detected!("aes") && std::is_x86_feature_detected!("avx2");
        let vaes = aes && std::is_x86_feature_detected!("vaes");
        if vaes && std::env::var_os("DGEN_NO_VAES").is_none() {
            return Level::Vaes256;
        }
        if aes {
            return Level::AesNi;
        }
    }
    Level::Portable
}

/// The reference implementation, on the `aes` crate's round function.
pub(crate) fn fill_blocks_portable(keys: &StreamKeys, id: u64, first_block: u64, out: &mut [u8]) {
    let k1 = Block::from(keys.k[1]);
    let k2 = Block::from(keys.k[2]);
    for (i, chunk) in out.chunks_exact_mut(16).enumerate() {
        let j = first_block + i as u64;
        let mut input = [0u8; 16];
        input[..8].copy_from_slice(&id.to_le_bytes());
        input[8..].copy_from_slice(&j.to_le_bytes());
        for (b, k) in input.iter_mut().zip(keys.k[0]) {
            *b ^= k;
        }
        let mut block = Block::from(input);
        cipher_round(&mut block, &k1);
        cipher_round(&mut block, &k2);
        chunk.copy_from_slice(&block);
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    //! AES-NI and VAES versions of [`super::fill_blocks_portable`]. The `fill_*` helpers are
    //! `#[inline(always)]` so that they inline into the `#[target_feature]` function that calls them
    //! (the whole atom writer), where the intrinsics are enabled.
    use super::StreamKeys;
    use std::arch::x86_64::*;

    /// The three keys in registers.
    #[derive(Clone, Copy)]
    pub(crate) struct Keys128 {
        k: [__m128i; 3],
    }

    impl Keys128 {
        /// Loads the keys.
        #[inline(always)]
        pub(crate) fn load(keys: &StreamKeys) -> Self {
            // SAFETY: unaligned 16-byte loads from three `[u8; 16]` arrays; SSE2 is part of x86_64.
            unsafe {
                Keys128 {
                    k: [
                        _mm_loadu_si128(keys.k[0].as_ptr().cast()),
                        _mm_loadu_si128(keys.k[1].as_ptr().cast()),
                        _mm_loadu_si128(keys.k[2].as_ptr().cast()),
                    ],
                }
            }
        }
    }

    /// Input block `i` is `(id, first_block + i)` in (low, high) lanes, XOR `k0`, then two rounds.
    /// The high lane wraps like `u64::wrapping_add`, exactly as the portable definition.
    ///
    /// When `copy` is given (as long as `out`), every block is stored there too.
    ///
    /// # Safety
    /// Call only from a function with the `aes` target feature enabled; `out.len() % 16 == 0`.
    #[inline(always)]
    pub(crate) unsafe fn fill_aesni(
        keys: &Keys128,
        id: u64,
        first_block: u64,
        out: &mut [u8],
        copy: Option<&mut [u8]>,
    ) {
        let [k0, k1, k2] = keys.k;
        let step = _mm_set_epi64x(1, 0);
        let mut counter = _mm_set_epi64x(first_block as i64, id as i64);
        let n = out.len() / 16;
        let ptr = out.as_mut_ptr();
        let copy_ptr = copy.map(|c| {
            assert_eq!(c.len(), out.len());
            c.as_mut_ptr()
        });
        let mut i = 0;
        while i + 4 <= n {
            let mut b = [_mm_setzero_si128(); 4];
            for slot in &mut b {
                *slot = _mm_xor_si128(counter, k0);
                counter = _mm_add_epi64(counter, step);
            }
            for slot in &mut b {
                *slot = _mm_aesenc_si128(*slot, k1);
            }
            for slot in &mut b {
                *slot = _mm_aesenc_si128(*slot, k2);
            }
            for (l, slot) in b.iter().enumerate() {
                // SAFETY: block i + l < n lies inside `out` and `copy` (same length).
                _mm_storeu_si128(ptr.add((i + l) * 16).cast(), *slot);
                if let Some(c) = copy_ptr {
                    _mm_storeu_si128(c.add((i + l) * 16).cast(), *slot);
                }
            }
            i += 4;
        }
        while i < n {
            let mut x = _mm_xor_si128(counter, k0);
            counter = _mm_add_epi64(counter, step);
            x = _mm_aesenc_si128(x, k1);
            x = _mm_aesenc_si128(x, k2);
            // SAFETY: block i < n lies inside `out` and `copy`.
            _mm_storeu_si128(ptr.add(i * 16).cast(), x);
            if let Some(c) = copy_ptr {
                _mm_storeu_si128(c.add(i * 16).cast(), x);
            }
            i += 1;
        }
    }

    /// [`fill_aesni`] two blocks per instruction on 256-bit registers; same bytes.
    ///
    /// # Safety
    /// Call only from a function with `aes,avx2,vaes` enabled; `out.len() % 16 == 0`.
    #[inline(always)]
    pub(crate) unsafe fn fill_vaes256(
        keys: &Keys128,
        id: u64,
        first_block: u64,
        out: &mut [u8],
        mut copy: Option<&mut [u8]>,
    ) {
        let n = out.len() / 16;
        let whole = n / 2 * 2;
        if let Some(c) = &copy {
            assert_eq!(c.len(), out.len());
        }
        if whole > 0 {
            let [k0, k1, k2] = keys.k.map(|k| _mm256_broadcastsi128_si256(k));
            let j = first_block as i64;
            let id = id as i64;
            let mut counter = _mm256_set_epi64x(j.wrapping_add(1), id, j, id);
            let step = _mm256_set_epi64x(2, 0, 2, 0);
            let ptr = out.as_mut_ptr();
            let copy_ptr = copy.as_mut().map(|c| c.as_mut_ptr());
            let mut i = 0;
            while i + 8 <= whole {
                let mut b = [_mm256_setzero_si256(); 4];
                for slot in &mut b {
                    *slot = _mm256_xor_si256(counter, k0);
                    counter = _mm256_add_epi64(counter, step);
                }
                for slot in &mut b {
                    *slot = _mm256_aesenc_epi128(*slot, k1);
                }
                for slot in &mut b {
                    *slot = _mm256_aesenc_epi128(*slot, k2);
                }
                for (l, slot) in b.iter().enumerate() {
                    // SAFETY: blocks i + 2l, i + 2l + 1 lie inside `out` and `copy` (same
                    // length; i + 8 <= whole <= n).
                    _mm256_storeu_si256(ptr.add((i + 2 * l) * 16).cast(), *slot);
                    if let Some(c) = copy_ptr {
                        _mm256_storeu_si256(c.add((i + 2 * l) * 16).cast(), *slot);
                    }
                }
                i += 8;
            }
            while i < whole {
                let mut x = _mm256_xor_si256(counter, k0);
                counter = _mm256_add_epi64(counter, step);
                x = _mm256_aesenc_epi128(x, k1);
                x = _mm256_aesenc_epi128(x, k2);
                // SAFETY: blocks i, i + 1 lie inside `out` and `copy` (i + 2 <= whole <= n).
                _mm256_storeu_si256(ptr.add(i * 16).cast(), x);
                if let Some(c) = copy_ptr {
                    _mm256_storeu_si256(c.add(i * 16).cast(), x);
                }
                i += 2;
            }
        }
        if whole == n {
            return;
        }
        let copy_tail = copy.map(|c| &mut c[whole * 16..]);
        fill_aesni(
            keys,
            id,
            first_block.wrapping_add(whole as u64),
            &mut out[whole * 16..],
            copy_tail,
        );
    }

    /// Writes `len` bytes (a multiple of 32) to `dst` by repeating the `period` bytes at `src`
    /// (a multiple of 32), 32 bytes per step, inline.
    ///
    /// # Safety
    /// Call only from a function with `avx` enabled; `dst` must be valid for `len` bytes, `src`
    /// for `period` bytes and aligned to 32 bytes (it is read with aligned vector loads), and
    /// they must not overlap.
    #[inline(always)]
    pub(crate) unsafe fn repeat32(dst: *mut u8, src: *const u8, period: usize, len: usize) {
        // Whole periods, then a partial one: the inner loop carries no dependency but its index
        // (a running phase that wraps at `period` costs three cycles a step).
        let mut t = 0;
        while t < len {
            let n = period.min(len - t);
            let mut i = 0;
            while i < n {
                // A volatile load keeps LLVM from turning this loop into calls to memcpy, which
                // cost more than the copy for these short lengths.
                let v = std::ptr::read_volatile(src.add(i).cast::<__m256i>());
                _mm256_storeu_si256(dst.add(t + i).cast(), v);
                i += 32;
            }
            t += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simd_and_portable_paths_agree() {
        let keys = StreamKeys::from_seed(42);
        let cases = [
            (0u64, 0u64, 4096usize),
            (7, 3, 16),
            (u64::MAX, u64::MAX - 2, 96),
            (99, 1 << 40, 4096 + 48),
        ];
        for (id, first, len) in cases {
            let mut want = vec![1u8; len];
            fill_blocks_portable(&keys, id, first, &mut want);
            #[cfg(target_arch = "x86_64")]
            for lvl in [Level::AesNi, Level::Vaes256] {
                if level() == Level::Portable
                    || (lvl == Level::Vaes256 && level() != Level::Vaes256)
                {
                    continue;
                }
                let mut got = vec![0u8; len];
                let mut copy = vec![0u8; len];
                // SAFETY: `level()` reported at least `lvl` on this CPU.
                unsafe { simd_entry(lvl, &keys, id, first, &mut got, &mut copy) };
                assert_eq!(got, want, "{lvl:?}, id {id} first {first}");
                assert_eq!(copy, want, "{lvl:?} copy, id {id} first {first}");
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "aes,avx2,vaes")]
    unsafe fn simd_entry(
        lvl: Level,
        keys: &StreamKeys,
        id: u64,
        first: u64,
        out: &mut [u8],
        copy: &mut [u8],
    ) {
        let k = x86::Keys128::load(keys);
        match lvl {
            Level::Vaes256 => x86::fill_vaes256(&k, id, first, out, Some(copy)),
            _ => x86::fill_aesni(&k, id, first, out, Some(copy)),
        }
    }

    #[test]
    fn blocks_are_addressable() {
        let keys = StreamKeys::from_seed(1);
        let mut whole = vec![0u8; 64 * 16];
        fill_blocks_portable(&keys, 5, 0, &mut whole);
        let mut part = vec![0u8; 16 * 3];
        fill_blocks_portable(&keys, 5, 10, &mut part);
        assert_eq!(&whole[160..208], &part[..]);
    }
}
