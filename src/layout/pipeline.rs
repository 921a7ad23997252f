//! The on-disk order of an image, read top to bottom. Every structure reports its size before
//! any sector is assigned; nothing is rendered here.

use chrono::Utc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::build::boot::BootPlan;
use crate::build::builder::{FileSystems, ImageBuilder, IsoLevel};
use crate::build::tree::NodeKind;
use crate::build::tree::Posix;
use crate::build::tree::{NodeId, Tree};
use crate::error::{Error, Result};
use crate::format::iso9660::view::{RrInput, View, ViewKind};
use crate::image::Image;
use crate::layout::udf::{self as udf_layout, MetaPlan, UdfPlan};
use crate::layout::{LaidView, Layout, PathTablePos, Plan, SegKind, ViewSel};
use crate::progress::{ItemKind, Progress, ProgressItems};
use crate::BLOCK_SIZE;

fn blocks_for(bytes: u64) -> u64 {
    bytes.div_ceil(BLOCK_SIZE as u64)
}

/// Each view walks every node; reports view `index` of `views` as its share of the layout so
/// `update` never goes backwards (the phase's total stays the node count).
/// The progress of the layout's second thread: no reports, an abort when `query_abort` on the
/// caller's thread (or an error there) set the flag.
struct StopFlag<'a>(&'a AtomicBool);

