//! Reader tests on hand-built images (see `testimg`).

use std::io::{Cursor, Read, Seek, SeekFrom};

use chrono::{FixedOffset, TimeZone};

use super::testimg::*;
use glassmaster::read::*;
use glassmaster::{ParseError, ParseErrorKind};

pub type Mem = ImageReader<Cursor<Vec<u8>>>;

pub fn open(data: Vec<u8>) -> Mem {
    match ImageReader::open(Cursor::new(data)) {
        Ok(r) => r,
        Err(e) => panic!("open failed: {e}"),
    }
}

pub fn err<T: std::fmt::Debug>(r: Result<T, ParseError>) -> ParseError {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e,
    }
}

fn names(entries: &[DirEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.name.as_str()).collect()
}

/// An image with one ISO 9660 root directory at sector 18 holding `records` (after "." and
/// ".."), PVD at 16, terminator at 17, `sectors` sectors in all.
pub fn iso_only(sectors: usize, records: Vec<Vec<u8>>) -> TestImage {
    let mut all = dots(18, 0, 18, 0);
    all.extend(records);
    let size = dir_size(&all);
    all[0] = record(18, size, DIR, &[0]);
    all[1] = record(18, size, DIR, &[1]);
    let mut img = TestImage::new(sectors);
    img.dir(18, &all);
    img.pvd(16, "ISOONLY", 18, size);
    img.terminator(17);
    img
}

#[test]
fn pvd_fields() {
    let r = open(standard());
    let info = r.volume_info();
    assert_eq!(info.volume_id, "STANDARD");
    assert_eq!(info.system_id, "TESTSYS");
    assert_eq!(info.publisher, "THE PUBLISHER");
    assert_eq!(info.preparer, "THE PREPARER");
    assert_eq!(info.application, "GLASSMASTER TESTS");
    assert_eq!(info.volume_space_blocks, 26);
    assert_eq!(info.block_size, 2048);
    let utc = FixedOffset::east_opt(0).unwrap();
    assert_eq!(
        info.creation,
        utc.with_ymd_and_hms(2024, 2, 29, 13, 45, 7).single()
    );
    let plus1 = FixedOffset::east_opt(3600).unwrap();
    assert_eq!(
        info.modification,
        plus1.with_ymd_and_hms(2024, 3, 1, 12, 0, 0).single()
    );
    assert_eq!(info.joliet_level, Some(3));
    assert_eq!(info.joliet_volume_id.as_deref(), Some("Standard Jöliet"));
    assert!(!info.has_iso1999);
    assert_eq!(r.image_len(), 26 * 2048);
}

#[test]
fn views_and_default() {
    let r = open(standard());
    assert_eq!(r.views(), vec![View::Iso9660, View::Joliet]);
    assert_eq!(r.default_view(), View::Joliet);
    assert_eq!(
        err(r.root(View::Iso1999)).kind,
        ParseErrorKind::NoSuchView("iso1999".into())
    );
    let root = r.root(View::Iso9660).unwrap();
    assert!(root.is_dir);
    assert_eq!(root.name, "/");
    assert_eq!(root.extents, vec![Extent { lba: 19, len: 2048 }]);

    let r = open(iso_only(19, vec![]).bytes());
    assert_eq!(r.views(), vec![View::Iso9660]);
    assert_eq!(r.default_view(), View::Iso9660);
    assert!(r.volume_info().joliet_level.is_none());
}

#[test]
fn view_display_and_parse() {
    for v in [View::Iso9660, View::Joliet, View::Iso1999] {
        assert_eq!(v.to_string().parse::<View>(), Ok(v));
    }
    assert_eq!("JOLIET".parse::<View>(), Ok(View::Joliet));
    assert_eq!("iso".parse::<View>(), Ok(View::Iso9660));
    assert_eq!("udf".parse::<View>(), Ok(View::Udf));
    assert!("hfs".parse::<View>().is_err());
    assert_eq!(View::Iso1999.to_string(), "iso1999");
}

