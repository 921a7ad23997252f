//! Shared helpers for the integration tests: deterministic source trees, external tools, tree
//! comparison, and a small ISO 9660 / Joliet walker used until `glassmaster::read` is merged.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tempfile::TempDir;

pub mod isoimg;

// ------------------------------------------------------------------------------------------------
// Determinism

/// splitmix64: tiny, fast, good enough for test data.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// `len` bytes determined by `seed`.
pub fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut r = Rng::new(seed);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&r.next_u64().to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A cheap byte pattern for files of several GiB that are never held in memory: byte `i` is
/// `k ^ (k >> 8) * mul ^ xor` with `k = i % period`. A period that is not a multiple of 2048
/// makes a misplaced extent show.
#[derive(Clone, Copy, Debug)]
pub struct Pattern {
    pub period: u64,
    pub mul: u8,
    pub xor: u8,
}

/// How much a [`PatternReader`] copies at most per `read` (its table holds one period more).
const PATTERN_CHUNK: usize = 1 << 20;

impl Pattern {
    /// Byte `i` of the pattern.
    pub fn byte(&self, i: u64) -> u8 {
        let k = i % self.period;
        (k as u8) ^ ((k >> 8) as u8).wrapping_mul(self.mul) ^ self.xor
    }

    /// An opener for [`ImageBuilder::add_reader`](glassmaster::ImageBuilder::add_reader):
    /// each call yields the first `len` bytes of the pattern, at memcpy speed.
    pub fn opener(
        self,
        len: u64,
    ) -> impl Fn() -> std::io::Result<Box<dyn Read + Send>> + Send + Sync + 'static {
        let table: std::sync::Arc<Vec<u8>> = std::sync::Arc::new(
            (0..self.period + PATTERN_CHUNK as u64)
                .map(|i| self.byte(i))
                .collect(),
        );
        move || {
            Ok(Box::new(PatternReader {
                table: table.clone(),
                period: self.period,
                pos: 0,
                len,
            }) as Box<dyn Read + Send>)
        }
    }
}

/// The first `len` bytes of a [`Pattern`], from a table of one period plus one chunk.
pub struct PatternReader {
    table: std::sync::Arc<Vec<u8>>,
    period: u64,
    pos: u64,
    len: u64,
}

impl Read for PatternReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (buf.len() as u64)
            .min(self.len - self.pos)
            .min(PATTERN_CHUNK as u64) as usize;
        let k = (self.pos % self.period) as usize;
        buf[..n].copy_from_slice(&self.table[k..k + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

/// Proptest case count: `PROPTEST_CASES` from the environment if set, else `default` (explicit
/// configs otherwise ignore the variable). Use a large value for a long bug hunt.
pub fn proptest_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ------------------------------------------------------------------------------------------------
// On-disk numbers (for hand-built structures)

/// ECMA-119 7.2.3: 16-bit both-byte order (little-endian, then big-endian).
pub fn both16(v: u16) -> [u8; 4] {
    let (l, b) = (v.to_le_bytes(), v.to_be_bytes());
    [l[0], l[1], b[0], b[1]]
}

/// ECMA-119 7.3.3: 32-bit both-byte order (little-endian, then big-endian).
pub fn both32(v: u32) -> [u8; 8] {
    let (l, b) = (v.to_le_bytes(), v.to_be_bytes());
    [l[0], l[1], l[2], l[3], b[0], b[1], b[2], b[3]]
}

// ------------------------------------------------------------------------------------------------
// Source trees on disk

/// One entry of a source tree; paths are relative, `/`-separated.
#[derive(Clone, Debug)]
pub enum Spec {
    Dir(String),
    File(String, Vec<u8>),
}

/// A generated source tree in a temporary directory.
pub struct SourceTree {
    pub dir: TempDir,
    pub entries: Vec<Spec>,
}

/// The whole-second modification time given to the `i`-th file of a generated tree.
pub fn file_mtime(i: usize) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_000_000_000 + 86_400 * 37 * i as u64 + 3_607 * i as u64)
}

