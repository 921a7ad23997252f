//! Spanning: one tree laid out over several volumes of a fixed capacity (`glassmaster build
//! --span --volume-size SIZE`), and the set catalog that lets `glassmaster extract` put it back
//! together.
//!
//! [`plan`] takes the whole tree as an [`ImageBuilder`] (every source kind: paths, bytes, caller
//! readers) and a capacity in 2048-byte blocks, and returns a [`SpanPlan`]: N volumes, each an
//! ordinary lazy [`Image`] that fits the capacity (checked against the laid-out image, metadata
//! included). Files are taken in placement order (descending weight, then the order added);
//! whole files stay whole where they fit, a file larger than a volume (or than the space left
//! when more than 1/16 of the volume would stay empty) is split into parts over consecutive
//! volumes. A part is a byte range of the source (`Source::Slice`); nothing is copied.
//!
//! Every volume holds:
//! * the entries placed in it, under their own paths; a part of a split file is named
//!   `NAME.partKKKofNNN` in the file's own directory (so nobody takes it for the whole file);
//! * [`CATALOG_PATH`]: the catalog of the whole set, identical in every volume (format below);
//! * [`VOLUME_PATH`]: which volume this is (`set ID`, `volume K of N`, `label`).
//!
//! Volume labels are the builder's volume name (shortened to fit 16 characters) followed by
//! `_001`, `_002`, ...
//!
//! ## Catalog format (`/SPANSET/CATALOG.TXT`, UTF-8 text, one record per line)
//! ```text
//! GLASSMASTER-SPANSET 1
//! set 3f2a9c0d11e5b6a7
//! time 1700000000
//! volumes 3
//! volume 1 0000004096 BACKUP_001
//! entries 5
//! dir 0755 0 0 1700000000.000000000 /docs
//! file 0644 1000 1000 1700000000.000000000 9000000 <sha256> 3 /docs/big.bin
//! part 1 0 3000000 0000000310 <sha256> /docs/big.bin.part001of003
//! symlink 0777 0 0 1700000000.000000000 /docs/link target
//! hardlink 0644 0 0 1700000000.000000000 /docs/other /docs/big.bin
//! special 0644 0 0 1700000000.000000000 c 1 3 /dev/null
//! end
//! ```
//! Fields are separated by one space; paths and link targets are escaped (`%XX` for `%`, space,
//! control characters and bytes that are not UTF-8), so a line splits unambiguously. Times are
//! seconds since 1970 with nine digits of nanoseconds; permissions are octal. A `file` line gives
//! the size and SHA-256 of the whole file and its number of parts; its `part` lines follow in
//! order: volume number, offset and length in the file, first block of the part in its volume
//! (the part is contiguous there), the part's SHA-256 and its path in that volume. Entries are
//! sorted by path, so directories come before their contents.
//!
//! Checksums of files in later volumes are needed in volume 1, so the catalog's size is fixed at
//! layout (hashes, block numbers and volume sizes have fixed widths) and its bytes are computed
//! on first read by hashing every source once ([`SpanPlan::compute_catalog`] does it up front
//! with progress), then cached and shared by all volumes of the plan.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::build::builder::ImageBuilder;
use crate::build::tree::{DataId, FileData, NodeId, NodeKind, Source, SpecialKind, Tree};
use crate::error::{Error, Result};
use crate::image::Image;
use crate::progress::{NoProgress, Outcome, Phase, Progress};
use crate::BLOCK_SIZE;

const BLOCK: u64 = BLOCK_SIZE as u64;

/// Media capacities in 2048-byte blocks (the figures cdrecord/growisofs report for blank media).
pub const MEDIA: &[(&str, u64)] = &[
    ("cd74", 333_000),
    ("cd80", 360_000),
    ("dvd5", 2_295_104),
    ("dvd9", 4_173_824),
    ("bd25", 12_219_392),
    ("bd50", 24_438_784),
];

/// The capacity in blocks of a medium named in [`MEDIA`] (case-insensitive).
pub fn media_blocks(name: &str) -> Option<u64> {
    let name = name.trim().to_ascii_lowercase();
    MEDIA.iter().find(|(n, _)| *n == name).map(|&(_, b)| b)
}

/// The directory holding the set files in every volume.
pub(crate) const SPAN_DIR: &str = "/SPANSET";
/// The catalog of the whole set (identical in every volume).
pub const CATALOG_PATH: &str = "/SPANSET/CATALOG.TXT";
/// This volume's number and set.
pub const VOLUME_PATH: &str = "/SPANSET/VOLUME.TXT";
/// First line of the catalog and of the volume file.
pub const FORMAT_LINE: &str = "GLASSMASTER-SPANSET 1";

/// Data room a volume must have beyond the metadata of an empty volume, in blocks (32 KiB).
pub(crate) const MIN_DATA_BLOCKS: u64 = 16;

/// Splitting a file that would fit a fresh volume is worth it only if more than this fraction
/// (1/N) of the current volume would otherwise stay empty.
const WASTE_DIVISOR: u64 = 16;

// ------------------------------------------------------------------------------------------------
// The catalog

/// What a catalog entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory.
    Dir,
    /// A regular file: its size and the SHA-256 of its bytes; its parts are in
    /// [`CatalogEntry::parts`].
    File {
        /// Size in bytes.
        size: u64,
        /// SHA-256 of the whole file (zeros until computed).
        sha256: [u8; 32],
    },
    /// A symbolic link.
    Symlink {
        /// The link's target, as bytes.
        target: Vec<u8>,
    },
    /// Another name of a file listed before it (a hard link).
    HardLink {
        /// The path of the first name.
        target: Vec<u8>,
    },
    /// A device node, FIFO or socket.
    Special {
        /// Which kind.
        kind: SpecialKind,
        /// Device major number (devices only).
        major: u32,
        /// Device minor number (devices only).
        minor: u32,
    },
}

/// One part of a file: a byte range stored contiguously in one volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The volume number (from 1).
    pub volume: u32,
    /// The part's path in that volume.
    pub path: Vec<u8>,
    /// Offset of the part in the file.
    pub offset: u64,
    /// Length in bytes (> 0).
    pub len: u64,
    /// First block of the part's data in its volume.
    pub lba: u64,
    /// SHA-256 of the part's bytes (zeros until computed).
    pub sha256: [u8; 32],
}

/// One entry of the set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    /// The path in the tree (`/a/b`), as bytes.
    pub path: Vec<u8>,
    /// What it is.
    pub kind: EntryKind,
    /// Permission bits (the low 12 bits of `st_mode`).
    pub perm: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time.
    pub mtime: DateTime<Utc>,
    /// The parts of a regular file, in order (none for an empty file or other kinds).
    pub parts: Vec<Part>,
}

/// One volume of the set, as the catalog lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeInfo {
    /// The volume number (from 1).
    pub number: u32,
    /// Its size in blocks.
    pub blocks: u64,
    /// Its volume label.
    pub label: String,
}

