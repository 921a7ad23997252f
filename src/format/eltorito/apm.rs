//! Apple Partition Map (APM), the partition table of Apple disks, as hybrid ISO images carry it
//! beside the MBR and GPT so that Intel Macs see the EFI boot image (or appended partitions) as
//! partitions when the image is written to a USB stick.
//!
//! Source: Apple, "Inside Macintosh: Devices" (1994), chapter 3 "SCSI Manager", sections
//! "Driver Descriptor Map" and "Partition Map Entry" (cited as "IM:D DDM" and "IM:D PME").
//! All numbers are big-endian.
//!
//! # Layout in the system area
//!
//! The map counts blocks of [`ApmBlockSize`] bytes (512, or 2048 = the ISO block).
//!
//! ```text
//! block 0            Driver Descriptor Map: "ER" at byte 0, sbBlkSize at byte 2 (IM:D DDM).
//!                    It shares the first bytes with the MBR's boot code, so only a few
//!                    bytes are written ([`DdmStyle`]); the MBR partition table at 446 and
//!                    (2048-byte blocks) the GPT header at byte 512 stay as they are.
//! blocks 1..=n       one partition map entry per block ("PM", IM:D PME): entry 1 describes the
//!                    map itself (Apple_partition_map), then the partitions in disk order
//! ```
//!
//! With a GPT beside it the blocks must be 2048 bytes (the GPT header is at byte 512, inside
//! block 0), and the GPT's entry array moves behind the map ([`gpt_entries_sector`]).
//!
//! # The forms xorriso writes (and this module reproduces)
//!
//! - `-isohybrid-apm-hfsplus`: 2048-byte blocks, one "EFI" entry of type "Apple_HFS" per marked
//!   El Torito boot image, no gap fillers; block 0 starts with a 32-byte header mock-up that is
//!   also harmless x86 code ([`DdmStyle::IsohybridMockup`]) and replaces the 32 bytes that
//!   ISOLINUX's `isohdpfx.bin` / `isohdppx.bin` keep free for it ([`has_mockup_room`]).
//! - `-appended_part_as_apm`: one "AppendedN" entry of type "Data" per appended partition;
//!   without marked boot images, the ISO 9660 blocks from block 16 up to each partition are
//!   covered by "GapN" entries of type "ISO9660_data" ([`fill_gaps`]); block 0 gets only the
//!   8-byte [`DdmStyle::Plain`] header.

use super::{BootError, Result};

/// `sbSig` of the Driver Descriptor Map (IM:D DDM): "ER".
pub const DDM_SIGNATURE: [u8; 2] = *b"ER";
/// `pmSig` of a partition map entry (IM:D PME): "PM".
pub const ENTRY_SIGNATURE: [u8; 2] = *b"PM";
/// Bytes of a partition map entry up to and including `pmProcessor` (IM:D PME: 0x88); the
/// rest of its block is zero.
pub const ENTRY_LEN: usize = 0x88;
/// Bytes of the ISO system area (blocks 0-15) the map must fit in.
pub const SYSTEM_AREA_BYTES: usize = 16 * 2048;

/// `pmPartStatus` bits (IM:D PME; the high bits as Apple's later partition headers name them).
pub mod status {
    /// Entry valid.
    pub const VALID: u32 = 0x0000_0001;
    /// Entry allocated.
    pub const ALLOCATED: u32 = 0x0000_0002;
    /// Entry in use.
    pub const IN_USE: u32 = 0x0000_0004;
    /// Partition readable.
    pub const READABLE: u32 = 0x0000_0010;
    /// Mounted at startup.
    pub const MOUNT_AT_STARTUP: u32 = 0x4000_0000;
    /// What xorriso writes for the map's own entry: valid, allocated.
    pub const MAP: u32 = VALID | ALLOCATED;
    /// What xorriso writes for data and gap entries: valid, allocated, readable (0x13).
    pub const DATA: u32 = VALID | ALLOCATED | READABLE;
    /// What xorriso writes for a marked boot image ("EFI", Apple_HFS): 0x40000013.
    pub const BOOT_IMAGE: u32 = DATA | MOUNT_AT_STARTUP;
}

