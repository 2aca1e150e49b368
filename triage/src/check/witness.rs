//! Grouping the search's violations by root cause, keeping the first (so shortest)
//! witness of each. A root cause is the fix-based signature
//! (`sintfuzz_targets::signature`), named by its `triage/known.toml` entry when it has one.
//!
//! Which violations get a signature of their own:
//! - Every violation that concerns a vector (a leak, a loss, a reserved vector): its
//!   signature reads the values on the whole path (which VP a retarget names, which SINT
//!   a write sets, with which flags), so no key short of the path decides it. These are
//!   few (about 76 thousand at depth 4 on `head` over every config), and a signature costs
//!   about 17 CPU µs, so each is computed.
//! - A violation with no vector (a VTL2 crash, a refused hypercall) is decided by its
//!   last operation, whose kind is the signature's operation; only the fixing choices can
//!   read the path before it. These come from nearly every state (a VTL1 retarget crashes
//!   `head` wherever it is applied: 49 million at depth 4), so one signature is computed
//!   per (invariant, VP, VTL, the violating operation itself, set of operation labels
//!   before it); later ones with the same key are counted, not analysed. That is the one
//!   heuristic left: two such violations with the same key and different fixing choices
//!   would share the first one's group.

use std::collections::{HashMap, HashSet};

use sintfuzz_model::{Config, Op};
use sintfuzz_targets::codec::{decode, encode};
use sintfuzz_targets::files::read_input;
use sintfuzz_targets::signature::{signature, Signature};
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
    /// Violations whose signature was computed and fell into this group (see the module
    /// comment; `label_sets` in a shard's result).
    pub classified: u64,
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
        let (sig, bytes) = Self::signature(target, &scenario, settings)?;
        Self::build(&sig, bytes, (target, scenario, root), settings, known)
    }

    /// A witness's signature and bytes; `None` (said on stderr) if it does not encode or
    /// replays clean.
    fn signature(
        target: Target,
        scenario: &Scenario,
        settings: Settings,
    ) -> Option<(Signature, Vec<u8>)> {
        let Ok(bytes) = encode(target, scenario) else {
            // Every domain operation encodes in its target (domain::ops checks), so a
            // path always does; keep going rather than lose the search.
            eprintln!("sintfuzz check: internal: a witness does not encode; skipped");
            return None;
        };
        let Some(sig) = signature(target, settings.revision, settings.invariants, &bytes) else {
            eprintln!("sintfuzz check: internal: a witness replays clean; skipped");
            return None;
        };
        Some((sig, bytes))
    }

    /// The group of a witness (of `target`, from `root`) whose signature is `sig`.
    fn build(
        sig: &Signature,
        bytes: Vec<u8>,
        (target, scenario, root): (Target, Scenario, usize),
        settings: Settings,
        known: &KnownList,
    ) -> Option<Group> {
        let Some(violation) = run(target, &bytes, &settings).violation() else {
            eprintln!("sintfuzz check: internal: a witness replays clean; skipped");
            return None;
        };
        let known = known.find(sig, violation.invariant).map(|(_, k)| k);
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
            classified: 1,
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

/// A vectorless violation's classification key (see the module comment).
#[derive(PartialEq, Eq, Hash)]
struct Vectorless {
    invariant: Invariant,
    vp: u8,
    vtl: sintfuzz_model::Vtl,
    last: Op,
    /// Labels of the operations before the last one.
    before: u128,
}

pub struct Groups<'a> {
    pub roots: Vec<RootInfo>,
    settings: Settings,
    known: &'a KnownList,
    vectorless: HashSet<Vectorless>,
    index: HashMap<Signature, usize>,
    pub groups: Vec<Group>,
    cpu0: std::time::Duration,
}

impl<'a> Groups<'a> {
    pub fn new(roots: Vec<RootInfo>, settings: Settings, known: &'a KnownList) -> Self {
        Self {
            roots,
            settings,
            known,
            vectorless: HashSet::new(),
            index: HashMap::new(),
            groups: Vec::new(),
            cpu0: search::cpu_time(),
        }
    }

    /// Whether the violation at the end of `path` gets a signature of its own.
    fn is_new(&mut self, root: usize, path: &[u16], v: &Violation) -> bool {
        if v.vector.is_some() {
            return true;
        }
        let r = &self.roots[root];
        let (&last, before) = path.split_last().expect("a violation follows an operation");
        self.vectorless.insert(Vectorless {
            invariant: v.invariant,
            vp: v.vp,
            vtl: v.vtl,
            last: r.ops[last as usize],
            before: before.iter().fold(0u128, |a, &o| a | r.labels[o as usize]),
        })
    }

