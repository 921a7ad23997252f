//! Rock Ridge reader tests on hand-built images: SUSP entries, continuation areas (and their
//! hostile variants), RRIP entries and relocation.

use std::io::Cursor;

use super::basic::{err, open};
use super::testimg::both32;
use super::testimg::*;
use glassmaster::read::*;
use glassmaster::{ParseError, ParseErrorKind};

/// A SUSP entry (SUSP 4.1): signature, length, version 1, data.
fn entry(sig: &[u8; 2], data: &[u8]) -> Vec<u8> {
    assert!(data.len() + 4 <= 255);
    let mut e = vec![sig[0], sig[1], (data.len() + 4) as u8, 1];
    e.extend_from_slice(data);
    e
}

/// SUSP 5.3 `SP` with `skip` bytes to skip.
fn sp(skip: u8) -> Vec<u8> {
    entry(b"SP", &[0xBE, 0xEF, skip])
}

/// SUSP 5.5 `ER` naming `id`.
fn er(id: &str) -> Vec<u8> {
    let (des, src) = (b"DESC", b"SRC");
    let mut d = vec![id.len() as u8, des.len() as u8, src.len() as u8, 1];
    d.extend_from_slice(id.as_bytes());
    d.extend_from_slice(des);
    d.extend_from_slice(src);
    entry(b"ER", &d)
}

/// SUSP 5.1 `CE`.
fn ce(block: u32, offset: u32, len: u32) -> Vec<u8> {
    let mut d = Vec::new();
    for v in [block, offset, len] {
        d.extend_from_slice(&both32(v));
    }
    entry(b"CE", &d)
}

/// RRIP 4.1.1 `PX`: 36 bytes without serial (1.10), 44 with (1.12).
fn px(mode: u32, nlink: u32, uid: u32, gid: u32, serial: Option<u32>) -> Vec<u8> {
    let mut d = Vec::new();
    for v in [mode, nlink, uid, gid].into_iter().chain(serial) {
        d.extend_from_slice(&both32(v));
    }
    entry(b"PX", &d)
}

/// RRIP 4.1.4 `NM`.
fn nm(flags: u8, name: &[u8]) -> Vec<u8> {
    let mut d = vec![flags];
    d.extend_from_slice(name);
    entry(b"NM", &d)
}

/// RRIP 4.1.3 `SL` with component records (flags, content).
fn sl(flags: u8, comps: &[(u8, &[u8])]) -> Vec<u8> {
    let mut d = vec![flags];
    for (f, c) in comps {
        d.push(*f);
        d.push(c.len() as u8);
        d.extend_from_slice(c);
    }
    entry(b"SL", &d)
}

/// RRIP 4.1.5.1 `CL`.
fn cl(lba: u32) -> Vec<u8> {
    entry(b"CL", &both32(lba))
}

/// RRIP 4.1.5.3 `RE`.
fn re() -> Vec<u8> {
    entry(b"RE", &[])
}

/// RRIP 4.1.6 `TF` with only a short-form modification time.
fn tf_mtime(date: [u8; 7]) -> Vec<u8> {
    let mut d = vec![0x02];
    d.extend_from_slice(&date);
    entry(b"TF", &d)
}

/// A directory record (see `testimg::record`) with system use field `su`.
fn su_record(lba: u32, len: u32, flags: u8, id: &[u8], su: &[u8]) -> Vec<u8> {
    let mut r = record(lba, len, flags, id);
    r.extend_from_slice(su);
    if r.len() % 2 == 1 {
        r.push(0);
    }
    assert!(r.len() <= 255, "record of {} bytes", r.len());
    r[0] = r.len() as u8;
    r
}

const FILE_MODE: u32 = 0o100_644;
const DIR_MODE: u32 = 0o040_755;

/// The root "." system use field of a Rock Ridge image.
fn root_su(skip: u8) -> Vec<u8> {
    let mut su = sp(skip);
    su.extend(px(DIR_MODE, 3, 0, 0, None));
    su.extend(er("RRIP_1991A"));
    su
}

/// An image of `sectors` sectors: PVD at 16, terminator at 17, root directory at 18 (one
/// sector) with "." carrying `dot_su` and then `children`.
fn rr_image(sectors: usize, dot_su: &[u8], children: Vec<Vec<u8>>) -> TestImage {
    let mut img = TestImage::new(sectors);
    let mut recs = vec![
        su_record(18, 2048, DIR, &[0], dot_su),
        record(18, 2048, DIR, &[1]),
    ];
    recs.extend(children);
    img.dir(18, &recs);
    img.pvd(16, "RRTEST", 18, 2048);
    img.terminator(17);
    img
}

