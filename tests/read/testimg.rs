//! The reader tests' standard image, written with the shared test image writer
//! (`tests/common/isoimg.rs`).

pub use crate::common::isoimg::*;
pub use crate::common::{both16, both32};

/// A small standard image:
/// - 16 PVD, 17 Joliet SVD, 18 terminator
/// - 19 ISO root: `A.TXT;1` (sector 23), `SUB` (dir at 21)
/// - 20 Joliet root: `a.txt`, `Süb dír` (dir at 22)
/// - 21 ISO `SUB`: `B.;1` (sector 24), hidden `H.TXT;1` (sector 23)
/// - 22 Joliet `Süb dír`: `b`, hidden `h.txt`
/// - 23 "hello, world\n", 24 3000 bytes of a pattern (sectors 24-25)
pub fn standard() -> Vec<u8> {
    let mut img = TestImage::new(26);
    let hello = b"hello, world\n";
    let pattern: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    img.put(23, 0, hello);
    img.put(24, 0, &pattern);
    let mut iso_root = dots(19, 2048, 19, 2048);
    iso_root.push(record(23, hello.len() as u32, 0, b"A.TXT;1"));
    iso_root.push(record(21, 2048, DIR, b"SUB"));
    img.dir(19, &iso_root);
    let mut iso_sub = dots(21, 2048, 19, 2048);
    iso_sub.push(record(24, 3000, 0, b"B.;1"));
    iso_sub.push(record(23, hello.len() as u32, HIDDEN, b"H.TXT;1"));
    img.dir(21, &iso_sub);
    let mut j_root = dots(20, 2048, 20, 2048);
    j_root.push(jrecord(23, hello.len() as u32, 0, "a.txt"));
    j_root.push(jrecord(22, 2048, DIR, "Süb dír"));
    img.dir(20, &j_root);
    let mut j_sub = dots(22, 2048, 20, 2048);
    j_sub.push(jrecord(24, 3000, 0, "b;1"));
    j_sub.push(jrecord(23, hello.len() as u32, HIDDEN, "h.txt"));
    img.dir(22, &j_sub);
    img.pvd(16, "STANDARD", 19, 2048);
    img.joliet(17, 3, "Standard Jöliet", 20, 2048);
    img.terminator(18);
    img.bytes()
}
