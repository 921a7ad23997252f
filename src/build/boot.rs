//! Bootable images: El Torito boot entries (BIOS and UEFI, every emulation mode, several
//! entries), the boot info table, and hybrid MBR / GPT system areas for USB sticks. The on-disk
//! encoders are in [`crate::format::eltorito`]; this module holds the options and what the layout does
//! with them.

use std::collections::HashMap;

use std::sync::Arc;

use crate::build::source::{Generated, Placed};
use crate::build::tree::{DataId, NodeKind, Source, Tree};
use crate::error::{Error, Result};
use crate::format::eltorito::apm::{self, ApmBlockSize, ApmPartition, DdmStyle};
use crate::format::eltorito::catalog::{self, BootEntry, LoadSize};
use crate::format::eltorito::hybrid::{self, Geometry, GptDisk, GptPartition, Guid, MbrPartition};
use crate::format::eltorito::info_table::{self, BootFilePatcher, Checksum, InfoTablePatcher};

pub use crate::format::eltorito::catalog::{Emulation, Platform};

/// One El Torito boot entry (IMAPI's IBootOptions): a file of the image and how firmware loads
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BootImage {
    /// The boot file's path in the image (add the file first).
    pub image_path: String,
    /// Platform: x86 BIOS, PowerPC, Mac, or UEFI.
    pub platform: Platform,
    /// Emulation: none, a floppy (the file must be exactly 1.2, 1.44 or 2.88 MB) or a hard disk
    /// (the file must start with an MBR holding exactly one partition).
    pub emulation: Emulation,
    /// Real-mode load segment (0 means 0x7C0).
    pub load_segment: u16,
    /// No emulation: 512-byte sectors to load (`-boot-load-size`); `None` loads the whole file
    /// (or, for a UEFI image over 65535 sectors, writes 0 as xorriso does).
    pub load_size: Option<u16>,
    /// Boot indicator (0x88); false marks the entry not bootable.
    pub bootable: bool,
    /// Patch a boot info table into the file as it is written (`-boot-info-table`); the source
    /// file is never modified.
    pub boot_info_table: bool,
    /// Patch GRUB 2's boot info into the file as it is written (`--grub2-boot-info`: bytes
    /// 2548..2556 get the file's first 512-byte sector + 5), which GRUB's `eltorito.img` needs
    /// when GRUB's hybrid MBR starts it from a disk; the source file is never modified.
    pub grub2_boot_info: bool,
    /// The boot image is appended partition N ([`Hybrid::appended`]) instead of a file of the
    /// tree (`-e --interval:appended_partition_N:all::`); `image_path` is then not used.
    pub appended_partition: Option<u8>,
    /// Id string of the entry's section header (or of the validation entry for the first).
    pub id: String,
    /// `-isohybrid-apm-hfsplus`: also describe this boot image's blocks in an Apple Partition
    /// Map (an entry "EFI" of type Apple_HFS, 2048-byte blocks), so Intel Macs find the EFI
    /// image on a USB stick. Needs an isohybrid MBR ([`MbrPatch::Isohybrid`]) whose code
    /// leaves room for the map's header, as ISOLINUX's `isohdpfx.bin` does.
    pub apm_hfsplus: bool,
}

impl BootImage {
    /// A bootable entry for `image_path` on `platform` with `emulation` and default settings.
    pub fn new(image_path: &str, platform: Platform, emulation: Emulation) -> Self {
        BootImage {
            image_path: image_path.to_string(),
            platform,
            emulation,
            load_segment: 0,
            load_size: None,
            bootable: true,
            boot_info_table: false,
            grub2_boot_info: false,
            appended_partition: None,
            id: String::new(),
            apm_hfsplus: false,
        }
    }
    /// A BIOS no-emulation entry (`mkisofs -b FILE -no-emul-boot`).
    pub fn bios(image_path: &str) -> Self {
        Self::new(image_path, Platform::X86, Emulation::NoEmulation)
    }
    /// A UEFI entry for a FAT image holding `/EFI/BOOT/BOOTX64.EFI` (`-e FILE`).
    pub fn efi(image_path: &str) -> Self {
        Self::new(image_path, Platform::Efi, Emulation::NoEmulation)
    }
}

