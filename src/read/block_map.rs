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

use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Seek};

use super::{raw, read_at, rockridge, DirEntry, Extent, ImageReader, View, SECTOR};
use crate::error::{ParseError, ParseErrorKind};
use crate::format::eltorito::catalog::{Emulation, Platform};
use crate::progress::{ItemKind, ProgressItem};

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
            SECTOR
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

/// Which claim describes blocks that several claim exactly (lower wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Rank {
    /// A file's data.
    Data,
    /// A directory's records.
    Directory,
    /// Rock Ridge continuation areas.
    Continuation,
    /// UDF file entries, the file set descriptor, space bitmaps.
    Entry,
    /// Path tables.
    PathTable,
    /// Volume descriptors of either standard.
    Descriptor,
    /// The system area, partition tables.
    System,
    /// El Torito catalog and images (usually files too).
    Boot,
    /// A structure that holds others (the UDF metadata file and its mirror).
    Container,
}

/// One claim: blocks `[first, first + count)` hold this.
#[derive(Debug)]
struct Claim {
    first: u64,
    count: u64,
    kind: ItemKind,
    rank: Rank,
    desc: String,
    names: Vec<MapName>,
    also: Vec<String>,
}

/// A region that labels the blocks no claim takes in it (a UDF partition's free space, an
/// older session, a partition of the partition table).
#[derive(Debug)]
struct Background {
    first: u64,
    end: u64,
    label: String,
}

/// The claims collected while the image is read, within a memory budget.
#[derive(Debug)]
pub(crate) struct Claims {
    list: Vec<Claim>,
    by_range: HashMap<(u64, u64), usize>,
    backgrounds: Vec<Background>,
    notes: Vec<String>,
    used: u64,
    budget: u64,
    /// Bytes of the map's blocks ([`BlockMap::block_size`]).
    unit: u64,
    /// Bytes of the blocks the claims being added count (2048, or a UDF volume's block size
    /// while its structures are claimed): converted to `unit`.
    src: u64,
}

/// Most notes kept.
const MAX_NOTES: usize = 1000;

impl Claims {
    fn new(budget: u64, unit: u64) -> Self {
        Claims {
            list: Vec::new(),
            by_range: HashMap::new(),
            backgrounds: Vec::new(),
            notes: Vec::new(),
            used: 0,
            budget,
            unit,
            src: SECTOR,
        }
    }

    /// Sets the size of the blocks the next claims count; returns the previous one.
    pub(crate) fn source_unit(&mut self, bytes: u64) -> u64 {
        std::mem::replace(&mut self.src, bytes.max(1))
    }

    /// `count` blocks from `first`, in source blocks, as map blocks (every map block that
    /// holds part of them).
    fn conv(&self, first: u64, count: u64) -> (u64, u64) {
        if self.src == self.unit {
            return (first, count);
        }
        let start = first.saturating_mul(self.src);
        let end = first.saturating_add(count).saturating_mul(self.src);
        let a = start / self.unit;
        (a, end.div_ceil(self.unit).saturating_sub(a))
    }

    fn charge(&mut self, n: u64) -> Result<(), ParseError> {
        self.used = self.used.saturating_add(n);
        if self.used > self.budget {
            return Err(ParseError::new(ParseErrorKind::LimitExceeded(
                "metadata bytes",
                self.budget,
            )));
        }
        Ok(())
    }

    /// Records something the map could not describe.
    pub(crate) fn note(&mut self, msg: String) {
        if self.notes.len() < MAX_NOTES {
            self.notes.push(msg);
        }
    }

    /// Labels the free blocks of `[first, first + count)`.
    pub(crate) fn background(&mut self, first: u64, count: u64, label: String) {
        let (first, count) = self.conv(first, count);
        if count > 0 && self.backgrounds.len() < 4096 {
            self.backgrounds.push(Background {
                first,
                end: first.saturating_add(count),
                label,
            });
        }
    }

    /// Claims `count` blocks from `first` (nothing for 0 blocks); returns the claim's index.
    pub(crate) fn add(
        &mut self,
        first: u64,
        count: u64,
        kind: ItemKind,
        rank: Rank,
        desc: String,
    ) -> Result<Option<usize>, ParseError> {
        let (first, count) = self.conv(first, count);
        if count == 0 {
            return Ok(None);
        }
        if let Some(&i) = self.by_range.get(&(first, count)) {
            self.charge(desc.len() as u64 + 24)?;
            let Some(c) = self.list.get_mut(i) else {
                return Ok(None);
            };
            if rank < c.rank {
                let old = std::mem::replace(&mut c.desc, desc);
                c.kind = kind;
                c.rank = rank;
                if !old.is_empty() && !c.also.contains(&old) {
                    c.also.push(old);
                }
            } else if !desc.is_empty() && desc != c.desc && !c.also.contains(&desc) {
                c.also.push(desc);
            }
            return Ok(Some(i));
        }
        self.charge((std::mem::size_of::<Claim>() + 48 + desc.len()) as u64)?;
        let i = self.list.len();
        self.list.push(Claim {
            first,
            count,
            kind,
            rank,
            desc,
            names: Vec::new(),
            also: Vec::new(),
        });
        self.by_range.insert((first, count), i);
        Ok(Some(i))
    }

