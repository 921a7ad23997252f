//! The metadata's reservations, each in its on-disk place: the system area, the volume
//! descriptors, UDF's volume structures and anchor, UDF's file structure, the ISO 9660 and
//! Joliet path tables and directories. [`lay_out`](crate::layout::pipeline::lay_out) calls them
//! in disk order.

use super::blocks_for;
use crate::build::base::AppendInput;
use crate::build::options::{IsoLevel, Options};
use crate::build::tree::{NodeId, Tree};
use crate::error::{Error, Result};
use crate::format::iso9660::session::{HEAD_BLOCKS, HEAD_FIRST};
use crate::layout::dir_tree::DirTree;
use crate::layout::udf::{self as udf_layout, MetaPlan, UdfPlan};
use crate::layout::{PathTablePos, Plan, SegKind, TreeSel};
use crate::progress::ItemKind;

/// ECMA-119 6.2.1: sectors 0-15 are the system area (a hybrid image's MBR and primary GPT).
/// An appended session: the base's blocks, then the session's own system area.
pub(crate) fn system_area(
    plan: &mut Plan,
    append: Option<&AppendInput>,
    hybrid: bool,
) -> Result<()> {
    if let Some(a) = append {
        return base_image(plan, a);
    }
    plan.reserve(
        16,
        if hybrid {
            SegKind::SystemArea
        } else {
            SegKind::Zero
        },
        ItemKind::SystemArea,
        "System area",
    );
    Ok(())
}

/// Reserves the blocks before the new session's volume descriptors: the base's system area
/// (kept), the head (blocks 16-31: the new descriptors over the base's blocks), the rest of
/// the base (kept), the alignment padding, and the session's own system area, which holds
/// the base's blocks 16-31 as they were (so the previous session can still be read).
fn base_image(plan: &mut Plan, a: &AppendInput) -> Result<()> {
    let head_end = HEAD_FIRST + HEAD_BLOCKS;
    plan.reserve(
        HEAD_FIRST,
        SegKind::Base { src: 0 },
        ItemKind::SystemArea,
        "System area (kept from the base image)",
    );
    plan.reserve(
        HEAD_BLOCKS,
        SegKind::Head,
        ItemKind::VolumeDescriptors,
        format!(
            "Volume descriptors of session {} (copy at block 16)",
            a.number
        ),
    );
    let mut at = head_end;
    let block = |b: u64| {
        u32::try_from(b)
            .map_err(|_| Error::InvalidOption("the base image has 2^32 blocks or more".into()))
    };
    if a.clear_udf_anchor {
        // ECMA-167 3/8.4.2.1: the anchor at 256, cleared.
        plan.reserve(
            udf_layout::ANCHOR as u64 - at,
            SegKind::Base { src: block(at)? },
            ItemKind::BaseImage,
            "Earlier sessions (kept)",
        );
        plan.reserve(
            1,
            SegKind::Zero,
            ItemKind::Padding,
            "UDF anchor of the base image (cleared: UDF is not appended)",
        );
        at = udf_layout::ANCHOR as u64 + 1;
    }
    if a.old_end > at {
        plan.reserve(
            a.old_end - at,
            SegKind::Base { src: block(at)? },
            ItemKind::BaseImage,
            "Earlier sessions (kept)",
        );
    }
    plan.pad_to(a.start)?;
    plan.reserve(
        HEAD_BLOCKS,
        SegKind::SavedHead,
        ItemKind::SystemArea,
        format!(
            "System area of session {}: blocks 16-31 of session {}",
            a.number,
            a.number - 1
        ),
    );
    Ok(())
}

/// ECMA-119 6.7.1: the volume descriptor set from sector 16: primary, (El Torito boot record),
/// (enhanced), (Joliet), terminator.
pub(crate) fn volume_descriptors(
    plan: &mut Plan,
    opts: &Options,
    boot: bool,
    append: Option<&AppendInput>,
    joliet: bool,
) {
    let carried_boot_record = !boot && append.is_some_and(|a| a.boot_record.is_some());
    let vd_count = 2
        + u64::from(boot || carried_boot_record)
        + u64::from(opts.level == IsoLevel::Iso1999)
        + u64::from(joliet);
    plan.reserve(
        vd_count,
        SegKind::VolumeDescriptors,
        ItemKind::VolumeDescriptors,
        "Volume descriptors",
    );
}