/// A one-sector directory at `lba` with parent `parent`, "." carrying `dot_su`.
fn rr_dir(img: &mut TestImage, lba: u32, parent: u32, dot_su: &[u8], children: Vec<Vec<u8>>) {
    let mut recs = vec![
        su_record(lba, 2048, DIR, &[0], dot_su),
        record(parent, 2048, DIR, &[1]),
    ];
    recs.extend(children);
    img.dir(lba, &recs);
}

fn open_limits(data: Vec<u8>, limits: Limits) -> ImageReader<Cursor<Vec<u8>>> {
    ImageReader::open_with_limits(Cursor::new(data), limits).unwrap()
}

fn rr_root_entries(r: &mut ImageReader<Cursor<Vec<u8>>>) -> Result<Vec<DirEntry>, ParseError> {
    let root = r.root(View::RockRidge)?;
    r.read_dir(&root)
}

#[test]
fn detection_and_extension_ids() {
    for id in ["RRIP_1991A", "IEEE_P1282", "IEEE_1282"] {
        let mut su = sp(0);
        su.extend(er(id));
        let r = open(rr_image(20, &su, vec![]).bytes());
        assert_eq!(r.volume_info().rock_ridge.as_deref(), Some(id));
        assert_eq!(r.default_view(), View::RockRidge);
        assert_eq!(r.views(), vec![View::Iso9660, View::RockRidge]);
    }
    // Another extension only, with RRIP entries: inferred.
    let mut su = sp(0);
    su.extend(er("AAIP_0200"));
    su.extend(px(DIR_MODE, 2, 0, 0, None));
    let r = open(rr_image(20, &su, vec![]).bytes());
    assert_eq!(r.volume_info().rock_ridge.as_deref(), Some("RRIP_1991A"));
    // RRIP 1.09 without ER, with its RR entry.
    let mut su = sp(0);
    su.extend(entry(b"RR", &[0x81]));
    su.extend(px(DIR_MODE, 2, 0, 0, None));
    let r = open(rr_image(20, &su, vec![]).bytes());
    assert_eq!(r.volume_info().rock_ridge.as_deref(), Some("1.09"));
    // SUSP without Rock Ridge; Rock Ridge entries without SP.
    for su in [sp(0), px(DIR_MODE, 2, 0, 0, None), vec![]] {
        let r = open(rr_image(20, &su, vec![]).bytes());
        assert_eq!(r.volume_info().rock_ridge, None);
        assert_eq!(r.views(), vec![View::Iso9660]);
        assert_eq!(r.default_view(), View::Iso9660);
    }
    // SP with bad check bytes.
    let mut su = entry(b"SP", &[0xBE, 0xEE, 0]);
    su.extend(er("RRIP_1991A"));
    assert_eq!(
        open(rr_image(20, &su, vec![]).bytes())
            .volume_info()
            .rock_ridge,
        None
    );
    // CD-XA: 14 bytes of XA information before SP on the root "." record, and LEN_SKP 14
    // for the other records.
    let mut su = vec![0, 0, 0, 0, 0x8D, 0x55, b'X', b'A', 0, 0, 0, 0, 0, 0];
    su.extend(sp(14));
    su.extend(er("RRIP_1991A"));
    let mut child = vec![0, 0, 0, 0, 0x0D, 0x55, b'X', b'A', 1, 0, 0, 0, 0, 0];
    child.extend(nm(0, b"xa-file"));
    let mut r = open(rr_image(20, &su, vec![su_record(19, 0, 0, b"XA.;1", &child)]).bytes());
    assert_eq!(r.volume_info().rock_ridge.as_deref(), Some("RRIP_1991A"));
    assert_eq!(rr_root_entries(&mut r).unwrap()[0].name, "xa-file");
    // ER found through a continuation area of the root's "." record.
    let mut su = sp(0);
    su.extend(ce(19, 100, 40));
    let mut img = rr_image(20, &su, vec![]);
    img.put(19, 100, &er("IEEE_P1282"));
    let r = open(img.bytes());
    assert_eq!(r.volume_info().rock_ridge.as_deref(), Some("IEEE_P1282"));
}

#[test]
fn view_names_parse_and_display() {
    assert_eq!(View::RockRidge.to_string(), "rockridge");
    for s in ["rockridge", "RR", "Rock-Ridge"] {
        assert_eq!(s.parse::<View>(), Ok(View::RockRidge));
    }
}

