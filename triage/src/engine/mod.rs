//! The fuzzing engines behind `campaign`, `bench` (`tte`, `--engines`) and `parity`: for
//! each engine one module with what it takes to install and build it, its command line,
//! its stats reader, where it writes crashes and new inputs, and how to read its exit.
//! This file is the one place that names the engines and dispatches to them. Below
//! campaigns and benchmarks alike: running engines in rounds and collecting their crash
//! files (`runner`, with the `--out` lock `lock` and the lines it prints, `console`),
//! which engines run when (`phases`), and the content-addressed corpus and crash
//! directories (`files`). It may call only the crate root's shared items (`panics`
//! among them) and the targets.

pub mod afl;
pub mod console;
pub mod files;
pub mod honggfuzz;
pub mod libfuzzer;
pub mod lock;
pub mod phases;
pub mod runner;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use clap::ValueEnum;
use serde::Serialize;
use sintfuzz_targets::{Settings, Target};

use crate::Fail;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Libfuzzer,
    Afl,
    Honggfuzz,
}

impl Engine {
    pub const ALL: [Engine; 3] = [Engine::Libfuzzer, Engine::Afl, Engine::Honggfuzz];

    pub fn name(self) -> &'static str {
        match self {
            Engine::Libfuzzer => "libfuzzer",
            Engine::Afl => "afl",
            Engine::Honggfuzz => "honggfuzz",
        }
    }

    /// Install what the engine needs if it is missing, saying so.
    pub fn ensure_tools(self) -> Result<(), Fail> {
        match self {
            Engine::Libfuzzer => libfuzzer::ensure_tools(),
            Engine::Afl => afl::ensure_tools(),
            Engine::Honggfuzz => honggfuzz::ensure_tools(),
        }
    }

    /// Build the engine's binaries of every target (in `fuzz/`).
    pub fn build(self, root: &Path) -> Result<Binaries, Fail> {
        eprintln!("sintfuzz: building the {} targets ...", self.name());
        let dir = match self {
            Engine::Libfuzzer => libfuzzer::build(root)?,
            Engine::Afl => afl::build(root)?,
            Engine::Honggfuzz => honggfuzz::build(root)?,
        };
        Ok(Binaries { engine: self, dir })
    }

    /// Binaries built before (`--bin-dir`), checked to exist.
    /// Its binaries: those built before in `bin_dir`, or built now (tools installed first).
    pub fn binaries(self, bin_dir: Option<&Path>, root: &Path) -> Result<Binaries, Fail> {
        match bin_dir {
            Some(d) => Ok(self.prebuilt(d)),
            None => {
                self.ensure_tools()?;
                self.build(root)
            }
        }
    }

    pub fn prebuilt(self, dir: &Path) -> Binaries {
        Binaries {
            engine: self,
            dir: dir.to_path_buf(),
        }
    }

    /// The processes of one run (several for AFL++ with more than one job).
    pub fn commands(self, run: &RunSpec) -> Result<Vec<Command>, Fail> {
        match self {
            Engine::Libfuzzer => libfuzzer::commands(run),
            Engine::Afl => afl::commands(run),
            Engine::Honggfuzz => honggfuzz::commands(run),
        }
    }

    /// Update `stats` from one line of the engine's output.
    pub fn parse_line(self, line: &str, stats: &mut Stats) {
        match self {
            Engine::Libfuzzer => libfuzzer::parse_line(line, stats),
            Engine::Afl => {}
            Engine::Honggfuzz => honggfuzz::parse_line(line, stats),
        }
    }

    /// Update `stats` from the files the engine keeps in its work directory.
    pub fn read_stats(self, work: &Path, stats: &mut Stats) {
        match self {
            Engine::Libfuzzer => {}
            Engine::Afl => afl::read_stats(work, stats),
            Engine::Honggfuzz => honggfuzz::read_stats(work, stats),
        }
    }

    /// The executions the engine had done when it wrote crash file `path`, where it
    /// records them (AFL++ names its files `...,execs:N,...`): exact, where its stats
    /// file is written only every few seconds.
    pub fn crash_execs(self, path: &Path) -> Option<u64> {
        match self {
            Engine::Afl => afl::crash_execs(path),
            _ => None,
        }
    }

    /// Crash files the engine wrote under `work`.
    pub fn crash_files(self, work: &Path) -> Vec<PathBuf> {
        match self {
            Engine::Libfuzzer => libfuzzer::crash_files(work),
            Engine::Afl => afl::crash_files(work),
            Engine::Honggfuzz => honggfuzz::crash_files(work),
        }
    }

    /// New inputs the engine keeps outside the shared corpus (AFL++'s queue), to copy
    /// into it; libFuzzer and honggfuzz write theirs into the shared corpus directly.
    pub fn own_finds(self, work: &Path) -> Vec<PathBuf> {
        match self {
            Engine::Afl => afl::own_finds(work),
            _ => Vec::new(),
        }
    }

    /// Bring the shared corpus's new files to where the engine imports them from, while
    /// it runs (AFL++'s foreign-sync mirror); the others read the corpus itself.
    pub fn sync_in(self, run: &RunSpec) {
        if self == Engine::Afl && run.shared {
            afl::sync_in(run);
        }
    }

    /// Inputs the engine took from the others while it ran, as it reports them.
    pub fn imported(self, work: &Path, log: &str) -> usize {
        match self {
            Engine::Libfuzzer => libfuzzer::imported(log),
            Engine::Afl => afl::imported(work),
            Engine::Honggfuzz => 0,
        }
    }

    /// Whether the engine reads the shared corpus again while it runs. honggfuzz does
    /// not: the campaign restarts it now and then so it sees the others' finds.
    pub fn reloads_corpus(self) -> bool {
        !matches!(self, Engine::Honggfuzz)
    }

    /// What the exit of one process means.
    pub fn classify_exit(self, status: ExitStatus, stopped_by_us: bool, crashed: bool) -> Exit {
        use std::os::unix::process::ExitStatusExt;
        if stopped_by_us {
            return Exit::Stopped;
        }
        if let Some(sig) = status.signal() {
            return Exit::Failed(format!("killed by signal {sig}"));
        }
        let code = status.code().unwrap_or(-1);
        match self {
            // libFuzzer exits non-zero when it stops at a crash.
            Engine::Libfuzzer => libfuzzer::classify(code, crashed),
            // AFL++ and honggfuzz (without --exit_code_upon_crash) exit 0 after crashes.
            Engine::Afl => afl::classify(code, crashed),
            Engine::Honggfuzz => honggfuzz::classify(code, crashed),
        }
    }
}

