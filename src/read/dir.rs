//! Directory records (ECMA-119 9.1) and directories (ECMA-119 6.8), and the decoding of file
//! identifiers into names for each view.

use chrono::{DateTime, FixedOffset};

use super::rockridge::RecordAt;
use super::{DirEntry, Extent, Limits, View};
use crate::codec::date::decode_dir_date;
use crate::codec::endian::{read_both16, read_both32};
use crate::codec::text::{decode_ucs2_be, is_d_char};
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
    /// The big-endian copy of the location (7.3.3).
    pub location_be: u32,
    /// ECMA-119 9.1.4: data length (little-endian copy).
    pub data_len: u32,
    /// The big-endian copy of the data length (7.3.3).
    pub data_len_be: u32,
    /// ECMA-119 9.1.5: recording date and time, as recorded.
    pub date_raw: [u8; 7],
    /// The same, decoded (None when unspecified or invalid).
    pub date: Option<DateTime<FixedOffset>>,
    /// ECMA-119 9.1.6: file flags.
    pub flags: u8,
    /// ECMA-119 9.1.7: file unit size (interleaving), in logical blocks.
    pub unit_size: u8,
    /// ECMA-119 9.1.8: interleave gap size, in logical blocks.
    pub gap_size: u8,
    /// ECMA-119 9.1.9: volume sequence number (little-endian copy).
    pub volume_seq: u16,
    /// The big-endian copy of the volume sequence number (7.2.3).
    pub volume_seq_be: u16,
    /// ECMA-119 9.1.11: file identifier.
    pub identifier: &'a [u8],
    /// ECMA-119 9.1.12: the padding byte, present when the identifier length is even (None if
    /// the record ends before it).
    pub padding: Option<u8>,
    /// ECMA-119 9.1.13: the system use field (everything after the identifier and padding).
    pub system_use: &'a [u8],
}

/// Parses one directory record; `rec` is exactly the record (its length byte first). The
/// error is a reason, to be located by the caller. An empty identifier is an error unless
/// `allow_empty_id` (used for the root record of a volume descriptor, whose identifier is not
/// needed, and by the raw decoder).
pub(crate) fn parse_record(rec: &[u8], allow_empty_id: bool) -> Result<RawRecord<'_>, String> {
    let byte = |i: usize| rec.get(i).copied().unwrap_or(0);
    if rec.len() < FIXED_LEN {
        return Err(format!("record is {} bytes, shorter than 34", rec.len()));
    }
    // Both-byte-order fields (ECMA-119 7.2.3, 7.3.3): both copies are kept; the little-endian
    // copy is used, and strict mode checks that the big-endian copy agrees.
    let (location, location_be) = read_both32(rec, 2).ok_or("record too short for its location")?;
    let (data_len, data_len_be) =
        read_both32(rec, 10).ok_or("record too short for its data length")?;
    let (volume_seq, volume_seq_be) =
        read_both16(rec, 28).ok_or("record too short for its volume sequence number")?;
    let id_len = usize::from(byte(32));
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
    let after_id = FIXED_LEN + id_len;
    // ECMA-119 9.1.12: one (00) byte follows an identifier of even length.
    let (padding, su_start) = if id_len % 2 == 0 {
        match rec.get(after_id) {
            Some(&p) => (Some(p), after_id + 1),
            None => (None, after_id),
        }
    } else {
        (None, after_id)
    };
    let mut date_raw = [0u8; 7];
    if let Some(d) = rec.get(18..25) {
        date_raw.copy_from_slice(d);
    }
    Ok(RawRecord {
        ext_attr_len: byte(1),
        location,
        location_be,
        data_len,
        data_len_be,
        date_raw,
        date: decode_dir_date(&date_raw),
        flags: byte(25),
        unit_size: byte(26),
        gap_size: byte(27),
        volume_seq,
        volume_seq_be,
        identifier,
        padding,
        system_use: rec.get(su_start..).unwrap_or_default(),
    })
}

