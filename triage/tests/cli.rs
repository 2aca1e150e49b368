//! The `sintfuzz` binary end to end: exit codes, output contracts, bad input (one line,
//! exit 2, no panic, input files untouched), minimization, promotion and seeding.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sintfuzz_model::Revision;
use sintfuzz_targets::codec::{decode, encode};
use sintfuzz_targets::scenarios::{seeds, witnesses};
use sintfuzz_targets::{run, Invariant, InvariantSet, Outcome, Scenario, Settings, Target};
use sintfuzz_triage::findings::bucket::KnownList;
use sintfuzz_triage::findings::minimize::minimize;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn sintfuzz(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sintfuzz"))
        .args(args)
        .current_dir(cwd)
        .env_remove("SINTFUZZ_REVISION")
        .env_remove("SINTFUZZ_INVARIANTS")
        .env_remove("SINTFUZZ_LOG")
        .output()
        .expect("runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sintfuzz-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn witness(name: &str) -> (Target, Vec<u8>) {
    let w = witnesses().into_iter().find(|w| w.name == name).unwrap();
    (w.target, encode(w.target, &w.scenario).unwrap())
}

/// Asserts a one-line error on stderr, nothing that looks like a panic, and exit 2.
fn assert_usage_error(o: &Output, needle: &str) {
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
}

#[test]
fn listings() {
    let r = root();
    let o = sintfuzz(&["targets"], &r);
    assert!(o.status.success());
    for t in Target::ALL {
        assert!(text(&o.stdout).contains(t.name()));
    }
    let o = sintfuzz(&["revisions"], &r);
    assert_eq!(text(&o.stdout).lines().count(), 5);
    let o = sintfuzz(&["invariants"], &r);
    let out = text(&o.stdout);
    assert_eq!(out.lines().count(), Invariant::ALL.len());
    assert!(out.contains("lost-relay") && out.contains("strict") && out.contains("#1162"));
}

#[test]
fn repro_exit_codes_and_json() {
    let d = tmp("repro");
    let (t, bad) = witness("proxy-bit-drops-relay-signal");
    let crash = d.join("crash");
    std::fs::write(&crash, &bad).unwrap();
    let seed = seeds().into_iter().find(|s| s.target == t).unwrap();
    let clean = d.join("clean");
    std::fs::write(&clean, encode(t, &seed.scenario).unwrap()).unwrap();
    let (c, k) = (clean.to_str().unwrap(), crash.to_str().unwrap());
    let o = sintfuzz(&["repro", "--target", t.name(), c], &d);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o.stdout).contains("clean"));
    let o = sintfuzz(
        &[
            "repro",
            "--target",
            t.name(),
            "--revision",
            "proxy-bit",
            c,
            k,
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).contains("sintfuzz violation: lost-relay:"));
    // The revision can come from the environment, and a flag beats it.
    let o = Command::new(env!("CARGO_BIN_EXE_sintfuzz"))
        .args(["repro", "--target", t.name(), k])
        .env("SINTFUZZ_REVISION", "proxy-bit")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let o = sintfuzz(
        &[
            "repro",
            "--json",
            "--target",
            t.name(),
            "--revision",
            "proxy-bit",
            k,
        ],
        &d,
    );
    let v: serde_json::Value = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert_eq!(v["outcome"], "violation");
    assert_eq!(v["invariant"], "lost-relay");
    assert_eq!(v["revision"], "proxy-bit");
    assert_eq!(v["target"], "relay_lifecycle");
    assert_eq!(v["vector"], 0x30);
    assert_eq!(v["vp"], 0);
    assert_eq!(v["vtl"], 0);
    assert_eq!(v["step"], 4);
    for key in ["file", "detail"] {
        assert!(v[key].is_string(), "{key}");
    }
    let o = sintfuzz(&["repro", "--json", "--target", t.name(), c], &d);
    let v: serde_json::Value = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert_eq!(v["outcome"], "clean");
    assert!(v["invariant"].is_null());
}

