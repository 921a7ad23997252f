//! Typed warnings (issue 22 item 2): the builder's, the image's and the reader's warnings are
//! `Warning`s matched by kind and image path, their `Display` the text the command-line tool
//! prints. The images are checked with independent readers (isoinfo, xorriso) to show what each
//! warning says is true: a name changed in Joliet, an entry left out of a view.

mod common;

use std::fs;
use std::io::Cursor;

use common::*;
use glassmaster::read::{ImageReader, View};
use glassmaster::{FileSystems, ImageBuilder, IsoLevel, NoProgress, Warning, WarningKind};

fn of_kind(ws: &[Warning], kind: WarningKind) -> Vec<&Warning> {
    ws.iter().filter(|w| w.kind() == kind).collect()
}

fn render(image: &glassmaster::Image) -> Vec<u8> {
    let mut out = Vec::new();
    image.write_to(&mut out, &mut NoProgress).unwrap();
    out
}

#[test]
fn layout_warnings_by_kind_and_path() {
    let long = "n".repeat(80);
    let long_path = format!("/docs/{long}.txt");
    // 5 directories of 60 characters: a Joliet path of about 310 characters.
    let deep: String = (0..5).map(|i| format!("/{}{i}", "d".repeat(59))).collect();
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::ISO9660 | FileSystems::JOLIET);
    b.level(IsoLevel::Level1);
    b.add_bytes(&long_path, &b"long"[..]).unwrap();
    b.add_bytes(&format!("{deep}/f.txt"), &b"deep"[..]).unwrap();
    b.add_symlink("/link", "docs").unwrap();
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let ws = image.warnings();

    // A Joliet name shortened to 64 characters.
    let joliet = of_kind(ws, WarningKind::JolietNameChanged);
    let w = joliet
        .iter()
        .find(|w| w.path() == Some(long_path.as_str()))
        .unwrap_or_else(|| panic!("{ws:#?}"));
    assert!(
        w.to_string().starts_with(&format!(
            "Joliet name of {long_path} shortened or changed to "
        )),
        "{w}"
    );
    // Level 1 (8.3) changes the long name too: ISO 9660 without Rock Ridge.
    assert!(
        of_kind(ws, WarningKind::IsoNameChanged)
            .iter()
            .any(|w| w.path() == Some(long_path.as_str())),
        "{ws:#?}"
    );
    // The link, left out of ISO 9660 and Joliet (no Rock Ridge).
    let link = of_kind(ws, WarningKind::LinkLeftOut);
    assert_eq!(link.len(), 1, "{ws:#?}");
    assert_eq!(link[0].path(), Some("/link"));
    assert!(link[0]
        .detail()
        .starts_with("symbolic link (to docs) left out of ISO 9660 and Joliet"));
    assert_eq!(link[0].to_string(), format!("/link: {}", link[0].detail()));
    // The Joliet path too long: one warning, at the topmost entry left out.
    let too_long = of_kind(ws, WarningKind::JolietPathTooLong);
    assert_eq!(too_long.len(), 1, "{ws:#?}");
    let top = too_long[0].path().unwrap();
    assert!(deep.starts_with(top), "{top}");
    // Nothing unkinded: every warning here has a kind other than the reader's.
    assert!(ws.iter().all(|w| !matches!(
        w.kind(),
        WarningKind::DamageLeftOut | WarningKind::DamageRecovered | WarningKind::UdfUnreadable
    )));

    // What the warnings say is what readers see.
    if !require_tools(&["isoinfo", "xorriso"]) {
        return;
    }
    let dir = out_dir();
    let iso = dir.path().join("w.iso");
    fs::write(&iso, render(&image)).unwrap();
    let joliet_list = run_clean_stdout(tool("isoinfo").arg("-J").arg("-f").arg("-i").arg(&iso));
    assert!(
        !joliet_list.contains(&long),
        "the Joliet name is shortened: {joliet_list}"
    );
    assert!(joliet_list.contains(&long[..50]), "{joliet_list}");
    assert!(!joliet_list.contains("/link"), "{joliet_list}");
    assert!(
        !joliet_list.contains("f.txt"),
        "left out of Joliet: {joliet_list}"
    );
    // xorriso shows the Joliet tree as isoinfo -J does ...
    let xorriso = |read_fs: &str| {
        run_clean_stdout(
            tool("xorriso")
                .args(["-read_fs", read_fs, "-ecma119_map", "stripped", "-indev"])
                .arg(&iso)
                .args(["-find", "/", "-exec", "lsdl"]),
        )
    };
    let joliet_x = xorriso("any");
    assert!(
        joliet_x.contains(&format!("/docs/{}.txt", &long[..60])),
        "{joliet_x}"
    );
    assert!(
        !joliet_x.contains("link") && !joliet_x.contains("f.txt"),
        "{joliet_x}"
    );
    // ... and, without Joliet, the ISO 9660 tree: the 8.3 name, no link, and the entry left
    // out of Joliet is there.
    let iso_x = xorriso("ecma119");
    assert!(iso_x.contains("/DOCS/NNNNNNNN.TXT"), "{iso_x}");
    assert!(
        !iso_x.to_lowercase().contains("link"),
        "no link in ISO 9660: {iso_x}"
    );
    assert!(iso_x.contains("/F.TXT"), "{iso_x}");
}

