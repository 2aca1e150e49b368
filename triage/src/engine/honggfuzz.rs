//! honggfuzz through the `honggfuzz` crate: `cargo hfuzz build` builds the targets and the
//! `honggfuzz` driver (`fuzz/hfuzz_target/honggfuzz`), which the campaign runs directly in
//! persistent mode (`-P`), `-n jobs` threads. It reads the shared corpus at start and
//! writes its new inputs there; it does not read it again while running, so in a shared
//! campaign it is restarted now and then. `--save_all` because every panic aborts at the
//! same PC and honggfuzz's unique-crash dedup would keep one file for all defects.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{cargo_install, files_in, have, run_cmd, Exit, RunSpec, Stats};
use crate::Fail;

pub const VERSION: &str = "0.5.62";
const BUILD_ARGS: &str = "--no-default-features --features honggfuzz";
/// The exit code asked of honggfuzz when it stops at a crash.
const CRASH_EXIT: i32 = 77;

pub fn ensure_tools() -> Result<(), Fail> {
    let pkgs = ["binutils-dev", "libunwind-dev", "libblocksruntime-dev"];
    if !have("dpkg", &["-s", pkgs[0], pkgs[1], pkgs[2]]) {
        eprintln!(
            "sintfuzz: installing {} (apt-get) for honggfuzz ...",
            pkgs.join(" ")
        );
        let _ = Command::new("apt-get")
            .arg("update")
            .stdout(std::process::Stdio::null())
            .status();
        run_cmd(
            Command::new("apt-get")
                .args(["install", "-y"])
                .args(pkgs)
                .env("DEBIAN_FRONTEND", "noninteractive"),
            "apt-get install (honggfuzz needs root or these packages)",
        )?;
    }
    // `cargo hfuzz` has no version command that works outside a crate: look for it.
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("cargo-hfuzz").is_file()));
    if !on_path {
        cargo_install("honggfuzz", Some(VERSION))?;
    }
    Ok(())
}

pub fn build(root: &Path) -> Result<PathBuf, Fail> {
    run_cmd(&mut cargo_hfuzz(root, "build"), "cargo hfuzz build")?;
    Ok(root.join("fuzz/hfuzz_target/x86_64-unknown-linux-gnu/release"))
}

/// `cargo hfuzz <sub>` in `fuzz/`, building into `fuzz/hfuzz_target` whatever the
/// caller's `CARGO_TARGET_DIR`: cargo-hfuzz takes its target directory from that variable
/// and cannot build into an absolute one, so the campaign always names its own.
pub fn cargo_hfuzz(root: &Path, sub: &str) -> Command {
    let mut c = Command::new("cargo");
    c.args(["hfuzz", sub])
        .env("HFUZZ_BUILD_ARGS", BUILD_ARGS)
        .env("CARGO_TARGET_DIR", "hfuzz_target")
        .current_dir(root.join("fuzz"));
    c
}

/// The driver sits two levels above the target binaries (`hfuzz_target/honggfuzz`).
fn driver(binary: &Path) -> PathBuf {
    binary
        .ancestors()
        .nth(3)
        .map_or_else(|| PathBuf::from("honggfuzz"), |d| d.join("honggfuzz"))
}

pub fn commands(run: &RunSpec) -> Result<Vec<Command>, Fail> {
    let ws = run.work.join("hfuzz");
    std::fs::create_dir_all(&ws)
        .and_then(|_| std::fs::create_dir_all(&run.corpus))
        .map_err(|e| Fail::Usage(format!("{}: {e}", ws.display())))?;
    let mut cmd = Command::new(driver(&run.binary));
    cmd.arg("-i")
        .arg(&run.corpus)
        .arg("-W")
        .arg(&ws)
        .args(["--run_time", &run.seconds.to_string()])
        .args(["-n", &run.jobs.to_string()])
        .args(["--max_file_size", &RunSpec::max_len().to_string()])
        // 8 mutations per input, not honggfuzz's 5: alternated 30 trials each, it reached
        // SF-002, SF-003 and SF-006 sooner with fewer misses, #1162 level; 1 and 2 were
        // worse (bench/results.md, "honggfuzz's mutations per input").
        .args(["--mutations_per_run", "8"])
        .arg("--save_all")
        .arg("--statsfile")
        .arg(run.work.join("hfuzz.stats"))
        .args(["-v", "-P"])
        .current_dir(&run.work);
    if run.stop_on_crash {
        cmd.args([
            "--exit_upon_crash",
            "--exit_code_upon_crash",
            &CRASH_EXIT.to_string(),
        ]);
    }
    cmd.args(&run.args).arg("--").arg(&run.binary);
    Ok(vec![cmd])
}

