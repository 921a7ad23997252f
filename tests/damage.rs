//! Damaged images read as far as they can (lenient mode, the default of `ls` and `extract`),
//! and strict mode names the damage:
//!
//! - a UDF file set descriptor whose CRC fails: glassmaster and mkudffs record one file set
//!   descriptor and no reserve copy, so lenient reading uses the root directory the damaged
//!   descriptor records once that is proven sound (a directory that is its own parent,
//!   ECMA-167 4/8.6), else finds the root by a scan of the partition;
//! - one damaged UDF file entry: left out with a warning naming its path and sector, the rest
//!   of the directory lists and extracts;
//! - a UDF file system beyond repair on a bridge image: the ISO 9660 views still read, and
//!   asking for the UDF view says why it cannot be read;
//! - UDF 2.50/2.60 with a metadata mirror file that has its own copy (crafted: see
//!   [`give_the_mirror_its_own_copy`]): a damaged file set descriptor or file entry of the
//!   metadata file is read from the mirror's copy;
//! - a damaged ISO 9660 directory record (genisoimage's image; isoinfo lists the undamaged
//!   one): left out and named with its sector and offset, the rest lists and extracts.
//!
//! Independent readers check the undamaged images (7-Zip's listing and extraction, udfinfo's
//! counts): what lenient reading gets from the damaged image is the same, minus the damaged
//! entry. 7-Zip itself cannot open the image with the damaged file set descriptor at all.
//!
//! mkudffs makes empty file systems only, and udftools cannot add files without mounting
//! (`wrudf` refuses overwritable partitions and does nothing on the CD-RW images mkudffs
//! makes), so the mkudffs case damages the file set descriptor of an empty volume; file entry
//! damage is tested on glassmaster's images only.

mod common;

use std::collections::BTreeSet;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{
    assert_same_tree, content, flip_byte, require_tool, run, run_clean_stdout, tool, SourceTree,
    Spec,
};
use glassmaster::read::{ImageReader, Limits, View};
use glassmaster::ParseErrorKind;

fn gm() -> Command {
    common::glassmaster()
}

/// The tree the images hold.
fn tree() -> SourceTree {
    SourceTree::create(vec![
        Spec::File("one.txt".into(), b"one\n".to_vec()),
        Spec::File("big.bin".into(), content(7, 5000)),
        Spec::File("dir/inner.txt".into(), b"inner\n".to_vec()),
        Spec::File("dir/sub/deep.txt".into(), b"deep\n".to_vec()),
        Spec::Dir("empty_dir".into()),
    ])
}

/// A bridge image (ISO 9660 + Rock Ridge + Joliet + UDF `rev`) of `src` at `out`.
fn bridge(src: &Path, rev: &str, out: &Path) {
    run(gm()
        .arg("build")
        .args(["-R", "-J", "--udf", "--udf-rev", rev, "-q", "-o"])
        .arg(out)
        .arg(src));
}

/// Exit code, stdout and stderr of a glassmaster command.
fn gm_output(args: &[&str], image: &Path) -> (i32, String, String) {
    let out = gm().args(args).arg(image).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The sectors holding a UDF descriptor with tag identifier `ident` and a sound tag checksum
/// (ECMA-167 3/7.2.3), found by scanning the image (not through glassmaster's reader).
fn descriptors(img: &[u8], ident: u16) -> Vec<u32> {
    img.chunks(2048)
        .enumerate()
        .filter(|(_, s)| {
            s.len() >= 16
                && u16::from_le_bytes([s[0], s[1]]) == ident
                && s[..16]
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != 4)
                    .fold(0u8, |a, (_, b)| a.wrapping_add(*b))
                    == s[4]
        })
        .map(|(i, _)| i as u32)
        .collect()
}

/// The only file set descriptor's sector (tag identifier 256, ECMA-167 4/14.1).
fn fsd_sector(img: &[u8]) -> u32 {
    let v = descriptors(img, 256);
    assert_eq!(v.len(), 1, "one file set descriptor: {v:?}");
    v[0]
}

fn copy(from: &Path, to: &Path) -> PathBuf {
    std::fs::copy(from, to).unwrap();
    to.to_path_buf()
}

