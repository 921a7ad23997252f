//! El Torito in the reader: the boot record volume descriptor, the boot catalog's entries, and
//! the boot images themselves.

use crate::BLOCK_SIZE_U64;
use std::io::{Read, Seek};

use super::{read_at, ImageReader, View};
use crate::error::{ParseError, ParseErrorKind};
use crate::format::eltorito::catalog::{self, BootEntry, Emulation};
use crate::format::iso9660::descriptor::{set_member, VolumeDescriptorType};

/// One boot entry of an image, with where its image lies.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BootImageInfo {
    /// The catalog entry (platform, emulation, load segment, sector count, load block).
    pub entry: BootEntry,
    /// Length of the boot image in bytes: the file at the load block for no emulation (or the
    /// sector count when no file starts there), the floppy size, or the MBR partition's end for
    /// hard-disk emulation.
    pub len: u64,
    /// The image path of the file that starts at the load block, if any.
    pub path: Option<String>,
}

fn bad(what: impl std::fmt::Display, lba: u64) -> ParseError {
    ParseError {
        kind: ParseErrorKind::BadDescriptor(format!("El Torito: {what}")),
        lba: Some(lba),
        offset: None,
    }
}

impl<R: Read + Seek> ImageReader<R> {
    /// The El Torito catalog's block and entries, or `None` when the image has no boot record
    /// (El Torito 2.0: a type-0 volume descriptor with "EL TORITO SPECIFICATION").
    pub fn boot_catalog(&mut self) -> Result<Option<(u32, Vec<BootEntry>)>, ParseError> {
        let max = self.limits().max_volume_descriptors as u64;
        let mut sector = [0u8; crate::BLOCK_SIZE];
        for lba in 16..16 + max {
            if (lba + 1) * BLOCK_SIZE_U64 > self.image_len() {
                break;
            }
            read_at(&mut self.inner, lba * BLOCK_SIZE_U64, &mut sector, lba)?;
            match set_member(&sector) {
                None => break,
                Some(VolumeDescriptorType::BootRecord) => {}
                Some(_) => continue,
            }
            let Ok(cat_lba) = catalog::decode_boot_record(&sector) else {
                continue;
            };
            if (cat_lba as u64 + 1) * BLOCK_SIZE_U64 > self.image_len() {
                return Err(ParseError {
                    kind: ParseErrorKind::ExtentOutOfImage,
                    lba: Some(cat_lba as u64),
                    offset: None,
                });
            }
            let mut cat = [0u8; crate::BLOCK_SIZE];
            read_at(
                &mut self.inner,
                cat_lba as u64 * BLOCK_SIZE_U64,
                &mut cat,
                cat_lba as u64,
            )?;
            let entries = catalog::decode_catalog(&cat).map_err(|e| bad(e, cat_lba as u64))?;
            return Ok(Some((cat_lba, entries)));
        }
        Ok(None)
    }

    /// Every boot entry with its image's length (see [`BootImageInfo`]).
    pub fn boot_images(&mut self) -> Result<Vec<BootImageInfo>, ParseError> {
        let Some((_, entries)) = self.boot_catalog()? else {
            return Ok(Vec::new());
        };
        // Files of the ISO 9660 tree by first block, to name the boot files.
        let mut by_lba = std::collections::HashMap::new();
        if self.views().contains(&View::Iso9660) {
            for (path, e) in self.walk(View::Iso9660)? {
                if let Some(x) = e.extents.first() {
                    if !e.is_dir && e.size > 0 {
                        by_lba.entry(x.lba).or_insert((path, e.size));
                    }
                }
            }
        }
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            let file = by_lba.get(&entry.load_rba).cloned();
            let len = self.boot_image_len(&entry, file.as_ref().map(|f| f.1))?;
            out.push(BootImageInfo {
                entry,
                len,
                path: file.map(|f| f.0),
            });
        }
        Ok(out)
    }

    /// The length in bytes of the boot image of `entry` (see [`BootImageInfo::len`]), given
    /// the size of the file that starts at its load block, if any; an error if it reaches
    /// beyond the image.
    pub(crate) fn boot_image_len(
        &mut self,
        entry: &BootEntry,
        file_len: Option<u64>,
    ) -> Result<u64, ParseError> {
        let len = match entry.emulation {
            Emulation::NoEmulation => file_len.unwrap_or(entry.sector_count as u64 * 512),
            Emulation::Floppy12 => catalog::FLOPPY_12_BYTES,
            Emulation::Floppy144 => catalog::FLOPPY_144_BYTES,
            Emulation::Floppy288 => catalog::FLOPPY_288_BYTES,
            Emulation::HardDisk => {
                let lba = entry.load_rba as u64;
                let mut mbr = [0u8; 512];
                read_at(&mut self.inner, lba * BLOCK_SIZE_U64, &mut mbr, lba)?;
                let hd = catalog::check_hard_disk(&mbr).map_err(|e| bad(e, lba))?;
                (hd.first_lba as u64 + hd.sectors as u64) * 512
            }
        };
        let end = entry.load_rba as u64 * BLOCK_SIZE_U64 + len;
        if end > self.image_len() {
            return Err(ParseError {
                kind: ParseErrorKind::ExtentOutOfImage,
                lba: Some(entry.load_rba as u64),
                offset: None,
            });
        }
        Ok(len)
    }

    /// The bytes of a boot image (bounded by the image's length).
    pub fn read_boot_image(&mut self, info: &BootImageInfo) -> Result<Vec<u8>, ParseError> {
        let lba = info.entry.load_rba as u64;
        if lba * BLOCK_SIZE_U64 + info.len > self.image_len() {
            return Err(ParseError {
                kind: ParseErrorKind::ExtentOutOfImage,
                lba: Some(lba),
                offset: None,
            });
        }
        let mut buf = vec![0u8; info.len as usize];
        read_at(&mut self.inner, lba * BLOCK_SIZE_U64, &mut buf, lba)?;
        Ok(buf)
    }
}
