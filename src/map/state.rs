//! The in-memory block map: which slot each block holds, each slot's generation and holder count,
//! and the write rule that keeps the number of distinct live contents at exactly `K`.

use crate::error::{Error, Result};
use crate::params::GenParams;

use super::compact::{Generations, Holders, InitialSlots, Placement, Previous, CANDIDATE_TRIES};

/// The content a block holds: slot `slot` at generation `generation`. Its bytes are a pure
/// function of `(seed, stream, slot, generation)`, so two blocks with equal `Content` are
/// byte-identical and two different `Content`s are different bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Content {
    /// The content slot (the rank of a unique block of the initial layout).
    pub slot: u64,
    /// How many times the slot has been rewritten in place (0: the initial layout's content).
    pub generation: u32,
}

impl Content {
    /// What a trimmed (discarded) block holds: no slot's content. It reads as zeros on a device
    /// that returns zeros after a discard (see [`BlockMap::trim`]).
    pub const TRIMMED: Content = Content {
        slot: u64::MAX,
        generation: 0,
    };

    /// Whether this is [`Content::TRIMMED`].
    #[inline]
    pub fn is_trimmed(&self) -> bool {
        self.slot == u64::MAX
    }
}

/// One write or trim: block `block` goes from `old` to `new` (always `new != old`; either may be
/// [`Content::TRIMMED`], not both).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Transition {
    /// The tracked block (dedup unit index) written.
    pub block: u64,
    /// What the block held before the write.
    pub old: Content,
    /// What the write puts there.
    pub new: Content,
}

/// What a map belongs to: the stream's parameters, the target's size and the run that made it.
#[derive(Clone, Debug, PartialEq)]
pub struct MapIdentity {
    /// The generator parameters (seed, stream id, ratios, dedup unit, codec).
    pub params: GenParams,
    /// Size of the target in bytes.
    pub size: u64,
    /// Random per map (see [`new_run_id`]), recorded with the seed: a previous run's map or data
    /// never passes as this run's.
    pub run_id: u64,
}

/// Draws a random run id from the OS (never 0, which the file format does not reserve but which
/// would look like an uninitialised field).
pub fn new_run_id() -> u64 {
    crate::params::random_seed().max(1)
}

/// The error for a map too large for this machine's memory.
pub(crate) fn too_big(what: &'static str, len: u64, width: u64) -> Error {
    Error::invalid(
        what,
        format!(
            "{len} entries of {width} bytes ({} bytes) cannot be allocated for the block map; \
             use a larger dedup unit (tracking unit) or a smaller target",
            len.saturating_mul(width)
        ),
    )
}

/// `len` zeros, or an error naming `what` when the memory cannot be had (never an abort).
pub(crate) fn zeros<T: Copy + Default>(what: &'static str, len: u64) -> Result<Vec<T>> {
    let width = std::mem::size_of::<T>() as u64;
    let n = usize::try_from(len).map_err(|_| too_big(what, len, width))?;
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| too_big(what, len, width))?;
    v.resize(n, T::default());
    Ok(v)
}

/// Which content every tracked block holds now.
///
/// `N` blocks share `K` slots; every slot always has at least one holder and all holders of a slot
/// hold its current generation, so exactly `K` distinct contents are live at every moment (the
/// dedup ratio on the target stays `N / K` after every write). See [`BlockMap::write`].
///
/// Memory (`super::compact`): a two-byte version per block that says which slot it holds (none
/// when `K == N`, where block `b` always holds slot `b`), a two-byte generation and a one-byte
/// holder count per slot (no holder counts when `K == N`), plus side tables for the rare values
/// that do not fit: `2 + 3/d` bytes per block, 2 when `K == N`. See [`BlockMap::bytes_per_block`].
#[derive(Clone, Debug)]
pub struct BlockMap {
    identity: MapIdentity,
    blocks: u64,
    slots: u64,
    /// Which slot each block holds; `None` when `K == N` (block `b` holds slot `b` forever).
    place: Option<Placement>,
    /// `G[s]`.
    generation: Generations,
    /// Holders of each slot; `None` when `K == N` (1, or 0 when block `s` is trimmed).
    holders: Option<Holders>,
    /// One bit per block: the block is trimmed (it holds no slot's content; its slot is the one
    /// it held last). `None` until the first trim.
    trimmed: Option<Vec<u64>>,
    /// Slots that may have no holder left (their last holder was trimmed), checked when taken:
    /// a write takes one of these before it makes a duplicate, so the number of distinct live
    /// contents climbs back to `K`. Rebuilt on load. Only kept when `K < N`.
    orphans: Vec<u64>,
}

