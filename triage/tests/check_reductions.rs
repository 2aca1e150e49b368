//! `sintfuzz check`'s reductions and parallel search against the plain search, on bounds
//! where both finish, for every revision: VP symmetry keeps the verdict and the root
//! causes, each with a witness of the same (shortest) length; partial-order reduction
//! keeps the very states and witnesses; the last level's verdict memo keeps the states
//! and the root causes at their lengths; the same witnesses whatever the number of threads;
//! and shards merged into the verdict of one unsharded run.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use sintfuzz_model::Revision;
use sintfuzz_targets::codec::decode;
use sintfuzz_targets::Target;

/// Two VP-symmetric scopes (two VPs, no #384 redirection) and their one-VP twins, one
/// with the relay (channels, #1162's ground), one without but with VTL1 (#1275's and
/// SF-001's), each with a depth a debug build explores in seconds.
const SCOPES: [(&str, &str); 2] = [
    (
        "isolation=snp,relay=on,era=modern,vtl1=off,redirect=off,mirror=on",
        "3",
    ),
    (
        "isolation=tdx-offload,relay=off,vtl1=on,redirect=off,mirror=off",
        "2",
    ),
];

/// A run's result: exit code, then (shard result JSON) its figures and root causes.
struct Run {
    code: i32,
    states: u64,
    transitions: u64,
    /// root cause -> (witness length, witness hex)
    causes: BTreeMap<String, (usize, String)>,
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sintfuzz-reduce-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn sintfuzz(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sintfuzz"))
        .arg("check")
        .args(args)
        .args(["--progress", "600"])
        .current_dir(common::root())
        .output()
        .expect("runs")
}

fn read(out: &Path, code: i32) -> Run {
    let text = std::fs::read_to_string(out.join("result.json")).expect("result.json");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut causes = BTreeMap::new();
    for g in v["groups"].as_array().unwrap() {
        let hex = g["witness"].as_str().unwrap();
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let target: Target = g["target"].as_str().unwrap().parse().unwrap();
        let len = decode(target, &bytes).ops.len();
        causes.insert(
            g["key"].as_str().unwrap().to_string(),
            (len, hex.to_string()),
        );
    }
    Run {
        code,
        states: v["states"].as_u64().unwrap(),
        transitions: v["transitions"].as_u64().unwrap(),
        causes,
    }
}

/// `sintfuzz check` on one scope as `shard` (so it writes OUT/result.json); exit 0 or 1.
fn check_shard(
    revision: Revision,
    (scope, depth): (&str, &str),
    shard: &str,
    out: &Path,
    extra: &[&str],
) -> i32 {
    let mut args = vec![
        "--revision",
        revision.name(),
        "--invariants",
        "strict",
        "--depth",
        depth,
        "--config",
        scope,
        "--shard",
        shard,
        "--out",
        out.to_str().unwrap(),
    ];
    if !extra.contains(&"--vps") {
        args.extend(["--vps", "2"]);
    }
    args.extend(extra);
    let r = sintfuzz(&args);
    let code = r.status.code().unwrap();
    assert!(
        code == 0 || code == 1,
        "{args:?}: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    code
}

/// One unsharded run (shard 1/1) and its result.
fn check(revision: Revision, scope: (&str, &str), extra: &[&str], name: &str) -> Run {
    let out = tmp(name);
    let code = check_shard(revision, scope, "1/1", &out, extra);
    let run = read(&out, code);
    let _ = std::fs::remove_dir_all(&out);
    run
}

/// Root cause -> witness length.
fn lengths(run: &Run) -> BTreeMap<String, usize> {
    run.causes.iter().map(|(k, v)| (k.clone(), v.0)).collect()
}

#[test]
fn reductions_keep_every_root_cause_at_its_shortest_length_on_every_revision() {
    let mut found = 0;
    let (mut sym_saved, mut por_saved, mut memo_saved) = (false, false, false);
    for (s, &scope) in SCOPES.iter().enumerate() {
        for r in Revision::ALL {
            let plain = check(
                r,
                scope,
                &["--no-symmetry", "--no-por", "--no-memo"],
                &format!("plain-{s}-{r}"),
            );
            let sym = check(
                r,
                scope,
                &["--no-por", "--no-memo"],
                &format!("sym-{s}-{r}"),
            );
            let both = check(r, scope, &["--no-memo"], &format!("both-{s}-{r}"));
            let all = check(r, scope, &[], &format!("all-{s}-{r}"));
            // VP symmetry: the same verdict and root causes, each as short.
            assert_eq!(sym.code, plain.code, "{r} {scope:?}");
            assert_eq!(lengths(&sym), lengths(&plain), "{r} {scope:?}");
            assert!(sym.states <= plain.states && sym.transitions <= plain.transitions);
            sym_saved |= sym.transitions < plain.transitions;
            // Partial-order reduction keeps the very same states and witnesses (see
            // check/por.rs), with fewer transitions.
            assert_eq!(
                (both.code, both.states, &both.causes),
                (sym.code, sym.states, &sym.causes),
                "{r} {scope:?}"
            );
            assert!(both.transitions <= sym.transitions);
            por_saved |= both.transitions < sym.transitions;
            // The last level's verdict memo (check/memo.rs) keeps the stored states, the
            // verdict and the root causes, each as short, with fewer transitions.
            assert_eq!(
                (all.code, all.states, lengths(&all)),
                (both.code, both.states, lengths(&both)),
                "{r} {scope:?}"
            );
            assert!(all.transitions <= both.transitions);
            memo_saved |= all.transitions < both.transitions;
            found += plain.causes.len();
        }
    }
    // The comparison means something: root causes were found and work was saved.
    assert!(found > 0);
    assert!(sym_saved && por_saved && memo_saved);
}

/// Scopes of the `medium` domain, where the value symmetry applies (0x30 <-> 0x31): one
/// VP with the relay, at depth 3 (a witness of 3 operations can name both vectors), and
/// two VPs with VTL1 at depth 2 (the VP swap, the value swap and their product at once).
const MEDIUM_SCOPES: [(&str, &str, &str); 2] = [
    (
        "isolation=snp,relay=on,era=modern,vtl1=off,redirect=off,mirror=on",
        "3",
        "1",
    ),
    (
        "isolation=tdx-offload,relay=off,vtl1=on,redirect=off,mirror=off",
        "2",
        "2",
    ),
];

#[test]
fn value_symmetry_keeps_every_root_cause_at_its_shortest_length_on_every_revision() {
    let (mut found, mut saved) = (0, false);
    for (s, &(scope, depth, vps)) in MEDIUM_SCOPES.iter().enumerate() {
        let medium = ["--domain", "medium", "--vps", vps];
        for r in Revision::ALL {
            let run = |extra: &[&str], name: &str| {
                let args: Vec<&str> = medium.iter().chain(extra).copied().collect();
                check(r, (scope, depth), &args, &format!("{name}-{s}-{r}"))
            };
            let plain = run(
                &[
                    "--no-symmetry",
                    "--no-por",
                    "--no-value-symmetry",
                    "--no-memo",
                ],
                "vplain",
            );
            let without = run(&["--no-value-symmetry"], "vwithout");
            let with = run(&[], "vwith");
            // The same verdict and root causes as the unreduced search, each as short.
            assert_eq!(with.code, plain.code, "{r} {scope:?}");
            assert_eq!(lengths(&with), lengths(&plain), "{r} {scope:?}");
            assert_eq!(lengths(&without), lengths(&plain), "{r} {scope:?}");
            assert!(with.states <= without.states && with.transitions <= without.transitions);
            saved |= with.transitions < without.transitions && with.states < without.states;
            found += plain.causes.len();
        }
    }
    // The comparison means something: root causes were found and work was saved.
    assert!(found > 0 && saved, "{found} {saved}");
}

#[test]
fn the_same_witnesses_whatever_the_number_of_threads() {
    let r = Revision::ProxyBit;
    let one = check(r, SCOPES[0], &["--threads", "1"], "t1");
    let two = check(r, SCOPES[0], &["--threads", "2"], "t2");
    let three = check(r, SCOPES[0], &["--threads", "3"], "t3");
    assert!(!one.causes.is_empty());
    for other in [&two, &three] {
        assert_eq!(other.causes, one.causes);
        assert_eq!(
            (other.code, other.states, other.transitions),
            (one.code, one.states, one.transitions)
        );
    }
}

#[test]
fn merged_shards_give_the_unsharded_verdict_and_root_causes() {
    for (r, (scope, depth)) in [
        (Revision::ProxyBit, SCOPES[0]),
        (Revision::Head, SCOPES[1]),
        (Revision::Proposed, SCOPES[1]),
    ] {
        let whole = check(r, (scope, depth), &[], &format!("whole-{r}"));
        let dirs: Vec<PathBuf> = (1..=3).map(|i| tmp(&format!("shard-{r}-{i}"))).collect();
        for (i, dir) in dirs.iter().enumerate() {
            check_shard(r, (scope, depth), &format!("{}/3", i + 1), dir, &[]);
        }
        let merged_out = tmp(&format!("merged-{r}"));
        let mut args = vec!["--out", merged_out.to_str().unwrap(), "--merge"];
        args.extend(dirs.iter().map(|d| d.to_str().unwrap()));
        let o = sintfuzz(&args);
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(whole.code), "{r}: {stdout}");
        // Every root cause once, with the witness the unsharded run wrote.
        for (key, (len, _)) in &whole.causes {
            assert_eq!(
                stdout.matches(&format!("] {key}: {len} ops")).count(),
                1,
                "{r} {key}: {stdout}"
            );
        }
        assert_eq!(
            stdout.matches("known.toml").count(),
            whole.causes.len(),
            "{stdout}"
        );
        let sum: u64 = dirs.iter().map(|d| read(d, 0).states).sum();
        assert_eq!(
            sum, whole.states,
            "shards split the roots, and roots share no state"
        );
        // A missing shard is an error, not a verdict.
        let o = sintfuzz(&[
            "--out",
            merged_out.to_str().unwrap(),
            "--merge",
            dirs[0].to_str().unwrap(),
            dirs[2].to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("shard 2/3 is missing"), "{err}");
        for d in dirs.iter().chain([&merged_out]) {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}
