//! UDF view tests: images built by [`ImageBuilder`] (UDF only and bridge, every revision), the
//! hand-assembled images of `udf_assembled`, `mkudffs` images (independent validation),
//! and damaged images (specific errors, fallbacks, loops, limits).

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Seek, SeekFrom};

use chrono::{DateTime, TimeZone, Utc};

use super::basic::err;
use glassmaster::raw::udf::file::Fid;
use glassmaster::raw::udf::tag::{decode_tag, finish_tag};
use glassmaster::raw::udf::UdfRevision;
use glassmaster::read::*;
use glassmaster::ParseErrorKind;

use crate::common::require_tool_path;
use glassmaster::{FileSystems, ImageBuilder};

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
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let mut v = Vec::new();
    image
        .write_to(&mut v, &mut glassmaster::NoProgress)
        .unwrap();
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

/// The mtime the builder gave `path` of `want` (in the order of `expected_files`).
fn expected_mtime(want: &BTreeMap<String, Option<Vec<u8>>>, path: &str) -> Option<DateTime<Utc>> {
    let i = want.keys().position(|p| p == path)? as i64;
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
                expected_mtime(&want, path),
                "{path}"
            );
        }
        assert_eq!(e.name, path.rsplit('/').next().unwrap(), "name of {path}");
        if path == "/links/sym" {
            assert_eq!(posix.file_type(), FileType::Symlink);
            assert_eq!(posix.symlink_lossy().as_deref(), Some("target.txt"));
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
    assert!("udf2"
        .parse::<View>()
        .unwrap_err()
        .to_string()
        .contains("udf"));
}

// ---------------------------------------------------------------------------------------------
// The hand-assembled images of `udf_assembled`: data embedded in a file entry, a symbolic
// link, a hard link, no ISO 9660 at all.

#[test]
fn assembled_images() {
    use super::udf_assembled::{hello, EURO, EURO_DATA, HELLO_LEN, SYM_TARGET};
    for rev in UdfRevision::ALL {
        let mut r = strict(super::udf_assembled::build(rev, true));
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
            [
                "/hello.txt",
                "/link-hard.txt",
                "/sub",
                euro.as_str(),
                "/sym"
            ]
        );
        let hello_e = &walked[0].1;
        assert_eq!(hello_e.size, HELLO_LEN as u64);
        assert_eq!(r.read_file(hello_e).unwrap(), hello());
        assert_eq!(hello_e.posix.as_ref().unwrap().nlink, 2);
        assert_eq!(
            hello_e.mtime.unwrap().with_timezone(&Utc),
            super::udf_assembled::when()
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
        assert_eq!(p.symlink_lossy().as_deref(), Some(SYM_TARGET));
        // Reading a symbolic link gives its path components.
        let raw = r.read_file(sym).unwrap();
        assert_eq!(
            glassmaster::raw::udf::file::decode_symlink_target(&raw).as_deref(),
            Some(SYM_TARGET)
        );
        // Owners "not set" read as 0.
        assert_eq!((p.uid, p.gid), (0, 0));
        assert_eq!(r.lookup(View::Udf, &euro).unwrap().name, EURO);
    }
}

// ---------------------------------------------------------------------------------------------
// mkudffs (udftools): independent images.

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
    let Some(tool) = require_tool_path("mkudffs") else {
        return;
    };
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

// ---------------------------------------------------------------------------------------------
// Damaged images

/// A small UDF image: `/one.txt`, `/block.bin` (2048 bytes), `/dir/inner.txt`, `/empty_dir`.
fn small(fs: FileSystems, rev: UdfRevision) -> Vec<u8> {
    let mut b = ImageBuilder::new();
    b.filesystems(fs).volume_id("SMALL").build_time(t(0));
    b.options_mut().udf.revision = rev;
    b.add_bytes("/one.txt", &b"1"[..]).unwrap();
    b.add_bytes("/block.bin", pattern(9, 2048)).unwrap();
    b.add_bytes("/dir/inner.txt", &b"inner"[..]).unwrap();
    b.add_dir("/empty_dir").unwrap();
    render(&b)
}

fn small_udf(rev: UdfRevision) -> Vec<u8> {
    small(FileSystems::UDF, rev)
}

fn at(lba: u32, off: usize) -> usize {
    lba as usize * 2048 + off
}

/// Recomputes the tag (CRC, checksum) of the descriptor at byte `pos` with tag location
/// `location`, keeping its identifier, version, serial number and CRC length.
fn reseal(img: &mut [u8], pos: usize, location: u32) {
    let b = &mut img[pos..];
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    let (ident, version, serial, crc_len) =
        (u16_at(b, 0), u16_at(b, 2), u16_at(b, 6), u16_at(b, 10));
    finish_tag(b, ident, version, serial, location, crc_len as usize);
}

fn tag_location(img: &[u8], pos: usize) -> u32 {
    u32::from_le_bytes(img[pos + 12..pos + 16].try_into().unwrap())
}

/// The sector of the file entry of `path` in the UDF view.
fn fe_sector(img: &[u8], path: &str) -> u32 {
    let mut r = open(img.to_vec());
    r.lookup(View::Udf, path).unwrap().location().unwrap()
}

/// Lenient reading of the root of `img` leaves `path` (file entry at sector `fe`) out with a
/// warning naming both, lists `rest`, and reads the rest of the tree.
fn assert_left_out(img: Vec<u8>, path: &str, fe: u32, rest: &[&str]) {
    let mut r = open(img);
    let root = r.root(View::Udf).unwrap();
    let names: Vec<String> = r
        .read_dir(&root)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, rest);
    assert_eq!(r.left_out().len(), 1, "{:?}", r.left_out());
    let msg = &r.left_out()[0];
    assert!(msg.starts_with(&format!("{path}: ")), "{msg}");
    assert!(msg.contains(&format!("sector {fe}")), "{msg}");
    assert!(r.warnings().contains(msg));
    let e = r.lookup(View::Udf, "/dir/inner.txt").unwrap();
    assert_eq!(r.read_file(&e).unwrap(), b"inner");
}