    fn classify(&mut self, root: usize, path: &[u16], stats: &search::Stats) {
        let r = &self.roots[root];
        let scenario = Scenario {
            config: r.config,
            ops: path.iter().map(|&o| r.ops[o as usize]).collect(),
        };
        let Some((sig, bytes)) = Group::signature(r.target, &scenario, self.settings) else {
            return;
        };
        if let Some(&i) = self.index.get(&sig) {
            self.groups[i].classified += 1;
            return;
        }
        let witness = (r.target, scenario, r.index);
        let Some(mut g) = Group::build(&sig, bytes, witness, self.settings, self.known) else {
            return;
        };
        g.found_states = stats.states;
        g.found_transitions = stats.transitions;
        g.found_cpu = search::cpu_time().saturating_sub(self.cpu0);
        self.index.insert(sig, self.groups.len());
        self.groups.push(g);
    }
}

impl search::Observer for Groups<'_> {
    fn violation(&mut self, root: usize, path: &[u16], v: Violation, stats: &search::Stats) {
        if self.is_new(root, path, &v) {
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use sintfuzz_model::Revision;
    use sintfuzz_targets::{InvariantSet, Machine};

    use super::*;
    use crate::check::domain::{configs, ops, ConfigFilter, Size};
    use crate::check::search::{search, Limits, Observer, Root, Stats};

    /// Every violation's signature, computed one by one.
    struct Every {
        roots: Vec<(Config, Vec<Op>)>,
        settings: Settings,
        sigs: BTreeSet<String>,
    }

    impl Observer for Every {
        fn violation(&mut self, root: usize, path: &[u16], _: Violation, _: &search::Stats) {
            let (config, ops) = &self.roots[root];
            let scenario = Scenario {
                config: *config,
                ops: path.iter().map(|&o| ops[o as usize]).collect(),
            };
            let bytes = encode(Target::AllOps, &scenario).unwrap();
            let s = self.settings;
            let sig = signature(Target::AllOps, s.revision, s.invariants, &bytes).unwrap();
            self.sigs.insert(sig.to_string());
        }
        fn progress(&mut self, _: &Stats, _: usize, _: usize) {}
        fn level(&mut self, _: &Stats) {}
    }

    /// The root causes `Groups` reports, and those of every violation one by one, on
    /// `revision` over the configs `filter` allows (2 VPs), plain search to `depth`.
    fn both(revision: Revision, filter: &str, depth: usize) -> (Vec<Group>, BTreeSet<String>) {
        let settings = Settings {
            revision,
            invariants: InvariantSet::parse("strict").unwrap(),
        };
        let known = KnownList::embedded();
        let mut interner = Interner::default();
        let (mut roots, mut infos, mut plain) = (Vec::new(), Vec::new(), Vec::new());
        for (i, c) in configs(2, &ConfigFilter::parse(filter).unwrap())
            .into_iter()
            .enumerate()
        {
            let ops = ops(Target::AllOps, &c, Size::Small);
            roots.push(Root {
                machine: Machine::new(c, &settings),
                ops: ops.clone(),
                salt: 0,
                mirror: None,
                local: None,
            });
            plain.push((c, ops.clone()));
            infos.push(RootInfo::new(i, Target::AllOps, c, ops, &mut interner));
        }
        let limits = Limits {
            depth,
            cpu_budget: None,
            interval: Duration::from_secs(3600),
            threads: 1,
        };
        let mut groups = Groups::new(infos, settings, known);
        search(&roots, &limits, &mut groups).unwrap();
        let mut every = Every {
            roots: plain,
            settings,
            sigs: BTreeSet::new(),
        };
        search(&roots, &limits, &mut every).unwrap();
        (groups.groups, every.sigs)
    }

    /// The plain search on unfiltered (2 VPs, SNP, relay on, depth 3) reaches SF-010's
    /// root cause only on a path whose operation labels, last label and invariant are
    /// those of an earlier SF-007-like witness (a retarget to the other VP, not to its
    /// own): the former rule (one signature per such key) missed it.
    #[test]
    fn every_root_cause_among_the_violations_is_reported() {
        let snp = "isolation=snp,relay=on,era=modern,vtl1=off,redirect=off,mirror=on";
        let mut causes = 0;
        for (r, filter, depth) in [
            (Revision::Unfiltered, snp, 3),
            (Revision::Head, snp, 3),
            (
                Revision::ProxyBit,
                "isolation=tdx-offload,relay=off,vtl1=on,redirect=off",
                2,
            ),
            (
                Revision::Head,
                "isolation=tdx-offload,relay=on,vtl1=off,redirect=off",
                3,
            ),
        ] {
            let (groups, every) = both(r, filter, depth);
            let reported: BTreeSet<String> = groups.iter().map(|g| g.key.clone()).collect();
            assert_eq!(reported, every, "{r} {filter} depth {depth}");
            causes += every.len();
        }
        assert!(causes > 8, "{causes}");
        let (groups, _) = both(Revision::Unfiltered, snp, 3);
        let ids: Vec<_> = groups.iter().filter_map(|g| g.known.as_deref()).collect();
        assert!(ids.contains(&"SF-010"), "{ids:?}");
    }
}
