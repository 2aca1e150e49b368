//! libFuzzer: an empty target, the exec/s ceiling that `sintfuzz bench --engines` divides by. Not an
//! OSS-Fuzz target (it lives outside fuzz_targets/). See bench/results.md.
#![no_main]
libfuzzer_sys::fuzz_target!(|_d: &[u8]| {});
