//! Multisession: import, append a session in place, modify into a new image. Every appended
//! image is read back by isoinfo, xorriso, 7-Zip and bsdtar (the newest tree) and by our reader
//! (every session).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use chrono::{TimeZone, Utc};
use common::*;
use glassmaster::multisession::BaseImage;
use glassmaster::read::{ImageReader, View};
use glassmaster::{FileSystems, ImageBuilder, NoProgress, Progress, ProgressItem};
use tempfile::TempDir;

/// Writes `bytes` to `root/rel` with a whole-second modification time.
fn put(root: &Path, rel: &str, bytes: &[u8], mtime: u64) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, bytes).unwrap();
    let f = fs::File::options().write(true).open(&p).unwrap();
    f.set_modified(UNIX_EPOCH + Duration::from_secs(mtime))
        .unwrap();
}

fn tmp(prefix: &str) -> TempDir {
    tempfile::Builder::new().prefix(prefix).tempdir().unwrap()
}

/// Every file of session `n` (None: newest) in our reader's Rock Ridge view: path -> bytes, and
/// the directories.
fn our_tree(iso: &Path, n: Option<u32>) -> BTreeMap<String, Option<Vec<u8>>> {
    let f = fs::File::open(iso).unwrap();
    let mut r = ImageReader::open_session(std::io::BufReader::new(f), n).unwrap();
    let view = r.default_view();
    let mut out = BTreeMap::new();
    for (path, e) in r.walk(view).unwrap() {
        if path == "/" || path.is_empty() {
            continue;
        }
        let rel = path.trim_start_matches('/').to_string();
        if e.is_dir {
            out.insert(rel, None);
        } else {
            out.insert(rel, Some(r.read_file(&e).unwrap()));
        }
    }
    out
}

/// The same shape from a directory on disk.
fn disk_tree(root: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    snapshot(root, false)
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                match v {
                    Found::Dir => None,
                    Found::File { bytes, .. } => Some(bytes),
                },
            )
        })
        .collect()
}

/// First extent of `path` in session `n`.
fn extent_of(iso: &Path, n: u32, path: &str) -> u32 {
    let f = fs::File::open(iso).unwrap();
    let mut r = ImageReader::open_session(std::io::BufReader::new(f), Some(n)).unwrap();
    let e = r.lookup(View::Iso9660, path).unwrap();
    e.extents[0].lba
}

/// isoinfo -R -l: path -> size for files, None for directories.
fn isoinfo_listing(iso: &Path) -> BTreeMap<String, Option<u64>> {
    let out = run_clean_stdout(tool("isoinfo").arg("-R").arg("-l").arg("-i").arg(iso));
    let mut map = BTreeMap::new();
    let mut dir = String::new();
    for line in out.lines() {
        if let Some(d) = line.strip_prefix("Directory listing of ") {
            dir = d.trim().trim_start_matches('/').to_string();
            continue;
        }
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 10 {
            continue;
        }
        let name = *cols.last().unwrap();
        if name == "." || name == ".." {
            continue;
        }
        let rel = format!("{dir}{name}");
        if line.starts_with('d') {
            map.insert(rel, None);
        } else {
            map.insert(rel, Some(cols[4].parse().unwrap()));
        }
    }
    map
}

/// Checks that every independent reader shows exactly the tree in `expected` (names, bytes,
/// mtimes where the tool restores them).
fn check_readers(iso: &Path, expected: &Path) {
    check_readers_tolerating(iso, expected, &[])
}

