//! `sintfuzz campaign`: install and build what the engine needs, fuzz each target for its
//! share of the time on a copy of `corpus/`, keep going after crashes, then repro,
//! minimize and bucket every crash into `report.md` and `report.json`.
//!
//! Exit: 0 when no bucket fails (none, or only known open findings), 1 when a new bucket
//! (or a known finding upstream has since fixed) was found, 2 on setup failure.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use sintfuzz_model::Revision;
use sintfuzz_targets::codec::MAX_CANONICAL_LEN;
use sintfuzz_targets::files::read_input;
use sintfuzz_targets::harness::{ENV_INVARIANTS, ENV_REVISION};
use sintfuzz_targets::{InvariantSet, Settings, Target};

use crate::bucket::{bucket, crash_files, Bucket, Crash, KnownList};
use crate::{explain, repo_root, Fail};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Libfuzzer,
    Afl,
    Honggfuzz,
    All,
}

impl Engine {
    fn name(self) -> &'static str {
        match self {
            Engine::Libfuzzer => "libfuzzer",
            Engine::Afl => "afl",
            Engine::Honggfuzz => "honggfuzz",
            Engine::All => "all",
        }
    }
}

#[derive(Args, Clone, Debug)]
pub struct CampaignArgs {
    /// Fuzzing engine.
    #[arg(long, value_enum, default_value = "libfuzzer")]
    pub engine: Engine,
    /// Comma-separated targets, or `all`.
    #[arg(long, default_value = "all")]
    pub targets: String,
    /// Filter revision (default: $SINTFUZZ_REVISION or head).
    #[arg(long, value_parser = |s: &str| s.parse::<Revision>().map_err(|e| e.to_string()))]
    pub revision: Option<Revision>,
    /// default, strict, or comma-separated invariant ids.
    #[arg(long, value_parser = InvariantSet::parse)]
    pub invariants: Option<InvariantSet>,
    /// Total budget, shared by targets and engines: `90s`, `5m`, `1h`, or seconds.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub time: Duration,
    /// Parallel fuzzing jobs per run (the engine's own parallelism).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub jobs: u32,
    /// Output directory (default: ./sintfuzz-out).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Known-findings list (default: triage/known.toml).
    #[arg(long)]
    pub known: Option<PathBuf>,
}

/// `all` or a comma-separated list of target names.
pub fn parse_targets(s: &str) -> Result<Vec<Target>, String> {
    if s.trim() == "all" {
        return Ok(Target::ALL.to_vec());
    }
    s.split(',').map(|t| t.trim().parse::<Target>()).collect()
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, ""), |i| s.split_at(i));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid duration '{s}' (e.g. 90s, 5m, 1h)"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("invalid duration unit in '{s}' (use s, m or h)")),
    };
    if secs == 0 {
        return Err("the campaign needs a non-zero --time".into());
    }
    Ok(Duration::from_secs(secs))
}

/// What one engine run on one target did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunStats {
    pub engine: String,
    pub target: String,
    pub seconds: f64,
    pub execs: u64,
    pub exec_per_sec: f64,
    pub corpus_before: usize,
    pub corpus_after: usize,
    /// libFuzzer `cov`/`ft`, AFL++ `bitmap_cvg`; absent where the engine says nothing.
    pub coverage: Option<String>,
    pub crash_files: usize,
    pub exit: Option<i32>,
    pub interrupted: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    revision: &'a str,
    invariants: String,
    engine: &'a str,
    budget_seconds: u64,
    jobs: u32,
    runs: &'a [RunStats],
    buckets: Vec<BucketReport<'a>>,
    clean_crash_files: usize,
    unreadable_crash_files: usize,
    exit_code: u8,
}

#[derive(Serialize)]
struct BucketReport<'a> {
    #[serde(flatten)]
    bucket: &'a Bucket,
    status: &'static str,
    minimized_file: String,
    explain: String,
}

fn setup(msg: impl Into<String>) -> Fail {
    Fail::Usage(msg.into())
}

/// Run a command to completion, inheriting nothing but stderr; a failure is a setup error.
fn run_cmd(cmd: &mut Command, what: &str) -> Result<(), Fail> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| setup(format!("{what}: cannot start: {e}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(setup(format!("{what} failed: {}", last.trim())));
    }
    Ok(())
}

