//! `sintfuzz`: crash triage and one-command campaigns. Exit codes: 0 clean / no new
//! bucket, 1 violation / new bucket, 2 usage, unreadable input or setup failure.
//!
//! **cli/** owns argument parsing and dispatch: each subcommand's arguments, and the glue
//! that hands them to the library (`campaign/`, `bench/`, `check/`, `findings/`). It may
//! call everything; nothing calls it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sintfuzz_model::Revision;
use sintfuzz_targets::invariant::Tier;
use sintfuzz_targets::{Invariant, InvariantSet, Target};
use sintfuzz_triage::args::{parse_invariants, parse_revision, parse_target, Run};
use sintfuzz_triage::bench::{self, tte};
use sintfuzz_triage::findings::commands;
use sintfuzz_triage::{campaign, check, Fail};

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
        } => commands::repro(&r, json, &files),
        Cmd::Explain { run: r, file } => commands::explain(&r, &file),
        Cmd::Minimize { run: r, file, out } => commands::minimize(r, file, out),
        Cmd::Bucket {
            target,
            revision,
            invariants,
            known,
            json,
            dirs,
        } => commands::bucket(target, revision, invariants, known, json, dirs),
        Cmd::Promote {
            run: r,
            file,
            name,
            about,
            finding,
            clean,
        } => commands::promote(r, file, name, about, finding, clean),
        Cmd::Seed { regressions, bless } => commands::seed(regressions, bless),
        Cmd::Campaign(args) => campaign::campaign(args),
        Cmd::Report { id, out, all_open } => commands::report(id, out, all_open),
        Cmd::Tte(args) => tte::tte(args),
        Cmd::Parity(args) => sintfuzz_triage::bench::parity::parity(args),
        Cmd::Cover(args) => sintfuzz_triage::campaign::cover::cover(args),
        Cmd::Cmin(args) => sintfuzz_triage::campaign::cmin::cmin_cmd(args),
        Cmd::Check(args) => check::check(args),
        Cmd::Bench(args) => bench::bench_cmd(args),
    }
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
