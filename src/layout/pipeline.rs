//! The on-disk order of an image, read top to bottom: [`lay_out`] runs the phases of
//! [`phase`](super::phase) in the order their structures sit on the disk. Every structure
//! reports its size before any sector is assigned; nothing is rendered here.

use chrono::{DateTime, Utc};
use std::sync::Arc;

use crate::build::boot::BootPlan;
use crate::build::options::{FileSystems, IsoLevel, Options};
use crate::build::tree::{NodeId, Tree};
use crate::error::Result;
use crate::layout::phase::{data, place, tree as tree_phase, views};
use crate::layout::udf as udf_layout;
use crate::layout::{Layout, PlacedTree, Plan};
use crate::progress::{EntryPaths, Progress, ProgressItems};

/// The tree as the layout sees it, made before the generated files join it (so their nodes
/// come after the layout's own, as they always have): an appended session's base files that
/// can stay in place marked, times scrubbed for a fixed build time, deep directories relocated,
/// the warnings about entries some views leave out.
pub(crate) struct Prepared {
    pub tree: Tree,
    relocation: Option<(NodeId, Vec<NodeId>)>,
    build_time: DateTime<Utc>,
    warnings: Vec<crate::warning::Warning>,
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
    let gpt = hybrid.is_some_and(|h| h.gpt);
    let hybrid = hybrid.is_some();
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
        ));
    }

    // File data, stored once and shared by every view, in placement order; then the padding,
    // UDF's closing anchor and the backup GPT.
    let order = data::placement_order(&tree);
    let single_pass = single_pass && opts.dedup && append.is_none();
    let (dedup, deferred) =
        data::find_duplicates(&tree, opts, boot.as_ref(), &order, single_pass, progress)?;
    let data_item = plan.items.segs.len();
    let data_block = plan.next_block();
    let file_lba = data::place_data(
        &mut plan,
        &tree,
        opts,
        &order,
        &dedup,
        udf.as_mut(),
        gpt,
        boot.as_ref().map_or(&[][..], |b| &b.appended[..]),
        !single_pass || deferred.is_empty(),
        progress,
    )?;

    // The frozen layout.
    let total_blocks = plan.next_block();
    let (iso, joliet) = match iso_placed {
        Some(p) => {
            let iso = iso_view.map(|view| PlacedTree {
                view,
                dir_lba: p.iso_dirs,
                path_tables: p.iso_pt,
                ce_block_lba: p.ce_block_lba,
            });
            let joliet = match (joliet_view, p.joliet_dirs, p.joliet_pt) {
                (Some(view), Some(dir_lba), Some(path_tables)) => Some(PlacedTree {
                    view,
                    dir_lba,
                    path_tables,
                    ce_block_lba: Vec::new(),
                }),
                _ => None,
            };
            (iso, joliet)
        }
        None => (None, None),
    };
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
        udf,
        file_lba,
        kinds: plan.kinds,
        items: ProgressItems::new(plan.items, Some(tree.clone() as Arc<dyn EntryPaths>)),
        total_blocks,
        warnings,
        tree,
    })
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
    let gpt = layout
        .boot
        .as_ref()
        .and_then(|b| b.hybrid.as_ref())
        .is_some_and(|h| h.gpt);
    let order: Vec<usize> = p.order.iter().map(|&i| i as usize).collect();
    let appended = layout
        .boot
        .as_ref()
        .map(|b| b.appended.clone())
        .unwrap_or_default();
    let file_lba = data::place_data(
        &mut plan,
        &layout.tree,
        &layout.options,
        &order,
        &dedup,
        layout.udf.as_mut(),
        gpt,
        &appended,
        true,
        progress,
    )?;
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
    layout.items = ProgressItems::new(plan.items, Some(layout.tree.clone() as Arc<dyn EntryPaths>));
    Ok(layout)
}
