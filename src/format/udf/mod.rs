//! UDF on-disk encoders (and decoders for tests and the reader): pure functions from values to
//! bytes. Nothing here knows about the layout; every block number is an argument, and every
//! structure whose size depends on content has a length function that needs no block number.
//!
//! | module | structures |
//! |---|---|
//! | [`tag`] | descriptor tag: checksum, CRC-16, [`tag::finish_tag`], [`tag::verify_tag`] |
//! | [`cs0`] | OSTA CS0 strings, dstrings, file identifiers |
//! | [`time`] | 12-byte timestamps |
//! | [`ids`] | entity identifiers (domain, UDF, implementation), CS0 charspec |
//! | [`ad`] | extent_ad, lb_addr, short_ad, long_ad, [`ad::Allocation`], extent splitting |
//! | [`volume`] | recognition sequence, anchor, PVD, IUVD, PD, LVD, USD, TD, LVID |
//! | [`file`](mod@file) | FSD, FE/EFE, FID, directory packing, symlink paths, permissions, unique ids |
//! | [`metadata`] | metadata partition map, metadata (mirror) file entries, block mapping |
//!
//! # Layout of a bridge image (ISO 9660 + Joliet + UDF)
//!
//! N is the image's sector count (the ISO PVD's volume space size). Pinned sectors:
//!
//! ```text
//! 0-15        system area
//! 16..T       ISO 9660 volume descriptors: PVD, [El Torito boot record], [Joliet SVD],
//!             set terminator at T
//! T+1..T+3    UDF volume recognition sequence: BEA01, NSR02 | NSR03, TEA01. It must follow
//!             the terminator without a gap: readers scan sector by sector from 16 and stop
//!             at the first sector that is not a volume structure descriptor (ECMA-167 2/8.3)
//! 32-47       main volume descriptor sequence: PVD, IUVD, PD, LVD, USD, TD (6 used; UDF
//!             2.2.3.1 wants an extent of at least 16 sectors) — [`volume::VolumeDescriptors`]
//! 48-63       reserve volume descriptor sequence: the same values, tags at 48..53
//! 64-65       logical volume integrity sequence: LVID (closed), TD (LVD integrity extent 64,
//!             2 sectors)
//! 66-255      free for ISO 9660 path tables and directories (or anything)
//! 256         anchor volume descriptor pointer (main 32 x 16, reserve 48 x 16)
//! P = 257     partition start: everything UDF refers to (file structure, file data) must be
//!             at or after P, because partition blocks are unsigned offsets from P
//! P..N-2      the partition (PD start P, length N-1-P). ISO 9660 structures may sit inside
//!             it too: a read-only partition may hold blocks UDF never names
//! N-1         closing anchor (the same bytes but the tag location); UDF 2.2.3 wants two of
//!             256, N-256 and N-1
//! ```
//!
//! Inside the partition, UDF 1.02 / 1.50 / 2.01 (partition reference 0 for everything):
//!
//! ```text
//! P+0         file set descriptor (the LVD's logical volume contents use points here)
//! P+1         terminating descriptor of the file set descriptor sequence
//! P+2..       one block per file entry (EFE from 2.01), directory contents (FIDs packed by
//!             file::pack_directory, the directory's data one contiguous run of blocks)
//! ...         file data, shared with ISO 9660 and Joliet (short_ads, split at 0x3FFFF800
//!             bytes by ad::split_extent)
//! ```
//!
//! UDF 2.50 / 2.60 (metadata partition, partition reference 1; [`metadata`]):
//!
//! ```text
//! P+0         metadata file entry (type 250), tag location 0 of partition reference 0
//! P+1         metadata mirror file entry (type 251), tag location 1
//! P+M..       the metadata partition: ONE contiguous extent (7-Zip reads no other shape),
//!             M and its length multiples of the allocation/alignment unit (32 blocks).
//!             Its block 0 is the FSD, block 1 its TD, then file entries and directory
//!             contents; their tag locations and short_ads count metadata-partition blocks
//! ...         file data in the physical partition, described by long_ads (partition 0)
//! ```
//!
//! # Values that depend on the revision (UDF 2.1.5.3, 2.2.6.4)
//!
//! | where | 1.02, 1.50 | 2.01 | 2.50, 2.60 |
//! |---|---|---|---|
//! | recognition sequence | `NSR02` | `NSR03` | `NSR03` |
//! | every tag's descriptor version | 2 | 3 | 3 |
//! | PD partition contents | `+NSR02` | `+NSR03` | `+NSR03` |
//! | LVD and FSD domain identifier suffix | BCD revision | same | same |
//! | IUVD `*UDF LV Info` suffix | BCD revision | same | same |
//! | metadata partition map suffix | — | — | BCD revision |
//! | LVID min read / min write / max write | rev / rev / rev | same | 2.50: rev; 2.60: 0x0250 / 0x0260 / 0x0260 |
//! | file entries | FE (tag 261) | EFE (tag 266) | EFE |
//! | partition maps | type 1 | type 1 | type 1 + type 2 metadata |
//! | file data allocation descriptors | short_ad | short_ad | long_ad (partition 0) |
//!
//! All of them come from one [`UdfRevision`] through [`Ctx`], so they cannot disagree.
//!
//! # Other numbers that must agree
//!
//! * FID ICB implementation use = low 32 bits of the named entry's unique id; root 0, others
//!   from 16 ([`file::next_unique_id`]); the LVID's next unique id is greater than all of them.
//! * LVID file and directory counts ([`volume::LogicalVolumeIntegrity`]); size table = partition
//!   length (and the metadata file's length in blocks for the metadata partition).
//! * The logical volume identifier appears in the LVD, the IUVD and the FSD.
//! * Every tag's serial number is [`Ctx::serial`] (UDF 2.2.1.1: the anchors').
#![allow(dead_code)] // The layout engine wires these in; until then most items are unused.