/// Partition type (`pmParType`) of the map's own entry.
pub const TYPE_MAP: &str = "Apple_partition_map";
/// Partition type of a boot image marked by `-isohybrid-apm-hfsplus`.
pub const TYPE_HFS: &str = "Apple_HFS";
/// Partition type of an appended partition.
pub const TYPE_DATA: &str = "Data";
/// Partition type of a gap filler over ISO 9660 blocks.
pub const TYPE_ISO9660: &str = "ISO9660_data";

/// The map's block size (`sbBlkSize`, IM:D DDM): every start and length of the map counts
/// blocks of this size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApmBlockSize {
    /// 512-byte blocks (what Apple disks use; not possible beside a GPT).
    B512,
    /// 2048-byte blocks, the ISO 9660 block.
    #[default]
    B2048,
}

impl ApmBlockSize {
    /// Bytes per block.
    pub const fn bytes(self) -> usize {
        match self {
            ApmBlockSize::B512 => 512,
            ApmBlockSize::B2048 => 2048,
        }
    }
    /// Blocks of this size per 2048-byte ISO block (4 or 1).
    pub const fn per_iso_block(self) -> u64 {
        (2048 / self.bytes()) as u64
    }
    /// From a byte count (512 or 2048).
    pub fn from_bytes(n: u32) -> Option<Self> {
        match n {
            512 => Some(ApmBlockSize::B512),
            2048 => Some(ApmBlockSize::B2048),
            _ => None,
        }
    }
}

/// What is written over the first bytes of block 0 (which are also the MBR's boot code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DdmStyle {
    /// 8 bytes: "ER", `sbBlkSize`, then `EB 02 FF FF` in `sbBlkCount` (x86: a jump over the
    /// two FF bytes), as xorriso writes for `-appended_part_as_apm`.
    Plain,
    /// 32 bytes: "ER", `sbBlkSize` = 2048, `00 00 90 90`, then 24 zero bytes, as xorriso writes
    /// for `-isohybrid-apm-hfsplus` over the 32 bytes [`has_mockup_room`] checks.
    IsohybridMockup,
}

/// The bytes [`DdmStyle`] writes at byte 0 of the image (8 or 32 of them).
pub fn driver_descriptor(block_size: ApmBlockSize, style: DdmStyle) -> Vec<u8> {
    // IM:D DDM: sbSig (2 bytes) then sbBlkSize (2 bytes, big-endian).
    let mut out = Vec::with_capacity(32);
    out.extend_from_slice(&DDM_SIGNATURE);
    out.extend_from_slice(&(block_size.bytes() as u16).to_be_bytes());
    match style {
        DdmStyle::Plain => out.extend_from_slice(&[0xEB, 0x02, 0xFF, 0xFF]),
        DdmStyle::IsohybridMockup => {
            out.extend_from_slice(&[0x00, 0x00, 0x90, 0x90]);
            out.resize(32, 0);
        }
    }
    out
}

/// Whether MBR boot code begins with the 32 bytes that [`DdmStyle::IsohybridMockup`] replaces:
/// `33 ED` (x86 `xor bp,bp`) and 30 `90` (`nop`), as ISOLINUX's `isohdpfx.bin` and
/// `isohdppx.bin` do. Code that begins otherwise would be broken by the header.
pub fn has_mockup_room(code: &[u8]) -> bool {
    code.len() >= 32 && code[..2] == [0x33, 0xED] && code[2..32].iter().all(|&b| b == 0x90)
}

/// One partition of the map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApmPartition {
    /// First block (`pmPyPartStart`), in map blocks.
    pub start: u32,
    /// Length in map blocks (`pmPartBlkCnt`, and `pmDataCnt` as xorriso writes it).
    pub blocks: u32,
    /// `pmPartName`: at most 32 bytes of ASCII.
    pub name: String,
    /// `pmParType`: at most 32 bytes of ASCII ([`TYPE_HFS`], [`TYPE_DATA`], ...).
    pub type_name: String,
    /// `pmPartStatus` ([`status`]).
    pub status: u32,
}

