//! Scanning real trees safely and faithfully (issue 19, items 1 and 3):
//!
//! * symbolic links are never followed unless asked: a link to a file or directory outside the
//!   source tree never brings its contents into the image, whatever the file systems; links
//!   (and special files) are recorded as themselves by Rock Ridge and UDF, and left out of ISO
//!   9660 without Rock Ridge and Joliet with one warning each; `--udf-no-links` leaves them out
//!   of UDF so that 7-Zip opens it; `-f` follows and names links that leave the tree;
//! * names that are not UTF-8 never stop a build: Rock Ridge keeps their bytes, ISO 9660,
//!   Joliet and UDF get distinct names from their Latin-1 reading.
//!
//! Readers: xorriso and bsdtar (Rock Ridge, ISO 9660, Joliet), pycdlib (UDF of bridge images),
//! udfinfo (UDF counts), 7-Zip (UDF with `--udf-no-links`, and UDF names), our reader.
#![cfg(feature = "cli")]

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::Cursor;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use glassmaster::read::{ImageReader, View};
use glassmaster::{FileSystems, ImageBuilder, IsoLevel};
use tempfile::TempDir;

fn gm() -> Command {
    let mut c = common::glassmaster();
    c.env("SOURCE_DATE_EPOCH", "1700000000");
    c
}

/// A marker no image may hold unless a link to it was followed on purpose: unique per test
/// run (time, process, counter).
fn marker(tag: &str) -> Vec<u8> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut r =
        Rng::new(nanos ^ (u64::from(std::process::id()) << 32) ^ N.fetch_add(1, Ordering::Relaxed));
    format!("GM-SECRET-{tag}-{:016x}{:016x}", r.next_u64(), r.next_u64()).into_bytes()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A source tree with links out of it, and the outside files' markers.
struct LinkTree {
    src: TempDir,
    outside: TempDir,
    markers: Vec<Vec<u8>>,
    fifo: bool,
}

/// The links of [`link_tree`] (path in the image, target).
fn links(t: &LinkTree) -> Vec<(&'static str, String)> {
    let out = t.outside.path();
    vec![
        ("/to_secret", format!("{}/secret.txt", out.display())),
        ("/to_secretdir", format!("{}/secretdir", out.display())),
        ("/rel", "inside.txt".to_string()),
        ("/dir/up", "../inside.txt".to_string()),
        ("/dangling", "nowhere/at/all".to_string()),
    ]
}

fn link_tree() -> LinkTree {
    let outside = tempfile::Builder::new()
        .prefix("gm-outside")
        .tempdir()
        .unwrap();
    let markers = vec![marker("file"), marker("dir1"), marker("dir2")];
    fs::write(outside.path().join("secret.txt"), &markers[0]).unwrap();
    fs::create_dir_all(outside.path().join("secretdir/sub")).unwrap();
    fs::write(outside.path().join("secretdir/one.txt"), &markers[1]).unwrap();
    fs::write(outside.path().join("secretdir/sub/two.txt"), &markers[2]).unwrap();
    let src = tempfile::Builder::new().prefix("gm-src").tempdir().unwrap();
    fs::write(src.path().join("inside.txt"), b"inside\n").unwrap();
    fs::create_dir(src.path().join("dir")).unwrap();
    fs::write(src.path().join("dir/inner.txt"), b"inner\n").unwrap();
    let mut t = LinkTree {
        src,
        outside,
        markers,
        fifo: false,
    };
    for (p, target) in links(&t) {
        std::os::unix::fs::symlink(target, t.src.path().join(&p[1..])).unwrap();
    }
    t.fifo = Command::new("mkfifo")
        .arg(t.src.path().join("fifo"))
        .status()
        .is_ok_and(|s| s.success());
    t
}

fn assert_no_marker(bytes: &[u8], t: &LinkTree, what: &str) {
    for m in &t.markers {
        assert!(
            !contains(bytes, m),
            "{what}: the image holds {} from outside the source tree",
            String::from_utf8_lossy(m)
        );
    }
}

/// Relative path -> what is there (see [`disk_tree`]).
type DiskTree = BTreeMap<Vec<u8>, Vec<u8>>;

/// Every entry under `root` (not following links): relative path -> "f:<contents>",
/// "l:<target>" or "d".
fn disk_tree(root: &Path) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .as_os_str()
                .as_bytes()
                .to_vec();
            let md = fs::symlink_metadata(&p).unwrap();
            let v = if md.file_type().is_symlink() {
                [
                    b"l:".as_slice(),
                    fs::read_link(&p).unwrap().as_os_str().as_bytes(),
                ]
                .concat()
            } else if md.is_dir() {
                stack.push(p.clone());
                b"d".to_vec()
            } else if !md.is_file() {
                // A FIFO (never opened: it would block), socket or device.
                b"o".to_vec()
            } else {
                [b"f:".as_slice(), &fs::read(&p).unwrap()].concat()
            };
            out.insert(rel, v);
        }
    }
    out
}

fn write_image(bytes: &[u8], dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, bytes).unwrap();
    p
}

/// Extracts `img` with bsdtar into a new directory under `dir`.
fn bsdtar_x(img: &Path, dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    fs::create_dir_all(&out).unwrap();
    run(tool("bsdtar").arg("-xf").arg(img).arg("-C").arg(&out));
    make_writable(&out);
    out
}

/// Extracts `img` with xorriso (Rock Ridge when present) into a new directory under `dir`.
fn xorriso_x(img: &Path, dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    run_clean(
        tool("xorriso")
            .args(["-abort_on", "FAILURE", "-osirrox", "on", "-indev"])
            .arg(img)
            .args(["-extract", "/"])
            .arg(&out),
    );
    make_writable(&out);
    out
}

