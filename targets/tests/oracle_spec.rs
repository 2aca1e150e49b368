//! The oracle decides for itself: retarget acceptance, device routes and channel state come
//! from its own reading of the specification, and a model whose answer disagrees is a
//! `hypercall-semantics` violation. Fed here by hand with deliberately wrong results.

use sintfuzz_model::op::{CloseChannel, HostOffer, OpenChannel, Retarget};
use sintfuzz_model::{
    Config, HvStatus, Op, OpResult, Refusal, RetargetFlaws, Revision, VectorSet, Vtl,
};
use sintfuzz_targets::harness::{Machine, NoHook};
use sintfuzz_targets::oracle::Oracle;
use sintfuzz_targets::rng::SplitMix64;
use sintfuzz_targets::{run, Invariant, InvariantSet, Settings, Target};

fn retarget(vector: u32, targets: u8) -> Op {
    Op::Retarget(Retarget {
        vp: 0,
        vtl: Vtl::Vtl0,
        device: 0,
        vector,
        targets,
        flaws: RetargetFlaws::default(),
    })
}

fn feed(config: Config, steps: &[(Op, OpResult)]) -> Option<Invariant> {
    let mut o = Oracle::new(config, InvariantSet::default_set());
    for (i, (op, r)) in steps.iter().enumerate() {
        o.before(i, op);
        o.after(op, *r, VectorSet::EMPTY);
    }
    o.violation().map(|v| v.invariant)
}

fn two_vps() -> Config {
    Config {
        vp_count: 2,
        ..Config::default()
    }
}

#[test]
fn a_wrong_retarget_status_is_a_hypercall_violation() {
    let ok = OpResult::Hv(HvStatus::Success);
    // A well-formed call the hypervisor rejects: the virtual path's `InvalidDeviceId`
    // (`hardware_cvm/mod.rs` `retarget_interrupt`: `hv_result.or(virtual_result)`).
    let bad = OpResult::Hv(HvStatus::InvalidDeviceId);
    let old_bad = OpResult::Hv(HvStatus::InvalidParameter);
    // The status before issue 20 (InvalidParameter for a rejected call) is now wrong.
    assert_eq!(
        feed(two_vps(), &[(retarget(0x130, 1), old_bad)]),
        Some(Invariant::HypercallSemantics)
    );
    // Malformed input is refused by the input checks (`hv1_hypercall` `imp.rs`) with
    // `InvalidParameter`, before `retarget_interrupt`.
    let flawed = Op::Retarget(Retarget {
        flaws: RetargetFlaws {
            not_msi: true,
            ..RetargetFlaws::default()
        },
        ..match retarget(0x40, 1) {
            Op::Retarget(r) => r,
            _ => unreachable!(),
        }
    });
    assert_eq!(feed(two_vps(), &[(flawed, old_bad)]), None);
    assert_eq!(
        feed(two_vps(), &[(flawed, bad)]),
        Some(Invariant::HypercallSemantics)
    );
    // The model's right answers: no violation.
    assert_eq!(feed(two_vps(), &[(retarget(0x40, 0b11), ok)]), None);
    assert_eq!(feed(two_vps(), &[(retarget(0x130, 1), bad)]), None);
    assert_eq!(feed(two_vps(), &[(retarget(0x40, 0), bad)]), None);
    assert_eq!(feed(two_vps(), &[(retarget(0x40, 0b100), bad)]), None);
    // A model that rejects a valid retarget, or accepts an invalid one.
    assert_eq!(
        feed(two_vps(), &[(retarget(0x40, 0b11), bad)]),
        Some(Invariant::HypercallSemantics)
    );
    assert_eq!(
        feed(two_vps(), &[(retarget(0x130, 1), ok)]),
        Some(Invariant::HypercallSemantics)
    );
    assert_eq!(
        feed(two_vps(), &[(retarget(0x40, 0b100), ok)]),
        Some(Invariant::HypercallSemantics)
    );
}

#[test]
fn routes_follow_the_specification_not_the_model_status() {
    // The model wrongly rejects the retarget; with hypercall-semantics masked the oracle
    // still holds the route, so a device interrupt that never arrives is a lost-device.
    let set = InvariantSet::parse("lost-device").unwrap();
    let mut o = Oracle::new(Config::default(), set);
    let steps = [
        (retarget(0x40, 1), OpResult::Hv(HvStatus::InvalidParameter)),
        (
            Op::HostDeviceInterrupt(sintfuzz_model::op::HostDeviceInterrupt { device: 0, pick: 0 }),
            OpResult::Refused(Refusal::NoRoute),
        ),
        (
            Op::RunVp(sintfuzz_model::op::RunVp { vp: 0 }),
            OpResult::Done,
        ),
    ];
    for (i, (op, r)) in steps.iter().enumerate() {
        o.before(i, op);
        o.after(op, *r, VectorSet::EMPTY);
    }
    assert_eq!(
        o.violation().map(|v| v.invariant),
        Some(Invariant::LostDevice)
    );
}