impl ApmPartition {
    fn end(&self) -> u64 {
        u64::from(self.start) + u64::from(self.blocks)
    }
}

fn put_str(e: &mut [u8], at: usize, s: &str, what: &str) -> Result<()> {
    // IM:D PME: pmPartName and pmParType are 32-byte strings, zero-padded.
    if !s.is_ascii() || s.len() > 32 {
        return Err(BootError::Partition(format!(
            "Apple Partition Map {what} {s:?}: at most 32 ASCII characters"
        )));
    }
    e[at..at + s.len()].copy_from_slice(s.as_bytes());
    Ok(())
}

fn entry(block: usize, map_entries: u32, p: &ApmPartition) -> Result<Vec<u8>> {
    let mut e = vec![0u8; block];
    // IM:D PME: pmSig, pmSigPad, pmMapBlkCnt, pmPyPartStart, pmPartBlkCnt, pmPartName,
    // pmParType, pmLgDataStart (0), pmDataCnt, pmPartStatus; the boot fields stay zero.
    e[0..2].copy_from_slice(&ENTRY_SIGNATURE);
    e[4..8].copy_from_slice(&map_entries.to_be_bytes());
    e[8..12].copy_from_slice(&p.start.to_be_bytes());
    e[12..16].copy_from_slice(&p.blocks.to_be_bytes());
    put_str(&mut e, 0x10, &p.name, "partition name")?;
    put_str(&mut e, 0x30, &p.type_name, "partition type")?;
    e[0x54..0x58].copy_from_slice(&p.blocks.to_be_bytes());
    e[0x58..0x5C].copy_from_slice(&p.status.to_be_bytes());
    Ok(e)
}

/// The partition map, to be placed at block 1 (byte `block_size`): the map's own entry
/// ("Apple", [`TYPE_MAP`], blocks 1..=n) then one entry per partition in the order given, each
/// entry one block. Errors on a name or type that is not ASCII of at most 32 bytes, on
/// partitions out of disk order or overlapping (each other or the map), and when the map would
/// not end inside the system area (32 KiB).
pub fn partition_map(block_size: ApmBlockSize, parts: &[ApmPartition]) -> Result<Vec<u8>> {
    let bs = block_size.bytes();
    let n = parts.len() + 1;
    if (n + 1) * bs > SYSTEM_AREA_BYTES {
        return Err(BootError::Partition(format!(
            "{} Apple Partition Map entries of {bs} bytes do not fit in the system area",
            n
        )));
    }
    let n32 = n as u32;
    let own = ApmPartition {
        start: 1,
        blocks: n32,
        name: "Apple".into(),
        type_name: TYPE_MAP.into(),
        status: status::MAP,
    };
    let mut prev_end = own.end();
    let mut out = entry(bs, n32, &own)?;
    for (i, p) in parts.iter().enumerate() {
        if p.blocks == 0 || u64::from(p.start) < prev_end {
            return Err(BootError::Partition(format!(
                "Apple Partition Map entry {} ({}, blocks {}+{}) is empty, out of order or overlaps the one before",
                i + 2,
                p.name,
                p.start,
                p.blocks
            )));
        }
        prev_end = p.end();
        out.extend(entry(bs, n32, p)?);
    }
    Ok(out)
}

/// The 512-byte sector where a GPT's entry array goes when `map_blocks` blocks of 2048 bytes
/// (block 0 and the entries) are taken by the map: right after them, as xorriso places it
/// (one block later when it fills gaps: `reserve_extra`).
pub fn gpt_entries_sector(map_blocks: usize, reserve_extra: bool) -> u64 {
    4 * (map_blocks as u64 + u64::from(reserve_extra))
}