#[test]
fn damaged_file_entry() {
    for rev in [UdfRevision::V1_02, UdfRevision::V2_01, UdfRevision::V2_60] {
        let good = small_udf(rev);
        let fe = fe_sector(&good, "/one.txt");
        // A byte of the body: the CRC no longer matches.
        let mut img = good.clone();
        img[at(fe, 60)] ^= 0x40;
        let mut r = strict(img.clone());
        let root = r.root(View::Udf).unwrap();
        let e = err(r.read_dir(&root));
        assert_eq!(e.kind, ParseErrorKind::BadCrc, "{rev:?}");
        assert_eq!(e.lba, Some(u64::from(fe)));
        assert_eq!(err(r.walk(View::Udf)).kind, ParseErrorKind::BadCrc);
        // Lenient: left out with a warning, the rest lists and reads.
        assert_left_out(
            img.clone(),
            "/one.txt",
            fe,
            &["block.bin", "dir", "empty_dir"],
        );
        let mut r = open(img);
        let all: Vec<String> = r
            .walk(View::Udf)
            .unwrap()
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert_eq!(
            all,
            ["/block.bin", "/dir", "/dir/inner.txt", "/empty_dir"],
            "{rev:?}"
        );
        assert_eq!(r.left_out().len(), 1, "{:?}", r.left_out());
        // A byte of the tag: the checksum no longer matches.
        let mut img = good.clone();
        img[at(fe, 6)] ^= 0x01;
        let mut r = strict(img);
        let root = r.root(View::Udf).unwrap();
        let e = err(r.read_dir(&root));
        assert!(
            matches!(&e.kind, ParseErrorKind::BadTag(m) if m.contains("checksum")),
            "{e}"
        );
        assert_eq!((e.lba, e.offset), (Some(u64::from(fe)), Some(0)));
        // Another descriptor where a file entry should be.
        let mut img = good.clone();
        img[at(fe, 0)..at(fe, 2)].copy_from_slice(&8u16.to_le_bytes()); // terminating
        let loc = tag_location(&img, at(fe, 0));
        reseal(&mut img, at(fe, 0), loc);
        let mut r = strict(img);
        let root = r.root(View::Udf).unwrap();
        let e = err(r.read_dir(&root));
        assert!(
            matches!(&e.kind, ParseErrorKind::BadTag(m) if m.contains("identifier 8")),
            "{e}"
        );
    }
}

#[test]
fn wrong_tag_location_strict_and_lenient() {
    for rev in [UdfRevision::V1_50, UdfRevision::V2_50] {
        let mut img = small_udf(rev);
        let fe = fe_sector(&img, "/dir/inner.txt");
        let loc = tag_location(&img, at(fe, 0));
        reseal(&mut img, at(fe, 0), loc + 7);
        let mut r = strict(img.clone());
        let e = err(r.walk(View::Udf));
        assert!(
            matches!(&e.kind, ParseErrorKind::BadTag(m) if m.contains("tag location")),
            "{e}"
        );
        assert_eq!((e.lba, e.offset), (Some(u64::from(fe)), Some(12)));
        let mut r = open(img);
        assert!(r.warnings().is_empty());
        let e = r.lookup(View::Udf, "/dir/inner.txt").unwrap();
        assert_eq!(r.read_file(&e).unwrap(), b"inner");
        assert_eq!(r.warnings().len(), 1, "{:?}", r.warnings());
        assert!(r.warnings()[0].contains("tag location"));
    }
}

#[test]
fn damaged_volume_descriptors_use_the_reserve_sequence() {
    for rev in [UdfRevision::V1_02, UdfRevision::V2_60] {
        let good = small_udf(rev);
        // The main LVD (sector 35): the reserve sequence (48-63) is used.
        let mut img = good.clone();
        img[at(35, 300)] ^= 1;
        for mut r in [open(img.clone()), strict(img.clone())] {
            assert_eq!(r.views(), [View::Udf]);
            assert!(
                r.warnings().iter().any(|w| w.contains("reserve")),
                "{:?}",
                r.warnings()
            );
            let e = r.lookup(View::Udf, "/dir/inner.txt").unwrap();
            assert_eq!(r.read_file(&e).unwrap(), b"inner");
        }
        // Both copies damaged: the main sequence's error.
        img[at(51, 300)] ^= 1;
        for limits in [Limits::default(), Limits::strict()] {
            let e = err(ImageReader::open_with_limits(
                Cursor::new(img.clone()),
                limits,
            ));
            assert_eq!((e.kind, e.lba), (ParseErrorKind::BadCrc, Some(35)));
        }
        // On a bridge image, lenient mode keeps the ISO 9660 views.
        let mut img = small(
            FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::UDF,
            rev,
        );
        img[at(35, 300)] ^= 1;
        img[at(51, 300)] ^= 1;
        let r = open(img.clone());
        assert_eq!(r.views(), [View::Iso9660, View::Joliet]);
        assert!(r.volume_info().udf.is_none());
        assert!(r.warnings()[0].contains("UDF"), "{:?}", r.warnings());
        let e = err(ImageReader::open_with_limits(
            Cursor::new(img),
            Limits::strict(),
        ));
        assert_eq!((e.kind, e.lba), (ParseErrorKind::BadCrc, Some(35)));
    }
}

