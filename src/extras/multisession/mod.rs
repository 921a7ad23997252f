//! Multisession (IMAPI2's ImportFileSystem and multisession, xorriso's growing): import the tree
//! of an existing image into an [`ImageBuilder`], change it, then either append it to the image
//! as a new session ([`ImageBuilder::build_append`]) or write a complete new image
//! ([`ImageBuilder::build`]) whose unchanged files are read lazily from the old one.
//!
//! ```no_run
//! use glassmaster::multisession::BaseImage;
//! use glassmaster::{ImageBuilder, NoProgress};
//! # fn main() -> glassmaster::Result<()> {
//! let base = BaseImage::open("backup.iso")?;
//! let mut b = ImageBuilder::import(&base)?;
//! b.add_bytes("/new.txt", &b"new"[..])?;   // added over an imported path: the new item wins
//! b.remove("/old.txt")?;
//! let append = b.build_append(&base)?;
//! for r in append.modified_blocks() {
//!     println!("{} blocks from {}", r.block_count, r.first_block);
//! }
//! append.write_in_place(&mut NoProgress)?;     // the image now has one more session
//! # Ok(())
//! # }
//! ```
//!
//! The on-disk format of the session records is described in `src/read/session.rs` and in
//! `docs/design.md`.
//!
//! [`ImageBuilder`]: crate::ImageBuilder
//! [`ImageBuilder::build_append`]: crate::ImageBuilder::build_append
//! [`ImageBuilder::build`]: crate::ImageBuilder::build

pub use crate::build::base::{BaseOpener, ReadSeek};

/// The default alignment of a new session: 32 blocks (64 KiB), as for overwriteable media
/// (DVD+RW, image files).
pub const DEFAULT_SESSION_ALIGNMENT: u64 = 32;

mod append;
mod base;
mod import;

