//! The block map of an existing image ([`ImageReader::block_map`]): what every block holds,
//! as the [`ProgressItem`]s of a layout say it for a new image.
//!
//! The map is built from *claims*: every structure the reader finds claims its blocks (the
//! system area and partition tables, volume descriptors, path tables, each directory of each
//! view, Rock Ridge continuation areas, the El Torito catalog and boot images, the UDF
//! anchors, descriptor sequences, integrity sequence, file set descriptor, file entries,
//! metadata files and space bitmaps, and the file extents with every name that refers to
//! them). Claims of the same blocks are one item (its description is the most specific
//! one, the others are listed in [`MapItem::also`]); when claims nest or overlap, each block
//! belongs to the **innermost** claim, the one of fewest blocks (a UDF file entry inside the
//! metadata file), and the item says what it lies [`within`](MapItem::within); the outer
//! claim keeps the blocks no inner claim takes, as several items. Blocks nothing claims are
//! read: zero ones are padding, others are [`ItemKind::Unused`] (or blocks of an older
//! session, [`ItemKind::BaseImage`]). So the items cover `[0, image blocks)` in order, with no
//! gap and no overlap.

use crate::BLOCK_SIZE_U64;
use std::io::{Read, Seek};

use super::{DirEntry, ImageReader, View};
use crate::error::{ParseError, ParseErrorKind};
use crate::progress::{ItemKind, ProgressItem};

mod claims;
mod resolve;
mod structures;

pub(crate) use claims::{Claims, Rank};

/// Bytes of blocks that no structure claims read at most to tell padding (zeros) from unused
/// data; blocks beyond it are reported as not examined.
pub const UNCLAIMED_READ_LIMIT: u64 = 256 << 20;

/// One name of a file's data: its path in one view.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MapName {
    /// The view the path belongs to.
    pub view: View,
    /// The path in that view (`/a/b.txt`; ISO 9660 paths without the version).
    pub path: String,
}

/// One run of blocks of an existing image and what it holds ([`BlockMap`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapItem {
    /// First block (of [`BlockMap::block_size`] bytes: 2048 but for UDF volumes of other
    /// blocks).
    pub first_block: u64,
    /// Last block, inclusive.
    pub last_block: u64,
    /// Blocks: `last_block - first_block + 1`, never 0.
    pub block_count: u64,
    /// What the blocks hold.
    pub kind: ItemKind,
    /// As in a layout's [`ProgressItem`]: a file's path (in the image's default view, else
    /// the first view that names it), or the structure ("System area", "Volume descriptors",
    /// "Path table L (ISO 9660)", "Directory /a (Joliet)", "UDF file entry of /a", "Padding").
    pub description: String,
    /// For file data (and UDF file entries): every name that refers to these blocks, in
    /// every view: hard links, deduplicated copies, the same file seen through ISO 9660,
    /// Rock Ridge, Joliet, ISO 9660:1999 and UDF.
    pub names: Vec<MapName>,
    /// Other structures made of exactly these blocks (an El Torito boot image that is also a
    /// file, the UDF metadata mirror file sharing the metadata file's extent, a GPT partition).
    pub also: Vec<String>,
    /// The structure these blocks lie within when structures nest (the innermost one is the
    /// item; see the module documentation): "UDF metadata file" for the file entries of a
    /// UDF 2.50 image.
    pub within: Option<String>,
}

impl MapItem {
    /// The item as a layout's progress item (its description and kind).
    pub fn to_progress_item(&self) -> ProgressItem {
        ProgressItem {
            first_block: self.first_block,
            last_block: self.last_block,
            block_count: self.block_count,
            description: self.description.clone(),
            kind: self.kind,
        }
    }
}

/// What every block of an existing image holds ([`ImageReader::block_map`]): items in block
/// order covering `[0, total_blocks)` with no gap and no overlap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockMap {
    items: Vec<MapItem>,
    total_blocks: u64,
    notes: Vec<String>,
    block_size: u64,
}

