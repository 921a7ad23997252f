//! The command lines distribution build tools run, given to glassmaster under the names those
//! tools call (issue 20 items 3 and 4):
//!
//! (a) a Debian-live / archiso line, run as `xorriso -as mkisofs` (live-build and archiso call
//!     xorriso so): ISOLINUX as the BIOS boot image and `isohdpfx.bin` as the MBR,
//!     `-partition_offset 16`, and a FAT EFI system partition holding GRUB (`grub-mkstandalone`)
//!     appended as partition 2 and booted through `-e --interval:appended_partition_2:all::`;
//! (b) a Fedora lorax line, run as `xorrisofs`: GRUB's `i386-pc-eltorito` core
//!     (`grub-mkimage`) as the BIOS boot image, GRUB's `boot_hybrid.img` as the MBR, the ESP
//!     appended as a GPT partition, `-partition_offset 16`, `-graft-points` pathspecs;
//! (c) `grub-mkrescue --xorriso=PROGRAM`, whose PROGRAM runs glassmaster (a link named
//!     `xorriso`) with grub-mkrescue's own command line.
//!
//! xorriso builds its image from the same command line (for (c), the wrapper PROGRAM runs the
//! real xorriso on the same arguments right after glassmaster, while grub-mkrescue's temporary
//! tree still exists). Then: xorriso's `-report_el_torito as_mkisofs -report_system_area plain`
//! says the same of both images (boot catalog entries, partitions by start, end and type, MBR
//! boot code placement; addresses named by what they point at, since the layouts differ; GUIDs
//! left out), `fdisk -l` and `sgdisk -v` find no problem in ours, and two independent readers
//! (xorriso's `-find -exec lsdl`, and bsdtar's listing and extraction) see the same file trees
//! (names, bytes, modes, times). Finally our image boots the Debian kernel (tests/common/kernel.rs)
//! under SeaBIOS and OVMF, as a CD-ROM and as a disk: 3 x 4 boots, asserting the marker its
//! `/init` prints on the serial console.

mod common;
#[path = "common/kernel.rs"]
mod kernel;
#[path = "common/qemu.rs"]
mod qemu;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use kernel::*;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_glassmaster");
/// Both programs take their build time from it (the volume dates, the boot catalog's times).
const EPOCH: &str = "1600000000";
const ESP_GUID: &str = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
const BASIC_DATA_GUID: &str = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7";

// ------------------------------------------------------------------------------------------------
// Work directories and the two builds

/// A work directory with `bin/xorrisofs` and `bin/xorriso`, links to glassmaster.
fn work() -> TempDir {
    let dir = out_dir();
    let bin = dir.path().join("bin");
    fs::create_dir(&bin).unwrap();
    for name in ["xorrisofs", "xorriso"] {
        std::os::unix::fs::symlink(BIN, bin.join(name)).unwrap();
    }
    dir
}

/// Sets the modification time of `p` (not following links) to 2021-01-01.
fn touch(p: &Path) {
    run(Command::new("touch")
        .args(["-h", "-d", "2021-01-01 12:00:00 UTC"])
        .arg(p));
}

/// Every entry under `root` gets the same time (so the images record known times).
fn touch_tree(root: &Path) {
    for e in fs::read_dir(root).unwrap() {
        let p = e.unwrap().path();
        let md = fs::symlink_metadata(&p).unwrap();
        if md.is_dir() {
            touch_tree(&p);
        }
        touch(&p);
    }
    touch(root);
}

/// Files every tree holds besides its boot files: a long name (Joliet long, ISO level 3), a
/// private file, an executable, a symbolic link, a deep directory, an empty file.
fn add_common_files(root: &Path) {
    let files: &[(&str, &[u8], u32)] = &[
        (".disk/info", b"glassmaster distro line test\n", 0o644),
        (
            "doc/a-file-name-longer-than-the-sixty-four-characters-joliet-allows-by-default.txt",
            b"long\n",
            0o644,
        ),
        ("doc/private.txt", b"private\n", 0o600),
        ("doc/run.sh", b"#!/bin/sh\necho run\n", 0o755),
        ("doc/empty", b"", 0o644),
        ("doc/d1/d2/d3/d4/d5/d6/d7/d8/deep.txt", b"deep\n", 0o644),
    ];
    for (p, data, mode) in files {
        let p = root.join(p);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, data).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(*mode)).unwrap();
    }
    std::os::unix::fs::symlink("run.sh", root.join("doc/link-to-run.sh")).unwrap();
}

