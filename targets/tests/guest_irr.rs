//! The oracle settles against the guest-visible VTL0 IRR, not its own record of the
//! model's `Delivered` events. The test-only revision `inject-poll-overwrites-irr`
//! (`proposed` whose proxy IRR poll stores its snapshot over the VTL0 IRR) loses vectors
//! the model already reported delivered; a settle by the delivery record could not see
//! either loss below.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use sintfuzz_model::op::{GuestAck, HostPostMessage, HostSignalSint, RunVp};
use sintfuzz_model::{Config, Event, Op, OpResult, Partition, Revision, Sint, VectorSet, Vtl};
use sintfuzz_targets::oracle::Oracle;
use sintfuzz_targets::scenarios::wr_sint;
use sintfuzz_targets::{run_hooked, run_ops, Invariant, InvariantSet, Settings, StepHook};
use sintfuzz_targets::{Machine, NoHook};
use sintfuzz_targets::{Target, Violation};

const INJECTED: Revision = Revision::InjectPollOverwritesIrr;

fn signal(sint: u8) -> Op {
    Op::HostSignalSint(HostSignalSint { vp: 0, sint })
}

const RUN: Op = Op::RunVp(RunVp { vp: 0 });

fn violation(ops: &[Op], revision: Revision) -> Option<Violation> {
    let settings = Settings {
        revision,
        invariants: InvariantSet::default_set(),
    };
    run_ops(Config::default(), ops.iter().copied(), &settings).violation()
}

/// The VTL0 vectors the model reported delivered, and VP 0's VTL0 IRR, after each step.
#[derive(Default)]
struct Record {
    delivered: VectorSet,
    irr: Vec<VectorSet>,
}

impl StepHook for Record {
    fn op(&mut self, _: usize, _: &Op, _: &Partition) {}
    fn event(&mut self, e: &Event) {
        if let Event::Delivered {
            vtl: Vtl::Vtl0,
            vector,
            ..
        } = *e
        {
            self.delivered.insert(vector);
        }
    }
    fn result(&mut self, _: usize, _: OpResult, model: &Partition, _: &Oracle) {
        self.irr.push(model.guest_irr(0));
    }
}

fn record(ops: &[Op], revision: Revision) -> Record {
    let data = sintfuzz_targets::encode(
        Target::AllOps,
        &sintfuzz_targets::Scenario {
            config: Config::default(),
            ops: ops.to_vec(),
        },
    )
    .unwrap();
    let mut r = Record::default();
    let settings = Settings {
        revision,
        invariants: InvariantSet::NONE,
    };
    run_hooked(Target::AllOps, &data, &settings, &mut r);
    r
}

/// Two proxy-bit SINTs signalled one run apart: the second run's poll overwrites the IRR,
/// so 0x50, owed by the first signal and pending after the first run, is gone without an
/// ack. The record-only settle took that expectation at the first run and never looked
/// again; the IRR-based one holds it until the guest's ack.
#[test]
fn a_held_vector_that_leaves_the_irr_without_an_ack_is_lost() {
    let ops = [
        wr_sint(0, Vtl::Vtl0, 5, Sint::unmasked(0x50, true)),
        signal(5),
        RUN,
        wr_sint(0, Vtl::Vtl0, 6, Sint::unmasked(0x60, true)),
        signal(6),
        RUN,
    ];
    let v = violation(&ops, INJECTED).expect("the overwritten vector is lost");
    assert_eq!(
        (v.invariant, v.vector, v.step, v.origin),
        (Invariant::LostProxySint, Some(0x50), 5, Some(1))
    );
    // Up to the first run, nothing is wrong: 0x50 was met there.
    assert!(violation(&ops[..5], INJECTED).is_none());
    // The model reported both vectors delivered and never took one back: by that record
    // 0x50 is still pending; the guest's IRR after the last run holds only 0x60.
    let r = record(&ops, INJECTED);
    assert!(r.delivered.contains(0x50) && r.delivered.contains(0x60));
    assert_eq!(r.irr[2], VectorSet::single(0x50));
    assert_eq!(r.irr[5], VectorSet::single(0x60));
    // Every real revision keeps 0x50 pending: no violation.
    for revision in Revision::ALL {
        assert!(violation(&ops, revision).is_none(), "{revision}");
    }
    // A guest ack between the runs consumes 0x50: the same overwrite then loses nothing.
    let ack = Op::GuestAck(GuestAck {
        vp: 0,
        vtl: Vtl::Vtl0,
    });
    let acked: Vec<Op> = ops[..3]
        .iter()
        .chain(&[ack])
        .chain(&ops[3..])
        .copied()
        .collect();
    assert!(violation(&acked, INJECTED).is_none());
}

/// A message's vector made pending by the trusted synic in the same run whose poll then
/// overwrites the IRR: the model reported it delivered, the guest never sees it. Settled
/// by the record it would be met.
#[test]
fn an_owed_vector_delivered_and_overwritten_in_one_run_is_lost() {
    let ops = [
        wr_sint(0, Vtl::Vtl0, 2, Sint::unmasked(0x30, false)),
        wr_sint(0, Vtl::Vtl0, 5, Sint::unmasked(0x50, true)),
        Op::HostPostMessage(HostPostMessage { vp: 0, sint: 2 }),
        signal(5),
        RUN,
    ];
    let v = violation(&ops, INJECTED).expect("the message's vector is lost");
    assert_eq!(
        (v.invariant, v.vector, v.step, v.origin),
        (Invariant::LostMessage, Some(0x30), 4, Some(2))
    );
    assert!(v.detail.contains("reported delivered"), "{}", v.detail);
    let r = record(&ops, INJECTED);
    assert!(r.delivered.contains(0x30));
    assert_eq!(r.irr[4], VectorSet::single(0x50));
    for revision in Revision::ALL {
        assert!(violation(&ops, revision).is_none(), "{revision}");
    }
}

