//! Typed warnings: what a build or a read did that the caller may want to know about (a name
//! changed, an entry left out of a view, a damaged structure worked around). Each has a kind to
//! match on, the image path it concerns (when there is one), and the text the command-line tool
//! prints ([`Display`](std::fmt::Display)).

use std::fmt;

/// What a [`Warning`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WarningKind {
    /// An ISO 9660 identifier (levels 1-3) is more than the name given upper-cased: it was
    /// shortened or had characters replaced (ECMA-119 7.5.1), or a suffix made it unique.
    /// Reported without Rock Ridge only, since Rock Ridge records the name itself.
    IsoNameChanged,
    /// An ISO 9660:1999 identifier differs from the name given (characters replaced, shortened
    /// to 207 bytes, or a suffix made it unique).
    Iso1999NameChanged,
    /// A Joliet name differs from the name given (characters replaced, shortened to 64 or 103
    /// units, or a suffix made it unique).
    JolietNameChanged,
    /// A UDF name differs from the name given (OSTA UDF 2.60 4.2.2.1: shortened, or
    /// characters replaced).
    UdfNameChanged,
    /// A symbolic link is left out of the views that cannot record it (ISO 9660 without Rock
    /// Ridge, Joliet, or UDF when asked).
    LinkLeftOut,
    /// A device node, FIFO or socket is left out of the views that cannot record it (ISO 9660
    /// without Rock Ridge, Joliet, or UDF when asked).
    SpecialLeftOut,
    /// A symbolic link's target does not fit a UDF file entry: the link is left out of UDF.
    UdfLinkLeftOut,
    /// A Joliet path is longer than Joliet allows: the entry (and everything below it) is left
    /// out of the Joliet tree.
    JolietPathTooLong,
    /// A file needs more UDF allocation descriptors than its file entry holds: they continue in
    /// allocation extent descriptors, which some readers do not follow.
    UdfExtentChain,
    /// A name is not valid UTF-8: the views that need text read it as Latin-1.
    NotUtf8Name,
    /// A scanned entry that could not be opened or listed was left out (`skip_unreadable`).
    UnreadableSkipped,
    /// A symbolic link whose target does not exist was left out (`follow_links`).
    DanglingLinkSkipped,
    /// A symbolic link loop was left out (`follow_links`).
    LinkLoopSkipped,
    /// A followed symbolic link points outside the source tree, or its target could not be
    /// resolved to check (`follow_links`).
    LinkOutsideTree,
    /// A scanned entry that is not a regular file, directory or symbolic link was left out
    /// (`skip_special`).
    SpecialSkipped,
    /// Appending a session leaves out (or cannot keep) a file system of the base or the
    /// options (UDF).
    AppendLeavesOut,
    /// An entry of an imported base image could not be imported and was skipped.
    ImportSkipped,
    /// Reading: a damaged directory record or file entry was left out of a listing.
    DamageLeftOut,
    /// Reading: a damaged or inconsistent structure was worked around (a reserve or mirror
    /// copy used, a mismatch accepted).
    DamageRecovered,
    /// Reading: the UDF file system is unreadable and left out (the other views are read).
    UdfUnreadable,
}

/// A warning of a build ([`ImageBuilder::warnings`](crate::ImageBuilder::warnings),
/// [`Image::warnings`](crate::Image::warnings)) or of a read
/// ([`ImageReader::warnings`](crate::read::ImageReader::warnings)).
///
/// [`Display`](fmt::Display) (and [`message`](Self::message)) is the text the command-line
/// tool prints. A `Warning` also dereferences to that text, so code that matched the former
/// `String` warnings by text (`w.contains(..)`) keeps working; match on
/// [`kind`](Self::kind) and [`path`](Self::path) instead where you can.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Warning {
    kind: WarningKind,
    path: Option<String>,
    text: String,
}

impl Warning {
    /// A warning of `kind` about image path `path` (as shown: exact bytes escaped), whose
    /// message is `text` (for tools that report their own warnings beside the library's).
    pub fn new(kind: WarningKind, path: Option<String>, text: String) -> Warning {
        Warning { kind, path, text }
    }

    /// A warning about `path` whose message is `"{path}: {detail}"`.
    pub(crate) fn at(kind: WarningKind, path: String, detail: impl fmt::Display) -> Warning {
        let text = format!("{path}: {detail}");
        Warning::new(kind, Some(path), text)
    }

    /// A warning about no one path.
    pub(crate) fn general(kind: WarningKind, text: String) -> Warning {
        Warning::new(kind, None, text)
    }

    /// What it is about.
    pub fn kind(&self) -> WarningKind {
        self.kind
    }

    /// The image path it concerns (escaped as in the message: bytes that are not UTF-8 or not
    /// printable as `\xNN`), if it concerns one. For a scanned entry, its path in the image
    /// (the message also names its source on disk).
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// The message without the leading path, when it starts with `"{path}: "` (or
    /// `"{path} (source ...): "`); the whole message otherwise.
    pub fn detail(&self) -> &str {
        let Some(p) = self.path.as_deref() else {
            return &self.text;
        };
        let Some(rest) = self.text.strip_prefix(p) else {
            return &self.text;
        };
        if let Some(d) = rest.strip_prefix(": ") {
            return d;
        }
        // A scanned entry: "/img/path (source src/path): detail".
        if rest.starts_with(" (source ") {
            if let Some(i) = rest.find("): ") {
                return &rest[i + 3..];
            }
        }
        &self.text
    }

    /// The whole message, as [`Display`](fmt::Display) prints it.
    pub fn message(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::ops::Deref for Warning {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl AsRef<str> for Warning {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl PartialEq<str> for Warning {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for Warning {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl PartialEq<String> for Warning {
    fn eq(&self, other: &String) -> bool {
        &self.text == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_strips_the_path() {
        let w = Warning::at(WarningKind::LinkLeftOut, "/a/b".into(), "left out");
        assert_eq!(w.to_string(), "/a/b: left out");
        assert_eq!(w.detail(), "left out");
        assert_eq!(w.path(), Some("/a/b"));
        let s = Warning::new(
            WarningKind::DanglingLinkSkipped,
            Some("/l".into()),
            "/l (source src/l): dangling symbolic link skipped".into(),
        );
        assert_eq!(s.detail(), "dangling symbolic link skipped");
        let n = Warning::new(
            WarningKind::IsoNameChanged,
            Some("/x".into()),
            "ISO 9660 name of /x shortened or changed to \"X\"".into(),
        );
        assert_eq!(n.detail(), n.message());
        let g = Warning::general(WarningKind::AppendLeavesOut, "UDF is not appended".into());
        assert_eq!((g.path(), g.detail()), (None, "UDF is not appended"));
    }
}
