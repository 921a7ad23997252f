//! Restoring a view's tree (or a part of it) on disk: [`ImageReader::restore`].
//!
//! Names come from an untrusted image: each is checked to be a single, ordinary path component
//! ([`check_name_bytes`]) before it is joined to the destination, and is created byte for byte
//! as the view records it (on Unix; Rock Ridge names need not be UTF-8, elsewhere a name must
//! be UTF-8). A name given twice in one directory (a damaged or hostile image) and a directory
//! reached twice (a loop) are left out and reported.
//!
//! Nothing of the caller's is changed unless asked: before anything is written, every path
//! the restore would create is looked up in the destination, and an entry already there (a
//! file, a symbolic link, or a directory where the image has a file) is
//! [`RestoreError::InTheWay`], naming each. A directory of the image merges into an existing
//! directory. With [`RestoreOptions::overwrite`], existing files and symbolic links are
//! replaced (the link itself, never what it points to) and only a directory in the way of a
//! file stays an error (nothing is removed recursively).
//!
//! Symbolic links are never followed while writing: files are created new (`O_EXCL`), an
//! entry in the way is looked up without following it, and nothing is ever written over an
//! entry this restore made: two names the destination's file system takes for one (case
//! folding, Unicode normalisation) are reported as a collision naming both, and the second is
//! not restored (with what is below it).
//!
//! What is restored besides names and bytes comes from Rock Ridge (RRIP 4.1.1 `PX`, 4.1.2
//! `PN`, 4.1.3 `SL`, 4.1.6 `TF`) or UDF (ECMA-167 4/14.9 file entries): permission bits, owners,
//! modification and access times, symbolic links, hard links (names of one file: the same
//! serial number, RRIP 1.12 `PX` `st_ino` or the UDF unique id, with a link count above one),
//! device nodes and FIFOs. The ISO 9660, Joliet and ISO 9660:1999 views have only names, bytes
//! and recording times (ECMA-119 9.1.5).
//!
//! Platforms: modes, owners, symbolic links and exact non-UTF-8 names need Unix (`cfg(unix)`);
//! device nodes and FIFOs need `mknodat` (Linux, Android, FreeBSD); times of symbolic links
//! and special files need `utimensat` (Linux, Android, FreeBSD, macOS). Elsewhere modes and
//! owners are not set, a symbolic link or special file is not created and is named in
//! [`RestoreReport::warnings`], and a name that is not UTF-8 is left out
//! ([`RestoreReport::skipped`]).

mod dest;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use super::{DirEntry, FileType, ImageReader, View};
use crate::error::ParseError;
use crate::progress::{ItemKind, Outcome, Phase, Progress, ProgressItem};

pub use dest::{check_name_bytes, shown_name};
use dest::{escape_controls, shown, Claims};

/// Read buffer per file: large reads, whatever the image reader does per call.
const COPY_BUFFER: usize = 256 * 1024;
/// Progress is reported, and abort polled, at least this often while copying (bytes).
const REPORT_EVERY: u64 = 1 << 20;

/// Decides whether an entry is restored: called with its image path (`/a/b.txt`, names
/// shown as [`shown_name`] does) and its directory entry. A directory it refuses is left out
/// with everything below it.
pub type RestoreFilter = Arc<dyn Fn(&str, &DirEntry) -> bool + Send + Sync>;

