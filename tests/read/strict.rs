//! Strict and lenient mode, path tables and the metadata budget on well-formed images: every
//! image glassmaster, genisoimage and xorriso write must pass strict mode, with the same result
//! as lenient mode.

use std::io::Cursor;

use super::tools::make_image;
use crate::common::require_tool;
use glassmaster::read::*;
use glassmaster::ParseError;
use glassmaster::{FileSystems, ImageBuilder, IsoLevel, NoProgress};

type Mem = ImageReader<Cursor<Vec<u8>>>;

/// Everything a reader can tell about an image: per view, the walk with file contents, and
/// the path table.
fn everything(r: &mut Mem) -> Result<Vec<String>, ParseError> {
    let mut out = Vec::new();
    for view in r.views() {
        for (path, e) in r.walk(view)? {
            let data = if e.is_dir {
                Vec::new()
            } else {
                r.read_file(&e)?
            };
            out.push(format!("{view} {path} {} {:?}", e.is_dir, data));
        }
        for pt in r.path_table(view)? {
            out.push(format!(
                "{view} pt {} {} {}",
                pt.number, pt.name, pt.record.parent
            ));
        }
    }
    Ok(out)
}

/// Opens `data` leniently and strictly; both must read everything, identically.
fn strict_agrees(data: Vec<u8>, what: &str) {
    let mut lenient = ImageReader::open(Cursor::new(data.clone())).unwrap();
    let a = everything(&mut lenient).unwrap_or_else(|e| panic!("{what}: lenient: {e}"));
    let mut strict = ImageReader::open_with_limits(Cursor::new(data), Limits::strict())
        .unwrap_or_else(|e| panic!("{what}: strict open: {e}"));
    let b = everything(&mut strict).unwrap_or_else(|e| panic!("{what}: strict: {e}"));
    assert_eq!(a, b, "{what}");
    assert!(!a.is_empty());
}

fn glassmaster_image(level: IsoLevel, joliet: bool, long: bool) -> Vec<u8> {
    let mut b = ImageBuilder::new();
    b.level(level);
    if !joliet {
        b.filesystems(FileSystems::ISO9660);
    }
    b.joliet_long_names(long);
    b.add_bytes("/hello.txt", &b"hello"[..]).unwrap();
    b.add_bytes("/docs/Read Me.md", &b"# read me"[..]).unwrap();
    b.add_bytes("/docs/a.b.c.tar.gz", vec![7u8; 5000]).unwrap();
    b.add_bytes("/Ünïcødé 文件.txt", &b"u"[..]).unwrap();
    b.add_bytes("/noext", &b""[..]).unwrap();
    b.add_dir("/deep/a/b/c/d/e/f").unwrap();
    b.add_bytes(
        "/a rather long name that needs more than sixty-four characters to be written.txt",
        &b"long"[..],
    )
    .unwrap();
    b.set_hidden("/hello.txt", true).unwrap();
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let mut out = Vec::new();
    image.write_to(&mut out, &mut NoProgress).unwrap();
    out
}

#[test]
fn glassmaster_images_pass_strict_mode() {
    for level in [
        IsoLevel::Level1,
        IsoLevel::Level2,
        IsoLevel::Level3,
        IsoLevel::Iso1999,
    ] {
        for (joliet, long) in [(false, false), (true, false), (true, true)] {
            let what = format!("{level:?} joliet={joliet} long={long}");
            strict_agrees(glassmaster_image(level, joliet, long), &what);
        }
    }
}

#[test]
fn tool_images_pass_strict_mode() {
    if require_tool("genisoimage") {
        for args in [
            &[][..],
            &["-J"],
            &["-J", "-iso-level", "3"],
            &["-J", "-iso-level", "4"],
            &["-r", "-J"],
        ] {
            let mut a = vec!["-quiet"];
            a.extend_from_slice(args);
            strict_agrees(
                make_image("genisoimage", &a),
                &format!("genisoimage {args:?}"),
            );
        }
    }
    if require_tool("xorriso") {
        for args in [&[][..], &["-J"], &["-J", "-iso-level", "3"], &["-r", "-J"]] {
            let mut a = vec!["-as", "mkisofs", "-quiet"];
            a.extend_from_slice(args);
            strict_agrees(make_image("xorriso", &a), &format!("xorriso {args:?}"));
        }
    }
}