#[test]
fn damaged_anchor_uses_the_last_sector() {
    let mut img = small_udf(UdfRevision::V2_01);
    let n = (img.len() / 2048) as u32;
    img[at(256, 20)] ^= 1;
    let mut r = strict(img.clone());
    assert!(r.warnings()[0].contains("anchor"), "{:?}", r.warnings());
    assert_eq!(r.walk(View::Udf).unwrap().len(), 5);
    img[at(n - 1, 20)] ^= 1;
    let e = err(ImageReader::open(Cursor::new(img)));
    assert_eq!((e.kind, e.lba), (ParseErrorKind::BadCrc, Some(256)));
}

#[test]
fn damaged_metadata_file_uses_the_mirror() {
    for rev in [UdfRevision::V2_50, UdfRevision::V2_60] {
        let mut img = small_udf(rev);
        // The metadata file entry follows the metadata partition (one allocation unit of 32
        // blocks from the partition start at 257), the mirror's the next block.
        let (main, mirror) = (257 + 32, 257 + 33);
        assert_eq!(img[at(main, 16 + 11)], 250);
        assert_eq!(img[at(mirror, 16 + 11)], 251);
        img[at(main, 100)] ^= 1;
        let mut r = strict(img.clone());
        assert!(
            r.warnings().iter().any(|w| w.contains("mirror")),
            "{:?}",
            r.warnings()
        );
        assert_eq!(r.walk(View::Udf).unwrap().len(), 5);
        img[at(mirror, 100)] ^= 1;
        let e = err(ImageReader::open(Cursor::new(img)));
        assert_eq!(
            (e.kind, e.lba),
            (ParseErrorKind::BadCrc, Some(u64::from(main)))
        );
    }
}

/// The byte position and contents of the FID named `name` in directory `dir` (one extent).
fn find_fid(img: &[u8], dir: &str, name: &str) -> (usize, Fid) {
    let mut r = open(img.to_vec());
    let d = r.lookup(View::Udf, dir).unwrap();
    assert_eq!(d.extents.len(), 1);
    let start = d.extents[0].byte_offset() as usize;
    let data = &img[start..start + d.size as usize];
    let mut off = 0;
    while off < data.len() {
        let loc = tag_location(data, off);
        let fid = Fid::decode(&data[off..], loc).unwrap().value;
        if fid.name_str().as_deref() == Some(name) {
            return (start + off, fid);
        }
        off += fid.len();
    }
    panic!("no FID {name} in {dir}");
}

#[test]
fn fid_naming_its_own_directory_is_a_loop() {
    for rev in [UdfRevision::V1_02, UdfRevision::V2_01, UdfRevision::V2_50] {
        let mut img = small_udf(rev);
        // /dir/inner.txt becomes a directory entry naming /dir itself.
        let dir_icb = {
            let mut r = open(img.clone());
            r.lookup(View::Udf, "/dir").unwrap().udf.unwrap().icb()
        };
        let (pos, _) = find_fid(&img, "/dir", "inner.txt");
        img[pos + 18] |= 0x02; // directory
        img[pos + 24..pos + 28].copy_from_slice(&dir_icb.1.to_le_bytes());
        let loc = tag_location(&img, pos);
        reseal(&mut img, pos, loc);
        for mut r in [open(img.clone()), strict(img.clone())] {
            let e = err(r.walk(View::Udf));
            assert_eq!(e.kind, ParseErrorKind::DirectoryLoop, "{rev:?}: {e}");
            // Reading the directory itself is fine.
            let d = r.lookup(View::Udf, "/dir").unwrap();
            let kids = r.read_dir(&d).unwrap();
            assert_eq!(kids[0].location(), d.location());
        }
        // The root naming itself.
        let mut img = small_udf(rev);
        let root_icb = open(img.clone())
            .root(View::Udf)
            .unwrap()
            .udf
            .unwrap()
            .icb();
        let (pos, _) = find_fid(&img, "/", "empty_dir");
        img[pos + 24..pos + 28].copy_from_slice(&root_icb.1.to_le_bytes());
        let loc = tag_location(&img, pos);
        reseal(&mut img, pos, loc);
        let e = err(open(img).walk(View::Udf));
        assert_eq!(e.kind, ParseErrorKind::DirectoryLoop);
    }
}

/// The position of the first allocation descriptor in the file entry at `fe`.
fn first_ad(img: &[u8], fe: u32) -> usize {
    let efe = img[at(fe, 0)] == 10 && img[at(fe, 1)] == 1; // 266
    let ea_off = if efe { 208 } else { 168 };
    let ea_len = u32::from_le_bytes(img[at(fe, ea_off)..at(fe, ea_off + 4)].try_into().unwrap());
    at(fe, ea_off + 8 + ea_len as usize)
}

#[test]
fn allocation_descriptor_beyond_the_image() {
    for rev in [UdfRevision::V1_02, UdfRevision::V2_01, UdfRevision::V2_50] {
        let mut img = small_udf(rev);
        let fe = fe_sector(&img, "/block.bin");
        let ad = first_ad(&img, fe);
        // short_ad / long_ad: the block number follows the 4-byte length.
        img[ad + 4..ad + 8].copy_from_slice(&0x7000_0000u32.to_le_bytes());
        let loc = tag_location(&img, at(fe, 0));
        reseal(&mut img, at(fe, 0), loc);
        for mut r in [open(img.clone()), strict(img.clone())] {
            // Listed (as a truncated download would be), not readable.
            let e = r.lookup(View::Udf, "/block.bin").unwrap();
            assert_eq!(e.extents[0].lba, 257 + 0x7000_0000);
            let x = err(r.read_file(&e));
            assert_eq!(x.kind, ParseErrorKind::ExtentOutOfImage, "{rev:?}");
            assert_eq!(x.lba, Some(257 + 0x7000_0000));
        }
        // A block number that does not fit 32 bits once the partition start is added.
        img[ad + 4..ad + 8].copy_from_slice(&u32::MAX.to_le_bytes());
        reseal(&mut img, at(fe, 0), loc);
        let mut r = strict(img.clone());
        let root = r.root(View::Udf).unwrap();
        assert_eq!(
            err(r.read_dir(&root)).kind,
            ParseErrorKind::ExtentOutOfImage
        );
        // Lenient: that file entry is left out, named, and the rest of the directory lists.
        assert_left_out(
            img.clone(),
            "/block.bin",
            fe,
            &["one.txt", "dir", "empty_dir"],
        );
        if rev >= UdfRevision::V2_50 {
            // A long_ad naming a partition map that does not exist.
            img[ad + 4..ad + 8].copy_from_slice(&300u32.to_le_bytes());
            img[ad + 8..ad + 10].copy_from_slice(&7u16.to_le_bytes());
            reseal(&mut img, at(fe, 0), loc);
            let mut r = strict(img.clone());
            let root = r.root(View::Udf).unwrap();
            let e = err(r.read_dir(&root));
            assert!(
                matches!(&e.kind, ParseErrorKind::BadDescriptor(m) if m.contains("partition reference 7")),
                "{e}"
            );
            assert_left_out(img, "/block.bin", fe, &["one.txt", "dir", "empty_dir"]);
        }
    }
}