/// A hybrid system area, so the image also boots when written to a USB stick.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Hybrid {
    /// Boot code for the first 440 bytes of the MBR (for example syslinux's `isohdpfx.bin`);
    /// `None` writes a zero (non-booting, protective-only) code area.
    pub mbr_boot_code: Option<Vec<u8>>,
    /// Also write a GPT (protective MBR, primary and backup GPT) whose EFI system partition is
    /// the first UEFI boot image inside the image (`-isohybrid-gpt-basdat` style).
    pub gpt: bool,
    /// Which boot loader's MBR `mbr_boot_code` is, and so which block address is patched into
    /// its bytes 432..440 (a 64-bit little-endian count of 512-byte sectors): none, ISOLINUX's
    /// `isohdpfx.bin` (`-isohybrid-mbr`) or GRUB 2's `boot_hybrid.img` (`--grub2-mbr`).
    pub mbr_patch: MbrPatch,
    /// With [`gpt`](Self::gpt): also cover the ISO 9660 sectors before and after the EFI
    /// system partition (from block 16 to the backup GPT) with Microsoft basic data partitions,
    /// the GPT that `-efi-boot-part --efi-boot-image` makes (grub-mkrescue), so the file system
    /// is reachable as a partition too.
    pub gpt_iso_partitions: bool,
    /// `--protective-msdos-label`: without a GPT, an MBR partition table whose bootable
    /// partition 1 (type 0xCD) claims the image but its first sector; with a GPT the protective
    /// MBR already does so. Without it, an MBR patched for GRUB 2 ([`MbrPatch::Grub2`]) has no
    /// partitions, and any other hybrid MBR one bootable partition of type 0x17 over the whole
    /// image (isohybrid).
    pub protective_msdos_label: bool,
    /// `-iso_mbr_part_type`: the MBR type byte of the partition over the image (isohybrid's
    /// 0x17, the protective label's 0xCD) when there is no GPT.
    pub iso_mbr_part_type: Option<u8>,
    /// `-iso_mbr_part_type GUID`: the GPT type of the partitions over the ISO 9660 sectors
    /// ([`gpt_iso_partitions`](Self::gpt_iso_partitions)); Microsoft basic data by default.
    pub iso_gpt_part_type: Option<Guid>,
    /// `--mbr-force-bootable`: an MBR whose partitions are all non-bootable (a GPT's protective
    /// MBR) gets a bootable dummy partition of type 0x00 over the first sector of the image in
    /// its second slot, for BIOSes that boot only a disk with an active partition.
    pub mbr_force_bootable: bool,
    /// Partitions appended after the file data (`-append_partition N TYPE FILE`), each a whole
    /// file of the build machine, entered in the MBR (slot N) or, with
    /// [`appended_as_gpt`](Self::appended_as_gpt), in the GPT.
    pub appended: Vec<AppendedPartition>,
    /// `-appended_part_as_gpt`: appended partitions go into the GPT (which this implies), not
    /// the MBR.
    pub appended_as_gpt: bool,
    /// `-partition_offset N` (N >= 16; `None` or 0: off): partition 1 of the MBR (and the
    /// ISO 9660 partitions of a GPT) starts at block N, and the image holds a second set of
    /// volume descriptors at block N + 16 with its own copy of the ISO 9660, Rock Ridge and
    /// Joliet directories and path tables, every address counted from block N, so the
    /// partition mounts by itself (the file data is shared). Not with UDF (whose main volume
    /// descriptor sequence is pinned at block 32) nor when appending a session.
    pub partition_offset: Option<u32>,
    /// With [`gpt`](Self::gpt): the partition tables xorriso writes for `-isohybrid-mbr
    /// -isohybrid-gpt-basdat`. Instead of a protective MBR, an MBR whose partition 1
    /// (bootable, type [`iso_mbr_part_type`](Self::iso_mbr_part_type) or 0x00) covers the ISO
    /// 9660 part (from the partition offset, or sector 0, up to the first appended partition
    /// or the end), the UEFI boot image as a 0xEF partition in the first free slot (unless it
    /// is an appended partition, which has its own slot), and the appended partitions in
    /// their slots; in the GPT, Microsoft basic data partitions "ISOHybrid" over the ISO 9660
    /// part (from block 16 or the partition offset, so the GPT stays inside its usable range,
    /// up to a UEFI image inside it, so no two entries overlap: xorriso's start at sector 0 and
    /// overlap) and "ISOHybrid1" over the UEFI boot image. EFI firmware boots the MBR's 0xEF
    /// partition.
    pub isohybrid_gpt: bool,
    /// With [`isohybrid_gpt`](Self::isohybrid_gpt): `-isohybrid-gpt-hfsplus` instead of
    /// `-isohybrid-gpt-basdat`: the GPT entry over the UEFI boot image has the HFS+ type
    /// (48465300-0000-11AA-AA11-00306543ECAC) and its MBR entry type 0x00, as xorriso writes
    /// them.
    pub isohybrid_gpt_hfsplus: bool,
    /// `-partition_cyl_align`: when the image is padded to whole cylinders of the MBR's
    /// geometry (as the isohybrid specification asks, and fdisk likes).
    pub cylinder_align: CylinderAlign,
    /// `-partition_hd_cyl`: heads per cylinder of the MBR's CHS fields (1-255; 0 chooses, as
    /// xorriso: 64, more when the image has over 1024 cylinders of 1 MiB).
    pub heads_per_cylinder: u8,
    /// `-partition_sec_hd`: sectors per head (1-63; 0 chooses: 32, or 63 for images of over
    /// 255 x 32 x 1024 sectors).
    pub sectors_per_head: u8,
    /// `-appended_part_as_apm`: appended partitions are entries of an Apple Partition Map
    /// (and, as xorriso writes them, no longer MBR partitions); without boot images marked
    /// [`BootImage::apm_hfsplus`] the ISO 9660 blocks before them get gap entries.
    pub appended_as_apm: bool,
    /// `-apm-block-size`: the Apple Partition Map's block size. `None` decides as xorriso
    /// does: 2048 bytes with marked boot images or a GPT, else 512. Marked boot images always
    /// use 2048; 512 beside a GPT is an error (the GPT header lies in block 0).
    pub apm_block_size: Option<ApmBlockSize>,
}

/// When a hybrid image is padded to a whole number of cylinders (`-partition_cyl_align`).
/// The padding goes after the file data: up to the first appended partition, or, without
/// one, so that the whole image (with its backup GPT) is whole cylinders long. Only with a
/// cylinder of a whole number of blocks (heads x sectors a multiple of 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CylinderAlign {
    /// Only with an isohybrid MBR ([`MbrPatch::Isohybrid`]).
    #[default]
    Auto,
    /// Also with [`Hybrid::protective_msdos_label`].
    On,
    /// Like `On`, and every appended partition is padded to whole cylinders too.
    All,
    /// Never.
    Off,
}

impl Hybrid {
    /// The partition offset in effect: `partition_offset` unless it is 0.
    pub fn partition_offset(&self) -> Option<u32> {
        self.partition_offset.filter(|&n| n > 0)
    }

    /// The CHS geometry of the MBR for an image of `total_sectors`, as xorrisofs(1) describes
    /// `-partition_sec_hd`: the given values, else 64 heads of 32 sectors (1 MiB cylinders),
    /// with more heads (up to 255) when that makes over 1024 cylinders, then 63 sectors and a
    /// multiple of 4 heads (up to 252, so a cylinder stays whole blocks), and 255 x 63 past
    /// that. Appended partitions in the GPT lift the cylinder limit.
    pub fn geometry(&self, total_sectors: u64) -> Geometry {
        let sectors = if self.sectors_per_head > 0 {
            self.sectors_per_head.min(63)
        } else {
            32
        };
        if self.heads_per_cylinder > 0 {
            return Geometry {
                heads: self.heads_per_cylinder,
                sectors,
            };
        }
        let heads_for = |spt: u64| total_sectors.div_ceil(1024 * spt);
        let small = Geometry { heads: 64, sectors };
        if self.appended_as_gpt {
            return small;
        }
        let need = heads_for(u64::from(sectors));
        if need <= 64 {
            return small;
        }
        if need <= 255 {
            return Geometry {
                heads: need as u8,
                sectors,
            };
        }
        if self.sectors_per_head > 0 {
            return Geometry {
                heads: 255,
                sectors,
            };
        }
        let need = heads_for(63).next_multiple_of(4);
        Geometry {
            heads: if need <= 252 { need as u8 } else { 255 },
            sectors: 63,
        }
    }

    /// Whether the image is padded to whole cylinders, and whether the appended partitions
    /// are too ([`CylinderAlign`]).
    pub(crate) fn aligns(&self) -> (bool, bool) {
        let isohybrid = self.mbr_patch == MbrPatch::Isohybrid;
        let on = isohybrid || self.protective_msdos_label;
        match self.cylinder_align {
            CylinderAlign::Off => (false, false),
            CylinderAlign::Auto => (isohybrid, false),
            CylinderAlign::On => (on, false),
            CylinderAlign::All => (on, on),
        }
    }
}

/// A partition type: an MBR type byte or a GPT type GUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionType {
    /// MBR type byte (0xEF EFI system, 0x83 Linux, ...).
    Mbr(u8),
    /// GPT type GUID.
    Gpt(Guid),
}

