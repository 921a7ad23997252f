//! RRIP 1.12 (IEEE P1282) entries: PX, PN, SL, NM, CL, PL, RE, TF, and RR (RRIP 1.09/1.10), and
//! the list of entries each directory record carries.

use chrono::{DateTime, Datelike, Utc};

use super::{susp, RockRidgeOptions, RripVersion};
use crate::build::tree::{Node, NodeKind};
use crate::codec::date::{encode_dir_date, encode_vd_date};
use crate::codec::endian::both32;

fn header(sig: &[u8; 2], len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    v.extend_from_slice(sig);
    v.push(len as u8);
    v.push(1);
    v
}

/// RRIP 4.1.1 `PX`: mode, links, uid, gid (+ file serial number in 1.12: 44 bytes, else 36).
pub(crate) fn px(mode: u32, links: u32, uid: u32, gid: u32, serial: Option<u32>) -> Vec<u8> {
    let mut v = header(b"PX", if serial.is_some() { 44 } else { 36 });
    for x in [mode, links, uid, gid] {
        v.extend_from_slice(&both32(x));
    }
    if let Some(s) = serial {
        v.extend_from_slice(&both32(s));
    }
    v
}

/// RRIP 4.1.2 `PN`: device number, high and low 32 bits (written as major and minor).
pub(crate) fn pn(high: u32, low: u32) -> Vec<u8> {
    let mut v = header(b"PN", 20);
    v.extend_from_slice(&both32(high));
    v.extend_from_slice(&both32(low));
    v
}

/// Component flags of RRIP 4.1.3.1.
const SL_CONTINUE: u8 = 0x01;
const SL_CURRENT: u8 = 0x02;
const SL_PARENT: u8 = 0x04;
const SL_ROOT: u8 = 0x08;
/// Payload bytes in one SL/NM entry: 255 less the 5 bytes before it (SUSP 4.1 header and the
/// SL/NM flags byte). In SL, the payload is component records (RRIP 4.1.3.1).
const ENTRY_PAYLOAD: usize = 250;
/// The longest name one component record holds (its flags and length bytes taken off): a name
/// longer than this is the only one ever split across SL entries.
const SL_MAX_NAME: usize = ENTRY_PAYLOAD - 2;

/// RRIP 4.1.3 `SL`: the link target as component records (RRIP 4.1.3.1), in as many SL entries as
/// needed (entry flag CONTINUE on all but the last). A component that does not fit in the rest of
/// an entry starts the next one: it is never split while it fits in one entry, because several
/// readers (fuseiso, older Linux kernels) join the parts of a split component with a '/'. Only a
/// name longer than [`SL_MAX_NAME`] is split (component flag CONTINUE on all its parts but the
/// last), filling the entry it starts in and as many whole entries as it needs.
/// The target is bytes: RRIP records component names as they are, so a target that is not
/// UTF-8 is kept exactly.
pub(crate) fn sl(target: impl AsRef<[u8]>) -> Vec<Vec<u8>> {
    let target = target.as_ref();
    let mut comps: Vec<(u8, &[u8])> = Vec::new();
    if target.starts_with(b"/") {
        comps.push((SL_ROOT, b""));
    }
    for c in target.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
        comps.push(match c {
            b"." => (SL_CURRENT, b""),
            b".." => (SL_PARENT, b""),
            _ => (0, c),
        });
    }
    // Component records (flags, name bytes) of each entry.
    let mut entries: Vec<Vec<(u8, &[u8])>> = Vec::new();
    let mut cur: Vec<(u8, &[u8])> = Vec::new();
    let mut used = 0;
    for (flags, mut name) in comps {
        loop {
            let room = ENTRY_PAYLOAD - used;
            if 2 + name.len() <= room {
                cur.push((flags, name));
                used += 2 + name.len();
                break;
            }
            if name.len() > SL_MAX_NAME && room >= 3 {
                // No entry holds it whole: its head fills this one (RRIP 4.1.3.1 CONTINUE).
                let (head, tail) = name.split_at(room - 2);
                cur.push((flags | SL_CONTINUE, head));
                name = tail;
            }
            entries.push(std::mem::take(&mut cur));
            used = 0;
        }
    }
    entries.push(cur);
    let n = entries.len();
    entries
        .into_iter()
        .enumerate()
        .map(|(i, comps)| {
            let used: usize = comps.iter().map(|(_, b)| 2 + b.len()).sum();
            let mut v = header(b"SL", 5 + used);
            v.push(if i + 1 < n { SL_CONTINUE } else { 0 });
            for (flags, bytes) in comps {
                v.push(flags);
                v.push(bytes.len() as u8);
                v.extend_from_slice(bytes);
            }
            v
        })
        .collect()
}

