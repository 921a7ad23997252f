//! Multisession (IMAPI2's ImportFileSystem and multisession, xorriso's growing): import the tree
//! of an existing image into an [`ImageBuilder`], change it, then either append it to the image
//! as a new session ([`ImageBuilder::build_append`]) or write a complete new image
//! ([`ImageBuilder::build`]) whose unchanged files are read lazily from the old one.
//!
//! ```no_run
//! use glassmaster::multisession::BaseImage;
//! use glassmaster::{ImageBuilder, NoProgress};
//! # fn main() -> glassmaster::Result<()> {
//! let base = BaseImage::open("backup.iso")?;
//! let mut b = ImageBuilder::import(&base)?;
//! b.add_bytes("/new.txt", &b"new"[..])?;   // added over an imported path: the new item wins
//! b.remove("/old.txt")?;
//! let append = b.build_append(&base)?;
//! for r in append.modified_blocks() {
//!     println!("{} blocks from {}", r.block_count, r.first_block);
//! }
//! append.write_in_place(&mut NoProgress)?;     // the image now has one more session
//! # Ok(())
//! # }
//! ```
//!
//! The on-disk format of the session records is described in `src/read/session.rs` and in
//! `docs/design.md`.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::build::builder::{FileSystems, ImageBuilder, IsoLevel};
use crate::build::tree::{FileData, NodeId, NodeKind, Posix, Source, SpecialKind};
use crate::error::{Error, Result};
use crate::image::Image;
use crate::progress::{ItemKind, Outcome, Phase, Progress, ProgressItem, ProgressItems};
use crate::read::session::{self, SessionInfo, SessionView, HEAD_BLOCKS, HEAD_FIRST};
use crate::read::{DirEntry, FileType, ImageReader, View};
use crate::BLOCK_SIZE;

const SECTOR: u64 = BLOCK_SIZE as u64;

/// Something to read a base image from.
pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

/// Opens the base image for reading; called again whenever its bytes are needed (each call
/// returns an independent reader).
pub type BaseOpener = Arc<dyn Fn() -> io::Result<Box<dyn ReadSeek>> + Send + Sync>;

/// One piece of an imported file on the base image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Piece {
    pub lba: u32,
    pub len: u32,
    /// An unrecorded UDF extent: reads as zeros.
    pub hole: bool,
}

/// The data of an imported file: where its bytes are on the base image.
pub(crate) struct BaseFile {
    pub pieces: Vec<Piece>,
    opener: BaseOpener,
}

impl BaseFile {
    /// A reader of the file's bytes from the start.
    pub fn open(&self) -> io::Result<BaseFileReader> {
        self.open_at(0)
    }

    /// A reader of the file's bytes from byte `offset`.
    pub fn open_at(&self, offset: u64) -> io::Result<BaseFileReader> {
        let mut r = BaseFileReader {
            inner: (self.opener)()?,
            pieces: self.pieces.clone(),
            idx: 0,
            within: 0,
            positioned: false,
        };
        let mut left = offset;
        while let Some(p) = r.pieces.get(r.idx) {
            if left < u64::from(p.len) {
                break;
            }
            left -= u64::from(p.len);
            r.idx += 1;
        }
        r.within = left;
        Ok(r)
    }

    /// True if an appended session can point at these pieces as they are: all recorded, every
    /// piece but the last a whole number of blocks (ECMA-119 6.5.1: a file section other than
    /// the last fills its blocks), inside `[first_ok, end)`.
    fn can_stay(&self, first_ok: u64, end: u64) -> bool {
        let n = self.pieces.len();
        n > 0
            && self.pieces.iter().enumerate().all(|(i, p)| {
                let blocks = u64::from(p.len).div_ceil(SECTOR);
                !p.hole
                    && p.len > 0
                    && (i + 1 == n || u64::from(p.len) % SECTOR == 0)
                    && u64::from(p.lba) >= first_ok
                    && u64::from(p.lba) + blocks <= end
            })
    }
}

/// Reads an imported file's pieces in order.
pub(crate) struct BaseFileReader {
    inner: Box<dyn ReadSeek>,
    pieces: Vec<Piece>,
    idx: usize,
    within: u64,
    positioned: bool,
}

impl Read for BaseFileReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(p) = self.pieces.get(self.idx).copied() else {
                return Ok(0);
            };
            let left = u64::from(p.len) - self.within;
            if left == 0 {
                self.idx += 1;
                self.within = 0;
                self.positioned = false;
                continue;
            }
            let want = (buf.len() as u64).min(left) as usize;
            let dst = buf.get_mut(..want).unwrap_or_default();
            let n = if p.hole {
                dst.fill(0);
                want
            } else {
                if !self.positioned {
                    self.inner
                        .seek(SeekFrom::Start(u64::from(p.lba) * SECTOR + self.within))?;
                    self.positioned = true;
                }
                let n = self.inner.read(dst)?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("the base image ends inside the extent at block {}", p.lba),
                    ));
                }
                n
            };
            self.within += n as u64;
            return Ok(n);
        }
    }
}

/// An existing image to import from or append to.
pub struct BaseImage {
    opener: BaseOpener,
    path: Option<PathBuf>,
    len: u64,
    sessions: Vec<SessionInfo>,
    /// The newest session's El Torito boot record descriptor, if it has one.
    boot_record: Option<Vec<u8>>,
    /// Whether the newest session has ISO 9660 (else it is UDF only).
    has_iso: bool,
}

impl std::fmt::Debug for BaseImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BaseImage")
            .field("path", &self.path)
            .field("len", &self.len)
            .field("sessions", &self.sessions)
            .finish_non_exhaustive()
    }
}

