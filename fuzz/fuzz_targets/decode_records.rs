//! Decodes single on-disk records from arbitrary bytes: directory records (ECMA-119 9.1), path
//! table records and whole path tables (9.4), volume descriptors (8), SUSP / Rock Ridge system
//! use fields with continuation areas, the El Torito boot record and catalog, and every UDF
//! descriptor (ECMA-167 3/10, 4/14). Decoding never panics;
//! where the encoding is canonical, the crate's own encoders must give back the same bytes, and
//! decode(encode(decode(x))) == decode(x).
#![no_main]

use glassmaster::fuzz;
use glassmaster::raw::iso9660::{
    decode_dir_record, decode_path_table, decode_path_table_record, decode_volume_descriptor,
    VolumeDescriptorType,
};
use libfuzzer_sys::fuzz_target;

fn dir_record(bytes: &[u8]) {
    let Ok(r) = decode_dir_record(bytes) else {
        return;
    };
    assert_eq!(r.len, usize::from(bytes[0]));
    assert_eq!(
        33 + r.identifier.len() + usize::from(r.padding.is_some()) + r.system_use.len(),
        r.len
    );
    if r.is_canonical() {
        let enc = fuzz::encode_dir_record(&r).expect("a decoded record fits 255 bytes");
        assert_eq!(
            &enc[..],
            &bytes[..r.len],
            "canonical record re-encodes differently"
        );
    }
    // Whatever the input, the encoder's output decodes to the same fields.
    if let Some(enc) = fuzz::encode_dir_record(&r) {
        let again = decode_dir_record(&enc).expect("encoded record decodes");
        assert_eq!(
            (again.location, again.data_len, again.date, again.flags),
            (r.location, r.data_len, r.date, r.flags)
        );
        assert_eq!(again.identifier, r.identifier);
        assert_eq!(again.system_use, r.system_use);
        assert!(again.is_canonical());
    }
}

fn path_table(bytes: &[u8], big_endian: bool) {
    if let Ok(r) = decode_path_table_record(bytes, big_endian) {
        assert!(r.len <= bytes.len());
        if r.is_canonical() {
            let enc = fuzz::encode_path_table_record(&r, big_endian);
            assert_eq!(
                &enc[..],
                &bytes[..r.len],
                "canonical record re-encodes differently"
            );
        }
        let enc = fuzz::encode_path_table_record(&r, big_endian);
        let again = decode_path_table_record(&enc, big_endian).expect("encoded record decodes");
        assert_eq!(
            (again.extent, again.parent, &again.identifier),
            (r.extent, r.parent, &r.identifier)
        );
    }
    if let Ok(recs) = decode_path_table(bytes, big_endian, 4096) {
        assert!(recs.len() <= 4096);
        assert!(recs.iter().map(|r| r.len).sum::<usize>() <= bytes.len());
        // The same table in the other byte order decodes to the same records.
        let mut other = Vec::new();
        for r in &recs {
            other.extend(fuzz::encode_path_table_record(r, !big_endian));
        }
        let back = decode_path_table(&other, !big_endian, 4096).expect("re-encoded table");
        assert_eq!(back.len(), recs.len());
        for (a, b) in back.iter().zip(&recs) {
            assert_eq!(
                (a.extent, a.parent, &a.identifier),
                (b.extent, b.parent, &b.identifier)
            );
        }
    }
}

fn volume_descriptor(bytes: &[u8], force_cd001: bool) {
    let mut sector = [0u8; 2048];
    let n = bytes.len().min(2048);
    sector[..n].copy_from_slice(&bytes[..n]);
    if force_cd001 {
        sector[1..6].copy_from_slice(b"CD001");
    }
    let _ = decode_volume_descriptor(bytes);
    let Ok(vd) = decode_volume_descriptor(&sector) else {
        return;
    };
    if matches!(
        vd.descriptor_type,
        VolumeDescriptorType::Primary | VolumeDescriptorType::Supplementary
    ) {
        assert!(vd.root.is_some());
    }
    let _ = vd.joliet_level();
    let Some(enc) = fuzz::encode_volume_descriptor(&vd) else {
        return;
    };
    let again = decode_volume_descriptor(&enc).expect("encoded descriptor decodes");
    assert_eq!(
        again.volume_space_size,
        (vd.volume_space_size.0, vd.volume_space_size.0)
    );
    assert_eq!(
        again.path_table_size,
        (vd.path_table_size.0, vd.path_table_size.0)
    );
    assert_eq!(
        (again.path_table_l, again.path_table_m),
        (vd.path_table_l, vd.path_table_m)
    );
    assert_eq!(again.block_size, (2048, 2048));
    assert_eq!(again.creation, vd.creation);
    let (r1, r2) = (vd.root.as_ref().unwrap(), again.root.as_ref().unwrap());
    assert_eq!(
        (r1.location, r1.data_len, r1.flags),
        (r2.location, r2.data_len, r2.flags)
    );
    assert_eq!(r1.identifier, r2.identifier);
    if vd.descriptor_type == VolumeDescriptorType::Supplementary && vd.version == 1 {
        assert_eq!(again.joliet_level(), Some(3));
    }
    // A second round trip is a fixed point.
    let enc2 = fuzz::encode_volume_descriptor(&again).expect("re-encodes");
    assert_eq!(enc2[..], enc[..], "encode(decode(encode(x))) != encode(x)");
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    match sel % 5 {
        0 => dir_record(rest),
        1 => path_table(rest, sel & 0x10 != 0),
        2 => volume_descriptor(rest, sel & 0x10 != 0),
        4 => other_records(rest),
        _ => {
            // Every offset of the input as a directory record and a path table record.
            for i in 0..rest.len().min(256) {
                dir_record(&rest[i..]);
                let _ = decode_path_table_record(&rest[i..], i % 2 == 0);
            }
        }
    }
});

/// Decoders of the other record families: they must never panic on arbitrary bytes.
fn other_records(data: &[u8]) {
    fuzz::decode_system_use(data);
    let _ = glassmaster::raw::eltorito::catalog::decode_boot_record(data);
    let _ = glassmaster::raw::eltorito::catalog::decode_catalog(data);
    let _ = glassmaster::raw::eltorito::hybrid::decode_mbr(data);
    let _ = glassmaster::raw::eltorito::hybrid::decode_gpt_header(data);
    use glassmaster::raw::udf::{file, volume};
    let loc = data
        .get(12..16)
        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let _ = volume::Anchor::decode(data, loc);
    let _ = volume::PrimaryVolume::decode(data, loc);
    let _ = volume::Partition::decode(data, loc);
    let _ = volume::LogicalVolume::decode(data, loc);
    let _ = volume::LogicalVolumeIntegrity::decode(data, loc);
    let _ = volume::ImplementationUseVolume::decode(data, loc);
    let _ = file::FileSet::decode(data, loc);
    let _ = file::FileEntry::decode(data, loc);
    let _ = file::decode_directory(data, |off| loc + (off / 2048) as u32);
    let _ = file::decode_symlink_target(data);
    let _ = glassmaster::raw::udf::cs0::decode_cs0(data);
    let _ = glassmaster::raw::udf::time::decode_timestamp(data);
}
