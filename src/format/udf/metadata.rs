//! The metadata partition of UDF 2.50 and later (UDF 2.2.10, 2.2.13).
//!
//! A metadata partition is a second partition map (type 2, `*UDF Metadata Partition`, partition
//! reference 1) laid over the physical partition (reference 0). Its logical blocks are the
//! blocks of the *metadata file*, a file whose file entry (type 250) sits in the physical
//! partition at `metadata_file_location` and whose short_ads list extents of the physical
//! partition. Mapping a metadata-partition block `m` to a physical block:
//!
//! 1. byte offset `m * 2048` in the metadata file;
//! 2. walk the metadata file's allocation descriptors in order, summing their lengths, to the
//!    extent that holds that offset;
//! 3. physical partition block = that extent's position + (offset - extent's first byte) / 2048;
//!    absolute sector = partition start + physical block ([`metadata_to_physical`]).
//!
//! With one contiguous extent starting at physical block `P` this is simply `P + m`.
//!
//! Everything of the file structure goes into the metadata partition (UDF 2.3.6 note): the file
//! set descriptor and its terminator, every file entry, and directory contents (FIDs). File
//! *data* stays in the physical partition and is therefore described by long_ads with partition
//! reference 0 (a short_ad can only point into the file entry's own partition).
//! Tag locations of descriptors in the metadata partition are metadata-partition blocks.
//!
//! The metadata mirror file (type 251, at `mirror_file_location`) describes a second copy when
//! the duplicate flag is set; without it, the mirror's allocation descriptors describe the same
//! extents as the metadata file, so a reader that falls back to the mirror finds the same data.
//! A read-only medium records no metadata bitmap file (location 0xFFFFFFFF, UDF 2.2.10).
//! The extents of both files should start on a multiple of the alignment unit and be a
//! multiple of the allocation unit long (UDF 2.2.13.1; [`round_up_to_unit`]); 32 blocks (64 KiB,
//! the BD ECC cluster and twice the DVD's) serves for both.

use chrono::{DateTime, Utc};

use super::ad::{Allocation, ExtentType, ShortAd};
use super::file::{FileEntry, IcbFileType};
use super::ids::{udf_id, EntityId, UDF_METADATA_PARTITION};
use super::{get_u16, get_u32, Ctx};
use crate::BLOCK_SIZE_U64;

/// The type-2 metadata partition map (UDF 2.2.10).
///
/// ```text
/// 0  u8  map type (2)             38 u16 partition number (of the physical partition)
/// 1  u8  map length (64)          40 u32 metadata file location (physical block)
/// 2  2   reserved                 44 u32 metadata mirror file location
/// 4  32  partition type identifier 48 u32 metadata bitmap file location (0xFFFFFFFF: none)
///        (*UDF Metadata Partition, 52 u32 allocation unit size (blocks)
///         UDF suffix)              56 u16 alignment unit size (blocks)
/// 36 u16 volume sequence number   58 u8  flags (bit 0: duplicate metadata)
///                                  59 5   reserved
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetadataPartitionMap {
    /// Partition number of the physical partition descriptor it lives in (0).
    pub partition_number: u16,
    /// Physical-partition block of the metadata file's file entry.
    pub metadata_file_location: u32,
    /// Physical-partition block of the metadata mirror file's file entry.
    pub mirror_file_location: u32,
    /// Physical-partition block of the metadata bitmap file's entry, or [`Self::NO_BITMAP`].
    pub bitmap_file_location: u32,
    /// Allocation unit size in blocks.
    pub allocation_unit_size: u32,
    /// Alignment unit size in blocks.
    pub alignment_unit_size: u16,
    /// Duplicate metadata flag: the mirror file holds its own copy.
    pub duplicate: bool,
}

impl MetadataPartitionMap {
    /// Encoded length.
    pub const LEN: usize = 64;
    /// Bitmap file location meaning "no bitmap file" (read-only media).
    pub const NO_BITMAP: u32 = 0xFFFF_FFFF;

