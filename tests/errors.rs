//! Typed errors: limits of each ISO 9660 level, image size limits, duplicate and invalid paths,
//! sources that change between `build` and `write_to`, readers that lie about their length, and
//! the atomicity of `write_to_path` when rendering fails.

mod common;

use std::fs;
use std::io::{self, Read};
use std::path::Path;
use std::time::Duration;

use common::*;
use glassmaster::{Error, FileSystems, ImageBuilder, IsoLevel, NoProgress};

const GIB: u64 = 1 << 30;
const LEVELS_1_TO_3: [IsoLevel; 3] = [IsoLevel::Level1, IsoLevel::Level2, IsoLevel::Level3];

fn builder(level: IsoLevel) -> ImageBuilder {
    let mut b = ImageBuilder::new();
    b.level(level);
    b
}

/// A reader of `n` zero bytes (never actually read by most tests here).
fn zeros(n: u64) -> impl Fn() -> io::Result<Box<dyn Read + Send>> + Send + Sync + 'static {
    move || Ok(Box::new(io::repeat(0).take(n)) as Box<dyn Read + Send>)
}

// ------------------------------------------------------------------------------------------------
// Levels

#[test]
fn depth_nine_is_too_deep_at_levels_1_to_3() {
    let deep = "/1/2/3/4/5/6/7/8"; // the root is level 1, so 8 is at level 9
    for level in LEVELS_1_TO_3 {
        for fs in [
            FileSystems::ISO9660,
            FileSystems::ISO9660 | FileSystems::JOLIET,
        ] {
            let mut b = builder(level);
            b.filesystems(fs);
            b.add_bytes("/1/2/3/4/5/6/7/ok.txt", &b"level 8 holds files"[..])
                .unwrap();
            b.build(&mut glassmaster::NoProgress)
                .unwrap_or_else(|e| panic!("{level:?}: 8 levels must be fine: {e}"));
            b.add_dir(deep).unwrap();
            match b.build(&mut glassmaster::NoProgress) {
                Err(e @ Error::TooDeep { .. }) => {
                    assert!(
                        e.to_string().contains(deep),
                        "message does not name the path: {e}"
                    );
                    let Error::TooDeep { path, depth, .. } = e else {
                        unreachable!()
                    };
                    assert_eq!((path.as_str(), depth), (deep, 9), "{level:?}");
                }
                other => panic!("{level:?}: expected TooDeep, got {other:?}"),
            }
        }
    }
    // ISO 9660:1999 has no depth limit, and the deep file is really there.
    let mut b = builder(IsoLevel::Iso1999);
    b.add_bytes(&format!("{deep}/9/10/deep.txt"), &b"deep"[..])
        .unwrap();
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let mut w = Walker::from_bytes(render(&image));
    for which in [Which::Primary, Which::Joliet] {
        let dirs = w.walk(which);
        let d = dirs
            .iter()
            .find(|d| d.path == "/1/2/3/4/5/6/7/8/9/10")
            .unwrap();
        assert_eq!(d.entries.len(), 1);
        assert_eq!(w.read_entry(&d.entries[0]), b"deep");
    }
}

#[test]
fn too_deep_from_add_tree_names_the_image_path() {
    let src = SourceTree::create(vec![Spec::File(
        "a/b/c/d/e/f/g/h/file".into(),
        b"x".to_vec(),
    )]);
    let mut b = builder(IsoLevel::Level1);
    b.add_tree("/sub", src.path(), &mut glassmaster::NoProgress)
        .unwrap();
    match b.build(&mut glassmaster::NoProgress) {
        Err(Error::TooDeep { path, depth, .. }) => {
            assert_eq!((path.as_str(), depth), ("/sub/a/b/c/d/e/f/g", 9))
        }
        other => panic!("expected TooDeep, got {other:?}"),
    }
}

