//! Semantic coverage: what a corpus makes the model and the oracle do, counted by
//! replaying it with a [`StepHook`], so it needs no toolchain component and costs nothing
//! in the fuzzing loops (the engines run the no-op hook). Rows, each with a count:
//! - `filter`: each vector the kernel got in a proxy interrupt, blocked or admitted by the
//!   VP's filter, and what in the VTL0 state admits it (a device route, a proxy-bit SINT,
//!   an unmasked SINT with the relay on, nothing: a stale entry), and reserved vectors;
//! - `event`: deliveries per path, drops per reason, filter recomputations per cause,
//!   VTL2 asserts per site;
//! - `op×result`: each operation label (as in bucket skeletons) with its result kind;
//! - `outcome`: clean runs and violations per invariant;
//! - `oracle`: deliveries the oracle judged, and each reason it declined to judge.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use sintfuzz_model::observe::{DropReason, Event};
use sintfuzz_model::{Op, OpResult, Partition, Vtl};
use sintfuzz_targets::oracle::{Oracle, Skip, Skips};
use sintfuzz_targets::{run_hooked, Outcome, Settings, StepHook, Target};

use crate::findings::bucket::op_label;

#[derive(Clone, Debug, Default, Serialize)]
pub struct Semantic {
    pub inputs: u64,
    /// (section, row) → count.
    pub counts: BTreeMap<String, BTreeMap<String, u64>>,
}

impl Semantic {
    fn add(&mut self, section: &str, row: String) {
        self.add_n(section, row, 1);
    }

    fn add_n(&mut self, section: &str, row: String, n: u64) {
        *self
            .counts
            .entry(section.to_string())
            .or_default()
            .entry(row)
            .or_default() += n;
    }

    /// Replay one input and count what it reached.
    pub fn replay(&mut self, target: Target, data: &[u8], settings: &Settings) {
        let mut h = Hook {
            sem: self,
            label: String::new(),
            asserted: Vec::new(),
            skips: None,
        };
        let outcome = run_hooked(target, data, settings, &mut h);
        if let Some(sk) = h.skips {
            self.add_n("oracle", "judged deliveries".into(), sk.judged);
            for k in Skip::ALL {
                self.add_n(
                    "oracle",
                    format!("skipped: {}", k.name()),
                    sk.skipped[k as usize],
                );
            }
        }
        self.inputs += 1;
        match outcome {
            Outcome::Clean => self.add("outcome", "clean".into()),
            Outcome::Violation(v) => self.add("outcome", format!("violation {}", v.invariant)),
        }
    }

    /// Replay every file directly in `dir` (files that cannot be read are skipped).
    pub fn replay_dir(&mut self, target: Target, dir: &Path, settings: &Settings) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if let Ok(d) = sintfuzz_targets::files::read_input(&e.path()) {
                let _ = crate::panics::quietly(|| self.replay(target, &d, settings));
            }
        }
    }

    pub fn markdown(&self, title: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{title}: {} input(s) replayed.\n", self.inputs);
        let _ = writeln!(s, "| kind | what | count |\n|---|---|---:|");
        for (section, rows) in &self.counts {
            for (row, n) in rows {
                let _ = writeln!(s, "| {section} | {} | {n} |", row.replace('|', "/"));
            }
        }
        s
    }
}

struct Hook<'a> {
    sem: &'a mut Semantic,
    label: String,
    /// Proxy interrupts of this step: (vp, vectors), judged against the model after it.
    asserted: Vec<(u8, Vec<u8>)>,
    /// The oracle's counts after the last step.
    skips: Option<Skips>,
}

/// A result's kind without its numbers (`Msr(Ok(N))`).
fn result_kind(r: &OpResult) -> String {
    let d = format!("{r:?}");
    let mut out = String::new();
    let mut in_num = false;
    for c in d.chars() {
        if c.is_ascii_digit() {
            if !in_num {
                out.push('N');
            }
            in_num = true;
        } else {
            in_num = false;
            out.push(c);
        }
    }
    out
}

