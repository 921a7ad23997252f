//! ISO 9660 identifiers: mangling of user names per interchange level (ECMA-119 7.5, 7.6,
//! 10.1-10.3), uniqueness within a directory, and the sort order of ECMA-119 9.3.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use super::IsoLevel;
use crate::codec::text::to_d_chars;
use crate::error::Result;

/// ECMA-119 (2nd ed., ISO 9660:1999) 9.1.10: identifiers of up to 207 bytes.
pub(crate) const MAX_1999_IDENT: usize = 207;

/// A candidate identifier split into the parts that mangling works on.
#[derive(Debug, Clone)]
pub(crate) struct IsoName {
    pub name: String,
    /// Extension (files only; may be empty).
    pub ext: String,
    pub is_dir: bool,
}

fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((end, _)) => s[..end].to_string(),
        None => s.to_string(),
    }
}

/// Cuts `s` to at most `max` characters in place.
fn truncate_in_place(s: &mut String, max: usize) {
    if let Some((end, _)) = s.char_indices().nth(max) {
        s.truncate(end);
    }
}

/// Limits (name, extension, name+extension) for a level; directories use `name` only.
fn limits(level: IsoLevel, is_dir: bool) -> (usize, usize, usize) {
    match (level, is_dir) {
        // ECMA-119 10.1: 8.3 file names, 8-character directory names.
        (IsoLevel::Level1, false) => (8, 3, 11),
        (IsoLevel::Level1, true) => (8, 0, 8),
        // ECMA-119 7.6.3: directory identifiers of at most 31 characters.
        (_, true) => (31, 0, 31),
        // ECMA-119 7.5.1: file name + extension at most 30 characters.
        (_, false) => (30, 30, 30),
    }
}

/// The base ISO 9660 name (before uniqueness) for a user name at levels 1-3.
pub(crate) fn base_name(user: &str, is_dir: bool, level: IsoLevel) -> IsoName {
    let (nmax, emax, total) = limits(level, is_dir);
    if is_dir {
        let mut name = truncate_chars(&to_d_chars(user), nmax);
        if name.is_empty() {
            name.push('_');
        }
        return IsoName {
            name,
            ext: String::new(),
            is_dir,
        };
    }
    // The extension is what follows the last dot, unless that dot starts the name.
    let (stem, ext) = match user.rfind('.') {
        Some(p) if p > 0 => (&user[..p], &user[p + 1..]),
        _ => (user, ""),
    };
    let mut name = to_d_chars(stem);
    let mut ext = to_d_chars(ext);
    truncate_in_place(&mut ext, emax);
    if name.chars().count() + ext.chars().count() > total {
        // Keep a short extension and give the rest to the name.
        truncate_in_place(&mut ext, emax.min(10));
        truncate_in_place(&mut name, total - ext.chars().count());
    }
    truncate_in_place(&mut name, nmax);
    if name.is_empty() && ext.is_empty() {
        name.push('_');
    }
    IsoName { name, ext, is_dir }
}

impl IsoName {
    /// The uniqueness key: what a reader shows after removing the version and a trailing dot.
    pub fn key(&self) -> String {
        let mut k = String::with_capacity(self.name.len() + 1 + self.ext.len());
        k.push_str(&self.name);
        if !self.ext.is_empty() {
            k.push('.');
            k.push_str(&self.ext);
        }
        k
    }
    /// The on-disk identifier: `NAME.EXT;1` for files (ECMA-119 7.5.1, the dot always present),
    /// `NAME` for directories.
    pub fn identifier(&self) -> Vec<u8> {
        if self.is_dir {
            self.name.clone().into_bytes()
        } else {
            let mut id = Vec::with_capacity(self.name.len() + self.ext.len() + 3);
            id.extend_from_slice(self.name.as_bytes());
            id.push(b'.');
            id.extend_from_slice(self.ext.as_bytes());
            id.extend_from_slice(b";1");
            id
        }
    }
    /// This name with a numeric suffix `_N` replacing the end of the name part, within limits.
    fn with_suffix(&self, n: u64, level: IsoLevel) -> IsoName {
        let (nmax, _, total) = limits(level, self.is_dir);
        let suffix = format!("_{n}");
        // The suffix must fit beside the extension: shorten a long extension if needed, so
        // name + extension stays within `total` (ECMA-119 7.5.1).
        let ext = truncate_chars(&self.ext, total.saturating_sub(suffix.len()));
        let room = nmax
            .min(total - ext.chars().count())
            .saturating_sub(suffix.len());
        let mut name = truncate_chars(&self.name, room);
        name.push_str(&suffix);
        IsoName {
            name,
            ext,
            is_dir: self.is_dir,
        }
    }
}

