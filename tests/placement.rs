//! Placement order: file data of higher weights comes first (mkisofs -sort, oscdimg -yo); a
//! directory's weight applies to everything below it; equal weights keep the order of adding.

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
