//! `glassmaster extract`: recreate an image's tree on disk, through the library's
//! `ImageReader::restore` (`src/read/restore/`), which holds the rules: every name is checked
//! to be a single, ordinary path component and created byte for byte; nothing of DEST is
//! changed unless `--overwrite` is given (an entry in the way is an error naming it, checked
//! before anything is written); symbolic links are never followed while writing; names the
//! destination takes for one are an error naming both. This file turns the options into
//! `RestoreOptions`, draws the progress, prints the report and keeps the messages; a spanned
//! set goes to `span_extract.rs`, `--boot-images` is handled here.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use glassmaster::read::restore::{Conflict, ConflictKind};
use glassmaster::read::{RestoreError, RestoreOptions};
use glassmaster::{Outcome, Phase, Progress, ProgressItem};

use crate::dest::{check_dest, clear, conflicts_error, extracted_counts, shown, LISTED_CONFLICTS};
use crate::error::{CliError, CliResult, ResultExt};
use crate::image_file::{choose_view, open_session, printable, ViewArg};
use crate::interrupt;
use crate::progress_bar::Bar;

/// Arguments of `extract`.
#[derive(Args, Debug)]
pub struct ExtractArgs {
    /// The image file; or every volume of a set made with `build --span`, in any order (the
    /// set is restored whole, split files joined and every checksum verified)
    #[arg(value_name = "IMAGE", required = true, num_args = 1..)]
    pub images: Vec<PathBuf>,

    /// Directory to extract into (created if missing)
    #[arg(value_name = "DEST")]
    pub dest: PathBuf,

    /// Which tree to extract (default: the richest the image has); with --view, one volume of
    /// a spanned set is extracted as an ordinary image
    #[arg(long, value_enum)]
    pub view: Option<ViewArg>,

    /// Print nothing but errors and warnings
    #[arg(short, long)]
    pub quiet: bool,

    /// Extract the El Torito boot images instead (as DEST/boot-N-PLATFORM.img)
    #[arg(long = "boot-images")]
    pub boot_images: bool,

    /// Extract session N (1 = the oldest) of a multisession image instead of the newest
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub session: Option<u32>,

    /// Replace files and symbolic links already in DEST (a link is replaced, never followed).
    /// Without it, any entry of DEST the image would write over is an error naming it, and
    /// nothing is extracted; a directory of the image merges into an existing directory
    /// either way, and a directory in the way of a file is always an error
    #[arg(long)]
    pub overwrite: bool,

    /// Also create the device nodes and FIFOs the image records (Rock Ridge or UDF; devices
    /// need root). Without it each is named in a warning and not created
    #[arg(long = "special-files")]
    pub special_files: bool,

    /// Give files the owners (user and group ids) the image records (needs root; otherwise one
    /// warning, and the files are the user's)
    #[arg(long)]
    pub owners: bool,
}

