//! `glassmaster ls`: list the files of an image.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use chrono::SecondsFormat;
use clap::Args;
use glassmaster::read::DirEntry;

use crate::error::{CliError, CliResult, ResultExt};
use crate::image_file::{choose_view, list_sessions, open_session, printable, ViewArg};
use crate::report::bytes_safe;

/// Arguments of `ls`.
#[derive(Args, Debug)]
pub struct LsArgs {
    /// The image file
    #[arg(value_name = "IMAGE")]
    pub image: PathBuf,

    /// Which tree to list (default: the richest the image has)
    #[arg(long, value_enum)]
    pub view: Option<ViewArg>,

    /// Also show size, modification time (RFC 3339) and first block (LBA)
    #[arg(short = 'l', long = "long")]
    pub long: bool,

    /// Show the El Torito boot catalog instead of the files
    #[arg(long)]
    pub boot: bool,

    /// List session N (1 = the oldest) of a multisession image instead of the newest
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub session: Option<u32>,

    /// List the sessions of the image (number, first block, end block, volume name)
    #[arg(long, conflicts_with_all = ["session", "boot", "long", "view"])]
    pub sessions: bool,
}

/// Runs `ls`.
pub fn run(args: LsArgs) -> CliResult {
    if args.sessions {
        let list = list_sessions(&args.image)?;
        let mut out = BufWriter::new(io::stdout().lock());
        let write = |out: &mut BufWriter<io::StdoutLock<'_>>| -> io::Result<()> {
            writeln!(
                out,
                "{:>7}  {:>11}  {:>11}  volume",
                "session", "first_block", "end_block"
            )?;
            for s in &list {
                writeln!(
                    out,
                    "{:>7}  {:>11}  {:>11}  {}",
                    s.index,
                    s.start_block,
                    s.end_block,
                    printable(&s.volume_id)
                )?;
            }
            out.flush()
        };
        return ignore_broken_pipe(write(&mut out)).context(|| "cannot write to standard output");
    }
    let mut reader = open_session(&args.image, args.session)?;
    if args.boot {
        let images = reader
            .boot_images()
            .context(|| format!("cannot read the boot catalog of {}", args.image.display()))?;
        let mut out = BufWriter::new(io::stdout().lock());
        let write = |out: &mut BufWriter<io::StdoutLock<'_>>| -> io::Result<()> {
            if images.is_empty() {
                writeln!(out, "no El Torito boot record")?;
                return out.flush();
            }
            writeln!(
                out,
                "{:>2}  {:<8}  {:<11}  {:<8}  {:>8}  {:>7}  {:>8}  {:>10}  path",
                "n", "platform", "emulation", "bootable", "load_seg", "sectors", "lba", "bytes"
            )?;
            for (i, b) in images.iter().enumerate() {
                let e = &b.entry;
                writeln!(
                    out,
                    "{:>2}  {:<8}  {:<11}  {:<8}  {:>#8x}  {:>7}  {:>8}  {:>10}  {}",
                    i + 1,
                    format!("{:?}", e.platform),
                    format!("{:?}", e.emulation),
                    if e.bootable { "yes" } else { "no" },
                    if e.load_segment == 0 {
                        0x7C0
                    } else {
                        e.load_segment
                    },
                    e.sector_count,
                    e.load_rba,
                    b.len,
                    b.path.as_deref().map(printable).unwrap_or_default()
                )?;
            }
            out.flush()
        };
        return ignore_broken_pipe(write(&mut out)).context(|| "cannot write to standard output");
    }
    let view = choose_view(&reader, args.view)?;
    let walked = reader.walk(view);
    crate::image_file::print_warnings(&reader, 0);
    let entries =
        walked.context(|| format!("cannot read the {view} tree of {}", args.image.display()))?;
    let out = io::stdout().lock();
    ignore_broken_pipe(write_listing(BufWriter::new(out), &entries, args.long))
        .context(|| "cannot write to standard output")?;
    match reader.left_out().len() {
        0 => Ok(()),
        n => Err(CliError::msg(format!(
            "{} left out of the listing (see the warnings above)",
            crate::report::counted(n as u64, "damaged entry was", "damaged entries were")
        ))),
    }
}

