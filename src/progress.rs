//! Progress reporting, modelled on Windows IMAPI2FS and IOfflineFilesProgress.
//!
//! A [`ProgressItem`] is one segment of the result image (IMAPI's IProgressItem): a run of
//! consecutive 2048-byte blocks holding one file's data or one metadata structure. The items of an
//! image ([`ProgressItems`], IMAPI's IProgressItems) are ordered by block and cover
//! `[0, total_blocks)` exactly, without gaps or overlaps. Their iterator is IMAPI's
//! IEnumProgressItems: `next` is Next, `nth`/`skip` is Skip, a fresh `iter()` is Reset and
//! `clone` is Clone.
//!
//! Empty files occupy no blocks, so they have no item; their directory records carry extent
//! location 0 and data length 0.
//!
//! The [`Progress`] trait receives callbacks while scanning a source tree, laying out and
//! writing. Every method has a no-op default, so an implementation overrides only what it needs.

use std::sync::Arc;

/// What a [`ProgressItem`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ItemKind {
    /// Sectors 0-15 (zero, or boot code for hybrid images).
    SystemArea,
    /// The volume descriptor set, from sector 16 to the terminator.
    VolumeDescriptors,
    /// A path table (one item per table).
    PathTable,
    /// One directory of one view.
    Directory,
    /// The data of one file (shared by every view that shows it).
    FileData,
    /// Rock Ridge continuation areas (SUSP `CE`).
    ContinuationAreas,
    /// UDF file set descriptor and file entries.
    FileEntries,
    /// Zero padding.
    Padding,
    /// Blocks of the base image an appended session keeps as they are (earlier sessions).
    BaseImage,
}

/// One segment of the image: IMAPI's IProgressItem.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProgressItem {
    /// First block (2048-byte sector) of the segment.
    pub first_block: u64,
    /// Last block of the segment, inclusive (as in IMAPI).
    pub last_block: u64,
    /// Number of blocks: `last_block - first_block + 1`, never 0.
    pub block_count: u64,
    /// The file's path in the image, or what the metadata holds ("System area",
    /// "Volume descriptors", "Path table L (ISO 9660)", "Directory /a/b (Joliet)", ...).
    pub description: String,
    /// What kind of content the segment holds.
    pub kind: ItemKind,
}

impl ProgressItem {
    /// The byte offset of the first block.
    pub fn byte_offset(&self) -> u64 {
        self.first_block * crate::BLOCK_SIZE as u64
    }
    /// The segment's length in bytes.
    pub fn byte_len(&self) -> u64 {
        self.block_count * crate::BLOCK_SIZE as u64
    }
}

/// The ordered, gap-free collection of an image's items: IMAPI's IProgressItems.
#[derive(Debug, Clone, Default)]
pub struct ProgressItems {
    // A shared Vec, not an `Arc<[_]>`: converting would copy every item once more at the
    // end of the layout (the peak of its memory use).
    items: Arc<Vec<ProgressItem>>,
}

impl ProgressItems {
    pub(crate) fn new(mut items: Vec<ProgressItem>) -> Self {
        debug_assert!(items
            .windows(2)
            .all(|w| w[0].last_block + 1 == w[1].first_block));
        ProgressItems {
            items: {
                items.shrink_to_fit();
                Arc::new(items)
            },
        }
    }
    /// Items in block order that need not cover every block (the parts of an image an append
    /// writes).
    pub(crate) fn from_sorted(items: Vec<ProgressItem>) -> Self {
        debug_assert!(items.windows(2).all(|w| w[0].last_block < w[1].first_block));
        ProgressItems {
            items: items.into(),
        }
    }
    /// The items as a vector (moved out when this is the only reference).
    pub(crate) fn into_vec(self) -> Vec<ProgressItem> {
        Arc::try_unwrap(self.items).unwrap_or_else(|a| (*a).clone())
    }
    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }
    /// True when there are no items (never the case for a built image).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// The item at `index`.
    pub fn get(&self, index: usize) -> Option<&ProgressItem> {
        self.items.get(index)
    }
    /// The item that contains block `lba`, found by binary search (O(log n)).
    pub fn from_block(&self, lba: u64) -> Option<&ProgressItem> {
        let i = self.items.partition_point(|it| it.last_block < lba);
        self.items.get(i).filter(|it| it.first_block <= lba)
    }
    /// The index of the item that contains block `lba`.
    pub fn index_of_block(&self, lba: u64) -> Option<usize> {
        let i = self.items.partition_point(|it| it.last_block < lba);
        self.items
            .get(i)
            .filter(|it| it.first_block <= lba)
            .map(|_| i)
    }
    /// The first item whose description equals `description` (a file's image path such as
    /// `/docs/a.txt`, or a metadata description such as `Directory /docs (ISO 9660)`).
    pub fn from_description(&self, description: &str) -> Option<&ProgressItem> {
        self.items.iter().find(|it| it.description == description)
    }
    /// An iterator over the items (IMAPI's IEnumProgressItems).
    pub fn iter(&self) -> std::slice::Iter<'_, ProgressItem> {
        self.items.iter()
    }
    /// The items as a slice.
    pub fn as_slice(&self) -> &[ProgressItem] {
        &self.items
    }
    /// Total blocks covered.
    pub fn total_blocks(&self) -> u64 {
        self.items.last().map_or(0, |it| it.last_block + 1)
    }
}