/// What an image build printed, and whether it ran.
fn output(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn ok(o: Output, what: &str) -> Output {
    assert!(
        o.status.success(),
        "{what} failed ({}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Runs `ours` (glassmaster under some name) with `args`, then xorriso with the same `args`,
/// in `cwd`; `OUT` in `args` stands for the image each writes (`ours.iso`, `xorriso.iso`).
fn build_both(
    cwd: &Path,
    mut ours: Command,
    prefix: &[&str],
    args: &[String],
) -> (PathBuf, PathBuf) {
    let (g, x) = (cwd.join("ours.iso"), cwd.join("xorriso.iso"));
    let with = |out: &Path| -> Vec<String> {
        args.iter()
            .map(|a| {
                if a == "OUT" {
                    out.display().to_string()
                } else {
                    a.clone()
                }
            })
            .collect()
    };
    let o = output(
        ours.args(prefix)
            .args(with(&g))
            .current_dir(cwd)
            .env("SOURCE_DATE_EPOCH", EPOCH),
    );
    ok(o, "glassmaster");
    ok(
        output(
            tool("xorriso")
                .args(["-as", "mkisofs"])
                .args(with(&x))
                .current_dir(cwd)
                .env("SOURCE_DATE_EPOCH", EPOCH),
        ),
        "xorriso",
    );
    (g, x)
}

// ------------------------------------------------------------------------------------------------
// Item 3: the same meaning as xorriso's image

/// The addresses (512-byte sectors) the report of an image is named by.
struct Anchors(Vec<(u64, String)>);

impl Anchors {
    fn of(img: &Path, report: &str) -> Anchors {
        let mut a = Vec::new();
        let disk = fs::metadata(img).unwrap().len() / 512;
        a.push((disk, "DISK".to_string()));
        for l in report.lines() {
            if let Some(v) = l.strip_prefix("ISO image size/512 :") {
                a.push((v.trim().parse().unwrap(), "ISO".to_string()));
            }
        }
        for r in xorriso_boot_rows(img) {
            let lba: u64 = r.last().unwrap().parse().unwrap();
            // "El Torito boot img : N Pltf ... LBA": BIOS1, UEFI2...
            let which = format!("{}{}", r[6], r[5]);
            a.push((lba * 4, which));
        }
        a.sort();
        Anchors(a)
    }

    /// `v` as the anchor it is, else near the end of the ISO 9660 image or of the disk
    /// ("ISO+n", "DISK-n": GPT structures, padding), else "NAME+delta" from the greatest anchor
    /// not above it (a plain number below them).
    fn name(&self, v: u64) -> String {
        const NEAR: u64 = 64;
        if let Some((_, n)) = self.0.iter().find(|(at, _)| *at == v) {
            return n.clone();
        }
        for (at, n) in self.0.iter().filter(|(_, n)| n == "DISK" || n == "ISO") {
            if v < *at && at - v <= NEAR {
                return format!("{n}-{}", at - v);
            }
            if v > *at && v - at <= NEAR {
                return format!("{n}+{}", v - at);
            }
        }
        match self.0.iter().rev().find(|(at, _)| *at <= v) {
            Some((at, n)) if *at == v => n.clone(),
            Some((at, n)) => format!("{n}+{}", v - at),
            None => v.to_string(),
        }
    }
}

/// xorriso's report of `img`, every address named by [`Anchors`], GUIDs and the image's own
/// name left out.
fn meaning(img: &Path) -> Vec<String> {
    // Not `run`: xorriso exits 32 after a SORRY it reports when it cannot express a GPT
    // partition as a mkisofs option (its report is complete all the same).
    let o = output(tool("xorriso").arg("-indev").arg(img).args([
        "-report_el_torito",
        "as_mkisofs",
        "-report_system_area",
        "plain",
    ]));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(text.contains("System area"), "{}: {o:?}", img.display());
    let anchors = Anchors::of(img, &text);
    let file = format!("'{}'", img.display());
    let mut out = Vec::new();
    for l in text.lines() {
        let l = l.replace(&file, "'IMG'");
        let words: Vec<&str> = l.split_whitespace().collect();
        if l.contains("GUID") && !l.starts_with("GPT type GUID") {
            continue;
        }
        // --interval:local_fs:Ad-Bd:... (2048-byte blocks) and _start_Ns_size_Md (sectors).
        let mut line = String::new();
        for w in &words {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&name_interval(w, &anchors));
        }
        if l.starts_with("ISO image size/512") {
            line = "ISO image size/512 : ISO".into();
        } else if l.starts_with("MBR partition      :") && words.len() == 8 {
            // N status type start blocks
            let start: u64 = words[6].parse().unwrap();
            let count: u64 = words[7].parse().unwrap();
            line = format!(
                "MBR partition {} {} {} from {} to {}",
                words[3],
                words[4],
                words[5],
                anchors.name(start),
                anchors.name(start + count)
            );
        } else if l.starts_with("GPT start and size :") && words.len() == 8 {
            let start: u64 = words[6].parse().unwrap();
            let count: u64 = words[7].parse().unwrap();
            line = format!(
                "GPT partition {} from {} to {}",
                words[5],
                anchors.name(start),
                anchors.name(start + count)
            );
        } else if l.starts_with("GPT lba range      :") && words.len() == 7 {
            let v: Vec<u64> = words[4..].iter().map(|w| w.parse().unwrap()).collect();
            line = format!(
                "GPT lba range {} {} {}",
                anchors.name(v[0]),
                anchors.name(v[1]),
                anchors.name(v[2])
            );
        } else if l.starts_with("El Torito catalog  :") {
            // Its block differs with the layout; the entry count does not.
            line = format!("El Torito catalog entries {}", words.last().unwrap());
        } else if l.starts_with("El Torito boot img :") {
            line = words[..words.len() - 1].join(" ");
        } else if l.starts_with("--modification-date") {
            line = l.clone();
        }
        out.push(line);
    }
    out
}

/// One word of an `as_mkisofs` report with the addresses in it named.
fn name_interval(w: &str, anchors: &Anchors) -> String {
    // In xorriso's intervals a number ending in `d` counts 512-byte sectors, one ending in `s`
    // 2048-byte blocks: (first sector, sectors per unit).
    let unit = |s: &str| -> Option<(u64, u64)> {
        if let Some(n) = s.strip_suffix('d') {
            n.parse::<u64>().ok().map(|n| (n, 1))
        } else {
            s.strip_suffix('s')
                .and_then(|n| n.parse::<u64>().ok())
                .map(|n| (n * 4, 4))
        }
    };
    // --interval:local_fs:18432d-26623d::'IMG' (the last unit included)
    if let Some(rest) = w.strip_prefix("--interval:local_fs:") {
        let mut parts = rest.splitn(2, ':');
        let range = parts.next().unwrap_or("");
        let tail = parts.next().unwrap_or("");
        if let Some((a, b)) = range.split_once('-') {
            if let (Some((a, _)), Some((b, per))) = (unit(a), unit(b)) {
                if a == 0 {
                    // The system area: the same 16 blocks in both.
                    return w.to_string();
                }
                return format!(
                    "--interval:local_fs:{}..{}:{tail}",
                    anchors.name(a),
                    anchors.name(b + per)
                );
            }
        }
    }
    // '--interval:appended_partition_2_start_4608s_size_8192d:all::'
    if let Some(at) = w.find("_start_") {
        let rest = &w[at + 7..];
        if let Some((start, more)) = rest.split_once("_size_") {
            if let Some((start, _)) = unit(start) {
                return format!("{}_start_{}_size_{more}", &w[..at], anchors.name(start));
            }
        }
    }
    w.to_string()
}

/// The first 432 bytes of the MBR (the boot code), and the address patched in at 432 relative
/// to the BIOS boot image's (in 512-byte sectors).
fn mbr_boot_code(img: &Path) -> (Vec<u8>, i64) {
    let bytes = fs::read(img).unwrap();
    let rows = xorriso_boot_rows(img);
    let bios = rows
        .iter()
        .find(|r| r[6] == "BIOS")
        .expect("a BIOS boot entry");
    let lba: i64 = bios.last().unwrap().parse().unwrap();
    let mut at = [0u8; 8];
    at.copy_from_slice(&bytes[432..440]);
    (bytes[..432].to_vec(), i64::from_le_bytes(at) - lba * 4)
}

/// The path of the boot catalog in `img`'s directories, as xorriso reports it (None if
/// hidden).
fn xorriso_catalog_path(img: &Path) -> Option<String> {
    let text = run_stdout(
        tool("xorriso")
            .arg("-indev")
            .arg(img)
            .args(["-report_el_torito", "plain"]),
    );
    text.lines()
        .find_map(|l| l.strip_prefix("El Torito cat path :"))
        .map(|p| p.trim().to_string())
}

/// The boot files xorriso reports patched with a boot information table.
fn patched_boot_files(img: &Path) -> Vec<String> {
    let text = run_stdout(
        tool("xorriso")
            .arg("-indev")
            .arg(img)
            .args(["-report_el_torito", "plain"]),
    );
    let field = |prefix: &str| -> BTreeMap<String, String> {
        text.lines()
            .filter_map(|l| l.strip_prefix(prefix))
            .filter_map(|r| {
                let r = r.trim_start_matches([' ', ':']);
                r.split_once(' ')
                    .map(|(n, v)| (n.to_string(), v.trim().to_string()))
            })
            .collect()
    };
    let (paths, opts) = (field("El Torito img path"), field("El Torito img opts"));
    paths
        .into_iter()
        .filter(|(n, _)| {
            opts.get(n)
                .is_some_and(|o| o.contains("boot-info-table") || o.contains("grub2-boot-info"))
        })
        .map(|(_, p)| p)
        .collect()
}

/// `xorriso -find / -exec lsdl`: every entry's type and permissions, owner, group, size, time
/// and path (the link count left out: xorriso counts what it reads).
fn lsdl(img: &Path) -> Vec<String> {
    let text = run_stdout(
        tool("xorriso")
            .arg("-indev")
            .arg(img)
            .args(["-find", "/", "-exec", "lsdl"]),
    );
    let mut v: Vec<String> = text
        .lines()
        .filter(|l| l.contains(" '/"))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let mut keep = vec![f[0]];
            keep.extend(&f[2..]);
            keep.join(" ")
        })
        .collect();
    v.sort();
    v
}

