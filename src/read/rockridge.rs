//! System Use Sharing Protocol (SUSP 1.12, IEEE P1281) entries of a directory record's system
//! use field (ECMA-119 9.1.13), their continuation areas, and the Rock Ridge Interchange
//! Protocol entries (RRIP 1.12, IEEE P1282; also 1.10 and 1.09) recorded with them.
//!
//! Everything here is decoding only: [`decode_system_use`] turns the system use field of one
//! directory record (and the continuation areas it chains to) into an [`SuInfo`]. The view
//! built from it (names, metadata, relocation) is in `rr_view`.
//!
//! Hostile images: entries are read with bounds-checked slices; an entry whose length is below
//! 4 or overruns its area ends that area (SUSP 4.1 gives no way to resynchronise); a known entry
//! that is too short for its fields is ignored. Continuation areas are followed at most
//! [`Limits::max_ce_chain`] times, never twice to the same place, only inside the image, and
//! no more than [`Limits::max_su_bytes_per_entry`] bytes are decoded for one record.

use crate::BLOCK_SIZE_U64;
use std::collections::HashSet;
use std::io::{Read, Seek};

use chrono::{DateTime, FixedOffset};

use super::{read_at, Limits};
use crate::codec::date::{decode_dir_date, decode_vd_date};
use crate::codec::endian::read_both32;
use crate::error::{ParseError, ParseErrorKind};
use crate::format::rockridge::rrip;

pub(crate) use crate::format::rockridge::rrip::{nm_flag, sl_comp, tf_flag, SL_CONTINUE};
pub(crate) use crate::format::rockridge::susp::{entries, sp_skip, SuspEntry, SP_CHECK};

/// The extension identifiers of `ER` entries that name Rock Ridge: RRIP 1.09/1.10 (section 5),
/// the 1.12 draft (IEEE P1282), and the one libisofs writes for 1.12.
pub(crate) const RR_EXTENSION_IDS: [&str; 3] = [rrip::EXT_ID_1_10, rrip::EXT_ID_1_12, "IEEE_1282"];

/// RRIP 4.1.1 `PX`: POSIX file attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Px {
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    /// Only in the 44-byte form of RRIP 1.12 (1.09/1.10 have 36 bytes).
    pub serial: Option<u32>,
}

/// A path component of a symbolic link (RRIP 4.1.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Component {
    Root,
    Current,
    Parent,
    Name(Vec<u8>),
}

/// Everything the system use entries of one directory record say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SuInfo {
    /// SUSP 5.3 `SP`: the skip length (only meaningful on the root's "." record).
    pub sp: Option<u8>,
    /// SUSP 5.5 `ER`: the extension identifiers, in order.
    pub er: Vec<String>,
    /// An `RR` entry (RRIP 1.09) was seen.
    pub rr_109: bool,
    /// Any RRIP entry (`PX`, `PN`, `SL`, `NM`, `CL`, `PL`, `RE`, `TF`, `SF`, `RR`) was seen.
    pub rrip: bool,
    pub px: Option<Px>,
    /// RRIP 4.1.2 `PN`: device number (high, low).
    pub pn: Option<(u32, u32)>,
    /// RRIP 4.1.4 `NM`: the name bytes (joined across CONTINUE), `.`/`..` for CURRENT/PARENT.
    pub nm: Option<Vec<u8>>,
    /// The last `NM` had no CONTINUE flag: later `NM` entries are ignored.
    nm_done: bool,
    /// RRIP 4.1.3 `SL` components, joined across component and entry CONTINUE flags.
    sl: Option<Vec<Component>>,
    /// The last component had CONTINUE: the next component record extends it.
    sl_comp_open: bool,
    /// The last `SL` had no CONTINUE flag: later `SL` entries are ignored.
    sl_done: bool,
    /// RRIP 4.1.5.1 `CL`: location of the relocated directory.
    pub cl: Option<u32>,
    /// RRIP 4.1.5.2 `PL`: location of the original parent.
    pub pl: Option<u32>,
    /// RRIP 4.1.5.3 `RE`: this record is a relocated directory.
    pub re: bool,
    /// RRIP 4.1.6 `TF` time stamps.
    pub crtime: Option<DateTime<FixedOffset>>,
    pub mtime: Option<DateTime<FixedOffset>>,
    pub atime: Option<DateTime<FixedOffset>>,
    pub ctime: Option<DateTime<FixedOffset>>,
    /// Bytes of continuation areas (`CE`) read to decode the record.
    pub ce_bytes: u64,
    /// The continuation areas read (SUSP 5.1: block, offset, length), in chain order; the
    /// block map ([`crate::read::BlockMap`]) reports the blocks they occupy.
    pub ce_areas: Vec<(u32, u32, u32)>,
}