/// RRIP 4.1.4 `NM`: the name, split over several entries with the CONTINUE flag.
pub(crate) fn nm(name: &[u8]) -> Vec<Vec<u8>> {
    let pieces: Vec<&[u8]> = if name.is_empty() {
        vec![name]
    } else {
        name.chunks(ENTRY_PAYLOAD).collect()
    };
    let n = pieces.len();
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let mut v = header(b"NM", 5 + p.len());
            v.push(if i + 1 < n { 0x01 } else { 0 });
            v.extend_from_slice(p);
            v
        })
        .collect()
}

/// RRIP 4.1.5.1 `CL`, 4.1.5.2 `PL`: the location of the relocated directory / the parent.
pub(crate) fn link(sig: &[u8; 2], lba: u32) -> Vec<u8> {
    let mut v = header(sig, 12);
    v.extend_from_slice(&both32(lba));
    v
}

/// RRIP 4.1.5.3 `RE`: this directory was relocated.
pub(crate) fn re() -> Vec<u8> {
    header(b"RE", 4)
}

/// RRIP 1.09/1.10 `RR`: which RRIP entries this record has (PX 1, PN 2, SL 4, NM 8, CL 16,
/// PL 32, RE 64, TF 128).
fn rr(flags: u8) -> Vec<u8> {
    let mut v = header(b"RR", 5);
    v.push(flags);
    v
}

/// RRIP 4.1.6 `TF`: creation (if known), modification, access and attribute change times, in
/// the 7-byte form, or the 17-byte form (flag 0x80) when one of them is outside 1900-2155.
pub(crate) fn tf(
    crtime: Option<&DateTime<Utc>>,
    mtime: &DateTime<Utc>,
    atime: &DateTime<Utc>,
    ctime: &DateTime<Utc>,
) -> Vec<u8> {
    let mut times: Vec<&DateTime<Utc>> = Vec::with_capacity(4);
    let mut flags = 0u8;
    if let Some(c) = crtime {
        flags |= 0x01;
        times.push(c);
    }
    flags |= 0x02 | 0x04 | 0x08;
    times.extend([mtime, atime, ctime]);
    let long = times.iter().any(|t| !(1900..=2155).contains(&t.year()));
    if long {
        flags |= 0x80;
    }
    let each = if long { 17 } else { 7 };
    let mut v = header(b"TF", 5 + each * times.len());
    v.push(flags);
    for t in times {
        if long {
            v.extend_from_slice(&encode_vd_date(t));
        } else {
            v.extend_from_slice(&encode_dir_date(t));
        }
    }
    v
}

/// What a directory record is, for the entries it carries.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Role {
    /// The "." record of a directory; `root` adds SP and ER.
    Dot { root: bool },
    /// The ".." record; `pl` is the original parent of a relocated directory (RRIP 4.1.5.2).
    DotDot { pl: Option<u32> },
    /// A named entry; `cl` marks the placeholder of a relocated directory (RRIP 4.1.5.1), `re`
    /// the relocated directory itself inside the relocation directory.
    Entry { cl: Option<u32>, re: bool },
}

/// Values the entries need from the layout.
pub(crate) struct Ctx<'a> {
    pub opts: &'a RockRidgeOptions,
    pub build_time: DateTime<Utc>,
}