impl BlockMap {
    /// A map of `blocks` tracked blocks over `slots` content slots where block `b` starts at
    /// `initial_slot(b)`, generation 0.
    ///
    /// Refused (one-line error naming the argument): `blocks == 0`; `slots == 0` or
    /// `slots > blocks`; `slots == 1` with `blocks > 1` (every write must change a block's
    /// content, and with one distinct content allowed there is nothing to change it to: use a
    /// lower dedup ratio or fewer blocks); an `initial_slot` out of range; a slot nobody holds.
    pub fn new(
        identity: MapIdentity,
        blocks: u64,
        slots: u64,
        initial_slot: impl Fn(u64) -> u64 + Send + Sync + 'static,
    ) -> Result<Self> {
        if blocks == 0 {
            return Err(Error::invalid(
                "map blocks",
                "0: a block map needs at least one tracked block",
            ));
        }
        if slots == 0 || slots > blocks {
            return Err(Error::invalid(
                "map slots",
                format!("{slots} must be from 1 to the number of blocks ({blocks})"),
            ));
        }
        if slots == 1 && blocks > 1 {
            return Err(Error::invalid(
                "map slots",
                format!(
                    "1 content slot for {blocks} blocks: every overwrite must change a block's \
                     content while keeping one distinct content, which is impossible; use a \
                     dedup ratio of at most {}",
                    blocks as f64 / 2.0
                ),
            ));
        }
        let initial = InitialSlots::new(initial_slot);
        let mut map = BlockMap::empty(identity, blocks, slots, initial.clone())?;
        if let Some(holders) = &mut map.holders {
            for b in 0..blocks {
                let s = initial.of(b);
                if s >= slots {
                    return Err(Error::invalid(
                        "map initial slot",
                        format!("block {b} starts at slot {s}, not below the {slots} slots"),
                    ));
                }
                holders.set(s, holders.get(s) + 1);
            }
        } else {
            // K == N: every slot held means the layout is a bijection, and block b holds slot b
            // (the arrays that would say otherwise are not kept).
            for b in 0..blocks {
                let s = initial.of(b);
                if s != b {
                    return Err(Error::invalid(
                        "map initial slot",
                        format!(
                            "block {b} starts at slot {s}; with as many slots as blocks block b \
                             must start at slot b"
                        ),
                    ));
                }
            }
        }
        map.check_every_slot_held()?;
        Ok(map)
    }

    /// A fresh map of `blocks` tracked blocks in the dedup layout of `identity`'s parameters:
    /// block `b` holds, at generation 0, the slot a fresh write gives it. This is the layout a
    /// map file is read back in (the file does not store it).
    pub fn in_layout(identity: MapIdentity, blocks: u64) -> Result<Self> {
        let generator = crate::gen::Generator::new(identity.params.clone())?;
        let slots = generator.slots_for(blocks);
        BlockMap::new(identity, blocks, slots, move |b| {
            generator.initial_content(b).slot
        })
    }

    /// A map with every block at its initial slot (`initial`), generation 0, and no holders
    /// counted (filled in by the caller).
    pub(crate) fn empty(
        identity: MapIdentity,
        blocks: u64,
        slots: u64,
        initial: InitialSlots,
    ) -> Result<Self> {
        let (place, holders) = if slots == blocks {
            (None, None)
        } else {
            (
                Some(Placement::new(blocks, slots, initial, identity.run_id)?),
                Some(Holders::zeros(slots)?),
            )
        };
        Ok(BlockMap {
            identity,
            blocks,
            slots,
            place,
            generation: Generations::zeros(slots)?,
            holders,
            trimmed: None,
            orphans: Vec::new(),
        })
    }

    /// Fails when a slot has no holder (a broken layout or map file).
    pub(crate) fn check_every_slot_held(&self) -> Result<()> {
        if let Some(holders) = &self.holders {
            if let Some(s) = (0..self.slots).find(|&s| holders.get(s) == 0) {
                return Err(Error::invalid(
                    "map initial slot",
                    format!(
                        "slot {s} of {} has no holder: every slot must start with at least one",
                        self.slots
                    ),
                ));
            }
        }
        Ok(())
    }

    /// What this map belongs to.
    pub fn identity(&self) -> &MapIdentity {
        &self.identity
    }