/// Strict-mode checks of one record's fields (the error has no location; `offset` inside the
/// record is not reported, the caller adds the record's own position).
pub(crate) fn strict_record_checks(raw: &RawRecord<'_>) -> Result<(), ParseError> {
    let mismatch = |what| Err(ParseError::new(ParseErrorKind::EndianMismatch(what)));
    // ECMA-119 7.2.3 / 7.3.3: both copies of a both-byte-order field hold the same number.
    if raw.location != raw.location_be {
        return mismatch("directory record location of extent");
    }
    if raw.data_len != raw.data_len_be {
        return mismatch("directory record data length");
    }
    if raw.volume_seq != raw.volume_seq_be {
        return mismatch("directory record volume sequence number");
    }
    // ECMA-119 9.1.12: the padding field is one (00) byte.
    if raw.identifier.len() % 2 == 0 && raw.padding != Some(0) {
        return Err(ParseError::new(ParseErrorKind::BadDirectoryRecord(
            "padding field (ECMA-119 9.1.12) missing or not zero".into(),
        )));
    }
    Ok(())
}

/// Shows an identifier for an error message: printable ASCII as is, other bytes escaped.
pub(crate) fn show_identifier(id: &[u8]) -> String {
    format!("\"{}\"", id.escape_ascii())
}

/// Strict-mode checks of an identifier for `view` (ECMA-119 7.5, 7.6; Joliet specification).
/// "." and ".." records (single 00 / 01 bytes) are not passed here.
pub(crate) fn strict_identifier_checks(
    view: View,
    id: &[u8],
    is_dir: bool,
) -> Result<(), ParseError> {
    let bad = |why: &str| {
        Err(ParseError::new(ParseErrorKind::BadIdentifier(format!(
            "{}: {why}",
            show_identifier(id)
        ))))
    };
    match view {
        View::Iso9660 if is_dir => {
            // ECMA-119 7.6.1, 7.6.3: one to 31 d-characters.
            if id.is_empty() || id.len() > 31 {
                return bad("directory identifiers are 1 to 31 d-characters (ECMA-119 7.6)");
            }
            if !id.iter().all(|&c| is_d_char(c)) {
                return bad("directory identifiers use d-characters only (ECMA-119 7.6.1)");
            }
        }
        View::Iso9660 => {
            // ECMA-119 7.5.1: name, SEPARATOR 1 ("."), extension, SEPARATOR 2 (";"), version.
            let Some(semi) = id.iter().position(|&c| c == b';') else {
                return bad("no ';' version separator (ECMA-119 7.5.1)");
            };
            let (name_ext, version) = (&id[..semi], &id[semi + 1..]);
            let dots = name_ext.iter().filter(|&&c| c == b'.').count();
            if dots != 1 {
                return bad("file identifiers have exactly one '.' separator (ECMA-119 7.5.1)");
            }
            let chars = name_ext.iter().filter(|&&c| c != b'.');
            if name_ext.len() < 2 || name_ext.len() > 31 {
                return bad("name and extension have 1 to 30 characters (ECMA-119 7.5.1)");
            }
            if !chars.clone().all(|&c| is_d_char(c)) {
                return bad("file identifiers use d-characters only (ECMA-119 7.5.1)");
            }
            // ECMA-119 7.5.2: the version number is 1 to 32767 in digits.
            let v = std::str::from_utf8(version)
                .ok()
                .filter(|v| !v.is_empty() && v.len() <= 5 && v.bytes().all(|c| c.is_ascii_digit()))
                .and_then(|v| v.parse::<u32>().ok());
            if !matches!(v, Some(1..=32767)) {
                return bad("the file version number is 1 to 32767 (ECMA-119 7.5.2)");
            }
        }
        View::Joliet => {
            // Joliet: UCS-2 big-endian, two bytes per character, without * / : ; ? \ (a
            // trailing ";N" version on files is accepted, as many writers add one).
            if id.len() % 2 != 0 {
                return bad("Joliet identifiers are UCS-2 (an even number of bytes)");
            }
            let s = decode_ucs2_be(id);
            let stem = match (is_dir, s.rfind(';')) {
                (false, Some(p)) if s[p + 1..].bytes().all(|c| c.is_ascii_digit()) => &s[..p],
                _ => s.as_str(),
            };
            if stem.is_empty() || stem.chars().any(|c| "*/:;?\\".contains(c) || c < ' ') {
                return bad("Joliet identifiers exclude * / : ; ? \\ and control characters");
            }
        }
        // ISO 9660:1999 (ECMA-119 4th edition 7.5, 7.6): any bytes, up to 207 of them.
        View::Iso1999 => {
            if id.len() > 207 {
                return bad("ISO 9660:1999 identifiers have at most 207 bytes");
            }
        }
        // Rock Ridge records are parsed with the ISO 9660 rules; UDF has no ECMA-119 records.
        View::RockRidge | View::Udf => {}
    }
    Ok(())
}

