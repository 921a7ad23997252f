//! `glassmaster verify IMAGE`: checks the checksums embedded with `build --checksums` (the
//! list's own hash, then every file by its block range) and the structures: every view parsed
//! in strict mode (volume descriptors, every directory, Rock Ridge, UDF descriptor tags and
//! CRCs), each path table against the directories, the El Torito catalog and its boot images,
//! and every file's extents (read in full when the image has no embedded checksums). Names each
//! damaged file with its blocks and each damaged structure with its sector; exit status 1 on
//! any damage.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use clap::Args;
use glassmaster::checksums::{LIST_PATH, SELF_PATH};
use glassmaster::read::{DirEntry, Extent, FileType, ImageReader, Limits, View};
use sha2::{Digest, Sha256};

use crate::error::{CliError, CliResult, ResultExt};
use crate::image_file::{open_image, printable};

/// Arguments of `verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The image file
    #[arg(value_name = "IMAGE")]
    pub image: PathBuf,

    /// Print only the damage found
    #[arg(short, long)]
    pub quiet: bool,
}

/// Lower-case hexadecimal of a digest (as the checksum list and the manifest write it).
pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Runs `verify`.
pub fn run(args: VerifyArgs) -> CliResult {
    let mut reader = open_image(&args.image)?;
    let mut read_named = |path: &str| -> Option<Vec<u8>> {
        for view in reader.views() {
            if let Ok(e) = reader.lookup(view, path) {
                if let Ok(bytes) = reader.read_file(&e) {
                    return Some(bytes);
                }
            }
        }
        None
    };
    let mut damage: Vec<String> = Vec::new();
    let embedded = match (read_named(LIST_PATH), read_named(SELF_PATH)) {
        (Some(list), Some(own)) => Some(check_sums(&args, &list, &own, &mut damage)?),
        _ => None,
    };
    // The structures; without checksums every file is read in full instead.
    let files = check_structures(&args.image, embedded.is_none(), &mut damage)?;
    for d in &damage {
        println!("{d}");
    }
    match (damage.is_empty(), embedded) {
        (true, Some(checked)) => {
            if !args.quiet {
                println!(
                    "{}: {} and the structures verified, no damage",
                    args.image.display(),
                    crate::report::counted(checked, "file", "files")
                );
            }
            Ok(())
        }
        (true, None) => {
            if !args.quiet {
                println!(
                    "{}: no embedded checksums: structures checked, {} readable, no damage \
                     (build with --checksums to check the files' contents too)",
                    args.image.display(),
                    crate::report::counted(files as u64, "file", "files")
                );
            }
            Ok(())
        }
        (false, embedded) => Err(CliError::msg(format!(
            "{}: {} found{}",
            args.image.display(),
            crate::report::counted(damage.len() as u64, "problem", "problems"),
            if embedded.is_none() {
                " (no embedded checksums: the structures were checked, not the files' contents)"
            } else {
                ""
            }
        ))),
    }
}

