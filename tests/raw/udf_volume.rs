//! ECMA-167 part 3 volume structures and the UDF partition maps: the encoders and decoders of
//! `glassmaster::raw::udf::volume`, through the public API.

use chrono::{DateTime, TimeZone, Utc};
use glassmaster::raw::udf::ad::{ExtentAd, ExtentType, LongAd};
use glassmaster::raw::udf::metadata::MetadataPartitionMap;
use glassmaster::raw::udf::tag::decode_tag;
use glassmaster::raw::udf::tag::{finish_tag, ident};
use glassmaster::raw::udf::volume::*;
use glassmaster::raw::udf::UdfRevision;
use glassmaster::raw::udf::{Ctx, DecodeError};
use glassmaster::BLOCK_SIZE;

fn when() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 17, 10, 20, 30).unwrap() + chrono::Duration::microseconds(456_789)
}

fn sample(rev: UdfRevision) -> VolumeDescriptors {
    let mut maps = vec![PartitionMap::Physical {
        partition_number: 0,
    }];
    if rev.has_metadata_partition() {
        maps.push(PartitionMap::Metadata(MetadataPartitionMap {
            partition_number: 0,
            metadata_file_location: 1,
            mirror_file_location: 900,
            bitmap_file_location: MetadataPartitionMap::NO_BITMAP,
            allocation_unit_size: 32,
            alignment_unit_size: 32,
            duplicate: false,
        }));
    }
    VolumeDescriptors {
        pvd: PrimaryVolume::new(
            "MY_DISC",
            &volume_set_id(0x0123_4567_89ab_cdef, " glassmaster"),
            when(),
        ),
        iuvd: ImplementationUseVolume {
            vds_number: 1,
            logical_volume_id: "My Disc €".into(),
            lv_info: ["owner".into(), "".into(), "contact".into()],
        },
        pd: Partition {
            vds_number: 2,
            number: 0,
            access: AccessType::ReadOnly,
            start: 257,
            length: 1000,
        },
        lvd: LogicalVolume {
            vds_number: 3,
            logical_volume_id: "My Disc €".into(),
            fsd_location: LongAd::recorded(0, rev.has_metadata_partition() as u16, 2048),
            integrity_extent: ExtentAd {
                length: 2 * 2048,
                location: 64,
            },
            maps,
            domain_flags: 0,
        },
        usd: UnallocatedSpace {
            vds_number: 4,
            extents: vec![],
        },
    }
}

#[test]
fn vrs() {
    let [bea, nsr, tea] = volume_recognition_sequence(UdfRevision::V1_02);
    assert_eq!(&bea[..7], b"\0BEA01\x01");
    assert_eq!(&nsr[..7], b"\0NSR02\x01");
    assert_eq!(&tea[..7], b"\0TEA01\x01");
    assert!(bea[7..].iter().all(|&b| b == 0));
    assert_eq!(
        decode_vrs_descriptor(&volume_recognition_sequence(UdfRevision::V2_60)[1]),
        Some(*b"NSR03")
    );
    assert_eq!(decode_vrs_descriptor(b"\x01CD001\x01"), None);
    assert_eq!(decode_vrs_descriptor(&[0, 1]), None);
}

#[test]
fn anchor_by_hand() {
    let ctx = Ctx::new(UdfRevision::V2_01);
    let a = Anchor {
        main: ExtentAd {
            length: 16 * 2048,
            location: 32,
        },
        reserve: ExtentAd {
            length: 16 * 2048,
            location: 48,
        },
    };
    let s = a.encode(&ctx, 256);
    assert_eq!(&s[..4], &[2, 0, 3, 0]);
    assert_eq!(&s[10..16], &[0xF0, 0x01, 0x00, 0x01, 0, 0]); // CRC length 496, location 256
    assert_eq!(
        &s[16..32],
        &[0, 0x80, 0, 0, 32, 0, 0, 0, 0, 0x80, 0, 0, 48, 0, 0, 0]
    );
    assert!(s[32..].iter().all(|&b| b == 0));
    let d = Anchor::decode(&s, 256).unwrap();
    assert_eq!(d.value, a);
    assert_eq!(d.tag.serial, 1);
    assert!(Anchor::decode(&s, 512).is_err());
    let mut bad = s;
    bad[20] ^= 1;
    assert!(matches!(
        Anchor::decode(&bad, 256),
        Err(DecodeError::Tag(_))
    ));
}

