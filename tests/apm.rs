//! Apple Partition Map entries (issue 20): `-isohybrid-apm-hfsplus` (debian-cd's line) and
//! `-appended_part_as_apm`, built from the same command line by glassmaster's mkisofs
//! personality and by `xorriso -as mkisofs`. Readers: xorriso's `-report_system_area plain`,
//! 7-Zip's APM handler (`7z l -tAPM`), parted on a 2048-byte-sector loop device (where the
//! machine lets us attach one), sgdisk and fdisk for the GPT and MBR beside it.
//!
//! Block numbers of files differ between the two images (the layouts place files in another
//! order, and cylinder alignment is not compared here), so partitions are compared by name,
//! type, size and the file xorriso finds at their start.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_glassmaster");
const ISOHDPFX: &str = "/usr/lib/ISOLINUX/isohdpfx.bin";
const ISOLINUX: &str = "/usr/lib/ISOLINUX/isolinux.bin";

/// A work directory: `tree/` with ISOLINUX and a FAT EFI image, `efi.img` (a second FAT image to
/// append) and `data.bin`.
fn work() -> Option<TempDir> {
    if !require_tools(&["xorriso", "mkfs.vfat"]) {
        return None;
    }
    for f in [ISOHDPFX, ISOLINUX] {
        if !Path::new(f).exists() {
            missing(f, "Debian: isolinux");
            return None;
        }
    }
    let dir = out_dir();
    let d = dir.path();
    fs::create_dir_all(d.join("tree/isolinux")).unwrap();
    fs::create_dir_all(d.join("tree/boot")).unwrap();
    fs::copy(ISOLINUX, d.join("tree/isolinux/isolinux.bin")).unwrap();
    fs::write(d.join("tree/hello.txt"), b"hello\n").unwrap();
    for img in ["tree/boot/efi.img", "efi.img"] {
        run(tool("mkfs.vfat").args(["-C"]).arg(d.join(img)).arg("1440"));
    }
    fs::write(d.join("data.bin"), content(7, 100_000)).unwrap();
    Some(dir)
}

fn build(dir: &Path, ours: bool, args: &[&str], out: &Path) -> Output {
    let mut cmd = if ours {
        let mut c = Command::new(BIN);
        c.arg("mkisofs");
        c
    } else {
        let mut c = tool("xorriso");
        c.args(["-no_rc", "-as", "mkisofs"]);
        c
    };
    cmd.args(args)
        .arg("-o")
        .arg(out)
        .arg("tree")
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", "1600000000")
        .output()
        .unwrap()
}

/// Builds `args` with glassmaster and with xorriso: (ours, xorriso's).
fn both(dir: &Path, args: &[&str]) -> (PathBuf, PathBuf) {
    let (g, x) = (dir.join("g.iso"), dir.join("x.iso"));
    for (ours, img) in [(true, &g), (false, &x)] {
        let _ = fs::remove_file(img);
        let o = build(dir, ours, args, img);
        assert!(
            o.status.success(),
            "{} {args:?} failed: {}",
            if ours { "glassmaster" } else { "xorriso" },
            String::from_utf8_lossy(&o.stderr)
        );
    }
    (g, x)
}

fn report(img: &Path) -> String {
    xorriso_report(img, &["-report_system_area", "plain"])
}

/// The APM lines of xorriso's report, with each partition's start left out (the files lie
/// elsewhere in the two images) except for gap fillers, which start at the ISO's block 16;
/// a partition over a file is named by the "APM partition path" line that follows it.
fn apm_shape(img: &Path) -> Vec<String> {
    let text = report(img);
    let mut out = Vec::new();
    let mut gap = false;
    for l in text.lines().filter(|l| l.starts_with("APM")) {
        let f: Vec<&str> = l.split_whitespace().collect();
        if l.starts_with("APM partition type") {
            gap = l.ends_with("ISO9660_data");
        }
        if l.starts_with("APM start and size") && f.len() >= 8 {
            // "APM start and size : N START SIZE"
            let kept = if gap { f[6] } else { f[7] };
            out.push(format!("APM start and size : {} {}", f[5], kept));
        } else {
            out.push(f.join(" "));
        }
    }
    out
}

