//! The block map of existing images (`ImageReader::block_map`, `glassmaster map IMAGE`; issue 19
//! item 8): images from our builder (ISO 9660 + Joliet + Rock Ridge with continuation areas,
//! bridge UDF 2.01 and 2.50, El Torito with a hybrid GPT, a multisession image), genisoimage,
//! xorriso and mkudffs. Checked: the coverage invariants (items sorted, contiguous, covering the
//! image), every file extent found by `from_block` with all its names, the builder's own
//! progress items, and independent readers: `isoinfo -l` (directory and file extents),
//! `xorriso -find -exec report_lba` (file extents), `xorriso -report_el_torito`, pycdlib (path
//! table locations) and `udfinfo` (UDF descriptor sequences, anchors, integrity sequence).

mod common;

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use chrono::TimeZone;
use common::*;
use glassmaster::read::{BlockMap, ImageReader, MapItem, View};
use glassmaster::{
    BootImage, FileSystems, Hybrid, Image, ImageBuilder, ItemKind, NoProgress, UdfRevision,
};
use proptest::prelude::*;

// ------------------------------------------------------------------------------------------------
// Helpers

/// The map of the image at `path`.
fn map_of(path: &Path) -> BlockMap {
    let mut r = ImageReader::open(fs::File::open(path).unwrap()).expect("open");
    let map = r.block_map().expect("block_map");
    check_invariants(&map, fs::metadata(path).unwrap().len());
    check_every_name(&mut r, &map);
    map
}

/// Every file of every view is found at each of its extents' blocks, with its name in that
/// view (the ISO 9660:1999 view, when it shares the primary's records, has the ISO 9660 names).
fn check_every_name<R: std::io::Read + std::io::Seek>(r: &mut ImageReader<R>, map: &BlockMap) {
    let shared_1999 = r.views().contains(&View::Iso1999)
        && r.root(View::Iso1999).unwrap().extents == r.root(View::Iso9660).unwrap().extents;
    for view in r.views() {
        let named = if view == View::Iso1999 && shared_1999 {
            View::Iso9660
        } else {
            view
        };
        for (path, e) in r.walk(view).unwrap() {
            if e.is_dir {
                continue;
            }
            for x in e.extents.iter().filter(|x| x.len != 0) {
                for lba in [
                    u64::from(x.lba),
                    u64::from(x.lba) + (u64::from(x.len) - 1) / 2048,
                ] {
                    assert!(
                        names(map, lba, named, &path),
                        "{view} {path} at {lba}: {:?}",
                        at(map, lba)
                    );
                }
            }
        }
    }
}

/// Items in order, contiguous, none empty, from block 0 to the image's last block; `from_block`
/// finds each.
fn check_invariants(map: &BlockMap, image_len: u64) {
    let total = image_len.div_ceil(2048);
    assert_eq!(map.total_blocks(), total);
    let mut next = 0;
    for (i, it) in map.iter().enumerate() {
        assert_eq!(it.first_block, next, "gap or overlap before {it:?}");
        assert!(it.block_count > 0, "{it:?}");
        assert_eq!(it.last_block + 1 - it.first_block, it.block_count, "{it:?}");
        assert_eq!(map.index_of_block(it.first_block), Some(i));
        assert_eq!(map.index_of_block(it.last_block), Some(i));
        next = it.last_block + 1;
    }
    assert_eq!(next, total, "the map ends before the image");
    assert!(map.from_block(total).is_none());
}

/// The item at `lba`, which must exist.
fn at(map: &BlockMap, lba: u64) -> &MapItem {
    map.from_block(lba)
        .unwrap_or_else(|| panic!("no item at block {lba}"))
}

/// True if the item at `lba` names `path` in `view`.
fn names(map: &BlockMap, lba: u64, view: View, path: &str) -> bool {
    at(map, lba)
        .names
        .iter()
        .any(|n| n.view == view && n.path == path)
}

fn write_image(image: &Image, path: &Path) {
    image.write_to_path(path, &mut NoProgress).expect("write");
}

fn fixed_time() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap()
}

