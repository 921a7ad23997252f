//! What the CLI prints about a build: warnings (each once, escaped, listed or summed up by
//! kind with `-q`), and text that is safe to send to a terminal.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt::Write as _;

use crate::progress_bar::Bar;
use glassmaster::{Warning, WarningKind};

/// `s` made safe for a terminal: control characters (a file named `\x1b[2J` would clear the
/// screen) and the bidirectional-text controls (which reorder what is shown) are written as
/// `\u{..}` escapes, `\n`, `\t`...; the characters U+F700..U+F7FF, which the library uses for
/// the bytes of a name that are not UTF-8, are written as `\xNN`. A backslash is left alone.
pub fn terminal_safe(s: &str) -> String {
    if !s.chars().any(needs_escape) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c as u32 {
            0xF700..=0xF7FF => {
                let _ = write!(out, "\\x{:02x}", c as u32 - 0xF700);
            }
            _ if needs_escape(c) => out.extend(c.escape_debug()),
            _ => out.push(c),
        }
    }
    out
}

/// A path or name from the operating system, safe for a terminal: bytes that are not UTF-8 as
/// `\xNN`, then [`terminal_safe`].
pub fn os_safe(s: &OsStr) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        bytes_safe(s.as_bytes())
    }
    #[cfg(not(unix))]
    {
        terminal_safe(&s.to_string_lossy())
    }
}

/// A name's bytes (a Rock Ridge name need not be UTF-8), safe for a terminal: bytes that are
/// not UTF-8 as `\xNN`, then [`terminal_safe`].
pub fn bytes_safe(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        out.push_str(&terminal_safe(chunk.valid()));
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c as u32, 0x200E | 0x200F | 0x202A..=0x202E | 0x2066..=0x2069 | 0xF700..=0xF7FF)
}

/// The group of a library warning, for the `-q` summary ("1,281 Joliet names shortened or
/// changed"), from its kind.
pub fn warning_kind(w: &Warning) -> &'static str {
    match w.kind() {
        WarningKind::JolietNameChanged => "Joliet names shortened or changed",
        WarningKind::IsoNameChanged => "ISO 9660 names shortened or changed",
        WarningKind::Iso1999NameChanged => "ISO 9660:1999 names shortened or changed",
        WarningKind::UdfNameChanged => "UDF names shortened or changed",
        WarningKind::NotUtf8Name => "names not valid UTF-8 mapped",
        WarningKind::DanglingLinkSkipped => "dangling symbolic links skipped",
        WarningKind::LinkOutsideTree => "symbolic links followed outside the source tree",
        WarningKind::LinkLeftOut | WarningKind::UdfLinkLeftOut => {
            "symbolic links left out of a file system"
        }
        WarningKind::UnreadableSkipped => "unreadable entries skipped",
        WarningKind::SpecialSkipped => "special files skipped",
        WarningKind::JolietPathTooLong => "entries left out of Joliet",
        WarningKind::SpecialLeftOut => "special files left out of a file system",
        WarningKind::UdfExtentChain => "files with UDF allocation extent descriptors",
        _ => "other warnings",
    }
}

/// The group of one of the command's own warnings (not the library's), from its wording.
fn command_warning_kind(w: &str) -> &'static str {
    if w.starts_with("volume name") {
        "volume names changed"
    } else {
        "other warnings"
    }
}

/// "1281" -> "1,281".
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count with its noun, singular for one: `counted(1, "file", "files")` is "1 file",
/// `counted(1281, ...)` is "1,281 files".
pub fn counted(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n: u64 = n.into();
    let noun = if n == 1 { one } else { many };
    format!(
        "{} {noun}",
        thousands(usize::try_from(n).unwrap_or(usize::MAX))
    )
}

/// How many warnings of one kind are listed without `--warnings`; the rest are counted.
pub const LISTED_PER_KIND: usize = 10;