    /// The 64 bytes; the identifier suffix carries `ctx.rev` and `ctx.os`.
    pub fn encode(&self, ctx: &Ctx) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0] = 2;
        b[1] = Self::LEN as u8;
        b[4..36].copy_from_slice(&udf_id(UDF_METADATA_PARTITION, ctx.rev, ctx.os).encode());
        b[36..38].copy_from_slice(&1u16.to_le_bytes()); // volume sequence number
        b[38..40].copy_from_slice(&self.partition_number.to_le_bytes());
        b[40..44].copy_from_slice(&self.metadata_file_location.to_le_bytes());
        b[44..48].copy_from_slice(&self.mirror_file_location.to_le_bytes());
        b[48..52].copy_from_slice(&self.bitmap_file_location.to_le_bytes());
        b[52..56].copy_from_slice(&self.allocation_unit_size.to_le_bytes());
        b[56..58].copy_from_slice(&self.alignment_unit_size.to_le_bytes());
        b[58] = self.duplicate as u8;
        b
    }

    /// Decodes a map: type 2, length 64, identifier `*UDF Metadata Partition`.
    pub fn decode(b: &[u8]) -> Option<Self> {
        let b = b.get(..Self::LEN)?;
        if b.first() != Some(&2) || b.get(1) != Some(&(Self::LEN as u8)) {
            return None;
        }
        if !EntityId::decode(b.get(4..36)?)?.is(UDF_METADATA_PARTITION) {
            return None;
        }
        Some(MetadataPartitionMap {
            partition_number: get_u16(b, 38)?,
            metadata_file_location: get_u32(b, 40)?,
            mirror_file_location: get_u32(b, 44)?,
            bitmap_file_location: get_u32(b, 48)?,
            allocation_unit_size: get_u32(b, 52)?,
            alignment_unit_size: get_u16(b, 56)?,
            duplicate: b.get(58)? & 1 != 0,
        })
    }

    /// The UDF revision in the identifier suffix.
    pub fn revision(b: &[u8]) -> Option<u16> {
        Some(EntityId::decode(b.get(4..36)?)?.suffix_revision())
    }
}

/// Which metadata system file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetadataFileKind {
    /// The metadata file (file type 250).
    Main,
    /// The metadata mirror file (file type 251).
    Mirror,
}

/// The (extended) file entry of the metadata file or its mirror: `extents` are
/// `(physical-partition block, length in bytes)`, each a whole number of blocks; the file's
/// length (the metadata partition's size) is their sum. Recorded in the physical partition at
/// the map's location, with unique id 0, no owner (0xFFFFFFFF), no permissions, link count 1.
/// Encode it with [`FileEntry::encode`] at that location.
pub fn metadata_file_entry(
    kind: MetadataFileKind,
    extents: &[(u32, u32)],
    time: DateTime<Utc>,
) -> FileEntry {
    let ads: Vec<ShortAd> = extents
        .iter()
        .map(|&(block, len)| ShortAd::recorded(block, len))
        .collect();
    FileEntry {
        file_type: match kind {
            MetadataFileKind::Main => IcbFileType::MetadataFile,
            MetadataFileKind::Mirror => IcbFileType::MetadataMirror,
        },
        icb_flags: 0,
        uid: u32::MAX,
        gid: u32::MAX,
        permissions: 0,
        link_count: 1,
        info_len: extents.iter().map(|e| e.1 as u64).sum(),
        access_time: time,
        modification_time: time,
        attribute_time: time,
        creation_time: time,
        unique_id: 0,
        device: None,
        allocation: Allocation::Short(ads),
        continued_blocks: 0,
    }
}

