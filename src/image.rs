//! The built image (IMAPI's IFileSystemImageResult) and its lazy `Read + Seek` stream, the single
//! point through which every byte of an image is produced.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::layout::{render, Layout, SegKind};
use crate::progress::{Outcome, Phase, Progress, ProgressItems};
use crate::tree::{DataId, Source};
use crate::BLOCK_SIZE;

/// A laid-out image: its size and segments are known; bytes are rendered on demand.
#[derive(Clone)]
pub struct Image {
    pub(crate) inner: Arc<Layout>,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image")
            .field("total_blocks", &self.inner.total_blocks)
            .field("items", &self.inner.items.len())
            .finish()
    }
}

/// Output is copied in chunks of this size; progress and abort are checked once per chunk.
const CHUNK: usize = 1 << 20;

impl Image {
    /// Size in 2048-byte blocks.
    pub fn total_blocks(&self) -> u64 {
        self.inner.total_blocks
    }
    /// Size in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.total_blocks() * BLOCK_SIZE as u64
    }
    /// The segments of the image, in order, covering every block.
    pub fn progress_items(&self) -> &ProgressItems {
        &self.inner.items
    }
    /// Warnings from adding and laying out (skipped special files, changed Joliet names, ...).
    pub fn warnings(&self) -> &[String] {
        &self.inner.warnings
    }
    /// What content deduplication saved: files whose data is shared with a twin, and bytes.
    pub fn dedup_saved(&self) -> (u64, u64) {
        self.inner.dedup_saved
    }
    /// Number of regular files (names) in the image.
    pub fn file_count(&self) -> u64 {
        self.inner
            .tree
            .nodes
            .iter()
            .filter(|n| matches!(n.kind, crate::tree::NodeKind::File { .. }))
            .count() as u64
    }
    /// Number of directories in the image, the root included.
    pub fn directory_count(&self) -> u64 {
        self.inner
            .tree
            .nodes
            .iter()
            .filter(|n| n.is_dir() && !n.synthetic)
            .count() as u64
    }
    /// A fresh `Read + Seek` stream over the image bytes, positioned at 0.
    pub fn stream(&self) -> ImageStream {
        ImageStream {
            layout: self.inner.clone(),
            pos: 0,
            cache: None,
            open: None,
        }
    }

    /// Writes the whole image to `w`, driving `progress` (see [`Progress`] for the guarantees).
    pub fn write_to<W: Write>(&self, mut w: W, progress: &mut dyn Progress) -> Result<()> {
        progress.begin(Phase::Write, self.total_blocks());
        let r = self
            .write_inner(&mut w, progress)
            .and_then(|()| w.flush().map_err(Error::Write));
        progress.end(
            Phase::Write,
            match &r {
                Ok(()) => Outcome::Completed,
                Err(Error::Aborted) => Outcome::Aborted,
                Err(_) => Outcome::Failed,
            },
        );
        r
    }

    fn write_inner(&self, w: &mut dyn Write, progress: &mut dyn Progress) -> Result<()> {
        let total = self.total_blocks();
        let mut stream = self.stream();
        let mut buf = vec![0u8; CHUNK];
        let mut done_bytes = 0u64;
        for item in self.inner.items.iter() {
            progress.item_started(item);
            if progress.query_abort() {
                return Err(Error::Aborted);
            }
            let mut left = item.byte_len();
            while left > 0 {
                let n = left.min(CHUNK as u64) as usize;
                stream.read_exact(&mut buf[..n]).map_err(Error::from_io)?;
                w.write_all(&buf[..n]).map_err(Error::Write)?;
                left -= n as u64;
                done_bytes += n as u64;
                if left > 0 || n == CHUNK {
                    progress.update(done_bytes / BLOCK_SIZE as u64, total);
                    if progress.query_abort() {
                        return Err(Error::Aborted);
                    }
                }
            }
            progress.update(done_bytes / BLOCK_SIZE as u64, total);
        }
        Ok(())
    }

    /// Writes the image to `path` atomically: into a temporary file beside it, renamed over
    /// `path` on success and removed on any error or abort, so `path` is never half-written.
    pub fn write_to_path(&self, path: &Path, progress: &mut dyn Progress) -> Result<()> {
        let tmp = temp_path_for(path);
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(Error::Write)?;
        let mut guard = TempGuard(Some(tmp.clone()));
        let r = self
            .write_to(io::BufWriter::with_capacity(CHUNK, &file), progress)
            .and_then(|()| fs::rename(&tmp, path).map_err(Error::Write));
        if r.is_ok() {
            guard.0 = None;
        }
        r
    }
}

