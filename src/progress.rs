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
    /// The El Torito boot catalog, when no file of the image holds it (a map of an existing
    /// image, [`crate::read::BlockMap`]).
    BootCatalog,
    /// An El Torito boot image that is no file of the image (a map of an existing image).
    BootImage,
    /// Blocks no structure refers to that are not all zero, or that were not read (a map of an
    /// existing image).
    Unused,
}

/// One segment of the image: IMAPI's IProgressItem.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
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
        self.first_block * crate::BLOCK_SIZE_U64
    }
    /// The segment's length in bytes.
    pub fn byte_len(&self) -> u64 {
        self.block_count * crate::BLOCK_SIZE_U64
    }
}

/// What a stored segment's description is: a text of the layout, or a tree node's path
/// (the data of a file: its path is built when an item is asked for, not stored per file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Desc {
    /// Index into [`ProgressItems`]'s texts.
    Text(u32),
    /// The path of this entry of the layout ([`EntryPaths`]: a node of its tree).
    Path(u32),
}

/// One stored segment: a [`ProgressItem`] without its description string (16 bytes: there
/// is one per file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seg {
    /// The first block (an image has at most 2^32 - 1 blocks: the layout refuses larger ones
    /// before it returns, so a saturated value is never used).
    first: u32,
    /// Blocks, never 0.
    pub block_count: u32,
    /// The [`Desc`]: `Text(i)` is `i | TEXT`, `Path(n)` is `n` (node ids are below 2^31).
    desc: u32,
    pub kind: ItemKind,
}

const _: () = assert!(std::mem::size_of::<Seg>() == 16);

/// Bit of [`Seg::desc`] marking a text index.
const TEXT: u32 = 1 << 31;

impl Seg {
    pub fn new(first_block: u64, block_count: u32, desc: Desc, kind: ItemKind) -> Self {
        Seg {
            first: u32::try_from(first_block).unwrap_or(u32::MAX),
            block_count,
            desc: match desc {
                Desc::Text(i) => i | TEXT,
                Desc::Path(n) => {
                    debug_assert!(n < TEXT);
                    n & !TEXT
                }
            },
            kind,
        }
    }
    pub fn first_block(&self) -> u64 {
        u64::from(self.first)
    }
    fn set_first_block(&mut self, b: u64) {
        self.first = u32::try_from(b).unwrap_or(u32::MAX);
    }
    pub fn desc(&self) -> Desc {
        if self.desc & TEXT != 0 {
            Desc::Text(self.desc & !TEXT)
        } else {
            Desc::Path(self.desc)
        }
    }
    /// The byte offset of the first block.
    pub fn byte_offset(&self) -> u64 {
        self.first_block() * crate::BLOCK_SIZE_U64
    }
    /// The segment's length in bytes.
    pub fn byte_len(&self) -> u64 {
        u64::from(self.block_count) * crate::BLOCK_SIZE_U64
    }
    fn last_block(&self) -> u64 {
        self.first_block() + u64::from(self.block_count) - 1
    }
}

/// Segments and their descriptions as the layout collects them (see [`ProgressItems`]).
#[derive(Debug, Default)]
pub(crate) struct SegList {
    pub segs: Vec<Seg>,
    pub texts: Vec<Box<str>>,
}

impl SegList {
    /// Appends a segment described by `text`.
    pub fn push_text(&mut self, first_block: u64, blocks: u64, kind: ItemKind, text: String) {
        let i = self.texts.len() as u32;
        self.texts.push(text.into_boxed_str());
        self.push(first_block, blocks, kind, Desc::Text(i));
    }
    /// Appends a segment described by a node's path.
    pub fn push(&mut self, first_block: u64, blocks: u64, kind: ItemKind, desc: Desc) {
        // The layout refuses images of 2^32 blocks or more before it returns one.
        let count = u32::try_from(blocks).unwrap_or(u32::MAX);
        self.segs.push(Seg::new(first_block, count, desc, kind));
    }
}

/// The ordered, gap-free collection of an image's items: IMAPI's IProgressItems.
///
/// Items are stored compactly (block range, kind, and a reference to their description: the
/// path of a file is rebuilt from the image's tree when asked for), so [`get`](Self::get),
/// [`from_block`](Self::from_block), [`from_description`](Self::from_description) and the
/// iterator return items by value.
#[derive(Clone, Default)]
pub struct ProgressItems {
    // Shared Vecs, not `Arc<[_]>`: converting would copy every segment once more at the end
    // of the layout (the peak of its memory use).
    segs: Arc<Vec<Seg>>,
    texts: Arc<Vec<Box<str>>>,
    tree: Option<Arc<dyn EntryPaths>>,
}

/// The paths of the entries a layout's items name ([`Desc::Path`]), built when an item is
/// asked for. The layout's tree implements it; this module knows no tree type.
pub(crate) trait EntryPaths: Send + Sync {
    /// The image path of entry `entry`.
    fn path_of(&self, entry: u32) -> String;
    /// Whether [`path_of`](Self::path_of)`(entry)` is `want`, without building it.
    fn path_is(&self, entry: u32, want: &str) -> bool;
    /// The image paths of every file whose bytes are entry `entry`'s data (its hard links and
    /// deduplicated copies), `entry`'s own first.
    fn sharing(&self, entry: u32) -> Vec<String> {
        vec![self.path_of(entry)]
    }
    /// The first block of the data of the file at `path` (any of its names), when it has
    /// bytes in the image.
    fn data_block(&self, _path: &str) -> Option<u64> {
        None
    }
}

