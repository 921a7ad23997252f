//! The Rock Ridge view (RRIP 1.12, IEEE P1282) of the primary hierarchy: detection on the
//! root's "." record (SUSP 5.3 `SP`, 5.5 `ER`), POSIX names and attributes, and directory
//! relocation (RRIP 4.1.5) undone.
//!
//! Relocation: a writer that must keep the ISO 9660 tree at most 8 levels deep (ECMA-119
//! 6.8.2.1) moves deeper directories into a relocation directory (`rr_moved`) and leaves in their
//! place a placeholder record with `CL` (child link, RRIP 4.1.5.1) giving the directory's
//! location; the moved directory's record carries `RE` (RRIP 4.1.5.3) and its ".." record `PL`
//! (RRIP 4.1.5.2). This view shows the placeholder as the directory it links to, never lists
//! `RE` records, and hides the relocation directory.

use crate::BLOCK_SIZE_U64;
use std::fmt;
use std::io::{Read, Seek};

use chrono::{DateTime, FixedOffset};

use super::dir::SystemUse;
use super::rockridge::{decode_system_use, sp_skip, RecordAt, SuInfo};
use super::{read_at, DirEntry, Extent, ImageReader, Limits, View};
use crate::error::{ParseError, ParseErrorKind};
use crate::format::iso9660::dirrec::{self, DirRecordRef, MIN_RECORD_LEN};

/// The kind of file, from the `S_IFMT` bits of a POSIX mode (POSIX `<sys/stat.h>`; RRIP
/// 4.1.1 records the mode as `st_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    /// `S_IFREG` (0o100000).
    Regular,
    /// `S_IFDIR` (0o040000).
    Directory,
    /// `S_IFLNK` (0o120000).
    Symlink,
    /// `S_IFCHR` (0o020000).
    CharDevice,
    /// `S_IFBLK` (0o060000).
    BlockDevice,
    /// `S_IFIFO` (0o010000).
    Fifo,
    /// `S_IFSOCK` (0o140000).
    Socket,
    /// Any other value of the `S_IFMT` bits.
    Unknown,
}

impl FileType {
    /// The type of a POSIX mode (`mode & 0o170000`).
    pub fn from_mode(mode: u32) -> FileType {
        match mode & 0o170_000 {
            0o100_000 => FileType::Regular,
            0o040_000 => FileType::Directory,
            0o120_000 => FileType::Symlink,
            0o020_000 => FileType::CharDevice,
            0o060_000 => FileType::BlockDevice,
            0o010_000 => FileType::Fifo,
            0o140_000 => FileType::Socket,
            _ => FileType::Unknown,
        }
    }
}

impl fmt::Display for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileType::Regular => "file",
            FileType::Directory => "directory",
            FileType::Symlink => "symlink",
            FileType::CharDevice => "character device",
            FileType::BlockDevice => "block device",
            FileType::Fifo => "fifo",
            FileType::Socket => "socket",
            FileType::Unknown => "unknown",
        })
    }
}

/// The POSIX attributes Rock Ridge records for a file (RRIP 4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Posix {
    /// `st_mode`: file type and permission bits (`PX`, RRIP 4.1.1).
    pub mode: u32,
    /// `st_nlink` (`PX`).
    pub nlink: u32,
    /// `st_uid` (`PX`).
    pub uid: u32,
    /// `st_gid` (`PX`).
    pub gid: u32,
    /// `st_ino`, only in the 44-byte `PX` of RRIP 1.12.
    pub serial: Option<u32>,
    /// Modification time (`TF`, RRIP 4.1.6).
    pub mtime: Option<DateTime<FixedOffset>>,
    /// Last access time (`TF`).
    pub atime: Option<DateTime<FixedOffset>>,
    /// Attribute change time (`TF` "attributes").
    pub ctime: Option<DateTime<FixedOffset>>,
    /// Creation time (`TF`).
    pub crtime: Option<DateTime<FixedOffset>>,
    /// The target of a symbolic link (`SL`, RRIP 4.1.3), components joined with `/`: the exact
    /// bytes recorded by Rock Ridge (they need not be UTF-8), the UTF-8 of the decoded target in
    /// UDF. [`symlink_lossy`](Self::symlink_lossy) gives text to show.
    pub symlink: Option<Vec<u8>>,
    /// The device number (high, low) of a device file (`PN`, RRIP 4.1.2).
    pub rdev: Option<(u32, u32)>,
    /// The directory was relocated (RRIP 4.1.5) and is shown at its original place.
    pub relocated: bool,
}