#[test]
fn iso_names_and_contents() {
    let mut r = open(standard());
    let root = r.root(View::Iso9660).unwrap();
    let entries = r.read_dir(&root).unwrap();
    assert_eq!(names(&entries), ["A.TXT", "SUB"]);
    assert_eq!(entries[0].identifier, b"A.TXT;1");
    assert!(!entries[0].is_dir && entries[1].is_dir);
    assert_eq!(entries[0].size, 13);
    assert_eq!(entries[0].view, View::Iso9660);
    let utc = FixedOffset::east_opt(0).unwrap();
    assert_eq!(
        entries[0].mtime,
        utc.with_ymd_and_hms(2024, 2, 29, 13, 45, 7).single()
    );
    assert_eq!(r.read_file(&entries[0]).unwrap(), b"hello, world\n");
    let sub = r.read_dir(&entries[1]).unwrap();
    assert_eq!(names(&sub), ["B", "H.TXT"]);
    let b = r.read_file(&sub[0]).unwrap();
    assert_eq!(b.len(), 3000);
    assert!(b.iter().enumerate().all(|(i, &x)| x == (i % 251) as u8));
}

#[test]
fn joliet_unicode_names() {
    let mut r = open(standard());
    let walked = r.walk(View::Joliet).unwrap();
    let paths: Vec<&str> = walked.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        ["/a.txt", "/Süb dír", "/Süb dír/b", "/Süb dír/h.txt"]
    );
    let e = r.lookup(View::Joliet, "/Süb dír/b").unwrap();
    assert_eq!(e.identifier, ucs2_be_of("b;1"));
    assert_eq!(r.read_file(&e).unwrap().len(), 3000);
}

fn ucs2_be_of(s: &str) -> Vec<u8> {
    glassmaster::raw::text::ucs2_be(s)
}

#[test]
fn hidden_flag() {
    let mut r = open(standard());
    let h = r.lookup(View::Iso9660, "/SUB/H.TXT").unwrap();
    assert!(h.hidden);
    let h = r.lookup(View::Joliet, "/Süb dír/h.txt").unwrap();
    assert!(h.hidden);
    assert!(!r.lookup(View::Joliet, "/a.txt").unwrap().hidden);
}

#[test]
fn lookup_rules() {
    let mut r = open(standard());
    // ASCII-case-insensitive fallback.
    assert_eq!(r.lookup(View::Iso9660, "/sub/b").unwrap().name, "B");
    assert_eq!(
        r.lookup(View::Iso9660, "sub//a.txt").map(|e| e.name).ok(),
        None
    );
    assert_eq!(r.lookup(View::Iso9660, "/").unwrap().name, "/");
    assert_eq!(r.lookup(View::Iso9660, "/./A.TXT").unwrap().name, "A.TXT");
    let e = err(r.lookup(View::Iso9660, "/A.TXT/x"));
    assert_eq!(e.kind, ParseErrorKind::NotFound("/A.TXT/x".into()));
    let e = err(r.lookup(View::Joliet, "/nope"));
    assert_eq!(e.kind, ParseErrorKind::NotFound("/nope".into()));
    // Exact match wins over a case-insensitive one.
    let img = iso_only(
        21,
        vec![record(19, 1, 0, b"ABC;1"), record(20, 1, 0, b"abc;1")],
    );
    let mut r = open(img.bytes());
    assert_eq!(r.lookup(View::Iso9660, "/abc").unwrap().extents[0].lba, 20);
    assert_eq!(r.lookup(View::Iso9660, "/ABC").unwrap().extents[0].lba, 19);
    assert_eq!(r.lookup(View::Iso9660, "/Abc").unwrap().extents[0].lba, 19);
}

#[test]
fn read_dir_of_a_file_fails() {
    let mut r = open(standard());
    let f = r.lookup(View::Iso9660, "/A.TXT").unwrap();
    assert_eq!(
        err(r.read_dir(&f)).kind,
        ParseErrorKind::NotADirectory("A.TXT".into())
    );
}

/// File "BIG": 4096 bytes at 20, then 100 bytes at 25 (out of order on purpose).
fn multi_extent_image() -> Vec<u8> {
    let mut img = iso_only(
        26,
        vec![
            record(20, 4096, MULTI, b"BIG.;1"),
            record(25, 100, 0, b"BIG.;1"),
            record(22, 5, 0, b"NEXT.;1"),
        ],
    );
    img.put(20, 0, &[1u8; 4096]);
    img.put(25, 0, &[2u8; 100]);
    img.put(22, 0, b"after");
    img.bytes()
}

