//! The last level's verdict memo. On the last level (the depth bound) no state is kept,
//! only verdicts. What decides an operation's verdict (a violation and its invariant, or
//! the VM going down) is, for most operations, less than the whole state ([`reads`]):
//! the shared state and one VP's state for an operation that reads and writes one VP's
//! state ([`one_vp`]) and for a retarget (its caller's), the shared state alone for the
//! relay's channel operations. That part of a state is its *projection* for the
//! operation: its shared part of the fingerprint and, for a VP, that VP's part
//! (`Machine::hash_shared`, `Machine::hash_vp`). So of the nodes of the last level with
//! the same projection, only the first in BFS order applies the operations that read
//! it; the others skip them (`search::Worker::expand`, [`Memo::skips`]). With two VPs most
//! nodes share a projection on a VP with an earlier one, reached by the same operations
//! on that VP and others on the other.
//!
//! The verdict is kept: every skipped transition has the verdict of one judged earlier,
//! on the same level, from a node with the same projection. That one may itself be
//! skipped by the other rules (the mirror image of an operation at a symmetric node,
//! `super::symmetry`; an operation whose verdict is the one of a level before,
//! `super::por::Sleep::skips_leaf`), which map it to a transition of a smaller (level,
//! node, operation), so the chain ends at a judged one. A violation it skips is found at
//! the same depth, from the earlier node; `tests/check_reductions.rs` checks on every
//! revision that the root causes stay the same, each at its shortest length, against
//! `--no-memo`. The test below checks that the projection decides the verdict, on random
//! pairs of states with the same projection that differ elsewhere.
//!
//! Which projections were judged is kept deterministic whatever the number of threads:
//! a node looks at those of the earlier batches (merged in BFS order) and of the earlier
//! nodes of its own chunk, whose bounds do not depend on the number of threads.

use sintfuzz_model::op::{HostAssert, HostPostMessage, HostSignalSint, Retarget, RunVp};
use sintfuzz_model::{Op, MAX_VPS};

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

/// What decides an operation's verdict besides the operation itself and the root (its
/// config, revision, policy and invariants): a projection of the state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reads {
    /// The shared state: the relay's channel operations ([`channels_only`]).
    Shared,
    /// The shared state and this VP's: an operation of [`one_vp`], and a retarget, by its
    /// caller (`Partition::retarget` checks the call, updates the caller's filter, which
    /// can hit a VTL2 assert on VTL1, and sets the route; the other VPs' filters it
    /// updates or wakes are written, not read, since the oracle judges no filter update
    /// or wake event; its `after_retarget` reads the call, the config and its routes).
    Vp(u8),
    /// Anything: a host device interrupt or channel signal (the VP it reaches is in the
    /// state), and whatever is not listed.
    All,
}

/// The relay's channel operations: `host_offer`, `open_channel`, `close_channel`,
/// `modify_channel`, `modify_connection` read and write the channels, the connection and
/// the config only (and the oracle's `after_channel_op` its own channels).
#[inline]
pub fn channels_only(op: &Op) -> bool {
    matches!(
        op,
        Op::HostOffer(_)
            | Op::OpenChannel(_)
            | Op::CloseChannel(_)
            | Op::ModifyChannel(_)
            | Op::ModifyConnection(_)
    )
}

/// What decides `op`'s verdict (the test below checks it on random states).
#[inline]
pub fn reads(op: &Op) -> Reads {
    if channels_only(op) {
        return Reads::Shared;
    }
    match *op {
        Op::Retarget(Retarget { vp, .. }) => Reads::Vp(vp),
        _ => one_vp(op).map_or(Reads::All, Reads::Vp),
    }
}

/// The projections (bit n = VP n, bit [`Memo::SHARED`] the shared state alone) whose
/// operations a node of the last level skips: a node with the same projection judged
/// them already.
#[derive(Clone, Copy, Default)]
pub struct Memo(u8);

impl Memo {
    /// The projection on no VP (the shared state alone), after the VPs' ones.
    pub const SHARED: usize = MAX_VPS;

    /// The operations reading projection `w` (a VP, or [`Memo::SHARED`]) were judged
    /// from the same projection.
    #[inline]
    pub fn judged(&mut self, w: usize) {
        self.0 |= 1 << w;
    }

