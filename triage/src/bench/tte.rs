//! `sintfuzz tte`: time-to-exposure trials (FuzzBench/Magma style) on the campaign's
//! engine modules: engines (or `all` side by side) × defects × corpus modes × N trials,
//! each from a fresh corpus (empty, or the seeds); seconds and executions to the first
//! crash that buckets as the defect's known finding; the coverage of the final corpus
//! (libFuzzer's `cov`/`ft` when the corpus is replayed, the one yardstick every engine's
//! corpus can be measured with). `--harnesses` puts the benchmark harnesses of
//! [`crate::bench::harness`] (the peers a user would write, ours with the op-level mutator) under
//! libFuzzer beside ours, in the same run. Writes `trials.tsv` (raw) and `summary.md`
//! (median and range) to `--out`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use clap::Args;
use sintfuzz_model::Revision;
use sintfuzz_targets::{InvariantSet, Settings, Target};

use crate::args::parse_duration;
use crate::bench::harness::Harness;
use crate::engine::files::add_file;
use crate::engine::phases::{schedule, EngineChoice};
use crate::engine::runner::{self, Found, Job, Shared};
use crate::engine::{libfuzzer, Binaries, Engine};
use crate::findings::bucket::{bucket, Crash, KnownList};
use crate::{repo_root, Fail};

/// One defect a trial hunts: where it lives and the known ids that count as exposing it.
pub struct Defect {
    pub id: &'static str,
    pub target: Target,
    pub revision: Revision,
    pub invariants: &'static str,
    pub known: &'static [&'static str],
}

impl Defect {
    /// The revision and invariant set the defect shows under.
    fn settings(&self) -> Result<Settings, Fail> {
        Ok(Settings {
            revision: self.revision,
            invariants: InvariantSet::parse(self.invariants).map_err(Fail::Usage)?,
        })
    }
}

/// The defects of `triage/known.toml` with the configuration each is hunted in.
pub const DEFECTS: &[Defect] = &[
    Defect {
        id: "563",
        target: Target::ProxyFilter,
        revision: Revision::Unfiltered,
        invariants: "leak-unentitled",
        known: &["openvmm#563"],
    },
    Defect {
        id: "1162",
        target: Target::RelayLifecycle,
        revision: Revision::ProxyBit,
        invariants: "lost-relay",
        known: &["openvmm#1162"],
    },
    Defect {
        id: "1275",
        target: Target::SynicMsr,
        revision: Revision::RelayAware,
        invariants: "vtl2-crash",
        known: &["openvmm#1275"],
    },
    Defect {
        id: "SF-001",
        target: Target::ProxyFilter,
        revision: Revision::Head,
        invariants: "vtl2-crash",
        known: &["SF-001"],
    },
    Defect {
        id: "SF-002",
        target: Target::RelayLifecycle,
        revision: Revision::Head,
        invariants: "lost-relay",
        known: &["SF-002"],
    },
    Defect {
        id: "SF-003",
        target: Target::ProxyFilter,
        revision: Revision::Head,
        invariants: "lost-device",
        known: &["SF-003"],
    },
    Defect {
        id: "SF-005",
        target: Target::ProxyFilter,
        revision: Revision::Head,
        invariants: "leak-unentitled",
        known: &["SF-005"],
    },
    Defect {
        id: "SF-006",
        target: Target::ProxyFilter,
        revision: Revision::Head,
        invariants: "leak-unentitled",
        known: &["SF-006"],
    },
    Defect {
        id: "SF-011",
        target: Target::SynicMsr,
        revision: Revision::Head,
        invariants: "vtl2-crash",
        known: &["SF-011"],
    },
];

#[derive(Args, Clone, Debug)]
pub struct TteArgs {
    /// Comma-separated engines: libfuzzer, afl, honggfuzz, all (side by side).
    #[arg(long, default_value = "libfuzzer")]
    pub engines: String,
    /// Comma-separated defect ids (563, 1162, 1275, SF-001, SF-002, SF-003, SF-005,
    /// SF-006, SF-011), or `all`.
    #[arg(long, default_value = "1162")]
    pub defects: String,
    /// Comma-separated corpus modes: empty, seeds.
    #[arg(long, default_value = "empty")]
    pub modes: String,
    /// Comma-separated harnesses: ours (the shipped targets), nofb (the same binaries
    /// with `SINTFUZZ_FEEDBACK=off`, every engine), ops (relay_lifecycle with the
    /// op-level mutator), naive, shaped (the peers a user would write); ops, naive and
    /// shaped are libFuzzer benchmark binaries (`fuzz/bench_targets/`): beside other
    /// engines in `--engines` they run under libFuzzer only.
    #[arg(long, default_value = "ours")]
    pub harnesses: String,
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub trials: u32,
    /// Budget per trial.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub budget: Duration,
    /// Cores per trial (an engine's own parallelism; `all` shares them out).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub jobs: u32,
    /// Run every trial for its whole budget (to compare final corpus coverage) instead of
    /// stopping at the exposure.
    #[arg(long)]
    pub full_budget: bool,
    /// Output directory for trials.tsv and summary.md (default: sintfuzz-tte).
    #[arg(long, default_value = "sintfuzz-tte", value_parser = crate::paths::absolute)]
    pub out: PathBuf,
    /// Use engine binaries already built in DIR (as `campaign --bin-dir`) instead of
    /// installing and building.
    #[arg(long, value_parser = crate::paths::absolute)]
    pub bin_dir: Option<PathBuf>,
    /// Extra options for one engine, `ENGINE:OPTIONS` (split on whitespace, passed after
    /// the ones the campaign passes, so a later value wins), e.g. `afl:-p explore` or
    /// `libfuzzer:-use_value_profile=1`. Repeatable.
    #[arg(long = "engine-args", value_name = "ENGINE:OPTIONS", allow_hyphen_values = true,
          value_parser = parse_engine_args)]
    pub engine_args: Vec<(Engine, Vec<String>)>,
    /// A variant to compare side by side, alternated trial by trial with the others in
    /// the same run: `NAME=[DIR][;ENGINE:OPTIONS]...`, its binaries from DIR (else as
    /// without variants) and its own engine options after `--engine-args`. Repeatable; the
    /// tables label each row with its name.
    #[arg(long = "variant", value_name = "NAME=[DIR][;ENGINE:OPTIONS]...", allow_hyphen_values = true,
          value_parser = parse_variant)]
    pub variants: Vec<Variant>,
}

