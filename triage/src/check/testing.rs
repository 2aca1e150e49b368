//! Helpers for the check module's tests: where random walks start, a state's canonical
//! bytes (whole or in parts), a seeded pseudo-random choice, a random walk's next step,
//! and the set-up of a raised flag.

use std::hash::{Hash, Hasher};

use sintfuzz_model::hvdef::{msr, Sint, VMBUS_SINT};
use sintfuzz_model::{Config, Op, Revision};
use sintfuzz_targets::{InvariantSet, Machine, NoHook, Settings, Target};

use super::domain::{ops, Size};

/// For each of `revisions`: the initial machine of `config` under `strict`, and the
/// `medium` domain's operations of `all_ops` there (where the module's walks start).
pub fn starts(config: &Config, revisions: &[Revision]) -> Vec<(Revision, Machine, Vec<Op>)> {
    revisions
        .iter()
        .map(|&revision| {
            let settings = Settings {
                revision,
                invariants: InvariantSet::parse("strict").unwrap(),
            };
            let all = ops(Target::AllOps, config, Size::Medium);
            (revision, Machine::new(*config, &settings), all)
        })
        .collect()
}

/// The canonical state's bytes, exactly (no hash collision can hide a difference).
#[derive(Default)]
struct Bytes(Vec<u8>);

impl Hasher for Bytes {
    fn write(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    fn finish(&self) -> u64 {
        0
    }
}

/// `m`'s canonical bytes (`Machine`'s `Hash`).
pub fn canonical(m: &Machine) -> Vec<u8> {
    let mut b = Bytes::default();
    m.hash(&mut b);
    b.0
}

/// The canonical bytes of `m`'s shared part (`None`) or of VP `v`'s part
/// (`Machine::hash_shared`, `Machine::hash_vp`).
pub fn part(m: &Machine, v: Option<usize>) -> Vec<u8> {
    let mut b = Bytes::default();
    match v {
        None => m.hash_shared(&mut b),
        Some(v) => m.hash_vp(v, &mut b),
    }
    b.0
}

/// A xorshift generator from `seed`: each call gives a number below its argument.
pub fn chooser(mut seed: u64) -> impl FnMut(usize) -> usize {
    move |n| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    }
}

/// A random walk's next step: `m` takes operation `step`, the first of up to 8 random
/// picks from `ops` that neither violates nor halts; `m` stays as it is if none does.
pub fn walk_on(m: &mut Machine, step: usize, ops: &[Op], rand: &mut impl FnMut(usize) -> usize) {
    for _ in 0..8 {
        let mut next = m.clone();
        let o = &ops[rand(ops.len())];
        if next.step(step, o, &mut NoHook).is_none() && !next.halted() {
            *m = next;
            return;
        }
    }
}

/// The first operations of a walk that reaches raised event flags: the host's SINT2
/// unmasked, channel 0 offered, opened on VP 0 and signalled.
pub fn raises_a_flag(o: &Op) -> bool {
    match *o {
        Op::UntrustedWrMsr(u) => {
            u.msr == msr::SINT0 + u32::from(VMBUS_SINT) && !Sint::from_bits(u.value).masked()
        }
        Op::HostOffer(h) => h.slot == 0,
        Op::OpenChannel(c) => c.slot == 0 && c.target_vp == 0,
        Op::HostSignalChannel(h) => h.slot == 0,
        _ => false,
    }
}
