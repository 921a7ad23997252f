//! The boot info table: 56 bytes that mkisofs's `-boot-info-table` writes at
//! offset 8 of a no-emulation boot file, so boot programs such as isolinux find their own
//! position without reading the file system. It is not part of El Torito 1.0; the layout is the
//! one genisoimage documents and isolinux reads:
//!
//! ```text
//! offset  8  u32 LE  block (2048 bytes) of the primary volume descriptor (16)
//! offset 12  u32 LE  block of the boot file
//! offset 16  u32 LE  length of the boot file in bytes
//! offset 20  u32 LE  checksum: sum mod 2^32 of the file's little-endian u32 words from offset
//!                    64 to the end (a last partial word is zero-padded)
//! offset 24  40 bytes reserved, zero
//! ```
//!
//! # Streaming
//!
//! The source file is never modified: the image stream renders the boot file's bytes from the
//! source and then calls [`InfoTablePatcher::patch`] on each rendered buffer, which overwrites
//! whatever part of bytes 8..64 falls into it. The checksum covers bytes 64.. only, so the patch
//! never changes it, but it must be known before bytes 8..64 are rendered: the layout computes it
//! at build time by reading the boot file once through [`Checksum`] (boot files are small: a
//! few KiB to a few hundred KiB). If the file changes between that read and the rendering, the
//! stream's usual "source changed" check applies.

use super::{le32, BootError, Result};

/// Offset of the table in the boot file.
pub const TABLE_OFFSET: u64 = 8;
/// Length of the table.
pub const TABLE_LEN: usize = 56;
/// First byte covered by the checksum (the end of the table).
pub const CHECKSUM_START: u64 = 64;

/// The values of a boot info table, and the patch that writes them into a boot file's bytes as
/// they stream by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InfoTablePatcher {
    /// Block of the primary volume descriptor (16 for a single-session image).
    pub pvd_lba: u32,
    /// Block where the boot file starts.
    pub file_lba: u32,
    /// Boot file length in bytes.
    pub file_len: u32,
    /// The [`Checksum`] of the file.
    pub checksum: u32,
}

/// Checks that a file of `len` bytes can carry a boot info table: at least 64 bytes (the table
/// must lie inside the file) and less than 4 GiB (the length is a u32).
pub fn check_boot_file_len(len: u64) -> Result<u32> {
    if len < CHECKSUM_START {
        return Err(BootError::InfoTable(format!(
            "the boot file is {len} bytes; a boot info table needs at least 64 (it occupies bytes 8..64)"
        )));
    }
    u32::try_from(len).map_err(|_| {
        BootError::InfoTable(format!(
            "the boot file is {len} bytes; the table's length field is 32 bits"
        ))
    })
}

impl InfoTablePatcher {
    /// A patcher for a file of `file_len` bytes at block `file_lba` (checked by
    /// [`check_boot_file_len`]).
    pub fn new(pvd_lba: u32, file_lba: u32, file_len: u64, checksum: u32) -> Result<Self> {
        Ok(InfoTablePatcher {
            pvd_lba,
            file_lba,
            file_len: check_boot_file_len(file_len)?,
            checksum,
        })
    }

    /// The 56 table bytes (file offsets 8..64).
    pub fn bytes(&self) -> [u8; TABLE_LEN] {
        let mut t = [0u8; TABLE_LEN];
        t[0..4].copy_from_slice(&self.pvd_lba.to_le_bytes());
        t[4..8].copy_from_slice(&self.file_lba.to_le_bytes());
        t[8..12].copy_from_slice(&self.file_len.to_le_bytes());
        t[12..16].copy_from_slice(&self.checksum.to_le_bytes());
        t
    }

    /// Overwrites the part of the table (file bytes 8..64) that falls into `buf`, which holds
    /// the file's bytes `file_offset .. file_offset + buf.len()`. Any split works; bytes outside
    /// 8..64 are untouched.
    pub fn patch(&self, file_offset: u64, buf: &mut [u8]) {
        patch_range(file_offset, buf, TABLE_OFFSET, &self.bytes());
    }
}

/// Offset in the boot file of GRUB 2's boot info (`--grub2-boot-info`): 8 bytes that GRUB's
/// `i386-pc-eltorito` image reads to find itself when it is started by GRUB's hybrid MBR
/// (`boot_hybrid.img`) from a disk instead of by El Torito.
pub const GRUB2_BOOT_INFO_OFFSET: u64 = 2548;
/// Length of GRUB 2's boot info.
pub const GRUB2_BOOT_INFO_LEN: usize = 8;

/// GRUB 2's boot info for a boot file at block `file_lba`: the file's first 512-byte sector
/// plus 5 (the sector after the part of `eltorito.img` the MBR loads), a 64-bit little-endian
/// number.
pub fn grub2_boot_info(file_lba: u32) -> u64 {
    u64::from(file_lba) * 4 + 5
}