#[test]
fn sequence_round_trips() {
    for rev in UdfRevision::ALL {
        let ctx = Ctx {
            rev,
            serial: 0x1234,
            os: glassmaster::raw::udf::OsId::LINUX,
        };
        let v = sample(rev);
        let secs = v.encode(&ctx, 32);
        assert_eq!(secs.len(), VolumeDescriptors::SECTORS as usize);
        for (i, s) in secs.iter().enumerate() {
            let t = decode_tag(s).unwrap();
            assert_eq!(t.location, 32 + i as u32);
            assert_eq!(t.version, rev.tag_version());
            assert_eq!(t.serial, 0x1234);
        }
        assert_eq!(PrimaryVolume::decode(&secs[0], 32).unwrap().value, v.pvd);
        let iu = ImplementationUseVolume::decode(&secs[1], 33).unwrap();
        assert_eq!((iu.value, iu.revision), (v.iuvd.clone(), Some(rev.bcd())));
        assert_eq!(Partition::decode(&secs[2], 34).unwrap().value, v.pd);
        let lv = LogicalVolume::decode(&secs[3], 35).unwrap();
        assert_eq!((lv.value, lv.revision), (v.lvd.clone(), Some(rev.bcd())));
        assert_eq!(UnallocatedSpace::decode(&secs[4], 36).unwrap().value, v.usd);
        assert!(decode_terminating_descriptor(&secs[5], 37).is_ok());
        // Wrong descriptor for the decoder.
        assert_eq!(
            Partition::decode(&secs[0], 32).unwrap_err(),
            DecodeError::Ident {
                expected: ident::PD,
                found: ident::PVD
            }
        );
        // Partition contents follow the revision.
        assert_eq!(
            &secs[2][25..31],
            if rev >= UdfRevision::V2_01 {
                b"+NSR03"
            } else {
                b"+NSR02"
            }
        );
    }
}

#[test]
fn pvd_fields_by_hand() {
    let ctx = Ctx::new(UdfRevision::V1_02);
    let s = sample(UdfRevision::V1_02).pvd.encode(&ctx, 32);
    assert_eq!(&s[24..32], b"\x08MY_DISC");
    assert_eq!(s[55], 8); // dstring used length
    assert_eq!(
        &s[56..72],
        &[1, 0, 1, 0, 2, 0, 3, 0, 1, 0, 0, 0, 1, 0, 0, 0]
    );
    assert_eq!(&s[72..89], b"\x080123456789abcdef");
    assert_eq!(&s[201..224], b"OSTA Compressed Unicode");
    assert_eq!(&s[389..401], b"*glassmaster");
    assert_eq!(&s[488..490], &[1, 0]);
    // CRC length 496.
    assert_eq!(&s[10..12], &[0xF0, 0x01]);
}

#[test]
fn lvd_maps_by_hand() {
    let ctx = Ctx::new(UdfRevision::V2_50);
    let v = sample(UdfRevision::V2_50).lvd;
    assert_eq!(v.len(), 440 + 6 + 64);
    let s = v.encode(&ctx, 35);
    assert_eq!(&s[212..216], &2048u32.to_le_bytes());
    assert_eq!(&s[217..236], b"*OSTA UDF Compliant");
    assert_eq!(&s[240..243], &[0x50, 0x02, 0]);
    assert_eq!(&s[264..272], &[70, 0, 0, 0, 2, 0, 0, 0]);
    assert_eq!(&s[440..446], &[1, 6, 1, 0, 0, 0]);
    assert_eq!(&s[446..448], &[2, 64]);
    assert_eq!(&s[451..474], b"*UDF Metadata Partition");
    assert_eq!(&s[10..12], &((440 + 70 - 16) as u16).to_le_bytes());
    // The FSD long_ad: 2048 bytes at block 0 of partition reference 1.
    assert_eq!(&s[248..258], &[0, 8, 0, 0, 0, 0, 0, 0, 1, 0]);
    assert!(s[510..].iter().all(|&b| b == 0));
}