/// Whether the level 1-3 identifier `id` of the user name `name` is more than the name
/// upper-cased: a file's identifier loses its version (`;1`, ECMA-119 7.5.1) and a separator
/// `.` the name did not have (a file identifier always holds one) before the comparison.
pub(crate) fn iso_name_changed(name: &str, is_dir: bool, id: &[u8]) -> bool {
    let mut id = id;
    if !is_dir {
        if let Some(stripped) = id.strip_suffix(b";1") {
            id = stripped;
        }
        if !name.contains('.') {
            if let Some(stripped) = id.strip_suffix(b".") {
                id = stripped;
            }
        }
    }
    id != name.to_ascii_uppercase().as_bytes()
}

/// ISO 9660:1999 identifier: the user name kept as given (UTF-8), with `;` and control
/// characters that readers would misparse replaced by `_`, cut to 207 bytes.
pub(crate) fn name_1999(user: &str) -> String {
    let mut s: String = user
        .chars()
        .map(|c| {
            if c == ';' || (c as u32) < 0x20 {
                '_'
            } else {
                c
            }
        })
        .collect();
    while s.len() > MAX_1999_IDENT {
        s.pop();
    }
    s
}

/// Assigns unique identifiers to the entries of one directory. `names[i]` is
/// `(user name, is_dir)`; the result is the identifier bytes for each, in the same order.
/// Deterministic and stable: an entry whose base name is unique keeps it; colliding entries are
/// ordered by user name, the first keeps the base, the others get the smallest free `_N`.
/// `tick` is called once per entry and step (a large directory's naming polls for an abort
/// through it); its error stops the naming.
pub(crate) fn unique_identifiers(
    names: &[(&str, bool)],
    level: IsoLevel,
    tick: &mut dyn FnMut() -> Result<()>,
) -> Result<Vec<Vec<u8>>> {
    if level == IsoLevel::Iso1999 {
        let mut bases = Vec::with_capacity(names.len());
        for (n, _) in names {
            tick()?;
            bases.push(name_1999(n));
        }
        return Ok(resolve_with(
            bases,
            names,
            |b, n| {
                let suffix = format!("_{n}");
                let mut s = b.clone();
                while s.len() + suffix.len() > MAX_1999_IDENT {
                    s.pop();
                }
                s + &suffix
            },
            // ISO 9660:1999 identifiers are byte strings compared as such (ISO 9660:1999 7.5.1
            // lifts the d-character restriction, and 9.3 orders records by their bytes):
            // `index.html` and `Index.html` are two names, as in the source tree, so no
            // case folding here (levels 1-3 upper-case every name, and fold above).
            |s| s.clone(),
            tick,
        )?
        .into_iter()
        .map(String::into_bytes)
        .collect());
    }
    let mut bases = Vec::with_capacity(names.len());
    for (n, d) in names {
        tick()?;
        bases.push(base_name(n, *d, level));
    }
    let resolved = resolve_with(
        bases,
        names,
        |b, n| b.with_suffix(n, level),
        IsoName::key,
        tick,
    )?;
    let mut ids = Vec::with_capacity(resolved.len());
    for r in &resolved {
        tick()?;
        ids.push(r.identifier());
    }
    Ok(ids)
}