/// Every item of the builder's layout (`ProgressItems`) has an item of the same blocks and kind
/// in the reader's map, and the same description (the layout names directories by the tree's
/// paths, which Rock Ridge keeps; Joliet directories are compared by blocks only, their names
/// may be shortened). Zero blocks the layout calls padding may be merged with free space.
fn assert_agrees_with_layout(image: &Image, map: &BlockMap) {
    for it in image.progress_items() {
        // The layout groups UDF file entries and volume descriptors differently (the map has
        // one item per file entry, per descriptor sequence).
        if !matches!(
            it.kind,
            ItemKind::FileData
                | ItemKind::Directory
                | ItemKind::ContinuationAreas
                | ItemKind::PathTable
        ) {
            continue;
        }
        let got = at(map, it.first_block);
        assert_eq!(
            (got.first_block, got.last_block),
            (it.first_block, it.last_block),
            "{it:?} vs {got:?}"
        );
        match it.kind {
            ItemKind::FileData => {
                assert_eq!(got.kind, ItemKind::FileData, "{it:?} vs {got:?}");
                assert!(
                    got.description == it.description
                        || got.names.iter().any(|n| n.path == it.description),
                    "{it:?} vs {got:?}"
                );
            }
            ItemKind::Directory if it.description.ends_with("(Joliet)") => {
                assert_eq!(got.kind, ItemKind::Directory, "{it:?} vs {got:?}");
            }
            ItemKind::Directory | ItemKind::ContinuationAreas | ItemKind::PathTable => {
                assert_eq!(
                    (got.kind, got.description.as_str()),
                    (it.kind, it.description.as_str())
                );
            }
            _ => {}
        }
    }
}

/// `isoinfo -l` of the ISO 9660 tree: every directory's "." extent is a directory item, every
/// file's extent a file item that names it (the ISO 9660 name without `;1`).
fn check_isoinfo(map: &BlockMap, img: &Path) {
    if !require_tool("isoinfo") {
        return;
    }
    let out = run_clean_stdout(tool("isoinfo").args(["-l", "-i"]).arg(img));
    let mut dir = String::new();
    let mut files = 0;
    for line in out.lines() {
        if let Some(d) = line.strip_prefix("Directory listing of ") {
            dir = d.trim().to_string();
            continue;
        }
        let (Some(open), Some(close)) = (line.find('['), line.find(']')) else {
            continue;
        };
        let fields: Vec<&str> = line[open + 1..close].split_whitespace().collect();
        let lba: u64 = fields[0].parse().unwrap();
        let name = line[close + 1..].trim();
        let size: u64 = line[..open]
            .split_whitespace()
            .nth(4)
            .unwrap()
            .parse()
            .unwrap();
        if line.starts_with('d') {
            if name == "." {
                assert_eq!(at(map, lba).kind, ItemKind::Directory, "{dir}: {line}");
            }
            continue;
        }
        if size == 0 {
            continue;
        }
        let name = name.trim_end_matches(";1").trim_end_matches('.');
        let path = format!("{dir}{name}");
        assert!(
            names(map, lba, View::Iso9660, &path),
            "isoinfo: {path} at {lba}: {:?}",
            at(map, lba)
        );
        files += 1;
    }
    assert!(files > 0, "isoinfo listed no file:\n{out}");
}

/// `xorriso -find / -exec report_lba`: each file's start block and block count is an item of
/// exactly those blocks that names the file (the Rock Ridge path).
fn check_xorriso_lba(map: &BlockMap, img: &Path, view: View) {
    if !require_tool("xorriso") {
        return;
    }
    let out = xorriso_report(img, &["-find", "/", "-exec", "report_lba"]);
    let mut seen = 0;
    for line in out.lines().filter(|l| l.starts_with("File data lba:")) {
        let f: Vec<&str> = line["File data lba:".len()..].split(',').collect();
        let start: u64 = f[1].trim().parse().unwrap();
        let blocks: u64 = f[2].trim().parse().unwrap();
        let path = f[4].trim().trim_matches('\'');
        if blocks == 0 {
            continue; // an empty file
        }
        let it = at(map, start);
        assert_eq!((it.first_block, it.block_count), (start, blocks), "{line}");
        assert!(names(map, start, view, path), "{line}: {it:?}");
        seen += 1;
    }
    assert!(seen > 0, "xorriso reported no file:\n{out}");
}

