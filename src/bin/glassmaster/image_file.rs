//! Opening an image file for `ls`, `extract` and `map`, and choosing its view.

use std::fs::File;
use std::io::{self, BufReader};
use std::path::Path;

use clap::ValueEnum;
use glassmaster::read::{ImageReader, View};

use crate::error::{CliError, CliResult, ResultExt};

/// The reader over an image file.
pub type FileImage = ImageReader<BufReader<File>>;

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
}

impl From<ViewArg> for View {
    fn from(v: ViewArg) -> View {
        match v {
            ViewArg::Iso9660 => View::Iso9660,
            ViewArg::Joliet => View::Joliet,
            ViewArg::Iso1999 => View::Iso1999,
        }
    }
}

/// Opens `path` as an image.
pub fn open_image(path: &Path) -> CliResult<FileImage> {
    let file = open_regular(path).context(|| format!("cannot open image {}", path.display()))?;
    ImageReader::open(BufReader::new(file))
        .context(|| format!("cannot read image {}", path.display()))
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
        Err(CliError::msg(format!(
            "the image has no {view} view (it has: {})",
            available.join(", ")
        )))
    }
}