/// pycdlib's UDF tree: path (UTF-8 of the decoded name) -> "d", "l" (symlink) or "f:<hex>".
const PYCDLIB_UDF: &str = r#"
import io, sys, pycdlib
p = pycdlib.PyCdlib()
p.open(sys.argv[1])
def walk(path):
    for c in p.list_children(udf_path=path):
        if c is None or c.file_ident is None or c.file_ident.is_parent():
            continue
        fid = c.file_ident
        name = fid.fi.decode('utf-16-be' if fid.encoding == 'utf-16-be' else 'latin-1')
        full = path.rstrip('/') + '/' + name
        if c.is_dir():
            print('d\t' + full.encode().hex())
            walk(full)
        elif c.is_symlink():
            print('l\t' + full.encode().hex())
        elif not c.is_file():
            print('o\t' + full.encode().hex())
        else:
            b = io.BytesIO()
            p.get_file_from_iso_fp(b, udf_path=full)
            print('f\t' + full.encode().hex() + '\t' + b.getvalue().hex())
walk('/')
p.close()
"#;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// pycdlib's listing of the UDF tree of a bridge image: path -> "d", "l" or "f:<bytes>".
fn pycdlib_udf(img: &Path) -> BTreeMap<String, Vec<u8>> {
    let out = run(Command::new("python3").arg("-c").arg(PYCDLIB_UDF).arg(img));
    let mut m = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let path = String::from_utf8(unhex(f[1])).unwrap();
        let v = match f[0] {
            "f" => [b"f:".as_slice(), &unhex(f[2])].concat(),
            k => k.as_bytes().to_vec(),
        };
        m.insert(path, v);
    }
    m
}

/// `udfinfo`'s (numfiles, numdirs).
fn udfinfo_counts(img: &Path) -> (u64, u64) {
    common::udfinfo_counts(&run_stdout(tool("udfinfo").arg(img)))
}

struct Config {
    label: &'static str,
    fs: FileSystems,
    level: IsoLevel,
}

fn configs() -> Vec<Config> {
    let iso = FileSystems::ISO9660;
    let j = FileSystems::JOLIET;
    let rr = FileSystems::ROCK_RIDGE;
    let udf = FileSystems::UDF;
    let c = |label, fs, level| Config { label, fs, level };
    vec![
        c("iso", iso, IsoLevel::Level3),
        c("iso+joliet", iso | j, IsoLevel::Level3),
        c("iso1999+joliet", iso | j, IsoLevel::Iso1999),
        c("udf-only", udf, IsoLevel::Level3),
        c("bridge", iso | j | udf, IsoLevel::Level3),
        c("rock-ridge", iso | j | rr, IsoLevel::Level3),
        c("rock-ridge+udf", iso | rr | udf, IsoLevel::Level3),
    ]
}

/// The library never follows a link unless asked: for every combination of file systems, no
/// byte of the outside files is in the image; Rock Ridge and UDF hold the links as links (our
/// reader, xorriso and bsdtar for Rock Ridge; our reader, pycdlib and udfinfo for UDF); the
/// other views leave them out, and each one is named in exactly one warning.
#[test]
fn links_are_never_followed_unless_asked() {
    let t = link_tree();
    let work = out_dir();
    let tools = require_tools(&["xorriso", "bsdtar", "udfinfo"]);
    let pycdlib = require_pycdlib();
    for c in configs() {
        let mut b = ImageBuilder::new();
        b.filesystems(c.fs).level(c.level);
        b.add_tree("/", t.src.path(), &mut glassmaster::NoProgress)
            .unwrap();
        let image = b.build(&mut glassmaster::NoProgress).unwrap();
        let bytes = render(&image);
        assert_no_marker(&bytes, &t, c.label);
        let warnings = image.warnings();
        for w in warnings {
            assert!(
                !w.chars().any(|ch| ch.is_control()),
                "{}: control characters in {w:?}",
                c.label
            );
        }
        let rr = c.fs.contains(FileSystems::ROCK_RIDGE);
        let udf = c.fs.contains(FileSystems::UDF);
        let iso = c.fs.contains(FileSystems::ISO9660);
        let lacking = (iso && !rr) || c.fs.contains(FileSystems::JOLIET);
        let mut named: Vec<(&str, String)> = links(&t);
        if t.fifo {
            named.push(("/fifo", String::new()));
        }
        for (p, target) in &named {
            let n = warnings
                .iter()
                .filter(|w| w.starts_with(&format!("{p}: ")))
                .count();
            assert_eq!(
                n,
                usize::from(lacking),
                "{}: warnings naming {p}: {warnings:#?}",
                c.label
            );
            if lacking && !target.is_empty() {
                assert!(
                    warnings
                        .iter()
                        .any(|w| w
                            .starts_with(&format!("{p}: symbolic link (to {target}) left out of"))),
                    "{}: {warnings:#?}",
                    c.label
                );
            }
        }

        let mut r = ImageReader::open(Cursor::new(&bytes)).unwrap();
        let views = r.views();
        for v in views {
            let entries = r.walk(v).unwrap();
            let holds_links = v == View::RockRidge || v == View::Udf;
            for (p, target) in links(&t) {
                let found = entries.iter().find(|(q, _)| {
                    q.eq_ignore_ascii_case(p)
                        || (v == View::Iso9660 && q.eq_ignore_ascii_case(&format!("{p}.")))
                });
                if holds_links {
                    let (_, e) = found.unwrap_or_else(|| panic!("{} {v:?}: no {p}", c.label));
                    let posix = e.posix.as_ref().unwrap();
                    assert_eq!(posix.symlink.as_deref(), Some(target.as_bytes()), "{p}");
                    assert_eq!(e.size, if v == View::Udf { e.size } else { 0 });
                } else if v != View::Iso9660 || !rr {
                    assert!(found.is_none(), "{} {v:?}: {p} is shown", c.label);
                }
            }
            // Nothing from the linked directory in any view.
            assert!(
                !entries
                    .iter()
                    .any(|(q, _)| q.to_ascii_lowercase().contains("one.txt")),
                "{} {v:?}",
                c.label
            );
        }
        if !tools {
            continue;
        }
        let img = write_image(&bytes, work.path(), &format!("{}.iso", c.label));
        if iso {
            let xo = xorriso_x(&img, work.path(), &format!("{}-xorriso", c.label));
            let bt = bsdtar_x(&img, work.path(), &format!("{}-bsdtar", c.label));
            for (reader, dir) in [("xorriso", &xo), ("bsdtar", &bt)] {
                let got = disk_tree(dir);
                for v in got.values() {
                    assert_no_marker(v, &t, reader);
                }
                let link_count = got.values().filter(|v| v.starts_with(b"l:")).count();
                if rr {
                    for (p, target) in links(&t) {
                        assert_eq!(
                            got.get(&p.as_bytes()[1..]),
                            Some(&[b"l:".as_slice(), target.as_bytes()].concat()),
                            "{} {reader}: {p}",
                            c.label
                        );
                    }
                } else {
                    assert_eq!(link_count, 0, "{} {reader}: {got:?}", c.label);
                    let files = got.values().filter(|v| v.starts_with(b"f:")).count();
                    assert_eq!(files, 2, "{} {reader}: {got:?}", c.label);
                }
            }
        }
        if udf {
            // Files: inside.txt, dir/inner.txt, five links and the FIFO; directories: the
            // root and dir (UDF 2.3.6.2 counts the root).
            let (files, dirs) = udfinfo_counts(&img);
            assert_eq!(
                (files, dirs),
                (2 + 5 + u64::from(t.fifo), 2),
                "{}: udfinfo counts",
                c.label
            );
            if iso && pycdlib {
                let got = pycdlib_udf(&img);
                for (p, _) in links(&t) {
                    assert_eq!(
                        got.get(p).map(Vec::as_slice),
                        Some(b"l".as_slice()),
                        "{} pycdlib: {p} in {got:?}",
                        c.label
                    );
                }
                assert_eq!(
                    got.get("/inside.txt").map(Vec::as_slice),
                    Some(b"f:inside\n".as_slice())
                );
                assert_eq!(got.len(), 8 + usize::from(t.fifo), "{got:?}");
            }
        }
    }
}

