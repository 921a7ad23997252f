//! Joliet paths fit the Joliet limit of 240 characters (issue 19, item 5): an entry whose
//! Joliet path is longer is left out of the Joliet tree with everything below it, reported once
//! (the topmost entry, with the number of entries below it), and stays in ISO 9660, Rock Ridge
//! and UDF; `joliet_long_paths` (`--joliet-long-paths`) keeps them. Read back through isoinfo,
//! 7-Zip and bsdtar (which read Joliet when there is no Rock Ridge) and xorriso.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;
use glassmaster::{FileSystems, ImageBuilder};

/// A directory name of 50 characters.
fn d(k: usize) -> String {
    format!("d{k}_{}", "x".repeat(47))
}

/// Deep directories of 50-character names and 64-character names, with paths of 240
/// characters (kept) and 241 and more (left out).
fn entries() -> Vec<Spec> {
    let deep = format!("{}/{}/{}/{}", d(1), d(2), d(3), d(4)); // 203 characters
    let long = ["L1", "L2", "L3"]
        .map(|p| format!("{p}{}", "n".repeat(62)))
        .join("/"); // 194 characters
    let file = |p: String, seed: u64| Spec::File(p, content(seed, 100 + seed as usize));
    vec![
        file("top.txt".into(), 1),
        file(format!("{}/mid.txt", d(1)), 2),
        // 203 + 1 + 36 = 240: kept.
        file(format!("{deep}/keep_{}.txt", "k".repeat(27)), 3),
        // 241: left out.
        file(format!("{deep}/drop_{}.txt", "o".repeat(28)), 4),
        // A directory at 254 with three entries below it: left out with them.
        file(format!("{deep}/{}/inner.txt", d(5)), 5),
        file(format!("{deep}/{}/sub/deep.txt", d(5)), 6),
        // 194 + 1 + 5 = 200: kept; 194 + 1 + 64 = 259 (a name of Joliet's 64): left out.
        file(format!("{long}/f.txt"), 7),
        file(format!("{long}/{}", "z".repeat(64)), 8),
    ]
}

/// Every path of the tree (files and directories), relative, `/`-separated.
fn all_paths(entries: &[Spec]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in entries {
        let p = match e {
            Spec::File(p, _) | Spec::Dir(p) => p,
        };
        let mut at = 0;
        while let Some(k) = p[at..].find('/') {
            out.insert(p[..at + k].to_string());
            at += k + 1;
        }
        out.insert(p.clone());
    }
    out
}

fn build(src: &Path, fs: FileSystems, long_paths: bool, out: &Path) -> Vec<String> {
    let mut b = ImageBuilder::new();
    b.filesystems(fs).joliet_long_paths(long_paths);
    b.add_tree("/", src, &mut glassmaster::NoProgress).unwrap();
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    image
        .write_to_path(out, &mut glassmaster::NoProgress)
        .unwrap();
    image.warnings().to_vec()
}

fn norm(line: &str) -> Option<String> {
    let s = line.trim().trim_start_matches("./").trim_start_matches('/');
    let s = s.trim_end_matches('/');
    (!s.is_empty() && s != "." && s != "..").then(|| s.to_string())
}

/// `isoinfo -f` with `flag` (`-J`, `-R` or nothing).
fn isoinfo_paths(iso: &Path, flag: Option<&str>) -> BTreeSet<String> {
    let mut cmd = tool("isoinfo");
    cmd.arg("-f").arg("-i").arg(iso);
    if let Some(f) = flag {
        cmd.arg(f);
    }
    run_clean_stdout(&mut cmd)
        .lines()
        .filter_map(norm)
        .collect()
}

fn sevenzip_paths(iso: &Path) -> BTreeSet<String> {
    let out = run_clean_stdout(tool("7z").arg("l").arg("-slt").arg(iso));
    out.split("----------")
        .nth(1)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("Path = "))
        .filter_map(norm)
        .collect()
}

fn bsdtar_paths(iso: &Path) -> BTreeSet<String> {
    run_clean_stdout(tool("bsdtar").arg("-tf").arg(iso))
        .lines()
        .filter_map(norm)
        .collect()
}

fn xorriso_paths(iso: &Path) -> BTreeSet<String> {
    run_clean_stdout(tool("xorriso").arg("-indev").arg(iso).args(["-find", "/"]))
        .lines()
        .filter(|l| l.starts_with('\''))
        .filter_map(|l| norm(l.trim_matches('\'')))
        .collect()
}

fn joliet_warnings(w: &[String]) -> Vec<&String> {
    w.iter().filter(|w| w.contains("Joliet path")).collect()
}

