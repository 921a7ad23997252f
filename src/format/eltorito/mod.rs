//! El Torito boot structures and hybrid (MBR / GPT) partition tables: pure encoders, and decoders
//! for tests and readers. Nothing here knows about the layout: every block number is an
//! argument, and every structure's length is known before any block is assigned.
//!
//! | module | structures |
//! |---|---|
//! | [`catalog`] | boot record volume descriptor, boot catalog (validation entry, initial/default entry, section headers and entries), boot image checks (floppy sizes, hard-disk MBR, load size) |
//! | [`info_table`] | the boot info table patched into no-emulation boot files, and its streaming checksum |
//! | [`hybrid`] | MBR (with CHS), protective MBR, GPT header and partition entries, backup GPT, GUIDs |
//! | [`apm`] | Apple Partition Map: driver descriptor header, partition map entries, gap fillers |
//!
//! Sources: "El Torito" Bootable CD-ROM Format Specification 1.0 (Phoenix / IBM, 1995; its numbers
//! are hexadecimal), cited as "ET 2.1" (section) or "ET figure 3"; UEFI Specification 2.10 chapter 5
//! (GUID Partition Table), cited as "UEFI 5.x"; the classic IBM PC MBR layout; and Apple's
//! "Inside Macintosh: Devices" for the Apple Partition Map (see [`apm`]).
//!
//! # Units
//!
//! ISO 9660 / El Torito block numbers ("RBA", "LBA" in the catalog and the boot info table)
//! count **2048-byte** blocks. The catalog's sector count counts **512-byte** virtual sectors.
//! MBR and GPT count **512-byte** sectors. ISO block `b` is 512-byte sectors `4b ..= 4b + 3`;
//! [`hybrid::iso_block_to_sector`] and [`hybrid::sectors_to_iso_blocks`] convert.
//!
//! # Where the layout puts things (see each module for details)
//!
//! ```text
//! block 0..15    system area: MBR (sector 0) [+ primary GPT header at 512-byte sector 1 and
//!                its 128 entries at sectors 2..33]  -- hybrid::mbr / protective_mbr / GptDisk
//! block 16       primary volume descriptor
//! block 17       boot record volume descriptor (ET 2.0: "must reside at sector 11 (17)"), so it
//!                comes before the Joliet SVD  -- catalog::boot_record_descriptor
//! ...            Joliet SVD, terminator, ...
//! anywhere       boot catalog: one 2048-byte block (at most 32 entries always fit)
//!                -- catalog::encode_catalog, catalog::CATALOG_BLOCKS
//! anywhere       boot images (file data), with the boot info table patched into no-emulation
//!                files on the fly -- info_table::InfoTablePatcher, info_table::Checksum
//! last 9 blocks  backup GPT (entries then header, ending at the image's last byte)
//!                -- hybrid::GptDisk::backup, hybrid::GPT_BACKUP_BLOCKS
//! ```

pub mod apm;
pub mod catalog;
pub mod hybrid;
pub mod info_table;

/// What can go wrong while encoding boot structures (caller's input) or decoding them (data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BootError {
    /// A boot catalog needs at least the initial/default entry.
    #[error("a boot catalog needs at least one entry")]
    NoEntries,
    /// More boot entries than the catalog supports (see [`catalog::MAX_ENTRIES`]).
    #[error("{count} boot entries; at most {max} are supported")]
    TooManyEntries {
        /// Entries given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// An identification string is too long or not printable ASCII.
    #[error("id string {value:?}: {reason}")]
    IdString {
        /// The string.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// A floppy-emulation image does not have one of the three floppy sizes.
    #[error("floppy emulation image is {size} bytes; El Torito floppies must be exactly 1228800 (1.2 MB), 1474560 (1.44 MB) or 2949120 (2.88 MB) bytes (use no emulation or hard disk emulation otherwise)")]
    FloppySize {
        /// The image's size in bytes.
        size: u64,
    },
    /// A hard-disk-emulation image's first sector is not a usable MBR.
    #[error("hard disk emulation image: {0}")]
    HardDisk(String),
    /// The load size of a no-emulation entry is unusable.
    #[error("no-emulation load size: {0}")]
    LoadSize(String),
    /// A boot file is unusable for a boot info table.
    #[error("boot info table: {0}")]
    InfoTable(String),
    /// A partition table request is invalid (too many partitions, overlapping, out of range...).
    #[error("partition table: {0}")]
    Partition(String),
    /// Bytes being decoded are malformed.
    #[error("malformed {structure} at byte {offset}: {reason}")]
    Malformed {
        /// Which structure ("boot catalog", "MBR", "GPT header"...).
        structure: &'static str,
        /// Byte offset of the fault inside the bytes given to the decoder.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
}

impl BootError {
    pub(crate) fn malformed(
        structure: &'static str,
        offset: usize,
        reason: impl Into<String>,
    ) -> Self {
        BootError::Malformed {
            structure,
            offset,
            reason: reason.into(),
        }
    }
}

impl From<BootError> for crate::error::Error {
    fn from(e: BootError) -> Self {
        crate::error::Error::InvalidOption(e.to_string())
    }
}

/// Result alias for this module.
pub type Result<T, E = BootError> = std::result::Result<T, E>;

pub(crate) fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

pub(crate) fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

pub(crate) fn le64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}