#[test]
fn multi_extent_merges() {
    let mut r = open(multi_extent_image());
    let root = r.root(View::Iso9660).unwrap();
    let entries = r.read_dir(&root).unwrap();
    assert_eq!(names(&entries), ["BIG", "NEXT"]);
    let big = &entries[0];
    assert_eq!(
        big.extents,
        vec![Extent { lba: 20, len: 4096 }, Extent { lba: 25, len: 100 }]
    );
    assert_eq!(big.size, 4196);
    let data = r.read_file(big).unwrap();
    assert_eq!(&data[..4096], &[1u8; 4096][..]);
    assert_eq!(&data[4096..], &[2u8; 100][..]);
    // Seek across the extent boundary.
    let mut f = r.open_file(big).unwrap();
    f.seek(SeekFrom::Start(4090)).unwrap();
    let mut buf = [0u8; 10];
    f.read_exact(&mut buf).unwrap();
    assert_eq!(buf, [1, 1, 1, 1, 1, 1, 2, 2, 2, 2]);
    assert_eq!(f.seek(SeekFrom::End(-1)).unwrap(), 4195);
    let mut rest = Vec::new();
    f.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, [2]);
    assert_eq!(f.seek(SeekFrom::Current(10)).unwrap(), 4206);
    assert_eq!(f.read(&mut buf).unwrap(), 0);
    assert!(f.seek(SeekFrom::Current(-5000)).is_err());
    drop(f);
    assert_eq!(r.read_file(&entries[1]).unwrap(), b"after");
}

#[test]
fn multi_extent_records_in_different_sectors_merge() {
    // 60 filler files push the chain across the directory's first sector boundary.
    let mut recs: Vec<Vec<u8>> = (0..60)
        .map(|i| record(20, 0, 0, format!("F{i:02}.;1").as_bytes()))
        .collect();
    recs.push(record(20, 2048, MULTI, b"CHAIN.;1"));
    recs.push(record(21, 10, MULTI, b"CHAIN.;1"));
    recs.push(record(22, 10, 0, b"CHAIN.;1"));
    let img = iso_only(24, recs);
    let mut r = open(img.bytes());
    let root = r.root(View::Iso9660).unwrap();
    assert!(root.size > 2048, "the directory should span two sectors");
    let entries = r.read_dir(&root).unwrap();
    assert_eq!(entries.len(), 61);
    let chain = &entries[60];
    assert_eq!(chain.extents.len(), 3);
    assert_eq!(chain.size, 2068);
}

#[test]
fn same_name_without_multi_extent_flag_is_not_merged() {
    let img = iso_only(
        21,
        vec![
            record(19, 1, 0, b"X.;1"),
            record(19, 1, 0, b"X.;1"),
            // A chain broken by a different name: the first part stands alone.
            record(19, 1, MULTI, b"Y.;1"),
            record(19, 1, 0, b"Z.;1"),
        ],
    );
    let mut r = open(img.bytes());
    let root = r.root(View::Iso9660).unwrap();
    let entries = r.read_dir(&root).unwrap();
    assert_eq!(names(&entries), ["X", "X", "Y", "Z"]);
    assert!(entries.iter().all(|e| e.extents.len() == 1));
}

#[test]
fn zero_length_records_skip_to_next_sector() {
    // Root spans 3 sectors: sector 1 starts with a zero byte (entirely empty), records resume
    // in sector 2 after zero padding.
    let mut img = TestImage::new(24);
    let mut recs = dots(18, 3 * 2048, 18, 3 * 2048);
    recs.push(record(23, 3, 0, b"ONE.;1"));
    img.dir(18, &recs);
    img.put(20, 0, &record(23, 3, 0, b"TWO.;1"));
    img.put(20, 100, &record(23, 3, 0, b"NOTREACHED.;1")); // after the zero padding
    img.put(23, 0, b"abc");
    img.pvd(16, "Z", 18, 3 * 2048);
    img.terminator(17);
    let mut r = open(img.bytes());
    let root = r.root(View::Iso9660).unwrap();
    let entries = r.read_dir(&root).unwrap();
    assert_eq!(names(&entries), ["ONE", "TWO"]);
}