/// The paths 7-Zip lists in the UDF file system of `img` (`/a`, `/a/b.txt`).
fn seven_zip_paths(img: &Path) -> BTreeSet<String> {
    let out = run_clean_stdout(tool("7z").args(["l", "-slt", "-tudf"]).arg(img));
    out.lines()
        .filter_map(|l| l.strip_prefix("Path = "))
        .skip(1) // the archive itself
        .map(|p| format!("/{p}"))
        .collect()
}

/// The paths `glassmaster ls --view udf` printed (directories without their trailing `/`).
fn listed(stdout: &str) -> BTreeSet<String> {
    stdout
        .lines()
        .map(|l| l.trim_end_matches('/').to_string())
        .collect()
}

/// udfinfo's `numfiles` and `numdirs` of `img`.
fn udfinfo_counts(img: &Path) -> (u64, u64) {
    common::udfinfo_counts(&run_clean_stdout(tool("udfinfo").arg(img)))
}

fn strict_open(img: &Path) -> Result<ImageReader<Cursor<Vec<u8>>>, glassmaster::ParseError> {
    ImageReader::open_with_limits(Cursor::new(std::fs::read(img).unwrap()), Limits::strict())
}

#[test]
fn damaged_file_set_descriptor_falls_back_to_the_root_it_names() {
    let have_7z = require_tool("7z");
    let have_udfinfo = require_tool("udfinfo");
    let src = tree();
    let dir = tempfile::tempdir().unwrap();
    for rev in ["2.01", "2.50"] {
        let good = dir.path().join(format!("good-{rev}.iso"));
        bridge(src.path(), rev, &good);
        let (code, want, _) = gm_output(&["ls", "--view", "udf"], &good);
        assert_eq!(code, 0);
        let want = listed(&want);
        assert_eq!(want.len(), 7, "{want:?}");
        if have_7z {
            assert_eq!(seven_zip_paths(&good), want, "7z and glassmaster, {rev}");
        }
        if have_udfinfo {
            // udfinfo counts the root among the directories.
            assert_eq!(udfinfo_counts(&good), (4, 4), "udfinfo, {rev}");
        }
        let fsd = fsd_sector(&std::fs::read(&good).unwrap());

        // A byte of the logical volume identifier (offset 112-239): the CRC fails, the root
        // ICB it records (offset 400) is intact.
        let damaged = copy(&good, &dir.path().join(format!("fsd-{rev}.iso")));
        flip_byte(&damaged, fsd, 200);
        let (code, out, err) = gm_output(&["ls", "--view", "udf"], &damaged);
        assert_eq!(code, 0, "{rev}: {err}");
        assert_eq!(listed(&out), want, "{rev}");
        assert!(
            err.contains("file set descriptor unusable")
                && err.contains(&format!("at sector {fsd}"))
                && err.contains("the root directory it records"),
            "{rev}: {err}"
        );
        let dest = dir.path().join(format!("x-{rev}"));
        let (code, _, err) = gm_output(
            &["extract", "-q", "--view", "udf", damaged.to_str().unwrap()],
            &dest,
        );
        assert_eq!(code, 0, "{rev}: {err}");
        assert_same_tree(src.path(), &dest, false, &format!("extract, {rev}"));
        if have_7z {
            // 7-Zip cannot open it at all.
            let out = tool("7z")
                .args(["l", "-tudf"])
                .arg(&damaged)
                .output()
                .unwrap();
            assert!(!out.status.success(), "7z read the damaged image, {rev}");
        }
        // Strict mode names the damage and its sector.
        let e = strict_open(&damaged).unwrap_err();
        assert_eq!(
            (e.kind, e.lba),
            (ParseErrorKind::BadCrc, Some(u64::from(fsd))),
            "{rev}"
        );
        let (code, out, _) = gm_output(&["verify"], &damaged);
        assert_eq!(code, 1, "{rev}: {out}");
        assert!(
            out.contains(&format!(
                "structure (udf view): descriptor CRC does not match its contents at sector {fsd}"
            )),
            "{rev}: {out}"
        );

        // The root ICB damaged too: the root is found by a scan of the partition.
        flip_byte(&damaged, fsd, 404);
        let (code, out, err) = gm_output(&["ls", "--view", "udf"], &damaged);
        assert_eq!(code, 0, "{rev}: {err}");
        assert_eq!(listed(&out), want, "{rev}");
        assert!(
            err.contains("found by a scan of the partition"),
            "{rev}: {err}"
        );
        // The whole sector garbage.
        let mut b = std::fs::read(&damaged).unwrap();
        b[fsd as usize * 2048..(fsd as usize + 1) * 2048].fill(0x55);
        std::fs::write(&damaged, &b).unwrap();
        let (code, out, err) = gm_output(&["ls", "--view", "udf"], &damaged);
        assert_eq!(code, 0, "{rev}: {err}");
        assert_eq!(listed(&out), want, "{rev}");
    }
}

