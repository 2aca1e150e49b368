//! `sintfuzz-triage`: what a person does with crashes (repro, explain, minimize, bucket,
//! promote) and one-command campaigns over libFuzzer, AFL++ and honggfuzz. The binary is
//! `sintfuzz` (`src/cli/main.rs`: argument parsing and dispatch only); this library holds
//! the logic so tests can drive it, by capability, each folder calling only those below:
//!
//! ```text
//! cli/ (the binary)
//!   -> campaign/   bench/   check/
//!        -> findings/   engine/
//!             -> sintfuzz-targets, sintfuzz-peers -> sintfuzz-model
//! ```
//!
//! Each folder's `mod.rs` says what it owns and what it may call; `tests/layers.rs`
//! checks the arrows.

pub mod args;
pub mod bench;
pub mod campaign;
pub mod check;
pub mod engine;
pub mod findings;
pub mod panics;
pub mod paths;

/// The paths `check/` names (its imports follow when its own work lands).
pub use args::{parse_duration, parse_targets};
pub use findings::bucket;

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
