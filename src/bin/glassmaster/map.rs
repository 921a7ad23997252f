//! `glassmaster map`: where everything lies in an image, block by block.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::Path;

use clap::Args;
use glassmaster::read::{BlockMap, ImageReader, MapItem};
use glassmaster::{ItemKind, ProgressItem, ProgressItems};

use crate::error::{CliError, CliResult, ResultExt};
use crate::image_file::{printable, FileImage};
use crate::interrupt;
use crate::ls::ignore_broken_pipe;
use crate::options::ImageOpts;
use crate::progress_bar::{Bar, BuildProgress};
use crate::sources::{add_sources, parse_sources};

/// Arguments of `map`.
#[derive(Args, Debug)]
pub struct MapArgs {
    /// An existing image (every block of it is described), or build sources (as for `build`)
    /// to lay out without writing; a single regular file must be an image (give a file to lay
    /// out as a graft point, /NAME=FILE)
    #[arg(required = true, value_name = "IMAGE-or-SRC")]
    pub inputs: Vec<OsString>,

    /// Print a JSON array of {first_block, last_block, block_count, description, kind}
    /// (for an existing image also names, also and within)
    #[arg(long)]
    pub json: bool,

    /// Print only what lives at block N (the question after a read error); repeatable
    #[arg(long = "block", value_name = "N")]
    pub blocks: Vec<u64>,

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

/// Runs `map` (`boot`: the El Torito and hybrid options, applied as `build` does).
pub fn run(args: MapArgs, boot: &crate::boot_args::BootArgs) -> CliResult {
    if let [single] = args.inputs.as_slice() {
        if let Some(reader) = open_image_arg(single)? {
            if !args.image.is_default() || *boot != crate::boot_args::BootArgs::default() {
                eprintln!("glassmaster: warning: build options are ignored when mapping an existing image");
            }
            return map_image(reader, Path::new(single), args.json, &args.blocks);
        }
    }
    interrupt::install();
    let specs = parse_sources(&args.inputs)?;
    let mut builder = args.image.builder()?;
    let mut progress = BuildProgress::new(Bar::new(args.quiet));
    // Each warning once (the image's list starts with the builder's), escaped.
    let mut warnings = crate::report::Warnings::new(false, true);
    for w in crate::options::volume_name_warnings(builder.options()) {
        warnings.one(progress.bar(), &w);
    }
    let added = add_sources(&mut builder, &specs, &mut progress);
    warnings.builder(progress.bar(), builder.warnings());
    added?;
    boot.apply(&mut builder).map_err(CliError::msg)?;
    warnings.builder(progress.bar(), builder.warnings());
    let image = builder.into_image(&mut progress).map_err(|e| {
        crate::options::layout_error(e, &args.image, "cannot lay out the image".into())
    })?;
    warnings.image(progress.bar(), image.warnings());
    drop(progress);
    let out = BufWriter::new(io::stdout().lock());
    let r = if !args.blocks.is_empty() {
        let items = image.progress_items();
        let mut found = Vec::with_capacity(args.blocks.len());
        for &n in &args.blocks {
            let it = items
                .from_block(n)
                .ok_or_else(|| beyond(n, items.total_blocks()))?;
            found.push((n, item_of_progress(it)));
        }
        write_blocks(out, &found, args.json)
    } else if args.json {
        write_items_json(out, image.progress_items())
    } else {
        write_items_table(out, image.progress_items())
    };
    // The process ends here: freeing a million entries one by one would only cost time.
    std::mem::forget(image);
    ignore_broken_pipe(r).context(|| "cannot write to standard output")
}

/// The reader of `arg` when it is to be mapped as an existing image: a regular file that is no
/// image is an error (a single file is laid out as a source only when given as a graft point,
/// `/NAME=FILE`); a directory or a graft point gives `None` (build sources).
fn open_image_arg(arg: &OsString) -> CliResult<Option<FileImage>> {
    let path = Path::new(arg);
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(None); // a graft point, or a missing source: the sources' errors say so
    };
    if meta.is_dir() {
        return Ok(None);
    }
    let file = File::open(path).context(|| format!("cannot open image {}", path.display()))?;
    let limits = crate::image_file::limits_for(&file);
    ImageReader::open_with_limits(
        glassmaster::read::SessionView::newest(BufReader::new(file)),
        limits,
    )
    .map(Some)
    .map_err(|e| {
        CliError::msg(format!(
            "{} is not an ISO 9660 or UDF image ({e}); to lay out a single file as a source, \
             give it as a graft point: /NAME={}",
            printable(&path.display().to_string()),
            printable(&path.display().to_string()),
        ))
    })
}

/// The error for a block beyond the end of the map.
fn beyond(n: u64, total: u64) -> CliError {
    CliError::msg(format!(
        "block {n} is beyond the end of the image ({total} blocks: 0 to {})",
        total.saturating_sub(1)
    ))
}

