//! The mkisofs personality: the command line of `xorriso -as mkisofs`, taken when the binary
//! runs as `xorrisofs`, `mkisofs`, `genisoimage` or `genisofs` (argv[0], e.g. a symbolic
//! link), as `xorriso [NATIVE OPTIONS] -as mkisofs ARGS`, or as `glassmaster mkisofs ARGS`.
//!
//! The parser is hand-written (clap bundles short options: `-rock` would become `-r -o ck`):
//! every argument starting with `-` must be an option of the table in [`options`] (one or two
//! dashes for the long ones), anything else is a pathspec, in any order; `--` ends the options
//! and xorriso commands may follow (only `-volume_date` and the harmless message settings).
//! Errors exit with status 5, as xorriso's failures do.

pub mod boot;
pub mod dates;
pub mod graft;
pub mod options;
pub mod pattern;

use std::ffi::{OsStr, OsString};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use glassmaster::{FileSystems, ImageBuilder, IsoLevel, Options, ScanFilter, VolumeDate};

use crate::error::{CliError, CliResult, ResultExt};
use crate::progress_bar::{Bar, BuildProgress};
use crate::report::{os_safe, Warnings};
use options::{Config, DateSetting, Rock};
use pattern::{absolute, Pattern};

/// The exit status of every failure (xorriso's for a FAILURE event).
const FAILED: u8 = 5;

/// Program names that select the personality.
const NAMES: &[&str] = &["xorrisofs", "mkisofs", "genisoimage", "genisofs"];

/// Runs the personality if argv selects it.
pub fn dispatch(args: &[OsString]) -> Option<ExitCode> {
    let argv0 = args.first()?;
    let name = Path::new(argv0)
        .file_name()
        .and_then(OsStr::to_str)
        .unwrap_or_default();
    let name = name.strip_suffix(".exe").unwrap_or(name);
    let rest = args.get(1..).unwrap_or_default();
    if NAMES.contains(&name) {
        return Some(finish(run(rest, Config::with_defaults())));
    }
    if name == "xorriso" {
        return Some(finish(run_xorriso(rest)));
    }
    if rest.first().is_some_and(|a| a == "mkisofs") {
        return Some(finish(run(&rest[1..], Config::with_defaults())));
    }
    None
}

fn finish(r: CliResult) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Interrupted) => CliError::Interrupted.report(),
        Err(CliError::Usage(msg)) => {
            eprintln!(
                "glassmaster: error: {} (-help lists the options)",
                crate::report::terminal_safe(&msg)
            );
            ExitCode::from(FAILED)
        }
        Err(e) => {
            let _ = e.report();
            ExitCode::from(FAILED)
        }
    }
}

impl Config {
    /// xorriso's defaults: padding on.
    pub fn with_defaults() -> Config {
        Config {
            pad: true,
            ..Config::default()
        }
    }
}

/// xorriso commands accepted before `-as mkisofs` (and after `--`): they change nothing here
/// (`-no_rc`: no startup files are read anyway; message and abort thresholds: every problem
/// is reported and every failure ends the run; `-boot_image any keep|discard`: no image is
/// loaded), except `-volume_date`.
fn native(args: &[OsString], i: &mut usize, c: &mut Config) -> CliResult<bool> {
    let Some(a) = args.get(*i).and_then(|a| a.to_str()) else {
        return Ok(false);
    };
    let take = |n: usize| -> CliResult<Vec<String>> {
        (1..=n)
            .map(|k| {
                args.get(*i + k)
                    .and_then(|v| v.to_str())
                    .map(str::to_string)
                    .ok_or_else(|| CliError::Usage(format!("{a} needs {n} argument(s)")))
            })
            .collect()
    };
    let cmd = a.strip_prefix('-').unwrap_or(a);
    let cmd = cmd.strip_prefix('-').unwrap_or(cmd);
    let used = match cmd {
        "no_rc" => 0,
        "report_about" | "abort_on" => {
            take(1)?;
            1
        }
        "return_with" => {
            take(2)?;
            2
        }
        "boot_image" => {
            let v = take(2)?;
            if v[0] != "any" || !matches!(v[1].as_str(), "keep" | "discard") {
                return Err(CliError::Usage(format!(
                    "not implemented: -boot_image {} {} (only `any keep` and `any discard`, which change nothing when no image is loaded)",
                    v[0], v[1]
                )));
            }
            2
        }
        "volume_date" => {
            let v = take(2)?;
            set_volume_date(c, &v[0], &v[1]).map_err(CliError::Usage)?;
            2
        }
        _ => return Ok(false),
    };
    *i += 1 + used;
    Ok(true)
}