/// `bsdtar -tv`: modes, owners, sizes, times and names (link counts left out, and the sizes
/// of directories: those of their ISO 9660 extents, which the layouts decide).
fn bsdtar_list(img: &Path) -> Vec<String> {
    let text = run_stdout(tool("bsdtar").arg("-tvf").arg(img));
    let mut v: Vec<String> = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let mut keep = vec![f[0]];
            keep.extend(&f[2..]);
            if f[0].starts_with('d') && keep.len() > 3 {
                keep[3] = "-";
            }
            keep.join(" ")
        })
        .collect();
    v.sort();
    v
}

/// Everything item 3 of the issue asks, for our image `g` and xorriso's `x` from one command
/// line. `known` lists the report lines (substrings) that may differ, each for a stated reason.
fn assert_same_meaning(what: &str, g: &Path, x: &Path, known: &[&str]) {
    let keep = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .filter(|l| !known.iter().any(|k| l.contains(k)))
            .collect()
    };
    let (ours, theirs) = (meaning(g), meaning(x));
    if ours != theirs {
        eprintln!(
            "{what}: xorriso's report of xorriso's image:\n  {}\nof ours:\n  {}",
            theirs.join("\n  "),
            ours.join("\n  ")
        );
    }
    let (ours, theirs) = (keep(ours), keep(theirs));
    let only = |a: &[String], b: &[String]| -> Vec<String> {
        a.iter().filter(|l| !b.contains(l)).cloned().collect()
    };
    assert!(
        ours == theirs,
        "{what}: xorriso's reports differ:\n  only of xorriso's image:\n    {}\n  only of ours:\n    {}\n  in order, xorriso's:\n    {}\n  ours:\n    {}",
        only(&theirs, &ours).join("\n    "),
        only(&ours, &theirs).join("\n    "),
        theirs.join("\n    "),
        ours.join("\n    ")
    );
    // With an Apple Partition Map xorriso puts its 'ER' signature over the MBR's first bytes.
    let (ours, mut theirs) = (mbr_boot_code(g), mbr_boot_code(x));
    if theirs.0.starts_with(b"ER") && known.contains(&"APM") {
        theirs.0[..8].copy_from_slice(&ours.0[..8]);
    }
    assert_eq!(
        ours, theirs,
        "{what}: MBR boot code or the boot image address it holds"
    );

    // The UEFI boot images (FAT file systems, the same file in both) hold the same bytes where
    // each image's El Torito entry points.
    let uefi = |img: &Path| -> Vec<Vec<u8>> {
        let bytes = fs::read(img).unwrap();
        xorriso_boot_rows(img)
            .iter()
            .filter(|r| r[6] == "UEFI")
            .map(|r| {
                let lba: usize = r.last().unwrap().parse().unwrap();
                let sectors: usize = r[11].parse().unwrap();
                bytes
                    .get(lba * 2048..lba * 2048 + sectors * 512)
                    .unwrap_or_default()
                    .to_vec()
            })
            .collect()
    };
    let (ours, theirs) = (uefi(g), uefi(x));
    assert!(
        !theirs.is_empty() && ours == theirs,
        "{what}: the UEFI boot images differ ({} and {} entries; sizes {:?} and {:?})",
        ours.len(),
        theirs.len(),
        ours.iter().map(Vec::len).collect::<Vec<_>>(),
        theirs.iter().map(Vec::len).collect::<Vec<_>>()
    );

    // fdisk and sgdisk find no problem in our partition tables, and say of them what they say
    // of xorriso's (sgdisk exits 2 with "Invalid partition data!" for an isohybrid MBR beside a
    // GPT, whose MBR partitions are not a protective MBR's: xorriso's images too).
    let fdisk = |img: &Path| output(tool_command("fdisk").arg("-l").arg(img));
    let (fo, fx) = (fdisk(g), fdisk(x));
    let text = String::from_utf8_lossy(&fo.stdout);
    assert!(fo.status.success(), "{what}: fdisk -l: {fo:?}");
    for bad in [
        "mismatch",
        "does not",
        "not in disk order",
        "overlap",
        "corrupt",
    ] {
        assert!(!text.contains(bad), "{what}: fdisk -l: {text}");
    }
    assert_eq!(
        String::from_utf8_lossy(&fo.stderr),
        String::from_utf8_lossy(&fx.stderr),
        "{what}: fdisk -l complains of ours, not of xorriso's image"
    );
    let sgdisk = |img: &Path| output(tool_command("sgdisk").arg("-v").arg(img));
    let (so, sx) = (sgdisk(g), sgdisk(x));
    let text = String::from_utf8_lossy(&so.stdout);
    assert!(
        text.contains("No problems found"),
        "{what}: sgdisk -v: {so:?}"
    );
    assert_eq!(
        (so.status.code(), String::from_utf8_lossy(&so.stderr)),
        (sx.status.code(), String::from_utf8_lossy(&sx.stderr)),
        "{what}: sgdisk -v says other things of ours than of xorriso's image"
    );

    // Two readers see the same trees: xorriso's lsdl, bsdtar's listing and extraction. The
    // boot catalog's bytes hold each image's own addresses, and xorriso records its size as one
    // block where glassmaster records the catalog's length: its size and bytes are left out.
    let catalog = xorriso_catalog_path(g);
    let sized = |v: Vec<String>| -> Vec<String> {
        let mut v: Vec<String> = v
            .into_iter()
            .map(|l| match &catalog {
                Some(c)
                    if l.contains(&format!("{c}'"))
                        || l.ends_with(&format!(" {}", c.trim_start_matches('/'))) =>
                {
                    let mut f: Vec<&str> = l.split(' ').collect();
                    // type+mode owner group size ...
                    if f.len() > 3 {
                        f[3] = "CATALOG-SIZE";
                    }
                    f.join(" ")
                }
                _ => l,
            })
            .collect();
        v.sort();
        v
    };
    let (ours, theirs) = (sized(lsdl(g)), sized(lsdl(x)));
    assert!(
        ours == theirs,
        "{what}: xorriso -find -exec lsdl differs:\n  only of xorriso's image:\n    {}\n  only of ours:\n    {}",
        theirs.iter().filter(|l| !ours.contains(l)).cloned().collect::<Vec<_>>().join("\n    "),
        ours.iter().filter(|l| !theirs.contains(l)).cloned().collect::<Vec<_>>().join("\n    ")
    );
    let (ours, theirs) = (sized(bsdtar_list(g)), sized(bsdtar_list(x)));
    assert!(
        ours == theirs,
        "{what}: bsdtar -tv differs:\n  only of xorriso's image:\n    {}\n  only of ours:\n    {}",
        theirs
            .iter()
            .filter(|l| !ours.contains(l))
            .cloned()
            .collect::<Vec<_>>()
            .join("\n    "),
        ours.iter()
            .filter(|l| !theirs.contains(l))
            .cloned()
            .collect::<Vec<_>>()
            .join("\n    ")
    );
    let dir = TempDir::new().unwrap();
    for (img, sub) in [(g, "ours"), (x, "xorriso")] {
        let to = dir.path().join(sub);
        fs::create_dir(&to).unwrap();
        run(tool("bsdtar").arg("-xf").arg(img).arg("-C").arg(&to));
        make_writable(&to);
        if let Some(c) = &catalog {
            let _ = fs::remove_file(to.join(c.trim_start_matches('/')));
        }
        // -boot-info-table and --grub2-boot-info write the image's own addresses into the
        // boot file (El Torito 1.0 boot information table at bytes 8..64, GRUB's at 2548..2556).
        for f in patched_boot_files(g) {
            let p = to.join(f.trim_start_matches('/'));
            if let Ok(mut bytes) = fs::read(&p) {
                for r in [8..64, 2548..2556] {
                    if let Some(b) = bytes.get_mut(r) {
                        b.fill(0);
                    }
                }
                let mtime = fs::metadata(&p).and_then(|m| m.modified()).unwrap();
                fs::write(&p, bytes).unwrap();
                fs::File::options()
                    .write(true)
                    .open(&p)
                    .and_then(|f| f.set_modified(mtime))
                    .unwrap();
            }
        }
    }
    assert_same_tree(
        &dir.path().join("xorriso"),
        &dir.path().join("ours"),
        true,
        &format!("{what}: bsdtar -x"),
    );
}

