//! The destination side of a restore: checking DEST before anything is written, checked names,
//! creating directories, files, links and special files without following links, setting
//! modes, owners and times, and telling entries this restore made from those that were there
//! before.
//!
//! Every operation works on the path it is given and never resolves a symbolic link at that
//! path: an entry in the way is looked up with `symlink_metadata`, files are created with
//! `O_EXCL` (`create_new`, which fails on a link rather than following it), and a link is
//! replaced (only when overwriting), never written through.

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use super::{Conflict, ConflictKind, RestoreError};

/// What `symlink_metadata` found at a path, for messages.
fn found(md: &fs::Metadata) -> &'static str {
    if md.is_dir() {
        "a directory"
    } else if md.file_type().is_symlink() {
        "a symbolic link"
    } else if md.is_file() {
        "a file"
    } else {
        "a special file"
    }
}

/// Most conflicts kept one by one in [`RestoreError::InTheWay`]; the rest are counted.
pub(crate) const KEPT_CONFLICTS: usize = 1000;

/// Looks up, before anything is written, what the restore would meet in DEST: `items` are the
/// paths it would create (each directory before its contents) and whether each is a
/// directory, with the image path. Without `overwrite`, any existing entry is in the way but
/// a real directory where the image has a directory; with it, only a real directory where the
/// image has something else. Below a path the restore creates or replaces nothing is looked
/// up (a symbolic link in DEST is never resolved). Returns the conflicts (at most
/// [`KEPT_CONFLICTS`]) and how many there are.
pub(crate) fn check_dest<'a>(
    items: impl IntoIterator<Item = (PathBuf, bool, &'a str)>,
    overwrite: bool,
) -> Result<(Vec<Conflict>, usize), RestoreError> {
    // Paths the restore creates (not there now, or replaced): nothing below them exists.
    let mut fresh: HashSet<PathBuf> = HashSet::new();
    let mut conflicts = Vec::new();
    let mut count = 0usize;
    for (path, is_dir, image_path) in items {
        if path.parent().is_some_and(|p| fresh.contains(p)) {
            if is_dir {
                fresh.insert(path);
            }
            continue;
        }
        let md = match fs::symlink_metadata(&path) {
            Ok(md) => md,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if is_dir {
                    fresh.insert(path);
                }
                continue;
            }
            Err(e) => return Err(RestoreError::io("look up", &path, e)),
        };
        let kind = match (md.is_dir(), is_dir) {
            (true, true) => None,
            (true, false) => Some(ConflictKind::DirectoryInTheWay),
            (false, _) if overwrite => None,
            (false, _) => Some(ConflictKind::Exists),
        };
        if is_dir && !md.is_dir() {
            fresh.insert(path.clone());
        }
        if let Some(kind) = kind {
            count += 1;
            if conflicts.len() < KEPT_CONFLICTS {
                conflicts.push(Conflict {
                    path,
                    image_path: image_path.to_string(),
                    found: found(&md),
                    kind,
                });
            }
        }
    }
    Ok((conflicts, count))
}

/// Makes room at `path` for a new entry: an error if a directory is there; with `overwrite` a
/// file or symbolic link there is removed (the link itself, never what it points to); without
/// it, anything there is an error.
pub(crate) fn clear(path: &Path, overwrite: bool) -> Result<(), RestoreError> {
    match fs::symlink_metadata(path) {
        Ok(md) if md.is_dir() => Err(RestoreError::Blocked {
            path: path.to_path_buf(),
            reason: "a directory is in the way",
        }),
        Ok(_) if overwrite => {
            fs::remove_file(path).map_err(|e| RestoreError::io("replace", path, e))
        }
        Ok(_) => Err(RestoreError::Blocked {
            path: path.to_path_buf(),
            reason: "it already exists (overwriting replaces it)",
        }),
        Err(_) => Ok(()),
    }
}