/// Gap fillers as xorriso makes them for `-appended_part_as_apm`: before each partition that
/// does not start where the previous one (or, for the first, the ISO 9660 data at
/// `iso_start`) ends, an entry "GapN" of type [`TYPE_ISO9660`]. `parts` must be in disk order.
pub fn fill_gaps(iso_start: u32, parts: &[ApmPartition]) -> Vec<ApmPartition> {
    let mut out = Vec::with_capacity(2 * parts.len());
    let mut cursor = u64::from(iso_start);
    let mut gaps = 0;
    for p in parts {
        if u64::from(p.start) > cursor {
            out.push(ApmPartition {
                start: cursor as u32,
                blocks: (u64::from(p.start) - cursor) as u32,
                name: format!("Gap{gaps}"),
                type_name: TYPE_ISO9660.into(),
                status: status::DATA,
            });
            gaps += 1;
        }
        cursor = cursor.max(p.end());
        out.push(p.clone());
    }
    out
}

/// A decoded Apple Partition Map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Apm {
    /// `sbBlkSize` of block 0.
    pub block_size: u16,
    /// `sbBlkCount` of block 0, as written (xorriso's header mock-ups put x86 code there).
    pub block_count: u32,
    /// Every entry, the map's own first.
    pub entries: Vec<ApmPartition>,
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Decodes the map from the first bytes of a disk (the system area): the driver descriptor
/// ("ER", a block size of 512, 1024, 2048 or 4096) and the entries from block 1, as many as
/// the first one's `pmMapBlkCnt` says, each checked for "PM". Never panics.
pub fn decode(b: &[u8]) -> Result<Apm> {
    const S: &str = "Apple Partition Map";
    if b.len() < 8 || b[..2] != DDM_SIGNATURE {
        return Err(BootError::malformed(S, 0, "no \"ER\" driver descriptor"));
    }
    let block_size = u16::from_be_bytes([b[2], b[3]]);
    if !matches!(block_size, 512 | 1024 | 2048 | 4096) {
        return Err(BootError::malformed(
            S,
            2,
            format!("block size {block_size}"),
        ));
    }
    let bs = usize::from(block_size);
    let mut entries = Vec::new();
    let mut count = 1usize;
    let mut i = 0;
    while i < count {
        let at = bs * (i + 1);
        let Some(e) = b.get(at..at + ENTRY_LEN) else {
            return Err(BootError::malformed(S, at, "entry beyond the bytes given"));
        };
        if e[..2] != ENTRY_SIGNATURE {
            return Err(BootError::malformed(S, at, "no \"PM\" signature"));
        }
        if i == 0 {
            count = be32(e, 4) as usize;
            if count == 0 || count > b.len() / bs {
                return Err(BootError::malformed(
                    S,
                    at + 4,
                    format!("{count} map entries"),
                ));
            }
        }
        entries.push(ApmPartition {
            start: be32(e, 8),
            blocks: be32(e, 12),
            name: cstr(&e[0x10..0x30]),
            type_name: cstr(&e[0x30..0x50]),
            status: be32(e, 0x58),
        });
        i += 1;
    }
    Ok(Apm {
        block_size,
        block_count: be32(b, 4),
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn efi(start: u32, blocks: u32) -> ApmPartition {
        ApmPartition {
            start,
            blocks,
            name: "EFI".into(),
            type_name: TYPE_HFS.into(),
            status: status::BOOT_IMAGE,
        }
    }

    #[test]
    fn header_styles() {
        assert_eq!(
            driver_descriptor(ApmBlockSize::B2048, DdmStyle::IsohybridMockup)[..8],
            [0x45, 0x52, 0x08, 0x00, 0x00, 0x00, 0x90, 0x90]
        );
        assert_eq!(
            driver_descriptor(ApmBlockSize::B2048, DdmStyle::IsohybridMockup).len(),
            32
        );
        assert_eq!(
            driver_descriptor(ApmBlockSize::B512, DdmStyle::Plain),
            [0x45, 0x52, 0x02, 0x00, 0xEB, 0x02, 0xFF, 0xFF]
        );
        let mut code = vec![0x90u8; 440];
        code[0] = 0x33;
        code[1] = 0xED;
        assert!(has_mockup_room(&code));
        code[5] = 0xFA;
        assert!(!has_mockup_room(&code));
        assert!(!has_mockup_room(&[0x33, 0xED]));
    }

    #[test]
    fn map_bytes_and_round_trip() {
        let map = partition_map(ApmBlockSize::B2048, &[efi(34, 720)]).unwrap();
        assert_eq!(map.len(), 2 * 2048);
        // The map's own entry: 2 entries, blocks 1..=2, status 3.
        assert_eq!(
            &map[..16],
            &[b'P', b'M', 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]
        );
        assert_eq!(&map[0x10..0x15], b"Apple");
        assert_eq!(&map[0x30..0x43], b"Apple_partition_map");
        assert_eq!(&map[0x54..0x5C], &[0, 0, 0, 2, 0, 0, 0, 3]);
        let e = &map[2048..];
        assert_eq!(
            &e[..16],
            &[b'P', b'M', 0, 0, 0, 0, 0, 2, 0, 0, 0, 0x22, 0, 0, 0x02, 0xD0]
        );
        assert_eq!(&e[0x54..0x5C], &[0, 0, 0x02, 0xD0, 0x40, 0, 0, 0x13]);
        let mut disk = driver_descriptor(ApmBlockSize::B2048, DdmStyle::IsohybridMockup);
        disk.resize(2048, 0);
        disk.extend_from_slice(&map);
        let d = decode(&disk).unwrap();
        assert_eq!(d.block_size, 2048);
        assert_eq!(d.block_count, 0x9090);
        assert_eq!(d.entries.len(), 2);
        assert_eq!(d.entries[1], efi(34, 720));
        assert_eq!(d.entries[0].type_name, TYPE_MAP);
    }

    #[test]
    fn map_checks() {
        assert!(partition_map(ApmBlockSize::B2048, &[efi(2, 5)]).is_err());
        assert!(partition_map(ApmBlockSize::B2048, &[efi(40, 5), efi(30, 5)]).is_err());
        assert!(partition_map(ApmBlockSize::B2048, &[efi(40, 0)]).is_err());
        let mut long = efi(40, 1);
        long.name = "x".repeat(33);
        assert!(partition_map(ApmBlockSize::B2048, &[long]).is_err());
        // 2048-byte blocks: block 0 and at most 15 entries in 32 KiB.
        let many: Vec<_> = (0..14).map(|i| efi(100 + 10 * i, 5)).collect();
        assert!(partition_map(ApmBlockSize::B2048, &many).is_ok());
        let many: Vec<_> = (0..15).map(|i| efi(100 + 10 * i, 5)).collect();
        assert!(partition_map(ApmBlockSize::B2048, &many).is_err());
    }

    #[test]
    fn gaps_as_xorriso_fills_them() {
        let app = ApmPartition {
            start: 4096,
            blocks: 2880,
            name: "Appended2".into(),
            type_name: TYPE_DATA.into(),
            status: status::DATA,
        };
        let filled = fill_gaps(64, std::slice::from_ref(&app));
        assert_eq!(filled.len(), 2);
        assert_eq!(
            (filled[0].start, filled[0].blocks, filled[0].name.as_str()),
            (64, 4032, "Gap0")
        );
        assert_eq!(filled[0].type_name, TYPE_ISO9660);
        assert_eq!(filled[1], app);
        assert_eq!(fill_gaps(4096, std::slice::from_ref(&app)), vec![app]);
        assert_eq!(gpt_entries_sector(3, false), 12);
        assert_eq!(gpt_entries_sector(4, true), 20);
    }

    proptest::proptest! {
        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..5000)) {
            let _ = decode(&bytes);
            let mut b = bytes.clone();
            if b.len() >= 2100 {
                b[..4].copy_from_slice(&[b'E', b'R', 2, 0]);
                b[512..514].copy_from_slice(b"PM");
                let _ = decode(&b);
            }
        }
    }
}
