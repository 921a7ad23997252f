//! Build sources: `DIR` (its contents go to the image root), `FILE` (added as `/NAME`) and
//! graft points `/image/path=SRC` (the mkisofs `-graft-points` order).

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use glassmaster::ImageBuilder;

use crate::error::{CliError, CliResult, ResultExt};
use crate::progress_bar::BuildProgress;
use crate::report::os_safe;

/// Where a graft point puts its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageDest {
    /// Normalized absolute image path: "/" or "/a/b".
    pub path: String,
    /// The path was written with a trailing `/`: a file goes inside it under its own name.
    pub into_dir: bool,
    /// As written on the command line (for messages).
    pub raw: String,
}

/// One source argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    /// The file or directory on disk.
    pub src: PathBuf,
    /// Its place in the image, if a graft point gave one.
    pub dest: Option<ImageDest>,
}

/// Parses a source argument. As in mkisofs, a graft point is `/image/path=SOURCE`: the first `=`
/// not written as `\=` separates the image path from the source. An argument that names an
/// existing path containing `=` is taken literally as a source.
pub fn parse_source(arg: &OsStr) -> Result<SourceSpec, String> {
    let Some(s) = arg.to_str() else {
        // Not UTF-8: cannot be a graft point (image paths are UTF-8).
        return Ok(SourceSpec {
            src: PathBuf::from(arg),
            dest: None,
        });
    };
    let mut left = String::new();
    let mut escaped = false;
    let mut split = None;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some((_, '='))) => {
                chars.next();
                left.push('=');
                escaped = true;
            }
            '=' => {
                split = Some(i);
                break;
            }
            _ => left.push(c),
        }
    }
    let Some(at) = split else {
        return Ok(SourceSpec {
            src: PathBuf::from(left),
            dest: None,
        });
    };
    if !escaped && Path::new(s).exists() {
        return Ok(SourceSpec {
            src: PathBuf::from(s),
            dest: None,
        });
    }
    let right = &s[at + 1..];
    if left.is_empty() {
        return Err(format!("graft point {s:?} has no image path before '='"));
    }
    if right.is_empty() {
        return Err(format!("graft point {s:?} has no source after '='"));
    }
    let dest = normalize_image_path(&left).map_err(|why| format!("graft point {s:?}: {why}"))?;
    Ok(SourceSpec {
        src: PathBuf::from(right),
        dest: Some(dest),
    })
}

/// "/a//b/" -> "/a/b" (into_dir); a missing leading `/` is added.
fn normalize_image_path(raw: &str) -> Result<ImageDest, String> {
    let mut comps = Vec::new();
    for c in raw.split('/').filter(|c| !c.is_empty()) {
        if c == "." || c == ".." {
            return Err(format!("image path {raw:?} contains '{c}'"));
        }
        comps.push(c);
    }
    Ok(ImageDest {
        path: format!("/{}", comps.join("/")),
        into_dir: raw.ends_with('/'),
        raw: raw.to_string(),
    })
}

/// Parses all source arguments; a malformed graft point is a usage error.
pub fn parse_sources(args: &[std::ffi::OsString]) -> CliResult<Vec<SourceSpec>> {
    args.iter()
        .map(|a| parse_source(a).map_err(CliError::Usage))
        .collect()
}

/// Adds every source to `builder`, scanning directories with `progress`.
pub fn add_sources(
    builder: &mut ImageBuilder,
    specs: &[SourceSpec],
    progress: &mut BuildProgress,
) -> CliResult {
    for spec in specs {
        let src = &spec.src;
        let md = fs::metadata(src).context(|| {
            let mut msg = format!("cannot read source {}", os_safe(src.as_os_str()));
            if let Some(dest) = &spec.dest {
                if Path::new(&dest.raw).exists() {
                    msg.push_str(&format!(
                        " (graft points are written /image/path=SOURCE, as in mkisofs; did you mean {}={}?)",
                        src.display(),
                        dest.raw
                    ));
                }
            }
            msg
        })?;
        if md.is_dir() {
            let dest = spec.dest.as_ref().map_or("/", |d| d.path.as_str());
            builder
                .add_tree(dest, src, progress)
                .context(|| format!("cannot add {}", os_safe(src.as_os_str())))?;
        } else if md.is_file() {
            let dest = file_dest(src, spec.dest.as_ref())?;
            builder
                .add_file(&dest, src)
                .context(|| format!("cannot add {}", os_safe(src.as_os_str())))?;
        } else {
            return Err(CliError::msg(format!(
                "source {} is not a regular file or directory",
                os_safe(src.as_os_str())
            )));
        }
    }
    Ok(())
}

