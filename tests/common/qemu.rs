//! Booting images in QEMU under TCG (SeaBIOS or OVMF), reading the serial console for a
//! marker. Included with `#[path = "common/qemu.rs"] mod qemu;` by the boot tests that need it.

#![allow(dead_code)]

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The firmware a boot runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firmware {
    /// QEMU's default PC BIOS.
    SeaBios,
    /// UEFI.
    Ovmf,
}

/// How the image is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    /// An ATAPI CD-ROM (`-cdrom`).
    Cdrom,
    /// A raw hard disk / USB stick (`-drive file=...,format=raw`).
    Disk,
}

/// QEMU arguments that load OVMF: the single-file `OVMF.fd` as `-bios`, or else the split code +
/// variables pair as pflash (variables copied into `scratch`, since OVMF writes them).
pub fn ovmf_args(scratch: &Path) -> Option<Vec<String>> {
    for f in [
        "/usr/share/ovmf/OVMF.fd",
        "/usr/share/OVMF/OVMF.fd",
        "/usr/share/qemu/OVMF.fd",
    ] {
        if Path::new(f).is_file() {
            return Some(vec!["-bios".into(), f.into()]);
        }
    }
    for (code, vars) in [
        (
            "/usr/share/OVMF/OVMF_CODE_4M.fd",
            "/usr/share/OVMF/OVMF_VARS_4M.fd",
        ),
        (
            "/usr/share/OVMF/OVMF_CODE.fd",
            "/usr/share/OVMF/OVMF_VARS.fd",
        ),
    ] {
        if Path::new(code).is_file() && Path::new(vars).is_file() {
            let copy = scratch.join("OVMF_VARS.fd");
            std::fs::copy(vars, &copy).ok()?;
            return Some(vec![
                "-drive".into(),
                format!("if=pflash,format=raw,unit=0,readonly=on,file={code}"),
                "-drive".into(),
                format!("if=pflash,format=raw,unit=1,file={}", copy.display()),
            ]);
        }
    }
    None
}

/// What one QEMU run printed on its serial port, and how long it took.
pub struct QemuRun {
    pub serial: String,
    pub found: bool,
    pub elapsed: Duration,
}

/// Runs `qemu-system-x86_64 -nographic -serial stdio -monitor none -no-reboot -m MEM -accel tcg
/// -nic none <args>`, reading the serial port (QEMU's stdout) until `marker` appears, QEMU
/// exits, or `timeout` passes; then kills QEMU (the child it started, by handle). The serial
/// output gets QEMU's stderr appended when the marker was not seen.
pub fn run_qemu(args: &[&str], memory_mb: u32, marker: &str, timeout: Duration) -> QemuRun {
    let start = Instant::now();
    let mem = memory_mb.to_string();
    let spawned = Command::new("qemu-system-x86_64")
        .args([
            "-nographic",
            "-serial",
            "stdio",
            "-monitor",
            "none",
            "-no-reboot",
            "-m",
            &mem,
            "-accel",
            "tcg",
            "-nic",
            "none",
        ])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            return QemuRun {
                serial: format!("cannot start qemu-system-x86_64: {e}"),
                found: false,
                elapsed: start.elapsed(),
            }
        }
    };
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let mut stderr = child.stderr.take().expect("piped stderr");
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut seen = Vec::new();
    let mut found = false;
    loop {
        let left = timeout.saturating_sub(start.elapsed());
        if left.is_zero() {
            break;
        }
        match rx.recv_timeout(left) {
            Ok(chunk) => {
                seen.extend_from_slice(&chunk);
                if String::from_utf8_lossy(&seen).contains(marker) {
                    found = true;
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => break,
            // QEMU exited (the guest powered off or QEMU failed).
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let elapsed = start.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    let err = err_reader.join().unwrap_or_default();
    let mut serial = String::from_utf8_lossy(&seen).into_owned();
    if !found {
        serial.push_str("\n--- qemu stderr ---\n");
        serial.push_str(&err);
    }
    QemuRun {
        serial,
        found,
        elapsed,
    }
}

/// The QEMU arguments that attach `image` as `media` under `firmware` (`ovmf` from
/// [`ovmf_args`]) and boot from it.
pub fn boot_args(image: &Path, firmware: Firmware, media: Media, ovmf: &[String]) -> Vec<String> {
    let mut args: Vec<String> = Vec::new();
    if firmware == Firmware::Ovmf {
        args.extend(ovmf.iter().cloned());
    }
    match media {
        Media::Cdrom => {
            args.extend(["-cdrom".into(), image.display().to_string()]);
            if firmware == Firmware::SeaBios {
                args.extend(["-boot".into(), "d".into()]);
            }
        }
        Media::Disk => {
            args.extend([
                "-drive".into(),
                // snapshot=on: writes (there should be none) go to a temporary overlay, never to
                // the image under test.
                format!(
                    "file={},format=raw,if=ide,index=0,snapshot=on",
                    image.display()
                ),
            ]);
            if firmware == Firmware::SeaBios {
                args.extend(["-boot".into(), "c".into()]);
            }
        }
    }
    args
}
