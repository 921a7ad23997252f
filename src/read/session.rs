//! Sessions of a multisession image grown in place (see `docs/design.md`, "Multisession").
//!
//! An image grown by [`crate::extras::multisession`] holds several sessions, each a complete ISO 9660
//! volume descriptor set and tree at absolute addresses, the newest one also copied to sectors
//! 16.. of the image (so every reader that looks at sector 16 sees the newest tree). Two records
//! let the sessions be found again:
//!
//! - the primary volume descriptor of every appended session carries a session record in its
//!   Application Use field (ECMA-119 8.4.32, bytes 883-1394): `SESSION_MAGIC`
//!   (format/iso9660/session.rs), a version byte (1), the session number (1-based, u32
//!   little-endian) and the first block of the session (u32 little-endian);
//! - the first 16 blocks of every appended session (its own system area, ECMA-119 6.2.1) hold a
//!   copy of blocks 16-31 of the image as they were before the append: the previous session's
//!   descriptors as readers saw them.
//!
//! So session `k` (not the newest) is read by replacing blocks 16-31 of the image with the saved
//! copy at the start of session `k + 1` ([`SessionView`]); every other block is read as it is.

use crate::BLOCK_SIZE_U64;
use std::io::{self, Read, Seek, SeekFrom};

use super::{read_at, ImageReader, Limits};
use crate::codec::endian::le32;
use crate::error::{ParseError, ParseErrorKind};
use crate::format::iso9660::descriptor::{set_member, vd_offset, VolumeDescriptorType};
use crate::format::iso9660::session::{decode_record, HEAD_BLOCKS, HEAD_FIRST};

/// Sessions followed at most (bounds the work on a hostile image).
const MAX_SESSIONS: usize = 4096;

/// One session of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The session number, from 1 (the oldest).
    pub index: u32,
    /// The first block of the session (0 for the first one).
    pub start_block: u64,
    /// The end of the session: its volume space size (ECMA-119 8.4.8), in blocks.
    pub end_block: u64,
    /// The volume identifier of its primary volume descriptor.
    pub volume_id: String,
    /// Where the copy of blocks 16-31 that describes this session is (`None` for the newest
    /// session, which is described by blocks 16-31 themselves).
    pub head_copy_block: Option<u64>,
}

/// A `Read + Seek` over an image in which blocks 16-31 are replaced by a saved copy (an older
/// session's view of the image); with no copy, the image as it is.
pub struct SessionView<R: Read + Seek> {
    inner: R,
    head: Option<Vec<u8>>,
    pos: u64,
    len: Option<u64>,
    /// Where `inner` is positioned, if known (saves a seek per sequential read).
    inner_pos: Option<u64>,
}

impl<R: Read + Seek> SessionView<R> {
    /// The image as it is (the newest session).
    pub fn newest(inner: R) -> Self {
        SessionView {
            inner,
            head: None,
            pos: 0,
            len: None,
            inner_pos: None,
        }
    }

    /// The wrapped reader.
    pub fn into_inner(self) -> R {
        self.inner
    }

    pub(crate) fn with_head(inner: R, head: Vec<u8>) -> Self {
        SessionView {
            inner,
            head: Some(head),
            pos: 0,
            len: None,
            inner_pos: None,
        }
    }
}

impl<R: Read + Seek> Read for SessionView<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let head_start = HEAD_FIRST * BLOCK_SIZE_U64;
        let head_end = head_start + HEAD_BLOCKS * BLOCK_SIZE_U64;
        if let Some(head) = &self.head {
            if (head_start..head_end).contains(&self.pos) {
                let len = match self.len {
                    Some(l) => l,
                    None => {
                        self.inner_pos = None;
                        let l = self.inner.seek(SeekFrom::End(0))?;
                        self.len = Some(l);
                        l
                    }
                };
                if self.pos >= len {
                    return Ok(0);
                }
                let from = (self.pos - head_start) as usize;
                let n = buf
                    .len()
                    .min(head.len().saturating_sub(from))
                    .min((len - self.pos) as usize);
                let src = head.get(from..from + n).unwrap_or_default();
                buf.get_mut(..src.len())
                    .unwrap_or_default()
                    .copy_from_slice(src);
                self.pos += src.len() as u64;
                return Ok(src.len());
            }
        }
        let mut want = buf.len();
        if self.head.is_some() && self.pos < head_start {
            want = want.min((head_start - self.pos) as usize);
        }
        if self.inner_pos != Some(self.pos) {
            self.inner_pos = None;
            self.inner.seek(SeekFrom::Start(self.pos))?;
        }
        let n = match self.inner.read(buf.get_mut(..want).unwrap_or_default()) {
            Ok(n) => n,
            Err(e) => {
                self.inner_pos = None;
                return Err(e);
            }
        };
        self.pos += n as u64;
        self.inner_pos = Some(self.pos);
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for SessionView<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => {
                self.inner_pos = None;
                let len = self.inner.seek(SeekFrom::End(0))?;
                self.len = Some(len);
                len.checked_add_signed(d)
            }
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = super::file::seek_target(target)?;
        Ok(self.pos)
    }
}

