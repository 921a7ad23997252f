//! The built image (IMAPI's IFileSystemImageResult) and its lazy `Read + Seek` stream, the single
//! point through which every byte of an image is produced.

pub(crate) mod output;
pub(crate) mod output_check;
pub(crate) mod reflink;
pub(crate) mod single_pass;

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

use crate::build::boot::BootPlan;
use crate::build::source::{
    caller_source_error, changed, check_stamp, open_checked, open_file_data, read_error,
    read_failed, read_twice_at, source_io_error, Source, Stamp, WHILE_READ,
};
use crate::build::source::{Placed, ReadSeek};
use crate::build::tree::{DataId, FileData, NodeId, Tree};
use crate::error::{Error, Result};
use crate::layout::{render, Layout, SegKind};
use crate::progress::{Outcome, Phase, Progress, ProgressItems};
use crate::BLOCK_SIZE_U64;
use output::{output_failed, TempFile, DIRECT_MIN, DIRECT_STEP};

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

/// Output is handed to the destination in chunks of this size; progress and abort are checked
/// once per chunk. 128 KiB (as `cat`) keeps the buffer in the CPU cache: 1 MiB was 1.5x slower
/// streaming a 2 GiB file into `/dev/null` or a pipe.
const CHUNK: usize = 128 << 10;
/// What a generated file may ask of the image it is in.
impl Placed for Layout {
    fn tree(&self) -> &Tree {
        &self.tree
    }
    fn file_lba(&self) -> &[u32] {
        &self.file_lba
    }
    fn boot(&self) -> Option<&BootPlan> {
        self.boot.as_ref()
    }
    /// A stream over a copy of the layout without its directory views: it reads file data
    /// (and the zeros between), and must not be asked for a generated file that hashes others.
    fn file_data_stream(&self) -> Box<dyn ReadSeek + '_> {
        let copy = Layout {
            pending: None,
            dedup_saved: self.dedup_saved,
            tree: self.tree.clone(),
            options: self.options.clone(),
            build_time: self.build_time,
            iso: None,
            joliet: None,
            part: None,
            udf: None,
            boot: self.boot.clone(),
            patchers: self.patchers.clone(),
            seed: self.seed,
            file_lba: self.file_lba.clone(),
            kinds: self.kinds.clone(),
            items: self.items.clone(),
            total_blocks: self.total_blocks,
            warnings: Vec::new(),
        };
        Box::new(
            Image {
                inner: Arc::new(copy),
            }
            .stream(),
        )
    }
}