/// Clearing the VTL0 APIC's hardware enable resets its IRR upstream
/// (`LocalApic::set_apic_base` → `reset_registers`): a held vector may go then, whatever
/// the model's IRR holds afterwards. Here the model keeps 0x50 over the reset and the
/// injected poll overwrites it later: no longer owed, so no loss.
#[test]
fn an_apic_reset_releases_what_was_pending() {
    use sintfuzz_model::op::SetApic;
    let apic = |on| {
        Op::SetApic(SetApic {
            vp: 0,
            vtl: Vtl::Vtl0,
            hw_enabled: on,
            sw_enabled: on,
        })
    };
    let ops = [
        wr_sint(0, Vtl::Vtl0, 5, Sint::unmasked(0x50, true)),
        signal(5),
        RUN,
        apic(false),
        apic(true),
        wr_sint(0, Vtl::Vtl0, 6, Sint::unmasked(0x60, true)),
        signal(6),
        RUN,
    ];
    assert_eq!(record(&ops, INJECTED).irr[7], VectorSet::single(0x60));
    for revision in Revision::ALL.into_iter().chain([INJECTED]) {
        assert!(violation(&ops, revision).is_none(), "{revision}");
    }
}

/// Two held vectors of VP 0 leave the IRR in one run: a proxy SINT's (0x50,
/// `lost-proxy-sint`) and a message's (0x30, `lost-message`; its SINT is proxied too, so
/// both reach the IRR in one poll, and a third proxy SINT's poll overwrites them). Sent
/// in either order, the two paths reach one canonical state (`origin`, the sending
/// step, is not state), so whether a loss is reported must not depend on the order: it
/// is, whenever either invariant is checked. (It was reported only under the
/// earliest-sent one's invariant, so with `lost-message` alone the path that signalled
/// first reported nothing.) Which one labels it when both are checked still follows the
/// order.
#[test]
fn a_loss_is_reported_whenever_any_lost_expectation_is_checked() {
    let post = Op::HostPostMessage(HostPostMessage { vp: 0, sint: 2 });
    let ack = Op::GuestAck(GuestAck {
        vp: 0,
        vtl: Vtl::Vtl0,
    });
    let setup = [
        wr_sint(0, Vtl::Vtl0, 5, Sint::unmasked(0x50, true)),
        wr_sint(0, Vtl::Vtl0, 2, Sint::unmasked(0x30, true)),
    ];
    // The first signal, met and acked, takes expectation slot 0 and frees it, so both
    // paths end with the signal's expectation in slot 0 and the message's in slot 1.
    let message_first = [signal(5), RUN, post, ack, signal(5), RUN];
    let signal_first = [signal(5), post, RUN];
    let overwrite = [
        wr_sint(0, Vtl::Vtl0, 6, Sint::unmasked(0x60, true)),
        signal(6),
        RUN,
    ];
    let fingerprint = |m: &Machine| {
        let mut h = DefaultHasher::new();
        m.hash(&mut h);
        h.finish()
    };
    // The machine after `path`, and the first violation of the overwrite after it.
    let run = |path: &[Op], revision, invariants| {
        let settings = Settings {
            revision,
            invariants,
        };
        let mut m = Machine::new(Config::default(), &settings);
        for (step, op) in setup.iter().chain(path).enumerate() {
            assert!(m.step(step, op, &mut NoHook).is_none(), "{op:?}");
        }
        let at = fingerprint(&m);
        let start = setup.len() + path.len();
        let v = overwrite
            .iter()
            .enumerate()
            .find_map(|(i, op)| m.step(start + i, op, &mut NoHook).map(|v| (i, v)));
        (at, v)
    };
    let only_message = InvariantSet::NONE.with(Invariant::LostMessage);
    let only_proxy = InvariantSet::NONE.with(Invariant::LostProxySint);
    let both = only_message.with(Invariant::LostProxySint);
    // Each path, and the earliest-sent expectation's invariant and vector, which labels
    // the loss when both are checked.
    let cases = [
        (&message_first[..], Invariant::LostMessage, 0x30),
        (&signal_first[..], Invariant::LostProxySint, 0x50),
    ];
    for set in [only_message, only_proxy, both] {
        let (a, _) = run(&message_first, INJECTED, set);
        let (b, _) = run(&signal_first, INJECTED, set);
        assert_eq!(a, b, "one canonical state before the overwrite");
    }
    for (path, first_sent, first_vector) in cases {
        let expected = [
            (only_message, Invariant::LostMessage, 0x30),
            (only_proxy, Invariant::LostProxySint, 0x50),
            (both, first_sent, first_vector),
        ];
        for (set, invariant, vector) in expected {
            let (_, v) = run(path, INJECTED, set);
            let (i, v) = v.unwrap_or_else(|| panic!("{path:?} under {set:?}: no violation"));
            assert_eq!(i, overwrite.len() - 1, "{v:?}");
            assert_eq!(
                (v.invariant, v.vector, v.irr_loss),
                (invariant, Some(vector), true),
                "{path:?} under {set:?}"
            );
        }
        // Every real revision keeps both pending: no violation.
        for revision in Revision::ALL {
            assert!(run(path, revision, both).1.is_none(), "{revision}");
        }
    }
}
