//! The El Torito boot record volume descriptor and boot catalog (ET 2.0-2.4, figures 2-5 and 7), and checks on boot images (ET 3.0, 5.1-5.3).
//!
//! # Catalog layout (every record is 32 bytes, ET 2.0)
//!
//! ```text
//! validation entry (figure 2)      01 | platform | 0 0 | id string (24) | checksum | 55 AA
//! initial/default entry (figure 3) 88/00 | media | load seg | sys type | 0 | count | RBA | 0..
//! section header (figure 4)        90/91 | platform | n entries | id string (28)
//! section entry (figure 5)         88/00 | media | load seg | sys type | 0 | count | RBA | 0 ...
//! ... more section headers, each followed by its entries; 91 marks the last header
//! ```
//!
//! # Choices
//!
//! * The first [`BootEntry`] is the initial/default entry; its platform is written in the
//!   validation entry and its `id_string` is the validation entry's id string (24 bytes, "the
//!   manufacturer/developer of the CD-ROM", figure 2).
//! * The other entries are grouped: a new section starts whenever the platform or the id
//!   string differs from the previous entry's, so consecutive entries of the same platform (and
//!   id) share one section header. This is what xorriso 1.5.4 writes (checked: `-b bios -e a.efi
//!   -e b.efi` gives one `91 EF 02 00` header with two entries; `-b -e -b` gives two sections),
//!   and the header's 28-byte id string (figure 4) is the entries' `id_string`.
//! * At most [`MAX_ENTRIES`] = 32 entries. The worst case (a section per entry) is then
//!   2 + 2 x 31 + ... = 64 records of 32 bytes = exactly 2048 bytes, so the catalog always fits
//!   in one block ([`CATALOG_BLOCKS`]); the rest of the block is zero.
//! * No selection criteria and no section entry extensions are written (byte 0C = 0).

use super::{le16, le32, BootError, Result};

/// Length of one catalog record (ET 2.0: "20 byte entries", hexadecimal).
pub const ENTRY_LEN: usize = 32;
/// Most boot entries [`encode_catalog`] accepts (so the catalog fits one 2048-byte block).
pub const MAX_ENTRIES: usize = 32;
/// Blocks (2048 bytes) the layout reserves for the catalog: always one.
pub const CATALOG_BLOCKS: u32 = 1;
/// Bytes of the validation entry's id string (ET figure 2, bytes 4-1B).
pub const VALIDATION_ID_LEN: usize = 24;
/// Bytes of a section header's id string (ET figure 4, bytes 4-1F).
pub const SECTION_ID_LEN: usize = 28;
/// The load segment used when the entry says 0 (ET figures 3 and 5: "the traditional segment of
/// 7C0").
pub const DEFAULT_LOAD_SEGMENT: u16 = 0x07C0;
/// Size of a 1.2 MB floppy image (80 cylinders x 2 heads x 15 sectors x 512).
pub const FLOPPY_12_BYTES: u64 = 1_228_800;
/// Size of a 1.44 MB floppy image (80 x 2 x 18 x 512).
pub const FLOPPY_144_BYTES: u64 = 1_474_560;
/// Size of a 2.88 MB floppy image (80 x 2 x 36 x 512).
pub const FLOPPY_288_BYTES: u64 = 2_949_120;
/// Sector count that isolinux's documentation recommends for no-emulation entries
/// (`-boot-load-size 4`, one 2048-byte block); see [`LoadSize`].
pub const ISOLINUX_LOAD_SECTORS: u16 = 4;

const BOOTABLE: u8 = 0x88;
const NOT_BOOTABLE: u8 = 0x00;
const HEADER_MORE: u8 = 0x90;
const HEADER_FINAL: u8 = 0x91;
const EXTENSION: u8 = 0x44;
const EL_TORITO_ID: &[u8] = b"EL TORITO SPECIFICATION";

/// Platform id (ET figures 2 and 4; 0xEF is the UEFI specification's id for EFI, UEFI 2.10
/// section 13.3.2.1 "ISO-9660 and El Torito").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Platform {
    /// 80x86 BIOS.
    X86 = 0,
    /// PowerPC.
    PowerPc = 1,
    /// Macintosh.
    Mac = 2,
    /// UEFI.
    Efi = 0xEF,
}

