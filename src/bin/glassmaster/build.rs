//! `glassmaster build`: make an image from files and directories.

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufWriter, IsTerminal};
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use crate::error::{CliError, CliResult, ResultExt};
use crate::interrupt;
use crate::map::write_items_json;
use crate::options::{layout_error, volume_name_warnings, ImageOpts};
use crate::progress_bar::{Bar, BuildProgress, SetProgress};
use crate::report::{os_safe, terminal_safe, Warnings};
use crate::size;
use crate::sources::{add_sources, check_output, parse_sources};

/// Arguments of `build`.
#[derive(Args, Debug)]
pub struct BuildArgs {
    /// A directory (its contents go to the image root), a file (added as /NAME), or a graft
    /// point /image/path=SRC as in mkisofs (a directory's contents go to /image/path; a file
    /// becomes /image/path, or goes inside it if it ends with '/'); write '\=' for a '=' in the
    /// image path
    #[arg(required = true, value_name = "SRC")]
    pub sources: Vec<OsString>,

    /// The image file to write (written to a temporary file beside it, then renamed); `-`
    /// writes the image to standard output, and an existing device or FIFO (`/dev/null`) is
    /// written directly
    #[arg(
        short,
        long,
        value_name = "OUT.iso",
        required_unless_present = "append_to",
        conflicts_with = "append_to"
    )]
    pub output: Option<PathBuf>,

    /// Grow IMAGE in place by one session: the tree of its newest session with the sources
    /// added over it (same paths replaced); its file systems are kept unless options change
    /// them (UDF is not appended)
    #[arg(long = "append-to", value_name = "IMAGE")]
    pub append_to: Option<PathBuf>,

    /// With --append-to: leave PATH (a file, or a directory with everything below it) out of
    /// the new session (repeatable)
    #[arg(long = "remove", value_name = "PATH", requires = "append_to")]
    pub remove: Vec<String>,

    /// With --append-to: align the new session's start to this many blocks (default 32 = 64
    /// KiB, as for overwriteable media)
    #[arg(long = "session-alignment", value_name = "BLOCKS", requires = "append_to",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub session_alignment: Option<u64>,

    #[command(flatten)]
    pub image: ImageOpts,

    /// Also write the image's block map as JSON (as `map --json` prints it)
    #[arg(long, value_name = "FILE.json")]
    pub map: Option<PathBuf>,

    /// Also write a manifest: every file with its path in each view, blocks, size, time
    #[arg(long, value_name = "FILE.json")]
    pub manifest: Option<PathBuf>,

    /// Add the SHA-256 of every file to the manifest (read back from the image stream)
    #[arg(long = "manifest-sha256", requires = "manifest")]
    pub manifest_sha256: bool,

    /// Placement order (like mkisofs -sort): a file of lines `IMAGE_PATH WEIGHT`; data of higher
    /// weights comes first, a directory's weight applies below it
    #[arg(long, value_name = "FILE")]
    pub sort: Option<PathBuf>,

    /// Span the tree over as many volumes as needed, each at most --volume-size (or
    /// --max-size): OUT.iso becomes OUT.001.iso, OUT.002.iso, ...; each volume is a complete
    /// image holding the set catalog (/SPANSET/CATALOG.TXT); files larger than a volume are
    /// split into parts. `glassmaster extract OUT.*.iso DEST` joins them again
    #[arg(long, conflicts_with_all = ["map", "manifest", "append_to"])]
    pub span: bool,

    /// The capacity of each volume with --span: bytes, with K/M/G/T (powers of 1024), or cd74,
    /// cd80, dvd5, dvd9, bd25, bd50
    #[arg(long = "volume-size", value_name = "SIZE", value_parser = size::parse_max_size, requires = "span")]
    pub volume_size: Option<u64>,

    /// Print nothing but errors and one line counting the warnings by kind (no progress, no
    /// summary)
    #[arg(short, long)]
    pub quiet: bool,

    /// List every warning (without it, the first ten of each kind are listed and the rest
    /// counted in one line; with -q, all are counted)
    #[arg(long)]
    pub warnings: bool,
}