/// With `GLASSMASTER_FUZZ_SEEDS=<dir>`, writes small glassmaster-built images as fuzz seeds
/// (see fuzz/README.md); otherwise does nothing.
#[test]
fn write_glassmaster_fuzz_seeds() {
    let Some(dir) = std::env::var_os("GLASSMASTER_FUZZ_SEEDS") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, level, joliet) in [
        ("glassmaster-level1.iso", IsoLevel::Level1, false),
        ("glassmaster-level3-joliet.iso", IsoLevel::Level3, true),
        ("glassmaster-1999-joliet.iso", IsoLevel::Iso1999, true),
    ] {
        let mut b = ImageBuilder::new();
        b.level(level);
        if !joliet {
            b.filesystems(FileSystems::ISO9660);
        }
        b.build_time(chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap());
        b.add_bytes("/hello.txt", &b"hello"[..]).unwrap();
        b.add_bytes("/docs/Read Me.md", &b"# read me"[..]).unwrap();
        b.add_bytes("/Ünïcødé 文件.txt", &b"u"[..]).unwrap();
        b.add_dir("/deep/a/b").unwrap();
        b.set_hidden("/hello.txt", true).unwrap();
        let image = b.build(&mut glassmaster::NoProgress).unwrap();
        let mut out = Vec::new();
        image.write_to(&mut out, &mut NoProgress).unwrap();
        std::fs::write(dir.join(name), out).unwrap();
    }
    // UDF (with a bridge, Rock Ridge and El Torito; alone with a metadata partition; with
    // allocation extent descriptors) for the UDF view and the boot catalog.
    let udf_seed =
        |name: &str, fs: FileSystems, rev: glassmaster::raw::udf::UdfRevision, aeds: bool| {
            let mut b = ImageBuilder::new();
            b.filesystems(fs);
            b.options_mut().padding_blocks = 0;
            b.options_mut().udf.revision = rev;
            if aeds {
                // Needs the crate internals of feature `fuzz` (on under --all-features, as in
                // fuzz/make_seeds.sh); without it the seed is not written.
                #[cfg(feature = "fuzz")]
                glassmaster::fuzz::set_udf_extent_limit(
                    b.options_mut(),
                    glassmaster::BLOCK_SIZE as u32,
                );
                #[cfg(not(feature = "fuzz"))]
                return;
            }
            b.build_time(chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap());
            b.add_bytes("/hello.txt", &b"hello"[..]).unwrap();
            b.add_bytes("/docs/three-blocks.bin", vec![0x5A; 5000])
                .unwrap();
            b.add_hard_link("/docs/link.bin", "/docs/three-blocks.bin")
                .unwrap();
            b.add_symlink("/docs/sym", "three-blocks.bin").unwrap();
            b.add_dir("/deep/a/b").unwrap();
            if fs.contains(FileSystems::ISO9660) {
                b.add_bytes("/boot/boot.img", vec![0xB0; 2048]).unwrap();
                b.add_boot_entry(glassmaster::BootImage::bios("/boot/boot.img"));
            }
            let mut out = Vec::new();
            b.build(&mut glassmaster::NoProgress)
                .unwrap()
                .write_to(&mut out, &mut NoProgress)
                .unwrap();
            std::fs::write(dir.join(name), out).unwrap();
        };
    use glassmaster::raw::udf::UdfRevision as Rev;
    udf_seed(
        "glassmaster-udf102-rr-boot.iso",
        FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE | FileSystems::UDF,
        Rev::V1_02,
        false,
    );
    udf_seed(
        "glassmaster-udf260-only.iso",
        FileSystems::UDF,
        Rev::V2_60,
        false,
    );
    udf_seed(
        "glassmaster-udf201-aed.iso",
        FileSystems::UDF,
        Rev::V2_01,
        true,
    );
    // Three sessions (Rock Ridge + Joliet): session records and saved heads for `sessions()`.
    let path = dir.join("glassmaster-3-sessions.iso");
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE);
    b.options_mut().padding_blocks = 0;
    b.build_time(chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap());
    b.add_bytes("/one.txt", &b"one"[..]).unwrap();
    b.build(&mut glassmaster::NoProgress)
        .unwrap()
        .write_to_path(&path, &mut NoProgress)
        .unwrap();
    for (i, add) in ["/two.txt", "/one.txt"].into_iter().enumerate() {
        let base = glassmaster::multisession::BaseImage::open(&path).unwrap();
        let mut b = ImageBuilder::import(&base).unwrap();
        b.options_mut().padding_blocks = 0;
        b.build_time(chrono::DateTime::from_timestamp(1_700_000_100 + i as i64, 0).unwrap());
        b.add_bytes(add, format!("session {}", i + 2).into_bytes())
            .unwrap();
        b.build_append(&base)
            .unwrap()
            .write_in_place(&mut NoProgress)
            .unwrap();
    }
}