/// A node's link count and serial number (RRIP 4.1.1 `PX`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NodeFacts {
    pub links: u32,
    pub serial: u32,
}

/// [`NodeFacts`] of every node of a layout's tree, computed on demand: a file's serial is its
/// data's, shared by hard links, and its link count the number of names of that data; a
/// directory has 2 + its subdirectories; anything else one link and a serial after the data's.
/// Only the counts that are not 1 (hard links) and the directories' are stored.
#[derive(Debug, Clone, Default)]
pub(crate) struct FactsTable {
    data_count: u32,
    /// Names of data with more than one.
    file_links: std::collections::HashMap<crate::build::tree::DataId, u32>,
    /// Link count of each directory.
    dir_links: std::collections::HashMap<crate::build::tree::NodeId, u32>,
}

impl FactsTable {
    pub fn new(tree: &crate::build::tree::Tree) -> Self {
        let mut names = vec![0u32; tree.data.len()];
        let mut dir_links = std::collections::HashMap::new();
        for (i, n) in tree.nodes.iter().enumerate() {
            match &n.kind {
                NodeKind::File { data } => {
                    if let Some(k) = names.get_mut(*data as usize) {
                        *k += 1;
                    }
                }
                NodeKind::Dir { children } => {
                    let subdirs = children.iter().filter(|&&c| tree.node(c).is_dir()).count();
                    dir_links.insert(i as crate::build::tree::NodeId, 2 + subdirs as u32);
                }
                _ => {}
            }
        }
        let file_links = names
            .iter()
            .enumerate()
            .filter(|&(_, &k)| k > 1)
            .map(|(d, &k)| (d as crate::build::tree::DataId, k))
            .collect();
        FactsTable {
            data_count: tree.data.len() as u32,
            file_links,
            dir_links,
        }
    }
    /// Sets directory `dir`'s link count (the relocation directory's children are not its
    /// children in the tree).
    pub fn set_dir_links(&mut self, dir: crate::build::tree::NodeId, links: u32) {
        self.dir_links.insert(dir, links);
    }
    pub fn get(&self, tree: &crate::build::tree::Tree, n: crate::build::tree::NodeId) -> NodeFacts {
        let other = NodeFacts {
            links: 1,
            serial: self.data_count.wrapping_add(n).wrapping_add(1),
        };
        match tree.nodes.get(n as usize).map(|node| &node.kind) {
            Some(NodeKind::File { data }) => NodeFacts {
                links: if self.file_links.is_empty() {
                    1
                } else {
                    self.file_links.get(data).copied().unwrap_or(1)
                },
                serial: data + 1,
            },
            Some(NodeKind::Dir { .. }) => NodeFacts {
                links: self.dir_links.get(&n).copied().unwrap_or(2),
                ..other
            },
            Some(_) => other,
            None => NodeFacts {
                links: 1,
                serial: n + 1,
            },
        }
    }
}

/// RRIP 4.3 / SUSP 5.5: the ER entry for the chosen version.
fn er(version: RripVersion) -> Vec<u8> {
    match version {
        RripVersion::V1_12 => susp::er(
            "IEEE_P1282",
            "THE IEEE P1282 PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS.",
            "PLEASE CONTACT THE IEEE STANDARDS DEPARTMENT, PISCATAWAY, NJ, USA FOR THE P1282 SPECIFICATION.",
            1,
        ),
        RripVersion::V1_10 => susp::er(
            "RRIP_1991A",
            "THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS",
            "PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.",
            1,
        ),
    }
}