/// Creates a directory; an existing directory is fine (the image's merges into it). Anything
/// else in the way (a file, a symbolic link) is an error, or with `overwrite` is removed (a
/// link itself, never what it points to) and the directory made in its place.
pub(crate) fn make_dir(path: &Path, overwrite: bool) -> Result<(), RestoreError> {
    let create =
        |p: &Path| fs::create_dir(p).map_err(|e| RestoreError::io("create directory", p, e));
    match fs::symlink_metadata(path) {
        Ok(md) if md.is_dir() => Ok(()),
        Ok(_) if overwrite => {
            fs::remove_file(path).map_err(|e| RestoreError::io("replace", path, e))?;
            create(path)
        }
        Ok(_) => Err(RestoreError::Blocked {
            path: path.to_path_buf(),
            reason: "a file is in the way",
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => create(path),
        Err(e) => Err(RestoreError::io("create directory", path, e)),
    }
}

/// Creates a new regular file at `path` (replacing a file or link there with `overwrite`);
/// `O_EXCL`: never opens an existing file or what a link points to.
pub(crate) fn create_file(path: &Path, overwrite: bool) -> Result<File, RestoreError> {
    clear(path, overwrite)?;
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| RestoreError::io("create", path, e))
}

/// Creates a symbolic link at `path` to the exact bytes `target` (replacing a file or link
/// there with `overwrite`, never a directory). Elsewhere than Unix: `Unsupported`.
pub(crate) fn make_symlink(
    target: &[u8],
    path: &Path,
    overwrite: bool,
) -> Result<(), RestoreError> {
    clear(path, overwrite)?;
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        std::os::unix::fs::symlink(OsStr::from_bytes(target), path)
            .map_err(|e| RestoreError::io("create symbolic link", path, e))
    }
    #[cfg(not(unix))]
    {
        let _ = target;
        Err(RestoreError::io(
            "create symbolic link",
            path,
            io::Error::new(io::ErrorKind::Unsupported, "not supported here"),
        ))
    }
}

/// Makes `path` another name of `first` (replacing a file or link there with `overwrite`).
pub(crate) fn hard_link(first: &Path, path: &Path, overwrite: bool) -> Result<(), RestoreError> {
    clear(path, overwrite)?;
    fs::hard_link(first, path).map_err(|source| RestoreError::HardLink {
        path: path.to_path_buf(),
        first: first.to_path_buf(),
        source,
    })
}

/// A device node or FIFO (POSIX `mknod`) at `path` with permission bits `mode`; `kind` is
/// `'c'`, `'b'` or `'p'`. Only where the C library has `mknodat` (Linux, Android, FreeBSD);
/// elsewhere `Unsupported`.
pub(crate) fn make_special(
    path: &Path,
    kind: char,
    mode: u32,
    device: (u32, u32),
    overwrite: bool,
) -> Result<(), RestoreError> {
    clear(path, overwrite)?;
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    {
        use rustix::fs::{FileType, Mode, CWD};
        let ft = match kind {
            'c' => FileType::CharacterDevice,
            'b' => FileType::BlockDevice,
            _ => FileType::Fifo,
        };
        let dev = rustix::fs::makedev(device.0, device.1);
        // `mode_t` is 16 bits on FreeBSD, 32 on Linux: the permission bits fit either.
        #[allow(clippy::useless_conversion)]
        let perm = Mode::from_bits_truncate((mode & 0o7777).try_into().unwrap_or(0));
        rustix::fs::mknodat(CWD, path, ft, perm, dev)
            .map_err(|e| RestoreError::io("create", path, io::Error::from(e)))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    {
        let _ = (kind, mode, device);
        Err(RestoreError::io(
            "create",
            path,
            io::Error::new(
                io::ErrorKind::Unsupported,
                "special files cannot be made here",
            ),
        ))
    }
}

/// Sets the permission bits (the low 12 bits of `mode`) of `path` (not a symbolic link).
/// Elsewhere than Unix: nothing (there are no POSIX modes).
pub(crate) fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o7777))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// Sets the owner of `path` itself (a link is not followed). Elsewhere than Unix: nothing.
pub(crate) fn set_owner(path: &Path, uid: u32, gid: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::lchown(path, Some(uid), Some(gid))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, uid, gid);
        Ok(())
    }
}

/// Sets the modification (and, when given, access) time of a directory or regular file.
pub(crate) fn set_times(
    path: &Path,
    mtime: SystemTime,
    atime: Option<SystemTime>,
) -> io::Result<()> {
    let mut times = fs::FileTimes::new().set_modified(mtime);
    if let Some(a) = atime {
        times = times.set_accessed(a);
    }
    File::open(path)?.set_times(times)
}