#[test]
fn path_over_255_bytes() {
    // Seven directories of 31 characters and a 30-character file name: 7 * 32 + 1 + 33 > 255.
    let dirs: Vec<String> = (0..7).map(|i| format!("{i}{}", "d".repeat(30))).collect();
    let file = format!("/{}/{}.txt", dirs.join("/"), "f".repeat(26));
    for level in [IsoLevel::Level2, IsoLevel::Level3] {
        let mut b = builder(level);
        b.add_bytes(&file, &b"long"[..]).unwrap();
        match b.build(&mut glassmaster::NoProgress) {
            Err(e @ Error::PathTooLong { .. }) => {
                assert!(e.to_string().contains(&file), "{e}");
                let Error::PathTooLong { path, len, .. } = e else {
                    unreachable!()
                };
                assert_eq!(path, file);
                assert!(len > 255, "{len}");
            }
            other => panic!("{level:?}: expected PathTooLong, got {other:?}"),
        }
    }
    // (A directory path alone cannot exceed 255 at levels 2-3 within 8 levels: 7 * 32 = 224.)
    // Neither limit applies at ISO 9660:1999.
    let mut b = builder(IsoLevel::Iso1999);
    b.add_bytes(&file, &b"long"[..]).unwrap();
    b.build(&mut glassmaster::NoProgress).unwrap();
}

#[test]
fn five_gib_file_at_levels_1_and_2() {
    for level in [IsoLevel::Level1, IsoLevel::Level2] {
        let mut b = builder(level);
        b.add_reader("/big/five.bin", 5 * GIB, zeros(5 * GIB))
            .unwrap();
        match b.build(&mut glassmaster::NoProgress) {
            Err(e @ Error::FileTooLarge { .. }) => {
                assert!(e.to_string().contains("/big/five.bin"), "{e}");
                let Error::FileTooLarge { path, size } = e else {
                    unreachable!()
                };
                assert_eq!((path.as_str(), size), ("/big/five.bin", 5 * GIB));
            }
            other => panic!("{level:?}: expected FileTooLarge, got {other:?}"),
        }
        // The largest single-extent file is fine; one byte more is not.
        let mut b = builder(level);
        b.add_reader("/max.bin", u32::MAX as u64, zeros(u32::MAX as u64))
            .unwrap();
        b.build(&mut glassmaster::NoProgress).unwrap();
        b.add_reader("/over.bin", u32::MAX as u64 + 1, zeros(u32::MAX as u64 + 1))
            .unwrap();
        assert!(
            matches!(b.build(&mut glassmaster::NoProgress), Err(Error::FileTooLarge { path, .. }) if path == "/over.bin")
        );
    }
    for level in [IsoLevel::Level3, IsoLevel::Iso1999] {
        let mut b = builder(level);
        b.add_reader("/big/five.bin", 5 * GIB, zeros(5 * GIB))
            .unwrap();
        let image = b.build(&mut glassmaster::NoProgress).unwrap();
        assert!(image.total_blocks() > 5 * GIB / 2048);
    }
}

#[test]
fn max_blocks_too_small() {
    let mut b = ImageBuilder::new();
    b.add_bytes("/a.bin", vec![7u8; 100_000]).unwrap();
    let needed = b
        .build(&mut glassmaster::NoProgress)
        .unwrap()
        .total_blocks();
    b.max_blocks(Some(needed - 1));
    match b.build(&mut glassmaster::NoProgress) {
        Err(Error::ImageTooLarge {
            needed_blocks,
            needed_bytes,
            allowed_blocks,
            allowed_bytes,
        }) => {
            assert_eq!((needed_blocks, allowed_blocks), (needed, needed - 1));
            assert_eq!(
                (needed_bytes, allowed_bytes),
                (needed * 2048, (needed - 1) * 2048)
            );
        }
        other => panic!("expected ImageTooLarge, got {other:?}"),
    }
    b.max_blocks(Some(needed));
    assert_eq!(
        b.build(&mut glassmaster::NoProgress)
            .unwrap()
            .total_blocks(),
        needed
    );
    b.max_blocks(Some(0));
    assert!(matches!(
        b.build(&mut glassmaster::NoProgress),
        Err(Error::ImageTooLarge {
            allowed_blocks: 0,
            ..
        })
    ));
}