    /// Whether `op` is skipped here.
    #[inline]
    pub fn skips(&self, op: &Op) -> bool {
        self.0 != 0
            && match reads(op) {
                Reads::Shared => self.0 & (1 << Self::SHARED) != 0,
                Reads::Vp(w) => w < 8 && self.0 & (1 << w) != 0,
                Reads::All => false,
            }
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

    /// The parts of `m` the projection `w` is (a VP's, or [`Memo::SHARED`]: none).
    fn projection(m: &Machine, w: usize) -> (Vec<u8>, Option<Vec<u8>>) {
        (part(m, None), (w != Memo::SHARED).then(|| part(m, Some(w))))
    }

    /// Two states reached from one by the same number of operations that write one VP
    /// and the shared state ([`one_vp`]), of another VP than `w` (of any VP for the shared
    /// projection): a VP's local ones, its runs, the host's signals, messages and asserts
    /// to it. Where the two have the same projection `w`, every operation that reads it
    /// ([`reads`]) has the same verdict from both. From a state reached by operations that
    /// read `w` instead, verdicts do differ (so the comparison can see a difference).
    #[test]
    fn the_projection_decides_the_verdicts_of_the_operations_that_read_it() {
        let mut rand = chooser(0x3c6e_f372_fe94_f82b);
        let (mut same, mut differ) = ([0; 2], [0; 2]);
        for c in configs(2, &ConfigFilter::default())
            .iter()
            .filter(|c| c.vps() == 2)
        {
            for (r, mut m, all) in starts(c, &Revision::ALL) {
                // Per projection (VP 0, VP 1, the shared state): the operations that read
                // it, and those that write another VP (and the shared state) only.
                let classes: Vec<(usize, Vec<&Op>, Vec<&Op>)> = [0, 1, Memo::SHARED]
                    .into_iter()
                    .map(|w| {
                        let class = match w {
                            Memo::SHARED => Reads::Shared,
                            w => Reads::Vp(w as u8),
                        };
                        let mine = all.iter().filter(|o| reads(o) == class).collect();
                        let theirs = all
                            .iter()
                            .filter(|o| one_vp(o).is_some_and(|v| usize::from(v) != w))
                            .collect();
                        (w, mine, theirs)
                    })
                    .collect();
                // Raised event flags (which a signal coalesces on): set them up first.
                for (k, o) in all.iter().filter(|o| raises_a_flag(o)).enumerate() {
                    walk_on(&mut m, k, std::slice::from_ref(o), &mut rand);
                }
                for k in 4..10 {
                    for (w, mine, theirs) in &classes {
                        if mine.is_empty() {
                            continue;
                        }
                        let kind = usize::from(*w == Memo::SHARED);
                        for _ in 0..3 {
                            let n = 1 + rand(3);
                            let (x, y) = (pick(theirs, n, &mut rand), pick(theirs, n, &mut rand));
                            let (Some(a), Some(b)) = (after(&m, k, &x), after(&m, k, &y)) else {
                                continue;
                            };
                            let projected = projection(&a, *w) == projection(&b, *w)
                                && canonical(&a) != canonical(&b);
                            // The control: a state reached by operations that read `w`.
                            let control = after(&m, k, &pick(mine, n, &mut rand));
                            for _ in 0..6 {
                                let o = mine[rand(mine.len())];
                                let va = verdict(&a, k + n, o);
                                if projected {
                                    let vb = verdict(&b, k + n, o);
                                    assert_eq!(va, vb, "{c:?} {r}: {o:?} after {x:?} / {y:?}");
                                    same[kind] += 1;
                                }
                                if let Some(cz) = &control {
                                    differ[kind] += usize::from(verdict(cz, k + n, o) != va);
                                }
                            }
                        }
                    }
                    walk_on(&mut m, k, &all, &mut rand);
                }
            }
        }
        // Both kinds of projection were compared often; on a VP's, verdicts do vary with
        // the projection. (No channel operation violates or halts in these walks, on any
        // revision: their verdicts vary with nothing, so their control shows none.)
        assert!(same[0] > 2000 && differ[0] > 0, "{same:?} {differ:?}");
        assert!(same[1] > 2000, "{same:?}");
    }

    /// The memo skips exactly the operations that read the projections it was told
    /// were judged.
    #[test]
    fn the_memo_skips_the_operations_of_judged_projections_only() {
        let c = configs(2, &ConfigFilter::default())
            .into_iter()
            .find(|c| c.vps() == 2 && c.vmbus_relay)
            .unwrap();
        let (_, _, all) = starts(&c, &[Revision::Proposed]).remove(0);
        let mut memo = Memo::default();
        assert!(all.iter().all(|o| !memo.skips(o)));
        memo.judged(1);
        for o in &all {
            assert_eq!(memo.skips(o), reads(o) == Reads::Vp(1), "{o:?}");
        }
        memo.judged(Memo::SHARED);
        for o in &all {
            let read = reads(o);
            assert_eq!(
                memo.skips(o),
                read == Reads::Vp(1) || read == Reads::Shared,
                "{o:?}"
            );
        }
        // Every kind is there.
        for kind in [Reads::Vp(0), Reads::Vp(1), Reads::Shared, Reads::All] {
            assert!(all.iter().any(|o| reads(o) == kind), "{kind:?}");
        }
    }
}