impl PartitionType {
    /// The MBR type byte: a GPT EFI system GUID is 0xEF, any other GUID 0x83.
    pub fn mbr_byte(self) -> u8 {
        match self {
            PartitionType::Mbr(b) => b,
            PartitionType::Gpt(g) if g == hybrid::type_guid::EFI_SYSTEM => hybrid::MBR_TYPE_EFI,
            PartitionType::Gpt(_) => 0x83,
        }
    }
    /// The GPT type GUID: MBR 0xEF is the EFI system partition, any other byte basic data.
    pub fn gpt_guid(self) -> Guid {
        match self {
            PartitionType::Gpt(g) => g,
            PartitionType::Mbr(hybrid::MBR_TYPE_EFI) => hybrid::type_guid::EFI_SYSTEM,
            PartitionType::Mbr(_) => hybrid::type_guid::BASIC_DATA,
        }
    }
}

/// One appended partition (`-append_partition N TYPE FILE`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppendedPartition {
    /// Partition number, 1 to 4 (the MBR slot; the GPT entries follow in number order).
    pub number: u8,
    /// Its type.
    pub partition_type: PartitionType,
    /// The file whose bytes the partition holds (size and time checked again when written).
    pub source: std::path::PathBuf,
}

impl AppendedPartition {
    /// Partition `number` of type `partition_type` holding the file `source`.
    pub fn new(
        number: u8,
        partition_type: PartitionType,
        source: impl Into<std::path::PathBuf>,
    ) -> Self {
        AppendedPartition {
            number,
            partition_type,
            source: source.into(),
        }
    }
}

/// The boot-image address a hybrid MBR's boot code expects at bytes 432..440 (0x1B0), as a
/// 64-bit little-endian count of 512-byte sectors. Both loaders read the BIOS boot image (the
/// first x86 entry of the catalog) from there when the image is booted as a disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MbrPatch {
    /// The boot code is written as given.
    #[default]
    None,
    /// ISOLINUX `isohdpfx.bin` (`-isohybrid-mbr`): the first sector of the boot image
    /// (`isolinux.bin`), that is its block times 4.
    Isohybrid,
    /// GRUB 2 `boot_hybrid.img` (`--grub2-mbr`): the boot image's first sector plus 4 (where
    /// `eltorito.img`'s second 512-byte sector, the part GRUB's MBR loads, starts).
    Grub2,
}

impl MbrPatch {
    /// The value patched at 432 for a boot image at ISO block `lba`, or `None`.
    pub(crate) fn value(self, lba: u32) -> Option<u64> {
        let sector = hybrid::iso_block_to_sector(u64::from(lba));
        match self {
            MbrPatch::None => None,
            MbrPatch::Isohybrid => Some(sector),
            MbrPatch::Grub2 => Some(sector + 4),
        }
    }
}

/// Byte offset in the MBR of the boot image address that [`MbrPatch`] writes (0x1B0).
pub const MBR_BOOT_LBA_OFFSET: usize = 432;

/// Boot options. Empty `entries` means no El Torito.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BootOptions {
    /// The entries, in catalog order (the first is the initial/default entry); at most 32.
    pub entries: Vec<BootImage>,
    /// Where the boot catalog appears in the image.
    pub catalog_path: String,
    /// Hide the boot catalog: left out of every directory (ISO 9660, Rock Ridge, Joliet and
    /// UDF), as xorriso's `--boot-catalog-hide`; the boot record still points at it.
    pub hide_catalog: bool,
    /// A hybrid MBR (and GPT) system area.
    pub hybrid: Option<Hybrid>,
    /// The system area (blocks 0-15) as given: at most its first 32 KiB are written, the rest
    /// zero (`-G`, `-generic-boot`, `--embedded-boot`). Not together with `hybrid`; works
    /// without boot entries too.
    pub system_area: Option<Vec<u8>>,
}

impl Default for BootOptions {
    fn default() -> Self {
        BootOptions {
            entries: Vec::new(),
            catalog_path: "/boot.catalog".into(),
            hide_catalog: false,
            hybrid: None,
            system_area: None,
        }
    }
}

/// The blocks of a cylinder of `g`, if a cylinder is a whole number of blocks (xorrisofs(1):
/// the cylinder size must be divisible by 2048 for the image to be aligned).
pub(crate) fn cylinder_blocks(g: Geometry) -> Option<u64> {
    let sectors = g.cylinder_sectors();
    (sectors % hybrid::SECTORS_PER_BLOCK == 0).then_some(sectors / hybrid::SECTORS_PER_BLOCK)
}

/// Adds the data of each appended partition to `tree` (no node shows it), checking numbers.
fn add_appended(tree: &mut Tree, hybrid: Option<&Hybrid>) -> Result<Vec<DataId>> {
    let Some(h) = hybrid else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(h.appended.len());
    for (i, a) in h.appended.iter().enumerate() {
        if !(1..=4).contains(&a.number) || h.appended[..i].iter().any(|b| b.number == a.number) {
            return Err(Error::InvalidOption(format!(
                "appended partition {}: the number must be 1 to 4 and given once",
                a.number
            )));
        }
        let md = std::fs::metadata(&a.source).map_err(|e| Error::Source {
            path: a.source.clone(),
            source: e,
        })?;
        if !md.is_file() || md.len() == 0 {
            return Err(Error::Source {
                path: a.source.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "an appended partition must be a non-empty regular file",
                ),
            });
        }
        out.push(tree.data.len() as DataId);
        tree.data.push(crate::build::tree::FileData {
            source: Source::Path {
                path: a.source.clone(),
                stamp: Box::new(crate::build::tree::Stamp::of(&md)),
            },
            len: md.len(),
        });
    }
    Ok(out)
}

/// The El Torito boot catalog (El Torito 2.0): its entries point at the boot images' blocks, so
/// it is made from the finished layout.
struct BootCatalog;

impl Generated for BootCatalog {
    fn describe(&self) -> String {
        "the boot catalog".into()
    }
    fn bytes(&self, placed: &dyn Placed) -> std::io::Result<bytes::Bytes> {
        Ok(placed
            .boot()
            .map(|b| b.catalog(placed.file_lba()))
            .unwrap_or_default()
            .into())
    }
}

fn boot_err(path: &str, e: impl std::fmt::Display) -> Error {
    Error::InvalidOption(format!("boot image {path}: {e}"))
}

/// What is patched into a boot file's bytes as they stream (the source is never modified).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FilePatch {
    /// The boot info table, with the file's checksum.
    pub checksum: Option<u32>,
    /// GRUB 2's boot info.
    pub grub2_boot_info: bool,
}

/// One resolved entry.
#[derive(Debug, Clone)]
pub(crate) struct PlannedEntry {
    pub data: DataId,
    pub entry: BootEntry,
    /// `Some` when the file's bytes in the image differ from its source (a boot info table or
    /// GRUB 2 boot info is patched in): such a file is never deduplicated and is written again
    /// when appending a session.
    pub info_table: Option<FilePatch>,
}

