//! Shards: `--shard I/N` explores every N-th root (config x target) starting at the I-th,
//! and writes its result to `OUT/result.json`; `--merge DIR...` reads the N results of
//! one check and gives the verdict an unsharded run gives. Roots are independent (no
//! state of one root is a state of another: the config and the target's salt are part of
//! every fingerprint), so a shard is a complete search of its roots. Any batch system runs
//! the N shards (a CI matrix, a job array); nothing here schedules them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sintfuzz_model::Revision;
use sintfuzz_targets::codec::decode;
use sintfuzz_targets::{InvariantSet, Scenario, Settings, Target};

use crate::findings::bucket::KnownList;
use crate::Fail;

use super::witness::Group;

/// `I/N`: shard I (1-based) of N.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("invalid shard '{s}' (expected I/N with 1 <= I <= N, e.g. 2/8)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }

    /// Whether root number `root` (over the unsharded search) is this shard's.
    pub fn has(self, root: usize) -> bool {
        root % self.count == self.index - 1
    }
}

/// What one shard writes for `--merge`.
#[derive(Serialize, Deserialize)]
pub struct ShardResult {
    pub shard: Shard,
    pub revision: String,
    pub invariants: String,
    /// Everything else that decides what is explored (targets, domain, VPs, configs);
    /// shards of one check have the same.
    pub scope: String,
    /// The requested depth, if any.
    pub depth: Option<usize>,
    /// Every sequence of this many operations was explored.
    pub depth_complete: usize,
    /// The CPU budget stopped the search before the requested depth.
    pub incomplete: bool,
    /// Every reachable state was seen (the next level was empty).
    pub exhausted: bool,
    pub states: u64,
    pub transitions: u64,
    pub cpu_s: f64,
    pub wall_s: f64,
    pub peak_kib: Option<u64>,
    pub groups: Vec<GroupRecord>,
}

/// One root cause's shortest witness in a shard.
#[derive(Serialize, Deserialize)]
pub struct GroupRecord {
    pub key: String,
    pub target: String,
    pub root: usize,
    /// The canonical input file, hex.
    pub witness: String,
    /// Violations classified into this group ([`Group::classified`]).
    pub label_sets: u64,
}

impl GroupRecord {
    pub fn new(g: &Group) -> Self {
        Self {
            key: g.key.clone(),
            target: g.target.name().to_string(),
            root: g.root,
            witness: g.bytes.iter().map(|b| format!("{b:02x}")).collect(),
            label_sets: g.classified,
        }
    }

