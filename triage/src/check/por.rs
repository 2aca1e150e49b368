//! Partial-order reduction. Two operations local to different VPs
//! ([`Op::vp_local`]: each reads and writes only its own VP's state) commute: after `a`
//! then `b` the state and both verdicts are those of `b` then `a`. Of the two orders the
//! search expands only the one whose operations come in domain order: from a node whose
//! last operation is `a`, it skips every `b` before `a` in the root's operations that is
//! local to another VP.
//!
//! This keeps exactly the states and the witnesses of the plain search. Breadth-first in
//! domain order, the plain search keeps, for each state, the lexicographically least of
//! its shortest paths; such a path never ends a prefix with `a`, `b` where `b` is
//! skipped (swapping them gives a smaller path of the same length to the same state, and
//! `b` before `a` neither violates nor halts, since its verdict does not depend on `a`),
//! so every kept node is still reached by the same path. A violation `b` after `a` that
//! is skipped is the violation `b` one operation earlier, found a level before. Below a
//! state symmetric under a VP or value renaming (`super::symmetry`) the order of its
//! mirror-image subtrees is fixed by the mirror, so nothing is skipped where the node's
//! parent is still symmetric.
//!
//! On the last level (the depth bound) no state is kept, only verdicts, so a node whose
//! last operation `a` is local skips every operation local to another VP, later ones
//! too (`Sleep::skips_leaf`): their verdicts there are the ones they had a level before.
//! So does a node whose last operation, whatever it was, changed no shared state and left
//! some VP's state as it was (compared with the parent's state, which the search holds
//! anyway): the operations local to that VP read only that state, so their verdicts are
//! also the ones of a level before (a run, a host signal or a malicious assert on one VP
//! that owes nothing new leaves the other VP's state alone).
//! `tests/check_reductions.rs` compares it with the plain search on every revision.

use sintfuzz_model::Op;
use sintfuzz_targets::Machine;

use super::search::Root;

/// Per operation of a root, the VP it alone touches (`None`: shared state).
pub fn locality(ops: &[Op]) -> Vec<Option<u8>> {
    ops.iter().map(Op::vp_local).collect()
}

/// What a node may skip: the VP and index of its last operation, if that one is local,
/// and on the level before the bound, the VPs whose state that operation left as it was.
pub struct Sleep<'a> {
    local: &'a [Option<u8>],
    last: Option<(u8, usize)>,
    unchanged: u8,
}

impl<'a> Sleep<'a> {
    /// The node reached by `path` (operation indices) from `root`.
    pub fn after(root: &'a Root, path: &[u16]) -> Sleep<'a> {
        let local = root.local.as_deref().unwrap_or(&[]);
        let last = path.split_last().and_then(|(&a, before)| {
            if root.symmetric_after(before) != 0 {
                return None;
            }
            Some((*local.get(a as usize)?.as_ref()?, a as usize))
        });
        Sleep {
            local,
            last,
            unchanged: 0,
        }
    }

    /// On the level before the bound, a node whose last operation took `parent` to
    /// `node`: the VPs whose state (model and oracle) it left as it was, when it changed
    /// nothing shared ([`Machine::unchanged_vps`]). Nothing without the reduction.
    pub fn unchanged(self, parent: &Machine, node: &Machine) -> Self {
        let unchanged = if self.local.is_empty() {
            0
        } else {
            parent.unchanged_vps(node)
        };
        Sleep { unchanged, ..self }
    }

    /// Whether operation `o` is skipped here (its subtree is explored in the other order).
    #[inline]
    pub fn skips(&self, o: usize) -> bool {
        self.last
            .is_some_and(|(vp, a)| o < a && self.local[o].is_some_and(|v| v != vp))
    }

    /// Whether operation `o` is skipped here when the node is on the level before the
    /// depth bound (its children are judged, never expanded): every operation local to
    /// another VP than the last one's, whatever its order. Its verdict after the last
    /// operation is its verdict one operation earlier, judged a level before.
    ///
    /// Also every operation local to a VP whose state the last operation left as it was
    /// while it changed nothing shared ([`Sleep::unchanged`]): such an operation reads and
    /// writes only its own VP's state (`Op::vp_local`), the same before and after the
    /// last operation, so its verdict is again the one it had a level before (the test
    /// below checks that on random states).
    #[inline]
    pub fn skips_leaf(&self, o: usize) -> bool {
        let Some(&Some(w)) = self.local.get(o) else {
            return false;
        };
        self.unchanged & (1 << w) != 0 || self.last.is_some_and(|(vp, _)| w != vp)
    }
}

#[cfg(test)]
mod tests {
    use sintfuzz_model::Revision;
    use sintfuzz_targets::{Machine, NoHook};

