//! One engine on one target for a share of the time, in rounds: start its processes (in
//! their own process group), follow their logs and stats files, collect crash files as
//! they appear, copy the engine's own finds into the shared corpus, record samples, and
//! read each exit. Used by `campaign` and `tte`.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use sintfuzz_targets::files::read_input;
use sintfuzz_targets::{Invariant, InvariantSet, Settings, Target};

use crate::engine::files::{add_bytes, add_file, count_files};
use crate::engine::{Engine, Exit, RunSpec, Stats};
use crate::Fail;

/// Set by a Ctrl-C handler: every runner stops its engines, and the callers stop starting
/// new runs.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Stop on Ctrl-C: engines run in their own process groups, so the terminal's SIGINT
/// reaches only us; the runners then stop them and report what they wrote.
pub fn stop_on_ctrl_c() {
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
}

/// What every runner of one campaign shares.
pub struct Shared {
    pub stop: AtomicBool,
    /// The campaign's clock: samples and crash times count from here.
    pub start: Instant,
    pub start_wall: SystemTime,
    pub samples: Mutex<Vec<Sample>>,
    /// The output directory's lock (campaigns): the engine groups started are listed with
    /// it, so a run that takes over after this one was killed can stop them.
    pub lock: Option<std::sync::Arc<crate::engine::lock::OutLock>>,
    /// Every run started, for the live display (`crate::campaign::progress`).
    pub runs: Mutex<Vec<LiveRun>>,
    /// Every crash file kept so far that is an input of its target, as it comes.
    pub found: Mutex<Vec<(PathBuf, Target, Settings)>>,
}

/// One engine run as the live display shows it.
#[derive(Clone, Debug)]
pub struct LiveRun {
    pub engine: &'static str,
    pub target: &'static str,
    pub revision: &'static str,
    /// Seconds since the campaign start when it began.
    pub began: f64,
    /// Its budget in seconds.
    pub seconds: u64,
    pub done: bool,
}

impl Shared {
    pub fn new() -> Self {
        Shared {
            stop: AtomicBool::new(false),
            start: Instant::now(),
            start_wall: SystemTime::now(),
            samples: Mutex::new(Vec::new()),
            lock: None,
            runs: Mutex::new(Vec::new()),
            found: Mutex::new(Vec::new()),
        }
    }

    /// [`Shared::new`] for a run holding `lock`.
    pub fn locked(lock: std::sync::Arc<crate::engine::lock::OutLock>) -> Self {
        Shared {
            lock: Some(lock),
            ..Shared::new()
        }
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || INTERRUPTED.load(Ordering::SeqCst)
    }
}

impl Default for Shared {
    fn default() -> Self {
        Self::new()
    }
}

/// One progress sample of one engine run.
#[derive(Clone, Debug, Serialize)]
pub struct Sample {
    /// Seconds since the campaign started.
    pub t: f64,
    pub engine: &'static str,
    pub target: &'static str,
    pub execs: u64,
    pub exec_per_sec: f64,
    pub corpus: Option<usize>,
    pub coverage: Option<u64>,
    pub crash_files: usize,
}

/// One crash file with what found it and when.
#[derive(Clone, Debug, Serialize)]
pub struct Found {
    pub path: PathBuf,
    #[serde(skip)]
    pub target: Target,
    #[serde(skip)]
    pub settings: Settings,
    pub engine: &'static str,
    /// Seconds from the campaign start to the file's modification time.
    pub seconds: f64,
    /// The invariant its replay violates, if it does.
    pub invariant: Option<&'static str>,
    /// The file holds the binary's own bytes, which [`Job::translate`] could not turn into
    /// an input of `target` (a peer's scenario our format cannot express): it is not an
    /// input of `target`, and its replay is the harness's own (`crate::findings::bucket::Crash::peer`).
    pub untranslated: bool,
    /// The engine run's executions when the file was found: exact where the engine
    /// stopped at the crash (its final count), else its count when the runner saw the
    /// file (within a poll, from the engine's last report).
    pub execs: u64,
}