/// Checks the list's own hash, then every file of the list by its block range. Returns the
/// number of files checked.
fn check_sums(
    args: &VerifyArgs,
    list: &[u8],
    own: &[u8],
    damage: &mut Vec<String>,
) -> CliResult<u64> {
    let own_hash = String::from_utf8_lossy(own)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string();
    if own_hash != hex(&Sha256::digest(list)) {
        damage.push(format!("{LIST_PATH}: the checksum list itself is damaged (its hash in {SELF_PATH} does not match)"));
    }
    let mut file = BufReader::new(
        File::open(&args.image).context(|| format!("cannot open {}", args.image.display()))?,
    );
    let text = String::from_utf8_lossy(list).into_owned();
    let mut checked = 0u64;
    for line in text.lines() {
        let mut it = line.splitn(4, ' ');
        let (Some(hash), Some(lba), Some(size), Some(path)) =
            (it.next(), it.next(), it.next(), it.next())
        else {
            damage.push(format!("{LIST_PATH}: unreadable line {line:?}"));
            continue;
        };
        let (Ok(lba), Ok(size)) = (lba.parse::<u64>(), size.parse::<u64>()) else {
            damage.push(format!("{LIST_PATH}: unreadable line {line:?}"));
            continue;
        };
        let blocks = size.div_ceil(2048).max(1);
        let what = format!("{} (blocks {}-{})", printable(path), lba, lba + blocks - 1);
        let mut h = Sha256::new();
        let ok = (|| -> std::io::Result<()> {
            if size > 0 {
                file.seek(SeekFrom::Start(lba * 2048))?;
                let mut left = size;
                let mut buf = vec![0u8; 1 << 20];
                while left > 0 {
                    let n = left.min(buf.len() as u64) as usize;
                    file.read_exact(&mut buf[..n])?;
                    h.update(&buf[..n]);
                    left -= n as u64;
                }
            }
            Ok(())
        })();
        match ok {
            Err(e) => damage.push(format!("damaged: {what}: cannot be read ({e})")),
            Ok(()) if hex(&h.finalize()) != hash => damage.push(format!("damaged: {what}")),
            Ok(()) => {}
        }
        checked += 1;
    }
    Ok(checked)
}

/// Parses every view of the image in strict mode and checks what ties the views to the data:
/// each path table against the directories (ECMA-119 6.9), the El Torito catalog and its boot
/// images, and every file's extents (inside the image; read in full if `read_data`, each run of
/// extents once). Returns the number of regular files of the view that has the most.
fn check_structures(image: &Path, read_data: bool, damage: &mut Vec<String>) -> CliResult<u64> {
    let f = File::open(image).context(|| format!("cannot open {}", image.display()))?;
    let limits = Limits {
        strictness: glassmaster::read::Strictness::Strict,
        ..crate::image_file::limits_for(&f)
    };
    let mut r = match ImageReader::open_with_limits(BufReader::new(f), limits) {
        Ok(r) => r,
        Err(e) => {
            // Lenient reading tells whether it is the UDF file system of a bridge image: it
            // leaves the UDF view out for this error, or works around it with a warning.
            let text = e.to_string();
            let udf = File::open(image)
                .ok()
                .and_then(|f| ImageReader::open(BufReader::new(f)).ok())
                .is_some_and(|l| {
                    l.udf_error() == Some(&e)
                        || (l.views().contains(&View::Udf)
                            && l.warnings().iter().any(|w| w.contains(&text)))
                });
            let what = if udf { " (udf view)" } else { "" };
            damage.push(format!("structure{what}: {e}"));
            return Ok(0);
        }
    };
    // A lenient reader too, to name the files behind a structure strict mode refuses.
    let mut lenient = File::open(image)
        .ok()
        .and_then(|f| ImageReader::open(BufReader::new(f)).ok());
    let mut most_files = 0u64;
    // File data already read: (extents, size), or for data embedded in a UDF file entry its
    // sector.
    let mut read: HashSet<(Vec<Extent>, u64, Option<u32>)> = HashSet::new();
    for view in r.views() {
        let files = match r.walk(view) {
            Ok(entries) => {
                if matches!(view, View::Iso9660 | View::Joliet | View::Iso1999) {
                    check_path_table(&mut r, view, &entries, damage);
                }
                check_files(&mut r, view, &entries, read_data, &mut read, damage)
            }
            Err(e) => {
                damage.push(format!("structure ({view} view): {e}"));
                match lenient.as_mut() {
                    Some(l) => match l.walk(view) {
                        Ok(entries) => check_files(l, view, &entries, read_data, &mut read, damage),
                        Err(_) => 0,
                    },
                    None => 0,
                }
            }
        };
        most_files = most_files.max(files);
    }
    match r.boot_images() {
        Ok(images) => {
            for (i, info) in images.iter().enumerate() {
                if let Err(e) = r.read_boot_image(info) {
                    damage.push(format!("El Torito boot image {}: {e}", i + 1));
                }
            }
        }
        Err(e) => damage.push(format!("El Torito boot catalog: {e}")),
    }
    Ok(most_files)
}