/// `-partition_offset N`: the partition's own volume descriptor set at its block 16 (block
/// N + 16 of the image; its blocks 0-15, the partition's system area, hold the image's
/// descriptors): primary, (enhanced), (Joliet), terminator. Like xorriso's, it has no El
/// Torito boot record (the catalog is found through the image's).
pub(crate) fn partition_descriptors(
    plan: &mut Plan,
    opts: &Options,
    offset: u32,
    joliet: bool,
) -> Result<()> {
    plan.pad_to(u64::from(offset) + 16)?;
    let vd_count = 2 + u64::from(opts.level == IsoLevel::Iso1999) + u64::from(joliet);
    plan.reserve(
        vd_count,
        SegKind::PartitionDescriptors,
        ItemKind::VolumeDescriptors,
        format!("Volume descriptors of the partition at block {offset}"),
    );
    Ok(())
}

/// ECMA-167 2/8.3: the UDF volume recognition sequence follows the ISO 9660 descriptors
/// without a gap.
pub(crate) fn udf_recognition(plan: &mut Plan) {
    plan.reserve(
        3,
        SegKind::UdfVrs,
        ItemKind::VolumeDescriptors,
        "UDF volume recognition sequence",
    );
}

/// The UDF main and reserve volume descriptor sequences (pinned at 32 and 48) and the logical
/// volume integrity sequence (at 64).
pub(crate) fn udf_volume_descriptors(plan: &mut Plan) -> Result<()> {
    plan.pad_to(udf_layout::VDS_MAIN as u64)?;
    plan.reserve(
        16,
        SegKind::UdfVds { reserve: false },
        ItemKind::VolumeDescriptors,
        "UDF main volume descriptor sequence",
    );
    plan.reserve(
        16,
        SegKind::UdfVds { reserve: true },
        ItemKind::VolumeDescriptors,
        "UDF reserve volume descriptor sequence",
    );
    plan.reserve(
        2,
        SegKind::UdfLvid,
        ItemKind::VolumeDescriptors,
        "UDF logical volume integrity sequence",
    );
    Ok(())
}

/// ECMA-167 3/8.4.2.1: the first anchor volume descriptor pointer, pinned at 256.
pub(crate) fn udf_anchor(plan: &mut Plan) -> Result<()> {
    plan.pad_to(udf_layout::ANCHOR as u64)?;
    plan.reserve(
        1,
        SegKind::UdfAnchor,
        ItemKind::VolumeDescriptors,
        "UDF anchor volume descriptor pointer",
    );
    Ok(())
}

/// UDF file structure (ECMA-167 part 4) inside the partition that starts after the anchor, at
/// its very start: block numbers of the physical partition (1.02 to 2.01) count from the
/// partition start, and the file structure's (`UdfPlan::fe_block`, directory blocks, the file
/// set descriptor at block 0) from `fs_abs`, so the two must be the same sector.
pub(crate) fn udf_file_structure(plan: &mut Plan, tree: &Tree, u: &mut UdfPlan) -> Result<()> {
    u.p_start = udf_layout::ANCHOR + 1;
    if u.rev.has_metadata_partition() {
        // UDF 2.2.13: the metadata partition is one extent of the metadata file that starts
        // at block 0 of the physical partition (aligned to the alignment unit) and is a
        // multiple of the allocation unit long, so block n of the metadata partition is
        // block n of the physical partition: readers that ignore the metadata partition map
        // (pycdlib, GRUB) find the file set descriptor, the entries and the directories
        // where readers that follow it do. The metadata file's and its mirror's entries
        // (in the physical partition) follow the extent.
        u.fs_abs = plan.next_block() as u32;
        debug_assert_eq!(u.fs_abs, u.p_start, "metadata partition not at block 0");
        reserve_udf_fs(plan, tree, u);
        let unit = udf_layout::META_UNIT as u64;
        let used = plan.next_block() - u.fs_abs as u64;
        plan.pad_to(u.fs_abs as u64 + used.div_ceil(unit) * unit)?;
        let blocks = (plan.next_block() - u.fs_abs as u64) as u32;
        let fe = plan.reserve(
            2,
            SegKind::UdfMetaEntries,
            ItemKind::FileEntries,
            "UDF metadata file and mirror file entries",
        );
        u.meta = Some(MetaPlan {
            fe_abs: fe as u32,
            start: 0,
            blocks,
        });
    } else {
        u.fs_abs = plan.next_block() as u32;
        debug_assert_eq!(
            u.fs_abs, u.p_start,
            "file structure not at the partition start"
        );
        reserve_udf_fs(plan, tree, u);
    }
    Ok(())
}

