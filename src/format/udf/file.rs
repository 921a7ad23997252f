//! File structure (ECMA-167 part 4; UDF 2.3, 3.3): the file set descriptor, file entries and
//! extended file entries, file identifier descriptors (directory contents), symbolic link
//! contents, POSIX permissions and unique ids.
//!
//! Tag locations of these descriptors are blocks relative to the partition they are recorded
//! in (ECMA-167 3/7.2.8, 4/7.2.8): the physical partition for UDF 1.02-2.01, the
//! metadata partition for 2.50 and later (see [`super::metadata`]).
//!
//! Unique ids (UDF 3.2.1.1): the root directory has 0; 1-15 are reserved for Mac OS; every other
//! file entry gets its own id from 16 up ([`next_unique_id`]), and the LVID records the next
//! free one. Every FID naming a file entry carries the low 32 bits of that entry's unique id in
//! its ICB's implementation use (UDF 2.3.4.3), hard links included (they share the entry, so
//! they share the id). The metadata files have 0.

use chrono::{DateTime, FixedOffset, Utc};

use super::ad::{AllocShape, Allocation, LongAd};
use super::cs0::{decode_cs0, encode_name, put_dstring, NameError};
use super::fields::{
    check_tag, dstring_at, entity_at, time_at, u16_at, u32_at, u64_at, u8_at, Sector,
};
use super::ids::{cs0_charspec, domain_id, domain_revision, is_cs0_charspec};
use super::tag::{finish_tag, ident};
use super::time::{decode_timestamp, encode_timestamp};
use super::{
    put_u16, put_u32, put_u64, put_u8, round4, slice, Ctx, DecodeError, Decoded, UdfRevision,
};
use crate::codec::endian::put;
use crate::BLOCK_SIZE;

// ---------------------------------------------------------------------------------------------
// Unique ids (UDF 3.2.1.1)

/// The root directory's unique id.
pub const ROOT_UNIQUE_ID: u64 = 0;
/// The first unique id of other files (1-15 are reserved for Mac OS).
pub const FIRST_UNIQUE_ID: u64 = 16;

/// The unique id after `id` (UDF 3.2.1.1): ids below 16 are followed by 16; when the low 32 bits
/// are 0xFFFFFFFF the high half is incremented and the low half restarts at 16, so the 32-bit
/// ids in FIDs never fall in 0-15.
pub fn next_unique_id(id: u64) -> u64 {
    if id < FIRST_UNIQUE_ID {
        FIRST_UNIQUE_ID
    } else if id as u32 == u32::MAX {
        (((id >> 32) + 1) << 32) | FIRST_UNIQUE_ID
    } else {
        id + 1
    }
}

// ---------------------------------------------------------------------------------------------
// Permissions (ECMA-167 4/14.9.5; UDF 3.3.3.3)

/// "Not set" for uid and gid (UDF 3.3.3.1, 3.3.3.2: 2^32 - 1 means invalid; readers then use
/// their mount options). Used when the source has no owner, e.g. built on Windows.
pub const NO_ID: u32 = u32::MAX;

/// Other: execute.
pub const PERM_OTHER_EXEC: u32 = 0x0001;
/// Other: write.
pub const PERM_OTHER_WRITE: u32 = 0x0002;
/// Other: read.
pub const PERM_OTHER_READ: u32 = 0x0004;
/// Other: change attributes.
pub const PERM_OTHER_CHATTR: u32 = 0x0008;
/// Other: delete.
pub const PERM_OTHER_DELETE: u32 = 0x0010;
/// Group bits are the other bits shifted left by 5.
pub const GROUP_SHIFT: u32 = 5;
/// Owner bits are the other bits shifted left by 10.
pub const OWNER_SHIFT: u32 = 10;

/// UDF permissions from POSIX mode bits: read/write/execute per class map directly; each
/// class's delete bit follows its write bit (Windows shows files without delete permission as
/// read-only, and Linux since 5.4 writes delete = write), and the owner may change attributes.
pub fn permissions_from_mode(mode: u32) -> u32 {
    let class = |rwx: u32| {
        let r = (rwx & 4 != 0) as u32 * PERM_OTHER_READ;
        let w = (rwx & 2 != 0) as u32 * (PERM_OTHER_WRITE | PERM_OTHER_DELETE);
        let x = (rwx & 1 != 0) as u32 * PERM_OTHER_EXEC;
        r | w | x
    };
    class(mode & 7)
        | (class((mode >> 3) & 7) << GROUP_SHIFT)
        | ((class((mode >> 6) & 7) | PERM_OTHER_CHATTR) << OWNER_SHIFT)
}

/// POSIX rwx bits (0o777) from UDF permissions (delete and change-attribute bits dropped).
pub fn mode_from_permissions(p: u32) -> u32 {
    let class = |bits: u32| {
        ((bits & PERM_OTHER_READ != 0) as u32) << 2
            | ((bits & PERM_OTHER_WRITE != 0) as u32) << 1
            | (bits & PERM_OTHER_EXEC != 0) as u32
    };
    class(p) | class(p >> GROUP_SHIFT) << 3 | class(p >> OWNER_SHIFT) << 6
}

/// ICB tag flag: set-uid (ECMA-167 4/14.6.8 bit 6).
pub const ICB_SETUID: u16 = 0x0040;
/// ICB tag flag: set-gid (bit 7).
pub const ICB_SETGID: u16 = 0x0080;
/// ICB tag flag: sticky (bit 8).
pub const ICB_STICKY: u16 = 0x0100;