/// The catalog of a spanned set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    /// The set identifier (16 hex digits, derived from the inputs and the build time).
    pub set_id: String,
    /// The build time (seconds since 1970).
    pub time: i64,
    /// The volumes, in order.
    pub volumes: Vec<VolumeInfo>,
    /// Every entry, sorted by path.
    pub entries: Vec<CatalogEntry>,
}

/// Escapes bytes for a catalog field: `%XX` for `%`, space, control characters and bytes that
/// are not UTF-8; other characters as they are.
pub(crate) fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '%' || c <= ' ' || c == '\u{7f}' {
                out.push_str(&format!("%{:02X}", c as u32));
            } else {
                out.push(c);
            }
        }
        for &b in chunk.invalid() {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Reverses [`escape`].
pub(crate) fn unescape(s: &str) -> std::result::Result<Vec<u8>, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad escape in {s:?}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn hex(h: &[u8; 32]) -> String {
    crate::extras::manifest::hex(h)
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn fmt_time(t: &DateTime<Utc>) -> String {
    format!("{}.{:09}", t.timestamp(), t.timestamp_subsec_nanos())
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let (secs, nanos) = s.split_once('.')?;
    if nanos.len() != 9 {
        return None;
    }
    DateTime::from_timestamp(secs.parse().ok()?, nanos.parse().ok()?)
}

fn special_letter(k: SpecialKind) -> char {
    match k {
        SpecialKind::CharDevice => 'c',
        SpecialKind::BlockDevice => 'b',
        SpecialKind::Fifo => 'p',
        SpecialKind::Socket => 's',
    }
}

impl Catalog {
    /// The catalog as text (see the module documentation for the format).
    pub fn to_text(&self) -> Vec<u8> {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "{FORMAT_LINE}");
        let _ = writeln!(s, "set {}", self.set_id);
        let _ = writeln!(s, "time {}", self.time);
        let _ = writeln!(s, "volumes {}", self.volumes.len());
        for v in &self.volumes {
            let _ = writeln!(
                s,
                "volume {} {:010} {}",
                v.number,
                v.blocks,
                escape(v.label.as_bytes())
            );
        }
        let _ = writeln!(s, "entries {}", self.entries.len());
        for e in &self.entries {
            let common = format!("{:04o} {} {} {}", e.perm, e.uid, e.gid, fmt_time(&e.mtime));
            let path = escape(&e.path);
            match &e.kind {
                EntryKind::Dir => {
                    let _ = writeln!(s, "dir {common} {path}");
                }
                EntryKind::File { size, sha256 } => {
                    let _ = writeln!(
                        s,
                        "file {common} {size} {} {} {path}",
                        hex(sha256),
                        e.parts.len()
                    );
                    for p in &e.parts {
                        let _ = writeln!(
                            s,
                            "part {} {} {} {:010} {} {}",
                            p.volume,
                            p.offset,
                            p.len,
                            p.lba,
                            hex(&p.sha256),
                            escape(&p.path)
                        );
                    }
                }
                EntryKind::Symlink { target } => {
                    let _ = writeln!(s, "symlink {common} {path} {}", escape(target));
                }
                EntryKind::HardLink { target } => {
                    let _ = writeln!(s, "hardlink {common} {path} {}", escape(target));
                }
                EntryKind::Special { kind, major, minor } => {
                    let _ = writeln!(
                        s,
                        "special {common} {} {major} {minor} {path}",
                        special_letter(*kind)
                    );
                }
            }
        }
        s.push_str("end\n");
        s.into_bytes()
    }

    /// Parses a catalog; errors name the line.
    pub fn parse(text: &[u8]) -> Result<Catalog> {
        let text = std::str::from_utf8(text).map_err(|e| Error::SpanCatalog {
            line: 0,
            reason: format!("not UTF-8 text ({e})"),
        })?;
        let mut lines = text.split('\n').enumerate().map(|(i, l)| (i + 1, l));
        let mut next = || lines.next().unwrap_or((0, ""));
        let bad = |line: usize, reason: &str| Error::SpanCatalog {
            line,
            reason: reason.to_string(),
        };
        let (n, first) = next();
        if first != FORMAT_LINE {
            return Err(bad(n, &format!("expected {FORMAT_LINE:?}")));
        }
        let mut field = |key: &str| -> Result<(usize, String)> {
            let (n, l) = next();
            match l.strip_prefix(key).and_then(|r| r.strip_prefix(' ')) {
                Some(v) => Ok((n, v.to_string())),
                None => Err(bad(n, &format!("expected `{key} ...`"))),
            }
        };
        let (n, set_id) = field("set")?;
        if set_id.len() != 16 || !set_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(n, "the set identifier is not 16 hex digits"));
        }
        let (n, time) = field("time")?;
        let time: i64 = time.parse().map_err(|_| bad(n, "bad time"))?;
        let (n, count) = field("volumes")?;
        let count: u32 = count.parse().map_err(|_| bad(n, "bad volume count"))?;
        if count == 0 || count > 1_000_000 {
            return Err(bad(n, "bad volume count"));
        }
        let mut volumes = Vec::new();
        for k in 1..=count {
            let (n, v) = field("volume")?;
            let f: Vec<&str> = v.split(' ').collect();
            let [num, blocks, label] = f[..] else {
                return Err(bad(n, "expected `volume NUMBER BLOCKS LABEL`"));
            };
            if num.parse::<u32>().ok() != Some(k) {
                return Err(bad(n, &format!("expected volume {k}")));
            }
            volumes.push(VolumeInfo {
                number: k,
                blocks: blocks.parse().map_err(|_| bad(n, "bad block count"))?,
                label: String::from_utf8_lossy(&unescape(label).map_err(|e| bad(n, &e))?)
                    .into_owned(),
            });
        }
        let (n, count) = field("entries")?;
        let count: usize = count.parse().map_err(|_| bad(n, "bad entry count"))?;
        let mut entries: Vec<CatalogEntry> = Vec::new();
        // The line of the last entry (errors in its parts name it).
        let mut entry_line = 0;
        loop {
            let (n, l) = next();
            if l == "end" {
                break;
            }
            if n == 0 || l.is_empty() {
                return Err(bad(n, "missing `end` line"));
            }
            let f: Vec<&str> = l.split(' ').collect();
            let num = |s: &str| {
                s.parse::<u64>()
                    .map_err(|_| bad(n, &format!("bad number {s:?}")))
            };
            let path = |s: &str| unescape(s).map_err(|e| bad(n, &e));
            if f.first() == Some(&"part") {
                let [_, vol, off, len, lba, sha, p] = f[..] else {
                    return Err(bad(n, "expected 7 fields in a part line"));
                };
                let vol = u32::try_from(num(vol)?).map_err(|_| bad(n, "bad volume"))?;
                if vol == 0 || vol > volumes.len() as u32 {
                    return Err(bad(n, "part in a volume the set does not have"));
                }
                let part = Part {
                    volume: vol,
                    offset: num(off)?,
                    len: num(len)?,
                    lba: num(lba)?,
                    sha256: unhex(sha).ok_or_else(|| bad(n, "bad SHA-256"))?,
                    path: path(p)?,
                };
                match entries.last_mut() {
                    Some(e) if matches!(e.kind, EntryKind::File { .. }) => e.parts.push(part),
                    _ => return Err(bad(n, "a part line must follow its file line")),
                }
                continue;
            }
            if f.len() < 6 {
                return Err(bad(n, "too few fields"));
            }
            let perm = u32::from_str_radix(f[1], 8).map_err(|_| bad(n, "bad permissions"))?;
            let uid = u32::try_from(num(f[2])?).map_err(|_| bad(n, "bad uid"))?;
            let gid = u32::try_from(num(f[3])?).map_err(|_| bad(n, "bad gid"))?;
            let mtime = parse_time(f[4]).ok_or_else(|| bad(n, "bad time"))?;
            let (kind, p) = match (f[0], &f[5..]) {
                ("dir", [p]) => (EntryKind::Dir, p),
                ("file", [size, sha, _parts, p]) => (
                    EntryKind::File {
                        size: num(size)?,
                        sha256: unhex(sha).ok_or_else(|| bad(n, "bad SHA-256"))?,
                    },
                    p,
                ),
                ("symlink", [p, t]) => (EntryKind::Symlink { target: path(t)? }, p),
                ("hardlink", [p, t]) => (EntryKind::HardLink { target: path(t)? }, p),
                ("special", [k, major, minor, p]) => {
                    let kind = match *k {
                        "c" => SpecialKind::CharDevice,
                        "b" => SpecialKind::BlockDevice,
                        "p" => SpecialKind::Fifo,
                        "s" => SpecialKind::Socket,
                        _ => return Err(bad(n, "bad special file kind")),
                    };
                    let major = u32::try_from(num(major)?).map_err(|_| bad(n, "bad major"))?;
                    let minor = u32::try_from(num(minor)?).map_err(|_| bad(n, "bad minor"))?;
                    (EntryKind::Special { kind, major, minor }, p)
                }
                _ => return Err(bad(n, &format!("unknown record {:?}", f[0]))),
            };
            let path = path(p)?;
            if !path.starts_with(b"/") {
                return Err(bad(n, "paths start with '/'"));
            }
            if let Some(prev) = entries.last() {
                check_parts(prev).map_err(|r| bad(entry_line, &r))?;
            }
            entry_line = n;
            entries.push(CatalogEntry {
                path,
                kind,
                perm,
                uid,
                gid,
                mtime,
                parts: Vec::new(),
            });
        }
        if let Some(prev) = entries.last() {
            check_parts(prev).map_err(|r| bad(entry_line, &r))?;
        }
        if entries.len() != count {
            return Err(bad(
                0,
                &format!("{} entries listed, {count} announced", entries.len()),
            ));
        }
        Ok(Catalog {
            set_id,
            time,
            volumes,
            entries,
        })
    }
}