#[test]
fn extent_beyond_its_partition_is_strict_only() {
    let mut img = small_udf(UdfRevision::V2_01);
    let fe = fe_sector(&img, "/block.bin");
    let ad = first_ad(&img, fe);
    // The partition ends before the closing anchor (the last sector): point the data there.
    let n = (img.len() / 2048) as u32;
    img[ad + 4..ad + 8].copy_from_slice(&(n - 1 - 257).to_le_bytes());
    let loc = tag_location(&img, at(fe, 0));
    reseal(&mut img, at(fe, 0), loc);
    let mut r = open(img.clone());
    let e = r.lookup(View::Udf, "/block.bin").unwrap();
    assert_eq!(r.read_file(&e).unwrap().len(), 2048);
    let mut r = strict(img);
    let e = r.lookup(View::Udf, "/block.bin").unwrap();
    let x = err(r.read_file(&e));
    assert!(
        matches!(&x.kind, ParseErrorKind::BadDescriptor(m) if m.contains("beyond its partition")),
        "{x}"
    );
}

#[test]
fn limits_are_enforced() {
    let img = udf_only(UdfRevision::V2_50);
    let mut r = open_with(
        img.clone(),
        Limits {
            max_entries_per_dir: 99,
            ..Limits::default()
        },
    );
    let many = r.lookup(View::Udf, "/many").unwrap();
    let e = err(r.read_dir(&many));
    assert_eq!(
        e.kind,
        ParseErrorKind::LimitExceeded("entries per directory", 99)
    );
    let mut r = open_with(
        img.clone(),
        Limits {
            max_dir_bytes: 4096,
            ..Limits::default()
        },
    );
    assert_eq!(
        err(r.walk(View::Udf)).kind,
        ParseErrorKind::LimitExceeded("directory bytes", 4096)
    );
    let mut r = open_with(
        img.clone(),
        Limits {
            max_depth: 3,
            ..Limits::default()
        },
    );
    assert_eq!(
        err(r.walk(View::Udf)).kind,
        ParseErrorKind::LimitExceeded("directory depth", 3)
    );
    let mut r = open_with(
        img.clone(),
        Limits {
            max_total_entries: 50,
            ..Limits::default()
        },
    );
    assert_eq!(
        err(r.walk(View::Udf)).kind,
        ParseErrorKind::LimitExceeded("total entries", 50)
    );
    // The metadata file's extents count against max_extents_per_file (it has one).
    let e = err(ImageReader::open_with_limits(
        Cursor::new(img),
        Limits {
            max_extents_per_file: 0,
            ..Limits::default()
        },
    ));
    assert_eq!(e.kind, ParseErrorKind::LimitExceeded("extents per file", 0));
}

#[test]
fn truncated_images() {
    let img = small_udf(UdfRevision::V2_01);
    let data_at = open(img.clone())
        .lookup(View::Udf, "/block.bin")
        .unwrap()
        .extents[0]
        .byte_offset() as usize;
    // Cut inside the file data: opens (the anchor at 256 is enough), reading fails cleanly.
    let mut r = open(img[..data_at + 1000].to_vec());
    let e = r.lookup(View::Udf, "/block.bin").unwrap();
    assert_eq!(err(r.read_file(&e)).kind, ParseErrorKind::ExtentOutOfImage);
    // Cut before the anchor: no volume at all.
    let e = err(ImageReader::open(Cursor::new(img[..200 * 2048].to_vec())));
    assert_eq!(e.kind, ParseErrorKind::ExtentOutOfImage);
    // Only the recognition sequence left.
    let e = err(ImageReader::open(Cursor::new(img[..19 * 2048].to_vec())));
    assert_eq!(e.lba, Some(256));
}

