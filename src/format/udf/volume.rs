//! Volume structure (ECMA-167 parts 2 and 3; UDF 2.2): the volume recognition sequence, anchors,
//! the volume descriptor sequence (PVD, IUVD, PD, LVD, USD, TD) and the logical volume integrity
//! descriptor.
//!
//! Every descriptor here occupies one 2048-byte sector and its tag location is that sector's
//! absolute number (ECMA-167 3/7.2.8), given by the caller. The CRC covers the descriptor's own
//! length minus the tag (UDF 2.2.1.2), not the zero padding up to the sector's end.

use chrono::{DateTime, Utc};

use super::ad::{ExtentAd, LongAd};
use super::cs0::put_dstring;
use super::ids::{
    cs0_charspec, domain_id, domain_revision, is_cs0_charspec, partition_contents_id, udf_id,
    UDF_LV_INFO,
};
use super::metadata::MetadataPartitionMap;
use super::tag::{finish_tag, ident, Tag};
use super::time::encode_timestamp;
use super::{put_u16, put_u32, put_u64, slice, Ctx, DecodeError, Decoded};
use crate::codec::endian::put;
use crate::BLOCK_SIZE;

pub use super::fields::Sector;
use super::fields::{check_tag, dstring_at, entity_at, time_at, u16_at, u32_at, u64_at, u8_at};

// ---------------------------------------------------------------------------------------------
// Volume recognition sequence (ECMA-167 2/9.1, 3/9.1)

/// Beginning of the extended area descriptor's identifier (ECMA-167 2/9.2).
pub const BEA01: &[u8; 5] = b"BEA01";
/// Terminating extended area descriptor's identifier (ECMA-167 2/9.3).
pub const TEA01: &[u8; 5] = b"TEA01";

/// A volume structure descriptor (ECMA-167 2/9.1): structure type 0, the 5-byte standard
/// identifier, structure version 1, zeros to the end of the sector.
pub fn vrs_descriptor(identifier: &[u8; 5]) -> Sector {
    let mut s = [0u8; BLOCK_SIZE];
    s[0] = 0;
    s[1..6].copy_from_slice(identifier);
    s[6] = 1;
    s
}

/// The UDF part of the recognition sequence, to be recorded in the three sectors right after
/// the ISO 9660 volume descriptor set terminator: `BEA01`, `NSR02`/`NSR03`, `TEA01`
/// (ECMA-167 2/8.3, 3/9.1; UDF 2.2.14.1 for the NSR version).
pub fn volume_recognition_sequence(rev: super::UdfRevision) -> [Sector; 3] {
    [
        vrs_descriptor(BEA01),
        vrs_descriptor(rev.nsr()),
        vrs_descriptor(TEA01),
    ]
}

/// The standard identifier of a volume structure descriptor of type 0 and version 1.
pub fn decode_vrs_descriptor(b: &[u8]) -> Option<[u8; 5]> {
    if b.first() != Some(&0) || b.get(6) != Some(&1) {
        return None;
    }
    b.get(1..6)?.try_into().ok()
}

// ---------------------------------------------------------------------------------------------
// Anchor volume descriptor pointer (ECMA-167 3/10.2; UDF 2.2.3)

/// The anchor: where the main and reserve volume descriptor sequences are. UDF 2.2.3.1 and
/// 2.2.3.2: each sequence extent is at least 16 sectors long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Anchor {
    /// Main volume descriptor sequence extent.
    pub main: ExtentAd,
    /// Reserve volume descriptor sequence extent.
    pub reserve: ExtentAd,
}

impl Anchor {
    /// Bytes of the descriptor (the rest of the sector is zero).
    pub const LEN: usize = 512;

    /// The anchor sector at `location` (256, and N - 1 and/or N - 257).
    pub fn encode(&self, ctx: &Ctx, location: u32) -> Sector {
        let mut s = [0u8; BLOCK_SIZE];
        put(&mut s, 16, &self.main.encode());
        put(&mut s, 24, &self.reserve.encode());
        finish_tag(
            &mut s,
            ident::AVDP,
            ctx.tag_version(),
            ctx.serial,
            location,
            Self::LEN - 16,
        );
        s
    }