impl Image {
    /// Size in 2048-byte blocks.
    pub fn total_blocks(&self) -> u64 {
        self.inner.total_blocks
    }
    /// Size in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.total_blocks() * BLOCK_SIZE_U64
    }
    /// The segments of the image, in order, covering every block.
    pub fn progress_items(&self) -> &ProgressItems {
        &self.inner.items
    }
    /// Warnings from adding and laying out (skipped special files, changed Joliet names, ...).
    pub fn warnings(&self) -> &[crate::warning::Warning] {
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
            .filter(|n| matches!(n.kind, crate::build::tree::NodeKind::File { .. }))
            .count() as u64
    }
    /// Number of directories in the image, the root included.
    pub fn directory_count(&self) -> u64 {
        self.inner
            .tree
            .nodes
            .iter()
            .enumerate()
            .filter(|&(i, n)| n.is_dir() && !self.inner.tree.is_synthetic(i as NodeId))
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
        self.write_dest(Dest::Writer(&mut w), progress)
    }

    /// Writes the whole image to an open file, pipe, socket or device (at its current
    /// position), driving `progress` like [`write_to`](Self::write_to). The data of large
    /// files on disk goes from descriptor to descriptor in the kernel instead of through a
    /// buffer (`std::io::copy` between two descriptors): into a regular file by
    /// `copy_file_range` (a reflink where the file system can share blocks), into a pipe, a
    /// device or `/dev/null` by `sendfile` (no copy through user space); where the kernel
    /// cannot, `std` falls back to reading and writing.
    pub fn write_to_file(&self, file: &File, progress: &mut dyn Progress) -> Result<()> {
        self.write_dest(Dest::File(file), progress)
    }

    fn write_dest(&self, mut dest: Dest<'_>, progress: &mut dyn Progress) -> Result<()> {
        progress.begin(Phase::Write, self.total_blocks());
        let r = self.write_inner(&mut dest, progress).and_then(|()| {
            match &mut dest {
                Dest::Writer(w) => w.flush(),
                Dest::File(f) => (&**f).flush(),
            }
            .map_err(Error::Write)
        });
        progress.end(Phase::Write, Outcome::of(&r));
        r
    }

    /// The write loop. Bytes are read from the stream straight into one buffer of `CHUNK`
    /// bytes (no second copy), which is handed to the destination when full; `update` reports
    /// what the destination has received and `query_abort` is polled once per item and after
    /// every hand-over (at most `CHUNK` bytes apart). With a regular file as the destination,
    /// the data of large files on disk skips the buffer (see
    /// [`ImageStream::copy_file_data_to`]).
    fn write_inner(&self, dest: &mut Dest<'_>, progress: &mut dyn Progress) -> Result<()> {
        let total = self.total_blocks();
        let mut stream = self.stream();
        let mut buf = vec![0u8; CHUNK];
        let mut fill = 0usize;
        let mut done_bytes = 0u64;
        let flush = |buf: &[u8], dest: &mut Dest<'_>, done: &mut u64| -> Result<()> {
            if !buf.is_empty() {
                match dest {
                    Dest::Writer(w) => w.write_all(buf),
                    Dest::File(f) => (&**f).write_all(buf),
                }
                .map_err(Error::Write)?;
                *done += buf.len() as u64;
            }
            Ok(())
        };
        for item in self.inner.items.iter() {
            progress.item_started(&item);
            if progress.query_abort() {
                return Err(Error::Aborted);
            }
            let mut left = item.byte_len();
            while left > 0 {
                if let Dest::File(f) = dest {
                    let f: &File = f;
                    if matches!(stream.plain_file_at_cursor(), Some((_, _, n)) if n >= DIRECT_MIN) {
                        flush(&buf[..fill], dest, &mut done_bytes)?;
                        fill = 0;
                        let n = stream
                            .copy_file_data_to(f, DIRECT_STEP)
                            .map_err(Error::from_io)?;
                        left -= n;
                        done_bytes += n;
                        progress.update(done_bytes / BLOCK_SIZE_U64, total);
                        if progress.query_abort() {
                            return Err(Error::Aborted);
                        }
                        if n > 0 {
                            continue;
                        }
                    }
                }
                if fill == CHUNK {
                    flush(&buf[..fill], dest, &mut done_bytes)?;
                    fill = 0;
                    progress.update(done_bytes / BLOCK_SIZE_U64, total);
                    if progress.query_abort() {
                        return Err(Error::Aborted);
                    }
                }
                let n = left.min((CHUNK - fill) as u64) as usize;
                stream
                    .read_exact(&mut buf[fill..fill + n])
                    .map_err(Error::from_io)?;
                fill += n;
                left -= n as u64;
            }
        }
        flush(&buf[..fill], dest, &mut done_bytes)?;
        progress.update(done_bytes / BLOCK_SIZE_U64, total);
        check_unread_sources(&self.inner)
    }

    /// Writes the image to `path` atomically: into a temporary file beside it, renamed over
    /// `path` on success and removed on any error or abort, so `path` is never half-written.
    /// A `path` that exists and is not a regular file (`/dev/null`, a FIFO, a device) is
    /// written directly.
    ///
    /// A `path` that is one of the image's sources on disk, a scanned source directory, or a
    /// file inside one is refused ([`Error::OutputIsSource`]) before anything is written.
    pub fn write_to_path(&self, path: &Path, progress: &mut dyn Progress) -> Result<()> {
        crate::image::output_check::refuse_source_overwrite(&self.inner.tree, path)?;
        if let Ok(md) = fs::metadata(path) {
            if !md.is_file() && !md.is_dir() {
                let file = fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(Error::Write)?;
                return self.write_to_file(&file, progress);
            }
        }
        if self.inner.options.append.is_none() {
            // A new file: file data first, read ahead on a second thread (`single_pass`).
            return crate::image::single_pass::write_to_path(self.clone(), path, progress)
                .map(|_| ());
        }
        let out = TempFile::create(path, self.size_bytes())?;
        self.write_to_file(out.file(), progress)?;
        out.commit()
    }
}