impl Platform {
    /// The platform id byte.
    pub fn id(self) -> u8 {
        self as u8
    }
    /// The platform with id `id`, if known.
    pub fn from_id(id: u8) -> Option<Platform> {
        match id {
            0 => Some(Platform::X86),
            1 => Some(Platform::PowerPc),
            2 => Some(Platform::Mac),
            0xEF => Some(Platform::Efi),
            _ => None,
        }
    }
}

/// Boot media type (ET figures 3 and 5, bits 0-3 of byte 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Emulation {
    /// 0: the image is loaded and run as is.
    NoEmulation,
    /// 1: 1.2 MB diskette.
    Floppy12,
    /// 2: 1.44 MB diskette.
    Floppy144,
    /// 3: 2.88 MB diskette.
    Floppy288,
    /// 4: hard disk (drive 80).
    HardDisk,
}

impl Emulation {
    /// The media type value (0-4).
    pub fn media_type(self) -> u8 {
        match self {
            Emulation::NoEmulation => 0,
            Emulation::Floppy12 => 1,
            Emulation::Floppy144 => 2,
            Emulation::Floppy288 => 3,
            Emulation::HardDisk => 4,
        }
    }
    /// The emulation for media type `t` (bits 0-3; the caller masks flag bits), if valid.
    pub fn from_media_type(t: u8) -> Option<Emulation> {
        match t {
            0 => Some(Emulation::NoEmulation),
            1 => Some(Emulation::Floppy12),
            2 => Some(Emulation::Floppy144),
            3 => Some(Emulation::Floppy288),
            4 => Some(Emulation::HardDisk),
            _ => None,
        }
    }
}

/// One boot entry: the initial/default entry (the first in a list) or a section entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootEntry {
    /// Platform (validation entry for the first entry, section header for the others).
    pub platform: Platform,
    /// Media type.
    pub emulation: Emulation,
    /// Boot indicator 0x88 (true) or 0x00.
    pub bootable: bool,
    /// Load segment; 0 means [`DEFAULT_LOAD_SEGMENT`] (x86 only).
    pub load_segment: u16,
    /// System type: for hard disk emulation, the partition type from the image's MBR ("a copy
    /// of byte 5 from the partition table found in the boot image"); 0 otherwise.
    pub system_type: u8,
    /// Virtual (512-byte) sectors the firmware loads: see [`no_emulation_sector_count`]; 1 for
    /// floppy and hard disk emulation (the boot sector).
    pub sector_count: u16,
    /// Block (2048 bytes) where the image starts.
    pub load_rba: u32,
    /// Id string: the validation entry's (first entry) or the section header's (others).
    /// Printable ASCII, at most [`VALIDATION_ID_LEN`] / [`SECTION_ID_LEN`] bytes.
    pub id_string: String,
}

