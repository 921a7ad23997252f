//! El Torito and system-area options of the mkisofs personality, parsed in order into a typed
//! form. Those the library supports map to [`crate::boot_args::BootArgs`]; the others are
//! refused with "not implemented yet: OPTION" when the image is built.

use std::path::PathBuf;

use glassmaster::raw::eltorito::hybrid::Guid;
use glassmaster::{Emulation, PartitionType, Platform};

use crate::boot_args::{BootArgs, EntryArgs};

/// One El Torito entry as given (`-b` or `-e`, and the options after it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// Image path of the boot file, or `--interval:...` for `-e` of an appended partition.
    pub path: String,
    /// El Torito platform id (0 x86, 0xEF EFI, 1 PowerPC, 2 Mac).
    pub platform: u8,
    pub no_emul: bool,
    pub hard_disk: bool,
    pub no_boot: bool,
    pub load_size: Option<u16>,
    pub load_seg: Option<u16>,
    pub info_table: bool,
    pub grub2_info: bool,
    /// `-isohybrid-apm-hfsplus` applies to this entry.
    pub apm_hfsplus: bool,
}

/// An `-append_partition N TYPE FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendedPartition {
    pub number: u8,
    /// An MBR type byte (`0xef`) or a GPT type GUID, as given.
    pub type_code: String,
    pub file: PathBuf,
}

/// Every boot option of the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BootConfig {
    pub entries: Vec<Entry>,
    /// The entry being described (after `-b`/`-e`, until `-eltorito-alt-boot`).
    pub current: Option<Entry>,
    /// `-eltorito-platform` for the next `-b`.
    pub next_platform: Option<u8>,
    pub catalog: Option<String>,
    pub hide_catalog: bool,
    pub isohybrid_mbr: Option<PathBuf>,
    pub isohybrid_gpt_basdat: bool,
    /// `-isohybrid-gpt-hfsplus` (sets `isohybrid_gpt_basdat` too).
    pub isohybrid_gpt_hfsplus: bool,
    /// Options parsed but not implemented yet, by name, in order.
    pub unsupported: Vec<String>,
    pub append_partitions: Vec<AppendedPartition>,
    pub partition_offset: Option<u32>,
    pub grub2_mbr: Option<PathBuf>,
    pub generic_boot: Option<PathBuf>,
    pub mbr_force_bootable: bool,
    pub iso_mbr_part_type: Option<String>,
    /// `-efi-boot-part --efi-boot-image`.
    pub efi_boot_part: bool,
    pub protective_msdos_label: bool,
    pub appended_part_as_gpt: bool,
    /// `-partition_cyl_align` (`None`: auto).
    pub cylinder_align: Option<glassmaster::CylinderAlign>,
    /// `-partition_hd_cyl` (0: chosen).
    pub heads_per_cylinder: u8,
    /// `-partition_sec_hd` (0: chosen).
    pub sectors_per_head: u8,
    /// `-isohybrid-apm-hfsplus` given before any entry was started: it marks the next one.
    pub apm_pending: bool,
    pub appended_part_as_apm: bool,
    /// `-apm-block-size` (512 or 2048; 0 or absent lets the program decide).
    pub apm_block_size: Option<u32>,
}

impl BootConfig {
    /// `-b FILE` / `-e FILE`: starts an entry (a second one without `-eltorito-alt-boot`
    /// replaces the file of the current one, as mkisofs does).
    pub fn boot_file(&mut self, path: &str, efi: bool) {
        let platform = if efi {
            0xEF
        } else {
            self.next_platform.unwrap_or(0)
        };
        match self.current.as_mut() {
            Some(c) => {
                c.path = path.to_string();
                c.platform = platform;
            }
            None => {
                self.current = Some(Entry {
                    path: path.to_string(),
                    platform,
                    apm_hfsplus: std::mem::take(&mut self.apm_pending),
                    ..Entry::default()
                })
            }
        }
    }

    /// `-isohybrid-apm-hfsplus`: marks the entry being described or, between entries, the
    /// next one (as xorriso applies it to "the current El Torito boot image").
    pub fn isohybrid_apm(&mut self) {
        match self.current.as_mut() {
            Some(c) => c.apm_hfsplus = true,
            None => self.apm_pending = true,
        }
    }

    /// Whether `-isohybrid-apm-hfsplus` marks an entry.
    pub fn apm_marked(&self) -> bool {
        self.entries
            .iter()
            .chain(self.current.iter())
            .any(|e| e.apm_hfsplus)
    }

