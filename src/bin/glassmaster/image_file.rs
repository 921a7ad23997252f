//! Opening an image file for `ls`, `extract` and `map`, and choosing its view.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufReader};
use std::path::Path;

use clap::ValueEnum;
use glassmaster::read::{ImageReader, Limits, SessionView, View};

use crate::error::{CliError, CliResult, ResultExt};

/// The reader over an image file (one session of it: the newest unless asked otherwise).
pub type FileImage = ImageReader<SessionView<BufReader<File>>>;

/// A file-system view, as given on the command line.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewArg {
    /// The ISO 9660 (primary volume descriptor) tree
    #[value(name = "iso9660")]
    Iso9660,
    /// The Joliet tree
    #[value(name = "joliet")]
    Joliet,
    /// The ISO 9660:1999 tree
    #[value(name = "iso1999")]
    Iso1999,
    /// The Rock Ridge tree (POSIX names and attributes of the ISO 9660 tree)
    #[value(name = "rockridge", alias = "rr")]
    RockRidge,
    /// The UDF tree
    #[value(name = "udf")]
    Udf,
}

impl From<ViewArg> for View {
    fn from(v: ViewArg) -> View {
        match v {
            ViewArg::Iso9660 => View::Iso9660,
            ViewArg::Joliet => View::Joliet,
            ViewArg::Iso1999 => View::Iso1999,
            ViewArg::RockRidge => View::RockRidge,
            ViewArg::Udf => View::Udf,
        }
    }
}

/// Opens `path` as an image (its newest session).
pub fn open_image(path: &Path) -> CliResult<FileImage> {
    let file = open_regular(path).context(|| format!("cannot open image {}", path.display()))?;
    let limits = limits_for(&file);
    ImageReader::open_with_limits(SessionView::newest(BufReader::new(file)), limits)
        .context(|| format!("cannot read image {}", path.display()))
}

/// The reader's limits for an image file: a metadata budget that grows with its size, so
/// that images of millions of files list (see [`Limits::for_image_len`]).
pub fn limits_for(file: &File) -> Limits {
    Limits::for_image_len(file.metadata().map_or(0, |m| m.len()))
}

/// Opens session `n` (1-based; `None`: the newest) of the image at `path`.
pub fn open_session(path: &Path, n: Option<u32>) -> CliResult<FileImage> {
    let Some(k) = n else {
        return open_image(path);
    };
    let file = open_regular(path).context(|| format!("cannot open image {}", path.display()))?;
    let limits = limits_for(&file);
    ImageReader::open_session_with_limits(BufReader::new(file), Some(k), limits)
        .context(|| format!("cannot read session {k} of image {}", path.display()))
}

/// The sessions of the image at `path`, oldest first.
pub fn list_sessions(path: &Path) -> CliResult<Vec<glassmaster::read::SessionInfo>> {
    let file = open_regular(path).context(|| format!("cannot open image {}", path.display()))?;
    glassmaster::read::sessions(&mut BufReader::new(file))
        .context(|| format!("cannot read the sessions of image {}", path.display()))
}

/// Opens a file for reading, refusing directories (which `File::open` accepts on Unix).
fn open_regular(path: &Path) -> io::Result<File> {
    let file = File::open(path)?;
    if file.metadata()?.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "is a directory",
        ));
    }
    Ok(file)
}

/// The requested view, or the image's default one; an error if the image lacks it.
pub fn choose_view(reader: &FileImage, requested: Option<ViewArg>) -> CliResult<View> {
    let Some(requested) = requested else {
        return Ok(reader.default_view());
    };
    let view = View::from(requested);
    let views = reader.views();
    if views.contains(&view) {
        Ok(view)
    } else {
        let available: Vec<String> = views.iter().map(|v| v.to_string()).collect();
        if let (View::Udf, Some(e)) = (view, reader.udf_error()) {
            // The image announces UDF (ECMA-167 2/8.3) but it cannot be read: say why.
            return Err(CliError::msg(format!(
                "the image's UDF file system is damaged and cannot be read: {e} (readable views: {})",
                available.join(", ")
            )));
        }
        Err(CliError::msg(format!(
            "the image has no {view} view (it has: {})",
            available.join(", ")
        )))
    }
}

/// Prints the reader's warnings (deviations accepted, damaged copies replaced by others,
/// damaged entries left out) on standard error, from the `from`th on; returns how many there
/// are now.
pub fn print_warnings(reader: &FileImage, from: usize) -> usize {
    let all = reader.warnings();
    for w in all.iter().skip(from) {
        eprintln!("glassmaster: warning: {}", printable(w));
    }
    all.len()
}

/// A path or name from an image, safe to print: control characters (which an untrusted image
/// could use to send escape sequences to the terminal) are shown escaped (`\u{1b}`).
pub fn printable(s: &str) -> Cow<'_, str> {
    if s.chars().any(char::is_control) {
        Cow::Owned(
            s.chars()
                .map(|c| {
                    if c.is_control() {
                        c.escape_debug().to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
        )
    } else {
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("/a/b.txt"), "/a/b.txt");
        assert_eq!(printable("/名前/é"), "/名前/é");
        assert_eq!(printable("/x\u{1b}[2Jy\n"), "/x\\u{1b}[2Jy\\n");
    }
}
