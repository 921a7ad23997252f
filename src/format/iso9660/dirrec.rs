//! ECMA-119 9.1 directory records: the encoder the layout renders with, and the one decoder
//! the reader, the public `raw` decoders and the fuzz targets share.

use chrono::{DateTime, FixedOffset};

use crate::codec::date::decode_dir_date;
use crate::codec::endian::{both16, both32, read_both16, read_both32};
use crate::error::{ParseError, ParseErrorKind};

/// ECMA-119 9.1.6 bit 0, "Existence": the file need not be made known to the user.
pub(crate) const FLAG_HIDDEN: u8 = 0x01;
/// ECMA-119 9.1.6 bit 1: the record identifies a directory.
pub(crate) const FLAG_DIRECTORY: u8 = 0x02;
/// ECMA-119 9.1.6 bit 2: the file is an associated file.
pub(crate) const FLAG_ASSOCIATED: u8 = 0x04;
/// ECMA-119 9.1.6 bit 7, "Multi-Extent": this is not the final record of the file.
pub(crate) const FLAG_MULTI_EXTENT: u8 = 0x80;

/// The bytes before the file identifier (ECMA-119 9.1.1 to 9.1.10).
pub(crate) const FIXED_LEN: usize = 33;
/// The smallest directory record: 33 fixed bytes and a one-byte identifier (ECMA-119 9.1).
pub(crate) const MIN_RECORD_LEN: usize = 34;

/// The largest extent written for a multi-extent file: the largest multiple of 2048 that fits in
/// 32 bits, so every extent but the last ends on a block boundary.
pub(crate) const MAX_EXTENT_BYTES: u64 = 0xFFFF_F800;

/// ECMA-119 9.1.12: a record is 33 bytes plus the identifier, plus a pad byte when the identifier
/// length is even, plus the system use field.
pub(crate) fn record_len(ident_len: usize, system_use_len: usize) -> usize {
    33 + ident_len + (1 - ident_len % 2) + system_use_len
}

/// Number of directory records a file of `len` bytes needs (ECMA-119 6.5.1: one per extent).
pub(crate) fn extent_count(len: u64) -> u64 {
    if len <= u32::MAX as u64 {
        1
    } else {
        len.div_ceil(MAX_EXTENT_BYTES)
    }
}

/// The fields of one record.
pub(crate) struct Record<'a> {
    pub extent: u32,
    pub data_len: u32,
    pub date: [u8; 7],
    pub flags: u8,
    pub ident: &'a [u8],
    pub system_use: &'a [u8],
}

/// Appends the encoded record to `out`.
pub(crate) fn encode(out: &mut Vec<u8>, r: &Record<'_>) {
    let len = record_len(r.ident.len(), r.system_use.len());
    debug_assert!(len <= 255 && r.ident.len() <= 255);
    let start = out.len();
    out.push(len as u8); // 9.1.1 length of directory record
    out.push(0); // 9.1.2 extended attribute record length
    out.extend_from_slice(&both32(r.extent)); // 9.1.3 location of extent
    out.extend_from_slice(&both32(r.data_len)); // 9.1.4 data length
    out.extend_from_slice(&r.date); // 9.1.5 recording date and time
    out.push(r.flags); // 9.1.6 file flags
    out.push(0); // 9.1.7 file unit size
    out.push(0); // 9.1.8 interleave gap size
    out.extend_from_slice(&both16(1)); // 9.1.9 volume sequence number
    out.push(r.ident.len() as u8); // 9.1.10 length of file identifier
    out.extend_from_slice(r.ident); // 9.1.11 file identifier
    if r.ident.len() % 2 == 0 {
        out.push(0); // 9.1.12 padding field
    }
    out.extend_from_slice(r.system_use); // 9.1.13 system use
    debug_assert_eq!(out.len() - start, len);
}

/// Lays records of the given lengths into 2048-byte sectors (ECMA-119 6.8.1.1: a record never
/// crosses a sector boundary) and returns the directory size in bytes (whole sectors).
pub(crate) fn directory_size(record_lens: impl Iterator<Item = usize>) -> u64 {
    let mut sectors = 1u64;
    let mut used = 0usize;
    for l in record_lens {
        if used + l > crate::BLOCK_SIZE {
            sectors += 1;
            used = 0;
        }
        used += l;
    }
    sectors * crate::BLOCK_SIZE_U64
}

