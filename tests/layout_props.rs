//! Property tests of the layout: random trees (Unicode and long names, names that collide after
//! ISO 9660 mangling, empty files and directories, up to 8 directory levels) built with
//! `add_bytes` / `add_dir` at every level, with and without Joliet. Checked: the progress items
//! (sorted, contiguous, covering the image, lookups), file extents, and, through the test walker
//! of `tests/common`, both directory trees (bytes, names, ECMA-119 9.3 order and uniqueness,
//! identifier rules per level, records within sectors, path tables L = M = the directory tree).

mod common;

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::TimeZone;
use common::*;
use glassmaster::{Error, FileSystems, ImageBuilder, IsoLevel, ItemKind};
use proptest::prelude::*;
use std::io::Read as _;

// ------------------------------------------------------------------------------------------------
// Generators

fn leaf_name() -> impl Strategy<Value = String> {
    const POOL: &[&str] = &[
        "a.txt",
        "A.TXT",
        "a-txt",
        "a_txt",
        "A_TXT",
        "a",
        "A",
        "b.",
        "b",
        ".hidden",
        "_hidden",
        "Makefile",
        "makefile",
        "longfilename1.txt",
        "longfilename2.txt",
        "LONGFILENAME3.TXT",
        "x.tar.gz",
        "x_tar.gz",
        "x.tar.bz2",
        "name.with.many.dots",
        "README",
        "readme.md",
        "ümlaut.txt",
        "UMLAUT.TXT",
        "日本語.txt",
        "😀",
        "😀.txt",
        "what?.txt",
        "a:b",
        "star*",
        "semi;colon",
        "back\\slash",
        "sp ace.txt",
        "sp_ace.txt",
    ];
    prop_oneof![
        6 => proptest::sample::select(POOL).prop_map(str::to_string),
        3 => "[a-zA-Z0-9_ .-]{1,14}",
        2 => "[a-zäöüßΩλ日本語😀 ._-]{1,14}",
        1 => "[a-z]{50,110}(\\.[a-z]{1,4})?",
        1 => "[äöü日Ω]{60,80}(\\.txt)?",
        1 => "[a-z]{1,4}\\.[a-zA-Z]{20,40}",
        1 => "[A-Za-z]{25,40}\\.[a-z]{1,8}",
        // Few letters, long extensions: collisions near the 30-character limit.
        2 => "[aA]{1,2}\\.[bB]{27,29}",
    ]
    .prop_filter("not . or ..", |s| s != "." && s != "..")
}

fn dir_name() -> impl Strategy<Value = String> {
    const POOL: &[&str] = &[
        "d", "D", "sub", "Sub", "x.y", "X_Y", "ü", "日本", "a b", "a_b", "dir.ext", "DIR_EXT",
        "dup",
    ];
    prop_oneof![
        8 => proptest::sample::select(POOL).prop_map(str::to_string),
        1 => "[a-z]{30,70}",
        1 => "[a-zΩ?*]{1,10}",
    ]
    .prop_filter("not . or ..", |s| s != "." && s != "..")
}

#[derive(Clone, Debug)]
enum Op {
    File(Vec<String>, String, usize),
    Dir(Vec<String>, String),
}

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        Just(2047),
        Just(2048),
        Just(2049),
        Just(4096),
        1..600usize,
        0..9000usize
    ]
}

fn op() -> impl Strategy<Value = Op> {
    // Mostly shallow, so that names often meet in one directory.
    let dirs = prop_oneof![3 => proptest::collection::vec(dir_name(), 0..=1), 1 => proptest::collection::vec(dir_name(), 0..=7)];
    (dirs, leaf_name(), proptest::option::weighted(0.8, size())).prop_map(|(dirs, leaf, sz)| {
        match sz {
            Some(n) => Op::File(dirs, leaf, n),
            // A directory below seven others would be at level 9 (the root is level 1).
            None => Op::Dir(dirs.into_iter().take(6).collect(), leaf),
        }
    })
}

fn level() -> impl Strategy<Value = IsoLevel> {
    prop_oneof![
        Just(IsoLevel::Level1),
        Just(IsoLevel::Level2),
        Just(IsoLevel::Level3),
        Just(IsoLevel::Iso1999)
    ]
}

