//! **bench/** owns measurement: executions per second (this file, `inproc`, `engines`),
//! time-to-exposure trials (`tte`) over the harness registry (`harness`: ours and the
//! benchmark binaries, by name), and engine parity on the checked-in inputs (`parity`).
//! It may call `findings/`, `engine/` (a trial runs engines through the same runner as
//! a campaign, `engine/runner`) and the targets; never `cli/`, `campaign/` or `check/`.
//!
//! `sintfuzz bench`: executions per second. Without `--engines`, in-process (the model
//! and oracle alone, [`inproc`]); with `--engines`, under each engine as a share of its
//! empty target, per build variant and benchmark harness ([`engines`]).

pub mod engines;
pub mod harness;
pub mod inproc;
pub mod parity;
pub mod tte;

use clap::Args;
use sintfuzz_model::Revision;
use sintfuzz_targets::oracle::Skip;

use crate::args::parse_targets;
use crate::Fail;

pub use inproc::{bench, Row};

#[derive(Args, Clone, Debug)]
pub struct BenchArgs {
    /// Seconds per target and revision (in-process), or per engine run.
    #[arg(long)]
    pub seconds: Option<u64>,
    /// Comma-separated targets, or `all`.
    #[arg(long, default_value = "all")]
    pub targets: String,
    /// Input generator seed (in-process).
    #[arg(long, default_value_t = 0x5eed)]
    pub seed: u64,
    /// Comma-separated engines (libfuzzer, afl, honggfuzz): measure each target's binary
    /// under the engine beside the engine's empty target instead of in-process.
    #[arg(long)]
    pub engines: Option<String>,
    /// With --engines: benchmark harnesses to measure beside the targets (nofb:
    /// relay_lifecycle without the near-miss feedback, every engine; ops, naive, shaped:
    /// libFuzzer only).
    #[arg(long, default_value = "")]
    pub harnesses: String,
    /// With --engines libfuzzer: build variants (default, no-cmp, no-cmp-no-dbg), each
    /// built into its own target directory.
    #[arg(long, default_value = "default")]
    pub builds: String,
    /// With --engines: use the default build's binaries in DIR (per engine as `campaign
    /// --bin-dir` takes them) instead of building.
    #[arg(long, value_parser = crate::paths::absolute)]
    pub bin_dir: Option<std::path::PathBuf>,
}

pub fn bench_cmd(args: BenchArgs) -> Result<u8, Fail> {
    let targets = parse_targets(&args.targets).map_err(Fail::Usage)?;
    if args.engines.is_some() {
        return engines::run(&args, &targets);
    }
    let rows = bench(
        &targets,
        &Revision::ALL,
        std::time::Duration::from_secs(args.seconds.unwrap_or(2).max(1)),
        args.seed,
    );
    let reasons: Vec<&str> = Skip::ALL.iter().map(|k| k.name()).collect();
    println!(
        "| target | revision | execs | exec/s | mean ops/input | judged | skipped per judged: {} |",
        reasons.join(" / ")
    );
    println!("|---|---|---|---|---|---|---|");
    for r in rows {
        let shares: Vec<String> = Skip::ALL
            .iter()
            .map(|&k| format!("{:.1} %", 100.0 * r.skips.share(k)))
            .collect();
        println!(
            "| {} | {} | {} | {:.0} | {:.1} | {} | {} |",
            r.target,
            r.revision,
            r.execs,
            r.execs as f64 / r.seconds,
            r.mean_ops,
            r.skips.judged,
            shares.join(" / ")
        );
    }
    Ok(0)
}