/// A directory record's fields borrowed from the directory's bytes: what [`decode`] returns
/// ([`DirRecord`] with borrowed identifier and system use field).
pub(crate) type DirRecordRef<'a> = DirRecord<&'a [u8]>;

impl DirRecordRef<'_> {
    /// 9.1.5 decoded (None when unspecified or invalid).
    pub fn time(&self) -> Option<DateTime<FixedOffset>> {
        decode_dir_date(&self.date)
    }
    /// The owned copy (the public [`DirRecord`]).
    pub fn to_record(self) -> DirRecord {
        self.map(|b| b.to_vec())
    }
}

/// Decodes one directory record; `rec` is exactly the record (its length byte first, the
/// length byte itself is not checked against `rec.len()`). The error is a reason, to be located
/// by the caller. An empty identifier is an error unless `allow_empty_id` (the root record of a
/// volume descriptor, whose identifier is not needed, and the public raw decoder).
pub(crate) fn decode(rec: &[u8], allow_empty_id: bool) -> Result<DirRecordRef<'_>, String> {
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
    let mut date = [0u8; 7];
    if let Some(d) = rec.get(18..25) {
        date.copy_from_slice(d);
    }
    Ok(DirRecordRef {
        len: rec.len(),
        ext_attr_len: byte(1),
        location,
        location_be,
        data_len,
        data_len_be,
        date,
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

/// One directory record (ECMA-119 9.1), every field as recorded. `B` holds the identifier and
/// the system use field: owned bytes (`Vec<u8>`, the default) in the public decoder's result,
/// bytes borrowed from the directory inside the crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirRecord<B = Vec<u8>> {
    /// 9.1.1: length of the directory record in bytes (the bytes this record occupies).
    pub len: usize,
    /// 9.1.2: extended attribute record length, in logical blocks.
    pub ext_attr_len: u8,
    /// 9.1.3: location of the extent, little-endian copy.
    pub location: u32,
    /// 9.1.3: location of the extent, big-endian copy.
    pub location_be: u32,
    /// 9.1.4: data length, little-endian copy.
    pub data_len: u32,
    /// 9.1.4: data length, big-endian copy.
    pub data_len_be: u32,
    /// 9.1.5: recording date and time (years since 1900, month, day, hour, minute, second,
    /// offset from GMT in 15-minute units).
    pub date: [u8; 7],
    /// 9.1.6: file flags.
    pub flags: u8,
    /// 9.1.7: file unit size (interleaved mode), in logical blocks.
    pub unit_size: u8,
    /// 9.1.8: interleave gap size, in logical blocks.
    pub gap_size: u8,
    /// 9.1.9: volume sequence number, little-endian copy.
    pub volume_seq: u16,
    /// 9.1.9: volume sequence number, big-endian copy.
    pub volume_seq_be: u16,
    /// 9.1.11: the file identifier (its length is 9.1.10).
    pub identifier: B,
    /// 9.1.12: the padding byte that follows an identifier of even length (None when the
    /// identifier length is odd, or the record ends right after the identifier).
    pub padding: Option<u8>,
    /// 9.1.13: the system use field (everything after the identifier and padding).
    pub system_use: B,
}

impl<B: AsRef<[u8]>> DirRecord<B> {
    /// True if the record is exactly what the crate's own encoder would write for its fields: no
    /// extended attribute record, no interleaving, volume sequence number 1, agreeing byte
    /// orders, and a zero padding byte where one is due.
    pub fn is_canonical(&self) -> bool {
        self.ext_attr_len == 0
            && self.unit_size == 0
            && self.gap_size == 0
            && self.volume_seq == 1
            && self.volume_seq_be == 1
            && self.location == self.location_be
            && self.data_len == self.data_len_be
            && self.padding
                == if self.identifier.as_ref().len() % 2 == 0 {
                    Some(0)
                } else {
                    None
                }
    }

    /// The fields borrowed, as [`decode`] returns them.
    pub(crate) fn as_record_ref(&self) -> DirRecordRef<'_> {
        self.map(|b| b.as_ref())
    }

    /// The same fields with the identifier and system use field mapped by `f`.
    fn map<'a, C>(&'a self, f: impl Fn(&'a B) -> C) -> DirRecord<C> {
        DirRecord {
            len: self.len,
            ext_attr_len: self.ext_attr_len,
            location: self.location,
            location_be: self.location_be,
            data_len: self.data_len,
            data_len_be: self.data_len_be,
            date: self.date,
            flags: self.flags,
            unit_size: self.unit_size,
            gap_size: self.gap_size,
            volume_seq: self.volume_seq,
            volume_seq_be: self.volume_seq_be,
            identifier: f(&self.identifier),
            padding: self.padding,
            system_use: f(&self.system_use),
        }
    }

    /// True if the directory bit (9.1.6 bit 1) is set.
    pub fn is_dir(&self) -> bool {
        self.flags & FLAG_DIRECTORY != 0
    }
}

