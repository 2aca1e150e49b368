//! libFuzzer: `synic_msr` with revision `proposed` and the `strict` invariants baked in, for
//! OSS-Fuzz and ClusterFuzzLite (they run binaries without env vars). `SINTFUZZ_REVISION`
//! and `SINTFUZZ_INVARIANTS` are ignored here. `proposed` is clean under `strict`, so any
//! crash is a new finding. See fuzz/README.md, "Continuous fuzzing".
#![no_main]
use std::sync::OnceLock;

use sintfuzz_model::Revision;
use sintfuzz_targets::harness::{run, Outcome, Settings};
use sintfuzz_targets::{InvariantSet, Target};

fn settings() -> &'static Settings {
    static SETTINGS: OnceLock<Settings> = OnceLock::new();
    SETTINGS.get_or_init(|| Settings {
        revision: Revision::Proposed,
        invariants: InvariantSet::strict(),
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Outcome::Violation(v) = run(Target::SynicMsr, data, settings()) {
        panic!("{v}");
    }
});
