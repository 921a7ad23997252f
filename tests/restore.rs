//! The library's restore (`ImageReader::restore`, issue 22 item 5): a tree with modes, times,
//! owners, symbolic links, hard links, special files and names that are not UTF-8 comes out of
//! an image of ours and one of xorriso's exactly as bsdtar (an independent reader) extracts
//! the same image; a hostile image's names (`..`, `/`, a directory behind a symbolic link of
//! the same name) never leave the destination; `query_abort` stops it promptly with a report;
//! an existing entry of the destination is refused (and left as it was) unless overwriting.
#![cfg(unix)]

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use common::{content, patch_all, require_tool, run, tool};
use glassmaster::read::restore::ConflictKind;
use glassmaster::read::{ImageReader, RestoreError, RestoreOptions, RestoreReport, View};
use glassmaster::{FileSystems, ImageBuilder, NoProgress, Phase, Progress, ProgressItem};
use sha2::Digest as _;

fn name(bytes: &[u8]) -> &OsStr {
    OsStr::from_bytes(bytes)
}

/// One entry as found on disk, links not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    /// 'd', 'f', 'l', 'p' (FIFO), 'c', 'b'.
    kind: char,
    /// Permission bits (not for links).
    mode: u32,
    uid: u32,
    gid: u32,
    /// Modification time in whole seconds (not for links: not every extractor sets them).
    mtime: Option<i64>,
    /// A file's length and hash of its bytes, or a link's target (escaped).
    data: String,
    /// (major, minor) of a device.
    rdev: Option<(u32, u32)>,
    /// For a file with several names: the first of them (by bytes).
    first_name: Option<Vec<u8>>,
}

/// Every entry below `root` (not `root` itself): exact path bytes -> what it is.
fn tree(root: &Path) -> BTreeMap<Vec<u8>, Node> {
    fn walk(
        root: &Path,
        dir: &Path,
        out: &mut BTreeMap<Vec<u8>, Node>,
        inodes: &mut BTreeMap<u64, Vec<u8>>,
    ) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .as_os_str()
                .as_bytes()
                .to_vec();
            let md = fs::symlink_metadata(&p).unwrap();
            let ft = md.file_type();
            use std::os::unix::fs::FileTypeExt;
            let kind = if ft.is_dir() {
                'd'
            } else if ft.is_symlink() {
                'l'
            } else if ft.is_file() {
                'f'
            } else if ft.is_fifo() {
                'p'
            } else if ft.is_char_device() {
                'c'
            } else {
                'b'
            };
            let data = match kind {
                'f' => {
                    use std::hash::{Hash, Hasher};
                    let bytes = fs::read(&p).unwrap();
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    bytes.hash(&mut h);
                    format!("{} bytes, hash {:x}", bytes.len(), h.finish())
                }
                'l' => fs::read_link(&p)
                    .unwrap()
                    .as_os_str()
                    .as_bytes()
                    .escape_ascii()
                    .to_string(),
                _ => String::new(),
            };
            if kind == 'f' && md.nlink() > 1 {
                let first = inodes.entry(md.ino()).or_insert_with(|| rel.clone());
                if rel < *first {
                    *first = rel.clone();
                }
            }
            out.insert(
                rel,
                Node {
                    kind,
                    mode: if kind == 'l' { 0 } else { md.mode() & 0o7777 },
                    uid: md.uid(),
                    gid: md.gid(),
                    mtime: (kind != 'l').then(|| md.mtime()),
                    data,
                    rdev: matches!(kind, 'c' | 'b').then(|| common::major_minor(md.rdev())),
                    first_name: (kind == 'f' && md.nlink() > 1)
                        .then(|| md.ino().to_le_bytes().to_vec()),
                },
            );
            if kind == 'd' {
                walk(root, &p, out, inodes);
            }
        }
    }
    let mut out = BTreeMap::new();
    let mut inodes = BTreeMap::new();
    walk(root, root, &mut out, &mut inodes);
    // Inode numbers differ between trees: name each group by its first name instead.
    for node in out.values_mut() {
        if let Some(ino) = node.first_name.take() {
            let ino = u64::from_le_bytes(ino.try_into().unwrap());
            node.first_name = inodes.get(&ino).cloned();
        }
    }
    out
}

