//! A whole write or verify of one target through its map: what `dgen write --map` and
//! `dgen verify --map` (and later the other faces) call.
//!
//! A write with a map that does not exist yet creates it (a fresh run: every block at generation 0
//! of its slot, a new random run id) and lays the target down. A write with an existing map is a
//! sequential rewrite: every block advances (the slot rule of [`super::BlockMap::write`]), so
//! every unit of the target gets new bytes and the ratios hold on what is live. All the rewrite's
//! intents are committed to the journal before the first data write; when the write ends, the
//! blocks inside the valid prefix are marked done and the map is checkpointed. After a crash or
//! an error, the blocks past the prefix stay *uncertain*: a verify accepts their old or new
//! content, and says how many there were.

use super::{BlockMap, Content, MapExpect, MapFile, MapIdentity, MapLock, Recovery, TrimCheck};
use crate::error::{Error, Result};
use crate::gen::{BlockContent, BlockContents};
use crate::params::GenParams;
use crate::pipeline::{MapContents, PipelineError, WriteStats};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// A map's state as the generator reads it: each block's content, and for a block whose write
/// may not have landed, the content it may hold instead.
#[derive(Debug)]
pub struct MapView {
    map: BlockMap,
    alternatives: HashMap<u64, Content>,
    /// What a trimmed block must read as.
    trim_check: TrimCheck,
    /// A verify's shared lock on the map, held as long as the view (no writer meanwhile).
    _lock: Option<MapLock>,
}

fn content(c: Content) -> BlockContent {
    BlockContent {
        slot: c.slot,
        generation: c.generation,
    }
}

impl BlockContents for MapView {
    fn content(&self, block: u64) -> BlockContent {
        content(self.map.expected(block))
    }

    fn alternative(&self, block: u64) -> Option<BlockContent> {
        self.alternatives.get(&block).copied().map(content)
    }

    fn slot_generation(&self, slot: u64) -> Option<u32> {
        (slot < self.map.slots()).then(|| self.map.generation(slot))
    }

    fn blocks_holding(&self, c: BlockContent, limit: usize) -> Vec<u64> {
        if c.slot >= self.map.slots() || self.map.generation(c.slot) != c.generation {
            return Vec::new();
        }
        let want = Content {
            slot: c.slot,
            generation: c.generation,
        };
        (0..self.map.blocks())
            .filter(|&b| self.map.expected(b) == want)
            .take(limit)
            .collect()
    }

    fn unchecked(&self, block: u64) -> bool {
        self.trim_check == TrimCheck::Skip && self.map.is_trimmed(block)
    }

    fn held_before(&self, block: u64, slot: u64) -> Option<bool> {
        self.map.held_before(block, slot)
    }
}

impl MapView {
    /// The view of `map`, accepting for each uncertain block of `recovery` the first other state
    /// of its chain (a block rewritten once holds its old or its new content).
    pub fn new(map: BlockMap, recovery: &Recovery) -> Self {
        let alternatives = recovery.alternatives(&map);
        MapView {
            map,
            alternatives,
            trim_check: TrimCheck::Zeros,
            _lock: None,
        }
    }

    /// The same view, expecting trimmed blocks to read as `check` says (zeros by default).
    pub fn with_trim_check(mut self, check: TrimCheck) -> Self {
        self.trim_check = check;
        self
    }

    /// Blocks that may hold either of two contents.
    pub fn uncertain_blocks(&self) -> u64 {
        self.alternatives.len() as u64
    }

    /// Trimmed blocks.
    pub fn trimmed_blocks(&self) -> u64 {
        self.map.trimmed_blocks()
    }
}

/// Blocks of `unit` bytes that cover `size` bytes.
fn blocks_for(size: u64, unit: u64) -> u64 {
    size.div_ceil(unit)
}

/// Creates the map of a fresh run at `map_path` (refusing to replace one): `size` bytes with
/// `params`, every block at generation 0 of its slot in the plain stream's layout, a new random
/// run id. Fails, naming the reason, when the layout is not complete within the target (warm-up
/// copies that point past it: fewer than 16 dedup blocks at `d > 1`).
pub fn create_map(map_path: &Path, params: &GenParams, size: u64) -> Result<(MapFile, BlockMap)> {
    let blocks = blocks_for(size, params.dedup_unit);
    let identity = MapIdentity {
        params: params.clone(),
        size,
        run_id: super::new_run_id(),
    };
    let map = BlockMap::in_layout(identity, blocks).map_err(|e| {
        Error::invalid(
            "map",
            format!(
                "{e} (a map needs the target's dedup layout to be complete: at least 16 dedup \
                 blocks at this ratio; use a larger size or a smaller dedup unit)"
            ),
        )
    })?;
    let file = MapFile::create(map_path, &map, false)?;
    Ok((file, map))
}

