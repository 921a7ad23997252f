//! Embedded checksums and `glassmaster verify`: a clean image verifies; damaging blocks names
//! exactly the affected files with their block ranges; damaging the list is reported. Without
//! embedded checksums, verify checks every structure and reads every file: images from
//! genisoimage and glassmaster pass, and a damaged directory record, a path table naming the
//! wrong sector, a file extent past the end of the image or a damaged UDF descriptor is named.

mod common;

use glassmaster::read::{ImageReader, View};
use glassmaster::{FileSystems, ImageBuilder, NoProgress};
use std::path::Path;
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
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
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

    // An image without checksums: the structures are checked, and the output says so (and
    // how to embed checksums).
    let mut b = ImageBuilder::new();
    b.add_bytes("/x", &b"x"[..]).unwrap();
    let plain = dir.path().join("p.iso");
    b.build(&mut glassmaster::NoProgress)
        .unwrap()
        .write_to_path(&plain, &mut NoProgress)
        .unwrap();
    let (code, out) = verify(&plain);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("no embedded checksums: structures checked, 1 file readable")
            && out.contains("--checksums"),
        "{out}"
    );
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
    b.build(&mut glassmaster::NoProgress)
        .unwrap()
        .write_to_path(&iso, &mut NoProgress)
        .unwrap();
    let (code, out) = verify(&iso);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("no damage"), "{out}");
}

/// Exit code, stdout and stderr of `glassmaster verify`.
fn verify_all(iso: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_glassmaster"))
        .arg("verify")
        .arg(iso)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The source tree: three files, one in a subdirectory.
fn source(dir: &Path) -> std::path::PathBuf {
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("dir")).unwrap();
    std::fs::write(src.join("one.txt"), b"one\n").unwrap();
    std::fs::write(src.join("big.bin"), common::content(3, 5000)).unwrap();
    std::fs::write(src.join("dir/inner.txt"), b"inner\n").unwrap();
    src
}

/// Little-endian u32 at byte `off` of `b`.
fn le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

/// The byte offset of the directory record of `name` in the root directory of `img` (the
/// primary volume descriptor's root, ECMA-119 8.4.18; records found by their identifier).
fn root_record(img: &[u8], name: &[u8]) -> usize {
    let root = le32(img, 16 * 2048 + 156 + 2) as usize * 2048;
    let pos = img[root..root + 2048]
        .windows(name.len())
        .position(|w| w == name)
        .unwrap_or_else(|| panic!("{} not in the root", String::from_utf8_lossy(name)));
    root + pos - 33
}

