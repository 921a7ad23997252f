//! Appended partitions (`Hybrid::appended`): each file's blocks right after the file data,
//! before the padding, the UDF closing anchor and the backup GPT, so the partition tables can
//! point at them (their blocks are outside every file system's tree).

use crate::build::tree::{DataId, Tree};
use crate::layout::{ItemKind, Plan, SegKind};

/// Reserves the blocks of each appended partition's data in `appended` order and records
/// their first block in `file_lba`.
pub(crate) fn place(plan: &mut Plan, tree: &Tree, appended: &[DataId], file_lba: &mut [u32]) {
    for (i, &data) in appended.iter().enumerate() {
        let Some(d) = tree.data.get(data as usize) else {
            continue;
        };
        let lba = plan.reserve(
            d.len.div_ceil(crate::BLOCK_SIZE as u64),
            SegKind::File { data },
            ItemKind::FileData,
            format!("Appended partition ({} of the system area's list)", i + 1),
        );
        if let Some(slot) = file_lba.get_mut(data as usize) {
            *slot = u32::try_from(lba).unwrap_or(u32::MAX);
        }
    }
}