/// [`check_readers`], accepting xorriso complaints containing one of `tolerated`.
fn check_readers_tolerating(iso: &Path, expected: &Path, tolerated: &[&str]) {
    let want = disk_tree(expected);
    if require_tool("isoinfo") {
        let listed = isoinfo_listing(iso);
        let want_list: BTreeMap<String, Option<u64>> = want
            .iter()
            .map(|(k, v)| (k.clone(), v.as_ref().map(|b| b.len() as u64)))
            .collect();
        assert_eq!(listed, want_list, "isoinfo -R -l");
        let joliet =
            run_stdout(tool("isoinfo").arg("-d").arg("-i").arg(iso)).contains("Joliet with");
        for (k, v) in &want {
            if let Some(bytes) = v {
                let got = run(tool("isoinfo")
                    .arg(if joliet { "-J" } else { "-R" })
                    .arg("-i")
                    .arg(iso)
                    .arg("-x")
                    .arg(format!("/{k}")))
                .stdout;
                assert_eq!(&got, bytes, "isoinfo -x /{k} (joliet: {joliet})");
            }
        }
    }
    if require_tool("xorriso") {
        let d = tmp("gm-ms-x");
        let dest = d.path().join("x");
        run_tolerating(
            tool("xorriso")
                .args(["-osirrox", "on", "-indev"])
                .arg(iso)
                .args(["-extract", "/"])
                .arg(&dest),
            tolerated,
        );
        make_writable(&dest);
        assert_same_tree(expected, &dest, true, "xorriso -extract");
    }
    if require_tool("7z") {
        let d = tmp("gm-ms-7z");
        run_clean(
            tool("7z")
                .arg("x")
                .arg("-y")
                .arg(format!("-o{}", d.path().display()))
                .arg(iso),
        );
        assert_same_tree(expected, d.path(), true, "7z x");
    }
    if require_tool("bsdtar") {
        let d = tmp("gm-ms-tar");
        run_clean(tool("bsdtar").arg("-xpf").arg(iso).arg("-C").arg(d.path()));
        make_writable(d.path());
        assert_same_tree(expected, d.path(), true, "bsdtar -x");
    }
}

/// Blocks of `after` that differ from `before` (blocks past the end of `before` differ).
fn differing_blocks(before: &[u8], after: &[u8]) -> BTreeSet<u64> {
    let n = after.len().div_ceil(2048);
    (0..n as u64)
        .filter(|&b| {
            let r = b as usize * 2048..((b as usize + 1) * 2048).min(after.len());
            before.get(r.clone()) != Some(&after[r])
        })
        .collect()
}

