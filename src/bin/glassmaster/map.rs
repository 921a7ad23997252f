//! `glassmaster map`: where everything lies in an image, block by block.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::Path;

use clap::Args;
use glassmaster::read::ImageReader;
use glassmaster::{ItemKind, ProgressItem, ProgressItems};

use crate::error::{CliError, CliResult, ResultExt};
use crate::image_file::{printable, FileImage};
use crate::interrupt;
use crate::ls::ignore_broken_pipe;
use crate::options::ImageOpts;
use crate::progress_bar::{Bar, BuildProgress};
use crate::sources::{add_sources, parse_sources};

const BLOCK: u64 = glassmaster::BLOCK_SIZE as u64;

/// Arguments of `map`.
#[derive(Args, Debug)]
pub struct MapArgs {
    /// An existing image, or build sources (as for `build`) to lay out without writing
    #[arg(required = true, value_name = "IMAGE-or-SRC")]
    pub inputs: Vec<OsString>,

    /// Print a JSON array of {first_block, last_block, block_count, description, kind}
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub image: ImageOpts,

    /// Print nothing but errors and warnings (besides the map)
    #[arg(short, long)]
    pub quiet: bool,
}

/// One row of the map (ordered by block, then description).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Row {
    pub first_block: u64,
    pub last_block: u64,
    pub block_count: u64,
    pub description: String,
    pub kind: String,
}

impl From<ProgressItem> for Row {
    fn from(it: ProgressItem) -> Row {
        Row {
            first_block: it.first_block,
            last_block: it.last_block,
            block_count: it.block_count,
            description: it.description,
            kind: kind_name(it.kind),
        }
    }
}

/// `ItemKind::FileData` -> "file_data" (from the `Debug` name, so new kinds need no change here).
pub fn kind_name(kind: ItemKind) -> String {
    let mut out = String::new();
    for (i, c) in format!("{kind:?}").chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Writes an image's items as JSON (also used by `build --map`).
pub fn write_items_json(mut out: impl Write, items: &ProgressItems) -> io::Result<()> {
    // One row at a time: a map of a million files is not held twice.
    out.write_all(b"[")?;
    for (i, it) in items.iter().enumerate() {
        write_json_row(&mut out, i, &Row::from(it))?;
    }
    out.write_all(if items.is_empty() { b"]\n" } else { b"\n]\n" })?;
    out.flush()
}

/// Writes the rows as a JSON array, one object per line, fields in a fixed order:
/// `{"first_block": 0, "last_block": 15, "block_count": 16, "description": "System area", "kind": "system_area"}`.
pub fn write_json(mut out: impl Write, rows: &[Row]) -> io::Result<()> {
    out.write_all(b"[")?;
    for (i, r) in rows.iter().enumerate() {
        write_json_row(&mut out, i, r)?;
    }
    out.write_all(if rows.is_empty() { b"]\n" } else { b"\n]\n" })?;
    out.flush()
}

fn write_json_row(out: &mut impl Write, i: usize, r: &Row) -> io::Result<()> {
    let description = serde_json::to_string(&r.description)?;
    let kind = serde_json::to_string(&r.kind)?;
    write!(
        out,
        "{}\n  {{\"first_block\": {}, \"last_block\": {}, \"block_count\": {}, \"description\": {description}, \"kind\": {kind}}}",
        if i == 0 { "" } else { "," },
        r.first_block,
        r.last_block,
        r.block_count
    )
}

/// An image's items as a table with right-aligned numbers, one item at a time (a map of a
/// million files is not held twice).
fn write_items_table(mut out: impl Write, items: &ProgressItems) -> io::Result<()> {
    let digits = |x: u64| x.checked_ilog10().map_or(1, |d| d as usize + 1);
    let (mut max_first, mut max_count) = (0, 0);
    for (first, count) in items.ranges() {
        max_first = max_first.max(first);
        max_count = max_count.max(count);
    }
    let w0 = digits(max_first).max("first_block".len());
    let w1 = digits(items.total_blocks().saturating_sub(1)).max("last_block".len());
    let w2 = digits(max_count).max("block_count".len());
    writeln!(
        out,
        "{:>w0$}  {:>w1$}  {:>w2$}  description",
        "first_block", "last_block", "block_count"
    )?;
    for it in items {
        writeln!(
            out,
            "{:>w0$}  {:>w1$}  {:>w2$}  {}",
            it.first_block, it.last_block, it.block_count, it.description
        )?;
    }
    out.flush()
}

/// The rows as a table with right-aligned numbers.
fn write_table(mut out: impl Write, rows: &[Row], last_header: &str) -> io::Result<()> {
    let header = ["first_block", "last_block", "block_count"];
    let width = |i: usize, f: fn(&Row) -> u64| {
        rows.iter()
            .map(|r| f(r).to_string().len())
            .max()
            .unwrap_or(0)
            .max(header[i].len())
    };
    let w0 = width(0, |r| r.first_block);
    let w1 = width(1, |r| r.last_block);
    let w2 = width(2, |r| r.block_count);
    writeln!(
        out,
        "{:>w0$}  {:>w1$}  {:>w2$}  {last_header}",
        header[0], header[1], header[2]
    )?;
    for r in rows {
        writeln!(
            out,
            "{:>w0$}  {:>w1$}  {:>w2$}  {}",
            r.first_block, r.last_block, r.block_count, r.description
        )?;
    }
    out.flush()
}

/// Runs `map` (`boot`: the El Torito and hybrid options, applied as `build` does).
pub fn run(args: MapArgs, boot: &crate::boot_args::BootArgs) -> CliResult {
    if let [single] = args.inputs.as_slice() {
        if let Some(reader) = try_open_image(Path::new(single)) {
            if !args.image.is_default() || *boot != crate::boot_args::BootArgs::default() {
                eprintln!("glassmaster: warning: build options are ignored when mapping an existing image");
            }
            return map_image(reader, Path::new(single), args.json);
        }
    }
    interrupt::install();
    let specs = parse_sources(&args.inputs)?;
    let mut builder = args.image.builder()?;
    let mut progress = BuildProgress::new(Bar::new(args.quiet));
    // Each warning once (the image's list starts with the builder's), escaped.
    let mut warnings = crate::report::Warnings::new(false, false);
    for w in crate::options::volume_name_warnings(builder.options()) {
        warnings.one(progress.bar(), &w);
    }
    let added = add_sources(&mut builder, &specs, &mut progress);
    warnings.builder(progress.bar(), builder.warnings());
    added?;
    boot.apply(&mut builder).map_err(CliError::msg)?;
    warnings.builder(progress.bar(), builder.warnings());
    let image = builder
        .into_image_with_progress(&mut progress)
        .map_err(|e| {
            crate::options::layout_error(e, &args.image, "cannot lay out the image".into())
        })?;
    warnings.image(progress.bar(), image.warnings());
    drop(progress);
    let out = BufWriter::new(io::stdout().lock());
    let r = if args.json {
        write_items_json(out, image.progress_items())
    } else {
        write_items_table(out, image.progress_items())
    };
    // The process ends here: freeing a million entries one by one would only cost time.
    std::mem::forget(image);
    ignore_broken_pipe(r).context(|| "cannot write to standard output")
}

/// `Some` if `path` is a regular file that parses as an image.
fn try_open_image(path: &Path) -> Option<FileImage> {
    if !path.is_file() {
        return None;
    }
    let file = File::open(path).ok()?;
    let limits = crate::image_file::limits_for(&file);
    match ImageReader::open_with_limits(
        glassmaster::read::SessionView::newest(BufReader::new(file)),
        limits,
    ) {
        Ok(reader) => Some(reader),
        Err(e) => {
            let iso = path
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("iso"));
            if iso {
                eprintln!(
                    "glassmaster: warning: {} does not parse as an image ({e}); mapping it as a file to put in one",
                    path.display()
                );
            }
            None
        }
    }
}