/// Reserves the UDF file structure from the current block (block 0 of its partition): the file
/// set descriptor and terminator, the file entries, the allocation extent descriptors of files
/// whose descriptors do not fit in their entries, each directory's data.
fn reserve_udf_fs(plan: &mut Plan, tree: &Tree, u: &mut UdfPlan) {
    plan.reserve(
        2,
        SegKind::UdfFileSet,
        ItemKind::FileEntries,
        "UDF file set descriptor",
    );
    let n = u.entries.len() as u32;
    let mut first = 0;
    while first < n {
        let count = (n - first).min(udf_layout::ENTRIES_PER_SEGMENT);
        plan.reserve(
            count as u64,
            // At most ENTRIES_PER_SEGMENT (256).
            SegKind::UdfEntries {
                first,
                count: count as u16,
            },
            ItemKind::FileEntries,
            format!("UDF file entries {}-{}", first + 1, first + count),
        );
        first += count;
    }
    let aed = u.aed_blocks();
    if aed > 0 {
        u.aed_start = (plan.next_block() - u.fs_abs as u64) as u32;
        plan.reserve(
            aed as u64,
            SegKind::UdfAllocExtents,
            ItemKind::FileEntries,
            "UDF allocation extent descriptors",
        );
    }
    for (d, dir) in u.dirs.iter_mut().enumerate() {
        dir.block = (plan.next_block() - u.fs_abs as u64) as u32;
        plan.reserve(
            blocks_for(dir.data_len),
            SegKind::UdfDir { dir: d as u32 },
            ItemKind::Directory,
            format!("Directory {} (UDF)", tree.path_of(dir.node)),
        );
    }
}

/// Blocks of the ISO 9660 and Joliet metadata: path tables (ECMA-119 6.9, type L then M per
/// view), directories, Rock Ridge continuation areas.
pub(crate) fn iso_metadata_blocks(iso: Option<&DirTree>, joliet: Option<&DirTree>) -> u64 {
    [iso, joliet]
        .into_iter()
        .flatten()
        .map(|v| {
            2 * blocks_for(v.path_table_size)
                + v.dirs.iter().map(|d| blocks_for(d.size)).sum::<u64>()
                + v.rr.as_ref().map_or(0, |rv| blocks_for(rv.pool_bytes))
        })
        .sum()
}

/// Where the ISO 9660 and Joliet metadata went.
pub(crate) struct IsoPlaced {
    pub iso_pt: PathTablePos,
    pub joliet_pt: Option<PathTablePos>,
    pub iso_dirs: Vec<u32>,
    pub joliet_dirs: Option<Vec<u32>>,
    pub ce_block_lba: Vec<u32>,
}