pub mod ad;
pub mod cs0;
pub(crate) mod fields;
pub mod file;
pub mod ids;
pub mod metadata;
pub mod tag;
pub mod time;
pub mod volume;

use crate::codec::endian::put;
pub use ids::OsId;
pub use tag::{Tag, TagError};

/// The largest extent length that is a multiple of [`BLOCK_SIZE`](crate::BLOCK_SIZE) and fits
/// the 30 bits of an allocation descriptor's length (ECMA-167 4/14.14.1.1).
pub const MAX_EXTENT_LEN: u32 = 0x3FFF_F800;

/// The UDF revisions this crate writes (UDF 2.1.5.3: stored as BCD, 2.60 = 0x0260).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UdfRevision {
    /// 1.02 (DVD-Video): ECMA-167 2nd edition structures, `NSR02`.
    V1_02,
    /// 1.50: adds VAT and sparing (neither used here); still `NSR02`.
    V1_50,
    /// 2.01: ECMA-167 3rd edition (`NSR03`, tag version 3, extended file entries, streams).
    V2_01,
    /// 2.50: adds the metadata partition (type-2 partition map).
    V2_50,
    /// 2.60: adds pseudo-overwrite (not used here); readable by 2.50 implementations.
    V2_60,
}

impl UdfRevision {
    /// Every supported revision, oldest first.
    pub const ALL: [UdfRevision; 5] = [
        Self::V1_02,
        Self::V1_50,
        Self::V2_01,
        Self::V2_50,
        Self::V2_60,
    ];

    /// The revision as BCD (UDF 2.1.5.3, 2.2.6.4): 0x0102, 0x0150, 0x0201, 0x0250, 0x0260.
    pub fn bcd(self) -> u16 {
        match self {
            Self::V1_02 => 0x0102,
            Self::V1_50 => 0x0150,
            Self::V2_01 => 0x0201,
            Self::V2_50 => 0x0250,
            Self::V2_60 => 0x0260,
        }
    }