impl SourceTree {
    /// Writes `entries` (parents created as needed); the i-th file gets [`file_mtime`]`(i)`.
    pub fn create(entries: Vec<Spec>) -> SourceTree {
        let dir = tempfile::Builder::new()
            .prefix("gm-src")
            .tempdir()
            .expect("tempdir");
        let mut nfile = 0;
        for e in &entries {
            match e {
                Spec::Dir(p) => fs::create_dir_all(dir.path().join(p)).expect("mkdir"),
                Spec::File(p, data) => {
                    let path = dir.path().join(p);
                    fs::create_dir_all(path.parent().unwrap()).expect("mkdir parent");
                    fs::write(&path, data).expect("write source file");
                    let f = fs::File::options().write(true).open(&path).unwrap();
                    f.set_modified(file_mtime(nfile)).expect("set mtime");
                    nfile += 1;
                }
            }
        }
        SourceTree { dir, entries }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn files(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.entries.iter().filter_map(|e| match e {
            Spec::File(p, d) => Some((p.as_str(), d.as_slice())),
            Spec::Dir(_) => None,
        })
    }
}

/// The tree used by the interop tests: nested and empty directories, empty files, sizes around
/// block boundaries, Unicode names (Basic Multilingual Plane only), names that collide after ISO 9660 mangling,
/// names longer than 30 characters, a directory spanning several sectors and enough directories
/// for a path table of more than one sector. Every name fits Joliet's 64 characters unless
/// `over_64` adds names of 80-100 characters.
pub fn interop_entries(seed: u64, over_64: bool) -> Vec<Spec> {
    let mut r = Rng::new(seed);
    let mut n = 0u64;
    let mut f = |path: &str, len: usize| {
        n += 1;
        Spec::File(
            path.to_string(),
            content(seed.wrapping_mul(1000).wrapping_add(n), len),
        )
    };
    let mut v = vec![
        f("README.txt", 1234),
        f("empty.bin", 0),
        f("one_block.bin", 2048),
        f("two_blocks.bin", 4096),
        f("block_plus_one.bin", 2049),
        f("block_minus_one.bin", 2047),
        f("medium.dat", 200_000 + (seed % 1000) as usize),
        f("a/b/c/d/e/f/g/deep.txt", 77),
        f("a/b/c/d/e/f/g/empty_in_deep", 0),
        Spec::Dir("empty_dir".into()),
        Spec::Dir("nested/empty_inner".into()),
        f("nested/sibling.txt", 5),
        f("ünïcödé/Ωμέγα.txt", 300),
        f("日本語/ファイル名.txt", 4096),
        f("ⅻ ∑ ✓ smile.txt", 10),
        f("spaces and, punctuation (1) [x] {y} & 'q'.txt", 11),
        f("collide/a.txt", 1),
        f("collide/A.TXT", 2),
        f("collide/a-txt", 3),
        f("collide/a_txt", 4),
        f("collide/longfilename1.txt", 5),
        f("collide/longfilename2.txt", 6),
        f("collide/LongFileName3.TXT", 7),
        f("collide/x.tar.gz", 8),
        f("collide/x_tar.gz", 9),
        f("collide/DUP", 10),
        f("collide/dup/inside.txt", 11),
        f("collide/.hidden", 12),
        f("collide/_hidden", 13),
        f("collide/name.with.many.dots.txt", 14),
        f(
            "thirty/this_is_a_rather_long_file_name_for_iso_level_2.txt",
            44,
        ),
        f(
            "thirty/this_is_a_rather_long_file_name_for_iso_level_2.dat",
            45,
        ),
        f(
            &format!("thirty/{}", "directory_name_longer_than_31_chars_x/file"),
            46,
        ),
        f(
            &format!("thirty/{}", "directory_name_longer_than_31_chars_y/file"),
            47,
        ),
    ];
    // A directory of more than one sector.
    for i in 0..120 {
        let len = r.below(3000) as usize;
        v.push(f(
            &format!("many/file_{i:03}_{}.txt", "q".repeat(i % 17)),
            len,
        ));
    }
    // More than one sector of path table.
    for i in 0..150 {
        if i % 3 == 0 {
            v.push(Spec::Dir(format!("dirs/directory_{i:03}")));
        } else {
            v.push(f(&format!("dirs/directory_{i:03}/f"), i));
        }
    }
    if over_64 {
        v.push(f(&format!("long/{}.txt", "L".repeat(80)), 80));
        v.push(f(&format!("long/{}1.txt", "n".repeat(95)), 95));
        v.push(f(&format!("long/{}2.txt", "n".repeat(95)), 96));
        v.push(f(&format!("long/{}/inside", "d".repeat(90)), 97));
    }
    v
}

// ------------------------------------------------------------------------------------------------
// External tools

/// Whether the tests run in CI (`CI=true`, as `.ci/run` sets it): there every reader must be
/// installed, and a missing one fails the test instead of skipping it.
pub fn in_ci() -> bool {
    std::env::var("CI").map(|v| v == "true").unwrap_or(false)
}

/// The one "probe, skip unless CI" policy: `what` (a tool, a package, a file) is missing, so the
/// check that needs it is skipped with a note naming `how` to get it, except in CI, where it
/// panics. Always returns false, so callers write `return missing(...)` or `if !ok { missing(...) }`.
pub fn missing(what: &str, how: &str) -> bool {
    if in_ci() {
        panic!("{what} is not installed: interop tools must run in CI ({how})");
    }
    eprintln!("note: {what} not found; skipping this interop check ({how})");
    false
}

/// The path of the executable `name`: on `PATH`, or in the sbin directories (mkudffs, sgdisk
/// live in /usr/sbin, which is not on every user's `PATH`).
pub fn tool_path(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from));
    dirs.into_iter().map(|d| d.join(name)).find(|p| {
        fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    })
}

