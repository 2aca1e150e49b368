//! Grouping the search's violations by root cause, keeping the first (so shortest)
//! witness of each. A root cause is the fix-based signature
//! (`sintfuzz_targets::signature`), named by its `triage/known.toml` entry when it has one.
//!
//! A signature costs a few dozen replays, so it is computed once per (invariant, set of
//! operation labels on the path, label of the violating operation); later violations
//! with the same key are counted, not analysed. Two witnesses with the same key but
//! different signatures would share the first one's group: a heuristic, since at the
//! shortest length the labels nearly determine the path.

use std::collections::{HashMap, HashSet};

use sintfuzz_model::{Config, Op};
use sintfuzz_targets::codec::{decode, encode};
use sintfuzz_targets::files::read_input;
use sintfuzz_targets::signature::signature;
use sintfuzz_targets::{run, Invariant, Scenario, Settings, Target, Violation};

use crate::findings::bucket::{op_label, KnownList};
use crate::repo_root;

use super::search;

/// One root cause and its shortest witness.
#[derive(Clone, Debug)]
pub struct Group {
    /// The root-cause signature, e.g. `lost admission+wrmsr-trigger too-closed WrMsr.sint`.
    pub key: String,
    /// Its `known.toml` id, if any.
    pub known: Option<String>,
    pub invariant: Invariant,
    pub target: Target,
    pub scenario: Scenario,
    pub bytes: Vec<u8>,
    pub violation: Violation,
    /// Operations in the shortest known witness file of this finding, if it has one.
    pub known_len: Option<usize>,
    /// Distinct classification keys (see the module comment) that fell into this group.
    pub label_sets: u64,
    /// When the search found it: states seen, transitions applied, CPU time spent.
    pub found_states: u64,
    pub found_transitions: u64,
    pub found_cpu: std::time::Duration,
    /// The root the witness starts from, numbered over the whole unsharded search (a
    /// merge keeps, of two equally short witnesses, the one an unsharded run finds first).
    pub root: usize,
}

impl Group {
    /// The group of a witness of `target`: its signature, `known.toml` entry and
    /// violation; `None` if it does not encode or replays clean. Figures are zero.
    pub fn of(
        target: Target,
        scenario: Scenario,
        settings: Settings,
        known: &KnownList,
        root: usize,
    ) -> Option<Group> {
        let Ok(bytes) = encode(target, &scenario) else {
            // Every domain operation encodes in its target (domain::ops checks), so a
            // path always does; keep going rather than lose the search.
            eprintln!("sintfuzz check: internal: a witness does not encode; skipped");
            return None;
        };
        let sig = signature(target, settings.revision, settings.invariants, &bytes);
        let violation = run(target, &bytes, &settings).violation();
        let (Some(sig), Some(violation)) = (sig, violation) else {
            eprintln!("sintfuzz check: internal: a witness replays clean; skipped");
            return None;
        };
        let known = known.find(&sig, violation.invariant).map(|(_, k)| k);
        // The shortest of the finding's regression files.
        let known_len = known.and_then(|k| {
            k.regressions
                .iter()
                .filter_map(|f| {
                    let data = read_input(&repo_root().join(f)).ok()?;
                    let t = f.split('/').rev().nth(1)?.parse::<Target>().ok()?;
                    Some(decode(t, &data).ops.len())
                })
                .min()
        });
        Some(Group {
            key: sig.to_string(),
            known: known.map(|k| k.id.clone()),
            invariant: violation.invariant,
            target,
            scenario,
            bytes,
            violation,
            known_len,
            label_sets: 1,
            found_states: 0,
            found_transitions: 0,
            found_cpu: std::time::Duration::ZERO,
            root,
        })
    }
}

/// Per root: what the observer needs to turn a path into a scenario.
pub struct RootInfo {
    /// The root's number over the whole unsharded search.
    pub index: usize,
    pub target: Target,
    pub config: Config,
    pub ops: Vec<Op>,
    /// Label bit of each operation.
    labels: Vec<u128>,
}

impl RootInfo {
    pub fn new(
        index: usize,
        target: Target,
        config: Config,
        ops: Vec<Op>,
        interner: &mut Interner,
    ) -> Self {
        let labels = ops.iter().map(|o| interner.bit(&op_label(o))).collect();
        Self {
            index,
            target,
            config,
            ops,
            labels,
        }
    }
}

/// Label strings to bits (the 128th and later labels share the last bit: coarser keys).
#[derive(Default)]
pub struct Interner(HashMap<String, u32>);

impl Interner {
    fn bit(&mut self, label: &str) -> u128 {
        let n = self.0.len() as u32;
        let i = *self.0.entry(label.to_string()).or_insert(n);
        1u128 << i.min(127)
    }
}

pub struct Groups<'a> {
    pub roots: Vec<RootInfo>,
    settings: Settings,
    known: &'a KnownList,
    classified: HashSet<(Invariant, u128, u16)>,
    index: HashMap<String, usize>,
    pub groups: Vec<Group>,
    cpu0: std::time::Duration,
}

impl<'a> Groups<'a> {
    pub fn new(roots: Vec<RootInfo>, settings: Settings, known: &'a KnownList) -> Self {
        Self {
            roots,
            settings,
            known,
            classified: HashSet::new(),
            index: HashMap::new(),
            groups: Vec::new(),
            cpu0: search::cpu_time(),
        }
    }

    fn classify(&mut self, root: usize, path: &[u16], stats: &search::Stats) {
        let r = &self.roots[root];
        let scenario = Scenario {
            config: r.config,
            ops: path.iter().map(|&o| r.ops[o as usize]).collect(),
        };
        let Some(mut g) = Group::of(r.target, scenario, self.settings, self.known, r.index) else {
            return;
        };
        if let Some(&i) = self.index.get(&g.key) {
            self.groups[i].label_sets += 1;
            return;
        }
        g.found_states = stats.states;
        g.found_transitions = stats.transitions;
        g.found_cpu = search::cpu_time().saturating_sub(self.cpu0);
        self.index.insert(g.key.clone(), self.groups.len());
        self.groups.push(g);
    }
}

impl search::Observer for Groups<'_> {
    fn violation(&mut self, root: usize, path: &[u16], v: Violation, stats: &search::Stats) {
        let r = &self.roots[root];
        let labels = path.iter().fold(0u128, |a, &o| a | r.labels[o as usize]);
        let last = r.labels[*path.last().expect("a violation follows an operation") as usize];
        if self
            .classified
            .insert((v.invariant, labels, last.trailing_zeros() as u16))
        {
            self.classify(root, path, stats);
        }
    }

    fn progress(&mut self, stats: &search::Stats, done: usize, len: usize) {
        super::print_progress(stats, done, len)
    }

    fn level(&mut self, stats: &search::Stats) {
        super::print_level(stats)
    }
}