/// 10 MiB of xorshift noise: past the input limit.
fn noise() -> Vec<u8> {
    let mut x = 0x1234_5678_u32;
    (0..10 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Long: a table of bad command lines, one case each, with the words each error names.
#[test]
fn bad_input_is_one_line_and_exit_2() {
    let d = tmp("bad");
    let empty = d.join("empty");
    std::fs::write(&empty, b"").unwrap();
    let big = d.join("big");
    let noise = noise();
    std::fs::write(&big, &noise).unwrap();
    let (t, bytes) = witness("proxy-bit-drops-relay-signal");
    let good = d.join("good");
    std::fs::write(&good, &bytes).unwrap();
    let g = good.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["repro", "--target", "relay_lifecycle", "/no/such/file"],
            "/no/such/file",
        ),
        (
            vec!["repro", "--target", "relay_lifecycle", d.to_str().unwrap()],
            "is a directory",
        ),
        (
            vec![
                "repro",
                "--target",
                "relay_lifecycle",
                empty.to_str().unwrap(),
            ],
            "empty input",
        ),
        (
            vec![
                "repro",
                "--target",
                "relay_lifecycle",
                big.to_str().unwrap(),
            ],
            "input limit",
        ),
        (
            vec!["repro", "--target", "nope", g],
            "unknown target 'nope'",
        ),
        (
            vec!["repro", "--target", t.name(), "--revision", "tip", g],
            "unknown revision 'tip'",
        ),
        (
            vec!["repro", "--target", t.name(), "--invariants", "lost-x", g],
            "unknown invariant 'lost-x'",
        ),
        (
            vec!["explain", "--target", t.name(), empty.to_str().unwrap()],
            "empty input",
        ),
        (
            vec!["minimize", "--target", t.name(), g, "-o", g],
            "refusing to overwrite",
        ),
        (
            vec![
                "minimize",
                "--target",
                t.name(),
                "--revision",
                "proposed",
                g,
                "-o",
                "/tmp/x",
            ],
            "nothing to minimize",
        ),
        (vec!["campaign", "--time", "0s"], "non-zero --time"),
        (
            vec!["campaign", "--targets", "nope", "--time", "1s"],
            "unknown target 'nope'",
        ),
        (
            vec!["campaign", "--time", "1s", "--out", "/proc/sintfuzz"],
            "not a writable output directory",
        ),
        (
            vec!["bucket", "--target", t.name(), "/no/such/dir"],
            "/no/such/dir",
        ),
    ];
    for (args, needle) in cases {
        let o = sintfuzz(&args, &root());
        assert_usage_error(&o, needle);
    }
    // A bad environment value is an error too, not a silent default.
    let o = Command::new(env!("CARGO_BIN_EXE_sintfuzz"))
        .args(["repro", "--target", t.name(), g])
        .env("SINTFUZZ_REVISION", "tip")
        .output()
        .unwrap();
    assert_usage_error(&o, "SINTFUZZ_REVISION");
    // No input file was touched.
    assert_eq!(std::fs::read(&good).unwrap(), bytes);
    assert_eq!(std::fs::read(&big).unwrap(), noise);
}