/// What the layout keeps for booting.
#[derive(Debug, Clone)]
pub(crate) struct BootPlan {
    pub entries: Vec<PlannedEntry>,
    pub catalog_data: DataId,
    pub hybrid: Option<Hybrid>,
    /// The data of each of `hybrid.appended`, in that order (no node of the tree shows it).
    pub appended: Vec<DataId>,
    /// The MBR's CHS geometry, chosen by the layout from the image's size.
    pub geometry: Geometry,
    /// The boot images marked [`BootImage::apm_hfsplus`], in catalog order.
    pub apm_marked: Vec<DataId>,
}

impl BootPlan {
    /// Adds the boot catalog to `tree` and checks every entry (sizes, MBR, load size),
    /// computing boot info table checksums (each boot file is read once here).
    pub fn prepare(tree: &mut Tree, opts: &BootOptions) -> Result<Option<BootPlan>> {
        if opts.entries.is_empty() {
            return Ok(None);
        }
        if opts.entries.len() > catalog::MAX_ENTRIES {
            return Err(Error::InvalidOption(format!(
                "{} boot entries; at most {}",
                opts.entries.len(),
                catalog::MAX_ENTRIES
            )));
        }
        let appended = add_appended(tree, opts.hybrid.as_ref())?;
        let mut entries = Vec::with_capacity(opts.entries.len());
        for e in &opts.entries {
            let data = match e.appended_partition {
                Some(n) => {
                    let at = opts
                        .hybrid
                        .as_ref()
                        .and_then(|h| h.appended.iter().position(|a| a.number == n));
                    match at.and_then(|i| appended.get(i)) {
                        Some(&d) => d,
                        None => {
                            return Err(Error::InvalidOption(format!(
                                "boot image of appended partition {n}: there is no appended partition {n}"
                            )))
                        }
                    }
                }
                None => {
                    let id = tree.lookup(&e.image_path).map_err(|_| {
                        boot_err(&e.image_path, "not in the image (add the file first)")
                    })?;
                    let NodeKind::File { data } = tree.node(id).kind else {
                        return Err(boot_err(&e.image_path, "not a regular file"));
                    };
                    data
                }
            };
            let len = tree.data[data as usize].len;
            if len == 0 {
                return Err(boot_err(&e.image_path, "the file is empty"));
            }
            let (system_type, sector_count) = match e.emulation {
                Emulation::NoEmulation => {
                    let load = e.load_size.map_or(LoadSize::WholeFile, LoadSize::Sectors);
                    (
                        0,
                        catalog::no_emulation_sector_count(e.platform, len, load)
                            .map_err(|x| boot_err(&e.image_path, x))?,
                    )
                }
                Emulation::HardDisk => {
                    let mut first = [0u8; 512];
                    let mut got = 0usize;
                    tree.read_source(data, |off, chunk| {
                        let o = off as usize;
                        if o < 512 {
                            let n = chunk.len().min(512 - o);
                            first[o..o + n].copy_from_slice(&chunk[..n]);
                            got = got.max(o + n);
                        }
                    })
                    .map_err(|x| boot_err(&e.image_path, x))?;
                    let hd =
                        catalog::check_hard_disk(&first).map_err(|x| boot_err(&e.image_path, x))?;
                    (hd.system_type, hd.sector_count)
                }
                floppy => {
                    let found =
                        catalog::check_floppy(len).map_err(|x| boot_err(&e.image_path, x))?;
                    if found != floppy {
                        return Err(boot_err(
                            &e.image_path,
                            format!("{len} bytes is a {found:?} image, not {floppy:?}"),
                        ));
                    }
                    (0, 1)
                }
            };
            let checksum = if e.boot_info_table {
                if e.emulation != Emulation::NoEmulation {
                    return Err(boot_err(
                        &e.image_path,
                        "a boot info table needs a no-emulation entry",
                    ));
                }
                info_table::check_boot_file_len(len).map_err(|x| boot_err(&e.image_path, x))?;
                let mut sum = Checksum::new();
                // The bytes GRUB 2's boot info replaces: the table's checksum covers the file
                // as it is in the image, so their share is swapped at layout.
                let mut grub2_source = [0u8; info_table::GRUB2_BOOT_INFO_LEN];
                let at = info_table::GRUB2_BOOT_INFO_OFFSET;
                tree.read_source(data, |off, chunk| {
                    sum.update(off, chunk);
                    let end = off + chunk.len() as u64;
                    for (i, b) in grub2_source.iter_mut().enumerate() {
                        let pos = at + i as u64;
                        if pos >= off && pos < end {
                            *b = chunk[(pos - off) as usize];
                        }
                    }
                })
                .map_err(|x| boot_err(&e.image_path, x))?;
                Some(if e.grub2_boot_info {
                    sum.value()
                        .wrapping_sub(info_table::checksum_share(at, &grub2_source))
                } else {
                    sum.value()
                })
            } else {
                None
            };
            if e.grub2_boot_info {
                if e.emulation != Emulation::NoEmulation {
                    return Err(boot_err(
                        &e.image_path,
                        "GRUB 2 boot info needs a no-emulation entry",
                    ));
                }
                info_table::check_grub2_boot_file_len(len)
                    .map_err(|x| boot_err(&e.image_path, x))?;
            }
            let info_table = (checksum.is_some() || e.grub2_boot_info).then_some(FilePatch {
                checksum,
                grub2_boot_info: e.grub2_boot_info,
            });
            let entry = BootEntry {
                platform: e.platform,
                emulation: e.emulation,
                bootable: e.bootable,
                load_segment: e.load_segment,
                system_type,
                sector_count,
                load_rba: 0,
                id_string: e.id.clone(),
            };
            entries.push(PlannedEntry {
                data,
                entry,
                info_table,
            });
        }
        if let Some(h) = &opts.hybrid {
            if h.appended_as_gpt && !h.gpt {
                return Err(Error::InvalidOption(
                    "appended partitions in the GPT need the GPT (Hybrid::gpt)".into(),
                ));
            }
            if h.mbr_patch != MbrPatch::None
                && !entries.iter().any(|p| p.entry.platform == Platform::X86)
            {
                return Err(Error::InvalidOption(format!(
                    "a hybrid MBR patched for {:?} needs an x86 BIOS boot entry (its address is written into the MBR)",
                    h.mbr_patch
                )));
            }
        }
        let probe: Vec<BootEntry> = entries.iter().map(|p| p.entry.clone()).collect();
        let len = catalog::catalog_len(&probe) as u64;
        catalog::encode_catalog(&probe)
            .map_err(|x| Error::InvalidOption(format!("boot catalog: {x}")))?;
        let node = tree.add_file(
            &opts.catalog_path,
            crate::build::tree::FileData {
                source: Source::Generated(Arc::new(BootCatalog)),
                len,
            },
        )?;
        if opts.hide_catalog {
            // As xorriso's --boot-catalog-hide: in no directory (the boot record points at it).
            tree.set_hidden(node, true);
            tree.leave_out(
                node,
                crate::build::tree::OUT_OF_ISO | crate::build::tree::OUT_OF_JOLIET,
            );
        }
        let NodeKind::File { data: catalog_data } = tree.node(node).kind else {
            return Err(Error::InvalidOption(
                "boot catalog path is not a file".into(),
            ));
        };
        let apm_marked = check_apm(opts, &entries, &appended)?;
        Ok(Some(BootPlan {
            entries,
            catalog_data,
            hybrid: opts.hybrid.clone(),
            appended,
            geometry: Geometry::default(),
            apm_marked,
        }))
    }

