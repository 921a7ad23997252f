//! A small from-scratch ISO 9660 image writer for crafting hostile images, independent of the
//! crate's encoders (so a bug there cannot hide one in the reader), plus helpers to find and
//! patch structures in images the crate builds.

use glassmaster::raw::iso9660::{
    decode_dir_record, decode_volume_descriptor, VolumeDescriptorType,
};

pub const S: usize = 2048;

/// Flags (ECMA-119 9.1.6).
pub const DIR: u8 = 0x02;
pub const MULTI: u8 = 0x80;

/// ECMA-119 7.2.3: 16-bit both-byte order.
pub fn b16(v: u16) -> [u8; 4] {
    let (l, b) = (v.to_le_bytes(), v.to_be_bytes());
    [l[0], l[1], b[0], b[1]]
}

/// ECMA-119 7.3.3: 32-bit both-byte order.
pub fn b32(v: u32) -> [u8; 8] {
    let (l, b) = (v.to_le_bytes(), v.to_be_bytes());
    [l[0], l[1], l[2], l[3], b[0], b[1], b[2], b[3]]
}

/// A directory record (ECMA-119 9.1): extent `lba`, `len` bytes, `flags`, identifier `id`,
/// recorded 2024-01-02 03:04:05 UTC.
pub fn rec(lba: u32, len: u32, flags: u8, id: &[u8]) -> Vec<u8> {
    let mut r = vec![0u8; 33];
    r[2..10].copy_from_slice(&b32(lba));
    r[10..18].copy_from_slice(&b32(len));
    r[18..25].copy_from_slice(&[124, 1, 2, 3, 4, 5, 0]);
    r[25] = flags;
    r[28..32].copy_from_slice(&b16(1));
    r[32] = id.len() as u8;
    r.extend_from_slice(id);
    if id.len() % 2 == 0 {
        r.push(0); // 9.1.12 padding
    }
    r[0] = r.len() as u8;
    r
}

/// "." and ".." for a directory at `lba` (2048 bytes) whose parent is at `parent`.
pub fn dots(lba: u32, parent: u32) -> Vec<Vec<u8>> {
    vec![rec(lba, 2048, DIR, &[0]), rec(parent, 2048, DIR, &[1])]
}

/// UCS-2 big-endian (Joliet).
pub fn ucs2(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect()
}

/// An image of whole zero sectors to fill in.
pub struct Img {
    pub data: Vec<u8>,
}

impl Img {
    pub fn new(sectors: usize) -> Self {
        Img {
            data: vec![0; sectors * S],
        }
    }

    pub fn put(&mut self, lba: u32, off: usize, bytes: &[u8]) {
        let at = lba as usize * S + off;
        self.data[at..at + bytes.len()].copy_from_slice(bytes);
    }

    fn descriptor(&mut self, lba: u32, ty: u8, version: u8, root_lba: u32, root_len: u32) {
        let blocks = (self.data.len() / S) as u32;
        self.put(lba, 0, &[ty]);
        self.put(lba, 1, b"CD001");
        self.put(lba, 6, &[version]);
        self.put(lba, 8, &[b' '; 32]);
        self.put(lba, 40, b"HOSTILE                         ");
        self.put(lba, 80, &b32(blocks)); // 8.4.8 volume space size
        self.put(lba, 120, &b16(1)); // 8.4.10 volume set size
        self.put(lba, 124, &b16(1)); // 8.4.11 volume sequence number
        self.put(lba, 128, &b16(2048)); // 8.4.12 logical block size
        let mut root = rec(root_lba, root_len, DIR, &[0]);
        root.truncate(34);
        self.put(lba, 156, &root); // 8.4.18
        self.put(lba, 813, b"2024010203040500\0"); // 8.4.26
        self.put(lba, 830, b"2024010203040500\0"); // 8.4.27
        self.put(lba, 881, &[version]); // 8.4.31 file structure version
    }

    /// A primary volume descriptor (ECMA-119 8.4).
    pub fn pvd(&mut self, lba: u32, root_lba: u32, root_len: u32) -> &mut Self {
        self.descriptor(lba, 1, 1, root_lba, root_len);
        self
    }

