//! Spanning: one tree laid out over several volumes of a fixed capacity (`glassmaster build
//! --span --volume-size SIZE`), and the set catalog that lets `glassmaster extract` put it back
//! together.
//!
//! [`plan`] takes the whole tree as an [`ImageBuilder`] (every source kind: paths, bytes, caller
//! readers) and a capacity in 2048-byte blocks, and returns a [`SpanPlan`]: N volumes, each an
//! ordinary lazy [`Image`] that fits the capacity (checked against the laid-out image, metadata
//! included). Files are taken in placement order (descending weight, then the order added);
//! whole files stay whole where they fit, a file larger than a volume (or than the space left
//! when more than 1/16 of the volume would stay empty) is split into parts over consecutive
//! volumes. A part is a byte range of the source (`Source::Slice`); nothing is copied.
//!
//! Every volume holds:
//! * the entries placed in it, under their own paths; a part of a split file is named
//!   `NAME.partKKKofNNN` in the file's own directory (so nobody takes it for the whole file);
//! * [`CATALOG_PATH`]: the catalog of the whole set, identical in every volume (format below);
//! * [`VOLUME_PATH`]: which volume this is (`set ID`, `volume K of N`, `label`).
//!
//! Volume labels are the builder's volume name (shortened to fit 16 characters) followed by
//! `_001`, `_002`, ...
//!
//! ## Catalog format (`/SPANSET/CATALOG.TXT`, UTF-8 text, one record per line)
//! ```text
//! GLASSMASTER-SPANSET 1
//! set 3f2a9c0d11e5b6a7
//! time 1700000000
//! volumes 3
//! volume 1 0000004096 BACKUP_001
//! entries 5
//! dir 0755 0 0 1700000000.000000000 /docs
//! file 0644 1000 1000 1700000000.000000000 9000000 <sha256> 3 /docs/big.bin
//! part 1 0 3000000 0000000310 <sha256> /docs/big.bin.part001of003
//! symlink 0777 0 0 1700000000.000000000 /docs/link target
//! hardlink 0644 0 0 1700000000.000000000 /docs/other /docs/big.bin
//! special 0644 0 0 1700000000.000000000 c 1 3 /dev/null
//! end
//! ```
//! Fields are separated by one space; paths and link targets are escaped (`%XX` for `%`, space,
//! control characters and bytes that are not UTF-8), so a line splits unambiguously. Times are
//! seconds since 1970 with nine digits of nanoseconds; permissions are octal. A `file` line gives
//! the size and SHA-256 of the whole file and its number of parts; its `part` lines follow in
//! order: volume number, offset and length in the file, first block of the part in its volume
//! (the part is contiguous there), the part's SHA-256 and its path in that volume. Entries are
//! sorted by path, so directories come before their contents.
//!
//! Checksums of files in later volumes are needed in volume 1, so the catalog's size is fixed at
//! layout (hashes, block numbers and volume sizes have fixed widths) and its bytes are computed
//! on first read by hashing every source once ([`SpanPlan::compute_catalog`] does it up front
//! with progress), then cached and shared by all volumes of the plan.
//!
//! [`ImageBuilder`]: crate::ImageBuilder
//! [`Image`]: crate::Image

use std::path::{Path, PathBuf};

/// Media capacities in 2048-byte blocks (the figures cdrecord/growisofs report for blank media).
pub const MEDIA: &[(&str, u64)] = &[
    ("cd74", 333_000),
    ("cd80", 360_000),
    ("dvd5", 2_295_104),
    ("dvd9", 4_173_824),
    ("bd25", 12_219_392),
    ("bd50", 24_438_784),
];

/// The capacity in blocks of a medium named in [`MEDIA`] (case-insensitive).
pub fn media_blocks(name: &str) -> Option<u64> {
    let name = name.trim().to_ascii_lowercase();
    MEDIA.iter().find(|(n, _)| *n == name).map(|&(_, b)| b)
}

/// The directory holding the set files in every volume.
pub(crate) const SPAN_DIR: &str = "/SPANSET";
/// The catalog of the whole set (identical in every volume).
pub const CATALOG_PATH: &str = "/SPANSET/CATALOG.TXT";
/// This volume's number and set.
pub const VOLUME_PATH: &str = "/SPANSET/VOLUME.TXT";
/// First line of the catalog and of the volume file.
pub const FORMAT_LINE: &str = "GLASSMASTER-SPANSET 1";

/// Data room a volume must have beyond the metadata of an empty volume, in blocks (32 KiB).
pub(crate) const MIN_DATA_BLOCKS: u64 = 16;

/// Splitting a file that would fit a fresh volume is worth it only if more than this fraction
/// (1/N) of the current volume would otherwise stay empty.
const WASTE_DIVISOR: u64 = 16;

mod catalog;
mod planner;
mod source;
mod volumes;

pub use catalog::{Catalog, CatalogEntry, CatalogVolume, EntryKind, Part};
pub use planner::{plan, SpanPlan, SpanVolume};

