//! The claims of each structure: the system area and partition tables (MBR, GPT), volume
//! descriptors, path tables, the directories and files of every view, Rock Ridge continuation
//! areas, El Torito, and older sessions.

use crate::BLOCK_SIZE_U64;
use std::collections::HashMap;
use std::io::{Read, Seek};

use super::claims::runs;
use super::{Claims, Rank};
use crate::error::{ParseError, ParseErrorKind};
use crate::format::eltorito::catalog::{Emulation, Platform};
use crate::format::iso9660::descriptor::{decode_volume_descriptor, VolumeDescriptorType};
use crate::format::iso9660::dirrec;
use crate::progress::ItemKind;
use crate::read::{read_at, rockridge, Extent, ImageReader, View};

/// The label of a view in descriptions, as the layout writes it.
fn label(view: View) -> &'static str {
    match view {
        View::Iso9660 | View::RockRidge => "ISO 9660",
        View::Joliet => "Joliet",
        View::Iso1999 => "ISO 9660:1999",
        View::Udf => "UDF",
    }
}

fn platform_name(p: Platform) -> &'static str {
    match p {
        Platform::X86 => "x86 BIOS",
        Platform::PowerPc => "PowerPC",
        Platform::Mac => "Mac",
        Platform::Efi => "UEFI",
    }
}

fn emulation_name(e: Emulation) -> &'static str {
    match e {
        Emulation::NoEmulation => "no emulation",
        Emulation::Floppy12 => "1.2 MB floppy",
        Emulation::Floppy144 => "1.44 MB floppy",
        Emulation::Floppy288 => "2.88 MB floppy",
        Emulation::HardDisk => "hard disk",
    }
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// Sectors of 512 bytes per block.
const PER_BLOCK: u64 = BLOCK_SIZE_U64 / 512;

impl<R: Read + Seek> ImageReader<R> {
    /// The system area (ECMA-119 6.2.1) with the partition tables it may hold: an MBR, or a
    /// protective MBR and a GPT (UEFI 5.3) whose backup is claimed where its header says.
    pub(super) fn system_area_claims(
        &mut self,
        claims: &mut Claims,
        total: u64,
    ) -> Result<(), ParseError> {
        let mut what = Vec::new();
        let mut sector0 = vec![0u8; 1024];
        if self.image_len >= 1024 && read_at(&mut self.inner, 0, &mut sector0, 0).is_ok() {
            if sector0.get(510..512) == Some(&[0x55, 0xAA][..]) {
                let mut n = 0;
                for i in 0..4 {
                    let e = 446 + 16 * i;
                    let kind = sector0.get(e + 4).copied().unwrap_or(0);
                    let start = u64::from(le_u32(&sector0, e + 8));
                    let count = u64::from(le_u32(&sector0, e + 12));
                    if kind == 0 || count == 0 {
                        continue;
                    }
                    n += 1;
                    if kind != 0xEE && start > 0 && start % PER_BLOCK == 0 {
                        claims.background(
                            start / PER_BLOCK,
                            count.div_ceil(PER_BLOCK),
                            format!("MBR partition {} (type 0x{kind:02x})", i + 1),
                        );
                    }
                }
                what.push(format!(
                    "MBR, {n} partition{}",
                    if n == 1 { "" } else { "s" }
                ));
            }
            if sector0.get(512..520) == Some(&b"EFI PART"[..]) {
                let n = self.gpt_claims(claims, &sector0, total)?;
                what.push(format!(
                    "GPT, {n} partition{}",
                    if n == 1 { "" } else { "s" }
                ));
            }
            if sector0.get(..2) == Some(&b"ER"[..]) {
                if let Some(n) = self.apm_claims(claims) {
                    what.push(format!(
                        "Apple Partition Map, {n} partition{}",
                        if n == 1 { "" } else { "s" }
                    ));
                }
            }
        }
        let desc = if what.is_empty() {
            "System area".to_string()
        } else {
            format!("System area ({})", what.join("; "))
        };
        claims.add(0, 16, ItemKind::SystemArea, Rank::System, desc)?;
        Ok(())
    }

