//! libFuzzer through cargo-fuzz (`cargo fuzz build -s none`; stable Rust needs `-s none`).
//! One process; `jobs > 1` is libFuzzer's fork mode. New inputs go straight into the
//! shared corpus (its first corpus directory), and `-reload=1` reads what the other
//! engines put there while it runs.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{
    cargo_install, files_in, fuzz_target_dir, have, run_cmd, token_after, Exit, RunSpec, Stats,
};
use crate::Fail;
use sintfuzz_targets::harness::{ENV_INVARIANTS, ENV_REVISION};
use sintfuzz_targets::Settings;

pub fn ensure_tools() -> Result<(), Fail> {
    if !have("cargo", &["fuzz", "--version"]) {
        cargo_install("cargo-fuzz", None)?;
    }
    Ok(())
}

pub fn build(root: &Path) -> Result<PathBuf, Fail> {
    let dir = fuzz_target_dir(root)?;
    run_cmd(
        Command::new("cargo")
            .args(["fuzz", "build", "-s", "none", "--target-dir"])
            .arg(&dir)
            .current_dir(root),
        "cargo fuzz build -s none",
    )?;
    Ok(dir.join("x86_64-unknown-linux-gnu/release"))
}

/// Instrumentation variants `sintfuzz bench --builds` compares; `default` is the build
/// every other command uses (sancov counters, pc-table and trace-compares; debug
/// assertions and overflow checks from fuzz/Cargo.toml's release profile).
pub const VARIANTS: [&str; 3] = ["default", "no-cmp", "no-cmp-no-dbg"];

/// Build the binaries `names` as `variant` into `fuzz/target-<variant>/` (so the default
/// build in `fuzz/target/` is not touched); the directory of the binaries.
pub fn build_variant(root: &Path, variant: &str, names: &[&str]) -> Result<PathBuf, Fail> {
    if variant == "default" {
        return build(root);
    }
    let dir = root.join(format!("fuzz/target-{variant}"));
    for name in names {
        let mut cmd = Command::new("cargo");
        cmd.args([
            "fuzz",
            "build",
            "-s",
            "none",
            "--no-trace-compares",
            "--target-dir",
        ])
        .arg(&dir)
        .arg(name)
        .current_dir(root);
        match variant {
            "no-cmp" => {}
            "no-cmp-no-dbg" => {
                cmd.env("CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS", "false")
                    .env("CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS", "false");
            }
            v => {
                return Err(Fail::Usage(format!(
                    "unknown build '{v}' ({})",
                    VARIANTS.join(", ")
                )))
            }
        }
        run_cmd(&mut cmd, &format!("cargo fuzz build ({variant}) {name}"))?;
    }
    Ok(dir.join("x86_64-unknown-linux-gnu/release"))
}

pub fn commands(run: &RunSpec) -> Result<Vec<Command>, Fail> {
    let crashes = run.work.join("crashes");
    std::fs::create_dir_all(&crashes)
        .map_err(|e| Fail::Usage(format!("{}: {e}", crashes.display())))?;
    let mut cmd = Command::new(&run.binary);
    cmd.arg(&run.corpus)
        .arg(format!("-max_total_time={}", run.seconds))
        // No value profile: the model and the targets crate are built without compare
        // hooks (.cargo/scope-coverage.sh), and that build finds every root cause sooner
        // (bench/results.md, "Coverage only where it guides the search").
        // No length ramp: an input is a list of operations, and libFuzzer's default
        // (`-len_control=100`) keeps inputs to a few operations for the first tens of
        // thousands of executions (bench/results.md, "Near-miss feedback and no length ramp").
        .arg("-len_control=0")
        .arg(format!("-max_len={}", RunSpec::max_len()))
        .arg(format!("-artifact_prefix={}/", crashes.display()))
        .arg("-print_final_stats=1")
        .current_dir(&run.work);
    if let Some(s) = run.seed {
        cmd.arg(format!("-seed={s}"));
    }
    if run.shared {
        cmd.arg("-reload=1");
    }
    if run.jobs > 1 {
        // Fork mode with ignored crashes keeps fuzzing after a crash. With one job the
        // in-process fuzzer is several times faster, and the campaign restarts it after
        // each crash instead.
        cmd.arg(format!("-fork={}", run.jobs));
        if !run.stop_on_crash {
            cmd.arg("-ignore_crashes=1");
        }
    }
    cmd.args(&run.args);
    Ok(vec![cmd])
}

