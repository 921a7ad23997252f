//! The plan: which entries (whole files and parts) go into which volume, each volume checked
//! against the capacity by laying it out.

use crate::BLOCK_SIZE_U64;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::catalog::{escape, Catalog};
use super::source::CatalogSource;
use super::volumes::path_bytes;
use super::{CATALOG_PATH, MIN_DATA_BLOCKS, SPAN_DIR, WASTE_DIVISOR};
use crate::build::builder::ImageBuilder;
use crate::build::tree::{DataId, FileData, NodeId, NodeKind, Source, Tree};
use crate::error::{Error, Result};
use crate::image::Image;
use crate::progress::{NoProgress, Outcome, Phase, Progress};

/// One volume of a [`SpanPlan`].
#[derive(Debug, Clone)]
pub struct SpanVolume {
    pub(super) number: u32,
    pub(super) label: String,
    pub(super) image: Image,
    pub(super) whole_files: u64,
    pub(super) parts: u64,
}

impl SpanVolume {
    /// The volume number (from 1).
    pub fn number(&self) -> u32 {
        self.number
    }
    /// The volume label (`NAME_001`).
    pub fn label(&self) -> &str {
        &self.label
    }
    /// The laid-out image (lazy: nothing is rendered until it is read or written).
    pub fn image(&self) -> &Image {
        &self.image
    }
    /// Regular files stored whole in this volume.
    pub fn whole_files(&self) -> u64 {
        self.whole_files
    }
    /// Parts of split files stored in this volume.
    pub fn parts(&self) -> u64 {
        self.parts
    }
}

/// A tree laid out over several volumes: see the [module documentation](super).
#[derive(Debug, Clone)]
pub struct SpanPlan {
    pub(super) set_id: String,
    pub(super) capacity_blocks: u64,
    pub(super) volumes: Vec<SpanVolume>,
    pub(super) catalog: Arc<CatalogSource>,
}