/// "System area summary" without the cylinder alignment word, and the MBR partitions'
/// number, status and type (their sizes follow the alignment, which is not compared here).
fn mbr_shape(img: &Path) -> Vec<String> {
    let text = report(img);
    let mut out = Vec::new();
    for l in text.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if l.starts_with("System area summary") {
            out.push(
                f.iter()
                    .filter(|w| !w.starts_with("cyl-align"))
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        } else if l.starts_with("MBR partition      :") && f.len() >= 7 {
            out.push(f[..f.len() - 2].join(" "));
        }
    }
    out
}

/// The partitions 7-Zip's APM handler lists: (name, size) of each.
fn sevenzip_apm(img: &Path) -> Vec<(String, u64)> {
    let o = tool("7z")
        .arg("l")
        .arg("-slt")
        .arg("-tAPM")
        .arg(img)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    let mut out = Vec::new();
    let mut path = None;
    for l in text.lines() {
        if let Some(p) = l.strip_prefix("Path = ") {
            path = Some(p.to_string());
        } else if let Some(s) = l.strip_prefix("Size = ") {
            if let (Some(p), Ok(s)) = (path.take(), s.parse()) {
                out.push((p, s));
            }
        }
    }
    // The first "Path" is the image itself (no Size line follows it); a gap filler's size
    // follows the layout, so only its name is kept.
    out.retain(|(p, _)| !p.ends_with(".iso"));
    for (p, s) in &mut out {
        if p.ends_with(".ISO9660_data") {
            *s = 0;
        }
    }
    out
}

/// parted's view of the map on a read-only loop device with 2048-byte sectors: the lines of
/// its partition list, or `None` when no loop device can be attached here.
fn parted_mac(img: &Path) -> Option<String> {
    if !tool_available("parted") || !tool_available("losetup") {
        assert!(
            !in_ci(),
            "parted or losetup missing: .ci/run installs parted"
        );
        return None;
    }
    let o = Command::new("losetup")
        .args(["-f", "--show", "-r", "-b", "2048"])
        .arg(img)
        .output()
        .ok()?;
    if !o.status.success() {
        eprintln!(
            "note: no loop device ({}); parted's check skipped",
            String::from_utf8_lossy(&o.stderr).trim()
        );
        return None;
    }
    let dev = String::from_utf8_lossy(&o.stdout).trim().to_string();
    let out = Command::new("parted")
        .args(["-s", &dev, "unit", "s", "print"])
        .output();
    let _ = Command::new("losetup").args(["-d", &dev]).status();
    let out = out.ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The file xorriso finds at the start of ISO block `block` of `img`, if any.
fn file_at(img: &Path, block: u32) -> Option<String> {
    let text = xorriso_report(img, &["-find", "/", "-type", "f", "-exec", "report_lba"]);
    // "File data lba:  0 ,      34 ,     720 ,    1474560 , '/boot/efi.img'"
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(',').map(str::trim).collect();
        (f.len() == 5 && f[1].parse() == Ok(block)).then(|| f[4].trim_matches('\'').to_string())
    })
}

const BIOS: &[&str] = &[
    "-R",
    "-J",
    "-V",
    "APMTEST",
    "-c",
    "isolinux/boot.cat",
    "-b",
    "isolinux/isolinux.bin",
    "-no-emul-boot",
    "-boot-load-size",
    "4",
    "-boot-info-table",
];

fn line(extra: &[&str]) -> Vec<&'static str> {
    let mut v: Vec<&str> = BIOS.to_vec();
    v.extend_from_slice(extra);
    v.into_iter()
        .map(|s| &*Box::leak(s.to_string().into_boxed_str()))
        .collect()
}