fn glassmaster_ok(args: &[&std::ffi::OsStr]) {
    let out = glassmaster().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "glassmaster {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn three_sessions_through_the_cli() {
    let work = tmp("gm-ms");
    let iso = work.path().join("grow.iso");
    let exp = work.path().join("expected");
    let s1 = work.path().join("s1");
    let s2 = work.path().join("s2");
    let s3 = work.path().join("s3");
    let big = content(7, 300_000);
    for root in [&s1, &exp] {
        put(root, "a.txt", b"first version\n", 1_100_000_000);
        put(root, "gone.txt", b"removed in session 2\n", 1_100_000_100);
        put(root, "d/k.txt", b"kept all along\n", 1_100_000_200);
        put(root, "d/big.bin", &big, 1_100_000_300);
        put(root, "sub/x.txt", b"x, first\n", 1_100_000_400);
        put(root, "sub/deeper/y.txt", b"y\n", 1_100_000_500);
    }
    glassmaster_ok(&[
        "build".as_ref(),
        s1.as_os_str(),
        "-o".as_ref(),
        iso.as_os_str(),
        "-J".as_ref(),
        "-R".as_ref(),
        "-V".as_ref(),
        "MULTI".as_ref(),
        "-q".as_ref(),
    ]);
    let mut snapshots = vec![disk_tree(&exp)];
    check_readers(&iso, &exp);

    // Session 2: a replacement, an addition, a removal.
    put(&s2, "a.txt", b"second version, longer\n", 1_200_000_000);
    put(&s2, "d/n.txt", b"new in session 2\n", 1_200_000_100);
    put(&exp, "a.txt", b"second version, longer\n", 1_200_000_000);
    put(&exp, "d/n.txt", b"new in session 2\n", 1_200_000_100);
    fs::remove_file(exp.join("gone.txt")).unwrap();
    // Session 3: a directory removed, a file removed, a replacement deeper down, additions.
    put(&s3, "c.txt", b"c\n", 1_300_000_000);
    put(&s3, "sub/x.txt", b"x, third\n", 1_300_000_100);
    put(&s3, "new/z.txt", b"z\n", 1_300_000_200);

    let steps: [(&PathBuf, &[&str]); 2] =
        [(&s2, &["/gone.txt"]), (&s3, &["/sub/deeper", "/d/n.txt"])];
    for (k, (src, removals)) in steps.into_iter().enumerate() {
        if k == 1 {
            put(&exp, "c.txt", b"c\n", 1_300_000_000);
            put(&exp, "sub/x.txt", b"x, third\n", 1_300_000_100);
            put(&exp, "new/z.txt", b"z\n", 1_300_000_200);
            fs::remove_dir_all(exp.join("sub/deeper")).unwrap();
            fs::remove_file(exp.join("d/n.txt")).unwrap();
        }
        let before = fs::read(&iso).unwrap();
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "build".as_ref(),
            src.as_os_str(),
            "--append-to".as_ref(),
            iso.as_os_str(),
            "-q".as_ref(),
        ];
        for r in removals {
            args.push("--remove".as_ref());
            args.push(r.as_ref());
        }
        glassmaster_ok(&args);
        let after = fs::read(&iso).unwrap();
        snapshots.push(disk_tree(&exp));

        // Only the head (blocks 16-31) of the old image changed; the file grew by the session.
        let changed = differing_blocks(&before, &after);
        let old_blocks = (before.len() / 2048) as u64;
        assert!(
            changed
                .iter()
                .all(|&b| (16..32).contains(&b) || b >= old_blocks),
            "blocks of the old image changed outside the head: {:?}",
            changed
                .iter()
                .filter(|&&b| b < old_blocks)
                .collect::<Vec<_>>()
        );
        let sessions = glassmaster::read::sessions(&mut fs::File::open(&iso).unwrap()).unwrap();
        assert_eq!(sessions.len(), k + 2);
        let newest = sessions.last().unwrap();
        assert_eq!(after.len() as u64, newest.end_block * 2048);
        assert_eq!(newest.start_block % 32, 0);
        assert!(newest.start_block >= old_blocks);

        check_readers(&iso, &exp);
        // Our reader: every session with its own tree.
        for (i, want) in snapshots.iter().enumerate() {
            assert_eq!(
                &our_tree(&iso, Some(i as u32 + 1)),
                want,
                "session {} after append {}",
                i + 1,
                k + 1
            );
        }
        assert_eq!(&our_tree(&iso, None), snapshots.last().unwrap());
    }
    // Unchanged data is shared by every session: never written again.
    for path in ["/D/K.TXT", "/D/BIG.BIN"] {
        let first = extent_of(&iso, 1, path);
        assert_eq!(extent_of(&iso, 2, path), first, "{path} in session 2");
        assert_eq!(extent_of(&iso, 3, path), first, "{path} in session 3");
    }

    // `ls --sessions` and `ls --session N`.
    let out = glassmaster()
        .args(["ls", "--sessions"])
        .arg(&iso)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 4, "{text}");
    for (n, want) in snapshots.iter().enumerate() {
        let out = glassmaster()
            .args(["ls", "--session", &(n + 1).to_string()])
            .arg(&iso)
            .output()
            .unwrap();
        assert!(out.status.success());
        let listed: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim_start_matches('/').trim_end_matches('/').to_string())
            .collect();
        let want: BTreeSet<String> = want.keys().cloned().collect();
        assert_eq!(listed, want, "ls --session {}", n + 1);
    }
    // `extract --session N` and `extract` (the newest).
    for (n, want) in snapshots.iter().enumerate() {
        let d = tmp("gm-ms-ex");
        let dest = d.path().join("x");
        glassmaster_ok(&[
            "extract".as_ref(),
            "-q".as_ref(),
            "--session".as_ref(),
            (n + 1).to_string().as_ref(),
            iso.as_os_str(),
            dest.as_os_str(),
        ]);
        assert_eq!(&disk_tree(&dest), want, "extract --session {}", n + 1);
    }
    let d = tmp("gm-ms-ex");
    let dest = d.path().join("x");
    glassmaster_ok(&[
        "extract".as_ref(),
        "-q".as_ref(),
        iso.as_os_str(),
        dest.as_os_str(),
    ]);
    assert_same_tree(&exp, &dest, true, "glassmaster extract");
    let out = glassmaster()
        .args(["ls", "--session", "4"])
        .arg(&iso)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("session 4"));
}

/// Records what the write phase reports.
#[derive(Default)]
struct Recorder {
    total: u64,
    started: Vec<ProgressItem>,
    last: u64,
    /// Abort at this `query_abort` call (1-based).
    abort_at: Option<usize>,
    polls: usize,
}

