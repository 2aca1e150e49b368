//! Partial-order reduction. Two operations local to different VPs
//! ([`Op::vp_local`]: each reads and writes only its own VP's state) commute: after `a`
//! then `b` the state and both verdicts are those of `b` then `a`. Of the two orders the
//! search expands only the one whose operations come in domain order: from a node whose
//! last operation is `a`, it skips every `b` before `a` in the root's operations that is
//! local to another VP.
//!
//! This keeps exactly the states and the witnesses of the plain search. Breadth-first in
//! domain order, the plain search keeps, for each state (with VP symmetry, each pair of a
//! state and its VP-swapped image: `search::Fingerprinter::canonical`), the
//! lexicographically least of its shortest paths; such a path never ends a prefix with `a`, `b` where `b` is
//! skipped (swapping them gives a smaller path of the same length to the same state, and
//! `b` before `a` neither violates nor halts, since its verdict does not depend on `a`),
//! so every kept node is still reached by the same path. A violation `b` after `a` that
//! is skipped is the violation `b` one operation earlier, found a level before. Below a
//! VP-symmetric state (`super::symmetry`) the order of its two subtrees is fixed by the
//! mirror, so nothing is skipped where the node's parent is still symmetric.
//!
//! On the last level (the depth bound) no state is kept, only verdicts, so a node whose
//! last operation `a` is local skips every operation local to another VP, later ones
//! too (`Sleep::skips_leaf`): their verdicts there are the ones they had a level before.
//! `tests/check_reductions.rs` compares it with the plain search on every revision.

use sintfuzz_model::Op;

use super::search::Root;

/// Per operation of a root, the VP it alone touches (`None`: shared state).
pub fn locality(ops: &[Op]) -> Vec<Option<u8>> {
    ops.iter().map(Op::vp_local).collect()
}

/// What a node may skip: the VP and index of its last operation, if that one is local.
pub struct Sleep<'a> {
    local: &'a [Option<u8>],
    last: Option<(u8, usize)>,
}

impl<'a> Sleep<'a> {
    /// The node reached by `path` (operation indices) from `root`.
    pub fn after(root: &'a Root, path: &[u16]) -> Sleep<'a> {
        let local = root.local.as_deref().unwrap_or(&[]);
        let last = path.split_last().and_then(|(&a, before)| {
            if root.mirror.is_some() && root.symmetric_after(before) {
                return None;
            }
            Some((*local.get(a as usize)?.as_ref()?, a as usize))
        });
        Sleep { local, last }
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
    #[inline]
    pub fn skips_leaf(&self, o: usize) -> bool {
        self.last
            .is_some_and(|(vp, _)| self.local[o].is_some_and(|v| v != vp))
    }
}

#[cfg(test)]
mod tests {
    use sintfuzz_model::Revision;
    use sintfuzz_targets::{InvariantSet, Machine, NoHook, Settings, Target};

    use super::*;
    use crate::check::domain::{configs, ops, ConfigFilter, Size};
    use crate::check::testing::{canonical, chooser};

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

    #[test]
    fn operations_local_to_different_vps_commute_on_random_states() {
        let mut rand = chooser(0x9e37_79b9_7f4a_7c15);
        let mut pairs = 0;
        for c in configs(2, &ConfigFilter::default())
            .iter()
            .filter(|c| c.vps() == 2)
        {
            for r in [Revision::Head, Revision::ProxyBit, Revision::Proposed] {
                let settings = Settings {
                    revision: r,
                    invariants: InvariantSet::parse("strict").unwrap(),
                };
                let all = ops(Target::AllOps, c, Size::Medium);
                let local = locality(&all);
                let vp = |v: u8| -> Vec<usize> {
                    (0..all.len()).filter(|&i| local[i] == Some(v)).collect()
                };
                let (zero, one) = (vp(0), vp(1));
                assert!(!zero.is_empty() && !one.is_empty(), "{c:?}");
                let mut m = Machine::new(*c, &settings);
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
                    // Walk on: any operation that neither violates nor halts.
                    for _ in 0..8 {
                        let mut next = m.clone();
                        let o = &all[rand(all.len())];
                        if next.step(k, o, &mut NoHook).is_none() && !next.halted() {
                            m = next;
                            break;
                        }
                    }
                }
            }
        }
        assert!(pairs > 1000);
    }
}