/// True if `name` is an executable on `PATH`.
pub fn tool_available(name: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|d| {
        let p = d.join(name);
        fs::metadata(&p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    })
}

/// Whether a test needing `name` can run. Missing tools skip the test with a note, except in CI
/// (`CI=true`), where they must be installed (see [`missing`]).
pub fn require_tool(name: &str) -> bool {
    tool_available(name) || missing(name, "run .ci/run to install it")
}

/// [`require_tool`] for a tool that may live outside `PATH` in an sbin directory
/// ([`tool_path`]): its path, or None (skipped with a note; a panic in CI).
pub fn require_tool_path(name: &str) -> Option<PathBuf> {
    let found = tool_path(name);
    if found.is_none() {
        missing(name, "run .ci/run to install it");
    }
    found
}

/// Whether the Python package pycdlib is importable, as [`require_tool`] for a program: in CI it
/// must be (`.ci/run` installs it), elsewhere its absence skips the check with a note.
pub fn require_pycdlib() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import pycdlib"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok || missing(
        "pycdlib",
        "python3 -m pip install pycdlib; .ci/run installs it",
    )
}

/// All of `names` are available (each missing one noted), see [`require_tool`].
pub fn require_tools(names: &[&str]) -> bool {
    // Check every tool (no short-circuit), so each missing one is noted.
    let missing = names.iter().filter(|n| !require_tool(n)).count();
    missing == 0
}

/// Free bytes on the file system holding `dir` (from `df`), if it can be found out.
pub fn free_bytes(dir: &Path) -> Option<u64> {
    let out = Command::new("df").args(["-Pk"]).arg(dir).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let kib: u64 = text
        .lines()
        .nth(1)?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Whether `bytes` fit in the temporary directory: skips with a note when they do not, except
/// in CI (`CI=true`), where it panics.
pub fn require_temp_space(bytes: u64) -> bool {
    let tmp = std::env::temp_dir();
    match free_bytes(&tmp) {
        Some(free) if free < bytes => {
            let msg = format!(
                "{} has {free} bytes free, this test needs {bytes}; set TMPDIR to a larger disk",
                tmp.display()
            );
            if in_ci() {
                panic!("{msg}");
            }
            eprintln!("note: {msg}; skipping");
            false
        }
        _ => true,
    }
}

/// The glassmaster CLI built for these tests, without `SOURCE_DATE_EPOCH` from the environment
/// (tests that want reproducible times set it themselves).
pub fn glassmaster() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_glassmaster"));
    cmd.env_remove("SOURCE_DATE_EPOCH");
    cmd
}

