//! libFuzzer: the shaped peer harness (`targets/peers/src/shaped.rs`) over the same model
//! and oracle. A benchmark for bench/results.md, never shipped. See fuzz/README.md.
#![no_main]
libfuzzer_sys::fuzz_target!(|input: sintfuzz_peers::shaped::Input| {
    sintfuzz_peers::check(input.config(), || input.ops())
});
