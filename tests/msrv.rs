//! The minimum supported Rust version stays true: `rust-version` in Cargo.toml is the highest
//! `rust-version` among the crates a build of glassmaster compiles (every non-dev dependency,
//! direct or not, for every target and feature, as Cargo.lock pins them), as `cargo metadata`
//! reports them. A dependency update that needs a newer Rust fails here until Cargo.toml says
//! so; a `rust-version` above what any dependency needs fails too, unless the crate's own code
//! is what needs it (then raise `OWN_CODE` below and say which feature needs it).

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

mod common;

/// The oldest Rust the crate's own code (not its dependencies) was checked with: Rust 1.85.1
/// builds the library and the CLI (`cargo +1.85 check --all-features --lib --bins`, also run
/// by `.ci/run`). Older compilers cannot be tried, the dependencies need 1.85.
const OWN_CODE: (u64, u64, u64) = (1, 85, 0);

/// `"1.85"` or `"1.85.0"` as (major, minor, patch).
fn version(text: &str) -> (u64, u64, u64) {
    let mut parts = text.split('.').map(|p| {
        p.parse::<u64>()
            .unwrap_or_else(|e| panic!("rust-version {text:?}: {e}"))
    });
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    let patch = parts.next().unwrap_or(0);
    assert!(parts.next().is_none(), "rust-version {text:?}");
    (major, minor, patch)
}

fn cargo() -> String {
    std::env::var("CARGO")
        .ok()
        .or_else(|| option_env!("CARGO").map(str::to_owned))
        .unwrap_or_else(|| "cargo".to_owned())
}

#[test]
fn rust_version_is_the_highest_a_non_dev_dependency_needs() {
    let cargo = cargo();
    if cargo == "cargo" && !common::require_tool("cargo") {
        return;
    }
    let out = common::run(
        Command::new(&cargo)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args([
                "metadata",
                "--format-version",
                "1",
                "--all-features",
                "--locked",
            ]),
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");

    let packages: HashMap<&str, &serde_json::Value> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| (p["id"].as_str().expect("package id"), p))
        .collect();
    let nodes: HashMap<&str, &serde_json::Value> = meta["resolve"]["nodes"]
        .as_array()
        .expect("resolve.nodes")
        .iter()
        .map(|n| (n["id"].as_str().expect("node id"), n))
        .collect();
    let root = meta["resolve"]["root"].as_str().expect("resolve.root");

    // Every package reached from the root through normal or build dependencies (a dev-only
    // edge is not followed: tests and benches may need a newer Rust than the library).
    let mut reached = BTreeSet::new();
    let mut todo = vec![root];
    while let Some(id) = todo.pop() {
        for dep in nodes[id]["deps"].as_array().expect("deps") {
            let non_dev = dep["dep_kinds"]
                .as_array()
                .expect("dep_kinds")
                .iter()
                .any(|k| k["kind"].as_str() != Some("dev"));
            let pkg = dep["pkg"].as_str().expect("dep pkg");
            if non_dev && reached.insert(pkg) {
                todo.push(pkg);
            }
        }
    }
    assert!(
        reached.len() > 10,
        "too few dependencies found: {reached:?}"
    );
    // Those that need a given Rust, highest first.
    let mut needs: Vec<((u64, u64, u64), String)> = reached
        .iter()
        .filter_map(|id| {
            let p = packages[id];
            let rv = p["rust_version"].as_str()?;
            Some((
                version(rv),
                format!(
                    "{} {} (rust-version {rv})",
                    p["name"].as_str().unwrap_or("?"),
                    p["version"].as_str().unwrap_or("?")
                ),
            ))
        })
        .collect();
    needs.sort_by(|a, b| b.cmp(a));
    let highest = needs.first().map(|n| n.0).unwrap_or((0, 0, 0));
    let who: Vec<&str> = needs
        .iter()
        .take_while(|n| n.0 == highest)
        .map(|n| n.1.as_str())
        .collect();

    let declared = packages[root]["rust_version"]
        .as_str()
        .expect("Cargo.toml has a rust-version");
    let declared_v = version(declared);
    assert!(
        declared_v >= highest,
        "Cargo.toml says rust-version = {declared:?}, but {} need(s) {}.{}: raise it",
        who.join(", "),
        highest.0,
        highest.1
    );
    assert_eq!(
        declared_v,
        highest.max(OWN_CODE),
        "Cargo.toml says rust-version = {declared:?}; the dependencies need {}.{} ({}) and the \
         crate's own code {}.{}: state the real minimum",
        highest.0,
        highest.1,
        who.join(", "),
        OWN_CODE.0,
        OWN_CODE.1
    );
}