    /// The warning for `-isohybrid-apm-hfsplus` without `-isohybrid-mbr`: xorriso then writes
    /// no Apple Partition Map, and neither does this.
    pub fn apm_warning(&self) -> Option<&'static str> {
        (self.apm_marked() && self.isohybrid_mbr.is_none()).then_some(
            "-isohybrid-apm-hfsplus has no effect without -isohybrid-mbr (as in xorriso): no Apple Partition Map entry is written for the boot image",
        )
    }

    /// `-eltorito-alt-boot`.
    pub fn alt_boot(&mut self) {
        if let Some(c) = self.current.take() {
            self.entries.push(c);
        }
    }

    /// The entry an entry option applies to.
    pub fn entry(&mut self, option: &str) -> Result<&mut Entry, String> {
        self.current
            .as_mut()
            .ok_or_else(|| format!("{option} must follow -b or -e (an El Torito entry)"))
    }

    /// The library's form, or the first option not implemented yet.
    pub fn to_boot_args(&self) -> Result<BootArgs, String> {
        if let Some(u) = self.unsupported.first() {
            return Err(format!(
                "not implemented yet: {u} (El Torito and system-area options other than -b, -e, -c, --boot-catalog-hide, -no-emul-boot, -hard-disk-boot, -boot-load-size, -boot-load-seg, -boot-info-table, --grub2-boot-info, -eltorito-alt-boot, -eltorito-platform x86/efi, -isohybrid-mbr, --grub2-mbr, -isohybrid-gpt-basdat, -efi-boot-part --efi-boot-image, --protective-msdos-label, -iso_mbr_part_type, --mbr-force-bootable, -partition_offset, -partition_cyl_align, -partition_hd_cyl, -partition_sec_hd, -isohybrid-gpt-hfsplus, -G, -append_partition, -appended_part_as_gpt and -e --interval:appended_partition_N:all::)"
            ));
        }
        if self.generic_boot.is_some() && (self.isohybrid_mbr.is_some() || self.grub2_mbr.is_some())
        {
            return Err(
                "-G and -isohybrid-mbr / --grub2-mbr all give the system area: pick one".into(),
            );
        }
        if self.isohybrid_gpt_hfsplus && self.isohybrid_mbr.is_none() {
            return Err("-isohybrid-gpt-hfsplus works only with -isohybrid-mbr".into());
        }
        if self.isohybrid_mbr.is_some() && self.grub2_mbr.is_some() {
            return Err(
                "-isohybrid-mbr and --grub2-mbr both give the MBR boot code: pick one".into(),
            );
        }
        let (iso_mbr_part_type, iso_gpt_part_type) = match &self.iso_mbr_part_type {
            None => (None, None),
            Some(t) => match parse_partition_type(t)? {
                PartitionType::Mbr(b) => (Some(b), None),
                PartitionType::Gpt(g) => (None, Some(g)),
            },
        };
        let mut appended = Vec::new();
        for a in &self.append_partitions {
            appended.push((
                a.number,
                parse_partition_type(&a.type_code)?,
                a.file.clone(),
            ));
        }
        let mut out = BootArgs {
            catalog: self.catalog.clone(),
            hide_catalog: self.hide_catalog,
            hybrid_mbr: self
                .isohybrid_mbr
                .clone()
                .or_else(|| self.grub2_mbr.clone()),
            grub2_mbr: self.grub2_mbr.is_some(),
            hybrid_gpt: self.isohybrid_gpt_basdat,
            gpt_iso_partitions: self.efi_boot_part,
            protective_msdos_label: self.protective_msdos_label,
            iso_mbr_part_type,
            iso_gpt_part_type,
            mbr_force_bootable: self.mbr_force_bootable,
            appended,
            appended_as_gpt: self.appended_part_as_gpt,
            partition_offset: self.partition_offset,
            isohybrid_gpt: self.isohybrid_gpt_basdat && self.isohybrid_mbr.is_some(),
            isohybrid_gpt_hfsplus: self.isohybrid_gpt_hfsplus,
            system_area: self.generic_boot.clone(),
            cylinder_align: self.cylinder_align.unwrap_or_default(),
            heads_per_cylinder: self.heads_per_cylinder,
            sectors_per_head: self.sectors_per_head,
            appended_as_apm: self.appended_part_as_apm,
            apm_block_size: self.apm_block_size.filter(|&b| b != 0),
            ..BootArgs::default()
        };
        // Without -isohybrid-mbr the marks have no effect (apm_warning says so).
        let apm_marks = self.isohybrid_mbr.is_some();
        for e in self.entries.iter().chain(self.current.iter()) {
            let appended_partition = match e.path.strip_prefix("--interval:") {
                None => None,
                Some(rest) => Some(parse_interval(rest).ok_or_else(|| {
                    format!(
                        "not implemented yet: a boot image from {} (only --interval:appended_partition_N:all::)",
                        e.path
                    )
                })?),
            };
            if e.no_boot {
                return Err("not implemented yet: -eltorito-no-boot".into());
            }
            let platform = match e.platform {
                0 => Platform::X86,
                0xEF => Platform::Efi,
                p => {
                    return Err(format!(
                        "not implemented yet: -eltorito-platform {p:#04x} (x86 and efi are)"
                    ))
                }
            };
            let emulation = if e.no_emul {
                Some(Emulation::NoEmulation)
            } else if e.hard_disk {
                Some(Emulation::HardDisk)
            } else {
                None
            };
            let path = if appended_partition.is_some() {
                String::new()
            } else if e.path.starts_with('/') {
                e.path.clone()
            } else {
                format!("/{}", e.path)
            };
            out.entries.push(EntryArgs {
                path,
                platform,
                emulation,
                load_size: e.load_size,
                load_segment: e.load_seg.unwrap_or(0),
                info_table: e.info_table,
                grub2_boot_info: e.grub2_info,
                appended_partition,
                apm_hfsplus: e.apm_hfsplus && apm_marks,
            });
        }
        Ok(out)
    }
}

