//! Shared by the honggfuzz wrappers: the near-miss feedback's 8-bit counters
//! (`__libfuzzer_extra_counters`, written by targets/src/feedback.rs) handed to honggfuzz.
//! A honggfuzz build leaves the model and the targets crate without sanitizer coverage
//! (.cargo/scope-coverage.sh), so the feedback's own functions have no edges there; these
//! counters are what steers honggfuzz instead, as libFuzzer's extra counters do.
//!
//! honggfuzz's runtime (libhfuzz `instrument.c`) takes a module's 8-bit counters through
//! `__sanitizer_cov_8bit_counters_init` and folds them into its edge map (hit-count
//! buckets, then cleared) in `instrument8BitCountersCount`. Its own LLVMFuzzerTestOneInput
//! loop calls that after each input; the Rust crate's `HF_ITER` loop does not, so
//! [`after_input`] does, before the next `fuzz!` reports the input done.

#[cfg(all(fuzzing, not(fuzzing_debug)))]
extern "C" {
    // Linker-made bounds of the section (its name is a C identifier).
    static __start___libfuzzer_extra_counters: u8;
    static __stop___libfuzzer_extra_counters: u8;
    fn __sanitizer_cov_8bit_counters_init(start: *const u8, end: *const u8);
    fn instrument8BitCountersCount();
}

/// Registers the counters with honggfuzz; once, before the first input.
pub fn register() {
    #[cfg(all(fuzzing, not(fuzzing_debug)))]
    // SAFETY: the bounds are the linker's symbols for one section of this binary, which
    // lives as long as the process; honggfuzz only reads and clears the bytes between.
    unsafe {
        __sanitizer_cov_8bit_counters_init(
            &raw const __start___libfuzzer_extra_counters,
            &raw const __stop___libfuzzer_extra_counters,
        );
    }
}

/// Folds this input's counts into honggfuzz's coverage and clears them.
#[inline(always)]
pub fn after_input() {
    #[cfg(all(fuzzing, not(fuzzing_debug)))]
    // SAFETY: a libhfuzz function with no arguments, on the fuzzing thread, after
    // `register`.
    unsafe {
        instrument8BitCountersCount();
    }
}