/// The set-uid, set-gid and sticky ICB flags from POSIX mode bits (0o4000, 0o2000, 0o1000).
pub fn icb_flags_from_mode(mode: u32) -> u16 {
    (if mode & 0o4000 != 0 { ICB_SETUID } else { 0 })
        | (if mode & 0o2000 != 0 { ICB_SETGID } else { 0 })
        | (if mode & 0o1000 != 0 { ICB_STICKY } else { 0 })
}

// ---------------------------------------------------------------------------------------------
// File set descriptor (ECMA-167 4/14.1; UDF 2.3.2)

/// The file set descriptor's fields. It is recorded in the block named by the LVD's logical
/// volume contents use, followed by a terminating descriptor (UDF 2.3.2: the sequence ends with
/// a TD or an unrecorded block).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSet {
    /// Recording date and time.
    pub recording_time: DateTime<Utc>,
    /// Logical volume identifier: the LVD's (dstring of 128 bytes).
    pub logical_volume_id: String,
    /// File set identifier (dstring of 32 bytes).
    pub file_set_id: String,
    /// Copyright file identifier (dstring of 32 bytes; usually empty).
    pub copyright_file_id: String,
    /// Abstract file identifier (dstring of 32 bytes; usually empty).
    pub abstract_file_id: String,
    /// The root directory's file entry: one block, unique id 0 in the implementation use.
    pub root_icb: LongAd,
    /// File set number (0).
    pub file_set_number: u32,
    /// File set descriptor number (0).
    pub fsd_number: u32,
}

impl FileSet {
    /// Bytes of the descriptor.
    pub const LEN: usize = 512;

    /// The block at partition-relative `location`. Interchange levels 3/3, CS0 only, domain
    /// `*OSTA UDF Compliant` with the revision (UDF 2.3.2.1-2.3.2.4), no next extent, no system
    /// stream directory.
    pub fn encode(&self, ctx: &Ctx, location: u32) -> Sector {
        let mut s = [0u8; BLOCK_SIZE];
        put(&mut s, 16, &encode_timestamp(&self.recording_time));
        put_u16(&mut s, 28, 3); // interchange level
        put_u16(&mut s, 30, 3); // maximum interchange level
        put_u32(&mut s, 32, 1); // character set list: CS0
        put_u32(&mut s, 36, 1); // maximum character set list
        put_u32(&mut s, 40, self.file_set_number);
        put_u32(&mut s, 44, self.fsd_number);
        put(&mut s, 48, &cs0_charspec()); // logical volume identifier character set
        put_dstring(&mut s[112..240], &self.logical_volume_id);
        put(&mut s, 240, &cs0_charspec()); // file set character set
        put_dstring(&mut s[304..336], &self.file_set_id);
        put_dstring(&mut s[336..368], &self.copyright_file_id);
        put_dstring(&mut s[368..400], &self.abstract_file_id);
        put(&mut s, 400, &self.root_icb.encode());
        put(&mut s, 416, &domain_id(ctx.rev, 0).encode());
        // 448 next extent, 464 system stream directory ICB (NSR03 only), 480 reserved: zero.
        finish_tag(
            &mut s,
            ident::FSD,
            ctx.tag_version(),
            ctx.serial,
            location,
            Self::LEN - 16,
        );
        s
    }

