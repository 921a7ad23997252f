//! Directory records (ECMA-119 9.1) and directories (ECMA-119 6.8), and the decoding of file
//! identifiers into names for each view.

use chrono::{DateTime, FixedOffset};

use super::rockridge::RecordAt;
use super::{DirEntry, Extent, Limits, View};
use crate::codec::date::decode_dir_date;
use crate::codec::endian::read_both32;
use crate::codec::text::decode_ucs2_be;
use crate::error::{ParseError, ParseErrorKind};

/// ECMA-119 9.1.6 bit 0, "Existence": the file need not be made known to the user.
pub(crate) const FLAG_HIDDEN: u8 = 0x01;
/// ECMA-119 9.1.6 bit 1: the record identifies a directory.
pub(crate) const FLAG_DIRECTORY: u8 = 0x02;
/// ECMA-119 9.1.6 bit 2: the file is an associated file.
pub(crate) const FLAG_ASSOCIATED: u8 = 0x04;
/// ECMA-119 9.1.6 bit 7, "Multi-Extent": this is not the final record of the file.
pub(crate) const FLAG_MULTI_EXTENT: u8 = 0x80;

/// The smallest directory record: 33 fixed bytes and a one-byte identifier (ECMA-119 9.1).
pub(crate) const MIN_RECORD_LEN: usize = 34;

/// The bytes before the file identifier (ECMA-119 9.1.1 to 9.1.10).
const FIXED_LEN: usize = 33;

const SECTOR: usize = crate::BLOCK_SIZE;

/// A directory record's fields, borrowed from the directory's bytes.
#[derive(Debug)]
pub(crate) struct RawRecord<'a> {
    /// ECMA-119 9.1.2: extended attribute record length, in logical blocks.
    pub ext_attr_len: u8,
    /// ECMA-119 9.1.3: location of the extent (little-endian copy).
    pub location: u32,
    /// ECMA-119 9.1.4: data length (little-endian copy).
    pub data_len: u32,
    /// ECMA-119 9.1.5: recording date and time.
    pub date: Option<DateTime<FixedOffset>>,
    /// ECMA-119 9.1.6: file flags.
    pub flags: u8,
    /// ECMA-119 9.1.7: file unit size (interleaving), in logical blocks.
    pub unit_size: u8,
    /// ECMA-119 9.1.8: interleave gap size, in logical blocks.
    pub gap_size: u8,
    /// ECMA-119 9.1.11: file identifier.
    pub identifier: &'a [u8],
    /// ECMA-119 9.1.13: the system use field (after the identifier and its padding byte), where
    /// SUSP / Rock Ridge entries live. Empty if the record has none.
    pub system_use: &'a [u8],
}

/// Parses one directory record; `rec` is exactly the record (its length byte first). The
/// error is a reason, to be located by the caller. An empty identifier is an error unless
/// `allow_empty_id` (used for the root record of a volume descriptor, whose identifier is not
/// needed).
pub(crate) fn parse_record(rec: &[u8], allow_empty_id: bool) -> Result<RawRecord<'_>, String> {
    let byte = |i: usize| rec.get(i).copied();
    if rec.len() < FIXED_LEN {
        return Err(format!("record is {} bytes, shorter than 34", rec.len()));
    }
    // Both-byte-order fields (ECMA-119 7.3.3): the little-endian copy wins; a disagreeing
    // big-endian copy is tolerated, as many old writers got it wrong.
    let (location, _) = read_both32(rec, 2).ok_or("record too short for its location")?;
    let (data_len, _) = read_both32(rec, 10).ok_or("record too short for its data length")?;
    let id_len = usize::from(byte(32).unwrap_or(0));
    if id_len == 0 && !allow_empty_id {
        return Err("empty file identifier".to_string());
    }
    // ECMA-119 9.1.10, 9.1.11: the identifier must lie inside the record.
    let identifier = rec.get(FIXED_LEN..FIXED_LEN + id_len).ok_or_else(|| {
        format!(
            "identifier of {id_len} bytes overruns the record of {} bytes",
            rec.len()
        )
    })?;
    // ECMA-119 9.1.12: a padding byte follows an identifier of even length.
    let su_start = FIXED_LEN + id_len + usize::from(id_len % 2 == 0);
    Ok(RawRecord {
        system_use: rec.get(su_start..).unwrap_or_default(),
        ext_attr_len: byte(1).unwrap_or(0),
        location,
        data_len,
        date: rec.get(18..25).and_then(decode_dir_date),
        flags: byte(25).unwrap_or(0),
        unit_size: byte(26).unwrap_or(0),
        gap_size: byte(27).unwrap_or(0),
        identifier,
    })
}

fn limit_error(what: &'static str, n: usize) -> ParseError {
    ParseError::new(ParseErrorKind::LimitExceeded(what, n as u64))
}

