//! What the layout of an appended session needs from its base: the base's head, boot record,
//! extents that can stay in place, and its bytes.

use std::io::{self, Read, Seek, SeekFrom};

use super::append::UDF_ANCHOR;
use super::BaseOpener;
use crate::build::tree::Source;
use crate::error::{Error, Result};
use crate::progress::ItemKind;
use crate::read::session::{HEAD_BLOCKS, HEAD_FIRST};
use crate::BLOCK_SIZE;

/// What a layout needs to append a session to a base image.
pub(crate) struct AppendInput {
    pub(super) opener: BaseOpener,
    /// The base file's length in bytes.
    pub old_len: u64,
    /// The end of the base in blocks (see [`BaseImage::end_blocks`](super::BaseImage::end_blocks)).
    pub old_end: u64,
    /// The first block of the new session.
    pub start: u64,
    /// The new session's number (1-based).
    pub number: u32,
    /// Blocks 16-31 of the base as they are now (32 KiB).
    pub old_head: Vec<u8>,
    /// The base's El Torito boot record, kept when the new session defines no boot entries.
    pub boot_record: Option<Vec<u8>>,
    /// The base has a UDF anchor at block 256, which the append clears (UDF is not appended,
    /// and UDF readers must not show the base's older tree).
    pub clear_udf_anchor: bool,
}

impl std::fmt::Debug for AppendInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppendInput")
            .field("old_len", &self.old_len)
            .field("start", &self.start)
            .field("number", &self.number)
            .finish_non_exhaustive()
    }
}

impl AppendInput {
    /// Marks the base files the new session can point at (in place), leaving the others to be
    /// written again (read from the base): pieces before `first_ok` (the system area and the
    /// head blocks the new volume descriptors overwrite) or beyond the base, holes, and
    /// sections that do not fill their blocks. (A later append whose descriptors reach further
    /// rewrites the files there in its turn; older sessions keep reading them through their
    /// saved head copy.)
    pub fn mark_in_place(&self, tree: &mut crate::build::tree::Tree, first_ok: u64) {
        for d in &mut tree.data {
            if let Source::Base { file, in_place } = &mut d.source {
                *in_place = file.can_stay(first_ok, self.old_end);
            }
        }
    }

    /// Reserves the blocks before the new session's volume descriptors: the base's system area
    /// (kept), the head (blocks 16-31: the new descriptors over the base's blocks), the rest of
    /// the base (kept), the alignment padding, and the session's own system area, which holds
    /// the base's blocks 16-31 as they were (so the previous session can still be read).
    pub fn plan_base(&self, plan: &mut crate::layout::Plan) -> Result<()> {
        use crate::layout::SegKind;
        let head_end = HEAD_FIRST + HEAD_BLOCKS;
        plan.reserve(
            HEAD_FIRST,
            SegKind::Base { src: 0 },
            ItemKind::SystemArea,
            "System area (kept from the base image)",
        );
        plan.reserve(
            HEAD_BLOCKS,
            SegKind::Head,
            ItemKind::VolumeDescriptors,
            format!(
                "Volume descriptors of session {} (copy at block 16)",
                self.number
            ),
        );
        let mut at = head_end;
        let block = |b: u64| {
            u32::try_from(b)
                .map_err(|_| Error::InvalidOption("the base image has 2^32 blocks or more".into()))
        };
        if self.clear_udf_anchor {
            // ECMA-167 3/8.4.2.1: the anchor at 256, cleared.
            plan.reserve(
                UDF_ANCHOR - at,
                SegKind::Base { src: block(at)? },
                ItemKind::BaseImage,
                "Earlier sessions (kept)",
            );
            plan.reserve(
                1,
                SegKind::Zero,
                ItemKind::Padding,
                "UDF anchor of the base image (cleared: UDF is not appended)",
            );
            at = UDF_ANCHOR + 1;
        }
        if self.old_end > at {
            plan.reserve(
                self.old_end - at,
                SegKind::Base { src: block(at)? },
                ItemKind::BaseImage,
                "Earlier sessions (kept)",
            );
        }
        plan.pad_to(self.start)?;
        plan.reserve(
            HEAD_BLOCKS,
            SegKind::SavedHead,
            ItemKind::SystemArea,
            format!(
                "System area of session {}: blocks 16-31 of session {}",
                self.number,
                self.number - 1
            ),
        );
        Ok(())
    }

    /// Blocks 16-31 of the grown image: the new session's volume descriptors `vds` over the
    /// base's blocks, with the base's UDF volume recognition sequence (ECMA-167 2/9.1) cleared so
    /// UDF readers do not find the base's (older) UDF tree.
    pub fn head(&self, vds: &[u8]) -> Vec<u8> {
        let mut out = self.old_head.clone();
        let n = vds.len().min(out.len());
        out[..n].copy_from_slice(&vds[..n]);
        for blk in out[n..].chunks_mut(BLOCK_SIZE) {
            if matches!(
                blk.get(1..6),
                Some(b"BEA01" | b"NSR02" | b"NSR03" | b"TEA01" | b"BOOT2")
            ) {
                blk.fill(0);
            }
        }
        out
    }

    /// Reads `buf.len()` bytes of the base at byte `off`; bytes past its end read as zeros.
    pub fn read_base(&self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        buf.fill(0);
        if off >= self.old_len {
            return Ok(());
        }
        let mut r = (self.opener)()?;
        r.seek(SeekFrom::Start(off))?;
        let n = ((self.old_len - off).min(buf.len() as u64)) as usize;
        r.read_exact(buf.get_mut(..n).unwrap_or_default())
    }
}
