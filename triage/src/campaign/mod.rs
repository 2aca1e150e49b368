//! **campaign/** owns one-command campaigns and what they keep: the orchestration (this
//! file), the persistent output directory (`store`), the live display of the engines'
//! rounds (`progress`; the rounds themselves are `engine/runner`'s), the report and its
//! plots (`report`, `plot`), corpus minimization (`cmin`), coverage (`cover`,
//! `semantic`). It may call `findings/` (triage of crash files),
//! `engine/` and the targets; never `cli/`, `bench/` or `check/`.
//!
//! `sintfuzz campaign`: install and build what the engines need, fuzz every target from
//! the persistent corpus in `--out` (seeded from `corpus/`), engines one after another or
//! side by side on one shared corpus (`--engine all --jobs N`), keep going after crashes,
//! then triage every crash file into buckets that accumulate across runs, and write
//! `report.md` and `report.json`.
//!
//! Exit: 0 when no bucket fails (none, or only known open findings), 1 when a new bucket
//! (or a known finding upstream has since fixed, or a model panic) was found, 2 on setup
//! failure or when an engine exited unexpectedly or ran zero executions (the report is
//! still written then).

pub mod cmin;
pub mod cover;
pub mod plot;
pub mod progress;
pub mod report;
pub mod semantic;
pub mod store;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use sintfuzz_model::Revision;
use sintfuzz_targets::{InvariantSet, Settings, Target};

use crate::args::{parse_duration, parse_targets};
use crate::engine::files::{add_file, count_files};
use crate::engine::phases::{schedule, EngineChoice};
use crate::engine::runner::{self, Found, Job, RunStats, Shared};
use crate::engine::{Binaries, Engine};
use crate::findings::bucket::{Crash, KnownList};
use crate::findings::triage::{triage_with, Replay};
use crate::panics::quietly;
use crate::{repo_root, Fail};
use report::{BucketReport, CorpusReport, PanicReport, Report};
use sintfuzz_targets::known::{judge, KnownMode, Verdict};
use store::{unix_now, Store};

#[derive(Args, Clone, Debug)]
pub struct CampaignArgs {
    /// Fuzzing engine; `all` with `--jobs` ≥ 2 runs them side by side on one corpus.
    #[arg(long, value_enum, default_value = "libfuzzer")]
    pub engine: EngineChoice,
    /// Comma-separated targets, or `all`.
    #[arg(long, default_value = "all")]
    pub targets: String,
    /// Filter revision (default: $SINTFUZZ_REVISION or head).
    #[arg(long, value_parser = |s: &str| s.parse::<Revision>().map_err(|e| e.to_string()))]
    pub revision: Option<Revision>,
    /// default, strict, or comma-separated invariant ids.
    #[arg(long, value_parser = InvariantSet::parse)]
    pub invariants: Option<InvariantSet>,
    /// Total budget, shared by targets (and by engines run one after another): `90s`,
    /// `5m`, `1h`, or seconds.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub time: Duration,
    /// Cores to use. One engine: its own parallelism. `--engine all`: with 1 the engines
    /// take turns; with N ≥ 2 up to N engines run at once, sharing new inputs.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub jobs: u32,
    /// Output directory, kept across runs (default: ./sintfuzz-out).
    #[arg(long, default_value = "sintfuzz-out", value_parser = crate::paths::absolute)]
    pub out: PathBuf,
    /// Delete the output directory's corpus, crashes and bucket history first.
    #[arg(long)]
    pub fresh: bool,
    /// Known-findings list (default: triage/known.toml).
    #[arg(long, value_parser = crate::paths::absolute)]
    pub known: Option<PathBuf>,
    /// Use engine binaries already built in DIR (`<target>`, `<target>_afl`,
    /// `<target>_hfuzz`) instead of installing and building.
    #[arg(long, value_parser = crate::paths::absolute)]
    pub bin_dir: Option<PathBuf>,
}