    /// The Apple Partition Map's partitions (labels; Inside Macintosh: Devices, "Partition Map
    /// Entry"), the map's own entry left out; returns their count, or `None` when block 0's
    /// "ER" does not start a map.
    fn apm_claims(&mut self, claims: &mut Claims) -> Option<usize> {
        use crate::format::eltorito::apm;
        let len = (apm::SYSTEM_AREA_BYTES as u64).min(self.image_len) as usize;
        let mut area = vec![0u8; len];
        read_at(&mut self.inner, 0, &mut area, 0).ok()?;
        let map = apm::decode(&area).ok()?;
        let per_block = 2048 / u64::from(map.block_size).clamp(512, 2048);
        let mut n = 0;
        for (i, e) in map.entries.iter().enumerate().skip(1) {
            n += 1;
            let (first, count) = (u64::from(e.start), u64::from(e.blocks));
            if count > 0 && first % per_block == 0 {
                claims.background(
                    first / per_block,
                    count.div_ceil(per_block),
                    format!("APM partition {} ({}, {})", i, e.name, e.type_name),
                );
            }
        }
        Some(n)
    }

    /// The GPT's partitions (labels) and its backup (a claim); returns the partition count.
    fn gpt_claims(
        &mut self,
        claims: &mut Claims,
        head: &[u8],
        total: u64,
    ) -> Result<usize, ParseError> {
        // UEFI 5.3.2: alternate LBA at 32, partition entry LBA at 72, entry count at 80 and
        // entry size at 84 of the header (in 512-byte sectors).
        let h = head.get(512..).unwrap_or_default();
        let alt = le_u64(h, 32);
        let entries_at = le_u64(h, 72);
        let count = u64::from(le_u32(h, 80));
        let size = u64::from(le_u32(h, 84));
        let mut found = 0;
        if (128..=4096).contains(&size) && count > 0 && count * size <= 1 << 20 {
            let bytes = count * size;
            let at = entries_at.saturating_mul(512);
            if at.saturating_add(bytes) <= self.image_len {
                let mut buf = vec![0u8; bytes as usize];
                read_at(&mut self.inner, at, &mut buf, at / BLOCK_SIZE_U64)?;
                for (i, e) in buf.chunks_exact(size as usize).enumerate() {
                    if e.get(..16).is_some_and(|t| t.iter().all(|&b| b == 0)) {
                        continue;
                    }
                    found += 1;
                    let first = le_u64(e, 32);
                    let last = le_u64(e, 40);
                    let name: String = char::decode_utf16(
                        e.get(56..128)
                            .unwrap_or_default()
                            .chunks_exact(2)
                            .map(|c| u16::from_le_bytes([c[0], c[1]]))
                            .take_while(|&u| u != 0),
                    )
                    .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                    .collect();
                    if first > 0 && last >= first && first % PER_BLOCK == 0 {
                        let label = if name.is_empty() {
                            format!("GPT partition {}", i + 1)
                        } else {
                            format!("GPT partition {} ({name})", i + 1)
                        };
                        claims.background(
                            first / PER_BLOCK,
                            (last + 1 - first).div_ceil(PER_BLOCK),
                            label,
                        );
                    }
                }
            }
        }
        // The backup header is the last sector of the disk; its entries precede it.
        let alt_block = alt / PER_BLOCK;
        if alt > 1 && alt_block < total {
            let mut backup = vec![0u8; 512];
            let at = alt * 512;
            // The entries array is at most 1 MiB (2,048 sectors) before the header; a backup
            // header that says otherwise is not believed.
            let computed = alt.saturating_sub((count * size).min(1 << 20).div_ceil(512));
            let entries = if at + 512 <= self.image_len
                && read_at(&mut self.inner, at, &mut backup, alt_block).is_ok()
                && backup.get(..8) == Some(&b"EFI PART"[..])
            {
                Some(le_u64(&backup, 72)).filter(|&e| e < alt && alt - e <= 2048)
            } else {
                None
            }
            .unwrap_or(computed);
            let first = entries.min(alt) / PER_BLOCK;
            claims.add(
                first,
                alt_block - first + 1,
                ItemKind::SystemArea,
                Rank::System,
                "Backup GPT".into(),
            )?;
        } else if alt > 1 {
            claims.note(format!(
                "the GPT's backup header (sector {alt} of 512 bytes) lies beyond the image"
            ));
        }
        Ok(found)
    }

