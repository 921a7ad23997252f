//! Booting images made with `glassmaster::eltorito` in QEMU (SeaBIOS and OVMF), plus partition
//! tables checked by `sgdisk -v` and `fdisk -l`.
//!
//! Until the layout can place boot structures, the images are assembled here from the pure
//! encoders: raw floppy and hard-disk images, a GPT disk with an EFI system partition, and small
//! hand-made ISO images (PVD, boot record, terminator, catalog, path tables, root directory,
//! boot files, optionally a protective MBR + GPT and the backup GPT at the end).
//!
//! Every BIOS boot runs a tiny hand-assembled real-mode program that writes a marker to COM1;
//! every UEFI boot runs a GRUB standalone image (made with `grub-mkstandalone`) whose embedded
//! `grub.cfg` echoes a marker on the serial console and halts. The test passes when the marker
//! shows up on QEMU's serial output.
//!
//! Needs qemu-system-x86_64, OVMF, grub-efi-amd64-bin (grub-mkstandalone), mtools, dosfstools,
//! gdisk and fdisk (Debian: `qemu-system-x86 ovmf grub-efi-amd64-bin mtools dosfstools gdisk
//! fdisk`). Missing ones skip the test with a note, except with `CI=true`, where they fail it.

mod common;
#[path = "common/qemu.rs"]
mod qemu;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::{both16, both32, missing, require_tool, run, xorriso_report};
use glassmaster::raw::eltorito::catalog::{
    self, boot_record_descriptor, check_floppy, check_hard_disk, decode_catalog, encode_catalog,
    no_emulation_sector_count, BootEntry, Emulation, LoadSize, Platform,
};
use glassmaster::raw::eltorito::hybrid::{
    self, mbr, protective_mbr, type_guid, GptDisk, GptPartition, Guid, MbrPartition,
};
use glassmaster::raw::eltorito::info_table::{decode_info_table, Checksum, InfoTablePatcher};
use qemu::{ovmf_args, run_qemu};
use tempfile::TempDir;

const BIOS_TIMEOUT: Duration = Duration::from_secs(20);
/// OVMF under TCG needs about 6 s; leave room for a loaded machine.
const UEFI_TIMEOUT: Duration = Duration::from_secs(40);
/// Memory of each QEMU machine (these boot programs need little).
const MEMORY_MB: u32 = 128;
const BIOS_MARKER: &str = "GLASSMASTER-BOOT-OK";
const EFI_MARKER: &str = "GLASSMASTER-EFI-OK";

// ------------------------------------------------------------------------------------------------
// Environment

fn have_qemu() -> bool {
    require_tool("qemu-system-x86_64")
}

/// Skips (or fails in CI) unless QEMU, OVMF and the tools that make the EFI image exist.
fn uefi_ready(scratch: &Path) -> Option<Vec<String>> {
    if !have_qemu() {
        return None;
    }
    if !["grub-mkstandalone", "mkfs.vfat", "mmd", "mcopy"]
        .iter()
        .all(|t| require_tool(t))
    {
        return None;
    }
    match ovmf_args(scratch) {
        Some(a) => Some(a),
        None => {
            missing(
                "OVMF (/usr/share/ovmf/OVMF.fd)",
                "boot tests need qemu-system-x86 ovmf grub-efi-amd64-bin mtools dosfstools gdisk fdisk; .ci/run installs them",
            );
            None
        }
    }
}

// ------------------------------------------------------------------------------------------------
// The harness

