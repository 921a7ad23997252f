//! The on-disk order of an image, read top to bottom: [`lay_out`] runs the phases of
//! [`phase`](super::phase) in the order their structures sit on the disk. Every structure
//! reports its size before any sector is assigned; nothing is rendered here.

use chrono::{DateTime, Utc};
use std::sync::Arc;

use crate::build::boot::BootPlan;
use crate::build::options::{FileSystems, IsoLevel, Options};
use crate::build::tree::{NodeId, Tree};
use crate::error::Result;
use crate::layout::dir_tree::DirTree;
use crate::layout::phase::place::IsoPlaced;
use crate::layout::phase::{data, place, tree as tree_phase, views};
use crate::layout::udf as udf_layout;
use crate::layout::{Layout, PartitionCopy, PlacedTree, Plan};
use crate::progress::{EntryPaths, Progress, ProgressItems};

/// The tree as the layout sees it, made before the generated files join it (so their nodes
/// come after the layout's own, as they always have): an appended session's base files that
/// can stay in place marked, times scrubbed for a fixed build time, deep directories relocated,
/// the warnings about entries some views leave out.
pub(crate) struct Prepared {
    pub tree: Tree,
    relocation: Option<(NodeId, Vec<NodeId>)>,
    build_time: DateTime<Utc>,
    warnings: Vec<String>,
}

/// Prepares `tree` (compacted, without its name index) for a layout with `opts` (checked by
/// [`Options::validate`]).
pub(crate) fn prepare(opts: &Options, tree: Tree) -> Result<Prepared> {
    let fs = opts.filesystems;
    let mut tree = tree;
    if let Some(a) = &opts.append {
        // The head rewrite covers blocks 16 to 16 + the new descriptor count.
        let vds = 2
            + u64::from(!opts.boot.entries.is_empty() || a.boot_record.is_some())
            + u64::from(opts.level == IsoLevel::Iso1999)
            + u64::from(fs.contains(FileSystems::JOLIET));
        a.mark_in_place(&mut tree, 16 + vds);
    }
    let build_time = opts.build_time.unwrap_or_else(Utc::now);
    if opts.build_time.is_some() {
        tree_phase::scrub_times(&mut tree);
    }
    // RRIP 4.1.5: with Rock Ridge, directories deeper than ISO 9660's 8 levels are relocated.
    let relocation = if fs.contains(FileSystems::ROCK_RIDGE) && opts.level != IsoLevel::Iso1999 {
        tree_phase::relocate(&mut tree, &opts.rock_ridge.relocation_dir)?
    } else {
        None
    };
    let mut warnings = Vec::new();
    // Links and special files some views leave out, names that are not UTF-8.
    super::notices::push(&tree, opts, &mut warnings);
    Ok(Prepared {
        tree,
        relocation,
        build_time,
        warnings,
    })
}

