//! The root-cause signature is one implementation over either input source: the bytes of
//! a target's input, or the same scenario given as operations (what a peer harness's
//! crash is bucketed by when our format cannot express it). For every input, the analysis
//! (violation, signature, divergence) of the bytes equals that of their decoded
//! operations, on every revision and invariant set.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sintfuzz_model::Revision;
use sintfuzz_targets::files::{list, read_input, REGRESSIONS_DIR};
use sintfuzz_targets::rng::SplitMix64;
use sintfuzz_targets::scenarios::witnesses;
use sintfuzz_targets::signature::{analyze, analyze_source, signature_source};
use sintfuzz_targets::{decode, encode, InvariantSet, Source, Target};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Compares the two sources on `data` everywhere; returns the signatures seen.
fn same_on_both(target: Target, data: &[u8], seen: &mut BTreeSet<String>) -> usize {
    let s = decode(target, data);
    let mut violations = 0;
    for revision in Revision::ALL {
        for invariants in [InvariantSet::default_set(), InvariantSet::strict()] {
            let bytes = analyze(target, revision, invariants, data);
            let ops = analyze_source(Source::Ops(s.config, &s.ops), revision, invariants);
            assert_eq!(
                bytes,
                ops,
                "{} on {revision} ({invariants}): {data:02x?}",
                target.name()
            );
            assert_eq!(
                signature_source(Source::Bytes(target, data), revision, invariants),
                bytes.as_ref().map(|a| a.signature.clone())
            );
            if let Some(a) = bytes {
                violations += 1;
                seen.insert(a.signature.to_string());
            }
        }
    }
    violations
}

#[test]
fn witnesses_and_regressions_analyze_alike_as_bytes_and_as_ops() {
    let mut seen = BTreeSet::new();
    let mut violations = 0;
    for w in witnesses() {
        let data = encode(w.target, &w.scenario).unwrap();
        violations += same_on_both(w.target, &data, &mut seen);
    }
    for target in Target::ALL {
        for file in list(&root().join(REGRESSIONS_DIR), target, "bin").unwrap() {
            violations += same_on_both(target, &read_input(&file).unwrap(), &mut seen);
        }
    }
    // Every known root cause has a witness: many distinct signatures were compared.
    assert!(violations > 100, "{violations}");
    assert!(seen.len() >= 10, "{seen:?}");
}

#[test]
fn random_inputs_analyze_alike_as_bytes_and_as_ops() {
    let mut rng = SplitMix64(0x5167);
    let mut seen = BTreeSet::new();
    let mut violations = 0;
    for i in 0..1200 {
        let target = Target::ALL[i % Target::ALL.len()];
        violations += same_on_both(target, &rng.input(), &mut seen);
    }
    assert!(violations > 200, "{violations}");
    assert!(seen.len() >= 5, "{seen:?}");
}