/// Removes the temporary file unless disarmed.
struct TempGuard(Option<PathBuf>);
impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
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

/// An open source file while streaming its data.
struct OpenData {
    data: DataId,
    /// Bytes of the file consumed so far.
    offset: u64,
    reader: Box<dyn Read + Send>,
    /// Whether `reader` can seek (files on disk, in-memory bytes).
    seekable: Option<Box<dyn FnMut(u64) -> io::Result<()> + Send>>,
}

/// A `Read + Seek` view of an [`Image`], rendering sectors on demand: metadata segments are
/// encoded when first touched (one at a time is cached), file data is read from the sources.
/// Memory use does not depend on file sizes.
pub struct ImageStream {
    layout: Arc<Layout>,
    pos: u64,
    /// The rendered metadata segment under the cursor.
    cache: Option<(usize, Vec<u8>)>,
    open: Option<OpenData>,
}

impl ImageStream {
    fn changed(&self, data: DataId, reason: String) -> io::Error {
        Error::SourceChanged {
            image_path: self.data_path(data),
            reason,
        }
        .into()
    }

    fn data_path(&self, data: DataId) -> String {
        self.layout
            .tree
            .nodes
            .iter()
            .position(|n| matches!(n.kind, crate::tree::NodeKind::File { data: d } if d == data))
            .map(|i| self.layout.tree.path_of(i as u32))
            .unwrap_or_default()
    }

    /// Opens `data` positioned at `offset`.
    fn open_data(&mut self, data: DataId, offset: u64) -> io::Result<()> {
        let fd = &self.layout.tree.data[data as usize];
        let expected = fd.len;
        let od = match &fd.source {
            Source::Bytes(b) => {
                let mut c = io::Cursor::new(b.clone());
                c.set_position(offset);
                OpenData {
                    data,
                    offset,
                    reader: Box::new(c),
                    seekable: None,
                }
            }
            Source::Path { path, mtime } => {
                let f = File::open(path).map_err(|e| {
                    let what = if e.kind() == io::ErrorKind::NotFound {
                        "vanished".to_string()
                    } else {
                        format!("cannot be read ({e})")
                    };
                    self.changed(data, format!("{} {what}", path.display()))
                })?;
                let md = f
                    .metadata()
                    .map_err(|e| self.changed(data, format!("{}: {e}", path.display())))?;
                if md.len() != expected {
                    return Err(self.changed(
                        data,
                        format!(
                            "{} is now {} bytes, was {expected}",
                            path.display(),
                            md.len()
                        ),
                    ));
                }
                if mtime.is_some() && md.modified().ok() != *mtime {
                    return Err(self.changed(data, format!("{} was modified", path.display())));
                }
                let mut f2 = f.try_clone()?;
                let mut r = f;
                if offset > 0 {
                    r.seek(SeekFrom::Start(offset))?;
                }
                OpenData {
                    data,
                    offset,
                    reader: Box::new(r),
                    seekable: Some(Box::new(move |o| f2.seek(SeekFrom::Start(o)).map(|_| ()))),
                }
            }
            Source::Checksums { self_hash } => {
                let (list, own) = crate::checksums::contents(&self.layout);
                let bytes = if *self_hash { own } else { list };
                let mut c = io::Cursor::new(bytes::Bytes::from(bytes));
                c.set_position(offset);
                OpenData {
                    data,
                    offset,
                    reader: Box::new(c),
                    seekable: None,
                }
            }
            Source::BootCatalog => {
                let bytes = self
                    .layout
                    .boot
                    .as_ref()
                    .map(|b| b.catalog(&self.layout.file_lba))
                    .unwrap_or_default();
                let mut c = io::Cursor::new(bytes::Bytes::from(bytes));
                c.set_position(offset);
                OpenData {
                    data,
                    offset,
                    reader: Box::new(c),
                    seekable: None,
                }
            }
            Source::Base { file, .. } => {
                let r = file.open_at(offset).map_err(|e| {
                    self.changed(data, format!("the base image cannot be read: {e}"))
                })?;
                OpenData {
                    data,
                    offset,
                    reader: Box::new(r),
                    seekable: None,
                }
            }
            Source::Reader(open) => {
                let mut r = open()
                    .map_err(|e| self.changed(data, format!("reader cannot be opened: {e}")))?;
                // Skip forward by reading: caller readers need not seek.
                let skipped = io::copy(&mut (&mut r).take(offset), &mut io::sink())?;
                if skipped < offset {
                    return Err(self.changed(
                        data,
                        format!("reader ended after {skipped} of {expected} bytes"),
                    ));
                }
                OpenData {
                    data,
                    offset,
                    reader: r,
                    seekable: None,
                }
            }
        };
        self.open = Some(od);
        Ok(())
    }

