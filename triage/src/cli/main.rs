//! `sintfuzz`: crash triage and one-command campaigns. Exit codes: 0 clean / no new
//! bucket, 1 violation / new bucket, 2 usage, unreadable input or setup failure.
//!
//! **cli/** owns argument parsing and dispatch: each subcommand's arguments, and the glue
//! that hands them to the library (`campaign/`, `bench/`, `check/`, `findings/`). It may
//! call everything; nothing calls it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sintfuzz_model::Revision;
use sintfuzz_targets::files::{read_input, write_regression, write_seeds, write_witnesses};
use sintfuzz_targets::invariant::Tier;
use sintfuzz_targets::{run, Invariant, InvariantSet, Outcome, Settings, Target};
use sintfuzz_triage::args::{parse_invariants, parse_revision, parse_target, settings, Run};
use sintfuzz_triage::bench::{self, tte};
use sintfuzz_triage::findings::bucket::{bucket, crash_files, infer_from_path, Crash, KnownList};
use sintfuzz_triage::findings::{explain, finding, minimize};
use sintfuzz_triage::{campaign, check, repo_root, Fail};

#[derive(Parser)]
#[command(
    name = "sintfuzz",
    version,
    about = "Fuzz OpenHCL's proxy-interrupt filter model: triage crashes, run campaigns"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// List the fuzz targets.
    Targets,
    /// List the filter revisions.
    Revisions,
    /// List the invariants, with their set and upstream origin.
    Invariants,
    /// Replay input files; exit 0 if all clean, 1 on any violation, 2 on bad input.
    Repro {
        #[command(flatten)]
        run: Run,
        /// One JSON object per file.
        #[arg(long)]
        json: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Trace a file step by step, with the entitlement and the filter where it broke.
    Explain {
        #[command(flatten)]
        run: Run,
        file: PathBuf,
    },
    /// Shrink a crash to a 1-minimal reproducer with the same violated invariant.
    Minimize {
        #[command(flatten)]
        run: Run,
        file: PathBuf,
        /// Where to write the minimized input (never the input file itself).
        #[arg(short, long, value_parser = sintfuzz_triage::paths::absolute)]
        out: PathBuf,
    },
    /// Group crash files by signature and mark each bucket known or new.
    Bucket {
        /// Target of every file (default: inferred from each path).
        #[arg(long, value_parser = parse_target)]
        target: Option<Target>,
        /// Revision the crashes were found on (default: inferred from the path, else
        /// $SINTFUZZ_REVISION or head).
        #[arg(long, value_parser = parse_revision)]
        revision: Option<Revision>,
        #[arg(long, value_parser = parse_invariants)]
        invariants: Option<InvariantSet>,
        /// Known-findings list (default: triage/known.toml).
        #[arg(long, value_parser = sintfuzz_triage::paths::absolute)]
        known: Option<PathBuf>,
        #[arg(long)]
        json: bool,
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// Minimize a crash and add it to triage/regressions/<target>/ with its sidecar.
    Promote {
        #[command(flatten)]
        run: Run,
        file: PathBuf,
        /// File name (default: the invariant and a hash).
        #[arg(long)]
        name: Option<String>,
        /// One line on what it shows.
        #[arg(long, default_value = "")]
        about: String,
        /// Upstream issue or finding id.
        #[arg(long, default_value = "")]
        finding: String,
        /// Keep an input that replays clean as is (e.g. a fixed oracle false positive
        /// that must stay clean), without minimizing.
        #[arg(long)]
        clean: bool,
    },
    /// (Re)write corpus/ from the named seed scenarios (idempotent).
    Seed {
        /// Also rewrite the regression files of the hand-built witnesses (new ones; a
        /// changed one only when named with --bless, else its diff is printed).
        #[arg(long)]
        regressions: bool,
        /// Re-record this witness regression although its outcomes changed (repeatable).
        #[arg(long, value_name = "NAME")]
        bless: Vec<String>,
    },
    /// Build the engines, fuzz, then repro, minimize and bucket every crash.
    Campaign(campaign::CampaignArgs),
    /// Write the upstream bug report of a known finding (Markdown) to stdout or a file.
    Report {
        /// The finding id from triage/known.toml (SF-001, openvmm#1162).
        #[arg(required_unless_present = "all_open")]
        id: Option<String>,
        /// Write it here instead of stdout.
        #[arg(short, long, value_parser = sintfuzz_triage::paths::absolute)]
        out: Option<PathBuf>,
        /// Write the report of every open finding into triage/reports/.
        #[arg(long, conflicts_with_all = ["out", "id"])]
        all_open: bool,
    },
    /// Coverage of a corpus: the semantic table, then line coverage of model/ and targets/
    /// (HTML report and per-file summary; needs llvm-tools, installed if missing).
    Cover(sintfuzz_triage::campaign::cover::CoverArgs),
    /// Minimize a corpus directory in place to the inputs that keep its coverage.
    Cmin(sintfuzz_triage::campaign::cmin::CminArgs),
    /// Every checked-in input on every revision in every engine's binary: same outcome,
    /// the expected one.
    Parity(sintfuzz_triage::bench::parity::ParityArgs),
    /// Time-to-exposure trials: engines x defects x corpus modes x N trials.
    Tte(tte::TteArgs),
    /// Explore every operation sequence up to a depth over a small domain: exit 0 clean
    /// to the bound, 1 with the shortest witness per root cause, 2 bad input.
    Check(check::CheckArgs),
    /// Executions per second: in-process per target and revision (fixed-seed inputs), or
    /// with --engines under each engine as a share of its empty target.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when the reader of our output goes away
    // (`sintfuzz ... | head`) instead of panicking in `println!`.
    // SAFETY: restoring the default disposition of one signal, before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return ExitCode::from(
                    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                        2
                    } else {
                        0
                    },
                );
            }
            // One line: clap's first line, without its usage block.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("sintfuzz: {}", first.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    match dispatch(cli.cmd) {
        Ok(code) => ExitCode::from(code),
        Err(Fail::Usage(msg)) => {
            eprintln!("sintfuzz: {msg}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(cmd: Cmd) -> Result<u8, Fail> {
    match cmd {
        Cmd::Targets => {
            for t in Target::ALL {
                println!("{:<16} {}", t.name(), t.description());
            }
            Ok(0)
        }
        Cmd::Revisions => {
            for r in Revision::ALL {
                println!("{:<12} {}", r.name(), r.description());
            }
            Ok(0)
        }
        Cmd::Invariants => list_invariants(),
        Cmd::Repro {
            run: r,
            json,
            files,
        } => repro(&r, json, &files),
        Cmd::Explain { run: r, file } => {
            let settings = r.settings()?;
            let data = read_input(&file).map_err(Fail::Usage)?;
            let (text, outcome) = explain::explain(r.target, &data, &settings);
            print!("{text}");
            Ok(matches!(outcome, Outcome::Violation(_)) as u8)
        }
        Cmd::Minimize { run: r, file, out } => minimize_cmd(r, file, out),
        Cmd::Bucket {
            target,
            revision,
            invariants,
            known,
            json,
            dirs,
        } => bucket_cmd(target, revision, invariants, known, json, dirs),
        Cmd::Promote {
            run: r,
            file,
            name,
            about,
            finding,
            clean,
        } => promote(r, file, name, about, finding, clean),
        Cmd::Seed { regressions, bless } => seed(regressions, bless),
        Cmd::Campaign(args) => campaign::campaign(args),
        Cmd::Report { id, out, all_open } => report_cmd(id, out, all_open),
        Cmd::Tte(args) => tte::tte(args),
        Cmd::Parity(args) => sintfuzz_triage::bench::parity::parity(args),
        Cmd::Cover(args) => sintfuzz_triage::campaign::cover::cover(args),
        Cmd::Cmin(args) => sintfuzz_triage::campaign::cmin::cmin_cmd(args),
        Cmd::Check(args) => check::check(args),
        Cmd::Bench(args) => bench::bench_cmd(args),
    }
}

/// Minimize a crash file keeping its root cause, to `out`.
fn minimize_cmd(r: Run, file: PathBuf, out: PathBuf) -> Result<u8, Fail> {
    let settings = r.settings()?;
    let data = read_input(&file).map_err(Fail::Usage)?;
    if same_file(&file, &out) {
        return Err(Fail::Usage(format!(
            "{}: refusing to overwrite the input file",
            out.display()
        )));
    }
    let m = minimize::minimize(r.target, &data, &settings).map_err(Fail::Usage)?;
    std::fs::write(&out, &m.bytes).map_err(|e| Fail::Usage(format!("{}: {e}", out.display())))?;
    println!(
        "{}: {} -> {} actions ({} oracle runs), wrote {}",
        file.display(),
        m.ops_before,
        m.ops_after,
        m.runs,
        out.display()
    );
    println!("{}", m.violation);
    Ok(0)
}

/// Bucket crash directories by root cause against the known list.
fn bucket_cmd(
    target: Option<Target>,
    revision: Option<Revision>,
    invariants: Option<InvariantSet>,
    known: Option<PathBuf>,
    json: bool,
    dirs: Vec<PathBuf>,
) -> Result<u8, Fail> {
    let known_path = known.unwrap_or_else(|| repo_root().join("triage/known.toml"));
    let known = KnownList::load(&known_path).map_err(Fail::Usage)?;
    let base = settings(None, invariants)?;
    let mut crashes = Vec::new();
    for d in &dirs {
        let files = crash_files(d).map_err(Fail::Usage)?;
        if files.is_empty() {
            return Err(Fail::Usage(format!(
                "{}: no crash files (crash-*, crashes/id:*, *.fuzz, *.bin, or a campaign's <engine>-<sha1>)",
                d.display()
            )));
        }
        for path in files {
            let (t, r) = infer_from_path(&path);
            let Some(t) = target.or(t) else {
                return Err(Fail::Usage(format!(
                    "{}: cannot tell the target from the path; pass --target",
                    path.display()
                )));
            };
            crashes.push(Crash {
                path,
                target: t,
                settings: Settings {
                    revision: revision.or(r).unwrap_or(base.revision),
                    invariants: base.invariants,
                },
                peer: None,
            });
        }
    }
    let b = bucket(&crashes, &known);
    if json {
        for bk in &b.buckets {
            println!("{}", serde_json::to_string(bk).expect("serializable"));
        }
    } else {
        for bk in &b.buckets {
            println!(
                "[{}] {} x{} ({} -> {} actions) {}",
                bk.known
                    .as_deref()
                    .map_or("new".to_string(), |k| format!("known {k}")),
                bk.representative.display(),
                bk.files.len(),
                bk.ops_before,
                bk.ops_after,
                bk.violation_line
            );
            println!(
                "    signature: {}  (label: {} {} {} [{}])",
                bk.signature,
                bk.label.invariant,
                bk.label.revision,
                bk.label.target,
                bk.label.skeleton
            );
        }
        println!(
            "{} bucket(s), {} new; {} file(s) replayed clean; {} unreadable",
            b.buckets.len(),
            b.buckets.iter().filter(|b| b.is_new()).count(),
            b.clean.len(),
            b.errors.len()
        );
    }
    for (p, e) in &b.errors {
        eprintln!("sintfuzz: {}: {e}", p.display());
    }
    Ok(b.buckets.iter().any(|b| b.fails()) as u8)
}

/// Make a crash file a regression (bytes and measured sidecar).
fn promote(
    r: Run,
    file: PathBuf,
    name: Option<String>,
    about: String,
    finding: String,
    clean: bool,
) -> Result<u8, Fail> {
    let settings = r.settings()?;
    let data = read_input(&file).map_err(Fail::Usage)?;
    let (bytes, before, after, label) = if clean {
        if run(r.target, &data, &settings) != Outcome::Clean {
            return Err(Fail::Usage(format!(
                "{}: --clean, but it violates an invariant on {}",
                file.display(),
                settings.revision
            )));
        }
        let n = sintfuzz_targets::decode(r.target, &data).ops.len();
        (data, n, n, "clean".to_string())
    } else {
        let m = minimize::minimize(r.target, &data, &settings).map_err(Fail::Usage)?;
        let label = m.violation.invariant.id().to_string();
        (m.bytes, m.ops_before, m.ops_after, label)
    };
    let name = name.unwrap_or_else(|| format!("{label}-{:016x}", fnv1a(&bytes)));
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(Fail::Usage(format!("invalid regression name '{name}'")));
    }
    let (bin, sidecar) = write_regression(&repo_root(), r.target, &name, &about, &finding, &bytes)
        .map_err(|e| Fail::Usage(format!("cannot write the regression: {e}")))?;
    println!(
        "promoted {} ({before} -> {after} actions) to {}",
        file.display(),
        bin.display()
    );
    print!("{}", sidecar.to_toml());
    Ok(0)
}

