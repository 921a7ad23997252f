//! UDF view tests: images built by [`ImageBuilder`] (UDF only and bridge, every revision), the
//! hand-assembled images of `udf::interop_tests`, `mkudffs` images (independent validation),
//! and damaged images (specific errors, fallbacks, loops, limits).

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Seek, SeekFrom};

use chrono::{DateTime, TimeZone, Utc};

use super::tests::err;
use super::*;
use crate::udf::file::Fid;
use crate::udf::tag::{decode_tag, finish_tag};
use crate::udf::{interop_tests, UdfRevision};
use crate::{FileSystems, ImageBuilder};

type Mem = ImageReader<Cursor<Vec<u8>>>;

fn open_with(data: Vec<u8>, limits: Limits) -> Mem {
    match ImageReader::open_with_limits(Cursor::new(data), limits) {
        Ok(r) => r,
        Err(e) => panic!("open failed: {e}"),
    }
}

fn open(data: Vec<u8>) -> Mem {
    open_with(data, Limits::default())
}

fn strict(data: Vec<u8>) -> Mem {
    open_with(data, Limits::strict())
}

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_600_000_000 + secs, 0).unwrap()
}

/// A deterministic pattern: byte `i` of a file seeded `seed`.
fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

/// What the test tree holds: path -> (is_dir, data).
fn expected_files() -> BTreeMap<String, Option<Vec<u8>>> {
    let mut m = BTreeMap::new();
    let mut f = |p: &str, d: Option<Vec<u8>>| {
        m.insert(p.to_string(), d);
    };
    f("/empty.bin", Some(Vec::new()));
    f("/one.txt", Some(b"1".to_vec()));
    f("/block.bin", Some(pattern(1, 2048)));
    f("/big.bin", Some(pattern(2, 300_000)));
    f("/ünïcödé", None);
    f("/ünïcödé/Ωμέγα.txt", Some(pattern(3, 300)));
    f("/日本語", None);
    f("/日本語/ファイル名.txt", Some(pattern(4, 4096)));
    f("/clef 𝄞.txt", Some(b"surrogates".to_vec()));
    f("/hidden.txt", Some(b"you cannot see me".to_vec()));
    f("/a", None);
    f("/a/b", None);
    f("/a/b/c", None);
    f("/a/b/c/deep.txt", Some(b"deep".to_vec()));
    f("/empty_dir", None);
    f("/links", None);
    f("/links/target.txt", Some(b"target data".to_vec()));
    f("/links/hard.txt", Some(b"target data".to_vec()));
    f("/links/sym", Some(Vec::new())); // data checked separately
    f("/many", None);
    for i in 0..100 {
        f(
            &format!("/many/file_{i:03}_{}.txt", "x".repeat(i % 40)),
            Some(pattern(i as u8, i * 7)),
        );
    }
    m
}

/// The test tree in a builder for `fs` and `rev`.
fn builder(fs: FileSystems, rev: UdfRevision) -> ImageBuilder {
    let mut b = ImageBuilder::new();
    b.filesystems(fs).volume_id("UDF_TEST").build_time(t(0));
    b.options_mut().udf.revision = rev;
    let mut n = 0;
    for (path, data) in expected_files() {
        n += 1;
        match data {
            None => {
                b.add_dir(&path).unwrap();
            }
            Some(_) if path == "/links/hard.txt" || path == "/links/sym" => continue,
            Some(d) => {
                b.add_bytes(&path, d).unwrap();
            }
        }
        b.set_mtime(&path, t(n * 3_600)).unwrap();
    }
    b.add_hard_link("/links/hard.txt", "/links/target.txt")
        .unwrap();
    b.add_symlink("/links/sym", "target.txt").unwrap();
    b.set_hidden("/hidden.txt", true).unwrap();
    b
}

fn render(b: &ImageBuilder) -> Vec<u8> {
    let image = b.build().unwrap();
    let mut v = Vec::new();
    image.write_to(&mut v, &mut crate::NoProgress).unwrap();
    v
}