    /// Decodes an FSD read from partition block `location`; the revision is the domain's.
    pub fn decode(buf: &[u8], location: u32) -> Result<Decoded<Self>, DecodeError> {
        let tag = check_tag(buf, ident::FSD, location)?;
        if !is_cs0_charspec(slice(buf, 240, 64)?) {
            return Err(DecodeError::Invalid("file set character set"));
        }
        let revision = domain_revision(&entity_at(buf, 416)?)
            .ok_or(DecodeError::Invalid("domain identifier"))?;
        let value = FileSet {
            recording_time: time_at(buf, 16)?,
            logical_volume_id: dstring_at(buf, 112, 128)?,
            file_set_id: dstring_at(buf, 304, 32)?,
            copyright_file_id: dstring_at(buf, 336, 32)?,
            abstract_file_id: dstring_at(buf, 368, 32)?,
            root_icb: LongAd::decode(slice(buf, 400, 16)?)
                .ok_or(DecodeError::Invalid("long_ad"))?,
            file_set_number: u32_at(buf, 40)?,
            fsd_number: u32_at(buf, 44)?,
        };
        Ok(Decoded {
            value,
            tag,
            revision: Some(revision),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// File entry and extended file entry (ECMA-167 4/14.6, 4/14.9, 4/14.17; UDF 2.3.5, 2.3.6, 3.3.3)

/// The file type of the ICB tag (ECMA-167 4/14.6.6; UDF 2.3.5.2). Not the POSIX file type
/// ([`read::FileType`](crate::read::FileType)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcbFileType {
    /// 4: directory.
    Directory,
    /// 5: a byte-addressable regular file.
    Regular,
    /// 6: block device (with a device specification extended attribute).
    BlockDevice,
    /// 7: character device (with a device specification extended attribute).
    CharDevice,
    /// 9: FIFO.
    Fifo,
    /// 10: socket (C_ISSOCK).
    Socket,
    /// 12: symbolic link; the data is a path ([`encode_symlink_target`]).
    Symlink,
    /// 250: the metadata file (UDF 2.2.13).
    MetadataFile,
    /// 251: the metadata mirror file.
    MetadataMirror,
    /// 252: the metadata bitmap file.
    MetadataBitmap,
    /// Any other value, as read.
    Other(u8),
}

impl IcbFileType {
    /// The recorded value.
    pub fn value(self) -> u8 {
        match self {
            Self::Directory => 4,
            Self::Regular => 5,
            Self::BlockDevice => 6,
            Self::CharDevice => 7,
            Self::Fifo => 9,
            Self::Socket => 10,
            Self::Symlink => 12,
            Self::MetadataFile => 250,
            Self::MetadataMirror => 251,
            Self::MetadataBitmap => 252,
            Self::Other(v) => v,
        }
    }

    /// The type for a recorded value.
    pub fn from_value(v: u8) -> Self {
        match v {
            4 => Self::Directory,
            5 => Self::Regular,
            6 => Self::BlockDevice,
            7 => Self::CharDevice,
            9 => Self::Fifo,
            10 => Self::Socket,
            12 => Self::Symlink,
            250 => Self::MetadataFile,
            251 => Self::MetadataMirror,
            252 => Self::MetadataBitmap,
            v => Self::Other(v),
        }
    }
}

/// Bytes before the extended attributes of a file entry (ECMA-167 4/14.9).
pub const FE_BASE_LEN: usize = 176;
/// Bytes before the extended attributes of an extended file entry (ECMA-167 4/14.17).
pub const EFE_BASE_LEN: usize = 216;
/// Extended attribute space of a device file: header descriptor (24) and device
/// specification attribute (24).
pub const DEVICE_EA_LEN: usize = 48;

fn base_len(rev: UdfRevision) -> usize {
    if rev.uses_extended_file_entry() {
        EFE_BASE_LEN
    } else {
        FE_BASE_LEN
    }
}

/// Length of a (extended, from UDF 2.01) file entry without extended attributes whose
/// allocation descriptors have `shape`: 176 or 216 + L_AD. It must not exceed one block
/// (UDF 2.3.6); each entry occupies a block of its own.
pub fn file_entry_len(rev: UdfRevision, shape: AllocShape) -> usize {
    base_len(rev) + shape.len()
}

/// The most bytes a file entry can embed (allocation type 3): 1872 in a file entry,
/// 1832 in an extended one.
pub fn embedded_capacity(rev: UdfRevision) -> usize {
    BLOCK_SIZE - base_len(rev)
}

/// The most allocation descriptors of `per` bytes (8 short, 16 long) that fit in one entry:
/// 234 short / 117 long in a file entry, 229 short / 114 long in an extended one. A file
/// needing more (over about 114 GiB with long_ads) continues them in [`AllocationExtent`]s.
pub fn max_descriptors(rev: UdfRevision, per: usize) -> usize {
    (BLOCK_SIZE - base_len(rev)) / per
}

/// A file entry's fields. Encoded as a file entry (tag 261) for UDF 1.02/1.50 and as an
/// extended file entry (tag 266) from 2.01 on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileEntry {
    /// File type.
    pub file_type: IcbFileType,
    /// ICB tag flags besides the allocation type (set-uid, set-gid, sticky: see
    /// [`icb_flags_from_mode`]). Bits 0-2 are ignored: the allocation decides them.
    pub icb_flags: u16,
    /// Owner, or [`NO_ID`].
    pub uid: u32,
    /// Group, or [`NO_ID`].
    pub gid: u32,
    /// UDF permissions ([`permissions_from_mode`]).
    pub permissions: u32,
    /// File link count (ECMA-167 4/14.9.6): the number of FIDs naming this entry. Files: their
    /// names (hard links). Directories: 1 (its FID in the parent, or the root's own parent FID)
    /// plus one per subdirectory (their parent FIDs).
    pub link_count: u16,
    /// Information length: the file's size in bytes (for a directory: its FIDs' total length;
    /// for a symlink: the path components' length).
    pub info_len: u64,
    /// Last access time.
    pub access_time: DateTime<Utc>,
    /// Last modification time.
    pub modification_time: DateTime<Utc>,
    /// Last attribute change time.
    pub attribute_time: DateTime<Utc>,
    /// Creation time: recorded only in extended file entries; a decoded plain file entry
    /// reports its modification time (UDF 3.3.4.3).
    pub creation_time: DateTime<Utc>,
    /// Unique id ([`next_unique_id`]; the root has 0).
    pub unique_id: u64,
    /// `(major, minor)` of a block or character device: recorded as a device specification
    /// extended attribute (ECMA-167 4/14.10.7; UDF 3.3.4.4).
    pub device: Option<(u32, u32)>,
    /// Where the data is, or the data itself. When the descriptors do not fit in the entry, the
    /// last one is of type 3 ([`ExtentType::NextExtent`](super::ad::ExtentType)) and the rest
    /// are in [`AllocationExtent`]s ([`chain_counts`](super::ad::chain_counts)).
    pub allocation: Allocation,
    /// Logical blocks of the recorded extents listed in allocation extents that continue
    /// `allocation`: added to the blocks of its own recorded extents for the logical blocks
    /// recorded field (ECMA-167 4/14.9.11, which counts the file's recorded blocks, not the
    /// blocks holding its descriptors). A decoded entry reports the field minus the blocks of
    /// `allocation`'s own extents.
    pub continued_blocks: u64,
}

impl FileEntry {
    /// Encoded length for `rev` ([`file_entry_len`] plus the device attribute).
    pub fn len(&self, rev: UdfRevision) -> usize {
        file_entry_len(rev, self.allocation.shape())
            + if self.device.is_some() {
                DEVICE_EA_LEN
            } else {
                0
            }
    }

    /// Encodes the entry for the partition block `location` (its own block). Record format 0,
    /// checkpoint 1, no extended attribute ICB, no stream directory, implementation identifier
    /// `*glassmaster`, logical blocks recorded computed from the allocation.
    ///
    /// # Panics
    /// If the entry exceeds one block (see [`embedded_capacity`], [`max_descriptors`]).
    pub fn encode(&self, ctx: &Ctx, location: u32) -> Vec<u8> {
        let mut b = vec![0u8; self.len(ctx.rev)];
        self.encode_into(ctx, location, &mut b);
        b
    }

    /// [`FileEntry::encode`] into `b`, which must be exactly [`FileEntry::len`] bytes long
    /// (zeroed first): a writer encodes a run of entries into one buffer without allocating
    /// per entry. Times equal to the modification time (the usual case) are converted once.
    ///
    /// # Panics
    /// If the entry exceeds one block, or `b` has another length (encoder bugs).
    pub fn encode_into(&self, ctx: &Ctx, location: u32, b: &mut [u8]) {
        let len = self.len(ctx.rev);
        assert!(
            len <= BLOCK_SIZE,
            "file entry of {len} bytes exceeds one block"
        );
        assert_eq!(b.len(), len, "file entry buffer of the wrong length");
        b.fill(0);
        let efe = ctx.rev.uses_extended_file_entry();
        // ICB tag (ECMA-167 4/14.6; UDF 2.3.5): strategy 4, one entry, parent ICB zero.
        put_u16(b, 16 + 4, 4);
        put_u16(b, 16 + 8, 1);
        put_u8(b, 16 + 11, self.file_type.value());
        put_u16(
            b,
            16 + 18,
            (self.icb_flags & !7) | self.allocation.icb_type(),
        );
        put_u32(b, 36, self.uid);
        put_u32(b, 40, self.gid);
        put_u32(b, 44, self.permissions);
        put_u16(b, 48, self.link_count);
        // 50 record format, 51 record display attributes, 52 record length: 0 (UDF 2.3.6.1-3).
        put_u64(b, 56, self.info_len);
        let lbr = self.allocation.recorded_blocks() + self.continued_blocks;
        let ea_len = if self.device.is_some() {
            DEVICE_EA_LEN
        } else {
            0
        };
        let ad_len = self.allocation.len();
        // ECMA-167 1/7.3: one conversion of the modification time, reused by equal times.
        let mtime = encode_timestamp(&self.modification_time);
        let stamp = |t: &DateTime<Utc>| {
            if *t == self.modification_time {
                mtime
            } else {
                encode_timestamp(t)
            }
        };
        let tail = if efe {
            put_u64(b, 64, self.info_len); // object size: no streams
            put_u64(b, 72, lbr);
            put(b, 80, &stamp(&self.access_time));
            put(b, 92, &mtime);
            put(b, 104, &stamp(&self.creation_time));
            put(b, 116, &stamp(&self.attribute_time));
            put_u32(b, 128, 1); // checkpoint
                                // 132 reserved, 136 extended attribute ICB, 152 stream directory ICB: zero.
            put(b, 168, &ctx.impl_id().encode());
            put_u64(b, 200, self.unique_id);
            put_u32(b, 208, ea_len as u32);
            put_u32(b, 212, ad_len as u32);
            EFE_BASE_LEN
        } else {
            put_u64(b, 64, lbr);
            put(b, 72, &stamp(&self.access_time));
            put(b, 84, &mtime);
            put(b, 96, &stamp(&self.attribute_time));
            put_u32(b, 108, 1); // checkpoint
                                // 112 extended attribute ICB: zero.
            put(b, 128, &ctx.impl_id().encode());
            put_u64(b, 160, self.unique_id);
            put_u32(b, 168, ea_len as u32);
            put_u32(b, 172, ad_len as u32);
            FE_BASE_LEN
        };
        if let Some((major, minor)) = self.device {
            put(b, tail, &device_ea(ctx, location, major, minor));
        }
        if let Some(dst) = b.get_mut(tail + ea_len..tail + ea_len + ad_len) {
            self.allocation.encode_into(dst);
        }
        let tag = if efe { ident::EFE } else { ident::FE };
        finish_tag(b, tag, ctx.tag_version(), ctx.serial, location, len - 16);
    }

    /// Decodes a file entry or extended file entry read from partition block `location`.
    pub fn decode(buf: &[u8], location: u32) -> Result<Decoded<Self>, DecodeError> {
        let f = FileEntryFields::decode(buf, location)?;
        let allocation = Allocation::decode(f.icb_flags & 7, f.ad)
            .ok_or(DecodeError::Invalid("allocation descriptors"))?;
        let continued_blocks = f
            .logical_blocks_recorded
            .saturating_sub(allocation.recorded_blocks());
        let time = |t: Option<DateTime<FixedOffset>>| {
            t.map(|t| t.with_timezone(&Utc))
                .ok_or(DecodeError::Invalid("timestamp"))
        };
        let value = FileEntry {
            file_type: IcbFileType::from_value(f.file_type),
            icb_flags: f.icb_flags & !7,
            uid: f.uid,
            gid: f.gid,
            permissions: f.permissions,
            link_count: f.link_count,
            info_len: f.info_len,
            access_time: time(f.access_time)?,
            modification_time: time(f.modification_time)?,
            // UDF 3.3.4.3: a plain file entry has no creation time; report the modification time.
            creation_time: time(if f.extended {
                f.creation_time
            } else {
                f.modification_time
            })?,
            attribute_time: time(f.attribute_time)?,
            unique_id: f.unique_id,
            device: f.device(location),
            allocation,
            continued_blocks,
        };
        Ok(Decoded {
            value,
            tag: f.tag,
            revision: None,
        })
    }
}

/// The fields of a file entry or extended file entry (ECMA-167 4/14.9, 4/14.17) as recorded:
/// the one decoder behind [`FileEntry::decode`] and the reader's UDF view. Timestamps that do
/// not decode are `None` (the reader shows the file without them; [`FileEntry::decode`] refuses
/// them); the allocation descriptors and extended attributes are left as bytes.
#[derive(Clone, Debug)]
pub(crate) struct FileEntryFields<'a> {
    pub tag: super::tag::Tag,
    /// An extended file entry (tag 266), not a file entry (tag 261).
    pub extended: bool,
    /// ECMA-167 4/14.6.6 file type (the ICB tag's), as recorded.
    pub file_type: u8,
    /// ECMA-167 4/14.6.8 ICB flags, the allocation type (bits 0-2) included.
    pub icb_flags: u16,
    pub uid: u32,
    pub gid: u32,
    pub permissions: u32,
    pub link_count: u16,
    pub info_len: u64,
    /// ECMA-167 4/14.9.11 (4/14.17.12): logical blocks recorded.
    pub logical_blocks_recorded: u64,
    pub access_time: Option<DateTime<FixedOffset>>,
    pub modification_time: Option<DateTime<FixedOffset>>,
    /// Extended file entries only (ECMA-167 4/14.17.15).
    pub creation_time: Option<DateTime<FixedOffset>>,
    pub attribute_time: Option<DateTime<FixedOffset>>,
    pub unique_id: u64,
    /// The extended attributes (ECMA-167 4/14.9.19).
    pub ea: &'a [u8],
    /// The allocation descriptors (ECMA-167 4/14.9.20).
    pub ad: &'a [u8],
}

impl<'a> FileEntryFields<'a> {
    /// Decodes the entry in `buf` whose tag location is `location`: the tag (261 or 266), and
    /// every field up to the extended attributes and allocation descriptors, which must lie
    /// inside `buf`.
    pub fn decode(buf: &'a [u8], location: u32) -> Result<Self, DecodeError> {
        let tag = super::tag::verify_tag(buf, location)?;
        let extended = match tag.ident {
            ident::FE => false,
            ident::EFE => true,
            found => {
                return Err(DecodeError::Ident {
                    expected: ident::FE,
                    found,
                })
            }
        };
        let icb_flags = u16_at(buf, 16 + 18)?;
        // Access, modification, creation (extended entries only) and attribute times; logical
        // blocks recorded; unique id; length of the extended attributes (followed by the length
        // of the allocation descriptors). ECMA-167 4/14.9, 4/14.17.
        let (times, creation, lbr_off, uid_off, ea_off) = if extended {
            ([80, 92, 116], Some(104), 72, 200, 208)
        } else {
            ([72, 84, 96], None, 64, 160, 168)
        };
        let ea_len = u32_at(buf, ea_off)? as usize;
        let ad_len = u32_at(buf, ea_off + 4)? as usize;
        let base = ea_off + 8;
        let ea = slice(buf, base, ea_len)?;
        let ad = slice(buf, base.saturating_add(ea_len), ad_len)?;
        let time = |off: usize| slice(buf, off, 12).ok().and_then(decode_timestamp);
        Ok(FileEntryFields {
            tag,
            extended,
            file_type: u8_at(buf, 16 + 11)?,
            icb_flags,
            uid: u32_at(buf, 36)?,
            gid: u32_at(buf, 40)?,
            permissions: u32_at(buf, 44)?,
            link_count: u16_at(buf, 48)?,
            info_len: u64_at(buf, 56)?,
            logical_blocks_recorded: u64_at(buf, lbr_off)?,
            access_time: time(times[0]),
            modification_time: time(times[1]),
            creation_time: creation.and_then(time),
            attribute_time: time(times[2]),
            unique_id: u64_at(buf, uid_off)?,
            ea,
            ad,
        })
    }

