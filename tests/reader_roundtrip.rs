//! Property: build -> our reader gives back the same tree. Random trees with unicode names,
//! names that collide after ISO 9660 mangling, long names, empty files and directories, deep
//! trees; every level; the Joliet and ISO 9660:1999 views must return the exact names, and every
//! view the exact bytes.

use glassmaster::read::{ImageReader, View};
use glassmaster::{ImageBuilder, IsoLevel, NoProgress};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;

#[derive(Debug, Clone)]
enum Entry {
    File(Vec<u8>),
    Dir(BTreeMap<String, Entry>),
}

/// Names without Joliet's forbidden characters, at most 40 UTF-16 units, never "." or "..".
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,8}(\\.[a-z]{1,3})?",
        "[A-Za-z0-9 _.-]{1,40}",
        "[a-zA-Zéüß漢字 -]{1,12}",
        // Collide after mangling: same letters, different case or punctuation.
        "(longname|LongName|long-name|long\\.name)[0-9]?(\\.txt|\\.TXT)?",
    ]
    .prop_filter("not . or ..", |s| {
        s != "." && s != ".." && s.encode_utf16().count() <= 40
    })
}

fn content() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        prop::collection::vec(any::<u8>(), 1..3000),
        (1usize..3).prop_map(|k| vec![0xA5; k * 2048]),
    ]
}

fn tree(depth: u32) -> impl Strategy<Value = BTreeMap<String, Entry>> {
    let leaf = content().prop_map(Entry::File);
    let entry = leaf.prop_recursive(depth, 64, 6, |inner| {
        prop::collection::btree_map(name(), inner, 0..6).prop_map(Entry::Dir)
    });
    prop::collection::btree_map(name(), entry, 0..8)
}

fn add(
    b: &mut ImageBuilder,
    prefix: &str,
    t: &BTreeMap<String, Entry>,
    out: &mut BTreeMap<String, Option<Vec<u8>>>,
) {
    for (n, e) in t {
        let p = format!("{prefix}/{n}");
        match e {
            Entry::File(data) => {
                b.add_bytes(&p, data.clone()).unwrap();
                out.insert(p, Some(data.clone()));
            }
            Entry::Dir(sub) => {
                b.add_dir(&p).unwrap();
                out.insert(p.clone(), None);
                add(b, &p, sub, out);
            }
        }
    }
}

