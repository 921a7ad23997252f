//! `glassmaster extract`: recreate an image's tree on disk.
//!
//! Names come from an untrusted image: every name is checked to be a single, ordinary path
//! component before it is joined to the destination, existing symbolic links in the way are
//! replaced rather than followed, and directory loops are cut.
//!
//! Nothing of the user's is changed unless asked: before anything is written, every path the
//! image would create is looked up in DEST, and an entry already there (a file, a symbolic
//! link, or a directory where the image has a file) is an error naming it. A directory of the
//! image merges into an existing directory. With `--overwrite`, existing files and symbolic
//! links are replaced (the link itself, never what it points to) and only a directory in the
//! way of a file stays an error (nothing is removed recursively).
//!
//! Names are created byte for byte as the view records them (on Unix; Rock Ridge names need
//! not be UTF-8), and nothing is ever written over an entry this extraction made: two names
//! that are the same (a damaged or hostile image), or that the destination's file system takes
//! for the same (case folding, Unicode normalisation), are an error naming both, and the second
//! is not extracted.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use glassmaster::read::{DirEntry, FileType, View};

use crate::dest::{
    check_dest, clear, extracted_counts, make_dir, make_symlink, os_name, replace_with_hard_link,
    set_dir_mtime, set_mode, shown, shown_name, Claims,
};
use crate::error::{CliError, CliResult, ResultExt};
use crate::image_file::{choose_view, open_session, printable, FileImage, ViewArg};
use crate::interrupt;
use crate::progress_bar::Bar;

/// Read buffer per file: large reads, whatever the image reader does per call.
const COPY_BUFFER: usize = 256 * 1024;

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
}

/// One entry to create: its path relative to DEST and its image path (for messages: escaped).
struct Planned {
    rel: PathBuf,
    image_path: String,
    entry: DirEntry,
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
    let mut bar = Bar::new(args.quiet);

    let (plan, mut skipped) = plan(&mut reader, view, &mut bar)?;
    for warning in reader.warnings() {
        bar.eprintln(&format!("glassmaster: warning: {}", printable(warning)));
    }
    for warning in &skipped {
        bar.eprintln(&format!("glassmaster: warning: {warning}"));
    }
    // Damaged entries lenient reading left out (already in the reader's warnings).
    skipped.extend(reader.left_out().iter().cloned());