/// Where one engine's binaries are.
#[derive(Clone, Debug)]
pub struct Binaries {
    pub engine: Engine,
    pub dir: PathBuf,
}

impl Binaries {
    pub fn target(&self, target: Target) -> PathBuf {
        self.named(target.name())
    }

    /// The engine's build of the `fuzz/` binary `name` (a target, or `empty`).
    pub fn named(&self, name: &str) -> PathBuf {
        match self.engine {
            Engine::Libfuzzer => self.dir.join(name),
            Engine::Afl => self.dir.join(format!("{name}_afl")),
            Engine::Honggfuzz => self.dir.join(format!("{name}_hfuzz")),
        }
    }

    /// `binary`, if it is a file; else the runner's one-line error, so that a run checks
    /// its binaries (say a `--bin-dir` of another engine's builds) before it starts.
    pub fn require(&self, binary: PathBuf) -> Result<PathBuf, Fail> {
        if binary.is_file() {
            Ok(binary)
        } else {
            Err(Fail::Usage(missing_binary(self.engine, &binary)))
        }
    }
}

/// The error for an engine binary that is not there.
pub fn missing_binary(engine: Engine, binary: &Path) -> String {
    format!(
        "{}: {}: no such engine binary (build it, or check --bin-dir)",
        engine.name(),
        binary.display()
    )
}