/// Lays out the prepared tree (the generated files now in it) with `opts`; `boot` is the El
/// Torito plan whose catalog is in the tree. With `single_pass` (and deduplication on, not
/// appending), small files sharing their size with another are left undecided for the
/// single-pass writer: the layout has a `pending` part and is not an image to hand out until
/// [`relayout`] completes it. The warnings are the layout's own (entries views leave out,
/// changed names).
pub(crate) fn lay_out(
    opts: &Options,
    prepared: Prepared,
    boot: Option<BootPlan>,
    single_pass: bool,
    progress: &mut dyn Progress,
) -> Result<Layout> {
    let fs = opts.filesystems;
    let iso_on = fs.contains(FileSystems::ISO9660);
    let udf_on = fs.contains(FileSystems::UDF);
    let Prepared {
        mut tree,
        relocation,
        build_time,
        mut warnings,
    } = prepared;
    let append = opts.append.clone();

    // The tree's last checks.
    if let Some(bp) = &boot {
        tree_phase::rewrite_patched_boot_files(&mut tree, bp);
    }
    let hybrid = boot.as_ref().and_then(|b| b.hybrid.as_ref());
    // `Options::validate` refused it with UDF and when appending.
    let part_offset = hybrid
        .and_then(crate::build::boot::Hybrid::partition_offset)
        .filter(|_| iso_on);
    let hybrid = hybrid.is_some() || opts.boot.system_area.is_some();
    tree_phase::check_file_sizes(&tree, opts)?;

    // Views: names, sort order, directory sizes (in parallel).
    let views::Views {
        iso: iso_view,
        joliet: joliet_view,
        mut udf,
    } = views::build(
        &tree,
        opts,
        relocation.clone(),
        build_time,
        progress,
        &mut warnings,
    )?;

    // The plan, in on-disk order.
    let mut plan = Plan::new();
    place::system_area(&mut plan, append.as_deref(), hybrid)?;
    if iso_on {
        place::volume_descriptors(
            &mut plan,
            opts,
            boot.is_some(),
            append.as_deref(),
            joliet_view.is_some(),
        );
    }
    if udf_on {
        place::udf_recognition(&mut plan);
    }
    if let Some(offset) = part_offset {
        place::partition_descriptors(&mut plan, opts, offset, joliet_view.is_some())?;
    }
    // ISO 9660 metadata (path tables, directories, Rock Ridge continuation areas): with UDF in
    // the free sectors before the anchor at 256 when it fits there, else after the UDF file
    // structure.
    let mut iso_placed = None;
    if udf_on {
        place::udf_volume_descriptors(&mut plan)?;
        let iso_blocks = place::iso_metadata_blocks(iso_view.as_ref(), joliet_view.as_ref());
        if iso_on && plan.next_block() + iso_blocks <= udf_layout::ANCHOR as u64 {
            iso_placed = Some(place::iso(
                &mut plan,
                &tree,
                iso_view.as_ref(),
                joliet_view.as_ref(),
                relocation.as_ref(),
                false,
            ));
        }
        place::udf_anchor(&mut plan)?;
    }
    if let Some(u) = udf.as_mut() {
        place::udf_file_structure(&mut plan, &tree, u)?;
    }
    if iso_on && iso_placed.is_none() {
        iso_placed = Some(place::iso(
            &mut plan,
            &tree,
            iso_view.as_ref(),
            joliet_view.as_ref(),
            relocation.as_ref(),
            false,
        ));
    }
    // The same trees again inside the partition (`-partition_offset`).
    let part_placed = part_offset.map(|offset| {
        (
            offset,
            place::iso(
                &mut plan,
                &tree,
                iso_view.as_ref(),
                joliet_view.as_ref(),
                relocation.as_ref(),
                true,
            ),
        )
    });

    // File data, stored once and shared by every view, in placement order; then the padding,
    // UDF's closing anchor and the backup GPT.
    let order = data::placement_order(&tree);
    let single_pass = single_pass && opts.dedup && append.is_none();
    let (dedup, deferred) =
        data::find_duplicates(&tree, opts, boot.as_ref(), &order, single_pass, progress)?;
    let data_item = plan.items.segs.len();
    let data_block = plan.next_block();
    let (file_lba, geometry) = data::place_data(
        &mut plan,
        &tree,
        opts,
        &order,
        &dedup,
        udf.as_mut(),
        boot.as_ref(),
        !single_pass || deferred.is_empty(),
        progress,
    )?;
    let mut boot = boot;
    if let Some(b) = boot.as_mut() {
        b.geometry = geometry;
    }

    // The frozen layout.
    let total_blocks = plan.next_block();
    let iso_view = iso_view.map(Arc::new);
    let joliet_view = joliet_view.map(Arc::new);
    let (iso, joliet) = match iso_placed {
        Some(p) => placed_trees(p, iso_view.as_ref(), joliet_view.as_ref(), 0),
        None => (None, None),
    };
    let part = part_placed.map(|(offset, p)| {
        let (iso, joliet) = placed_trees(p, iso_view.as_ref(), joliet_view.as_ref(), offset);
        PartitionCopy {
            offset,
            iso,
            joliet,
        }
    });
    let seed = build_time.timestamp() as u64 ^ total_blocks.rotate_left(32);
    let patchers = boot
        .as_ref()
        .map(|b| b.patchers(&file_lba, &tree))
        .unwrap_or_default();
    let pending = (single_pass && !deferred.is_empty()).then(|| {
        Box::new(Pending {
            data_item,
            data_block,
            order: order.iter().map(|&i| i as u32).collect(),
            small: deferred,
            decided: dedup.clone(),
        })
    });
    let tree = Arc::new(tree);
    let items = ProgressItems::new(plan.items, Some(ItemNames::shared(&tree, &file_lba)));
    Ok(Layout {
        pending,
        dedup_saved: (dedup.files, dedup.saved_bytes),
        boot,
        patchers,
        seed,
        options: opts.clone(),
        build_time,
        iso,
        joliet,
        part,
        udf,
        file_lba,
        kinds: plan.kinds,
        items,
        total_blocks,
        warnings,
        tree,
    })
}

/// The placed ISO 9660 and Joliet trees of `p`, their addresses counted from block `origin`
/// (0, or the partition offset for the copy inside the partition).
fn placed_trees(
    p: IsoPlaced,
    iso_view: Option<&Arc<DirTree>>,
    joliet_view: Option<&Arc<DirTree>>,
    origin: u32,
) -> (Option<PlacedTree>, Option<PlacedTree>) {
    let rel =
        |v: Vec<u32>| -> Vec<u32> { v.into_iter().map(|b| b.saturating_sub(origin)).collect() };
    let rel_pt = |pt: crate::layout::PathTablePos| crate::layout::PathTablePos {
        l: pt.l.saturating_sub(origin),
        m: pt.m.saturating_sub(origin),
    };
    let iso = iso_view.map(|view| PlacedTree {
        view: view.clone(),
        dir_lba: rel(p.iso_dirs),
        path_tables: rel_pt(p.iso_pt),
        ce_block_lba: rel(p.ce_block_lba),
        origin,
    });
    let joliet = match (joliet_view, p.joliet_dirs, p.joliet_pt) {
        (Some(view), Some(dir_lba), Some(path_tables)) => Some(PlacedTree {
            view: view.clone(),
            dir_lba: rel(dir_lba),
            path_tables: rel_pt(path_tables),
            ce_block_lba: Vec::new(),
            origin,
        }),
        _ => None,
    };
    (iso, joliet)
}

