//! The block map's compact arrays: a slot per block in two bytes (a version into a pseudo-random
//! sequence of candidate slots), a generation per slot in two bytes and a holder count per slot
//! in one, each with a small side table for the rare values that do not fit.
//!
//! Together they take `2 + 3/d` bytes per block at dedup ratio `d` (`K = N/d` slots), against
//! `5 + 8/d` for plain arrays of slots, history tags, generations and holder counts.

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use crate::error::Result;

use super::state::zeros;

/// Bytes a side-table entry is counted as (key, value and the hash table's overhead).
const SIDE_ENTRY_BYTES: u64 = 32;

/// The slot block `b` holds at generation 0 (the dedup layout of a fresh write).
#[derive(Clone)]
pub struct InitialSlots(Arc<dyn Fn(u64) -> u64 + Send + Sync>);

impl InitialSlots {
    /// Wraps `f`.
    pub fn new(f: impl Fn(u64) -> u64 + Send + Sync + 'static) -> InitialSlots {
        InitialSlots(Arc::new(f))
    }

    /// The initial slot of block `b`.
    #[inline]
    pub fn of(&self, b: u64) -> u64 {
        (self.0)(b)
    }
}

impl std::fmt::Debug for InitialSlots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InitialSlots(..)")
    }
}

/// Which slot each block holds, in two bytes per block.
///
/// Block `b` at version `v` holds `candidate(b, v)`: its initial slot at `v = 0`, else a
/// pseudo-random slot drawn from `(salt, b, v)`. A write that moves a block to a live slot steps
/// its version to the next candidate it may take, so the slot is never stored, and the slot it
/// held before is candidate `v - 1`.
///
/// A side table keeps what cannot be derived: the slot of a block that is not one of its
/// candidates (an exception: an orphaned slot taken after trims, a tiny `K` where no candidate
/// will do, a slot a journal of an older dgen chose, a map file of the older layout), and the
/// slot a block held before when that is not candidate `v - 1` (the move skipped a candidate,
/// came from an exception, or wrapped the version from 65,535 to 1). A block leaves the table
/// at its next plain move, so it holds about `4/K` of the blocks that moved.
#[derive(Clone, Debug)]
pub struct Placement {
    version: Vec<u16>,
    side: HashMap<u64, Side>,
    initial: InitialSlots,
    salt: u64,
    slots: u64,
}

/// A block's entry in the side table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Side {
    /// Its slot, when that is not its candidate (an exception).
    pub slot: Option<u64>,
    /// The slot it held before (`None`: unknown).
    pub previous: Option<u64>,
}

/// What a block held before its current slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Previous {
    /// It never moved since the map was made (it held its initial slot, maybe at older
    /// generations).
    Never,
    /// It held this slot.
    Slot(u64),
    /// Not known (a map file of the older layout).
    Unknown,
}

/// How far a write looks along a block's candidates for one it may take (and a replay for the
/// one a write took) before it takes a slot as an exception.
pub const CANDIDATE_TRIES: u16 = 8;

/// How many slots a block held before its current one a write avoids (see
/// [`Placement::recent`]): a block never comes back to content it held within its last
/// `RECENT + 1` writes while that content is still live.
pub const RECENT: usize = 3;

impl Placement {
    /// Every block at version 0 (its initial slot), candidates salted by `salt` (the run id).
    pub fn new(blocks: u64, slots: u64, initial: InitialSlots, salt: u64) -> Result<Placement> {
        Ok(Placement {
            version: zeros("map blocks", blocks)?,
            side: HashMap::default(),
            initial,
            salt,
            slots,
        })
    }

    /// The `v`-th candidate slot of block `b`.
    #[inline]
    pub fn candidate(&self, b: u64, v: u16) -> u64 {
        if v == 0 {
            return self.initial.of(b);
        }
        let z = crate::gen::mix::mix64(
            self.salt ^ b.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (u64::from(v) << 48),
        );
        ((z as u128 * self.slots as u128) >> 64) as u64
    }

    /// The version after `v` (1 after 65,535: version 0 is the initial slot, never drawn again).
    #[inline]
    pub fn next_version(v: u16) -> u16 {
        v.checked_add(1).unwrap_or(1)
    }

    /// The slot block `b` holds.
    #[inline]
    pub fn slot_of(&self, b: u64) -> u64 {
        if !self.side.is_empty() {
            if let Some(s) = self.side.get(&b).and_then(|e| e.slot) {
                return s;
            }
        }
        self.candidate(b, self.version[b as usize])
    }

    /// Block `b`'s version.
    #[inline]
    pub fn version(&self, b: u64) -> u16 {
        self.version[b as usize]
    }

