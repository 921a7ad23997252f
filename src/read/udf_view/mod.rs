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

use std::io::{Read, Seek};

use chrono::{DateTime, FixedOffset};

use super::file::FileReader;
use super::{read_at, DirEntry, Extent, ImageReader, Limits, View};
use crate::error::{ParseError, ParseErrorKind};
use crate::format::udf::tag::{decode_tag, TagError};
use crate::format::udf::DecodeError;
use crate::warning::{Warning, WarningKind};

mod dirs;
mod entries;
mod file_set;
mod partitions;
mod places;
mod volume;

pub(crate) use entries::entry_weight;
use entries::{ads_of, parse_aed, parse_file_entry};
use partitions::{is_sparable, metadata_extents};
pub(crate) use places::tag_name;
pub(crate) use volume::detect;
use volume::{find_anchors, read_vds, Vds};

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

/// Records a warning (or a left-out entry), keeping at most [`MAX_WARNINGS`].
pub(crate) fn warn<T>(warnings: &mut Vec<T>, msg: T) {
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
        ParseErrorKind::LimitExceeded(..) | ParseErrorKind::Io(..)
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
    warnings: &'a mut Vec<Warning>,
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
        warnings: &'a mut Vec<Warning>,
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
        warn(
            self.warnings,
            Warning::general(WarningKind::DamageRecovered, msg),
        );
    }

    /// Records a warning of `kind` about the entry at image path `path` (`msg` starts with it).
    fn warn_at(&mut self, kind: WarningKind, path: &str, msg: String) {
        warn(
            self.warnings,
            Warning::new(kind, Some(path.to_string()), msg),
        );
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

impl<R: Read + Seek> ImageReader<R> {
    /// [`read_dir`](Self::read_dir) in the UDF view.
    pub(super) fn udf_read_dir(&mut self, dir: &DirEntry) -> Result<Vec<DirEntry>, ParseError> {
        let Some(state) = self.udf.as_ref() else {
            return Err(ParseError::new(ParseErrorKind::NoSuchView(
                View::Udf.to_string(),
            )));
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
            .ok_or_else(|| ParseError::new(ParseErrorKind::NoSuchView(View::Udf.to_string())))?;
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
