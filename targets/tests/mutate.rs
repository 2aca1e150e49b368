//! The op-level mutator: canonical, bounded, deterministic outputs; a share left to the
//! byte mutator; operation and field changes that reach the interesting values.

use sintfuzz_model::hvdef::{msr, Sint};
use sintfuzz_model::op::{Retarget, WrMsr};
use sintfuzz_model::Op;
use sintfuzz_targets::codec::{decode, encode, MAX_CANONICAL_LEN};
use sintfuzz_targets::mutate::{byte_mutate_capped, crossover, mutate, BYTE_SHARE};
use sintfuzz_targets::rng::SplitMix64;
use sintfuzz_targets::scenarios::{retarget, seeds, witnesses, wr_sint};
use sintfuzz_targets::{Scenario, Target};

/// A stand-in for libFuzzer's byte mutator: flips the first byte, counts its calls.
fn byte_mutator(calls: &mut usize) -> impl FnOnce(&mut [u8], usize, usize) -> usize + '_ {
    move |data, size, max| {
        *calls += 1;
        if size > 0 {
            data[0] ^= 0x55;
        }
        size.min(max)
    }
}

/// Mutate `input` once with `seed`, capacity and `max_size` as libFuzzer passes them.
fn run(target: Target, input: &[u8], max_size: usize, seed: u32) -> (Vec<u8>, bool) {
    let mut buf = input.to_vec();
    buf.resize(max_size.max(input.len()), 0);
    let mut calls = 0;
    let n = mutate(
        target,
        &mut buf,
        input.len(),
        max_size,
        seed,
        byte_mutator(&mut calls),
    );
    assert!(n <= max_size, "{n} > {max_size}");
    buf.truncate(n);
    (buf, calls > 0)
}

#[test]
fn outputs_are_canonical_bounded_and_deterministic() {
    let mut rng = SplitMix64(7);
    for target in Target::ALL {
        let mut fallbacks = 0;
        let mut changed = 0;
        let mut input = Vec::new();
        const N: u32 = 4000;
        for seed in 0..N {
            // A random walk through the mutator's own outputs, restarted now and then.
            if seed % 50 == 0 {
                input = rng.input();
            }
            let max_size = 2 + (rng.next_u64() % MAX_CANONICAL_LEN as u64) as usize;
            let (out, fell_back) = run(target, &input, max_size, seed);
            assert_eq!(run(target, &input, max_size, seed).0, out, "deterministic");
            if fell_back {
                fallbacks += 1;
            } else {
                let s = decode(target, &out);
                assert_eq!(encode(target, &s).unwrap(), out, "{target}: not canonical");
                changed += (s != decode(target, &input)) as u32;
            }
            input = out;
        }
        // One call in BYTE_SHARE goes to the byte mutator (and a few when nothing fits).
        let share = fallbacks as f64 / N as f64;
        let expected = 1.0 / BYTE_SHARE as f64;
        assert!(
            (expected * 0.7..expected * 1.5).contains(&share),
            "{target}: {share}"
        );
        // Nearly every op-level mutation changes the scenario.
        assert!(
            changed as f64 > 0.8 * (N - fallbacks) as f64,
            "{target}: {changed}"
        );
    }
}

#[test]
fn empty_and_tiny_inputs_grow_within_max_size() {
    for target in Target::ALL {
        let mut grew = 0;
        for seed in 0..200 {
            let (out, fell_back) = run(target, &[], 64, seed);
            if !fell_back {
                assert_eq!(decode(target, &out).ops.len(), 1, "{target}");
                grew += 1;
            }
            // Two bytes hold only the config: nothing fits, so the bytes go back.
            let (out, _) = run(target, &[0, 0], 2, seed);
            assert!(out.len() <= 2);
        }
        assert!(grew > 100, "{target}: {grew}");
    }
}

fn mutants(target: Target, s: &Scenario, seeds: u32) -> Vec<Scenario> {
    let bytes = encode(target, s).unwrap();
    (0..seeds)
        .map(|seed| decode(target, &run(target, &bytes, 2200, seed).0))
        .collect()
}

