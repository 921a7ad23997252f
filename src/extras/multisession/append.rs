//! Appending a session: laying it out after the base ([`ImageBuilder::build_append`]) and
//! writing it (the rewritten head, then the new session).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Arc;

use super::{AppendInput, BaseImage, BaseOpener, DEFAULT_SESSION_ALIGNMENT};
use crate::build::builder::{FileSystems, ImageBuilder};
use crate::error::{Error, Result};
use crate::format::iso9660::session::{HEAD_BLOCKS, HEAD_FIRST};
use crate::image::Image;
use crate::progress::{ItemKind, Outcome, Phase, Progress, ProgressItem, ProgressItems};
use crate::{BLOCK_SIZE, BLOCK_SIZE_U64};

/// A range of blocks an append writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct BlockRange {
    /// The first block.
    pub first_block: u64,
    /// The number of blocks.
    pub block_count: u64,
}

/// Blocks of the base an append overwrites: their new and old bytes.
#[derive(Debug)]
struct Rewrite {
    range: BlockRange,
    new: Vec<u8>,
    old: Vec<u8>,
}

/// A session laid out for appending to a base image (the result of
/// [`ImageBuilder::build_append`]).
#[derive(Debug)]
pub struct Append {
    image: Image,
    path: Option<PathBuf>,
    old_len: u64,
    start: u64,
    /// Blocks before the old end of the file that change (the head; a cleared UDF anchor).
    rewrites: Vec<Rewrite>,
    /// Items of what is written, in block order.
    items: ProgressItems,
}

impl Append {
    /// The whole grown image as a lazy stream source: the base's blocks, the rewritten head and
    /// the new session (for example to write a grown copy elsewhere with
    /// [`Image::write_to_path`]).
    pub fn image(&self) -> &Image {
        &self.image
    }

    /// The first block of the new session.
    pub fn session_start(&self) -> u64 {
        self.start
    }

    /// The end of the new session (= the grown image's length) in blocks.
    pub fn session_end(&self) -> u64 {
        self.image.total_blocks()
    }

    /// The block ranges the append writes (IMAPI's ModifiedBlocks), in block order: the head
    /// blocks (within 16-31, the copy of the new session's volume descriptors) whose bytes
    /// change, block 256 when the base's UDF anchor is cleared, then everything from the old end of the file to the end of the new session
    /// (alignment padding and the session itself).
    pub fn modified_blocks(&self) -> Vec<BlockRange> {
        let mut out: Vec<BlockRange> = self.rewrites.iter().map(|r| r.range).collect();
        let tail = self.old_len / BLOCK_SIZE_U64;
        let end = self.image.total_blocks();
        if end > tail {
            out.push(BlockRange {
                first_block: tail,
                block_count: end - tail,
            });
        }
        out
    }

    /// The items of what is written (the head copy and the new session, with the alignment
    /// padding before it), in block order; writing visits the tail items first and the head
    /// last.
    pub fn progress_items(&self) -> &ProgressItems {
        &self.items
    }