    /// The volume descriptor set (ECMA-119 6.7.1), the UDF volume recognition sequence
    /// (ECMA-167 2/8.3) and the path tables of every descriptor (ECMA-119 8.4.13-17).
    pub(super) fn descriptor_claims(&mut self, claims: &mut Claims) -> Result<(), ParseError> {
        let mut next = crate::read::volume::FIRST_VD_LBA;
        if self.has_iso {
            claims.add(
                next,
                self.vds_end.saturating_sub(next),
                ItemKind::VolumeDescriptors,
                Rank::Descriptor,
                "Volume descriptors".into(),
            )?;
            let mut sector = vec![0u8; BLOCK_SIZE_U64 as usize];
            for lba in next..self.vds_end {
                read_at(&mut self.inner, lba * BLOCK_SIZE_U64, &mut sector, lba)?;
                let Ok(vd) = decode_volume_descriptor(&sector) else {
                    continue;
                };
                let view = match (vd.descriptor_type, vd.version) {
                    (VolumeDescriptorType::Primary, _) => "ISO 9660",
                    (VolumeDescriptorType::Supplementary, 2) => "ISO 9660:1999",
                    (VolumeDescriptorType::Supplementary, _) if vd.joliet_level().is_some() => {
                        "Joliet"
                    }
                    (VolumeDescriptorType::Supplementary, _) => "supplementary",
                    _ => continue,
                };
                let blocks = u64::from(vd.path_table_size.0).div_ceil(BLOCK_SIZE_U64);
                for (at, which) in [
                    (vd.path_table_l, "Path table L"),
                    (vd.path_table_m, "Path table M"),
                    (vd.opt_path_table_l, "Optional path table L"),
                    (vd.opt_path_table_m, "Optional path table M"),
                ] {
                    if at != 0 && u64::from(at) >= self.vds_end {
                        claims.add(
                            u64::from(at),
                            blocks,
                            ItemKind::PathTable,
                            Rank::PathTable,
                            format!("{which} ({view})"),
                        )?;
                    }
                }
            }
            next = self.vds_end;
        }
        // ECMA-167 2/8.3: BEA01, NSR02/NSR03, TEA01 (and BOOT2, CDW02) follow the ISO 9660 set,
        // one a sector: 2048 bytes, or the block size of a UDF volume of larger blocks
        // (2/8.3.1).
        let step = self
            .udf
            .as_ref()
            .map_or(1, |u| (u.bs / BLOCK_SIZE_U64).max(1));
        let mut sector = vec![0u8; BLOCK_SIZE_U64 as usize];
        let first = next;
        let mut seen_bea = false;
        let max = (self.limits.max_volume_descriptors as u64 + 4) * step;
        while next < first + max && (next + step) * BLOCK_SIZE_U64 <= self.image_len {
            if read_at(&mut self.inner, next * BLOCK_SIZE_U64, &mut sector, next).is_err() {
                break;
            }
            match sector.get(1..6).unwrap_or_default() {
                b"BEA01" => seen_bea = true,
                b"NSR02" | b"NSR03" | b"TEA01" | b"BOOT2" | b"CDW02" if seen_bea => {}
                _ => break,
            }
            next += step;
        }
        if seen_bea {
            claims.add(
                first,
                next - first,
                ItemKind::VolumeDescriptors,
                Rank::Descriptor,
                "UDF volume recognition sequence".into(),
            )?;
        }
        Ok(())
    }

