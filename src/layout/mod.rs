//! The layout engine: a [`Plan`] reserves sectors for every structure in on-disk order; the
//! frozen [`Layout`] maps each segment (= [`ProgressItem`](crate::ProgressItem)) to what renders it.

pub(crate) mod appended;
pub(crate) mod dedup;
pub(crate) mod dir_tree;
pub(crate) mod notices;
pub(crate) mod phase;
pub(crate) mod pipeline;
pub(crate) mod render;
pub(crate) mod udf;

use chrono::{DateTime, Utc};

use crate::build::builder::Options;
use crate::build::tree::{DataId, Tree};
use crate::layout::dir_tree::DirTree;
use crate::progress::{Desc, ItemKind, ProgressItems, SegList};

/// Which directory view a segment belongs to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum TreeSel {
    Iso,
    Joliet,
    /// The copies inside the partition of `-partition_offset` ([`PartitionCopy`]).
    PartIso,
    PartJoliet,
}

impl TreeSel {
    /// The copy of this view inside the partition of `-partition_offset`.
    pub fn in_partition(self) -> TreeSel {
        match self {
            TreeSel::Iso | TreeSel::PartIso => TreeSel::PartIso,
            TreeSel::Joliet | TreeSel::PartJoliet => TreeSel::PartJoliet,
        }
    }
}

/// What renders a segment.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SegKind {
    /// All zeros (system area, padding).
    Zero,
    /// The system area with a hybrid MBR (and primary GPT).
    SystemArea,
    /// The backup GPT at the end of a hybrid image.
    GptBackup,
    /// The volume descriptor set.
    VolumeDescriptors,
    /// The volume descriptor set of the partition of `-partition_offset` (its block 16).
    PartitionDescriptors,
    /// A path table of a view.
    PathTable { view: TreeSel, big_endian: bool },
    /// Directory `dir` (index into the view's dirs).
    Directory { view: TreeSel, dir: u32 },
    /// A file's data.
    File { data: DataId },
    /// The Rock Ridge continuation areas of the records of ISO 9660 directory `dir` (of the
    /// partition's copy with `part`).
    ContinuationAreas { dir: u32, part: bool },
    /// UDF volume recognition sequence (BEA01, NSR0x, TEA01).
    UdfVrs,
    /// A UDF volume descriptor sequence (main or reserve).
    UdfVds { reserve: bool },
    /// The UDF logical volume integrity sequence.
    UdfLvid,
    /// A UDF anchor volume descriptor pointer (at the segment's own block).
    UdfAnchor,
    /// UDF 2.50+: the metadata file entry and the mirror file entry.
    UdfMetaEntries,
    /// The UDF file set descriptor and its terminator.
    UdfFileSet,
    /// UDF file entries `first..first + count`.
    UdfEntries { first: u32, count: u16 },
    /// Every UDF allocation extent descriptor (`UdfPlan::aeds`).
    UdfAllocExtents,
    /// A UDF directory's data (its FIDs).
    UdfDir { dir: u32 },
    /// Appending: blocks of the base image kept as they are, from base block `src`.
    Base { src: u32 },
    /// Appending: blocks 16-31 of the grown image: the new session's volume descriptors over
    /// the base's blocks (see `multisession`).
    Head,
    /// Appending: the new session's system area, a copy of the base's blocks 16-31.
    SavedHead,
}

// One per file: 8 bytes.
const _: () = assert!(std::mem::size_of::<SegKind>() == 8);

/// Mutable sector reservations, in on-disk order.
pub(crate) struct Plan {
    next: u64,
    pub kinds: Vec<SegKind>,
    pub items: SegList,
}

impl Plan {
    pub fn new() -> Self {
        Plan {
            next: 0,
            kinds: Vec::new(),
            items: SegList::default(),
        }
    }
    /// Reserves `blocks` (> 0) consecutive blocks and returns the first.
    pub fn reserve(
        &mut self,
        blocks: u64,
        kind: SegKind,
        item_kind: ItemKind,
        description: impl Into<String>,
    ) -> u64 {
        debug_assert!(blocks > 0);
        let first = self.next;
        self.next += blocks;
        self.kinds.push(kind);
        self.items
            .push_text(first, blocks, item_kind, description.into());
        first
    }
    /// [`reserve`](Self::reserve) for a segment described by a tree node's path (a file's
    /// data): the path is built only when the item is asked for.
    pub fn reserve_node(
        &mut self,
        blocks: u64,
        kind: SegKind,
        item_kind: ItemKind,
        node: crate::build::tree::NodeId,
    ) -> u64 {
        debug_assert!(blocks > 0);
        let first = self.next;
        self.next += blocks;
        self.kinds.push(kind);
        self.items.push(first, blocks, item_kind, Desc::Path(node));
        first
    }
    /// A plan continuing after `kinds`/`items`, whose next free block is `next`.
    pub fn resume(next: u64, kinds: Vec<SegKind>, items: SegList) -> Self {
        Plan { next, kinds, items }
    }
    pub fn next_block(&self) -> u64 {
        self.next
    }
    /// Pads with zero blocks up to `lba` (a pinned structure's sector).
    pub fn pad_to(&mut self, lba: u64) -> crate::error::Result<()> {
        if self.next > lba {
            return Err(crate::error::Error::InvalidOption(format!(
                "layout overflow: block {} is needed at {lba} but {} blocks are already used",
                lba, self.next
            )));
        }
        if self.next < lba {
            self.reserve(lba - self.next, SegKind::Zero, ItemKind::Padding, "Padding");
        }
        Ok(())
    }
}