/// `--udf-no-links` leaves links and special files out of UDF (named in warnings), so that
/// 7-Zip extracts the UDF tree, of a bridge image (`-tudf`) and of a UDF-only one.
#[test]
fn udf_no_links_is_for_seven_zip() {
    if !require_tool("7z") {
        return;
    }
    let t = link_tree();
    let work = out_dir();
    for (label, args) in [
        ("bridge", &["-J", "--udf", "--udf-no-links"][..]),
        ("udf-only", &["--udf-only", "--udf-no-links"][..]),
    ] {
        let img = work.path().join(format!("{label}.iso"));
        let out = run(gm()
            .arg("build")
            .arg(t.src.path())
            .arg("-o")
            .arg(&img)
            .args(args));
        let err = String::from_utf8_lossy(&out.stderr);
        for (p, _) in links(&t) {
            assert!(
                err.contains(&format!("{p}: symbolic link (to "))
                    && err.contains("UDF (as asked: links and special files left out of UDF)"),
                "{label}: no warning for {p}: {err}"
            );
        }
        let bytes = fs::read(&img).unwrap();
        assert_no_marker(&bytes, &t, label);
        let dest = work.path().join(format!("{label}-7z"));
        let mut cmd = tool("7z");
        cmd.arg("x").arg("-y");
        if label == "bridge" {
            cmd.arg("-tudf");
        }
        run(cmd.arg(format!("-o{}", dest.display())).arg(&img));
        let got = disk_tree(&dest);
        let want: BTreeMap<Vec<u8>, Vec<u8>> = [
            (b"dir".to_vec(), b"d".to_vec()),
            (b"dir/inner.txt".to_vec(), b"f:inner\n".to_vec()),
            (b"inside.txt".to_vec(), b"f:inside\n".to_vec()),
        ]
        .into_iter()
        .collect();
        assert_eq!(got, want, "{label}: 7z extracted");
    }
}

/// The CLI (`build`, `map`) scans the same way: no link followed by default, each left-out
/// link named once on stderr.
#[test]
fn cli_build_and_map_do_not_follow() {
    let t = link_tree();
    let work = out_dir();
    let img = work.path().join("plain.iso");
    let out = run(gm()
        .arg("build")
        .arg(t.src.path())
        .arg("-o")
        .arg(&img)
        .args(["--no-rock-ridge", "-J"]));
    let err = String::from_utf8_lossy(&out.stderr);
    for (p, target) in links(&t) {
        let line = format!("{p}: symbolic link (to {target}) left out of ISO 9660 and Joliet");
        assert!(err.contains(&line), "no {line:?} in {err}");
    }
    assert_no_marker(&fs::read(&img).unwrap(), &t, "cli build -J");

    let out = run(gm()
        .arg("map")
        .arg(t.src.path())
        .args(["--no-rock-ridge", "-J"]));
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("inside.txt"), "{text}");
    assert!(
        !text.contains("one.txt") && !text.contains("secret.txt"),
        "map lists files from outside the tree: {text}"
    );
    assert!(err.contains("/to_secretdir: symbolic link"), "{err}");
}