/// One configuration `tte` compares (`--variant`): where its binaries are and the engine
/// options it adds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Variant {
    pub name: String,
    pub bin_dir: Option<PathBuf>,
    pub args: Vec<(Engine, Vec<String>)>,
}

impl Variant {
    /// Its options for `engine`, after the run's `--engine-args`.
    fn args(&self, common: &[(Engine, Vec<String>)], engine: Engine) -> Vec<String> {
        common
            .iter()
            .chain(&self.args)
            .filter(|(e, _)| *e == engine)
            .flat_map(|(_, a)| a.iter().cloned())
            .collect()
    }
}

/// `ENGINE:OPTIONS` of `--engine-args`.
fn parse_engine_args(s: &str) -> Result<(Engine, Vec<String>), String> {
    let (e, opts) = s
        .split_once(':')
        .ok_or_else(|| format!("'{s}': expected ENGINE:OPTIONS, e.g. afl:-p explore"))?;
    let engine = <Engine as clap::ValueEnum>::from_str(e.trim(), true)
        .map_err(|_| format!("unknown engine '{e}' (libfuzzer, afl, honggfuzz)"))?;
    Ok((
        engine,
        opts.split_whitespace().map(str::to_string).collect(),
    ))
}

/// `NAME=[DIR][;ENGINE:OPTIONS]...` of `--variant`.
fn parse_variant(s: &str) -> Result<Variant, String> {
    let (name, rest) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}': expected NAME=[DIR][;ENGINE:OPTIONS]..."))?;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(format!(
            "'{name}': a variant's name is letters, digits, '-', '_', '.'"
        ));
    }
    let mut parts = rest.split(';');
    let dir = parts.next().unwrap_or("").trim();
    let bin_dir = if dir.is_empty() {
        None
    } else {
        Some(crate::paths::absolute(dir)?)
    };
    let args = parts
        .filter(|p| !p.trim().is_empty())
        .map(parse_engine_args)
        .collect::<Result<_, _>>()?;
    Ok(Variant {
        name: name.to_string(),
        bin_dir,
        args,
    })
}

/// One trial's result.
#[derive(Clone, Debug)]
pub struct Trial {
    pub engine: String,
    pub harness: Harness,
    /// The `--variant` name (empty without variants).
    pub variant: String,
    pub defect: &'static str,
    pub mode: String,
    pub n: u32,
    /// Seconds to the first crash that buckets as the defect.
    pub exposed: Option<f64>,
    /// Actions in the exposing crash once minimized (`None` for a peer's crash file
    /// bucketed by its own replay, which is not minimized).
    pub witness_ops: Option<usize>,
    /// Known ids of the crashes before it (or of all, when it was not exposed).
    pub others: Vec<String>,
    /// Executions of the whole trial (to its stop).
    pub execs: u64,
    /// Executions to the exposure (every engine of the trial together).
    pub exposure_execs: Option<u64>,
    pub seconds: f64,
    pub corpus: usize,
    /// libFuzzer's `cov` and `ft` over the final corpus.
    pub cov: Option<(u64, u64)>,
    pub loadavg: String,
    /// CPU seconds of the engine processes (user + system), the trial's real cost on a
    /// shared machine.
    pub cpu: f64,
    pub failure: Option<String>,
}

fn list<T>(s: &str, f: impl Fn(&str) -> Result<T, String>) -> Result<Vec<T>, Fail> {
    s.split(',')
        .map(|x| f(x.trim()))
        .collect::<Result<_, _>>()
        .map_err(Fail::Usage)
}

pub fn tte(args: TteArgs) -> Result<u8, Fail> {
    let plan = Plan::parse(&args)?;
    let root = repo_root();
    let known = KnownList::load(&root.join("triage/known.toml")).map_err(Fail::Usage)?;
    let out = args.out.clone();
    let bins = plan.binaries(&root, &out)?;
    let mut f = open_tsv(&out)?;
    use std::io::Write;
    let Plan {
        defects,
        modes,
        pairs,
        variants,
        ..
    } = &plan;
    let mut all = Vec::new();
    let total = args.trials as usize * defects.len() * modes.len() * pairs.len() * variants.len();
    // Trial-major: every configuration runs its n-th trial before any runs its (n+1)-th,
    // so a change of machine load over the run hits all of them alike.
    runner::stop_on_ctrl_c();
    for n in 1..=args.trials {
        for &d in defects {
            for mode in modes {
                for (&(choice, harness), (vi, variant)) in pairs
                    .iter()
                    .flat_map(|p| variants.iter().enumerate().map(move |v| (p, v)))
                {
                    if runner::INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
                        eprintln!("tte: interrupted; the table covers the trials that ran");
                        break;
                    }
                    eprintln!(
                        "tte: [{}/{total}] {} {}{} {} {} trial {n} of {} ...",
                        all.len() + 1,
                        choice.name(),
                        harness.name(),
                        label_suffix(&variant.name),
                        d.id,
                        mode,
                        args.trials
                    );
                    let t = trial(
                        &root,
                        &bins[vi],
                        &known,
                        Config {
                            choice,
                            harness,
                            variant,
                            common_args: &args.engine_args,
                        },
                        d,
                        mode,
                        n,
                        &args,
                        &out,
                    )?;
                    let _ = writeln!(f, "{}", tsv_row(&t, &args));
                    eprintln!("{}", trial_line(&t, &args));
                    all.push(t);
                }
            }
        }
    }
    let md = summary(&all, args.budget.as_secs(), args.jobs, args.full_budget);
    print!("{md}");
    std::fs::write(out.join("summary.md"), &md)
        .map_err(|e| Fail::Usage(format!("{}: {e}", out.display())))?;
    Ok(all.iter().any(|t| t.failure.is_some()) as u8 * 2)
}