fn set_volume_date(c: &mut Config, kind: &str, time: &str) -> Result<(), String> {
    let now = now();
    let slot = match kind {
        "c" => 0,
        "m" => 1,
        "x" => 2,
        "f" => 3,
        "uuid" => {
            if time == "default" || time == "overridden" {
                c.modification_date = None;
            } else {
                c.modification_date = Some(dates::uuid_digits("-volume_date uuid", time)?);
            }
            return Ok(());
        }
        "all_file_dates" => {
            return Err("not implemented: -volume_date all_file_dates".into());
        }
        other => {
            return Err(format!(
                "-volume_date {other:?}: expected c, m, x, f or uuid"
            ))
        }
    };
    c.dates[slot] = Some(dates::timestring(time, now)?);
    Ok(())
}

/// The current time in whole seconds (xorriso writes volume dates without hundredths).
fn now() -> chrono::DateTime<chrono::Utc> {
    let t = chrono::Utc::now();
    chrono::DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

/// `xorriso [NATIVE...] -as mkisofs ARGS`.
fn run_xorriso(args: &[OsString]) -> CliResult {
    let mut c = Config::with_defaults();
    let mut i = 0;
    while i < args.len() {
        if native(args, &mut i, &mut c)? {
            continue;
        }
        let a = &args[i];
        if a == "-version" || a == "--version" {
            println!(
                "glassmaster {} (takes `xorriso [...] -as mkisofs ARGS` only)",
                env!("CARGO_PKG_VERSION")
            );
            return Ok(());
        }
        if a == "-help" || a == "--help" {
            eprint!("{}", options::help_text());
            return Ok(());
        }
        if a == "-as" || a == "--as" {
            return match args.get(i + 1).and_then(|m| m.to_str()) {
                Some("mkisofs" | "genisoimage" | "genisofs" | "xorrisofs") => {
                    run(&args[i + 2..], c)
                }
                Some(other) => Err(CliError::Usage(format!(
                    "not implemented: -as {other} (glassmaster takes only -as mkisofs)"
                ))),
                None => Err(CliError::Usage("-as needs a personality: mkisofs".into())),
            };
        }
        return Err(CliError::Usage(format!(
            "not implemented: xorriso command {} (glassmaster takes `xorriso [-no_rc] [-report_about X] [-abort_on X] [-return_with X Y] [-boot_image any keep|discard] [-volume_date TYPE TIME] -as mkisofs ARGS`)",
            os_safe(a)
        )));
    }
    Err(CliError::Usage(
        "nothing to do: glassmaster takes `xorriso ... -as mkisofs ARGS`".into(),
    ))
}

/// Parses the mkisofs arguments into `c`.
pub fn parse(args: &[OsString], c: &mut Config) -> CliResult {
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--" {
            // The end of the mkisofs emulation: xorriso commands follow.
            let mut k = i;
            while k < args.len() {
                if !native(args, &mut k, c)? {
                    return Err(CliError::Usage(format!(
                        "not implemented: xorriso command {} after -- (only -volume_date and the message settings)",
                        os_safe(&args[k])
                    )));
                }
            }
            break;
        }
        let Some(t) = a.to_str().filter(|t| t.len() > 1 && t.starts_with('-')) else {
            c.pathspecs.push(a.clone());
            continue;
        };
        if let Some((o, name, v)) = options::lookup_joined(t) {
            (o.handler)(c, name, &[OsString::from(v)])
                .map_err(|e| CliError::Usage(with_name(name, e)))?;
            continue;
        }
        let Some((o, name)) = options::lookup(t) else {
            return Err(CliError::Usage(format!("unknown option {t}")));
        };
        let arity = o.args.len();
        let Some(values) = args.get(i..i + arity) else {
            return Err(CliError::Usage(format!(
                "option {t} needs {arity} argument(s)"
            )));
        };
        i += arity;
        (o.handler)(c, name, values).map_err(|e| CliError::Usage(with_name(name, e)))?;
    }
    Ok(())
}

