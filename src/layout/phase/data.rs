//! The file data: the placement order, the duplicates found by content, each data extent
//! reserved once, then the padding, UDF's closing anchor and the backup GPT, and the size limits.

use std::collections::HashSet;

use super::blocks_for;
use crate::build::boot::{cylinder_blocks, BootPlan};
use crate::build::options::Options;
use crate::build::tree::{DataId, NodeId, NodeKind, Tree};
use crate::error::{Error, Result};
use crate::format::eltorito::hybrid::{Geometry, GPT_BACKUP_BLOCKS, SECTORS_PER_BLOCK};
use crate::layout::dedup::{self, Dedup};
use crate::layout::udf::UdfPlan;
use crate::layout::{Plan, SegKind};
use crate::progress::{ItemKind, Progress};
use crate::BLOCK_SIZE_U64;

/// The first node naming each data id (`u32::MAX` for data no node names).
pub(crate) fn first_nodes(tree: &Tree) -> Vec<NodeId> {
    let mut first_node = vec![u32::MAX; tree.data.len()];
    for (i, n) in tree.nodes.iter().enumerate() {
        if let NodeKind::File { data } = n.kind {
            if first_node[data as usize] == u32::MAX {
                first_node[data as usize] = i as u32;
            }
        }
    }
    first_node
}

/// Placement order (mkisofs -sort, oscdimg -yo): higher weights first, a directory's weight
/// applying to everything below it; equal weights keep the order files were added.
pub(crate) fn placement_order(tree: &Tree) -> Vec<usize> {
    let mut order: Vec<usize> = (0..tree.data.len()).collect();
    if !tree.weights.is_empty() {
        let first_node = first_nodes(tree);
        let weight_of = |mut n: NodeId| loop {
            if let Some(w) = tree.weights.get(&n) {
                break *w;
            }
            if n == 0 {
                break 0;
            }
            n = tree.node(n).parent;
        };
        let w: Vec<i32> = first_node
            .iter()
            .map(|&n| if n == u32::MAX { 0 } else { weight_of(n) })
            .collect();
        order.sort_by_key(|&id| std::cmp::Reverse(w[id]));
    }
    order
}

/// Content deduplication: duplicates use their first twin's extent. Boot files whose boot
/// info table is patched are left alone (their bytes in the image differ), and so is data an
/// appended session leaves on its base. With `single_pass` only the large files are decided
/// here; the small ones sharing a size with another are returned undecided, to be hashed as
/// they are written. Without `opts.dedup`, every data id is its own.
pub(crate) fn find_duplicates(
    tree: &Tree,
    opts: &Options,
    boot: Option<&BootPlan>,
    order: &[usize],
    single_pass: bool,
    progress: &mut dyn Progress,
) -> Result<(Dedup, Vec<DataId>)> {
    if !opts.dedup {
        return Ok((
            Dedup {
                canon: (0..tree.data.len() as u32).collect(),
                ..Default::default()
            },
            Vec::new(),
        ));
    }
    let mut rank = vec![0u32; tree.data.len()];
    for (k, &id) in order.iter().enumerate() {
        rank[id] = k as u32;
    }
    let mut exclude: HashSet<u32> = boot
        .map(|b| {
            b.entries
                .iter()
                .filter(|e| e.info_table.is_some())
                .map(|e| e.data)
                .chain(b.appended.iter().copied())
                .collect()
        })
        .unwrap_or_default();
    // Data an appended session leaves where it is on the base.
    exclude.extend((0..tree.data.len() as u32).filter(|&d| tree.record_extents(d).is_some()));
    let scope = if single_pass {
        dedup::Scope::LargeOnly
    } else {
        dedup::Scope::All
    };
    dedup::find(tree, &exclude, &rank, scope, progress)
}

