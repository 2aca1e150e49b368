//! The oracle settles against the guest-visible VTL0 IRR, not its own record of the
//! model's `Delivered` events. The test-only revision `inject-poll-overwrites-irr`
//! (`proposed` whose proxy IRR poll stores its snapshot over the VTL0 IRR) loses vectors
//! the model already reported delivered; a settle by the delivery record could not see
//! either loss below.

use sintfuzz_model::op::{GuestAck, HostPostMessage, HostSignalSint, RunVp};
use sintfuzz_model::{Config, Event, Op, OpResult, Partition, Revision, Sint, VectorSet, Vtl};
use sintfuzz_targets::oracle::Oracle;
use sintfuzz_targets::scenarios::wr_sint;
use sintfuzz_targets::{run_hooked, run_ops, Invariant, InvariantSet, Settings, StepHook};
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