impl Progress for Recorder {
    fn begin(&mut self, phase: glassmaster::Phase, total: u64) {
        if phase == glassmaster::Phase::Write {
            self.total = total;
        }
    }
    fn item_started(&mut self, item: &ProgressItem) {
        self.started.push(item.clone());
    }
    fn update(&mut self, done: u64, _total: u64) {
        self.last = done;
    }
    fn query_abort(&mut self) -> bool {
        self.polls += 1;
        self.abort_at.is_some_and(|a| self.polls >= a)
    }
}

fn fixed_time() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap()
}

/// A base image (Rock Ridge + Joliet) with a few files, written to `dir/base.iso`.
fn base_image(dir: &Path) -> PathBuf {
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE)
        .volume_id("BASE")
        .build_time(fixed_time());
    b.add_bytes("/keep.txt", &b"keep\n"[..]).unwrap();
    b.add_bytes("/replace.txt", &b"old\n"[..]).unwrap();
    b.add_bytes("/drop/me.bin", content(3, 5000)).unwrap();
    b.add_bytes("/data/blob.bin", content(4, 200_000)).unwrap();
    b.add_symlink("/link", "keep.txt").unwrap();
    b.add_hard_link("/data/blob-link.bin", "/data/blob.bin")
        .unwrap();
    b.set_mode("/keep.txt", 0o600).unwrap();
    b.set_owner("/keep.txt", 1234, 5678).unwrap();
    let path = dir.join("base.iso");
    b.build(&mut glassmaster::NoProgress)
        .unwrap()
        .write_to_path(&path, &mut NoProgress)
        .unwrap();
    path
}

#[test]
fn modified_blocks_are_exactly_what_changes_and_progress_covers_them() {
    let work = tmp("gm-ms-lib");
    let path = base_image(work.path());
    let base = BaseImage::open(&path).unwrap();
    assert_eq!(base.sessions().len(), 1);
    let mut b = ImageBuilder::import(&base).unwrap();
    assert_eq!(
        b.options().filesystems,
        FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE
    );
    assert_eq!(b.options().volume_id, "BASE");
    b.build_time(fixed_time());
    // The new item wins over the imported one of the same path.
    b.add_bytes("/replace.txt", &b"new contents\n"[..]).unwrap();
    b.remove("/drop").unwrap();
    b.add_bytes("/added/big.bin", content(5, 2_500_000))
        .unwrap();
    let append = b.build_append(&base).unwrap();
    let ranges = append.modified_blocks();
    let items = append.progress_items();
    // Items cover exactly the modified blocks.
    let item_blocks: BTreeSet<u64> = items
        .iter()
        .flat_map(|i| i.first_block..=i.last_block)
        .collect();
    let range_blocks: BTreeSet<u64> = ranges
        .iter()
        .flat_map(|r| r.first_block..r.first_block + r.block_count)
        .collect();
    assert_eq!(item_blocks, range_blocks);
    assert!(range_blocks.iter().any(|b| (16..32).contains(b)));

    let before = fs::read(&path).unwrap();
    // The grown image as a stream (for a copy elsewhere) is what the in-place write produces.
    let grown = render(append.image());
    let mut rec = Recorder::default();
    append.write_in_place(&mut rec).unwrap();
    let after = fs::read(&path).unwrap();
    assert!(grown == after, "stream and in-place result differ");
    assert_eq!(differing_blocks(&before, &after), range_blocks);
    assert_eq!(after.len() as u64, append.session_end() * 2048);
    // Progress: the total is what is written, every item was started, the end was reached.
    assert_eq!(rec.total, range_blocks.len() as u64);
    assert_eq!(rec.last, rec.total);
    let started: BTreeSet<u64> = rec
        .started
        .iter()
        .flat_map(|i| i.first_block..=i.last_block)
        .collect();
    assert_eq!(started, range_blocks);

    // The grown image: the new tree in Rock Ridge, attributes carried over.
    let f = fs::File::open(&path).unwrap();
    let mut r = ImageReader::open(std::io::BufReader::new(f)).unwrap();
    let e = r.lookup(View::RockRidge, "/replace.txt").unwrap();
    assert_eq!(r.read_file(&e).unwrap(), b"new contents\n");
    assert!(r.lookup(View::RockRidge, "/drop").is_err());
    let keep = r.lookup(View::RockRidge, "/keep.txt").unwrap();
    let px = keep.posix.as_ref().unwrap();
    assert_eq!((px.mode & 0o7777, px.uid, px.gid), (0o600, 1234, 5678));
    let link = r.lookup(View::RockRidge, "/link").unwrap();
    assert_eq!(
        link.posix.as_ref().unwrap().symlink.as_deref(),
        Some(&b"keep.txt"[..])
    );
    let blob = r.lookup(View::RockRidge, "/data/blob.bin").unwrap();
    let blob2 = r.lookup(View::RockRidge, "/data/blob-link.bin").unwrap();
    assert_eq!(blob.extents, blob2.extents);
    assert_eq!(blob.posix.as_ref().unwrap().nlink, 2);
    assert_eq!(r.read_file(&blob).unwrap(), content(4, 200_000));
    let big = r.lookup(View::Joliet, "/added/big.bin").unwrap();
    assert_eq!(r.read_file(&big).unwrap(), content(5, 2_500_000));
    // The blob was not written again.
    let f = fs::File::open(&path).unwrap();
    let mut r1 = ImageReader::open_session(std::io::BufReader::new(f), Some(1)).unwrap();
    let old_blob = r1.lookup(View::RockRidge, "/data/blob.bin").unwrap();
    assert_eq!(old_blob.extents, blob.extents);
    assert!(r1.lookup(View::RockRidge, "/drop/me.bin").is_ok());
}