/// Reserves every file's data in placement `order` (duplicates take their canonical twin's
/// extent, empty files none), then the padding, the backup GPT and UDF's closing anchor, and
/// checks the size limits (`check_max`: the caller's `max_blocks`). Returns each data id's
/// first block.
#[allow(clippy::too_many_arguments)]
pub(crate) fn place_data(
    plan: &mut Plan,
    tree: &Tree,
    opts: &Options,
    order: &[usize],
    dedup: &Dedup,
    udf: Option<&mut UdfPlan>,
    boot: Option<&BootPlan>,
    check_max: bool,
    progress: &mut dyn Progress,
) -> Result<(Vec<u32>, Geometry)> {
    let hybrid = boot.and_then(|b| b.hybrid.as_ref());
    let gpt = hybrid.is_some_and(|h| h.gpt);
    let appended = boot.map_or(&[][..], |b| &b.appended[..]);
    let first_node = first_nodes(tree);
    let mut file_lba = vec![0u32; tree.data.len()];
    for (k, &id) in order.iter().enumerate() {
        let d = &tree.data[id];
        if k % 4096 == 4095 && progress.query_abort() {
            return Err(Error::Aborted);
        }
        if let Some(first) = tree.record_extents(id as u32).and_then(|p| p.first()) {
            file_lba[id] = first.lba; // Stays on the base image (appended session).
            continue;
        }
        if dedup.canon[id] != id as u32 {
            continue; // Stored once, with its twin.
        }
        if d.len == 0 || first_node[id] == u32::MAX {
            continue; // Empty files take no block and get extent location 0.
        }
        if opts.reflink_align && d.len >= opts.reflink_min && plan.next_block() % 2 == 1 {
            // An even block is 4 KiB-aligned in the image file: the file's data can be cloned
            // (reflinked) from its source (`image::reflink`).
            let next = plan.next_block();
            plan.pad_to(next + 1)?;
        }
        let lba = plan.reserve_node(
            blocks_for(d.len),
            SegKind::File { data: id as u32 },
            ItemKind::FileData,
            first_node[id],
        );
        file_lba[id] = u32::try_from(lba).unwrap_or(u32::MAX);
    }
    for id in 0..tree.data.len() {
        let c = dedup.canon[id] as usize;
        if c != id {
            file_lba[id] = file_lba[c];
        }
    }
    // What follows the padding: UDF's closing anchor (256 blocks before the end with a GPT),
    // the backup GPT.
    let tail = match (gpt, udf.is_some()) {
        (true, true) => 257,
        (true, false) => GPT_BACKUP_BLOCKS as u64,
        (false, true) => 1,
        (false, false) => 0,
    };
    // The MBR's geometry, from the image's size before any cylinder alignment.
    let unaligned = plan.next_block()
        + appended
            .iter()
            .filter_map(|&d| tree.data.get(d as usize))
            .map(|d| d.len.div_ceil(BLOCK_SIZE_U64).max(1))
            .sum::<u64>()
        + opts.padding_blocks as u64
        + tail;
    let geometry = hybrid.map_or(Geometry::default(), |h| {
        h.geometry(unaligned * SECTORS_PER_BLOCK)
    });
    let cylinder = hybrid
        .filter(|h| h.aligns().0)
        .and_then(|_| cylinder_blocks(geometry));
    let align = |plan: &mut Plan, c: u64, tail: u64| {
        let pad = (plan.next_block() + tail).next_multiple_of(c) - (plan.next_block() + tail);
        if pad > 0 {
            plan.reserve(
                pad,
                SegKind::Zero,
                ItemKind::Padding,
                "Padding (to whole cylinders of the MBR)",
            );
        }
    };
    if let (Some(c), false) = (cylinder, appended.is_empty()) {
        // The ISO 9660 part ends on a cylinder boundary, where the appended partitions start.
        align(plan, c, 0);
    }
    if let Some(b) = boot {
        crate::layout::appended::place(plan, tree, b, geometry, &mut file_lba);
    }
    if opts.padding_blocks > 0 {
        plan.reserve(
            opts.padding_blocks as u64,
            SegKind::Zero,
            ItemKind::Padding,
            "Padding",
        );
    }
    if let (Some(c), true) = (cylinder, appended.is_empty()) {
        // The whole image, its backup GPT included, is whole cylinders.
        align(plan, c, tail);
    }
    // UDF 2.2.3 (ECMA-167 3/8.4.2.1): anchors in two of sectors 256, N - 256 and N (the last
    // one); the partition ends before the closing one. UEFI 5.3: the backup GPT ends the
    // image. With both, the GPT keeps the last sector and the closing anchor goes to N - 256,
    // zeros between the two.
    let mut udf = udf;
    let closing_anchor = |plan: &mut Plan, u: &mut UdfPlan| {
        let at = plan.reserve(
            1,
            SegKind::UdfAnchor,
            ItemKind::VolumeDescriptors,
            "UDF anchor volume descriptor pointer",
        );
        u.p_len = (at - u.p_start as u64) as u32;
    };
    if gpt {
        if let Some(u) = udf.as_deref_mut() {
            closing_anchor(plan, u);
            let backup = GPT_BACKUP_BLOCKS as u64;
            plan.reserve(
                256 - backup,
                SegKind::Zero,
                ItemKind::Padding,
                "Padding (the UDF anchor is 256 sectors before the last)",
            );
        }
        plan.reserve(
            GPT_BACKUP_BLOCKS as u64,
            SegKind::GptBackup,
            ItemKind::SystemArea,
            "Backup GPT",
        );
    } else if let Some(u) = udf {
        closing_anchor(plan, u);
    }

    let total_blocks = plan.next_block();
    if let Some(max) = opts.max_blocks.filter(|_| check_max) {
        if total_blocks > max {
            return Err(Error::ImageTooLarge {
                needed_blocks: total_blocks,
                needed_bytes: total_blocks * BLOCK_SIZE_U64,
                allowed_blocks: max,
                allowed_bytes: max * BLOCK_SIZE_U64,
            });
        }
    }
    // ECMA-119 8.4.8: the volume space size is a 32-bit block count.
    if total_blocks > u32::MAX as u64 {
        return Err(Error::ImageTooLarge {
            needed_blocks: total_blocks,
            needed_bytes: total_blocks * BLOCK_SIZE_U64,
            allowed_blocks: u32::MAX as u64,
            allowed_bytes: u32::MAX as u64 * BLOCK_SIZE_U64,
        });
    }
    Ok((file_lba, geometry))
}