fn limit_error(what: &'static str, n: usize) -> ParseError {
    limit_error_u64(what, n as u64)
}

fn limit_error_u64(what: &'static str, n: u64) -> ParseError {
    ParseError::new(ParseErrorKind::LimitExceeded(what, n))
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
    extents_of(
        [raw.ext_attr_len, raw.unit_size, raw.gap_size],
        raw.location,
        raw.data_len,
        limits,
        existing,
    )
}

/// [`record_extents`] for a decoded [`raw::DirRecord`](super::raw::DirRecord).
pub(crate) fn raw_record_extents(
    rec: &super::raw::DirRecord,
    limits: &Limits,
    existing: usize,
) -> Result<Vec<Extent>, ParseError> {
    extents_of(
        [rec.ext_attr_len, rec.unit_size, rec.gap_size],
        rec.location,
        rec.data_len,
        limits,
        existing,
    )
}

/// `[extended attribute record length, file unit size, interleave gap size]`, location and data
/// length to extents.
fn extents_of(
    [ext_attr_len, unit_size, gap_size]: [u8; 3],
    location: u32,
    data_len: u32,
    limits: &Limits,
    existing: usize,
) -> Result<Vec<Extent>, ParseError> {
    let overflow = || {
        ParseError::new(ParseErrorKind::BadDirectoryRecord(
            "extent location overflows".into(),
        ))
    };
    let start = location
        .checked_add(u32::from(ext_attr_len))
        .ok_or_else(overflow)?;
    let max = limits.max_extents_per_file;
    if unit_size == 0 || data_len == 0 {
        if existing >= max {
            return Err(limit_error("extents per file", max));
        }
        return Ok(vec![Extent {
            lba: start,
            len: data_len,
        }]);
    }
    let unit_bytes = u32::from(unit_size) * crate::BLOCK_SIZE as u32;
    let step = u32::from(unit_size) + u32::from(gap_size);
    let units = data_len.div_ceil(unit_bytes) as usize;
    if existing.saturating_add(units) > max {
        return Err(limit_error("extents per file", max));
    }
    let mut out = Vec::with_capacity(units);
    let mut left = data_len;
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

/// Approximate heap and inline bytes one entry holds, for the metadata budget
/// ([`Limits::max_metadata_bytes`]).
pub(crate) fn entry_cost(e: &DirEntry) -> u64 {
    (std::mem::size_of::<DirEntry>()
        + e.name.len()
        + e.identifier.len()
        + e.extents.len() * std::mem::size_of::<Extent>()) as u64
}

/// Turns the bytes of a directory into entries, one extent of the directory at a time.
pub(crate) struct DirParser<'l> {
    view: View,
    /// Whose identifier rules strict mode applies (see [`with_rules`](Self::with_rules)).
    rules: View,
    limits: &'l Limits,
    strict: bool,
    entries: Vec<DirEntry>,
    /// The entry being assembled (it may get more extents from the next records).
    pending: Option<DirEntry>,
    /// The last record of `pending` had the multi-extent flag.
    pending_open: bool,
    /// Records seen so far (including "." and ".."), for the strict checks of 6.8.2.2.
    records: usize,
    /// The directory's own first block, which its "." record must name (strict mode).
    self_lba: Option<u32>,
    /// Metadata bytes this parser may still charge, and has charged.
    budget_left: u64,
    charged: u64,
    /// When kept (see [`keep_system_use`](Self::keep_system_use)): the system use field of
    /// each entry's first record, parallel to `entries` then `pending`.
    system_use: Option<Vec<SystemUse>>,
    /// Where the record being added is (for `system_use`).
    record_at: RecordAt,
    /// Lenient mode: the damaged records left out, each with what was skipped with it.
    damaged: Vec<(ParseError, Skipped)>,
}