/// What one engine run did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunStats {
    pub engine: String,
    pub target: String,
    pub jobs: u32,
    /// Seconds since the campaign start when it began and ended.
    pub began: f64,
    pub seconds: f64,
    pub rounds: u32,
    pub execs: u64,
    pub exec_per_sec: f64,
    pub coverage: Option<String>,
    pub crash_files: usize,
    /// Its own finds copied into the shared corpus (AFL++'s queue).
    pub exported: usize,
    /// Inputs it took from the shared corpus while running, as the engine reports them
    /// (libFuzzer `RELOAD` lines that added coverage, AFL++ `sync:` queue entries).
    pub imported: usize,
    pub exits: Vec<Exit>,
    /// Why the campaign must exit 2 because of this run, if it must.
    pub failure: Option<String>,
    pub interrupted: bool,
}

/// After this many crash files of one invariant, the run restarts with that invariant
/// masked (`SINTFUZZ_INVARIANTS` without it), so shallow, dense crashes (say a one-step
/// VTL2 assert) do not eat the budget of deeper ones. Each crash keeps the settings it
/// was found under.
pub const MASK_AFTER: usize = 3;

pub struct Job<'a> {
    pub engine: Engine,
    pub target: Target,
    pub binary: PathBuf,
    pub corpus: PathBuf,
    pub work: PathBuf,
    /// Where crash files are copied to (kept across runs).
    pub crashes: PathBuf,
    pub seconds: u64,
    pub jobs: u32,
    pub settings: Settings,
    pub seed: Option<u64>,
    pub stop_on_crash: bool,
    pub shared: bool,
    /// Mask an invariant after [`MASK_AFTER`] crashes of it (campaigns), or never (trials).
    pub mask: bool,
    /// Stop the whole campaign when a crash satisfies this (trials).
    pub until: Option<&'a (dyn Fn(&Found) -> bool + Sync)>,
    /// Extra environment for the engine processes (say `SINTFUZZ_KNOWN=report`).
    pub env: Vec<(String, String)>,
    /// Extra engine options ([`RunSpec::args`]).
    pub args: Vec<String>,
    /// Turns a crash file of the binary into an input of `target` (a peer harness's
    /// bytes into the canonical `all_ops` input of the same scenario); the raw file is
    /// kept under `crashes/raw/`, and where the translation fails it is kept as it is,
    /// marked [`Found::untranslated`]. `None`: crash files are inputs of `target` already.
    pub translate: Option<&'a Translate<'a>>,
}

/// See [`Job::translate`].
pub type Translate<'a> = dyn Fn(&[u8]) -> Result<Vec<u8>, String> + Sync + 'a;

/// A child's combined output, read as it grows.
struct Tail {
    file: PathBuf,
    offset: u64,
    partial: String,
}

impl Tail {
    fn lines(&mut self) -> Vec<String> {
        let Ok(mut f) = std::fs::File::open(&self.file) else {
            return Vec::new();
        };
        if f.seek(SeekFrom::Start(self.offset)).is_err() {
            return Vec::new();
        }
        let mut buf = Vec::new();
        if f.read_to_end(&mut buf).is_err() {
            return Vec::new();
        }
        self.offset += buf.len() as u64;
        self.partial.push_str(&String::from_utf8_lossy(&buf));
        let mut out: Vec<String> = self.partial.split('\n').map(str::to_string).collect();
        self.partial = out.pop().unwrap_or_default();
        out
    }
}

fn signal_group(pgid: u32, sig: i32) {
    // SAFETY: kill(2) on our own children's process group; no memory is involved.
    unsafe {
        libc::kill(-(pgid as i32), sig);
    }
}

/// The engine process gets SIGKILL when the thread that started it ends, so a killed
/// campaign (`kill -9` included) leaves no engine running. Processes the engine starts
/// itself (libFuzzer's fork-mode jobs) are stopped by the next run on the same output
/// directory ([`crate::engine::lock::OutLock`]).
fn die_with_parent(cmd: &mut std::process::Command) {
    let parent = std::process::id() as i32;
    // SAFETY: the closure runs in the child between fork and exec and only calls
    // prctl(2), getppid(2) and _exit(2), all async-signal-safe.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(cmd, move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            // The parent may have died before the prctl took effect.
            if libc::getppid() != parent {
                libc::_exit(137);
            }
            Ok(())
        });
    }
}

