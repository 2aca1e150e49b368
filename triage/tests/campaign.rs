//! `sintfuzz campaign` end to end without a real engine: stand-in libFuzzer binaries
//! (shell scripts taking libFuzzer's command line) given with `--bin-dir`, so the tests
//! check the campaign's own logic: exit 2 for a missing engine or zero executions, the
//! persistent corpus and bucket history across two runs, and the report.

mod common;
use common::{root, witness_1162};

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sintfuzz-camp-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn campaign(args: &[&str], envs: &[(&str, &Path)]) -> Output {
    campaign_cmd(args, envs, &root()).output().expect("runs")
}

/// `sintfuzz campaign ARGS` from `cwd`, with a clean seed as `$FAKE_INPUT` and `envs`.
fn campaign_cmd(args: &[&str], envs: &[(&str, &Path)], cwd: &Path) -> Command {
    let seed = std::fs::read_dir(root().join("corpus/relay_lifecycle"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .min()
        .unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_sintfuzz"));
    c.env("FAKE_INPUT", seed);
    c.arg("campaign")
        .args(args)
        .current_dir(cwd)
        .env_remove("SINTFUZZ_REVISION")
        .env_remove("SINTFUZZ_INVARIANTS");
    for (k, v) in envs {
        c.env(k, v);
    }
    c
}

/// A stand-in libFuzzer: adds a copy of `$FAKE_INPUT` (a clean seed) to its corpus
/// directory under a new name, prints a status line
/// with `execs` executions, and on its first round copies `$FAKE_CRASH` (if set) to a
/// crash file and exits 1, as libFuzzer does at a crash.
fn fake_libfuzzer(dir: &Path, target: &str, execs: u64) {
    let script = format!(
        r##"#!/bin/sh
corpus=$1; shift
# As libFuzzer: the corpus directory is taken relative to the engine's working directory.
[ -d "$corpus" ] || {{ echo "ERROR: The required directory \"$corpus\" does not exist" >&2; exit 1; }}
art=
for a in "$@"; do case $a in -artifact_prefix=*) art=${{a#-artifact_prefix=}};; esac; done
[ -n "$FAKE_INPUT" ] && cp "$FAKE_INPUT" "$corpus/fake-$$"
echo "#{execs}	DONE   cov: 7 ft: 9 corp: 3/30b lim: 4 exec/s: {execs} rss: 30Mb" >&2
case $art in
*round-0*) if [ -n "$FAKE_CRASH" ]; then cp "$FAKE_CRASH" "${{art}}crash-1"; exit 1; fi ;;
esac
exit 0
"##
    );
    let p = dir.join(target);
    std::fs::write(&p, script).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn report(out: &Path) -> (String, serde_json::Value) {
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md written");
    let json =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    (md, json)
}

const BASE: [&str; 8] = [
    "--engine",
    "libfuzzer",
    "--targets",
    "relay_lifecycle",
    "--revision",
    "proxy-bit",
    "--time",
    "2s",
];

/// [`BASE`] with `--bin-dir BINS --out OUT`.
fn with_dirs<'a>(bins: &'a Path, out: &'a Path) -> Vec<&'a str> {
    let mut args = BASE.to_vec();
    args.extend([
        "--bin-dir",
        bins.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    args
}

#[test]
fn a_missing_engine_binary_exits_2_with_a_report() {
    let bins = tmp("missing-bins");
    let out = tmp("missing-out");
    let args = with_dirs(&bins, &out);
    let o = campaign(&args, &[]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (md, json) = report(&out);
    assert!(md.contains("no such engine binary"), "{md}");
    assert_eq!(json["exit_code"], 2);
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&bins);
}

#[test]
fn zero_executions_exit_2() {
    let bins = tmp("zero-bins");
    let out = tmp("zero-out");
    fake_libfuzzer(&bins, "relay_lifecycle", 0);
    let args = with_dirs(&bins, &out);
    let o = campaign(&args, &[]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (md, _) = report(&out);
    assert!(md.contains("zero executions"), "{md}");
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&bins);
}

/// Two campaigns in a row with one `--out`: the second resumes the first's corpus and
/// marks which buckets are new since the first; `--fresh` starts over.
/// The campaign's summary line (stdout) contains `text`.
fn summary_says(o: &std::process::Output, text: &str) {
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains(text), "{stdout}");
}

#[test]
fn the_second_run_resumes_and_knows_the_first() {
    let bins = tmp("resume-bins");
    let out = tmp("resume-out");
    fake_libfuzzer(&bins, "relay_lifecycle", 5000);
    // A #1162 witness as the crash the stand-in engine "finds".
    let crash = witness_1162();
    let args = with_dirs(&bins, &out);
    let seeds = std::fs::read_dir(root().join("corpus/relay_lifecycle"))
        .unwrap()
        .count();

    // First run, no crash: the seeds go into the persistent corpus, the engine adds one.
    let o = campaign(&args, &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (md, json) = report(&out);
    assert!(md.contains("First run in this output directory"), "{md}");
    summary_says(
        &o,
        "0 bucket(s), 0 new, first run in this output directory,",
    );
    let c = &json["corpora"][0];
    assert_eq!(c["resumed"], 0);
    assert_eq!(c["seeds_added"].as_u64().unwrap() as usize, seeds);
    let end1 = c["end"].as_u64().unwrap();
    assert!(end1 as usize > seeds, "the engine's input is kept: {c}");
    assert_eq!(json["buckets"].as_array().unwrap().len(), 0);
    assert!(json["samples"].as_array().is_some_and(|s| !s.is_empty()));

    // Second run, same --out: resumes that corpus; #1162 (fixed upstream: exit 1) is new
    // since the previous run.
    let o = campaign(&args, &[("FAKE_CRASH", &crash)]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (md, json) = report(&out);
    assert!(md.contains("Previous run in this output directory"), "{md}");
    summary_says(&o, "1 bucket(s), 0 new, 1 new since the previous run,");
    assert_eq!(json["corpora"][0]["resumed"].as_u64().unwrap(), end1);
    assert_eq!(json["corpora"][0]["seeds_added"], 0);
    assert_eq!(json["buckets"].as_array().unwrap().len(), 1);
    let b = &json["buckets"][0];
    assert_eq!(b["known"], "openvmm#1162");
    assert_eq!(b["new_since_previous"], true);
    assert_eq!(b["runs"], 1);
    assert!(md.contains("new since the previous run"), "{md}");
    // The semantic table of the final corpus is in the report.
    assert!(md.contains("## Semantic coverage"), "{md}");
    assert!(md.contains("| op×result | "), "{md}");

    // Third run finds it again: not new since the previous runs, seen in 2 runs.
    let o = campaign(&args, &[("FAKE_CRASH", &crash)]);
    assert_eq!(o.status.code(), Some(1));
    let (_, json) = report(&out);
    let b = &json["buckets"][0];
    assert_eq!(b["new_since_previous"], false);
    assert_eq!(b["runs"], 2);
    assert_eq!(b["count"], 2, "one crash file per run (the same bytes)");
    assert!(b["first_seen"].as_u64() <= b["last_seen"].as_u64());

    fresh_forgets_both(&args, &out, &crash);
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&bins);
}

/// `--fresh` forgets the corpus and the bucket history of `out`: a first run again.
fn fresh_forgets_both(args: &[&str], out: &Path, crash: &Path) {
    let mut fresh = args.to_vec();
    fresh.push("--fresh");
    let o = campaign(&fresh, &[("FAKE_CRASH", crash)]);
    assert_eq!(o.status.code(), Some(1));
    let (md, json) = report(out);
    assert!(md.contains("First run in this output directory"), "{md}");
    summary_says(
        &o,
        "1 bucket(s), 0 new, first run in this output directory,",
    );
    assert_eq!(json["corpora"][0]["resumed"], 0);
    assert_eq!(json["buckets"][0]["runs"], 1);
}

/// `sintfuzz cover --semantic-only` needs no toolchain component: the table of what the
/// seeds reach.
#[test]
fn cover_semantic_only() {
    let out = tmp("cover");
    let o = Command::new(env!("CARGO_BIN_EXE_sintfuzz"))
        .args([
            "cover",
            "--semantic-only",
            "--target",
            "relay_lifecycle",
            "--out",
        ])
        .arg(&out)
        .arg(root().join("corpus/relay_lifecycle"))
        .current_dir(root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("| filter | "), "{stdout}");
    assert!(stdout.contains("| outcome | clean |"), "{stdout}");
    assert!(out.join("semantic.md").is_file());
    let _ = std::fs::remove_dir_all(&out);
}

/// An input that violates and lands in the corpus during a run (an engine that masked
/// the invariant keeps such inputs) is moved to the crashes and bucketed before the
/// end-of-run minimization, whose merge would drop it.
#[test]
fn a_violating_corpus_input_is_a_crash_not_lost_to_cmin() {
    let bins = tmp("sweep-bins");
    let out = tmp("sweep-out");
    fake_libfuzzer(&bins, "relay_lifecycle", 5000);
    let witness = witness_1162();
    let args = with_dirs(&bins, &out);
    // The stand-in engine puts the witness into its corpus and exits 0, no crash file.
    let o = campaign(&args, &[("FAKE_INPUT", &witness)]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (_, json) = report(&out);
    let buckets = json["buckets"].as_array().unwrap();
    assert!(
        buckets.iter().any(|b| b["known"] == "openvmm#1162"),
        "{buckets:?}"
    );
    assert_eq!(json["corpora"][0]["moved_to_crashes"], 1);
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&bins);
}

/// The output and binary directories are given relative to the caller's working
/// directory, which is not the repository, and the engine runs in yet another one: the
/// campaign hands it absolute paths (a relative `--out` failed with libFuzzer's "The
/// required directory ... does not exist").
#[test]
fn relative_paths_from_another_directory_work() {
    let cwd = tmp("relative-cwd");
    let mut args = BASE.to_vec();
    args.extend(["--bin-dir", "bins", "--out", "out"]);
    std::fs::create_dir_all(cwd.join("bins")).unwrap();
    fake_libfuzzer(&cwd.join("bins"), "relay_lifecycle", 5000);
    let o = campaign_cmd(&args, &[], &cwd).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (_, json) = report(&cwd.join("out"));
    assert_eq!(json["exit_code"], 0);
    assert!(json["runs"][0]["execs"].as_u64().unwrap() > 0);
    let _ = std::fs::remove_dir_all(&cwd);
}

/// A stand-in libFuzzer that, on its first round, writes `$FAKE_CRASH` as a crash file
/// and a new corpus input, then its PID to `$FAKE_PIDFILE`, and then runs until killed (or
/// `$FAKE_SLEEP` seconds).
fn hanging_libfuzzer(dir: &Path) {
    let script = r##"#!/bin/sh
corpus=$1; shift
art=
for a in "$@"; do case $a in -artifact_prefix=*) art=${a#-artifact_prefix=};; esac; done
echo "#100	INITED cov: 7 ft: 9 corp: 3/30b exec/s: 100 rss: 30Mb" >&2
case $art in
*round-0*)
    cp "$FAKE_CRASH" "${art}crash-1"
    printf 'an input of the killed run' > "$corpus/from-the-killed-run"
    echo $$ > "$FAKE_PIDFILE"
    exec sleep "${FAKE_SLEEP:-120}" ;;
esac
exit 0
"##;
    std::fs::create_dir_all(dir).unwrap();
    common::write_script(&dir.join("relay_lifecycle"), script);
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit_once(')')
            .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
    })
}

/// The pid the stand-in engine writes to `pidfile` once it runs (within 60 s).
fn wait_for_pid(pidfile: &std::path::Path) -> u32 {
    let t0 = std::time::Instant::now();
    loop {
        if let Some(pid) = std::fs::read_to_string(pidfile)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
        {
            return pid;
        }
        assert!(
            t0.elapsed().as_secs() < 60,
            "the stand-in engine never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// One campaign per output directory; a `kill -9` of it leaves no engine running, and
/// the next run on that directory keeps the crash file and the corpus input the killed
/// run had not collected.
#[test]
fn one_campaign_per_out_and_a_killed_one_loses_nothing() {
    let bins = tmp("kill-bins");
    let out = tmp("kill-out");
    let pidfile = out.with_extension("pid");
    let _ = std::fs::remove_file(&pidfile);
    hanging_libfuzzer(&bins);
    let crash = witness_1162();
    let mut args = BASE.to_vec();
    args[7] = "60s";
    args.extend([
        "--bin-dir",
        bins.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let mut first = campaign_cmd(
        &args,
        &[("FAKE_CRASH", &crash), ("FAKE_PIDFILE", &pidfile)],
        &root(),
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let engine = wait_for_pid(&pidfile);

    // A second campaign on the same --out: one line, exit 2, naming the holder.
    let o = campaign(&args, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(&format!("pid {}", first.id())), "{err}");

    // kill -9 before the runner collected the crash file (it waits 1 s for it to settle).
    first.kill().unwrap();
    first.wait().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(5));
    assert!(
        !alive(engine),
        "engine {engine} still runs 5 s after its campaign was killed"
    );

    // The next run takes the directory over and keeps what the killed one left.
    let args2 = with_dirs(&bins, &out);
    fake_libfuzzer(&bins, "relay_lifecycle", 5000);
    let o = campaign(&args2, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("taking over from an earlier run"), "{err}");
    let (_, json) = report(&out);
    let buckets = json["buckets"].as_array().unwrap();
    assert!(
        buckets.iter().any(|b| b["known"] == "openvmm#1162"),
        "the killed run's crash file is triaged: {buckets:?}"
    );
    // (The stand-in's merge fails, so the end-of-run minimization leaves the corpus.)
    let corpus = out.join("corpus/relay_lifecycle/proxy-bit");
    assert!(
        std::fs::read_dir(&corpus)
            .unwrap()
            .flatten()
            .any(|e| std::fs::read(e.path()).unwrap() == b"an input of the killed run"),
        "the killed run's corpus input is kept"
    );
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&bins);
    let _ = std::fs::remove_file(&pidfile);
}

/// Off a terminal a campaign still shows it is alive: a plain progress line per running
/// engine at least every 30 s (every 15 s), with its figures.
#[test]
fn off_a_terminal_progress_is_a_line_every_15_s() {
    let bins = tmp("plain-bins");
    let out = tmp("plain-out");
    let pidfile = out.with_extension("pid");
    hanging_libfuzzer(&bins);
    let crash = witness_1162();
    let mut args = BASE.to_vec();
    args[7] = "17s";
    args.extend([
        "--bin-dir",
        bins.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let o = campaign(
        &args,
        &[
            ("FAKE_CRASH", &crash),
            ("FAKE_PIDFILE", &pidfile),
            ("FAKE_SLEEP", Path::new("17")),
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| {
            l.starts_with("sintfuzz: [") && l.contains("libfuzzer relay_lifecycle proxy-bit")
        })
        .collect();
    assert_eq!(lines.len(), 1, "one line at 15 s of a 17 s run: {err}");
    assert!(lines[0].contains("100 execs"), "{}", lines[0]);
    assert!(lines[0].contains("buckets 1 known, 0 new"), "{}", lines[0]);
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&bins);
    let _ = std::fs::remove_file(&pidfile);
}
