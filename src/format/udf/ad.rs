//! Addresses and allocation descriptors (ECMA-167 3/7.1, 4/7.1, 4/14.14; UDF 2.3.10).
//!
//! ```text
//! extent_ad (8):  u32 length in bytes, u32 location (sector)
//! lb_addr (6):    u32 logical block number, u16 partition reference number
//! short_ad (8):   u32 extent length, u32 extent position (block in the FE's own partition)
//! long_ad (16):   u32 extent length, lb_addr location, 6 bytes implementation use
//!                 (UDF 2.3.10.1 ADImpUse: u16 flags, 4 bytes impUse; in FIDs the 4 bytes
//!                 hold the low 32 bits of the file's unique id, UDF 2.3.4.3)
//! extent length:  bits 0-29 length in bytes, bits 30-31 extent type
//! ```
//!
//! Every extent but the last of a file is a whole number of blocks (ECMA-167 4/12.1), so the
//! largest usable length is [`MAX_EXTENT_LEN`] = 0x3FFFF800 (ECMA-167 4/14.14.1.1: 30 bits of length).

use super::{get_u16, get_u32, MAX_EXTENT_LEN};
use crate::{BLOCK_SIZE, BLOCK_SIZE_U64};

/// An extent in the volume space (ECMA-167 3/7.1): used by anchors and the LVD.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ExtentAd {
    /// Length in bytes.
    pub length: u32,
    /// First sector.
    pub location: u32,
}

impl ExtentAd {
    /// The 8 bytes.
    pub fn encode(&self) -> [u8; 8] {
        let mut out = [0u8; 8];
        out[..4].copy_from_slice(&self.length.to_le_bytes());
        out[4..].copy_from_slice(&self.location.to_le_bytes());
        out
    }
    /// Decodes 8 bytes.
    pub fn decode(b: &[u8]) -> Option<Self> {
        Some(ExtentAd {
            length: get_u32(b, 0)?,
            location: get_u32(b, 4)?,
        })
    }
}

/// A logical block address (ECMA-167 4/7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LbAddr {
    /// Block number relative to the partition's start.
    pub block: u32,
    /// Partition reference number: the index of the partition map in the LVD (0 = the
    /// physical partition, 1 = the metadata partition when there is one).
    pub partition: u16,
}

/// The extent type in the top two bits of an extent length (ECMA-167 4/14.14.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ExtentType {
    /// Recorded and allocated (0).
    #[default]
    Recorded,
    /// Allocated and not recorded (1).
    AllocatedNotRecorded,
    /// Neither allocated nor recorded (2): a sparse hole.
    NotAllocated,
    /// The next extent of allocation descriptors (3).
    NextExtent,
}

impl ExtentType {
    fn bits(self) -> u32 {
        match self {
            Self::Recorded => 0,
            Self::AllocatedNotRecorded => 1,
            Self::NotAllocated => 2,
            Self::NextExtent => 3,
        }
    }
    fn from_bits(b: u32) -> Self {
        match b & 3 {
            0 => Self::Recorded,
            1 => Self::AllocatedNotRecorded,
            2 => Self::NotAllocated,
            _ => Self::NextExtent,
        }
    }
}

fn encode_len(length: u32, kind: ExtentType) -> u32 {
    debug_assert!(
        length < 1 << 30,
        "extent length {length:#x} exceeds 30 bits"
    );
    (length & 0x3FFF_FFFF) | (kind.bits() << 30)
}

/// Length of a short allocation descriptor.
pub const SHORT_AD_LEN: usize = 8;
/// Length of a long allocation descriptor.
pub const LONG_AD_LEN: usize = 16;

/// A short allocation descriptor (ECMA-167 4/14.14.1): an extent in the same partition as the
/// file entry that holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ShortAd {
    /// Length in bytes (at most 2^30 - 1; see [`MAX_EXTENT_LEN`]).
    pub length: u32,
    /// Extent type.
    pub kind: ExtentType,
    /// First block, relative to the partition.
    pub position: u32,
}

