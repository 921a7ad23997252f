//! Partition tables for hybrid images (an ISO that also boots from a USB stick): the classic
//! MBR, the protective MBR of a GPT disk, and the GUID Partition Table (UEFI 2.10 chapter 5).
//!
//! # Units
//!
//! MBR and GPT count 512-byte sectors; ISO 9660 counts 2048-byte blocks. ISO block `b` is
//! sectors `4b ..= 4b + 3` ([`iso_block_to_sector`]), and an extent of `n` blocks is `4n`
//! sectors. The ISO's system area (blocks 0-15, bytes 0..32768) holds sectors 0-63.
//!
//! # Placement in an image of `N` blocks (`S = 4N` sectors)
//!
//! ```text
//! sector 0            MBR: mbr() (BIOS boot code + up to 4 partitions) or protective_mbr()
//! sector 1            primary GPT header            \  GptDisk::primary(), 33 sectors,
//! sectors 2..=33      primary partition entries     /  at byte 512 of the system area
//! sectors 34..        usable (ISO data from block 16 = sector 64 on)
//! sectors S-36..S-34  zero (pads the backup to whole blocks)  \  GptDisk::backup():
//! sectors S-33..S-2   backup partition entries                 |  GPT_BACKUP_BLOCKS = 9
//! sector  S-1         backup GPT header                       /   blocks at the very end
//! ```
//!
//! The primary structures fit in the system area (34 sectors = 17 KiB < 32 KiB). The backup
//! (16 KiB of entries + a 512-byte header = 33 sectors) must end at the image's last byte: the
//! layout reserves the last [`GPT_BACKUP_BLOCKS`] = ceil(33 / 4) = 9 blocks (18 KiB; the first
//! 3 sectors are zero) and nothing may follow them. The usable range is sectors 34 ..= S-34
//! (UEFI 5.3.2: between the primary entries and the backup entries).

use super::{le16, le32, le64, BootError, Result};
use crc::{Crc, CRC_32_ISO_HDLC};
use std::fmt;

/// Bytes per MBR / GPT sector (logical block size of the emulated disk).
pub const SECTOR_SIZE: usize = 512;
/// Sectors per 2048-byte ISO block.
pub const SECTORS_PER_BLOCK: u64 = 4;
/// Partition entries in a GPT array (UEFI 5.3.2: at least 16 KiB must be reserved).
pub const GPT_ENTRY_COUNT: u32 = 128;
/// Bytes per GPT partition entry.
pub const GPT_ENTRY_SIZE: u32 = 128;
/// Bytes of the partition entry array (16 KiB).
pub const GPT_ENTRIES_BYTES: usize = (GPT_ENTRY_COUNT * GPT_ENTRY_SIZE) as usize;
/// Sectors of the partition entry array (32).
pub const GPT_ENTRIES_SECTORS: u64 = (GPT_ENTRIES_BYTES / SECTOR_SIZE) as u64;
/// Sectors of the protective MBR, primary header and primary entries (34): the first usable
/// sector.
pub const GPT_PRIMARY_SECTORS: u64 = 2 + GPT_ENTRIES_SECTORS;
/// Sectors of the backup entries and header (33).
pub const GPT_BACKUP_SECTORS: u64 = GPT_ENTRIES_SECTORS + 1;
/// 2048-byte blocks the layout reserves at the end of the image for [`GptDisk::backup`]: 9.
pub const GPT_BACKUP_BLOCKS: u32 = GPT_BACKUP_SECTORS.div_ceil(SECTORS_PER_BLOCK) as u32;
/// Bytes of [`GptDisk::backup`] (9 x 2048).
pub const GPT_BACKUP_BYTES: usize = GPT_BACKUP_BLOCKS as usize * crate::BLOCK_SIZE;
/// Length of the GPT header proper (UEFI 5.3.2 table 5-5: HeaderSize = 92).
pub const GPT_HEADER_SIZE: u32 = 92;
/// Most UTF-16 code units in a GPT partition name (72 bytes, UEFI 5.3.3).
pub const GPT_NAME_UNITS: usize = 36;
/// MBR partition type of a GPT protective partition.
pub const MBR_TYPE_GPT_PROTECTIVE: u8 = 0xEE;
/// MBR partition type of an EFI system partition.
pub const MBR_TYPE_EFI: u8 = 0xEF;

/// The first 512-byte sector of ISO block `block`.
pub fn iso_block_to_sector(block: u64) -> u64 {
    block * SECTORS_PER_BLOCK
}

/// 2048-byte blocks needed for `sectors` 512-byte sectors (rounded up).
pub fn sectors_to_iso_blocks(sectors: u64) -> u64 {
    sectors.div_ceil(SECTORS_PER_BLOCK)
}

fn crc32(bytes: &[u8]) -> u32 {
    // CRC-32/ISO-HDLC: the CRC-32 of UEFI 5.3.2 (polynomial 0x04C11DB7, reflected, init and
    // xorout 0xFFFFFFFF), the same as zlib's.
    Crc::<u32>::new(&CRC_32_ISO_HDLC).checksum(bytes)
}

// ------------------------------------------------------------------------------------------------
// MBR

/// One MBR partition entry (16 bytes at 446 + 16 i).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MbrPartition {
    /// Boot indicator 0x80 (true) or 0x00.
    pub bootable: bool,
    /// Partition type ("system id"), e.g. 0x0C FAT32 LBA, 0xEF EFI, 0xEE GPT protective.
    pub partition_type: u8,
    /// First sector (LBA, 512 bytes).
    pub first_lba: u32,
    /// Length in sectors.
    pub sectors: u32,
}

/// A disk geometry for the CHS fields of MBR partition entries: heads per cylinder (1-255)
/// and sectors per head (1-63).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Heads per cylinder.
    pub heads: u8,
    /// Sectors per head (track).
    pub sectors: u8,
}