/// pycdlib's primary volume descriptor: the path tables are where the map says.
fn check_pycdlib_path_tables(map: &BlockMap, img: &Path) {
    if !require_tool("python3") {
        return;
    }
    let script = "import sys, pycdlib\n\
                  i = pycdlib.PyCdlib(); i.open(sys.argv[1]); p = i.pvd\n\
                  print(p.path_table_location_le, p.path_table_location_be)";
    let out = run_clean_stdout(tool("python3").args(["-c", script]).arg(img));
    let locs: Vec<u64> = out.split_whitespace().map(|x| x.parse().unwrap()).collect();
    assert_eq!(at(map, locs[0]).description, "Path table L (ISO 9660)");
    assert_eq!(at(map, locs[1]).description, "Path table M (ISO 9660)");
    assert_eq!(at(map, locs[0]).kind, ItemKind::PathTable);
}

/// `udfinfo`'s layout lines (`start=N, blocks=M, type=T`): the descriptor sequences, anchors
/// and integrity sequence are items at those blocks.
fn check_udfinfo(map: &BlockMap, img: &Path) {
    if !require_tool("udfinfo") {
        return;
    }
    let out = run_stdout(tool("udfinfo").arg(img));
    let mut seen = 0;
    for line in out.lines().filter(|l| l.starts_with("start=")) {
        let kv: HashMap<&str, &str> = line.split(", ").filter_map(|p| p.split_once('=')).collect();
        let start: u64 = kv["start"].parse().unwrap();
        let blocks: u64 = kv["blocks"].parse().unwrap();
        let want = match kv["type"] {
            "MVDS" => "UDF main volume descriptor sequence",
            "RVDS" => "UDF reserve volume descriptor sequence",
            "ANCHOR" => "UDF anchor volume descriptor pointer",
            "LVID" => "UDF logical volume integrity sequence",
            "STABLE" => "UDF sparing table",
            _ => continue,
        };
        let it = at(map, start);
        assert!(it.description.starts_with(want), "{line}: {it:?}");
        assert_eq!(it.first_block, start, "{line}");
        assert!(it.block_count >= blocks, "{line}: {it:?}");
        seen += 1;
    }
    assert!(seen >= 4, "udfinfo:\n{out}");
}

/// A tree whose long Rock Ridge names need continuation areas, with a hard link, two identical
/// files (deduplicated), a deep directory and an empty file.
fn add_tree(b: &mut ImageBuilder) {
    let long = "n".repeat(180);
    b.add_bytes("/readme.txt", content(1, 3000)).unwrap();
    b.add_bytes("/copy_of_readme.txt", content(1, 3000))
        .unwrap();
    b.add_hard_link("/docs/link.txt", "/readme.txt").unwrap();
    b.add_bytes("/docs/empty", Vec::new()).unwrap();
    b.add_bytes("/docs/big.bin", content(2, 70_000)).unwrap();
    for i in 0..6 {
        b.add_bytes(
            &format!("/{long}/{long}_{i}.txt"),
            content(10 + i, 100 + i as usize),
        )
        .unwrap();
    }
    b.add_bytes("/a/b/c/d/e/f/g/h/i/deep.txt", content(3, 5000))
        .unwrap();
    b.add_symlink("/docs/sym", &format!("../{long}/{long}_1.txt"))
        .unwrap();
}

fn builder(fs: FileSystems) -> ImageBuilder {
    let mut b = ImageBuilder::new();
    b.filesystems(fs)
        .volume_id("MAPTEST")
        .build_time(fixed_time());
    add_tree(&mut b);
    b
}

// ------------------------------------------------------------------------------------------------
// Our images

