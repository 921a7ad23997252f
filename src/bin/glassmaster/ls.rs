//! `glassmaster ls`: list the files of an image.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use chrono::SecondsFormat;
use clap::Args;
use glassmaster::read::DirEntry;

use crate::error::{CliResult, ResultExt};
use crate::image_file::{choose_view, open_image, printable, ViewArg};

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
}

/// Runs `ls`.
pub fn run(args: LsArgs) -> CliResult {
    let mut reader = open_image(&args.image)?;
    let view = choose_view(&reader, args.view)?;
    let entries = reader
        .walk(view)
        .context(|| format!("cannot read the {view} tree of {}", args.image.display()))?;
    let out = io::stdout().lock();
    ignore_broken_pipe(write_listing(BufWriter::new(out), &entries, args.long))
        .context(|| "cannot write to standard output")
}

/// Output to a closed pipe (`glassmaster ls x.iso | head`) is not an error.
pub fn ignore_broken_pipe(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
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
    if !long {
        for (path, entry) in entries {
            writeln!(
                out,
                "{}{}",
                printable(path),
                if entry.is_dir { "/" } else { "" }
            )?;
        }
        return out.flush();
    }
    let rows: Vec<[String; 4]> = entries
        .iter()
        .map(|(path, e)| {
            let mtime = e.mtime.map_or_else(
                || "-".to_string(),
                |t| t.to_rfc3339_opts(SecondsFormat::Secs, false),
            );
            let lba = e
                .extents
                .first()
                .map_or_else(|| "-".to_string(), |x| x.lba.to_string());
            let name = format!("{}{}", printable(path), if e.is_dir { "/" } else { "" });
            [e.size.to_string(), mtime, lba, name]
        })
        .collect();
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let (w_size, w_time, w_lba) = (width(0), width(1), width(2));
    for [size, mtime, lba, name] in &rows {
        writeln!(
            out,
            "{size:>w_size$}  {mtime:<w_time$}  {lba:>w_lba$}  {name}"
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
