//! The engine entry point, on top of every other layer: [`fuzz`] and [`fuzz_with`] are
//! the body of every engine wrapper (`fuzz/`), the per-target functions below their
//! symbols. One input goes straight down: the harness runs it (with the engines'
//! feedback hook, or the tracing hook when reproducing), and on a violation the known
//! list judges it (`crate::known`, through `crate::signature`): a known open finding or
//! weakness is counted and the run goes on; anything else panics with the violation
//! line, which each engine records as a crash.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;

use crate::feedback::Feedback;
use crate::harness::{run, run_hooked, Outcome, Settings, Source};
use crate::known::{judge_source, KnownList, KnownMode, Verdict, ENV_KNOWN};
use crate::oracle::Violation;
use crate::target::Target;
use crate::trace::{init_tracing, TracingHook};

/// The body of every engine wrapper. Panics with the violation line on a violation, so
/// each engine records a crash whose first line is `sintfuzz violation: <id>: ...`, unless
/// its root cause is a known open finding or weakness (`crate::known`).
pub fn fuzz(target: Target, data: &[u8]) {
    fuzz_with(target, data, Settings::global())
}

/// [`fuzz`] with settings baked in by the wrapper (the OSS-Fuzz `<target>_proposed`
/// binaries), ignoring `SINTFUZZ_REVISION`/`SINTFUZZ_INVARIANTS`.
pub fn fuzz_with(target: Target, data: &[u8], settings: &Settings) {
    static REPRO: OnceLock<bool> = OnceLock::new();
    let repro = *REPRO.get_or_init(|| cfg!(fuzzing_repro) || init_tracing());
    let outcome = if repro {
        run_hooked(target, data, settings, &mut TracingHook)
    } else if crate::feedback::enabled() {
        // Near-miss feedback for the engine (`crate::feedback`); the outcome is `run`'s.
        run_hooked(target, data, settings, &mut Feedback::default())
    } else {
        run(target, data, settings)
    };
    if let Outcome::Violation(v) = outcome {
        // Known open findings are counted and skipped; anything else panics.
        on_violation(target, data, settings, &v);
    }
}

/// Engine entry point for `synic_msr`.
pub fn synic_msr(data: &[u8]) {
    fuzz(Target::SynicMsr, data)
}

/// Engine entry point for `proxy_filter`.
pub fn proxy_filter(data: &[u8]) {
    fuzz(Target::ProxyFilter, data)
}

/// Engine entry point for `relay_lifecycle`.
pub fn relay_lifecycle(data: &[u8]) {
    fuzz(Target::RelayLifecycle, data)
}

/// Engine entry point for `all_ops`.
pub fn all_ops(data: &[u8]) {
    fuzz(Target::AllOps, data)
}

/// Suppressed violations per entry of the embedded list.
const MAX_COUNTED: usize = 64;
static SUPPRESSED: [AtomicU64; MAX_COUNTED] = [const { AtomicU64::new(0) }; MAX_COUNTED];

/// The engines' handling of a violation: count and return if suppressed, else panic.
pub fn on_violation(target: Target, data: &[u8], settings: &Settings, v: &Violation) {
    on_violation_source(Source::Bytes(target, data), settings, v)
}

/// [`on_violation`] of any [`Source`] (the peer harnesses' fuzz body).
pub fn on_violation_source(source: Source<'_>, settings: &Settings, v: &Violation) {
    let list = KnownList::embedded();
    match judge_source(list, KnownMode::global(), source, settings, v) {
        Verdict::Suppressed(i) => {
            let n = SUPPRESSED[i.min(MAX_COUNTED - 1)].fetch_add(1, Ordering::Relaxed);
            if n == 0 {
                let k = &list.finding[i];
                eprintln!(
                    "sintfuzz: skipping known {} ({}): {}; {ENV_KNOWN}=report stops on it",
                    k.id, k.status, k.title
                );
                print_at_exit();
            }
        }
        Verdict::Stop(msg) => {
            print_suppressed();
            panic!("{msg}");
        }
    }
}

/// Suppressed counts per known finding id, in list order (ids with none left out).
pub fn suppressed_counts() -> Vec<(&'static str, u64)> {
    let list = KnownList::embedded();
    let mut out: Vec<(&'static str, u64)> = Vec::new();
    for (i, k) in list.finding.iter().enumerate().take(MAX_COUNTED) {
        let n = SUPPRESSED[i].load(Ordering::Relaxed);
        if n > 0 {
            out.push((k.id.as_str(), n));
        }
    }
    out
}

fn print_suppressed() {
    let counts = suppressed_counts();
    if counts.is_empty() {
        return;
    }
    let list: Vec<String> = counts.iter().map(|(id, n)| format!("{id} x{n}")).collect();
    eprintln!("sintfuzz: suppressed known findings: {}", list.join(", "));
}

extern "C" fn print_suppressed_at_exit() {
    print_suppressed();
}

extern "C" {
    fn atexit(callback: extern "C" fn()) -> core::ffi::c_int;
}

/// Print the counts when the process exits normally (libFuzzer's `-runs`,
/// `-max_total_time`); registered once.
fn print_at_exit() {
    static REGISTERED: AtomicBool = AtomicBool::new(false);
    if !REGISTERED.swap(true, Ordering::Relaxed) {
        // SAFETY: `atexit` from the C library the process already links; the callback is
        // a plain `extern "C" fn` that touches only statics.
        unsafe {
            atexit(print_suppressed_at_exit);
        }
    }
}
