//! Reading a file's data: its extents in order, exactly its size.

use crate::BLOCK_SIZE_U64;
use std::io::{self, Read, Seek, SeekFrom};

use super::Extent;
use crate::error::{ParseError, ParseErrorKind};

/// An `io::Error` of `kind` carrying a located [`ParseError`] (recovered by
/// [`ImageReader::read_file`](super::ImageReader::read_file) and by
/// [`Error::from_io`](crate::Error::from_io)).
/// A computed seek position, or the error for a negative or overflowing one (shared by the
/// reader's `Seek` implementations).
pub(crate) fn seek_target(target: Option<u64>) -> io::Result<u64> {
    target.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "seek to a negative or overflowing position",
        )
    })
}

fn located(kind: io::ErrorKind, what: ParseErrorKind, lba: u32) -> io::Error {
    io::Error::new(kind, ParseError::at(what, u64::from(lba)))
}

/// Where a file's bytes are: its extents with their hole flags, or (`Err`) the bytes themselves
/// when they are held in memory.
pub(crate) type FilePieces = Result<Vec<(Extent, bool)>, Vec<u8>>;

/// A `Read + Seek` over the data of one file (or directory) of an image, returned by
/// [`ImageReader::open_file`](super::ImageReader::open_file).
///
/// It reads the entry's extents one after the other and stops after exactly the entry's size.
/// It borrows the image reader mutably; drop it to use the image reader again.
pub struct FileReader<'a, R: Read + Seek> {
    inner: &'a mut R,
    /// The non-empty extents, in file order.
    extents: Vec<Extent>,
    /// `zero[i]`: `extents[i]` is a hole (an unrecorded UDF extent) that reads as zeros.
    zero: Vec<bool>,
    /// The file's bytes when they are kept in memory (UDF data embedded in its file entry).
    memory: Option<Vec<u8>>,
    /// `starts[i]`: the file offset of the first byte of `extents[i]`.
    starts: Vec<u64>,
    size: u64,
    pos: u64,
    /// Where `inner` is positioned, if known (saves a seek per sequential read).
    phys: Option<u64>,
    /// Bytes of the blocks the extents' `lba` count: 2048, or the UDF view's logical block
    /// size.
    unit: u64,
}

impl<'a, R: Read + Seek> FileReader<'a, R> {
    /// `extents` must hold at least `size` bytes; [`ImageReader::open_file`] checks that.
    ///
    /// [`ImageReader::open_file`]: super::ImageReader::open_file
    pub(crate) fn new(inner: &'a mut R, extents: &[Extent], size: u64) -> Self {
        Self::with_holes(
            inner,
            extents.iter().map(|e| (*e, false)),
            size,
            BLOCK_SIZE_U64,
        )
    }

    /// Like [`new`](Self::new), with each extent flagged as a hole (read as zeros, its `lba`
    /// ignored) or not, and extents counting blocks of `unit` bytes.
    pub(crate) fn with_holes(
        inner: &'a mut R,
        extents: impl IntoIterator<Item = (Extent, bool)>,
        size: u64,
        unit: u64,
    ) -> Self {
        let mut kept = Vec::new();
        let mut zero = Vec::new();
        let mut starts = Vec::new();
        let mut at = 0u64;
        for (e, hole) in extents.into_iter().filter(|(e, _)| e.len != 0) {
            if at >= size {
                break;
            }
            starts.push(at);
            kept.push(e);
            zero.push(hole);
            at += u64::from(e.len);
        }
        FileReader {
            inner,
            extents: kept,
            zero,
            memory: None,
            starts,
            size,
            pos: 0,
            phys: None,
            unit,
        }
    }

    /// A reader over `data` held in memory (its size is `data.len()`).
    pub(crate) fn from_memory(inner: &'a mut R, data: Vec<u8>) -> Self {
        FileReader {
            inner,
            extents: Vec::new(),
            zero: Vec::new(),
            size: data.len() as u64,
            memory: Some(data),
            starts: Vec::new(),
            pos: 0,
            phys: None,
            unit: BLOCK_SIZE_U64,
        }
    }

    /// The file's pieces: its extents with their hole flags, or its bytes held in memory.
    pub(crate) fn into_pieces(self) -> FilePieces {
        if let Some(m) = self.memory {
            return Err(m);
        }
        // Clip the last extent to the size (an extent may hold more than the file).
        let mut out = Vec::with_capacity(self.extents.len());
        for ((e, z), s) in self.extents.iter().zip(&self.zero).zip(&self.starts) {
            let left = self.size.saturating_sub(*s);
            let len = u64::from(e.len).min(left) as u32;
            out.push((Extent { lba: e.lba, len }, *z));
        }
        Ok(out)
    }

    /// The size of the file in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The current read position.
    pub fn position(&self) -> u64 {
        self.pos
    }
}

impl<R: Read + Seek> Read for FileReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.pos >= self.size {
            return Ok(0);
        }
        if let Some(data) = &self.memory {
            // pos < size = data.len(), so pos fits in usize.
            let rest = data.get(self.pos as usize..).unwrap_or_default();
            let n = rest.len().min(buf.len());
            buf.get_mut(..n)
                .unwrap_or_default()
                .copy_from_slice(rest.get(..n).unwrap_or_default());
            self.pos += n as u64;
            return Ok(n);
        }
        // The extent holding `pos`: the last one starting at or before it.
        let idx = self
            .starts
            .partition_point(|&s| s <= self.pos)
            .checked_sub(1);
        let (ext, start, hole) = match idx
            .and_then(|i| Some((self.extents.get(i)?, self.starts.get(i)?, self.zero.get(i)?)))
        {
            Some((e, s, z)) => (*e, *s, *z),
            None => {
                return Err(io::Error::other(ParseError::new(ParseErrorKind::Io(
                    "file position outside its extents".into(),
                ))))
            }
        };
        let within = self.pos - start;
        let in_extent = u64::from(ext.len).saturating_sub(within);
        if in_extent == 0 {
            // open_file checked the extents cover the size, so this cannot happen.
            return Err(located(
                io::ErrorKind::UnexpectedEof,
                ParseErrorKind::BadSize("file size (more than its extents hold)", self.size),
                ext.lba,
            ));
        }
        let want = in_extent.min(self.size - self.pos).min(buf.len() as u64) as usize;
        if hole {
            buf.get_mut(..want).unwrap_or_default().fill(0);
            self.pos += want as u64;
            return Ok(want);
        }
        let phys = u64::from(ext.lba) * self.unit + within;
        if self.phys != Some(phys) {
            self.phys = None;
            self.inner.seek(SeekFrom::Start(phys))?;
            self.phys = Some(phys);
        }
        let dst = buf.get_mut(..want).unwrap_or_default();
        let n = match self.inner.read(dst) {
            Ok(n) => n,
            Err(e) => {
                self.phys = None;
                return Err(e);
            }
        };
        if n == 0 {
            self.phys = None;
            // The image is shorter than its length said (ECMA-119 6.4.5: the extent's bytes are
            // recorded).
            return Err(located(
                io::ErrorKind::UnexpectedEof,
                ParseErrorKind::Truncated,
                ext.lba,
            ));
        }
        self.pos += n as u64;
        self.phys = Some(phys + n as u64);
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for FileReader<'_, R> {
    /// Seeks within the file; `SeekFrom::End` is relative to its size. Positions past the end
    /// are allowed (reads there return 0 bytes).
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = seek_target(target)?;
        Ok(self.pos)
    }
}