/// Maps metadata-partition block `block` through the metadata file's allocation descriptors to
/// a physical-partition block; `None` past the end or in an unrecorded extent.
pub fn metadata_to_physical(ads: &[ShortAd], block: u32) -> Option<u32> {
    let mut offset = block as u64 * BLOCK_SIZE_U64;
    for ad in ads {
        let len = ad.length as u64;
        if offset < len {
            if ad.kind != ExtentType::Recorded {
                return None;
            }
            return u32::try_from(ad.position as u64 + offset / BLOCK_SIZE_U64).ok();
        }
        offset -= len;
    }
    None
}

/// `blocks` rounded up to a multiple of `unit` (a unit of 0 counts as 1).
pub fn round_up_to_unit(blocks: u32, unit: u32) -> u32 {
    let unit = unit.max(1);
    blocks.div_ceil(unit).saturating_mul(unit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::udf::UdfRevision;

    fn map() -> MetadataPartitionMap {
        MetadataPartitionMap {
            partition_number: 0,
            metadata_file_location: 0x10,
            mirror_file_location: 0x2000,
            bitmap_file_location: MetadataPartitionMap::NO_BITMAP,
            allocation_unit_size: 32,
            alignment_unit_size: 32,
            duplicate: true,
        }
    }

    #[test]
    fn map_by_hand() {
        let ctx = Ctx::new(UdfRevision::V2_60);
        let b = map().encode(&ctx);
        assert_eq!(&b[..4], &[2, 64, 0, 0]);
        assert_eq!(&b[5..28], b"*UDF Metadata Partition");
        assert_eq!(&b[28..36], &[0x60, 0x02, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            &b[36..64],
            &[
                1, 0, 0, 0, // volume sequence number 1, partition 0
                0x10, 0, 0, 0, 0, 0x20, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, // locations
                32, 0, 0, 0, 32, 0, 1, // units, flags
                0, 0, 0, 0, 0
            ]
        );
        assert_eq!(MetadataPartitionMap::decode(&b), Some(map()));
        assert_eq!(MetadataPartitionMap::revision(&b), Some(0x0260));
        assert_eq!(MetadataPartitionMap::decode(&b[..63]), None);
        let mut other = b;
        other[5] = b'#';
        assert_eq!(MetadataPartitionMap::decode(&other), None);
    }

    #[test]
    fn mapping() {
        let ads = [
            ShortAd::recorded(100, 4 * 2048),
            ShortAd::recorded(500, 2 * 2048),
        ];
        assert_eq!(metadata_to_physical(&ads, 0), Some(100));
        assert_eq!(metadata_to_physical(&ads, 3), Some(103));
        assert_eq!(metadata_to_physical(&ads, 4), Some(500));
        assert_eq!(metadata_to_physical(&ads, 5), Some(501));
        assert_eq!(metadata_to_physical(&ads, 6), None);
        let sparse = [ShortAd {
            kind: ExtentType::NotAllocated,
            ..ShortAd::recorded(0, 2048)
        }];
        assert_eq!(metadata_to_physical(&sparse, 0), None);
        assert_eq!(metadata_to_physical(&[], u32::MAX), None);
    }

    #[test]
    fn units() {
        assert_eq!(round_up_to_unit(1, 32), 32);
        assert_eq!(round_up_to_unit(32, 32), 32);
        assert_eq!(round_up_to_unit(33, 32), 64);
        assert_eq!(round_up_to_unit(5, 0), 5);
        assert_eq!(round_up_to_unit(0, 32), 0);
    }

    #[test]
    fn metadata_entries_round_trip() {
        let ctx = Ctx::new(UdfRevision::V2_50);
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        for kind in [MetadataFileKind::Main, MetadataFileKind::Mirror] {
            let fe = metadata_file_entry(kind, &[(300, 32 * 2048)], t);
            assert_eq!(fe.info_len, 32 * 2048);
            let bytes = fe.encode(&ctx, 299);
            let d = FileEntry::decode(&bytes, 299).unwrap();
            assert_eq!(d.value, fe);
            assert_eq!(
                bytes[16 + 11],
                if kind == MetadataFileKind::Main {
                    250
                } else {
                    251
                }
            );
        }
    }
}