/// One engine process group's job.
#[derive(Clone, Debug)]
pub struct RunSpec {
    pub target: Target,
    pub binary: PathBuf,
    /// The shared corpus: read at start (and again while running where the engine can),
    /// written by libFuzzer and honggfuzz.
    pub corpus: PathBuf,
    /// The engine's own directory for this run: crashes, queue, stats, logs.
    pub work: PathBuf,
    pub seconds: u64,
    pub jobs: u32,
    pub settings: Settings,
    /// Engine RNG seed (libFuzzer `-seed`, AFL++ `-s`); honggfuzz has none.
    pub seed: Option<u64>,
    /// Stop at the first crash (time-to-exposure trials) instead of keeping going.
    pub stop_on_crash: bool,
    /// Other engines write into the shared corpus while this one runs.
    pub shared: bool,
    /// Extra engine options, after the ones the module passes (a later value of an option
    /// wins in libFuzzer, AFL++ and honggfuzz alike): `tte --engine-args`.
    pub args: Vec<String>,
}

impl RunSpec {
    /// The longest input the engines may write: the longest canonical input plus slack.
    pub fn max_len() -> usize {
        sintfuzz_targets::codec::MAX_CANONICAL_LEN + 22
    }
}

/// Live figures of one run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    pub execs: u64,
    pub exec_per_sec: f64,
    pub corpus: Option<usize>,
    /// The engine's own coverage count (libFuzzer `cov`, AFL++ `edges_found`, honggfuzz
    /// `edge_cov`): comparable within one engine only.
    pub coverage: Option<u64>,
    /// The same as the engine words it (`cov 725, ft 5408`, `bitmap 3.2%`).
    pub coverage_label: Option<String>,
}

/// How one engine process ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "detail")]
pub enum Exit {
    /// Ran its time out.
    Finished,
    /// Stopped at a crash.
    Crashed,
    /// We stopped it (budget, Ctrl-C, a round change).
    Stopped,
    /// Anything else: the campaign exits 2.
    Failed(String),
}

/// Run a command to completion, passing its stderr on as it comes (a build or an install
/// takes minutes: cargo's `Compiling ...` lines show it is under way); a failure is a
/// setup error with its last stderr line.
pub(crate) fn run_cmd(cmd: &mut Command, what: &str) -> Result<(), Fail> {
    use std::io::BufRead;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Fail::Usage(format!("{what}: cannot start: {e}")))?;
    let mut last = String::new();
    if let Some(err) = child.stderr.take() {
        for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            eprintln!("  {line}");
            if !line.trim().is_empty() {
                last = line.trim().to_string();
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| Fail::Usage(format!("{what}: {e}")))?;
    if !status.success() {
        return Err(Fail::Usage(format!("{what} failed: {last}")));
    }
    Ok(())
}

/// Where cargo puts the builds of `fuzz/`, as cargo itself says (`cargo metadata`'s
/// `target_directory`): `fuzz/target`, or wherever `CARGO_TARGET_DIR` or a cargo config
/// sends it. The builds are then asked for there (`--target-dir`), so the campaign looks
/// for the binaries where they are, whatever the caller's environment.
pub(crate) fn fuzz_target_dir(root: &Path) -> Result<PathBuf, Fail> {
    let what = "cargo metadata (fuzz/Cargo.toml)";
    let out = Command::new("cargo")
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(root.join("fuzz/Cargo.toml"))
        .current_dir(root)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Fail::Usage(format!("{what}: cannot start: {e}")))?;
    if !out.status.success() {
        return Err(Fail::Usage(format!("{what} failed ({})", out.status)));
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| Fail::Usage(format!("{what}: unreadable output: {e}")))?;
    meta["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| Fail::Usage(format!("{what}: no target_directory")))
}

pub(crate) fn have(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub(crate) fn cargo_install(krate: &str, version: Option<&str>) -> Result<(), Fail> {
    eprintln!("sintfuzz: installing {krate} (cargo install {krate}) ...");
    let mut c = Command::new("cargo");
    c.args(["install", "--locked", krate]);
    if let Some(v) = version {
        c.args(["--version", v]);
    }
    run_cmd(&mut c, &format!("cargo install {krate}"))
}

/// Files directly in `dir` whose name passes `keep`, sorted.
pub(crate) fn files_in(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(&keep))
        .collect();
    out.sort();
    out
}

/// The value after `key` (or `key:`) among the whitespace-separated tokens of `line`.
pub(crate) fn token_after<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let mut it = line.split_whitespace();
    while let Some(t) = it.next() {
        if t == key || t.strip_suffix(':') == Some(key) {
            return it.next();
        }
    }
    None
}
