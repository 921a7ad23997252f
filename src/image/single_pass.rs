//! The single-pass writer: a build with deduplication written to a file reads every small file
//! once. The layout leaves the small files that share their size with another undecided (see
//! `pipeline::lay_out` with `single_pass`): the metadata's size does not depend on where files
//! are, so the file data can be written first, in placement order, from the block after the
//! metadata. Each undecided file is held whole in memory, fingerprinted (a fast 64-bit hash,
//! `dedup::fingerprint`) and looked up among the files already written with the same size and
//! fingerprint; a match is confirmed by the strong hash (SHA-256) of both and by comparing the
//! bytes with the twin's bytes read back from the output, and a confirmed duplicate is not
//! written. Files that all differ (the usual case) thus cost a fingerprint (several GB/s)
//! instead of a SHA-256 (1.7 GB/s with the CPU's SHA instructions): on 100,000 files of 1-8 KiB
//! (460 MB) that took the build from about 2.05 to 1.55 s of CPU. Then the layout is completed with the duplicates found (`pipeline::relayout`),
//! checked against where the data went, and the metadata is rendered into its blocks. The
//! result is byte for byte the image a two-pass build (`ImageBuilder::build` then
//! `Image::write_to`) makes, because both keep the file placed first of identical ones.
//!
//! Reading and hashing run on two reading threads (one on a single core), which take chunks of
//! items in turn and hand batches of file bytes to the writing thread (the caller's, which
//! takes the chunks in the same turn, drives the progress callbacks and polls `query_abort`
//! per batch and per MiB copied); the metadata is rendered on a helper thread while the
//! caller's thread writes it. Every layout written to a new file (`Image::write_to_path`) goes
//! through here, with or without undecided files.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

use crate::build::source::{read_whole_file, DirCache};
use crate::build::tree::DataId;
use crate::error::{Error, Result};
use crate::image::output::{TempFile, DIRECT_MIN, DIRECT_STEP};
use crate::image::{Image, ImageStream};
use crate::layout::{pipeline, Layout, SegKind};
use crate::progress::{Outcome, Phase, Progress};
use crate::BLOCK_SIZE_U64;

/// Bytes handed over per batch (many small files, or a piece of a large one).
const BATCH_BYTES: usize = 128 << 10;
/// Batches in flight between each reading thread and the writing thread.
const IN_FLIGHT: usize = 2;
/// Consecutive items one reading thread takes before the other takes the next ones.
const CHUNK_ITEMS: usize = 32;

use crate::layout::dedup::{fingerprint, Hasher};

/// A run of one item's bytes inside a batch.
struct Part {
    /// Index of the item in the layout.
    item: usize,
    /// Where the run starts in the item.
    at: u64,
    /// Bytes in the batch.
    len: usize,
    /// The whole file's fingerprint ([`fingerprint`]), for an undecided file (then the run
    /// is the whole item).
    fingerprint: Option<u64>,
}

enum Msg {
    Batch {
        buf: Vec<u8>,
        parts: Vec<Part>,
    },
    /// A large file on disk: the writing thread copies it file to file.
    Direct {
        item: usize,
    },
    /// The end of a chunk of items: the writer turns to the next reading thread.
    ChunkEnd,
    /// A file whose bytes depend on where files are (see [`layout_dependent`]): left for later;
    /// or padding between files aligned for cloning (`image::reflink`), zeros.
    Skip {
        item: usize,
    },
    Failed(Error),
}

/// Writes a single-pass layout (`image` must hold the only reference to it) to `path`
/// atomically and returns the completed image.
pub(crate) fn write_to_path(
    image: Image,
    path: &Path,
    progress: &mut dyn Progress,
) -> Result<Image> {
    let total = image.total_blocks();
    let out = TempFile::create(path, image.size_bytes())?;
    progress.begin(Phase::Write, total);
    let r = write_file(image, out.file(), progress);
    let r = r.and_then(|img| out.commit().map(|()| img));
    progress.end(Phase::Write, Outcome::of(&r));
    r
}