impl BaseImage {
    /// Opens the image file at `path` (a regular file holding an ISO 9660 or UDF image). Only a
    /// base opened from a path can be grown in place.
    pub fn open(path: impl AsRef<Path>) -> Result<BaseImage> {
        let path = path.as_ref().to_path_buf();
        let bad = |e: io::Error| Error::Source {
            path: path.clone(),
            source: e,
        };
        let md = fs::metadata(&path).map_err(bad)?;
        if !md.is_file() {
            return Err(bad(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the base image is not a regular file",
            )));
        }
        let p = path.clone();
        let opener: BaseOpener =
            Arc::new(
                move || Ok(Box::new(io::BufReader::new(File::open(&p)?)) as Box<dyn ReadSeek>),
            );
        let mut base = Self::from_opener(opener)?;
        base.path = Some(path);
        Ok(base)
    }

    /// A base image read through `opener` (import and modify only; growing in place needs
    /// [`open`](Self::open)).
    pub fn from_opener(opener: BaseOpener) -> Result<BaseImage> {
        let io_err = |e: io::Error| Error::Source {
            path: PathBuf::from("<base image>"),
            source: e,
        };
        let mut r = opener().map_err(io_err)?;
        let len = r.seek(SeekFrom::End(0)).map_err(io_err)?;
        let sessions = session::sessions(&mut r)?;
        // Parse the newest session fully now, so a non-image fails here with a clear error.
        let reader = ImageReader::open(SessionView::newest(&mut r))?;
        let has_iso = reader.views().contains(&View::Iso9660);
        drop(reader);
        let boot_record = if has_iso {
            boot_record(&mut r, len)?
        } else {
            None
        };
        Ok(BaseImage {
            opener,
            path: None,
            len,
            sessions,
            boot_record,
            has_iso,
        })
    }

    /// The sessions of the image, oldest first.
    pub fn sessions(&self) -> &[SessionInfo] {
        &self.sessions
    }

    /// The image's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True if the image is empty (never, for an image that opened).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A reader of session `n` (1-based; `None`: the newest).
    pub fn reader(&self, n: Option<u32>) -> Result<ImageReader<SessionView<Box<dyn ReadSeek>>>> {
        let r = (self.opener)().map_err(|e| Error::Source {
            path: self.path.clone().unwrap_or_else(|| "<base image>".into()),
            source: e,
        })?;
        Ok(ImageReader::open_session(r, n)?)
    }

    /// An opener of session `n`'s view of the image (blocks 16-31 replaced by the session's
    /// saved copy for sessions other than the newest).
    fn session_opener(&self, n: Option<u32>) -> Result<BaseOpener> {
        let Some(n) = n else {
            return Ok(self.opener.clone());
        };
        let s = n
            .checked_sub(1)
            .and_then(|i| self.sessions.get(i as usize))
            .ok_or_else(|| {
                Error::InvalidOption(format!(
                    "the base image has no session {n} (it has {})",
                    self.sessions.len()
                ))
            })?;
        let Some(at) = s.head_copy_block else {
            return Ok(self.opener.clone());
        };
        let mut copy = vec![0u8; (HEAD_BLOCKS * SECTOR) as usize];
        let mut r = (self.opener)().map_err(Error::Write)?;
        r.seek(SeekFrom::Start(at * SECTOR))
            .and_then(|_| r.read_exact(&mut copy))
            .map_err(|e| crate::read::io_error(e, Some(at)))?;
        let copy: Arc<[u8]> = copy.into();
        let inner = self.opener.clone();
        Ok(Arc::new(move || {
            Ok(Box::new(SessionView::with_head(inner()?, copy.to_vec())) as Box<dyn ReadSeek>)
        }))
    }

    /// The end of the image in blocks: the newest session's volume space size or the file's
    /// length, whichever is larger.
    fn end_blocks(&self) -> u64 {
        let vss = self.sessions.last().map_or(0, |s| s.end_block);
        vss.max(self.len.div_ceil(SECTOR))
    }
}

/// The El Torito boot record (El Torito 2.0, a type-0 descriptor) of the set at block 16.
fn boot_record(r: &mut dyn ReadSeek, len: u64) -> Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; BLOCK_SIZE];
    for lba in HEAD_FIRST..HEAD_FIRST + 32 {
        if (lba + 1) * SECTOR > len {
            break;
        }
        r.seek(SeekFrom::Start(lba * SECTOR))
            .and_then(|_| r.read_exact(&mut buf))
            .map_err(|e| crate::read::io_error(e, Some(lba)))?;
        if &buf[1..6] != b"CD001" || buf[0] == 255 {
            break;
        }
        if buf[0] == 0 && buf.get(7..30) == Some(&b"EL TORITO SPECIFICATION"[..]) {
            return Ok(Some(buf));
        }
    }
    Ok(None)
}

/// What a layout needs to append a session to a base image.
pub(crate) struct AppendInput {
    opener: BaseOpener,
    /// The base file's length in bytes.
    pub old_len: u64,
    /// The end of the base in blocks (see [`BaseImage::end_blocks`]).
    pub old_end: u64,
    /// The first block of the new session.
    pub start: u64,
    /// The new session's number (1-based).
    pub number: u32,
    /// Blocks 16-31 of the base as they are now (32 KiB).
    pub old_head: Vec<u8>,
    /// The base's El Torito boot record, kept when the new session defines no boot entries.
    pub boot_record: Option<Vec<u8>>,
    /// The base has a UDF anchor at block 256, which the append clears (UDF is not appended,
    /// and UDF readers must not show the base's older tree).
    pub clear_udf_anchor: bool,
}

impl std::fmt::Debug for AppendInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppendInput")
            .field("old_len", &self.old_len)
            .field("start", &self.start)
            .field("number", &self.number)
            .finish_non_exhaustive()
    }
}

