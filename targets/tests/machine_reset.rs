//! The fuzz loop reuses one machine per thread and resets it in place (`Machine::reset`),
//! copying back only the VPs the last run had: a reset machine must equal a fresh one
//! whatever the last run did, on every target, revision, invariant set and config; and a
//! run started inside another (which holds the thread's machine) judges as it would alone.

use sintfuzz_model::{Event, Op, OpResult, Partition, Revision};
use sintfuzz_targets::codec::Decoder;
use sintfuzz_targets::oracle::Oracle;
use sintfuzz_targets::rng::SplitMix64;
use sintfuzz_targets::{
    run, run_hooked, InvariantSet, Machine, NoHook, Settings, StepHook, Target,
};

fn same(a: &Machine, b: &Machine) -> bool {
    a.model == b.model && format!("{:?}", a.oracle) == format!("{:?}", b.oracle)
}

#[test]
fn a_reset_machine_equals_a_fresh_one() {
    let mut rng = SplitMix64(0x7e5e_7a11_0f4e_0001);
    let sets = [
        InvariantSet::NONE,
        InvariantSet::default_set(),
        InvariantSet::strict(),
    ];
    let mut m = Machine::new(Default::default(), &Settings::default());
    let mut dirtied = 0;
    let n = 4000;
    for i in 0..n {
        let target = Target::ALL[i % Target::ALL.len()];
        let revision = Revision::ALL[(i / 4) % Revision::ALL.len()];
        let invariants = sets[(i / 3) % sets.len()];
        let data = rng.input();
        let decoder = Decoder::new(target, &data);
        let config = decoder.config;
        m.reset(config, revision, revision.policy(), invariants);
        let fresh = Machine::with_policy(config, revision, revision.policy(), invariants);
        assert!(
            same(&m, &fresh),
            "input {i}: {target} {revision} {config:?}"
        );
        for (step, op) in decoder.enumerate() {
            if m.step(step, &op, &mut NoHook).is_some() || m.halted() {
                break;
            }
        }
        dirtied += usize::from(!same(&m, &fresh));
    }
    // The runs did change what the reset restores.
    assert!(dirtied > n * 3 / 4, "{dirtied} of {n}");
}

/// Runs another input at every operation of the one it watches.
struct Nested<'a> {
    inner: &'a [u8],
    settings: Settings,
}

impl StepHook for Nested<'_> {
    fn op(&mut self, _: usize, _: &Op, _: &Partition) {
        run(Target::AllOps, self.inner, &self.settings);
    }
    fn event(&mut self, _: &Event) {}
    fn result(&mut self, _: usize, _: OpResult, _: &Partition, _: &Oracle) {}
}

#[test]
fn a_run_inside_a_run_judges_as_it_would_alone() {
    let mut rng = SplitMix64(0x7e5e_7a11_0f4e_0002);
    let mut violations = 0;
    for i in 0..300 {
        let settings = Settings {
            revision: Revision::ALL[i % Revision::ALL.len()],
            invariants: InvariantSet::default_set(),
        };
        let (outer, inner) = (rng.input(), rng.input());
        let alone = run(Target::AllOps, &outer, &settings);
        let mut hook = Nested {
            inner: &inner,
            settings,
        };
        assert_eq!(
            run_hooked(Target::AllOps, &outer, &settings, &mut hook),
            alone,
            "{i}"
        );
        violations += usize::from(alone.violation().is_some());
    }
    assert!(violations > 10, "{violations}");
}