#[test]
fn damaged_file_entry_is_left_out_and_named() {
    let have_7z = require_tool("7z");
    let src = tree();
    let dir = tempfile::tempdir().unwrap();
    for rev in ["2.01", "2.50"] {
        let good = dir.path().join(format!("good-{rev}.iso"));
        bridge(src.path(), rev, &good);
        let fe = {
            let mut r = ImageReader::open(std::fs::File::open(&good).unwrap()).unwrap();
            r.lookup(View::Udf, "/dir/inner.txt")
                .unwrap()
                .location()
                .unwrap()
        };
        // The sector holds an (extended) file entry, as an independent scan sees it.
        let bytes = std::fs::read(&good).unwrap();
        assert!(
            descriptors(&bytes, 266).contains(&fe) || descriptors(&bytes, 261).contains(&fe),
            "{rev}: no file entry at {fe}"
        );
        let mut want = if have_7z {
            seven_zip_paths(&good)
        } else {
            listed(&gm_output(&["ls", "--view", "udf"], &good).1)
        };
        assert!(want.remove("/dir/inner.txt"), "{want:?}");

        let damaged = copy(&good, &dir.path().join(format!("fe-{rev}.iso")));
        flip_byte(&damaged, fe, 100);
        // Lenient: the rest lists, the damaged entry is named with its sector, exit status 1.
        let (code, out, err) = gm_output(&["ls", "--view", "udf"], &damaged);
        assert_eq!(code, 1, "{rev}: {err}");
        assert_eq!(listed(&out), want, "{rev}");
        assert!(
            err.contains(&format!(
                "warning: /dir/inner.txt: damaged file entry at sector {fe} left out"
            )),
            "{rev}: {err}"
        );
        assert!(err.contains("1 damaged entry was left out"), "{rev}: {err}");
        // extract writes everything else.
        let dest = dir.path().join(format!("x-{rev}"));
        let (code, _, err) = gm_output(
            &["extract", "-q", "--view", "udf", damaged.to_str().unwrap()],
            &dest,
        );
        assert_eq!(code, 1, "{rev}: {err}");
        assert!(
            err.contains("/dir/inner.txt: damaged file entry"),
            "{rev}: {err}"
        );
        let expected = tempfile::tempdir().unwrap();
        run(Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", src.path().display()))
            .arg(expected.path()));
        std::fs::remove_file(expected.path().join("dir/inner.txt")).unwrap();
        assert_same_tree(expected.path(), &dest, false, &format!("extract, {rev}"));
        // The ISO 9660 views are not touched.
        let (code, out, _) = gm_output(&["ls", "--view", "rockridge"], &damaged);
        assert_eq!(code, 0);
        assert!(out.contains("/dir/inner.txt"));
        // Strict mode refuses the directory, naming the sector.
        let mut r = strict_open(&damaged).unwrap();
        let e = r.walk(View::Udf).unwrap_err();
        assert_eq!(
            (e.kind, e.lba),
            (ParseErrorKind::BadCrc, Some(u64::from(fe)))
        );
        let (code, out, _) = gm_output(&["verify"], &damaged);
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains(&format!(
                "structure (udf view): descriptor CRC does not match its contents at sector {fe}"
            )),
            "{out}"
        );
    }
}

