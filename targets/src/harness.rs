//! Model stepping: decode the config, build the model and the oracle, then apply each
//! operation and check it. Every engine wrapper (`crate::engine`), `cargo test` and the
//! triage CLI go through [`run`], so the same bytes give the same outcome everywhere.
//!
//! Below: the codec, the targets' kind tables, the oracle. Above: whatever watches a
//! run step by step implements [`StepHook`] (the engines' feedback, tracing, the
//! signature's divergence, triage's explain); this module only calls it.

use std::cell::RefCell;
use std::sync::OnceLock;

use sintfuzz_model::op::{GuestAck, RunVp, SetApic};
use sintfuzz_model::{
    Config, Event, Observer, Op, OpResult, Partition, Policy, Revision, VectorSet, Vtl,
};

use crate::codec::{Decoder, OpSink};
use crate::invariant::InvariantSet;
use crate::oracle::{Oracle, Skips, Violation};
use crate::target::Target;

/// Per-run choices: which revision of the filter, which invariants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    pub revision: Revision,
    pub invariants: InvariantSet,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            revision: Revision::Head,
            invariants: InvariantSet::default_set(),
        }
    }
}

pub const ENV_REVISION: &str = "SINTFUZZ_REVISION";
pub const ENV_INVARIANTS: &str = "SINTFUZZ_INVARIANTS";

impl Settings {
    /// `proposed` under the strict set: what must stay clean.
    pub fn proposed_strict() -> Self {
        Settings {
            revision: Revision::Proposed,
            invariants: InvariantSet::strict(),
        }
    }

    /// `SINTFUZZ_REVISION` (default `head`) and `SINTFUZZ_INVARIANTS` (default `default`).
    /// An unknown or non-UTF-8 value is an error, never a silent default.
    pub fn from_env() -> Result<Self, String> {
        let var = |name: &str| match std::env::var(name) {
            Ok(v) => Ok(Some(v)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(format!("{name} is not valid UTF-8")),
        };
        let mut s = Settings::default();
        if let Some(r) = var(ENV_REVISION)? {
            s.revision = r
                .trim()
                .parse()
                .map_err(|e| format!("{ENV_REVISION}: {e}"))?;
        }
        if let Some(i) = var(ENV_INVARIANTS)? {
            s.invariants = InvariantSet::parse(&i).map_err(|e| format!("{ENV_INVARIANTS}: {e}"))?;
        }
        Ok(s)
    }

    /// The process-wide settings, read once. A bad value ends the process with a one-line
    /// error and exit code 2 before any input runs.
    pub fn global() -> &'static Settings {
        static SETTINGS: OnceLock<Settings> = OnceLock::new();
        SETTINGS.get_or_init(|| crate::env::or_exit(Settings::from_env()))
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Clean,
    Violation(Violation),
}

impl Outcome {
    pub fn violation(&self) -> Option<Violation> {
        match self {
            Outcome::Clean => None,
            Outcome::Violation(v) => Some(*v),
        }
    }
}

/// Everything a step-by-step reader (explain, the tracing hook) gets to see.
pub trait StepHook {
    fn op(&mut self, step: usize, op: &Op, model: &Partition);
    fn event(&mut self, event: &Event);
    /// After the oracle has seen the step; `oracle` tells the guest's entitlements.
    fn result(&mut self, step: usize, result: OpResult, model: &Partition, oracle: &Oracle);
}

struct Hooked<'a, H: StepHook> {
    oracle: &'a mut Oracle,
    hook: &'a mut H,
}

impl<H: StepHook> Observer for Hooked<'_, H> {
    #[inline(always)]
    fn event(&mut self, event: Event) {
        self.hook.event(&event);
        self.oracle.event(event);
    }
}

/// Run one input: the hot path, no allocation or logging per operation (the hook is a
/// no-op that compiles away).
pub fn run(target: Target, data: &[u8], settings: &Settings) -> Outcome {
    run_hooked(target, data, settings, &mut NoHook)
}

/// A hook that observes nothing (compiles away).
pub struct NoHook;

impl StepHook for NoHook {
    #[inline(always)]
    fn op(&mut self, _: usize, _: &Op, _: &Partition) {}
    #[inline(always)]
    fn event(&mut self, _: &Event) {}
    #[inline(always)]
    fn result(&mut self, _: usize, _: OpResult, _: &Partition, _: &Oracle) {}
}

