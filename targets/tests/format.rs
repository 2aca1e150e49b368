//! The fixed tag rule (`targets/src/codec.rs` module docs): appending a kind to a target
//! never changes how an existing input decodes, and stored raw v1 inputs keep their
//! meaning. Appended kinds are simulated with test-only extended tables.

use sintfuzz_model::op::{HostAssert, Retarget, RunVp};
use std::path::{Path, PathBuf};

use sintfuzz_model::{Config, Op, ProxyAssert, RetargetFlaws, VectorSet, Vtl};
use sintfuzz_targets::codec::{
    decode, decode_with, encode, encode_with, Kind, KindTable, ESCAPE, MAX_CANONICAL_LEN,
};
use sintfuzz_targets::files::{list, read_input, CORPUS_DIR, REGRESSIONS_DIR};
use sintfuzz_targets::rng::SplitMix64;
use sintfuzz_targets::{Scenario, Target};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// `(target, raw, canonical v1 bytes if the v1 meaning is kept)`.
fn stored_raw_inputs() -> Vec<(Target, Vec<u8>, Option<Vec<u8>>)> {
    let text = std::fs::read_to_string(root().join("targets/tests/data/raw-inputs.txt")).unwrap();
    let rows: Vec<_> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            assert_eq!(f.len(), 3, "{l}");
            let canonical = (f[2] != "-").then(|| unhex(f[2]));
            (f[0].parse().unwrap(), unhex(f[1]), canonical)
        })
        .collect();
    assert!(rows.len() >= 150, "{} rows", rows.len());
    rows
}

/// The kind tables at each target's creation, copied by hand (v1: commit 8c71d9c;
/// `all_ops`: format v2): the prefix every table keeps. Long: a table, one list per
/// target.
fn v1_kinds(target: Target) -> Vec<Kind> {
    use Kind::*;
    match target {
        Target::SynicMsr => vec![
            RunVp,
            WrMsrRaw,
            RdMsr,
            SetVpRegRaw,
            UntrustedWrMsrRaw,
            WrSint,
            SetVpRegSint,
            WrScontrol,
            HostAssertSingle,
            HostAssertWindow,
            HostSignalSint,
            SetApic,
            GuestAck,
        ],
        Target::ProxyFilter => vec![
            RunVp,
            WrSint,
            SetVpRegSint,
            UntrustedSint,
            WrScontrol,
            Retarget,
            SetApic,
            GuestAck,
            HostSignalSint,
            HostDeviceInterrupt,
            HostAssertSingle,
            HostAssertWindow,
            HostAssertFull,
            WrVmbusSint,
        ],
        Target::RelayLifecycle => vec![
            RunVp,
            WrSint,
            SetVpRegSint,
            UntrustedSint,
            WrScontrol,
            Retarget,
            SetApic,
            GuestAck,
            HostOffer,
            OpenChannel,
            CloseChannel,
            ModifyChannel,
            ModifyConnection,
            HostSignalChannel,
            HostSignalSint,
            HostDeviceInterrupt,
            WrVmbusSint,
        ],
        Target::AllOps => vec![
            RunVp,
            WrSint,
            SetVpRegSint,
            UntrustedSint,
            WrScontrol,
            Retarget,
            SetApic,
            GuestAck,
            HostOffer,
            OpenChannel,
            CloseChannel,
            ModifyChannel,
            ModifyConnection,
            HostSignalChannel,
            HostSignalSint,
            HostDeviceInterrupt,
            WrVmbusSint,
            HostAssertSingle,
            HostAssertWindow,
            HostAssertFull,
            WrMsrRaw,
            RdMsr,
            SetVpRegRaw,
            UntrustedWrMsrRaw,
        ],
    }
}

#[test]
fn tables_keep_a_frozen_aliased_prefix() {
    for target in Target::ALL {
        let table = target.table();
        assert!(table.is_valid(), "{target}");
        let v1 = v1_kinds(target);
        assert_eq!(table.aliased, v1.len(), "{target}: `aliased` never changes");
        assert_eq!(
            &table.kinds[..v1.len()],
            &v1[..],
            "{target}: kinds are only appended"
        );
    }
}

/// What a v1 decoder saw: bits it ignored then (config bits 5-7, which now choose the
/// issue-9 axes, and the retarget flags' bit 3, now `multicast`) at their v1 value.
fn v1_view(mut s: Scenario) -> Scenario {
    let d = Config::default();
    s.config.proxy_redirect = d.proxy_redirect;
    s.config.guest_mirrors_sints = d.guest_mirrors_sints;
    for op in &mut s.ops {
        if let Op::Retarget(r) = op {
            r.flaws.multicast = false;
        }
    }
    s
}

#[test]
fn stored_raw_v1_inputs_keep_their_meaning() {
    let mut kept = 0;
    for (target, raw, canonical) in stored_raw_inputs() {
        let Some(canonical) = canonical else { continue };
        let s = decode(target, &raw);
        assert_eq!(
            v1_view(s.clone()),
            decode(target, &canonical),
            "{target} {raw:02x?}"
        );
        if v1_view(s.clone()) != s {
            // It uses a bit v1 ignored: its canonical form is a new one.
            continue;
        }
        assert_eq!(
            encode(target, &s).unwrap(),
            canonical,
            "{target} {raw:02x?}"
        );
        kept += 1;
    }
    assert!(kept >= 20, "{kept}");
}