fn udf_only(rev: UdfRevision) -> Vec<u8> {
    render(&builder(FileSystems::UDF, rev))
}

fn bridge(rev: UdfRevision) -> Vec<u8> {
    render(&builder(
        FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::UDF,
        rev,
    ))
}

/// The mtime the builder gave `path` (in the order of `expected_files`).
fn expected_mtime(path: &str) -> Option<DateTime<Utc>> {
    let i = expected_files().keys().position(|p| p == path)? as i64;
    Some(t((i + 1) * 3_600))
}

/// Walks the UDF view and checks it against the test tree.
fn check_tree(r: &mut Mem) {
    let walked = r.walk(View::Udf).unwrap();
    let want = expected_files();
    let got: Vec<&str> = walked.iter().map(|(p, _)| p.as_str()).collect();
    let mut sorted = got.clone();
    sorted.sort();
    let want_paths: Vec<&str> = want.keys().map(String::as_str).collect();
    assert_eq!(sorted, want_paths);
    for (path, e) in &walked {
        assert_eq!(e.view, View::Udf);
        let expect = &want[path];
        assert_eq!(e.is_dir, expect.is_none(), "{path}");
        assert_eq!(e.hidden, path == "/hidden.txt", "{path}");
        let posix = e.posix.as_ref().unwrap();
        if path != "/links/hard.txt" && path != "/links/sym" {
            assert_eq!(
                e.mtime.map(|m| m.with_timezone(&Utc)),
                expected_mtime(path),
                "{path}"
            );
        }
        assert_eq!(
            e.name,
            path.rsplit('/').next().unwrap(),
            "name of {path}"
        );
        if path == "/links/sym" {
            assert_eq!(posix.file_type(), FileType::Symlink);
            assert_eq!(posix.symlink.as_deref(), Some("target.txt"));
            continue;
        }
        match expect {
            Some(data) => {
                assert_eq!(posix.file_type(), FileType::Regular, "{path}");
                assert_eq!(e.size, data.len() as u64, "{path}");
                assert_eq!(&r.read_file(e).unwrap(), data, "{path}");
                let links = if path.starts_with("/links/") { 2 } else { 1 };
                assert_eq!(posix.nlink, links, "{path}");
            }
            None => {
                assert_eq!(posix.file_type(), FileType::Directory, "{path}");
                let subdirs = want
                    .iter()
                    .filter(|(p, d)| {
                        d.is_none()
                            && p.strip_prefix(path.as_str())
                                .and_then(|rest| rest.strip_prefix('/'))
                                .is_some_and(|rest| !rest.contains('/'))
                    })
                    .count() as u32;
                assert_eq!(posix.nlink, 1 + subdirs, "{path}");
            }
        }
    }
    // Hard links share the file entry and the data.
    let a = r.lookup(View::Udf, "/links/target.txt").unwrap();
    let b = r.lookup(View::Udf, "/links/hard.txt").unwrap();
    assert_eq!(a.location(), b.location());
    assert_eq!(a.extents, b.extents);
    assert_eq!(
        a.udf.as_ref().unwrap().unique_id(),
        b.udf.as_ref().unwrap().unique_id()
    );
    // The directory of 100 files spans several blocks.
    let many = r.lookup(View::Udf, "/many").unwrap();
    assert!(many.size > 3 * 2048, "{}", many.size);
    assert_eq!(r.read_dir(&many).unwrap().len(), 100);
    let empty = r.lookup(View::Udf, "/empty_dir").unwrap();
    assert!(r.read_dir(&empty).unwrap().is_empty());
    // Root attributes.
    let root = r.root(View::Udf).unwrap();
    assert!(root.is_dir);
    assert_eq!(root.udf.as_ref().unwrap().unique_id(), 0);
    // 8 directories below the root: ünïcödé 日本語 a b c empty_dir links many.
    assert_eq!(root.posix.as_ref().unwrap().nlink, 1 + 6);
}

