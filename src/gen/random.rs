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

/// Fills `out` with blocks `first_block..` of stream `id`. `out.len()` must be a multiple of 16.
#[inline]
pub(crate) fn fill_blocks(keys: &StreamKeys, id: u64, first_block: u64, out: &mut [u8]) {
    debug_assert_eq!(out.len() % 16, 0);
    #[cfg(target_arch = "x86_64")]
    {
        if aesni_available() {
            // SAFETY: AES-NI (and SSE2, part of x86_64) was detected on this CPU just above.
            unsafe { x86::fill_blocks_aesni(keys, id, first_block, out) };
            return;
        }
    }
    fill_blocks_portable(keys, id, first_block, out);
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn aesni_available() -> bool {
    use std::sync::atomic::{AtomicU8, Ordering};
    static STATE: AtomicU8 = AtomicU8::new(0); // 0 unknown, 1 no, 2 yes
    match STATE.load(Ordering::Relaxed) {
        2 => true,
        1 => false,
        _ => {
            let yes = std::is_x86_feature_detected!("aes") && !forced_portable();
            STATE.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
            yes
        }
    }
}

/// `DGEN_FORCE_PORTABLE=1` disables the SIMD path (used to check that both paths agree).
#[cfg(target_arch = "x86_64")]
fn forced_portable() -> bool {
    std::env::var_os("DGEN_FORCE_PORTABLE").is_some_and(|v| v != "0")
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
mod x86 {
    use super::StreamKeys;
    use std::arch::x86_64::*;

    /// AES-NI version of [`super::fill_blocks_portable`], eight blocks in flight.
    ///
    /// # Safety
    /// The CPU must support AES-NI; `out.len()` must be a multiple of 16.
    #[target_feature(enable = "aes,sse2")]
    pub(super) unsafe fn fill_blocks_aesni(
        keys: &StreamKeys,
        id: u64,
        first_block: u64,
        out: &mut [u8],
    ) {
        // SAFETY (whole function): loads and stores are unaligned (`loadu`/`storeu`) and stay inside
        // `keys.k` and `out`, whose length is a multiple of 16 (caller's contract).
        let k0 = _mm_loadu_si128(keys.k[0].as_ptr().cast());
        let k1 = _mm_loadu_si128(keys.k[1].as_ptr().cast());
        let k2 = _mm_loadu_si128(keys.k[2].as_ptr().cast());
        // Input block i is (id, first_block + i) in (low, high) lanes; the high lane wraps like
        // `u64::wrapping_add`, exactly as the portable definition.
        let step = _mm_set_epi64x(1, 0);
        let mut counter = _mm_set_epi64x(first_block as i64, id as i64);
        let n = out.len() / 16;
        let ptr = out.as_mut_ptr();
        let mut i = 0;
        while i + 8 <= n {
            let mut b = [_mm_setzero_si128(); 8];
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
                _mm_storeu_si128(ptr.add((i + l) * 16).cast(), *slot);
            }
            i += 8;
        }
        while i < n {
            let mut x = _mm_xor_si128(counter, k0);
            counter = _mm_add_epi64(counter, step);
            x = _mm_aesenc_si128(x, k1);
            x = _mm_aesenc_si128(x, k2);
            _mm_storeu_si128(ptr.add(i * 16).cast(), x);
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simd_and_portable_paths_agree() {
        let keys = StreamKeys::from_seed(42);
        for (id, first, len) in [
            (0u64, 0u64, 4096usize),
            (7, 3, 16),
            (u64::MAX, 250, 96),
            (99, 1 << 40, 4096 + 48),
        ] {
            let mut a = vec![0u8; len];
            let mut b = vec![1u8; len];
            fill_blocks(&keys, id, first, &mut a);
            fill_blocks_portable(&keys, id, first, &mut b);
            assert_eq!(a, b, "id {id} first {first}");
        }
    }

    #[test]
    fn blocks_are_addressable() {
        let keys = StreamKeys::from_seed(1);
        let mut whole = vec![0u8; 64 * 16];
        fill_blocks(&keys, 5, 0, &mut whole);
        let mut part = vec![0u8; 16 * 3];
        fill_blocks(&keys, 5, 10, &mut part);
        assert_eq!(&whole[160..208], &part[..]);
    }
}
