//! libFuzzer: `synic_msr` with revision `proposed` and the `strict` invariants baked in, for
//! OSS-Fuzz and ClusterFuzzLite (they run binaries without env vars). `SINTFUZZ_REVISION`
//! and `SINTFUZZ_INVARIANTS` are ignored here. `proposed` is clean under `strict`, so any
//! crash is a new finding. See fuzz/README.md, "Continuous fuzzing".
#![no_main]
use sintfuzz_targets::{fuzz_with, Settings, Target};

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_with(
    Target::SynicMsr,
    data,
    &Settings::proposed_strict()
));
sintfuzz_targets::libfuzzer_defaults!();