fn with_name(name: &str, e: String) -> String {
    if e.contains(name.trim_start_matches('-')) {
        e
    } else {
        format!("{name}: {e}")
    }
}

/// Parses and builds.
fn run(args: &[OsString], mut c: Config) -> CliResult {
    parse(args, &mut c)?;
    if c.help {
        eprint!("{}", options::help_text());
        return Ok(());
    }
    if c.version {
        println!(
            "mkisofs 2.01-Emulation Copyright (C) glassmaster {} (the xorriso -as mkisofs personality of glassmaster)",
            env!("CARGO_PKG_VERSION")
        );
        eprintln!("glassmaster {}", env!("CARGO_PKG_VERSION"));
        return Ok(());
    }
    build(c)
}

/// The library options the configuration asks for.
fn library_options(c: &Config) -> CliResult<Options> {
    let mut o = Options::default();
    o.filesystems = FileSystems::ISO9660;
    if c.rock != Rock::Off {
        o.filesystems |= FileSystems::ROCK_RIDGE;
    }
    if c.joliet {
        o.filesystems |= FileSystems::JOLIET;
    }
    if c.udf {
        // genisoimage's UDF holds directories and files only (and 7-Zip refuses a UDF tree
        // with links): links and special files stay in Rock Ridge, each left out of UDF with a
        // warning.
        o.filesystems |= FileSystems::UDF;
        o.udf.links_and_special_files = false;
    }
    if let Some(d) = &c.reloc_dir {
        o.rock_ridge.relocation_dir = d.clone();
    }
    o.joliet_long_names = c.joliet_long;
    o.joliet_utf16 = c.joliet_utf16;
    o.joliet_long_paths = c.joliet_long;
    // xorriso -as mkisofs: ISO level 1 unless -iso-level or -l.
    o.level = match c.iso_level {
        Some(4) => IsoLevel::Iso1999,
        Some(3) => IsoLevel::Level3,
        Some(2) => IsoLevel::Level2,
        _ if c.full_names => IsoLevel::Level2,
        _ => IsoLevel::Level1,
    };
    o.rock_ridge.rationalize = c.rock == Rock::Rational;
    o.rock_ridge.follow_symlinks = c.follow_links;
    o.padding_blocks = if c.pad { 150 } else { 0 };
    // As xorriso: the volume id and volume set id as given, the program named as the data
    // preparer (not as the application).
    o.volume_id = c.volume_id.clone().unwrap_or_else(|| "ISOIMAGE".into());
    o.volume_ids_as_given = true;
    o.application = String::new();
    o.preparer = format!("GLASSMASTER {}", env!("CARGO_PKG_VERSION"));
    let set = |field: &mut String, v: &Option<String>| {
        if let Some(v) = v {
            *field = v.clone();
        }
    };
    set(&mut o.application, &c.application);
    set(&mut o.publisher, &c.publisher);
    set(&mut o.preparer, &c.preparer);
    set(&mut o.system_id, &c.system_id);
    set(&mut o.volume_set_id, &c.volume_set);
    set(&mut o.copyright_file, &c.copyright);
    set(&mut o.abstract_file, &c.abstract_file);
    set(&mut o.biblio_file, &c.biblio);
    // Dates: SOURCE_DATE_EPOCH is the default of --modification-date (and the time of
    // entries without one); -volume_date c/m/x/f; --modification-date (-volume_date uuid)
    // overrides creation and modification literally, and is the time of the entries without
    // one (the boot catalog) even beside SOURCE_DATE_EPOCH, as in xorriso's images.
    let epoch = crate::options::source_date_epoch()?;
    o.build_time = Some(
        c.modification_date
            .as_ref()
            .and_then(dates::digits_time)
            .or(epoch)
            .unwrap_or_else(now),
    );
    let at = |d: &Option<DateSetting>| match d {
        Some(DateSetting::At(t)) => Some(VolumeDate::At(*t)),
        _ => None,
    };
    o.volume_dates.created = at(&c.dates[0]);
    o.volume_dates.modified = at(&c.dates[1]);
    o.volume_dates.expires = at(&c.dates[2]);
    o.volume_dates.effective = at(&c.dates[3]);
    // SOURCE_DATE_EPOCH is the default of --modification-date: it overrides -volume_date c
    // and m as xorriso's does.
    let uuid = c.modification_date.or_else(|| {
        epoch.map(|t| {
            let mut d = [b'0'; 16];
            let text = t.format("%Y%m%d%H%M%S00").to_string();
            for (o, b) in d.iter_mut().zip(text.bytes()) {
                *o = b;
            }
            d
        })
    });
    if let Some(d) = uuid {
        o.volume_dates.created = Some(VolumeDate::Digits(d));
        o.volume_dates.modified = Some(VolumeDate::Digits(d));
    }
    Ok(o)
}

