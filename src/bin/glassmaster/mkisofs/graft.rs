//! Pathspecs of the mkisofs personality: `DISK_PATH`, or with `-graft-points`
//! `ISO_PATH=DISK_PATH` (split at the first `=` not written `\=`; `\\` is a `\` of the image
//! path), and `-path-list FILE` (one pathspec a line, `-` for standard input).

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::path::PathBuf;

/// One pathspec, interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graft {
    /// The image path ("/" or "/a/b"): where a directory's contents go, or the file's path.
    /// `None`: the image root for a directory, `/LEAF` for a file.
    pub dest: Option<String>,
    /// The disk path.
    pub src: PathBuf,
}

/// Parses one pathspec. Without `graft_points` the whole argument is the disk path.
pub fn parse(spec: &OsStr, graft_points: bool) -> Result<Graft, String> {
    if !graft_points {
        return Ok(Graft {
            dest: None,
            src: PathBuf::from(spec),
        });
    }
    let bytes = spec.as_encoded_bytes();
    let mut target = Vec::new();
    let mut split = None;
    let mut k = 0;
    while k < bytes.len() {
        match bytes[k] {
            b'\\' if matches!(bytes.get(k + 1), Some(b'=') | Some(b'\\')) => {
                target.push(bytes[k + 1]);
                k += 2;
            }
            b'=' => {
                split = Some(k);
                break;
            }
            b => {
                target.push(b);
                k += 1;
            }
        }
    }
    let Some(at) = split else {
        // No `=`: a plain disk path (its escapes undone).
        return Ok(Graft {
            dest: None,
            src: PathBuf::from(os_from_bytes(target)?),
        });
    };
    let src = bytes.get(at + 1..).unwrap_or_default();
    if src.is_empty() {
        return Err(format!(
            "pathspec {:?} has no disk path after '='",
            spec.to_string_lossy()
        ));
    }
    let target = String::from_utf8(target).map_err(|_| {
        format!(
            "pathspec {:?}: the image path is not UTF-8",
            spec.to_string_lossy()
        )
    })?;
    let mut comps = Vec::new();
    for c in target.split('/').filter(|c| !c.is_empty() && *c != ".") {
        if c == ".." {
            return Err(format!("pathspec {target:?}: the image path contains '..'"));
        }
        comps.push(c);
    }
    Ok(Graft {
        dest: Some(format!("/{}", comps.join("/"))),
        src: PathBuf::from(os_from_bytes(src.to_vec())?),
    })
}

#[cfg(unix)]
fn os_from_bytes(b: Vec<u8>) -> Result<OsString, String> {
    use std::os::unix::ffi::OsStringExt;
    Ok(OsString::from_vec(b))
}

#[cfg(not(unix))]
fn os_from_bytes(b: Vec<u8>) -> Result<OsString, String> {
    String::from_utf8(b)
        .map(OsString::from)
        .map_err(|_| "a pathspec is not UTF-8".to_string())
}

/// The pathspecs of a `-path-list` file: one a line, empty lines skipped (`-`: standard
/// input).
pub fn read_path_list(file: &OsStr) -> Result<Vec<OsString>, String> {
    let mut data = Vec::new();
    let what = file.to_string_lossy();
    let res = if file == "-" {
        std::io::stdin().lock().read_to_end(&mut data)
    } else {
        std::fs::File::open(file).and_then(|mut f| f.read_to_end(&mut data))
    };
    res.map_err(|e| format!("-path-list {what}: {e}"))?;
    let mut out = Vec::new();
    for line in data.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.is_empty() {
            out.push(os_from_bytes(line.to_vec())?);
        }
    }
    Ok(out)
}

/// The lines of a list file (`-exclude-list`, `-hide-list`...), empty lines skipped.
pub fn read_lines(option: &str, file: &OsStr) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("{option} {}: {e}", file.to_string_lossy()))?;
    Ok(text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> Graft {
        parse(OsStr::new(s), true).unwrap()
    }

    #[test]
    fn graft_points_and_escapes() {
        assert_eq!(g("/a/b=x").dest.as_deref(), Some("/a/b"));
        assert_eq!(g("/a/b=x").src, PathBuf::from("x"));
        assert_eq!(g("a\\=b=x=y").dest.as_deref(), Some("/a=b"));
        assert_eq!(g("a\\=b=x=y").src, PathBuf::from("x=y"));
        assert_eq!(g("a\\\\b=x").dest.as_deref(), Some("/a\\b"));
        assert_eq!(g("/=dir").dest.as_deref(), Some("/"));
        assert_eq!(g("plain").dest, None);
        assert_eq!(
            parse(OsStr::new("a=b"), false).unwrap().src,
            PathBuf::from("a=b")
        );
        assert!(parse(OsStr::new("a="), true).is_err());
        assert!(parse(OsStr::new("/../x=y"), true).is_err());
    }
}