/// Shared collision resolution for any name type with a key.
///
/// Entries whose base key is unique keep their base; each colliding group (ordered by key, then
/// user name) keeps the base for its first entry and gives the others the smallest `n >= 1`
/// whose `suffixed(base, n)` key is free. That search does not restart from 1 for every entry:
/// the candidates of one suffix width (`_1`..`_9`, `_10`..`_99`, ...) differ only in the digits,
/// so a cursor per (width, candidate template) remembers how far the smallest free `n` has
/// moved. The set of used keys only grows, so every `n` behind a cursor stays taken and the
/// result is exactly the smallest free `n` that a search from 1 would find, in O(n log n)
/// (the sort) for a directory instead of O(n²).
pub(crate) fn resolve<T: Clone>(
    bases: Vec<T>,
    names: &[(&str, bool)],
    suffixed: impl Fn(&T, u64) -> T,
    key: impl Fn(&T) -> String,
) -> Vec<T> {
    // `tick` never fails here.
    resolve_with(bases, names, suffixed, key, &mut || Ok(())).unwrap_or_default()
}

/// [`resolve`], calling `tick` once per entry and step (see [`unique_identifiers`]).
pub(crate) fn resolve_with<T: Clone>(
    bases: Vec<T>,
    names: &[(&str, bool)],
    suffixed: impl Fn(&T, u64) -> T,
    key: impl Fn(&T) -> String,
    tick: &mut dyn FnMut() -> Result<()>,
) -> Result<Vec<T>> {
    let mut keys: Vec<String> = Vec::with_capacity(bases.len());
    for b in &bases {
        tick()?;
        keys.push(key(b));
    }
    // The base keys, each with its number of entries. Every string is freed with a tick, so a
    // large directory's clean-up is polled too.
    let mut count: HashMap<&str, usize> = HashMap::with_capacity(keys.len());
    for k in &keys {
        tick()?;
        *count.entry(k.as_str()).or_default() += 1;
    }
    let clashes = count.values().any(|&c| c > 1);
    // `None`: the entry keeps its base (its key is unique, or it is first of its group).
    let mut out: Vec<Option<T>> = (0..bases.len()).map(|_| None).collect();
    if clashes {
        // Colliding groups, in user-name order.
        let order: Vec<usize> = (0..bases.len())
            .filter(|&i| count[keys[i].as_str()] > 1)
            .collect();
        let order = sort_polled(
            order,
            |&a, &b| {
                keys[a]
                    .cmp(&keys[b])
                    .then_with(|| names[a].0.cmp(names[b].0))
            },
            tick,
        )?;
        // Keys given as suffixed names (the base keys are taken too: `count`).
        let mut given: HashSet<String> = HashSet::new();
        // (width, key of the band's first candidate) -> the next `n` worth trying in that band.
        let mut cursors: HashMap<(u32, String), u64> = HashMap::new();
        let mut first_of_group: HashSet<&str> = HashSet::new();
        for i in order {
            tick()?;
            if first_of_group.insert(keys[i].as_str()) {
                continue;
            }
            let mut width = 1u32;
            let mut lo = 1u64;
            'bands: while let Some(hi) = lo.checked_mul(10) {
                let template = key(&suffixed(&bases[i], lo));
                let cursor = cursors.entry((width, template)).or_insert(lo);
                while *cursor < hi {
                    let n = *cursor;
                    *cursor += 1;
                    let cand = suffixed(&bases[i], n);
                    let k = key(&cand);
                    if !count.contains_key(k.as_str()) && given.insert(k) {
                        out[i] = Some(cand);
                        break 'bands;
                    }
                }
                width += 1;
                lo = hi;
            }
        }
        for k in given.drain() {
            tick()?;
            drop(k);
        }
        for ((_, k), _) in cursors.drain() {
            tick()?;
            drop(k);
        }
    }
    drop(count);
    for k in keys {
        tick()?;
        drop(k);
    }
    let mut done = Vec::with_capacity(out.len());
    for (o, b) in out.into_iter().zip(bases) {
        tick()?;
        done.push(o.unwrap_or(b));
    }
    Ok(done)
}

/// Elements per run of [`sort_polled`] (a few hundred: sorted in well under a millisecond).
const SORT_RUN: usize = 256;

