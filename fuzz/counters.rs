//! Shared by the AFL++ and honggfuzz wrappers: the near-miss feedback's 8-bit counters
//! (`__libfuzzer_extra_counters`, written by targets/src/feedback.rs) handed to the engine.
//! Both builds leave the model and the targets crate without sanitizer coverage
//! (.cargo/scope-coverage.sh), so the feedback's own functions have no edges there; these
//! counters are what steers the engine instead, as libFuzzer's extra counters do.
//! libFuzzer reads the section itself; its wrappers do not use this module.
//!
//! - honggfuzz: its runtime (libhfuzz `instrument.c`) takes a module's 8-bit counters
//!   through `__sanitizer_cov_8bit_counters_init` and folds them into its edge map (hit-count
//!   buckets, then cleared) in `instrument8BitCountersCount`. Its own LLVMFuzzerTestOneInput
//!   loop calls that after each input; the Rust crate's `HF_ITER` loop does not, so
//!   [`after_input`] does, before the next `fuzz!` reports the input done.
//! - AFL++: its runtime (afl-compiler-rt) has no 8-bit-counter registration. A constructor
//!   hands it one trace-pc-guard per counter through `__sanitizer_cov_trace_pc_guard_init`,
//!   as each instrumented crate's constructor does for its edges: the runtime numbers them
//!   after the edges registered so far and sizes the map to hold them (`__afl_final_loc`).
//!   It runs at the sanitizer-coverage constructors' priority (2), so before the map size
//!   is read (`__afl_auto_early`, priority 3, which `AFL_DUMP_MAP_SIZE` answers) and before
//!   a forkserver starts (`__afl_auto_init` outside afl-fuzz; the afl crate's `fuzz!` under
//!   it), after which the runtime refuses new guards. [`after_input`] copies the counters
//!   into `__afl_area_ptr` at their guards' indices, and clears them; afl-fuzz reads the
//!   map when the next `__afl_persistent_loop` reports the input done.

#[cfg(all(fuzzing, feature = "afl", feature = "honggfuzz"))]
compile_error!(
    "build the AFL++ and the honggfuzz wrappers apart (`--features afl` or `honggfuzz`)"
);

#[cfg(all(fuzzing, not(fuzzing_debug)))]
extern "C" {
    // Linker-made bounds of the section (its name is a C identifier).
    static __start___libfuzzer_extra_counters: u8;
    static __stop___libfuzzer_extra_counters: u8;
}

#[cfg(all(fuzzing, not(fuzzing_debug), feature = "honggfuzz"))]
extern "C" {
    fn __sanitizer_cov_8bit_counters_init(start: *const u8, end: *const u8);
    fn instrument8BitCountersCount();
}

/// The counters: their first byte and how many.
#[cfg(all(fuzzing, not(fuzzing_debug)))]
fn section() -> (*mut u8, usize) {
    let start = &raw const __start___libfuzzer_extra_counters;
    let stop = &raw const __stop___libfuzzer_extra_counters;
    (start.cast_mut(), stop as usize - start as usize)
}

/// Registers the counters with honggfuzz; once, before the first input.
#[cfg(feature = "honggfuzz")]
pub fn register() {
    #[cfg(all(fuzzing, not(fuzzing_debug)))]
    {
        let (start, len) = section();
        // SAFETY: the bounds are the linker's symbols for one section of this binary,
        // which lives as long as the process; honggfuzz only reads and clears the bytes
        // between.
        unsafe { __sanitizer_cov_8bit_counters_init(start, start.add(len)) };
    }
}

/// Folds this input's counts into honggfuzz's coverage and clears them.
#[cfg(feature = "honggfuzz")]
#[inline(always)]
pub fn after_input() {
    #[cfg(all(fuzzing, not(fuzzing_debug)))]
    // SAFETY: a libhfuzz function with no arguments, on the fuzzing thread, after
    // `register`.
    unsafe {
        instrument8BitCountersCount();
    }
}

#[cfg(all(fuzzing, not(fuzzing_debug), feature = "afl"))]
mod afl {
    use std::sync::atomic::{AtomicUsize, Ordering};

    extern "C" {
        fn __sanitizer_cov_trace_pc_guard_init(start: *mut u32, stop: *mut u32);
        static __afl_area_ptr: *mut u8;
    }

    /// The first counter's index in AFL++'s map; 0 until the constructor ran, or if the
    /// runtime did not number the counters in one run.
    static FIRST: AtomicUsize = AtomicUsize::new(0);

    /// The constructor (see the module's comment for the priority).
    #[used]
    #[link_section = ".init_array.00002"]
    static REGISTER: extern "C" fn() = register;

    extern "C" fn register() {
        let (_, len) = super::section();
        if len == 0 {
            return;
        }
        // Zeroed: the runtime numbers only guards that are 0. Never freed (the runtime
        // may keep the range).
        let guards: &'static mut [u32] = Vec::leak(vec![0; len]);
        let range = guards.as_mut_ptr_range();
        // SAFETY: a writable range of `len` guards that outlives every use; called before
        // the forkserver starts, as the runtime requires.
        unsafe { __sanitizer_cov_trace_pc_guard_init(range.start, range.end) };
        // It numbers them one after the other (`++__afl_final_loc`), unless
        // `AFL_INST_RATIO` drops some: then the counters stay out of AFL++'s map.
        if guards[0] != 0 && guards.windows(2).all(|w| w[1] == w[0] + 1) {
            FIRST.store(guards[0] as usize, Ordering::Relaxed);
        }
    }

    /// Copies the counters into AFL++'s map and clears them. A straight copy of the whole
    /// section (a memcpy and a memset): this wrapper crate keeps its edge coverage, and a
    /// loop over the set counters would add edges whose hit counts vary with how many
    /// were set.
    #[inline(always)]
    pub fn after_input() {
        let first = FIRST.load(Ordering::Relaxed);
        if first == 0 {
            return;
        }
        let (start, len) = super::section();
        // SAFETY: `start..start + len` is the counters' section, and
        // `first..first + len` are the map indices the runtime gave them (≤
        // `__afl_final_loc`, which sizes `__afl_area_ptr`); nothing else touches either
        // between inputs.
        unsafe {
            std::ptr::copy_nonoverlapping(start, __afl_area_ptr.add(first), len);
            std::ptr::write_bytes(start, 0, len);
        }
    }
}

/// Writes this input's counts into AFL++'s coverage map and clears them.
#[cfg(all(feature = "afl", not(feature = "honggfuzz")))]
#[inline(always)]
pub fn after_input() {
    #[cfg(all(fuzzing, not(fuzzing_debug)))]
    afl::after_input();
}