/// Asserts two trees are the same, naming only the entries that differ.
fn assert_same(got: &BTreeMap<Vec<u8>, Node>, want: &BTreeMap<Vec<u8>, Node>, what: &str) {
    let mut problems = Vec::new();
    for (k, w) in want {
        match got.get(k) {
            Some(g) if g == w => {}
            g => problems.push(format!("{}: {g:?}, expected {w:?}", k.escape_ascii())),
        }
    }
    for k in got.keys().filter(|k| !want.contains_key(*k)) {
        problems.push(format!("{}: not expected", k.escape_ascii()));
    }
    assert!(problems.is_empty(), "{what}:\n{}", problems.join("\n"));
}

/// Sets the modification time without opening `p` (opening a FIFO would block).
fn set_mtime(p: &Path, secs: u64) {
    run(tool("touch")
        .arg("-h")
        .arg("-d")
        .arg(format!("@{secs}"))
        .arg(p));
}

/// True when this process may change owners and make device nodes (root).
fn privileged(dir: &Path) -> bool {
    let probe = dir.join("probe");
    fs::write(&probe, b"").unwrap();
    let ok = std::os::unix::fs::chown(&probe, Some(4321), Some(8765)).is_ok();
    fs::remove_file(&probe).unwrap();
    ok
}

/// The source tree: modes, times, symbolic links (one to a target that is not UTF-8, one
/// dangling), a file with two names, names that are not UTF-8, a FIFO, and (as root) other
/// owners and a character device.
fn source(root: &Path) -> PathBuf {
    let src = root.join("src");
    fs::create_dir_all(src.join("docs").join("deep")).unwrap();
    fs::create_dir(src.join(name(b"caf\xe9"))).unwrap();
    fs::write(src.join("docs").join("readme.txt"), b"read me\n").unwrap();
    fs::write(
        src.join("docs").join("deep").join("big.bin"),
        content(1, 300_000),
    )
    .unwrap();
    fs::write(
        src.join(name(b"caf\xe9")).join(name(b"x\xff")),
        content(2, 5000),
    )
    .unwrap();
    fs::write(src.join("run.sh"), b"#!/bin/sh\necho hi\n").unwrap();
    fs::write(src.join("secret"), b"private\n").unwrap();
    fs::write(src.join("linked"), content(3, 7000)).unwrap();
    fs::hard_link(src.join("linked"), src.join("docs").join("linked-too")).unwrap();
    symlink("docs/readme.txt", src.join("to-readme")).unwrap();
    symlink(name(b"caf\xe9/x\xff"), src.join("to-latin1")).unwrap();
    symlink("../../nowhere", src.join("dangling")).unwrap();
    run(tool("mkfifo").arg(src.join("pipe")));
    let mode = |p: &Path, m: u32| fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
    mode(&src.join("run.sh"), 0o755);
    mode(&src.join("secret"), 0o600);
    mode(&src.join("pipe"), 0o640);
    mode(&src.join("docs").join("deep"), 0o750);
    if privileged(root) {
        std::os::unix::fs::chown(src.join("secret"), Some(1234), Some(5678)).unwrap();
        std::os::unix::fs::lchown(src.join("to-readme"), Some(42), Some(43)).unwrap();
        run(tool("mknod")
            .arg(src.join("null-device"))
            .args(["c", "1", "3"]));
    }
    for (i, p) in [
        "run.sh",
        "secret",
        "linked",
        "docs/readme.txt",
        "docs/deep/big.bin",
        "pipe",
        "docs/deep",
        "docs",
    ]
    .iter()
    .enumerate()
    {
        set_mtime(&src.join(p), 1_000_000_000 + 86_400 * i as u64);
    }
    set_mtime(&src.join(name(b"caf\xe9")), 1_200_000_000);
    src
}

