//! `sintfuzz check`: every operation sequence up to a depth over a small, documented
//! domain (`domain`), breadth-first with state deduplication (`search`), judged by the
//! fuzz targets' own model and oracle (`Machine::step`), each root cause reported with its
//! shortest witness as a canonical input file (`witness`). Exit 0: no violation of the
//! chosen invariants up to the depth; 1: violations (witnesses written); 2: bad input, or
//! a time budget that ended before the depth.

pub mod domain;
pub mod search;
pub mod witness;

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use sintfuzz_model::Revision;
use sintfuzz_targets::files::write_regression;
use sintfuzz_targets::{InvariantSet, Machine, Settings};

use crate::bucket::KnownList;
use crate::campaign::{parse_duration, parse_targets};
use crate::{repo_root, Fail};

use domain::{ConfigFilter, Size};
use search::{peak_rss_kib, Limits, Root};
use witness::{Groups, Interner, RootInfo};

#[derive(Args, Clone, Debug)]
pub struct CheckArgs {
    /// Filter revision.
    #[arg(long, value_parser = parse_revision)]
    pub revision: Revision,
    /// Invariants: default, strict, or comma-separated ids.
    #[arg(long, default_value = "default", value_parser = InvariantSet::parse)]
    pub invariants: InvariantSet,
    /// Explore every sequence of up to this many operations. Without it, `--time` is
    /// required and the search goes as deep as the time allows (only completed depths
    /// are claimed).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub depth: Option<u16>,
    /// CPU-time budget (this process's user + system time: the search uses one core, so
    /// on a shared machine this is "N minutes on 1 core"). With `--depth`, running out
    /// first is an error (exit 2).
    #[arg(long, value_parser = parse_duration)]
    pub time: Option<Duration>,
    /// Explore partitions of 1 up to this many VPs.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub vps: u8,
    /// Value sets (see the README, "Exhaustive check").
    #[arg(long, value_enum, default_value = "small")]
    pub domain: Size,
    /// Targets whose operation kinds to explore (comma-separated, or `all`); each witness
    /// is a canonical input file of its target.
    #[arg(long, default_value = "all")]
    pub targets: String,
    /// Restrict config axes, e.g. `relay=on,vtl1=off,isolation=snp,era=modern`
    /// (default: every value of every axis).
    #[arg(long, default_value = "", value_parser = ConfigFilter::parse)]
    pub config: ConfigFilter,
    /// Where witnesses go: DIR/<target>/<name>.bin.
    #[arg(long, default_value = "sintfuzz-out/check")]
    pub out: PathBuf,
    /// Also add each witness to triage/regressions/<target>/ (with its sidecar), named
    /// `check-<revision>-<root cause>`.
    #[arg(long)]
    pub promote: bool,
    /// Seconds between progress lines (stderr).
    #[arg(long, default_value_t = 5)]
    pub progress: u64,
}

