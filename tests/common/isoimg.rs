//! The one test-only ISO 9660 image writer, for hand-built and deliberately broken images
//! (`tests/read/`, `tests/hostile.rs`). It is written from ECMA-119 and Joliet directly,
//! independent of the crate's encoders, so a bug there cannot hide one in the reader.

use super::{both16, both32};

/// The logical block size (ECMA-119 6.1.2).
pub const S: usize = 2048;

/// File flags (ECMA-119 9.1.6).
pub const HIDDEN: u8 = 0x01;
pub const DIR: u8 = 0x02;
pub const MULTI: u8 = 0x80;

/// UCS-2 big-endian (Joliet).
pub fn ucs2(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect()
}

/// Fills `field` with `s`, padded with spaces (ECMA-119 7.4.3).
fn put_padded(field: &mut [u8], s: &[u8]) {
    for (i, b) in field.iter_mut().enumerate() {
        *b = s.get(i).copied().unwrap_or(b' ');
    }
}

/// Fills `field` with `s` in UCS-2 big-endian, padded with UCS-2 spaces (0x00 0x20).
fn put_padded_ucs2(field: &mut [u8], s: &str) {
    let enc = ucs2(s);
    let whole = field.len() & !1;
    for (i, b) in field.iter_mut().enumerate() {
        *b = match enc.get(i) {
            Some(&c) if i < whole => c,
            _ if i % 2 == 0 => 0,
            _ => b' ',
        };
    }
}

/// A directory record (ECMA-119 9.1) with a fixed date 2024-02-29 13:45:07 UTC.
pub fn record(lba: u32, len: u32, flags: u8, id: &[u8]) -> Vec<u8> {
    let mut r = vec![0u8; 33];
    r[2..10].copy_from_slice(&both32(lba));
    r[10..18].copy_from_slice(&both32(len));
    r[18..25].copy_from_slice(&[124, 2, 29, 13, 45, 7, 0]);
    r[25] = flags;
    r[28..32].copy_from_slice(&both16(1));
    r[32] = id.len() as u8;
    r.extend_from_slice(id);
    if r.len() % 2 == 1 {
        r.push(0); // ECMA-119 9.1.12 padding
    }
    r[0] = r.len() as u8;
    r
}

/// A Joliet directory record: the name in UCS-2 big-endian.
pub fn jrecord(lba: u32, len: u32, flags: u8, name: &str) -> Vec<u8> {
    record(lba, len, flags, &ucs2(name))
}

/// "." and ".." records for a directory at `lba` of `size` bytes with parent `parent`.
pub fn dots(lba: u32, size: u32, parent: u32, parent_size: u32) -> Vec<Vec<u8>> {
    vec![
        record(lba, size, DIR, &[0]),
        record(parent, parent_size, DIR, &[1]),
    ]
}

/// An image under construction: whole sectors of zeros to fill in.
pub struct TestImage {
    pub data: Vec<u8>,
}

impl TestImage {
    pub fn new(sectors: usize) -> Self {
        TestImage {
            data: vec![0; sectors * S],
        }
    }

    pub fn sector(&mut self, lba: u32) -> &mut [u8] {
        let at = lba as usize * S;
        &mut self.data[at..at + S]
    }

    pub fn put(&mut self, lba: u32, off: usize, bytes: &[u8]) {
        let at = lba as usize * S + off;
        self.data[at..at + bytes.len()].copy_from_slice(bytes);
    }

    fn descriptor(&mut self, lba: u32, ty: u8, version: u8) {
        let s = self.sector(lba);
        s[0] = ty;
        s[1..6].copy_from_slice(b"CD001");
        s[6] = version;
    }