/// Our image (Rock Ridge, Joliet, UDF) and xorriso's (Rock Ridge with hard links, Joliet).
fn images(root: &Path, src: &Path) -> Vec<(&'static str, PathBuf)> {
    let ours = root.join("ours.iso");
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::ISO9660 | FileSystems::ROCK_RIDGE | FileSystems::JOLIET);
    b.add_tree("/", src, &mut NoProgress).unwrap();
    b.build_to_path(&ours, &mut NoProgress).unwrap();
    let mut out = vec![("ours", ours)];
    if require_tool("xorriso") {
        let theirs = root.join("xorriso.iso");
        run(tool("xorriso")
            .args([
                "-hardlinks",
                "on",
                "-as",
                "mkisofs",
                "-quiet",
                "-R",
                "-J",
                "-o",
            ])
            .arg(&theirs)
            .arg(src));
        out.push(("xorriso", theirs));
    }
    out
}

fn open(iso: &Path) -> ImageReader<fs::File> {
    ImageReader::open(fs::File::open(iso).unwrap()).unwrap()
}

fn restore(
    iso: &Path,
    dest: &Path,
    options: &RestoreOptions,
) -> Result<RestoreReport, RestoreError> {
    let mut r = open(iso);
    let view = r.default_view();
    r.restore(view, dest, options, &mut NoProgress)
}

/// What bsdtar (`-xpf`: modes, owners as root, times, links, special files) extracts.
fn bsdtar(iso: &Path, dest: &Path) {
    fs::create_dir_all(dest).unwrap();
    run(tool("bsdtar").arg("-xpf").arg(iso).arg("-C").arg(dest));
}

#[test]
fn restores_what_bsdtar_extracts_from_ours_and_xorrisos() {
    let tmp = tempfile::tempdir().unwrap();
    let src = source(tmp.path());
    let want_src = tree(&src);
    let privileged = privileged(tmp.path());
    let options = RestoreOptions::new().owners(true).special_files(true);
    for (who, iso) in images(tmp.path(), &src) {
        let dest = tmp.path().join(format!("restored-{who}"));
        let report = restore(&iso, &dest, &options).unwrap();
        let got = tree(&dest);
        assert_eq!(report.not_restored(), 0, "{who}: {report:?}");
        assert!(report.warnings.is_empty(), "{who}: {:?}", report.warnings);
        assert_eq!(report.symlinks, 3, "{who}");
        assert_eq!(report.hard_links, 1, "{who}: {report:?}");
        assert_eq!(report.special_files, 1 + u64::from(privileged), "{who}");
        assert_eq!(report.bytes, report.total_bytes, "{who}");
        // The source itself, for what every image records exactly.
        for (path, want) in &want_src {
            let got = got
                .get(path)
                .unwrap_or_else(|| panic!("{who}: {:?} missing", name(path)));
            assert_eq!(
                (got.kind, &got.data, &got.first_name),
                (want.kind, &want.data, &want.first_name),
                "{who}: {:?}",
                name(path)
            );
            if want.kind != 'l' {
                assert_eq!(got.mode, want.mode, "{who}: {:?}", name(path));
            }
            if want.kind == 'f' || want.kind == 'p' {
                assert_eq!(got.mtime, want.mtime, "{who}: {:?}", name(path));
            }
            if privileged {
                assert_eq!(
                    (got.uid, got.gid),
                    (want.uid, want.gid),
                    "{who}: {:?}",
                    name(path)
                );
            }
            assert_eq!(got.rdev, want.rdev, "{who}: {:?}", name(path));
        }
        assert_eq!(got.len(), want_src.len(), "{who}");
        // bsdtar's extraction of the same image: the same tree, attribute for attribute.
        if require_tool("bsdtar") {
            let by_bsdtar = tmp.path().join(format!("bsdtar-{who}"));
            bsdtar(&iso, &by_bsdtar);
            assert_same(
                &got,
                &tree(&by_bsdtar),
                &format!("{who}: restore vs bsdtar -xpf"),
            );
        }
    }
}

