//! A source file written while the image is built is an error naming it, never an image
//! holding a version of the file that never existed (issue 19, item 9). The writes are made
//! deterministically from the `Progress` callbacks: just before a file's bytes are copied
//! (`item_started`) and while they are being copied (`update`), keeping the size and putting
//! the modification time back, so only the status change time and the bytes tell.
#![cfg(unix)]

mod common;

use std::fs::{self, File, FileTimes};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::content;
use glassmaster::{Error, ImageBuilder, NoProgress, Progress, ProgressItem};

/// Overwrites `len` bytes of `path` at `at` in place (same size) with bytes that differ from
/// what is there, then puts the modification time back.
fn write_in_place(path: &Path, at: u64, len: usize) {
    let before = fs::metadata(path).unwrap();
    let f = File::options().read(true).write(true).open(path).unwrap();
    let mut old = vec![0u8; len];
    f.read_exact_at(&mut old, at).unwrap();
    let new: Vec<u8> = old.iter().map(|b| !b).collect();
    f.write_all_at(&new, at).unwrap();
    f.set_times(
        FileTimes::new()
            .set_modified(before.modified().unwrap())
            .set_accessed(before.accessed().unwrap()),
    )
    .unwrap();
    let after = fs::metadata(path).unwrap();
    assert_eq!(after.len(), before.len());
    assert_eq!(after.modified().unwrap(), before.modified().unwrap());
}

/// When to write the victim.
#[derive(Clone, Copy, PartialEq, Debug)]
enum When {
    /// When its data item starts, before its bytes are read.
    BeforeCopy,
    /// At the first progress update after its first bytes were copied.
    DuringCopy,
}

/// A progress that writes `victim` (image path `image_path`) once, `when` says.
struct Saboteur {
    victim: PathBuf,
    image_path: String,
    when: When,
    armed: bool,
    done: bool,
}

impl Saboteur {
    fn new(victim: &Path, image_path: &str, when: When) -> Saboteur {
        Saboteur {
            victim: victim.to_path_buf(),
            image_path: image_path.into(),
            when,
            armed: false,
            done: false,
        }
    }
}

impl Progress for Saboteur {
    fn item_started(&mut self, item: &ProgressItem) {
        if self.done {
            return;
        }
        if item.description == self.image_path {
            match self.when {
                When::BeforeCopy => {
                    write_in_place(&self.victim, 0, 4096);
                    self.done = true;
                }
                When::DuringCopy => self.armed = true,
            }
        } else if self.armed {
            panic!("the victim's copy ended without a progress update: make it larger");
        }
    }
    fn update(&mut self, _done: u64, _total: u64) {
        if self.armed && !self.done {
            // Near the end: bytes already copied and bytes still to come both exist.
            let len = fs::metadata(&self.victim).unwrap().len();
            write_in_place(&self.victim, len - 8192, 4096);
            self.done = true;
        }
    }
}

/// A tree of small files and one `victim_len`-byte victim `/d/victim.bin`, scanned.
fn scanned_tree(victim_len: usize) -> (tempfile::TempDir, PathBuf, ImageBuilder) {
    let src = tempfile::tempdir().unwrap();
    fs::create_dir(src.path().join("d")).unwrap();
    for i in 0..20 {
        fs::write(
            src.path().join(format!("d/f{i:02}")),
            content(i, 3000 + i as usize),
        )
        .unwrap();
    }
    let victim = src.path().join("d/victim.bin");
    fs::write(&victim, content(99, victim_len)).unwrap();
    // Status change times have the resolution of the kernel's clock tick on some file
    // systems: let the writes below fall in a later tick than the creation.
    std::thread::sleep(Duration::from_millis(30));
    let mut b = ImageBuilder::new();
    b.add_tree("/", src.path(), &mut glassmaster::NoProgress)
        .unwrap();
    (src, victim, b)
}

fn expect_changed<T: std::fmt::Debug>(r: glassmaster::Result<T>, image_path: &str, what: &str) {
    match r {
        Err(e @ Error::SourceChanged { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(image_path), "{what}: {msg}");
            assert!(msg.contains("changed during the build"), "{what}: {msg}");
        }
        other => panic!("{what}: expected SourceChanged naming {image_path}, got {other:?}"),
    }
}

#[test]
fn a_write_just_before_the_copy_is_refused() {
    let (_src, victim, b) = scanned_tree(100_000);
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let mut p = Saboteur::new(&victim, "/d/victim.bin", When::BeforeCopy);
    let r = image.write_to(Vec::new(), &mut p);
    assert!(p.done, "the victim was never written");
    expect_changed(r, "/d/victim.bin", "write before the copy");
}

