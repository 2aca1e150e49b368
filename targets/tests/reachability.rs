//! Generators must reach the deep states, and the oracle must be able to fail: fixed-seed
//! random bytes through the real decoder and model (wasmtime-style reachability), and a
//! deliberately broken filter that the oracle has to flag.

use sintfuzz_model::op::{HostSignalChannel, ModifyChannel, Retarget, RunVp};
use sintfuzz_model::{Event, Op, OpResult, Partition, Path, Revision, VectorSet, Vtl};
use sintfuzz_targets::codec::{encode, Decoder};
use sintfuzz_targets::oracle::Oracle;
use sintfuzz_targets::scenarios::witnesses;
use sintfuzz_targets::{
    run_hooked, Invariant, InvariantSet, Machine, NoHook, Settings, StepHook, Target,
};

/// `SINTFUZZ_TEST_SEED` overrides the seed, to reproduce or widen a run.
fn seed() -> u64 {
    std::env::var("SINTFUZZ_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed)
}

use sintfuzz_targets::rng::SplitMix64 as Rng;

/// What one run reached.
#[derive(Default)]
struct Reached {
    last_op: Option<Op>,
    signal_delivered: bool,
    /// VPs with a relay signal sitting in their proxy IRR.
    signalled: u8,
    vtl1_retarget: bool,
    modify_channel: bool,
    /// VPs with a queued, unhandled filter-update wake.
    woken: u8,
    wake_window_hit: bool,
}

impl StepHook for Reached {
    fn op(&mut self, _: usize, op: &Op, _: &Partition) {
        self.last_op = Some(*op);
    }
    fn event(&mut self, e: &Event) {
        match *e {
            Event::WakeQueued { vp, .. } => self.woken |= 1 << vp,
            Event::ProxyAsserted { vp, .. } => {
                // A host interrupt landing on a VP whose filter update is still pending.
                self.wake_window_hit |= self.woken & (1 << vp) != 0;
                if matches!(
                    self.last_op,
                    Some(Op::HostSignalChannel(HostSignalChannel { .. }))
                ) {
                    self.signalled |= 1 << vp;
                }
            }
            Event::Delivered {
                vp,
                vtl: Vtl::Vtl0,
                path,
                ..
            } => match self.last_op {
                // Interrupt-page mode: straight through the trusted synic.
                Some(Op::HostSignalChannel(HostSignalChannel { .. })) => {
                    self.signal_delivered |= path == Path::TrustedSynic
                }
                // Modern: from the proxy IRR when the VP runs.
                Some(Op::RunVp(RunVp { .. })) => {
                    self.signal_delivered |= path.is_proxy() && self.signalled & (1 << vp) != 0
                }
                _ => {}
            },
            _ => {}
        }
    }
    fn result(&mut self, _: usize, r: OpResult, _: &Partition, _: &Oracle) {
        match self.last_op {
            Some(Op::Retarget(Retarget { vtl: Vtl::Vtl1, .. }))
                if !matches!(r, OpResult::Refused(_)) =>
            {
                self.vtl1_retarget = true
            }
            Some(Op::ModifyChannel(ModifyChannel { .. })) if r == OpResult::Done => {
                self.modify_channel = true
            }
            Some(Op::RunVp(RunVp { vp })) => self.woken &= !(1 << vp),
            _ => {}
        }
    }
}

#[test]
fn random_inputs_reach_the_deep_states() {
    let mut rng = Rng(seed());
    // `head` with no invariants: runs are never cut short by a violation.
    let settings = Settings {
        revision: Revision::Head,
        invariants: InvariantSet::NONE,
    };
    let (mut signals, mut vtl1, mut modify, mut window) = (0, 0, 0, 0);
    let runs = 20_000;
    for _ in 0..runs {
        let mut r = Reached::default();
        run_hooked(Target::RelayLifecycle, &rng.input(), &settings, &mut r);
        signals += r.signal_delivered as u32;
        vtl1 += r.vtl1_retarget as u32;
        modify += r.modify_channel as u32;
        window += r.wake_window_hit as u32;
    }
    eprintln!(
        "of {runs} runs (seed {:#x}): delivered relay signal {signals}, VTL1 retarget {vtl1}, ModifyChannel {modify}, cross-VP wake window {window}",
        seed()
    );
    assert!(
        signals > 0,
        "no open relayed channel ever delivered a signal"
    );
    assert!(vtl1 > 0, "no VTL1 retarget");
    assert!(modify > 0, "no accepted ModifyChannel");
    assert!(
        window > 0,
        "no host interrupt inside a cross-VP wake window"
    );
}

/// Runs `data` at `proposed` while a saboteur rewrites every VP's `proxy_irr_blocked`
/// after each operation; returns the first violation the oracle reports.
fn sabotaged(target: Target, data: &[u8], sabotage: impl Fn(&mut Partition)) -> Option<Invariant> {
    let mut decoder = Decoder::new(target, data);
    let settings = Settings::proposed_strict();
    let mut m = Machine::new(decoder.config, &settings);
    sabotage(&mut m.model);
    for (step, op) in decoder.by_ref().enumerate() {
        let v = m.step(step, &op, &mut NoHook);
        sabotage(&mut m.model);
        if let Some(v) = v {
            return Some(v.invariant);
        }
    }
    None
}

fn open_filter(p: &mut Partition) {
    for vp in p.vps.iter_mut() {
        vp.run.proxy_irr_blocked = VectorSet::EMPTY;
    }
}

fn closed_filter(p: &mut Partition) {
    for vp in p.vps.iter_mut() {
        vp.run.proxy_irr_blocked = VectorSet::ALL;
    }
}

/// A filter that forgets the masked bit: admits every VTL0 SINT vector with the proxy bit
/// or (relay on) SINT2, masked or not.
fn ignores_mask(p: &mut Partition) {
    let relay = p.config.vmbus_relay;
    for vp in p.vps.iter_mut() {
        let mut allowed = VectorSet::EMPTY;
        for (n, s) in vp.synic[0].sints.iter().enumerate() {
            if s.proxy() || (relay && n == 2) {
                allowed.insert(s.vector());
            }
        }
        vp.run.proxy_irr_blocked = allowed.complement();
    }
}

fn witness_bytes(name: &str) -> (Target, Vec<u8>) {
    let w = witnesses().into_iter().find(|w| w.name == name).unwrap();
    (w.target, encode(w.target, &w.scenario).unwrap())
}

#[test]
fn the_oracle_flags_broken_filters() {
    // Hand-built: proposed itself is clean on these…
    let (t, leak) = witness_bytes("set-vp-registers-mask-stale-filter");
    assert_eq!(sabotaged(t, &leak, |_| {}), None);
    // …but an open filter leaks, and a mask-blind one leaks the masked SINT2 vector.
    assert_eq!(
        sabotaged(t, &leak, open_filter),
        Some(Invariant::LeakUnentitled)
    );
    assert_eq!(
        sabotaged(t, &leak, ignores_mask),
        Some(Invariant::LeakUnentitled)
    );
    let (t, relay) = witness_bytes("proxy-bit-drops-relay-signal");
    assert_eq!(sabotaged(t, &relay, |_| {}), None);
    assert_eq!(
        sabotaged(t, &relay, closed_filter),
        Some(Invariant::LostRelay)
    );

    // And fixed-seed random inputs find each broken filter too.
    let mut rng = Rng(seed());
    let mut found = [false; 3];
    for _ in 0..20_000 {
        let data = rng.input();
        found[0] |= sabotaged(Target::ProxyFilter, &data, open_filter).is_some();
        found[1] |=
            sabotaged(Target::ProxyFilter, &data, ignores_mask) == Some(Invariant::LeakUnentitled);
        found[2] |= sabotaged(Target::RelayLifecycle, &data, closed_filter).is_some();
        if found.iter().all(|&f| f) {
            break;
        }
    }
    assert_eq!(found, [true; 3], "open, mask-blind, closed");
}