/// Output to a closed pipe (`glassmaster ls x.iso | head`) is not an error.
pub fn ignore_broken_pipe(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// The paths to show for a walk's entries (depth first, a directory before its entries): each
/// name from its exact bytes (`DirEntry::name_bytes`), bytes that are not UTF-8 as `\xNN` and
/// control characters escaped, so that `x\xff` and `x\xfe` never print alike.
fn shown_paths(entries: &[&(String, DirEntry)]) -> Vec<String> {
    // The shown paths of the directories above the current entry, one per level.
    let mut dirs: Vec<String> = Vec::new();
    entries
        .iter()
        .map(|(path, e)| {
            let depth = path.matches('/').count().max(1);
            dirs.truncate(depth - 1);
            let parent = dirs.last().map_or("", String::as_str);
            let shown = format!("{parent}/{}", bytes_safe(e.name_bytes()));
            if e.is_dir {
                dirs.push(shown.clone());
            }
            shown
        })
        .collect()
}

fn write_listing(
    mut out: impl Write,
    entries: &[(String, DirEntry)],
    long: bool,
) -> io::Result<()> {
    let entries: Vec<&(String, DirEntry)> = entries
        .iter()
        .filter(|(path, _)| !path.is_empty() && path != "/")
        .collect();
    let shown = shown_paths(&entries);
    if !long {
        for ((_, entry), path) in entries.iter().zip(&shown) {
            writeln!(out, "{path}{}", if entry.is_dir { "/" } else { "" })?;
        }
        return out.flush();
    }
    let rows: Vec<[String; 6]> = entries
        .iter()
        .zip(&shown)
        .map(|((_, e), path)| {
            let mtime = e.mtime.map_or_else(
                || "-".to_string(),
                |t| t.to_rfc3339_opts(SecondsFormat::Secs, false),
            );
            let lba = e
                .extents
                .first()
                .map_or_else(|| "-".to_string(), |x| x.lba.to_string());
            let mut name = format!("{path}{}", if e.is_dir { "/" } else { "" });
            // Rock Ridge / UDF attributes: mode string, owner, link target.
            let (mode, owner) = match &e.posix {
                Some(p) => {
                    if let Some(t) = p.symlink_lossy() {
                        name.push_str(" -> ");
                        name.push_str(&printable(&t));
                    }
                    (mode_string(p.mode), format!("{}:{}", p.uid, p.gid))
                }
                None => (String::new(), String::new()),
            };
            [mode, owner, e.size.to_string(), mtime, lba, name]
        })
        .collect();
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let (w_mode, w_owner, w_size, w_time, w_lba) =
        (width(0), width(1), width(2), width(3), width(4));
    for [mode, owner, size, mtime, lba, name] in &rows {
        let attrs = if w_mode > 0 {
            format!("{mode:<w_mode$}  {owner:<w_owner$}  ")
        } else {
            String::new()
        };
        writeln!(
            out,
            "{attrs}{size:>w_size$}  {mtime:<w_time$}  {lba:>w_lba$}  {name}"
        )?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassmaster::read::{Extent, View};

    fn entry(name: &str, is_dir: bool, size: u64, lba: Option<u32>) -> DirEntry {
        DirEntry {
            name: name.into(),
            identifier: name.as_bytes().to_vec(),
            is_dir,
            size,
            extents: lba
                .map(|lba| {
                    vec![Extent {
                        lba,
                        len: size as u32,
                    }]
                })
                .unwrap_or_default(),
            mtime: chrono::DateTime::parse_from_rfc3339("2024-05-06T07:08:09+02:00").ok(),
            hidden: false,
            view: View::Joliet,
            posix: None,
            rr_name: None,
            udf: None,
        }
    }

    fn listing() -> Vec<(String, DirEntry)> {
        vec![
            ("/docs".into(), entry("docs", true, 2048, Some(20))),
            (
                "/docs/a.txt".into(),
                entry("a.txt", false, 12345, Some(100)),
            ),
            ("/empty.txt".into(), entry("empty.txt", false, 0, None)),
        ]
    }

    #[test]
    fn short_listing() {
        let mut out = Vec::new();
        write_listing(&mut out, &listing(), false).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "/docs/\n/docs/a.txt\n/empty.txt\n"
        );
    }

    #[test]
    fn long_listing_is_aligned() {
        let mut out = Vec::new();
        write_listing(&mut out, &listing(), true).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], " 2048  2024-05-06T07:08:09+02:00   20  /docs/");
        assert_eq!(
            lines[1],
            "12345  2024-05-06T07:08:09+02:00  100  /docs/a.txt"
        );
        assert_eq!(
            lines[2],
            "    0  2024-05-06T07:08:09+02:00    -  /empty.txt"
        );
    }
}

/// `ls -l` style mode string (`drwxr-xr-x`, `lrwxrwxrwx`, set-id and sticky bits included).
fn mode_string(mode: u32) -> String {
    let ty = match mode & 0o170000 {
        0o040000 => 'd',
        0o120000 => 'l',
        0o020000 => 'c',
        0o060000 => 'b',
        0o010000 => 'p',
        0o140000 => 's',
        _ => '-',
    };
    let mut s = String::with_capacity(10);
    s.push(ty);
    for (shift, special, ch) in [(6, 0o4000, 's'), (3, 0o2000, 's'), (0, 0o1000, 't')] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        let x = bits & 1 != 0;
        s.push(match (mode & special != 0, x) {
            (true, true) => ch,
            (true, false) => ch.to_ascii_uppercase(),
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    s
}

#[cfg(test)]
mod mode_tests {
    #[test]
    fn modes() {
        assert_eq!(super::mode_string(0o040755), "drwxr-xr-x");
        assert_eq!(super::mode_string(0o104755), "-rwsr-xr-x");
        assert_eq!(super::mode_string(0o041777), "drwxrwxrwt");
        assert_eq!(super::mode_string(0o120777), "lrwxrwxrwx");
        assert_eq!(super::mode_string(0o102644), "-rw-r-Sr--");
    }
}