    /// The revision for a BCD value, if it is one of the supported ones.
    pub fn from_bcd(v: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.bcd() == v)
    }

    /// The standard identifier of the NSR descriptor in the volume recognition sequence and of
    /// the partition contents (ECMA-167 3/9.1, 3/10.5.3; UDF 2.2.14.1): `NSR02` for UDF 1.02
    /// and 1.50 (ECMA-167 2nd edition), `NSR03` from UDF 2.00 on (3rd edition).
    pub fn nsr(self) -> &'static [u8; 5] {
        match self {
            Self::V1_02 | Self::V1_50 => b"NSR02",
            _ => b"NSR03",
        }
    }

    /// The descriptor version of every tag (ECMA-167 3/7.2.2, 4/7.2.2; UDF 2.2.1, 2.3.1):
    /// 2 with `NSR02`, 3 with `NSR03`.
    pub fn tag_version(self) -> u16 {
        match self {
            Self::V1_02 | Self::V1_50 => 2,
            _ => 3,
        }
    }

    /// Whether files are described by extended file entries (ECMA-167 4/14.17, tag 266), which
    /// exist only in the 3rd edition (UDF 2.00 and later). UDF 2.x allows both kinds; we use the
    /// extended one (it carries a creation time) from 2.01 on, as mkudffs does.
    pub fn uses_extended_file_entry(self) -> bool {
        self >= Self::V2_01
    }

    /// Whether the file structure lives in a metadata partition (UDF 2.2.10, 2.2.13; 2.50+).
    pub fn has_metadata_partition(self) -> bool {
        self >= Self::V2_50
    }

    /// The "minimum UDF read revision" of the LVID (UDF 2.2.6.4). A 2.60 volume that does not
    /// use pseudo-overwrite is readable by 2.50 implementations, and Linux refused volumes whose
    /// minimum read revision exceeds 0x0250 until 2018 (`UDF_MAX_READ_VERSION`), so 2.60 says
    /// 0x0250 (mkudffs 2.3 writes the same). Every other revision names itself.
    pub fn min_read_revision(self) -> u16 {
        match self {
            Self::V2_60 => 0x0250,
            r => r.bcd(),
        }
    }

    /// The "minimum UDF write revision" of the LVID (UDF 2.2.6.4): the revision itself.
    pub fn min_write_revision(self) -> u16 {
        self.bcd()
    }

    /// The "maximum UDF write revision" of the LVID (UDF 2.2.6.4): the revision itself.
    pub fn max_write_revision(self) -> u16 {
        self.bcd()
    }
}

/// What every descriptor encoder needs besides its own fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ctx {
    /// The UDF revision being written.
    pub rev: UdfRevision,
    /// The tag serial number of every descriptor (ECMA-167 3/7.2.5; UDF 2.2.1.1: the same as
    /// the anchors'; it should differ from a previous formatting of the same medium).
    pub serial: u16,
    /// OS class and identifier for the implementation identifier suffixes (UDF 2.1.5.3, 6.3).
    pub os: OsId,
}

impl Ctx {
    /// Serial number 1 and OS class "undefined" (reproducible on every host).
    pub fn new(rev: UdfRevision) -> Self {
        Ctx {
            rev,
            serial: 1,
            os: OsId::UNDEFINED,
        }
    }

    /// The descriptor version for tags ([`UdfRevision::tag_version`]).
    pub fn tag_version(&self) -> u16 {
        self.rev.tag_version()
    }

    /// This implementation's identifier (`*glassmaster`, UDF 2.1.5.2).
    pub fn impl_id(&self) -> ids::EntityId {
        ids::implementation_id(self.os)
    }
}

/// A decoded descriptor: the values, the tag they came with and, where the descriptor records
/// one in a domain or UDF entity identifier suffix, the UDF revision found there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded<T> {
    /// The decoded fields.
    pub value: T,
    /// The verified tag.
    pub tag: Tag,
    /// The UDF revision of the descriptor's domain / UDF entity identifier suffix, if any.
    pub revision: Option<u16>,
}

