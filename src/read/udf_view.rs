//! The UDF view (ECMA-167 3rd edition; OSTA UDF 1.02, 1.50, 2.01, 2.50, 2.60).
//!
//! Opening follows the chain every UDF reader follows, checking each descriptor tag's checksum,
//! CRC and location (ECMA-167 3/7.2, 4/7.2) on the way:
//!
//! 1. the volume recognition sequence (ECMA-167 2/8.3): `BEA01`, `NSR02` or `NSR03`, `TEA01`,
//!    after the ISO 9660 descriptors if any, scanned from sector 16;
//! 2. the anchor volume descriptor pointer at block 256, else at the last block, else at the
//!    last block - 256 (ECMA-167 3/8.4.2.1; UDF 2.2.3), which also gives the logical block
//!    size: 2048, 512, 1024 or 4096 bytes, the first for which an anchor with a sound tag names
//!    the block it is in ([`find_anchors`]). Every block number from there on counts blocks
//!    of that size (and the logical volume descriptor must say the same, ECMA-167 3/10.6.7);
//!    the volume recognition sequence is read at 2048-byte spacing, or 4096 for volumes of
//!    4096-byte blocks (ECMA-167 2/8.3.1);
//! 3. the main volume descriptor sequence, or the reserve one if the main one is damaged: the
//!    primary volume descriptor, partition descriptors and the logical volume descriptor with
//!    its partition maps (type 1 physical; type 2 `*UDF Metadata Partition`, whose blocks are
//!    those of the metadata file, or of its mirror if the metadata file's entry is damaged;
//!    type 2 `*UDF Sparable Partition`, physical but for the packets its sparing table moved;
//!    virtual partitions (`*UDF Virtual Partition`, VAT) give `Unsupported`);
//! 4. the logical volume integrity descriptor (counts and revisions; not needed to read files);
//! 5. the file set descriptor named by the logical volume descriptor, and its root directory's
//!    file entry.
//!
//! Directories are read on demand: their file identifier descriptors (FIDs) give the names,
//! and each child's file entry (or extended file entry) its size, allocation descriptors
//! (short, long, or data embedded in the entry; allocation extent descriptors are followed),
//! times and POSIX attributes. Every size is checked against the [`Limits`] and every extent
//! against the image before anything is read or allocated.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek};

use chrono::{DateTime, FixedOffset};

use super::file::FileReader;
use super::rr_view::Posix;
use super::{read_at, DirEntry, Extent, ImageReader, Limits, View, SECTOR};
use crate::error::{ParseError, ParseErrorKind};
use crate::format::udf::ad::{Allocation, ExtentAd, ExtentType};
use crate::format::udf::cs0::decode_cs0;
use crate::format::udf::file::{
    decode_device_ea, decode_symlink_target, mode_from_permissions, AllocationExtent, Fid, FileSet,
    FID_DELETED, FID_DIRECTORY, FID_HIDDEN, FID_PARENT, ICB_SETGID, ICB_SETUID, ICB_STICKY,
};
use crate::format::udf::ids::EntityId;
use crate::format::udf::metadata::MetadataPartitionMap;
use crate::format::udf::tag::{decode_tag, ident, TagError};
use crate::format::udf::time::decode_timestamp;
use crate::format::udf::volume::{
    check_tag, u16_at, u32_at, u64_at, u8_at, Anchor, LogicalVolume, LogicalVolumeIntegrity,
    Partition, PartitionMap, PrimaryVolume,
};
use crate::format::udf::{round4, slice, DecodeError};

mod places;
pub(crate) use places::tag_name;

/// The most warnings kept ([`ImageReader::warnings`]).
const MAX_WARNINGS: usize = 1000;
/// The most volume descriptor pointers (ECMA-167 3/10.3) followed in one sequence, and the
/// most integrity extents followed.
const MAX_HOPS: usize = 8;
/// The largest symbolic link target read from outside its file entry.
const MAX_SYMLINK_BYTES: u64 = 64 * 1024;

/// What the UDF volume and file set descriptors say ([`VolumeInfo::udf`](super::VolumeInfo)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UdfInfo {
    /// The UDF revision the volume declares, in BCD (0x0102, 0x0150, 0x0201, 0x0250, 0x0260):
    /// the suffix of the logical volume descriptor's domain identifier `*OSTA UDF Compliant`
    /// (UDF 2.1.5.3).
    pub revision: u16,
    /// The primary volume descriptor's volume identifier (ECMA-167 3/10.1.4).
    pub volume_id: String,
    /// The logical volume identifier (ECMA-167 3/10.6.4): what operating systems show as the
    /// volume's label.
    pub logical_volume_id: String,
    /// The file set identifier (ECMA-167 4/14.1.12).
    pub file_set_id: String,
    /// Number of files the logical volume integrity descriptor records (UDF 2.2.6.4), if it
    /// could be read.
    pub files: Option<u32>,
    /// Number of directories (the root included) the integrity descriptor records.
    pub dirs: Option<u32>,
    /// The integrity descriptor's minimum UDF read revision (BCD; UDF 2.2.6.4).
    pub min_read_revision: Option<u16>,
    /// The integrity descriptor's maximum UDF write revision (BCD): the newest revision of the
    /// implementations that wrote the volume (`udfinfo` shows it as `udfwriterev`).
    pub max_write_revision: Option<u16>,
    /// True if the integrity descriptor says the volume was closed (ECMA-167 3/10.10.3).
    pub integrity_closed: Option<bool>,
    /// True if the file structure lives in a metadata partition (UDF 2.50 and later).
    pub metadata_partition: bool,
    /// The logical block size in bytes (ECMA-167 3/8.4.2.1, 3/10.6.7): 512, 1024, 2048 or
    /// 4096. Block numbers of the UDF view ([`UdfEntry::icb_sector`], the extents of its
    /// entries) count blocks of this size.
    pub block_size: u32,
}

/// An allocation descriptor of a file entry, resolved to its partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ad {
    /// Partition reference number (the index of the partition map).
    part: u16,
    /// First block in that partition.
    block: u32,
    /// Length in bytes.
    len: u32,
    /// Recorded, or a hole (allocated and not recorded, or not allocated: reads as zeros).
    recorded: bool,
}

/// Where an entry of the UDF view is recorded ([`DirEntry::udf`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdfEntry {
    /// Partition reference of the file entry.
    partition: u16,
    /// Block of the file entry in that partition.
    block: u32,
    /// Absolute block of the file entry (of the volume's block size).
    sector: u32,
    unique_id: u64,
    file_type: u8,
    /// The data when it is embedded in the file entry (allocation type 3).
    embedded: Option<Vec<u8>>,
    /// The allocation descriptors otherwise.
    ads: Vec<Ad>,
    /// For a directory, its path in the view (`/` for the root), which warnings about the
    /// entries left out of it name; empty for the other entries.
    dir_path: String,
}

impl UdfEntry {
    /// The file entry's address: partition reference number and logical block (ECMA-167
    /// 4/7.1). Hard links share it.
    pub fn icb(&self) -> (u16, u32) {
        (self.partition, self.block)
    }

    /// The absolute block of the file entry, in the volume's logical blocks
    /// ([`UdfInfo::block_size`]; 2048-byte sectors on most images).
    pub fn icb_sector(&self) -> u32 {
        self.sector
    }

    /// The file entry's unique id (ECMA-167 4/14.9.19; UDF 3.2.1.1): 0 for the root.
    pub fn unique_id(&self) -> u64 {
        self.unique_id
    }

    /// The ICB file type (ECMA-167 4/14.6.6): 4 directory, 5 file, 12 symbolic link, ...
    pub fn file_type(&self) -> u8 {
        self.file_type
    }

    /// The data embedded in the file entry (allocation type 3, ECMA-167 4/14.6.8), if the
    /// file's data is recorded there rather than in extents. It may be longer than the file.
    pub fn embedded(&self) -> Option<&[u8]> {
        self.embedded.as_deref()
    }
}

/// A partition map resolved to what it needs for block mapping.
#[derive(Debug, Clone)]
enum Map {
    /// A physical partition: its first sector and length in blocks.
    Physical { start: u32, len: u32 },
    /// A metadata partition (UDF 2.2.10) over the physical partition starting at `start`: the
    /// metadata file's extents, in physical-partition blocks; and the metadata mirror file's
    /// when they are a copy of their own (UDF 2.2.13.1), which lenient mode reads damaged
    /// descriptors from.
    Metadata {
        start: u32,
        extents: Vec<MetaExtent>,
        mirror: Option<Vec<MetaExtent>>,
    },
    /// A sparable partition (UDF 2.2.9): a physical partition whose packets of `packet` blocks
    /// listed in the sparing table are recorded elsewhere: (original partition block of the
    /// packet, absolute sector of its replacement), sorted.
    Sparable {
        start: u32,
        len: u32,
        packet: u32,
        remaps: Vec<(u32, u32)>,
    },
    /// A map this reader cannot use: the error to report when it is referred to.
    Unusable(ParseError),
}

/// One extent of the metadata file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MetaExtent {
    /// First physical-partition block.
    block: u32,
    /// Length in whole blocks.
    blocks: u32,
    recorded: bool,
}

/// The UDF file system found on an image.
#[derive(Debug, Clone)]
pub(crate) struct UdfState {
    pub info: UdfInfo,
    /// The root directory of the view.
    pub root: DirEntry,
    /// The primary volume descriptor's recording time.
    pub recording_time: Option<DateTime<FixedOffset>>,
    /// The integrity descriptor's recording time.
    pub integrity_time: Option<DateTime<FixedOffset>>,
    maps: Vec<Map>,
    /// The logical block size in bytes ([`Cx::bs`]).
    pub bs: u64,
}

/// Records a warning, keeping at most [`MAX_WARNINGS`].
pub(crate) fn warn(warnings: &mut Vec<String>, msg: String) {
    if warnings.len() < MAX_WARNINGS {
        warnings.push(msg);
    }
}

/// The error for a damaged tag read at `lba`.
fn tag_error(e: TagError, lba: u64, what: &str) -> ParseError {
    let kind = match e {
        TagError::Crc { .. } => ParseErrorKind::BadCrc,
        TagError::TooShort(_) => ParseErrorKind::Truncated,
        other => ParseErrorKind::BadTag(format!("{what}: {other}")),
    };
    ParseError::at(kind, lba).with_offset(0)
}

