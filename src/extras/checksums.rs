//! Embedded checksums (`Options::checksums`, CLI `--checksums`): two plain-text files in the
//! image, readable by anyone with any reader, at a path valid at every ISO 9660 level:
//!
//! * `/CHECKSUM/SHA256.TXT`: one line per regular file of the image, sorted by path:
//!   `<sha256 hex> <first block> <size in bytes> <image path>` (an empty file has block 0);
//! * `/CHECKSUM/SELF.TXT`: `<sha256 hex of SHA256.TXT> SHA256.TXT`.
//!
//! The hashes are of the bytes the image holds (boot info tables included), computed from the
//! image stream the first time either file is read, then kept. `glassmaster verify` checks the
//! list's own hash, then every file by its block range, then parses the image in strict mode.

use sha2::{Digest, Sha256};
use std::io::{Read, Seek, SeekFrom};

use crate::build::tree::{FileData, NodeKind, Source, Tree};
use crate::error::Result;
use crate::layout::Layout;
use crate::BLOCK_SIZE;

/// Where the list is.
pub const LIST_PATH: &str = "/CHECKSUM/SHA256.TXT";
/// Where the list's own hash is.
pub const SELF_PATH: &str = "/CHECKSUM/SELF.TXT";

/// Files whose hashes the list holds: every regular file but the two checksum files.
fn listed(tree: &Tree) -> Vec<(String, u32)> {
    let mut v: Vec<(String, u32)> = tree
        .nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| match n.kind {
            NodeKind::File { data }
                if !matches!(tree.data[data as usize].source, Source::Checksums { .. }) =>
            {
                Some((tree.path_of(i as u32), data))
            }
            _ => None,
        })
        .collect();
    v.sort();
    v
}

/// Adds the two files to the tree (their sizes are known now: hashes have a fixed length).
pub(crate) fn add_files(tree: &mut Tree) -> Result<()> {
    let list_len: u64 = listed(tree)
        .iter()
        .map(|(p, d)| {
            let len = tree.data[*d as usize].len;
            // hex + space + block + space + size + space + path + newline; the block is at most
            // 10 digits, padded to 10 so the size does not depend on the layout.
            (64 + 1 + 10 + 1 + len.to_string().len() + 1 + p.len() + 1) as u64
        })
        .sum();
    tree.add_file(
        LIST_PATH,
        FileData {
            source: Source::Checksums { self_hash: false },
            len: list_len,
        },
    )?;
    tree.add_file(
        SELF_PATH,
        FileData {
            source: Source::Checksums { self_hash: true },
            len: (64 + 1 + 10 + 1) as u64,
        },
    )?;
    Ok(())
}

/// The list and the list's own hash file (computed once per image).
pub(crate) fn contents(l: &Layout) -> (Vec<u8>, Vec<u8>) {
    l.checksums
        .get_or_init(|| compute(l).unwrap_or_default())
        .clone()
}

fn compute(l: &Layout) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    // A private stream over the same layout (the checksum files themselves are not read).
    let image = crate::image::Image {
        inner: std::sync::Arc::new(clone_for_hashing(l)),
    };
    let mut stream = image.stream();
    let mut list = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    for (path, data) in listed(&l.tree) {
        let len = l.tree.data[data as usize].len;
        let lba = if len == 0 {
            0
        } else {
            l.file_lba[data as usize] as u64
        };
        let mut h = Sha256::new();
        if len > 0 {
            stream.seek(SeekFrom::Start(lba * BLOCK_SIZE as u64))?;
            let mut left = len;
            while left > 0 {
                let n = left.min(buf.len() as u64) as usize;
                stream.read_exact(&mut buf[..n])?;
                h.update(&buf[..n]);
                left -= n as u64;
            }
        }
        let line = format!(
            "{} {:010} {} {}\n",
            crate::extras::manifest::hex(&h.finalize()),
            lba,
            len,
            path
        );
        list.extend_from_slice(line.as_bytes());
    }
    let own = format!(
        "{} SHA256.TXT\n",
        crate::extras::manifest::hex(&Sha256::digest(&list))
    );
    Ok((list, own.into_bytes()))
}

/// The layout minus its checksum cache (the stream over it never reads the checksum files).
fn clone_for_hashing(l: &Layout) -> Layout {
    Layout {
        pending: None,
        checksums: std::sync::OnceLock::new(),
        dedup_saved: l.dedup_saved,
        tree: l.tree.clone(),
        options: l.options.clone(),
        build_time: l.build_time,
        iso: None,
        joliet: None,
        udf: None,
        boot: l.boot.clone(),
        patchers: l.patchers.clone(),
        seed: l.seed,
        file_lba: l.file_lba.clone(),
        kinds: l.kinds.clone(),
        items: l.items.clone(),
        total_blocks: l.total_blocks,
        warnings: Vec::new(),
    }
}
