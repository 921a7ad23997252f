//! Claims: what the reader found at which blocks, collected within a memory budget and converted
//! to the map's block size.

use crate::BLOCK_SIZE_U64;
use std::collections::HashMap;

use super::MapName;
use crate::error::{ParseError, ParseErrorKind};
use crate::progress::ItemKind;
use crate::read::{DirEntry, Extent, View};

/// Which claim describes blocks that several claim exactly (lower wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Rank {
    /// A file's data.
    Data,
    /// A directory's records.
    Directory,
    /// Rock Ridge continuation areas.
    Continuation,
    /// UDF file entries, the file set descriptor, space bitmaps.
    Entry,
    /// Path tables.
    PathTable,
    /// Volume descriptors of either standard.
    Descriptor,
    /// The system area, partition tables.
    System,
    /// El Torito catalog and images (usually files too).
    Boot,
    /// A structure that holds others (the UDF metadata file and its mirror).
    Container,
}

/// One claim: blocks `[first, first + count)` hold this.
#[derive(Debug)]
pub(super) struct Claim {
    pub(super) first: u64,
    pub(super) count: u64,
    pub(super) kind: ItemKind,
    pub(super) rank: Rank,
    pub(super) desc: String,
    pub(super) names: Vec<MapName>,
    pub(super) also: Vec<String>,
}

/// A region that labels the blocks no claim takes in it (a UDF partition's free space, an
/// older session, a partition of the partition table).
#[derive(Debug)]
pub(super) struct Background {
    pub(super) first: u64,
    pub(super) end: u64,
    pub(super) label: String,
}

/// The claims collected while the image is read, within a memory budget.
#[derive(Debug)]
pub(crate) struct Claims {
    pub(super) list: Vec<Claim>,
    pub(super) by_range: HashMap<(u64, u64), usize>,
    pub(super) backgrounds: Vec<Background>,
    pub(super) notes: Vec<String>,
    pub(super) used: u64,
    pub(super) budget: u64,
    /// Bytes of the map's blocks ([`BlockMap::block_size`](super::BlockMap::block_size)).
    pub(super) unit: u64,
    /// Bytes of the blocks the claims being added count (2048, or a UDF volume's block size
    /// while its structures are claimed): converted to `unit`.
    pub(super) src: u64,
}

/// Most notes kept.
pub(super) const MAX_NOTES: usize = 1000;

impl Claims {
    pub(super) fn new(budget: u64, unit: u64) -> Self {
        Claims {
            list: Vec::new(),
            by_range: HashMap::new(),
            backgrounds: Vec::new(),
            notes: Vec::new(),
            used: 0,
            budget,
            unit,
            src: BLOCK_SIZE_U64,
        }
    }

    /// Sets the size of the blocks the next claims count; returns the previous one.
    pub(crate) fn source_unit(&mut self, bytes: u64) -> u64 {
        std::mem::replace(&mut self.src, bytes.max(1))
    }

    /// `count` blocks from `first`, in source blocks, as map blocks (every map block that
    /// holds part of them).
    pub(super) fn conv(&self, first: u64, count: u64) -> (u64, u64) {
        if self.src == self.unit {
            return (first, count);
        }
        let start = first.saturating_mul(self.src);
        let end = first.saturating_add(count).saturating_mul(self.src);
        let a = start / self.unit;
        (a, end.div_ceil(self.unit).saturating_sub(a))
    }

    pub(super) fn charge(&mut self, n: u64) -> Result<(), ParseError> {
        self.used = self.used.saturating_add(n);
        if self.used > self.budget {
            return Err(ParseError::new(ParseErrorKind::LimitExceeded(
                "metadata bytes",
                self.budget,
            )));
        }
        Ok(())
    }

    /// Records something the map could not describe.
    pub(crate) fn note(&mut self, msg: String) {
        if self.notes.len() < MAX_NOTES {
            self.notes.push(msg);
        }
    }

    /// Labels the free blocks of `[first, first + count)`.
    pub(crate) fn background(&mut self, first: u64, count: u64, label: String) {
        let (first, count) = self.conv(first, count);
        if count > 0 && self.backgrounds.len() < 4096 {
            self.backgrounds.push(Background {
                first,
                end: first.saturating_add(count),
                label,
            });
        }
    }

    /// Claims `count` blocks from `first` (nothing for 0 blocks); returns the claim's index.
    pub(crate) fn add(
        &mut self,
        first: u64,
        count: u64,
        kind: ItemKind,
        rank: Rank,
        desc: String,
    ) -> Result<Option<usize>, ParseError> {
        let (first, count) = self.conv(first, count);
        if count == 0 {
            return Ok(None);
        }
        if let Some(&i) = self.by_range.get(&(first, count)) {
            self.charge(desc.len() as u64 + 24)?;
            let Some(c) = self.list.get_mut(i) else {
                return Ok(None);
            };
            if rank < c.rank {
                let old = std::mem::replace(&mut c.desc, desc);
                c.kind = kind;
                c.rank = rank;
                if !old.is_empty() && !c.also.contains(&old) {
                    c.also.push(old);
                }
            } else if !desc.is_empty() && desc != c.desc && !c.also.contains(&desc) {
                c.also.push(desc);
            }
            return Ok(Some(i));
        }
        self.charge((std::mem::size_of::<Claim>() + 48 + desc.len()) as u64)?;
        let i = self.list.len();
        self.list.push(Claim {
            first,
            count,
            kind,
            rank,
            desc,
            names: Vec::new(),
            also: Vec::new(),
        });
        self.by_range.insert((first, count), i);
        Ok(Some(i))
    }

    /// Adds `path` of `view` as a name of claim `i`.
    pub(super) fn name(
        &mut self,
        i: Option<usize>,
        view: View,
        path: &str,
    ) -> Result<(), ParseError> {
        let Some(c) = i.and_then(|i| self.list.get_mut(i)) else {
            return Ok(());
        };
        // A walk gives each path once: only the extents of one file can repeat it (checked
        // against the last name, so that shared data with thousands of names stays linear).
        if c.names
            .last()
            .is_some_and(|n| n.view == view && n.path == path)
        {
            return Ok(());
        }
        c.names.push(MapName {
            view,
            path: path.to_string(),
        });
        self.charge((std::mem::size_of::<MapName>() + path.len()) as u64)
    }

    /// Claims the data of `entry` (at `path` in `view`): its extents, contiguous ones joined.
    pub(super) fn file(
        &mut self,
        view: View,
        path: &str,
        entry: &DirEntry,
    ) -> Result<(), ParseError> {
        for (first, count) in runs(&entry.extents, self.src) {
            let i = self.add(first, count, ItemKind::FileData, Rank::Data, String::new())?;
            self.name(i, view, path)?;
        }
        Ok(())
    }
}

/// The block runs of `extents`: an extent continues the previous run when it starts where
/// that one ends (the sections of a file over 4 GiB, ECMA-119 6.5.1).
/// `unit`: the bytes of the blocks the extents count.
pub(super) fn runs(extents: &[Extent], unit: u64) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    let mut open = false;
    for e in extents.iter().filter(|e| e.len != 0) {
        let blocks = u64::from(e.len).div_ceil(unit);
        match out.last_mut() {
            Some((first, count)) if open && *first + *count == u64::from(e.lba) => *count += blocks,
            _ => out.push((u64::from(e.lba), blocks)),
        }
        // Only whole blocks let the next extent continue the run.
        open = u64::from(e.len) % unit == 0;
    }
    out
}