/// A file's parts cover it exactly, in order.
fn check_parts(e: &CatalogEntry) -> std::result::Result<(), String> {
    if let EntryKind::File { size, .. } = e.kind {
        let mut at = 0u64;
        for p in &e.parts {
            if p.offset != at || p.len == 0 {
                return Err(format!(
                    "the parts of {} do not cover it in order",
                    String::from_utf8_lossy(&e.path)
                ));
            }
            at = at.saturating_add(p.len);
        }
        if at != size {
            return Err(format!(
                "the parts of {} cover {at} of {size} bytes",
                String::from_utf8_lossy(&e.path)
            ));
        }
    }
    Ok(())
}

/// The catalog file of a set: its length is fixed at layout; its bytes (with every hash) are
/// computed on first read and shared by all volumes.
pub(crate) struct CatalogSource {
    /// Block numbers and volume sizes, set once every volume is laid out (hashes still zero).
    laid_out: OnceLock<Catalog>,
    /// The whole files' data, by catalog entry index (regular files with data only).
    data: Vec<(usize, FileData)>,
    len: u64,
    content: OnceLock<std::result::Result<Bytes, String>>,
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
        progress.begin(Phase::Write, total.div_ceil(BLOCK));
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
                        progress.update(done / BLOCK, total.div_ceil(BLOCK));
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

// ------------------------------------------------------------------------------------------------
// The plan

/// One volume of a [`SpanPlan`].
#[derive(Debug, Clone)]
pub struct SpanVolume {
    number: u32,
    label: String,
    image: Image,
    whole_files: u64,
    parts: u64,
}

impl SpanVolume {
    /// The volume number (from 1).
    pub fn number(&self) -> u32 {
        self.number
    }
    /// The volume label (`NAME_001`).
    pub fn label(&self) -> &str {
        &self.label
    }
    /// The laid-out image (lazy: nothing is rendered until it is read or written).
    pub fn image(&self) -> &Image {
        &self.image
    }
    /// Regular files stored whole in this volume.
    pub fn whole_files(&self) -> u64 {
        self.whole_files
    }
    /// Parts of split files stored in this volume.
    pub fn parts(&self) -> u64 {
        self.parts
    }
}

/// A tree laid out over several volumes: see the [module documentation](self).
#[derive(Debug, Clone)]
pub struct SpanPlan {
    set_id: String,
    capacity_blocks: u64,
    volumes: Vec<SpanVolume>,
    catalog: Arc<CatalogSource>,
}

impl std::fmt::Debug for CatalogSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CatalogSource({} bytes)", self.len)
    }
}

