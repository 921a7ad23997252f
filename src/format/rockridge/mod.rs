//! Rock Ridge: SUSP 1.12 (IEEE P1281) framing and RRIP 1.12 / 1.10 (IEEE P1282) entries in the
//! system use field of ISO 9660 directory records (ECMA-119 9.1.13).
//!
//! Entries are encoded twice: while planning (with placeholder block numbers, to learn their
//! sizes) and while rendering (with the real ones). Every entry's size depends only on the tree
//! and the options, never on block numbers, so [`split`] places them identically both times.

pub(crate) mod rrip;
pub(crate) mod susp;

use std::ops::Range;

/// Which RRIP version to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RripVersion {
    /// RRIP 1.10 (`ER` id `RRIP_1991A`, 36-byte `PX`, an `RR` entry): for old readers.
    V1_10,
    /// RRIP 1.12 (`ER` id `IEEE_P1282`, 44-byte `PX` with the file serial number).
    #[default]
    V1_12,
}

/// What to do with sockets, FIFOs and device nodes found by `add_tree` (whatever the file
/// systems; the views that cannot record them leave them out with a warning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SpecialFiles {
    /// Store them with their type (and device numbers): Rock Ridge and UDF record them.
    #[default]
    Store,
    /// Skip them with a warning.
    Skip,
}

/// Rock Ridge options (used when [`FileSystems::ROCK_RIDGE`](crate::FileSystems::ROCK_RIDGE) is
/// selected). The defaults match `mkisofs -R`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RockRidgeOptions {
    /// RRIP version.
    pub version: RripVersion,
    /// `mkisofs -r`: owner and group 0, read permission for all, write permission removed,
    /// execute permission for all if anyone had it (directories searchable by all), set-id and
    /// sticky bits cleared.
    pub rationalize: bool,
    /// Follow symbolic links while scanning instead of storing them as links (mkisofs `-f`),
    /// whatever the file systems; each link whose target lies outside the scanned directory
    /// is named in a warning. Off by default: a link is recorded as a link (Rock Ridge SL, UDF)
    /// and what it points to is never opened.
    pub follow_symlinks: bool,
    /// Special files found while scanning.
    pub special_files: SpecialFiles,
    /// Name of the relocation directory for directories deeper than ISO 9660 allows.
    pub relocation_dir: String,
}

impl Default for RockRidgeOptions {
    fn default() -> Self {
        RockRidgeOptions {
            version: RripVersion::V1_12,
            rationalize: false,
            follow_symlinks: false,
            special_files: SpecialFiles::Store,
            relocation_dir: "rr_moved".to_string(),
        }
    }
}

/// Where a record's system use entries go: the first `record_end` entries in the record itself,
/// the rest in continuation areas (each a range of entries), chained by `CE` entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Split {
    pub record_end: usize,
    pub areas: Vec<Range<usize>>,
}

/// Largest continuation area: one logical block (SUSP 5.1: an area lies within one block, as
/// readers such as Linux require).
pub(crate) const AREA_MAX: usize = crate::BLOCK_SIZE;

impl Split {
    /// Bytes of system use written in the record (even, SUSP padding included).
    pub fn record_bytes(&self, sizes: &[usize]) -> usize {
        let n: usize = sizes[..self.record_end].iter().sum::<usize>()
            + if self.areas.is_empty() {
                0
            } else {
                susp::CE_LEN
            };
        n + n % 2
    }
    /// Bytes of continuation area `k` (its entries, plus the `CE` to the next area).
    pub fn area_bytes(&self, sizes: &[usize], k: usize) -> usize {
        sizes[self.areas[k].clone()].iter().sum::<usize>()
            + if k + 1 < self.areas.len() {
                susp::CE_LEN
            } else {
                0
            }
    }
}

/// Places entries of the given sizes: all in the record if they fit in `avail` bytes; otherwise
/// as many as fit beside a `CE`, and the rest in areas of at most [`AREA_MAX`] bytes.
pub(crate) fn split(sizes: &[usize], avail: usize) -> Split {
    let avail = avail & !1; // the record length stays even
    let total: usize = sizes.iter().sum();
    if total <= avail {
        return Split {
            record_end: sizes.len(),
            areas: Vec::new(),
        };
    }
    let mut used = 0;
    let mut i = 0;
    while i < sizes.len() && used + sizes[i] + susp::CE_LEN <= avail {
        used += sizes[i];
        i += 1;
    }
    let record_end = i;
    let mut areas = Vec::new();
    while i < sizes.len() {
        let start = i;
        let mut used = 0;
        while i < sizes.len() {
            let rest_after = i + 1 < sizes.len();
            let need = sizes[i] + if rest_after { susp::CE_LEN } else { 0 };
            if used + need > AREA_MAX && i > start {
                break;
            }
            used += sizes[i];
            i += 1;
        }
        areas.push(start..i);
    }
    Split { record_end, areas }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn fits_in_record() {
        let s = split(&[44, 26, 10], 200);
        assert_eq!(
            s,
            Split {
                record_end: 3,
                areas: vec![]
            }
        );
        assert_eq!(s.record_bytes(&[44, 26, 10]), 80);
        assert_eq!(split(&[44, 27], 200).record_bytes(&[44, 27]), 72);
    }
    #[test]
    fn spills_to_areas() {
        let sizes = [44, 26, 255, 255];
        let s = split(&sizes, 150);
        assert_eq!(s.record_end, 2);
        assert_eq!(s.areas, vec![2..4]);
        assert_eq!(s.record_bytes(&sizes), 44 + 26 + 28);
        assert_eq!(s.area_bytes(&sizes, 0), 510);
        // A long chain: each area within one block, chained.
        let sizes = vec![255; 40];
        let s = split(&sizes, 100);
        assert!(s.areas.len() >= 5);
        for k in 0..s.areas.len() {
            assert!(s.area_bytes(&sizes, k) <= AREA_MAX);
        }
        let placed: usize = s.areas.iter().map(|r| r.len()).sum::<usize>() + s.record_end;
        assert_eq!(placed, 40);
    }
}
