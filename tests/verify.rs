//! Embedded checksums and `glassmaster verify`: a clean image verifies; damaging blocks names
//! exactly the affected files with their block ranges; damaging the list is reported.

use glassmaster::{FileSystems, ImageBuilder, NoProgress};
use std::process::Command;

fn verify(iso: &std::path::Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_glassmaster"))
        .arg("verify")
        .arg(iso)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn damage_names_exactly_the_affected_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE);
    b.options_mut().checksums = true;
    for (i, size) in [100usize, 5000, 20_000, 0, 2048].iter().enumerate() {
        b.add_bytes(&format!("/dir/file{i}.bin"), vec![i as u8 + 1; *size])
            .unwrap();
    }
    let image = b.build().unwrap();
    // The files' block ranges, from the image's own map.
    let item = |p: &str| image.progress_items().from_description(p).unwrap().clone();
    let iso = dir.path().join("c.iso");
    image.write_to_path(&iso, &mut NoProgress).unwrap();
    let (code, out) = verify(&iso);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("no damage"), "{out}");

    // Damage the second block of file2 and the only block of file4.
    let mut bytes = std::fs::read(&iso).unwrap();
    let f2 = item("/dir/file2.bin");
    let f4 = item("/dir/file4.bin");
    bytes[(f2.first_block as usize + 1) * 2048 + 7] ^= 0xFF;
    bytes[f4.first_block as usize * 2048] ^= 0xFF;
    let damaged = dir.path().join("d.iso");
    std::fs::write(&damaged, &bytes).unwrap();
    let (code, out) = verify(&damaged);
    assert_eq!(code, 1, "{out}");
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("damaged:")).collect();
    assert_eq!(
        lines,
        [
            format!(
                "damaged: /dir/file2.bin (blocks {}-{})",
                f2.first_block, f2.last_block
            ),
            format!(
                "damaged: /dir/file4.bin (blocks {}-{})",
                f4.first_block, f4.last_block
            ),
        ],
        "{out}"
    );

    // Damage the list itself.
    let mut bytes = std::fs::read(&iso).unwrap();
    let list = item("/CHECKSUM/SHA256.TXT");
    bytes[list.first_block as usize * 2048 + 3] ^= 0x01;
    std::fs::write(&damaged, &bytes).unwrap();
    let (code, out) = verify(&damaged);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("the checksum list itself is damaged"), "{out}");

    // An image without checksums is an error that says how to make one.
    let mut b = ImageBuilder::new();
    b.add_bytes("/x", &b"x"[..]).unwrap();
    let plain = dir.path().join("p.iso");
    b.build()
        .unwrap()
        .write_to_path(&plain, &mut NoProgress)
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_glassmaster"))
        .arg("verify")
        .arg(&plain)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--checksums"));
}

/// A Rock Ridge image with directories deeper than 8 levels (relocated into `rr_moved`, RRIP
/// 4.1.5) verifies clean: the `CL` placeholder records follow the directory identifier rules.
#[test]
fn deep_rock_ridge_tree_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE);
    b.options_mut().checksums = true;
    b.add_bytes("/a/b/c/d/e/f/g/h/i/j/deep.txt", &b"deep"[..])
        .unwrap();
    b.add_bytes("/top.txt", &b"top"[..]).unwrap();
    let iso = dir.path().join("deep.iso");
    b.build()
        .unwrap()
        .write_to_path(&iso, &mut NoProgress)
        .unwrap();
    let (code, out) = verify(&iso);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("no damage"), "{out}");
}