impl StepHook for Hook<'_> {
    fn op(&mut self, _: usize, op: &Op, _: &Partition) {
        self.label = op_label(op);
    }

    fn event(&mut self, e: &Event) {
        // A blocked set counts once per vector, like any other drop.
        let mut n = 1;
        let row = match e {
            Event::Delivered {
                vtl,
                path,
                coalesced,
                ..
            } => format!(
                "delivered to {vtl} via {path:?}{}",
                if *coalesced { " (coalesced)" } else { "" }
            ),
            Event::Dropped {
                vtl, reason, path, ..
            } => format!(
                "dropped for {vtl}: {reason:?}{}",
                path.map_or(String::new(), |p| format!(" on {p:?}"))
            ),
            Event::ProxyAsserted { vp, bits } => {
                self.asserted.push((*vp, bits.iter().collect()));
                "proxy interrupt to the kernel".into()
            }
            Event::Blocked { vectors, .. } => {
                n = vectors.len() as u64;
                format!("dropped for {}: {:?}", Vtl::Vtl0, DropReason::Blocked)
            }
            Event::FilterUpdated { cause, .. } => format!("filter recomputed ({cause:?})"),
            Event::WakeQueued { vtl, .. } => format!("filter wake queued for {vtl}"),
            Event::Vtl2Assert { site, .. } => format!("VTL2 assert ({site:?})"),
        };
        self.sem.add_n("event", row, n);
    }

    fn result(&mut self, _: usize, r: OpResult, model: &Partition, oracle: &Oracle) {
        self.skips = Some(oracle.skips());
        self.sem
            .add("op×result", format!("{} → {}", self.label, result_kind(&r)));
        for (vp, vectors) in std::mem::take(&mut self.asserted) {
            let Some(v) = model.vps.get(vp as usize) else {
                continue;
            };
            let blocked = v.run.proxy_irr_blocked;
            let sints = &v.synic[Vtl::Vtl0 as usize].sints;
            for x in vectors {
                let row = if x < 16 {
                    if blocked.contains(x) {
                        "reserved vector (< 16) blocked".to_string()
                    } else {
                        "reserved vector (< 16) admitted".to_string()
                    }
                } else if blocked.contains(x) {
                    "blocked".to_string()
                } else if model.device_vector_table.contains(x) {
                    "admitted: a device route".into()
                } else if sints
                    .iter()
                    .any(|s| !s.masked() && s.proxy() && s.vector() == x)
                {
                    "admitted: a proxy-bit VTL0 SINT".into()
                } else if model.use_interrupt_relay
                    && sints.iter().any(|s| !s.masked() && s.vector() == x)
                {
                    "admitted: an unmasked VTL0 SINT with the relay on".into()
                } else {
                    "admitted: nothing in VTL0's state (stale entry)".into()
                };
                self.sem.add("filter", row);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_reach_filter_decisions_and_op_results() {
        let root = crate::repo_root();
        let mut sem = Semantic::default();
        let settings = Settings {
            revision: sintfuzz_model::Revision::Head,
            invariants: sintfuzz_targets::InvariantSet::default_set(),
        };
        sem.replay_dir(
            Target::RelayLifecycle,
            &root.join("corpus/relay_lifecycle"),
            &settings,
        );
        assert!(sem.inputs > 5);
        assert_eq!(sem.counts["outcome"].get("clean"), Some(&sem.inputs));
        assert!(
            sem.counts["op×result"].len() > 5,
            "{:?}",
            sem.counts["op×result"]
        );
        assert!(sem.counts["event"]
            .keys()
            .any(|k| k.starts_with("delivered")));
        assert!(sem.counts.contains_key("filter"), "{:?}", sem.counts.keys());
        assert!(sem.counts["oracle"]["judged deliveries"] > 0);
        assert_eq!(result_kind(&OpResult::Done), "Done");
    }
}
