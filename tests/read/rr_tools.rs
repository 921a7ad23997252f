//! Rock Ridge reader tests on images made by genisoimage and xorriso from a source tree with
//! long and Unicode names, symbolic links, a FIFO, a device, hard links, dates before 1970 and
//! after 2038, and directories deep enough to be relocated. The Rock Ridge view must give back
//! the source tree. A missing tool skips the test, unless the environment has `CI=true`, where
//! it fails.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::basic::open;
use crate::common::{major_minor, require_tool, run};
use glassmaster::read::*;
use glassmaster::ParseErrorKind;

/// Runs `cmd`; true if it succeeded.
fn try_run(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn touch(path: &Path, date: &str) {
    run(Command::new("touch")
        .arg("-h")
        .arg("-d")
        .arg(date)
        .arg(path));
}

/// How deep the `deep` chain goes: `/deep/l2/.../l12/leaf.txt` (beyond ECMA-119's 8 levels).
const DEEP: usize = 12;

/// The 300-byte symbolic link target (three components).
fn target_300() -> String {
    format!("/{}/{}/{}", "a".repeat(99), "b".repeat(99), "c".repeat(99))
}

/// A target of about 1000 bytes with 199-byte components. libisofs refuses targets of 1024
/// bytes or more. genisoimage 1.1.11 puts what does not fit in the directory record into one
/// `SL` entry of the continuation area, whose length byte wraps past 255 (a corrupt entry), and
/// loops forever on some longer targets: it only gets the 300-byte target.
fn target_1000() -> String {
    ["x"; 5].map(|c| c.repeat(199)).join("/")
}

/// Builds the source tree under `root` (with a 1000-byte symbolic link target if
/// `long_link`). Returns whether a device node could be made.
fn make_tree(root: &Path, long_link: bool) -> bool {
    let w = |rel: &str, data: &[u8], mode: u32| {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, data).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
    };
    fs::create_dir_all(root).unwrap();
    w("hello.txt", b"Hello, Rock Ridge!\n", 0o644);
    w("script.sh", b"#!/bin/sh\necho hi\n", 0o755);
    w("secret", b"s3cret\n", 0o600);
    w("Ünïcødé 文件.txt", "unicode ✓\n".as_bytes(), 0o644);
    w("日本語/ファイル.txt", "テキスト\n".as_bytes(), 0o640);
    w(&format!("L{}.txt", "o".repeat(239)), b"long\n", 0o644);
    w(&"é".repeat(110), b"long unicode\n", 0o644);
    w("hard_a", b"same inode\n", 0o644);
    fs::hard_link(root.join("hard_a"), root.join("hard_b")).unwrap();
    w("old.txt", b"before 1970\n", 0o644);
    w("new.txt", b"after 2038\n", 0o644);
    touch(&root.join("old.txt"), "1960-01-01 00:00:00 UTC");
    touch(&root.join("new.txt"), "2100-06-15 12:34:56 UTC");
    // Owner and group, where allowed (as root).
    let _ = try_run(
        Command::new("chown")
            .arg("1234:5678")
            .arg(root.join("hello.txt")),
    );
    let links = root.join("links");
    fs::create_dir(&links).unwrap();
    fs::set_permissions(&links, fs::Permissions::from_mode(0o750)).unwrap();
    let mut targets = vec![
        ("rel", "../hello.txt".to_string()),
        ("abs", "/etc/hostname".to_string()),
        ("dotdot", "..".to_string()),
        ("dot", ".".to_string()),
        ("dots", "./x/../y".to_string()),
        ("long300", target_300()),
    ];
    if long_link {
        targets.push(("long1000", target_1000()));
    }
    for (name, target) in targets {
        std::os::unix::fs::symlink(&target, links.join(name)).unwrap();
    }
    touch(&links.join("rel"), "1999-12-31 23:59:59 UTC");
    run(Command::new("mkfifo").arg(root.join("fifo")));
    let device = try_run(
        Command::new("mknod")
            .arg(root.join("null"))
            .args(["c", "1", "3"]),
    );
    let mut deep = root.join("deep");
    for level in 2..=DEEP {
        deep.push(format!("l{level}"));
    }
    fs::create_dir_all(&deep).unwrap();
    fs::write(deep.join("leaf.txt"), b"deep leaf\n").unwrap();
    fs::create_dir(root.join("empty")).unwrap();
    device
}