    /// Grows the base image file in place.
    ///
    /// The order makes the write as safe as an in-place write can be: (1) check the file still
    /// is the base (length and head unchanged); (2) write the new session after the old end of
    /// the file and flush it to the device (`sync_data`): until now the file's first 64 KiB
    /// still describe the old newest session, so a crash or an abort leaves the old image
    /// readable, and the appended tail is truncated away on abort or error; (3) only then write
    /// the head blocks (a few sectors in one write) and flush again. `query_abort` is polled
    /// while the tail is written, not during the head write.
    pub fn write_in_place(&self, progress: &mut dyn Progress) -> Result<()> {
        let path = self.path.as_ref().ok_or_else(|| {
            Error::InvalidOption(
                "the base image was not opened from a path; it cannot be grown in place".into(),
            )
        })?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::Source {
                path: path.clone(),
                source: e,
            })?;
        self.write_into(&mut file, progress)
    }

    /// Grows the image held by `f` (the base's bytes) in place; see
    /// [`write_in_place`](Self::write_in_place) for the order of the writes.
    pub fn write_into(&self, f: &mut File, progress: &mut dyn Progress) -> Result<()> {
        let total: u64 = self.items.iter().map(|i| i.block_count).sum();
        progress.begin(Phase::Write, total);
        let r = self.write_inner(f, progress);
        progress.end(Phase::Write, Outcome::of(&r));
        r
    }

    fn write_inner(&self, f: &mut File, progress: &mut dyn Progress) -> Result<()> {
        // (1) The file must still be the base this append was laid out for.
        let len = f.metadata().map_err(Error::Write)?.len();
        let mut same = len == self.old_len;
        for r in &self.rewrites {
            if !same {
                break;
            }
            let mut now = vec![0u8; r.old.len()];
            f.seek(SeekFrom::Start(r.range.first_block * BLOCK_SIZE_U64))
                .and_then(|_| f.read_exact(&mut now))
                .map_err(Error::Write)?;
            same = now == r.old;
        }
        if !same {
            return Err(Error::SourceChanged {
                image_path: "/".into(),
                reason: format!(
                    "the base image changed since the session was laid out (now {len} bytes, was {})",
                    self.old_len
                ),
            });
        }
        // (2) The tail, then flush. Any failure truncates the file back to its old length.
        let tail = self.write_tail(f, progress).and_then(|done| {
            f.sync_data().map_err(Error::Write)?;
            Ok(done)
        });
        let done = match tail {
            Ok(d) => d,
            Err(e) => {
                let _ = f.set_len(self.old_len);
                let _ = f.sync_data();
                return Err(e);
            }
        };
        // (3) The blocks of the base (the head last): from here on the new session is the one
        // readers see.
        let total: u64 = self.items.iter().map(|i| i.block_count).sum();
        for (k, r) in self.rewrites.iter().enumerate().rev() {
            if let Some(item) = self.items.get(k) {
                progress.item_started(&item);
            }
            let w = f
                .seek(SeekFrom::Start(r.range.first_block * BLOCK_SIZE_U64))
                .and_then(|_| f.write_all(&r.new));
            if let Err(e) = w {
                // Put the old bytes back (best effort), then drop the tail.
                for r in &self.rewrites {
                    let _ = f
                        .seek(SeekFrom::Start(r.range.first_block * BLOCK_SIZE_U64))
                        .and_then(|_| f.write_all(&r.old));
                }
                let _ = f.set_len(self.old_len);
                let _ = f.sync_data();
                return Err(Error::Write(e));
            }
        }
        f.sync_data().map_err(Error::Write)?;
        progress.update(total.max(done), total);
        Ok(())
    }

    /// Writes everything from the old end of the file to the end of the new session; returns
    /// the blocks written.
    fn write_tail(&self, f: &mut File, progress: &mut dyn Progress) -> Result<u64> {
        const CHUNK: usize = 1 << 20;
        let total: u64 = self.items.iter().map(|i| i.block_count).sum();
        let head_blocks: u64 = self.rewrites.iter().map(|r| r.range.block_count).sum();
        let mut stream = self.image.stream();
        let mut buf = vec![0u8; CHUNK];
        let mut done = 0u64;
        let from = self.old_len;
        stream.seek(SeekFrom::Start(from)).map_err(Error::from_io)?;
        f.seek(SeekFrom::Start(from)).map_err(Error::Write)?;
        for item in self.items.iter().skip(self.rewrites.len()) {
            progress.item_started(&item);
            if progress.query_abort() {
                return Err(Error::Aborted);
            }
            let end = item.byte_offset() + item.byte_len();
            let mut pos = item.byte_offset().max(from);
            while pos < end {
                let n = (end - pos).min(CHUNK as u64) as usize;
                stream.read_exact(&mut buf[..n]).map_err(Error::from_io)?;
                f.write_all(&buf[..n]).map_err(Error::Write)?;
                pos += n as u64;
                done += n as u64;
                progress.update((done / BLOCK_SIZE_U64).min(total - head_blocks), total);
                if progress.query_abort() {
                    return Err(Error::Aborted);
                }
            }
        }
        f.flush().map_err(Error::Write)?;
        Ok(done / BLOCK_SIZE_U64)
    }
}

/// Reads as much of `buf` as the reader has; returns the count.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// ECMA-167 3/8.4.2.1: the first anchor volume descriptor pointer of a UDF volume.
pub(super) const UDF_ANCHOR: u64 = 256;

/// True if the base has a UDF anchor volume descriptor pointer (tag identifier 2, ECMA-167
/// 3/10.2) recorded at block 256.
fn has_udf_anchor(opener: &BaseOpener) -> Result<bool> {
    let mut r = opener().map_err(Error::Write)?;
    let mut b = vec![0u8; BLOCK_SIZE];
    r.seek(SeekFrom::Start(UDF_ANCHOR * BLOCK_SIZE_U64))
        .map_err(Error::Write)?;
    if read_up_to(&mut r, &mut b).map_err(Error::Write)? < 16 {
        return Ok(false);
    }
    Ok(b[0..2] == [2, 0] && b[12..16] == (UDF_ANCHOR as u32).to_le_bytes())
}

impl ImageBuilder {
    /// Lays out this builder's tree as a new session appended to `base` (with the default
    /// alignment of 32 blocks); see [`build_append_aligned`](Self::build_append_aligned).
    pub fn build_append(&self, base: &BaseImage) -> Result<Append> {
        self.build_append_aligned(base, DEFAULT_SESSION_ALIGNMENT, &mut crate::NoProgress)
    }

