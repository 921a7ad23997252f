//! The set catalog: its entries, its text format (written and parsed) and the escaping of its
//! fields.

use chrono::{DateTime, Utc};

use super::FORMAT_LINE;
use crate::build::tree::SpecialKind;
use crate::error::{Error, Result};

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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
pub struct CatalogVolume {
    /// The volume number (from 1).
    pub number: u32,
    /// Its size in blocks.
    pub blocks: u64,
    /// Its volume label.
    pub label: String,
}

/// The catalog of a spanned set.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Catalog {
    /// The set identifier (16 hex digits, derived from the inputs and the build time).
    pub set_id: String,
    /// The build time (seconds since 1970).
    pub time: i64,
    /// The volumes, in order.
    pub volumes: Vec<CatalogVolume>,
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

pub(super) fn hex(h: &[u8; 32]) -> String {
    crate::codec::text::hex(h)
}

pub(super) fn unhex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

pub(super) fn fmt_time(t: &DateTime<Utc>) -> String {
    format!("{}.{:09}", t.timestamp(), t.timestamp_subsec_nanos())
}

pub(super) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let (secs, nanos) = s.split_once('.')?;
    if nanos.len() != 9 {
        return None;
    }
    DateTime::from_timestamp(secs.parse().ok()?, nanos.parse().ok()?)
}

pub(super) fn special_letter(k: SpecialKind) -> char {
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
            volumes.push(CatalogVolume {
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
pub(super) fn check_parts(e: &CatalogEntry) -> std::result::Result<(), String> {
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