/// What `--engines`, `--defects`, `--modes`, `--harnesses` and `--variant` ask for.
struct Plan {
    engines: Vec<EngineChoice>,
    defects: Vec<&'static Defect>,
    modes: Vec<String>,
    /// The (engine choice, harness) pairs that run, in the order given: a harness with
    /// builds for libFuzzer only (`ops`, the peers) runs only under `libfuzzer`.
    pairs: Vec<(EngineChoice, Harness)>,
    /// At least one: without `--variant`, one unnamed with `--bin-dir`.
    variants: Vec<Variant>,
}

/// ` [name]` of a variant, for labels (nothing for the unnamed one).
fn label_suffix(variant: &str) -> String {
    if variant.is_empty() {
        String::new()
    } else {
        format!(" [{variant}]")
    }
}

impl Plan {
    fn parse(args: &TteArgs) -> Result<Plan, Fail> {
        let engines: Vec<EngineChoice> = list(&args.engines, |s| {
            <EngineChoice as clap::ValueEnum>::from_str(s, true)
                .map_err(|_| format!("unknown engine '{s}' (libfuzzer, afl, honggfuzz, all)"))
        })?;
        let defects: Vec<&Defect> = if args.defects.trim() == "all" {
            DEFECTS.iter().collect()
        } else {
            list(&args.defects, |s| {
                DEFECTS
                    .iter()
                    .find(|d| d.id == s)
                    .ok_or_else(|| format!("unknown defect '{s}'"))
            })?
        };
        let modes: Vec<String> = list(&args.modes, |s| match s {
            "empty" | "seeds" => Ok(s.to_string()),
            _ => Err(format!("unknown corpus mode '{s}' (empty, seeds)")),
        })?;
        let harnesses: Vec<Harness> = list(&args.harnesses, |s| {
            <Harness as clap::ValueEnum>::from_str(s, true)
                .map_err(|_| format!("unknown harness '{s}' (ours, nofb, ops, naive, shaped)"))
        })?;
        let mut variants: Vec<Variant> = args
            .variants
            .iter()
            .map(|v| Variant {
                bin_dir: v.bin_dir.clone().or_else(|| args.bin_dir.clone()),
                ..v.clone()
            })
            .collect();
        if variants.is_empty() {
            variants.push(Variant {
                bin_dir: args.bin_dir.clone(),
                ..Variant::default()
            });
        }
        for (i, v) in variants.iter().enumerate() {
            if variants[..i].iter().any(|w| w.name == v.name) {
                return Err(Fail::Usage(format!("variant '{}' given twice", v.name)));
            }
        }
        let runs = |c: EngineChoice, h: Harness| c.engines().iter().all(|&e| h.runs_under(e));
        let pairs: Vec<(EngineChoice, Harness)> = engines
            .iter()
            .flat_map(|&c| harnesses.iter().map(move |&h| (c, h)))
            .filter(|&(c, h)| runs(c, h))
            .collect();
        if let Some(h) = harnesses
            .iter()
            .find(|&&h| !engines.iter().any(|&c| runs(c, h)))
        {
            return Err(Fail::Usage(format!(
                "harness '{}' is a libFuzzer benchmark binary; it runs under `--engines libfuzzer` only",
                h.name()
            )));
        }
        Ok(Plan {
            engines,
            defects,
            modes,
            pairs,
            variants,
        })
    }

    /// Every variant's engine binaries (built, or from its directory), checked to be
    /// there for every trial before the first runs; `out` made.
    fn binaries(&self, root: &Path, out: &Path) -> Result<Vec<BTreeMap<Engine, Binaries>>, Fail> {
        // Every (engine, harness, defect) must have a binary before anything runs.
        self.each_binary(|_, h, e, d, engine| {
            let probe = engine.prebuilt(Path::new("."));
            h.binary(&probe, d.target).map(|_| ()).map_err(|why| {
                Fail::Usage(format!("{} with {} on {}: {why}", h.name(), e.name(), d.id))
            })
        })?;
        std::fs::create_dir_all(out).map_err(|e| Fail::Usage(format!("{}: {e}", out.display())))?;
        let bins: Vec<BTreeMap<Engine, Binaries>> = self
            .variants
            .iter()
            .map(|v| build_engines(v.bin_dir.as_deref(), &self.engines, root))
            .collect::<Result<_, _>>()?;
        self.each_binary(|v, h, _, d, engine| {
            let b = &bins[v][&engine];
            let binary = h.binary(b, d.target).map_err(Fail::Usage)?;
            b.require(binary).map(|_| ())
        })?;
        Ok(bins)
    }

