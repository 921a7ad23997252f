//! Reader tests for the [`Limits`].

use std::io::Cursor;

use super::basic::{err, iso_only, open};
use super::testimg::*;
use glassmaster::read::*;
use glassmaster::{ParseError, ParseErrorKind};

fn open_with(data: Vec<u8>, limits: Limits) -> Result<ImageReader<Cursor<Vec<u8>>>, ParseError> {
    ImageReader::open_with_limits(Cursor::new(data), limits)
}

#[test]
fn defaults() {
    let l = Limits::default();
    assert_eq!(l.max_depth, 64);
    assert_eq!(l.max_entries_per_dir, 100_000);
    assert_eq!(l.max_total_entries, 10_000_000);
    assert_eq!(l.max_extents_per_file, 4096);
    assert_eq!(l.max_dir_bytes, 64 * 1024 * 1024);
    assert_eq!(l.max_volume_descriptors, 64);
    assert_eq!(l.max_metadata_bytes, 256 * 1024 * 1024);
    assert_eq!(l.strictness, Strictness::Lenient);
    assert_eq!(Limits::lenient(), l);
    assert!(Limits::strict().is_strict());
    assert_eq!(
        Limits {
            strictness: Strictness::Lenient,
            ..Limits::strict()
        },
        l
    );
}

#[test]
fn metadata_budget() {
    let data = standard();
    let mut r = open(data.clone());
    let w = r.walk(View::Joliet).unwrap();
    let used = r.metadata_bytes_allocated();
    // Two directories of 2048 bytes, four entries, their paths.
    assert!(used > 2 * 2048 && used < 64 * 1024, "{used}");
    assert_eq!(w.len(), 4);
    // A budget just below what the walk needs stops it; each operation starts afresh.
    let limits = Limits {
        max_metadata_bytes: used - 1,
        ..Limits::default()
    };
    let mut r = open_with(data, limits).unwrap();
    assert_eq!(
        err(r.walk(View::Joliet)).kind,
        ParseErrorKind::LimitExceeded("metadata bytes", used - 1)
    );
    let root = r.root(View::Joliet).unwrap();
    assert_eq!(r.read_dir(&root).unwrap().len(), 2);
    assert!(r.metadata_bytes_allocated() < used);
}

#[test]
fn entries_per_dir() {
    let recs: Vec<Vec<u8>> = (0..10)
        .map(|i| record(19, 0, 0, format!("F{i}.;1").as_bytes()))
        .collect();
    let data = iso_only(20, recs).bytes();
    let limits = Limits {
        max_entries_per_dir: 10,
        ..Limits::default()
    };
    let mut r = open_with(data.clone(), limits).unwrap();
    let root = r.root(View::Iso9660).unwrap();
    assert_eq!(r.read_dir(&root).unwrap().len(), 10);
    let limits = Limits {
        max_entries_per_dir: 9,
        ..Limits::default()
    };
    let mut r = open_with(data, limits).unwrap();
    let e = err(r.read_dir(&root));
    assert_eq!(
        e.kind,
        ParseErrorKind::LimitExceeded("entries per directory", 9)
    );
}

/// A chain of `n` nested directories D/D/D/... at sectors 19, 20, ...
fn nested(n: u32) -> Vec<u8> {
    let mut img = iso_only(20 + n as usize, vec![record(19, 2048, DIR, b"D")]);
    for i in 0..n {
        let lba = 19 + i;
        let mut recs = dots(lba, 2048, lba - 1, 2048);
        if i + 1 < n {
            recs.push(record(lba + 1, 2048, DIR, b"D"));
        }
        img.dir(lba, &recs);
    }
    img.bytes()
}

#[test]
fn depth() {
    let data = nested(5);
    let limits = Limits {
        max_depth: 5,
        ..Limits::default()
    };
    let mut r = open_with(data.clone(), limits).unwrap();
    let w = r.walk(View::Iso9660).unwrap();
    assert_eq!(w.last().map(|(p, _)| p.as_str()), Some("/D/D/D/D/D"));
    let limits = Limits {
        max_depth: 4,
        ..Limits::default()
    };
    let mut r = open_with(data, limits).unwrap();
    let e = err(r.walk(View::Iso9660));
    assert_eq!(e.kind, ParseErrorKind::LimitExceeded("directory depth", 4));
    assert_eq!(e.lba, Some(22));
    // The default limit stops a 100-deep chain.
    let mut r = open(nested(100));
    assert_eq!(
        err(r.walk(View::Iso9660)).kind,
        ParseErrorKind::LimitExceeded("directory depth", 64)
    );
}

#[test]
fn total_entries() {
    let data = nested(5);
    let limits = Limits {
        max_total_entries: 5,
        ..Limits::default()
    };
    assert_eq!(
        open_with(data.clone(), limits)
            .unwrap()
            .walk(View::Iso9660)
            .unwrap()
            .len(),
        5
    );
    let limits = Limits {
        max_total_entries: 4,
        ..Limits::default()
    };
    let e = err(open_with(data, limits).unwrap().walk(View::Iso9660));
    assert_eq!(e.kind, ParseErrorKind::LimitExceeded("total entries", 4));
}

