//! What the real-kernel boot tests share (tests/boot_kernel.rs, tests/distro_lines.rs): the
//! kernel, a busybox initramfs, ISOLINUX and GRUB boot files, booting an image the four ways
//! (SeaBIOS and OVMF, CD-ROM and disk), and xorriso's report of an image's boot setup reduced to
//! what two images of different layouts must share. Included with
//! `#[path = "common/kernel.rs"] mod kernel;` beside `mod common;` and
//! `#[path = "common/qemu.rs"] mod qemu;`.
//!
//! The kernel is the `vmlinuz` of Debian's `linux-image-*-amd64` package, which `.ci/run` fetches
//! (`apt-get download` + `dpkg-deb`) to `/var/cache/glassmaster/vmlinuz`; `GLASSMASTER_KERNEL`
//! names another one. The initramfs is made here: a `cpio` "newc" archive holding Debian's static
//! busybox and an `/init` that prints [`MARKER`] on the serial console and powers the machine off.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

use crate::common::{in_ci, require_tools, run, xorriso_report};
use crate::qemu::{boot_args, ovmf_args, run_qemu, Firmware, Media};
use tempfile::TempDir;

/// What `/init` prints on ttyS0 once the kernel runs it.
pub const MARKER: &str = "GLASSMASTER-KERNEL-OK";
/// Firmware + boot loader + kernel under TCG on a machine shared with other builds.
pub const TIMEOUT: Duration = Duration::from_secs(240);
/// GRUB under OVMF cannot load the kernel and initramfs into 256 MiB.
pub const MEMORY_MB: u32 = 512;
/// The file GRUB's `search --file` looks for, to find the image's file system.
pub const TAG_FILE: &str = "/boot/glassmaster-kernel.id";

pub const ISOLINUX_BIN: &str = "/usr/lib/ISOLINUX/isolinux.bin";
pub const ISOHDPFX_BIN: &str = "/usr/lib/ISOLINUX/isohdpfx.bin";
pub const LDLINUX_C32: &str = "/usr/lib/syslinux/modules/bios/ldlinux.c32";
pub const BUSYBOX: &str = "/bin/busybox";

// ------------------------------------------------------------------------------------------------
// Environment

/// test with a note.
pub fn require_file(path: &Path, package: &str) -> bool {
    if path.is_file() {
        return true;
    }
    if in_ci() {
        panic!(
            "{} is missing: .ci/run installs it ({package})",
            path.display()
        );
    }
    eprintln!(
        "note: {} not found ({package}); skipping this kernel boot test",
        path.display()
    );
    false
}

/// The kernel to boot: `$GLASSMASTER_KERNEL`, else what `.ci/run` unpacks.
pub fn kernel_path() -> PathBuf {
    std::env::var_os("GLASSMASTER_KERNEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/glassmaster/vmlinuz"))
}