/// Where [`Image::write_to`] and [`Image::write_to_file`] send the bytes.
enum Dest<'a> {
    Writer(&'a mut dyn Write),
    /// A regular file: file data may be copied into it by the kernel.
    File(&'a File),
}

/// The reader of an open source.
enum SourceReader {
    /// A file on disk: read and seek through the one handle (no second descriptor).
    File(File),
    /// A caller's seekable source: seeked, never re-read from the start.
    Seek(crate::build::source::SeekHandle),
    /// Anything else (in-memory bytes, caller readers, generated files).
    Other(Box<dyn Read + Send>),
}

impl Read for SourceReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            SourceReader::File(f) => f.read(buf),
            SourceReader::Seek(h) => h.read(buf),
            SourceReader::Other(r) => r.read(buf),
        }
    }
}

/// An open source file while streaming its data.
struct OpenData {
    data: DataId,
    /// Bytes of the file consumed so far.
    offset: u64,
    reader: SourceReader,
    /// Where byte 0 of the data is in the reader's source (a slice's offset in its base).
    base_off: u64,
    /// Whether bytes after the declared end mean the source grew (not for a slice that ends
    /// before its base does).
    check_growth: bool,
    /// For a file on disk: its length and what `fstat` found when it was opened, compared
    /// again once its last byte is read.
    opened: Option<(u64, Stamp)>,
}

/// Checks the files on disk whose bytes a write does not read: deduplicated twins, which share
/// the extent of an identical file written (their bytes were read when the layout hashed and
/// compared them). Each must still be what was scanned (size, identity and times, by `stat`),
/// or the image would give it bytes it no longer holds. Costs one `stat` per such file.
pub(crate) fn check_unread_sources(layout: &Layout) -> Result<()> {
    let tree = &layout.tree;
    let mut written = vec![false; tree.data.len()];
    for k in &layout.kinds {
        if let SegKind::File { data } = k {
            if let Some(w) = written.get_mut(*data as usize) {
                *w = true;
            }
        }
    }
    for (id, fd) in tree.data.iter().enumerate() {
        let shared = layout.file_lba.get(id).is_some_and(|&lba| lba != 0);
        if written[id] || !shared || fd.len == 0 {
            continue;
        }
        if !matches!(fd.source, Source::Path { .. } | Source::Scanned { .. }) {
            continue;
        }
        let data = id as DataId;
        let Some((path, stamp)) = tree.source_file(data) else {
            continue;
        };
        let md = fs::metadata(&path)
            .map_err(|e| Error::from_io(source_io_error(&layout.tree, data, &path, e)))?;
        let why = if md.len() != fd.len {
            Some(format!(
                "{} is now {} bytes, was {}",
                path.display(),
                md.len(),
                fd.len
            ))
        } else {
            stamp
                .difference(&Stamp::of(&md))
                .map(|why| format!("{} {why}", path.display()))
        };
        if let Some(why) = why {
            return Err(Error::from_io(changed(&layout.tree, data, why)));
        }
    }
    Ok(())
}

/// A `Read + Seek` view of an [`Image`], rendering sectors on demand: metadata segments are
/// encoded when first touched (one at a time is cached), file data is read from the sources.
/// Memory use does not depend on file sizes.
///
/// An `io::Error` it returns carries the typed [`Error`] ([`Error::from_io`] gets it back) and
/// has the kind [`Error::io_kind`] gives: a source's own kind for [`Error::SourceRead`] (a
/// caller's reader that timed out is `TimedOut`), `InvalidData` for [`Error::SourceChanged`].
pub struct ImageStream {
    layout: Arc<Layout>,
    pos: u64,
    /// The rendered metadata segment under the cursor.
    cache: Option<(usize, Vec<u8>)>,
    open: Option<OpenData>,
}

impl ImageStream {
    /// The image's size in bytes (the stream's end; as [`Image::size_bytes`]).
    pub fn len(&self) -> u64 {
        self.layout.total_blocks * BLOCK_SIZE_U64
    }