impl Progress for StopFlag<'_> {
    fn query_abort(&mut self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Lays out `tree` (the builder's, moved or copied) with the builder's options. With
/// `single_pass` (and deduplication on, not appending), small files sharing their size with
/// another are left undecided for the single-pass writer: the layout has a `pending` part and
/// is not an image to hand out until [`relayout`] completes it.
pub(crate) fn lay_out(
    b: &ImageBuilder,
    tree: Tree,
    single_pass: bool,
    progress: &mut dyn Progress,
) -> Result<Image> {
    let opts = &b.options;
    let fs = opts.filesystems;
    let iso_on = fs.contains(FileSystems::ISO9660);
    let udf_on = fs.contains(FileSystems::UDF);
    if !iso_on && !udf_on {
        return Err(Error::InvalidOption("choose ISO 9660, UDF or both".into()));
    }
    if !iso_on && (fs.contains(FileSystems::JOLIET) || fs.contains(FileSystems::ROCK_RIDGE)) {
        return Err(Error::InvalidOption(
            "Joliet and Rock Ridge extend ISO 9660: select ISO 9660 too".into(),
        ));
    }
    // The layout's tree (moved or copied), without removed entries and without its name index.
    let mut tree = tree.into_compacted().without_index();
    let append = opts.append.clone();
    if let Some(a) = &append {
        // The head rewrite covers blocks 16 to 16 + the new descriptor count.
        let vds = 2
            + u64::from(!opts.boot.entries.is_empty() || a.boot_record.is_some())
            + u64::from(opts.level == IsoLevel::Iso1999)
            + u64::from(fs.contains(FileSystems::JOLIET));
        a.mark_in_place(&mut tree, 16 + vds);
    }
    let build_time = opts.build_time.unwrap_or_else(Utc::now);
    // Reproducible images: with a fixed build time, only the inputs' contents, names, modes,
    // owners and modification times count. Access, change and creation times differ between
    // two copies of one tree, so every recorded time is the modification time.
    if opts.build_time.is_some() {
        // Nodes that shared a value share its replacement.
        let mut shared: std::collections::HashMap<Posix, Arc<Posix>> = Default::default();
        for n in &mut tree.nodes {
            let Some(p) = n.posix.as_deref() else {
                continue;
            };
            let without = Posix {
                atime: None,
                ctime: None,
                crtime: None,
                ctime_is_mtime: false,
                crtime_is_mtime: false,
                ..p.clone()
            };
            if without != *p {
                let a = shared
                    .entry(without)
                    .or_insert_with_key(|k| Arc::new(k.clone()))
                    .clone();
                n.posix = Some(a);
            }
        }
    }
    let rock_ridge = fs.contains(FileSystems::ROCK_RIDGE);
    // RRIP 4.1.5: with Rock Ridge, directories deeper than ISO 9660's 8 levels are relocated.
    let relocation = if rock_ridge && opts.level != IsoLevel::Iso1999 {
        relocate(&mut tree, &opts.rock_ridge.relocation_dir)?
    } else {
        None
    };
    let mut warnings = b.warnings.clone();
    // Links and special files some views leave out, names that are not UTF-8.
    super::notices::push(&tree, opts, &mut warnings);
    // El Torito: the boot catalog is a file of the image; entries are checked here.
    if !opts.boot.entries.is_empty() && !iso_on {
        return Err(Error::InvalidOption(
            "El Torito boot entries need ISO 9660".into(),
        ));
    }
    let boot = BootPlan::prepare(&mut tree, &opts.boot)?;
    if let Some(bp) = &boot {
        // A boot file whose boot info table is patched is written again, not left on the base.
        for e in bp.entries.iter().filter(|e| e.info_table.is_some()) {
            if let Some(crate::build::tree::Source::Base { in_place, .. }) =
                tree.data.get_mut(e.data as usize).map(|d| &mut d.source)
            {
                *in_place = false;
            }
        }
    }
    if opts.checksums {
        crate::extras::checksums::add_files(&mut tree)?;
    }
    let gpt = boot
        .as_ref()
        .and_then(|b| b.hybrid.as_ref())
        .is_some_and(|h| h.gpt);
    if gpt
        && !opts
            .boot
            .entries
            .iter()
            .any(|e| e.platform == crate::build::boot::Platform::Efi)
    {
        return Err(Error::InvalidOption(
            "a hybrid GPT needs a UEFI boot entry for its EFI system partition".into(),
        ));
    }

    // File size rules per level (ECMA-119 10.1-10.3: levels 1 and 2 have one extent per file).
    let multi_extent_ok = matches!(opts.level, IsoLevel::Level3 | IsoLevel::Iso1999);
    if iso_on && !multi_extent_ok {
        for n in tree.nodes.iter().enumerate() {
            if let NodeKind::File { data } = n.1.kind {
                let len = tree.data[data as usize].len;
                if len > u32::MAX as u64 {
                    return Err(Error::FileTooLarge {
                        path: tree.path_of(n.0 as u32),
                        size: len,
                    });
                }
            }
        }
    }

    // Views: names, sort order, directory sizes. They only read the tree, so the first view
    // is built on this thread (with the progress) while two more build the Joliet view (when
    // it is not the first) and the UDF plan; warnings keep the order ISO 9660, Joliet, UDF.
    let iso_order_of = relocation.clone();
    let joliet_on = fs.contains(FileSystems::JOLIET);
    let joliet_kind = ViewKind::Joliet {
        long: opts.joliet_long_names,
        long_paths: opts.joliet_long_paths,
    };
    let stop = AtomicBool::new(false);
    let mut aborted = false;
    let (first_view, side) = std::thread::scope(|s| {
        let tree = &tree;
        let stop = &stop;
        // Joliet and UDF each on a thread of their own (together they take longer than the
        // ISO 9660 view with Rock Ridge).
        let side_joliet = s.spawn(move || -> Result<(Option<View>, Vec<String>)> {
            let mut warnings = Vec::new();
            let joliet = if iso_on && joliet_on {
                Some(View::build(
                    tree,
                    joliet_kind,
                    None,
                    &mut StopFlag(stop),
                    &mut warnings,
                )?)
            } else {
                None
            };
            Ok((joliet, warnings))
        });
        let side_udf = s.spawn(move || -> Result<(Option<UdfPlan>, Vec<String>)> {
            let mut warnings = Vec::new();
            let udf = if udf_on {
                Some(UdfPlan::build(tree, &opts.udf, &mut warnings, &|| {
                    stop.load(Ordering::Relaxed)
                })?)
            } else {
                None
            };
            Ok((udf, warnings))
        });
        let first = if iso_on {
            let rr_input = rock_ridge.then(|| {
                let mut facts = crate::format::rockridge::rrip::FactsTable::new(tree);
                // The relocation directory holds the relocated directories, which are not its
                // children in the tree.
                if let Some((dir, moved)) = &relocation {
                    facts.set_dir_links(*dir, 2 + moved.len() as u32);
                }
                RrInput {
                    opts: &opts.rock_ridge,
                    relocation,
                    facts,
                    build_time,
                }
            });
            Some(View::build(
                tree,
                ViewKind::Iso(opts.level),
                rr_input,
                progress,
                &mut warnings,
            ))
        } else if joliet_on {
            Some(View::build(
                tree,
                joliet_kind,
                None,
                progress,
                &mut warnings,
            ))
        } else {
            None
        };
        if matches!(first, Some(Err(_))) {
            stop.store(true, Ordering::Relaxed);
        }
        // Abort stays prompt while the other thread finishes (once asked, never asked again).
        while !(side_joliet.is_finished() && side_udf.is_finished()) {
            if !stop.load(Ordering::Relaxed) && progress.query_abort() {
                stop.store(true, Ordering::Relaxed);
                aborted = true;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let panicked = || Error::Internal("a layout thread panicked".into());
        let side = side_joliet
            .join()
            .map_err(|_| panicked())
            .and_then(|j| Ok((j, side_udf.join().map_err(|_| panicked())?)));
        (first.transpose(), side)
    });
    let first_view = first_view?;
    if aborted {
        return Err(Error::Aborted);
    }
    let (joliet, udf) = side?;
    let (side_joliet, joliet_warnings) = joliet?;
    let (mut udf, udf_warnings) = udf?;
    warnings.extend(joliet_warnings);
    warnings.extend(udf_warnings);
    let (iso_view, joliet_view) = if iso_on {
        (first_view, side_joliet)
    } else {
        (None, first_view)
    };
    if progress.query_abort() {
        return Err(Error::Aborted);
    }

    let mut plan = Plan::new();
    // ECMA-119 6.2.1: sectors 0-15 are the system area.
    let hybrid = boot.as_ref().is_some_and(|b| b.hybrid.is_some());
    if let Some(a) = &append {
        // An appended session: the base's blocks, then the session's own system area.
        a.plan_base(&mut plan)?;
    } else {
        plan.reserve(
            16,
            if hybrid {
                SegKind::SystemArea
            } else {
                SegKind::Zero
            },
            ItemKind::SystemArea,
            "System area",
        );
    }
    // ECMA-119 6.7.1: the volume descriptor set from sector 16: primary, (enhanced), (Joliet),
    // terminator.
    if iso_on {
        let carried_boot_record =
            boot.is_none() && append.as_ref().is_some_and(|a| a.boot_record.is_some());
        let vd_count = 2
            + u64::from(boot.is_some() || carried_boot_record)
            + u64::from(opts.level == IsoLevel::Iso1999)
            + u64::from(joliet_view.is_some());
        plan.reserve(
            vd_count,
            SegKind::VolumeDescriptors,
            ItemKind::VolumeDescriptors,
            "Volume descriptors",
        );
    }
    // ECMA-167 2/8.3: the UDF volume recognition sequence follows without a gap.
    if udf_on {
        plan.reserve(
            3,
            SegKind::UdfVrs,
            ItemKind::VolumeDescriptors,
            "UDF volume recognition sequence",
        );
    }

    // ISO 9660 metadata: path tables (ECMA-119 6.9, type L then M per view), directories in path
    // table order, Rock Ridge continuation areas. With UDF it goes in the free sectors before
    // the anchor at 256 when it fits there, else after the anchor.
    let iso_meta_blocks: u64 = [iso_view.as_ref(), joliet_view.as_ref()]
        .into_iter()
        .flatten()
        .map(|v| {
            2 * blocks_for(v.path_table_size)
                + v.dirs.iter().map(|d| blocks_for(d.size)).sum::<u64>()
                + v.rr.as_ref().map_or(0, |rv| blocks_for(rv.pool_bytes))
        })
        .sum();
    let mut iso_placed: Option<IsoPlaced> = None;
    if udf_on {
        plan.pad_to(udf_layout::VDS_MAIN as u64)?;
        plan.reserve(
            16,
            SegKind::UdfVds { reserve: false },
            ItemKind::VolumeDescriptors,
            "UDF main volume descriptor sequence",
        );
        plan.reserve(
            16,
            SegKind::UdfVds { reserve: true },
            ItemKind::VolumeDescriptors,
            "UDF reserve volume descriptor sequence",
        );
        plan.reserve(
            2,
            SegKind::UdfLvid,
            ItemKind::VolumeDescriptors,
            "UDF logical volume integrity sequence",
        );
        if iso_on && plan.next_block() + iso_meta_blocks <= udf_layout::ANCHOR as u64 {
            iso_placed = Some(place_iso(
                &mut plan,
                &tree,
                iso_view.as_ref(),
                joliet_view.as_ref(),
                iso_order_of.as_ref(),
            ));
        }
        plan.pad_to(udf_layout::ANCHOR as u64)?;
        plan.reserve(
            1,
            SegKind::UdfAnchor,
            ItemKind::VolumeDescriptors,
            "UDF anchor volume descriptor pointer",
        );
    }
    // UDF file structure (ECMA-167 part 4) inside the partition that starts after the anchor,
    // at its very start: block numbers of the physical partition (1.02 to 2.01) count from the
    // partition start, and the file structure's (`UdfPlan::fe_block`, directory blocks, the file
    // set descriptor at block 0) from `fs_abs`, so the two must be the same sector. ISO 9660
    // metadata that did not fit before the anchor goes after it.
    if let Some(u) = udf.as_mut() {
        u.p_start = udf_layout::ANCHOR + 1;
        if u.rev.has_metadata_partition() {
            // UDF 2.2.13: the metadata partition is one extent of the metadata file that starts
            // at block 0 of the physical partition (aligned to the alignment unit) and is a
            // multiple of the allocation unit long, so block n of the metadata partition is
            // block n of the physical partition: readers that ignore the metadata partition map
            // (pycdlib, GRUB) find the file set descriptor, the entries and the directories
            // where readers that follow it do. The metadata file's and its mirror's entries
            // (in the physical partition) follow the extent.
            u.fs_abs = plan.next_block() as u32;
            debug_assert_eq!(u.fs_abs, u.p_start, "metadata partition not at block 0");
            reserve_udf_fs(&mut plan, &tree, u);
            let unit = udf_layout::META_UNIT as u64;
            let used = plan.next_block() - u.fs_abs as u64;
            plan.pad_to(u.fs_abs as u64 + used.div_ceil(unit) * unit)?;
            let blocks = (plan.next_block() - u.fs_abs as u64) as u32;
            let fe = plan.reserve(
                2,
                SegKind::UdfMetaEntries,
                ItemKind::FileEntries,
                "UDF metadata file and mirror file entries",
            );
            u.meta = Some(MetaPlan {
                fe_abs: fe as u32,
                start: 0,
                blocks,
            });
        } else {
            u.fs_abs = plan.next_block() as u32;
            debug_assert_eq!(
                u.fs_abs, u.p_start,
                "file structure not at the partition start"
            );
            reserve_udf_fs(&mut plan, &tree, u);
        }
    }
    if iso_on && iso_placed.is_none() {
        iso_placed = Some(place_iso(
            &mut plan,
            &tree,
            iso_view.as_ref(),
            joliet_view.as_ref(),
            iso_order_of.as_ref(),
        ));
    }

    // File data, stored once and shared by every view, in the order files were added.
    let mut first_node = vec![u32::MAX; tree.data.len()];
    for (i, n) in tree.nodes.iter().enumerate() {
        if let NodeKind::File { data } = n.kind {
            if first_node[data as usize] == u32::MAX {
                first_node[data as usize] = i as u32;
            }
        }
    }
    // Placement order (mkisofs -sort, oscdimg -yo): higher weights first, a directory's weight
    // applying to everything below it; equal weights keep the order files were added.
    let mut order: Vec<usize> = (0..tree.data.len()).collect();
    if !tree.weights.is_empty() {
        let weight_of = |mut n: NodeId| loop {
            if let Some(w) = tree.weights.get(&n) {
                break *w;
            }
            if n == 0 {
                break 0;
            }
            n = tree.node(n).parent;
        };
        let w: Vec<i32> = first_node
            .iter()
            .map(|&n| if n == u32::MAX { 0 } else { weight_of(n) })
            .collect();
        order.sort_by_key(|&id| std::cmp::Reverse(w[id]));
    }
    // Content deduplication: duplicates use their first twin's extent. Boot files whose boot
    // info table is patched are left alone (their bytes in the image differ). A single-pass
    // build decides only the large files here; small ones are hashed as they are written.
    let mut rank = vec![0u32; tree.data.len()];
    for (k, &id) in order.iter().enumerate() {
        rank[id] = k as u32;
    }
    let single_pass = single_pass && opts.dedup && append.is_none();
    let (dedup, deferred) = if opts.dedup {
        let mut exclude: std::collections::HashSet<u32> = boot
            .as_ref()
            .map(|b| {
                b.entries
                    .iter()
                    .filter(|e| e.info_table.is_some())
                    .map(|e| e.data)
                    .chain(b.appended.iter().copied())
                    .collect()
            })
            .unwrap_or_default();
        // Data an appended session leaves where it is on the base.
        exclude.extend((0..tree.data.len() as u32).filter(|&d| tree.record_extents(d).is_some()));
        let scope = if single_pass {
            crate::layout::dedup::Scope::LargeOnly
        } else {
            crate::layout::dedup::Scope::All
        };
        crate::layout::dedup::find(&tree, &exclude, &rank, scope, progress)?
    } else {
        (
            crate::layout::dedup::Dedup {
                canon: (0..tree.data.len() as u32).collect(),
                ..Default::default()
            },
            Vec::new(),
        )
    };
    let data_item = plan.items.segs.len();
    let data_block = plan.next_block();
    let file_lba = place_data(
        &mut plan,
        &tree,
        opts,
        &order,
        &dedup,
        udf.as_mut(),
        gpt,
        boot.as_ref().map_or(&[][..], |b| &b.appended[..]),
        !single_pass || deferred.is_empty(),
        progress,
    )?;
    let total_blocks = plan.next_block();
    let (iso, joliet) = match iso_placed {
        Some(p) => {
            let iso = iso_view.map(|view| LaidView {
                view,
                dir_lba: p.iso_dirs,
                path_tables: p.iso_pt,
                ce_block_lba: p.ce_block_lba,
            });
            let joliet = match (joliet_view, p.joliet_dirs, p.joliet_pt) {
                (Some(view), Some(dir_lba), Some(path_tables)) => Some(LaidView {
                    view,
                    dir_lba,
                    path_tables,
                    ce_block_lba: Vec::new(),
                }),
                _ => None,
            };
            (iso, joliet)
        }
        None => (None, None),
    };
    let seed = build_time.timestamp() as u64 ^ total_blocks.rotate_left(32);
    let patchers = boot
        .as_ref()
        .map(|b| b.patchers(&file_lba, &tree))
        .unwrap_or_default();
    let pending = (single_pass && !deferred.is_empty()).then(|| {
        Box::new(Pending {
            data_item,
            data_block,
            order: order.iter().map(|&i| i as u32).collect(),
            small: deferred,
            decided: dedup.clone(),
        })
    });
    let tree = Arc::new(tree);
    let layout = Layout {
        pending,
        checksums: std::sync::OnceLock::new(),
        dedup_saved: (dedup.files, dedup.saved_bytes),
        boot,
        patchers,
        seed,
        options: opts.clone(),
        build_time,
        iso,
        joliet,
        udf,
        file_lba,
        kinds: plan.kinds,
        items: ProgressItems::new(plan.items, Some(tree.clone())),
        total_blocks,
        warnings,
        tree,
    };
    Ok(Image {
        inner: Arc::new(layout),
    })
}

/// Where the ISO 9660 and Joliet metadata went.
struct IsoPlaced {
    iso_pt: PathTablePos,
    joliet_pt: Option<PathTablePos>,
    iso_dirs: Vec<u32>,
    joliet_dirs: Option<Vec<u32>>,
    ce_block_lba: Vec<u32>,
}

/// Reserves the ISO 9660 / Joliet metadata: path tables, directories, continuation areas.
fn place_iso(
    plan: &mut Plan,
    tree: &Tree,
    iso_view: Option<&View>,
    joliet_view: Option<&View>,
    relocation: Option<&(NodeId, Vec<NodeId>)>,
) -> IsoPlaced {
    // Path tables (ECMA-119 6.9): type L then type M, per view.
    let tables = |plan: &mut Plan, v: &View, sel: ViewSel| -> PathTablePos {
        let n = blocks_for(v.path_table_size);
        let label = v.kind.label();
        let l = plan.reserve(
            n,
            SegKind::PathTable {
                view: sel,
                big_endian: false,
            },
            ItemKind::PathTable,
            format!("Path table L ({label})"),
        );
        let m = plan.reserve(
            n,
            SegKind::PathTable {
                view: sel,
                big_endian: true,
            },
            ItemKind::PathTable,
            format!("Path table M ({label})"),
        );
        PathTablePos {
            l: l as u32,
            m: m as u32,
        }
    };
    let iso_pt = iso_view
        .map(|v| tables(plan, v, ViewSel::Iso))
        .unwrap_or_default();
    let joliet_pt = joliet_view.map(|v| tables(plan, v, ViewSel::Joliet));
    // Directories of each view, in path table order (see `iso_dir_order` for relocations).
    // SUSP 5.1: the Rock Ridge continuation areas of a directory's records follow it.
    let dirs = |plan: &mut Plan, v: &View, sel: ViewSel, order: &[usize]| {
        let label = v.kind.label();
        let mut lba = vec![0u32; v.dirs.len()];
        let mut ce_block_lba =
            vec![0u32; v.rr.as_ref().map_or(0, |r| blocks_for(r.pool_bytes)) as usize];
        for &i in order {
            let d = &v.dirs[i];
            lba[i] = plan.reserve(
                blocks_for(d.size),
                SegKind::Directory {
                    view: sel,
                    dir: i as u32,
                },
                ItemKind::Directory,
                format!("Directory {} ({label})", tree.path_of(d.node)),
            ) as u32;
            if let Some(&(first, n)) = v.rr.as_ref().and_then(|r| r.dir_pool.get(i)) {
                if n > 0 {
                    let at = plan.reserve(
                        n,
                        SegKind::ContinuationAreas { dir: i as u32 },
                        ItemKind::ContinuationAreas,
                        format!("Rock Ridge continuation areas of {}", tree.path_of(d.node)),
                    );
                    for k in 0..n {
                        ce_block_lba[(first + k) as usize] = (at + k) as u32;
                    }
                }
            }
        }
        (lba, ce_block_lba)
    };
    let (iso_dirs, ce_block_lba) = match iso_view {
        Some(v) => {
            let order = iso_dir_order(tree, v, relocation);
            dirs(plan, v, ViewSel::Iso, &order)
        }
        None => (Vec::new(), Vec::new()),
    };
    let joliet_dirs = joliet_view.map(|v| {
        let order: Vec<usize> = (0..v.dirs.len()).collect();
        dirs(plan, v, ViewSel::Joliet, &order).0
    });
    IsoPlaced {
        iso_pt,
        joliet_pt,
        iso_dirs,
        joliet_dirs,
        ce_block_lba,
    }
}

/// Reserves the UDF file structure from the current block (block 0 of its partition): the file
/// set descriptor and terminator, the file entries, the allocation extent descriptors of files
/// whose descriptors do not fit in their entries, each directory's data.
fn reserve_udf_fs(plan: &mut Plan, tree: &Tree, u: &mut UdfPlan) {
    plan.reserve(
        2,
        SegKind::UdfFileSet,
        ItemKind::FileEntries,
        "UDF file set descriptor",
    );
    let n = u.entries.len() as u32;
    let mut first = 0;
    while first < n {
        let count = (n - first).min(udf_layout::ENTRIES_PER_SEGMENT);
        plan.reserve(
            count as u64,
            // At most ENTRIES_PER_SEGMENT (256).
            SegKind::UdfEntries {
                first,
                count: count as u16,
            },
            ItemKind::FileEntries,
            format!("UDF file entries {}-{}", first + 1, first + count),
        );
        first += count;
    }
    let aed = u.aed_blocks();
    if aed > 0 {
        u.aed_start = (plan.next_block() - u.fs_abs as u64) as u32;
        plan.reserve(
            aed as u64,
            SegKind::UdfAllocExtents,
            ItemKind::FileEntries,
            "UDF allocation extent descriptors",
        );
    }
    for (d, dir) in u.dirs.iter_mut().enumerate() {
        dir.block = (plan.next_block() - u.fs_abs as u64) as u32;
        plan.reserve(
            blocks_for(dir.data_len),
            SegKind::UdfDir { dir: d as u32 },
            ItemKind::Directory,
            format!("Directory {} (UDF)", tree.path_of(dir.node)),
        );
    }
}

/// The order in which the ISO 9660 view's directories are laid out: path table order, except
/// that with relocated directories (RRIP 4.1.5) the relocation directory comes right after the
/// root, then the directories in the subtrees of the most deeply nested relocations, and the
/// directories that were not relocated last. Readers that stream the image in block order
/// (libarchive) join a relocated directory to its placeholder when they meet the placeholder,
/// and refuse the image ("Failed to connect 'CL' pointer to 'RE'") if a placeholder inside a
/// relocated subtree turns up after that subtree was joined to its own placeholder.
fn iso_dir_order(
    tree: &Tree,
    view: &View,
    relocation: Option<&(NodeId, Vec<NodeId>)>,
) -> Vec<usize> {
    let mut order: Vec<usize> = (0..view.dirs.len()).collect();
    let Some((reloc_dir, moved)) = relocation else {
        return order;
    };
    let moved: std::collections::HashSet<NodeId> = moved.iter().copied().collect();
    // How many relocated directories are on the original path to `n` (itself included).
    let nesting = |mut n: NodeId| {
        let mut k = 0usize;
        loop {
            k += usize::from(moved.contains(&n));
            if n == 0 {
                return k;
            }
            n = tree.node(n).parent;
        }
    };
    order.sort_by_cached_key(|&i| {
        let n = view.dirs[i].node;
        (i != 0, n != *reloc_dir, std::cmp::Reverse(nesting(n)), i)
    });
    order
}

/// RRIP 4.1.5: finds the directories that would be deeper than ISO 9660's 8 levels, moving each
/// (with its subtree) under a relocation directory at the root, where it is at level 3. Adds
/// the relocation directory to `tree` (hidden, ISO 9660 view only) and returns it with the
/// relocated directories, or `None` if nothing is too deep.
fn relocate(tree: &mut Tree, name: &str) -> Result<Option<(NodeId, Vec<NodeId>)>> {
    let mut moved = Vec::new();
    let mut stack: Vec<(NodeId, usize)> = vec![(0, 1)];
    while let Some((node, level)) = stack.pop() {
        for &c in tree.node(node).children() {
            if !tree.node(c).is_dir() {
                continue;
            }
            if level + 1 > 8 {
                moved.push(c);
                stack.push((c, 3));
            } else {
                stack.push((c, level + 1));
            }
        }
    }
    if moved.is_empty() {
        return Ok(None);
    }
    moved.sort_unstable();
    let mut unique = name.to_string();
    let mut n = 1;
    while tree.child(0, &unique).is_some() {
        unique = format!("{name}_{n}");
        n += 1;
    }
    let id = tree.add_dir_in(0, &unique)?;
    tree.set_synthetic(id);
    tree.set_hidden(id, true);
    Ok(Some((id, moved)))
}

/// The file-data placement left open by a single-pass build: what [`relayout`] needs to place
/// the data again once the writer has found the small duplicates.
pub(crate) struct Pending {
    /// Index of the first item (and block) after the metadata: file data starts here.
    pub data_item: usize,
    pub data_block: u64,
    /// Placement order of the data ids.
    pub order: Vec<u32>,
    /// Small files sharing their size with another, undecided, in placement order.
    pub small: Vec<crate::build::tree::DataId>,
    /// What was decided before writing (files larger than `dedup::SMALL_MAX`).
    pub decided: crate::layout::dedup::Dedup,
}

/// Reserves every file's data in placement `order` (duplicates take their canonical twin's
/// extent, empty files none), then the padding, the backup GPT and UDF's closing anchor, and
/// checks the size limits (`check_max`: the caller's `max_blocks`). Returns each data id's
/// first block.
#[allow(clippy::too_many_arguments)]
fn place_data(
    plan: &mut Plan,
    tree: &Tree,
    opts: &crate::build::builder::Options,
    order: &[usize],
    dedup: &crate::layout::dedup::Dedup,
    udf: Option<&mut UdfPlan>,
    gpt: bool,
    appended: &[crate::build::tree::DataId],
    check_max: bool,
    progress: &mut dyn Progress,
) -> Result<Vec<u32>> {
    let mut first_node = vec![u32::MAX; tree.data.len()];
    for (i, n) in tree.nodes.iter().enumerate() {
        if let NodeKind::File { data } = n.kind {
            if first_node[data as usize] == u32::MAX {
                first_node[data as usize] = i as u32;
            }
        }
    }
    let mut file_lba = vec![0u32; tree.data.len()];
    for (k, &id) in order.iter().enumerate() {
        let d = &tree.data[id];
        if k % 4096 == 4095 && progress.query_abort() {
            return Err(Error::Aborted);
        }
        if let Some(first) = tree.record_extents(id as u32).and_then(|p| p.first()) {
            file_lba[id] = first.lba; // Stays on the base image (appended session).
            continue;
        }
        if dedup.canon[id] != id as u32 {
            continue; // Stored once, with its twin.
        }
        if d.len == 0 || first_node[id] == u32::MAX {
            continue; // Empty files take no block and get extent location 0.
        }
        let lba = plan.reserve_node(
            blocks_for(d.len),
            SegKind::File { data: id as u32 },
            ItemKind::FileData,
            first_node[id],
        );
        file_lba[id] = u32::try_from(lba).unwrap_or(u32::MAX);
    }
    for id in 0..tree.data.len() {
        let c = dedup.canon[id] as usize;
        if c != id {
            file_lba[id] = file_lba[c];
        }
    }
    crate::layout::appended::place(plan, tree, appended, &mut file_lba);
    if opts.padding_blocks > 0 {
        plan.reserve(
            opts.padding_blocks as u64,
            SegKind::Zero,
            ItemKind::Padding,
            "Padding",
        );
    }
    // UDF 2.2.3 (ECMA-167 3/8.4.2.1): anchors in two of sectors 256, N - 256 and N (the last
    // one); the partition ends before the closing one. UEFI 5.3: the backup GPT ends the
    // image. With both, the GPT keeps the last sector and the closing anchor goes to N - 256,
    // zeros between the two.
    let mut udf = udf;
    let closing_anchor = |plan: &mut Plan, u: &mut UdfPlan| {
        let at = plan.reserve(
            1,
            SegKind::UdfAnchor,
            ItemKind::VolumeDescriptors,
            "UDF anchor volume descriptor pointer",
        );
        u.p_len = (at - u.p_start as u64) as u32;
    };
    if gpt {
        if let Some(u) = udf.as_deref_mut() {
            closing_anchor(plan, u);
            let backup = crate::format::eltorito::hybrid::GPT_BACKUP_BLOCKS as u64;
            plan.reserve(
                256 - backup,
                SegKind::Zero,
                ItemKind::Padding,
                "Padding (the UDF anchor is 256 sectors before the last)",
            );
        }
        plan.reserve(
            crate::format::eltorito::hybrid::GPT_BACKUP_BLOCKS as u64,
            SegKind::GptBackup,
            ItemKind::SystemArea,
            "Backup GPT",
        );
    } else if let Some(u) = udf {
        closing_anchor(plan, u);
    }

    let total_blocks = plan.next_block();
    if let Some(max) = opts.max_blocks.filter(|_| check_max) {
        if total_blocks > max {
            return Err(Error::ImageTooLarge {
                needed_blocks: total_blocks,
                needed_bytes: total_blocks * BLOCK_SIZE as u64,
                allowed_blocks: max,
                allowed_bytes: max * BLOCK_SIZE as u64,
            });
        }
    }
    // ECMA-119 8.4.8: the volume space size is a 32-bit block count.
    if total_blocks > u32::MAX as u64 {
        return Err(Error::ImageTooLarge {
            needed_blocks: total_blocks,
            needed_bytes: total_blocks * BLOCK_SIZE as u64,
            allowed_blocks: u32::MAX as u64,
            allowed_bytes: u32::MAX as u64 * BLOCK_SIZE as u64,
        });
    }
    Ok(file_lba)
}

/// Completes a single-pass layout: `dups` (data id -> the id whose extent it uses), the
/// duplicates found while writing, joins those decided before; the file data and what
/// follows it are placed again. Everything before the file data (the metadata, whose sizes do
/// not depend on where files are) keeps its blocks.
pub(crate) fn relayout(
    mut layout: Layout,
    dups: &std::collections::HashMap<u32, u32>,
    progress: &mut dyn Progress,
) -> Result<Layout> {
    let Some(p) = layout.pending.take() else {
        return Ok(layout);
    };
    let mut dedup = p.decided;
    for (&id, &c) in dups {
        let id = id as usize;
        if c as usize != id && dedup.canon.get(id) == Some(&(id as u32)) {
            if let Some(slot) = dedup.canon.get_mut(id) {
                *slot = c;
                dedup.files += 1;
                dedup.saved_bytes += layout.tree.data.get(id).map_or(0, |d| d.len);
            }
        }
    }
    let items = std::mem::take(&mut layout.items).into_prefix(p.data_item);
    let mut kinds = std::mem::take(&mut layout.kinds);
    kinds.truncate(p.data_item);
    let mut plan = Plan::resume(p.data_block, kinds, items);
    let gpt = layout
        .boot
        .as_ref()
        .and_then(|b| b.hybrid.as_ref())
        .is_some_and(|h| h.gpt);
    let order: Vec<usize> = p.order.iter().map(|&i| i as usize).collect();
    let appended = layout
        .boot
        .as_ref()
        .map(|b| b.appended.clone())
        .unwrap_or_default();
    let file_lba = place_data(
        &mut plan,
        &layout.tree,
        &layout.options,
        &order,
        &dedup,
        layout.udf.as_mut(),
        gpt,
        &appended,
        true,
        progress,
    )?;
    layout.total_blocks = plan.next_block();
    layout.seed = layout.build_time.timestamp() as u64 ^ layout.total_blocks.rotate_left(32);
    layout.patchers = layout
        .boot
        .as_ref()
        .map(|b| b.patchers(&file_lba, &layout.tree))
        .unwrap_or_default();
    layout.file_lba = file_lba;
    layout.dedup_saved = (dedup.files, dedup.saved_bytes);
    layout.kinds = plan.kinds;
    layout.items = ProgressItems::new(plan.items, Some(layout.tree.clone()));
    Ok(layout)
}