/// Whether the ELF file `bytes` asks for a program interpreter (is dynamically linked): a
/// PT_INTERP (type 3) program header (ELF-64 little-endian only; anything else counts as
/// dynamic, so the test reports it instead of booting a kernel that cannot run /init).
pub fn elf_is_dynamic(bytes: &[u8]) -> bool {
    let get = |at: usize, n: usize| bytes.get(at..at + n);
    let (Some(magic), Some(class)) = (get(0, 4), get(4, 1)) else {
        return true;
    };
    if magic != b"\x7fELF" || class != [2] {
        return true;
    }
    let u64_at = |at| get(at, 8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
    let u16_at = |at| get(at, 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return true;
    };
    (0..usize::from(phnum)).any(|i| {
        let at = phoff as usize + i * usize::from(phentsize);
        get(at, 4).is_none_or(|t| t == 3u32.to_le_bytes())
    })
}

// ------------------------------------------------------------------------------------------------
// The initramfs: a cpio "newc" archive

/// One member of a newc archive.
pub struct CpioEntry {
    pub name: String,
    /// st_mode: file type and permission bits.
    pub mode: u32,
    pub data: Vec<u8>,
    /// Device numbers (major, minor) of a device node.
    pub rdev: (u32, u32),
}

/// A cpio archive in the "newc" format (the SVR4 portable format without checksums, magic
/// `070701`, which the kernel's initramfs unpacker reads): per member a 110-byte ASCII header
/// of 13 eight-digit hexadecimal fields, the NUL-terminated name padded to 4 bytes, the data
/// padded to 4 bytes; the trailer member `TRAILER!!!` ends it.
pub fn cpio_newc(entries: &[CpioEntry]) -> Vec<u8> {
    fn pad4(out: &mut Vec<u8>) {
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }
    fn member(out: &mut Vec<u8>, ino: u32, e: &CpioEntry) {
        let nlink = if e.mode & 0o170000 == 0o040000 { 2 } else { 1 };
        let fields = [
            ino,
            e.mode,
            0, // uid
            0, // gid
            nlink,
            0, // mtime
            e.data.len() as u32,
            0, // dev major
            0, // dev minor
            e.rdev.0,
            e.rdev.1,
            e.name.len() as u32 + 1,
            0, // check
        ];
        out.extend_from_slice(b"070701");
        for f in fields {
            out.extend_from_slice(format!("{f:08X}").as_bytes());
        }
        out.extend_from_slice(e.name.as_bytes());
        out.push(0);
        pad4(out);
        out.extend_from_slice(&e.data);
        pad4(out);
    }
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        member(&mut out, i as u32 + 1, e);
    }
    member(
        &mut out,
        0,
        &CpioEntry {
            name: "TRAILER!!!".into(),
            mode: 0,
            data: Vec::new(),
            rdev: (0, 0),
        },
    );
    out
}

/// The `/init` script: mounts devtmpfs (for /dev/ttyS0), prints the marker, powers off.
pub fn init_script() -> Vec<u8> {
    format!(
        "#!/bin/busybox sh\n\
         /bin/busybox mount -t devtmpfs dev /dev\n\
         /bin/busybox echo {MARKER} > /dev/ttyS0\n\
         /bin/busybox poweroff -f\n"
    )
    .into_bytes()
}

/// The initramfs members around `busybox`'s bytes.
pub fn initramfs_entries(busybox: Vec<u8>) -> Vec<CpioEntry> {
    let dir = |name: &str| CpioEntry {
        name: name.into(),
        mode: 0o040755,
        data: Vec::new(),
        rdev: (0, 0),
    };
    vec![
        dir("bin"),
        CpioEntry {
            name: "bin/busybox".into(),
            mode: 0o100755,
            data: busybox,
            rdev: (0, 0),
        },
        dir("dev"),
        // The kernel opens /dev/console for init's standard streams.
        CpioEntry {
            name: "dev/console".into(),
            mode: 0o020600,
            data: Vec::new(),
            rdev: (5, 1),
        },
        dir("proc"),
        CpioEntry {
            name: "init".into(),
            mode: 0o100755,
            data: init_script(),
            rdev: (0, 0),
        },
    ]
}

// ------------------------------------------------------------------------------------------------
// Boot files, made once per test process

pub struct BootFiles {
    /// Holds the files below.
    _dir: TempDir,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    /// The FAT EFI system partition image holding GRUB as `/EFI/BOOT/BOOTX64.EFI`.
    pub efi_img: PathBuf,
}

/// Everything a kernel boot test needs, or `None` (noted; a failure in CI) if a tool or file
/// is missing.
pub fn boot_files() -> Option<&'static BootFiles> {
    static FILES: OnceLock<Option<BootFiles>> = OnceLock::new();
    FILES
        .get_or_init(|| {
            let kernel = kernel_path();
            let ok = require_file(&kernel, "linux-image-amd64, fetched by .ci/run")
                & require_file(Path::new(BUSYBOX), "busybox-static")
                & require_file(Path::new(ISOLINUX_BIN), "isolinux")
                & require_file(Path::new(ISOHDPFX_BIN), "isolinux")
                & require_file(Path::new(LDLINUX_C32), "syslinux-common")
                & require_tools(&[
                    "qemu-system-x86_64",
                    "grub-mkstandalone",
                    "mkfs.vfat",
                    "mmd",
                    "mcopy",
                ]);
            if !ok {
                return None;
            }
            let dir = TempDir::new().expect("temp dir");
            let busybox = std::fs::read(BUSYBOX).expect("read busybox");
            assert!(
                !elf_is_dynamic(&busybox),
                "{BUSYBOX} is not a static ELF-64 program: install busybox-static"
            );
            let initrd = dir.path().join("initrd.img");
            std::fs::write(&initrd, cpio_newc(&initramfs_entries(busybox))).expect("write initrd");
            let efi_img = grub_efi_image(dir.path());
            Some(BootFiles {
                _dir: dir,
                kernel,
                initrd,
                efi_img,
            })
        })
        .as_ref()
}

