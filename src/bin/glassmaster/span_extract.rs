//! `glassmaster extract VOLUME... DEST` for the volumes of a set made with `build --span`: checks
//! that the volumes belong to one set, that none is missing or given twice, then restores the
//! tree from the set catalog, joining split files and verifying the SHA-256 of every part and
//! every file.
//!
//! Part data is read at the block the catalog gives (parts are contiguous in their volume), so
//! the restore does not depend on how a file system view shows a part's name.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use glassmaster::span::{Catalog, CatalogEntry, EntryKind, CATALOG_PATH, FORMAT_LINE, VOLUME_PATH};
use glassmaster::ParseErrorKind;
use sha2::{Digest, Sha256};

use crate::dest::{
    check_dest, clear, make_dir, make_symlink, replace_with_hard_link, set_dir_mtime, set_mode,
    shown, shown_name, Claims,
};
use crate::error::{CliError, CliResult, ResultExt};
use crate::image_file::{open_image, FileImage};
use crate::interrupt;
use crate::progress_bar::Bar;

/// One volume given on the command line.
struct Volume {
    path: PathBuf,
    set: String,
    number: u32,
    count: u32,
    catalog: Vec<u8>,
    len: u64,
}

/// The largest set catalog read into memory (about four million entries).
const MAX_CATALOG_BYTES: u64 = 1 << 30;

