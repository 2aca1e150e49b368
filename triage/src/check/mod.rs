//! `sintfuzz check`: every operation sequence up to a depth over a small, documented
//! domain (`domain`), breadth-first with state deduplication (`search`), judged by the
//! fuzz targets' own model and oracle (`Machine::step`), each root cause reported with its
//! shortest witness as a canonical input file (`witness`). Exit 0: no violation of the
//! chosen invariants up to the depth; 1: violations (witnesses written); 2: bad input, or
//! a time budget that ended before the depth.

pub mod copy;
pub mod domain;
pub mod memo;
pub mod por;
pub mod search;
pub mod shard;
pub mod symmetry;
#[cfg(test)]
mod testing;
pub mod witness;

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use sintfuzz_model::{Config, Revision};
use sintfuzz_targets::files::write_regression;
use sintfuzz_targets::{InvariantSet, Machine, Settings, Target};

use crate::args::{parse_duration, parse_targets};
use crate::findings::bucket::KnownList;
use crate::{repo_root, Fail};

use domain::{ConfigFilter, Size};
use search::{peak_rss_kib, Limits, Root};
use witness::{Group, Groups, Interner, Label, RootInfo};

#[derive(Args, Clone, Debug)]
pub struct CheckArgs {
    /// Filter revision.
    #[arg(long, value_parser = parse_revision, required_unless_present = "merge")]
    pub revision: Option<Revision>,
    /// Invariants: default, strict, or comma-separated ids.
    #[arg(long, default_value = "default", value_parser = InvariantSet::parse)]
    pub invariants: InvariantSet,
    /// Explore every sequence of up to this many operations. Without it, `--time` is
    /// required and the search goes as deep as the time allows (only completed depths
    /// are claimed).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub depth: Option<u16>,
    /// CPU-time budget (this process's user + system time, every thread together, so on a
    /// shared machine this is "N minutes of one core"). With `--depth`, running out first
    /// is an error (exit 2).
    #[arg(long, value_parser = parse_duration)]
    pub time: Option<Duration>,
    /// Explore partitions of 1 up to this many VPs.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub vps: u8,
    /// Value sets (see docs/design.md, "Exhaustive check").
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
    #[arg(long, default_value = "sintfuzz-out/check", value_parser = crate::paths::absolute)]
    pub out: PathBuf,
    /// Also add each witness to triage/regressions/<target>/ (with its sidecar), named
    /// `check-<revision>-<root cause>`.
    #[arg(long)]
    pub promote: bool,
    /// Seconds between progress lines (stderr).
    #[arg(long, default_value_t = 5)]
    pub progress: u64,
    /// Worker threads (0: one per core). The result is the same whatever the number.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=256))]
    pub threads: u16,
    /// Expand both mirror-image subtrees of a VP-symmetric state (no symmetry reduction;
    /// for comparison).
    #[arg(long)]
    pub no_symmetry: bool,
    /// Expand every mirror image under the swap of two vectors of the same role (no value
    /// symmetry reduction; for comparison). It applies only to the `medium` domain.
    #[arg(long)]
    pub no_value_symmetry: bool,
    /// Expand both orders of operations on different VPs that commute (no partial-order
    /// reduction; for comparison).
    #[arg(long)]
    pub no_por: bool,
    /// On the last level, apply every operation from every node, also where an earlier
    /// node with the same part of the state that decides its verdict (the shared state,
    /// and the state of the VP it acts on) judged it (no verdict memo; for comparison).
    #[arg(long)]
    pub no_memo: bool,
    /// Explore shard I of N (1-based: every N-th config x target, from the I-th) and
    /// write OUT/result.json for `--merge`.
    #[arg(long, value_parser = shard::Shard::parse)]
    pub shard: Option<shard::Shard>,
    /// Merge the results of every shard of one check (directories holding result.json)
    /// into one verdict; witnesses go to `--out`.
    #[arg(long, num_args = 1.., value_name = "DIR", conflicts_with_all = ["revision", "shard", "depth", "time"])]
    pub merge: Vec<PathBuf>,
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
    let known_path = repo_root().join("triage/known.toml");
    let known = KnownList::load(&known_path).map_err(Fail::Usage)?;
    if !args.merge.is_empty() {
        return merge(&args, &known);
    }
    let Some(revision) = args.revision else {
        return Err(Fail::Usage("check needs --revision or --merge".into()));
    };
    if args.depth.is_none() && args.time.is_none() {
        return Err(Fail::Usage(
            "check needs --depth K, --time T, or both".into(),
        ));
    }
    let targets = parse_targets(&args.targets).map_err(Fail::Usage)?;
    let settings = Settings {
        revision,
        invariants: args.invariants,
    };
    let configs = domain::configs(args.vps, &args.config);
    if configs.is_empty() {
        return Err(Fail::Usage("--config leaves no partition config".into()));
    }
    let built = Built::new(&targets, &configs, &args, &settings);
    if !built.skipped.is_empty() {
        let list: Vec<_> = built.skipped.iter().copied().collect();
        println!(
            "check: skipping {} where another target has every one of its operations",
            list.join(", ")
        );
    }
    let names: Vec<_> = targets.iter().map(|t| t.name()).collect();
    let scope = format!(
        "targets {}, domain {:?}, 1..={} VPs, {} configs{}",
        names.join(","),
        args.domain,
        args.vps,
        configs.len(),
        if args.config.is_empty() {
            String::new()
        } else {
            format!(" ({})", args.config)
        }
    );
    println!(
        "check: revision {}, invariants {}, {scope}, {} roots{}{}, up to {} ops per state, depth {}{}",
        settings.revision,
        settings.invariants,
        built.roots.len(),
        args.shard
            .map_or(String::new(), |s| format!(" (shard {}/{} of {})", s.index, s.count, built.count)),
        if built.mirrored > 0 {
            format!(", {} VP-symmetric", built.mirrored)
        } else {
            String::new()
        } + &if built.value_mirrored > 0 {
            format!(", {} value-symmetric", built.value_mirrored)
        } else {
            String::new()
        },
        built.branching,
        args.depth.map_or("unbounded".to_string(), |d| d.to_string()),
        args.time
            .map_or(String::new(), |t| format!(", CPU budget {}s", t.as_secs())),
    );
    explore(built, settings, &scope, &args, &known)
}

