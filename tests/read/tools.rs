//! Reader tests on images made by independent writers (genisoimage, xorriso). A missing tool
//! skips the test, unless the environment has `CI=true`, where it fails.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Cursor, Read};
use std::path::Path;
use std::process::{Command, Stdio};

use super::basic::{err, open};
use crate::common::{require_tool, run};
use glassmaster::read::*;
use glassmaster::ParseErrorKind;

/// The source tree: image path -> contents (directories have `None`).
fn source_tree() -> BTreeMap<&'static str, Option<Vec<u8>>> {
    let big: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 256) as u8).collect();
    BTreeMap::from([
        ("/hello.txt", Some(b"Hello, disc!\n".to_vec())),
        ("/docs", None),
        ("/docs/readme.md", Some(b"# Read me\n".to_vec())),
        ("/Ünïcødé 文件.txt", Some("unicode ✓\n".as_bytes().to_vec())),
        ("/deep", None),
        ("/deep/a", None),
        ("/deep/a/b", None),
        ("/deep/a/b/c", None),
        ("/deep/a/b/c/d.txt", Some(b"deep\n".to_vec())),
        ("/big.bin", Some(big)),
        ("/empty.txt", Some(Vec::new())),
        ("/a_rather_long_file_name.text", Some(b"long\n".to_vec())),
    ])
}

fn write_tree(root: &Path) {
    for (path, content) in source_tree() {
        let p = root.join(&path[1..]);
        match content {
            None => fs::create_dir_all(&p).unwrap(),
            Some(c) => {
                fs::create_dir_all(p.parent().unwrap()).unwrap();
                fs::write(&p, c).unwrap();
            }
        }
    }
}

/// Builds an image with `tool args... -o out src` and returns its bytes.
pub fn make_image(tool: &str, args: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    write_tree(&src);
    let out = dir.path().join("out.iso");
    let mut cmd = Command::new(tool);
    cmd.args(args).arg("-o").arg(&out).arg(&src);
    run(&mut cmd);
    fs::read(out).unwrap()
}

/// Checks that `view` holds exactly the source tree with the right contents.
fn check_view_matches_source(data: Vec<u8>, view: View) {
    let mut r = open(data);
    let walked = r.walk(view).unwrap();
    let expected = source_tree();
    let got: Vec<&str> = walked.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(got.len(), expected.len(), "{view}: {got:?}");
    for (path, entry) in &walked {
        let want = expected
            .get(path.as_str())
            .unwrap_or_else(|| panic!("{view}: unexpected {path}"));
        assert_eq!(entry.is_dir, want.is_none(), "{path}");
        assert_eq!(entry.view, view);
        if let Some(content) = want {
            assert_eq!(&r.read_file(entry).unwrap(), content, "{view}: {path}");
            assert_eq!(r.lookup(view, path).unwrap(), *entry);
        }
    }
}

/// The ISO 9660 view has the same number of entries, and every file's data equals the Joliet
/// file with the same extent.
fn check_iso_view_consistent(data: Vec<u8>) {
    let mut r = open(data);
    let iso = r.walk(View::Iso9660).unwrap();
    let joliet = r.walk(View::Joliet).unwrap();
    assert_eq!(iso.len(), joliet.len());
    for (path, e) in iso.iter().filter(|(_, e)| !e.is_dir && e.size > 0) {
        assert!(
            path.bytes().all(|c| c == b'/'
                || c.is_ascii_uppercase()
                || c.is_ascii_digit()
                || c == b'_'
                || c == b'.'),
            "{path}"
        );
        let twin = joliet
            .iter()
            .find(|(_, j)| j.extents == e.extents)
            .expect("twin");
        assert_eq!(r.read_file(e).unwrap(), r.read_file(&twin.1).unwrap());
    }
}

#[test]
fn genisoimage_joliet() {
    if !require_tool("genisoimage") {
        return;
    }
    let args = [
        "-quiet",
        "-J",
        "-V",
        "MYVOL",
        "-publisher",
        "PUB",
        "-p",
        "PREP",
        "-A",
        "APP",
        "-sysid",
        "SYS",
    ];
    let data = make_image("genisoimage", &args);
    let r = open(data.clone());
    let info = r.volume_info();
    assert_eq!(info.volume_id, "MYVOL");
    assert_eq!(info.system_id, "SYS");
    assert_eq!(info.publisher, "PUB");
    assert_eq!(info.preparer, "PREP");
    assert_eq!(info.application, "APP");
    assert_eq!(info.block_size, 2048);
    assert_eq!(
        u64::from(info.volume_space_blocks) * 2048,
        data.len() as u64
    );
    assert_eq!(info.joliet_level, Some(3));
    assert_eq!(info.joliet_volume_id.as_deref(), Some("MYVOL"));
    assert!(info.creation.is_some() && info.modification.is_some());
    assert_eq!(r.views(), vec![View::Iso9660, View::Joliet]);
    check_view_matches_source(data.clone(), View::Joliet);
    check_iso_view_consistent(data.clone());
    // ISO 9660 names are upper case, without version; lookups ignore ASCII case.
    let mut r = open(data);
    assert_eq!(
        r.lookup(View::Iso9660, "/hello.txt").unwrap().name,
        "HELLO.TXT"
    );
    assert_eq!(
        r.lookup(View::Iso9660, "/DEEP/A/B/C/D.TXT").unwrap().size,
        5
    );
}

