//! `sintfuzz bench --engines ...`: executions per second of each target's binary under an
//! engine, beside the engine's empty target (`fuzz/bench_targets/empty*.rs`: the ceiling
//! of the engine on this machine), so the share says what the model, the oracle and the
//! instrumentation cost. Optional: libFuzzer build variants (`--builds`, where the time
//! of the instrumented code goes) and benchmark harnesses (`--harnesses`).
//!
//! Every binary runs through the engines' runner ([`crate::engine::runner`]), as in a campaign, for the
//! same `--seconds`, one process at a time, from a fresh copy of its seeds (the empty
//! target and `ops` get `corpus/relay_lifecycle/`, the largest seeds, so they mutate
//! inputs of the same sizes; a peer starts empty, our seeds mean nothing to it), with
//! revision `proposed` and the `strict` set, which no seed is known to violate. Wall-clock
//! rates include the engine's start-up; rates per CPU-second (the engine processes' user +
//! system time) hold on a shared machine too.

use std::path::{Path, PathBuf};

use sintfuzz_model::Revision;
use sintfuzz_targets::{InvariantSet, Settings, Target};

use super::BenchArgs;
use crate::bench::harness::Harness;
use crate::engine::files::add_file;
use crate::engine::runner::{self, Job, Shared};
use crate::engine::{libfuzzer, Binaries, Engine};
use crate::{repo_root, Fail};

/// One binary under one engine and build.
struct Subject {
    label: String,
    binary: PathBuf,
    /// Seeds directory under `corpus/`, if any.
    seeds: Option<&'static str>,
    /// What its crash files are inputs of.
    target: Target,
    /// Extra environment for the engine (`nofb`: the feedback switched off).
    env: Option<(&'static str, &'static str)>,
}

struct Measured {
    execs: u64,
    wall: f64,
    cpu: f64,
    crash_files: usize,
    failure: Option<String>,
}

fn list<T>(s: &str, what: &str, f: impl Fn(&str) -> Option<T>) -> Result<Vec<T>, Fail> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| f(x).ok_or_else(|| Fail::Usage(format!("unknown {what} '{x}'"))))
        .collect()
}