/// A 4 MiB FAT image with a GRUB standalone `BOOTX64.EFI` whose embedded grub.cfg finds the
/// file system holding [`TAG_FILE`] and boots `/boot/vmlinuz` with `/boot/initrd.img` on the
/// serial console.
pub fn grub_efi_image(dir: &Path) -> PathBuf {
    let cfg = dir.join("grub.cfg");
    std::fs::write(
        &cfg,
        format!(
            "serial --unit=0 --speed=115200\n\
             terminal_input serial console\n\
             terminal_output serial console\n\
             search --no-floppy --set=root --file {TAG_FILE}\n\
             echo \"glassmaster: kernel from ($root)\"\n\
             linux /boot/vmlinuz console=ttyS0 panic=-1 no_timer_check\n\
             initrd /boot/initrd.img\n\
             boot\n"
        ),
    )
    .expect("write grub.cfg");
    let efi = dir.join("BOOTX64.EFI");
    run(Command::new("grub-mkstandalone")
        .args(["-O", "x86_64-efi", "-o"])
        .arg(&efi)
        // Only what grub.cfg needs: 0.7 MB instead of 10 MB with every module.
        .args([
            "--install-modules=linux normal iso9660 search search_fs_file part_gpt part_msdos \
             serial terminal echo configfile fat",
            "--modules=serial terminal part_gpt part_msdos iso9660",
            "--locales=",
            "--fonts=",
            "--themes=",
        ])
        .arg(format!("boot/grub/grub.cfg={}", cfg.display())));
    let img = dir.join("efi.img");
    run(Command::new("mkfs.vfat")
        .args(["-n", "GMEFI", "-i", "47534D4B", "-C"])
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
    img
}

/// The ISOLINUX configuration: boot the kernel with the initramfs on the serial console.
pub fn isolinux_cfg() -> &'static str {
    "SERIAL 0 115200\n\
     DEFAULT linux\n\
     PROMPT 0\n\
     LABEL linux\n\
     \x20 KERNEL /boot/vmlinuz\n\
     \x20 APPEND initrd=/boot/initrd.img console=ttyS0 panic=-1 no_timer_check\n"
}

// ------------------------------------------------------------------------------------------------
// Booting