impl Posix {
    /// The symbolic link target as text (bytes that are not UTF-8 shown as U+FFFD).
    pub fn symlink_lossy(&self) -> Option<std::borrow::Cow<'_, str>> {
        self.symlink.as_deref().map(String::from_utf8_lossy)
    }

    /// The file type, from the mode's `S_IFMT` bits.
    pub fn file_type(&self) -> FileType {
        FileType::from_mode(self.mode)
    }

    /// The device's (major, minor) numbers, from `rdev`. RRIP 4.1.2 records "high" and "low"
    /// 32-bit halves of the device number: genisoimage writes major and minor there, libisofs
    /// writes 0 and the Linux `dev_t` encoding (`minor & 0xff | major << 8 | (minor & !0xff) <<
    /// 12`), which is decoded when the high half is zero.
    pub fn device_numbers(&self) -> Option<(u32, u32)> {
        let (high, low) = self.rdev?;
        if high != 0 {
            return Some((high, low));
        }
        let major = (low >> 8) & 0xfff;
        let minor = (low & 0xff) | ((low >> 12) & 0xf_ff00);
        Some((major, minor))
    }

    /// The attributes decoded from `su`, if it has a `PX` entry (mandatory in RRIP 4.1.1).
    fn from_su(su: &SuInfo) -> Option<Posix> {
        let px = su.px?;
        Some(Posix {
            mode: px.mode,
            nlink: px.nlink,
            uid: px.uid,
            gid: px.gid,
            serial: px.serial,
            mtime: su.mtime,
            atime: su.atime,
            ctime: su.ctime,
            crtime: su.crtime,
            symlink: su.symlink_bytes(),
            rdev: su.pn,
            relocated: false,
        })
    }
}

/// Rock Ridge as found on the root's "." record, and what the view remembers.
#[derive(Debug, Clone)]
pub(crate) struct RrState {
    /// The extension identifier for [`VolumeInfo::rock_ridge`](super::VolumeInfo).
    pub id: String,
    /// SUSP 5.3 `LEN_SKP`: bytes skipped at the start of every other system use field.
    pub len_skp: usize,
    /// The root's "." record entries (the root's attributes).
    pub root: SuInfo,
    /// The relocation directory candidate already examined: its location and whether it is
    /// hidden (at most one candidate is examined per image).
    pub relocation_dir: Option<(u32, bool)>,
}