    /// What block `b` held before it moved to its current slot.
    pub fn previous(&self, b: u64) -> Previous {
        match self.side.get(&b) {
            Some(Side {
                previous: Some(p), ..
            }) => Previous::Slot(*p),
            Some(Side { previous: None, .. }) => Previous::Unknown,
            None => match self.version[b as usize] {
                0 => Previous::Never,
                v => Previous::Slot(self.candidate(b, v - 1)),
            },
        }
    }

    /// Up to [`RECENT`] slots block `b` held before its current one, the latest first: the slot
    /// before it ([`Placement::previous`]), then the candidates before that. Past a move that
    /// skipped a candidate these are candidates the block may not have held; a write that
    /// avoids them all avoids more than it must, never less.
    pub fn recent(&self, b: u64) -> [Option<u64>; RECENT] {
        let mut out = [None; RECENT];
        let v = self.version[b as usize];
        out[0] = match self.previous(b) {
            Previous::Slot(p) => Some(p),
            Previous::Never | Previous::Unknown => None,
        };
        for (k, slot) in out.iter_mut().enumerate().skip(1) {
            // Candidates v - 1 - k ... while versions last (0 is the initial slot).
            if let Some(earlier) = v.checked_sub(1 + k as u16) {
                *slot = Some(self.candidate(b, earlier));
            }
        }
        out
    }

    /// Block `b` moves from `old` (the slot it holds) to `slot`: its next candidate equal to
    /// `slot` among the next
    /// [`CANDIDATE_TRIES`] (the first such, as a write draws it), else an exception; the slot
    /// it held goes to the side table unless it is candidate `v - 1` of the new version.
    pub fn set_slot(&mut self, b: u64, old: u64, slot: u64) {
        let plain = self.side.get(&b).is_none_or(|e| e.slot.is_none());
        let start = self.version[b as usize];
        let mut v = start;
        for skipped in 0..CANDIDATE_TRIES {
            v = Placement::next_version(v);
            if self.candidate(b, v) == slot {
                self.version[b as usize] = v;
                if plain && skipped == 0 && v == start + 1 {
                    self.side.remove(&b);
                } else {
                    self.side.insert(
                        b,
                        Side {
                            slot: None,
                            previous: Some(old),
                        },
                    );
                }
                return;
            }
        }
        self.side.insert(
            b,
            Side {
                slot: Some(slot),
                previous: Some(old),
            },
        );
    }

    /// Block `b` holds `slot`, read from a map file of the older layout (a slot per block): at
    /// version 0 when it is its initial slot, else an exception; what it held before is unknown.
    pub fn set_loaded_slot(&mut self, b: u64, slot: u64) {
        self.version[b as usize] = 0;
        if self.initial.of(b) == slot {
            self.side.remove(&b);
        } else {
            self.side.insert(
                b,
                Side {
                    slot: Some(slot),
                    previous: None,
                },
            );
        }
    }

    /// The versions, one per block.
    pub fn versions(&self) -> &[u16] {
        &self.version
    }

    /// The versions, for loading a map file.
    pub fn versions_mut(&mut self) -> &mut [u16] {
        &mut self.version
    }

    /// The side table, sorted by block.
    pub fn side_entries(&self) -> Vec<(u64, Side)> {
        let mut v: Vec<(u64, Side)> = self.side.iter().map(|(&b, &e)| (b, e)).collect();
        v.sort_unstable_by_key(|&(b, _)| b);
        v
    }

    /// Sets a side-table entry (loading a map file).
    pub fn insert_side(&mut self, b: u64, entry: Side) {
        self.side.insert(b, entry);
    }

    /// Bytes in memory.
    pub fn memory_bytes(&self) -> u64 {
        2 * self.version.len() as u64 + SIDE_ENTRY_BYTES * self.side.len() as u64
    }
}

/// A `u32` generation per slot, kept as its low 16 bits with the high ones in a side table
/// (slots rewritten in place more than 65,535 times).
#[derive(Clone, Debug)]
pub struct Generations {
    low: Vec<u16>,
    high: HashMap<u64, u16>,
}

impl Generations {
    /// `slots` zeros; an error naming the map, not an abort, without the memory.
    pub fn zeros(slots: u64) -> Result<Generations> {
        Ok(Generations {
            low: zeros("map slots", slots)?,
            high: HashMap::default(),
        })
    }

    /// Slot `s`'s generation.
    #[inline]
    pub fn get(&self, s: u64) -> u32 {
        let high = if self.high.is_empty() {
            0
        } else {
            self.high.get(&s).copied().unwrap_or(0)
        };
        (u32::from(high) << 16) | u32::from(self.low[s as usize])
    }

    /// Sets slot `s`'s generation.
    #[inline]
    pub fn set(&mut self, s: u64, g: u32) {
        self.low[s as usize] = g as u16;
        let high = (g >> 16) as u16;
        if high != 0 {
            self.high.insert(s, high);
        } else if !self.high.is_empty() {
            self.high.remove(&s);
        }
    }