/// Random damage to every UDF structure of a small image never panics or hangs, and reading
/// stays within the image.
#[test]
fn random_damage_never_panics() {
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for rev in [UdfRevision::V1_02, UdfRevision::V2_60] {
        let good = small_udf(rev);
        let n = good.len() / 2048;
        // Sectors holding UDF structures: recognition sequence, VDS, LVID, anchors, partition
        // start (FSD, entries, directories, metadata files).
        let sectors: Vec<usize> = (16..19)
            .chain(32..38)
            .chain(48..54)
            .chain(64..66)
            .chain([256, n - 1])
            .chain(257..(257 + 48).min(n - 1))
            .collect();
        for round in 0..300 {
            let mut img = good.clone();
            let s = sectors[(next() % sectors.len() as u64) as usize];
            for _ in 0..1 + next() % 4 {
                let off = (next() % 512) as usize;
                img[s * 2048 + off] = next() as u8;
            }
            // Half the time, re-seal so that the damage gets past the CRC.
            let crc_len = u16::from_le_bytes([img[s * 2048 + 10], img[s * 2048 + 11]]);
            if round % 2 == 0
                && decode_tag(&img[s * 2048..]).is_err()
                && 16 + usize::from(crc_len) <= img.len() - s * 2048
            {
                let loc = tag_location(&img, s * 2048);
                reseal(&mut img, s * 2048, loc);
            }
            for limits in [Limits::default(), Limits::strict()] {
                let Ok(mut r) = ImageReader::open_with_limits(Cursor::new(img.clone()), limits)
                else {
                    continue;
                };
                if let Ok(all) = r.walk(View::Udf) {
                    for (_, e) in all.iter().filter(|(_, e)| !e.is_dir) {
                        if let Ok(d) = r.read_file(e) {
                            assert!(d.len() as u64 <= r.image_len());
                        }
                    }
                }
            }
        }
    }
}

/// Writer regression: a bridge image whose ISO 9660 path tables and directories do not fit
/// between the integrity sequence and the anchor at 256 had them at the partition start, where
/// the UDF block numbers (file set descriptor at block 0, file entries from block 2) pointed:
/// udfinfo said "File Set Descriptor not found" and 7-Zip refused the image.
#[test]
fn bridge_with_iso_metadata_after_the_anchor() {
    for rev in UdfRevision::ALL {
        let mut b = ImageBuilder::new();
        b.filesystems(FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::UDF)
            .build_time(t(0));
        b.options_mut().udf.revision = rev;
        // 200 directories: more than 2 x 95 sectors of ISO 9660 and Joliet directories.
        for i in 0..200 {
            b.add_bytes(&format!("/d{i:03}/f"), format!("{i}").into_bytes())
                .unwrap();
        }
        let img = render(&b);
        let mut r = strict(img.clone());
        assert_eq!(
            r.views(),
            [View::Iso9660, View::Joliet, View::Udf],
            "{rev:?}"
        );
        let all = r.walk(View::Udf).unwrap();
        assert_eq!(all.len(), 400, "{rev:?}");
        let f = r.lookup(View::Udf, "/d199/f").unwrap();
        assert_eq!(r.read_file(&f).unwrap(), b"199");
        // The partition starts with the file set descriptor, the metadata partition's first
        // block for 2.50 and 2.60 (UDF 2.2.13).
        let first = decode_tag(&img[257 * 2048..258 * 2048]).unwrap();
        assert_eq!((first.ident, first.location), (256, 0), "{rev:?}");
        // The ISO 9660 side is intact.
        let j = r.lookup(View::Joliet, "/d199/f").unwrap();
        assert_eq!(j.extents, f.extents);
        assert_eq!(r.walk(View::Iso9660).unwrap().len(), 400);
    }
}

#[test]
fn posix_attributes() {
    use glassmaster::SpecialKind;
    for rev in UdfRevision::ALL {
        let mut b = ImageBuilder::new();
        b.filesystems(FileSystems::UDF).build_time(t(0));
        b.options_mut().udf.revision = rev;
        b.options_mut().udf.links_and_special_files = true;
        b.add_bytes("/suid", &b"#!"[..]).unwrap();
        b.set_mode("/suid", 0o4750).unwrap();
        b.set_owner("/suid", 1000, 100).unwrap();
        b.set_mtime("/suid", t(77)).unwrap();
        b.add_dir("/sticky").unwrap();
        b.set_mode("/sticky", 0o3777).unwrap();
        b.add_special("/chr", SpecialKind::CharDevice, 4, 64)
            .unwrap();
        b.add_special("/blk", SpecialKind::BlockDevice, 259, 70_000)
            .unwrap();
        b.add_special("/null0", SpecialKind::CharDevice, 0, 300)
            .unwrap();
        b.add_special("/fifo", SpecialKind::Fifo, 0, 0).unwrap();
        b.add_special("/sock", SpecialKind::Socket, 0, 0).unwrap();
        let mut r = strict(render(&b));
        let get = |r: &mut Mem, p: &str| {
            let e = r.lookup(View::Udf, p).unwrap();
            (e.posix.clone().unwrap(), e)
        };
        let (p, e) = get(&mut r, "/suid");
        assert_eq!(p.mode, 0o104_750, "{rev:?}");
        assert_eq!((p.uid, p.gid, p.nlink), (1000, 100, 1));
        assert_eq!(p.mtime.map(|x| x.with_timezone(&Utc)), Some(t(77)));
        assert_eq!(p.atime, p.mtime);
        assert_eq!(p.ctime, p.mtime);
        // Creation times exist in extended file entries only (UDF 2.01 and later).
        assert_eq!(p.crtime.is_some(), rev >= UdfRevision::V2_01, "{rev:?}");
        assert_eq!(p.serial, Some(e.udf.as_ref().unwrap().unique_id() as u32));
        let (p, _) = get(&mut r, "/sticky");
        assert_eq!(p.mode, 0o043_777, "{rev:?}");
        for (path, ty, dev) in [
            ("/chr", FileType::CharDevice, Some((4, 64))),
            ("/blk", FileType::BlockDevice, Some((259, 70_000))),
            ("/null0", FileType::CharDevice, Some((0, 300))),
            ("/fifo", FileType::Fifo, None),
            ("/sock", FileType::Socket, None),
        ] {
            let (p, e) = get(&mut r, path);
            assert_eq!(p.file_type(), ty, "{rev:?} {path}");
            assert_eq!(p.device_numbers(), dev, "{rev:?} {path}");
            assert!(!e.is_dir);
            assert_eq!(e.size, 0);
            assert!(r.read_file(&e).unwrap().is_empty());
        }
        assert_eq!(r.volume_info().udf.as_ref().unwrap().files, Some(6));
    }
}