    /// A Joliet supplementary volume descriptor with escape sequence `esc`.
    pub fn svd(&mut self, lba: u32, esc: &[u8], root_lba: u32, root_len: u32) -> &mut Self {
        self.descriptor(lba, 2, 1, root_lba, root_len);
        self.put(lba, 88, esc);
        self
    }

    /// The volume descriptor set terminator (ECMA-119 8.3).
    pub fn terminator(&mut self, lba: u32) -> &mut Self {
        self.put(lba, 0, &[255]);
        self.put(lba, 1, b"CD001");
        self.put(lba, 6, &[1]);
        self
    }

    /// Packs `records` from sector `lba` on, never across a sector boundary (6.8.1.1); returns
    /// the sectors used.
    pub fn dir(&mut self, lba: u32, records: &[Vec<u8>]) -> u32 {
        let (mut sector, mut off) = (0u32, 0usize);
        for r in records {
            if off + r.len() > S {
                sector += 1;
                off = 0;
            }
            self.put(lba + sector, off, r);
            off += r.len();
        }
        sector + 1
    }
}

/// The usual small image: PVD at 16, terminator at 17, the root at 18 holding `records`
/// after "." and "..", `sectors` sectors in all. Strict-clean if the records are.
pub fn simple(sectors: usize, records: Vec<Vec<u8>>) -> Img {
    let mut img = Img::new(sectors);
    let mut all = dots(18, 18);
    all.extend(records);
    let used = img.dir(18, &all);
    let len = used * S as u32;
    // The "." and ".." records and the PVD name the real size of the root.
    let fixed = [rec(18, len, DIR, &[0]), rec(18, len, DIR, &[1])];
    img.put(18, 0, &fixed[0]);
    img.put(18, fixed[0].len(), &fixed[1]);
    img.pvd(16, 18, len).terminator(17);
    img
}

/// The volume descriptors of `img`: (sector, type, version, Joliet escape) up to the
/// terminator.
pub fn descriptors(img: &[u8]) -> Vec<(u32, VolumeDescriptorType, u8, [u8; 3])> {
    let mut out = Vec::new();
    for lba in 16u32.. {
        let at = lba as usize * S;
        let Some(sector) = img.get(at..at + S) else {
            break;
        };
        let Ok(vd) = decode_volume_descriptor(sector) else {
            break;
        };
        let esc = [
            vd.escape_sequences[0],
            vd.escape_sequences[1],
            vd.escape_sequences[2],
        ];
        out.push((lba, vd.descriptor_type, vd.version, esc));
        if vd.descriptor_type == VolumeDescriptorType::Terminator {
            break;
        }
    }
    out
}

/// The sector of the first descriptor of `ty` (and `version`).
pub fn descriptor_lba(img: &[u8], ty: VolumeDescriptorType, version: u8) -> u32 {
    descriptors(img)
        .into_iter()
        .find(|d| d.1 == ty && d.2 == version)
        .map(|d| d.0)
        .expect("descriptor present")
}

/// Root (extent, length) of the descriptor at `lba`.
pub fn root_of(img: &[u8], lba: u32) -> (u32, u32) {
    let at = lba as usize * S;
    let vd = decode_volume_descriptor(&img[at..at + S]).unwrap();
    let r = vd.root.unwrap();
    (r.location, r.data_len)
}

/// The byte offset in `img` of the record named `id` in the directory at `dir_lba` (first
/// sector only), and its (extent, length).
pub fn find(img: &[u8], dir_lba: u32, id: &[u8]) -> (usize, u32, u32) {
    let base = dir_lba as usize * S;
    let mut pos = 0;
    while pos < S {
        let Ok(r) = decode_dir_record(&img[base + pos..base + S]) else {
            break;
        };
        if r.identifier == id {
            return (base + pos, r.location, r.data_len);
        }
        pos += r.len;
    }
    panic!(
        "no record {:?} in the directory at {dir_lba}",
        String::from_utf8_lossy(id)
    );
}

/// Writes both copies of a 32-bit both-byte-order field at byte `at`.
pub fn set32(img: &mut [u8], at: usize, v: u32) {
    img[at..at + 8].copy_from_slice(&b32(v));
}