    /// Adds `path` of `view` as a name of claim `i`.
    fn name(&mut self, i: Option<usize>, view: View, path: &str) -> Result<(), ParseError> {
        let Some(c) = i.and_then(|i| self.list.get_mut(i)) else {
            return Ok(());
        };
        // A walk gives each path once: only the extents of one file can repeat it (checked
        // against the last name, so that shared data with thousands of names stays linear).
        if c.names
            .last()
            .is_some_and(|n| n.view == view && n.path == path)
        {
            return Ok(());
        }
        c.names.push(MapName {
            view,
            path: path.to_string(),
        });
        self.charge((std::mem::size_of::<MapName>() + path.len()) as u64)
    }

    /// Claims the data of `entry` (at `path` in `view`): its extents, contiguous ones joined.
    fn file(&mut self, view: View, path: &str, entry: &DirEntry) -> Result<(), ParseError> {
        for (first, count) in runs(&entry.extents, self.src) {
            let i = self.add(first, count, ItemKind::FileData, Rank::Data, String::new())?;
            self.name(i, view, path)?;
        }
        Ok(())
    }
}

/// The block runs of `extents`: an extent continues the previous run when it starts where
/// that one ends (the sections of a file over 4 GiB, ECMA-119 6.5.1).
/// `unit`: the bytes of the blocks the extents count.
fn runs(extents: &[Extent], unit: u64) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    let mut open = false;
    for e in extents.iter().filter(|e| e.len != 0) {
        let blocks = u64::from(e.len).div_ceil(unit);
        match out.last_mut() {
            Some((first, count)) if open && *first + *count == u64::from(e.lba) => *count += blocks,
            _ => out.push((u64::from(e.lba), blocks)),
        }
        // Only whole blocks let the next extent continue the run.
        open = u64::from(e.len) % unit == 0;
    }
    out
}

/// The label of a view in descriptions, as the layout writes it.
fn label(view: View) -> &'static str {
    match view {
        View::Iso9660 | View::RockRidge => "ISO 9660",
        View::Joliet => "Joliet",
        View::Iso1999 => "ISO 9660:1999",
        View::Udf => "UDF",
    }
}

fn platform_name(p: Platform) -> &'static str {
    match p {
        Platform::X86 => "x86 BIOS",
        Platform::PowerPc => "PowerPC",
        Platform::Mac => "Mac",
        Platform::Efi => "UEFI",
    }
}