/// Every path below `root` ("/a/b"), with its metadata (symbolic links not followed).
fn source_entries(root: &Path) -> BTreeMap<String, (PathBuf, fs::Metadata)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![(String::new(), root.to_path_buf())];
    while let Some((prefix, dir)) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let path = format!("{prefix}/{}", e.file_name().to_str().unwrap());
            let md = fs::symlink_metadata(e.path()).unwrap();
            if md.is_dir() {
                stack.push((path.clone(), e.path()));
            }
            out.insert(path, (e.path(), md));
        }
    }
    out
}

/// What a writer is expected to record.
#[derive(Debug, Clone, Copy)]
struct Expect {
    /// The `ER` identifier (or inferred id).
    id: &'static str,
    /// `-R` keeps modes and owners; `-r` makes them 0 and readable.
    exact_owner_mode: bool,
    /// Hard link counts are recorded.
    nlink: bool,
    /// `PX` has the serial number (44 bytes).
    serial: bool,
    /// Deep directories are relocated (and `rr_moved` hidden).
    relocates: bool,
}

/// Checks the Rock Ridge view of `data` against the source tree at `src`.
fn check_rock_ridge(data: Vec<u8>, src: &Path, expect: Expect) {
    let mut r = open(data);
    assert_eq!(r.volume_info().rock_ridge.as_deref(), Some(expect.id));
    assert!(r.views().contains(&View::RockRidge));
    assert_eq!(r.default_view(), View::RockRidge);
    let root = r.root(View::RockRidge).unwrap();
    let root_posix = root.posix.clone().expect("root PX");
    assert_eq!(root_posix.file_type(), FileType::Directory);

    let walked = r.walk(View::RockRidge).unwrap();
    let source = source_entries(src);
    let got: Vec<&str> = walked.iter().map(|(p, _)| p.as_str()).collect();
    let want: Vec<&str> = source.keys().map(String::as_str).collect();
    let mut got_sorted = got.clone();
    got_sorted.sort_unstable();
    assert_eq!(got_sorted, want, "paths of the Rock Ridge view");
    assert!(!got
        .iter()
        .any(|p| p.to_ascii_lowercase().contains("rr_moved")));

    let mut relocated = 0;
    for (path, e) in &walked {
        let (disk, md) = &source[path];
        let p = e.posix.as_ref().unwrap_or_else(|| panic!("{path}: no PX"));
        assert_eq!(e.view, View::RockRidge);
        assert_eq!(&e.name, path.rsplit('/').next().unwrap(), "{path}");
        assert_eq!(e.is_dir, md.is_dir(), "{path}");
        let ft = md.file_type();
        use std::os::unix::fs::FileTypeExt;
        let want_type = if ft.is_dir() {
            FileType::Directory
        } else if ft.is_symlink() {
            FileType::Symlink
        } else if ft.is_fifo() {
            FileType::Fifo
        } else if ft.is_char_device() {
            FileType::CharDevice
        } else {
            FileType::Regular
        };
        assert_eq!(p.file_type(), want_type, "{path}");
        if expect.exact_owner_mode {
            assert_eq!(p.mode, md.mode(), "{path}: mode {:o}", p.mode);
            assert_eq!((p.uid, p.gid), (md.uid(), md.gid()), "{path}");
        } else {
            assert_eq!((p.uid, p.gid), (0, 0), "{path}");
            if !ft.is_symlink() {
                assert_eq!(p.mode & 0o222, 0, "{path}: mode {:o}", p.mode);
                assert_eq!(p.mode & 0o444, 0o444, "{path}: mode {:o}", p.mode);
            }
        }
        // TF modification time, to the second (also before 1970 and after 2038).
        let mtime = e.mtime.unwrap_or_else(|| panic!("{path}: no mtime"));
        assert_eq!(mtime.timestamp(), md.mtime(), "{path}: {mtime}");
        assert_eq!(p.mtime, Some(mtime), "{path}");
        if ft.is_symlink() {
            let target = fs::read_link(disk).unwrap();
            assert_eq!(p.symlink_lossy().as_deref(), target.to_str(), "{path}");
            assert_eq!(e.size, 0);
        } else {
            assert_eq!(p.symlink, None, "{path}");
        }
        if ft.is_file() {
            assert_eq!(r.read_file(e).unwrap(), fs::read(disk).unwrap(), "{path}");
            if expect.nlink {
                assert_eq!(p.nlink, md.nlink() as u32, "{path}");
            }
        }
        if ft.is_char_device() {
            assert_eq!(p.device_numbers(), Some(major_minor(md.rdev())), "{path}");
            assert_eq!(e.size, 0);
        }
        if ft.is_fifo() {
            assert_eq!(e.size, 0);
        }
        assert_eq!(p.serial.is_some(), expect.serial, "{path}");
        if p.relocated {
            relocated += 1;
            assert!(e.is_dir && path.starts_with("/deep/"), "{path}");
        }
        // Lookups by Rock Ridge path find the same entry.
        if path.matches('/').count() <= 3 {
            assert_eq!(&r.lookup(View::RockRidge, path).unwrap(), e, "{path}");
        }
    }
    assert_eq!(relocated > 0, expect.relocates, "relocated directories");
    // The hard links share their data.
    let a = r.lookup(View::RockRidge, "/hard_a").unwrap();
    let b = r.lookup(View::RockRidge, "/hard_b").unwrap();
    assert_eq!(a.extents, b.extents);
    if expect.serial {
        let (pa, pb) = (a.posix.unwrap(), b.posix.unwrap());
        assert_eq!(
            pa.serial, pb.serial,
            "hard links have the same serial number"
        );
    }
    // The ISO 9660 view of the same image: ISO names, the same attributes.
    let iso = r.walk(View::Iso9660).unwrap();
    let hello = iso
        .iter()
        .find(|(p, _)| p == "/HELLO.TXT")
        .map(|(_, e)| e.clone())
        .expect("ISO name");
    assert_eq!(hello.rr_name.as_deref(), Some(&b"hello.txt"[..]));
    assert_eq!(
        hello.posix,
        r.lookup(View::RockRidge, "/hello.txt").unwrap().posix
    );
    if expect.relocates {
        // The ISO 9660 tree holds the relocated directories elsewhere (in rr_moved, or in the
        // root for xorriso -rr_reloc_dir /), and the placeholders are not directories there.
        assert!(iso.iter().filter(|(p, _)| p.starts_with("/DEEP")).count() < DEEP + 1);
    }
}