#[test]
fn lvid_round_trip_and_layout() {
    for rev in UdfRevision::ALL {
        let ctx = Ctx::new(rev);
        let mut parts = vec![PartitionSpace {
            free: 0,
            size: 1000,
        }];
        if rev.has_metadata_partition() {
            parts.push(PartitionSpace { free: 0, size: 32 });
        }
        let l = LogicalVolumeIntegrity::closed(rev, when(), 42, parts, 7, 3);
        let s = l.encode(&ctx, 64);
        let d = LogicalVolumeIntegrity::decode(&s, 64).unwrap();
        assert_eq!(d.value, l);
        assert_eq!(d.revision, Some(rev.bcd()));
        let np = l.partitions.len();
        let iu = 80 + 8 * np;
        assert_eq!(&s[28..32], &[1, 0, 0, 0]);
        assert_eq!(&s[40..48], &42u64.to_le_bytes());
        assert_eq!(&s[76..80], &[46, 0, 0, 0]);
        assert_eq!(&s[80..84], &[0; 4]);
        assert_eq!(&s[80 + 4 * np..84 + 4 * np], &1000u32.to_le_bytes());
        assert_eq!(&s[iu + 1..iu + 13], b"*glassmaster");
        assert_eq!(&s[iu + 32..iu + 40], &[7, 0, 0, 0, 3, 0, 0, 0]);
        let revs = [rev.min_read_revision(), rev.bcd(), rev.bcd()];
        for (k, r) in revs.iter().enumerate() {
            assert_eq!(&s[iu + 40 + 2 * k..iu + 42 + 2 * k], &r.to_le_bytes());
        }
        assert_eq!(&s[10..12], &((l.len() - 16) as u16).to_le_bytes());
    }
    assert_eq!(
        LogicalVolumeIntegrity::closed(UdfRevision::V2_60, when(), 16, vec![], 0, 1)
            .min_read_revision,
        0x0250
    );
}

#[test]
fn usd_with_extents() {
    let ctx = Ctx::new(UdfRevision::V1_50);
    let u = UnallocatedSpace {
        vds_number: 9,
        extents: vec![ExtentAd {
            length: 4096,
            location: 70,
        }],
    };
    let s = u.encode(&ctx, 40);
    assert_eq!(&s[10..12], &[16, 0]);
    assert_eq!(UnallocatedSpace::decode(&s, 40).unwrap().value, u);
    let empty = UnallocatedSpace::default().encode(&ctx, 41);
    assert_eq!(&empty[10..12], &[8, 0]);
}

#[test]
fn decoders_survive_garbage() {
    let ctx = Ctx::new(UdfRevision::V2_50);
    let secs = sample(UdfRevision::V2_50).encode(&ctx, 0);
    let lvid = LogicalVolumeIntegrity::closed(UdfRevision::V2_50, when(), 16, vec![], 0, 1)
        .encode(&ctx, 6);
    // Corrupt each field byte and re-seal the tag: decoders must not panic.
    for (i, base) in secs.iter().chain(std::iter::once(&lvid)).enumerate() {
        let loc = i as u32;
        let t = decode_tag(base).unwrap();
        for pos in (16..520).step_by(3) {
            for v in [0u8, 0x7F, 0xFF] {
                let mut s = *base;
                s[pos] = v;
                finish_tag(
                    &mut s,
                    t.ident,
                    t.version,
                    t.serial,
                    loc,
                    t.crc_len as usize,
                );
                let _ = PrimaryVolume::decode(&s, loc);
                let _ = ImplementationUseVolume::decode(&s, loc);
                let _ = Partition::decode(&s, loc);
                let _ = LogicalVolume::decode(&s, loc);
                let _ = UnallocatedSpace::decode(&s, loc);
                let _ = LogicalVolumeIntegrity::decode(&s, loc);
            }
        }
    }
    // Short buffers.
    for n in 0..600 {
        let b = &secs[3][..n.min(BLOCK_SIZE)];
        let _ = LogicalVolume::decode(b, 3);
        let _ = Anchor::decode(b, 3);
    }
    let _ = ExtentType::Recorded;
}