/// Checks that a file of `len` bytes can carry GRUB 2's boot info (bytes 2548..2556).
pub fn check_grub2_boot_file_len(len: u64) -> Result<()> {
    let need = GRUB2_BOOT_INFO_OFFSET + GRUB2_BOOT_INFO_LEN as u64;
    if len < need {
        return Err(BootError::InfoTable(format!(
            "the boot file is {len} bytes; GRUB 2 boot info needs at least {need} (it occupies bytes 2548..2556)"
        )));
    }
    Ok(())
}

/// Overwrites the part of `patch` (file bytes `at .. at + patch.len()`) that falls into `buf`,
/// which holds the file's bytes `file_offset .. file_offset + buf.len()`.
fn patch_range(file_offset: u64, buf: &mut [u8], at: u64, patch: &[u8]) {
    let end = at + patch.len() as u64;
    let buf_end = file_offset.saturating_add(buf.len() as u64);
    let start = file_offset.max(at);
    let stop = buf_end.min(end);
    if start >= stop {
        return;
    }
    buf[(start - file_offset) as usize..(stop - file_offset) as usize]
        .copy_from_slice(&patch[(start - at) as usize..(stop - at) as usize]);
}

/// Everything patched into one boot file as it streams by: the boot info table and/or GRUB
/// 2's boot info.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BootFilePatcher {
    /// The boot info table (bytes 8..64).
    pub info_table: Option<InfoTablePatcher>,
    /// GRUB 2's boot info value (bytes 2548..2556), see [`grub2_boot_info`].
    pub grub2_boot_info: Option<u64>,
}

impl BootFilePatcher {
    /// Patches `buf`, the file's bytes `file_offset .. file_offset + buf.len()`; any split
    /// works, bytes outside the patched ranges are untouched.
    pub fn patch(&self, file_offset: u64, buf: &mut [u8]) {
        if let Some(t) = &self.info_table {
            t.patch(file_offset, buf);
        }
        if let Some(v) = self.grub2_boot_info {
            patch_range(file_offset, buf, GRUB2_BOOT_INFO_OFFSET, &v.to_le_bytes());
        }
    }
}

/// Reads a boot info table back from the first 64 (or more) bytes of a boot file. Returns
/// `None` if `file` is shorter than 64 bytes or the reserved bytes are not zero.
pub fn decode_info_table(file: &[u8]) -> Option<InfoTablePatcher> {
    if file.len() < CHECKSUM_START as usize || file[24..64].iter().any(|&b| b != 0) {
        return None;
    }
    Some(InfoTablePatcher {
        pvd_lba: le32(file, 8),
        file_lba: le32(file, 12),
        file_len: le32(file, 16),
        checksum: le32(file, 20),
    })
}

/// Streaming boot info table checksum: feed the file's bytes in chunks of any size, each with
/// its offset in the file, each byte exactly once (in any order), then read [`Checksum::value`].
///
/// The sum of little-endian u32 words equals the sum of `byte << (8 * (offset % 4))` modulo
/// 2^32, so chunk boundaries need no carried state, and the zero padding of a last partial word
/// is implicit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checksum {
    sum: u32,
    bytes: u64,
}