impl<'a> IntoIterator for &'a ProgressItems {
    type Item = &'a ProgressItem;
    type IntoIter = std::slice::Iter<'a, ProgressItem>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

/// A phase of the work, passed to [`Progress::begin`] and [`Progress::end`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Scanning a source directory tree (`add_tree`). The total is unknown (0).
    Scan,
    /// Laying out the image. The total is the number of tree nodes.
    Layout,
    /// Writing the image. The total is the number of blocks.
    Write,
}

/// How a phase ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The phase completed.
    Completed,
    /// `query_abort` returned true.
    Aborted,
    /// An error stopped it.
    Failed,
}

/// Callbacks while scanning, laying out and writing (IOfflineFilesProgress + IMAPI's Update
/// event). All methods have no-op defaults.
///
/// Guarantees while writing: `item_started` before each item; `update` (reporting what the
/// destination has received) at least every 1 MiB of output and at the end; `query_abort` at
/// least once per item and once per MiB.
/// When it returns true, the operation stops before writing the next MiB and returns
/// [`Error::Aborted`](crate::Error::Aborted). While scanning, `query_abort` is polled once per
/// directory entry; during layout, at least every 1,024 nodes.
pub trait Progress {
    /// A phase starts; `total` counts blocks (write), nodes (layout) or is 0 (scan).
    fn begin(&mut self, _phase: Phase, _total: u64) {}
    /// While scanning: an entry was added (its image path).
    fn scanned(&mut self, _image_path: &str) {}
    /// While writing: the item (file or metadata segment) is about to be written.
    fn item_started(&mut self, _item: &ProgressItem) {}
    /// Work done so far: blocks written (write) or nodes laid out (layout), of `total`.
    fn update(&mut self, _done: u64, _total: u64) {}
    /// Polled often; returning true stops the operation with `Error::Aborted`.
    fn query_abort(&mut self) -> bool {
        false
    }
    /// A phase ended.
    fn end(&mut self, _phase: Phase, _outcome: Outcome) {}
}

/// A progress sink that does nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;
impl Progress for NoProgress {}

impl<P: Progress + ?Sized> Progress for &mut P {
    fn begin(&mut self, phase: Phase, total: u64) {
        (**self).begin(phase, total)
    }
    fn scanned(&mut self, p: &str) {
        (**self).scanned(p)
    }
    fn item_started(&mut self, item: &ProgressItem) {
        (**self).item_started(item)
    }
    fn update(&mut self, done: u64, total: u64) {
        (**self).update(done, total)
    }
    fn query_abort(&mut self) -> bool {
        (**self).query_abort()
    }
    fn end(&mut self, phase: Phase, outcome: Outcome) {
        (**self).end(phase, outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn item(a: u64, b: u64, d: &str) -> ProgressItem {
        ProgressItem {
            first_block: a,
            last_block: b,
            block_count: b - a + 1,
            description: d.into(),
            kind: ItemKind::FileData,
        }
    }
    #[test]
    fn lookup() {
        let items = ProgressItems::new(vec![
            item(0, 15, "System area"),
            item(16, 16, "vd"),
            item(17, 40, "/a"),
        ]);
        assert_eq!(items.from_block(0).unwrap().description, "System area");
        assert_eq!(items.from_block(16).unwrap().description, "vd");
        assert_eq!(items.from_block(40).unwrap().description, "/a");
        assert!(items.from_block(41).is_none());
        assert_eq!(items.from_description("/a").unwrap().first_block, 17);
        let it = items.iter();
        assert_eq!(it.clone().next_back().unwrap().description, "/a");
        assert_eq!(it.len(), 3);
        assert_eq!(items.total_blocks(), 41);
    }
}