#[test]
fn field_changes_reach_the_interesting_values() {
    let config = sintfuzz_targets::scenarios::config(2, true);
    // A retarget to 0x41: some mutant asks for 0x130 (SF-005's truncation).
    let s = Scenario {
        config,
        ops: vec![retarget(0, sintfuzz_model::Vtl::Vtl0, 1, 0x41, 1)],
    };
    let hit = mutants(Target::ProxyFilter, &s, 3000).iter().any(|m| {
        m.ops
            .iter()
            .any(|op| matches!(op, Op::Retarget(Retarget { vector: 0x130, .. })))
    });
    assert!(hit, "no retarget to 0x130");
    // SINT2 with the proxy bit: some mutant is the same write with the bit cleared
    // (#1162's shape), and some moves it to SINT2 from another SINT.
    let proxy = Sint::unmasked(0x30, true);
    let s = Scenario {
        config,
        ops: vec![wr_sint(1, sintfuzz_model::Vtl::Vtl0, 2, proxy)],
    };
    let cleared = Sint::unmasked(0x30, false).into_bits();
    let found = mutants(Target::RelayLifecycle, &s, 3000).iter().any(|m| {
        m.ops.iter().any(|op| {
            matches!(op, Op::WrMsr(WrMsr { vp: 1, msr: m, value, .. })
                if *m == msr::SINT0 + 2 && *value == cleared)
        })
    });
    assert!(found, "no SINT2 write with the proxy bit flipped off");
    let s = Scenario {
        config,
        ops: vec![wr_sint(1, sintfuzz_model::Vtl::Vtl0, 5, proxy)],
    };
    let moved = mutants(Target::RelayLifecycle, &s, 3000).iter().any(|m| {
        m.ops.iter().any(
            |op| matches!(op, Op::WrMsr(WrMsr { msr: m, value, .. }) if *m == msr::SINT0 + 2 && *value == proxy.into_bits()),
        )
    });
    assert!(moved, "no SINT5 write moved to SINT2");
}

#[test]
fn operation_changes_insert_delete_and_reorder() {
    let w = witnesses()
        .into_iter()
        .find(|w| w.name == "proxy-bit-drops-relay-signal")
        .unwrap();
    let n = w.scenario.ops.len();
    let ms = mutants(w.target, &w.scenario, 2000);
    let longer = ms.iter().filter(|m| m.ops.len() == n + 1).count();
    let shorter = ms.iter().filter(|m| m.ops.len() + 1 == n).count();
    let reordered = ms
        .iter()
        .filter(|m| {
            m.ops.len() == n && m.ops != w.scenario.ops && {
                let (mut a, mut b) = (m.ops.clone(), w.scenario.ops.clone());
                a.sort_by_key(|o| format!("{o:?}"));
                b.sort_by_key(|o| format!("{o:?}"));
                a == b
            }
        })
        .count();
    assert!(longer > 200, "{longer}");
    assert!(shorter > 100, "{shorter}");
    assert!(reordered > 50, "{reordered}");
}

#[test]
fn crossover_splices_operations_of_both_inputs() {
    let all = seeds();
    let a = all.iter().find(|s| s.target == Target::AllOps).unwrap();
    let b = witnesses()
        .into_iter()
        .find(|w| w.name == "proxy-bit-drops-relay-signal")
        .unwrap();
    assert_eq!(b.scenario.config, a.scenario.config);
    let (ea, eb) = (
        encode(Target::AllOps, &a.scenario).unwrap(),
        encode(Target::AllOps, &b.scenario).unwrap(),
    );
    let mut mixed = 0;
    for seed in 0..500 {
        let mut out = vec![0u8; 2200];
        let len = crossover(Target::AllOps, &ea, &eb, &mut out, seed);
        out.truncate(len);
        let s = decode(Target::AllOps, &out);
        assert_eq!(encode(Target::AllOps, &s).unwrap(), out, "canonical");
        assert_eq!(s.config, a.scenario.config);
        // The same config: every operation is one of a's or b's, unchanged.
        for op in &s.ops {
            assert!(a.scenario.ops.contains(op) || b.scenario.ops.contains(op));
        }
        let from_b_only = s
            .ops
            .iter()
            .any(|op| !a.scenario.ops.contains(op) && b.scenario.ops.contains(op));
        mixed += from_b_only as u32;
    }
    assert!(mixed > 100, "{mixed}");
    // An output buffer too small for the config gives nothing.
    assert_eq!(crossover(Target::AllOps, &ea, &eb, &mut [0u8; 1], 1), 0);
}

/// A stand-in for libFuzzer's byte mutator: grows the input to the largest size it is
/// allowed, so the test sees the `max_size` the shipped mutator hands on.
fn grow_to_max(data: &mut [u8], _size: usize, max_size: usize) -> usize {
    data[..max_size].fill(1);
    max_size
}

#[test]
fn the_shipped_mutator_caps_outputs_at_the_longest_canonical_input() {
    let mut buf = vec![0u8; 4096];
    // libFuzzer's default max_len with an empty corpus is 4096: capped.
    assert_eq!(
        byte_mutate_capped(&mut buf, 10, 4096, grow_to_max),
        MAX_CANONICAL_LEN
    );
    // A smaller -max_len wins.
    assert_eq!(byte_mutate_capped(&mut buf, 10, 100, grow_to_max), 100);
    // An input already past the cap (a long seed) keeps libFuzzer's max_size: its
    // mutators cannot shrink it under the cap in one step.
    assert_eq!(
        byte_mutate_capped(&mut buf, MAX_CANONICAL_LEN + 1, 4096, grow_to_max),
        4096
    );
}