/// Reads the primary volume descriptor of the view: the first type-1 descriptor of the set
/// from block 16 (at most 32 descriptors, up to the terminator).
fn primary_descriptor<R: Read + Seek>(r: &mut R, len: u64) -> Result<Vec<u8>, ParseError> {
    let mut buf = vec![0u8; BLOCK_SIZE_U64 as usize];
    for lba in HEAD_FIRST..HEAD_FIRST + 32 {
        if (lba + 1) * BLOCK_SIZE_U64 > len {
            break;
        }
        read_at(r, lba * BLOCK_SIZE_U64, &mut buf, lba)?;
        match set_member(&buf) {
            None => break,
            Some(VolumeDescriptorType::Primary) => return Ok(buf),
            Some(_) => {}
        }
    }
    Err(ParseError::new(ParseErrorKind::NoVolumeDescriptor))
}

/// The sessions of the image in `r`, oldest first (see the module documentation). An image
/// that was never grown by glassmaster has one session starting at block 0; so has an image
/// with UDF only. A file that is no image (neither ISO 9660 nor UDF) is an error.
pub fn sessions<R: Read + Seek>(r: &mut R) -> Result<Vec<SessionInfo>, ParseError> {
    let len = r
        .seek(SeekFrom::End(0))
        .map_err(|e| super::io_error(e, None))?;
    let mut out: Vec<SessionInfo> = Vec::new();
    let mut head: Option<u64> = None;
    loop {
        let pvd = {
            let mut view = match head {
                None => SessionView::newest(&mut *r),
                Some(at) => {
                    let mut copy = vec![0u8; (HEAD_BLOCKS * BLOCK_SIZE_U64) as usize];
                    read_at(r, at * BLOCK_SIZE_U64, &mut copy, at)?;
                    SessionView::with_head(&mut *r, copy)
                }
            };
            match primary_descriptor(&mut view, len) {
                Ok(p) => p,
                // A UDF-only image: one session. Anything else is no image at all.
                Err(e) if out.is_empty() && e.kind == ParseErrorKind::NoVolumeDescriptor => {
                    drop(view);
                    ImageReader::open(&mut *r)?;
                    return Ok(vec![SessionInfo {
                        index: 1,
                        start_block: 0,
                        end_block: len.div_ceil(BLOCK_SIZE_U64),
                        volume_id: String::new(),
                        head_copy_block: None,
                    }]);
                }
                Err(e) => return Err(e),
            }
        };
        let end = u64::from(le32(&pvd, vd_offset::VOLUME_SPACE_SIZE).unwrap_or(0));
        let volume_id = String::from_utf8_lossy(
            pvd.get(vd_offset::VOLUME_ID..vd_offset::VOLUME_ID + 32)
                .unwrap_or_default(),
        )
        .trim_end()
        .to_string();
        let record = decode_record(&pvd);
        let start = record.map_or(0, |(_, s)| u64::from(s));
        // Each older session starts before the one read after it, and saved heads lie beyond
        // the rewritten head: anything else is a damaged or hostile record.
        if let Some(prev) = out.last() {
            if start >= prev.start_block {
                return Err(ParseError::at(
                    ParseErrorKind::BadField("session record (sessions out of order)"),
                    HEAD_FIRST,
                ));
            }
        }
        if start != 0 && start < HEAD_FIRST + HEAD_BLOCKS || start * BLOCK_SIZE_U64 > len {
            return Err(ParseError::at(
                ParseErrorKind::BadField("session record (start block)"),
                HEAD_FIRST,
            ));
        }
        out.push(SessionInfo {
            index: record.map_or(1, |(n, _)| n),
            start_block: start,
            end_block: end,
            volume_id,
            head_copy_block: head,
        });
        if record.is_none() {
            // Not grown by glassmaster (or its first session): look for sessions grown by
            // xorriso on overwriteable media.
            let older = scan_emulated_toc(r, len, &pvd)?;
            if let (Some(newest), Some(last)) = (older.last(), out.last_mut()) {
                last.start_block = newest.start_block;
                for s in older.iter().rev().skip(1) {
                    out.push(s.clone());
                }
            }
            break;
        }
        if start == 0 || out.len() >= MAX_SESSIONS {
            break;
        }
        head = Some(start);
    }
    out.reverse();
    // Number the sessions found from 1, oldest first (the records' numbers are informational).
    for (i, s) in out.iter_mut().enumerate() {
        s.index = i as u32 + 1;
    }
    Ok(out)
}

