//! Joliet names: UCS-2 big-endian identifiers (Joliet specification, Microsoft 1995).
//!
//! Characters `* / : ; ? \`, control characters and characters outside the BMP are not allowed
//! and become `_`. Names are at
//! most 64 UCS-2 units (103 with the long-names option); longer names are shortened keeping the
//! extension, and the caller reports each shortening.

use crate::codec::text::ucs2_be;
use crate::error::Result;
use crate::format::iso9660::names::resolve_with;

/// Joliet specification: identifiers of at most 64 characters.
pub(crate) const MAX_UNITS: usize = 64;
/// The common non-standard extension (genisoimage `-joliet-long`).
pub(crate) const MAX_UNITS_LONG: usize = 103;

fn clean(user: &str, utf16: bool) -> String {
    user.chars()
        .map(|c| {
            // Joliet is UCS-2: characters outside the Basic Multilingual Plane would need
            // UTF-16 surrogate pairs, which libcdio rejects; they become `_`, as in xorriso,
            // unless `utf16` asks for the pairs (mkisofs -joliet-utf16).
            if matches!(c, '*' | '/' | ':' | ';' | '?' | '\\')
                || (c as u32) < 0x20
                || (!utf16 && (c as u32) > 0xFFFF)
                || (crate::build::tree::RAW_BYTE_BASE..crate::build::tree::RAW_BYTE_BASE + 256)
                    .contains(&(c as u32))
            {
                '_'
            } else {
                c
            }
        })
        .collect()
}

fn units(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Cuts `s` to at most `max` UTF-16 units without splitting a surrogate pair.
fn cut(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut n = 0;
    for c in s.chars() {
        let l = c.len_utf16();
        if n + l > max {
            break;
        }
        n += l;
        out.push(c);
    }
    out
}

/// Splits off an extension of at most 16 units (the part after the last dot, not a leading one).
fn split_ext(s: &str) -> (&str, &str) {
    match s.rfind('.') {
        Some(p) if p > 0 && units(&s[p..]) <= 16 => (&s[..p], &s[p..]),
        _ => (s, ""),
    }
}

/// Fits `s` into `max` units, keeping the extension.
fn fit(s: &str, max: usize) -> String {
    if units(s) <= max {
        return s.to_string();
    }
    let (stem, ext) = split_ext(s);
    let room = max.saturating_sub(units(ext));
    let mut out = cut(stem, room);
    out.push_str(ext);
    cut(&out, max)
}

/// Joliet identifiers (UCS-2 BE bytes) and the names that differ from the user's.
pub(crate) type Named = (Vec<Vec<u8>>, Vec<Option<String>>);

/// Joliet identifiers (UCS-2 BE bytes) for one directory's entries, unique within it. Returns
/// the identifiers and, for each entry, the name it got when it differs from the user's.
/// `tick` is called once per entry and step (see [`crate::iso9660::names::unique_identifiers`]).
#[cfg(test)]
pub(crate) fn unique_identifiers(
    names: &[(&str, bool)],
    long: bool,
    tick: &mut dyn FnMut() -> Result<()>,
) -> Result<Named> {
    unique_identifiers_with(names, long, false, tick)
}

/// [`unique_identifiers`]; with `utf16`, characters outside the BMP are written as UTF-16
/// surrogate pairs instead of `_`.
pub(crate) fn unique_identifiers_with(
    names: &[(&str, bool)],
    long: bool,
    utf16: bool,
    tick: &mut dyn FnMut() -> Result<()>,
) -> Result<Named> {
    let max = if long { MAX_UNITS_LONG } else { MAX_UNITS };
    let mut bases = Vec::with_capacity(names.len());
    for (n, _) in names {
        tick()?;
        bases.push(fit(&clean(n, utf16), max));
    }
    let out = resolve_with(
        bases,
        names,
        |b, n| {
            let suffix = format!("~{n}");
            let (stem, ext) = split_ext(b);
            let room = max.saturating_sub(units(ext) + suffix.len());
            format!("{}{}{}", cut(stem, room), suffix, ext)
        },
        |s| s.clone(),
        tick,
    )?;
    let changed = out
        .iter()
        .zip(names)
        .map(|(o, (n, _))| (o != n).then(|| o.clone()))
        .collect();
    let mut ids = Vec::with_capacity(out.len());
    for s in &out {
        tick()?;
        ids.push(ucs2_be(s));
    }
    Ok((ids, changed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::text::decode_ucs2_be;
    #[test]
    fn names() {
        let (ids, changed) = unique_identifiers(
            &[("héllo wörld.txt", false), ("a:b", false)],
            false,
            &mut || Ok(()),
        )
        .unwrap();
        assert_eq!(decode_ucs2_be(&ids[0]), "héllo wörld.txt");
        assert_eq!(decode_ucs2_be(&ids[1]), "a_b");
        assert_eq!(changed, vec![None, Some("a_b".to_string())]);
    }
    #[test]
    fn shortening_keeps_extension_and_is_unique() {
        let a = format!("{}1.jpeg", "x".repeat(80));
        let b = format!("{}2.jpeg", "x".repeat(80));
        let (ids, changed) =
            unique_identifiers(&[(&a, false), (&b, false)], false, &mut || Ok(())).unwrap();
        let a2 = decode_ucs2_be(&ids[0]);
        let b2 = decode_ucs2_be(&ids[1]);
        assert!(a2.ends_with(".jpeg") && b2.ends_with(".jpeg"));
        assert!(a2.encode_utf16().count() <= 64 && b2.encode_utf16().count() <= 64);
        assert_ne!(a2, b2);
        assert!(changed.iter().all(Option::is_some));
        let (ids, _) = unique_identifiers(&[(&a, false)], true, &mut || Ok(())).unwrap();
        assert_eq!(decode_ucs2_be(&ids[0]).encode_utf16().count(), 86);
    }
    #[test]
    fn non_bmp_characters_become_underscores() {
        let s = "😀".repeat(40);
        let (ids, changed) = unique_identifiers(&[(&s, false)], false, &mut || Ok(())).unwrap();
        assert_eq!(decode_ucs2_be(&ids[0]), "_".repeat(40));
        assert!(changed[0].is_some());
        assert!(
            ids[0].chunks(2).all(|c| !(0xD8..=0xDF).contains(&c[0])),
            "no surrogates"
        );
    }
}