/// `Summary iterations:N ...` at exit.
pub fn parse_line(line: &str, s: &mut Stats) {
    if let Some(rest) = line.strip_prefix("Summary iterations:") {
        if let Ok(n) = rest
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap_or("")
            .parse::<u64>()
        {
            s.execs = s.execs.max(n);
        }
    }
}

/// `--statsfile`: a `#`-header of field names and one line per report; the last counts.
pub fn read_stats(work: &Path, s: &mut Stats) {
    let Ok(text) = std::fs::read_to_string(work.join("hfuzz.stats")) else {
        return;
    };
    let Some(header) = text.lines().next() else {
        return;
    };
    let names: Vec<&str> = header
        .trim_start_matches('#')
        .split(',')
        .map(str::trim)
        .collect();
    let Some(last) = text.lines().rev().find(|l| !l.starts_with('#')) else {
        return;
    };
    let field = |name: &str| {
        names
            .iter()
            .position(|n| *n == name)
            .and_then(|i| last.split(',').nth(i))
            .map(str::trim)
    };
    if let Some(n) = field("total_exec").and_then(|v| v.parse::<u64>().ok()) {
        s.execs = s.execs.max(n);
    }
    if let Some(n) = field("exec_per_sec").and_then(|v| v.parse().ok()) {
        s.exec_per_sec = n;
    }
    if let Some(n) = field("corpus_count").and_then(|v| v.parse().ok()) {
        s.corpus = Some(n);
    }
    if let Some(e) = field("edge_cov") {
        s.coverage = e.parse().ok();
        s.coverage_label = Some(format!("edges {e}"));
    }
}

pub fn crash_files(work: &Path) -> Vec<PathBuf> {
    files_in(&work.join("hfuzz"), |n| n.ends_with(".fuzz"))
}

pub fn classify(code: i32, crashed: bool) -> Exit {
    match code {
        0 if crashed => Exit::Crashed,
        0 => Exit::Finished,
        CRASH_EXIT if crashed => Exit::Crashed,
        c => Exit::Failed(format!("honggfuzz exit code {c}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_file_and_summary() {
        let w = std::env::temp_dir().join(format!("sintfuzz-hf-test-{}", std::process::id()));
        std::fs::create_dir_all(&w).unwrap();
        std::fs::write(
            w.join("hfuzz.stats"),
            "# unix_time, last_cov_update, total_exec, exec_per_sec, crashes, unique_crashes, hangs, edge_cov, block_cov\n1,1,100,50,0,0,0,7,9\n2,2,300,60,1,1,0,11,13\n",
        )
        .unwrap();
        let mut s = Stats::default();
        read_stats(&w, &mut s);
        assert_eq!((s.execs, s.exec_per_sec, s.coverage), (300, 60.0, Some(11)));
        parse_line(
            "Summary iterations:4567 time:3 speed:1522 crashes_count:0",
            &mut s,
        );
        assert_eq!(s.execs, 4567);
        assert_eq!(
            driver(Path::new(
                "/f/hfuzz_target/x86_64-unknown-linux-gnu/release/t_hfuzz"
            )),
            PathBuf::from("/f/hfuzz_target/honggfuzz")
        );
        assert_eq!(classify(77, true), Exit::Crashed);
        assert!(matches!(classify(1, false), Exit::Failed(_)));
        let _ = std::fs::remove_dir_all(&w);
    }
}