#[test]
fn ours_iso_joliet_rock_ridge_with_continuation_areas() {
    let b = builder(FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE);
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let out = out_dir();
    let img = join(&out, "rr.iso");
    write_image(&image, &img);
    let map = map_of(&img);
    assert_agrees_with_layout(&image, &map);
    // The continuation areas of the long-named directory, as the layout placed them.
    let long = "n".repeat(180);
    let ce = map
        .iter()
        .find(|it| it.description == format!("Rock Ridge continuation areas of /{long}"))
        .expect("continuation areas of the long directory");
    assert_eq!(ce.kind, ItemKind::ContinuationAreas);
    // Every name of shared data: a hard link and a deduplicated copy, in every view.
    let readme = map.from_description("/readme.txt").expect("readme");
    for (view, path) in [
        (View::RockRidge, "/readme.txt"),
        (View::RockRidge, "/docs/link.txt"),
        (View::RockRidge, "/copy_of_readme.txt"),
        (View::Joliet, "/readme.txt"),
        (View::Joliet, "/docs/link.txt"),
        (View::Joliet, "/copy_of_readme.txt"),
        (View::Iso9660, "/README.TXT"),
        (View::Iso9660, "/DOCS/LINK.TXT"),
    ] {
        assert!(
            names(&map, readme.first_block, view, path),
            "{view} {path}: {readme:?}"
        );
    }
    // Deep directories are relocated in the ISO 9660 tree; the map names them by their path.
    assert!(map
        .iter()
        .any(|it| it.description == "Directory /a/b/c/d/e/f/g/h/i (ISO 9660)"));
    assert!(map
        .iter()
        .any(|it| it.kind == ItemKind::Directory && it.description.contains("rr_moved")));
    check_isoinfo(&map, &img);
    check_xorriso_lba(&map, &img, View::RockRidge);
    check_pycdlib_path_tables(&map, &img);
    // The command line prints the same map.
    let cli = glassmaster_cli(&["map", img.to_str().unwrap(), "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&cli).unwrap();
    assert_eq!(rows.len(), map.len());
    for (row, it) in rows.iter().zip(map.iter()) {
        assert_eq!(row["first_block"], it.first_block);
        assert_eq!(row["description"], it.description.as_str());
        assert_eq!(row["names"].as_array().unwrap().len(), it.names.len());
    }
    let block = glassmaster_cli(&[
        "map",
        img.to_str().unwrap(),
        "--block",
        &readme.first_block.to_string(),
    ]);
    assert!(block.contains("name (joliet): /docs/link.txt"), "{block}");
}

#[test]
fn cli_block_beyond_the_image_is_an_error() {
    let b = builder(FileSystems::ISO9660 | FileSystems::ROCK_RIDGE);
    let out = out_dir();
    let img = join(&out, "small.iso");
    write_image(&b.build(&mut glassmaster::NoProgress).unwrap(), &img);
    let blocks = fs::metadata(&img).unwrap().len() / 2048;
    let last = glassmaster_cli(&[
        "map",
        img.to_str().unwrap(),
        "--block",
        &(blocks - 1).to_string(),
    ]);
    assert!(
        last.starts_with(&format!("block {}: ", blocks - 1)),
        "{last}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_glassmaster"))
        .args(["map", img.to_str().unwrap(), "--block", &blocks.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("block {blocks} is beyond the end")),
        "{err}"
    );
}

/// Runs the command-line tool; its standard output.
fn glassmaster_cli(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_glassmaster"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn bridge(rev: UdfRevision) {
    let mut b = builder(
        FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE | FileSystems::UDF,
    );
    b.options_mut().udf.revision = rev;
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let out = out_dir();
    let img = join(&out, "bridge.iso");
    write_image(&image, &img);
    let map = map_of(&img);
    assert_agrees_with_layout(&image, &map);
    let readme = map.from_description("/readme.txt").expect("readme");
    for (view, path) in [
        (View::Udf, "/readme.txt"),
        (View::Udf, "/docs/link.txt"),
        (View::Udf, "/copy_of_readme.txt"),
        (View::Joliet, "/readme.txt"),
        (View::Iso9660, "/README.TXT"),
    ] {
        assert!(
            names(&map, readme.first_block, view, path),
            "{view} {path}: {readme:?}"
        );
    }
    // File entries: hard links share one, with both names.
    let fe = map
        .iter()
        .find(|it| it.description.starts_with("UDF file entry of ") && it.names.len() == 2)
        .expect("a file entry with two names");
    assert_eq!(fe.kind, ItemKind::FileEntries);
    let fsd = map
        .from_description("UDF file set descriptor")
        .expect("file set descriptor");
    for d in [
        "UDF main volume descriptor sequence",
        "UDF reserve volume descriptor sequence",
        "UDF logical volume integrity sequence",
        "UDF volume recognition sequence",
        "UDF anchor volume descriptor pointer",
        "Directory / (UDF)",
        "UDF file entry of /",
    ] {
        assert!(map.from_description(d).is_some(), "{d} missing");
    }
    // The closing anchor is the last block.
    assert_eq!(
        map.items().last().unwrap().description,
        "UDF anchor volume descriptor pointer"
    );
    if rev >= UdfRevision::V2_50 {
        // The file structure lies within the metadata file: innermost items, said so.
        assert_eq!(fsd.within.as_deref(), Some("UDF metadata file"));
        assert_eq!(fe.within.as_deref(), Some("UDF metadata file"));
        assert!(map.from_description("UDF metadata file entry").is_some());
        assert!(map
            .from_description("UDF metadata mirror file entry")
            .is_some());
    } else {
        assert_eq!(fsd.within, None);
    }
    check_udfinfo(&map, &img);
    check_isoinfo(&map, &img);
    check_xorriso_lba(&map, &img, View::RockRidge);
}

#[test]
fn ours_bridge_udf_2_01() {
    bridge(UdfRevision::V2_01);
}

#[test]
fn ours_bridge_udf_2_50() {
    bridge(UdfRevision::V2_50);
}

#[test]
fn ours_el_torito_with_hybrid_gpt() {
    let mut b = builder(FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE);
    b.add_bytes("/boot/bios.bin", content(7, 4096)).unwrap();
    b.add_bytes("/boot/efi.img", content(8, 300 * 1024))
        .unwrap();
    b.add_boot_entry(BootImage::bios("/boot/bios.bin"));
    b.add_boot_entry(BootImage::efi("/boot/efi.img"));
    let mut hybrid = Hybrid::default();
    hybrid.gpt = true;
    b.hybrid(hybrid);
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let out = out_dir();
    let img = join(&out, "boot.iso");
    write_image(&image, &img);
    let map = map_of(&img);
    assert_agrees_with_layout(&image, &map);
    assert!(at(&map, 0).description.contains("GPT"), "{:?}", at(&map, 0));
    let last = map.items().last().unwrap();
    assert_eq!(last.description, "Backup GPT");
    let efi = map.from_description("/boot/efi.img").unwrap();
    assert!(
        efi.also
            .iter()
            .any(|a| a == "El Torito boot image 2 (UEFI, no emulation)"),
        "{efi:?}"
    );
    assert!(
        efi.also.iter().any(|a| a.starts_with("GPT partition")),
        "{efi:?}"
    );
    // sgdisk finds the EFI system partition where the map has the UEFI image.
    if require_tool("sgdisk") {
        let out = run_stdout(tool("sgdisk").arg("-p").arg(&img));
        let row = out
            .lines()
            .find(|l| l.contains("EF00"))
            .unwrap_or_else(|| panic!("no EFI partition:\n{out}"));
        let f: Vec<u64> = row
            .split_whitespace()
            .take(3)
            .map(|x| x.parse().unwrap())
            .collect();
        assert_eq!(f[1], efi.first_block * 4, "{row}");
        assert_eq!(f[2] + 1, (efi.first_block + efi.block_count) * 4, "{row}");
    }
    // xorriso finds the catalog and the boot images where the map does.
    if require_tool("xorriso") {
        let out = xorriso_report(&img, &["-report_el_torito", "plain"]);
        let mut checked = 0;
        for line in out.lines() {
            let lba = line
                .split_whitespace()
                .last()
                .and_then(|x| x.parse::<u64>().ok());
            if line.starts_with("El Torito catalog") {
                let cat = line.split(':').nth(1).unwrap().split_whitespace().next();
                let cat: u64 = cat.unwrap().parse().unwrap();
                assert!(
                    at(&map, cat)
                        .also
                        .iter()
                        .any(|a| a == "El Torito boot catalog")
                        || at(&map, cat).kind == ItemKind::BootCatalog,
                    "{:?}",
                    at(&map, cat)
                );
                checked += 1;
            } else if line.starts_with("El Torito boot img") {
                let it = at(&map, lba.unwrap());
                assert!(
                    it.also
                        .iter()
                        .any(|a| a.starts_with("El Torito boot image")),
                    "{line}: {it:?}"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 3, "{out}");
    }
}

#[test]
fn ours_multisession_newest_session_and_older_blocks() {
    let out = out_dir();
    let img = join(&out, "multi.iso");
    let b = builder(FileSystems::ISO9660 | FileSystems::ROCK_RIDGE);
    write_image(&b.build(&mut glassmaster::NoProgress).unwrap(), &img);
    let src = out.path().join("more");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("added.txt"), content(20, 9000)).unwrap();
    glassmaster_cli(&[
        "build",
        "-R",
        src.to_str().unwrap(),
        "--append-to",
        img.to_str().unwrap(),
        "-q",
    ]);
    let map = map_of(&img);
    // Files of both sessions are named by the newest tree.
    assert!(map.from_description("/added.txt").is_some());
    let readme = map.from_description("/readme.txt").expect("readme");
    assert_eq!(readme.kind, ItemKind::FileData);
    // The first session's directories are no longer used: blocks of an older session.
    assert!(
        map.iter()
            .any(|it| it.kind == ItemKind::BaseImage && it.description.starts_with("Session 1")),
        "{map:#?}"
    );
    check_xorriso_lba(&map, &img, View::RockRidge);
}

// ------------------------------------------------------------------------------------------------
// Other writers

/// A source tree on disk with long names, a hard link, a deep directory and a boot file.
fn disk_tree() -> SourceTree {
    let long = "l".repeat(150);
    let t = SourceTree::create(vec![
        Spec::File("readme.txt".into(), content(1, 3000)),
        Spec::File("boot/boot.img".into(), content(2, 2048)),
        Spec::File(format!("{long}/{long}.txt"), content(3, 10_000)),
        Spec::File("a/b/c/d/e/f/g/h/i/deep.txt".into(), content(4, 100)),
        Spec::File("same1.bin".into(), content(5, 9000)),
        Spec::File("same2.bin".into(), content(5, 9000)),
    ]);
    fs::hard_link(t.path().join("readme.txt"), t.path().join("link.txt")).unwrap();
    t
}

#[test]
fn genisoimage_image() {
    if !require_tool("genisoimage") {
        return;
    }
    let t = disk_tree();
    let out = out_dir();
    let img = join(&out, "geni.iso");
    run_clean(
        tool("genisoimage")
            .args(["-quiet", "-R", "-J", "-joliet-long", "-o"])
            .arg(&img)
            .args([
                "-b",
                "boot/boot.img",
                "-no-emul-boot",
                "-c",
                "boot/boot.cat",
            ])
            .arg(t.path()),
    );
    let map = map_of(&img);
    // genisoimage keeps one copy of hard-linked data: both names.
    let readme = map.from_description("/readme.txt").unwrap();
    assert!(names(
        &map,
        readme.first_block,
        View::RockRidge,
        "/link.txt"
    ));
    assert!(names(&map, readme.first_block, View::Joliet, "/link.txt"));
    let cat = map.from_description("/boot/boot.cat").unwrap();
    assert!(cat.also.iter().any(|a| a == "El Torito boot catalog"));
    check_isoinfo(&map, &img);
    check_xorriso_lba(&map, &img, View::RockRidge);
    check_pycdlib_path_tables(&map, &img);
    assert!(map.iter().any(|it| it.kind == ItemKind::ContinuationAreas));
}

#[test]
fn xorriso_image() {
    if !require_tool("xorriso") {
        return;
    }
    let t = disk_tree();
    let out = out_dir();
    let img = join(&out, "xo.iso");
    run(tool("xorriso")
        .args(["-as", "mkisofs", "-quiet", "-R", "-J", "-o"])
        .arg(&img)
        .args([
            "-b",
            "boot/boot.img",
            "-no-emul-boot",
            "-c",
            "boot/boot.cat",
        ])
        .arg(t.path()));
    let map = map_of(&img);
    let readme = map.from_description("/readme.txt").unwrap();
    assert!(names(
        &map,
        readme.first_block,
        View::RockRidge,
        "/link.txt"
    ));
    let boot = map.from_description("/boot/boot.img").unwrap();
    assert!(
        boot.also
            .iter()
            .any(|a| a == "El Torito boot image 1 (x86 BIOS, no emulation)"),
        "{boot:?}"
    );
    check_isoinfo(&map, &img);
    check_xorriso_lba(&map, &img, View::RockRidge);
    check_pycdlib_path_tables(&map, &img);
}

/// A multisession image grown by xorriso (two sessions): the newest session's tree, its own
/// head, and the first session's blocks the newest does not use.
#[test]
fn xorriso_multisession_image() {
    if !require_tool("xorriso") {
        return;
    }
    let t = disk_tree();
    let out = out_dir();
    let img = join(&out, "xm.iso");
    run(tool("xorriso")
        .arg("-outdev")
        .arg(&img)
        .arg("-map")
        .arg(t.path().join("boot"))
        .args(["/boot", "-commit"]));
    run(tool("xorriso")
        .arg("-dev")
        .arg(&img)
        .arg("-map")
        .arg(t.path().join("readme.txt"))
        .args(["/readme.txt", "-commit"]));
    let map = map_of(&img);
    assert!(map.from_description("/boot/boot.img").is_some());
    assert!(map.from_description("/readme.txt").is_some());
    assert!(
        map.iter()
            .any(|it| it.kind == ItemKind::BaseImage && it.description.starts_with("Session 1")),
        "{map:#?}"
    );
    assert!(map.from_description("Session 2 system area").is_some());
    check_xorriso_lba(&map, &img, View::RockRidge);
}

#[test]
fn mkudffs_images() {
    let Some(mkudffs) = ["/usr/sbin/mkudffs", "/sbin/mkudffs"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists())
        .map(Path::to_path_buf)
        .or_else(|| require_tool("mkudffs").then(|| "mkudffs".into()))
    else {
        return;
    };
    // hd: a space bitmap; dvd: read-only; dvdrw: a sparable partition with sparing tables.
    for media in ["hd", "dvd", "dvdrw"] {
        let out = out_dir();
        let img = join(&out, "u.udf");
        fs::write(&img, vec![0u8; 8 << 20]).unwrap();
        run_clean(
            std::process::Command::new(&mkudffs)
                .args(["--blocksize=2048", &format!("--media-type={media}")])
                .args(["--udfrev=2.01", "--label=MAPTEST"])
                .arg(&img),
        );
        let map = map_of(&img);
        assert!(map.from_description("UDF file entry of /").is_some());
        if media == "dvdrw" {
            assert!(map.from_description("UDF sparing table 2").is_some());
        }
        assert!(map.from_description("UDF file set descriptor").is_some());
        check_udfinfo(&map, &img);
    }
}

// ------------------------------------------------------------------------------------------------
// Hostile and non-images

/// Every fuzz seed (hand-made hostile images among them) maps with an error or a map that
/// covers it exactly.
#[test]
fn fuzz_seeds_map_or_fail_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/parse_image");
    let mut mapped = 0;
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let data = fs::read(&path).unwrap();
        for limits in [
            glassmaster::read::Limits::lenient(),
            glassmaster::read::Limits::strict(),
        ] {
            let Ok(mut r) = ImageReader::open_with_limits(std::io::Cursor::new(&data), limits)
            else {
                continue;
            };
            if let Ok(map) = r.block_map() {
                check_invariants(&map, data.len() as u64);
                mapped += 1;
            }
        }
    }
    assert!(mapped >= 20, "only {mapped} maps");
}