// ------------------------------------------------------------------------------------------------
// The user's tree, as the test sees it

#[derive(Default, Debug)]
struct Model {
    dirs: BTreeSet<String>,
    files: BTreeMap<String, Vec<u8>>,
}

fn join_path(dirs: &[String], leaf: &str) -> String {
    let mut s = String::new();
    for d in dirs.iter().map(String::as_str).chain([leaf]) {
        s.push('/');
        s.push_str(d);
    }
    s
}

fn parent_of(p: &str) -> &str {
    match p.rfind('/') {
        Some(0) => "/",
        Some(i) => &p[..i],
        None => "/",
    }
}

fn name_of(p: &str) -> &str {
    p.rsplit('/').next().unwrap()
}

impl Model {
    fn add_dirs(&mut self, p: &str) {
        let mut cur = String::new();
        for c in p.split('/').filter(|c| !c.is_empty()) {
            cur.push('/');
            cur.push_str(c);
            self.dirs.insert(cur.clone());
        }
    }
    /// Children of `dir`: (path, is_dir).
    fn children(&self, dir: &str) -> Vec<(String, bool)> {
        let d = self
            .dirs
            .iter()
            .filter(|p| p.as_str() != "/" && parent_of(p) == dir)
            .map(|p| (p.clone(), true));
        let f = self
            .files
            .keys()
            .filter(|p| parent_of(p) == dir)
            .map(|p| (p.clone(), false));
        d.chain(f).collect()
    }
}

/// Applies the operations to a builder and the model; adds the builder refuses (a file where a
/// directory is needed, a name seen twice) are skipped in both.
fn apply(ops: &[Op], b: &mut ImageBuilder) -> Model {
    let mut m = Model::default();
    m.dirs.insert("/".into());
    for (i, op) in ops.iter().enumerate() {
        match op {
            Op::File(dirs, leaf, n) => {
                let p = join_path(dirs, leaf);
                let data = content(i as u64 + 1, *n);
                match b.add_bytes(&p, data.clone()) {
                    Ok(_) => {
                        m.add_dirs(parent_of(&p));
                        m.files.insert(p, data);
                    }
                    Err(Error::DuplicatePath(_)) => {}
                    Err(e) => panic!("add_bytes({p:?}): {e}"),
                }
            }
            Op::Dir(dirs, leaf) => {
                let p = join_path(dirs, leaf);
                match b.add_dir(&p) {
                    Ok(_) => m.add_dirs(&p),
                    Err(Error::DuplicatePath(_)) => {}
                    Err(e) => panic!("add_dir({p:?}): {e}"),
                }
            }
        }
    }
    m
}

// ------------------------------------------------------------------------------------------------
// Rules checked against the on-disk identifiers

/// ECMA-119 9.3: by file name, then extension, each compared as if padded with spaces (0x20),
/// then by version number, highest first. Directory identifiers have no extension or version.
fn ecma119_order(a: &[u8], b: &[u8]) -> Ordering {
    fn parts(id: &[u8]) -> (&[u8], &[u8], u32) {
        let (body, version) = match id.iter().position(|&c| c == b';') {
            Some(p) => (
                &id[..p],
                std::str::from_utf8(&id[p + 1..]).unwrap().parse().unwrap(),
            ),
            None => (id, 0),
        };
        match body.iter().position(|&c| c == b'.') {
            Some(p) => (&body[..p], &body[p + 1..], version),
            None => (body, &body[body.len()..], version),
        }
    }
    fn padded(x: &[u8], y: &[u8]) -> Ordering {
        let n = x.len().max(y.len());
        let px = x.iter().copied().chain(std::iter::repeat(b' ')).take(n);
        let py = y.iter().copied().chain(std::iter::repeat(b' ')).take(n);
        px.cmp(py)
    }
    let (an, ae, av) = parts(a);
    let (bn, be, bv) = parts(b);
    padded(an, bn).then(padded(ae, be)).then(bv.cmp(&av))
}