impl AppendInput {
    /// Marks the base files the new session can point at (in place), leaving the others to be
    /// written again (read from the base): pieces before `first_ok` (the system area and the
    /// head blocks the new volume descriptors overwrite) or beyond the base, holes, and
    /// sections that do not fill their blocks. (A later append whose descriptors reach further
    /// rewrites the files there in its turn; older sessions keep reading them through their
    /// saved head copy.)
    pub fn mark_in_place(&self, tree: &mut crate::build::tree::Tree, first_ok: u64) {
        for d in &mut tree.data {
            if let Source::Base { file, in_place } = &mut d.source {
                *in_place = file.can_stay(first_ok, self.old_end);
            }
        }
    }

    /// Reserves the blocks before the new session's volume descriptors: the base's system area
    /// (kept), the head (blocks 16-31: the new descriptors over the base's blocks), the rest of
    /// the base (kept), the alignment padding, and the session's own system area, which holds
    /// the base's blocks 16-31 as they were (so the previous session can still be read).
    pub fn plan_base(&self, plan: &mut crate::layout::Plan) -> Result<()> {
        use crate::layout::SegKind;
        let head_end = HEAD_FIRST + HEAD_BLOCKS;
        plan.reserve(
            HEAD_FIRST,
            SegKind::Base { src: 0 },
            ItemKind::SystemArea,
            "System area (kept from the base image)",
        );
        plan.reserve(
            HEAD_BLOCKS,
            SegKind::Head,
            ItemKind::VolumeDescriptors,
            format!(
                "Volume descriptors of session {} (copy at block 16)",
                self.number
            ),
        );
        let mut at = head_end;
        let block = |b: u64| {
            u32::try_from(b)
                .map_err(|_| Error::InvalidOption("the base image has 2^32 blocks or more".into()))
        };
        if self.clear_udf_anchor {
            // ECMA-167 3/8.4.2.1: the anchor at 256, cleared.
            plan.reserve(
                UDF_ANCHOR - at,
                SegKind::Base { src: block(at)? },
                ItemKind::BaseImage,
                "Earlier sessions (kept)",
            );
            plan.reserve(
                1,
                SegKind::Zero,
                ItemKind::Padding,
                "UDF anchor of the base image (cleared: UDF is not appended)",
            );
            at = UDF_ANCHOR + 1;
        }
        if self.old_end > at {
            plan.reserve(
                self.old_end - at,
                SegKind::Base { src: block(at)? },
                ItemKind::BaseImage,
                "Earlier sessions (kept)",
            );
        }
        plan.pad_to(self.start)?;
        plan.reserve(
            HEAD_BLOCKS,
            SegKind::SavedHead,
            ItemKind::SystemArea,
            format!(
                "System area of session {}: blocks 16-31 of session {}",
                self.number,
                self.number - 1
            ),
        );
        Ok(())
    }

    /// Blocks 16-31 of the grown image: the new session's volume descriptors `vds` over the
    /// base's blocks, with the base's UDF volume recognition sequence (ECMA-167 2/9.1) cleared so
    /// UDF readers do not find the base's (older) UDF tree.
    pub fn head(&self, vds: &[u8]) -> Vec<u8> {
        let mut out = self.old_head.clone();
        let n = vds.len().min(out.len());
        out[..n].copy_from_slice(&vds[..n]);
        for blk in out[n..].chunks_mut(BLOCK_SIZE) {
            if matches!(
                blk.get(1..6),
                Some(b"BEA01" | b"NSR02" | b"NSR03" | b"TEA01" | b"BOOT2")
            ) {
                blk.fill(0);
            }
        }
        out
    }

    /// Reads `buf.len()` bytes of the base at byte `off`; bytes past its end read as zeros.
    pub fn read_base(&self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        buf.fill(0);
        if off >= self.old_len {
            return Ok(());
        }
        let mut r = (self.opener)()?;
        r.seek(SeekFrom::Start(off))?;
        let n = ((self.old_len - off).min(buf.len() as u64)) as usize;
        r.read_exact(buf.get_mut(..n).unwrap_or_default())
    }
}

/// A range of blocks an append writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockRange {
    /// The first block.
    pub first_block: u64,
    /// The number of blocks.
    pub block_count: u64,
}

/// Blocks of the base an append overwrites: their new and old bytes.
#[derive(Debug)]
struct Rewrite {
    range: BlockRange,
    new: Vec<u8>,
    old: Vec<u8>,
}

/// A session laid out for appending to a base image (the result of
/// [`ImageBuilder::build_append`]).
#[derive(Debug)]
pub struct Append {
    image: Image,
    path: Option<PathBuf>,
    old_len: u64,
    start: u64,
    /// Blocks before the old end of the file that change (the head; a cleared UDF anchor).
    rewrites: Vec<Rewrite>,
    /// Items of what is written, in block order.
    items: ProgressItems,
}

impl Append {
    /// The whole grown image as a lazy stream source: the base's blocks, the rewritten head and
    /// the new session (for example to write a grown copy elsewhere with
    /// [`Image::write_to_path`]).
    pub fn image(&self) -> &Image {
        &self.image
    }

    /// The first block of the new session.
    pub fn session_start(&self) -> u64 {
        self.start
    }

    /// The end of the new session (= the grown image's length) in blocks.
    pub fn session_end(&self) -> u64 {
        self.image.total_blocks()
    }

    /// The block ranges the append writes (IMAPI's ModifiedBlocks), in block order: the head
    /// blocks (within 16-31, the copy of the new session's volume descriptors) whose bytes
    /// change, block 256 when the base's UDF anchor is cleared, then everything from the old end of the file to the end of the new session
    /// (alignment padding and the session itself).
    pub fn modified_blocks(&self) -> Vec<BlockRange> {
        let mut out: Vec<BlockRange> = self.rewrites.iter().map(|r| r.range).collect();
        let tail = self.old_len / SECTOR;
        let end = self.image.total_blocks();
        if end > tail {
            out.push(BlockRange {
                first_block: tail,
                block_count: end - tail,
            });
        }
        out
    }