pub fn run(args: &BenchArgs, targets: &[Target]) -> Result<u8, Fail> {
    let chosen = Chosen::of(args)?;
    let seconds = args.seconds.unwrap_or(20).max(1);
    let root = repo_root();
    let tmp = std::env::temp_dir().join(format!("sintfuzz-bench-{}", std::process::id()));
    runner::stop_on_ctrl_c();
    println!(
        "sintfuzz bench --engines: {seconds} s per run, nproc {}, loadavg at start {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    );
    println!();
    println!("| engine | build | binary | execs | wall s | exec/s | execs per CPU-s | share of empty (per CPU-s) | crash files |");
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|");
    let mut failed = false;
    for &engine in &chosen.engines {
        engine.ensure_tools()?;
        for &build in &chosen.builds {
            let bins = binaries(args, &root, engine, build, targets, &chosen.harnesses)?;
            let mut empty_rate = None;
            for s in &subjects(&bins, targets, &chosen.harnesses)? {
                if runner::INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
                    return Err(Fail::Usage("interrupted".into()));
                }
                let m = measure(&root, &tmp, engine, s, seconds)?;
                let per_cpu = m.execs as f64 / m.cpu.max(1e-9);
                if s.label == "empty" && m.execs > 0 {
                    empty_rate = Some(per_cpu);
                }
                let share =
                    empty_rate.map_or("-".into(), |e| format!("{:.1} %", 100.0 * per_cpu / e));
                println!(
                    "| {} | {build} | {} | {} | {:.1} | {:.0} | {:.0} | {share} | {}{} |",
                    engine.name(),
                    s.label,
                    m.execs,
                    m.wall,
                    m.execs as f64 / m.wall.max(1e-9),
                    per_cpu,
                    m.crash_files,
                    m.failure
                        .as_ref()
                        .map_or(String::new(), |f| format!(" (failed: {f})"))
                );
                failed |= m.failure.is_some();
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    println!();
    println!("loadavg at end {}", loadavg());
    Ok(if failed { 2 } else { 0 })
}

/// The engines, benchmark harnesses and libFuzzer builds `--engines`, `--harnesses` and
/// `--builds` name.
struct Chosen {
    engines: Vec<Engine>,
    harnesses: Vec<Harness>,
    builds: Vec<&'static str>,
}

impl Chosen {
    fn of(args: &BenchArgs) -> Result<Self, Fail> {
        let engines: Vec<Engine> = list(args.engines.as_deref().unwrap_or(""), "engine", |s| {
            <Engine as clap::ValueEnum>::from_str(s, true).ok()
        })?;
        if engines.is_empty() {
            return Err(Fail::Usage("--engines names no engine".into()));
        }
        let harnesses: Vec<Harness> = list(&args.harnesses, "harness", |s| {
            <Harness as clap::ValueEnum>::from_str(s, true)
                .ok()
                .filter(|h| *h != Harness::Ours)
        })?;
        let builds: Vec<&'static str> = list(&args.builds, "build", |s| {
            libfuzzer::VARIANTS.iter().copied().find(|v| *v == s)
        })?;
        let libfuzzer_only = engines.iter().any(|e| *e != Engine::Libfuzzer);
        if builds.iter().any(|b| *b != "default") && libfuzzer_only {
            return Err(Fail::Usage(
                "--builds other than default are libFuzzer builds: use --engines libfuzzer".into(),
            ));
        }
        if harnesses.iter().any(|h| *h != Harness::NoFeedback) && libfuzzer_only {
            return Err(Fail::Usage(
                "--harnesses ops, naive and shaped are libFuzzer benchmark binaries: use --engines libfuzzer"
                    .into(),
            ));
        }
        Ok(Chosen {
            engines,
            harnesses,
            builds,
        })
    }
}

/// The binaries of `engine`'s `build`: `--bin-dir`'s, built, or a libFuzzer variant
/// built for the empty target, `targets` and `harnesses`.
fn binaries(
    args: &BenchArgs,
    root: &Path,
    engine: Engine,
    build: &str,
    targets: &[Target],
    harnesses: &[Harness],
) -> Result<Binaries, Fail> {
    Ok(match (&args.bin_dir, build) {
        (Some(dir), "default") => engine.prebuilt(
            &dir.canonicalize()
                .map_err(|e| Fail::Usage(format!("--bin-dir {}: {e}", dir.display())))?,
        ),
        (None, "default") => engine.build(root)?,
        _ => {
            // The binaries to build for a variant: by their file names.
            let mut names: Vec<String> = vec!["empty".into()];
            names.extend(targets.iter().map(|t| t.name().to_string()));
            names.extend(harnesses.iter().filter_map(|h| {
                let p = h.binary(&engine.prebuilt(Path::new("")), Target::RelayLifecycle);
                p.ok()?.file_name()?.to_str().map(str::to_string)
            }));
            names.sort();
            names.dedup();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            Binaries {
                engine,
                dir: libfuzzer::build_variant(root, build, &names)?,
            }
        }
    })
}

/// What runs from `bins`: the empty target first (the rate the others are a share of),
/// then `targets`, then `harnesses`.
fn subjects(
    bins: &Binaries,
    targets: &[Target],
    harnesses: &[Harness],
) -> Result<Vec<Subject>, Fail> {
    let mut subjects = vec![Subject {
        label: "empty".into(),
        binary: bins.named("empty"),
        seeds: Some("relay_lifecycle"),
        target: Target::RelayLifecycle,
        env: None,
    }];
    for &t in targets {
        subjects.push(Subject {
            label: t.name().into(),
            binary: bins.target(t),
            seeds: Some(t.name()),
            target: t,
            env: None,
        });
    }
    for &h in harnesses {
        let binary = h
            .binary(bins, Target::RelayLifecycle)
            .map_err(Fail::Usage)?;
        subjects.push(Subject {
            label: format!("{} (harness)", h.name()),
            binary,
            seeds: matches!(h, Harness::Ops | Harness::NoFeedback).then_some("relay_lifecycle"),
            target: h.crash_target(Target::RelayLifecycle),
            env: h.env(),
        });
    }
    Ok(subjects)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn measure(
    root: &Path,
    tmp: &Path,
    engine: Engine,
    s: &Subject,
    seconds: u64,
) -> Result<Measured, Fail> {
    let dir = tmp.join(format!("{}-{}", engine.name(), s.label.replace(' ', "_")));
    let _ = std::fs::remove_dir_all(&dir);
    let corpus = dir.join("corpus");
    std::fs::create_dir_all(&corpus)
        .map_err(|e| Fail::Usage(format!("{}: {e}", corpus.display())))?;
    if let Some(seeds) = s.seeds {
        for e in std::fs::read_dir(root.join("corpus").join(seeds))
            .into_iter()
            .flatten()
            .flatten()
        {
            add_file(&corpus, &e.path(), "")?;
        }
    }
    let job = Job {
        engine,
        target: s.target,
        binary: s.binary.clone(),
        corpus,
        work: dir.join("work"),
        crashes: dir.join("crashes"),
        seconds,
        jobs: 1,
        settings: Settings {
            revision: Revision::Proposed,
            invariants: InvariantSet::strict(),
        },
        seed: Some(1),
        stop_on_crash: false,
        shared: false,
        mask: false,
        until: None,
        env: s
            .env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        args: Vec::new(),
        translate: None,
    };
    let cpu0 = runner::children_cpu_seconds();
    let (st, _) = runner::run(&job, &Shared::new());
    let cpu = runner::children_cpu_seconds() - cpu0;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Measured {
        execs: st.execs,
        wall: st.seconds,
        cpu,
        crash_files: st.crash_files,
        failure: st.failure,
    })
}
