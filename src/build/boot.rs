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
use crate::format::eltorito::info_table::{self, Checksum, InfoTablePatcher};

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
}

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

/// One resolved entry.
#[derive(Debug, Clone)]
pub(crate) struct PlannedEntry {
    pub data: DataId,
    pub entry: BootEntry,
    pub info_table: Option<u32>,
}

/// What the layout keeps for booting.
#[derive(Debug, Clone)]
pub(crate) struct BootPlan {
    pub entries: Vec<PlannedEntry>,
    pub catalog_data: DataId,
    pub hybrid: Option<Hybrid>,
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
        let mut entries = Vec::with_capacity(opts.entries.len());
        for e in &opts.entries {
            let id = tree
                .lookup(&e.image_path)
                .map_err(|_| boot_err(&e.image_path, "not in the image (add the file first)"))?;
            let NodeKind::File { data } = tree.node(id).kind else {
                return Err(boot_err(&e.image_path, "not a regular file"));
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
            let info_table = if e.boot_info_table {
                if e.emulation != Emulation::NoEmulation {
                    return Err(boot_err(
                        &e.image_path,
                        "a boot info table needs a no-emulation entry",
                    ));
                }
                info_table::check_boot_file_len(len).map_err(|x| boot_err(&e.image_path, x))?;
                let mut sum = Checksum::new();
                tree.read_source(data, |off, chunk| sum.update(off, chunk))
                    .map_err(|x| boot_err(&e.image_path, x))?;
                Some(sum.value())
            } else {
                None
            };
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

    /// Boot info table patchers by data id.
    pub fn patchers(&self, file_lba: &[u32], tree: &Tree) -> HashMap<DataId, InfoTablePatcher> {
        self.entries
            .iter()
            .filter_map(|p| {
                let sum = p.info_table?;
                InfoTablePatcher::new(
                    16,
                    file_lba[p.data as usize],
                    tree.data[p.data as usize].len,
                    sum,
                )
                .ok()
                .map(|t| (p.data, t))
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
        let efi = self
            .entries
            .iter()
            .find(|p| p.entry.platform == Platform::Efi)?;
        let first = hybrid::iso_block_to_sector(file_lba[efi.data as usize] as u64);
        let sectors = tree.data[efi.data as usize].len.div_ceil(512);
        Some(GptDisk {
            disk_guid: Guid::deterministic(seed, 0),
            total_sectors: total_blocks * hybrid::SECTORS_PER_BLOCK,
            partitions: vec![GptPartition {
                type_guid: hybrid::type_guid::EFI_SYSTEM,
                unique_guid: Guid::deterministic(seed, 1),
                first_lba: first,
                last_lba: first + sectors - 1,
                attributes: 0,
                name: "EFI boot".into(),
            }],
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
        let code: Option<[u8; 440]> = h.mbr_boot_code.as_ref().map(|c| {
            let mut b = [0u8; 440];
            let n = c.len().min(440);
            b[..n].copy_from_slice(&c[..n]);
            b
        });
        let total_sectors = total_blocks * hybrid::SECTORS_PER_BLOCK;
        let signature = seed as u32;
        let mut out = Vec::with_capacity(crate::BLOCK_SIZE * 16);
        match self.gpt(file_lba, tree, total_blocks, seed) {
            Some(disk) => {
                out.extend_from_slice(&hybrid::protective_mbr(
                    code.as_ref(),
                    signature,
                    total_sectors,
                ));
                out.extend(disk.primary().unwrap_or_default());
            }
            None => {
                // isohybrid style: one bootable partition over the whole image.
                let part = MbrPartition {
                    bootable: true,
                    partition_type: 0x17,
                    first_lba: 0,
                    sectors: u32::try_from(total_sectors).unwrap_or(u32::MAX),
                };
                out.extend_from_slice(
                    &hybrid::mbr(code.as_ref(), signature, &[part]).unwrap_or([0; 512]),
                );
            }
        }
        out
    }
}