    /// The group again, from a replay of the witness (so a merge judges with this
    /// checkout's model and `known.toml`, and a damaged file is an error).
    fn group(&self, settings: Settings, known: &KnownList) -> Result<Group, String> {
        let bad = |what: &str| format!("shard result: root cause '{}': {what}", self.key);
        let target: Target = self.target.parse().map_err(|_| bad("unknown target"))?;
        let bytes = (0..self.witness.len())
            .step_by(2)
            .map(|i| {
                self.witness
                    .get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| bad("witness is not hex"))?;
        let scenario: Scenario = decode(target, &bytes);
        let mut g = Group::of(target, scenario, settings, known, self.root)
            .ok_or_else(|| bad("witness replays clean"))?;
        if g.key != self.key {
            return Err(bad(&format!("witness replays as '{}'", g.key)));
        }
        g.classified = self.label_sets;
        Ok(g)
    }
}

pub const RESULT: &str = "result.json";

pub fn write(out: &Path, r: &ShardResult) -> Result<(), Fail> {
    let path = out.join(RESULT);
    let text = serde_json::to_string_pretty(r).expect("serializable");
    std::fs::create_dir_all(out)
        .and_then(|()| std::fs::write(&path, text))
        .map_err(|e| Fail::Usage(format!("{}: {e}", path.display())))
}

fn read(dir: &Path) -> Result<ShardResult, Fail> {
    let path = if dir.is_dir() {
        dir.join(RESULT)
    } else {
        dir.to_path_buf()
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Fail::Usage(format!("{}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| Fail::Usage(format!("{}: not a shard result: {e}", path.display())))
}

/// The merged verdict of N shards.
pub struct Merged {
    pub settings: Settings,
    pub groups: Vec<Group>,
    pub depth_complete: usize,
    pub depth: Option<usize>,
    pub incomplete: bool,
    pub exhausted: bool,
    pub scope: String,
    pub states: u64,
    pub transitions: u64,
    pub cpu_s: f64,
    pub wall_s: f64,
    pub peak_kib: Option<u64>,
}

/// Check that `results` are exactly one of each shard 1..=N of one check.
fn check_complete(results: &[ShardResult]) -> Result<(), Fail> {
    let first = &results[0];
    let n = first.shard.count;
    let mut have = vec![false; n];
    let what = |r: &ShardResult| {
        (
            r.revision.clone(),
            r.invariants.clone(),
            r.scope.clone(),
            r.depth,
        )
    };
    for r in results {
        if what(r) != what(first) || r.shard.count != n {
            return Err(Fail::Usage(format!(
                "shard {}/{} is of another check ({} {} {}) than shard {}/{} ({} {} {})",
                r.shard.index,
                r.shard.count,
                r.revision,
                r.invariants,
                r.scope,
                first.shard.index,
                n,
                first.revision,
                first.invariants,
                first.scope
            )));
        }
        if std::mem::replace(&mut have[r.shard.index - 1], true) {
            return Err(Fail::Usage(format!(
                "shard {}/{n} given twice",
                r.shard.index
            )));
        }
    }
    if let Some(missing) = have.iter().position(|h| !h) {
        return Err(Fail::Usage(format!(
            "shard {}/{n} is missing: no claim without every shard",
            missing + 1
        )));
    }
    Ok(())
}

/// Every shard's root causes, each once with the witness an unsharded run finds first
/// (shorter, then earlier root), replayed with this checkout's model.
fn merge_groups(
    results: &[ShardResult],
    settings: Settings,
    known: &KnownList,
) -> Result<Vec<Group>, Fail> {
    let mut groups: Vec<Group> = Vec::new();
    for r in results {
        for rec in &r.groups {
            let g = rec.group(settings, known).map_err(Fail::Usage)?;
            match groups.iter_mut().find(|h| h.key == g.key) {
                Some(h) => {
                    let sets = h.classified + g.classified;
                    if (g.scenario.ops.len(), g.root) < (h.scenario.ops.len(), h.root) {
                        *h = g;
                    }
                    h.classified = sets;
                }
                None => groups.push(g),
            }
        }
    }
    groups.sort_by_key(|g| (g.scenario.ops.len(), g.root));
    Ok(groups)
}

/// Read the shards in `dirs` (each a directory holding `result.json`, or the file):
/// exactly one of each index 1..=N of one check.
pub fn merge(dirs: &[PathBuf], known: &KnownList) -> Result<Merged, Fail> {
    let results = dirs
        .iter()
        .map(|d| read(d))
        .collect::<Result<Vec<_>, _>>()?;
    check_complete(&results)?;
    let first = &results[0];
    let revision: Revision = first
        .revision
        .parse()
        .map_err(|e: sintfuzz_model::UnknownRevision| Fail::Usage(e.to_string()))?;
    let invariants = InvariantSet::parse(&first.invariants).map_err(Fail::Usage)?;
    let settings = Settings {
        revision,
        invariants,
    };
    let groups = merge_groups(&results, settings, known)?;
    Ok(Merged {
        settings,
        groups,
        // A shard that saw every reachable state is complete at any depth.
        depth_complete: results
            .iter()
            .filter(|r| !r.exhausted)
            .map(|r| r.depth_complete)
            .min()
            .unwrap_or_else(|| results.iter().map(|r| r.depth_complete).max().unwrap_or(0)),
        depth: first.depth,
        incomplete: results.iter().any(|r| r.incomplete),
        exhausted: results.iter().all(|r| r.exhausted),
        scope: first.scope.clone(),
        states: results.iter().map(|r| r.states).sum(),
        transitions: results.iter().map(|r| r.transitions).sum(),
        cpu_s: results.iter().map(|r| r.cpu_s).sum(),
        wall_s: results.iter().map(|r| r.wall_s).fold(0.0, f64::max),
        peak_kib: results.iter().filter_map(|r| r.peak_kib).max(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_split_the_roots() {
        assert_eq!(Shard::parse("2/8"), Ok(Shard { index: 2, count: 8 }));
        for bad in ["0/3", "4/3", "1", "a/b", "1/0", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        let shards: Vec<_> = (1..=3).map(|i| Shard { index: i, count: 3 }).collect();
        for root in 0..20 {
            assert_eq!(shards.iter().filter(|s| s.has(root)).count(), 1);
        }
    }
}
