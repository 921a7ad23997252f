//! ECMA-119 8 volume descriptors: primary (8.4), supplementary / Joliet (8.5), enhanced
//! (ISO 9660:1999, type 2 version 2) and the set terminator (8.3).

use crate::codec::endian::{both16, both32, put};
use crate::codec::text::{put_padded, put_padded_ucs2, to_d_chars};

/// Which descriptor to encode.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum VdKind {
    Primary,
    /// Joliet supplementary descriptor with escape sequence `%/E` (UCS-2 level 3).
    Joliet,
    /// ISO 9660:1999 enhanced volume descriptor.
    Enhanced,
}

/// What a descriptor refers to; filled from the frozen layout.
pub(crate) struct VdFields<'a> {
    pub kind: VdKind,
    pub volume_id: &'a str,
    pub system_id: &'a str,
    pub publisher: &'a str,
    pub preparer: &'a str,
    pub application: &'a str,
    pub volume_blocks: u32,
    pub path_table_size: u32,
    pub path_table_l: u32,
    pub path_table_m: u32,
    /// The root directory's 34-byte record.
    pub root_record: &'a [u8],
    pub created: [u8; 17],
    pub modified: [u8; 17],
    pub expires: [u8; 17],
    pub effective: [u8; 17],
    pub volume_set_id: &'a str,
    pub copyright_file: &'a str,
    pub abstract_file: &'a str,
    pub biblio_file: &'a str,
    /// Volume and volume set identifiers as given, not as d-characters (primary only).
    pub ids_as_given: bool,
}

/// `s`'s bytes, at most `max`, cut at a character boundary.
fn as_given(s: &str, max: usize) -> &[u8] {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s.as_bytes()[..end]
}

/// Encodes one 2048-byte descriptor.
pub(crate) fn encode(f: &VdFields<'_>) -> [u8; 2048] {
    let mut b = [0u8; 2048];
    let joliet = f.kind == VdKind::Joliet;
    b[0] = if f.kind == VdKind::Primary { 1 } else { 2 }; // 8.4.1 / 8.5.1 type
    put(&mut b, 1, b"CD001"); // 8.4.2 standard identifier
    b[6] = if f.kind == VdKind::Enhanced { 2 } else { 1 }; // 8.4.3 version
                                                           // 8.4.5 system identifier (a-characters), 8.4.6 volume identifier (d-characters).
    let text = |b: &mut [u8; 2048], off: usize, len: usize, s: &str, dchars: bool| {
        let field = &mut b[off..off + len];
        if joliet {
            put_padded_ucs2(field, s);
        } else if dchars {
            put_padded(field, to_d_chars(s).as_bytes());
        } else {
            let a: String = s
                .chars()
                .map(|c| {
                    let u = c.to_ascii_uppercase();
                    if u.is_ascii() && crate::codec::text::is_a_char(u as u8) {
                        u
                    } else {
                        '_'
                    }
                })
                .collect();
            put_padded(field, a.as_bytes());
        }
    };
    text(&mut b, 8, 32, f.system_id, false);
    text(&mut b, 40, 32, f.volume_id, f.kind != VdKind::Enhanced);
    if f.kind == VdKind::Enhanced {
        // ISO 9660:1999 allows any agreed characters; keep the name as given (ASCII part).
        let s: String = f
            .volume_id
            .chars()
            .filter(|c| c.is_ascii() && !c.is_ascii_control())
            .collect();
        put_padded(&mut b[40..72], s.as_bytes());
    }
    if f.ids_as_given && f.kind == VdKind::Primary {
        put_padded(&mut b[40..72], as_given(f.volume_id, 32));
    }
    put(&mut b, 80, &both32(f.volume_blocks)); // 8.4.8 volume space size
    if joliet {
        put(&mut b, 88, b"%/E"); // 8.5.6 escape sequences: UCS-2 level 3
    }
    put(&mut b, 120, &both16(1)); // 8.4.10 volume set size
    put(&mut b, 124, &both16(1)); // 8.4.11 volume sequence number
    put(&mut b, 128, &both16(crate::BLOCK_SIZE as u16)); // 8.4.12 logical block size
    put(&mut b, 132, &both32(f.path_table_size)); // 8.4.13 path table size
    put(&mut b, 140, &f.path_table_l.to_le_bytes()); // 8.4.14 type L path table
    put(&mut b, 148, &f.path_table_m.to_be_bytes()); // 8.4.16 type M path table
    put(&mut b, 156, f.root_record); // 8.4.18 root directory record
    text(&mut b, 190, 128, f.volume_set_id, true); // 8.4.19 volume set identifier
    if f.ids_as_given && f.kind == VdKind::Primary {
        put_padded(&mut b[190..318], as_given(f.volume_set_id, 128));
    }
    text(&mut b, 318, 128, f.publisher, false); // 8.4.20
    text(&mut b, 446, 128, f.preparer, false); // 8.4.21
    text(&mut b, 574, 128, f.application, false); // 8.4.22
    text(&mut b, 702, 37, f.copyright_file, true); // 8.4.23 copyright file identifier
    text(&mut b, 739, 37, f.abstract_file, true); // 8.4.24 abstract file identifier
    text(&mut b, 776, 37, f.biblio_file, true); // 8.4.25 bibliographic file identifier
    put(&mut b, 813, &f.created); // 8.4.26 volume creation date and time
    put(&mut b, 830, &f.modified); // 8.4.27 volume modification date and time
    put(&mut b, 847, &f.expires); // 8.4.28 volume expiration date and time
    put(&mut b, 864, &f.effective); // 8.4.29 volume effective date and time
    b[881] = if f.kind == VdKind::Enhanced { 2 } else { 1 }; // 8.4.30 file structure version
    b
}

/// ECMA-119 8.3: the volume descriptor set terminator.
pub(crate) fn terminator() -> [u8; 2048] {
    let mut b = [0u8; 2048];
    b[0] = 255;
    put(&mut b, 1, b"CD001");
    b[6] = 1;
    b
}