    /// Number of tracked blocks `N`.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    /// Number of content slots `K` (distinct live contents, at every moment).
    pub fn slots(&self) -> u64 {
        self.slots
    }

    /// The slot block `block` holds.
    #[inline]
    pub fn slot_of(&self, block: u64) -> u64 {
        match &self.place {
            Some(p) => p.slot_of(block),
            None => {
                assert!(block < self.blocks, "block {block} out of range");
                block
            }
        }
    }

    /// The current generation of slot `slot`.
    #[inline]
    pub fn generation(&self, slot: u64) -> u32 {
        self.generation.get(slot)
    }

    /// Whether block `block` is trimmed (see [`BlockMap::trim`]).
    #[inline]
    pub fn is_trimmed(&self, block: u64) -> bool {
        self.trimmed
            .as_ref()
            .is_some_and(|t| t[(block / 64) as usize] & (1 << (block % 64)) != 0)
    }

    /// Whether block `block` held `slot` before it moved to the slot it holds now (for a trimmed
    /// block: before its trim); `Some(false)` for a block that never moved since the map was
    /// made. `None` when the map cannot say: no dedup (a block only ever holds its own slot), or
    /// a block whose slot a map file of the older layout recorded without what came before.
    pub fn held_before(&self, block: u64, slot: u64) -> Option<bool> {
        let place = self.place.as_ref()?;
        if self.is_trimmed(block) {
            return Some(place.slot_of(block) == slot);
        }
        match place.previous(block) {
            Previous::Never => Some(false),
            Previous::Slot(p) => Some(p == slot),
            Previous::Unknown => None,
        }
    }

    /// The placement of blocks in slots (`None` when `K == N`).
    pub(crate) fn placement(&self) -> Option<&Placement> {
        self.place.as_ref()
    }

    /// The placement, for loading a map file.
    pub(crate) fn placement_mut(&mut self) -> Option<&mut Placement> {
        self.place.as_mut()
    }

    /// Trimmed blocks (a count over the bitset).
    pub fn trimmed_blocks(&self) -> u64 {
        self.trimmed
            .as_ref()
            .map_or(0, |t| t.iter().map(|w| w.count_ones() as u64).sum())
    }

    fn set_trimmed(&mut self, block: u64, on: bool) {
        if !on && self.trimmed.is_none() {
            return;
        }
        let words = self.blocks.div_ceil(64) as usize;
        let t = self.trimmed.get_or_insert_with(|| vec![0; words]);
        let w = &mut t[(block / 64) as usize];
        if on {
            *w |= 1 << (block % 64);
        } else {
            *w &= !(1 << (block % 64));
        }
    }

    /// The trimmed-block bitset (64 blocks per word), when any block was ever trimmed.
    pub(crate) fn trimmed_words(&self) -> Option<&[u64]> {
        self.trimmed.as_deref()
    }

    /// Sets the trimmed-block bitset (after loading a file; before [`BlockMap::rebuild_holders`]).
    pub(crate) fn set_trimmed_words(&mut self, words: Vec<u64>) {
        self.trimmed = Some(words);
    }

    /// The content block `block` is expected to hold now ([`Content::TRIMMED`] for a trimmed
    /// block). Panics when `block >= blocks()`.
    #[inline]
    pub fn expected(&self, block: u64) -> Content {
        if self.is_trimmed(block) {
            return Content::TRIMMED;
        }
        let slot = self.slot_of(block);
        Content {
            slot,
            generation: self.generation(slot),
        }
    }

    /// How many blocks hold slot `slot` now (at least 1 unless trims took its last holder).
    #[inline]
    pub fn holders(&self, slot: u64) -> u64 {
        match &self.holders {
            Some(h) => h.get(slot),
            None => {
                assert!(slot < self.slots, "slot {slot} out of range");
                u64::from(!self.is_trimmed(slot))
            }
        }
    }

    /// Takes a slot with no holder (left by trims), if there is one.
    fn take_orphan(&mut self) -> Option<u64> {
        while let Some(s) = self.orphans.pop() {
            if self.holders(s) == 0 {
                return Some(s);
            }
        }
        None
    }

    /// The next generation of `slot` (new content), or the error when it would wrap.
    fn next_generation(&self, block: u64, slot: u64) -> Result<u32> {
        self.generation(slot).checked_add(1).ok_or_else(|| {
            Error::invalid(
                "map block",
                format!(
                    "block {block}: slot {slot} has been rewritten {} times, its generation \
                     cannot advance without repeating old content; start a new run",
                    u32::MAX
                ),
            )
        })
    }