    /// The items of what is written (the head copy and the new session, with the alignment
    /// padding before it), in block order; writing visits the tail items first and the head
    /// last.
    pub fn progress_items(&self) -> &ProgressItems {
        &self.items
    }

    /// Grows the base image file in place.
    ///
    /// The order makes the write as safe as an in-place write can be: (1) check the file still
    /// is the base (length and head unchanged); (2) write the new session after the old end of
    /// the file and flush it to the device (`sync_data`): until now the file's first 64 KiB
    /// still describe the old newest session, so a crash or an abort leaves the old image
    /// readable, and the appended tail is truncated away on abort or error; (3) only then write
    /// the head blocks (a few sectors in one write) and flush again. `query_abort` is polled
    /// while the tail is written, not during the head write.
    pub fn write_in_place(&self, progress: &mut dyn Progress) -> Result<()> {
        let path = self.path.as_ref().ok_or_else(|| {
            Error::InvalidOption(
                "the base image was not opened from a path; it cannot be grown in place".into(),
            )
        })?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::Source {
                path: path.clone(),
                source: e,
            })?;
        self.write_into(&mut file, progress)
    }

    /// Grows the image held by `f` (the base's bytes) in place; see
    /// [`write_in_place`](Self::write_in_place) for the order of the writes.
    pub fn write_into(&self, f: &mut File, progress: &mut dyn Progress) -> Result<()> {
        let total: u64 = self.items.iter().map(|i| i.block_count).sum();
        progress.begin(Phase::Write, total);
        let r = self.write_inner(f, progress);
        progress.end(Phase::Write, Outcome::of(&r));
        r
    }

    fn write_inner(&self, f: &mut File, progress: &mut dyn Progress) -> Result<()> {
        // (1) The file must still be the base this append was laid out for.
        let len = f.metadata().map_err(Error::Write)?.len();
        let mut same = len == self.old_len;
        for r in &self.rewrites {
            if !same {
                break;
            }
            let mut now = vec![0u8; r.old.len()];
            f.seek(SeekFrom::Start(r.range.first_block * SECTOR))
                .and_then(|_| f.read_exact(&mut now))
                .map_err(Error::Write)?;
            same = now == r.old;
        }
        if !same {
            return Err(Error::SourceChanged {
                image_path: "/".into(),
                reason: format!(
                    "the base image changed since the session was laid out (now {len} bytes, was {})",
                    self.old_len
                ),
            });
        }
        // (2) The tail, then flush. Any failure truncates the file back to its old length.
        let tail = self.write_tail(f, progress).and_then(|done| {
            f.sync_data().map_err(Error::Write)?;
            Ok(done)
        });
        let done = match tail {
            Ok(d) => d,
            Err(e) => {
                let _ = f.set_len(self.old_len);
                let _ = f.sync_data();
                return Err(e);
            }
        };
        // (3) The blocks of the base (the head last): from here on the new session is the one
        // readers see.
        let total: u64 = self.items.iter().map(|i| i.block_count).sum();
        for (k, r) in self.rewrites.iter().enumerate().rev() {
            if let Some(item) = self.items.get(k) {
                progress.item_started(&item);
            }
            let w = f
                .seek(SeekFrom::Start(r.range.first_block * SECTOR))
                .and_then(|_| f.write_all(&r.new));
            if let Err(e) = w {
                // Put the old bytes back (best effort), then drop the tail.
                for r in &self.rewrites {
                    let _ = f
                        .seek(SeekFrom::Start(r.range.first_block * SECTOR))
                        .and_then(|_| f.write_all(&r.old));
                }
                let _ = f.set_len(self.old_len);
                let _ = f.sync_data();
                return Err(Error::Write(e));
            }
        }
        f.sync_data().map_err(Error::Write)?;
        progress.update(total.max(done), total);
        Ok(())
    }

    /// Writes everything from the old end of the file to the end of the new session; returns
    /// the blocks written.
    fn write_tail(&self, f: &mut File, progress: &mut dyn Progress) -> Result<u64> {
        const CHUNK: usize = 1 << 20;
        let total: u64 = self.items.iter().map(|i| i.block_count).sum();
        let head_blocks: u64 = self.rewrites.iter().map(|r| r.range.block_count).sum();
        let mut stream = self.image.stream();
        let mut buf = vec![0u8; CHUNK];
        let mut done = 0u64;
        let from = self.old_len;
        stream.seek(SeekFrom::Start(from)).map_err(Error::from_io)?;
        f.seek(SeekFrom::Start(from)).map_err(Error::Write)?;
        for item in self.items.iter().skip(self.rewrites.len()) {
            progress.item_started(&item);
            if progress.query_abort() {
                return Err(Error::Aborted);
            }
            let end = item.byte_offset() + item.byte_len();
            let mut pos = item.byte_offset().max(from);
            while pos < end {
                let n = (end - pos).min(CHUNK as u64) as usize;
                stream.read_exact(&mut buf[..n]).map_err(Error::from_io)?;
                f.write_all(&buf[..n]).map_err(Error::Write)?;
                pos += n as u64;
                done += n as u64;
                progress.update((done / SECTOR).min(total - head_blocks), total);
                if progress.query_abort() {
                    return Err(Error::Aborted);
                }
            }
        }
        f.flush().map_err(Error::Write)?;
        Ok(done / SECTOR)
    }
}

/// Reads as much of `buf` as the reader has; returns the count.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// ECMA-167 3/8.4.2.1: the first anchor volume descriptor pointer of a UDF volume.
const UDF_ANCHOR: u64 = 256;