/// Decodes the directory record that starts at `bytes[0]` (its length byte); bytes after the
/// record are ignored. Errors: `BadDirectoryRecord` if the length byte is below the 33 fixed
/// bytes or the identifier overruns the record, `Truncated` if `bytes` ends inside the record.
/// An empty identifier is decoded (a reader refuses it later).
pub fn decode_dir_record(bytes: &[u8]) -> Result<DirRecord, ParseError> {
    let len = usize::from(
        *bytes
            .first()
            .ok_or(ParseError::new(ParseErrorKind::Truncated))?,
    );
    if len < FIXED_LEN {
        return Err(ParseError::new(ParseErrorKind::BadDirectoryRecord(format!(
            "record length {len} is less than 33"
        )))
        .with_offset(0));
    }
    let rec = bytes
        .get(..len)
        .ok_or(ParseError::new(ParseErrorKind::Truncated).with_offset(bytes.len()))?;
    let raw = decode(rec, true)
        .map_err(|why| ParseError::new(ParseErrorKind::BadDirectoryRecord(why)).with_offset(0))?;
    Ok(raw.to_record())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn dir_record_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode_dir_record(&bytes);
        }
        #[test]
        fn dir_record_with_valid_length(len in 33u8..=255, id_len in any::<u8>(),
                                        fill in prop::collection::vec(any::<u8>(), 255)) {
            let mut bytes = fill;
            bytes[0] = len;
            bytes[32] = id_len;
            match decode_dir_record(&bytes) {
                Ok(r) => {
                    prop_assert_eq!(r.len, usize::from(len));
                    prop_assert_eq!(r.identifier.len(), usize::from(id_len));
                    let pad = usize::from(r.padding.is_some());
                    prop_assert_eq!(33 + r.identifier.len() + pad + r.system_use.len(), r.len);
                }
                Err(e) => {
                    prop_assert!(usize::from(id_len) + 33 > usize::from(len));
                    prop_assert!(matches!(e.kind, ParseErrorKind::BadDirectoryRecord(_)));
                }
            }
        }
    }
    #[test]
    fn lengths() {
        assert_eq!(record_len(1, 0), 34);
        assert_eq!(record_len(6, 0), 40);
        assert_eq!(record_len(5, 0), 38);
        assert_eq!(extent_count(0), 1);
        assert_eq!(extent_count(u32::MAX as u64), 1);
        assert_eq!(extent_count(5 << 30), 2);
        assert_eq!(directory_size([34, 34].into_iter()), 2048);
        assert_eq!(directory_size(std::iter::repeat_n(100, 21)), 4096);
    }
    #[test]
    fn encodes() {
        let mut v = Vec::new();
        encode(
            &mut v,
            &Record {
                extent: 20,
                data_len: 2048,
                date: [1; 7],
                flags: FLAG_DIRECTORY,
                ident: &[0],
                system_use: &[],
            },
        );
        assert_eq!(v.len(), 34);
        assert_eq!(v[0], 34);
        assert_eq!(&v[2..10], &both32(20));
        assert_eq!(v[25], 2);
        assert_eq!(v[32], 1);
        assert_eq!(v[33], 0);
    }
    #[test]
    fn decodes_every_field_by_hand() {
        // ECMA-119 9.1: a record of 33 fixed bytes, a 2-byte identifier, its padding byte and a
        // 4-byte system use field; both-byte-order copies that disagree are kept apart.
        let rec: [u8; 40] = [
            40, // 9.1.1 length
            3,  // 9.1.2 extended attribute record length
            0x14,
            0,
            0,
            0,
            0,
            0,
            0,
            0x15, // 9.1.3 location: LE 20, BE 21
            0x00,
            0x08,
            0,
            0,
            0,
            0,
            0x08,
            0x01, // 9.1.4 data length: LE 2048, BE 2049
            126,
            5,
            17,
            13,
            14,
            15,
            4,                            // 9.1.5 2026-05-17 13:14:15 +01:00
            FLAG_DIRECTORY | FLAG_HIDDEN, // 9.1.6
            2,
            1, // 9.1.7 unit size, 9.1.8 gap size
            1,
            0,
            0,
            2, // 9.1.9 volume sequence number: LE 1, BE 2
            2,
            b'A',
            b'B', // 9.1.10, 9.1.11
            0,    // 9.1.12 padding
            b'S',
            b'P',
            4,
            1, // 9.1.13
        ];
        let r = decode(&rec, false).unwrap();
        assert_eq!(r.len, 40);
        assert_eq!(r.ext_attr_len, 3);
        assert_eq!((r.location, r.location_be), (20, 21));
        assert_eq!((r.data_len, r.data_len_be), (2048, 2049));
        assert_eq!(r.date, [126, 5, 17, 13, 14, 15, 4]);
        assert_eq!(
            r.time().map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-05-17T13:14:15+01:00")
        );
        assert_eq!(r.flags, FLAG_DIRECTORY | FLAG_HIDDEN);
        assert_eq!((r.unit_size, r.gap_size), (2, 1));
        assert_eq!((r.volume_seq, r.volume_seq_be), (1, 2));
        assert_eq!(r.identifier, b"AB");
        assert_eq!(r.padding, Some(0));
        assert_eq!(r.system_use, b"SP\x04\x01");
        // The public owned record holds the same fields, and borrows back to them.
        let owned = decode_dir_record(&rec).unwrap();
        assert_eq!(owned, r.to_record());
        assert!(owned.is_dir() && !owned.is_canonical());
        assert_eq!(owned.as_record_ref().to_record(), owned);
        // An odd identifier has no padding; an empty one is refused unless allowed.
        let mut odd = rec;
        odd[0] = 34;
        odd[32] = 1;
        let r = decode(&odd[..34], false).unwrap();
        assert_eq!(
            (r.identifier, r.padding, r.system_use),
            (&b"A"[..], None, &b""[..])
        );
        let mut empty = odd;
        empty[32] = 0;
        assert_eq!(
            decode(&empty[..34], false).unwrap_err(),
            "empty file identifier"
        );
        assert_eq!(decode(&empty[..34], true).unwrap().identifier, b"");
        // An identifier overrunning the record, and a record shorter than its fixed part.
        let mut over = odd;
        over[32] = 9;
        assert!(decode(&over[..34], false).unwrap_err().contains("overruns"));
        assert!(decode(&rec[..20], true).is_err());
    }
    #[test]
    fn encoder_output_decodes_to_its_fields() {
        let mut v = Vec::new();
        encode(
            &mut v,
            &Record {
                extent: 0x0102_0304,
                data_len: 5000,
                date: [100, 1, 2, 3, 4, 5, 0],
                flags: FLAG_MULTI_EXTENT,
                ident: b"FILE.TXT;1",
                system_use: b"RR\x05\x01\x81\x00",
            },
        );
        let r = decode(&v, false).unwrap();
        assert_eq!((r.location, r.location_be), (0x0102_0304, 0x0102_0304));
        assert_eq!((r.data_len, r.data_len_be), (5000, 5000));
        assert_eq!(r.flags, FLAG_MULTI_EXTENT);
        assert_eq!(r.identifier, b"FILE.TXT;1");
        assert_eq!(r.padding, Some(0));
        assert_eq!(r.system_use, b"RR\x05\x01\x81\x00");
        assert!(r.to_record().is_canonical());
    }
}