/// The extents a record describes: the file section starts after the extended attribute
/// record (ECMA-119 6.5.1, 9.1.2); an interleaved file section (file unit size non-zero,
/// ECMA-119 6.4.3, 9.1.7-9.1.8) is split into one extent per file unit. `existing` is the number
/// of extents the file already has (for `max_extents_per_file`). The error has no location.
pub(crate) fn record_extents(
    raw: &RawRecord<'_>,
    limits: &Limits,
    existing: usize,
) -> Result<Vec<Extent>, ParseError> {
    let overflow = || {
        ParseError::new(ParseErrorKind::BadDirectoryRecord(
            "extent location overflows".into(),
        ))
    };
    let start = raw
        .location
        .checked_add(u32::from(raw.ext_attr_len))
        .ok_or_else(overflow)?;
    let max = limits.max_extents_per_file;
    if raw.unit_size == 0 || raw.data_len == 0 {
        if existing >= max {
            return Err(limit_error("extents per file", max));
        }
        return Ok(vec![Extent {
            lba: start,
            len: raw.data_len,
        }]);
    }
    let unit_bytes = u32::from(raw.unit_size) * crate::BLOCK_SIZE as u32;
    let step = u32::from(raw.unit_size) + u32::from(raw.gap_size);
    let units = raw.data_len.div_ceil(unit_bytes) as usize;
    if existing.saturating_add(units) > max {
        return Err(limit_error("extents per file", max));
    }
    let mut out = Vec::with_capacity(units);
    let mut left = raw.data_len;
    let mut lba = start;
    while left > 0 {
        let len = left.min(unit_bytes);
        out.push(Extent { lba, len });
        left -= len;
        if left > 0 {
            lba = lba.checked_add(step).ok_or_else(overflow)?;
        }
    }
    Ok(out)
}

/// Latin-1 (a superset of the a- and d-characters of ECMA-119 7.4) to a string.
fn latin1(b: &[u8]) -> String {
    b.iter().map(|&c| char::from(c)).collect()
}

/// Decodes a file identifier (ECMA-119 7.5, 9.1.11) into the name shown to users.
///
/// - ISO 9660: `NAME.EXT;VERSION`; the version and then an empty extension's dot are removed
///   from file names (`FOO.;1` is `FOO`, `A.TXT;1` is `A.TXT`).
/// - ISO 9660:1999: no separators have a meaning, but a trailing `;1` is removed; the bytes are
///   UTF-8 when valid (as libisofs writes them), else Latin-1.
/// - Joliet: UCS-2 big-endian; a `;N` version suffix is removed from file names (`;` is not
///   allowed in Joliet names).
pub(crate) fn decode_name(view: View, id: &[u8], is_dir: bool) -> String {
    match view {
        // The Rock Ridge view's records are those of the primary hierarchy; without a usable
        // `NM` they keep their ISO 9660 name.
        // UDF names are not ISO 9660 records (the UDF view never parses records).
        View::Iso9660 | View::RockRidge | View::Udf => {
            let mut b = id;
            if !is_dir {
                if let Some(p) = b.iter().rposition(|&c| c == b';') {
                    b = b.get(..p).unwrap_or_default();
                }
                if let Some((&b'.', rest)) = b.split_last() {
                    b = rest;
                }
            }
            latin1(b)
        }
        View::Iso1999 => {
            let b = if is_dir {
                id
            } else {
                id.strip_suffix(b";1").unwrap_or(id)
            };
            match std::str::from_utf8(b) {
                Ok(s) => s.to_string(),
                Err(_) => latin1(b),
            }
        }
        View::Joliet => {
            let mut s = decode_ucs2_be(id);
            if !is_dir {
                if let Some(p) = s.rfind(';') {
                    if s.get(p + 1..)
                        .is_some_and(|v| v.bytes().all(|c| c.is_ascii_digit()))
                    {
                        s.truncate(p);
                    }
                }
            }
            s
        }
    }
}

/// Turns the bytes of a directory into entries, one extent of the directory at a time.
pub(crate) struct DirParser<'l> {
    view: View,
    limits: &'l Limits,
    entries: Vec<DirEntry>,
    /// The entry being assembled (it may get more extents from the next records).
    pending: Option<DirEntry>,
    /// The last record of `pending` had the multi-extent flag.
    pending_open: bool,
    /// When kept (see [`keep_system_use`](Self::keep_system_use)): the system use field of
    /// each entry's first record, parallel to `entries` then `pending`.
    system_use: Option<Vec<SystemUse>>,
    /// Where the record being added is (for `system_use`).
    record_at: RecordAt,
}

/// The system use field of an entry's first record, and where that record is.
#[derive(Debug, Clone)]
pub(crate) struct SystemUse {
    pub bytes: Vec<u8>,
    pub at: RecordAt,
}

impl<'l> DirParser<'l> {
    pub(crate) fn new(view: View, limits: &'l Limits) -> Self {
        DirParser {
            view,
            limits,
            entries: Vec::new(),
            pending: None,
            pending_open: false,
            system_use: None,
            record_at: RecordAt { lba: 0, offset: 0 },
        }
    }