/// Rewrite the seed corpus (and with `regressions`, the witnesses' regression files).
fn seed(regressions: bool, bless: Vec<String>) -> Result<u8, Fail> {
    let root = repo_root();
    let seeds = write_seeds(&root).map_err(|e| Fail::Usage(format!("seed: {e}")))?;
    let changed = seeds.iter().filter(|(_, c)| *c).count();
    println!("{} seed(s) in corpus/, {changed} changed", seeds.len());
    if regressions {
        let w = write_witnesses(&root, &|n| bless.iter().any(|b| b == n))
            .map_err(|e| Fail::Usage(format!("seed: {e}")))?;
        let diffs: Vec<&String> = w.iter().filter_map(|r| r.as_ref().err()).collect();
        for d in &diffs {
            println!("{d}");
        }
        println!(
            "{} witness regression(s) in triage/regressions/, {} would change and were left alone (re-record one with --bless NAME)",
            w.len(),
            diffs.len()
        );
    }
    Ok(0)
}

/// A known finding's upstream report (or every open one's).
fn report_cmd(id: Option<String>, out: Option<PathBuf>, all_open: bool) -> Result<u8, Fail> {
    let root = repo_root();
    let known = KnownList::load(&root.join("triage/known.toml")).map_err(Fail::Usage)?;
    let ids: Vec<String> = if all_open {
        known
            .finding
            .iter()
            .filter(|k| k.status == "open")
            .map(|k| k.id.clone())
            .collect()
    } else {
        id.into_iter().collect()
    };
    for id in ids {
        let text = finding::report(&root, &known, &id).map_err(Fail::Usage)?;
        let path = if all_open {
            Some(
                root.join(finding::REPORTS_DIR)
                    .join(finding::file_name(&id)),
            )
        } else {
            out.clone()
        };
        match path {
            Some(p) => {
                if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| Fail::Usage(format!("{}: {e}", dir.display())))?;
                }
                std::fs::write(&p, text)
                    .map_err(|e| Fail::Usage(format!("{}: {e}", p.display())))?;
                println!("wrote {}", p.display());
            }
            None => print!("{text}"),
        }
    }
    Ok(0)
}