/// A damaged Joliet directory: in lenient mode the map still covers the image (the damaged
/// records are left out with a note, and their files lose their Joliet names); in strict mode
/// it is the error, naming the sector.
#[test]
fn damaged_view_lenient_note_strict_error() {
    let b = builder(FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE);
    let mut bytes = render(&b.build(&mut glassmaster::NoProgress).unwrap());
    let map = {
        let mut r = ImageReader::open(std::io::Cursor::new(&bytes)).unwrap();
        r.block_map().unwrap()
    };
    let docs = map.from_description("Directory /docs (Joliet)").unwrap();
    let at = docs.first_block as usize * 2048;
    // The "." record's length: less than the 34 bytes of a record (ECMA-119 9.1.1).
    bytes[at] = 5;
    let mut r = ImageReader::open(std::io::Cursor::new(&bytes)).unwrap();
    let map = r.block_map().expect("lenient map");
    check_invariants(&map, bytes.len() as u64);
    // Lenient reading leaves the damaged records out (the rest of their sector) and says so;
    // the directory's blocks are still the directory's (its parent names them).
    assert!(
        map.notes()
            .iter()
            .any(|n| n.starts_with("left out as damaged")
                && n.contains(&docs.first_block.to_string())),
        "{:?}",
        map.notes()
    );
    assert_eq!(at_block_kind(&map, docs.first_block), ItemKind::Directory);
    let link = map.from_description("/docs/link.txt").unwrap();
    assert!(names(
        &map,
        link.first_block,
        View::RockRidge,
        "/docs/link.txt"
    ));
    assert!(!names(
        &map,
        link.first_block,
        View::Joliet,
        "/docs/link.txt"
    ));
    assert!(map.from_description("Directory / (ISO 9660)").is_some());
    let mut strict = ImageReader::open_with_limits(
        std::io::Cursor::new(&bytes),
        glassmaster::read::Limits::strict(),
    )
    .unwrap();
    let err = strict.block_map().unwrap_err();
    assert_eq!(err.lba, Some(docs.first_block), "{err}");
}

