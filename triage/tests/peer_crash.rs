//! A peer harness's crash whose scenario our format cannot express (an operation on VP
//! 255 before the violating one, more than 64 operations) is bucketed by the peer's own
//! replay as the known root cause it exhibits, not as clean; and `sintfuzz tte` counts it
//! as the defect's exposure. The crash bytes are written in the naive peer's own format
//! (`arbitrary`'s derive, as its libFuzzer target reads it), and the test first checks
//! that the peer reads back exactly the scenario meant.

mod common;
use common::{root, tte, write_script};

use std::path::PathBuf;

use sintfuzz_model::op::{RdMsr, RunVp};
use sintfuzz_model::{hvdef::msr, Config, Isolation, Op, Revision, VmbusEra, Vtl};
use sintfuzz_peers::Peer;
use sintfuzz_targets::scenarios::witnesses;
use sintfuzz_targets::{run_ops, InvariantSet, Settings, Target};
use sintfuzz_triage::findings::bucket::{bucket, Crash, KnownList};

/// `arbitrary`'s derived enum choice: variant `index` of `count` from a `u32`.
fn variant(out: &mut Vec<u8>, index: u64, count: u64) {
    let x = (index << 32).div_ceil(count);
    assert_eq!((x * count) >> 32, index);
    out.extend_from_slice(&(x as u32).to_le_bytes());
}

fn vtl(out: &mut Vec<u8>, v: Vtl) {
    variant(out, (v == Vtl::Vtl1) as u64, 2);
}

/// `naive::Input` bytes for `config` and `ops` (the kinds these tests use): the header
/// fields in declaration order, then per action a `true` byte, the variant of the 19 and
/// its fields (integers little-endian, bools one byte), and a `false` byte to end.
fn naive_bytes(config: Config, ops: &[Op]) -> Vec<u8> {
    let mut b = vec![
        config.vp_count,
        (config.isolation == Isolation::Tdx) as u8,
        config.tdx_offload as u8,
        config.vmbus_relay as u8,
        config.vtl1_enabled as u8,
        (config.era == VmbusEra::PreWin8) as u8,
        config.proxy_redirect as u8,
        config.guest_mirrors_sints as u8,
    ];
    for op in ops {
        b.push(1);
        match *op {
            Op::WrMsr(o) => {
                variant(&mut b, 0, 19);
                b.push(o.vp);
                vtl(&mut b, o.vtl);
                b.extend_from_slice(&o.msr.to_le_bytes());
                b.extend_from_slice(&o.value.to_le_bytes());
            }
            Op::RdMsr(o) => {
                variant(&mut b, 1, 19);
                b.push(o.vp);
                vtl(&mut b, o.vtl);
                b.extend_from_slice(&o.msr.to_le_bytes());
            }
            Op::Retarget(o) => {
                variant(&mut b, 4, 19);
                b.push(o.vp);
                vtl(&mut b, o.vtl);
                b.push(o.device);
                b.extend_from_slice(&o.vector.to_le_bytes());
                b.push(o.targets);
                for f in [
                    o.flaws.reserved_flags,
                    o.flaws.bad_processor_set,
                    o.flaws.not_msi,
                    o.flaws.multicast,
                ] {
                    b.push(f as u8);
                }
            }
            Op::RunVp(o) => {
                variant(&mut b, 18, 19);
                b.push(o.vp);
            }
            other => panic!("no naive encoding written for {other:?}"),
        }
    }
    b.push(0);
    let (c, o) = Peer::Naive.scenario(&b).expect("a naive input");
    assert_eq!((c, o.as_slice()), (config, ops), "the encoder is wrong");
    b
}

/// The witness `name`'s scenario with `prefix` before its operations.
fn witness_after(name: &str, prefix: &[Op]) -> (Config, Vec<Op>) {
    let w = witnesses()
        .into_iter()
        .find(|w| w.name == name)
        .expect("a witness");
    let mut ops = prefix.to_vec();
    ops.extend(w.scenario.ops);
    (w.scenario.config, ops)
}

fn settings(revision: Revision) -> Settings {
    Settings {
        revision,
        invariants: InvariantSet::parse("vtl2-crash").unwrap(),
    }
}

fn rdmsr_sint2() -> Op {
    Op::RdMsr(RdMsr {
        vp: 0,
        vtl: Vtl::Vtl0,
        msr: msr::SINT0 + 2,
    })
}