/// Print every invariant: id, tier, description, upstream.
fn list_invariants() -> Result<u8, Fail> {
    for i in Invariant::ALL {
        let tier = match i.tier() {
            Tier::Default => "default",
            Tier::Strict => "strict",
        };
        println!(
            "{:<25} {:<8} {} [{}]",
            i.id(),
            tier,
            i.description(),
            i.upstream()
        );
    }
    Ok(0)
}

fn repro(r: &Run, json: bool, files: &[PathBuf]) -> Result<u8, Fail> {
    let settings = r.settings()?;
    // Read everything first: a bad file is a usage error before anything runs.
    let inputs: Vec<(PathBuf, Vec<u8>)> = files
        .iter()
        .map(|f| read_input(f).map(|d| (f.clone(), d)))
        .collect::<Result<_, _>>()
        .map_err(Fail::Usage)?;
    let mut any = false;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (file, data) in inputs {
        let outcome = run(r.target, &data, &settings);
        any |= outcome != Outcome::Clean;
        if json {
            let v = outcome.violation();
            let obj = serde_json::json!({
                "file": file.display().to_string(),
                "target": r.target.name(),
                "revision": settings.revision.name(),
                "outcome": if v.is_some() { "violation" } else { "clean" },
                "invariant": v.map(|v| v.invariant.id()),
                "step": v.map(|v| v.step),
                "vp": v.map(|v| v.vp),
                "vtl": v.map(|v| v.vtl as u8),
                "vector": v.and_then(|v| v.vector),
                "detail": v.map(|v| v.to_string()),
            });
            let _ = writeln!(out, "{obj}");
        } else {
            match outcome {
                Outcome::Clean => {
                    let _ = writeln!(out, "{}: clean", file.display());
                }
                Outcome::Violation(v) => {
                    let _ = writeln!(out, "{}: {v}", file.display());
                }
            }
        }
    }
    Ok(any as u8)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// A stable name hash (not for security).
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