impl SpanPlan {
    /// The set identifier (16 hex digits).
    pub fn set_id(&self) -> &str {
        &self.set_id
    }
    /// The capacity every volume fits, in blocks.
    pub fn capacity_blocks(&self) -> u64 {
        self.capacity_blocks
    }
    /// The volumes, in order.
    pub fn volumes(&self) -> &[SpanVolume] {
        &self.volumes
    }
    /// The catalog as laid out: every entry, part and block number; the hashes are zero until
    /// [`compute_catalog`](Self::compute_catalog) (or reading a volume's catalog) computed them.
    pub fn catalog(&self) -> Catalog {
        match self.catalog.content.get() {
            Some(Ok(bytes)) => Catalog::parse(bytes).ok(),
            _ => None,
        }
        .or_else(|| self.catalog.laid_out.get().cloned())
        .unwrap_or_else(|| Catalog {
            set_id: self.set_id.clone(),
            time: 0,
            volumes: Vec::new(),
            entries: Vec::new(),
        })
    }
    /// Hashes every file once (driving `progress`, which may abort) and returns the catalog's
    /// bytes, which every volume then holds without reading the sources again.
    pub fn compute_catalog(&self, progress: &mut dyn Progress) -> Result<Vec<u8>> {
        match self.catalog.content(progress) {
            Ok(b) => Ok(b.to_vec()),
            Err(e) if e == "aborted" => Err(Error::Aborted),
            Err(e) => Err(Error::SourceChanged {
                image_path: CATALOG_PATH.to_string(),
                reason: e,
            }),
        }
    }
    /// The files split over several volumes: (path, number of parts).
    pub fn split_files(&self) -> Vec<(String, usize)> {
        self.catalog
            .laid_out
            .get()
            .map(|c| {
                c.entries
                    .iter()
                    .filter(|e| e.parts.len() > 1)
                    .map(|e| (String::from_utf8_lossy(&e.path).into_owned(), e.parts.len()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// `backup.iso` -> `backup.003.iso` (volume 3; three digits, more for sets of 1000 volumes or
/// more).
pub fn volume_path(output: &Path, number: u32, count: u32) -> PathBuf {
    let width = count.to_string().len().max(3);
    let stem = output
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "volume".into());
    let name = match output.extension() {
        Some(ext) => format!("{stem}.{number:0width$}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{number:0width$}"),
    };
    output.with_file_name(name)
}

/// The label of volume `number`: the base name shortened so the label fits Joliet's 16
/// characters, then `_NNN`.
fn label_for(base: &str, number: u32, count: u32) -> String {
    let digits = format!("{number:0w$}", w = count.to_string().len().max(3));
    let keep = 16usize.saturating_sub(digits.len() + 1);
    let base: String = base.chars().take(keep).collect();
    let base = if base.is_empty() {
        "VOLUME".to_string()
    } else {
        base
    };
    format!("{base}_{digits}")
}

/// One thing to place: a node and its data length (0 for anything but a regular file).
struct Item {
    node: NodeId,
    data: Option<DataId>,
    len: u64,
    /// Metadata bytes estimated for one record of it in every view.
    meta: u64,
}

/// A range of an item placed in a volume (the whole item, or one part).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Take {
    item: usize,
    offset: u64,
    len: u64,
}

struct Planner<'a> {
    b: &'a ImageBuilder,
    /// The builder's tree without detached (removed) nodes.
    tree: Tree,
    items: Vec<Item>,
    /// The shared source of each item's data (slices point at it).
    bases: HashMap<usize, Arc<FileData>>,
    /// Other names of each DataId (hard links), after the first.
    links: HashMap<DataId, Vec<NodeId>>,
    capacity: u64,
    build_time: DateTime<Utc>,
    /// Estimated metadata bytes of a new directory.
    dir_meta: u64,
    /// Weight in effect for each node (inherited from directories).
    weights: HashMap<NodeId, i32>,
}

/// Gives a part's number and the file's part count (for its name `NAME.partKKKofNNN`).
type PartNames<'a> = &'a dyn Fn(&Take) -> Option<(usize, usize)>;

/// What a volume is made of, with the names its parts get.
struct Materialized {
    image: Image,
    /// (take index, DataId in the volume) of every take with data.
    data_ids: Vec<(usize, DataId)>,
}

/// Lays the builder's tree out over volumes of `capacity_blocks` blocks each. See the
/// [module documentation](self). `progress` gets one `Layout` phase (one step per volume) and
/// may abort.
pub fn plan(
    builder: &ImageBuilder,
    capacity_blocks: u64,
    progress: &mut dyn Progress,
) -> Result<SpanPlan> {
    progress.begin(Phase::Layout, 0);
    let r = plan_inner(builder, capacity_blocks, progress);
    progress.end(Phase::Layout, Outcome::of(&r));
    r
}

impl ImageBuilder {
    /// Lays the tree out over volumes of `capacity_blocks` blocks each ([`crate::extras::span::plan`]).
    pub fn plan_span(&self, capacity_blocks: u64) -> Result<SpanPlan> {
        plan(self, capacity_blocks, &mut NoProgress)
    }
}

fn plan_inner(b: &ImageBuilder, capacity: u64, progress: &mut dyn Progress) -> Result<SpanPlan> {
    let opts = &b.options;
    if !opts.boot.entries.is_empty() || opts.boot.hybrid.is_some() {
        return Err(Error::InvalidOption(
            "El Torito boot entries and hybrid images cannot be spanned over volumes".into(),
        ));
    }
    if b.tree.lookup(SPAN_DIR).is_ok() {
        return Err(Error::DuplicatePath(format!(
            "{SPAN_DIR} (reserved for the set catalog of spanned volumes)"
        )));
    }
    let planner = Planner::new(b, capacity)?;
    // The catalog's size depends on the plan (parts, volumes) and the plan on the catalog's
    // size: plan with a reserved size, then re-plan with a larger one if the real catalog is
    // bigger. Each round grows the reservation, so this ends. Should a final volume come out
    // larger than its planning layout (it cannot with today's layout: the final differs only by
    // deduplication and shorter part names), the set is planned again with that margin.
    let mut reserved = planner.catalog_estimate();
    let mut margin = 0u64;
    for _round in 0..8 {
        let plan_cap = capacity.saturating_sub(margin);
        let vols = planner.plan_volumes(plan_cap, reserved, progress)?;
        let (catalog, data) = planner.skeleton(&vols);
        let text_len = catalog.to_text().len() as u64;
        if text_len.div_ceil(BLOCK) > reserved {
            reserved = text_len.div_ceil(BLOCK) + 1 + reserved / 8;
            continue;
        }
        match planner.finish(vols, catalog, data, text_len, progress)? {
            Ok(plan) => return Ok(plan),
            Err(over) => margin += over,
        }
    }
    Err(Error::InvalidOption(
        "the spanned volumes' layout did not settle; please report this".into(),
    ))
}

fn blocks(bytes: u64) -> u64 {
    bytes.div_ceil(BLOCK)
}

impl<'a> Planner<'a> {
    fn new(b: &'a ImageBuilder, capacity: u64) -> Result<Self> {
        // Removed entries stay detached in the arena until compacted (multisession).
        let tree_owned = b.tree.compacted();
        let tree = &tree_owned;
        let fs = b.options.filesystems;
        use crate::build::builder::FileSystems as F;
        let per_name = |n: u64| -> u64 {
            let mut m = 0;
            if fs.contains(F::ISO9660) {
                m += 34 + n.min(40) + 2;
            }
            if fs.contains(F::ROCK_RIDGE) {
                m += 150 + n;
            }
            if fs.contains(F::JOLIET) {
                m += 34 + 2 * n.min(103) + 2;
            }
            if fs.contains(F::UDF) {
                m += BLOCK + 40 + 2 * n;
            }
            m
        };
        let mut dir_meta = 0;
        if fs.contains(F::ISO9660) {
            dir_meta += BLOCK + 16;
        }
        if fs.contains(F::ROCK_RIDGE) {
            dir_meta += BLOCK;
        }
        if fs.contains(F::JOLIET) {
            dir_meta += BLOCK + 16;
        }
        if fs.contains(F::UDF) {
            dir_meta += 2 * BLOCK;
        }
        // Effective weights (a directory's weight applies below it).
        let mut weights = HashMap::new();
        for id in 1..tree.nodes.len() as NodeId {
            let mut cur = id;
            let w = loop {
                if let Some(w) = tree.weights.get(&cur) {
                    break *w;
                }
                if cur == 0 {
                    break 0;
                }
                cur = tree.node(cur).parent;
            };
            weights.insert(id, w);
        }
        let mut items = Vec::new();
        let mut seen: HashMap<DataId, NodeId> = HashMap::new();
        let mut links: HashMap<DataId, Vec<NodeId>> = HashMap::new();
        for (i, n) in tree.nodes.iter().enumerate().skip(1) {
            let id = i as NodeId;
            let name_len = tree.name_bytes(id).len() as u64;
            let (data, len, extra) = match &n.kind {
                NodeKind::Dir { children } if children.is_empty() => (None, 0, dir_meta),
                NodeKind::Dir { .. } => continue,
                NodeKind::File { data } => {
                    if seen.contains_key(data) {
                        links.entry(*data).or_default().push(id);
                        continue;
                    }
                    seen.insert(*data, id);
                    if matches!(
                        tree.data[*data as usize].source,
                        Source::Generated(_) | Source::SpanCatalog(_)
                    ) {
                        return Err(Error::InvalidOption(format!(
                            "{}: generated files cannot be spanned",
                            tree.path_of(id)
                        )));
                    }
                    (Some(*data), tree.data[*data as usize].len, 0)
                }
                NodeKind::Symlink { target } => (None, 0, target.len() as u64 + 20),
                NodeKind::Special { .. } => (None, 0, 0),
            };
            // Parts carry a `.partKKKKofNNNN` suffix.
            let meta = per_name(name_len + if len > 0 { 14 } else { 0 }) + extra;
            items.push(Item {
                node: id,
                data,
                len,
                meta,
            });
        }
        // Placement order: descending weight, then the order added.
        items.sort_by_key(|it| std::cmp::Reverse(weights.get(&it.node).copied().unwrap_or(0)));
        let bases = items
            .iter()
            .enumerate()
            .filter_map(|(i, it)| {
                // A scanned file's source names its node: outside this tree it needs its path.
                Some((i, Arc::new(tree.detached_data(it.data?))))
            })
            .collect();
        let build_time = b.options.build_time.unwrap_or_else(|| {
            let now = Utc::now();
            DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
        });
        Ok(Planner {
            b,
            tree: tree_owned,
            items,
            bases,
            links,
            capacity,
            build_time,
            dir_meta,
            weights,
        })
    }

    /// A first guess of the catalog's size in blocks: every entry with one part, plus slack.
    fn catalog_estimate(&self) -> u64 {
        let mut bytes = 400u64;
        for (i, n) in self.tree.nodes.iter().enumerate().skip(1) {
            let path = escape(&path_bytes(&self.tree, i as NodeId)).len() as u64;
            bytes += 60 + path;
            if matches!(n.kind, NodeKind::File { .. }) {
                bytes += 120 + 2 * path;
            }
        }
        let data: u64 = self.items.iter().map(|it| it.len).sum();
        let volumes = data / (self.capacity.max(1) * BLOCK) + 2;
        bytes += volumes * 160;
        blocks(bytes + bytes / 16) + 1
    }

    /// Places every item into volumes, each checked against the capacity by laying it out.
    fn plan_volumes(
        &self,
        cap: u64,
        reserved: u64,
        progress: &mut dyn Progress,
    ) -> Result<Vec<Vec<Take>>> {
        // An empty volume: only the set files.
        let empty = self.materialize(&[], 1, 1, reserved, None, None)?;
        let base = empty.image.total_blocks();
        if base + MIN_DATA_BLOCKS > cap {
            return Err(Error::SpanCapacityTooSmall {
                capacity_blocks: cap,
                needed_blocks: base + MIN_DATA_BLOCKS,
                reason: format!(
                    "an empty volume with this set's catalog already takes {base} blocks \
                     (and {MIN_DATA_BLOCKS} blocks of data room are the minimum)"
                ),
            });
        }
        let fresh = (cap - base) * BLOCK;
        let mut vols: Vec<Vec<Take>> = Vec::new();
        let mut cursor = (0usize, 0u64);
        while cursor.0 < self.items.len() || vols.is_empty() {
            if progress.query_abort() {
                return Err(Error::Aborted);
            }
            let start = cursor;
            let mut takes = Vec::new();
            let mut dirs = HashSet::new();
            self.fill(&mut takes, &mut cursor, fresh, fresh, &mut dirs);
            let mut rounds = 0;
            loop {
                let m = self.materialize(&takes, 1, 1, reserved, None, None)?;
                let total = m.image.total_blocks();
                if total > cap {
                    if !self.shrink(&mut takes, total - cap, fresh) {
                        let what = self
                            .items
                            .get(cursor.0)
                            .map(|it| self.tree.path_of(it.node))
                            .unwrap_or_default();
                        return Err(Error::SpanCapacityTooSmall {
                            capacity_blocks: cap,
                            needed_blocks: total,
                            reason: format!(
                                "a volume cannot hold even {what} with its directories"
                            ),
                        });
                    }
                    cursor = self.cursor_after(&takes, start);
                    continue;
                }
                // Room left (the estimate was high, or a shrink took off more than needed): add
                // more, a few rounds at most. Shrinking is never limited, so the loop ends on a
                // volume that fits.
                if total < cap && rounds < 4 && cursor.0 < self.items.len() {
                    let before = takes.len();
                    let last = takes.last().copied();
                    self.fill(
                        &mut takes,
                        &mut cursor,
                        (cap - total) * BLOCK,
                        fresh,
                        &mut dirs,
                    );
                    rounds += 1;
                    if takes.len() != before || takes.last().copied() != last {
                        continue;
                    }
                }
                break;
            }
            if takes.is_empty() && cursor.0 < self.items.len() {
                let what = self.tree.path_of(self.items[cursor.0].node);
                return Err(Error::SpanCapacityTooSmall {
                    capacity_blocks: cap,
                    needed_blocks: cap + 1,
                    reason: format!("no volume can hold {what} with its directories"),
                });
            }
            vols.push(takes);
            progress.update(vols.len() as u64, 0);
        }
        Ok(vols)
    }

    /// The cursor after the last take (or `fallback` if there is none).
    fn cursor_after(&self, takes: &[Take], fallback: (usize, u64)) -> (usize, u64) {
        match takes.last() {
            Some(t) if t.offset + t.len < self.items[t.item].len => (t.item, t.offset + t.len),
            Some(t) => (t.item + 1, 0),
            None => fallback,
        }
    }

    /// Adds items from `cursor` while the estimate says they fit in `avail` bytes.
    fn fill(
        &self,
        takes: &mut Vec<Take>,
        cursor: &mut (usize, u64),
        mut avail: u64,
        fresh: u64,
        dirs: &mut HashSet<NodeId>,
    ) {
        while let Some(item) = self.items.get(cursor.0) {
            let rest = item.len - cursor.1;
            let new_dirs = self.new_dirs(item.node, dirs);
            let meta = item.meta + new_dirs.len() as u64 * self.dir_meta;
            let need = blocks(rest) * BLOCK + meta;
            if need <= avail {
                push_take(
                    takes,
                    Take {
                        item: cursor.0,
                        offset: cursor.1,
                        len: rest,
                    },
                );
                avail -= need;
                dirs.extend(new_dirs);
                *cursor = (cursor.0 + 1, 0);
                continue;
            }
            if rest == 0 || avail <= meta {
                break;
            }
            let room = (avail - meta) / BLOCK;
            let must_split = need > fresh;
            // A file already split (this volume continues it) may be split again.
            let already_split = cursor.1 > 0;
            if room == 0 || !(must_split || already_split || room * WASTE_DIVISOR >= self.capacity)
            {
                break;
            }
            let len = (room * BLOCK).min(rest);
            push_take(
                takes,
                Take {
                    item: cursor.0,
                    offset: cursor.1,
                    len,
                },
            );
            dirs.extend(new_dirs);
            cursor.1 += len;
            break;
        }
    }

    /// Directories above `node` not yet in the volume.
    fn new_dirs(&self, node: NodeId, dirs: &HashSet<NodeId>) -> Vec<NodeId> {
        let mut out = Vec::new();
        let mut cur = self.tree.node(node).parent;
        while cur != 0 && !dirs.contains(&cur) {
            out.push(cur);
            cur = self.tree.node(cur).parent;
        }
        out
    }

    /// Removes at least `over` blocks of data from the end of `takes` (or one take without
    /// data). False if nothing is left to remove.
    fn shrink(&self, takes: &mut Vec<Take>, over: u64, fresh: u64) -> bool {
        let mut removed = 0u64;
        while removed < over {
            let Some(t) = takes.last_mut() else {
                return false;
            };
            let it = &self.items[t.item];
            let t_blocks = blocks(t.len);
            let is_part = t.offset > 0 || t.len < it.len;
            let must_split = blocks(it.len) * BLOCK + it.meta > fresh;
            if t_blocks > over - removed && (is_part || must_split) {
                t.len = (t_blocks - (over - removed)) * BLOCK;
                return true;
            }
            removed += t_blocks.max(1);
            takes.pop();
            if t_blocks == 0 {
                return true;
            }
        }
        true
    }

    /// Builds one volume: the takes' entries (parts named `NAME.partKKKofNNN` when `names`
    /// gives their numbers, else a placeholder of the same or greater length), the catalog
    /// (`catalog`, or zeros of `reserved` blocks) and the volume file.
    fn materialize(
        &self,
        takes: &[Take],
        number: u32,
        count: u32,
        reserved: u64,
        names: Option<PartNames<'_>>,
        set: Option<(&Arc<CatalogSource>, &str)>,
    ) -> Result<Materialized> {
        let src = &self.tree;
        let mut opts = self.b.options.clone();
        opts.volume_id = label_for(&self.b.options.volume_id, number, count);
        opts.build_time = Some(self.build_time);
        opts.max_blocks = None;
        if set.is_none() {
            // Planning: without deduplication the size is an upper bound of the final one
            // (dedup only removes data blocks), and no source is read.
            opts.dedup = false;
        }
        let mut vb = ImageBuilder::with_options(opts);
        let t = &mut vb.tree;
        let mut map: HashMap<NodeId, NodeId> = HashMap::from([(0, 0)]);
        let mut data_ids = Vec::new();

        fn copy_meta(src: &Tree, from: NodeId, t: &mut Tree, to: NodeId, suffix: &str) {
            let n = src.node(from);
            let (mtime, posix) = (n.mtime, n.posix.clone());
            t.set_hidden(to, src.is_hidden(from));
            let d = t.node_mut(to);
            d.mtime = mtime;
            d.posix = posix;
            if let Some(raw) = src.raw_names.get(&from) {
                let mut raw = raw.to_vec();
                raw.extend_from_slice(suffix.as_bytes());
                t.raw_names.insert(to, raw.into());
            }
        }
        fn ensure_dir(
            src: &Tree,
            t: &mut Tree,
            map: &mut HashMap<NodeId, NodeId>,
            dir: NodeId,
        ) -> Result<NodeId> {
            if let Some(&d) = map.get(&dir) {
                return Ok(d);
            }
            let parent = ensure_dir(src, t, map, src.node(dir).parent)?;
            let id = t.add_dir_in(parent, &src.node(dir).name)?;
            copy_meta(src, dir, t, id, "");
            map.insert(dir, id);
            Ok(id)
        }

        for (k, take) in takes.iter().enumerate() {
            let item = &self.items[take.item];
            let node = src.node(item.node);
            let parent = ensure_dir(src, t, &mut map, node.parent)?;
            let id = match &node.kind {
                NodeKind::Dir { .. } => ensure_dir(src, t, &mut map, item.node)?,
                NodeKind::File { .. } => {
                    let base = self.bases.get(&take.item).cloned();
                    let whole = take.offset == 0 && take.len == item.len;
                    let (suffix, fd) = match base {
                        Some(base) if !whole => {
                            let suffix = match names.and_then(|f| f(take)) {
                                Some((k, n)) => {
                                    let w = n.to_string().len().max(3);
                                    format!(".part{k:0w$}of{n:0w$}")
                                }
                                None => ".part0000of0000".to_string(),
                            };
                            let fd = match &base.source {
                                // Keep one level: a slice of a slice reads the innermost base.
                                Source::Slice {
                                    base: inner,
                                    offset,
                                } => FileData {
                                    source: Source::Slice {
                                        base: inner.clone(),
                                        offset: offset + take.offset,
                                    },
                                    len: take.len,
                                },
                                _ => FileData {
                                    source: Source::Slice {
                                        base,
                                        offset: take.offset,
                                    },
                                    len: take.len,
                                },
                            };
                            (suffix, fd)
                        }
                        Some(base) => (String::new(), (*base).clone()),
                        None => (
                            String::new(),
                            FileData {
                                source: Source::Bytes(Bytes::new()),
                                len: 0,
                            },
                        ),
                    };
                    let name = format!("{}{suffix}", node.name);
                    let id = t.add_file_in(parent, &name, fd)?;
                    copy_meta(src, item.node, t, id, &suffix);
                    if let NodeKind::File { data } = t.node(id).kind {
                        if take.len > 0 {
                            data_ids.push((k, data));
                        }
                        // Other names of a file stored whole here are hard links here too.
                        if whole {
                            let others = item
                                .data
                                .and_then(|d| self.links.get(&d))
                                .cloned()
                                .unwrap_or_default();
                            for other in others {
                                let p = ensure_dir(src, t, &mut map, src.node(other).parent)?;
                                let l = t.add_link_in(p, &src.node(other).name, data)?;
                                copy_meta(src, other, t, l, "");
                            }
                        }
                    }
                    id
                }
                kind => {
                    let id = t.add_node_in(parent, &node.name, kind.clone())?;
                    copy_meta(src, item.node, t, id, "");
                    id
                }
            };
            if let Some(w) = self.weights.get(&item.node) {
                if *w != 0 {
                    t.weights.insert(id, *w);
                }
            }
        }
        // The set files, placed after everything else.
        let catalog = match set {
            Some((cat, _)) => FileData {
                source: Source::SpanCatalog(cat.clone()),
                len: cat.len,
            },
            None => FileData {
                source: Source::Reader(Arc::new(|| {
                    Ok(Box::new(io::repeat(0)) as Box<dyn Read + Send>)
                })),
                len: reserved * BLOCK,
            },
        };
        let volume_text = match set {
            Some((_, id)) => format!(
                "{FORMAT_LINE}\nset {id}\nvolume {number} of {count}\nlabel {}\n",
                label_for(&self.b.options.volume_id, number, count)
            ),
            None => String::from("0"),
        };
        t.add_file(CATALOG_PATH, catalog)?;
        t.add_file(
            VOLUME_PATH,
            FileData {
                len: volume_text.len() as u64,
                source: Source::Bytes(Bytes::from(volume_text)),
            },
        )?;
        let image = vb.build()?;
        Ok(Materialized { image, data_ids })
    }

    /// The catalog with zero hashes, block numbers and sizes, and the data to hash per entry.
    fn skeleton(&self, vols: &[Vec<Take>]) -> (Catalog, Vec<(usize, FileData)>) {
        let tree = &self.tree;
        // Parts per item, in order.
        let mut parts: HashMap<usize, Vec<(u32, Take)>> = HashMap::new();
        for (v, takes) in vols.iter().enumerate() {
            for t in takes {
                if t.len > 0 {
                    parts.entry(t.item).or_default().push((v as u32 + 1, *t));
                }
            }
        }
        let item_of: HashMap<NodeId, usize> = self
            .items
            .iter()
            .enumerate()
            .map(|(i, it)| (it.node, i))
            .collect();
        let primary: HashMap<DataId, NodeId> = self
            .items
            .iter()
            .filter_map(|it| Some((it.data?, it.node)))
            .collect();
        let mut entries: Vec<(CatalogEntry, Option<usize>)> = Vec::new();
        for (i, n) in tree.nodes.iter().enumerate().skip(1) {
            let id = i as NodeId;
            let path = path_bytes(tree, id);
            let (perm, uid, gid) = match &n.posix {
                Some(p) => (n.mode() & 0o7777, p.uid, p.gid),
                None => (n.mode() & 0o7777, 0, 0),
            };
            let mut entry = CatalogEntry {
                path: path.clone(),
                kind: EntryKind::Dir,
                perm,
                uid,
                gid,
                mtime: n.mtime.unwrap_or(self.build_time),
                parts: Vec::new(),
            };
            let mut item = None;
            match &n.kind {
                NodeKind::Dir { .. } => {}
                NodeKind::File { data } => match primary.get(data) {
                    Some(&p) if p != id => {
                        entry.kind = EntryKind::HardLink {
                            target: path_bytes(tree, p),
                        }
                    }
                    _ => {
                        let size = tree.data[*data as usize].len;
                        entry.kind = EntryKind::File {
                            size,
                            // An empty file's hash is known now; others are computed on read.
                            sha256: if size == 0 {
                                Sha256::digest(b"").into()
                            } else {
                                [0; 32]
                            },
                        };
                        let it = item_of.get(&id).copied();
                        let ps = it.and_then(|i| parts.get(&i)).cloned().unwrap_or_default();
                        let count = ps.len();
                        for (k, (vol, t)) in ps.iter().enumerate() {
                            let mut p = path.clone();
                            if count > 1 {
                                let w = count.to_string().len().max(3);
                                p.extend_from_slice(
                                    format!(".part{:0w$}of{count:0w$}", k + 1).as_bytes(),
                                );
                            }
                            entry.parts.push(Part {
                                volume: *vol,
                                path: p,
                                offset: t.offset,
                                len: t.len,
                                lba: 0,
                                sha256: [0; 32],
                            });
                        }
                        if tree.data[*data as usize].len > 0 {
                            item = it;
                        }
                    }
                },
                NodeKind::Symlink { target } => {
                    entry.kind = EntryKind::Symlink {
                        target: target.to_vec(),
                    }
                }
                NodeKind::Special { kind, rdev } => {
                    let (major, minor) = crate::format::rockridge::rrip::split_rdev(*rdev);
                    entry.kind = EntryKind::Special {
                        kind: *kind,
                        major,
                        minor,
                    }
                }
            }
            entries.push((entry, item));
        }
        entries.sort_by(|a, b| a.0.path.cmp(&b.0.path));
        let mut data = Vec::new();
        let mut list = Vec::new();
        for (i, (e, item)) in entries.into_iter().enumerate() {
            if let Some(it) = item {
                if let Some(base) = self.bases.get(&it) {
                    data.push((i, (**base).clone()));
                }
            }
            list.push(e);
        }
        let count = vols.len() as u32;
        let mut catalog = Catalog {
            set_id: "0".repeat(16),
            time: self.build_time.timestamp(),
            volumes: (1..=count)
                .map(|n| VolumeInfo {
                    number: n,
                    blocks: 0,
                    label: label_for(&self.b.options.volume_id, n, count),
                })
                .collect(),
            entries: list,
        };
        // The set identifier: a hash of everything the skeleton says (names, sizes, metadata,
        // the split) and the build time.
        let mut h = Sha256::new();
        h.update(catalog.to_text());
        h.update(self.build_time.to_rfc3339().as_bytes());
        let digest: [u8; 32] = h.finalize().into();
        catalog.set_id = hex(&digest)[..16].to_string();
        (catalog, data)
    }

    /// Builds the final volumes with the real catalog, fills in block numbers and sizes.
    fn finish(
        &self,
        vols: Vec<Vec<Take>>,
        mut catalog: Catalog,
        data: Vec<(usize, FileData)>,
        text_len: u64,
        progress: &mut dyn Progress,
    ) -> Result<std::result::Result<SpanPlan, u64>> {
        let source = Arc::new(CatalogSource {
            laid_out: OnceLock::new(),
            data,
            len: text_len,
            content: OnceLock::new(),
        });
        let count = vols.len() as u32;
        // Part numbers per take: (k, n).
        let mut part_no: HashMap<(usize, u64), (usize, usize)> = HashMap::new();
        let mut per_item: HashMap<usize, usize> = HashMap::new();
        for takes in &vols {
            for t in takes {
                if t.len > 0 {
                    *per_item.entry(t.item).or_default() += 1;
                }
            }
        }
        let mut seen: HashMap<usize, usize> = HashMap::new();
        for takes in &vols {
            for t in takes {
                if t.len > 0 {
                    let k = seen.entry(t.item).or_default();
                    *k += 1;
                    part_no.insert((t.item, t.offset), (*k, per_item[&t.item]));
                }
            }
        }
        // Where each entry's parts are in the catalog, by (item, offset).
        let entry_of_path: HashMap<&[u8], usize> = catalog
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.path.as_slice(), i))
            .collect();
        let mut lbas: Vec<(usize, u64, u64)> = Vec::new(); // (entry, offset, lba)
        let mut volumes = Vec::new();
        let set_id = catalog.set_id.clone();
        for (v, takes) in vols.iter().enumerate() {
            if progress.query_abort() {
                return Err(Error::Aborted);
            }
            let number = v as u32 + 1;
            let names = |t: &Take| part_no.get(&(t.item, t.offset)).copied();
            let m = self.materialize(
                takes,
                number,
                count,
                0,
                Some(&names),
                Some((&source, &set_id)),
            )?;
            let total = m.image.total_blocks();
            if total > self.capacity {
                // Never an over-capacity volume: plan again with this much less room.
                return Ok(Err(total - self.capacity));
            }
            for (k, data) in &m.data_ids {
                let t = takes[*k];
                let path = path_bytes(&self.tree, self.items[t.item].node);
                if let Some(&e) = entry_of_path.get(path.as_slice()) {
                    let lba = m
                        .image
                        .inner
                        .file_lba
                        .get(*data as usize)
                        .copied()
                        .unwrap_or(0);
                    lbas.push((e, t.offset, lba as u64));
                }
            }
            let whole = |t: &&Take| t.offset == 0 && t.len == self.items[t.item].len;
            let with_data = || takes.iter().filter(|t| self.items[t.item].data.is_some());
            let whole_files = with_data().filter(whole).count() as u64;
            let parts = with_data().filter(|t| !whole(t)).count() as u64;
            catalog.volumes[v].blocks = total;
            volumes.push(SpanVolume {
                number,
                label: label_for(&self.b.options.volume_id, number, count),
                image: m.image,
                whole_files,
                parts,
            });
        }
        for (e, offset, lba) in lbas {
            if let Some(p) = catalog.entries[e]
                .parts
                .iter_mut()
                .find(|p| p.offset == offset)
            {
                p.lba = lba;
            }
        }
        let _ = source.laid_out.set(catalog);
        Ok(Ok(SpanPlan {
            set_id,
            capacity_blocks: self.capacity,
            volumes,
            catalog: source,
        }))
    }
}

/// Appends a take, merging it with the last one when it continues the same item (a part grown
/// after the volume turned out to have room).
fn push_take(takes: &mut Vec<Take>, t: Take) {
    if let Some(last) = takes.last_mut() {
        if last.item == t.item && last.offset + last.len == t.offset {
            last.len += t.len;
            return;
        }
    }
    takes.push(t);
}

/// A node's full path as bytes (exact names, also those that are not UTF-8).
fn path_bytes(tree: &Tree, id: NodeId) -> Vec<u8> {
    let mut parts = Vec::new();
    let mut cur = id;
    while cur != 0 {
        parts.push(tree.name_bytes(cur));
        cur = tree.node(cur).parent;
    }
    let mut out = Vec::new();
    for p in parts.iter().rev() {
        out.push(b'/');
        out.extend_from_slice(p);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_round_trips() {
        for s in [&b"/a b/%/x\n"[..], b"/\xff\xfe", "/名前".as_bytes(), b""] {
            assert_eq!(unescape(&escape(s)).unwrap(), s);
            assert!(!escape(s).contains(' '));
        }
        assert_eq!(escape(b"/a b"), "/a%20b");
        assert!(unescape("%zz").is_err());
    }

    #[test]
    fn volume_names() {
        assert_eq!(
            volume_path(Path::new("/x/backup.iso"), 2, 3),
            Path::new("/x/backup.002.iso")
        );
        assert_eq!(volume_path(Path::new("b"), 12, 1000), Path::new("b.0012"));
        assert_eq!(label_for("BACKUP", 1, 3), "BACKUP_001");
        assert_eq!(label_for("AVERYLONGVOLUMENAME", 7, 3), "AVERYLONGVOL_007");
        assert_eq!(label_for("", 7, 3), "VOLUME_007");
    }

    #[test]
    fn catalog_round_trips_and_errors_name_the_line() {
        let t = DateTime::from_timestamp(1_700_000_000, 5).unwrap();
        let e = |path: &[u8], kind: EntryKind, parts: Vec<Part>| CatalogEntry {
            path: path.to_vec(),
            kind,
            perm: 0o644,
            uid: 1000,
            gid: 100,
            mtime: t,
            parts,
        };
        let cat = Catalog {
            set_id: "0123456789abcdef".into(),
            time: 1_700_000_000,
            volumes: vec![
                VolumeInfo {
                    number: 1,
                    blocks: 1000,
                    label: "B_001".into(),
                },
                VolumeInfo {
                    number: 2,
                    blocks: 900,
                    label: "B_002".into(),
                },
            ],
            entries: vec![
                e(b"/d", EntryKind::Dir, vec![]),
                e(
                    b"/d/a b\xff",
                    EntryKind::File {
                        size: 10,
                        sha256: [1; 32],
                    },
                    vec![
                        Part {
                            volume: 1,
                            path: b"/d/a b.part001of002".to_vec(),
                            offset: 0,
                            len: 4,
                            lba: 30,
                            sha256: [2; 32],
                        },
                        Part {
                            volume: 2,
                            path: b"/d/a b.part002of002".to_vec(),
                            offset: 4,
                            len: 6,
                            lba: 31,
                            sha256: [3; 32],
                        },
                    ],
                ),
                e(
                    b"/d/l",
                    EntryKind::Symlink {
                        target: b"../x y".to_vec(),
                    },
                    vec![],
                ),
                e(
                    b"/d/h",
                    EntryKind::HardLink {
                        target: b"/d/a b\xff".to_vec(),
                    },
                    vec![],
                ),
                e(
                    b"/d/n",
                    EntryKind::Special {
                        kind: SpecialKind::CharDevice,
                        major: 1,
                        minor: 3,
                    },
                    vec![],
                ),
            ],
        };
        let text = cat.to_text();
        assert_eq!(Catalog::parse(&text).unwrap(), cat);
        let s = String::from_utf8(text).unwrap();
        for (from, to, line) in [
            ("part 2 4 6", "part 2 5 5", 9),
            ("volumes 2", "volumes x", 4),
            ("dir 0644", "dir 0x44", 8),
            ("end\n", "", 15),
        ] {
            let bad = s.replacen(from, to, 1);
            match Catalog::parse(bad.as_bytes()) {
                Err(Error::SpanCatalog { line: l, .. }) => assert_eq!(l, line, "{from}"),
                other => panic!("{from}: {other:?}"),
            }
        }
    }

    #[test]
    fn media() {
        assert_eq!(media_blocks("DVD5"), Some(2_295_104));
        assert_eq!(media_blocks("floppy"), None);
    }
}
