//! Bootable images: El Torito boot entries (BIOS and UEFI, every emulation mode, several
//! entries), the boot info table, and hybrid MBR / GPT system areas for USB sticks. The on-disk
//! encoders are in [`crate::format::eltorito`]; this module holds the options and what the layout does
//! with them.

use std::collections::HashMap;

use std::sync::Arc;

use crate::build::source::{Generated, Placed};
use crate::build::tree::{DataId, NodeKind, Source, Tree};
use crate::error::{Error, Result};
use crate::format::eltorito::catalog::{self, BootEntry, LoadSize};
use crate::format::eltorito::hybrid::{self, GptDisk, GptPartition, Guid, MbrPartition};
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
    /// Hide the boot catalog (hidden flag in ISO 9660 and Joliet; left out of UDF).
    pub hide_catalog: bool,
    /// A hybrid MBR (and GPT) system area.
    pub hybrid: Option<Hybrid>,
}

impl Default for BootOptions {
    fn default() -> Self {
        BootOptions {
            entries: Vec::new(),
            catalog_path: "/boot.catalog".into(),
            hide_catalog: false,
            hybrid: None,
        }
    }
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
        tree.set_hidden(node, opts.hide_catalog);
        let NodeKind::File { data: catalog_data } = tree.node(node).kind else {
            return Err(Error::InvalidOption(
                "boot catalog path is not a file".into(),
            ));
        };
        Ok(Some(BootPlan {
            entries,
            catalog_data,
            hybrid: opts.hybrid.clone(),
            appended,
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
            let (first, last) = extent(data);
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
            // The ISO 9660 blocks from the primary volume descriptor (block 16) up to the backup
            // GPT (the last GPT_BACKUP_BLOCKS blocks), around the partitions above.
            let iso_first = hybrid::iso_block_to_sector(16);
            let iso_last = hybrid::iso_block_to_sector(
                total_blocks.saturating_sub(u64::from(hybrid::GPT_BACKUP_BLOCKS)),
            )
            .saturating_sub(1);
            let mut index = 2;
            let mut gap = |from: u64, to: u64, partitions: &mut Vec<GptPartition>| {
                if from <= to {
                    partitions.push(GptPartition {
                        type_guid: h.iso_gpt_part_type.unwrap_or(hybrid::type_guid::ISO9660),
                        unique_guid: Guid::deterministic(seed, index),
                        first_lba: from,
                        last_lba: to,
                        attributes: 0,
                        name: "ISO9660".into(),
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
            Some(disk) => {
                let mut mbr = hybrid::protective_mbr(code.as_ref(), signature, total_sectors);
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
                out.extend(disk.primary().unwrap_or_default());
            }
            None => {
                // The ISO partition ends where the first appended partition starts.
                let iso_end = self
                    .appended
                    .iter()
                    .map(|&d| hybrid::iso_block_to_sector(u64::from(file_lba[d as usize])))
                    .min()
                    .unwrap_or(total_sectors);
                let all = u32::try_from(iso_end).unwrap_or(u32::MAX);
                let mut slots: [Option<MbrPartition>; 4] = [None; 4];
                slots[0] = if h.protective_msdos_label {
                    // Partition 1 claims the image but its first sector; bootable, as its type
                    // is neither 0xEE nor 0xEF.
                    Some(MbrPartition {
                        bootable: true,
                        partition_type: h.iso_mbr_part_type.unwrap_or(0xCD),
                        first_lba: 1,
                        sectors: all.saturating_sub(1),
                    })
                } else if h.mbr_patch == MbrPatch::Grub2 {
                    None
                } else {
                    // isohybrid style: one bootable partition over the whole image.
                    Some(MbrPartition {
                        bootable: true,
                        partition_type: h.iso_mbr_part_type.unwrap_or(0x17),
                        first_lba: 0,
                        sectors: all,
                    })
                };
                for (a, &data) in h.appended.iter().zip(&self.appended) {
                    let first = hybrid::iso_block_to_sector(u64::from(file_lba[data as usize]));
                    let sectors = tree.data[data as usize].len.div_ceil(512).max(1);
                    if let Some(slot) = slots.get_mut(usize::from(a.number) - 1) {
                        *slot = Some(MbrPartition {
                            bootable: false,
                            partition_type: a.partition_type.mbr_byte(),
                            first_lba: u32::try_from(first).unwrap_or(u32::MAX),
                            sectors: u32::try_from(sectors).unwrap_or(u32::MAX),
                        });
                    }
                }
                out.extend_from_slice(
                    &hybrid::mbr_slots(code.as_ref(), signature, &slots).unwrap_or([0; 512]),
                );
            }
        }
        out
    }
}