#[test]
fn short_record_is_an_error() {
    let mut img = iso_only(20, vec![]);
    // A 20-byte "record" right after "." and ".." (34 bytes each).
    img.put(18, 68, &[20u8]);
    let mut r = open_strict(img.bytes());
    let root = r.root(View::Iso9660).unwrap();
    let e = err(r.read_dir(&root));
    assert!(
        matches!(e.kind, ParseErrorKind::BadDirectoryRecord(_)),
        "{e}"
    );
    assert_eq!((e.lba, e.offset), (Some(18), Some(68)));
    // Lenient: left out with the rest of the sector, and named.
    assert_left_out(img.bytes(), &[], "sector 18 offset 68");
}

/// A strict reader of `data`.
fn open_strict(data: Vec<u8>) -> Mem {
    match ImageReader::open_with_limits(Cursor::new(data), Limits::strict()) {
        Ok(r) => r,
        Err(e) => panic!("open failed: {e}"),
    }
}

/// Lenient reading of the root of `data` lists `names` and leaves one damaged record out,
/// named with `at` ("sector N offset M") in `left_out` and the warnings.
fn assert_left_out(data: Vec<u8>, want: &[&str], at: &str) {
    let mut r = open(data);
    let root = r.root(View::Iso9660).unwrap();
    let entries = r.read_dir(&root).unwrap();
    assert_eq!(names(&entries), want);
    assert_eq!(r.left_out().len(), 1, "{:?}", r.left_out());
    assert!(r.left_out()[0].contains(at), "{:?}", r.left_out());
    assert!(
        r.left_out()[0].starts_with("directory /:"),
        "{:?}",
        r.left_out()
    );
    // The same message among the warnings, typed: damage left out, naming the directory.
    assert!(
        r.warnings().iter().any(|w| *w == r.left_out()[0]
            && w.kind() == glassmaster::WarningKind::DamageLeftOut
            && w.path() == Some("/")),
        "{:?}",
        r.warnings()
    );
}

#[test]
fn identifier_overrunning_record_is_an_error() {
    let mut rec = record(19, 1, 0, b"ABC.;1");
    rec[32] = 200;
    let img = iso_only(20, vec![rec, record(19, 1, 0, b"NEXT.;1")]);
    let mut r = open_strict(img.bytes());
    let root = r.root(View::Iso9660).unwrap();
    let e = err(r.read_dir(&root));
    assert!(matches!(&e.kind, ParseErrorKind::BadDirectoryRecord(m) if m.contains("overruns")));
    assert_eq!((e.lba, e.offset), (Some(18), Some(68)));
    // Lenient: the record's length is sound, so only the record is left out.
    assert_left_out(img.bytes(), &["NEXT"], "sector 18 offset 68");
}

#[test]
fn record_crossing_sector_boundary_is_an_error() {
    let mut img = TestImage::new(22);
    let mut recs = dots(18, 4096, 18, 4096);
    // 58 records of 34 bytes fill the sector up to byte 2040.
    recs.extend((0..58).map(|_| record(19, 0, 0, b"X")));
    img.dir(18, &recs);
    img.put(18, 2040, &[40u8]);
    // A record in the next sector, read again after the damaged one.
    img.put(19, 0, &record(19, 0, 0, b"Y"));
    img.pvd(16, "X", 18, 4096);
    img.terminator(17);
    // (Strict mode refuses the identifiers "X" first.)
    let mut r = open_strict(img.bytes());
    let root = r.root(View::Iso9660).unwrap();
    assert_eq!(err(r.read_dir(&root)).lba, Some(18));
    let mut r = open(img.bytes());
    let root = r.root(View::Iso9660).unwrap();
    r.read_dir(&root).unwrap();
    assert!(r.left_out()[0].contains("crosses"), "{:?}", r.left_out());
    let mut want = vec!["X"; 58];
    want.push("Y");
    assert_left_out(img.bytes(), &want, "sector 18 offset 2040");
}

#[test]
fn record_overrunning_directory_is_an_error() {
    let mut img = TestImage::new(22);
    let recs = dots(18, 100, 18, 100);
    img.dir(18, &recs);
    img.put(18, 68, &record(19, 1, 0, b"OVER.;1"));
    img.pvd(16, "X", 18, 100);
    img.terminator(17);
    // (Strict mode refuses the directory's length of 100 bytes at once, ECMA-119 6.8.1.3.)
    assert!(ImageReader::open_with_limits(Cursor::new(img.bytes()), Limits::strict()).is_err());
    assert_left_out(img.bytes(), &[], "sector 18 offset 68");
    let mut r = open(img.bytes());
    let root = r.root(View::Iso9660).unwrap();
    r.read_dir(&root).unwrap();
    assert!(r.left_out()[0].contains("overruns"), "{:?}", r.left_out());
}