    /// Directories, continuation areas, file data and UDF file entries, view by view.
    pub(super) fn view_claims(&mut self, claims: &mut Claims) -> Result<(), ParseError> {
        let views = self.views();
        // Directories of the primary hierarchy are named by their Rock Ridge paths when the
        // image has them (the names the layout gives them), by extent.
        let mut rr_dirs: HashMap<u32, String> = HashMap::new();
        let default = self.default_view();
        let mut order = vec![default];
        order.extend(views.iter().copied().filter(|v| *v != default));
        // The Rock Ridge walk before the ISO 9660 one, for the directory names.
        order.sort_by_key(|v| match v {
            _ if *v == default => 0,
            View::RockRidge => 1,
            _ => 2,
        });
        let shared_1999 = self
            .iso1999_root
            .as_ref()
            .is_some_and(|r| r.extents.first() == self.iso_root.extents.first());
        for view in order {
            if view == View::Iso1999 && shared_1999 {
                continue; // the primary's records: claimed once, with ISO 9660 names
            }
            let view_unit = match (view, self.udf.as_ref()) {
                (View::Udf, Some(u)) => u.bs,
                _ => BLOCK_SIZE_U64,
            };
            claims.source_unit(view_unit);
            let Some(walk) = self.map_walk(view, claims)? else {
                continue;
            };
            let root = self.root(view)?;
            let mut iso_dirs: Vec<(String, Vec<Extent>)> = Vec::new();
            // ISO 9660 path of a directory -> the name the map gives it.
            let mut iso_names: HashMap<String, String> = HashMap::new();
            let entries = std::iter::once(("/".to_string(), root)).chain(walk);
            for (path, e) in entries {
                if let (View::Udf, Some(u)) = (view, e.udf.as_deref()) {
                    // Hard links share one file entry: one claim, every name.
                    let at = u64::from(u.icb_sector());
                    let i = match claims.by_range.get(&claims.conv(at, 1)) {
                        Some(&i) if claims.list.get(i).is_some_and(|c| !c.names.is_empty()) => {
                            Some(i)
                        }
                        _ => claims.add(
                            at,
                            1,
                            ItemKind::FileEntries,
                            Rank::Entry,
                            format!("UDF file entry of {path}"),
                        )?,
                    };
                    claims.name(i, View::Udf, &path)?;
                    if u.may_have_aeds() {
                        let u = u.clone();
                        for at in self.udf_aed_sectors(&u).unwrap_or_default() {
                            claims.add(
                                at,
                                1,
                                ItemKind::FileEntries,
                                Rank::Entry,
                                format!("UDF allocation extent descriptor of {path}"),
                            )?;
                        }
                    }
                }
                if !e.is_dir {
                    claims.file(view, &path, &e)?;
                    continue;
                }
                let lba = e.extents.iter().find(|x| x.len != 0).map(|x| x.lba);
                if view == View::RockRidge {
                    if let Some(lba) = lba {
                        claims.charge(path.len() as u64 + 32)?;
                        rr_dirs.insert(lba, path);
                    }
                    continue;
                }
                let name = match (view, lba.and_then(|l| rr_dirs.get(&l))) {
                    (View::Iso9660, Some(rr)) => rr.clone(),
                    // A directory the Rock Ridge view hides (the relocation directory): its
                    // parent's name and its own Rock Ridge name.
                    (View::Iso9660, None) if self.rr.is_some() => {
                        let (parent, own) = path.rsplit_once('/').unwrap_or(("", &path));
                        let parent = iso_names.get(parent).map_or(parent, String::as_str);
                        let own = e.rr_name.as_deref().map_or_else(
                            || own.to_string(),
                            |n| String::from_utf8_lossy(n).into_owned(),
                        );
                        format!("{}/{own}", parent.trim_end_matches('/'))
                    }
                    _ => path.clone(),
                };
                if view == View::Iso9660 && self.rr.is_some() {
                    claims.charge((path.len() + name.len()) as u64 + 48)?;
                    iso_names.insert(path, name.clone());
                }
                for (first, count) in runs(&e.extents, view_unit) {
                    claims.add(
                        first,
                        count,
                        ItemKind::Directory,
                        Rank::Directory,
                        format!("Directory {name} ({})", label(view)),
                    )?;
                }
                if view == View::Iso9660 && self.rr.is_some() {
                    claims.charge(name.len() as u64 + 64)?;
                    iso_dirs.push((name, e.extents));
                }
            }
            if view == View::Iso9660 {
                rr_dirs = HashMap::new();
                for (i, (name, extents)) in iso_dirs.iter().enumerate() {
                    if let Err(e) = self.continuation_claims(claims, name, extents, i == 0) {
                        if self.limits.is_strict()
                            || matches!(e.kind, ParseErrorKind::LimitExceeded(..))
                        {
                            return Err(e);
                        }
                        claims.note(format!(
                            "the Rock Ridge continuation areas of {name} could not be read: {e}"
                        ));
                    }
                }
            }
        }
        claims.source_unit(BLOCK_SIZE_U64);
        Ok(())
    }

