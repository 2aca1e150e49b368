//! libFuzzer: `relay_lifecycle` over raw bytes (the shared codec). See fuzz/README.md.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sintfuzz_targets::relay_lifecycle(data));
sintfuzz_targets::libfuzzer_defaults!();
