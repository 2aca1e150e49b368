//! Property test: random operation streams (every [`Op`] variant, any field values,
//! out-of-range VPs/slots/devices and `Vtl2` included, random configurations with
//! `vp_count` anywhere in 0..=255) never panic on any revision, are deterministic, and keep
//! the invariants §5.4 of the semantics reference states for the real code:
//!
//! * a vector reaches VTL0 through the proxy IRR only if it was unblocked in that VP's
//!   filter when the host asserted it, and a blocked assertion is never replayed;
//! * vectors 0..=15 never reach an APIC except through the TDX kernel offload;
//! * the device vector table only grows;
//! * the run-page filter changes only through a reported filter update.
//!
//! The streams come from a fixed-seed splitmix64 generator (`tests/common/gen.rs`).

mod common;

use sintfuzz_model::op::{
    CloseChannel, GuestAck, HostAssert, HostDeviceInterrupt, HostOffer, HostSignalChannel,
    HostSignalSint, ModifyChannel, ModifyConnection, OpenChannel, RdMsr, Retarget, RunVp, SetApic,
    SetVpRegister, UntrustedWrMsr, WrMsr,
};
use std::panic::{catch_unwind, AssertUnwindSafe};

use common::gen::{self, Rng};
use sintfuzz_model::{
    Config, DropReason, Event, Op, OpResult, Partition, Path, Policy, Refusal, Revision, VectorSet,
    Vtl, MAX_VPS,
};

/// Streams per revision; each has 0..=64 operations.
const STREAMS: u64 = 3000;
const MAX_OPS: usize = 64;
const SEED: u64 = 0x5117_f022_0000_0000;

struct Outcome {
    partition: Partition,
    results: Vec<OpResult>,
    events: Vec<Event>,
}

/// Apply `ops`, checking the invariants after every operation.
fn run_checked(config: Config, revision: Revision, ops: &[Op]) -> Outcome {
    let mut p = Partition::new(config, revision);
    let policy = p.policy();
    let vps = config.vps();
    let mut results = Vec::with_capacity(ops.len());
    let mut all_events = Vec::new();
    // The proxy IRR the kernel should hold, derived from the events alone.
    let mut expected_irr = [VectorSet::EMPTY; MAX_VPS];
    let mut total_asserts = 0u32;

    for (i, op) in ops.iter().enumerate() {
        let before = p.clone();
        let mut ev = Vec::new();
        let r = p.apply(op, &mut ev);
        let ctx = || format!("op #{i} {op:?} -> {r:?}\nevents: {ev:?}");

        assert_eq!(p.config, config, "{}", ctx());
        // A VTL2 assert ends the VM: every later operation is refused, whatever it is.
        assert_eq!(
            r == OpResult::Refused(Refusal::VmDown),
            before.vtl2_asserts != 0,
            "{}",
            ctx()
        );
        if let OpResult::Refused(_) = r {
            assert!(ev.is_empty(), "a refused op emits nothing: {}", ctx());
            assert!(p == before, "a refused op changes nothing: {}", ctx());
        }

        let step = Step {
            op,
            ev: &ev,
            before: &before,
            vps,
            policy,
            revision,
            describe: &ctx,
        };
        let reported = step.check_events(&mut expected_irr, &mut total_asserts);
        assert_eq!(
            r == OpResult::Vtl2Assert,
            ev.iter().any(|e| matches!(e, Event::Vtl2Assert { .. })),
            "{}",
            ctx()
        );

        // A poll hands over exactly what the kernel admitted since the last poll: every
        // snapshot vector is delivered or dropped by the APIC, nothing else appears.
        if let Op::RunVp(RunVp { vp }) = *op {
            if (vp as usize) < vps && !matches!(r, OpResult::Refused(_) | OpResult::Vtl2Assert) {
                let vp = vp as usize;
                assert_eq!(reported[vp], expected_irr[vp], "{}", ctx());
                expected_irr[vp] = VectorSet::EMPTY;
            }
        }
        step.check_run_state(&p, &expected_irr);
        assert_eq!(
            before.device_vector_table.difference(p.device_vector_table),
            VectorSet::EMPTY,
            "the device vector table never shrinks: {}",
            ctx()
        );
        assert_eq!(p.vtl2_asserts, total_asserts, "{}", ctx());

        results.push(r);
        all_events.extend(ev);
    }
    Outcome {
        partition: p,
        results,
        events: all_events,
    }
}