#[test]
fn names_attributes_and_root() {
    let mut file_su = nm(0, "résumé.txt".as_bytes());
    file_su.extend(px(FILE_MODE, 1, 1000, 100, None));
    file_su.extend(tf_mtime([70, 1, 1, 0, 0, 1, 0]));
    let mut dir_su = nm(0, b"Sub Dir");
    dir_su.extend(px(DIR_MODE, 2, 0, 0, Some(42)));
    let mut img = rr_image(
        22,
        &root_su(0),
        vec![
            su_record(21, 5, 0, b"RESUME.TXT;1", &file_su),
            su_record(19, 2048, DIR, b"SUB_DIR", &dir_su),
            // No NM: the ISO 9660 name stays.
            su_record(21, 5, 0, b"PLAIN.;1", &px(FILE_MODE, 1, 0, 0, None)),
        ],
    );
    rr_dir(&mut img, 19, 18, &px(DIR_MODE, 2, 0, 0, Some(42)), vec![]);
    img.put(21, 0, b"hello");
    let mut r = open(img.bytes());
    let root = r.root(View::RockRidge).unwrap();
    assert_eq!(root.view, View::RockRidge);
    assert_eq!(root.posix.as_ref().unwrap().mode, DIR_MODE);
    let entries = r.read_dir(&root).unwrap();
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["résumé.txt", "Sub Dir", "PLAIN"]);
    let f = &entries[0];
    let p = f.posix.as_ref().unwrap();
    assert_eq!((p.mode, p.nlink, p.uid, p.gid), (FILE_MODE, 1, 1000, 100));
    assert_eq!(p.serial, None, "36-byte PX (RRIP 1.10)");
    assert_eq!(p.file_type(), FileType::Regular);
    assert_eq!(f.mtime.unwrap().timestamp(), 1);
    assert_eq!(f.rr_name.as_deref(), Some("résumé.txt".as_bytes()));
    assert_eq!(r.read_file(f).unwrap(), b"hello");
    let d = &entries[1];
    assert_eq!(d.posix.as_ref().unwrap().serial, Some(42), "44-byte PX");
    assert_eq!(d.posix.as_ref().unwrap().file_type(), FileType::Directory);
    // Without TF, the recording date stays.
    assert_eq!(entries[2].mtime, d.mtime);
    assert_eq!(
        r.lookup(View::RockRidge, "/Sub Dir").unwrap().extents,
        d.extents
    );
    // The ISO 9660 view keeps ISO names, with the same attributes.
    let iso_root = r.root(View::Iso9660).unwrap();
    let iso = r.read_dir(&iso_root).unwrap();
    assert_eq!(iso[0].name, "RESUME.TXT");
    assert_eq!(iso[0].posix, f.posix);
    assert_eq!(iso[0].rr_name, f.rr_name);
    assert_eq!(iso[0].view, View::Iso9660);
}

#[test]
fn tf_long_form_and_order() {
    // creation | modify | access | attributes, long form.
    let mut d = vec![0x80 | 0x0F];
    d.extend_from_slice(b"1901010100000000\x00");
    d.extend_from_slice(b"2106020706281500\x00");
    d.extend_from_slice(b"1969123123595900\x00");
    d.extend_from_slice(b"2038011903140800\xF0"); // -4 hours
    let mut su = px(FILE_MODE, 1, 0, 0, None);
    su.extend(entry(b"TF", &d));
    let img = rr_image(20, &root_su(0), vec![su_record(19, 0, 0, b"T.;1", &su)]);
    let mut r = open(img.bytes());
    let e = rr_root_entries(&mut r).unwrap().remove(0);
    let p = e.posix.unwrap();
    assert_eq!(p.crtime.unwrap().to_rfc3339(), "1901-01-01T00:00:00+00:00");
    assert_eq!(p.mtime.unwrap().to_rfc3339(), "2106-02-07T06:28:15+00:00");
    assert_eq!(p.atime.unwrap().to_rfc3339(), "1969-12-31T23:59:59+00:00");
    assert_eq!(p.ctime.unwrap().to_rfc3339(), "2038-01-19T03:14:08-04:00");
    assert_eq!(e.mtime, p.mtime);
}

#[test]
fn sp_skip_bytes() {
    // LEN_SKP 3: every system use field but the root "." one starts with 3 bytes to skip.
    let mut su = vec![0xAA, 0xBB, 0xCC];
    su.extend(nm(0, b"skipped.txt"));
    su.extend(px(FILE_MODE, 1, 7, 8, None));
    // In a continuation area nothing is skipped.
    let mut su2 = vec![0, 0, 0];
    su2.extend(ce(20, 0, 24));
    let mut img = rr_image(
        21,
        &root_su(3),
        vec![
            su_record(19, 0, 0, b"SKIPPED.TXT;1", &su),
            su_record(19, 0, 0, b"CE.;1", &su2),
        ],
    );
    img.put(20, 0, &nm(0, b"from-ce"));
    let mut r = open(img.bytes());
    let e = rr_root_entries(&mut r).unwrap();
    assert_eq!(e[0].name, "skipped.txt");
    assert_eq!(e[0].posix.as_ref().unwrap().uid, 7);
    assert_eq!(e[1].name, "from-ce");
}