    /// Number of slots.
    pub fn len(&self) -> u64 {
        self.low.len() as u64
    }

    /// Bytes in memory.
    pub fn memory_bytes(&self) -> u64 {
        2 * self.low.len() as u64 + SIDE_ENTRY_BYTES * self.high.len() as u64
    }
}

impl PartialEq for Generations {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && (0..self.len()).all(|s| self.get(s) == other.get(s))
    }
}

/// A holder count per slot in one byte, with counts of 255 and more in a side table.
#[derive(Clone, Debug)]
pub struct Holders {
    small: Vec<u8>,
    large: HashMap<u64, u64>,
}

impl Holders {
    /// `slots` zeros; an error naming the map, not an abort, without the memory.
    pub fn zeros(slots: u64) -> Result<Holders> {
        Ok(Holders {
            small: zeros("map slots", slots)?,
            large: HashMap::default(),
        })
    }

    /// Holders of slot `s`.
    #[inline]
    pub fn get(&self, s: u64) -> u64 {
        match self.small[s as usize] {
            u8::MAX => self.large[&s],
            n => u64::from(n),
        }
    }

    /// Sets the holders of slot `s`.
    #[inline]
    pub fn set(&mut self, s: u64, n: u64) {
        let was_large = self.small[s as usize] == u8::MAX;
        if n >= u64::from(u8::MAX) {
            self.small[s as usize] = u8::MAX;
            self.large.insert(s, n);
        } else {
            self.small[s as usize] = n as u8;
            if was_large {
                self.large.remove(&s);
            }
        }
    }

    /// Bytes in memory.
    pub fn memory_bytes(&self) -> u64 {
        self.small.len() as u64 + SIDE_ENTRY_BYTES * self.large.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_values_go_to_the_side_tables() {
        let mut g = Generations::zeros(4).unwrap();
        g.set(1, 70_000);
        g.set(2, 65_535);
        assert_eq!((g.get(0), g.get(1), g.get(2)), (0, 70_000, 65_535));
        g.set(1, 3);
        assert_eq!(g.get(1), 3);
        assert!(g.high.is_empty());
        let mut h = Holders::zeros(3).unwrap();
        h.set(0, 300);
        h.set(1, 254);
        assert_eq!((h.get(0), h.get(1)), (300, 254));
        h.set(0, 12);
        assert_eq!(h.get(0), 12);
        assert!(h.large.is_empty());
    }

    #[test]
    fn a_block_finds_its_candidate_again_or_is_an_exception() {
        let mut p = Placement::new(10, 1000, InitialSlots::new(|b| b), 99).unwrap();
        assert_eq!(p.slot_of(3), 3);
        assert_eq!(p.previous(3), Previous::Never);
        let c1 = p.candidate(3, 1);
        p.set_slot(3, p.slot_of(3), c1);
        assert_eq!(p.previous(3), Previous::Slot(3));
        assert!(p.side_entries().is_empty());
        // A move that skips a candidate keeps where the block was in the side table.
        let c3 = p.candidate(3, 3);
        assert!(p.candidate(3, 2) != c3);
        p.set_slot(3, p.slot_of(3), c3);
        assert_eq!((p.version(3), p.slot_of(3)), (3, c3));
        assert_eq!(p.previous(3), Previous::Slot(c1));
        // A slot that is none of the next candidates: an exception.
        let other = (0..1000)
            .find(|&s| (4..=11).all(|v| p.candidate(3, v) != s))
            .unwrap();
        p.set_slot(3, p.slot_of(3), other);
        assert_eq!(p.slot_of(3), other);
        assert_eq!(p.previous(3), Previous::Slot(c3));
        // Moving on from an exception: a candidate again, with the exception as its previous.
        let next = p.candidate(3, 4);
        p.set_slot(3, p.slot_of(3), next);
        assert_eq!((p.slot_of(3), p.previous(3)), (next, Previous::Slot(other)));
        // A plain move clears the side entry.
        let after = p.candidate(3, 5);
        p.set_slot(3, p.slot_of(3), after);
        assert_eq!((p.slot_of(3), p.previous(3)), (after, Previous::Slot(next)));
        assert!(p.side_entries().is_empty());
        // Older map files: the slot, nothing known before it.
        p.set_loaded_slot(4, 77);
        assert_eq!((p.slot_of(4), p.previous(4)), (77, Previous::Unknown));
        p.set_loaded_slot(5, 5);
        assert_eq!((p.slot_of(5), p.previous(5)), (5, Previous::Never));
        assert_eq!(Placement::next_version(u16::MAX), 1);
    }
}