    /// The catalog bytes with the boot files' blocks.
    pub fn catalog(&self, file_lba: &[u32]) -> Vec<u8> {
        let entries: Vec<BootEntry> = self
            .entries
            .iter()
            .map(|p| BootEntry {
                load_rba: file_lba[p.data as usize],
                ..p.entry.clone()
            })
            .collect();
        catalog::encode_catalog(&entries).unwrap_or_default()
    }

    /// Boot file patchers (boot info table, GRUB 2 boot info) by data id.
    pub fn patchers(&self, file_lba: &[u32], tree: &Tree) -> HashMap<DataId, BootFilePatcher> {
        self.entries
            .iter()
            .filter_map(|p| {
                let patch = p.info_table?;
                let lba = file_lba[p.data as usize];
                let grub2_boot_info = patch
                    .grub2_boot_info
                    .then(|| info_table::grub2_boot_info(lba));
                // The checksum of the file as written: with GRUB 2's boot info in it (its
                // source bytes' share was taken out in `prepare`).
                let info_table = patch.checksum.and_then(|sum| {
                    let sum = grub2_boot_info.map_or(sum, |v| {
                        sum.wrapping_add(info_table::checksum_share(
                            info_table::GRUB2_BOOT_INFO_OFFSET,
                            &v.to_le_bytes(),
                        ))
                    });
                    InfoTablePatcher::new(16, lba, tree.data[p.data as usize].len, sum).ok()
                });
                Some((
                    p.data,
                    BootFilePatcher {
                        info_table,
                        grub2_boot_info,
                    },
                ))
            })
            .collect()
    }

    /// The blocks appended partition `data` takes: its file's, rounded up to whole blocks (as
    /// xorriso's partition tables count them) and, with [`CylinderAlign::All`], to whole
    /// cylinders of `geometry`.
    pub(crate) fn appended_blocks(&self, tree: &Tree, data: DataId, geometry: Geometry) -> u64 {
        let blocks = tree
            .data
            .get(data as usize)
            .map_or(1, |d| d.len.div_ceil(crate::BLOCK_SIZE_U64).max(1));
        match cylinder_blocks(geometry) {
            Some(c) if self.hybrid.as_ref().is_some_and(|h| h.aligns().1) => {
                blocks.next_multiple_of(c)
            }
            _ => blocks,
        }
    }

    /// The first sector and the sector count of appended partition `data`.
    fn appended_extent(&self, tree: &Tree, file_lba: &[u32], data: DataId) -> (u64, u64) {
        let first = hybrid::iso_block_to_sector(u64::from(file_lba[data as usize]));
        let blocks = self.appended_blocks(tree, data, self.geometry);
        (first, hybrid::iso_block_to_sector(blocks))
    }

    /// Where the ISO 9660 part of the image ends (exclusive, in blocks): at the first appended
    /// partition, or at `total_blocks`.
    pub fn iso_end_block(&self, file_lba: &[u32], total_blocks: u64) -> u64 {
        self.appended
            .iter()
            .filter_map(|&d| file_lba.get(d as usize))
            .map(|&b| u64::from(b))
            .min()
            .unwrap_or(total_blocks)
    }

    /// The first block of the partition over the ISO 9660 file system: the partition offset,
    /// or `default`.
    fn iso_first_block(&self, default: u64) -> u64 {
        self.hybrid
            .as_ref()
            .and_then(Hybrid::partition_offset)
            .map_or(default, u64::from)
    }