    /// A primary volume descriptor (ECMA-119 8.4) with the root directory at `root_lba`
    /// (`root_size` bytes).
    pub fn pvd(&mut self, lba: u32, volume_id: &str, root_lba: u32, root_size: u32) -> &mut Self {
        let blocks = (self.data.len() / S) as u32;
        self.descriptor(lba, 1, 1);
        let s = self.sector(lba);
        put_padded(&mut s[8..40], b"TESTSYS");
        put_padded(&mut s[40..72], volume_id.as_bytes());
        s[80..88].copy_from_slice(&both32(blocks));
        s[120..124].copy_from_slice(&both16(1));
        s[124..128].copy_from_slice(&both16(1));
        s[128..132].copy_from_slice(&both16(2048));
        s[156..190].copy_from_slice(&record(root_lba, root_size, DIR, &[0]));
        put_padded(&mut s[190..318], b"");
        put_padded(&mut s[318..446], b"THE PUBLISHER");
        put_padded(&mut s[446..574], b"THE PREPARER");
        put_padded(&mut s[574..702], b"GLASSMASTER TESTS");
        s[813..830].copy_from_slice(b"2024022913450700\x00");
        s[830..847].copy_from_slice(b"2024030112000000\x04");
        s[847..864].copy_from_slice(b"0000000000000000\x00");
        s[864..881].copy_from_slice(b"0000000000000000\x00");
        s[881] = 1;
        self
    }

    /// A supplementary volume descriptor (ECMA-119 8.5) with escape sequences `esc` (Joliet:
    /// `%/@`, `%/C`, `%/E`; anything else to test what is not Joliet).
    pub fn svd(
        &mut self,
        lba: u32,
        esc: &[u8],
        volume_id: &str,
        root_lba: u32,
        root_size: u32,
    ) -> &mut Self {
        let blocks = (self.data.len() / S) as u32;
        self.descriptor(lba, 2, 1);
        let s = self.sector(lba);
        put_padded_ucs2(&mut s[40..72], volume_id);
        s[80..88].copy_from_slice(&both32(blocks));
        s[88..88 + esc.len()].copy_from_slice(esc);
        s[128..132].copy_from_slice(&both16(2048));
        s[156..190].copy_from_slice(&record(root_lba, root_size, DIR, &[0]));
        s[881] = 1;
        self
    }

    /// A Joliet supplementary volume descriptor (level 1-3).
    pub fn joliet(
        &mut self,
        lba: u32,
        level: u8,
        volume_id: &str,
        root_lba: u32,
        root_size: u32,
    ) -> &mut Self {
        let esc: &[u8] = match level {
            1 => b"%/@",
            2 => b"%/C",
            _ => b"%/E",
        };
        self.svd(lba, esc, volume_id, root_lba, root_size)
    }

    /// An enhanced volume descriptor (ISO 9660:1999).
    pub fn enhanced(&mut self, lba: u32, root_lba: u32, root_size: u32) -> &mut Self {
        self.descriptor(lba, 2, 2);
        let s = self.sector(lba);
        s[128..132].copy_from_slice(&both16(2048));
        s[156..190].copy_from_slice(&record(root_lba, root_size, DIR, &[0]));
        s[881] = 2;
        self
    }

    /// The volume descriptor set terminator (ECMA-119 8.3).
    pub fn terminator(&mut self, lba: u32) -> &mut Self {
        self.descriptor(lba, 255, 1);
        self
    }

    /// Packs `records` into the directory starting at `lba`, never across a sector boundary
    /// (ECMA-119 6.8.1.1). Returns the directory size in bytes (whole sectors).
    pub fn dir(&mut self, lba: u32, records: &[Vec<u8>]) -> u32 {
        let mut sector = 0usize;
        let mut off = 0usize;
        for r in records {
            if off + r.len() > S {
                sector += 1;
                off = 0;
            }
            self.put(lba + sector as u32, off, r);
            off += r.len();
        }
        ((sector + 1) * S) as u32
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.data.clone()
    }
}

/// The directory size `dir` would return for `records`, without writing.
pub fn dir_size(records: &[Vec<u8>]) -> u32 {
    TestImage::new(records.len() + 1).dir(0, records)
}