/// True for the errors of a damaged structure (what lenient mode may leave out), false for
/// the limits and I/O errors.
fn is_damage(e: &ParseError) -> bool {
    !matches!(
        e.kind,
        ParseErrorKind::LimitExceeded(..) | ParseErrorKind::Io(_)
    )
}

/// The error for a descriptor read at `lba` that its decoder refused.
fn decode_error(e: DecodeError, lba: u64, what: &str) -> ParseError {
    let kind = match e {
        DecodeError::Tag(t) => return tag_error(t, lba, what),
        DecodeError::Ident { expected, found } => ParseErrorKind::BadTag(format!(
            "{what}: tag identifier {found}, expected {expected}"
        )),
        DecodeError::Truncated { need, have } => {
            ParseErrorKind::BadDescriptor(format!("{what}: {need} bytes needed, {have} present"))
        }
        DecodeError::Invalid(x) => ParseErrorKind::BadDescriptor(format!("{what}: invalid {x}")),
    };
    ParseError::at(kind, lba)
}

fn bad(lba: u64, msg: String) -> ParseError {
    ParseError::at(ParseErrorKind::BadDescriptor(msg), lba)
}

fn limit(what: &'static str, n: usize, lba: u64) -> ParseError {
    ParseError::at(ParseErrorKind::LimitExceeded(what, n as u64), lba)
}

/// What reading needs: the image, its length, the limits and the warnings.
struct Cx<'a, R> {
    r: &'a mut R,
    image_len: u64,
    /// The logical block size (ECMA-167 3/8.4.2.1: 512, 1024, 2048 or 4096 bytes, found from
    /// where the anchor is): every block number of the UDF structures counts these.
    bs: u64,
    limits: &'a Limits,
    warnings: &'a mut Vec<String>,
    /// Metadata bytes the current operation has charged ([`Limits::max_metadata_bytes`]).
    meta_used: u64,
    /// Entries left out because they are damaged (lenient mode), for
    /// [`ImageReader::left_out`].
    left_out: Vec<String>,
}

impl<'a, R: Read + Seek> Cx<'a, R> {
    /// A context over `r` with blocks of `bs` bytes, no metadata charged yet.
    fn new(
        r: &'a mut R,
        image_len: u64,
        bs: u64,
        limits: &'a Limits,
        warnings: &'a mut Vec<String>,
    ) -> Self {
        Cx {
            r,
            image_len,
            bs,
            limits,
            warnings,
            meta_used: 0,
            left_out: Vec::new(),
        }
    }

    fn strict(&self) -> bool {
        self.limits.is_strict()
    }

    fn warn(&mut self, msg: String) {
        warn(self.warnings, msg);
    }

    /// Charges `n` metadata bytes (read or kept) to the current operation; `lba` is what the
    /// error names.
    fn charge(&mut self, n: u64, lba: u64) -> Result<(), ParseError> {
        let used = self.meta_used.saturating_add(n);
        if used > self.limits.max_metadata_bytes {
            return Err(ParseError::at(
                ParseErrorKind::LimitExceeded("metadata bytes", self.limits.max_metadata_bytes),
                lba,
            ));
        }
        self.meta_used = used;
        Ok(())
    }

    /// Checks that `len` bytes at block `lba` lie inside the image.
    fn check_in_image(&self, lba: u64, len: u64) -> Result<(), ParseError> {
        let end = lba
            .checked_mul(self.bs)
            .and_then(|o| o.checked_add(len))
            .ok_or_else(|| ParseError::at(ParseErrorKind::ExtentOutOfImage, lba))?;
        if end > self.image_len {
            return Err(ParseError::at(ParseErrorKind::ExtentOutOfImage, lba));
        }
        Ok(())
    }

    /// The bytes of logical block `lba` (the volume's block size).
    fn sector(&mut self, lba: u64) -> Result<Vec<u8>, ParseError> {
        self.check_in_image(lba, self.bs)?;
        // bs is at most 4096.
        let mut buf = vec![0u8; self.bs as usize];
        read_at(self.r, lba * self.bs, &mut buf, lba)?;
        Ok(buf)
    }

    /// Decodes the descriptor in `buf` (read at sector `lba`, expected at tag location
    /// `expected`) with `f`. The tag's checksum and CRC must be right; a tag location that
    /// differs is an error in strict mode and a warning in lenient mode, where the descriptor is
    /// then decoded at the location its tag names.
    fn decode<T>(
        &mut self,
        buf: &[u8],
        expected: u32,
        lba: u64,
        what: &str,
        f: impl FnOnce(&[u8], u32) -> Result<T, DecodeError>,
    ) -> Result<T, ParseError> {
        let tag = decode_tag(buf).map_err(|e| tag_error(e, lba, what))?;
        let location = if tag.location == expected {
            expected
        } else if self.strict() {
            return Err(ParseError::at(
                ParseErrorKind::BadTag(format!(
                    "{what}: tag location {} but read from block {expected}",
                    tag.location
                )),
                lba,
            )
            .with_offset(12));
        } else {
            if self.warnings.len() < MAX_WARNINGS {
                self.warn(format!(
                    "{what} at sector {lba}: tag location {} instead of {expected} (accepted)",
                    tag.location
                ));
            }
            tag.location
        };
        f(buf, location).map_err(|e| decode_error(e, lba, what))
    }
}

/// True if the volume recognition sequence from byte 32768 has an `NSR02` or `NSR03`
/// descriptor inside an extended area (`BEA01` ... `TEA01`), ECMA-167 2/8.3. The ISO 9660
/// descriptors (`CD001`), `BOOT2` and `CDW02` may come before; the scan stops at the first
/// descriptor that is none of these, and after at most `max_volume_descriptors + 4`. Each
/// descriptor takes a sector (ECMA-167 2/8.3.1) of 2048 bytes, or of the block size when that
/// is larger (4096: mkudffs `--blocksize=4096`); both spacings are tried.
fn has_nsr<R: Read + Seek>(r: &mut R, image_len: u64, limits: &Limits) -> bool {
    [SECTOR, 4096]
        .into_iter()
        .any(|step| has_nsr_every(r, image_len, limits, step))
}

fn has_nsr_every<R: Read + Seek>(r: &mut R, image_len: u64, limits: &Limits, step: u64) -> bool {
    let mut buf = vec![0u8; 8];
    let mut extended = false;
    let max = limits.max_volume_descriptors.saturating_add(4) as u64;
    let first = super::volume::FIRST_VD_LBA * SECTOR;
    for i in 0..max {
        let at = first + i * step;
        if at + step > image_len || read_at(r, at, &mut buf, at / SECTOR).is_err() {
            return false;
        }
        match buf.get(1..6).unwrap_or_default() {
            b"CD001" | b"BOOT2" | b"CDW02" => {}
            b"BEA01" => extended = true,
            b"NSR02" | b"NSR03" if extended => return true,
            b"TEA01" => extended = false,
            _ => return false,
        }
    }
    false
}

/// Looks for a UDF file system: `Ok(None)` without a recognition sequence naming one, an error
/// if it is announced but cannot be read.
pub(crate) fn detect<R: Read + Seek>(
    r: &mut R,
    image_len: u64,
    limits: &Limits,
    warnings: &mut Vec<String>,
) -> Result<Option<UdfState>, ParseError> {
    if !has_nsr(r, image_len, limits) {
        return Ok(None);
    }
    let mut cx = Cx::new(r, image_len, SECTOR, limits, warnings);
    open_volume(&mut cx).map(Some)
}

/// The prevailing descriptors of a volume descriptor sequence (ECMA-167 3/8.4.3: of descriptors
/// with the same identification, the one with the highest sequence number).
#[derive(Default)]
struct Vds {
    pvd: Option<PrimaryVolume>,
    pds: Vec<Partition>,
    /// The logical volume descriptor, its domain's UDF revision and its sector.
    lvd: Option<(LogicalVolume, u16, u64)>,
}

/// Reads the volume descriptor sequence starting with extent `ext`.
fn read_vds<R: Read + Seek>(cx: &mut Cx<'_, R>, ext: ExtentAd) -> Result<Vds, ParseError> {
    let mut vds = Vds::default();
    let mut at = u64::from(ext.location);
    let mut left = u64::from(ext.length) / cx.bs;
    if left == 0 {
        return Err(bad(at, "empty volume descriptor sequence extent".into()));
    }
    let mut budget = cx.limits.max_volume_descriptors;
    let mut hops = 0usize;
    while left > 0 {
        if budget == 0 {
            return Err(limit(
                "volume descriptors",
                cx.limits.max_volume_descriptors,
                at,
            ));
        }
        budget -= 1;
        let buf = cx.sector(at)?;
        if buf.iter().all(|&b| b == 0) {
            break; // ECMA-167 3/8.4.2: an unrecorded sector ends the sequence.
        }
        let expected = at as u32;
        let id = decode_tag(&buf)
            .map_err(|e| tag_error(e, at, "volume descriptor"))?
            .ident;
        match id {
            ident::PVD => {
                let p = cx.decode(&buf, expected, at, "primary volume descriptor", |b, l| {
                    PrimaryVolume::decode(b, l)
                })?;
                if vds
                    .pvd
                    .as_ref()
                    .map_or(true, |o| p.value.vds_number >= o.vds_number)
                {
                    vds.pvd = Some(p.value);
                }
            }
            ident::PD => {
                let p = cx
                    .decode(
                        &buf,
                        expected,
                        at,
                        "partition descriptor",
                        Partition::decode,
                    )?
                    .value;
                let full = vds.pds.len() >= 64;
                match vds.pds.iter_mut().find(|o| o.number == p.number) {
                    Some(o) if p.vds_number >= o.vds_number => *o = p,
                    Some(_) => {}
                    None if !full => vds.pds.push(p),
                    None => return Err(limit("partition descriptors", 64, at)),
                }
            }
            ident::LVD => {
                let l = cx.decode(
                    &buf,
                    expected,
                    at,
                    "logical volume descriptor",
                    LogicalVolume::decode,
                )?;
                // ECMA-167 3/10.6.7: the logical block size, which must be the one the
                // anchor was found with.
                let lbs = u32_at(&buf, 212).unwrap_or(0);
                if u64::from(lbs) != cx.bs {
                    return Err(ParseError::at(
                        ParseErrorKind::BadDescriptor(format!(
                            "logical volume descriptor: logical block size {lbs}, but the anchor is at blocks of {} bytes",
                            cx.bs
                        )),
                        at,
                    )
                    .with_offset(212));
                }
                let rev = l.revision.unwrap_or(0);
                if vds
                    .lvd
                    .as_ref()
                    .map_or(true, |(o, _, _)| l.value.vds_number >= o.vds_number)
                {
                    vds.lvd = Some((l.value, rev, at));
                }
            }
            ident::VDP => {
                // ECMA-167 3/10.3: the sequence continues in the next extent.
                let next = cx.decode(&buf, expected, at, "volume descriptor pointer", |b, l| {
                    check_tag(b, ident::VDP, l)?;
                    ExtentAd::decode(slice(b, 20, 8)?).ok_or(DecodeError::Invalid("extent"))
                })?;
                hops += 1;
                if hops > MAX_HOPS {
                    return Err(limit("volume descriptor pointers", MAX_HOPS, at));
                }
                at = u64::from(next.location);
                left = u64::from(next.length) / cx.bs;
                continue;
            }
            ident::TD => {
                cx.decode(&buf, expected, at, "terminating descriptor", |b, l| {
                    check_tag(b, ident::TD, l)
                })?;
                break;
            }
            other => {
                // Implementation use, unallocated space and unknown descriptors: only the tag.
                cx.decode(&buf, expected, at, "volume descriptor", |b, l| {
                    check_tag(b, other, l)
                })?;
            }
        }
        at += 1;
        left -= 1;
    }
    if vds.lvd.is_none() {
        return Err(bad(
            u64::from(ext.location),
            "no logical volume descriptor in the volume descriptor sequence".into(),
        ));
    }
    Ok(vds)
}

