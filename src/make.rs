//! The pipeline's driver: [`ImageBuilder`]'s last steps, which run build -> layout -> image.
//! The options are checked ([`Options::validate`](crate::Options)), the generated files (boot
//! catalog, checksum list) are added to the tree, [`lay_out`] returns a [`Layout`](crate::layout::Layout)
//! and the [`Image`] wraps it. It sits above every part (it names the extras whose files it
//! adds); nothing imports it.

use std::fs;
use std::sync::Arc;

use crate::build::boot::BootPlan;
use crate::build::builder::ImageBuilder;
use crate::build::tree::Tree;
use crate::error::Result;
use crate::extras::checksums;
use crate::image::Image;
use crate::layout::pipeline::{lay_out, prepare};
use crate::progress::{Outcome, Phase, Progress};

impl ImageBuilder {
    /// Lays the image out (no byte is rendered yet), driving `progress` through the
    /// [`Phase::Layout`] phase (pass `&mut NoProgress` for none; [`Error::Aborted`](crate::Error::Aborted)
    /// when it asks to stop). Fails if a name cannot be represented, the tree is too deep, a
    /// file is too large for the level, or the image exceeds `max_blocks`.
    pub fn build(&self, progress: &mut dyn Progress) -> Result<Image> {
        let tree = self.tree.clone_for_layout();
        self.lay_out_with_progress(tree, false, progress)
    }

    /// [`build`](Self::build), consuming the builder: the image takes the builder's tree
    /// instead of a copy of it, so a large tree is held in memory once.
    pub fn into_image(mut self, progress: &mut dyn Progress) -> Result<Image> {
        let tree = std::mem::replace(&mut self.tree, Tree::new());
        self.hard_links = Default::default();
        self.lay_out_with_progress(tree, false, progress)
    }

    /// Lays out and writes the image to `path` atomically (as
    /// [`Image::write_to_path`]), consuming the builder, and returns the image written. The
    /// bytes are the same as [`into_image`](Self::into_image) then `write_to_path`, but with
    /// deduplication on and a new file as the destination the small files are read once
    /// instead of twice: a file sharing its size with another is hashed as it is written, and
    /// a duplicate is not written (see the design notes, "single-pass deduplication"). The
    /// progress phases are `Layout` then `Write`; the `Write` total is the size before the
    /// duplicates found while writing are taken out. An output that is a source is refused
    /// before the layout (see [`Image::write_to_path`]).
    pub fn build_to_path(
        mut self,
        path: &std::path::Path,
        progress: &mut dyn Progress,
    ) -> Result<Image> {
        // Before the layout: an output that is a source fails at once.
        crate::image::output_check::refuse_source_overwrite(&self.tree, path)?;
        let special_dest = fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir());
        if self.options.append.is_none() && !special_dest {
            // Large files at even blocks where the output can clone them (`image::reflink`).
            self.options.prepare_reflink(path)?;
        } else if self.options.reflink == crate::build::options::Reflink::Always {
            return Err(crate::error::Error::InvalidOption(format!(
                "--reflink always: {} is not a new regular file on this file system",
                path.display()
            )));
        }
        let single = self.options.dedup
            && !self.options.checksums
            && self.options.append.is_none()
            && !special_dest
            // Aligned files keep their place only if no small file before them is left out.
            && !self.options.reflink_align;
        let tree = std::mem::replace(&mut self.tree, Tree::new());
        self.hard_links = Default::default();
        let image = self.lay_out_with_progress(tree, single, progress)?;
        if image.inner.pending.is_none() {
            image.write_to_path(path, progress)?;
            return Ok(image);
        }
        crate::image::single_pass::write_to_path(image, path, progress)
    }

    fn lay_out_with_progress(
        &self,
        tree: Tree,
        single_pass: bool,
        progress: &mut dyn Progress,
    ) -> Result<Image> {
        let nodes = tree.nodes.len() as u64;
        progress.begin(Phase::Layout, nodes);
        let r = run(self, tree, single_pass, progress);
        if r.is_ok() {
            progress.update(nodes, nodes);
        }
        progress.end(Phase::Layout, Outcome::of(&r));
        r
    }
}

/// The pipeline, top to bottom: the options are checked, the layout prepares the tree, the
/// generated files join it (the boot catalog, then the embedded checksum list), the layout
/// places everything, and the image wraps the layout, the builder's warnings before the
/// layout's.
fn run(
    b: &ImageBuilder,
    tree: Tree,
    single_pass: bool,
    progress: &mut dyn Progress,
) -> Result<Image> {
    let opts = &b.options;
    opts.validate()?;
    // The layout's tree (moved or copied), without removed entries and without its name index,
    // as the layout sees it.
    let mut tree = tree.into_compacted().without_index();
    if let Some(limit) = opts.clamp_times {
        tree.clamp_times(limit);
    }
    let mut prepared = prepare(opts, tree)?;
    // El Torito: the boot catalog is a file of the image; entries are checked here.
    let boot = BootPlan::prepare(&mut prepared.tree, &opts.boot)?;
    if opts.checksums {
        refuse_one_shot(
            &prepared.tree,
            "checksums (they hash every file before the write)",
        )?;
        checksums::add_files(&mut prepared.tree)?;
    }
    let mut layout = lay_out(opts, prepared, boot, single_pass, progress)?;
    layout.warnings.splice(0..0, b.warnings.iter().cloned());
    Ok(Image {
        inner: Arc::new(layout),
    })
}

/// Refuses a tree holding a one-shot source ([`ImageBuilder::add_stream`]) when `what` reads
/// every file before the write: the stream could not be read again by the write.
fn refuse_one_shot(tree: &Tree, what: &str) -> Result<()> {
    use crate::build::tree::{NodeKind, Source};
    for (i, n) in tree.nodes.iter().enumerate() {
        if let NodeKind::File { data } = n.kind {
            if matches!(
                tree.data.get(data as usize).map(|d| &d.source),
                Some(Source::Stream(_))
            ) {
                return Err(crate::error::Error::InvalidOption(format!(
                    "{} is a one-shot stream (add_stream) and {what} would read it before the \
                     image is written: add it with add_seekable or add_reader, or turn them off",
                    tree.path_of(i as u32)
                )));
            }
        }
    }
    Ok(())
}
