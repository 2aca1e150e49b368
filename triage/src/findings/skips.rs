//! The oracle's skip shares (`sintfuzz_targets::oracle::Skip`) over a corpus, for the
//! campaign report: each reason the oracle declined to judge, as a share of the deliveries
//! it judged, replaying every file to its end.

use std::path::Path;

use sintfuzz_targets::files::read_input;
use sintfuzz_targets::harness::run_skips;
use sintfuzz_targets::oracle::{Skip, Skips};
use sintfuzz_targets::{InvariantSet, Settings, Target};

/// One line for the report's notes.
pub fn corpus_note(target: Target, settings: &Settings, dir: &Path) -> String {
    let all = Settings {
        invariants: InvariantSet::NONE,
        ..*settings
    };
    let mut total = Skips::default();
    let mut files = 0usize;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if let Ok(data) = read_input(&e.path()) {
                total.add(&run_skips(target, &data, &all).1);
                files += 1;
            }
        }
    }
    let shares: Vec<String> = Skip::ALL
        .iter()
        .map(|&k| format!("{} {:.1} %", k.name(), 100.0 * total.share(k)))
        .collect();
    format!(
        "{target}: oracle skips over the final corpus ({files} files, {} judged deliveries): {}",
        total.judged,
        shares.join(", ")
    )
}