/// `name` found on PATH or in an sbin directory (fdisk, sgdisk), with a UTF-8 locale.
fn tool_command(name: &str) -> Command {
    let path = tool_path(name).unwrap_or_else(|| PathBuf::from(name));
    let mut c = Command::new(path);
    c.env("LC_ALL", "C.UTF-8");
    c
}

/// The tools every test here needs, and the boot files; None (noted, a failure in CI) if one is
/// missing.
fn prerequisites(extra: &[&str]) -> Option<&'static BootFiles> {
    let files = boot_files()?;
    let mut tools = vec!["xorriso", "bsdtar"];
    tools.extend(extra);
    if !require_tools(&tools) {
        return None;
    }
    for t in ["fdisk", "sgdisk"] {
        require_tool_path(t)?;
    }
    Some(files)
}

/// The kernel, the initramfs and the tag file GRUB's configurations search for, under `root`.
fn add_kernel(root: &Path, files: &BootFiles) {
    fs::create_dir_all(root.join("boot")).unwrap();
    fs::copy(&files.kernel, root.join("boot/vmlinuz")).unwrap();
    fs::copy(&files.initrd, root.join("boot/initrd.img")).unwrap();
    fs::write(
        root.join(TAG_FILE.trim_start_matches('/')),
        b"distro line\n",
    )
    .unwrap();
}