    /// The Rock Ridge continuation areas (SUSP 5.1) named by the records of the ISO 9660
    /// directory `name` (its "." and ".." records included), one claim per block.
    fn continuation_claims(
        &mut self,
        claims: &mut Claims,
        name: &str,
        extents: &[Extent],
        is_root: bool,
    ) -> Result<(), ParseError> {
        let len_skp = self.rr.as_ref().map_or(0, |s| s.len_skp);
        let total: u64 = extents.iter().map(|e| u64::from(e.len)).sum();
        if total > self.limits.max_dir_bytes {
            return Err(ParseError::at(
                ParseErrorKind::LimitExceeded("directory bytes", self.limits.max_dir_bytes),
                extents.first().map_or(0, |e| u64::from(e.lba)),
            ));
        }
        let desc = format!("Rock Ridge continuation areas of {name}");
        let mut first_record = true;
        for ext in extents.iter().filter(|e| e.len != 0) {
            self.check_dir_extent(ext)?;
            // Bounded by max_dir_bytes (checked above).
            let mut buf = vec![0u8; ext.len as usize];
            read_at(
                &mut self.inner,
                ext.byte_offset(),
                &mut buf,
                u64::from(ext.lba),
            )?;
            let mut pos = 0usize;
            while let Some(&len) = buf.get(pos) {
                let len = usize::from(len);
                let at = rockridge::RecordAt {
                    lba: u64::from(ext.lba) + (pos as u64) / BLOCK_SIZE_U64,
                    offset: pos % BLOCK_SIZE_U64 as usize,
                };
                if len == 0 {
                    // ECMA-119 6.8.1.1: the next record starts the next sector.
                    pos = (pos / BLOCK_SIZE_U64 as usize + 1) * BLOCK_SIZE_U64 as usize;
                    continue;
                }
                let Some(rec) = buf.get(pos..pos + len) else {
                    break;
                };
                let Ok(raw) = dirrec::decode(rec, true) else {
                    break;
                };
                // SUSP 5.3: the root's "." record starts with SP itself; LEN_SKP applies to
                // every other record.
                let skip = if is_root && first_record { 0 } else { len_skp };
                first_record = false;
                let mut info = rockridge::SuInfo::default();
                let decoded = rockridge::decode_system_use(
                    &mut self.inner,
                    self.image_len,
                    &self.limits,
                    raw.system_use,
                    skip,
                    at,
                    &mut info,
                );
                claims.charge(info.ce_bytes)?;
                for &(block, offset, len) in &info.ce_areas {
                    let first = u64::from(block) + u64::from(offset) / BLOCK_SIZE_U64;
                    let end =
                        (u64::from(block) * BLOCK_SIZE_U64 + u64::from(offset) + u64::from(len))
                            .div_ceil(BLOCK_SIZE_U64);
                    for b in first..end.max(first + 1) {
                        claims.add(
                            b,
                            1,
                            ItemKind::ContinuationAreas,
                            Rank::Continuation,
                            desc.clone(),
                        )?;
                    }
                }
                if let Err(e) = decoded {
                    if matches!(e.kind, ParseErrorKind::LimitExceeded(..)) {
                        return Err(e);
                    }
                    claims.note(format!(
                        "a Rock Ridge entry of {name} (sector {}) could not be read: {e}",
                        at.lba
                    ));
                }
                pos += len;
            }
        }
        Ok(())
    }

