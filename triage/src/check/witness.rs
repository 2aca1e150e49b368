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

use crate::findings::bucket::{op_label, KnownLabel, KnownList};
use crate::findings::separate::separate;
use crate::repo_root;

use super::search;

/// One root cause and its shortest witness.
#[derive(Clone, Debug)]
pub struct Group {
    /// The root-cause signature, e.g. `lost admission+wrmsr-trigger too-closed WrMsr.sint`.
    pub key: String,
    /// The `known.toml` entry the witness is labelled with: of the signature, or, where
    /// two entries' fixes each remove it alone (stacked), of its separation ([`Label`]).
    pub label: Label,
    pub invariant: Invariant,
    pub target: Target,
    pub scenario: Scenario,
    pub bytes: Vec<u8>,
    pub violation: Violation,
    /// Operations in the shortest known witness file of the labelled finding, if it has
    /// one.
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
        let label = Label::of(
            sig,
            (target, &scenario),
            settings,
            violation.invariant,
            known,
        );
        let entry = label
            .id()
            .and_then(|id| known.finding.iter().find(|k| k.id == id));
        // The shortest of the finding's regression files.
        let known_len = entry.and_then(|k| {
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
            label,
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

/// Which `known.toml` finding a root cause is, as a maintainer would read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Label {
    /// No entry matches the signature: a finding.
    New,
    /// The one entry the signature matches.
    Known(String),
    /// The fix has alternatives each of which alone removes the violation, naming two or
    /// more entries (one value in two roles, e.g. one vector for SINT2 and SINT5), and
    /// separating the coincident values (`findings::separate`, as a campaign does)
    /// narrowed it to entry `id`: the witness with the values separated (same
    /// operations, values possibly outside the domain) shows that root cause alone.
    Separated {
        id: String,
        signature: String,
        bytes: Vec<u8>,
    },
    /// The alternatives name these entries and no separation kept the violation apart.
    Stacked(Vec<String>),
}

impl Label {
    fn of(
        sig: &Signature,
        (target, scenario): (Target, &Scenario),
        settings: Settings,
        invariant: Invariant,
        known: &KnownList,
    ) -> Label {
        let ids = |l: KnownLabel<'_>| -> Vec<String> {
            l.entries().into_iter().map(|k| k.id.clone()).collect()
        };
        match known.label(sig, invariant) {
            KnownLabel::New => Label::New,
            KnownLabel::Known(k) => Label::Known(k.id.clone()),
            stacked @ KnownLabel::Stacked(_) => {
                let mut probes = 0;
                let separated = separate(target, &settings, invariant, scenario, sig, &mut probes);
                let Some((s, narrow)) = separated else {
                    return Label::Stacked(ids(stacked));
                };
                match (known.label(&narrow, invariant), encode(target, &s)) {
                    (KnownLabel::Known(k), Ok(bytes)) => Label::Separated {
                        id: k.id.clone(),
                        signature: narrow.to_string(),
                        bytes,
                    },
                    // The separated root cause is no entry's: a finding, as a campaign
                    // labels a separated crash.
                    (KnownLabel::New, _) => Label::New,
                    _ => Label::Stacked(ids(stacked)),
                }
            }
        }
    }

    /// The one entry, if there is one.
    pub fn id(&self) -> Option<&str> {
        match self {
            Label::Known(id) | Label::Separated { id, .. } => Some(id),
            Label::New | Label::Stacked(_) => None,
        }
    }

    /// Whether and how `known.toml` has it, for the report (`separated`: where the
    /// separated witness is written).
    pub fn known_line(&self, separated: &std::path::Path) -> String {
        match self {
            Label::Known(id) => format!("in known.toml as {id}"),
            Label::Separated { id, signature, .. } => format!(
                "in known.toml as {id} once its coincident values are separated \
                 ({signature}; witness: {})",
                separated.display()
            ),
            Label::Stacked(ids) => format!(
                "in known.toml as {} stacked: each one's fix alone removes it, and no \
                 separation of coincident values kept it apart",
                ids.join(" and ")
            ),
            Label::New => "NOT in known.toml".to_string(),
        }
    }

    /// Short form for a report line and a file name: the id, `stacked SF-002+SF-005`, or
    /// `new`.
    pub fn short(&self) -> String {
        match self {
            Label::Known(id) | Label::Separated { id, .. } => id.clone(),
            Label::Stacked(ids) => format!("stacked {}", ids.join("+")),
            Label::New => "new".to_string(),
        }
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
                mirrors: Vec::new(),
                local: None,
                memo: false,
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
        let ids: Vec<_> = groups.iter().filter_map(|g| g.label.id()).collect();
        assert!(ids.contains(&"SF-010"), "{ids:?}");
    }

    /// On proxy-bit, SINT2 written by WRMSR without the proxy bit and SINT5 set by
    /// HvSetVpRegisters with it, both to 0x30: the host's SINT5 signal is lost. SF-002's
    /// fix (recompute on every path) removes it, and so does #1162's (admit SINT2, whose
    /// vector is the same): stacked by the shared vector. The loss is SINT5's, so the
    /// label is SF-002, from the witness with SINT2's vector moved apart; the same
    /// witness with distinct vectors from the start is SF-002's alone.
    #[test]
    fn a_stacked_witness_is_labelled_by_its_separation() {
        use sintfuzz_model::hvdef::Sint;
        use sintfuzz_model::op::{HostSignalSint, RunVp};
        use sintfuzz_model::Vtl;
        use sintfuzz_targets::scenarios::{set_reg_sint, wr_sint};

        let settings = Settings {
            revision: Revision::ProxyBit,
            invariants: InvariantSet::parse("default").unwrap(),
        };
        let config = configs(
            1,
            &ConfigFilter::parse(
                "isolation=snp,relay=on,era=modern,vtl1=off,redirect=off,mirror=on",
            )
            .unwrap(),
        )[0];
        let with = |sint2: u64| Scenario {
            config,
            ops: vec![
                wr_sint(0, Vtl::Vtl0, 2, Sint::from_bits(sint2)),
                set_reg_sint(
                    0,
                    Vtl::Vtl0,
                    Vtl::Vtl0,
                    5,
                    Sint::from_bits(0x30 | Sint::PROXY),
                ),
                HostSignalSint { vp: 0, sint: 5 }.into(),
                RunVp { vp: 0 }.into(),
            ],
        };
        let known = KnownList::embedded();
        let shared = Group::of(Target::AllOps, with(0x30), settings, known, 0).unwrap();
        let Label::Separated { id, bytes, .. } = &shared.label else {
            panic!("{:?} {}", shared.label, shared.key);
        };
        assert_eq!(id, "SF-002", "{}", shared.key);
        assert!(shared.key.contains('|'), "{}", shared.key);
        // The separated witness and a witness with distinct vectors: SF-002 alone.
        let separated = decode(Target::AllOps, bytes);
        assert_eq!(separated.ops.len(), 4);
        for s in [separated, with(0x31)] {
            let g = Group::of(Target::AllOps, s, settings, known, 0).unwrap();
            assert_eq!(g.label, Label::Known("SF-002".into()), "{}", g.key);
        }
    }
}