/// Boots and asserts the marker appeared; prints the time taken.
fn boot(name: &str, args: &[&str], marker: &str, timeout: Duration) {
    let r = run_qemu(args, MEMORY_MB, marker, timeout);
    assert!(
        r.found,
        "{name}: marker {marker:?} not seen within {timeout:?}; serial output:\n{}",
        r.serial
    );
    eprintln!("{name}: booted in {:.1} s", r.elapsed.as_secs_f64());
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

// ------------------------------------------------------------------------------------------------
// The BIOS boot program

/// Where the program's code starts: bytes 0..2 jump over bytes 8..64, where a boot info table
/// may be patched in (and, for a boot sector, there is room for nothing else we need).
const CODE_AT: usize = 0x40;

/// A 16-bit real-mode program that writes `GLASSMASTER-BOOT-OK <tag>\r\n` to COM1 and halts.
/// Position independent, so it runs at 0000:7C00 (floppy, hard disk) and at 07C0:0000 (El
/// Torito no emulation, load segment 0 = 0x7C0) alike. Hand-assembled; offsets are from
/// `CODE_AT`.
fn boot_program(tag: &str) -> Vec<u8> {
    let mut p = vec![0u8; CODE_AT];
    p[0] = 0xEB; // jmp short CODE_AT
    p[1] = (CODE_AT - 2) as u8; //   (rel8 from the next instruction at 2)
    #[rustfmt::skip]
    let code: [u8; 0x43] = [
        0xFA,                   // 00 cli                 ; no interrupts: hlt then stops for good
        0xFC,                   // 01 cld                 ; lodsb counts up
        0x31, 0xC0,             // 02 xor ax, ax
        0x8E, 0xD0,             // 04 mov ss, ax          ; stack at 0000:7C00, growing down
        0xBC, 0x00, 0x7C,       // 06 mov sp, 0x7C00
        0x0E,                   // 09 push cs
        0x1F,                   // 0A pop ds              ; ds = cs, whatever the BIOS chose
        0xE8, 0x00, 0x00,       // 0B call 0x0E           ; pushes the offset of 0E...
        0x5E,                   // 0E pop si              ; ...into si (cs-relative)
        0x83, 0xC6, 0x35,       // 0F add si, 0x43 - 0x0E ; si = the message at 43
        0xBA, 0xFB, 0x03,       // 12 mov dx, 0x3FB       ; COM1 line control register
        0xB0, 0x80,             // 15 mov al, 0x80        ; DLAB = 1: divisor latch
        0xEE,                   // 17 out dx, al
        0xBA, 0xF8, 0x03,       // 18 mov dx, 0x3F8       ; divisor low byte
        0xB0, 0x01,             // 1B mov al, 1           ; 115200 baud
        0xEE,                   // 1D out dx, al
        0x42,                   // 1E inc dx              ; 0x3F9: divisor high byte
        0x30, 0xC0,             // 1F xor al, al
        0xEE,                   // 21 out dx, al
        0xBA, 0xFB, 0x03,       // 22 mov dx, 0x3FB
        0xB0, 0x03,             // 25 mov al, 3           ; 8 bits, no parity, 1 stop, DLAB = 0
        0xEE,                   // 27 out dx, al
        0xAC,                   // 28 next: lodsb         ; al = [ds:si++]
        0x84, 0xC0,             // 29 test al, al
        0x74, 0x12,             // 2B jz halt (3F)        ; NUL ends the message
        0x88, 0xC4,             // 2D mov ah, al
        0xBA, 0xFD, 0x03,       // 2F mov dx, 0x3FD       ; line status register
        0xEC,                   // 32 wait: in al, dx
        0xA8, 0x20,             // 33 test al, 0x20       ; transmit holding register empty?
        0x74, 0xFB,             // 35 jz wait (32)
        0x88, 0xE0,             // 37 mov al, ah
        0xBA, 0xF8, 0x03,       // 39 mov dx, 0x3F8       ; transmit holding register
        0xEE,                   // 3C out dx, al
        0xEB, 0xE9,             // 3D jmp next (28)
        0xFA,                   // 3F halt: cli
        0xF4,                   // 40 hlt
        0xEB, 0xFC,             // 41 jmp halt (3F)
    ];
    p.extend_from_slice(&code);
    p.extend_from_slice(format!("{BIOS_MARKER} {tag}\r\n\0").as_bytes());
    assert!(p.len() <= 440, "must fit in an MBR's boot code area");
    p
}

fn boot_code_440(tag: &str) -> [u8; 440] {
    let p = boot_program(tag);
    let mut code = [0u8; 440];
    code[..p.len()].copy_from_slice(&p);
    code
}

/// A 1.44 MB floppy: the program as boot sector (0x55AA at 510), zeros after.
fn floppy_image(tag: &str) -> Vec<u8> {
    let mut img = vec![0u8; catalog::FLOPPY_144_BYTES as usize];
    let p = boot_program(tag);
    img[..p.len()].copy_from_slice(&p);
    img[510] = 0x55;
    img[511] = 0xAA;
    assert_eq!(check_floppy(img.len() as u64), Ok(Emulation::Floppy144));
    img
}

/// A 2 MiB hard disk: MBR with the program as boot code and one bootable FAT32 (LBA)
/// partition at sector 2048.
fn hard_disk_image(tag: &str) -> Vec<u8> {
    let mut img = vec![0u8; 2 << 20];
    let part = MbrPartition {
        bootable: true,
        partition_type: 0x0C,
        first_lba: 2048,
        sectors: 2048,
    };
    let sector = mbr(Some(&boot_code_440(tag)), 0x4753_4D42, &[part]).unwrap();
    img[..512].copy_from_slice(&sector);
    img
}

// ------------------------------------------------------------------------------------------------
// The EFI program (GRUB standalone) on a FAT file system

/// The bytes of a 4 MiB FAT image holding `/EFI/BOOT/BOOTX64.EFI`, a GRUB standalone image
/// whose embedded grub.cfg prints `GLASSMASTER-EFI-OK` on the serial console and halts. Made
/// once per test run (None if the tools are missing).
fn efi_fat_image() -> Option<&'static [u8]> {
    static IMG: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    IMG.get_or_init(|| {
        let dir = TempDir::new().ok()?;
        let cfg = dir.path().join("grub.cfg");
        std::fs::write(
            &cfg,
            format!(
                "serial --unit=0 --speed=115200\nterminal_output serial console\necho {EFI_MARKER}\nhalt\n"
            ),
        )
        .ok()?;
        let efi = dir.path().join("BOOTX64.EFI");
        run(Command::new("grub-mkstandalone")
            .args(["-O", "x86_64-efi", "-o"])
            .arg(&efi)
            // Only what grub.cfg needs: 0.6 MB instead of 10 MB with every module.
            .args([
                "--install-modules=normal echo serial terminal halt configfile",
                "--modules=serial terminal",
                "--locales=",
                "--fonts=",
                "--themes=",
            ])
            .arg(format!("boot/grub/grub.cfg={}", cfg.display())));
        let img = dir.path().join("efi.img");
        run(Command::new("mkfs.vfat")
            .args(["-n", "GMEFI", "-i", "47534D42", "-C"])
            .arg(&img)
            .arg("4096"));
        run(Command::new("mmd")
            .arg("-i")
            .arg(&img)
            .args(["::/EFI", "::/EFI/BOOT"]));
        run(Command::new("mcopy")
            .arg("-i")
            .arg(&img)
            .arg(&efi)
            .arg("::/EFI/BOOT/BOOTX64.EFI"));
        std::fs::read(&img).ok()
    })
    .as_deref()
}

// ------------------------------------------------------------------------------------------------
// A minimal ISO 9660 image around the El Torito structures

/// One boot image in a test ISO.
struct BootImage {
    data: Vec<u8>,
    /// The catalog entry; `load_rba` is filled in by [`build_iso`].
    entry: BootEntry,
    /// Patch a boot info table into the rendered bytes.
    info_table: bool,
    /// Also expose the image as a GPT EFI system partition (hybrid images).
    esp: bool,
}

struct Iso {
    bytes: Vec<u8>,
    catalog_lba: u32,
    /// Block of each boot image, in order.
    lbas: Vec<u32>,
}

const PVD_LBA: u32 = 16;
const CATALOG_LBA: u32 = 19;

/// A 34-byte directory record for "." (id 0x00) or ".." (0x01) of a one-block directory
/// (ECMA-119 9.1).
fn dir_record(extent: u32, id: u8) -> [u8; 34] {
    let mut r = [0u8; 34];
    r[0] = 34;
    r[2..10].copy_from_slice(&both32(extent));
    r[10..18].copy_from_slice(&both32(2048));
    r[18..25].copy_from_slice(&[124, 1, 1, 0, 0, 0, 0]); // 2024-01-01 00:00:00 UTC
    r[25] = 0x02; // directory
    r[28..32].copy_from_slice(&both16(1));
    r[32] = 1;
    r[33] = id;
    r
}