#[test]
fn channel_results_are_checked_against_the_protocol() {
    let relay = Config::default();
    let offer = Op::HostOffer(HostOffer { slot: 0 });
    let open = Op::OpenChannel(OpenChannel {
        slot: 0,
        target_vp: 0,
        event_flag: 1,
    });
    let close = Op::CloseChannel(CloseChannel { slot: 0 });
    let done = OpResult::Done;
    let refused = OpResult::Refused(Refusal::NotOffered);
    assert_eq!(
        feed(relay, &[(offer, done), (open, done), (close, done)]),
        None
    );
    // Opening a channel never offered succeeds in a broken server.
    assert_eq!(
        feed(relay, &[(open, done)]),
        Some(Invariant::HypercallSemantics)
    );
    // Refusing an open the protocol allows.
    assert_eq!(
        feed(relay, &[(offer, done), (open, refused)]),
        Some(Invariant::HypercallSemantics)
    );
    // A second close.
    assert_eq!(
        feed(
            relay,
            &[(offer, done), (open, done), (close, done), (close, done)]
        ),
        Some(Invariant::HypercallSemantics)
    );
}

#[test]
fn the_model_follows_the_specification_on_random_inputs() {
    // The model is checked, not trusted: on every revision, seeded random inputs never
    // break hypercall-semantics.
    let set = InvariantSet::parse("hypercall-semantics").unwrap();
    let mut rng = SplitMix64(0x5eed_0010);
    let inputs: Vec<Vec<u8>> = (0..1500).map(|_| rng.input()).collect();
    for target in Target::ALL {
        for revision in Revision::ALL {
            let s = Settings {
                revision,
                invariants: set,
            };
            for d in &inputs {
                if let Some(v) = run(target, d, &s).violation() {
                    panic!("{target} on {revision}: {v}");
                }
            }
        }
    }
}

#[test]
fn pending_while_disabled_flags_a_delivery_into_a_disabled_apic() {
    use sintfuzz_model::op::SetApic;
    use sintfuzz_model::{Event, Observer, Path};
    let disable = Op::SetApic(SetApic {
        vp: 0,
        vtl: Vtl::Vtl0,
        hw_enabled: true,
        sw_enabled: false,
    });
    let delivered = |coalesced| Event::Delivered {
        vp: 0,
        vtl: Vtl::Vtl0,
        vector: 0x40,
        path: Path::ProxyOffload,
        coalesced,
    };
    // A model that offloads into a software-disabled APIC.
    let mut o = Oracle::new(Config::default(), InvariantSet::strict());
    o.before(0, &disable);
    o.after(&disable, OpResult::Done, VectorSet::EMPTY);
    o.event(delivered(false));
    assert_eq!(
        o.violation().map(|v| v.invariant),
        Some(Invariant::PendingWhileDisabled)
    );
    // Not in the default set; and an already-pending vector is not made pending.
    let mut o = Oracle::new(Config::default(), InvariantSet::default_set());
    o.after(&disable, OpResult::Done, VectorSet::EMPTY);
    o.event(delivered(false));
    assert!(o
        .violation()
        .is_none_or(|v| v.invariant != Invariant::PendingWhileDisabled));
    let mut o = Oracle::new(Config::default(), InvariantSet::strict());
    o.after(&disable, OpResult::Done, VectorSet::EMPTY);
    o.event(delivered(true));
    assert!(o
        .violation()
        .is_none_or(|v| v.invariant != Invariant::PendingWhileDisabled));
}

#[test]
fn proposed_is_clean_under_strict_on_random_inputs() {
    let mut rng = SplitMix64(0x5eed_0006);
    let s = Settings::proposed_strict();
    for target in Target::ALL {
        for _ in 0..1500 {
            let d = rng.input();
            if let Some(v) = run(target, &d, &s).violation() {
                panic!("{target}: {v}");
            }
        }
    }
}