/// Runs `build`.
pub fn run(args: BuildArgs, boot: &crate::boot_args::BootArgs) -> CliResult {
    let start = Instant::now();
    interrupt::install();
    let specs = parse_sources(&args.sources)?;
    if args.append_to.is_none() && (!args.remove.is_empty() || args.session_alignment.is_some()) {
        return Err(CliError::Usage(
            "--remove and --session-alignment need --append-to IMAGE".into(),
        ));
    }
    if let Some(base) = &args.append_to {
        return append(&args, base, &specs, boot, start);
    }
    let Some(out) = args.output.as_ref() else {
        return Err(CliError::Usage(
            "give -o OUT.iso or --append-to IMAGE".into(),
        ));
    };
    let to_stdout = out.as_os_str() == "-";
    if to_stdout && std::io::stdout().is_terminal() {
        return Err(CliError::Usage(
            "-o - writes the image to standard output, which is a terminal: redirect it (> out.iso, | command) or give a file name".into(),
        ));
    }
    if !to_stdout {
        check_output(out, &specs)?;
    }
    let mut builder = args.image.builder()?;
    let mut progress = BuildProgress::new(Bar::new(args.quiet));
    let mut warnings = Warnings::new(args.quiet, args.warnings);
    for w in volume_name_warnings(builder.options()) {
        warnings.one(progress.bar(), &w);
    }

    let added = add_sources(&mut builder, &specs, &mut progress);
    // The scan's warnings are shown even when a later source fails.
    warnings.builder(progress.bar(), builder.warnings());
    added?;
    boot.apply(&mut builder).map_err(CliError::msg)?;
    if let Some(sort) = &args.sort {
        apply_sort_file(&mut builder, sort)?;
    }
    warnings.builder(progress.bar(), builder.warnings());

    if args.span {
        return write_span(&args, out, builder, progress, warnings, start);
    }
    let built = if to_stdout {
        builder
            .into_image(&mut progress)
            .map_err(|e| layout_error(e, &args.image, "cannot lay out the image".into()))
            .and_then(|image| {
                warnings.image(progress.bar(), image.warnings());
                write_to_stdout(&image, &mut progress)
                    .context(|| "cannot write to standard output")?;
                Ok(image)
            })
    } else {
        // Lays out and writes in one call: with deduplication, small files are read once.
        builder
            .build_to_path(out, &mut progress)
            .map_err(|e| {
                let context = format!("cannot build {}", os_safe(out.as_os_str()));
                layout_error(e, &args.image, context)
            })
            .inspect(|image| warnings.image(progress.bar(), image.warnings()))
    };
    warnings.summary(progress.bar());
    let image = built?;
    let files = image.file_count();
    drop(progress);

    if let Some(map_path) = &args.map {
        let write = || -> std::io::Result<()> {
            let file = File::create(map_path)?;
            write_items_json(BufWriter::new(file), image.progress_items())
        };
        write().context(|| format!("cannot write the map {}", map_path.display()))?;
    }

    if let Some(path) = &args.manifest {
        let entries = if args.manifest_sha256 {
            image
                .manifest_with_hashes(&mut glassmaster::NoProgress)
                .context(|| "cannot hash the files for the manifest")?
        } else {
            image.manifest()
        };
        let json: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "path": e.path,
                    "iso9660": e.iso9660,
                    "joliet": e.joliet,
                    "rock_ridge": e.rock_ridge,
                    "udf": e.udf,
                    "size": e.size,
                    "first_block": e.blocks.map(|b| b.0),
                    "last_block": e.blocks.map(|b| b.1),
                    "mtime": e.mtime.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    "sha256": e.sha256.map(|h| crate::verify::hex(&h)),
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&json).unwrap_or_default();
        std::fs::write(path, text + "\n")
            .context(|| format!("cannot write the manifest {}", path.display()))?;
    }

    if !args.quiet {
        eprintln!(
            "glassmaster: wrote {}: {} ({} bytes), {} blocks, {}, in {:.2} s",
            os_safe(out.as_os_str()),
            indicatif::DecimalBytes(image.size_bytes()),
            image.size_bytes(),
            image.total_blocks(),
            crate::report::counted(files, "file", "files"),
            start.elapsed().as_secs_f64()
        );
        let (dup_files, dup_bytes) = image.dedup_saved();
        if dup_files > 0 {
            eprintln!(
                "glassmaster: deduplicated {} with identical contents, saving {} ({dup_bytes} bytes)",
                crate::report::counted(dup_files, "file", "files"),
                indicatif::DecimalBytes(dup_bytes)
            );
        }
    }
    // The process ends here: freeing a million entries one by one would only cost time.
    std::mem::forget(image);
    Ok(())
}