#[test]
fn ours_udf_view_restores_the_same_tree() {
    // The UDF view carries modes, times, links and hard links too (ECMA-167 4/14.9).
    let tmp = tempfile::tempdir().unwrap();
    let src = source(tmp.path());
    let iso = tmp.path().join("udf.iso");
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::ISO9660 | FileSystems::ROCK_RIDGE | FileSystems::UDF);
    b.add_tree("/", &src, &mut NoProgress).unwrap();
    b.build_to_path(&iso, &mut NoProgress).unwrap();
    let mut r = open(&iso);
    let rr = tmp.path().join("rr");
    let udf = tmp.path().join("udf");
    let options = RestoreOptions::new().special_files(true);
    r.restore(View::RockRidge, &rr, &options, &mut NoProgress)
        .unwrap();
    let report = r
        .restore(View::Udf, &udf, &options, &mut NoProgress)
        .unwrap();
    assert_eq!(report.not_restored(), 0, "{report:?}");
    // UDF records Unicode names (OSTA UDF 2.1.1): the Rock Ridge view's Latin-1 bytes are
    // UDF's `é` and `ÿ` (how the builder maps names that are not UTF-8).
    let latin1 = |k: &[u8]| -> Vec<u8> {
        k.iter()
            .map(|&b| b as char)
            .collect::<String>()
            .into_bytes()
    };
    let mut want = tree(&rr);
    for k in [&b"caf\xe9"[..], b"caf\xe9/x\xff"] {
        let node = want.remove(k).unwrap();
        want.insert(latin1(k), node);
    }
    want.get_mut(&b"to-latin1"[..]).unwrap().data = "caf\\xc3\\xa9/x\\xc3\\xbf".into();
    assert_same(&tree(&udf), &want, "UDF view vs Rock Ridge view");
    // An independent UDF reader (pycdlib) reads the same bytes for every regular file.
    if common::require_pycdlib() {
        let script = r#"
import hashlib, io, sys, pycdlib
iso = pycdlib.PyCdlib()
iso.open(sys.argv[1])
for dirname, dirs, files in iso.walk(udf_path='/'):
    for f in files:
        p = dirname.rstrip('/') + '/' + f
        if iso.get_record(udf_path=p).is_file():
            b = io.BytesIO()
            iso.get_file_from_iso_fp(b, udf_path=p)
            print(p[1:] + '\t' + hashlib.sha256(b.getvalue()).hexdigest())
"#;
        let listing = common::run_stdout(tool("python3").arg("-c").arg(script).arg(&iso));
        let mut seen = 0;
        for line in listing.lines() {
            let (path, digest) = line.split_once('\t').unwrap();
            let ours = fs::read(udf.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
            let ours: String = sha2::Sha256::digest(&ours)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(ours, digest, "{path}");
            seen += 1;
        }
        // Every regular file name of the source (the hard link's two names included).
        assert_eq!(seen, 7, "{listing}");
    }
}

/// Replaces the Rock Ridge name `from` (an `NM` entry, RRIP 4.1.4) with `to` (as long).
fn patch_nm(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let head = [b'N', b'M', 5 + from.len() as u8, 1, 0];
    let entry = |n: &[u8]| [&head[..], n].concat();
    assert_eq!(
        patch_all(bytes, &entry(from), &entry(to)),
        1,
        "{:?}",
        name(from)
    );
}

