//! A VTL2 assert ends the VM (`assert_eq!(vtl, Vtl0)` in `UhProcessor::update_proxy_irr_filter`,
//! `openhcl/virt_mshv_vtl/src/processor/mod.rs` at 1488a37b7, panics VTL2): no later operation
//! of the input can happen upstream, so nothing after it may be reported, whether or not
//! `vtl2-crash` is checked.

use sintfuzz_model::op::Retarget;
use sintfuzz_model::{Event, Op, OpResult, Partition, RetargetFlaws, Revision, Vtl};
use sintfuzz_targets::harness::StepHook;
use sintfuzz_targets::oracle::Oracle;
use sintfuzz_targets::scenarios::witnesses;
use sintfuzz_targets::{encode, run, run_hooked, Invariant, InvariantSet, Outcome, Settings};

/// Counts the operations the harness applied and the results they had.
#[derive(Default)]
struct Count {
    applied: usize,
    results: Vec<OpResult>,
}

impl StepHook for Count {
    fn op(&mut self, _: usize, _: &Op, _: &Partition) {
        self.applied += 1;
    }
    fn event(&mut self, _: &Event) {}
    fn result(&mut self, _: usize, r: OpResult, _: &Partition, _: &Oracle) {
        self.results.push(r);
    }
}

#[test]
fn a_vtl2_assert_ends_the_run_even_without_vtl2_crash() {
    // A witness whose later operations break a default invariant on head.
    let w = witnesses()
        .into_iter()
        .find(|w| w.name == "retarget-cross-vp-wake-window")
        .unwrap();
    let mut scenario = w.scenario.clone();
    scenario.config.vtl1_enabled = true;
    let without_crash = InvariantSet::default_set()
        .iter()
        .filter(|&i| i != Invariant::Vtl2Crash)
        .fold(InvariantSet::NONE, InvariantSet::with);
    let settings = Settings {
        revision: Revision::Head,
        invariants: without_crash,
    };
    // Control: on its own (VTL1 enabled) it loses the device interrupt.
    let bytes = encode(w.target, &scenario).unwrap();
    assert_eq!(
        run(w.target, &bytes, &settings)
            .violation()
            .map(|v| v.invariant),
        Some(Invariant::LostDevice)
    );

    // A VTL1 retarget first: head has no VTL gate there, so VTL2 asserts and the VM is down.
    scenario.ops.insert(
        0,
        Op::Retarget(Retarget {
            vp: 0,
            vtl: Vtl::Vtl1,
            device: 3,
            vector: 0x60,
            targets: 1,
            flaws: RetargetFlaws::default(),
        }),
    );
    let bytes = encode(w.target, &scenario).unwrap();
    let mut count = Count::default();
    assert_eq!(
        run_hooked(w.target, &bytes, &settings, &mut count),
        Outcome::Clean
    );
    assert_eq!(count.applied, 1, "no operation after the assert is applied");
    assert_eq!(count.results, vec![OpResult::Vtl2Assert]);

    // With `vtl2-crash` checked, the assert itself is the report.
    let with_crash = Settings {
        invariants: without_crash.with(Invariant::Vtl2Crash),
        ..settings
    };
    assert_eq!(
        run(w.target, &bytes, &with_crash)
            .violation()
            .map(|v| v.invariant),
        Some(Invariant::Vtl2Crash)
    );
}