/// Writes `image` into `file` (new and empty): the file data first, then the rest. A layout
/// with undecided files is completed on the way; the image written is returned.
fn write_file(image: Image, file: &File, progress: &mut dyn Progress) -> Result<Image> {
    let l0 = image.inner.clone();
    if l0.options.append.is_some() {
        return Err(Error::Internal(
            "single-pass write of an appended session".into(),
        ));
    }
    let mut undecided = vec![false; l0.tree.data.len()];
    // The file data: one run of items from the first file's.
    let first = match &l0.pending {
        Some(p) => {
            for &d in &p.small {
                if let Some(u) = undecided.get_mut(d as usize) {
                    *u = true;
                }
            }
            p.data_item
        }
        None => l0
            .kinds
            .iter()
            .position(|k| matches!(k, SegKind::File { .. }))
            .unwrap_or(l0.kinds.len()),
    };
    let mut end = (first..l0.kinds.len())
        .find(|&i| !matches!(l0.kinds[i], SegKind::File { .. }))
        .unwrap_or(l0.kinds.len());
    if l0.options.reflink_align {
        // Files aligned for cloning (`image::reflink`) have a padding block before them: the
        // data run goes on over padding followed by more files.
        let mut i = end;
        while i < l0.kinds.len() && matches!(l0.kinds[i], SegKind::Zero) {
            i += 1;
            if matches!(l0.kinds.get(i), Some(SegKind::File { .. })) {
                while matches!(l0.kinds.get(i), Some(SegKind::File { .. })) {
                    i += 1;
                }
                end = i;
            }
        }
    }
    let start_byte = l0.items.get(first).map_or(0, |it| it.byte_offset());
    let l0_total = l0.total_blocks;
    let data = write_data(&l0, first, end, &undecided, file, start_byte, progress)?;
    let done_data = data.bytes_done / BLOCK_SIZE_U64;
    let fin = if l0.pending.is_some() {
        drop(image);
        let layout = Arc::try_unwrap(l0)
            .map_err(|_| Error::Internal("the layout being written is shared".into()))?;
        pipeline::relayout(layout, &data.dups, progress)?
    } else {
        drop(l0);
        // Nothing to complete: the layout written is the image's.
        return finish(image, file, &data.placed, done_data, l0_total, progress);
    };
    let fin = Image {
        inner: Arc::new(fin),
    };
    finish(fin, file, &data.placed, done_data, l0_total, progress)
}

/// Checks the data went where `fin` says, writes everything else and sets the file's size.
fn finish(
    fin: Image,
    file: &File,
    placed: &[u32],
    done: u64,
    l0_total: u64,
    progress: &mut dyn Progress,
) -> Result<Image> {
    for (id, &lba) in placed.iter().enumerate() {
        if lba != u32::MAX && fin.inner.file_lba.get(id) != Some(&lba) {
            return Err(Error::Internal(format!(
                "data {id} written at block {lba}, laid out at {:?}",
                fin.inner.file_lba.get(id)
            )));
        }
    }
    write_metadata(&fin, file, placed, done, l0_total, progress)?;
    crate::image::check_unread_sources(&fin.inner)?;
    file.set_len(fin.size_bytes()).map_err(Error::Write)?;
    progress.update(l0_total, l0_total);
    Ok(fin)
}

/// What the data pass found.
struct DataPass {
    /// The duplicates found: data id -> the id whose extent it uses.
    dups: HashMap<DataId, DataId>,
    /// First block each written data went to (`u32::MAX`: not written here).
    placed: Vec<u32>,
    /// Bytes of the provisional layout's file data accounted for.
    bytes_done: u64,
}