/// Issue 20, host-side event-flag coalescing (`GlobalSynic::signal_event`,
/// `vm/hv1/hv1_emulator/src/synic.rs`): the #1162 witness on proxy-bit plus later
/// signals. With `lost-relay` checked the first loss is reported (at the first run); with
/// it masked and then the filter fixed by a proxy-bit WRMSR, the later signals raise
/// nothing (the channel is hung): the oracle expects nothing new from them, so the model
/// and the oracle agree that nothing more arrives until the guest scans (an ack), and the
/// signal after the ack is owed and delivered.
#[test]
fn the_1162_witness_plus_later_signals_is_one_loss_then_a_hung_channel() {
    use sintfuzz_model::op::{GuestAck, HostOffer, HostSignalChannel, OpenChannel, RunVp, WrMsr};
    use sintfuzz_model::{hvdef::msr, Revision, Sint};
    use sintfuzz_targets::{run_ops, Settings};
    let sint2 = |proxy| {
        Op::WrMsr(WrMsr {
            vp: 0,
            vtl: Vtl::Vtl0,
            msr: msr::SINT0 + 2,
            value: Sint::unmasked(0x30, proxy).into_bits(),
        })
    };
    let signal = Op::HostSignalChannel(HostSignalChannel { slot: 0 });
    let run = Op::RunVp(RunVp { vp: 0 });
    let witness = [
        sint2(false),
        Op::HostOffer(HostOffer { slot: 0 }),
        Op::OpenChannel(OpenChannel {
            slot: 0,
            target_vp: 0,
            event_flag: 1,
        }),
        signal,
        run,
    ];
    let later = [sint2(true), signal, run, signal, run];
    let ops: Vec<Op> = witness.iter().chain(&later).copied().collect();
    let settings = |invariants| Settings {
        revision: Revision::ProxyBit,
        invariants,
    };
    let v = run_ops(
        Config::default(),
        ops.clone(),
        &settings(InvariantSet::default_set()),
    )
    .violation()
    .expect("the #1162 witness loses the relay signal");
    assert_eq!(
        (v.invariant, v.step, v.origin),
        (Invariant::LostRelay, 4, Some(3))
    );
    // Later signals on the hung channel are owed nothing new: judged with no invariant
    // checked, only the first signal's expectation is settled (3 if each later signal
    // were owed its own delivery), and nothing is delivered.
    let mut m = Machine::new(Config::default(), &settings(InvariantSet::NONE));
    for (i, op) in ops.iter().enumerate() {
        m.step(i, op, &mut NoHook);
    }
    assert_eq!(m.oracle.skips().judged, 1);
    assert!(m.model.vps[0].apic[0].irr.is_empty());
    // Without the first loss (the guest set the proxy bit first), every signal is owed,
    // and after an ack a coalesced flag is clear again.
    let fine: Vec<Op> = [sint2(true)]
        .iter()
        .chain(&witness[1..])
        .chain(&[
            signal,
            run,
            Op::GuestAck(GuestAck {
                vp: 0,
                vtl: Vtl::Vtl0,
            }),
            signal,
            run,
        ])
        .copied()
        .collect();
    assert_eq!(
        run_ops(
            Config::default(),
            fine,
            &settings(InvariantSet::default_set())
        ),
        sintfuzz_targets::Outcome::Clean
    );
}

/// Issue 20: a relay signal that coalesces with an earlier, delivered one (the guest has
/// not scanned its flags yet) raises nothing; the guest re-vectored SINT2 in between, so
/// the new vector never arrives, and that is right: the earlier interrupt makes the guest
/// scan the flag. Before coalescing was known the oracle could only skip this
/// (`reconfigured`).
#[test]
fn a_coalesced_relay_signal_after_a_re_vector_is_owed_nothing() {
    use sintfuzz_model::op::{HostOffer, HostSignalChannel, OpenChannel, RunVp, WrMsr};
    use sintfuzz_model::{hvdef::msr, Revision, Sint};
    use sintfuzz_targets::{run_ops, Settings};
    let sint2 = |v| {
        Op::WrMsr(WrMsr {
            vp: 0,
            vtl: Vtl::Vtl0,
            msr: msr::SINT0 + 2,
            value: Sint::unmasked(v, false).into_bits(),
        })
    };
    let signal = Op::HostSignalChannel(HostSignalChannel { slot: 0 });
    let run = Op::RunVp(RunVp { vp: 0 });
    let ops = [
        sint2(0x30),
        Op::HostOffer(HostOffer { slot: 0 }),
        Op::OpenChannel(OpenChannel {
            slot: 0,
            target_vp: 0,
            event_flag: 5,
        }),
        signal,
        run,
        sint2(0x31),
        signal,
        run,
    ];
    let s = Settings {
        revision: Revision::Head,
        invariants: InvariantSet::strict(),
    };
    assert_eq!(
        run_ops(Config::default(), ops, &s),
        sintfuzz_targets::Outcome::Clean
    );
}