#[test]
fn nm_and_sl_continue_across_entries_and_continuation_areas() {
    // NM: two entries in the record, the end in a continuation area.
    let mut su = nm(1, b"first-");
    su.extend(nm(1, b"second-"));
    su.extend(px(FILE_MODE, 1, 0, 0, None));
    su.extend(ce(20, 0, 100));
    // SL: ROOT, "usr", then "li" continued by "b" in the continuation area (component CONTINUE
    // and entry CONTINUE), then PARENT and "x".
    let mut link = px(0o120_777, 1, 0, 0, None);
    link.extend(nm(0, b"link"));
    link.extend(sl(1, &[(8, b""), (0, b"usr"), (1, b"li")]));
    link.extend(ce(20, 200, 100));
    let mut img = rr_image(
        21,
        &root_su(0),
        vec![
            su_record(19, 0, 0, b"NAME.;1", &su),
            su_record(19, 0, 0, b"LINK.;1", &link),
        ],
    );
    let mut area = nm(0, b"third");
    area.extend(nm(0, b"-ignored: the name had ended"));
    img.put(20, 0, &area);
    let mut area = sl(1, &[(0, b"b")]);
    area.extend(sl(0, &[(4, b""), (0, b"x")]));
    area.extend(sl(0, &[(0, b"ignored")]));
    img.put(20, 200, &area);
    let mut r = open(img.bytes());
    let e = rr_root_entries(&mut r).unwrap();
    assert_eq!(e[0].name, "first-second-third");
    let p = e[1].posix.as_ref().unwrap();
    assert_eq!(p.file_type(), FileType::Symlink);
    assert_eq!(p.symlink_lossy().as_deref(), Some("/usr/lib/../x"));
}

#[test]
fn symlink_of_4000_bytes_through_chained_continuation_areas() {
    // 20 components of 199 bytes, one SL entry each, 9 per area: 3 chained areas.
    let comps: Vec<Vec<u8>> = (0..20).map(|i| vec![b'a' + i as u8; 199]).collect();
    let want = comps
        .iter()
        .map(|c| String::from_utf8(c.clone()).unwrap())
        .collect::<Vec<_>>()
        .join("/");
    assert_eq!(want.len(), 3999);
    let mut su = px(0o120_777, 1, 0, 0, None);
    su.extend(nm(0, b"long"));
    su.extend(ce(20, 0, 2048));
    let mut img = rr_image(24, &root_su(0), vec![su_record(19, 0, 0, b"LONG.;1", &su)]);
    for (area, chunk) in comps.chunks(9).enumerate() {
        let mut bytes = Vec::new();
        for (i, c) in chunk.iter().enumerate() {
            let last = area == 2 && i == chunk.len() - 1;
            bytes.extend(sl(u8::from(!last), &[(0, c)]));
        }
        if area < 2 {
            bytes.extend(ce(21 + area as u32, 0, 2048));
        }
        assert!(bytes.len() <= 2048);
        img.put(20 + area as u32, 0, &bytes);
    }
    let mut r = open(img.bytes());
    let e = rr_root_entries(&mut r).unwrap().remove(0);
    assert_eq!(e.posix.unwrap().symlink_lossy().as_deref(), Some(&want[..]));
    // The same with too few continuation areas allowed.
    let limits = Limits {
        max_ce_chain: 2,
        ..Limits::default()
    };
    let mut r = open_limits(img.bytes(), limits);
    let e = err(rr_root_entries(&mut r));
    assert_eq!(
        (e.kind, e.lba),
        (
            ParseErrorKind::LimitExceeded("continuation areas", 2),
            Some(18)
        )
    );
    // ... or too few bytes.
    let limits = Limits {
        max_su_bytes_per_entry: 4096,
        ..Limits::default()
    };
    let mut r = open_limits(img.bytes(), limits);
    assert_eq!(
        err(rr_root_entries(&mut r)).kind,
        ParseErrorKind::LimitExceeded("system use bytes per entry", 4096)
    );
}

