//! Appended partitions (`Hybrid::appended`): each file's blocks right after the file data,
//! before the padding, the UDF closing anchor and the backup GPT, so the partition tables can
//! point at them (their blocks are outside every file system's tree).

use crate::build::boot::BootPlan;
use crate::build::tree::Tree;
use crate::format::eltorito::hybrid::Geometry;
use crate::layout::{ItemKind, Plan, SegKind};

/// Reserves the blocks of each appended partition's data in `boot.appended` order (padded to
/// whole cylinders of `geometry` with `-partition_cyl_align all`) and records their first
/// block in `file_lba`.
pub(crate) fn place(
    plan: &mut Plan,
    tree: &Tree,
    boot: &BootPlan,
    geometry: Geometry,
    file_lba: &mut [u32],
) {
    for (i, &data) in boot.appended.iter().enumerate() {
        let Some(d) = tree.data.get(data as usize) else {
            continue;
        };
        let blocks = d.len.div_ceil(crate::BLOCK_SIZE_U64).max(1);
        let lba = plan.reserve(
            blocks,
            SegKind::File { data },
            ItemKind::FileData,
            format!("Appended partition ({} of the system area's list)", i + 1),
        );
        let whole = boot.appended_blocks(tree, data, geometry);
        if whole > blocks {
            plan.reserve(
                whole - blocks,
                SegKind::Zero,
                ItemKind::Padding,
                format!(
                    "Padding of appended partition {} (to whole cylinders)",
                    i + 1
                ),
            );
        }
        if let Some(slot) = file_lba.get_mut(data as usize) {
            *slot = u32::try_from(lba).unwrap_or(u32::MAX);
        }
    }
}
