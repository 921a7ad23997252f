//! Reflinks (issue 23 item 5): where the output's file system shares blocks between files (XFS
//! made with reflink=1, btrfs), files of 1 MiB or more are placed at even blocks (4 KiB) and
//! cloned from their sources instead of copied. Each test makes its own small file system in a
//! loop-mounted image file (root and a loop device needed: skipped with a note otherwise, a
//! failure under CI=true), checks with `filefrag -v` (FIEMAP) that the image's extents are
//! shared, and reads the files back with isoinfo and 7z. Elsewhere (the temporary directory's
//! ext4 or tmpfs) `auto` copies, silently, byte for byte as `never`, and `always` fails.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// 8 MiB files (three), one of 1.2 MiB (not a multiple of 4 KiB) and small ones between them
/// (so the large ones would start at odd blocks without the alignment).
fn populate(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut add = |name: &str, len: usize, seed: u64| {
        let bytes = common::content(seed, len);
        fs::write(dir.join(name), &bytes).unwrap();
        files.push((name.to_string(), bytes));
    };
    add("A_SMALL.TXT", 5000, 1);
    add("BIG1.BIN", 8 << 20, 2);
    add("B_SMALL.TXT", 3000, 3);
    add("BIG2.BIN", 8 << 20, 4);
    add("C_ODD.BIN", 1_234_567, 5);
    add("D_SMALL.TXT", 100, 6);
    add("BIG3.BIN", 8 << 20, 7);
    files
}

/// A file system of `kind` ("xfs" or "btrfs") in an image file, loop-mounted; unmounted and
/// deleted when dropped.
struct LoopFs {
    _dir: tempfile::TempDir,
    mnt: PathBuf,
}

impl LoopFs {
    fn make(kind: &str) -> Option<LoopFs> {
        let mkfs = format!("mkfs.{kind}");
        let mkfs = common::require_tool_path(&mkfs)?;
        common::require_tool_path("filefrag")?;
        let uid = Command::new("id").arg("-u").output().ok()?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            common::missing("root", "mounting a loop device needs root");
            return None;
        }
        if !Path::new("/dev/loop-control").exists() {
            common::missing("a loop device (/dev/loop-control)", "load the loop module");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join(format!("{kind}.img"));
        // Sparse: only what is written takes room (about 60 MiB).
        fs::File::create(&img).unwrap().set_len(320 << 20).unwrap();
        let mut cmd = Command::new(mkfs);
        if kind == "xfs" {
            cmd.args(["-q", "-m", "reflink=1"]);
        } else {
            cmd.arg("-q");
        }
        common::run(cmd.arg(&img));
        let mnt = dir.path().join("mnt");
        fs::create_dir(&mnt).unwrap();
        let out = Command::new("mount")
            .args(["-o", "loop"])
            .arg(&img)
            .arg(&mnt)
            .output()
            .unwrap();
        if !out.status.success() {
            common::missing(
                &format!(
                    "a loop mount of {kind} ({})",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
                "needs root, a free loop device and the file system's kernel module",
            );
            return None;
        }
        Some(LoopFs { _dir: dir, mnt })
    }
}

impl Drop for LoopFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mnt).status();
    }
}

/// How many bytes of `file` are in extents FIEMAP flags shared (`filefrag -v`, 4 KiB units).
fn shared_bytes(file: &Path) -> u64 {
    let filefrag = common::tool_path("filefrag").unwrap();
    let out = common::run(Command::new(filefrag).args(["-v", "-b4096"]).arg(file));
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter(|l| l.contains("shared"))
        .filter_map(|l| {
            // " 2:   13..  6457:   24..  6468:   6445:   6483: shared"
            let fields: Vec<&str> = l.split(':').collect();
            let range = fields.get(1)?;
            let (a, b) = range.split_once("..")?;
            let (a, b): (u64, u64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            Some((b - a + 1) * 4096)
        })
        .sum()
}

fn build(src: &Path, out: &Path, mode: &str) -> std::process::Output {
    common::glassmaster()
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args(["build", "-q", "--reflink", mode, "-o"])
        .arg(out)
        .arg(src)
        .output()
        .unwrap()
}

/// Each file read back by isoinfo (by its ISO 9660 name) and 7z equals its source.
fn check_readers(iso: &Path, files: &[(String, Vec<u8>)]) {
    let x = tempfile::tempdir().unwrap();
    common::run(
        common::tool("7z")
            .args(["x", "-y", "-bd"])
            .arg(format!("-o{}", x.path().display()))
            .arg(iso),
    );
    for (name, bytes) in files {
        let got = fs::read(x.path().join(name)).unwrap();
        assert!(got == *bytes, "7z: {name} differs ({} bytes)", got.len());
        let out = common::run(
            common::tool("isoinfo")
                .arg("-i")
                .arg(iso)
                .args(["-x", &format!("/{name};1")]),
        );
        assert!(out.stdout == *bytes, "isoinfo: {name} differs");
    }
}

/// The first block of each file, as isoinfo lists it (`-l`: "[  lba 00]").
fn lbas(iso: &Path) -> Vec<(String, u64)> {
    let out = common::run(common::tool("isoinfo").args(["-l", "-i"]).arg(iso));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (_, rest) = l.split_once('[')?;
            let (inside, name) = rest.split_once(']')?;
            let lba = inside.split_whitespace().next()?;
            let name = name.trim().trim_end_matches(";1").to_string();
            Some((name, lba.trim().parse().ok()?))
        })
        .collect()
}