/// A layout's item as a map item (no names: a layout names a file by its path).
fn item_of_progress(it: ProgressItem) -> MapItem {
    MapItem {
        first_block: it.first_block,
        last_block: it.last_block,
        block_count: it.block_count,
        kind: it.kind,
        description: it.description,
        names: Vec::new(),
        also: Vec::new(),
        within: None,
    }
}

/// Every block of an existing image (`BlockMap`), or only the items of `blocks`.
fn map_image(mut reader: FileImage, path: &Path, json: bool, blocks: &[u64]) -> CliResult {
    let map = reader
        .block_map()
        .context(|| format!("cannot map image {}", path.display()))?;
    for note in map.notes() {
        eprintln!("glassmaster: warning: {}", printable(note));
    }
    if map.block_size() != 2048 {
        // ECMA-167 3/8.4.2.1: a UDF volume of other logical blocks is mapped in its blocks.
        eprintln!(
            "glassmaster: note: blocks are the UDF volume's logical blocks of {} bytes, not 2048-byte sectors",
            map.block_size()
        );
    }
    let out = BufWriter::new(io::stdout().lock());
    let r = if !blocks.is_empty() {
        let mut found = Vec::with_capacity(blocks.len());
        for &n in blocks {
            let it = map
                .from_block(n)
                .ok_or_else(|| beyond(n, map.total_blocks()))?;
            found.push((n, it.clone()));
        }
        write_blocks(out, &found, json)
    } else if json {
        write_map_json(out, &map)
    } else {
        write_map_table(out, &map)
    };
    ignore_broken_pipe(r).map_err(CliError::from)
}

/// An item's description for the table: the description, other names of the same view (hard
/// links, deduplicated copies), the other structures of the same blocks, and what it lies
/// within. Names in other views are in `--json` and `--block`.
pub fn table_description(it: &MapItem) -> String {
    let mut out = printable(&it.description).into_owned();
    if let Some(main) = it.names.iter().find(|n| n.path == it.description) {
        let others: Vec<String> = it
            .names
            .iter()
            .filter(|n| n.view == main.view && n.path != it.description)
            .map(|n| printable(&n.path).into_owned())
            .collect();
        if !others.is_empty() {
            out.push_str(&format!(" (also {})", others.join(", ")));
        }
    }
    if !it.also.is_empty() {
        let also: Vec<String> = it.also.iter().map(|a| printable(a).into_owned()).collect();
        out.push_str(&format!(" [also {}]", also.join("; ")));
    }
    if let Some(w) = &it.within {
        out.push_str(&format!(" [within {}]", printable(w)));
    }
    out
}

/// The map of an existing image as a table, one item per line.
fn write_map_table(mut out: impl Write, map: &BlockMap) -> io::Result<()> {
    let digits = |x: u64| x.checked_ilog10().map_or(1, |d| d as usize + 1);
    let max_count = map.iter().map(|it| it.block_count).max().unwrap_or(0);
    let w0 = digits(map.total_blocks()).max("first_block".len());
    let w1 = w0.max("last_block".len());
    let w2 = digits(max_count).max("block_count".len());
    writeln!(
        out,
        "{:>w0$}  {:>w1$}  {:>w2$}  description",
        "first_block", "last_block", "block_count"
    )?;
    for it in map {
        writeln!(
            out,
            "{:>w0$}  {:>w1$}  {:>w2$}  {}",
            it.first_block,
            it.last_block,
            it.block_count,
            table_description(it)
        )?;
    }
    out.flush()
}

/// The JSON object of a map item (the row's fields, then names, also and within).
fn map_item_json(it: &MapItem) -> serde_json::Value {
    serde_json::json!({
        "first_block": it.first_block,
        "last_block": it.last_block,
        "block_count": it.block_count,
        "description": it.description,
        "kind": kind_name(it.kind),
        "names": it.names.iter().map(|n| serde_json::json!({"view": n.view.as_str(), "path": n.path})).collect::<Vec<_>>(),
        "also": it.also,
        "within": it.within,
    })
}

/// The map of an existing image as a JSON array, one object per line, fields in a fixed order:
/// first_block, last_block, block_count, description, kind, names ([{view, path}]), also,
/// within (null when the item lies in no other structure).
fn write_map_json(mut out: impl Write, map: &BlockMap) -> io::Result<()> {
    out.write_all(b"[")?;
    for (i, it) in map.iter().enumerate() {
        write_map_json_row(&mut out, i, it)?;
    }
    out.write_all(if map.is_empty() { b"]\n" } else { b"\n]\n" })?;
    out.flush()
}

