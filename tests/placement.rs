//! Placement order: file data of higher weights comes first (mkisofs -sort, oscdimg -yo); a
//! directory's weight applies to everything below it; equal weights keep the order of adding.

mod common;

use common::*;
use glassmaster::{ImageBuilder, ItemKind};

fn data_order(b: &ImageBuilder) -> Vec<String> {
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    image
        .progress_items()
        .iter()
        .filter(|i| i.kind == ItemKind::FileData)
        .map(|i| i.description.clone())
        .collect()
}

#[test]
fn weights_order_file_data() {
    let mut b = ImageBuilder::new();
    for p in [
        "/a.txt",
        "/docs/b.txt",
        "/docs/c.txt",
        "/boot/loader.bin",
        "/z.txt",
    ] {
        b.add_bytes(p, p.as_bytes().repeat(100)).unwrap();
    }
    assert_eq!(
        data_order(&b),
        [
            "/a.txt",
            "/docs/b.txt",
            "/docs/c.txt",
            "/boot/loader.bin",
            "/z.txt"
        ]
    );
    b.set_weight("/boot", 100).unwrap(); // a directory: applies to its files
    b.set_weight("/z.txt", 50).unwrap();
    b.set_weight("/docs/c.txt", -5).unwrap();
    assert_eq!(
        data_order(&b),
        [
            "/boot/loader.bin",
            "/z.txt",
            "/a.txt",
            "/docs/b.txt",
            "/docs/c.txt"
        ]
    );
    assert!(matches!(
        b.set_weight("/missing", 1),
        Err(glassmaster::Error::NotFound(_))
    ));
}

#[test]
fn cli_sort_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("boot")).unwrap();
    std::fs::write(src.join("a.txt"), vec![1u8; 5000]).unwrap();
    std::fs::write(src.join("boot/isolinux.bin"), vec![2u8; 5000]).unwrap();
    let sort = dir.path().join("sort.txt");
    std::fs::write(&sort, "# boot files first\nboot/isolinux.bin 10\n").unwrap();
    let map = dir.path().join("map.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_glassmaster"))
        .arg("build")
        .arg(&src)
        .arg("-o")
        .arg(dir.path().join("x.iso"))
        .arg("--sort")
        .arg(&sort)
        .arg("--map")
        .arg(&map)
        .arg("-q")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = std::fs::read_to_string(&map).unwrap();
    let boot = json.find("/boot/isolinux.bin").unwrap();
    let a = json.find("\"/a.txt\"").unwrap();
    assert!(boot < a, "boot file placed first:\n{json}");
    // A bad line is an error naming the file and line.
    std::fs::write(&sort, "boot/isolinux.bin ten\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_glassmaster"))
        .arg("build")
        .arg(&src)
        .arg("-o")
        .arg(dir.path().join("y.iso"))
        .arg("--sort")
        .arg(&sort)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sort.txt:1"));
}

