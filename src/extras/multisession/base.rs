//! The base image: an existing image opened for import or append, and the data of its files
//! (their pieces on the base and a reader of them).

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{BaseOpener, ReadSeek};
use crate::error::{Error, Result};
use crate::format::iso9660::session::{HEAD_BLOCKS, HEAD_FIRST};
use crate::read::session::{self, SessionInfo, SessionView};
use crate::read::{ImageReader, View};
use crate::{BLOCK_SIZE, BLOCK_SIZE_U64};

/// An existing image to import from or append to.
pub struct BaseImage {
    pub(super) opener: BaseOpener,
    pub(super) path: Option<PathBuf>,
    pub(super) len: u64,
    pub(super) sessions: Vec<SessionInfo>,
    /// The newest session's El Torito boot record descriptor, if it has one.
    pub(super) boot_record: Option<Vec<u8>>,
    /// Whether the newest session has ISO 9660 (else it is UDF only).
    pub(super) has_iso: bool,
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
    pub(super) fn session_opener(&self, n: Option<u32>) -> Result<BaseOpener> {
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
        let mut copy = vec![0u8; (HEAD_BLOCKS * BLOCK_SIZE_U64) as usize];
        let mut r = (self.opener)().map_err(Error::Write)?;
        r.seek(SeekFrom::Start(at * BLOCK_SIZE_U64))
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
    pub(super) fn end_blocks(&self) -> u64 {
        let vss = self.sessions.last().map_or(0, |s| s.end_block);
        vss.max(self.len.div_ceil(BLOCK_SIZE_U64))
    }
}

/// The El Torito boot record (El Torito 2.0, a type-0 descriptor) of the set at block 16.
fn boot_record(r: &mut dyn ReadSeek, len: u64) -> Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; BLOCK_SIZE];
    for lba in HEAD_FIRST..HEAD_FIRST + 32 {
        if (lba + 1) * BLOCK_SIZE_U64 > len {
            break;
        }
        r.seek(SeekFrom::Start(lba * BLOCK_SIZE_U64))
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