    /// Trims (discards) block `block`: it holds no content from now on and a verify expects
    /// zeros there (or skips it). Returns the transition, or `None` when the block is trimmed
    /// already. When the block was its slot's last holder, the slot's content is no longer live
    /// anywhere (`K` distinct contents become `K - 1` until a write takes the slot again: the
    /// next write that would make a duplicate, or a write of this block, gives it new content).
    pub fn trim(&mut self, block: u64) -> Result<Option<Transition>> {
        if block >= self.blocks {
            return Err(Error::invalid(
                "map block",
                format!("{block} is not below the {} tracked blocks", self.blocks),
            ));
        }
        if self.is_trimmed(block) {
            return Ok(None);
        }
        if self.trimmed.is_none() {
            // The bitset, made on the first trim: an error, not an abort, without the memory.
            self.trimmed = Some(zeros::<u64>("map blocks", self.blocks.div_ceil(64))?);
        }
        let t = Transition {
            block,
            old: self.expected(block),
            new: Content::TRIMMED,
        };
        self.apply_unchecked(&t);
        Ok(Some(t))
    }

    /// Applies one write to block `block` and returns what it changes.
    ///
    /// If the block's slot `s` has other holders, the block moves to another slot `s'` and takes
    /// that slot's current generation: content already live elsewhere, so the array sees a
    /// duplicate. `s'` is the block's next candidate (see [`Placement`]: pseudo-random, uniform
    /// over the `K` slots) that is neither `s` nor the slot it held before `s`; `choice` (a
    /// pseudo-random u64 from the caller) draws it uniformly only when none of the next
    /// [`CANDIDATE_TRIES`] candidates will do (tiny `K`). If the block is `s`'s only holder,
    /// `G[s]` advances: new unique content. Either way the number of distinct live contents
    /// stays `K` and the new content differs from the old. O(1).
    ///
    /// Errors: `block` out of range; a slot rewritten in place 2^32 - 1 times (its generation
    /// would wrap and repeat old content).
    pub fn write(&mut self, block: u64, choice: u64) -> Result<Transition> {
        if block >= self.blocks {
            return Err(Error::invalid(
                "map block",
                format!("{block} is not below the {} tracked blocks", self.blocks),
            ));
        }
        let old = self.expected(block);
        // The slot the block holds, or for a trimmed block the one it held last.
        let s = if old.is_trimmed() {
            self.slot_of(block)
        } else {
            old.slot
        };
        let others = self.holders(s) - u64::from(!old.is_trimmed());
        let new = if others == 0 {
            // The block is (or was, before its trim) its slot's only holder: new content.
            Content {
                slot: s,
                generation: self.next_generation(block, s)?,
            }
        } else if let Some(o) = self.take_orphan() {
            // A slot whose content trims took off the target: new content there.
            Content {
                slot: o,
                generation: self.next_generation(block, o)?,
            }
        } else {
            // Every slot is held: a duplicate of live content, away from the block's slot (for a
            // trimmed block: the one it held before its trim) and the one before it. K >= 2
            // here: K == 1 implies N == 1, one holder.
            let target = self.draw_target(block, choice, s);
            Content {
                slot: target,
                generation: self.generation(target),
            }
        };
        let t = Transition { block, old, new };
        self.apply_unchecked(&t);
        Ok(t)
    }

    /// The slot a write that makes a duplicate moves block `block` (at slot `current`) to.
    ///
    /// It avoids `current` and the `RECENT` slots the block held before it, so a block never
    /// goes back to content it held within its last four writes while that slot has not
    /// advanced (A -> B -> A, A -> B -> C -> A, ...): that content could be the one lost writes
    /// leave behind. It takes the first of the block's next [`CANDIDATE_TRIES`] candidates that
    /// avoids them; when none does (only with a handful of slots), a uniform draw from `choice`
    /// and the next slot that avoids them, else any slot but `current` (with `K = 2` the one
    /// other slot). Longer cycles are not tracked: see the README's overwrite section for how
    /// rare they are.
    fn draw_target(&self, block: u64, choice: u64, current: u64) -> u64 {
        let place = self
            .place
            .as_ref()
            .expect("a map with K < N has a placement");
        let recent = place.recent(block);
        let avoids = |t: u64| t != current && !recent.contains(&Some(t));
        let mut v = place.version(block);
        for _ in 0..CANDIDATE_TRIES {
            v = Placement::next_version(v);
            let t = place.candidate(block, v);
            if avoids(t) {
                return t;
            }
        }
        let r = ((choice as u128 * self.slots as u128) >> 64) as u64;
        let probe = || (0..self.slots.min(1024)).map(|i| (r + i) % self.slots);
        // With a handful of slots, avoid what can be avoided: all of them, else the slot held
        // just before, else only `current`.
        probe()
            .find(|&t| avoids(t))
            .or_else(|| probe().find(|&t| t != current && Some(t) != recent[0]))
            .or_else(|| probe().find(|&t| t != current))
            .expect("K >= 2 slots")
    }

