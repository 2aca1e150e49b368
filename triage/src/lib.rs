//! `sintfuzz-triage`: what a person does with crashes (repro, explain, minimize, bucket,
//! promote) and one-command campaigns over libFuzzer, AFL++ and honggfuzz. The binary is
//! `sintfuzz` (`src/main.rs`); this library holds the logic so tests can drive it.

pub mod bench;
pub mod bucket;
pub mod campaign;
pub mod check;
pub mod cmin;
pub mod cover;
pub mod engine;
pub mod explain;
pub mod finding;
pub mod harness;
pub mod lock;
pub mod minimize;
pub mod parity;
pub mod paths;
pub mod plot;
pub mod progress;
pub mod report;
pub mod runner;
pub mod semantic;
pub mod skips;
pub mod store;
pub mod triage;
pub mod tte;

use std::path::{Path, PathBuf};

/// A failure the user must fix: printed as one line, exit code 2.
#[derive(Debug)]
pub enum Fail {
    Usage(String),
}

/// The sintfuzz checkout: the nearest ancestor of the current directory holding
/// `triage/known.toml`, else the checkout this binary was built from.
pub fn repo_root() -> PathBuf {
    if let Ok(mut dir) = std::env::current_dir() {
        loop {
            if dir.join("triage/known.toml").is_file() && dir.join("fuzz").is_dir() {
                return dir;
            }
            if !dir.pop() {
                break;
            }
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}