/// What lenient mode skips at a damaged directory record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skipped {
    /// The record alone (its length is sound, its contents are not).
    Record,
    /// The record and the rest of its sector (its length cannot be trusted, and records do not
    /// cross sectors, ECMA-119 6.8.1.1).
    RestOfSector,
}

/// The system use field of an entry's first record, and where that record is.
#[derive(Debug, Clone)]
pub(crate) struct SystemUse {
    pub bytes: Vec<u8>,
    pub at: RecordAt,
}

impl<'l> DirParser<'l> {
    /// A parser for a directory of `view` that starts at `self_lba` (if known), allowed to
    /// charge `budget_left` bytes of entries to the metadata budget.
    pub(crate) fn new(
        view: View,
        limits: &'l Limits,
        self_lba: Option<u32>,
        budget_left: u64,
    ) -> Self {
        DirParser {
            view,
            rules: view,
            limits,
            strict: limits.is_strict(),
            entries: Vec::new(),
            pending: None,
            pending_open: false,
            records: 0,
            self_lba,
            budget_left,
            charged: 0,
            system_use: None,
            record_at: RecordAt { lba: 0, offset: 0 },
            damaged: Vec::new(),
        }
    }

    /// Lenient mode: the damaged records left out so far (the error naming each one's sector
    /// and offset, and what was skipped).
    pub(crate) fn take_damaged(&mut self) -> Vec<(ParseError, Skipped)> {
        std::mem::take(&mut self.damaged)
    }

    /// Also keeps each entry's system use field (for Rock Ridge), returned by
    /// [`finish_with_system_use`](Self::finish_with_system_use).
    pub(crate) fn keep_system_use(&mut self) {
        self.system_use = Some(Vec::new());
    }

    /// Applies the identifier rules of `rules` in strict mode (the ISO 9660 view of an image
    /// whose primary and enhanced descriptors share one hierarchy follows ISO 9660:1999).
    pub(crate) fn with_rules(mut self, rules: View) -> Self {
        self.rules = rules;
        self
    }

    /// Metadata bytes charged so far.
    pub(crate) fn charged(&self) -> u64 {
        self.charged
    }