impl BlockMap {
    /// The items, in block order.
    pub fn items(&self) -> &[MapItem] {
        &self.items
    }
    /// An iterator over the items.
    pub fn iter(&self) -> std::slice::Iter<'_, MapItem> {
        self.items.iter()
    }
    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }
    /// True for the map of an empty file.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// The blocks covered: the image's length in blocks (a last partial block counts).
    pub fn total_blocks(&self) -> u64 {
        self.total_blocks
    }
    /// The size in bytes of the blocks the map counts: 2048 (the ISO 9660 sector), or the
    /// logical block size of a UDF volume (ECMA-167 3/8.4.2.1) when its blocks are smaller (512
    /// or 1024 bytes: mkudffs's hard disk images), whose structures need that precision, or
    /// when the image has no ISO 9660 volume (4096-byte blocks: the numbers of the UDF view).
    /// 0 for a map built by hand ([`Default`]), which means 2048.
    pub fn block_size(&self) -> u64 {
        if self.block_size == 0 {
            BLOCK_SIZE_U64
        } else {
            self.block_size
        }
    }
    /// The index of the item holding `block`.
    pub fn index_of_block(&self, block: u64) -> Option<usize> {
        let i = self.items.partition_point(|it| it.last_block < block);
        self.items
            .get(i)
            .filter(|it| it.first_block <= block)
            .map(|_| i)
    }
    /// What lives at `block` (binary search): the question after a read error.
    pub fn from_block(&self, block: u64) -> Option<&MapItem> {
        self.index_of_block(block).and_then(|i| self.items.get(i))
    }
    /// The first item whose description is `description`, else the first file data that has
    /// it as a name's path (`/docs/a.txt` in any view), else the first other item with that
    /// name (a UDF file entry), else one that has it among [`MapItem::also`].
    pub fn from_description(&self, description: &str) -> Option<&MapItem> {
        let named = |it: &&MapItem| it.names.iter().any(|n| n.path == description);
        self.items
            .iter()
            .find(|it| it.description == description)
            .or_else(|| {
                self.items
                    .iter()
                    .filter(|it| it.kind == ItemKind::FileData)
                    .find(named)
            })
            .or_else(|| self.items.iter().find(named))
            .or_else(|| {
                self.items
                    .iter()
                    .find(|it| it.also.iter().any(|a| a == description))
            })
    }
    /// What the map could not describe or had to cut: structures that reach beyond the end
    /// of the image, views that could not be read (lenient mode), and so on.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }
    /// The items as a layout's progress items.
    pub fn progress_items(&self) -> impl Iterator<Item = ProgressItem> + '_ {
        self.items.iter().map(MapItem::to_progress_item)
    }
}

impl<'a> IntoIterator for &'a BlockMap {
    type Item = &'a MapItem;
    type IntoIter = std::slice::Iter<'a, MapItem>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl<R: Read + Seek> ImageReader<R> {
    /// What every block of the image holds: the system area and partition tables, volume
    /// descriptors, path tables, directories of every view, Rock Ridge continuation areas,
    /// El Torito catalog and boot images, UDF anchors, descriptor sequences, integrity
    /// sequence, file set descriptor, file entries, metadata files, file data (with every name
    /// of each extent), padding and unused blocks, in block order, covering the whole image
    /// (see [`BlockMap`] and the module documentation for blocks claimed twice).
    ///
    /// The map is of the session this reader opened (the newest by default); blocks of older
    /// sessions that it does not use are [`ItemKind::BaseImage`]. It reads every directory of
    /// every view (within the [`Limits`](super::Limits), each walk on its own budget, the map
    /// itself within [`Limits::max_metadata_bytes`](super::Limits)), and up to
    /// [`UNCLAIMED_READ_LIMIT`] bytes of blocks no structure claims. In lenient mode a view
    /// that cannot be read is left out with a [note](BlockMap::notes); in strict mode it is
    /// the error. Running out of the limits is always an error.
    pub fn block_map(&mut self) -> Result<BlockMap, ParseError> {
        // ECMA-167 3/8.4.2.1: UDF blocks smaller than a sector are the map's blocks, so that
        // its structures are placed exactly; so are larger ones on an image without ISO 9660
        // (the block numbers of the UDF view, `udfinfo` and `ls`).
        let unit = match self.udf.as_ref() {
            Some(u) if u.bs < BLOCK_SIZE_U64 || !self.has_iso => u.bs.clamp(512, 4096),
            _ => BLOCK_SIZE_U64,
        };
        let total = self.image_len.div_ceil(unit);
        let mut claims = Claims::new(self.limits.max_metadata_bytes, unit);
        self.system_area_claims(&mut claims, self.image_len.div_ceil(BLOCK_SIZE_U64))?;
        self.descriptor_claims(&mut claims)?;
        self.view_claims(&mut claims)?;
        self.udf_block_claims(&mut claims)?;
        self.boot_claims(&mut claims)?;
        self.session_claims(&mut claims);
        // What lenient reading left out of the walks (damaged records and file entries): the
        // blocks of those entries are not named.
        for msg in self.left_out.clone() {
            claims.note(format!("left out as damaged: {msg}"));
        }
        self.resolve(claims, total)
    }