/// Whether the bytes of `data` depend on the layout: the boot catalog (where the boot images
/// are), the embedded checksum list (every file's block), the span catalog, and boot images
/// with a patched boot info table (their own block). They are written from the completed layout.
fn layout_dependent(l: &Layout, data: DataId) -> bool {
    use crate::build::tree::Source;
    l.patchers.contains_key(&data)
        || l.tree
            .data
            .get(data as usize)
            .is_some_and(|d| matches!(d.source, Source::Generated(_)))
}

/// Whether two files of the same size have the same content: equal strong hashes
/// ([`Hasher`], SHA-256 for these sizes) and equal bytes.
fn same_content(a: &[u8], b: &[u8]) -> bool {
    let strong = |bytes: &[u8]| {
        let mut h = Hasher::for_len(bytes.len() as u64);
        h.update(bytes);
        h.finalize()
    };
    a.len() == b.len() && strong(a) == strong(b) && a == b
}

/// The undecided files written so far, found by fingerprint: an open-addressing table of 8-byte
/// slots (32 bits of the fingerprint to check, the data id + 1; 0 is empty), sized once for
/// every undecided file at two slots for three files (about 5 bytes a file: a `HashMap<u64,
/// u32>` took 18), probed linearly. Every file of a fingerprint is kept, so a 64-bit
/// collision between different contents loses no duplicate.
struct Seen {
    slots: Vec<u64>,
}

impl Seen {
    fn with_room(files: usize) -> Seen {
        Seen {
            slots: vec![0; files + files / 2 + 16],
        }
    }

    /// The slot where the probe for `fp` starts (the high bits pick it: multiply-shift).
    fn home(&self, fp: u64) -> usize {
        ((u128::from(fp) * self.slots.len() as u128) >> 64) as usize
    }

    /// The files recorded with fingerprint `fp` (and some, rarely, that only share 32 bits
    /// and a probe run with it: the caller compares sizes and contents anyway).
    fn candidates(&self, fp: u64) -> impl Iterator<Item = DataId> + '_ {
        let check = fp as u32;
        let n = self.slots.len();
        let home = self.home(fp);
        (0..n)
            .map(move |k| self.slots[(home + k) % n])
            .take_while(|&slot| slot != 0)
            .filter(move |&slot| (slot >> 32) as u32 == check)
            .map(|slot| (slot as u32).wrapping_sub(1))
    }

    /// Records file `id` with fingerprint `fp` (ignored if the table is full, which sizing for
    /// every undecided file rules out, or for an id that does not fit).
    fn insert(&mut self, fp: u64, id: DataId) {
        let Some(v) = id.checked_add(1) else {
            return;
        };
        let n = self.slots.len();
        let home = self.home(fp);
        for k in 0..n {
            let s = &mut self.slots[(home + k) % n];
            if *s == 0 {
                *s = (u64::from(fp as u32) << 32) | u64::from(v);
                return;
            }
        }
    }
}

/// Reads `buf.len()` bytes at `off` of `file` without moving its cursor.
fn read_at(file: &File, off: u64, buf: &mut [u8]) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, off)
    }
    #[cfg(not(unix))]
    {
        let mut f = file;
        let back = f.stream_position()?;
        f.seek(SeekFrom::Start(off))?;
        let r = f.read_exact(buf);
        f.seek(SeekFrom::Start(back))?;
        r
    }
}

/// Which items a reading thread takes: chunks of [`CHUNK_ITEMS`] consecutive items of
/// `first..end`, every `lanes`th from chunk `lane`.
#[derive(Clone, Copy)]
struct Lane {
    first: usize,
    end: usize,
    lane: usize,
    lanes: usize,
}

impl Lane {
    fn items(self) -> impl Iterator<Item = (usize, bool)> {
        let Lane {
            first,
            end,
            lane,
            lanes,
        } = self;
        (first..end)
            .filter(move |i| ((i - first) / CHUNK_ITEMS) % lanes == lane)
            .map(move |i| (i, (i - first + 1) % CHUNK_ITEMS == 0 || i + 1 == end))
    }
}

