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
//! away), and the two halves of a relayed loss apart: a relayed channel is open, and some
//! VP's VMBus SINT is owed a vector its filter blocks (a loss is one open channel away) —
//! and runs one function per (operation variant, bits). Each function is its own code, so
//! every engine's edge coverage (libFuzzer, AFL++ and honggfuzz alike) counts a new pair as
//! new coverage and keeps the input that reached it. The same pairs are also libFuzzer
//! extra counters, so the signal survives the libFuzzer and honggfuzz builds that leave
//! this crate and the model without sanitizer coverage (`.cargo/scope-coverage.sh`).
//!
//! A pair counts once per input (its function runs and its counter is set to 1 the first
//! time): how often an input reached a pair is no progress, and counted, the engines'
//! hit-count buckets keep hundreds of inputs that differ only in such counts, among which
//! the few with a new set-up step are rarely mutated (bench/results.md, "Issue 22: the
//! feedback counts set-up steps once").
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
/// An open relayed channel would interrupt some VP on a host signal.
const RELAY_OPEN: usize = 16;
/// Some VP's VMBus SINT is owed a vector (were a relayed channel open to it) that its
/// filter blocks: SF-002's and #1162's set-up before the channel.
const VMBUS_AT_RISK: usize = 32;
const STATES: usize = 64;
/// Operation variants the table has room for.
const VARIANTS: usize = 32;
const _: () = assert!(Op::COUNT <= VARIANTS, "raise VARIANTS and the seq! range");

/// Marks of the table, one bit each.
const MARKS: usize = VARIANTS * STATES;

seq_macro::seq!(N in 0..2048 {
    /// One function per (variant, state): distinct code, so distinct coverage.
    static REACHED: [fn(); MARKS] = [#(reached::<N>,)*];
});
const _: () = assert!(MARKS == 2048, "the seq! range is the table's size");

/// The same marks as libFuzzer extra counters (`__libfuzzer_extra_counters`, read by
/// libFuzzer's `ExtraCountersBegin` on Linux, cleared before each input): the signal
/// survives a build that leaves this crate without sanitizer coverage.
#[cfg(target_os = "linux")]
#[used]
#[link_section = "__libfuzzer_extra_counters"]
static EXTRA: [std::sync::atomic::AtomicU8; MARKS] =
    [const { std::sync::atomic::AtomicU8::new(0) }; MARKS];

/// The first mark of a pair in an input: its counter set to 1 (libFuzzer clears the
/// counters before each input, the honggfuzz wrappers after) and its function run once.
#[inline(never)]
fn mark(index: usize) {
    #[cfg(target_os = "linux")]
    EXTRA[index].store(1, std::sync::atomic::Ordering::Relaxed);
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
    if relay_targets != 0 {
        bits |= RELAY_OPEN;
    }
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
        // Every VP as if a channel targeted it.
        if oracle
            .relay_owed(vp, u8::MAX)
            .is_some_and(|v| blocked.contains(v))
        {
            bits |= VMBUS_AT_RISK;
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

/// The engines' step hook: marks each (operation variant, state) pair it reaches, once
/// per input (one per run: [`crate::engine::fuzz_with`] makes a fresh one per input).
pub struct Feedback {
    variant: usize,
    /// The pairs this input marked.
    seen: [u64; MARKS / 64],
}

impl Default for Feedback {
    fn default() -> Self {
        Feedback {
            variant: 0,
            seen: [0; MARKS / 64],
        }
    }
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
        let i = self.variant * STATES + state(model, oracle);
        let (word, bit) = (&mut self.seen[i / 64], 1u64 << (i % 64));
        if *word & bit == 0 {
            *word |= bit;
            mark(i);
        }
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

    /// Runs [`Feedback`] with every operation taken as the last variant slot (never
    /// reached by an operation today, so no other test moves its counters), marking each
    /// step twice: the counter after the first mark and after the second.
    struct Twice {
        fb: Feedback,
        counts: Vec<(u8, u8)>,
    }

    impl StepHook for Twice {
        fn op(&mut self, _: usize, _: &Op, _: &Partition) {
            self.fb.variant = VARIANTS - 1;
        }
        fn event(&mut self, _: &Event) {}
        fn result(&mut self, i: usize, r: OpResult, model: &Partition, oracle: &Oracle) {
            use std::sync::atomic::Ordering::Relaxed;
            let c = &EXTRA[(VARIANTS - 1) * STATES + state(model, oracle)];
            c.store(0, Relaxed);
            self.fb.result(i, r, model, oracle);
            let first = c.load(Relaxed);
            c.store(0, Relaxed);
            self.fb.result(i, r, model, oracle);
            self.counts.push((first, c.load(Relaxed)));
        }
    }

    #[test]
    fn a_pair_is_marked_once_per_input() {
        const { assert!(Op::COUNT < VARIANTS) };
        let w = witnesses()
            .into_iter()
            .find(|w| w.name == "proxy-bit-drops-relay-signal")
            .unwrap();
        let data = codec::encode(w.target, &w.scenario).unwrap();
        let settings = Settings {
            revision: Revision::ProxyBit,
            invariants: InvariantSet::parse("default").unwrap(),
        };
        for _ in 0..2 {
            // Each input starts with a fresh hook, as `fuzz_with` makes one per input.
            let mut hook = Twice {
                fb: Feedback::default(),
                counts: Vec::new(),
            };
            run_hooked(w.target, &data, &settings, &mut hook);
            assert!(hook.counts.len() >= 3, "{:?}", hook.counts);
            // The first step's pair is new in this input: set to 1. The same pair again
            // in the same input leaves the (engine-cleared) counter alone.
            assert_eq!(hook.counts[0], (1, 0), "{:?}", hook.counts);
            assert!(hook.counts.iter().all(|c| c.1 == 0), "{:?}", hook.counts);
        }
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
    fn the_sf002_set_up_is_marked_step_by_step() {
        // HvSetVpRegisters of SINT2 leaves the filter stale: the VMBus SINT is at risk
        // before any channel exists; the open channel is marked apart, then both.
        let (s, outcome) = states("set-vp-registers-sint2-stale-filter", Revision::Head);
        assert!(matches!(outcome, Outcome::Violation(_)));
        assert_eq!(s[0] & (VMBUS_AT_RISK | RELAY_OPEN), VMBUS_AT_RISK, "{s:?}");
        assert_eq!(s[1] & RELAY_OPEN, 0, "{s:?}");
        assert_eq!(
            s[2] & (VMBUS_AT_RISK | RELAY_OPEN | RELAY_AT_RISK),
            VMBUS_AT_RISK | RELAY_OPEN | RELAY_AT_RISK,
            "{s:?}"
        );
        // The proposed fix recomputes the filter on the hypercall: nothing at risk.
        let (s, outcome) = states("set-vp-registers-sint2-stale-filter", Revision::Proposed);
        assert_eq!(outcome, Outcome::Clean);
        assert!(s.iter().all(|b| b & VMBUS_AT_RISK == 0), "{s:?}");
        assert_eq!(s[2] & RELAY_OPEN, RELAY_OPEN, "{s:?}");
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