#[test]
fn debian_cd_line_writes_the_apple_partition_map_as_xorriso() {
    let Some(w) = work() else { return };
    let d = w.path();
    // debian-cd's x86 line (tools/boot/*/boot-x86): isohybrid MBR, GPT and APM.
    let args = line(&[
        "-isohybrid-mbr",
        ISOHDPFX,
        "-eltorito-alt-boot",
        "-e",
        "boot/efi.img",
        "-no-emul-boot",
        "-isohybrid-gpt-basdat",
        "-isohybrid-apm-hfsplus",
    ]);
    let (g, x) = both(d, &args);
    let (ours, theirs) = (apm_shape(&g), apm_shape(&x));
    assert_eq!(ours, theirs);
    assert!(
        ours.iter()
            .any(|l| l == "APM partition path : 1 /boot/efi.img"),
        "{ours:?}"
    );
    assert!(
        ours.iter().any(|l| l == "APM block size : 2048"),
        "{ours:?}"
    );
    // The summary names GPT and APM in both; the GPT's entries lie behind the map, at the
    // same sector as in xorriso's image.
    let summary = |img: &Path| -> String {
        mbr_shape(img)
            .into_iter()
            .find(|l| l.starts_with("System area summary"))
            .unwrap_or_default()
    };
    assert_eq!(summary(&g), summary(&x));
    assert!(summary(&g).ends_with("GPT APM"), "{}", summary(&g));
    let entry_array = |img: &Path| -> Option<String> {
        report(img)
            .lines()
            .find(|l| l.starts_with("GPT entry array"))
            .and_then(|l| l.split_whitespace().nth(4).map(str::to_string))
    };
    assert_eq!(entry_array(&g), entry_array(&x));
    assert_eq!(entry_array(&g).as_deref(), Some("12"));
    // Block 0: xorriso's 32-byte header mock-up over isohdpfx.bin's first 32 bytes, the rest
    // of the MBR code untouched.
    let (gb, xb) = (fs::read(&g).unwrap(), fs::read(&x).unwrap());
    assert_eq!(gb[..32], xb[..32]);
    assert_eq!(&gb[..4], b"ER\x08\x00");
    let code = fs::read(ISOHDPFX).unwrap();
    assert_eq!(gb[32..432], code[32..432]);
    // Our decoder agrees, and the "EFI" entry starts at the EFI image's block.
    let apm = glassmaster::raw::eltorito::apm::decode(&gb[..32768]).unwrap();
    assert_eq!(apm.entries.len(), 2);
    assert_eq!(
        file_at(&g, apm.entries[1].start).as_deref(),
        Some("/boot/efi.img")
    );
    // 7-Zip lists the same partitions in both images.
    if require_tool("7z") {
        let (ours, theirs) = (sevenzip_apm(&g), sevenzip_apm(&x));
        assert_eq!(ours, theirs);
        assert_eq!(
            ours,
            vec![
                ("Apple.Apple_partition_map".to_string(), 4096),
                ("EFI.hfs".to_string(), 1_474_560)
            ]
        );
    }
    // parted reads the mac label: the map itself and EFI over the image's 720 blocks.
    if let Some(text) = parted_mac(&g) {
        assert!(text.contains("Partition Table: mac"), "{text}");
        let start = apm.entries[1].start;
        let efi = text
            .lines()
            .find(|l| l.contains("EFI"))
            .unwrap_or_else(|| panic!("{text}"));
        let f: Vec<&str> = efi.split_whitespace().collect();
        assert_eq!(f[1], format!("{start}s"), "{text}");
        assert_eq!(f[3], "720s", "{text}");
        let theirs = parted_mac(&x).unwrap_or_default();
        assert_eq!(
            text.lines()
                .filter(|l| l.contains("EFI") || l.contains("Apple"))
                .count(),
            theirs
                .lines()
                .filter(|l| l.contains("EFI") || l.contains("Apple"))
                .count(),
            "{text}\n{theirs}"
        );
    }
    // The GPT beside it is still valid.
    if require_tool("sgdisk") {
        let out = run(Command::new("sgdisk").arg("-v").arg(&g));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("No problems found"), "{text}");
    }
}