/// `-f` follows links as mkisofs does (the outside files are then in the image, on purpose),
/// and names each link whose target lies outside the source tree.
#[test]
fn follow_names_links_that_leave_the_tree() {
    let t = link_tree();
    let work = out_dir();
    let img = work.path().join("followed.iso");
    let out = run(gm()
        .arg("build")
        .arg(t.src.path())
        .arg("-o")
        .arg(&img)
        .args(["-R", "-J", "-f"]));
    let err = String::from_utf8_lossy(&out.stderr);
    for p in ["/to_secret", "/to_secretdir"] {
        let link = t.src.path().join(&p[1..]);
        assert!(
            // Named as every warning names an entry: its image path, then its source.
            err.contains(&format!(
                "warning: {p} (source {}): symbolic link followed to {}",
                link.display(),
                fs::canonicalize(&link).unwrap().display()
            )) && err.contains("outside the source tree"),
            "no outside warning for {p}: {err}"
        );
    }
    for p in ["rel", "dir/up"] {
        let link = t.src.path().join(p);
        assert!(
            !err.contains(&format!(
                "(source {}): symbolic link followed",
                link.display()
            )),
            "{p} lies inside: {err}"
        );
    }
    let bytes = fs::read(&img).unwrap();
    assert!(t.markers.iter().all(|m| contains(&bytes, m)), "-f follows");
    // The library gives the same warnings.
    let mut b = ImageBuilder::new();
    b.options_mut().rock_ridge.follow_symlinks = true;
    b.add_tree("/", t.src.path(), &mut glassmaster::NoProgress)
        .unwrap();
    let outside: Vec<&String> = b
        .warnings()
        .iter()
        .filter(|w| w.contains("outside the source tree"))
        .collect();
    assert_eq!(outside.len(), 2, "{:?}", b.warnings());
}

/// With `-f`, a chain of links that loops (`l1 -> l2 -> l1`, ELOOP) is skipped with a warning,
/// as a dangling link is, instead of stopping the build (xorriso builds such a tree); the
/// rest of the tree is in the image, as isoinfo and xorriso list it.
#[test]
fn follow_skips_link_chains_that_loop() {
    if !require_tools(&["isoinfo", "xorriso"]) {
        return;
    }
    let src = out_dir();
    fs::write(src.path().join("a.txt"), b"a").unwrap();
    std::os::unix::fs::symlink("l2", src.path().join("l1")).unwrap();
    std::os::unix::fs::symlink("l1", src.path().join("l2")).unwrap();
    let work = out_dir();
    let img = work.path().join("loop.iso");
    let out = run(gm()
        .arg("build")
        .arg(src.path())
        .arg("-o")
        .arg(&img)
        .arg("-f"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    for l in ["l1", "l2"] {
        let shown = format!(
            "warning: /{l} (source {}): symbolic link loop skipped",
            src.path().join(l).display()
        );
        assert!(err.contains(&shown), "{shown} not in {err}");
    }
    let listing = run_clean_stdout(tool("isoinfo").args(["-R", "-f", "-i"]).arg(&img));
    assert_eq!(listing.trim(), "/a.txt", "{listing}");
    let x = run_clean_stdout(
        tool("xorriso")
            .args(["-indev"])
            .arg(&img)
            .args(["-find", "/"]),
    );
    assert!(x.contains("'/a.txt'") && !x.contains("l1"), "{x}");
}

/// Spanned sets scan the same way: no volume holds the outside files; the links are in the
/// set's catalog and in each volume's Rock Ridge tree.
#[test]
fn span_does_not_follow() {
    let t = link_tree();
    fs::write(t.src.path().join("big.bin"), content(9, 3 << 20)).unwrap();
    let work = out_dir();
    let out_path = work.path().join("set.iso");
    run(gm()
        .arg("build")
        .arg(t.src.path())
        .args(["-R", "-J", "--span", "--volume-size", "2M", "-o"])
        .arg(&out_path));
    let mut volumes: Vec<PathBuf> = fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension() == Some(OsStr::new("iso")))
        .collect();
    volumes.sort();
    assert!(volumes.len() >= 2, "{volumes:?}");
    let mut seen_link = None;
    for v in &volumes {
        let bytes = fs::read(v).unwrap();
        assert_no_marker(&bytes, &t, &v.display().to_string());
        let mut r = ImageReader::open(Cursor::new(&bytes)).unwrap();
        if let Ok(e) = r.lookup(View::RockRidge, "/to_secretdir") {
            seen_link = Some(v);
            let target = format!("{}/secretdir", t.outside.path().display());
            assert_eq!(e.posix.unwrap().symlink.as_deref(), Some(target.as_bytes()));
        }
        let cat = r.lookup(View::RockRidge, "/SPANSET/CATALOG.TXT").unwrap();
        let cat = r.read_file(&cat).unwrap();
        assert!(contains(&cat, b"symlink 0777"), "catalog lists the links");
    }
    let with_link = seen_link.expect("a volume holds the link");
    if require_tool("bsdtar") {
        let dest = bsdtar_x(with_link, work.path(), "with-link");
        assert_eq!(
            fs::read_link(dest.join("to_secretdir")).unwrap(),
            t.outside.path().join("secretdir")
        );
    }
}

/// An imported symbolic link stays a link: in a new image with UDF added (Rock Ridge and
/// UDF), in an appended session (Rock Ridge), and is left out of the views that cannot hold
/// it with a warning.
#[test]
fn imported_links_stay_links() {
    use glassmaster::multisession::BaseImage;
    let t = link_tree();
    let work = out_dir();
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE);
    b.add_tree("/", t.src.path(), &mut glassmaster::NoProgress)
        .unwrap();
    let base_path = work.path().join("base.iso");
    b.build(&mut glassmaster::NoProgress)
        .unwrap()
        .write_to_path(&base_path, &mut glassmaster::NoProgress)
        .unwrap();
    let base = BaseImage::open(&base_path).unwrap();
    let target = format!("{}/secret.txt", t.outside.path().display());

    // A new image with UDF too.
    let mut nb = ImageBuilder::import(&base).unwrap();
    let fs_ = nb.options().filesystems | FileSystems::UDF;
    nb.filesystems(fs_);
    let image = nb.build(&mut glassmaster::NoProgress).unwrap();
    let bytes = render(&image);
    assert_no_marker(&bytes, &t, "imported");
    let mut r = ImageReader::open(Cursor::new(&bytes)).unwrap();
    for v in [View::RockRidge, View::Udf] {
        let e = r.lookup(v, "/to_secret").unwrap();
        assert_eq!(
            e.posix.unwrap().symlink.as_deref(),
            Some(target.as_bytes()),
            "{v:?}"
        );
    }
    assert!(r.lookup(View::Joliet, "/to_secret").is_err());
    assert!(
        image
            .warnings()
            .iter()
            .any(|w| w.starts_with("/to_secret: symbolic link") && w.contains("Joliet")),
        "{:?}",
        image.warnings()
    );

    // An appended session.
    let mut ab = ImageBuilder::import(&base).unwrap();
    ab.add_bytes("/added.txt", &b"added\n"[..]).unwrap();
    let append = ab.build_append(&base).unwrap();
    // The grown image as one stream (what the in-place write makes of the base).
    let bytes = render(append.image());
    let grown = write_image(&bytes, work.path(), "grown.iso");
    assert_no_marker(&bytes, &t, "appended");
    let mut r = ImageReader::open(Cursor::new(&bytes)).unwrap();
    let e = r.lookup(View::RockRidge, "/to_secret").unwrap();
    assert_eq!(e.posix.unwrap().symlink.as_deref(), Some(target.as_bytes()));
    if require_tool("xorriso") {
        let dest = xorriso_x(&grown, work.path(), "grown-x");
        assert_eq!(
            fs::read_link(dest.join("to_secret")).unwrap(),
            PathBuf::from(&target)
        );
        assert_eq!(fs::read(dest.join("added.txt")).unwrap(), b"added\n");
    }
}