/// Builds: system area (optionally protective MBR + GPT), PVD (16), boot record (17),
/// terminator (18), catalog (19), L and M path tables (20, 21), root directory (22), the boot
/// images from 23 on, then (hybrid) the backup GPT in the last 9 blocks. The boot info table is
/// patched in the way the lazy stream will: checksum fed in odd-sized chunks, patch applied to
/// odd-sized windows of the rendered bytes.
fn build_iso(
    images: Vec<BootImage>,
    hybrid_boot_code: Option<[u8; 440]>,
    gpt_seed: Option<u64>,
) -> Iso {
    let mut next = 23u32;
    let mut lbas = Vec::new();
    for im in &images {
        lbas.push(next);
        next += im.data.len().div_ceil(2048) as u32;
    }
    let data_end = next;
    let total = if gpt_seed.is_some() {
        data_end + hybrid::GPT_BACKUP_BLOCKS
    } else {
        data_end
    };
    let mut iso = vec![0u8; total as usize * 2048];
    let block = |iso: &mut Vec<u8>, lba: u32, bytes: &[u8]| {
        let at = lba as usize * 2048;
        iso[at..at + bytes.len()].copy_from_slice(bytes);
    };

    // PVD (ECMA-119 8.4).
    let mut pvd = vec![0u8; 2048];
    pvd[0] = 1;
    pvd[1..6].copy_from_slice(b"CD001");
    pvd[6] = 1;
    pvd[8..40].fill(b' ');
    pvd[40..72].fill(b' ');
    pvd[40..51].copy_from_slice(b"GLASSMASTER");
    pvd[80..88].copy_from_slice(&both32(total));
    pvd[120..124].copy_from_slice(&both16(1));
    pvd[124..128].copy_from_slice(&both16(1));
    pvd[128..132].copy_from_slice(&both16(2048));
    pvd[132..140].copy_from_slice(&both32(10));
    pvd[140..144].copy_from_slice(&20u32.to_le_bytes());
    pvd[148..152].copy_from_slice(&21u32.to_be_bytes());
    pvd[156..190].copy_from_slice(&dir_record(22, 0));
    pvd[190..813].fill(b' ');
    for at in [813, 830] {
        pvd[at..at + 16].copy_from_slice(b"2024010100000000");
    }
    for at in [847, 864] {
        pvd[at..at + 16].copy_from_slice(b"0000000000000000");
    }
    pvd[881] = 1;
    block(&mut iso, PVD_LBA, &pvd);
    block(&mut iso, 17, &boot_record_descriptor(CATALOG_LBA));
    let mut term = vec![0u8; 2048];
    term[0] = 255;
    term[1..6].copy_from_slice(b"CD001");
    term[6] = 1;
    block(&mut iso, 18, &term);
    // Path tables (ECMA-119 9.4): one record for the root, parent 1, id 0x00 plus a pad byte.
    let mut l = [1u8, 0, 22, 0, 0, 0, 1, 0, 0, 0];
    block(&mut iso, 20, &l);
    l[2..6].copy_from_slice(&22u32.to_be_bytes());
    l[6..8].copy_from_slice(&1u16.to_be_bytes());
    block(&mut iso, 21, &l);
    let mut root = dir_record(22, 0).to_vec();
    root.extend_from_slice(&dir_record(22, 1));
    block(&mut iso, 22, &root);

    // Catalog.
    let entries: Vec<BootEntry> = images
        .iter()
        .zip(&lbas)
        .map(|(im, &lba)| BootEntry {
            load_rba: lba,
            ..im.entry.clone()
        })
        .collect();
    let cat = encode_catalog(&entries).unwrap();
    assert_eq!(cat.len(), catalog::catalog_len(&entries));
    block(&mut iso, CATALOG_LBA, &cat);

    // Boot images, rendered like the lazy stream will.
    for (im, &lba) in images.iter().zip(&lbas) {
        let at = lba as usize * 2048;
        if im.info_table {
            let mut sum = Checksum::new();
            for (k, chunk) in im.data.chunks(700).enumerate() {
                sum.update((k * 700) as u64, chunk);
            }
            assert_eq!(sum.bytes_seen(), im.data.len() as u64);
            let patcher =
                InfoTablePatcher::new(PVD_LBA, lba, im.data.len() as u64, sum.value()).unwrap();
            for (k, chunk) in im.data.chunks(27).enumerate() {
                let mut buf = chunk.to_vec();
                patcher.patch((k * 27) as u64, &mut buf);
                iso[at + k * 27..at + k * 27 + buf.len()].copy_from_slice(&buf);
            }
        } else {
            iso[at..at + im.data.len()].copy_from_slice(&im.data);
        }
    }

    // Hybrid: protective MBR + primary GPT in the system area, backup GPT at the very end.
    if let Some(seed) = gpt_seed {
        let sectors = u64::from(total) * 4;
        let partitions: Vec<GptPartition> = images
            .iter()
            .zip(&lbas)
            .filter(|(im, _)| im.esp)
            .enumerate()
            .map(|(i, (im, &lba))| GptPartition {
                type_guid: type_guid::EFI_SYSTEM,
                unique_guid: Guid::deterministic(seed, i as u64 + 1),
                first_lba: hybrid::iso_block_to_sector(u64::from(lba)),
                last_lba: hybrid::iso_block_to_sector(u64::from(lba))
                    + im.data.len().div_ceil(512) as u64
                    - 1,
                attributes: 0,
                name: "EFI boot".into(),
            })
            .collect();
        let disk = GptDisk {
            disk_guid: Guid::deterministic(seed, 0),
            total_sectors: sectors,
            partitions,
        };
        iso[..512].copy_from_slice(&protective_mbr(hybrid_boot_code.as_ref(), 0, sectors));
        let primary = disk.primary().unwrap();
        iso[512..512 + primary.len()].copy_from_slice(&primary);
        let backup = disk.backup().unwrap();
        let at = iso.len() - backup.len();
        iso[at..].copy_from_slice(&backup);
        assert_eq!(at, data_end as usize * 2048);
    }
    Iso {
        bytes: iso,
        catalog_lba: CATALOG_LBA,
        lbas,
    }
}

/// A no-emulation x86 entry for the 2048-byte boot program (4 sectors, info table patched).
fn bios_no_emulation(tag: &str) -> BootImage {
    let mut data = boot_program(tag);
    data.resize(2048, 0);
    let count =
        no_emulation_sector_count(Platform::X86, data.len() as u64, LoadSize::WholeFile).unwrap();
    assert_eq!(count, catalog::ISOLINUX_LOAD_SECTORS);
    BootImage {
        data,
        entry: BootEntry {
            id_string: "GLASSMASTER".into(),
            ..BootEntry::no_emulation(Platform::X86, 0, count)
        },
        info_table: true,
        esp: false,
    }
}

/// A no-emulation EFI entry for the FAT image; `count` overrides the computed sector count.
fn efi_no_emulation(fat: &[u8], count: Option<u16>, esp: bool) -> BootImage {
    let computed =
        no_emulation_sector_count(Platform::Efi, fat.len() as u64, LoadSize::WholeFile).unwrap();
    BootImage {
        data: fat.to_vec(),
        entry: BootEntry::no_emulation(Platform::Efi, 0, count.unwrap_or(computed)),
        info_table: false,
        esp,
    }
}