    /// `f` of every variant (its index), harness, engine choice (the pairs that run),
    /// defect and engine of the choice.
    fn each_binary(
        &self,
        mut f: impl FnMut(usize, Harness, EngineChoice, &Defect, Engine) -> Result<(), Fail>,
    ) -> Result<(), Fail> {
        for v in 0..self.variants.len() {
            for &(e, h) in &self.pairs {
                for d in &self.defects {
                    for engine in e.engines() {
                        f(v, h, e, d, engine)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Every engine the choices need, built once (libFuzzer also measures the final
/// corpora), or taken from `--bin-dir`.
fn build_engines(
    bin_dir: Option<&Path>,
    engines: &[EngineChoice],
    root: &Path,
) -> Result<BTreeMap<Engine, Binaries>, Fail> {
    let mut bins: BTreeMap<Engine, Binaries> = BTreeMap::new();
    let mut need: Vec<Engine> = engines.iter().flat_map(|e| e.engines()).collect();
    need.push(Engine::Libfuzzer);
    need.sort();
    need.dedup();
    for e in need {
        bins.insert(e, e.binaries(bin_dir, root)?);
    }
    Ok(bins)
}

/// `out/trials.tsv`, opened to append (with its header line when new).
fn open_tsv(out: &Path) -> Result<std::fs::File, Fail> {
    use std::io::Write;
    let tsv = out.join("trials.tsv");
    let fresh = !tsv.exists();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&tsv)
        .map_err(|e| Fail::Usage(format!("{}: {e}", tsv.display())))?;
    if fresh {
        let _ = writeln!(f, "engine\tdefect\tmode\ttrial\tjobs\tbudget\toutcome\tseconds\texecs\tcorpus\tcov\tft\twitness_ops\tbefore\tloadavg\tfailure\tharness\tcpu_s\texposure_execs\tvariant");
    }
    Ok(f)
}

/// A trial's row of `trials.tsv`.
fn tsv_row(t: &Trial, args: &TteArgs) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{:.2}\t{}\t{}",
        t.engine,
        t.defect,
        t.mode,
        t.n,
        args.jobs,
        args.budget.as_secs(),
        if t.failure.is_some() {
            "error"
        } else if t.exposed.is_some() {
            "hit"
        } else {
            "miss"
        },
        t.exposed
            .map_or(format!("{:.2}", t.seconds), |s| format!("{s:.2}")),
        t.execs,
        t.corpus,
        t.cov.map_or("-".into(), |c| c.0.to_string()),
        t.cov.map_or("-".into(), |c| c.1.to_string()),
        t.witness_ops.map_or("-".into(), |n| n.to_string()),
        if t.others.is_empty() {
            "-".into()
        } else {
            t.others.join(",")
        },
        t.loadavg,
        t.failure.as_deref().unwrap_or("-"),
        t.harness.name(),
        t.cpu,
        t.exposure_execs.map_or("-".into(), |n| n.to_string()),
        t.variant
    )
}

/// A trial's line on stderr.
fn trial_line(t: &Trial, args: &TteArgs) -> String {
    format!(
        "tte: {} {}{} {} {} trial {} of {}: {} {} execs, corpus {}{}",
        t.engine,
        t.harness.name(),
        label_suffix(&t.variant),
        t.defect,
        t.mode,
        t.n,
        args.trials,
        match (&t.failure, t.exposed) {
            (Some(why), _) => format!("error ({why}),"),
            (None, Some(s)) => format!("hit at {s:.2} s,"),
            (None, None) => "miss".into(),
        },
        t.execs,
        t.corpus,
        t.cov
            .map_or(String::new(), |c| format!(", cov {} ft {}", c.0, c.1))
    )
}

/// What a trial runs: the engine choice, harness and variant, and the run's
/// `--engine-args`.
struct Config<'a> {
    choice: EngineChoice,
    harness: Harness,
    variant: &'a Variant,
    common_args: &'a [(Engine, Vec<String>)],
}

impl Config<'_> {
    /// The name of trial `n` of `d` in `mode`: its directory's, and its unexplained
    /// crashes'.
    fn name(&self, d: &Defect, mode: &str, n: u32) -> String {
        let name = format!(
            "{}-{}-{}-{mode}-{n}",
            self.choice.name(),
            self.harness.name(),
            d.id
        );
        if self.variant.name.is_empty() {
            name
        } else {
            format!("{name}-{}", self.variant.name)
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn trial(
    root: &Path,
    bins: &BTreeMap<Engine, Binaries>,
    known: &KnownList,
    config: Config<'_>,
    d: &Defect,
    mode: &str,
    n: u32,
    args: &TteArgs,
    out: &Path,
) -> Result<Trial, Fail> {
    let (choice, harness, variant) = (config.choice, config.harness, config.variant);
    let name = config.name(d, mode, n);
    let dir = std::env::temp_dir().join(format!("sintfuzz-tte-{}-{name}", std::process::id()));
    let corpus = fresh_corpus(root, d, mode, &dir)?;
    let settings = d.settings()?;
    let loadavg = load_1min();
    let (phases, side) = trial_phases(choice, args.jobs);
    let phase_seconds = (args.budget.as_secs() / phases.len() as u64).max(1);
    let classifier = Classifier::new(known, harness);
    let classify = |f: &Found| classifier.class(f);
    let hit = |f: &Found| d.known.contains(&classify(f).0.as_str());
    let until: Option<&(dyn Fn(&Found) -> bool + Sync)> =
        if args.full_budget { None } else { Some(&hit) };
    let shared = Shared::new();
    let (env, run_env) = trial_env(d, harness);
    let translate = |data: &[u8]| harness.translate(data, &settings);
    let jobs = TrialJobs {
        harness,
        bins,
        d,
        corpus: &corpus,
        dir: &dir,
        seconds: phase_seconds,
        settings,
        seed: n as u64,
        side,
        until,
        env: &run_env,
        args: &|engine| variant.args(config.common_args, engine),
        translate: harness
            .translates()
            .then_some(&translate as &runner::Translate),
    };
    let cpu_before = runner::children_cpu_seconds();
    let results = runner::run_phases(&phases, &shared, |engine, n, phase| {
        jobs.job(engine, n, phase)
    });
    let mut g = gather(results);
    let cpu = runner::children_cpu_seconds() - cpu_before;
    g.found.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    let samples = shared.samples.lock().expect("not poisoned").clone();
    let e = exposure(&g.found, &classify, d, &g.runs, &samples);
    let corpus_n = crate::engine::files::count_files(&corpus);
    let cov = trial_coverage(harness, bins, d, &corpus, &settings, &env);
    // A crash of no known root cause, or one that does not replay, may be a finding or a
    // harness fault: it is kept, since the trial's directory goes next.
    keep_unexplained(out, &name, &e.unexplained);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Trial {
        engine: choice.name().into(),
        harness,
        variant: variant.name.clone(),
        defect: d.id,
        mode: mode.into(),
        n,
        exposed: e.exposed,
        witness_ops: e.witness_ops,
        others: e.others,
        execs: g.execs,
        exposure_execs: e.exposure_execs,
        seconds: g.seconds,
        corpus: corpus_n,
        cov,
        loadavg,
        cpu,
        failure: g.failure,
    })
}

/// What every engine run of one trial shares.
struct TrialJobs<'a> {
    harness: Harness,
    bins: &'a BTreeMap<Engine, Binaries>,
    d: &'a Defect,
    corpus: &'a Path,
    dir: &'a Path,
    /// Each phase's.
    seconds: u64,
    settings: Settings,
    seed: u64,
    /// Engines side by side on one corpus.
    side: bool,
    until: Option<&'a (dyn Fn(&Found) -> bool + Sync)>,
    env: &'a EnvVars,
    /// The engine options of the trial's variant.
    args: &'a (dyn Fn(Engine) -> Vec<String> + Sync),
    translate: Option<&'a runner::Translate<'a>>,
}

impl TrialJobs<'_> {
    /// The run of `engine` (`jobs` processes) in phase `phase`.
    fn job(&self, engine: Engine, jobs: u32, phase: usize) -> Job<'_> {
        Job {
            engine,
            target: self.harness.crash_target(self.d.target),
            binary: self
                .harness
                .binary(&self.bins[&engine], self.d.target)
                .expect("checked before the trials"),
            corpus: self.corpus.to_path_buf(),
            work: self
                .dir
                .join("work")
                .join(engine.name())
                .join(format!("phase-{phase}")),
            crashes: self.dir.join("crashes"),
            seconds: self.seconds,
            jobs,
            settings: self.settings,
            seed: Some(self.seed),
            stop_on_crash: false,
            shared: self.side,
            mask: false,
            until: self.until,
            env: self.env.clone(),
            args: (self.args)(engine),
            translate: self.translate,
        }
    }
}

/// The one-minute load average, the first field of `/proc/loadavg` (empty where there is
/// none).
fn load_1min() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_default()
}

