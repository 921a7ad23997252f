//! The option table of the mkisofs personality: each option's names, how many arguments it
//! takes, its help line and what it does to [`Config`]. `-help` is printed from this table.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use super::boot::{parse_platform, AppendedPartition, BootConfig};
use super::graft;

/// Rock Ridge as the options ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rock {
    /// Rock Ridge with the files' owners and modes (xorriso's default, and `-R`).
    #[default]
    Real,
    /// `-r`: rationalised owners and modes.
    Rational,
    /// `--norock`.
    Off,
}

/// One of the four volume dates (`-volume_date c|m|x|f`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateSetting {
    At(chrono::DateTime<chrono::Utc>),
    Default,
}

/// Everything the command line asks for.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub output: Option<PathBuf>,
    pub graft_points: bool,
    /// Pathspecs in order (from the command line and `-path-list`).
    pub pathspecs: Vec<OsString>,
    pub rock: Rock,
    /// `-r` given (kept through a later `-R`, as xorriso does).
    pub rational: bool,
    pub joliet: bool,
    pub joliet_long: bool,
    pub joliet_utf16: bool,
    pub iso_level: Option<u8>,
    pub full_names: bool,
    pub follow_links: bool,
    /// `-udf`: a UDF bridge too.
    pub udf: bool,
    /// `-hide-rr-moved`, `-rr_reloc_dir`.
    pub reloc_dir: Option<String>,
    pub exclude: Vec<String>,
    pub hide: Vec<String>,
    pub hide_joliet: Vec<String>,
    pub pad: bool,
    pub quiet: bool,
    pub verbose: bool,
    pub volume_id: Option<String>,
    pub application: Option<String>,
    pub publisher: Option<String>,
    pub preparer: Option<String>,
    pub system_id: Option<String>,
    pub volume_set: Option<String>,
    pub copyright: Option<String>,
    pub abstract_file: Option<String>,
    pub biblio: Option<String>,
    /// `--modification-date=` (or `-volume_date uuid`): 16 digits.
    pub modification_date: Option<[u8; 16]>,
    /// `-volume_date c`, `m`, `x`, `f`.
    pub dates: [Option<DateSetting>; 4],
    pub sort_weights: Vec<(i32, String)>,
    pub sort_weight_list: Option<PathBuf>,
    pub sort_file: Option<PathBuf>,
    pub boot: BootConfig,
    /// Options accepted without effect that were given (for `-v`).
    pub ignored: Vec<String>,
    /// `-hfsplus` or one of its companions was given (accepted without effect, with a warning).
    pub hfsplus: bool,
    pub help: bool,
    pub version: bool,
    pub print_size: bool,
}

type Handler = fn(&mut Config, &str, &[OsString]) -> Result<(), String>;

/// One option of the table.
pub struct Opt {
    /// Spellings (single-dash unless written with two; each long one is accepted with one or
    /// two dashes).
    pub names: &'static [&'static str],
    /// Argument names for the help (their count is the arity).
    pub args: &'static [&'static str],
    pub help: &'static str,
    pub handler: Handler,
}

fn s(v: &OsStr) -> Result<String, String> {
    v.to_str()
        .map(str::to_string)
        .ok_or_else(|| format!("argument {:?} is not UTF-8", v.to_string_lossy()))
}

fn arg0(a: &[OsString]) -> Result<String, String> {
    a.first()
        .map(|v| s(v))
        .unwrap_or_else(|| Err("missing argument".into()))
}

fn text_limit(name: &str, v: &str, max: usize) -> Result<String, String> {
    if let Some(c) = v.chars().find(|c| c.is_control()) {
        return Err(format!(
            "{name}: the text holds the control character {c:?}"
        ));
    }
    if v.len() > max {
        return Err(format!(
            "{name}: {v:?} is {} bytes, the field holds {max}",
            v.len()
        ));
    }
    Ok(v.to_string())
}

fn parse_u16(name: &str, v: &str) -> Result<u16, String> {
    let n = match v.strip_prefix("0x") {
        Some(h) => u16::from_str_radix(h, 16),
        None => v.parse(),
    };
    n.map_err(|_| format!("{name} {v:?}: expected a number from 0 to 65535"))
}

