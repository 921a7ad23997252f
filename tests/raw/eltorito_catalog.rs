//! The El Torito boot catalog (El Torito 1.0 2.0 to 2.5): the encoder and decoder of
//! `glassmaster::raw::eltorito::catalog`, through the public API.

use glassmaster::raw::eltorito::catalog::*;
use glassmaster::raw::eltorito::BootError;

fn entry(platform: Platform, rba: u32, count: u16, id: &str) -> BootEntry {
    BootEntry {
        id_string: id.into(),
        ..BootEntry::no_emulation(platform, rba, count)
    }
}

#[test]
fn boot_record_bytes() {
    let d = boot_record_descriptor(0x1234_5678);
    let mut want = [0u8; 2048];
    want[1..6].copy_from_slice(&[0x43, 0x44, 0x30, 0x30, 0x31]);
    want[6] = 1;
    want[7..30].copy_from_slice(b"EL TORITO SPECIFICATION");
    want[0x47..0x4B].copy_from_slice(&[0x78, 0x56, 0x34, 0x12]);
    assert_eq!(d[..], want[..]);
    assert_eq!(decode_boot_record(&d).unwrap(), 0x1234_5678);
    let mut bad = d;
    bad[30] = b'X';
    assert!(decode_boot_record(&bad).is_err());
    assert!(decode_boot_record(&d[..10]).is_err());
}

#[test]
fn validation_checksum_by_hand() {
    // Platform x86, empty id: words are 0x0001, 0, ..., checksum, 0xAA55.
    // 0x0001 + 0xAA55 = 0xAA56; checksum = 0x10000 - 0xAA56 = 0x55AA, stored AA 55 —
    // the bytes genisoimage and xorriso write for an empty id ("aa5555aa" at 1C-1F).
    let cat = encode_catalog(&[entry(Platform::X86, 20, 4, "")]).unwrap();
    assert_eq!(&cat[0x1C..0x20], &[0xAA, 0x55, 0x55, 0xAA]);
    // Platform EFI (0xEF), id "AB": words 0xEF01, 0x0000, 0x4241 ('A' 0x41, 'B' 0x42),
    // key 0xAA55: 0xEF01 + 0x4241 = 0x13142 -> 0x3142; + 0xAA55 = 0xDB97;
    // checksum = 0x10000 - 0xDB97 = 0x2469.
    let cat = encode_catalog(&[entry(Platform::Efi, 20, 4, "AB")]).unwrap();
    assert_eq!(&cat[0x1C..0x1E], &[0x69, 0x24]);
    let sum = cat[..32].chunks(2).fold(0u16, |s, w| {
        s.wrapping_add(u16::from_le_bytes([w[0], w[1]]))
    });
    assert_eq!(sum, 0);
}

#[test]
fn single_entry_bytes() {
    let mut e = entry(Platform::X86, 0x1B, 4, "");
    e.load_segment = 0;
    let cat = encode_catalog(&[e]).unwrap();
    assert_eq!(cat.len(), 64);
    assert_eq!(catalog_len(&[entry(Platform::X86, 0, 0, "")]), 64);
    // Same bytes as `genisoimage -b boot.bin -no-emul-boot -boot-load-size 4` with the boot
    // file at block 0x1B.
    let want_default = [
        0x88, 0, 0, 0, 0, 0, 4, 0, 0x1B, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0,
    ];
    assert_eq!(&cat[32..64], &want_default);
}

