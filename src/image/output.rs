//! The output side of writing an image: the temporary file renamed over the target
//! ([`TempFile`], with its space reserved first), and how a failure of the output is told from
//! a failing source.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Files with at least this many bytes left are copied file to file when the destination is a
/// regular file; smaller ones go through the buffer (fewer system calls per file).
pub(crate) const DIRECT_MIN: u64 = 256 << 10;

/// File data copied file to file by the kernel goes in steps of this size (progress and abort
/// are checked between steps).
pub(crate) const DIRECT_STEP: u64 = 1 << 20;

/// A new file beside the target, renamed over it by [`commit`](Self::commit) and removed when
/// dropped uncommitted (on any error or abort), so the target is never half-written. Its
/// space is reserved when it is created ([`preallocate`]).
pub(crate) struct TempFile {
    target: PathBuf,
    tmp: Option<PathBuf>,
    file: File,
}

impl TempFile {
    /// Creates the temporary file for `target` (read and write: the single-pass writer reads
    /// back what it wrote) and reserves `len` bytes.
    pub fn create(target: &Path, len: u64) -> Result<TempFile> {
        let tmp = temp_path_for(target);
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(Error::Write)?;
        let out = TempFile {
            target: target.to_path_buf(),
            tmp: Some(tmp),
            file,
        };
        preallocate(&out.file, len, target)?;
        Ok(out)
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    /// Flushes the file and renames it over the target.
    pub fn commit(mut self) -> Result<()> {
        (&self.file).flush().map_err(Error::Write)?;
        if let Some(tmp) = &self.tmp {
            fs::rename(tmp, &self.target).map_err(Error::Write)?;
        }
        self.tmp = None;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = self.tmp.take() {
            let _ = fs::remove_file(p);
        }
    }
}

/// Reserves the disk space of a new image file of `len` bytes before anything is written
/// (Linux `fallocate`, mode 0: the blocks are allocated unwritten and read as zeros, the size
/// becomes `len`): a disk or file system too small for the image fails here, at once, not
/// after minutes of copying, and the image's blocks are allocated in one go (in time it was
/// neutral on the benchmark machine: docs/performance.md). A file system without `fallocate` is written as before; the caller still sets the
/// final size (a completed single-pass layout may be smaller than the provisional one).
fn preallocate(file: &File, len: u64, path: &Path) -> Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::{fs::FallocateFlags, io::Errno};
        match rustix::fs::fallocate(file, FallocateFlags::empty(), 0, len) {
            Err(e) if e == Errno::NOSPC || e == Errno::FBIG || e == Errno::DQUOT => {
                let e = io::Error::from(e);
                return Err(Error::Write(io::Error::new(
                    e.kind(),
                    format!(
                        "{}: no room for the image's {len} bytes: {e}",
                        path.display()
                    ),
                )));
            }
            // Done, or not supported here (EOPNOTSUPP, ENOSYS, EINVAL...): allocated as written.
            _ => {}
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = (file, len, path);
    Ok(())
}

/// Whether `e` is the output's failure (disk full, quota, file size limit, a pipe or socket
/// closed by the reader): when a copy from descriptor to descriptor fails so, the source is
/// not at fault.
pub(crate) fn output_failed(e: &io::Error) -> bool {
    if matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
    ) {
        return true;
    }
    #[cfg(unix)]
    {
        use rustix::io::Errno;
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if Errno::from_io_error(e) == Some(Errno::DQUOT) {
            return true;
        }
        matches!(Errno::from_io_error(e), Some(x) if x == Errno::NOSPC || x == Errno::FBIG)
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

fn temp_path_for(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = format!(".{name}.{}-{nanos}.glassmaster-tmp", std::process::id());
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.join(tmp),
        _ => PathBuf::from(tmp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> (PathBuf, File) {
        let p = std::env::temp_dir().join(format!("glassmaster-{name}-{}", std::process::id()));
        let f = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&p)
            .unwrap();
        (p, f)
    }

    #[test]
    fn preallocation_reserves_the_size_or_says_why_not() {
        let (p, f) = scratch("prealloc");
        preallocate(&f, 1 << 20, &p).unwrap();
        let len = f.metadata().unwrap().len();
        // Reserved (the size is set), or a file system without fallocate (nothing changed).
        assert!(len == 1 << 20 || len == 0, "{len}");
        #[cfg(target_os = "linux")]
        {
            // Larger than any file system allows: refused at once, naming the destination.
            let e = preallocate(&f, 1 << 62, &p).unwrap_err();
            let msg = e.to_string();
            assert!(matches!(e, Error::Write(_)), "{msg}");
            assert!(
                msg.contains(&*p.to_string_lossy()) && msg.contains("no room"),
                "{msg}"
            );
        }
        drop(f);
        fs::remove_file(&p).unwrap();
    }

    #[test]
    fn a_full_output_is_told_from_a_failing_source() {
        #[cfg(unix)]
        {
            use rustix::io::Errno;
            assert!(output_failed(&io::Error::from(Errno::NOSPC)));
            assert!(output_failed(&io::Error::from(Errno::FBIG)));
            assert!(!output_failed(&io::Error::from(Errno::IO)));
            assert!(output_failed(&io::Error::from(Errno::PIPE)));
        }
        assert!(!output_failed(&io::Error::other("x")));
    }
}
