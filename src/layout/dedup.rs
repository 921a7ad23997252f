//! Content deduplication: files with identical bytes are stored once, every name and view
//! pointing at the same extent (as oscdimg `-o`). Only files of equal size are hashed, so the
//! cost is near zero when sizes differ. The hash is BLAKE3 (256 bits, a strong hash as the
//! backup issue asks: no practical collisions, and a hostile tree cannot force pairwise
//! comparisons), and candidates with equal hashes are still compared byte by byte before
//! sharing. Duplicates keep their own file identity (Rock Ridge serial numbers and link
//! counts, UDF file entries): only the data is shared. Hard links are one file already.
//!
//! Trade-off: the hashing reads every same-size file once at layout time, before the image is
//! written (a second read of those files); files of unique sizes are never read early.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use crate::build::tree::{DataId, NodeKind, Source, Tree};
use crate::error::{Error, Result};
use crate::progress::Progress;

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

/// The error for a source that cannot be read while it is hashed or compared: one that
/// vanished or ended early changed since it was scanned; any other failure (permission
/// denied, an I/O error) is the source's own error, its kind kept, naming the path.
fn source_err(tree: &Tree, data: DataId, e: std::io::Error) -> Error {
    use std::io::ErrorKind;
    let path = tree.source_file(data).map(|p| p.0);
    match path {
        Some(path) if !matches!(e.kind(), ErrorKind::NotFound | ErrorKind::UnexpectedEof) => {
            Error::Source { path, source: e }
        }
        _ => {
            let node = tree
                .nodes
                .iter()
                .position(|n| matches!(n.kind, NodeKind::File { data: d } if d == data));
            Error::SourceChanged {
                image_path: node.map(|i| tree.path_of(i as u32)).unwrap_or_default(),
                reason: format!("cannot be read for deduplication: {e}"),
            }
        }
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

/// A candidate's digest: SHA-256 for files up to [`SMALL_MAX`], BLAKE3 for larger ones (see
/// [`Hasher`]).
pub(crate) type Digest = [u8; 32];

/// The strong hash of one file, chosen by its size (files are only compared with files of
/// their own size, so each size has one hash). On inputs of a few KiB BLAKE3 cannot use its
/// wide SIMD paths and, built without C or assembly, hashed 100,000 files of 1-8 KiB in
/// 0.41-0.53 s here, against 0.27-0.29 s for SHA-256 with the CPU's SHA extensions (the
/// `sha2` crate detects them at run time); on large files BLAKE3 is faster (2.4 GB/s
/// against 1.7 GB/s for 64 MiB).
pub(crate) enum Hasher {
    Small(sha2::Sha256),
    Large(Box<blake3::Hasher>),
}

impl Hasher {
    /// The hasher for a file of `len` bytes.
    pub(crate) fn for_len(len: u64) -> Self {
        use sha2::Digest as _;
        if len <= SMALL_MAX {
            Hasher::Small(sha2::Sha256::new())
        } else {
            Hasher::Large(Box::new(blake3::Hasher::new()))
        }
    }
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        use sha2::Digest as _;
        match self {
            Hasher::Small(h) => h.update(bytes),
            Hasher::Large(h) => {
                h.update(bytes);
            }
        }
    }
    pub(crate) fn finalize(self) -> Digest {
        use sha2::Digest as _;
        match self {
            Hasher::Small(h) => h.finalize().into(),
            Hasher::Large(h) => *h.finalize().as_bytes(),
        }
    }
}

/// A fast 64-bit fingerprint of `bytes`: not a cryptographic hash, only a filter. The
/// single-pass writer looks a small file up by its fingerprint among the files already
/// written and computes the strong hash ([`Hasher`]) only for a file whose fingerprint and
/// size match an earlier file's; sharing still needs equal strong hashes and equal bytes.
/// Four independent multiply-rotate-multiply lanes over 32-byte blocks (several GB/s per core), then
/// the tail and the length folded in and the result avalanched.
pub(crate) fn fingerprint(bytes: &[u8]) -> u64 {
    // Odd 64-bit constants with well-mixed bits (from the golden ratio and other irrationals).
    const M: [u64; 4] = [
        0x9E37_79B9_7F4A_7C15,
        0xC2B2_AE3D_27D4_EB4F,
        0x1656_67B1_9E37_79F9,
        0xD6E8_FEB8_6659_FD93,
    ];
    let word = |w: &[u8]| {
        let mut b = [0u8; 8];
        b[..w.len().min(8)].copy_from_slice(&w[..w.len().min(8)]);
        u64::from_le_bytes(b)
    };
    // The word is multiplied before it enters the lane and the lane after its rotation, so
    // a flipped top bit (which a multiplication by an odd number passes through unmixed) is
    // spread by the second multiplication.
    // Word and lane use different multipliers (with one, a change in the lane could cancel
    // a change in the next word).
    let round = |acc: u64, w: u64| {
        acc.wrapping_add(w.wrapping_mul(M[1]))
            .rotate_left(31)
            .wrapping_mul(M[0])
    };
    let mut acc = M;
    let mut blocks = bytes.chunks_exact(32);
    for b in &mut blocks {
        for (j, w) in b.chunks_exact(8).enumerate() {
            acc[j] = round(acc[j], word(w));
        }
    }
    let mut h = acc[0].rotate_left(1)
        ^ acc[1].rotate_left(7)
        ^ acc[2].rotate_left(12)
        ^ acc[3].rotate_left(18)
        ^ (bytes.len() as u64).wrapping_mul(M[1]);
    for w in blocks.remainder().chunks(8) {
        h = round(h, word(w) ^ (w.len() as u64) << 59);
    }
    // Final avalanche (xor-shift-multiply).
    h ^= h >> 33;
    h = h.wrapping_mul(M[2]);
    h ^= h >> 29;
    h = h.wrapping_mul(M[3]);
    h ^ (h >> 32)
}

/// Hashed batches: (position of the batch's first candidate, its hashes).
type Hashed = Vec<(usize, Vec<Digest>)>;
/// Where hashing stopped: the candidate position, and the read error (`None`: aborted).
type Failure = (usize, Option<std::io::Error>);

/// Candidates are hashed in batches of this many files, taken in turn by the hashing threads.
const BATCH: usize = 64;

/// The first `limit` bytes of a source (fewer if it is shorter), read into `buf`.
fn prefix<'b>(tree: &Tree, id: DataId, limit: u64, buf: &'b mut [u8]) -> std::io::Result<&'b [u8]> {
    let want = limit.min(tree.data[id as usize].len).min(buf.len() as u64) as usize;
    let mut r = tree.open_source(id)?;
    let mut got = 0usize;
    while got < want {
        match r.read(&mut buf[got..want]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(&buf[..got])
}

/// Files longer than this are first compared by the digest of their first [`PREFIX`] bytes:
/// only files whose size and prefix both match another's are hashed whole, so large files of
/// equal size but different contents (disk images, archives of a fixed size) cost one small
/// read each instead of a full read before the image is written.
const PREFIX_MIN: u64 = 1 << 20;
/// How much of a large file the first pass hashes.
const PREFIX: u64 = 64 << 10;

/// The digest of each candidate (of its first `limit` bytes when given), in candidate
/// order, hashed on up to two threads (the caller's thread, which polls `query_abort` once per
/// file, and one helper). Each thread reuses one buffer and opens each file once; the result
/// does not depend on thread timing.
fn hash_all(
    tree: &Tree,
    cands: &[DataId],
    limit: Option<u64>,
    progress: &mut dyn Progress,
) -> Result<Vec<Digest>> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    // Hashes one batch after another until none is left; returns (batch start, hashes) pairs,
    // or the first failure with the candidate position.
    let work = |poll: &mut dyn FnMut() -> bool| -> std::result::Result<Hashed, Failure> {
        let mut buf = vec![0u8; 1 << 16];
        let mut done = Vec::new();
        loop {
            let start = next.fetch_add(BATCH, Ordering::Relaxed);
            if start >= cands.len() {
                return Ok(done);
            }
            let end = (start + BATCH).min(cands.len());
            let mut hashes = Vec::with_capacity(end - start);
            for (k, &id) in cands[start..end].iter().enumerate() {
                if stop.load(Ordering::Relaxed) || poll() {
                    stop.store(true, Ordering::Relaxed);
                    return Err((start + k, None));
                }
                let mut h = match limit {
                    // Prefixes of large files: all BLAKE3.
                    Some(_) => Hasher::Large(Box::new(blake3::Hasher::new())),
                    None => Hasher::for_len(tree.data[id as usize].len),
                };
                let read = match limit {
                    None => tree.read_source_with(id, &mut buf, |_, chunk| {
                        h.update(chunk);
                    }),
                    Some(limit) => prefix(tree, id, limit, &mut buf).map(|p| {
                        h.update(p);
                    }),
                };
                if let Err(e) = read {
                    stop.store(true, Ordering::Relaxed);
                    return Err((start + k, Some(e)));
                }
                hashes.push(h.finalize());
            }
            done.push((start, hashes));
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (mine, theirs) = std::thread::scope(|s| {
        let helper = (threads > 1 && cands.len() > BATCH).then(|| s.spawn(|| work(&mut || false)));
        let mine = work(&mut || progress.query_abort());
        let theirs = helper.map(|h| h.join());
        (mine, theirs)
    });
    let theirs = match theirs {
        Some(Ok(r)) => r,
        Some(Err(_)) => Err((0, Some(std::io::Error::other("hashing thread panicked")))),
        None => Ok(Vec::new()),
    };
    let mut batches = Vec::new();
    let mut failure: Option<Failure> = None;
    for r in [mine, theirs] {
        match r {
            Ok(b) => batches.extend(b),
            // A read failure wins over the stop it caused in the other thread.
            Err(f) => {
                let better = match (&failure, &f) {
                    (None, _) => true,
                    (Some((_, None)), (_, Some(_))) => true,
                    (Some((p, Some(_))), (q, Some(_))) => q < p,
                    _ => false,
                };
                if better {
                    failure = Some(f);
                }
            }
        }
    }
    match failure {
        Some((_, None)) => return Err(Error::Aborted),
        Some((pos, Some(e))) => return Err(source_err(tree, cands[pos], e)),
        None => {}
    }
    batches.sort_unstable_by_key(|b| b.0);
    Ok(batches.into_iter().flat_map(|b| b.1).collect())
}

/// Which candidates [`find`] decides.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Scope {
    /// Every file that shares its size with another.
    All,
    /// Only files larger than [`SMALL_MAX`]; the small candidates are returned undecided, for
    /// the single-pass writer to hash as it writes them (`layout::single_pass`).
    LargeOnly,
}

/// Files up to this size are "small": the single-pass writer holds one whole in memory to hash
/// it and, if it turns out to be a duplicate, not write it.
pub(crate) const SMALL_MAX: u64 = PREFIX_MIN;

/// Finds the duplicates among the tree's file data, leaving `exclude` alone. `rank[id]` is the
/// position of data `id` in placement order: of identical files, the one placed first keeps
/// its extent (so a writer that meets the files in placement order sees each original before
/// its duplicates). With [`Scope::LargeOnly`], also returns the small candidates, in placement
/// order.
pub(crate) fn find(
    tree: &Tree,
    exclude: &HashSet<DataId>,
    rank: &[u32],
    scope: Scope,
    progress: &mut dyn Progress,
) -> Result<(Dedup, Vec<DataId>)> {
    let mut canon: Vec<u32> = (0..tree.data.len() as u32).collect();
    let mut by_len: HashMap<u64, Vec<DataId>> = HashMap::new();
    for (id, d) in tree.data.iter().enumerate() {
        // A one-shot source is read once, by the write: never hashed, never shared.
        let generated = match &d.source {
            Source::Generated(_) | Source::Stream(_) => true,
            Source::Slice { base, .. } => matches!(base.source, Source::Stream(_)),
            _ => false,
        };
        if d.len > 0 && !generated && !exclude.contains(&(id as u32)) {
            by_len.entry(d.len).or_default().push(id as u32);
        }
    }
    let mut out = Dedup::default();
    let mut lens: Vec<u64> = by_len
        .iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(&len, _)| len)
        .collect();
    lens.sort_unstable();
    let mut deferred = Vec::new();
    if scope == Scope::LargeOnly {
        for len in lens.iter().filter(|&&len| len <= SMALL_MAX) {
            deferred.extend(by_len[len].iter().copied());
        }
        deferred.sort_unstable_by_key(|&id| rank.get(id as usize).copied().unwrap_or(u32::MAX));
        lens.retain(|&len| len > SMALL_MAX);
    }
    // Every file sharing its size with another, by size then in the order added.
    // First pass: large files whose prefix is unique among the files of their size are not
    // duplicates; they leave their group (and groups left with one file are dropped).
    let large: Vec<DataId> = lens
        .iter()
        .filter(|&&len| len > PREFIX_MIN)
        .flat_map(|len| by_len[len].iter().copied())
        .collect();
    if !large.is_empty() {
        let prefixes = hash_all(tree, &large, Some(PREFIX), progress)?;
        let mut count: HashMap<(u64, Digest), usize> = HashMap::new();
        let key = |id: DataId, d: &Digest| (tree.data[id as usize].len, *d);
        for (&id, d) in large.iter().zip(&prefixes) {
            *count.entry(key(id, d)).or_default() += 1;
        }
        let unique: HashSet<DataId> = large
            .iter()
            .zip(&prefixes)
            .filter(|(&id, d)| count[&key(id, d)] == 1)
            .map(|(&id, _)| id)
            .collect();
        for ids in by_len.values_mut() {
            ids.retain(|id| !unique.contains(id));
        }
        lens.retain(|len| by_len[len].len() > 1);
    }
    let cands: Vec<DataId> = lens
        .iter()
        .flat_map(|len| by_len[len].iter().copied())
        .collect();
    let hashes = hash_all(tree, &cands, None, progress)?;
    let mut at = 0usize;
    for len in lens {
        let ids = &by_len[&len];
        let mut by_hash: HashMap<Digest, Vec<DataId>> = HashMap::new();
        for (&id, h) in ids.iter().zip(&hashes[at..]) {
            by_hash.entry(*h).or_default().push(id);
        }
        at += ids.len();
        let rank_of = |id: DataId| rank.get(id as usize).copied().unwrap_or(u32::MAX);
        let mut groups: Vec<&mut Vec<DataId>> =
            by_hash.values_mut().filter(|g| g.len() > 1).collect();
        for g in groups.iter_mut() {
            g.sort_unstable_by_key(|&id| rank_of(id));
        }
        groups.sort_unstable_by_key(|g| rank_of(g[0]));
        for group in groups {
            if progress.query_abort() {
                return Err(Error::Aborted);
            }
            // The first placed keeps its extent; the others are confirmed byte by byte.
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
    Ok((out, deferred))
}

#[cfg(test)]
mod tests {
    use super::fingerprint;
    use std::collections::HashSet;

    /// Every one-bit change, at every position of inputs of every length up to 100 bytes
    /// (tails of each size, one or more blocks), gives a different fingerprint; equal inputs
    /// give equal ones, and the length counts (zeros of different lengths differ).
    #[test]
    fn fingerprint_sees_every_bit_and_the_length() {
        let mut all = HashSet::new();
        for len in 0..100usize {
            let base: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8).collect();
            assert_eq!(fingerprint(&base), fingerprint(&base.clone()));
            let mut seen = HashSet::new();
            assert!(seen.insert(fingerprint(&base)));
            for i in 0..len {
                for bit in 0..8 {
                    let mut v = base.clone();
                    v[i] ^= 1 << bit;
                    assert!(seen.insert(fingerprint(&v)), "len {len} byte {i} bit {bit}");
                }
            }
            assert!(
                all.insert(fingerprint(&vec![0u8; len])),
                "zeros of {len} bytes"
            );
        }
    }
}