/// A reading thread: its lane's items of `l0` (file data) in order, as batches, each chunk
/// ended by [`Msg::ChunkEnd`].
fn produce(
    l0: &Arc<Layout>,
    lane: Lane,
    undecided: &[bool],
    tx: &mpsc::SyncSender<Msg>,
    back: &mpsc::Receiver<Vec<u8>>,
    stop: &AtomicBool,
) {
    let mut stream = Image { inner: l0.clone() }.stream();
    let mut buf = Vec::with_capacity(BATCH_BYTES);
    let mut parts = Vec::new();
    let mut dirs = DirCache::default();
    let send = |buf: &mut Vec<u8>, parts: &mut Vec<Part>| -> bool {
        hand_over(buf, parts, back, tx, |buf, parts| Msg::Batch { buf, parts })
    };
    for (i, chunk_end) in lane.items() {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let r = produce_item(
            l0,
            i,
            &mut stream,
            &mut dirs,
            undecided,
            &mut buf,
            &mut parts,
            &send,
            tx,
        );
        if let Err(e) = r {
            if !matches!(e, Error::Aborted) {
                let _ = send(&mut buf, &mut parts);
                let _ = tx.send(Msg::Failed(e));
            }
            return;
        }
        if chunk_end && (!send(&mut buf, &mut parts) || tx.send(Msg::ChunkEnd).is_err()) {
            return;
        }
    }
}

/// Reads item `i` into the batch (or asks the writer to copy or skip it).
#[allow(clippy::too_many_arguments)]
fn produce_item(
    l0: &Arc<Layout>,
    i: usize,
    stream: &mut ImageStream,
    dirs: &mut DirCache,
    undecided: &[bool],
    buf: &mut Vec<u8>,
    parts: &mut Vec<Part>,
    send: &dyn Fn(&mut Vec<u8>, &mut Vec<Part>) -> bool,
    tx: &mpsc::SyncSender<Msg>,
) -> Result<()> {
    let items = l0.items.segs();
    {
        let item = &items[i];
        let SegKind::File { data } = l0.kinds[i] else {
            if matches!(l0.kinds[i], SegKind::Zero)
                && (!send(buf, parts) || tx.send(Msg::Skip { item: i }).is_err())
            {
                return Err(Error::Aborted);
            }
            return Ok(());
        };
        let fd = &l0.tree.data[data as usize];
        let whole = item.byte_len();
        if layout_dependent(l0, data) {
            // Rendered from the completed layout afterwards; its blocks are kept free.
            if !send(buf, parts) || tx.send(Msg::Skip { item: i }).is_err() {
                return Err(Error::Aborted);
            }
            return Ok(());
        }
        let undecided = undecided.get(data as usize) == Some(&true);
        if undecided || whole < DIRECT_MIN {
            // A small file (or one held whole: at most `dedup::SMALL_MAX` and its padding)
            // goes into the batch in one piece.
            if buf.len() + whole as usize > BATCH_BYTES.max(whole as usize) && !send(buf, parts) {
                return Err(Error::Aborted);
            }
            let at = buf.len();
            // A boot file whose info table is patched in is read through the stream.
            let whole_file = !l0.patchers.contains_key(&data)
                && read_whole_file(&l0.tree, data, buf, dirs).map_err(Error::from_io)?;
            if whole_file {
                buf.resize(at + whole as usize, 0);
            } else {
                if stream.seek(SeekFrom::Start(item.byte_offset())).is_err() {
                    return Err(Error::Internal("seek in the image stream".into()));
                }
                buf.resize(at + whole as usize, 0);
                stream.read_exact(&mut buf[at..]).map_err(Error::from_io)?;
            }
            let fp = undecided.then(|| fingerprint(&buf[at..at + fd.len as usize]));
            parts.push(Part {
                item: i,
                at: 0,
                len: whole as usize,
                fingerprint: fp,
            });
            return Ok(());
        }
        if stream.seek(SeekFrom::Start(item.byte_offset())).is_err() {
            return Err(Error::Internal("seek in the image stream".into()));
        }
        if stream.plain_file_at_cursor().is_some() {
            if !send(buf, parts) || tx.send(Msg::Direct { item: i }).is_err() {
                return Err(Error::Aborted);
            }
            return Ok(());
        }
        batch_item(stream, i, whole, buf, parts, send)
    }
}

