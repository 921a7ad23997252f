//! A small driver over the hadris-iso crate for benches/compare: builds an ISO 9660 (level 3)
//! + Joliet + Rock Ridge image of a directory tree into a file, like `mkisofs -J -R -o OUT DIR`.
//!
//! usage: hadris-driver DIR OUT.iso

use hadris_fs::host::{self, TreeOptions};
use hadris_fs::NoClock;
use hadris_iso::{IsoId, IsoLevel, IsoOptions};

fn main() {
    if let Err(e) = run() {
        eprintln!("hadris-driver: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, out] = args.as_slice() else {
        return Err("usage: hadris-driver DIR OUT.iso".into());
    };
    let (tree, skipped) = host::read_tree(dir, &TreeOptions::new())?;
    for e in &skipped {
        eprintln!("hadris-driver: skipped: {e}");
    }
    let options = IsoOptions::default()
        .with_id(IsoId::Volume, "BENCH")
        .with_level(IsoLevel::L3)
        .with_joliet()
        .with_rock_ridge()
        .with_time(host::source_date_epoch()?.unwrap_or(NoClock::TIME));
    let file = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(out)?;
    let report = hadris_iso::sync::write(
        hadris_storage::host::FileDevice::new(file)?,
        &tree,
        &options,
    )?;
    for w in report.warnings() {
        eprintln!("hadris-driver: warning: {w}");
    }
    eprintln!("hadris-driver: wrote {out}: {} bytes", report.size());
    Ok(())
}