#[test]
fn directory_record_endian_mismatch_is_tolerated() {
    let mut rec = record(19, 5, 0, b"A.;1");
    rec[6..10].copy_from_slice(&[9, 9, 9, 9]); // big-endian location
    rec[14..18].copy_from_slice(&[0, 0, 0, 0]); // big-endian length
    let mut img = iso_only(20, vec![rec]);
    img.put(19, 0, b"12345");
    let mut r = open(img.bytes());
    let e = r.lookup(View::Iso9660, "/A").unwrap();
    assert_eq!(e.extents, vec![Extent { lba: 19, len: 5 }]);
    assert_eq!(r.read_file(&e).unwrap(), b"12345");
}

#[test]
fn pvd_endian_mismatch_and_block_size() {
    let mut img = iso_only(20, vec![]);
    img.put(16, 84, &[0, 0, 0, 99]);
    let e = err(ImageReader::open(Cursor::new(img.bytes())));
    assert_eq!(e.kind, ParseErrorKind::EndianMismatch("volume space size"));
    assert_eq!((e.lba, e.offset), (Some(16), Some(80)));

    let mut img = iso_only(20, vec![]);
    img.put(16, 130, &[0x08, 0x01]);
    let e = err(ImageReader::open(Cursor::new(img.bytes())));
    assert_eq!(e.kind, ParseErrorKind::EndianMismatch("logical block size"));

    let mut img = iso_only(20, vec![]);
    img.put(16, 128, &super::testimg::both16(512));
    let e = err(ImageReader::open(Cursor::new(img.bytes())));
    assert_eq!(e.kind, ParseErrorKind::UnsupportedBlockSize(512));
    img.put(16, 128, &super::testimg::both16(4096));
    let e = err(ImageReader::open(Cursor::new(img.bytes())));
    assert!(matches!(e.kind, ParseErrorKind::BadField(_)), "{e}");
}

#[test]
fn not_an_iso() {
    let e = err(ImageReader::open(Cursor::new(vec![0u8; 40 * 2048])));
    assert_eq!(
        (e.kind, e.lba),
        (ParseErrorKind::NoVolumeDescriptor, Some(16))
    );
    let e = err(ImageReader::open(Cursor::new(Vec::new())));
    assert_eq!((e.kind, e.lba), (ParseErrorKind::Truncated, Some(16)));
    // A Joliet descriptor and a terminator but no primary volume descriptor.
    let mut img = iso_only(20, vec![]);
    img.joliet(16, 1, "J", 18, 2048);
    let e = err(ImageReader::open(Cursor::new(img.bytes())));
    assert_eq!(e.kind, ParseErrorKind::NoVolumeDescriptor);
    // A bad standard identifier after the PVD: the set ends there in lenient mode, strict mode
    // wants a terminator.
    let mut img = iso_only(20, vec![]);
    img.put(17, 1, b"XX001");
    assert!(ImageReader::open(Cursor::new(img.bytes())).is_ok());
    let e = err(ImageReader::open_with_limits(
        Cursor::new(img.bytes()),
        Limits::strict(),
    ));
    assert_eq!(
        (e.kind, e.lba, e.offset),
        (ParseErrorKind::MissingTerminator, Some(17), Some(1))
    );
}