#[test]
fn more_than_2_pow_32_blocks() {
    // ECMA-119 8.4.8: the volume space size is 32 bits. 9 TiB (about 2,300 extents) is laid out
    // but refused, without reading the source.
    let tib = 1u64 << 40;
    let mut b = builder(IsoLevel::Level3);
    b.add_reader("/huge.bin", 9 * tib, zeros(9 * tib)).unwrap();
    match b.build(&mut glassmaster::NoProgress) {
        Err(Error::ImageTooLarge {
            needed_blocks,
            allowed_blocks,
            ..
        }) => {
            assert_eq!(allowed_blocks, u32::MAX as u64);
            assert!(needed_blocks > 9 * tib / 2048);
        }
        other => panic!("expected ImageTooLarge, got {other:?}"),
    }
}

// ------------------------------------------------------------------------------------------------
// Paths

#[test]
fn duplicate_paths() {
    let dup = |r: glassmaster::Result<&mut ImageBuilder>, want: &str| match r {
        Err(Error::DuplicatePath(p)) => assert_eq!(p, want),
        Err(e) => panic!("expected DuplicatePath({want}), got {e}"),
        Ok(_) => panic!("expected DuplicatePath({want}), got Ok"),
    };
    let src = SourceTree::create(vec![
        Spec::File("x.txt".into(), b"x".to_vec()),
        Spec::File("d/y.txt".into(), b"y".to_vec()),
    ]);
    let mut b = ImageBuilder::new();
    b.add_bytes("/a/b.txt", &b"1"[..]).unwrap();
    dup(b.add_bytes("/a/b.txt", &b"2"[..]), "/a/b.txt");
    dup(b.add_bytes("a//b.txt", &b"2"[..]), "a//b.txt");
    dup(b.add_reader("/a/b.txt", 1, zeros(1)), "/a/b.txt");
    dup(b.add_file("/a/b.txt", src.path().join("x.txt")), "/a/b.txt");
    // A file where a directory is needed, and a directory where a file would go.
    assert!(matches!(
        b.add_dir("/a/b.txt"),
        Err(Error::DuplicatePath(_))
    ));
    assert!(matches!(
        b.add_bytes("/a/b.txt/c", &b""[..]),
        Err(Error::DuplicatePath(_))
    ));
    b.add_dir("/a").unwrap(); // an existing directory is fine (mkdir -p)
    assert!(matches!(
        b.add_bytes("/a", &b""[..]),
        Err(Error::DuplicatePath(_))
    ));
    // add_tree over an existing file.
    b.add_bytes("/t/x.txt", &b"old"[..]).unwrap();
    assert!(
        matches!(b.add_tree("/t", src.path(), &mut glassmaster::NoProgress), Err(Error::DuplicatePath(p)) if p == "/t/x.txt")
    );
    // The same name with other case is a different name.
    b.add_bytes("/a/B.TXT", &b"3"[..]).unwrap();
}

#[test]
fn invalid_and_missing_paths() {
    let mut b = ImageBuilder::new();
    for p in [
        "",
        "/",
        "/a/../b",
        "/./a",
        "a\0b",
        &format!("/{}", "n".repeat(256)),
    ] {
        assert!(
            matches!(b.add_bytes(p, &b""[..]), Err(Error::InvalidPath { .. })),
            "{p:?}"
        );
    }
    assert!(matches!(
        b.set_mtime("/nope", chrono::Utc::now()),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        b.set_hidden("/nope", true),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        b.add_file("/f", "/definitely/not/here"),
        Err(Error::Source { .. })
    ));
    assert!(matches!(
        b.add_tree("/", "/definitely/not/here", &mut glassmaster::NoProgress),
        Err(Error::Source { .. })
    ));
    b.filesystems(FileSystems::JOLIET);
    assert!(
        matches!(
            b.build(&mut glassmaster::NoProgress),
            Err(Error::InvalidOption(_))
        ),
        "Joliet without ISO 9660"
    );
    b.filesystems(FileSystems::NONE);
    assert!(matches!(
        b.build(&mut glassmaster::NoProgress),
        Err(Error::InvalidOption(_))
    ));
}