impl Checksum {
    /// An empty checksum.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the file bytes `offset .. offset + bytes.len()` (bytes before 64 are ignored).
    pub fn update(&mut self, offset: u64, bytes: &[u8]) {
        self.bytes += bytes.len() as u64;
        let skip = CHECKSUM_START
            .saturating_sub(offset)
            .min(bytes.len() as u64) as usize;
        let mut pos = offset + skip as u64;
        let mut rest = &bytes[skip..];
        // Unaligned head, byte by byte.
        while pos % 4 != 0 && !rest.is_empty() {
            self.sum = self.sum.wrapping_add(u32::from(rest[0]) << (8 * (pos % 4)));
            rest = &rest[1..];
            pos += 1;
        }
        let mut words = rest.chunks_exact(4);
        for w in &mut words {
            self.sum = self
                .sum
                .wrapping_add(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
        }
        // Tail (pos is aligned here), as a zero-padded word.
        for (i, &b) in words.remainder().iter().enumerate() {
            self.sum = self.sum.wrapping_add(u32::from(b) << (8 * i));
        }
    }

    /// The checksum of the bytes seen.
    pub fn value(&self) -> u32 {
        self.sum
    }

    /// How many bytes were fed (including those before offset 64), so the caller can check it
    /// saw the whole file.
    pub fn bytes_seen(&self) -> u64 {
        self.bytes
    }
}

/// What the bytes `bytes` at file offset `offset` add to a [`Checksum`] (offsets before 64
/// add nothing), so a patch's effect on the checksum can be taken out or put in.
pub fn checksum_share(offset: u64, bytes: &[u8]) -> u32 {
    let mut c = Checksum::new();
    c.update(offset, bytes);
    c.value()
}

/// The checksum of a whole file in memory.
pub fn checksum(file: &[u8]) -> u32 {
    let mut c = Checksum::new();
    c.update(0, file);
    c.value()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic 203-byte file (not a multiple of 4).
    fn file() -> Vec<u8> {
        (0..203u32).map(|i| (i * 37 + 11) as u8).collect()
    }

    /// Straight from the definition: words from offset 64, last partial word zero-padded.
    fn reference(f: &[u8]) -> u32 {
        let mut padded = f[64..].to_vec();
        while padded.len() % 4 != 0 {
            padded.push(0);
        }
        padded
            .chunks(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .fold(0u32, |a, b| a.wrapping_add(b))
    }

    #[test]
    fn checksum_by_hand() {
        // 64 ignored bytes, then words 0x04030201 and 0x00000605 (partial, zero-padded):
        // 0x04030201 + 0x00000605 = 0x04030806.
        let mut f = vec![0xFFu8; 64];
        f.extend_from_slice(&[1, 2, 3, 4, 5, 6]);
        assert_eq!(checksum(&f), 0x0403_0806);
        // Wrapping: two words 0xFFFFFFFF sum to 0xFFFFFFFE.
        let mut f = vec![0u8; 64];
        f.extend_from_slice(&[0xFF; 8]);
        assert_eq!(checksum(&f), 0xFFFF_FFFE);
        assert_eq!(checksum(&file()), reference(&file()));
        assert_eq!(checksum(&[0u8; 10]), 0);
    }

    #[test]
    fn checksum_any_chunking() {
        let f = file();
        let want = reference(&f);
        for a in 0..f.len() {
            for b in a..=f.len() {
                let mut c = Checksum::new();
                // Feed out of order, too.
                c.update(b as u64, &f[b..]);
                c.update(0, &f[..a]);
                c.update(a as u64, &f[a..b]);
                assert_eq!(c.value(), want, "split {a} {b}");
                assert_eq!(c.bytes_seen(), f.len() as u64);
            }
        }
    }

    #[test]
    fn table_bytes_and_patch() {
        let mut f = file();
        let sum = checksum(&f);
        let p = InfoTablePatcher::new(16, 0x1234, f.len() as u64, sum).unwrap();
        let t = p.bytes();
        assert_eq!(
            &t[..16],
            &[
                16,
                0,
                0,
                0,
                0x34,
                0x12,
                0,
                0,
                203,
                0,
                0,
                0,
                sum as u8,
                (sum >> 8) as u8,
                (sum >> 16) as u8,
                (sum >> 24) as u8
            ]
        );
        assert!(t[16..].iter().all(|&b| b == 0));

        let orig = f.clone();
        p.patch(0, &mut f);
        assert_eq!(&f[..8], &orig[..8]);
        assert_eq!(&f[8..64], &t[..]);
        assert_eq!(&f[64..], &orig[64..]);
        assert_eq!(checksum(&f), sum, "patching does not change the checksum");
        assert_eq!(decode_info_table(&f), Some(p));
        assert_eq!(decode_info_table(&orig), None);

        // Every split of a 100-byte window [0, 100) into two or three chunks.
        let whole = f.clone();
        for a in 0..=100usize {
            for b in a..=100usize {
                let mut g = orig.clone();
                let (x, rest) = g[..100].split_at_mut(a);
                let (y, z) = rest.split_at_mut(b - a);
                p.patch(0, x);
                p.patch(a as u64, y);
                p.patch(b as u64, z);
                assert_eq!(g, whole, "split {a} {b}");
            }
        }
        // A buffer beyond the table, and one with a huge offset, are untouched.
        let mut g = orig[64..].to_vec();
        p.patch(64, &mut g);
        assert_eq!(g, orig[64..]);
        let mut g = vec![7u8; 10];
        p.patch(u64::MAX - 3, &mut g);
        assert_eq!(g, vec![7u8; 10]);
    }

    #[test]
    fn too_small() {
        assert!(InfoTablePatcher::new(16, 20, 63, 0).is_err());
        assert!(InfoTablePatcher::new(16, 20, 64, 0).is_ok());
        assert!(InfoTablePatcher::new(16, 20, 1 << 32, 0).is_err());
    }

    #[test]
    fn grub2_boot_info_patch_in_any_split() {
        let file: Vec<u8> = (0..4000u32).map(|i| i as u8).collect();
        let p = BootFilePatcher {
            info_table: None,
            grub2_boot_info: Some(grub2_boot_info(1058)),
        };
        let mut whole = file.clone();
        p.patch(0, &mut whole);
        assert_eq!(&whole[2548..2556], &(1058u64 * 4 + 5).to_le_bytes());
        assert_eq!(&whole[..2548], &file[..2548]);
        assert_eq!(&whole[2556..], &file[2556..]);
        for split in [1usize, 7, 2048, 2550, 2555, 3000] {
            let mut a = file[..split].to_vec();
            let mut b = file[split..].to_vec();
            p.patch(0, &mut a);
            p.patch(split as u64, &mut b);
            a.extend(b);
            assert_eq!(a, whole, "split at {split}");
        }
        assert!(check_grub2_boot_file_len(2555).is_err());
        assert!(check_grub2_boot_file_len(2556).is_ok());
    }
}