/// Writes the image to standard output: through the descriptor itself, so a regular file
/// behind it (`> out.iso`) gets the kernel copy of file data.
#[cfg(unix)]
pub(crate) fn write_to_stdout(
    image: &glassmaster::Image,
    progress: &mut dyn glassmaster::Progress,
) -> glassmaster::Result<()> {
    use std::os::fd::AsFd;
    let fd = std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map_err(glassmaster::Error::Write)?;
    image.write_to_file(&File::from(fd), progress)
}

/// Writes the image to standard output.
#[cfg(not(unix))]
pub(crate) fn write_to_stdout(
    image: &glassmaster::Image,
    progress: &mut dyn glassmaster::Progress,
) -> glassmaster::Result<()> {
    image.write_to(std::io::stdout().lock(), progress)
}

/// `build --span`: plans the volumes, hashes the files once for the set catalog, writes every
/// volume atomically (one progress bar over the whole set) and prints a summary.
fn write_span(
    args: &BuildArgs,
    out: &std::path::Path,
    mut builder: glassmaster::ImageBuilder,
    mut progress: BuildProgress,
    mut warnings: Warnings,
    start: Instant,
) -> CliResult {
    let Some(capacity) = args.volume_size.or(args.image.max_size) else {
        return Err(CliError::Usage(
            "--span needs the capacity of a volume: --volume-size SIZE (or --max-size SIZE)".into(),
        ));
    };
    builder.options_mut().max_blocks = None;
    let plan = glassmaster::span::plan(&builder, capacity, &mut progress)
        .context(|| "cannot lay out the volumes")?;
    for v in plan.volumes() {
        for w in v.image().warnings() {
            warnings.one(progress.bar(), &format!("{}: {w}", v.label()));
        }
    }
    warnings.summary(progress.bar());
    plan.compute_catalog(&mut progress)
        .context(|| "cannot hash the files for the set catalog")?;
    let count = plan.volumes().len() as u32;
    let total: u64 = plan
        .volumes()
        .iter()
        .map(|v| v.image().total_blocks())
        .sum();
    let paths: Vec<PathBuf> = (1..=count)
        .map(|n| glassmaster::span::volume_path(out, n, count))
        .collect();
    {
        let mut set = SetProgress::new(&mut progress, total);
        for (k, (v, path)) in plan.volumes().iter().zip(&paths).enumerate() {
            set.next_volume(v.label(), v.image().total_blocks());
            let written = v
                .image()
                .write_to_path(path, &mut set)
                .context(|| format!("cannot write {}", os_safe(path.as_os_str())));
            if let Err(e) = written {
                // An incomplete set is of no use (and an interrupted build leaves nothing
                // behind): the volumes this run wrote go too.
                for done in paths.iter().take(k) {
                    let _ = std::fs::remove_file(done);
                }
                return Err(e);
            }
        }
        set.finish();
    }
    drop(progress);
    if !args.quiet {
        eprintln!(
            "glassmaster: wrote {count} volumes of set {} (at most {} blocks each) in {:.2} s:",
            plan.set_id(),
            plan.capacity_blocks(),
            start.elapsed().as_secs_f64()
        );
        for (v, path) in plan.volumes().iter().zip(&paths) {
            eprintln!(
                "  {} ({}): {} ({} bytes), {} blocks, {} whole files, {} parts",
                os_safe(path.as_os_str()),
                v.label(),
                indicatif::DecimalBytes(v.image().size_bytes()),
                v.image().size_bytes(),
                v.image().total_blocks(),
                v.whole_files(),
                v.parts()
            );
        }
        let split = plan.split_files();
        if split.is_empty() {
            eprintln!("glassmaster: no file was split");
        } else {
            eprintln!(
                "glassmaster: {} split over volumes:",
                crate::report::counted(split.len() as u64, "file", "files")
            );
            for (path, parts) in split {
                eprintln!("  {} ({parts} parts)", terminal_safe(&path));
            }
        }
    }
    Ok(())
}