#[test]
fn continuation_loops_are_errors() {
    // A CE pointing at its own area, and two areas pointing at each other.
    for (first, second) in [((20u32, 0u32), (20u32, 0u32)), ((20, 0), (20, 64))] {
        let mut su = px(FILE_MODE, 1, 0, 0, None);
        su.extend(ce(20, 0, 28));
        let mut img = rr_image(21, &root_su(0), vec![su_record(19, 0, 0, b"LOOP.;1", &su)]);
        img.put(20, first.1 as usize, &ce(second.0, second.1, 28));
        img.put(20, second.1 as usize, &ce(first.0, first.1, 28));
        let mut r = open(img.bytes());
        let e = err(rr_root_entries(&mut r));
        assert!(
            matches!(e.kind, ParseErrorKind::BadSystemUse(ref m) if m.contains("loop")),
            "{e}"
        );
        assert_eq!(e.lba, Some(20));
        // The ISO 9660 view stays readable, without the attributes of that record.
        let root = r.root(View::Iso9660).unwrap();
        let iso = r.read_dir(&root).unwrap();
        assert_eq!(iso.len(), 1);
        assert_eq!(iso[0].posix, None);
        // The walk fails the same way in the Rock Ridge view, and does not hang.
        assert!(r.walk(View::RockRidge).is_err());
    }
}

#[test]
fn continuation_outside_the_image() {
    for (block, offset, len) in [(21, 0, 10), (20, 2040, 10), (u32::MAX, u32::MAX, u32::MAX)] {
        let mut su = px(FILE_MODE, 1, 0, 0, None);
        su.extend(ce(block, offset, len));
        let img = rr_image(21, &root_su(0), vec![su_record(19, 0, 0, b"OUT.;1", &su)]);
        let limits = Limits {
            max_su_bytes_per_entry: usize::MAX,
            ..Limits::default()
        };
        let mut r = open_limits(img.bytes(), limits);
        let e = err(rr_root_entries(&mut r));
        assert_eq!(
            (e.kind, e.lba),
            (ParseErrorKind::ExtentOutOfImage, Some(u64::from(block)))
        );
    }
    // A zero-length continuation is nothing to read.
    let mut su = px(FILE_MODE, 1, 0, 0, None);
    su.extend(ce(99, 0, 0));
    let img = rr_image(21, &root_su(0), vec![su_record(19, 0, 0, b"ZERO.;1", &su)]);
    let mut r = open(img.bytes());
    assert_eq!(rr_root_entries(&mut r).unwrap().len(), 1);
}

#[test]
fn st_unknown_entries_and_padding() {
    let mut su = entry(b"ZZ", b"unknown entry");
    su.extend(entry(b"PD", &[0; 6]));
    su.extend(nm(0, b"kept"));
    su.extend(px(FILE_MODE, 1, 0, 0, None));
    su.extend(entry(b"ST", &[]));
    su.extend(nm(0, b"after-st"));
    su.extend(re());
    let mut bad = nm(0, b"short-px");
    bad.extend(entry(b"PX", &[1, 2, 3])); // too short: ignored
    bad.extend_from_slice(&[b'X', b'X', 2, 1]); // length below 4: ends the field
    bad.extend(re());
    let img = rr_image(
        20,
        &root_su(0),
        vec![
            su_record(19, 0, 0, b"A.;1", &su),
            su_record(19, 0, 0, b"B.;1", &bad),
        ],
    );
    let mut r = open(img.bytes());
    let e = rr_root_entries(&mut r).unwrap();
    assert_eq!(
        e.len(),
        2,
        "RE after ST or after a bad length is not decoded"
    );
    assert_eq!(e[0].name, "kept");
    assert!(e[0].posix.is_some());
    assert_eq!(e[1].name, "short-px");
    assert_eq!(e[1].posix, None);
}

#[test]
fn unusable_names_keep_the_iso_name() {
    let names: [&[u8]; 5] = [b"", b"..", b"a/b", b"nul\0", b"."];
    let children = names
        .iter()
        .enumerate()
        .map(|(i, n)| su_record(19, 0, 0, format!("F{i}.;1").as_bytes(), &nm(0, n)))
        .chain([
            su_record(19, 0, 0, b"CUR.;1", &nm(2, b"")),
            su_record(19, 0, 0, b"PAR.;1", &nm(4, b"")),
        ])
        .collect();
    let img = rr_image(20, &root_su(0), children);
    let mut r = open(img.bytes());
    let e = rr_root_entries(&mut r).unwrap();
    let got: Vec<&str> = e.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(got, ["F0", "F1", "F2", "F3", "F4", "CUR", "PAR"]);
    assert_eq!(e[2].rr_name.as_deref(), Some(&b"a/b"[..]));
    assert_eq!(e[6].rr_name.as_deref(), Some(&b".."[..]));
}