// ------------------------------------------------------------------------------------------------
// Sources that change after build()

#[derive(Clone, Copy, Debug)]
enum Change {
    Shrink,
    Grow,
    Modify,
    Vanish,
}

/// Builds an image holding `/keep/first.txt`, `/victim/file.bin` (from disk) and
/// `/keep/last.txt`; then changes the victim. Returns the image and the source dir.
fn changed_source(
    change: Change,
    via_tree: bool,
) -> (glassmaster::Image, tempfile::TempDir, &'static str) {
    let src = tempfile::tempdir().unwrap();
    let victim = src.path().join("file.bin");
    std::fs::write(&victim, content(1, 10_000)).unwrap();
    let mut b = ImageBuilder::new();
    b.add_bytes("/keep/first.txt", &b"first"[..]).unwrap();
    let image_path = if via_tree {
        b.add_tree("/victim", src.path(), &mut glassmaster::NoProgress)
            .unwrap();
        "/victim/file.bin"
    } else {
        b.add_file("/victim/file.bin", &victim).unwrap();
        "/victim/file.bin"
    };
    b.add_bytes("/keep/last.txt", &b"last"[..]).unwrap();
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let old = std::fs::metadata(&victim).unwrap().modified().unwrap();
    match change {
        Change::Shrink => std::fs::write(&victim, content(1, 9_999)).unwrap(),
        Change::Grow => std::fs::write(&victim, content(1, 10_001)).unwrap(),
        Change::Modify => {
            std::fs::write(&victim, content(2, 10_000)).unwrap();
            let f = std::fs::File::options().write(true).open(&victim).unwrap();
            f.set_modified(old + Duration::from_secs(100)).unwrap();
        }
        Change::Vanish => std::fs::remove_file(&victim).unwrap(),
    }
    (image, src, image_path)
}

fn expect_source_changed(r: glassmaster::Result<()>, image_path: &str, what: &str) {
    match r {
        Err(e @ Error::SourceChanged { .. }) => {
            assert!(
                e.to_string().contains(image_path),
                "{what}: message does not name {image_path}: {e}"
            );
            let Error::SourceChanged { image_path: p, .. } = e else {
                unreachable!()
            };
            assert_eq!(p, image_path, "{what}");
        }
        other => panic!("{what}: expected SourceChanged, got {other:?}"),
    }
}

/// Nothing but `keep` is left in `dir`.
fn assert_only(dir: &Path, keep: &[&str]) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut want: Vec<String> = keep.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(names, want, "files left in {}", dir.display());
}

#[test]
fn source_changed_after_build() {
    for change in [Change::Shrink, Change::Grow, Change::Modify, Change::Vanish] {
        for via_tree in [false, true] {
            let what = format!("{change:?} (add_tree: {via_tree})");
            let (image, _src, image_path) = changed_source(change, via_tree);
            let mut out = Vec::new();
            expect_source_changed(image.write_to(&mut out, &mut NoProgress), image_path, &what);
            // Through the stream: an io::Error that converts back to the typed error.
            let mut s = image.stream();
            let e = io::copy(&mut s, &mut io::sink()).unwrap_err();
            expect_source_changed(Err(Error::from_io(e)), image_path, &what);
            // write_to_path leaves nothing behind.
            let dir = out_dir();
            let dest = dir.path().join("out.iso");
            expect_source_changed(
                image.write_to_path(&dest, &mut NoProgress),
                image_path,
                &what,
            );
            assert_only(dir.path(), &[]);
            // ... and does not touch an existing destination.
            std::fs::write(&dest, b"previous image").unwrap();
            expect_source_changed(
                image.write_to_path(&dest, &mut NoProgress),
                image_path,
                &what,
            );
            assert_only(dir.path(), &["out.iso"]);
            assert_eq!(std::fs::read(&dest).unwrap(), b"previous image");
        }
    }
}

/// Serves `actual` bytes whatever the declared length.
fn lying_reader(
    actual: usize,
) -> impl Fn() -> io::Result<Box<dyn Read + Send>> + Send + Sync + 'static {
    move || Ok(Box::new(io::Cursor::new(content(3, actual))) as Box<dyn Read + Send>)
}