#[cfg(unix)]
#[test]
fn scan_warnings_name_the_image_path() {
    let src = tempfile::tempdir().unwrap();
    fs::create_dir(src.path().join("sub")).unwrap();
    fs::write(src.path().join("sub/ok.txt"), b"ok").unwrap();
    std::os::unix::fs::symlink("nowhere", src.path().join("sub/dangling")).unwrap();
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::ISO9660 | FileSystems::ROCK_RIDGE);
    b.options_mut().rock_ridge.follow_symlinks = true;
    b.add_tree("/top", src.path(), &mut glassmaster::NoProgress)
        .unwrap();
    let dangling = of_kind(b.warnings(), WarningKind::DanglingLinkSkipped);
    assert_eq!(dangling.len(), 1, "{:#?}", b.warnings());
    let w = dangling[0];
    assert_eq!(w.path(), Some("/top/sub/dangling"));
    assert_eq!(w.detail(), "dangling symbolic link skipped");
    let text = w.to_string();
    assert!(text.starts_with("/top/sub/dangling (source "), "{text}");
    assert!(
        text.ends_with("sub/dangling): dangling symbolic link skipped"),
        "{text}"
    );
    // The image's warnings start with the builder's.
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    assert_eq!(&image.warnings()[..b.warnings().len()], b.warnings());
}

#[test]
fn not_utf8_names_are_typed() {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let mut b = ImageBuilder::new();
        b.add_bytes_os(std::ffi::OsStr::from_bytes(b"/caf\xe9.txt"), &b"x"[..])
            .unwrap();
        let image = b.build(&mut glassmaster::NoProgress).unwrap();
        let w = of_kind(image.warnings(), WarningKind::NotUtf8Name);
        assert_eq!(w.len(), 1, "{:#?}", image.warnings());
        assert_eq!(w[0].path(), Some("/caf\\xe9.txt"));
        assert!(w[0].detail().starts_with("name is not valid UTF-8"));
        // The reader of the image warns about nothing.
        let r = ImageReader::open(Cursor::new(render(&image))).unwrap();
        assert!(r.warnings().is_empty(), "{:?}", r.warnings());
    }
}

#[test]
fn reader_warnings_are_typed() {
    // A UDF image whose UDF cannot be read (its anchors cleared) is read without UDF, with one
    // warning of kind UdfUnreadable (lenient mode).
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::ISO9660 | FileSystems::UDF);
    b.add_bytes("/a.txt", &b"a"[..]).unwrap();
    let mut bytes = render(&b.build(&mut glassmaster::NoProgress).unwrap());
    // The anchor volume descriptor pointers (ECMA-167 3/8.4.2.1): block 256 and the last block.
    let at = 256 * 2048;
    bytes[at..at + 16].fill(0);
    let last = bytes.len() - 2048;
    bytes[last..last + 16].fill(0);
    let r = ImageReader::open(Cursor::new(bytes)).unwrap();
    let mut r = r;
    let udf = of_kind(r.warnings(), WarningKind::UdfUnreadable);
    assert_eq!(udf.len(), 1, "{:?}", r.warnings());
    assert!(r.root(View::Udf).is_err());
    assert_eq!(udf[0].path(), None);
    assert!(
        udf[0]
            .to_string()
            .starts_with("the UDF file system is unreadable and left out"),
        "{}",
        udf[0]
    );
    assert!(r.lookup(View::Iso9660, "/A.TXT").is_ok());
}