    /// Applies a transition read back from a journal, after checking that it is the one the
    /// rule allows from the current state (`old` must be the block's content now, and `new` either
    /// another slot's current generation with `old`'s slot keeping a holder, or `old`'s slot one
    /// generation on when the block is its only holder). Returns the reason when it is not.
    pub(crate) fn apply_checked(&mut self, block: u64, new: Content) -> Result<Transition, String> {
        if block >= self.blocks {
            return Err(format!("block {block} is not below {}", self.blocks));
        }
        if new.slot >= self.slots && !new.is_trimmed() {
            return Err(format!("slot {} is not below {}", new.slot, self.slots));
        }
        let old = self.expected(block);
        let ok = if new.is_trimmed() {
            !old.is_trimmed()
        } else {
            // Holders of the new slot once the block has left its old one.
            let left =
                self.holders(new.slot) - u64::from(!old.is_trimmed() && new.slot == old.slot);
            let fresh = self.generation(new.slot).checked_add(1) == Some(new.generation);
            let keeps_old = old.is_trimmed() || new.slot == old.slot || self.holders(old.slot) > 1;
            keeps_old
                && if left == 0 {
                    fresh
                } else {
                    new.slot != old.slot && new.generation == self.generation(new.slot)
                }
        };
        if !ok {
            let show = |c: Content| {
                if c.is_trimmed() {
                    "trimmed".to_string()
                } else {
                    format!("slot {} generation {}", c.slot, c.generation)
                }
            };
            return Err(format!(
                "block {block} cannot go from {} to {}",
                show(old),
                show(new)
            ));
        }
        let t = Transition { block, old, new };
        self.apply_unchecked(&t);
        Ok(t)
    }

    fn apply_unchecked(&mut self, t: &Transition) {
        let b = t.block;
        // Leave the old content.
        if t.old.is_trimmed() {
            self.set_trimmed(b, false);
        } else if let Some(holders) = self.holders.as_mut() {
            holders.set(t.old.slot, holders.get(t.old.slot) - 1);
        }
        // Take the new one.
        if t.new.is_trimmed() {
            self.set_trimmed(b, true);
            if self.holders.is_some() && self.holders(t.old.slot) == 0 {
                self.orphans.push(t.old.slot);
            }
        } else {
            if let (Some(place), Some(holders)) = (self.place.as_mut(), self.holders.as_mut()) {
                // The slot the block held last (its own, or before its trim) stays put; a move
                // finds its candidate again (the one the write drew) or becomes an exception.
                let current = if t.old.is_trimmed() {
                    place.slot_of(b)
                } else {
                    t.old.slot
                };
                if t.new.slot != current {
                    place.set_slot(b, current, t.new.slot);
                }
                holders.set(t.new.slot, holders.get(t.new.slot) + 1);
            }
            self.generation.set(t.new.slot, t.new.generation);
        }
    }

    /// Memory this map takes, in bytes per tracked block (2 for `K == N`; `2 + 3 / d` otherwise,
    /// with `d = N / K`: a version per block, a generation and a holder count per slot; plus the
    /// side tables' entries, see `super::compact`).
    pub fn bytes_per_block(&self) -> f64 {
        self.memory_bytes() as f64 / self.blocks as f64
    }

    /// Memory this map takes in bytes (its arrays and side tables; the struct itself is not
    /// counted).
    pub fn memory_bytes(&self) -> u64 {
        let place = self.place.as_ref().map_or(0, Placement::memory_bytes);
        let holders = self.holders.as_ref().map_or(0, Holders::memory_bytes);
        place + holders + self.generation.memory_bytes()
    }

    /// Sets slot `slot`'s generation (loading a map file).
    pub(crate) fn set_generation(&mut self, slot: u64, generation: u32) {
        self.generation.set(slot, generation);
    }

