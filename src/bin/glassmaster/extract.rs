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
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Write};
use std::path::{Component, Path, PathBuf};
use std::time::{Instant, SystemTime};

use clap::Args;
use glassmaster::read::{DirEntry, FileType, View};

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

/// How many entries already in DEST are named one by one before the rest are counted.
const LISTED_CONFLICTS: usize = 20;

/// Checks, before anything is written, what the extraction would meet in DEST: `items` are the
/// paths it would create (each directory before its contents) and whether each is a directory,
/// with the image path for messages. Without `overwrite`, any existing entry is in the way but
/// a real directory where the image has a directory; with it, only a real directory where the
/// image has something else. Below a path the extraction creates or replaces nothing is looked
/// up (a symbolic link in DEST is never resolved). The error names the entries in the way.
pub(crate) fn check_dest<'a>(
    dest: &Path,
    items: impl IntoIterator<Item = (PathBuf, bool, &'a str)>,
    overwrite: bool,
    bar: &Bar,
) -> CliResult {
    // Paths the extraction creates (not there now, or replaced): nothing below them exists.
    let mut fresh: HashSet<PathBuf> = HashSet::new();
    let mut in_the_way = 0usize;
    for (path, is_dir, image_path) in items {
        if path.parent().is_some_and(|p| fresh.contains(p)) {
            if is_dir {
                fresh.insert(path);
            }
            continue;
        }
        let md = match fs::symlink_metadata(&path) {
            Ok(md) => md,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if is_dir {
                    fresh.insert(path);
                }
                continue;
            }
            Err(e) => return Err(e).context(|| format!("cannot look up {}", shown(&path))),
        };
        let what = if md.is_dir() {
            "a directory"
        } else if md.file_type().is_symlink() {
            "a symbolic link"
        } else if md.is_file() {
            "a file"
        } else {
            "a special file"
        };
        let problem = match (md.is_dir(), is_dir) {
            (true, true) => None,
            (true, false) => Some("is a directory (not replaced, even with --overwrite)"),
            (false, _) if overwrite => None,
            (false, _) => Some("already exists"),
        };
        if let Some(problem) = problem {
            if in_the_way < LISTED_CONFLICTS {
                let problem = if problem == "already exists" {
                    format!("already exists ({what})")
                } else {
                    problem.to_string()
                };
                bar.eprintln(&format!(
                    "glassmaster: error: {} (for {}) {problem}",
                    shown(&path),
                    printable(image_path)
                ));
            }
            in_the_way += 1;
        }
        if is_dir && !md.is_dir() {
            fresh.insert(path);
        }
    }
    match in_the_way {
        0 => Ok(()),
        n => {
            let more = n.saturating_sub(LISTED_CONFLICTS);
            let more = if more > 0 {
                format!(" ({} not listed)", crate::report::thousands(more))
            } else {
                String::new()
            };
            let hint = if overwrite {
                ""
            } else {
                "; --overwrite replaces existing files and symbolic links"
            };
            Err(CliError::msg(format!(
                "{} in {} in the way{more}: nothing was extracted{hint}",
                crate::report::counted(n as u64, "entry", "entries"),
                shown(dest),
            )))
        }
    }
}

/// Makes room at `path` for a new entry when overwriting: removes a file or symbolic link
/// there (the link itself), never a directory. Without `overwrite`, nothing is removed (the
/// creation that follows fails on anything there).
pub(crate) fn clear(path: &Path, overwrite: bool) -> CliResult {
    match fs::symlink_metadata(path) {
        Ok(md) if md.is_dir() => Err(CliError::msg(format!(
            "cannot create {}: a directory is in the way",
            shown(path)
        ))),
        Ok(_) if overwrite => {
            fs::remove_file(path).context(|| format!("cannot replace {}", shown(path)))
        }
        Ok(_) => Err(CliError::msg(format!(
            "cannot create {}: it already exists (--overwrite replaces it)",
            shown(path)
        ))),
        Err(_) => Ok(()),
    }
}

/// One entry to create: its path relative to DEST and its image path (for messages: escaped).
struct Planned {
    rel: PathBuf,
    image_path: String,
    entry: DirEntry,
}

/// The entries this extraction created or took over on the destination, to tell a later entry
/// that lands on one of them (the same name after the destination's case folding or Unicode
/// normalisation, or a name given twice) from an entry that was there before (which
/// `check_dest` refused, or `--overwrite` replaces).
///
/// An entry found at a path is one of ours when it has the identity (device, inode) of one we
/// made, which is how kernel file systems that fold names behave (vfat, exFAT, NTFS, ext4 and
/// F2FS casefold, APFS). FUSE file systems may give each spelling its own inode number, so a
/// name whose lower case equals that of a name made in the same directory is taken as ours as
/// well, unless listing the directory shows both names (a file system that tells them apart).
#[derive(Default)]
pub(crate) struct Claims {
    #[cfg(unix)]
    by_id: HashMap<(u64, u64), String>,
    /// Per destination directory: the names made in it by lower case, with their exact name
    /// and image path.
    made: HashMap<PathBuf, HashMap<String, (OsString, String)>>,
}