/// True if the base has a UDF anchor volume descriptor pointer (tag identifier 2, ECMA-167
/// 3/10.2) recorded at block 256.
fn has_udf_anchor(opener: &BaseOpener) -> Result<bool> {
    let mut r = opener().map_err(Error::Write)?;
    let mut b = vec![0u8; BLOCK_SIZE];
    r.seek(SeekFrom::Start(UDF_ANCHOR * SECTOR))
        .map_err(Error::Write)?;
    if read_up_to(&mut r, &mut b).map_err(Error::Write)? < 16 {
        return Ok(false);
    }
    Ok(b[0..2] == [2, 0] && b[12..16] == (UDF_ANCHOR as u32).to_le_bytes())
}

/// The default alignment of a new session: 32 blocks (64 KiB), as for overwriteable media
/// (DVD+RW, image files).
pub const DEFAULT_SESSION_ALIGNMENT: u64 = 32;

impl ImageBuilder {
    /// A builder holding the newest session's tree of `base` (see [`import_session`]).
    ///
    /// [`import_session`]: Self::import_session
    pub fn import(base: &BaseImage) -> Result<ImageBuilder> {
        Self::import_session(base, None)
    }

    /// A builder holding the tree of session `n` of `base` (1-based; `None`: the newest), with
    /// the base's file systems (ISO 9660, Joliet, Rock Ridge, UDF; ISO 9660:1999 as the level),
    /// volume identifier, publisher and preparer.
    ///
    /// Names, modes, owners, times, symbolic links, device nodes and hard links come from Rock
    /// Ridge when the image has it, else names from Joliet, else from ISO 9660:1999, else from
    /// ISO 9660; an image without ISO 9660 is imported from UDF. File data is not read: each file
    /// points at its extents on the base (several for multi-extent files, in any order on the
    /// image). Entries added later at the same path replace the imported ones; imported entries
    /// can be removed with [`remove`](Self::remove).
    pub fn import_session(base: &BaseImage, n: Option<u32>) -> Result<ImageBuilder> {
        let mut reader = base.reader(n)?;
        let info = reader.volume_info().clone();
        let views = reader.views();
        let view = [
            View::RockRidge,
            View::Joliet,
            View::Iso1999,
            View::Iso9660,
            View::Udf,
        ]
        .into_iter()
        .find(|v| views.contains(v))
        .unwrap_or(View::Iso9660);
        let mut b = ImageBuilder::new();
        let has = |v: View| views.contains(&v);
        let mut fs = FileSystems::NONE;
        for (v, f) in [
            (View::Iso9660, FileSystems::ISO9660),
            (View::Joliet, FileSystems::JOLIET),
            (View::RockRidge, FileSystems::ROCK_RIDGE),
            (View::Udf, FileSystems::UDF),
        ] {
            if has(v) {
                fs = fs | f;
            }
        }
        b.options.filesystems = fs;
        if has(View::Iso1999) {
            b.options.level = IsoLevel::Iso1999;
        }
        if !info.volume_id.is_empty() {
            b.options.volume_id = info.volume_id.clone();
        }
        b.options.publisher = info.publisher.clone();
        b.options.preparer = info.preparer.clone();
        let opener = base.session_opener(n)?;
        import_tree(&mut b, &mut reader, view, &opener)?;
        // Embedded checksums (`crate::extras::checksums`) describe the imported tree: they are made
        // again, for the new tree, rather than kept stale.
        let list = b.tree.lookup(crate::extras::checksums::LIST_PATH).ok();
        let own = b.tree.lookup(crate::extras::checksums::SELF_PATH).ok();
        if let (Some(list), Some(own)) = (list, own) {
            b.tree.remove(list)?;
            b.tree.remove(own)?;
            if let Ok(dir) = b.tree.lookup("/CHECKSUM") {
                if b.tree.node(dir).children().is_empty() {
                    b.tree.remove(dir)?;
                }
            }
            b.options.checksums = true;
        }
        Ok(b)
    }

    /// Removes the entry at `image_path` (a directory with everything below it), whether it
    /// was imported or added.
    pub fn remove(&mut self, image_path: &str) -> Result<&mut Self> {
        let id = self.tree.lookup(image_path)?;
        self.tree.remove(id)?;
        Ok(self)
    }

    /// Lays out this builder's tree as a new session appended to `base` (with the default
    /// alignment of 32 blocks); see [`build_append_aligned`](Self::build_append_aligned).
    pub fn build_append(&self, base: &BaseImage) -> Result<Append> {
        self.build_append_aligned(base, DEFAULT_SESSION_ALIGNMENT, &mut crate::NoProgress)
    }

