//! Reproducible images: with a fixed build time, two builds of the same tree, also from a copy
//! made in a different creation order, are byte-identical, for every combination of file
//! systems (ISO 9660, Joliet, Rock Ridge, UDF of every revision) and El Torito.

use chrono::TimeZone;
use glassmaster::{BootImage, FileSystems, ImageBuilder, NoProgress, UdfRevision};
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Files: (path, contents, mode, mtime seconds since 1970).
fn spec() -> Vec<(String, Vec<u8>, u32, u64)> {
    let mut v = Vec::new();
    for i in 0..12u32 {
        let data: Vec<u8> = (0..(i * 997 % 5000)).map(|k| (k * 31 + i) as u8).collect();
        v.push((
            format!("d{}/sub {}/file-{i}.txt", i % 3, i % 2),
            data,
            0o644 | ((i % 2) * 0o111),
            1_600_000_000 + i as u64 * 3600,
        ));
    }
    v.push((
        "boot/boot.bin".into(),
        vec![0xEB; 2048],
        0o644,
        1_650_000_000,
    ));
    v.push(("empty".into(), Vec::new(), 0o600, 1_500_000_000));
    v
}

/// Creates the tree, files in the given order, then fixes modes and times.
fn make(root: &Path, reverse: bool) {
    let mut files = spec();
    if reverse {
        files.reverse();
    }
    for (p, data, _, _) in &files {
        let path = root.join(p);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, data).unwrap();
    }
    for (p, _, mode, mtime) in &files {
        let path = root.join(p);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(*mode)).unwrap();
        }
        let f = fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(*mtime))
            .unwrap();
    }
    // Directory times last (creating their contents changed them).
    let mut dirs: Vec<_> = walk_dirs(root);
    dirs.sort();
    dirs.reverse();
    for d in dirs {
        let f = fs::File::open(&d).unwrap();
        f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
            .unwrap();
    }
}

fn walk_dirs(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(root).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk_dirs(&p));
            out.push(p);
        }
    }
    out
}

fn build(root: &Path, fs_set: FileSystems, rev: Option<UdfRevision>, boot: bool) -> Vec<u8> {
    let mut b = ImageBuilder::new();
    b.filesystems(fs_set)
        .build_time(chrono::Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap());
    if let Some(r) = rev {
        b.options_mut().udf.revision = r;
    }
    b.add_tree("/", root, &mut glassmaster::NoProgress).unwrap();
    if boot {
        let mut e = BootImage::bios("/boot/boot.bin");
        e.boot_info_table = true;
        b.add_boot_entry(e);
    }
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let mut out = Vec::new();
    image.write_to(&mut out, &mut NoProgress).unwrap();
    out
}

#[test]
fn builds_are_byte_identical() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    make(a.path(), false);
    // A second later: change and creation times differ from the first tree's.
    std::thread::sleep(Duration::from_millis(1100));
    make(b.path(), true);
    let iso = FileSystems::ISO9660;
    let j = FileSystems::JOLIET;
    let rr = FileSystems::ROCK_RIDGE;
    let udf = FileSystems::UDF;
    let mut combos: Vec<(FileSystems, Option<UdfRevision>, bool)> = vec![
        (iso, None, false),
        (iso | j, None, true),
        (iso | rr, None, true),
        (iso | j | rr, None, true),
    ];
    for rev in UdfRevision::ALL {
        combos.push((iso | j | rr | udf, Some(rev), true));
        combos.push((udf, Some(rev), false));
    }
    for (fs_set, rev, boot) in combos {
        let first = build(a.path(), fs_set, rev, boot);
        let again = build(a.path(), fs_set, rev, boot);
        assert!(
            first == again,
            "{fs_set:?} {rev:?}: two builds of one tree differ"
        );
        let copy = build(b.path(), fs_set, rev, boot);
        if first != copy {
            let at = first.iter().zip(&copy).position(|(x, y)| x != y);
            panic!("{fs_set:?} {rev:?} boot {boot}: the copy made in another order differs at byte {at:?} (sizes {} and {})", first.len(), copy.len());
        }
    }
}
