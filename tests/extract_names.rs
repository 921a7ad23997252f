//! `glassmaster extract` creates names byte for byte (issue 19, item 4): Rock Ridge names that
//! are not UTF-8 come out exactly as they went in (compared with bsdtar's and xorriso's
//! extraction of the same image), and a name that cannot be created, a name given twice, or
//! two names the destination takes for one, is an error naming both, never an overwrite.
#![cfg(all(unix, feature = "cli"))]

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Output};

use common::{content, glassmaster, patch_all, require_tool, require_tools, run_clean, tool};
use glassmaster::{FileSystems, ImageBuilder, NoProgress};

fn extract(iso: &Path, dest: &Path, extra: &[&str]) -> Output {
    glassmaster()
        .arg("extract")
        .arg("-q")
        .args(extra)
        .arg(iso)
        .arg(dest)
        .output()
        .expect("run glassmaster")
}

/// Every entry below `root`: its path as exact bytes -> its contents (`None`: a directory).
fn tree_bytes(root: &Path) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<Vec<u8>, Option<Vec<u8>>>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .as_os_str()
                .as_bytes()
                .to_vec();
            if fs::symlink_metadata(&p).unwrap().is_dir() {
                out.insert(rel, None);
                walk(root, &p, out);
            } else {
                out.insert(rel, Some(fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn name(bytes: &[u8]) -> &OsStr {
    OsStr::from_bytes(bytes)
}

#[test]
fn rock_ridge_names_are_extracted_byte_for_byte() {
    // `x\xff` and `x\xfe` read as the same text with U+FFFD: they must stay two files.
    let src = tempfile::tempdir().unwrap();
    let root = src.path();
    fs::create_dir(root.join(name(b"dir\xe9"))).unwrap();
    let files: [(&[u8], u64); 5] = [
        (b"x\xff", 1),
        (b"x\xfe", 2),
        (b"dir\xe9/caf\xe9.txt", 3),
        (b"dir\xe9/\xc3\xa9t\xc3\xa9 ok", 4),
        (b"plain.txt", 5),
    ];
    for (n, seed) in files {
        fs::write(root.join(name(n)), content(seed, 1000 + seed as usize)).unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let iso = out.path().join("names.iso");
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::ISO9660 | FileSystems::ROCK_RIDGE | FileSystems::JOLIET);
    b.add_tree("/", root, &mut glassmaster::NoProgress).unwrap();
    b.build_to_path(&iso, &mut NoProgress).unwrap();
    let want = tree_bytes(root);
    assert_eq!(want.len(), 6);

    let ours = out.path().join("ours");
    let o = extract(&iso, &ours, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(tree_bytes(&ours), want, "glassmaster extract");

    // The same image through two independent extractors: the names are in the image.
    if !require_tools(&["bsdtar", "xorriso"]) {
        return;
    }
    let by_bsdtar = out.path().join("bsdtar");
    fs::create_dir(&by_bsdtar).unwrap();
    run_clean(
        tool("bsdtar")
            .arg("-xf")
            .arg(&iso)
            .arg("-C")
            .arg(&by_bsdtar),
    );
    assert_eq!(tree_bytes(&by_bsdtar), want, "bsdtar -xf");
    let by_xorriso = out.path().join("xorriso");
    common::run(
        tool("xorriso")
            .args(["-osirrox", "on", "-indev"])
            .arg(&iso)
            .args(["-extract", "/"])
            .arg(&by_xorriso),
    );
    common::make_writable(&by_xorriso);
    assert_eq!(tree_bytes(&by_xorriso), want, "xorriso -extract");
}

fn utf16be(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect()
}

/// An image whose Rock Ridge and Joliet trees name two different files `collide_a`, and name
/// a third `sl/x` (one name holding `/`): as a damaged or hostile image would.
fn crafted_image(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
    let src = dir.join("src");
    fs::create_dir(&src).unwrap();
    let first = content(11, 3000);
    fs::write(src.join("collide_a"), &first).unwrap();
    fs::write(src.join("collide_b"), content(12, 3000)).unwrap();
    fs::write(src.join("sl_x"), b"slash").unwrap();
    fs::write(src.join("other"), b"other").unwrap();
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::ISO9660 | FileSystems::ROCK_RIDGE | FileSystems::JOLIET);
    b.add_tree("/", &src, &mut glassmaster::NoProgress).unwrap();
    let mut bytes = Vec::new();
    b.build(&mut glassmaster::NoProgress)
        .unwrap()
        .write_to(&mut bytes, &mut NoProgress)
        .unwrap();
    // Rock Ridge NM entries (RRIP 4.1.4) hold the names as bytes, Joliet as UCS-2 big-endian.
    assert_eq!(patch_all(&mut bytes, b"collide_b", b"collide_a"), 1);
    assert_eq!(
        patch_all(&mut bytes, &utf16be("collide_b"), &utf16be("collide_a")),
        1
    );
    assert_eq!(patch_all(&mut bytes, b"sl_x", b"sl/x"), 1);
    assert_eq!(patch_all(&mut bytes, &utf16be("sl_x"), &utf16be("sl/x")), 1);
    let iso = dir.join("crafted.iso");
    fs::write(&iso, bytes).unwrap();
    (iso, first)
}

#[test]
fn names_given_twice_or_holding_a_slash_are_errors_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let (iso, first) = crafted_image(dir.path());
    // Independent readers see the two `collide_a` entries.
    if require_tool("isoinfo") {
        let listing = common::run_stdout(tool("isoinfo").args(["-J", "-f", "-i"]).arg(&iso));
        assert_eq!(listing.matches("/collide_a").count(), 2, "{listing}");
    }
    if require_tool("bsdtar") {
        let listing = common::run_stdout(tool("bsdtar").arg("-tf").arg(&iso));
        assert_eq!(listing.matches("collide_a").count(), 2, "{listing}");
    }
    for view in [None, Some("joliet")] {
        let dest = dir.path().join(format!("out-{view:?}"));
        let extra: Vec<&str> = view.map(|v| vec!["--view", v]).unwrap_or_default();
        let o = extract(&iso, &dest, &extra);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{view:?}: {err}");
        // Both entries named, told apart by their blocks.
        let line = err
            .lines()
            .find(|l| l.contains("same name"))
            .unwrap_or_else(|| panic!("{view:?}: no collision reported: {err}"));
        assert_eq!(line.matches("/collide_a at block").count(), 2, "{line}");
        assert!(err.contains("name contains '/'"), "{view:?}: {err}");
        assert!(err.contains("/sl/x"), "{view:?}: {err}");
        assert!(
            err.contains("2 entries were not extracted"),
            "{view:?}: {err}"
        );
        // The first was extracted and not overwritten by the second; nothing else of sl/x.
        assert_eq!(fs::read(dest.join("collide_a")).unwrap(), first, "{view:?}");
        assert_eq!(fs::read(dest.join("other")).unwrap(), b"other", "{view:?}");
        let names: Vec<_> = fs::read_dir(&dest)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{view:?}: {names:?}");
        assert!(!dest.join("sl").exists() && !dest.join("x").exists());
    }
}

/// Mounts a new FAT file system (names compared without case) with FUSE at `mnt`; unmounted
/// on drop.
struct FatMount(std::path::PathBuf);

impl FatMount {
    fn new(dir: &Path) -> Option<FatMount> {
        if !require_tools(&["mkfs.vfat", "fusefat", "fusermount"]) {
            return None;
        }
        let img = dir.join("fat.img");
        fs::File::create(&img).unwrap().set_len(16 << 20).unwrap();
        run_clean(tool("mkfs.vfat").arg(&img));
        let mnt = dir.join("fat");
        fs::create_dir(&mnt).unwrap();
        common::run(tool("fusefat").args(["-o", "rw+"]).arg(&img).arg(&mnt));
        Some(FatMount(mnt))
    }
}

impl Drop for FatMount {
    fn drop(&mut self) {
        let _ = Command::new("fusermount").arg("-u").arg(&self.0).status();
    }
}

#[test]
fn names_the_destination_takes_for_one_are_errors_naming_both() {
    // `Abc` and `abc`, `D/` and `d/`: two names in the image, one on FAT.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir_all(src.join("D")).unwrap();
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("Abc"), b"upper").unwrap();
    fs::write(src.join("abc"), b"lower").unwrap();
    fs::write(src.join("D/f"), b"in D").unwrap();
    fs::write(src.join("d/f"), b"in d").unwrap();
    let iso = dir.path().join("case.iso");
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE);
    b.add_tree("/", &src, &mut glassmaster::NoProgress).unwrap();
    b.build_to_path(&iso, &mut NoProgress).unwrap();
    let Some(fat) = FatMount::new(dir.path()) else {
        return;
    };
    // FAT keeps no modes: the Joliet view (no POSIX attributes to set).
    let dest = fat.0.join("out");
    let o = extract(&iso, &dest, &["--view", "joliet"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("/abc and /Abc are the same name on the destination"),
        "{err}"
    );
    assert!(
        err.contains("/d and /D are the same name on the destination"),
        "{err}"
    );
    // The first of each pair is extracted as it is, never overwritten by the second.
    assert_eq!(fs::read(dest.join("Abc")).unwrap(), b"upper");
    assert_eq!(fs::read(dest.join("D/f")).unwrap(), b"in D");
}