    /// Recounts the holders from the placement (after loading a file); fails on a slot out of
    /// range or a slot with no holder.
    pub(crate) fn rebuild_holders(&mut self) -> Result<()> {
        use rayon::prelude::*;
        /// Blocks whose slots one task computes.
        const CHUNK: u64 = 1 << 16;
        let (Some(place), Some(holders)) = (&self.place, &mut self.holders) else {
            return Ok(());
        };
        // Computing a slot is the cost (a block at version 0 takes the fresh layout's): done in
        // parallel, a batch of chunks at a time; counting is sequential.
        let batch = CHUNK * 4 * rayon::current_num_threads() as u64;
        let mut start = 0;
        while start < self.blocks {
            let end = (start + batch).min(self.blocks);
            let slots: Vec<Vec<u64>> = (start..end)
                .step_by(CHUNK as usize)
                .collect::<Vec<u64>>()
                .into_par_iter()
                .map(|from| {
                    (from..(from + CHUNK).min(end))
                        .map(|b| place.slot_of(b))
                        .collect()
                })
                .collect();
            for (b, s) in (start..end).zip(slots.into_iter().flatten()) {
                if s >= self.slots {
                    return Err(Error::invalid(
                        "map file",
                        format!(
                            "block {b} holds slot {s}, not below the {} slots",
                            self.slots
                        ),
                    ));
                }
                let trimmed = self
                    .trimmed
                    .as_ref()
                    .is_some_and(|t| t[(b / 64) as usize] & (1 << (b % 64)) != 0);
                if !trimmed {
                    holders.set(s, holders.get(s) + 1);
                }
            }
            start = end;
        }
        // A slot may lose its last holder only to a trim.
        let orphans: Vec<u64> = (0..self.slots).filter(|&s| holders.get(s) == 0).collect();
        let trimmed = self.trimmed_blocks();
        if orphans.len() as u64 > trimmed {
            return Err(Error::invalid(
                "map file",
                format!(
                    "slot {} has no holder (the file is damaged)",
                    orphans[trimmed as usize]
                ),
            ));
        }
        // Taken from the end: the lowest slot first.
        self.orphans = orphans.into_iter().rev().collect();
        Ok(())
    }
}

impl PartialEq for BlockMap {
    /// Same identity, shape, and content of every block and slot.
    fn eq(&self, other: &Self) -> bool {
        self.identity == other.identity
            && self.blocks == other.blocks
            && self.slots == other.slots
            && self.generation == other.generation
            && (0..self.blocks).all(|b| self.expected(b) == other.expected(b))
    }
}

#[cfg(test)]
mod tests {
    use super::super::compact::RECENT;
    use super::*;

    fn identity() -> MapIdentity {
        MapIdentity {
            params: GenParams::new(1),
            size: 1 << 20,
            run_id: 7,
        }
    }

    #[test]
    fn refuses_bad_shapes() {
        let e = |r: Result<BlockMap>| r.unwrap_err().to_string();
        assert!(e(BlockMap::new(identity(), 0, 0, |b| b)).contains("map blocks"));
        assert!(e(BlockMap::new(identity(), 4, 5, |b| b)).contains("map slots"));
        assert!(e(BlockMap::new(identity(), 4, 1, |_| 0)).contains("impossible"));
        assert!(e(BlockMap::new(identity(), 4, 2, |_| 0)).contains("slot 1 of 2 has no holder"));
        assert!(e(BlockMap::new(identity(), 4, 2, |b| b)).contains("block 2 starts at slot 2"));
        assert!(e(BlockMap::new(identity(), 4, 4, |b| 3 - b)).contains("must start at slot b"));
    }

    #[test]
    fn single_block_advances_generation() {
        let mut m = BlockMap::new(identity(), 1, 1, |_| 0).unwrap();
        let t = m.write(0, 99).unwrap();
        assert_eq!(
            t.new,
            Content {
                slot: 0,
                generation: 1
            }
        );
        assert_eq!(m.bytes_per_block(), 2.0);
    }

