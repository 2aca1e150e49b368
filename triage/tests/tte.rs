//! `sintfuzz tte` end to end with a stand-in libFuzzer (`--bin-dir`): a trial ends at
//! the crash it waits for, instead of restarting the engine until its budget is spent,
//! and a crash of no known root cause on the way is kept, not deleted with the trial.

mod common;
use common::{root, tte, witness_1162, write_script};

use std::path::{Path, PathBuf};

/// Runs one #1162 trial whose engine "finds" `crashes` in turn (one per engine run, each
/// run exiting 1 at its crash as libFuzzer does; a run past the list fuzzes on until
/// stopped). Returns the trial's directory and the engine runs' artifact prefixes.
fn trial(name: &str, harnesses: &str, crashes: &[PathBuf]) -> (PathBuf, Vec<String>) {
    trial_writing(
        name,
        harnesses,
        crashes,
        r#"cp "$c" "${art}crash-$n"; exit 1"#,
    )
}

/// [`trial`] with the engine's crash handling given as shell (`$c`: the crash to
/// write, `$art`: the artifact prefix, `$n`: the run's number).
fn trial_writing(
    name: &str,
    harnesses: &str,
    crashes: &[PathBuf],
    on_crash: &str,
) -> (PathBuf, Vec<String>) {
    let dir = std::env::temp_dir().join(format!("sintfuzz-tte-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let bins = dir.join("bin");
    std::fs::create_dir_all(&bins).unwrap();
    let log = dir.join("runs.log");
    // Fuzzing runs (artifacts under the trial's work/) are logged; other runs (the final
    // corpus's coverage) exit at once.
    let list: Vec<String> = crashes
        .iter()
        .map(|p| format!("'{}'", p.display()))
        .collect();
    let script = format!(
        r##"#!/bin/sh
art=
for a in "$@"; do case $a in -artifact_prefix=*) art=${{a#-artifact_prefix=}};; esac; done
case $art in */work/*) ;; *) exit 0 ;; esac
echo "$art feedback=${{SINTFUZZ_FEEDBACK:-unset}}" >>"$FAKE_LOG"
echo "#100	DONE   cov: 7 ft: 9 corp: 3/30b lim: 4 exec/s: 100 rss: 30Mb" >&2
n=$(wc -l <"$FAKE_LOG")
i=0
for c in {}; do
    i=$((i + 1))
    if [ "$i" -eq "$n" ]; then {}; fi
done
sleep 8
exit 0
"##,
        list.join(" "),
        on_crash
    );
    write_script(&bins.join("relay_lifecycle"), &script);
    let rows = tte(
        &[
            "--defects",
            "1162",
            "--trials",
            "1",
            "--budget",
            "8s",
            "--harnesses",
            harnesses,
        ],
        &bins,
        &dir.join("out"),
        &[("FAKE_LOG", &log)],
    );
    let row = rows.lines().nth(1).expect("one trial row");
    assert!(row.contains("\thit\t"), "{row}");
    let runs = std::fs::read_to_string(&log).unwrap();
    (dir, runs.lines().map(str::to_string).collect())
}

#[test]
fn a_trial_ends_at_the_crash_it_waits_for() {
    let (dir, runs) = trial("ends", "ours", &[witness_1162()]);
    assert_eq!(
        runs.len(),
        1,
        "the engine was restarted after the hit: {runs:?}"
    );
    assert!(!dir.join("out/unexplained").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_crash_that_does_not_replay_is_kept() {
    // A clean seed as the engine's first "crash": it replays clean, so the trial goes on
    // to the witness, and the clean file is kept for a human to look at.
    let seed: PathBuf = std::fs::read_dir(root().join("corpus/relay_lifecycle"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .min()
        .unwrap();
    let (dir, runs) = trial("kept", "ours", &[seed.clone(), witness_1162()]);
    assert_eq!(runs.len(), 2, "{runs:?}");
    let kept: Vec<PathBuf> = std::fs::read_dir(dir.join("out/unexplained"))
        .expect("unexplained/ written")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(name_of(&kept[0]).ends_with("-clean.bin"), "{kept:?}");
    assert_eq!(
        std::fs::read(&kept[0]).unwrap(),
        std::fs::read(&seed).unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_nofb_harness_runs_our_binary_with_the_feedback_off() {
    let w = witness_1162();
    let (dir, runs) = trial("nofb", "ours,nofb", &[w.clone(), w]);
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert!(runs[0].ends_with(" feedback=unset"), "{runs:?}");
    assert!(runs[1].ends_with(" feedback=off"), "{runs:?}");
    let rows = std::fs::read_to_string(dir.join("out/trials.tsv")).unwrap();
    let harness_col = rows
        .lines()
        .next()
        .unwrap()
        .split('\t')
        .position(|c| c == "harness")
        .unwrap();
    let harnesses: Vec<&str> = rows
        .lines()
        .skip(1)
        .map(|r| r.split('\t').nth(harness_col).unwrap())
        .collect();
    assert_eq!(harnesses, ["ours", "nofb"], "{rows}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_crash_file_is_not_read_while_the_engine_is_still_writing_it() {
    // The engine writes the first half of its crash file, pauses (the runner polls every
    // 250 ms), writes the whole, and runs on for 2 s before exiting at the crash. A read
    // of the half-written file would replay clean (a truncated copy, never read again).
    let w = witness_1162();
    let half = std::fs::read(&w).unwrap().len() / 2;
    let on_crash = format!(
        r#"head -c {half} "$c" >"${{art}}crash-$n"; sleep 0.8; cat "$c" >"${{art}}crash-$n"; sleep 2; exit 1"#
    );
    let (dir, runs) = trial_writing("settle", "ours", &[w], &on_crash);
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(
        !dir.join("out/unexplained").exists(),
        "a truncated copy was read and replayed clean"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn name_of(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn a_bin_dir_without_the_engines_binaries_fails_before_any_trial() {
    let dir = std::env::temp_dir().join(format!("sintfuzz-tte-{}-nobin", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    // A libFuzzer build only: honggfuzz's binary is not there.
    write_script(&dir.join("bin/relay_lifecycle"), "#!/bin/sh\nexit 0\n");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_sintfuzz"))
        .args(["tte", "--engines", "honggfuzz", "--defects", "1162"])
        .args(["--trials", "3", "--budget", "5s", "--bin-dir"])
        .arg(dir.join("bin"))
        .arg("--out")
        .arg(dir.join("out"))
        .current_dir(root())
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("relay_lifecycle_hfuzz: no such engine binary"),
        "{stderr}"
    );
    assert!(!stderr.contains("trial 1"), "a trial ran: {stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