/// The file-data placement left open by a single-pass build: what [`relayout`] needs to place
/// the data again once the writer has found the small duplicates.
pub(crate) struct Pending {
    /// Index of the first item (and block) after the metadata: file data starts here.
    pub data_item: usize,
    pub data_block: u64,
    /// Placement order of the data ids.
    pub order: Vec<u32>,
    /// Small files sharing their size with another, undecided, in placement order.
    pub small: Vec<crate::build::tree::DataId>,
    /// What was decided before writing (files larger than `dedup::SMALL_MAX`).
    pub decided: crate::layout::dedup::Dedup,
}

/// Completes a single-pass layout: `dups` (data id -> the id whose extent it uses), the
/// duplicates found while writing, joins those decided before; the file data and what
/// follows it are placed again. Everything before the file data (the metadata, whose sizes do
/// not depend on where files are) keeps its blocks.
pub(crate) fn relayout(
    mut layout: Layout,
    dups: &std::collections::HashMap<u32, u32>,
    progress: &mut dyn Progress,
) -> Result<Layout> {
    let Some(p) = layout.pending.take() else {
        return Ok(layout);
    };
    let mut dedup = p.decided;
    for (&id, &c) in dups {
        let id = id as usize;
        if c as usize != id && dedup.canon.get(id) == Some(&(id as u32)) {
            if let Some(slot) = dedup.canon.get_mut(id) {
                *slot = c;
                dedup.files += 1;
                dedup.saved_bytes += layout.tree.data.get(id).map_or(0, |d| d.len);
            }
        }
    }
    let items = std::mem::take(&mut layout.items).into_prefix(p.data_item);
    let mut kinds = std::mem::take(&mut layout.kinds);
    kinds.truncate(p.data_item);
    let mut plan = Plan::resume(p.data_block, kinds, items);
    let order: Vec<usize> = p.order.iter().map(|&i| i as usize).collect();
    let (file_lba, geometry) = data::place_data(
        &mut plan,
        &layout.tree,
        &layout.options,
        &order,
        &dedup,
        layout.udf.as_mut(),
        layout.boot.as_ref(),
        true,
        progress,
    )?;
    if let Some(b) = layout.boot.as_mut() {
        b.geometry = geometry;
    }
    layout.total_blocks = plan.next_block();
    layout.seed = layout.build_time.timestamp() as u64 ^ layout.total_blocks.rotate_left(32);
    layout.patchers = layout
        .boot
        .as_ref()
        .map(|b| b.patchers(&file_lba, &layout.tree))
        .unwrap_or_default();
    layout.file_lba = file_lba;
    layout.dedup_saved = (dedup.files, dedup.saved_bytes);
    layout.kinds = plan.kinds;
    layout.items = ProgressItems::new(
        plan.items,
        Some(ItemNames::shared(&layout.tree, &layout.file_lba)),
    );
    Ok(layout)
}

/// The names the progress items give (see [`EntryPaths`]): paths from the tree, and the
/// files sharing an extent from where each file's data was placed.
struct ItemNames {
    tree: Arc<Tree>,
    /// First block of each file's data, by data id (0 for an empty file).
    file_lba: Arc<[u32]>,
}

impl ItemNames {
    fn shared(tree: &Arc<Tree>, file_lba: &[u32]) -> Arc<dyn EntryPaths> {
        Arc::new(ItemNames {
            tree: tree.clone(),
            file_lba: file_lba.into(),
        })
    }

    fn data_of(&self, node: NodeId) -> Option<u32> {
        match self.tree.nodes.get(node as usize)?.kind {
            crate::build::tree::NodeKind::File { data } => Some(data),
            _ => None,
        }
    }
}

impl EntryPaths for ItemNames {
    fn path_of(&self, entry: u32) -> String {
        self.tree.path_of(entry)
    }
    fn path_is(&self, entry: u32, want: &str) -> bool {
        self.tree.path_is(entry, want)
    }
    fn sharing(&self, entry: u32) -> Vec<String> {
        let mut out = vec![self.tree.path_of(entry)];
        let Some(data) = self.data_of(entry) else {
            return out;
        };
        let lba = self.file_lba.get(data as usize).copied().unwrap_or(0);
        for (i, n) in self.tree.nodes.iter().enumerate() {
            let crate::build::tree::NodeKind::File { data: d } = n.kind else {
                continue;
            };
            let same =
                d == data || (lba != 0 && self.file_lba.get(d as usize).copied() == Some(lba));
            if same && i as u32 != entry && !self.tree.is_synthetic(i as u32) {
                out.push(self.tree.path_of(i as u32));
            }
        }
        out
    }
    fn data_block(&self, path: &str) -> Option<u64> {
        let node = self.tree.lookup(path).ok()?;
        let data = self.data_of(node)?;
        let lba = *self.file_lba.get(data as usize)?;
        (lba != 0).then_some(u64::from(lba))
    }
}