#[test]
fn hostile_names_never_leave_the_destination() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    // `dd` becomes `..`, `_etc_passwd` becomes `/etc/passwd`, `esd` (a directory) becomes
    // `esc`, the name of a symbolic link to a directory outside: a restore that followed it
    // would write `esc/pwned` outside.
    fs::create_dir_all(src.join("esd")).unwrap();
    fs::create_dir_all(src.join("dd")).unwrap();
    fs::write(src.join("dd").join("escaped"), b"up one\n").unwrap();
    fs::write(src.join("_etc_passwd"), b"root::0:0\n").unwrap();
    fs::write(src.join("esd").join("pwned"), b"pwned\n").unwrap();
    fs::write(src.join("fine.txt"), b"fine\n").unwrap();
    let outside = tmp.path().join("outside");
    fs::create_dir(&outside).unwrap();
    symlink("../../outside", src.join("esc")).unwrap();
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::ISO9660 | FileSystems::ROCK_RIDGE);
    b.add_tree("/", &src, &mut NoProgress).unwrap();
    let mut bytes = Vec::new();
    b.build(&mut NoProgress)
        .unwrap()
        .write_to(&mut bytes, &mut NoProgress)
        .unwrap();
    patch_nm(&mut bytes, b"dd", b"..");
    patch_nm(&mut bytes, b"_etc_passwd", b"/etc/passwd");
    patch_nm(&mut bytes, b"esd", b"esc");
    let iso = tmp.path().join("hostile.iso");
    fs::write(&iso, &bytes).unwrap();

    let work = tmp.path().join("work");
    let dest = work.join("dest");
    fs::create_dir_all(&dest).unwrap();
    let report = restore(&iso, &dest, &RestoreOptions::new()).unwrap();
    let skipped = report.skipped.join("\n");
    assert!(skipped.contains("/..: name is '.' or '..'"), "{skipped}");
    assert!(
        skipped.contains("/etc/passwd: name contains '/'"),
        "{skipped}"
    );
    assert!(skipped.contains("has the same name"), "{skipped}");
    assert_eq!(report.not_restored(), 3, "{report:?}");
    // Nothing outside the destination: the link is made (as a link), never followed.
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
    assert_eq!(
        fs::read_dir(&work)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect::<Vec<_>>(),
        vec![std::ffi::OsString::from("dest")]
    );
    let got = tree(&dest);
    let names: Vec<&[u8]> = got.keys().map(|k| k.as_slice()).collect();
    assert_eq!(names, vec![&b"esc"[..], b"fine.txt"], "{got:?}");
    assert_eq!(
        fs::read_link(dest.join("esc")).unwrap(),
        Path::new("../../outside")
    );

    // bsdtar extracts at least what the restore made, identically (it refuses `..` too), but
    // for `esc`, which the image names twice: bsdtar keeps the second (the directory, in
    // place of the link), the restore the first; neither writes outside.
    if require_tool("bsdtar") {
        let by_bsdtar = work.join("bsdtar");
        fs::create_dir_all(&by_bsdtar).unwrap();
        let _ = tool("bsdtar")
            .arg("-xpf")
            .arg(&iso)
            .arg("-C")
            .arg(&by_bsdtar)
            .output();
        let theirs = tree(&by_bsdtar);
        for (path, node) in got.iter().filter(|(p, _)| p.as_slice() != b"esc") {
            assert_eq!(theirs.get(path), Some(node), "{:?}", name(path));
        }
        assert_eq!(
            fs::read_dir(&outside).unwrap().count(),
            0,
            "bsdtar followed the link"
        );
    }
}

/// Stops the restore once `after` bytes were reported written; records what it saw.
struct StopAfter {
    after: u64,
    items: Vec<String>,
    updates: Vec<u64>,
    phases: Vec<Phase>,
    polls_after_stop: u32,
    stopped: bool,
}

impl Progress for StopAfter {
    fn begin(&mut self, phase: Phase, _total: u64) {
        self.phases.push(phase);
    }
    fn item_started(&mut self, item: &ProgressItem) {
        self.items.push(item.description.clone());
    }
    fn update(&mut self, done: u64, _total: u64) {
        self.updates.push(done);
    }
    fn query_abort(&mut self) -> bool {
        if self.stopped {
            self.polls_after_stop += 1;
        }
        self.stopped = self.updates.last().is_some_and(|&d| d >= self.after);
        self.stopped
    }
}

#[test]
fn query_abort_stops_promptly_and_reports_what_was_done() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    for i in 0..6u64 {
        fs::write(src.join(format!("f{i}.bin")), content(i, 3 << 20)).unwrap();
    }
    let iso = tmp.path().join("big.iso");
    let mut b = ImageBuilder::new();
    b.add_tree("/", &src, &mut NoProgress).unwrap();
    b.build_to_path(&iso, &mut NoProgress).unwrap();

    let dest = tmp.path().join("dest");
    let mut stop = StopAfter {
        after: 7 << 20,
        items: Vec::new(),
        updates: Vec::new(),
        phases: Vec::new(),
        polls_after_stop: 0,
        stopped: false,
    };
    let mut r = open(&iso);
    let view = r.default_view();
    let e = r
        .restore(view, &dest, &RestoreOptions::new(), &mut stop)
        .unwrap_err();
    let RestoreError::Aborted { report } = e else {
        panic!("not aborted: {e}");
    };
    assert_eq!(stop.phases, vec![Phase::Scan, Phase::Restore]);
    // Stopped within a MiB of the request, in the third file.
    assert_eq!(report.files, 2, "{report:?}");
    assert!(
        report.bytes >= 7 << 20 && report.bytes <= 8 << 20,
        "{report:?}"
    );
    assert_eq!(stop.items.len(), 3, "{:?}", stop.items);
    assert_eq!(stop.polls_after_stop, 0);
    assert!(stop
        .updates
        .windows(2)
        .all(|w| w[1] - w[0] <= (1 << 20) + (256 << 10)));
    // The two files restored are whole; the third, partly written, was removed.
    let mut names: Vec<String> = fs::read_dir(&dest)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    for n in &names {
        assert_eq!(
            fs::read(dest.join(n)).unwrap(),
            fs::read(src.join(n)).unwrap(),
            "{n}"
        );
    }
}