#[test]
fn volume_descriptor_variants() {
    // Joliet levels 1 and 2, a non-Joliet SVD, a boot record, and an enhanced descriptor.
    for (level, esc) in [(1u8, b"%/@"), (2, b"%/C"), (3, b"%/E")] {
        let mut img = TestImage::new(24);
        img.pvd(16, "V", 21, 2048);
        img.put(17, 0, &[0]);
        img.put(17, 1, b"CD001\x01EL TORITO SPECIFICATION");
        img.joliet(18, level, "J", 22, 2048);
        img.put(18, 88, esc);
        img.enhanced(19, 23, 2048);
        img.terminator(20);
        img.dir(21, &dots(21, 2048, 21, 2048));
        img.dir(22, &dots(22, 2048, 22, 2048));
        let mut recs = dots(23, 2048, 23, 2048);
        recs.push(record(21, 0, 0, "fïle name;1".as_bytes()));
        img.dir(23, &recs);
        let mut r = open(img.bytes());
        assert_eq!(r.volume_info().joliet_level, Some(level));
        assert!(r.volume_info().has_iso1999);
        assert_eq!(r.views(), vec![View::Iso9660, View::Joliet, View::Iso1999]);
        let w = r.walk(View::Iso1999).unwrap();
        assert_eq!(w[0].0, "/fïle name");
    }
    // A supplementary descriptor that is not Joliet is ignored.
    let mut img = TestImage::new(21);
    img.pvd(16, "V", 19, 2048);
    img.joliet(17, 1, "J", 19, 2048);
    img.put(17, 88, b"\0\0\0");
    img.terminator(18);
    img.dir(19, &dots(19, 2048, 19, 2048));
    let r = open(img.bytes());
    assert_eq!(r.views(), vec![View::Iso9660]);
    assert_eq!(r.default_view(), View::Iso9660);

    // Only the enhanced descriptor: it becomes the default view.
    let mut img = TestImage::new(21);
    img.pvd(16, "V", 19, 2048);
    img.enhanced(17, 19, 2048);
    img.terminator(18);
    img.dir(19, &dots(19, 2048, 19, 2048));
    assert_eq!(open(img.bytes()).default_view(), View::Iso1999);
}

#[test]
fn root_record_identifier_is_not_needed() {
    let mut img = iso_only(20, vec![record(19, 3, 0, b"F.;1")]);
    img.put(16, 156 + 32, &[0]);
    let mut r = open(img.bytes());
    assert!(r.root(View::Iso9660).unwrap().identifier.is_empty());
    assert_eq!(r.walk(View::Iso9660).unwrap().len(), 1);
}

#[test]
fn bad_root_record() {
    let mut img = iso_only(20, vec![]);
    img.put(16, 156, &[10]);
    let e = err(ImageReader::open(Cursor::new(img.bytes())));
    assert!(matches!(e.kind, ParseErrorKind::BadDirectoryRecord(_)));
    assert_eq!((e.lba, e.offset), (Some(16), Some(156)));
}

#[test]
fn extents_outside_the_image() {
    let img = iso_only(
        20,
        vec![
            record(50, 10, 0, b"FAR.;1"),
            record(19, 2049, 0, b"LONG.;1"),
        ],
    );
    let mut r = open(img.bytes());
    let far = r.lookup(View::Iso9660, "/FAR").unwrap();
    let e = err(r.read_file(&far));
    assert_eq!(
        (e.kind, e.lba),
        (ParseErrorKind::ExtentOutOfImage, Some(50))
    );
    let long = r.lookup(View::Iso9660, "/LONG").unwrap();
    assert_eq!(
        err(r.read_file(&long)).kind,
        ParseErrorKind::ExtentOutOfImage
    );
    // A directory outside the image.
    let img = iso_only(20, vec![record(4_000_000, 2048, DIR, b"D")]);
    let mut r = open(img.bytes());
    let e = err(r.walk(View::Iso9660));
    assert_eq!(
        (e.kind, e.lba),
        (ParseErrorKind::ExtentOutOfImage, Some(4_000_000))
    );
    // Empty files may point anywhere.
    let img = iso_only(20, vec![record(u32::MAX, 0, 0, b"EMPTY.;1")]);
    let mut r = open(img.bytes());
    let empty = r.lookup(View::Iso9660, "/EMPTY").unwrap();
    assert_eq!(r.read_file(&empty).unwrap(), b"");
}

#[test]
fn entry_size_beyond_its_extents() {
    let mut r = open(standard());
    let mut e = r.lookup(View::Iso9660, "/A.TXT").unwrap();
    e.size = 5000;
    assert_eq!(
        err(r.read_file(&e)).kind,
        ParseErrorKind::BadSize("file size (more than its extents hold)", 5000)
    );
    // Overlapping extents larger than the image.
    e.extents = vec![
        Extent {
            lba: 0,
            len: 26 * 2048
        };
        2
    ];
    e.size = 2 * 26 * 2048;
    assert_eq!(
        err(r.read_file(&e)).kind,
        ParseErrorKind::OverlappingExtents
    );
    // A smaller size than the extents reads only `size` bytes.
    e.extents = vec![Extent { lba: 23, len: 13 }];
    e.size = 5;
    assert_eq!(r.read_file(&e).unwrap(), b"hello");
}

