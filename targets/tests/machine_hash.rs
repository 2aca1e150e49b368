//! The canonical state `sintfuzz check` deduplicates on (`Machine`'s `Hash`): equal for
//! runs that differ only in what cannot change a later verdict (step numbers, refused
//! operations), different when the guest's intent or the model's state differ.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use sintfuzz_model::hvdef::Sint;
use sintfuzz_model::op::{CloseChannel, HostOffer, HostSignalSint, OpenChannel, RunVp};
use sintfuzz_model::{Config, Op, Vtl};
use sintfuzz_targets::scenarios::wr_sint;
use sintfuzz_targets::{Machine, NoHook, Settings};

fn fingerprint(m: &Machine) -> u64 {
    let mut h = DefaultHasher::new();
    m.hash(&mut h);
    h.finish()
}

fn run(ops: &[Op]) -> Machine {
    let config = Config {
        vmbus_relay: false,
        ..Config::default()
    };
    let mut m = Machine::new(config, &Settings::default());
    for (step, op) in ops.iter().enumerate() {
        assert!(m.step(step, op, &mut NoHook).is_none());
    }
    m
}

#[test]
fn step_numbers_and_refused_operations_are_not_state() {
    let write = wr_sint(0, Vtl::Vtl0, 5, Sint::unmasked(0x30, true));
    let signal = Op::from(HostSignalSint { vp: 0, sint: 5 });
    // An expectation is outstanding in both, sent at step 1 in one and step 2 in the other.
    let a = run(&[write, signal]);
    let b = run(&[RunVp { vp: 3 }.into(), write, signal]);
    assert_eq!(fingerprint(&a), fingerprint(&b));
    // Without the signal nothing is expected: a different state.
    let c = run(&[write]);
    assert_ne!(fingerprint(&a), fingerprint(&c));
    // Running the VP settles the expectation: the interrupt is now pending.
    let mut d = a.clone();
    assert!(d.step(2, &RunVp { vp: 0 }.into(), &mut NoHook).is_none());
    assert_ne!(fingerprint(&a), fingerprint(&d));
}

#[test]
fn a_closed_channels_old_target_is_not_state_an_open_ones_is() {
    let config = Config {
        vp_count: 2,
        ..Config::default()
    };
    let run = |target_vp, close| {
        let mut m = Machine::new(config, &Settings::default());
        let mut ops: Vec<Op> = vec![
            HostOffer { slot: 0 }.into(),
            OpenChannel {
                slot: 0,
                target_vp,
                event_flag: 0,
            }
            .into(),
        ];
        if close {
            ops.push(CloseChannel { slot: 0 }.into());
        }
        for (step, op) in ops.iter().enumerate() {
            assert!(m.step(step, op, &mut NoHook).is_none());
        }
        m
    };
    // Open, the target decides where a signal goes.
    assert_ne!(fingerprint(&run(0, false)), fingerprint(&run(1, false)));
    // Closed, nothing reads it: a reopen sets it anew.
    assert_eq!(fingerprint(&run(0, true)), fingerprint(&run(1, true)));
}
