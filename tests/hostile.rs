//! Hostile images: each crafted image must fail with its SPECIFIC error kind (or, for the
//! real-world deviations of lenient mode, be read in lenient mode and refused in strict mode),
//! and every parse + walk + read must finish within a time bound and a memory bound.
//!
//! Memory is measured with a counting global allocator (per thread, so parallel tests do not
//! disturb one another); `unsafe` is needed only for `GlobalAlloc` in this test binary (the
//! crate itself forbids unsafe code). The reader's own `metadata_bytes_allocated()` counter is
//! checked against its limit as well.

mod common;
#[path = "hostile/img.rs"]
mod img;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Cursor;
use std::time::{Duration, Instant};

use glassmaster::raw::iso9660::{self as raw, VolumeDescriptorType};
use glassmaster::read::{ImageReader, Limits, View};
use glassmaster::{ImageBuilder, IsoLevel, NoProgress, ParseError, ParseErrorKind};
use img::*;
use proptest::prelude::*;

// ------------------------------------------------------------------------------------------------
// Bounds

/// Each parse + walk + read of one image finishes within this (debug build).
const TIME_BOUND: Duration = Duration::from_secs(2);
/// Each parse + walk + read of one image allocates at most this much more than it frees, at its
/// peak.
const MEMORY_BOUND: isize = 64 << 20;

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn account(delta: isize) {
    // try_with: the allocator may run while this thread's locals are being torn down.
    let _ = LIVE.try_with(|l| {
        let now = l.get() + delta;
        l.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// GlobalAlloc contract is System's; the bookkeeping touches only const-initialised thread
// locals (no allocation, no destructor).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            account(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            account(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        account(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            account(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f`, asserting the time and memory bounds; returns its result.
fn bounded<T>(name: &str, f: impl FnOnce() -> T) -> T {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let start = Instant::now();
    let out = f();
    let elapsed = start.elapsed();
    let peak = PEAK.with(Cell::get) - base;
    assert!(
        elapsed < TIME_BOUND,
        "{name}: took {elapsed:?} (bound {TIME_BOUND:?})"
    );
    assert!(
        peak < MEMORY_BOUND,
        "{name}: peak allocation {peak} bytes (bound {MEMORY_BOUND})"
    );
    out
}

// ------------------------------------------------------------------------------------------------
// Exercising an image

/// What reading an image gave: entries walked and file bytes read.
#[derive(Debug)]
struct Read {
    entries: usize,
    bytes: u64,
}

/// Opens `data` with `limits`, walks every view, reads every file, and (if `tables`) reads
/// every view's path table. The first error is returned.
fn exercise(data: &[u8], limits: Limits, tables: bool) -> Result<Read, ParseError> {
    let mut r = ImageReader::open_with_limits(Cursor::new(data), limits)?;
    let mut out = Read {
        entries: 0,
        bytes: 0,
    };
    for view in r.views() {
        let walk = r.walk(view)?;
        assert!(r.metadata_bytes_allocated() <= limits.max_metadata_bytes);
        for (_, e) in &walk {
            if !e.is_dir {
                out.bytes += r.read_file(e)?.len() as u64;
            }
        }
        if tables {
            r.path_table(view)?;
            assert!(r.metadata_bytes_allocated() <= limits.max_metadata_bytes);
        }
        out.entries += walk.len();
    }
    // The block map of a readable image covers it exactly, within the same bounds.
    let map = r.block_map()?;
    assert!(r.metadata_bytes_allocated() <= limits.max_metadata_bytes);
    let mut next = 0;
    for it in map.iter() {
        assert_eq!(it.first_block, next, "block map: gap or overlap at {it:?}");
        next = it.last_block + 1;
    }
    assert_eq!(next, (data.len() as u64).div_ceil(2048), "block map: short");
    Ok(out)
}

/// `data` must fail with exactly `kind` under `limits`, within the bounds.
fn fails(name: &str, data: &[u8], limits: Limits, kind: ParseErrorKind) -> ParseError {
    let r = bounded(name, || exercise(data, limits, true));
    match r {
        Ok(v) => panic!("{name}: expected {kind:?}, got {v:?}"),
        Err(e) => {
            assert_eq!(e.kind, kind, "{name}: {e}");
            e
        }
    }
}

/// Like [`fails`] for kinds that carry a message: the kind must match `pred`.
fn fails_with(
    name: &str,
    data: &[u8],
    limits: Limits,
    pred: impl Fn(&ParseErrorKind) -> bool,
) -> ParseError {
    let r = bounded(name, || exercise(data, limits, true));
    match r {
        Ok(v) => panic!("{name}: expected an error, got {v:?}"),
        Err(e) => {
            assert!(pred(&e.kind), "{name}: unexpected {e}");
            e
        }
    }
}

/// `data` must be read without error under `limits`, within the bounds.
fn reads(name: &str, data: &[u8], limits: Limits, tables: bool) -> Read {
    bounded(name, || exercise(data, limits, tables)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A known real-world deviation: lenient mode reads it, strict mode refuses it with `kind`.
fn deviation(name: &str, data: &[u8], tables: bool, kind: ParseErrorKind) -> ParseError {
    reads(name, data, Limits::lenient(), tables);
    let e = bounded(name, || exercise(data, Limits::strict(), tables));
    match e {
        Ok(v) => panic!("{name}: strict mode accepted it: {v:?}"),
        Err(e) => {
            assert_eq!(e.kind, kind, "{name}: {e}");
            e
        }
    }
}

/// A damaged directory record: strict mode refuses it (the kind matching `pred`), lenient
/// mode leaves it out, names it in `left_out` (with `what`) and reads the rest. Returns the
/// strict error and what lenient reading gave.
fn left_out(
    name: &str,
    data: &[u8],
    what: &str,
    pred: impl Fn(&ParseErrorKind) -> bool,
) -> (ParseError, Read) {
    let e = fails_with(name, data, strict(), pred);
    let read = reads(name, data, lenient(), false);
    let mut r = ImageReader::open(Cursor::new(data)).unwrap();
    for view in r.views() {
        r.walk(view).unwrap();
    }
    assert!(
        !r.left_out().is_empty() && r.left_out().iter().all(|m| m.contains(what)),
        "{name}: {:?}",
        r.left_out()
    );
    (e, read)
}

fn bad_record(what: &'static str) -> impl Fn(&ParseErrorKind) -> bool {
    move |k| matches!(k, ParseErrorKind::BadDirectoryRecord(m) if m.contains(what))
}

fn lenient() -> Limits {
    Limits::lenient()
}

fn strict() -> Limits {
    Limits::strict()
}

// ------------------------------------------------------------------------------------------------
// Base images

/// A glassmaster-built level 3 + Joliet image: /a.txt, /dir/b.bin (5000 bytes),
/// /dir/sub/c.txt.
fn built() -> Vec<u8> {
    let mut b = ImageBuilder::new();
    b.level(IsoLevel::Level3);
    b.build_time(chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap());
    b.add_bytes("/a.txt", &b"hello"[..]).unwrap();
    b.add_bytes("/dir/b.bin", vec![0x5A; 5000]).unwrap();
    b.add_bytes("/dir/sub/c.txt", &b"deep"[..]).unwrap();
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let mut out = Vec::new();
    image.write_to(&mut out, &mut NoProgress).unwrap();
    out
}

/// The PVD's and the Joliet SVD's sectors in a built image.
fn vds(img: &[u8]) -> (u32, u32) {
    (
        descriptor_lba(img, VolumeDescriptorType::Primary, 1),
        descriptor_lba(img, VolumeDescriptorType::Supplementary, 1),
    )
}

/// A strict-clean from-scratch image with one file `F.TXT;1` ("12345") at sector 19.
fn base() -> Vec<u8> {
    let mut img = simple(21, vec![record(19, 5, 0, b"F.TXT;1")]);
    img.put(19, 0, b"12345");
    img.data
}

#[test]
fn base_images_are_clean() {
    for data in [base(), built()] {
        let r = reads("base lenient", &data, lenient(), false);
        assert!(r.entries >= 1);
        reads("base strict", &data, strict(), false);
    }
    let b = built();
    let r = reads("built with path tables", &b, strict(), true);
    assert_eq!(r.bytes, 2 * (5 + 5000 + 4));
}

// ------------------------------------------------------------------------------------------------
// Directory loops

#[test]
fn loop_child_points_at_root() {
    let data = simple(20, vec![record(18, 2048, DIR, b"BACK")]).data;
    let e = fails(
        "child -> root",
        &data,
        lenient(),
        ParseErrorKind::DirectoryLoop,
    );
    assert_eq!(e.lba, Some(18));
    fails(
        "child -> root strict",
        &data,
        strict(),
        ParseErrorKind::DirectoryLoop,
    );
}

#[test]
fn loop_self() {
    let mut img = simple(21, vec![record(19, 2048, DIR, b"SELF")]);
    let mut d = dots(19, 2048, 18, 2048);
    d.push(record(19, 2048, DIR, b"AGAIN"));
    img.dir(19, &d);
    let e = fails(
        "self loop",
        &img.data,
        lenient(),
        ParseErrorKind::DirectoryLoop,
    );
    assert_eq!(e.lba, Some(19));
}

#[test]
fn loop_two_cycle() {
    let mut img = simple(22, vec![record(19, 2048, DIR, b"A")]);
    let mut a = dots(19, 2048, 18, 2048);
    a.push(record(20, 2048, DIR, b"B"));
    img.dir(19, &a);
    let mut b = dots(20, 2048, 19, 2048);
    b.push(record(19, 2048, DIR, b"A"));
    img.dir(20, &b);
    let e = fails(
        "two-cycle",
        &img.data,
        lenient(),
        ParseErrorKind::DirectoryLoop,
    );
    assert_eq!(e.lba, Some(19));
}

#[test]
fn loop_shared_directory_amplification() {
    // 40 names for one directory that itself has 40 names for the next: 40^3 paths.
    let mut img = TestImage::new(24);
    let names: Vec<Vec<u8>> = (0..40).map(|i| format!("D{i}").into_bytes()).collect();
    for (lba, child) in [(18u32, 19u32), (19, 20), (20, 21)] {
        let mut recs = dots(lba, 2048, 18, 2048);
        recs.extend(names.iter().map(|n| record(child, 2048, DIR, n)));
        img.dir(lba, &recs);
    }
    img.dir(21, &dots(21, 2048, 20, 2048));
    img.pvd(16, "HOSTILE", 18, 2048).terminator(17);
    fails("DAG", &img.data, lenient(), ParseErrorKind::DirectoryLoop);
}

#[test]
fn loop_in_joliet_view_of_a_built_image() {
    let mut data = built();
    let (_, svd) = vds(&data);
    let (jroot, _) = root_of(&data, svd);
    let (at, _, _) = find(&data, jroot, &ucs2("dir"));
    set32(&mut data, at + 2, jroot);
    // The ISO 9660 view is intact; the Joliet walk meets the root again.
    let mut r = ImageReader::open(Cursor::new(&data[..])).unwrap();
    assert!(r.walk(View::Iso9660).is_ok());
    let e = fails(
        "Joliet loop",
        &data,
        lenient(),
        ParseErrorKind::DirectoryLoop,
    );
    assert_eq!(e.lba, Some(u64::from(jroot)));
}

// ------------------------------------------------------------------------------------------------
// Path tables

/// Offset of the PVD's path table size field.
fn pt_fields(data: &[u8]) -> (usize, u32, u32, u32) {
    let (pvd, _) = vds(data);
    let at = pvd as usize * S;
    let vd = raw::decode_volume_descriptor(&data[at..at + S]).unwrap();
    (at, vd.path_table_size.0, vd.path_table_l, vd.path_table_m)
}

#[test]
fn path_table_claiming_2_pow_32_entries() {
    let mut data = built();
    let (at, ..) = pt_fields(&data);
    set32(&mut data, at + 132, u32::MAX);
    // Walking does not need the path table.
    let mut r = ImageReader::open(Cursor::new(&data[..])).unwrap();
    assert!(r.walk(View::Iso9660).is_ok());
    let e = fails(
        "path table 2^32",
        &data,
        lenient(),
        ParseErrorKind::BadSize("path table size", u64::from(u32::MAX)),
    );
    assert!(e.lba.is_some());
}

#[test]
fn path_table_beyond_the_end() {
    let mut data = built();
    let (at, size, _, _) = pt_fields(&data);
    let last = (data.len() / S) as u32 - 1;
    data[at + 140..at + 144].copy_from_slice(&last.to_le_bytes());
    assert!(size > 0);
    // A table of `size` bytes in the last sector fits; push it over the end.
    set32(&mut data, at + 132, 4096);
    fails(
        "path table beyond end",
        &data,
        lenient(),
        ParseErrorKind::ExtentOutOfImage,
    );
}

#[test]
fn path_table_in_the_system_area() {
    let mut data = built();
    let (at, ..) = pt_fields(&data);
    data[at + 140..at + 144].copy_from_slice(&3u32.to_le_bytes());
    fails(
        "path table in system area",
        &data,
        lenient(),
        ParseErrorKind::ExtentInReservedArea,
    );
}

#[test]
fn path_table_parent_after_child() {
    let mut data = built();
    let (_, size, l, _) = pt_fields(&data);
    // The second record (dir) names parent 7, a record that does not come before it.
    let second = l as usize * S + 10;
    assert_eq!(data[second], 3, "identifier length of DIR");
    data[second + 6..second + 8].copy_from_slice(&7u16.to_le_bytes());
    assert!(size > 20);
    fails_with(
        "path table parent",
        &data,
        lenient(),
        |k| matches!(k, ParseErrorKind::BadPathTable(m) if m.contains("parent 7")),
    );
}

#[test]
fn path_table_type_l_and_m_disagree() {
    let mut data = built();
    let (_, _, _, m) = pt_fields(&data);
    // The type M copy of the root's extent: lenient mode reads only type L.
    let at = m as usize * S + 2;
    data[at + 3] ^= 1;
    let e = deviation(
        "L/M disagree",
        &data,
        true,
        ParseErrorKind::BadPathTable(
            "type L and type M tables differ at record 1 (ECMA-119 6.9.2)".into(),
        ),
    );
    assert_eq!(e.lba, Some(u64::from(m)));
}

#[test]
fn path_table_record_with_zero_identifier_length() {
    let mut data = built();
    let (_, _, l, _) = pt_fields(&data);
    data[l as usize * S + 10] = 0; // second record
    data[l as usize * S + 11] = 9; // not all zero after it
    fails_with(
        "path table id length 0",
        &data,
        lenient(),
        |k| matches!(k, ParseErrorKind::BadPathTable(m) if m.contains("9.4.1")),
    );
}

// ------------------------------------------------------------------------------------------------
// Sizes and extents

#[test]
fn file_larger_than_the_image() {
    let data = simple(20, vec![record(19, u32::MAX - 100, 0, b"HUGE.;1")]).data;
    let e = fails(
        "huge file",
        &data,
        lenient(),
        ParseErrorKind::ExtentOutOfImage,
    );
    assert_eq!(e.lba, Some(19));
    fails(
        "huge file strict",
        &data,
        strict(),
        ParseErrorKind::ExtentOutOfImage,
    );
}

#[test]
fn multi_extent_file_larger_than_the_image() {
    // Three extents, each the whole image: every one lies inside, together they do not fit.
    let recs = vec![
        record(0, 20 * 2048, MULTI, b"BIG.;1"),
        record(0, 20 * 2048, MULTI, b"BIG.;1"),
        record(0, 20 * 2048, 0, b"BIG.;1"),
    ];
    let data = simple(20, recs).data;
    fails(
        "overlapping sum",
        &data,
        lenient(),
        ParseErrorKind::OverlappingExtents,
    );
}

#[test]
fn overlapping_extents_of_one_file() {
    let recs = vec![
        record(19, 2048, MULTI, b"TWICE.TXT;1"),
        record(19, 10, 0, b"TWICE.TXT;1"),
    ];
    let mut img = simple(21, recs);
    img.put(19, 0, b"0123456789");
    let e = deviation(
        "overlap",
        &img.data,
        false,
        ParseErrorKind::OverlappingExtents,
    );
    assert_eq!(e.lba, Some(19));
}

#[test]
fn extent_beyond_the_end() {
    let data = simple(20, vec![record(1_000_000, 10, 0, b"FAR.TXT;1")]).data;
    let e = fails(
        "far extent",
        &data,
        lenient(),
        ParseErrorKind::ExtentOutOfImage,
    );
    assert_eq!(e.lba, Some(1_000_000));
    // Lenient mode lists it; strict mode refuses the directory that names it.
    let mut r = ImageReader::open(Cursor::new(&data[..])).unwrap();
    assert_eq!(r.walk(View::Iso9660).unwrap().len(), 1);
    let mut r = ImageReader::open_with_limits(Cursor::new(&data[..]), strict()).unwrap();
    assert_eq!(
        r.walk(View::Iso9660).unwrap_err().kind,
        ParseErrorKind::ExtentOutOfImage
    );
}

#[test]
fn directory_extent_beyond_the_end() {
    let data = simple(20, vec![record(4_000_000, 2048, DIR, b"D")]).data;
    fails(
        "far dir",
        &data,
        lenient(),
        ParseErrorKind::ExtentOutOfImage,
    );
}

#[test]
fn extent_location_overflows() {
    let mut r = record(u32::MAX, 10, 0, b"WRAP.;1");
    r[1] = 5; // five blocks of extended attribute record after sector 2^32-1
    let data = simple(20, vec![r]).data;
    left_out(
        "location overflow",
        &data,
        "overflows",
        bad_record("overflows"),
    );
}

#[test]
fn truncated_last_sector() {
    let full = built();
    // Cut inside the sector of the file whose data comes last.
    let mut r = ImageReader::open(Cursor::new(&full[..])).unwrap();
    let last = r
        .walk(View::Iso9660)
        .unwrap()
        .into_iter()
        .filter(|(_, e)| !e.is_dir)
        .map(|(_, e)| e.extents[0])
        .max_by_key(|e| e.lba)
        .unwrap();
    let data = &full[..last.byte_offset() as usize + 2];
    // Lenient: everything but the file in the cut sector reads; that one is out of the image.
    let e = fails(
        "cut last sector",
        data,
        lenient(),
        ParseErrorKind::ExtentOutOfImage,
    );
    assert!(e.lba.is_some());
    // Strict: the image is not a whole number of sectors.
    fails(
        "cut last sector strict",
        data,
        strict(),
        ParseErrorKind::Truncated,
    );
}

#[test]
fn truncated_inside_the_volume_descriptor_set() {
    let full = built();
    let e = fails(
        "cut in PVD",
        &full[..16 * S + 1000],
        lenient(),
        ParseErrorKind::Truncated,
    );
    assert_eq!(e.lba, Some(16));
    let e = fails(
        "cut after PVD",
        &full[..17 * S],
        lenient(),
        ParseErrorKind::Truncated,
    );
    assert_eq!(e.lba, Some(17));
}

#[test]
fn empty_and_garbage_images() {
    fails("empty", &[], lenient(), ParseErrorKind::Truncated);
    fails(
        "all 0xFF",
        &vec![0xFF; 40 * S],
        lenient(),
        ParseErrorKind::NoVolumeDescriptor,
    );
    fails(
        "all zero",
        &vec![0; 40 * S],
        lenient(),
        ParseErrorKind::NoVolumeDescriptor,
    );
}

#[test]
fn missing_terminator() {
    let mut img = simple(21, vec![]);
    img.put(17, 0, &[0; 7]); // the terminator becomes a zero sector
    let e = deviation(
        "no terminator",
        &img.data,
        false,
        ParseErrorKind::MissingTerminator,
    );
    assert_eq!((e.lba, e.offset), (Some(17), Some(1)));
}

#[test]
fn ten_thousand_volume_descriptors() {
    let n = 10_000u32;
    let mut img = TestImage::new(16 + n as usize + 2);
    let root = 16 + n + 1;
    img.pvd(16, "HOSTILE", root, 2048);
    for lba in 17..16 + n {
        img.put(lba, 0, b"\x00CD001\x01"); // boot records
    }
    img.dir(root, &dots(root, 2048, root, 2048));
    // No terminator within the default limit of 64.
    let e = fails(
        "10k descriptors",
        &img.data,
        lenient(),
        ParseErrorKind::LimitExceeded("volume descriptors", 64),
    );
    assert_eq!(e.lba, Some(16 + 64));
    // A caller who expects such images raises the limit; the scan stays linear.
    img.terminator(16 + n);
    let many = Limits {
        max_volume_descriptors: 20_000,
        ..lenient()
    };
    reads("10k descriptors, raised limit", &img.data, many, false);
}

// ------------------------------------------------------------------------------------------------
// Directory records

#[test]
fn zero_length_records_everywhere() {
    // A root of four sectors of zeros: no ".", no "..", nothing.
    let mut img = TestImage::new(24);
    img.pvd(16, "HOSTILE", 18, 4 * 2048).terminator(17);
    let r = reads("zeros lenient", &img.data, lenient(), false);
    assert_eq!(r.entries, 0);
    let e = fails_with("zeros strict", &img.data, strict(), bad_record("at least"));
    assert_eq!(e.lba, Some(18));
}

#[test]
fn zero_length_root_record() {
    let mut img = simple(20, vec![]);
    img.put(16, 156, &[0]);
    let e = fails_with(
        "root record length 0",
        &img.data,
        lenient(),
        bad_record("root record"),
    );
    assert_eq!((e.lba, e.offset), (Some(16), Some(156)));
}

#[test]
fn record_length_255_with_identifier_overrun() {
    let mut r = record(19, 5, 0, b"X.;1");
    r.resize(255, 0);
    r[0] = 255;
    r[32] = 250; // 33 + 250 > 255
    let data = simple(20, vec![r]).data;
    let (e, _) = left_out(
        "id overrun",
        &data,
        "sector 18 offset 68",
        bad_record("overruns the record"),
    );
    assert_eq!((e.lba, e.offset), (Some(18), Some(68)));
}

#[test]
fn record_crossing_the_sector_boundary() {
    // Records of 240 bytes (identifier plus system use) fill the root up to byte 1900 with no
    // zero-length gap; the record at 1900 claims 200 bytes, past the sector's end at 2048.
    let mut img = simple(20, vec![]);
    let sized = |id: &[u8], len: usize| {
        let mut r = record(19, 0, 0, id);
        r.resize(len, 0);
        r[0] = len as u8;
        r
    };
    let mut at = 68;
    while at + 240 <= 1900 {
        img.put(18, at, &sized(format!("F{at}.;1").as_bytes(), 240));
        at += 240;
    }
    img.put(18, at, &sized(b"L.;1", 1900 - at));
    img.put(18, 1900, &sized(b"X.;1", 200)[..148]);
    let (e, read) = left_out(
        "crossing",
        &img.data,
        "sector 18 offset 1900",
        bad_record("crosses"),
    );
    assert_eq!((e.lba, e.offset), (Some(18), Some(1900)));
    // The records before it are read.
    assert!(read.entries >= 8, "{read:?}");
}

#[test]
fn record_shorter_than_34() {
    let mut img = simple(20, vec![]);
    img.put(18, 68, &[20]);
    left_out(
        "short record",
        &img.data,
        "less than 34",
        bad_record("less than 34"),
    );
}

#[test]
fn multi_extent_chain_of_100000_records() {
    let n = 100_000usize;
    let mut recs: Vec<Vec<u8>> = (0..n).map(|_| record(19, 1, MULTI, b"F.;1")).collect();
    recs.push(record(19, 1, 0, b"F.;1"));
    let sectors = 19 + n / (2048 / 38) + 4;
    let data = simple(sectors, recs).data;
    let e = fails(
        "100k-record chain",
        &data,
        lenient(),
        ParseErrorKind::LimitExceeded("extents per file", 4096),
    );
    assert!(e.lba.is_some() && e.offset.is_some());
}

#[test]
fn directory_claiming_a_million_entries() {
    // 34 MB of directory in a 40 KB image.
    let data = simple(20, vec![record(19, 34_000_000, DIR, b"MANY")]).data;
    fails(
        "1e6 claimed",
        &data,
        lenient(),
        ParseErrorKind::ExtentOutOfImage,
    );
}

#[test]
fn directory_with_200000_real_entries() {
    let n = 200_000usize;
    let recs: Vec<Vec<u8>> = (0..n)
        .map(|i| record(0, 0, 0, format!("F{i:06}.;1").as_bytes()))
        .collect();
    let sectors = 19 + n / (2048 / 44) + 4;
    let data = simple(sectors, recs).data;
    fails(
        "200k entries",
        &data,
        lenient(),
        ParseErrorKind::LimitExceeded("entries per directory", 100_000),
    );
    let few = Limits {
        max_entries_per_dir: 300_000,
        max_total_entries: 1000,
        ..lenient()
    };
    fails(
        "200k entries, total limit",
        &data,
        few,
        ParseErrorKind::LimitExceeded("total entries", 1000),
    );
}

#[test]
fn directory_larger_than_the_directory_limit() {
    let data = simple(20, vec![record(19, 0xFFFF_F800, DIR, b"HUGE")]).data;
    fails(
        "4 GiB directory",
        &data,
        lenient(),
        ParseErrorKind::LimitExceeded("directory bytes", 64 << 20),
    );
}

#[test]
fn metadata_budget_stops_read_amplification() {
    // 300 directories, each naming a different 2 MiB run of one 4 MiB zero area: every one
    // is distinct (no loop), each reads 2 MiB. The walk would read 600 MiB.
    let area = 2048u32; // sectors of zeros, from sector 100
    let total = 100 + area as usize;
    let recs: Vec<Vec<u8>> = (0..300u32)
        .map(|i| record(100 + i, 2 << 20, DIR, format!("D{i}").as_bytes()))
        .collect();
    let data = simple(total, recs).data;
    fails(
        "amplification",
        &data,
        lenient(),
        ParseErrorKind::LimitExceeded("metadata bytes", 256 << 20),
    );
    let small = Limits {
        max_metadata_bytes: 1 << 20,
        ..lenient()
    };
    fails(
        "amplification, 1 MiB budget",
        &data,
        small,
        ParseErrorKind::LimitExceeded("metadata bytes", 1 << 20),
    );
}

#[test]
fn deeply_nested_directories() {
    let depth = 1000u32;
    let mut img = TestImage::new(20 + depth as usize);
    img.pvd(16, "HOSTILE", 18, 2048).terminator(17);
    for i in 0..=depth {
        let lba = 18 + i;
        let parent = if i == 0 { 18 } else { lba - 1 };
        let mut recs = dots(lba, 2048, parent, 2048);
        if i < depth {
            recs.push(record(lba + 1, 2048, DIR, b"D"));
        }
        img.dir(lba, &recs);
    }
    fails(
        "depth 1000",
        &img.data,
        lenient(),
        ParseErrorKind::LimitExceeded("directory depth", 64),
    );
    let deep = Limits {
        max_depth: 2000,
        ..lenient()
    };
    let r = reads("depth 1000, raised limit", &img.data, deep, false);
    assert_eq!(r.entries, depth as usize);
}

#[test]
fn interleaved_file_with_absurd_unit_size() {
    // Unit of 1 block, gap of 255: a 10 MB file would need 4883 extents.
    let mut r = record(19, 10_000_000, 0, b"I.;1");
    r[26] = 1;
    r[27] = 255;
    let data = simple(20, vec![r]).data;
    fails(
        "interleave extents",
        &data,
        lenient(),
        ParseErrorKind::LimitExceeded("extents per file", 4096),
    );
    // Unit and gap of 255 blocks: 20 extents spread over 10,000 sectors of a 20-sector image.
    let mut r = record(19, 10_000_000, 0, b"I.;1");
    r[26] = 255;
    r[27] = 255;
    let data = simple(20, vec![r]).data;
    fails(
        "interleave far",
        &data,
        lenient(),
        ParseErrorKind::ExtentOutOfImage,
    );
}

// ------------------------------------------------------------------------------------------------
// Both-byte-order fields

#[test]
fn endian_mismatch_in_a_directory_record_location() {
    let mut data = base();
    let (at, _, _) = find(&data, 18, b"F.TXT;1");
    data[at + 6..at + 10].copy_from_slice(&[9, 9, 9, 9]);
    let e = deviation(
        "dirrec location",
        &data,
        false,
        ParseErrorKind::EndianMismatch("directory record location of extent"),
    );
    assert_eq!((e.lba, e.offset), (Some(18), Some(68)));
}

#[test]
fn endian_mismatch_in_a_directory_record_length() {
    let mut data = base();
    let (at, _, _) = find(&data, 18, b"F.TXT;1");
    data[at + 14..at + 18].copy_from_slice(&[0, 0, 0, 0]);
    deviation(
        "dirrec length",
        &data,
        false,
        ParseErrorKind::EndianMismatch("directory record data length"),
    );
}

#[test]
fn endian_mismatch_in_the_volume_space_size() {
    let mut data = base();
    data[16 * S + 84..16 * S + 88].copy_from_slice(&[0, 0, 0, 99]);
    let e = fails(
        "PVD volume space",
        &data,
        lenient(),
        ParseErrorKind::EndianMismatch("volume space size"),
    );
    assert_eq!((e.lba, e.offset), (Some(16), Some(80)));
}

#[test]
fn endian_mismatch_in_the_volume_set_size() {
    let mut data = base();
    data[16 * S + 122..16 * S + 124].copy_from_slice(&[0, 7]);
    let e = deviation(
        "PVD volume set size",
        &data,
        false,
        ParseErrorKind::EndianMismatch("volume set size"),
    );
    assert_eq!(e.offset, Some(120));
}

#[test]
fn endian_mismatch_in_the_root_record() {
    let mut data = base();
    data[16 * S + 156 + 6..16 * S + 156 + 10].copy_from_slice(&[1, 2, 3, 4]);
    deviation(
        "root record location",
        &data,
        false,
        ParseErrorKind::EndianMismatch("root record location of extent"),
    );
}

// ------------------------------------------------------------------------------------------------
// Volume descriptor fields

#[test]
fn block_size_512() {
    let mut data = base();
    data[16 * S + 128..16 * S + 132].copy_from_slice(&both16(512));
    let e = fails(
        "512",
        &data,
        lenient(),
        ParseErrorKind::UnsupportedBlockSize(512),
    );
    assert_eq!((e.lba, e.offset), (Some(16), Some(128)));
}

#[test]
fn block_size_4096() {
    let mut data = base();
    data[16 * S + 128..16 * S + 132].copy_from_slice(&both16(4096));
    fails_with(
        "4096",
        &data,
        lenient(),
        |k| matches!(k, ParseErrorKind::BadField(m) if m.contains("logical block size")),
    );
}

#[test]
fn volume_space_size_zero() {
    let mut data = base();
    set32(&mut data, 16 * S + 80, 0);
    deviation(
        "volume space 0",
        &data,
        false,
        ParseErrorKind::BadSize("volume space size", 0),
    );
}

#[test]
fn volume_space_size_huge() {
    let mut data = base();
    set32(&mut data, 16 * S + 80, u32::MAX);
    deviation("volume space huge", &data, false, ParseErrorKind::Truncated);
}

#[test]
fn volume_space_size_smaller_than_the_data() {
    let mut data = base();
    set32(&mut data, 16 * S + 80, 19); // the file at sector 19 lies beyond it
    deviation(
        "volume space small",
        &data,
        false,
        ParseErrorKind::ExtentOutOfImage,
    );
}

#[test]
fn root_extent_zero() {
    let mut data = base();
    set32(&mut data, 16 * S + 156 + 2, 0);
    let e = fails(
        "root at 0",
        &data,
        lenient(),
        ParseErrorKind::ExtentInReservedArea,
    );
    assert_eq!(e.lba, Some(0));
    fails(
        "root at 0 strict",
        &data,
        strict(),
        ParseErrorKind::ExtentInReservedArea,
    );
}

#[test]
fn root_pointing_into_the_system_area() {
    let mut data = base();
    set32(&mut data, 16 * S + 156 + 2, 5);
    fails(
        "root at 5",
        &data,
        lenient(),
        ParseErrorKind::ExtentInReservedArea,
    );
}

#[test]
fn root_pointing_at_the_volume_descriptors() {
    let mut data = base();
    set32(&mut data, 16 * S + 156 + 2, 16);
    let e = fails(
        "root at PVD",
        &data,
        lenient(),
        ParseErrorKind::ExtentInReservedArea,
    );
    assert_eq!(e.lba, Some(16));
}

#[test]
fn subdirectory_pointing_at_the_terminator() {
    let data = simple(20, vec![record(17, 2048, DIR, b"T")]).data;
    fails(
        "dir at terminator",
        &data,
        lenient(),
        ParseErrorKind::ExtentInReservedArea,
    );
}

#[test]
fn root_with_empty_identifier() {
    let mut data = base();
    data[16 * S + 156 + 32] = 0;
    deviation(
        "root id empty",
        &data,
        false,
        ParseErrorKind::BadDirectoryRecord(
            "root record: identifier is not a single (00) byte (ECMA-119 7.6.2)".into(),
        ),
    );
}

// ------------------------------------------------------------------------------------------------
// Joliet

#[test]
fn joliet_svd_with_bad_escape() {
    let mut img = simple(21, vec![record(19, 5, 0, b"F.TXT;1")]);
    img.data.copy_within(17 * S..18 * S, 19 * S); // keep the terminator's bytes
    img.svd(17, b"%/X", "HOSTILE", 18, 2048).terminator(19);
    let mut r = ImageReader::open(Cursor::new(&img.data[..])).unwrap();
    assert_eq!(r.views(), vec![View::Iso9660], "not taken as Joliet");
    assert!(r.walk(View::Iso9660).is_ok());
    let e = fails(
        "bad escape strict",
        &img.data,
        strict(),
        ParseErrorKind::BadField("Joliet escape sequences"),
    );
    assert_eq!((e.lba, e.offset), (Some(17), Some(88)));
}

#[test]
fn joliet_identifier_of_odd_length() {
    // PVD 16, Joliet SVD 17, terminator 18; ISO root 19, Joliet root 20, data 21.
    let mut img = TestImage::new(22);
    img.pvd(16, "HOSTILE", 19, 2048)
        .svd(17, b"%/E", "HOSTILE", 20, 2048)
        .terminator(18);
    let mut iso = dots(19, 2048, 19, 2048);
    iso.push(record(21, 5, 0, b"F.;1"));
    img.dir(19, &iso);
    let mut id = ucs2("file");
    id.push(b'x'); // half a character
    let mut j = dots(20, 2048, 20, 2048);
    j.push(record(21, 5, 0, &id));
    img.dir(20, &j);
    img.put(21, 0, b"hello");
    let e = deviation(
        "odd Joliet id",
        &img.data,
        false,
        ParseErrorKind::BadIdentifier(
            "\"\\x00f\\x00i\\x00l\\x00ex\": Joliet identifiers are UCS-2 (an even number of bytes)"
                .into(),
        ),
    );
    assert_eq!((e.lba, e.offset), (Some(20), Some(68)));
    // Lenient mode drops the odd byte.
    let mut r = ImageReader::open(Cursor::new(&img.data[..])).unwrap();
    assert_eq!(r.lookup(View::Joliet, "/file").unwrap().size, 5);
}

#[test]
fn joliet_identifier_with_forbidden_characters() {
    let mut data = built();
    let (_, svd) = vds(&data);
    let (jroot, _) = root_of(&data, svd);
    let (at, _, _) = find(&data, jroot, &ucs2("a.txt"));
    data[at + 33 + 3] = b':'; // "a.txt" -> "a:txt"
    reads("Joliet colon lenient", &data, lenient(), true);
    let e = fails_with(
        "Joliet colon strict",
        &data,
        strict(),
        |k| matches!(k, ParseErrorKind::BadIdentifier(m) if m.contains("exclude * / : ; ? \\")),
    );
    assert_eq!(e.lba, Some(u64::from(jroot)));
}

// ------------------------------------------------------------------------------------------------
// Other lenient-mode deviations

#[test]
fn file_identifier_without_version() {
    let mut img = simple(21, vec![record(19, 5, 0, b"README")]);
    img.put(19, 0, b"12345");
    let e = deviation(
        "no ;1",
        &img.data,
        false,
        ParseErrorKind::BadIdentifier(
            "\"README\": no ';' version separator (ECMA-119 7.5.1)".into(),
        ),
    );
    assert_eq!((e.lba, e.offset), (Some(18), Some(68)));
    let mut r = ImageReader::open(Cursor::new(&img.data[..])).unwrap();
    assert_eq!(r.lookup(View::Iso9660, "/README").unwrap().size, 5);
}

#[test]
fn file_identifier_with_lower_case() {
    let data = simple(20, vec![record(19, 0, 0, b"lower.txt;1")]).data;
    deviation("lower case", &data, false, {
        ParseErrorKind::BadIdentifier(
            "\"lower.txt;1\": file identifiers use d-characters only (ECMA-119 7.5.1)".into(),
        )
    });
}

#[test]
fn garbage_after_the_identifier() {
    let mut r = record(19, 5, 0, b"ABC.;1");
    assert_eq!(r[33 + 6], 0);
    r[33 + 6] = 0xEE; // 9.1.12 padding byte
    let mut img = simple(21, vec![r]);
    img.put(19, 0, b"12345");
    deviation(
        "padding garbage",
        &img.data,
        false,
        ParseErrorKind::BadDirectoryRecord(
            "padding field (ECMA-119 9.1.12) missing or not zero".into(),
        ),
    );
}

#[test]
fn garbage_after_the_last_record_of_a_sector() {
    let mut img = simple(21, vec![record(19, 0, 0, b"F.;1")]);
    img.put(18, 2000, &[0, 0xAB, 0xCD]); // a zero length byte, then garbage
    let e = deviation(
        "sector tail garbage",
        &img.data,
        false,
        ParseErrorKind::BadDirectoryRecord(
            "bytes after the last record of a sector are not zero (ECMA-119 6.8.1.1)".into(),
        ),
    );
    assert_eq!(e.lba, Some(18));
}

#[test]
fn directory_length_not_a_multiple_of_2048() {
    let mut data = base();
    // The PVD's root record and the root's own "." record say 2000 bytes.
    set32(&mut data, 16 * S + 156 + 10, 2000);
    set32(&mut data, 18 * S + 10, 2000);
    deviation(
        "dir length 2000",
        &data,
        false,
        ParseErrorKind::BadSize(
            "directory data length (ECMA-119 6.8.1.3: whole sectors)",
            2000,
        ),
    );
}

#[test]
fn directory_without_dot_records() {
    let mut img = TestImage::new(20);
    img.dir(18, &[record(19, 0, 0, b"F.;1")]);
    img.pvd(16, "HOSTILE", 18, 2048).terminator(17);
    deviation(
        "no dot",
        &img.data,
        false,
        ParseErrorKind::BadDirectoryRecord(
            "the first record of a directory is not \".\" (ECMA-119 6.8.2.2)".into(),
        ),
    );
}

#[test]
fn dot_record_naming_another_sector() {
    let mut data = base();
    set32(&mut data, 18 * S + 2, 19);
    deviation("dot elsewhere", &data, false, {
        ParseErrorKind::BadDirectoryRecord(
            "the \".\" record names sector 19 instead of the directory's own sector 18 \
             (ECMA-119 6.8.2.2)"
                .into(),
        )
    });
}

#[test]
fn open_multi_extent_chain_at_the_end() {
    let mut img = simple(21, vec![record(19, 5, MULTI, b"F.;1")]);
    img.put(19, 0, b"12345");
    deviation("open chain", &img.data, false, {
        ParseErrorKind::BadDirectoryRecord(
            "the directory ends inside a multi-extent chain (ECMA-119 9.1.6 bit 7)".into(),
        )
    });
}

#[test]
fn file_data_in_the_system_area() {
    let mut img = simple(20, vec![record(2, 5, 0, b"MBR.;1")]);
    img.put(2, 0, b"boot!");
    let e = deviation(
        "file in system area",
        &img.data,
        false,
        ParseErrorKind::ExtentInReservedArea,
    );
    assert_eq!(e.lba, Some(2));
}

#[test]
fn primary_descriptor_version_2() {
    let mut data = base();
    data[16 * S + 6] = 2;
    deviation(
        "PVD version",
        &data,
        false,
        ParseErrorKind::BadField("volume descriptor version"),
    );
}

// ------------------------------------------------------------------------------------------------
// Properties

fn mutate(data: &mut [u8], edits: &[(u32, u8)]) {
    for &(at, v) in edits {
        let i = at as usize % data.len();
        data[i] = v;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random byte edits of the metadata area of a built image never panic, and stay in
    /// bounds, in both modes.
    #[test]
    fn mutated_built_images_stay_bounded(
        edits in prop::collection::vec((16u32 * 2048..30 * 2048, any::<u8>()), 1..32)
    ) {
        let mut data = built();
        mutate(&mut data, &edits);
        for limits in [lenient(), strict()] {
            let _ = bounded("mutated", || exercise(&data, limits, true));
        }
    }

    /// Every raw decoder fed arbitrary bytes never panics.
    #[test]
    fn raw_decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2200)) {
        let _ = raw::decode_dir_record(&bytes);
        let _ = raw::decode_path_table_record(&bytes, false);
        let _ = raw::decode_path_table_record(&bytes, true);
        let _ = raw::decode_path_table(&bytes, false, 10_000);
        let _ = raw::decode_volume_descriptor(&bytes);
        let mut vd = bytes.clone();
        vd.resize(2048, 0);
        vd[1..6].copy_from_slice(b"CD001");
        let _ = raw::decode_volume_descriptor(&vd);
    }

    /// Arbitrary bytes after a valid volume descriptor set never panic.
    #[test]
    fn arbitrary_directory_bytes(dir in prop::collection::vec(any::<u8>(), 0..4096)) {
        let mut img = simple(22, vec![]);
        img.put(18, 0, &dir[..dir.len().min(4 * 2048)]);
        for limits in [lenient(), strict()] {
            let _ = bounded("arbitrary dir", || exercise(&img.data, limits, true));
        }
    }
}

// ------------------------------------------------------------------------------------------------
// El Torito and Rock Ridge readers

/// A glassmaster image with a BIOS boot entry.
fn bootable() -> Vec<u8> {
    let mut b = ImageBuilder::new();
    b.build_time(chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap());
    b.add_bytes("/boot.bin", vec![0xEB; 2048]).unwrap();
    b.add_boot_entry(glassmaster::BootImage::bios("/boot.bin"));
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let mut out = Vec::new();
    image.write_to(&mut out, &mut NoProgress).unwrap();
    out
}

fn boot_images(data: &[u8]) -> Result<Vec<glassmaster::read::BootImageInfo>, ParseError> {
    let mut r = ImageReader::open(Cursor::new(data))?;
    r.boot_images()
}

#[test]
fn boot_catalog_pointing_outside_the_image() {
    let mut img = bootable();
    assert_eq!(bounded("boot ok", || boot_images(&img)).unwrap().len(), 1);
    // ET 2.0: the boot record (sector 17) holds the catalog's block at 0x47.
    img[17 * 2048 + 0x47..17 * 2048 + 0x4B].copy_from_slice(&0x7FFF_FFF0u32.to_le_bytes());
    let e = bounded("catalog outside", || boot_images(&img)).unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::ExtentOutOfImage, "{e}");
    assert_eq!(e.lba, Some(0x7FFF_FFF0));
}

#[test]
fn boot_image_pointing_outside_the_image() {
    let mut img = bootable();
    let cat =
        u32::from_le_bytes(img[17 * 2048 + 0x47..17 * 2048 + 0x4B].try_into().unwrap()) as usize;
    // The initial/default entry (catalog bytes 32..64): load RBA at offset 8.
    img[cat * 2048 + 32 + 8..cat * 2048 + 32 + 12].copy_from_slice(&0x0100_0000u32.to_le_bytes());
    let e = bounded("boot image outside", || boot_images(&img)).unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::ExtentOutOfImage, "{e}");
}

#[test]
fn boot_catalog_with_a_bad_checksum() {
    let mut img = bootable();
    let cat =
        u32::from_le_bytes(img[17 * 2048 + 0x47..17 * 2048 + 0x4B].try_into().unwrap()) as usize;
    img[cat * 2048 + 4] ^= 0x55; // inside the validation entry's id string
    let e = bounded("catalog checksum", || boot_images(&img)).unwrap_err();
    assert!(matches!(e.kind, ParseErrorKind::BadDescriptor(_)), "{e}");
}

/// A Rock Ridge image whose file has a name long enough to continue in a continuation area,
/// and that record's CE entry patched to point at the record's own system use field: the
/// chain loops. The Rock Ridge view must fail with a located error, not hang.
#[test]
fn rock_ridge_continuation_area_pointing_at_itself() {
    let long = "n".repeat(240);
    let mut b = ImageBuilder::new();
    b.filesystems(glassmaster::FileSystems::ISO9660 | glassmaster::FileSystems::ROCK_RIDGE);
    b.build_time(chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap());
    b.add_bytes(&format!("/{long}"), &b"x"[..]).unwrap();
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let mut img = Vec::new();
    image.write_to(&mut img, &mut NoProgress).unwrap();
    assert!(reads("rr ok", &img, lenient(), false).entries >= 1);
    // The root directory (PVD root record, ECMA-119 8.4.18: extent at offset 156 + 2).
    let root =
        u32::from_le_bytes(img[16 * 2048 + 158..16 * 2048 + 162].try_into().unwrap()) as usize;
    let dir = root * 2048;
    // Third record: the file (after "." and "..").
    let mut off = dir;
    for _ in 0..2 {
        off += img[off] as usize;
    }
    let len = img[off] as usize;
    let id_len = img[off + 32] as usize;
    let su = off + 33 + id_len + (1 - id_len % 2);
    // Find its CE entry and make it point at this very system use field.
    let mut p = su;
    let mut patched = false;
    while p + 4 <= off + len {
        let (sig, l) = (&img[p..p + 2], img[p + 2] as usize);
        if l == 0 {
            break;
        }
        if sig == b"CE" {
            let both = |v: u32| [v.to_le_bytes(), v.to_be_bytes()].concat();
            img[p + 4..p + 12].copy_from_slice(&both(root as u32));
            img[p + 12..p + 20].copy_from_slice(&both((su - dir) as u32));
            img[p + 20..p + 28].copy_from_slice(&both((off + len - su) as u32));
            patched = true;
            break;
        }
        p += l;
    }
    assert!(patched, "the long name's record has a CE entry");
    let e = bounded("CE loop", || {
        let mut r = ImageReader::open(Cursor::new(&img[..]))?;
        r.walk(View::RockRidge)
    })
    .unwrap_err();
    assert!(
        matches!(
            e.kind,
            ParseErrorKind::BadSystemUse(_) | ParseErrorKind::LimitExceeded(..)
        ),
        "{e}"
    );
    assert!(e.lba.is_some(), "the error names the sector: {e}");
}

/// A UDF file entry whose allocation descriptors continue (extent type 3, ECMA-167 4/14.14.1.1)
/// in an allocation extent descriptor that continues in itself: the chain loops. Reading the
/// UDF view must fail with a located error, within the bounds.
#[test]
fn udf_allocation_extent_descriptor_chain_that_loops() {
    use glassmaster::raw::udf::tag::{finish_tag, ident};
    let mut b = ImageBuilder::new();
    b.filesystems(glassmaster::FileSystems::UDF);
    b.options_mut().udf.revision = glassmaster::UdfRevision::V2_01;
    b.build_time(chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap());
    b.add_bytes("/f.bin", vec![0x42u8; 10_000]).unwrap();
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let mut img = Vec::new();
    image.write_to(&mut img, &mut NoProgress).unwrap();
    let total = img.len() / 2048;
    let fe_sector = {
        let mut r = ImageReader::open(Cursor::new(&img[..])).unwrap();
        let e = r.lookup(View::Udf, "/f.bin").unwrap();
        e.udf.as_ref().expect("UDF entry").icb_sector() as usize
    };
    const P: usize = 257; // partition start (anchor at 256)
                          // A block in the padding after the data, inside the partition.
    let aed_abs = total - 10;
    let aed_rel = (aed_abs - P) as u32;
    // The file entry (EFE, UDF 2.01): L_EA at 208, L_AD at 212, descriptors after the EAs.
    let fe = fe_sector * 2048;
    let l_ea = u32::from_le_bytes(img[fe + 208..fe + 212].try_into().unwrap()) as usize;
    let l_ad = u32::from_le_bytes(img[fe + 212..fe + 216].try_into().unwrap()) as usize;
    assert!(l_ad >= 8, "the file has a short_ad");
    let ad = fe + 216 + l_ea;
    // First short_ad: type 3 (next extent of allocation descriptors), 24 bytes, at the AED.
    img[ad..ad + 4].copy_from_slice(&((3u32 << 30) | 24).to_le_bytes());
    img[ad + 4..ad + 8].copy_from_slice(&aed_rel.to_le_bytes());
    let fe_len = 216 + l_ea + l_ad;
    let fe_rel = (fe_sector - P) as u32;
    finish_tag(
        &mut img[fe..fe + fe_len],
        ident::EFE,
        3,
        1,
        fe_rel,
        fe_len - 16,
    );
    // The AED (ECMA-167 4/14.5): previous AED 0, L_AD 8, one short_ad of type 3 naming itself.
    let a = aed_abs * 2048;
    img[a + 16..a + 20].copy_from_slice(&0u32.to_le_bytes());
    img[a + 20..a + 24].copy_from_slice(&8u32.to_le_bytes());
    img[a + 24..a + 28].copy_from_slice(&((3u32 << 30) | 24).to_le_bytes());
    img[a + 28..a + 32].copy_from_slice(&aed_rel.to_le_bytes());
    finish_tag(&mut img[a..a + 32], ident::AED, 3, 1, aed_rel, 16);
    // Lenient mode leaves the file out of its directory, naming it.
    let mut r = ImageReader::open(Cursor::new(&img[..])).unwrap();
    assert!(r.walk(View::Udf).unwrap().is_empty());
    assert!(
        r.left_out().len() == 1 && r.left_out()[0].starts_with("/f.bin: "),
        "{:?}",
        r.left_out()
    );
    let e = bounded("AED loop", || {
        let mut r = ImageReader::open_with_limits(Cursor::new(&img[..]), Limits::strict())?;
        let walk = r.walk(View::Udf)?;
        for (_, e) in &walk {
            if !e.is_dir {
                r.read_file(e)?;
            }
        }
        Ok::<_, ParseError>(walk.len())
    })
    .unwrap_err();
    assert!(
        matches!(&e.kind, ParseErrorKind::BadDescriptor(m) if m.contains("loop"))
            || matches!(e.kind, ParseErrorKind::LimitExceeded(..)),
        "{e}"
    );
    assert!(e.lba.is_some(), "the error names the sector: {e}");
}