    /// Parses the records of one directory extent starting at logical block `lba`.
    pub(crate) fn feed(&mut self, data: &[u8], lba: u32) -> Result<(), ParseError> {
        let mut pos = 0usize;
        while let Some(&len_byte) = data.get(pos) {
            let at_lba = u64::from(lba) + (pos / SECTOR) as u64;
            let in_sector = pos % SECTOR;
            let locate = |e: ParseError| {
                if e.lba.is_some() {
                    e
                } else {
                    ParseError {
                        lba: Some(at_lba),
                        offset: Some(in_sector),
                        ..e
                    }
                }
            };
            let bad = |why: String| {
                ParseError::at(ParseErrorKind::BadDirectoryRecord(why), at_lba)
                    .with_offset(in_sector)
            };
            let len = usize::from(len_byte);
            if len == 0 {
                // ECMA-119 6.8.1.1: records do not cross sector boundaries; the rest of the
                // sector is zero-filled, and the next record (if any) starts the next sector.
                if self.strict {
                    let end = ((pos / SECTOR + 1) * SECTOR).min(data.len());
                    if data
                        .get(pos..end)
                        .is_some_and(|rest| rest.iter().any(|&b| b != 0))
                    {
                        return Err(bad("bytes after the last record of a sector are not zero \
                             (ECMA-119 6.8.1.1)"
                            .into()));
                    }
                }
                pos = (pos / SECTOR + 1) * SECTOR;
                continue;
            }
            let framing = if len < MIN_RECORD_LEN {
                Some(format!("record length {len} is less than 34"))
            } else if in_sector + len > SECTOR {
                Some(format!("record of {len} bytes crosses the sector boundary"))
            } else if pos + len > data.len() {
                Some(format!(
                    "record of {len} bytes overruns the directory of {} bytes",
                    data.len()
                ))
            } else {
                None
            };
            if let Some(why) = framing {
                if self.strict {
                    return Err(bad(why));
                }
                // Lenient: the record's length cannot be trusted; the next sector starts with
                // a record again (ECMA-119 6.8.1.1).
                self.damaged.push((bad(why), Skipped::RestOfSector));
                pos = (pos / SECTOR + 1) * SECTOR;
                continue;
            }
            let rec = data.get(pos..pos + len).unwrap_or_default();
            let raw = match parse_record(rec, false) {
                Ok(raw) => raw,
                Err(why) if !self.strict => {
                    self.damaged.push((bad(why), Skipped::Record));
                    pos += len;
                    continue;
                }
                Err(why) => return Err(bad(why)),
            };
            self.record_at = RecordAt {
                lba: at_lba,
                offset: in_sector,
            };
            if self.strict {
                self.strict_checks(&raw).map_err(locate)?;
            }
            self.records += 1;
            match self.add(&raw).map_err(locate) {
                // Lenient: a record whose extent cannot be described is left out.
                Err(e)
                    if !self.strict && matches!(e.kind, ParseErrorKind::BadDirectoryRecord(_)) =>
                {
                    self.damaged.push((e, Skipped::Record));
                }
                other => other?,
            }
            pos += len;
        }
        Ok(())
    }