/// `XAR` has a one-block extended attribute record; `INTER` is interleaved (unit 1, gap 1).
fn xar_interleave_image() -> Vec<u8> {
    let mut xar = record(20, 5, 0, b"XAR.;1");
    xar[1] = 1; // one block of extended attribute record before the data
    let mut inter = record(22, 5000, 0, b"INTER.;1");
    inter[26] = 1; // file unit: 1 block
    inter[27] = 1; // gap: 1 block
    let mut img = iso_only(28, vec![xar, inter]);
    img.put(21, 0, b"after");
    img.put(22, 0, &[1u8; 2048]);
    img.put(23, 0, &[9u8; 2048]);
    img.put(24, 0, &[2u8; 2048]);
    img.put(25, 0, &[9u8; 2048]);
    img.put(26, 0, &[3u8; 904]);
    img.bytes()
}

#[test]
fn extended_attribute_record_and_interleaving() {
    let mut r = open(xar_interleave_image());
    let x = r.lookup(View::Iso9660, "/XAR").unwrap();
    assert_eq!(x.extents, vec![Extent { lba: 21, len: 5 }]);
    assert_eq!(r.read_file(&x).unwrap(), b"after");
    let i = r.lookup(View::Iso9660, "/INTER").unwrap();
    assert_eq!(
        i.extents.iter().map(|e| e.lba).collect::<Vec<_>>(),
        [22, 24, 26]
    );
    assert_eq!(i.size, 5000);
    let data = r.read_file(&i).unwrap();
    assert!(data[..2048].iter().all(|&b| b == 1));
    assert!(data[2048..4096].iter().all(|&b| b == 2));
    assert!(data[4096..].iter().all(|&b| b == 3));
}

/// SUB (at 19) contains a directory record pointing back at the root (18).
fn loop_image() -> Vec<u8> {
    let mut img = iso_only(21, vec![record(19, 2048, DIR, b"SUB")]);
    let mut sub = dots(19, 2048, 18, 2048);
    sub.push(record(18, 2048, DIR, b"BACK"));
    img.dir(19, &sub);
    img.bytes()
}

#[test]
fn directory_loops_are_detected() {
    let mut r = open(loop_image());
    let e = err(r.walk(View::Iso9660));
    assert_eq!((e.kind, e.lba), (ParseErrorKind::DirectoryLoop, Some(18)));
    // A directory containing itself.
    let mut img = iso_only(21, vec![record(19, 2048, DIR, b"SELF")]);
    let mut selfdir = dots(19, 2048, 18, 2048);
    selfdir.push(record(19, 2048, DIR, b"AGAIN"));
    img.dir(19, &selfdir);
    let mut r = open(img.bytes());
    assert_eq!(
        err(r.walk(View::Iso9660)).kind,
        ParseErrorKind::DirectoryLoop
    );
    // Two names for one directory (a DAG) are refused too: it would multiply the walk.
    let mut img = iso_only(
        21,
        vec![record(19, 2048, DIR, b"D1"), record(19, 2048, DIR, b"D2")],
    );
    img.dir(19, &dots(19, 2048, 18, 2048));
    let mut r = open(img.bytes());
    assert_eq!(
        err(r.walk(View::Iso9660)).kind,
        ParseErrorKind::DirectoryLoop
    );
    // Lookups through a loop terminate (the path is finite).
    let mut r = open(loop_image());
    assert_eq!(
        r.lookup(View::Iso9660, "/SUB/BACK/SUB/BACK/SUB")
            .unwrap()
            .name,
        "SUB"
    );
}