#[test]
fn devices_and_fifos() {
    let dev = |mode: u32, hi: u32, lo: u32| {
        let mut su = px(mode, 1, 0, 0, None);
        let mut d = both32(hi).to_vec();
        d.extend_from_slice(&both32(lo));
        su.extend(entry(b"PN", &d));
        su
    };
    let img = rr_image(
        20,
        &root_su(0),
        vec![
            su_record(0, 0, 0, b"GENISO.;1", &dev(0o020_644, 1, 3)),
            su_record(0, 0, 0, b"LIBISOFS.;1", &dev(0o060_660, 0, 0x1001_0301)),
            su_record(0, 0, 0, b"FIFO.;1", &px(0o010_644, 1, 0, 0, None)),
            su_record(0, 0, 0, b"SOCK.;1", &px(0o140_755, 1, 0, 0, None)),
        ],
    );
    let mut r = open(img.bytes());
    let e = rr_root_entries(&mut r).unwrap();
    let p: Vec<&Posix> = e.iter().map(|e| e.posix.as_deref().unwrap()).collect();
    assert_eq!(p[0].file_type(), FileType::CharDevice);
    assert_eq!(p[0].rdev, Some((1, 3)));
    assert_eq!(p[0].device_numbers(), Some((1, 3)));
    assert_eq!(p[1].file_type(), FileType::BlockDevice);
    assert_eq!(p[1].device_numbers(), Some((259, 65537)));
    assert_eq!(p[2].file_type(), FileType::Fifo);
    assert_eq!(p[2].device_numbers(), None);
    assert_eq!(p[3].file_type(), FileType::Socket);
    assert_eq!(FileType::from_mode(0o170_000), FileType::Unknown);
    assert_eq!(e[0].size, 0);
    assert_eq!(r.read_file(&e[0]).unwrap(), b"");
}

/// Root (18): `a` (dir at 19), `rr_moved` (dir at 20). `a` holds the placeholder `b` with CL
/// 21; `rr_moved` holds `B` with RE (at 21); 21 holds `f.txt` (data at 22), its ".." has PL 19.
fn relocation_image(moved_extra: Option<Vec<u8>>) -> TestImage {
    let dir_su = |name: &[u8]| {
        let mut su = nm(0, name);
        su.extend(px(DIR_MODE, 2, 0, 0, None));
        su
    };
    let mut img = rr_image(
        24,
        &root_su(0),
        vec![
            su_record(19, 2048, DIR, b"A", &dir_su(b"a")),
            su_record(20, 2048, DIR, b"RR_MOVED", &dir_su(b"rr_moved")),
        ],
    );
    let mut placeholder = nm(0, b"b");
    placeholder.extend(px(DIR_MODE, 2, 0, 0, None));
    placeholder.extend(cl(21));
    rr_dir(
        &mut img,
        19,
        18,
        &px(DIR_MODE, 3, 0, 0, None),
        vec![su_record(23, 0, 0, b"B.;1", &placeholder)],
    );
    let mut moved = dir_su(b"b");
    moved.extend(re());
    let mut moved_children = vec![su_record(21, 2048, DIR, b"B", &moved)];
    moved_children.extend(moved_extra);
    rr_dir(
        &mut img,
        20,
        18,
        &px(DIR_MODE, 3, 0, 0, None),
        moved_children,
    );
    let mut dot = px(0o040_700, 2, 5, 6, None);
    dot.extend(tf_mtime([100, 1, 2, 3, 4, 5, 0]));
    let mut f = nm(0, b"f.txt");
    f.extend(px(FILE_MODE, 1, 0, 0, None));
    img.dir(
        21,
        &[
            su_record(21, 2048, DIR, &[0], &dot),
            su_record(20, 2048, DIR, &[1], &entry(b"PL", &both32(19))),
            su_record(22, 4, 0, b"F.TXT;1", &f),
        ],
    );
    img.put(22, 0, b"data");
    img
}