/// How many QEMU boots run at once in one test process: `GLASSMASTER_QEMU_JOBS`, else 3 (TCG
/// keeps one core busy per boot; the tests share the machine with builds).
fn qemu_jobs() -> usize {
    std::env::var("GLASSMASTER_QEMU_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(3)
}

/// A QEMU slot, given back when dropped.
struct Slot;

static SLOTS: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

impl Slot {
    fn take() -> Slot {
        let (lock, cv) = &SLOTS;
        let mut busy = lock.lock().unwrap_or_else(|e| e.into_inner());
        while *busy >= qemu_jobs() {
            busy = cv.wait(busy).unwrap_or_else(|e| e.into_inner());
        }
        *busy += 1;
        Slot
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let (lock, cv) = &SLOTS;
        let mut busy = lock.lock().unwrap_or_else(|e| e.into_inner());
        *busy -= 1;
        cv.notify_one();
    }
}

/// Boots `image` (waiting for a QEMU slot): the seconds the boot took, or what went wrong.
pub fn boot(name: &str, image: &Path, firmware: Firmware, media: Media) -> Result<f64, String> {
    let _slot = Slot::take();
    // Each boot its own scratch directory: OVMF's variable store is written.
    let scratch = TempDir::new().expect("temp dir");
    let ovmf = if firmware == Firmware::Ovmf {
        match ovmf_args(scratch.path()) {
            Some(a) => a,
            None => return Err("OVMF is not installed: .ci/run installs ovmf".into()),
        }
    } else {
        Vec::new()
    };
    let args = boot_args(image, firmware, media, &ovmf);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut r = run_qemu(&args, MEMORY_MB, MARKER, TIMEOUT);
    if !r.found {
        // Seen once, on a machine starved by parallel builds: GRUB under OVMF handed over to
        // the kernel, which then printed nothing for 240 s. An image's fault does not go away
        // on a second boot, so one more try, said out loud; a second miss fails.
        eprintln!(
            "note: {name} ({firmware:?}, {media:?}): no marker within {TIMEOUT:?}; booting once \
             more. Serial output:\n{}",
            r.serial
        );
        r = run_qemu(&args, MEMORY_MB, MARKER, TIMEOUT);
    }
    if !r.found {
        return Err(format!(
            "{name} ({firmware:?}, {media:?}): {MARKER:?} not seen within {TIMEOUT:?}; serial \
             output:\n{}",
            r.serial
        ));
    }
    let secs = r.elapsed.as_secs_f64();
    eprintln!("{name} ({firmware:?}, {media:?}): kernel booted in {secs:.1} s");
    Ok(secs)
}

/// Boots `image` and asserts the kernel's /init printed the marker.
pub fn assert_boots(name: &str, image: &Path, firmware: Firmware, media: Media) {
    if let Err(e) = boot(name, image, firmware, media) {
        panic!("{e}");
    }
}

/// The four boots (SeaBIOS and OVMF, each as a CD-ROM and as a raw disk), in parallel threads
/// (at most [`qemu_jobs`] QEMUs at once in the process); asserts that each printed the marker,
/// naming every boot that did not. Without OVMF (allowed outside CI), the two SeaBIOS boots.
pub fn assert_boots_four_ways(name: &str, image: &Path) {
    let have_ovmf = {
        let scratch = TempDir::new().expect("temp dir");
        ovmf_args(scratch.path()).is_some()
    };
    let mut ways = vec![
        (Firmware::SeaBios, Media::Cdrom),
        (Firmware::SeaBios, Media::Disk),
    ];
    if have_ovmf {
        ways.extend([
            (Firmware::Ovmf, Media::Cdrom),
            (Firmware::Ovmf, Media::Disk),
        ]);
    } else {
        assert!(!in_ci(), "OVMF is not installed: .ci/run installs ovmf");
        eprintln!("note: OVMF not found; booting with SeaBIOS only");
    }
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = ways
            .iter()
            .map(|&(firmware, media)| s.spawn(move || boot(name, image, firmware, media)))
            .collect();
        handles
            .into_iter()
            .filter_map(|h| match h.join() {
                Ok(Ok(_)) => None,
                Ok(Err(e)) => Some(e),
                Err(_) => Some(format!("{name}: a boot thread panicked")),
            })
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} boots failed:\n{}",
        failures.len(),
        ways.len(),
        failures.join("\n\n")
    );
}