/// A crash buried in noise minimizes to a 1-minimal reproducer of the same invariant.
#[test]
fn minimize_is_one_minimal_and_keeps_the_invariant() {
    let settings = Settings {
        revision: Revision::ProxyBit,
        invariants: InvariantSet::default_set(),
    };
    let w = witnesses()
        .into_iter()
        .find(|w| w.name == "proxy-bit-drops-relay-signal")
        .unwrap();
    let noise = seeds()
        .into_iter()
        .find(|s| s.target == w.target && s.scenario.config == w.scenario.config)
        .unwrap();
    // Interleave the seed's benign life with the witness.
    let mut ops = Vec::new();
    for (i, op) in noise.scenario.ops.iter().enumerate() {
        ops.push(*op);
        if let Some(w) = w.scenario.ops.get(i) {
            ops.push(*w);
        }
    }
    ops.extend(w.scenario.ops.iter().copied());
    ops.truncate(64);
    let noisy = Scenario {
        config: w.scenario.config,
        ops,
    };
    let bytes = encode(w.target, &noisy).unwrap();
    let before = run(w.target, &bytes, &settings).violation().unwrap();
    let m = minimize(w.target, &bytes, &settings).unwrap();
    assert_eq!(m.violation.invariant, before.invariant);
    assert!(
        m.ops_after < m.ops_before,
        "{} -> {}",
        m.ops_before,
        m.ops_after
    );
    assert!(m.ops_after <= 6, "{} actions", m.ops_after);
    let s = decode(w.target, &m.bytes);
    assert_eq!(s, m.scenario);
    for i in 0..s.ops.len() {
        let mut fewer = s.clone();
        fewer.ops.remove(i);
        let b = encode(w.target, &fewer).unwrap();
        assert_ne!(
            run(w.target, &b, &settings)
                .violation()
                .map(|v| v.invariant),
            Some(before.invariant),
            "removing op {i} keeps the violation: not 1-minimal"
        );
    }
    // Through the CLI too, and the input file is left alone.
    let d = tmp("min");
    let f = d.join("crash");
    std::fs::write(&f, &bytes).unwrap();
    let out = d.join("min.bin");
    let o = sintfuzz(
        &[
            "minimize",
            "--target",
            w.target.name(),
            "--revision",
            "proxy-bit",
            f.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains(&format!("{} -> {} actions", m.ops_before, m.ops_after)));
    assert_eq!(std::fs::read(&out).unwrap(), m.bytes);
    assert_eq!(std::fs::read(&f).unwrap(), bytes);
}

#[test]
fn explain_shows_the_trace_and_the_filter_beside_the_entitlement() {
    let d = tmp("explain");
    let (t, bytes) = witness("set-vp-registers-sint2-stale-filter");
    let f = d.join("w");
    std::fs::write(&f, &bytes).unwrap();
    let o = sintfuzz(&["explain", "--target", t.name(), f.to_str().unwrap()], &d);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    for needle in [
        "revision head",
        "   0  guest vtl0 vp0: HvSetVpRegisters",
        "dropped 0x30 for vtl0 vp0: Blocked",
        "sintfuzz violation: lost-relay:",
        "guest entitlement (default) : {0x30}",
        "VP filter admits            : none",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
    // It leads with the root cause: the step where filter and entitlement parted.
    let lead: Vec<&str> = out.lines().take(5).collect();
    assert!(
        lead[2].starts_with(
            "root cause: lost sync-every-path too-closed SetVpRegister.sint (known SF-002 [open]"
        ),
        "{out}"
    );
    assert!(
        lead[3].starts_with(
            "divergence: vp0's filter began blocking 0x30 at step 0: guest vtl0 vp0: HvSetVpRegisters"
        ) && lead[3].contains("did not recompute the filter"),
        "{out}"
    );
    assert!(
        lead[4].starts_with("fix: proposed's `sync-every-path` applied to head"),
        "{out}"
    );
}

/// Every known finding's regression files minimize, on each listed revision where they
/// violate, to an input with the same root-cause signature, and that signature is the
/// finding's.
#[test]
fn known_findings_are_guarded_by_regressions() {
    let known = KnownList::load(&root().join("triage/known.toml")).unwrap();
    assert!(known.finding.len() >= 10);
    let mut ids = std::collections::BTreeSet::new();
    for k in &known.finding {
        assert!(
            ids.insert(k.id.clone()),
            "{} twice: one entry per root cause",
            k.id
        );
        for file in &k.regressions {
            let path = root().join(file);
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let target: Target = path
                .parent()
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str())
                .unwrap()
                .parse()
                .unwrap();
            for r in &k.revisions {
                let settings = Settings {
                    revision: r.parse().unwrap(),
                    invariants: InvariantSet::strict(),
                };
                if run(target, &data, &settings) == Outcome::Clean {
                    continue;
                }
                let m = minimize(target, &data, &settings)
                    .unwrap_or_else(|e| panic!("{} on {r}: {e}", k.id));
                let again = sintfuzz_targets::signature(
                    target,
                    settings.revision,
                    settings.invariants,
                    &m.bytes,
                );
                assert_eq!(again.as_ref(), Some(&m.signature), "{file} on {r}");
                assert!(
                    known.find(&m.signature, m.violation.invariant).is_some(),
                    "{file} on {r}: `{}` is not known",
                    m.signature
                );
            }
        }
    }
    for id in [
        "openvmm#563",
        "openvmm#1162",
        "openvmm#1275",
        "SF-001",
        "SF-002",
        "SF-003",
    ] {
        assert!(ids.contains(id), "{id} missing from known.toml");
    }
}

#[test]
fn seed_is_idempotent_and_promote_writes_a_regression() {
    // A scratch checkout: what `repo_root()` looks for.
    let d = tmp("root");
    std::fs::create_dir_all(d.join("triage")).unwrap();
    std::fs::create_dir_all(d.join("fuzz")).unwrap();
    std::fs::copy(
        root().join("triage/known.toml"),
        d.join("triage/known.toml"),
    )
    .unwrap();
    let o = sintfuzz(&["seed"], &d);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let first = text(&o.stdout);
    assert!(
        first.contains("changed") && !first.contains(" 0 changed"),
        "{first}"
    );
    let o = sintfuzz(&["seed"], &d);
    assert!(
        text(&o.stdout).contains(" 0 changed"),
        "{}",
        text(&o.stdout)
    );
    // The seeds written equal the checked-in corpus.
    for t in Target::ALL {
        let dir = root().join("corpus").join(t.name());
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = d.join("corpus").join(t.name()).join(e.file_name());
            assert_eq!(std::fs::read(p).unwrap(), std::fs::read(e.path()).unwrap());
        }
    }
    let (t, bytes) = witness("retarget-cross-vp-wake-window");
    let f = d.join("crash-1");
    std::fs::write(&f, &bytes).unwrap();
    let o = sintfuzz(
        &[
            "promote",
            "--target",
            t.name(),
            "--name",
            "wake",
            f.to_str().unwrap(),
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let bin = d.join("triage/regressions/proxy_filter/wake.bin");
    let sidecar = std::fs::read_to_string(bin.with_extension("toml")).unwrap();
    assert!(sidecar.contains("head = \"lost-device\""), "{sidecar}");
    assert!(sidecar.contains("proposed = \"clean\""), "{sidecar}");
    assert_eq!(std::fs::read(&f).unwrap(), bytes);
    let o = sintfuzz(
        &[
            "promote",
            "--target",
            t.name(),
            "--name",
            "../evil",
            f.to_str().unwrap(),
        ],
        &d,
    );
    assert_usage_error(&o, "invalid regression name");
}

#[test]
fn bucket_marks_known_and_new() {
    let d = tmp("bucket");
    let dir = d.join("relay_lifecycle").join("proxy-bit");
    std::fs::create_dir_all(&dir).unwrap();
    let (_, bytes) = witness("proxy-bit-drops-relay-signal");
    std::fs::write(dir.join("crash-a"), &bytes).unwrap();
    let o = sintfuzz(&["bucket", d.to_str().unwrap()], &root());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("[known openvmm#1162]"), "{out}");
    // Against an empty known list the same bucket is new.
    let empty = d.join("known.toml");
    std::fs::write(&empty, "").unwrap();
    let o = sintfuzz(
        &[
            "bucket",
            "--json",
            "--known",
            empty.to_str().unwrap(),
            d.to_str().unwrap(),
        ],
        &root(),
    );
    let v: serde_json::Value =
        serde_json::from_str(text(&o.stdout).lines().next().unwrap()).unwrap();
    assert!(v["known"].is_null());
    assert_eq!(
        v["signature"],
        "lost admission+wrmsr-trigger too-closed WrMsr.sint"
    );
    assert_eq!(v["label"]["invariant"], "lost-relay");
    assert_eq!(v["label"]["revision"], "proxy-bit");
    assert_eq!(o.status.code(), Some(1));
}

/// A campaign's crash directory (`OUT/crashes/<target>/<revision>/<engine>-<sha1>`) is
/// bucketed as it is; a directory with no crash file is an error, not "0 buckets".
#[test]
fn bucket_reads_a_campaigns_crash_directory_and_refuses_an_empty_one() {
    let d = tmp("bucket-campaign");
    let dir = d.join("crashes/relay_lifecycle/proxy-bit");
    std::fs::create_dir_all(&dir).unwrap();
    let (_, bytes) = witness("proxy-bit-drops-relay-signal");
    let name = format!("libfuzzer-{}", "ab".repeat(20));
    std::fs::write(dir.join(name), &bytes).unwrap();
    let o = sintfuzz(&["bucket", dir.to_str().unwrap()], &root());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("[known openvmm#1162]"));
    let empty = d.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = sintfuzz(&["bucket", empty.to_str().unwrap()], &root());
    assert_usage_error(&o, "no crash files");
}