fn have(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Install what `engine` needs if it is missing, saying so.
fn ensure_tools(engine: Engine) -> Result<(), Fail> {
    let cargo_install = |krate: &str, version: Option<&str>| -> Result<(), Fail> {
        eprintln!("sintfuzz: installing {krate} (cargo install {krate}) ...");
        let mut c = Command::new("cargo");
        c.args(["install", "--locked", krate]);
        if let Some(v) = version {
            c.args(["--version", v]);
        }
        run_cmd(&mut c, &format!("cargo install {krate}"))
    };
    match engine {
        Engine::Libfuzzer => {
            if !have("cargo", &["fuzz", "--version"]) {
                cargo_install("cargo-fuzz", None)?;
            }
        }
        Engine::Afl => {
            if !have("cargo", &["afl", "--version"]) {
                cargo_install("cargo-afl", Some("0.18.2"))?;
            }
        }
        Engine::Honggfuzz => {
            let pkgs = ["binutils-dev", "libunwind-dev", "libblocksruntime-dev"];
            if !have("dpkg", &["-s", pkgs[0], pkgs[1], pkgs[2]]) {
                eprintln!(
                    "sintfuzz: installing {} (apt-get) for honggfuzz ...",
                    pkgs.join(" ")
                );
                let _ = Command::new("apt-get")
                    .arg("update")
                    .stdout(Stdio::null())
                    .status();
                run_cmd(
                    Command::new("apt-get")
                        .args(["install", "-y"])
                        .args(pkgs)
                        .env("DEBIAN_FRONTEND", "noninteractive"),
                    "apt-get install (honggfuzz needs root or these packages)",
                )?;
            }
            if !have("cargo", &["hfuzz", "version"]) && !have("cargo-hfuzz", &["version"]) {
                cargo_install("honggfuzz", Some("0.5.62"))?;
            }
        }
        Engine::All => unreachable!("expanded before"),
    }
    Ok(())
}

/// Build the engine's binaries; returns the directory holding them.
fn build(engine: Engine, root: &Path) -> Result<PathBuf, Fail> {
    let fuzz = root.join("fuzz");
    eprintln!("sintfuzz: building the {} targets ...", engine.name());
    match engine {
        Engine::Libfuzzer => {
            run_cmd(
                Command::new("cargo")
                    .args(["fuzz", "build", "-s", "none"])
                    .current_dir(root),
                "cargo fuzz build -s none",
            )?;
            Ok(fuzz.join("target/x86_64-unknown-linux-gnu/release"))
        }
        Engine::Afl => {
            run_cmd(
                Command::new("cargo")
                    .args([
                        "afl",
                        "build",
                        "--release",
                        "--no-default-features",
                        "--features",
                        "afl",
                    ])
                    .current_dir(&fuzz),
                "cargo afl build",
            )?;
            Ok(fuzz.join("target/release"))
        }
        Engine::Honggfuzz => {
            run_cmd(
                Command::new("cargo")
                    .args(["hfuzz", "build"])
                    .env(
                        "HFUZZ_BUILD_ARGS",
                        "--no-default-features --features honggfuzz",
                    )
                    .current_dir(&fuzz),
                "cargo hfuzz build",
            )?;
            Ok(fuzz.join("hfuzz_target/x86_64-unknown-linux-gnu/release"))
        }
        Engine::All => unreachable!("expanded before"),
    }
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().filter(|e| e.path().is_file()).count())
        .unwrap_or(0)
}

fn copy_corpus(from: &Path, to: &Path) -> Result<usize, Fail> {
    std::fs::create_dir_all(to).map_err(|e| setup(format!("{}: {e}", to.display())))?;
    let mut n = 0;
    if let Ok(entries) = std::fs::read_dir(from) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_file() {
                std::fs::copy(&p, to.join(e.file_name()))
                    .map_err(|err| setup(format!("{}: {err}", p.display())))?;
                n += 1;
            }
        }
    }
    Ok(n)
}