#[test]
fn abort_during_append_leaves_the_base_unchanged() {
    let work = tmp("gm-ms-abort");
    let path = base_image(work.path());
    let before = fs::read(&path).unwrap();
    let base = BaseImage::open(&path).unwrap();
    let mut b = ImageBuilder::import(&base).unwrap();
    b.add_bytes("/huge.bin", content(9, 3_500_000)).unwrap();
    let append = b.build_append(&base).unwrap();
    for abort_at in [1, 3] {
        let mut rec = Recorder {
            abort_at: Some(abort_at),
            ..Default::default()
        };
        let err = append.write_in_place(&mut rec).unwrap_err();
        assert!(matches!(err, glassmaster::Error::Aborted), "{err}");
        assert_eq!(fs::read(&path).unwrap(), before, "abort at poll {abort_at}");
    }
    // The base is still a one-session image with its tree.
    let f = fs::File::open(&path).unwrap();
    let mut r = ImageReader::open(std::io::BufReader::new(f)).unwrap();
    assert!(r.lookup(View::Joliet, "/drop/me.bin").is_ok());
    assert!(r.lookup(View::Joliet, "/huge.bin").is_err());
    // A base that changed after the layout is refused, and left alone.
    fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all_at_end(b"x");
    let err = append.write_in_place(&mut NoProgress).unwrap_err();
    assert!(err.to_string().contains("changed"), "{err}");
}

trait WriteAtEnd {
    fn write_all_at_end(self, b: &[u8]);
}
impl WriteAtEnd for fs::File {
    fn write_all_at_end(mut self, b: &[u8]) {
        std::io::Write::write_all(&mut self, b).unwrap();
    }
}