fn write(dir: &TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

// ------------------------------------------------------------------------------------------------
// Tests: partition tables checked by sgdisk and fdisk (no QEMU)

#[test]
fn gpt_disk_passes_sgdisk_and_fdisk() {
    if !(require_tool("sgdisk") && require_tool("fdisk")) {
        return;
    }
    let dir = TempDir::new().unwrap();
    let sectors = 16384u64; // 8 MiB
    let disk = GptDisk {
        disk_guid: Guid::deterministic(1, 0),
        total_sectors: sectors,
        partitions: vec![
            GptPartition {
                type_guid: type_guid::EFI_SYSTEM,
                unique_guid: Guid::deterministic(1, 1),
                first_lba: 2048,
                last_lba: 10239,
                attributes: 0,
                name: "EFI system partition".into(),
            },
            GptPartition {
                type_guid: type_guid::BASIC_DATA,
                unique_guid: Guid::deterministic(1, 2),
                first_lba: 10240,
                last_lba: sectors - 34,
                attributes: 1 << 60,
                name: "ISO9660".into(),
            },
        ],
    };
    let mut img = vec![0u8; sectors as usize * 512];
    img[..512].copy_from_slice(&protective_mbr(None, 0, sectors));
    let primary = disk.primary().unwrap();
    img[512..512 + primary.len()].copy_from_slice(&primary);
    let backup = disk.backup().unwrap();
    let n = img.len();
    img[n - backup.len()..].copy_from_slice(&backup);
    let path = write(&dir, "gpt.img", &img);

    let v = String::from_utf8_lossy(&run(Command::new("sgdisk").arg("-v").arg(&path)).stdout)
        .into_owned();
    assert!(v.contains("No problems found"), "sgdisk -v:\n{v}");
    let p = String::from_utf8_lossy(&run(Command::new("sgdisk").arg("-p").arg(&path)).stdout)
        .into_owned();
    assert!(
        p.contains(&format!("Disk identifier (GUID): {}", disk.disk_guid)),
        "{p}"
    );
    assert!(
        p.contains("First usable sector is 34, last usable sector is 16350"),
        "{p}"
    );
    assert!(p.contains("EFI system partition"), "{p}");
    let i1 =
        String::from_utf8_lossy(&run(Command::new("sgdisk").args(["-i", "1"]).arg(&path)).stdout)
            .into_owned();
    assert!(i1.contains("C12A7328-F81F-11D2-BA4B-00A0C93EC93B"), "{i1}");
    assert!(i1.contains(&Guid::deterministic(1, 1).to_string()), "{i1}");
    let i2 =
        String::from_utf8_lossy(&run(Command::new("sgdisk").args(["-i", "2"]).arg(&path)).stdout)
            .into_owned();
    assert!(i2.contains("EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"), "{i2}");
    assert!(i2.contains("Attribute flags: 1000000000000000"), "{i2}");
    assert!(i2.contains("Partition name: 'ISO9660'"), "{i2}");

    let f = String::from_utf8_lossy(&run(Command::new("fdisk").arg("-l").arg(&path)).stdout)
        .into_owned();
    assert!(f.contains("Disklabel type: gpt"), "fdisk -l:\n{f}");
    assert!(
        squeeze(&f).contains("gpt.img1 2048 10239 8192 4M EFI System"),
        "fdisk -l:\n{f}"
    );
    assert!(
        squeeze(&f).contains("gpt.img2 10240 16350 6111 3M Microsoft basic data"),
        "fdisk -l:\n{f}"
    );
    eprintln!("sgdisk -v:\n{v}\nfdisk -l:\n{f}");
}

#[test]
fn mbr_disk_passes_fdisk() {
    if !require_tool("fdisk") || !require_tool("sfdisk") {
        return;
    }
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "hd.img", &hard_disk_image("hd"));
    let f = String::from_utf8_lossy(&run(Command::new("fdisk").arg("-l").arg(&path)).stdout)
        .into_owned();
    assert!(f.contains("Disklabel type: dos"), "{f}");
    assert!(f.contains("Disk identifier: 0x47534d42"), "{f}");
    assert!(
        squeeze(&f).contains("hd.img1 * 2048 4095 2048 1M c W95 FAT32 (LBA)"),
        "fdisk -l:\n{f}"
    );
    // sfdisk --verify checks the CHS fields against the LBA ones.
    let v = run(Command::new("sfdisk").arg("--verify").arg(&path));
    let text =
        String::from_utf8_lossy(&v.stdout).into_owned() + &String::from_utf8_lossy(&v.stderr);
    assert!(
        !text.to_lowercase().contains("warning") && !text.contains("differ"),
        "sfdisk --verify:\n{text}"
    );
    eprintln!("fdisk -l:\n{f}\nsfdisk --verify:\n{text}");
}

// ------------------------------------------------------------------------------------------------
// Tests: BIOS (SeaBIOS)

#[test]
fn bios_boots_floppy_image() {
    if !have_qemu() {
        return;
    }
    let dir = TempDir::new().unwrap();
    let img = write(&dir, "floppy.img", &floppy_image("floppy"));
    let drive = format!("file={},format=raw,if=floppy", path_str(&img));
    boot(
        "floppy",
        &["-drive", &drive, "-boot", "a"],
        &format!("{BIOS_MARKER} floppy"),
        BIOS_TIMEOUT,
    );
}

#[test]
fn bios_boots_hard_disk_image() {
    if !have_qemu() {
        return;
    }
    let dir = TempDir::new().unwrap();
    let img = write(&dir, "hd.img", &hard_disk_image("hd"));
    let drive = format!("file={},format=raw", path_str(&img));
    boot(
        "hard disk",
        &["-drive", &drive, "-boot", "c"],
        &format!("{BIOS_MARKER} hd"),
        BIOS_TIMEOUT,
    );
}

#[test]
fn bios_boots_no_emulation_cdrom() {
    if !have_qemu() {
        return;
    }
    let dir = TempDir::new().unwrap();
    let iso = build_iso(vec![bios_no_emulation("cdrom")], None, None);
    // The info table in the image is right.
    let lba = iso.lbas[0] as usize;
    let file = &iso.bytes[lba * 2048..lba * 2048 + 2048];
    let t = decode_info_table(file).expect("info table");
    let mut unpatched = boot_program("cdrom");
    unpatched.resize(2048, 0);
    assert_eq!((t.pvd_lba, t.file_lba, t.file_len), (16, lba as u32, 2048));
    assert_eq!(
        t.checksum,
        glassmaster::raw::eltorito::info_table::checksum(&unpatched)
    );
    let path = write(&dir, "noemul.iso", &iso.bytes);
    check_with_xorriso(&path, &["BIOS  y   none  0x0000  0x00      4"]);
    boot(
        "no-emulation CD",
        &["-cdrom", path_str(&path), "-boot", "d"],
        &format!("{BIOS_MARKER} cdrom"),
        BIOS_TIMEOUT,
    );
}

#[test]
fn bios_boots_floppy_and_hard_disk_emulation_cdroms() {
    if !have_qemu() {
        return;
    }
    let dir = TempDir::new().unwrap();
    // Floppy emulation: media type 2, one sector loaded.
    let floppy = floppy_image("cd-floppy");
    let iso = build_iso(
        vec![BootImage {
            entry: BootEntry {
                emulation: check_floppy(floppy.len() as u64).unwrap(),
                sector_count: 1,
                ..BootEntry::no_emulation(Platform::X86, 0, 0)
            },
            data: floppy,
            info_table: false,
            esp: false,
        }],
        None,
        None,
    );
    let fpath = write(&dir, "floppy-emul.iso", &iso.bytes);
    // Hard disk emulation: media type 4, system type from the image's MBR.
    let hd = hard_disk_image("cd-hd");
    let info = check_hard_disk(hd[..512].try_into().unwrap()).unwrap();
    assert_eq!(info.system_type, 0x0C);
    let iso = build_iso(
        vec![BootImage {
            entry: BootEntry {
                emulation: Emulation::HardDisk,
                system_type: info.system_type,
                sector_count: info.sector_count,
                ..BootEntry::no_emulation(Platform::X86, 0, 0)
            },
            data: hd,
            info_table: false,
            esp: false,
        }],
        None,
        None,
    );
    let hpath = write(&dir, "hd-emul.iso", &iso.bytes);
    check_with_xorriso(&fpath, &["BIOS  y   fd1.4"]);
    check_with_xorriso(&hpath, &["BIOS  y   hd     0x0000  0x0c      1"]);
    boot(
        "floppy-emulation CD",
        &["-cdrom", path_str(&fpath), "-boot", "d"],
        &format!("{BIOS_MARKER} cd-floppy"),
        BIOS_TIMEOUT,
    );
    boot(
        "hard-disk-emulation CD",
        &["-cdrom", path_str(&hpath), "-boot", "d"],
        &format!("{BIOS_MARKER} cd-hd"),
        BIOS_TIMEOUT,
    );
}