/// Prints the warnings of a build: each once, escaped. Without `--warnings`, the first
/// [`LISTED_PER_KIND`] of each kind are listed and the rest counted (a tree of thousands of
/// shortened names or links must not flood the terminal); with `-q` every one is counted.
/// [`summary`](Self::summary) then prints one line with the counts.
pub struct Warnings {
    /// Listed per kind at most (`usize::MAX` with `--warnings`, 0 with `-q`).
    per_kind: usize,
    /// Listed so far, per kind.
    listed: BTreeMap<&'static str, usize>,
    /// Some of each kind were listed (the summary then says "more").
    listed_some: bool,
    /// The builder's warnings printed so far: the image's warnings start with them (the layout
    /// copies the builder's list, then adds its own), so they are not printed twice.
    from_builder: Vec<Warning>,
    counts: BTreeMap<&'static str, usize>,
}

impl Warnings {
    /// `quiet`: count instead of listing, unless `list_all` (`--warnings`).
    pub fn new(quiet: bool, list_all: bool) -> Self {
        let per_kind = match (list_all, quiet) {
            (true, _) => usize::MAX,
            (false, true) => 0,
            (false, false) => LISTED_PER_KIND,
        };
        Warnings {
            per_kind,
            listed: BTreeMap::new(),
            listed_some: per_kind > 0,
            from_builder: Vec::new(),
            counts: BTreeMap::new(),
        }
    }

    /// One warning of the command itself (not from the builder or the image).
    pub fn one(&mut self, bar: &Bar, w: &str) {
        self.emit(bar, command_warning_kind(w), w);
    }

    /// One warning of the library, printed with its [`Display`](std::fmt::Display) text
    /// after `prefix` (a spanned volume's label and ": ", or nothing).
    pub fn library(&mut self, bar: &Bar, prefix: &str, w: &Warning) {
        self.emit(bar, warning_kind(w), &format!("{prefix}{w}"));
    }

    fn emit(&mut self, bar: &Bar, kind: &'static str, w: &str) {
        let listed = self.listed.entry(kind).or_default();
        if *listed < self.per_kind {
            *listed += 1;
            bar.eprintln(&format!("glassmaster: warning: {}", terminal_safe(w)));
        } else {
            *self.counts.entry(kind).or_default() += 1;
        }
    }

    /// The builder's warnings (scanning), printed before the layout.
    pub fn builder(&mut self, bar: &Bar, ws: &[Warning]) {
        let new = ws
            .get(self.from_builder.len()..)
            .unwrap_or_default()
            .to_vec();
        for w in &new {
            self.library(bar, "", w);
        }
        self.from_builder.extend(new);
    }

    /// The image's warnings: those the builder's list already held are skipped.
    pub fn image(&mut self, bar: &Bar, ws: &[Warning]) {
        let skip = if ws.starts_with(&self.from_builder) {
            self.from_builder.len()
        } else {
            0
        };
        for w in ws.get(skip..).unwrap_or_default() {
            self.library(bar, "", w);
        }
    }

    /// One line counting the warnings not listed, by kind (nothing if every one was listed).
    pub fn summary(&self, bar: &Bar) {
        if let Some(line) = self.summary_line() {
            bar.eprintln(&line);
        }
    }

    fn summary_line(&self) -> Option<String> {
        if self.counts.is_empty() {
            return None;
        }
        let mut kinds: Vec<(&str, usize)> = self.counts.iter().map(|(k, n)| (*k, *n)).collect();
        // The most frequent first; "other warnings" last.
        kinds.sort_by_key(|(k, n)| (*k == "other warnings", std::cmp::Reverse(*n)));
        let parts: Vec<String> = kinds
            .iter()
            .map(|(k, n)| {
                let k = if *n == 1 {
                    singular(k)
                } else {
                    (*k).to_string()
                };
                let more = if self.listed_some { " more" } else { "" };
                format!("{}{more} {k}", thousands(*n))
            })
            .collect();
        Some(format!(
            "glassmaster: {}{}; --warnings to list them",
            if self.listed_some { "and " } else { "" },
            parts.join(", ")
        ))
    }
}

