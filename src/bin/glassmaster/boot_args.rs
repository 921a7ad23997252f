//! mkisofs-style El Torito options. They are order-dependent (`-eltorito-alt-boot` starts a new
//! entry, and the options after it apply to that entry), which clap cannot express, so they are
//! taken out of the argument list in order before clap parses the rest:
//!
//! `-b FILE` (BIOS entry), `-e FILE` / `--efi-boot FILE` (UEFI entry), `-no-emul-boot`,
//! `-hard-disk-boot`, `-boot-load-size N`, `-boot-load-seg SEG`, `-boot-info-table`,
//! `-eltorito-alt-boot`, `-c PATH` (catalog), `--hide-boot-catalog`,
//! `--hybrid-mbr FILE` / `-isohybrid-mbr FILE` (MBR boot code), `--hybrid` (MBR without code),
//! `--hybrid-gpt` / `-isohybrid-gpt-basdat` (GPT with the UEFI image as EFI system partition),
//! `--hybrid-apm` / `-isohybrid-apm-hfsplus` (the current entry's image also in an Apple
//! Partition Map).
//! Single- and double-dash spellings are accepted.

use std::ffi::OsString;
use std::path::PathBuf;

use glassmaster::raw::eltorito::apm::ApmBlockSize;
use glassmaster::raw::eltorito::hybrid::Guid;
use glassmaster::{
    AppendedPartition, BootImage, Emulation, Hybrid, ImageBuilder, MbrPatch, PartitionType,
    Platform,
};

/// One entry as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryArgs {
    pub path: String,
    pub platform: Platform,
    /// `None`: floppy emulation of the size the file has (x86) or none (UEFI).
    pub emulation: Option<Emulation>,
    pub load_size: Option<u16>,
    pub load_segment: u16,
    pub info_table: bool,
    /// `--grub2-boot-info`: the boot image's block patched in at byte 2548.
    pub grub2_boot_info: bool,
    /// `-e --interval:appended_partition_N:all::`: the entry's image is appended partition N.
    pub appended_partition: Option<u8>,
    /// Also an Apple Partition Map entry (`-isohybrid-apm-hfsplus`).
    pub apm_hfsplus: bool,
}

/// All boot options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BootArgs {
    pub entries: Vec<EntryArgs>,
    pub catalog: Option<String>,
    pub hide_catalog: bool,
    pub hybrid_mbr: Option<PathBuf>,
    pub hybrid: bool,
    pub hybrid_gpt: bool,
    /// Which boot loader's MBR `hybrid_mbr` is (`--grub2-mbr`: GRUB 2's; else isohybrid's).
    pub grub2_mbr: bool,
    /// `-efi-boot-part --efi-boot-image`: GPT partitions over the ISO 9660 sectors too.
    pub gpt_iso_partitions: bool,
    pub protective_msdos_label: bool,
    pub iso_mbr_part_type: Option<u8>,
    pub iso_gpt_part_type: Option<Guid>,
    pub mbr_force_bootable: bool,
    /// `-append_partition N TYPE FILE`, in order.
    pub appended: Vec<(u8, PartitionType, PathBuf)>,
    pub appended_as_gpt: bool,
    /// `-partition_offset N` (mkisofs personality).
    pub partition_offset: Option<u32>,
    /// The mkisofs personality's `-isohybrid-mbr -isohybrid-gpt-basdat`: xorriso's MBR beside
    /// the GPT (`Hybrid::isohybrid_gpt`).
    pub isohybrid_gpt: bool,
    /// `-isohybrid-gpt-hfsplus` (mkisofs personality).
    pub isohybrid_gpt_hfsplus: bool,
    /// `-G FILE` (mkisofs personality): the system area from the file's first 32 KiB.
    pub system_area: Option<PathBuf>,
    /// `-partition_cyl_align`, `-partition_hd_cyl`, `-partition_sec_hd` (mkisofs personality).
    pub cylinder_align: glassmaster::CylinderAlign,
    pub heads_per_cylinder: u8,
    pub sectors_per_head: u8,
    /// `-appended_part_as_apm`.
    pub appended_as_apm: bool,
    /// `-apm-block-size` (512 or 2048).
    pub apm_block_size: Option<u32>,
}