struct FailAfter(usize);
impl Read for FailAfter {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0 == 0 {
            return Err(io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.0);
        buf[..n].fill(1);
        self.0 -= n;
        Ok(n)
    }
}

#[test]
fn reader_yielding_wrong_length_fails() {
    type Open = Box<dyn Fn() -> io::Result<Box<dyn Read + Send>> + Send + Sync>;
    let cases: Vec<(&str, Open)> = vec![
        ("fewer", Box::new(lying_reader(9_000))),
        ("more", Box::new(lying_reader(11_000))),
        ("one more", Box::new(lying_reader(10_001))),
        ("none", Box::new(lying_reader(0))),
        (
            "read error",
            Box::new(|| Ok(Box::new(FailAfter(5_000)) as Box<dyn Read + Send>)),
        ),
        (
            "open error",
            Box::new(|| Err(io::Error::other("cannot open"))),
        ),
    ];
    for (what, open) in cases {
        let mut b = ImageBuilder::new();
        b.add_bytes("/a.txt", &b"a"[..]).unwrap();
        b.add_reader("/r/liar.bin", 10_000, open).unwrap();
        b.add_bytes("/z.txt", &b"z"[..]).unwrap();
        let image = b.build(&mut glassmaster::NoProgress).unwrap();
        expect_source_changed(
            image.write_to(&mut Vec::new(), &mut NoProgress),
            "/r/liar.bin",
            what,
        );
        let dir = out_dir();
        expect_source_changed(
            image.write_to_path(&dir.path().join("x.iso"), &mut NoProgress),
            "/r/liar.bin",
            what,
        );
        assert_only(dir.path(), &[]);
    }
    // The honest reader works, and write_to_path leaves exactly the image.
    let mut b = ImageBuilder::new();
    b.add_reader("/r/honest.bin", 10_000, lying_reader(10_000))
        .unwrap();
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let dir = out_dir();
    image
        .write_to_path(&dir.path().join("x.iso"), &mut NoProgress)
        .unwrap();
    assert_only(dir.path(), &["x.iso"]);
    assert!(std::fs::read(dir.path().join("x.iso")).unwrap() == render(&image));
}

#[test]
fn write_error_is_reported() {
    struct Full(usize);
    impl io::Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "no space"));
            }
            let n = buf.len().min(self.0);
            self.0 -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut b = ImageBuilder::new();
    b.add_bytes("/a.bin", vec![1u8; 300_000]).unwrap();
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    match image.write_to(Full(100_000), &mut NoProgress) {
        Err(Error::Write(e)) => assert_eq!(e.kind(), io::ErrorKind::StorageFull),
        other => panic!("expected Write, got {other:?}"),
    }
    // A destination directory that does not exist.
    let dir = out_dir();
    let r = image.write_to_path(&dir.path().join("missing/x.iso"), &mut NoProgress);
    assert!(matches!(r, Err(Error::Write(_))), "{r:?}");
    assert_only(dir.path(), &[]);
}

// ------------------------------------------------------------------------------------------------
// Scanning: followed symlinks, loops and special files