/// Reads the first directory record of the directory at `lba` (the "." record, ECMA-119
/// 6.8.2.2) and calls `f` with it. `sector` is a scratch buffer.
fn with_dot_record<R: Read + Seek, T>(
    r: &mut R,
    image_len: u64,
    lba: u32,
    sector: &mut Vec<u8>,
    f: impl FnOnce(&DirRecordRef<'_>) -> Result<T, ParseError>,
) -> Result<T, ParseError> {
    let at = u64::from(lba);
    if (at + 1) * BLOCK_SIZE_U64 > image_len {
        return Err(ParseError::at(ParseErrorKind::ExtentOutOfImage, at));
    }
    sector.resize(crate::BLOCK_SIZE, 0);
    read_at(r, at * BLOCK_SIZE_U64, sector, at)?;
    let bad = |why: String| {
        ParseError::at(
            ParseErrorKind::BadDirectoryRecord(format!("\".\" record: {why}")),
            at,
        )
        .with_offset(0)
    };
    let len = usize::from(sector.first().copied().unwrap_or(0));
    if len < MIN_RECORD_LEN {
        return Err(bad(format!("record length {len} is less than 34")));
    }
    let rec = sector.get(..len).unwrap_or_default();
    let raw = dirrec::decode(rec, false).map_err(bad)?;
    if raw.identifier != [0] {
        return Err(bad("the first record of the directory is not \".\"".into()));
    }
    f(&raw)
}

/// The CD-XA system use information that precedes SUSP entries on XA discs (CD-ROM XA 4.3).
const XA_LEN: usize = 14;

/// Looks for Rock Ridge on the root's "." record: an `SP` entry at the start of its system use
/// field (SUSP 5.3), then `ER` (SUSP 5.5) naming RRIP, or RRIP entries without `ER` (RRIP 1.09
/// images have `RR`). Problems here never fail `open`: without a readable `SP` there is no Rock
/// Ridge view, and later errors in the root's continuation areas show when the view is read.
pub(crate) fn detect<R: Read + Seek>(
    r: &mut R,
    image_len: u64,
    limits: &Limits,
    iso_root: &DirEntry,
) -> Option<RrState> {
    let root_lba = iso_root.extents.first().filter(|e| e.len != 0)?.lba;
    let mut sector = Vec::new();
    let (field, at) = with_dot_record(r, image_len, root_lba, &mut sector, |raw| {
        Ok((
            raw.system_use.to_vec(),
            RecordAt {
                lba: u64::from(root_lba),
                offset: 0,
            },
        ))
    })
    .ok()?;
    // SUSP 5.3: the root's "." field starts with SP itself; LEN_SKP applies to the others. On
    // CD-XA discs the field starts with the 14 bytes of the XA system use information
    // (signature "XA" at bytes 6-7), and SP follows them.
    let (sp_at, len_skp) = match sp_skip(&field) {
        Some(skip) => (0, skip),
        None if field.get(6..8) == Some(&b"XA"[..]) => (XA_LEN, sp_skip(field.get(XA_LEN..)?)?),
        None => return None,
    };
    let mut su = SuInfo::default();
    // A failure keeps what was decoded before it.
    let _ = decode_system_use(r, image_len, limits, &field, sp_at, at, &mut su);
    let id = if let Some(id) = su.rr_extension() {
        id.to_string()
    } else if su.rr_109 {
        "1.09".to_string()
    } else if su.rrip {
        "RRIP_1991A".to_string()
    } else {
        return None;
    };
    Some(RrState {
        id,
        len_skp: usize::from(len_skp),
        root: su,
        relocation_dir: None,
    })
}

/// A name usable as one path component: not empty, not "." or "..", without `/` or NUL.
fn usable_name(raw: &[u8]) -> Option<String> {
    if raw.is_empty() || raw == b"." || raw == b".." || raw.contains(&b'/') || raw.contains(&0) {
        return None;
    }
    Some(String::from_utf8_lossy(raw).into_owned())
}

/// True if `name` looks like a relocation directory: `rr_moved`, `.rr_moved` (genisoimage
/// `-hide-rr-moved`) or `_RR_MOVED`, in any case.
fn relocation_name(name: &str) -> bool {
    name.trim_start_matches(['.', '_'])
        .eq_ignore_ascii_case("rr_moved")
}

impl<R: Read + Seek> ImageReader<R> {
    /// The root of the Rock Ridge view: the primary root with the attributes of its "." record.
    pub(super) fn rr_root(&self) -> Result<DirEntry, ParseError> {
        let rr = self
            .rr
            .as_ref()
            .ok_or_else(|| ParseError::new(ParseErrorKind::NotFound("rockridge view".into())))?;
        let mut root = self.iso_root.clone();
        root.view = View::RockRidge;
        root.mtime = rr.root.mtime.or(root.mtime);
        root.posix = Posix::from_su(&rr.root).map(Box::new);
        Ok(root)
    }

    /// The Rock Ridge attributes for `entries` of directory `dir`, read in `dir.view` (ISO 9660
    /// or Rock Ridge), with `su` the system use field of each one.
    ///
    /// ISO 9660 view: names stay, `posix` and `rr_name` are filled when the entries decode
    /// (errors leave them empty, so that this view stays readable whatever the Rock Ridge data).
    /// Rock Ridge view: errors fail the call; names, dates and relocations are applied.
    pub(super) fn apply_rock_ridge(
        &mut self,
        dir: &DirEntry,
        entries: Vec<DirEntry>,
        su: Vec<SystemUse>,
    ) -> Result<Vec<DirEntry>, ParseError> {
        let len_skp = self.rr.as_ref().map_or(0, |s| s.len_skp);
        let rr_view = dir.view == View::RockRidge;
        let root_lba = self.iso_root.extents.first().map(|e| e.lba);
        let is_root = dir.extents.first().map(|e| e.lba) == root_lba;
        let mut out = Vec::with_capacity(entries.len());
        for (mut e, field) in entries.into_iter().zip(su) {
            let mut info = SuInfo::default();
            let decoded = decode_system_use(
                &mut self.inner,
                self.image_len,
                &self.limits,
                &field.bytes,
                len_skp,
                field.at,
                &mut info,
            );
            // What the record's Rock Ridge data cost: the continuation areas read (every record
            // may point at the same 64 KiB area) and the name and link target kept (twice in
            // the Rock Ridge view: the name and `rr_name`).
            let kept = info.heap_bytes();
            let cost = info.ce_bytes.saturating_add(if rr_view {
                kept.saturating_mul(2)
            } else {
                kept
            });
            self.charge(cost, Some(field.at.lba))?;
            if !rr_view {
                if decoded.is_ok() {
                    e.posix = Posix::from_su(&info).map(Box::new);
                    e.rr_name = info.nm;
                }
                out.push(e);
                continue;
            }
            decoded?;
            if info.re {
                // RRIP 4.1.5.3: a relocated directory, shown where its CL placeholder is.
                continue;
            }
            e.view = View::RockRidge;
            if let Some(name) = info.nm.as_deref().and_then(usable_name) {
                e.name = name;
            }
            e.mtime = info.mtime.or(e.mtime);
            e.posix = Posix::from_su(&info).map(Box::new);
            e.rr_name = info.nm.take();
            if let Some(cl) = info.cl {
                self.follow_child_link(&mut e, cl, len_skp)?;
            } else if is_root && e.is_dir && self.is_relocation_dir(&e)? {
                continue;
            }
            out.push(e);
        }
        Ok(out)
    }

    /// RRIP 4.1.5.1: makes the placeholder `e` the directory at `cl`, with the attributes of
    /// that directory's "." record (which carries the relocated directory's `PX` and `TF`).
    fn follow_child_link(
        &mut self,
        e: &mut DirEntry,
        cl: u32,
        len_skp: usize,
    ) -> Result<(), ParseError> {
        let mut sector = Vec::new();
        let (len, date, field) =
            with_dot_record(&mut self.inner, self.image_len, cl, &mut sector, |raw| {
                Ok((raw.data_len, raw.time(), raw.system_use.to_vec()))
            })?;
        let mut info = SuInfo::default();
        decode_system_use(
            &mut self.inner,
            self.image_len,
            &self.limits,
            &field,
            len_skp,
            RecordAt {
                lba: u64::from(cl),
                offset: 0,
            },
            &mut info,
        )?;
        e.is_dir = true;
        e.extents = vec![Extent { lba: cl, len }];
        e.size = u64::from(len);
        e.mtime = info.mtime.or(date).or(e.mtime);
        if let Some(p) = Posix::from_su(&info) {
            e.posix = Some(Box::new(p));
        }
        if let Some(p) = e.posix.as_mut() {
            p.relocated = true;
        }
        Ok(())
    }

    /// True if the root-level directory `e` is the relocation directory to hide: named like
    /// `rr_moved`, not empty, and every entry in it carries `RE` (genisoimage marks only the
    /// relocated directories; libisofs also marks the relocation directory itself, which
    /// `apply_rock_ridge` already skips). Only the first candidate of an image is examined,
    /// which bounds the extra reads a hostile root could cause.
    fn is_relocation_dir(&mut self, e: &DirEntry) -> Result<bool, ParseError> {
        let iso_name = String::from_utf8_lossy(&e.identifier).into_owned();
        if !relocation_name(&e.name) && !relocation_name(&iso_name) {
            return Ok(false);
        }
        let Some(lba) = e.extents.first().map(|x| x.lba) else {
            return Ok(false);
        };
        if let Some((known, hidden)) = self.rr.as_ref().and_then(|s| s.relocation_dir) {
            return Ok(known == lba && hidden);
        }
        let len_skp = self.rr.as_ref().map_or(0, |s| s.len_skp);
        let mut probe = e.clone();
        probe.view = View::Iso9660;
        let (children, su) = self.read_records(&probe, View::Iso9660, true, None)?;
        let mut hidden = !children.is_empty();
        for field in su {
            if !hidden {
                break;
            }
            let mut info = SuInfo::default();
            decode_system_use(
                &mut self.inner,
                self.image_len,
                &self.limits,
                &field.bytes,
                len_skp,
                field.at,
                &mut info,
            )?;
            hidden = info.re;
        }
        if let Some(s) = self.rr.as_mut() {
            s.relocation_dir = Some((lba, hidden));
        }
        Ok(hidden)
    }
}
