//! The catalog file as a source of the volumes: laid out with a fixed length, its bytes (with
//! every hash) computed on first read and shared by all volumes.

use std::io::Read;
use std::sync::OnceLock;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::catalog::{Catalog, EntryKind};
use crate::build::source::{Generated, Placed};
use crate::build::tree::FileData;
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
    pub(super) content: OnceLock<std::result::Result<Bytes, String>>,
}

impl CatalogSource {
    /// The catalog's bytes, hashing every file once on first use.
    pub(crate) fn content(
        &self,
        progress: &mut dyn Progress,
    ) -> std::result::Result<Bytes, String> {
        if let Some(c) = self.content.get() {
            return c.clone();
        }
        let r = self.compute(progress);
        if matches!(r, Err(ref e) if e == "aborted") {
            return r;
        }
        self.content.get_or_init(|| r).clone()
    }

    fn compute(&self, progress: &mut dyn Progress) -> std::result::Result<Bytes, String> {
        let mut cat = self
            .laid_out
            .get()
            .cloned()
            .ok_or_else(|| "the set is not laid out yet".to_string())?;
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
                let mut reader = crate::build::tree::open_file_data(fd)
                    .map_err(|e| format!("{shown}: cannot be read: {e}"))?;
                let mut whole = Sha256::new();
                for part in entry.parts.iter_mut() {
                    let mut h = Sha256::new();
                    let mut left = part.len;
                    while left > 0 {
                        if progress.query_abort() {
                            return Err("aborted".to_string());
                        }
                        let n = left.min(buf.len() as u64) as usize;
                        let chunk = buf.get_mut(..n).ok_or("buffer")?;
                        reader.read_exact(chunk).map_err(|e| {
                            format!(
                                "{shown}: read failed before byte {}: {e}",
                                part.offset + part.len - left + n as u64
                            )
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
                Err(e) if e == "aborted" => Outcome::Aborted,
                Err(_) => Outcome::Failed,
            },
        );
        r?;
        let text = cat.to_text();
        if text.len() as u64 != self.len {
            return Err(format!(
                "catalog is {} bytes, {} were laid out",
                text.len(),
                self.len
            ));
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
            .map_err(std::io::Error::other)
    }
}

impl std::fmt::Debug for CatalogSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CatalogSource({} bytes)", self.len)
    }
}