/// honggfuzz's `--statsfile`: its last line.
fn read_hfuzz_stats(dir: &Path, live: &mut Live) {
    let Ok(text) = std::fs::read_to_string(dir.join("hfuzz.stats")) else {
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
    if let Some(n) = field("total_exec").and_then(|v| v.parse().ok()) {
        live.execs = n;
    }
    if let Some(n) = field("exec_per_sec").and_then(|v| v.parse().ok()) {
        live.exec_per_sec = n;
    }
    if let Some(n) = field("corpus_count").and_then(|v| v.parse().ok()) {
        live.corpus = Some(n);
    }
    if let Some(e) = field("edge_cov") {
        live.coverage = Some(format!("edges {e}"));
    }
}

/// Engines that keep stats in files (libFuzzer's come from its stderr).
fn read_stats(engine: Engine, dir: &Path, live: &mut Live) {
    match engine {
        Engine::Afl => read_afl_stats(dir, live),
        Engine::Honggfuzz => read_hfuzz_stats(dir, live),
        _ => {}
    }
}

/// Shared between the engine's output reader and the progress loop.
#[derive(Default)]
struct Live {
    execs: u64,
    exec_per_sec: f64,
    corpus: Option<usize>,
    coverage: Option<String>,
}

fn token_after<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let mut it = line.split_whitespace();
    while let Some(t) = it.next() {
        if t == key || t == format!("{key}:") {
            return it.next();
        }
    }
    None
}

/// Parse one libFuzzer status line (`#N ... cov: C ft: F corp: K ... exec/s: E`, both
/// the plain and the fork-mode forms).
fn parse_libfuzzer(line: &str, live: &mut Live) {
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
        live.execs = live.execs.max(n);
    }
    if let Some(e) = token_after(line, "exec/s").and_then(|t| t.parse().ok()) {
        live.exec_per_sec = e;
    }
    if let Some(c) = token_after(line, "corp") {
        if let Ok(n) = c.split('/').next().unwrap_or("").parse() {
            live.corpus = Some(n);
        }
    }
    if let (Some(cov), Some(ft)) = (token_after(line, "cov"), token_after(line, "ft")) {
        live.coverage = Some(format!("cov {cov}, ft {ft}"));
    }
}

/// AFL++ `fuzzer_stats` of every instance under `out`.
fn read_afl_stats(out: &Path, live: &mut Live) {
    let (mut execs, mut eps, mut corpus, mut cov) = (0u64, 0f64, 0usize, None);
    for inst in std::fs::read_dir(out).into_iter().flatten().flatten() {
        let Ok(text) = std::fs::read_to_string(inst.path().join("fuzzer_stats")) else {
            continue;
        };
        for l in text.lines() {
            let mut kv = l.splitn(2, ':');
            let (k, v) = (
                kv.next().unwrap_or("").trim(),
                kv.next().unwrap_or("").trim(),
            );
            match k {
                "execs_done" => execs += v.parse::<u64>().unwrap_or(0),
                "execs_per_sec" => eps += v.parse::<f64>().unwrap_or(0.0),
                "corpus_count" => corpus += v.parse::<usize>().unwrap_or(0),
                "bitmap_cvg" => cov = Some(format!("bitmap {v}")),
                _ => {}
            }
        }
    }
    if execs > 0 {
        live.execs = execs;
        live.exec_per_sec = eps;
        live.corpus = Some(corpus);
        live.coverage = cov;
    }
}

struct Job<'a> {
    engine: Engine,
    target: Target,
    bin_dir: &'a Path,
    work: PathBuf,
    seconds: u64,
    jobs: u32,
    settings: Settings,
}

/// After this many crash files of one invariant, the run restarts with that invariant
/// masked (`SINTFUZZ_INVARIANTS` without it), so shallow, dense crashes (say a one-step
/// VTL2 assert) do not eat the budget of deeper ones. Each crash keeps the settings it
/// was found under.
const MASK_AFTER: usize = 3;

