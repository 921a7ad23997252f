//! Cloning (reflinking) large files into the image: where the output's file system shares
//! blocks between files (XFS with reflink=1, btrfs), `copy_file_range(2)` (what the writer's
//! file-to-file copy uses, `image::Image::copy_file_data_to`) clones instead of copying when
//! the source and image offsets are block-aligned. The layout places files of at least
//! `Options::reflink_min` bytes at even blocks (4 KiB) once [`output_can_clone`] said yes
//! (`Options::prepare_reflink`); everything else is unchanged, and a source the kernel cannot
//! clone (another file system, a tail block) is copied by the same call.

use std::io;
use std::path::Path;

use crate::build::options::{Options, Reflink};
use crate::error::{Error, Result};

/// Whether the directory of `output` (a file to be created) is on a file system that clones
/// (probed with two scratch files there, removed after); the error says why not.
pub(crate) fn output_can_clone(output: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        linux::probe(output)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = output;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "cloning file data is implemented on Linux only",
        ))
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::fs::{self, File, OpenOptions};
    use std::io::{self, Write};
    use std::path::{Path, PathBuf};

    /// Removes a scratch file when dropped.
    struct Scratch(PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_file(&self.0);
        }
    }

    fn scratch(dir: &Path, tag: &str) -> io::Result<(Scratch, File)> {
        let p = dir.join(format!(
            ".glassmaster-reflink-probe-{}-{tag}",
            std::process::id()
        ));
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&p)?;
        Ok((Scratch(p), f))
    }

    pub(super) fn probe(output: &Path) -> io::Result<()> {
        let dir = match output.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let (_a, mut src) = scratch(dir, "a")?;
        let (_b, dst) = scratch(dir, "b")?;
        src.write_all(&[0x5a; 4096])?;
        src.sync_data()?;
        // FICLONE (whole file): the file system shares blocks between files.
        rustix::fs::ioctl_ficlone(&dst, &src).map_err(|e| {
            let e = io::Error::from(e);
            io::Error::new(
                e.kind(),
                format!(
                    "the file system of {} does not clone files: {e}",
                    dir.display()
                ),
            )
        })
    }
}

// The probe lives here (image/), so the builder's options (build/) never import the image
// stage: `prepare_reflink` is an `Options` method defined beside what it calls.
impl Options {
    /// Decides, for an image to be written to the new file `output`, whether large files are
    /// aligned to 4 KiB so they can be cloned: `Auto` and `Always` probe the output's directory
    /// (Linux only), `Always` fails there when the file system does not share blocks. Without
    /// this call the layout is the same as with [`Reflink::Never`]. Call it before building.
    pub fn prepare_reflink(&mut self, output: &std::path::Path) -> Result<()> {
        self.reflink_align = match self.reflink {
            Reflink::Never => false,
            Reflink::Auto => output_can_clone(output).is_ok(),
            Reflink::Always => {
                output_can_clone(output).map_err(|e| {
                    Error::InvalidOption(format!(
                        "--reflink always: {} cannot share blocks with its sources: {e}",
                        output.display()
                    ))
                })?;
                true
            }
        };
        Ok(())
    }
}