#[test]
fn udf_beyond_repair_says_why() {
    let src = tree();
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("b.iso");
    bridge(src.path(), "2.01", &img);
    let bytes = std::fs::read(&img).unwrap();
    let fsd = fsd_sector(&bytes);
    // The file set descriptor and every directory's file entry.
    let mut b = bytes.clone();
    b[fsd as usize * 2048 + 200] ^= 0xff;
    for s in descriptors(&bytes, 266) {
        if b[s as usize * 2048 + 27] == 4 {
            b[s as usize * 2048 + 100] ^= 0xff;
        }
    }
    std::fs::write(&img, &b).unwrap();
    let (code, _, err) = gm_output(&["ls", "--view", "udf"], &img);
    assert_eq!(code, 1);
    assert!(
        err.contains("the image's UDF file system is damaged and cannot be read")
            && err.contains(&format!("at sector {fsd}"))
            && err.contains("readable views: iso9660, joliet, rockridge"),
        "{err}"
    );
    let (code, out, err) = gm_output(&["ls"], &img);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("/dir/sub/deep.txt"), "{out}");
    let r = ImageReader::open(Cursor::new(b)).unwrap();
    assert_eq!(
        r.udf_error().map(|e| (e.kind.clone(), e.lba)),
        Some((ParseErrorKind::BadCrc, Some(u64::from(fsd))))
    );
    assert_eq!(r.root(View::Udf).unwrap_err().lba, Some(u64::from(fsd)));
}