impl Default for Geometry {
    /// The conventional 255 heads and 63 sectors per track.
    fn default() -> Self {
        Geometry {
            heads: 255,
            sectors: 63,
        }
    }
}

impl Geometry {
    /// Sectors per cylinder.
    pub fn cylinder_sectors(self) -> u64 {
        u64::from(self.heads.max(1)) * u64::from(self.sectors.max(1))
    }

    /// The CHS address of `lba` packed as the MBR stores it (head; sector bits 0-5 + cylinder
    /// bits 8-9 in bits 6-7; cylinder bits 0-7), or `None` beyond cylinder 1023.
    pub fn chs(self, lba: u64) -> Option<[u8; 3]> {
        let spt = u64::from(self.sectors.max(1));
        let heads = u64::from(self.heads.max(1));
        let cylinder = lba / (heads * spt);
        if cylinder > 1023 {
            return None;
        }
        let head = (lba / spt) % heads;
        let sector = lba % spt + 1;
        Some([
            head as u8,
            (sector as u8) | (((cylinder >> 8) as u8) << 6),
            cylinder as u8,
        ])
    }

    /// [`chs`](Self::chs), or the "beyond" marker of the last cylinder 1023 with this
    /// geometry's last head and sector (FE FF FF for 255 / 63), as LBA-aware tools write it.
    pub fn chs_or_max(self, lba: u64) -> [u8; 3] {
        self.chs(lba)
            .unwrap_or([self.heads.max(1) - 1, self.sectors.max(1) | 0xC0, 0xFF])
    }
}

/// The CHS address of `lba` for the conventional geometry of 255 heads and 63 sectors per
/// track, packed as the MBR stores it (head; sector bits 0-5 + cylinder bits 8-9 in bits 6-7;
/// cylinder bits 0-7), or `None` beyond cylinder 1023 (about 8 GB).
pub fn lba_to_chs(lba: u64) -> Option<[u8; 3]> {
    Geometry::default().chs(lba)
}

fn put_mbr_entry(
    e: &mut [u8],
    bootable: bool,
    ptype: u8,
    start_chs: [u8; 3],
    end_chs: [u8; 3],
    first: u32,
    n: u32,
) {
    e[0] = if bootable { 0x80 } else { 0x00 };
    e[1..4].copy_from_slice(&start_chs);
    e[4] = ptype;
    e[5..8].copy_from_slice(&end_chs);
    e[8..12].copy_from_slice(&first.to_le_bytes());
    e[12..16].copy_from_slice(&n.to_le_bytes());
}

/// A master boot record: `boot_code` (440 bytes at 0, zeros if `None`), the 32-bit disk
/// signature at 440, two zero bytes, up to four partition entries at 446 (in order; CHS from
/// [`lba_to_chs`] or FE FF FF), and 0x55 0xAA at 510. Errors on more than four partitions or
/// on an entry with type 0 (which marks an unused slot) or no sectors.
pub fn mbr(
    boot_code: Option<&[u8; 440]>,
    disk_signature: u32,
    partitions: &[MbrPartition],
) -> Result<[u8; 512]> {
    if partitions.len() > 4 {
        return Err(BootError::Partition(format!(
            "{} MBR partitions; at most 4",
            partitions.len()
        )));
    }
    let mut slots = [None; 4];
    for (slot, p) in slots.iter_mut().zip(partitions) {
        *slot = Some(*p);
    }
    mbr_slots(boot_code, disk_signature, &slots)
}

/// [`mbr`] with each partition in its own slot (`None` leaves a slot unused), as partition
/// numbers 1-4 name them (an appended partition 2 is in slot 2 even when slot 1 is free).
pub fn mbr_slots(
    boot_code: Option<&[u8; 440]>,
    disk_signature: u32,
    slots: &[Option<MbrPartition>; 4],
) -> Result<[u8; 512]> {
    if let Some(i) = slots
        .iter()
        .position(|p| p.is_some_and(|p| p.partition_type == 0))
    {
        return Err(BootError::Partition(format!(
            "MBR partition {} has type 0 (that marks an unused entry)",
            i + 1
        )));
    }
    mbr_geometry(boot_code, disk_signature, slots, Geometry::default())
}

/// [`mbr_slots`] with the CHS fields for `geometry`. A type 0 entry is written as given (xorriso
/// writes a bootable one over the ISO beside its isohybrid GPT, and as `--mbr-force-bootable`'s
/// dummy); an entry with no sectors is an error.
pub fn mbr_geometry(
    boot_code: Option<&[u8; 440]>,
    disk_signature: u32,
    slots: &[Option<MbrPartition>; 4],
    geometry: Geometry,
) -> Result<[u8; 512]> {
    let mut s = [0u8; 512];
    if let Some(code) = boot_code {
        s[..440].copy_from_slice(code);
    }
    s[440..444].copy_from_slice(&disk_signature.to_le_bytes());
    for (i, p) in slots.iter().enumerate() {
        let Some(p) = p else { continue };
        if p.sectors == 0 {
            return Err(BootError::Partition(format!(
                "MBR partition {} has no sectors",
                i + 1
            )));
        }
        let last = u64::from(p.first_lba) + u64::from(p.sectors) - 1;
        put_mbr_entry(
            &mut s[446 + 16 * i..446 + 16 * (i + 1)],
            p.bootable,
            p.partition_type,
            geometry.chs_or_max(u64::from(p.first_lba)),
            geometry.chs_or_max(last),
            p.first_lba,
            p.sectors,
        );
    }
    s[510] = 0x55;
    s[511] = 0xAA;
    Ok(s)
}

