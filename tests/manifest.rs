//! The manifest: every file, its path in each view, blocks, size, time and SHA-256; checked
//! against the image through the reader (every view path leads to the same extent) and against
//! the source bytes.

use glassmaster::read::{ImageReader, View};
use glassmaster::{FileSystems, ImageBuilder, NoProgress};
use sha2::{Digest, Sha256};
use std::io::Cursor;

#[test]
fn manifest_matches_the_image() {
    let mut b = ImageBuilder::new();
    b.filesystems(
        FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE | FileSystems::UDF,
    );
    let deep = (0..10).map(|i| format!("/level{i}")).collect::<String>();
    let files: Vec<(String, Vec<u8>)> = vec![
        ("/readme.txt".into(), b"hello".to_vec()),
        (
            "/docs/a long name with spaces, more than sixty-four characters long, really.txt"
                .into(),
            vec![7u8; 5000],
        ),
        (format!("{deep}/deep.bin"), vec![9u8; 70_000]),
        ("/empty".into(), Vec::new()),
    ];
    for (p, d) in &files {
        b.add_bytes(p, d.clone()).unwrap();
    }
    b.add_hard_link("/readme-link.txt", "/readme.txt").unwrap();
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let m = image.manifest_with_hashes(&mut NoProgress).unwrap();
    assert_eq!(m.len(), files.len() + 1);
    let mut iso = Vec::new();
    image.write_to(&mut iso, &mut NoProgress).unwrap();
    let mut r = ImageReader::open(Cursor::new(iso)).unwrap();
    for e in &m {
        let src: Vec<u8> = if e.path == "/readme-link.txt" {
            b"hello".to_vec()
        } else {
            files.iter().find(|(p, _)| *p == e.path).unwrap().1.clone()
        };
        assert_eq!(e.size, src.len() as u64, "{}", e.path);
        let digest: [u8; 32] = Sha256::digest(&src).into();
        assert_eq!(e.sha256, Some(digest), "{}", e.path);
        assert_eq!(e.blocks.is_none(), src.is_empty(), "{}", e.path);
        // Every view's path leads to this file's extent.
        for (view, path) in [
            (View::Iso9660, &e.iso9660),
            (View::Joliet, &e.joliet),
            (View::RockRidge, &e.rock_ridge),
            (View::Udf, &e.udf),
        ] {
            let path = path
                .as_ref()
                .unwrap_or_else(|| panic!("{} has no {view} path", e.path));
            // The manifest records ISO 9660 identifiers as written (`NAME.EXT;1`); readers show
            // them without the version and a trailing dot.
            let shown: String = if view == View::Iso9660 {
                path.split('/')
                    .map(|c| {
                        c.split(';')
                            .next()
                            .unwrap_or(c)
                            .trim_end_matches('.')
                            .to_string()
                    })
                    .collect::<Vec<_>>()
                    .join("/")
            } else {
                path.clone()
            };
            let path = &shown;
            let entry = r
                .lookup(view, path)
                .unwrap_or_else(|err| panic!("{view} {path}: {err}"));
            assert_eq!(entry.size, e.size, "{view} {path}");
            if let Some((first, _)) = e.blocks {
                let lba = entry
                    .extents
                    .iter()
                    .find(|x| x.len > 0)
                    .map(|x| x.lba as u64);
                assert_eq!(lba, Some(first), "{view} {path}");
                assert_eq!(r.read_file(&entry).unwrap(), src, "{view} {path}");
            }
        }
    }
    // The deep file's ISO 9660 path goes through the relocation directory.
    let deep_entry = m.iter().find(|e| e.path.ends_with("deep.bin")).unwrap();
    assert!(
        deep_entry
            .iso9660
            .as_deref()
            .unwrap()
            .starts_with("/RR_MOVED/"),
        "{deep_entry:?}"
    );
    // Hard links share their blocks.
    let a = m.iter().find(|e| e.path == "/readme.txt").unwrap();
    let l = m.iter().find(|e| e.path == "/readme-link.txt").unwrap();
    assert_eq!(a.blocks, l.blocks);
}