/// Virtual partitions (VAT, write-once media) are not read: a clear `Unsupported` error.
#[test]
fn mkudffs_virtual_partition_is_unsupported() {
    let Some(tool) = require_tool_path("mkudffs") else {
        return;
    };
    for (media, rev) in [("dvdr", "2.01"), ("bdr", "2.50")] {
        let bytes = mkudffs_image(
            &tool,
            &[&format!("--media-type={media}"), &format!("--udfrev={rev}")],
        );
        let e = err(ImageReader::open(Cursor::new(bytes)));
        assert!(
            matches!(&e.kind, ParseErrorKind::Unsupported(m) if m.contains("*UDF Virtual Partition")),
            "{media}: {e}"
        );
    }
}

/// Sparable partitions (UDF 2.2.9, CD-RW and DVD-RW as mkudffs formats them), also with a
/// packet moved to the spare area the way a drive replaces a bad packet.
#[test]
fn mkudffs_sparable_partitions() {
    use glassmaster::raw::udf::volume::{Anchor, LogicalVolume, Partition, PartitionMap};
    let Some(tool) = require_tool_path("mkudffs") else {
        return;
    };
    for (media, rev) in [("cdrw", "1.50"), ("dvdrw", "2.01"), ("cdrw", "2.01")] {
        let what = format!("{media} {rev}");
        let good = mkudffs_image(
            &tool,
            &[&format!("--media-type={media}"), &format!("--udfrev={rev}")],
        );
        let mut r = strict(good.clone());
        assert_eq!(r.views(), [View::Udf], "{what}");
        // UDF 1.50 (2.3.13): the space a sparable partition cannot allocate (the spare packets)
        // is described by a hidden file of the root.
        let listed = r.walk(View::Udf).unwrap();
        let nas: Vec<(&str, bool)> = listed.iter().map(|(p, e)| (p.as_str(), e.hidden)).collect();
        let (want, files) = if rev == "1.50" {
            (vec![("/Non-Allocatable Space", true)], 1)
        } else {
            (vec![], 0)
        };
        assert_eq!(nas, want, "{what}");
        let u = r.volume_info().udf.clone().unwrap();
        assert_eq!((u.files, u.dirs), (Some(files), Some(1)), "{what}");
        let root_sector = r.root(View::Udf).unwrap().location().unwrap();

        // The partition, the packet length and the sparing tables, from the main sequence.
        let sector = |s: u32| &good[at(s, 0)..at(s + 1, 0)];
        let anchor = Anchor::decode(sector(256), 256).unwrap().value;
        let (mut pd, mut lvd) = (None, None);
        for s in anchor.main.location..anchor.main.location + 16 {
            match decode_tag(sector(s)).map(|t| t.ident) {
                Ok(5) => pd = Some(Partition::decode(sector(s), s).unwrap().value),
                Ok(6) => lvd = Some(LogicalVolume::decode(sector(s), s).unwrap().value),
                _ => {}
            }
        }
        let (pd, lvd) = (pd.unwrap(), lvd.unwrap());
        let PartitionMap::Other(map) = &lvd.maps[0] else {
            panic!("{what}: not a sparable map")
        };
        let le16 = |o: usize| u16::from_le_bytes([map[o], map[o + 1]]) as u32;
        let le32 = |o: usize| u32::from_le_bytes(map[o..o + 4].try_into().unwrap());
        let packet = le16(40);
        let tables: Vec<u32> = (0..map[42] as usize).map(|i| le32(48 + 4 * i)).collect();
        let block = root_sector - pd.start;
        let original = block - block % packet;
        let mapped = u32::from_le_bytes(
            good[at(tables[0], 60)..at(tables[0], 64)]
                .try_into()
                .unwrap(),
        );

        // Move the packet holding the root (and the file set descriptor) to the first spare.
        let mut img = good.clone();
        let (from, to) = (at(pd.start + original, 0), at(mapped, 0));
        let len = packet as usize * 2048;
        let moved = img[from..from + len].to_vec();
        img[to..to + len].copy_from_slice(&moved);
        img[from..from + len].fill(0);
        let broken = img.clone();
        for &t in &tables {
            img[at(t, 56)..at(t, 60)].copy_from_slice(&original.to_le_bytes());
            reseal(&mut img, at(t, 0), t);
        }
        let mut r = strict(img.clone());
        let root = r.root(View::Udf).unwrap();
        assert_eq!(root.location(), Some(mapped + block - original), "{what}");
        assert_eq!(r.walk(View::Udf).unwrap().len(), files as usize, "{what}");
        // Without the sparing table entry, the packet is gone.
        assert!(ImageReader::open(Cursor::new(broken)).is_err(), "{what}");
        // A damaged first sparing table: the second copy is used.
        img[at(tables[0], 60)] ^= 1;
        let r = open(img);
        assert!(
            r.warnings().iter().any(|w| w.contains("sparing table")),
            "{what}: {:?}",
            r.warnings()
        );
    }
}