/// Runs `extract`.
pub fn run(args: ExtractArgs) -> CliResult {
    let start = Instant::now();
    interrupt::install();
    let spanned = args.images.len() > 1
        || (args.view.is_none()
            && args.session.is_none()
            && !args.boot_images
            && crate::span_extract::is_volume(&args.images[0])?);
    if spanned {
        if args.boot_images || args.view.is_some() || args.session.is_some() {
            return Err(CliError::Usage(
                "--view, --session and --boot-images take a single image".into(),
            ));
        }
        if args.special_files {
            return Err(CliError::Usage(
                "--special-files takes a single image (a spanned set lists its special files in the catalog but does not create them)".into(),
            ));
        }
        return crate::span_extract::run(
            &args.images,
            &args.dest,
            args.quiet,
            args.overwrite,
            start,
        );
    }
    let image = &args.images[0];
    let mut reader = open_session(image, args.session)?;
    if args.boot_images {
        let images = reader
            .boot_images()
            .context(|| format!("cannot read the boot catalog of {}", image.display()))?;
        fs::create_dir_all(&args.dest)
            .context(|| format!("cannot create {}", args.dest.display()))?;
        let name = |i: usize, info: &glassmaster::read::BootImageInfo| {
            format!("boot-{}-{:?}.img", i + 1, info.entry.platform).to_lowercase()
        };
        let bar = Bar::new(true);
        let names: Vec<String> = images.iter().enumerate().map(|(i, b)| name(i, b)).collect();
        check_dest(
            &args.dest,
            names.iter().map(|n| (args.dest.join(n), false, n.as_str())),
            args.overwrite,
            &bar,
        )?;
        for (i, info) in images.iter().enumerate() {
            let bytes = reader
                .read_boot_image(info)
                .context(|| format!("cannot read boot image {}", i + 1))?;
            let path = args.dest.join(name(i, info));
            clear(&path, args.overwrite)?;
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .context(|| format!("cannot create {}", shown(&path)))?;
            file.write_all(&bytes)
                .context(|| format!("cannot write {}", shown(&path)))?;
            if !args.quiet {
                eprintln!("glassmaster: wrote {} ({} bytes)", shown(&path), info.len);
            }
        }
        return Ok(());
    }
    let view = choose_view(&reader, args.view)?;
    let options = RestoreOptions::new()
        .overwrite(args.overwrite)
        .special_files(args.special_files)
        .owners(args.owners);
    let mut progress = RestoreProgress::new(Bar::new(args.quiet));
    let result = reader.restore(view, &args.dest, &options, &mut progress);
    let bar = progress.into_bar();
    for warning in reader.warnings() {
        bar.eprintln(&format!("glassmaster: warning: {}", printable(warning)));
    }
    let report = match result {
        Ok(report) => report,
        Err(RestoreError::InTheWay {
            dest,
            conflicts,
            count,
            overwrite,
            skipped,
        }) => {
            for warning in &skipped {
                bar.eprintln(&format!("glassmaster: warning: {warning}"));
            }
            return Err(in_the_way(&dest, &conflicts, count, overwrite, &bar));
        }
        Err(RestoreError::Aborted { .. }) => return Err(CliError::Interrupted),
        Err(e) => return Err(e.into()),
    };
    for warning in &report.skipped {
        bar.eprintln(&format!("glassmaster: warning: {warning}"));
    }
    for collision in &report.collisions {
        bar.eprintln(&format!("glassmaster: error: {collision}"));
    }
    for warning in &report.warnings {
        bar.eprintln(&format!("glassmaster: warning: {warning}"));
    }
    if !args.quiet {
        eprintln!(
            "glassmaster: extracted {} ({}) from {} to {} in {:.2} s",
            extracted_counts(report.files, report.symlinks, report.dirs),
            indicatif::DecimalBytes(report.total_bytes),
            image.display(),
            args.dest.display(),
            start.elapsed().as_secs_f64()
        );
    }
    match report.not_restored() {
        0 => Ok(()),
        left_out => Err(CliError::msg(format!(
            "{} not extracted (see the messages above)",
            crate::report::counted(left_out as u64, "entry was", "entries were")
        ))),
    }
}

/// Prints the entries of DEST in the way (the first [`LISTED_CONFLICTS`]) and returns the
/// error saying nothing was extracted.
fn in_the_way(
    dest: &Path,
    conflicts: &[Conflict],
    count: usize,
    overwrite: bool,
    bar: &Bar,
) -> CliError {
    for c in conflicts.iter().take(LISTED_CONFLICTS) {
        let problem = match c.kind {
            ConflictKind::DirectoryInTheWay => {
                "is a directory (not replaced, even with --overwrite)".to_string()
            }
            _ => format!("already exists ({})", c.found),
        };
        bar.eprintln(&format!(
            "glassmaster: error: {} (for {}) {problem}",
            shown(&c.path),
            printable(&c.image_path)
        ));
    }
    conflicts_error(dest, count, overwrite)
}

/// The progress of a restore on the terminal: a spinner counting the entries read, then a bar
/// counting bytes with the file being written; Ctrl-C stops it through `query_abort`.
struct RestoreProgress {
    bar: Bar,
    entries: u64,
}

impl RestoreProgress {
    fn new(bar: Bar) -> Self {
        RestoreProgress { bar, entries: 0 }
    }
    fn into_bar(mut self) -> Bar {
        self.bar.finish();
        self.bar
    }
}

impl Progress for RestoreProgress {
    fn begin(&mut self, phase: Phase, total: u64) {
        match phase {
            Phase::Scan => self.bar.spinner("reading directories", 0),
            _ => self.bar.bytes(total),
        }
    }
    fn scanned(&mut self, _image_path: &str) {
        self.entries += 1;
        self.bar.set_position(self.entries);
    }
    fn item_started(&mut self, item: &ProgressItem) {
        self.bar.set_message(&printable(&item.description));
    }
    fn update(&mut self, done: u64, _total: u64) {
        self.bar.set_position(done);
    }
    fn query_abort(&mut self) -> bool {
        interrupt::interrupted()
    }
    fn end(&mut self, _phase: Phase, _outcome: Outcome) {
        self.bar.finish();
    }
}