/// [`run`] with a hook told of every operation, event and result (for reproducing).
pub fn run_hooked(
    target: Target,
    data: &[u8],
    settings: &Settings,
    hook: &mut impl StepHook,
) -> Outcome {
    run_settings(target, data, settings, hook).0
}

/// [`run_hooked`] on a model of `revision` that behaves as `policy` says (one policy
/// choice flipped, for root-cause signatures).
pub fn run_policy_hooked(
    target: Target,
    data: &[u8],
    revision: Revision,
    policy: Policy,
    invariants: InvariantSet,
    hook: &mut impl StepHook,
) -> Outcome {
    run_counted(target, data, revision, policy, invariants, hook).0
}

/// [`run`] with the oracle's count of judged deliveries and skips (`sintfuzz bench`, the
/// campaign report, the skip-share test).
pub fn run_skips(target: Target, data: &[u8], settings: &Settings) -> (Outcome, Skips) {
    run_settings(target, data, settings, &mut NoHook)
}

/// [`run_counted`] on `settings`' revision with its own policy.
fn run_settings(
    target: Target,
    data: &[u8],
    settings: &Settings,
    hook: &mut impl StepHook,
) -> (Outcome, Skips) {
    let revision = settings.revision;
    let policy = revision.policy();
    run_counted(target, data, revision, policy, settings.invariants, hook)
}

fn run_counted(
    target: Target,
    data: &[u8],
    revision: Revision,
    policy: Policy,
    invariants: InvariantSet,
    hook: &mut impl StepHook,
) -> (Outcome, Skips) {
    let decoder = Decoder::new(target, data);
    steps(decoder.config, decoder, revision, policy, invariants, hook)
}

/// Run a scenario given as operations rather than bytes: the peer harnesses of
/// `fuzz/bench_targets/` (naive, shaped) build their operations their own way and share
/// this model, oracle and stop rule.
pub fn run_ops(config: Config, ops: impl IntoIterator<Item = Op>, settings: &Settings) -> Outcome {
    let revision = settings.revision;
    run_ops_policy_hooked(
        config,
        ops,
        revision,
        revision.policy(),
        settings.invariants,
        &mut NoHook,
    )
}

fn run_ops_policy_hooked(
    config: Config,
    ops: impl IntoIterator<Item = Op>,
    revision: Revision,
    policy: Policy,
    invariants: InvariantSet,
    hook: &mut impl StepHook,
) -> Outcome {
    steps(
        config,
        Ops(ops.into_iter()),
        revision,
        policy,
        invariants,
        hook,
    )
    .0
}

/// What a replay runs: the bytes of an input of a target (every engine's crash file of
/// ours), or a scenario given as operations (a peer harness's, [`run_ops`]). Both go
/// through the same step loop, so they judge alike; root-cause signatures
/// ([`crate::signature::analyze_source`]) replay either.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    Bytes(Target, &'a [u8]),
    Ops(Config, &'a [Op]),
}

impl Source<'_> {
    /// [`run_policy_hooked`] or [`run_ops`] on a model of `revision` that behaves as
    /// `policy` says.
    pub fn run_policy_hooked(
        self,
        revision: Revision,
        policy: Policy,
        invariants: InvariantSet,
        hook: &mut impl StepHook,
    ) -> Outcome {
        match self {
            Source::Bytes(target, data) => {
                run_policy_hooked(target, data, revision, policy, invariants, hook)
            }
            Source::Ops(config, ops) => run_ops_policy_hooked(
                config,
                ops.iter().copied(),
                revision,
                policy,
                invariants,
                hook,
            ),
        }
    }

    /// [`Source::run_policy_hooked`] without a hook.
    pub fn run_policy(
        self,
        revision: Revision,
        policy: Policy,
        invariants: InvariantSet,
    ) -> Outcome {
        self.run_policy_hooked(revision, policy, invariants, &mut NoHook)
    }
}

/// One step of the loop as the decoder's [`OpSink`]: the decoder calls it with each
/// operation, specialized per kind.
struct Step<'a, H: StepHook> {
    machine: &'a mut Machine,
    step: usize,
    hook: &'a mut H,
}