#[test]
fn walk_order_is_depth_first() {
    let mut img = iso_only(
        24,
        vec![
            record(19, 2048, DIR, b"A"),
            record(22, 1, 0, b"B.;1"),
            record(20, 2048, DIR, b"C"),
        ],
    );
    let mut a = dots(19, 2048, 18, 2048);
    a.push(record(21, 2048, DIR, b"AA"));
    a.push(record(22, 1, 0, b"AB.;1"));
    img.dir(19, &a);
    img.dir(20, &dots(20, 2048, 18, 2048));
    let mut aa = dots(21, 2048, 19, 2048);
    aa.push(record(22, 1, 0, b"AAA.;1"));
    img.dir(21, &aa);
    let mut r = open(img.bytes());
    let paths: Vec<String> = r
        .walk(View::Iso9660)
        .unwrap()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(paths, ["/A", "/A/AA", "/A/AA/AAA", "/A/AB", "/B", "/C"]);
}

#[test]
fn truncated_images_never_panic() {
    let full = standard();
    for cut in (0..full.len())
        .step_by(509)
        .chain((0..=26).map(|s| s * 2048))
    {
        let data = full[..cut.min(full.len())].to_vec();
        let Ok(mut r) = ImageReader::open(Cursor::new(data)) else {
            continue;
        };
        for v in r.views() {
            if let Ok(entries) = r.walk(v) {
                for (_, e) in entries.iter().filter(|(_, e)| !e.is_dir) {
                    let _ = r.read_file(e);
                }
            }
        }
    }
    // Cut inside the volume descriptor set.
    let e = err(ImageReader::open(Cursor::new(full[..17 * 2048].to_vec())));
    assert_eq!((e.kind, e.lba), (ParseErrorKind::Truncated, Some(17)));
    // Cut after the directories: listing works, file data is out of the image.
    let mut r = open(full[..23 * 2048].to_vec());
    assert_eq!(r.walk(View::Joliet).unwrap().len(), 4);
    let a = r.lookup(View::Joliet, "/a.txt").unwrap();
    assert_eq!(err(r.read_file(&a)).kind, ParseErrorKind::ExtentOutOfImage);
    // Cut in the middle of the file data.
    let mut r = open(full[..24 * 2048 + 100].to_vec());
    let b = r.lookup(View::Iso9660, "/SUB/B").unwrap();
    assert_eq!(err(r.read_file(&b)).kind, ParseErrorKind::ExtentOutOfImage);
}

/// A reader that fails with `UnexpectedEof` after `limit` bytes, though its length says more:
/// the file reader must report it, not loop or panic.
struct ShortReader {
    inner: Cursor<Vec<u8>>,
    limit: u64,
}

impl Read for ShortReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let pos = self.inner.position();
        if pos >= self.limit {
            return Ok(0);
        }
        let n = buf.len().min((self.limit - pos) as usize);
        self.inner.read(&mut buf[..n])
    }
}

impl Seek for ShortReader {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

#[test]
fn reader_shorter_than_its_length() {
    let data = standard();
    let mut r = ImageReader::open(ShortReader {
        inner: Cursor::new(data),
        limit: 24 * 2048 + 10,
    })
    .unwrap();
    let b = r.lookup(View::Iso9660, "/SUB/B").unwrap();
    let e = err(r.read_file(&b));
    assert_eq!((e.kind, e.lba), (ParseErrorKind::Truncated, Some(24)));
    let mut r = ImageReader::open(ShortReader {
        inner: Cursor::new(standard()),
        limit: 20 * 2048,
    })
    .unwrap();
    let e = err(r.walk(View::Joliet));
    assert_eq!((e.kind, e.lba), (ParseErrorKind::Truncated, Some(20)));
}

#[test]
fn into_inner_returns_the_reader() {
    let data = standard();
    let r = open(data.clone());
    assert_eq!(r.into_inner().into_inner(), data);
}

/// With `GLASSMASTER_FUZZ_SEEDS=<dir>`, writes the hand-built images as fuzz seeds (see
/// fuzz/README.md); otherwise does nothing.
#[test]
fn write_fuzz_seeds() {
    let Some(dir) = std::env::var_os("GLASSMASTER_FUZZ_SEEDS") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let seeds = [
        ("handmade-standard.iso", standard()),
        ("handmade-multi-extent.iso", multi_extent_image()),
        ("handmade-xar-interleave.iso", xar_interleave_image()),
        ("handmade-loop.iso", loop_image()),
    ];
    for (name, data) in seeds {
        std::fs::write(dir.join(name), data).unwrap();
    }
}