fn write_map_json_row(out: &mut impl Write, i: usize, it: &MapItem) -> io::Result<()> {
    let names = serde_json::to_string(
        &it.names
            .iter()
            .map(|n| serde_json::json!({"view": n.view.as_str(), "path": n.path}))
            .collect::<Vec<_>>(),
    )?;
    write!(
        out,
        "{}\n  {{\"first_block\": {}, \"last_block\": {}, \"block_count\": {}, \"description\": {}, \"kind\": {}, \"names\": {names}, \"also\": {}, \"within\": {}}}",
        if i == 0 { "" } else { "," },
        it.first_block,
        it.last_block,
        it.block_count,
        serde_json::to_string(&it.description)?,
        serde_json::to_string(&kind_name(it.kind))?,
        serde_json::to_string(&it.also)?,
        serde_json::to_string(&it.within)?,
    )
}

/// What lives at each asked block: as text, or as a JSON array of the items' objects with
/// the block asked (`"block"`) first.
fn write_blocks(mut out: impl Write, found: &[(u64, MapItem)], json: bool) -> io::Result<()> {
    if json {
        let rows: Vec<serde_json::Value> = found
            .iter()
            .map(|(n, it)| {
                let mut v = map_item_json(it);
                if let Some(o) = v.as_object_mut() {
                    o.insert("block".into(), serde_json::json!(n));
                }
                v
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &rows)?;
        out.write_all(b"\n")?;
        return out.flush();
    }
    for (n, it) in found {
        writeln!(out, "block {n}: {}", printable(&it.description))?;
        writeln!(
            out,
            "  blocks {}-{} ({} block{}), {}",
            it.first_block,
            it.last_block,
            it.block_count,
            if it.block_count == 1 { "" } else { "s" },
            kind_name(it.kind)
        )?;
        for name in &it.names {
            writeln!(out, "  name ({}): {}", name.view, printable(&name.path))?;
        }
        for a in &it.also {
            writeln!(out, "  also: {}", printable(a))?;
        }
        if let Some(w) = &it.within {
            writeln!(out, "  within: {}", printable(w))?;
        }
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassmaster::read::{MapName, View};

    #[test]
    fn kind_names_are_snake_case() {
        assert_eq!(kind_name(ItemKind::SystemArea), "system_area");
        assert_eq!(kind_name(ItemKind::VolumeDescriptors), "volume_descriptors");
        assert_eq!(kind_name(ItemKind::PathTable), "path_table");
        assert_eq!(kind_name(ItemKind::Directory), "directory");
        assert_eq!(kind_name(ItemKind::FileData), "file_data");
        assert_eq!(kind_name(ItemKind::Padding), "padding");
    }

    fn item(description: &str) -> MapItem {
        MapItem {
            first_block: 16,
            last_block: 1234,
            block_count: 1219,
            kind: ItemKind::FileData,
            description: description.into(),
            names: vec![
                MapName {
                    view: View::RockRidge,
                    path: "/big".into(),
                },
                MapName {
                    view: View::RockRidge,
                    path: "/copy".into(),
                },
                MapName {
                    view: View::Iso9660,
                    path: "/BIG".into(),
                },
            ],
            also: vec!["El Torito boot image 1 (x86 BIOS, no emulation)".into()],
            within: Some("UDF metadata file".into()),
        }
    }

    #[test]
    fn table_description_names_links_and_structures() {
        assert_eq!(
            table_description(&item("/big")),
            "/big (also /copy) [also El Torito boot image 1 (x86 BIOS, no emulation)] \
             [within UDF metadata file]"
        );
        let mut it = item("/x\u{1b}[2J");
        it.names.clear();
        it.also.clear();
        it.within = None;
        assert_eq!(table_description(&it), "/x\\u{1b}[2J");
    }

    #[test]
    fn json_rows_of_a_map() {
        let mut out = Vec::new();
        write_map_json_row(&mut out, 0, &item("/a \"quoted\"\\name\n")).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["description"], "/a \"quoted\"\\name\n");
        assert_eq!(v["first_block"], 16);
        assert_eq!(v["last_block"], 1234);
        assert_eq!(v["block_count"], 1219);
        assert_eq!(v["kind"], "file_data");
        assert_eq!(v["names"][2]["view"], "iso9660");
        assert_eq!(v["names"][2]["path"], "/BIG");
        assert_eq!(v["within"], "UDF metadata file");
        assert_eq!(
            v["also"][0],
            "El Torito boot image 1 (x86 BIOS, no emulation)"
        );
    }

    #[test]
    fn blocks_as_text_and_json() {
        let found = [(20, item("/big"))];
        let mut out = Vec::new();
        write_blocks(&mut out, &found, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("block 20: /big\n  blocks 16-1234 (1219 blocks), file_data\n"));
        assert!(text.contains("  name (iso9660): /BIG\n"), "{text}");
        assert!(text.contains("  within: UDF metadata file\n"), "{text}");
        let mut out = Vec::new();
        write_blocks(&mut out, &found, true).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v[0]["block"], 20);
        assert_eq!(v[0]["names"][1]["path"], "/copy");
    }
}