impl<H: StepHook> OpSink for Step<'_, H> {
    /// Whether the run goes on: no violation, VM up.
    type Out = bool;
    #[inline(always)]
    fn op(&mut self, op: &Op) -> bool {
        self.machine.step(self.step, op, self.hook).is_none() && !self.machine.halted()
    }
}

/// Where the step loop's operations come from: an input's bytes (the [`Decoder`], which
/// hands each operation to the step specialized per kind) or a scenario's operations.
trait OpSource {
    /// Hand the next operation to `sink`; `None` when there is none.
    fn next_to<K: OpSink>(&mut self, sink: &mut K) -> Option<K::Out>;
}

impl OpSource for Decoder<'_> {
    #[inline(always)]
    fn next_to<K: OpSink>(&mut self, sink: &mut K) -> Option<K::Out> {
        Decoder::next_to(self, sink)
    }
}

/// A scenario's operations as an [`OpSource`].
struct Ops<I>(I);

impl<I: Iterator<Item = Op>> OpSource for Ops<I> {
    #[inline(always)]
    fn next_to<K: OpSink>(&mut self, sink: &mut K) -> Option<K::Out> {
        self.0.next().map(|op| sink.op(&op))
    }
}

thread_local! {
    /// The machine the runs of this thread reuse, reset in place ([`Machine::reset`]):
    /// cheaper than a fresh 12 KB machine per input.
    static MACHINE: RefCell<Option<Machine>> = const { RefCell::new(None) };
}

/// Run `ops` from a fresh machine: this thread's, reset in place, or (in a run started
/// from inside another, which holds it) one of its own.
#[inline(always)]
fn steps<H: StepHook>(
    config: Config,
    ops: impl OpSource,
    revision: Revision,
    policy: Policy,
    invariants: InvariantSet,
    hook: &mut H,
) -> (Outcome, Skips) {
    MACHINE.with(|cell| match cell.try_borrow_mut() {
        Ok(mut slot) => {
            let machine = match &mut *slot {
                Some(m) => {
                    m.reset(config, revision, policy, invariants);
                    m
                }
                None => slot.insert(Machine::with_policy(config, revision, policy, invariants)),
            };
            run_loop(machine, ops, hook)
        }
        Err(_) => run_loop(
            &mut Machine::with_policy(config, revision, policy, invariants),
            ops,
            hook,
        ),
    })
}

/// The one step loop: apply each operation to the model, show it to the oracle, stop at
/// the first violation or when the VM is down. One function with its source inlined, so
/// that the decoder's per-kind dispatch sits in the loop itself (no call per operation).
#[inline(never)]
fn run_loop<H: StepHook>(
    machine: &mut Machine,
    mut ops: impl OpSource,
    hook: &mut H,
) -> (Outcome, Skips) {
    let mut step = 0;
    while let Some(true) = ops.next_to(&mut Step {
        machine,
        step,
        hook,
    }) {
        step += 1;
    }
    // The first violation is kept (`Oracle::report`), and it ended the loop.
    let outcome = match machine.oracle.violation() {
        Some(v) => Outcome::Violation(v),
        None => Outcome::Clean,
    };
    (outcome, machine.oracle.skips())
}

/// The model and the oracle judging it: the whole state of one run. Every runner (the
/// fuzz targets through [`run_hooked`], `sintfuzz check`'s exhaustive search) steps it
/// with [`Machine::step`] and stops at [`Machine::halted`], so they judge alike. `Hash`
/// is the canonical state (see the `Hash` impls of `Partition` and `Oracle`).
#[derive(Clone, Hash)]
pub struct Machine {
    pub model: Partition,
    pub oracle: Oracle,
}

impl Machine {
    /// The canonical state's shared part, model then oracle (`Hash` hashes the model's
    /// parts, then the oracle's).
    #[inline]
    pub fn hash_shared<H: std::hash::Hasher>(&self, h: &mut H) {
        self.model.hash_shared(h);
        self.oracle.hash_shared(h);
    }

    /// VP `v`'s part of the canonical state, model then oracle: all that an operation
    /// local to `v` (`Op::vp_local`) can change.
    #[inline]
    pub fn hash_vp<H: std::hash::Hasher>(&self, v: usize, h: &mut H) {
        self.model.hash_vp(v, h);
        self.oracle.hash_vp(v, h);
    }

