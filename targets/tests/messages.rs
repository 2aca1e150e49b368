//! `lost-message`: a host message to an enabled, unmasked VTL0 SINT (any SINT, not only
//! the VMBus SINT2: reserved channels and custom targets name their own) raises its
//! vector after the VP next runs, or is refused to its sender as the synic specifies
//! (masked: dropped; full slot: kept queued).

use sintfuzz_model::op::{GuestAck, HostPostMessage, RunVp};
use sintfuzz_model::{Config, Op, Revision, Sint, Vtl};
use sintfuzz_targets::codec::{encode, Scenario};
use sintfuzz_targets::known::{KnownList, Label};
use sintfuzz_targets::scenarios::{set_reg_sint, wr_sint};
use sintfuzz_targets::signature::analyze;
use sintfuzz_targets::{run, Invariant, InvariantSet, Settings, Target};

fn post(vp: u8, sint: u8) -> Op {
    Op::HostPostMessage(HostPostMessage { vp, sint })
}

fn run_vp(vp: u8) -> Op {
    Op::RunVp(RunVp { vp })
}

fn bytes(ops: Vec<Op>) -> Vec<u8> {
    encode(
        Target::AllOps,
        &Scenario {
            config: Config::default(),
            ops,
        },
    )
    .unwrap()
}

fn outcome(data: &[u8], revision: Revision) -> Option<Invariant> {
    let settings = Settings {
        revision,
        invariants: InvariantSet::default_set(),
    };
    run(Target::AllOps, data, &settings)
        .violation()
        .map(|v| v.invariant)
}

#[test]
fn a_message_to_any_unmasked_sint_raises_its_vector_on_every_revision() {
    for n in [2, 5, 15] {
        for proxy in [false, true] {
            let data = bytes(vec![
                wr_sint(0, Vtl::Vtl0, n, Sint::unmasked(0x50, proxy)),
                post(0, n),
                run_vp(0),
            ]);
            for r in Revision::ALL {
                assert_eq!(outcome(&data, r), None, "SINT{n} proxy {proxy} on {r}");
            }
        }
    }
}

#[test]
fn a_proxied_sint_set_by_hypercall_loses_its_message_until_proposed() {
    // SNP: the message to a proxied SINT goes to the host's synic (the mirroring guest
    // gave it the same SINT), whose interrupt comes back as a proxy interrupt through a
    // filter HvSetVpRegisters never recomputed (SF-002).
    let data = bytes(vec![
        set_reg_sint(0, Vtl::Vtl0, Vtl::Vtl0, 5, Sint::unmasked(0x50, true)),
        post(0, 5),
        run_vp(0),
    ]);
    for r in [Revision::ProxyBit, Revision::RelayAware, Revision::Head] {
        assert_eq!(outcome(&data, r), Some(Invariant::LostMessage), "{r}");
        let a = analyze(Target::AllOps, r, InvariantSet::default_set(), &data).unwrap();
        let label = KnownList::embedded().label(&a.signature, a.violation.invariant);
        assert!(
            matches!(label, Label::Known(k) if k.id == "SF-002"),
            "{r}: {}",
            a.signature
        );
    }
    assert_eq!(outcome(&data, Revision::Proposed), None);
}

#[test]
fn refused_messages_are_owed_nothing() {
    // Masked: dropped. After the guest consumed its messages, two more: the slot takes the
    // first, the second waits (only the first is judged). A SINT masked between the
    // message and the run: dropped at the run.
    let masked = Sint::unmasked(0x50, false).into_bits() | Sint::MASKED;
    let cases = [
        vec![
            wr_sint(0, Vtl::Vtl0, 5, Sint::from_bits(masked)),
            post(0, 5),
            run_vp(0),
        ],
        vec![
            wr_sint(0, Vtl::Vtl0, 5, Sint::unmasked(0x50, false)),
            post(0, 5),
            run_vp(0),
            Op::GuestAck(GuestAck {
                vp: 0,
                vtl: Vtl::Vtl0,
            }),
            post(0, 5),
            post(0, 5),
            run_vp(0),
        ],
        vec![
            wr_sint(0, Vtl::Vtl0, 5, Sint::unmasked(0x50, false)),
            post(0, 5),
            wr_sint(0, Vtl::Vtl0, 5, Sint::from_bits(masked)),
            run_vp(0),
        ],
    ];
    for ops in cases {
        assert_eq!(
            outcome(&bytes(ops.clone()), Revision::Head),
            None,
            "{ops:?}"
        );
    }
}