/// Reserves the ISO 9660 / Joliet metadata: path tables, directories, continuation areas;
/// with `part`, those of the copy inside the partition of `-partition_offset`.
pub(crate) fn iso(
    plan: &mut Plan,
    tree: &Tree,
    iso_view: Option<&DirTree>,
    joliet_view: Option<&DirTree>,
    relocation: Option<&(NodeId, Vec<NodeId>)>,
    part: bool,
) -> IsoPlaced {
    let sel = |s: TreeSel| if part { s.in_partition() } else { s };
    let label_of = |v: &DirTree| {
        if part {
            format!("{}, partition copy", v.kind.label())
        } else {
            v.kind.label().to_string()
        }
    };
    // Path tables (ECMA-119 6.9): type L then type M, per view.
    let tables = |plan: &mut Plan, v: &DirTree, sel: TreeSel| -> PathTablePos {
        let n = blocks_for(v.path_table_size);
        let label = label_of(v);
        let l = plan.reserve(
            n,
            SegKind::PathTable {
                view: sel,
                big_endian: false,
            },
            ItemKind::PathTable,
            format!("Path table L ({label})"),
        );
        let m = plan.reserve(
            n,
            SegKind::PathTable {
                view: sel,
                big_endian: true,
            },
            ItemKind::PathTable,
            format!("Path table M ({label})"),
        );
        PathTablePos {
            l: l as u32,
            m: m as u32,
        }
    };
    let iso_pt = iso_view
        .map(|v| tables(plan, v, sel(TreeSel::Iso)))
        .unwrap_or_default();
    let joliet_pt = joliet_view.map(|v| tables(plan, v, sel(TreeSel::Joliet)));
    // Directories of each view, in path table order (see `iso_dir_order` for relocations).
    // SUSP 5.1: the Rock Ridge continuation areas of a directory's records follow it.
    let dirs = |plan: &mut Plan, v: &DirTree, sel: TreeSel, order: &[usize]| {
        let label = label_of(v);
        let mut lba = vec![0u32; v.dirs.len()];
        let mut ce_block_lba =
            vec![0u32; v.rr.as_ref().map_or(0, |r| blocks_for(r.pool_bytes)) as usize];
        for &i in order {
            let d = &v.dirs[i];
            lba[i] = plan.reserve(
                blocks_for(d.size),
                SegKind::Directory {
                    view: sel,
                    dir: i as u32,
                },
                ItemKind::Directory,
                format!("Directory {} ({label})", tree.path_of(d.node)),
            ) as u32;
            if let Some(&(first, n)) = v.rr.as_ref().and_then(|r| r.dir_pool.get(i)) {
                if n > 0 {
                    let at = plan.reserve(
                        n,
                        SegKind::ContinuationAreas {
                            dir: i as u32,
                            part,
                        },
                        ItemKind::ContinuationAreas,
                        format!(
                            "Rock Ridge continuation areas of {}{}",
                            tree.path_of(d.node),
                            if part { " (partition copy)" } else { "" }
                        ),
                    );
                    for k in 0..n {
                        ce_block_lba[(first + k) as usize] = (at + k) as u32;
                    }
                }
            }
        }
        (lba, ce_block_lba)
    };
    let (iso_dirs, ce_block_lba) = match iso_view {
        Some(v) => {
            let order = iso_dir_order(tree, v, relocation);
            dirs(plan, v, sel(TreeSel::Iso), &order)
        }
        None => (Vec::new(), Vec::new()),
    };
    let joliet_dirs = joliet_view.map(|v| {
        let order: Vec<usize> = (0..v.dirs.len()).collect();
        dirs(plan, v, sel(TreeSel::Joliet), &order).0
    });
    IsoPlaced {
        iso_pt,
        joliet_pt,
        iso_dirs,
        joliet_dirs,
        ce_block_lba,
    }
}

/// The order in which the ISO 9660 view's directories are laid out: path table order, except
/// that with relocated directories (RRIP 4.1.5) the relocation directory comes right after the
/// root, then the directories in the subtrees of the most deeply nested relocations, and the
/// directories that were not relocated last. Readers that stream the image in block order
/// (libarchive) join a relocated directory to its placeholder when they meet the placeholder,
/// and refuse the image ("Failed to connect 'CL' pointer to 'RE'") if a placeholder inside a
/// relocated subtree turns up after that subtree was joined to its own placeholder.
pub(crate) fn iso_dir_order(
    tree: &Tree,
    view: &DirTree,
    relocation: Option<&(NodeId, Vec<NodeId>)>,
) -> Vec<usize> {
    let mut order: Vec<usize> = (0..view.dirs.len()).collect();
    let Some((reloc_dir, moved)) = relocation else {
        return order;
    };
    let moved: std::collections::HashSet<NodeId> = moved.iter().copied().collect();
    // How many relocated directories are on the original path to `n` (itself included).
    let nesting = |mut n: NodeId| {
        let mut k = 0usize;
        loop {
            k += usize::from(moved.contains(&n));
            if n == 0 {
                return k;
            }
            n = tree.node(n).parent;
        }
    };
    order.sort_by_cached_key(|&i| {
        let n = view.dirs[i].node;
        (i != 0, n != *reloc_dir, std::cmp::Reverse(nesting(n)), i)
    });
    order
}