/// What [`ImageReader::restore`] restores, and how. [`RestoreOptions::new`] (or `default`)
/// restores everything the CLI's `extract` does: names, bytes, permission bits, modification
/// times, symbolic links and hard links; owners and special files only when asked; nothing in
/// the destination is replaced unless [`overwrite`](Self::overwrite) is set.
#[derive(Clone)]
#[non_exhaustive]
pub struct RestoreOptions {
    /// Restore only this image path (`/docs`): a directory's contents go into the
    /// destination, a file becomes a file of the destination. `None`: the whole view.
    pub subtree: Option<String>,
    /// Replace files and symbolic links already in the destination (a link itself, never what
    /// it points to). Default: false (an entry in the way is an error, nothing is written).
    pub overwrite: bool,
    /// Set permission bits (Rock Ridge / UDF modes; Unix only). Default: true.
    pub modes: bool,
    /// Set modification times (and access times when recorded). Default: true.
    pub times: bool,
    /// Set owners (user and group ids; Unix only). Changing an owner needs privileges (root):
    /// when refused, the files stay the caller's and one warning says so. Default: false.
    pub owners: bool,
    /// Create symbolic links. Default: true (false: they are left out silently).
    pub symlinks: bool,
    /// Restore names of one file as hard links. Default: true (false: each name gets its own
    /// copy).
    pub hard_links: bool,
    /// Create device nodes and FIFOs (devices need privileges). Default: false: each is named
    /// in the warnings and not created. Sockets are never created.
    pub special_files: bool,
    /// Which entries to restore (default: all).
    pub filter: Option<RestoreFilter>,
}

impl fmt::Debug for RestoreOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestoreOptions")
            .field("subtree", &self.subtree)
            .field("overwrite", &self.overwrite)
            .field("modes", &self.modes)
            .field("times", &self.times)
            .field("owners", &self.owners)
            .field("symlinks", &self.symlinks)
            .field("hard_links", &self.hard_links)
            .field("special_files", &self.special_files)
            .field("filter", &self.filter.as_ref().map(|_| "Fn"))
            .finish()
    }
}

impl Default for RestoreOptions {
    fn default() -> Self {
        RestoreOptions {
            subtree: None,
            overwrite: false,
            modes: true,
            times: true,
            owners: false,
            symlinks: true,
            hard_links: true,
            special_files: false,
            filter: None,
        }
    }
}

impl RestoreOptions {
    /// The defaults (see [`RestoreOptions`]).
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets [`subtree`](Self::subtree).
    pub fn subtree(mut self, image_path: impl Into<String>) -> Self {
        self.subtree = Some(image_path.into());
        self
    }
    /// Sets [`overwrite`](Self::overwrite).
    pub fn overwrite(mut self, yes: bool) -> Self {
        self.overwrite = yes;
        self
    }
    /// Sets [`modes`](Self::modes).
    pub fn modes(mut self, yes: bool) -> Self {
        self.modes = yes;
        self
    }
    /// Sets [`times`](Self::times).
    pub fn times(mut self, yes: bool) -> Self {
        self.times = yes;
        self
    }
    /// Sets [`owners`](Self::owners).
    pub fn owners(mut self, yes: bool) -> Self {
        self.owners = yes;
        self
    }
    /// Sets [`symlinks`](Self::symlinks).
    pub fn symlinks(mut self, yes: bool) -> Self {
        self.symlinks = yes;
        self
    }
    /// Sets [`hard_links`](Self::hard_links).
    pub fn hard_links(mut self, yes: bool) -> Self {
        self.hard_links = yes;
        self
    }
    /// Sets [`special_files`](Self::special_files).
    pub fn special_files(mut self, yes: bool) -> Self {
        self.special_files = yes;
        self
    }
    /// Sets [`filter`](Self::filter).
    pub fn filter(mut self, f: impl Fn(&str, &DirEntry) -> bool + Send + Sync + 'static) -> Self {
        self.filter = Some(Arc::new(f));
        self
    }
}

/// What a restore did (also carried by [`RestoreError::Aborted`]: what was done before it
/// stopped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RestoreReport {
    /// Regular files restored, hard links included.
    pub files: u64,
    /// Of [`files`](Self::files), the names made as hard links to a file restored before.
    pub hard_links: u64,
    /// Symbolic links created.
    pub symlinks: u64,
    /// Directories created or merged into.
    pub dirs: u64,
    /// Device nodes and FIFOs created.
    pub special_files: u64,
    /// Bytes of file data written.
    pub bytes: u64,
    /// The bytes the restore was to write (regular files' sizes).
    pub total_bytes: u64,
    /// Entries left out while reading the tree, each with why: a name that cannot be a file
    /// name here (`..`, a `/`, a NUL), a name given twice in one directory, a directory
    /// reached twice.
    pub skipped: Vec<String>,
    /// Entries not restored because the destination already held an entry of this restore
    /// under that name (a name given twice after case folding or normalisation): both named.
    pub collisions: Vec<String>,
    /// Damaged entries the image reader left out (lenient mode): also in
    /// [`ImageReader::left_out`] and its warnings.
    pub damaged: usize,
    /// What was restored incompletely: special files or links not created, modes, owners or
    /// times that could not be set.
    pub warnings: Vec<String>,
}