/// A trial's phases and whether its engines run side by side: the campaign's phases
/// (engines take turns when `jobs` is fewer), or the one engine.
fn trial_phases(choice: EngineChoice, jobs: u32) -> (Vec<Vec<(Engine, u32)>>, bool) {
    let engines = choice.engines();
    let side = engines.len() > 1;
    let phases = if side {
        schedule(&engines, jobs)
    } else {
        vec![vec![(engines[0], jobs)]]
    };
    (phases, side)
}

/// Environment variables set for a process.
type EnvVars = Vec<(String, String)>;

/// The environment of a trial's coverage measurement, and of its engine runs (with the
/// harness's own switches, `nofb`, so the two compare): known open findings are skipped
/// by the engines, so when the defect is one they must stop on it.
fn trial_env(d: &Defect, harness: Harness) -> (EnvVars, EnvVars) {
    let report_known = d.known.iter().any(|id| {
        sintfuzz_targets::known::KnownList::embedded()
            .by_id(id)
            .is_some_and(|k| k.suppressed())
    });
    // Only the hunted finding stops the engines: another open one under the same
    // invariants (SF-005 beside SF-006) is skipped as a campaign skips it, instead of
    // stopping and restarting the engine at each of its crashes.
    let env: EnvVars = if report_known {
        vec![(
            sintfuzz_targets::known::ENV_KNOWN.into(),
            format!("only:{}", d.known.join(",")),
        )]
    } else {
        Vec::new()
    };
    let mut run_env = env.clone();
    run_env.extend(harness.env().map(|(k, v)| (k.to_string(), v.to_string())));
    (env, run_env)
}

/// Known id (or `new`/`clean`) and minimized length of a crash file.
type Class = (String, Option<usize>);

/// Classifies a trial's crash files by bucketing each once (the engines' `until` and the
/// exposure read them again).
struct Classifier<'a> {
    known: &'a KnownList,
    harness: Harness,
    memo: Mutex<BTreeMap<PathBuf, Class>>,
}

impl<'a> Classifier<'a> {
    fn new(known: &'a KnownList, harness: Harness) -> Self {
        Classifier {
            known,
            harness,
            memo: Mutex::new(BTreeMap::new()),
        }
    }