/// `text` with every run of white space made one space, for comparing tool output.
fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `xorriso -report_el_torito plain` must list the entries (an independent catalog reader).
fn check_with_xorriso(iso: &Path, want: &[&str]) {
    if !require_tool("xorriso") {
        return;
    }
    let out = run(Command::new("xorriso")
        .args([
            "-abort_on",
            "FAILURE",
            "-return_with",
            "FAILURE",
            "32",
            "-indev",
        ])
        .arg(iso)
        .args(["-report_el_torito", "plain"]));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let flat = squeeze(&text);
    assert!(
        flat.contains(&format!("El Torito catalog : {CATALOG_LBA} 1")),
        "{text}"
    );
    for w in want {
        assert!(
            flat.contains(&squeeze(w)),
            "xorriso -report_el_torito: {w:?} missing:\n{text}"
        );
    }
}

// ------------------------------------------------------------------------------------------------
// Tests: UEFI (OVMF)

#[test]
fn uefi_boots_gpt_disk_with_esp() {
    let scratch = TempDir::new().unwrap();
    let Some(ovmf) = uefi_ready(scratch.path()) else {
        return;
    };
    let fat = efi_fat_image().expect("EFI image");
    let sectors = 4096 + fat.len() as u64 / 512 + 2048;
    let disk = GptDisk {
        disk_guid: Guid::deterministic(2, 0),
        total_sectors: sectors,
        partitions: vec![GptPartition {
            type_guid: type_guid::EFI_SYSTEM,
            unique_guid: Guid::deterministic(2, 1),
            first_lba: 2048,
            last_lba: 2048 + fat.len() as u64 / 512 - 1,
            attributes: 0,
            name: "EFI system partition".into(),
        }],
    };
    let mut img = vec![0u8; sectors as usize * 512];
    img[..512].copy_from_slice(&protective_mbr(None, 0, sectors));
    let primary = disk.primary().unwrap();
    img[512..512 + primary.len()].copy_from_slice(&primary);
    img[2048 * 512..2048 * 512 + fat.len()].copy_from_slice(fat);
    let tail = disk.backup_sectors().unwrap();
    let n = img.len();
    img[n - tail.len()..].copy_from_slice(&tail);
    let path = write(&scratch, "gpt-esp.img", &img);
    if require_tool("sgdisk") {
        let v = run(Command::new("sgdisk").arg("-v").arg(&path));
        assert!(String::from_utf8_lossy(&v.stdout).contains("No problems found"));
    }
    let drive = format!("file={},format=raw", path_str(&path));
    let mut args: Vec<&str> = ovmf.iter().map(String::as_str).collect();
    args.extend(["-drive", &drive]);
    boot("UEFI GPT disk", &args, EFI_MARKER, UEFI_TIMEOUT);
}

/// The dual BIOS + UEFI hybrid ISO: catalog [x86 no-emulation program, EFI FAT image],
/// protective MBR whose boot code is the program, GPT with the FAT image as ESP.
fn dual_iso(fat: &[u8], efi_count: Option<u16>) -> Iso {
    let iso = build_iso(
        vec![
            bios_no_emulation("dual-cdrom"),
            efi_no_emulation(fat, efi_count, true),
        ],
        Some(boot_code_440("dual-disk")),
        Some(3),
    );
    let entries = catalog::decode_catalog(
        &iso.bytes[iso.catalog_lba as usize * 2048..iso.catalog_lba as usize * 2048 + 2048],
    )
    .unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].platform, Platform::Efi);
    iso
}

#[test]
fn hybrid_iso_partition_tables_pass_sgdisk() {
    if !require_tool("sgdisk") || !require_tool("mkfs.vfat") {
        return;
    }
    let Some(fat) = efi_fat_image() else { return };
    let dir = TempDir::new().unwrap();
    let iso = dual_iso(fat, None);
    let path = write(&dir, "dual.iso", &iso.bytes);
    let v = String::from_utf8_lossy(&run(Command::new("sgdisk").arg("-v").arg(&path)).stdout)
        .into_owned();
    assert!(v.contains("No problems found"), "sgdisk -v:\n{v}");
    let efi_sector = u64::from(iso.lbas[1]) * 4;
    let p = String::from_utf8_lossy(&run(Command::new("sgdisk").arg("-p").arg(&path)).stdout)
        .into_owned();
    let want = format!("{efi_sector}");
    assert!(p.contains(&want) && p.contains("EF00"), "sgdisk -p:\n{p}");
    check_with_xorriso(
        &path,
        &[
            "BIOS  y   none  0x0000  0x00      4",
            "UEFI  y   none  0x0000  0x00   8192",
        ],
    );
    if require_tool("isoinfo") {
        let out = run(Command::new("isoinfo").arg("-d").arg("-i").arg(&path));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            text.contains("El Torito VD version 1 found, boot catalog is in sector 19"),
            "{text}"
        );
    }
}

#[test]
fn bios_boots_hybrid_iso_as_cdrom_and_as_disk() {
    if !have_qemu() || !require_tool("mkfs.vfat") {
        return;
    }
    let Some(fat) = efi_fat_image() else { return };
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "dual.iso", &dual_iso(fat, None).bytes);
    boot(
        "hybrid ISO as BIOS CD",
        &["-cdrom", path_str(&path), "-boot", "d"],
        &format!("{BIOS_MARKER} dual-cdrom"),
        BIOS_TIMEOUT,
    );
    let drive = format!("file={},format=raw", path_str(&path));
    boot(
        "hybrid ISO as BIOS disk",
        &["-drive", &drive, "-boot", "c"],
        &format!("{BIOS_MARKER} dual-disk"),
        BIOS_TIMEOUT,
    );
}

#[test]
fn uefi_boots_hybrid_iso_as_cdrom() {
    let scratch = TempDir::new().unwrap();
    let Some(ovmf) = uefi_ready(scratch.path()) else {
        return;
    };
    let fat = efi_fat_image().expect("EFI image");
    let path = write(&scratch, "dual.iso", &dual_iso(fat, None).bytes);
    let mut args: Vec<&str> = ovmf.iter().map(String::as_str).collect();
    args.extend(["-cdrom", path_str(&path)]);
    boot("hybrid ISO as UEFI CD", &args, EFI_MARKER, UEFI_TIMEOUT);
}