/// A stable sort (the same order as `sort_by`) that calls `tick` for every element placed:
/// runs of [`SORT_RUN`] sorted by `sort_by`, then merged pairwise. The standard sort cannot
/// be interrupted, and a directory of 100,000 names takes it far longer than 10 ms.
pub(crate) fn sort_polled<T>(
    v: Vec<T>,
    cmp: impl Fn(&T, &T) -> Ordering,
    tick: &mut dyn FnMut() -> Result<()>,
) -> Result<Vec<T>> {
    let run = SORT_RUN;
    if v.len() <= run {
        let mut v = v;
        v.sort_by(&cmp);
        return Ok(v);
    }
    let mut runs: Vec<Vec<T>> = Vec::with_capacity(v.len().div_ceil(run));
    let mut it = v.into_iter();
    loop {
        let mut r: Vec<T> = it.by_ref().take(run).collect();
        if r.is_empty() {
            break;
        }
        r.sort_by(&cmp);
        for _ in 0..r.len() {
            tick()?;
        }
        runs.push(r);
    }
    while runs.len() > 1 {
        let mut next = Vec::with_capacity(runs.len().div_ceil(2));
        let mut rs = runs.into_iter();
        while let Some(a) = rs.next() {
            let Some(b) = rs.next() else {
                next.push(a);
                break;
            };
            let mut out = Vec::with_capacity(a.len() + b.len());
            let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
            loop {
                // Stable: on equal elements the earlier run's goes first.
                let from_a = match (a.peek(), b.peek()) {
                    (Some(x), Some(y)) => cmp(x, y) != Ordering::Greater,
                    (Some(_), None) => true,
                    (None, Some(_)) => false,
                    (None, None) => break,
                };
                out.extend(if from_a { a.next() } else { b.next() });
                tick()?;
            }
            next.push(out);
        }
        runs = next;
    }
    Ok(runs.pop().unwrap_or_default())
}

/// Compares two slices as if the shorter were padded with `pad` (ECMA-119 9.3 a, b).
pub(crate) fn cmp_padded<T: Ord + Copy>(a: &[T], b: &[T], pad: T) -> Ordering {
    let n = a.len().max(b.len());
    for i in 0..n {
        let x = a.get(i).copied().unwrap_or(pad);
        let y = b.get(i).copied().unwrap_or(pad);
        match x.cmp(&y) {
            Ordering::Equal => {}
            o => return o,
        }
    }
    Ordering::Equal
}

/// ECMA-119 9.3: order of directory records: by file name, then extension (each padded with
/// spaces), then version number descending. Directory identifiers compare as names.
pub(crate) fn cmp_iso_identifiers(a: &[u8], b: &[u8]) -> Ordering {
    fn parts(id: &[u8]) -> (&[u8], &[u8], u32) {
        let (body, ver) = match id.iter().rposition(|&c| c == b';') {
            Some(p) => (
                &id[..p],
                std::str::from_utf8(&id[p + 1..])
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            ),
            None => (id, 0),
        };
        match body.iter().position(|&c| c == b'.') {
            Some(p) => (&body[..p], &body[p + 1..], ver),
            None => (body, &[][..], ver),
        }
    }
    let (an, ae, av) = parts(a);
    let (bn, be, bv) = parts(b);
    cmp_padded(an, bn, b' ')
        .then_with(|| cmp_padded(ae, be, b' '))
        .then_with(|| bv.cmp(&av))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_name_changes_are_more_than_upper_case_and_version() {
        assert!(!iso_name_changed("readme.txt", false, b"README.TXT;1"));
        assert!(!iso_name_changed("README", false, b"README.;1"));
        assert!(!iso_name_changed("docs", true, b"DOCS"));
        assert!(iso_name_changed("read-me.txt", false, b"READ_ME.TXT;1"));
        assert!(iso_name_changed(
            "a_very_long_name.dat",
            false,
            b"A_VERY_L.DAT;1"
        ));
        assert!(iso_name_changed("a.b", true, b"A_B"));
        assert!(iso_name_changed("x", false, b"X_1.;1"));
        assert!(iso_name_changed("é", false, b"_.;1"));
    }
    fn ids(names: &[(&str, bool)], level: IsoLevel) -> Vec<String> {
        unique_identifiers(names, level, &mut || Ok(()))
            .unwrap()
            .into_iter()
            .map(|v| String::from_utf8(v).unwrap())
            .collect()
    }
    #[test]
    fn level1() {
        assert_eq!(
            ids(&[("readme.txt", false)], IsoLevel::Level1),
            ["README.TXT;1"]
        );
        assert_eq!(
            ids(&[("verylongname.html", false)], IsoLevel::Level1),
            ["VERYLONG.HTM;1"]
        );
        assert_eq!(
            ids(&[("Makefile", false)], IsoLevel::Level1),
            ["MAKEFILE.;1"]
        );
        assert_eq!(ids(&[(".bashrc", false)], IsoLevel::Level1), ["_BASHRC.;1"]);
        assert_eq!(
            ids(&[("some.dir.name", true)], IsoLevel::Level1),
            ["SOME_DIR"]
        );
        assert_eq!(
            ids(&[("a.tar.gz", false)], IsoLevel::Level2),
            ["A_TAR.GZ;1"]
        );
    }
    #[test]
    fn collisions_are_unique_and_stable() {
        let names = [
            ("longname1.txt", false),
            ("longname2.txt", false),
            ("LONGNAME.TXT", false),
            ("x", false),
        ];
        let out = ids(&names, IsoLevel::Level1);
        assert_eq!(
            out,
            ["LONGNA_1.TXT;1", "LONGNA_2.TXT;1", "LONGNAME.TXT;1", "X.;1"]
        );
        // A directory and a file that readers would both show as "A" collide too.
        let out = ids(&[("a", true), ("a.", false)], IsoLevel::Level2);
        assert_eq!(out.len(), 2);
        assert_ne!(
            out[0].trim_end_matches(";1").trim_end_matches('.'),
            out[1].trim_end_matches(";1").trim_end_matches('.')
        );
    }
    #[test]
    fn level2_lengths() {
        let long = "a".repeat(40) + ".extension_long";
        let id = &ids(&[(&long, false)], IsoLevel::Level2)[0];
        let body = id.trim_end_matches(";1");
        assert_eq!(body.len(), 31); // 30 characters plus the dot
        assert_eq!(
            ids(&[(&"d".repeat(40), true)], IsoLevel::Level3)[0].len(),
            31
        );
    }
    #[test]
    fn sort_order() {
        let mut v: Vec<&[u8]> = vec![b"B.;1", b"A.TXT;1", b"A_B.;1", b"A.;1", b"AB"];
        v.sort_by(|a, b| cmp_iso_identifiers(a, b));
        assert_eq!(v, vec![&b"A.;1"[..], b"A.TXT;1", b"AB", b"A_B.;1", b"B.;1"]);
    }
}

