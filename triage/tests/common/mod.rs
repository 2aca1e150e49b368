//! Helpers the CLI end-to-end tests share.

use std::path::{Path, PathBuf};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A #1162 witness from the regressions (a crash a stand-in engine "finds").
pub fn witness_1162() -> PathBuf {
    std::fs::read_dir(root().join("triage/regressions/relay_lifecycle"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.extension().is_some_and(|x| x == "bin")
                && std::fs::read_to_string(p.with_extension("toml"))
                    .is_ok_and(|t| t.contains("openvmm#1162"))
        })
        .expect("a #1162 regression")
}