    /// A view's walk, or in lenient mode `None` with a note when it fails (running out of the
    /// limits is always an error).
    fn map_walk(
        &mut self,
        view: View,
        claims: &mut Claims,
    ) -> Result<Option<Vec<(String, DirEntry)>>, ParseError> {
        match self.walk(view) {
            Ok(w) => Ok(Some(w)),
            Err(e)
                if self.limits.is_strict()
                    || matches!(e.kind, ParseErrorKind::LimitExceeded(..)) =>
            {
                Err(e)
            }
            Err(e) => {
                claims.note(format!("the {view} tree could not be read: {e}"));
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::claims::runs;
    use super::*;
    use crate::read::Extent;

    fn claims() -> Claims {
        Claims::new(1 << 20, BLOCK_SIZE_U64)
    }

    #[test]
    fn runs_join_contiguous_whole_block_extents() {
        let e = |lba, len| Extent { lba, len };
        assert_eq!(runs(&[e(10, 4096), e(12, 100)], BLOCK_SIZE_U64), [(10, 3)]);
        assert_eq!(
            runs(&[e(10, 100), e(11, 100)], BLOCK_SIZE_U64),
            [(10, 1), (11, 1)]
        );
        assert_eq!(
            runs(&[e(10, 2048), e(20, 1), e(0, 0)], BLOCK_SIZE_U64),
            [(10, 1), (20, 1)]
        );
        // UDF blocks of 512 bytes.
        assert_eq!(runs(&[e(10, 1024), e(12, 100)], 512), [(10, 3)]);
    }

    #[test]
    fn claims_in_udf_blocks_become_map_blocks() {
        // A map of 512-byte blocks: ISO 9660 sectors are 4 of its blocks.
        let mut c = Claims::new(1 << 20, 512);
        c.add(
            16,
            1,
            ItemKind::VolumeDescriptors,
            Rank::Descriptor,
            "vd".into(),
        )
        .unwrap();
        assert_eq!(c.list.last().map(|x| (x.first, x.count)), Some((64, 4)));
        c.source_unit(512);
        c.add(
            256,
            1,
            ItemKind::VolumeDescriptors,
            Rank::Descriptor,
            "a".into(),
        )
        .unwrap();
        assert_eq!(c.list.last().map(|x| (x.first, x.count)), Some((256, 1)));
        // A map of 2048-byte blocks, UDF blocks of 4096: twice as many.
        let mut c = Claims::new(1 << 20, BLOCK_SIZE_U64);
        c.source_unit(4096);
        c.add(
            256,
            3,
            ItemKind::VolumeDescriptors,
            Rank::Descriptor,
            "a".into(),
        )
        .unwrap();
        assert_eq!(c.list.last().map(|x| (x.first, x.count)), Some((512, 6)));
    }

    #[test]
    fn same_blocks_are_one_claim_with_every_description() {
        let mut c = claims();
        let boot = c
            .add(20, 2, ItemKind::BootImage, Rank::Boot, "boot".into())
            .unwrap();
        let file = c
            .add(20, 2, ItemKind::FileData, Rank::Data, String::new())
            .unwrap();
        assert_eq!(boot, file);
        c.name(file, View::Iso9660, "/B.IMG").unwrap();
        c.name(file, View::Joliet, "/b.img").unwrap();
        c.name(file, View::Joliet, "/b.img").unwrap();
        let cl = &c.list[0];
        assert_eq!(cl.kind, ItemKind::FileData);
        assert_eq!(cl.also, ["boot"]);
        assert_eq!(cl.names.len(), 2);
    }

    #[test]
    fn budget_is_enforced() {
        let mut c = Claims::new(200, BLOCK_SIZE_U64);
        let mut failed = false;
        for i in 0..100 {
            if c.add(i, 1, ItemKind::FileData, Rank::Data, "x".repeat(10))
                .is_err()
            {
                failed = true;
                break;
            }
        }
        assert!(failed);
    }
}