#[test]
fn uefi_boots_cdrom_with_sector_count_zero() {
    // What xorriso writes for EFI images over 65535 sectors: EDK2 then uses the image up to
    // the end of the volume.
    let scratch = TempDir::new().unwrap();
    let Some(ovmf) = uefi_ready(scratch.path()) else {
        return;
    };
    let fat = efi_fat_image().expect("EFI image");
    let path = write(&scratch, "dual0.iso", &dual_iso(fat, Some(0)).bytes);
    let mut args: Vec<&str> = ovmf.iter().map(String::as_str).collect();
    args.extend(["-cdrom", path_str(&path)]);
    boot("UEFI CD, sector count 0", &args, EFI_MARKER, UEFI_TIMEOUT);
}

#[test]
fn uefi_boots_hybrid_iso_as_disk() {
    let scratch = TempDir::new().unwrap();
    let Some(ovmf) = uefi_ready(scratch.path()) else {
        return;
    };
    let fat = efi_fat_image().expect("EFI image");
    let path = write(&scratch, "dual.iso", &dual_iso(fat, None).bytes);
    let drive = format!("file={},format=raw", path_str(&path));
    let mut args: Vec<&str> = ovmf.iter().map(String::as_str).collect();
    args.extend(["-drive", &drive]);
    boot(
        "hybrid ISO as UEFI disk (GPT ESP)",
        &args,
        EFI_MARKER,
        UEFI_TIMEOUT,
    );
}

#[test]
fn harness_reports_a_missing_marker() {
    // The harness must not pass a boot that prints nothing: an all-zero floppy has no boot
    // sector, so SeaBIOS gives up and (with -no-reboot) the marker never comes.
    if !have_qemu() {
        return;
    }
    let dir = TempDir::new().unwrap();
    let img = write(
        &dir,
        "blank.img",
        &vec![0u8; catalog::FLOPPY_144_BYTES as usize],
    );
    let drive = format!("file={},format=raw,if=floppy", path_str(&img));
    let r = run_qemu(
        &["-drive", &drive, "-boot", "a"],
        MEMORY_MB,
        BIOS_MARKER,
        Duration::from_secs(4),
    );
    assert!(!r.found, "{}", r.serial);
    assert!(r.elapsed < Duration::from_secs(10));
}

// ------------------------------------------------------------------------------------------------
// Tests: agreement with xorriso's catalog and boot info table (no QEMU)

#[test]
fn catalog_and_info_table_match_xorriso() {
    if !require_tool("xorriso") {
        return;
    }
    let dir = TempDir::new().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("b")).unwrap();
    // A boot file that is not a multiple of 4 bytes, and two "EFI" files.
    let boot: Vec<u8> = (0..5001u32).map(|i| (i * 7 + i / 251) as u8).collect();
    std::fs::write(tree.join("b/boot.bin"), &boot).unwrap();
    std::fs::write(tree.join("b/a.efi"), vec![0xA5u8; 5000]).unwrap();
    std::fs::write(tree.join("b/b.efi"), vec![0x5Au8; 70000]).unwrap();
    let iso = dir.path().join("x.iso");
    run(Command::new("xorriso")
        .args(["-as", "mkisofs", "-quiet", "-o"])
        .arg(&iso)
        .args([
            "-b",
            "b/boot.bin",
            "-no-emul-boot",
            "-boot-info-table",
            "-eltorito-alt-boot",
            "-e",
            "b/a.efi",
            "-no-emul-boot",
            "-eltorito-alt-boot",
            "-e",
            "b/b.efi",
            "-no-emul-boot",
        ])
        .arg(&tree));
    let bytes = std::fs::read(&iso).unwrap();
    let cat_lba = catalog::decode_boot_record(&bytes[17 * 2048..18 * 2048]).unwrap();
    let block = &bytes[cat_lba as usize * 2048..cat_lba as usize * 2048 + 2048];
    let entries = catalog::decode_catalog(block).unwrap();
    assert_eq!(entries.len(), 3, "{entries:?}");
    assert_eq!(
        entries
            .iter()
            .map(|e| (e.platform, e.sector_count))
            .collect::<Vec<_>>(),
        [
            (Platform::X86, 12),
            (Platform::Efi, 12),
            (Platform::Efi, 140)
        ],
        "the whole file rounded up to 2048 bytes, in 512-byte sectors"
    );
    for (e, len) in entries.iter().zip([5001u64, 5000, 70000]) {
        assert_eq!(
            no_emulation_sector_count(e.platform, len, LoadSize::WholeFile),
            Ok(e.sector_count)
        );
    }
    // Our encoder makes the same bytes for the same entries (xorriso groups the two EFI
    // entries under one section header, as we do).
    let ours = encode_catalog(&entries).unwrap();
    assert_eq!(&block[..ours.len()], &ours[..]);
    assert!(block[ours.len()..].iter().all(|&b| b == 0));

    // Boot info table: xorriso patched the copy in the image; we compute the same table from
    // the original file.
    let lba = entries[0].load_rba;
    let in_image = &bytes[lba as usize * 2048..lba as usize * 2048 + boot.len()];
    let want = InfoTablePatcher::new(
        16,
        lba,
        boot.len() as u64,
        glassmaster::raw::eltorito::info_table::checksum(&boot),
    )
    .unwrap();
    assert_eq!(decode_info_table(in_image), Some(want));
    let mut patched = boot.clone();
    want.patch(0, &mut patched);
    assert_eq!(in_image, &patched[..]);
}

// ------------------------------------------------------------------------------------------------
// Images made by glassmaster's own builder (ImageBuilder + boot entries), booted for real.

/// Builds an ISO 9660 + Joliet + Rock Ridge image with the given boot setup.
fn builder_image(
    dir: &TempDir,
    name: &str,
    setup: impl FnOnce(&mut glassmaster::ImageBuilder),
) -> PathBuf {
    let mut b = glassmaster::ImageBuilder::new();
    b.filesystems(
        glassmaster::FileSystems::ISO9660
            | glassmaster::FileSystems::JOLIET
            | glassmaster::FileSystems::ROCK_RIDGE,
    );
    b.add_bytes("/readme.txt", &b"a bootable glassmaster image\n"[..])
        .unwrap();
    setup(&mut b);
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let path = dir.path().join(name);
    image
        .write_to_path(&path, &mut glassmaster::NoProgress)
        .unwrap();
    path
}