/// The system use entries of one record, in order. `node` supplies PX/TF/SL/PN (for ".." the
/// parent's node), `name` the NM name (None for "." and "..").
pub(crate) fn entries(
    ctx: &Ctx<'_>,
    node: &Node,
    facts: NodeFacts,
    name: Option<&[u8]>,
    role: Role,
) -> Vec<Vec<u8>> {
    let o = ctx.opts;
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(6);
    if let Role::Dot { root: true } = role {
        out.push(susp::sp());
    }
    let mut rr_flags = 0x01 | 0x80; // PX, TF
    let mut mode = node.mode();
    let (mut uid, mut gid) = node.posix.as_ref().map_or((0, 0), |p| (p.uid, p.gid));
    if o.rationalize {
        uid = 0;
        gid = 0;
        let ty = mode & 0o170000;
        let mut perm = (mode & 0o777 | 0o444) & !0o222;
        // Execute (search) permission for all if anyone had it, as mkisofs -r documents;
        // directories are always searchable.
        if ty == 0o040000 || mode & 0o111 != 0 {
            perm |= 0o111;
        }
        mode = ty | perm;
    }
    let serial = (o.version == RripVersion::V1_12).then_some(facts.serial);
    let px = px(mode, facts.links, uid, gid, serial);
    let mtime = node.mtime.unwrap_or(ctx.build_time);
    let p = node.posix.as_deref();
    let crtime = p.and_then(|p| p.creation(mtime));
    let tf = tf(
        crtime.as_ref(),
        &mtime,
        p.and_then(|p| p.atime.as_ref()).unwrap_or(&mtime),
        p.and_then(|p| p.ctime.as_ref()).unwrap_or(&mtime),
    );
    let mut rest: Vec<Vec<u8>> = vec![px];
    if let Some(n) = name {
        rr_flags |= 0x08;
        rest.extend(nm(n));
    }
    if let Role::Entry { .. } = role {
        match &node.kind {
            NodeKind::Symlink { target } => {
                rr_flags |= 0x04;
                rest.extend(sl(target.as_slice()));
            }
            NodeKind::Special {
                kind:
                    crate::build::tree::SpecialKind::CharDevice
                    | crate::build::tree::SpecialKind::BlockDevice,
                rdev,
            } => {
                rr_flags |= 0x02;
                // RRIP 4.1.2 leaves the split of the device number to the writer. (0, major << 8
                // | minor) reads right in Linux, libarchive and libisofs alike for ordinary
                // devices; larger numbers are written as (major, minor) as mkisofs does.
                let (major, minor) = split_rdev(*rdev);
                if major < 0x1000 && minor < 0x100 {
                    rest.push(pn(0, (major << 8) | minor));
                } else {
                    rest.push(pn(major, minor));
                }
            }
            _ => {}
        }
    }
    match role {
        Role::Entry { cl: Some(lba), .. } => {
            rr_flags |= 0x10;
            rest.push(link(b"CL", lba));
        }
        Role::DotDot { pl: Some(lba) } => {
            rr_flags |= 0x20;
            rest.push(link(b"PL", lba));
        }
        _ => {}
    }
    if let Role::Entry { re: true, .. } = role {
        rr_flags |= 0x40;
        rest.push(re());
    }
    if o.version == RripVersion::V1_10 {
        out.push(rr(rr_flags));
    }
    out.extend(rest);
    out.push(tf);
    if let Role::Dot { root: true } = role {
        out.push(er(o.version));
    }
    out
}