    /// Lays out this builder's tree as a new session of `base`: it starts at the next writable
    /// address (the end of the base, rounded up to `alignment` blocks, at least block 32), its
    /// records point at the base's extents for imported files that are unchanged, and its volume
    /// descriptors are also copied to blocks 16.. of the image. Nothing is written yet.
    ///
    /// UDF is not appended (it would need a virtual allocation table or a rewrite of every UDF
    /// structure): with UDF among the file systems, the session is written with the others and
    /// a warning; the base's UDF volume recognition sequence in the head is cleared so UDF
    /// readers do not show the old tree. A base without ISO 9660 (UDF only) cannot be grown.
    pub fn build_append_aligned(
        &self,
        base: &BaseImage,
        alignment: u64,
        progress: &mut dyn Progress,
    ) -> Result<Append> {
        if !base.has_iso {
            return Err(Error::InvalidOption(
                "the base image has no ISO 9660 file system (UDF only): a session cannot be appended to it".into(),
            ));
        }
        if alignment == 0 {
            return Err(Error::InvalidOption(
                "session alignment must be at least 1 block".into(),
            ));
        }
        if self.options.boot.hybrid.is_some() {
            return Err(Error::InvalidOption(
                "a hybrid MBR/GPT cannot be set when appending a session (the base's system area is kept)".into(),
            ));
        }
        let mut b = self.clone();
        if b.options.filesystems.contains(FileSystems::UDF) {
            b.options.filesystems = b.options.filesystems.without(FileSystems::UDF);
            b.warnings.push(
                "UDF is not appended: the new session has ISO 9660 (with Joliet / Rock Ridge as chosen) only".into(),
            );
        }
        b.options.filesystems = b.options.filesystems | FileSystems::ISO9660;
        let old_end = base.end_blocks();
        let start = old_end
            .div_ceil(alignment)
            .saturating_mul(alignment)
            .max(HEAD_FIRST + HEAD_BLOCKS);
        let mut old_head = vec![0u8; (HEAD_BLOCKS * SECTOR) as usize];
        {
            let mut r = (base.opener)().map_err(Error::Write)?;
            r.seek(SeekFrom::Start(HEAD_FIRST * SECTOR))
                .map_err(Error::Write)?;
            read_up_to(&mut r, &mut old_head).map_err(Error::Write)?;
        }
        let number = base.sessions.len() as u32 + 1;
        let clear_anchor = old_end > UDF_ANCHOR && has_udf_anchor(&base.opener)?;
        if clear_anchor {
            b.warnings.push(
                "the base image's UDF file system is left out of the grown image (its anchor at block 256 is cleared); the sessions stay readable through ISO 9660".into(),
            );
        }
        let clear_udf_anchor = clear_anchor;
        let input = Arc::new(AppendInput {
            opener: base.opener.clone(),
            old_len: base.len,
            old_end,
            start,
            number,
            old_head: old_head.clone(),
            boot_record: if b.options.boot.entries.is_empty() {
                base.boot_record.clone()
            } else {
                None
            },
            clear_udf_anchor,
        });
        b.options.append = Some(input);
        let image = b.build_with_progress(progress)?;

        // The blocks of the base that change (the head; block 256 when the base's UDF anchor is
        // cleared), compared block by block, and their bytes.
        let mut stream = image.stream();
        let mut base_r = (base.opener)().map_err(Error::Write)?;
        let mut candidates: Vec<u64> = (HEAD_FIRST..HEAD_FIRST + HEAD_BLOCKS).collect();
        if clear_anchor {
            candidates.push(UDF_ANCHOR);
        }
        let mut rewrites: Vec<Rewrite> = Vec::new();
        let mut items = Vec::new();
        for blk in candidates {
            // Blocks past the end of a (tiny) base are part of the tail.
            if (blk + 1) * SECTOR > base.len {
                break;
            }
            let mut new = vec![0u8; BLOCK_SIZE];
            let mut old = vec![0u8; BLOCK_SIZE];
            stream
                .seek(SeekFrom::Start(blk * SECTOR))
                .and_then(|_| stream.read_exact(&mut new))
                .map_err(Error::from_io)?;
            base_r
                .seek(SeekFrom::Start(blk * SECTOR))
                .and_then(|_| base_r.read_exact(&mut old))
                .map_err(Error::Write)?;
            if new == old {
                continue;
            }
            match rewrites.last_mut() {
                Some(r) if r.range.first_block + r.range.block_count == blk => {
                    r.range.block_count += 1;
                    r.new.extend_from_slice(&new);
                    r.old.extend_from_slice(&old);
                }
                _ => rewrites.push(Rewrite {
                    range: BlockRange {
                        first_block: blk,
                        block_count: 1,
                    },
                    new,
                    old,
                }),
            }
        }
        for r in &rewrites {
            let head = r.range.first_block < HEAD_FIRST + HEAD_BLOCKS;
            items.push(ProgressItem {
                first_block: r.range.first_block,
                last_block: r.range.first_block + r.range.block_count - 1,
                block_count: r.range.block_count,
                description: if head {
                    format!("Volume descriptors of session {number} (copy at block 16)")
                } else {
                    "UDF anchor of the base image (cleared: UDF is not appended)".into()
                },
                kind: if head {
                    ItemKind::VolumeDescriptors
                } else {
                    ItemKind::Padding
                },
            });
        }
        let tail = base.len / SECTOR;
        let items = ProgressItems::from_sorted(items, image.progress_items(), tail);
        Ok(Append {
            path: base.path.clone(),
            old_len: base.len,
            start,
            rewrites,
            items,
            image,
        })
    }
}