/// (name, revision, naive crash bytes, the known id it exhibits): a #1275 witness (VTL1
/// SINT write) after a RunVp on VP 255, and an SF-001 witness (VTL1 retarget) after 70
/// reads.
fn untranslatable() -> Vec<(&'static str, Revision, Vec<u8>, &'static str)> {
    let vp255 = [Op::RunVp(RunVp { vp: 255 })];
    let long = vec![rdmsr_sint2(); 70];
    let (c1, o1) = witness_after("vtl1-sint-write-asserts", &vp255);
    let (c2, o2) = witness_after("vtl1-retarget-asserts", &long);
    vec![
        (
            "vp255-1275",
            Revision::RelayAware,
            naive_bytes(c1, &o1),
            "openvmm#1275",
        ),
        ("long-sf001", Revision::Head, naive_bytes(c2, &o2), "SF-001"),
    ]
}

fn temp(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("sintfuzz-peer-crash-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn an_untranslatable_peer_crash_buckets_as_its_known_root_cause() {
    let known = KnownList::load(&root().join("triage/known.toml")).unwrap();
    let dir = temp("bucket");
    for (name, revision, bytes, id) in untranslatable() {
        let s = settings(revision);
        // The peer's scenario does violate, and our format cannot express it.
        let (config, ops) = Peer::Naive.scenario(&bytes).unwrap();
        assert!(run_ops(config, ops, &s).violation().is_some(), "{name}");
        assert!(Peer::Naive.canonical(&bytes, &s).is_err(), "{name}");
        let path = dir.join(format!("crash-{name}"));
        std::fs::write(&path, &bytes).unwrap();
        let crash = |peer| Crash {
            path: path.clone(),
            target: Target::AllOps,
            settings: s,
            peer,
        };
        // Replayed as an all_ops input, the raw bytes are no crash (what tte did).
        let raw = bucket(&[crash(None)], &known);
        assert_eq!(raw.clean, vec![path.clone()], "{name}");
        // Replayed as the peer's scenario: the known root cause.
        let b = bucket(&[crash(Some(Peer::Naive))], &known);
        assert!(b.clean.is_empty() && b.errors.is_empty(), "{name}: {b:?}");
        assert_eq!(b.buckets.len(), 1, "{name}");
        assert_eq!(b.buckets[0].known.as_deref(), Some(id), "{name}: {b:?}");
        assert_eq!(b.buckets[0].peer, Some(Peer::Naive));
        // Cut after the violating operation, not minimized.
        assert_eq!(b.buckets[0].ops_after, b.buckets[0].ops_before, "{name}");
        // The file is left as it was.
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `sintfuzz tte --harnesses naive` with a stand-in naive binary whose first run
/// "finds" `crash` (exiting 1 at it, as libFuzzer does): the trial must count it as the
/// defect's exposure, and keep the raw file.
fn tte_trial(name: &str, defect: &str, crash: &[u8]) -> (PathBuf, String) {
    let dir = temp(name);
    let bins = dir.join("bin");
    std::fs::create_dir_all(&bins).unwrap();
    let file = dir.join("crash.bin");
    std::fs::write(&file, crash).unwrap();
    let script = format!(
        r##"#!/bin/sh
art=
for a in "$@"; do case $a in -artifact_prefix=*) art=${{a#-artifact_prefix=}};; esac; done
case $art in */work/*) ;; *) exit 0 ;; esac
echo "#100	DONE   cov: 7 ft: 9 corp: 3/30b lim: 4 exec/s: 100 rss: 30Mb" >&2
if [ ! -e '{done}' ]; then : >'{done}'; cp '{file}' "${{art}}crash-1"; exit 1; fi
sleep 8
exit 0
"##,
        done = dir.join("done").display(),
        file = file.display()
    );
    write_script(&bins.join("naive"), &script);
    let rows = tte(
        &[
            "--harnesses",
            "naive",
            "--defects",
            defect,
            "--trials",
            "1",
            "--budget",
            "8s",
        ],
        &bins,
        &dir.join("out"),
        &[],
    );
    let row = rows.lines().nth(1).expect("one trial row").to_string();
    (dir, row)
}

#[test]
fn tte_counts_an_untranslatable_peer_crash_as_the_exposure() {
    for (name, _, bytes, _) in untranslatable() {
        let defect = if name.ends_with("1275") {
            "1275"
        } else {
            "SF-001"
        };
        let (dir, row) = tte_trial(name, defect, &bytes);
        let cols: Vec<&str> = row.split('\t').collect();
        assert_eq!(cols[6], "hit", "{name}: {row}");
        // Not minimized: no witness length is reported for it.
        assert_eq!(cols[12], "-", "{name}: {row}");
        assert!(!dir.join("out/unexplained").exists(), "{name}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
