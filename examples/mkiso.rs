//! `cargo run --example mkiso -- SRC OUT.iso [level]`: builds an ISO 9660 + Joliet image.
use glassmaster::{ImageBuilder, IsoLevel, NoProgress};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: mkiso SRC OUT.iso [1|2|3|1999]");
        std::process::exit(2);
    }
    let mut b = ImageBuilder::new();
    if let Some(l) = args.get(3) {
        b.level(l.parse::<IsoLevel>()?);
    }
    b.add_tree("/", &args[1], &mut NoProgress)?;
    let image = b.build(&mut NoProgress)?;
    image.write_to_path(std::path::Path::new(&args[2]), &mut NoProgress)?;
    for w in image.warnings() {
        eprintln!("warning: {w}");
    }
    Ok(())
}