#[test]
fn builder_bios_entries_boot_with_every_emulation() {
    if !have_qemu() {
        return;
    }
    let dir = TempDir::new().unwrap();
    // No emulation with a boot info table (patched while streaming); floppy and hard-disk
    // emulation as the second and third entries of one catalog.
    let path = builder_image(&dir, "bios.iso", |b| {
        b.add_bytes("/boot/noemul.bin", boot_program("builder-noemul"))
            .unwrap();
        b.add_bytes("/boot/floppy.img", floppy_image("builder-floppy"))
            .unwrap();
        b.add_bytes("/boot/disk.img", hard_disk_image("builder-hd"))
            .unwrap();
        let mut e = glassmaster::BootImage::bios("/boot/noemul.bin");
        e.boot_info_table = true;
        b.add_boot_entry(e);
        b.add_boot_entry(glassmaster::BootImage::new(
            "/boot/floppy.img",
            glassmaster::Platform::X86,
            glassmaster::Emulation::Floppy144,
        ));
        b.add_boot_entry(glassmaster::BootImage::new(
            "/boot/disk.img",
            glassmaster::Platform::X86,
            glassmaster::Emulation::HardDisk,
        ));
    });
    // SeaBIOS boots the default (first) entry.
    boot(
        "builder: no-emulation CD",
        &["-cdrom", path_str(&path), "-boot", "d"],
        &format!("{BIOS_MARKER} builder-noemul"),
        BIOS_TIMEOUT,
    );
    // The boot info table in the image matches what the layout put there.
    let iso = std::fs::read(&path).unwrap();
    glassmaster::read::ImageReader::open(std::io::Cursor::new(iso.clone()))
        .expect("our reader opens it");
    let rba = u32::from_le_bytes(iso[17 * 2048 + 0x47..17 * 2048 + 0x4B].try_into().unwrap());
    let entries = decode_catalog(&iso[rba as usize * 2048..rba as usize * 2048 + 2048]).unwrap();
    assert_eq!(entries.len(), 3);
    let noemul = &iso[entries[0].load_rba as usize * 2048..];
    let table = decode_info_table(noemul).expect("boot info table");
    assert_eq!(table.pvd_lba, 16);
    assert_eq!(table.file_lba, entries[0].load_rba);
    assert_eq!(entries[1].emulation, glassmaster::Emulation::Floppy144);
    assert_eq!(entries[2].emulation, glassmaster::Emulation::HardDisk);
    let rows = xorriso_boot_rows(&path);
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(
        rows[0].contains("BIOS") && rows[0].contains("none"),
        "{rows:?}"
    );
    assert!(
        rows[1].contains("fd1.4") && rows[2].contains("hd"),
        "{rows:?}"
    );

    // Floppy and hard-disk emulation as the default entry of their own images.
    let floppy = builder_image(&dir, "floppy.iso", |b| {
        b.add_bytes("/boot/floppy.img", floppy_image("builder-floppy"))
            .unwrap();
        b.add_boot_entry(glassmaster::BootImage::new(
            "/boot/floppy.img",
            glassmaster::Platform::X86,
            glassmaster::Emulation::Floppy144,
        ));
    });
    boot(
        "builder: 1.44 MB floppy emulation CD",
        &["-cdrom", path_str(&floppy), "-boot", "d"],
        &format!("{BIOS_MARKER} builder-floppy"),
        BIOS_TIMEOUT,
    );
    let hd = builder_image(&dir, "hd.iso", |b| {
        b.add_bytes("/boot/disk.img", hard_disk_image("builder-hd"))
            .unwrap();
        b.add_boot_entry(glassmaster::BootImage::new(
            "/boot/disk.img",
            glassmaster::Platform::X86,
            glassmaster::Emulation::HardDisk,
        ));
    });
    boot(
        "builder: hard-disk emulation CD",
        &["-cdrom", path_str(&hd), "-boot", "d"],
        &format!("{BIOS_MARKER} builder-hd"),
        BIOS_TIMEOUT,
    );
}

#[test]
fn builder_rejects_bad_boot_images() {
    let mut b = glassmaster::ImageBuilder::new();
    b.add_bytes("/f.img", vec![0u8; 1_000_000]).unwrap();
    b.add_boot_entry(glassmaster::BootImage::new(
        "/f.img",
        glassmaster::Platform::X86,
        glassmaster::Emulation::Floppy144,
    ));
    let e = b
        .build(&mut glassmaster::NoProgress)
        .unwrap_err()
        .to_string();
    assert!(e.contains("/f.img"), "{e}");
    let mut b = glassmaster::ImageBuilder::new();
    b.add_bytes("/d.img", vec![0u8; 4096]).unwrap();
    b.add_boot_entry(glassmaster::BootImage::new(
        "/d.img",
        glassmaster::Platform::X86,
        glassmaster::Emulation::HardDisk,
    ));
    let e = b
        .build(&mut glassmaster::NoProgress)
        .unwrap_err()
        .to_string();
    assert!(e.contains("/d.img"), "{e}");
    let mut b = glassmaster::ImageBuilder::new();
    b.add_boot_entry(glassmaster::BootImage::bios("/missing.bin"));
    assert!(b
        .build(&mut glassmaster::NoProgress)
        .unwrap_err()
        .to_string()
        .contains("/missing.bin"));
}

#[test]
fn builder_hybrid_image_boots_bios_as_disk_and_uefi_as_cdrom_and_disk() {
    let scratch = TempDir::new().unwrap();
    let Some(ovmf) = uefi_ready(scratch.path()) else {
        return;
    };
    let fat = efi_fat_image().expect("EFI image").to_vec();
    let path = builder_image(&scratch, "hybrid.iso", |b| {
        b.add_bytes("/boot/bios.bin", boot_program("builder-hybrid"))
            .unwrap();
        b.add_bytes("/boot/efi.img", fat).unwrap();
        let mut e = glassmaster::BootImage::bios("/boot/bios.bin");
        e.boot_info_table = true;
        b.add_boot_entry(e);
        b.add_boot_entry(glassmaster::BootImage::efi("/boot/efi.img"));
        b.boot_catalog("/boot/boot.cat", true);
        let mut h = glassmaster::Hybrid::default();
        h.mbr_boot_code = Some(boot_code_440("builder-hybrid-disk").to_vec());
        h.gpt = true;
        b.hybrid(h);
    });
    check_gpt_with_sgdisk_and_fdisk(&path);
    boot(
        "builder: hybrid as BIOS CD",
        &["-cdrom", path_str(&path), "-boot", "d"],
        &format!("{BIOS_MARKER} builder-hybrid"),
        BIOS_TIMEOUT,
    );
    let drive = format!("file={},format=raw", path_str(&path));
    boot(
        "builder: hybrid as BIOS disk",
        &["-drive", &drive, "-boot", "c"],
        &format!("{BIOS_MARKER} builder-hybrid-disk"),
        BIOS_TIMEOUT,
    );
    let mut args: Vec<&str> = ovmf.iter().map(String::as_str).collect();
    args.extend(["-cdrom", path_str(&path)]);
    boot(
        "builder: hybrid as UEFI CD",
        &args,
        EFI_MARKER,
        UEFI_TIMEOUT,
    );
    let mut args: Vec<&str> = ovmf.iter().map(String::as_str).collect();
    args.extend(["-drive", &drive]);
    boot(
        "builder: hybrid as UEFI disk",
        &args,
        EFI_MARKER,
        UEFI_TIMEOUT,
    );
    let rows = xorriso_boot_rows(&path);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows[0].contains("BIOS") && rows[1].contains("UEFI"),
        "{rows:?}"
    );
}