macro_rules! opt {
    ($names:expr, $args:expr, $help:expr, $h:expr) => {
        Opt {
            names: $names,
            args: $args,
            help: $help,
            handler: $h,
        }
    };
}

fn ignore(c: &mut Config, name: &str, _: &[OsString]) -> Result<(), String> {
    c.ignored.push(name.to_string());
    Ok(())
}

/// `-hfsplus` and the options that only shape its HFS+ tree: accepted without effect, so that
/// grub-mkrescue's command line (which adds them for Apple firmware) builds; a warning says the
/// HFS+ tree is not written.
fn hfsplus_ignored(c: &mut Config, name: &str, _: &[OsString]) -> Result<(), String> {
    c.hfsplus = true;
    c.ignored.push(name.to_string());
    Ok(())
}

fn unsupported_boot(c: &mut Config, name: &str, _: &[OsString]) -> Result<(), String> {
    c.boot.unsupported.push(name.to_string());
    Ok(())
}

/// Options known to xorriso that this personality does not implement: an error naming them.
fn not_implemented(_: &mut Config, name: &str, _: &[OsString]) -> Result<(), String> {
    Err(format!("not implemented: {name}"))
}

/// The table. Options accepted without effect say so, with the reason, in their help.
pub static OPTIONS: &[Opt] = &[
    // --- Output, input, messages.
    opt!(&["-o", "-output"], &["FILE"], "Write the image to FILE (`-` for standard output)", |c, _, a| {
        c.output = Some(PathBuf::from(&a[0]));
        Ok(())
    }),
    opt!(&["-graft-points"], &[], "Pathspecs are ISO_PATH=DISK_PATH (\\= and \\\\ escape = and \\ in ISO_PATH); directories are merged", |c, _, _| {
        c.graft_points = true;
        Ok(())
    }),
    opt!(&["-path-list"], &["FILE"], "Read pathspecs from FILE, one a line (- for standard input)", |c, _, a| {
        c.pathspecs.extend(graft::read_path_list(&a[0])?);
        Ok(())
    }),
    opt!(&["-help"], &[], "Print this list of options", |c, _, _| {
        c.help = true;
        Ok(())
    }),
    opt!(&["-version"], &[], "Print the version", |c, _, _| {
        c.version = true;
        Ok(())
    }),
    opt!(&["-quiet"], &[], "Print only errors and warnings", |c, _, _| {
        c.quiet = true;
        c.verbose = false;
        Ok(())
    }),
    opt!(&["-v", "-verbose"], &[], "Also print the options accepted without effect and every warning", |c, _, _| {
        c.verbose = true;
        c.quiet = false;
        Ok(())
    }),
    opt!(&["-print-size"], &[], "Print the image size in 2048-byte blocks, write nothing", |c, _, _| {
        c.print_size = true;
        Ok(())
    }),
    // --- Trees and names.
    opt!(&["-R", "-rock"], &[], "Rock Ridge with the files' owners and modes (the default)", |c, _, _| {
        c.rock = if c.rational { Rock::Rational } else { Rock::Real };
        Ok(())
    }),
    opt!(&["-r", "-rational-rock"], &[], "Rock Ridge with owners 0, read permission for all, no write permission", |c, _, _| {
        c.rational = true;
        c.rock = Rock::Rational;
        Ok(())
    }),
    opt!(&["--norock"], &[], "No Rock Ridge", |c, _, _| {
        c.rational = false;
        c.rock = Rock::Off;
        Ok(())
    }),
    opt!(&["-J", "-joliet"], &[], "Add a Joliet tree", |c, _, _| {
        c.joliet = true;
        Ok(())
    }),
    opt!(&["-joliet-long"], &[], "Joliet names of up to 103 characters, and Joliet paths longer than 240", |c, _, _| {
        c.joliet_long = true;
        Ok(())
    }),
    opt!(&["-joliet-utf16"], &[], "Joliet names with characters beyond UCS-2 as UTF-16 surrogate pairs (else '_'; libcdio reads no pairs)", |c, _, _| {
        c.joliet_utf16 = true;
        Ok(())
    }),
    opt!(&["-iso-level"], &["N"], "ISO 9660 level 1, 2, 3 or 4 (4: ISO 9660:1999 names)", |c, _, a| {
        let v = arg0(a)?;
        let n: u8 = v
            .parse()
            .ok()
            .filter(|n| (1..=4).contains(n))
            .ok_or_else(|| format!("-iso-level {v:?}: expected 1, 2, 3 or 4"))?;
        c.iso_level = Some(n);
        Ok(())
    }),
    opt!(&["-l", "-full-iso9660-filenames"], &[], "ISO 9660 names of up to 30 characters (at level 1 this means level 2)", |c, _, _| {
        c.full_names = true;
        Ok(())
    }),
    opt!(&["-U", "-untranslated-filenames", "-relaxed-filenames", "-allow-lowercase", "-N", "-omit-version-number", "-d", "-omit-period", "-max-iso9660-filenames", "-allow-leading-dots", "-L", "-disallow_dir_id_ext"], &[], "Accepted without effect: ISO 9660 names stay conforming (these options break ECMA-119); Rock Ridge and Joliet carry the real names", ignore),
    opt!(&["-D", "-disable-deep-relocation"], &[], "Accepted without effect: directories deeper than 8 levels are relocated (RRIP 4.1.5), which Rock Ridge readers show at their place", ignore),
    opt!(&["-input-charset"], &["CHARSET"], "Accepted without effect for utf-8 (disk names are taken as their bytes); other sets are refused", |c, name, a| {
        let v = arg0(a)?;
        if !matches!(v.to_ascii_lowercase().as_str(), "utf-8" | "utf8") {
            return Err(format!("not implemented: {name} {v} (only utf-8)"));
        }
        c.ignored.push(format!("{name} {v}"));
        Ok(())
    }),
    opt!(&["-f", "-follow-links"], &[], "Follow symbolic links on disk", |c, _, _| {
        c.follow_links = true;
        Ok(())
    }),
    opt!(&["-m", "-exclude", "-x", "-old-exclude"], &["PATTERN"], "Leave out disk files matching PATTERN (its leaf name, or the whole path if it holds '/')", |c, _, a| {
        c.exclude.push(arg0(a)?);
        Ok(())
    }),
    opt!(&["-exclude-list"], &["FILE"], "-m for each line of FILE", |c, name, a| {
        c.exclude.extend(graft::read_lines(name, &a[0])?);
        Ok(())
    }),
    opt!(&["-hide"], &["PATTERN"], "Leave matching files out of the ISO 9660 / Rock Ridge directories (their data stays)", |c, _, a| {
        c.hide.push(arg0(a)?);
        Ok(())
    }),
    opt!(&["-hide-list"], &["FILE"], "-hide for each line of FILE", |c, name, a| {
        c.hide.extend(graft::read_lines(name, &a[0])?);
        Ok(())
    }),
    opt!(&["-hide-joliet"], &["PATTERN"], "Leave matching files out of the Joliet directories", |c, _, a| {
        c.hide_joliet.push(arg0(a)?);
        Ok(())
    }),
    opt!(&["-hide-joliet-list"], &["FILE"], "-hide-joliet for each line of FILE", |c, name, a| {
        c.hide_joliet.extend(graft::read_lines(name, &a[0])?);
        Ok(())
    }),
    opt!(&["-cache-inodes", "-no-cache-inodes", "--hardlinks"], &[], "Accepted without effect: files with several links are always stored once, with their link count", ignore),
    opt!(&["-T", "-translation-table", "-no-bak", "-allow-multidot", "-no-iso-translate", "-check-oldnames", "-force-rr", "-no-split-symlink-components", "-no-split-symlink-fields", "-gui"], &[], "Accepted without effect, as xorriso accepts them", ignore),
    opt!(&["-table-name"], &["NAME"], "Accepted without effect, as xorriso accepts it", ignore),
    opt!(&["-allow-limited-size"], &[], "Accepted without effect (genisoimage): files of 4 GiB and more are recorded at -iso-level 3 and in UDF", ignore),
    opt!(&["-udf"], &[], "Also a UDF file system of directories and files (genisoimage's option; xorriso has none)", |c, _, _| {
        c.udf = true;
        Ok(())
    }),
    opt!(&["-hide-rr-moved"], &[], "Name the directory of relocated deep directories .rr_moved", |c, _, _| {
        c.reloc_dir = Some(".rr_moved".into());
        Ok(())
    }),
    opt!(&["-rr_reloc_dir"], &["NAME"], "Name the directory of relocated deep directories (in the root)", |c, n, a| {
        let v = arg0(a)?;
        let name = v.trim_start_matches('/');
        if name.is_empty() || name.contains('/') || name.len() > 255 {
            return Err(format!("{n} {v:?}: expected a name of the root directory"));
        }
        c.reloc_dir = Some(name.to_string());
        Ok(())
    }),
    opt!(&["-pad"], &[], "Add 300 KiB of zeros at the end (the default)", |c, _, _| {
        c.pad = true;
        Ok(())
    }),
    opt!(&["-no-pad"], &[], "No padding", |c, _, _| {
        c.pad = false;
        Ok(())
    }),
    // --- Descriptors.
    opt!(&["-V", "-volid"], &["TEXT"], "Volume id (32 characters)", |c, n, a| {
        c.volume_id = Some(text_limit(n, &arg0(a)?, 32)?);
        Ok(())
    }),
    opt!(&["-A", "-appid"], &["TEXT"], "Application id (128 characters)", |c, n, a| {
        c.application = Some(text_limit(n, &arg0(a)?, 128)?);
        Ok(())
    }),
    opt!(&["-P", "-publisher"], &["TEXT"], "Publisher id (128 characters)", |c, n, a| {
        c.publisher = Some(text_limit(n, &arg0(a)?, 128)?);
        Ok(())
    }),
    opt!(&["-p", "-preparer"], &["TEXT"], "Data preparer id (128 characters)", |c, n, a| {
        c.preparer = Some(text_limit(n, &arg0(a)?, 128)?);
        Ok(())
    }),
    opt!(&["-sysid"], &["TEXT"], "System id (32 characters)", |c, n, a| {
        c.system_id = Some(text_limit(n, &arg0(a)?, 32)?);
        Ok(())
    }),
    opt!(&["-volset"], &["TEXT"], "Volume set id (128 characters)", |c, n, a| {
        c.volume_set = Some(text_limit(n, &arg0(a)?, 128)?);
        Ok(())
    }),
    opt!(&["-volset-size", "-volset-seqno"], &["N"], "Accepted without effect: the image is volume 1 of a set of 1, as xorriso records it (glassmaster build --span makes volume sets)", |c, n, a| {
        parse_u16(n, &arg0(a)?)?;
        c.ignored.push(n.to_string());
        Ok(())
    }),
    opt!(&["-copyright"], &["ISO_PATH"], "Copyright file id (37 characters)", |c, n, a| {
        c.copyright = Some(text_limit(n, &arg0(a)?, 37)?);
        Ok(())
    }),
    opt!(&["-abstract"], &["ISO_PATH"], "Abstract file id (37 characters)", |c, n, a| {
        c.abstract_file = Some(text_limit(n, &arg0(a)?, 37)?);
        Ok(())
    }),
    opt!(&["-biblio"], &["ISO_PATH"], "Bibliographic file id (37 characters)", |c, n, a| {
        c.biblio = Some(text_limit(n, &arg0(a)?, 37)?);
        Ok(())
    }),
    opt!(&["--modification-date="], &["YYYYMMDDhhmmsscc"], "Volume creation and modification dates, written literally (GMT; GRUB's search --fs-uuid)", |c, _, a| {
        c.modification_date = Some(super::dates::uuid_digits("--modification-date", &arg0(a)?)?);
        Ok(())
    }),
    // --- Order.
    opt!(&["--sort-weight"], &["WEIGHT", "ISO_PATH"], "Data of higher weights first (a directory's weight applies below it)", |c, n, a| {
        let w = arg0(a)?;
        let w: i32 = w.parse().map_err(|_| format!("{n} {w:?}: expected a number"))?;
        c.sort_weights.push((w, s(&a[1])?));
        Ok(())
    }),
    opt!(&["--sort-weight-list"], &["FILE"], "--sort-weight for each line `WEIGHT ISO_PATH` of FILE (the last list counts)", |c, _, a| {
        c.sort_weight_list = Some(PathBuf::from(&a[0]));
        Ok(())
    }),
    opt!(&["-sort"], &["FILE"], "Lines `DISK_PATH WEIGHT` (the mkisofs sort file, which xorriso ignores): data of higher weights first", |c, _, a| {
        c.sort_file = Some(PathBuf::from(&a[0]));
        Ok(())
    }),
    // --- El Torito.
    opt!(&["-b", "-eltorito-boot"], &["ISO_PATH"], "BIOS El Torito boot image", |c, _, a| {
        c.boot.boot_file(&arg0(a)?, false);
        Ok(())
    }),
    opt!(&["-e"], &["ISO_PATH"], "EFI El Torito boot image", |c, _, a| {
        c.boot.boot_file(&arg0(a)?, true);
        Ok(())
    }),
    opt!(&["--efi-boot"], &["ISO_PATH"], "-eltorito-alt-boot -e ISO_PATH -no-emul-boot -eltorito-alt-boot", |c, _, a| {
        c.boot.alt_boot();
        c.boot.boot_file(&arg0(a)?, true);
        c.boot.entry("--efi-boot")?.no_emul = true;
        c.boot.alt_boot();
        Ok(())
    }),
    opt!(&["-eltorito-platform"], &["x86|PPC|Mac|efi|N"], "Platform of the next -b (a change starts a new entry)", |c, _, a| {
        let p = parse_platform(&arg0(a)?)?;
        if c.boot.current.as_ref().is_some_and(|e| e.platform != p) {
            c.boot.alt_boot();
        }
        c.boot.next_platform = Some(p);
        Ok(())
    }),
    opt!(&["-c", "-eltorito-catalog"], &["ISO_PATH"], "Path of the boot catalog", |c, _, a| {
        c.boot.catalog = Some(arg0(a)?);
        Ok(())
    }),
    opt!(&["--boot-catalog-hide"], &[], "Boot catalog marked hidden in ISO 9660 and Joliet, left out of UDF (xorriso leaves it out of the directories)", |c, _, _| {
        c.boot.hide_catalog = true;
        Ok(())
    }),
    opt!(&["-no-emul-boot"], &[], "No emulation", |c, n, _| {
        c.boot.entry(n)?.no_emul = true;
        Ok(())
    }),
    opt!(&["-hard-disk-boot"], &[], "Hard disk emulation", |c, n, _| {
        c.boot.entry(n)?.hard_disk = true;
        Ok(())
    }),
    opt!(&["-eltorito-no-boot", "-no-boot"], &[], "Entry not bootable (parsed; not implemented yet)", |c, n, _| {
        c.boot.entry(n)?.no_boot = true;
        Ok(())
    }),
    opt!(&["-boot-load-size"], &["N"], "512-byte sectors the firmware loads", |c, n, a| {
        let v = parse_u16(n, &arg0(a)?)?;
        c.boot.entry(n)?.load_size = Some(v);
        Ok(())
    }),
    opt!(&["-boot-load-seg"], &["SEG"], "Load segment", |c, n, a| {
        let v = parse_u16(n, &arg0(a)?)?;
        c.boot.entry(n)?.load_seg = Some(v);
        Ok(())
    }),
    opt!(&["-boot-info-table"], &[], "Patch a boot info table into the boot image", |c, n, _| {
        c.boot.entry(n)?.info_table = true;
        Ok(())
    }),
    opt!(&["--grub2-boot-info"], &[], "Patch the boot image's block (times 4, plus 5) into it at byte 2548 (GRUB 2)", |c, n, _| {
        c.boot.entry(n)?.grub2_info = true;
        Ok(())
    }),
    opt!(&["-eltorito-alt-boot"], &[], "Start the next El Torito entry", |c, _, _| {
        c.boot.alt_boot();
        Ok(())
    }),
    // --- System area.
    opt!(&["-isohybrid-mbr"], &["FILE"], "MBR boot code (isohdpfx.bin) and a partition table: the image boots from a USB stick", |c, _, a| {
        c.boot.isohybrid_mbr = Some(PathBuf::from(&a[0]));
        Ok(())
    }),
    opt!(&["-isohybrid-gpt-basdat"], &[], "Also a GPT whose EFI system partition is the EFI entry's image", |c, _, _| {
        c.boot.isohybrid_gpt_basdat = true;
        Ok(())
    }),
    opt!(&["-append_partition"], &["N", "TYPE", "FILE"], "Append FILE as partition N of TYPE (an MBR type byte like 0xef or a GPT type GUID)", |c, n, a| {
        let num = arg0(a)?;
        let number: u8 = num
            .parse()
            .ok()
            .filter(|n| (1..=8).contains(n))
            .ok_or_else(|| format!("{n} {num:?}: expected a partition number 1 to 8"))?;
        c.boot.append_partitions.push(AppendedPartition {
            number,
            type_code: s(&a[1])?,
            file: PathBuf::from(&a[2]),
        });
        Ok(())
    }),
    opt!(&["-partition_offset"], &["N"], "Partition 1 starts at block N (0: none, else at least 16) and holds its own descriptors and directory trees, so it mounts by itself", |c, n, a| {
        let v = arg0(a)?;
        let v: u32 = v.parse().map_err(|_| format!("{n} {v:?}: expected a number"))?;
        if (1..16).contains(&v) {
            return Err(format!("{n} {v}: must be 0 or at least 16"));
        }
        c.boot.partition_offset = Some(v);
        Ok(())
    }),
    opt!(&["--grub2-mbr"], &["FILE"], "GRUB 2 MBR boot code (boot_hybrid.img), patched with the boot image's address", |c, _, a| {
        c.boot.grub2_mbr = Some(PathBuf::from(&a[0]));
        Ok(())
    }),
    opt!(&["-G", "-generic-boot", "--embedded-boot"], &["FILE"], "System area (blocks 0-15) from the first 32 KiB of FILE, as they are", |c, _, a| {
        c.boot.generic_boot = Some(PathBuf::from(&a[0]));
        Ok(())
    }),
    opt!(&["-isohybrid-gpt-hfsplus"], &[], "Like -isohybrid-gpt-basdat, the boot image's GPT entry of type HFS+ (with -isohybrid-mbr)", |c, _, _| {
        c.boot.isohybrid_gpt_basdat = true;
        c.boot.isohybrid_gpt_hfsplus = true;
        Ok(())
    }),
    opt!(&["--mbr-force-bootable"], &[], "A bootable MBR partition even beside a GPT's protective one", |c, _, _| {
        c.boot.mbr_force_bootable = true;
        Ok(())
    }),
    opt!(&["-iso_mbr_part_type"], &["TYPE"], "Type of the partition over the ISO (MBR type byte or GPT type GUID)", |c, n, a| {
        let t = arg0(a)?;
        super::boot::parse_partition_type(&t).map_err(|e| format!("{n}: {e}"))?;
        c.boot.iso_mbr_part_type = Some(t);
        Ok(())
    }),
    opt!(&["-appended_part_as_gpt"], &[], "Appended partitions go into a GPT, not the MBR", |c, _, _| {
        c.boot.appended_part_as_gpt = true;
        Ok(())
    }),
    opt!(&["--protective-msdos-label"], &[], "An MBR partition table whose bootable partition claims the image", |c, _, _| {
        c.boot.protective_msdos_label = true;
        Ok(())
    }),
    opt!(&["-efi-boot-part"], &["DISK_PATH"], "With --efi-boot-image: a GPT with the EFI image as its EFI system partition and the ISO around it (other DISK_PATHs not implemented yet)", |c, n, a| {
        if s(&a[0])? == "--efi-boot-image" {
            c.boot.efi_boot_part = true;
        } else {
            c.boot.unsupported.push(format!("{n} {}", s(&a[0])?));
        }
        Ok(())
    }),
    opt!(&["-hfsplus"], &[], "Accepted without effect, with a warning: no HFS+ tree (nor its Apple Partition Map) is written; the rest of the image is as asked (grub-mkrescue adds it for Apple firmware)", hfsplus_ignored),
    opt!(&["-apm-block-size"], &["SIZE"], "Block size of the Apple Partition Map of -appended_part_as_apm: 512, 2048 or 0 (decide: 2048 beside a GPT, else 512); -isohybrid-apm-hfsplus always uses 2048", |c, n, a| {
        let v = arg0(a)?;
        let size: u32 = v
            .parse()
            .ok()
            .filter(|b| matches!(b, 0 | 512 | 2048))
            .ok_or_else(|| format!("{n} {v:?}: expected 512, 2048 or 0"))?;
        c.boot.apm_block_size = Some(size);
        Ok(())
    }),
    opt!(&["-hfs-bless"], &["ISO_PATH"], "Accepted without effect (shapes only the HFS+ tree, not written)", hfsplus_ignored),
    opt!(&["-hfs-bless-by"], &["BLESSING", "ISO_PATH"], "Accepted without effect (shapes only the HFS+ tree, not written)", hfsplus_ignored),
    opt!(&["-hfsplus-file-creator-type"], &["CREATOR", "TYPE", "ISO_PATH"], "Accepted without effect (shapes only the HFS+ tree, not written)", hfsplus_ignored),
    opt!(&["-isohybrid-apm-hfsplus"], &[], "With -isohybrid-mbr (isohdpfx.bin): the current El Torito boot image also in an Apple Partition Map (entry EFI, Apple_HFS, 2048-byte blocks), as xorriso writes it; no HFS+ tree (an error with -hfsplus)", |c, _, _| {
        c.boot.isohybrid_apm();
        Ok(())
    }),
    opt!(&["-appended_part_as_apm"], &[], "Appended partitions also in an Apple Partition Map (and, as in xorriso, not in the MBR)", |c, _, _| {
        c.boot.appended_part_as_apm = true;
        Ok(())
    }),
    opt!(&["--efi-boot-image", "-chrp-boot-part", "-chrp-boot"], &[], "System-area options (parsed; not implemented yet)", unsupported_boot),
    opt!(&["-partition_cyl_align"], &["MODE"], "Pad the image to whole MBR cylinders: auto (with -isohybrid-mbr; the default), on (also with --protective-msdos-label), all (appended partitions too), off", |c, n, a| {
        let v = arg0(a)?;
        c.boot.cylinder_align = Some(match v.as_str() {
            "auto" => glassmaster::CylinderAlign::Auto,
            "on" => glassmaster::CylinderAlign::On,
            "all" => glassmaster::CylinderAlign::All,
            "off" => glassmaster::CylinderAlign::Off,
            _ => return Err(format!("{n} {v:?}: expected auto, on, all or off")),
        });
        Ok(())
    }),
    opt!(&["-partition_hd_cyl"], &["N"], "Heads per cylinder of the MBR's CHS fields (1-255; 0 chooses: 64, more for images over 1 GiB)", |c, n, a| {
        let v = arg0(a)?;
        c.boot.heads_per_cylinder = v
            .parse::<u8>()
            .map_err(|_| format!("{n} {v:?}: expected 0 to 255"))?;
        Ok(())
    }),
    opt!(&["-partition_sec_hd"], &["N"], "Sectors per head of the MBR's CHS fields (1-63; 0 chooses: 32, or 63 for images over 4 GiB)", |c, n, a| {
        let v = arg0(a)?;
        c.boot.sectors_per_head = v
            .parse::<u8>()
            .ok()
            .filter(|&s| s <= 63)
            .ok_or_else(|| format!("{n} {v:?}: expected 0 to 63"))?;
        Ok(())
    }),
    opt!(&["--gpt_disk_guid", "-mips-boot", "-mipsel-boot", "-B", "-sparc-boot", "--grub2-sparc-core", "-hppa-cmdline", "-hppa-bootloader", "-hppa-kernel-32", "-hppa-kernel-64", "-hppa-ramdisk", "-alpha-boot", "-hfsplus-block-size", "-hfsplus-serial-no", "-hide-hfsplus", "-hide-hfsplus-list"], &["ARG"], "System-area and HFS+ options (parsed; not implemented yet)", unsupported_boot),
    // --- Known to xorriso, not implemented here.
    opt!(&["-z", "-transparent-compression", "--acl", "--xattr", "--xattr-any", "--md5", "--for_backup", "--emul-toc"], &[], "Not implemented (an error)", not_implemented),
    opt!(&["-M", "-prev-session", "-dev", "-C", "-cdrecord-params", "-root", "-old-root", "-jigdo-jigdo", "-jigdo-template", "-checksum_algorithm_iso", "-md5-list", "-checksum-list", "-uid", "-gid", "-dir-mode", "-file-mode", "-output-charset", "-log-file"], &["ARG"], "Not implemented (an error)", not_implemented),
];