/// The file extents of an existing image, one row per extent, sorted by block. Files seen in
/// several views (ISO 9660 and Joliet share file data) are listed once, with the path of the
/// default view.
fn map_image(mut reader: FileImage, path: &Path, json: bool) -> CliResult {
    let default = reader.default_view();
    let mut views = vec![default];
    views.extend(reader.views().into_iter().filter(|v| *v != default));
    let mut seen = HashSet::new();
    let mut rows = Vec::new();
    for view in views {
        let entries = reader
            .walk(view)
            .context(|| format!("cannot read the {view} tree of {}", path.display()))?;
        for (file_path, entry) in entries.iter().filter(|(_, e)| !e.is_dir) {
            for extent in &entry.extents {
                if extent.len == 0 || !seen.insert((extent.lba, extent.len)) {
                    continue;
                }
                let blocks = u64::from(extent.len).div_ceil(BLOCK);
                rows.push(Row {
                    first_block: u64::from(extent.lba),
                    last_block: u64::from(extent.lba) + blocks - 1,
                    block_count: blocks,
                    description: printable(file_path).into_owned(),
                    kind: kind_name(ItemKind::FileData),
                });
            }
        }
    }
    // By block, then path.
    rows.sort();
    let out = BufWriter::new(io::stdout().lock());
    let r = if json {
        write_json(out, &rows)
    } else {
        write_table(out, &rows, "path")
    };
    ignore_broken_pipe(r).map_err(CliError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_snake_case() {
        assert_eq!(kind_name(ItemKind::SystemArea), "system_area");
        assert_eq!(kind_name(ItemKind::VolumeDescriptors), "volume_descriptors");
        assert_eq!(kind_name(ItemKind::PathTable), "path_table");
        assert_eq!(kind_name(ItemKind::Directory), "directory");
        assert_eq!(kind_name(ItemKind::FileData), "file_data");
        assert_eq!(kind_name(ItemKind::Padding), "padding");
    }

    fn rows() -> Vec<Row> {
        vec![
            Row {
                first_block: 0,
                last_block: 15,
                block_count: 16,
                description: "System area".into(),
                kind: "system_area".into(),
            },
            Row {
                first_block: 16,
                last_block: 1234,
                block_count: 1219,
                description: "/big".into(),
                kind: "file_data".into(),
            },
        ]
    }

    #[test]
    fn table_is_aligned() {
        let mut out = Vec::new();
        write_table(&mut out, &rows(), "description").unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "first_block  last_block  block_count  description\n\
             \x20         0          15           16  System area\n\
             \x20        16        1234         1219  /big\n"
        );
    }

    #[test]
    fn json_rows() {
        let mut out = Vec::new();
        write_json(&mut out, &rows()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text.lines().nth(2).unwrap(),
            r#"  {"first_block": 16, "last_block": 1234, "block_count": 1219, "description": "/big", "kind": "file_data"}"#
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v[0]["description"], "System area");
        assert_eq!(v[1]["first_block"], 16);
        assert_eq!(v[1]["last_block"], 1234);
        assert_eq!(v[1]["block_count"], 1219);
        assert_eq!(v[1]["kind"], "file_data");
    }

    #[test]
    fn json_escapes_and_empty() {
        let mut row = rows().remove(1);
        row.description = "/a \"quoted\"\\name\n".into();
        let mut out = Vec::new();
        write_json(&mut out, &[row.clone()]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v[0]["description"], row.description.as_str());
        let mut out = Vec::new();
        write_json(&mut out, &[]).unwrap();
        assert_eq!(out, b"[]\n");
    }
}