/// `table` with `extra` appended, as a future version would have it.
fn extended(table: KindTable, extra: &[Kind]) -> KindTable {
    let kinds: Vec<Kind> = table.kinds.iter().chain(extra).copied().collect();
    KindTable {
        kinds: Vec::leak(kinds),
        aliased: table.aliased,
    }
}

/// Kinds the target lacks (so `encode` picks the appended slot), then fillers.
fn extra_kinds(target: Target, n: usize) -> Vec<Kind> {
    let all: Vec<Kind> = Target::ALL
        .iter()
        .flat_map(|t| t.kinds())
        .copied()
        .collect();
    let missing = all.iter().filter(|k| !target.kinds().contains(k));
    missing.chain(all.iter().cycle()).take(n).copied().collect()
}

fn checked_in(target: Target) -> Vec<Vec<u8>> {
    [CORPUS_DIR, REGRESSIONS_DIR]
        .iter()
        .flat_map(|d| list(&root().join(d), target, "bin").unwrap())
        .map(|f| read_input(&f).unwrap())
        .collect()
}

#[test]
fn appending_kinds_changes_no_decoded_operation() {
    let stored = stored_raw_inputs();
    let mut rng = SplitMix64(0xadd_c0de);
    let mut grew = 0;
    for target in Target::ALL {
        let table = target.table();
        let files = checked_in(target);
        assert!(!files.is_empty(), "{target}");
        for n in [1, 3, 256 - (table.kinds.len() - table.aliased)] {
            let ext = extended(table, &extra_kinds(target, n));
            assert!(ext.is_valid());
            for data in &files {
                let old = decode_with(table, data);
                assert_eq!(
                    decode_with(ext, data),
                    old,
                    "{target} +{n}: checked-in file"
                );
                assert_eq!(encode_with(ext, &old), encode_with(table, &old));
            }
            let random = (0..500).map(|_| (rng.input(), None));
            let rows = stored
                .iter()
                .filter(|r| r.0 == target)
                .map(|r| (r.1.clone(), r.2.clone()));
            for (raw, v1) in rows.chain(random) {
                let old = decode_with(table, &raw);
                let new = decode_with(ext, &raw);
                assert_eq!(new.config, old.config);
                // Old operations stay; only an input that ended at a reserved slot may
                // go on.
                assert_eq!(&new.ops[..old.ops.len()], &old.ops[..], "{target} +{n}");
                if v1.is_some() {
                    assert_eq!(new, old, "{target} +{n}: v1 raw input");
                }
                if new.ops.len() > old.ops.len() {
                    assert!(raw.contains(&ESCAPE));
                    grew += 1;
                }
            }
        }
    }
    // With every slot filled, the escaped rows do decode further (guards the test).
    assert!(grew >= 30, "{grew}");
}

#[test]
fn appended_kinds_use_the_escape_and_round_trip() {
    let config = Config::default();
    let retarget = Op::Retarget(Retarget {
        vp: 0,
        vtl: Vtl::Vtl0,
        device: 1,
        vector: 0x30,
        targets: 1,
        flaws: RetargetFlaws::default(),
    });
    let assert_full = Op::HostAssert(HostAssert {
        vp: 0,
        assert: ProxyAssert::Multi(VectorSet([!0; 8])),
    });
    let table = Target::SynicMsr.table();
    assert!(!table.kinds.contains(&Kind::Retarget));
    let ext = extended(
        table,
        &[Kind::HostOffer, Kind::Retarget, Kind::HostAssertFull],
    );
    let s = Scenario {
        config,
        ops: vec![
            Op::RunVp(RunVp { vp: 0 }),
            retarget,
            Op::RunVp(RunVp { vp: 0 }),
        ],
    };
    let bytes = encode_with(ext, &s).unwrap();
    // config, RunVp, escape + Retarget's slot (after the kinds already appended and
    // HostOffer), fields, RunVp.
    let slot = (table.kinds.len() - table.aliased + 1) as u8;
    assert_eq!(&bytes[..6], &[0, 0, 0, 0, ESCAPE, slot]);
    assert_eq!(decode_with(ext, &bytes), s);
    // The table without the kind stops at its reserved slot: a prefix, no guess.
    assert_eq!(decode_with(table, &bytes).ops, s.ops[..1]);
    assert!(encode(Target::SynicMsr, &s).is_err());
    // An escaped kind's tag takes one byte more.
    let wide = Scenario {
        config,
        ops: vec![assert_full; 64],
    };
    let ext = extended(table, &[Kind::HostAssertFull]);
    let bytes = encode_with(ext, &wide).unwrap();
    assert_eq!(
        bytes[2], ESCAPE,
        "the aliased HostAssertWindow cannot hold it"
    );
    let escaped = extended(
        KindTable {
            kinds: &[Kind::RunVp],
            aliased: 1,
        },
        &[Kind::HostAssertFull],
    );
    let bytes = encode_with(escaped, &wide).unwrap();
    assert_eq!(bytes.len(), MAX_CANONICAL_LEN + 64);
    assert_eq!(decode_with(escaped, &bytes), wide);
}

#[test]
fn all_ops_draws_every_kind_of_every_target() {
    let all = Target::AllOps.kinds();
    for target in Target::ALL {
        for kind in target.kinds() {
            assert!(
                all.contains(kind),
                "{target}: {kind:?} missing from all_ops"
            );
        }
    }
    let mut sorted = all.to_vec();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), all.len(), "all_ops lists a kind twice");
}