#[test]
fn round_trip_three_entries() {
    let bios = BootEntry {
        id_string: "GLASSMASTER".into(),
        ..entry(Platform::X86, 30, 4, "")
    };
    let efi = entry(Platform::Efi, 40, 0, "UEFI");
    let hd = BootEntry {
        platform: Platform::X86,
        emulation: Emulation::HardDisk,
        bootable: false,
        load_segment: 0x1000,
        system_type: 0x0C,
        sector_count: 1,
        load_rba: 50,
        id_string: "HD".into(),
    };
    let entries = vec![bios, efi, hd];
    let cat = encode_catalog(&entries).unwrap();
    // validation, default, header(EFI), entry, header(x86), entry
    assert_eq!(cat.len(), 6 * 32);
    assert_eq!(cat.len(), catalog_len(&entries));
    assert_eq!(&cat[64..68], &[0x90, 0xEF, 1, 0]);
    assert_eq!(&cat[68..72], b"UEFI");
    assert_eq!(&cat[128..132], &[0x91, 0x00, 1, 0]);
    assert_eq!(cat[160], 0x00); // not bootable
    assert_eq!(cat[161], 4);
    assert_eq!(&cat[162..164], &[0x00, 0x10]);
    assert_eq!(cat[164], 0x0C);
    assert_eq!(decode_catalog(&cat).unwrap(), entries);
    // Zero padding to a block does not change the result.
    let mut block = cat.clone();
    block.resize(2048, 0);
    assert_eq!(decode_catalog(&block).unwrap(), entries);
}

#[test]
fn grouping_and_limits() {
    let mut es = vec![entry(Platform::X86, 1, 4, "")];
    es.push(entry(Platform::Efi, 2, 4, ""));
    es.push(entry(Platform::Efi, 3, 4, ""));
    es.push(entry(Platform::Efi, 4, 4, "other"));
    let cat = encode_catalog(&es).unwrap();
    // xorriso's `-e a -e b`: one header for the two EFI entries.
    assert_eq!(&cat[64..68], &[0x90, 0xEF, 2, 0]);
    assert_eq!(&cat[160..164], &[0x91, 0xEF, 1, 0]);
    assert_eq!(cat.len(), 7 * 32);
    assert_eq!(decode_catalog(&cat).unwrap(), es);

    // 32 entries, alternating platforms: the worst case fills one block exactly.
    let many: Vec<BootEntry> = (0..32)
        .map(|i| {
            entry(
                if i % 2 == 0 {
                    Platform::X86
                } else {
                    Platform::Efi
                },
                i,
                4,
                "",
            )
        })
        .collect();
    let cat = encode_catalog(&many).unwrap();
    assert_eq!(cat.len(), 2048);
    assert_eq!(catalog_max_len(32), 2048);
    assert_eq!(decode_catalog(&cat).unwrap(), many);
    let mut too_many = many.clone();
    too_many.push(entry(Platform::X86, 99, 4, ""));
    assert_eq!(
        encode_catalog(&too_many),
        Err(BootError::TooManyEntries { count: 33, max: 32 })
    );
    assert_eq!(encode_catalog(&[]), Err(BootError::NoEntries));
    assert!(encode_catalog(&[entry(Platform::X86, 1, 4, &"x".repeat(25))]).is_err());
    assert!(encode_catalog(&[entry(Platform::X86, 1, 4, &"x".repeat(24))]).is_ok());
    assert!(encode_catalog(&[entry(Platform::X86, 1, 4, "é")]).is_err());
}

#[test]
fn decode_without_headers_and_with_extensions() {
    let es = vec![
        entry(Platform::X86, 1, 4, ""),
        entry(Platform::Efi, 2, 8, ""),
    ];
    let cat = encode_catalog(&es).unwrap();
    // Remove the section header: the second entry inherits the validation platform.
    let mut no_hdr = cat[..64].to_vec();
    no_hdr.extend_from_slice(&cat[96..128]);
    no_hdr.resize(2048, 0);
    let got = decode_catalog(&no_hdr).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].platform, Platform::X86);
    assert_eq!(got[1].load_rba, 2);
    // An extension after the section entry (flag bit 5, record 0x44), counted or not.
    for count in [1u8, 2] {
        let mut ext = cat.clone();
        ext[66] = count;
        ext[97] |= 0x20;
        let mut rec = [0u8; 32];
        rec[0] = 0x44;
        ext.extend_from_slice(&rec);
        ext.resize(2048, 0);
        assert_eq!(decode_catalog(&ext).unwrap(), es, "count {count}");
    }
}