impl ShortAd {
    /// A recorded extent.
    pub fn recorded(position: u32, length: u32) -> Self {
        ShortAd {
            length,
            kind: ExtentType::Recorded,
            position,
        }
    }
    /// The 8 bytes.
    pub fn encode(&self) -> [u8; SHORT_AD_LEN] {
        let mut out = [0u8; SHORT_AD_LEN];
        out[..4].copy_from_slice(&encode_len(self.length, self.kind).to_le_bytes());
        out[4..].copy_from_slice(&self.position.to_le_bytes());
        out
    }
    /// Decodes 8 bytes.
    pub fn decode(b: &[u8]) -> Option<Self> {
        let l = get_u32(b, 0)?;
        Some(ShortAd {
            length: l & 0x3FFF_FFFF,
            kind: ExtentType::from_bits(l >> 30),
            position: get_u32(b, 4)?,
        })
    }
}

/// A long allocation descriptor (ECMA-167 4/14.14.2; UDF 2.3.10.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LongAd {
    /// Length in bytes.
    pub length: u32,
    /// Extent type.
    pub kind: ExtentType,
    /// First block and partition reference.
    pub location: LbAddr,
    /// Implementation use: UDF's ADImpUse (u16 flags, then 4 bytes; a FID's ICB keeps the low
    /// 32 bits of the file's unique id there, UDF 2.3.4.3).
    pub impl_use: [u8; 6],
}

impl LongAd {
    /// A recorded extent with zero implementation use.
    pub fn recorded(block: u32, partition: u16, length: u32) -> Self {
        LongAd {
            length,
            kind: ExtentType::Recorded,
            location: LbAddr { block, partition },
            impl_use: [0; 6],
        }
    }

    /// The ICB of a FID or of the FSD's root directory: one block at `block` of partition
    /// `partition`, with the UDF unique id (low 32 bits of the file entry's unique id) in the
    /// ADImpUse (UDF 2.3.4.3, 2.3.10.1; flags 0).
    pub fn icb(block: u32, partition: u16, unique_id: u64) -> Self {
        let mut impl_use = [0u8; 6];
        impl_use[2..].copy_from_slice(&(unique_id as u32).to_le_bytes());
        LongAd {
            length: BLOCK_SIZE as u32,
            kind: ExtentType::Recorded,
            location: LbAddr { block, partition },
            impl_use,
        }
    }

    /// The UDF unique id kept in the ADImpUse.
    pub fn udf_unique_id(&self) -> u32 {
        u32::from_le_bytes([
            self.impl_use[2],
            self.impl_use[3],
            self.impl_use[4],
            self.impl_use[5],
        ])
    }

    /// The 16 bytes.
    pub fn encode(&self) -> [u8; LONG_AD_LEN] {
        let mut out = [0u8; LONG_AD_LEN];
        out[..4].copy_from_slice(&encode_len(self.length, self.kind).to_le_bytes());
        out[4..8].copy_from_slice(&self.location.block.to_le_bytes());
        out[8..10].copy_from_slice(&self.location.partition.to_le_bytes());
        out[10..].copy_from_slice(&self.impl_use);
        out
    }

    /// Decodes 16 bytes.
    pub fn decode(b: &[u8]) -> Option<Self> {
        let l = get_u32(b, 0)?;
        Some(LongAd {
            length: l & 0x3FFF_FFFF,
            kind: ExtentType::from_bits(l >> 30),
            location: LbAddr {
                block: get_u32(b, 4)?,
                partition: get_u16(b, 8)?,
            },
            impl_use: b.get(10..16)?.try_into().ok()?,
        })
    }
}

/// The allocation descriptors of a file entry, or its data embedded in the entry (ECMA-167
/// 4/14.6.8: the allocation type in bits 0-2 of the ICB tag flags).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allocation {
    /// Type 0: short_ads, extents in the file entry's own partition.
    Short(Vec<ShortAd>),
    /// Type 1: long_ads, extents in any partition (file data of a metadata-partition volume).
    Long(Vec<LongAd>),
    /// Type 3: the data itself, recorded in the file entry's allocation descriptor field.
    Embedded(Vec<u8>),
}