    /// The GPT of a hybrid image, if asked for: one EFI system partition over the first UEFI
    /// boot image.
    pub fn gpt(
        &self,
        file_lba: &[u32],
        tree: &Tree,
        total_blocks: u64,
        seed: u64,
    ) -> Option<GptDisk> {
        let h = self.hybrid.as_ref()?;
        if !h.gpt {
            return None;
        }
        let extent = |data: DataId| {
            let first = hybrid::iso_block_to_sector(u64::from(file_lba[data as usize]));
            let sectors = tree.data[data as usize].len.div_ceil(512).max(1);
            (first, first + sectors - 1)
        };
        // GPT attribute bits 0 (required) and 60 (read-only), as xorriso sets on the
        // partitions over the ISO 9660 file system.
        const ISO_ATTRIBUTES: u64 = 1 << 60 | 1;
        let efi_image = self
            .entries
            .iter()
            .find(|p| p.entry.platform == Platform::Efi);
        if h.isohybrid_gpt && !h.appended_as_gpt {
            let iso_first = hybrid::iso_block_to_sector(self.iso_first_block(16));
            let mut end = hybrid::iso_block_to_sector(
                self.iso_end_block(file_lba, total_blocks)
                    .min(total_blocks.saturating_sub(u64::from(hybrid::GPT_BACKUP_BLOCKS))),
            );
            // xorriso's ISOHybrid overlaps a UEFI image inside the ISO (an "actually invalid"
            // GPT, says its manual); ours ends where that image starts, so the GPT is valid.
            if let Some(efi) = efi_image.filter(|p| !self.appended.contains(&p.data)) {
                let start = extent(efi.data).0;
                if start > iso_first {
                    end = end.min(start);
                }
            }
            let mut partitions = vec![GptPartition {
                type_guid: h.iso_gpt_part_type.unwrap_or(hybrid::type_guid::BASIC_DATA),
                unique_guid: Guid::deterministic(seed, 1),
                first_lba: iso_first,
                last_lba: end.saturating_sub(1),
                attributes: ISO_ATTRIBUTES,
                name: "ISOHybrid".into(),
            }];
            if let Some(efi) = efi_image {
                let type_guid = if h.isohybrid_gpt_hfsplus {
                    hybrid::type_guid::HFS_PLUS
                } else {
                    hybrid::type_guid::BASIC_DATA
                };
                let (first, last) = if self.appended.contains(&efi.data) {
                    let (first, n) = self.appended_extent(tree, file_lba, efi.data);
                    (first, first + n - 1)
                } else {
                    extent(efi.data)
                };
                partitions.push(GptPartition {
                    type_guid,
                    unique_guid: Guid::deterministic(seed, 2),
                    first_lba: first,
                    last_lba: last,
                    attributes: ISO_ATTRIBUTES,
                    name: "ISOHybrid1".into(),
                });
            }
            return Some(GptDisk {
                disk_guid: Guid::deterministic(seed, 0),
                total_sectors: total_blocks * hybrid::SECTORS_PER_BLOCK,
                partitions,
            });
        }
        let mut fixed = Vec::with_capacity(2 + self.appended.len());
        // The EFI system partition over the UEFI boot image, unless that image is an appended
        // partition (then its own entry below).
        if let Some(efi) = self
            .entries
            .iter()
            .find(|p| p.entry.platform == Platform::Efi)
            .filter(|p| !self.appended.contains(&p.data))
        {
            let (first, last) = extent(efi.data);
            fixed.push(GptPartition {
                type_guid: hybrid::type_guid::EFI_SYSTEM,
                unique_guid: Guid::deterministic(seed, 1),
                first_lba: first,
                last_lba: last,
                attributes: 0,
                name: "EFI boot".into(),
            });
        }
        for (a, &data) in h.appended.iter().zip(&self.appended) {
            let (first, sectors) = self.appended_extent(tree, file_lba, data);
            let last = first + sectors - 1;
            fixed.push(GptPartition {
                type_guid: a.partition_type.gpt_guid(),
                unique_guid: Guid::deterministic(seed, 10 + u64::from(a.number)),
                first_lba: first,
                last_lba: last,
                attributes: 0,
                name: format!("Appended{}", a.number),
            });
        }
        fixed.sort_by_key(|p| p.first_lba);
        let mut partitions = Vec::with_capacity(2 * fixed.len() + 1);
        if h.gpt_iso_partitions || h.appended_as_gpt {
            // The ISO 9660 blocks from the primary volume descriptor (block 16, or the
            // partition offset) up to the backup GPT (the last GPT_BACKUP_BLOCKS blocks),
            // around the partitions above.
            let iso_first = hybrid::iso_block_to_sector(self.iso_first_block(16));
            let iso_last = hybrid::iso_block_to_sector(
                total_blocks.saturating_sub(u64::from(hybrid::GPT_BACKUP_BLOCKS)),
            )
            .saturating_sub(1);
            let mut index = 2;
            // Named as xorriso names them: "ISO9660" for the first, "Gap1", "Gap2"... after.
            let mut gap = |from: u64, to: u64, partitions: &mut Vec<GptPartition>| {
                if from <= to {
                    partitions.push(GptPartition {
                        type_guid: h.iso_gpt_part_type.unwrap_or(hybrid::type_guid::ISO9660),
                        unique_guid: Guid::deterministic(seed, index),
                        first_lba: from,
                        last_lba: to,
                        attributes: ISO_ATTRIBUTES,
                        name: if index == 2 {
                            "ISO9660".into()
                        } else {
                            format!("Gap{}", index - 2)
                        },
                    });
                    index += 1;
                }
            };
            let mut cursor = iso_first;
            for p in fixed {
                gap(cursor, p.first_lba.saturating_sub(1), &mut partitions);
                cursor = cursor.max(p.last_lba + 1);
                partitions.push(p);
            }
            gap(cursor, iso_last, &mut partitions);
        } else {
            partitions = fixed;
        }
        Some(GptDisk {
            disk_guid: Guid::deterministic(seed, 0),
            total_sectors: total_blocks * hybrid::SECTORS_PER_BLOCK,
            partitions,
        })
    }

    /// The MBR partitions beside the GPT of [`Hybrid::isohybrid_gpt`].
    fn isohybrid_gpt_mbr(
        &self,
        h: &Hybrid,
        file_lba: &[u32],
        tree: &Tree,
        total_blocks: u64,
    ) -> [Option<MbrPartition>; 4] {
        let sector = |b: u64| u32::try_from(hybrid::iso_block_to_sector(b)).unwrap_or(u32::MAX);
        let extent = |data: DataId| {
            let first = sector(u64::from(file_lba[data as usize]));
            let n = tree.data[data as usize].len.div_ceil(512).max(1);
            (first, u32::try_from(n).unwrap_or(u32::MAX))
        };
        let first = sector(self.iso_first_block(0));
        let end = sector(self.iso_end_block(file_lba, total_blocks));
        let mut slots: [Option<MbrPartition>; 4] = [None; 4];
        slots[0] = Some(MbrPartition {
            bootable: true,
            partition_type: h.iso_mbr_part_type.unwrap_or(0x00),
            first_lba: first,
            sectors: end.saturating_sub(first),
        });
        for (a, &data) in h.appended.iter().zip(&self.appended) {
            let (first_lba, sectors) = self.appended_extent(tree, file_lba, data);
            let first_lba = u32::try_from(first_lba).unwrap_or(u32::MAX);
            let sectors = u32::try_from(sectors).unwrap_or(u32::MAX);
            if let Some(slot) = slots.get_mut(usize::from(a.number) - 1) {
                *slot = Some(MbrPartition {
                    bootable: false,
                    partition_type: a.partition_type.mbr_byte(),
                    first_lba,
                    sectors,
                });
            }
        }
        if let Some(efi) = self
            .entries
            .iter()
            .find(|p| p.entry.platform == Platform::Efi)
            .filter(|p| !self.appended.contains(&p.data))
        {
            let (first_lba, sectors) = extent(efi.data);
            if let Some(slot) = slots.iter_mut().skip(1).find(|s| s.is_none()) {
                *slot = Some(MbrPartition {
                    bootable: false,
                    partition_type: if h.isohybrid_gpt_hfsplus {
                        0x00
                    } else {
                        hybrid::MBR_TYPE_EFI
                    },
                    first_lba,
                    sectors,
                });
            }
        }
        slots
    }