/// A kind of [`warning_kind`] for one warning: "Joliet name shortened or changed".
fn singular(kind: &str) -> String {
    // The first plural word of each kind, made singular.
    for (plural, single) in [
        ("names", "name"),
        ("links", "link"),
        ("files", "file"),
        ("entries", "entry"),
        ("warnings", "warning"),
    ] {
        if let Some(at) = kind.split(' ').position(|w| w == plural) {
            let mut words: Vec<&str> = kind.split(' ').collect();
            if let Some(w) = words.get_mut(at) {
                *w = single;
            }
            return words.join(" ");
        }
    }
    kind.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_would_obey() {
        assert_eq!(terminal_safe("/a/b é 名"), "/a/b é 名");
        assert_eq!(terminal_safe("/x\u{1b}[2Jy\n"), "/x\\u{1b}[2Jy\\n");
        assert_eq!(terminal_safe("a\u{202e}b"), "a\\u{202e}b");
        assert_eq!(terminal_safe("bad\u{f7ff}\u{f780}"), "bad\\xff\\x80");
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            assert_eq!(
                os_safe(OsStr::from_bytes(b"caf\xe9\x1b[2J.txt")),
                "caf\\xe9\\u{1b}[2J.txt"
            );
        }
    }

    #[test]
    fn counts_are_singular_for_one() {
        assert_eq!(counted(0u64, "file", "files"), "0 files");
        assert_eq!(counted(1u64, "file", "files"), "1 file");
        assert_eq!(counted(1281u64, "entry", "entries"), "1,281 entries");
    }

    #[test]
    fn kinds_and_summary() {
        let joliet = |i: usize| {
            Warning::new(
                WarningKind::JolietNameChanged,
                Some(format!("/{i}")),
                format!("Joliet name of /{i} shortened or changed to \"x\""),
            )
        };
        let new = Warning::new(WarningKind::ImportSkipped, None, "something new".into());
        assert_eq!(
            warning_kind(&joliet(0)),
            "Joliet names shortened or changed"
        );
        let link = Warning::new(
            WarningKind::LinkLeftOut,
            Some("/l".into()),
            "/l: symbolic link (to x) left out of ISO 9660 and Joliet, which cannot record it; recorded in Rock Ridge".into(),
        );
        assert_eq!(
            warning_kind(&link),
            "symbolic links left out of a file system"
        );
        assert_eq!(warning_kind(&new), "other warnings");
        assert_eq!(command_warning_kind("something new"), "other warnings");
        assert_eq!(
            command_warning_kind("volume name \"a\" changed"),
            "volume names changed"
        );
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1281), "1,281");
        assert_eq!(thousands(1_234_567), "1,234,567");
        let bar = Bar::hidden();
        let mut w = Warnings::new(true, false);
        let many: Vec<Warning> = (0..1281).map(joliet).collect();
        w.builder(&bar, std::slice::from_ref(&new));
        let mut all = vec![new.clone()];
        all.extend(many);
        w.image(&bar, &all);
        assert_eq!(
            w.summary_line().unwrap(),
            "glassmaster: 1,281 Joliet names shortened or changed, 1 other warning; --warnings to list them"
        );
        assert_eq!(
            singular("entries left out of Joliet"),
            "entry left out of Joliet"
        );
        assert_eq!(
            singular("symbolic links left out of a file system"),
            "symbolic link left out of a file system"
        );
        assert!(Warnings::new(false, false).summary_line().is_none());
        // Without -q: the first ten of a kind are listed, the rest counted.
        let mut w = Warnings::new(false, false);
        let links: Vec<Warning> = (0..86)
            .map(|i| Warning::new(WarningKind::LinkLeftOut, Some(format!("/l{i}")), format!("/l{i}: symbolic link (to x) left out of Joliet, which cannot record it; recorded in Rock Ridge")))
            .collect();
        w.image(&bar, &links);
        assert_eq!(
            w.summary_line().unwrap(),
            "glassmaster: and 76 more symbolic links left out of a file system; --warnings to list them"
        );
        let mut w = Warnings::new(false, true);
        w.image(&bar, &links);
        assert!(w.summary_line().is_none());
    }
}