/// Seed the persistent corpus from `corpus/<target>/`, and move out every file that
/// already violates an invariant (or panics the model) under this run's settings: those
/// are crashes of this run, and an engine would stop at them while loading.
fn prepare_corpus(
    root: &Path,
    store: &Store,
    target: Target,
    settings: Settings,
    shared: &Shared,
) -> Result<(CorpusReport, Vec<Found>), Fail> {
    let dir = store.corpus(target, settings.revision);
    std::fs::create_dir_all(&dir).map_err(|e| Fail::Usage(format!("{}: {e}", dir.display())))?;
    let resumed = count_files(&dir);
    let mut seeds_added = 0;
    let seeds = root.join("corpus").join(target.name());
    for e in std::fs::read_dir(&seeds).into_iter().flatten().flatten() {
        if e.path().is_file() && add_file(&dir, &e.path(), "")?.1 {
            seeds_added += 1;
        }
    }
    let found = sweep_corpus(store, target, settings, shared)?;
    Ok((
        CorpusReport {
            target: target.name().into(),
            resumed,
            seeds_added,
            moved_to_crashes: found.len(),
            start: count_files(&dir),
            end: 0,
            minimized: None,
            semantic: Default::default(),
        },
        found,
    ))
}

/// Move out of the persistent corpus every file that violates an invariant the engines
/// stop at (or panics the model) under `settings`, into the crashes: at the start of a
/// run (an engine would stop at them while loading), and before the end-of-run
/// minimization (libFuzzer's merge leaves crashing inputs out, so they would be lost;
/// an engine that masked an invariant mid-run keeps adding inputs that violate it).
fn sweep_corpus(
    store: &Store,
    target: Target,
    settings: Settings,
    shared: &Shared,
) -> Result<Vec<Found>, Fail> {
    let dir = store.corpus(target, settings.revision);
    let mut found = Vec::new();
    let crashes = store.crashes(target, settings.revision);
    let mode = KnownMode::from_env().map_err(Fail::Usage)?;
    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let p = e.path();
        if !p.is_file() {
            continue;
        }
        let Ok(data) = std::fs::read(&p) else {
            continue;
        };
        // What the engines would stop at: a violation that is not a known open finding
        // they skip (`SINTFUZZ_KNOWN`), or a model panic.
        let crash = match quietly(|| {
            let v = sintfuzz_targets::run(target, &data, &settings).violation()?;
            let verdict = judge(KnownList::embedded(), mode, target, &data, &settings, &v);
            matches!(verdict, Verdict::Stop(_)).then_some(v.invariant.id())
        }) {
            Ok(v) => v.map(Some),
            Err(_) => Some(None),
        };
        if let Some(invariant) = crash {
            let (kept, _) = crate::engine::files::add_bytes(&crashes, &data, "corpus-")?;
            std::fs::remove_file(&p).map_err(|e| Fail::Usage(format!("{}: {e}", p.display())))?;
            found.push(Found {
                path: kept,
                target,
                settings,
                engine: "corpus",
                seconds: shared.start.elapsed().as_secs_f64(),
                invariant,
                untranslated: false,
                execs: 0,
            });
        }
    }
    Ok(found)
}

