//! From claims to items: each block to its innermost claim, the blocks nothing claims read to
//! tell padding from unused data, and the items joined in block order.

use std::collections::BTreeSet;
use std::io::{Read, Seek};

use super::claims::{Claim, MAX_NOTES};
use super::{BlockMap, Claims, MapItem, MapName, Rank, UNCLAIMED_READ_LIMIT};
use crate::error::{ParseError, ParseErrorKind};
use crate::progress::ItemKind;
use crate::read::{read_at, ImageReader};

/// An item of blocks `[a, b)` without names.
fn plain(a: u64, b: u64, kind: ItemKind, desc: &str) -> MapItem {
    MapItem {
        first_block: a,
        last_block: b - 1,
        block_count: b - a,
        kind,
        description: desc.to_string(),
        names: Vec::new(),
        also: Vec::new(),
        within: None,
    }
}

/// Appends `item`, joining it to the previous item when that one says the same and ends
/// where it starts (the blocks of one directory's continuation areas, a run of padding).
fn push_item(items: &mut Vec<MapItem>, item: MapItem) {
    if let Some(last) = items.last_mut() {
        if last.last_block + 1 == item.first_block
            && last.kind == item.kind
            && last.description == item.description
            && last.names == item.names
            && last.also == item.also
            && last.within == item.within
        {
            last.last_block = item.last_block;
            last.block_count += item.block_count;
            return;
        }
    }
    items.push(item);
}

impl<R: Read + Seek> ImageReader<R> {
    /// Turns the claims into items covering `[0, total)`: each block to its innermost claim,
    /// the blocks nothing claims read and described.
    pub(super) fn resolve(
        &mut self,
        mut claims: Claims,
        total: u64,
    ) -> Result<BlockMap, ParseError> {
        // Descriptions of file data: the path in the first view that names it (views were
        // walked default view first).
        for c in claims.list.iter_mut() {
            if c.desc.is_empty() {
                c.desc = c.names.first().map(|n| n.path.clone()).unwrap_or_default();
            }
        }
        // Claims beyond the end of the image are cut there.
        let mut notes = std::mem::take(&mut claims.notes);
        let mut cut = 0usize;
        for c in claims.list.iter_mut() {
            let end = c.first.saturating_add(c.count);
            if end > total {
                if notes.len() < MAX_NOTES && cut < 100 {
                    notes.push(format!(
                        "{} (blocks {}-{}) reaches beyond the end of the image ({total} blocks)",
                        c.desc,
                        c.first,
                        end - 1
                    ));
                }
                cut += 1;
                c.count = total.saturating_sub(c.first);
            }
        }
        if cut > 100 {
            notes.push(format!(
                "{} more structures reach beyond the end of the image",
                cut - 100
            ));
        }
        let live: Vec<usize> = (0..claims.list.len())
            .filter(|&i| claims.list[i].count > 0)
            .collect();
        let key = |i: usize| {
            let c = &claims.list[i];
            (c.count, c.rank, i)
        };
        let mut starts = live.clone();
        starts.sort_by_key(|&i| claims.list[i].first);
        let mut ends = live;
        ends.sort_by_key(|&i| claims.list[i].first + claims.list[i].count);
        let mut bounds: Vec<u64> = Vec::with_capacity(2 * starts.len() + 2);
        bounds.push(0);
        bounds.push(total);
        for c in claims.list.iter().filter(|c| c.count > 0) {
            bounds.push(c.first);
            bounds.push(c.first + c.count);
        }
        bounds.sort_unstable();
        bounds.dedup();
        // Pieces: (first, end, winner, within) with `None` for blocks nothing claims.
        let mut pieces: Vec<(u64, u64, Option<usize>, Option<usize>)> = Vec::new();
        let mut active: BTreeSet<(u64, Rank, usize)> = BTreeSet::new();
        let (mut si, mut ei) = (0usize, 0usize);
        for w in bounds.windows(2) {
            let (a, b) = (w[0], w[1]);
            while let Some(&i) = ends.get(ei) {
                if claims.list[i].first + claims.list[i].count > a {
                    break;
                }
                active.remove(&key(i));
                ei += 1;
            }
            while let Some(&i) = starts.get(si) {
                if claims.list[i].first > a {
                    break;
                }
                if claims.list[i].first + claims.list[i].count > a {
                    active.insert(key(i));
                }
                si += 1;
            }
            let mut it = active.iter();
            let winner = it.next().map(|k| k.2);
            let within = it.next().map(|k| k.2);
            match pieces.last_mut() {
                Some(p) if p.1 == a && p.2 == winner && p.3 == within => p.1 = b,
                _ => pieces.push((a, b, winner, within)),
            }
        }
        let mut items: Vec<MapItem> = Vec::with_capacity(pieces.len());
        let mut read_left = UNCLAIMED_READ_LIMIT;
        // A claim split by the claims inside it is one item per piece, each with the claim's
        // names: the items are charged too.
        let cost = |c: &Claim| {
            (std::mem::size_of::<MapItem>()
                + c.desc.len()
                + c.names
                    .iter()
                    .map(|n| std::mem::size_of::<MapName>() + n.path.len())
                    .sum::<usize>()
                + c.also.iter().map(|a| a.len() + 24).sum::<usize>()) as u64
        };
        let mut used = claims.used;
        for (a, b, winner, within) in pieces {
            match winner {
                Some(i) => {
                    let c = &claims.list[i];
                    used = used.saturating_add(cost(c));
                    if used > claims.budget {
                        return Err(ParseError::at(
                            ParseErrorKind::LimitExceeded("metadata bytes", claims.budget),
                            a,
                        ));
                    }
                    let item = MapItem {
                        first_block: a,
                        last_block: b - 1,
                        block_count: b - a,
                        kind: c.kind,
                        description: c.desc.clone(),
                        names: c.names.clone(),
                        also: c.also.clone(),
                        within: within.map(|w| claims.list[w].desc.clone()),
                    };
                    push_item(&mut items, item);
                }
                None => self.unclaimed(&claims, a, b, &mut read_left, &mut items)?,
            }
        }
        // A background exactly equal to an item's blocks is another name of them (a GPT
        // partition that is the EFI boot image's file).
        for bg in &claims.backgrounds {
            let i = items.partition_point(|it| it.first_block < bg.first);
            if let Some(it) = items
                .get_mut(i)
                .filter(|it| it.first_block == bg.first && it.last_block + 1 == bg.end)
            {
                if it.kind != ItemKind::Padding
                    && it.kind != ItemKind::Unused
                    && !it.also.contains(&bg.label)
                {
                    it.also.push(bg.label.clone());
                }
            }
        }
        self.meta_used = used;
        Ok(BlockMap {
            items,
            total_blocks: total,
            notes,
            block_size: claims.unit,
        })
    }