#[test]
fn relocated_directories_are_put_back() {
    let mut r = open(relocation_image(None).bytes());
    let walked = r.walk(View::RockRidge).unwrap();
    let paths: Vec<&str> = walked.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["/a", "/a/b", "/a/b/f.txt"]);
    let b = &walked[1].1;
    assert!(b.is_dir);
    assert_eq!(b.extents, vec![Extent { lba: 21, len: 2048 }]);
    let p = b.posix.as_ref().unwrap();
    assert!(p.relocated);
    assert_eq!(
        (p.mode, p.uid, p.gid),
        (0o040_700, 5, 6),
        "from the \".\" record"
    );
    assert_eq!(b.mtime.unwrap().to_rfc3339(), "2000-01-02T03:04:05+00:00");
    let f = r.lookup(View::RockRidge, "/a/b/f.txt").unwrap();
    assert_eq!(r.read_file(&f).unwrap(), b"data");
    // The ISO 9660 view is as recorded.
    let iso: Vec<String> = r
        .walk(View::Iso9660)
        .unwrap()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(
        iso,
        [
            "/A",
            "/A/B",
            "/RR_MOVED",
            "/RR_MOVED/B",
            "/RR_MOVED/B/F.TXT"
        ]
    );
    // A relocation directory that also holds an ordinary entry is shown (without the
    // relocated directory).
    let extra = su_record(22, 4, 0, b"X.;1", &nm(0, b"x"));
    let mut r = open(relocation_image(Some(extra)).bytes());
    let paths: Vec<String> = r
        .walk(View::RockRidge)
        .unwrap()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(
        paths,
        ["/a", "/a/b", "/a/b/f.txt", "/rr_moved", "/rr_moved/x"]
    );
}

#[test]
fn child_links_to_ancestors_are_loops() {
    // A placeholder whose CL points at the root, or at its own directory.
    for target in [18, 19] {
        let mut su = nm(0, b"sub");
        su.extend(px(DIR_MODE, 2, 0, 0, None));
        let mut ph = nm(0, b"back");
        ph.extend(cl(target));
        let mut img = rr_image(21, &root_su(0), vec![su_record(19, 2048, DIR, b"SUB", &su)]);
        rr_dir(
            &mut img,
            19,
            18,
            &px(DIR_MODE, 2, 0, 0, None),
            vec![su_record(20, 0, 0, b"BACK.;1", &ph)],
        );
        let mut r = open(img.bytes());
        let e = err(r.walk(View::RockRidge));
        assert_eq!(
            (e.kind, e.lba),
            (ParseErrorKind::DirectoryLoop, Some(u64::from(target)))
        );
        // Lookups through the loop end with the path.
        let path = if target == 18 {
            "/sub/back/sub/back"
        } else {
            "/sub/back/back/back"
        };
        let e = r.lookup(View::RockRidge, path).unwrap();
        assert!(e.is_dir);
        // The ISO 9660 view has no loop.
        assert_eq!(r.walk(View::Iso9660).unwrap().len(), 2);
    }
}

#[test]
fn bad_child_links() {
    // Outside the image; at a sector that does not start with a "." record.
    for (target, kind) in [
        (500, ParseErrorKind::ExtentOutOfImage),
        (
            20,
            ParseErrorKind::BadDirectoryRecord(
                "\".\" record: record length 0 is less than 34".into(),
            ),
        ),
        (
            19,
            ParseErrorKind::BadDirectoryRecord(
                "\".\" record: the first record of the directory is not \".\"".into(),
            ),
        ),
    ] {
        let mut ph = nm(0, b"moved");
        ph.extend(cl(target));
        let mut img = rr_image(21, &root_su(0), vec![su_record(19, 0, 0, b"M.;1", &ph)]);
        img.put(19, 0, &record(19, 0, 0, b"NOTDOT.;1"));
        let mut r = open(img.bytes());
        let e = err(rr_root_entries(&mut r));
        assert_eq!((e.kind, e.lba), (kind, Some(u64::from(target))));
    }
}

#[test]
fn depth_limit_counts_relocated_directories_at_their_place() {
    let limits = Limits {
        max_depth: 2,
        ..Limits::default()
    };
    let mut r = open_limits(relocation_image(None).bytes(), limits);
    // /a/b/f.txt is at depth 3.
    assert!(matches!(
        err(r.walk(View::RockRidge)).kind,
        ParseErrorKind::LimitExceeded("directory depth", 2)
    ));
}

#[test]
fn multi_extent_file_takes_the_first_record_attributes() {
    let mut su = nm(0, b"big.bin");
    su.extend(px(FILE_MODE, 1, 0, 0, None));
    let img = rr_image(
        22,
        &root_su(0),
        vec![
            su_record(19, 2048, MULTI, b"BIG.BIN;1", &su),
            su_record(20, 100, 0, b"BIG.BIN;1", &nm(0, b"other")),
        ],
    );
    let mut r = open(img.bytes());
    let e = rr_root_entries(&mut r).unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].name, "big.bin");
    assert_eq!(e[0].size, 2148);
}

