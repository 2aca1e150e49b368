//! Near-miss feedback for the engines (IJON-style state annotation). A lost or leaked
//! interrupt needs two things in order: the filter and the guest's entitlement must
//! disagree, then an interrupt must cross the disagreement. Edge coverage cannot see the
//! first: the same code computes the filter and the entitlement whether or not they
//! disagree, so an input that sets up a loss and one that does not look alike to the
//! engine, and the step before the crash is never kept in the corpus.
//!
//! After every operation, [`Feedback`] reduces the state to a few bits — some VP's filter
//! blocks a vector the guest entitles (a loss is one interrupt away), some VP's filter
//! admits a vector nobody entitled (a leak is one malicious assert away), a host signal on
//! an open relayed channel would be owed a blocked vector (a loss is one host signal
//! away), a VTL0 device route's vector is blocked on a target VP (one device interrupt
//! away) — and runs one function per (operation variant, bits). Each function is its own
//! code, so every engine's edge coverage (libFuzzer, AFL++ and honggfuzz alike, and their
//! hit-count buckets) counts a new pair as new coverage and keeps the input that reached it.
//! The same pairs are also libFuzzer extra counters, so the signal survives the libFuzzer
//! builds that leave this crate and the model without sanitizer coverage
//! (`.cargo/scope-coverage.sh`).
//!
//! Feedback only: it cannot change an outcome (a [`StepHook`] sees the model and the oracle
//! through shared references, and `run` is `run_hooked` with a no-op hook on the same step
//! loop), and it runs only in the engines' path ([`crate::engine::fuzz_with`]); `run`, `cargo test`
//! and triage never see it. The filter's state here steers the search, as the guide allows a label.

use std::sync::OnceLock;

use sintfuzz_model::Event;
use sintfuzz_model::{Op, OpResult, Partition, VectorSet};

use crate::harness::StepHook;
use crate::oracle::Oracle;

/// `SINTFUZZ_FEEDBACK`: `on` (unset: the default) or `off`, for measuring the feedback
/// against the same binary without it (`sintfuzz tte --harnesses ours,nofb`).
pub const ENV_FEEDBACK: &str = "SINTFUZZ_FEEDBACK";

/// Whether a value of [`ENV_FEEDBACK`] turns the feedback on; an error if it is set and
/// not `on`/`off`, or not UTF-8.
pub fn parse_env(value: Result<String, std::env::VarError>) -> Result<bool, String> {
    crate::env::word(ENV_FEEDBACK, value, true, &[("on", true), ("off", false)])
}

/// [`ENV_FEEDBACK`], read once per process; a bad value ends it with one line and exit
/// code 2 before any input runs.
pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| crate::env::or_exit(parse_env(std::env::var(ENV_FEEDBACK))))
}

/// State bits: some VP's filter blocks an entitled vector.
const TOO_CLOSED: usize = 1;
/// Some VP's filter admits a vector that is not entitled.
const TOO_OPEN: usize = 2;
/// A host signal on an open relayed channel would be owed a vector its VP's filter blocks.
const RELAY_AT_RISK: usize = 4;
/// A VTL0 device route targets a VP whose filter blocks its vector.
const DEVICE_AT_RISK: usize = 8;
const STATES: usize = 16;
/// Operation variants the table has room for.
const VARIANTS: usize = 32;
const _: () = assert!(Op::COUNT <= VARIANTS, "raise VARIANTS and the seq! range");