    fn class(&self, f: &Found) -> Class {
        if let Some(k) = self.memo.lock().expect("not poisoned").get(&f.path) {
            return k.clone();
        }
        // A peer's crash file is its canonical all_ops input (the runner translated it),
        // or, where the peer's scenario has no such form, the peer's raw file, bucketed
        // by the peer's own replay.
        let c = Crash {
            path: f.path.clone(),
            target: f.target,
            settings: f.settings,
            peer: if f.untranslated {
                self.harness.peer()
            } else {
                None
            },
        };
        let k = crate::panics::quietly(|| bucket(&[c], self.known))
            .ok()
            .and_then(|b| {
                b.buckets.first().map(|b| {
                    let k = b.known.clone().unwrap_or_else(|| "new".into());
                    (k, b.peer.is_none().then_some(b.ops_after))
                })
            })
            .unwrap_or_else(|| ("clean".into(), None));
        self.memo
            .lock()
            .expect("not poisoned")
            .insert(f.path.clone(), k.clone());
        k
    }
}

/// What the runs of a trial add up to.
struct Gathered {
    runs: Vec<RunSpan>,
    found: Vec<Found>,
    execs: u64,
    seconds: f64,
    failure: Option<String>,
}

fn gather(results: Vec<(runner::RunStats, Vec<Found>)>) -> Gathered {
    let runs: Vec<RunSpan> = results
        .iter()
        .map(|(st, _)| (st.engine.clone(), st.began, st.began + st.seconds, st.execs))
        .collect();
    let mut found: Vec<Found> = Vec::new();
    let (mut execs, mut seconds, mut failure) = (0u64, 0f64, None);
    for (st, f) in results {
        execs += st.execs;
        seconds = seconds.max(st.seconds);
        if let Some(x) = st.failure {
            failure = Some(format!("{}: {x}", st.engine));
        }
        found.extend(f);
    }
    Gathered {
        runs,
        found,
        execs,
        seconds,
        failure,
    }
}

/// The trial's scratch directory `dir` with an empty corpus, or (`mode` `seeds`) the
/// target's seeds.
fn fresh_corpus(root: &Path, d: &Defect, mode: &str, dir: &Path) -> Result<PathBuf, Fail> {
    let _ = std::fs::remove_dir_all(dir);
    let corpus = dir.join("corpus");
    std::fs::create_dir_all(&corpus)
        .map_err(|e| Fail::Usage(format!("{}: {e}", corpus.display())))?;
    if mode == "seeds" {
        for e in std::fs::read_dir(root.join("corpus").join(d.target.name()))
            .into_iter()
            .flatten()
            .flatten()
        {
            add_file(&corpus, &e.path(), "")?;
        }
    }
    Ok(corpus)
}

/// The runs of a trial: engine, began and ended (s since its start), executions.
type RunSpan = (String, f64, f64, u64);

/// What a trial's crash files tell: when (and after how many executions, with how long
/// a witness) the defect was exposed, what other root causes came first, and the files
/// that bucket as no known root cause or replay clean.
struct Exposure {
    exposed: Option<f64>,
    witness_ops: Option<usize>,
    exposure_execs: Option<u64>,
    others: Vec<String>,
    unexplained: Vec<(String, PathBuf)>,
}

/// [`Exposure`] of `found` (sorted by time), each file classified by `classify`.
fn exposure(
    found: &[Found],
    classify: &dyn Fn(&Found) -> Class,
    d: &Defect,
    runs: &[RunSpan],
    samples: &[runner::Sample],
) -> Exposure {
    let (mut exposed, mut witness_ops, mut exposure_execs) = (None, None, None);
    let mut others = Vec::new();
    let mut unexplained = Vec::new();
    for f in found {
        let (k, ops) = classify(f);
        if k == "new" || k == "clean" {
            unexplained.push((k.clone(), f.path.clone()));
        }
        if d.known.contains(&k.as_str()) {
            exposed = Some(f.seconds);
            witness_ops = ops;
            exposure_execs = Some(f.execs + execs_elsewhere(runs, samples, f));
            break;
        }
        others.push(k);
    }
    Exposure {
        exposed,
        witness_ops,
        exposure_execs,
        others,
        unexplained,
    }
}

/// The executions of every run but the one that found `f`, by `f`'s time: whole for runs
/// that had ended, the last sample for runs beside it.
fn execs_elsewhere(runs: &[RunSpan], samples: &[runner::Sample], f: &Found) -> u64 {
    let finder = runs
        .iter()
        .position(|r| r.0 == f.engine && r.1 <= f.seconds && f.seconds <= r.2 + 1.0);
    runs.iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != finder)
        .map(|(_, (e, began, end, total))| {
            if *end <= f.seconds {
                *total
            } else if *began > f.seconds {
                0
            } else {
                samples
                    .iter()
                    .filter(|s| s.engine == e && *began <= s.t && s.t <= f.seconds)
                    .map(|s| s.execs)
                    .max()
                    .unwrap_or(0)
            }
        })
        .sum()
}

/// The final corpus's coverage ([`corpus_coverage`]).
fn trial_coverage(
    harness: Harness,
    bins: &BTreeMap<Engine, Binaries>,
    d: &Defect,
    corpus: &Path,
    settings: &Settings,
    env: &[(String, String)],
) -> Option<(u64, u64)> {
    // The corpus of a peer is in the peer's format: libFuzzer's merge of it by our
    // target would measure nothing meaningful, so it is measured by the peer's binary.
    match harness {
        Harness::Ours | Harness::NoFeedback => corpus_coverage(
            &bins[&Engine::Libfuzzer].target(d.target),
            corpus,
            settings,
            env,
        ),
        h => h
            .binary(&bins[&Engine::Libfuzzer], d.target)
            .ok()
            .and_then(|b| corpus_coverage(&b, corpus, settings, env)),
    }
}