fn at_block_kind(map: &BlockMap, lba: u64) -> ItemKind {
    at(map, lba).kind
}

/// The map's own memory is bounded by the metadata budget: a budget that the walks fit in but
/// the map of a thousand names does not is a `LimitExceeded` error, not an allocation.
#[test]
fn map_stays_within_the_metadata_budget() {
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE)
        .build_time(fixed_time());
    b.add_bytes("/data.bin", content(1, 5000)).unwrap();
    for i in 0..1000 {
        b.add_hard_link(&format!("/links/{}_{i}", "l".repeat(100)), "/data.bin")
            .unwrap();
    }
    let bytes = render(&b.build(&mut glassmaster::NoProgress).unwrap());
    let mut r = ImageReader::open(std::io::Cursor::new(&bytes)).unwrap();
    let map = r.block_map().unwrap();
    let data = map.from_description("/data.bin").unwrap();
    assert_eq!(data.names.len(), 3 * 1001, "every name in three views");
    let used = r.metadata_bytes_allocated();
    assert!(used > 300_000, "{used}");
    let limits = glassmaster::read::Limits {
        max_metadata_bytes: used / 2,
        ..glassmaster::read::Limits::lenient()
    };
    let mut r = ImageReader::open_with_limits(std::io::Cursor::new(&bytes), limits).unwrap();
    let err = r.block_map().unwrap_err();
    assert!(
        matches!(
            err.kind,
            glassmaster::ParseErrorKind::LimitExceeded("metadata bytes", _)
        ),
        "{err}"
    );
}

