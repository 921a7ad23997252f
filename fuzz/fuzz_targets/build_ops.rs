//! An arbitrary list of builder operations (add_bytes, add_dir, set_hidden, set_mtime), an ISO
//! 9660 level, Joliet on or off, long Joliet names on or off. Errors are fine; if the build
//! succeeds, the image is written to memory, parsed with `ImageReader` and compared with what
//! was added: with Joliet, the Joliet view has the exact names, bytes, hidden flags and times
//! (unless the builder warned that it changed a name); every view has the same multiset of file
//! contents and the same number of directories.
#![no_main]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;

use chrono::{DateTime, Utc};
use glassmaster::read::{ImageReader, Limits, View};
use glassmaster::{FileSystems, ImageBuilder, IsoLevel, NoProgress};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

/// Names from a small pool collide often; free names exercise mangling.
#[derive(Arbitrary, Debug)]
enum Name {
    Pool(u8),
    Free(String),
    Long(u8, u8),
}

const POOL: &[&str] = &[
    "a",
    "A",
    "b.txt",
    "B.TXT",
    "readme",
    "README.md",
    "x.tar.gz",
    "dir",
    "Dir",
    "ünï",
    "文件.txt",
    "with space",
    "semi;colon",
    "star*",
    "q?",
    "back\\slash",
    "colon:",
    "dots..",
    ".hidden",
    "trailing.",
    "e\u{301}",
    "😀",
    "a_b-c",
    "UPPER",
    "9",
    "long.extension",
];

impl Name {
    fn get(&self) -> String {
        match self {
            Name::Pool(i) => POOL[usize::from(*i) % POOL.len()].to_string(),
            Name::Free(s) => s.chars().take(40).collect(),
            Name::Long(c, n) => {
                let c = char::from(b'a' + c % 26);
                std::iter::repeat_n(c, usize::from(*n) % 120 + 1).collect()
            }
        }
    }
}

#[derive(Arbitrary, Debug)]
struct PathSpec(Vec<Name>);

impl PathSpec {
    fn get(&self) -> String {
        let mut p = String::new();
        for n in self.0.iter().take(6) {
            p.push('/');
            p.push_str(&n.get());
        }
        if p.is_empty() {
            p.push('/');
        }
        p
    }
}

#[derive(Arbitrary, Debug)]
enum Op {
    AddBytes(PathSpec, Vec<u8>, u16),
    AddDir(PathSpec),
    SetHidden(PathSpec, bool),
    SetMtime(PathSpec, i32),
}

#[derive(Arbitrary, Debug)]
struct Input {
    level: u8,
    joliet: bool,
    long_names: bool,
    ops: Vec<Op>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    File(Vec<u8>),
    Dir,
}

/// What the builder should hold: path -> node, plus hidden flags and times set by the caller.
#[derive(Default)]
struct Model {
    nodes: BTreeMap<String, Node>,
    hidden: BTreeMap<String, bool>,
    mtime: BTreeMap<String, DateTime<Utc>>,
}

/// The components of `p` as the builder splits them (empty ones dropped).
fn components(p: &str) -> Vec<&str> {
    p.split('/').filter(|c| !c.is_empty()).collect()
}

fn canonical(p: &str) -> String {
    let c = components(p);
    if c.is_empty() {
        "/".to_string()
    } else {
        format!("/{}", c.join("/"))
    }
}

impl Model {
    fn mkdirs(&mut self, p: &str) {
        let mut cur = String::new();
        for c in components(p) {
            cur.push('/');
            cur.push_str(c);
            self.nodes.entry(cur.clone()).or_insert(Node::Dir);
        }
    }
}

/// Bytes of file data per input, at most: keeps images small.
const DATA_BUDGET: usize = 64 << 10;