impl SuInfo {
    /// The symbolic link target (RRIP 4.1.3) decoded as UTF-8 (lossy): the unit tests' view of
    /// [`symlink_bytes`](Self::symlink_bytes).
    #[cfg(test)]
    fn symlink(&self) -> Option<String> {
        self.symlink_bytes()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// The symbolic link target's exact bytes (RRIP 4.1.3): `ROOT` gives a leading `/`, the
    /// components are joined with `/`.
    pub fn symlink_bytes(&self) -> Option<Vec<u8>> {
        let comps = self.sl.as_ref()?;
        let mut out: Vec<u8> = Vec::new();
        for (i, c) in comps.iter().enumerate() {
            // A separator between components, except right after a leading (or repeated) root.
            if i > 0 && !out.ends_with(b"/") {
                out.push(b'/');
            }
            match c {
                Component::Root => {
                    if i == 0 {
                        out.push(b'/');
                    }
                }
                Component::Current => out.push(b'.'),
                Component::Parent => out.extend_from_slice(b".."),
                Component::Name(n) => out.extend_from_slice(n),
            }
        }
        Some(out)
    }

    /// Approximate heap bytes the decoded entries hold and an entry built from them keeps (the
    /// name, the link target), for the metadata budget ([`Limits::max_metadata_bytes`]).
    pub fn heap_bytes(&self) -> u64 {
        let component = std::mem::size_of::<Component>() + 1; // and its '/' in the target
        let sl: usize = self.sl.as_ref().map_or(0, |c| {
            c.iter()
                .map(|c| match c {
                    Component::Name(n) => n.len() + component,
                    _ => component + 2,
                })
                .sum()
        });
        let er: usize = self.er.iter().map(|e| e.len() + 24).sum();
        (self.nm.as_ref().map_or(0, Vec::len) + sl + er) as u64
    }

    /// True if an `ER` entry names Rock Ridge.
    pub fn rr_extension(&self) -> Option<&str> {
        self.er
            .iter()
            .find(|id| RR_EXTENSION_IDS.contains(&id.as_str()))
            .map(String::as_str)
    }

    /// Decodes the entries of one area into `self`; returns the continuation (`CE`) it names,
    /// if any (SUSP 5.1: at most one per area; the first one wins).
    fn add_area(&mut self, area: &[u8]) -> Option<Ce> {
        let mut ce = None;
        for e in entries(area) {
            match &e.sig {
                b"ST" => {
                    // SUSP 5.4: the end of the entries of this area (the rest of it is not
                    // read); a continuation area named before it is still followed.
                    return ce;
                }
                b"CE" => {
                    if ce.is_none() {
                        ce = parse_ce(e.data);
                    }
                }
                b"SP" => {
                    if e.data.get(..2) == Some(&SP_CHECK[..]) {
                        self.sp = e.data.get(2).copied();
                    }
                }
                b"ER" => {
                    if let Some(id) = parse_er(e.data) {
                        self.er.push(id);
                    }
                }
                // SUSP 5.2 PD (padding), 5.6 ES (extension selector) and unknown entries
                // (SUSP 6.2: ignored) fall through to the RRIP decoder, which ignores them.
                _ => self.add_rrip(e),
            }
        }
        ce
    }

    /// Decodes one RRIP entry (RRIP 4.1); unknown and malformed entries are ignored.
    fn add_rrip(&mut self, e: SuspEntry<'_>) {
        let d = e.data;
        let both = |off: usize| read_both32(d, off).map(|(le, _)| le);
        match &e.sig {
            b"PX" => {
                // RRIP 4.1.1: mode, links, uid, gid (8 bytes each, both-byte order), then in
                // 1.12 the file serial number (entry length 44 instead of 36).
                self.rrip = true;
                if let (Some(mode), Some(nlink), Some(uid), Some(gid)) =
                    (both(0), both(8), both(16), both(24))
                {
                    self.px = Some(Px {
                        mode,
                        nlink,
                        uid,
                        gid,
                        serial: both(32),
                    });
                }
            }
            b"PN" => {
                // RRIP 4.1.2: device number high and low.
                self.rrip = true;
                if let (Some(hi), Some(lo)) = (both(0), both(8)) {
                    self.pn = Some((hi, lo));
                }
            }
            b"SL" => {
                self.rrip = true;
                self.add_sl(d);
            }
            b"NM" => {
                self.rrip = true;
                self.add_nm(d);
            }
            b"CL" => {
                // RRIP 4.1.5.1: location of the child directory.
                self.rrip = true;
                if let Some(lba) = both(0) {
                    self.cl = Some(lba);
                }
            }
            b"PL" => {
                // RRIP 4.1.5.2: location of the parent directory.
                self.rrip = true;
                if let Some(lba) = both(0) {
                    self.pl = Some(lba);
                }
            }
            b"RE" => {
                // RRIP 4.1.5.3: the directory has been relocated.
                self.rrip = true;
                self.re = true;
            }
            b"TF" => {
                self.rrip = true;
                self.add_tf(d);
            }
            b"RR" => {
                // RRIP 1.09 4.1.7: flags of the recorded fields; removed in 1.12. Only marks
                // the image as Rock Ridge.
                self.rrip = true;
                self.rr_109 = true;
            }
            b"SF" => {
                // RRIP 1.12 4.1.7: sparse file; the data is read as recorded.
                self.rrip = true;
            }
            _ => {}
        }
    }

    /// RRIP 4.1.4 `NM`: flags, then name content. CONTINUE joins the next `NM` (in this area or
    /// a continuation area); CURRENT and PARENT name "." and "..".
    fn add_nm(&mut self, d: &[u8]) {
        if self.nm_done {
            return;
        }
        let Some((&flags, content)) = d.split_first() else {
            return;
        };
        let name = self.nm.get_or_insert_with(Vec::new);
        if flags & nm_flag::CURRENT != 0 {
            name.clear();
            name.push(b'.');
        } else if flags & nm_flag::PARENT != 0 {
            name.clear();
            name.extend_from_slice(b"..");
        } else {
            name.extend_from_slice(content);
        }
        if flags & nm_flag::CONTINUE == 0 {
            self.nm_done = true;
        }
    }

    /// RRIP 4.1.3 `SL`: flags, then component records (RRIP 4.1.3.1: flags, length, content).
    fn add_sl(&mut self, d: &[u8]) {
        if self.sl_done {
            return;
        }
        let Some((&flags, mut rest)) = d.split_first() else {
            return;
        };
        let comps = self.sl.get_or_insert_with(Vec::new);
        while let [cflags, clen, tail @ ..] = rest {
            let Some(content) = tail.get(..usize::from(*clen)) else {
                // A component overrunning its entry: the rest of the entry is unusable.
                break;
            };
            rest = &tail[content.len()..];
            let open = self.sl_comp_open;
            self.sl_comp_open = false;
            if cflags & sl_comp::ROOT != 0 || cflags & sl_comp::VOLROOT != 0 {
                comps.push(Component::Root);
            } else if cflags & sl_comp::PARENT != 0 {
                comps.push(Component::Parent);
            } else if cflags & sl_comp::CURRENT != 0 {
                comps.push(Component::Current);
            } else {
                match comps.last_mut() {
                    Some(Component::Name(n)) if open => n.extend_from_slice(content),
                    _ => comps.push(Component::Name(content.to_vec())),
                }
                self.sl_comp_open = cflags & sl_comp::CONTINUE != 0;
            }
        }
        if flags & SL_CONTINUE == 0 {
            self.sl_done = true;
        }
    }

    /// RRIP 4.1.6 `TF`: flags, then the stamps whose bits are set, in bit order.
    fn add_tf(&mut self, d: &[u8]) {
        let Some((&flags, mut rest)) = d.split_first() else {
            return;
        };
        let size = if flags & tf_flag::LONG_FORM != 0 {
            17
        } else {
            7
        };
        for bit in 0..7 {
            let mask = 1u8 << bit;
            if flags & mask == 0 {
                continue;
            }
            let Some(stamp) = rest.get(..size) else {
                return;
            };
            rest = &rest[size..];
            let t = if size == 17 {
                decode_vd_date(stamp)
            } else {
                decode_short_date(stamp)
            };
            match mask {
                tf_flag::CREATION => self.crtime = t,
                tf_flag::MODIFY => self.mtime = t,
                tf_flag::ACCESS => self.atime = t,
                tf_flag::ATTRIBUTES => self.ctime = t,
                // Backup, expiration and effective times are not reported.
                _ => {}
            }
        }
    }
}

/// A 7-byte date (ECMA-119 9.1.5) as written in `TF`. An offset outside -48..=52 quarter hours
/// is read as UTC: genisoimage 1.1.11 writes nonsense offsets (e.g. -96) for dates after 2038,
/// and Linux ignores such offsets too.
fn decode_short_date(b: &[u8]) -> Option<DateTime<FixedOffset>> {
    let mut s: [u8; 7] = b.get(..7)?.try_into().ok()?;
    if !(-48..=52).contains(&(s[6] as i8)) {
        s[6] = 0;
    }
    decode_dir_date(&s)
}

/// SUSP 5.5 `ER`: LEN_ID, LEN_DES, LEN_SRC, EXT_VER, then the identifier.
fn parse_er(d: &[u8]) -> Option<String> {
    let len_id = usize::from(*d.first()?);
    let id = d.get(4..4 + len_id)?;
    Some(String::from_utf8_lossy(id).into_owned())
}

/// SUSP 5.1 `CE`: where the continuation area is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ce {
    block: u32,
    offset: u32,
    len: u32,
}