/// The image path of a file source: `/NAME` by default, `DEST/NAME` for a graft point ending in
/// `/` (or the root), `DEST` otherwise.
fn file_dest(src: &Path, dest: Option<&ImageDest>) -> CliResult<String> {
    let name = || {
        src.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
            CliError::msg(format!(
                "the file name of {} is not valid UTF-8",
                src.display()
            ))
        })
    };
    Ok(match dest {
        None => format!("/{}", name()?),
        Some(d) if d.path == "/" => format!("/{}", name()?),
        Some(d) if d.into_dir => format!("{}/{}", d.path, name()?),
        Some(d) => d.path.clone(),
    })
}

/// Refuses an output that would destroy an input, before anything is scanned or written: `out`
/// is an existing source file or source directory, or lies inside a source directory (it would
/// be both scanned into the image and replaced by it). Compared by device and inode, so another
/// spelling of the path (`..`, a symbolic link) is caught too. An output that does not exist
/// yet destroys nothing. The library refuses the same when it writes
/// (`glassmaster::Error::OutputIsSource`); this check only fails earlier, naming the argument.
pub fn check_output(out: &Path, specs: &[SourceSpec]) -> CliResult {
    let Ok(out_md) = fs::metadata(out) else {
        return Ok(());
    };
    if !out_md.is_file() && !out_md.is_dir() {
        return Ok(()); // a device or FIFO: written directly, nothing is replaced
    }
    // The places the output lies in: its resolved path, and the link's own place.
    let mut chains: Vec<PathBuf> = Vec::new();
    if let Ok(real) = out.canonicalize() {
        chains.push(real);
    }
    if let (Some(parent), Some(name)) = (out.parent(), out.file_name()) {
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if let Ok(p) = parent.canonicalize() {
            chains.push(p.join(name));
        }
    }
    for spec in specs {
        let Ok(src_md) = fs::metadata(&spec.src) else {
            continue; // reported when the sources are added
        };
        let refuse = |relation: &str| {
            Err(CliError::msg(format!(
                "the output {} {relation} {}: writing the image there would destroy an input; choose an output outside the sources",
                os_safe(out.as_os_str()),
                os_safe(spec.src.as_os_str())
            )))
        };
        if same_file(&out_md, &src_md) {
            return refuse("is the source");
        }
        if src_md.is_dir() {
            for chain in &chains {
                if chain
                    .ancestors()
                    .skip(1)
                    .any(|a| fs::metadata(a).is_ok_and(|m| same_file(&m, &src_md)))
                {
                    return refuse("is inside the source directory");
                }
            }
        }
    }
    if out_md.is_dir() {
        return Err(CliError::msg(format!(
            "the output {} is a directory (give the image file's path)",
            os_safe(out.as_os_str())
        )));
    }
    Ok(())
}

