//! ECMA-119 9.4 path tables (type L little-endian, type M big-endian): the encoder and the
//! decoders.

use crate::codec::endian::{be16, be32, le16, le32};
use crate::error::{ParseError, ParseErrorKind};

/// The fixed part of a path table record, before the identifier (ECMA-119 9.4.1 to 9.4.4).
const PT_FIXED: usize = 8;

/// ECMA-119 9.4: 8 bytes plus the identifier, plus a pad byte when its length is odd.
pub(crate) fn record_len(ident_len: usize) -> usize {
    8 + ident_len + ident_len % 2
}

/// Appends one path table record.
pub(crate) fn encode(out: &mut Vec<u8>, ident: &[u8], extent: u32, parent: u16, big_endian: bool) {
    out.push(ident.len() as u8); // 9.4.1 length of directory identifier
    out.push(0); // 9.4.2 extended attribute record length
    if big_endian {
        out.extend_from_slice(&extent.to_be_bytes()); // 9.4.3
        out.extend_from_slice(&parent.to_be_bytes()); // 9.4.4
    } else {
        out.extend_from_slice(&extent.to_le_bytes());
        out.extend_from_slice(&parent.to_le_bytes());
    }
    out.extend_from_slice(ident); // 9.4.5
    if ident.len() % 2 == 1 {
        out.push(0); // 9.4.6 padding
    }
}

/// One path table record (ECMA-119 9.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTableRecord {
    /// Bytes the record occupies (8, the identifier and the padding byte if any).
    pub len: usize,
    /// 9.4.2: extended attribute record length, in logical blocks.
    pub ext_attr_len: u8,
    /// 9.4.3: location of the directory's extent.
    pub extent: u32,
    /// 9.4.4: the number of the parent directory's record in the path table (from 1).
    pub parent: u16,
    /// 9.4.5: the directory identifier (its length is 9.4.1).
    pub identifier: Vec<u8>,
    /// 9.4.6: the padding byte that follows an identifier of odd length (None when the length
    /// is even, or the table ends right after the identifier).
    pub padding: Option<u8>,
}

impl PathTableRecord {
    /// True if the record is what the crate's own encoder would write for its fields.
    pub fn is_canonical(&self) -> bool {
        self.ext_attr_len == 0
            && self.padding
                == if self.identifier.len() % 2 == 1 {
                    Some(0)
                } else {
                    None
                }
    }
}

/// Decodes the path table record at `bytes[0]`, of a type M table (big-endian numbers) if
/// `big_endian`, else of a type L table. Errors: `BadPathTable` for an identifier length of 0
/// (9.4.1), `Truncated` if `bytes` ends before the identifier does.
pub fn decode_path_table_record(
    bytes: &[u8],
    big_endian: bool,
) -> Result<PathTableRecord, ParseError> {
    let id_len = usize::from(
        *bytes
            .first()
            .ok_or(ParseError::new(ParseErrorKind::Truncated))?,
    );
    if id_len == 0 {
        return Err(ParseError::new(ParseErrorKind::BadPathTable(
            "directory identifier length 0 (ECMA-119 9.4.1)".into(),
        ))
        .with_offset(0));
    }
    let truncated = || ParseError::new(ParseErrorKind::Truncated).with_offset(bytes.len());
    let identifier = bytes
        .get(PT_FIXED..PT_FIXED + id_len)
        .ok_or_else(truncated)?
        .to_vec();
    let (extent, parent) = if big_endian {
        (be32(bytes, 2), be16(bytes, 6))
    } else {
        (le32(bytes, 2), le16(bytes, 6))
    };
    let (extent, parent) = extent.zip(parent).ok_or_else(truncated)?;
    let padding = if id_len % 2 == 1 {
        bytes.get(PT_FIXED + id_len).copied()
    } else {
        None
    };
    Ok(PathTableRecord {
        len: PT_FIXED + id_len + usize::from(padding.is_some()),
        ext_attr_len: bytes.get(1).copied().unwrap_or(0),
        extent,
        parent,
        identifier,
        padding,
    })
}

/// Decodes a whole path table of `bytes` (its recorded size), at most `max_records` records
/// (`LimitExceeded` beyond). Trailing zero bytes after the last record are accepted as padding.
pub fn decode_path_table(
    bytes: &[u8],
    big_endian: bool,
    max_records: usize,
) -> Result<Vec<PathTableRecord>, ParseError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while let Some(rest) = bytes.get(pos..).filter(|r| !r.is_empty()) {
        if rest.iter().all(|&b| b == 0) {
            break;
        }
        if out.len() >= max_records {
            return Err(ParseError::new(ParseErrorKind::LimitExceeded(
                "path table records",
                max_records as u64,
            ))
            .with_offset(pos));
        }
        let rec = decode_path_table_record(rest, big_endian).map_err(|e| ParseError {
            offset: Some(pos + e.offset.unwrap_or(0)),
            ..e
        })?;
        pos += rec.len;
        out.push(rec);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn path_table_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300),
                                   be in any::<bool>()) {
            let _ = decode_path_table_record(&bytes, be);
            if let Ok(recs) = decode_path_table(&bytes, be, 1000) {
                prop_assert!(recs.iter().map(|r| r.len).sum::<usize>() <= bytes.len());
            }
        }
    }

    #[test]
    fn path_table_records() {
        let mut t = Vec::new();
        encode(&mut t, &[0], 19, 1, false);
        encode(&mut t, b"ABC", 20, 1, false);
        t.extend_from_slice(&[0, 0]);
        let recs = decode_path_table(&t, false, 10).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].identifier, b"ABC");
        assert_eq!((recs[1].extent, recs[1].parent), (20, 1));
        assert!(recs.iter().all(|r| r.is_canonical()));
        let e = decode_path_table(&t, false, 1).unwrap_err();
        assert_eq!(
            e.kind,
            ParseErrorKind::LimitExceeded("path table records", 1)
        );
        assert_eq!(e.offset, Some(10));
        let e = decode_path_table(&t[..12], false, 10).unwrap_err();
        assert_eq!((e.kind, e.offset), (ParseErrorKind::Truncated, Some(12)));
    }
    #[test]
    fn root_record() {
        let mut l = Vec::new();
        encode(&mut l, &[0], 19, 1, false);
        assert_eq!(l, [1, 0, 19, 0, 0, 0, 1, 0, 0, 0]);
        let mut m = Vec::new();
        encode(&mut m, b"AB", 0x0102, 1, true);
        assert_eq!(m, [2, 0, 0, 0, 1, 2, 0, 1, b'A', b'B']);
        assert_eq!(record_len(1), 10);
        assert_eq!(record_len(2), 10);
    }
}
