//! libFuzzer: `proxy_filter` over raw bytes (the shared codec). See fuzz/README.md.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sintfuzz_targets::proxy_filter(data));
sintfuzz_targets::libfuzzer_defaults!();