/// What glassmaster's GPT says differently from xorriso's: the size of the partition entry
/// array (xorriso fills the blocks before the first partition, 248 entries from block 2, the
/// first usable block 64; glassmaster writes the 128 entries UEFI 2.10 5.3.2 asks at least,
/// the first usable block 34), and so where a partition reaching the backup GPT ends. Both are
/// valid GPTs (`sgdisk -v` is asked); types, starts, sizes, names and attributes are compared.
const KNOWN_GPT_DIFFERENCES: [&str; 3] = ["GPT entry array", "GPT lba range", "to DISK-"];

/// With `-efi-boot-part --efi-boot-image` (grub-mkrescue) xorriso names the GPT partitions
/// over the ISO 9660 data "Gap0", "Gap1" and the EFI one "EFI boot partition", with attribute
/// bits 0 and 60 on the EFI one; glassmaster names them "ISO9660" and "EFI boot", no
/// attributes on the EFI one. And xorriso names the file whose data starts where a partition
/// starts, which depends on each layout. The partitions' types, starts and ends are compared.
const KNOWN_MKRESCUE_GPT_DIFFERENCES: [&str; 4] = [
    "GPT partition name",
    "GPT partname local",
    "GPT partition flags: 2",
    "GPT partition path : 3",
];

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