impl BootEntry {
    /// A bootable no-emulation entry with load segment 0 (0x7C0) and an empty id string.
    pub fn no_emulation(platform: Platform, load_rba: u32, sector_count: u16) -> BootEntry {
        BootEntry {
            platform,
            emulation: Emulation::NoEmulation,
            bootable: true,
            load_segment: 0,
            system_type: 0,
            sector_count,
            load_rba,
            id_string: String::new(),
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Boot record volume descriptor

/// The boot record volume descriptor (ET 2.0, figure 7): type 0, "CD001", version 1,
/// "EL TORITO SPECIFICATION" zero-padded to 32 bytes at offset 7, the catalog's block as a
/// little-endian u32 at 0x47, zeros elsewhere. ET 2.0 wants it at sector 17, right after the
/// primary volume descriptor.
pub fn boot_record_descriptor(catalog_lba: u32) -> [u8; crate::BLOCK_SIZE] {
    let mut d = [0u8; crate::BLOCK_SIZE];
    d[0] = 0;
    d[1..6].copy_from_slice(b"CD001");
    d[6] = 1;
    d[7..7 + EL_TORITO_ID.len()].copy_from_slice(EL_TORITO_ID);
    d[0x47..0x4B].copy_from_slice(&catalog_lba.to_le_bytes());
    d
}

/// The catalog block named by a boot record volume descriptor, if `d` is one (type 0, "CD001",
/// version 1, boot system id "EL TORITO SPECIFICATION").
pub fn decode_boot_record(d: &[u8]) -> Result<u32> {
    const S: &str = "boot record volume descriptor";
    if d.len() < 0x4B {
        return Err(BootError::malformed(S, d.len(), "too short"));
    }
    if d[0] != 0 || &d[1..6] != b"CD001" || d[6] != 1 {
        return Err(BootError::malformed(
            S,
            0,
            "not a version 1 boot record (type 0, CD001)",
        ));
    }
    let id = &d[7..0x27];
    if &id[..EL_TORITO_ID.len()] != EL_TORITO_ID || id[EL_TORITO_ID.len()..].iter().any(|&b| b != 0)
    {
        return Err(BootError::malformed(
            S,
            7,
            "boot system id is not EL TORITO SPECIFICATION",
        ));
    }
    Ok(le32(d, 0x47))
}

// ------------------------------------------------------------------------------------------------
// Catalog

/// The index ranges of `entries[1..]` that share one section (consecutive, same platform and id).
fn sections(entries: &[BootEntry]) -> Vec<std::ops::Range<usize>> {
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    for i in 1..entries.len() {
        match out.last_mut() {
            Some(r)
                if entries[r.start].platform == entries[i].platform
                    && entries[r.start].id_string == entries[i].id_string =>
            {
                r.end = i + 1
            }
            _ => out.push(i..i + 1),
        }
    }
    out
}

/// Length in bytes of the catalog [`encode_catalog`] makes for `entries`: 32 bytes for the
/// validation entry, the initial entry, each section header and each section entry. At most
/// 2048 for up to [`MAX_ENTRIES`] entries. Depends only on the platforms and id strings, not on
/// block numbers.
pub fn catalog_len(entries: &[BootEntry]) -> usize {
    if entries.is_empty() {
        return 0;
    }
    ENTRY_LEN * (2 + sections(entries).len() + (entries.len() - 1))
}

/// Upper bound of [`catalog_len`] for `n` entries (one section per non-initial entry).
pub fn catalog_max_len(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        ENTRY_LEN * 2 * n
    }
}

fn put_id(out: &mut [u8], id: &str) -> Result<()> {
    if id.len() > out.len() {
        return Err(BootError::IdString {
            value: id.to_string(),
            reason: format!("{} bytes; the field holds {}", id.len(), out.len()),
        });
    }
    if !id.bytes().all(|b| (0x20..0x7F).contains(&b)) {
        return Err(BootError::IdString {
            value: id.to_string(),
            reason: "only printable ASCII is allowed".into(),
        });
    }
    out[..id.len()].copy_from_slice(id.as_bytes());
    Ok(())
}

/// Writes the part common to the initial/default entry and a section entry (figures 3 and 5).
fn put_entry(out: &mut [u8], e: &BootEntry) {
    out[0] = if e.bootable { BOOTABLE } else { NOT_BOOTABLE };
    out[1] = e.emulation.media_type();
    out[2..4].copy_from_slice(&e.load_segment.to_le_bytes());
    out[4] = e.system_type;
    out[5] = 0;
    out[6..8].copy_from_slice(&e.sector_count.to_le_bytes());
    out[8..12].copy_from_slice(&e.load_rba.to_le_bytes());
    // 0C: selection criteria type 0 (none) for section entries; unused (0) in the initial entry.
}

/// The checksum word of a validation entry (figure 2, bytes 1C-1D): the value that makes the
/// sixteen little-endian 16-bit words of the record sum to 0 modulo 2^16 (ET 2.1, figure 2).
/// `record` is the 32-byte entry with its checksum field taken as 0.
pub fn validation_checksum(record: &[u8; 32]) -> u16 {
    let mut sum: u16 = 0;
    for (i, w) in record.chunks_exact(2).enumerate() {
        if i != 14 {
            sum = sum.wrapping_add(u16::from_le_bytes([w[0], w[1]]));
        }
    }
    sum.wrapping_neg()
}

/// Encodes the boot catalog (figures 2-5): the validation entry, `entries[0]` as the
/// initial/default entry, then the other entries in sections (see the module documentation for
/// the grouping). The result is [`catalog_len`] bytes; the layout zero-fills the rest of the
/// block. Errors: no entries, more than [`MAX_ENTRIES`], an id string too long or not ASCII.
pub fn encode_catalog(entries: &[BootEntry]) -> Result<Vec<u8>> {
    if entries.is_empty() {
        return Err(BootError::NoEntries);
    }
    if entries.len() > MAX_ENTRIES {
        return Err(BootError::TooManyEntries {
            count: entries.len(),
            max: MAX_ENTRIES,
        });
    }
    let mut out = vec![0u8; catalog_len(entries)];

    // Validation entry (figure 2).
    let first = &entries[0];
    let mut v = [0u8; 32];
    v[0] = 0x01;
    v[1] = first.platform.id();
    put_id(&mut v[4..0x1C], &first.id_string)?;
    v[0x1E] = 0x55;
    v[0x1F] = 0xAA;
    let sum = validation_checksum(&v);
    v[0x1C..0x1E].copy_from_slice(&sum.to_le_bytes());
    out[..32].copy_from_slice(&v);

    // Initial/default entry (figure 3).
    put_entry(&mut out[32..64], first);

    // Sections (figures 4 and 5).
    let secs = sections(entries);
    let mut pos = 64;
    for (k, r) in secs.iter().enumerate() {
        let head = &entries[r.start];
        let h = &mut out[pos..pos + 32];
        h[0] = if k + 1 == secs.len() {
            HEADER_FINAL
        } else {
            HEADER_MORE
        };
        h[1] = head.platform.id();
        // r.len() <= 31, so it fits the 16-bit count.
        h[2..4].copy_from_slice(&(r.len() as u16).to_le_bytes());
        put_id(&mut h[4..32], &head.id_string)?;
        pos += 32;
        for e in &entries[r.clone()] {
            put_entry(&mut out[pos..pos + 32], e);
            pos += 32;
        }
    }
    debug_assert_eq!(pos, out.len());
    Ok(out)
}

fn get_id(b: &[u8]) -> String {
    let end = b.iter().rposition(|&c| c != 0).map_or(0, |p| p + 1);
    String::from_utf8_lossy(&b[..end]).into_owned()
}

const CAT: &str = "boot catalog";

/// Decodes an initial/default or section entry at `at`.
fn get_entry(b: &[u8], at: usize, platform: Platform, id: &str) -> Result<BootEntry> {
    let r = &b[at..at + 32];
    let bootable = match r[0] {
        BOOTABLE => true,
        NOT_BOOTABLE => false,
        x => {
            return Err(BootError::malformed(
                CAT,
                at,
                format!("boot indicator {x:#04x} (expected 0x88 or 0x00)"),
            ))
        }
    };
    let emulation = Emulation::from_media_type(r[1] & 0x0F).ok_or_else(|| {
        BootError::malformed(
            CAT,
            at + 1,
            format!("media type {} is reserved", r[1] & 0x0F),
        )
    })?;
    Ok(BootEntry {
        platform,
        emulation,
        bootable,
        load_segment: le16(r, 2),
        system_type: r[4],
        sector_count: le16(r, 6),
        load_rba: le32(r, 8),
        id_string: id.to_string(),
    })
}

fn platform_at(b: &[u8], at: usize) -> Result<Platform> {
    Platform::from_id(b[at])
        .ok_or_else(|| BootError::malformed(CAT, at, format!("unknown platform id {:#04x}", b[at])))
}

/// Decodes a boot catalog (the bytes of its block(s)). Checks the validation entry (header 01,
/// key bytes 55 AA, checksum), then reads the initial/default entry and the sections. Accepts
/// catalogs whose extra entries have no section headers (they get the validation entry's
/// platform), skips section entry extensions (0x44, figure 6), and stops at the entries of the
/// final header (0x91) or at an all-zero record. Never panics.
pub fn decode_catalog(b: &[u8]) -> Result<Vec<BootEntry>> {
    if b.len() < 64 {
        return Err(BootError::malformed(
            CAT,
            b.len(),
            "shorter than two 32-byte records",
        ));
    }
    if b[0] != 0x01 {
        return Err(BootError::malformed(
            CAT,
            0,
            format!("validation entry header id {:#04x} (expected 0x01)", b[0]),
        ));
    }
    if b[0x1E] != 0x55 || b[0x1F] != 0xAA {
        return Err(BootError::malformed(
            CAT,
            0x1E,
            "validation entry key bytes are not 55 AA",
        ));
    }
    let sum = b[..32].chunks_exact(2).fold(0u16, |s, w| {
        s.wrapping_add(u16::from_le_bytes([w[0], w[1]]))
    });
    if sum != 0 {
        return Err(BootError::malformed(
            CAT,
            0x1C,
            format!("validation entry words sum to {sum:#06x}, not 0"),
        ));
    }
    let platform = platform_at(b, 1)?;
    let id = get_id(&b[4..0x1C]);
    let mut out = vec![get_entry(b, 32, platform, &id)?];

    let mut pos = 64;
    let mut final_seen = false;
    while pos + 32 <= b.len() && !final_seen {
        let kind = b[pos];
        if kind == HEADER_MORE || kind == HEADER_FINAL {
            final_seen = kind == HEADER_FINAL;
            let sec_platform = platform_at(b, pos + 1)?;
            let count = le16(b, pos + 2) as usize;
            let sec_id = get_id(&b[pos + 4..pos + 32]);
            pos += 32;
            // "Number of section entries following this header": EDD-4 counts extensions too,
            // El Torito 1.0 is silent; count every record, and skip extra trailing extensions.
            let mut seen = 0;
            while seen < count || (pos + 32 <= b.len() && b[pos] == EXTENSION) {
                if pos + 32 > b.len() {
                    return Err(BootError::malformed(
                        CAT,
                        pos,
                        format!("section announces {count} entries but the catalog ends"),
                    ));
                }
                if b[pos] != EXTENSION {
                    out.push(get_entry(b, pos, sec_platform, &sec_id)?);
                }
                seen += 1;
                pos += 32;
            }
        } else if b[pos..pos + 32].iter().all(|&x| x == 0) {
            break;
        } else if kind == BOOTABLE || kind == NOT_BOOTABLE {
            // An entry without a section header (seen in the wild).
            out.push(get_entry(b, pos, platform, &id)?);
            pos += 32;
        } else if kind == EXTENSION {
            pos += 32;
        } else {
            return Err(BootError::malformed(
                CAT,
                pos,
                format!("unknown record type {kind:#04x}"),
            ));
        }
    }
    Ok(out)
}

// ------------------------------------------------------------------------------------------------
// Boot image checks

/// The emulation for a floppy image of `size` bytes: exactly 1,228,800, 1,474,560 or 2,949,120
/// bytes (ET 3.0: the image is the whole diskette), else [`BootError::FloppySize`]. The entry's
/// sector count is then 1 (the BIOS loads the boot sector, ET 5.1).
pub fn check_floppy(size: u64) -> Result<Emulation> {
    match size {
        FLOPPY_12_BYTES => Ok(Emulation::Floppy12),
        FLOPPY_144_BYTES => Ok(Emulation::Floppy144),
        FLOPPY_288_BYTES => Ok(Emulation::Floppy288),
        _ => Err(BootError::FloppySize { size }),
    }
}

/// What [`check_hard_disk`] learnt from a hard-disk image's MBR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HardDiskImage {
    /// The partition type of the one partition: the catalog entry's `system_type` (ET figure 3,
    /// byte 4).
    pub system_type: u8,
    /// Sectors the BIOS loads: 1, the MBR (ET 5.2; what genisoimage and xorriso write).
    pub sector_count: u16,
    /// Index (0-3) of the partition entry in use.
    pub partition_index: usize,
    /// The partition's first 512-byte sector.
    pub first_lba: u32,
    /// Its length in 512-byte sectors.
    pub sectors: u32,
}

/// Checks the first sector of a hard-disk emulation image (ET 3.0: "the image must contain a
/// partition table with exactly one partition"): the 0x55AA signature and exactly one partition
/// entry in use (partition type not 0). Returns its type (for `system_type`) and the sector
/// count to load (1). The caller may check `first_lba + sectors` against the image size.
pub fn check_hard_disk(first_sector: &[u8; 512]) -> Result<HardDiskImage> {
    if first_sector[510] != 0x55 || first_sector[511] != 0xAA {
        return Err(BootError::HardDisk(
            "the first sector has no 0x55AA MBR signature".into(),
        ));
    }
    let used: Vec<usize> = (0..4)
        .filter(|i| first_sector[446 + 16 * i + 4] != 0)
        .collect();
    if used.len() != 1 {
        return Err(BootError::HardDisk(format!(
            "the MBR has {} partition entries in use; El Torito needs exactly one",
            used.len()
        )));
    }
    let i = used[0];
    let e = &first_sector[446 + 16 * i..446 + 16 * (i + 1)];
    let (first_lba, sectors) = (le32(e, 8), le32(e, 12));
    if sectors == 0 {
        return Err(BootError::HardDisk(format!("partition {} is empty", i + 1)));
    }
    Ok(HardDiskImage {
        system_type: e[4],
        sector_count: 1,
        partition_index: i,
        first_lba,
        sectors,
    })
}

/// How many virtual sectors a no-emulation entry loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadSize {
    /// The whole file, rounded up to 2048 bytes, in 512-byte sectors: what genisoimage 1.1.11
    /// and xorriso 1.5.4 write when no `-boot-load-size` is given (checked: a 9000-byte file
    /// gets 20). isolinux documents `-boot-load-size 4` instead ([`ISOLINUX_LOAD_SECTORS`]).
    #[default]
    WholeFile,
    /// Exactly this many 512-byte sectors (`-boot-load-size`).
    Sectors(u16),
}