/// `--merge`: the verdict of the shards' results.
fn merge(args: &CheckArgs, known: &KnownList) -> Result<u8, Fail> {
    let m = shard::merge(&args.merge, known)?;
    println!(
        "check: merged {} shard result(s): revision {}, invariants {}, {}",
        args.merge.len(),
        m.settings.revision,
        m.settings.invariants,
        m.scope
    );
    let written = report(&m.groups, m.settings, args)?;
    println!(
        "states {}, transitions {}, depth {} complete{}, {:.1} s CPU over the shards, {:.1} s wall for the longest, peak memory {} for the largest",
        m.states,
        m.transitions,
        m.depth_complete,
        if m.incomplete { " (a shard was stopped by its CPU budget)" } else { "" },
        m.cpu_s,
        m.wall_s,
        mib(m.peak_kib)
    );
    verdict(
        written,
        m.settings,
        m.depth,
        m.depth_complete,
        m.incomplete,
        m.exhausted,
        &m.scope,
        &args.out,
    )
}

/// The roots of a check (this shard's, if sharded) and what the header line says of them.
struct Built {
    roots: Vec<Root>,
    infos: Vec<RootInfo>,
    /// The most operations of any root.
    branching: usize,
    /// Targets left out because another has every one of their operations.
    skipped: std::collections::BTreeSet<&'static str>,
    /// Roots of the whole (unsharded) check.
    count: usize,
    /// Roots with a VP mirror.
    mirrored: usize,
    /// Roots with a value mirror.
    value_mirrored: usize,
}

impl Built {
    fn new(targets: &[Target], configs: &[Config], args: &CheckArgs, settings: &Settings) -> Self {
        let mut interner = Interner::default();
        let mut b = Built {
            roots: Vec::new(),
            infos: Vec::new(),
            branching: 0,
            skipped: Default::default(),
            count: 0,
            mirrored: 0,
            value_mirrored: 0,
        };
        for (t, &target) in targets.iter().enumerate() {
            for config in configs {
                let ops = domain::ops(target, config, args.domain);
                // A target whose operations another chosen target also has adds no
                // sequence the other does not explore (the target only changes the encoding).
                let covered = targets.iter().enumerate().any(|(u, &other)| {
                    let theirs = domain::ops(other, config, args.domain);
                    u != t
                        && ops.iter().all(|o| theirs.contains(o))
                        && (ops.len() < theirs.len() || u < t)
                });
                if covered {
                    b.skipped.insert(target.name());
                    continue;
                }
                b.count += 1;
                let index = b.count - 1;
                if args.shard.is_some_and(|s| !s.has(index)) {
                    continue;
                }
                b.branching = b.branching.max(ops.len());
                let vp = !args.no_symmetry && symmetry::mirror(config, &ops).is_some();
                let mirrors = symmetry::mirrors(config, &ops, vp, !args.no_value_symmetry);
                b.mirrored += usize::from(vp);
                b.value_mirrored += usize::from(mirrors.len() > usize::from(vp));
                b.roots.push(Root {
                    machine: Machine::new(*config, settings),
                    ops: ops.clone(),
                    salt: t as u64,
                    mirrors,
                    local: (!args.no_por).then(|| por::locality(&ops)),
                    memo: !args.no_memo,
                });
                b.infos
                    .push(RootInfo::new(index, target, *config, ops, &mut interner));
            }
        }
        b
    }
}

