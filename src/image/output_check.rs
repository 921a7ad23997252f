//! The output never destroys input: before an image is written to a path, the path is checked
//! against the tree's sources on disk (files added by path, scanned directories). Writing over
//! one of them (the image is renamed over the path when complete) would replace a source with
//! the image.

use std::fs;
use std::path::{Path, PathBuf};

use crate::build::tree::{Source, Tree};
use crate::error::{Error, Result};

/// Fails with [`Error::OutputIsSource`] if `out` exists and is a file the tree reads, one of
/// its scanned directories, or lies inside one (the old file would be both an input of the
/// image and replaced by it). A path that does not exist yet destroys nothing. Files are
/// compared by device and inode (so another spelling of the path, `..`, or a symbolic link to
/// it is caught); containment by the device and inode of every directory above the output's
/// resolved path, and of the directory holding it when `out` is itself a symbolic link.
pub(crate) fn refuse_source_overwrite(tree: &Tree, out: &Path) -> Result<()> {
    let Ok(out_md) = fs::metadata(out) else {
        // Does not exist (or cannot be seen): nothing there to destroy. A dangling symbolic
        // link is replaced, not followed, by the rename.
        return Ok(());
    };
    // Writing to a device or FIFO replaces nothing.
    if !out_md.is_file() && !out_md.is_dir() {
        return Ok(());
    }
    // Files added by path (and the bases of spanned parts) that could be this very file.
    for fd in &tree.data {
        let path = match &fd.source {
            Source::Path { path, .. } => path,
            Source::Slice { base, .. } => match &base.source {
                Source::Path { path, .. } => path,
                _ => continue,
            },
            _ => continue,
        };
        // A file of another size is not this one (or has changed, which fails the build
        // before anything is renamed).
        if out_md.is_file() && fd.len != out_md.len() {
            continue;
        }
        if same_file(out, &out_md, path) {
            return Err(refused(out, path, false));
        }
    }
    if tree.scan_dirs.is_empty() {
        return Ok(());
    }
    // The directories that hold the output: above its resolved path, and above the link's
    // own place if it is a symbolic link (the rename replaces the link).
    let mut chains: Vec<PathBuf> = Vec::new();
    if let Ok(real) = fs::canonicalize(out) {
        chains.push(real);
    }
    if let (Some(parent), Some(name)) = (out.parent(), out.file_name()) {
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if let Ok(p) = fs::canonicalize(parent) {
            chains.push(p.join(name));
        }
    }
    let dirs = ScanDirs::new(&tree.scan_dirs);
    for chain in &chains {
        // From the top down, so the outermost source directory is named.
        let ancestors: Vec<&Path> = chain.ancestors().collect();
        for (i, dir) in ancestors.iter().enumerate().rev() {
            if let Some(src) = dirs.find(dir) {
                // `i == 0` is the output itself: a source directory.
                return Err(refused(out, src, i != 0));
            }
        }
    }
    Ok(())
}

fn refused(out: &Path, input: &Path, inside: bool) -> Error {
    Error::OutputIsSource {
        output: out.to_path_buf(),
        input: input.to_path_buf(),
        inside,
    }
}

/// The scanned directories, identified by device and inode (Unix) or resolved path.
struct ScanDirs<'a> {
    #[cfg(unix)]
    ids: std::collections::HashMap<(u64, u64), &'a Path>,
    #[cfg(not(unix))]
    paths: std::collections::HashMap<PathBuf, &'a Path>,
}

impl<'a> ScanDirs<'a> {
    fn new(dirs: &'a [PathBuf]) -> Self {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let mut ids = std::collections::HashMap::new();
            for d in dirs {
                if let Ok(md) = fs::metadata(d) {
                    ids.entry((md.dev(), md.ino())).or_insert(d.as_path());
                }
            }
            ScanDirs { ids }
        }
        #[cfg(not(unix))]
        {
            let mut paths = std::collections::HashMap::new();
            for d in dirs {
                if let Ok(p) = fs::canonicalize(d) {
                    paths.entry(p).or_insert(d.as_path());
                }
            }
            ScanDirs { paths }
        }
    }

    /// The scanned directory that `dir` (a resolved path) is, if any.
    fn find(&self, dir: &Path) -> Option<&'a Path> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let md = fs::metadata(dir).ok()?;
            self.ids.get(&(md.dev(), md.ino())).copied()
        }
        #[cfg(not(unix))]
        {
            self.paths.get(dir).copied()
        }
    }
}

/// Whether `path` is the file `out`, whose metadata is `md`.
fn same_file(out: &Path, md: &fs::Metadata, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let _ = out;
        fs::metadata(path).is_ok_and(|p| p.dev() == md.dev() && p.ino() == md.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = md;
        matches!((fs::canonicalize(out), fs::canonicalize(path)), (Ok(a), Ok(b)) if a == b)
    }
}
