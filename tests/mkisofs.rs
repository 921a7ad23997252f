//! The mkisofs personality (`xorrisofs`, `mkisofs`, `genisoimage` links, `xorriso ... -as
//! mkisofs`, `glassmaster mkisofs`): each option group builds the same small tree with
//! `xorriso -as mkisofs ARGS` and with glassmaster, and independent readers (xorriso's
//! `-find -exec lsdl`, isoinfo, bsdtar) must see the same thing.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_glassmaster");

/// A work directory: the source tree `src`, a second tree `extra`, and links named like the
/// programs whose command line glassmaster takes.
fn work() -> TempDir {
    let dir = out_dir();
    let d = dir.path();
    let files: &[(&str, &[u8])] = &[
        ("src/a.txt", b"alpha\n"),
        ("src/q.c", b"int q;\n"),
        ("src/averyveryverylongname.text", b"long name\n"),
        ("src/sub/b.c", b"int b;\n"),
        ("src/sub/Makefile", b"all:\n"),
        ("src/sub/deep/z.c", b"int z; /* HIDDEN-DATA-Z */\n"),
        ("src/sub/deep/y.txt", b"yankee\n"),
        ("src/exe.sh", b"#!/bin/sh\n"),
        ("extra/e.txt", b"echo\n"),
        ("extra/sub/m.txt", b"merged\n"),
        ("extra/x=y.txt", b"equals\n"),
    ];
    for (p, data) in files {
        let p = d.join(p);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, data).unwrap();
    }
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(d.join("src/exe.sh"), fs::Permissions::from_mode(0o750)).unwrap();
    fs::set_permissions(d.join("src/a.txt"), fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink("a.txt", d.join("src/link")).unwrap();
    // Every file and directory the same time, so both images record the same times.
    for p in walk(d) {
        let t = filetime_set(&p);
        assert!(t, "cannot set the time of {}", p.display());
    }
    for name in ["xorrisofs", "mkisofs", "genisoimage", "xorriso"] {
        std::os::unix::fs::symlink(BIN, d.join(name)).unwrap();
    }
    dir
}

