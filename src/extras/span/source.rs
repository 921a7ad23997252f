//! The catalog file as a source of the volumes: laid out with a fixed length, its bytes (with
//! every hash) computed on first read and shared by all volumes.

use std::io::{self, Read};
use std::sync::OnceLock;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::catalog::{Catalog, EntryKind};
use crate::build::source::{Generated, Placed};
use crate::build::tree::{FileData, Source};
use crate::error::{Error, Result};
use crate::progress::{Outcome, Phase, Progress};
use crate::BLOCK_SIZE_U64;

/// The catalog file of a set: its length is fixed at layout; its bytes (with every hash) are
/// computed on first read and shared by all volumes.
pub(crate) struct CatalogSource {
    /// Block numbers and volume sizes, set once every volume is laid out (hashes still zero).
    pub(super) laid_out: OnceLock<Catalog>,
    /// The whole files' data, by catalog entry index (regular files with data only).
    pub(super) data: Vec<(usize, FileData)>,
    pub(super) len: u64,
    /// The catalog's bytes once computed. A failure is not kept: the next volume that needs
    /// the catalog tries again (a caller's reader that timed out may work then).
    pub(super) content: OnceLock<Bytes>,
}

impl CatalogSource {
    /// The catalog's bytes, hashing every file once on first use. A file that cannot be read
    /// is [`Error::SourceRead`] (its own error kept) or, when it ends early,
    /// [`Error::SourceChanged`]; an abort is [`Error::Aborted`].
    pub(crate) fn content(&self, progress: &mut dyn Progress) -> Result<Bytes> {
        if let Some(c) = self.content.get() {
            return Ok(c.clone());
        }
        let r = self.compute(progress)?;
        Ok(self.content.get_or_init(|| r).clone())
    }

    fn compute(&self, progress: &mut dyn Progress) -> Result<Bytes> {
        let mut cat = self
            .laid_out
            .get()
            .cloned()
            .ok_or_else(|| Error::Internal("the set is not laid out yet".into()))?;
        let total: u64 = self.data.iter().map(|(_, fd)| fd.len).sum();
        progress.begin(Phase::Write, total.div_ceil(BLOCK_SIZE_U64));
        let mut done = 0u64;
        let mut buf = vec![0u8; 1 << 20];
        let r = (|| {
            for (idx, fd) in &self.data {
                let Some(entry) = cat.entries.get_mut(*idx) else {
                    continue;
                };
                let shown = String::from_utf8_lossy(&entry.path).into_owned();
                progress.item_started(&crate::progress::ProgressItem {
                    first_block: 0,
                    last_block: 0,
                    block_count: 1,
                    description: format!("hashing {shown}"),
                    kind: crate::progress::ItemKind::FileData,
                });
                let failed = |e: io::Error| -> Error {
                    if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
                        return Error::from_io(e);
                    }
                    let path = match &fd.source {
                        Source::Path { path, .. } => Some(path.clone()),
                        Source::Slice { base, .. } => match &base.source {
                            Source::Path { path, .. } => Some(path.clone()),
                            _ => None,
                        },
                        _ => None,
                    };
                    Error::SourceRead {
                        image_path: shown.clone(),
                        path,
                        source: e,
                    }
                };
                let mut reader = crate::build::tree::open_file_data(fd).map_err(failed)?;
                let mut whole = Sha256::new();
                for part in entry.parts.iter_mut() {
                    let mut h = Sha256::new();
                    let mut left = part.len;
                    while left > 0 {
                        if progress.query_abort() {
                            return Err(Error::Aborted);
                        }
                        let n = left.min(buf.len() as u64) as usize;
                        let chunk = buf
                            .get_mut(..n)
                            .ok_or_else(|| Error::Internal("catalog hashing buffer".into()))?;
                        reader.read_exact(chunk).map_err(|e| {
                            if e.kind() == io::ErrorKind::UnexpectedEof {
                                // Fewer bytes than declared: the file changed.
                                Error::SourceChanged {
                                    image_path: shown.clone(),
                                    reason: format!(
                                        "ended before byte {}",
                                        part.offset + part.len - left + n as u64
                                    ),
                                }
                            } else {
                                failed(e)
                            }
                        })?;
                        h.update(&*chunk);
                        whole.update(&*chunk);
                        left -= n as u64;
                        done += n as u64;
                        progress.update(done / BLOCK_SIZE_U64, total.div_ceil(BLOCK_SIZE_U64));
                    }
                    part.sha256 = h.finalize().into();
                }
                if let EntryKind::File { sha256, .. } = &mut entry.kind {
                    *sha256 = whole.finalize().into();
                }
            }
            Ok(())
        })();
        progress.end(
            Phase::Write,
            match &r {
                Ok(()) => Outcome::Completed,
                Err(Error::Aborted) => Outcome::Aborted,
                Err(_) => Outcome::Failed,
            },
        );
        r?;
        let text = cat.to_text();
        if text.len() as u64 != self.len {
            return Err(Error::Internal(format!(
                "catalog is {} bytes, {} were laid out",
                text.len(),
                self.len
            )));
        }
        Ok(Bytes::from(text))
    }
}

/// The catalog is a generated file of every volume: its bytes once every volume is laid out.
impl Generated for CatalogSource {
    fn describe(&self) -> String {
        "the set catalog".into()
    }
    fn bytes(&self, _: &dyn Placed) -> std::io::Result<Bytes> {
        self.content(&mut crate::progress::NoProgress)
            .map_err(io::Error::from)
    }
}

impl std::fmt::Debug for CatalogSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CatalogSource({} bytes)", self.len)
    }
}
