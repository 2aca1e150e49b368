//! libFuzzer: `relay_lifecycle` over raw bytes (the shared codec), with the op-level mutator
//! (`targets/src/mutate.rs`). See fuzz/README.md.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sintfuzz_targets::relay_lifecycle(data));
sintfuzz_targets::libfuzzer_mutator!(sintfuzz_targets::Target::RelayLifecycle);