#[test]
fn joliet_paths_over_240_characters_are_left_out() {
    if !require_tools(&["isoinfo", "7z", "bsdtar"]) {
        return;
    }
    let entries = entries();
    let src = SourceTree::create(entries.clone());
    let all = all_paths(&entries);
    let fitting: BTreeSet<String> = all
        .iter()
        .filter(|p| p.chars().count() <= 240)
        .cloned()
        .collect();
    assert!(fitting.iter().any(|p| p.chars().count() == 240));
    assert_eq!(
        all.len() - fitting.len(),
        6,
        "the tree leaves six entries out"
    );

    // ISO 9660 + Joliet without Rock Ridge: 7-Zip and bsdtar read the Joliet names.
    let dir = tempfile::tempdir().unwrap();
    let iso = dir.path().join("j.iso");
    let warnings = build(
        src.path(),
        FileSystems::ISO9660 | FileSystems::JOLIET,
        false,
        &iso,
    );
    let jw = joliet_warnings(&warnings);
    assert_eq!(
        jw.len(),
        3,
        "one warning per topmost entry left out: {jw:#?}"
    );
    assert!(
        jw.iter().any(|w| w.contains(&format!("/{}", d(5)))
            && w.contains("254 characters")
            && w.contains("with the 3 entries below it")),
        "{jw:#?}"
    );
    assert!(jw.iter().any(|w| w.contains("drop_") && w.contains("241")));
    assert!(jw
        .iter()
        .any(|w| w.contains(&"z".repeat(64)) && w.contains("259")));
    assert!(!jw
        .iter()
        .any(|w| w.contains("keep_") || w.contains("inner.txt")));

    assert_eq!(isoinfo_paths(&iso, Some("-J")), fitting, "isoinfo -J");
    assert_eq!(sevenzip_paths(&iso), fitting, "7z l");
    assert_eq!(bsdtar_paths(&iso), fitting, "bsdtar -tf");
    // The ISO 9660 tree still holds every entry (under its ISO 9660 names).
    assert_eq!(
        isoinfo_paths(&iso, None).len(),
        all.len(),
        "isoinfo (ISO 9660)"
    );

    // With the option, Joliet keeps them all.
    let long = dir.path().join("long.iso");
    let warnings = build(
        src.path(),
        FileSystems::ISO9660 | FileSystems::JOLIET,
        true,
        &long,
    );
    assert!(joliet_warnings(&warnings).is_empty(), "{warnings:#?}");
    assert_eq!(
        isoinfo_paths(&long, Some("-J")),
        all,
        "isoinfo -J, long paths kept"
    );
    assert_eq!(sevenzip_paths(&long), all, "7z l, long paths kept");
}

#[test]
fn rock_ridge_and_udf_keep_what_joliet_leaves_out() {
    if !require_tools(&["isoinfo", "xorriso", "7z"]) {
        return;
    }
    let entries = entries();
    let src = SourceTree::create(entries.clone());
    let all = all_paths(&entries);
    let fitting: BTreeSet<String> = all
        .iter()
        .filter(|p| p.chars().count() <= 240)
        .cloned()
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let iso = dir.path().join("rr.iso");
    let warnings = build(
        src.path(),
        FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE | FileSystems::UDF,
        false,
        &iso,
    );
    assert_eq!(joliet_warnings(&warnings).len(), 3, "{warnings:#?}");
    assert_eq!(isoinfo_paths(&iso, Some("-J")), fitting, "isoinfo -J");
    assert_eq!(isoinfo_paths(&iso, Some("-R")), all, "isoinfo -R");
    assert_eq!(xorriso_paths(&iso), all, "xorriso -find (Rock Ridge)");
    // 7-Zip opens the UDF side of a bridge image: every entry is there.
    assert_eq!(sevenzip_paths(&iso), all, "7z l (UDF)");
}

/// The command line: a warning per topmost entry left out, and `--joliet-long-paths` keeps
/// them.
#[cfg(feature = "cli")]
#[test]
fn cli_warns_and_keeps_with_joliet_long_paths() {
    if !require_tools(&["isoinfo", "bsdtar"]) {
        return;
    }
    let entries = entries();
    let src = SourceTree::create(entries.clone());
    let all = all_paths(&entries);
    let dir = tempfile::tempdir().unwrap();
    for long in [false, true] {
        let iso = dir.path().join(format!("cli-{long}.iso"));
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_glassmaster"));
        cmd.arg("build")
            .arg("-J")
            .arg(src.path())
            .arg("-o")
            .arg(&iso);
        if long {
            cmd.arg("--joliet-long-paths");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let warned = stderr.matches("longer than Joliet's 240").count();
        let joliet = isoinfo_paths(&iso, Some("-J"));
        if long {
            assert_eq!(warned, 0, "{stderr}");
            assert_eq!(joliet, all);
            assert_eq!(bsdtar_paths(&iso), all);
        } else {
            assert!(warned >= 3, "{stderr}");
            assert_eq!(joliet.len(), all.len() - 6);
            // Rock Ridge is on by default, and bsdtar reads it: every entry is there.
            assert_eq!(bsdtar_paths(&iso), all);
        }
    }
}