/// The partition tables of a builder's hybrid GPT image pass the standard checkers: `sgdisk
/// -v` finds no problem, `fdisk -l` sees a GPT with an EFI system partition.
fn check_gpt_with_sgdisk_and_fdisk(path: &Path) {
    if require_tool("sgdisk") {
        let out = run(Command::new("sgdisk").arg("-v").arg(path));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("No problems found"), "{text}");
    }
    if require_tool("fdisk") {
        let out = run(Command::new("fdisk").arg("-l").arg(path));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("EFI System") && text.contains("gpt"),
            "fdisk -l:\n{text}"
        );
    }
}

/// The `El Torito boot img` rows of `xorriso -report_el_torito plain`.
fn xorriso_boot_rows(iso: &Path) -> Vec<String> {
    if !require_tool("xorriso") {
        return Vec::new();
    }
    xorriso_report(iso, &["-report_el_torito", "plain"])
        .lines()
        .filter(|l| l.starts_with("El Torito boot img"))
        .map(String::from)
        .collect()
}

#[test]
fn reader_lists_and_extracts_boot_entries() {
    let dir = TempDir::new().unwrap();
    let fat = vec![0xF6u8; 3 * 2048 + 100];
    let path = builder_image(&dir, "entries.iso", |b| {
        b.add_bytes("/boot/noemul.bin", boot_program("reader"))
            .unwrap();
        b.add_bytes("/boot/floppy.img", floppy_image("reader"))
            .unwrap();
        b.add_bytes("/boot/efi.img", fat.clone()).unwrap();
        let mut e = glassmaster::BootImage::bios("/boot/noemul.bin");
        e.boot_info_table = true;
        e.load_size = Some(4);
        b.add_boot_entry(e);
        b.add_boot_entry(glassmaster::BootImage::new(
            "/boot/floppy.img",
            glassmaster::Platform::X86,
            glassmaster::Emulation::Floppy144,
        ));
        b.add_boot_entry(glassmaster::BootImage::efi("/boot/efi.img"));
    });
    let mut r = glassmaster::read::ImageReader::open(std::fs::File::open(&path).unwrap()).unwrap();
    let images = r.boot_images().unwrap();
    assert_eq!(images.len(), 3);
    assert_eq!(images[0].entry.platform, glassmaster::Platform::X86);
    assert_eq!(images[0].entry.sector_count, 4);
    assert_eq!(images[0].path.as_deref(), Some("/BOOT/NOEMUL.BIN"));
    assert_eq!(images[1].len, 1_474_560);
    assert_eq!(images[2].entry.platform, glassmaster::Platform::Efi);
    // The extracted images are the sources, but for the patched boot info table.
    let noemul = r.read_boot_image(&images[0]).unwrap();
    let source = boot_program("reader");
    assert_eq!(noemul.len(), source.len());
    assert_eq!(&noemul[..8], &source[..8]);
    assert_eq!(&noemul[64..], &source[64..]);
    assert_eq!(
        decode_info_table(&noemul).unwrap().file_len as usize,
        source.len()
    );
    assert_eq!(
        r.read_boot_image(&images[1]).unwrap(),
        floppy_image("reader")
    );
    assert_eq!(r.read_boot_image(&images[2]).unwrap(), fat);
    // isoinfo -d lists the catalog too.
    if require_tool("isoinfo") {
        let out = run(Command::new("isoinfo").arg("-d").arg("-i").arg(&path));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("El Torito VD version 1 found"), "{text}");
    }
    let rows = xorriso_boot_rows(&path);
    assert_eq!(rows.len(), 3, "{rows:?}");
}

/// A hybrid GPT image with UDF (a bridge: ISO 9660 + Joliet + UDF). The backup GPT keeps the
/// last sector, so UDF's closing anchor is at N - 256 (ECMA-167 3/8.4.2.1). The partition
/// tables pass sgdisk and fdisk, 7-Zip (with a warning) and udfinfo read the UDF side, both
/// anchors are where they should be, and OVMF boots the image as a disk through the GPT's EFI
/// system partition.
#[test]
fn builder_hybrid_gpt_image_with_udf() {
    let scratch = TempDir::new().unwrap();
    let fat = efi_fat_image().expect("EFI image").to_vec();
    let path = builder_image(&scratch, "hybrid-udf.iso", |b| {
        b.filesystems(
            glassmaster::FileSystems::ISO9660
                | glassmaster::FileSystems::JOLIET
                | glassmaster::FileSystems::UDF,
        );
        b.add_bytes("/boot/efi.img", fat.clone()).unwrap();
        b.add_boot_entry(glassmaster::BootImage::efi("/boot/efi.img"));
        let mut h = glassmaster::Hybrid::default();
        h.gpt = true;
        b.hybrid(h);
    });
    let bytes = std::fs::read(&path).unwrap();
    let n = bytes.len() / 2048 - 1;
    let tag_ident =
        |sector: usize| u16::from_le_bytes([bytes[sector * 2048], bytes[sector * 2048 + 1]]);
    assert_eq!(tag_ident(256), 2, "anchor at 256");
    assert_eq!(tag_ident(n - 256), 2, "anchor at N - 256");
    assert_eq!(
        &bytes[bytes.len() - 512..bytes.len() - 504],
        b"EFI PART",
        "backup GPT header"
    );
    let mut r = glassmaster::read::ImageReader::open(std::fs::File::open(&path).unwrap()).unwrap();
    let e = r
        .lookup(glassmaster::read::View::Udf, "/boot/efi.img")
        .unwrap();
    assert!(r.read_file(&e).unwrap() == fat);

    check_gpt_with_sgdisk_and_fdisk(&path);
    if require_tool("7z") {
        let x = scratch.path().join("x");
        let out = run(Command::new("7z")
            .args(["x", "-y", "-tudf"])
            .arg(format!("-o{}", x.display()))
            .arg(&path));
        let text = String::from_utf8_lossy(&out.stdout);
        // 7-Zip (26.02) takes the closing anchor for the end of the volume and warns about
        // the 256 blocks after it (247 of zeros, the backup GPT); it extracts everything.
        assert!(!text.contains("ERROR"), "{text}");
        assert!(
            text.contains(&format!("Tail Size = {}", 256 * 2048)),
            "{text}"
        );
        let warnings: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("WARNINGS:"))
            .skip(1)
            .take_while(|l| !l.is_empty())
            .collect();
        assert_eq!(
            warnings,
            ["There are data after the end of archive"],
            "{text}"
        );
        assert!(std::fs::read(x.join("boot/efi.img")).unwrap() == fat);
        assert_eq!(
            std::fs::read(x.join("readme.txt")).unwrap(),
            b"a bootable glassmaster image\n"
        );
    }
    if require_tool("udfinfo") {
        let out = run(Command::new("udfinfo").arg(&path));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("integrity=closed") && text.contains("numfiles=3\n"),
            "{text}"
        );
    }
    let Some(ovmf) = uefi_ready(scratch.path()) else {
        return;
    };
    let drive = format!("file={},format=raw", path_str(&path));
    let mut args: Vec<&str> = ovmf.iter().map(String::as_str).collect();
    args.extend(["-drive", &drive]);
    boot(
        "builder: hybrid GPT + UDF as UEFI disk",
        &args,
        EFI_MARKER,
        UEFI_TIMEOUT,
    );
}
