//! The destination side of the CLI's restores that the library's `ImageReader::restore` does
//! not cover: the restore of a spanned set (`span_extract.rs`) and `extract --boot-images`
//! (`extract.rs`): checking DEST before anything is written, creating directories, links and
//! modes without following links, and telling entries this extraction made from those that
//! were there before. Names are checked by the library's `check_name_bytes`.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::error::{CliError, CliResult, ResultExt};
use crate::image_file::printable;
use crate::progress_bar::Bar;

/// How many entries already in DEST are named one by one before the rest are counted.
pub(crate) const LISTED_CONFLICTS: usize = 20;

/// Checks, before anything is written, what the extraction would meet in DEST: `items` are the
/// paths it would create (each directory before its contents) and whether each is a directory,
/// with the image path for messages. Without `overwrite`, any existing entry is in the way but
/// a real directory where the image has a directory; with it, only a real directory where the
/// image has something else. Below a path the extraction creates or replaces nothing is looked
/// up (a symbolic link in DEST is never resolved). The error names the entries in the way.
pub(crate) fn check_dest<'a>(
    dest: &Path,
    items: impl IntoIterator<Item = (PathBuf, bool, &'a str)>,
    overwrite: bool,
    bar: &Bar,
) -> CliResult {
    // Paths the extraction creates (not there now, or replaced): nothing below them exists.
    let mut fresh: HashSet<PathBuf> = HashSet::new();
    let mut in_the_way = 0usize;
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
            Err(e) => return Err(e).context(|| format!("cannot look up {}", shown(&path))),
        };
        let what = if md.is_dir() {
            "a directory"
        } else if md.file_type().is_symlink() {
            "a symbolic link"
        } else if md.is_file() {
            "a file"
        } else {
            "a special file"
        };
        let problem = match (md.is_dir(), is_dir) {
            (true, true) => None,
            (true, false) => Some("is a directory (not replaced, even with --overwrite)"),
            (false, _) if overwrite => None,
            (false, _) => Some("already exists"),
        };
        if let Some(problem) = problem {
            if in_the_way < LISTED_CONFLICTS {
                let problem = if problem == "already exists" {
                    format!("already exists ({what})")
                } else {
                    problem.to_string()
                };
                bar.eprintln(&format!(
                    "glassmaster: error: {} (for {}) {problem}",
                    shown(&path),
                    printable(image_path)
                ));
            }
            in_the_way += 1;
        }
        if is_dir && !md.is_dir() {
            fresh.insert(path);
        }
    }
    match in_the_way {
        0 => Ok(()),
        n => Err(conflicts_error(dest, n, overwrite)),
    }
}

/// The error after `n` entries of `dest` were found in the way (and named).
pub(crate) fn conflicts_error(dest: &Path, n: usize, overwrite: bool) -> CliError {
    let more = n.saturating_sub(LISTED_CONFLICTS);
    let more = if more > 0 {
        format!(" ({} not listed)", crate::report::thousands(more))
    } else {
        String::new()
    };
    let hint = if overwrite {
        ""
    } else {
        "; --overwrite replaces existing files and symbolic links"
    };
    CliError::msg(format!(
        "{} in {} in the way{more}: nothing was extracted{hint}",
        crate::report::counted(n as u64, "entry", "entries"),
        shown(dest),
    ))
}

/// Makes room at `path` for a new entry when overwriting: removes a file or symbolic link
/// there (the link itself), never a directory. Without `overwrite`, nothing is removed (the
/// creation that follows fails on anything there).
pub(crate) fn clear(path: &Path, overwrite: bool) -> CliResult {
    match fs::symlink_metadata(path) {
        Ok(md) if md.is_dir() => Err(CliError::msg(format!(
            "cannot create {}: a directory is in the way",
            shown(path)
        ))),
        Ok(_) if overwrite => {
            fs::remove_file(path).context(|| format!("cannot replace {}", shown(path)))
        }
        Ok(_) => Err(CliError::msg(format!(
            "cannot create {}: it already exists (--overwrite replaces it)",
            shown(path)
        ))),
        Err(_) => Ok(()),
    }
}