/// The campaign's steps in order: settings, binaries, each target's runs and corpus,
/// triage and report.
pub fn campaign(args: CampaignArgs) -> Result<u8, Fail> {
    let settings = crate::args::settings(args.revision, args.invariants)?;
    let targets = parse_targets(&args.targets).map_err(Fail::Usage)?;
    let root = repo_root();
    let known_path = args
        .known
        .clone()
        .unwrap_or_else(|| root.join("triage/known.toml"));
    let known = KnownList::load(&known_path).map_err(Fail::Usage)?;
    let out = args.out.clone();
    let store = Store::open(&out, args.fresh)?;
    let mut history = store.load_history()?;
    let started = unix_now();

    let engines = args.engine.engines();
    let side_by_side = engines.len() > 1 && args.jobs > 1;
    let (phases, mut notes) = plan_phases(&engines, args.jobs, side_by_side);
    let mut bins: BTreeMap<Engine, Binaries> = BTreeMap::new();
    for &e in &engines {
        bins.insert(e, e.binaries(args.bin_dir.as_deref(), &root)?);
    }

    let shared = Arc::new(Shared::locked(store.lock.clone()));
    runner::stop_on_ctrl_c();
    let per_target = args.time.as_secs() / targets.len() as u64;
    // Each phase's share of a target's time (one engine after another, or the phases of
    // engines side by side).
    let share = (per_target / phases.len() as u64).max(1);

    let progress = crate::campaign::progress::Progress::start(shared.clone(), known.clone());
    let fleet = Fleet {
        store: &store,
        bins: &bins,
        phases: &phases,
        shared: &shared,
        settings,
        share,
        side_by_side,
    };
    let Fuzzed {
        runs,
        found,
        corpora,
    } = fleet.run_targets(&root, &targets, &mut notes)?;

    progress.finish();
    let samples = std::mem::take(&mut *shared.samples.lock().expect("not poisoned"));
    let header = report::Header {
        started,
        revision: settings.revision.name().into(),
        invariants: settings.invariants.to_string(),
        engine: args.engine.name().into(),
        budget_seconds: args.time.as_secs(),
        jobs: args.jobs,
        side_by_side,
        interrupted: shared.stopped(),
        notes,
    };
    let replay: Replay = &|t, d, s| sintfuzz_targets::run(t, d, s);
    finish(
        &store,
        &mut history,
        header,
        corpora,
        runs,
        samples,
        &found,
        &known,
        replay,
    )
}

/// What the engines did on every target: their runs, the crash files found, each
/// target's corpus report.
struct Fuzzed {
    runs: Vec<RunStats>,
    found: Vec<Found>,
    corpora: Vec<CorpusReport>,
}

/// The engines of a campaign and what their runs share.
struct Fleet<'a> {
    store: &'a Store,
    bins: &'a BTreeMap<Engine, Binaries>,
    phases: &'a [Vec<(Engine, u32)>],
    shared: &'a Shared,
    settings: Settings,
    /// Each phase's seconds.
    share: u64,
    side_by_side: bool,
}

impl Fleet<'_> {
    /// Each target in turn: its corpus seeded, the engines run on it, the corpus swept.
    fn run_targets(
        &self,
        root: &Path,
        targets: &[Target],
        notes: &mut Vec<String>,
    ) -> Result<Fuzzed, Fail> {
        let mut runs: Vec<RunStats> = Vec::new();
        let mut found: Vec<Found> = Vec::new();
        let mut corpora = Vec::new();
        for &target in targets {
            if self.shared.stopped() {
                break;
            }
            let (mut corpus_report, pre) =
                prepare_corpus(root, self.store, target, self.settings, self.shared)?;
            found.extend(pre);
            for (st, f) in self.run(target) {
                report_run(&st);
                runs.push(st);
                found.extend(f);
            }
            close_corpus(
                self.store,
                self.bins,
                target,
                self.settings,
                self.shared,
                &mut corpus_report,
                &mut found,
                notes,
            )?;
            corpora.push(corpus_report);
        }
        Ok(Fuzzed {
            runs,
            found,
            corpora,
        })
    }

    /// Every phase's engines on `target`'s persistent corpus.
    fn run(&self, target: Target) -> Vec<(RunStats, Vec<Found>)> {
        let (store, settings) = (self.store, self.settings);
        let corpus = store.corpus(target, settings.revision);
        let job = |engine: Engine, jobs: u32, phase: usize| {
            let work = store.work(engine.name(), target, settings.revision);
            Job {
                engine,
                target,
                binary: self.bins[&engine].target(target),
                corpus: corpus.clone(),
                work: if self.side_by_side && self.phases.len() > 1 {
                    work.join(format!("phase-{phase}"))
                } else {
                    work
                },
                crashes: store.crashes(target, settings.revision),
                seconds: self.share,
                jobs,
                settings,
                seed: None,
                stop_on_crash: false,
                shared: self.side_by_side,
                mask: true,
                until: None,
                env: Vec::new(),
                args: Vec::new(),
                translate: None,
            }
        };
        runner::run_phases(self.phases, self.shared, job)
    }
}