/// Where a path table of a view lives.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PathTablePos {
    pub l: u32,
    pub m: u32,
}

/// One laid-out view: the names and directories, and where each directory lives.
pub(crate) struct PlacedTree {
    /// Shared by the view's copy inside the partition of `-partition_offset`.
    pub view: std::sync::Arc<DirTree>,
    pub dir_lba: Vec<u32>,
    pub path_tables: PathTablePos,
    /// Where each block of the Rock Ridge continuation-area pool is (empty if none).
    pub ce_block_lba: Vec<u32>,
    /// What is subtracted from every block address the view records (`dir_lba`, path tables
    /// and `ce_block_lba` already count from it): 0, or the partition offset for the copy
    /// inside the partition, whose addresses count from the partition's first block.
    pub origin: u32,
}

/// `-partition_offset`: the second set of volume descriptors and directory trees, inside the
/// partition that starts at block `offset` (addresses relative to it).
pub(crate) struct PartitionCopy {
    pub offset: u32,
    pub iso: Option<PlacedTree>,
    pub joliet: Option<PlacedTree>,
}

/// The frozen layout: everything the renderer needs, read-only.
pub(crate) struct Layout {
    /// A single-pass build's file data, not placed for good until written (see
    /// `pipeline::relayout`); `None` for every finished layout.
    pub pending: Option<Box<pipeline::Pending>>,
    /// What deduplication saved: (files, bytes).
    pub dedup_saved: (u64, u64),
    /// Shared with [`ProgressItems`] (which builds file paths from it).
    pub tree: std::sync::Arc<Tree>,
    pub options: Options,
    pub build_time: DateTime<Utc>,
    pub iso: Option<PlacedTree>,
    pub joliet: Option<PlacedTree>,
    /// The copy inside the partition of `-partition_offset`.
    pub part: Option<PartitionCopy>,
    pub udf: Option<udf::UdfPlan>,
    /// El Torito boot entries and catalog.
    pub boot: Option<crate::build::boot::BootPlan>,
    /// Boot info tables patched into boot files as they stream.
    pub patchers: std::collections::HashMap<
        crate::build::tree::DataId,
        crate::format::eltorito::info_table::BootFilePatcher,
    >,
    /// Seed of the deterministic GUIDs and signatures (from the build time).
    pub seed: u64,
    /// First block of each file's data (0 for empty files), indexed by DataId.
    pub file_lba: Vec<u32>,
    /// What renders segment `i` (parallel to `items`).
    pub kinds: Vec<SegKind>,
    pub items: ProgressItems,
    pub total_blocks: u64,
    pub warnings: Vec<String>,
}

impl Layout {
    pub fn view(&self, v: TreeSel) -> Option<&PlacedTree> {
        match v {
            TreeSel::Iso => self.iso.as_ref(),
            TreeSel::Joliet => self.joliet.as_ref(),
            TreeSel::PartIso => self.part.as_ref().and_then(|p| p.iso.as_ref()),
            TreeSel::PartJoliet => self.part.as_ref().and_then(|p| p.joliet.as_ref()),
        }
    }
    /// With `-partition_offset`: the partition's first block and its length in blocks (up to
    /// the first appended partition, or the end of the image), which its MBR / GPT entry and
    /// its primary volume descriptor's volume space size give.
    pub fn partition_extent(&self) -> Option<(u32, u32)> {
        let p = self.part.as_ref()?;
        let end = self.boot.as_ref().map_or(self.total_blocks, |b| {
            b.iso_end_block(&self.file_lba, self.total_blocks)
        });
        let len = end.saturating_sub(u64::from(p.offset));
        Some((p.offset, u32::try_from(len).unwrap_or(u32::MAX)))
    }
}