    /// Decodes an anchor read from sector `location`.
    pub fn decode(buf: &[u8], location: u32) -> Result<Decoded<Self>, DecodeError> {
        let tag = check_tag(buf, ident::AVDP, location)?;
        let main = ExtentAd::decode(slice(buf, 16, 8)?).ok_or(DecodeError::Invalid("extent"))?;
        let reserve = ExtentAd::decode(slice(buf, 24, 8)?).ok_or(DecodeError::Invalid("extent"))?;
        Ok(Decoded {
            value: Anchor { main, reserve },
            tag,
            revision: None,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Primary volume descriptor (ECMA-167 3/10.1; UDF 2.2.2)

/// The primary volume descriptor's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrimaryVolume {
    /// Volume descriptor sequence number (ECMA-167 3/10.1.2).
    pub vds_number: u32,
    /// Primary volume descriptor number (0 for the only one).
    pub pvd_number: u32,
    /// Volume identifier (dstring of 32 bytes: 30 Latin-1 or 15 UTF-16 characters).
    pub volume_id: String,
    /// Volume set identifier (dstring of 128 bytes). UDF 2.2.2.5: the first 16 characters are
    /// a unique value (see [`volume_set_id`]).
    pub volume_set_id: String,
    /// Recording date and time.
    pub recording_time: DateTime<Utc>,
    /// Interchange level: 2 for a single-volume set (UDF 2.2.2.1), 3 otherwise.
    pub interchange_level: u16,
    /// Maximum interchange level: 3 (UDF 2.2.2.2).
    pub max_interchange_level: u16,
}

impl PrimaryVolume {
    /// Bytes of the descriptor.
    pub const LEN: usize = 512;

    /// Interchange levels 2 and 3, numbers 0.
    pub fn new(volume_id: &str, volume_set_id: &str, recording_time: DateTime<Utc>) -> Self {
        PrimaryVolume {
            vds_number: 0,
            pvd_number: 0,
            volume_id: volume_id.into(),
            volume_set_id: volume_set_id.into(),
            recording_time,
            interchange_level: 2,
            max_interchange_level: 3,
        }
    }

    /// The sector at `location`.
    pub fn encode(&self, ctx: &Ctx, location: u32) -> Sector {
        let mut s = [0u8; BLOCK_SIZE];
        put_u32(&mut s, 16, self.vds_number);
        put_u32(&mut s, 20, self.pvd_number);
        put_dstring(&mut s[24..56], &self.volume_id);
        put_u16(&mut s, 56, 1); // volume sequence number
        put_u16(&mut s, 58, 1); // maximum volume sequence number
        put_u16(&mut s, 60, self.interchange_level);
        put_u16(&mut s, 62, self.max_interchange_level);
        put_u32(&mut s, 64, 1); // character set list: CS0 only (UDF 2.2.2.3)
        put_u32(&mut s, 68, 1); // maximum character set list (UDF 2.2.2.4)
        put_dstring(&mut s[72..200], &self.volume_set_id);
        put(&mut s, 200, &cs0_charspec()); // descriptor character set
        put(&mut s, 264, &cs0_charspec()); // explanatory character set
                                           // 328 volume abstract, 336 volume copyright notice: no extents (zero).
        put(&mut s, 344, &ctx.impl_id().encode()); // application identifier
        put(&mut s, 376, &encode_timestamp(&self.recording_time));
        put(&mut s, 388, &ctx.impl_id().encode()); // implementation identifier
                                                   // 420 implementation use (64), 484 predecessor VDS location (0).
        put_u16(&mut s, 488, 1); // flags: bit 0, the volume set identification is common
        finish_tag(
            &mut s,
            ident::PVD,
            ctx.tag_version(),
            ctx.serial,
            location,
            Self::LEN - 16,
        );
        s
    }

    /// Decodes a PVD read from sector `location`.
    pub fn decode(buf: &[u8], location: u32) -> Result<Decoded<Self>, DecodeError> {
        let tag = check_tag(buf, ident::PVD, location)?;
        let value = PrimaryVolume {
            vds_number: u32_at(buf, 16)?,
            pvd_number: u32_at(buf, 20)?,
            volume_id: dstring_at(buf, 24, 32)?,
            volume_set_id: dstring_at(buf, 72, 128)?,
            recording_time: time_at(buf, 376)?,
            interchange_level: u16_at(buf, 60)?,
            max_interchange_level: u16_at(buf, 62)?,
        };
        Ok(Decoded {
            value,
            tag,
            revision: None,
        })
    }
}

/// A volume set identifier per UDF 2.2.2.5: 16 hexadecimal digits of `unique` (for example
/// the build time in seconds and a random or hashed serial) followed by `rest` (which may be
/// empty). Readers use the first 16 characters as the volume's serial number (Windows shows
/// part of it, Linux `blkid` shows it as the UUID).
pub fn volume_set_id(unique: u64, rest: &str) -> String {
    format!("{unique:016x}{rest}")
}

// ---------------------------------------------------------------------------------------------
// Implementation use volume descriptor (ECMA-167 3/10.4; UDF 2.2.7)

/// The IUVD with UDF's logical volume information (UDF 2.2.7.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImplementationUseVolume {
    /// Volume descriptor sequence number.
    pub vds_number: u32,
    /// Logical volume identifier: the same as the LVD's (dstring of 128 bytes).
    pub logical_volume_id: String,
    /// LVInfo1-3 (dstrings of 36 bytes): owner, organization, contact (UDF 2.2.7.2.3).
    pub lv_info: [String; 3],
}

impl ImplementationUseVolume {
    /// Bytes of the descriptor.
    pub const LEN: usize = 512;

    /// The sector at `location`.
    pub fn encode(&self, ctx: &Ctx, location: u32) -> Sector {
        let mut s = [0u8; BLOCK_SIZE];
        put_u32(&mut s, 16, self.vds_number);
        put(&mut s, 20, &udf_id(UDF_LV_INFO, ctx.rev, ctx.os).encode());
        // Implementation use (460 bytes) from 52: LVInformation.
        put(&mut s, 52, &cs0_charspec()); // LVI charset
        put_dstring(&mut s[116..244], &self.logical_volume_id);
        put_dstring(&mut s[244..280], &self.lv_info[0]);
        put_dstring(&mut s[280..316], &self.lv_info[1]);
        put_dstring(&mut s[316..352], &self.lv_info[2]);
        put(&mut s, 352, &ctx.impl_id().encode());
        // 384..512: implementation use of the implementation (zero).
        finish_tag(
            &mut s,
            ident::IUVD,
            ctx.tag_version(),
            ctx.serial,
            location,
            Self::LEN - 16,
        );
        s
    }

    /// Decodes an IUVD read from sector `location`; the revision is the `*UDF LV Info` suffix's.
    pub fn decode(buf: &[u8], location: u32) -> Result<Decoded<Self>, DecodeError> {
        let tag = check_tag(buf, ident::IUVD, location)?;
        let id = entity_at(buf, 20)?;
        if !id.is(UDF_LV_INFO) {
            return Err(DecodeError::Invalid("IUVD identifier"));
        }
        let value = ImplementationUseVolume {
            vds_number: u32_at(buf, 16)?,
            logical_volume_id: dstring_at(buf, 116, 128)?,
            lv_info: [
                dstring_at(buf, 244, 36)?,
                dstring_at(buf, 280, 36)?,
                dstring_at(buf, 316, 36)?,
            ],
        };
        Ok(Decoded {
            value,
            tag,
            revision: Some(id.suffix_revision()),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Partition descriptor (ECMA-167 3/10.5; UDF 2.2.14)

/// Partition access type (ECMA-167 3/10.5.7; UDF 2.2.14.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessType {
    /// 0: pseudo-overwritable (UDF 2.60; "not specified" in ECMA-167).
    PseudoOverwritable,
    /// 1: read-only: pressed and finalized media. Our choice for images: DVD-ROM and BD-ROM use
    /// it, Windows/macOS read it, Linux mounts it read-only (as a mastered image should be).
    ReadOnly,
    /// 2: write-once.
    WriteOnce,
    /// 3: rewritable (needs a space table or bitmap of freed space).
    Rewritable,
    /// 4: overwritable (mkudffs' choice for hard disks: writable by Linux).
    Overwritable,
}

impl AccessType {
    fn value(self) -> u32 {
        match self {
            Self::PseudoOverwritable => 0,
            Self::ReadOnly => 1,
            Self::WriteOnce => 2,
            Self::Rewritable => 3,
            Self::Overwritable => 4,
        }
    }
    fn from_value(v: u32) -> Option<Self> {
        Some(match v {
            0 => Self::PseudoOverwritable,
            1 => Self::ReadOnly,
            2 => Self::WriteOnce,
            3 => Self::Rewritable,
            4 => Self::Overwritable,
            _ => return None,
        })
    }
}

/// The partition descriptor's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    /// Volume descriptor sequence number.
    pub vds_number: u32,
    /// Partition number (0; partition maps refer to it).
    pub number: u16,
    /// Access type.
    pub access: AccessType,
    /// First sector of the partition (its block 0).
    pub start: u32,
    /// Length in sectors.
    pub length: u32,
}

impl Partition {
    /// Bytes of the descriptor.
    pub const LEN: usize = 512;

    /// The sector at `location`. Partition contents `+NSR02`/`+NSR03`; the partition header
    /// descriptor in the contents use is all zero (no space bitmaps or tables: nothing is free
    /// on a read-only medium, ECMA-167 4/14.3).
    pub fn encode(&self, ctx: &Ctx, location: u32) -> Sector {
        let mut s = [0u8; BLOCK_SIZE];
        put_u32(&mut s, 16, self.vds_number);
        put_u16(&mut s, 20, 1); // partition flags: bit 0, space allocated
        put_u16(&mut s, 22, self.number);
        put(&mut s, 24, &partition_contents_id(ctx.rev).encode());
        // 56..184: partition contents use (partition header descriptor), zero.
        put_u32(&mut s, 184, self.access.value());
        put_u32(&mut s, 188, self.start);
        put_u32(&mut s, 192, self.length);
        put(&mut s, 196, &ctx.impl_id().encode());
        finish_tag(
            &mut s,
            ident::PD,
            ctx.tag_version(),
            ctx.serial,
            location,
            Self::LEN - 16,
        );
        s
    }

    /// Decodes a PD read from sector `location`. Only NSR partitions are accepted.
    pub fn decode(buf: &[u8], location: u32) -> Result<Decoded<Self>, DecodeError> {
        let tag = check_tag(buf, ident::PD, location)?;
        let contents = entity_at(buf, 24)?;
        if !contents.is(b"+NSR02") && !contents.is(b"+NSR03") {
            return Err(DecodeError::Invalid("partition contents"));
        }
        let value = Partition {
            vds_number: u32_at(buf, 16)?,
            number: u16_at(buf, 22)?,
            access: AccessType::from_value(u32_at(buf, 184)?)
                .ok_or(DecodeError::Invalid("access type"))?,
            start: u32_at(buf, 188)?,
            length: u32_at(buf, 192)?,
        };
        Ok(Decoded {
            value,
            tag,
            revision: None,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Logical volume descriptor (ECMA-167 3/10.6, 3/10.7; UDF 2.2.4, 2.2.8, 2.2.10)

/// A partition map (ECMA-167 3/10.7). Its index in [`LogicalVolume::maps`] is the partition
/// reference number used by `lb_addr`s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartitionMap {
    /// Type 1 (6 bytes): the physical partition with this partition number, volume 1.
    Physical {
        /// The partition descriptor's partition number.
        partition_number: u16,
    },
    /// Type 2 (64 bytes) `*UDF Metadata Partition` (UDF 2.2.10).
    Metadata(MetadataPartitionMap),
    /// Any other map, kept as bytes by the decoder (for example mkudffs' virtual partition).
    Other(Vec<u8>),
}

impl PartitionMap {
    /// Encoded length.
    pub fn len(&self) -> usize {
        match self {
            Self::Physical { .. } => 6,
            Self::Metadata(_) => MetadataPartitionMap::LEN,
            Self::Other(b) => b.len(),
        }
    }

    /// Never empty; present for the `len`/`is_empty` convention.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn encode(&self, ctx: &Ctx, out: &mut Vec<u8>) {
        match self {
            Self::Physical { partition_number } => {
                out.extend_from_slice(&[1, 6]);
                out.extend_from_slice(&1u16.to_le_bytes()); // volume sequence number
                out.extend_from_slice(&partition_number.to_le_bytes());
            }
            Self::Metadata(m) => out.extend_from_slice(&m.encode(ctx)),
            Self::Other(b) => out.extend_from_slice(b),
        }
    }
}

/// The logical volume descriptor's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogicalVolume {
    /// Volume descriptor sequence number.
    pub vds_number: u32,
    /// Logical volume identifier (dstring of 128 bytes; UDF 2.2.4.3: what readers display as
    /// the volume label, so not a fixed or trivial value).
    pub logical_volume_id: String,
    /// Where the file set descriptor is (logical volume contents use, UDF 2.2.4.4): one block,
    /// partition reference 0, or 1 (the metadata partition) from UDF 2.50 on.
    pub fsd_location: LongAd,
    /// Where the logical volume integrity sequence is (UDF 2.2.4.6).
    pub integrity_extent: ExtentAd,
    /// Partition maps: `[Physical { 0 }]`, plus `Metadata` for UDF 2.50 and later.
    pub maps: Vec<PartitionMap>,
    /// Domain flags of the domain identifier (UDF 2.1.5.3; usually 0).
    pub domain_flags: u8,
}

impl LogicalVolume {
    /// Encoded length: 440 + the partition maps (ECMA-167 3/10.6).
    pub fn len(&self) -> usize {
        440 + self.maps.iter().map(PartitionMap::len).sum::<usize>()
    }

    /// Never empty; present for the `len`/`is_empty` convention.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The sector at `location`. Logical block size 2048 (UDF 2.2.4.2); domain
    /// `*OSTA UDF Compliant` with the revision (UDF 2.2.4.1).
    ///
    /// # Panics
    /// If the partition maps do not fit in one sector (a caller bug: UDF uses one or two).
    pub fn encode(&self, ctx: &Ctx, location: u32) -> Sector {
        let mut maps = Vec::new();
        for m in &self.maps {
            m.encode(ctx, &mut maps);
        }
        assert!(
            440 + maps.len() <= BLOCK_SIZE,
            "partition maps do not fit in the LVD's sector"
        );
        let mut s = [0u8; BLOCK_SIZE];
        put_u32(&mut s, 16, self.vds_number);
        put(&mut s, 20, &cs0_charspec()); // descriptor character set
        put_dstring(&mut s[84..212], &self.logical_volume_id);
        put_u32(&mut s, 212, BLOCK_SIZE as u32); // logical block size
        put(&mut s, 216, &domain_id(ctx.rev, self.domain_flags).encode());
        put(&mut s, 248, &self.fsd_location.encode()); // logical volume contents use
        put_u32(&mut s, 264, maps.len() as u32); // map table length
        put_u32(&mut s, 268, self.maps.len() as u32); // number of partition maps
        put(&mut s, 272, &ctx.impl_id().encode());
        // 304..432: implementation use (zero).
        put(&mut s, 432, &self.integrity_extent.encode());
        put(&mut s, 440, &maps);
        finish_tag(
            &mut s,
            ident::LVD,
            ctx.tag_version(),
            ctx.serial,
            location,
            440 + maps.len() - 16,
        );
        s
    }

    /// Decodes an LVD read from sector `location`; the revision is the domain suffix's.
    pub fn decode(buf: &[u8], location: u32) -> Result<Decoded<Self>, DecodeError> {
        let tag = check_tag(buf, ident::LVD, location)?;
        if !is_cs0_charspec(slice(buf, 20, 64)?) {
            return Err(DecodeError::Invalid("descriptor character set"));
        }
        // ECMA-167 3/10.6.7, 3/8.4.2.1: the block sizes a volume may have (the reader checks
        // it against the one its anchor was found with).
        if !matches!(u32_at(buf, 212)?, 512 | 1024 | 2048 | 4096) {
            return Err(DecodeError::Invalid("logical block size"));
        }
        let domain = entity_at(buf, 216)?;
        let revision = domain_revision(&domain).ok_or(DecodeError::Invalid("domain identifier"))?;
        let mt_len = u32_at(buf, 264)? as usize;
        let count = u32_at(buf, 268)?;
        let table = slice(buf, 440, mt_len)?;
        let mut maps = Vec::new();
        let mut off = 0usize;
        for _ in 0..count {
            let kind = *table
                .get(off)
                .ok_or(DecodeError::Invalid("partition map table"))?;
            let len = *table
                .get(off + 1)
                .ok_or(DecodeError::Invalid("partition map table"))? as usize;
            let bytes = table
                .get(off..off + len)
                .filter(|_| len >= 2)
                .ok_or(DecodeError::Invalid("partition map"))?;
            maps.push(match (kind, len) {
                (1, 6) => PartitionMap::Physical {
                    partition_number: u16_at(bytes, 4)?,
                },
                (2, 64) => match MetadataPartitionMap::decode(bytes) {
                    Some(m) => PartitionMap::Metadata(m),
                    None => PartitionMap::Other(bytes.to_vec()),
                },
                _ => PartitionMap::Other(bytes.to_vec()),
            });
            off += len;
        }
        let value = LogicalVolume {
            vds_number: u32_at(buf, 16)?,
            logical_volume_id: dstring_at(buf, 84, 128)?,
            fsd_location: LongAd::decode(slice(buf, 248, 16)?)
                .ok_or(DecodeError::Invalid("long_ad"))?,
            integrity_extent: ExtentAd::decode(slice(buf, 432, 8)?)
                .ok_or(DecodeError::Invalid("extent"))?,
            maps,
            domain_flags: u8_at(buf, 242)?,
        };
        Ok(Decoded {
            value,
            tag,
            revision: Some(revision),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Unallocated space descriptor (ECMA-167 3/10.8; UDF 2.2.5) and terminating descriptor

/// The unallocated space descriptor: recorded even when nothing is free (UDF 2.2.5).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct UnallocatedSpace {
    /// Volume descriptor sequence number.
    pub vds_number: u32,
    /// Free extents of the volume space outside partitions (none for a mastered image).
    pub extents: Vec<ExtentAd>,
}

impl UnallocatedSpace {
    /// Encoded length: 24 + 8 per extent.
    pub fn len(&self) -> usize {
        24 + 8 * self.extents.len()
    }

    /// Never empty; present for the `len`/`is_empty` convention.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The sector at `location`.
    ///
    /// # Panics
    /// If the extents do not fit in one sector (more than 253).
    pub fn encode(&self, ctx: &Ctx, location: u32) -> Sector {
        assert!(
            self.len() <= BLOCK_SIZE,
            "too many unallocated extents for one sector"
        );
        let mut s = [0u8; BLOCK_SIZE];
        put_u32(&mut s, 16, self.vds_number);
        put_u32(&mut s, 20, self.extents.len() as u32);
        for (i, e) in self.extents.iter().enumerate() {
            put(&mut s, 24 + 8 * i, &e.encode());
        }
        finish_tag(
            &mut s,
            ident::USD,
            ctx.tag_version(),
            ctx.serial,
            location,
            self.len() - 16,
        );
        s
    }

    /// Decodes a USD read from sector `location`.
    pub fn decode(buf: &[u8], location: u32) -> Result<Decoded<Self>, DecodeError> {
        let tag = check_tag(buf, ident::USD, location)?;
        let n = u32_at(buf, 20)? as usize;
        let table = slice(
            buf,
            24,
            n.checked_mul(8)
                .ok_or(DecodeError::Invalid("extent count"))?,
        )?;
        let extents = table.chunks_exact(8).filter_map(ExtentAd::decode).collect();
        Ok(Decoded {
            value: UnallocatedSpace {
                vds_number: u32_at(buf, 16)?,
                extents,
            },
            tag,
            revision: None,
        })
    }
}

/// A terminating descriptor (ECMA-167 3/10.9 and 4/14.2): ends a volume descriptor sequence,
/// the integrity sequence, or the file set descriptor sequence. `location` is the sector for
/// the first two and the partition-relative block for the file set.
pub fn terminating_descriptor(ctx: &Ctx, location: u32) -> Sector {
    let mut s = [0u8; BLOCK_SIZE];
    finish_tag(
        &mut s,
        ident::TD,
        ctx.tag_version(),
        ctx.serial,
        location,
        512 - 16,
    );
    s
}

/// Checks a terminating descriptor read from `location`.
pub fn decode_terminating_descriptor(buf: &[u8], location: u32) -> Result<Tag, DecodeError> {
    check_tag(buf, ident::TD, location)
}

// ---------------------------------------------------------------------------------------------
// Logical volume integrity descriptor (ECMA-167 3/10.10; UDF 2.2.6, 3.2.1)

/// A partition's entries in the LVID's free space and size tables (in blocks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionSpace {
    /// Free blocks: 0 on a read-only medium.
    pub free: u32,
    /// Size in blocks: the partition length (UDF 2.2.6.3; 0xFFFFFFFF only for virtual
    /// partitions). For a metadata partition: the metadata file's length in blocks.
    pub size: u32,
}

/// The LVID's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogicalVolumeIntegrity {
    /// Recording date and time.
    pub recording_time: DateTime<Utc>,
    /// Integrity type: 1 = close (always, for a finished image; 0 = open).
    pub integrity_type: u32,
    /// Logical volume header descriptor: the next unique id (UDF 3.2.1.1): greater than every
    /// unique id used, at least 16.
    pub next_unique_id: u64,
    /// One entry per partition map, in map order.
    pub partitions: Vec<PartitionSpace>,
    /// Number of files (UDF 2.2.6.4): FIDs whose directory, parent and deleted bits are all 0,
    /// so hard links count once per name; streams excluded.
    pub files: u32,
    /// Number of directories (UDF 2.2.6.4): the root plus every FID with the directory bit and
    /// without the parent bit.
    pub directories: u32,
    /// Minimum UDF read revision (BCD).
    pub min_read_revision: u16,
    /// Minimum UDF write revision (BCD).
    pub min_write_revision: u16,
    /// Maximum UDF write revision (BCD).
    pub max_write_revision: u16,
}

impl LogicalVolumeIntegrity {
    /// A closed LVID whose revisions follow `rev` ([`super::UdfRevision::min_read_revision`]
    /// and friends), so they agree with the domain identifiers (UDF 2.1.5.3, 2.2.6.4).
    pub fn closed(
        rev: super::UdfRevision,
        recording_time: DateTime<Utc>,
        next_unique_id: u64,
        partitions: Vec<PartitionSpace>,
        files: u32,
        directories: u32,
    ) -> Self {
        LogicalVolumeIntegrity {
            recording_time,
            integrity_type: 1,
            next_unique_id,
            partitions,
            files,
            directories,
            min_read_revision: rev.min_read_revision(),
            min_write_revision: rev.min_write_revision(),
            max_write_revision: rev.max_write_revision(),
        }
    }

    /// Length of the implementation use area (UDF 2.2.6.4: 46 bytes, nothing after them).
    pub const IMPL_USE_LEN: usize = 46;

    /// Encoded length: 80 + 8 per partition + 46.
    pub fn len(&self) -> usize {
        80 + 8 * self.partitions.len() + Self::IMPL_USE_LEN
    }

    /// Never empty; present for the `len`/`is_empty` convention.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The sector at `location`. The next integrity extent is zero (none).
    pub fn encode(&self, ctx: &Ctx, location: u32) -> Sector {
        let np = self.partitions.len();
        assert!(
            self.len() <= BLOCK_SIZE,
            "too many partitions for one LVID sector"
        );
        let mut s = [0u8; BLOCK_SIZE];
        put(&mut s, 16, &encode_timestamp(&self.recording_time));
        put_u32(&mut s, 28, self.integrity_type);
        // 32..40: next integrity extent, none.
        put_u64(&mut s, 40, self.next_unique_id); // logical volume contents use (32 bytes)
        put_u32(&mut s, 72, np as u32);
        put_u32(&mut s, 76, Self::IMPL_USE_LEN as u32);
        for (i, p) in self.partitions.iter().enumerate() {
            put_u32(&mut s, 80 + 4 * i, p.free);
            put_u32(&mut s, 80 + 4 * np + 4 * i, p.size);
        }
        let iu = 80 + 8 * np;
        put(&mut s, iu, &ctx.impl_id().encode());
        put_u32(&mut s, iu + 32, self.files);
        put_u32(&mut s, iu + 36, self.directories);
        put_u16(&mut s, iu + 40, self.min_read_revision);
        put_u16(&mut s, iu + 42, self.min_write_revision);
        put_u16(&mut s, iu + 44, self.max_write_revision);
        finish_tag(
            &mut s,
            ident::LVID,
            ctx.tag_version(),
            ctx.serial,
            location,
            self.len() - 16,
        );
        s
    }

    /// Decodes an LVID read from sector `location`.
    pub fn decode(buf: &[u8], location: u32) -> Result<Decoded<Self>, DecodeError> {
        let tag = check_tag(buf, ident::LVID, location)?;
        let np = u32_at(buf, 72)? as usize;
        let iu_len = u32_at(buf, 76)? as usize;
        if np > BLOCK_SIZE / 8 || iu_len < Self::IMPL_USE_LEN {
            return Err(DecodeError::Invalid("LVID table sizes"));
        }
        let mut partitions = Vec::with_capacity(np);
        for i in 0..np {
            partitions.push(PartitionSpace {
                free: u32_at(buf, 80 + 4 * i)?,
                size: u32_at(buf, 80 + 4 * np + 4 * i)?,
            });
        }
        let iu = 80 + 8 * np;
        let value = LogicalVolumeIntegrity {
            recording_time: time_at(buf, 16)?,
            integrity_type: u32_at(buf, 28)?,
            next_unique_id: u64_at(buf, 40)?,
            partitions,
            files: u32_at(buf, iu + 32)?,
            directories: u32_at(buf, iu + 36)?,
            min_read_revision: u16_at(buf, iu + 40)?,
            min_write_revision: u16_at(buf, iu + 42)?,
            max_write_revision: u16_at(buf, iu + 44)?,
        };
        let revision = Some(value.max_write_revision);
        Ok(Decoded {
            value,
            tag,
            revision,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The whole sequence

/// The descriptors of one volume descriptor sequence, in the order they are recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeDescriptors {
    /// Primary volume descriptor.
    pub pvd: PrimaryVolume,
    /// Implementation use volume descriptor.
    pub iuvd: ImplementationUseVolume,
    /// Partition descriptor.
    pub pd: Partition,
    /// Logical volume descriptor.
    pub lvd: LogicalVolume,
    /// Unallocated space descriptor.
    pub usd: UnallocatedSpace,
}

impl VolumeDescriptors {
    /// Sectors of the sequence: PVD, IUVD, PD, LVD, USD, TD. The extent reserved for it is at
    /// least 16 sectors (UDF 2.2.3.1); the rest stays zero.
    pub const SECTORS: u32 = 6;

    /// The six sectors, the first at `first_sector` (tag locations follow). The same values
    /// encoded at the main and the reserve extent give identical sequences but for the tags.
    pub fn encode(&self, ctx: &Ctx, first_sector: u32) -> Vec<Sector> {
        vec![
            self.pvd.encode(ctx, first_sector),
            self.iuvd.encode(ctx, first_sector + 1),
            self.pd.encode(ctx, first_sector + 2),
            self.lvd.encode(ctx, first_sector + 3),
            self.usd.encode(ctx, first_sector + 4),
            terminating_descriptor(ctx, first_sector + 5),
        ]
    }
}
