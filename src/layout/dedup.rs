//! Content deduplication: files with identical bytes are stored once, every name and view
//! pointing at the same extent (as oscdimg `-o`). Only files of equal size are hashed (SHA-256),
//! so the cost is near zero when sizes differ; candidates with equal hashes are compared byte by
//! byte before sharing. Duplicates keep their own file identity (Rock Ridge serial numbers and
//! link counts, UDF file entries): only the data is shared. Hard links are one file already.
//!
//! Trade-off: the hashing reads every same-size file once at layout time, before the image is
//! written (a second read of those files); files of unique sizes are never read early.

use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::io::Read;

use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::tree::{DataId, NodeKind, Source, Tree};

/// Which data stands for which, and what was saved.
#[derive(Debug, Clone, Default)]
pub(crate) struct Dedup {
    /// For each data id, the id whose extent it uses (itself if not a duplicate).
    pub canon: Vec<u32>,
    /// Bytes not stored again.
    pub saved_bytes: u64,
    /// Files whose data was shared.
    pub files: u64,
}

fn source_err(tree: &Tree, data: DataId, e: std::io::Error) -> Error {
    let node = tree
        .nodes
        .iter()
        .position(|n| matches!(n.kind, NodeKind::File { data: d } if d == data));
    Error::SourceChanged {
        image_path: node.map(|i| tree.path_of(i as u32)).unwrap_or_default(),
        reason: format!("cannot be read for deduplication: {e}"),
    }
}

fn same_bytes(tree: &Tree, a: DataId, b: DataId) -> std::io::Result<bool> {
    let (mut ra, mut rb) = (tree.open_source(a)?, tree.open_source(b)?);
    let mut left = tree.data[a as usize].len;
    let (mut ba, mut bb) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    while left > 0 {
        let n = left.min(ba.len() as u64) as usize;
        ra.read_exact(&mut ba[..n])?;
        rb.read_exact(&mut bb[..n])?;
        if ba[..n] != bb[..n] {
            return Ok(false);
        }
        left -= n as u64;
    }
    Ok(true)
}

/// Finds the duplicates among the tree's file data, leaving `exclude` alone.
pub(crate) fn find(
    tree: &Tree,
    exclude: &HashSet<DataId>,
    progress: &mut dyn Progress,
) -> Result<Dedup> {
    let mut canon: Vec<u32> = (0..tree.data.len() as u32).collect();
    let mut by_len: HashMap<u64, Vec<DataId>> = HashMap::new();
    for (id, d) in tree.data.iter().enumerate() {
        let generated = matches!(
            d.source,
            Source::BootCatalog | Source::Checksums { .. } | Source::SpanCatalog(_)
        );
        if d.len > 0 && !generated && !exclude.contains(&(id as u32)) {
            by_len.entry(d.len).or_default().push(id as u32);
        }
    }
    let mut out = Dedup::default();
    let mut lens: Vec<&u64> = by_len.keys().collect();
    lens.sort();
    for len in lens {
        let ids = &by_len[len];
        if ids.len() < 2 {
            continue;
        }
        let mut by_hash: HashMap<[u8; 32], Vec<DataId>> = HashMap::new();
        for &id in ids {
            if progress.query_abort() {
                return Err(Error::Aborted);
            }
            let mut h = Sha256::new();
            tree.read_source(id, |_, chunk| h.update(chunk))
                .map_err(|e| source_err(tree, id, e))?;
            by_hash.entry(h.finalize().into()).or_default().push(id);
        }
        for group in by_hash.values() {
            // The first added keeps its extent; the others are confirmed byte by byte.
            let rep = group[0];
            for &other in &group[1..] {
                if same_bytes(tree, rep, other).map_err(|e| source_err(tree, other, e))? {
                    canon[other as usize] = rep;
                    out.saved_bytes += len;
                    out.files += 1;
                }
            }
        }
    }
    out.canon = canon;
    Ok(out)
}