/// A pathspec, resolved.
struct Source {
    /// The disk path as given, and its absolute form (for patterns and -sort).
    src: PathBuf,
    abs: PathBuf,
    /// Image path of a directory's contents, or of the file.
    dest: String,
    is_dir: bool,
}

fn resolve_sources(c: &Config, cwd: &Path) -> CliResult<Vec<Source>> {
    let mut out = Vec::new();
    for spec in &c.pathspecs {
        let g = graft::parse(spec, c.graft_points).map_err(CliError::Usage)?;
        let md = std::fs::metadata(&g.src)
            .context(|| format!("cannot read pathspec source {}", os_safe(g.src.as_os_str())))?;
        let dest = match (g.dest, md.is_dir()) {
            (Some(d), _) => d,
            (None, true) => "/".into(),
            (None, false) => {
                let leaf = g.src.file_name().and_then(OsStr::to_str).ok_or_else(|| {
                    CliError::msg(format!(
                        "the file name of {} is not UTF-8",
                        os_safe(g.src.as_os_str())
                    ))
                })?;
                format!("/{leaf}")
            }
        };
        if !md.is_dir() && !md.is_file() {
            return Err(CliError::msg(format!(
                "pathspec source {} is not a regular file or directory",
                os_safe(g.src.as_os_str())
            )));
        }
        out.push(Source {
            abs: absolute(&g.src, cwd),
            src: g.src,
            dest,
            is_dir: md.is_dir(),
        });
    }
    Ok(out)
}

/// The image path of disk path `abs` (absolute) through the pathspecs, if one holds it.
fn image_path_of(sources: &[Source], abs: &Path) -> Option<String> {
    sources.iter().rev().find_map(|s| {
        let rel = abs.strip_prefix(&s.abs).ok()?;
        if rel.as_os_str().is_empty() {
            return Some(s.dest.clone());
        }
        if !s.is_dir {
            return None;
        }
        let rel = rel.to_str()?;
        Some(if s.dest == "/" {
            format!("/{rel}")
        } else {
            format!("{}/{rel}", s.dest)
        })
    })
}

/// Paths to leave out of views, found while scanning: (image path, out of ISO, out of Joliet).
type HideLog = Arc<Mutex<Vec<(String, bool, bool)>>>;