impl SpanPlan {
    /// The set identifier (16 hex digits).
    pub fn set_id(&self) -> &str {
        &self.set_id
    }
    /// The capacity every volume fits, in blocks.
    pub fn capacity_blocks(&self) -> u64 {
        self.capacity_blocks
    }
    /// The volumes, in order.
    pub fn volumes(&self) -> &[SpanVolume] {
        &self.volumes
    }
    /// The catalog as laid out: every entry, part and block number; the hashes are zero until
    /// [`compute_catalog`](Self::compute_catalog) (or reading a volume's catalog) computed them.
    pub fn catalog(&self) -> Catalog {
        match self.catalog.content.get() {
            Some(Ok(bytes)) => Catalog::parse(bytes).ok(),
            _ => None,
        }
        .or_else(|| self.catalog.laid_out.get().cloned())
        .unwrap_or_else(|| Catalog {
            set_id: self.set_id.clone(),
            time: 0,
            volumes: Vec::new(),
            entries: Vec::new(),
        })
    }
    /// Hashes every file once (driving `progress`, which may abort) and returns the catalog's
    /// bytes, which every volume then holds without reading the sources again.
    pub fn compute_catalog(&self, progress: &mut dyn Progress) -> Result<Vec<u8>> {
        match self.catalog.content(progress) {
            Ok(b) => Ok(b.to_vec()),
            Err(e) if e == "aborted" => Err(Error::Aborted),
            Err(e) => Err(Error::SourceChanged {
                image_path: CATALOG_PATH.to_string(),
                reason: e,
            }),
        }
    }
    /// The files split over several volumes: (path, number of parts).
    pub fn split_files(&self) -> Vec<(String, usize)> {
        self.catalog
            .laid_out
            .get()
            .map(|c| {
                c.entries
                    .iter()
                    .filter(|e| e.parts.len() > 1)
                    .map(|e| (String::from_utf8_lossy(&e.path).into_owned(), e.parts.len()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// One thing to place: a node and its data length (0 for anything but a regular file).
pub(super) struct Item {
    pub(super) node: NodeId,
    pub(super) data: Option<DataId>,
    pub(super) len: u64,
    /// Metadata bytes estimated for one record of it in every view.
    pub(super) meta: u64,
}

/// A range of an item placed in a volume (the whole item, or one part).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Take {
    pub(super) item: usize,
    pub(super) offset: u64,
    pub(super) len: u64,
}

pub(super) struct Planner<'a> {
    pub(super) b: &'a ImageBuilder,
    /// The builder's tree without detached (removed) nodes.
    pub(super) tree: Tree,
    pub(super) items: Vec<Item>,
    /// The shared source of each item's data (slices point at it).
    pub(super) bases: HashMap<usize, Arc<FileData>>,
    /// Other names of each DataId (hard links), after the first.
    pub(super) links: HashMap<DataId, Vec<NodeId>>,
    pub(super) capacity: u64,
    pub(super) build_time: DateTime<Utc>,
    /// Estimated metadata bytes of a new directory.
    pub(super) dir_meta: u64,
    /// Weight in effect for each node (inherited from directories).
    pub(super) weights: HashMap<NodeId, i32>,
}

/// Lays the builder's tree out over volumes of `capacity_blocks` blocks each. See the
/// [module documentation](super). `progress` gets one `Layout` phase (one step per volume) and
/// may abort.
pub fn plan(
    builder: &ImageBuilder,
    capacity_blocks: u64,
    progress: &mut dyn Progress,
) -> Result<SpanPlan> {
    progress.begin(Phase::Layout, 0);
    let r = plan_inner(builder, capacity_blocks, progress);
    progress.end(Phase::Layout, Outcome::of(&r));
    r
}

impl ImageBuilder {
    /// Lays the tree out over volumes of `capacity_blocks` blocks each ([`crate::extras::span::plan`]).
    pub fn plan_span(&self, capacity_blocks: u64) -> Result<SpanPlan> {
        plan(self, capacity_blocks, &mut NoProgress)
    }
}

fn plan_inner(b: &ImageBuilder, capacity: u64, progress: &mut dyn Progress) -> Result<SpanPlan> {
    let opts = &b.options;
    if !opts.boot.entries.is_empty() || opts.boot.hybrid.is_some() {
        return Err(Error::InvalidOption(
            "El Torito boot entries and hybrid images cannot be spanned over volumes".into(),
        ));
    }
    if b.tree.lookup(SPAN_DIR).is_ok() {
        return Err(Error::DuplicatePath(format!(
            "{SPAN_DIR} (reserved for the set catalog of spanned volumes)"
        )));
    }
    let planner = Planner::new(b, capacity)?;
    // The catalog's size depends on the plan (parts, volumes) and the plan on the catalog's
    // size: plan with a reserved size, then re-plan with a larger one if the real catalog is
    // bigger. Each round grows the reservation, so this ends. Should a final volume come out
    // larger than its planning layout (it cannot with today's layout: the final differs only by
    // deduplication and shorter part names), the set is planned again with that margin.
    let mut reserved = planner.catalog_estimate();
    let mut margin = 0u64;
    for _round in 0..8 {
        let plan_cap = capacity.saturating_sub(margin);
        let vols = planner.plan_volumes(plan_cap, reserved, progress)?;
        let (catalog, data) = planner.skeleton(&vols);
        let text_len = catalog.to_text().len() as u64;
        if text_len.div_ceil(BLOCK_SIZE_U64) > reserved {
            reserved = text_len.div_ceil(BLOCK_SIZE_U64) + 1 + reserved / 8;
            continue;
        }
        match planner.finish(vols, catalog, data, text_len, progress)? {
            Ok(plan) => return Ok(plan),
            Err(over) => margin += over,
        }
    }
    Err(Error::InvalidOption(
        "the spanned volumes' layout did not settle; please report this".into(),
    ))
}

pub(super) fn blocks(bytes: u64) -> u64 {
    bytes.div_ceil(BLOCK_SIZE_U64)
}

impl<'a> Planner<'a> {
    fn new(b: &'a ImageBuilder, capacity: u64) -> Result<Self> {
        // Removed entries stay detached in the arena until compacted (multisession).
        let tree_owned = b.tree.compacted();
        let tree = &tree_owned;
        let fs = b.options.filesystems;
        use crate::build::builder::FileSystems as F;
        let per_name = |n: u64| -> u64 {
            let mut m = 0;
            if fs.contains(F::ISO9660) {
                m += 34 + n.min(40) + 2;
            }
            if fs.contains(F::ROCK_RIDGE) {
                m += 150 + n;
            }
            if fs.contains(F::JOLIET) {
                m += 34 + 2 * n.min(103) + 2;
            }
            if fs.contains(F::UDF) {
                m += BLOCK_SIZE_U64 + 40 + 2 * n;
            }
            m
        };
        let mut dir_meta = 0;
        if fs.contains(F::ISO9660) {
            dir_meta += BLOCK_SIZE_U64 + 16;
        }
        if fs.contains(F::ROCK_RIDGE) {
            dir_meta += BLOCK_SIZE_U64;
        }
        if fs.contains(F::JOLIET) {
            dir_meta += BLOCK_SIZE_U64 + 16;
        }
        if fs.contains(F::UDF) {
            dir_meta += 2 * BLOCK_SIZE_U64;
        }
        // Effective weights (a directory's weight applies below it).
        let mut weights = HashMap::new();
        for id in 1..tree.nodes.len() as NodeId {
            let mut cur = id;
            let w = loop {
                if let Some(w) = tree.weights.get(&cur) {
                    break *w;
                }
                if cur == 0 {
                    break 0;
                }
                cur = tree.node(cur).parent;
            };
            weights.insert(id, w);
        }
        let mut items = Vec::new();
        let mut seen: HashMap<DataId, NodeId> = HashMap::new();
        let mut links: HashMap<DataId, Vec<NodeId>> = HashMap::new();
        for (i, n) in tree.nodes.iter().enumerate().skip(1) {
            let id = i as NodeId;
            let name_len = tree.name_bytes(id).len() as u64;
            let (data, len, extra) = match &n.kind {
                NodeKind::Dir { children } if children.is_empty() => (None, 0, dir_meta),
                NodeKind::Dir { .. } => continue,
                NodeKind::File { data } => {
                    if seen.contains_key(data) {
                        links.entry(*data).or_default().push(id);
                        continue;
                    }
                    seen.insert(*data, id);
                    if matches!(tree.data[*data as usize].source, Source::Generated(_)) {
                        return Err(Error::InvalidOption(format!(
                            "{}: generated files cannot be spanned",
                            tree.path_of(id)
                        )));
                    }
                    (Some(*data), tree.data[*data as usize].len, 0)
                }
                NodeKind::Symlink { target } => (None, 0, target.len() as u64 + 20),
                NodeKind::Special { .. } => (None, 0, 0),
            };
            // Parts carry a `.partKKKKofNNNN` suffix.
            let meta = per_name(name_len + if len > 0 { 14 } else { 0 }) + extra;
            items.push(Item {
                node: id,
                data,
                len,
                meta,
            });
        }
        // Placement order: descending weight, then the order added.
        items.sort_by_key(|it| std::cmp::Reverse(weights.get(&it.node).copied().unwrap_or(0)));
        let bases = items
            .iter()
            .enumerate()
            .filter_map(|(i, it)| {
                // A scanned file's source names its node: outside this tree it needs its path.
                Some((i, Arc::new(tree.detached_data(it.data?))))
            })
            .collect();
        let build_time = b.options.build_time.unwrap_or_else(|| {
            let now = Utc::now();
            DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
        });
        Ok(Planner {
            b,
            tree: tree_owned,
            items,
            bases,
            links,
            capacity,
            build_time,
            dir_meta,
            weights,
        })
    }

    /// A first guess of the catalog's size in blocks: every entry with one part, plus slack.
    fn catalog_estimate(&self) -> u64 {
        let mut bytes = 400u64;
        for (i, n) in self.tree.nodes.iter().enumerate().skip(1) {
            let path = escape(&path_bytes(&self.tree, i as NodeId)).len() as u64;
            bytes += 60 + path;
            if matches!(n.kind, NodeKind::File { .. }) {
                bytes += 120 + 2 * path;
            }
        }
        let data: u64 = self.items.iter().map(|it| it.len).sum();
        let volumes = data / (self.capacity.max(1) * BLOCK_SIZE_U64) + 2;
        bytes += volumes * 160;
        blocks(bytes + bytes / 16) + 1
    }

    /// Places every item into volumes, each checked against the capacity by laying it out.
    fn plan_volumes(
        &self,
        cap: u64,
        reserved: u64,
        progress: &mut dyn Progress,
    ) -> Result<Vec<Vec<Take>>> {
        // An empty volume: only the set files.
        let empty = self.materialize(&[], 1, 1, reserved, None, None)?;
        let base = empty.image.total_blocks();
        if base + MIN_DATA_BLOCKS > cap {
            return Err(Error::SpanCapacityTooSmall {
                capacity_blocks: cap,
                needed_blocks: base + MIN_DATA_BLOCKS,
                reason: format!(
                    "an empty volume with this set's catalog already takes {base} blocks \
                     (and {MIN_DATA_BLOCKS} blocks of data room are the minimum)"
                ),
            });
        }
        let fresh = (cap - base) * BLOCK_SIZE_U64;
        let mut vols: Vec<Vec<Take>> = Vec::new();
        let mut cursor = (0usize, 0u64);
        while cursor.0 < self.items.len() || vols.is_empty() {
            if progress.query_abort() {
                return Err(Error::Aborted);
            }
            let start = cursor;
            let mut takes = Vec::new();
            let mut dirs = HashSet::new();
            self.fill(&mut takes, &mut cursor, fresh, fresh, &mut dirs);
            let mut rounds = 0;
            loop {
                let m = self.materialize(&takes, 1, 1, reserved, None, None)?;
                let total = m.image.total_blocks();
                if total > cap {
                    if !self.shrink(&mut takes, total - cap, fresh) {
                        let what = self
                            .items
                            .get(cursor.0)
                            .map(|it| self.tree.path_of(it.node))
                            .unwrap_or_default();
                        return Err(Error::SpanCapacityTooSmall {
                            capacity_blocks: cap,
                            needed_blocks: total,
                            reason: format!(
                                "a volume cannot hold even {what} with its directories"
                            ),
                        });
                    }
                    cursor = self.cursor_after(&takes, start);
                    continue;
                }
                // Room left (the estimate was high, or a shrink took off more than needed): add
                // more, a few rounds at most. Shrinking is never limited, so the loop ends on a
                // volume that fits.
                if total < cap && rounds < 4 && cursor.0 < self.items.len() {
                    let before = takes.len();
                    let last = takes.last().copied();
                    self.fill(
                        &mut takes,
                        &mut cursor,
                        (cap - total) * BLOCK_SIZE_U64,
                        fresh,
                        &mut dirs,
                    );
                    rounds += 1;
                    if takes.len() != before || takes.last().copied() != last {
                        continue;
                    }
                }
                break;
            }
            if takes.is_empty() && cursor.0 < self.items.len() {
                let what = self.tree.path_of(self.items[cursor.0].node);
                return Err(Error::SpanCapacityTooSmall {
                    capacity_blocks: cap,
                    needed_blocks: cap + 1,
                    reason: format!("no volume can hold {what} with its directories"),
                });
            }
            vols.push(takes);
            progress.update(vols.len() as u64, 0);
        }
        Ok(vols)
    }

    /// The cursor after the last take (or `fallback` if there is none).
    fn cursor_after(&self, takes: &[Take], fallback: (usize, u64)) -> (usize, u64) {
        match takes.last() {
            Some(t) if t.offset + t.len < self.items[t.item].len => (t.item, t.offset + t.len),
            Some(t) => (t.item + 1, 0),
            None => fallback,
        }
    }

    /// Adds items from `cursor` while the estimate says they fit in `avail` bytes.
    fn fill(
        &self,
        takes: &mut Vec<Take>,
        cursor: &mut (usize, u64),
        mut avail: u64,
        fresh: u64,
        dirs: &mut HashSet<NodeId>,
    ) {
        while let Some(item) = self.items.get(cursor.0) {
            let rest = item.len - cursor.1;
            let new_dirs = self.new_dirs(item.node, dirs);
            let meta = item.meta + new_dirs.len() as u64 * self.dir_meta;
            let need = blocks(rest) * BLOCK_SIZE_U64 + meta;
            if need <= avail {
                push_take(
                    takes,
                    Take {
                        item: cursor.0,
                        offset: cursor.1,
                        len: rest,
                    },
                );
                avail -= need;
                dirs.extend(new_dirs);
                *cursor = (cursor.0 + 1, 0);
                continue;
            }
            if rest == 0 || avail <= meta {
                break;
            }
            let room = (avail - meta) / BLOCK_SIZE_U64;
            let must_split = need > fresh;
            // A file already split (this volume continues it) may be split again.
            let already_split = cursor.1 > 0;
            if room == 0 || !(must_split || already_split || room * WASTE_DIVISOR >= self.capacity)
            {
                break;
            }
            let len = (room * BLOCK_SIZE_U64).min(rest);
            push_take(
                takes,
                Take {
                    item: cursor.0,
                    offset: cursor.1,
                    len,
                },
            );
            dirs.extend(new_dirs);
            cursor.1 += len;
            break;
        }
    }

    /// Directories above `node` not yet in the volume.
    fn new_dirs(&self, node: NodeId, dirs: &HashSet<NodeId>) -> Vec<NodeId> {
        let mut out = Vec::new();
        let mut cur = self.tree.node(node).parent;
        while cur != 0 && !dirs.contains(&cur) {
            out.push(cur);
            cur = self.tree.node(cur).parent;
        }
        out
    }

    /// Removes at least `over` blocks of data from the end of `takes` (or one take without
    /// data). False if nothing is left to remove.
    fn shrink(&self, takes: &mut Vec<Take>, over: u64, fresh: u64) -> bool {
        let mut removed = 0u64;
        while removed < over {
            let Some(t) = takes.last_mut() else {
                return false;
            };
            let it = &self.items[t.item];
            let t_blocks = blocks(t.len);
            let is_part = t.offset > 0 || t.len < it.len;
            let must_split = blocks(it.len) * BLOCK_SIZE_U64 + it.meta > fresh;
            if t_blocks > over - removed && (is_part || must_split) {
                t.len = (t_blocks - (over - removed)) * BLOCK_SIZE_U64;
                return true;
            }
            removed += t_blocks.max(1);
            takes.pop();
            if t_blocks == 0 {
                return true;
            }
        }
        true
    }
}

/// Appends a take, merging it with the last one when it continues the same item (a part grown
/// after the volume turned out to have room).
pub(super) fn push_take(takes: &mut Vec<Take>, t: Take) {
    if let Some(last) = takes.last_mut() {
        if last.item == t.item && last.offset + last.len == t.offset {
            last.len += t.len;
            return;
        }
    }
    takes.push(t);
}