/// Finds the option spelled `arg`: its entry and canonical name. A long option is accepted
/// with one or two dashes.
pub fn lookup(arg: &str) -> Option<(&'static Opt, &'static str)> {
    let single = arg.strip_prefix("--").filter(|r| r.len() > 1);
    for o in OPTIONS {
        for &n in o.names {
            if n.ends_with('=') {
                continue;
            }
            if n == arg {
                return Some((o, n));
            }
            // `--joliet` for `-joliet`, `-boot-catalog-hide` for `--boot-catalog-hide`.
            let bare = n.trim_start_matches('-');
            if bare.len() > 1 {
                if let Some(r) = single {
                    if r == bare {
                        return Some((o, n));
                    }
                }
                if arg.strip_prefix('-') == Some(bare) {
                    return Some((o, n));
                }
            }
        }
    }
    None
}

/// `--name=VALUE` options: the entry and the value.
pub fn lookup_joined(arg: &str) -> Option<(&'static Opt, &'static str, &str)> {
    for o in OPTIONS {
        for &n in o.names {
            if let Some(stem) = n.strip_suffix('=') {
                let bare = stem.trim_start_matches('-');
                let rest = arg
                    .strip_prefix("--")
                    .or_else(|| arg.strip_prefix('-'))
                    .and_then(|r| r.strip_prefix(bare))
                    .and_then(|r| r.strip_prefix('='));
                if let Some(v) = rest {
                    return Some((o, n, v));
                }
            }
        }
    }
    None
}