/// SUSP 5.1: block location, offset and length of the continuation area, 8 bytes each in both
/// byte orders (the little-endian copy is used).
fn parse_ce(d: &[u8]) -> Option<Ce> {
    Some(Ce {
        block: read_both32(d, 0)?.0,
        offset: read_both32(d, 8)?.0,
        len: read_both32(d, 16)?.0,
    })
}

/// Where a directory record is, for errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordAt {
    /// The sector of the record.
    pub lba: u64,
    /// The record's byte offset in that sector.
    pub offset: usize,
}

/// Decodes the system use field `field` of the directory record at `at` into `out`: the first
/// `skip` bytes are skipped (SUSP 5.3 `LEN_SKP`), then the entries are decoded and continuation
/// areas followed (SUSP 5.1); an `ST` entry (SUSP 5.4) ends the area it is in.
///
/// `out` keeps what was decoded before an error. Errors: a continuation area outside the image
/// (`ExtentOutOfImage`), the same area twice (`BadSystemUse`), more than `max_ce_chain` areas or
/// more than `max_su_bytes_per_entry` bytes (`LimitExceeded`), and I/O errors.
pub(crate) fn decode_system_use<R: Read + Seek>(
    r: &mut R,
    image_len: u64,
    limits: &Limits,
    field: &[u8],
    skip: usize,
    at: RecordAt,
    out: &mut SuInfo,
) -> Result<(), ParseError> {
    let located = |kind: ParseErrorKind| ParseError::at(kind, at.lba).with_offset(at.offset);
    let mut total = field.len();
    if total > limits.max_su_bytes_per_entry {
        return Err(located(ParseErrorKind::LimitExceeded(
            "system use bytes per entry",
            limits.max_su_bytes_per_entry as u64,
        )));
    }
    let mut next = out.add_area(field.get(skip..).unwrap_or_default());
    let mut seen: HashSet<(u32, u32)> = HashSet::new();
    let mut buf = Vec::new();
    while let Some(ce) = next.take() {
        if ce.len == 0 {
            break;
        }
        if seen.len() >= limits.max_ce_chain {
            return Err(located(ParseErrorKind::LimitExceeded(
                "continuation areas",
                limits.max_ce_chain as u64,
            )));
        }
        if !seen.insert((ce.block, ce.offset)) {
            return Err(ParseError::at(
                ParseErrorKind::BadSystemUse(format!(
                    "continuation area loop (block {} offset {}) from the record at sector {} \
                     offset {}",
                    ce.block, ce.offset, at.lba, at.offset
                )),
                u64::from(ce.block),
            ));
        }
        total = total.saturating_add(ce.len as usize);
        if total > limits.max_su_bytes_per_entry {
            return Err(located(ParseErrorKind::LimitExceeded(
                "system use bytes per entry",
                limits.max_su_bytes_per_entry as u64,
            )));
        }
        let start = u64::from(ce.block) * BLOCK_SIZE_U64 + u64::from(ce.offset);
        if start + u64::from(ce.len) > image_len {
            return Err(ParseError::at(
                ParseErrorKind::ExtentOutOfImage,
                u64::from(ce.block),
            ));
        }
        // Bounded by max_su_bytes_per_entry (checked above).
        buf.resize(ce.len as usize, 0);
        read_at(r, start, &mut buf, u64::from(ce.block))?;
        out.ce_bytes = out.ce_bytes.saturating_add(u64::from(ce.len));
        out.ce_areas.push((ce.block, ce.offset, ce.len));
        next = out.add_area(&buf);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SUSP entry: signature, length, version 1, data.
    pub(crate) fn entry(sig: &[u8; 2], data: &[u8]) -> Vec<u8> {
        let mut e = vec![sig[0], sig[1], (data.len() + 4) as u8, 1];
        e.extend_from_slice(data);
        e
    }

    fn decode(area: &[u8]) -> SuInfo {
        let mut s = SuInfo::default();
        assert_eq!(s.add_area(area), None);
        s
    }

    #[test]
    fn entry_iteration_stops_at_padding_and_bad_lengths() {
        let mut a = entry(b"RE", &[]);
        a.push(0); // padding byte
        assert_eq!(entries(&a).count(), 1);
        let mut b = entry(b"RE", &[]);
        b.extend_from_slice(&[b'X', b'Y', 2, 1, 0, 0]); // length below 4
        b.extend(entry(b"RE", &[]));
        assert_eq!(entries(&b).count(), 1);
        let mut c = entry(b"RE", &[]);
        c.extend_from_slice(&[b'N', b'M', 40, 1, 0]); // overruns
        assert_eq!(entries(&c).count(), 1);
    }

    #[test]
    fn nm_flags() {
        let mut a = entry(b"NM", b"\x01hello ");
        a.extend(entry(b"NM", b"\x00world"));
        a.extend(entry(b"NM", b"\x00ignored"));
        assert_eq!(decode(&a).nm.as_deref(), Some(&b"hello world"[..]));
        assert_eq!(
            decode(&entry(b"NM", b"\x02")).nm.as_deref(),
            Some(&b"."[..])
        );
        assert_eq!(
            decode(&entry(b"NM", b"\x04")).nm.as_deref(),
            Some(&b".."[..])
        );
    }

    #[test]
    fn sl_components() {
        // "/usr/lib/../x" in one entry: ROOT, usr, lib, PARENT, x.
        let a = entry(
            b"SL",
            b"\x00\x08\x00\x00\x03usr\x00\x03lib\x04\x00\x00\x01x",
        );
        assert_eq!(decode(&a).symlink().as_deref(), Some("/usr/lib/../x"));
        // "./a" relative.
        let a = entry(b"SL", b"\x00\x02\x00\x00\x01a");
        assert_eq!(decode(&a).symlink().as_deref(), Some("./a"));
        // A component split with CONTINUE inside one entry, and across two SL entries.
        let mut a = entry(b"SL", b"\x01\x00\x02ab\x01\x02cd");
        a.extend(entry(b"SL", b"\x00\x00\x02ef\x00\x01g"));
        assert_eq!(decode(&a).symlink().as_deref(), Some("ab/cdef/g"));
        // An SL entry ending between two whole components (as glassmaster and xorriso write
        // them): the next entry's first component is a new one.
        let mut a = entry(b"SL", b"\x01\x04\x00\x00\x02ab");
        a.extend(entry(b"SL", b"\x00\x00\x02cd\x00\x01e"));
        assert_eq!(decode(&a).symlink().as_deref(), Some("../ab/cd/e"));
        // One name continued over three entries (a name longer than one entry holds).
        let mut a = entry(b"SL", b"\x01\x01\x02ab");
        a.extend(entry(b"SL", b"\x01\x01\x02cd"));
        a.extend(entry(b"SL", b"\x00\x00\x02ef\x00\x01g"));
        assert_eq!(decode(&a).symlink().as_deref(), Some("abcdef/g"));
        // Root alone.
        let a = entry(b"SL", b"\x00\x08\x00");
        assert_eq!(decode(&a).symlink().as_deref(), Some("/"));
        // An overrunning component ends the entry, keeping what came before.
        let a = entry(b"SL", b"\x00\x00\x01a\x00\x09b");
        assert_eq!(decode(&a).symlink().as_deref(), Some("a"));
    }

    #[test]
    fn px_lengths() {
        let mut d = Vec::new();
        for v in [0o100644u32, 2, 1000, 100] {
            d.extend_from_slice(&crate::codec::endian::both32(v));
        }
        let s = decode(&entry(b"PX", &d));
        assert_eq!(
            s.px,
            Some(Px {
                mode: 0o100644,
                nlink: 2,
                uid: 1000,
                gid: 100,
                serial: None
            })
        );
        d.extend_from_slice(&crate::codec::endian::both32(77));
        assert_eq!(decode(&entry(b"PX", &d)).px.unwrap().serial, Some(77));
        // Too short: ignored.
        assert_eq!(decode(&entry(b"PX", &d[..20])).px, None);
    }

    #[test]
    fn tf_forms() {
        // Short form: modify and access.
        let d = [
            0x06, 124, 2, 29, 13, 45, 7, 0, 70, 1, 1, 0, 0, 0, 0x9C_u8, // -100: read as UTC
        ];
        let s = decode(&entry(b"TF", &d));
        assert_eq!(s.mtime.unwrap().to_rfc3339(), "2024-02-29T13:45:07+00:00");
        assert_eq!(s.atime.unwrap().to_rfc3339(), "1970-01-01T00:00:00+00:00");
        assert_eq!(s.crtime, None);
        // Long form: creation, modify, attributes.
        let mut d = vec![0x80 | 0x01 | 0x02 | 0x08];
        d.extend_from_slice(b"1969072020171800\x00");
        d.extend_from_slice(b"2100010112000000\x04");
        d.extend_from_slice(b"2038011903141700\x00");
        let s = decode(&entry(b"TF", &d));
        assert_eq!(s.crtime.unwrap().to_rfc3339(), "1969-07-20T20:17:18+00:00");
        assert_eq!(s.mtime.unwrap().to_rfc3339(), "2100-01-01T12:00:00+01:00");
        assert_eq!(s.ctime.unwrap().to_rfc3339(), "2038-01-19T03:14:17+00:00");
        // Truncated: the stamps that fit are kept.
        let s = decode(&entry(b"TF", &d[..1 + 17 + 5]));
        assert!(s.crtime.is_some() && s.mtime.is_none());
    }

    #[test]
    fn sp_er_st_and_others() {
        let mut a = entry(b"SP", &[0xBE, 0xEF, 3]);
        assert_eq!(sp_skip(&a), Some(3));
        let mut er = vec![10, 4, 0, 1];
        er.extend_from_slice(b"RRIP_1991ADESC");
        a.extend(entry(b"ER", &er));
        a.extend(entry(b"RR", &[0x81]));
        a.extend(entry(b"ZZ", b"unknown"));
        a.extend(entry(b"PN", &[0; 16]));
        a.extend(entry(b"CL", &crate::codec::endian::both32(40)));
        a.extend(entry(b"PL", &crate::codec::endian::both32(41)));
        a.extend(entry(b"ST", &[]));
        a.extend(entry(b"RE", &[]));
        let s = decode(&a);
        assert_eq!(s.sp, Some(3));
        assert_eq!(s.rr_extension(), Some("RRIP_1991A"));
        assert!(s.rr_109 && s.rrip);
        assert_eq!(s.pn, Some((0, 0)));
        assert_eq!((s.cl, s.pl), (Some(40), Some(41)));
        assert!(!s.re, "entries after ST are not decoded");
        assert_eq!(sp_skip(&entry(b"SP", &[0xBE, 0xEE, 0])), None);
    }
}