/// Copy the unexplained crash files to `out/unexplained/`, named `name-<i>-<class>.bin`.
fn keep_unexplained(out: &Path, name: &str, unexplained: &[(String, PathBuf)]) {
    if !unexplained.is_empty() {
        let keep = out.join("unexplained");
        let mut kept = 0;
        for (i, (k, path)) in unexplained.iter().enumerate() {
            let file = format!("{name}-{i}-{k}.bin");
            if std::fs::create_dir_all(&keep).is_ok()
                && std::fs::copy(path, keep.join(file)).is_ok()
            {
                kept += 1;
            }
        }
        eprintln!(
            "tte: kept {kept} crash file(s) that bucket as no known root cause or replay clean in {}",
            keep.display()
        );
    }
}

/// The coverage of `corpus` as libFuzzer counts it: `-merge=1` of the corpus into an empty
/// directory, which reports the edges and features the whole corpus adds (a merge goes on
/// past inputs that crash, where `-runs=0` stops).
pub fn corpus_coverage(
    binary: &Path,
    corpus: &Path,
    settings: &Settings,
    env: &[(String, String)],
) -> Option<(u64, u64)> {
    let scratch = corpus.with_file_name("coverage-merge");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(scratch.join("into")).ok()?;
    let o = libfuzzer::merge_command(binary, &scratch.join("into"), corpus, &scratch, settings)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(&scratch)
        .output()
        .ok()?;
    let _ = std::fs::remove_dir_all(&scratch);
    parse_merge(&String::from_utf8_lossy(&o.stderr))
}

/// `MERGE-OUTER: F new files with FT new features added; E new coverage edges` → (E, FT).
fn parse_merge(log: &str) -> Option<(u64, u64)> {
    let line = log
        .lines()
        .rev()
        .find(|l| l.starts_with("MERGE-OUTER:") && l.contains("new features"))?;
    let nums: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|t| t.parse().ok())
        .collect();
    match nums.as_slice() {
        [_, ft, edges, ..] => Some((*edges, *ft)),
        _ => None,
    }
}

