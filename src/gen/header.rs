//! The in-band header at the start of every 4 KiB atom: which content the atom belongs to (slot,
//! generation, atom in its block) and which run wrote it.
//!
//! The 16 bytes are one AES-128 block, encrypted under a key derived from the seed: incompressible
//! like the literal bytes they replace (the ratios do not move), identical in every copy of a block
//! (duplicates stay byte-exact), and readable back by a verifier that knows the seed. A verifier
//! that finds unexpected bytes decrypts the header to say what the block holds instead: an older
//! generation of itself (a lost write), another block's content (a misdirected write), another
//! stream's data (a renamed or misplaced file), or nothing that decodes (corruption). The check
//! field only makes random bytes unlikely to decode; a verifier still compares the bytes with the
//! content the header names before trusting it.
//!
//! Plaintext, a little-endian u128:
//!
//! | bits | field |
//! |---|---|
//! | 0..40 | slot (the content's slot: the rank of the unique block it started as) |
//! | 40..72 | generation (0: the content a fresh write lays down) |
//! | 72..84 | atom index within the block (a block holds at most 4096 atoms) |
//! | 84..96 | run tag (12 bits of the map's run id; 0 without a map) |
//! | 96..112 | stream tag (16 bits of the stream id's hash) |
//! | 112..128 | check: 16 bits of a keyed hash of the fields (random bytes decode with p = 2^-16) |

use super::mix::mix64;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use aes::{Aes128, Block};

/// Bytes of the header at the start of each atom.
pub const HEADER_LEN: usize = 16;
const SLOT_BITS: u32 = 40;
const GEN_BITS: u32 = 32;
const ATOM_BITS: u32 = 12;
const RUN_BITS: u32 = 12;
const STREAM_BITS: u32 = 16;
const CHECK_BITS: u32 = 16;

/// What an atom's header says about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AtomHeader {
    /// The content's slot (taken modulo 2^40).
    pub slot: u64,
    /// The content's generation.
    pub generation: u32,
    /// The atom's index within its block.
    pub atom: u16,
    /// The run tag (12 bits).
    pub run_tag: u32,
    /// The stream tag (16 bits).
    pub stream_tag: u32,
}

/// Encrypts and decrypts headers for one stream.
#[derive(Clone)]
pub(crate) struct HeaderCipher {
    aes: Aes128,
    check_salt: u64,
}

impl std::fmt::Debug for HeaderCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HeaderCipher")
    }
}

/// The 16-bit stream tag of a stream salt.
pub(crate) fn stream_tag(stream_salt: u64) -> u32 {
    (mix64(stream_salt ^ 0x0073_7474_6167) & ((1 << STREAM_BITS) - 1)) as u32
}

/// The 12-bit run tag of a run id.
pub fn run_tag(run_id: u64) -> u32 {
    if run_id == 0 {
        0
    } else {
        // Never 0 for a real run, so a map's data never reads as data written without one.
        ((mix64(run_id) & ((1 << RUN_BITS) - 1)) as u32).max(1)
    }
}

impl HeaderCipher {
    /// The cipher of the seed's streams.
    pub(crate) fn new(seed: u64) -> Self {
        let a = mix64(seed ^ 0x6865_6164_6572_6b31); // "headerk1"
        let b = mix64(a ^ 0x6b32);
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&a.to_le_bytes());
        key[8..].copy_from_slice(&b.to_le_bytes());
        HeaderCipher {
            aes: Aes128::new(&key.into()),
            check_salt: mix64(b ^ 0x0063_6865_636b),
        }
    }

    fn check(&self, fields: u128) -> u128 {
        let lo = fields as u64;
        let hi = (fields >> 64) as u64;
        let h = mix64(lo ^ mix64(hi ^ self.check_salt));
        (h & ((1 << CHECK_BITS) - 1)) as u128
    }

    /// The 16 header bytes of `h`.
    #[inline]
    pub(crate) fn encode(&self, h: AtomHeader) -> [u8; HEADER_LEN] {
        let fields = (h.slot as u128 & ((1 << SLOT_BITS) - 1))
            | (h.generation as u128) << SLOT_BITS
            | (h.atom as u128 & ((1 << ATOM_BITS) - 1)) << (SLOT_BITS + GEN_BITS)
            | (h.run_tag as u128 & ((1 << RUN_BITS) - 1)) << (SLOT_BITS + GEN_BITS + ATOM_BITS)
            | (h.stream_tag as u128 & ((1 << STREAM_BITS) - 1))
                << (SLOT_BITS + GEN_BITS + ATOM_BITS + RUN_BITS);
        let plain = fields | self.check(fields) << (128 - CHECK_BITS);
        let mut block = Block::from(plain.to_le_bytes());
        self.aes.encrypt_block(&mut block);
        block.into()
    }

    /// The header in `bytes`, or `None` when they are not a header of this stream.
    pub(crate) fn decode(&self, bytes: &[u8; HEADER_LEN]) -> Option<AtomHeader> {
        let mut block = Block::from(*bytes);
        self.aes.decrypt_block(&mut block);
        let plain = u128::from_le_bytes(block.into());
        let fields = plain & ((1 << (128 - CHECK_BITS)) - 1);
        if plain >> (128 - CHECK_BITS) != self.check(fields) {
            return None;
        }
        Some(AtomHeader {
            slot: (fields & ((1 << SLOT_BITS) - 1)) as u64,
            generation: (fields >> SLOT_BITS) as u32,
            atom: ((fields >> (SLOT_BITS + GEN_BITS)) & ((1 << ATOM_BITS) - 1)) as u16,
            run_tag: ((fields >> (SLOT_BITS + GEN_BITS + ATOM_BITS)) & ((1 << RUN_BITS) - 1))
                as u32,
            stream_tag: ((fields >> (SLOT_BITS + GEN_BITS + ATOM_BITS + RUN_BITS))
                & ((1 << STREAM_BITS) - 1)) as u32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_other_streams_and_noise() {
        let c = HeaderCipher::new(7);
        let h = AtomHeader {
            slot: (1 << 40) - 3,
            generation: u32::MAX - 1,
            atom: 4095,
            run_tag: run_tag(12345),
            stream_tag: stream_tag(99),
        };
        let bytes = c.encode(h);
        assert_eq!(c.decode(&bytes), Some(h));
        assert_eq!(HeaderCipher::new(8).decode(&bytes), None);
        let mut flipped = bytes;
        flipped[5] ^= 1;
        assert_eq!(c.decode(&flipped), None);
        // Consecutive headers share no bytes in place (they do not compress against each other).
        let next = c.encode(AtomHeader { atom: 4094, ..h });
        assert!(bytes.iter().zip(&next).filter(|(a, b)| a == b).count() < 4);
    }

    #[test]
    fn run_tags_are_never_zero_for_a_run() {
        assert_eq!(run_tag(0), 0);
        assert!((1..10_000u64).all(|r| run_tag(r) != 0));
    }
}
