//! Rock Ridge names may hold every byte but `/` and NUL (RRIP 4.1.4), including bytes that are
//! not UTF-8. Built from a tree with such names, the image gives them back exactly through our
//! reader, bsdtar and xorriso.
#![cfg(unix)]

mod common;

use common::require_tool;
use glassmaster::read::{ImageReader, View};
use glassmaster::{FileSystems, ImageBuilder, NoProgress};
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::Command;

/// Names covering bytes 1-255 but `/` (0x2F): control characters, spaces, quotes, invalid
/// UTF-8 (lone continuation bytes, 0xFF), and valid multi-byte UTF-8.
fn names() -> Vec<Vec<u8>> {
    let all: Vec<u8> = (1u8..=255).filter(|&b| b != b'/').collect();
    let mut v: Vec<Vec<u8>> = all.chunks(50).map(|c| c.to_vec()).collect();
    v.push(b"plain.txt".to_vec());
    v.push(vec![0xFF, 0xFE, b'x']);
    v.push("ünïcødé 文件".as_bytes().to_vec());
    v.push(vec![b'.', b'.', b'.']);
    v
}

fn listing(dir: &std::path::Path) -> BTreeSet<(Vec<u8>, Vec<u8>)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().as_bytes().to_vec(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn every_byte_value_in_names() {
    let src = tempfile::tempdir().unwrap();
    for (i, n) in names().iter().enumerate() {
        std::fs::write(src.path().join(OsStr::from_bytes(n)), format!("file {i}")).unwrap();
    }
    // Padding so every reader sees a full-size image.
    std::fs::write(src.path().join("pad.bin"), vec![7u8; 60_000]).unwrap();
    let want = listing(src.path());

    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::ISO9660 | FileSystems::ROCK_RIDGE);
    b.add_tree("/", src.path(), &mut glassmaster::NoProgress)
        .unwrap();
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let out = tempfile::tempdir().unwrap();
    let iso = out.path().join("bytes.iso");
    image.write_to_path(&iso, &mut NoProgress).unwrap();

    // Our reader: the raw NM bytes.
    let mut r = ImageReader::open(std::fs::File::open(&iso).unwrap()).unwrap();
    let mut got = BTreeSet::new();
    for (_, e) in r.walk(View::RockRidge).unwrap() {
        let name = e.rr_name.clone().expect("NM name");
        got.insert((name, r.read_file(&e).unwrap()));
    }
    assert_eq!(got, want, "our Rock Ridge view");

    if require_tool("bsdtar") {
        let d = tempfile::tempdir().unwrap();
        let st = Command::new("bsdtar")
            .arg("-xf")
            .arg(&iso)
            .arg("-C")
            .arg(d.path())
            .status()
            .unwrap();
        assert!(st.success());
        assert_eq!(listing(d.path()), want, "bsdtar");
    }
    if require_tool("xorriso") {
        let d = tempfile::tempdir().unwrap();
        let x = d.path().join("x");
        let st = Command::new("xorriso")
            .args(["-osirrox", "on", "-indev"])
            .arg(&iso)
            .args(["-extract", "/"])
            .arg(&x)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
        assert_eq!(listing(&x), want, "xorriso");
    }
}
