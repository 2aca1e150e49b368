//! libFuzzer: `relay_lifecycle` with the op-level mutator (`targets/src/mutate.rs`)
//! installed. A benchmark for bench/results.md, never shipped: measured, it needs fewer
//! executions to #1162 than libFuzzer's byte mutator but costs more CPU per execution, so
//! the shipped targets do not install it (fuzz/README.md, "The op-level mutator").
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sintfuzz_targets::relay_lifecycle(data));
sintfuzz_targets::libfuzzer_mutator!(sintfuzz_targets::Target::RelayLifecycle);
