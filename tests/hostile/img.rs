//! Hostile images: the shared test image writer (`tests/common/isoimg.rs`, independent of the
//! crate's encoders, so a bug there cannot hide one in the reader), plus helpers to find and
//! patch structures in images the crate builds.

pub use crate::common::isoimg::*;
pub use crate::common::{both16, both32};
use glassmaster::raw::iso9660::{
    decode_dir_record, decode_volume_descriptor, VolumeDescriptorType,
};

/// The usual small image: PVD at 16, terminator at 17, the root at 18 holding `records`
/// after "." and "..", `sectors` sectors in all. Strict-clean if the records are.
pub fn simple(sectors: usize, records: Vec<Vec<u8>>) -> TestImage {
    let mut img = TestImage::new(sectors);
    let mut all = dots(18, 2048, 18, 2048);
    all.extend(records);
    let len = img.dir(18, &all);
    // The "." and ".." records and the PVD name the real size of the root.
    let fixed = [record(18, len, DIR, &[0]), record(18, len, DIR, &[1])];
    img.put(18, 0, &fixed[0]);
    img.put(18, fixed[0].len(), &fixed[1]);
    img.pvd(16, "HOSTILE", 18, len).terminator(17);
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
    img[at..at + 8].copy_from_slice(&both32(v));
}
