//! libFuzzer: `all_ops` over raw bytes (the shared codec), with the op-level mutator
//! (`targets/src/mutate.rs`). See fuzz/README.md.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sintfuzz_targets::all_ops(data));
sintfuzz_targets::libfuzzer_mutator!(sintfuzz_targets::Target::AllOps);