#[test]
fn a_write_during_the_copy_is_refused_through_a_buffer_and_by_the_kernel() {
    // 6 MiB: several 128 KiB hand-overs to a writer, several 1 MiB kernel copies to a file.
    for to_file in [false, true] {
        let (_src, victim, b) = scanned_tree(6 << 20);
        let image = b.build(&mut glassmaster::NoProgress).unwrap();
        let mut p = Saboteur::new(&victim, "/d/victim.bin", When::DuringCopy);
        let out = tempfile::tempfile().unwrap();
        let r = if to_file {
            image.write_to_file(&out, &mut p)
        } else {
            image.write_to(Vec::new(), &mut p)
        };
        assert!(p.done, "to_file {to_file}: the victim was never written");
        let msg = format!("{r:?}");
        expect_changed(r, "/d/victim.bin", &format!("to_file {to_file}"));
        assert!(msg.contains("while it was read"), "{msg}");
    }
}

#[test]
fn write_to_path_never_leaves_a_torn_image() {
    // `write_to_path` reads files ahead of the writing thread: a write at `item_started` may
    // come after the bytes were read (the image then holds the file as it was, a version that
    // existed) or before (an error and no file). Never anything else.
    for when in [When::BeforeCopy, When::DuringCopy] {
        let (_src, victim, b) = scanned_tree(6 << 20);
        let original = fs::read(&victim).unwrap();
        let out = tempfile::tempdir().unwrap();
        let iso = out.path().join("x.iso");
        let mut p = Saboteur::new(&victim, "/d/victim.bin", when);
        match b.build_to_path(&iso, &mut p) {
            Ok(_) => {
                let mut r =
                    glassmaster::read::ImageReader::open(File::open(&iso).unwrap()).unwrap();
                let view = r.default_view();
                let e = r.lookup(view, "/d/victim.bin").unwrap();
                assert!(r.read_file(&e).unwrap() == original, "{when:?}: torn image");
            }
            Err(e) => {
                assert!(matches!(e, Error::SourceChanged { .. }), "{when:?}: {e:?}");
                assert_eq!(fs::read_dir(out.path()).unwrap().count(), 0, "{when:?}");
            }
        }
    }
}

#[test]
fn a_file_renamed_over_the_source_is_refused() {
    // Same size, same modification time, same bytes even: another file (inode).
    let (src, victim, b) = scanned_tree(50_000);
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let other = src.path().join("other");
    fs::write(&other, fs::read(&victim).unwrap()).unwrap();
    let t = fs::metadata(&victim).unwrap().modified().unwrap();
    File::options()
        .write(true)
        .open(&other)
        .unwrap()
        .set_modified(t)
        .unwrap();
    fs::rename(&other, &victim).unwrap();
    let r = image.write_to(Vec::new(), &mut NoProgress);
    let msg = format!("{r:?}");
    expect_changed(r, "/d/victim.bin", "renamed over");
    assert!(msg.contains("replaced"), "{msg}");
}

#[test]
fn a_deduplicated_twin_written_after_hashing_is_refused() {
    // Two identical 2 MiB files: the layout hashes both and stores the second as the first's
    // extent, so its bytes are never read again. Writing it afterwards must still be caught
    // (the stamp recorded at the scan), or the image would give it bytes it no longer has.
    let src = tempfile::tempdir().unwrap();
    let body = content(5, 2 << 20);
    fs::write(src.path().join("a.bin"), &body).unwrap();
    fs::write(src.path().join("b.bin"), &body).unwrap();
    std::thread::sleep(Duration::from_millis(30));
    let mut b = ImageBuilder::new();
    b.add_tree("/", src.path(), &mut glassmaster::NoProgress)
        .unwrap();
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    assert_eq!(image.dedup_saved().0, 1, "the twins were not deduplicated");
    write_in_place(&src.path().join("b.bin"), 4096, 4096);
    let r = image.write_to(Vec::new(), &mut NoProgress);
    expect_changed(r, "/b.bin", "deduplicated twin");
    // The same through write_to_path: an error and no file.
    let out = tempfile::tempdir().unwrap();
    let r = image.write_to_path(&out.path().join("x.iso"), &mut NoProgress);
    expect_changed(r, "/b.bin", "deduplicated twin, write_to_path");
    assert_eq!(fs::read_dir(out.path()).unwrap().count(), 0);
}

#[test]
fn a_file_that_shrinks_grows_or_vanishes_while_read_is_refused() {
    for (what, change) in [("shrank", -1i64), ("grew", 1), ("vanished", 0)] {
        let (src, victim, b) = scanned_tree(6 << 20);
        let image = b.build(&mut glassmaster::NoProgress).unwrap();
        struct Change<'a>(&'a Path, i64, bool, bool);
        impl Progress for Change<'_> {
            fn item_started(&mut self, item: &ProgressItem) {
                self.2 = item.description == "/d/victim.bin";
            }
            fn update(&mut self, _: u64, _: u64) {
                if self.2 && !self.3 {
                    self.3 = true;
                    let len = fs::metadata(self.0).unwrap().len();
                    match self.1 {
                        0 => fs::remove_file(self.0).unwrap(),
                        d => File::options()
                            .write(true)
                            .open(self.0)
                            .unwrap()
                            .set_len(len.checked_add_signed(d).unwrap())
                            .unwrap(),
                    }
                }
            }
        }
        let mut p = Change(&victim, change, false, false);
        let r = image.write_to(Vec::new(), &mut p);
        assert!(p.3, "{what}: never changed");
        expect_changed(r, "/d/victim.bin", what);
        drop(src);
    }
}