/// The `-help` text, from the table.
pub fn help_text() -> String {
    let mut out = String::from(
        "Usage: xorrisofs [OPTIONS] PATHSPEC...   (also: mkisofs, genisoimage, \
         xorriso -as mkisofs, glassmaster mkisofs)\n\
         glassmaster's mkisofs personality: the options of `xorriso -as mkisofs`; a pathspec is a\n\
         disk path (a directory's contents go to the image root), or ISO_PATH=DISK_PATH with\n\
         -graft-points. `--` ends the options; after it, xorriso commands (-volume_date TYPE\n\
         TIME) are accepted. Options:\n",
    );
    for o in OPTIONS {
        let mut head = o.names.join(", ");
        for a in o.args {
            if !head.ends_with('=') {
                head.push(' ');
            }
            head.push_str(a);
        }
        if head.len() < 30 {
            out.push_str(&format!("  {head:<30}{}\n", o.help));
        } else {
            out.push_str(&format!("  {head}\n  {:<30}{}\n", "", o.help));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_spellings() {
        assert_eq!(lookup("-rock").map(|x| x.0.names[0]), Some("-R"));
        assert_eq!(lookup("--joliet").map(|x| x.0.names[0]), Some("-J"));
        assert_eq!(
            lookup("-boot-catalog-hide").map(|x| x.1),
            Some("--boot-catalog-hide")
        );
        assert!(lookup("-rockk").is_none());
        assert!(lookup("--").is_none());
        assert_eq!(
            lookup_joined("--modification-date=2020").map(|x| x.2),
            Some("2020")
        );
        let h = help_text();
        assert!(h.contains("-graft-points") && h.contains("--grub2-boot-info"));
    }

    #[test]
    fn every_name_is_unique() {
        let mut seen = std::collections::HashSet::new();
        for o in OPTIONS {
            for n in o.names {
                assert!(seen.insert(*n), "{n}");
            }
        }
    }
}
