//! libFuzzer: `relay_lifecycle` with libFuzzer's byte mutator only (no op-level mutator):
//! the side-by-side reference that measures what `targets/src/mutate.rs` adds. A
//! benchmark for bench/results.md, never shipped.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sintfuzz_targets::relay_lifecycle(data));
