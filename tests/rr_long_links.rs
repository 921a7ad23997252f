//! Long Rock Ridge symbolic link targets (issue 19, item 6): a target that needs several SL
//! entries (RRIP 4.1.3) reads back exactly through xorriso, fuseiso, pycdlib and bsdtar.
//!
//! A component is split across SL entries (component flag CONTINUE, RRIP 4.1.3.1) only when it
//! is longer than one entry holds. Readers disagree on the two ways an SL entry can end:
//! - inside a split component: fuseiso ignores the CONTINUE flag and joins the parts with '/';
//! - between two whole components: libarchive (bsdtar) starts every SL entry without a
//!   separator and drops the '/' there (it reads xorriso's images the same way).
//!
//! No encoding satisfies both; the images follow xorriso (entries end between components).

mod common;

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// Twelve 32-byte components: 408 bytes of component records, two SL entries.
fn twelve_components() -> String {
    (0..12)
        .map(|i| format!("c{i:02}{}", "x".repeat(29)))
        .collect::<Vec<_>>()
        .join("/")
}

/// The links of the test tree: (name, target).
fn links() -> Vec<(&'static str, String)> {
    let twelve = twelve_components();
    vec![
        ("twelve", twelve.clone()),
        ("twelve_rooted", format!("/{twelve}")),
        ("twelve_up", format!("../{twelve}")),
        ("twelve_dots", format!("./../{twelve}/..")),
        // One component longer than an SL entry holds: the only one ever split.
        ("long_300", "y".repeat(300)),
        ("long_300_between", format!("../a/{}/b", "z".repeat(300))),
        // Fits in one SL entry.
        ("short", "../share/doc/some file".to_string()),
        ("root", "/".to_string()),
    ]
}

/// Whether `target` has a component longer than one SL entry holds (250 bytes of component
/// records less the 2-byte record header).
fn has_split_component(target: &str) -> bool {
    target.split('/').any(|c| c.len() > 248)
}

fn make_tree() -> tempfile::TempDir {
    let src = out_dir();
    fs::write(src.path().join("file.txt"), b"a file\n").unwrap();
    for (name, target) in links() {
        symlink(&target, src.path().join(name)).unwrap();
    }
    // libarchive only recognises images of 48 KiB or more.
    fs::write(src.path().join("big.bin"), vec![7u8; 64 * 1024]).unwrap();
    src
}

fn build(src: &Path, out: &tempfile::TempDir) -> PathBuf {
    let iso = out.path().join("links.iso");
    run(Command::new(env!("CARGO_BIN_EXE_glassmaster"))
        .args(["build", "-q", "-R", "-o"])
        .arg(&iso)
        .arg(src));
    iso
}

fn read_links(dir: &Path) -> Vec<(String, String)> {
    links()
        .into_iter()
        .map(|(name, _)| {
            let t = fs::read_link(dir.join(name))
                .unwrap_or_else(|e| panic!("readlink {name} in {}: {e}", dir.display()));
            (name.to_string(), t.to_string_lossy().into_owned())
        })
        .collect()
}

fn xorriso_links(iso: &Path) -> Vec<(String, String)> {
    let d = out_dir();
    let dest = d.path().join("x");
    run_clean(
        tool("xorriso")
            .args(["-osirrox", "on", "-indev"])
            .arg(iso)
            .args(["-extract", "/"])
            .arg(&dest),
    );
    read_links(&dest)
}

fn bsdtar_links(iso: &Path) -> Vec<(String, String)> {
    let d = out_dir();
    run_clean(tool("bsdtar").arg("-xf").arg(iso).arg("-C").arg(d.path()));
    read_links(d.path())
}

fn pycdlib_links(iso: &Path) -> Vec<(String, String)> {
    let script = r#"
import sys, pycdlib
p = pycdlib.PyCdlib()
p.open(sys.argv[1])
for name in sys.argv[2:]:
    rec = p.get_record(rr_path='/' + name)
    print(name, rec.rock_ridge.symlink_path().hex())
p.close()
"#;
    let out = run_clean_stdout(
        tool("python3")
            .args(["-c", script])
            .arg(iso)
            .args(links().iter().map(|(n, _)| *n)),
    );
    out.lines()
        .map(|l| {
            let (name, hex) = l.split_once(' ').expect("name hex");
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                .collect();
            (
                name.to_string(),
                OsStr::from_bytes(&bytes).to_string_lossy().into_owned(),
            )
        })
        .collect()
}

/// Unmounts a fuseiso mount when dropped, so a failing assertion leaves no mount behind.
struct FuseMount {
    dir: PathBuf,
    mounted: bool,
}

impl Drop for FuseMount {
    fn drop(&mut self) {
        if !self.mounted {
            return;
        }
        for cmd in ["fusermount", "fusermount3"] {
            let ok = Command::new(cmd)
                .arg("-u")
                .arg(&self.dir)
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return;
            }
        }
        eprintln!("warning: could not unmount {}", self.dir.display());
    }
}

fn fuseiso_links(iso: &Path) -> Vec<(String, String)> {
    let d = out_dir();
    let mut m = FuseMount {
        dir: d.path().join("mnt"),
        mounted: false,
    };
    fs::create_dir(&m.dir).unwrap();
    run(tool("fuseiso").arg(iso).arg(&m.dir));
    m.mounted = true;
    let found = read_links(&m.dir);
    drop(m);
    found
}