/// The protective MBR of a GPT disk of `total_sectors` sectors (UEFI 5.2.3, table 5-4): one
/// partition record, not bootable, starting CHS 00 02 00, type 0xEE, ending CHS of the last
/// sector (FF FF FF if not representable), starting LBA 1, size `total_sectors - 1` (or
/// 0xFFFFFFFF if larger). UEFI says the boot code is unused by UEFI systems and the disk
/// signature should be zero; a hybrid image may still put BIOS boot code there.
pub fn protective_mbr(
    boot_code: Option<&[u8; 440]>,
    disk_signature: u32,
    total_sectors: u64,
) -> [u8; 512] {
    protective_mbr_geometry(
        boot_code,
        disk_signature,
        total_sectors,
        Geometry::default(),
    )
}

/// [`protective_mbr`] with the ending CHS for `geometry` (FF FF FF if not representable).
pub fn protective_mbr_geometry(
    boot_code: Option<&[u8; 440]>,
    disk_signature: u32,
    total_sectors: u64,
    geometry: Geometry,
) -> [u8; 512] {
    let mut s = [0u8; 512];
    if let Some(code) = boot_code {
        s[..440].copy_from_slice(code);
    }
    s[440..444].copy_from_slice(&disk_signature.to_le_bytes());
    let last = total_sectors.saturating_sub(1);
    let size = u32::try_from(last).unwrap_or(u32::MAX);
    put_mbr_entry(
        &mut s[446..462],
        false,
        MBR_TYPE_GPT_PROTECTIVE,
        [0x00, 0x02, 0x00],
        geometry.chs(last).unwrap_or([0xFF, 0xFF, 0xFF]),
        1,
        size,
    );
    s[510] = 0x55;
    s[511] = 0xAA;
    s
}

/// A decoded MBR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mbr {
    /// Bytes 0..440.
    pub boot_code: Vec<u8>,
    /// Bytes 440..444 (little-endian).
    pub disk_signature: u32,
    /// The four entries; `None` where the type is 0.
    pub partitions: [Option<MbrPartition>; 4],
}

/// Decodes the first sector of a disk as an MBR (checking 0x55AA; boot indicators must be 0x00
/// or 0x80). Never panics.
pub fn decode_mbr(b: &[u8]) -> Result<Mbr> {
    const S: &str = "MBR";
    if b.len() < 512 {
        return Err(BootError::malformed(S, b.len(), "shorter than 512 bytes"));
    }
    if b[510] != 0x55 || b[511] != 0xAA {
        return Err(BootError::malformed(S, 510, "no 0x55AA signature"));
    }
    let mut partitions = [None; 4];
    for (i, slot) in partitions.iter_mut().enumerate() {
        let at = 446 + 16 * i;
        let e = &b[at..at + 16];
        if e[0] != 0 && e[0] != 0x80 {
            return Err(BootError::malformed(
                S,
                at,
                format!("boot indicator {:#04x}", e[0]),
            ));
        }
        if e[4] != 0 {
            *slot = Some(MbrPartition {
                bootable: e[0] == 0x80,
                partition_type: e[4],
                first_lba: le32(e, 8),
                sectors: le32(e, 12),
            });
        }
    }
    Ok(Mbr {
        boot_code: b[..440].to_vec(),
        disk_signature: le32(b, 440),
        partitions,
    })
}

// ------------------------------------------------------------------------------------------------
// GUIDs