    /// Also keeps each entry's system use field (for Rock Ridge), returned by
    /// [`finish_with_system_use`](Self::finish_with_system_use).
    pub(crate) fn keep_system_use(&mut self) {
        self.system_use = Some(Vec::new());
    }

    /// Parses the records of one directory extent starting at logical block `lba`.
    pub(crate) fn feed(&mut self, data: &[u8], lba: u32) -> Result<(), ParseError> {
        let mut pos = 0usize;
        while let Some(&len_byte) = data.get(pos) {
            let at_lba = u64::from(lba) + (pos / SECTOR) as u64;
            let in_sector = pos % SECTOR;
            let bad = |why: String| {
                ParseError::at(ParseErrorKind::BadDirectoryRecord(why), at_lba)
                    .with_offset(in_sector)
            };
            let len = usize::from(len_byte);
            if len == 0 {
                // ECMA-119 6.8.1.1: records do not cross sector boundaries; the rest of the
                // sector is zero-filled, and the next record (if any) starts the next sector.
                pos = (pos / SECTOR + 1) * SECTOR;
                continue;
            }
            if len < MIN_RECORD_LEN {
                return Err(bad(format!("record length {len} is less than 34")));
            }
            if in_sector + len > SECTOR {
                return Err(bad(format!(
                    "record of {len} bytes crosses the sector boundary"
                )));
            }
            let rec = data.get(pos..pos + len).ok_or_else(|| {
                bad(format!(
                    "record of {len} bytes overruns the directory of {} bytes",
                    data.len()
                ))
            })?;
            let raw = parse_record(rec, false).map_err(bad)?;
            self.record_at = RecordAt {
                lba: at_lba,
                offset: in_sector,
            };
            self.add(&raw).map_err(|e| {
                if e.lba.is_some() {
                    e
                } else {
                    ParseError {
                        lba: Some(at_lba),
                        offset: Some(in_sector),
                        ..e
                    }
                }
            })?;
            pos += len;
        }
        Ok(())
    }

    /// Adds one record: skips "." and ".." (ECMA-119 6.8.2.2) and associated files, merges the
    /// records of a multi-extent file (ECMA-119 6.5.1, 9.1.6 bit 7).
    fn add(&mut self, raw: &RawRecord<'_>) -> Result<(), ParseError> {
        if raw.identifier == [0] || raw.identifier == [1] {
            return Ok(());
        }
        if raw.flags & FLAG_ASSOCIATED != 0 {
            return Ok(());
        }
        let is_dir = raw.flags & FLAG_DIRECTORY != 0;
        let continues = self.pending_open
            && self
                .pending
                .as_ref()
                .is_some_and(|p| p.identifier == raw.identifier && p.is_dir == is_dir);
        if let (true, Some(p)) = (continues, self.pending.as_mut()) {
            let more = record_extents(raw, self.limits, p.extents.len())?;
            p.size += more.iter().map(|e| u64::from(e.len)).sum::<u64>();
            p.extents.extend(more);
        } else {
            self.flush()?;
            let extents = record_extents(raw, self.limits, 0)?;
            if let Some(su) = self.system_use.as_mut() {
                su.push(SystemUse {
                    bytes: raw.system_use.to_vec(),
                    at: self.record_at,
                });
            }
            self.pending = Some(DirEntry {
                name: decode_name(self.view, raw.identifier, is_dir),
                identifier: raw.identifier.to_vec(),
                is_dir,
                size: extents.iter().map(|e| u64::from(e.len)).sum(),
                extents,
                mtime: raw.date,
                hidden: raw.flags & FLAG_HIDDEN != 0,
                view: self.view,
                posix: None,
                rr_name: None,
                udf: None,
            });
        }
        self.pending_open = raw.flags & FLAG_MULTI_EXTENT != 0;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ParseError> {
        if let Some(p) = self.pending.take() {
            if self.entries.len() >= self.limits.max_entries_per_dir {
                return Err(limit_error(
                    "entries per directory",
                    self.limits.max_entries_per_dir,
                ));
            }
            self.entries.push(p);
        }
        Ok(())
    }

    /// The entries, in recorded order. A multi-extent chain left open at the end is accepted.
    pub(crate) fn finish(mut self) -> Result<Vec<DirEntry>, ParseError> {
        self.flush()?;
        Ok(self.entries)
    }

    /// Like [`finish`](Self::finish), with the system use fields kept (one per entry, empty
    /// unless [`keep_system_use`](Self::keep_system_use) was called).
    pub(crate) fn finish_with_system_use(
        mut self,
    ) -> Result<(Vec<DirEntry>, Vec<SystemUse>), ParseError> {
        self.flush()?;
        Ok((self.entries, self.system_use.unwrap_or_default()))
    }
}
