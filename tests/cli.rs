//! Tests of the `glassmaster` command-line tool, run as a separate process.
//!
//! The tests in `mod needs_library` build and read real images, so they need the layout engine
//! and the reader; the others only exercise argument handling and errors.
#![cfg(feature = "cli")]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use tempfile::TempDir;

mod common;

use common::glassmaster;

fn run(args: &[&str]) -> Output {
    glassmaster().args(args).output().expect("run glassmaster")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

// ---------------------------------------------------------------------------------------------
// Usage and error handling (no image is built or read).

#[test]
fn no_arguments_is_a_usage_error() {
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("Usage"), "{}", stderr(&out));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["frobnicate"][..],
        &["build", "src"],
        &["build", "-o", "x.iso"],
        &["build", "src", "-o", "x.iso", "--level", "5"],
        &["build", "src", "-o", "x.iso", "--max-size", "lots"],
        &["build", "src", "-o", "x.iso", "--max-size", "1000"],
        &[
            "build",
            "src",
            "-o",
            "x.iso",
            "--joliet-long",
            "--no-joliet",
        ],
        &["build", "src", "-o", "x.iso", "-R", "--no-rock-ridge"],
        &["build", "src", "-o", "x.iso", "-r", "--no-rock-ridge"],
        &["build", "src", "-o", "x.iso", "-J", "--no-joliet"],
        &["build", "src", "-o", "x.iso", "-J", "--udf-only"],
        &["build", "src", "-o", "x.iso", "--bogus"],
        &["ls"],
        &["ls", "x.iso", "--view", "hfs"],
        &["extract", "x.iso"],
        &["map"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn bad_graft_points_exit_2() {
    let tmp = TempDir::new().unwrap();
    let iso = tmp.path().join("x.iso");
    for graft in ["/dest=", "=src", "/a/../b=src"] {
        let out = run(&["build", graft, "-o", p(&iso)]);
        assert_eq!(out.status.code(), Some(2), "{graft}: {}", stderr(&out));
        assert!(
            stderr(&out).starts_with("glassmaster: error: graft point"),
            "{}",
            stderr(&out)
        );
    }
    assert!(!iso.exists());
}

#[test]
fn version_and_help() {
    let out = run(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains(env!("CARGO_PKG_VERSION")));

    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    for cmd in ["build", "ls", "extract", "map"] {
        assert!(stdout(&out).contains(cmd), "{cmd} missing from --help");
    }

    for (cmd, option) in [
        ("build", "--max-size"),
        ("ls", "--view"),
        ("extract", "DEST"),
        ("map", "--json"),
    ] {
        let out = run(&[cmd, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{cmd} --help");
        assert!(stdout(&out).contains(option), "{cmd} --help lacks {option}");
        let out = run(&["help", cmd]);
        assert_eq!(out.status.code(), Some(0), "help {cmd}");
    }
}

#[test]
fn nonexistent_source_exits_1_naming_it() {
    let tmp = TempDir::new().unwrap();
    let missing = tmp.path().join("no-such-dir");
    let iso = tmp.path().join("out.iso");
    let out = run(&["build", p(&missing), "-o", p(&iso)]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("glassmaster: error: "), "{err}");
    assert!(err.contains(p(&missing)), "{err}");
    assert!(!iso.exists());

    // Also as a graft point, and with reversed graft points a hint.
    let out = run(&["build", &format!("/x={}", p(&missing)), "-o", p(&iso)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(p(&missing)));
    let out = run(&["build", &format!("{}=/dest", p(tmp.path())), "-o", p(&iso)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("did you mean"), "{}", stderr(&out));
    assert_eq!(
        fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "nothing may be written"
    );
}

#[cfg(unix)]
#[test]
fn special_file_source_exits_1() {
    let tmp = TempDir::new().unwrap();
    let iso = tmp.path().join("out.iso");
    let out = run(&["build", "/dev/null", "-o", p(&iso)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("/dev/null"), "{}", stderr(&out));
}

#[test]
fn malformed_source_date_epoch_exits_1() {
    let tmp = TempDir::new().unwrap();
    let iso = tmp.path().join("out.iso");
    let out = glassmaster()
        .args(["build", p(tmp.path()), "-o", p(&iso)])
        .env("SOURCE_DATE_EPOCH", "yesterday")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("SOURCE_DATE_EPOCH"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn missing_image_exits_1_naming_it() {
    let tmp = TempDir::new().unwrap();
    let missing = tmp.path().join("missing.iso");
    for args in [
        vec!["ls", p(&missing)],
        vec!["ls", "-l", p(&missing), "--view", "joliet"],
        vec!["extract", p(&missing), p(tmp.path())],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr(&out).contains(p(&missing)), "{}", stderr(&out));
    }
    // A directory is not an image either.
    let out = run(&["ls", p(tmp.path())]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("directory"), "{}", stderr(&out));
}

// ---------------------------------------------------------------------------------------------
// Tests that build and read images: they need the merged builder (layout, stream) and reader.

mod needs_library {
    use super::*;

    /// 2021-03-04T05:06:07Z
    const MTIME: u64 = 1_614_834_367;

    fn mtime() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(MTIME)
    }

    fn write(path: &Path, data: &[u8]) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, data).unwrap();
        fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(mtime())
            .unwrap();
    }

    /// A small tree; returns (relative path, contents) of its files.
    fn make_tree(root: &Path) -> Vec<(&'static str, Vec<u8>)> {
        let files: Vec<(&'static str, Vec<u8>)> = vec![
            ("hello.txt", b"Hello, disc!\n".to_vec()),
            ("empty.dat", Vec::new()),
            ("docs/readme.md", b"# Readme\n".repeat(100)),
            (
                "docs/nested/deep.bin",
                (0..3 * 2048 + 17).map(|i| (i * 7 % 251) as u8).collect(),
            ),
        ];
        for (rel, data) in &files {
            write(&root.join(rel), data);
        }
        fs::create_dir_all(root.join("empty-dir")).unwrap();
        files
    }

    fn build_ok(args: &[&str]) -> Output {
        let out = run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        out
    }

    fn json_rows(text: &str) -> Vec<serde_json::Value> {
        serde_json::from_str::<serde_json::Value>(text)
            .expect("valid JSON")
            .as_array()
            .expect("an array")
            .clone()
    }

    /// The rows start at block 0 and follow each other without gap or overlap; returns the
    /// total number of blocks.
    fn assert_contiguous(rows: &[serde_json::Value]) -> u64 {
        let mut next = 0;
        for r in rows {
            let first = r["first_block"].as_u64().unwrap();
            let last = r["last_block"].as_u64().unwrap();
            assert_eq!(first, next, "gap or overlap before {r}");
            assert_eq!(r["block_count"].as_u64().unwrap(), last - first + 1, "{r}");
            assert!(r["description"].is_string() && r["kind"].is_string(), "{r}");
            next = last + 1;
        }
        next
    }

    #[test]
    fn build_ls_extract_round_trip() {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        let files = make_tree(&src);
        let iso = tmp.path().join("out.iso");
        let out = build_ok(&["build", p(&src), "-o", p(&iso), "-V", "TEST", "--joliet"]);
        // Not a terminal: no progress bar, just the summary line.
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(p(&iso)) && err.contains("blocks") && err.contains("4 files"),
            "{err}"
        );
        assert_eq!(fs::metadata(&iso).unwrap().len() % 2048, 0);

        let out = build_ok(&["ls", p(&iso), "--view", "joliet"]);
        let mut listed: Vec<String> = stdout(&out).lines().map(String::from).collect();
        listed.sort();
        let expected = [
            "/docs/",
            "/docs/nested/",
            "/docs/nested/deep.bin",
            "/docs/readme.md",
            "/empty-dir/",
            "/empty.dat",
            "/hello.txt",
        ];
        assert_eq!(listed, expected);

        // The ISO 9660 view has the same number of entries (names may differ).
        let out = build_ok(&["ls", p(&iso), "--view", "iso9660"]);
        assert_eq!(stdout(&out).lines().count(), expected.len());

        let dest = tmp.path().join("dest").join("inner");
        let out = build_ok(&["extract", p(&iso), p(&dest), "--view", "joliet"]);
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
        for (rel, data) in &files {
            let path = dest.join(rel);
            assert_eq!(&fs::read(&path).unwrap(), data, "{rel}");
            let t = fs::metadata(&path).unwrap().modified().unwrap();
            assert_eq!(
                t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
                MTIME,
                "{rel}"
            );
        }
        assert!(dest.join("empty-dir").is_dir());

        // Extracting again over the existing tree is refused (nothing of DEST is replaced
        // without --overwrite, issue 19 F9), and works with --overwrite.
        let out = run(&["extract", p(&iso), p(&dest), "--view", "joliet", "-q"]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
        build_ok(&[
            "extract",
            p(&iso),
            p(&dest),
            "--view",
            "joliet",
            "-q",
            "--overwrite",
        ]);
    }

    #[test]
    fn iso9660_only_without_joliet() {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        make_tree(&src);
        let iso = tmp.path().join("out.iso");
        // Joliet is on by default (Rock Ridge too); both can be turned off.
        build_ok(&[
            "build",
            p(&src),
            "-o",
            p(&iso),
            "--no-joliet",
            "--no-rock-ridge",
            "-q",
        ]);
        let out = run(&["ls", p(&iso), "--view", "rockridge"]);
        assert_eq!(out.status.code(), Some(1), "no Rock Ridge was asked for");
        let out = run(&["ls", p(&iso), "--view", "joliet"]);
        assert_eq!(out.status.code(), Some(1), "no Joliet tree was asked for");
        build_ok(&["ls", p(&iso)]);
    }

    #[test]
    fn long_listing() {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        make_tree(&src);
        let iso = tmp.path().join("out.iso");
        build_ok(&["build", p(&src), "-o", p(&iso), "--joliet", "-q"]);
        let out = build_ok(&["ls", "-l", p(&iso), "--view", "joliet"]);
        let text = stdout(&out);
        let line = text
            .lines()
            .find(|l| l.ends_with(" /hello.txt"))
            .expect("hello.txt listed");
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols[0], "13");
        let t = chrono::DateTime::parse_from_rfc3339(cols[1]).expect("RFC 3339 time");
        assert_eq!(t.timestamp() as u64, MTIME);
        assert!(
            cols[2].parse::<u32>().unwrap() >= 16,
            "file data lies after the system area"
        );
        assert!(text.lines().any(|l| l.ends_with(" /docs/")));
    }

    #[test]
    fn graft_points_and_file_sources() {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        make_tree(&src);
        let single = tmp.path().join("single.txt");
        write(&single, b"single");
        let iso = tmp.path().join("out.iso");
        build_ok(&[
            "build",
            &format!("/sub/dir={}", p(&src.join("docs"))),
            p(&single),
            &format!("/renamed.txt={}", p(&single)),
            &format!("/into/={}", p(&single)),
            "-o",
            p(&iso),
            "--joliet",
            "-q",
        ]);
        let out = build_ok(&["ls", p(&iso), "--view", "joliet"]);
        let listed = stdout(&out);
        for path in [
            "/sub/dir/readme.md",
            "/sub/dir/nested/deep.bin",
            "/single.txt",
            "/renamed.txt",
            "/into/single.txt",
        ] {
            assert!(
                listed.lines().any(|l| l == path),
                "{path} missing from\n{listed}"
            );
        }
    }

    #[test]
    fn map_json_covers_the_image() {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        make_tree(&src);
        let out = build_ok(&["map", p(&src), "--json", "--joliet"]);
        let rows = json_rows(&stdout(&out));
        let total = assert_contiguous(&rows);
        let kinds: Vec<&str> = rows.iter().map(|r| r["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds[0], "system_area");
        assert!(
            kinds.contains(&"volume_descriptors") && kinds.contains(&"file_data"),
            "{kinds:?}"
        );
        let deep = rows
            .iter()
            .find(|r| r["description"] == "/docs/nested/deep.bin")
            .expect("file item");
        assert_eq!(deep["block_count"], 4);

        // The built image has exactly that size, and `build --map` writes the same map.
        let iso = tmp.path().join("out.iso");
        let map = tmp.path().join("out.json");
        build_ok(&[
            "build",
            p(&src),
            "-o",
            p(&iso),
            "--joliet",
            "--map",
            p(&map),
            "-q",
        ]);
        assert_eq!(fs::metadata(&iso).unwrap().len(), total * 2048);
        assert_eq!(json_rows(&fs::read_to_string(&map).unwrap()), rows);
    }

    #[test]
    fn map_table_of_sources() {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        make_tree(&src);
        let out = build_ok(&["map", p(&src)]);
        let text = stdout(&out);
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        assert_eq!(
            header.split_whitespace().collect::<Vec<_>>(),
            ["first_block", "last_block", "block_count", "description"]
        );
        let rows: Vec<&str> = lines.collect();
        assert!(rows
            .iter()
            .all(|l| l.len() >= header.find("description").unwrap()));
        assert!(rows.first().unwrap().trim_start().starts_with("0 "));
        assert!(rows.iter().any(|l| l.ends_with("/hello.txt")));
    }

    #[test]
    fn map_applies_the_boot_options_as_build_does() {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        make_tree(&src);
        write(&src.join("boot/bios.img"), &[0xB0; 4096]);
        let boot = [
            "-b",
            "boot/bios.img",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
        ];
        let mut args = vec!["map", p(&src), "--json"];
        args.extend(boot);
        let rows = json_rows(&stdout(&build_ok(&args)));
        assert_contiguous(&rows);
        assert!(
            rows.iter().any(|r| r["description"] == "/boot.catalog"),
            "no boot catalog in the map: {rows:?}"
        );
        // The same layout as the image `build` writes with those options.
        let iso = tmp.path().join("boot.iso");
        let map = tmp.path().join("boot.json");
        let mut args = vec!["build", p(&src), "-o", p(&iso), "--map", p(&map), "-q"];
        args.extend(boot);
        build_ok(&args);
        assert_eq!(json_rows(&fs::read_to_string(&map).unwrap()), rows);
        // Boot options given while mapping an existing image are reported as ignored.
        let mut args = vec!["map", p(&iso)];
        args.extend(boot);
        let out = build_ok(&args);
        assert!(
            stderr(&out).contains("build options are ignored"),
            "{}",
            stderr(&out)
        );
    }

    #[test]
    fn map_of_an_existing_image() {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        let files = make_tree(&src);
        let iso = tmp.path().join("out.iso");
        build_ok(&["build", p(&src), "-o", p(&iso), "--joliet", "-q"]);
        let out = build_ok(&["map", p(&iso), "--json"]);
        let rows = json_rows(&stdout(&out));
        // Every block of the image, in order (issue 19 item 8: not only the file extents).
        let total = assert_contiguous(&rows);
        assert_eq!(fs::metadata(&iso).unwrap().len(), total * 2048);
        let kinds: Vec<&str> = rows.iter().map(|r| r["kind"].as_str().unwrap()).collect();
        for k in [
            "system_area",
            "volume_descriptors",
            "path_table",
            "directory",
        ] {
            assert!(kinds.contains(&k), "{k} missing: {kinds:?}");
        }
        for (rel, data) in files.iter().filter(|(_, d)| !d.is_empty()) {
            let row = rows.iter().find(|r| {
                r["names"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|n| n["view"] == "joliet" && n["path"] == format!("/{rel}").as_str())
            });
            let row = row.unwrap_or_else(|| panic!("/{rel} not in map"));
            assert_eq!(
                row["block_count"].as_u64().unwrap(),
                (data.len() as u64).div_ceil(2048)
            );
            assert_eq!(row["kind"], "file_data");
        }
        let out = build_ok(&["map", p(&iso)]);
        assert!(stdout(&out)
            .lines()
            .next()
            .unwrap()
            .ends_with("description"));
    }

    #[test]
    fn map_and_ls_sessions_refuse_a_file_that_is_no_image() {
        let tmp = TempDir::new().unwrap();
        let file = tmp.path().join("notes.iso");
        write(&file, &vec![7u8; 100 * 2048]);
        for args in [vec!["map", p(&file)], vec!["ls", "--sessions", p(&file)]] {
            let out = run(&args);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stdout(&out));
            assert!(stdout(&out).is_empty(), "{args:?}: {}", stdout(&out));
            assert!(stderr(&out).contains("notes.iso"), "{}", stderr(&out));
        }
        // A single file is still laid out as a source when given as a graft point.
        let graft = format!("/notes.bin={}", p(&file));
        let rows = json_rows(&stdout(&build_ok(&["map", &graft, "--json"])));
        assert!(rows.iter().any(|r| r["description"] == "/notes.bin"));
    }

    #[test]
    fn too_large_for_max_size() {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        write(&src.join("big.bin"), &vec![7u8; 3 << 20]);
        let outdir = tmp.path().join("out");
        fs::create_dir(&outdir).unwrap();
        let iso = outdir.join("out.iso");
        let out = run(&["build", p(&src), "-o", p(&iso), "--max-size", "2M"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains("blocks"), "{}", stderr(&out));
        assert_eq!(
            fs::read_dir(&outdir).unwrap().count(),
            0,
            "no image and no temporary file"
        );
        build_ok(&["build", p(&src), "-o", p(&iso), "--max-size", "cd74", "-q"]);
    }

    #[test]
    fn source_date_epoch_makes_builds_reproducible() {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        make_tree(&src);
        let a = tmp.path().join("a.iso");
        let b = tmp.path().join("b.iso");
        for iso in [&a, &b] {
            let out = glassmaster()
                .args(["build", p(&src), "-o", p(iso), "--joliet", "-q"])
                .env("SOURCE_DATE_EPOCH", "1700000000")
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            assert!(out.stderr.is_empty(), "quiet: {}", stderr(&out));
            std::thread::sleep(Duration::from_millis(1100));
        }
        assert!(
            fs::read(&a).unwrap() == fs::read(&b).unwrap(),
            "images differ"
        );
    }

    fn ucs2(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_be_bytes).collect()
    }

    #[test]
    fn extract_refuses_path_traversal() {
        for (name, evil) in [("zq", ".."), ("zqz", "a/b"), ("zqzq", "/etc")] {
            let tmp = TempDir::new().unwrap();
            let src = tmp.path().join("src");
            write(&src.join("sub").join(name), b"evil");
            write(&src.join("good.txt"), b"good");
            let iso = tmp.path().join("evil.iso");
            build_ok(&["build", p(&src), "-o", p(&iso), "--joliet", "-q"]);
            common::patch_file(&iso, &ucs2(name), &ucs2(evil));

            let dest = tmp.path().join("dest").join("inner");
            let out = run(&["extract", p(&iso), p(&dest), "--view", "joliet"]);
            assert_eq!(out.status.code(), Some(1), "{evil}: {}", stderr(&out));
            // Nothing escaped DEST; the safe files were still extracted.
            // (DEST is only created once the image's tree was read without error.)
            let parent = tmp.path().join("dest");
            let outside: Vec<PathBuf> = match fs::read_dir(&parent) {
                Ok(rd) => rd.map(|e| e.unwrap().path()).collect(),
                Err(_) => Vec::new(),
            };
            assert!(
                outside.is_empty() || outside == [dest.clone()],
                "{evil}: {outside:?}"
            );
            assert!(!dest.join("sub").join("a").exists(), "{evil}");
            assert!(!tmp.path().join("a").exists() && !tmp.path().join("b").exists());
            if dest.exists() {
                assert_eq!(fs::read(dest.join("good.txt")).unwrap(), b"good");
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn extract_does_not_follow_symlinks_in_dest() {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        make_tree(&src);
        let iso = tmp.path().join("out.iso");
        build_ok(&["build", p(&src), "-o", p(&iso), "--joliet", "-q"]);
        let dest = tmp.path().join("dest");
        let elsewhere = tmp.path().join("elsewhere");
        fs::create_dir_all(&dest).unwrap();
        fs::create_dir_all(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, dest.join("docs")).unwrap();
        fs::write(elsewhere.join("victim"), b"keep").unwrap();
        std::os::unix::fs::symlink(elsewhere.join("victim"), dest.join("hello.txt")).unwrap();

        let out = run(&["extract", p(&iso), p(&dest), "--view", "joliet", "-q"]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert_eq!(
            fs::read_dir(&elsewhere).unwrap().count(),
            1,
            "nothing written through the link"
        );
        assert_eq!(fs::read(elsewhere.join("victim")).unwrap(), b"keep");
    }

    /// A signal while writing (SIGINT, SIGTERM, SIGHUP): exit 128 + its number, and neither the
    /// image nor a temporary file remains.
    #[cfg(unix)]
    fn interrupt_while_writing(signal: &str, status: i32) {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        fs::create_dir(&src).unwrap();
        // Sparse: takes no disk space, but a while to copy (two sizes: nothing to deduplicate).
        for (name, len) in [("big.bin", 2u64 << 30), ("big2.bin", (1 << 30) + 4096)] {
            fs::File::create(src.join(name))
                .unwrap()
                .set_len(len)
                .unwrap();
        }
        let outdir = tmp.path().join("out");
        fs::create_dir(&outdir).unwrap();
        let iso = outdir.join("big.iso");
        let mut child = glassmaster()
            .args(["build", p(&src), "-o", p(&iso)])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The temporary file appears once writing has started (the handler is installed by then).
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while fs::read_dir(&outdir).unwrap().count() == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "writing never started"
            );
            assert!(
                child.try_wait().unwrap().is_none(),
                "glassmaster exited before writing"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        let kill = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(status),
            "{signal}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains(&format!("interrupted (SIG{signal})")),
            "{}",
            stderr(&out)
        );
        let left: Vec<_> = fs::read_dir(&outdir).unwrap().collect();
        assert!(
            left.is_empty(),
            "{signal}: no image and no temporary file may remain: {left:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn sigint_while_writing_exits_130_leaving_nothing() {
        interrupt_while_writing("INT", 130);
    }

    #[cfg(unix)]
    #[test]
    fn sigterm_while_writing_exits_143_leaving_nothing() {
        interrupt_while_writing("TERM", 143);
    }

    #[cfg(unix)]
    #[test]
    fn sighup_while_writing_exits_129_leaving_nothing() {
        interrupt_while_writing("HUP", 129);
    }
}

// ---------------------------------------------------------------------------------------------
// Defaults that work on ordinary trees, outputs that never destroy inputs, safe terminal output.

#[cfg(unix)]
mod trees_outputs_and_terminal {
    use super::*;
    use common::{assert_same_tree, make_writable, require_tools, run_clean, tool};
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;

    fn build(args: &[&str]) -> Output {
        let out = run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        out
    }

    /// A tree such as /usr/share/doc or a Python library holds: 12 levels of directories, an
    /// ISO 9660 path far over 255 bytes, a relative symbolic link, modes other than 644.
    fn deep_tree(root: &Path) {
        let mut dir = root.to_path_buf();
        for i in 0..12 {
            dir = dir.join(format!(
                "level_{i:02}_directory_with_a_long_descriptive_name"
            ));
        }
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("at_the_bottom.txt"), b"twelve levels down\n").unwrap();
        let mut shallow = root.join("a/b/c/d/e/f/g/h/i");
        fs::create_dir_all(&shallow).unwrap();
        shallow.push("nine.txt");
        fs::write(&shallow, b"nine\n").unwrap();
        fs::write(root.join("script.sh"), b"#!/bin/sh\necho hi\n").unwrap();
        fs::set_permissions(root.join("script.sh"), fs::Permissions::from_mode(0o750)).unwrap();
        fs::write(root.join("README"), b"read me\n").unwrap();
        std::os::unix::fs::symlink("README", root.join("README.link")).unwrap();
    }

    /// `build SRC -o OUT` with no file-system option: ISO 9660 level 3 + Rock Ridge (deep
    /// directories relocated, paths over 255 bytes kept) + Joliet, read back whole by xorriso
    /// and bsdtar (Rock Ridge: names, modes, the link) and by 7-Zip (Joliet).
    #[test]
    fn default_build_is_rock_ridge_and_joliet_and_takes_deep_trees() {
        if !require_tools(&["xorriso", "bsdtar", "7z", "isoinfo"]) {
            return;
        }
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        deep_tree(&src);
        let iso = tmp.path().join("out.iso");
        let built = build(&["build", p(&src), "-o", p(&iso), "-V", "MYDISC"]);
        // The deepest file's Joliet path is 12 x 51 characters, over Joliet's 240: it is left
        // out of the Joliet tree, with a warning naming its topmost directory left out.
        let warned = String::from_utf8_lossy(&built.stderr).into_owned();
        assert!(
            warned.contains("longer than Joliet's 240") && warned.contains("level_04_"),
            "{warned}"
        );

        let info =
            String::from_utf8_lossy(&run_clean(tool("isoinfo").args(["-d", "-i", p(&iso)])).stdout)
                .into_owned();
        assert!(info.contains("Rock Ridge signatures version"), "{info}");
        assert!(info.contains("Joliet with UCS level 3"), "{info}");
        assert!(info.contains("Volume id: MYDISC"), "{info}");

        for (reader, dest) in [("xorriso", "xo"), ("bsdtar", "bt")] {
            let dest = tmp.path().join(dest);
            fs::create_dir(&dest).unwrap();
            if reader == "xorriso" {
                run_clean(tool("xorriso").args([
                    "-osirrox",
                    "on",
                    "-indev",
                    p(&iso),
                    "-extract",
                    "/",
                    p(&dest),
                ]));
            } else {
                run_clean(tool("bsdtar").args(["-xpf", p(&iso), "-C", p(&dest)]));
            }
            if reader == "bsdtar" {
                let mode = fs::metadata(dest.join("script.sh"))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o750, "{reader}: mode of script.sh");
            }
            make_writable(&dest);
            assert_same_tree(&src, &dest, false, reader);
            let link = fs::read_link(dest.join("README.link")).unwrap();
            assert_eq!(link, Path::new("README"), "{reader}");
        }
        // 7-Zip reads the Joliet tree: every file whose Joliet path fits 240 characters,
        // whatever the depth; not the deepest one.
        let dest = tmp.path().join("7z");
        common::run(tool("7z").args(["x", "-y", &format!("-o{}", p(&dest)), p(&iso)]));
        let deep: PathBuf = (0..12)
            .map(|i| format!("level_{i:02}_directory_with_a_long_descriptive_name"))
            .collect();
        assert!(!dest.join(&deep).join("at_the_bottom.txt").exists());
        assert!(dest
            .join("level_00_directory_with_a_long_descriptive_name")
            .is_dir());
        assert_eq!(
            fs::read(dest.join("a/b/c/d/e/f/g/h/i/nine.txt")).unwrap(),
            b"nine\n"
        );
        // Our own reader agrees: the Rock Ridge view holds the deep file, Joliet does not.
        for (view, holds) in [("joliet", false), ("rockridge", true)] {
            let listed = stdout(&build(&["ls", p(&iso), "--view", view]));
            assert_eq!(
                listed.contains("/at_the_bottom.txt"),
                holds,
                "{view}: {listed}"
            );
        }
    }

    /// Without Rock Ridge a tree deeper than 8 levels, or a path over 255 bytes (ECMA-119
    /// 6.8.2.1), is an error that names the path and the options that fix it; nothing is
    /// written. `--level 1999` builds it.
    #[test]
    fn no_rock_ridge_deep_tree_error_names_the_fix() {
        let tmp = TempDir::new().unwrap();
        let deep = tmp.path().join("deep");
        fs::create_dir_all(deep.join("a/b/c/d/e/f/g/h/i")).unwrap();
        fs::write(deep.join("a/b/c/d/e/f/g/h/i/f.txt"), b"x").unwrap();
        let long = tmp.path().join("long");
        let mut d = long.clone();
        for i in 1..=7 {
            d = d.join(format!("directory_name_of_forty_characters_abc{i}"));
        }
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("a_file_name_of_forty_characters_abcdefgh.txt"), b"x").unwrap();
        let outdir = tmp.path().join("out");
        fs::create_dir(&outdir).unwrap();
        let iso = outdir.join("x.iso");
        for (src, what) in [
            (&deep, "directory level 9"),
            (&long, "ISO 9660 path is 257 bytes"),
        ] {
            let out = run(&["build", p(src), "-o", p(&iso), "--no-rock-ridge"]);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{err}");
            assert!(err.contains(what), "{err}");
            assert!(
                err.contains("drop --no-rock-ridge") && err.contains("--level 1999"),
                "{err}"
            );
            assert_eq!(fs::read_dir(&outdir).unwrap().count(), 0, "nothing written");
            // The same tree with the defaults (Rock Ridge), or at level 1999, builds.
            build(&["build", p(src), "-o", p(&iso), "-q"]);
            build(&[
                "build",
                p(src),
                "-o",
                p(&iso),
                "--no-rock-ridge",
                "--level",
                "1999",
                "-q",
            ]);
            fs::remove_file(&iso).unwrap();
        }
    }

    /// `--udf-only` still works with Rock Ridge and Joliet on by default (no conflict), and
    /// `--udf` adds UDF to them; udfinfo and 7-Zip read the UDF tree.
    #[test]
    fn udf_only_and_udf_with_the_new_defaults() {
        if !require_tools(&["udfinfo", "7z", "isoinfo"]) {
            return;
        }
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        fs::create_dir_all(src.join("d")).unwrap();
        fs::write(src.join("d/f.txt"), b"udf").unwrap();
        let only = tmp.path().join("only.iso");
        build(&["build", p(&src), "-o", p(&only), "--udf-only", "-q"]);
        run_clean(tool("udfinfo").arg(p(&only)));
        let out = run(&["ls", p(&only), "--view", "iso9660"]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "a UDF-only image has no ISO 9660 tree"
        );
        let bridge = tmp.path().join("bridge.iso");
        build(&["build", p(&src), "-o", p(&bridge), "--udf", "-q"]);
        run_clean(tool("udfinfo").arg(p(&bridge)));
        let info = String::from_utf8_lossy(
            &run_clean(tool("isoinfo").args(["-d", "-i", p(&bridge)])).stdout,
        )
        .into_owned();
        assert!(
            info.contains("Rock Ridge") && info.contains("Joliet"),
            "{info}"
        );
        for img in [&only, &bridge] {
            let dest = tmp
                .path()
                .join(format!("x-{}", img.file_stem().unwrap().to_string_lossy()));
            common::run(tool("7z").args(["x", "-y", "-tudf", &format!("-o{}", p(&dest)), p(img)]));
            assert_eq!(fs::read(dest.join("d/f.txt")).unwrap(), b"udf");
        }
    }

    /// `-V` holding a control character (an escape sequence that clears the screen) is a
    /// usage error: Joliet identifiers exclude U+0000..U+001F, and before, the Joliet volume
    /// descriptor recorded the raw ESC with no warning. Nothing is written, and the message
    /// shows the character escaped.
    #[test]
    fn volume_name_with_control_characters_is_refused() {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        fs::create_dir_all(&src).unwrap();
        fs::write(src.join("a"), b"a").unwrap();
        let iso = tmp.path().join("v.iso");
        let out = run(&["build", p(&src), "-o", p(&iso), "-V", "a\u{1b}[2Jb"]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(!out.stderr.contains(&0x1b), "raw ESC in {:?}", stderr(&out));
        assert!(
            stderr(&out).contains("control character"),
            "{}",
            stderr(&out)
        );
        assert!(!iso.exists());
        build(&["build", p(&src), "-o", p(&iso), "-V", "Fine name é", "-q"]);
    }

    /// A UDF-only image (and `--udf --no-rock-ridge`) keeps the tree's modes: before, POSIX
    /// metadata was scanned only with Rock Ridge, so every UDF file entry held 0644/0755 and
    /// a 0600 file became world-readable, a script lost its x bit. Checked by decoding the
    /// (extended) file entries straight from the image (ECMA-167 4/14.9: permissions at byte
    /// 44, 5 bits per class) and through `ls -l`; 7-Zip reads the contents.
    #[cfg(unix)]
    #[test]
    fn udf_only_keeps_modes() {
        use std::os::unix::fs::PermissionsExt;
        if !require_tools(&["7z"]) {
            return;
        }
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        fs::create_dir_all(src.join("d")).unwrap();
        fs::write(src.join("x.sh"), b"#!/bin/sh\n").unwrap();
        fs::write(src.join("d/secret"), b"s").unwrap();
        fs::set_permissions(src.join("x.sh"), fs::Permissions::from_mode(0o751)).unwrap();
        fs::set_permissions(src.join("d/secret"), fs::Permissions::from_mode(0o600)).unwrap();
        fs::set_permissions(src.join("d"), fs::Permissions::from_mode(0o700)).unwrap();
        for opts in [&["--udf-only"][..], &["--udf", "--no-rock-ridge"][..]] {
            let iso = tmp.path().join("u.iso");
            let mut args = vec!["build", p(&src), "-o", p(&iso), "-q"];
            args.extend_from_slice(opts);
            build(&args);
            // Every file entry's permissions, decoded here (tag 261 FE or 266 EFE).
            let img = fs::read(&iso).unwrap();
            let mut perms = Vec::new();
            for b in img.chunks(2048) {
                let tag = u16::from_le_bytes([b[0], b[1]]);
                if tag == 261 || tag == 266 {
                    let v = u32::from_le_bytes([b[44], b[45], b[46], b[47]]);
                    // other: bits 0-2, group: 5-7, owner: 10-12 (x, w, r).
                    perms.push((v & 7) | ((v >> 5) & 7) << 3 | ((v >> 10) & 7) << 6);
                }
            }
            perms.sort_unstable();
            assert!(
                perms.contains(&0o751) && perms.contains(&0o600) && perms.contains(&0o700),
                "{opts:?}: file entry modes {:?}",
                perms
            );
            let out = run(&["ls", "-l", p(&iso), "--view", "udf"]);
            let ls = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(
                ls.contains("-rwxr-x--x") && ls.contains("-rw-------"),
                "{ls}"
            );
            assert!(ls.contains("drwx------"), "{ls}");
            let dest = tmp.path().join("x7");
            common::run(tool("7z").args(["x", "-y", "-tudf", &format!("-o{}", p(&dest)), p(&iso)]));
            assert_eq!(fs::read(dest.join("d/secret")).unwrap(), b"s");
            fs::remove_dir_all(&dest).unwrap();
            fs::remove_file(&iso).unwrap();
        }
    }

    /// Every file name in `dir` (recursively) with its bytes.
    fn contents(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        for e in fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            let md = fs::symlink_metadata(&path).unwrap();
            if md.is_dir() {
                out.extend(contents(&path));
            } else if md.is_file() {
                out.push((path.clone(), fs::read(&path).unwrap()));
            } else {
                out.push((
                    path.clone(),
                    fs::read_link(&path)
                        .unwrap()
                        .as_os_str()
                        .as_bytes()
                        .to_vec(),
                ));
            }
        }
        out.sort();
        out
    }

    /// `-o` naming an existing source file, the source directory, a file inside the source
    /// tree (also spelled with `..`, or reached through a symbolic link) is refused before
    /// anything is written, naming both; the sources are unchanged and no temporary file is
    /// left.
    #[test]
    fn output_that_is_an_input_is_refused() {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::write(src.join("sub/old.iso"), b"an old image, also a source").unwrap();
        fs::write(src.join("keep.txt"), b"keep me").unwrap();
        let single = tmp.path().join("single.txt");
        fs::write(&single, b"a file source").unwrap();
        let link = tmp.path().join("link.iso");
        std::os::unix::fs::symlink(src.join("keep.txt"), &link).unwrap();
        let before = (contents(&src), fs::read(&single).unwrap());
        let dotdot = src.join("sub/../sub/old.iso");
        let cases: [(&[&str], &Path, &str, &Path); 5] = [
            (&[p(&single)], &single, "is the source", &single),
            (&[p(&src)], &src, "is the source", &src),
            (
                &[p(&src)],
                &src.join("sub/old.iso"),
                "is inside the source directory",
                &src,
            ),
            (
                &[p(&src), p(&single)],
                &dotdot,
                "is inside the source directory",
                &src,
            ),
            (&[p(&src)], &link, "is inside the source directory", &src),
        ];
        for (sources, out_path, relation, input) in cases {
            let mut args = vec!["build"];
            args.extend_from_slice(sources);
            args.extend_from_slice(&["-o", p(out_path)]);
            let out = run(&args);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
            assert!(
                err.contains(&format!(
                    "the output {} {relation} {}",
                    p(out_path),
                    p(input)
                )),
                "{args:?}: {err}"
            );
            assert_eq!(
                (contents(&src), fs::read(&single).unwrap()),
                before,
                "{args:?}"
            );
            for dir in [tmp.path(), &src, &src.join("sub")] {
                let tmp_files: Vec<_> = fs::read_dir(dir)
                    .unwrap()
                    .flatten()
                    .filter(|e| e.file_name().to_string_lossy().contains("glassmaster-tmp"))
                    .collect();
                assert!(tmp_files.is_empty(), "{tmp_files:?}");
            }
        }
        // The same with --append-to: the image grown in place lies inside the source tree.
        let out = run(&["build", p(&src), "--append-to", p(&src.join("sub/old.iso"))]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("is inside the source directory"),
            "{}",
            stderr(&out)
        );
        assert_eq!((contents(&src), fs::read(&single).unwrap()), before);
        // An output beside the tree is fine, and so is a new file inside it (it destroys
        // nothing; the scan is over before it is created).
        build(&[
            "build",
            p(&src),
            "-o",
            p(&tmp.path().join("fine.iso")),
            "-q",
        ]);
        build(&["build", p(&src), "-o", p(&src.join("new.iso")), "-q"]);
    }

    /// Names in warnings and errors reach the terminal escaped: control characters (a file
    /// named `ESC[2J` would clear the screen) and bytes that are not UTF-8.
    #[test]
    fn names_in_warnings_and_errors_are_escaped() {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        fs::create_dir(&src).unwrap();
        fs::write(src.join("clear\x1b[2Jscreen.txt"), b"x").unwrap();
        let iso = tmp.path().join("out.iso");
        let out = build(&["build", p(&src), "-o", p(&iso)]);
        assert!(
            !out.stderr.contains(&0x1b),
            "raw ESC on stderr: {:?}",
            stderr(&out)
        );
        let err = stderr(&out);
        assert!(err.contains("clear\\u{1b}[2Jscreen.txt"), "{err}");
        // An error naming a path with a control character and an invalid byte.
        let bad = tmp
            .path()
            .join(std::ffi::OsStr::from_bytes(b"caf\xe9\x1b[2J"));
        let out = glassmaster()
            .arg("build")
            .arg(&bad)
            .args(["-o", p(&iso)])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(
            !out.stderr.contains(&0x1b),
            "raw ESC on stderr: {:?}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("caf\\xe9\\u{1b}[2J"),
            "{}",
            stderr(&out)
        );
    }

    /// A tree with 70 names Joliet shortens and a FIFO that --skip-special leaves out (a scan
    /// warning, once printed twice).
    fn warning_tree(root: &Path) {
        fs::create_dir(root).unwrap();
        for i in 0..70 {
            fs::write(root.join(format!("{i:02}_{}.txt", "n".repeat(80))), b"x").unwrap();
        }
        let fifo = root.join("a_fifo");
        let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
    }

    /// Each warning is printed once; `-q` prints one line counting them by kind, `-q
    /// --warnings` lists them all.
    #[test]
    fn warnings_once_and_summarised_with_quiet() {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        warning_tree(&src);
        let iso = tmp.path().join("out.iso");
        let base = ["build", p(&src), "-o", p(&iso), "--skip-special"];

        let out = build(&base);
        let err = stderr(&out);
        let warnings: Vec<&str> = err.lines().filter(|l| l.contains("warning:")).collect();
        let distinct: std::collections::BTreeSet<&str> = warnings.iter().copied().collect();
        assert_eq!(
            warnings.len(),
            distinct.len(),
            "a warning printed twice:\n{err}"
        );
        // Ten of each kind are listed (10 of the 70 shortened Joliet names, the FIFO), the rest
        // counted in one line.
        assert_eq!(warnings.len(), 11, "{err}");
        assert_eq!(
            warnings.iter().filter(|w| w.contains("a_fifo")).count(),
            1,
            "{err}"
        );
        assert!(
            err.contains(
                "\nglassmaster: and 60 more Joliet names shortened or changed; --warnings to list them\n"
            ),
            "{err}"
        );

        let out = build(&[&base[..], &["-q"]].concat());
        assert_eq!(
            stderr(&out),
            "glassmaster: 70 Joliet names shortened or changed, 1 special file skipped; --warnings to list them\n"
        );
        let out = build(&[&base[..], &["-q", "--warnings"]].concat());
        assert_eq!(stderr(&out).lines().count(), 71, "{}", stderr(&out));
        assert!(stderr(&out)
            .lines()
            .all(|l| l.starts_with("glassmaster: warning: ")));
        let out = build(&[&base[..], &["--warnings"]].concat());
        let listed = stderr(&out);
        assert_eq!(
            listed.lines().filter(|l| l.contains("warning:")).count(),
            71,
            "{listed}"
        );
    }

    /// A volume name the formats cannot hold is a warning saying what each one records; the
    /// readers see exactly that.
    #[test]
    fn volume_name_that_does_not_fit_warns_what_was_recorded() {
        if !require_tools(&["isoinfo", "udfinfo"]) {
            return;
        }
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        fs::create_dir(&src).unwrap();
        fs::write(src.join("f"), b"x").unwrap();
        let iso = tmp.path().join("out.iso");
        let name = "Photos d'été 2024, the whole summer";
        let out = build(&["build", p(&src), "-o", p(&iso), "-V", name, "--udf"]);
        let err = stderr(&out);
        assert!(
            err.contains("recorded in ISO 9660 as \"PHOTOS_D__T__2024__THE_WHOLE_SUM\""),
            "{err}"
        );
        assert!(
            err.contains("recorded in Joliet as \"Photos d'été 202\""),
            "{err}"
        );
        assert!(
            err.contains("recorded in the UDF primary volume descriptor as \"Photos d'été 2024, the whole s\""),
            "{err}"
        );
        let info =
            String::from_utf8_lossy(&run_clean(tool("isoinfo").args(["-d", "-i", p(&iso)])).stdout)
                .into_owned();
        assert!(
            info.contains("Volume id: PHOTOS_D__T__2024__THE_WHOLE_SUM"),
            "{info}"
        );
        let udf =
            String::from_utf8_lossy(&run_clean(tool("udfinfo").arg(p(&iso))).stdout).into_owned();
        assert!(
            udf.contains("vid=Photos d'été 2024, the whole s\n"),
            "{udf}"
        );
        assert!(udf.contains(&format!("lvid={name}\n")), "{udf}");
        // The Joliet descriptor (type 2, escape %/E) holds the 16 characters.
        let img = fs::read(&iso).unwrap();
        let joliet = (16..32)
            .map(|s| &img[s * 2048..(s + 1) * 2048])
            .find(|d| d[0] == 2 && &d[88..91] == b"%/E")
            .expect("a Joliet descriptor");
        let units: Vec<u16> = joliet[40..72]
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(
            String::from_utf16(&units).unwrap().trim_end(),
            "Photos d'été 202"
        );
        // A name that fits gives no warning.
        let out = build(&["build", p(&src), "-o", p(&iso), "-V", "MYDISC", "--udf"]);
        assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    }

    /// `-o -` refuses to write an image to a terminal (run under a pseudo-terminal made by
    /// util-linux `script`); into a pipe it writes the image.
    #[test]
    fn image_to_a_terminal_is_refused() {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        fs::create_dir(&src).unwrap();
        fs::write(src.join("f"), b"x").unwrap();
        let piped = build(&["build", p(&src), "-o", "-", "-q"]);
        assert_eq!(&piped.stdout[0x8001..0x8006], b"CD001");
        if !require_tools(&["script"]) {
            return;
        }
        let bin = env!("CARGO_BIN_EXE_glassmaster");
        let cmd = format!("{bin} build {} -o -", p(&src));
        let out = Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert!(
            text.contains("standard output, which is a terminal"),
            "{text}"
        );
        assert!(!text.contains("CD001"), "image bytes reached the terminal");
    }

    /// Without Rock Ridge, the ISO 9660 identifiers are the names readers show: every name
    /// that is more than upper-cased with its version is reported like Joliet's (issue 19,
    /// trial finding F4), listed up to ten, counted in one line under -q, each with the
    /// identifier isoinfo and xorriso read back. With Rock Ridge none is reported.
    #[test]
    fn iso9660_name_changes_are_reported_without_rock_ridge() {
        if !require_tools(&["isoinfo", "xorriso"]) {
            return;
        }
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        fs::create_dir_all(src.join("sub")).unwrap();
        for i in 0..15 {
            let name = format!("a_very_long_shared_prefix_for_many_files_{i:02}.dat");
            fs::write(src.join(name), format!("{i}\n")).unwrap();
        }
        // Unchanged but for case and version: not reported.
        fs::write(src.join("README"), b"r").unwrap();
        fs::write(src.join("ok.txt"), b"o").unwrap();
        fs::write(src.join("sub").join("read-me.md"), b"m").unwrap();
        let iso = tmp.path().join("plain.iso");
        let args = [
            "build",
            p(&src),
            "-o",
            p(&iso),
            "--no-rock-ridge",
            "--no-joliet",
            "--warnings",
        ];
        let err = stderr(&build(&args));
        let reported: Vec<(String, String)> = err
            .lines()
            .filter_map(|l| l.strip_prefix("glassmaster: warning: ISO 9660 name of "))
            .map(|l| {
                let (path, new) = l.split_once(" shortened or changed to ").unwrap();
                (path.to_string(), new.trim_matches('"').to_string())
            })
            .collect();
        assert_eq!(reported.len(), 16, "{err}");
        assert!(!err.contains("README") && !err.contains("ok.txt"), "{err}");
        assert!(
            reported.contains(&("/sub/read-me.md".into(), "READ_ME.MD;1".into())),
            "{err}"
        );
        // Each reported identifier is what the readers find.
        let listed = run_clean(tool("isoinfo").args(["-f", "-i", p(&iso)]));
        let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
        let xorriso = run_clean(tool("xorriso").args(["-indev", p(&iso), "-find", "/"]));
        let xorriso = String::from_utf8_lossy(&xorriso.stdout).into_owned();
        for (path, new) in &reported {
            let parent = &path[..path.rfind('/').unwrap() + 1];
            let full = format!("{}{new}", parent.to_uppercase());
            assert!(
                listed.lines().any(|l| l == full),
                "isoinfo: {full}\n{listed}"
            );
            let bare = full.trim_end_matches(";1").trim_end_matches('.');
            assert!(
                xorriso.lines().any(|l| l == format!("'{bare}'")),
                "xorriso: {bare}\n{xorriso}"
            );
        }
        // -q: one line counting them.
        let quiet = stderr(&build(&[
            "build",
            p(&src),
            "-o",
            p(&iso),
            "--no-rock-ridge",
            "--no-joliet",
            "-q",
        ]));
        assert_eq!(
            quiet.trim(),
            "glassmaster: 16 ISO 9660 names shortened or changed; --warnings to list them"
        );
        // With Rock Ridge (the default) the ISO 9660 names are not what readers show.
        let rr = stderr(&build(&["build", p(&src), "-o", p(&iso), "-q"]));
        assert!(!rr.contains("ISO 9660 name"), "{rr}");
    }

    /// An unreadable directory or file stops the build by default (as xorriso), naming it;
    /// `--skip-unreadable` leaves each out with a warning naming it (as genisoimage) and
    /// builds the rest, which isoinfo and xorriso list (trial finding F5). Root reads
    /// everything, so as root the CLI runs as `nobody` (util-linux `runuser`).
    #[test]
    fn unreadable_entries_stop_the_build_or_are_skipped_when_asked() {
        let root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let tools: &[&str] = if root {
            &["isoinfo", "xorriso", "runuser"]
        } else {
            &["isoinfo", "xorriso"]
        };
        if !require_tools(tools) {
            return;
        }
        let tmp = TempDir::new().unwrap();
        // `nobody` must reach the tree and write the image.
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let src = tmp.path().join("src");
        fs::create_dir_all(src.join("open").join("sub")).unwrap();
        fs::create_dir_all(src.join("closed").join("inner")).unwrap();
        fs::write(src.join("open").join("a"), b"a").unwrap();
        fs::write(src.join("open").join("sub").join("b"), b"b").unwrap();
        fs::write(src.join("closed").join("inner").join("x"), b"secret").unwrap();
        fs::write(src.join("open").join("private"), b"hidden").unwrap();
        let out = tmp.path().join("out");
        fs::create_dir(&out).unwrap();
        fs::set_permissions(&out, fs::Permissions::from_mode(0o777)).unwrap();
        let gm = |args: &[&str]| {
            let bin = env!("CARGO_BIN_EXE_glassmaster");
            let mut cmd = if root {
                let mut c = Command::new("runuser");
                c.args(["-u", "nobody", "--", bin]);
                c
            } else {
                Command::new(bin)
            };
            cmd.env_remove("SOURCE_DATE_EPOCH").args(args);
            cmd.output().unwrap()
        };
        let closed = src.join("closed");
        let private = src.join("open").join("private");
        // The directory first: it stops the build before the file is reached.
        fs::set_permissions(&closed, fs::Permissions::from_mode(0o000)).unwrap();
        let iso = out.join("a.iso");
        let o = gm(&["build", p(&src), "-o", p(&iso)]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!("{}: Permission denied", closed.display())),
            "{err}"
        );
        assert!(!iso.exists());
        // The file: as before, an error naming it.
        fs::set_permissions(&closed, fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(&private, fs::Permissions::from_mode(0o000)).unwrap();
        let o = gm(&["build", p(&src), "-o", p(&iso)]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            err.contains("private") && err.contains("ermission denied"),
            "{err}"
        );
        assert!(!iso.exists());

        // --skip-unreadable: both left out, each named once; the rest is in the image.
        fs::set_permissions(&closed, fs::Permissions::from_mode(0o000)).unwrap();
        let o = gm(&["build", p(&src), "-o", p(&iso), "--skip-unreadable"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(0), "{err}");
        for (image, path) in [("/closed", &closed), ("/open/private", &private)] {
            let named = format!(
                "warning: {image} (source {}): not readable, skipped",
                path.display()
            );
            assert_eq!(err.matches(&named).count(), 1, "{err}");
        }
        fs::set_permissions(&closed, fs::Permissions::from_mode(0o755)).unwrap();
        let want = ["/open", "/open/a", "/open/sub", "/open/sub/b"];
        let listed = run_clean(tool("isoinfo").args(["-R", "-f", "-i", p(&iso)]));
        let listed: Vec<String> = String::from_utf8_lossy(&listed.stdout)
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(listed, want);
        let found = run_clean(tool("xorriso").args(["-indev", p(&iso), "-find", "/"]));
        let found: Vec<String> = String::from_utf8_lossy(&found.stdout)
            .lines()
            .map(|l| l.trim_matches('\'').to_string())
            .filter(|l| l != "/")
            .collect();
        assert_eq!(found, want);
    }
}