fn parse_revision(s: &str) -> Result<Revision, String> {
    s.parse()
        .map_err(|e: sintfuzz_model::UnknownRevision| e.to_string())
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("?".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
}

/// A file-name-safe form of a group key.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

pub fn check(args: CheckArgs) -> Result<u8, Fail> {
    if args.depth.is_none() && args.time.is_none() {
        return Err(Fail::Usage(
            "check needs --depth K, --time T, or both".into(),
        ));
    }
    let targets = parse_targets(&args.targets).map_err(Fail::Usage)?;
    let settings = Settings {
        revision: args.revision,
        invariants: args.invariants,
    };
    let known_path = repo_root().join("triage/known.toml");
    let known = KnownList::load(&known_path).map_err(Fail::Usage)?;
    let configs = domain::configs(args.vps, &args.config);
    if configs.is_empty() {
        return Err(Fail::Usage("--config leaves no partition config".into()));
    }
    let mut interner = Interner::default();
    let mut roots = Vec::new();
    let mut infos = Vec::new();
    let mut branching = 0usize;
    let mut skipped = std::collections::BTreeSet::new();
    for (t, &target) in targets.iter().enumerate() {
        for config in &configs {
            let ops = domain::ops(target, config, args.domain);
            // A target whose operations another chosen target also has adds no sequence
            // the other does not explore (the target only changes the encoding).
            let covered = targets.iter().enumerate().any(|(u, &other)| {
                let theirs = domain::ops(other, config, args.domain);
                u != t
                    && ops.iter().all(|o| theirs.contains(o))
                    && (ops.len() < theirs.len() || u < t)
            });
            if covered {
                skipped.insert(target.name());
                continue;
            }
            branching = branching.max(ops.len());
            roots.push(Root {
                machine: Machine::new(*config, &settings),
                ops: ops.clone(),
                salt: t as u64,
            });
            infos.push(RootInfo::new(target, *config, ops, &mut interner));
        }
    }
    if !skipped.is_empty() {
        let list: Vec<_> = skipped.into_iter().collect();
        println!(
            "check: skipping {} where another target has every one of its operations",
            list.join(", ")
        );
    }
    let depth = args.depth.map_or(usize::MAX, usize::from);
    let names: Vec<_> = targets.iter().map(|t| t.name()).collect();
    println!(
        "check: revision {}, invariants {}, targets {}, domain {:?}, 1..={} VPs, {} configs, {} roots, up to {} ops per state, depth {}{}",
        settings.revision,
        settings.invariants,
        names.join(","),
        args.domain,
        args.vps,
        configs.len(),
        roots.len(),
        branching,
        args.depth.map_or("unbounded".to_string(), |d| d.to_string()),
        args.time
            .map_or(String::new(), |t| format!(", CPU budget {}s", t.as_secs())),
    );
    let limits = Limits {
        depth,
        cpu_budget: args.time,
        interval: Duration::from_secs(args.progress.max(1)),
    };
    let mut groups = Groups::new(infos, settings, &known);
    let stats = search::search(&roots, &limits, &mut groups);
    let secs = stats.elapsed.as_secs_f64().max(1e-9);
    // Witnesses, shortest first (BFS order already is).
    let mut written = 0;
    for g in &groups.groups {
        let dir = args.out.join(g.target.name());
        let name = format!(
            "{}-{}-{}",
            settings.revision,
            slug(g.known.as_deref().unwrap_or("new")),
            slug(&g.key)
        );
        let path = dir.join(format!("{name}.bin"));
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&path, &g.bytes))
            .map_err(|e| Fail::Usage(format!("{}: {e}", path.display())))?;
        written += 1;
        let vs_known = match g.known_len {
            Some(k) if g.scenario.ops.len() < k => {
                format!(" SHORTER than the known witness ({k} ops)")
            }
            Some(k) if g.scenario.ops.len() > k => {
                format!(" longer than the known witness ({k} ops)")
            }
            Some(_) => " = known witness length".to_string(),
            None => String::new(),
        };
        println!(
            "[{}] {}: {} ops{}, {} {}: {}",
            g.known.as_deref().unwrap_or("new"),
            g.key,
            g.scenario.ops.len(),
            vs_known,
            g.target,
            domain::describe(&g.scenario.config),
            g.violation
        );
        println!(
            "    found after {} states, {} transitions, {:.2} s CPU; witness: {}",
            g.found_states,
            g.found_transitions,
            g.found_cpu.as_secs_f64(),
            path.display()
        );
        if args.promote {
            let about = format!(
                "shortest witness found by `sintfuzz check --revision {}` ({} ops)",
                settings.revision,
                g.scenario.ops.len()
            );
            let (bin, _) = write_regression(
                &repo_root(),
                g.target,
                &format!("check-{name}"),
                &about,
                g.known.as_deref().unwrap_or(""),
                &g.bytes,
            )
            .map_err(|e| Fail::Usage(format!("cannot write the regression: {e}")))?;
            println!("    promoted: {}", bin.display());
        }
    }
    let cpu = stats.cpu.as_secs_f64().max(1e-9);
    println!(
        "states {}, transitions {}, violating transitions {}, halted {}, depth {} complete{}, {:.1} s wall, {:.1} s CPU, {:.0} states/CPU-s, {:.0} transitions/CPU-s, peak memory {}",
        stats.states,
        stats.transitions,
        stats.violations,
        stats.halted,
        stats.depth,
        stats
            .incomplete
            .map_or(String::new(), |d| format!(" (depth {d} stopped by the CPU budget)")),
        secs,
        cpu,
        stats.states as f64 / cpu,
        stats.transitions as f64 / cpu,
        mib(peak_rss_kib())
    );
    let exhausted = stats.incomplete.is_none() && stats.depth < depth;
    if written > 0 {
        println!(
            "result: {} root cause(s) violate {} on {}; shortest witnesses under {}",
            written,
            settings.invariants,
            settings.revision,
            args.out.display()
        );
        return Ok(1);
    }
    if let (Some(d), Some(_)) = (args.depth, stats.incomplete) {
        return Err(Fail::Usage(format!(
            "CPU budget ended at depth {} of {d}: no claim beyond depth {}",
            stats.depth + 1,
            stats.depth
        )));
    }
    println!(
        "result: clean: no violation of {} on {} {}, over the {:?} domain with 1..={} VPs",
        settings.invariants,
        settings.revision,
        if exhausted {
            format!(
                "at any depth (every reachable state seen by depth {})",
                stats.depth
            )
        } else {
            format!("up to depth {}", stats.depth)
        },
        args.domain,
        args.vps
    );
    Ok(0)
}

pub(crate) fn print_progress(s: &search::Stats, done: usize, len: usize) {
    let cpu = s.cpu.as_secs_f64().max(1e-9);
    eprintln!(
        "check: depth {} {}/{} nodes, {} states, {} transitions, {:.0} states/CPU-s, {:.0} transitions/CPU-s, peak {} ({:.0} s wall, {:.0} s CPU)",
        s.depth + 1,
        done,
        len,
        s.states,
        s.transitions,
        s.states as f64 / cpu,
        s.transitions as f64 / cpu,
        mib(peak_rss_kib()),
        s.elapsed.as_secs_f64(),
        cpu
    );
}

pub(crate) fn print_level(s: &search::Stats) {
    eprintln!(
        "check: depth {} complete: {} states, {} transitions, {} violating, {:.1} s wall, {:.1} s CPU, peak {}",
        s.depth,
        s.states,
        s.transitions,
        s.violations,
        s.elapsed.as_secs_f64(),
        s.cpu.as_secs_f64(),
        mib(peak_rss_kib())
    );
}