/// One applied operation, for the checks of its events and of the state it left.
struct Step<'a> {
    op: &'a Op,
    ev: &'a [Event],
    /// The partition before the operation.
    before: &'a Partition,
    vps: usize,
    policy: Policy,
    revision: Revision,
    describe: &'a dyn Fn() -> String,
}

impl Step<'_> {
    fn ctx(&self) -> String {
        (self.describe)()
    }

    /// Each event is well-formed and what the filter and the policy allow; the proxy IRR
    /// the kernel should hold follows the asserts. Returns the vectors a poll handed
    /// over, per VP.
    fn check_events(
        &self,
        expected_irr: &mut [VectorSet; MAX_VPS],
        total_asserts: &mut u32,
    ) -> [VectorSet; MAX_VPS] {
        let mut reported = [VectorSet::EMPTY; MAX_VPS];
        // The filter in force at each event (a RunVp may update it, then post a message
        // whose SNP interrupt is a proxy interrupt).
        let mut blocked_now = [VectorSet::EMPTY; MAX_VPS];
        for (vp, b) in blocked_now.iter_mut().enumerate() {
            *b = self.before.vps[vp].run.proxy_irr_blocked;
        }
        // The bits of the last proxy-interrupt message, per VP.
        let mut asserted = [VectorSet::EMPTY; MAX_VPS];
        for e in self.ev {
            if let Event::FilterUpdated { vp, blocked, .. } = *e {
                blocked_now[(vp as usize).min(MAX_VPS - 1)] = blocked;
            }
            if let Event::Blocked { vp, vectors } = *e {
                assert!((vp as usize) < self.vps, "{}", self.ctx());
                assert!(!vectors.is_empty(), "an empty blocked set: {}", self.ctx());
                // Exactly the asserted bits the filter blocks.
                assert_eq!(
                    vectors,
                    asserted[vp as usize].intersection(blocked_now[vp as usize]),
                    "{}",
                    self.ctx()
                );
            }
            match *e {
                Event::ProxyAsserted { vp, bits } => {
                    let vp = vp as usize;
                    assert!(vp < self.vps, "{}", self.ctx());
                    let blocked = blocked_now[vp];
                    expected_irr[vp] = expected_irr[vp].union(bits.difference(blocked));
                    asserted[vp] = bits;
                }
                Event::Dropped { .. } | Event::Blocked { .. } => {
                    self.check_drops(e, &blocked_now, &mut reported)
                }
                Event::Delivered {
                    vp,
                    vtl,
                    vector,
                    path,
                    ..
                } => {
                    assert!((vp as usize) < self.vps, "{}", self.ctx());
                    if vector < 16 {
                        assert_eq!(path, Path::ProxyOffload, "{}", self.ctx());
                    }
                    if path.is_proxy() {
                        assert_eq!(vtl, Vtl::Vtl0, "{}", self.ctx());
                        assert!(matches!(self.op, Op::RunVp(RunVp { .. })), "{}", self.ctx());
                        reported[vp as usize].insert(vector);
                    }
                }
                Event::FilterUpdated { vp, .. } | Event::WakeQueued { vp, .. } => {
                    assert!((vp as usize) < self.vps, "{}", self.ctx());
                    assert!(
                        self.policy.filter,
                        "no filter code before #609: {}",
                        self.ctx()
                    );
                }
                Event::Vtl2Assert { vp, vtl, .. } => {
                    assert!((vp as usize) < self.vps, "{}", self.ctx());
                    assert_ne!(vtl, Vtl::Vtl0, "{}", self.ctx());
                    assert!(
                        !matches!(self.revision, Revision::Unfiltered | Revision::Proposed),
                        "{}",
                        self.ctx()
                    );
                    *total_asserts += 1;
                }
            }
        }
        reported
    }

    /// A drop is of a VP that exists; one the filter blocked is of a blocked VTL0
    /// vector; a poll's drop of a proxy vector was handed over (`reported`).
    fn check_drops(
        &self,
        e: &Event,
        blocked_now: &[VectorSet; MAX_VPS],
        reported: &mut [VectorSet; MAX_VPS],
    ) {
        for (vp, vtl, vector, reason, path) in e.drops() {
            assert!((vp as usize) < self.vps, "{}", self.ctx());
            match reason {
                DropReason::Blocked => {
                    assert_eq!(vtl, Vtl::Vtl0);
                    assert!(
                        blocked_now[vp as usize].contains(vector),
                        "dropped as blocked but was not blocked: {}",
                        self.ctx()
                    );
                }
                DropReason::ApicDisabled | DropReason::ReservedVector
                    if matches!(self.op, Op::RunVp(RunVp { .. }))
                        && path.is_some_and(Path::is_proxy) =>
                {
                    reported[vp as usize].insert(vector);
                }
                _ => {}
            }
        }
    }

    /// Each VP's run state after the operation: the proxy IRR expected, the filter as
    /// the last reported update left it.
    fn check_run_state(&self, p: &Partition, expected_irr: &[VectorSet; MAX_VPS]) {
        for (vp, expected_irr) in expected_irr.iter().enumerate() {
            let run = &p.vps[vp].run;
            assert_eq!(run.proxy_irr, *expected_irr, "vp{vp}: {}", self.ctx());
            assert!(
                run.scan_proxy_irr || run.proxy_irr.is_empty(),
                "{}",
                self.ctx()
            );
            // The filter changes only through a reported update, and ends as the last one.
            let last = self.ev.iter().rev().find_map(|e| match *e {
                Event::FilterUpdated { vp: v, blocked, .. } if v as usize == vp => Some(blocked),
                _ => None,
            });
            let expected = last.unwrap_or(self.before.vps[vp].run.proxy_irr_blocked);
            assert_eq!(run.proxy_irr_blocked, expected, "vp{vp}: {}", self.ctx());
            if !self.policy.filter {
                assert!(run.proxy_irr_blocked.is_empty(), "{}", self.ctx());
            }
            if self.policy.block_reserved {
                assert!(
                    run.proxy_irr_blocked
                        .intersection(VectorSet::RESERVED)
                        .eq(&VectorSet::RESERVED),
                    "{}",
                    self.ctx()
                );
            }
        }
    }
}