seq_macro::seq!(N in 0..512 {
    /// One function per (variant, state): distinct code, so distinct coverage.
    static REACHED: [fn(); VARIANTS * STATES] = [#(reached::<N>,)*];
});

/// The same marks as libFuzzer extra counters (`__libfuzzer_extra_counters`, read by
/// libFuzzer's `ExtraCountersBegin` on Linux, cleared before each input): the signal
/// survives a build that leaves this crate without sanitizer coverage.
#[cfg(target_os = "linux")]
#[used]
#[link_section = "__libfuzzer_extra_counters"]
static EXTRA: [std::sync::atomic::AtomicU8; VARIANTS * STATES] =
    [const { std::sync::atomic::AtomicU8::new(0) }; VARIANTS * STATES];

#[inline(always)]
fn mark(index: usize) {
    #[cfg(target_os = "linux")]
    {
        use std::sync::atomic::Ordering::Relaxed;
        let c = &EXTRA[index];
        c.store(c.load(Relaxed).wrapping_add(1), Relaxed);
    }
    REACHED[index]();
}

#[inline(never)]
fn reached<const N: usize>() {
    // A distinct body per N, so no pass merges the functions.
    std::hint::black_box(N);
}

/// The state bits after a step.
#[inline]
fn state(model: &Partition, oracle: &Oracle) -> usize {
    let mut bits = 0;
    let relay_targets = oracle.relay_targets();
    for vp in 0..model.config.vps() {
        let entitled = oracle.entitlement(vp);
        let blocked = model.vps[vp].run.proxy_irr_blocked;
        if !entitled.intersection(blocked).is_empty() {
            bits |= TOO_CLOSED;
        }
        if oracle
            .relay_owed(vp, relay_targets)
            .is_some_and(|v| blocked.contains(v))
        {
            bits |= RELAY_AT_RISK;
        }
        if !oracle.device_routes_to(vp).intersection(blocked).is_empty() {
            bits |= DEVICE_AT_RISK;
        }
        // Vectors 0..=15 are never an interrupt (the kernel drops them), so their
        // admission is no leak.
        let admitted = blocked.complement().difference(VectorSet::RESERVED);
        if !admitted.difference(entitled).is_empty() {
            bits |= TOO_OPEN;
        }
    }
    bits
}

/// The engines' step hook: marks each (operation variant, state) pair it reaches.
#[derive(Default)]
pub struct Feedback {
    variant: usize,
}

impl StepHook for Feedback {
    #[inline(always)]
    fn op(&mut self, _: usize, op: &Op, _: &Partition) {
        self.variant = op.variant_index();
    }
    #[inline(always)]
    fn event(&mut self, _: &Event) {}
    #[inline]
    fn result(&mut self, _: usize, _: OpResult, model: &Partition, oracle: &Oracle) {
        mark(self.variant * STATES + state(model, oracle));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::{run_hooked, Settings};
    use crate::invariant::InvariantSet;
    use crate::scenarios::witnesses;
    use crate::{codec, Outcome};
    use sintfuzz_model::Revision;

    /// Records the states instead of marking them.
    #[derive(Default)]
    struct Record(Vec<usize>);

    impl StepHook for Record {
        fn op(&mut self, _: usize, _: &Op, _: &Partition) {}
        fn event(&mut self, _: &Event) {}
        fn result(&mut self, _: usize, _: OpResult, model: &Partition, oracle: &Oracle) {
            self.0.push(state(model, oracle));
        }
    }

    fn states(name: &str, revision: Revision) -> (Vec<usize>, Outcome) {
        let w = witnesses().into_iter().find(|w| w.name == name).unwrap();
        let data = codec::encode(w.target, &w.scenario).unwrap();
        let settings = Settings {
            revision,
            invariants: InvariantSet::parse("default").unwrap(),
        };
        let mut rec = Record::default();
        let outcome = run_hooked(w.target, &data, &settings, &mut rec);
        (rec.0, outcome)
    }

    #[test]
    fn a_mark_counts_in_its_extra_counter() {
        // Index 511 (the last variant slot, all state bits) is never reached by an
        // operation today (`Op::COUNT` < 32), so no other test moves it meanwhile.
        let i = VARIANTS * STATES - 1;
        const { assert!(Op::COUNT < VARIANTS) };
        let before = EXTRA[i].load(std::sync::atomic::Ordering::Relaxed);
        mark(i);
        let after = EXTRA[i].load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(after, before.wrapping_add(1));
    }

    #[test]
    fn the_switch_reads_on_off_and_unset_and_refuses_anything_else() {
        use std::env::VarError;
        assert_eq!(parse_env(Err(VarError::NotPresent)), Ok(true));
        assert_eq!(parse_env(Ok("on".into())), Ok(true));
        assert_eq!(parse_env(Ok(" off\n".into())), Ok(false));
        let e = parse_env(Ok("0".into())).unwrap_err();
        assert!(e.contains(ENV_FEEDBACK) && e.contains("'0'"), "{e}");
        assert!(parse_env(Err(VarError::NotUnicode("x".into()))).is_err());
    }

    #[test]
    fn the_1162_witness_is_too_closed_from_the_sint_write_and_at_risk_once_open() {
        let (s, outcome) = states("proxy-bit-drops-relay-signal", Revision::ProxyBit);
        assert!(matches!(outcome, Outcome::Violation(_)));
        // SINT2 written without the proxy bit: entitled, blocked.
        assert_eq!(s[0] & TOO_CLOSED, TOO_CLOSED, "{s:?}");
        assert_eq!(s[0] & RELAY_AT_RISK, 0, "{s:?}");
        // Offered, then opened to that VP: one host signal from a loss.
        assert_eq!(s[2] & RELAY_AT_RISK, RELAY_AT_RISK, "{s:?}");
    }

    #[test]
    fn the_fixed_filter_is_not_too_closed_on_the_1162_witness() {
        let (s, outcome) = states("proxy-bit-drops-relay-signal", Revision::Head);
        assert_eq!(outcome, Outcome::Clean);
        assert!(s.iter().all(|b| b & TOO_CLOSED == 0), "{s:?}");
    }

    #[test]
    fn the_unfiltered_kernel_is_too_open() {
        let (s, _) = states("unfiltered-host-injects-any-vector", Revision::Unfiltered);
        assert!(s.iter().all(|b| b & TOO_OPEN != 0), "{s:?}");
        let (s, _) = states("unfiltered-host-injects-any-vector", Revision::Head);
        assert!(s.iter().all(|b| b & TOO_OPEN == 0), "{s:?}");
    }

    #[test]
    fn a_retarget_to_a_vp_that_has_not_run_leaves_its_device_at_risk() {
        // SF-003: the caller's filter is recomputed at once, the other target's only when
        // it next runs; the proposed fix updates every target VP synchronously.
        let (s, _) = states("retarget-cross-vp-wake-window", Revision::Head);
        assert_eq!(s[0] & DEVICE_AT_RISK, DEVICE_AT_RISK, "{s:?}");
        let (s, _) = states("retarget-cross-vp-wake-window", Revision::Proposed);
        assert_eq!(s[0] & DEVICE_AT_RISK, 0, "{s:?}");
    }
}