    #[test]
    fn shared_slot_moves_and_only_holder_advances() {
        // Blocks 0,1 hold slot 0; block 2 holds slot 1.
        let mut m = BlockMap::new(identity(), 3, 2, |b| b / 2).unwrap();
        let t = m.write(2, 0).unwrap();
        assert_eq!(
            t.new,
            Content {
                slot: 1,
                generation: 1
            }
        );
        let t = m.write(0, u64::MAX).unwrap();
        assert_eq!(
            t.new,
            Content {
                slot: 1,
                generation: 1
            }
        );
        assert_eq!((m.holders(0), m.holders(1)), (1, 2));
        // A two-byte version per block, a two-byte generation and a one-byte holder count per
        // slot, and 32 bytes per side-table entry.
        let side = m.placement().unwrap().side_entries().len() as u64;
        assert_eq!(m.memory_bytes(), 3 * 2 + 2 * (2 + 1) + 32 * side);
        assert!(m.write(3, 0).unwrap_err().to_string().contains("map block"));
    }

    /// Distinct live contents and live blocks (the trimmed ones excluded).
    fn live(m: &BlockMap) -> (usize, u64) {
        let contents: std::collections::HashSet<Content> = (0..m.blocks())
            .map(|b| m.expected(b))
            .filter(|c| !c.is_trimmed())
            .collect();
        (contents.len(), m.blocks() - m.trimmed_blocks())
    }

    #[test]
    fn a_trim_leaves_no_content_and_a_rewrite_gives_new_content() {
        // K == N: block b holds slot b.
        let mut m = BlockMap::new(identity(), 4, 4, |b| b).unwrap();
        m.write(2, 0).unwrap();
        let t = m.trim(2).unwrap().unwrap();
        assert_eq!(
            t.old,
            Content {
                slot: 2,
                generation: 1
            }
        );
        assert_eq!(m.expected(2), Content::TRIMMED);
        assert_eq!((m.holders(2), m.trimmed_blocks()), (0, 1));
        assert_eq!(m.trim(2).unwrap(), None, "a second trim changes nothing");
        let t = m.write(2, 0).unwrap();
        assert_eq!(
            (t.old, t.new),
            (
                Content::TRIMMED,
                Content {
                    slot: 2,
                    generation: 2
                }
            )
        );
        assert_eq!((m.holders(2), m.trimmed_blocks()), (1, 0));
    }

    #[test]
    fn an_orphaned_slot_is_taken_back_with_new_content() {
        // Blocks 0,1 hold slot 0; blocks 2,3 hold slot 1; block 4 holds slot 2.
        let mut m = BlockMap::new(identity(), 5, 3, |b| [0, 0, 1, 1, 2][b as usize]).unwrap();
        assert_eq!(live(&m), (3, 5));
        m.trim(4).unwrap();
        assert_eq!(live(&m), (2, 4), "slot 2 lost its only holder");
        // Block 0 shares slot 0: instead of a duplicate it takes orphan slot 2, one generation on.
        let t = m.write(0, 0).unwrap();
        assert_eq!(
            t.new,
            Content {
                slot: 2,
                generation: 1
            }
        );
        assert_eq!(live(&m), (3, 4));
        // Every slot is held again: a trimmed block's rewrite duplicates live content.
        let t = m.write(4, u64::MAX / 3).unwrap();
        assert!(!t.new.is_trimmed() && t.new.generation == m.generation(t.new.slot));
        assert!(m.holders(t.new.slot) >= 2, "{t:?}");
        assert_eq!(live(&m), (3, 5));
    }

    #[test]
    fn replayed_trims_and_rewrites_pass_the_transition_check() {
        let mut m = BlockMap::new(identity(), 6, 3, |b| b / 2).unwrap();
        let mut replay = m.clone();
        let mut ts = Vec::new();
        for (i, b) in [5u64, 4, 0, 5, 1, 4, 2, 5].into_iter().enumerate() {
            let t = if i % 3 == 0 {
                m.trim(b).unwrap()
            } else {
                Some(m.write(b, i as u64 * 0x9e37_79b9_7f4a_7c15).unwrap())
            };
            ts.extend(t);
        }
        for t in &ts {
            assert_eq!(replay.apply_checked(t.block, t.new), Ok(*t));
        }
        assert_eq!(replay, m);
        // A transition the rule does not allow is refused: a trimmed block trimmed again, and a
        // move that would orphan a slot.
        let trimmed = (0..6).find(|&b| m.is_trimmed(b)).unwrap();
        assert!(replay
            .apply_checked(trimmed, Content::TRIMMED)
            .unwrap_err()
            .contains("trimmed to trimmed"));
    }

