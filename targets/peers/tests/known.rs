//! A peer skips the known open findings ours skips, judged on the root-cause signature
//! of its own operations, also where our format cannot express its scenario (it used to
//! stop on every such crash, known or not).

use sintfuzz_model::op::RdMsr;
use sintfuzz_model::{hvdef::msr, Config, Op, Revision, Vtl};
use sintfuzz_targets::known::{judge_source, KnownList, KnownMode, Verdict};
use sintfuzz_targets::scenarios::witnesses;
use sintfuzz_targets::{run_ops, InvariantSet, Settings, Source};

/// The SF-001 witness (a VTL1 retarget) after 70 reads: more than our format holds.
fn sf001_after_70_reads() -> (Config, Vec<Op>) {
    let w = witnesses()
        .into_iter()
        .find(|w| w.name == "vtl1-retarget-asserts")
        .expect("the SF-001 witness");
    let read = Op::RdMsr(RdMsr {
        vp: 0,
        vtl: Vtl::Vtl0,
        msr: msr::SINT0 + 2,
    });
    let mut ops = vec![read; 70];
    ops.extend(w.scenario.ops);
    (w.scenario.config, ops)
}

#[test]
fn an_untranslatable_known_open_finding_is_skipped_by_the_peer() {
    let (config, ops) = sf001_after_70_reads();
    let s = Settings {
        revision: Revision::Head,
        invariants: InvariantSet::default_set(),
    };
    let v = run_ops(config, ops.iter().copied(), &s)
        .violation()
        .expect("violates on head");
    assert_eq!(v.step, 70);
    assert!(sintfuzz_peers::canonical(config, ops.clone(), &s).is_err());
    let list = KnownList::embedded();
    let sf001 = list.finding.iter().position(|k| k.id == "SF-001").unwrap();
    let src = Source::Ops(config, &ops);
    assert_eq!(
        judge_source(list, KnownMode::Suppress, src, &s, &v),
        Verdict::Suppressed(sf001)
    );
    let report = judge_source(list, KnownMode::Report, src, &s, &v);
    assert!(
        matches!(&report, Verdict::Stop(m) if m.contains("(known SF-001 [open])")),
        "{report:?}"
    );
    // The fuzz body under this process's settings (no SINTFUZZ_* set: head, the default
    // set, suppress) skips it rather than panicking.
    assert_eq!(
        *Settings::global(),
        s,
        "run without SINTFUZZ_REVISION/INVARIANTS"
    );
    assert_eq!(KnownMode::global(), KnownMode::Suppress);
    sintfuzz_peers::check(config, || ops.iter().copied());
}