    // Before anything is written: what is already in DEST (an error unless --overwrite).
    check_dest(
        &args.dest,
        plan.iter().map(|p| {
            (
                args.dest.join(&p.rel),
                p.entry.is_dir,
                p.image_path.as_str(),
            )
        }),
        args.overwrite,
        &bar,
    )?;
    fs::create_dir_all(&args.dest).context(|| format!("cannot create {}", args.dest.display()))?;
    let total: u64 = plan
        .iter()
        .filter(|p| !p.entry.is_dir)
        .map(|p| p.entry.size)
        .sum();
    bar.bytes(total);
    let (mut files, mut dirs, mut symlinks) = (0u64, 0u64, 0u64);
    let mut linked: HashMap<u32, PathBuf> = HashMap::new();
    let mut claims = Claims::default();
    // Directories not extracted (a collision): nothing is extracted below them.
    let mut blocked: HashSet<PathBuf> = HashSet::new();
    let mut collisions = 0usize;
    for item in &plan {
        if interrupt::interrupted() {
            return Err(CliError::Interrupted);
        }
        if !blocked.is_empty() && item.rel.ancestors().skip(1).any(|a| blocked.contains(a)) {
            continue;
        }
        let path = args.dest.join(&item.rel);
        if let Some(owner) = claims.owner(&path) {
            bar.eprintln(&format!(
                "glassmaster: error: {}",
                Claims::collision(&item.image_path, &owner, &path)
            ));
            collisions += 1;
            if item.entry.is_dir {
                blocked.insert(item.rel.clone());
            }
            continue;
        }
        if item.entry.is_dir {
            make_dir(&path, args.overwrite)?;
            claims.claim(&path, &item.image_path);
            dirs += 1;
            continue;
        }
        bar.set_message(&printable(&item.image_path));
        // Rock Ridge (or UDF) metadata: symbolic links, hard links, special files, modes.
        let posix = item.entry.posix.as_ref();
        match posix.map(|p| p.file_type()) {
            Some(FileType::Symlink) => {
                // The target's exact bytes (Rock Ridge need not record UTF-8).
                let target = posix.and_then(|p| p.symlink.clone()).unwrap_or_default();
                make_symlink(&target_os(target)?, &path, args.overwrite)?;
                claims.claim(&path, &item.image_path);
                symlinks += 1;
                continue;
            }
            Some(FileType::Regular | FileType::Unknown) | None => {}
            Some(other) => {
                bar.eprintln(&format!(
                    "glassmaster: warning: {}: {other} not created (special files are not supported by extract)",
                    printable(&item.image_path)
                ));
                continue;
            }
        }
        // Names of one file (same Rock Ridge serial number, several links) become hard links.
        let link_key = posix.filter(|p| p.nlink > 1).and_then(|p| p.serial);
        if let Some(first) = link_key.and_then(|k| linked.get(&k)) {
            replace_with_hard_link(first, &path, args.overwrite)?;
            claims.claim(&path, &item.image_path);
            files += 1;
            continue;
        }
        extract_file(&mut reader, item, &path, &bar, args.overwrite)?;
        claims.claim(&path, &item.image_path);
        if let Some(p) = posix {
            set_mode(&path, p.mode)
                .context(|| format!("cannot set the mode of {}", shown(&path)))?;
        }
        if let Some(k) = link_key {
            linked.insert(k, path.clone());
        }
        files += 1;
    }
    // Directory times last (creating their contents changed them), deepest first.
    let extracted = |p: &&Planned| !p.rel.ancestors().any(|a| blocked.contains(a));
    for item in plan
        .iter()
        .rev()
        .filter(|p| p.entry.is_dir)
        .filter(extracted)
    {
        if let Some(p) = &item.entry.posix {
            let path = args.dest.join(&item.rel);
            if let Err(e) = set_mode(&path, p.mode) {
                bar.eprintln(&format!(
                    "glassmaster: warning: cannot set the mode of {}: {e}",
                    shown(&path)
                ));
            }
        }
        if let Some(t) = item.entry.mtime {
            let path = args.dest.join(&item.rel);
            if let Err(e) = set_dir_mtime(&path, t.into()) {
                bar.eprintln(&format!(
                    "glassmaster: warning: cannot set the time of {}: {e}",
                    shown(&path)
                ));
            }
        }
    }
    bar.finish();

    if !args.quiet {
        eprintln!(
            "glassmaster: extracted {} ({}) from {} to {} in {:.2} s",
            extracted_counts(files, symlinks, dirs),
            indicatif::DecimalBytes(total),
            image.display(),
            args.dest.display(),
            start.elapsed().as_secs_f64()
        );
    }
    let left_out = skipped.len() + collisions;
    if left_out == 0 {
        Ok(())
    } else {
        Err(CliError::msg(format!(
            "{} not extracted (see the messages above)",
            crate::report::counted(left_out as u64, "entry was", "entries were")
        )))
    }
}

/// Walks the view's tree, checking names. Returns the entries to create (each directory before
/// its contents) and the reasons for the entries left out: names that cannot be a file name
/// here, names given twice in one directory (the second is left out, with what is below it),
/// directories reached twice.
fn plan(
    reader: &mut FileImage,
    view: View,
    bar: &mut Bar,
) -> CliResult<(Vec<Planned>, Vec<String>)> {
    bar.spinner("reading directories", 0);
    let root = reader
        .root(view)
        .context(|| format!("cannot read the {view} root directory"))?;
    let mut visited: HashSet<u32> = root.location().into_iter().collect();
    let mut stack = vec![(PathBuf::new(), String::new(), root)];
    let (mut plan, mut skipped) = (Vec::new(), Vec::new());
    while let Some((rel, image_path, dir)) = stack.pop() {
        if interrupt::interrupted() {
            return Err(CliError::Interrupted);
        }
        let shown_dir = if image_path.is_empty() {
            "/".to_string()
        } else {
            image_path.clone()
        };
        let children = reader
            .read_dir(&dir)
            .context(|| format!("cannot read directory {shown_dir} of the image"))?;
        // The names seen in this directory, with the image path that has each.
        let mut seen: HashMap<Vec<u8>, String> = HashMap::new();
        for child in children {
            // The "." and ".." records of every directory.
            if child.identifier == [0] || child.identifier == [1] {
                continue;
            }
            let raw = child.name_bytes();
            let child_image_path = format!("{image_path}/{}", shown_name(raw));
            let name = match os_name(raw) {
                Ok(name) => name,
                Err(why) => {
                    skipped.push(format!("skipping {child_image_path}: {why}"));
                    continue;
                }
            };
            // Entries of one name are told apart by where they are on the image.
            let at = |e: &DirEntry| match e.location() {
                Some(lba) => format!("{child_image_path} at block {lba}"),
                None => format!("{child_image_path} (empty)"),
            };
            if let Some(first) = seen.get(raw) {
                skipped.push(format!(
                    "skipping {}: {first} has the same name (a damaged image?)",
                    at(&child)
                ));
                continue;
            }
            seen.insert(raw.to_vec(), at(&child));
            let child_rel = rel.join(&name);
            if child.is_dir {
                if let Some(x) = child.location() {
                    if !visited.insert(x) {
                        skipped.push(format!(
                            "skipping {child_image_path}: directory already extracted (a loop?)"
                        ));
                        continue;
                    }
                }
                stack.push((child_rel.clone(), child_image_path.clone(), child.clone()));
            }
            plan.push(Planned {
                rel: child_rel,
                image_path: child_image_path,
                entry: child,
            });
            bar.set_position(plan.len() as u64);
        }
    }
    bar.finish();
    Ok((plan, skipped))
}