#[cfg(test)]
mod resolve_tests {
    use super::*;

    /// The search from 1 that `resolve` replaces: the reference for its results.
    fn resolve_by_search<T: Clone>(
        bases: Vec<T>,
        names: &[(&str, bool)],
        suffixed: impl Fn(&T, u64) -> T,
        key: impl Fn(&T) -> String,
    ) -> Vec<T> {
        let keys: Vec<String> = bases.iter().map(&key).collect();
        let mut count: HashMap<&str, usize> = HashMap::new();
        for k in &keys {
            *count.entry(k.as_str()).or_default() += 1;
        }
        let mut used: HashSet<String> = keys.iter().cloned().collect();
        let mut out: Vec<Option<T>> = (0..bases.len())
            .map(|i| (count[keys[i].as_str()] == 1).then(|| bases[i].clone()))
            .collect();
        let mut order: Vec<usize> = (0..bases.len()).filter(|&i| out[i].is_none()).collect();
        order.sort_by(|&a, &b| keys[a].cmp(&keys[b]).then(names[a].0.cmp(names[b].0)));
        let mut first: HashSet<&str> = HashSet::new();
        for i in order {
            if first.insert(keys[i].as_str()) {
                out[i] = Some(bases[i].clone());
                continue;
            }
            let mut n = 1;
            loop {
                let cand = suffixed(&bases[i], n);
                if used.insert(key(&cand)) {
                    out[i] = Some(cand);
                    break;
                }
                n += 1;
            }
        }
        out.into_iter().map(Option::unwrap).collect()
    }