/// The phases of the run (side by side: engines running at once, taking turns when
/// `jobs` is fewer; else one engine after another), and a note when they take turns.
fn plan_phases(
    engines: &[Engine],
    jobs: u32,
    side_by_side: bool,
) -> (Vec<Vec<(Engine, u32)>>, Vec<String>) {
    // Side by side: phases of engines running at once; one engine: one phase of it.
    let phases: Vec<Vec<(Engine, u32)>> = if side_by_side {
        schedule(engines, jobs)
    } else {
        engines.iter().map(|&e| vec![(e, jobs)]).collect()
    };
    let mut notes = Vec::new();
    if side_by_side && phases.len() > 1 {
        notes.push(format!(
            "--jobs {} is fewer cores than {} engines: they take turns in {} phases of {} at once, each engine in {} of them",
            jobs,
            engines.len(),
            phases.len(),
            jobs,
            jobs
        ));
    }
    (phases, notes)
}

/// A target's corpus after its runs: violating inputs moved to the crashes, minimized
/// (libFuzzer's merge, when its binary is here), its skip shares noted and its semantic
/// coverage counted.
#[allow(clippy::too_many_arguments)]
fn close_corpus(
    store: &Store,
    bins: &BTreeMap<Engine, Binaries>,
    target: Target,
    settings: Settings,
    shared: &Shared,
    corpus_report: &mut CorpusReport,
    found: &mut Vec<Found>,
    notes: &mut Vec<String>,
) -> Result<(), Fail> {
    let corpus = store.corpus(target, settings.revision);
    let swept = sweep_corpus(store, target, settings, shared)?;
    corpus_report.moved_to_crashes += swept.len();
    found.extend(swept);
    corpus_report.end = count_files(&corpus);
    // Keep the persistent corpus small: libFuzzer's merge, when its binary is here.
    if let Some(lf) = bins.get(&Engine::Libfuzzer) {
        match crate::campaign::cmin::minimize_corpus(lf, target, &corpus, &settings) {
            Ok((_, after)) => corpus_report.minimized = Some(after),
            Err(Fail::Usage(e)) => crate::engine::console::say(&format!("sintfuzz: cmin: {e}")),
        }
    }
    notes.push(crate::findings::skips::corpus_note(
        target, &settings, &corpus,
    ));
    corpus_report
        .semantic
        .replay_dir(target, &corpus, &settings);
    Ok(())
}

fn report_run(st: &RunStats) {
    crate::engine::console::say(&format!(
        "sintfuzz: {} {}: {:.0} s, {} execs ({:.0}/s), {} crash file(s), exported {}, imported {}{}",
        st.engine,
        st.target,
        st.seconds,
        st.execs,
        st.exec_per_sec,
        st.crash_files,
        st.exported,
        st.imported,
        st.failure
            .as_deref()
            .map_or(String::new(), |f| format!("; FAILED: {f}"))
    ));
}

/// Triage every crash file, update the bucket history and write the report; returns the
/// exit code. Separate from [`campaign`] so tests can drive it with a panicking replay.
#[allow(clippy::too_many_arguments)]
pub fn finish(
    store: &Store,
    history: &mut crate::campaign::store::History,
    header: report::Header,
    corpora: Vec<CorpusReport>,
    runs: Vec<RunStats>,
    samples: Vec<runner::Sample>,
    found: &[Found],
    known: &KnownList,
    replay: Replay,
) -> Result<u8, Fail> {
    eprintln!("sintfuzz: triaging {} crash file(s) ...", found.len());
    let crashes: Vec<Crash> = found
        .iter()
        .map(|f| Crash {
            path: f.path.clone(),
            target: f.target,
            settings: f.settings,
            peer: None,
        })
        .collect();
    let t = triage_with(&crashes, known, replay);
    let previous_run = history.runs.last().map(|r| r.started);
    let buckets = bucket_reports(store, history, &header, previous_run, &t, found)?;
    let panics = panic_reports(history, &header, previous_run, &t);
    let failures = run_failures(&runs);
    let fails = t.buckets.buckets.iter().any(|b| b.fails()) || !t.panics.is_empty();
    let code = if failures.is_empty() { fails as u8 } else { 2 };
    let new_since = buckets.iter().filter(|b| b.new_since_previous).count()
        + panics.iter().filter(|p| p.new_since_previous).count();
    history.runs.push(crate::campaign::store::RunRecord {
        started: header.started,
        engines: header.engine.clone(),
        targets: corpora
            .iter()
            .map(|c| c.target.clone())
            .collect::<Vec<_>>()
            .join(","),
        revision: header.revision.clone(),
        invariants: header.invariants.clone(),
        budget_seconds: header.budget_seconds,
        buckets: buckets.len() + panics.len(),
        new_since_previous: new_since,
    });
    store.save_history(history)?;
    let rep = Report {
        header,
        previous_run,
        corpora,
        runs,
        samples,
        buckets,
        model_panics: panics,
        failures,
        clean_crash_files: t.buckets.clean.len(),
        unreadable_crash_files: t.buckets.errors.len(),
        exit_code: code,
    };
    report::write(&store.root, &rep)?;
    print_summary(store, &rep, new_since);
    Ok(code)
}