/// Writes the file data (items `first..end` of the provisional layout) from `start_byte`,
/// leaving out the undecided files found to be duplicates.
fn write_data(
    l0: &Arc<Layout>,
    first: usize,
    end: usize,
    undecided: &[bool],
    file: &File,
    start_byte: u64,
    progress: &mut dyn Progress,
) -> Result<DataPass> {
    let items = l0.items.segs();
    let total = l0.total_blocks;
    let mut out = DataPass {
        dups: HashMap::new(),
        placed: vec![u32::MAX; l0.tree.data.len()],
        bytes_done: 0,
    };
    let mut f = file;
    f.seek(SeekFrom::Start(start_byte)).map_err(Error::Write)?;
    let mut pos = start_byte;
    // The undecided files written, by fingerprint. Of identical files the first placed is
    // kept, as in the two-pass build.
    let mut seen = Seen::with_room(l0.pending.as_ref().map_or(0, |p| p.small.len()));
    let mut twin = Vec::new();
    let mut direct = Image { inner: l0.clone() }.stream();
    let mut pad = Vec::new();
    let stop = AtomicBool::new(false);
    // Two reading threads when there are two cores (opening, checking and reading small files
    // costs more than writing them), taking chunks of items in turn.
    let lanes = if std::thread::available_parallelism().map_or(1, |n| n.get()) > 1 {
        2
    } else {
        1
    };
    let mut rxs = Vec::new();
    let mut backs = Vec::new();
    let mut ends = Vec::new();
    for lane in 0..lanes {
        let (tx, rx) = mpsc::sync_channel::<Msg>(IN_FLIGHT);
        let (back_tx, back_rx) = mpsc::channel::<Vec<u8>>();
        rxs.push(rx);
        backs.push(back_tx);
        let lane = Lane {
            first,
            end,
            lane,
            lanes,
        };
        ends.push((lane, tx, back_rx));
    }
    std::thread::scope(|s| -> Result<()> {
        let mut producers = Vec::new();
        for (lane, tx, back_rx) in ends {
            let stop = &stop;
            producers.push(s.spawn(move || produce(l0, lane, undecided, &tx, &back_rx, stop)));
        }
        let r = (|| -> Result<()> {
            // The lanes in turn, a chunk at a time; done when the lane due next has ended
            // (it has no chunk left, so neither has any other).
            let mut lane = 0usize;
            while let Ok(msg) = rxs[lane].recv() {
                if progress.query_abort() {
                    return Err(Error::Aborted);
                }
                match msg {
                    Msg::ChunkEnd => lane = (lane + 1) % lanes,
                    Msg::Failed(e) => return Err(e),
                    Msg::Skip { item } if matches!(l0.kinds[item], SegKind::Zero) => {
                        // Padding between files (zeros: the file is new, its space reserved);
                        // `write_metadata` counts it in the progress.
                        pos += items[item].byte_len();
                        f.seek(SeekFrom::Start(pos)).map_err(Error::Write)?;
                    }
                    Msg::Skip { item } => {
                        let it = &items[item];
                        let SegKind::File { data } = l0.kinds[item] else {
                            return Err(Error::Internal("skip of a non-file item".into()));
                        };
                        out.placed[data as usize] = (pos / BLOCK_SIZE_U64) as u32;
                        pos += it.byte_len();
                        f.seek(SeekFrom::Start(pos)).map_err(Error::Write)?;
                        out.bytes_done += it.byte_len();
                    }
                    Msg::Direct { item } => {
                        let it = &items[item];
                        if let Some(full) = l0.items.get(item) {
                            progress.item_started(&full);
                        }
                        let SegKind::File { data } = l0.kinds[item] else {
                            return Err(Error::Internal("direct copy of a non-file item".into()));
                        };
                        out.placed[data as usize] = (pos / BLOCK_SIZE_U64) as u32;
                        copy_item(
                            &mut direct,
                            it.byte_offset(),
                            it.byte_len(),
                            f,
                            &mut pad,
                            &mut |n| {
                                out.bytes_done += n;
                                progress.update(out.bytes_done / BLOCK_SIZE_U64, total);
                                !progress.query_abort()
                            },
                        )?;
                        pos += it.byte_len();
                    }
                    Msg::Batch { buf, parts } => {
                        // Bytes of `buf` from `run` not yet written.
                        let mut run = 0usize;
                        let mut off = 0usize;
                        for p in &parts {
                            let SegKind::File { data } = l0.kinds[p.item] else {
                                return Err(Error::Internal(
                                    "file bytes of a non-file item".into(),
                                ));
                            };
                            let bytes = &buf[off..off + p.len];
                            if p.at == 0 {
                                if let Some(full) = l0.items.get(p.item) {
                                    progress.item_started(&full);
                                }
                            }
                            let mut dup = None;
                            if let Some(d) = p.fingerprint {
                                let len = l0.tree.data[data as usize].len;
                                for c in seen.candidates(d) {
                                    if l0.tree.data[c as usize].len != len {
                                        continue;
                                    }
                                    // The twin may still be in this batch's unwritten run.
                                    f.write_all(&buf[run..off]).map_err(Error::Write)?;
                                    run = off;
                                    twin.resize(len as usize, 0);
                                    let at = out.placed[c as usize] as u64 * BLOCK_SIZE_U64;
                                    read_at(f, at, &mut twin).map_err(Error::Write)?;
                                    if same_content(&twin, &bytes[..len as usize]) {
                                        dup = Some(c);
                                        break;
                                    }
                                }
                                if dup.is_none() {
                                    seen.insert(d, data);
                                }
                            }
                            match dup {
                                Some(c) => {
                                    // Not written: the bytes before it go now.
                                    f.write_all(&buf[run..off]).map_err(Error::Write)?;
                                    run = off + p.len;
                                    out.dups.insert(data, c);
                                }
                                None => {
                                    if p.at == 0 {
                                        out.placed[data as usize] = (pos / BLOCK_SIZE_U64) as u32;
                                    }
                                    pos += p.len as u64;
                                }
                            }
                            off += p.len;
                            out.bytes_done += p.len as u64;
                        }
                        f.write_all(&buf[run..off]).map_err(Error::Write)?;
                        let _ = backs[lane].send(buf);
                        progress.update(out.bytes_done / BLOCK_SIZE_U64, total);
                    }
                }
            }
            Ok(())
        })();
        if r.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        // Unblock the readers (each stops at its next send) and wait for them.
        drop(rxs);
        let joined: Vec<_> = producers.into_iter().map(|p| p.join()).collect();
        r?;
        if joined.iter().any(|j| j.is_err()) {
            return Err(Error::Internal("a reading thread panicked".into()));
        }
        Ok(())
    })?;
    let _ = total;
    Ok(out)
}