/// A command with a UTF-8 locale, so tools print and create non-ASCII names faithfully.
pub fn tool(name: &str) -> Command {
    let mut c = Command::new(name);
    c.env("LC_ALL", "C.UTF-8").env("LANG", "C.UTF-8");
    c
}

/// Runs `cmd`; panics with its command line, status, stdout and stderr unless it exits 0.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "command failed ({}): {cmd:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// Runs `cmd` like [`run`], and also fails if the tool complained on stderr: any stderr output at
/// all, except for xorriso, whose messages below WARNING severity (NOTE, UPDATE, HINT, the
/// banner and drive summary) are normal.
pub fn run_clean(cmd: &mut Command) -> Output {
    run_tolerating(cmd, &[])
}

/// [`run_clean`], but complaints containing one of `tolerated` (known, documented reader
/// limitations) are accepted.
pub fn run_tolerating(cmd: &mut Command, tolerated: &[&str]) -> Output {
    let out = run(cmd);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let xorriso = cmd.get_program() == "xorriso";
    let complaints: Vec<&str> = stderr
        .lines()
        .filter(|l| {
            if xorriso {
                ["WARNING", "SORRY", "FAILURE", "FATAL", "MISHAP", "ABORT"]
                    .iter()
                    .any(|k| l.contains(&format!("{k} :")))
            } else {
                !l.trim().is_empty()
            }
        })
        .filter(|l| !tolerated.iter().any(|t| l.contains(t)))
        .collect();
    assert!(
        complaints.is_empty(),
        "{cmd:?} complained on stderr:\n{}",
        complaints.join("\n")
    );
    out
}

/// [`run_clean`], returning stdout as text.
pub fn run_clean_stdout(cmd: &mut Command) -> String {
    String::from_utf8_lossy(&run_clean(cmd).stdout).into_owned()
}

/// Runs `cmd` (must exit 0) and returns stdout as text.
pub fn run_stdout(cmd: &mut Command) -> String {
    String::from_utf8_lossy(&run(cmd).stdout).into_owned()
}

/// What `xorriso -indev ISO` prints for `report` (for example `["-report_el_torito", "plain"]`,
/// or that and `-report_system_area plain`): its standard output; xorriso must exit 0.
pub fn xorriso_report(iso: &Path, report: &[&str]) -> String {
    run_stdout(tool("xorriso").arg("-indev").arg(iso).args(report))
}

/// Gives the owner write access to everything under `dir` (extractors create read-only files
/// and directories, which a non-root user could not delete).
pub fn make_writable(dir: &Path) {
    let Ok(md) = fs::symlink_metadata(dir) else {
        return;
    };
    if md.is_dir() {
        let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o755));
        if let Ok(rd) = fs::read_dir(dir) {
            for e in rd.flatten() {
                make_writable(&e.path());
            }
        }
    } else if md.is_file() {
        let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o644));
    }
}

// ------------------------------------------------------------------------------------------------
// Damaging images on purpose

/// Replaces the first occurrence of `from` in `bytes` by `to` (same length); panics if there is
/// none. Returns its offset.
pub fn patch_first(bytes: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len(), "a patch keeps the length");
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .unwrap_or_else(|| {
            panic!(
                "pattern {:?} not in the image",
                String::from_utf8_lossy(from)
            )
        });
    bytes[at..at + to.len()].copy_from_slice(to);
    at
}

/// [`patch_first`] on the image file at `path`.
pub fn patch_file(path: &Path, from: &[u8], to: &[u8]) -> usize {
    let mut bytes = fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let at = patch_first(&mut bytes, from, to);
    fs::write(path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    at
}

/// Replaces every (non-overlapping) occurrence of `from` by `to` (same length) in `bytes`;
/// returns how many.
pub fn patch_all(bytes: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len(), "a patch keeps the length");
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            n += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    n
}