/// Makes the source tree and an image of it with `tool args... -o image src`.
fn build(tool: &str, args: &[&str]) -> (tempfile::TempDir, PathBuf, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    make_tree(&src, tool != "genisoimage");
    let out = dir.path().join("out.iso");
    run(Command::new(tool).args(args).arg("-o").arg(&out).arg(&src));
    let data = fs::read(&out).unwrap();
    (dir, src, data)
}

#[test]
fn genisoimage_rock_ridge_relocates() {
    if !require_tool("genisoimage") {
        return;
    }
    let (_dir, src, data) = build("genisoimage", &["-quiet", "-R"]);
    let expect = Expect {
        id: "RRIP_1991A",
        exact_owner_mode: true,
        nlink: true,
        serial: false,
        relocates: true,
    };
    check_rock_ridge(data.clone(), &src, expect);
    // genisoimage: rr_moved is a plain directory in the ISO 9660 tree, the placeholder of a
    // relocated directory is a zero-length file with CL.
    let mut r = open(data);
    let moved = r.lookup(View::Iso9660, "/RR_MOVED").unwrap();
    assert!(moved.is_dir);
    let mut path = "/DEEP".to_string();
    for level in 2..8 {
        path.push_str(&format!("/L{level}"));
    }
    let parent = r.lookup(View::Iso9660, &path).unwrap();
    let children = r.read_dir(&parent).unwrap();
    assert_eq!(children.len(), 1);
    assert!(!children[0].is_dir && children[0].size == 0);
    // The same placeholder in the Rock Ridge view is the relocated directory.
    let rr = r.lookup(View::RockRidge, &path.to_lowercase()).unwrap();
    let rr_children = r.read_dir(&rr).unwrap();
    assert_eq!(rr_children.len(), 1);
    assert!(rr_children[0].is_dir && rr_children[0].posix.as_ref().unwrap().relocated);
}