// ------------------------------------------------------------------------------------------------
// (a) Debian live / archiso

#[test]
fn debian_live_line_matches_xorriso_and_boots_kernel() {
    let Some(files) = prerequisites(&[]) else {
        return;
    };
    let w = work();
    let d = w.path();
    let root = d.join("binary");
    add_kernel(&root, files);
    add_common_files(&root);
    fs::create_dir_all(root.join("isolinux")).unwrap();
    fs::copy(ISOLINUX_BIN, root.join("isolinux/isolinux.bin")).unwrap();
    fs::copy(LDLINUX_C32, root.join("isolinux/ldlinux.c32")).unwrap();
    fs::write(root.join("isolinux/isolinux.cfg"), isolinux_cfg()).unwrap();
    touch_tree(&root);
    fs::copy(&files.efi_img, d.join("efiboot.img")).unwrap();
    let args = strings(&[
        "-iso-level",
        "3",
        "-full-iso9660-filenames",
        "-volid",
        "GLASSMASTER_LIVE",
        "-appid",
        "glassmaster live test",
        "-publisher",
        "glassmaster tests <https://example.invalid/>",
        "-preparer",
        "prepared by tests/distro_lines.rs",
        "--mbr-force-bootable",
        "-partition_offset",
        "16",
        "-joliet",
        "-joliet-long",
        "-rational-rock",
        "-isohybrid-mbr",
        ISOHDPFX_BIN,
        "-eltorito-boot",
        "isolinux/isolinux.bin",
        "-no-emul-boot",
        "-boot-load-size",
        "4",
        "-boot-info-table",
        "--eltorito-catalog",
        "isolinux/boot.cat",
        "-eltorito-alt-boot",
        "-e",
        "--interval:appended_partition_2:all::",
        "-no-emul-boot",
        "-isohybrid-gpt-basdat",
        "-append_partition",
        "2",
        ESP_GUID,
        "efiboot.img",
        "-output",
        "OUT",
        "binary",
    ]);
    // live-build and archiso run `xorriso -as mkisofs`.
    let (g, x) = build_both(
        d,
        Command::new(d.join("bin/xorriso")),
        &["-as", "mkisofs"],
        &args,
    );
    assert_same_meaning("Debian live line", &g, &x, &KNOWN_GPT_DIFFERENCES);
    assert_boots_four_ways("Debian live line (xorriso -as mkisofs)", &g);
}