/// Flips the bits of byte `off` of block `lba` of the image file at `path` (so that the CRC or
/// checksum of a descriptor there fails).
pub fn flip_byte(path: &Path, lba: u32, off: usize) {
    let mut b = fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    b[lba as usize * SECTOR as usize + off] ^= 0xff;
    fs::write(path, b).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

// ------------------------------------------------------------------------------------------------
// Reading tools' output

/// `udfinfo`'s file and directory counts (`numfiles=`, `numdirs=`) from its output.
pub fn udfinfo_counts(udfinfo_stdout: &str) -> (u64, u64) {
    let get = |k: &str| {
        udfinfo_stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("udfinfo printed no {k}:\n{udfinfo_stdout}"))
    };
    (get("numfiles"), get("numdirs"))
}

/// A Linux `st_rdev` split into major and minor device numbers (glibc's encoding).
pub fn major_minor(rdev: u64) -> (u32, u32) {
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    (major as u32, minor as u32)
}

// ------------------------------------------------------------------------------------------------
// Tree comparison

/// What a directory tree holds at one relative path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    Dir,
    File { bytes: Vec<u8>, mtime: Option<i64> },
}

/// Every entry under `root` by relative path; file mtimes in whole seconds when `mtimes`.
pub fn snapshot(root: &Path, mtimes: bool) -> BTreeMap<String, Found> {
    fn walk(root: &Path, dir: &Path, mtimes: bool, out: &mut BTreeMap<String, Found>) {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
            .flatten()
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let md = fs::metadata(&p).unwrap();
            if md.is_dir() {
                out.insert(rel, Found::Dir);
                walk(root, &p, mtimes, out);
            } else {
                let bytes = fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
                let mtime = mtimes.then(|| {
                    let t = md.modified().unwrap();
                    match t.duration_since(UNIX_EPOCH) {
                        Ok(d) => d.as_secs() as i64,
                        Err(e) => -(e.duration().as_secs_f64().ceil() as i64),
                    }
                });
                out.insert(rel, Found::File { bytes, mtime });
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, mtimes, &mut out);
    out
}

/// Asserts that `actual` holds exactly the names and bytes of `expected` (and the file
/// modification times to the second when `mtimes`).
pub fn assert_same_tree(expected: &Path, actual: &Path, mtimes: bool, what: &str) {
    let a = snapshot(expected, mtimes);
    let b = snapshot(actual, mtimes);
    let mut problems = Vec::new();
    for (k, v) in &a {
        match b.get(k) {
            None => problems.push(format!("missing: {k}")),
            Some(w) if w != v => problems.push(match (v, w) {
                (
                    Found::File {
                        bytes: x,
                        mtime: mx,
                    },
                    Found::File {
                        bytes: y,
                        mtime: my,
                    },
                ) if x == y => {
                    format!("mtime differs: {k}: expected {mx:?}, got {my:?}")
                }
                (Found::File { bytes: x, .. }, Found::File { bytes: y, .. }) => {
                    format!(
                        "content differs: {k}: expected {} bytes, got {} bytes",
                        x.len(),
                        y.len()
                    )
                }
                _ => format!("kind differs: {k}"),
            }),
            _ => {}
        }
    }
    for k in b.keys() {
        if !a.contains_key(k) {
            problems.push(format!("unexpected: {k}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{what}: extracted tree differs from the source:\n  {}",
        problems.join("\n  ")
    );
}

/// Number of files, number of directories, and the sorted multiset of file contents.
pub fn content_multiset(root: &Path) -> (usize, usize, Vec<Vec<u8>>) {
    let s = snapshot(root, false);
    let mut files = Vec::new();
    let mut dirs = 0;
    for v in s.into_values() {
        match v {
            Found::Dir => dirs += 1,
            Found::File { bytes, .. } => files.push(bytes),
        }
    }
    files.sort();
    (files.len(), dirs, files)
}

// ------------------------------------------------------------------------------------------------
// A small, independent ISO 9660 / Joliet walker (test-only; strict: panics on anything odd)

pub const SECTOR: u64 = 2048;

/// One directory record.
#[derive(Clone, Debug)]
pub struct Rec {
    pub extent: u32,
    pub len: u32,
    pub date: [u8; 7],
    pub flags: u8,
    pub ident: Vec<u8>,
    /// Byte offset of the record in the image.
    pub pos: u64,
}

impl Rec {
    pub fn is_dir(&self) -> bool {
        self.flags & 2 != 0
    }
    fn parse(b: &[u8], pos: u64) -> Rec {
        let len = b[0] as usize;
        assert!(
            len >= 34 && len <= b.len(),
            "record at {pos}: bad length {len}"
        );
        assert_eq!(len % 2, 0, "record at {pos}: odd length {len}");
        let le32 = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
        let be32 = |o: usize| u32::from_be_bytes(b[o..o + 4].try_into().unwrap());
        assert_eq!(le32(2), be32(6), "record at {pos}: extent LE/BE differ");
        assert_eq!(
            le32(10),
            be32(14),
            "record at {pos}: data length LE/BE differ"
        );
        let idl = b[32] as usize;
        assert!(
            33 + idl <= len,
            "record at {pos}: identifier overruns record"
        );
        assert_eq!(
            len,
            33 + idl + (1 - idl % 2),
            "record at {pos}: unexpected length (no system use expected)"
        );
        Rec {
            extent: le32(2),
            len: le32(10),
            date: b[18..25].try_into().unwrap(),
            flags: b[25],
            ident: b[33..33 + idl].to_vec(),
            pos,
        }
    }
}

/// A file or directory as seen in one view; multi-extent records merged.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Decoded name (ISO: version and a trailing dot removed; Joliet: UCS-2 decoded).
    pub name: String,
    pub ident: Vec<u8>,
    pub is_dir: bool,
    /// `(lba, bytes)` of each extent, in order.
    pub extents: Vec<(u32, u32)>,
    pub records: Vec<Rec>,
}

impl Entry {
    pub fn size(&self) -> u64 {
        self.extents.iter().map(|e| e.1 as u64).sum()
    }
}

/// A directory: its path in the view (decoded names), location and entries (not "." / "..").
#[derive(Clone, Debug)]
pub struct Dir {
    pub path: String,
    pub extent: u32,
    pub size: u32,
    pub parent_extent: u32,
    pub entries: Vec<Entry>,
}

/// A volume descriptor's interesting fields.
#[derive(Clone, Debug)]
pub struct Volume {
    pub ty: u8,
    pub version: u8,
    pub lba: u64,
    pub escape: [u8; 3],
    pub volume_blocks: u32,
    pub path_table_size: u32,
    pub path_table_l: u32,
    pub path_table_m: u32,
    pub root: Rec,
}

impl Volume {
    pub fn is_joliet(&self) -> bool {
        self.ty == 2 && self.version == 1 && matches!(&self.escape, b"%/@" | b"%/C" | b"%/E")
    }
}

/// One path table record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PtRec {
    pub ident: Vec<u8>,
    pub extent: u32,
    pub parent: u16,
}

/// Which tree to walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Primary,
    Joliet,
}

pub struct Walker<R> {
    r: R,
}

impl Walker<std::io::Cursor<Vec<u8>>> {
    pub fn from_bytes(b: Vec<u8>) -> Self {
        Walker {
            r: std::io::Cursor::new(b),
        }
    }
}

impl<R: Read + Seek> Walker<R> {
    pub fn new(r: R) -> Self {
        Walker { r }
    }

    pub fn read(&mut self, off: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0u8; len];
        self.r.seek(SeekFrom::Start(off)).unwrap();
        self.r
            .read_exact(&mut buf)
            .unwrap_or_else(|e| panic!("read {len} bytes at {off}: {e}"));
        buf
    }

    /// The volume descriptor set, from sector 16 to the terminator (excluded).
    pub fn volumes(&mut self) -> Vec<Volume> {
        let mut out = Vec::new();
        for lba in 16..64u64 {
            let b = self.read(lba * SECTOR, SECTOR as usize);
            assert_eq!(&b[1..6], b"CD001", "sector {lba}: no standard identifier");
            if b[0] == 255 {
                return out;
            }
            let le32 = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
            let be32 = |o: usize| u32::from_be_bytes(b[o..o + 4].try_into().unwrap());
            if b[0] == 1 || b[0] == 2 {
                assert_eq!(
                    le32(80),
                    be32(84),
                    "sector {lba}: volume space size LE/BE differ"
                );
                assert_eq!(
                    le32(132),
                    be32(136),
                    "sector {lba}: path table size LE/BE differ"
                );
                assert_eq!(u16::from_le_bytes([b[128], b[129]]), 2048, "block size");
                out.push(Volume {
                    ty: b[0],
                    version: b[6],
                    lba,
                    escape: b[88..91].try_into().unwrap(),
                    volume_blocks: le32(80),
                    path_table_size: le32(132),
                    path_table_l: le32(140),
                    path_table_m: be32(148),
                    root: Rec::parse(&b[156..190], lba * SECTOR + 156),
                });
            }
        }
        panic!("no volume descriptor set terminator");
    }

    pub fn volume(&mut self, which: Which) -> Option<Volume> {
        self.volumes().into_iter().find(|v| match which {
            Which::Primary => v.ty == 1,
            Which::Joliet => v.is_joliet(),
        })
    }

    /// The records of the directory at `extent` (`size` bytes). Checks that no record crosses a
    /// sector boundary and that the rest of a sector after the last record is zero.
    pub fn records(&mut self, extent: u32, size: u32) -> Vec<Rec> {
        assert_eq!(
            size as u64 % SECTOR,
            0,
            "directory at {extent}: size {size} not whole sectors"
        );
        let base = extent as u64 * SECTOR;
        let data = self.read(base, size as usize);
        let mut out = Vec::new();
        for (s, sector) in data.chunks(SECTOR as usize).enumerate() {
            let mut i = 0;
            while i < sector.len() && sector[i] != 0 {
                let len = sector[i] as usize;
                assert!(
                    i + len <= sector.len(),
                    "directory at {extent}: record at byte {} crosses a sector boundary",
                    s * 2048 + i
                );
                out.push(Rec::parse(
                    &sector[i..i + len],
                    base + (s * 2048 + i) as u64,
                ));
                i += len;
            }
            assert!(
                sector[i..].iter().all(|&b| b == 0),
                "directory at {extent}: garbage after the last record of sector {s}"
            );
        }
        out
    }

    /// Every directory of a view, breadth-first from the root, entries in on-disk order.
    pub fn walk(&mut self, which: Which) -> Vec<Dir> {
        let vol = self
            .volume(which)
            .unwrap_or_else(|| panic!("no {which:?} volume descriptor"));
        let mut out = Vec::new();
        let mut queue = std::collections::VecDeque::from([(
            String::new(),
            vol.root.extent,
            vol.root.len,
            vol.root.extent,
        )]);
        let mut seen = HashSet::new();
        while let Some((path, extent, size, parent_extent)) = queue.pop_front() {
            assert!(seen.insert(extent), "directory loop at extent {extent}");
            assert!(seen.len() < 100_000, "too many directories");
            let recs = self.records(extent, size);
            assert!(recs.len() >= 2, "{path}/: fewer than two records");
            assert_eq!(recs[0].ident, [0], "{path}/: first record is not '.'");
            assert_eq!(recs[1].ident, [1], "{path}/: second record is not '..'");
            assert_eq!(
                (recs[0].extent, recs[0].len),
                (extent, size),
                "{path}/: '.' does not point at itself"
            );
            assert_eq!(
                recs[1].extent, parent_extent,
                "{path}/: '..' does not point at the parent"
            );
            assert!(recs[0].is_dir() && recs[1].is_dir());
            let mut entries: Vec<Entry> = Vec::new();
            let mut continuing = false;
            for r in recs.into_iter().skip(2) {
                assert!(
                    r.ident != [0] && r.ident != [1],
                    "{path}/: stray '.' or '..'"
                );
                if continuing {
                    let last = entries.last_mut().unwrap();
                    assert_eq!(
                        last.ident, r.ident,
                        "{path}/: multi-extent chain broken by {:?}",
                        r.ident
                    );
                    last.extents.push((r.extent, r.len));
                    continuing = r.flags & 0x80 != 0;
                    last.records.push(r);
                    continue;
                }
                continuing = r.flags & 0x80 != 0;
                let name = decode_name(&r.ident, which);
                entries.push(Entry {
                    name,
                    ident: r.ident.clone(),
                    is_dir: r.is_dir(),
                    extents: vec![(r.extent, r.len)],
                    records: vec![r],
                });
            }
            assert!(
                !continuing,
                "{path}/: last record has the multi-extent flag"
            );
            for e in &entries {
                if e.is_dir {
                    queue.push_back((
                        format!("{path}/{}", e.name),
                        e.extents[0].0,
                        e.extents[0].1,
                        extent,
                    ));
                }
            }
            out.push(Dir {
                path: if path.is_empty() { "/".into() } else { path },
                extent,
                size,
                parent_extent,
                entries,
            });
        }
        out
    }

    /// A file's bytes (all extents concatenated).
    pub fn read_entry(&mut self, e: &Entry) -> Vec<u8> {
        let mut out = Vec::with_capacity(e.size() as usize);
        for &(lba, len) in &e.extents {
            if len > 0 {
                out.extend(self.read(lba as u64 * SECTOR, len as usize));
            }
        }
        out
    }

    /// A path table (`size` bytes at `lba`).
    pub fn path_table(&mut self, lba: u32, size: u32, big_endian: bool) -> Vec<PtRec> {
        let b = self.read(lba as u64 * SECTOR, size as usize);
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let l = b[i] as usize;
            assert!(
                l > 0 && i + 8 + l <= b.len(),
                "path table at {lba}: bad record at {i}"
            );
            let ext: [u8; 4] = b[i + 2..i + 6].try_into().unwrap();
            let par: [u8; 2] = b[i + 6..i + 8].try_into().unwrap();
            let (extent, parent) = if big_endian {
                (u32::from_be_bytes(ext), u16::from_be_bytes(par))
            } else {
                (u32::from_le_bytes(ext), u16::from_le_bytes(par))
            };
            out.push(PtRec {
                ident: b[i + 8..i + 8 + l].to_vec(),
                extent,
                parent,
            });
            i += 8 + l + l % 2;
        }
        out
    }
}