#[test]
fn xorriso_joliet() {
    if !require_tool("xorriso") {
        return;
    }
    let data = make_image(
        "xorriso",
        &["-as", "mkisofs", "-quiet", "-J", "-V", "XVOL", "-no-pad"],
    );
    let r = open(data.clone());
    assert_eq!(r.volume_info().volume_id, "XVOL");
    assert!(r.volume_info().joliet_level.is_some());
    // xorriso records Rock Ridge even without -R, and that view is preferred.
    assert_eq!(r.volume_info().rock_ridge.as_deref(), Some("RRIP_1991A"));
    assert_eq!(r.default_view(), View::RockRidge);
    check_view_matches_source(data.clone(), View::Joliet);
    check_view_matches_source(data.clone(), View::RockRidge);
    check_iso_view_consistent(data);
}

#[test]
fn genisoimage_iso_1999() {
    if !require_tool("genisoimage") {
        return;
    }
    let data = make_image("genisoimage", &["-quiet", "-iso-level", "4", "-J"]);
    let r = open(data.clone());
    assert!(r.volume_info().has_iso1999);
    assert_eq!(r.views(), vec![View::Iso9660, View::Joliet, View::Iso1999]);
    assert_eq!(r.default_view(), View::Joliet);
    // ISO 9660:1999 keeps the names as given (UTF-8 here).
    check_view_matches_source(data.clone(), View::Iso1999);
    // (genisoimage 1.1.11 mangles non-ASCII Joliet names at -iso-level 4: only count them.)
    let mut r = open(data);
    assert_eq!(r.walk(View::Joliet).unwrap().len(), source_tree().len());
}

#[test]
fn genisoimage_hidden_flag() {
    if !require_tool("genisoimage") {
        return;
    }
    let data = make_image("genisoimage", &["-quiet", "-J", "-hidden", "hello.txt"]);
    let mut r = open(data);
    assert!(r.lookup(View::Iso9660, "/HELLO.TXT").unwrap().hidden);
    assert!(!r.lookup(View::Iso9660, "/BIG.BIN").unwrap().hidden);
    // genisoimage sets the flag in the Joliet tree as well.
    assert!(r.lookup(View::Joliet, "/hello.txt").unwrap().hidden);
    assert!(!r.lookup(View::Joliet, "/docs").unwrap().hidden);
}

/// A 4.1 GB sparse file needs two extents (ECMA-119 9.1.6 bit 7). Only the first mebibyte of
/// xorriso's output is kept (the directories come before the file data), so this is fast.
#[test]
fn xorriso_multi_extent() {
    if !require_tool("xorriso") {
        return;
    }
    const SIZE: u64 = 4_400_000_000;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::File::create(src.join("huge.bin"))
        .unwrap()
        .set_len(SIZE)
        .unwrap();
    fs::write(src.join("small.txt"), b"small\n").unwrap();
    let mut child = Command::new("xorriso")
        .args([
            "-as",
            "mkisofs",
            "-quiet",
            "-iso-level",
            "3",
            "-J",
            "-o",
            "-",
        ])
        .arg(&src)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut head = Vec::new();
    child
        .stdout
        .take()
        .unwrap()
        .take(1 << 20)
        .read_to_end(&mut head)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(head.len(), 1 << 20);
    let mut r = open(head);
    for view in [View::Iso9660, View::Joliet] {
        let walked = r.walk(view).unwrap();
        assert_eq!(
            walked.len(),
            2,
            "{view}: the two records of huge.bin merge into one entry"
        );
        let huge = &walked
            .iter()
            .find(|(p, _)| p.eq_ignore_ascii_case("/huge.bin"))
            .unwrap()
            .1;
        assert_eq!(huge.size, SIZE);
        assert_eq!(huge.extents.len(), 2);
        assert_eq!(huge.extents[0].len, 0xFFFF_F800);
        let second_lba = huge.extents[0].lba + 0xFFFF_F800 / 2048;
        assert_eq!(
            huge.extents[1],
            Extent {
                lba: second_lba,
                len: (SIZE - 0xFFFF_F800) as u32
            }
        );
        // The data is beyond the kept mebibyte.
        assert_eq!(
            err(r.open_file(huge).map(|_| ())).kind,
            ParseErrorKind::ExtentOutOfImage
        );
    }
}

/// Deterministic corruption of a real image: truncations and byte flips never panic or hang.
#[test]
fn corrupted_real_image_never_panics() {
    if !require_tool("xorriso") {
        return;
    }
    let data = make_image("xorriso", &["-as", "mkisofs", "-quiet", "-J", "-no-pad"]);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    // Flip bytes only in the metadata area (volume descriptors, path tables, directories).
    let meta_end = (40 * 2048).min(data.len());
    for round in 0..400 {
        let mut d = data.clone();
        for _ in 0..(1 + round % 8) {
            let at = 16 * 2048 + (next() as usize) % (meta_end - 16 * 2048);
            d[at] = next() as u8;
        }
        if round % 5 == 0 {
            d.truncate((next() as usize) % data.len());
        }
        let Ok(mut r) = ImageReader::open(Cursor::new(d)) else {
            continue;
        };
        for v in r.views() {
            let Ok(entries) = r.walk(v) else { continue };
            for (_, e) in entries.iter().filter(|(_, e)| !e.is_dir) {
                if let Ok(a) = r.read_file(e) {
                    assert_eq!(a.len() as u64, e.size);
                }
            }
        }
    }
}