#[test]
fn modify_into_a_new_image() {
    let work = tmp("gm-ms-mod");
    let path = base_image(work.path());
    let before = fs::read(&path).unwrap();
    let base = BaseImage::open(&path).unwrap();
    let mut b = ImageBuilder::import(&base).unwrap();
    b.add_bytes("/replace.txt", &b"modified\n"[..]).unwrap();
    b.remove("/keep.txt").unwrap();
    b.add_bytes("/more/new.txt", &b"new\n"[..]).unwrap();
    let out = work.path().join("new.iso");
    b.build(&mut glassmaster::NoProgress)
        .unwrap()
        .write_to_path(&out, &mut NoProgress)
        .unwrap();
    assert_eq!(fs::read(&path).unwrap(), before, "the base is not touched");
    let got = our_tree(&out, None);
    let want: BTreeMap<String, Option<Vec<u8>>> = [
        ("data", None),
        ("data/blob.bin", Some(content(4, 200_000))),
        ("data/blob-link.bin", Some(content(4, 200_000))),
        ("drop", None),
        ("drop/me.bin", Some(content(3, 5000))),
        ("more", None),
        ("more/new.txt", Some(b"new\n".to_vec())),
        ("replace.txt", Some(b"modified\n".to_vec())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    // The symlink points at the removed file: our reader reads no data for it.
    let mut got_files = got.clone();
    got_files.remove("link");
    assert_eq!(got_files, want);
    assert_eq!(
        glassmaster::read::sessions(&mut fs::File::open(&out).unwrap())
            .unwrap()
            .len(),
        1
    );
    if require_tool("xorriso") {
        let d = tmp("gm-ms-modx");
        run_clean(
            tool("xorriso")
                .args(["-osirrox", "on", "-indev"])
                .arg(&out)
                .args(["-extract", "/data/blob.bin"])
                .arg(d.path().join("blob.bin")),
        );
        assert_eq!(
            fs::read(d.path().join("blob.bin")).unwrap(),
            content(4, 200_000)
        );
    }
}

#[test]
fn import_any_session_and_from_udf() {
    let work = tmp("gm-ms-udf");
    // UDF only: imported through the UDF view; cannot be grown, but can be modified.
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::UDF);
    b.add_bytes("/u/one.txt", &b"one\n"[..]).unwrap();
    b.add_bytes("/two.bin", content(11, 70_000)).unwrap();
    let path = work.path().join("udf.iso");
    b.build(&mut glassmaster::NoProgress)
        .unwrap()
        .write_to_path(&path, &mut NoProgress)
        .unwrap();
    let base = BaseImage::open(&path).unwrap();
    let mut imported = ImageBuilder::import(&base).unwrap();
    assert_eq!(imported.options().filesystems, FileSystems::UDF);
    let err = imported.build_append(&base).unwrap_err();
    assert!(err.to_string().contains("UDF only"), "{err}");
    imported
        .filesystems(FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::UDF)
        .add_bytes("/u/three.txt", &b"three\n"[..])
        .unwrap();
    let out = work.path().join("udf-new.iso");
    imported
        .build(&mut glassmaster::NoProgress)
        .unwrap()
        .write_to_path(&out, &mut NoProgress)
        .unwrap();
    let f = fs::File::open(&out).unwrap();
    let mut r = ImageReader::open(std::io::BufReader::new(f)).unwrap();
    for view in [View::Udf, View::Joliet] {
        let e = r.lookup(view, "/two.bin").unwrap();
        assert_eq!(r.read_file(&e).unwrap(), content(11, 70_000));
        let e = r.lookup(view, "/u/one.txt").unwrap();
        assert_eq!(r.read_file(&e).unwrap(), b"one\n");
        assert!(r.lookup(view, "/u/three.txt").is_ok());
    }

    // A bridge base: the appended session has no UDF, and UDF readers (7-Zip) no longer show
    // the old UDF tree.
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::UDF);
    b.add_bytes("/old.txt", &b"old\n"[..]).unwrap();
    let path = work.path().join("bridge.iso");
    b.build(&mut glassmaster::NoProgress)
        .unwrap()
        .write_to_path(&path, &mut NoProgress)
        .unwrap();
    let base = BaseImage::open(&path).unwrap();
    let mut b = ImageBuilder::import(&base).unwrap();
    b.add_bytes("/new.txt", &b"new\n"[..]).unwrap();
    let append = b.build_append(&base).unwrap();
    assert!(append
        .image()
        .warnings()
        .iter()
        .any(|w| w.contains("UDF is not appended")));
    let before = fs::read(&path).unwrap();
    append.write_in_place(&mut NoProgress).unwrap();
    let after = fs::read(&path).unwrap();
    let ranges: BTreeSet<u64> = append
        .modified_blocks()
        .iter()
        .flat_map(|r| r.first_block..r.first_block + r.block_count)
        .collect();
    assert_eq!(differing_blocks(&before, &after), ranges);
    assert!(ranges.contains(&256), "the UDF anchor is cleared");
    if require_tool("7z") {
        let list = run_stdout(tool("7z").arg("l").arg(&path));
        assert!(list.contains("new.txt"), "{list}");
    }
    // Session 1 is still there, read through ISO 9660.
    assert_eq!(
        our_tree(&path, Some(1)).keys().collect::<Vec<_>>(),
        ["old.txt"]
    );
    // Import session 1 of a grown image: its own tree.
    let grown = BaseImage::open(&path).unwrap();
    assert_eq!(grown.sessions().len(), 2);
    let old = ImageBuilder::import_session(&grown, Some(1)).unwrap();
    let img = old.build(&mut glassmaster::NoProgress).unwrap();
    let mut r = ImageReader::open(img.stream()).unwrap();
    assert!(r.lookup(View::Joliet, "/old.txt").is_ok());
    assert!(r.lookup(View::Joliet, "/new.txt").is_err());
    let mut text = String::new();
    let e = r.lookup(View::Joliet, "/old.txt").unwrap();
    r.open_file(&e).unwrap().read_to_string(&mut text).unwrap();
    assert_eq!(text, "old\n");
}