/// Copies `len` bytes of the image at `at` (one file's data and padding) into `f` at its cursor:
/// the file's bytes by the kernel where it can, the rest through `pad`. `step(n)` is told of
/// every `n` bytes written and returns false to abort.
fn copy_item(
    stream: &mut ImageStream,
    at: u64,
    len: u64,
    f: &File,
    pad: &mut Vec<u8>,
    step: &mut dyn FnMut(u64) -> bool,
) -> Result<()> {
    stream.seek(SeekFrom::Start(at)).map_err(Error::from_io)?;
    let mut left = len;
    while left > 0 {
        let n = if stream.plain_file_at_cursor().is_some() {
            stream
                .copy_file_data_to(f, DIRECT_STEP)
                .map_err(Error::from_io)?
        } else {
            0
        };
        let n = if n > 0 {
            n
        } else {
            let k = left.min(1 << 16) as usize;
            pad.resize(k, 0);
            stream.read_exact(&mut pad[..k]).map_err(Error::from_io)?;
            (&*f).write_all(&pad[..k]).map_err(Error::Write)?;
            k as u64
        };
        left -= n;
        if !step(n) {
            return Err(Error::Aborted);
        }
    }
    Ok(())
}

/// Sends the filled batch (`buf` and its `parts`, if any) to the writer as `wrap` makes it,
/// leaving `buf` empty (a buffer the writer gave back, or a new one). False when the writer
/// has stopped.
fn hand_over<M>(
    buf: &mut Vec<u8>,
    parts: &mut Vec<Part>,
    back: &mpsc::Receiver<Vec<u8>>,
    tx: &mpsc::SyncSender<M>,
    wrap: impl FnOnce(Vec<u8>, Vec<Part>) -> M,
) -> bool {
    if parts.is_empty() {
        return true;
    }
    let fresh = back
        .try_recv()
        .unwrap_or_else(|_| Vec::with_capacity(BATCH_BYTES));
    let full = std::mem::replace(buf, fresh);
    buf.clear();
    tx.send(wrap(full, std::mem::take(parts))).is_ok()
}