pub(crate) use crate::build::base::AppendInput;
pub use append::{Append, BlockRange};
pub use base::BaseImage;

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::build::base::{BaseFile, Piece};
    use crate::build::builder::{FileSystems, ImageBuilder, IsoLevel};
    use crate::build::tree::{FileData, Source};
    use crate::error::Error;
    use crate::read::{ImageReader, View};
    use crate::NoProgress;
    use std::io;
    use std::sync::Arc;

    fn image_file(b: &ImageBuilder) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        b.build(&mut crate::progress::NoProgress)
            .unwrap()
            .write_to(f.as_file(), &mut NoProgress)
            .unwrap();
        f
    }

    fn pattern(seed: u8, len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31) ^ seed)
            .collect()
    }

    /// A file whose extents lie anywhere on the base (here: two extents, the second before the
    /// first on the image) keeps them in an appended session: one record per extent.
    #[test]
    fn non_contiguous_multi_extent_file_stays_in_place() {
        let mut b = ImageBuilder::new();
        b.add_bytes("/low.bin", pattern(1, 100)).unwrap();
        b.add_bytes("/high.bin", pattern(2, 4096)).unwrap();
        let f = image_file(&b);
        let base = BaseImage::open(f.path()).unwrap();
        let mut r = base.reader(None).unwrap();
        let low = r.lookup(View::Iso9660, "/LOW.BIN").unwrap().extents[0];
        let high = r.lookup(View::Iso9660, "/HIGH.BIN").unwrap().extents[0];
        assert!(low.lba < high.lba);
        drop(r);

        let mut nb = ImageBuilder::import(&base).unwrap();
        let pieces = vec![
            Piece {
                lba: high.lba,
                len: high.len,
                hole: false,
            },
            Piece {
                lba: low.lba,
                len: low.len,
                hole: false,
            },
        ];
        nb.tree
            .add_file(
                "/joined.bin",
                FileData {
                    source: Source::Base {
                        file: Arc::new(BaseFile {
                            pieces,
                            opener: base.opener.clone(),
                        }),
                        in_place: false,
                    },
                    len: 4196,
                },
            )
            .unwrap();
        let append = nb.build_append(&base).unwrap();
        append.write_in_place(&mut NoProgress).unwrap();
        let mut r = ImageReader::open(fs::File::open(f.path()).unwrap()).unwrap();
        let e = r.lookup(View::Joliet, "/joined.bin").unwrap();
        assert_eq!(e.extents.len(), 2);
        assert_eq!((e.extents[0].lba, e.extents[1].lba), (high.lba, low.lba));
        let mut want = pattern(2, 4096);
        want.extend(pattern(1, 100));
        assert_eq!(r.read_file(&e).unwrap(), want);
        // In a new image (modify), the same file is read from the base and stored contiguously.
        let again = BaseImage::open(f.path()).unwrap();
        let m = ImageBuilder::import(&again).unwrap();
        let img = m.build(&mut crate::progress::NoProgress).unwrap();
        let mut r = ImageReader::open(img.stream()).unwrap();
        let e = r.lookup(View::Joliet, "/joined.bin").unwrap();
        assert_eq!(e.extents.len(), 1);
        assert_eq!(r.read_file(&e).unwrap(), want);
    }

    /// Files in the head the new descriptors overwrite are written again; the ones after it
    /// stay.
    #[test]
    fn files_in_the_rewritten_head_are_moved() {
        let mut b = ImageBuilder::new();
        b.filesystems(FileSystems::ISO9660);
        b.add_bytes("/a.txt", pattern(3, 10)).unwrap();
        let f = image_file(&b);
        let old = fs::read(f.path()).unwrap();
        let base = BaseImage::open(f.path()).unwrap();
        let mut r = base.reader(None).unwrap();
        // ISO 9660 only: PVD and terminator at 16-17, path tables 18-19, root 20, file 21.
        assert_eq!(
            r.lookup(View::Iso9660, "/A.TXT").unwrap().extents[0].lba,
            21
        );
        drop(r);
        // With Joliet and 1999 the new set is PVD, EVD, SVD, terminator (16-19): the file stays,
        // and a file made of block 16 of the base (its old descriptor) is moved.
        let mut nb = ImageBuilder::import(&base).unwrap();
        nb.filesystems(FileSystems::ISO9660 | FileSystems::JOLIET)
            .level(IsoLevel::Iso1999);
        nb.tree
            .add_file(
                "/pvd.bin",
                FileData {
                    source: Source::Base {
                        file: Arc::new(BaseFile {
                            pieces: vec![Piece {
                                lba: 16,
                                len: 2048,
                                hole: false,
                            }],
                            opener: base.opener.clone(),
                        }),
                        in_place: false,
                    },
                    len: 2048,
                },
            )
            .unwrap();
        let append = nb.build_append(&base).unwrap();
        append.write_in_place(&mut NoProgress).unwrap();
        let mut r = ImageReader::open(fs::File::open(f.path()).unwrap()).unwrap();
        let e = r.lookup(View::Joliet, "/a.txt").unwrap();
        assert_eq!(e.extents[0].lba, 21);
        assert_eq!(r.read_file(&e).unwrap(), pattern(3, 10));
        let e = r.lookup(View::Joliet, "/pvd.bin").unwrap();
        assert!(u64::from(e.extents[0].lba) >= append.session_start());
        assert_eq!(r.read_file(&e).unwrap(), &old[16 * 2048..17 * 2048]);
        let file = BaseFile {
            pieces: vec![Piece {
                lba: 18,
                len: 10,
                hole: false,
            }],
            opener: base.opener.clone(),
        };
        assert!(!file.can_stay(19, 100));
        assert!(file.can_stay(18, 100));
        assert!(!file.can_stay(18, 18));
    }

    #[test]
    fn remove_replace_and_compact() {
        let mut b = ImageBuilder::new();
        b.add_bytes("/d/x", &b"x"[..]).unwrap();
        b.add_bytes("/d/y", &b"y"[..]).unwrap();
        b.add_bytes("/z", &b"z"[..]).unwrap();
        // Not imported: adding over an existing path is still an error.
        assert!(matches!(
            b.add_bytes("/z", &b"again"[..]),
            Err(Error::DuplicatePath(_))
        ));
        for id in 1..b.tree.nodes.len() as u32 {
            b.tree.imported.insert(id);
        }
        // Imported: the new item wins, a file over a directory and a directory over a file too.
        b.add_bytes("/z", &b"zz"[..]).unwrap();
        b.add_bytes("/d", &b"now a file"[..]).unwrap();
        b.add_bytes("/z2/inner", &b"i"[..]).unwrap();
        b.remove("/z2").unwrap();
        assert!(b.remove("/nope").is_err());
        assert!(b.remove("/").is_err());
        let t = b.tree.compacted();
        assert_eq!(t.nodes.len(), 3);
        assert_eq!(t.data.len(), 2);
        assert_eq!(t.path_of(t.lookup("/z").unwrap()), "/z");
        assert_eq!(b.file_len("/d"), Some(10));
        let img = b.build(&mut crate::progress::NoProgress).unwrap();
        let mut r = ImageReader::open(img.stream()).unwrap();
        let e = r.lookup(View::Joliet, "/z").unwrap();
        assert_eq!(r.read_file(&e).unwrap(), b"zz");
        assert_eq!(r.walk(View::Joliet).unwrap().len(), 2);
    }

    /// Session records that point forwards or into the head are refused, not followed.
    #[test]
    fn hostile_session_records() {
        let mut b = ImageBuilder::new();
        b.add_bytes("/a", &b"a"[..]).unwrap();
        let f = image_file(&b);
        let mut bytes = fs::read(f.path()).unwrap();
        let at = 16 * 2048 + crate::format::iso9660::session::APP_USE_OFFSET;
        for (start, ok) in [(0u32, true), (20, false), (u32::MAX, false), (64, false)] {
            let rec = crate::format::iso9660::session::encode_record(2, start);
            bytes[at..at + rec.len()].copy_from_slice(&rec);
            let r = crate::read::sessions(&mut io::Cursor::new(&bytes));
            assert_eq!(r.is_ok(), ok, "start {start}: {r:?}");
        }
        // A record pointing at itself (the saved head holds the same record) is not a loop.
        let len = bytes.len();
        let self_start = (len / 2048 / 32 * 32) as u32;
        let rec = crate::format::iso9660::session::encode_record(2, self_start);
        bytes[at..at + rec.len()].copy_from_slice(&rec);
        let head: Vec<u8> = bytes[16 * 2048..32 * 2048].to_vec();
        let s = self_start as usize * 2048;
        bytes[s..s + head.len()].copy_from_slice(&head);
        assert!(crate::read::sessions(&mut io::Cursor::new(&bytes)).is_err());
    }
}
