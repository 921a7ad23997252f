//! The manifest of an image: every file with its path in each view, its blocks, size, time and
//! optionally its SHA-256. It is made from the frozen layout and the same ProgressItems the image
//! is written from (and the hashes from the image stream itself), so it is true by construction.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::build::tree::{NodeId, NodeKind};
use crate::codec::text::decode_ucs2_be;
use crate::error::{Error, Result};
use crate::image::Image;
use crate::layout::PlacedTree;
use crate::progress::{Outcome, Phase, Progress};
use crate::BLOCK_SIZE_U64;

/// One file of the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManifestEntry {
    /// The file's path in the image as given to the builder (its Rock Ridge and UDF path).
    pub path: String,
    /// Its path in the ISO 9660 tree (the recorded identifiers, `;1` included).
    pub iso9660: Option<String>,
    /// Its path in the Joliet tree.
    pub joliet: Option<String>,
    /// Its path in the Rock Ridge view (the real names), if Rock Ridge is recorded.
    pub rock_ridge: Option<String>,
    /// Its path in the UDF tree.
    pub udf: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// First and last block of its data (`None` for an empty file).
    pub blocks: Option<(u64, u64)>,
    /// Modification time as recorded.
    pub mtime: DateTime<Utc>,
    /// SHA-256 of the bytes the image holds for the file, when asked for.
    pub sha256: Option<[u8; 32]>,
}

/// Path of every node shown in a view, keyed by node.
fn view_paths(
    tree: &crate::build::tree::Tree,
    v: &PlacedTree,
    decode: impl Fn(&[u8]) -> String,
) -> HashMap<NodeId, String> {
    let mut dir_path = vec![String::new(); v.view.dirs.len()];
    let mut out = HashMap::new();
    // `dirs` is in path-table order: every parent comes before its children.
    for (i, d) in v.view.dirs.iter().enumerate() {
        for (e, sub) in d.entries_with_dirs() {
            let p = format!("{}/{}", dir_path[i], decode(&d.ident(tree, e)));
            if let Some(sub) = sub {
                if let Some(slot) = dir_path.get_mut(sub as usize) {
                    *slot = p.clone();
                }
            }
            out.insert(e.node, p);
        }
    }
    out
}

impl Image {
    /// The manifest of every regular file (hard links: one entry per name), in image-path
    /// order, without hashes.
    pub fn manifest(&self) -> Vec<ManifestEntry> {
        let l = &self.inner;
        let iso = l
            .iso
            .as_ref()
            .map(|v| view_paths(&l.tree, v, |b| String::from_utf8_lossy(b).into_owned()));
        let joliet = l
            .joliet
            .as_ref()
            .map(|v| view_paths(&l.tree, v, decode_ucs2_be));
        let rr = l.iso.as_ref().is_some_and(|v| v.view.rr.is_some());
        let mut udf: Option<HashMap<NodeId, String>> = None;
        if let Some(u) = &l.udf {
            let mut dir_path: HashMap<NodeId, String> = HashMap::new();
            let mut out = HashMap::new();
            for d in &u.dirs {
                let base = dir_path.get(&d.node).cloned().unwrap_or_default();
                for (c, name) in d.named_children() {
                    let name = crate::format::udf::cs0::decode_cs0(name).unwrap_or_default();
                    let p = format!("{base}/{name}");
                    if c.dir {
                        dir_path.insert(c.node, p.clone());
                    }
                    out.insert(c.node, p);
                }
            }
            udf = Some(out);
        }

        let mut out: Vec<ManifestEntry> = l
            .tree
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| {
                let NodeKind::File { data } = n.kind else {
                    return None;
                };
                let id = i as NodeId;
                let fd = &l.tree.data[data as usize];
                let path = l.tree.path_of(id);
                Some(ManifestEntry {
                    iso9660: iso.as_ref().and_then(|m| m.get(&id).cloned()),
                    joliet: joliet.as_ref().and_then(|m| m.get(&id).cloned()),
                    rock_ridge: rr.then(|| path.clone()),
                    udf: udf.as_ref().and_then(|m| m.get(&id).cloned()),
                    size: fd.len,
                    // Deduplicated files share their twin's extent.
                    blocks: (fd.len > 0).then(|| {
                        let first = l.file_lba[data as usize] as u64;
                        (first, first + fd.len.div_ceil(BLOCK_SIZE_U64) - 1)
                    }),
                    mtime: n.mtime.unwrap_or(l.build_time),
                    sha256: None,
                    path,
                })
            })
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }

    /// [`manifest`](Self::manifest) with the SHA-256 of every file, computed from the image
    /// stream (the bytes the image really holds). Reads every file once; `progress` gets
    /// `begin`/`update`/`end` in blocks and `query_abort` per file.
    pub fn manifest_with_hashes(&self, progress: &mut dyn Progress) -> Result<Vec<ManifestEntry>> {
        let mut entries = self.manifest();
        let total: u64 = entries
            .iter()
            .filter_map(|e| e.blocks)
            .map(|(a, b)| b - a + 1)
            .sum();
        progress.begin(Phase::Write, total);
        let mut stream = self.stream();
        let mut buf = vec![0u8; 1 << 20];
        let mut done = 0u64;
        let mut cache: HashMap<u64, [u8; 32]> = HashMap::new();
        let r = (|| -> Result<()> {
            for e in &mut entries {
                if progress.query_abort() {
                    return Err(Error::Aborted);
                }
                let Some((first, last)) = e.blocks else {
                    e.sha256 = Some(Sha256::digest([]).into());
                    continue;
                };
                if let Some(h) = cache.get(&first) {
                    e.sha256 = Some(*h);
                    continue;
                }
                stream
                    .seek(SeekFrom::Start(first * BLOCK_SIZE_U64))
                    .map_err(Error::from_io)?;
                let mut left = e.size;
                let mut h = Sha256::new();
                while left > 0 {
                    let n = left.min(buf.len() as u64) as usize;
                    stream.read_exact(&mut buf[..n]).map_err(Error::from_io)?;
                    h.update(&buf[..n]);
                    left -= n as u64;
                }
                let digest: [u8; 32] = h.finalize().into();
                cache.insert(first, digest);
                e.sha256 = Some(digest);
                done += last - first + 1;
                progress.update(done, total);
            }
            Ok(())
        })();
        progress.end(Phase::Write, Outcome::of(&r));
        r.map(|()| entries)
    }
}