/// One status line (`#N ... cov: C ft: F corp: K ... exec/s: E`, plain and fork-mode
/// forms) or a final `stat::` line.
pub fn parse_line(line: &str, s: &mut Stats) {
    if let Some(v) = line.strip_prefix("stat::number_of_executed_units:") {
        if let Ok(n) = v.trim().parse::<u64>() {
            s.execs = s.execs.max(n);
        }
        return;
    }
    let Some(first) = line.split_whitespace().next() else {
        return;
    };
    if !first.starts_with('#') {
        return;
    }
    if let Ok(n) = first
        .trim_start_matches('#')
        .trim_end_matches(':')
        .parse::<u64>()
    {
        s.execs = s.execs.max(n);
    }
    if let Some(e) = token_after(line, "exec/s").and_then(|t| t.parse().ok()) {
        s.exec_per_sec = e;
    }
    if let Some(c) = token_after(line, "corp") {
        if let Ok(n) = c.split('/').next().unwrap_or("").parse() {
            s.corpus = Some(n);
        }
    }
    if let (Some(cov), Some(ft)) = (token_after(line, "cov"), token_after(line, "ft")) {
        s.coverage = cov.parse().ok();
        s.coverage_label = Some(format!("cov {cov}, ft {ft}"));
    }
}

/// libFuzzer's corpus merge (`-merge=1`, value profile on) by `binary`: the inputs of
/// `from` that add coverage, copied into `into`, under `settings`; crash artifacts go to
/// `artifacts`. Its stderr ends with the merged corpus's `cov:` and `ft:`.
pub fn merge_command(
    binary: &Path,
    into: &Path,
    from: &Path,
    artifacts: &Path,
    settings: &Settings,
) -> Command {
    let mut cmd = Command::new(binary);
    cmd.arg("-merge=1")
        .arg("-use_value_profile=1")
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg(format!("-max_len={}", RunSpec::max_len()))
        .arg(into)
        .arg(from)
        .env(ENV_REVISION, settings.revision.name())
        .env(ENV_INVARIANTS, settings.invariants.to_string())
        .env("RUST_BACKTRACE", "0");
    cmd
}

pub fn crash_files(work: &Path) -> Vec<PathBuf> {
    files_in(&work.join("crashes"), |n| n.starts_with("crash-"))
}

/// libFuzzer prints `RELOAD` on a status line when inputs another process put into its
/// corpus directory added coverage.
pub fn imported(log: &str) -> usize {
    log.lines()
        .filter(|l| l.starts_with('#') && l.contains("RELOAD"))
        .count()
}

pub fn classify(code: i32, crashed: bool) -> Exit {
    match (code, crashed) {
        (0, _) => Exit::Finished,
        (_, true) => Exit::Crashed,
        (c, false) => Exit::Failed(format!("exit code {c} without a crash file")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        let mut l = Stats::default();
        parse_line(
            "#262144\tpulse  cov: 725 ft: 5408 corp: 1615/69Kb lim: 149 exec/s: 65536 rss: 32Mb",
            &mut l,
        );
        assert_eq!(
            (l.execs, l.exec_per_sec, l.corpus, l.coverage),
            (262144, 65536.0, Some(1615), Some(725))
        );
        assert_eq!(l.coverage_label.as_deref(), Some("cov 725, ft 5408"));
        parse_line(
            "#300000: cov: 800 ft: 6000 corp: 1700 exec/s 40000 oom/timeout/crash: 0/0/2 time: 9s",
            &mut l,
        );
        assert_eq!(
            (l.execs, l.exec_per_sec, l.corpus),
            (300000, 40000.0, Some(1700))
        );
        parse_line("INFO: Seed: 123", &mut l);
        assert_eq!(l.execs, 300000);
        parse_line("stat::number_of_executed_units: 310000", &mut l);
        assert_eq!(l.execs, 310000);
    }

    #[test]
    fn reloads_are_imports() {
        let log = "#2\tINITED cov: 3\n#900\tRELOAD cov: 40 ft: 50 corp: 9/1b\n#950\tNEW cov: 41\n";
        assert_eq!(imported(log), 1);
    }

    #[test]
    fn exits() {
        assert_eq!(classify(0, false), Exit::Finished);
        assert_eq!(classify(1, true), Exit::Crashed);
        assert!(matches!(classify(1, false), Exit::Failed(_)));
    }
}