/// A GUID in its on-disk byte order (UEFI appendix A: the first three fields little-endian,
/// the last eight bytes as written), e.g. C12A7328-F81F-11D2-BA4B-00A0C93EC93B is stored
/// `28 73 2A C1 1F F8 D2 11 BA 4B 00 A0 C9 3E C9 3B`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// The all-zero GUID (an unused GPT entry).
    pub const NIL: Guid = Guid([0; 16]);

    /// From the canonical fields `d1-d2-d3-d4[0..2]-d4[2..8]`.
    pub const fn from_fields(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> Guid {
        let a = d1.to_le_bytes();
        let b = d2.to_le_bytes();
        let c = d3.to_le_bytes();
        Guid([
            a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4],
            d4[5], d4[6], d4[7],
        ])
    }

    /// Parses `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX` (either case).
    pub fn parse(s: &str) -> Option<Guid> {
        let parts: Vec<&str> = s.split('-').collect();
        let lens = [8, 4, 4, 4, 12];
        if parts.len() != 5 || parts.iter().zip(lens).any(|(p, l)| p.len() != l) {
            return None;
        }
        let hex: String = parts.concat();
        let mut v = [0u8; 16];
        for (i, byte) in v.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        let d1 = u32::from_be_bytes([v[0], v[1], v[2], v[3]]);
        let d2 = u16::from_be_bytes([v[4], v[5]]);
        let d3 = u16::from_be_bytes([v[6], v[7]]);
        let mut d4 = [0u8; 8];
        d4.copy_from_slice(&v[8..]);
        Some(Guid::from_fields(d1, d2, d3, d4))
    }

    /// A reproducible GUID from a caller's `seed` and an `index` (0 for the disk, 1.. for
    /// partitions, say): no randomness, so the same inputs give byte-identical images. The
    /// bits come from splitmix64 and are marked as an RFC 9562 version 8 ("custom") UUID with
    /// the RFC variant, so they never collide with random (version 4) GUIDs by construction.
    pub fn deterministic(seed: u64, index: u64) -> Guid {
        fn splitmix(x: &mut u64) -> u64 {
            *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = *x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        let mut state = seed ^ index.wrapping_mul(0xD6E8_FEB8_6659_FD93) ^ 0x676C_6173_736D_6173;
        let mut g = [0u8; 16];
        g[..8].copy_from_slice(&splitmix(&mut state).to_le_bytes());
        g[8..].copy_from_slice(&splitmix(&mut state).to_le_bytes());
        // Version: high nibble of d3 (stored little-endian at 6..8, so byte 7).
        g[7] = (g[7] & 0x0F) | 0x80;
        // Variant 10x: top bits of d4[0] (byte 8).
        g[8] = (g[8] & 0x3F) | 0x80;
        Guid(g)
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = &self.0;
        write!(
            f,
            "{:08X}-{:04X}-{:04X}-{:02X}{:02X}-",
            le32(g, 0),
            le16(g, 4),
            le16(g, 6),
            g[8],
            g[9]
        )?;
        for b in &g[10..] {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

/// Well-known GPT partition type GUIDs.
pub mod type_guid {
    use super::Guid;
    /// EFI system partition C12A7328-F81F-11D2-BA4B-00A0C93EC93B (UEFI 5.3.3 table 5-7).
    pub const EFI_SYSTEM: Guid = Guid::from_fields(
        0xC12A_7328,
        0xF81F,
        0x11D2,
        [0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B],
    );
    /// Microsoft basic data EBD0A0A2-B9E5-4433-87C0-68B6B72699C7. There is no registered type
    /// for an ISO 9660 file system: xorriso 1.5.4 uses this one for the partition that covers
    /// the ISO (named "ISO9660"), and so should we.
    pub const BASIC_DATA: Guid = Guid::from_fields(
        0xEBD0_A0A2,
        0xB9E5,
        0x4433,
        [0x87, 0xC0, 0x68, 0xB6, 0xB7, 0x26, 0x99, 0xC7],
    );
    /// The type to use for the partition that exposes the ISO 9660 file system: [`BASIC_DATA`].
    pub const ISO9660: Guid = BASIC_DATA;
    /// Linux filesystem data 0FC63DAF-8483-4772-8E79-3D69D8477DE4.
    pub const LINUX_FILESYSTEM: Guid = Guid::from_fields(
        0x0FC6_3DAF,
        0x8483,
        0x4772,
        [0x8E, 0x79, 0x3D, 0x69, 0xD8, 0x47, 0x7D, 0xE4],
    );
    /// Apple HFS+ 48465300-0000-11AA-AA11-00306543ECAC.
    pub const HFS_PLUS: Guid = Guid::from_fields(
        0x4846_5300,
        0x0000,
        0x11AA,
        [0xAA, 0x11, 0x00, 0x30, 0x65, 0x43, 0xEC, 0xAC],
    );
    /// BIOS boot partition 21686148-6449-6E6F-744E-656564454649 (GRUB's core image).
    pub const BIOS_BOOT: Guid = Guid::from_fields(
        0x2168_6148,
        0x6449,
        0x6E6F,
        [0x74, 0x4E, 0x65, 0x65, 0x64, 0x45, 0x46, 0x49],
    );
}

// ------------------------------------------------------------------------------------------------
// GPT

/// One GPT partition entry (UEFI 5.3.3, table 5-6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GptPartition {
    /// Partition type ([`type_guid`]).
    pub type_guid: Guid,
    /// Unique partition GUID ([`Guid::deterministic`]).
    pub unique_guid: Guid,
    /// First sector (512 bytes).
    pub first_lba: u64,
    /// Last sector, inclusive.
    pub last_lba: u64,
    /// Attribute bits (bit 0 required, bit 1 no block IO protocol, bit 2 legacy BIOS bootable,
    /// 48-63 type-specific: for basic data, 60 read-only, 62 hidden, 63 no drive letter).
    pub attributes: u64,
    /// Name, at most [`GPT_NAME_UNITS`] UTF-16 code units; stored UTF-16LE, zero-padded.
    pub name: String,
}

/// The partition entry array: 128 entries of 128 bytes (16 KiB); entries past `parts` are zero
/// (unused: type GUID all zero). Errors on more than 128 partitions or a name over 36 UTF-16
/// units.
pub fn gpt_entries(parts: &[GptPartition]) -> Result<Vec<u8>> {
    if parts.len() > GPT_ENTRY_COUNT as usize {
        return Err(BootError::Partition(format!(
            "{} GPT partitions; at most 128",
            parts.len()
        )));
    }
    let mut out = vec![0u8; GPT_ENTRIES_BYTES];
    for (i, p) in parts.iter().enumerate() {
        let e = &mut out[128 * i..128 * (i + 1)];
        e[0..16].copy_from_slice(&p.type_guid.0);
        e[16..32].copy_from_slice(&p.unique_guid.0);
        e[32..40].copy_from_slice(&p.first_lba.to_le_bytes());
        e[40..48].copy_from_slice(&p.last_lba.to_le_bytes());
        e[48..56].copy_from_slice(&p.attributes.to_le_bytes());
        let units: Vec<u16> = p.name.encode_utf16().collect();
        if units.len() > GPT_NAME_UNITS {
            return Err(BootError::Partition(format!(
                "GPT partition name {:?} is {} UTF-16 units; at most 36",
                p.name,
                units.len()
            )));
        }
        for (k, u) in units.iter().enumerate() {
            e[56 + 2 * k..58 + 2 * k].copy_from_slice(&u.to_le_bytes());
        }
    }
    Ok(out)
}

/// The CRC32 of an entry array (for [`GptHeader::entries_crc32`]).
pub fn gpt_entries_crc32(entries: &[u8]) -> u32 {
    crc32(entries)
}

/// The fields of a GPT header (UEFI 5.3.2, table 5-5). Signature "EFI PART", revision 1.0 and
/// header size 92 are fixed; the header CRC is computed by [`gpt_header`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GptHeader {
    /// The sector holding this header (1 for the primary, the last sector for the backup).
    pub my_lba: u64,
    /// The sector of the other header.
    pub alternate_lba: u64,
    /// First sector partitions may use.
    pub first_usable_lba: u64,
    /// Last sector partitions may use (inclusive).
    pub last_usable_lba: u64,
    /// The disk's GUID.
    pub disk_guid: Guid,
    /// First sector of this header's partition entry array.
    pub entries_lba: u64,
    /// Entries in the array (128).
    pub entry_count: u32,
    /// Bytes per entry (128).
    pub entry_size: u32,
    /// CRC32 of the whole array (`entry_count * entry_size` bytes).
    pub entries_crc32: u32,
}

/// Encodes a GPT header into a 512-byte sector (the bytes after 92 are zero) with its CRC32
/// over the 92 header bytes, computed with the CRC field zero (UEFI 5.3.2).
pub fn gpt_header(h: &GptHeader) -> [u8; 512] {
    let mut s = [0u8; 512];
    s[0..8].copy_from_slice(b"EFI PART");
    s[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
    s[12..16].copy_from_slice(&GPT_HEADER_SIZE.to_le_bytes());
    // 16..20 header CRC, 20..24 reserved (0)
    s[24..32].copy_from_slice(&h.my_lba.to_le_bytes());
    s[32..40].copy_from_slice(&h.alternate_lba.to_le_bytes());
    s[40..48].copy_from_slice(&h.first_usable_lba.to_le_bytes());
    s[48..56].copy_from_slice(&h.last_usable_lba.to_le_bytes());
    s[56..72].copy_from_slice(&h.disk_guid.0);
    s[72..80].copy_from_slice(&h.entries_lba.to_le_bytes());
    s[80..84].copy_from_slice(&h.entry_count.to_le_bytes());
    s[84..88].copy_from_slice(&h.entry_size.to_le_bytes());
    s[88..92].copy_from_slice(&h.entries_crc32.to_le_bytes());
    let crc = crc32(&s[..GPT_HEADER_SIZE as usize]);
    s[16..20].copy_from_slice(&crc.to_le_bytes());
    s
}

/// Decodes a GPT header sector, verifying the signature, a header size between 92 and 512 and
/// the header CRC32. The caller checks `my_lba` against where it read the header and the
/// entries with [`decode_gpt_entries`]. Never panics.
pub fn decode_gpt_header(b: &[u8]) -> Result<GptHeader> {
    const S: &str = "GPT header";
    if b.len() < GPT_HEADER_SIZE as usize {
        return Err(BootError::malformed(S, b.len(), "shorter than 92 bytes"));
    }
    if &b[0..8] != b"EFI PART" {
        return Err(BootError::malformed(S, 0, "no \"EFI PART\" signature"));
    }
    let size = le32(b, 12);
    if size < GPT_HEADER_SIZE || size as usize > b.len().min(SECTOR_SIZE) {
        return Err(BootError::malformed(S, 12, format!("header size {size}")));
    }
    let mut copy = b[..size as usize].to_vec();
    copy[16..20].fill(0);
    let want = le32(b, 16);
    let got = crc32(&copy);
    if want != got {
        return Err(BootError::malformed(
            S,
            16,
            format!("header CRC32 is {want:#010x}, computed {got:#010x}"),
        ));
    }
    let mut disk_guid = [0u8; 16];
    disk_guid.copy_from_slice(&b[56..72]);
    Ok(GptHeader {
        my_lba: le64(b, 24),
        alternate_lba: le64(b, 32),
        first_usable_lba: le64(b, 40),
        last_usable_lba: le64(b, 48),
        disk_guid: Guid(disk_guid),
        entries_lba: le64(b, 72),
        entry_count: le32(b, 80),
        entry_size: le32(b, 84),
        entries_crc32: le32(b, 88),
    })
}

/// Decodes the partition entry array described by `h` from `b` (its bytes, at least
/// `entry_count * entry_size`), verifying its CRC32. Returns the used entries (type GUID not
/// zero) with their index. Entry sizes must be 128 x 2^n (UEFI 5.3.2); arrays over 1 MiB are
/// refused. Never panics.
pub fn decode_gpt_entries(b: &[u8], h: &GptHeader) -> Result<Vec<(u32, GptPartition)>> {
    const S: &str = "GPT partition entries";
    let size = h.entry_size as usize;
    if size < 128 || !size.is_power_of_two() {
        return Err(BootError::malformed(S, 0, format!("entry size {size}")));
    }
    let total = (h.entry_count as usize).saturating_mul(size);
    if total > 1 << 20 {
        return Err(BootError::malformed(
            S,
            0,
            format!("{total} bytes of entries"),
        ));
    }
    if b.len() < total {
        return Err(BootError::malformed(
            S,
            b.len(),
            format!("needs {total} bytes"),
        ));
    }
    let got = crc32(&b[..total]);
    if got != h.entries_crc32 {
        return Err(BootError::malformed(
            S,
            0,
            format!(
                "entries CRC32 is {:#010x}, computed {got:#010x}",
                h.entries_crc32
            ),
        ));
    }
    let mut out = Vec::new();
    for i in 0..h.entry_count as usize {
        let e = &b[i * size..i * size + 128];
        if e[..16].iter().all(|&x| x == 0) {
            continue;
        }
        let mut t = [0u8; 16];
        t.copy_from_slice(&e[0..16]);
        let mut u = [0u8; 16];
        u.copy_from_slice(&e[16..32]);
        let units: Vec<u16> = e[56..128]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take_while(|&c| c != 0)
            .collect();
        out.push((
            i as u32,
            GptPartition {
                type_guid: Guid(t),
                unique_guid: Guid(u),
                first_lba: le64(e, 32),
                last_lba: le64(e, 40),
                attributes: le64(e, 48),
                name: String::from_utf16_lossy(&units),
            },
        ));
    }
    Ok(out)
}

/// A whole GPT disk: everything needed to encode the primary and backup tables. The usable
/// range is fixed at sectors 34 ..= S-34 (S = `total_sectors`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GptDisk {
    /// Disk GUID ([`Guid::deterministic`]).
    pub disk_guid: Guid,
    /// Sectors (512 bytes) of the whole image: 4 x the image's block count.
    pub total_sectors: u64,
    /// The partitions, in entry order.
    pub partitions: Vec<GptPartition>,
}

impl GptDisk {
    /// First usable sector: 34 (after the protective MBR, primary header and 32 entry sectors).
    pub fn first_usable(&self) -> u64 {
        GPT_PRIMARY_SECTORS
    }

    /// Last usable sector: the one before the backup entries (S - 34).
    pub fn last_usable(&self) -> u64 {
        self.backup_entries_lba() - 1
    }

    /// Sector of the backup header: the last one.
    pub fn backup_header_lba(&self) -> u64 {
        self.total_sectors - 1
    }

    /// First sector of the backup entries (S - 33).
    pub fn backup_entries_lba(&self) -> u64 {
        self.total_sectors - GPT_BACKUP_SECTORS
    }

    /// Checks the disk: large enough for both tables and one usable sector, at most 128
    /// partitions, each inside the usable range, first <= last, names fit, no two
    /// overlapping.
    pub fn validate(&self) -> Result<()> {
        if self.total_sectors < GPT_PRIMARY_SECTORS + GPT_BACKUP_SECTORS + 1 {
            return Err(BootError::Partition(format!(
                "a GPT disk needs at least 68 sectors; this one has {}",
                self.total_sectors
            )));
        }
        if self.partitions.len() > GPT_ENTRY_COUNT as usize {
            return Err(BootError::Partition(format!(
                "{} GPT partitions; at most 128",
                self.partitions.len()
            )));
        }
        let (lo, hi) = (self.first_usable(), self.last_usable());
        for (i, p) in self.partitions.iter().enumerate() {
            if p.type_guid == Guid::NIL {
                return Err(BootError::Partition(format!(
                    "GPT partition {} has the nil type GUID (unused)",
                    i + 1
                )));
            }
            if p.first_lba > p.last_lba || p.first_lba < lo || p.last_lba > hi {
                return Err(BootError::Partition(format!(
                    "GPT partition {} ({}..={}) is not inside the usable sectors {lo}..={hi}",
                    i + 1,
                    p.first_lba,
                    p.last_lba
                )));
            }
            for (j, q) in self.partitions.iter().enumerate().take(i) {
                if p.first_lba <= q.last_lba && q.first_lba <= p.last_lba {
                    return Err(BootError::Partition(format!(
                        "GPT partitions {} and {} overlap",
                        j + 1,
                        i + 1
                    )));
                }
            }
        }
        Ok(())
    }

    fn header(&self, primary: bool, entries_crc32: u32) -> [u8; 512] {
        self.header_entries_at(primary, entries_crc32, 2)
    }

    /// The header with the primary entry array at sector `primary_entries` (2, or after an
    /// Apple Partition Map); the first usable sector follows that array.
    fn header_entries_at(
        &self,
        primary: bool,
        entries_crc32: u32,
        primary_entries: u64,
    ) -> [u8; 512] {
        let (my, alt, entries) = if primary {
            (1, self.backup_header_lba(), primary_entries)
        } else {
            (self.backup_header_lba(), 1, self.backup_entries_lba())
        };
        gpt_header(&GptHeader {
            my_lba: my,
            alternate_lba: alt,
            first_usable_lba: self
                .first_usable()
                .max(primary_entries + GPT_ENTRIES_SECTORS),
            last_usable_lba: self.last_usable(),
            disk_guid: self.disk_guid,
            entries_lba: entries,
            entry_count: GPT_ENTRY_COUNT,
            entry_size: GPT_ENTRY_SIZE,
            entries_crc32,
        })
    }

    /// Sectors 1..=33: the primary header then the 16 KiB entry array (16,896 bytes), to be
    /// placed at byte 512 of the image, after the (protective or hybrid) MBR.
    pub fn primary(&self) -> Result<Vec<u8>> {
        self.validate()?;
        let entries = gpt_entries(&self.partitions)?;
        let mut out = self.header(true, crc32(&entries)).to_vec();
        out.extend_from_slice(&entries);
        Ok(out)
    }

    /// The backup entries then the backup header (33 sectors, 16,896 bytes), to be placed at
    /// sector S-33 so that they end the disk. For disks that are not whole ISO blocks.
    pub fn backup_sectors(&self) -> Result<Vec<u8>> {
        self.validate()?;
        let mut out = gpt_entries(&self.partitions)?;
        let h = self.header(false, crc32(&out));
        out.extend_from_slice(&h);
        Ok(out)
    }

    /// [`primary`](Self::primary) with the entry array at sector `entries_lba` instead of 2,
    /// as beside an Apple Partition Map, whose entries take the 2048-byte blocks after the
    /// header's (`apm::gpt_entries_sector`): the header sector, then the entries to place at
    /// sector `entries_lba`. The first usable sector is the one after the array (UEFI 5.3.2:
    /// the array lies before it), so the partitions must start there or later.
    pub fn primary_entries_at(&self, entries_lba: u64) -> Result<([u8; 512], Vec<u8>)> {
        self.validate_entries_at(entries_lba)?;
        let entries = gpt_entries(&self.partitions)?;
        let header = self.header_entries_at(true, crc32(&entries), entries_lba);
        Ok((header, entries))
    }

    /// [`backup`](Self::backup) for a primary array at sector `entries_lba` (the headers
    /// agree on the first usable sector).
    pub fn backup_entries_at(&self, entries_lba: u64) -> Result<Vec<u8>> {
        self.validate_entries_at(entries_lba)?;
        if self.total_sectors % SECTORS_PER_BLOCK != 0 {
            return Err(BootError::Partition(format!(
                "{} sectors is not a whole number of 2048-byte blocks",
                self.total_sectors
            )));
        }
        let mut tail = gpt_entries(&self.partitions)?;
        let h = self.header_entries_at(false, crc32(&tail), entries_lba);
        tail.extend_from_slice(&h);
        let mut out = vec![0u8; GPT_BACKUP_BYTES - tail.len()];
        out.extend_from_slice(&tail);
        Ok(out)
    }

    fn validate_entries_at(&self, entries_lba: u64) -> Result<()> {
        self.validate()?;
        let first = self.first_usable().max(entries_lba + GPT_ENTRIES_SECTORS);
        if entries_lba < 2 || self.partitions.iter().any(|p| p.first_lba < first) {
            return Err(BootError::Partition(format!(
                "GPT entries at sector {entries_lba}: a partition starts before the first usable sector {first}"
            )));
        }
        Ok(())
    }

    /// The last [`GPT_BACKUP_BLOCKS`] (9) blocks of the image: 1,536 zero bytes, the backup
    /// entries, the backup header ([`GPT_BACKUP_BYTES`] = 18,432 bytes). `total_sectors` must
    /// be a multiple of 4 (whole blocks).
    pub fn backup(&self) -> Result<Vec<u8>> {
        if self.total_sectors % SECTORS_PER_BLOCK != 0 {
            return Err(BootError::Partition(format!(
                "{} sectors is not a whole number of 2048-byte blocks",
                self.total_sectors
            )));
        }
        let tail = self.backup_sectors()?;
        let mut out = vec![0u8; GPT_BACKUP_BYTES - tail.len()];
        out.extend_from_slice(&tail);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_the_standard_one() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn guid_mixed_endian() {
        assert_eq!(
            type_guid::EFI_SYSTEM.0,
            [
                0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11, 0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E,
                0xC9, 0x3B
            ]
        );
        assert_eq!(
            type_guid::EFI_SYSTEM.to_string(),
            "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
        );
        assert_eq!(
            type_guid::BASIC_DATA.to_string(),
            "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
        );
        assert_eq!(
            type_guid::LINUX_FILESYSTEM.to_string(),
            "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
        );
        assert_eq!(
            type_guid::BIOS_BOOT.to_string(),
            "21686148-6449-6E6F-744E-656564454649"
        );
        assert_eq!(
            Guid::parse("c12a7328-f81f-11d2-ba4b-00a0c93ec93b"),
            Some(type_guid::EFI_SYSTEM)
        );
        assert_eq!(Guid::parse("c12a7328-f81f-11d2-ba4b-00a0c93ec93"), None);
        assert_eq!(Guid::parse("g12a7328-f81f-11d2-ba4b-00a0c93ec93b"), None);
        assert_eq!(Guid::parse("c12a7328f-81f-11d2-ba4b-00a0c93ec93b"), None);
    }

    #[test]
    fn deterministic_guids() {
        let a = Guid::deterministic(42, 0);
        assert_eq!(a, Guid::deterministic(42, 0));
        assert_ne!(a, Guid::deterministic(42, 1));
        assert_ne!(a, Guid::deterministic(43, 0));
        let s = a.to_string();
        assert_eq!(&s[14..15], "8", "version 8: {s}");
        assert!(matches!(&s[19..20], "8" | "9" | "A" | "B"), "variant: {s}");
        assert_eq!(Guid::parse(&s), Some(a));
    }

    #[test]
    fn chs() {
        assert_eq!(lba_to_chs(0), Some([0, 1, 0]));
        assert_eq!(lba_to_chs(1), Some([0, 2, 0]));
        assert_eq!(lba_to_chs(62), Some([0, 63, 0]));
        assert_eq!(lba_to_chs(63), Some([1, 1, 0]));
        // Cylinder 1 starts at 255 * 63 = 16065.
        assert_eq!(lba_to_chs(16065), Some([0, 1, 1]));
        // Cylinder 256: bits 8-9 go to the top of the sector byte.
        assert_eq!(lba_to_chs(256 * 16065), Some([0, 0x41, 0]));
        assert_eq!(lba_to_chs(1024 * 16065 - 1), Some([254, 0xFF, 0xFF]));
        assert_eq!(lba_to_chs(1024 * 16065), None);
    }

    #[test]
    fn mbr_bytes_and_round_trip() {
        let code = [0x90u8; 440];
        let parts = [MbrPartition {
            bootable: true,
            partition_type: 0x0C,
            first_lba: 2048,
            sectors: 4096,
        }];
        let s = mbr(Some(&code), 0xDEAD_BEEF, &parts).unwrap();
        assert_eq!(&s[440..446], &[0xEF, 0xBE, 0xAD, 0xDE, 0, 0]);
        // 2048 = 0 * 16065 + 32 * 63 + 32 -> H 32, S 33, C 0; 6143 = 97 * 63 + 32 -> H 97, S 33.
        assert_eq!(
            &s[446..462],
            &[0x80, 32, 33, 0, 0x0C, 97, 33, 0, 0x00, 0x08, 0, 0, 0x00, 0x10, 0, 0]
        );
        assert_eq!(&s[510..], &[0x55, 0xAA]);
        let d = decode_mbr(&s).unwrap();
        assert_eq!(d.partitions, [Some(parts[0]), None, None, None]);
        assert_eq!(d.disk_signature, 0xDEAD_BEEF);
        assert_eq!(d.boot_code, code.to_vec());
        // Beyond 8 GB: FE FF FF.
        let far = mbr(
            None,
            0,
            &[MbrPartition {
                bootable: false,
                partition_type: 0x83,
                first_lba: 0x1000_0000,
                sectors: 8,
            }],
        )
        .unwrap();
        assert_eq!(&far[447..450], &[0xFE, 0xFF, 0xFF]);
        assert_eq!(&far[451..454], &[0xFE, 0xFF, 0xFF]);
        assert!(mbr(None, 0, &[parts[0]; 5]).is_err());
        assert!(mbr(
            None,
            0,
            &[MbrPartition {
                partition_type: 0,
                ..parts[0]
            }]
        )
        .is_err());
        assert!(decode_mbr(&s[..511]).is_err());
        let mut bad = s;
        bad[511] = 0;
        assert!(decode_mbr(&bad).is_err());
    }

    #[test]
    fn protective_mbr_fields() {
        let s = protective_mbr(None, 0, 2048);
        assert_eq!(
            &s[446..462],
            &[0x00, 0x00, 0x02, 0x00, 0xEE, 32, 32, 0, 1, 0, 0, 0, 0xFF, 0x07, 0, 0]
        );
        let big = protective_mbr(None, 0, 1 << 40);
        assert_eq!(&big[451..454], &[0xFF, 0xFF, 0xFF]);
        assert_eq!(&big[458..462], &[0xFF; 4]);
    }

    fn disk() -> GptDisk {
        GptDisk {
            disk_guid: Guid::deterministic(7, 0),
            total_sectors: 8192,
            partitions: vec![
                GptPartition {
                    type_guid: type_guid::EFI_SYSTEM,
                    unique_guid: Guid::deterministic(7, 1),
                    first_lba: 2048,
                    last_lba: 4095,
                    attributes: 0,
                    name: "EFI system".into(),
                },
                GptPartition {
                    type_guid: type_guid::ISO9660,
                    unique_guid: Guid::deterministic(7, 2),
                    first_lba: 4096,
                    last_lba: 8192 - 34,
                    attributes: 1 << 60,
                    name: "ISO9660".into(),
                },
            ],
        }
    }

    #[test]
    fn gpt_round_trip() {
        let d = disk();
        let primary = d.primary().unwrap();
        assert_eq!(primary.len(), 33 * 512);
        let h = decode_gpt_header(&primary[..512]).unwrap();
        assert_eq!(
            h,
            GptHeader {
                my_lba: 1,
                alternate_lba: 8191,
                first_usable_lba: 34,
                last_usable_lba: 8158,
                disk_guid: d.disk_guid,
                entries_lba: 2,
                entry_count: 128,
                entry_size: 128,
                entries_crc32: crc32(&primary[512..]),
            }
        );
        assert_eq!(&primary[..16], b"EFI PART\x00\x00\x01\x00\x5c\x00\x00\x00");
        let parts = decode_gpt_entries(&primary[512..], &h).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], (0, d.partitions[0].clone()));
        assert_eq!(parts[1], (1, d.partitions[1].clone()));

        let backup = d.backup().unwrap();
        assert_eq!(backup.len(), GPT_BACKUP_BYTES);
        assert_eq!(GPT_BACKUP_BLOCKS, 9);
        assert!(backup[..1536].iter().all(|&b| b == 0));
        let bh = decode_gpt_header(&backup[GPT_BACKUP_BYTES - 512..]).unwrap();
        assert_eq!(
            (bh.my_lba, bh.alternate_lba, bh.entries_lba),
            (8191, 1, 8192 - 33)
        );
        assert_eq!(bh.entries_crc32, h.entries_crc32);
        assert_eq!(&backup[1536..GPT_BACKUP_BYTES - 512], &primary[512..]);

        // Corruption is detected.
        let mut bad = primary.clone();
        bad[40] ^= 1;
        assert!(decode_gpt_header(&bad[..512]).is_err());
        let mut bad = primary.clone();
        bad[600] ^= 1;
        assert!(decode_gpt_entries(&bad[512..], &h).is_err());
    }

    #[test]
    fn gpt_validation() {
        let mut d = disk();
        d.partitions[1].last_lba = 8192 - 33;
        assert!(d.primary().is_err(), "overlaps the backup entries");
        let mut d = disk();
        d.partitions[1].first_lba = 4095;
        assert!(d.primary().unwrap_err().to_string().contains("overlap"));
        let mut d = disk();
        d.partitions[0].name = "x".repeat(37);
        assert!(d.primary().is_err());
        d.partitions[0].name = "é".repeat(36);
        assert!(d.primary().is_ok());
        let mut d = disk();
        d.total_sectors = 8190;
        d.partitions.pop();
        assert!(d.backup().is_err());
        assert_eq!(d.backup_sectors().unwrap().len(), 33 * 512);
        d.total_sectors = 67;
        d.partitions.clear();
        assert!(d.primary().is_err());
    }

    #[test]
    fn units() {
        assert_eq!(iso_block_to_sector(16), 64);
        assert_eq!(sectors_to_iso_blocks(33), 9);
        assert_eq!(sectors_to_iso_blocks(32), 8);
    }

    proptest::proptest! {
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..1100)) {
            let _ = decode_mbr(&bytes);
            if let Ok(h) = decode_gpt_header(&bytes) {
                let _ = decode_gpt_entries(&bytes, &h);
            }
            let mut b = bytes.clone();
            if b.len() >= 92 {
                b[..8].copy_from_slice(b"EFI PART");
                let _ = decode_gpt_header(&b);
            }
            let h = GptHeader {
                my_lba: 1, alternate_lba: 2, first_usable_lba: 3, last_usable_lba: 4,
                disk_guid: Guid::NIL, entries_lba: 2, entry_count: (bytes.len() / 128) as u32,
                entry_size: 128, entries_crc32: crc32(&bytes[..bytes.len() / 128 * 128]),
            };
            let _ = decode_gpt_entries(&bytes, &h);
        }
    }
}