    /// The El Torito boot catalog and boot images (El Torito 2.0).
    pub(super) fn boot_claims(&mut self, claims: &mut Claims) -> Result<(), ParseError> {
        if !self.has_iso {
            return Ok(());
        }
        let catalog = match self.boot_catalog() {
            Ok(c) => c,
            Err(e) => {
                claims.note(format!("the El Torito boot catalog could not be read: {e}"));
                return Ok(());
            }
        };
        let Some((cat, entries)) = catalog else {
            return Ok(());
        };
        claims.add(
            u64::from(cat),
            1,
            ItemKind::BootCatalog,
            Rank::Boot,
            "El Torito boot catalog".into(),
        )?;
        // The file that starts at a load block gives a no-emulation image its length.
        let mut file_at: HashMap<u64, u64> = HashMap::new();
        for c in claims.list.iter().filter(|c| c.kind == ItemKind::FileData) {
            file_at.entry(c.first).or_insert(c.count);
        }
        for (i, entry) in entries.iter().enumerate() {
            let at = u64::from(entry.load_rba);
            let file_len = file_at.get(&at).map(|b| b * BLOCK_SIZE_U64);
            let desc = format!(
                "El Torito boot image {} ({}, {})",
                i + 1,
                platform_name(entry.platform),
                emulation_name(entry.emulation)
            );
            match self.boot_image_len(entry, file_len) {
                Ok(len) => {
                    claims.add(
                        at,
                        len.div_ceil(BLOCK_SIZE_U64).max(1),
                        ItemKind::BootImage,
                        Rank::Boot,
                        desc,
                    )?;
                }
                Err(e) => claims.note(format!("{desc} could not be placed: {e}")),
            }
        }
        Ok(())
    }

    /// Blocks of the older sessions of a multisession image, and the newest session's own
    /// head (the saved copy of blocks 16-31 and its volume descriptors).
    pub(super) fn session_claims(&mut self, claims: &mut Claims) {
        if !self.has_iso {
            return;
        }
        let Ok(list) = crate::read::session::sessions(&mut self.inner) else {
            return;
        };
        let Some(newest) = list.last() else { return };
        if list.len() < 2 {
            return;
        }
        let start = newest.start_block;
        let vds = self.vds_end.saturating_sub(16);
        if start > 0 {
            let _ = claims.add(
                start,
                16,
                ItemKind::SystemArea,
                Rank::System,
                format!("Session {} system area", newest.index),
            );
            let _ = claims.add(
                start + 16,
                vds,
                ItemKind::VolumeDescriptors,
                Rank::Descriptor,
                format!("Volume descriptors of session {}", newest.index),
            );
        }
        for s in &list[..list.len() - 1] {
            claims.background(
                s.start_block,
                s.end_block.saturating_sub(s.start_block),
                format!("Session {} (older, not used by the newest)", s.index),
            );
        }
    }
}