/// The sizes of the entries [`entries`] returns, in the same order, without building them
/// (the layout sizes every record; only the writer needs the bytes). `out` is cleared first.
pub(crate) fn entry_sizes(
    ctx: &Ctx<'_>,
    node: &Node,
    name: Option<&[u8]>,
    role: Role,
    out: &mut Vec<usize>,
) {
    let o = ctx.opts;
    out.clear();
    if let Role::Dot { root: true } = role {
        out.push(7); // SP (SUSP 5.3)
    }
    if o.version == RripVersion::V1_10 {
        out.push(5); // RR
    }
    out.push(if o.version == RripVersion::V1_12 {
        44
    } else {
        36
    }); // PX
    if let Some(n) = name {
        // NM: one entry per ENTRY_PAYLOAD bytes (one empty entry for an empty name).
        if n.is_empty() {
            out.push(5);
        } else {
            out.extend(n.chunks(ENTRY_PAYLOAD).map(|c| 5 + c.len()));
        }
    }
    if let Role::Entry { .. } = role {
        match &node.kind {
            NodeKind::Symlink { target } => out.extend(sl(target.as_slice()).iter().map(Vec::len)),
            NodeKind::Special {
                kind:
                    crate::build::tree::SpecialKind::CharDevice
                    | crate::build::tree::SpecialKind::BlockDevice,
                ..
            } => out.push(20), // PN
            _ => {}
        }
    }
    match role {
        Role::Entry { cl: Some(_), .. } | Role::DotDot { pl: Some(_) } => out.push(12), // CL, PL
        _ => {}
    }
    if let Role::Entry { re: true, .. } = role {
        out.push(4); // RE
    }
    // TF: as `tf` sizes it.
    let mtime = node.mtime.unwrap_or(ctx.build_time);
    let p = node.posix.as_deref();
    let crtime = p.and_then(|p| p.creation(mtime));
    let times = [
        crtime.as_ref(),
        Some(&mtime),
        Some(p.and_then(|p| p.atime.as_ref()).unwrap_or(&mtime)),
        Some(p.and_then(|p| p.ctime.as_ref()).unwrap_or(&mtime)),
    ];
    let count = times.iter().flatten().count();
    let long = times
        .iter()
        .flatten()
        .any(|t| !(1900..=2155).contains(&t.year()));
    out.push(5 + if long { 17 } else { 7 } * count);
    if let Role::Dot { root: true } = role {
        out.push(er(o.version).len());
    }
}

/// Linux's `st_rdev` encoding to (major, minor), as mkisofs records them in PN.
pub(crate) fn split_rdev(rdev: u64) -> (u32, u32) {
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    (major as u32, minor as u32)
}