fn build(c: Config) -> CliResult {
    let start = std::time::Instant::now();
    crate::interrupt::install();
    let cwd = std::env::current_dir().context(|| "cannot read the working directory")?;
    if c.boot.apm_marked() && (c.hfsplus || c.boot.efi_boot_part) {
        return Err(CliError::Usage(format!(
            "-isohybrid-apm-hfsplus cannot be combined with {} (as in xorriso)",
            if c.hfsplus {
                "-hfsplus"
            } else {
                "-efi-boot-part"
            }
        )));
    }
    let boot = c.boot.to_boot_args().map_err(CliError::Usage)?;
    let sources = resolve_sources(&c, &cwd)?;
    let out = c.output.clone();
    let to_stdout = out.as_ref().is_none_or(|o| o.as_os_str() == "-");
    if to_stdout && !c.print_size && std::io::stdout().is_terminal() {
        return Err(CliError::Usage(
            "no -o FILE: the image would go to standard output, which is a terminal".into(),
        ));
    }
    if let Some(o) = out.as_ref().filter(|_| !to_stdout) {
        let specs: Vec<crate::sources::SourceSpec> = sources
            .iter()
            .map(|s| crate::sources::SourceSpec {
                src: s.src.clone(),
                dest: None,
            })
            .collect();
        crate::sources::check_output(o, &specs)?;
    }
    let mut builder = ImageBuilder::with_options(library_options(&c)?);
    // A later pathspec replaces what an earlier one put at the same path (directories merge),
    // as in xorriso.
    builder.later_sources_win(true);
    let mut progress = BuildProgress::new(Bar::new(c.quiet));
    let mut warnings = Warnings::new(c.quiet, c.verbose);
    if c.hfsplus {
        warnings.one(
            progress.bar(),
            "-hfsplus: no HFS+ tree and no Apple Partition Map entry for it are written (not implemented); the ISO 9660 tree, El Torito entries and partition table are as asked",
        );
    }
    if let Some(w) = c.boot.apm_warning() {
        warnings.one(progress.bar(), w);
    }
    if c.verbose {
        for name in &c.ignored {
            warnings.one(
                progress.bar(),
                &format!("{name}: accepted without effect (see -help)"),
            );
        }
    }
    let excl: Arc<Vec<Pattern>> =
        Arc::new(c.exclude.iter().map(|p| Pattern::new(p, &cwd)).collect());
    let hide: Arc<Vec<Pattern>> = Arc::new(c.hide.iter().map(|p| Pattern::new(p, &cwd)).collect());
    let hide_j: Arc<Vec<Pattern>> = Arc::new(
        c.hide_joliet
            .iter()
            .map(|p| Pattern::new(p, &cwd))
            .collect(),
    );
    let log: HideLog = Arc::new(Mutex::new(Vec::new()));
    let any = |pats: &[Pattern], abs: &Path| pats.iter().any(|p| p.matches(abs));
    for s in &sources {
        if any(&excl, &s.abs) {
            continue;
        }
        let (h, hj) = (any(&hide, &s.abs), any(&hide_j, &s.abs));
        if s.is_dir {
            let filtering = !(excl.is_empty() && hide.is_empty() && hide_j.is_empty());
            let filter = filtering.then(|| {
                let (excl, hide, hide_j, log) =
                    (excl.clone(), hide.clone(), hide_j.clone(), log.clone());
                let (root, dest, cwd) = (s.abs.clone(), s.dest.clone(), cwd.clone());
                ScanFilter(Arc::new(move |p: &Path| {
                    let abs = absolute(p, &cwd);
                    if excl.iter().any(|x| x.matches(&abs)) {
                        return true;
                    }
                    let h = hide.iter().any(|x| x.matches(&abs));
                    let hj = hide_j.iter().any(|x| x.matches(&abs));
                    if h || hj {
                        // A name that is not UTF-8 is shown lossily: not found in the
                        // tree, it is named in a warning instead of hidden.
                        let rel = abs.strip_prefix(&root).ok().map(|r| r.to_string_lossy());
                        if let Some(rel) = rel {
                            let path = if dest == "/" {
                                format!("/{rel}")
                            } else {
                                format!("{dest}/{rel}")
                            };
                            if let Ok(mut l) = log.lock() {
                                l.push((path, h, hj));
                            }
                        }
                    }
                    false
                }))
            });
            builder.exclude(filter);
            let added = builder
                .add_tree(&s.dest, &s.src, &mut progress)
                .map(|_| ())
                .context(|| format!("cannot add {}", os_safe(s.src.as_os_str())));
            warnings.builder(progress.bar(), builder.warnings());
            added?;
            builder.exclude(None);
            if (h || hj) && s.dest != "/" {
                log.lock()
                    .map_err(|_| CliError::msg("internal error: a poisoned lock"))?
                    .push((s.dest.clone(), h, hj));
            }
        } else {
            builder
                .add_file(&s.dest, &s.src)
                .context(|| format!("cannot add {}", os_safe(s.src.as_os_str())))?;
            // Its owner, mode and time, as a scanned file gets them.
            if let Ok(md) = std::fs::metadata(&s.src) {
                set_file_meta(&mut builder, &s.dest, &md)
                    .context(|| format!("cannot add {}", os_safe(s.src.as_os_str())))?;
            }
            if h || hj {
                builder
                    .hide_in_views(&s.dest, h, hj)
                    .context(|| format!("cannot hide {}", s.dest))?;
            }
        }
    }
    directory_attributes(&mut builder, &sources);
    let hidden = std::mem::take(
        &mut *log
            .lock()
            .map_err(|_| CliError::msg("internal error: a poisoned lock"))?,
    );
    for (path, h, hj) in hidden {
        if builder.hide_in_views(&path, h, hj).is_err() {
            warnings.one(
                progress.bar(),
                &format!("{path}: matched by -hide but not found in the image tree; not hidden"),
            );
        }
    }
    apply_order(&mut builder, &c, &sources, &cwd)?;
    boot.apply(&mut builder).map_err(CliError::msg)?;
    warnings.builder(progress.bar(), builder.warnings());

    if c.print_size {
        let image = builder
            .into_image(&mut progress)
            .context(|| "cannot lay out the image")?;
        drop(progress);
        println!("{}", image.total_blocks());
        return Ok(());
    }
    let image = match out.as_ref().filter(|_| !to_stdout) {
        Some(o) => builder
            .build_to_path(o, &mut progress)
            .context(|| format!("cannot build {}", os_safe(o.as_os_str())))?,
        None => {
            let image = builder
                .into_image(&mut progress)
                .context(|| "cannot lay out the image")?;
            crate::build::write_to_stdout(&image, &mut progress)
                .context(|| "cannot write to standard output")?;
            image
        }
    };
    warnings.image(progress.bar(), image.warnings());
    warnings.summary(progress.bar());
    drop(progress);
    if !c.quiet {
        eprintln!(
            "glassmaster: wrote {}: {} blocks ({} bytes), {} files, in {:.2} s",
            out.as_ref()
                .filter(|_| !to_stdout)
                .map_or("standard output".to_string(), |o| os_safe(o.as_os_str())),
            image.total_blocks(),
            image.size_bytes(),
            image.file_count(),
            start.elapsed().as_secs_f64()
        );
    }
    std::mem::forget(image);
    Ok(())
}