fuzz_target!(|input: Input| {
    let mut b = ImageBuilder::new();
    b.level(match input.level % 4 {
        0 => IsoLevel::Level1,
        1 => IsoLevel::Level2,
        2 => IsoLevel::Level3,
        _ => IsoLevel::Iso1999,
    });
    if !input.joliet {
        b.filesystems(FileSystems::ISO9660);
    }
    b.joliet_long_names(input.long_names);
    // Every entry in every view, so one model describes every tree (entries over Joliet's
    // 240-character path limit are otherwise left out of Joliet: tests/joliet_paths.rs).
    b.joliet_long_paths(true);
    b.build_time(DateTime::from_timestamp(1_700_000_000, 0).unwrap());
    let mut model = Model::default();
    let mut budget = DATA_BUDGET;
    for op in input.ops.iter().take(48) {
        match op {
            Op::AddBytes(p, data, repeat) => {
                let p = p.get();
                let mut bytes = data.clone();
                // Some files span several sectors.
                let extra = usize::from(*repeat % 8) * 1000;
                bytes.extend(std::iter::repeat_n(0xA5, extra));
                if bytes.len() > budget {
                    continue;
                }
                if b.add_bytes(&p, bytes.clone()).is_ok() {
                    budget -= bytes.len();
                    let c = components(&p);
                    if let Some((_, dirs)) = c.split_last() {
                        model.mkdirs(&dirs.join("/"));
                    }
                    model.nodes.insert(canonical(&p), Node::File(bytes));
                }
            }
            Op::AddDir(p) => {
                let p = p.get();
                if b.add_dir(&p).is_ok() {
                    model.mkdirs(&p);
                }
            }
            Op::SetHidden(p, h) => {
                let p = p.get();
                if b.set_hidden(&p, *h).is_ok() {
                    model.hidden.insert(canonical(&p), *h);
                }
            }
            Op::SetMtime(p, secs) => {
                let p = p.get();
                let t = DateTime::from_timestamp(i64::from(*secs), 0).unwrap();
                if b.set_mtime(&p, t).is_ok() {
                    model.mtime.insert(canonical(&p), t);
                }
            }
        }
    }
    let Ok(image) = b.build(&mut glassmaster::NoProgress) else {
        return;
    };
    let mut iso = Vec::new();
    image
        .write_to(&mut iso, &mut NoProgress)
        .expect("writing a built image to memory");
    assert_eq!(iso.len() as u64, image.size_bytes());
    let exact_names = image.warnings().is_empty();

    for limits in [Limits::lenient(), Limits::strict()] {
        let mut r = ImageReader::open_with_limits(Cursor::new(&iso[..]), limits)
            .unwrap_or_else(|e| panic!("{:?}: open: {e}", limits.strictness));
        let want_files: Vec<&Vec<u8>> = model
            .nodes
            .values()
            .filter_map(|n| match n {
                Node::File(d) => Some(d),
                Node::Dir => None,
            })
            .collect();
        let want_dirs = model.nodes.values().filter(|n| **n == Node::Dir).count();
        let mut want_sorted = want_files.clone();
        want_sorted.sort();
        assert_eq!(
            r.views().contains(&View::Joliet),
            input.joliet,
            "Joliet view present iff requested"
        );
        for view in r.views() {
            let walk = r
                .walk(view)
                .unwrap_or_else(|e| panic!("{view} {:?}: walk: {e}", limits.strictness));
            let mut got = Vec::new();
            let mut dirs = 0;
            let mut by_path = BTreeMap::new();
            for (path, e) in &walk {
                if e.is_dir {
                    dirs += 1;
                    by_path.insert(path.clone(), (None, e.hidden, e.mtime));
                } else {
                    let data = r.read_file(e).expect("read a built file");
                    assert_eq!(data.len() as u64, e.size);
                    by_path.insert(path.clone(), (Some(data.clone()), e.hidden, e.mtime));
                    got.push(data);
                }
            }
            got.sort();
            let got_refs: Vec<&Vec<u8>> = got.iter().collect();
            assert_eq!(got_refs, want_sorted, "{view}: file contents differ");
            assert_eq!(dirs, want_dirs, "{view}: directory count differs");
            if view == View::Joliet && exact_names {
                let want_paths: BTreeSet<&String> = model.nodes.keys().collect();
                let got_paths: BTreeSet<&String> = by_path.keys().collect();
                assert_eq!(got_paths, want_paths, "Joliet names differ");
                for (path, node) in &model.nodes {
                    let (data, hidden, mtime) = &by_path[path];
                    match node {
                        Node::File(d) => assert_eq!(data.as_ref(), Some(d), "{path}"),
                        Node::Dir => assert!(data.is_none(), "{path} should be a directory"),
                    }
                    let h = model.hidden.get(path).copied().unwrap_or(false);
                    assert_eq!(*hidden, h, "{path}: hidden flag");
                    if let Some(t) = model.mtime.get(path) {
                        let got = mtime.expect("a set time is recorded");
                        assert_eq!(got.timestamp(), t.timestamp(), "{path}: mtime");
                    }
                }
            }
            r.path_table(view)
                .unwrap_or_else(|e| panic!("{view} {:?}: path table: {e}", limits.strictness));
        }
    }
});