/// Compares what a reader found with the targets; `expect` gives what this reader must show
/// for a target (the target itself, unless the reader has a known limitation).
fn check(reader: &str, found: &[(String, String)], expect: impl Fn(&str, &str) -> String) {
    let want = links();
    assert_eq!(found.len(), want.len(), "{reader}");
    for ((name, got), (wname, target)) in found.iter().zip(&want) {
        assert_eq!(name, wname, "{reader}");
        assert_eq!(
            got,
            &expect(name, target),
            "{reader}: link {name} (target of {} bytes)",
            target.len()
        );
    }
}

#[test]
fn long_link_targets_read_back_through_four_readers() {
    if !require_tools(&["xorriso", "bsdtar", "fuseiso", "python3"]) {
        return;
    }
    let src = make_tree();
    let out = out_dir();
    let iso = build(src.path(), &out);

    // xorriso and pycdlib follow RRIP 4.1.3: exact targets.
    check("xorriso", &xorriso_links(&iso), |_, t| t.to_string());
    // pycdlib 1.x reads a link to "/" alone as "" (it does the same with xorriso's images).
    check("pycdlib", &pycdlib_links(&iso), |_, t| {
        if t == "/" {
            String::new()
        } else {
            t.to_string()
        }
    });

    // fuseiso: exact wherever no component had to be split. It joins the two parts of a split
    // component with '/' (it ignores the component CONTINUE flag): only a component of more
    // than 248 bytes, which no single SL entry holds, is split, and reads back with one '/'
    // inside it (at the end of its first SL entry).
    let fuse = fuseiso_links(&iso);
    check("fuseiso", &fuse, |name, t| {
        if has_split_component(t) {
            let got = &fuse.iter().find(|(n, _)| n == name).unwrap().1;
            assert_eq!(got.replace('/', ""), t.replace('/', ""), "fuseiso {name}");
            assert_eq!(got.matches('/').count(), t.matches('/').count() + 1);
            got.clone()
        } else {
            t.to_string()
        }
    });

    // bsdtar: exact where the target fits in one SL entry or every SL entry ends inside a split
    // component. Where an SL entry ends between two whole components, libarchive 3.6 drops the
    // '/' there; it reads xorriso's image of the same links identically.
    let ours = bsdtar_links(&iso);
    let theirs = {
        let out = out_dir();
        let x = out.path().join("xorriso.iso");
        // libisofs refuses link targets with a component over 255 bytes: leave those out.
        let keep = out.path().join("src");
        fs::create_dir(&keep).unwrap();
        fs::write(keep.join("big.bin"), vec![7u8; 64 * 1024]).unwrap();
        for (name, target) in links() {
            symlink(&target, keep.join(name)).unwrap();
        }
        run(tool("xorriso")
            .args(["-as", "mkisofs", "-quiet", "-R", "-o"])
            .arg(&x)
            .args(["-m", "long_300*"])
            .arg(&keep));
        let d = out_dir();
        run_clean(tool("bsdtar").arg("-xf").arg(&x).arg("-C").arg(d.path()));
        links()
            .into_iter()
            .filter(|(n, _)| !n.starts_with("long_300"))
            .map(|(n, _)| {
                let t = fs::read_link(d.path().join(n)).unwrap();
                (n.to_string(), t.to_string_lossy().into_owned())
            })
            .collect::<Vec<_>>()
    };
    check("bsdtar", &ours, |name, t| {
        if let Some((_, x)) = theirs.iter().find(|(n, _)| n == name) {
            // The same reading as of xorriso's image, the same bytes less separators.
            let got = &ours.iter().find(|(n, _)| n == name).unwrap().1;
            assert_eq!(
                got, x,
                "bsdtar reads {name} unlike it reads xorriso's image"
            );
            assert_eq!(got.replace('/', ""), t.replace('/', ""), "bsdtar {name}");
            if t.len() < 200 {
                assert_eq!(got, t, "bsdtar {name}: a target in one SL entry");
            }
            got.clone()
        } else {
            // Split components only: libarchive follows the CONTINUE flag.
            t.to_string()
        }
    });
}

#[test]
fn link_of_one_sl_entry_reads_back_everywhere() {
    // A 7-component target: 7 * 34 = 238 bytes of component records, one SL entry.
    if !require_tools(&["xorriso", "bsdtar", "fuseiso", "python3"]) {
        return;
    }
    let target: String = (0..7)
        .map(|i| format!("d{i:02}{}", "w".repeat(29)))
        .collect::<Vec<_>>()
        .join("/");
    let src = out_dir();
    fs::write(src.path().join("big.bin"), vec![1u8; 64 * 1024]).unwrap();
    symlink(&target, src.path().join("seven")).unwrap();
    let out = out_dir();
    let iso = build(src.path(), &out);
    let d = out_dir();
    run_clean(tool("bsdtar").arg("-xf").arg(&iso).arg("-C").arg(d.path()));
    assert_eq!(
        fs::read_link(d.path().join("seven")).unwrap().to_str(),
        Some(target.as_str()),
        "bsdtar"
    );
    let m = out_dir();
    let mut mount = FuseMount {
        dir: m.path().join("mnt"),
        mounted: false,
    };
    fs::create_dir(&mount.dir).unwrap();
    run(tool("fuseiso").arg(&iso).arg(&mount.dir));
    mount.mounted = true;
    assert_eq!(
        fs::read_link(mount.dir.join("seven")).unwrap().to_str(),
        Some(target.as_str()),
        "fuseiso"
    );
}