fn spawn(
    job: &Job,
    spec: &RunSpec,
    round: u32,
    shared: &Shared,
) -> Result<(Vec<Child>, Vec<Tail>), Fail> {
    let cmds = job.engine.commands(spec)?;
    let mut children: Vec<Child> = Vec::new();
    let mut tails = Vec::new();
    for (i, mut cmd) in cmds.into_iter().enumerate() {
        let log = spec
            .work
            .join(format!("{}-round{round}-{i}.log", job.engine.name()));
        let f = std::fs::File::create(&log)
            .map_err(|e| Fail::Usage(format!("{}: {e}", log.display())))?;
        let f2 = f
            .try_clone()
            .map_err(|e| Fail::Usage(format!("{}: {e}", log.display())))?;
        // One process group for the run, so that stopping it stops everything it started,
        // and Ctrl-C reaches us, not it.
        let pgid = children.first().map_or(0, |c| c.id() as i32);
        std::os::unix::process::CommandExt::process_group(&mut cmd, pgid);
        die_with_parent(&mut cmd);
        cmd.env(
            sintfuzz_targets::harness::ENV_REVISION,
            spec.settings.revision.name(),
        )
        .env(
            sintfuzz_targets::harness::ENV_INVARIANTS,
            spec.settings.invariants.to_string(),
        )
        .env("RUST_BACKTRACE", "0")
        .env_remove(sintfuzz_targets::trace::ENV_LOG)
        .envs(job.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::from(f))
        .stderr(Stdio::from(f2));
        match cmd.spawn() {
            Ok(c) => {
                if children.is_empty() {
                    if let Some(l) = &shared.lock {
                        l.started(c.id());
                    }
                }
                children.push(c)
            }
            Err(e) => {
                if let Some(c) = children.first() {
                    signal_group(c.id(), libc::SIGKILL);
                }
                for c in &mut children {
                    let _ = c.wait();
                }
                return Err(Fail::Usage(format!(
                    "{} on {}: cannot start {}: {e}",
                    job.engine.name(),
                    job.target.name(),
                    cmd.get_program().to_string_lossy()
                )));
            }
        }
        tails.push(Tail {
            file: log,
            offset: 0,
            partial: String::new(),
        });
    }
    Ok((children, tails))
}

/// Run `job`; every crash file it wrote is in the returned list (copied under
/// `job.crashes`). A run that cannot start or ends unexpectedly is not an `Err`: its
/// `failure` says why, so the campaign still triages and reports everything else.
pub fn run(job: &Job, shared: &Shared) -> (RunStats, Vec<Found>) {
    let began = shared.start.elapsed().as_secs_f64();
    let mut t = Tally::new(job, began);
    let live = show_live(job, shared, began);
    let mut invariants = job.settings.invariants;
    let start = Instant::now();
    // A run that never restarts to import is one round unless it crashes or masks.
    let round_cap = if job.shared && !job.engine.reloads_corpus() {
        Some((job.seconds / 3).max(20))
    } else {
        None
    };
    // What an earlier run that was killed left in its rounds' directories (crash files it
    // had not collected, AFL++'s queue) is kept before those directories are reused.
    for work in rounds_left(&job.work) {
        salvage(job, &work, shared, &mut t.found);
        export_finds(job, &work, &mut t.exported, &mut t.stats.exported);
    }
    for round in 0u32.. {
        let left = job.seconds.saturating_sub(start.elapsed().as_secs());
        if left == 0 || shared.stopped() || invariants == InvariantSet::NONE {
            break;
        }
        let secs = round_cap.map_or(left, |c| c.min(left));
        let Some(mut r) = start_round(job, shared, &mut t, round, secs, invariants) else {
            break;
        };
        watch_round(job, shared, &mut t, &mut r, round_cap.is_some());
        if !end_round(job, shared, &mut t, r, round_cap.is_some(), &mut invariants) {
            break;
        }
    }
    shared.runs.lock().expect("not poisoned")[live].done = true;
    t.finish(job, shared, began)
}

/// What a run carries from round to round.
struct Tally {
    stats: RunStats,
    found: Vec<Found>,
    /// Crash files already read, and the engine's finds already exported.
    seen: std::collections::BTreeSet<PathBuf>,
    exported: std::collections::BTreeSet<PathBuf>,
    /// Crash files per invariant, for masking.
    counts: std::collections::BTreeMap<Invariant, usize>,
    /// Executions of the rounds that ended, and the last round's stats.
    total_execs: u64,
    last: Stats,
    last_sample: Instant,
}