/// Start the engine for one round on `corpus`, writing crashes under `crashes`.
fn spawn_engine(
    job: &Job,
    root: &Path,
    corpus: &Path,
    crashes: &Path,
    seconds: u64,
    invariants: InvariantSet,
) -> Result<std::process::Child, Fail> {
    let t = job.target.name();
    let secs = seconds.to_string();
    let max_len = (MAX_CANONICAL_LEN + 22).to_string();
    let mut cmd;
    match job.engine {
        Engine::Libfuzzer => {
            cmd = Command::new(job.bin_dir.join(t));
            cmd.arg(corpus)
                .arg(format!("-max_total_time={secs}"))
                .arg("-use_value_profile=1")
                .arg(format!("-max_len={max_len}"))
                .arg(format!("-artifact_prefix={}/", crashes.display()))
                .arg("-print_final_stats=1");
            if job.jobs > 1 {
                // Fork mode with ignored crashes keeps fuzzing after a crash. With one job
                // the in-process fuzzer is several times faster, and the round loop
                // restarts it after each crash instead.
                cmd.arg(format!("-fork={}", job.jobs))
                    .arg("-ignore_crashes=1");
            }
        }
        Engine::Afl => {
            // One main instance; --jobs > 1 adds secondaries, AFL++'s own parallelism.
            cmd = Command::new("bash");
            let bin = job.bin_dir.join(format!("{t}_afl"));
            let mut script = String::from("set -u\n");
            for i in 0..job.jobs {
                let role = if i == 0 {
                    "-M main".to_string()
                } else {
                    format!("-S sec{i}")
                };
                script.push_str(&format!(
                    "cargo afl fuzz -i '{}' -o '{}' {role} -V {secs} '{}' > '{}/afl-{i}.log' 2>&1 &\n",
                    corpus.display(),
                    crashes.display(),
                    bin.display(),
                    crashes.display()
                ));
            }
            script.push_str("wait\n");
            cmd.args(["-c", &script])
                .env("AFL_NO_UI", "1")
                // Rounds restart AFL++ while the last instance may still hold its core.
                .env("AFL_NO_AFFINITY", "1")
                .env("AFL_SKIP_CPUFREQ", "1")
                .env("AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES", "1")
                .current_dir(root.join("fuzz"));
        }
        Engine::Honggfuzz => {
            cmd = Command::new("cargo");
            cmd.args(["hfuzz", "run", &format!("{t}_hfuzz")])
                .env(
                    "HFUZZ_BUILD_ARGS",
                    "--no-default-features --features honggfuzz",
                )
                .env(
                    "HFUZZ_RUN_ARGS",
                    // --save_all: every panic aborts at the same PC, so honggfuzz's
                    // unique-crash dedup would keep one file for all defects.
                    format!(
                        "--run_time {secs} -n {} --max_file_size {max_len} -W {} --quiet --save_all --statsfile {}/hfuzz.stats",
                        job.jobs,
                        crashes.display(),
                        crashes.display()
                    ),
                )
                .env("HFUZZ_INPUT", corpus)
                .current_dir(root.join("fuzz"));
        }
        Engine::All => unreachable!("expanded before"),
    }
    std::fs::create_dir_all(crashes).map_err(|e| setup(format!("{}: {e}", crashes.display())))?;
    // Its own process group, so that stopping it stops every process it started (AFL++
    // instances under bash, honggfuzz under cargo) and Ctrl-C reaches us, not it.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd.env(ENV_REVISION, job.settings.revision.name())
        .env(ENV_INVARIANTS, invariants.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| setup(format!("{} on {t}: cannot start: {e}", job.engine.name())))
}

/// Send `sig` to the engine's whole process group.
fn signal_group(child: &std::process::Child, sig: i32) {
    // SAFETY: kill(2) on our own child's process group; no memory is involved.
    unsafe {
        libc::kill(-(child.id() as i32), sig);
    }
}

/// Record the crash files new under `dir`, count them per invariant, and choose an
/// invariant to mask once one reaches [`MASK_AFTER`].
fn note_crashes(
    target: Target,
    dir: &Path,
    settings: Settings,
    seen: &mut std::collections::BTreeSet<PathBuf>,
    counts: &mut std::collections::BTreeMap<sintfuzz_targets::Invariant, usize>,
    crashes: &mut Vec<Crash>,
    mask: &mut Option<sintfuzz_targets::Invariant>,
) {
    for path in crash_files(dir).unwrap_or_default() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let inv = read_input(&path)
            .ok()
            .and_then(|d| sintfuzz_targets::run(target, &d, &settings).violation())
            .map(|v| v.invariant);
        if let Some(inv) = inv {
            let n = counts.entry(inv).or_insert(0);
            *n += 1;
            if *n >= MASK_AFTER && mask.is_none() {
                *mask = Some(inv);
            }
        }
        crashes.push(Crash {
            path,
            target,
            settings,
        });
    }
}

