//! libFuzzer: `all_ops` over raw bytes (the shared codec). See fuzz/README.md.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sintfuzz_targets::all_ops(data));
sintfuzz_targets::libfuzzer_defaults!();