#[test]
fn udf_only_every_revision() {
    for rev in UdfRevision::ALL {
        let mut r = strict(udf_only(rev));
        assert_eq!(r.views(), [View::Udf], "{rev:?}");
        assert_eq!(r.default_view(), View::Udf);
        assert!(r.warnings().is_empty(), "{rev:?}: {:?}", r.warnings());
        let info = r.volume_info().clone();
        let udf = info.udf.clone().unwrap();
        assert_eq!(udf.revision, rev.bcd());
        assert_eq!(udf.max_write_revision, Some(rev.bcd()));
        assert_eq!(udf.logical_volume_id, "UDF_TEST");
        assert_eq!(udf.volume_id, "UDF_TEST");
        assert_eq!(info.volume_id, "UDF_TEST");
        assert_eq!(udf.metadata_partition, rev >= UdfRevision::V2_50);
        assert_eq!(udf.integrity_closed, Some(true));
        // 112 files (hard link and symlink included), 9 directories (root included).
        assert_eq!((udf.files, udf.dirs), (Some(112), Some(9)), "{rev:?}");
        assert_eq!(info.creation.map(|c| c.with_timezone(&Utc)), Some(t(0)));
        assert_eq!(
            u64::from(info.volume_space_blocks) * 2048,
            r.image_len(),
            "{rev:?}"
        );
        assert!(r.root(View::Iso9660).is_err());
        check_tree(&mut r);
    }
}

#[test]
fn bridge_every_revision() {
    for rev in UdfRevision::ALL {
        let mut r = strict(bridge(rev));
        assert_eq!(
            r.views(),
            [View::Iso9660, View::Joliet, View::Udf],
            "{rev:?}"
        );
        assert_eq!(r.default_view(), View::Joliet);
        assert_eq!(r.volume_info().volume_id, "UDF_TEST");
        assert_eq!(r.volume_info().udf.as_ref().unwrap().revision, rev.bcd());
        check_tree(&mut r);
        // The ISO 9660 views share the file data with UDF.
        let j = r.lookup(View::Joliet, "/big.bin").unwrap();
        let u = r.lookup(View::Udf, "/big.bin").unwrap();
        assert_eq!(j.extents, u.extents, "{rev:?}");
    }
}

#[test]
fn view_names() {
    assert_eq!(View::Udf.to_string(), "udf");
    assert_eq!("UDF".parse::<View>(), Ok(View::Udf));
    assert!("udf2".parse::<View>().unwrap_err().to_string().contains("udf"));
}

// ---------------------------------------------------------------------------------------------
// The hand-assembled images of `udf::interop_tests`: data embedded in a file entry, a symbolic
// link, a hard link, no ISO 9660 at all.

#[test]
fn assembled_images() {
    use interop_tests::{hello, EURO, EURO_DATA, HELLO_LEN, SYM_TARGET};
    for rev in UdfRevision::ALL {
        let mut r = strict(interop_tests::build(rev, true));
        assert_eq!(r.views(), [View::Udf]);
        let udf = r.volume_info().udf.clone().unwrap();
        assert_eq!(udf.logical_volume_id, "GM UDF Test");
        assert_eq!(udf.volume_id, "GM_UDF_TEST");
        assert_eq!(udf.file_set_id, "GM UDF Test");
        assert_eq!((udf.files, udf.dirs), (Some(4), Some(2)));
        let walked = r.walk(View::Udf).unwrap();
        let paths: Vec<&str> = walked.iter().map(|(p, _)| p.as_str()).collect();
        let euro = format!("/sub/{EURO}");
        assert_eq!(
            paths,
            ["/hello.txt", "/link-hard.txt", "/sub", euro.as_str(), "/sym"]
        );
        let hello_e = &walked[0].1;
        assert_eq!(hello_e.size, HELLO_LEN as u64);
        assert_eq!(r.read_file(hello_e).unwrap(), hello());
        assert_eq!(hello_e.posix.as_ref().unwrap().nlink, 2);
        assert_eq!(
            hello_e.mtime.unwrap().with_timezone(&Utc),
            interop_tests::when()
        );
        let e = &walked[3].1;
        let embedded = e.udf.as_ref().unwrap().embedded().unwrap();
        assert_eq!(embedded, EURO_DATA);
        assert!(e.extents.is_empty());
        assert_eq!(r.read_file(e).unwrap(), EURO_DATA);
        // Seeking inside embedded data.
        let mut f = r.open_file(e).unwrap();
        f.seek(SeekFrom::Start(2)).unwrap();
        let mut s = String::new();
        f.read_to_string(&mut s).unwrap();
        assert_eq!(s, "ny\n");
        drop(f);
        let sym = &walked[4].1;
        let p = sym.posix.as_ref().unwrap();
        assert_eq!(p.file_type(), FileType::Symlink);
        assert_eq!(p.mode & 0o777, 0o777);
        assert_eq!(p.symlink.as_deref(), Some(SYM_TARGET));
        // Reading a symbolic link gives its path components.
        let raw = r.read_file(sym).unwrap();
        assert_eq!(
            crate::udf::file::decode_symlink_target(&raw).as_deref(),
            Some(SYM_TARGET)
        );
        // Owners "not set" read as 0.
        assert_eq!((p.uid, p.gid), (0, 0));
        assert_eq!(r.lookup(View::Udf, &euro).unwrap().name, EURO);
    }
}