#[test]
fn decode_rejects() {
    let cat = encode_catalog(&[entry(Platform::X86, 1, 4, "")]).unwrap();
    let mut bad = cat.clone();
    bad[0x1C] ^= 1;
    assert!(matches!(
        decode_catalog(&bad),
        Err(BootError::Malformed { offset: 0x1C, .. })
    ));
    let mut bad = cat.clone();
    bad[0x1F] = 0;
    assert!(decode_catalog(&bad).is_err());
    let mut bad = cat.clone();
    bad[32] = 0x77;
    assert!(decode_catalog(&bad).is_err());
    let mut bad = cat.clone();
    bad[33] = 7;
    assert!(decode_catalog(&bad).is_err());
    // A header announcing more entries than there are.
    let mut bad = cat.clone();
    bad.extend_from_slice(&[0x91, 0, 5, 0]);
    bad.resize(96, 0);
    assert!(decode_catalog(&bad).is_err());
    assert!(decode_catalog(&cat[..40]).is_err());
}

#[test]
fn floppy_and_hard_disk_checks() {
    assert_eq!(check_floppy(1_228_800), Ok(Emulation::Floppy12));
    assert_eq!(check_floppy(1_474_560), Ok(Emulation::Floppy144));
    assert_eq!(check_floppy(2_949_120), Ok(Emulation::Floppy288));
    let e = check_floppy(1_474_561).unwrap_err();
    assert!(e.to_string().contains("1474560"), "{e}");

    let mut mbr = [0u8; 512];
    assert!(check_hard_disk(&mbr).is_err());
    mbr[510] = 0x55;
    mbr[511] = 0xAA;
    assert!(check_hard_disk(&mbr).is_err(), "no partition");
    let p = 446 + 16;
    mbr[p] = 0x80;
    mbr[p + 4] = 0x0C;
    mbr[p + 8..p + 12].copy_from_slice(&63u32.to_le_bytes());
    mbr[p + 12..p + 16].copy_from_slice(&1000u32.to_le_bytes());
    let hd = check_hard_disk(&mbr).unwrap();
    assert_eq!(
        hd,
        HardDiskImage {
            system_type: 0x0C,
            sector_count: 1,
            partition_index: 1,
            first_lba: 63,
            sectors: 1000
        }
    );
    mbr[446 + 4] = 0x83;
    assert!(check_hard_disk(&mbr)
        .unwrap_err()
        .to_string()
        .contains("2 partition"));
}

#[test]
fn load_sizes() {
    use LoadSize::*;
    let n = |p, len, l| no_emulation_sector_count(p, len, l);
    assert_eq!(n(Platform::X86, 2048, WholeFile), Ok(4));
    assert_eq!(n(Platform::X86, 9000, WholeFile), Ok(20));
    assert_eq!(n(Platform::X86, 10_000, WholeFile), Ok(20));
    assert_eq!(n(Platform::X86, 1, WholeFile), Ok(4));
    assert_eq!(n(Platform::X86, 65535 * 512, WholeFile), Ok(65535));
    assert_eq!(n(Platform::X86, 65535 * 512 + 1, WholeFile), Err(BootError::LoadSize(
        "the boot file is 33553921 bytes (65536 sectors of 512); the catalog's 16-bit sector count loads at most 65535 sectors (33553920 bytes); give an explicit load size".into()
    )));
    assert_eq!(n(Platform::Efi, 16383 * 2048, WholeFile), Ok(65532));
    assert_eq!(n(Platform::Efi, 40_000_000, WholeFile), Ok(0));
    assert_eq!(n(Platform::X86, 40_000_000, Sectors(4)), Ok(4));
    assert!(n(Platform::X86, 100, Sectors(0)).is_err());
    assert!(n(Platform::X86, 0, WholeFile).is_err());
}

proptest::proptest! {
    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
        let _ = decode_catalog(&bytes);
        let _ = decode_boot_record(&bytes);
    }

    #[test]
    fn decode_never_panics_valid_prefix(tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
        let mut cat = encode_catalog(&[entry(Platform::X86, 1, 4, "")]).unwrap();
        cat.extend_from_slice(&tail);
        let _ = decode_catalog(&cat);
    }
}