/// Search the roots, write the shard's result if sharded, report and judge.
fn explore(
    built: Built,
    settings: Settings,
    scope: &str,
    args: &CheckArgs,
    known: &KnownList,
) -> Result<u8, Fail> {
    let depth = args.depth.map_or(usize::MAX, usize::from);
    let limits = Limits {
        depth,
        cpu_budget: args.time,
        interval: Duration::from_secs(args.progress.max(1)),
        threads: usize::from(args.threads),
    };
    let mut groups = Groups::new(built.infos, settings, known);
    let stats = search::search(&built.roots, &limits, &mut groups)
        .map_err(|e| Fail::Usage(format!("cannot start {} threads: {e}", args.threads)))?;
    let secs = stats.elapsed.as_secs_f64().max(1e-9);
    let cpu = stats.cpu.as_secs_f64().max(1e-9);
    let exhausted = stats.incomplete.is_none() && stats.depth < depth;
    if let Some(s) = args.shard {
        shard::write(
            &args.out,
            &shard::ShardResult {
                shard: s,
                revision: settings.revision.to_string(),
                invariants: settings.invariants.to_string(),
                scope: scope.to_string(),
                depth: args.depth.map(usize::from),
                depth_complete: stats.depth,
                incomplete: stats.incomplete.is_some(),
                exhausted,
                states: stats.states,
                transitions: stats.transitions,
                cpu_s: cpu,
                wall_s: secs,
                peak_kib: peak_rss_kib(),
                groups: groups.groups.iter().map(shard::GroupRecord::new).collect(),
            },
        )?;
    }
    let written = report(&groups.groups, settings, args)?;
    println!(
        "states {} (+ {} judged on the last level, not stored), transitions {}, violating transitions {}, halted {}, depth {} complete{}, {:.1} s wall, {:.1} s CPU, {:.0} states/CPU-s, {:.0} transitions/CPU-s, peak memory {}",
        stats.states,
        stats.leaves,
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
    verdict(
        written,
        settings,
        args.depth.map(usize::from),
        stats.depth,
        stats.incomplete.is_some(),
        exhausted,
        scope,
        &args.out,
    )
}

/// Write each root cause's witness under `args.out` (and promote it if asked) and print
/// its lines; returns how many.
fn report(groups: &[Group], settings: Settings, args: &CheckArgs) -> Result<usize, Fail> {
    let mut written = 0;
    for g in groups {
        let dir = args.out.join(g.target.name());
        let name = format!(
            "{}-{}-{}",
            settings.revision,
            slug(&g.label.short()),
            slug(&g.key)
        );
        let path = dir.join(format!("{name}.bin"));
        let separated = dir.join(format!("{name}-separated.bin"));
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&path, &g.bytes))
            .and_then(|()| match &g.label {
                Label::Separated { bytes, .. } => std::fs::write(&separated, bytes),
                _ => Ok(()),
            })
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
            g.label.short(),
            g.key,
            g.scenario.ops.len(),
            vs_known,
            g.target,
            domain::describe(&g.scenario.config),
            g.violation
        );
        println!(
            "    {}; found after {} states, {} transitions, {:.2} s CPU; witness: {}",
            g.label.known_line(&separated),
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
                g.label.id().unwrap_or(""),
                &g.bytes,
            )
            .map_err(|e| Fail::Usage(format!("cannot write the regression: {e}")))?;
            println!("    promoted: {}", bin.display());
        }
    }
    Ok(written)
}

/// The last line and the exit code: 1 with root causes, 2 when the budget ended before
/// the requested depth, else 0 (clean up to the depth reached).
#[allow(clippy::too_many_arguments)]
fn verdict(
    written: usize,
    settings: Settings,
    requested: Option<usize>,
    depth: usize,
    incomplete: bool,
    exhausted: bool,
    scope: &str,
    out: &std::path::Path,
) -> Result<u8, Fail> {
    if written > 0 {
        println!(
            "result: {} root cause(s) violate {} on {}; shortest witnesses under {}",
            written,
            settings.invariants,
            settings.revision,
            out.display()
        );
        return Ok(1);
    }
    if let (Some(d), true) = (requested, incomplete) {
        return Err(Fail::Usage(format!(
            "CPU budget ended at depth {} of {d}: no claim beyond depth {depth}",
            depth + 1,
        )));
    }
    println!(
        "result: clean: no violation of {} on {} {}, over {scope}",
        settings.invariants,
        settings.revision,
        if exhausted {
            format!("at any depth (every reachable state seen by depth {depth})")
        } else {
            format!("up to depth {depth}")
        },
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