impl Tally {
    fn new(job: &Job, began: f64) -> Self {
        Tally {
            stats: RunStats {
                engine: job.engine.name().into(),
                target: job.target.name().into(),
                jobs: job.jobs,
                began,
                ..RunStats::default()
            },
            found: Vec::new(),
            seen: Default::default(),
            exported: Default::default(),
            counts: Default::default(),
            total_execs: 0,
            last: Stats::default(),
            last_sample: Instant::now() - Duration::from_secs(10),
        }
    }

    /// The run's stats once its last round ended.
    fn finish(mut self, job: &Job, shared: &Shared, began: f64) -> (RunStats, Vec<Found>) {
        let stats = &mut self.stats;
        let end = shared.start.elapsed().as_secs_f64();
        stats.seconds = end - began;
        stats.execs = self.total_execs;
        stats.exec_per_sec = self.total_execs as f64 / stats.seconds.max(1e-9);
        stats.coverage = self.last.coverage_label;
        stats.crash_files = self.found.len();
        stats.interrupted = shared.stopped() && job.until.is_none();
        if stats.failure.is_none() && stats.rounds > 0 && self.total_execs == 0 && !shared.stopped()
        {
            stats.failure = Some("the engine reported zero executions".into());
        }
        (self.stats, self.found)
    }
}

/// List the run for the live display; its index there.
fn show_live(job: &Job, shared: &Shared, began: f64) -> usize {
    let mut runs = shared.runs.lock().expect("not poisoned");
    runs.push(LiveRun {
        engine: job.engine.name(),
        target: job.target.name(),
        revision: job.settings.revision.name(),
        began,
        seconds: job.seconds,
        done: false,
    });
    runs.len() - 1
}

/// One round's engine processes and what they have shown so far.
struct Round {
    work: PathBuf,
    settings: Settings,
    spec: RunSpec,
    secs: u64,
    children: Vec<Child>,
    tails: Vec<Tail>,
    pgid: u32,
    start: Instant,
    live: Stats,
    statuses: Vec<Option<std::process::ExitStatus>>,
    /// The invariant to mask, once it crashed `MASK_AFTER` times.
    mask: Option<Invariant>,
    stopped_by_us: bool,
    found_before: usize,
    /// Crash files the engine wrote this round.
    raw: usize,
}

/// Start round `round` for `secs` seconds under `invariants`; `None` (with the run's
/// failure set) when it cannot.
fn start_round(
    job: &Job,
    shared: &Shared,
    t: &mut Tally,
    round: u32,
    secs: u64,
    invariants: InvariantSet,
) -> Option<Round> {
    let work = job.work.join(format!("round-{round}"));
    let _ = std::fs::remove_dir_all(&work);
    if let Err(e) = std::fs::create_dir_all(&work) {
        t.stats.failure = Some(format!("{}: {e}", work.display()));
        return None;
    }
    let settings = Settings {
        revision: job.settings.revision,
        invariants,
    };
    let spec = RunSpec {
        target: job.target,
        binary: job.binary.clone(),
        corpus: job.corpus.clone(),
        work: work.clone(),
        seconds: secs,
        jobs: job.jobs,
        settings,
        seed: job.seed.map(|s| s + round as u64 * 1000),
        stop_on_crash: job.stop_on_crash,
        shared: job.shared,
        args: job.args.clone(),
    };
    if !job.binary.is_file() {
        t.stats.failure = Some(crate::engine::missing_binary(job.engine, &job.binary));
        return None;
    }
    let (children, tails) = match spawn(job, &spec, round, shared) {
        Ok(x) => x,
        Err(Fail::Usage(e)) => {
            t.stats.failure = Some(e);
            return None;
        }
    };
    t.stats.rounds += 1;
    Some(Round {
        pgid: children[0].id(),
        statuses: vec![None; children.len()],
        work,
        settings,
        spec,
        secs,
        children,
        tails,
        start: Instant::now(),
        live: Stats::default(),
        mask: None,
        stopped_by_us: false,
        found_before: t.found.len(),
        raw: 0,
    })
}