/// Reads the `len` bytes of item `i` at the stream's cursor into batches (handing full ones to
/// `send`, which returns false when the writer has stopped: `Error::Aborted`).
fn batch_item(
    stream: &mut ImageStream,
    i: usize,
    len: u64,
    buf: &mut Vec<u8>,
    parts: &mut Vec<Part>,
    send: &dyn Fn(&mut Vec<u8>, &mut Vec<Part>) -> bool,
) -> Result<()> {
    let mut at = 0u64;
    while at < len {
        if buf.len() >= BATCH_BYTES && !send(buf, parts) {
            return Err(Error::Aborted);
        }
        let n = (len - at).min(BATCH_BYTES.saturating_sub(buf.len()) as u64) as usize;
        let from = buf.len();
        buf.resize(from + n, 0);
        stream
            .read_exact(&mut buf[from..])
            .map_err(Error::from_io)?;
        parts.push(Part {
            item: i,
            at,
            len: n,
            fingerprint: None,
        });
        at += n as u64;
    }
    Ok(())
}

/// Renders the completed layout's blocks other than file data and zeros into `file` (a new
/// file: what is never written reads as zeros), and the files whose bytes depend on the layout.
/// A helper thread renders (UDF file entries are one block per file: on W1 as many bytes as
/// a third of the data) into 128 KiB batches while the caller's thread writes them.
fn write_metadata(
    fin: &Image,
    file: &File,
    placed: &[u32],
    mut done: u64,
    total: u64,
    progress: &mut dyn Progress,
) -> Result<()> {
    let layout = &fin.inner;
    let segs = layout.items.segs();
    // File data the data pass did not write: layout-dependent files, and files outside its run
    // of items (appended partitions after the padding that aligns them to a cylinder).
    let wanted = |i: usize| match layout.kinds[i] {
        SegKind::File { data } => {
            layout_dependent(layout, data)
                || placed.get(data as usize).is_none_or(|&lba| lba == u32::MAX)
        }
        SegKind::Zero => false,
        _ => true,
    };
    done += segs
        .iter()
        .enumerate()
        .filter(|&(i, _)| matches!(layout.kinds[i], SegKind::Zero))
        .map(|(_, s)| u64::from(s.block_count))
        .sum::<u64>();
    let stop = AtomicBool::new(false);
    let (tx, rx) =
        mpsc::sync_channel::<std::result::Result<(Vec<u8>, Vec<Part>), Error>>(IN_FLIGHT);
    let (back_tx, back_rx) = mpsc::channel::<Vec<u8>>();
    let stop_flag = &stop;
    let wanted = &wanted;
    let render = move || {
        let mut stream = fin.stream();
        let mut buf: Vec<u8> = Vec::with_capacity(BATCH_BYTES);
        let mut runs = Vec::new();
        let send = |buf: &mut Vec<u8>, runs: &mut Vec<Part>| -> bool {
            hand_over(buf, runs, &back_rx, &tx, |buf, runs| Ok((buf, runs)))
        };
        for (i, seg) in segs.iter().enumerate() {
            if !wanted(i) {
                continue;
            }
            if stop_flag.load(Ordering::Relaxed) {
                return;
            }
            if stream.seek(SeekFrom::Start(seg.byte_offset())).is_err() {
                let _ = tx.send(Err(Error::Internal("seek in the image stream".into())));
                return;
            }
            match batch_item(&mut stream, i, seg.byte_len(), &mut buf, &mut runs, &send) {
                Ok(()) => {}
                Err(Error::Aborted) => return,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
        let _ = send(&mut buf, &mut runs);
    };
    let mut f = file;
    std::thread::scope(|s| -> Result<()> {
        let renderer = s.spawn(render);
        let r = (|| -> Result<()> {
            let mut cursor = None;
            for msg in rx.iter() {
                let (buf, runs) = msg?;
                let mut off = 0usize;
                for run in &runs {
                    let seg = &segs[run.item];
                    if run.at == 0 {
                        if let Some(item) = layout.items.get(run.item) {
                            progress.item_started(&item);
                        }
                        if progress.query_abort() {
                            return Err(Error::Aborted);
                        }
                    }
                    let target = seg.byte_offset() + run.at;
                    if cursor != Some(target) {
                        f.seek(SeekFrom::Start(target)).map_err(Error::Write)?;
                    }
                    f.write_all(&buf[off..off + run.len])
                        .map_err(Error::Write)?;
                    cursor = Some(target + run.len as u64);
                    off += run.len;
                    done += run.len as u64 / BLOCK_SIZE_U64;
                }
                let _ = back_tx.send(buf);
                progress.update(done.min(total), total);
                if progress.query_abort() {
                    return Err(Error::Aborted);
                }
            }
            Ok(())
        })();
        if r.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        drop(rx);
        let joined = renderer.join();
        r?;
        if joined.is_err() {
            return Err(Error::Internal("the rendering thread panicked".into()));
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::Seen;

    #[test]
    fn seen_keeps_every_file_of_a_fingerprint_and_finds_them_all() {
        let files = 1000usize;
        let mut seen = Seen::with_room(files);
        // Fingerprints that all start at the last slot (probes wrap around), pairs sharing one.
        for id in 0..files as u32 {
            let fp = u64::MAX - u64::from(id / 2);
            assert!(seen.candidates(fp).all(|c| c + 1 == id), "id {id}");
            seen.insert(fp, id);
        }
        for id in (0..files as u32).step_by(2) {
            let fp = u64::MAX - u64::from(id / 2);
            let mut got: Vec<u32> = seen.candidates(fp).collect();
            got.sort_unstable();
            assert_eq!(got, vec![id, id + 1]);
        }
        assert_eq!(seen.candidates(12345).count(), 0);
        // An empty table (no undecided files) answers and takes nothing.
        let mut none = Seen::with_room(0);
        assert_eq!(none.candidates(7).count(), 0);
        none.insert(7, 3);
        assert_eq!(none.candidates(7).collect::<Vec<_>>(), vec![3]);
    }
}