#[test]
fn scan_follows_links_and_skips_loops_and_special_files() {
    use std::os::unix::fs::symlink;
    let src = SourceTree::create(vec![Spec::File("real/data.txt".into(), b"data".to_vec())]);
    let p = src.path();
    symlink(p.join("real/data.txt"), p.join("link.txt")).unwrap();
    symlink(p.join("real"), p.join("real/loop")).unwrap(); // a loop back to an ancestor
    symlink(p.join("real"), p.join("alias")).unwrap(); // not a loop: a second copy
    let fifo = p.join("fifo");
    let made_fifo = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    // Links are followed only when asked (-f); without Rock Ridge the FIFO is recorded in the
    // tree and left out of ISO 9660 and Joliet by the build, with a warning naming it.
    let mut b = ImageBuilder::new();
    b.options_mut().rock_ridge.follow_symlinks = true;
    b.add_tree("/", p, &mut glassmaster::NoProgress).unwrap();
    let warnings = b.warnings().to_vec();
    assert!(
        warnings.iter().any(|w| w.contains("loop")),
        "no loop warning: {warnings:?}"
    );
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    assert_eq!(
        &image.warnings()[..warnings.len()],
        &warnings[..],
        "build keeps the scan warnings"
    );
    if made_fifo {
        assert!(
            image
                .warnings()
                .iter()
                .any(|w| w.contains("/fifo: FIFO left out of ISO 9660 and Joliet")),
            "no warning for the fifo: {:?}",
            image.warnings()
        );
    }
    let mut w = Walker::from_bytes(render(&image));
    let mut files = Vec::new();
    for d in w.walk(Which::Joliet) {
        for e in &d.entries {
            if !e.is_dir {
                files.push((
                    format!("{}/{}", d.path.trim_end_matches('/'), e.name),
                    w.read_entry(e),
                ));
            }
        }
    }
    files.sort();
    let want: Vec<(String, Vec<u8>)> = ["/alias/data.txt", "/link.txt", "/real/data.txt"]
        .iter()
        .map(|p| (p.to_string(), b"data".to_vec()))
        .collect();
    assert_eq!(files, want);
}

// ------------------------------------------------------------------------------------------------
// An output that is one of the inputs

fn refused(r: glassmaster::Result<()>, inside: bool, input: &Path) {
    match r {
        Err(Error::OutputIsSource {
            input: got,
            inside: i,
            ..
        }) => {
            assert_eq!(i, inside);
            assert_eq!(
                fs::canonicalize(got).unwrap(),
                fs::canonicalize(input).unwrap()
            );
        }
        other => panic!("expected OutputIsSource, got {other:?}"),
    }
}

/// `write_to_path` and `build_to_path` refuse an output that is a file added by path, a
/// scanned source directory, or a file inside one (by another spelling or a symbolic link
/// too); the sources stay as they were and nothing else is created.
#[cfg(unix)]
#[test]
fn outputs_that_are_inputs_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("sub/in.txt"), b"inside the tree").unwrap();
    let single = tmp.path().join("single.txt");
    fs::write(&single, b"a file added by path").unwrap();
    let link = tmp.path().join("link.iso");
    std::os::unix::fs::symlink(src.join("sub/in.txt"), &link).unwrap();
    let builder = || {
        let mut b = ImageBuilder::new();
        b.add_tree("/", &src, &mut glassmaster::NoProgress).unwrap();
        b.add_file("/single.txt", &single).unwrap();
        b
    };
    let image = builder().build(&mut glassmaster::NoProgress).unwrap();
    let before = (snapshot(&src, false), fs::read(&single).unwrap());
    let listing = |d: &Path| {
        let mut v: Vec<_> = fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    let names_before = (listing(tmp.path()), listing(&src.join("sub")));
    let dotdot = src.join("sub/../sub/in.txt");
    let cases: [(&Path, bool, &Path); 5] = [
        (&single, false, &single),
        (&src, false, &src),
        (&src.join("sub/in.txt"), true, &src),
        (&dotdot, true, &src),
        (&link, true, &src),
    ];
    for (out, inside, input) in cases {
        refused(image.write_to_path(out, &mut NoProgress), inside, input);
        refused(
            builder().build_to_path(out, &mut NoProgress).map(|_| ()),
            inside,
            input,
        );
        assert_eq!(
            (snapshot(&src, false), fs::read(&single).unwrap()),
            before,
            "{out:?}"
        );
        assert_eq!(
            (listing(tmp.path()), listing(&src.join("sub"))),
            names_before,
            "nothing created"
        );
    }
    // Elsewhere, or a new file (which destroys nothing), it writes.
    image
        .write_to_path(&tmp.path().join("fine.iso"), &mut NoProgress)
        .unwrap();
    image
        .write_to_path(&src.join("sub/new.iso"), &mut NoProgress)
        .unwrap();
    // The message names both paths.
    let e = image.write_to_path(&single, &mut NoProgress).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains(&format!(
            "the output {} is the source {}",
            single.display(),
            single.display()
        )),
        "{msg}"
    );
}