fn check(t: &BTreeMap<String, Entry>, level: IsoLevel) -> Result<(), TestCaseError> {
    let mut b = ImageBuilder::new();
    b.level(level);
    let mut expected = BTreeMap::new();
    add(&mut b, "", t, &mut expected);
    let image = match b.build(&mut glassmaster::NoProgress) {
        Ok(i) => i,
        // Depth and path-length limits are legitimate refusals at levels 1-3.
        Err(glassmaster::Error::TooDeep { .. } | glassmaster::Error::PathTooLong { .. })
            if level != IsoLevel::Iso1999 =>
        {
            return Ok(())
        }
        Err(e) => return Err(TestCaseError::fail(format!("build failed: {e}"))),
    };
    let mut iso = Vec::new();
    image.write_to(&mut iso, &mut NoProgress).unwrap();
    prop_assert_eq!(iso.len() as u64, image.size_bytes());
    let mut r = ImageReader::open(Cursor::new(iso)).unwrap();

    let mut views = vec![View::Joliet, View::Iso9660];
    if level == IsoLevel::Iso1999 {
        views.push(View::Iso1999);
    }
    for view in views {
        let walked = r.walk(view).unwrap();
        // 1999 names are kept exactly, even two that differ only in case (issue 19 F7).
        let exact_names = view == View::Joliet || view == View::Iso1999;
        if exact_names {
            let got: BTreeSet<&str> = walked.iter().map(|(p, _)| p.as_str()).collect();
            let want: BTreeSet<&str> = expected.keys().map(String::as_str).collect();
            prop_assert_eq!(got, want, "names differ in {}", view);
            for (p, e) in &walked {
                match &expected[p] {
                    Some(data) => {
                        prop_assert!(!e.is_dir);
                        prop_assert_eq!(
                            &r.read_file(e).unwrap(),
                            data,
                            "bytes of {} in {}",
                            p,
                            view
                        );
                    }
                    None => prop_assert!(e.is_dir),
                }
            }
        } else {
            // Mangled names: same shape (counts) and the same multiset of contents.
            let mut got: Vec<Vec<u8>> = Vec::new();
            let mut dirs = 0;
            for (_, e) in &walked {
                if e.is_dir {
                    dirs += 1;
                } else {
                    got.push(r.read_file(e).unwrap());
                }
            }
            let mut want: Vec<Vec<u8>> = expected.values().flatten().cloned().collect();
            got.sort();
            want.sort();
            prop_assert_eq!(dirs, expected.values().filter(|v| v.is_none()).count());
            prop_assert_eq!(got, want, "contents differ in {}", view);
            // Names are unique per directory in what a reader shows.
            // Levels 1-3 names are upper case; 1999 names keep their case.
            let shown: BTreeSet<String> = walked
                .iter()
                .map(|(p, _)| {
                    if level == IsoLevel::Iso1999 {
                        p.clone()
                    } else {
                        p.to_ascii_uppercase()
                    }
                })
                .collect();
            prop_assert_eq!(shown.len(), walked.len());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_level3(t in tree(4)) {
        check(&t, IsoLevel::Level3)?;
    }

    #[test]
    fn round_trip_level1(t in tree(3)) {
        check(&t, IsoLevel::Level1)?;
    }

    #[test]
    fn round_trip_iso1999_deep(t in tree(10)) {
        check(&t, IsoLevel::Iso1999)?;
    }
}

/// A tree deeper than 8 levels: refused at level 3 (naming the path), accepted at 1999.
#[test]
fn deep_tree() {
    let path = (0..12).map(|i| format!("/level{i}")).collect::<String>() + "/file.txt";
    let mut b = ImageBuilder::new();
    b.add_bytes(&path, &b"deep"[..]).unwrap();
    match b.build(&mut glassmaster::NoProgress) {
        Err(glassmaster::Error::TooDeep { path, depth, .. }) => {
            assert_eq!(
                path,
                "/level0/level1/level2/level3/level4/level5/level6/level7"
            );
            assert_eq!(depth, 9);
        }
        other => panic!("expected TooDeep, got {other:?}"),
    }
    b.level(IsoLevel::Iso1999);
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let mut iso = Vec::new();
    image.write_to(&mut iso, &mut NoProgress).unwrap();
    let mut r = ImageReader::open(Cursor::new(iso)).unwrap();
    for view in [View::Iso1999, View::Joliet] {
        let e = r.lookup(view, &path).unwrap();
        assert_eq!(r.read_file(&e).unwrap(), b"deep");
    }
}

/// ECMA-119 6.8.2.1: a path of exactly 255 bytes (identifiers and separators, no leading
/// separator) is allowed at level 3; 256 is refused, naming the path.
#[test]
fn path_length_boundary() {
    let dirs: String = (0..7)
        .map(|i| format!("/{}", char::from(b'A' + i).to_string().repeat(31)))
        .collect();
    // 7 * 31 + 6 separators = 223; + "/" + identifier of 31 bytes ("F..F.TXT;1") = 255.
    let ok = format!("{dirs}/{}.TXT", "F".repeat(25));
    let too_long = format!("{dirs}/{}.TXT", "F".repeat(26));
    let mut b = ImageBuilder::new();
    b.add_bytes(&ok, &b"x"[..]).unwrap();
    b.build(&mut glassmaster::NoProgress)
        .expect("255-byte path is allowed");
    b.add_bytes(&too_long, &b"y"[..]).unwrap();
    match b.build(&mut glassmaster::NoProgress) {
        Err(glassmaster::Error::PathTooLong { path, len, .. }) => {
            assert_eq!(path, too_long);
            assert_eq!(len, 256);
        }
        other => panic!("expected PathTooLong, got {other:?}"),
    }
}

/// ECMA-119 9.4.4: parent numbers are 16 bits. Directory number 65,536 may exist, but it may
/// not have subdirectories.
#[test]
fn directory_number_limit() {
    let mut b = ImageBuilder::new();
    b.filesystems(glassmaster::FileSystems::ISO9660);
    // The root is number 1; these are 2..=65536 in path-table order.
    for i in 0..65_535u32 {
        b.add_dir(&format!("/d{i:05}")).unwrap();
    }
    b.build(&mut glassmaster::NoProgress)
        .expect("65,536 directories without grandchildren fit");
    b.add_dir("/d65534/child").unwrap();
    match b.build(&mut glassmaster::NoProgress) {
        Err(glassmaster::Error::InvalidOption(msg)) => {
            assert!(msg.contains("/d65534/child"), "{msg}")
        }
        other => panic!("expected a path-table limit error, got {other:?}"),
    }
    // A subdirectory of directory 65,535 is still fine.
    let mut b2 = ImageBuilder::new();
    b2.filesystems(glassmaster::FileSystems::ISO9660);
    for i in 0..65_534u32 {
        b2.add_dir(&format!("/d{i:05}")).unwrap();
    }
    b2.add_dir("/d65533/child").unwrap();
    b2.build(&mut glassmaster::NoProgress)
        .expect("parent number 65,535 is allowed");
}
