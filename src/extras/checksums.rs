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

use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::{Arc, OnceLock};

use crate::build::source::{Generated, Placed, Source};
use crate::build::tree::{DataId, FileData, NodeKind, Tree};
use crate::error::Result;
use crate::BLOCK_SIZE_U64;

/// Where the list is.
pub const LIST_PATH: &str = "/CHECKSUM/SHA256.TXT";
/// Where the list's own hash is.
pub const SELF_PATH: &str = "/CHECKSUM/SELF.TXT";

/// What the two files share: their data ids (set once they are in the tree) and their
/// contents, computed on first read and kept for the image's life.
#[derive(Default)]
struct Shared {
    ids: OnceLock<[DataId; 2]>,
    contents: OnceLock<(Vec<u8>, Vec<u8>)>,
}

/// One of the two files: the list, or (`self_hash`) the list's own hash.
struct ChecksumFile {
    shared: Arc<Shared>,
    self_hash: bool,
}

impl Generated for ChecksumFile {
    fn describe(&self) -> String {
        if self.self_hash {
            "the checksum list's own hash".into()
        } else {
            "the checksum list".into()
        }
    }
    fn bytes(&self, placed: &dyn Placed) -> io::Result<Bytes> {
        let (list, own) = self
            .shared
            .contents
            .get_or_init(|| compute(placed, &self.shared).unwrap_or_default());
        Ok(Bytes::copy_from_slice(if self.self_hash {
            own
        } else {
            list
        }))
    }
}

/// Files whose hashes the list holds: every regular file but the two checksum files
/// (`own`, once added).
fn listed(tree: &Tree, own: &[DataId]) -> Vec<(String, u32)> {
    let mut v: Vec<(String, u32)> = tree
        .nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| match n.kind {
            NodeKind::File { data } if !own.contains(&data) => Some((tree.path_of(i as u32), data)),
            _ => None,
        })
        .collect();
    v.sort();
    v
}

/// Adds the two files to the tree (their sizes are known now: hashes have a fixed length).
pub(crate) fn add_files(tree: &mut Tree) -> Result<()> {
    let list_len: u64 = listed(tree, &[])
        .iter()
        .map(|(p, d)| {
            let len = tree.data[*d as usize].len;
            // hex + space + block + space + size + space + path + newline; the block is at most
            // 10 digits, padded to 10 so the size does not depend on the layout.
            (64 + 1 + 10 + 1 + len.to_string().len() + 1 + p.len() + 1) as u64
        })
        .sum();
    let shared = Arc::new(Shared::default());
    let file = |self_hash| {
        Source::Generated(Arc::new(ChecksumFile {
            shared: shared.clone(),
            self_hash,
        }))
    };
    let list = tree.add_file(
        LIST_PATH,
        FileData {
            source: file(false),
            len: list_len,
        },
    )?;
    let own = tree.add_file(
        SELF_PATH,
        FileData {
            source: file(true),
            len: (64 + 1 + 10 + 1) as u64,
        },
    )?;
    if let (NodeKind::File { data: a }, NodeKind::File { data: b }) =
        (&tree.node(list).kind, &tree.node(own).kind)
    {
        let _ = shared.ids.set([*a, *b]);
    }
    Ok(())
}

fn compute(placed: &dyn Placed, shared: &Shared) -> io::Result<(Vec<u8>, Vec<u8>)> {
    // A stream over the file data (the checksum files themselves are not read).
    let mut stream = placed.file_data_stream();
    let tree = placed.tree();
    let file_lba = placed.file_lba();
    let own = shared.ids.get().map_or(&[][..], |ids| &ids[..]);
    let mut list = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    for (path, data) in listed(tree, own) {
        let len = tree.data[data as usize].len;
        let lba = if len == 0 {
            0
        } else {
            file_lba[data as usize] as u64
        };
        let mut h = Sha256::new();
        if len > 0 {
            stream.seek(SeekFrom::Start(lba * BLOCK_SIZE_U64))?;
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
            crate::codec::text::hex(&h.finalize()),
            lba,
            len,
            path
        );
        list.extend_from_slice(line.as_bytes());
    }
    let own = format!(
        "{} SHA256.TXT\n",
        crate::codec::text::hex(&Sha256::digest(&list))
    );
    Ok((list, own.into_bytes()))
}