impl RestoreReport {
    /// Entries of the image not restored: skipped, colliding or damaged.
    pub fn not_restored(&self) -> usize {
        self.skipped.len() + self.collisions.len() + self.damaged
    }
}

/// What [`RestoreError::InTheWay`] found at one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConflictKind {
    /// An entry is there and overwriting was not asked for.
    Exists,
    /// A directory is where the image has something else (never replaced).
    DirectoryInTheWay,
}

/// An entry of the destination in the way of the restore.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Conflict {
    /// The destination path.
    pub path: PathBuf,
    /// The image path that would be restored there.
    pub image_path: String,
    /// What is there: "a file", "a directory", "a symbolic link" or "a special file".
    pub found: &'static str,
    /// Why it is in the way.
    pub kind: ConflictKind,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (for {}) ",
            shown(&self.path),
            escape_controls(&self.image_path)
        )?;
        match self.kind {
            ConflictKind::Exists => write!(f, "already exists ({})", self.found),
            ConflictKind::DirectoryInTheWay => f.write_str("is a directory (never replaced)"),
        }
    }
}

/// Why a restore failed. Each names the destination path or image path at fault and keeps the
/// cause (the `io::Error` with its kind, or the [`ParseError`] with its sector).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// The view's root directory cannot be read (or the image has no such view).
    #[error("cannot read the {view} root directory")]
    Root {
        /// The view.
        view: View,
        /// Why.
        #[source]
        source: ParseError,
    },
    /// The subtree asked for is not in the image (or cannot be read).
    #[error("cannot find {image_path} in the image")]
    Subtree {
        /// The image path asked for.
        image_path: String,
        /// Why.
        #[source]
        source: ParseError,
    },
    /// A directory of the image cannot be read.
    #[error("cannot read directory {image_path} of the image")]
    Directory {
        /// Its image path.
        image_path: String,
        /// Why.
        #[source]
        source: ParseError,
    },
    /// A file's data cannot be read from the image (a [`ParseError`] travels inside the
    /// `io::Error`).
    #[error("cannot read {} from the image", escape_controls(.image_path))]
    ReadFile {
        /// Its image path.
        image_path: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A file gave another number of bytes than its directory record says.
    #[error("{}: the image gave {got} bytes, but the directory record says {recorded}", escape_controls(.image_path))]
    SizeMismatch {
        /// Its image path.
        image_path: String,
        /// Bytes read.
        got: u64,
        /// Bytes recorded.
        recorded: u64,
    },
    /// An operation on the destination failed: `action` is what was being done ("create",
    /// "create directory", "write", "replace", "look up", ...).
    #[error("cannot {action} {}", shown(.path))]
    Io {
        /// What was being done.
        action: &'static str,
        /// The destination path.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A hard link cannot be made.
    #[error("cannot link {} to {}", shown(.path), shown(.first))]
    HardLink {
        /// The new name.
        path: PathBuf,
        /// The file it names.
        first: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Something appeared in the way after the destination was checked.
    #[error("cannot create {}: {reason}", shown(.path))]
    Blocked {
        /// The destination path.
        path: PathBuf,
        /// What is in the way.
        reason: &'static str,
    },
    /// Entries of the destination are in the way (checked before anything is written: nothing
    /// was written).
    #[error("{count} {} in {} in the way: nothing was restored{}", if *.count == 1 { "entry" } else { "entries" }, shown(.dest), if *.overwrite { "" } else { " (overwriting replaces existing files and symbolic links)" })]
    InTheWay {
        /// The destination.
        dest: PathBuf,
        /// The entries in the way (the first thousand).
        conflicts: Vec<Conflict>,
        /// How many there are.
        count: usize,
        /// Whether overwriting was asked for.
        overwrite: bool,
        /// What the walk of the image left out (as in [`RestoreReport::skipped`]).
        skipped: Vec<String>,
    },
    /// [`Progress::query_abort`] asked to stop: the entries restored so far stay, a partly
    /// written file is removed. The report says what was done.
    #[error("restore aborted by the caller ({} files, {} bytes restored)", .report.files, .report.bytes)]
    Aborted {
        /// What was restored before the stop.
        report: Box<RestoreReport>,
    },
}

impl RestoreError {
    pub(crate) fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        RestoreError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// One entry to create: its path relative to the destination, its image path (for messages:
/// escaped) and its directory entry.
struct Planned {
    rel: PathBuf,
    image_path: String,
    entry: DirEntry,
}

/// Progress of the copy: bytes written of the total, reported at least every MiB.
struct Meter<'a> {
    progress: &'a mut dyn Progress,
    done: u64,
    total: u64,
    reported: u64,
}

impl Meter<'_> {
    fn add(&mut self, n: u64) {
        self.done += n;
        if self.done - self.reported >= REPORT_EVERY {
            self.reported = self.done;
            self.progress.update(self.done, self.total);
        }
    }
}

/// Counts bytes and polls abort at least every MiB; remembers whether an error came from
/// writing (rather than reading).
struct Sink<'a, 'p> {
    out: &'a mut std::fs::File,
    meter: &'a mut Meter<'p>,
    since_poll: u64,
    aborted: bool,
}

impl Write for Sink<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.since_poll >= REPORT_EVERY {
            self.since_poll = 0;
            if self.meter.progress.query_abort() {
                self.aborted = true;
                return Err(io::Error::other("aborted"));
            }
        }
        let n = self.out.write(buf)?;
        self.since_poll += n as u64;
        self.meter.add(n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The state of one restore.
struct Run<'o> {
    dest: PathBuf,
    options: &'o RestoreOptions,
    report: RestoreReport,
    claims: Claims,
    /// Hard links: serial number -> the first name restored.
    linked: HashMap<u32, PathBuf>,
    /// Owners could not be set once: not tried again.
    owners_refused: bool,
}

impl Run<'_> {
    fn warn(&mut self, message: String) {
        self.report.warnings.push(message);
    }

    /// Sets the owner of `path` when asked; the first refusal is one warning, then no more
    /// tries.
    fn owner(&mut self, path: &Path, entry: &DirEntry) {
        let (Some(p), true, false) = (
            entry.posix.as_deref(),
            self.options.owners,
            self.owners_refused,
        ) else {
            return;
        };
        if let Err(e) = dest::set_owner(path, p.uid, p.gid) {
            self.owners_refused = true;
            self.warn(format!(
                "owners not restored from {} on: {e} (setting owners needs privileges)",
                shown(path)
            ));
        }
    }
}