fn norm(a: &str) -> Option<&'static str> {
    Some(match a.trim_start_matches('-') {
        "b" | "boot" => "b",
        "e" | "efi-boot" => "e",
        "no-emul-boot" => "no-emul-boot",
        "hard-disk-boot" => "hard-disk-boot",
        "boot-load-size" => "boot-load-size",
        "boot-load-seg" => "boot-load-seg",
        "boot-info-table" => "boot-info-table",
        "eltorito-alt-boot" => "eltorito-alt-boot",
        "c" | "boot-catalog" => "c",
        "hide-boot-catalog" => "hide-boot-catalog",
        "hybrid-mbr" | "isohybrid-mbr" => "hybrid-mbr",
        "hybrid" => "hybrid",
        "hybrid-gpt" | "isohybrid-gpt-basdat" => "hybrid-gpt",
        "hybrid-apm" | "isohybrid-apm-hfsplus" => "hybrid-apm",
        _ => return None,
    })
}

/// Takes the boot options out of `args` (only for the `build` and `map` subcommands).
pub fn extract(args: Vec<OsString>) -> Result<(Vec<OsString>, BootArgs), String> {
    let is_layout_cmd = args
        .get(1)
        .and_then(|a| a.to_str())
        .is_some_and(|c| c == "build" || c == "map");
    if !is_layout_cmd {
        return Ok((args, BootArgs::default()));
    }
    let mut out = Vec::with_capacity(args.len());
    let mut boot = BootArgs::default();
    let mut current: Option<EntryArgs> = None;
    let mut it = args.into_iter();
    let mut past_dashdash = false;
    while let Some(a) = it.next() {
        let opt = if past_dashdash {
            None
        } else {
            a.to_str().filter(|s| s.starts_with('-')).and_then(norm)
        };
        if a == "--" {
            past_dashdash = true;
        }
        let Some(opt) = opt else {
            out.push(a);
            continue;
        };
        let mut value = |name: &str| -> Result<String, String> {
            it.next()
                .and_then(|v| v.into_string().ok())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        let cur = |current: &mut Option<EntryArgs>, name: &str| -> Result<(), String> {
            if current.is_none() {
                return Err(format!("{name} must follow -b or -e"));
            }
            Ok(())
        };
        match opt {
            "b" | "e" => {
                let path = value(if opt == "b" { "-b" } else { "-e" })?;
                let path = if path.starts_with('/') {
                    path
                } else {
                    format!("/{path}")
                };
                let platform = if opt == "b" {
                    Platform::X86
                } else {
                    Platform::Efi
                };
                if let Some(c) = current.as_mut() {
                    // mkisofs: a second -b/-e without -eltorito-alt-boot replaces the file.
                    c.path = path;
                    c.platform = platform;
                } else {
                    current = Some(EntryArgs {
                        path,
                        platform,
                        emulation: None,
                        load_size: None,
                        load_segment: 0,
                        info_table: false,
                        grub2_boot_info: false,
                        appended_partition: None,
                        apm_hfsplus: false,
                    });
                }
            }
            "no-emul-boot" => {
                cur(&mut current, "-no-emul-boot")?;
                if let Some(c) = current.as_mut() {
                    c.emulation = Some(Emulation::NoEmulation);
                }
            }
            "hard-disk-boot" => {
                cur(&mut current, "-hard-disk-boot")?;
                if let Some(c) = current.as_mut() {
                    c.emulation = Some(Emulation::HardDisk);
                }
            }
            "boot-load-size" => {
                let v = value("-boot-load-size")?;
                cur(&mut current, "-boot-load-size")?;
                let n: u16 = v.parse().map_err(|_| {
                    format!("-boot-load-size {v:?}: expected 1 to 65535 512-byte sectors")
                })?;
                if let Some(c) = current.as_mut() {
                    c.load_size = Some(n);
                }
            }
            "boot-load-seg" => {
                let v = value("-boot-load-seg")?;
                cur(&mut current, "-boot-load-seg")?;
                let n = match v.strip_prefix("0x") {
                    Some(h) => u16::from_str_radix(h, 16),
                    None => v.parse(),
                }
                .map_err(|_| format!("-boot-load-seg {v:?}: expected a segment number"))?;
                if let Some(c) = current.as_mut() {
                    c.load_segment = n;
                }
            }
            "boot-info-table" => {
                cur(&mut current, "-boot-info-table")?;
                if let Some(c) = current.as_mut() {
                    c.info_table = true;
                }
            }
            "eltorito-alt-boot" => {
                if let Some(c) = current.take() {
                    boot.entries.push(c);
                }
            }
            "c" => boot.catalog = Some(value("-c")?),
            "hide-boot-catalog" => boot.hide_catalog = true,
            "hybrid-mbr" => boot.hybrid_mbr = Some(PathBuf::from(value("--hybrid-mbr")?)),
            "hybrid" => boot.hybrid = true,
            "hybrid-gpt" => boot.hybrid_gpt = true,
            "hybrid-apm" => {
                cur(&mut current, "--hybrid-apm")?;
                if let Some(c) = current.as_mut() {
                    c.apm_hfsplus = true;
                }
            }
            _ => out.push(a),
        }
    }
    if let Some(c) = current.take() {
        boot.entries.push(c);
    }
    Ok((out, boot))
}

impl BootArgs {
    /// Applies the options to `builder` (after the sources are added: floppy emulation takes its
    /// size from the file).
    pub fn apply(&self, builder: &mut ImageBuilder) -> Result<(), String> {
        for e in &self.entries {
            let emulation = match (e.emulation, e.platform) {
                (Some(em), _) => em,
                (None, Platform::X86) => {
                    let len = builder
                        .file_len(&e.path)
                        .ok_or_else(|| format!("boot image {} is not in the image", e.path))?;
                    glassmaster::raw::eltorito::catalog::check_floppy(len).map_err(|x| {
                        format!("boot image {}: {x} (use -no-emul-boot or -hard-disk-boot for other images)", e.path)
                    })?
                }
                (None, _) => Emulation::NoEmulation,
            };
            let mut img = BootImage::new(&e.path, e.platform, emulation);
            img.load_size = e.load_size;
            img.load_segment = e.load_segment;
            img.boot_info_table = e.info_table;
            img.grub2_boot_info = e.grub2_boot_info;
            img.appended_partition = e.appended_partition;
            img.apm_hfsplus = e.apm_hfsplus;
            builder.add_boot_entry(img);
        }
        if let Some(c) = &self.catalog {
            let c = if c.starts_with('/') {
                c.clone()
            } else {
                format!("/{c}")
            };
            builder.boot_catalog(&c, self.hide_catalog);
        } else if self.hide_catalog {
            let path = builder.options().boot.catalog_path.clone();
            builder.boot_catalog(&path, true);
        }
        if let Some(p) = &self.system_area {
            let mut bytes = Vec::new();
            std::fs::File::open(p)
                .and_then(|f| {
                    std::io::Read::read_to_end(&mut std::io::Read::take(f, 32768), &mut bytes)
                })
                .map_err(|x| format!("cannot read the system area file {}: {x}", p.display()))?;
            builder.system_area(bytes);
        }
        let system_area = self.hybrid
            || self.hybrid_gpt
            || self.hybrid_mbr.is_some()
            || self.gpt_iso_partitions
            || self.protective_msdos_label
            || self.iso_mbr_part_type.is_some()
            || self.iso_gpt_part_type.is_some()
            || self.mbr_force_bootable
            || self.partition_offset.is_some_and(|n| n > 0)
            || !self.appended.is_empty()
            || self.entries.iter().any(|e| e.apm_hfsplus);
        if system_area {
            let code = match &self.hybrid_mbr {
                Some(p) => Some(
                    std::fs::read(p)
                        .map_err(|x| format!("cannot read MBR boot code {}: {x}", p.display()))?,
                ),
                None => None,
            };
            let mut h = Hybrid::default();
            // `-isohybrid-mbr` code (isohdpfx.bin) finds the x86 boot image through the address
            // patched at MBR byte 432 (the block times 4), as xorriso writes it; without an x86
            // entry there is nothing to point at and the code is written as given.
            if code.is_some() && self.entries.iter().any(|e| e.platform == Platform::X86) {
                h.mbr_patch = if self.grub2_mbr {
                    MbrPatch::Grub2
                } else {
                    MbrPatch::Isohybrid
                };
            }
            h.mbr_boot_code = code;
            h.gpt = self.hybrid_gpt || self.gpt_iso_partitions || self.appended_as_gpt;
            h.gpt_iso_partitions = self.gpt_iso_partitions;
            h.protective_msdos_label = self.protective_msdos_label;
            h.iso_mbr_part_type = self.iso_mbr_part_type;
            h.iso_gpt_part_type = self.iso_gpt_part_type;
            h.mbr_force_bootable = self.mbr_force_bootable;
            h.appended = self
                .appended
                .iter()
                .map(|(n, t, f)| AppendedPartition::new(*n, *t, f.clone()))
                .collect();
            h.appended_as_gpt = self.appended_as_gpt;
            h.partition_offset = self.partition_offset;
            h.isohybrid_gpt = self.isohybrid_gpt;
            h.isohybrid_gpt_hfsplus = self.isohybrid_gpt_hfsplus;
            h.cylinder_align = self.cylinder_align;
            h.heads_per_cylinder = self.heads_per_cylinder;
            h.sectors_per_head = self.sectors_per_head;
            h.appended_as_apm = self.appended_as_apm;
            h.apm_block_size = match self.apm_block_size {
                None => None,
                Some(b) => Some(
                    ApmBlockSize::from_bytes(b)
                        .ok_or_else(|| format!("-apm-block-size {b}: expected 512, 2048 or 0"))?,
                ),
            };
            builder.hybrid(h);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn args(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }
    #[test]
    fn bios_and_efi_entries() {
        let (rest, b) = extract(args(&[
            "glassmaster",
            "build",
            "src",
            "-o",
            "x.iso",
            "-b",
            "isolinux/isolinux.bin",
            "-c",
            "isolinux/boot.cat",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-boot-info-table",
            "-eltorito-alt-boot",
            "-e",
            "efi.img",
            "-no-emul-boot",
            "-isohybrid-apm-hfsplus",
            "--hybrid-gpt",
        ]))
        .unwrap();
        assert_eq!(rest, args(&["glassmaster", "build", "src", "-o", "x.iso"]));
        assert_eq!(b.entries.len(), 2);
        assert_eq!(b.entries[0].path, "/isolinux/isolinux.bin");
        assert_eq!(b.entries[0].load_size, Some(4));
        assert!(b.entries[0].info_table);
        assert_eq!(b.entries[1].platform, Platform::Efi);
        assert_eq!(b.catalog.as_deref(), Some("isolinux/boot.cat"));
        assert!(b.hybrid_gpt);
        assert!(!b.entries[0].apm_hfsplus && b.entries[1].apm_hfsplus);
    }
    #[test]
    fn errors_and_other_commands() {
        assert!(extract(args(&["glassmaster", "build", "-no-emul-boot"])).is_err());
        assert!(extract(args(&["glassmaster", "build", "-b"])).is_err());
        let (rest, b) = extract(args(&["glassmaster", "ls", "-b", "x"])).unwrap();
        assert_eq!(rest.len(), 4);
        assert!(b.entries.is_empty());
    }
}