impl std::fmt::Debug for ProgressItems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl ProgressItems {
    /// The items of a layout: `tree` gives the paths of [`Desc::Path`] segments.
    pub(crate) fn new(list: SegList, tree: Option<Arc<dyn EntryPaths>>) -> Self {
        let SegList {
            mut segs,
            mut texts,
        } = list;
        debug_assert!(segs
            .windows(2)
            .all(|w| w[0].last_block() + 1 == w[1].first_block()));
        segs.shrink_to_fit();
        texts.shrink_to_fit();
        ProgressItems {
            segs: Arc::new(segs),
            texts: Arc::new(texts),
            tree,
        }
    }
    /// Items in block order that need not cover every block (the parts of an image an append
    /// writes): `prefix`, then the items of `base` from block `from` on (an item that starts
    /// before `from` is cut there).
    pub(crate) fn from_sorted(prefix: Vec<ProgressItem>, base: &ProgressItems, from: u64) -> Self {
        let mut texts: Vec<Box<str>> = base.texts.as_ref().clone();
        let mut segs = Vec::with_capacity(prefix.len() + base.segs.len());
        for it in prefix {
            let i = texts.len() as u32;
            texts.push(it.description.into_boxed_str());
            segs.push(Seg::new(
                it.first_block,
                u32::try_from(it.block_count).unwrap_or(u32::MAX),
                Desc::Text(i),
                it.kind,
            ));
        }
        for s in base.segs.iter() {
            if s.last_block() < from {
                continue;
            }
            let mut s = *s;
            if s.first_block() < from {
                s.block_count = (s.last_block() - from + 1) as u32;
                s.set_first_block(from);
            }
            segs.push(s);
        }
        debug_assert!(segs
            .windows(2)
            .all(|w| w[0].last_block() < w[1].first_block()));
        ProgressItems {
            segs: Arc::new(segs),
            texts: Arc::new(texts),
            tree: base.tree.clone(),
        }
    }
    /// The stored segments (crate use: offsets and kinds without descriptions).
    pub(crate) fn segs(&self) -> &[Seg] {
        &self.segs
    }
    /// The description of a stored segment.
    fn describe(&self, s: &Seg) -> String {
        match s.desc() {
            Desc::Text(i) => self
                .texts
                .get(i as usize)
                .map_or_else(String::new, |t| t.to_string()),
            Desc::Path(n) => self
                .tree
                .as_ref()
                .map_or_else(String::new, |t| t.path_of(n)),
        }
    }
    /// Whether a stored segment's description is `want`, without building it when it is a
    /// path that cannot match.
    fn describes(&self, s: &Seg, want: &str) -> bool {
        match s.desc() {
            Desc::Text(i) => self.texts.get(i as usize).is_some_and(|t| **t == *want),
            Desc::Path(n) => match &self.tree {
                Some(t) => want.starts_with('/') && t.path_is(n, want),
                None => want.is_empty(),
            },
        }
    }
    fn item(&self, s: &Seg) -> ProgressItem {
        ProgressItem {
            first_block: s.first_block(),
            last_block: s.last_block(),
            block_count: u64::from(s.block_count),
            description: self.describe(s),
            kind: s.kind,
        }
    }
    /// The first `n` segments and their texts, to continue a layout (moved out when this is
    /// the only reference).
    pub(crate) fn into_prefix(self, n: usize) -> SegList {
        let mut segs = Arc::try_unwrap(self.segs).unwrap_or_else(|a| (*a).clone());
        segs.truncate(n);
        // Texts are pushed in segment order: the prefix's texts are a prefix of them.
        let used = segs
            .iter()
            .filter_map(|s| match s.desc() {
                Desc::Text(i) => Some(i as usize + 1),
                Desc::Path(_) => None,
            })
            .max()
            .unwrap_or(0);
        let mut texts = Arc::try_unwrap(self.texts).unwrap_or_else(|a| (*a).clone());
        texts.truncate(used);
        SegList { segs, texts }
    }
    /// Number of items.
    pub fn len(&self) -> usize {
        self.segs.len()
    }
    /// True when there are no items (never the case for a built image).
    pub fn is_empty(&self) -> bool {
        self.segs.is_empty()
    }
    /// The item at `index`.
    pub fn get(&self, index: usize) -> Option<ProgressItem> {
        self.segs.get(index).map(|s| self.item(s))
    }
    /// The item that contains block `lba`, found by binary search (O(log n)).
    pub fn from_block(&self, lba: u64) -> Option<ProgressItem> {
        self.index_of_block(lba).and_then(|i| self.get(i))
    }
    /// The index of the item that contains block `lba`.
    pub fn index_of_block(&self, lba: u64) -> Option<usize> {
        let i = self.segs.partition_point(|s| s.last_block() < lba);
        self.segs
            .get(i)
            .filter(|s| s.first_block() <= lba)
            .map(|_| i)
    }
    /// The first item whose description equals `description` (a file's image path such as
    /// `/docs/a.txt`, or a metadata description such as `Directory /docs (ISO 9660)`). A file
    /// whose bytes are another file's extent (a hard link, a deduplicated copy) finds the item
    /// holding them, described by the first name: [`paths_of`](Self::paths_of) lists every
    /// name of that item. A description that names nothing costs a walk of the tree.
    pub fn from_description(&self, description: &str) -> Option<ProgressItem> {
        if let Some(s) = self.segs.iter().find(|s| self.describes(s, description)) {
            return Some(self.item(s));
        }
        let block = self.tree.as_ref()?.data_block(description)?;
        let i = self.index_of_block(block)?;
        let s = self.segs.get(i)?;
        (s.first_block() == block && s.kind == ItemKind::FileData).then(|| self.item(s))
    }
    /// Every description of item `index`: for a file's data, the image path of each file whose
    /// bytes it holds (the item's own description first, then its hard links and deduplicated
    /// copies, in tree order; costs a walk of the tree); for other items, their description.
    pub fn paths_of(&self, index: usize) -> Vec<String> {
        let Some(s) = self.segs.get(index) else {
            return Vec::new();
        };
        match (s.desc(), &self.tree) {
            (Desc::Path(n), Some(t)) => t.sharing(n),
            _ => vec![self.describe(s)],
        }
    }
    /// An iterator over the items (IMAPI's IEnumProgressItems), each built when reached.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            items: self,
            front: 0,
            back: self.segs.len(),
        }
    }
    /// The first block and block count of each item, in order, without building their
    /// descriptions.
    pub fn ranges(&self) -> impl ExactSizeIterator<Item = (u64, u64)> + '_ {
        self.segs
            .iter()
            .map(|s| (s.first_block(), u64::from(s.block_count)))
    }
    /// Total blocks covered.
    pub fn total_blocks(&self) -> u64 {
        self.segs.last().map_or(0, |s| s.last_block() + 1)
    }
}