    use super::*;
    use crate::check::domain::{configs, ConfigFilter};
    use crate::check::testing::{canonical, chooser, starts, walk_on};

    /// `m` after `x` then `y` (from step `k`): the state's bytes, unless a step ended the
    /// run, and each operation's verdict.
    fn both(m: &Machine, k: usize, x: &Op, y: &Op) -> (Option<Vec<u8>>, [Option<String>; 2]) {
        let mut m = m.clone();
        let vx = m.step(k, x, &mut NoHook).map(|v| v.invariant.to_string());
        if vx.is_some() || m.halted() {
            return (None, [vx, None]);
        }
        let vy = m
            .step(k + 1, y, &mut NoHook)
            .map(|v| v.invariant.to_string());
        let end = (vy.is_none() && !m.halted()).then(|| canonical(&m));
        (end, [vx, vy])
    }

    /// The last-level rule: after any operation `a` that changed nothing shared and left
    /// VP w's state as it was, each operation local to w has the verdict it had before `a`.
    #[test]
    fn local_operations_of_a_vp_an_operation_left_alone_keep_their_verdicts() {
        let mut rand = chooser(0x0123_4567_89ab_cdef);
        let (mut kept, mut changed_verdicts) = (0, 0);
        for c in configs(2, &ConfigFilter::default()) {
            for (r, mut m, all) in starts(&c, &Revision::ALL) {
                let local = locality(&all);
                let mine: Vec<usize> = (0..all.len()).filter(|&i| local[i].is_some()).collect();
                let verdict = |m: &Machine, k: usize, o: &Op| {
                    let mut m = m.clone();
                    let v = m.step(k, o, &mut NoHook).map(|v| v.invariant);
                    (v, m.halted())
                };
                for k in 0..8 {
                    for _ in 0..6 {
                        let mut node = m.clone();
                        let a = &all[rand(all.len())];
                        if node.step(k, a, &mut NoHook).is_some() || node.halted() {
                            continue;
                        }
                        let unchanged = m.unchanged_vps(&node);
                        for _ in 0..6 {
                            let o = &all[mine[rand(mine.len())]];
                            let w = o.vp_local().unwrap();
                            let (before, after) = (verdict(&m, k, o), verdict(&node, k + 1, o));
                            if unchanged & (1 << w) != 0 {
                                assert_eq!(before, after, "{c:?} {r}: {o:?} after {a:?}");
                                kept += 1;
                            } else {
                                changed_verdicts += usize::from(before != after);
                            }
                        }
                    }
                    walk_on(&mut m, k, &all, &mut rand);
                }
            }
        }
        // The rule applied often, and where it does not apply verdicts do change.
        assert!(
            kept > 1000 && changed_verdicts > 0,
            "{kept} {changed_verdicts}"
        );
    }

    #[test]
    fn operations_local_to_different_vps_commute_on_random_states() {
        let mut rand = chooser(0x9e37_79b9_7f4a_7c15);
        let mut pairs = 0;
        for c in configs(2, &ConfigFilter::default())
            .iter()
            .filter(|c| c.vps() == 2)
        {
            let revisions = [Revision::Head, Revision::ProxyBit, Revision::Proposed];
            for (r, mut m, all) in starts(c, &revisions) {
                let local = locality(&all);
                let vp = |v: u8| -> Vec<usize> {
                    (0..all.len()).filter(|&i| local[i] == Some(v)).collect()
                };
                let (zero, one) = (vp(0), vp(1));
                assert!(!zero.is_empty() && !one.is_empty(), "{c:?}");
                for k in 0..6 {
                    for _ in 0..12 {
                        let a = &all[zero[rand(zero.len())]];
                        let b = &all[one[rand(one.len())]];
                        let (ab, [a1, b1]) = both(&m, k, a, b);
                        let (ba, [b2, a2]) = both(&m, k, b, a);
                        assert!(
                            ab == ba,
                            "{c:?} {r}: {a:?}, {b:?} after {k} ops: states differ"
                        );
                        // Each operation's verdict is the same before and after the
                        // other (when the other did not end the run).
                        if b2.is_none() {
                            assert_eq!(a1, a2, "{c:?} {r}: {a:?} after {b:?}");
                        }
                        if a1.is_none() {
                            assert_eq!(b1, b2, "{c:?} {r}: {b:?} after {a:?}");
                        }
                        pairs += 1;
                    }
                    walk_on(&mut m, k, &all, &mut rand);
                }
            }
        }
        assert!(pairs > 1000);
    }
}