    /// The system area (16 blocks): the MBR, and the primary GPT when asked for.
    pub fn system_area(
        &self,
        file_lba: &[u32],
        tree: &Tree,
        total_blocks: u64,
        seed: u64,
    ) -> Vec<u8> {
        let Some(h) = &self.hybrid else {
            return Vec::new();
        };
        let bios_lba = self
            .entries
            .iter()
            .find(|p| p.entry.platform == Platform::X86)
            .map(|p| file_lba[p.data as usize]);
        let code: Option<[u8; 440]> = h.mbr_boot_code.as_ref().map(|c| {
            let mut b = [0u8; 440];
            let n = c.len().min(440);
            b[..n].copy_from_slice(&c[..n]);
            if let Some(v) = bios_lba.and_then(|l| h.mbr_patch.value(l)) {
                b[MBR_BOOT_LBA_OFFSET..MBR_BOOT_LBA_OFFSET + 8].copy_from_slice(&v.to_le_bytes());
            }
            b
        });
        let total_sectors = total_blocks * hybrid::SECTORS_PER_BLOCK;
        let signature = seed as u32;
        let mut out = Vec::with_capacity(crate::BLOCK_SIZE * 16);
        match self.gpt(file_lba, tree, total_blocks, seed) {
            Some(disk) if h.isohybrid_gpt && !h.appended_as_gpt => {
                let slots = self.isohybrid_gpt_mbr(h, file_lba, tree, total_blocks);
                out.extend_from_slice(
                    &hybrid::mbr_geometry(code.as_ref(), signature, &slots, self.geometry)
                        .unwrap_or([0; 512]),
                );
                self.write_gpt_primary(&mut out, &disk, file_lba, tree);
            }
            Some(disk) => {
                let mut mbr = hybrid::protective_mbr_geometry(
                    code.as_ref(),
                    signature,
                    total_sectors,
                    self.geometry,
                );
                if h.mbr_force_bootable {
                    // Slot 2: boot indicator 0x80, type 0x00, the first sector only.
                    let e = &mut mbr[462..478];
                    e[0] = 0x80;
                    e[1..4].copy_from_slice(&hybrid::lba_to_chs(0).unwrap_or([0, 1, 0]));
                    e[4] = 0x00;
                    e[5..8].copy_from_slice(&hybrid::lba_to_chs(0).unwrap_or([0, 1, 0]));
                    e[8..12].copy_from_slice(&0u32.to_le_bytes());
                    e[12..16].copy_from_slice(&1u32.to_le_bytes());
                }
                out.extend_from_slice(&mbr);
                self.write_gpt_primary(&mut out, &disk, file_lba, tree);
            }
            None => {
                // The ISO partition ends where the first appended partition starts; with a
                // partition offset it starts there (its own descriptors are at its block 16).
                let iso_end =
                    hybrid::iso_block_to_sector(self.iso_end_block(file_lba, total_blocks));
                let all = u32::try_from(iso_end).unwrap_or(u32::MAX);
                let offset = h.partition_offset().map(|n| {
                    u32::try_from(hybrid::iso_block_to_sector(u64::from(n))).unwrap_or(u32::MAX)
                });
                let mut slots: [Option<MbrPartition>; 4] = [None; 4];
                slots[0] = if h.protective_msdos_label
                    || (h.mbr_patch == MbrPatch::Grub2 && offset.is_some())
                {
                    // Partition 1 claims the image but its first sector (from the partition
                    // offset, also for GRUB 2's MBR, as xorriso writes it); bootable, as its
                    // type is neither 0xEE nor 0xEF.
                    let first = offset.unwrap_or(1);
                    Some(MbrPartition {
                        bootable: true,
                        partition_type: h.iso_mbr_part_type.unwrap_or(0xCD),
                        first_lba: first,
                        sectors: all.saturating_sub(first),
                    })
                } else if h.mbr_patch == MbrPatch::Grub2 && offset.is_none() {
                    None
                } else if h.mbr_boot_code.is_none()
                    && h.mbr_patch == MbrPatch::None
                    && !self.appended.is_empty()
                {
                    // No boot code, only appended partitions: xorriso's partition 1 over the
                    // ISO 9660 part, not bootable, type 0x83.
                    let first = offset.unwrap_or(0);
                    Some(MbrPartition {
                        bootable: false,
                        partition_type: h.iso_mbr_part_type.unwrap_or(0x83),
                        first_lba: first,
                        sectors: all.saturating_sub(first),
                    })
                } else {
                    // isohybrid style: one bootable partition over the whole image (from the
                    // partition offset).
                    let first = offset.unwrap_or(0);
                    Some(MbrPartition {
                        bootable: true,
                        partition_type: h.iso_mbr_part_type.unwrap_or(0x17),
                        first_lba: first,
                        sectors: all.saturating_sub(first),
                    })
                };
                // Appended partitions in the Apple Partition Map are not MBR partitions (as
                // xorriso writes them).
                let in_mbr = if h.appended_as_apm {
                    0
                } else {
                    h.appended.len()
                };
                for (a, &data) in h.appended.iter().zip(&self.appended).take(in_mbr) {
                    let (first, sectors) = self.appended_extent(tree, file_lba, data);
                    if let Some(slot) = slots.get_mut(usize::from(a.number) - 1) {
                        *slot = Some(MbrPartition {
                            bootable: false,
                            partition_type: a.partition_type.mbr_byte(),
                            first_lba: u32::try_from(first).unwrap_or(u32::MAX),
                            sectors: u32::try_from(sectors).unwrap_or(u32::MAX),
                        });
                    }
                }
                let mut mbr = hybrid::mbr_geometry(code.as_ref(), signature, &slots, self.geometry)
                    .unwrap_or([0; 512]);
                if !self.apm_marked.is_empty()
                    && h.iso_mbr_part_type.is_none()
                    && !h.protective_msdos_label
                    && h.mbr_patch != MbrPatch::Grub2
                {
                    // Beside an Apple Partition Map of marked boot images, xorriso's isohybrid
                    // partition 1 has type 0x00 (which `mbr_slots` takes for an unused slot).
                    mbr[446 + 4] = 0x00;
                }
                out.extend_from_slice(&mbr);
            }
        }
        self.write_apm(&mut out, file_lba, tree);
        out
    }
}

/// An Apple Partition Map as the system area gets it (`BootPlan::apm`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApmPlan {
    pub block_size: ApmBlockSize,
    pub style: DdmStyle,
    /// The partitions in disk order (gap fillers included), not the map's own entry.
    pub parts: Vec<ApmPartition>,
    /// Gap fillers were asked for (they also move a GPT's entries one block further, as in
    /// xorriso's images).
    pub gaps: bool,
}

/// Most partitions (gap fillers included) an Apple Partition Map may hold: the map's blocks
/// must end in the system area, and before the GPT entries (which end by sector 64) if any.
fn apm_room(block_size: ApmBlockSize, gpt: bool, gaps: bool) -> usize {
    if gpt {
        // Sector of the GPT entries + 32 <= 64: 2 + parts + gaps <= 8 blocks.
        8usize.saturating_sub(2 + usize::from(gaps))
    } else {
        apm::SYSTEM_AREA_BYTES / block_size.bytes() - 2
    }
}

