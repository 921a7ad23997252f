//! `glassmaster extract` never changes what is already in DEST unless asked (issue 19, trial
//! finding F9): an existing file or symbolic link at a path the image would write is an error
//! naming it, checked before anything is written; `--overwrite` replaces files and links (a
//! link itself, never what it points to); a directory of the image merges into an existing
//! directory; a directory in the way of a file is an error even with `--overwrite`.
//!
//! Each scenario runs on an image of ours and on one made by xorriso (an independent writer),
//! and the tree `--overwrite` leaves is compared with bsdtar's extraction of the same image.
#![cfg(all(unix, feature = "cli"))]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{glassmaster, require_tools, run, snapshot, tool, Found};
use tempfile::TempDir;

fn extract(iso: &Path, dest: &Path, extra: &[&str]) -> Output {
    glassmaster()
        .arg("extract")
        .args(extra)
        .arg(iso)
        .arg(dest)
        .output()
        .expect("run glassmaster")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every entry below `root` exactly, links not followed: path -> kind and contents (a link's
/// target, a file's bytes and modification time).
fn state(root: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let md = fs::symlink_metadata(&p).unwrap();
            let what = if md.file_type().is_symlink() {
                format!("link -> {}", fs::read_link(&p).unwrap().display())
            } else if md.is_dir() {
                walk(&p, out);
                "dir".to_string()
            } else {
                format!(
                    "file {:?} {:?}",
                    String::from_utf8_lossy(&fs::read(&p).unwrap()),
                    md.modified().unwrap()
                )
            };
            out.insert(p, what);
        }
    }
    let mut out = BTreeMap::new();
    walk(root, &mut out);
    out
}

/// The source: `a` (a file), `d/x` (a file in a directory), `l` -> `a` (a link).
fn source(root: &Path) -> PathBuf {
    let src = root.join("src");
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("a"), b"from the image\n").unwrap();
    fs::write(src.join("d").join("x"), b"x from the image\n").unwrap();
    symlink("a", src.join("l")).unwrap();
    src
}

/// Two images of the source: ours and xorriso's (Rock Ridge: the link is a link in both).
fn images(root: &Path, src: &Path) -> Vec<PathBuf> {
    let ours = root.join("ours.iso");
    run(glassmaster()
        .args(["build", "-q", "-o"])
        .arg(&ours)
        .arg(src));
    let theirs = root.join("xorriso.iso");
    run(tool("xorriso")
        .args(["-as", "mkisofs", "-quiet", "-R", "-J", "-o"])
        .arg(&theirs)
        .arg(src));
    vec![ours, theirs]
}

/// What bsdtar extracts from `iso` into a new directory.
fn bsdtar_tree(iso: &Path, root: &Path) -> BTreeMap<String, Found> {
    let out = root.join(format!(
        "bsdtar-{}",
        iso.file_stem().unwrap().to_string_lossy()
    ));
    fs::create_dir_all(&out).unwrap();
    run(tool("bsdtar").arg("-xf").arg(iso).arg("-C").arg(&out));
    snapshot(&out, false)
}