/// The `El Torito boot img` rows of `xorriso -report_el_torito plain`, split into words.
pub fn xorriso_boot_rows(iso: &Path) -> Vec<Vec<String>> {
    let text = xorriso_report(iso, &["-report_el_torito", "plain"]);
    text.lines()
        .filter(|l| l.starts_with("El Torito boot img"))
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

pub const GRUB_I386_PC: &str = "/usr/lib/grub/i386-pc";

/// GRUB's BIOS El Torito core (`grub-mkimage -O i386-pc-eltorito`, as grub-mkrescue makes it)
/// with an embedded configuration that boots the kernel on the serial console.
pub fn grub_eltorito_image(dir: &Path) -> PathBuf {
    let cfg = dir.join("bios-grub.cfg");
    std::fs::write(
        &cfg,
        format!(
            "serial --unit=0 --speed=115200\n\
             terminal_input serial console\n\
             terminal_output serial console\n\
             search --no-floppy --set=root --file {TAG_FILE}\n\
             echo \"glassmaster: kernel from ($root)\"\n\
             linux /boot/vmlinuz console=ttyS0 panic=-1 no_timer_check\n\
             initrd /boot/initrd.img\n\
             boot\n"
        ),
    )
    .expect("write the BIOS grub.cfg");
    let img = dir.join("eltorito.img");
    run(Command::new("grub-mkimage")
        .args(["-O", "i386-pc-eltorito", "-p", "/boot/grub", "-c"])
        .arg(&cfg)
        .arg("-o")
        .arg(&img)
        .args([
            "biosdisk",
            "iso9660",
            "part_msdos",
            "part_gpt",
            "linux",
            "search",
            "search_fs_file",
            "normal",
            "serial",
            "terminal",
            "echo",
            "configfile",
        ]));
    img
}

/// What `xorriso -report_el_torito plain -report_system_area plain` says of `iso`, reduced to
/// what must agree between two images of different sizes: each number that is an address is
/// replaced by its meaning (`ESP` for the UEFI boot image's first sector, `END` for the
/// image's last sector, `BIOS+4` and so on); GUIDs and names are left out.
pub fn xorriso_boot_shape(iso: &Path) -> Vec<String> {
    let text = xorriso_report(
        iso,
        &["-report_el_torito", "plain", "-report_system_area", "plain"],
    );
    let field = |prefix: &str| -> Vec<Vec<String>> {
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .map(|l| {
                l[prefix.len()..]
                    .trim_start_matches([' ', ':'])
                    .split_whitespace()
                    .map(String::from)
                    .collect()
            })
            .collect()
    };
    let num = |s: &str| s.parse::<u64>().unwrap_or(u64::MAX);
    // The disk's size in sectors: the file's (xorriso's "ISO image size" leaves appended
    // partitions out; a protective MBR covers them).
    let size = std::fs::metadata(iso).map(|m| m.len() / 512).unwrap_or(0);
    let imgs = field("El Torito boot img");
    let efi_sector = imgs
        .iter()
        .find(|r| r.get(1).map(String::as_str) == Some("UEFI"))
        .and_then(|r| r.last())
        .map(|s| num(s) * 4);
    let name = |v: u64| -> String {
        if Some(v) == efi_sector {
            "ESP".into()
        } else if v + 1 == size {
            "END".into()
        } else if v == size {
            "SIZE".into()
        } else if size > 0 && v + 1 == size - 1 {
            "SIZE-1".into()
        } else {
            v.to_string()
        }
    };
    let mut shape = Vec::new();
    for l in text.lines() {
        if l.starts_with("System area summary") || l.starts_with("El Torito img opts") {
            shape.push(l.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    for r in &imgs {
        // N Pltf B Emul Ld_seg Hdpt Ldsiz (the LBA differs).
        shape.push(format!("boot img {}", r[..r.len() - 1].join(" ")));
    }
    for r in field("MBR partition      ") {
        if r.len() == 5 {
            let start = num(&r[3]);
            let blocks = num(&r[4]);
            shape.push(format!(
                "MBR {} {} {} start {} size {}",
                r[0],
                r[1],
                r[2],
                name(start),
                if start + blocks == size {
                    "to-end".to_string()
                } else {
                    blocks.to_string()
                }
            ));
        }
    }
    let types = field("GPT type GUID      ");
    let mut prev_end = None;
    for (i, r) in field("GPT start and size ").iter().enumerate() {
        let start = num(&r[1]);
        let from = if Some(start) == prev_end {
            "the end of the previous".to_string()
        } else {
            name(start)
        };
        let count = num(&r[2]);
        let ty = types
            .get(i)
            .and_then(|t| t.get(1))
            .cloned()
            .unwrap_or_default();
        let end = start + count;
        let end_name = if Some(end) == efi_sector {
            "ESP".to_string()
        } else if efi_sector.is_some_and(|e| start == e) {
            format!("+{count}")
        } else {
            "backup-GPT".to_string()
        };
        prev_end = Some(end);
        shape.push(format!("GPT {} type {ty} from {from} to {end_name}", r[0]));
    }
    shape
}