/// genisoimage -udf (UDF 1.02 bridge images with files): an independent writer.
#[test]
fn genisoimage_udf_images() {
    use std::process::Command;
    if !crate::common::require_tool("genisoimage") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let mut want: BTreeMap<String, Option<Vec<u8>>> = BTreeMap::new();
    let mut put = |rel: &str, data: Option<Vec<u8>>| {
        let p = src.join(rel);
        match &data {
            Some(d) => {
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(&p, d).unwrap();
            }
            None => std::fs::create_dir_all(&p).unwrap(),
        }
        want.insert(format!("/{rel}"), data);
    };
    put("a.txt", Some(b"hello".to_vec()));
    put("empty.bin", Some(Vec::new()));
    put("big.bin", Some(pattern(5, 200_000)));
    put("sub", None);
    put("sub/deeper", None);
    put("sub/deeper/x.dat", Some(pattern(6, 4096)));
    put("Ünïcødé", None);
    put("Ünïcødé/文件.txt", Some(b"wen jian".to_vec()));
    put("empty_dir", None);
    put("many", None);
    for i in 0..60 {
        put(
            &format!("many/a_rather_long_file_name_{i:02}.txt"),
            Some(pattern(i, i as usize * 100)),
        );
    }
    let img = dir.path().join("g.iso");
    let out = Command::new("genisoimage")
        .env("LC_ALL", "C.UTF-8")
        .args([
            "-quiet",
            "-udf",
            "-J",
            "-R",
            "-input-charset",
            "utf-8",
            "-o",
        ])
        .arg(&img)
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut r = strict(std::fs::read(&img).unwrap());
    assert!(r.views().contains(&View::Udf), "{:?}", r.views());
    assert_eq!(r.volume_info().udf.as_ref().unwrap().revision, 0x0102);
    let mut got = BTreeMap::new();
    for (path, e) in r.walk(View::Udf).unwrap() {
        let data = (!e.is_dir).then(|| r.read_file(&e).unwrap());
        assert!(e.mtime.is_some(), "{path}");
        got.insert(path, data);
    }
    assert_eq!(got, want);
    assert!(r.warnings().is_empty(), "{:?}", r.warnings());
}

/// Hard links repeat a file's extents in every directory listing: extents beyond an entry's
/// first count against the entry limits, so FIDs cannot multiply memory without bound.
#[test]
fn extents_of_hard_links_count_as_entries() {
    let len = 2 * 0x3FFF_F800u64 + 5; // three extents
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::UDF).build_time(t(0));
    b.add_reader("/big", len, move || {
        Ok(Box::new(std::io::repeat(0).take(len)) as Box<dyn Read + Send>)
    })
    .unwrap();
    for i in 0..5 {
        b.add_hard_link(&format!("/link{i}"), "/big").unwrap();
    }
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let limits = |per_dir, total| Limits {
        max_entries_per_dir: per_dir,
        max_total_entries: total,
        ..Limits::default()
    };
    let open = |l: Limits| ImageReader::open_with_limits(image.stream(), l).unwrap();
    // 6 names x 3 extents: a weight of 18.
    let mut r = open(limits(18, 18));
    let root = r.root(View::Udf).unwrap();
    let all = r.read_dir(&root).unwrap();
    assert_eq!(all.len(), 6);
    assert!(all.iter().all(|e| e.extents.len() == 3 && e.size == len));
    assert_eq!(r.walk(View::Udf).unwrap().len(), 6);
    let mut r = open(limits(17, 100));
    let root = r.root(View::Udf).unwrap();
    assert_eq!(
        err(r.read_dir(&root)).kind,
        ParseErrorKind::LimitExceeded("entries per directory", 17)
    );
    let mut r = open(limits(100, 17));
    assert_eq!(
        err(r.walk(View::Udf)).kind,
        ParseErrorKind::LimitExceeded("total entries", 17)
    );
    // The data reads through the stream: zeros, the last extent of 5 bytes.
    let mut r = open(Limits::default());
    let e = r.lookup(View::Udf, "/link4").unwrap();
    let mut f = r.open_file(&e).unwrap();
    f.seek(SeekFrom::Start(len - 10)).unwrap();
    let mut tail = Vec::new();
    f.read_to_end(&mut tail).unwrap();
    assert_eq!(tail, [0; 10]);
}

#[test]
fn directories_and_entries_are_charged_to_the_metadata_budget() {
    for rev in [UdfRevision::V1_02, UdfRevision::V2_60] {
        let img = udf_only(rev);
        let mut r = open(img.clone());
        let many = r.lookup(View::Udf, "/many").unwrap();
        assert_eq!(r.read_dir(&many).unwrap().len(), 100);
        let used = r.metadata_bytes_allocated();
        let floor = many.size + 100 * std::mem::size_of::<DirEntry>() as u64;
        assert!(used >= floor, "{rev:?}: {used} < {floor}");
        // A budget the directory's bytes alone exceed, then one its entries exceed.
        for budget in [many.size - 1, many.size + 1000] {
            let mut r = open_with(
                img.clone(),
                Limits {
                    max_metadata_bytes: budget,
                    ..Limits::default()
                },
            );
            let e = err(r.read_dir(&many));
            assert_eq!(
                e.kind,
                ParseErrorKind::LimitExceeded("metadata bytes", budget),
                "{rev:?}"
            );
            assert!(e.lba.is_some());
            // The walk stops as well (it reads /many).
            assert_eq!(
                err(r.walk(View::Udf)).kind,
                ParseErrorKind::LimitExceeded("metadata bytes", budget)
            );
        }
    }
}

#[test]
fn hard_links_decode_their_file_entry_once_and_keep_their_names() {
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::UDF).build_time(t(0));
    b.add_bytes("/a/target", pattern(3, 5000)).unwrap();
    for i in 0..300 {
        b.add_hard_link(&format!("/a/link{i:03}"), "/a/target")
            .unwrap();
    }
    b.set_hidden("/a/link007", true).unwrap();
    let img = render(&b);
    let mut r = open(img.clone());
    let a = r.lookup(View::Udf, "/a").unwrap();
    let kids = r.read_dir(&a).unwrap();
    assert_eq!(kids.len(), 301);
    let icb = kids[0].udf.as_ref().unwrap().icb();
    for (i, k) in kids.iter().enumerate() {
        assert_eq!(k.udf.as_ref().unwrap().icb(), icb);
        assert_eq!(k.size, 5000);
        assert!(!k.is_dir);
        assert_eq!(k.hidden, k.name == "link007", "{}", k.name);
        // In the order added: the target, then the links.
        let want = if i == 0 {
            "target".to_string()
        } else {
            format!("link{:03}", i - 1)
        };
        assert_eq!(k.name, want);
        assert_eq!(k.identifier.len(), 1 + k.name.len()); // CS0 compression ID 8
    }
    assert!(r.metadata_bytes_allocated() >= 301 * std::mem::size_of::<DirEntry>() as u64);
    // Every name reads the same bytes.
    let link = r.lookup(View::Udf, "/a/link299").unwrap();
    assert_eq!(r.read_file(&link).unwrap(), pattern(3, 5000));
}