// ------------------------------------------------------------------------------------------------
// (b) Fedora lorax

#[test]
fn lorax_line_matches_xorriso_and_boots_kernel() {
    let Some(files) = prerequisites(&["grub-mkimage"]) else {
        return;
    };
    let boot_hybrid = Path::new(GRUB_I386_PC).join("boot_hybrid.img");
    if !require_file(&boot_hybrid, "grub-pc-bin") {
        return;
    }
    let w = work();
    let d = w.path();
    // lorax grafts its pieces: the install tree, the boot images.
    let root = d.join("installtree");
    add_kernel(&root, files);
    add_common_files(&root);
    let images = d.join("images");
    fs::create_dir_all(&images).unwrap();
    fs::copy(grub_eltorito_image(d), images.join("eltorito.img")).unwrap();
    fs::write(
        images.join("discinfo"),
        b"1600000000.0\nglassmaster\nx86_64\n",
    )
    .unwrap();
    touch_tree(&root);
    touch_tree(&images);
    fs::copy(&files.efi_img, d.join("efiboot.img")).unwrap();
    let args = strings(&[
        "-R",
        "-J",
        "-V",
        "GLASSMASTER-LORAX-x86_64",
        "--grub2-mbr",
        boot_hybrid.to_str().unwrap(),
        "-partition_offset",
        "16",
        "-appended_part_as_gpt",
        "-append_partition",
        "2",
        ESP_GUID,
        "efiboot.img",
        "-iso_mbr_part_type",
        BASIC_DATA_GUID,
        "-c",
        "boot.cat",
        "--boot-catalog-hide",
        "-b",
        "images/eltorito.img",
        "-no-emul-boot",
        "-boot-load-size",
        "4",
        "-boot-info-table",
        "--grub2-boot-info",
        "-eltorito-alt-boot",
        "-e",
        "--interval:appended_partition_2:all::",
        "-no-emul-boot",
        "-graft-points",
        "-o",
        "OUT",
        "images/eltorito.img=images/eltorito.img",
        ".discinfo=images/discinfo",
        "/=installtree",
    ]);
    let (g, x) = build_both(d, Command::new(d.join("bin/xorrisofs")), &[], &args);
    assert_same_meaning("lorax line", &g, &x, &KNOWN_GPT_DIFFERENCES);
    assert_boots_four_ways("lorax line (xorrisofs)", &g);
}

// ------------------------------------------------------------------------------------------------
// (c) grub-mkrescue