/// The `N` of `appended_partition_N:all::` (the rest of `--interval:...`): the whole of
/// appended partition N is the boot image.
fn parse_interval(rest: &str) -> Option<u8> {
    let n = rest
        .strip_prefix("appended_partition_")?
        .strip_suffix(":all::")?;
    n.parse().ok().filter(|n| (1..=8).contains(n))
}

/// A partition type as xorriso takes it: an MBR type byte (`0xef`, `239`) or a GPT type GUID
/// (`C12A7328-F81F-11D2-BA4B-00A0C93EC93B`).
pub fn parse_partition_type(s: &str) -> Result<PartitionType, String> {
    let byte = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u8::from_str_radix(h, 16).ok(),
        None => s.parse::<u8>().ok(),
    };
    if let Some(b) = byte {
        return Ok(PartitionType::Mbr(b));
    }
    Guid::parse(s).map(PartitionType::Gpt).ok_or_else(|| {
        format!("partition type {s:?}: expected an MBR type byte (0xef) or a GPT type GUID")
    })
}

/// `-eltorito-platform` values: "x86", "PPC", "Mac", "efi", 0xNN or a decimal number.
pub fn parse_platform(s: &str) -> Result<u8, String> {
    match s.to_ascii_lowercase().as_str() {
        "x86" => Ok(0),
        "ppc" => Ok(1),
        "mac" => Ok(2),
        "efi" => Ok(0xEF),
        other => match other.strip_prefix("0x") {
            Some(h) => u8::from_str_radix(h, 16),
            None => other.parse(),
        }
        .map_err(|_| format!("-eltorito-platform {s:?}: expected x86, PPC, Mac, efi or 0..255")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_map_to_boot_args() {
        let mut b = BootConfig::default();
        b.boot_file("isolinux/isolinux.bin", false);
        b.entry("-no-emul-boot").unwrap().no_emul = true;
        b.entry("-boot-load-size").unwrap().load_size = Some(4);
        b.alt_boot();
        b.boot_file("efi.img", true);
        b.catalog = Some("boot.cat".into());
        let a = b.to_boot_args().unwrap();
        assert_eq!(a.entries.len(), 2);
        assert_eq!(a.entries[0].path, "/isolinux/isolinux.bin");
        assert_eq!(a.entries[0].emulation, Some(Emulation::NoEmulation));
        assert_eq!(a.entries[1].platform, Platform::Efi);
        b.unsupported.push("-chrp-boot-part".into());
        assert!(b
            .to_boot_args()
            .unwrap_err()
            .contains("not implemented yet: -chrp-boot-part"));
        assert!(BootConfig::default().entry("-no-emul-boot").is_err());
        // -isohybrid-apm-hfsplus marks the entry being described, or between entries the
        // next; without -isohybrid-mbr it marks nothing (a warning says so).
        let mut b = BootConfig::default();
        b.isohybrid_apm();
        b.boot_file("isolinux.bin", false);
        b.alt_boot();
        b.boot_file("efi.img", true);
        b.alt_boot();
        b.boot_file("efi2.img", true);
        b.isohybrid_apm();
        let marks = |b: &BootConfig| -> Vec<bool> {
            b.to_boot_args()
                .unwrap()
                .entries
                .iter()
                .map(|e| e.apm_hfsplus)
                .collect()
        };
        assert!(b.apm_warning().is_some());
        assert_eq!(marks(&b), [false, false, false]);
        b.isohybrid_mbr = Some("isohdpfx.bin".into());
        assert!(b.apm_warning().is_none());
        assert_eq!(marks(&b), [true, false, true]);
        b.appended_part_as_apm = true;
        b.apm_block_size = Some(0);
        let a = b.to_boot_args().unwrap();
        assert!(a.appended_as_apm);
        assert_eq!(a.apm_block_size, None);
        assert_eq!(parse_platform("efi"), Ok(0xEF));
        assert_eq!(parse_platform("0x02"), Ok(2));
    }
}