#[test]
fn genisoimage_rock_ridge_without_relocation() {
    if !require_tool("genisoimage") {
        return;
    }
    let (_dir, src, data) = build("genisoimage", &["-quiet", "-R", "-D"]);
    let expect = Expect {
        id: "RRIP_1991A",
        exact_owner_mode: true,
        nlink: true,
        serial: false,
        relocates: false,
    };
    check_rock_ridge(data, &src, expect);
}

#[test]
fn genisoimage_rationalized_rock_ridge() {
    if !require_tool("genisoimage") {
        return;
    }
    let (_dir, src, data) = build("genisoimage", &["-quiet", "-r"]);
    let expect = Expect {
        id: "RRIP_1991A",
        exact_owner_mode: false,
        nlink: true,
        serial: false,
        relocates: true,
    };
    check_rock_ridge(data, &src, expect);
}

#[test]
fn xorriso_rock_ridge() {
    if !require_tool("xorriso") {
        return;
    }
    // xorrisofs does not relocate by default (-D is its default) and records link counts of 1.
    let (_dir, src, data) = build("xorriso", &["-as", "mkisofs", "-quiet", "-R"]);
    let expect = Expect {
        id: "RRIP_1991A",
        exact_owner_mode: true,
        nlink: false,
        serial: false,
        relocates: false,
    };
    check_rock_ridge(data, &src, expect);
}

#[test]
fn xorriso_rock_ridge_relocated_with_hard_links() {
    if !require_tool("xorriso") {
        return;
    }
    // --hardlinks records link counts and serial numbers (44-byte PX, still with the ER of
    // RRIP_1991A); -rr_reloc_dir relocates into a directory that libisofs marks with RE itself.
    let args = [
        "-as",
        "mkisofs",
        "-quiet",
        "-R",
        "--hardlinks",
        "-rr_reloc_dir",
        "rr_moved",
    ];
    let (_dir, src, data) = build("xorriso", &args);
    let expect = Expect {
        id: "RRIP_1991A",
        exact_owner_mode: true,
        nlink: true,
        serial: true,
        relocates: true,
    };
    check_rock_ridge(data.clone(), &src, expect);
    let mut r = open(data);
    assert!(r.lookup(View::Iso9660, "/RR_MOVED").unwrap().is_dir);
}