/// `build --append-to IMAGE`: imports the newest session, applies removals and the sources,
/// and grows IMAGE in place by one session.
fn append(
    args: &BuildArgs,
    path: &std::path::Path,
    specs: &[crate::sources::SourceSpec],
    boot: &crate::boot_args::BootArgs,
    start: Instant,
) -> CliResult {
    use glassmaster::multisession::{BaseImage, DEFAULT_SESSION_ALIGNMENT};
    if args.manifest.is_some() {
        return Err(CliError::msg(
            "--manifest is not supported with --append-to",
        ));
    }
    // The image grown in place must not be an input (inside a source directory) too. (What
    // is no regular file is reported by `BaseImage::open`.)
    if path.is_file() {
        check_output(path, specs)?;
    }
    let base = BaseImage::open(path)
        .context(|| format!("cannot use {} as the base image", path.display()))?;
    let mut builder = glassmaster::ImageBuilder::import(&base)
        .context(|| format!("cannot import the tree of {}", path.display()))?;
    args.image.apply_over(&mut builder)?;
    for p in &args.remove {
        builder.remove(p).context(|| {
            format!(
                "--remove {p}: not in the newest session of {}",
                path.display()
            )
        })?;
    }
    let mut progress = BuildProgress::new(Bar::new(args.quiet));
    let mut warnings = Warnings::new(args.quiet, args.warnings);
    if args.image.volume_id.is_some() {
        for w in volume_name_warnings(builder.options()) {
            warnings.one(progress.bar(), &w);
        }
    }
    let added = add_sources(&mut builder, specs, &mut progress);
    warnings.builder(progress.bar(), builder.warnings());
    added?;
    boot.apply(&mut builder).map_err(CliError::msg)?;
    if let Some(sort) = &args.sort {
        apply_sort_file(&mut builder, sort)?;
    }
    warnings.builder(progress.bar(), builder.warnings());
    let append = builder
        .build_append_aligned(
            &base,
            args.session_alignment.unwrap_or(DEFAULT_SESSION_ALIGNMENT),
            &mut progress,
        )
        .map_err(|e| layout_error(e, &args.image, "cannot lay out the new session".into()));
    if let Ok(a) = &append {
        warnings.image(progress.bar(), a.image().warnings());
    }
    warnings.summary(progress.bar());
    let append = append?;
    append
        .write_in_place(&mut progress)
        .context(|| format!("cannot append a session to {}", path.display()))?;
    drop(progress);
    if let Some(map_path) = &args.map {
        let write = || -> std::io::Result<()> {
            let file = File::create(map_path)?;
            write_items_json(BufWriter::new(file), append.progress_items())
        };
        write().context(|| format!("cannot write the map {}", map_path.display()))?;
    }
    if !args.quiet {
        let written: u64 = append.modified_blocks().iter().map(|r| r.block_count).sum();
        eprintln!(
            "glassmaster: appended session {} to {}: blocks {}-{}, {} blocks written ({} bytes), {}, in {:.2} s",
            base.sessions().len() + 1,
            path.display(),
            append.session_start(),
            append.session_end() - 1,
            written,
            written * 2048,
            crate::report::counted(append.image().file_count(), "file", "files"),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Reads a sort file: `IMAGE_PATH WEIGHT` per line (the weight last, so paths may hold spaces);
/// blank lines and lines starting with `#` are ignored.
fn apply_sort_file(builder: &mut glassmaster::ImageBuilder, file: &std::path::Path) -> CliResult {
    let text = std::fs::read_to_string(file)
        .context(|| format!("cannot read sort file {}", file.display()))?;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || {
            CliError::msg(format!(
                "{}:{}: expected `IMAGE_PATH WEIGHT`",
                file.display(),
                n + 1
            ))
        };
        let (path, weight) = line.rsplit_once(char::is_whitespace).ok_or_else(bad)?;
        let weight: i32 = weight.parse().map_err(|_| bad())?;
        let path = path.trim();
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        builder
            .set_weight(&path, weight)
            .context(|| format!("{}:{}: {path}", file.display(), n + 1))?;
    }
    Ok(())
}