/// Identifier rules of ECMA-119 7.5, 7.6 and 10.1-10.3 for levels 1-3.
fn check_iso_identifier(id: &[u8], is_dir: bool, level: IsoLevel, path: &str) {
    let s = std::str::from_utf8(id).unwrap();
    let dchars = |t: &str| {
        t.bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
    };
    if is_dir {
        let max = if level == IsoLevel::Level1 { 8 } else { 31 };
        assert!(
            !s.is_empty() && s.len() <= max && dchars(s),
            "{path}: bad directory identifier {s:?} at {level:?}"
        );
    } else {
        let body = s
            .strip_suffix(";1")
            .unwrap_or_else(|| panic!("{path}: file identifier {s:?} lacks ;1"));
        let (name, ext) = body
            .split_once('.')
            .unwrap_or_else(|| panic!("{path}: file identifier {s:?} lacks the dot"));
        assert!(
            dchars(name) && dchars(ext) && !(name.is_empty() && ext.is_empty()),
            "{path}: bad file identifier {s:?}"
        );
        if level == IsoLevel::Level1 {
            assert!(
                name.len() <= 8 && ext.len() <= 3,
                "{path}: {s:?} is not 8.3"
            );
        } else {
            assert!(
                name.len() + ext.len() <= 30,
                "{path}: {s:?} has more than 30 characters (ECMA-119 7.5.1)"
            );
        }
    }
}

fn joliet_units(s: &str) -> usize {
    s.encode_utf16().count()
}

// ------------------------------------------------------------------------------------------------
// The property

fn dir_items(image: &glassmaster::Image, label: &str) -> HashMap<u32, String> {
    let suffix = format!(" ({label})");
    image
        .progress_items()
        .iter()
        .filter_map(|it| {
            let p = it
                .description
                .strip_prefix("Directory ")?
                .strip_suffix(suffix.as_str())?;
            assert_eq!(it.kind, ItemKind::Directory);
            Some((it.first_block as u32, p.to_string()))
        })
        .collect()
}