fn run_plain(config: Config, revision: Revision, ops: &[Op]) -> Outcome {
    let mut p = Partition::new(config, revision);
    let mut events = Vec::new();
    let results = ops.iter().map(|op| p.apply(op, &mut events)).collect();
    Outcome {
        partition: p,
        results,
        events,
    }
}

/// What the streams reached, so the property is not vacuous.
#[derive(Default)]
struct Reached {
    proxy_delivered: usize,
    blocked: usize,
    trusted_delivered: usize,
    asserts: usize,
    filter_updates: usize,
}

fn check_stream(n: u64, reached: &mut Reached) {
    let seed = SEED ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut rng = Rng::new(seed);
    let config = gen::config(&mut rng, true);
    let ops = gen::stream(&mut rng, MAX_OPS);
    for revision in Revision::ALL {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let a = run_checked(config, revision, &ops);
            let b = run_plain(config, revision, &ops);
            assert_eq!(a.results, b.results, "results differ between two runs");
            assert_eq!(a.events, b.events, "events differ between two runs");
            assert!(a.partition == b.partition, "final partitions differ");
            // The observer never influences the state.
            let mut c = Partition::new(config, revision);
            for op in &ops {
                c.apply(op, &mut ());
            }
            assert!(c == a.partition, "a () observer changes the outcome");
            a.events
        }));
        let events = match outcome {
            Ok(events) => events,
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                panic!(
                "stream {n} (seed {seed:#x}) failed on {revision}: {msg}\nconfig: {config:?}\nops: {ops:#?}"
            );
            }
        };
        for e in &events {
            match e {
                Event::Delivered { path, .. } if path.is_proxy() => reached.proxy_delivered += 1,
                Event::Delivered {
                    path: Path::TrustedSynic,
                    ..
                } => reached.trusted_delivered += 1,
                Event::Blocked { .. } => reached.blocked += 1,
                Event::Vtl2Assert { .. } => reached.asserts += 1,
                Event::FilterUpdated { .. } => reached.filter_updates += 1,
                _ => {}
            }
        }
    }
}