/// Each bucket's minimized file (`OUT/buckets/`), explanation and history.
fn bucket_reports(
    store: &Store,
    history: &mut crate::campaign::store::History,
    header: &report::Header,
    previous_run: Option<u64>,
    t: &crate::findings::triage::Triage,
    found: &[Found],
) -> Result<Vec<BucketReport>, Fail> {
    let dir = store.root.join("buckets");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| Fail::Usage(format!("{}: {e}", dir.display())))?;
    let mut buckets = Vec::new();
    for (i, b) in t.buckets.buckets.iter().enumerate() {
        let file = dir.join(format!(
            "{i:02}-{}-{}.bin",
            b.label.invariant, b.label.target
        ));
        std::fs::write(&file, &b.minimized)
            .map_err(|e| Fail::Usage(format!("{}: {e}", file.display())))?;
        let target = b.target.expect("set by bucket");
        let (text, _) = crate::findings::explain::explain(
            target,
            &b.minimized,
            &b.settings.expect("set by bucket"),
        );
        let key = b.signature.clone();
        let (seen, new_here) = history.note(
            &key,
            &b.violation_line,
            b.files.len() as u64,
            header.started,
        );
        let first = found
            .iter()
            .filter(|f| b.files.contains(&f.path))
            .min_by(|a, b| a.seconds.total_cmp(&b.seconds));
        buckets.push(BucketReport {
            bucket: b.clone(),
            status: if b.is_new() { "new" } else { "known" },
            minimized_file: file.display().to_string(),
            explain: text,
            first_seen: seen.first_seen,
            last_seen: seen.last_seen,
            count: seen.count,
            runs: seen.runs,
            new_since_previous: new_here && previous_run.is_some(),
            first_found_seconds: first.map(|f| f.seconds),
            first_found_by: first.map(|f| f.engine.to_string()),
        });
    }
    Ok(buckets)
}

/// Each model panic with its history.
fn panic_reports(
    history: &mut crate::campaign::store::History,
    header: &report::Header,
    previous_run: Option<u64>,
    t: &crate::findings::triage::Triage,
) -> Vec<PanicReport> {
    let mut panics = Vec::new();
    for p in &t.panics {
        let key = format!("model-panic/{}/{}/{}", p.target, p.revision, p.site);
        let (seen, new_here) = history.note(&key, &p.message, p.files.len() as u64, header.started);
        panics.push(PanicReport {
            panic: p.clone(),
            first_seen: seen.first_seen,
            count: seen.count,
            new_since_previous: new_here && previous_run.is_some(),
        });
    }
    panics
}

/// `engine target: why` for each run that failed.
fn run_failures(runs: &[RunStats]) -> Vec<String> {
    runs.iter()
        .filter_map(|r| {
            r.failure
                .as_ref()
                .map(|f| format!("{} {}: {f}", r.engine, r.target))
        })
        .collect()
}