/// Sets the times of a symbolic link or special file itself (`utimensat` with
/// `AT_SYMLINK_NOFOLLOW`: a FIFO is never opened, a link never followed). Only where the C
/// library has it (Linux, Android, FreeBSD, macOS); elsewhere `Ok(false)`: not set.
pub(crate) fn set_times_nofollow(
    path: &Path,
    mtime: SystemTime,
    atime: Option<SystemTime>,
) -> io::Result<bool> {
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "macos"
    ))]
    {
        use rustix::fs::{AtFlags, Timespec, Timestamps, CWD, UTIME_OMIT};
        let spec = |t: SystemTime| -> Timespec {
            match t.duration_since(SystemTime::UNIX_EPOCH) {
                Ok(d) => Timespec {
                    tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                    tv_nsec: d.subsec_nanos().into(),
                },
                Err(e) => {
                    let d = e.duration();
                    let (mut s, mut n) = (-i64::try_from(d.as_secs()).unwrap_or(i64::MAX), 0i64);
                    if d.subsec_nanos() > 0 {
                        s -= 1;
                        n = 1_000_000_000 - i64::from(d.subsec_nanos());
                    }
                    Timespec {
                        tv_sec: s,
                        tv_nsec: n as _,
                    }
                }
            }
        };
        let times = Timestamps {
            last_access: atime.map_or(
                Timespec {
                    tv_sec: 0,
                    tv_nsec: UTIME_OMIT,
                },
                spec,
            ),
            last_modification: spec(mtime),
        };
        rustix::fs::utimensat(CWD, path, &times, AtFlags::SYMLINK_NOFOLLOW)?;
        Ok(true)
    }
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "macos"
    )))]
    {
        let _ = (path, mtime, atime);
        Ok(false)
    }
}

/// The entries this restore created or took over on the destination, to tell a later entry
/// that lands on one of them (the same name after the destination's case folding or Unicode
/// normalisation, or a name given twice) from an entry that was there before (which
/// [`check_dest`] refused, or overwriting replaces).
///
/// An entry found at a path is one of ours when it has the identity (device, inode) of one we
/// made, which is how kernel file systems that fold names behave (vfat, exFAT, NTFS, ext4 and
/// F2FS casefold, APFS). FUSE file systems may give each spelling its own inode number, so a
/// name whose lower case equals that of a name made in the same directory is taken as ours as
/// well, unless listing the directory shows both names (a file system that tells them apart).
#[derive(Default)]
pub(crate) struct Claims {
    #[cfg(unix)]
    by_id: HashMap<(u64, u64), String>,
    /// Per destination directory: the names made in it by lower case, with their exact name
    /// and image path.
    made: HashMap<PathBuf, HashMap<String, (OsString, String)>>,
}

impl Claims {
    #[cfg(unix)]
    fn id(md: &fs::Metadata) -> (u64, u64) {
        use std::os::unix::fs::MetadataExt;
        (md.dev(), md.ino())
    }

    fn folded(name: &OsStr) -> String {
        name.to_string_lossy().to_lowercase()
    }

    /// The image path of the entry this restore made that `path` names now, if any.
    pub(crate) fn owner(&self, path: &Path) -> Option<String> {
        let md = fs::symlink_metadata(path).ok()?;
        #[cfg(unix)]
        if let Some(owner) = self.by_id.get(&Self::id(&md)) {
            return Some(owner.clone());
        }
        #[cfg(not(unix))]
        let _ = md;
        let (dir, name) = (path.parent()?, path.file_name()?);
        let (made, owner) = self.made.get(dir)?.get(&Self::folded(name))?;
        if made == name {
            return Some(owner.clone());
        }
        // Two spellings: one entry, unless the directory lists both.
        let listed: HashSet<OsString> = fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        if listed.contains(made.as_os_str()) && listed.contains(name) {
            None
        } else {
            Some(owner.clone())
        }
    }

    /// Records that `path` now holds what this restore made for `image_path` (the first image
    /// path stays: hard links share an identity).
    pub(crate) fn claim(&mut self, path: &Path, image_path: &str) {
        #[cfg(unix)]
        if let Ok(md) = fs::symlink_metadata(path) {
            self.by_id
                .entry(Self::id(&md))
                .or_insert_with(|| image_path.to_string());
        }
        if let (Some(dir), Some(name)) = (path.parent(), path.file_name()) {
            self.made
                .entry(dir.to_path_buf())
                .or_default()
                .entry(Self::folded(name))
                .or_insert_with(|| (name.to_os_string(), image_path.to_string()));
        }
    }
}

/// The file name to create for the name bytes `raw`, checked ([`check_name_bytes`]): the exact
/// bytes on Unix; elsewhere the name must be UTF-8.
pub(crate) fn os_name(raw: &[u8]) -> Result<OsString, &'static str> {
    check_name_bytes(raw)?;
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(OsStr::from_bytes(raw).to_os_string())
    }
    #[cfg(not(unix))]
    {
        std::str::from_utf8(raw)
            .map(OsString::from)
            .map_err(|_| "name is not UTF-8, which this system cannot create")
    }
}