    /// Directories of names built to collide: shared long prefixes, groups whose suffixed
    /// names run into each other's, names that already look suffixed, files beside
    /// directories, case variants; every level and Joliet agree with the search from 1.
    #[test]
    fn same_results_as_a_search_from_one() {
        let mut dirs: Vec<Vec<(String, bool)>> = Vec::new();
        // Long shared prefixes (every level shortens them to one base).
        dirs.push(
            (1..=1200)
                .map(|i| {
                    (
                        format!("a_very_long_shared_prefix_of_forty_characters_{i:05}.txt"),
                        false,
                    )
                })
                .collect(),
        );
        // Groups whose candidates overlap: bases differing only in the part a suffix replaces,
        // names that are already someone's candidate, directories beside files.
        let mut v = Vec::new();
        for a in [
            "abcdefgh",
            "abcdefgx",
            "abcdef_1",
            "abcdef_2",
            "abcdef_10",
            "ABCDEFGH",
        ] {
            for ext in ["txt", "TXT", "", "text", "t.x"] {
                for tail in ["", "1", "22", "333", "_1", "_12", "~1"] {
                    let n = if ext.is_empty() {
                        format!("{a}{tail}")
                    } else {
                        format!("{a}{tail}.{ext}")
                    };
                    v.push((n.clone(), false));
                    v.push((n.to_lowercase() + "x", true));
                    v.push((n, true));
                }
            }
        }
        v.sort();
        v.dedup();
        dirs.push(v);
        // Bases at the length limits (the suffix cuts a different amount per width).
        dirs.push(
            (0..400)
                .flat_map(|i| {
                    [
                        (format!("{}{i}", "d".repeat(40)), true),
                        (format!("{}{i}", "d".repeat(40)), false),
                        (format!("{}{i}.e", "d".repeat(28)), false),
                        (format!("{}{i}", "D".repeat(66)), false),
                    ]
                })
                .collect(),
        );
        for d in &dirs {
            let names: Vec<(&str, bool)> = d.iter().map(|(n, b)| (n.as_str(), *b)).collect();
            for level in [IsoLevel::Level1, IsoLevel::Level2, IsoLevel::Level3] {
                let bases: Vec<IsoName> =
                    names.iter().map(|(n, d)| base_name(n, *d, level)).collect();
                let want =
                    resolve_by_search(bases, &names, |b, n| b.with_suffix(n, level), IsoName::key);
                let want: Vec<Vec<u8>> = want.iter().map(IsoName::identifier).collect();
                let got = unique_identifiers(&names, level, &mut || Ok(())).unwrap();
                assert_eq!(got, want, "{level:?}");
                let distinct: HashSet<&Vec<u8>> = got.iter().collect();
                assert_eq!(distinct.len(), got.len(), "{level:?}: identifiers unique");
            }
            let bases: Vec<String> = names.iter().map(|(n, _)| name_1999(n)).collect();
            let want = resolve_by_search(
                bases.clone(),
                &names,
                |b, n| format!("{b}_{n}"),
                |s| s.clone(),
            );
            let got = resolve(bases, &names, |b, n| format!("{b}_{n}"), |s| s.clone());
            assert_eq!(got, want, "1999");
            for long in [false, true] {
                let (got, _) =
                    crate::format::joliet::unique_identifiers(&names, long, &mut || Ok(()))
                        .unwrap();
                let distinct: HashSet<&Vec<u8>> = got.iter().collect();
                assert_eq!(distinct.len(), got.len(), "Joliet identifiers unique");
            }
        }
    }

    /// The search grows with the directory, not with its square: 20,000 names of one base
    /// try each candidate once (counted through the key function).
    #[test]
    fn candidates_tried_once() {
        let d: Vec<String> = (0..20_000)
            .map(|i| format!("a_very_long_shared_prefix_of_forty_characters_{i:05}.txt"))
            .collect();
        let names: Vec<(&str, bool)> = d.iter().map(|n| (n.as_str(), false)).collect();
        let level = IsoLevel::Level2;
        let bases: Vec<IsoName> = names.iter().map(|(n, d)| base_name(n, *d, level)).collect();
        let calls = std::cell::Cell::new(0u64);
        let out = resolve(
            bases,
            &names,
            |b, n| b.with_suffix(n, level),
            |b| {
                calls.set(calls.get() + 1);
                b.key()
            },
        );
        let distinct: HashSet<String> = out.iter().map(IsoName::key).collect();
        assert_eq!(distinct.len(), 20_000);
        // One key per base, one per candidate and at most one template per width and entry.
        assert!(calls.get() < 20_000 * 8, "{} key computations", calls.get());
    }
}