fn walk(d: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(d).unwrap() {
        let p = e.unwrap().path();
        let md = fs::symlink_metadata(&p).unwrap();
        if md.file_type().is_symlink() {
            continue;
        }
        if md.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

/// Sets the access and modification times of `p` to 2021-01-01 (touch, which every system has).
fn filetime_set(p: &Path) -> bool {
    Command::new("touch")
        .args(["-h", "-d", "2021-01-01 12:00:00 UTC"])
        .arg(p)
        .status()
        .is_ok_and(|s| s.success())
}

/// How glassmaster is invoked.
#[derive(Clone, Copy, Debug)]
enum Via {
    /// The link `xorrisofs` (argv[0]).
    Link(&'static str),
    /// `xorriso NATIVE... -as mkisofs`.
    Xorriso,
    /// `glassmaster mkisofs`.
    Sub,
}

fn ours(dir: &Path, via: Via, args: &[&str]) -> Output {
    let mut cmd = match via {
        Via::Link(name) => Command::new(dir.join(name)),
        Via::Xorriso => {
            let mut c = Command::new(dir.join("xorriso"));
            c.args([
                "-no_rc",
                "-report_about",
                "SORRY",
                "-abort_on",
                "FAILURE",
                "-return_with",
                "SORRY",
                "32",
                "-boot_image",
                "any",
                "keep",
                "-as",
                "mkisofs",
            ]);
            c
        }
        Via::Sub => {
            let mut c = Command::new(BIN);
            c.arg("mkisofs");
            c
        }
    };
    cmd.args(args)
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", "1600000000")
        .output()
        .unwrap()
}

fn theirs(dir: &Path, args: &[&str]) -> Output {
    tool("xorriso")
        .args(["-no_rc", "-as", "mkisofs"])
        .args(args)
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", "1600000000")
        .output()
        .unwrap()
}

fn ok(o: Output, what: &str) -> Output {
    assert!(
        o.status.success(),
        "{what} failed ({}): {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Builds `args` (with `OUT` replaced by the image name) with glassmaster (`via`) and with
/// xorriso: (ours, xorriso's).
fn both(dir: &Path, via: Via, args: &[&str]) -> (PathBuf, PathBuf) {
    let (g, x) = (dir.join("g.iso"), dir.join("x.iso"));
    let _ = fs::remove_file(&g);
    let _ = fs::remove_file(&x);
    let with = |out: &Path| -> Vec<String> {
        args.iter()
            .map(|a| {
                if *a == "OUT" {
                    out.to_str().unwrap().to_string()
                } else {
                    a.to_string()
                }
            })
            .collect()
    };
    let ga = with(&g);
    let xa = with(&x);
    ok(
        ours(dir, via, &ga.iter().map(String::as_str).collect::<Vec<_>>()),
        "glassmaster",
    );
    ok(
        theirs(dir, &xa.iter().map(String::as_str).collect::<Vec<_>>()),
        "xorriso",
    );
    (g, x)
}

/// xorriso's `-find / -exec lsdl`: (permissions, owner, group, size, path) of every entry,
/// times left out for directories (xorriso gives the root the build time).
fn lsdl(img: &Path) -> BTreeSet<String> {
    let out = run_stdout(
        tool("xorriso")
            .args(["-indev"])
            .arg(img)
            .args(["-find", "/", "-exec", "lsdl"]),
    );
    out.lines()
        .filter(|l| l.starts_with(['-', 'd', 'l']))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let name = l.rsplit_once(" '").map(|x| x.1).unwrap_or(l);
            // perms links owner group size month day time 'path' [-> 'target']
            format!("{} {} {} {} {}", f[0], f[2], f[3], f[4], name)
        })
        .collect()
}

/// `isoinfo -f` (with extra options): the set of paths.
fn isoinfo_f(img: &Path, opts: &[&str]) -> BTreeSet<String> {
    run_stdout(tool("isoinfo").args(opts).arg("-f").arg("-i").arg(img))
        .lines()
        .map(str::to_string)
        .collect()
}

/// `isoinfo -l` (with options): (mode, size, name) per directory, without block numbers.
fn isoinfo_l(img: &Path, opts: &[&str]) -> Vec<String> {
    run_stdout(tool("isoinfo").args(opts).arg("-l").arg("-i").arg(img))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            if l.starts_with("Directory listing") {
                return l.to_string();
            }
            let f: Vec<&str> = l.split_whitespace().collect();
            let name = l.rsplit_once(']').map(|x| x.1.trim()).unwrap_or(l);
            let name = name.split(" -> ").next().unwrap_or(name);
            format!("{} {} {}", f[0], f.get(4).unwrap_or(&""), name)
        })
        .filter(|l| !l.ends_with(" .") && !l.ends_with(" .."))
        .collect()
}

fn bsdtar_list(img: &Path) -> BTreeSet<String> {
    run_stdout(tool("bsdtar").arg("-tf").arg(img))
        .lines()
        .map(|l| l.trim_end_matches('/').to_string())
        .collect()
}

/// isoinfo -d without the fields the two programs fill differently (the size: their layouts
/// differ; the data preparer id: each program names itself there).
fn descriptor(img: &Path) -> Vec<String> {
    run_stdout(tool("isoinfo").arg("-d").arg("-i").arg(img))
        .lines()
        .filter(|l| !l.starts_with("Volume size") && !l.starts_with("Data preparer"))
        .map(str::to_string)
        .collect()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn every_invocation_writes_the_same_image_as_xorriso_sees_it() {
    if !require_tools(&["xorriso", "isoinfo", "bsdtar"]) {
        return;
    }
    let w = work();
    let d = w.path();
    let args = ["-R", "-J", "-o", "OUT", "src"];
    let (g, x) = both(d, Via::Link("xorrisofs"), &args);
    let reference = fs::read(&g).unwrap();
    assert_eq!(lsdl(&g), lsdl(&x));
    assert_eq!(isoinfo_l(&g, &["-R", "-J"]), isoinfo_l(&x, &["-R", "-J"]));
    assert_eq!(bsdtar_list(&g), bsdtar_list(&x));
    for via in [
        Via::Link("mkisofs"),
        Via::Link("genisoimage"),
        Via::Xorriso,
        Via::Sub,
    ] {
        let _ = fs::remove_file(&g);
        ok(
            ours(d, via, &["-R", "-J", "-o", g.to_str().unwrap(), "src"]),
            &format!("{via:?}"),
        );
        assert!(
            fs::read(&g).unwrap() == reference,
            "{via:?} wrote another image"
        );
    }
}

#[test]
fn help_lists_the_options_and_version_prints_a_line() {
    let w = work();
    let d = w.path();
    for via in [Via::Link("xorrisofs"), Via::Xorriso, Via::Sub] {
        let o = ok(ours(d, via, &["-help"]), "-help");
        let help = stderr(&o);
        for needed in [
            "graft-points",
            "grub2-boot-info",
            "-path-list",
            "-hide-joliet",
        ] {
            assert!(help.contains(needed), "{via:?}: -help lacks {needed}");
        }
        assert!(help.contains("Accepted without effect"));
        let o = ok(ours(d, via, &["-version"]), "-version");
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.starts_with("mkisofs 2.01-Emulation Copyright (C)"),
            "{out}"
        );
    }
}

#[test]
fn unknown_options_fail_naming_them_with_xorrisos_status() {
    if !require_tool("xorriso") {
        return;
    }
    let w = work();
    let d = w.path();
    let x = theirs(d, &["-o", "x.iso", "-rockk", "src"]);
    let x_status = x.status.code();
    assert_ne!(x_status, Some(0));
    for via in [Via::Link("xorrisofs"), Via::Xorriso, Via::Sub] {
        let o = ours(d, via, &["-o", "g.iso", "-rockk", "src"]);
        assert_eq!(o.status.code(), x_status, "{via:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("-rockk"), "{}", stderr(&o));
        assert!(!d.join("g.iso").exists());
    }
    // An option with too few arguments, a native command not taken, a partition offset
    // xorriso refuses too (under 16) or one without boot entries (not implemented yet), a boot
    // option not implemented yet: errors naming them.
    for (args, named) in [
        (&["-o", "g.iso", "src", "-V"][..], "-V"),
        (&["-o", "g.iso", "src", "--", "-commit"], "-commit"),
        (
            &["-o", "g.iso", "-partition_offset", "8", "src"],
            "-partition_offset 8: must be 0 or at least 16",
        ),
        (
            &["-o", "g.iso", "-partition_offset", "16", "src"],
            "a partition offset needs El Torito boot entries",
        ),
        (
            &["-o", "g.iso", "-chrp-boot-part", "src"],
            "not implemented yet: -chrp-boot-part",
        ),
        (
            &[
                "-o",
                "g.iso",
                "-append_partition",
                "2",
                "0xzz",
                "src/a.txt",
                "src",
            ],
            "partition type \"0xzz\"",
        ),
    ] {
        let o = ours(d, Via::Link("xorrisofs"), args);
        assert_eq!(o.status.code(), Some(5), "{args:?}");
        assert!(stderr(&o).contains(named), "{args:?}: {}", stderr(&o));
    }
    let o = Command::new(d.join("xorriso"))
        .args(["-outdev", "x.iso", "-map", "src", "/"])
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(5));
    assert!(stderr(&o).contains("-outdev"), "{}", stderr(&o));
}

#[test]
fn dangerous_spellings_never_write_stray_files() {
    if !require_tools(&["xorriso", "isoinfo"]) {
        return;
    }
    let w = work();
    let d = w.path();
    // The personality reads them as xorriso does.
    let (g, x) = both(
        d,
        Via::Link("xorrisofs"),
        &["-rock", "-follow-links", "-hide", "x", "-o", "OUT", "src"],
    );
    assert_eq!(lsdl(&g), lsdl(&x));
    // `build` refuses them, naming them, and writes nothing.
    for bad in [&["-rock"][..], &["-follow-links"], &["-hide", "x"]] {
        let o = Command::new(BIN)
            .args(["build", "src", "-o", "b.iso"])
            .args(bad)
            .current_dir(d)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert!(stderr(&o).contains(bad[0]), "{bad:?}: {}", stderr(&o));
        assert!(!d.join("b.iso").exists(), "{bad:?}");
    }
    for stray in ["ck", "llow-links", "ide", "utput"] {
        assert!(!d.join(stray).exists(), "a file named {stray} was written");
    }
}

#[test]
fn graft_points_escapes_merges_and_path_lists() {
    if !require_tools(&["xorriso", "isoinfo", "bsdtar"]) {
        return;
    }
    let w = work();
    let d = w.path();
    fs::write(d.join("list"), "/listed=src/sub/deep\nsrc/q.c\n").unwrap();
    let args = [
        "-graft-points",
        "-o",
        "OUT",
        "/docs=extra",
        "/docs/sub=src/sub",
        "/a\\=b.txt=src/a.txt",
        "/back\\\\slash.txt=src/q.c",
        "-path-list",
        "list",
        "/=src/sub/deep",
        "-R",
    ];
    let (g, x) = both(d, Via::Sub, &args);
    let l = lsdl(&g);
    assert_eq!(l, lsdl(&x));
    for p in [
        "/docs/sub/m.txt",
        "/docs/sub/b.c",
        "/a=b.txt",
        "/back\\slash.txt",
        "/listed/z.c",
        "/q.c",
        "/z.c",
    ] {
        let want = format!(" {p}'");
        assert!(l.iter().any(|e| e.ends_with(&want)), "{p} missing: {l:?}");
    }
    assert_eq!(bsdtar_list(&g), bsdtar_list(&x));
    // A later pathspec replaces a file an earlier one put at its path, and a directory merges
    // over files; a file never replaces a directory (an error, as in xorriso).
    for specs in [
        &[
            "/a.txt=src/a.txt",
            "/a.txt=src/q.c",
            "/sub=src/sub",
            "/sub/b.c=src/a.txt",
        ][..],
        &["/sub/b.c=src/a.txt", "/sub=src/sub"],
        &["/sub=src/a.txt", "/sub=src/sub"],
    ] {
        let mut args = vec!["-graft-points", "-o", "OUT"];
        args.extend_from_slice(specs);
        let (g, x) = both(d, Via::Link("xorrisofs"), &args);
        assert_eq!(lsdl(&g), lsdl(&x), "{specs:?}");
    }
    let args = [
        "-graft-points",
        "-o",
        "f.iso",
        "/sub=src/sub",
        "/sub=src/a.txt",
    ];
    let (o, x) = (ours(d, Via::Sub, &args), theirs(d, &args));
    assert_eq!(o.status.code(), x.status.code());
    assert!(stderr(&o).contains("/sub"), "{}", stderr(&o));
}

#[test]
fn trees_and_names_match_xorriso() {
    if !require_tools(&["xorriso", "isoinfo", "bsdtar"]) {
        return;
    }
    let w = work();
    let d = w.path();
    for args in [
        &["-o", "OUT", "src"][..],
        &["-r", "-o", "OUT", "src"],
        &["-rational-rock", "-J", "-joliet-long", "-o", "OUT", "src"],
        &["-R", "-f", "-o", "OUT", "src"],
        &["-follow-links", "-J", "-o", "OUT", "src"],
        &["-l", "-o", "OUT", "src"],
        &[
            "-full-iso9660-filenames",
            "-iso-level",
            "3",
            "-o",
            "OUT",
            "src",
        ],
        &["-iso-level", "2", "-o", "OUT", "src"],
        &["-iso-level", "1", "-o", "OUT", "src"],
        &[
            "-R",
            "-J",
            "-input-charset",
            "utf-8",
            "-cache-inodes",
            "-D",
            "-o",
            "OUT",
            "src",
        ],
    ] {
        let (g, x) = both(d, Via::Link("xorrisofs"), args);
        assert_eq!(lsdl(&g), lsdl(&x), "{args:?}");
        assert_eq!(
            isoinfo_l(&g, &[]),
            isoinfo_l(&x, &[]),
            "{args:?}: ISO 9660 names"
        );
        let joliet = args.contains(&"-J");
        if joliet {
            assert_eq!(
                isoinfo_l(&g, &["-J"]),
                isoinfo_l(&x, &["-J"]),
                "{args:?}: Joliet"
            );
        }
        assert_eq!(bsdtar_list(&g), bsdtar_list(&x), "{args:?}");
    }
}

#[test]
fn descriptor_fields_match_xorriso() {
    if !require_tools(&["xorriso", "isoinfo"]) {
        return;
    }
    let w = work();
    let d = w.path();
    let (g, x) = both(
        d,
        Via::Link("genisoimage"),
        &[
            "-J",
            "-V",
            "Debian 12 amd64",
            "-volset",
            "My set",
            "-publisher",
            "Some Publisher",
            "-p",
            "PREP",
            "-A",
            "The app",
            "-sysid",
            "LINUX",
            "-copyright",
            "COPY.TXT",
            "-abstract",
            "ABS.TXT",
            "-biblio",
            "BIB.TXT",
            "-volset-size",
            "1",
            "-volset-seqno",
            "1",
            "-o",
            "OUT",
            "src",
        ],
    );
    let ours = descriptor(&g);
    assert_eq!(ours, descriptor(&x));
    for want in [
        "Volume id: Debian 12 amd64",
        "Volume set id: My set",
        "Publisher id: SOME PUBLISHER",
        "Application id: THE APP",
        "System id: LINUX",
        "Copyright File id: COPY_TXT",
    ] {
        assert!(ours.iter().any(|l| l == want), "{want}: {ours:?}");
    }
    // The ids that each program fills with its own name by default: given, they are the same.
    let (g, x) = both(
        d,
        Via::Sub,
        &["-A", "APP", "-p", "PREP", "-o", "OUT", "src"],
    );
    let full = |p: &Path| run_stdout(tool("isoinfo").arg("-d").arg("-i").arg(p));
    let pick = |t: String| -> Vec<String> {
        t.lines()
            .filter(|l| l.starts_with("Application id") || l.starts_with("Data preparer"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(pick(full(&g)), pick(full(&x)));
    // By default the application id is empty, as xorriso leaves it.
    let (g, x) = both(d, Via::Sub, &["-o", "OUT", "src"]);
    assert_eq!(descriptor(&g), descriptor(&x));
    // The Joliet descriptor carries the volume id too (16 characters).
    let (g, x) = both(
        d,
        Via::Sub,
        &["-J", "-V", "A rather long volume label", "-o", "OUT", "src"],
    );
    let joliet_label = |p: &Path| {
        let b = fs::read(p).unwrap();
        b[17 * 2048 + 40..17 * 2048 + 72].to_vec()
    };
    assert_eq!(joliet_label(&g), joliet_label(&x));
    assert_eq!(descriptor(&g), descriptor(&x));
}

/// PVD bytes 813..881 (ECMA-119 8.4.26-8.4.29), and the same in the Joliet descriptor.
fn volume_dates(img: &Path, sector: u64) -> Vec<u8> {
    let b = fs::read(img).unwrap();
    let at = (sector * 2048) as usize;
    b[at + 813..at + 881].to_vec()
}

#[test]
fn volume_dates_are_written_as_xorriso_writes_them() {
    if !require_tool("xorriso") {
        return;
    }
    let w = work();
    let d = w.path();
    let cases: &[&[&str]] = &[
        &["--modification-date=2020010203040599", "-o", "OUT", "src"],
        &["-o", "OUT", "src"], // SOURCE_DATE_EPOCH
        &[
            "-o",
            "OUT",
            "src",
            "--",
            "-volume_date",
            "uuid",
            "2022010203040506",
        ],
        // Local time, as `date` takes it (both programs in this process's time zone).
        &[
            "-o",
            "OUT",
            "src",
            "--",
            "-volume_date",
            "x",
            "110814512007.13",
        ],
        &[
            "-o",
            "OUT",
            "src",
            "--",
            "-volume_date",
            "c",
            "2020010203040506",
            "-volume_date",
            "m",
            "=1600000000",
            "-volume_date",
            "x",
            "2030010100000000",
            "-volume_date",
            "f",
            "=1500000000",
        ],
    ];
    for args in cases {
        let (g, x) = both(d, Via::Link("xorrisofs"), args);
        assert_eq!(volume_dates(&g, 16), volume_dates(&x, 16), "{args:?}");
    }
    let (g, _) = both(d, Via::Sub, cases[0]);
    assert_eq!(&volume_dates(&g, 16)[..16], b"2020010203040599");
    // With Joliet, its descriptor carries the same dates.
    let mut j = vec!["-J"];
    j.extend_from_slice(cases[0]);
    let (g, x) = both(d, Via::Sub, &j);
    assert_eq!(volume_dates(&g, 17), volume_dates(&x, 17));
    // A malformed date is refused, naming the option.
    let o = ours(
        d,
        Via::Sub,
        &["--modification-date=2020", "-o", "g.iso", "src"],
    );
    assert_eq!(o.status.code(), Some(5));
    assert!(stderr(&o).contains("--modification-date"));
}

#[test]
fn exclude_patterns_match_xorrisos_meaning() {
    if !require_tools(&["xorriso", "bsdtar"]) {
        return;
    }
    let w = work();
    let d = w.path();
    fs::write(d.join("excl"), "Makefile\nsrc/sub/deep\n").unwrap();
    let abs = format!("{}/src/sub", d.display());
    for args in [
        &["-m", "*.c", "-o", "OUT", "src"][..],
        &["-exclude", "sub", "-o", "OUT", "src"],
        &["-x", "src/sub", "-o", "OUT", "src"],
        &["-m", &abs, "-o", "OUT", "src"],
        &["-m", "src/sub/*.c", "-o", "OUT", "src"],
        &["-m", "s?b", "-o", "OUT", "src"],
        &["-m", "deep/z.c", "-o", "OUT", "src"],
        &["-old-exclude", "[ab].*", "-o", "OUT", "src"],
        &["-exclude-list", "excl", "-o", "OUT", "src"],
        &[
            "-graft-points",
            "-m",
            "*.txt",
            "-o",
            "OUT",
            "/in=src",
            "/e=extra",
        ],
    ] {
        let (g, x) = both(d, Via::Link("xorrisofs"), args);
        assert_eq!(lsdl(&g), lsdl(&x), "{args:?}");
        assert_eq!(bsdtar_list(&g), bsdtar_list(&x), "{args:?}");
    }
}

#[test]
fn hidden_files_leave_the_directories_but_keep_their_data() {
    if !require_tools(&["xorriso", "isoinfo"]) {
        return;
    }
    let w = work();
    let d = w.path();
    fs::write(d.join("hl"), "Makefile\n").unwrap();
    for args in [
        &[
            "-J",
            "-hide",
            "*.c",
            "-hide-joliet",
            "sub",
            "-o",
            "OUT",
            "src",
        ][..],
        &["-J", "-hide", "src/sub/deep", "-o", "OUT", "src"],
        &[
            "-J",
            "-hide-list",
            "hl",
            "-hide-joliet-list",
            "hl",
            "-o",
            "OUT",
            "src",
        ],
        &[
            "-J",
            "-hide-joliet",
            "a.txt",
            "-o",
            "OUT",
            "src/a.txt",
            "src/q.c",
        ],
    ] {
        let (g, x) = both(d, Via::Link("xorrisofs"), args);
        assert_eq!(
            isoinfo_f(&g, &["-R"]),
            isoinfo_f(&x, &["-R"]),
            "{args:?}: Rock Ridge"
        );
        assert_eq!(isoinfo_f(&g, &[]), isoinfo_f(&x, &[]), "{args:?}: ISO 9660");
        assert_eq!(
            isoinfo_f(&g, &["-J"]),
            isoinfo_f(&x, &["-J"]),
            "{args:?}: Joliet"
        );
        assert_eq!(lsdl(&g), lsdl(&x), "{args:?}");
    }
    // The data of a file hidden from every tree is still in the image.
    let (g, x) = both(
        d,
        Via::Sub,
        &[
            "-J",
            "-hide",
            "z.c",
            "-hide-joliet",
            "z.c",
            "-o",
            "OUT",
            "src",
        ],
    );
    let has = |p: &Path| {
        let b = fs::read(p).unwrap();
        b.windows(13).any(|w| w == b"HIDDEN-DATA-Z")
    };
    assert!(has(&x) && has(&g));
    assert!(!isoinfo_f(&g, &["-R"]).contains("/sub/deep/z.c"));
}

#[test]
fn padding_is_xorrisos_300_kib() {
    if !require_tool("xorriso") {
        return;
    }
    let w = work();
    let d = w.path();
    let size = |p: &Path| fs::metadata(p).unwrap().len();
    let (g_pad, x_pad) = both(d, Via::Link("xorrisofs"), &["-pad", "-o", "OUT", "src"]);
    let (gp, xp) = (size(&g_pad), size(&x_pad));
    let (g_def, x_def) = both(d, Via::Link("xorrisofs"), &["-o", "OUT", "src"]);
    assert_eq!(
        (size(&g_def), size(&x_def)),
        (gp, xp),
        "-pad is the default"
    );
    let (g, x) = both(d, Via::Link("xorrisofs"), &["-no-pad", "-o", "OUT", "src"]);
    assert_eq!(xp - size(&x), 150 * 2048);
    assert_eq!(gp - size(&g), 150 * 2048);
    // The unpadded image still reads.
    if require_tool("bsdtar") {
        assert!(bsdtar_list(&g).contains("a.txt"));
    }
}

/// The data blocks of the regular files, in disk order, by xorriso's `report_lba`.
fn data_order(img: &Path) -> Vec<String> {
    let out = run_stdout(tool("xorriso").args(["-indev"]).arg(img).args([
        "-find",
        "/",
        "-type",
        "f",
        "-exec",
        "report_lba",
    ]));
    let mut v: Vec<(u64, String)> = out
        .lines()
        .filter(|l| l.starts_with("File data lba:"))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').nth(1)?.split(',').map(str::trim).collect();
            let lba: u64 = f.get(1)?.parse().ok()?;
            let name = l
                .rsplit_once(" '")
                .map(|x| x.1.trim_end_matches('\'').to_string())?;
            Some((lba, name))
        })
        .collect();
    v.sort();
    v.into_iter().map(|(_, n)| n).collect()
}

#[test]
fn sort_weights_order_the_data_as_xorriso_does() {
    if !require_tool("xorriso") {
        return;
    }
    let w = work();
    let d = w.path();
    fs::write(d.join("weights"), "5 /sub/deep\n7 /q.c\n").unwrap();
    fs::write(
        d.join("sortfile"),
        format!("{}/src/sub/Makefile 9\nsrc/a.txt 3\n", d.display()),
    )
    .unwrap();
    let first = |order: &[String], n: usize| order.iter().take(n).cloned().collect::<Vec<_>>();
    let (g, x) = both(
        d,
        Via::Link("xorrisofs"),
        &["--sort-weight", "10", "/sub/b.c", "-o", "OUT", "src"],
    );
    assert_eq!(first(&data_order(&g), 1), first(&data_order(&x), 1));
    assert_eq!(first(&data_order(&g), 1), ["/sub/b.c"]);
    let (g, x) = both(
        d,
        Via::Link("xorrisofs"),
        &["--sort-weight-list", "weights", "-o", "OUT", "src"],
    );
    let (og, ox) = (data_order(&g), data_order(&x));
    assert_eq!(first(&og, 1), ["/q.c"]);
    assert_eq!(first(&og, 1), first(&ox, 1));
    let deep: BTreeSet<String> = og.iter().skip(1).take(2).cloned().collect();
    assert_eq!(deep, ox.iter().skip(1).take(2).cloned().collect());
    // -sort (a mkisofs sort file of disk paths): xorriso takes it without effect; ours orders.
    let o = ok(
        ours(
            d,
            Via::Link("mkisofs"),
            &["-sort", "sortfile", "-o", "s.iso", "src"],
        ),
        "-sort",
    );
    drop(o);
    assert_eq!(
        first(&data_order(&d.join("s.iso")), 2),
        ["/sub/Makefile", "/a.txt"]
    );
}

#[test]
fn quiet_and_verbose() {
    let w = work();
    let d = w.path();
    let o = ok(
        ours(d, Via::Link("xorrisofs"), &["-quiet", "-o", "g.iso", "src"]),
        "-quiet",
    );
    assert_eq!(stderr(&o), "");
    let o = ok(
        ours(
            d,
            Via::Link("xorrisofs"),
            &["-v", "-cache-inodes", "-U", "-o", "g.iso", "src"],
        ),
        "-v",
    );
    let e = stderr(&o);
    assert!(e.contains("-cache-inodes: accepted without effect"), "{e}");
    assert!(e.contains("-U: accepted without effect"), "{e}");
    assert!(e.contains("wrote"), "{e}");
}

#[test]
fn supported_el_torito_options_report_as_xorrisos() {
    if !require_tool("xorriso") {
        return;
    }
    let w = work();
    let d = w.path();
    let mut boot = vec![0u8; 2048];
    boot[510] = 0x55;
    boot[511] = 0xAA;
    fs::write(d.join("src/boot.img"), &boot).unwrap();
    fs::write(d.join("src/efi.img"), vec![0u8; 4096]).unwrap();
    for args in [
        &[
            "-eltorito-boot",
            "boot.img",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-boot-info-table",
            "-eltorito-catalog",
            "boot.cat",
            "-o",
            "OUT",
            "src",
        ][..],
        &[
            "-b",
            "boot.img",
            "-no-emul-boot",
            "-c",
            "boot.cat",
            "-eltorito-alt-boot",
            "-e",
            "efi.img",
            "-no-emul-boot",
            "-o",
            "OUT",
            "src",
        ],
        &[
            "-c",
            "boot.cat",
            "-b",
            "boot.img",
            "-no-emul-boot",
            "--efi-boot",
            "efi.img",
            "-o",
            "OUT",
            "src",
        ],
    ] {
        let (g, x) = both(d, Via::Link("xorrisofs"), args);
        let report = |p: &Path| xorriso_report(p, &["-report_el_torito", "as_mkisofs"]);
        assert_eq!(report(&g), report(&x), "{args:?}");
        assert!(report(&g).contains("-no-emul-boot"));
    }
}

/// `-isohybrid-mbr isohdpfx.bin`: the MBR boot code finds isolinux.bin through the address at
/// MBR byte 432 (the boot image's block times 4, 64-bit little-endian), as xorriso writes it;
/// checked against the block xorriso reports for each image's El Torito entry.
#[test]
fn isohybrid_mbr_points_at_the_boot_image_as_xorrisos_does() {
    const ISOHDPFX: &str = "/usr/lib/ISOLINUX/isohdpfx.bin";
    const ISOLINUX: &str = "/usr/lib/ISOLINUX/isolinux.bin";
    if !require_tool("xorriso") {
        return;
    }
    if !Path::new(ISOHDPFX).exists() || !Path::new(ISOLINUX).exists() {
        missing(ISOHDPFX, "Debian: isolinux");
        return;
    }
    let w = work();
    let d = w.path();
    fs::create_dir_all(d.join("src/isolinux")).unwrap();
    fs::copy(ISOLINUX, d.join("src/isolinux/isolinux.bin")).unwrap();
    let args = [
        "-R",
        "-J",
        "-b",
        "isolinux/isolinux.bin",
        "-c",
        "isolinux/boot.cat",
        "-no-emul-boot",
        "-boot-load-size",
        "4",
        "-boot-info-table",
        "-isohybrid-mbr",
        ISOHDPFX,
        "-o",
        "OUT",
        "src",
    ];
    let (g, x) = both(d, Via::Link("xorrisofs"), &args);
    for img in [&g, &x] {
        let report = xorriso_report(img, &["-report_el_torito", "plain"]);
        let lba: u64 = report
            .lines()
            .find(|l| l.starts_with("El Torito boot img :   1"))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no boot image in {report}"));
        let bytes = fs::read(img).unwrap();
        let mut at = [0u8; 8];
        at.copy_from_slice(&bytes[432..440]);
        assert_eq!(u64::from_le_bytes(at), lba * 4, "{}", img.display());
        assert_eq!(&bytes[..432], &fs::read(ISOHDPFX).unwrap()[..432]);
    }
}

/// grub-mkrescue, pointed at glassmaster with `--xorriso=`, runs its whole command line
/// (`--grub2-boot-info --grub2-mbr ... -efi-boot-part --efi-boot-image
/// --protective-msdos-label`, and `-hfsplus`, accepted with a warning): xorriso reports the same
/// El Torito entries and options and the same system-area kind for our image as for the one
/// xorriso makes from the same tree, but the HFS+ tree and its Apple Partition Map.
#[test]
fn grub_mkrescue_runs_through_the_personality() {
    if !require_tools(&["xorriso", "grub-mkrescue", "mformat"]) {
        return;
    }
    for dir in ["/usr/lib/grub/i386-pc", "/usr/lib/grub/x86_64-efi"] {
        if !Path::new(dir).is_dir() {
            missing(dir, "Debian: grub-pc-bin grub-efi-amd64-bin");
            return;
        }
    }
    let w = work();
    let d = w.path();
    // work() made d/xorriso, a link to glassmaster.
    fs::create_dir_all(d.join("root/boot")).unwrap();
    fs::write(d.join("root/boot/hello"), b"hello\n").unwrap();
    let mkrescue = |out: &str, xorriso: Option<&Path>| {
        let mut c = Command::new("grub-mkrescue");
        if let Some(x) = xorriso {
            c.arg(format!("--xorriso={}", x.display()));
        }
        let o = c
            .args(["-o", out, "root"])
            .current_dir(d)
            .env("SOURCE_DATE_EPOCH", "1600000000")
            .output()
            .unwrap();
        ok(o, out)
    };
    let o = mkrescue("g.iso", Some(&d.join("xorriso")));
    assert!(
        stderr(&o).contains("-hfsplus: no HFS+ tree"),
        "{}",
        stderr(&o)
    );
    mkrescue("x.iso", None);
    let report = |img: &str| {
        let text = xorriso_report(
            &d.join(img),
            &["-report_el_torito", "plain", "-report_system_area", "plain"],
        );
        let mut kept = Vec::new();
        for l in text.lines() {
            if l.starts_with("El Torito img path")
                || l.starts_with("El Torito img opts")
                || l.starts_with("El Torito cat path")
            {
                kept.push(l.to_string());
            }
            if let Some(summary) = l.strip_prefix("System area summary: ") {
                kept.push(summary.replace(" APM", ""));
            }
            if l.starts_with("El Torito boot img :") {
                // Entry number, platform, bootable, emulation, segment, header, load size.
                let f: Vec<&str> = l.split_whitespace().collect();
                kept.push(f[..f.len().saturating_sub(1)].join(" "));
            }
        }
        kept
    };
    let (ours, theirs) = (report("g.iso"), report("x.iso"));
    assert_eq!(ours, theirs);
    assert!(
        ours.iter().any(|l| l.contains("grub2-boot-info")),
        "{ours:?}"
    );
    assert!(
        ours.iter()
            .any(|l| l.contains("protective-msdos-label grub2-mbr")),
        "{ours:?}"
    );
    // The MBR's boot image address: GRUB 2's block * 4 + 4 of the BIOS entry.
    let text = xorriso_report(&d.join("g.iso"), &["-report_el_torito", "plain"]);
    let lba: u64 = text
        .lines()
        .find(|l| l.starts_with("El Torito boot img :   1"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .unwrap();
    let bytes = fs::read(d.join("g.iso")).unwrap();
    let mut at = [0u8; 8];
    at.copy_from_slice(&bytes[432..440]);
    assert_eq!(u64::from_le_bytes(at), lba * 4 + 4);
}

/// A lorax-style command line (GRUB 2 MBR and boot info, the EFI image as an appended GPT
/// partition booted through `-e --interval:appended_partition_2:all::`, the ISO partition's type
/// GUID; without `-partition_offset`, not implemented yet): the same El Torito entries and
/// options, system-area kind, MBR partition types and GPT partition types as xorriso's image.
#[test]
fn lorax_style_appended_efi_partition_matches_xorriso() {
    if !require_tools(&["xorriso", "mkfs.vfat"]) {
        return;
    }
    let grub_mbr = "/usr/lib/grub/i386-pc/boot_hybrid.img";
    if !Path::new(grub_mbr).exists() {
        missing(grub_mbr, "Debian: grub-pc-bin");
        return;
    }
    let w = work();
    let d = w.path();
    let mut boot = vec![0u8; 8192];
    boot[510] = 0x55;
    boot[511] = 0xAA;
    fs::create_dir_all(d.join("src/images")).unwrap();
    fs::write(d.join("src/images/eltorito.img"), &boot).unwrap();
    let o = tool("mkfs.vfat")
        .args(["-C", "efiboot.img", "4096"])
        .current_dir(d)
        .output()
        .unwrap();
    ok(o, "mkfs.vfat");
    let args = [
        "-R",
        "-J",
        "-V",
        "LORAX",
        "--grub2-mbr",
        grub_mbr,
        "-appended_part_as_gpt",
        "-append_partition",
        "2",
        "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
        "efiboot.img",
        "-iso_mbr_part_type",
        "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7",
        "-c",
        "boot.cat",
        "--boot-catalog-hide",
        "-b",
        "images/eltorito.img",
        "-no-emul-boot",
        "-boot-load-size",
        "4",
        "-boot-info-table",
        "--grub2-boot-info",
        "-eltorito-alt-boot",
        "-e",
        "--interval:appended_partition_2:all::",
        "-no-emul-boot",
        "-graft-points",
        "-o",
        "OUT",
        "/=src",
    ];
    let (g, x) = both(d, Via::Link("xorrisofs"), &args);
    let shape = |img: &Path| -> Vec<String> {
        let text = xorriso_report(
            img,
            &["-report_el_torito", "plain", "-report_system_area", "plain"],
        );
        let mut kept = Vec::new();
        for l in text.lines() {
            let f: Vec<&str> = l.split_whitespace().collect();
            if l.starts_with("El Torito boot img :") || l.starts_with("MBR partition      :") {
                // Numbers, flags and types, not the start block / sector counts.
                kept.push(f[..f.len().saturating_sub(2)].join(" "));
            } else if l.starts_with("El Torito img")
                || l.starts_with("System area summary")
                || l.starts_with("GPT type GUID")
            {
                kept.push(l.to_string());
            }
        }
        kept
    };
    let (ours, theirs) = (shape(&g), shape(&x));
    assert_eq!(ours, theirs);
    assert!(
        ours.iter()
            .any(|l| l.contains("28732ac11ff8d211ba4b00a0c93ec93b")),
        "{ours:?}"
    );
    // The UEFI entry's image is the appended partition: its first bytes are the FAT image's.
    let text = xorriso_report(&g, &["-report_el_torito", "plain"]);
    let lba: usize = text
        .lines()
        .find(|l| l.starts_with("El Torito boot img :   2"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .unwrap();
    let image = fs::read(&g).unwrap();
    let esp = fs::read(d.join("efiboot.img")).unwrap();
    assert_eq!(&image[lba * 2048..lba * 2048 + esp.len()], &esp[..]);
}

#[test]
fn standard_output_and_print_size() {
    if !require_tool("isoinfo") {
        return;
    }
    let w = work();
    let d = w.path();
    ok(ours(d, Via::Sub, &["-quiet", "-o", "g.iso", "src"]), "-o");
    let file = fs::read(d.join("g.iso")).unwrap();
    // Without -o (or with -o -) the image goes to standard output, as with xorriso.
    for args in [&["-quiet", "src"][..], &["-quiet", "-o", "-", "src"]] {
        let o = ok(ours(d, Via::Link("xorrisofs"), args), "stdout");
        assert!(
            o.stdout == file,
            "{args:?}: another image on standard output"
        );
    }
    let o = ok(
        ours(d, Via::Sub, &["-print-size", "-quiet", "src"]),
        "-print-size",
    );
    let blocks: u64 = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();
    assert_eq!(blocks * 2048, file.len() as u64);
    let info = run_stdout(tool("isoinfo").arg("-d").arg("-i").arg(d.join("g.iso")));
    assert!(
        info.contains(&format!("Volume size is: {blocks}")),
        "{info}"
    );
}

#[test]
fn deep_directories_read_the_same_through_rock_ridge() {
    if !require_tools(&["xorriso", "bsdtar"]) {
        return;
    }
    let w = work();
    let d = w.path();
    let mut deep = d.join("deep");
    for k in 1..=11 {
        deep.push(format!("level{k}"));
    }
    fs::create_dir_all(&deep).unwrap();
    fs::write(deep.join("bottom.txt"), b"at the bottom\n").unwrap();
    for p in walk(&d.join("deep")) {
        assert!(filetime_set(&p));
    }
    // xorriso does not relocate (-D is its default), glassmaster relocates (RRIP 4.1.5): Rock
    // Ridge readers see the same tree.
    for args in [
        &["-R", "-o", "OUT", "deep"][..],
        &["-R", "-D", "-J", "-o", "OUT", "deep"],
    ] {
        let (g, x) = both(d, Via::Link("xorrisofs"), args);
        assert_eq!(lsdl(&g), lsdl(&x), "{args:?}");
        assert_eq!(bsdtar_list(&g), bsdtar_list(&x), "{args:?}");
    }
    // With -hide-rr-moved both relocate, into /.rr_moved: the ISO 9660 trees match too.
    let (g, x) = both(
        d,
        Via::Link("xorrisofs"),
        &["-R", "-hide-rr-moved", "-o", "OUT", "deep"],
    );
    assert_eq!(lsdl(&g), lsdl(&x));
    if require_tool("isoinfo") {
        assert_eq!(isoinfo_l(&g, &[]), isoinfo_l(&x, &[]));
    }
}

#[test]
fn udf_as_genisoimage_adds_it() {
    if !require_tools(&["udfinfo", "7z"]) {
        return;
    }
    let w = work();
    let d = w.path();
    ok(
        ours(
            d,
            Via::Link("genisoimage"),
            &["-udf", "-J", "-R", "-V", "WIN", "-o", "u.iso", "src"],
        ),
        "-udf",
    );
    let info = run_stdout(tool("udfinfo").arg(d.join("u.iso")));
    assert!(info.contains("lvid=WIN"), "{info}");
    let list = run_stdout(tool("7z").args(["l", "-tudf"]).arg(d.join("u.iso")));
    assert!(
        list.contains("z.c") && list.contains("averyveryverylongname.text"),
        "{list}"
    );
}

#[test]
fn joliet_utf16_keeps_characters_beyond_ucs2() {
    if !require_tools(&["xorriso", "7z"]) {
        return;
    }
    let w = work();
    let d = w.path();
    fs::create_dir(d.join("emo")).unwrap();
    fs::write(d.join("emo/smile-\u{1F600}.txt"), b"smile\n").unwrap();
    let name_utf16: Vec<u8> = "smile-\u{1F600}.txt"
        .encode_utf16()
        .flat_map(|u| u.to_be_bytes())
        .collect();
    let has = |p: &Path| {
        fs::read(p)
            .unwrap()
            .windows(name_utf16.len())
            .any(|w| w == name_utf16)
    };
    let (g, x) = both(d, Via::Sub, &["-J", "-joliet-utf16", "-o", "OUT", "emo"]);
    assert!(
        has(&g) && has(&x),
        "the surrogate pair is in both Joliet trees"
    );
    // 7-Zip reads the Joliet tree: the same name from both images.
    let names = |p: &Path| {
        let out = run_stdout(tool("7z").args(["l", "-slt"]).arg(p));
        out.lines()
            .filter_map(|l| l.strip_prefix("Path = "))
            .filter(|l| l.contains("smile"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&g), ["smile-\u{1F600}.txt"]);
    assert_eq!(names(&g), names(&x));
    // Without it the character becomes '_', as in xorriso.
    let (g, x) = both(d, Via::Sub, &["-J", "-o", "OUT", "emo"]);
    assert!(!has(&g) && !has(&x));
    assert_eq!(names(&g), names(&x));
}

/// xorriso's report of an image's El Torito entries and system area (`-report_el_torito
/// as_mkisofs -report_system_area plain`), the image's name replaced by `IMG`, without what
/// the two programs choose differently on purpose: the GUIDs (xorriso's come from the time),
/// the GPT's entry count (xorriso writes 248 entries, we the 128 of UEFI's minimum, so the
/// backup GPT and the image end differ by 7 blocks) and the image size. With `exact` false,
/// also without the start and size of partitions (the trees are laid out apart).
fn system_area_report(img: &Path, exact: bool) -> Vec<String> {
    let text = xorriso_report(
        img,
        &[
            "-report_el_torito",
            "as_mkisofs",
            "-report_system_area",
            "plain",
        ],
    );
    let name = img.file_name().unwrap().to_str().unwrap();
    let skip = [
        "xorriso :",
        "Drive",
        "Media",
        "Boot record",
        "libisofs",
        "GPT disk GUID",
        "GPT partition GUID",
        "GPT entry array",
        "GPT lba range",
        "ISO image size/512",
    ];
    text.lines()
        .filter(|l| !l.trim().is_empty() && !skip.iter().any(|s| l.starts_with(s)))
        .map(|l| {
            let l = l.replace(name, "IMG");
            let f: Vec<&str> = l.split_whitespace().collect();
            if exact {
                l
            } else if l.starts_with("MBR partition      :") || l.starts_with("GPT start and size") {
                f[..f.len() - 2].join(" ")
            } else if l.starts_with("-append_partition") {
                f[..3].join(" ")
            } else if let Some((head, _)) = l.split_once("_start_") {
                head.to_string()
            } else {
                l
            }
        })
        .collect()
}

/// Partition 1 of an image: (first byte, length in bytes), from the MBR, or from the GPT
/// behind a protective MBR.
fn partition_one(img: &Path) -> (u64, u64) {
    let b = fs::read(img).unwrap();
    let le32 = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as u64;
    let le64 = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    if b[446 + 4] == 0xEE {
        // The GPT header at sector 1 names its entry array (sector 2); entry 1 is first.
        let entries = le64(512 + 72) as usize * 512;
        let (first, last) = (le64(entries + 32), le64(entries + 40));
        (first * 512, (last + 1 - first) * 512)
    } else {
        (le32(446 + 8) * 512, le32(446 + 12) * 512)
    }
}

/// `7z l -slt`: the set of paths.
fn sevenzip_paths(img: &Path) -> BTreeSet<String> {
    run_stdout(tool("7z").args(["l", "-slt"]).arg(img))
        .lines()
        .filter_map(|l| l.strip_prefix("Path = "))
        // 7-Zip shows El Torito boot images as [BOOT]/...: the partition has no boot record.
        .filter(|p| !p.ends_with(".iso") && !p.starts_with("[BOOT]"))
        .map(str::to_string)
        .collect()
}

/// With `-partition_offset 16`, partition 1 starts at block 16 and holds its own descriptors
/// and trees: carved out of the image (as a partition device shows it), it mounts by itself
/// and lists the same tree as the whole image through isoinfo (Rock Ridge and Joliet), 7-Zip
/// and xorriso; its volume space size is the partition's length. fdisk and sgdisk find no
/// problem (sgdisk exits as it does on xorriso's image: 2 on an MBR beside a GPT).
fn check_partition(d: &Path, g: &Path, x: &Path) {
    let carve = |img: &Path, name: &str| {
        let (start, len) = partition_one(img);
        assert_eq!(start, 16 * 2048, "{}", img.display());
        let bytes = fs::read(img).unwrap();
        let part = d.join(name);
        fs::write(&part, &bytes[start as usize..(start + len) as usize]).unwrap();
        (part, len)
    };
    let (part, len) = carve(g, "part.iso");
    let (their_part, _) = carve(x, "their-part.iso");
    for opts in [&["-R"][..], &["-J"]] {
        let whole = isoinfo_f(g, opts);
        assert!(whole.len() > 5, "{whole:?}");
        assert_eq!(isoinfo_f(&part, opts), whole, "{opts:?}");
    }
    assert_eq!(sevenzip_paths(&part), sevenzip_paths(g));
    // xorriso shows the boot catalog only where no boot record names it (in the partition),
    // and records it as a whole block where we record its 128 bytes: compared without it.
    let no_catalog = |s: BTreeSet<String>| -> BTreeSet<String> {
        s.into_iter()
            .filter(|l| !l.ends_with("/boot.cat'"))
            .collect()
    };
    assert_eq!(no_catalog(lsdl(&part)), no_catalog(lsdl(&their_part)));
    assert!(lsdl(&part).is_superset(&lsdl(g)));
    let size = run_stdout(tool("isoinfo").arg("-d").arg("-i").arg(&part));
    assert!(
        size.contains(&format!("Volume size is: {}", len / 2048)),
        "{size}"
    );
    // The partition's descriptors are at its block 16; their copy of the file data is the
    // image's (same bytes read through either tree).
    run(tool("xorriso")
        .arg("-indev")
        .arg(&part)
        .args(["-osirrox", "on", "-extract", "/a.txt"])
        .arg(d.join("a.out")));
    assert_eq!(fs::read(d.join("a.out")).unwrap(), b"alpha\n");
    let fdisk = run(tool("fdisk").arg("-l").arg(g));
    let fdisk_text = String::from_utf8_lossy(&fdisk.stdout).to_string()
        + &String::from_utf8_lossy(&fdisk.stderr);
    assert!(fdisk.status.success(), "{fdisk_text}");
    for bad in ["overlap", "does not", "Invalid", "Warning", "differ"] {
        assert!(!fdisk_text.contains(bad), "{fdisk_text}");
    }
    let sgdisk = |img: &Path| {
        let o = tool("sgdisk").arg("-v").arg(img).output().unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).to_string(),
        )
    };
    let (ours, theirs) = (sgdisk(g), sgdisk(x));
    assert!(ours.1.contains("No problems found"), "{}", ours.1);
    assert_eq!(ours.0, theirs.0, "{}\n{}", ours.1, theirs.1);
}

/// A Debian-live / archiso style command line (issue 20 item 4 (a)), with `-partition_offset
/// 16` and isolinux's isohybrid MBR beside the GPT of `-isohybrid-gpt-basdat`, the EFI image an
/// appended partition: xorriso reports the same El Torito entries, system-area options,
/// partition offset, geometry, cylinder alignment and MBR / GPT partitions (start, size, type,
/// flags) for our image as for its own; the partition mounts by itself.
#[test]
fn partition_offset_debian_live_line_matches_xorriso() {
    const ISOHDPFX: &str = "/usr/lib/ISOLINUX/isohdpfx.bin";
    const ISOLINUX: &str = "/usr/lib/ISOLINUX/isolinux.bin";
    if !require_tools(&["xorriso", "isoinfo", "7z", "mkfs.vfat", "fdisk", "sgdisk"]) {
        return;
    }
    if !Path::new(ISOHDPFX).exists() || !Path::new(ISOLINUX).exists() {
        missing(ISOHDPFX, "Debian: isolinux");
        return;
    }
    let w = work();
    let d = w.path();
    fs::create_dir_all(d.join("src/isolinux")).unwrap();
    fs::copy(ISOLINUX, d.join("src/isolinux/isolinux.bin")).unwrap();
    let o = tool("mkfs.vfat")
        .args(["-C", "efiboot.img", "4096"])
        .current_dir(d)
        .output()
        .unwrap();
    ok(o, "mkfs.vfat");
    let args = [
        "-iso-level",
        "3",
        "-full-iso9660-filenames",
        "-volid",
        "LIVE",
        "-appid",
        "APP",
        "-publisher",
        "PUB",
        "-preparer",
        "PREP",
        "--mbr-force-bootable",
        "-partition_offset",
        "16",
        "-joliet",
        "-joliet-long",
        "-rational-rock",
        "-isohybrid-mbr",
        ISOHDPFX,
        "-eltorito-boot",
        "isolinux/isolinux.bin",
        "-no-emul-boot",
        "-boot-load-size",
        "4",
        "-boot-info-table",
        "--eltorito-catalog",
        "isolinux/boot.cat",
        "-eltorito-alt-boot",
        "-e",
        "--interval:appended_partition_2:all::",
        "-no-emul-boot",
        "-isohybrid-gpt-basdat",
        "-append_partition",
        "2",
        "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
        "efiboot.img",
        "-o",
        "OUT",
        "src",
    ];
    let (g, x) = both(d, Via::Link("xorrisofs"), &args);
    let (ours, theirs) = (system_area_report(&g, true), system_area_report(&x, true));
    assert_eq!(ours, theirs);
    for want in [
        "Partition offset   : 16",
        "-partition_cyl_align on",
        "MBR heads per cyl  : 64",
        "MBR partition      :   1   0x80  0x00           64         1984",
        "MBR partition      :   2   0x00  0xef         2048         8192",
        "-isohybrid-gpt-basdat",
    ] {
        assert!(ours.iter().any(|l| l == want), "{want}: {ours:#?}");
    }
    // The MBR's CHS fields are xorriso's (64 heads, 32 sectors), byte for byte.
    let (gb, xb) = (fs::read(&g).unwrap(), fs::read(&x).unwrap());
    assert_eq!(gb[446..510], xb[446..510]);
    assert_eq!(lsdl(&g), lsdl(&x));
    check_partition(d, &g, &x);
}

/// A lorax style command line (issue 20 item 4 (b)) with `-partition_offset 16`: GRUB 2's
/// MBR, the EFI image an appended GPT partition, the ISO partitions' type GUID: xorriso reports
/// the same entries, options, partition offset, geometry and partition types and flags for
/// our image as for its own (the partitions' starts and sizes aside: the trees are laid out
/// apart); the partition mounts by itself.
#[test]
fn partition_offset_lorax_line_matches_xorriso() {
    if !require_tools(&["xorriso", "isoinfo", "7z", "mkfs.vfat", "fdisk", "sgdisk"]) {
        return;
    }
    let grub_mbr = "/usr/lib/grub/i386-pc/boot_hybrid.img";
    if !Path::new(grub_mbr).exists() {
        missing(grub_mbr, "Debian: grub-pc-bin");
        return;
    }
    let w = work();
    let d = w.path();
    let mut boot = vec![0u8; 8192];
    boot[510] = 0x55;
    boot[511] = 0xAA;
    fs::create_dir_all(d.join("src/images")).unwrap();
    fs::write(d.join("src/images/eltorito.img"), &boot).unwrap();
    let o = tool("mkfs.vfat")
        .args(["-C", "efiboot.img", "4096"])
        .current_dir(d)
        .output()
        .unwrap();
    ok(o, "mkfs.vfat");
    let args = [
        "-R",
        "-J",
        "-V",
        "LORAX",
        "--grub2-mbr",
        grub_mbr,
        "-partition_offset",
        "16",
        "-appended_part_as_gpt",
        "-append_partition",
        "2",
        "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
        "efiboot.img",
        "-iso_mbr_part_type",
        "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7",
        "-c",
        "boot.cat",
        "--boot-catalog-hide",
        "-b",
        "images/eltorito.img",
        "-no-emul-boot",
        "-boot-load-size",
        "4",
        "-boot-info-table",
        "--grub2-boot-info",
        "-eltorito-alt-boot",
        "-e",
        "--interval:appended_partition_2:all::",
        "-no-emul-boot",
        "-graft-points",
        "-o",
        "OUT",
        "/=src",
    ];
    let (g, x) = both(d, Via::Link("xorrisofs"), &args);
    let (ours, theirs) = (system_area_report(&g, false), system_area_report(&x, false));
    assert_eq!(ours, theirs);
    for want in [
        "Partition offset   : 16",
        "MBR heads per cyl  : 64",
        "GPT partname local :   1  ISO9660",
        "GPT partition flags:   1  0x1000000000000001",
        "GPT partname local :   3  Gap1",
    ] {
        assert!(ours.iter().any(|l| l == want), "{want}: {ours:#?}");
    }
    assert_eq!(lsdl(&g), lsdl(&x));
    check_partition(d, &g, &x);
}

/// The MBR and GPT lines of xorriso's report (`MBR partition`, `GPT type GUID`, names, flags,
/// starts and sizes), the geometry and the summary.
fn partition_lines(img: &Path) -> Vec<String> {
    system_area_report(img, true)
        .into_iter()
        .filter(|l| {
            l.starts_with("MBR partition      :")
                || l.starts_with("MBR heads")
                || l.starts_with("MBR secs")
                || l.starts_with("System area summary")
                || l.starts_with("GPT type GUID")
                || l.starts_with("GPT partname local")
                || l.starts_with("GPT partition flags")
                || l.starts_with("GPT start and size")
        })
        .collect()
}

/// What xorriso writes into the system area that we did not: cylinder alignment
/// (`-partition_cyl_align auto/on/all/off`, `-partition_hd_cyl`, `-partition_sec_hd`: same
/// image size and MBR bytes), the MBR beside the GPT of `-isohybrid-gpt-basdat` and
/// `-isohybrid-gpt-hfsplus`, the MBR types of appended partitions given by GPT type GUIDs and
/// xorriso's partition 1 beside them, a volume space size that leaves appended partitions
/// out, and `-G` (the system area from a file).
#[test]
fn system_area_options_match_xorriso() {
    const ISOHDPFX: &str = "/usr/lib/ISOLINUX/isohdpfx.bin";
    if !require_tools(&["xorriso", "isoinfo", "mkfs.vfat"]) {
        return;
    }
    if !Path::new(ISOHDPFX).exists() {
        missing(ISOHDPFX, "Debian: isolinux");
        return;
    }
    let w = work();
    let d = w.path();
    let mut boot = vec![0u8; 2048];
    boot[510] = 0x55;
    boot[511] = 0xAA;
    fs::write(d.join("src/boot.img"), &boot).unwrap();
    let o = tool("mkfs.vfat")
        .args(["-C", "src/efi.img", "4096"])
        .current_dir(d)
        .output()
        .unwrap();
    ok(o, "mkfs.vfat");
    // Partitions of sizes that are no whole cylinder (nor, for one, a whole block).
    fs::write(d.join("odd1.img"), content(1, 1000 * 1024)).unwrap();
    fs::write(d.join("odd2.img"), content(2, 300_000)).unwrap();
    let volume_size = |img: &Path| -> u64 {
        let text = run_stdout(tool("isoinfo").arg("-d").arg("-i").arg(img));
        text.lines()
            .find_map(|l| l.strip_prefix("Volume size is: "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap()
    };
    let base = [
        "-b",
        "boot.img",
        "-no-emul-boot",
        "-isohybrid-mbr",
        ISOHDPFX,
    ];
    let appended = [
        "-append_partition",
        "2",
        "0xef",
        "odd1.img",
        "-append_partition",
        "3",
        "0x83",
        "odd2.img",
    ];
    // Cylinder alignment: the same image size, partition table and MBR bytes (the layouts of
    // the small trees fit in the first cylinder alike).
    for extra in [
        &[][..],
        &["-partition_cyl_align", "on"],
        &["-partition_cyl_align", "all"],
        &[
            "-partition_cyl_align",
            "all",
            "-partition_hd_cyl",
            "16",
            "-partition_sec_hd",
            "16",
        ],
    ] {
        let args: Vec<&str> = base
            .iter()
            .chain(&appended)
            .chain(extra)
            .chain(&["-o", "OUT", "src"])
            .copied()
            .collect();
        let (g, x) = both(d, Via::Link("xorrisofs"), &args);
        assert_eq!(partition_lines(&g), partition_lines(&x), "{extra:?}");
        let (gb, xb) = (fs::read(&g).unwrap(), fs::read(&x).unwrap());
        assert_eq!(gb.len(), xb.len(), "{extra:?}");
        assert_eq!(gb[446..510], xb[446..510], "{extra:?}");
        // The volume space leaves the appended partitions out, as xorriso's.
        assert_eq!(volume_size(&g), volume_size(&x), "{extra:?}");
        assert!(volume_size(&g) * 2048 < gb.len() as u64);
    }
    // Without appended partitions the whole image is whole cylinders; off: no padding.
    for (extra, aligned) in [(&[][..], true), (&["-partition_cyl_align", "off"], false)] {
        let args: Vec<&str> = base
            .iter()
            .chain(extra)
            .chain(&["-o", "OUT", "src"])
            .copied()
            .collect();
        let (g, x) = both(d, Via::Link("xorrisofs"), &args);
        let (gl, xl) = (partition_lines(&g), partition_lines(&x));
        let len = fs::metadata(&g).unwrap().len();
        assert_eq!(len % (1 << 20) == 0, aligned, "{extra:?}: {len}");
        if aligned {
            assert_eq!(gl, xl);
            assert_eq!(len, fs::metadata(&x).unwrap().len());
        } else {
            // Partition 1 covers each image whole: its size is the layout's.
            assert_eq!(gl[..gl.len() - 1], xl[..xl.len() - 1]);
        }
    }
    // The MBR beside the GPT of -isohybrid-gpt-basdat / -hfsplus (the UEFI image inside the
    // tree), and appended partitions typed by GPT GUIDs with no MBR code.
    let efi = ["-eltorito-alt-boot", "-e", "efi.img", "-no-emul-boot"];
    for extra in [&["-isohybrid-gpt-basdat"][..], &["-isohybrid-gpt-hfsplus"]] {
        let args: Vec<&str> = base
            .iter()
            .chain(&efi)
            .chain(extra)
            .chain(&["-o", "OUT", "src"])
            .copied()
            .collect();
        let (g, x) = both(d, Via::Link("xorrisofs"), &args);
        let shape = |img: &Path| -> Vec<String> {
            partition_lines(img)
                .into_iter()
                .map(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    if l.starts_with("MBR partition") || l.starts_with("GPT start and size") {
                        f[..f.len() - 2].join(" ")
                    } else {
                        l
                    }
                })
                .collect()
        };
        assert_eq!(shape(&g), shape(&x), "{extra:?}");
    }
    let args = [
        "-b",
        "boot.img",
        "-no-emul-boot",
        "-append_partition",
        "2",
        "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
        "odd2.img",
        "-append_partition",
        "3",
        "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7",
        "odd2.img",
        "-append_partition",
        "4",
        "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
        "odd2.img",
        "-o",
        "OUT",
        "src",
    ];
    let (g, x) = both(d, Via::Link("xorrisofs"), &args);
    let types = |img: &Path| -> Vec<String> {
        partition_lines(img)
            .into_iter()
            .filter(|l| l.starts_with("MBR partition"))
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                // N, status, type and size (the starts follow the layouts).
                format!(
                    "{} {} {} {}",
                    f[3],
                    f[4],
                    f[5],
                    if f[3] == "1" { "" } else { f[7] }
                )
            })
            .collect()
    };
    assert_eq!(types(&g), types(&x));
    assert_eq!(
        types(&g),
        [
            "1 0x00 0x83 ",
            "2 0x00 0x83 588",
            "3 0x00 0x83 588",
            "4 0x00 0xef 588"
        ]
    );
    // A partition offset without a GPT: ISOLINUX's MBR (cylinder aligned: the same table) and
    // GRUB 2's (partition 1 typed 0xCD, from block 16).
    let offset = ["-partition_offset", "16", "-o", "OUT", "src"];
    let args: Vec<&str> = base.iter().chain(&offset).copied().collect();
    let (g, x) = both(d, Via::Link("xorrisofs"), &args);
    assert_eq!(partition_lines(&g), partition_lines(&x));
    // From block 16 to the end of the image, padded to whole MiB (the tree holds efi.img).
    let len = fs::metadata(&g).unwrap().len();
    assert_eq!(len % (1 << 20), 0);
    let want = format!(
        "MBR partition      :   1   0x80  0x17           64 {:>12}",
        len / 512 - 64
    );
    assert!(
        partition_lines(&g).contains(&want),
        "{want}: {:#?}",
        partition_lines(&g)
    );
    let grub_mbr = "/usr/lib/grub/i386-pc/boot_hybrid.img";
    if Path::new(grub_mbr).exists() {
        let args: Vec<&str> = ["-b", "boot.img", "-no-emul-boot", "--grub2-mbr", grub_mbr]
            .iter()
            .chain(&offset)
            .copied()
            .collect();
        let (g, x) = both(d, Via::Link("xorrisofs"), &args);
        let start = |img: &Path| -> Vec<String> {
            partition_lines(img)
                .into_iter()
                .filter(|l| l.starts_with("MBR partition"))
                .map(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    f[..f.len() - 1].join(" ")
                })
                .collect()
        };
        assert_eq!(start(&g), start(&x));
        assert_eq!(start(&g), ["MBR partition : 1 0x80 0xcd 64"]);
    }
    // -G: the first 32 KiB of the file are the system area, as they are.
    fs::write(d.join("sa.bin"), content(3, 40_000)).unwrap();
    let (g, x) = both(
        d,
        Via::Link("xorrisofs"),
        &[
            "-G",
            "sa.bin",
            "-b",
            "boot.img",
            "-no-emul-boot",
            "-o",
            "OUT",
            "src",
        ],
    );
    let want = fs::read(d.join("sa.bin")).unwrap();
    assert_eq!(fs::read(&g).unwrap()[..32768], want[..32768]);
    assert_eq!(fs::read(&x).unwrap()[..32768], want[..32768]);
    let o = ours(
        d,
        Via::Link("xorrisofs"),
        &[
            "-G",
            "sa.bin",
            "-isohybrid-mbr",
            ISOHDPFX,
            "-b",
            "boot.img",
            "-o",
            "g.iso",
            "src",
        ],
    );
    assert_eq!(o.status.code(), Some(5));
    assert!(stderr(&o).contains("pick one"), "{}", stderr(&o));
}
