//! Grouping of violations that no choice of `proposed` removes: three defects injected
//! into copies of `proposed` (the test-only revisions of `model/src/defect.rs`). For each,
//! seeded inputs (the seed corpus and random bytes, each mutated by the op-level mutator
//! over a fixed-seed walk) run in-process through the harness the engines call, under
//! the strict set; every violation found is bucketed the way `sintfuzz bucket` keys its
//! buckets (a new root cause by its whole signature, a known one by its id). Each defect
//! must be found, stop the engines (never be suppressed as a known finding), and give at
//! most 2 buckets; no bucket is shared by two defects.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use sintfuzz_model::Revision;
use sintfuzz_targets::codec::MAX_CANONICAL_LEN;
use sintfuzz_targets::files::{list, read_input};
use sintfuzz_targets::harness::Settings;
use sintfuzz_targets::known::{judge, KnownList, KnownMode, Label, Verdict};
use sintfuzz_targets::mutate::mutate;
use sintfuzz_targets::rng::SplitMix64;
use sintfuzz_targets::signature::analyze;
use sintfuzz_targets::{run, InvariantSet, Target};

/// Mutations per target and defect, and the most violations analyzed per target.
const STEPS: usize = 3000;
const ANALYZED: usize = 24;

fn seeds(target: Target, rng: &mut SplitMix64) -> Vec<Vec<u8>> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
    let mut seeds: Vec<Vec<u8>> = list(&corpus, target, "bin")
        .unwrap()
        .iter()
        .map(|p| read_input(p).unwrap())
        .collect();
    seeds.extend((0..8).map(|_| rng.input()));
    seeds
}

/// Violating inputs of `target` under `settings`, from a fixed-seed mutation walk.
fn hunt(target: Target, settings: &Settings, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = SplitMix64(seed);
    let seeds = seeds(target, &mut rng);
    let mut found = Vec::new();
    let mut cur = seeds[0].clone();
    for step in 0..STEPS {
        if step % 40 == 0 {
            cur = seeds[rng.next_u64() as usize % seeds.len()].clone();
        }
        let mut buf = cur.clone();
        buf.resize(MAX_CANONICAL_LEN.max(cur.len()), 0);
        let (len, max) = (cur.len(), buf.len());
        let r = rng.next_u64();
        let n = mutate(target, &mut buf, len, max, r as u32, |d, size, _| {
            if size > 0 {
                d[r as usize % size] ^= 1 << ((r >> 32) % 8);
            }
            size
        });
        buf.truncate(n);
        if run(target, &buf, settings).violation().is_some() {
            found.push(buf);
        } else {
            cur = buf;
        }
    }
    found
}

/// The bucket keys of one defect's violations (at most [`ANALYZED`] per target).
fn buckets(revision: Revision) -> (BTreeMap<String, usize>, usize) {
    let settings = Settings {
        revision,
        invariants: InvariantSet::strict(),
    };
    let known = KnownList::embedded();
    let mut keys = BTreeMap::new();
    let mut found = 0;
    for (t, target) in Target::ALL.into_iter().enumerate() {
        let hits = hunt(target, &settings, 0x1a7e_c7ed ^ t as u64);
        found += hits.len();
        for data in hits.iter().take(ANALYZED) {
            let a = analyze(target, revision, settings.invariants, data).unwrap();
            let label = known.label(&a.signature, a.violation.invariant);
            assert_eq!(label, Label::New, "{revision}: {}", a.signature);
            let verdict = judge(
                known,
                KnownMode::Suppress,
                target,
                data,
                &settings,
                &a.violation,
            );
            assert!(
                matches!(verdict, Verdict::Stop(_)),
                "{revision}: suppressed"
            );
            *keys.entry(a.signature.to_string()).or_insert(0) += 1;
        }
    }
    (keys, found)
}

#[test]
fn each_injected_defect_is_found_and_gives_at_most_two_buckets() {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for revision in Revision::INJECTED {
        let (keys, found) = buckets(revision);
        eprintln!("{revision}: {found} violating inputs, buckets {keys:?}");
        assert!(!keys.is_empty(), "{revision}: never found");
        assert!(
            keys.len() <= 2,
            "{revision}: {} buckets: {keys:?}",
            keys.len()
        );
        for k in keys.keys() {
            assert!(seen.insert(k.clone()), "{revision} shares bucket {k}");
        }
    }
}

#[test]
fn proposed_itself_is_clean_on_the_same_walk() {
    // The walk finds nothing without a defect, so each bucket above is the defect's.
    let settings = Settings {
        revision: Revision::Proposed,
        invariants: InvariantSet::strict(),
    };
    for (t, target) in Target::ALL.into_iter().enumerate() {
        let hits = hunt(target, &settings, 0x1a7e_c7ed ^ t as u64);
        assert!(hits.is_empty(), "{target}: proposed violates");
    }
}

/// One injected defect reached through three vehicles (a WRMSR of SINT2, the same by
/// HvSetVpRegisters, a WRMSR of a proxy-bit SINT5), each a malicious assert of the masked
/// SINT's vector: their divergence ops differ, their signature is one.
#[test]
fn one_rule_defect_through_different_operations_is_one_signature() {
    use sintfuzz_model::hvdef::{msr, reg, Sint};
    use sintfuzz_model::op::{HostAssert, RunVp, SetVpRegister, WrMsr};
    use sintfuzz_model::{Config, Op, ProxyAssert, Vtl};
    use sintfuzz_targets::codec::{encode, Scenario};
    let masked = |proxy| Sint::unmasked(0x50, proxy).into_bits() | Sint::MASKED;
    let wrmsr = |n: u32, proxy| {
        Op::WrMsr(WrMsr {
            vp: 0,
            vtl: Vtl::Vtl0,
            msr: msr::SINT0 + n,
            value: masked(proxy),
        })
    };
    let hypercall = Op::SetVpRegister(SetVpRegister {
        vp: 0,
        caller_vtl: Vtl::Vtl0,
        target_vtl: Vtl::Vtl0,
        partition_self: true,
        vp_index: 0,
        name: reg::SINT0 + 2,
        value: masked(false),
    });
    let mut sigs = BTreeSet::new();
    let mut ops = BTreeSet::new();
    for first in [wrmsr(2, false), hypercall, wrmsr(5, true)] {
        let assert = Op::HostAssert(HostAssert {
            vp: 0,
            assert: ProxyAssert::Single(0x50),
        });
        let s = Scenario {
            config: Config::default(),
            ops: vec![first, assert, Op::RunVp(RunVp { vp: 0 })],
        };
        let data = encode(Target::AllOps, &s).unwrap();
        let a = analyze(
            Target::AllOps,
            Revision::InjectMaskedSint,
            InvariantSet::strict(),
            &data,
        )
        .expect("the masked SINT's vector leaks");
        assert!(analyze(
            Target::AllOps,
            Revision::Proposed,
            InvariantSet::strict(),
            &data
        )
        .is_none());
        ops.insert(a.divergence.op);
        sigs.insert(a.signature.to_string());
    }
    assert_eq!(ops.len(), 2, "{ops:?}");
    assert_eq!(sigs.len(), 1, "{sigs:?}");
}