fn clones_on(kind: &str) {
    if !common::require_tools(&["isoinfo", "7z"]) {
        return;
    }
    let Some(fs_) = LoopFs::make(kind) else {
        return;
    };
    let src = fs_.mnt.join("src");
    fs::create_dir(&src).unwrap();
    let files = populate(&src);
    common::run(&mut Command::new("sync"));
    let large: u64 = files
        .iter()
        .filter(|(_, b)| b.len() >= 1 << 20)
        .map(|(_, b)| b.len() as u64)
        .sum();

    for mode in ["always", "auto"] {
        let iso = fs_.mnt.join(format!("{mode}.iso"));
        let out = build(&src, &iso, mode);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        common::run(&mut Command::new("sync"));
        let shared = shared_bytes(&iso);
        // Every whole 4 KiB block of the large files is shared (a tail block may be copied).
        assert!(
            shared + 2 * 4096 >= large,
            "{kind} --reflink {mode}: {shared} bytes shared of {large}"
        );
        let placed = lbas(&iso);
        for (name, bytes) in &files {
            if bytes.len() >= 1 << 20 {
                let lba = placed
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|p| p.1)
                    .unwrap_or_else(|| panic!("{name} not listed: {placed:?}"));
                assert_eq!(lba % 2, 0, "{name} at odd block {lba}");
            }
        }
        check_readers(&iso, &files);
    }
    // never: copied, nothing shared, laid out as before (as written to standard output).
    let iso = fs_.mnt.join("never.iso");
    let out = build(&src, &iso, "never");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    common::run(&mut Command::new("sync"));
    assert_eq!(
        shared_bytes(&iso),
        0,
        "{kind} --reflink never shares blocks"
    );
    check_readers(&iso, &files);
    let piped = common::run(
        common::glassmaster()
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .args(["build", "-q", "-o", "-"])
            .arg(&src),
    );
    assert!(
        fs::read(&iso).unwrap() == piped.stdout,
        "never differs from the plain layout"
    );
    assert!(
        fs::read(fs_.mnt.join("auto.iso")).unwrap() != piped.stdout,
        "auto did not align"
    );
}

#[test]
fn reflink_clones_large_files_on_xfs() {
    clones_on("xfs");
}

#[test]
fn reflink_clones_large_files_on_btrfs() {
    clones_on("btrfs");
}

/// Where the file system cannot clone (the temporary directory: ext4, tmpfs...), `auto` copies
/// silently and lays out as `never` (byte for byte), `always` fails naming the output.
#[test]
fn reflink_falls_back_where_the_file_system_cannot_clone() {
    if !common::require_tools(&["isoinfo", "7z"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Skip where the temporary directory itself clones (XFS or btrfs /tmp).
    let probe_a = dir.path().join("a");
    fs::write(&probe_a, [1u8; 4096]).unwrap();
    let cp = Command::new("cp")
        .args(["--reflink=always"])
        .arg(&probe_a)
        .arg(dir.path().join("b"))
        .output()
        .unwrap();
    if cp.status.success() {
        eprintln!(
            "note: {} clones files; the fallback is not tested here",
            dir.path().display()
        );
        return;
    }
    let src = dir.path().join("src");
    fs::create_dir(&src).unwrap();
    let files = populate(&src);
    let auto = dir.path().join("auto.iso");
    let out = build(&src, &auto, "auto");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "auto warned: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let never = dir.path().join("never.iso");
    let out = build(&src, &never, "never");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        fs::read(&auto).unwrap() == fs::read(&never).unwrap(),
        "auto is not never's layout"
    );
    check_readers(&auto, &files);

    let always = dir.path().join("always.iso");
    let out = build(&src, &always, "always");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "always succeeded where nothing clones"
    );
    assert!(
        err.contains("--reflink always") && err.contains(&*always.to_string_lossy()),
        "{err}"
    );
    assert!(!always.exists(), "a failed build left its output");
    // No probe files are left beside the output.
    let left: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("glassmaster"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