/// The sessions of an image grown by xorriso (libisoburn's TOC emulation on overwriteable media):
/// the first session starts at block 32, each session's primary volume descriptor (16 blocks
/// after its start) records the session's size, and the next session starts at the end rounded
/// up to 32 blocks. The scan is accepted only if its last descriptor is the one the image shows
/// at block 16 (`newest`, equal but for the volume space size); else no session is returned.
fn scan_emulated_toc<R: Read + Seek>(
    r: &mut R,
    len: u64,
    newest: &[u8],
) -> Result<Vec<SessionInfo>, ParseError> {
    let mut found = Vec::new();
    let mut start = HEAD_FIRST + HEAD_BLOCKS;
    let mut buf = vec![0u8; BLOCK_SIZE_U64 as usize];
    while found.len() < MAX_SESSIONS && (start + HEAD_FIRST + 1) * BLOCK_SIZE_U64 <= len {
        let lba = start + HEAD_FIRST;
        read_at(r, lba * BLOCK_SIZE_U64, &mut buf, lba)?;
        if set_member(&buf) != Some(VolumeDescriptorType::Primary) {
            break;
        }
        let size = u64::from(le32(&buf, vd_offset::VOLUME_SPACE_SIZE).unwrap_or(0));
        if size == 0 {
            break;
        }
        let end = start + size;
        found.push((
            SessionInfo {
                index: 0,
                start_block: start,
                end_block: end,
                volume_id: String::from_utf8_lossy(&buf[40..72]).trim_end().to_string(),
                head_copy_block: Some(lba),
            },
            buf.clone(),
        ));
        start = end.div_ceil(32) * 32;
    }
    let same = |a: &[u8], b: &[u8]| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .enumerate()
                .all(|(i, (x, y))| (80..88).contains(&i) || x == y)
    };
    match found.last() {
        Some((_, last)) if same(last, newest) => Ok(found.into_iter().map(|(s, _)| s).collect()),
        _ => Ok(Vec::new()),
    }
}

impl<R: Read + Seek> ImageReader<SessionView<R>> {
    /// Opens session `n` (1-based, see [`sessions`]) of the image in `r`; `None` opens the
    /// newest one.
    pub fn open_session(r: R, n: Option<u32>) -> Result<Self, ParseError> {
        Self::open_session_with_limits(r, n, Limits::default())
    }

    /// [`open_session`](Self::open_session) with [`Limits`].
    pub fn open_session_with_limits(
        mut r: R,
        n: Option<u32>,
        limits: Limits,
    ) -> Result<Self, ParseError> {
        let Some(n) = n else {
            return ImageReader::open_with_limits(SessionView::newest(r), limits);
        };
        let list = sessions(&mut r)?;
        let s = n
            .checked_sub(1)
            .and_then(|i| list.get(i as usize))
            .ok_or_else(|| {
                ParseError::new(ParseErrorKind::NotFound(format!(
                    "session {n} (the image has {} session{})",
                    list.len(),
                    if list.len() == 1 { "" } else { "s" }
                )))
            })?;
        let view = match s.head_copy_block {
            None => SessionView::newest(r),
            Some(at) => {
                let mut copy = vec![0u8; (HEAD_BLOCKS * BLOCK_SIZE_U64) as usize];
                read_at(&mut r, at * BLOCK_SIZE_U64, &mut copy, at)?;
                SessionView::with_head(r, copy)
            }
        };
        ImageReader::open_with_limits(view, limits)
    }
}
