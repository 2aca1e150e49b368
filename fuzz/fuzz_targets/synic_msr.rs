//! libFuzzer: `synic_msr` over raw bytes (the shared codec), with the op-level mutator
//! (`targets/src/mutate.rs`). See fuzz/README.md.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sintfuzz_targets::synic_msr(data));
sintfuzz_targets::libfuzzer_mutator!(sintfuzz_targets::Target::SynicMsr);