/// (major, minor) to Linux's `st_rdev` encoding.
pub fn make_rdev(major: u32, minor: u32) -> u64 {
    let (ma, mi) = (major as u64, minor as u64);
    ((ma & 0xfff) << 8) | ((ma & !0xfff) << 32) | (mi & 0xff) | ((mi & !0xff) << 12)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    #[test]
    fn px_lengths() {
        assert_eq!(px(0o100644, 1, 0, 0, Some(7)).len(), 44);
        assert_eq!(px(0o100644, 1, 0, 0, None).len(), 36);
    }
    #[test]
    fn sl_components() {
        let e = sl("/usr/../bin/./x");
        assert_eq!(e.len(), 1);
        let v = &e[0];
        assert_eq!(&v[..2], b"SL");
        assert_eq!(v[4], 0);
        assert_eq!(
            &v[5..],
            &[
                SL_ROOT, 0, 0, 3, b'u', b's', b'r', SL_PARENT, 0, 0, 3, b'b', b'i', b'n',
                SL_CURRENT, 0, 0, 1, b'x'
            ]
        );
        // A 4096-byte target is split into several entries, each at most 255 bytes.
        let long = "a".repeat(300) + "/" + &"b".repeat(3795);
        let e = sl(&long);
        assert!(e.len() > 10);
        assert!(e.iter().all(|x| x.len() <= 255 && x[2] as usize == x.len()));
        assert!(e[..e.len() - 1].iter().all(|x| x[4] == SL_CONTINUE));
        assert_eq!(e.last().unwrap()[4], 0);
    }
    /// The component records (flags, name) of SL entries, checking each entry's length.
    fn records(entries: &[Vec<u8>]) -> Vec<Vec<(u8, Vec<u8>)>> {
        entries
            .iter()
            .map(|e| {
                assert!(e.len() <= 255 && e[2] as usize == e.len());
                assert_eq!(&e[..2], b"SL");
                let c = &e[5..];
                let mut out = Vec::new();
                let mut i = 0;
                while i < c.len() {
                    let (f, len) = (c[i], c[i + 1] as usize);
                    out.push((f, c[i + 2..i + 2 + len].to_vec()));
                    i += 2 + len;
                }
                assert_eq!(i, c.len());
                out
            })
            .collect()
    }

    /// Decodes SL entries as RRIP 4.1.3 says (`fuseiso` false), or as fuseiso does (`true`):
    /// a '/' before every component record but the first and those after the root, whatever
    /// the CONTINUE flags.
    fn decode(entries: &[Vec<u8>], fuseiso: bool) -> String {
        let mut out = Vec::new();
        let mut sep = false;
        for (f, name) in records(entries).into_iter().flatten() {
            if sep {
                out.push(b'/');
            }
            match f & !SL_CONTINUE {
                0 => out.extend_from_slice(&name),
                SL_CURRENT => out.push(b'.'),
                SL_PARENT => out.extend_from_slice(b".."),
                SL_ROOT => out.push(b'/'),
                _ => panic!("flags {f}"),
            }
            sep = (fuseiso || f & SL_CONTINUE == 0) && f != SL_ROOT;
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn sl_never_splits_a_component_that_fits() {
        let twelve: Vec<String> = (0..12)
            .map(|i| format!("c{i:02}{}", "x".repeat(29)))
            .collect();
        let twelve = twelve.join("/");
        let mut many = String::new();
        for i in 0..600 {
            many.push_str(&format!("component_{i:04}/"));
        }
        let c248 = "c".repeat(248);
        for target in [
            twelve.clone(),
            format!("/{twelve}"),
            format!("../{twelve}"),
            format!("./{twelve}/.."),
            many[..4094].to_string(),
            many[..1000].to_string(),
            format!("{c248}/{c248}/x/{c248}"),
            format!("a/{c248}"),
            format!("/{}x", "ab/".repeat(83)),
            "../".repeat(199) + "..",
            "a/".repeat(300) + "b",
        ] {
            let e = sl(&target);
            assert_eq!(decode(&e, false), target);
            assert_eq!(decode(&e, true), target, "fuseiso's reading");
            let recs = records(&e);
            for (i, entry) in recs.iter().enumerate() {
                // Entry flag CONTINUE on all but the last (RRIP 4.1.3).
                assert_eq!(e[i][4], u8::from(i + 1 < recs.len()));
                assert!(entry.iter().all(|(f, _)| f & SL_CONTINUE == 0));
                // A new entry starts only when the next component does not fit.
                if let Some(next) = recs.get(i + 1).and_then(|n| n.first()) {
                    assert!(e[i].len() + 2 + next.1.len() > 255, "{target}: entry {i}");
                }
            }
        }
        // Twelve 32-byte components: seven in the first entry, five in the second.
        let e = sl(&twelve);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].len(), 5 + 7 * 34);
        assert_eq!(e[1].len(), 5 + 5 * 34);
    }

    #[test]
    fn sl_splits_only_names_longer_than_an_entry() {
        let (y300, c255) = ("y".repeat(300), "c".repeat(255));
        for target in [
            y300.clone(),
            format!("../a/{y300}/b"),
            format!("{c255}/x/{c255}"),
            format!("/{c255}/{c255}/{c255}/{c255}/y"),
            "z".repeat(4095),
        ] {
            let e = sl(&target);
            assert_eq!(decode(&e, false), target);
            let recs = records(&e);
            for (i, entry) in recs.iter().enumerate() {
                assert_eq!(e[i][4], u8::from(i + 1 < recs.len()));
                for (k, (f, name)) in entry.iter().enumerate() {
                    if f & SL_CONTINUE != 0 {
                        // The head of a name too long for any entry, filling this one.
                        assert_eq!(k + 1, entry.len());
                        assert_eq!(e[i].len(), 255);
                        assert!(!name.is_empty());
                    }
                }
            }
            // Every name of 248 bytes or fewer is in one record.
            let whole: Vec<&[u8]> = recs
                .iter()
                .flatten()
                .filter(|(f, _)| *f == 0)
                .map(|(_, n)| n.as_slice())
                .collect();
            for c in target
                .split('/')
                .filter(|c| !c.is_empty() && c.len() <= 248)
            {
                if c != "." && c != ".." {
                    assert!(whole.contains(&c.as_bytes()), "{c} split");
                }
            }
        }
        // 300 bytes: 248 in the first entry, 52 in the second.
        let e = sl(&y300);
        assert_eq!(e.len(), 2);
        assert_eq!(records(&e)[0], vec![(SL_CONTINUE, vec![b'y'; 248])]);
        assert_eq!(records(&e)[1], vec![(0, vec![b'y'; 52])]);
    }

    #[test]
    fn nm_split() {
        let e = nm(&[b'x'; 255]);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0][4], 1);
        assert_eq!(e[0].len(), 255);
        assert_eq!(e[1].len(), 10);
    }
    #[test]
    fn entry_sizes_match_entries() {
        use crate::build::tree::{Posix, SpecialKind};
        let t = Utc.with_ymd_and_hms(2001, 2, 3, 4, 5, 6).single().unwrap();
        let old = Utc.with_ymd_and_hms(1850, 1, 1, 0, 0, 0).single().unwrap();
        let node = |kind: NodeKind, mtime, posix: Option<Posix>| Node {
            name: "x".into(),
            parent: 0,
            kind,
            mtime,
            posix: posix.map(std::sync::Arc::new),
        };
        let posix = Posix {
            perm: 0o600,
            uid: 1,
            gid: 2,
            atime: Some(t),
            ctime: Some(old),
            crtime: Some(t),
            ..Posix::default()
        };
        let nodes = [
            node(NodeKind::File { data: 0 }, Some(t), None),
            node(NodeKind::File { data: 0 }, None, Some(posix.clone())),
            node(
                NodeKind::Dir {
                    children: Box::default(),
                },
                Some(old),
                None,
            ),
            node(
                NodeKind::Symlink {
                    target: Box::new("a/".repeat(200).into_bytes()),
                },
                Some(t),
                None,
            ),
            node(
                NodeKind::Special {
                    kind: SpecialKind::BlockDevice,
                    rdev: make_rdev(8, 1),
                },
                Some(t),
                None,
            ),
        ];
        let long_name = [b'n'; 300];
        let names: [Option<&[u8]>; 4] = [None, Some(b""), Some(b"abc"), Some(&long_name)];
        let roles = [
            Role::Dot { root: true },
            Role::Dot { root: false },
            Role::DotDot { pl: None },
            Role::DotDot { pl: Some(9) },
            Role::Entry {
                cl: None,
                re: false,
            },
            Role::Entry {
                cl: Some(3),
                re: true,
            },
        ];
        let mut sizes = Vec::new();
        for version in [RripVersion::V1_12, RripVersion::V1_10] {
            for rationalize in [false, true] {
                let opts = RockRidgeOptions {
                    version,
                    rationalize,
                    ..RockRidgeOptions::default()
                };
                let ctx = Ctx {
                    opts: &opts,
                    build_time: t,
                };
                for n in &nodes {
                    for name in names {
                        for role in roles {
                            let facts = NodeFacts {
                                links: 1,
                                serial: 5,
                            };
                            let want: Vec<usize> = entries(&ctx, n, facts, name, role)
                                .iter()
                                .map(Vec::len)
                                .collect();
                            entry_sizes(&ctx, n, name, role, &mut sizes);
                            assert_eq!(sizes, want, "{role:?} {name:?} {:?}", n.kind);
                        }
                    }
                }
            }
        }
    }
    #[test]
    fn tf_forms() {
        let t = Utc.with_ymd_and_hms(2001, 2, 3, 4, 5, 6).single().unwrap();
        assert_eq!(tf(None, &t, &t, &t).len(), 5 + 21);
        let old = Utc.with_ymd_and_hms(1850, 1, 1, 0, 0, 0).single().unwrap();
        let v = tf(Some(&t), &old, &t, &t);
        assert_eq!(v[4], 0x8F);
        assert_eq!(v.len(), 5 + 4 * 17);
    }
    #[test]
    fn rdev() {
        assert_eq!(split_rdev(make_rdev(8, 1)), (8, 1));
        assert_eq!(split_rdev(make_rdev(259, 300000)), (259, 300000));
    }
}
