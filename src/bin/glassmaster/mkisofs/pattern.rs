//! Shell patterns of `-m`, `-hide` and `-hide-joliet`, with xorriso's meaning: a pattern
//! without `/` is matched against the leaf name of each disk file, one with `/` against the
//! whole disk path (a relative pattern taken from the working directory). `*` and `?` do not
//! match `/`; `[...]` is a set (`!` or `^` negates it, `a-z` ranges); `\` quotes the next
//! character.

use std::path::{Component, Path, PathBuf};

/// One pattern, ready to match.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// Bytes to match: the leaf pattern, or the absolute path pattern.
    pat: Vec<u8>,
    whole_path: bool,
}

impl Pattern {
    /// `cwd` makes a relative path pattern absolute.
    pub fn new(raw: &str, cwd: &Path) -> Pattern {
        let whole_path = raw.contains('/');
        let pat = if whole_path && !raw.starts_with('/') {
            let mut s = cwd.as_os_str().as_encoded_bytes().to_vec();
            if !s.ends_with(b"/") {
                s.push(b'/');
            }
            s.extend_from_slice(raw.as_bytes());
            s
        } else {
            raw.as_bytes().to_vec()
        };
        Pattern {
            pat: normalize_bytes(&pat),
            whole_path,
        }
    }

    /// Whether `abs` (an absolute, normalised disk path) matches.
    pub fn matches(&self, abs: &Path) -> bool {
        if self.whole_path {
            glob(&self.pat, abs.as_os_str().as_encoded_bytes())
        } else {
            abs.file_name()
                .is_some_and(|n| glob(&self.pat, n.as_encoded_bytes()))
        }
    }
}

/// `a//b/./c/` -> `a/b/c` (no `..` resolution: patterns are matched lexically).
fn normalize_bytes(p: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(p.len());
    for comp in p.split(|&b| b == b'/') {
        if comp.is_empty() || comp == b"." {
            continue;
        }
        out.push(b'/');
        out.extend_from_slice(comp);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    if !p.starts_with(b"/") {
        out.remove(0);
    }
    out
}

/// The absolute, lexically normalised form of `p` (`cwd` joined to a relative path; `.`
/// components dropped, `..` removing the one before).
pub fn absolute(p: &Path, cwd: &Path) -> PathBuf {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    };
    let mut out = PathBuf::from("/");
    for c in joined.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// Shell-pattern match of the whole of `s`; `*` and `?` never match `/`.
pub fn glob(pat: &[u8], s: &[u8]) -> bool {
    // Iterative matcher with one backtracking point per `*` (the last one seen).
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        let c = s[i];
        let step = match pat.get(p) {
            Some(b'*') => {
                star = Some((p, i));
                p += 1;
                continue;
            }
            Some(b'?') if c != b'/' => Some(p + 1),
            Some(b'[') => match set(pat, p, c) {
                Some((true, next)) if c != b'/' => Some(next),
                Some(_) => None,
                // An unclosed `[` is a literal character.
                None if c == b'[' => Some(p + 1),
                None => None,
            },
            Some(b'\\') if pat.get(p + 1) == Some(&c) => Some(p + 2),
            Some(&q) if q == c && q != b'\\' => Some(p + 1),
            _ => None,
        };
        match step {
            Some(np) => {
                p = np;
                i += 1;
            }
            None => match star {
                // `*` takes one more character, unless that is a `/`.
                Some((sp, si)) if s.get(si) != Some(&b'/') => {
                    star = Some((sp, si + 1));
                    p = sp + 1;
                    i = si + 1;
                }
                _ => return false,
            },
        }
    }
    pat[p.min(pat.len())..].iter().all(|&b| b == b'*')
}

/// Matches `c` against the set starting at `pat[at] == b'['`: (matched, index after `]`), or
/// `None` if the set is not closed.
fn set(pat: &[u8], at: usize, c: u8) -> Option<(bool, usize)> {
    let mut k = at + 1;
    let negate = matches!(pat.get(k), Some(b'!') | Some(b'^'));
    if negate {
        k += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let &b = pat.get(k)?;
        if b == b']' && !first {
            return Some((hit != negate, k + 1));
        }
        first = false;
        if pat.get(k + 1) == Some(&b'-') && pat.get(k + 2).is_some_and(|&e| e != b']') {
            let e = pat.get(k + 2).copied().unwrap_or(b);
            hit |= (b..=e).contains(&c);
            k += 3;
        } else {
            hit |= b == c;
            k += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globbing() {
        assert!(glob(b"*.c", b"b.c"));
        assert!(!glob(b"*.c", b"b.cc"));
        assert!(glob(b"s?b", b"sub"));
        assert!(!glob(b"/a/*.c", b"/a/b/c.c"));
        assert!(glob(b"/a/*/c.c", b"/a/b/c.c"));
        assert!(glob(b"[a-c]x", b"bx"));
        assert!(!glob(b"[!a-c]x", b"bx"));
        assert!(glob(b"a\\*", b"a*"));
        assert!(!glob(b"a\\*", b"ab"));
        assert!(glob(b"*", b""));
        assert!(glob(b"a[", b"a["));
    }

    #[test]
    fn leaf_and_path_patterns() {
        let cwd = Path::new("/w");
        let p = Pattern::new("*.c", cwd);
        assert!(p.matches(Path::new("/w/src/sub/b.c")));
        let p = Pattern::new("src/sub", cwd);
        assert!(p.matches(Path::new("/w/src/sub")));
        assert!(!p.matches(Path::new("/w/src/sub/b.c")));
        let p = Pattern::new("deep/z.c", cwd);
        assert!(!p.matches(Path::new("/w/src/deep/z.c")));
        assert_eq!(
            absolute(Path::new("./a/../b/c"), cwd),
            PathBuf::from("/w/b/c")
        );
    }
}