#[test]
fn el_torito_boot_survives_an_append() {
    let work = tmp("gm-ms-boot");
    let mut b = ImageBuilder::new();
    b.add_bytes("/boot/loader.bin", content(21, 4096)).unwrap();
    b.add_boot_entry(glassmaster::BootImage::bios("/boot/loader.bin"));
    let path = work.path().join("boot.iso");
    b.build(&mut glassmaster::NoProgress)
        .unwrap()
        .write_to_path(&path, &mut NoProgress)
        .unwrap();
    let boot_before = {
        let mut r = ImageReader::open(fs::File::open(&path).unwrap()).unwrap();
        r.boot_images().unwrap()
    };
    assert_eq!(boot_before.len(), 1);
    let base = BaseImage::open(&path).unwrap();
    let mut b = ImageBuilder::import(&base).unwrap();
    b.add_bytes("/extra.txt", &b"extra\n"[..]).unwrap();
    b.build_append(&base)
        .unwrap()
        .write_in_place(&mut NoProgress)
        .unwrap();
    let mut r = ImageReader::open(fs::File::open(&path).unwrap()).unwrap();
    assert!(r.lookup(View::Joliet, "/extra.txt").is_ok());
    let boot_after = r.boot_images().unwrap();
    assert_eq!(boot_after.len(), 1);
    assert_eq!(boot_after[0].entry, boot_before[0].entry);
    if require_tool("xorriso") {
        let out = run_stdout(
            tool("xorriso")
                .arg("-indev")
                .arg(&path)
                .args(["-report_el_torito", "plain"]),
        );
        assert!(out.contains("El Torito boot img"), "{out}");
    }
    // A new session with its own entry on an imported file with a boot info table: that file
    // is written again (patched), the base's copy is left as it was.
    let base = BaseImage::open(&path).unwrap();
    let mut b = ImageBuilder::import(&base).unwrap();
    let mut entry = glassmaster::BootImage::bios("/boot/loader.bin");
    entry.boot_info_table = true;
    b.add_boot_entry(entry);
    b.build_append(&base)
        .unwrap()
        .write_in_place(&mut NoProgress)
        .unwrap();
    let mut r = ImageReader::open(fs::File::open(&path).unwrap()).unwrap();
    let boot = r.boot_images().unwrap();
    assert_eq!(boot.len(), 1);
    let sessions = glassmaster::read::sessions(&mut fs::File::open(&path).unwrap()).unwrap();
    assert_eq!(sessions.len(), 3);
    assert!(u64::from(boot[0].entry.load_rba) >= sessions[2].start_block);
    let e = r.lookup(View::Joliet, "/boot/loader.bin").unwrap();
    let patched = r.read_file(&e).unwrap();
    let want = content(21, 4096);
    assert_eq!(&patched[..8], &want[..8]);
    assert_eq!(u32::from_le_bytes(patched[8..12].try_into().unwrap()), 16);
    assert_eq!(
        u32::from_le_bytes(patched[12..16].try_into().unwrap()),
        boot[0].entry.load_rba
    );
    assert_eq!(&patched[64..], &want[64..]);
    // Session 1's loader is untouched.
    assert_eq!(our_tree(&path, Some(1))["boot/loader.bin"], Some(want));
}