// ------------------------------------------------------------------------------------------------
// Names that are not UTF-8

/// A tree with names that are not UTF-8: `x\xff`, `x\xfe`, a Latin-1 directory `caf\xe9`, and
/// a UTF-8 `café` (which the Latin-1 reading of `caf\xe9` meets). Returns None when the file
/// system refuses such names.
fn latin1_tree() -> Option<(TempDir, DiskTree)> {
    let src = tempfile::Builder::new().prefix("gm-src").tempdir().unwrap();
    let files: Vec<(&[u8], &[u8])> = vec![
        (b"x\xff", b"ff contents\n"),
        (b"x\xfe", b"fe contents\n"),
        (b"caf\xe9/a.txt", b"a in latin-1 dir\n"),
        (b"caf\xe9/b.txt", b"b in latin-1 dir\n"),
        ("café".as_bytes(), b"utf-8 cafe file\n"),
    ];
    let mut want = BTreeMap::new();
    for (p, data) in files {
        let path = src.path().join(OsStr::from_bytes(p));
        if let Some(d) = path.parent() {
            fs::create_dir_all(d).ok()?;
        }
        fs::write(&path, data).ok()?;
        want.insert(p.to_vec(), [b"f:".as_slice(), data].concat());
    }
    want.insert(b"caf\xe9".to_vec(), b"d".to_vec());
    Some((src, want))
}

/// The contents of the regular files of a tree, sorted.
fn file_contents(t: &BTreeMap<Vec<u8>, Vec<u8>>) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = t
        .values()
        .filter(|v| v.starts_with(b"f:"))
        .cloned()
        .collect();
    v.sort();
    v
}

