//! The views: names, sort order, directory sizes. They only read the tree, so the first view
//! (ISO 9660, or Joliet without it) is built on the caller's thread with the progress while
//! two more threads build the Joliet view (when it is not the first) and the UDF plan;
//! warnings keep the order ISO 9660, Joliet, UDF.

use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::build::options::{FileSystems, Options};
use crate::build::tree::{NodeId, Tree};
use crate::error::{Error, Result};
use crate::layout::dir_tree::{DirTree, RrInput, TreeKind};
use crate::layout::udf::UdfPlan;
use crate::progress::Progress;

/// The progress of the layout's side threads: no reports, an abort when `query_abort` on the
/// caller's thread (or an error there) set the flag.
struct StopFlag<'a>(&'a AtomicBool);

impl Progress for StopFlag<'_> {
    fn query_abort(&mut self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The views of one layout.
pub(crate) struct Views {
    pub iso: Option<DirTree>,
    pub joliet: Option<DirTree>,
    pub udf: Option<UdfPlan>,
}

/// Builds every view the options ask for; `relocation` is the relocation directory and the
/// directories moved under it (Rock Ridge). Warnings are appended to `warnings`.
pub(crate) fn build(
    tree: &Tree,
    opts: &Options,
    relocation: Option<(NodeId, Vec<NodeId>)>,
    build_time: DateTime<Utc>,
    progress: &mut dyn Progress,
    warnings: &mut Vec<crate::warning::Warning>,
) -> Result<Views> {
    let fs = opts.filesystems;
    let iso_on = fs.contains(FileSystems::ISO9660);
    let udf_on = fs.contains(FileSystems::UDF);
    let rock_ridge = fs.contains(FileSystems::ROCK_RIDGE);
    let joliet_on = fs.contains(FileSystems::JOLIET);
    let joliet_kind = TreeKind::Joliet {
        long: opts.joliet_long_names,
        long_paths: opts.joliet_long_paths,
        utf16: opts.joliet_utf16,
    };
    let stop = AtomicBool::new(false);
    let mut aborted = false;
    let (first_view, side) = std::thread::scope(|s| {
        let stop = &stop;
        // Joliet and UDF each on a thread of their own (together they take longer than the
        // ISO 9660 view with Rock Ridge).
        let side_joliet = s.spawn(
            move || -> Result<(Option<DirTree>, Vec<crate::warning::Warning>)> {
                let mut warnings = Vec::new();
                let joliet = if iso_on && joliet_on {
                    Some(DirTree::build(
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
            },
        );
        let side_udf = s.spawn(
            move || -> Result<(Option<UdfPlan>, Vec<crate::warning::Warning>)> {
                let mut warnings = Vec::new();
                let udf = if udf_on {
                    Some(UdfPlan::build(tree, &opts.udf, &mut warnings, &|| {
                        stop.load(Ordering::Relaxed)
                    })?)
                } else {
                    None
                };
                Ok((udf, warnings))
            },
        );
        let first = if iso_on {
            let rr_input = rock_ridge.then(|| {
                let mut facts = crate::layout::dir_tree::FactsTable::new(tree);
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
            Some(DirTree::build(
                tree,
                TreeKind::Iso(opts.level),
                rr_input,
                progress,
                warnings,
            ))
        } else if joliet_on {
            Some(DirTree::build(tree, joliet_kind, None, progress, warnings))
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
    let (udf, udf_warnings) = udf?;
    warnings.extend(joliet_warnings);
    warnings.extend(udf_warnings);
    let (iso, joliet) = if iso_on {
        (first_view, side_joliet)
    } else {
        (None, first_view)
    };
    if progress.query_abort() {
        return Err(Error::Aborted);
    }
    Ok(Views { iso, joliet, udf })
}