/// Follow the round until its processes exit: poll them every 250 ms, sample once a
/// second, and stop them when the run must (a mask, a stop, over time, a restart).
fn watch_round(job: &Job, shared: &Shared, t: &mut Tally, r: &mut Round, restarts: bool) {
    loop {
        for (c, s) in r.children.iter_mut().zip(r.statuses.iter_mut()) {
            if s.is_none() {
                if let Ok(Some(st)) = c.try_wait() {
                    *s = Some(st);
                }
            }
        }
        let all_done = r.statuses.iter().all(Option::is_some);
        // Before leaving on the engine's exit: libFuzzer exits at its crash, and that
        // crash may be the one the job waits for.
        poll(job, shared, t, r, all_done);
        if t.last_sample.elapsed() >= Duration::from_secs(1) || all_done {
            sample(job, shared, t, r);
        }
        if all_done {
            break;
        }
        let over = r.start.elapsed() > Duration::from_secs(r.secs + 60);
        let restart = restarts && r.start.elapsed() > Duration::from_secs(r.secs + 5);
        if (r.mask.is_some() && job.mask) || shared.stopped() || over || restart {
            r.stopped_by_us = true;
            signal_group(r.pgid, libc::SIGTERM);
            if r.start.elapsed() > Duration::from_secs(r.secs + 70) {
                signal_group(r.pgid, libc::SIGKILL);
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// One look at a running (or, `settled`, ended) round: the engine's output and stats, its
/// new crash files and finds; the campaign stops once the crash the job waits for came.
fn poll(job: &Job, shared: &Shared, t: &mut Tally, r: &mut Round, settled: bool) {
    for tail in &mut r.tails {
        for l in tail.lines() {
            job.engine.parse_line(&l, &mut r.live);
        }
    }
    job.engine.read_stats(&r.work, &mut r.live);
    collect_crashes(
        job,
        &r.work,
        r.settings,
        shared,
        settled,
        &mut t.seen,
        &mut t.counts,
        &mut t.found,
        &mut r.mask,
        &mut r.raw,
        (t.total_execs, r.live.execs),
    );
    export_finds(job, &r.work, &mut t.exported, &mut t.stats.exported);
    let new = &t.found[r.found_before..];
    if job.until.is_some_and(|u| new.iter().any(u)) {
        shared.stop.store(true, Ordering::SeqCst);
    }
}

/// A sample of the run for the report's plots.
fn sample(job: &Job, shared: &Shared, t: &mut Tally, r: &Round) {
    job.engine.sync_in(&r.spec);
    t.last_sample = Instant::now();
    shared.samples.lock().expect("not poisoned").push(Sample {
        t: shared.start.elapsed().as_secs_f64(),
        engine: job.engine.name(),
        target: job.target.name(),
        execs: t.total_execs + r.live.execs,
        exec_per_sec: r.live.exec_per_sec,
        corpus: r.live.corpus.or(Some(count_files(&job.corpus))),
        coverage: r.live.coverage,
        crash_files: t.found.len(),
    });
}

/// After the round's processes exited: a last poll, its executions and exits, and
/// whether the run goes on (with `invariants` less a masked one).
fn end_round(
    job: &Job,
    shared: &Shared,
    t: &mut Tally,
    mut r: Round,
    restarts: bool,
    invariants: &mut InvariantSet,
) -> bool {
    // Whatever the leaders left behind goes too.
    signal_group(r.pgid, libc::SIGKILL);
    if let Some(l) = &shared.lock {
        l.ended(r.pgid);
    }
    poll(job, shared, t, &mut r, true);
    // An engine that stopped itself at a crash printed its count at the crash.
    if !r.stopped_by_us && t.found.len() == r.found_before + 1 {
        t.found[r.found_before].execs = t.total_execs + r.live.execs;
    }
    let log: String = r
        .tails
        .iter()
        .map(|tail| std::fs::read_to_string(&tail.file).unwrap_or_default())
        .collect();
    if job.shared {
        t.stats.imported += job.engine.imported(&r.work, &log);
    }
    t.total_execs += r.live.execs;
    t.last = std::mem::take(&mut r.live);
    let crashed = r.raw > 0;
    if let Some(f) = classify_exits(job, &mut t.stats, &r, crashed, &log) {
        t.stats.failure = Some(f);
        return false;
    }
    if job.stop_on_crash && crashed {
        return false;
    }
    match r.mask {
        Some(inv) if job.mask => {
            *invariants = invariants
                .iter()
                .filter(|&i| i != inv)
                .fold(InvariantSet::NONE, InvariantSet::with);
            crate::engine::console::say(&format!(
                "sintfuzz: {} {}: {MASK_AFTER} crashes of {inv}; continuing without it",
                job.engine.name(),
                job.target.name()
            ));
            true
        }
        // The engine stopped at a crash, or a restart to import: go on.
        _ => crashed || restarts,
    }
}

/// Each process's exit into `stats`; why the run failed, if it did (with the last line
/// of its output).
fn classify_exits(
    job: &Job,
    stats: &mut RunStats,
    r: &Round,
    crashed: bool,
    log: &str,
) -> Option<String> {
    let mut failed = None;
    for s in r.statuses.iter().flatten() {
        let exit = job.engine.classify_exit(*s, r.stopped_by_us, crashed);
        if let Exit::Failed(why) = &exit {
            let tail = log
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim()
                .to_string();
            failed = Some(format!("{why}; last output: {tail}"));
        }
        stats.exits.push(exit);
    }
    failed
}

/// How long a crash file must go unmodified before it is read while its engine still
/// runs: an engine creates the file, then writes it, and a file read in between is a
/// truncated copy that replays as something else (or clean), and is never read again.
const SETTLE: Duration = Duration::from_secs(1);

/// Copy new crash files into `job.crashes`, classify them, and choose an invariant to
/// mask once one reaches [`MASK_AFTER`]. Unless the engine is done (`settled`), a file
/// modified in the last [`SETTLE`] is left for a later call. `execs` is the run's
/// executions before this round and the round's last count: a file's executions are the
/// count its engine recorded with it where there is one (one process), else that last
/// count.
#[allow(clippy::too_many_arguments)]
fn collect_crashes(
    job: &Job,
    work: &Path,
    settings: Settings,
    shared: &Shared,
    settled: bool,
    seen: &mut std::collections::BTreeSet<PathBuf>,
    counts: &mut std::collections::BTreeMap<Invariant, usize>,
    found: &mut Vec<Found>,
    mask: &mut Option<Invariant>,
    raw: &mut usize,
    execs: (u64, u64),
) {
    for path in job.engine.crash_files(work) {
        if seen.contains(&path) {
            continue;
        }
        let mtime = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .unwrap_or_else(|_| SystemTime::now());
        let fresh = SystemTime::now()
            .duration_since(mtime)
            .map_or(true, |age| age < SETTLE);
        if fresh && !settled {
            continue;
        }
        seen.insert(path.clone());
        let Ok(data) = std::fs::read(&path) else {
            continue;
        };
        let seconds = mtime
            .duration_since(shared.start_wall)
            .map_or(0.0, |d| d.as_secs_f64());
        *raw += 1;
        let (kept, untranslated) = keep_crash(job, data, &path);
        if found.iter().any(|f| f.path == kept) {
            continue;
        }
        let inv = if untranslated {
            None
        } else {
            replay_invariant(job.target, &kept, &settings)
        };
        if let Some(inv) = inv {
            let n = counts.entry(inv).or_insert(0);
            *n += 1;
            if *n >= MASK_AFTER && mask.is_none() {
                *mask = Some(inv);
            }
        }
        if !untranslated {
            shared
                .found
                .lock()
                .expect("not poisoned")
                .push((kept.clone(), job.target, settings));
        }
        found.push(Found {
            path: kept,
            target: job.target,
            settings,
            engine: job.engine.name(),
            seconds,
            invariant: inv.map(|i| i.id()),
            untranslated,
            execs: execs.0
                + job
                    .engine
                    .crash_execs(&path)
                    .filter(|_| job.jobs == 1)
                    .unwrap_or(execs.1),
        });
    }
}

/// Keep a crash file's bytes `data` (read from `path`) in `job.crashes`, translated into
/// an input of `job.target` when the job translates (the raw file kept beside, under
/// `raw/`). Returns where it is kept and whether it stayed untranslated.
fn keep_crash(job: &Job, data: Vec<u8>, path: &Path) -> (PathBuf, bool) {
    let prefix = format!("{}-", job.engine.name());
    let (data, untranslated) = match job.translate {
        None => (data, false),
        Some(t) => {
            let _ = add_bytes(&job.crashes.join("raw"), &data, &prefix);
            // An untranslatable file stays as it is, marked: it is bucketed by the
            // harness's own replay of it, never replayed as an input of `target`.
            match t(&data) {
                Ok(input) => (input, false),
                Err(_) => (data, true),
            }
        }
    };
    // The same bytes again (in this run or an earlier one) are one crash file.
    let kept = match add_bytes(&job.crashes, &data, &prefix) {
        Ok((p, _)) => p,
        Err(_) => path.to_path_buf(),
    };
    (kept, untranslated)
}

/// Keep the crash files an earlier run left in `work` that are not kept yet (it was
/// killed before it collected them), as crashes of this run.
fn salvage(job: &Job, work: &Path, shared: &Shared, found: &mut Vec<Found>) {
    if job.translate.is_some() {
        // A trial's scratch directory is its own: nothing is left from another run.
        return;
    }
    for path in job.engine.crash_files(work) {
        let Ok(data) = std::fs::read(&path) else {
            continue;
        };
        let prefix = format!("{}-", job.engine.name());
        let Ok((kept, true)) = add_bytes(&job.crashes, &data, &prefix) else {
            continue;
        };
        crate::engine::console::say(&format!(
            "sintfuzz: kept {} left by an earlier run",
            path.display()
        ));
        shared
            .found
            .lock()
            .expect("not poisoned")
            .push((kept.clone(), job.target, job.settings));
        found.push(Found {
            invariant: replay_invariant(job.target, &kept, &job.settings).map(|i| i.id()),
            path: kept,
            target: job.target,
            settings: job.settings,
            engine: job.engine.name(),
            seconds: 0.0,
            untranslated: false,
            execs: 0,
        });
    }
}

/// The `round-N` directories under `work`, in order of N.
fn rounds_left(work: &Path) -> Vec<PathBuf> {
    let mut v: Vec<(u32, PathBuf)> = std::fs::read_dir(work)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e
                .file_name()
                .to_str()?
                .strip_prefix("round-")?
                .parse()
                .ok()?;
            Some((n, e.path()))
        })
        .collect();
    v.sort();
    v.into_iter().map(|(_, p)| p).collect()
}

/// The invariant a file violates, without letting a model panic through.
pub fn replay_invariant(target: Target, path: &Path, settings: &Settings) -> Option<Invariant> {
    let data = read_input(path).ok()?;
    crate::panics::quietly(|| sintfuzz_targets::run(target, &data, settings))
        .ok()?
        .violation()
        .map(|v| v.invariant)
}

fn export_finds(
    job: &Job,
    work: &Path,
    done: &mut std::collections::BTreeSet<PathBuf>,
    n: &mut usize,
) {
    for p in job.engine.own_finds(work) {
        if done.insert(p.clone()) && matches!(add_file(&job.corpus, &p, ""), Ok((_, true))) {
            *n += 1;
        }
    }
}

/// Run the phases of a schedule (`phases::schedule`): the jobs of each phase at once,
/// one thread each, phase after phase until `shared` is stopped. `job(engine, jobs,
/// phase)` builds each job.
pub fn run_phases<'a>(
    phases: &[Vec<(Engine, u32)>],
    shared: &Shared,
    job: impl Fn(Engine, u32, usize) -> Job<'a> + Sync,
) -> Vec<(RunStats, Vec<Found>)> {
    let mut results = Vec::new();
    for (p, phase) in phases.iter().enumerate() {
        if shared.stopped() {
            break;
        }
        results.extend(std::thread::scope(|s| {
            let hs: Vec<_> = phase
                .iter()
                .map(|&(engine, jobs)| {
                    let j = job(engine, jobs, p);
                    s.spawn(move || run(&j, shared))
                })
                .collect();
            hs.into_iter()
                .map(|h| h.join().expect("runner thread"))
                .collect::<Vec<_>>()
        }));
    }
    results
}

/// CPU seconds (user + system) of every child this process has waited for so far; the
/// difference over a run is what its engine processes cost.
pub fn children_cpu_seconds() -> f64 {
    // SAFETY: getrusage(2) fills the zeroed struct we pass; no other memory is touched.
    let u = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut u);
        u
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(u.ru_utime) + tv(u.ru_stime)
}