/// The Latin-1 readings of [`latin1_tree`]'s names are among `names` (relative paths):
/// `xÿ`, `xþ`, and `café` (the UTF-8 file) beside the Latin-1 directory under a mangled
/// name of the same start (`café~1` in Joliet and UDF) holding `a.txt` and `b.txt`.
fn assert_latin1_names(names: &[&[u8]], what: &str) {
    let has = |n: &str| names.contains(&n.as_bytes());
    assert!(has("xÿ") && has("xþ") && has("café"), "{what}: {names:?}");
    for f in ["a.txt", "b.txt"] {
        assert!(
            names.iter().any(|n| {
                let n = String::from_utf8_lossy(n);
                n.starts_with("café") && n.ends_with(&format!("/{f}"))
            }),
            "{what}: no café.../{f} in {:?}",
            names
                .iter()
                .map(|n| String::from_utf8_lossy(n))
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn names_that_are_not_utf8_never_stop_a_build() {
    let Some((src, want)) = latin1_tree() else {
        eprintln!("note: this file system refuses names that are not UTF-8; skipped");
        return;
    };
    let tools = require_tools(&["xorriso", "bsdtar", "7z"]);
    let pycdlib = require_pycdlib();
    let work = out_dir();
    let iso = FileSystems::ISO9660;
    let j = FileSystems::JOLIET;
    for (label, fs_, level) in [
        ("iso+joliet", iso | j, IsoLevel::Level3),
        ("iso-level1", iso, IsoLevel::Level1),
        ("iso1999+joliet", iso | j, IsoLevel::Iso1999),
        (
            "rock-ridge",
            iso | j | FileSystems::ROCK_RIDGE,
            IsoLevel::Level3,
        ),
        ("bridge", iso | j | FileSystems::UDF, IsoLevel::Level3),
        ("udf-only", FileSystems::UDF, IsoLevel::Level3),
    ] {
        let mut b = ImageBuilder::new();
        b.filesystems(fs_).level(level);
        b.add_tree("/", src.path(), &mut glassmaster::NoProgress)
            .unwrap();
        let image = b.build(&mut glassmaster::NoProgress).unwrap();
        let bytes = render(&image);
        // One warning per name, its bytes escaped.
        let w: Vec<&String> = image
            .warnings()
            .iter()
            .filter(|w| w.contains("name is not valid UTF-8"))
            .collect();
        assert_eq!(w.len(), 3, "{label}: {:#?}", image.warnings());
        for needle in ["/x\\xff: ", "/x\\xfe: ", "/caf\\xe9: "] {
            assert!(w.iter().any(|x| x.starts_with(needle)), "{label}: {w:#?}");
        }
        for x in image.warnings() {
            assert!(
                !x.chars()
                    .any(|c| c.is_control() || ('\u{F700}'..='\u{F7FF}').contains(&c)),
                "{label}: {x:?}"
            );
        }
        // Every view shows every file, under distinct names, with its bytes (our reader).
        let mut r = ImageReader::open(Cursor::new(&bytes)).unwrap();
        for v in r.views() {
            let entries = r.walk(v).unwrap();
            let mut contents: Vec<Vec<u8>> = Vec::new();
            let mut names = std::collections::BTreeSet::new();
            for (p, e) in &entries {
                // Our reader's Rock Ridge view decodes NM lossily (`x\xff` and `x\xfe` both
                // show as `x\u{FFFD}`): its exact names are checked through `rr_name` below.
                assert!(
                    names.insert(p.clone()) || v == View::RockRidge,
                    "{label} {v:?}: {p} twice"
                );
                assert!(
                    !p.chars().any(|c| ('\u{F700}'..='\u{F7FF}').contains(&c)),
                    "{label} {v:?}: {p:?}"
                );
                if !e.is_dir {
                    contents.push([b"f:".as_slice(), &r.read_file(e).unwrap()].concat());
                }
            }
            contents.sort();
            assert_eq!(contents, file_contents(&want), "{label} {v:?}");
            if v == View::Joliet || v == View::Udf || v == View::Iso1999 {
                let names: Vec<&[u8]> = names.iter().map(|n| &n.as_bytes()[1..]).collect();
                assert_latin1_names(&names, &format!("{label} {v:?}"));
            }
            if v == View::RockRidge {
                let root: Vec<Vec<u8>> = entries
                    .iter()
                    .filter_map(|(_, e)| e.rr_name.clone())
                    .collect();
                for n in [&b"x\xff"[..], b"x\xfe", b"caf\xe9", "café".as_bytes()] {
                    assert!(root.iter().any(|x| x == n), "{label}: NM {n:?}");
                }
            }
        }
        if !tools {
            continue;
        }
        let img = write_image(&bytes, work.path(), &format!("{label}.iso"));
        if fs_.contains(iso) {
            for (reader, dir) in [
                (
                    "bsdtar",
                    bsdtar_x(&img, work.path(), &format!("{label}-bsdtar")),
                ),
                (
                    "xorriso",
                    xorriso_x(&img, work.path(), &format!("{label}-xorriso")),
                ),
            ] {
                let got = disk_tree(&dir);
                assert_eq!(
                    file_contents(&got),
                    file_contents(&want),
                    "{label} {reader}"
                );
                if fs_.contains(FileSystems::ROCK_RIDGE) {
                    // Rock Ridge: the exact bytes.
                    assert_eq!(got, want, "{label} {reader}");
                } else if reader == "bsdtar" && fs_.contains(j) {
                    // libarchive reads Joliet: the Latin-1 reading.
                    let names: Vec<&[u8]> = got.keys().map(Vec::as_slice).collect();
                    assert_latin1_names(&names, &format!("{label} bsdtar"));
                }
            }
        }
        if fs_.contains(FileSystems::UDF) {
            let dest = work.path().join(format!("{label}-7z"));
            let mut cmd = tool("7z");
            cmd.arg("x").arg("-y");
            if fs_.contains(iso) {
                cmd.arg("-tudf");
            }
            run(cmd.arg(format!("-o{}", dest.display())).arg(&img));
            let got = disk_tree(&dest);
            assert_eq!(file_contents(&got), file_contents(&want), "{label} 7z");
            let names: Vec<&[u8]> = got.keys().map(Vec::as_slice).collect();
            assert_latin1_names(&names, &format!("{label} 7z"));
            if fs_.contains(iso) && pycdlib {
                let got = pycdlib_udf(&img);
                assert_eq!(
                    got.get("/xÿ").map(Vec::as_slice),
                    Some(b"f:ff contents\n".as_slice()),
                    "{got:?}"
                );
                assert_eq!(
                    got.get("/xþ").map(Vec::as_slice),
                    Some(b"f:fe contents\n".as_slice())
                );
                assert_eq!(got.len(), 6, "{got:?}");
            }
        }
    }
}

/// The CLI builds such a tree without Rock Ridge too, naming each name once on stderr.
#[test]
fn cli_builds_names_that_are_not_utf8() {
    let Some((src, _)) = latin1_tree() else {
        return;
    };
    let work = out_dir();
    let img = work.path().join("latin1.iso");
    let out = run(gm()
        .arg("build")
        .arg(src.path())
        .arg("-o")
        .arg(&img)
        .args(["-J", "--udf"]));
    let err = String::from_utf8_lossy(&out.stderr);
    for n in [
        "/x\\xff: name is not valid UTF-8",
        "/caf\\xe9: name is not valid UTF-8",
    ] {
        assert!(err.contains(n), "no {n:?} in {err}");
    }
    let bytes = fs::read(&img).unwrap();
    let mut r = ImageReader::open(Cursor::new(&bytes)).unwrap();
    for v in [View::Joliet, View::Udf] {
        let e = r.lookup(v, "/xÿ").unwrap();
        assert_eq!(r.read_file(&e).unwrap(), b"ff contents\n", "{v:?}");
    }
}

/// The library adds names that are not UTF-8 through the `*_os` methods (exact bytes as
/// `OsStr`), and the `&str` methods keep working.
#[test]
fn byte_paths_in_the_library() {
    let os = |b: &'static [u8]| OsStr::from_bytes(b);
    let mut b = ImageBuilder::new();
    b.filesystems(
        FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE | FileSystems::UDF,
    );
    b.add_bytes_os(os(b"/raw/x\xff"), &b"ff\n"[..]).unwrap();
    b.add_bytes_os(os(b"/raw/x\xfe"), &b"fe\n"[..]).unwrap();
    b.add_dir_os(os(b"/d\xe9/sub")).unwrap();
    b.add_symlink_os(os(b"/raw/l\xe0"), OsStr::new("x"))
        .unwrap();
    let src = tempfile::NamedTempFile::new().unwrap();
    fs::write(src.path(), b"from disk\n").unwrap();
    b.add_file_os(os(b"/raw/f\xe1"), src.path()).unwrap();
    b.add_reader_os(os(b"/raw/r\xe2"), 3, || {
        Ok(Box::new(Cursor::new(b"rd\n".to_vec())) as Box<dyn std::io::Read + Send>)
    })
    .unwrap();
    b.add_special_os(os(b"/raw/p\xe3"), glassmaster::SpecialKind::Fifo, 0, 0)
        .unwrap();
    b.add_bytes("/plain.txt", &b"plain\n"[..]).unwrap();
    let s = String::from("/also/plain.txt");
    b.add_bytes(&s, &b"also\n"[..]).unwrap();
    assert!(matches!(
        b.add_bytes_os(os(b"/raw/x\xff"), &b"again"[..]),
        Err(glassmaster::Error::DuplicatePath(_))
    ));
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let bytes = render(&image);
    let mut r = ImageReader::open(Cursor::new(&bytes)).unwrap();
    let rr = r.walk(View::RockRidge).unwrap();
    let nm: Vec<Vec<u8>> = rr.iter().filter_map(|(_, e)| e.rr_name.clone()).collect();
    for n in [
        &b"x\xff"[..],
        b"x\xfe",
        b"d\xe9",
        b"l\xe0",
        b"f\xe1",
        b"r\xe2",
        b"p\xe3",
        b"sub",
    ] {
        assert!(nm.iter().any(|x| x == n), "NM {n:?} in {nm:?}");
    }
    for v in [View::Joliet, View::Udf] {
        let e = r.lookup(v, "/raw/xÿ").unwrap();
        assert_eq!(r.read_file(&e).unwrap(), b"ff\n", "{v:?}");
        let e = r.lookup(v, "/raw/xþ").unwrap();
        assert_eq!(r.read_file(&e).unwrap(), b"fe\n", "{v:?}");
        assert!(r.lookup(v, "/dé/sub").unwrap().is_dir, "{v:?}");
    }
    let e = r.lookup(View::Udf, "/raw/là").unwrap();
    assert_eq!(e.posix.unwrap().symlink.as_deref(), Some(&b"x"[..]));
    for (p, want) in [("/raw/fá", &b"from disk\n"[..]), ("/raw/râ", b"rd\n")] {
        let e = r.lookup(View::Joliet, p).unwrap();
        assert_eq!(r.read_file(&e).unwrap(), want, "{p}");
    }
    if require_tool("bsdtar") {
        let work = out_dir();
        let img = write_image(&bytes, work.path(), "lib.iso");
        let got = disk_tree(&bsdtar_x(&img, work.path(), "x"));
        assert_eq!(got.get(&b"raw/x\xff"[..]), Some(&b"f:ff\n".to_vec()));
        assert_eq!(got.get(&b"raw/l\xe0"[..]), Some(&b"l:x".to_vec()));
        assert_eq!(got.get(&b"d\xe9/sub"[..]), Some(&b"d".to_vec()));
        assert_eq!(got.get(&b"raw/f\xe1"[..]), Some(&b"f:from disk\n".to_vec()));
        assert_eq!(got.get(&b"raw/p\xe3"[..]), Some(&b"o".to_vec()));
    }
}

/// A symbolic link whose target is not UTF-8 is kept: Rock Ridge records the exact bytes
/// (read back by bsdtar and xorriso), UDF the Latin-1 reading (our reader, pycdlib sees a
/// link); without Rock Ridge and UDF it is left out with a warning, like every link.
#[test]
fn symlink_targets_that_are_not_utf8() {
    let src = tempfile::Builder::new().prefix("gm-src").tempdir().unwrap();
    let dir = src.path().join(OsStr::from_bytes(b"caf\xe9"));
    if fs::create_dir(&dir).is_err() {
        eprintln!("note: this file system refuses names that are not UTF-8; skipped");
        return;
    }
    fs::write(dir.join("a.txt"), b"a\n").unwrap();
    let rel = OsStr::from_bytes(b"caf\xe9/a.txt");
    let abs = OsStr::from_bytes(b"/nowhere/\xff\xfe");
    std::os::unix::fs::symlink(rel, src.path().join("rel")).unwrap();
    std::os::unix::fs::symlink(abs, src.path().join("abs")).unwrap();
    let work = out_dir();
    let mut b = ImageBuilder::new();
    b.filesystems(
        FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE | FileSystems::UDF,
    );
    b.add_tree("/", src.path(), &mut glassmaster::NoProgress)
        .unwrap();
    b.add_symlink_os(OsStr::new("/lib_link"), abs).unwrap();
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    assert!(
        image
            .warnings()
            .iter()
            .any(|w| w
                .starts_with("/abs: symbolic link (to /nowhere/\\xff\\xfe) left out of Joliet")),
        "{:#?}",
        image.warnings()
    );
    let bytes = render(&image);
    let mut r = ImageReader::open(Cursor::new(&bytes)).unwrap();
    for (p, want) in [
        ("/rel", "café/a.txt"),
        ("/abs", "/nowhere/ÿþ"),
        ("/lib_link", "/nowhere/ÿþ"),
    ] {
        let e = r.lookup(View::Udf, p).unwrap();
        assert_eq!(
            e.posix.unwrap().symlink.as_deref(),
            Some(want.as_bytes()),
            "UDF {p}"
        );
    }
    // Our Rock Ridge view and `extract` keep the target's exact bytes.
    let rr_want: [(&str, &[u8]); 3] = [
        ("rel", b"caf\xe9/a.txt"),
        ("abs", b"/nowhere/\xff\xfe"),
        ("lib_link", b"/nowhere/\xff\xfe"),
    ];
    for (p, want) in rr_want {
        let e = r.lookup(View::RockRidge, &format!("/{p}")).unwrap();
        assert_eq!(
            e.posix.unwrap().symlink.as_deref(),
            Some(want),
            "Rock Ridge /{p}"
        );
    }
    let extracted = work.path().join("ours");
    let img = write_image(&bytes, work.path(), "targets-ours.iso");
    let out = gm()
        .arg("extract")
        .arg(&img)
        .arg(&extracted)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    for (p, want) in rr_want {
        let got = fs::read_link(extracted.join(p)).unwrap();
        assert_eq!(got.as_os_str().as_bytes(), want, "extract: /{p}");
    }
    if !require_tools(&["bsdtar", "xorriso"]) {
        return;
    }
    let img = write_image(&bytes, work.path(), "targets.iso");
    for dest in [
        bsdtar_x(&img, work.path(), "bsdtar"),
        xorriso_x(&img, work.path(), "xorriso"),
    ] {
        assert_eq!(fs::read_link(dest.join("rel")).unwrap().as_os_str(), rel);
        assert_eq!(fs::read_link(dest.join("abs")).unwrap().as_os_str(), abs);
        assert_eq!(
            fs::read_link(dest.join("lib_link")).unwrap().as_os_str(),
            abs
        );
        assert_eq!(
            fs::read(dest.join("rel")).unwrap(),
            b"a\n",
            "the link resolves"
        );
    }
    if require_pycdlib() {
        let got = pycdlib_udf(&img);
        assert_eq!(got.get("/abs").map(Vec::as_slice), Some(b"l".as_slice()));
    }
}

/// UDF file entries hold the tree's modes and owners whatever other file systems are on (ECMA-167
/// 4/14.9.5, 4/14.9.3): `--udf --no-rock-ridge` read by pycdlib, `--udf-only` by our reader.
#[test]
fn udf_records_modes_and_owners_without_rock_ridge() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("x"), b"run me\n").unwrap();
    fs::write(src.join("d/y"), b"private\n").unwrap();
    for (p, mode) in [("x", 0o755), ("d/y", 0o600), ("d", 0o700)] {
        fs::set_permissions(src.join(p), fs::Permissions::from_mode(mode)).unwrap();
    }
    let uid = fs::metadata(src.join("x")).unwrap().uid();
    let want = [("/x", 0o755u32), ("/d", 0o700), ("/d/y", 0o600)];

    // Bridge without Rock Ridge: pycdlib reads the UDF permissions field (other, group, owner
    // in 5-bit groups whose low three bits are x, w, r).
    let bridge = tmp.path().join("bridge.iso");
    let out = gm()
        .args(["build", "-q", "--udf", "--no-rock-ridge"])
        .arg(&src)
        .arg("-o")
        .arg(&bridge)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    if require_pycdlib() {
        let script = "import sys, pycdlib\np = pycdlib.PyCdlib()\np.open(sys.argv[1])\n\
                      for path in sys.argv[2:]:\n    r = p.get_record(udf_path=path)\n    \
                      print(path, r.perms, r.uid)\n";
        let mut cmd = Command::new("python3");
        cmd.arg("-c").arg(script).arg(&bridge);
        cmd.args(want.iter().map(|(p, _)| *p));
        let listed = String::from_utf8(run(&mut cmd).stdout).unwrap();
        for ((path, mode), line) in want.iter().zip(listed.lines()) {
            let f: Vec<&str> = line.split(' ').collect();
            assert_eq!(f[0], *path);
            let perms: u32 = f[1].parse().unwrap();
            let got = (perms & 7) | (((perms >> 5) & 7) << 3) | (((perms >> 10) & 7) << 6);
            assert_eq!(got, *mode, "pycdlib: mode of {path} ({line})");
            assert_eq!(
                f[2].parse::<u32>().unwrap(),
                uid,
                "pycdlib: owner of {path}"
            );
        }
    }

    // UDF only: our reader's long listing.
    let only = tmp.path().join("only.iso");
    let out = gm()
        .args(["build", "-q", "--udf-only"])
        .arg(&src)
        .arg("-o")
        .arg(&only)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut r = ImageReader::open(Cursor::new(fs::read(&only).unwrap())).unwrap();
    for (path, mode) in want {
        let e = r.lookup(View::Udf, path).unwrap();
        let px = e
            .posix
            .as_ref()
            .unwrap_or_else(|| panic!("{path}: no owner or mode"));
        assert_eq!(px.mode & 0o7777, mode, "ours: mode of {path}");
        assert_eq!(px.uid, uid, "ours: owner of {path}");
    }
}

/// `ls` shows names from their exact bytes, escaped as the warnings escape them: `x\xff` and
/// `x\xfe` list as two names, a control character never reaches the terminal raw.
#[test]
fn ls_shows_name_bytes_escaped() {
    let tmp = TempDir::new().unwrap();
    let src = tmp.path().join("src");
    let dir = src.join(OsStr::from_bytes(b"caf\xe9"));
    if fs::create_dir_all(&dir).is_err() {
        eprintln!("note: this file system refuses names that are not UTF-8; skipped");
        return;
    }
    fs::write(src.join(OsStr::from_bytes(b"x\xff")), b"1").unwrap();
    fs::write(src.join(OsStr::from_bytes(b"x\xfe")), b"2").unwrap();
    fs::write(dir.join(OsStr::from_bytes(b"a\x1b[2Jb")), b"3").unwrap();
    let iso = tmp.path().join("n.iso");
    let out = gm()
        .arg("build")
        .arg("-q")
        .arg(&src)
        .arg("-o")
        .arg(&iso)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    for long in [false, true] {
        let mut cmd = gm();
        cmd.arg("ls").arg(&iso);
        if long {
            cmd.arg("-l");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(!out.stdout.contains(&0x1b), "raw escape in {out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        let names: Vec<&str> = text
            .lines()
            .map(|l| l.rsplit("  ").next().unwrap_or(l))
            .collect();
        assert_eq!(
            names,
            ["/caf\\xe9/", "/caf\\xe9/a\\u{1b}[2Jb", "/x\\xfe", "/x\\xff"],
            "{text}"
        );
    }
}