impl Claims {
    #[cfg(unix)]
    fn id(md: &fs::Metadata) -> (u64, u64) {
        use std::os::unix::fs::MetadataExt;
        (md.dev(), md.ino())
    }

    fn folded(name: &std::ffi::OsStr) -> String {
        name.to_string_lossy().to_lowercase()
    }

    /// The image path of the entry this extraction made that `path` names now, if any.
    pub(crate) fn owner(&self, path: &Path) -> Option<String> {
        let md = fs::symlink_metadata(path).ok()?;
        #[cfg(unix)]
        if let Some(owner) = self.by_id.get(&Self::id(&md)) {
            return Some(owner.clone());
        }
        #[cfg(not(unix))]
        let _ = md;
        let (dir, name) = (path.parent()?, path.file_name()?);
        let (made, owner) = self.made.get(dir)?.get(&Self::folded(name))?;
        if made == name {
            return Some(owner.clone());
        }
        // Two spellings: one entry, unless the directory lists both.
        let listed: HashSet<OsString> = fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        if listed.contains(made.as_os_str()) && listed.contains(name) {
            None
        } else {
            Some(owner.clone())
        }
    }

    /// Records that `path` now holds what this extraction made for `image_path` (the first
    /// image path stays: hard links share an identity).
    pub(crate) fn claim(&mut self, path: &Path, image_path: &str) {
        #[cfg(unix)]
        if let Ok(md) = fs::symlink_metadata(path) {
            self.by_id
                .entry(Self::id(&md))
                .or_insert_with(|| image_path.to_string());
        }
        if let (Some(dir), Some(name)) = (path.parent(), path.file_name()) {
            self.made
                .entry(dir.to_path_buf())
                .or_default()
                .entry(Self::folded(name))
                .or_insert_with(|| (name.to_os_string(), image_path.to_string()));
        }
    }

    /// The message for `image_path`, which would land on `path`, already extracted from
    /// `owner`.
    pub(crate) fn collision(image_path: &str, owner: &str, path: &Path) -> String {
        format!(
            "{image_path} and {owner} are the same name on the destination ({}): {image_path} not extracted",
            shown(path)
        )
    }
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

/// "3 files, 12 symbolic links and 1 directory" (symbolic links only when there are some).
pub(crate) fn extracted_counts(files: u64, symlinks: u64, dirs: u64) -> String {
    use crate::report::counted;
    let mut parts = vec![counted(files, "file", "files")];
    if symlinks > 0 {
        parts.push(counted(symlinks, "symbolic link", "symbolic links"));
    }
    let dirs = counted(dirs, "directory", "directories");
    format!("{} and {dirs}", parts.join(", "))
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

/// A name from an image, safe to print and exact: UTF-8 text as it is (control characters
/// escaped), each byte that is not UTF-8 as `\xNN`, so that names differing only there are
/// told apart.
pub(crate) fn shown_name(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    for chunk in raw.utf8_chunks() {
        out.push_str(&printable(chunk.valid()));
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// The file name to create for the name bytes `raw`, checked ([`check_name_bytes`]): the exact
/// bytes on Unix; elsewhere the name must be UTF-8.
pub(crate) fn os_name(raw: &[u8]) -> Result<OsString, &'static str> {
    check_name_bytes(raw)?;
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(std::ffi::OsStr::from_bytes(raw).to_os_string())
    }
    #[cfg(not(unix))]
    {
        std::str::from_utf8(raw)
            .map(OsString::from)
            .map_err(|_| "name is not UTF-8, which this system cannot create")
    }
}

/// Accepts only names that are one ordinary path component: not empty, not `.` or `..`, no
/// `/` or NUL (and on Windows UTF-8, with no `\\`, `:` or drive prefix).
pub fn check_name_bytes(name: &[u8]) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty name");
    }
    if name == b"." || name == b".." {
        return Err("name is '.' or '..'");
    }
    if name.contains(&b'/') {
        return Err("name contains '/'");
    }
    if name.contains(&0) {
        return Err("name contains a NUL byte");
    }
    if cfg!(windows) {
        let text = std::str::from_utf8(name).map_err(|_| "name is not UTF-8")?;
        if text.contains('\\') || text.contains(':') {
            return Err("name contains '\\' or ':'");
        }
        let mut components = Path::new(text).components();
        return match (components.next(), components.next()) {
            (Some(Component::Normal(c)), None) if c == text => Ok(()),
            _ => Err("name is not a plain file name"),
        };
    }
    Ok(())
}