fn emulation_name(e: Emulation) -> &'static str {
    match e {
        Emulation::NoEmulation => "no emulation",
        Emulation::Floppy12 => "1.2 MB floppy",
        Emulation::Floppy144 => "1.44 MB floppy",
        Emulation::Floppy288 => "2.88 MB floppy",
        Emulation::HardDisk => "hard disk",
    }
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// Sectors of 512 bytes per block.
const PER_BLOCK: u64 = SECTOR / 512;

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
            Some(u) if u.bs < SECTOR || !self.has_iso => u.bs.clamp(512, 4096),
            _ => SECTOR,
        };
        let total = self.image_len.div_ceil(unit);
        let mut claims = Claims::new(self.limits.max_metadata_bytes, unit);
        self.system_area_claims(&mut claims, self.image_len.div_ceil(SECTOR))?;
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

    /// The system area (ECMA-119 6.2.1) with the partition tables it may hold: an MBR, or a
    /// protective MBR and a GPT (UEFI 5.3) whose backup is claimed where its header says.
    fn system_area_claims(&mut self, claims: &mut Claims, total: u64) -> Result<(), ParseError> {
        let mut what = Vec::new();
        let mut sector0 = vec![0u8; 1024];
        if self.image_len >= 1024 && read_at(&mut self.inner, 0, &mut sector0, 0).is_ok() {
            if sector0.get(510..512) == Some(&[0x55, 0xAA][..]) {
                let mut n = 0;
                for i in 0..4 {
                    let e = 446 + 16 * i;
                    let kind = sector0.get(e + 4).copied().unwrap_or(0);
                    let start = u64::from(le_u32(&sector0, e + 8));
                    let count = u64::from(le_u32(&sector0, e + 12));
                    if kind == 0 || count == 0 {
                        continue;
                    }
                    n += 1;
                    if kind != 0xEE && start > 0 && start % PER_BLOCK == 0 {
                        claims.background(
                            start / PER_BLOCK,
                            count.div_ceil(PER_BLOCK),
                            format!("MBR partition {} (type 0x{kind:02x})", i + 1),
                        );
                    }
                }
                what.push(format!(
                    "MBR, {n} partition{}",
                    if n == 1 { "" } else { "s" }
                ));
            }
            if sector0.get(512..520) == Some(&b"EFI PART"[..]) {
                let n = self.gpt_claims(claims, &sector0, total)?;
                what.push(format!(
                    "GPT, {n} partition{}",
                    if n == 1 { "" } else { "s" }
                ));
            }
        }
        let desc = if what.is_empty() {
            "System area".to_string()
        } else {
            format!("System area ({})", what.join("; "))
        };
        claims.add(0, 16, ItemKind::SystemArea, Rank::System, desc)?;
        Ok(())
    }

    /// The GPT's partitions (labels) and its backup (a claim); returns the partition count.
    fn gpt_claims(
        &mut self,
        claims: &mut Claims,
        head: &[u8],
        total: u64,
    ) -> Result<usize, ParseError> {
        // UEFI 5.3.2: alternate LBA at 32, partition entry LBA at 72, entry count at 80 and
        // entry size at 84 of the header (in 512-byte sectors).
        let h = head.get(512..).unwrap_or_default();
        let alt = le_u64(h, 32);
        let entries_at = le_u64(h, 72);
        let count = u64::from(le_u32(h, 80));
        let size = u64::from(le_u32(h, 84));
        let mut found = 0;
        if (128..=4096).contains(&size) && count > 0 && count * size <= 1 << 20 {
            let bytes = count * size;
            let at = entries_at.saturating_mul(512);
            if at.saturating_add(bytes) <= self.image_len {
                let mut buf = vec![0u8; bytes as usize];
                read_at(&mut self.inner, at, &mut buf, at / SECTOR)?;
                for (i, e) in buf.chunks_exact(size as usize).enumerate() {
                    if e.get(..16).is_some_and(|t| t.iter().all(|&b| b == 0)) {
                        continue;
                    }
                    found += 1;
                    let first = le_u64(e, 32);
                    let last = le_u64(e, 40);
                    let name: String = char::decode_utf16(
                        e.get(56..128)
                            .unwrap_or_default()
                            .chunks_exact(2)
                            .map(|c| u16::from_le_bytes([c[0], c[1]]))
                            .take_while(|&u| u != 0),
                    )
                    .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                    .collect();
                    if first > 0 && last >= first && first % PER_BLOCK == 0 {
                        let label = if name.is_empty() {
                            format!("GPT partition {}", i + 1)
                        } else {
                            format!("GPT partition {} ({name})", i + 1)
                        };
                        claims.background(
                            first / PER_BLOCK,
                            (last + 1 - first).div_ceil(PER_BLOCK),
                            label,
                        );
                    }
                }
            }
        }
        // The backup header is the last sector of the disk; its entries precede it.
        let alt_block = alt / PER_BLOCK;
        if alt > 1 && alt_block < total {
            let mut backup = vec![0u8; 512];
            let at = alt * 512;
            // The entries array is at most 1 MiB (2,048 sectors) before the header; a backup
            // header that says otherwise is not believed.
            let computed = alt.saturating_sub((count * size).min(1 << 20).div_ceil(512));
            let entries = if at + 512 <= self.image_len
                && read_at(&mut self.inner, at, &mut backup, alt_block).is_ok()
                && backup.get(..8) == Some(&b"EFI PART"[..])
            {
                Some(le_u64(&backup, 72)).filter(|&e| e < alt && alt - e <= 2048)
            } else {
                None
            }
            .unwrap_or(computed);
            let first = entries.min(alt) / PER_BLOCK;
            claims.add(
                first,
                alt_block - first + 1,
                ItemKind::SystemArea,
                Rank::System,
                "Backup GPT".into(),
            )?;
        } else if alt > 1 {
            claims.note(format!(
                "the GPT's backup header (sector {alt} of 512 bytes) lies beyond the image"
            ));
        }
        Ok(found)
    }

    /// The volume descriptor set (ECMA-119 6.7.1), the UDF volume recognition sequence
    /// (ECMA-167 2/8.3) and the path tables of every descriptor (ECMA-119 8.4.13-17).
    fn descriptor_claims(&mut self, claims: &mut Claims) -> Result<(), ParseError> {
        let mut next = super::volume::FIRST_VD_LBA;
        if self.has_iso {
            claims.add(
                next,
                self.vds_end.saturating_sub(next),
                ItemKind::VolumeDescriptors,
                Rank::Descriptor,
                "Volume descriptors".into(),
            )?;
            let mut sector = vec![0u8; SECTOR as usize];
            for lba in next..self.vds_end {
                read_at(&mut self.inner, lba * SECTOR, &mut sector, lba)?;
                let Ok(vd) = raw::decode_volume_descriptor(&sector) else {
                    continue;
                };
                let view = match (vd.descriptor_type, vd.version) {
                    (raw::VolumeDescriptorType::Primary, _) => "ISO 9660",
                    (raw::VolumeDescriptorType::Supplementary, 2) => "ISO 9660:1999",
                    (raw::VolumeDescriptorType::Supplementary, _)
                        if vd.joliet_level().is_some() =>
                    {
                        "Joliet"
                    }
                    (raw::VolumeDescriptorType::Supplementary, _) => "supplementary",
                    _ => continue,
                };
                let blocks = u64::from(vd.path_table_size.0).div_ceil(SECTOR);
                for (at, which) in [
                    (vd.path_table_l, "Path table L"),
                    (vd.path_table_m, "Path table M"),
                    (vd.opt_path_table_l, "Optional path table L"),
                    (vd.opt_path_table_m, "Optional path table M"),
                ] {
                    if at != 0 && u64::from(at) >= self.vds_end {
                        claims.add(
                            u64::from(at),
                            blocks,
                            ItemKind::PathTable,
                            Rank::PathTable,
                            format!("{which} ({view})"),
                        )?;
                    }
                }
            }
            next = self.vds_end;
        }
        // ECMA-167 2/8.3: BEA01, NSR02/NSR03, TEA01 (and BOOT2, CDW02) follow the ISO 9660 set,
        // one a sector: 2048 bytes, or the block size of a UDF volume of larger blocks
        // (2/8.3.1).
        let step = self.udf.as_ref().map_or(1, |u| (u.bs / SECTOR).max(1));
        let mut sector = vec![0u8; SECTOR as usize];
        let first = next;
        let mut seen_bea = false;
        let max = (self.limits.max_volume_descriptors as u64 + 4) * step;
        while next < first + max && (next + step) * SECTOR <= self.image_len {
            if read_at(&mut self.inner, next * SECTOR, &mut sector, next).is_err() {
                break;
            }
            match sector.get(1..6).unwrap_or_default() {
                b"BEA01" => seen_bea = true,
                b"NSR02" | b"NSR03" | b"TEA01" | b"BOOT2" | b"CDW02" if seen_bea => {}
                _ => break,
            }
            next += step;
        }
        if seen_bea {
            claims.add(
                first,
                next - first,
                ItemKind::VolumeDescriptors,
                Rank::Descriptor,
                "UDF volume recognition sequence".into(),
            )?;
        }
        Ok(())
    }

    /// Directories, continuation areas, file data and UDF file entries, view by view.
    fn view_claims(&mut self, claims: &mut Claims) -> Result<(), ParseError> {
        let views = self.views();
        // Directories of the primary hierarchy are named by their Rock Ridge paths when the
        // image has them (the names the layout gives them), by extent.
        let mut rr_dirs: HashMap<u32, String> = HashMap::new();
        let default = self.default_view();
        let mut order = vec![default];
        order.extend(views.iter().copied().filter(|v| *v != default));
        // The Rock Ridge walk before the ISO 9660 one, for the directory names.
        order.sort_by_key(|v| match v {
            _ if *v == default => 0,
            View::RockRidge => 1,
            _ => 2,
        });
        let shared_1999 = self
            .iso1999_root
            .as_ref()
            .is_some_and(|r| r.extents.first() == self.iso_root.extents.first());
        for view in order {
            if view == View::Iso1999 && shared_1999 {
                continue; // the primary's records: claimed once, with ISO 9660 names
            }
            let view_unit = match (view, self.udf.as_ref()) {
                (View::Udf, Some(u)) => u.bs,
                _ => SECTOR,
            };
            claims.source_unit(view_unit);
            let Some(walk) = self.map_walk(view, claims)? else {
                continue;
            };
            let root = self.root(view)?;
            let mut iso_dirs: Vec<(String, Vec<Extent>)> = Vec::new();
            // ISO 9660 path of a directory -> the name the map gives it.
            let mut iso_names: HashMap<String, String> = HashMap::new();
            let entries = std::iter::once(("/".to_string(), root)).chain(walk);
            for (path, e) in entries {
                if let (View::Udf, Some(u)) = (view, e.udf.as_deref()) {
                    // Hard links share one file entry: one claim, every name.
                    let at = u64::from(u.icb_sector());
                    let i = match claims.by_range.get(&claims.conv(at, 1)) {
                        Some(&i) if claims.list.get(i).is_some_and(|c| !c.names.is_empty()) => {
                            Some(i)
                        }
                        _ => claims.add(
                            at,
                            1,
                            ItemKind::FileEntries,
                            Rank::Entry,
                            format!("UDF file entry of {path}"),
                        )?,
                    };
                    claims.name(i, View::Udf, &path)?;
                    if u.may_have_aeds() {
                        let u = u.clone();
                        for at in self.udf_aed_sectors(&u).unwrap_or_default() {
                            claims.add(
                                at,
                                1,
                                ItemKind::FileEntries,
                                Rank::Entry,
                                format!("UDF allocation extent descriptor of {path}"),
                            )?;
                        }
                    }
                }
                if !e.is_dir {
                    claims.file(view, &path, &e)?;
                    continue;
                }
                let lba = e.extents.iter().find(|x| x.len != 0).map(|x| x.lba);
                if view == View::RockRidge {
                    if let Some(lba) = lba {
                        claims.charge(path.len() as u64 + 32)?;
                        rr_dirs.insert(lba, path);
                    }
                    continue;
                }
                let name = match (view, lba.and_then(|l| rr_dirs.get(&l))) {
                    (View::Iso9660, Some(rr)) => rr.clone(),
                    // A directory the Rock Ridge view hides (the relocation directory): its
                    // parent's name and its own Rock Ridge name.
                    (View::Iso9660, None) if self.rr.is_some() => {
                        let (parent, own) = path.rsplit_once('/').unwrap_or(("", &path));
                        let parent = iso_names.get(parent).map_or(parent, String::as_str);
                        let own = e.rr_name.as_deref().map_or_else(
                            || own.to_string(),
                            |n| String::from_utf8_lossy(n).into_owned(),
                        );
                        format!("{}/{own}", parent.trim_end_matches('/'))
                    }
                    _ => path.clone(),
                };
                if view == View::Iso9660 && self.rr.is_some() {
                    claims.charge((path.len() + name.len()) as u64 + 48)?;
                    iso_names.insert(path, name.clone());
                }
                for (first, count) in runs(&e.extents, view_unit) {
                    claims.add(
                        first,
                        count,
                        ItemKind::Directory,
                        Rank::Directory,
                        format!("Directory {name} ({})", label(view)),
                    )?;
                }
                if view == View::Iso9660 && self.rr.is_some() {
                    claims.charge(name.len() as u64 + 64)?;
                    iso_dirs.push((name, e.extents));
                }
            }
            if view == View::Iso9660 {
                rr_dirs = HashMap::new();
                for (i, (name, extents)) in iso_dirs.iter().enumerate() {
                    if let Err(e) = self.continuation_claims(claims, name, extents, i == 0) {
                        if self.limits.is_strict()
                            || matches!(e.kind, ParseErrorKind::LimitExceeded(..))
                        {
                            return Err(e);
                        }
                        claims.note(format!(
                            "the Rock Ridge continuation areas of {name} could not be read: {e}"
                        ));
                    }
                }
            }
        }
        claims.source_unit(SECTOR);
        Ok(())
    }

    /// The Rock Ridge continuation areas (SUSP 5.1) named by the records of the ISO 9660
    /// directory `name` (its "." and ".." records included), one claim per block.
    fn continuation_claims(
        &mut self,
        claims: &mut Claims,
        name: &str,
        extents: &[Extent],
        is_root: bool,
    ) -> Result<(), ParseError> {
        let len_skp = self.rr.as_ref().map_or(0, |s| s.len_skp);
        let total: u64 = extents.iter().map(|e| u64::from(e.len)).sum();
        if total > self.limits.max_dir_bytes {
            return Err(ParseError::at(
                ParseErrorKind::LimitExceeded("directory bytes", self.limits.max_dir_bytes),
                extents.first().map_or(0, |e| u64::from(e.lba)),
            ));
        }
        let desc = format!("Rock Ridge continuation areas of {name}");
        let mut first_record = true;
        for ext in extents.iter().filter(|e| e.len != 0) {
            self.check_dir_extent(ext)?;
            // Bounded by max_dir_bytes (checked above).
            let mut buf = vec![0u8; ext.len as usize];
            read_at(
                &mut self.inner,
                ext.byte_offset(),
                &mut buf,
                u64::from(ext.lba),
            )?;
            let mut pos = 0usize;
            while let Some(&len) = buf.get(pos) {
                let len = usize::from(len);
                let at = rockridge::RecordAt {
                    lba: u64::from(ext.lba) + (pos as u64) / SECTOR,
                    offset: pos % SECTOR as usize,
                };
                if len == 0 {
                    // ECMA-119 6.8.1.1: the next record starts the next sector.
                    pos = (pos / SECTOR as usize + 1) * SECTOR as usize;
                    continue;
                }
                let Some(rec) = buf.get(pos..pos + len) else {
                    break;
                };
                let Ok(raw) = super::dir::parse_record(rec, true) else {
                    break;
                };
                // SUSP 5.3: the root's "." record starts with SP itself; LEN_SKP applies to
                // every other record.
                let skip = if is_root && first_record { 0 } else { len_skp };
                first_record = false;
                let mut info = rockridge::SuInfo::default();
                let decoded = rockridge::decode_system_use(
                    &mut self.inner,
                    self.image_len,
                    &self.limits,
                    raw.system_use,
                    skip,
                    at,
                    &mut info,
                );
                claims.charge(info.ce_bytes)?;
                for &(block, offset, len) in &info.ce_areas {
                    let first = u64::from(block) + u64::from(offset) / SECTOR;
                    let end = (u64::from(block) * SECTOR + u64::from(offset) + u64::from(len))
                        .div_ceil(SECTOR);
                    for b in first..end.max(first + 1) {
                        claims.add(
                            b,
                            1,
                            ItemKind::ContinuationAreas,
                            Rank::Continuation,
                            desc.clone(),
                        )?;
                    }
                }
                if let Err(e) = decoded {
                    if matches!(e.kind, ParseErrorKind::LimitExceeded(..)) {
                        return Err(e);
                    }
                    claims.note(format!(
                        "a Rock Ridge entry of {name} (sector {}) could not be read: {e}",
                        at.lba
                    ));
                }
                pos += len;
            }
        }
        Ok(())
    }

    /// The El Torito boot catalog and boot images (El Torito 2.0).
    fn boot_claims(&mut self, claims: &mut Claims) -> Result<(), ParseError> {
        if !self.has_iso {
            return Ok(());
        }
        let catalog = match self.boot_catalog() {
            Ok(c) => c,
            Err(e) => {
                claims.note(format!("the El Torito boot catalog could not be read: {e}"));
                return Ok(());
            }
        };
        let Some((cat, entries)) = catalog else {
            return Ok(());
        };
        claims.add(
            u64::from(cat),
            1,
            ItemKind::BootCatalog,
            Rank::Boot,
            "El Torito boot catalog".into(),
        )?;
        // The file that starts at a load block gives a no-emulation image its length.
        let mut file_at: HashMap<u64, u64> = HashMap::new();
        for c in claims.list.iter().filter(|c| c.kind == ItemKind::FileData) {
            file_at.entry(c.first).or_insert(c.count);
        }
        for (i, entry) in entries.iter().enumerate() {
            let at = u64::from(entry.load_rba);
            let file_len = file_at.get(&at).map(|b| b * SECTOR);
            let desc = format!(
                "El Torito boot image {} ({}, {})",
                i + 1,
                platform_name(entry.platform),
                emulation_name(entry.emulation)
            );
            match self.boot_image_len(entry, file_len) {
                Ok(len) => {
                    claims.add(
                        at,
                        len.div_ceil(SECTOR).max(1),
                        ItemKind::BootImage,
                        Rank::Boot,
                        desc,
                    )?;
                }
                Err(e) => claims.note(format!("{desc} could not be placed: {e}")),
            }
        }
        Ok(())
    }

    /// Blocks of the older sessions of a multisession image, and the newest session's own
    /// head (the saved copy of blocks 16-31 and its volume descriptors).
    fn session_claims(&mut self, claims: &mut Claims) {
        if !self.has_iso {
            return;
        }
        let Ok(list) = super::session::sessions(&mut self.inner) else {
            return;
        };
        let Some(newest) = list.last() else { return };
        if list.len() < 2 {
            return;
        }
        let start = newest.start_block;
        let vds = self.vds_end.saturating_sub(16);
        if start > 0 {
            let _ = claims.add(
                start,
                16,
                ItemKind::SystemArea,
                Rank::System,
                format!("Session {} system area", newest.index),
            );
            let _ = claims.add(
                start + 16,
                vds,
                ItemKind::VolumeDescriptors,
                Rank::Descriptor,
                format!("Volume descriptors of session {}", newest.index),
            );
        }
        for s in &list[..list.len() - 1] {
            claims.background(
                s.start_block,
                s.end_block.saturating_sub(s.start_block),
                format!("Session {} (older, not used by the newest)", s.index),
            );
        }
    }

    /// Turns the claims into items covering `[0, total)`: each block to its innermost claim,
    /// the blocks nothing claims read and described.
    fn resolve(&mut self, mut claims: Claims, total: u64) -> Result<BlockMap, ParseError> {
        // Descriptions of file data: the path in the first view that names it (views were
        // walked default view first).
        for c in claims.list.iter_mut() {
            if c.desc.is_empty() {
                c.desc = c.names.first().map(|n| n.path.clone()).unwrap_or_default();
            }
        }
        // Claims beyond the end of the image are cut there.
        let mut notes = std::mem::take(&mut claims.notes);
        let mut cut = 0usize;
        for c in claims.list.iter_mut() {
            let end = c.first.saturating_add(c.count);
            if end > total {
                if notes.len() < MAX_NOTES && cut < 100 {
                    notes.push(format!(
                        "{} (blocks {}-{}) reaches beyond the end of the image ({total} blocks)",
                        c.desc,
                        c.first,
                        end - 1
                    ));
                }
                cut += 1;
                c.count = total.saturating_sub(c.first);
            }
        }
        if cut > 100 {
            notes.push(format!(
                "{} more structures reach beyond the end of the image",
                cut - 100
            ));
        }
        let live: Vec<usize> = (0..claims.list.len())
            .filter(|&i| claims.list[i].count > 0)
            .collect();
        let key = |i: usize| {
            let c = &claims.list[i];
            (c.count, c.rank, i)
        };
        let mut starts = live.clone();
        starts.sort_by_key(|&i| claims.list[i].first);
        let mut ends = live;
        ends.sort_by_key(|&i| claims.list[i].first + claims.list[i].count);
        let mut bounds: Vec<u64> = Vec::with_capacity(2 * starts.len() + 2);
        bounds.push(0);
        bounds.push(total);
        for c in claims.list.iter().filter(|c| c.count > 0) {
            bounds.push(c.first);
            bounds.push(c.first + c.count);
        }
        bounds.sort_unstable();
        bounds.dedup();
        // Pieces: (first, end, winner, within) with `None` for blocks nothing claims.
        let mut pieces: Vec<(u64, u64, Option<usize>, Option<usize>)> = Vec::new();
        let mut active: BTreeSet<(u64, Rank, usize)> = BTreeSet::new();
        let (mut si, mut ei) = (0usize, 0usize);
        for w in bounds.windows(2) {
            let (a, b) = (w[0], w[1]);
            while let Some(&i) = ends.get(ei) {
                if claims.list[i].first + claims.list[i].count > a {
                    break;
                }
                active.remove(&key(i));
                ei += 1;
            }
            while let Some(&i) = starts.get(si) {
                if claims.list[i].first > a {
                    break;
                }
                if claims.list[i].first + claims.list[i].count > a {
                    active.insert(key(i));
                }
                si += 1;
            }
            let mut it = active.iter();
            let winner = it.next().map(|k| k.2);
            let within = it.next().map(|k| k.2);
            match pieces.last_mut() {
                Some(p) if p.1 == a && p.2 == winner && p.3 == within => p.1 = b,
                _ => pieces.push((a, b, winner, within)),
            }
        }
        let mut items: Vec<MapItem> = Vec::with_capacity(pieces.len());
        let mut read_left = UNCLAIMED_READ_LIMIT;
        // A claim split by the claims inside it is one item per piece, each with the claim's
        // names: the items are charged too.
        let cost = |c: &Claim| {
            (std::mem::size_of::<MapItem>()
                + c.desc.len()
                + c.names
                    .iter()
                    .map(|n| std::mem::size_of::<MapName>() + n.path.len())
                    .sum::<usize>()
                + c.also.iter().map(|a| a.len() + 24).sum::<usize>()) as u64
        };
        let mut used = claims.used;
        for (a, b, winner, within) in pieces {
            match winner {
                Some(i) => {
                    let c = &claims.list[i];
                    used = used.saturating_add(cost(c));
                    if used > claims.budget {
                        return Err(ParseError::at(
                            ParseErrorKind::LimitExceeded("metadata bytes", claims.budget),
                            a,
                        ));
                    }
                    let item = MapItem {
                        first_block: a,
                        last_block: b - 1,
                        block_count: b - a,
                        kind: c.kind,
                        description: c.desc.clone(),
                        names: c.names.clone(),
                        also: c.also.clone(),
                        within: within.map(|w| claims.list[w].desc.clone()),
                    };
                    push_item(&mut items, item);
                }
                None => self.unclaimed(&claims, a, b, &mut read_left, &mut items)?,
            }
        }
        // A background exactly equal to an item's blocks is another name of them (a GPT
        // partition that is the EFI boot image's file).
        for bg in &claims.backgrounds {
            let i = items.partition_point(|it| it.first_block < bg.first);
            if let Some(it) = items
                .get_mut(i)
                .filter(|it| it.first_block == bg.first && it.last_block + 1 == bg.end)
            {
                if it.kind != ItemKind::Padding
                    && it.kind != ItemKind::Unused
                    && !it.also.contains(&bg.label)
                {
                    it.also.push(bg.label.clone());
                }
            }
        }
        self.meta_used = used;
        Ok(BlockMap {
            items,
            total_blocks: total,
            notes,
            block_size: claims.unit,
        })
    }

    /// Items for the blocks `[a, b)` that nothing claims: split by the backgrounds they lie
    /// in, then read (within `read_left` bytes) to tell zeros from data.
    fn unclaimed(
        &mut self,
        claims: &Claims,
        a: u64,
        b: u64,
        read_left: &mut u64,
        items: &mut Vec<MapItem>,
    ) -> Result<(), ParseError> {
        let mut pos = a;
        while pos < b {
            // The innermost background at `pos`, and where the next one starts or it ends.
            let bg = claims
                .backgrounds
                .iter()
                .filter(|g| g.first <= pos && pos < g.end)
                .min_by_key(|g| g.end - g.first);
            let mut stop = b.min(bg.map_or(u64::MAX, |g| g.end));
            for g in &claims.backgrounds {
                if g.first > pos && g.first < stop {
                    stop = g.first;
                }
            }
            let label = bg.map(|g| g.label.as_str());
            if label.is_some_and(|l| l.starts_with("Session ")) {
                push_item(
                    items,
                    plain(pos, stop, ItemKind::BaseImage, label.unwrap_or_default()),
                );
            } else {
                self.read_unclaimed(pos, stop, label, read_left, items, claims.unit);
            }
            pos = stop;
        }
        Ok(())
    }

    /// Reads blocks `[a, b)` and describes runs of zero blocks as padding and others as
    /// unused data, within `label` (a partition) if any.
    fn read_unclaimed(
        &mut self,
        a: u64,
        b: u64,
        label: Option<&str>,
        read_left: &mut u64,
        items: &mut Vec<MapItem>,
        unit: u64,
    ) {
        let zero_desc = match label {
            Some(l) => format!("Padding (free space of {l})"),
            None => "Padding".to_string(),
        };
        let data_desc = match label {
            Some(l) => format!("Unused (not zero, free space of {l})"),
            None => "Unused (not zero, referenced by nothing)".to_string(),
        };
        const CHUNK: u64 = 64;
        // unit is at most 4096.
        let mut buf = vec![0u8; (CHUNK * unit) as usize];
        let mut pos = a;
        while pos < b {
            let n = (b - pos).min(CHUNK);
            let bytes = (n * unit).min(self.image_len.saturating_sub(pos * unit));
            if bytes > *read_left {
                push_item(
                    items,
                    plain(pos, b, ItemKind::Unused, "Unused (not examined)"),
                );
                return;
            }
            *read_left -= bytes;
            let chunk = buf.get_mut(..bytes as usize).unwrap_or_default();
            if read_at(&mut self.inner, pos * unit, chunk, pos).is_err() {
                push_item(
                    items,
                    plain(pos, pos + n, ItemKind::Unused, "Unreadable (read error)"),
                );
                pos += n;
                continue;
            }
            for k in 0..n {
                let lo = (k * unit) as usize;
                let hi = ((k + 1) * unit).min(bytes) as usize;
                let zero = chunk
                    .get(lo..hi)
                    .map_or(true, |s| s.iter().all(|&x| x == 0));
                // A block that still holds a UDF descriptor (with a valid tag checksum and
                // CRC) says which, though nothing refers to it.
                let tagged = if zero {
                    None
                } else {
                    chunk
                        .get(lo..hi)
                        .and_then(super::udf_view::tag_name)
                        .map(|t| format!("Unused (a UDF {t} that nothing refers to)"))
                };
                let (kind, desc) = if zero {
                    (ItemKind::Padding, zero_desc.as_str())
                } else {
                    (ItemKind::Unused, tagged.as_deref().unwrap_or(&data_desc))
                };
                push_item(items, plain(pos + k, pos + k + 1, kind, desc));
            }
            pos += n;
        }
    }
}

