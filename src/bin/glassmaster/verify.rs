//! `glassmaster verify IMAGE`: checks the checksums embedded with `build --checksums` (the
//! list's own hash, then every file by its block range) and the structures (strict parse of
//! every view). Names each damaged file with its blocks; exit status 1 on any damage.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::PathBuf;

use clap::Args;
use glassmaster::checksums::{LIST_PATH, SELF_PATH};
use glassmaster::read::{ImageReader, Limits};
use sha2::{Digest, Sha256};

use crate::error::{CliError, CliResult, ResultExt};
use crate::image_file::{open_image, printable};

/// Arguments of `verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The image file
    #[arg(value_name = "IMAGE")]
    pub image: PathBuf,

    /// Print only the damage found
    #[arg(short, long)]
    pub quiet: bool,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Runs `verify`.
pub fn run(args: VerifyArgs) -> CliResult {
    let mut reader = open_image(&args.image)?;
    let mut read_named = |path: &str| -> Option<Vec<u8>> {
        for view in reader.views() {
            if let Ok(e) = reader.lookup(view, path) {
                if let Ok(bytes) = reader.read_file(&e) {
                    return Some(bytes);
                }
            }
        }
        None
    };
    let (Some(list), Some(own)) = (read_named(LIST_PATH), read_named(SELF_PATH)) else {
        return Err(CliError::msg(format!(
            "{}: no embedded checksums ({LIST_PATH}); build the image with --checksums",
            args.image.display()
        )));
    };
    let mut damage: Vec<String> = Vec::new();
    let own_hash = String::from_utf8_lossy(&own)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string();
    if own_hash != hex(&Sha256::digest(&list)) {
        damage.push(format!("{LIST_PATH}: the checksum list itself is damaged (its hash in {SELF_PATH} does not match)"));
    }
    let mut file = BufReader::new(
        File::open(&args.image).context(|| format!("cannot open {}", args.image.display()))?,
    );
    let text = String::from_utf8_lossy(&list).into_owned();
    let mut checked = 0u64;
    for line in text.lines() {
        let mut it = line.splitn(4, ' ');
        let (Some(hash), Some(lba), Some(size), Some(path)) =
            (it.next(), it.next(), it.next(), it.next())
        else {
            damage.push(format!("{LIST_PATH}: unreadable line {line:?}"));
            continue;
        };
        let (Ok(lba), Ok(size)) = (lba.parse::<u64>(), size.parse::<u64>()) else {
            damage.push(format!("{LIST_PATH}: unreadable line {line:?}"));
            continue;
        };
        let blocks = size.div_ceil(2048).max(1);
        let what = format!("{} (blocks {}-{})", printable(path), lba, lba + blocks - 1);
        let mut h = Sha256::new();
        let ok = (|| -> std::io::Result<()> {
            if size > 0 {
                file.seek(SeekFrom::Start(lba * 2048))?;
                let mut left = size;
                let mut buf = vec![0u8; 1 << 20];
                while left > 0 {
                    let n = left.min(buf.len() as u64) as usize;
                    file.read_exact(&mut buf[..n])?;
                    h.update(&buf[..n]);
                    left -= n as u64;
                }
            }
            Ok(())
        })();
        match ok {
            Err(e) => damage.push(format!("damaged: {what}: cannot be read ({e})")),
            Ok(()) if hex(&h.finalize()) != hash => damage.push(format!("damaged: {what}")),
            Ok(()) => {}
        }
        checked += 1;
    }
    // The structures: every view parsed in strict mode.
    let f = File::open(&args.image).context(|| format!("cannot open {}", args.image.display()))?;
    let limits = Limits {
        strictness: glassmaster::read::Strictness::Strict,
        ..crate::image_file::limits_for(&f)
    };
    match ImageReader::open_with_limits(BufReader::new(f), limits) {
        Ok(mut r) => {
            for view in r.views() {
                if let Err(e) = r.walk(view) {
                    damage.push(format!("structure ({view} view): {e}"));
                }
            }
        }
        Err(e) => damage.push(format!("structure: {e}")),
    }
    for d in &damage {
        println!("{d}");
    }
    if damage.is_empty() {
        if !args.quiet {
            println!(
                "{}: {checked} files and the structures verified, no damage",
                args.image.display()
            );
        }
        Ok(())
    } else {
        Err(CliError::msg(format!(
            "{}: {} problems found",
            args.image.display(),
            damage.len()
        )))
    }
}
