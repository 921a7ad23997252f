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

fn glassmaster() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_glassmaster"));
    cmd.env_remove("SOURCE_DATE_EPOCH");
    cmd
}

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
        &["build", "src", "-o", "x.iso", "--joliet-long"],
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

        // Extracting again over the existing tree works.
        build_ok(&["extract", p(&iso), p(&dest), "--view", "joliet", "-q"]);
    }

    #[test]
    fn iso9660_only_without_joliet() {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        make_tree(&src);
        let iso = tmp.path().join("out.iso");
        build_ok(&["build", p(&src), "-o", p(&iso), "-q"]);
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

    /// Patches the first occurrence of `from` in the image file with `to` (same length).
    fn patch(iso: &Path, from: &[u8], to: &[u8]) {
        let mut bytes = fs::read(iso).unwrap();
        let at = bytes
            .windows(from.len())
            .position(|w| w == from)
            .expect("pattern in image");
        bytes[at..at + to.len()].copy_from_slice(to);
        fs::write(iso, bytes).unwrap();
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
            patch(&iso, &ucs2(name), &ucs2(evil));

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

    /// Ctrl-C while writing: exit 130, and neither the image nor a temporary file remains.
    #[cfg(unix)]
    #[test]
    fn interrupt_while_writing() {
        let tmp = TempDir::new().unwrap();
        let src = tmp.path().join("src");
        fs::create_dir(&src).unwrap();
        // Sparse: takes no disk space, but a while to copy.
        fs::File::create(src.join("big.bin"))
            .unwrap()
            .set_len(2 << 30)
            .unwrap();
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
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
        assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
        assert_eq!(
            fs::read_dir(&outdir).unwrap().count(),
            0,
            "no image and no temporary file may remain"
        );
    }
}