#[test]
fn isohybrid_apm_without_gpt_and_entry_marking_match_xorriso() {
    let Some(w) = work() else { return };
    let d = w.path();
    // A second EFI image with other bytes (twins would share one extent, and one entry).
    run(tool("mkfs.vfat")
        .args(["-n", "SECOND", "-i", "12345678", "-C"])
        .arg(d.join("tree/boot/efj.img"))
        .arg("1440"));
    // Without a GPT: the isohybrid MBR partition gets type 0x00 beside the map.
    let args = line(&[
        "-isohybrid-mbr",
        ISOHDPFX,
        "-eltorito-alt-boot",
        "-e",
        "boot/efi.img",
        "-no-emul-boot",
        "-isohybrid-apm-hfsplus",
    ]);
    let (g, x) = both(d, &args);
    assert_eq!(apm_shape(&g), apm_shape(&x));
    assert_eq!(mbr_shape(&g), mbr_shape(&x));
    assert!(
        mbr_shape(&g)
            .iter()
            .any(|l| l == "MBR partition : 1 0x80 0x00"),
        "{:?}",
        mbr_shape(&g)
    );
    // Given between entries the option marks the next one; given twice, two entries.
    let args = line(&[
        "-isohybrid-mbr",
        ISOHDPFX,
        "-eltorito-alt-boot",
        "-isohybrid-apm-hfsplus",
        "-e",
        "boot/efj.img",
        "-no-emul-boot",
        "-eltorito-alt-boot",
        "-e",
        "boot/efi.img",
        "-no-emul-boot",
        "-isohybrid-apm-hfsplus",
        "-isohybrid-gpt-basdat",
    ]);
    let (g, x) = both(d, &args);
    let ours = apm_shape(&g);
    assert_eq!(ours, apm_shape(&x));
    assert_eq!(
        ours.iter()
            .filter(|l| l.starts_with("APM partition path"))
            .count(),
        2,
        "{ours:?}"
    );
    if require_tool("sgdisk") {
        let out = run(Command::new("sgdisk").arg("-v").arg(&g));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("No problems found"), "{text}");
    }
}

#[test]
fn appended_partitions_in_the_apm_match_xorriso() {
    let Some(w) = work() else { return };
    let d = w.path();
    // 512-byte blocks (xorriso's choice without a GPT), a gap filler over the ISO blocks,
    // and the appended partition left out of the MBR, as xorriso writes it.
    let args = line(&[
        "-isohybrid-mbr",
        ISOHDPFX,
        "-append_partition",
        "2",
        "0xef",
        "efi.img",
        "-appended_part_as_apm",
        "-eltorito-alt-boot",
        "-e",
        "--interval:appended_partition_2:all::",
        "-no-emul-boot",
    ]);
    let (g, x) = both(d, &args);
    let ours = apm_shape(&g);
    assert_eq!(ours, apm_shape(&x));
    assert_eq!(mbr_shape(&g), mbr_shape(&x));
    for want in [
        "APM block size : 512",
        "APM gap fillers : 1",
        "APM partition name : 1 Gap0",
        "APM start and size : 1 64",
        "APM partition name : 2 Appended2",
        "APM start and size : 2 2880",
    ] {
        assert!(ours.iter().any(|l| l == want), "{want}: {ours:?}");
    }
    let gb = fs::read(&g).unwrap();
    assert_eq!(gb[..8], fs::read(&x).unwrap()[..8]);
    let apm = glassmaster::raw::eltorito::apm::decode(&gb[..32768]).unwrap();
    let appended = &apm.entries[2];
    let start = appended.start as usize * 512;
    let esp = fs::read(d.join("efi.img")).unwrap();
    assert_eq!(
        &gb[start..start + esp.len()],
        &esp[..],
        "Appended2 holds efi.img"
    );
    // fdisk sees the one MBR partition over the ISO (none for the appended one), as in
    // xorriso's image.
    if require_tool("fdisk") {
        let parts = |img: &Path| {
            let out = run(tool("fdisk").arg("-l").arg(img));
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| l.contains(".iso"))
                .count()
        };
        assert_eq!(parts(&g), parts(&x));
    }
    // 2048-byte blocks asked for, beside marked boot images (no gap fillers) and with a GPT.
    let args = line(&[
        "-isohybrid-mbr",
        ISOHDPFX,
        "-eltorito-alt-boot",
        "-e",
        "boot/efi.img",
        "-no-emul-boot",
        "-isohybrid-apm-hfsplus",
        "-isohybrid-gpt-basdat",
        "-append_partition",
        "3",
        "0x83",
        "data.bin",
        "-appended_part_as_apm",
    ]);
    let (g, x) = both(d, &args);
    let ours = apm_shape(&g);
    assert_eq!(ours, apm_shape(&x));
    assert!(
        ours.iter().any(|l| l == "APM start and size : 2 49"),
        "{ours:?}"
    );
    let entry_array = |img: &Path| -> Option<String> {
        report(img)
            .lines()
            .find(|l| l.starts_with("GPT entry array"))
            .and_then(|l| l.split_whitespace().nth(4).map(str::to_string))
    };
    assert_eq!(entry_array(&g), entry_array(&x));
    if require_tool("7z") {
        assert_eq!(sevenzip_apm(&g), sevenzip_apm(&x));
    }
    if require_tool("sgdisk") {
        let out = run(Command::new("sgdisk").arg("-v").arg(&g));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("No problems found"), "{text}");
    }
    // -apm-block-size 2048 without marked images: gap fillers in 2048-byte blocks.
    let args = line(&[
        "-append_partition",
        "2",
        "0xef",
        "efi.img",
        "-appended_part_as_apm",
        "-apm-block-size",
        "2048",
    ]);
    let (g, x) = both(d, &args);
    let ours = apm_shape(&g);
    assert_eq!(ours, apm_shape(&x));
    assert!(
        ours.iter().any(|l| l == "APM start and size : 1 16"),
        "{ours:?}"
    );
    if require_tool("7z") {
        assert_eq!(sevenzip_apm(&g), sevenzip_apm(&x));
    }
}