#[cfg(unix)]
fn set_file_meta(
    b: &mut ImageBuilder,
    path: &str,
    md: &std::fs::Metadata,
) -> glassmaster::Result<()> {
    use std::os::unix::fs::MetadataExt;
    b.set_mode(path, md.mode() & 0o7777)?;
    b.set_owner(path, md.uid(), md.gid())?;
    if let Ok(t) = md.modified() {
        b.set_mtime(path, t.into())?;
    }
    Ok(())
}

/// Directory attributes as xorriso gives them: the directory a pathspec names (the root for a
/// plain directory pathspec) takes its source's owner, mode and time, the last such pathspec
/// winning; a directory two scans merge keeps the first scan's; a directory a graft creates
/// (`a/b/f=src/sub/f` creates `/a` and `/a/b`) takes those of the source's ancestor at the same
/// distance (`/a/b` from `src/sub`, `/a` from `src`, in the source's absolute path), unless an
/// earlier pathspec made it. Paths a pattern left out are skipped.
fn directory_attributes(b: &mut ImageBuilder, sources: &[Source]) {
    use std::collections::HashMap;
    /// Image directory -> the disk directory whose attributes it takes (the first one).
    type Origins = HashMap<String, PathBuf>;
    fn walk(dir: &Path, image: &str, origins: &mut Origins) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let Some(name) = e.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let path = if image == "/" {
                format!("/{name}")
            } else {
                format!("{image}/{name}")
            };
            origins.entry(path.clone()).or_insert_with(|| e.path());
            walk(&e.path(), &path, origins);
        }
    }
    let parent = |p: &str| -> Option<String> {
        let (head, _) = p.trim_end_matches('/').rsplit_once('/')?;
        (!head.is_empty()).then(|| head.to_string())
    };
    let mut origins = Origins::new();
    let scans = sources.iter().filter(|s| s.is_dir).count();
    for s in sources {
        let (mut image, mut disk) = (parent(&s.dest), s.abs.parent());
        while let (Some(i), Some(d)) = (image, disk) {
            origins.entry(i.clone()).or_insert_with(|| d.to_path_buf());
            image = parent(&i);
            disk = d.parent();
        }
        if s.is_dir {
            origins
                .entry(s.dest.clone())
                .or_insert_with(|| s.abs.clone());
            // With one scan nothing merges: its directories have their own attributes.
            if scans > 1 {
                walk(&s.src, &s.dest, &mut origins);
            }
        }
    }
    for (path, disk) in origins {
        if let Ok(md) = std::fs::metadata(&disk) {
            let _ = set_file_meta(b, &path, &md);
        }
    }
    for s in sources.iter().filter(|s| s.is_dir) {
        if let Ok(md) = std::fs::metadata(&s.src) {
            let _ = set_file_meta(b, &s.dest, &md);
        }
    }
}

