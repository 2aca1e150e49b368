//! The canonical state `sintfuzz check` deduplicates on (`Machine`'s `Hash`): equal for
//! runs that differ only in what cannot change a later verdict (step numbers, refused
//! operations), different when the guest's intent or the model's state differ.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use sintfuzz_model::hvdef::Sint;
use sintfuzz_model::op::{HostSignalSint, RunVp};
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
