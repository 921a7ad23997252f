//! Spanning a tree over several volumes (`glassmaster::span`, `build --span`, multi-volume
//! `extract`): capacity, catalog, independent readers, exact restore, missing and foreign
//! volumes, determinism, and the planner's invariants.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Utc};
use common::{content, require_tool, run, tool};
use glassmaster::read::{ImageReader, View};
use glassmaster::span::{self, Catalog, EntryKind, CATALOG_PATH};
use glassmaster::{FileSystems, ImageBuilder, NoProgress, Options};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

const MIB: u64 = 1 << 20;

fn fixed_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap()
}

fn render(image: &glassmaster::Image) -> Vec<u8> {
    let mut v = Vec::new();
    image.write_to(&mut v, &mut NoProgress).unwrap();
    v
}

/// The catalog file of a rendered volume, read with our reader.
fn catalog_of(iso: &[u8]) -> Vec<u8> {
    let mut r = ImageReader::open(Cursor::new(iso)).unwrap();
    let view = r.default_view();
    let e = r.lookup(view, CATALOG_PATH).unwrap();
    r.read_file(&e).unwrap()
}

/// Joins a file from the rendered volumes through the catalog's block numbers, checking the
/// part hashes.
fn join_file(cat: &Catalog, path: &[u8], volumes: &[Vec<u8>]) -> Vec<u8> {
    let e = cat.entries.iter().find(|e| e.path == path).unwrap();
    let mut out = Vec::new();
    for p in &e.parts {
        let v = &volumes[p.volume as usize - 1];
        let start = (p.lba * 2048) as usize;
        let bytes = &v[start..start + p.len as usize];
        assert_eq!(<[u8; 32]>::from(Sha256::digest(bytes)), p.sha256);
        out.extend_from_slice(bytes);
    }
    if let EntryKind::File { sha256, size } = e.kind {
        assert_eq!(out.len() as u64, size);
        assert_eq!(<[u8; 32]>::from(Sha256::digest(&out)), sha256);
    }
    out
}

/// A library-level set built from caller readers only: split over 3+ volumes, every volume
/// within capacity and readable, the catalog identical everywhere, files joined exactly.
#[test]
fn readers_only_set() {
    let cap = 2 * MIB / 2048;
    let big = content(1, (5 * MIB + 12345) as usize);
    let small: Vec<Vec<u8>> = (0..20).map(|i| content(100 + i, 1000 * i as usize)).collect();
    let mut b = ImageBuilder::with_options({
        let mut o = Options::default();
        o.filesystems = FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE;
        o.volume_id = "BACKUP".into();
        o.build_time = Some(fixed_time());
        o
    });
    let big2 = big.clone();
    b.add_reader("/data/big.bin", big.len() as u64, move || {
        Ok(Box::new(Cursor::new(big2.clone())) as Box<dyn Read + Send>)
    })
    .unwrap();
    for (i, s) in small.iter().enumerate() {
        let s2 = s.clone();
        b.add_reader(&format!("/small/f{i:02}.txt"), s.len() as u64, move || {
            Ok(Box::new(Cursor::new(s2.clone())) as Box<dyn Read + Send>)
        })
        .unwrap();
    }
    let plan = b.plan_span(cap).unwrap();
    assert!(plan.volumes().len() >= 3, "{} volumes", plan.volumes().len());
    let rendered: Vec<Vec<u8>> = plan.volumes().iter().map(|v| render(v.image())).collect();
    let cat0 = catalog_of(&rendered[0]);
    for (i, (v, iso)) in plan.volumes().iter().zip(&rendered).enumerate() {
        assert!(v.image().total_blocks() <= cap);
        assert_eq!(iso.len() as u64, v.image().size_bytes());
        assert_eq!(catalog_of(iso), cat0, "catalog of volume {}", i + 1);
        let r = ImageReader::open(Cursor::new(iso)).unwrap();
        assert_eq!(
            r.volume_info().volume_id.trim_end(),
            format!("BACKUP_{:03}", i + 1)
        );
    }
    let cat = Catalog::parse(&cat0).unwrap();
    assert_eq!(cat.set_id, plan.set_id());
    assert_eq!(cat.volumes.len(), plan.volumes().len());
    assert_eq!(join_file(&cat, b"/data/big.bin", &rendered), big);
    let big_entry = cat.entries.iter().find(|e| e.path == b"/data/big.bin").unwrap();
    assert!(big_entry.parts.len() >= 3);
    for (i, s) in small.iter().enumerate() {
        assert_eq!(&join_file(&cat, format!("/small/f{i:02}.txt").as_bytes(), &rendered), s);
    }
    assert_eq!(plan.catalog(), cat);
}