#[cfg(not(unix))]
fn set_file_meta(
    b: &mut ImageBuilder,
    path: &str,
    md: &std::fs::Metadata,
) -> glassmaster::Result<()> {
    if let Ok(t) = md.modified() {
        b.set_mtime(path, t.into())?;
    }
    Ok(())
}

/// `--sort-weight`, `--sort-weight-list` and `-sort`.
fn apply_order(b: &mut ImageBuilder, c: &Config, sources: &[Source], cwd: &Path) -> CliResult {
    let rooted = |p: &str| {
        if p.starts_with('/') {
            p.to_string()
        } else {
            format!("/{p}")
        }
    };
    let mut weights: Vec<(i32, String, String)> = Vec::new();
    for (w, p) in &c.sort_weights {
        weights.push((*w, rooted(p), format!("--sort-weight {w} {p}")));
    }
    if let Some(f) = &c.sort_weight_list {
        let text = std::fs::read_to_string(f)
            .context(|| format!("cannot read --sort-weight-list {}", f.display()))?;
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = || format!("{}:{}", f.display(), n + 1);
            // The weight from the start of the line; the path after the first blank or tab.
            let (w, p) = line
                .split_once([' ', '\t'])
                .ok_or_else(|| CliError::msg(format!("{}: expected `WEIGHT ISO_PATH`", at())))?;
            let w: i32 = w
                .trim()
                .parse()
                .map_err(|_| CliError::msg(format!("{}: {w:?} is not a weight", at())))?;
            weights.push((w, rooted(p), at()));
        }
    }
    if let Some(f) = &c.sort_file {
        let text =
            std::fs::read_to_string(f).context(|| format!("cannot read -sort {}", f.display()))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let at = || format!("{}:{}", f.display(), n + 1);
            let (p, w) = line
                .rsplit_once([' ', '\t'])
                .ok_or_else(|| CliError::msg(format!("{}: expected `DISK_PATH WEIGHT`", at())))?;
            let w: i32 = w
                .parse()
                .map_err(|_| CliError::msg(format!("{}: {w:?} is not a weight", at())))?;
            let abs = absolute(Path::new(p.trim()), cwd);
            let ip = image_path_of(sources, &abs).ok_or_else(|| {
                CliError::msg(format!("{}: {} is in no pathspec", at(), p.trim()))
            })?;
            weights.push((w, ip, at()));
        }
    }
    for (w, p, at) in weights {
        b.set_weight(&p, w)
            .context(|| format!("{at}: {p} is not in the image"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn options_and_pathspecs_in_any_order() {
        let mut c = Config::with_defaults();
        parse(
            &args(&[
                "a",
                "-rock",
                "-o",
                "x.iso",
                "--joliet",
                "b=c",
                "-V",
                "VOL",
                "-graft-points",
                "--modification-date=2020010203040506",
                "-no-pad",
            ]),
            &mut c,
        )
        .unwrap();
        assert_eq!(c.pathspecs, args(&["a", "b=c"]));
        assert_eq!(c.output, Some(PathBuf::from("x.iso")));
        assert!(c.joliet && c.graft_points && !c.pad);
        assert_eq!(c.rock, Rock::Real);
        assert_eq!(&c.modification_date.unwrap(), b"2020010203040506");
    }

    #[test]
    fn unknown_and_short_of_arguments() {
        for bad in [
            &["-rockk"][..],
            &["-o"],
            &["-follow-linkz"],
            &["-hide"],
            &["-iso-level", "5"],
        ] {
            let mut c = Config::with_defaults();
            let e = parse(&args(bad), &mut c).unwrap_err();
            let CliError::Usage(msg) = e else { panic!() };
            assert!(msg.contains(bad[0]), "{msg}");
        }
    }

    #[test]
    fn dashdash_takes_volume_date() {
        let mut c = Config::with_defaults();
        parse(
            &args(&["a", "--", "-volume_date", "uuid", "2022010203040506"]),
            &mut c,
        )
        .unwrap();
        assert_eq!(&c.modification_date.unwrap(), b"2022010203040506");
        let mut c = Config::with_defaults();
        assert!(parse(&args(&["a", "--", "-commit"]), &mut c).is_err());
    }

    /// The command lines of grub-mkrescue (Debian 12, x86_64-efi) and live-build parse whole;
    /// the boot options they use are recorded, and those not implemented yet are named.
    #[test]
    fn distribution_command_lines_parse() {
        let grub = "-graft-points --modification-date=2026120720281600 -hfsplus -apm-block-size 2048 -hfsplus-file-creator-type chrp tbxj /System/Library/CoreServices/.disk_label -hfs-bless-by i /System/Library/CoreServices/boot.efi --efi-boot efi.img -efi-boot-part --efi-boot-image --protective-msdos-label -o gr.iso -r /tmp/grub.x --sort-weight 0 / --sort-weight 1 /boot gr";
        let mut c = Config::with_defaults();
        parse(&args(&grub.split(' ').collect::<Vec<_>>()), &mut c).unwrap();
        assert_eq!(c.pathspecs, args(&["/tmp/grub.x", "gr"]));
        assert_eq!(c.sort_weights.len(), 2);
        assert_eq!(c.boot.entries.len(), 1);
        assert!(c.boot.entries[0].no_emul);
        assert!(c.hfsplus);
        let b = c.boot.to_boot_args().unwrap();
        assert!(b.gpt_iso_partitions && b.protective_msdos_label);
        let lb = "-iso-level 3 -full-iso9660-filenames -joliet -joliet-long -rational-rock -volid LIVE -appid APP -publisher PUB -preparer PREP -isohybrid-mbr isohdpfx.bin --mbr-force-bootable -partition_offset 16 -eltorito-boot isolinux/isolinux.bin -eltorito-catalog isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table -eltorito-alt-boot -e --interval:appended_partition_2:all:: -no-emul-boot -isohybrid-gpt-basdat -append_partition 2 C12A7328-F81F-11D2-BA4B-00A0C93EC93B efiboot.img --modification-date=2024010100000000 -output live.iso binary";
        let mut c = Config::with_defaults();
        parse(&args(&lb.split(' ').collect::<Vec<_>>()), &mut c).unwrap();
        assert_eq!(c.pathspecs, args(&["binary"]));
        assert_eq!(c.boot.partition_offset, Some(16));
        assert_eq!(c.boot.append_partitions[0].number, 2);
        let e = c.boot.current.as_ref().unwrap();
        assert!(e.path.starts_with("--interval:") && e.platform == 0xEF && e.no_emul);
        let b = c.boot.to_boot_args().unwrap();
        assert_eq!(b.partition_offset, Some(16));
        assert!(b.hybrid_gpt && b.mbr_force_bootable);
    }

    #[test]
    fn image_paths_through_pathspecs() {
        let s = vec![Source {
            src: "d".into(),
            abs: "/w/d".into(),
            dest: "/x".into(),
            is_dir: true,
        }];
        assert_eq!(
            image_path_of(&s, Path::new("/w/d/a/b")).as_deref(),
            Some("/x/a/b")
        );
        assert_eq!(image_path_of(&s, Path::new("/w/e")), None);
    }
}