fn check_case(ops: &[Op], level: IsoLevel, joliet: bool, long: bool, probes: &[f64]) {
    let mut b = ImageBuilder::new();
    // One item per non-empty file is checked below: deduplication (tests/dedup.rs) is off here.
    b.options_mut().dedup = false;
    b.level(level)
        .filesystems(if joliet {
            FileSystems::ISO9660 | FileSystems::JOLIET
        } else {
            FileSystems::ISO9660
        })
        .joliet_long_names(long)
        // Every entry in every view, so one model describes both trees; the 240-character Joliet
        // path limit has its own tests (tests/joliet_paths.rs).
        .joliet_long_paths(true)
        .build_time(chrono::Utc.with_ymd_and_hms(2020, 2, 29, 12, 0, 0).unwrap());
    let model = apply(ops, &mut b);
    let image = match b.build(&mut glassmaster::NoProgress) {
        Ok(i) => i,
        Err(Error::PathTooLong { path, len, .. }) if level != IsoLevel::Iso1999 => {
            // Long directory names at depth: legitimate if the path really is that long.
            assert!(
                len > 255 && (model.files.contains_key(&path) || model.dirs.contains(&path)),
                "{path} {len}"
            );
            return;
        }
        Err(e) => panic!("build failed: {e}"),
    };
    let bytes = render(&image);
    assert_eq!(bytes.len() as u64, image.total_blocks() * 2048);
    assert!(
        bytes == render(&b.build(&mut glassmaster::NoProgress).unwrap()),
        "two builds of the same tree differ"
    );

    // --- Progress items: sorted, contiguous, covering [0, total_blocks), lookups.
    let items = image.progress_items();
    let list: Vec<_> = items.iter().collect();
    assert!(!list.is_empty());
    assert_eq!(list[0].first_block, 0);
    for w in list.windows(2) {
        assert_eq!(
            w[0].last_block + 1,
            w[1].first_block,
            "items not contiguous: {:?} / {:?}",
            w[0],
            w[1]
        );
    }
    for it in &list {
        assert!(
            it.block_count > 0 && it.block_count == it.last_block - it.first_block + 1,
            "{it:?}"
        );
    }
    assert_eq!(list.last().unwrap().last_block + 1, image.total_blocks());
    assert_eq!(items.total_blocks(), image.total_blocks());
    for p in probes {
        let blk = ((image.total_blocks() as f64 * p) as u64).min(image.total_blocks() - 1);
        let it = items.from_block(blk).unwrap();
        assert!(it.first_block <= blk && blk <= it.last_block);
    }
    for it in &list {
        assert_eq!(items.from_block(it.first_block).as_ref(), Some(it));
        assert_eq!(items.from_block(it.last_block).as_ref(), Some(it));
    }
    assert!(items.from_block(image.total_blocks()).is_none());

    // --- Every non-empty file at its data; empty files have no item; no overlaps.
    let mut file_items: HashMap<u64, &str> = HashMap::new();
    for (p, data) in &model.files {
        match items.from_description(p) {
            None => assert!(data.is_empty(), "{p}: no item for a non-empty file"),
            Some(it) => {
                assert!(!data.is_empty(), "{p}: an empty file has an item");
                assert_eq!(it.kind, ItemKind::FileData);
                assert_eq!(it.block_count, (data.len() as u64).div_ceil(2048), "{p}");
                let off = it.byte_offset() as usize;
                assert!(
                    bytes[off..off + data.len()] == data[..],
                    "{p}: bytes at its item differ"
                );
                assert!(
                    bytes[off + data.len()..off + it.byte_len() as usize]
                        .iter()
                        .all(|&x| x == 0),
                    "{p}: padding"
                );
                assert!(
                    file_items.insert(it.first_block, p).is_none(),
                    "{p} shares its extent"
                );
            }
        }
    }
    let data_items = list.iter().filter(|i| i.kind == ItemKind::FileData).count();
    assert_eq!(
        data_items,
        file_items.len(),
        "file data items without a file"
    );

    // --- The trees, through the walker.
    let mut w = Walker::from_bytes(bytes);
    let pvd = w.volume(Which::Primary).unwrap();
    assert_eq!(pvd.volume_blocks as u64, image.total_blocks());
    let views: &[Which] = if joliet {
        &[Which::Primary, Which::Joliet]
    } else {
        &[Which::Primary]
    };
    assert_eq!(w.volume(Which::Joliet).is_some(), joliet);
    // Descriptor set: primary at 16, then the enhanced one (1999, sharing the primary's tree),
    // then Joliet; every one states the same volume size.
    let vds = w.volumes();
    assert_eq!((vds[0].ty, vds[0].lba), (1, 16));
    let enhanced: Vec<_> = vds.iter().filter(|v| v.ty == 2 && v.version == 2).collect();
    assert_eq!(enhanced.len(), usize::from(level == IsoLevel::Iso1999));
    for e in enhanced {
        assert_eq!((e.root.extent, e.root.len), (pvd.root.extent, pvd.root.len));
        assert_eq!(e.lba, 17);
    }
    assert_eq!(
        vds.len(),
        1 + usize::from(level == IsoLevel::Iso1999) + usize::from(joliet)
    );
    for v in &vds {
        assert_eq!(
            v.volume_blocks as u64,
            image.total_blocks(),
            "volume size in the descriptor at {}",
            v.lba
        );
    }
    for &which in views {
        let label = if which == Which::Primary {
            "ISO 9660"
        } else {
            "Joliet"
        };
        let by_extent = dir_items(&image, label);
        let dirs = w.walk(which);
        assert_eq!(dirs.len(), model.dirs.len(), "{label}: directory count");
        let mut seen_dirs = HashSet::new();
        let mut extents: Vec<(u64, u64, String)> = Vec::new();
        for d in &dirs {
            let user_dir = by_extent
                .get(&d.extent)
                .unwrap_or_else(|| panic!("{label}: no item for directory at {}", d.extent));
            assert!(seen_dirs.insert(user_dir.clone()));
            let children = model.children(user_dir);
            assert_eq!(
                d.entries.len(),
                children.len(),
                "{label} {user_dir}: entry count"
            );

            // Names: unique as a reader shows them; ISO 9660 sorted per 9.3.
            // (ISO 9660:1999 identifiers have no version or mandatory dot: compare them whole.)
            let mut shown = HashSet::new();
            for e in &d.entries {
                let key = if which == Which::Primary && level == IsoLevel::Iso1999 {
                    e.ident.clone()
                } else {
                    e.name.clone().into_bytes()
                };
                assert!(
                    shown.insert(key),
                    "{label} {user_dir}: duplicate name {:?}",
                    e.name
                );
            }
            if which == Which::Primary && level != IsoLevel::Iso1999 {
                for e in &d.entries {
                    check_iso_identifier(&e.ident, e.is_dir, level, user_dir);
                }
                for pair in d.entries.windows(2) {
                    assert_eq!(
                        ecma119_order(&pair[0].ident, &pair[1].ident),
                        Ordering::Less,
                        "{user_dir}: {:?} before {:?} breaks ECMA-119 9.3",
                        String::from_utf8_lossy(&pair[0].ident),
                        String::from_utf8_lossy(&pair[1].ident)
                    );
                }
            }
            if which == Which::Primary && level == IsoLevel::Iso1999 {
                for e in &d.entries {
                    assert!(
                        e.ident.len() <= 207,
                        "ISO 9660:1999 identifier over 207 bytes"
                    );
                }
            }
            if which == Which::Joliet {
                let max = if long { 103 } else { 64 };
                for e in &d.entries {
                    assert!(
                        joliet_units(&e.name) <= max,
                        "Joliet name over {max}: {:?}",
                        e.name
                    );
                    assert!(
                        !e.name
                            .chars()
                            .any(|c| "*/:;?\\".contains(c) || (c as u32) < 0x20),
                        "forbidden: {:?}",
                        e.name
                    );
                }
                // Every user name is kept, or its change is reported.
                for (p, _) in &children {
                    if !d.entries.iter().any(|e| e.name == name_of(p)) {
                        let needle = format!("Joliet name of {p} ");
                        assert!(
                            image.warnings().iter().any(|w| w.starts_with(&needle)),
                            "Joliet renamed {p} without a warning"
                        );
                    }
                }
            }

            // Sub-directories point at their own directory; files at their data.
            let mut empty_files = 0;
            for e in &d.entries {
                if e.is_dir {
                    let sub = by_extent
                        .get(&e.extents[0].0)
                        .unwrap_or_else(|| panic!("{label}: {:?} points nowhere", e.name));
                    assert_eq!(parent_of(sub), user_dir.as_str());
                    continue;
                }
                assert!(
                    e.records.iter().all(|r| r.flags & 0x80 == 0) && e.extents.len() == 1,
                    "multi-extent for a small file"
                );
                let (lba, len) = e.extents[0];
                if len == 0 {
                    empty_files += 1;
                    continue;
                }
                let p = *file_items.get(&(lba as u64)).unwrap_or_else(|| {
                    panic!("{label}: {:?} does not start at a file item", e.name)
                });
                assert_eq!(
                    parent_of(p),
                    user_dir.as_str(),
                    "{label}: {:?} is in the wrong directory",
                    e.name
                );
                assert!(w.read_entry(e) == model.files[p], "{label}: bytes of {p}");
                if which == Which::Joliet && e.name != name_of(p) {
                    assert!(image
                        .warnings()
                        .iter()
                        .any(|w| w.starts_with(&format!("Joliet name of {p} "))));
                }
                extents.push((lba as u64 * 2048, len as u64, p.to_string()));
            }
            let user_empty = children
                .iter()
                .filter(|(p, d)| !d && model.files[p].is_empty())
                .count();
            assert_eq!(empty_files, user_empty, "{label} {user_dir}: empty files");
        }
        // No two files' extents overlap.
        extents.sort();
        for pair in extents.windows(2) {
            assert!(
                pair[0].0 + pair[0].1 <= pair[1].0,
                "{label}: extents of {} and {} overlap",
                pair[0].2,
                pair[1].2
            );
        }
        assert_eq!(
            extents.len(),
            model.files.values().filter(|d| !d.is_empty()).count()
        );

        // Path tables: L and M agree, and describe the walked tree in ECMA-119 9.4 order.
        let vol = w.volume(which).unwrap();
        let l = w.path_table(vol.path_table_l, vol.path_table_size, false);
        let m = w.path_table(vol.path_table_m, vol.path_table_size, true);
        assert_eq!(l, m, "{label}: path tables L and M differ");
        assert_eq!(
            l.len(),
            dirs.len(),
            "{label}: path table has {} records for {} directories",
            l.len(),
            dirs.len()
        );
        let number: HashMap<u32, u16> = dirs
            .iter()
            .enumerate()
            .map(|(i, d)| (d.extent, i as u16 + 1))
            .collect();
        for (i, (rec, d)) in l.iter().zip(&dirs).enumerate() {
            assert_eq!(rec.extent, d.extent, "{label}: path table record {i}");
            assert_eq!(
                rec.parent, number[&d.parent_extent],
                "{label}: parent of path table record {i}"
            );
            if i == 0 {
                assert_eq!(rec.ident, [0]);
            } else {
                let parent = dirs.iter().find(|p| p.extent == d.parent_extent).unwrap();
                let entry = parent
                    .entries
                    .iter()
                    .find(|e| e.is_dir && e.extents[0].0 == d.extent)
                    .unwrap();
                assert_eq!(
                    rec.ident, entry.ident,
                    "{label}: identifier of path table record {i}"
                );
            }
        }
        for pair in l.windows(2).skip(1) {
            assert!(
                pair[0].parent <= pair[1].parent,
                "{label}: path table not ordered by parent"
            );
        }
    }
    assert_eq!(
        w.volume(Which::Primary).unwrap().volume_blocks as u64,
        image.total_blocks()
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: proptest_cases(64), max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn layout_invariants(
        ops in proptest::collection::vec(op(), 0..30),
        level in level(),
        joliet in any::<bool>(),
        long in proptest::bool::weighted(0.2),
        probes in proptest::collection::vec(0.0f64..1.0, 8),
    ) {
        check_case(&ops, level, joliet, long, &probes);
    }
}

/// Many entries in one directory: directories and path tables of several sectors.
#[test]
fn large_directories() {
    let mut ops = Vec::new();
    for i in 0..300 {
        ops.push(Op::File(
            vec!["big".into()],
            format!("some_fairly_long_file_name_{i:04}.text"),
            i % 5,
        ));
    }
    for i in 0..250 {
        ops.push(Op::Dir(vec!["many dirs".into()], format!("dir_{i:03}")));
    }
    for level in [
        IsoLevel::Level1,
        IsoLevel::Level2,
        IsoLevel::Level3,
        IsoLevel::Iso1999,
    ] {
        check_case(&ops, level, true, false, &[0.1, 0.5, 0.9]);
    }
}

/// Regressions found by the property test, kept as plain cases.
#[test]
fn regressions() {
    // Two names colliding at level 2 with an extension of 29 characters: the numbered name must
    // still fit in 30 characters.
    let ext = "b".repeat(29);
    let ops = vec![
        Op::File(vec![], format!("a.{ext}"), 1),
        Op::File(vec![], format!("A.{ext}"), 2),
        Op::File(vec![], format!("x.{}", "c".repeat(28)), 3),
        Op::File(vec![], format!("X.{}", "c".repeat(28)), 4),
    ];
    for level in [IsoLevel::Level2, IsoLevel::Level3] {
        check_case(&ops, level, true, false, &[0.5]);
    }
}

/// `set_mtime` and `set_hidden` reach the directory records of both views; dates outside
/// 1900-2155 are clamped (ECMA-119 9.1.5).
#[test]
fn times_and_hidden_flag_in_records() {
    let t = |y, mo, d, h, mi, s| chrono::Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap();
    let mut b = ImageBuilder::new();
    b.build_time(t(2001, 2, 3, 4, 5, 6));
    b.add_bytes("/dir/file.txt", &b"x"[..]).unwrap();
    b.add_bytes("/dir/hidden.txt", &b"h"[..]).unwrap();
    b.add_bytes("/old", &b"o"[..]).unwrap();
    b.add_bytes("/future", &b"f"[..]).unwrap();
    b.add_bytes("/default", &b"d"[..]).unwrap();
    b.add_dir("/hidden dir").unwrap();
    b.set_mtime("/dir/file.txt", t(2024, 2, 29, 23, 59, 58))
        .unwrap();
    b.set_mtime("/dir", t(1999, 12, 31, 0, 0, 1)).unwrap();
    b.set_mtime("/old", t(1850, 6, 1, 0, 0, 0)).unwrap();
    b.set_mtime("/future", t(2200, 6, 1, 0, 0, 0)).unwrap();
    b.set_hidden("/dir/hidden.txt", true).unwrap();
    b.set_hidden("/hidden dir", true).unwrap();
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let mut w = Walker::from_bytes(render(&image));
    for which in [Which::Primary, Which::Joliet] {
        let dirs = w.walk(which);
        let find = |dir: &str, pred: &dyn Fn(&str) -> bool| {
            dirs.iter()
                .find(|d| d.path.eq_ignore_ascii_case(dir))
                .unwrap()
                .entries
                .iter()
                .find(|e| pred(&e.name))
                .unwrap()
                .records[0]
                .clone()
        };
        let eq = |n: &'static str| {
            move |x: &str| x.eq_ignore_ascii_case(n) || x.eq_ignore_ascii_case(&n.replace(' ', "_"))
        };
        assert_eq!(
            find("/dir", &eq("file.txt")).date,
            [124, 2, 29, 23, 59, 58, 0],
            "{which:?}"
        );
        assert_eq!(
            find("/", &eq("dir")).date,
            [99, 12, 31, 0, 0, 1, 0],
            "{which:?}"
        );
        assert_eq!(
            find("/", &eq("old")).date,
            [0, 1, 1, 0, 0, 0, 0],
            "{which:?}"
        );
        assert_eq!(
            find("/", &eq("future")).date,
            [255, 12, 31, 23, 59, 59, 0],
            "{which:?}"
        );
        assert_eq!(
            find("/", &eq("default")).date,
            [101, 2, 3, 4, 5, 6, 0],
            "{which:?}: build time"
        );
        assert_eq!(find("/dir", &eq("hidden.txt")).flags & 1, 1, "{which:?}");
        assert_eq!(find("/dir", &eq("file.txt")).flags & 1, 0, "{which:?}");
        let hd = find("/", &eq("hidden dir"));
        assert_eq!(hd.flags & 3, 3, "{which:?}: hidden directory");
    }
}