/// Accepts only names that are one ordinary path component: not empty, not `.` or `..`, no
/// `/` or NUL (and on Windows UTF-8, with no `\\`, `:` or drive prefix). The reason otherwise.
pub fn check_name_bytes(name: &[u8]) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty name");
    }
    if name == b"." || name == b".." {
        return Err("name is '.' or '..'");
    }
    if name.contains(&b'/') {
        return Err("name contains '/'");
    }
    if name.contains(&0) {
        return Err("name contains a NUL byte");
    }
    if cfg!(windows) {
        let text = std::str::from_utf8(name).map_err(|_| "name is not UTF-8")?;
        if text.contains('\\') || text.contains(':') {
            return Err("name contains '\\' or ':'");
        }
        let mut components = Path::new(text).components();
        return match (components.next(), components.next()) {
            (Some(Component::Normal(c)), None) if c == text => Ok(()),
            _ => Err("name is not a plain file name"),
        };
    }
    Ok(())
}

/// A name from an image, safe to print and exact: UTF-8 text as it is (control characters
/// escaped), each byte that is not UTF-8 as `\xNN`, so that names differing only there are
/// told apart.
pub fn shown_name(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    for chunk in raw.utf8_chunks() {
        out.push_str(&escape_controls(chunk.valid()));
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Text with its control characters escaped (`\u{1b}`): a name from an image must not send
/// escape sequences to a terminal.
pub(crate) fn escape_controls(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A destination path for messages (it contains names from the image).
pub(crate) fn shown(path: &Path) -> String {
    escape_controls(&path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names() {
        for ok in ["a", "a.txt", "..a", "a..", "...", " x", "名前", "a b;1"] {
            assert_eq!(check_name_bytes(ok.as_bytes()), Ok(()), "{ok:?}");
        }
    }

    #[test]
    fn unsafe_names() {
        for bad in ["", ".", "..", "/", "a/b", "/etc", "../x", "a\0b", "\0"] {
            assert!(
                check_name_bytes(bad.as_bytes()).is_err(),
                "{bad:?} must be refused"
            );
        }
        if cfg!(windows) {
            for bad in ["a\\b", "..\\x", "C:", "C:x"] {
                assert!(
                    check_name_bytes(bad.as_bytes()).is_err(),
                    "{bad:?} must be refused"
                );
            }
        }
        // Not UTF-8: any byte but '/' and NUL is a Unix file name.
        assert_eq!(os_name(b"x\xff").is_ok(), cfg!(unix));
    }

    #[test]
    fn make_dir_refuses_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        make_dir(&dir.path().join("d"), false).unwrap();
        make_dir(&dir.path().join("d"), false).unwrap();
        fs::write(dir.path().join("f"), b"").unwrap();
        assert!(make_dir(&dir.path().join("f"), false).is_err());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("d"), dir.path().join("link")).unwrap();
            fs::write(dir.path().join("d").join("kept"), b"").unwrap();
            assert!(make_dir(&dir.path().join("link"), false).is_err());
            // Overwriting replaces the link itself with a directory; its target stays.
            make_dir(&dir.path().join("link"), true).unwrap();
            let md = fs::symlink_metadata(dir.path().join("link")).unwrap();
            assert!(md.is_dir());
            assert!(dir.path().join("d").join("kept").exists());
            assert_eq!(fs::read_dir(dir.path().join("link")).unwrap().count(), 0);
        }
    }

    #[test]
    fn files_are_never_created_through_links() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, b"kept").unwrap();
        #[cfg(unix)]
        {
            let link = dir.path().join("l");
            std::os::unix::fs::symlink(&target, &link).unwrap();
            assert!(create_file(&link, false).is_err());
            create_file(&link, true).unwrap();
            assert!(fs::symlink_metadata(&link).unwrap().is_file());
            assert_eq!(fs::read(&target).unwrap(), b"kept");
        }
    }

    #[test]
    fn shown_names_are_exact_and_safe() {
        assert_eq!(shown_name(b"x\xff"), "x\\xff");
        assert_eq!(shown_name(b"x\xfe"), "x\\xfe");
        assert_eq!(shown_name("é\u{1b}[2J".as_bytes()), "é\\u{1b}[2J");
    }
}