#[test]
fn random_streams_never_panic_and_are_deterministic() {
    let mut reached = Reached::default();
    for n in 0..STREAMS {
        check_stream(n, &mut reached);
    }
    assert!(reached.proxy_delivered > 0);
    assert!(reached.trusted_delivered > 0);
    assert!(reached.blocked > 0);
    assert!(reached.asserts > 0);
    assert!(reached.filter_updates > 0);
}

/// Long streams on the smallest and largest effective partitions, so deep states
/// (several channels open, every device routed) are reached too.
#[test]
fn long_streams_never_panic() {
    let mut rng = Rng::new(SEED ^ 0x10c0);
    for _ in 0..40 {
        let mut config = gen::config(&mut rng, false);
        for vp_count in [0, 1, MAX_VPS as u8, 255] {
            config.vp_count = vp_count;
            let ops = gen::stream_of(&mut rng, 1000);
            for revision in Revision::ALL {
                let a = run_checked(config, revision, &ops);
                let b = run_plain(config, revision, &ops);
                assert_eq!(a.events, b.events);
                assert!(a.partition == b.partition);
            }
        }
    }
}

/// The generator covers every `Op` variant, so "any variant" above is not an empty claim.
#[test]
fn generator_covers_every_op_variant() {
    let mut rng = Rng::new(SEED);
    let mut seen = [false; 18];
    for _ in 0..10_000 {
        let i = match gen::op(&mut rng) {
            Op::WrMsr(WrMsr { .. }) => 0,
            Op::RdMsr(RdMsr { .. }) => 1,
            Op::SetVpRegister(SetVpRegister { .. }) => 2,
            Op::UntrustedWrMsr(UntrustedWrMsr { .. }) => 3,
            Op::Retarget(Retarget { .. }) => 4,
            Op::SetApic(SetApic { .. }) => 5,
            Op::GuestAck(GuestAck { .. }) => 6,
            Op::OpenChannel(OpenChannel { .. }) => 7,
            Op::CloseChannel(CloseChannel { .. }) => 8,
            Op::ModifyChannel(ModifyChannel { .. }) => 9,
            Op::ModifyConnection(ModifyConnection { .. }) => 10,
            Op::HostOffer(HostOffer { .. }) => 11,
            Op::HostSignalChannel(HostSignalChannel { .. }) => 12,
            Op::HostSignalSint(HostSignalSint { .. }) => 13,
            Op::HostDeviceInterrupt(HostDeviceInterrupt { .. }) => 14,
            Op::HostAssert(HostAssert { .. }) => 15,
            Op::RunVp(RunVp { .. }) => 16,
            Op::HostPostMessage(_) => 17,
        };
        seen[i] = true;
    }
    assert!(seen.iter().all(|&s| s), "{seen:?}");
}
