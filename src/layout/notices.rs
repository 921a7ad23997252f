//! Warnings about what the tree holds and some views cannot record: symbolic links and special
//! files (left out of ISO 9660 without Rock Ridge, Joliet, and UDF when asked), and names that
//! are not UTF-8 (mapped in ISO 9660, Joliet and UDF). One warning per entry, whatever the
//! number of views, naming the entry with its exact bytes escaped.

use crate::build::builder::{FileSystems, Options};
use crate::build::tree::{NodeId, NodeKind, SpecialKind, Tree};
use crate::warning::{Warning, WarningKind};

/// Appends the warnings for `tree` built with `opts` to `warnings`, in tree order.
pub(crate) fn push(tree: &Tree, opts: &Options, warnings: &mut Vec<Warning>) {
    let fs = opts.filesystems;
    let iso = fs.contains(FileSystems::ISO9660);
    let rr = iso && fs.contains(FileSystems::ROCK_RIDGE);
    let joliet = iso && fs.contains(FileSystems::JOLIET);
    let udf = fs.contains(FileSystems::UDF);
    let udf_links = udf && opts.udf.links_and_special_files;

    // Views that cannot hold a link or special file, those asked to leave them out, and
    // those that record them.
    let mut cannot = Vec::new();
    if iso && !rr {
        cannot.push("ISO 9660");
    }
    if joliet {
        cannot.push("Joliet");
    }
    let mut left_out = match cannot.len() {
        0 => String::new(),
        1 => format!("{}, which cannot record it", cannot[0]),
        _ => format!("{}, which cannot record it", join(&cannot)),
    };
    if udf && !udf_links {
        if !left_out.is_empty() {
            left_out.push_str(", and ");
        }
        left_out.push_str("UDF (as asked: links and special files left out of UDF)");
    }
    let mut holding = Vec::new();
    if rr {
        holding.push("Rock Ridge");
    }
    if udf_links {
        holding.push("UDF");
    }
    let holding = join(&holding);
    // Views that map a name that is not UTF-8.
    let mut mapped = Vec::new();
    if iso {
        mapped.push("ISO 9660");
    }
    if joliet {
        mapped.push("Joliet");
    }
    if udf {
        mapped.push("UDF");
    }
    // One view reads and applies its rules; several read and apply theirs.
    let (reads, applies) = if mapped.len() == 1 {
        ("reads", "applies its")
    } else {
        ("read", "apply their")
    };
    let mapped = join(&mapped);

    let has_raw = !tree.raw_names.is_empty();
    if left_out.is_empty() && !has_raw {
        return;
    }
    // Depth-first from the root, children in tree order: a stable order of warnings.
    let mut stack: Vec<NodeId> = vec![0];
    while let Some(id) = stack.pop() {
        stack.extend(tree.node(id).children().iter().rev().copied());
        if tree.is_synthetic(id) {
            continue;
        }
        if has_raw && tree.raw_names.contains_key(&id) {
            let shown = crate::build::tree::latin1_reading(tree.name_bytes(id));
            let exact = if rr {
                "; Rock Ridge keeps the exact bytes"
            } else {
                ""
            };
            warnings.push(Warning::at(
                WarningKind::NotUtf8Name,
                tree.shown_path(id),
                format_args!(
                    "name is not valid UTF-8; {mapped} {reads} each invalid byte as Latin-1 ({}), then {applies} own name rules{exact}",
                    crate::build::tree::printable_bytes(shown.as_bytes()),
                ),
            ));
        }
        if left_out.is_empty() {
            continue;
        }
        let (kind, what, fix) = match &tree.node(id).kind {
            NodeKind::Symlink { target } => (
                WarningKind::LinkLeftOut,
                format!(
                    "symbolic link (to {})",
                    crate::build::tree::printable_bytes(target)
                ),
                "Rock Ridge or UDF, or follow links with -f",
            ),
            NodeKind::Special { kind, .. } => (
                WarningKind::SpecialLeftOut,
                match kind {
                    SpecialKind::CharDevice => "character device",
                    SpecialKind::BlockDevice => "block device",
                    SpecialKind::Fifo => "FIFO",
                    SpecialKind::Socket => "socket",
                }
                .to_string(),
                "Rock Ridge or UDF",
            ),
            _ => continue,
        };
        let kept = if holding.is_empty() {
            format!("; not in this image (to record it, add {fix})")
        } else {
            format!("; recorded in {holding}")
        };
        warnings.push(Warning::at(
            kind,
            tree.shown_path(id),
            format_args!("{what} left out of {left_out}{kept}"),
        ));
    }
}

/// "A", "A and B", "A, B and C".
fn join(parts: &[&str]) -> String {
    match parts {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