/// `backup.iso` -> `backup.003.iso` (volume 3; three digits, more for sets of 1000 volumes or
/// more).
pub fn volume_path(output: &Path, number: u32, count: u32) -> PathBuf {
    let width = count.to_string().len().max(3);
    let stem = output
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "volume".into());
    let name = match output.extension() {
        Some(ext) => format!("{stem}.{number:0width$}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{number:0width$}"),
    };
    output.with_file_name(name)
}

/// The label of volume `number`: the base name shortened so the label fits Joliet's 16
/// characters, then `_NNN`.
fn label_for(base: &str, number: u32, count: u32) -> String {
    let digits = format!("{number:0w$}", w = count.to_string().len().max(3));
    let keep = 16usize.saturating_sub(digits.len() + 1);
    let base: String = base.chars().take(keep).collect();
    let base = if base.is_empty() {
        "VOLUME".to_string()
    } else {
        base
    };
    format!("{base}_{digits}")
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::catalog::{escape, unescape};
    use super::*;
    use crate::build::tree::SpecialKind;
    use crate::error::Error;

    #[test]
    fn escaping_round_trips() {
        for s in [&b"/a b/%/x\n"[..], b"/\xff\xfe", "/名前".as_bytes(), b""] {
            assert_eq!(unescape(&escape(s)).unwrap(), s);
            assert!(!escape(s).contains(' '));
        }
        assert_eq!(escape(b"/a b"), "/a%20b");
        assert!(unescape("%zz").is_err());
    }

    #[test]
    fn volume_names() {
        assert_eq!(
            volume_path(Path::new("/x/backup.iso"), 2, 3),
            Path::new("/x/backup.002.iso")
        );
        assert_eq!(volume_path(Path::new("b"), 12, 1000), Path::new("b.0012"));
        assert_eq!(label_for("BACKUP", 1, 3), "BACKUP_001");
        assert_eq!(label_for("AVERYLONGVOLUMENAME", 7, 3), "AVERYLONGVOL_007");
        assert_eq!(label_for("", 7, 3), "VOLUME_007");
    }

    #[test]
    fn catalog_round_trips_and_errors_name_the_line() {
        let t = DateTime::from_timestamp(1_700_000_000, 5).unwrap();
        let e = |path: &[u8], kind: EntryKind, parts: Vec<Part>| CatalogEntry {
            path: path.to_vec(),
            kind,
            perm: 0o644,
            uid: 1000,
            gid: 100,
            mtime: t,
            parts,
        };
        let cat = Catalog {
            set_id: "0123456789abcdef".into(),
            time: 1_700_000_000,
            volumes: vec![
                CatalogVolume {
                    number: 1,
                    blocks: 1000,
                    label: "B_001".into(),
                },
                CatalogVolume {
                    number: 2,
                    blocks: 900,
                    label: "B_002".into(),
                },
            ],
            entries: vec![
                e(b"/d", EntryKind::Dir, vec![]),
                e(
                    b"/d/a b\xff",
                    EntryKind::File {
                        size: 10,
                        sha256: [1; 32],
                    },
                    vec![
                        Part {
                            volume: 1,
                            path: b"/d/a b.part001of002".to_vec(),
                            offset: 0,
                            len: 4,
                            lba: 30,
                            sha256: [2; 32],
                        },
                        Part {
                            volume: 2,
                            path: b"/d/a b.part002of002".to_vec(),
                            offset: 4,
                            len: 6,
                            lba: 31,
                            sha256: [3; 32],
                        },
                    ],
                ),
                e(
                    b"/d/l",
                    EntryKind::Symlink {
                        target: b"../x y".to_vec(),
                    },
                    vec![],
                ),
                e(
                    b"/d/h",
                    EntryKind::HardLink {
                        target: b"/d/a b\xff".to_vec(),
                    },
                    vec![],
                ),
                e(
                    b"/d/n",
                    EntryKind::Special {
                        kind: SpecialKind::CharDevice,
                        major: 1,
                        minor: 3,
                    },
                    vec![],
                ),
            ],
        };
        let text = cat.to_text();
        assert_eq!(Catalog::parse(&text).unwrap(), cat);
        let s = String::from_utf8(text).unwrap();
        for (from, to, line) in [
            ("part 2 4 6", "part 2 5 5", 9),
            ("volumes 2", "volumes x", 4),
            ("dir 0644", "dir 0x44", 8),
            ("end\n", "", 15),
        ] {
            let bad = s.replacen(from, to, 1);
            match Catalog::parse(bad.as_bytes()) {
                Err(Error::SpanCatalog { line: l, .. }) => assert_eq!(l, line, "{from}"),
                other => panic!("{from}: {other:?}"),
            }
        }
    }

    #[test]
    fn media() {
        assert_eq!(media_blocks("DVD5"), Some(2_295_104));
        assert_eq!(media_blocks("floppy"), None);
    }
}
