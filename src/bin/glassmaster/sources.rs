//! Build sources: `DIR` (its contents go to the image root), `FILE` (added as `/NAME`) and
//! graft points `/image/path=SRC` (the mkisofs `-graft-points` order).

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use glassmaster::ImageBuilder;

use crate::error::{CliError, CliResult, ResultExt};
use crate::progress_bar::BuildProgress;

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
            let mut msg = format!("cannot read source {}", src.display());
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
                .add_tree_with_progress(src, dest, progress)
                .context(|| format!("cannot add {}", src.display()))?;
        } else if md.is_file() {
            let dest = file_dest(src, spec.dest.as_ref())?;
            builder
                .add_file(&dest, src)
                .context(|| format!("cannot add {}", src.display()))?;
        } else {
            return Err(CliError::msg(format!(
                "source {} is not a regular file or directory",
                src.display()
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

/// A warning if `out` already exists inside a source directory (the old image would be put
/// into the new one).
pub fn output_inside_source(out: &Path, specs: &[SourceSpec]) -> Option<String> {
    let out_abs = out.canonicalize().ok()?;
    specs.iter().find_map(|spec| {
        let src = spec.src.canonicalize().ok().filter(|p| p.is_dir())?;
        out_abs.starts_with(&src).then(|| {
            format!(
                "the output {} already exists inside source {}: the old image is included in the new one",
                out.display(),
                spec.src.display()
            )
        })
    })
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
    fn output_inside_source_warns() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.iso");
        let specs = [SourceSpec {
            src: dir.path().to_path_buf(),
            dest: None,
        }];
        assert!(
            output_inside_source(&out, &specs).is_none(),
            "no warning while the output does not exist"
        );
        std::fs::write(&out, b"").unwrap();
        assert!(output_inside_source(&out, &specs).is_some());
    }
}