/// Whether two metadata describe the same file (device and inode; on other systems, never).
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        a.dev() == b.dev() && a.ino() == b.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<SourceSpec, String> {
        parse_source(OsStr::new(s))
    }
    fn dest(path: &str, into_dir: bool, raw: &str) -> Option<ImageDest> {
        Some(ImageDest {
            path: path.into(),
            into_dir,
            raw: raw.into(),
        })
    }

    #[test]
    fn plain_sources() {
        assert_eq!(
            p("some/dir").unwrap(),
            SourceSpec {
                src: "some/dir".into(),
                dest: None
            }
        );
    }

    #[test]
    fn graft_points() {
        assert_eq!(
            p("/a/b=nx/dir").unwrap(),
            SourceSpec {
                src: "nx/dir".into(),
                dest: dest("/a/b", false, "/a/b")
            }
        );
        assert_eq!(
            p("a//b/=nx").unwrap(),
            SourceSpec {
                src: "nx".into(),
                dest: dest("/a/b", true, "a//b/")
            }
        );
        assert_eq!(p("/=nx").unwrap().dest, dest("/", true, "/"));
        // Only the first '=' separates; `\\=` puts a '=' in the image path.
        assert_eq!(p("/a=b=c").unwrap().src, PathBuf::from("b=c"));
        assert_eq!(p(r"/a\=b=nx").unwrap().dest.unwrap().path, "/a=b");
    }

    #[test]
    fn escaped_equals() {
        assert_eq!(
            p(r"a\=b").unwrap(),
            SourceSpec {
                src: "a=b".into(),
                dest: None
            }
        );
        assert_eq!(
            p(r"/x\=y=a").unwrap(),
            SourceSpec {
                src: "a".into(),
                dest: dest("/x=y", false, "/x=y")
            }
        );
    }

    #[test]
    fn literal_path_with_equals() {
        let dir = tempfile::tempdir().unwrap();
        let weird = dir.path().join("k=v");
        std::fs::write(&weird, b"").unwrap();
        let spec = parse_source(weird.as_os_str()).unwrap();
        assert_eq!(
            spec,
            SourceSpec {
                src: weird,
                dest: None
            }
        );
    }

    #[test]
    fn bad_graft_points() {
        assert!(p("=nx").is_err());
        assert!(p("/x=").is_err());
        assert!(p("/a/../b=nx").is_err());
        assert!(p("/./b=nx").is_err());
    }

    #[test]
    fn file_destinations() {
        let f = Path::new("dir/file.txt");
        assert_eq!(file_dest(f, None).unwrap(), "/file.txt");
        assert_eq!(
            file_dest(f, dest("/", true, "/").as_ref()).unwrap(),
            "/file.txt"
        );
        assert_eq!(
            file_dest(f, dest("/a", true, "/a/").as_ref()).unwrap(),
            "/a/file.txt"
        );
        assert_eq!(
            file_dest(f, dest("/a/x.txt", false, "/a/x.txt").as_ref()).unwrap(),
            "/a/x.txt"
        );
    }

    #[test]
    fn output_that_is_an_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::write(src.join("sub").join("f.txt"), b"keep").unwrap();
        let file = dir.path().join("single.txt");
        fs::write(&file, b"keep").unwrap();
        let specs = [
            SourceSpec {
                src: src.clone(),
                dest: None,
            },
            SourceSpec {
                src: file.clone(),
                dest: None,
            },
        ];
        // Outputs that do not exist yet destroy nothing, even inside the tree.
        assert!(check_output(&dir.path().join("out.iso"), &specs).is_ok());
        assert!(check_output(&src.join("new.iso"), &specs).is_ok());
        let msg = |out: &Path| match check_output(out, &specs) {
            Err(CliError::Failed(e)) => e.to_string(),
            other => panic!("{}: {other:?}", out.display()),
        };
        let m = msg(&file);
        assert!(
            m.contains("is the source") && m.contains("single.txt"),
            "{m}"
        );
        let m = msg(&src);
        assert!(
            m.contains("is the source") && m.ends_with("outside the sources"),
            "{m}"
        );
        let m = msg(&src.join("sub").join("f.txt"));
        assert!(m.contains("is inside the source directory"), "{m}");
        // Another spelling of the same path.
        let m = msg(&src.join("sub").join("..").join("sub").join("f.txt"));
        assert!(m.contains("is inside the source directory"), "{m}");
        #[cfg(unix)]
        {
            let link = dir.path().join("link.iso");
            std::os::unix::fs::symlink(src.join("sub").join("f.txt"), &link).unwrap();
            assert!(msg(&link).contains("is inside the source directory"));
        }
        // An unrelated existing directory is no place for an image.
        let other = dir.path().join("other");
        fs::create_dir(&other).unwrap();
        assert!(msg(&other).contains("is a directory"));
    }
}