/// Why a decoder refused its input. Decoders never panic on arbitrary bytes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The descriptor tag is damaged or misplaced.
    #[error("descriptor tag: {0}")]
    Tag(#[from] TagError),
    /// A valid tag of another descriptor.
    #[error("expected tag identifier {expected}, found {found}")]
    Ident {
        /// The identifier the decoder wants.
        expected: u16,
        /// The identifier found.
        found: u16,
    },
    /// The buffer ends before the structure does.
    #[error("truncated: {need} bytes needed, {have} present")]
    Truncated {
        /// Bytes the structure needs.
        need: usize,
        /// Bytes present.
        have: usize,
    },
    /// A field holds a value the specification does not allow.
    #[error("invalid {0}")]
    Invalid(&'static str),
}

// Little-endian writers for fixed offsets inside buffers the encoders size themselves.
pub(crate) fn put_u8(buf: &mut [u8], off: usize, v: u8) {
    put(buf, off, &[v]);
}
pub(crate) fn put_u16(buf: &mut [u8], off: usize, v: u16) {
    put(buf, off, &v.to_le_bytes());
}
pub(crate) fn put_u32(buf: &mut [u8], off: usize, v: u32) {
    put(buf, off, &v.to_le_bytes());
}
pub(crate) fn put_u64(buf: &mut [u8], off: usize, v: u64) {
    put(buf, off, &v.to_le_bytes());
}

// Little-endian readers; `None` when out of range.
pub(crate) fn get_u8(buf: &[u8], off: usize) -> Option<u8> {
    buf.get(off).copied()
}
pub(crate) fn get_u16(buf: &[u8], off: usize) -> Option<u16> {
    crate::codec::endian::le16(buf, off)
}
pub(crate) fn get_u32(buf: &[u8], off: usize) -> Option<u32> {
    crate::codec::endian::le32(buf, off)
}
pub(crate) fn get_u64(buf: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        buf.get(off..off.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// `buf[off..off + len]`, or [`DecodeError::Truncated`].
pub(crate) fn slice(buf: &[u8], off: usize, len: usize) -> Result<&[u8], DecodeError> {
    let end = off.checked_add(len).ok_or(DecodeError::Invalid("length"))?;
    buf.get(off..end).ok_or(DecodeError::Truncated {
        need: end,
        have: buf.len(),
    })
}

/// Rounds up to a multiple of 4 (FID padding, ECMA-167 4/14.4).
pub(crate) fn round4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// Number of blocks needed for `bytes` bytes.
pub fn blocks_for(bytes: u64) -> u64 {
    bytes.div_ceil(crate::BLOCK_SIZE_U64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revision_values() {
        let bcd: Vec<u16> = UdfRevision::ALL.iter().map(|r| r.bcd()).collect();
        assert_eq!(bcd, [0x0102, 0x0150, 0x0201, 0x0250, 0x0260]);
        for r in UdfRevision::ALL {
            assert_eq!(UdfRevision::from_bcd(r.bcd()), Some(r));
        }
        assert_eq!(UdfRevision::from_bcd(0x0200), None);
        assert_eq!(UdfRevision::V1_50.nsr(), b"NSR02");
        assert_eq!(UdfRevision::V2_01.nsr(), b"NSR03");
        assert_eq!(UdfRevision::V1_02.tag_version(), 2);
        assert_eq!(UdfRevision::V2_60.tag_version(), 3);
        assert!(!UdfRevision::V1_50.uses_extended_file_entry());
        assert!(UdfRevision::V2_01.uses_extended_file_entry());
        assert!(!UdfRevision::V2_01.has_metadata_partition());
        assert!(UdfRevision::V2_50.has_metadata_partition());
        assert_eq!(UdfRevision::V2_60.min_read_revision(), 0x0250);
        assert_eq!(UdfRevision::V2_60.max_write_revision(), 0x0260);
        assert_eq!(UdfRevision::V1_02.min_read_revision(), 0x0102);
    }

    #[test]
    fn helpers() {
        assert_eq!(round4(38), 40);
        assert_eq!(round4(40), 40);
        assert_eq!(blocks_for(0), 0);
        assert_eq!(blocks_for(2049), 2);
        assert_eq!(get_u64(&[1, 0, 0, 0, 0, 0, 0, 0], 0), Some(1));
        assert_eq!(get_u64(&[1, 0, 0], 0), None);
        assert_eq!(get_u64(&[], usize::MAX), None);
        assert!(slice(&[0; 4], 2, 3).is_err());
        assert!(slice(&[0; 4], usize::MAX, 3).is_err());
    }
}