impl Allocation {
    /// The ICB tag's allocation type: 0 short, 1 long, 3 embedded.
    pub fn icb_type(&self) -> u16 {
        match self {
            Self::Short(_) => 0,
            Self::Long(_) => 1,
            Self::Embedded(_) => 3,
        }
    }

    /// Its size class, for [`crate::format::udf::file::file_entry_len`].
    pub fn shape(&self) -> AllocShape {
        match self {
            Self::Short(v) => AllocShape::Short(v.len()),
            Self::Long(v) => AllocShape::Long(v.len()),
            Self::Embedded(d) => AllocShape::Embedded(d.len()),
        }
    }

    /// The length of the allocation descriptors field (L_AD).
    pub fn len(&self) -> usize {
        self.shape().len()
    }

    /// Whether there is nothing (no extent, no embedded byte).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The allocation descriptors field.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Short(v) => v.iter().flat_map(|a| a.encode()).collect(),
            Self::Long(v) => v.iter().flat_map(|a| a.encode()).collect(),
            Self::Embedded(d) => d.clone(),
        }
    }

    /// Writes the allocation descriptors field ([`Allocation::encode`]) at the start of `dst`
    /// without allocating; bytes past `dst`'s end are left out (callers size `dst` with
    /// [`Allocation::len`]).
    pub fn encode_into(&self, dst: &mut [u8]) {
        match self {
            Self::Short(v) => {
                for (a, d) in v.iter().zip(dst.chunks_exact_mut(SHORT_AD_LEN)) {
                    d.copy_from_slice(&a.encode());
                }
            }
            Self::Long(v) => {
                for (a, d) in v.iter().zip(dst.chunks_exact_mut(LONG_AD_LEN)) {
                    d.copy_from_slice(&a.encode());
                }
            }
            Self::Embedded(data) => {
                let n = data.len().min(dst.len());
                if let (Some(d), Some(s)) = (dst.get_mut(..n), data.get(..n)) {
                    d.copy_from_slice(s);
                }
            }
        }
    }

    /// Decodes the allocation descriptors field for ICB allocation type `icb_type`. The list
    /// ends at the field's end or at an extent length of 0 (ECMA-167 4/12.1). Type 2 (ext_ad)
    /// is not used by UDF (2.3.10) and gives `None`, as do trailing partial descriptors.
    pub fn decode(icb_type: u16, field: &[u8]) -> Option<Self> {
        fn list<T>(
            field: &[u8],
            size: usize,
            f: impl Fn(&[u8]) -> Option<T>,
            len: impl Fn(&T) -> u32,
        ) -> Option<Vec<T>> {
            if field.len() % size != 0 {
                return None;
            }
            let mut out = Vec::new();
            for c in field.chunks_exact(size) {
                let ad = f(c)?;
                if len(&ad) == 0 {
                    break;
                }
                out.push(ad);
            }
            Some(out)
        }
        match icb_type {
            0 => list(field, SHORT_AD_LEN, ShortAd::decode, |a| a.length).map(Self::Short),
            1 => list(field, LONG_AD_LEN, LongAd::decode, |a| a.length).map(Self::Long),
            3 => Some(Self::Embedded(field.to_vec())),
            _ => None,
        }
    }

    /// Logical blocks recorded (ECMA-167 4/14.9.11): the blocks of recorded extents; 0 for
    /// embedded data.
    pub fn recorded_blocks(&self) -> u64 {
        let blocks = |len: u32, kind: ExtentType| {
            if kind == ExtentType::Recorded {
                (len as u64).div_ceil(BLOCK_SIZE_U64)
            } else {
                0
            }
        };
        match self {
            Self::Short(v) => v.iter().map(|a| blocks(a.length, a.kind)).sum(),
            Self::Long(v) => v.iter().map(|a| blocks(a.length, a.kind)).sum(),
            Self::Embedded(_) => 0,
        }
    }
}