/// Checks that every file of `entries` (of `view`) lies in the image, and reads it in full
/// if `read_data` (data in `read` is not read again). Returns the number of regular files.
fn check_files(
    r: &mut ImageReader<BufReader<File>>,
    view: View,
    entries: &[(String, DirEntry)],
    read_data: bool,
    read: &mut HashSet<(Vec<Extent>, u64, Option<u32>)>,
    damage: &mut Vec<String>,
) -> u64 {
    let mut files = 0u64;
    for (path, e) in entries {
        if e.is_dir {
            continue;
        }
        if e.posix
            .as_ref()
            .is_none_or(|p| p.file_type() == FileType::Regular)
        {
            files += 1;
        }
        let embedded = e.extents.is_empty().then(|| e.location()).flatten();
        if read_data && !read.insert((e.extents.clone(), e.size, embedded)) {
            continue;
        }
        let result = match r.open_file(e) {
            Err(err) => Err(err.to_string()),
            Ok(_) if !read_data => Ok(()),
            Ok(mut f) => std::io::copy(&mut f, &mut std::io::sink())
                .map(|_| ())
                .map_err(|err| err.to_string()),
        };
        if let Err(err) = result {
            damage.push(format!(
                "{view} view: {}: cannot be read ({err})",
                printable(path)
            ));
        }
    }
    files
}

/// Checks the path table of `view` against its directories (ECMA-119 6.9: one record per
/// directory, naming the directory's extent): the same directories, at the same sectors.
fn check_path_table(
    r: &mut ImageReader<BufReader<File>>,
    view: View,
    entries: &[(String, DirEntry)],
    damage: &mut Vec<String>,
) {
    let table = match r.path_table(view) {
        Ok(t) => t,
        Err(e) => {
            damage.push(format!("path table ({view} view): {e}"));
            return;
        }
    };
    let mut paths: Vec<String> = Vec::with_capacity(table.len());
    let mut from_table: BTreeMap<String, u32> = BTreeMap::new();
    for rec in &table {
        let path = if rec.number == 1 {
            "/".to_string()
        } else {
            // path_table checked that each parent is an earlier record.
            let parent = paths
                .get(usize::from(rec.record.parent).saturating_sub(1))
                .map_or("", |p| if p == "/" { "" } else { p.as_str() });
            format!("{parent}/{}", rec.name)
        };
        let lba = rec
            .record
            .extent
            .saturating_add(u32::from(rec.record.ext_attr_len));
        from_table.insert(path.clone(), lba);
        paths.push(path);
    }
    let mut from_dirs: BTreeMap<String, u32> = BTreeMap::new();
    if let Ok(root) = r.root(view) {
        from_dirs.insert("/".into(), root.extents.first().map_or(0, |e| e.lba));
    }
    for (path, e) in entries.iter().filter(|(_, e)| e.is_dir) {
        from_dirs.insert(path.clone(), e.extents.first().map_or(0, |x| x.lba));
    }
    for (path, lba) in &from_dirs {
        match from_table.get(path) {
            None => damage.push(format!(
                "path table ({view} view): no record for directory {} (sector {lba})",
                printable(path)
            )),
            Some(t) if t != lba => damage.push(format!(
                "path table ({view} view): {} at sector {t}, but its directory record says sector {lba}",
                printable(path)
            )),
            Some(_) => {}
        }
    }
    for (path, lba) in &from_table {
        if !from_dirs.contains_key(path) {
            damage.push(format!(
                "path table ({view} view): record for {} (sector {lba}) names no directory of the tree",
                printable(path)
            ));
        }
    }
}