/// The path of mkudffs (in /usr/sbin, often not on a user's PATH).
fn mkudffs() -> Option<PathBuf> {
    let found = ["/usr/sbin/mkudffs", "/sbin/mkudffs", "/usr/bin/mkudffs"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    if found.is_none() && !require_tool("mkudffs") {
        return None;
    }
    found.or_else(|| Some(PathBuf::from("mkudffs")))
}

#[test]
fn mkudffs_volume_with_a_damaged_file_set_descriptor() {
    let Some(mk) = mkudffs() else { return };
    let have_udfinfo = require_tool("udfinfo");
    let dir = tempfile::tempdir().unwrap();
    for rev in ["1.02", "2.01"] {
        let img = dir.path().join(format!("mk-{rev}.img"));
        std::fs::File::create(&img)
            .unwrap()
            .set_len(10 << 20)
            .unwrap();
        run(Command::new(&mk)
            .args(["--blocksize=2048", "--media-type=hd", "--label=DAMAGED"])
            .arg(format!("--udfrev={rev}"))
            .arg(&img));
        if have_udfinfo {
            assert_eq!(udfinfo_counts(&img), (0, 1), "udfinfo, {rev}");
        }
        let fsd = fsd_sector(&std::fs::read(&img).unwrap());
        flip_byte(&img, fsd, 200);
        // Lenient: the (empty) root is found, with a warning naming the descriptor's sector.
        let (code, out, err) = gm_output(&["ls", "--view", "udf"], &img);
        assert_eq!(code, 0, "{rev}: {err}");
        assert_eq!(out, "", "{rev}");
        assert!(
            err.contains(&format!("file set descriptor unusable (descriptor CRC does not match its contents at sector {fsd}")),
            "{rev}: {err}"
        );
        let mut r = ImageReader::open(std::fs::File::open(&img).unwrap()).unwrap();
        assert_eq!(
            r.volume_info().udf.as_ref().unwrap().logical_volume_id,
            "DAMAGED"
        );
        assert!(r.walk(View::Udf).unwrap().is_empty());
        // The root ICB too: found by the scan (mkudffs's root is an extended file entry after
        // the system stream directory's).
        flip_byte(&img, fsd, 404);
        let (code, _, err) = gm_output(&["ls", "--view", "udf"], &img);
        assert_eq!(code, 0, "{rev}: {err}");
        assert!(err.contains("found by a scan"), "{rev}: {err}");
        // Strict mode refuses it, naming the sector.
        let e = strict_open(&img).unwrap_err();
        assert_eq!(
            (e.kind, e.lba),
            (ParseErrorKind::BadCrc, Some(u64::from(fsd))),
            "{rev}"
        );
        let (code, out, _) = gm_output(&["verify"], &img);
        assert_eq!(code, 1, "{rev}");
        assert!(out.contains(&format!("at sector {fsd}")), "{rev}: {out}");
    }
}

/// Gives the metadata mirror file of the UDF 2.50/2.60 image `img` a copy of its own (UDF
/// 2.2.13.1): the metadata file's extent is copied over the data of `/filler.bin` (at least as
/// long), and the mirror's file entry pointed there. glassmaster's builder records one extent
/// for both (UDF 2.2.13.1 allows it), and mkudffs makes UDF 2.50 only for BD-R (a virtual
/// partition, which the reader does not support), so the test makes the copy itself.
fn give_the_mirror_its_own_copy(img: &mut [u8]) {
    use glassmaster::raw::udf::tag::finish_tag;
    let filler = {
        let mut r = ImageReader::open(Cursor::new(img.to_vec())).unwrap();
        r.lookup(View::Udf, "/filler.bin").unwrap().extents[0]
    };
    let u32_at = |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    // The partition's first sector (the partition descriptor, ECMA-167 3/10.5: starting
    // location at byte 188), and the metadata file's and the mirror's extended file entries
    // (ECMA-167 4/14.17, ICB file types 250 and 251 at byte 27; L_EA at 208, L_AD at 212, the
    // allocation descriptors after the extended attributes), found by scanning.
    let pd = descriptors(img, 5)[0] as usize * 2048;
    let p = u32_at(img, pd + 188) as usize;
    let efe = descriptors(img, 266);
    let of_type = |t: u8| {
        let v: Vec<usize> = efe
            .iter()
            .map(|&s| s as usize * 2048)
            .filter(|&o| img[o + 27] == t)
            .collect();
        assert_eq!(v.len(), 1, "one file entry of type {t}");
        v[0]
    };
    let (main, mirror) = (of_type(250), of_type(251));
    for fe in [main, mirror] {
        assert_eq!(u32_at(img, fe + 212), 8, "one short_ad");
    }
    let ad = mirror + 216 + u32_at(img, mirror + 208) as usize;
    let len = (u32_at(img, ad) & 0x3fff_ffff) as usize;
    let block = u32_at(img, ad + 4) as usize;
    assert!(filler.len as usize >= len, "filler {} < {len}", filler.len);
    let from = (p + block) * 2048;
    img.copy_within(from..from + len, filler.lba as usize * 2048);
    img[ad + 4..ad + 8].copy_from_slice(&(filler.lba - p as u32).to_le_bytes());
    let crc_len = u16::from_le_bytes([img[mirror + 10], img[mirror + 11]]) as usize;
    let serial = u16::from_le_bytes([img[mirror + 6], img[mirror + 7]]);
    let location = (mirror / 2048 - p) as u32;
    finish_tag(
        &mut img[mirror..mirror + 16 + crc_len],
        266,
        3,
        serial,
        location,
        crc_len,
    );
}

#[test]
fn metadata_mirror_with_its_own_copy_replaces_damaged_descriptors() {
    let src = tree();
    std::fs::write(src.path().join("filler.bin"), content(9, 64 * 1024)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for rev in ["2.50", "2.60"] {
        let path = dir.path().join(format!("m-{rev}.iso"));
        bridge(src.path(), rev, &path);
        let mut good = std::fs::read(&path).unwrap();
        give_the_mirror_its_own_copy(&mut good);
        std::fs::write(&path, &good).unwrap();
        let (code, want, err) = gm_output(&["ls", "--view", "udf"], &path);
        assert_eq!((code, err.as_str()), (0, ""), "{rev}");
        let want = listed(&want);
        assert!(want.contains("/dir/sub/deep.txt"), "{want:?}");
        // Both copies are sound: strict mode reads the image.
        strict_open(&path).unwrap().walk(View::Udf).unwrap();
        // udfinfo reads the crafted image like the built one.
        if require_tool("udfinfo") {
            assert_eq!(udfinfo_counts(&path), (5, 4), "udfinfo, {rev}");
        }

        // The main file set descriptor: its copy in the mirror is used.
        // Two copies now: the metadata file's first, then the mirror's (in /filler.bin's data).
        let copies = descriptors(&good, 256);
        assert_eq!(copies.len(), 2, "{copies:?}");
        let fsd = copies[0];
        let damaged = dir.path().join(format!("m-fsd-{rev}.iso"));
        let mut img = good.clone();
        img[fsd as usize * 2048 + 200] ^= 0xff;
        std::fs::write(&damaged, &img).unwrap();
        let (code, out, err) = gm_output(&["ls", "--view", "udf"], &damaged);
        assert_eq!(code, 0, "{rev}: {err}");
        assert_eq!(listed(&out), want, "{rev}");
        assert!(
            err.contains(&format!("at sector {fsd}"))
                && err.contains("using its copy in the metadata mirror file"),
            "{rev}: {err}"
        );
        let e = strict_open(&damaged).unwrap_err();
        assert_eq!(
            (e.kind, e.lba),
            (ParseErrorKind::BadCrc, Some(u64::from(fsd)))
        );

        // The main copy of a file entry: read from the mirror, nothing left out.
        let fe = {
            let mut r = ImageReader::open(Cursor::new(good.clone())).unwrap();
            r.lookup(View::Udf, "/dir/inner.txt")
                .unwrap()
                .location()
                .unwrap()
        };
        let mut img = good.clone();
        img[fe as usize * 2048 + 100] ^= 0xff;
        std::fs::write(&damaged, &img).unwrap();
        let (code, out, err) = gm_output(&["ls", "--view", "udf"], &damaged);
        assert_eq!(code, 0, "{rev}: {err}");
        assert_eq!(listed(&out), want, "{rev}");
        assert!(
            err.contains(&format!(
                "/dir/inner.txt: damaged file entry at sector {fe}"
            )) && err.contains("using its copy in the metadata mirror file"),
            "{rev}: {err}"
        );
        let dest = dir.path().join(format!("x-{rev}"));
        let (code, _, err) = gm_output(
            &["extract", "-q", "--view", "udf", damaged.to_str().unwrap()],
            &dest,
        );
        assert_eq!(code, 0, "{rev}: {err}");
        assert_eq!(
            std::fs::read(dest.join("dir/inner.txt")).unwrap(),
            b"inner\n"
        );
        let mut r = strict_open(&damaged).unwrap();
        let e = r.walk(View::Udf).unwrap_err();
        assert_eq!(
            (e.kind, e.lba),
            (ParseErrorKind::BadCrc, Some(u64::from(fe)))
        );
    }
}

#[test]
fn damaged_iso9660_directory_record_is_left_out_and_named() {
    if !common::require_tools(&["genisoimage", "isoinfo"]) {
        return;
    }
    let src = tree();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("gen.iso");
    run(tool("genisoimage")
        .args(["-quiet", "-R", "-J", "-o"])
        .arg(&good)
        .arg(src.path()));
    // isoinfo's view of the undamaged image: the plain ISO 9660 names.
    let isoinfo = run_clean_stdout(tool("isoinfo").args(["-f", "-i"]).arg(&good));
    let mut want: BTreeSet<String> = isoinfo
        .lines()
        .map(|l| l.trim_end_matches(";1").to_string())
        .collect();
    let (code, out, _) = gm_output(&["ls", "--view", "iso9660"], &good);
    assert_eq!(code, 0);
    assert_eq!(listed(&out), want, "isoinfo and glassmaster");
    // The record of ONE.TXT: its identifier length overruns the record.
    let mut img = std::fs::read(&good).unwrap();
    let root = u32::from_le_bytes(img[16 * 2048 + 158..16 * 2048 + 162].try_into().unwrap());
    let sector = root as usize * 2048;
    let at = img[sector..sector + 2048]
        .windows(9)
        .position(|w| w == b"ONE.TXT;1")
        .unwrap()
        - 33;
    img[sector + at + 32] = 200;
    let damaged = dir.path().join("damaged.iso");
    std::fs::write(&damaged, &img).unwrap();
    assert!(want.remove("/ONE.TXT"));
    let (code, out, err) = gm_output(&["ls", "--view", "iso9660"], &damaged);
    assert_eq!(code, 1, "{err}");
    assert_eq!(listed(&out), want);
    assert!(
        err.contains(&format!(
            "warning: directory /: damaged directory record at sector {root} offset {at} left out"
        )),
        "{err}"
    );
    // The Rock Ridge view (the same records) extracts the rest.
    let dest = dir.path().join("x");
    let (code, _, err) = gm_output(&["extract", "-q", damaged.to_str().unwrap()], &dest);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("1 entry was not extracted"), "{err}");
    let expected = tempfile::tempdir().unwrap();
    run(Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", src.path().display()))
        .arg(expected.path()));
    std::fs::remove_file(expected.path().join("one.txt")).unwrap();
    assert_same_tree(expected.path(), &dest, false, "extract");
    // Strict mode refuses the directory, naming the sector and offset.
    let mut r = strict_open(&damaged).unwrap();
    let e = r.walk(View::Iso9660).unwrap_err();
    assert_eq!((e.lba, e.offset), (Some(u64::from(root)), Some(at)));
}