    /// True for an image of no bytes (never the case for a built image).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn changed(&self, data: DataId, reason: String) -> io::Error {
        changed(&self.layout.tree, data, reason)
    }

    /// Opens `data` positioned at `offset`.
    fn open_data(&mut self, data: DataId, offset: u64) -> io::Result<()> {
        // Drop the previous source first: at most one source descriptor is open.
        self.open = None;
        let layout = self.layout.clone();
        let fd = &layout.tree.data[data as usize];
        // A slice (a part of a spanned file) reads its base source from `base_off`; the base's
        // whole length is what a file on disk must still have.
        let (source, expected, base_off, check_growth) = match &fd.source {
            Source::Slice {
                base,
                offset: start,
            } => (
                &base.source,
                base.len,
                *start,
                start.saturating_add(fd.len) >= base.len,
            ),
            other => (other, fd.len, 0, true),
        };
        let at = base_off + offset;
        let cursor = |bytes: bytes::Bytes| {
            let mut c = io::Cursor::new(bytes);
            c.set_position(at);
            SourceReader::Other(Box::new(c))
        };
        let file_at = match source {
            Source::Path { path, stamp } => Some((path.clone(), **stamp)),
            Source::Scanned { .. } => layout.tree.source_file(data),
            _ => None,
        };
        let mut opened = None;
        let reader = match source {
            Source::Bytes(b) => cursor(b.clone()),
            Source::Path { .. } | Source::Scanned { .. } => {
                let (path, stamp) = file_at.ok_or_else(|| {
                    io::Error::from(Error::Internal("unknown scanned directory".into()))
                })?;
                let (mut f, found) = open_checked(&layout.tree, data, &path, expected, &stamp)?;
                opened = Some((expected, found));
                if at > 0 {
                    f.seek(SeekFrom::Start(at))
                        .map_err(|e| source_io_error(&layout.tree, data, &path, e))?;
                }
                SourceReader::File(f)
            }
            // A generated file that cannot be made (a spanned set's catalog whose files
            // cannot be read) reports the error that stopped it.
            Source::Generated(g) => cursor(
                g.bytes(&*self.layout)
                    .map_err(|e| read_failed(&layout.tree, data, None, e))?,
            ),
            Source::Base { file, .. } => SourceReader::Other(Box::new(
                file.open_at(at)
                    .map_err(|e| read_failed(&layout.tree, data, None, e))?,
            )),
            Source::Seekable(s) => SourceReader::Seek(
                s.handle_at(at)
                    .map_err(|e| caller_source_error(&layout.tree, data, e))?,
            ),
            Source::Stream(s) => {
                let mut r = s.take().ok_or_else(|| read_twice_at(&layout.tree, data))?;
                // A first read inside the file (the caller sought there): the bytes before
                // it are read and dropped; reading them later is a second read (an error).
                let skipped = io::copy(&mut (&mut r).take(at), &mut io::sink())
                    .map_err(|e| caller_source_error(&layout.tree, data, e))?;
                if skipped < at {
                    return Err(self.changed(
                        data,
                        format!("shrank: ended after {skipped} of {expected} bytes"),
                    ));
                }
                SourceReader::Other(r)
            }
            Source::Reader(_) | Source::Slice { .. } => {
                // A slice of a slice is flattened when made, so this opens a caller reader (or
                // a nested slice through the generic path).
                let mut r = match source {
                    Source::Reader(open) => {
                        open().map_err(|e| read_failed(&layout.tree, data, None, e))?
                    }
                    _ => open_file_data(&FileData {
                        source: source.clone(),
                        len: expected,
                    })
                    .map_err(|e| caller_source_error(&layout.tree, data, e))?,
                };
                // Skip forward by reading: caller readers need not seek.
                let skipped = io::copy(&mut (&mut r).take(at), &mut io::sink())
                    .map_err(|e| read_failed(&layout.tree, data, None, e))?;
                if skipped < at {
                    return Err(self.changed(
                        data,
                        format!("reader ended after {skipped} of {expected} bytes"),
                    ));
                }
                SourceReader::Other(r)
            }
        };
        self.open = Some(OpenData {
            data,
            offset,
            reader,
            base_off,
            check_growth,
            opened,
        });
        Ok(())
    }

    /// Positions the open source of `data` at `seg_off` (opening it if needed).
    fn position_source(&mut self, data: DataId, seg_off: u64) -> io::Result<()> {
        let len = self.layout.tree.data[data as usize].len;
        // A seekable source seeks back; others (a file on disk is opened and checked again)
        // reopen to go back.
        let reuse = matches!(&self.open, Some(o) if o.data == data
            && (o.offset <= seg_off || matches!(o.reader, SourceReader::Seek(_))));
        if !reuse {
            self.open_data(data, seg_off)?;
        }
        let Some(od) = self.open.as_mut() else {
            return Err(Error::Internal("no open source".into()).into());
        };
        if od.offset != seg_off {
            match &mut od.reader {
                SourceReader::File(f) => {
                    f.seek(SeekFrom::Start(od.base_off + seg_off))?;
                }
                SourceReader::Seek(h) => {
                    if let Err(e) = h.seek(SeekFrom::Start(od.base_off + seg_off)) {
                        self.open = None;
                        return Err(caller_source_error(&self.layout.tree, data, e));
                    }
                }
                SourceReader::Other(r) => {
                    let want = seg_off - od.offset;
                    let got = io::copy(&mut r.take(want), &mut io::sink())
                        .map_err(|e| read_failed(&self.layout.tree, data, None, e))?;
                    if got < want {
                        let o = od.offset + got;
                        return Err(self.changed(data, format!("ended after {o} of {len} bytes")));
                    }
                }
            }
            od.offset = seg_off;
        }
        Ok(())
    }

    /// After the last byte of `data` was read: a source that still has bytes has grown since
    /// it was scanned, and a file on disk whose size, identity or times (`fstat` on the open
    /// descriptor) differ from when it was opened was written while it was read.
    fn check_end(&mut self, data: DataId, len: u64) -> io::Result<()> {
        let Some(od) = self.open.as_mut() else {
            return Ok(());
        };
        if od.check_growth {
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
        }
        if let (SourceReader::File(f), Some((expected, stamp))) = (&od.reader, &od.opened) {
            let layout = &self.layout;
            let path = || {
                layout
                    .tree
                    .source_file(data)
                    .map(|p| p.0)
                    .unwrap_or_default()
            };
            if let Err(e) = check_stamp(&layout.tree, data, f, *expected, stamp, &path, WHILE_READ)
            {
                self.open = None;
                return Err(e);
            }
        }
        // Keep the reader positioned at `len` (the extra read returned 0 bytes).
        Ok(())
    }

    /// The file-data segment under the cursor when its bytes can be copied from a file on disk
    /// as they are (no boot info table patched in): its data id, the bytes of the file left
    /// from the cursor.
    pub(crate) fn plain_file_at_cursor(&self) -> Option<(DataId, u64, u64)> {
        let block = self.pos / BLOCK_SIZE_U64;
        let seg = self.layout.items.index_of_block(block)?;
        let SegKind::File { data } = self.layout.kinds[seg] else {
            return None;
        };
        let fd = &self.layout.tree.data[data as usize];
        if !matches!(fd.source, Source::Path { .. } | Source::Scanned { .. })
            || self.layout.patchers.contains_key(&data)
        {
            return None;
        }
        let seg_off = self.pos - self.layout.items.segs()[seg].byte_offset();
        (seg_off < fd.len).then(|| (data, seg_off, fd.len - seg_off))
    }

    /// Copies up to `max` bytes of the file-data segment under the cursor straight from its
    /// source file into `out` (on Linux `std::io::copy` between two files is
    /// `copy_file_range`: no copy through user space, a reflink where the file system shares
    /// blocks). Returns 0 when the cursor is not in the data of a file on disk; the caller then
    /// reads the stream. Checks the source as [`Read::read`] does (size, time, shrink, grow).
    pub(crate) fn copy_file_data_to(&mut self, out: &File, max: u64) -> io::Result<u64> {
        let Some((data, seg_off, left)) = self.plain_file_at_cursor() else {
            return Ok(0);
        };
        let len = self.layout.tree.data[data as usize].len;
        self.position_source(data, seg_off)?;
        let Some(OpenData {
            reader: SourceReader::File(f),
            offset,
            ..
        }) = self.open.as_mut()
        else {
            return Ok(0);
        };
        let want = left.min(max);
        let got = match io::copy(&mut Read::by_ref(f).take(want), &mut &*out) {
            Ok(n) => n,
            // A full disk, quota or file size limit is the output's failure, not a change of
            // the source: a write error.
            Err(e) if output_failed(&e) => return Err(e),
            Err(e) => {
                self.open = None;
                return Err(read_error(&self.layout.tree, data, e));
            }
        };
        *offset += got;
        let now = *offset;
        self.pos += got;
        if got < want {
            self.open = None;
            return Err(self.changed(data, format!("shrank: ended after {now} of {len} bytes")));
        }
        if now == len {
            self.check_end(data, len)?;
        }
        Ok(got)
    }

    /// Reads file data for segment `seg` at `seg_off` into `buf`.
    fn read_file(&mut self, data: DataId, seg_off: u64, buf: &mut [u8]) -> io::Result<usize> {
        let len = self.layout.tree.data[data as usize].len;
        if seg_off >= len {
            // Zero padding to the end of the last block.
            buf.fill(0);
            return Ok(buf.len());
        }
        self.position_source(data, seg_off)?;
        let Some(od) = self.open.as_mut() else {
            return Err(Error::Internal("no open source".into()).into());
        };
        let want = (len - seg_off).min(buf.len() as u64) as usize;
        let mut got = 0;
        while got < want {
            match od.reader.read(&mut buf[got..want]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.open = None;
                    return Err(read_error(&self.layout.tree, data, e));
                }
            }
        }
        od.offset += got as u64;
        let offset = od.offset;
        // El Torito boot info table: patched into the bytes as they stream by.
        if let Some(p) = self.layout.patchers.get(&data) {
            p.patch(offset - got as u64, &mut buf[..got]);
        }
        if got < want {
            self.open = None;
            return Err(self.changed(data, format!("shrank: ended after {offset} of {len} bytes")));
        }
        if offset == len {
            self.check_end(data, len)?;
            // The padding to the block end in the same call: one read per small file.
            let pad = ((BLOCK_SIZE_U64 - len % BLOCK_SIZE_U64) % BLOCK_SIZE_U64)
                .min((buf.len() - got) as u64) as usize;
            buf[got..got + pad].fill(0);
            got += pad;
        }
        Ok(got)
    }
}