/// The bytes the restore of `plan` writes: regular files' sizes, each file with several
/// names once (when restored as hard links).
fn bytes_to_write(plan: &[Planned], options: &RestoreOptions) -> u64 {
    let mut linked = HashSet::new();
    plan.iter()
        .filter(|p| !p.entry.is_dir)
        .filter(|p| {
            let posix = p.entry.posix.as_deref();
            match posix.map(|x| x.file_type()) {
                Some(FileType::Regular | FileType::Unknown) | None => {}
                Some(_) => return false,
            }
            let key = posix
                .filter(|x| x.nlink > 1 && options.hard_links)
                .and_then(|x| x.serial);
            match key {
                None => true,
                Some(k) => linked.insert(k),
            }
        })
        .map(|p| p.entry.size)
        .sum()
}

fn to_system(t: chrono::DateTime<chrono::FixedOffset>) -> SystemTime {
    t.into()
}

impl<R: Read + Seek> ImageReader<R> {
    /// Restores the tree of `view` (or the part [`RestoreOptions::subtree`] names) into the
    /// directory `dest` (created if missing), as the module documentation
    /// ([`crate::read::restore`]) describes.
    ///
    /// Progress: [`Phase::Scan`] while reading the image's directories ([`Progress::scanned`]
    /// per entry, [`Progress::query_abort`] per entry), then [`Phase::Restore`] with the total
    /// of bytes to write: [`Progress::item_started`] per file (its image path; its first block),
    /// [`Progress::update`] (bytes written) at least every MiB and at the end, and
    /// `query_abort` at least per entry and per MiB. When it returns true the restore stops
    /// before the next MiB with [`RestoreError::Aborted`] (the partly written file removed).
    ///
    /// Entries left out (bad names, names given twice, collisions, damaged entries) do not
    /// stop the restore: the report lists them ([`RestoreReport::not_restored`]).
    pub fn restore(
        &mut self,
        view: View,
        dest: &Path,
        options: &RestoreOptions,
        progress: &mut dyn Progress,
    ) -> Result<RestoreReport, RestoreError> {
        progress.begin(Phase::Scan, 0);
        let planned = self.plan_restore(view, options, progress);
        progress.end(
            Phase::Scan,
            match &planned {
                Ok(_) => Outcome::Completed,
                Err(RestoreError::Aborted { .. }) => Outcome::Aborted,
                Err(_) => Outcome::Failed,
            },
        );
        let (plan, skipped) = planned?;
        let mut report = RestoreReport {
            skipped,
            damaged: self.left_out().len(),
            ..RestoreReport::default()
        };
        report.total_bytes = bytes_to_write(&plan, options);

        // Before anything is written: what is already in the destination.
        let (conflicts, count) = dest::check_dest(
            plan.iter()
                .map(|p| (dest.join(&p.rel), p.entry.is_dir, p.image_path.as_str())),
            options.overwrite,
        )?;
        if count > 0 {
            return Err(RestoreError::InTheWay {
                dest: dest.to_path_buf(),
                conflicts,
                count,
                overwrite: options.overwrite,
                skipped: report.skipped,
            });
        }
        std::fs::create_dir_all(dest).map_err(|e| RestoreError::io("create", dest, e))?;
        let total = report.total_bytes;
        progress.begin(Phase::Restore, total);
        let mut run = Run {
            dest: dest.to_path_buf(),
            options,
            report,
            claims: Claims::default(),
            linked: HashMap::new(),
            owners_refused: false,
        };
        let mut meter = Meter {
            progress,
            done: 0,
            total,
            reported: 0,
        };
        let r = self.restore_plan(&plan, &mut run, &mut meter);
        meter.progress.update(meter.done, total);
        run.report.bytes = meter.done;
        let outcome = match &r {
            Ok(()) => Outcome::Completed,
            Err(RestoreError::Aborted { .. }) => Outcome::Aborted,
            Err(_) => Outcome::Failed,
        };
        meter.progress.end(Phase::Restore, outcome);
        match r {
            Ok(()) => Ok(run.report),
            Err(RestoreError::Aborted { .. }) => Err(RestoreError::Aborted {
                report: Box::new(run.report),
            }),
            Err(e) => Err(e),
        }
    }