/// Run one engine on one target for its share of the time, in rounds (see
/// [`MASK_AFTER`]); returns the stats and every crash file with its settings.
fn fuzz_one(
    job: &Job,
    root: &Path,
    stop: &Arc<AtomicBool>,
) -> Result<(RunStats, Vec<Crash>), Fail> {
    let t = job.target.name();
    let corpus = job.work.join("corpus");
    let corpus_before = copy_corpus(&root.join("corpus").join(t), &corpus)?;
    let pb = ProgressBar::new(job.seconds);
    pb.set_style(
        ProgressStyle::with_template("{prefix:>26} [{elapsed_precise}] {bar:20} {msg}")
            .expect("valid template"),
    );
    pb.set_prefix(format!("{} {t}", job.engine.name()));
    let start = Instant::now();
    let mut invariants = job.settings.invariants;
    let mut crashes: Vec<Crash> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    // Crash files per invariant over all rounds.
    let mut counts = std::collections::BTreeMap::new();
    let (mut execs, mut corpus_after, mut coverage, mut exit) = (0u64, 0usize, None, None);
    for round in 0.. {
        let left = job.seconds.saturating_sub(start.elapsed().as_secs());
        if left == 0 || stop.load(Ordering::SeqCst) || invariants == InvariantSet::NONE {
            break;
        }
        let dir = job.work.join("crashes").join(format!("round-{round}"));
        let settings = Settings {
            revision: job.settings.revision,
            invariants,
        };
        let crashes_before = crashes.len();
        let mut child = spawn_engine(job, root, &corpus, &dir, left, invariants)?;
        let round_start = Instant::now();
        let live = Arc::new(Mutex::new(Live::default()));
        let reader = {
            let live = live.clone();
            let stderr = child.stderr.take().expect("piped");
            let log_path = job
                .work
                .join(format!("{}-round-{round}.log", job.engine.name()));
            let is_libfuzzer = job.engine == Engine::Libfuzzer;
            std::thread::spawn(move || {
                let mut log = std::fs::File::create(log_path).ok();
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(f) = log.as_mut() {
                        use std::io::Write;
                        let _ = writeln!(f, "{line}");
                    }
                    if is_libfuzzer {
                        parse_libfuzzer(&line, &mut live.lock().expect("not poisoned"));
                    }
                }
            })
        };
        let mut mask = None;
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) => {}
                Err(_) => break None,
            }
            // Classify new crash files as they appear.
            note_crashes(
                job.target,
                &dir,
                settings,
                &mut seen,
                &mut counts,
                &mut crashes,
                &mut mask,
            );
            {
                let mut l = live.lock().expect("not poisoned");
                read_stats(job.engine, &dir, &mut l);
                pb.set_position(start.elapsed().as_secs().min(job.seconds));
                pb.set_message(format!(
                    "execs {} | {:.0} exec/s | corpus {} | crashes {}",
                    execs + l.execs,
                    l.exec_per_sec,
                    l.corpus.map_or("?".into(), |c| c.to_string()),
                    crashes.len()
                ));
            }
            // On Ctrl-C, past the budget plus a grace period, or to mask an invariant:
            // stop the engine (whatever it wrote is collected below).
            if mask.is_some()
                || stop.load(Ordering::SeqCst)
                || round_start.elapsed() > Duration::from_secs(left + 60)
            {
                signal_group(&child, libc::SIGTERM);
                if round_start.elapsed() > Duration::from_secs(left + 70) {
                    signal_group(&child, libc::SIGKILL);
                }
            }
            std::thread::sleep(Duration::from_millis(250));
        };
        // Whatever the leader left behind goes too.
        signal_group(&child, libc::SIGKILL);
        let _ = reader.join();
        let mut l = live.lock().expect("not poisoned");
        read_stats(job.engine, &dir, &mut l);
        execs += l.execs;
        corpus_after = match job.engine {
            Engine::Afl => l.corpus.unwrap_or(corpus_after),
            _ => count_files(&corpus),
        };
        coverage = l.coverage.clone().or(coverage);
        exit = status.and_then(|s| s.code());
        note_crashes(
            job.target,
            &dir,
            settings,
            &mut seen,
            &mut counts,
            &mut crashes,
            &mut mask,
        );
        let new_crashes = crashes.len() - crashes_before;
        match mask {
            // The engine stopped at a crash with time left: go on in a new round.
            None if status.is_some_and(|s| !s.success())
                && new_crashes > 0
                && !stop.load(Ordering::SeqCst) =>
            {
                continue
            }
            Some(inv) => {
                invariants = InvariantSet::parse(
                    &invariants
                        .iter()
                        .filter(|&i| i != inv)
                        .map(|i| i.id())
                        .collect::<Vec<_>>()
                        .join(","),
                )
                .unwrap_or(InvariantSet::NONE);
                pb.println(format!(
                    "sintfuzz: {} {t}: {MASK_AFTER} crashes of {inv}; continuing without it",
                    job.engine.name()
                ));
            }
            None => break,
        }
    }
    pb.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let stats = RunStats {
        engine: job.engine.name().into(),
        target: t.into(),
        seconds,
        execs,
        exec_per_sec: execs as f64 / seconds.max(1e-9),
        corpus_before,
        corpus_after,
        coverage,
        crash_files: crashes.len(),
        exit,
        interrupted: stop.load(Ordering::SeqCst),
    };
    eprintln!(
        "sintfuzz: {} {t}: {:.0} s, {} execs ({:.0}/s), corpus {} -> {}, {} crash file(s)",
        stats.engine,
        stats.seconds,
        stats.execs,
        stats.exec_per_sec,
        stats.corpus_before,
        stats.corpus_after,
        stats.crash_files
    );
    Ok((stats, crashes))
}