/// Median of `n` trials where only `hits` exposed: the rest count as longer than the
/// budget (FuzzBench-style censoring). `None` means more than half missed.
pub fn censored_median(hits: &[f64], n: usize) -> Option<f64> {
    let mut v: Vec<f64> = hits.to_vec();
    v.sort_by(f64::total_cmp);
    v.resize(n, f64::INFINITY);
    let m = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    m.is_finite().then_some(m)
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

pub fn summary(trials: &[Trial], budget: u64, jobs: u32, full: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| engine | defect | mode | trials | exposed | median s | min s | max s | median execs to exposure | median execs | median CPU s | median final corpus | median edges / features (libFuzzer merge of the final corpus) | median witness ops |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"
    );
    let mut groups: BTreeMap<(String, &str, String), Vec<&Trial>> = BTreeMap::new();
    for t in trials {
        let label = match t.harness {
            Harness::Ours => t.engine.clone(),
            h => format!("{} ({})", t.engine, h.name()),
        } + &label_suffix(&t.variant);
        groups
            .entry((label, t.defect, t.mode.clone()))
            .or_default()
            .push(t);
    }
    for ((engine, defect, mode), ts) in groups {
        let hits: Vec<f64> = ts.iter().filter_map(|t| t.exposed).collect();
        let fmt = |x: Option<f64>| x.map_or(format!(">{budget}"), |v| format!("{v:.2}"));
        let mn = hits
            .iter()
            .copied()
            .fold(None, |a: Option<f64>, b| Some(a.map_or(b, |a| a.min(b))));
        let mx = hits
            .iter()
            .copied()
            .fold(None, |a: Option<f64>, b| Some(a.map_or(b, |a| a.max(b))));
        let execs = median(ts.iter().map(|t| t.execs as f64).collect());
        let cpu = median(ts.iter().map(|t| t.cpu).collect());
        let to_exposure: Vec<f64> = ts
            .iter()
            .filter_map(|t| t.exposure_execs.map(|n| n as f64))
            .collect();
        let to_exposure = censored_median(&to_exposure, ts.len());
        let corpus = median(ts.iter().map(|t| t.corpus as f64).collect());
        let cov = median(
            ts.iter()
                .filter_map(|t| t.cov.map(|c| c.0 as f64))
                .collect(),
        );
        let ft = median(
            ts.iter()
                .filter_map(|t| t.cov.map(|c| c.1 as f64))
                .collect(),
        );
        let wops = median(
            ts.iter()
                .filter_map(|t| t.witness_ops.map(|n| n as f64))
                .collect(),
        );
        let _ = writeln!(
            s,
            "| {engine} | {defect} | {mode} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            ts.len(),
            hits.len(),
            fmt(censored_median(&hits, ts.len())),
            mn.map_or("-".into(), |v| format!("{v:.2}")),
            mx.map_or("-".into(), |v| format!("{v:.2}")),
            to_exposure.map_or("-".into(), |v| format!("{v:.0}")),
            execs.map_or("-".into(), |v| format!("{v:.0}")),
            cpu.map_or("-".into(), |v| format!("{v:.1}")),
            corpus.map_or("-".into(), |v| format!("{v:.0}")),
            match (cov, ft) {
                (Some(c), Some(f)) => format!("{c:.0} / {f:.0}"),
                _ => "-".into(),
            },
            wops.map_or("-".into(), |v| format!("{v:.0}"))
        );
    }
    let _ = writeln!(
        s,
        "\nBudget {budget} s per trial, {jobs} core(s) per trial{}. A trial that did not expose the defect counts as longer than the budget for the median; min/max over exposing trials. Executions to exposure: censored like the seconds (`-`: more than half missed); the other execs, CPU seconds and corpus are medians over all trials, to each trial's stop. A benchmark harness (in parentheses) is measured by its own binary, so its edges and features compare with its own rows only (nofb: by ours, with the feedback on, so it compares with ours).",
        if full { ", every trial ran its whole budget" } else { ", stopped at the exposure" }
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_summary() {
        assert_eq!(
            parse_merge("MERGE-OUTER: 3 files, 0 in the initial corpus, 0 processed earlier\nMERGE-OUTER: 120 new files with 4567 new features added; 789 new coverage edges\n"),
            Some((789, 4567))
        );
        assert_eq!(parse_merge("nothing"), None);
    }

    #[test]
    fn censoring() {
        assert_eq!(censored_median(&[1.0, 2.0, 3.0], 3), Some(2.0));
        assert_eq!(censored_median(&[1.0, 3.0], 3), Some(3.0));
        assert_eq!(censored_median(&[1.0], 3), None);
        assert_eq!(censored_median(&[1.0, 2.0, 3.0, 5.0], 4), Some(2.5));
        assert_eq!(censored_median(&[1.0, 2.0], 4), None);
    }

    #[test]
    fn every_defect_names_a_known_finding() {
        let known = KnownList::load(&repo_root().join("triage/known.toml")).unwrap();
        for d in DEFECTS {
            for id in d.known {
                assert!(
                    known.finding.iter().any(|k| k.id == *id),
                    "{} names unknown {id}",
                    d.id
                );
            }
            assert!(InvariantSet::parse(d.invariants).is_ok());
        }
    }

    #[test]
    fn every_open_or_fixed_finding_has_a_defect_on_a_revision_it_reproduces_on() {
        let known = KnownList::load(&repo_root().join("triage/known.toml")).unwrap();
        let hunted: Vec<&str> = known
            .finding
            .iter()
            .filter(|k| k.status == "open" || k.status == "fixed")
            .map(|k| k.id.as_str())
            .collect();
        assert!(hunted.len() >= 9, "{hunted:?}");
        for k in known
            .finding
            .iter()
            .filter(|k| hunted.contains(&k.id.as_str()))
        {
            let d = DEFECTS
                .iter()
                .find(|d| d.known.contains(&k.id.as_str()))
                .unwrap_or_else(|| panic!("no tte defect for {}", k.id));
            assert!(
                k.revisions.iter().any(|r| r == d.revision.name()),
                "{} is hunted on {}, not among {:?}",
                k.id,
                d.revision.name(),
                k.revisions
            );
            let set = InvariantSet::parse(d.invariants).unwrap();
            assert!(
                k.invariants
                    .iter()
                    .any(|i| set.iter().any(|j| j.id() == i.as_str())),
                "{} is hunted under {}, none of {:?}",
                k.id,
                d.invariants,
                k.invariants
            );
        }
    }

    #[test]
    fn engine_args_and_variants_parse() {
        assert_eq!(
            parse_engine_args("afl:-p explore -c -").unwrap(),
            (
                Engine::Afl,
                vec!["-p".into(), "explore".into(), "-c".into(), "-".into()]
            )
        );
        assert!(parse_engine_args("-p explore").is_err());
        assert!(parse_engine_args("nosuch:-x").is_err());
        let v = parse_variant("fast=/tmp/bins;libfuzzer:-max_len=48;afl:-p exploit").unwrap();
        assert_eq!(v.name, "fast");
        assert_eq!(v.bin_dir.as_deref(), Some(Path::new("/tmp/bins")));
        let common = [(Engine::Libfuzzer, vec!["-use_value_profile=1".to_string()])];
        assert_eq!(
            v.args(&common, Engine::Libfuzzer),
            ["-use_value_profile=1", "-max_len=48"]
        );
        assert_eq!(v.args(&common, Engine::Afl), ["-p", "exploit"]);
        assert!(v.args(&common, Engine::Honggfuzz).is_empty());
        let plain = parse_variant("plain=").unwrap();
        assert_eq!((plain.bin_dir, plain.args.len()), (None, 0));
        assert!(parse_variant("no-equals").is_err());
        assert!(parse_variant("bad name=/x").is_err());
    }

    /// The one-run comparison: every engine on ours, the peers (libFuzzer
    /// binaries) under libFuzzer only; a peer with no libFuzzer in `--engines` is an error.
    #[test]
    fn peers_run_under_libfuzzer_only_beside_other_engines() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            tte: TteArgs,
        }
        let plan = |engines: &str, harnesses: &str| {
            let cli = <Cli as clap::Parser>::try_parse_from([
                "tte",
                "--engines",
                engines,
                "--harnesses",
                harnesses,
            ])
            .unwrap();
            Plan::parse(&cli.tte).map(|p| {
                p.pairs
                    .iter()
                    .map(|(c, h)| format!("{}:{}", c.name(), h.name()))
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(
            plan("libfuzzer,afl,honggfuzz", "ours,shaped,naive").unwrap(),
            [
                "libfuzzer:ours",
                "libfuzzer:shaped",
                "libfuzzer:naive",
                "afl:ours",
                "honggfuzz:ours"
            ]
        );
        assert_eq!(plan("all", "nofb").unwrap(), ["all:nofb"]);
        assert!(plan("afl,honggfuzz", "ours,naive").is_err());
        assert!(plan("all", "shaped").is_err());
    }
}