    /// Lays out this builder's tree as a new session of `base`: it starts at the next writable
    /// address (the end of the base, rounded up to `alignment` blocks, at least block 32), its
    /// records point at the base's extents for imported files that are unchanged, and its volume
    /// descriptors are also copied to blocks 16.. of the image. Nothing is written yet.
    ///
    /// UDF is not appended (it would need a virtual allocation table or a rewrite of every UDF
    /// structure): with UDF among the file systems, the session is written with the others and
    /// a warning; the base's UDF volume recognition sequence in the head is cleared so UDF
    /// readers do not show the old tree. A base without ISO 9660 (UDF only) cannot be grown.
    pub fn build_append_aligned(
        &self,
        base: &BaseImage,
        alignment: u64,
        progress: &mut dyn Progress,
    ) -> Result<Append> {
        if !base.has_iso {
            return Err(Error::InvalidOption(
                "the base image has no ISO 9660 file system (UDF only): a session cannot be appended to it".into(),
            ));
        }
        if alignment == 0 {
            return Err(Error::InvalidOption(
                "session alignment must be at least 1 block".into(),
            ));
        }
        if self.options.boot.hybrid.is_some() {
            return Err(Error::InvalidOption(
                "a hybrid MBR/GPT cannot be set when appending a session (the base's system area is kept)".into(),
            ));
        }
        let mut b = self.clone();
        if b.options.filesystems.contains(FileSystems::UDF) {
            b.options.filesystems = b.options.filesystems.without(FileSystems::UDF);
            b.warnings.push(
                "UDF is not appended: the new session has ISO 9660 (with Joliet / Rock Ridge as chosen) only".into(),
            );
        }
        b.options.filesystems |= FileSystems::ISO9660;
        let old_end = base.end_blocks();
        let start = old_end
            .div_ceil(alignment)
            .saturating_mul(alignment)
            .max(HEAD_FIRST + HEAD_BLOCKS);
        let mut old_head = vec![0u8; (HEAD_BLOCKS * BLOCK_SIZE_U64) as usize];
        {
            let mut r = (base.opener)().map_err(Error::Write)?;
            r.seek(SeekFrom::Start(HEAD_FIRST * BLOCK_SIZE_U64))
                .map_err(Error::Write)?;
            read_up_to(&mut r, &mut old_head).map_err(Error::Write)?;
        }
        let number = base.sessions.len() as u32 + 1;
        let clear_anchor = old_end > UDF_ANCHOR && has_udf_anchor(&base.opener)?;
        if clear_anchor {
            b.warnings.push(
                "the base image's UDF file system is left out of the grown image (its anchor at block 256 is cleared); the sessions stay readable through ISO 9660".into(),
            );
        }
        let clear_udf_anchor = clear_anchor;
        let input = Arc::new(AppendInput {
            opener: base.opener.clone(),
            old_len: base.len,
            old_end,
            start,
            number,
            old_head: old_head.clone(),
            boot_record: if b.options.boot.entries.is_empty() {
                base.boot_record.clone()
            } else {
                None
            },
            clear_udf_anchor,
        });
        b.options.append = Some(input);
        let image = b.build(progress)?;

        // The blocks of the base that change (the head; block 256 when the base's UDF anchor is
        // cleared), compared block by block, and their bytes.
        let mut stream = image.stream();
        let mut base_r = (base.opener)().map_err(Error::Write)?;
        let mut candidates: Vec<u64> = (HEAD_FIRST..HEAD_FIRST + HEAD_BLOCKS).collect();
        if clear_anchor {
            candidates.push(UDF_ANCHOR);
        }
        let mut rewrites: Vec<Rewrite> = Vec::new();
        let mut items = Vec::new();
        for blk in candidates {
            // Blocks past the end of a (tiny) base are part of the tail.
            if (blk + 1) * BLOCK_SIZE_U64 > base.len {
                break;
            }
            let mut new = vec![0u8; BLOCK_SIZE];
            let mut old = vec![0u8; BLOCK_SIZE];
            stream
                .seek(SeekFrom::Start(blk * BLOCK_SIZE_U64))
                .and_then(|_| stream.read_exact(&mut new))
                .map_err(Error::from_io)?;
            base_r
                .seek(SeekFrom::Start(blk * BLOCK_SIZE_U64))
                .and_then(|_| base_r.read_exact(&mut old))
                .map_err(Error::Write)?;
            if new == old {
                continue;
            }
            match rewrites.last_mut() {
                Some(r) if r.range.first_block + r.range.block_count == blk => {
                    r.range.block_count += 1;
                    r.new.extend_from_slice(&new);
                    r.old.extend_from_slice(&old);
                }
                _ => rewrites.push(Rewrite {
                    range: BlockRange {
                        first_block: blk,
                        block_count: 1,
                    },
                    new,
                    old,
                }),
            }
        }
        for r in &rewrites {
            let head = r.range.first_block < HEAD_FIRST + HEAD_BLOCKS;
            items.push(ProgressItem {
                first_block: r.range.first_block,
                last_block: r.range.first_block + r.range.block_count - 1,
                block_count: r.range.block_count,
                description: if head {
                    format!("Volume descriptors of session {number} (copy at block 16)")
                } else {
                    "UDF anchor of the base image (cleared: UDF is not appended)".into()
                },
                kind: if head {
                    ItemKind::VolumeDescriptors
                } else {
                    ItemKind::Padding
                },
            });
        }
        let tail = base.len / BLOCK_SIZE_U64;
        let items = ProgressItems::from_sorted(items, image.progress_items(), tail);
        Ok(Append {
            path: base.path.clone(),
            old_len: base.len,
            start,
            rewrites,
            items,
            image,
        })
    }
}