#[test]
fn images_without_checksums_have_their_structures_checked() {
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path());
    let mut images = Vec::new();
    // genisoimage (Rock Ridge, Joliet).
    if common::require_tool("genisoimage") {
        let gen = dir.path().join("gen.iso");
        common::run(
            common::tool("genisoimage")
                .args(["-quiet", "-R", "-J", "-o"])
                .arg(&gen)
                .arg(&src),
        );
        images.push(gen);
    }
    // glassmaster: ISO 9660 + Rock Ridge + Joliet + UDF 2.50, and an El Torito boot entry
    // (boot/boot.bin, and the catalog, a file too).
    std::fs::create_dir_all(src.join("boot")).unwrap();
    std::fs::write(src.join("boot/boot.bin"), vec![0xEBu8; 2048]).unwrap();
    let ours = dir.path().join("ours.iso");
    common::run(
        Command::new(env!("CARGO_BIN_EXE_glassmaster"))
            .args(["build", "-q", "-R", "-J", "--udf", "--udf-rev", "2.50"])
            .args(["-b", "boot/boot.bin", "-no-emul-boot", "-o"])
            .arg(&ours)
            .arg(&src),
    );
    images.push(ours);
    for (img, files) in images.iter().zip([3, 5].iter().skip(2 - images.len())) {
        let (code, out, err) = verify_all(img);
        assert_eq!(code, 0, "{}: {out}{err}", img.display());
        assert!(
            out.contains(&format!(
                "no embedded checksums: structures checked, {files} files readable, no damage"
            )),
            "{out}"
        );
        // An independent reader agrees that the image is sound.
        if common::require_tool("isoinfo") {
            let l =
                common::run_clean_stdout(common::tool("isoinfo").args(["-R", "-f", "-i"]).arg(img));
            assert!(l.contains("/dir/inner.txt"), "{l}");
        }
    }
    let base = images.last().unwrap().clone();
    let good = std::fs::read(&base).unwrap();
    let damaged = dir.path().join("damaged.iso");

    // A directory record whose identifier overruns it.
    let mut img = good.clone();
    let one = root_record(&img, b"ONE.TXT;1");
    img[one + 32] = 200;
    std::fs::write(&damaged, &img).unwrap();
    let (code, out, err) = verify_all(&damaged);
    assert_eq!(code, 1, "{out}");
    let root_lba = le32(&good, 16 * 2048 + 156 + 2);
    assert!(
        out.contains(&format!(
            "structure (iso9660 view): bad directory record: identifier of 200 bytes overruns the record of {} bytes at sector {root_lba} offset {}",
            img[one], one % 2048
        )),
        "{out}"
    );
    assert!(
        err.contains("problems found (no embedded checksums")
            || err.contains(": 1 problem found (no embedded checksums"),
        "{err}"
    );

    // The path tables naming another sector for /DIR (both copies, so they agree), on an
    // image without UDF (which pycdlib reads too).
    let pt_base = dir.path().join("iso.iso");
    common::run(
        Command::new(env!("CARGO_BIN_EXE_glassmaster"))
            .args(["build", "-q", "-R", "-J", "-o"])
            .arg(&pt_base)
            .arg(&src),
    );
    let pt_good = std::fs::read(&pt_base).unwrap();
    let (code, out, _) = verify_all(&pt_base);
    assert_eq!(code, 0, "{out}");
    let mut img = pt_good.clone();
    let pvd = 16 * 2048;
    let dir_lba = {
        let mut r = ImageReader::open(std::io::Cursor::new(pt_good.clone())).unwrap();
        r.lookup(View::Iso9660, "/DIR").unwrap().extents[0].lba
    };
    let (l, m) = (
        le32(&img, pvd + 140) as usize,
        u32::from_be_bytes(img[pvd + 148..pvd + 152].try_into().unwrap()) as usize,
    );
    // The record of DIR (ECMA-119 9.4: length of identifier, extended attribute length,
    // extent, parent, identifier, padding to even), at the same offset in both tables.
    let mut at = 0;
    loop {
        let len = img[l * 2048 + at] as usize;
        assert!(len > 0, "no DIR record in the path table");
        if &img[l * 2048 + at + 8..l * 2048 + at + 8 + len] == b"DIR" {
            break;
        }
        at += 8 + len + len % 2;
    }
    img[l * 2048 + at + 2..l * 2048 + at + 6].copy_from_slice(&(dir_lba + 1).to_le_bytes());
    img[m * 2048 + at + 2..m * 2048 + at + 6].copy_from_slice(&(dir_lba + 1).to_be_bytes());
    std::fs::write(&damaged, &img).unwrap();
    let (code, out, _) = verify_all(&damaged);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "path table (iso9660 view): /DIR at sector {}, but its directory record says sector {dir_lba}",
            dir_lba + 1
        )),
        "{out}"
    );
    // An independent reader that matches the path table with the directories (pycdlib)
    // opens the sound image and refuses this one.
    if common::require_tool("python3") {
        let opens = |img: &Path| {
            common::tool("python3")
                .args([
                    "-c",
                    "import pycdlib, sys; p = pycdlib.PyCdlib(); p.open(sys.argv[1])",
                ])
                .arg(img)
                .output()
                .unwrap()
                .status
                .success()
        };
        assert!(opens(&pt_base), "pycdlib refuses the sound image");
        assert!(
            !opens(&damaged),
            "pycdlib opens the image whose path table is wrong"
        );
    }

    // A file's extent past the end of the image (both byte orders, ECMA-119 9.1.3).
    let mut img = good.clone();
    let big = root_record(&img, b"BIG.BIN;1");
    let past = (img.len() / 2048) as u32 + 10;
    img[big + 2..big + 6].copy_from_slice(&past.to_le_bytes());
    img[big + 6..big + 10].copy_from_slice(&past.to_be_bytes());
    std::fs::write(&damaged, &img).unwrap();
    let (code, out, _) = verify_all(&damaged);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("iso9660 view: /BIG.BIN: cannot be read (extent lies outside the image at sector {past})")),
        "{out}"
    );
    if common::require_tool("isoinfo") {
        let out = common::tool("isoinfo")
            .args(["-x", "/BIG.BIN;1", "-i"])
            .arg(&damaged)
            .output()
            .unwrap();
        assert!(
            out.stdout.len() < 5000,
            "isoinfo read {} bytes",
            out.stdout.len()
        );
    }

    // The El Torito catalog's validation entry with a wrong checksum (El Torito 2.1), on an
    // image without UDF (which pycdlib reads too).
    let boot = dir.path().join("boot.iso");
    common::run(
        Command::new(env!("CARGO_BIN_EXE_glassmaster"))
            .args([
                "build",
                "-q",
                "-R",
                "-J",
                "-b",
                "boot/boot.bin",
                "-no-emul-boot",
                "-o",
            ])
            .arg(&boot)
            .arg(&src),
    );
    let (code, out, _) = verify_all(&boot);
    assert_eq!(code, 0, "{out}");
    let mut img = std::fs::read(&boot).unwrap();
    let cat = {
        let mut r = ImageReader::open(std::io::Cursor::new(img.clone())).unwrap();
        r.boot_catalog().unwrap().expect("a boot catalog").0 as usize
    };
    img[cat * 2048 + 28] ^= 0xff;
    std::fs::write(&damaged, &img).unwrap();
    let (code, out, _) = verify_all(&damaged);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("El Torito boot catalog: ") && out.contains(&format!("at sector {cat}")),
        "{out}"
    );
    if common::require_tool("python3") {
        let opens = |img: &Path| {
            common::tool("python3")
                .args([
                    "-c",
                    "import pycdlib, sys; p = pycdlib.PyCdlib(); p.open(sys.argv[1])",
                ])
                .arg(img)
                .output()
                .unwrap()
        };
        assert!(
            opens(&boot).status.success(),
            "pycdlib refuses the sound image"
        );
        let out = opens(&damaged);
        assert!(
            !out.status.success()
                && String::from_utf8_lossy(&out.stderr).contains("Validation entry checksum"),
            "pycdlib: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