pub fn campaign(args: CampaignArgs) -> Result<u8, Fail> {
    let env = Settings::from_env().map_err(Fail::Usage)?;
    let settings = Settings {
        revision: args.revision.unwrap_or(env.revision),
        invariants: args.invariants.unwrap_or(env.invariants),
    };
    let targets = parse_targets(&args.targets).map_err(Fail::Usage)?;
    let engines: Vec<Engine> = match args.engine {
        Engine::All => vec![Engine::Libfuzzer, Engine::Afl, Engine::Honggfuzz],
        e => vec![e],
    };
    let root = repo_root();
    let known_path = args
        .known
        .clone()
        .unwrap_or_else(|| root.join("triage/known.toml"));
    let known = KnownList::load(&known_path).map_err(Fail::Usage)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("sintfuzz-out"));
    std::fs::create_dir_all(&out)
        .and_then(|_| std::fs::write(out.join(".sintfuzz-write-test"), b""))
        .and_then(|_| std::fs::remove_file(out.join(".sintfuzz-write-test")))
        .map_err(|e| {
            setup(format!(
                "{}: not a writable output directory: {e}",
                out.display()
            ))
        })?;

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // Children share our process group and get the same Ctrl-C; we keep going to
        // collect and report whatever they wrote.
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }
    let share = (args.time.as_secs() / (targets.len() * engines.len()) as u64).max(1);
    let mut runs = Vec::new();
    let mut crashes = Vec::new();
    for &engine in &engines {
        ensure_tools(engine)?;
        let bin_dir = build(engine, &root)?;
        for &target in &targets {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let work = out
                .join(engine.name())
                .join(target.name())
                .join(settings.revision.name());
            let _ = std::fs::remove_dir_all(&work);
            let job = Job {
                engine,
                target,
                bin_dir: &bin_dir,
                work: work.clone(),
                seconds: share,
                jobs: args.jobs,
                settings,
            };
            let (stats, found) = fuzz_one(&job, &root, &stop)?;
            runs.push(stats);
            crashes.extend(found);
        }
    }

    eprintln!("sintfuzz: triaging {} crash file(s) ...", crashes.len());
    let buckets = bucket(&crashes, &known);
    let dir = out.join("buckets");
    std::fs::create_dir_all(&dir).map_err(|e| setup(format!("{}: {e}", dir.display())))?;
    let mut reports = Vec::new();
    for (i, b) in buckets.buckets.iter().enumerate() {
        let file = dir.join(format!(
            "{i:02}-{}-{}.bin",
            b.label.invariant, b.label.target
        ));
        std::fs::write(&file, &b.minimized)
            .map_err(|e| setup(format!("{}: {e}", file.display())))?;
        let target = b.target.expect("set by bucket");
        let (text, _) = explain::explain(target, &b.minimized, &b.settings.expect("set by bucket"));
        reports.push(BucketReport {
            bucket: b,
            status: if b.is_new() { "new" } else { "known" },
            minimized_file: file.display().to_string(),
            explain: text,
        });
    }
    let code = buckets.buckets.iter().any(|b| b.fails()) as u8;
    let report = Report {
        revision: settings.revision.name(),
        invariants: settings.invariants.to_string(),
        engine: args.engine.name(),
        budget_seconds: args.time.as_secs(),
        jobs: args.jobs,
        runs: &runs,
        buckets: reports,
        clean_crash_files: buckets.clean.len(),
        unreadable_crash_files: buckets.errors.len(),
        exit_code: code,
    };
    let json = serde_json::to_string_pretty(&report).expect("serializable");
    std::fs::write(out.join("report.json"), json)
        .map_err(|e| setup(format!("{}: {e}", out.display())))?;
    let md = markdown(&report);
    std::fs::write(out.join("report.md"), &md)
        .map_err(|e| setup(format!("{}: {e}", out.display())))?;
    for b in &report.buckets {
        println!(
            "[{}] {} ({} -> {} actions, {} file(s)) {}",
            b.bucket
                .known
                .as_deref()
                .map_or("new".to_string(), |k| format!("known {k}")),
            b.bucket.violation_line,
            b.bucket.ops_before,
            b.bucket.ops_after,
            b.bucket.files.len(),
            b.minimized_file
        );
    }
    println!(
        "{} bucket(s), {} new; report: {}",
        report.buckets.len(),
        report.buckets.iter().filter(|b| b.bucket.is_new()).count(),
        out.join("report.md").display()
    );
    Ok(code)
}