#[test]
fn xorriso_rock_ridge_relocated_into_root() {
    if !require_tool("xorriso") {
        return;
    }
    let args = ["-as", "mkisofs", "-quiet", "-R", "-rr_reloc_dir", "/"];
    let (_dir, src, data) = build("xorriso", &args);
    let expect = Expect {
        id: "RRIP_1991A",
        exact_owner_mode: true,
        nlink: false,
        serial: false,
        relocates: true,
    };
    check_rock_ridge(data.clone(), &src, expect);
    // The relocated directory sits in the ISO 9660 root, and not in the Rock Ridge root.
    let mut r = open(data);
    let iso_root = r.root(View::Iso9660).unwrap();
    let iso_dirs = r.read_dir(&iso_root).unwrap();
    let deep_level = |e: &DirEntry| {
        e.is_dir
            && e.name
                .strip_prefix(['l', 'L'])
                .is_some_and(|n| n.parse::<usize>().is_ok())
    };
    assert!(iso_dirs.iter().any(deep_level));
    let rr_root = r.root(View::RockRidge).unwrap();
    let rr_dirs = r.read_dir(&rr_root).unwrap();
    assert!(!rr_dirs.iter().any(deep_level));
}

#[test]
fn xorriso_rrip_1_12() {
    if !require_tool("xorriso") {
        return;
    }
    // The native command with -compliance new_rr writes the ER of RRIP 1.12 (IEEE_1282) and
    // 44-byte PX entries.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    make_tree(&src, true);
    let out = dir.path().join("out.iso");
    run(Command::new("xorriso")
        .arg("-outdev")
        .arg(&out)
        .args(["-compliance", "new_rr", "-map"])
        .arg(&src)
        .args(["/", "-commit"]));
    let expect = Expect {
        id: "IEEE_1282",
        exact_owner_mode: true,
        nlink: false,
        serial: true,
        relocates: false,
    };
    check_rock_ridge(fs::read(&out).unwrap(), &src, expect);
}

#[test]
fn genisoimage_rock_ridge_and_joliet() {
    if !require_tool("genisoimage") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("sub/Mixed Case.txt"), b"x").unwrap();
    let out = dir.path().join("out.iso");
    run(Command::new("genisoimage")
        .args(["-quiet", "-R", "-J", "-o"])
        .arg(&out)
        .arg(&src));
    let mut r = open(fs::read(&out).unwrap());
    assert_eq!(
        r.views(),
        vec![View::Iso9660, View::Joliet, View::RockRidge]
    );
    assert_eq!(r.default_view(), View::RockRidge);
    let e = r.lookup(View::RockRidge, "/sub/Mixed Case.txt").unwrap();
    assert_eq!(r.read_file(&e).unwrap(), b"x");
    // Joliet records carry no Rock Ridge entries.
    let j = r.lookup(View::Joliet, "/sub/Mixed Case.txt").unwrap();
    assert_eq!(j.posix, None);
}

#[test]
fn plain_iso_has_no_rock_ridge() {
    if !require_tool("genisoimage") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("a.txt"), b"a").unwrap();
    let out = dir.path().join("out.iso");
    run(Command::new("genisoimage")
        .args(["-quiet", "-o"])
        .arg(&out)
        .arg(&src));
    let mut r = open(fs::read(&out).unwrap());
    assert_eq!(r.volume_info().rock_ridge, None);
    assert_eq!(r.views(), vec![View::Iso9660]);
    assert_eq!(
        r.root(View::RockRidge).unwrap_err().kind,
        ParseErrorKind::NoSuchView("rockridge".into())
    );
    let e = r.lookup(View::Iso9660, "/A.TXT").unwrap();
    assert_eq!(e.posix, None);
}

#[test]
fn genisoimage_cd_xa_rock_ridge() {
    if !require_tool("genisoimage") {
        return;
    }
    // -XA puts 14 bytes of CD-XA information before the SUSP entries of every record; SP
    // follows them on the root and says to skip 14 bytes elsewhere.
    let (_dir, src, data) = build("genisoimage", &["-quiet", "-R", "-XA", "-D"]);
    let expect = Expect {
        id: "RRIP_1991A",
        exact_owner_mode: true,
        nlink: true,
        serial: false,
        relocates: false,
    };
    check_rock_ridge(data, &src, expect);
}