/// Checks the Apple Partition Map requests of `opts` and returns the marked boot images' data.
fn check_apm(
    opts: &BootOptions,
    entries: &[PlannedEntry],
    appended: &[DataId],
) -> Result<Vec<DataId>> {
    let marked: Vec<DataId> = opts
        .entries
        .iter()
        .zip(entries)
        .filter(|(e, _)| e.apm_hfsplus)
        .map(|(_, p)| p.data)
        .collect();
    let Some(h) = &opts.hybrid else {
        if marked.is_empty() {
            return Ok(marked);
        }
        return Err(Error::InvalidOption(
            "a boot image in the Apple Partition Map (apm_hfsplus) needs a hybrid system area with an isohybrid MBR".into(),
        ));
    };
    if !marked.is_empty() {
        if h.mbr_patch != MbrPatch::Isohybrid {
            return Err(Error::InvalidOption(
                "a boot image in the Apple Partition Map (apm_hfsplus, -isohybrid-apm-hfsplus) needs an isohybrid MBR (-isohybrid-mbr: MbrPatch::Isohybrid)".into(),
            ));
        }
        if !h.mbr_boot_code.as_deref().is_some_and(apm::has_mockup_room) {
            return Err(Error::InvalidOption(
                "the MBR boot code does not begin with the 32 bytes (33 ED and 30 x 90) that the Apple Partition Map header replaces; use ISOLINUX's isohdpfx.bin or isohdppx.bin".into(),
            ));
        }
        if h.appended_as_apm && marked.iter().any(|d| appended.contains(d)) {
            return Err(Error::InvalidOption(
                "a boot image that is an appended partition would be in the Apple Partition Map twice (apm_hfsplus and appended_as_apm overlap)".into(),
            ));
        }
    }
    let from_appended = if h.appended_as_apm { appended.len() } else { 0 };
    if marked.is_empty() && from_appended == 0 {
        return Ok(marked);
    }
    let gaps = marked.is_empty();
    let block_size = if gaps {
        match h.apm_block_size {
            Some(ApmBlockSize::B512) if h.gpt => {
                return Err(Error::InvalidOption(
                    "an Apple Partition Map of 512-byte blocks cannot be written beside a GPT (its header is in block 0): use 2048 (-apm-block-size 2048)".into(),
                ))
            }
            Some(b) => b,
            None if h.gpt => ApmBlockSize::B2048,
            None => ApmBlockSize::B512,
        }
    } else {
        ApmBlockSize::B2048
    };
    // Gap fillers: at most one before each appended partition.
    let parts = marked.len() + from_appended * if gaps { 2 } else { 1 };
    let room = apm_room(block_size, h.gpt, gaps);
    if parts > room {
        return Err(Error::InvalidOption(format!(
            "{parts} Apple Partition Map entries; at most {room} fit in the system area here"
        )));
    }
    Ok(marked)
}

impl BootPlan {
    /// The Apple Partition Map, if boot images are marked for it or appended partitions go
    /// into it: entries "EFI" (Apple_HFS) over the marked boot images and "AppendedN" (Data)
    /// over the appended partitions, in disk order; without marked images, gap fillers over the
    /// ISO 9660 blocks from block 16 before them ([`apm::fill_gaps`]).
    pub(crate) fn apm(&self, file_lba: &[u32], tree: &Tree) -> Option<ApmPlan> {
        let h = self.hybrid.as_ref()?;
        let appended: &[DataId] = if h.appended_as_apm {
            &self.appended
        } else {
            &[]
        };
        if self.apm_marked.is_empty() && appended.is_empty() {
            return None;
        }
        let gaps = self.apm_marked.is_empty();
        let block_size = if gaps {
            h.apm_block_size.unwrap_or(if h.gpt {
                ApmBlockSize::B2048
            } else {
                ApmBlockSize::B512
            })
        } else {
            ApmBlockSize::B2048
        };
        let per = block_size.per_iso_block();
        let bs = block_size.bytes() as u64;
        let extent = |data: DataId| {
            let start = u64::from(file_lba.get(data as usize).copied().unwrap_or(0)) * per;
            let len = tree.data.get(data as usize).map_or(0, |d| d.len);
            (
                u32::try_from(start).unwrap_or(u32::MAX),
                u32::try_from(len.div_ceil(bs).max(1)).unwrap_or(u32::MAX),
            )
        };
        let mut parts = Vec::with_capacity(self.apm_marked.len() + appended.len());
        for &d in &self.apm_marked {
            let (start, blocks) = extent(d);
            parts.push(ApmPartition {
                start,
                blocks,
                name: "EFI".into(),
                type_name: apm::TYPE_HFS.into(),
                status: apm::status::BOOT_IMAGE,
            });
        }
        for (a, &d) in h.appended.iter().zip(appended) {
            let (start, blocks) = extent(d);
            parts.push(ApmPartition {
                start,
                blocks,
                name: format!("Appended{}", a.number),
                type_name: apm::TYPE_DATA.into(),
                status: apm::status::DATA,
            });
        }
        parts.sort_by_key(|p| p.start);
        // Two entries of one image, or twins the layout deduplicated, share an extent: one
        // entry for it.
        parts.dedup_by(|a, b| a.start == b.start && a.blocks == b.blocks);
        if gaps {
            parts = apm::fill_gaps((16 * per) as u32, &parts);
        }
        Some(ApmPlan {
            block_size,
            style: if gaps {
                DdmStyle::Plain
            } else {
                DdmStyle::IsohybridMockup
            },
            parts,
            gaps,
        })
    }

    /// Where the GPT's primary entries go when an Apple Partition Map is written beside it
    /// (`None`: sector 2, as without one).
    fn apm_gpt_entries_sector(&self, file_lba: &[u32], tree: &Tree) -> Option<u64> {
        let p = self.apm(file_lba, tree)?;
        (p.block_size == ApmBlockSize::B2048)
            .then(|| apm::gpt_entries_sector(p.parts.len() + 2, p.gaps))
    }

    /// The backup GPT (the last blocks of the image), if the image has a GPT.
    pub fn gpt_backup(
        &self,
        file_lba: &[u32],
        tree: &Tree,
        total_blocks: u64,
        seed: u64,
    ) -> Option<Vec<u8>> {
        let disk = self.gpt(file_lba, tree, total_blocks, seed)?;
        match self.apm_gpt_entries_sector(file_lba, tree) {
            None => disk.backup().ok(),
            Some(at) => disk.backup_entries_at(at).ok(),
        }
    }

    /// Writes the Apple Partition Map over a rendered system area: the driver descriptor
    /// header over the first bytes (the MBR's boot code) and the entries from block 1.
    /// Appends the primary GPT (header and entry array) after the MBR in `out`: at sector 2, or,
    /// beside an Apple Partition Map, after the map's blocks (the map takes the blocks after the
    /// GPT header's).
    fn write_gpt_primary(&self, out: &mut Vec<u8>, disk: &GptDisk, file_lba: &[u32], tree: &Tree) {
        match self.apm_gpt_entries_sector(file_lba, tree) {
            None => out.extend(disk.primary().unwrap_or_default()),
            Some(at) => {
                if let Ok((header, entries)) = disk.primary_entries_at(at) {
                    out.extend_from_slice(&header);
                    out.resize(at as usize * hybrid::SECTOR_SIZE, 0);
                    out.extend(entries);
                }
            }
        }
    }

    fn write_apm(&self, out: &mut Vec<u8>, file_lba: &[u32], tree: &Tree) {
        let Some(p) = self.apm(file_lba, tree) else {
            return;
        };
        // The entries were counted and checked when the plan was made.
        let Ok(map) = apm::partition_map(p.block_size, &p.parts) else {
            return;
        };
        let ddm = apm::driver_descriptor(p.block_size, p.style);
        let bs = p.block_size.bytes();
        if out.len() < bs + map.len() {
            out.resize(bs + map.len(), 0);
        }
        out[..ddm.len()].copy_from_slice(&ddm);
        out[bs..bs + map.len()].copy_from_slice(&map);
    }
}
