//! Directories: the file identifier descriptors (ECMA-167 4/14.4) of a directory, read into
//! [`DirEntry`]s.

use std::collections::HashMap;
use std::io::{Read, Seek};

use super::entries::{check_kind, entry_weight, udf_entry_cost};
use super::{bad, is_damage, limit, Cx, UdfState};
use crate::error::{ParseError, ParseErrorKind};
use crate::format::udf::cs0::decode_cs0;
use crate::format::udf::fields::u16_at;
use crate::format::udf::file::{Fid, FID_DELETED, FID_DIRECTORY, FID_HIDDEN, FID_PARENT};
use crate::format::udf::round4;
use crate::read::{read_at, DirEntry, Extent};
use crate::warning::WarningKind;

impl UdfState {
    /// The entries of UDF directory `dir`.
    pub(super) fn read_dir<R: Read + Seek>(
        &self,
        cx: &mut Cx<'_, R>,
        dir: &DirEntry,
    ) -> Result<Vec<DirEntry>, ParseError> {
        let Some(u) = dir.udf.as_ref() else {
            return Err(ParseError::new(ParseErrorKind::BadField(
                "directory entry of the UDF view without its file entry",
            )));
        };
        let fe_lba = u64::from(u.sector);
        if !dir.is_dir {
            return Err(ParseError::at(
                ParseErrorKind::NotADirectory(dir.name.clone()),
                fe_lba,
            ));
        }
        let limits = *cx.limits;
        if dir.size > limits.max_dir_bytes {
            return Err(limit(
                "directory bytes",
                limits.max_dir_bytes as usize,
                fe_lba,
            ));
        }
        // dir.size <= max_dir_bytes, checked above. Its extents may all name the same blocks,
        // so the buffer is charged whatever the image's size.
        let size = dir.size as usize;
        cx.charge(dir.size, fe_lba)?;
        // The directory's data; for each allocation descriptor (offset in the data, partition
        // block of its first byte); for each run of sectors (offset in the data, the run).
        let mut data = Vec::new();
        let mut parts: Vec<(usize, u32)> = Vec::new();
        let mut runs: Vec<(usize, Extent)> = Vec::new();
        if let Some(d) = &u.embedded {
            let d = d.get(..size).ok_or_else(|| {
                bad(
                    fe_lba,
                    format!(
                        "{}: directory of {size} bytes, {} embedded",
                        dir.name,
                        d.len()
                    ),
                )
            })?;
            data.extend_from_slice(d);
        } else {
            if u.ads.len() > limits.max_extents_per_file {
                return Err(limit(
                    "extents per file",
                    limits.max_extents_per_file,
                    fe_lba,
                ));
            }
            // Map and check everything before allocating.
            let mut plan = Vec::new();
            let mut total = 0usize;
            for ad in &u.ads {
                if total >= size {
                    break;
                }
                if !ad.recorded {
                    return Err(bad(
                        fe_lba,
                        format!("{}: directory with an unrecorded extent", dir.name),
                    ));
                }
                let n = (ad.len as usize).min(size - total);
                let runs = self.map_run(ad.part, ad.block, n as u32, fe_lba)?;
                let mut off = total;
                for run in runs {
                    cx.check_in_image(u64::from(run.lba), u64::from(run.len))?;
                    plan.push((off, run));
                    off += run.len as usize;
                }
                if limits.is_strict() {
                    self.check_partition(ad.part, ad.block, n as u32)?;
                }
                parts.push((total, ad.block));
                total += n;
                if plan.len() > limits.max_extents_per_file {
                    return Err(limit(
                        "extents per file",
                        limits.max_extents_per_file,
                        fe_lba,
                    ));
                }
            }
            if total < size {
                return Err(bad(
                    fe_lba,
                    format!(
                        "{}: directory of {size} bytes has {total} bytes of extents",
                        dir.name
                    ),
                ));
            }
            data.resize(size, 0);
            for (off, run) in &plan {
                let dst = data
                    .get_mut(*off..*off + run.len as usize)
                    .unwrap_or_default();
                read_at(cx.r, u64::from(run.lba) * cx.bs, dst, u64::from(run.lba))?;
            }
            runs = plan;
        }
        // For the FID at byte `off` of the data: its expected tag location (the partition block
        // holding its first byte; for FIDs embedded in the file entry, the entry's block), and
        // for errors, the sector and the offset in it.
        let bs = cx.bs as usize;
        let locate = |off: usize| -> (u32, u64, usize) {
            if u.embedded.is_some() {
                return (u.block, u64::from(u.sector), off);
            }
            let location = parts
                .iter()
                .rev()
                .find(|p| p.0 <= off)
                .map_or(u.block, |p| p.1.wrapping_add(((off - p.0) / bs) as u32));
            let (lba, in_sector) = runs.iter().rev().find(|r| r.0 <= off).map_or(
                (u64::from(u.sector), off),
                |(o, run)| {
                    let within = off - o;
                    (u64::from(run.lba) + (within / bs) as u64, within % bs)
                },
            );
            (location, lba, in_sector)
        };

        let mut out: Vec<DirEntry> = Vec::new();
        // File entries already decoded, by ICB: hard links (and hostile directories naming one
        // entry thousands of times) decode it, its allocation extents and link target once.
        let mut by_icb: HashMap<(u16, u32), usize> = HashMap::new();
        let mut weight = 0usize;
        let mut off = 0usize;
        while off < data.len() {
            let (location, lba, in_sector) = locate(off);
            let at = |e: ParseError| ParseError {
                offset: Some(in_sector),
                ..e
            };
            let rest = data.get(off..).unwrap_or_default();
            let l_fi = usize::from(rest.get(19).copied().unwrap_or(0));
            let l_iu = usize::from(u16_at(rest, 36).unwrap_or(0));
            let len = round4(38 + l_iu + l_fi);
            let Some(bytes) = rest.get(..len) else {
                return Err(at(bad(
                    lba,
                    format!(
                        "{}: file identifier descriptor of {len} bytes at offset {off} overruns the directory's {} bytes",
                        dir.name,
                        data.len()
                    ),
                )));
            };
            let fid = cx
                .decode(
                    bytes,
                    location,
                    lba,
                    "file identifier descriptor",
                    |b, l| Fid::decode(b, l).map(|d| d.value),
                )
                .map_err(at)?;
            off += len;
            if fid.characteristics & (FID_PARENT | FID_DELETED) != 0 {
                continue;
            }
            if out.len() >= limits.max_entries_per_dir {
                return Err(limit(
                    "entries per directory",
                    limits.max_entries_per_dir,
                    lba,
                ));
            }
            let name = match decode_cs0(&fid.name) {
                Some(n) if !n.is_empty() => n,
                _ => {
                    return Err(at(bad(
                        lba,
                        format!("{}: file identifier is empty or not CS0", dir.name),
                    )))
                }
            };
            let icb = fid.icb.location;
            let key = (icb.partition, icb.block);
            let seen = by_icb.get(&key).and_then(|&i| out.get(i));
            let child = match seen {
                Some(first) => {
                    let mut c = first.clone();
                    let is_dir = fid.characteristics & FID_DIRECTORY != 0;
                    let file_type = c.udf.as_ref().map_or(0, |u| u.file_type);
                    let sector = c.udf.as_ref().map_or(lba, |u| u64::from(u.sector));
                    check_kind(cx, &name, is_dir, file_type, sector)?;
                    c.name = name;
                    c.identifier = fid.name;
                    c.is_dir = is_dir;
                    c.hidden = fid.characteristics & FID_HIDDEN != 0;
                    c
                }
                None => {
                    let path = match u.dir_path.as_str() {
                        "" | "/" => format!("/{name}"),
                        parent => format!("{parent}/{name}"),
                    };
                    // Kept for a second try in the metadata mirror file (lenient mode).
                    let spare = (!limits.is_strict() && self.has_mirror())
                        .then(|| (name.clone(), fid.name.clone()));
                    let c = match self.entry(
                        cx,
                        name,
                        fid.name,
                        fid.characteristics,
                        icb.partition,
                        icb.block,
                        &path,
                    ) {
                        Ok(c) => c,
                        // Lenient: a damaged file entry is read from the metadata mirror
                        // file's own copy if there is one, else left out; the directory lists.
                        Err(e) if !limits.is_strict() && is_damage(&e) => {
                            let fe_at = self.sector_of(icb.partition, icb.block).ok();
                            let copy = self.mirrored().zip(spare).and_then(|(m, (n, id))| {
                                let c = m
                                    .entry(
                                        cx,
                                        n,
                                        id,
                                        fid.characteristics,
                                        icb.partition,
                                        icb.block,
                                        &path,
                                    )
                                    .ok()?;
                                Some((c, m.sector_of(icb.partition, icb.block).ok()?))
                            });
                            if let Some((c, at)) = copy {
                                cx.warn_at(
                                    WarningKind::DamageRecovered,
                                    &path,
                                    format!(
                                        "{path}: damaged file entry at sector {} ({}); using its copy in the metadata mirror file, at sector {at}",
                                        fe_at.unwrap_or(0),
                                        e.kind
                                    ),
                                );
                                by_icb.insert(key, out.len());
                                cx.charge(udf_entry_cost(&c), lba)?;
                                weight = weight.saturating_add(entry_weight(&c));
                                out.push(c);
                                continue;
                            }
                            // The file entry's sector, and the error (naming where it
                            // found the damage, if elsewhere).
                            let at = fe_at.or(e.lba).map_or_else(
                                || format!("partition {} block {}", icb.partition, icb.block),
                                |l| format!("sector {l}"),
                            );
                            let why = if e.lba.is_some() && e.lba != fe_at {
                                e.to_string()
                            } else {
                                e.kind.to_string()
                            };
                            let msg =
                                format!("{path}: damaged file entry at {at} left out ({why})");
                            cx.left_out.push(msg.clone());
                            cx.warn_at(WarningKind::DamageLeftOut, &path, msg);
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                    by_icb.insert(key, out.len());
                    c
                }
            };
            cx.charge(udf_entry_cost(&child), lba)?;
            // Many FIDs may name one file entry (hard links), each copying its extents: every
            // extent (or hole) beyond a child's first counts as one more entry.
            weight = weight.saturating_add(entry_weight(&child));
            if weight > limits.max_entries_per_dir {
                return Err(limit(
                    "entries per directory",
                    limits.max_entries_per_dir,
                    lba,
                ));
            }
            out.push(child);
        }
        Ok(out)
    }
}