    /// Reads file data for segment `seg` at `seg_off` into `buf`.
    fn read_file(&mut self, data: DataId, seg_off: u64, buf: &mut [u8]) -> io::Result<usize> {
        let len = self.layout.tree.data[data as usize].len;
        if seg_off >= len {
            // Zero padding to the end of the last block.
            buf.fill(0);
            return Ok(buf.len());
        }
        let reuse = matches!(&self.open, Some(o) if o.data == data && o.offset <= seg_off);
        if !reuse {
            self.open_data(data, seg_off)?;
        }
        let Some(od) = self.open.as_mut() else {
            return Err(io::Error::other("no open source"));
        };
        if od.offset < seg_off {
            match od.seekable.as_mut() {
                Some(seek) => seek(seg_off)?,
                None => {
                    let want = seg_off - od.offset;
                    let got = io::copy(&mut (&mut od.reader).take(want), &mut io::sink())?;
                    if got < want {
                        let o = od.offset + got;
                        return Err(self.changed(data, format!("ended after {o} of {len} bytes")));
                    }
                }
            }
            od.offset = seg_off;
        }
        let want = (len - seg_off).min(buf.len() as u64) as usize;
        let mut got = 0;
        while got < want {
            match od.reader.read(&mut buf[got..want]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let msg = format!("read failed at byte {}: {e}", od.offset + got as u64);
                    self.open = None;
                    return Err(self.changed(data, msg));
                }
            }
        }
        od.offset += got as u64;
        // El Torito boot info table: patched into the bytes as they stream by.
        if let Some(p) = self.layout.patchers.get(&data) {
            p.patch(od.offset - got as u64, &mut buf[..got]);
        }
        if got < want {
            let o = od.offset;
            self.open = None;
            return Err(self.changed(data, format!("shrank: ended after {o} of {len} bytes")));
        }
        if od.offset == len {
            // A source that still has bytes has grown since it was scanned.
            let mut one = [0u8; 1];
            let extra = loop {
                match od.reader.read(&mut one) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    other => break other,
                }
            };
            if matches!(extra, Ok(n) if n > 0) {
                self.open = None;
                return Err(self.changed(data, format!("grew beyond its {len} bytes")));
            }
            // Keep the reader positioned at `len` (the extra read returned 0 bytes).
        }
        Ok(got)
    }
}

impl Read for ImageStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let total = self.layout.total_blocks * BLOCK_SIZE as u64;
        if self.pos >= total || buf.is_empty() {
            return Ok(0);
        }
        let block = self.pos / BLOCK_SIZE as u64;
        let Some(seg) = self.layout.items.index_of_block(block) else {
            return Ok(0);
        };
        let item = &self.layout.items.as_slice()[seg];
        let seg_off = self.pos - item.byte_offset();
        let seg_left = item.byte_len() - seg_off;
        let n = (buf.len() as u64).min(seg_left) as usize;
        let buf = &mut buf[..n];
        let got = match self.layout.kinds[seg] {
            SegKind::Zero => {
                buf.fill(0);
                n
            }
            SegKind::File { data } => self.read_file(data, seg_off, buf)?,
            SegKind::Base { src } => {
                let a = self
                    .layout
                    .options
                    .append
                    .as_ref()
                    .ok_or_else(|| io::Error::other("no base image"))?;
                a.read_base(src * BLOCK_SIZE as u64 + seg_off, buf)
                    .map_err(|e| {
                        io::Error::other(Error::SourceChanged {
                            image_path: "/".into(),
                            reason: format!("the base image cannot be read: {e}"),
                        })
                    })?;
                n
            }
            _ => {
                if !matches!(&self.cache, Some((s, _)) if *s == seg) {
                    self.cache = Some((seg, render::render(&self.layout, seg)));
                }
                match &self.cache {
                    Some((_, bytes)) => {
                        let src = bytes
                            .get(seg_off as usize..seg_off as usize + n)
                            .ok_or_else(|| io::Error::other("render size mismatch"))?;
                        buf.copy_from_slice(src);
                        n
                    }
                    None => 0,
                }
            }
        };
        self.pos += got as u64;
        Ok(got)
    }
}

impl Seek for ImageStream {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let total = (self.layout.total_blocks * BLOCK_SIZE as u64) as i128;
        let new = match pos {
            SeekFrom::Start(p) => p as i128,
            SeekFrom::End(d) => total + d as i128,
            SeekFrom::Current(d) => self.pos as i128 + d as i128,
        };
        if new < 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the image",
            ));
        }
        self.pos = new as u64;
        Ok(self.pos)
    }
}