/// Reads the tree of `view` into the builder (see [`ImageBuilder::import_session`]).
fn import_tree<R: Read + Seek>(
    b: &mut ImageBuilder,
    reader: &mut ImageReader<R>,
    view: View,
    opener: &BaseOpener,
) -> Result<()> {
    let root = reader.root(view)?;
    set_meta(b, 0, &root);
    let mut visited = std::collections::HashSet::new();
    let mut links: HashMap<(u32, u64), crate::build::tree::DataId> = HashMap::new();
    let mut stack: Vec<(DirEntry, NodeId)> = vec![(root, 0)];
    while let Some((dir, node)) = stack.pop() {
        if let Some(loc) = dir.location() {
            if !visited.insert(loc) {
                continue;
            }
        }
        for e in reader.read_dir(&dir)? {
            let (name, raw) = match e.rr_name.as_deref().map(std::str::from_utf8) {
                Some(Err(_)) => {
                    let raw = e.rr_name.clone().unwrap_or_default();
                    (crate::build::tree::escape_name(&raw), Some(raw))
                }
                _ => (e.name.clone(), None),
            };
            if name.is_empty() || name == "." || name == ".." || name.contains('/') {
                b.warnings.push(format!(
                    "imported entry {name:?} has an unusable name; skipped"
                ));
                continue;
            }
            if b.tree.child(node, &name).is_some() {
                // Two records of one name (versions, or a damaged directory): the first wins.
                b.warnings.push(format!(
                    "imported directory {} has two entries named {name:?}; the second is skipped",
                    b.tree.path_of(node)
                ));
                continue;
            }
            let ftype = e.posix.as_ref().map(|p| p.file_type());
            let id = if e.is_dir {
                let id = b.tree.add_dir_in(node, &name)?;
                stack.push((e.clone(), id));
                id
            } else if let Some(target) = e.posix.as_ref().and_then(|p| p.symlink.clone()) {
                b.tree.add_node_in(
                    node,
                    &name,
                    NodeKind::Symlink {
                        target: Box::new(target),
                    },
                )?
            } else if let Some(kind) = ftype.and_then(special_kind) {
                let (ma, mi) = e.posix.as_ref().and_then(|p| p.rdev).unwrap_or((0, 0));
                b.tree.add_node_in(
                    node,
                    &name,
                    NodeKind::Special {
                        kind,
                        rdev: crate::format::rockridge::rrip::make_rdev(ma, mi),
                    },
                )?
            } else {
                // Hard links: Rock Ridge serial numbers (PX, RRIP 1.12) or UDF file entries.
                let key = match (&e.posix, &e.udf) {
                    (Some(p), _) if p.nlink > 1 => p.serial.map(|s| (0, u64::from(s))),
                    (_, Some(u)) => Some((1, u64::from(u.icb_sector()))),
                    _ => None,
                };
                match key.and_then(|k| links.get(&k).copied()) {
                    Some(data) => b.tree.add_link_in(node, &name, data)?,
                    None => {
                        let source = match reader.file_pieces(&e)? {
                            Err(bytes) => Source::Bytes(bytes.into()),
                            Ok(pieces) => Source::Base {
                                file: Arc::new(BaseFile {
                                    pieces: pieces
                                        .iter()
                                        .map(|(x, hole)| Piece {
                                            lba: x.lba,
                                            len: x.len,
                                            hole: *hole,
                                        })
                                        .collect(),
                                    opener: opener.clone(),
                                }),
                                in_place: false,
                            },
                        };
                        let id = b.tree.add_file_in(
                            node,
                            &name,
                            FileData {
                                source,
                                len: e.size,
                            },
                        )?;
                        if let (Some(k), NodeKind::File { data }) = (key, &b.tree.node(id).kind) {
                            links.insert(k, *data);
                        }
                        id
                    }
                }
            };
            if let Some(raw) = raw {
                b.tree.raw_names.insert(id, raw.into());
            }
            set_meta(b, id, &e);
            b.tree.imported.insert(id);
        }
    }
    Ok(())
}

fn special_kind(t: FileType) -> Option<SpecialKind> {
    match t {
        FileType::CharDevice => Some(SpecialKind::CharDevice),
        FileType::BlockDevice => Some(SpecialKind::BlockDevice),
        FileType::Fifo => Some(SpecialKind::Fifo),
        FileType::Socket => Some(SpecialKind::Socket),
        _ => None,
    }
}