#[test]
fn cli_refuses_bad_bases_and_options() {
    let work = tmp("gm-ms-cli");
    let src = work.path().join("src");
    put(&src, "f.txt", b"f\n", 1_000_000_000);
    let not_iso = work.path().join("not.iso");
    fs::write(&not_iso, vec![0u8; 100_000]).unwrap();
    let cases: Vec<(Vec<std::ffi::OsString>, &str)> = vec![
        (
            vec!["--append-to".into(), work.path().into()],
            "not a regular file",
        ),
        (
            vec!["--append-to".into(), not_iso.clone().into()],
            "volume descriptor",
        ),
        (
            vec!["--append-to".into(), work.path().join("missing.iso").into()],
            "missing.iso",
        ),
    ];
    for (extra, want) in cases {
        let out = glassmaster()
            .arg("build")
            .arg(&src)
            .args(&extra)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{extra:?}: {err}");
    }
    let iso = work.path().join("ok.iso");
    glassmaster_ok(&[
        "build".as_ref(),
        src.as_os_str(),
        "-o".as_ref(),
        iso.as_os_str(),
        "-q".as_ref(),
    ]);
    let before = fs::read(&iso).unwrap();
    for (extra, want) in [
        (vec!["--udf"], "UDF is not appended"),
        (vec!["--remove", "/nope"], "/nope"),
    ] {
        let out = glassmaster()
            .arg("build")
            .arg(&src)
            .arg("--append-to")
            .arg(&iso)
            .args(&extra)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{extra:?}: {err}");
    }
    assert_eq!(fs::read(&iso).unwrap(), before);
    // --remove without --append-to is a usage error.
    let out = glassmaster()
        .arg("build")
        .arg(&src)
        .args(["-o", "x.iso", "--remove", "/f.txt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A base grown by xorriso (two sessions, TOC emulation): its sessions are found, and a session
/// appended by glassmaster comes third.
#[test]
fn sessions_of_an_image_grown_by_xorriso() {
    if !require_tool("xorriso") {
        return;
    }
    let work = tmp("gm-ms-xo");
    let (s1, s2, s3) = (
        work.path().join("s1"),
        work.path().join("s2"),
        work.path().join("s3"),
    );
    put(&s1, "one.txt", b"1\n", 1_100_000_000);
    put(&s2, "two.txt", b"2\n", 1_100_000_100);
    put(&s3, "three.txt", b"3\n", 1_100_000_200);
    let iso = work.path().join("xo.iso");
    run(tool("xorriso")
        .arg("-outdev")
        .arg(&iso)
        .arg("-map")
        .arg(&s1)
        .args(["/", "-commit"]));
    run(tool("xorriso")
        .arg("-dev")
        .arg(&iso)
        .arg("-map")
        .arg(&s2)
        .args(["/", "-commit"]));
    let list = glassmaster::read::sessions(&mut fs::File::open(&iso).unwrap()).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].start_block, 32);
    glassmaster_ok(&[
        "build".as_ref(),
        s3.as_os_str(),
        "--append-to".as_ref(),
        iso.as_os_str(),
        "-q".as_ref(),
    ]);
    let list = glassmaster::read::sessions(&mut fs::File::open(&iso).unwrap()).unwrap();
    assert_eq!(list.len(), 3);
    let names = |n| our_tree(&iso, Some(n)).into_keys().collect::<Vec<_>>();
    assert_eq!(names(1), ["one.txt"]);
    assert_eq!(names(2), ["one.txt", "two.txt"]);
    assert_eq!(names(3), ["one.txt", "three.txt", "two.txt"]);
    let exp = work.path().join("exp");
    put(&exp, "one.txt", b"1\n", 1_100_000_000);
    put(&exp, "two.txt", b"2\n", 1_100_000_100);
    put(&exp, "three.txt", b"3\n", 1_100_000_200);
    // xorriso follows its own chain of session superblocks (each session's at its start + 16,
    // the next one at the end rounded up to 32 blocks) and notes that the chain stops before
    // our session, which starts after the end of the file (xorriso pads the file beyond its
    // last session); it still reads the newest tree from block 16.
    check_readers_tolerating(&iso, &exp, &["Chain of ISO session headers broken"]);
}