/// The logical block sizes a UDF volume may have, in the order they are tried: 2048 first
/// (optical media and every bridge image), then the others ECMA-167 3/8.4.2.1 leaves to the
/// medium (mkudffs writes 512 for hard disks, and any of these with `--blocksize`).
const BLOCK_SIZES: [u64; 4] = [2048, 512, 1024, 4096];

/// The blocks where anchors may be in an image of `blocks` blocks: 256, the last block, the
/// last block - 256 (ECMA-167 3/8.4.2.1; UDF 2.2.3).
fn anchor_candidates(blocks: u64) -> Vec<u64> {
    let mut v = vec![256];
    for c in [blocks.checked_sub(1), blocks.checked_sub(257)]
        .into_iter()
        .flatten()
    {
        if c > 256 && !v.contains(&c) {
            v.push(c);
        }
    }
    v
}

/// The anchor volume descriptor pointers of the volume, with the block each was read from,
/// and the logical block size they reveal (set in `cx.bs`).
///
/// ECMA-167 3/8.4.2.1: the anchor is at block 256 and at the last block, or 256 blocks before
/// the last, of the volume; the block size is the one for which an anchor is found there whose
/// tag (checksum and CRC, ECMA-167 3/7.2) is sound and whose tag location (3/7.2.8) is the
/// block it was read from. Each size of [`BLOCK_SIZES`] is tried in turn; the first one that
/// gives an anchor is the volume's, and every anchor found at that size is returned (the first
/// usable one first). If no size gives one, the anchors are looked for once more at 2048
/// bytes as before: lenient mode then accepts an anchor whose tag location is wrong, with a
/// warning; otherwise the error is the one of the anchor at block 256.
fn find_anchors<R: Read + Seek>(cx: &mut Cx<'_, R>) -> Result<Vec<(u64, Anchor)>, ParseError> {
    for bs in BLOCK_SIZES {
        cx.bs = bs;
        let mut found = Vec::new();
        for lba in anchor_candidates(cx.image_len / bs) {
            let Ok(buf) = cx.sector(lba) else { continue };
            let exact = decode_tag(&buf).is_ok_and(|t| t.location == lba as u32);
            if !exact {
                continue;
            }
            if let Ok(a) = Anchor::decode(&buf, lba as u32) {
                found.push((lba, a.value));
            }
        }
        if let Some(&(at, _)) = found.first() {
            if at != 256 {
                cx.warn(format!(
                    "anchor at block 256 unusable (no sound anchor there at {bs} bytes a block); using the one at block {at}"
                ));
            }
            return Ok(found);
        }
    }
    // Nothing sound at any size: the reasons, at 2048 bytes.
    cx.bs = SECTOR;
    let mut first_err = None;
    let mut found = Vec::new();
    for lba in anchor_candidates(cx.image_len / SECTOR) {
        let got = cx.sector(lba).and_then(|buf| {
            cx.decode(
                &buf,
                lba as u32,
                lba,
                "anchor volume descriptor pointer",
                Anchor::decode,
            )
        });
        match got {
            Ok(a) => found.push((lba, a.value)),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    if found.is_empty() {
        return Err(first_err
            .unwrap_or_else(|| ParseError::at(ParseErrorKind::BadTag("no anchor".into()), 256)));
    }
    if let (Some(&(at, _)), Some(e)) = (found.first(), first_err) {
        if at != 256 {
            cx.warn(format!(
                "anchor at sector 256 unusable ({e}); using the one at {at}"
            ));
        }
    }
    Ok(found)
}

/// Reads the volume structure and the root directory.
fn open_volume<R: Read + Seek>(cx: &mut Cx<'_, R>) -> Result<UdfState, ParseError> {
    // Anchors (and the block size).
    let anchors = find_anchors(cx)?;
    let Some(&(_, anchor)) = anchors.first() else {
        return Err(ParseError::at(
            ParseErrorKind::BadTag("no anchor".into()),
            256,
        ));
    };

    // Volume descriptor sequence: the main one, else the reserve one.
    let (vds, used_main) = match read_vds(cx, anchor.main) {
        Ok(v) => (v, true),
        Err(e) => match read_vds(cx, anchor.reserve) {
            Ok(v) => {
                cx.warn(format!(
                    "main volume descriptor sequence unusable ({e}); using the reserve one"
                ));
                (v, false)
            }
            Err(_) => return Err(e),
        },
    };
    let Vds { pvd, pds, lvd } = vds;
    let Some((lvd, revision, lvd_lba)) = lvd else {
        return Err(bad(
            u64::from(anchor.main.location),
            "no logical volume descriptor".into(),
        ));
    };
    if pvd.is_none() && cx.strict() {
        return Err(bad(lvd_lba, "no primary volume descriptor".into()));
    }

    // Partition maps.
    let mut maps = Vec::with_capacity(lvd.maps.len());
    let mut metadata_partition = false;
    for m in &lvd.maps {
        let pd_for = |n: u16| {
            pds.iter().find(|p| p.number == n).copied().ok_or_else(|| {
                bad(
                    lvd_lba,
                    format!("no partition descriptor for partition number {n}"),
                )
            })
        };
        maps.push(match m {
            PartitionMap::Physical { partition_number } => match pd_for(*partition_number) {
                Ok(pd) => Map::Physical {
                    start: pd.start,
                    len: pd.length,
                },
                Err(e) => Map::Unusable(e),
            },
            PartitionMap::Metadata(mm) => {
                metadata_partition = true;
                match pd_for(mm.partition_number)
                    .and_then(|pd| read_metadata_file(cx, &pd, mm).map(|x| (pd, x)))
                {
                    Ok((pd, (extents, mirror))) => Map::Metadata {
                        start: pd.start,
                        extents,
                        mirror,
                    },
                    Err(e) => Map::Unusable(e),
                }
            }
            PartitionMap::Other(bytes) if is_sparable(bytes) => {
                match read_sparable(cx, bytes, &pds, lvd_lba) {
                    Ok(m) => m,
                    Err(e) => Map::Unusable(e),
                }
            }
            PartitionMap::Other(bytes) => Map::Unusable(ParseError::at(
                ParseErrorKind::Unsupported(describe_map(bytes)),
                lvd_lba,
            )),
        });
    }
    let mut state = UdfState {
        info: UdfInfo {
            revision,
            volume_id: pvd
                .as_ref()
                .map(|p| p.volume_id.clone())
                .unwrap_or_default(),
            logical_volume_id: lvd.logical_volume_id.clone(),
            file_set_id: String::new(),
            files: None,
            dirs: None,
            min_read_revision: None,
            max_write_revision: None,
            integrity_closed: None,
            metadata_partition,
            block_size: cx.bs as u32,
        },
        root: placeholder_root(),
        recording_time: pvd.as_ref().map(|p| p.recording_time.fixed_offset()),
        integrity_time: None,
        maps,
        bs: cx.bs,
    };

    // Integrity (informational: a damaged one only gives a warning).
    match read_integrity(cx, lvd.integrity_extent) {
        Ok(Some(l)) => {
            state.info.files = Some(l.files);
            state.info.dirs = Some(l.directories);
            state.info.min_read_revision = Some(l.min_read_revision);
            state.info.max_write_revision = Some(l.max_write_revision);
            state.info.integrity_closed = Some(l.integrity_type == 1);
            state.integrity_time = Some(l.recording_time.fixed_offset());
        }
        Ok(None) => cx.warn("no logical volume integrity descriptor".into()),
        Err(e) => cx.warn(format!("logical volume integrity descriptor unusable: {e}")),
    }

    // File set descriptor and root directory (the reserve sequence is only looked at again
    // if the main one was used and the file set descriptor it names is damaged).
    let reserve = used_main.then_some(anchor.reserve);
    let (file_set_id, root) = open_file_set(cx, &state, &lvd, reserve)?;
    state.info.file_set_id = file_set_id;
    state.root = root;
    Ok(state)
}

/// The most file set descriptors looked at in one file set descriptor sequence extent, and the
/// most blocks of a partition scanned for the root directory when no file set descriptor is
/// usable.
const MAX_FSDS: u32 = 64;
const MAX_ROOT_SCAN: u32 = 4096;

/// The file set identifier and the root directory: from the file set descriptor the logical
/// volume descriptor names (its logical volume contents use, UDF 2.2.4.5; ECMA-167 4/14.1).
///
/// Strict mode stops at a damaged descriptor. Lenient mode falls back, as far as the image
/// allows and with a warning, to: the next file set descriptors of the sequence in the same
/// extent (ECMA-167 4/8.3.1); the extent the reserve volume descriptor sequence's logical volume
/// descriptor names, if it is another one; the copy in the metadata mirror file, when that has
/// its own (UDF 2.2.13.1); the root ICB recorded in the damaged descriptor; and last a scan of
/// the partition for the root directory's file entry, the one directory whose parent FID names
/// itself (ECMA-167 4/8.6; UDF 2.3.4). Neither glassmaster nor mkudffs records a second file
/// set descriptor, nor a mirror of its own, so on their images the last two find the root.
fn open_file_set<R: Read + Seek>(
    cx: &mut Cx<'_, R>,
    state: &UdfState,
    lvd: &LogicalVolume,
    reserve: Option<ExtentAd>,
) -> Result<(String, DirEntry), ParseError> {
    let main = lvd.fsd_location;
    let (part, block) = (main.location.partition, main.location.block);
    let first_err = match file_set_at(cx, state, part, block) {
        Ok(Some(found)) => return Ok(found),
        Ok(None) => bad(
            state.sector_of(part, block).unwrap_or(0),
            "no file set descriptor where the logical volume descriptor names one".into(),
        ),
        Err(e) => e,
    };
    if cx.strict() {
        return Err(first_err);
    }
    let damaged = format!("file set descriptor unusable ({first_err})");
    // The rest of the sequence's extent (ECMA-167 4/8.3.1: it ends at a terminating
    // descriptor or an unrecorded block).
    let mut extents = vec![main];
    if let Some(ext) = reserve {
        if let Ok(Vds {
            lvd: Some((other, _, _)),
            ..
        }) = read_vds(cx, ext)
        {
            if other.fsd_location.location != main.location {
                extents.push(other.fsd_location);
            }
        }
    }
    for (n, ext) in extents.iter().enumerate() {
        let blocks = (u64::from(ext.length) / cx.bs).clamp(1, u64::from(MAX_FSDS)) as u32;
        for i in u32::from(n == 0)..blocks {
            let b = ext.location.block.saturating_add(i);
            match file_set_at(cx, state, ext.location.partition, b) {
                Ok(Some(found)) => {
                    let lba = state.sector_of(ext.location.partition, b).unwrap_or(0);
                    cx.warn(format!(
                        "{damaged}; using the {} file set descriptor, at sector {lba}",
                        if n == 0 { "next" } else { "reserve sequence's" }
                    ));
                    return Ok(found);
                }
                Ok(None) => break,
                Err(_) => continue,
            }
        }
    }
    // The copy in the metadata mirror file, if it has its own (UDF 2.2.13.1).
    if let Some(mirror) = state.mirrored() {
        if let Ok(Some(found)) = file_set_at(cx, &mirror, part, block) {
            let lba = mirror.sector_of(part, block).unwrap_or(0);
            cx.warn(format!(
                "{damaged}; using its copy in the metadata mirror file, at sector {lba}"
            ));
            return Ok(found);
        }
    }
    // The root ICB as the damaged descriptor records it, if it leads to a root directory.
    if let Ok(lba) = state.sector_of(part, block) {
        let recorded = cx
            .sector(lba)
            .ok()
            .filter(|b| u16_at(b, 0).ok() == Some(ident::FSD))
            .and_then(|b| {
                b.get(400..416)
                    .and_then(crate::format::udf::ad::LongAd::decode)
            });
        if let Some(icb) = recorded {
            if let Some(root) = verified_root(cx, state, icb.location.partition, icb.location.block)
            {
                cx.warn(format!(
                    "{damaged}; the root directory it records, at sector {}, is sound and used",
                    root.location().unwrap_or(0)
                ));
                return Ok((String::new(), root));
            }
        }
    }
    // A scan of the partition for the root directory's file entry.
    for b in 0..MAX_ROOT_SCAN {
        let Ok(lba) = state.sector_of(part, b) else {
            break;
        };
        let Ok(buf) = cx.sector(lba) else { break };
        // ECMA-167 4/14.9, 4/14.17: a file entry or extended file entry of a directory (ICB
        // tag file type 4, byte 27).
        let is_fe = matches!(u16_at(&buf, 0), Ok(ident::FE | ident::EFE));
        if !is_fe || buf.get(27) != Some(&4) || decode_tag(&buf).is_err() {
            continue;
        }
        if let Some(root) = verified_root(cx, state, part, b) {
            cx.warn(format!(
                "{damaged}; the root directory was found by a scan of the partition, at sector {lba}"
            ));
            return Ok((String::new(), root));
        }
    }
    Err(first_err)
}

/// The file set at block `block` of partition `part`: `Ok(None)` where the sequence ends (an
/// unrecorded block or a terminating descriptor, ECMA-167 4/8.3.1).
fn file_set_at<R: Read + Seek>(
    cx: &mut Cx<'_, R>,
    state: &UdfState,
    part: u16,
    block: u32,
) -> Result<Option<(String, DirEntry)>, ParseError> {
    let lba = state.sector_of(part, block)?;
    let buf = cx.sector(lba)?;
    if buf.iter().all(|&b| b == 0)
        || decode_tag(&buf).is_ok_and(|t| t.ident == ident::TD && t.location == block)
    {
        return Ok(None);
    }
    let fs = cx
        .decode(&buf, block, lba, "file set descriptor", FileSet::decode)?
        .value;
    let icb = fs.root_icb.location;
    let root = root_at(cx, state, icb.partition, icb.block)?;
    Ok(Some((fs.file_set_id, root)))
}

/// The root directory's entry from its file entry at block `block` of partition `part`.
fn root_at<R: Read + Seek>(
    cx: &mut Cx<'_, R>,
    state: &UdfState,
    part: u16,
    block: u32,
) -> Result<DirEntry, ParseError> {
    let root = state.entry(cx, "/".into(), Vec::new(), FID_DIRECTORY, part, block, "/")?;
    if root.udf.as_ref().map(|u| u.file_type) != Some(4) {
        return Err(bad(
            u64::from(root.location().unwrap_or(0)),
            "the root directory's file entry is not a directory".into(),
        ));
    }
    Ok(root)
}

/// The root directory at block `block` of partition `part`, if the file entry there is a sound
/// directory whose first FID is a parent FID naming itself (ECMA-167 4/8.6; UDF 2.3.4).
fn verified_root<R: Read + Seek>(
    cx: &mut Cx<'_, R>,
    state: &UdfState,
    part: u16,
    block: u32,
) -> Option<DirEntry> {
    let root = root_at(cx, state, part, block).ok()?;
    let u = root.udf.as_ref()?;
    let (bytes, location) = match &u.embedded {
        Some(d) => (d.clone(), u.block),
        None => {
            let ad = u.ads.first().filter(|a| a.recorded)?;
            (
                cx.sector(state.sector_of(ad.part, ad.block).ok()?).ok()?,
                ad.block,
            )
        }
    };
    let fid = Fid::decode(&bytes, location).ok()?.value;
    let own = (fid.icb.location.partition, fid.icb.location.block) == (part, block);
    (fid.characteristics & FID_PARENT != 0 && own).then_some(root)
}

/// A partition map of another type than 1 or metadata, for messages: its type, and the
/// identifier of a type 2 map (`*UDF Virtual Partition`, `*UDF Sparable Partition`).
fn describe_map(bytes: &[u8]) -> String {
    let kind = bytes.first().copied().unwrap_or(0);
    let id = bytes
        .get(4..36)
        .and_then(EntityId::decode)
        .map(|e| String::from_utf8_lossy(e.ident()).into_owned())
        .unwrap_or_default();
    if id.is_empty() {
        format!("partition map of type {kind}")
    } else {
        format!("partition map of type {kind} ({id})")
    }
}

/// The identifier of a sparable partition map (UDF 2.2.9).
const SPARABLE: &[u8] = b"*UDF Sparable Partition";
/// The identifier of a sparing table (UDF 2.2.12).
const SPARING_TABLE: &[u8] = b"*UDF Sparing Table";
/// The largest sparing table read (UDF 2.2.12: its size is recorded in the map).
const MAX_SPARING_TABLE: u32 = 64 * 1024;

fn is_sparable(map: &[u8]) -> bool {
    map.len() == 64
        && map.first() == Some(&2)
        && map
            .get(4..36)
            .and_then(EntityId::decode)
            .is_some_and(|e| e.is(SPARABLE))
}

/// A sparable partition map (UDF 2.2.9) and its sparing table (UDF 2.2.12): the first of the
/// recorded copies that reads without error.
///
/// ```text
/// map:   38 u16 partition number   40 u16 packet length   42 u8 number of sparing tables
///        44 u32 size of each table 48 u32 x N locations (sectors)
/// table: 16 entity id (*UDF Sparing Table)   48 u16 reallocation table length
///        52 u32 sequence number   56 (u32 original location, u32 mapped location) x length
/// ```
fn read_sparable<R: Read + Seek>(
    cx: &mut Cx<'_, R>,
    map: &[u8],
    pds: &[Partition],
    lvd_lba: u64,
) -> Result<Map, ParseError> {
    let field = |e: DecodeError| decode_error(e, lvd_lba, "sparable partition map");
    let number = u16_at(map, 38).map_err(field)?;
    let packet = u32::from(u16_at(map, 40).map_err(field)?);
    let tables = usize::from(u8_at(map, 42).map_err(field)?);
    let size = u32_at(map, 44).map_err(field)?;
    let pd = pds.iter().find(|p| p.number == number).ok_or_else(|| {
        bad(
            lvd_lba,
            format!("no partition descriptor for partition number {number}"),
        )
    })?;
    if packet == 0 || !(1..=4).contains(&tables) || !(56..=MAX_SPARING_TABLE).contains(&size) {
        return Err(bad(
            lvd_lba,
            format!(
                "sparable partition map: packet length {packet}, {tables} tables of {size} bytes"
            ),
        ));
    }
    let mut first_err = None;
    for i in 0..tables {
        let loc = u32_at(map, 48 + 4 * i).map_err(field)?;
        match read_sparing_table(cx, loc, size) {
            Ok(mut remaps) => {
                if i > 0 {
                    let e = first_err.as_ref().map(ParseError::to_string);
                    cx.warn(format!(
                        "sparing table unusable ({}); using copy {}",
                        e.unwrap_or_default(),
                        i + 1
                    ));
                }
                remaps.sort_unstable();
                return Ok(Map::Sparable {
                    start: pd.start,
                    len: pd.length,
                    packet,
                    remaps,
                });
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or_else(|| bad(lvd_lba, "no sparing table".into())))
}

/// The remapped packets of the sparing table of `size` bytes at sector `loc`.
fn read_sparing_table<R: Read + Seek>(
    cx: &mut Cx<'_, R>,
    loc: u32,
    size: u32,
) -> Result<Vec<(u32, u32)>, ParseError> {
    let lba = u64::from(loc);
    let len = u64::from(size).div_ceil(cx.bs) * cx.bs;
    cx.check_in_image(lba, len)?;
    // Bounded by MAX_SPARING_TABLE.
    let mut buf = vec![0u8; len as usize];
    read_at(cx.r, lba * cx.bs, &mut buf, lba)?;
    cx.decode(&buf, loc, lba, "sparing table", |b, l| {
        check_tag(b, 0, l)?;
        if !EntityId::decode(slice(b, 16, 32)?).is_some_and(|e| e.is(SPARING_TABLE)) {
            return Err(DecodeError::Invalid("sparing table identifier"));
        }
        let n = usize::from(u16_at(b, 48)?);
        let entries = slice(b, 56, n * 8)?;
        Ok(entries
            .chunks_exact(8)
            .filter_map(|e| {
                let original = u32_at(e, 0).ok()?;
                let mapped = u32_at(e, 4).ok()?;
                // 0xFFFFFFFF: available, 0xFFFFFFF0: defective; neither maps anything.
                (original < 0xFFFF_FFF0).then_some((original, mapped))
            })
            .collect())
    })
}

/// The metadata file's extents (UDF 2.2.13), from its file entry or, if that is damaged, from
/// the metadata mirror file's; and the mirror's extents when the metadata file's were used and
/// the mirror is a copy of its own (other blocks).
#[allow(clippy::type_complexity)]
fn read_metadata_file<R: Read + Seek>(
    cx: &mut Cx<'_, R>,
    pd: &Partition,
    m: &MetadataPartitionMap,
) -> Result<(Vec<MetaExtent>, Option<Vec<MetaExtent>>), ParseError> {
    match metadata_extents(cx, pd, m.metadata_file_location, 250) {
        Ok(v) => {
            let mirror = metadata_extents(cx, pd, m.mirror_file_location, 251)
                .ok()
                .filter(|w| *w != v);
            Ok((v, mirror))
        }
        Err(e) => match metadata_extents(cx, pd, m.mirror_file_location, 251) {
            Ok(v) => {
                cx.warn(format!(
                    "metadata file unusable ({e}); using the metadata mirror file"
                ));
                Ok((v, None))
            }
            Err(_) => Err(e),
        },
    }
}

fn metadata_extents<R: Read + Seek>(
    cx: &mut Cx<'_, R>,
    pd: &Partition,
    location: u32,
    file_type: u8,
) -> Result<Vec<MetaExtent>, ParseError> {
    let lba = u64::from(pd.start) + u64::from(location);
    let buf = cx.sector(lba)?;
    let fe = cx.decode(&buf, location, lba, "metadata file entry", parse_file_entry)?;
    if fe.file_type != file_type {
        return Err(bad(
            lba,
            format!(
                "metadata file entry has file type {}, expected {file_type}",
                fe.file_type
            ),
        ));
    }
    let ads: Vec<(u32, u32, ExtentType)> = match fe.allocation {
        Allocation::Short(v) => v.iter().map(|a| (a.position, a.length, a.kind)).collect(),
        Allocation::Long(v) => v
            .iter()
            .map(|a| (a.location.block, a.length, a.kind))
            .collect(),
        Allocation::Embedded(_) => {
            return Err(bad(lba, "metadata file with embedded data".into()));
        }
    };
    if ads.len() > cx.limits.max_extents_per_file {
        return Err(limit(
            "extents per file",
            cx.limits.max_extents_per_file,
            lba,
        ));
    }
    let mut out = Vec::with_capacity(ads.len());
    for (block, len, kind) in ads {
        if kind == ExtentType::NextExtent {
            return Err(ParseError::at(
                ParseErrorKind::Unsupported(
                    "metadata file with allocation extent descriptors".into(),
                ),
                lba,
            ));
        }
        out.push(MetaExtent {
            block,
            blocks: (u64::from(len) / cx.bs) as u32,
            recorded: kind == ExtentType::Recorded,
        });
    }
    Ok(out)
}

/// Reads the logical volume integrity sequence (ECMA-167 3/8.8.2): the last integrity
/// descriptor prevails.
fn read_integrity<R: Read + Seek>(
    cx: &mut Cx<'_, R>,
    ext: ExtentAd,
) -> Result<Option<LogicalVolumeIntegrity>, ParseError> {
    let mut found = None;
    let mut at = u64::from(ext.location);
    let mut left = (u64::from(ext.length) / cx.bs).min(64);
    let mut hops = 0usize;
    while left > 0 {
        let buf = cx.sector(at)?;
        if buf.iter().all(|&b| b == 0) {
            break;
        }
        let tag = decode_tag(&buf).map_err(|e| tag_error(e, at, "integrity descriptor"))?;
        if tag.ident != ident::LVID {
            break; // a terminating descriptor, or anything else, ends the sequence
        }
        let l = cx.decode(
            &buf,
            at as u32,
            at,
            "logical volume integrity descriptor",
            LogicalVolumeIntegrity::decode,
        )?;
        found = Some(l.value);
        // ECMA-167 3/10.10.4: the next integrity extent, if any.
        let next = ExtentAd::decode(buf.get(32..40).unwrap_or_default()).unwrap_or_default();
        if u64::from(next.length) >= cx.bs {
            hops += 1;
            if hops > MAX_HOPS {
                return Err(limit("integrity extents", MAX_HOPS, at));
            }
            at = u64::from(next.location);
            left = (u64::from(next.length) / cx.bs).min(64);
            continue;
        }
        at += 1;
        left -= 1;
    }
    Ok(found)
}

/// A file entry or extended file entry (ECMA-167 4/14.9, 4/14.17), decoded for reading:
/// timestamps that do not decode are `None` rather than errors.
struct Fe {
    file_type: u8,
    icb_flags: u16,
    uid: u32,
    gid: u32,
    permissions: u32,
    link_count: u16,
    info_len: u64,
    atime: Option<DateTime<FixedOffset>>,
    mtime: Option<DateTime<FixedOffset>>,
    ctime: Option<DateTime<FixedOffset>>,
    crtime: Option<DateTime<FixedOffset>>,
    unique_id: u64,
    device: Option<(u32, u32)>,
    allocation: Allocation,
}

/// Decodes the file entry in `buf` whose tag location is `location`.
fn parse_file_entry(buf: &[u8], location: u32) -> Result<Fe, DecodeError> {
    let tag = crate::format::udf::tag::verify_tag(buf, location)?;
    let efe = match tag.ident {
        ident::FE => false,
        ident::EFE => true,
        found => {
            return Err(DecodeError::Ident {
                expected: ident::FE,
                found,
            })
        }
    };
    let flags = u16_at(buf, 16 + 18)?;
    // Access, modification, creation (extended entries only) and attribute times; unique id;
    // length of the extended attributes (followed by the length of the descriptors).
    let (atime, mtime, crtime, ctime, uid_off, ea_off) = if efe {
        (80, 92, Some(104), 116, 200, 208)
    } else {
        (72, 84, None, 96, 160, 168)
    };
    let time = |off: usize| slice(buf, off, 12).ok().and_then(decode_timestamp);
    let ea_len = u32_at(buf, ea_off)? as usize;
    let ad_len = u32_at(buf, ea_off + 4)? as usize;
    let base = ea_off + 8;
    let ea = slice(buf, base, ea_len)?;
    let ad = slice(buf, base.saturating_add(ea_len), ad_len)?;
    let allocation = match flags & 7 {
        2 => {
            return Err(DecodeError::Invalid(
                "allocation type (extended descriptors)",
            ))
        }
        t => Allocation::decode(t, ad).ok_or(DecodeError::Invalid("allocation descriptors"))?,
    };
    Ok(Fe {
        file_type: u8_at(buf, 16 + 11)?,
        icb_flags: flags,
        uid: u32_at(buf, 36)?,
        gid: u32_at(buf, 40)?,
        permissions: u32_at(buf, 44)?,
        link_count: u16_at(buf, 48)?,
        info_len: u64_at(buf, 56)?,
        atime: time(atime),
        mtime: time(mtime),
        crtime: crtime.and_then(time),
        ctime: time(ctime),
        unique_id: u64_at(buf, uid_off)?,
        device: if ea.is_empty() {
            None
        } else {
            decode_device_ea(ea, location)
        },
        allocation,
    })
}

/// The allocation descriptors of an allocation extent descriptor (ECMA-167 4/14.5) whose tag
/// location is `location`: short ones (in partition `part`) or long ones.
fn parse_aed(
    buf: &[u8],
    location: u32,
    short: bool,
    part: u16,
) -> Result<Vec<(Ad, ExtentType)>, DecodeError> {
    let aed = AllocationExtent::decode(buf, location, short)?.value;
    Ok(ads_of(&aed.allocation, part).unwrap_or_default())
}

/// The descriptors of `alloc` (short ones in partition `part`) with their extent types;
/// `None` for embedded data.
fn ads_of(alloc: &Allocation, part: u16) -> Option<Vec<(Ad, ExtentType)>> {
    let ad = |part, block, len, kind| {
        (
            Ad {
                part,
                block,
                len,
                recorded: kind == ExtentType::Recorded,
            },
            kind,
        )
    };
    match alloc {
        Allocation::Short(v) => Some(
            v.iter()
                .map(|a| ad(part, a.position, a.length, a.kind))
                .collect(),
        ),
        Allocation::Long(v) => Some(
            v.iter()
                .map(|a| ad(a.location.partition, a.location.block, a.length, a.kind))
                .collect(),
        ),
        Allocation::Embedded(_) => None,
    }
}

/// What an entry counts for against `max_entries_per_dir` and `max_total_entries`: 1, plus its
/// extents (or UDF allocation descriptors) beyond the first.
pub(crate) fn entry_weight(e: &DirEntry) -> usize {
    let ads = e.udf.as_ref().map_or(0, |u| u.ads.len());
    1 + e.extents.len().max(ads).saturating_sub(1)
}

/// Strict mode: a FID's directory flag agrees with its file entry's type (ECMA-167 4/14.4.3,
/// 4/14.6.6).
fn check_kind<R>(
    cx: &Cx<'_, R>,
    name: &str,
    is_dir: bool,
    file_type: u8,
    lba: u64,
) -> Result<(), ParseError> {
    if is_dir != (file_type == 4) && cx.limits.is_strict() {
        return Err(bad(
            lba,
            format!(
                "{name}: the identifier says {}, the file entry has file type {file_type}",
                if is_dir {
                    "directory"
                } else {
                    "not a directory"
                },
            ),
        ));
    }
    Ok(())
}

/// Approximate heap and inline bytes one entry of the UDF view holds, for the metadata budget
/// ([`Limits::max_metadata_bytes`]).
fn udf_entry_cost(e: &DirEntry) -> u64 {
    let udf = e.udf.as_ref().map_or(0, |u| {
        std::mem::size_of::<UdfEntry>()
            + u.dir_path.len()
            + u.ads.len() * std::mem::size_of::<Ad>()
            + u.embedded.as_ref().map_or(0, Vec::len)
    });
    let posix = e.posix.as_ref().map_or(0, |p| {
        std::mem::size_of::<Posix>() + p.symlink.as_ref().map_or(0, Vec::len)
    });
    super::dir::entry_cost(e) + (udf + posix) as u64
}

/// The POSIX file type bits for an ICB file type (ECMA-167 4/14.6.6).
fn type_bits(file_type: u8) -> u32 {
    match file_type {
        4 => 0o040_000,
        5 | 249 => 0o100_000, // regular, real-time
        6 => 0o060_000,
        7 => 0o020_000,
        9 => 0o010_000,
        10 => 0o140_000,
        12 => 0o120_000,
        _ => 0,
    }
}

impl UdfState {
    /// True if a metadata partition's mirror file has its own copy (see [`mirrored`]).
    ///
    /// [`mirrored`]: Self::mirrored
    fn has_mirror(&self) -> bool {
        self.maps.iter().any(|m| {
            matches!(
                m,
                Map::Metadata {
                    mirror: Some(_),
                    ..
                }
            )
        })
    }

    /// The same file system read through the metadata mirror file's own copy (UDF 2.2.13.1),
    /// if a metadata partition has one.
    fn mirrored(&self) -> Option<UdfState> {
        let mut any = false;
        let maps = self
            .maps
            .iter()
            .map(|m| match m {
                Map::Metadata {
                    start,
                    mirror: Some(mirror),
                    ..
                } => {
                    any = true;
                    Map::Metadata {
                        start: *start,
                        extents: mirror.clone(),
                        mirror: None,
                    }
                }
                other => other.clone(),
            })
            .collect();
        any.then(|| UdfState {
            maps,
            ..self.clone()
        })
    }

    /// The map of partition reference `part`.
    fn map(&self, part: u16, lba_hint: u64) -> Result<&Map, ParseError> {
        self.maps.get(usize::from(part)).ok_or_else(|| {
            bad(
                lba_hint,
                format!("partition reference {part} names no partition map"),
            )
        })
    }

    /// The absolute sectors of `len` bytes from block `block` of partition `part`, as extents
    /// (several when the metadata file is fragmented).
    fn map_run(
        &self,
        part: u16,
        block: u32,
        len: u32,
        lba_hint: u64,
    ) -> Result<Vec<Extent>, ParseError> {
        match self.map(part, lba_hint)? {
            Map::Physical { start, .. } => {
                let lba = u64::from(*start) + u64::from(block);
                let lba32 = u32::try_from(lba)
                    .map_err(|_| ParseError::at(ParseErrorKind::ExtentOutOfImage, lba))?;
                Ok(vec![Extent { lba: lba32, len }])
            }
            Map::Metadata { start, extents, .. } => {
                // Byte offsets in the metadata file.
                let mut want = u64::from(block) * self.bs;
                let mut left = u64::from(len);
                let mut out = Vec::new();
                let mut ext_start = 0u64;
                for m in extents {
                    if left == 0 {
                        break;
                    }
                    let ext_len = u64::from(m.blocks) * self.bs;
                    let ext_end = ext_start + ext_len;
                    if want < ext_end {
                        if !m.recorded {
                            return Err(bad(
                                lba_hint,
                                format!("metadata partition block {block} is not recorded"),
                            ));
                        }
                        let within = want - ext_start;
                        let n = left.min(ext_end - want);
                        let lba = u64::from(*start) + u64::from(m.block) + within / self.bs;
                        let lba = u32::try_from(lba)
                            .map_err(|_| ParseError::at(ParseErrorKind::ExtentOutOfImage, lba))?;
                        // n <= len, a u32.
                        out.push(Extent { lba, len: n as u32 });
                        want += n;
                        left -= n;
                    }
                    ext_start = ext_end;
                }
                if left > 0 {
                    return Err(bad(
                        lba_hint,
                        format!("{len} bytes at block {block} reach beyond the metadata partition"),
                    ));
                }
                Ok(out)
            }
            Map::Sparable {
                start,
                packet,
                remaps,
                ..
            } => {
                let mut out = Vec::new();
                let mut b = u64::from(block);
                let mut left = u64::from(len);
                let packet = u64::from(*packet);
                loop {
                    let pkt = b - b % packet;
                    let found = u32::try_from(pkt)
                        .ok()
                        .and_then(|p| remaps.binary_search_by_key(&p, |r| r.0).ok());
                    let (lba, room) = match found.and_then(|i| remaps.get(i)) {
                        // A remapped packet: its replacement, to the end of the packet.
                        Some(&(_, mapped)) => (u64::from(mapped) + (b - pkt), pkt + packet - b),
                        // In place: up to the next remapped packet.
                        None => {
                            let i = remaps.partition_point(|r| u64::from(r.0) <= b);
                            let next = remaps.get(i).map_or(u64::MAX, |r| u64::from(r.0));
                            (u64::from(*start) + b, next - b)
                        }
                    };
                    let n = left.min(room.saturating_mul(self.bs));
                    let lba32 = u32::try_from(lba)
                        .map_err(|_| ParseError::at(ParseErrorKind::ExtentOutOfImage, lba))?;
                    // n <= len, a u32.
                    out.push(Extent {
                        lba: lba32,
                        len: n as u32,
                    });
                    left -= n;
                    if left == 0 {
                        break;
                    }
                    b += n / self.bs;
                }
                Ok(out)
            }
            Map::Unusable(e) => Err(e.clone()),
        }
    }

    /// Strict mode: `len` bytes from block `block` of physical partition `part` must end inside
    /// the partition (the metadata partition's mapping checks its own bounds).
    fn check_partition(&self, part: u16, block: u32, len: u32) -> Result<(), ParseError> {
        if let Ok(
            Map::Physical { start, len: plen }
            | Map::Sparable {
                start, len: plen, ..
            },
        ) = self.map(part, 0)
        {
            let blocks = u64::from(len).div_ceil(self.bs);
            if u64::from(block) + blocks > u64::from(*plen) {
                return Err(bad(
                    u64::from(*start) + u64::from(block),
                    format!(
                        "extent of {len} bytes at block {block} ends beyond its partition of {plen} blocks"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The absolute sector of block `block` of partition `part`.
    fn sector_of(&self, part: u16, block: u32) -> Result<u64, ParseError> {
        let runs = self.map_run(part, block, self.bs as u32, 0)?;
        Ok(runs.first().map_or(0, |e| u64::from(e.lba)))
    }

    /// The allocation descriptors of a file entry in partition `part`, following allocation
    /// extent descriptors; `None` with the data for embedded data.
    fn collect_ads<R: Read + Seek>(
        &self,
        cx: &mut Cx<'_, R>,
        allocation: Allocation,
        part: u16,
        lba: u64,
    ) -> Result<(Vec<Ad>, Option<Vec<u8>>), ParseError> {
        let short = matches!(allocation, Allocation::Short(_));
        let Some(mut list) = ads_of(&allocation, part) else {
            let Allocation::Embedded(data) = allocation else {
                return Ok((Vec::new(), None));
            };
            return Ok((Vec::new(), Some(data)));
        };
        let max = cx.limits.max_extents_per_file;
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        loop {
            let mut next = None;
            for (ad, kind) in list {
                if kind == ExtentType::NextExtent {
                    next = Some(ad);
                    break; // ECMA-167 4/12.1: it ends its list
                }
                if out.len() >= max {
                    return Err(limit("extents per file", max, lba));
                }
                out.push(ad);
            }
            let Some(n) = next else { break };
            if seen.len() >= max {
                return Err(limit("extents per file", max, lba));
            }
            let at = self.sector_of(n.part, n.block)?;
            if !seen.insert(at) {
                return Err(bad(at, "allocation extent descriptors form a loop".into()));
            }
            // Each hop reads a sector of metadata: a chain of nothing but "next extent"
            // descriptors costs no extent, and file entries may share one chain.
            cx.charge(cx.bs, at)?;
            let buf = cx.sector(at)?;
            list = cx.decode(&buf, n.block, at, "allocation extent descriptor", |b, l| {
                parse_aed(b, l, short, part)
            })?;
        }
        Ok((out, None))
    }

    /// The entry for the file entry at block `block` of partition `part`, named `name`
    /// (`identifier` as recorded) by a FID with `characteristics`, at `path` in the view.
    #[allow(clippy::too_many_arguments)]
    fn entry<R: Read + Seek>(
        &self,
        cx: &mut Cx<'_, R>,
        name: String,
        identifier: Vec<u8>,
        characteristics: u8,
        part: u16,
        block: u32,
        path: &str,
    ) -> Result<DirEntry, ParseError> {
        let lba = self.sector_of(part, block)?;
        let lba32 = u32::try_from(lba)
            .map_err(|_| ParseError::at(ParseErrorKind::ExtentOutOfImage, lba))?;
        let buf = cx.sector(lba)?;
        let fe = cx.decode(&buf, block, lba, "file entry", parse_file_entry)?;
        let is_dir = characteristics & FID_DIRECTORY != 0;
        check_kind(cx, &name, is_dir, fe.file_type, lba)?;
        let (ads, embedded) = self.collect_ads(cx, fe.allocation.clone(), part, lba)?;
        let mut extents = Vec::new();
        for ad in ads.iter().filter(|a| a.recorded && a.len != 0) {
            for run in self.map_run(ad.part, ad.block, ad.len, lba)? {
                if extents.len() >= cx.limits.max_extents_per_file {
                    return Err(limit(
                        "extents per file",
                        cx.limits.max_extents_per_file,
                        lba,
                    ));
                }
                extents.push(run);
            }
        }
        let symlink = if fe.file_type == 12 {
            // The target's bytes are read (and then kept) per file entry.
            cx.charge(fe.info_len.min(MAX_SYMLINK_BYTES), lba)?;
            self.symlink_target(cx, &fe, &extents, embedded.as_deref())
        } else {
            None
        };
        let mode = type_bits(fe.file_type)
            | mode_from_permissions(fe.permissions)
            | if fe.icb_flags & ICB_SETUID != 0 {
                0o4000
            } else {
                0
            }
            | if fe.icb_flags & ICB_SETGID != 0 {
                0o2000
            } else {
                0
            }
            | if fe.icb_flags & ICB_STICKY != 0 {
                0o1000
            } else {
                0
            };
        let id = |v: u32| if v == u32::MAX { 0 } else { v };
        let posix = Posix {
            mode,
            nlink: u32::from(fe.link_count),
            uid: id(fe.uid),
            gid: id(fe.gid),
            serial: Some(fe.unique_id as u32),
            mtime: fe.mtime,
            atime: fe.atime,
            ctime: fe.ctime,
            crtime: fe.crtime,
            symlink: symlink.map(String::into_bytes),
            // Posix::device_numbers reads a zero high half as a Linux dev_t.
            rdev: fe.device.map(|(major, minor)| {
                if major != 0 {
                    (major, minor)
                } else {
                    (0, (minor & 0xff) | ((minor & !0xff) << 12))
                }
            }),
            relocated: false,
        };
        Ok(DirEntry {
            name,
            identifier,
            is_dir,
            size: fe.info_len,
            extents,
            mtime: fe.mtime,
            hidden: characteristics & FID_HIDDEN != 0,
            view: View::Udf,
            posix: Some(Box::new(posix)),
            rr_name: None,
            udf: Some(Box::new(UdfEntry {
                partition: part,
                block,
                sector: lba32,
                unique_id: fe.unique_id,
                file_type: fe.file_type,
                embedded,
                ads,
                dir_path: if is_dir {
                    path.to_string()
                } else {
                    String::new()
                },
            })),
        })
    }

    /// The target of a symbolic link (ECMA-167 4/14.16): its path components, embedded or in
    /// at most [`MAX_SYMLINK_BYTES`] of extents. `None` if they do not decode.
    fn symlink_target<R: Read + Seek>(
        &self,
        cx: &mut Cx<'_, R>,
        fe: &Fe,
        extents: &[Extent],
        embedded: Option<&[u8]>,
    ) -> Option<String> {
        let len = usize::try_from(fe.info_len).ok()?;
        if let Some(d) = embedded {
            return decode_symlink_target(d.get(..len)?);
        }
        if fe.info_len > MAX_SYMLINK_BYTES {
            return None;
        }
        let mut data = Vec::with_capacity(len);
        for e in extents {
            if data.len() >= len {
                break;
            }
            let n = (len - data.len()).min(e.len as usize);
            cx.check_in_image(u64::from(e.lba), n as u64).ok()?;
            let mut buf = vec![0u8; n];
            read_at(cx.r, u64::from(e.lba) * cx.bs, &mut buf, u64::from(e.lba)).ok()?;
            data.extend_from_slice(&buf);
        }
        if data.len() < len {
            return None;
        }
        decode_symlink_target(&data)
    }

    /// The entries of UDF directory `dir`.
    fn read_dir<R: Read + Seek>(
        &self,
        cx: &mut Cx<'_, R>,
        dir: &DirEntry,
    ) -> Result<Vec<DirEntry>, ParseError> {
        let Some(u) = dir.udf.as_ref() else {
            return Err(ParseError::new(ParseErrorKind::NotFound(format!(
                "{}: not an entry of the UDF view",
                dir.name
            ))));
        };
        let fe_lba = u64::from(u.sector);
        if !dir.is_dir {
            return Err(ParseError::at(
                ParseErrorKind::NotADirectory(dir.name.clone()),
                fe_lba,
            ));
        }
        let limits = *cx.limits;
        if dir.size > limits.max_dir_bytes {
            return Err(limit(
                "directory bytes",
                limits.max_dir_bytes as usize,
                fe_lba,
            ));
        }
        // dir.size <= max_dir_bytes, checked above. Its extents may all name the same blocks,
        // so the buffer is charged whatever the image's size.
        let size = dir.size as usize;
        cx.charge(dir.size, fe_lba)?;
        // The directory's data; for each allocation descriptor (offset in the data, partition
        // block of its first byte); for each run of sectors (offset in the data, the run).
        let mut data = Vec::new();
        let mut parts: Vec<(usize, u32)> = Vec::new();
        let mut runs: Vec<(usize, Extent)> = Vec::new();
        if let Some(d) = &u.embedded {
            let d = d.get(..size).ok_or_else(|| {
                bad(
                    fe_lba,
                    format!(
                        "{}: directory of {size} bytes, {} embedded",
                        dir.name,
                        d.len()
                    ),
                )
            })?;
            data.extend_from_slice(d);
        } else {
            if u.ads.len() > limits.max_extents_per_file {
                return Err(limit(
                    "extents per file",
                    limits.max_extents_per_file,
                    fe_lba,
                ));
            }
            // Map and check everything before allocating.
            let mut plan = Vec::new();
            let mut total = 0usize;
            for ad in &u.ads {
                if total >= size {
                    break;
                }
                if !ad.recorded {
                    return Err(bad(
                        fe_lba,
                        format!("{}: directory with an unrecorded extent", dir.name),
                    ));
                }
                let n = (ad.len as usize).min(size - total);
                let runs = self.map_run(ad.part, ad.block, n as u32, fe_lba)?;
                let mut off = total;
                for run in runs {
                    cx.check_in_image(u64::from(run.lba), u64::from(run.len))?;
                    plan.push((off, run));
                    off += run.len as usize;
                }
                if limits.is_strict() {
                    self.check_partition(ad.part, ad.block, n as u32)?;
                }
                parts.push((total, ad.block));
                total += n;
                if plan.len() > limits.max_extents_per_file {
                    return Err(limit(
                        "extents per file",
                        limits.max_extents_per_file,
                        fe_lba,
                    ));
                }
            }
            if total < size {
                return Err(bad(
                    fe_lba,
                    format!(
                        "{}: directory of {size} bytes has {total} bytes of extents",
                        dir.name
                    ),
                ));
            }
            data.resize(size, 0);
            for (off, run) in &plan {
                let dst = data
                    .get_mut(*off..*off + run.len as usize)
                    .unwrap_or_default();
                read_at(cx.r, u64::from(run.lba) * cx.bs, dst, u64::from(run.lba))?;
            }
            runs = plan;
        }
        // For the FID at byte `off` of the data: its expected tag location (the partition block
        // holding its first byte; for FIDs embedded in the file entry, the entry's block), and
        // for errors, the sector and the offset in it.
        let bs = cx.bs as usize;
        let locate = |off: usize| -> (u32, u64, usize) {
            if u.embedded.is_some() {
                return (u.block, u64::from(u.sector), off);
            }
            let location = parts
                .iter()
                .rev()
                .find(|p| p.0 <= off)
                .map_or(u.block, |p| p.1.wrapping_add(((off - p.0) / bs) as u32));
            let (lba, in_sector) = runs.iter().rev().find(|r| r.0 <= off).map_or(
                (u64::from(u.sector), off),
                |(o, run)| {
                    let within = off - o;
                    (u64::from(run.lba) + (within / bs) as u64, within % bs)
                },
            );
            (location, lba, in_sector)
        };

        let mut out: Vec<DirEntry> = Vec::new();
        // File entries already decoded, by ICB: hard links (and hostile directories naming one
        // entry thousands of times) decode it, its allocation extents and link target once.
        let mut by_icb: HashMap<(u16, u32), usize> = HashMap::new();
        let mut weight = 0usize;
        let mut off = 0usize;
        while off < data.len() {
            let (location, lba, in_sector) = locate(off);
            let at = |e: ParseError| ParseError {
                offset: Some(in_sector),
                ..e
            };
            let rest = data.get(off..).unwrap_or_default();
            let l_fi = usize::from(rest.get(19).copied().unwrap_or(0));
            let l_iu = usize::from(u16_at(rest, 36).unwrap_or(0));
            let len = round4(38 + l_iu + l_fi);
            let Some(bytes) = rest.get(..len) else {
                return Err(at(bad(
                    lba,
                    format!(
                        "{}: file identifier descriptor of {len} bytes at offset {off} overruns the directory's {} bytes",
                        dir.name,
                        data.len()
                    ),
                )));
            };
            let fid = cx
                .decode(
                    bytes,
                    location,
                    lba,
                    "file identifier descriptor",
                    |b, l| Fid::decode(b, l).map(|d| d.value),
                )
                .map_err(at)?;
            off += len;
            if fid.characteristics & (FID_PARENT | FID_DELETED) != 0 {
                continue;
            }
            if out.len() >= limits.max_entries_per_dir {
                return Err(limit(
                    "entries per directory",
                    limits.max_entries_per_dir,
                    lba,
                ));
            }
            let name = match decode_cs0(&fid.name) {
                Some(n) if !n.is_empty() => n,
                _ => {
                    return Err(at(bad(
                        lba,
                        format!("{}: file identifier is empty or not CS0", dir.name),
                    )))
                }
            };
            let icb = fid.icb.location;
            let key = (icb.partition, icb.block);
            let seen = by_icb.get(&key).and_then(|&i| out.get(i));
            let child = match seen {
                Some(first) => {
                    let mut c = first.clone();
                    let is_dir = fid.characteristics & FID_DIRECTORY != 0;
                    let file_type = c.udf.as_ref().map_or(0, |u| u.file_type);
                    let sector = c.udf.as_ref().map_or(lba, |u| u64::from(u.sector));
                    check_kind(cx, &name, is_dir, file_type, sector)?;
                    c.name = name;
                    c.identifier = fid.name;
                    c.is_dir = is_dir;
                    c.hidden = fid.characteristics & FID_HIDDEN != 0;
                    c
                }
                None => {
                    let path = match u.dir_path.as_str() {
                        "" | "/" => format!("/{name}"),
                        parent => format!("{parent}/{name}"),
                    };
                    // Kept for a second try in the metadata mirror file (lenient mode).
                    let spare = (!limits.is_strict() && self.has_mirror())
                        .then(|| (name.clone(), fid.name.clone()));
                    let c = match self.entry(
                        cx,
                        name,
                        fid.name,
                        fid.characteristics,
                        icb.partition,
                        icb.block,
                        &path,
                    ) {
                        Ok(c) => c,
                        // Lenient: a damaged file entry is read from the metadata mirror
                        // file's own copy if there is one, else left out; the directory lists.
                        Err(e) if !limits.is_strict() && is_damage(&e) => {
                            let fe_at = self.sector_of(icb.partition, icb.block).ok();
                            let copy = self.mirrored().zip(spare).and_then(|(m, (n, id))| {
                                let c = m
                                    .entry(
                                        cx,
                                        n,
                                        id,
                                        fid.characteristics,
                                        icb.partition,
                                        icb.block,
                                        &path,
                                    )
                                    .ok()?;
                                Some((c, m.sector_of(icb.partition, icb.block).ok()?))
                            });
                            if let Some((c, at)) = copy {
                                cx.warn(format!(
                                    "{path}: damaged file entry at sector {} ({}); using its copy in the metadata mirror file, at sector {at}",
                                    fe_at.unwrap_or(0),
                                    e.kind
                                ));
                                by_icb.insert(key, out.len());
                                cx.charge(udf_entry_cost(&c), lba)?;
                                weight = weight.saturating_add(entry_weight(&c));
                                out.push(c);
                                continue;
                            }
                            // The file entry's sector, and the error (naming where it
                            // found the damage, if elsewhere).
                            let at = fe_at.or(e.lba).map_or_else(
                                || format!("partition {} block {}", icb.partition, icb.block),
                                |l| format!("sector {l}"),
                            );
                            let why = if e.lba.is_some() && e.lba != fe_at {
                                e.to_string()
                            } else {
                                e.kind.to_string()
                            };
                            let msg =
                                format!("{path}: damaged file entry at {at} left out ({why})");
                            cx.left_out.push(msg.clone());
                            cx.warn(msg);
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                    by_icb.insert(key, out.len());
                    c
                }
            };
            cx.charge(udf_entry_cost(&child), lba)?;
            // Many FIDs may name one file entry (hard links), each copying its extents: every
            // extent (or hole) beyond a child's first counts as one more entry.
            weight = weight.saturating_add(entry_weight(&child));
            if weight > limits.max_entries_per_dir {
                return Err(limit(
                    "entries per directory",
                    limits.max_entries_per_dir,
                    lba,
                ));
            }
            out.push(child);
        }
        Ok(out)
    }
}

impl<R: Read + Seek> ImageReader<R> {
    /// [`read_dir`](Self::read_dir) in the UDF view.
    pub(super) fn udf_read_dir(&mut self, dir: &DirEntry) -> Result<Vec<DirEntry>, ParseError> {
        let Some(state) = self.udf.as_ref() else {
            return Err(ParseError::new(ParseErrorKind::NotFound("udf view".into())));
        };
        let mut cx = Cx::new(
            &mut self.inner,
            self.image_len,
            state.bs,
            &self.limits,
            &mut self.warnings,
        );
        cx.meta_used = self.meta_used;
        let result = state.read_dir(&mut cx, dir);
        self.meta_used = cx.meta_used;
        for msg in cx.left_out {
            // A directory read twice (lookup, then walk) reports its damage once.
            if !self.left_out.contains(&msg) {
                warn(&mut self.left_out, msg);
            }
        }
        result
    }

    /// [`open_file`](Self::open_file) in the UDF view: embedded data, or the allocation
    /// descriptors mapped to sectors (holes read as zeros).
    pub(super) fn udf_open_file(
        &mut self,
        entry: &DirEntry,
        u: &UdfEntry,
    ) -> Result<FileReader<'_, R>, ParseError> {
        let lba = u64::from(u.sector);
        if let Some(d) = &u.embedded {
            let size = usize::try_from(entry.size).ok();
            let data = size.and_then(|n| d.get(..n)).ok_or_else(|| {
                bad(
                    lba,
                    format!(
                        "{}: size {} exceeds the {} bytes embedded in its file entry",
                        entry.name,
                        entry.size,
                        d.len()
                    ),
                )
            })?;
            return Ok(FileReader::from_memory(&mut self.inner, data.to_vec()));
        }
        let state = self
            .udf
            .as_ref()
            .ok_or_else(|| ParseError::new(ParseErrorKind::NotFound("udf view".into())))?;
        let max = self.limits.max_extents_per_file;
        if u.ads.len() > max {
            return Err(limit("extents per file", max, lba));
        }
        let strict = self.limits.is_strict();
        let mut pieces = Vec::new();
        let mut total = 0u64;
        for ad in &u.ads {
            if total >= entry.size {
                break;
            }
            if ad.recorded {
                for run in state.map_run(ad.part, ad.block, ad.len, lba)? {
                    let end = u64::from(run.lba) * state.bs + u64::from(run.len);
                    if run.len != 0 && end > self.image_len {
                        return Err(ParseError::at(
                            ParseErrorKind::ExtentOutOfImage,
                            u64::from(run.lba),
                        ));
                    }
                    pieces.push((run, false));
                }
                if strict {
                    state.check_partition(ad.part, ad.block, ad.len)?;
                }
            } else {
                pieces.push((
                    Extent {
                        lba: 0,
                        len: ad.len,
                    },
                    true,
                ));
            }
            if pieces.len() > max {
                return Err(limit("extents per file", max, lba));
            }
            total += u64::from(ad.len);
        }
        if entry.size > total {
            return Err(bad(
                lba,
                format!(
                    "{}: size {} exceeds the {total} bytes of its allocation descriptors",
                    entry.name, entry.size
                ),
            ));
        }
        // Bounds what a file read can allocate (holes and overlapping extents could add up to
        // more than the image).
        if entry.size > self.image_len {
            return Err(bad(
                lba,
                format!(
                    "{}: size {} exceeds the image length {}",
                    entry.name, entry.size, self.image_len
                ),
            ));
        }
        let bs = state.bs;
        Ok(FileReader::with_holes(
            &mut self.inner,
            pieces,
            entry.size,
            bs,
        ))
    }
}

/// The UDF root before its file entry is read: named "/", a directory, nothing else known.
fn placeholder_root() -> DirEntry {
    DirEntry {
        name: "/".into(),
        identifier: Vec::new(),
        is_dir: true,
        size: 0,
        extents: Vec::new(),
        mtime: None,
        hidden: false,
        view: View::Udf,
        posix: None,
        rr_name: None,
        udf: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(maps: Vec<Map>) -> UdfState {
        UdfState {
            info: UdfInfo {
                revision: 0x0201,
                volume_id: String::new(),
                logical_volume_id: String::new(),
                file_set_id: String::new(),
                files: None,
                dirs: None,
                min_read_revision: None,
                max_write_revision: None,
                integrity_closed: None,
                metadata_partition: false,
                block_size: 2048,
            },
            root: placeholder_root(),
            recording_time: None,
            integrity_time: None,
            maps,
            bs: 2048,
        }
    }

    fn ext(lba: u32, len: u32) -> Extent {
        Extent { lba, len }
    }

    #[test]
    fn sparable_runs_split_at_remapped_packets() {
        // Packets of 4 blocks; packet 8..12 is at sector 5000, packet 16..20 at 6000.
        let s = state(vec![Map::Sparable {
            start: 100,
            len: 1000,
            packet: 4,
            remaps: vec![(8, 5000), (16, 6000)],
        }]);
        let run = |b, len| s.map_run(0, b, len, 0).unwrap();
        assert_eq!(run(0, 4 * 2048), [ext(100, 4 * 2048)]);
        // Blocks 6..19 and a half: 6-7 in place, 8-11 remapped, 12-15 in place, 16-19 remapped.
        assert_eq!(
            run(6, 13 * 2048 + 1000),
            [
                ext(106, 2 * 2048),
                ext(5000, 4 * 2048),
                ext(112, 4 * 2048),
                ext(6000, 3 * 2048 + 1000),
            ]
        );
        // Inside a remapped packet.
        assert_eq!(run(10, 100), [ext(5002, 100)]);
        assert_eq!(run(21, 2048), [ext(121, 2048)]);
        assert_eq!(run(0, 0), [ext(100, 0)]);
    }

    #[test]
    fn metadata_runs_follow_the_metadata_file() {
        let extents = vec![
            MetaExtent {
                block: 10,
                blocks: 2,
                recorded: true,
            },
            MetaExtent {
                block: 50,
                blocks: 3,
                recorded: true,
            },
            MetaExtent {
                block: 90,
                blocks: 1,
                recorded: false,
            },
        ];
        let s = state(vec![
            Map::Physical {
                start: 257,
                len: 1000,
            },
            Map::Metadata {
                start: 257,
                extents,
                mirror: None,
            },
        ]);
        assert_eq!(
            s.map_run(1, 1, 3 * 2048, 0).unwrap(),
            [ext(257 + 11, 2048), ext(257 + 50, 2 * 2048)]
        );
        assert_eq!(s.sector_of(1, 4).unwrap(), 257 + 52);
        assert!(s.map_run(1, 5, 1, 0).is_err(), "unrecorded");
        assert!(s.map_run(1, 6, 1, 0).is_err(), "beyond the metadata file");
        assert!(s.map_run(2, 0, 1, 0).is_err(), "no such map");
        let e = s.map_run(0, u32::MAX, 1, 0).unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::ExtentOutOfImage);
    }
}