/// An item of blocks `[a, b)` without names.
fn plain(a: u64, b: u64, kind: ItemKind, desc: &str) -> MapItem {
    MapItem {
        first_block: a,
        last_block: b - 1,
        block_count: b - a,
        kind,
        description: desc.to_string(),
        names: Vec::new(),
        also: Vec::new(),
        within: None,
    }
}

/// Appends `item`, joining it to the previous item when that one says the same and ends
/// where it starts (the blocks of one directory's continuation areas, a run of padding).
fn push_item(items: &mut Vec<MapItem>, item: MapItem) {
    if let Some(last) = items.last_mut() {
        if last.last_block + 1 == item.first_block
            && last.kind == item.kind
            && last.description == item.description
            && last.names == item.names
            && last.also == item.also
            && last.within == item.within
        {
            last.last_block = item.last_block;
            last.block_count += item.block_count;
            return;
        }
    }
    items.push(item);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims::new(1 << 20, SECTOR)
    }

    #[test]
    fn runs_join_contiguous_whole_block_extents() {
        let e = |lba, len| Extent { lba, len };
        assert_eq!(runs(&[e(10, 4096), e(12, 100)], SECTOR), [(10, 3)]);
        assert_eq!(runs(&[e(10, 100), e(11, 100)], SECTOR), [(10, 1), (11, 1)]);
        assert_eq!(
            runs(&[e(10, 2048), e(20, 1), e(0, 0)], SECTOR),
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
        let mut c = Claims::new(1 << 20, SECTOR);
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
        let mut c = Claims::new(200, SECTOR);
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