#[test]
fn an_existing_entry_is_refused_and_kept_unless_overwriting() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("a"), b"from the image\n").unwrap();
    fs::write(src.join("d").join("x"), b"x\n").unwrap();
    for (who, iso) in images(tmp.path(), &src) {
        let dest = tmp.path().join(format!("dest-{who}"));
        fs::create_dir_all(dest.join("d")).unwrap();
        fs::write(dest.join("a"), b"mine\n").unwrap();
        fs::write(dest.join("d").join("mine"), b"mine too\n").unwrap();
        let outside = tmp.path().join(format!("outside-{who}"));
        fs::write(&outside, b"outside\n").unwrap();
        symlink(&outside, dest.join("d").join("x")).unwrap();
        let before = tree(&dest);

        let e = restore(&iso, &dest, &RestoreOptions::new()).unwrap_err();
        let RestoreError::InTheWay {
            conflicts, count, ..
        } = &e
        else {
            panic!("{who}: {e}");
        };
        assert_eq!(*count, 2, "{who}: {e}");
        let mut named: Vec<(PathBuf, &str, ConflictKind)> = conflicts
            .iter()
            .map(|c| (c.path.clone(), c.found, c.kind))
            .collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            named,
            vec![
                (dest.join("a"), "a file", ConflictKind::Exists),
                (
                    dest.join("d").join("x"),
                    "a symbolic link",
                    ConflictKind::Exists
                ),
            ],
            "{who}"
        );
        assert!(e.to_string().contains("nothing was restored"), "{e}");
        assert_eq!(tree(&dest), before, "{who}: the destination changed");

        let report = restore(&iso, &dest, &RestoreOptions::new().overwrite(true)).unwrap();
        assert_eq!(report.files, 2, "{who}");
        assert_eq!(fs::read(dest.join("a")).unwrap(), b"from the image\n");
        assert!(fs::symlink_metadata(dest.join("d").join("x"))
            .unwrap()
            .is_file());
        assert_eq!(fs::read(dest.join("d").join("x")).unwrap(), b"x\n");
        assert_eq!(
            fs::read(dest.join("d").join("mine")).unwrap(),
            b"mine too\n"
        );
        assert_eq!(
            fs::read(&outside).unwrap(),
            b"outside\n",
            "{who}: followed the link"
        );
        // A directory where the image has a file stays an error, even overwriting.
        fs::remove_file(dest.join("a")).unwrap();
        fs::create_dir(dest.join("a")).unwrap();
        let e = restore(&iso, &dest, &RestoreOptions::new().overwrite(true)).unwrap_err();
        assert!(
            matches!(&e, RestoreError::InTheWay { conflicts, .. } if conflicts[0].kind == ConflictKind::DirectoryInTheWay),
            "{who}: {e}"
        );
    }
}