/// The iterator of [`ProgressItems`] (IMAPI's IEnumProgressItems: `next` is Next, `nth` and
/// `skip` are Skip without building the skipped items, `clone` is Clone).
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    items: &'a ProgressItems,
    front: usize,
    back: usize,
}

impl Iterator for Iter<'_> {
    type Item = ProgressItem;
    fn next(&mut self) -> Option<ProgressItem> {
        if self.front >= self.back {
            return None;
        }
        let it = self.items.get(self.front);
        self.front += 1;
        it
    }
    fn nth(&mut self, n: usize) -> Option<ProgressItem> {
        self.front = self.front.saturating_add(n).min(self.back);
        self.next()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
    fn count(self) -> usize {
        self.back - self.front
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<ProgressItem> {
        if self.front >= self.back {
            return None;
        }
        self.back -= 1;
        self.items.get(self.back)
    }
}

impl ExactSizeIterator for Iter<'_> {}
impl std::iter::FusedIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a ProgressItems {
    type Item = ProgressItem;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// A phase of the work, passed to [`Progress::begin`] and [`Progress::end`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Scanning a source directory tree (`add_tree`), or the image's tree before a restore
    /// (`ImageReader::restore`). The total is unknown (0).
    Scan,
    /// Laying out the image. The total is the number of tree nodes.
    Layout,
    /// Writing the image. The total is the number of blocks.
    Write,
    /// Restoring an image's files on disk (`ImageReader::restore`). The total is the number of
    /// bytes of file data to write; `update` reports bytes written.
    Restore,
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

impl Outcome {
    /// How a phase that returned `r` ended.
    pub(crate) fn of<T>(r: &crate::error::Result<T>) -> Self {
        match r {
            Ok(_) => Outcome::Completed,
            Err(crate::error::Error::Aborted) => Outcome::Aborted,
            Err(_) => Outcome::Failed,
        }
    }
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
    #[test]
    fn lookup() {
        let mut list = SegList::default();
        list.push_text(0, 16, ItemKind::SystemArea, "System area".into());
        list.push_text(16, 1, ItemKind::VolumeDescriptors, "vd".into());
        list.push_text(17, 24, ItemKind::FileData, "/a".into());
        let items = ProgressItems::new(list, None);
        assert_eq!(items.from_block(0).unwrap().description, "System area");
        assert_eq!(items.from_block(16).unwrap().description, "vd");
        assert_eq!(items.from_block(40).unwrap().description, "/a");
        assert!(items.from_block(41).is_none());
        assert_eq!(items.from_description("/a").unwrap().first_block, 17);
        let it = items.iter();
        assert_eq!(it.clone().next_back().unwrap().description, "/a");
        assert_eq!(it.len(), 3);
        assert_eq!(it.clone().nth(1).unwrap().description, "vd");
        assert_eq!(it.clone().nth(2).unwrap().last_block, 40);
        assert_eq!(items.total_blocks(), 41);
    }
}
