//! `cargo run --release --example phases -- SRC OUT.iso [udf]`: builds an ISO 9660 + Joliet +
//! Rock Ridge image (and UDF with `udf`) as `glassmaster build -o` does, printing when each
//! phase begins and ends and when the writer reaches the metadata: where a build's time goes.
use std::time::Instant;

use glassmaster::{FileSystems, ImageBuilder, Outcome, Phase, Progress, ProgressItem};

struct Phases {
    t0: Instant,
    in_data: Option<bool>,
}

impl Phases {
    fn say(&self, what: &str) {
        eprintln!("{:8.3} s  {what}", self.t0.elapsed().as_secs_f64());
    }
}

impl Progress for Phases {
    fn begin(&mut self, phase: Phase, total: u64) {
        self.say(&format!("begin {phase:?} (total {total})"));
    }
    fn item_started(&mut self, item: &ProgressItem) {
        let data = item.description.starts_with('/');
        if self.in_data != Some(data) {
            self.in_data = Some(data);
            self.say(if data {
                "writing file data"
            } else {
                "writing metadata"
            });
        }
    }
    fn end(&mut self, phase: Phase, outcome: Outcome) {
        self.say(&format!("end {phase:?}: {outcome:?}"));
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: phases SRC OUT.iso [udf]");
        std::process::exit(2);
    }
    let mut p = Phases {
        t0: Instant::now(),
        in_data: None,
    };
    let mut fs = FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE;
    if args.get(3).map(String::as_str) == Some("udf") {
        fs |= FileSystems::UDF;
    }
    let mut b = ImageBuilder::new();
    b.filesystems(fs);
    b.add_tree("/", &args[1], &mut p)?;
    let image = b.build_to_path(std::path::Path::new(&args[2]), &mut p)?;
    p.say(&format!("done: {} blocks", image.total_blocks()));
    Ok(())
}