/// The sector count field (ET figures 3 and 5, bytes 6-7: "the number of virtual/emulated
/// sectors the system will store at Load Segment") of a no-emulation entry for a boot file of
/// `file_len` bytes. The field is 16 bits, so at most 65535 x 512 bytes (just under 32 MiB) can
/// be loaded (ET 2.2, figure 3, offset 6):
///
/// * [`LoadSize::Sectors`]: the given count (1..=65535; 0 is refused). (xorriso 1.5.4 ignores
///   `-boot-load-size` for `-e` EFI entries and writes the exact `ceil(len / 512)`; we write
///   what the caller asks.)
/// * [`LoadSize::WholeFile`]: `ceil(len / 2048) * 4`; if that exceeds 65535 but the file fits
///   in 65535 sectors of 512, exactly `ceil(len / 512)`.
/// * [`LoadSize::WholeFile`] for a file of more than 65535 sectors: for [`Platform::Efi`] the
///   count is 0, as xorriso 1.5.4 writes (checked with a 40 MB image). UEFI firmware does not
///   load the image into memory: it exposes it as a block device and reads the FAT file system
///   in it; with a count of 0 or 1, EDK2-based firmware sizes that device from the volume
///   instead (checked: OVMF boots an entry with count 0, `tests/boot_qemu.rs`).
///   Such images should also be exposed as a GPT (or MBR) EFI system partition
///   ([`super::hybrid`]) for booting from a USB stick. For BIOS platforms it is an error (a BIOS
///   cannot load more; give an explicit load size: the boot program loads the rest itself).
///   genisoimage 1.1.11 silently truncates the count modulo 65536; we do not.
/// * An empty file is refused.
pub fn no_emulation_sector_count(platform: Platform, file_len: u64, load: LoadSize) -> Result<u16> {
    match load {
        LoadSize::Sectors(0) => Err(BootError::LoadSize(
            "a load size of 0 sectors loads nothing".into(),
        )),
        LoadSize::Sectors(n) => Ok(n),
        LoadSize::WholeFile => {
            if file_len == 0 {
                return Err(BootError::LoadSize("the boot file is empty".into()));
            }
            let sectors = file_len.div_ceil(crate::BLOCK_SIZE_U64) * 4;
            let exact = file_len.div_ceil(512);
            if sectors <= u64::from(u16::MAX) {
                Ok(sectors as u16)
            } else if exact <= u64::from(u16::MAX) {
                // The last 2048-byte block does not fit whole: load exactly the file.
                Ok(exact as u16)
            } else if platform == Platform::Efi {
                Ok(0)
            } else {
                Err(BootError::LoadSize(format!(
                    "the boot file is {file_len} bytes ({sectors} sectors of 512); the catalog's 16-bit sector count loads at most 65535 sectors (33553920 bytes); give an explicit load size"
                )))
            }
        }
    }
}