// ---------------------------------------------------------------------------------------------
// mkudffs (udftools): independent images.

/// The path of `mkudffs` (in /usr/sbin); `None` (with a note) when missing, a panic in CI.
fn mkudffs() -> Option<std::path::PathBuf> {
    let mut dirs: Vec<std::path::PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/sbin"].map(std::path::PathBuf::from));
    let found = dirs
        .into_iter()
        .map(|d| d.join("mkudffs"))
        .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("mkudffs (udftools) is required when CI=true");
        }
        eprintln!("skipping: mkudffs is not installed");
    }
    found
}

/// A 10 MB image formatted by mkudffs with `args`.
fn mkudffs_image(tool: &std::path::Path, args: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("mk.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(10 << 20)
        .unwrap();
    let out = std::process::Command::new(tool)
        .args(["--blocksize=2048", "--label=MKTEST"])
        .args(args)
        .arg(&img)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mkudffs {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(&img).unwrap()
}

#[test]
fn mkudffs_images() {
    let Some(tool) = mkudffs() else { return };
    for (rev, arg) in [(0x0102, "1.02"), (0x0150, "1.50"), (0x0201, "2.01")] {
        for ad in ["inicb", "short", "long"] {
            for media in ["hd", "dvd"] {
                let what = format!("{arg} --ad={ad} --media-type={media}");
                let bytes = mkudffs_image(
                    &tool,
                    &[
                        &format!("--media-type={media}"),
                        &format!("--udfrev={arg}"),
                        &format!("--ad={ad}"),
                    ],
                );
                let mut r = strict(bytes);
                assert_eq!(r.views(), [View::Udf], "{what}");
                assert!(r.warnings().is_empty(), "{what}: {:?}", r.warnings());
                let u = r.volume_info().udf.clone().unwrap();
                assert_eq!(u.revision, rev, "{what}");
                assert_eq!(u.max_write_revision, Some(rev), "{what}");
                assert_eq!(u.logical_volume_id, "MKTEST");
                assert_eq!((u.files, u.dirs), (Some(0), Some(1)), "{what}");
                assert_eq!(u.integrity_closed, Some(true));
                let root = r.root(View::Udf).unwrap();
                assert_eq!(
                    root.udf.as_ref().unwrap().embedded().is_some(),
                    ad == "inicb",
                    "{what}"
                );
                assert_eq!(root.size, 40, "{what}: just the parent FID");
                assert!(r.walk(View::Udf).unwrap().is_empty(), "{what}");
                let p = root.posix.as_ref().unwrap();
                assert_eq!(p.file_type(), FileType::Directory);
                assert_eq!(p.nlink, 1);
            }
        }
    }
}