    pub fn new(config: Config, settings: &Settings) -> Self {
        let r = settings.revision;
        Self::with_policy(config, r, r.policy(), settings.invariants)
    }

    pub fn with_policy(
        config: Config,
        revision: Revision,
        policy: Policy,
        invariants: InvariantSet,
    ) -> Self {
        Self {
            model: Partition::with_policy(config, revision, policy),
            oracle: Oracle::new(config, invariants),
        }
    }

    /// Make this machine equal to `Machine::with_policy(config, revision, policy,
    /// invariants)` in place, copying only what its last run can have changed
    /// ([`Partition::reset`], [`Oracle::reset`]).
    #[inline]
    pub fn reset(
        &mut self,
        config: Config,
        revision: Revision,
        policy: Policy,
        invariants: InvariantSet,
    ) {
        self.model.reset(config, revision, policy);
        self.oracle.reset(config, invariants);
    }

    /// Apply operation number `step` and judge it; the first violation of an enabled
    /// invariant ends the run.
    #[inline(always)]
    pub fn step(&mut self, step: usize, op: &Op, hook: &mut impl StepHook) -> Option<Violation> {
        hook.op(step, op, &self.model);
        let seen = observed_irr(&self.model, op, false);
        self.oracle.before(step, op);
        let r = self.model.apply(
            op,
            &mut Hooked {
                oracle: &mut self.oracle,
                hook,
            },
        );
        let seen = seen.union(observed_irr(&self.model, op, true));
        self.oracle.after(op, r, seen);
        hook.result(step, r, &self.model, &self.oracle);
        self.oracle.violation()
    }

    /// A VTL2 assert took the VM down: nothing later in the input can happen upstream,
    /// whether or not `vtl2-crash` is being checked, so the run ends.
    pub fn halted(&self) -> bool {
        self.model.halted()
    }

    /// Rename VP 0 to VP 1 and back in the model and the oracle (`sintfuzz check`'s VP
    /// symmetry; see `Partition::swap_vps`).
    pub fn swap_vps(&mut self) {
        self.model.swap_vps();
        self.oracle.swap_vps();
    }

    /// Rename two vectors in the model and the oracle (`sintfuzz check`'s value
    /// symmetry; see `Partition::swap_vectors`).
    pub fn swap_vectors(&mut self, swap: sintfuzz_model::partition::symmetry::VectorSwap) {
        self.model.swap_vectors(swap);
        self.oracle.swap_vectors(swap);
    }

    /// The VPs (bit n) whose state, in the model and the oracle, is the same in `after`
    /// (this machine after one more operation), when nothing shared changed; else 0
    /// (`sintfuzz check`'s partial-order reduction on its last level).
    pub fn unchanged_vps(&self, after: &Machine) -> u8 {
        self.model.unchanged_vps(&after.model) & self.oracle.unchanged_vps(&after.oracle)
    }
}

/// What the guest of `op`'s VP reads of its own VTL0 APIC where the oracle settles
/// ([`Oracle::after`]): its IRR before (`after` false) a guest ack or a VTL0 APIC write,
/// each of which may clear it, and after (`after` true) a VP run; empty otherwise. The
/// model has no ISR (an ack accepts and EOIs everything at once), so the IRR is all the
/// guest can see pending. Never the filter: the oracle judges by what the guest sees.
#[inline(always)]
pub fn observed_irr(model: &Partition, op: &Op, after: bool) -> VectorSet {
    match *op {
        Op::RunVp(RunVp { vp }) if after => model.guest_irr(vp),
        Op::GuestAck(GuestAck { vp, vtl: Vtl::Vtl0 })
        | Op::SetApic(SetApic {
            vp, vtl: Vtl::Vtl0, ..
        }) if !after => model.guest_irr(vp),
        _ => VectorSet::EMPTY,
    }
}

/// [`run`] with `policy` in place of the revision's own.
pub fn run_policy(
    target: Target,
    data: &[u8],
    revision: Revision,
    policy: Policy,
    invariants: InvariantSet,
) -> Outcome {
    run_policy_hooked(target, data, revision, policy, invariants, &mut NoHook)
}
