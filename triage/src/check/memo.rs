//! The last level's verdict memo. On the last level (the depth bound) no state is kept,
//! only verdicts. An operation that reads and writes one VP's state besides the shared
//! state ([`one_vp`]) has a verdict (a violation and its invariant, or the VM going down)
//! that only the shared state and that VP's state decide: the state's *projection* on
//! the VP, its shared part and the VP's part of the fingerprint
//! (`Machine::hash_shared`, `Machine::hash_vp`). So of the nodes of the last level with
//! the same projection on VP w, only the first in BFS order applies the operations of w;
//! the others skip them (`search::Worker::expand`, [`Memo::skips`]). With two VPs most
//! nodes share a projection with an earlier one, reached by the same operations on w and
//! others on the other VP.
//!
//! The verdict is kept: every skipped transition has the verdict of one judged earlier,
//! on the same level, from a node with the same projection. That one may itself be
//! skipped by the other rules (the mirror image of an operation at a symmetric node,
//! `super::symmetry`; an operation whose verdict is the one of a level before,
//! `super::por::Sleep::skips_leaf`), which map it to a transition of a smaller (level,
//! node, operation), so the chain ends at a judged one. A violation it skips is found at
//! the same depth, from the earlier node; `tests/check_reductions.rs` checks on every
//! revision that the root causes stay the same, each at its shortest length, against
//! `--no-memo`. The test below checks the projection decides the verdict, on random
//! pairs of states that differ only in the other VP.
//!
//! Which projections were judged is kept deterministic whatever the number of threads:
//! a node looks at those of the earlier batches (merged in BFS order) and of the earlier
//! nodes of its own chunk, whose bounds do not depend on the number of threads.

use sintfuzz_model::op::{HostAssert, HostPostMessage, HostSignalSint, RunVp};
use sintfuzz_model::Op;

/// The one VP whose state an operation reads and writes besides the shared state, if
/// there is one: the VP of an operation local to it ([`Op::vp_local`], which writes
/// nothing shared), and the VP a run, a host SINT signal, a host message or a malicious
/// proxy assert names (`Partition::run_vp`, `host_signal_sint`, `host_post_message`,
/// `host_assert` read and write that VP's record and shared state only, and so does the
/// oracle judging them: the tests here and in `super::copy`).
#[inline]
pub fn one_vp(op: &Op) -> Option<u8> {
    match *op {
        Op::RunVp(RunVp { vp })
        | Op::HostSignalSint(HostSignalSint { vp, .. })
        | Op::HostPostMessage(HostPostMessage { vp, .. })
        | Op::HostAssert(HostAssert { vp, .. }) => Some(vp),
        _ => op.vp_local(),
    }
}

/// The VPs (bit n = VP n) whose operations a node of the last level skips: a node with
/// the same projection on them judged those already.
#[derive(Clone, Copy, Default)]
pub struct Memo(u8);

impl Memo {
    /// VP `w`'s operations were judged from the same projection.
    #[inline]
    pub fn judged(&mut self, w: usize) {
        self.0 |= 1 << w;
    }

    /// Whether `op` is skipped here.
    #[inline]
    pub fn skips(&self, op: &Op) -> bool {
        self.0 != 0 && one_vp(op).is_some_and(|w| self.0 & (1 << w) != 0)
    }
}

#[cfg(test)]
mod tests {
    use sintfuzz_model::Revision;
    use sintfuzz_targets::{Machine, NoHook};

    use super::*;
    use crate::check::domain::{configs, ConfigFilter};
    use crate::check::testing::{canonical, chooser, part, raises_a_flag, starts, walk_on};

    /// `op`'s verdict from `m` at step `k`: the invariant it violates, and whether the VM
    /// went down.
    fn verdict(m: &Machine, k: usize, op: &Op) -> (Option<String>, bool) {
        let mut m = m.clone();
        let v = m.step(k, op, &mut NoHook).map(|v| v.invariant.to_string());
        (v, m.halted())
    }

