//! Every known defect, hand-built: the expected violation on the revisions that have it,
//! and nothing on the others (above all `proposed`, under the strict set).

use sintfuzz_model::Revision::{self, *};
use sintfuzz_targets::scenarios::witnesses;
use sintfuzz_targets::{encode, run, Invariant, InvariantSet, Settings};

fn outcome(name: &str, revision: Revision, invariants: InvariantSet) -> Option<Invariant> {
    let w = witnesses().into_iter().find(|w| w.name == name).unwrap();
    let bytes = encode(w.target, &w.scenario).unwrap();
    run(
        w.target,
        &bytes,
        &Settings {
            revision,
            invariants,
        },
    )
    .violation()
    .map(|v| v.invariant)
}

/// `expected[i]` is the outcome on `Revision::ALL[i]` under the default set; `proposed`
/// must also be clean under `strict`.
fn check(name: &str, expected: [Option<Invariant>; 5]) {
    for (r, e) in Revision::ALL.into_iter().zip(expected) {
        assert_eq!(
            outcome(name, r, InvariantSet::default_set()),
            e,
            "{name} on {r}"
        );
    }
    assert_eq!(
        outcome(name, Proposed, InvariantSet::strict()),
        None,
        "{name} strict"
    );
}

use Invariant::*;

#[test]
fn issue_563_unfiltered_host_injects_any_vector() {
    check(
        "unfiltered-host-injects-any-vector",
        [Some(LeakUnentitled), None, None, None, None],
    );
    check(
        "unfiltered-host-injects-vtl2-vector",
        [Some(LeakCrossVtl), None, None, None, None],
    );
}

#[test]
fn issue_1162_relay_signal_lost_without_proxy_bit() {
    check(
        "proxy-bit-drops-relay-signal",
        [None, Some(LostRelay), None, None, None],
    );
}

#[test]
fn issue_1275_vtl1_sint_write_asserts() {
    // The witness writes a proxy-bit SINT, so proxy-bit asserts too (§4.2).
    check(
        "vtl1-sint-write-asserts",
        [None, Some(Vtl2Crash), Some(Vtl2Crash), None, None],
    );
}

#[test]
fn head_message_to_a_guest_named_sint_16_panics() {
    // The message path is the same in every upstream revision; only the server check of
    // `proposed` refuses the SINT.
    check(
        "message-to-sint-16-panics",
        [
            Some(Vtl2Crash),
            Some(Vtl2Crash),
            Some(Vtl2Crash),
            Some(Vtl2Crash),
            None,
        ],
    );
}

#[test]
fn head_vtl1_retarget_asserts() {
    check(
        "vtl1-retarget-asserts",
        [
            None,
            Some(Vtl2Crash),
            Some(Vtl2Crash),
            Some(Vtl2Crash),
            None,
        ],
    );
}

#[test]
fn head_set_vp_registers_leaves_filter_stale() {
    check(
        "set-vp-registers-sint2-stale-filter",
        [
            None,
            Some(LostRelay),
            Some(LostRelay),
            Some(LostRelay),
            None,
        ],
    );
    check(
        "set-vp-registers-proxy-sint-stale-filter",
        [
            None,
            Some(LostProxySint),
            Some(LostProxySint),
            Some(LostProxySint),
            None,
        ],
    );
    check(
        "set-vp-registers-proxy-cleared-stale-filter",
        [
            Some(LeakUnentitled),
            Some(LeakUnentitled),
            Some(LeakUnentitled),
            Some(LeakUnentitled),
            None,
        ],
    );
    check(
        "set-vp-registers-mask-stale-filter",
        [
            Some(LeakUnentitled),
            None,
            Some(LeakUnentitled),
            Some(LeakUnentitled),
            None,
        ],
    );
}

#[test]
fn head_cross_vp_wake_window_loses_device_interrupt() {
    check(
        "retarget-cross-vp-wake-window",
        [
            None,
            Some(LostDevice),
            Some(LostDevice),
            Some(LostDevice),
            None,
        ],
    );
}

#[test]
fn head_retarget_truncates_vector() {
    check(
        "retarget-vector-truncation",
        [
            Some(LeakUnentitled),
            Some(LeakUnentitled),
            Some(LeakUnentitled),
            Some(LeakUnentitled),
            None,
        ],
    );
}

/// Strict-only weaknesses: clean under the default set everywhere, flagged under
/// `strict` on the revisions that have them, and never on `proposed`.
fn check_strict(name: &str, expected: [Option<Invariant>; 5]) {
    for (r, e) in Revision::ALL.into_iter().zip(expected) {
        assert_eq!(
            outcome(name, r, InvariantSet::default_set()),
            None,
            "{name} on {r}"
        );
        assert_eq!(
            outcome(name, r, InvariantSet::strict()),
            e,
            "{name} strict on {r}"
        );
    }
}

#[test]
fn strict_weaknesses_of_head() {
    check_strict(
        "relay-admits-non-vmbus-sint",
        [
            Some(LeakNonVmbusSint),
            None,
            Some(LeakNonVmbusSint),
            Some(LeakNonVmbusSint),
            None,
        ],
    );
    check_strict(
        "scontrol-disabled-still-admits",
        [
            Some(LeakSynicDisabled),
            None,
            Some(LeakSynicDisabled),
            Some(LeakSynicDisabled),
            None,
        ],
    );
    check_strict(
        "stale-device-vector",
        [
            Some(LeakStaleDeviceVector),
            Some(LeakStaleDeviceVector),
            Some(LeakStaleDeviceVector),
            Some(LeakStaleDeviceVector),
            None,
        ],
    );
    check_strict(
        "offload-reserved-vector",
        [
            Some(ReservedVector),
            None,
            Some(ReservedVector),
            Some(ReservedVector),
            None,
        ],
    );
}

/// The peer harnesses' entry (`run_ops`, operations instead of bytes) gives every
/// witness the outcome the byte path gives, on every revision and both sets.
#[test]
fn run_ops_agrees_with_the_byte_path() {
    let mut violations = 0;
    for w in witnesses() {
        let bytes = encode(w.target, &w.scenario).unwrap();
        for revision in Revision::ALL {
            for invariants in [InvariantSet::default_set(), InvariantSet::strict()] {
                let s = Settings {
                    revision,
                    invariants,
                };
                let by_ops =
                    sintfuzz_targets::run_ops(w.scenario.config, w.scenario.ops.clone(), &s);
                assert_eq!(
                    by_ops,
                    run(w.target, &bytes, &s),
                    "{} on {revision}",
                    w.name
                );
                violations += by_ops.violation().is_some() as u32;
            }
        }
    }
    assert!(violations > 10, "{violations}");
}