/// One line per bucket and model panic, the failures, and the totals.
fn print_summary(store: &Store, rep: &Report, new_since: usize) {
    for b in &rep.buckets {
        println!(
            "[{}{}] {} ({} -> {} actions, {} file(s)) {}",
            b.bucket
                .known
                .as_deref()
                .map_or("new".to_string(), |k| format!("known {k}")),
            if b.new_since_previous {
                ", new since the previous run"
            } else {
                ""
            },
            b.bucket.violation_line,
            b.bucket.ops_before,
            b.bucket.ops_after,
            b.bucket.files.len(),
            b.minimized_file
        );
    }
    for p in &rep.model_panics {
        println!(
            "[model-panic] {} {} at {}: {} ({} file(s))",
            p.panic.target,
            p.panic.revision,
            p.panic.site,
            p.panic.message,
            p.panic.files.len()
        );
    }
    for f in &rep.failures {
        eprintln!("sintfuzz: engine failure: {f}");
    }
    // On a first run in this --out there is no previous run to be new since.
    let since = match rep.previous_run {
        Some(_) => format!("{new_since} new since the previous run"),
        None => "first run in this output directory".to_string(),
    };
    println!(
        "{} bucket(s), {} new, {since}, {} model panic(s); report: {}",
        rep.buckets.len(),
        rep.buckets.iter().filter(|b| b.bucket.is_new()).count(),
        rep.model_panics.len(),
        store.root.join("report.md").display()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A regression file of `target` that violates under `settings`.
    fn violating_regression(root: &Path, target: Target, settings: &Settings) -> PathBuf {
        std::fs::read_dir(root.join("triage/regressions").join(target.name()))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.extension().is_some_and(|x| x == "bin")
                    && sintfuzz_targets::run(target, &std::fs::read(p).unwrap(), settings)
                        .violation()
                        .is_some()
            })
            .expect("a regression violating under the settings")
    }

    /// The header of a one-second libFuzzer campaign on proxy-bit.
    fn one_second_header() -> report::Header {
        report::Header {
            started: unix_now(),
            revision: "proxy-bit".into(),
            invariants: "default".into(),
            engine: "libfuzzer".into(),
            budget_seconds: 1,
            jobs: 1,
            side_by_side: false,
            interrupted: false,
            notes: vec![],
        }
    }

    /// Issue 10 §5: a crash file whose replay panics inside the model becomes a
    /// `model-panic` bucket; the violation beside it is still bucketed and the report
    /// written.
    #[test]
    fn a_model_panic_is_a_bucket_and_the_report_is_written() {
        let root = crate::repo_root();
        let out = std::env::temp_dir().join(format!("sintfuzz-finish-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let store = Store::open(&out, true).unwrap();
        let settings = Settings {
            revision: Revision::ProxyBit,
            invariants: InvariantSet::default_set(),
        };
        let target = Target::RelayLifecycle;
        // A witness of #1162 (a real violation) and a file the replay below panics on.
        let witness = violating_regression(&root, target, &settings);
        let boom = out.join("boom.bin");
        std::fs::write(&boom, b"\x01\x02\x03boom").unwrap();
        let found: Vec<Found> = [witness, boom]
            .into_iter()
            .map(|path| Found {
                path,
                target,
                settings,
                engine: "libfuzzer",
                seconds: 1.0,
                invariant: None,
                untranslated: false,
                execs: 0,
            })
            .collect();
        let replay: Replay = &|t, d, s| {
            if d.ends_with(b"boom") {
                let v: Vec<u8> = Vec::new();
                let _ = v[d.len()];
            }
            sintfuzz_targets::run(t, d, s)
        };
        let mut history = store.load_history().unwrap();
        let known = KnownList::load(&root.join("triage/known.toml")).unwrap();
        let code = finish(
            &store,
            &mut history,
            one_second_header(),
            vec![],
            vec![],
            vec![],
            &found,
            &known,
            replay,
        )
        .unwrap();
        assert_eq!(code, 1, "a model panic fails the campaign");
        let md = std::fs::read_to_string(out.join("report.md")).unwrap();
        assert!(md.contains("model-panic"), "{md}");
        assert!(md.contains("index out of bounds"), "{md}");
        assert!(
            md.contains("sintfuzz violation:"),
            "the violation is still bucketed: {md}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap())
                .unwrap();
        assert_eq!(json["model_panics"].as_array().unwrap().len(), 1);
        assert_eq!(json["buckets"].as_array().unwrap().len(), 1);
        let _ = std::fs::remove_dir_all(&out);
    }
}