#[test]
fn dir_bytes() {
    let data = iso_only(20, vec![]).bytes();
    let limits = Limits {
        max_dir_bytes: 2047,
        ..Limits::default()
    };
    let mut r = open_with(data, limits).unwrap();
    let root = r.root(View::Iso9660).unwrap();
    let e = err(r.read_dir(&root));
    assert_eq!(
        (e.kind, e.lba),
        (
            ParseErrorKind::LimitExceeded("directory bytes", 2047),
            Some(18)
        )
    );
    // A huge directory size is refused before anything is allocated.
    let img = iso_only(20, vec![record(19, u32::MAX, DIR, b"HUGE")]);
    let mut r = open(img.bytes());
    let e = err(r.walk(View::Iso9660));
    assert_eq!(
        e.kind,
        ParseErrorKind::LimitExceeded("directory bytes", 64 * 1024 * 1024)
    );
    // Below the limit but beyond the image.
    let img = iso_only(20, vec![record(19, 1 << 20, DIR, b"BIG")]);
    let mut r = open(img.bytes());
    assert_eq!(
        err(r.walk(View::Iso9660)).kind,
        ParseErrorKind::ExtentOutOfImage
    );
}

#[test]
fn volume_descriptors() {
    // 5 descriptors before the terminator (PVD + 4 boot records).
    let mut img = TestImage::new(26);
    img.pvd(16, "V", 22, 2048);
    for lba in 17..21 {
        img.put(lba, 1, b"CD001\x01");
    }
    img.terminator(21);
    img.dir(22, &dots(22, 2048, 22, 2048));
    let data = img.bytes();
    let limits = Limits {
        max_volume_descriptors: 6,
        ..Limits::default()
    };
    assert!(open_with(data.clone(), limits).is_ok());
    let limits = Limits {
        max_volume_descriptors: 5,
        ..Limits::default()
    };
    let e = err(open_with(data, limits));
    assert_eq!(
        (e.kind, e.lba),
        (
            ParseErrorKind::LimitExceeded("volume descriptors", 5),
            Some(21)
        )
    );
    // No terminator at all: the scan stops at the limit, never reads the whole image.
    let mut img = TestImage::new(200);
    img.pvd(16, "V", 17, 2048);
    for lba in 17..200 {
        img.put(lba, 1, b"CD001\x01");
    }
    let e = err(ImageReader::open(Cursor::new(img.bytes())));
    assert_eq!(
        e.kind,
        ParseErrorKind::LimitExceeded("volume descriptors", 64)
    );
}

#[test]
fn extents_per_file() {
    let recs = vec![
        record(19, 1, MULTI, b"F.;1"),
        record(19, 1, MULTI, b"F.;1"),
        record(19, 1, 0, b"F.;1"),
    ];
    let data = iso_only(20, recs).bytes();
    let limits = Limits {
        max_extents_per_file: 3,
        ..Limits::default()
    };
    let mut r = open_with(data.clone(), limits).unwrap();
    assert_eq!(r.lookup(View::Iso9660, "/F").unwrap().extents.len(), 3);
    let limits = Limits {
        max_extents_per_file: 2,
        ..Limits::default()
    };
    let mut r = open_with(data, limits).unwrap();
    let e = err(r.lookup(View::Iso9660, "/F"));
    assert_eq!(e.kind, ParseErrorKind::LimitExceeded("extents per file", 2));
    assert_eq!((e.lba, e.offset), (Some(18), Some(68 + 2 * 38)));
    // An interleaved 4 GiB file would need 2 million extents.
    let mut inter = record(19, u32::MAX, 0, b"I.;1");
    inter[26] = 1;
    let mut r = open(iso_only(20, vec![inter]).bytes());
    let e = err(r.walk(View::Iso9660));
    assert_eq!(
        e.kind,
        ParseErrorKind::LimitExceeded("extents per file", 4096)
    );
    // open_file refuses a hand-made entry with too many extents.
    let mut r = open(standard());
    let mut a = r.lookup(View::Iso9660, "/A.TXT").unwrap();
    a.extents = vec![a.extents[0]; 5000];
    assert_eq!(
        err(r.read_file(&a)).kind,
        ParseErrorKind::LimitExceeded("extents per file", 4096)
    );
}

#[test]
fn path_table_records_are_decoded_within_the_budget() {
    // 300 directories: a path table of about 3.6 KiB whose records cost far more in memory.
    let mut b = glassmaster::ImageBuilder::new();
    b.filesystems(glassmaster::FileSystems::ISO9660);
    for i in 0..300 {
        b.add_dir(&format!("/D{i:03}")).unwrap();
    }
    let mut data = Vec::new();
    b.build(&mut glassmaster::NoProgress)
        .unwrap()
        .write_to(&mut data, &mut glassmaster::NoProgress)
        .unwrap();
    let mut r = open(data.clone());
    assert_eq!(r.path_table(View::Iso9660).unwrap().len(), 301);
    let used = r.metadata_bytes_allocated();
    assert!(
        used > 301 * std::mem::size_of::<PathTableEntry>() as u64,
        "{used}"
    );
    // A budget that holds the table's bytes but not its records stops the decoding.
    let budget = 8192 + 50 * std::mem::size_of::<PathTableEntry>() as u64;
    let limits = Limits {
        max_metadata_bytes: budget,
        ..Limits::default()
    };
    let mut r = open_with(data, limits).unwrap();
    let e = err(r.path_table(View::Iso9660));
    assert_eq!(
        e.kind,
        ParseErrorKind::LimitExceeded("metadata bytes", budget)
    );
    assert!(r.metadata_bytes_allocated() <= budget);
}