fn markdown(r: &Report) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "# sintfuzz campaign\n");
    let _ = writeln!(
        s,
        "Revision `{}`, invariants `{}`, engine `{}`, budget {} s, jobs {}.\n",
        r.revision, r.invariants, r.engine, r.budget_seconds, r.jobs
    );
    let _ = writeln!(s, "## Runs\n");
    let _ = writeln!(
        s,
        "| engine | target | seconds | execs | exec/s | corpus | coverage | crash files |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
    for run in r.runs {
        let _ = writeln!(
            s,
            "| {} | {} | {:.0} | {} | {:.0} | {} -> {} | {} | {}{} |",
            run.engine,
            run.target,
            run.seconds,
            run.execs,
            run.exec_per_sec,
            run.corpus_before,
            run.corpus_after,
            run.coverage.as_deref().unwrap_or("-"),
            run.crash_files,
            if run.interrupted {
                " (interrupted)"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(s, "\n## Buckets\n");
    if r.buckets.is_empty() {
        let _ = writeln!(s, "No violations.");
    }
    for b in &r.buckets {
        let _ = writeln!(
            s,
            "### {} — {}\n",
            b.status,
            b.bucket
                .known
                .as_deref()
                .unwrap_or("no known finding matches")
        );
        let _ = writeln!(s, "`{}`\n", b.bucket.violation_line);
        let _ = writeln!(
            s,
            "Signature: `{}` (label `{}` / `{}` / `{}` / `{}`). {} crash file(s); minimized {} -> {} actions: `{}`.\n",
            b.bucket.signature,
            b.bucket.label.invariant,
            b.bucket.label.revision,
            b.bucket.label.target,
            b.bucket.label.skeleton,
            b.bucket.files.len(),
            b.bucket.ops_before,
            b.bucket.ops_after,
            b.minimized_file
        );
        let _ = writeln!(s, "```\n{}```\n", b.explain);
    }
    let _ = writeln!(
        s,
        "{} crash file(s) replayed clean, {} unreadable. Exit code {}.",
        r.clean_crash_files, r.unreadable_crash_files, r.exit_code
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60s").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_duration("45").unwrap(), Duration::from_secs(45));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn libfuzzer_lines() {
        let mut l = Live::default();
        parse_libfuzzer(
            "#262144\tpulse  cov: 725 ft: 5408 corp: 1615/69Kb lim: 149 exec/s: 65536 rss: 32Mb",
            &mut l,
        );
        assert_eq!(
            (l.execs, l.exec_per_sec, l.corpus),
            (262144, 65536.0, Some(1615))
        );
        assert_eq!(l.coverage.as_deref(), Some("cov 725, ft 5408"));
        parse_libfuzzer(
            "#300000: cov: 800 ft: 6000 corp: 1700 exec/s 40000 oom/timeout/crash: 0/0/2 time: 9s",
            &mut l,
        );
        assert_eq!(
            (l.execs, l.exec_per_sec, l.corpus),
            (300000, 40000.0, Some(1700))
        );
        parse_libfuzzer("INFO: Seed: 123", &mut l);
        assert_eq!(l.execs, 300000);
    }
}
