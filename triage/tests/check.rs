//! `sintfuzz check` end to end on a small bound: it finds a known defect on its revision
//! at the known witness's length, the witness replays as a canonical input file, the fix
//! is clean to the same bound, and bad input is a one-line error with exit 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sintfuzz_model::Revision;
use sintfuzz_targets::codec::decode;
use sintfuzz_targets::{run, Invariant, InvariantSet, Settings, Target};

fn check(args: &[&str], out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sintfuzz"))
        .arg("check")
        .args(args)
        .arg("--out")
        .arg(out)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .env_remove("SINTFUZZ_REVISION")
        .env_remove("SINTFUZZ_INVARIANTS")
        .output()
        .expect("runs")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sintfuzz-check-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// One SNP VP, no relay, no VTL1: SF-002's proxy-bit form (HvSetVpRegisters sets a proxy
/// SINT, the host signals it, the VP runs: 3 operations) is within reach of depth 3.
const SMALL: [&str; 8] = [
    "--targets",
    "proxy_filter",
    "--config",
    "relay=off,vtl1=off,isolation=snp",
    "--vps",
    "1",
    "--depth",
    "3",
];

#[test]
fn finds_a_known_defect_at_its_witness_length_and_the_witness_replays() {
    let out = tmp("head");
    let mut args = vec!["--revision", "head"];
    args.extend(SMALL);
    let o = check(&args, &out);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(
            "[SF-002] lost sync-every-path too-closed SetVpRegister.sint: 3 ops = known witness length"
        ),
        "{stdout}"
    );
    let file =
        out.join("proxy_filter/head-sf-002-lost-sync-every-path-too-closed-setvpregister-sint.bin");
    let data = std::fs::read(&file).expect("witness written");
    let s = decode(Target::ProxyFilter, &data);
    assert_eq!(s.ops.len(), 3);
    let head = Settings::default();
    let v = run(Target::ProxyFilter, &data, &head).violation().unwrap();
    assert_eq!(v.invariant, Invariant::LostProxySint);
    assert_eq!(v.step, 2);
    // The fix removes it.
    let proposed = Settings {
        revision: Revision::Proposed,
        invariants: InvariantSet::strict(),
    };
    assert!(run(Target::ProxyFilter, &data, &proposed)
        .violation()
        .is_none());
    assert!(stdout.contains("depth 3 complete"), "{stdout}");
}

#[test]
fn proposed_is_clean_to_the_same_bound() {
    let out = tmp("proposed");
    let mut args = vec!["--revision", "proposed", "--invariants", "strict"];
    args.extend(SMALL);
    let o = check(&args, &out);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("result: clean: no violation of strict on proposed up to depth 3"),
        "{stdout}"
    );
    assert!(!out.exists(), "a clean check writes no witness");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let out = tmp("bad");
    for (args, needle) in [
        (vec!["--revision", "proposed"], "--depth"),
        (
            vec![
                "--revision",
                "proposed",
                "--depth",
                "1",
                "--config",
                "relay=maybe",
            ],
            "unknown value 'maybe'",
        ),
        (
            vec!["--revision", "tip", "--depth", "1"],
            "unknown revision 'tip'",
        ),
        (
            vec!["--revision", "head", "--depth", "1", "--targets", "nope"],
            "unknown target 'nope'",
        ),
        (vec!["--revision", "head", "--depth", "0"], "0"),
        (
            vec!["--revision", "head", "--depth", "1", "--threads", "100000"],
            "100000",
        ),
        (
            vec!["--revision", "head", "--depth", "1", "--shard", "3/2"],
            "invalid shard '3/2'",
        ),
        (vec!["--merge", "/nonexistent/shard"], "/nonexistent/shard"),
    ] {
        let o = check(&args, &out);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
