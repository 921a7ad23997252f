//! Files of an earlier image, as sources of a new one: an imported file's pieces on its base
//! image and a reader of them ([`BaseFile`]), and what a layout needs to append a session to
//! that image ([`AppendInput`]). The multisession extra (`crate::extras::multisession`) opens
//! the base and makes them; the tree and the layout use them without knowing it.

use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

use crate::build::source::Source;
use crate::build::tree::Tree;
use crate::{BLOCK_SIZE, BLOCK_SIZE_U64};

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
    pub(crate) opener: BaseOpener,
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
    pub(crate) fn can_stay(&self, first_ok: u64, end: u64) -> bool {
        let n = self.pieces.len();
        n > 0
            && self.pieces.iter().enumerate().all(|(i, p)| {
                let blocks = u64::from(p.len).div_ceil(BLOCK_SIZE_U64);
                !p.hole
                    && p.len > 0
                    && (i + 1 == n || u64::from(p.len) % BLOCK_SIZE_U64 == 0)
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
                    self.inner.seek(SeekFrom::Start(
                        u64::from(p.lba) * BLOCK_SIZE_U64 + self.within,
                    ))?;
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

/// What a layout needs to append a session to a base image.
pub(crate) struct AppendInput {
    pub(crate) opener: BaseOpener,
    /// The base file's length in bytes.
    pub old_len: u64,
    /// The end of the base in blocks (see `multisession::BaseImage::end_blocks`).
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
    pub fn mark_in_place(&self, tree: &mut Tree, first_ok: u64) {
        for d in &mut tree.data {
            if let Source::Base { file, in_place } = &mut d.source {
                *in_place = file.can_stay(first_ok, self.old_end);
            }
        }
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