/// Reads a file of the image by path in its default view; `None` if it has no such file. A
/// file larger than [`MAX_CATALOG_BYTES`] (the image is not trusted) reads as empty, which the
/// callers reject.
fn read_member(
    reader: &mut FileImage,
    path: &str,
) -> Result<Option<Vec<u8>>, glassmaster::ParseError> {
    let view = reader.default_view();
    match reader.lookup(view, path) {
        Ok(e) if e.size > MAX_CATALOG_BYTES => Ok(Some(Vec::new())),
        Ok(e) => Ok(Some(reader.read_file(&e)?)),
        Err(e) if matches!(e.kind, ParseErrorKind::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// True if the image at `path` is a volume of a spanned set. An image that cannot be read that
/// far is not one (the ordinary extract then reports what is wrong with it).
pub fn is_volume(path: &Path) -> CliResult<bool> {
    let mut reader = open_image(path)?;
    Ok(matches!(read_member(&mut reader, VOLUME_PATH), Ok(Some(_))))
}

/// Opens a volume and reads which set and volume it is, and the set catalog.
fn open_volume(path: &Path) -> CliResult<Volume> {
    let mut reader: FileImage = open_image(path)?;
    let len = reader.image_len();
    let what = || format!("cannot read {}", path.display());
    let Some(text) = read_member(&mut reader, VOLUME_PATH).context(what)? else {
        return Err(CliError::msg(format!(
            "{} is not a volume of a spanned set (it has no {VOLUME_PATH})",
            path.display()
        )));
    };
    let bad = || {
        CliError::msg(format!(
            "{}: {VOLUME_PATH} is not a glassmaster volume file",
            path.display()
        ))
    };
    let text = String::from_utf8(text).map_err(|_| bad())?;
    let mut lines = text.lines();
    if lines.next() != Some(FORMAT_LINE) {
        return Err(bad());
    }
    let set = lines
        .next()
        .and_then(|l| l.strip_prefix("set "))
        .ok_or_else(bad)?
        .to_string();
    let (number, count) = lines
        .next()
        .and_then(|l| l.strip_prefix("volume "))
        .and_then(|l| l.split_once(" of "))
        .and_then(|(k, n)| Some((k.parse::<u32>().ok()?, n.parse::<u32>().ok()?)))
        .ok_or_else(bad)?;
    if number == 0 || number > count {
        return Err(bad());
    }
    let catalog = read_member(&mut reader, CATALOG_PATH)
        .context(what)?
        .ok_or_else(|| {
            CliError::msg(format!(
                "{}: the set catalog {CATALOG_PATH} is missing",
                path.display()
            ))
        })?;
    Ok(Volume {
        path: path.to_path_buf(),
        set,
        number,
        count,
        catalog,
        len,
    })
}

/// Checks the volumes form one complete set; returns the catalog and the volume files by
/// number.
fn check_set(volumes: Vec<Volume>) -> CliResult<(Catalog, BTreeMap<u32, Volume>)> {
    let Some(first) = volumes.first() else {
        return Err(CliError::msg("no volume given"));
    };
    let (set, count) = (first.set.clone(), first.count);
    let mut by_number: BTreeMap<u32, Volume> = BTreeMap::new();
    let first_path = first.path.clone();
    let first_number = first.number;
    let first_catalog = first.catalog.clone();
    for v in volumes {
        if v.set != set || v.count != count {
            return Err(CliError::msg(format!(
                "{} is volume {} of {} of set {}, but {} belongs to set {} of {count} volumes: \
                 volumes of different sets",
                v.path.display(),
                v.number,
                v.count,
                v.set,
                first_path.display(),
                set
            )));
        }
        if v.catalog != first_catalog {
            return Err(CliError::msg(format!(
                "{} and {} hold different catalogs of set {set}: volumes of different builds",
                v.path.display(),
                first_path.display()
            )));
        }
        if let Some(other) = by_number.get(&v.number) {
            return Err(CliError::msg(format!(
                "{} and {} are both volume {} of {count} of set {set}",
                other.path.display(),
                v.path.display(),
                v.number
            )));
        }
        by_number.insert(v.number, v);
    }
    let catalog = Catalog::parse(&first_catalog)
        .context(|| format!("cannot read the set catalog of {}", first_path.display()))?;
    if catalog.set_id != set || catalog.volumes.len() != count as usize {
        return Err(CliError::msg(format!(
            "{}: the set catalog does not match {VOLUME_PATH}",
            first_path.display()
        )));
    }
    let missing: Vec<String> = catalog
        .volumes
        .iter()
        .filter(|v| !by_number.contains_key(&v.number))
        .map(|v| {
            let example = sibling_volume(&first_path, first_number, v.number, count);
            format!(
                "missing volume {} of {count} of set {set}: {} (a file like {})",
                v.number,
                v.label,
                example.display()
            )
        })
        .collect();
    if !missing.is_empty() {
        return Err(CliError::msg(missing.join("; ")));
    }
    for info in &catalog.volumes {
        if let Some(v) = by_number.get(&info.number) {
            if v.len < info.blocks * glassmaster::BLOCK_SIZE_U64 {
                return Err(CliError::msg(format!(
                    "{} (volume {} of set {set}) is truncated: {} bytes, the set says {}",
                    v.path.display(),
                    info.number,
                    v.len,
                    info.blocks * glassmaster::BLOCK_SIZE_U64
                )));
            }
        }
    }
    Ok((catalog, by_number))
}

/// The name volume `number` would have beside `given` (volume `given_number`), if `given` is
/// named like `build --span` names volumes (`NAME.002.iso`); else `given` with the number.
fn sibling_volume(given: &Path, given_number: u32, number: u32, count: u32) -> PathBuf {
    let name = given
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let width = count.to_string().len().max(3);
    let tag = format!(".{given_number:0width$}");
    let base = match name.find(&tag) {
        Some(i) => format!("{}{}", &name[..i], &name[i + tag.len()..]),
        None => name,
    };
    glassmaster::span::volume_path(&given.with_file_name(base), number, count)
}

/// The path below `dest` for a catalog path, each component checked.
fn dest_path(dest: &Path, path: &[u8]) -> Result<(PathBuf, Vec<PathBuf>), String> {
    let mut out = dest.to_path_buf();
    let mut parents = Vec::new();
    let comps: Vec<&[u8]> = path
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .collect();
    if comps.is_empty() {
        return Err("empty path".into());
    }
    for (i, c) in comps.iter().enumerate() {
        let name = crate::dest::os_name(c)?;
        if i + 1 < comps.len() {
            parents.push(out.join(&name));
        }
        out.push(name);
    }
    Ok((out, parents))
}

#[cfg(unix)]
fn os_name(b: &[u8]) -> std::ffi::OsString {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::OsStr::from_bytes(b).to_os_string()
}
#[cfg(not(unix))]
fn os_name(b: &[u8]) -> std::ffi::OsString {
    String::from_utf8_lossy(b).into_owned().into()
}

/// Restores the set into `dest`.
pub fn run(
    images: &[PathBuf],
    dest: &Path,
    quiet: bool,
    overwrite: bool,
    start: Instant,
) -> CliResult {
    let volumes = images
        .iter()
        .map(|p| open_volume(p))
        .collect::<CliResult<Vec<_>>>()?;
    let (catalog, vols) = check_set(volumes)?;
    let mut bar = Bar::new(quiet);
    // Before anything is written: what is already in DEST (an error unless --overwrite). The
    // catalog's directories are implied by its paths too.
    let mut planned: Vec<(PathBuf, bool, String)> = Vec::new();
    let mut listed: HashSet<PathBuf> = HashSet::new();
    for e in &catalog.entries {
        let shown_path = shown_name(&e.path);
        let (path, parents) = dest_path(dest, &e.path)
            .map_err(|why| CliError::msg(format!("refusing {shown_path}: {why}")))?;
        for p in parents {
            if listed.insert(p.clone()) {
                let image_path = p
                    .strip_prefix(dest)
                    .map(|r| format!("/{}", shown(r)))
                    .unwrap_or_default();
                planned.push((p, true, image_path));
            }
        }
        if listed.insert(path.clone()) {
            planned.push((path, matches!(e.kind, EntryKind::Dir), shown_path));
        }
    }
    check_dest(
        dest,
        planned.iter().map(|(p, d, s)| (p.clone(), *d, s.as_str())),
        overwrite,
        &bar,
    )?;
    fs::create_dir_all(dest).context(|| format!("cannot create {}", dest.display()))?;
    let total: u64 = catalog
        .entries
        .iter()
        .map(|e| match e.kind {
            EntryKind::File { size, .. } => size,
            _ => 0,
        })
        .sum();
    bar.bytes(total);
    let mut files: BTreeMap<u32, File> = BTreeMap::new();
    let (mut nfiles, mut ndirs, mut nlinks) = (0u64, 0u64, 0u64);
    let mut links = Vec::new();
    let mut dirs = Vec::new();
    let mut claims = Claims::default();
    for e in &catalog.entries {
        if interrupt::interrupted() {
            return Err(CliError::Interrupted);
        }
        let shown_path = shown_name(&e.path);
        let (path, parents) = dest_path(dest, &e.path)
            .map_err(|why| CliError::msg(format!("refusing {shown_path}: {why}")))?;
        for p in &parents {
            make_dir(p, overwrite)?;
        }
        // Never over an entry of this restore: the catalog names it twice, or the destination
        // takes two names for one.
        if let Some(owner) = claims.owner(&path) {
            return Err(CliError::msg(Claims::collision(&shown_path, &owner, &path)));
        }
        bar.set_message(&shown_path);
        match &e.kind {
            EntryKind::Dir => {
                make_dir(&path, overwrite)?;
                claims.claim(&path, &shown_path);
                dirs.push((path, e));
                ndirs += 1;
            }
            EntryKind::File { .. } => {
                restore_file(e, &path, &vols, &mut files, &bar, &shown_path, overwrite)?;
                claims.claim(&path, &shown_path);
                nfiles += 1;
            }
            EntryKind::Symlink { target } => {
                make_symlink(&os_name(target), &path, overwrite)?;
                claims.claim(&path, &shown_path);
                nlinks += 1;
            }
            EntryKind::HardLink { target } => links.push((path, target.clone(), shown_path)),
            EntryKind::Special { kind, .. } => {
                bar.eprintln(&format!(
                    "glassmaster: warning: {shown_path}: {kind:?} not created (special files are not supported by extract)"
                ));
            }
        }
    }
    for (path, target, shown_path) in links {
        let (first, _) = dest_path(dest, &target)
            .map_err(|why| CliError::msg(format!("refusing link {shown_path}: {why}")))?;
        if let Some(owner) = claims.owner(&path) {
            return Err(CliError::msg(Claims::collision(&shown_path, &owner, &path)));
        }
        replace_with_hard_link(&first, &path, overwrite)?;
        claims.claim(&path, &shown_path);
        nfiles += 1;
    }
    // Directory modes and times last (creating their contents changed them), deepest first.
    for (path, e) in dirs.iter().rev() {
        if let Err(err) = set_mode(path, e.perm) {
            bar.eprintln(&format!(
                "glassmaster: warning: cannot set the mode of {}: {err}",
                shown(path)
            ));
        }
        if let Err(err) = set_dir_mtime(path, e.mtime.into()) {
            bar.eprintln(&format!(
                "glassmaster: warning: cannot set the time of {}: {err}",
                shown(path)
            ));
        }
    }
    bar.finish();
    if !quiet {
        eprintln!(
            "glassmaster: restored set {} ({}): {} ({}) to {} in {:.2} s; every checksum verified",
            catalog.set_id,
            crate::report::counted(vols.len() as u64, "volume", "volumes"),
            crate::dest::extracted_counts(nfiles, nlinks, ndirs),
            indicatif::DecimalBytes(total),
            dest.display(),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Writes one file from its parts into a temporary file beside `path`, verifying each part's
/// and the whole file's SHA-256, then sets its mode and time and renames it into place.
fn restore_file(
    e: &CatalogEntry,
    path: &Path,
    vols: &BTreeMap<u32, Volume>,
    files: &mut BTreeMap<u32, File>,
    bar: &Bar,
    shown_path: &str,
    overwrite: bool,
) -> CliResult {
    let EntryKind::File { size, sha256 } = &e.kind else {
        return Ok(());
    };
    if let Ok(md) = fs::symlink_metadata(path) {
        if md.is_dir() {
            return Err(CliError::msg(format!(
                "cannot create {}: a directory is in the way",
                shown(path)
            )));
        }
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.glassmaster-tmp", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .context(|| format!("cannot create {}", shown(&tmp)))?;
    let result = (|| -> CliResult {
        let mut whole = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut written = 0u64;
        for (k, part) in e.parts.iter().enumerate() {
            let v = vols.get(&part.volume).ok_or_else(|| {
                CliError::msg(format!(
                    "{shown_path}: part {} is in a volume not given",
                    k + 1
                ))
            })?;
            let file = match files.entry(part.volume) {
                std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::btree_map::Entry::Vacant(slot) => slot.insert(
                    File::open(&v.path).context(|| format!("cannot open {}", v.path.display()))?,
                ),
            };
            let at = part.lba * glassmaster::BLOCK_SIZE_U64;
            if at.saturating_add(part.len) > v.len {
                return Err(CliError::msg(format!(
                    "{shown_path}: part {} lies beyond the end of {}",
                    k + 1,
                    v.path.display()
                )));
            }
            file.seek(SeekFrom::Start(at))
                .context(|| format!("cannot read {}", v.path.display()))?;
            let mut h = Sha256::new();
            let mut left = part.len;
            while left > 0 {
                if interrupt::interrupted() {
                    return Err(CliError::Interrupted);
                }
                let n = left.min(buf.len() as u64) as usize;
                let chunk = &mut buf[..n];
                file.read_exact(chunk)
                    .context(|| format!("cannot read {}", v.path.display()))?;
                h.update(&*chunk);
                whole.update(&*chunk);
                out.write_all(chunk)
                    .context(|| format!("cannot write {}", shown(&tmp)))?;
                bar.inc(n as u64);
                left -= n as u64;
                written += n as u64;
            }
            if <[u8; 32]>::from(h.finalize()) != part.sha256 {
                return Err(CliError::msg(format!(
                    "{shown_path}: part {} of {} (in {}, volume {}) is damaged: SHA-256 mismatch",
                    k + 1,
                    e.parts.len(),
                    v.path.display(),
                    part.volume
                )));
            }
        }
        if written != *size || <[u8; 32]>::from(whole.finalize()) != *sha256 {
            return Err(CliError::msg(format!(
                "{shown_path}: the joined file does not match the catalog's size and SHA-256"
            )));
        }
        out.flush()
            .context(|| format!("cannot write {}", shown(&tmp)))?;
        set_mode(&tmp, e.perm).context(|| format!("cannot set the mode of {}", shown(&tmp)))?;
        out.set_modified(e.mtime.into())
            .context(|| format!("cannot set the time of {}", shown(&tmp)))?;
        #[cfg(unix)]
        {
            // Owners are restored when allowed (as root); otherwise the files are the user's.
            let md = out.metadata().ok();
            if md.is_some_and(|m| {
                use std::os::unix::fs::MetadataExt;
                m.uid() != e.uid || m.gid() != e.gid
            }) {
                let _ = std::os::unix::fs::fchown(&out, Some(e.uid), Some(e.gid));
            }
        }
        // Replaced only with --overwrite (a link itself, never what it points to).
        clear(path, overwrite)?;
        fs::rename(&tmp, path).context(|| format!("cannot create {}", shown(path)))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