    /// Items for the blocks `[a, b)` that nothing claims: split by the backgrounds they lie
    /// in, then read (within `read_left` bytes) to tell zeros from data.
    fn unclaimed(
        &mut self,
        claims: &Claims,
        a: u64,
        b: u64,
        read_left: &mut u64,
        items: &mut Vec<MapItem>,
    ) -> Result<(), ParseError> {
        let mut pos = a;
        while pos < b {
            // The innermost background at `pos`, and where the next one starts or it ends.
            let bg = claims
                .backgrounds
                .iter()
                .filter(|g| g.first <= pos && pos < g.end)
                .min_by_key(|g| g.end - g.first);
            let mut stop = b.min(bg.map_or(u64::MAX, |g| g.end));
            for g in &claims.backgrounds {
                if g.first > pos && g.first < stop {
                    stop = g.first;
                }
            }
            let label = bg.map(|g| g.label.as_str());
            if label.is_some_and(|l| l.starts_with("Session ")) {
                push_item(
                    items,
                    plain(pos, stop, ItemKind::BaseImage, label.unwrap_or_default()),
                );
            } else {
                self.read_unclaimed(pos, stop, label, read_left, items, claims.unit);
            }
            pos = stop;
        }
        Ok(())
    }

    /// Reads blocks `[a, b)` and describes runs of zero blocks as padding and others as
    /// unused data, within `label` (a partition) if any.
    fn read_unclaimed(
        &mut self,
        a: u64,
        b: u64,
        label: Option<&str>,
        read_left: &mut u64,
        items: &mut Vec<MapItem>,
        unit: u64,
    ) {
        let zero_desc = match label {
            Some(l) => format!("Padding (free space of {l})"),
            None => "Padding".to_string(),
        };
        let data_desc = match label {
            Some(l) => format!("Unused (not zero, free space of {l})"),
            None => "Unused (not zero, referenced by nothing)".to_string(),
        };
        const CHUNK: u64 = 64;
        // unit is at most 4096.
        let mut buf = vec![0u8; (CHUNK * unit) as usize];
        let mut pos = a;
        while pos < b {
            let n = (b - pos).min(CHUNK);
            let bytes = (n * unit).min(self.image_len.saturating_sub(pos * unit));
            if bytes > *read_left {
                push_item(
                    items,
                    plain(pos, b, ItemKind::Unused, "Unused (not examined)"),
                );
                return;
            }
            *read_left -= bytes;
            let chunk = buf.get_mut(..bytes as usize).unwrap_or_default();
            if read_at(&mut self.inner, pos * unit, chunk, pos).is_err() {
                push_item(
                    items,
                    plain(pos, pos + n, ItemKind::Unused, "Unreadable (read error)"),
                );
                pos += n;
                continue;
            }
            for k in 0..n {
                let lo = (k * unit) as usize;
                let hi = ((k + 1) * unit).min(bytes) as usize;
                let zero = chunk.get(lo..hi).is_none_or(|s| s.iter().all(|&x| x == 0));
                // A block that still holds a UDF descriptor (with a valid tag checksum and
                // CRC) says which, though nothing refers to it.
                let tagged = if zero {
                    None
                } else {
                    chunk
                        .get(lo..hi)
                        .and_then(crate::read::udf_view::tag_name)
                        .map(|t| format!("Unused (a UDF {t} that nothing refers to)"))
                };
                let (kind, desc) = if zero {
                    (ItemKind::Padding, zero_desc.as_str())
                } else {
                    (ItemKind::Unused, tagged.as_deref().unwrap_or(&data_desc))
                };
                push_item(items, plain(pos + k, pos + k + 1, kind, desc));
            }
            pos += n;
        }
    }
}