/// A record identifier as a reader would show it.
pub fn decode_name(ident: &[u8], which: Which) -> String {
    match which {
        Which::Joliet => {
            assert_eq!(ident.len() % 2, 0, "odd Joliet identifier length");
            let units = ident
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]));
            let s: String = char::decode_utf16(units)
                .map(|c| c.expect("unpaired surrogate in Joliet name"))
                .collect();
            match s.rfind(";1") {
                Some(p) if p + 2 == s.len() => s[..p].to_string(),
                _ => s,
            }
        }
        Which::Primary => {
            let s = String::from_utf8(ident.to_vec()).expect("ISO identifier is not UTF-8");
            let s = match s.rfind(';') {
                Some(p) if s[p + 1..].bytes().all(|c| c.is_ascii_digit()) && p + 1 < s.len() => {
                    s[..p].to_string()
                }
                _ => s,
            };
            s.strip_suffix('.').map(str::to_string).unwrap_or(s)
        }
    }
}

/// Writes a whole image into memory.
pub fn render(image: &glassmaster::Image) -> Vec<u8> {
    let mut v = Vec::with_capacity(image.size_bytes() as usize);
    image
        .write_to(&mut v, &mut glassmaster::NoProgress)
        .expect("write_to");
    v
}

/// A temporary directory for outputs.
pub fn out_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("gm-out")
        .tempdir()
        .expect("tempdir")
}

/// `path` inside `dir` as a `PathBuf`.
pub fn join(dir: &TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}