/// Creates a directory; an existing directory is fine (the image's merges into it). Anything
/// else in the way (a file, a symbolic link) is an error, or with `overwrite` is removed (a
/// link itself, never what it points to) and the directory made in its place.
pub(crate) fn make_dir(path: &Path, overwrite: bool) -> CliResult {
    match fs::symlink_metadata(path) {
        Ok(md) if md.is_dir() => Ok(()),
        Ok(_) if overwrite => {
            fs::remove_file(path).context(|| format!("cannot replace {}", shown(path)))?;
            fs::create_dir(path).context(|| format!("cannot create directory {}", shown(path)))
        }
        Ok(_) => Err(CliError::msg(format!(
            "cannot create directory {}: a file is in the way",
            shown(path)
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir(path).context(|| format!("cannot create directory {}", shown(path)))
        }
        Err(e) => Err(e).context(|| format!("cannot create directory {}", shown(path))),
    }
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

/// A destination path for messages (it contains names from the image).
pub(crate) fn shown(path: &Path) -> String {
    printable(&path.display().to_string()).into_owned()
}

pub(crate) fn set_dir_mtime(path: &Path, t: SystemTime) -> io::Result<()> {
    File::open(path)?.set_modified(t)
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

/// Creates a symbolic link at `path` (replacing a file or link there with `overwrite`, never a
/// directory).
pub(crate) fn make_symlink(target: &std::ffi::OsStr, path: &Path, overwrite: bool) -> CliResult {
    clear(path, overwrite)?;
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(target, path)
            .context(|| format!("cannot create symbolic link {}", shown(path)))
    }
    #[cfg(not(unix))]
    {
        let _ = target;
        Err(CliError::msg(format!(
            "cannot create symbolic link {}: not supported here",
            shown(path)
        )))
    }
}

/// Makes `path` another name of `first` (replacing a file or link there with `overwrite`).
pub(crate) fn replace_with_hard_link(first: &Path, path: &Path, overwrite: bool) -> CliResult {
    clear(path, overwrite)?;
    fs::hard_link(first, path)
        .context(|| format!("cannot link {} to {}", shown(path), shown(first)))
}

/// Sets the permission bits (the low 12 bits of `mode`).
pub(crate) fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o7777))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names() {
        for ok in ["a", "a.txt", "..a", "a..", "...", " x", "名前", "a b;1"] {
            assert_eq!(check_name_bytes(ok.as_bytes()), Ok(()), "{ok:?}");
        }
    }

    #[test]
    fn unsafe_names() {
        for bad in ["", ".", "..", "/", "a/b", "/etc", "../x", "a\0b", "\0"] {
            assert!(
                check_name_bytes(bad.as_bytes()).is_err(),
                "{bad:?} must be refused"
            );
        }
        if cfg!(windows) {
            for bad in ["a\\b", "..\\x", "C:", "C:x"] {
                assert!(
                    check_name_bytes(bad.as_bytes()).is_err(),
                    "{bad:?} must be refused"
                );
            }
        }
        // Not UTF-8: any byte but '/' and NUL is a Unix file name.
        assert_eq!(check_name_bytes(b"x\xff").is_ok(), cfg!(unix));
    }

    #[test]
    fn make_dir_refuses_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        make_dir(&dir.path().join("d"), false).unwrap();
        make_dir(&dir.path().join("d"), false).unwrap();
        fs::write(dir.path().join("f"), b"").unwrap();
        assert!(make_dir(&dir.path().join("f"), false).is_err());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("d"), dir.path().join("link")).unwrap();
            fs::write(dir.path().join("d").join("kept"), b"").unwrap();
            assert!(make_dir(&dir.path().join("link"), false).is_err());
            // Overwriting replaces the link itself with a directory; its target stays.
            make_dir(&dir.path().join("link"), true).unwrap();
            let md = fs::symlink_metadata(dir.path().join("link")).unwrap();
            assert!(md.is_dir());
            assert!(dir.path().join("d").join("kept").exists());
            assert_eq!(fs::read_dir(dir.path().join("link")).unwrap().count(), 0);
        }
    }

    #[test]
    fn shown_names_are_exact_and_safe() {
        assert_eq!(shown_name(b"x\xff"), "x\\xff");
        assert_eq!(shown_name(b"x\xfe"), "x\\xfe");
        assert_eq!(shown_name("é\u{1b}[2J".as_bytes()), "é\\u{1b}[2J");
    }

    #[test]
    fn abort_marker_survives_io_error() {
        assert!(is_abort(&io::Error::other(Abort)));
        assert!(!is_abort(&io::Error::other("x")));
    }
}