/// True when this process runs as root (which ignores permission bits).
fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

#[test]
fn an_unreadable_file_is_permission_denied_not_a_change() {
    // Root reads a file whatever its mode: this part runs as another user only (the command-
    // line test `cli_unreadable_source_says_permission_denied` drops to `nobody` instead).
    if is_root() {
        eprintln!("skipped: running as root, which ignores permission bits");
        return;
    }
    let (_src, victim, b) = scanned_tree(10_000);
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o000)).unwrap();
    let r = b
        .build(&mut glassmaster::NoProgress)
        .and_then(|i| i.write_to(Vec::new(), &mut NoProgress));
    match r {
        Err(Error::Source { path, source }) => {
            assert_eq!(path, victim);
            assert_eq!(source.kind(), std::io::ErrorKind::PermissionDenied);
        }
        other => panic!("expected a permission error, got {other:?}"),
    }
}

#[cfg(feature = "cli")]
mod cli {
    use super::*;
    use std::process::Command;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    fn glassmaster() -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_glassmaster"));
        cmd.env_remove("SOURCE_DATE_EPOCH");
        cmd
    }

    #[test]
    fn cli_source_written_during_the_build_fails_and_leaves_no_file() {
        // A file written in place over and over (same size, modification time put back) while
        // `build` runs: exit 1 naming it, and neither the image nor its temporary file left.
        let src = tempfile::tempdir().unwrap();
        let victim = src.path().join("big.bin");
        fs::write(&victim, content(3, 48 << 20)).unwrap();
        for i in 0..10 {
            fs::write(src.path().join(format!("s{i}")), content(i, 1000)).unwrap();
        }
        let out = tempfile::tempdir().unwrap();
        let iso = out.path().join("x.iso");
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (stop, victim) = (stop.clone(), victim.clone());
            std::thread::spawn(move || {
                let t = fs::metadata(&victim).unwrap().modified().unwrap();
                let mut f = File::options().write(true).open(&victim).unwrap();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let at = (n * 65536) % (48 << 20);
                    f.seek(SeekFrom::Start(at)).unwrap();
                    f.write_all(&[n as u8; 4096]).unwrap();
                    f.set_modified(t).unwrap();
                    n += 1;
                    std::thread::sleep(Duration::from_micros(200));
                }
                n
            })
        };
        let o = glassmaster()
            .args(["build", "-R", "-J", "-q", "-o"])
            .arg(&iso)
            .arg(src.path())
            .output()
            .unwrap();
        stop.store(true, Ordering::Relaxed);
        let writes = writer.join().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(writes > 0);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains("changed during the build"), "{err}");
        assert!(err.contains("/big.bin"), "{err}");
        let left: Vec<_> = fs::read_dir(out.path()).unwrap().collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }

    #[test]
    fn cli_unreadable_source_says_permission_denied() {
        // As root (which reads any file), the build runs as `nobody` through `setpriv`.
        let src = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        use std::os::unix::fs::PermissionsExt;
        let open = |p: &Path, mode| fs::set_permissions(p, fs::Permissions::from_mode(mode));
        open(src.path(), 0o755).unwrap();
        open(out.path(), 0o777).unwrap();
        fs::write(src.path().join("ok.txt"), b"fine").unwrap();
        let locked = src.path().join("locked.txt");
        fs::write(&locked, b"secret").unwrap();
        open(&locked, 0o000).unwrap();
        let iso = out.path().join("x.iso");
        let mut cmd = if is_root() {
            if !common::require_tool("setpriv") {
                return;
            }
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--",
                env!("CARGO_BIN_EXE_glassmaster"),
            ]);
            c
        } else {
            glassmaster()
        };
        let o = cmd
            .args(["build", "-R", "-J", "-q", "-o"])
            .arg(&iso)
            .arg(src.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        if is_root() && err.contains("Permission denied") && !err.contains("locked.txt") {
            // `nobody` could not reach the binary or the temporary directories.
            eprintln!("skipped: the build could not run as nobody: {err}");
            return;
        }
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.to_lowercase().contains("permission denied"), "{err}");
        assert!(err.contains("locked.txt"), "{err}");
        assert!(!err.contains("changed during the build"), "{err}");
        assert_eq!(fs::read_dir(out.path()).unwrap().count(), 0);
    }
}