/// UDF 2.50/2.60 (issue 19, item 7): the metadata file's one extent starts at block 0 of the
/// physical partition and is a whole number of allocation units (UDF 2.2.13), so block n of the
/// metadata partition is block n of the physical partition: a reader that ignores the metadata
/// partition map (pycdlib, tests/udf.rs) finds the file set descriptor, every file entry and
/// every directory where the map says. The metadata file's and mirror's entries follow the
/// extent, in the physical partition.
#[test]
fn metadata_partition_coincides_with_the_physical_partition() {
    use glassmaster::raw::udf::file::{FileEntry, IcbFileType};
    use glassmaster::raw::udf::metadata::metadata_to_physical;
    use glassmaster::raw::udf::volume::{Anchor, LogicalVolume, Partition, PartitionMap};
    for rev in [UdfRevision::V2_50, UdfRevision::V2_60] {
        for fs in [
            FileSystems::UDF,
            FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::UDF,
        ] {
            let what = format!("{rev:?} {fs:?}");
            // 602 file entries (three segments of 256) and 21 directories: 20 allocation units.
            let mut b = ImageBuilder::new();
            b.filesystems(fs).volume_id("META").build_time(t(0));
            b.options_mut().udf.revision = rev;
            for i in 0..20 {
                for j in 0..29 {
                    b.add_bytes(
                        &format!("/d{i:02}/f{j:02}"),
                        format!("{i}.{j}").into_bytes(),
                    )
                    .unwrap();
                }
            }
            b.add_symlink("/d00/link", "f01").unwrap();
            let img = render(&b);
            let sector = |s: u32| &img[at(s, 0)..at(s + 1, 0)];
            let anchor = Anchor::decode(sector(256), 256).unwrap().value;
            let (mut pd, mut lvd) = (None, None);
            for s in anchor.main.location..anchor.main.location + 16 {
                match decode_tag(sector(s)).map(|t| t.ident) {
                    Ok(5) => pd = Some(Partition::decode(sector(s), s).unwrap().value),
                    Ok(6) => lvd = Some(LogicalVolume::decode(sector(s), s).unwrap().value),
                    _ => {}
                }
            }
            let (pd, lvd) = (pd.unwrap(), lvd.unwrap());
            let PartitionMap::Metadata(m) = lvd.maps[1].clone() else {
                panic!("{what}: no metadata partition map")
            };
            assert_eq!(
                (m.allocation_unit_size, m.alignment_unit_size),
                (32, 32),
                "{what}"
            );
            // The metadata file and its mirror: one extent from physical block 0.
            let mut extent_blocks = 0;
            for (loc, ty) in [
                (m.metadata_file_location, IcbFileType::MetadataFile),
                (m.mirror_file_location, IcbFileType::MetadataMirror),
            ] {
                let fe = FileEntry::decode(sector(pd.start + loc), loc)
                    .unwrap()
                    .value;
                assert_eq!(fe.file_type, ty, "{what}");
                let glassmaster::raw::udf::ad::Allocation::Short(ads) = &fe.allocation else {
                    panic!("{what}: metadata file without short_ads")
                };
                assert_eq!(ads.len(), 1, "{what}");
                assert_eq!(ads[0].position, 0, "{what}: extent not at block 0");
                let blocks = ads[0].length / 2048;
                assert_eq!(ads[0].length % (32 * 2048), 0, "{what}: not whole units");
                assert!(blocks >= 64, "{what}: {blocks} blocks");
                assert!(
                    loc >= blocks,
                    "{what}: metadata file entry inside its own extent"
                );
                for n in [0, 1, blocks - 1] {
                    assert_eq!(metadata_to_physical(ads, n), Some(n), "{what}");
                }
                extent_blocks = blocks;
            }
            // The file set descriptor: block 0 of the metadata partition is physical block 0.
            assert_eq!(
                (
                    lvd.fsd_location.location.block,
                    lvd.fsd_location.location.partition
                ),
                (0, 1),
                "{what}"
            );
            let fsd = decode_tag(sector(pd.start)).unwrap();
            assert_eq!((fsd.ident, fsd.location), (256, 0), "{what}");
            // Every file entry and directory: metadata block = physical block, in the extent.
            let mut r = strict(img.clone());
            let mut seen = 0;
            let root = r.root(View::Udf).unwrap();
            let mut all = r.walk(View::Udf).unwrap();
            all.push(("/".into(), root));
            for (path, e) in &all {
                let (part, block) = e.udf.as_ref().unwrap().icb();
                assert_eq!(part, 1, "{what} {path}");
                assert_eq!(e.location(), Some(pd.start + block), "{what} {path}");
                assert!(block < extent_blocks, "{what} {path}");
                let tag = decode_tag(sector(pd.start + block)).unwrap();
                assert_eq!(tag.location, block, "{what} {path}");
                if e.is_dir {
                    for x in &e.extents {
                        let lba = (x.byte_offset() / 2048) as u32;
                        assert!(lba >= pd.start && lba < pd.start + extent_blocks, "{what}");
                    }
                }
                seen += 1;
            }
            assert_eq!(seen, 20 * 29 + 20 + 1 + 1, "{what}");
        }
    }
}