    /// Strict mode: the record's own fields, "." and ".." first (ECMA-119 6.8.2.2), and the
    /// identifier rules of the view.
    fn strict_checks(&self, raw: &RawRecord<'_>) -> Result<(), ParseError> {
        strict_record_checks(raw)?;
        let bad = |why: String| Err(ParseError::new(ParseErrorKind::BadDirectoryRecord(why)));
        match (self.records, raw.identifier) {
            (0, [0]) => {
                if let Some(own) = self.self_lba {
                    if raw.location.checked_add(u32::from(raw.ext_attr_len)) != Some(own) {
                        return bad(format!(
                            "the \".\" record names sector {} instead of the directory's own \
                             sector {own} (ECMA-119 6.8.2.2)",
                            raw.location
                        ));
                    }
                }
                Ok(())
            }
            (0, _) => bad("the first record of a directory is not \".\" (ECMA-119 6.8.2.2)".into()),
            (1, [1]) => Ok(()),
            (1, _) => {
                bad("the second record of a directory is not \"..\" (ECMA-119 6.8.2.2)".into())
            }
            (_, [0] | [1]) => {
                bad("a \".\" or \"..\" record after the first two (ECMA-119 6.8.2.2)".into())
            }
            (_, id) => {
                // RRIP 4.1.5.1: the file record left where a directory was relocated (it carries
                // `CL`) keeps the directory's identifier, so it follows the directory rules.
                let is_dir = raw.flags & FLAG_DIRECTORY != 0
                    || super::rockridge::entries(raw.system_use).any(|e| e.sig == *b"CL");
                strict_identifier_checks(self.rules, id, is_dir)
            }
        }
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
            let cost = (more.len() * std::mem::size_of::<Extent>()) as u64;
            p.size += more.iter().map(|e| u64::from(e.len)).sum::<u64>();
            p.extents.extend(more);
            self.charge(cost)?;
        } else {
            self.flush()?;
            let extents = record_extents(raw, self.limits, 0)?;
            if let Some(su) = self.system_use.as_mut() {
                su.push(SystemUse {
                    bytes: raw.system_use.to_vec(),
                    at: self.record_at,
                });
            }
            let entry = DirEntry {
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
            };
            self.charge(entry_cost(&entry))?;
            self.pending = Some(entry);
        }
        self.pending_open = raw.flags & FLAG_MULTI_EXTENT != 0;
        Ok(())
    }

    /// Charges `n` bytes to the metadata budget.
    fn charge(&mut self, n: u64) -> Result<(), ParseError> {
        if n > self.budget_left {
            return Err(limit_error_u64(
                "metadata bytes",
                self.limits.max_metadata_bytes,
            ));
        }
        self.budget_left -= n;
        self.charged += n;
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

    /// The entries, in recorded order. A multi-extent chain left open at the end is accepted
    /// in lenient mode; strict mode wants its final record (ECMA-119 6.5.1, 9.1.6 bit 7).
    pub(crate) fn finish(self) -> Result<Vec<DirEntry>, ParseError> {
        self.finish_with_system_use().map(|(entries, _)| entries)
    }

    /// Strict mode: the directory's records must end where ECMA-119 lets them.
    fn check_end(&self) -> Result<(), ParseError> {
        if self.strict {
            if self.pending_open {
                return Err(ParseError::new(ParseErrorKind::BadDirectoryRecord(
                    "the directory ends inside a multi-extent chain (ECMA-119 9.1.6 bit 7)".into(),
                )));
            }
            if self.records < 2 {
                return Err(ParseError::new(ParseErrorKind::BadDirectoryRecord(
                    "a directory holds at least \".\" and \"..\" (ECMA-119 6.8.2.2)".into(),
                )));
            }
        }
        Ok(())
    }

    /// Like [`finish`](Self::finish), with the system use fields kept (one per entry, empty
    /// unless [`keep_system_use`](Self::keep_system_use) was called).
    pub(crate) fn finish_with_system_use(
        mut self,
    ) -> Result<(Vec<DirEntry>, Vec<SystemUse>), ParseError> {
        self.check_end()?;
        self.flush()?;
        Ok((self.entries, self.system_use.unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_decoding() {
        assert_eq!(decode_name(View::Iso9660, b"FOO.;1", false), "FOO");
        assert_eq!(decode_name(View::Iso9660, b"A.TXT;1", false), "A.TXT");
        assert_eq!(decode_name(View::Iso9660, b"README", false), "README");
        assert_eq!(decode_name(View::Iso9660, b"DIR.X", true), "DIR.X");
        assert_eq!(decode_name(View::Iso9660, b"\xe9T\xc9;1", false), "éTÉ");
        assert_eq!(
            decode_name(View::Iso1999, "été.txt;1".as_bytes(), false),
            "été.txt"
        );
        assert_eq!(decode_name(View::Iso1999, b"a;b", false), "a;b");
        assert_eq!(decode_name(View::Iso1999, b"x.", false), "x.");
        assert_eq!(
            decode_name(
                View::Joliet,
                &crate::codec::text::ucs2_be("日本.txt;1"),
                false
            ),
            "日本.txt"
        );
        assert_eq!(
            decode_name(View::Joliet, &crate::codec::text::ucs2_be("a;b"), false),
            "a;b"
        );
        assert_eq!(
            decode_name(View::Joliet, &crate::codec::text::ucs2_be("d;1"), true),
            "d;1"
        );
    }
}