/// Multi-extent records at the size boundaries, in both views, at levels 3 and 1999, read
/// through the lazy stream (only metadata is rendered; no file data is produced).
#[test]
fn multi_extent_records_at_boundaries() {
    const MAX_EXTENT: u64 = 0xFFFF_F800;
    let sizes = [
        u32::MAX as u64,
        u32::MAX as u64 + 1,
        2 * MAX_EXTENT,
        2 * MAX_EXTENT + 1,
        9 << 30,
    ];
    for level in [IsoLevel::Level3, IsoLevel::Iso1999] {
        let mut b = ImageBuilder::new();
        b.level(level);
        for (i, &len) in sizes.iter().enumerate() {
            b.add_reader(&format!("/f{i}"), len, move || {
                Ok(Box::new(std::io::repeat(0).take(len)) as Box<dyn std::io::Read + Send>)
            })
            .unwrap();
        }
        let image = b.build(&mut glassmaster::NoProgress).unwrap();
        let mut w = Walker::new(image.stream());
        for which in [Which::Primary, Which::Joliet] {
            let root = &w.walk(which)[0];
            for (i, &len) in sizes.iter().enumerate() {
                let e = root
                    .entries
                    .iter()
                    .find(|e| e.name.eq_ignore_ascii_case(&format!("f{i}")))
                    .unwrap();
                let item = image
                    .progress_items()
                    .from_description(&format!("/f{i}"))
                    .unwrap();
                let want = if len <= u32::MAX as u64 {
                    1
                } else {
                    len.div_ceil(MAX_EXTENT) as usize
                };
                assert_eq!(e.extents.len(), want, "{level:?} {which:?} f{i}: extents");
                assert_eq!(e.size(), len, "{level:?} {which:?} f{i}: size");
                let mut next = item.first_block;
                for (k, (&(lba, n), r)) in e.extents.iter().zip(&e.records).enumerate() {
                    assert_eq!(lba as u64, next, "f{i} extent {k} is not contiguous");
                    let last = k + 1 == e.extents.len();
                    assert_eq!(
                        r.flags & 0x80 != 0,
                        !last,
                        "f{i} extent {k}: multi-extent flag"
                    );
                    if !last {
                        assert_eq!(n as u64, MAX_EXTENT);
                    }
                    next += n as u64 / 2048;
                }
            }
        }
    }
}