#[test]
fn grub_mkrescue_line_matches_xorriso_and_boots_kernel() {
    let Some(files) = prerequisites(&["grub-mkrescue", "mformat"]) else {
        return;
    };
    for dir in ["/usr/lib/grub/i386-pc", "/usr/lib/grub/x86_64-efi"] {
        if !require_file(
            &Path::new(dir).join("moddep.lst"),
            "grub-pc-bin grub-efi-amd64-bin",
        ) {
            return;
        }
    }
    let Some(real_xorriso) = tool_path("xorriso") else {
        return;
    };
    let w = work();
    let d = w.path();
    let root = d.join("root");
    add_kernel(&root, files);
    add_common_files(&root);
    fs::create_dir_all(root.join("boot/grub")).unwrap();
    fs::write(
        root.join("boot/grub/grub.cfg"),
        "serial --unit=0 --speed=115200\n\
         terminal_input serial console\n\
         terminal_output serial console\n\
         echo \"glassmaster: grub-mkrescue image, root ($root)\"\n\
         linux /boot/vmlinuz console=ttyS0 panic=-1 no_timer_check\n\
         initrd /boot/initrd.img\n\
         boot\n",
    )
    .unwrap();
    touch_tree(&root);
    // grub-mkrescue's --xorriso: glassmaster (the link named xorriso) runs grub-mkrescue's
    // command line; then, while the temporary tree grub-mkrescue made still exists, the real
    // xorriso runs the same line writing IMAGE.xorriso, and the line without its HFS+ options
    // (-hfsplus, -apm-block-size, -hfsplus-file-creator-type, -hfs-bless-by: glassmaster writes
    // no HFS+ tree) writing IMAGE.xorriso-nohfs. Each command line goes to args.log.
    let wrapper = d.join("xorriso-both");
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\n\
             printf '%s\\n' \"$*\" >> '{log}'\n\
             '{ours}' \"$@\" || exit $?\n\
             case \" $* \" in *' -o '*) ;; *) exit 0 ;; esac\n\
             real() {{\n\
             \x20 suffix=$1; nohfs=$2; shift 2\n\
             \x20 take=0; skip=0; first=1\n\
             \x20 for a do\n\
             \x20   if [ $first = 1 ]; then set --; first=0; fi\n\
             \x20   if [ $skip -gt 0 ]; then skip=$((skip - 1)); continue; fi\n\
             \x20   if [ $nohfs = 1 ]; then\n\
             \x20     case $a in\n\
             \x20       -hfsplus) continue ;;\n\
             \x20       -apm-block-size) skip=1; continue ;;\n\
             \x20       -hfs-bless-by) skip=2; continue ;;\n\
             \x20       -hfsplus-file-creator-type) skip=3; continue ;;\n\
             \x20     esac\n\
             \x20   fi\n\
             \x20   if [ $take = 1 ]; then a=\"$a$suffix\"; take=0; fi\n\
             \x20   if [ \"$a\" = -o ]; then take=1; fi\n\
             \x20   set -- \"$@\" \"$a\"\n\
             \x20 done\n\
             \x20 printf 'real xorriso: %s\\n' \"$*\" >> '{log}'\n\
             \x20 '{real}' \"$@\"\n\
             }}\n\
             real .xorriso 0 \"$@\" && real .xorriso-nohfs 1 \"$@\"\n",
            log = d.join("args.log").display(),
            ours = d.join("bin/xorriso").display(),
            real = real_xorriso.display(),
        ),
    )
    .unwrap();
    fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
    let o = output(
        Command::new("grub-mkrescue")
            .arg(format!("--xorriso={}", wrapper.display()))
            .args(["-o", "ours.iso", "root"])
            .current_dir(d)
            .env("SOURCE_DATE_EPOCH", EPOCH),
    );
    ok(o, "grub-mkrescue");
    let log = fs::read_to_string(d.join("args.log")).unwrap();
    eprintln!("grub-mkrescue ran:\n{log}");
    assert!(log.contains("-as mkisofs"), "{log}");
    let (g, x) = (d.join("ours.iso"), d.join("ours.iso.xorriso"));
    let x_nohfs = d.join("ours.iso.xorriso-nohfs");
    assert!(
        x.is_file() && x_nohfs.is_file(),
        "the wrapper's xorriso runs wrote no image"
    );
    // Without HFS+, xorriso's system area is what ours must equal; the trees and the El Torito
    // catalog are those of the exact line (HFS+ changes neither).
    assert_same_meaning(
        "grub-mkrescue line (xorriso without HFS+)",
        &g,
        &x_nohfs,
        &[
            &KNOWN_GPT_DIFFERENCES[..],
            &KNOWN_MKRESCUE_GPT_DIFFERENCES[..],
        ]
        .concat(),
    );
    assert_same_meaning(
        "grub-mkrescue line",
        &g,
        &x,
        // The system area, compared above, differs by the HFS+ partition and the APM.
        &[
            &KNOWN_GPT_DIFFERENCES[..],
            &KNOWN_MKRESCUE_GPT_DIFFERENCES[..],
            &[
                "APM",
                "-hfsplus",
                "-apm-block-size",
                "HFSPLUS",
                "GPT ",
                "System area",
                "--grub2-mbr",
            ],
        ]
        .concat(),
    );
    assert_boots_four_ways("grub-mkrescue line (--xorriso=)", &g);
}