impl Read for ImageStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let total = self.layout.total_blocks * BLOCK_SIZE_U64;
        if self.pos >= total || buf.is_empty() {
            return Ok(0);
        }
        let block = self.pos / BLOCK_SIZE_U64;
        let Some(seg) = self.layout.items.index_of_block(block) else {
            return Ok(0);
        };
        let item = &self.layout.items.segs()[seg];
        let seg_off = self.pos - item.byte_offset();
        let seg_left = item.byte_len() - seg_off;
        let n = (buf.len() as u64).min(seg_left) as usize;
        let buf = &mut buf[..n];
        let got =
            match self.layout.kinds[seg] {
                SegKind::Zero => {
                    buf.fill(0);
                    n
                }
                SegKind::File { data } => self.read_file(data, seg_off, buf)?,
                SegKind::Base { src } => {
                    let a =
                        self.layout.options.append.as_ref().ok_or_else(|| {
                            io::Error::from(Error::Internal("no base image".into()))
                        })?;
                    // The base image's own error, its kind kept (a truncated base is
                    // `UnexpectedEof`).
                    a.read_base(u64::from(src) * BLOCK_SIZE_U64 + seg_off, buf)
                        .map_err(|e| {
                            io::Error::from(Error::SourceRead {
                                image_path: "/".into(),
                                path: None,
                                source: e,
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
                                .ok_or_else(|| {
                                    io::Error::from(Error::Internal("render size mismatch".into()))
                                })?;
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
        let total = (self.layout.total_blocks * BLOCK_SIZE_U64) as i128;
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