    /// Walks the view's tree (from the subtree asked for), checking names. Returns the entries
    /// to create (each directory before its contents) and the reasons for the entries left
    /// out: names that cannot be a file name here, names given twice in one directory (the
    /// second is left out, with what is below it), directories reached twice.
    fn plan_restore(
        &mut self,
        view: View,
        options: &RestoreOptions,
        progress: &mut dyn Progress,
    ) -> Result<(Vec<Planned>, Vec<String>), RestoreError> {
        let aborted = || RestoreError::Aborted {
            report: Box::default(),
        };
        let root = self
            .root(view)
            .map_err(|source| RestoreError::Root { view, source })?;
        let (mut plan, mut skipped) = (Vec::new(), Vec::new());
        let start = match options.subtree.as_deref() {
            None | Some("/") | Some("") => root,
            Some(sub) => {
                let found = self
                    .lookup(view, sub)
                    .map_err(|source| RestoreError::Subtree {
                        image_path: sub.to_string(),
                        source,
                    })?;
                let image_path = format!("/{}", sub.trim_matches('/'));
                if !found.is_dir {
                    let name =
                        dest::os_name(found.name_bytes()).map_err(|why| RestoreError::Blocked {
                            path: PathBuf::from(shown_name(found.name_bytes())),
                            reason: why,
                        })?;
                    plan.push(Planned {
                        rel: PathBuf::from(name),
                        image_path,
                        entry: found,
                    });
                    return Ok((plan, skipped));
                }
                found
            }
        };
        let start_path = match options.subtree.as_deref() {
            None | Some("/") | Some("") => String::new(),
            Some(sub) => format!("/{}", sub.trim_matches('/')),
        };
        let mut visited: HashSet<u32> = start.location().into_iter().collect();
        let mut stack = vec![(PathBuf::new(), start_path, start)];
        while let Some((rel, image_path, dir)) = stack.pop() {
            if progress.query_abort() {
                return Err(aborted());
            }
            let shown_dir = if image_path.is_empty() {
                "/".to_string()
            } else {
                image_path.clone()
            };
            let children = self
                .read_dir(&dir)
                .map_err(|source| RestoreError::Directory {
                    image_path: shown_dir,
                    source,
                })?;
            // The names seen in this directory, with the image path that has each.
            let mut seen: HashMap<Vec<u8>, String> = HashMap::new();
            for child in children {
                // The "." and ".." records of every directory.
                if child.identifier == [0] || child.identifier == [1] {
                    continue;
                }
                let raw = child.name_bytes();
                let child_image_path = format!("{image_path}/{}", shown_name(raw));
                if progress.query_abort() {
                    return Err(aborted());
                }
                progress.scanned(&child_image_path);
                let name = match dest::os_name(raw) {
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
                if let Some(filter) = &options.filter {
                    if !filter(&child_image_path, &child) {
                        continue;
                    }
                }
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
            }
        }
        Ok((plan, skipped))
    }

    /// Creates the planned entries, then sets the directories' modes and times.
    fn restore_plan(
        &mut self,
        plan: &[Planned],
        run: &mut Run<'_>,
        meter: &mut Meter<'_>,
    ) -> Result<(), RestoreError> {
        let aborted = || RestoreError::Aborted {
            report: Box::default(),
        };
        let options = run.options;
        // Directories not restored (a collision): nothing is restored below them.
        let mut blocked: HashSet<PathBuf> = HashSet::new();
        for item in plan {
            if meter.progress.query_abort() {
                return Err(aborted());
            }
            if !blocked.is_empty() && item.rel.ancestors().skip(1).any(|a| blocked.contains(a)) {
                continue;
            }
            let path = run.dest.join(&item.rel);
            if let Some(owner) = run.claims.owner(&path) {
                run.report.collisions.push(format!(
                    "{} and {owner} are the same name on the destination ({}): {} not extracted",
                    item.image_path,
                    shown(&path),
                    item.image_path
                ));
                if item.entry.is_dir {
                    blocked.insert(item.rel.clone());
                }
                continue;
            }
            if item.entry.is_dir {
                dest::make_dir(&path, options.overwrite)?;
                run.claims.claim(&path, &item.image_path);
                run.owner(&path, &item.entry);
                run.report.dirs += 1;
                continue;
            }
            // Rock Ridge (or UDF) metadata: symbolic links, hard links, special files, modes.
            let posix = item.entry.posix.as_deref();
            let file_type = posix.map(|p| p.file_type());
            match file_type {
                Some(FileType::Symlink) => {
                    if options.symlinks {
                        self.restore_symlink(item, &path, run)?;
                    }
                    continue;
                }
                Some(FileType::Regular | FileType::Unknown) | None => {}
                Some(other) => {
                    self.restore_special(item, other, &path, run)?;
                    continue;
                }
            }
            meter.progress.item_started(&ProgressItem {
                first_block: item.entry.location().map_or(0, u64::from),
                last_block: item.entry.location().map_or(0, u64::from)
                    + item
                        .entry
                        .size
                        .div_ceil(crate::BLOCK_SIZE_U64)
                        .saturating_sub(1),
                block_count: item.entry.size.div_ceil(crate::BLOCK_SIZE_U64).max(1),
                description: item.image_path.clone(),
                kind: ItemKind::FileData,
            });
            // Names of one file (same serial number, several links) become hard links.
            let link_key = posix
                .filter(|p| p.nlink > 1 && options.hard_links)
                .and_then(|p| p.serial);
            if let Some(first) = link_key.and_then(|k| run.linked.get(&k)) {
                let first = first.clone();
                dest::hard_link(&first, &path, options.overwrite)?;
                run.claims.claim(&path, &item.image_path);
                run.report.files += 1;
                run.report.hard_links += 1;
                continue;
            }
            self.restore_file(item, &path, run, meter)?;
            run.claims.claim(&path, &item.image_path);
            if let Some(k) = link_key {
                run.linked.insert(k, path.clone());
            }
            run.report.files += 1;
        }
        // Directory modes and times last (creating their contents changed them), deepest
        // first.
        let restored = |p: &&Planned| !p.rel.ancestors().any(|a| blocked.contains(a));
        for item in plan
            .iter()
            .rev()
            .filter(|p| p.entry.is_dir)
            .filter(restored)
        {
            let path = run.dest.join(&item.rel);
            if let (Some(p), true) = (&item.entry.posix, options.modes) {
                if let Err(e) = dest::set_mode(&path, p.mode) {
                    run.warn(format!("cannot set the mode of {}: {e}", shown(&path)));
                }
            }
            if let (Some(t), true) = (item.entry.mtime, options.times) {
                let atime = item
                    .entry
                    .posix
                    .as_ref()
                    .and_then(|p| p.atime)
                    .map(to_system);
                if let Err(e) = dest::set_times(&path, to_system(t), atime) {
                    run.warn(format!("cannot set the time of {}: {e}", shown(&path)));
                }
            }
        }
        Ok(())
    }

    /// Creates a symbolic link to the target's exact bytes (Rock Ridge need not record UTF-8).
    fn restore_symlink(
        &mut self,
        item: &Planned,
        path: &Path,
        run: &mut Run<'_>,
    ) -> Result<(), RestoreError> {
        let posix = item.entry.posix.as_deref();
        let target = posix.and_then(|p| p.symlink.clone()).unwrap_or_default();
        if cfg!(not(unix)) {
            run.warn(format!(
                "{}: symbolic link not created (not supported here)",
                escape_controls(&item.image_path)
            ));
            return Ok(());
        }
        dest::make_symlink(&target, path, run.options.overwrite)?;
        run.claims.claim(path, &item.image_path);
        run.owner(path, &item.entry);
        if let (true, Some(t)) = (run.options.times, item.entry.mtime) {
            if let Err(e) = dest::set_times_nofollow(path, to_system(t), None) {
                run.warn(format!("cannot set the time of {}: {e}", shown(path)));
            }
        }
        run.report.symlinks += 1;
        Ok(())
    }

    /// Creates a device node or FIFO when asked; otherwise (and for sockets) a warning.
    fn restore_special(
        &mut self,
        item: &Planned,
        file_type: FileType,
        path: &Path,
        run: &mut Run<'_>,
    ) -> Result<(), RestoreError> {
        let shown_path = escape_controls(&item.image_path);
        let Some(p) = item.entry.posix.as_deref() else {
            return Ok(());
        };
        let kind = match file_type {
            FileType::CharDevice => 'c',
            FileType::BlockDevice => 'b',
            FileType::Fifo => 'p',
            _ => {
                run.warn(format!(
                    "{shown_path}: {file_type} not created (sockets are never restored)"
                ));
                return Ok(());
            }
        };
        if !run.options.special_files {
            run.warn(format!(
                "{shown_path}: {file_type} not created (special files are created only when asked)"
            ));
            return Ok(());
        }
        let device = p.device_numbers().unwrap_or((0, 0));
        if let Err(e) = dest::make_special(path, kind, p.mode, device, run.options.overwrite) {
            match e {
                // Not allowed (devices need root) or not available here: a warning.
                RestoreError::Io { source, .. }
                    if matches!(
                        source.kind(),
                        io::ErrorKind::PermissionDenied | io::ErrorKind::Unsupported
                    ) =>
                {
                    run.warn(format!("{shown_path}: {file_type} not created: {source}"));
                    return Ok(());
                }
                other => return Err(other),
            }
        }
        run.claims.claim(path, &item.image_path);
        run.owner(path, &item.entry);
        if run.options.modes {
            if let Err(e) = dest::set_mode(path, p.mode) {
                run.warn(format!("cannot set the mode of {}: {e}", shown(path)));
            }
        }
        if let (true, Some(t)) = (run.options.times, item.entry.mtime) {
            let atime = p.atime.map(to_system);
            if let Err(e) = dest::set_times_nofollow(path, to_system(t), atime) {
                run.warn(format!("cannot set the time of {}: {e}", shown(path)));
            }
        }
        run.report.special_files += 1;
        Ok(())
    }

    /// Restores one regular file: creates it new, copies its bytes (checking their number),
    /// sets owner, mode and times. A partly written file is removed on error or abort.
    fn restore_file(
        &mut self,
        item: &Planned,
        path: &Path,
        run: &mut Run<'_>,
        meter: &mut Meter<'_>,
    ) -> Result<(), RestoreError> {
        let mut file = dest::create_file(path, run.options.overwrite)?;
        let result = self.copy_entry(item, path, &mut file, meter);
        let result = result.and_then(|()| {
            if let (true, Some(t)) = (run.options.times, item.entry.mtime) {
                let mut times = std::fs::FileTimes::new().set_modified(to_system(t));
                if let Some(a) = item.entry.posix.as_ref().and_then(|p| p.atime) {
                    times = times.set_accessed(to_system(a));
                }
                file.set_times(times)
                    .map_err(|e| RestoreError::io("set the time of", path, e))?;
            }
            Ok(())
        });
        drop(file);
        if let Err(e) = result {
            let _ = std::fs::remove_file(path);
            return Err(e);
        }
        run.owner(path, &item.entry);
        if let (Some(p), true) = (&item.entry.posix, run.options.modes) {
            dest::set_mode(path, p.mode)
                .map_err(|e| RestoreError::io("set the mode of", path, e))?;
        }
        Ok(())
    }

    /// Streams the entry's bytes into `out`, checking their number.
    fn copy_entry(
        &mut self,
        item: &Planned,
        path: &Path,
        out: &mut std::fs::File,
        meter: &mut Meter<'_>,
    ) -> Result<(), RestoreError> {
        let read_error = |source: io::Error| RestoreError::ReadFile {
            image_path: item.image_path.clone(),
            source,
        };
        let mut source = self
            .open_file(&item.entry)
            .map_err(|e| read_error(e.into()))?;
        let mut sink = Sink {
            out,
            meter,
            since_poll: 0,
            aborted: false,
        };
        let mut buf = vec![0u8; COPY_BUFFER];
        let mut copied = 0u64;
        loop {
            let n = match source.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_error(e)),
            };
            let chunk = buf.get(..n).unwrap_or_default();
            if let Err(e) = sink.write_all(chunk) {
                if sink.aborted {
                    return Err(RestoreError::Aborted {
                        report: Box::default(),
                    });
                }
                return Err(RestoreError::io("write", path, e));
            }
            copied += n as u64;
        }
        if copied != item.entry.size {
            return Err(RestoreError::SizeMismatch {
                image_path: item.image_path.clone(),
                got: copied,
                recorded: item.entry.size,
            });
        }
        Ok(())
    }
}