#[test]
fn sessions_of_a_file_that_is_no_image_is_an_error() {
    let zeros = vec![0u8; 64 * 2048];
    assert!(glassmaster::read::sessions(&mut std::io::Cursor::new(zeros)).is_err());
}

// ------------------------------------------------------------------------------------------------
// Property: the reader's map agrees with the builder's own items

fn arb_tree() -> impl Strategy<Value = Vec<(String, usize, u8)>> {
    let name = prop_oneof![
        "[a-z]{1,8}(\\.[a-z]{1,3})?",
        "[a-zA-Z0-9_ ]{20,60}",
        "[äöü日本]{1,10}",
    ];
    let dir = proptest::sample::select(vec!["", "d/", "d/e/", "x/y/z/", "d/e/f/g/h/i/j/"]);
    proptest::collection::vec((dir, name, 0usize..20_000, 0u8..4), 1..25).prop_map(|v| {
        v.into_iter()
            .map(|(d, n, len, seed)| (format!("/{d}{n}"), len, seed))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: proptest_cases(12),
        ..ProptestConfig::default()
    })]

    #[test]
    fn map_agrees_with_layout(tree in arb_tree(), udf in any::<bool>(), joliet in any::<bool>()) {
        let mut fs = FileSystems::ISO9660 | FileSystems::ROCK_RIDGE;
        if udf { fs |= FileSystems::UDF; }
        if joliet { fs |= FileSystems::JOLIET; }
        let mut b = ImageBuilder::new();
        b.filesystems(fs).build_time(fixed_time());
        let mut added = Vec::new();
        for (path, len, seed) in &tree {
            // Few seeds: identical contents are deduplicated.
            if b.add_bytes(path, content(u64::from(*seed), *len)).is_ok() {
                added.push(path.clone());
            }
        }
        let image = b.build(&mut glassmaster::NoProgress).unwrap();
        let bytes = render(&image);
        let mut r = ImageReader::open(std::io::Cursor::new(&bytes)).unwrap();
        let map = r.block_map().unwrap();
        check_invariants(&map, bytes.len() as u64);
        check_every_name(&mut r, &map);
        assert_agrees_with_layout(&image, &map);
        // Every file with data is found at its first block with its Rock Ridge name.
        for it in image.progress_items().iter().filter(|i| i.kind == ItemKind::FileData) {
            let got = at(&map, it.first_block);
            prop_assert!(got.names.iter().any(|n| n.view == View::RockRidge && n.path == it.description));
        }
    }
}