#[test]
fn records_sharing_one_continuation_area_are_charged() {
    // 15 records whose names continue in the same area: 8 NM entries of 240 bytes (a name of
    // 1,925 bytes). Each record reads the area and keeps the name (twice in the Rock Ridge
    // view), so the cost grows with the records, not with the image.
    let mut area = Vec::new();
    for i in 0..8u8 {
        area.extend(nm(u8::from(i < 7), &[b'a' + i; 240]));
    }
    assert!(area.len() <= 2048);
    let children: Vec<Vec<u8>> = (0..15)
        .map(|i| {
            let mut su = px(FILE_MODE, 1, 0, 0, None);
            su.extend(nm(1, format!("n{i:02}").as_bytes()));
            su.extend(ce(20, 0, area.len() as u32));
            su_record(19, 0, 0, format!("N{i:02}.;1").as_bytes(), &su)
        })
        .collect();
    let mut img = rr_image(21, &root_su(0), children);
    img.put(20, 0, &area);
    let mut r = open(img.bytes());
    let e = rr_root_entries(&mut r).unwrap();
    assert_eq!(e.len(), 15);
    assert_eq!(e[3].name.len(), 3 + 8 * 240);
    let used = r.metadata_bytes_allocated();
    assert!(used >= 15 * (area.len() as u64 + 2 * 1923), "{used}");
    // The ISO 9660 view reads the same areas (for rr_name and posix).
    let root = r.root(View::Iso9660).unwrap();
    r.read_dir(&root).unwrap();
    assert!(r.metadata_bytes_allocated() >= 15 * (area.len() as u64 + 1923));
    // A budget that holds the directory but not its names is exceeded, in both views.
    let limits = Limits {
        max_metadata_bytes: 50_000,
        ..Limits::default()
    };
    let mut r = open_limits(img.bytes(), limits);
    let e = err(rr_root_entries(&mut r));
    assert_eq!(
        e.kind,
        ParseErrorKind::LimitExceeded("metadata bytes", 50_000)
    );
    assert_eq!(e.lba, Some(18));
    let root = r.root(View::Iso9660).unwrap();
    assert_eq!(
        err(r.read_dir(&root)).kind,
        ParseErrorKind::LimitExceeded("metadata bytes", 50_000)
    );
}

#[test]
fn limits_defaults_for_system_use() {
    let l = Limits::default();
    assert_eq!(l.max_ce_chain, 64);
    assert_eq!(l.max_su_bytes_per_entry, 64 * 1024);
}

#[test]
fn truncated_rock_ridge_images_never_panic() {
    let mut data = relocation_image(None).bytes();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..600 {
        let mut d = data.clone();
        for _ in 0..(1 + round % 6) {
            let at = 18 * 2048 + (next() as usize) % (4 * 2048);
            d[at] = next() as u8;
        }
        if round % 7 == 0 {
            d.truncate((next() as usize) % data.len());
        }
        let Ok(mut r) = ImageReader::open(Cursor::new(d)) else {
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
    data.truncate(19 * 2048);
    assert!(ImageReader::open(Cursor::new(data)).is_ok());
}

/// Writes Rock Ridge seed images for the fuzz target into `$GLASSMASTER_FUZZ_SEEDS` when set
/// (like `basic::write_fuzz_seeds`).
#[test]
fn write_rock_ridge_fuzz_seeds() {
    let Some(dir) = std::env::var_os("GLASSMASTER_FUZZ_SEEDS") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let extra = su_record(22, 4, 0, b"X.;1", &nm(0, b"x"));
    // A name continued in a continuation area, with `skip` bytes to skip (SP LEN_SKP).
    // The continuation area's length is exactly that of its entries: libisofs refuses an area
    // with trailing zeros (this reader accepts it).
    let chained = |skip: u8| {
        let mut area = nm(0, b"continued");
        area.extend(sl(0, &[(8, b""), (0, b"target")]));
        let mut su = vec![0xEE; usize::from(skip)];
        su.extend(nm(1, b"name-"));
        su.extend(px(0o120_777, 1, 0, 0, Some(9)));
        su.extend(ce(20, 0, area.len() as u32));
        let mut img = rr_image(21, &root_su(skip), vec![su_record(19, 0, 0, b"N.;1", &su)]);
        img.put(20, 0, &area);
        let data = img.bytes();
        let mut r = open(data.clone());
        let e = rr_root_entries(&mut r).unwrap().remove(0);
        assert_eq!(e.name, "name-continued");
        assert_eq!(e.posix.unwrap().symlink_lossy().as_deref(), Some("/target"));
        data
    };
    let seeds = [
        ("handmade-rr-relocation.iso", relocation_image(None).bytes()),
        (
            "handmade-rr-relocation-shown.iso",
            relocation_image(Some(extra)).bytes(),
        ),
        ("handmade-rr-continuation.iso", chained(0)),
        ("handmade-rr-skip.iso", chained(2)),
    ];
    for (name, data) in seeds {
        std::fs::write(dir.join(name), data).unwrap();
    }
}