    /// The `(major, minor)` of a device specification extended attribute, if the entry at
    /// `location` has one.
    pub fn device(&self, location: u32) -> Option<(u32, u32)> {
        if self.ea.is_empty() {
            None
        } else {
            decode_device_ea(self.ea, location)
        }
    }
}

/// The extended attribute space of a device file: an extended attribute header descriptor
/// (ECMA-167 4/14.10.1; tag 262 located at the file entry's block; no implementation or
/// application attributes, so both locations are 0xFFFFFFFF per UDF 3.3.4.1) and a device
/// specification attribute (ECMA-167 4/14.10.7: type 12, subtype 1, no implementation use).
fn device_ea(ctx: &Ctx, location: u32, major: u32, minor: u32) -> [u8; DEVICE_EA_LEN] {
    let mut b = [0u8; DEVICE_EA_LEN];
    put_u32(&mut b, 16, u32::MAX);
    put_u32(&mut b, 20, u32::MAX);
    finish_tag(
        &mut b,
        ident::EAHD,
        ctx.tag_version(),
        ctx.serial,
        location,
        8,
    );
    put_u32(&mut b, 24, 12); // attribute type
    put_u8(&mut b, 28, 1); // attribute subtype
    put_u32(&mut b, 32, 24); // attribute length
    put_u32(&mut b, 36, 0); // implementation use length
    put_u32(&mut b, 40, major);
    put_u32(&mut b, 44, minor);
    b
}

/// The device numbers of a device specification extended attribute (type 12, subtype 1) in the
/// extended attribute space `ea` of the file entry at `location`.
pub(crate) fn decode_device_ea(ea: &[u8], location: u32) -> Option<(u32, u32)> {
    let t = super::tag::verify_tag(ea, location).ok()?;
    if t.ident != ident::EAHD {
        return None;
    }
    let mut off = 24usize;
    while off.checked_add(12)? <= ea.len() {
        let kind = super::get_u32(ea, off)?;
        let sub = *ea.get(off + 4)?;
        let len = super::get_u32(ea, off + 8)? as usize;
        if len < 12 {
            return None;
        }
        if kind == 12 && sub == 1 {
            return Some((super::get_u32(ea, off + 16)?, super::get_u32(ea, off + 20)?));
        }
        off = off.checked_add(len)?;
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Allocation extent descriptor (ECMA-167 4/14.5; UDF 2.3.11)

/// An extent of allocation descriptors: the descriptors of a file that did not fit in its file
/// entry (or in the previous extent), recorded in a block of its own after a 24-byte header
/// (UDF 2.3.11: they follow the length field, and header and descriptors together do not
/// exceed one logical block).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllocationExtent {
    /// The descriptors, short or long as in the file entry (never embedded); the last may be
    /// of type 3, pointing to the next extent.
    pub allocation: Allocation,
}

impl AllocationExtent {
    /// Encodes the descriptor for the partition block `location`, padded with zeros to a
    /// block. The previous allocation extent location (4/14.5.2) is 0: UDF readers ignore it,
    /// and a read-only image is never walked backwards. The CRC covers the header and the
    /// descriptors (UDF 2.2.1.2: descriptor size minus the tag).
    ///
    /// # Panics
    /// If the descriptors do not fit in one block, or are embedded data (encoder bugs).
    pub fn encode(&self, ctx: &Ctx, location: u32) -> Vec<u8> {
        assert!(
            !matches!(self.allocation, Allocation::Embedded(_)),
            "an allocation extent holds descriptors, not data"
        );
        let ad = self.allocation.encode();
        let len = super::ad::AED_HEADER_LEN + ad.len();
        assert!(
            len <= BLOCK_SIZE,
            "allocation extent of {len} bytes exceeds one block"
        );
        let mut b = vec![0u8; BLOCK_SIZE];
        put_u32(&mut b, 16, 0);
        put_u32(&mut b, 20, ad.len() as u32);
        put(&mut b, super::ad::AED_HEADER_LEN, &ad);
        finish_tag(
            &mut b,
            ident::AED,
            ctx.tag_version(),
            ctx.serial,
            location,
            len - 16,
        );
        b
    }

    /// Decodes the allocation extent descriptor read from partition block `location` whose
    /// descriptors are short (`short`) or long.
    pub fn decode(buf: &[u8], location: u32, short: bool) -> Result<Decoded<Self>, DecodeError> {
        let tag = check_tag(buf, ident::AED, location)?;
        let len = u32_at(buf, 20)? as usize;
        let field = slice(buf, super::ad::AED_HEADER_LEN, len)?;
        let allocation = Allocation::decode(u16::from(!short), field)
            .ok_or(DecodeError::Invalid("allocation descriptors"))?;
        Ok(Decoded {
            value: AllocationExtent { allocation },
            tag,
            revision: None,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// File identifier descriptor (ECMA-167 4/14.4; UDF 2.3.4, 3.3.1)

/// File characteristics bit: hidden (ECMA-167 4/14.4.3).
pub const FID_HIDDEN: u8 = 0x01;
/// File characteristics bit: directory.
pub const FID_DIRECTORY: u8 = 0x02;
/// File characteristics bit: deleted.
pub const FID_DELETED: u8 = 0x04;
/// File characteristics bit: parent (the FID names the parent directory).
pub const FID_PARENT: u8 = 0x08;
/// File characteristics bit: metadata (stream directories only, UDF 2.3.4.2).
pub const FID_METADATA: u8 = 0x10;

/// Length of a FID without implementation use: `round4(38 + L_FI)` (ECMA-167 4/14.4: 38 fixed
/// bytes, the identifier, padding to a multiple of 4). The parent FID (L_FI = 0) takes 40.
pub fn fid_len(name_cs0_len: usize) -> usize {
    round4(38 + name_cs0_len)
}

/// Length of a FID with `impl_use_len` bytes of implementation use.
pub fn fid_len_with_impl_use(name_cs0_len: usize, impl_use_len: usize) -> usize {
    round4(38 + impl_use_len + name_cs0_len)
}

/// A file identifier descriptor's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fid {
    /// File characteristics ([`FID_DIRECTORY`], [`FID_PARENT`], [`FID_HIDDEN`]...).
    pub characteristics: u8,
    /// The named file entry ([`LongAd::icb`] with its unique id's low 32 bits).
    pub icb: LongAd,
    /// The name in CS0 ([`crate::format::udf::cs0::encode_name`]); empty for the parent FID.
    pub name: Vec<u8>,
    /// Length of the implementation use field: 0, or at least 32 (its first 32 bytes are then
    /// our implementation identifier, UDF 2.3.4.5). [`pack_directory`] uses it as padding.
    pub impl_use_len: u16,
}

impl Fid {
    /// The parent FID that opens every directory (UDF 2.3.4: first; the root's names itself).
    pub fn parent(icb: LongAd) -> Self {
        Fid {
            characteristics: FID_PARENT | FID_DIRECTORY,
            icb,
            name: Vec::new(),
            impl_use_len: 0,
        }
    }

    /// A FID naming `name` (encoded to CS0, 1-255 bytes).
    pub fn named(
        name: &str,
        icb: LongAd,
        directory: bool,
        hidden: bool,
    ) -> Result<Self, NameError> {
        let characteristics =
            if directory { FID_DIRECTORY } else { 0 } | if hidden { FID_HIDDEN } else { 0 };
        Ok(Fid {
            characteristics,
            icb,
            name: encode_name(name)?,
            impl_use_len: 0,
        })
    }

    /// Encoded length (a multiple of 4).
    pub fn len(&self) -> usize {
        fid_len_with_impl_use(self.name.len(), self.impl_use_len as usize)
    }

    /// Never empty; present for the `len`/`is_empty` convention.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Encodes the FID. `location` is the partition block holding its first byte (the tag):
    /// directory's first block + offset / 2048 ([`fid_location`]), or the directory's file entry
    /// block when the directory is embedded in its entry. The CRC covers the whole FID.
    ///
    /// # Panics
    /// If the name exceeds 255 bytes, or the implementation use is 1-31 bytes long.
    pub fn encode(&self, ctx: &Ctx, location: u32) -> Vec<u8> {
        let mut b = vec![0u8; self.len()];
        encode_fid_into(
            ctx,
            self.characteristics,
            &self.icb,
            &self.name,
            self.impl_use_len,
            location,
            &mut b,
        );
        b
    }

    /// Decodes the FID at the start of `buf` read from partition block `location`; trailing
    /// bytes (the next FIDs) are ignored. See [`Fid::len`] for how far to advance.
    pub fn decode(buf: &[u8], location: u32) -> Result<Decoded<Self>, DecodeError> {
        let l_fi = u8_at(buf, 19)? as usize;
        let l_iu = u16_at(buf, 36)? as usize;
        let len = fid_len_with_impl_use(l_fi, l_iu);
        let this = slice(buf, 0, len)?;
        let tag = check_tag(this, ident::FID, location)?;
        let value = Fid {
            characteristics: u8_at(this, 18)?,
            icb: LongAd::decode(slice(this, 20, 16)?).ok_or(DecodeError::Invalid("long_ad"))?,
            name: slice(this, 38 + l_iu, l_fi)?.to_vec(),
            impl_use_len: l_iu as u16,
        };
        Ok(Decoded {
            value,
            tag,
            revision: None,
        })
    }

    /// The name as text (`None` if the CS0 bytes are invalid; `""` for the parent).
    pub fn name_str(&self) -> Option<String> {
        decode_cs0(&self.name)
    }
}

/// Encodes a FID ([`Fid::encode`]) from its parts into `b`, which must be exactly
/// [`fid_len_with_impl_use`]`(name.len(), impl_use_len)` bytes long (zeroed first): a directory
/// is written into one buffer, FID after FID, without a `Fid` or a copy of the name per child.
///
/// # Panics
/// If the name exceeds 255 bytes, the implementation use is 1-31 bytes long, or `b` has
/// another length (encoder bugs).
pub fn encode_fid_into(
    ctx: &Ctx,
    characteristics: u8,
    icb: &LongAd,
    name: &[u8],
    impl_use_len: u16,
    location: u32,
    b: &mut [u8],
) {
    assert!(name.len() <= 255, "file identifier longer than 255 bytes");
    let iu = impl_use_len as usize;
    assert!(
        iu == 0 || iu >= 32,
        "implementation use of 1-31 bytes cannot hold an entity id"
    );
    let len = fid_len_with_impl_use(name.len(), iu);
    assert_eq!(b.len(), len, "FID buffer of the wrong length");
    b.fill(0);
    // ECMA-167 4/14.4; UDF 2.3.4.
    put_u16(b, 16, 1); // file version number (UDF 2.3.4.1)
    put_u8(b, 18, characteristics);
    put_u8(b, 19, name.len() as u8);
    put(b, 20, &icb.encode());
    put_u16(b, 36, impl_use_len);
    if iu > 0 {
        put(b, 38, &ctx.impl_id().encode());
    }
    put(b, 38 + iu, name);
    finish_tag(
        b,
        ident::FID,
        ctx.tag_version(),
        ctx.serial,
        location,
        len - 16,
    );
}

/// The tag location of a FID at byte `offset` of a directory whose data starts at partition
/// block `first_block`.
pub fn fid_location(first_block: u32, offset: usize) -> u32 {
    first_block + (offset / BLOCK_SIZE) as u32
}

/// Where a FID goes in its directory, from [`pack_directory`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FidSlot {
    /// Byte offset in the directory's data.
    pub offset: usize,
    /// Implementation use length to record (0 or 32, see [`pack_directory`]).
    pub impl_use_len: u16,
    /// The FID's length including that implementation use.
    pub len: usize,
}

/// Places the FIDs of one directory, whose names take `name_lens` CS0 bytes (the parent FID
/// first, with 0), one after the other. FIDs may cross block boundaries (ECMA-167 4/14.4 does
/// not forbid it, Linux, Windows and macOS read them), but no descriptor *tag* is split: when
/// fewer than 16 bytes would remain in a block after a FID that another FID follows, that FID
/// gets 32 bytes of implementation use (our entity identifier) so the next tag starts in the
/// next block — UDF 2.3.4.4's rule for write-once media, harmless elsewhere. Returns the slots
/// and the directory's information length.
pub fn pack_directory(name_lens: &[usize]) -> (Vec<FidSlot>, usize) {
    let mut slots = Vec::with_capacity(name_lens.len());
    let mut offset = 0usize;
    for (i, &n) in name_lens.iter().enumerate() {
        let mut slot = FidSlot {
            offset,
            impl_use_len: 0,
            len: fid_len(n),
        };
        let left = BLOCK_SIZE - (offset + slot.len) % BLOCK_SIZE;
        if i + 1 < name_lens.len() && left < 16 {
            slot = FidSlot {
                offset,
                impl_use_len: 32,
                len: fid_len_with_impl_use(n, 32),
            };
        }
        offset += slot.len;
        slots.push(slot);
    }
    (slots, offset)
}

/// Decodes a whole directory: FIDs one after another until the data ends. `location(offset)`
/// gives the expected tag location of the FID at that offset (for example
/// `|o| fid_location(first_block, o)`, or a constant for a directory embedded in its entry).
pub fn decode_directory(
    data: &[u8],
    location: impl Fn(usize) -> u32,
) -> Result<Vec<Fid>, DecodeError> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while off < data.len() {
        let fid = Fid::decode(&data[off..], location(off))?.value;
        off += fid.len();
        out.push(fid);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Symbolic links (ECMA-167 4/14.16; UDF 2.3.12)

/// Encodes a symbolic link target as path components (ECMA-167 4/14.16.1): each is a component
/// type, the identifier's length, a file version number 0 (UDF 2.3.12), and the identifier.
/// A leading `/` gives a root component (type 1, no identifier; UDF 2.3.12); `..` gives type 3,
/// `.` type 4, any other name type 5 with the name in CS0 (1-255 bytes). Empty components
/// (`a//b`, a trailing `/`) are dropped.
pub fn encode_symlink_target(target: &str) -> Result<Vec<u8>, NameError> {
    let mut out = Vec::new();
    let mut component = |kind: u8, name: &[u8]| {
        out.extend_from_slice(&[kind, name.len() as u8, 0, 0]);
        out.extend_from_slice(name);
    };
    if target.starts_with('/') {
        component(1, &[]);
    }
    for part in target.split('/').filter(|p| !p.is_empty()) {
        match part {
            ".." => component(3, &[]),
            "." => component(4, &[]),
            name => component(5, &encode_name(name)?),
        }
    }
    Ok(out)
}

/// Decodes path components into a `/`-separated path (types 1 and 2 give the leading `/`);
/// `None` on malformed data or unknown component types.
pub fn decode_symlink_target(data: &[u8]) -> Option<String> {
    let mut absolute = false;
    let mut parts: Vec<String> = Vec::new();
    let mut off = 0usize;
    while off < data.len() {
        let kind = *data.get(off)?;
        let len = *data.get(off + 1)? as usize;
        let ident = data.get(off + 4..off + 4 + len)?;
        match kind {
            1 | 2 if parts.is_empty() => absolute = true,
            3 => parts.push("..".into()),
            4 => parts.push(".".into()),
            5 => parts.push(decode_cs0(ident)?),
            _ => return None,
        }
        off += 4 + len;
    }
    let joined = parts.join("/");
    Some(if absolute {
        format!("/{joined}")
    } else {
        joined
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::udf::ad::ShortAd;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 250_000_000).unwrap()
    }

    fn entry(file_type: IcbFileType, allocation: Allocation) -> FileEntry {
        FileEntry {
            file_type,
            icb_flags: 0,
            uid: 1000,
            gid: NO_ID,
            permissions: permissions_from_mode(0o644),
            link_count: 1,
            info_len: 5000,
            access_time: t(1),
            modification_time: t(2),
            attribute_time: t(3),
            creation_time: t(4),
            unique_id: 16,
            device: None,
            allocation,
            continued_blocks: 0,
        }
    }

    #[test]
    fn file_entry_fields_are_the_one_decoder() {
        // An extended file entry (UDF 2.01): every field as encoded, by the shared decoder.
        let ctx = Ctx::new(UdfRevision::V2_01);
        let mut fe = entry(
            IcbFileType::CharDevice,
            Allocation::Short(vec![ShortAd::recorded(40, 5000)]),
        );
        fe.device = Some((4, 64));
        fe.icb_flags = ICB_STICKY;
        let mut b = fe.encode(&ctx, 77);
        let f = FileEntryFields::decode(&b, 77).unwrap();
        assert!(f.extended);
        assert_eq!(f.tag.ident, ident::EFE);
        assert_eq!(f.file_type, 7);
        assert_eq!(f.icb_flags, ICB_STICKY); // allocation type 0: short_ad
        assert_eq!(
            (f.uid, f.gid, f.link_count, f.info_len),
            (1000, NO_ID, 1, 5000)
        );
        assert_eq!(f.permissions, permissions_from_mode(0o644));
        assert_eq!(f.logical_blocks_recorded, 3);
        assert_eq!(f.unique_id, 16);
        let utc = |t: Option<DateTime<FixedOffset>>| t.map(|t| t.with_timezone(&Utc));
        assert_eq!(utc(f.access_time), Some(t(1)));
        assert_eq!(utc(f.modification_time), Some(t(2)));
        assert_eq!(utc(f.attribute_time), Some(t(3)));
        assert_eq!(utc(f.creation_time), Some(t(4)));
        assert_eq!(f.ad, &ShortAd::recorded(40, 5000).encode()[..]);
        assert_eq!(f.device(77), Some((4, 64)));
        // A timestamp that does not decode (month 13, ECMA-167 1/7.3): left out by the fields,
        // refused by FileEntry::decode.
        b[80 + 4] = 13;
        let len = b.len();
        finish_tag(
            &mut b,
            ident::EFE,
            ctx.tag_version(),
            ctx.serial,
            77,
            len - 16,
        );
        let f = FileEntryFields::decode(&b, 77).unwrap();
        assert_eq!(f.access_time, None);
        assert_eq!(utc(f.modification_time), Some(t(2)));
        assert_eq!(
            FileEntry::decode(&b, 77).unwrap_err(),
            DecodeError::Invalid("timestamp")
        );
        // A plain file entry (UDF 1.02) has no creation time; FileEntry::decode reports the
        // modification time (UDF 3.3.4.3).
        let ctx = Ctx::new(UdfRevision::V1_02);
        let b = entry(IcbFileType::Regular, Allocation::Embedded(b"abc".to_vec())).encode(&ctx, 9);
        let f = FileEntryFields::decode(&b, 9).unwrap();
        assert!(!f.extended);
        assert_eq!((f.icb_flags & 7, f.ad), (3, &b"abc"[..]));
        assert_eq!(f.creation_time, None);
        assert_eq!(f.device(9), None);
        let d = FileEntry::decode(&b, 9).unwrap().value;
        assert_eq!(d.creation_time, d.modification_time);
        // Not a file entry, or cut before its allocation descriptors.
        assert!(FileEntryFields::decode(&b, 10).is_err());
        assert!(FileEntryFields::decode(&b[..170], 9).is_err());
    }
}