/// Copies an imported entry's time, hidden flag and POSIX attributes to node `id`.
fn set_meta(b: &mut ImageBuilder, id: NodeId, e: &DirEntry) {
    let utc = |t: DateTime<chrono::FixedOffset>| t.with_timezone(&Utc);
    b.tree.set_hidden(id, id != 0 && e.hidden);
    let n = b.tree.node_mut(id);
    n.mtime = e.mtime.map(utc);
    if let Some(p) = &e.posix {
        n.posix = Some(std::sync::Arc::new(Posix {
            perm: p.mode & 0o7777,
            uid: p.uid,
            gid: p.gid,
            atime: p.atime.map(utc),
            ctime: p.ctime.map(utc),
            crtime: p.crtime.map(utc),
            ..Posix::default()
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoProgress;

    fn image_file(b: &ImageBuilder) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        b.build()
            .unwrap()
            .write_to(f.as_file(), &mut NoProgress)
            .unwrap();
        f
    }

    fn pattern(seed: u8, len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31) ^ seed)
            .collect()
    }

    /// A file whose extents lie anywhere on the base (here: two extents, the second before the
    /// first on the image) keeps them in an appended session: one record per extent.
    #[test]
    fn non_contiguous_multi_extent_file_stays_in_place() {
        let mut b = ImageBuilder::new();
        b.add_bytes("/low.bin", pattern(1, 100)).unwrap();
        b.add_bytes("/high.bin", pattern(2, 4096)).unwrap();
        let f = image_file(&b);
        let base = BaseImage::open(f.path()).unwrap();
        let mut r = base.reader(None).unwrap();
        let low = r.lookup(View::Iso9660, "/LOW.BIN").unwrap().extents[0];
        let high = r.lookup(View::Iso9660, "/HIGH.BIN").unwrap().extents[0];
        assert!(low.lba < high.lba);
        drop(r);

        let mut nb = ImageBuilder::import(&base).unwrap();
        let pieces = vec![
            Piece {
                lba: high.lba,
                len: high.len,
                hole: false,
            },
            Piece {
                lba: low.lba,
                len: low.len,
                hole: false,
            },
        ];
        nb.tree
            .add_file(
                "/joined.bin",
                FileData {
                    source: Source::Base {
                        file: Arc::new(BaseFile {
                            pieces,
                            opener: base.opener.clone(),
                        }),
                        in_place: false,
                    },
                    len: 4196,
                },
            )
            .unwrap();
        let append = nb.build_append(&base).unwrap();
        append.write_in_place(&mut NoProgress).unwrap();
        let mut r = ImageReader::open(fs::File::open(f.path()).unwrap()).unwrap();
        let e = r.lookup(View::Joliet, "/joined.bin").unwrap();
        assert_eq!(e.extents.len(), 2);
        assert_eq!((e.extents[0].lba, e.extents[1].lba), (high.lba, low.lba));
        let mut want = pattern(2, 4096);
        want.extend(pattern(1, 100));
        assert_eq!(r.read_file(&e).unwrap(), want);
        // In a new image (modify), the same file is read from the base and stored contiguously.
        let again = BaseImage::open(f.path()).unwrap();
        let m = ImageBuilder::import(&again).unwrap();
        let img = m.build().unwrap();
        let mut r = ImageReader::open(img.stream()).unwrap();
        let e = r.lookup(View::Joliet, "/joined.bin").unwrap();
        assert_eq!(e.extents.len(), 1);
        assert_eq!(r.read_file(&e).unwrap(), want);
    }

    /// Files in the head the new descriptors overwrite are written again; the ones after it
    /// stay.
    #[test]
    fn files_in_the_rewritten_head_are_moved() {
        let mut b = ImageBuilder::new();
        b.filesystems(FileSystems::ISO9660);
        b.add_bytes("/a.txt", pattern(3, 10)).unwrap();
        let f = image_file(&b);
        let old = fs::read(f.path()).unwrap();
        let base = BaseImage::open(f.path()).unwrap();
        let mut r = base.reader(None).unwrap();
        // ISO 9660 only: PVD and terminator at 16-17, path tables 18-19, root 20, file 21.
        assert_eq!(
            r.lookup(View::Iso9660, "/A.TXT").unwrap().extents[0].lba,
            21
        );
        drop(r);
        // With Joliet and 1999 the new set is PVD, EVD, SVD, terminator (16-19): the file stays,
        // and a file made of block 16 of the base (its old descriptor) is moved.
        let mut nb = ImageBuilder::import(&base).unwrap();
        nb.filesystems(FileSystems::ISO9660 | FileSystems::JOLIET)
            .level(IsoLevel::Iso1999);
        nb.tree
            .add_file(
                "/pvd.bin",
                FileData {
                    source: Source::Base {
                        file: Arc::new(BaseFile {
                            pieces: vec![Piece {
                                lba: 16,
                                len: 2048,
                                hole: false,
                            }],
                            opener: base.opener.clone(),
                        }),
                        in_place: false,
                    },
                    len: 2048,
                },
            )
            .unwrap();
        let append = nb.build_append(&base).unwrap();
        append.write_in_place(&mut NoProgress).unwrap();
        let mut r = ImageReader::open(fs::File::open(f.path()).unwrap()).unwrap();
        let e = r.lookup(View::Joliet, "/a.txt").unwrap();
        assert_eq!(e.extents[0].lba, 21);
        assert_eq!(r.read_file(&e).unwrap(), pattern(3, 10));
        let e = r.lookup(View::Joliet, "/pvd.bin").unwrap();
        assert!(u64::from(e.extents[0].lba) >= append.session_start());
        assert_eq!(r.read_file(&e).unwrap(), &old[16 * 2048..17 * 2048]);
        let file = BaseFile {
            pieces: vec![Piece {
                lba: 18,
                len: 10,
                hole: false,
            }],
            opener: base.opener.clone(),
        };
        assert!(!file.can_stay(19, 100));
        assert!(file.can_stay(18, 100));
        assert!(!file.can_stay(18, 18));
    }

    #[test]
    fn remove_replace_and_compact() {
        let mut b = ImageBuilder::new();
        b.add_bytes("/d/x", &b"x"[..]).unwrap();
        b.add_bytes("/d/y", &b"y"[..]).unwrap();
        b.add_bytes("/z", &b"z"[..]).unwrap();
        // Not imported: adding over an existing path is still an error.
        assert!(matches!(
            b.add_bytes("/z", &b"again"[..]),
            Err(Error::DuplicatePath(_))
        ));
        for id in 1..b.tree.nodes.len() as u32 {
            b.tree.imported.insert(id);
        }
        // Imported: the new item wins, a file over a directory and a directory over a file too.
        b.add_bytes("/z", &b"zz"[..]).unwrap();
        b.add_bytes("/d", &b"now a file"[..]).unwrap();
        b.add_bytes("/z2/inner", &b"i"[..]).unwrap();
        b.remove("/z2").unwrap();
        assert!(b.remove("/nope").is_err());
        assert!(b.remove("/").is_err());
        let t = b.tree.compacted();
        assert_eq!(t.nodes.len(), 3);
        assert_eq!(t.data.len(), 2);
        assert_eq!(t.path_of(t.lookup("/z").unwrap()), "/z");
        assert_eq!(b.file_len("/d"), Some(10));
        let img = b.build().unwrap();
        let mut r = ImageReader::open(img.stream()).unwrap();
        let e = r.lookup(View::Joliet, "/z").unwrap();
        assert_eq!(r.read_file(&e).unwrap(), b"zz");
        assert_eq!(r.walk(View::Joliet).unwrap().len(), 2);
    }

    /// Session records that point forwards or into the head are refused, not followed.
    #[test]
    fn hostile_session_records() {
        let mut b = ImageBuilder::new();
        b.add_bytes("/a", &b"a"[..]).unwrap();
        let f = image_file(&b);
        let mut bytes = fs::read(f.path()).unwrap();
        let at = 16 * 2048 + crate::read::session::APP_USE_OFFSET;
        for (start, ok) in [(0u32, true), (20, false), (u32::MAX, false), (64, false)] {
            let rec = crate::read::session::encode_record(2, start);
            bytes[at..at + rec.len()].copy_from_slice(&rec);
            let r = crate::read::sessions(&mut io::Cursor::new(&bytes));
            assert_eq!(r.is_ok(), ok, "start {start}: {r:?}");
        }
        // A record pointing at itself (the saved head holds the same record) is not a loop.
        let len = bytes.len();
        let self_start = (len / 2048 / 32 * 32) as u32;
        let rec = crate::read::session::encode_record(2, self_start);
        bytes[at..at + rec.len()].copy_from_slice(&rec);
        let head: Vec<u8> = bytes[16 * 2048..32 * 2048].to_vec();
        let s = self_start as usize * 2048;
        bytes[s..s + head.len()].copy_from_slice(&head);
        assert!(crate::read::sessions(&mut io::Cursor::new(&bytes)).is_err());
    }
}