/// A full write of one target through its map, between [`begin_write`] and [`FullWrite::finish`].
#[derive(Debug)]
pub struct FullWrite {
    file: MapFile,
    map: BlockMap,
    /// Journal sequence numbers of the rewrite's intents, by block (empty for a fresh map).
    seqs: Vec<u64>,
    /// What the pipeline writes.
    pub contents: MapContents,
    /// True when this write created the map (a fresh run).
    pub created: bool,
    /// What opening an existing map recovered (writes in flight at an earlier crash).
    pub recovery: Recovery,
}

/// Prepares a full write of `size` bytes with `params` through the map at `map_path`: creates the
/// map (fresh run) or opens it and advances every block (rewrite, intents committed before this
/// returns). Nothing is written to the target here.
pub fn begin_write(map_path: &Path, params: &GenParams, size: u64) -> Result<FullWrite> {
    let unit = params.dedup_unit;
    let blocks = blocks_for(size, unit);
    if map_path.exists() {
        let expect = MapExpect {
            params: params.clone(),
            size,
            run_id: None,
        };
        let (mut file, mut map, recovery) = MapFile::open(map_path, &expect)?;
        let run_id = map.identity().run_id;
        let epoch = file.epoch();
        let mut seqs = Vec::with_capacity(blocks as usize);
        for b in 0..blocks {
            let choice = crate::gen::mix_choice(run_id, epoch, b);
            let t = map.write(b, choice)?;
            seqs.push(file.log(&t));
        }
        file.commit()?;
        let view = MapView::new(map.clone(), &Recovery::default());
        Ok(FullWrite {
            file,
            map,
            seqs,
            contents: MapContents {
                run_id,
                contents: Arc::new(view),
            },
            created: false,
            recovery,
        })
    } else {
        let (file, map) = create_map(map_path, params, size)?;
        let run_id = map.identity().run_id;
        let view = MapView::new(map.clone(), &Recovery::default());
        Ok(FullWrite {
            file,
            map,
            seqs: Vec::new(),
            contents: MapContents {
                run_id,
                contents: Arc::new(view),
            },
            created: true,
            recovery: Recovery::default(),
        })
    }
}

impl FullWrite {
    /// Ends the write: the blocks wholly inside the first `valid` bytes (all of them when the
    /// write completed) are marked done and the map is checkpointed; the rest stay uncertain.
    pub fn finish(mut self, valid: u64) -> Result<()> {
        let unit = self.map.identity().params.dedup_unit;
        let size = self.map.identity().size;
        let done_blocks = if valid >= size {
            self.seqs.len() as u64
        } else {
            valid / unit
        };
        for &seq in self.seqs.iter().take(done_blocks as usize) {
            self.file.completed(seq);
        }
        self.file.commit()?;
        self.file.checkpoint(&self.map)
    }

    /// Ends the write after the pipeline returned `result`: [`FullWrite::finish`] with the bytes
    /// written, or with the valid prefix of a failed run.
    pub fn finish_after(
        self,
        result: &std::result::Result<WriteStats, PipelineError>,
    ) -> Result<()> {
        let valid = match result {
            Ok(stats) => stats.bytes_written,
            Err(e) => e.valid_length().unwrap_or(0),
        };
        self.finish(valid)
    }

    /// Blocks this write rewrites (0 for a fresh map).
    pub fn rewritten_blocks(&self) -> u64 {
        self.seqs.len() as u64
    }
}

/// A map opened for a verify ([`open_for_verify`]).
#[derive(Debug)]
pub struct VerifyMap {
    /// The contents to expect.
    pub contents: MapContents,
    /// What recovery found (a crash during the last write).
    pub recovery: Recovery,
    /// Blocks that may hold either of two contents (accepted either way).
    pub uncertain: u64,
    /// Trimmed blocks (checked or skipped as the [`TrimCheck`] given says).
    pub trimmed: u64,
}

/// Opens the map at `map_path` for a verify of `target` with `params`, changing no file: the
/// contents to expect, and what recovery found (uncertain blocks are accepted either way);
/// trimmed blocks must read as `trim_check` says. The map must be of `size` bytes, or, without
/// one, of the target's current length (a target cut short then fails here, naming both sizes).
/// The map's shared lock is held as long as the contents returned: no writer can start
/// meanwhile, and a running writer makes this fail at once, naming the map.
pub fn open_for_verify(
    map_path: &Path,
    params: &GenParams,
    size: Option<u64>,
    target: &Path,
    trim_check: TrimCheck,
) -> Result<VerifyMap> {
    let size = match size {
        Some(s) => s,
        // A block device's size, not its inode's length (0).
        None => crate::pipeline::current_size(target)?,
    };
    let expect = MapExpect {
        params: params.clone(),
        size,
        run_id: None,
    };
    let lock = MapLock::shared(map_path)?;
    let (map, recovery) = MapFile::read(map_path, &expect)?;
    let run_id = map.identity().run_id;
    let mut view = MapView::new(map, &recovery).with_trim_check(trim_check);
    view._lock = Some(lock);
    let uncertain = view.uncertain_blocks();
    let trimmed = view.trimmed_blocks();
    Ok(VerifyMap {
        contents: MapContents {
            run_id,
            contents: Arc::new(view),
        },
        recovery,
        uncertain,
        trimmed,
    })
}