/// The size class of an [`Allocation`], known before any block is assigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocShape {
    /// This many short_ads.
    Short(usize),
    /// This many long_ads.
    Long(usize),
    /// This many bytes of embedded data.
    Embedded(usize),
}

impl AllocShape {
    /// The length of the allocation descriptors field.
    pub fn len(&self) -> usize {
        match *self {
            Self::Short(n) => n * SHORT_AD_LEN,
            Self::Long(n) => n * LONG_AD_LEN,
            Self::Embedded(n) => n,
        }
    }

    /// Whether the field is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Number of extents a contiguous run of `len` bytes needs ([`split_extent`]).
pub fn extent_count(len: u64) -> usize {
    len.div_ceil(MAX_EXTENT_LEN as u64) as usize
}

/// Splits `len` contiguous bytes starting at partition block `block` into `(block, length)`
/// extents of at most [`MAX_EXTENT_LEN`] bytes; every extent but the last is a whole number of
/// blocks. A length of 0 gives no extent (an empty file has no allocation descriptors).
pub fn split_extent(block: u32, len: u64) -> Vec<(u32, u32)> {
    split_extent_max(block, len, MAX_EXTENT_LEN)
}

/// Blocks in a full extent of at most `max` bytes (at least 1, at most [`MAX_EXTENT_LEN`]).
fn extent_blocks(max: u32) -> u64 {
    (max.min(MAX_EXTENT_LEN) as u64 / BLOCK_SIZE_U64).max(1)
}

/// Number of extents [`split_extent_max`] makes of `len` bytes, without making them.
pub fn extent_count_max(len: u64, max: u32) -> usize {
    len.div_ceil(extent_blocks(max) * BLOCK_SIZE_U64) as usize
}

/// [`split_extent`] with extents of at most `max` bytes (rounded down to whole blocks, at
/// least one block, at most [`MAX_EXTENT_LEN`]).
pub fn split_extent_max(block: u32, len: u64, max: u32) -> Vec<(u32, u32)> {
    let blocks_per = extent_blocks(max);
    let per = blocks_per * BLOCK_SIZE_U64;
    (0..len.div_ceil(per))
        .map(|i| {
            let b = block as u64 + i * blocks_per;
            debug_assert!(b <= u32::MAX as u64, "extent start past 2^32 blocks");
            (b as u32, (len - i * per).min(per) as u32)
        })
        .collect()
}

/// Length of an allocation extent descriptor without its descriptors (ECMA-167 4/14.5: tag,
/// previous allocation extent location, length of allocation descriptors).
pub const AED_HEADER_LEN: usize = 24;

/// How `n` allocation descriptors of `per` bytes (8 short, 16 long) are recorded when the file
/// entry has room for `in_entry` of them (ECMA-167 4/12; UDF 2.3.11): all in the entry if they
/// fit; otherwise the entry holds `in_entry - 1` and a descriptor of type 3 pointing to an
/// extent of allocation descriptors, one block each (UDF 2.3.11: an extent of allocation
/// descriptors does not exceed the logical block size), each holding as many as fit, the last
/// slot of every full one but the last again a type-3 descriptor to the next. Returns the count
/// of file descriptors in the entry and in each allocation extent (none if all fit).
pub fn chain_counts(n: usize, in_entry: usize, per: usize) -> (usize, Vec<usize>) {
    let in_block = (BLOCK_SIZE - AED_HEADER_LEN) / per;
    if n <= in_entry || in_entry == 0 || in_block < 2 {
        return (n, Vec::new());
    }
    let head = in_entry - 1;
    let mut rest = n - head;
    let mut blocks = Vec::new();
    while rest > in_block {
        blocks.push(in_block - 1);
        rest -= in_block - 1;
    }
    blocks.push(rest);
    (head, blocks)
}