#[test]
fn apm_requests_xorriso_refuses_or_ignores_are_named() {
    let Some(w) = work() else { return };
    let d = w.path();
    let efi = [
        "-eltorito-alt-boot",
        "-e",
        "boot/efi.img",
        "-no-emul-boot",
        "-isohybrid-apm-hfsplus",
    ];
    let img = d.join("r.iso");
    let fails = |args: &[&str], needle: &str| {
        let o = build(d, true, args, &img);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} built");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!img.exists(), "{args:?} left an image");
        let x = build(d, false, args, &d.join("xr.iso"));
        assert!(!x.status.success(), "xorriso built {args:?}");
    };
    // MBR code without the 32 bytes the header replaces (syslinux's plain mbr.bin).
    let mbr = d.join("plain-mbr.bin");
    let mut code = vec![0x90u8; 440];
    code[0] = 0xFA;
    fs::write(&mbr, &code).unwrap();
    let mut args = line(&["-isohybrid-mbr", mbr.to_str().unwrap()]);
    args.extend(efi);
    fails(&args, "the 32 bytes");
    // With -hfsplus (xorriso: "cannot be combined").
    let mut args = line(&["-isohybrid-mbr", ISOHDPFX, "-hfsplus"]);
    args.extend(efi);
    fails(&args, "cannot be combined with -hfsplus");
    // A boot image that is also an appended partition in the map: overlapping entries.
    let args = line(&[
        "-isohybrid-mbr",
        ISOHDPFX,
        "-append_partition",
        "2",
        "0xef",
        "efi.img",
        "-appended_part_as_apm",
        "-eltorito-alt-boot",
        "-e",
        "--interval:appended_partition_2:all::",
        "-no-emul-boot",
        "-isohybrid-apm-hfsplus",
    ]);
    fails(&args, "twice");
    // Without -isohybrid-mbr xorriso writes no map: neither do we, with a warning.
    let mut args = line(&[]);
    args.extend(efi);
    let (g, x) = both(d, &args);
    let o = build(d, true, &args, &d.join("w.iso"));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no effect without -isohybrid-mbr"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for img in [&g, &x] {
        assert_ne!(&fs::read(img).unwrap()[..2], b"ER");
        assert!(apm_shape(img).is_empty());
    }
    // -help documents the options.
    let o = Command::new(BIN)
        .args(["mkisofs", "-help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&o.stdout) + String::from_utf8_lossy(&o.stderr);
    for opt in [
        "-isohybrid-apm-hfsplus",
        "-appended_part_as_apm",
        "-apm-block-size",
    ] {
        assert!(help.contains(opt), "{opt} not in -help");
    }
}

/// The library's API: `BootImage::apm_hfsplus` and `Hybrid::appended_as_apm`, read back by
/// xorriso and by the crate's own decoder, and the requests it refuses.
#[test]
fn native_api_writes_and_checks_the_map() {
    let Some(w) = work() else { return };
    let d = w.path();
    let builder = |mark: bool, patch: glassmaster::MbrPatch, code: &str| {
        let mut b = glassmaster::ImageBuilder::new();
        b.add_file("/isolinux/isolinux.bin", ISOLINUX).unwrap();
        b.add_file("/boot/efi.img", d.join("tree/boot/efi.img"))
            .unwrap();
        let mut bios = glassmaster::BootImage::bios("/isolinux/isolinux.bin");
        bios.load_size = Some(4);
        b.add_boot_entry(bios);
        let mut efi = glassmaster::BootImage::efi("/boot/efi.img");
        efi.apm_hfsplus = mark;
        b.add_boot_entry(efi);
        let mut h = glassmaster::Hybrid::default();
        h.mbr_boot_code = Some(fs::read(code).unwrap());
        h.mbr_patch = patch;
        h.gpt = true;
        h.appended = vec![glassmaster::AppendedPartition::new(
            3,
            glassmaster::PartitionType::Mbr(0x83),
            d.join("data.bin"),
        )];
        h.appended_as_apm = true;
        b.hybrid(h);
        b
    };
    let image = builder(true, glassmaster::MbrPatch::Isohybrid, ISOHDPFX)
        .build(&mut glassmaster::NoProgress)
        .unwrap();
    let path = d.join("native.iso");
    image
        .write_to_path(&path, &mut glassmaster::NoProgress)
        .unwrap();
    let bytes = fs::read(&path).unwrap();
    let apm = glassmaster::raw::eltorito::apm::decode(&bytes[..32768]).unwrap();
    let names: Vec<&str> = apm.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["Apple", "EFI", "Appended3"]);
    assert_eq!(apm.entries[2].blocks, 49);
    let shape = apm_shape(&path);
    assert!(
        shape
            .iter()
            .any(|l| l == "APM partition path : 1 /boot/efi.img"),
        "{shape:?}"
    );
    let start = apm.entries[2].start as usize * 2048;
    assert_eq!(&bytes[start..start + 100_000], &content(7, 100_000)[..]);
    if require_tool("sgdisk") {
        let out = run(Command::new("sgdisk").arg("-v").arg(&path));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("No problems found"), "{text}");
    }
    // The reader's block map labels the EFI image's blocks with its APM entry too.
    let mut r = glassmaster::read::ImageReader::open(fs::File::open(&path).unwrap()).unwrap();
    let map = r.block_map().unwrap();
    let efi = map
        .from_block(u64::from(apm.entries[1].start))
        .expect("the EFI image's item");
    assert!(
        efi.also
            .iter()
            .any(|a| a == "APM partition 1 (EFI, Apple_HFS)"),
        "{efi:?}"
    );
    assert!(
        map.items()[0]
            .description
            .contains("Apple Partition Map, 2 partitions"),
        "{:?}",
        map.items()[0]
    );
    // Refused: a mark without an isohybrid MBR patch, and MBR code without room for the
    // header.
    let e = builder(true, glassmaster::MbrPatch::Grub2, ISOHDPFX)
        .build(&mut glassmaster::NoProgress)
        .unwrap_err()
        .to_string();
    assert!(e.contains("isohybrid MBR"), "{e}");
    let plain = d.join("plain.bin");
    fs::write(&plain, [0xFAu8; 440]).unwrap();
    let e = builder(
        true,
        glassmaster::MbrPatch::Isohybrid,
        plain.to_str().unwrap(),
    )
    .build(&mut glassmaster::NoProgress)
    .unwrap_err()
    .to_string();
    assert!(e.contains("32 bytes"), "{e}");
}