    #[test]
    fn history_says_which_slot_a_block_held_before_its_last_write() {
        // Blocks 0,1 hold slot 0; blocks 2,3 hold slot 1; block 4 slot 2.
        let mut m = BlockMap::new(identity(), 5, 3, |b| [0, 0, 1, 1, 2][b as usize]).unwrap();
        assert_eq!(
            m.held_before(0, 0),
            Some(false),
            "not written since the map was made"
        );
        let t = m.write(0, 0).unwrap();
        assert_eq!(t.old.slot, 0);
        assert_ne!(t.new.slot, 0);
        assert_eq!(m.held_before(0, 0), Some(true));
        assert_eq!(m.held_before(0, t.new.slot), Some(false));
        assert_eq!(m.held_before(1, 0), Some(false), "block 1 was not written");
        // A second move: the slot held before is the one the block just left.
        let u = m.write(0, 0).unwrap();
        assert_eq!(u.old, t.new);
        if u.new.slot != u.old.slot {
            assert_eq!(m.held_before(0, t.new.slot), Some(true));
            assert_eq!(m.held_before(0, 0), Some(u.new.slot == 0));
        }
        // No dedup: no history kept (a block only ever holds its own slot).
        let d1 = BlockMap::new(identity(), 4, 4, |b| b).unwrap();
        assert_eq!(d1.held_before(0, 0), None);
    }

    #[test]
    fn generation_exhaustion_is_an_error() {
        let mut m = BlockMap::new(identity(), 1, 1, |_| 0).unwrap();
        m.set_generation(0, u32::MAX);
        let err = m.write(0, 0).unwrap_err().to_string();
        assert!(err.contains("cannot advance"), "{err}");
        assert_eq!(m.expected(0).generation, u32::MAX);
    }

    /// Random writes over a map of `blocks` over `slots`: writes that gave a block the content
    /// it held two writes before, or within its last `RECENT + 1` writes, or at any time.
    fn returns(blocks: u64, slots: u64, writes: u64) -> (u64, u64, u64) {
        let mut m = BlockMap::new(identity(), blocks, slots, move |b| b % slots).unwrap();
        let mut held: Vec<Vec<Content>> = (0..blocks).map(|b| vec![m.expected(b)]).collect();
        let (mut two_back, mut recent, mut any) = (0, 0, 0);
        let mut state = 42u64;
        for _ in 0..writes {
            let b = crate::gen::mix::splitmix64(&mut state) % blocks;
            let t = m.write(b, crate::gen::mix::splitmix64(&mut state)).unwrap();
            let h = &mut held[b as usize];
            assert_ne!(t.new, *h.last().unwrap());
            two_back += u64::from(h.len() >= 2 && h[h.len() - 2] == t.new);
            let window = &h[h.len().saturating_sub(RECENT + 1)..];
            recent += u64::from(window.contains(&t.new));
            any += u64::from(h.contains(&t.new));
            h.push(t.new);
        }
        (two_back, recent, any)
    }

    #[test]
    fn a_block_never_goes_back_to_the_slot_it_left() {
        // A uniform draw went back (A -> B -> A at an unchanged generation) about once in K
        // moves: 15 of 2,560 writes at N=128 K=64, 25 of 81,920 at N=4096 K=2048. Avoiding the
        // slot held before (exactly known) rules it out whenever another slot exists.
        for (blocks, slots) in [(128, 64), (4096, 2048), (12, 3), (12, 6), (400, 100)] {
            let (two_back, recent, any) = returns(blocks, slots, blocks * 20);
            eprintln!(
                "N={blocks} K={slots}: {two_back} {recent} {any} of {}",
                blocks * 20
            );
            assert_eq!(
                two_back, 0,
                "N={blocks} K={slots}: {two_back} returns to A -> B -> A"
            );
            // The two slots before that are avoided too, from the block's candidates: exact
            // unless a recent move skipped one (about 4 in K moves).
            if slots >= 1000 {
                assert_eq!(
                    recent, 0,
                    "N={blocks} K={slots}: {recent} returns in the window"
                );
            }
        }
        // Longer cycles are not tracked. Their rate is about the slots a block has visited over
        // K: 31 of 81,920 writes here (56 when only the slot before was avoided), 20 writes per
        // block at d = 2.
        let (_, _, any) = returns(4096, 2048, 4096 * 20);
        assert!(
            any * 1000 <= 4096 * 20,
            "{any} returns of {} writes",
            4096 * 20
        );
        // K = 2: the one other slot is the one the block left; it must go back.
        let (two_back, _, _) = returns(8, 2, 100);
        assert!(two_back > 0);
    }
}