/// Extracts one file; a partly written file is removed on error or Ctrl-C.
fn extract_file(
    reader: &mut FileImage,
    item: &Planned,
    path: &Path,
    bar: &Bar,
    overwrite: bool,
) -> CliResult {
    // Never write through an existing symbolic link (or into an existing file's other links):
    // what is there is removed (with --overwrite) and the file created new.
    clear(path, overwrite)?;
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .context(|| format!("cannot create {}", shown(path)))?;
    let result = copy_entry(reader, item, &mut file, bar);
    let result = result.and_then(|()| {
        if let Some(t) = item.entry.mtime {
            file.set_modified(t.into())
                .context(|| format!("cannot set the time of {}", shown(path)))?;
        }
        Ok(())
    });
    if result.is_err() {
        drop(file);
        let _ = fs::remove_file(path);
    }
    result
}

/// Streams the entry's bytes into `out` with `io::copy`, checking its length.
fn copy_entry(reader: &mut FileImage, item: &Planned, out: &mut File, bar: &Bar) -> CliResult {
    let what = || format!("cannot read {} from the image", printable(&item.image_path));
    let source = reader.open_file(&item.entry).context(what)?;
    let mut source = BufReader::with_capacity(COPY_BUFFER, source);
    let mut sink = ProgressWriter {
        inner: out,
        bar,
        write_error: false,
    };
    let copied = match io::copy(&mut source, &mut sink) {
        Ok(n) => n,
        Err(e) if is_abort(&e) => return Err(CliError::Interrupted),
        Err(e) if sink.write_error => {
            return Err(e).context(|| format!("cannot write {}", shown(&item.rel)))
        }
        Err(e) => return Err(e).context(what),
    };
    if copied != item.entry.size {
        return Err(CliError::msg(format!(
            "{}: the image gave {copied} bytes, but the directory record says {}",
            printable(&item.image_path),
            item.entry.size
        )));
    }
    Ok(())
}

/// The marker error `ProgressWriter` returns on Ctrl-C (not `ErrorKind::Interrupted`, which
/// `io::copy` retries).
#[derive(Debug)]
struct Abort;
impl std::fmt::Display for Abort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}
impl std::error::Error for Abort {}

fn is_abort(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Abort>())
}

/// Counts written bytes on the bar, stops on Ctrl-C, and remembers whether the error came from
/// writing (rather than reading).
struct ProgressWriter<'a> {
    inner: &'a mut File,
    bar: &'a Bar,
    write_error: bool,
}

impl Write for ProgressWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if interrupt::interrupted() {
            return Err(io::Error::other(Abort));
        }
        let n = self
            .inner
            .write(buf)
            .inspect_err(|_| self.write_error = true)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().inspect_err(|_| self.write_error = true)
    }
}

/// A link target's bytes as an `OsString`: exact on Unix; elsewhere they must be UTF-8.
fn target_os(bytes: Vec<u8>) -> CliResult<std::ffi::OsString> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        Ok(std::ffi::OsString::from_vec(bytes))
    }
    #[cfg(not(unix))]
    {
        String::from_utf8(bytes)
            .map(std::ffi::OsString::from)
            .map_err(|_| {
                CliError::msg("a symbolic link target that is not UTF-8 cannot be created here")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abort_marker_survives_io_error() {
        assert!(is_abort(&io::Error::other(Abort)));
        assert!(!is_abort(&io::Error::other("x")));
    }
}