/// README campaigns on proxy-bit bucketed these as new (lost-message, no choice removes
/// it), false losses of a rule that let each ack re-arm the judgement. The guest acks
/// while the first message is still queued, the run then fills SINT2's slot, and the
/// second message waits (`ObjectInUse`). Or two messages queue, the first fills the slot,
/// the guest acks, the next run puts the second in the slot, and a third (to the SINT
/// re-vectored) waits. Nothing is owed for the later messages: each finds the slot full.
#[test]
fn messages_that_wait_for_the_slot_are_owed_nothing() {
    let ack = Op::GuestAck(GuestAck {
        vp: 0,
        vtl: Vtl::Vtl0,
    });
    let early_ack = vec![
        wr_sint(0, Vtl::Vtl0, 2, Sint::unmasked(0x10, false)),
        post(0, 2),
        ack,
        run_vp(0),
        wr_sint(0, Vtl::Vtl0, 2, Sint::unmasked(0x20, false)),
        post(0, 2),
        run_vp(0),
    ];
    let second_queued = vec![
        wr_sint(0, Vtl::Vtl0, 0, Sint::unmasked(0x10, false)),
        post(0, 0),
        post(0, 0),
        run_vp(0),
        ack,
        run_vp(0),
        wr_sint(0, Vtl::Vtl0, 0, Sint::unmasked(0x20, false)),
        post(0, 0),
        run_vp(0),
    ];
    for ops in [early_ack, second_queued] {
        for r in Revision::ALL {
            assert_eq!(outcome(&bytes(ops.clone()), r), None, "{r}: {ops:?}");
        }
    }
}

/// A later message is judged once the slot is known free: the first message filled it at
/// a run, the guest's ack consumed it, and the queue is empty. SF-002's stale filter
/// (a proxied SINT set by HvSetVpRegisters, never recomputed) then loses the second
/// message on head; without the ack it waits for the slot and nothing is owed.
#[test]
fn a_message_after_the_slot_was_consumed_is_judged() {
    let ack = Op::GuestAck(GuestAck {
        vp: 0,
        vtl: Vtl::Vtl0,
    });
    let ops = |with_ack: bool| {
        let mut ops = vec![
            wr_sint(0, Vtl::Vtl0, 5, Sint::unmasked(0x50, false)),
            post(0, 5),
            run_vp(0),
        ];
        if with_ack {
            ops.push(ack);
        }
        ops.extend([
            set_reg_sint(0, Vtl::Vtl0, Vtl::Vtl0, 5, Sint::unmasked(0x60, true)),
            post(0, 5),
            run_vp(0),
        ]);
        bytes(ops)
    };
    assert_eq!(
        outcome(&ops(true), Revision::Head),
        Some(Invariant::LostMessage)
    );
    assert_eq!(outcome(&ops(false), Revision::Head), None);
    assert_eq!(outcome(&ops(true), Revision::Proposed), None);
}

/// A guest write between the message and the run touches the message's expectation only
/// when it touches that SINT (either copy), the other synic registers or the APIC
/// enables, and then the expectation is recomputed from what the run will read: on head
/// SF-002's stale filter still loses the message to SINT5 behind a timer MSR write, the
/// host copy of SINT7 and a hypercall set of SINT9, and behind a rewrite of SINT5's host
/// copy that keeps it unmasked; masking that copy leaves the message owed nothing.
#[test]
fn only_a_reconfiguration_of_that_sint_changes_what_a_message_is_owed() {
    use sintfuzz_model::hvdef::msr;
    use sintfuzz_model::op::{UntrustedWrMsr, WrMsr};
    let host_copy = |n: u32, value: Sint| {
        Op::UntrustedWrMsr(UntrustedWrMsr {
            vp: 0,
            msr: msr::SINT0 + n,
            value: value.into_bits(),
        })
    };
    let ops = |between: Vec<Op>| {
        let mut ops = vec![
            set_reg_sint(0, Vtl::Vtl0, Vtl::Vtl0, 5, Sint::unmasked(0x50, true)),
            post(0, 5),
        ];
        ops.extend(between);
        ops.push(run_vp(0));
        bytes(ops)
    };
    let unrelated = ops(vec![
        Op::WrMsr(WrMsr {
            vp: 0,
            vtl: Vtl::Vtl0,
            msr: msr::STIMER0_CONFIG,
            value: 0,
        }),
        host_copy(7, Sint::unmasked(0x50, false)),
        set_reg_sint(0, Vtl::Vtl0, Vtl::Vtl0, 9, Sint::unmasked(0x60, false)),
    ]);
    let kept = ops(vec![host_copy(5, Sint::unmasked(0x50, false))]);
    for data in [&unrelated, &kept] {
        assert_eq!(outcome(data, Revision::Head), Some(Invariant::LostMessage));
        assert_eq!(outcome(data, Revision::Proposed), None);
    }
    let masked = ops(vec![host_copy(5, Sint::from_bits(Sint::MASKED | 0x50))]);
    assert_eq!(outcome(&masked, Revision::Head), None);
}