#[test]
fn subtree_filter_and_attribute_options() {
    let tmp = tempfile::tempdir().unwrap();
    let src = source(tmp.path());
    let (_, iso) = images(tmp.path(), &src).swap_remove(0);

    // A subtree: its contents go into the destination.
    let dest = tmp.path().join("docs");
    let report = restore(&iso, &dest, &RestoreOptions::new().subtree("/docs")).unwrap();
    let got = tree(&dest);
    let names: Vec<String> = got
        .keys()
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect();
    assert_eq!(
        names,
        ["deep", "deep/big.bin", "linked-too", "readme.txt"],
        "{report:?}"
    );
    assert_eq!(fs::read(dest.join("readme.txt")).unwrap(), b"read me\n");
    // One file.
    let one = tmp.path().join("one");
    restore(
        &iso,
        &one,
        &RestoreOptions::new().subtree("/docs/readme.txt"),
    )
    .unwrap();
    assert_eq!(fs::read(one.join("readme.txt")).unwrap(), b"read me\n");
    // A subtree that is not there names it.
    let e = restore(
        &iso,
        &tmp.path().join("none"),
        &RestoreOptions::new().subtree("/nope"),
    )
    .unwrap_err();
    assert!(
        matches!(e, RestoreError::Subtree { ref image_path, .. } if image_path == "/nope"),
        "{e}"
    );

    // A filter, no links, no hard links, no modes, no times; special files named.
    let dest = tmp.path().join("plain");
    let options = RestoreOptions::new()
        .filter(|path, _| !path.starts_with("/docs/deep"))
        .symlinks(false)
        .hard_links(false)
        .modes(false)
        .times(false);
    let report = restore(&iso, &dest, &options).unwrap();
    let got = tree(&dest);
    assert!(got.keys().all(|k| !k.starts_with(b"docs/deep")), "{got:?}");
    assert!(got.contains_key(&b"docs"[..]));
    assert!(
        got.values().all(|n| n.kind == 'f' || n.kind == 'd'),
        "{got:?}"
    );
    assert!(got.values().all(|n| n.first_name.is_none()), "{got:?}");
    assert_eq!(
        (report.symlinks, report.hard_links, report.special_files),
        (0, 0, 0)
    );
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.starts_with("/pipe: fifo not created")),
        "{:?}",
        report.warnings
    );
    let secret = &got[&b"secret"[..]];
    assert_ne!(secret.mode, 0o600, "modes(false) kept the mode");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        secret.mtime.unwrap() > now - 3600,
        "times(false) set the time"
    );
}

#[test]
fn errors_name_the_path_and_keep_the_cause() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("a"), b"a").unwrap();
    let (_, iso) = images(tmp.path(), &src).swap_remove(0);
    // The destination's parent is a file: creating it fails with NotADirectory.
    let blocker = tmp.path().join("blocker");
    fs::write(&blocker, b"").unwrap();
    let dest = blocker.join("dest");
    let e = restore(&iso, &dest, &RestoreOptions::new()).unwrap_err();
    match &e {
        RestoreError::Io { path, source, .. } => {
            assert!(path.starts_with(&dest), "{e}");
            assert_eq!(source.kind(), std::io::ErrorKind::NotADirectory, "{e}");
        }
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains(&dest.display().to_string()), "{e}");
}

/// `extract --special-files --owners` passes the options to the library: the FIFO is made
/// (and compared with bsdtar's), without the flag it is named in a warning.
#[cfg(feature = "cli")]
#[test]
fn cli_extract_special_files_and_owners() {
    let tmp = tempfile::tempdir().unwrap();
    let src = source(tmp.path());
    let (_, iso) = images(tmp.path(), &src).swap_remove(0);
    let extract = |dest: &Path, extra: &[&str]| {
        common::glassmaster()
            .arg("extract")
            .args(extra)
            .arg(&iso)
            .arg(dest)
            .output()
            .unwrap()
    };
    let plain = tmp.path().join("plain");
    let o = extract(&plain, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("warning: /pipe: fifo not created"), "{err}");
    assert!(!plain.join("pipe").exists());
    let full = tmp.path().join("full");
    let o = extract(&full, &["-q", "--special-files", "--owners"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let got = tree(&full);
    assert_eq!(got[&b"pipe"[..]].kind, 'p');
    assert_eq!(got[&b"pipe"[..]].mode, 0o640);
    if require_tool("bsdtar") {
        let by_bsdtar = tmp.path().join("bsdtar");
        bsdtar(&iso, &by_bsdtar);
        assert_same(
            &got,
            &tree(&by_bsdtar),
            "extract --special-files --owners vs bsdtar -xpf",
        );
    }
}
