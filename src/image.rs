//! The built image (IMAPI's IFileSystemImageResult) and its lazy `Read + Seek` stream.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

use crate::error::Result;
use crate::progress::{Progress, ProgressItems};

/// A laid-out image: its size and segments are known; bytes are rendered on demand.
#[derive(Clone)]
pub struct Image {
    pub(crate) inner: Arc<crate::layout::Layout>,
}

impl Image {
    /// Size in 2048-byte blocks.
    pub fn total_blocks(&self) -> u64 {
        todo!()
    }
    /// Size in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.total_blocks() * crate::BLOCK_SIZE as u64
    }
    /// The segments of the image, in order, covering every block.
    pub fn progress_items(&self) -> &ProgressItems {
        todo!()
    }
    /// Warnings from the layout (shortened Joliet names, ...).
    pub fn warnings(&self) -> &[String] {
        todo!()
    }
    /// A fresh `Read + Seek` stream over the image bytes, positioned at 0.
    pub fn stream(&self) -> ImageStream {
        todo!()
    }
    /// Writes the whole image to `w`, driving `progress`.
    pub fn write_to<W: Write>(&self, _w: W, _progress: &mut dyn Progress) -> Result<()> {
        todo!()
    }
    /// Writes the image to `path` atomically: a temporary file beside it, renamed on success and
    /// removed on any error or abort.
    pub fn write_to_path(&self, _path: &Path, _progress: &mut dyn Progress) -> Result<()> {
        todo!()
    }
}

/// A `Read + Seek` view of an [`Image`], rendering sectors on demand.
pub struct ImageStream {
    _pos: u64,
}

impl Read for ImageStream {
    fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
        todo!()
    }
}
impl Seek for ImageStream {
    fn seek(&mut self, _pos: SeekFrom) -> io::Result<u64> {
        todo!()
    }
}