    /// `n` random operations of `from`.
    fn pick<'o>(from: &[&'o Op], n: usize, rand: &mut impl FnMut(usize) -> usize) -> Vec<&'o Op> {
        (0..n).map(|_| from[rand(from.len())]).collect()
    }

    /// `m` after `ops` from step `k`, if none of them violates or halts.
    fn after(m: &Machine, k: usize, ops: &[&Op]) -> Option<Machine> {
        let mut m = m.clone();
        for (j, o) in ops.iter().enumerate() {
            if m.step(k + j, o, &mut NoHook).is_some() || m.halted() {
                return None;
            }
        }
        Some(m)
    }

    /// Two states reached from one by the same number of operations of the other VP
    /// (any with `one_vp` the other VP: its local ones, its runs, the host's signals,
    /// messages and asserts to it). Where the two agree on the shared part and VP w's
    /// part of the canonical state, every operation of w has the same verdict from both.
    /// From a state reached by operations of w instead, verdicts do differ (so the
    /// comparison can see a difference).
    #[test]
    fn the_projection_on_a_vp_decides_the_verdicts_of_its_operations() {
        let mut rand = chooser(0x3c6e_f372_fe94_f82b);
        let (mut same, mut differ) = (0, 0);
        for c in configs(2, &ConfigFilter::default())
            .iter()
            .filter(|c| c.vps() == 2)
        {
            for (r, mut m, all) in starts(c, &Revision::ALL) {
                let of =
                    |v: u8| -> Vec<&Op> { all.iter().filter(|o| one_vp(o) == Some(v)).collect() };
                let vps = [of(0), of(1)];
                // Raised event flags (which a signal coalesces on): set them up first.
                for (k, o) in all.iter().filter(|o| raises_a_flag(o)).enumerate() {
                    walk_on(&mut m, k, std::slice::from_ref(o), &mut rand);
                }
                for k in 4..10 {
                    for w in 0..2usize {
                        let (mine, theirs) = (&vps[w], &vps[1 - w]);
                        for _ in 0..3 {
                            let n = 1 + rand(3);
                            let (x, y, z) = (
                                pick(theirs, n, &mut rand),
                                pick(theirs, n, &mut rand),
                                pick(mine, n, &mut rand),
                            );
                            let (Some(a), Some(b)) = (after(&m, k, &x), after(&m, k, &y)) else {
                                continue;
                            };
                            let projected = part(&a, None) == part(&b, None)
                                && part(&a, Some(w)) == part(&b, Some(w));
                            // The control: a state reached by operations of w instead.
                            let control = after(&m, k, &z);
                            for _ in 0..6 {
                                let o = mine[rand(mine.len())];
                                let va = verdict(&a, k + n, o);
                                if projected && canonical(&a) != canonical(&b) {
                                    let vb = verdict(&b, k + n, o);
                                    assert_eq!(va, vb, "{c:?} {r}: {o:?} after {x:?} / {y:?}");
                                    same += 1;
                                }
                                if let Some(cz) = &control {
                                    differ += usize::from(verdict(cz, k + n, o) != va);
                                }
                            }
                        }
                    }
                    walk_on(&mut m, k, &all, &mut rand);
                }
            }
        }
        assert!(same > 2000 && differ > 0, "{same} {differ}");
    }

    /// The memo skips exactly the operations of the VPs it was told were judged.
    #[test]
    fn the_memo_skips_the_operations_of_judged_vps_only() {
        let c = configs(2, &ConfigFilter::default())
            .into_iter()
            .find(|c| c.vps() == 2 && c.vmbus_relay)
            .unwrap();
        let (_, _, all) = starts(&c, &[Revision::Proposed]).remove(0);
        let mut memo = Memo::default();
        assert!(all.iter().all(|o| !memo.skips(o)));
        memo.judged(1);
        for o in &all {
            assert_eq!(memo.skips(o), one_vp(o) == Some(1), "{o:?}");
        }
        // Both kinds are there: operations of VP 1 and of no single VP.
        assert!(all.iter().any(|o| one_vp(o) == Some(1)));
        assert!(all.iter().any(|o| one_vp(o).is_none()));
    }
}