#[test]
fn existing_file_is_an_error_and_nothing_is_written() {
    if !require_tools(&["xorriso", "bsdtar"]) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let src = source(tmp.path());
    for iso in images(tmp.path(), &src) {
        let dest = tmp.path().join(format!(
            "dest-{}",
            iso.file_stem().unwrap().to_string_lossy()
        ));
        fs::create_dir_all(&dest).unwrap();
        fs::write(dest.join("a"), b"precious\n").unwrap();
        fs::write(dest.join("mine"), b"mine\n").unwrap();
        let before = state(&dest);

        let out = extract(&iso, &dest, &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        let named = format!(
            "{} (for /a) already exists (a file)",
            dest.join("a").display()
        );
        assert!(err.contains(&named), "{err}");
        assert!(err.contains("--overwrite"), "{err}");
        // Nothing changed: not `a`, and neither `d` nor `l` was created.
        assert_eq!(state(&dest), before, "{}", iso.display());

        // --overwrite replaces the file; what DEST held besides stays.
        let out = extract(&iso, &dest, &["--overwrite", "-q"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(fs::read(dest.join("a")).unwrap(), b"from the image\n");
        assert_eq!(fs::read(dest.join("mine")).unwrap(), b"mine\n");
        fs::remove_file(dest.join("mine")).unwrap();
        assert_eq!(snapshot(&dest, false), bsdtar_tree(&iso, tmp.path()));
    }
}

#[test]
fn symlinks_in_dest_pointing_outside_are_never_followed() {
    if !require_tools(&["xorriso", "bsdtar"]) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let src = source(tmp.path());
    for iso in images(tmp.path(), &src) {
        let stem = iso.file_stem().unwrap().to_string_lossy().into_owned();
        let dest = tmp.path().join(format!("dest-{stem}"));
        let outside = tmp.path().join(format!("outside-{stem}"));
        fs::create_dir_all(&dest).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("victim"), b"keep\n").unwrap();
        // A link where the image has a file, one where it has a directory, one where it has a
        // link: all pointing outside DEST.
        symlink(outside.join("victim"), dest.join("a")).unwrap();
        symlink(&outside, dest.join("d")).unwrap();
        symlink(outside.join("victim"), dest.join("l")).unwrap();
        let outside_before = state(&outside);
        let dest_before = state(&dest);

        let out = extract(&iso, &dest, &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        for name in ["a", "d", "l"] {
            let named = format!(
                "{} (for /{name}) already exists (a symbolic link)",
                dest.join(name).display()
            );
            assert!(err.contains(&named), "{err}");
        }
        assert!(err.contains("3 entries in"), "{err}");
        assert_eq!(state(&dest), dest_before);
        assert_eq!(state(&outside), outside_before);

        // --overwrite replaces the links themselves: nothing is written through them.
        let out = extract(&iso, &dest, &["--overwrite", "-q"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(state(&outside), outside_before, "{}", iso.display());
        let a = fs::symlink_metadata(dest.join("a")).unwrap();
        assert!(a.is_file(), "a is a file now");
        assert!(fs::symlink_metadata(dest.join("d")).unwrap().is_dir());
        assert_eq!(fs::read_link(dest.join("l")).unwrap(), Path::new("a"));
        assert_eq!(snapshot(&dest, false), bsdtar_tree(&iso, tmp.path()));
    }
}

#[test]
fn directories_merge_and_a_directory_in_the_way_of_a_file_is_an_error() {
    if !require_tools(&["xorriso", "bsdtar"]) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let src = source(tmp.path());
    for iso in images(tmp.path(), &src) {
        let stem = iso.file_stem().unwrap().to_string_lossy().into_owned();
        // An existing directory `d` holding the user's file: the image's `d` merges into it.
        let dest = tmp.path().join(format!("merge-{stem}"));
        fs::create_dir_all(dest.join("d")).unwrap();
        fs::write(dest.join("d").join("mine"), b"mine\n").unwrap();
        let out = extract(&iso, &dest, &["-q"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(fs::read(dest.join("d").join("mine")).unwrap(), b"mine\n");
        fs::remove_file(dest.join("d").join("mine")).unwrap();
        assert_eq!(snapshot(&dest, false), bsdtar_tree(&iso, tmp.path()));

        // A directory where the image has the file `a`: never removed, even with --overwrite.
        let dest = tmp.path().join(format!("dir-{stem}"));
        fs::create_dir_all(dest.join("a")).unwrap();
        fs::write(dest.join("a").join("inside"), b"inside\n").unwrap();
        let before = state(&dest);
        for extra in [&[][..], &["--overwrite"][..]] {
            let out = extract(&iso, &dest, extra);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{extra:?}: {err}");
            let named = format!(
                "{} (for /a) is a directory (not replaced, even with --overwrite)",
                dest.join("a").display()
            );
            assert!(err.contains(&named), "{extra:?}: {err}");
            assert!(err.contains("nothing was extracted"), "{err}");
            assert_eq!(state(&dest), before, "{extra:?}");
        }
    }
}

/// The summary counts files, symbolic links and directories apart, in the singular for one
/// (trial finding F6: "extracted 14 files and 1 directories" for 1 file, 12 links and the
/// root's one directory); the links are links on disk, as bsdtar extracts them too.
#[test]
fn summary_counts_files_links_and_directories_apart() {
    if !require_tools(&["bsdtar"]) {
        return;
    }
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("f"), b"f").unwrap();
    for i in 0..12 {
        symlink("f", src.join(format!("l{i:02}"))).unwrap();
    }
    let iso = tmp.path().join("links.iso");
    run(glassmaster()
        .args(["build", "-q", "-o"])
        .arg(&iso)
        .arg(&src));
    let dest = tmp.path().join("x");
    let out = extract(&iso, &dest, &[]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("extracted 1 file, 12 symbolic links and 1 directory ("),
        "{err}"
    );
    let links = fs::read_dir(&dest)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_type().unwrap().is_symlink())
        .count();
    assert_eq!(links, 12);
    assert_eq!(snapshot(&dest, false), bsdtar_tree(&iso, tmp.path()));
}

/// Restoring a spanned set checks DEST the same way: a link in DEST where the set has a file
/// is an error and nothing is restored; with `--overwrite` the link itself is replaced (its
/// target outside DEST untouched) and a directory merges. The restored file is compared with
/// the source byte for byte.
#[test]
fn spanned_restore_checks_dest_too() {
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("d")).unwrap();
    let big = common::content(19, 3_000_000);
    fs::write(src.join("big.bin"), &big).unwrap();
    fs::write(src.join("d").join("a"), b"a").unwrap();
    let out = tmp.path().join("out");
    fs::create_dir(&out).unwrap();
    run(glassmaster()
        .args(["build", "-q", "--span", "--volume-size", "2M", "-o"])
        .arg(out.join("b.iso"))
        .arg(&src));
    let mut vols: Vec<PathBuf> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    vols.sort();
    assert!(vols.len() >= 2, "{vols:?}");

    let dest = tmp.path().join("restore");
    let outside = tmp.path().join("outside");
    fs::create_dir_all(dest.join("d")).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("v"), b"keep").unwrap();
    fs::write(dest.join("d").join("mine"), b"mine").unwrap();
    symlink(outside.join("v"), dest.join("big.bin")).unwrap();
    let before = (state(&dest), state(&outside));

    let restore = |extra: &[&str]| {
        glassmaster()
            .arg("extract")
            .args(extra)
            .args(&vols)
            .arg(&dest)
            .output()
            .unwrap()
    };
    let o = restore(&[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "{} (for /big.bin) already exists (a symbolic link)",
            dest.join("big.bin").display()
        )),
        "{err}"
    );
    assert_eq!((state(&dest), state(&outside)), before);

    let o = restore(&["--overwrite", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(state(&outside), before.1);
    assert!(fs::symlink_metadata(dest.join("big.bin"))
        .unwrap()
        .is_file());
    assert_eq!(fs::read(dest.join("big.bin")).unwrap(), big);
    assert_eq!(fs::read(dest.join("d").join("mine")).unwrap(), b"mine");
    assert_eq!(fs::read(dest.join("d").join("a")).unwrap(), b"a");
}