/// The entries this extraction created or took over on the destination, to tell a later entry
/// that lands on one of them (the same name after the destination's case folding or Unicode
/// normalisation, or a name given twice) from an entry that was there before (which
/// `check_dest` refused, or `--overwrite` replaces).
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

    fn folded(name: &std::ffi::OsStr) -> String {
        name.to_string_lossy().to_lowercase()
    }

    /// The image path of the entry this extraction made that `path` names now, if any.
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

    /// Records that `path` now holds what this extraction made for `image_path` (the first
    /// image path stays: hard links share an identity).
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

    /// The message for `image_path`, which would land on `path`, already extracted from
    /// `owner`.
    pub(crate) fn collision(image_path: &str, owner: &str, path: &Path) -> String {
        format!(
            "{image_path} and {owner} are the same name on the destination ({}): {image_path} not extracted",
            shown(path)
        )
    }
}

/// "3 files, 12 symbolic links and 1 directory" (symbolic links only when there are some).
pub(crate) fn extracted_counts(files: u64, symlinks: u64, dirs: u64) -> String {
    use crate::report::counted;
    let mut parts = vec![counted(files, "file", "files")];
    if symlinks > 0 {
        parts.push(counted(symlinks, "symbolic link", "symbolic links"));
    }
    let dirs = counted(dirs, "directory", "directories");
    format!("{} and {dirs}", parts.join(", "))
}

pub(crate) use glassmaster::read::restore::{check_name_bytes, shown_name};

/// The file name to create for the name bytes `raw`, checked ([`check_name_bytes`]): the exact
/// bytes on Unix; elsewhere the name must be UTF-8.
pub(crate) fn os_name(raw: &[u8]) -> Result<OsString, &'static str> {
    check_name_bytes(raw)?;
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(std::ffi::OsStr::from_bytes(raw).to_os_string())
    }
    #[cfg(not(unix))]
    {
        std::str::from_utf8(raw)
            .map(OsString::from)
            .map_err(|_| "name is not UTF-8, which this system cannot create")
    }
}

/// Creates a directory; an existing directory is fine (the image's merges into it). Anything
/// else in the way (a file, a symbolic link) is an error, or with `overwrite` is removed (a
/// link itself, never what it points to) and the directory made in its place.
pub(crate) fn make_dir(path: &Path, overwrite: bool) -> CliResult {
    match fs::symlink_metadata(path) {
        Ok(md) if md.is_dir() => Ok(()),
        Ok(_) if overwrite => {
            fs::remove_file(path).context(|| format!("cannot replace {}", shown(path)))?;
            fs::create_dir(path).context(|| format!("cannot create directory {}", shown(path)))
        }
        Ok(_) => Err(CliError::msg(format!(
            "cannot create directory {}: a file is in the way",
            shown(path)
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir(path).context(|| format!("cannot create directory {}", shown(path)))
        }
        Err(e) => Err(e).context(|| format!("cannot create directory {}", shown(path))),
    }
}

/// A destination path for messages (it contains names from the image).
pub(crate) fn shown(path: &Path) -> String {
    printable(&path.display().to_string()).into_owned()
}

pub(crate) fn set_dir_mtime(path: &Path, t: SystemTime) -> io::Result<()> {
    File::open(path)?.set_modified(t)
}

/// Creates a symbolic link at `path` (replacing a file or link there with `overwrite`, never a
/// directory).
pub(crate) fn make_symlink(target: &std::ffi::OsStr, path: &Path, overwrite: bool) -> CliResult {
    clear(path, overwrite)?;
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(target, path)
            .context(|| format!("cannot create symbolic link {}", shown(path)))
    }
    #[cfg(not(unix))]
    {
        let _ = target;
        Err(CliError::msg(format!(
            "cannot create symbolic link {}: not supported here",
            shown(path)
        )))
    }
}

/// Makes `path` another name of `first` (replacing a file or link there with `overwrite`).
pub(crate) fn replace_with_hard_link(first: &Path, path: &Path, overwrite: bool) -> CliResult {
    clear(path, overwrite)?;
    fs::hard_link(first, path)
        .context(|| format!("cannot link {} to {}", shown(path), shown(first)))
}

/// Sets the permission bits (the low 12 bits of `mode`).
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