/// `Hybrid::partition_offset`: the progress items still cover the image without gap or
/// overlap and name the partition's copy (its descriptors at block 16 + 16, its path tables and
/// directories, Rock Ridge continuation areas); the copy, carved out, shows the same tree as
/// the whole image to isoinfo (Rock Ridge with relocated deep directories and long symbolic
/// links, Joliet) and to xorriso. With UDF, or an offset under 16, the build is refused.
#[test]
fn partition_offset_copy_is_placed_and_reads_alone() {
    let mut b = ImageBuilder::new();
    b.filesystems(
        glassmaster::FileSystems::ISO9660
            | glassmaster::FileSystems::JOLIET
            | glassmaster::FileSystems::ROCK_RIDGE,
    );
    let mut boot = vec![0u8; 2048];
    boot[510] = 0x55;
    boot[511] = 0xAA;
    b.add_bytes("/boot/boot.img", boot).unwrap();
    b.add_bytes("/a.txt", &b"alpha\n"[..]).unwrap();
    // Deeper than 8 levels: relocated (RRIP CL / PL / RE name directories by block).
    let deep = "/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10";
    b.add_bytes(&format!("{deep}/deep.txt"), &b"deep\n"[..])
        .unwrap();
    // A long link target spills into a continuation area (a CE entry names its block).
    b.add_symlink("/long", &"t/".repeat(200)).unwrap();
    for i in 0..40 {
        b.add_bytes(
            &format!("/many/file-with-a-long-name-{i:03}.txt"),
            vec![i as u8; 3000],
        )
        .unwrap();
    }
    let mut bios = glassmaster::BootImage::bios("/boot/boot.img");
    bios.load_size = Some(4);
    b.add_boot_entry(bios);
    let mut h = glassmaster::Hybrid::default();
    h.partition_offset = Some(16);
    b.hybrid(h.clone());
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let items = image.progress_items();
    let list: Vec<_> = items.iter().collect();
    assert_eq!(list[0].first_block, 0);
    for w in list.windows(2) {
        assert_eq!(
            w[0].last_block + 1,
            w[1].first_block,
            "{:?} / {:?}",
            w[0],
            w[1]
        );
    }
    assert_eq!(list.last().unwrap().last_block + 1, image.total_blocks());
    let find = |d: &str| {
        list.iter()
            .find(|i| i.description == d)
            .unwrap_or_else(|| panic!("no item {d:?} in {list:#?}"))
    };
    assert_eq!(
        find("Volume descriptors of the partition at block 16").first_block,
        32
    );
    for d in [
        "Path table L (ISO 9660, partition copy)",
        "Path table M (Joliet, partition copy)",
        "Directory / (ISO 9660, partition copy)",
        "Directory /many (Joliet, partition copy)",
        "Rock Ridge continuation areas of / (partition copy)",
    ] {
        let copy = find(d);
        let outer = find(
            &d.replace(", partition copy", "")
                .replace(" (partition copy)", ""),
        );
        assert!(copy.first_block > outer.first_block, "{d}");
        assert_eq!(copy.block_count, outer.block_count, "{d}");
    }

    if !require_tools(&["isoinfo", "xorriso"]) {
        return;
    }
    let dir = out_dir();
    let whole = dir.path().join("whole.iso");
    let bytes = render(&image);
    std::fs::write(&whole, &bytes).unwrap();
    // MBR partition 1: from sector 64 (block 16), up to the end of the image.
    let le32 = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    assert_eq!(le32(446 + 8), 64);
    let part = dir.path().join("part.iso");
    std::fs::write(&part, &bytes[64 * 512..(64 + le32(446 + 12)) * 512]).unwrap();
    let listing = |img: &std::path::Path, opts: &[&str]| {
        run_stdout(tool("isoinfo").args(opts).arg("-l").arg("-i").arg(img))
            .lines()
            .filter(|l| !l.trim().is_empty())
            // Mode, size, date and name; not the block numbers, which differ by 16.
            .map(|l| match l.split_once('[') {
                Some((head, rest)) => {
                    let name = rest.split_once(']').map_or("", |x| x.1);
                    let f: Vec<&str> = head.split_whitespace().collect();
                    format!("{} {} {}", f[0], f.get(4).unwrap_or(&""), name.trim())
                }
                None => l.to_string(),
            })
            .collect::<Vec<_>>()
    };
    for opts in [&["-R"][..], &["-J"]] {
        let want = listing(&whole, opts);
        assert!(want.iter().any(|l| l.contains("deep.txt")), "{want:#?}");
        assert_eq!(listing(&part, opts), want, "{opts:?}");
    }
    let find_all = |img: &std::path::Path| {
        run_stdout(
            tool("xorriso")
                .arg("-indev")
                .arg(img)
                .args(["-find", "/", "-exec", "lsdl"]),
        )
        .lines()
        .filter(|l| l.starts_with(['-', 'd', 'l']))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            format!(
                "{} {} {}",
                f[0],
                f[4],
                l.rsplit_once(" '").map_or(l, |x| x.1)
            )
        })
        .collect::<std::collections::BTreeSet<_>>()
    };
    let want = find_all(&whole);
    assert!(want.iter().any(|l| l.contains("d10")), "{want:#?}");
    // xorriso lists the boot catalog only in the partition (no boot record names it there).
    let got = find_all(&part);
    assert!(got.is_superset(&want), "{got:#?}");
    assert_eq!(got.len(), want.len() + 1, "{got:#?}");

    let mut udf = b.clone();
    udf.filesystems(glassmaster::FileSystems::ISO9660 | glassmaster::FileSystems::UDF);
    let Err(e) = udf.build(&mut glassmaster::NoProgress) else {
        panic!("UDF with a partition offset was built");
    };
    assert!(e.to_string().contains("UDF"), "{e}");
    h.partition_offset = Some(8);
    b.hybrid(h);
    let Err(e) = b.build(&mut glassmaster::NoProgress) else {
        panic!("a partition offset of 8 was built");
    };
    assert!(e.to_string().contains("at least 16"), "{e}");
}