/// A reader that goes away (`sintfuzz invariants | head -1`) ends the run quietly.
#[test]
fn closed_stdout_is_not_a_panic() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sintfuzz"))
        .args(["invariants"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    let err = text(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
}

/// The committed report of every open finding is what `sintfuzz report <id>` writes, and
/// the README's findings table links it.
#[test]
fn committed_reports_match_the_command() {
    use sintfuzz_triage::findings::finding;
    let known = KnownList::load(&root().join("triage/known.toml")).unwrap();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let open: Vec<_> = known
        .finding
        .iter()
        .filter(|k| k.status == "open")
        .collect();
    assert!(open.len() >= 5);
    for k in open {
        let rel = format!("{}/{}", finding::REPORTS_DIR, finding::file_name(&k.id));
        let committed = std::fs::read_to_string(root().join(&rel))
            .unwrap_or_else(|e| panic!("{rel}: {e}: run `sintfuzz report --all-open`"));
        let o = sintfuzz(&["report", &k.id], &root());
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        assert_eq!(
            text(&o.stdout),
            committed,
            "{rel} is stale: run `sintfuzz report --all-open`"
        );
        assert!(committed.contains("Signature: `"), "{rel}");
        assert!(
            readme.contains(&format!("]({rel})")),
            "README does not link {rel}"
        );
    }
    let o = sintfuzz(&["report", "SF-999"], &root());
    assert_usage_error(&o, "no known finding 'SF-999'");
}
