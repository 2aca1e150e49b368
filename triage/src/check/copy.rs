//! A cheaper state copy for the search. Each transition applies one operation to a copy of
//! the node's state; a whole `Machine` is about 12 KB (room for `MAX_VPS` = 4 VPs), and
//! copying it was over half of the time on the last level (perf: `memmove` 56 %). Between
//! two operations of one node the search reuses one scratch state and copies back only
//! what the operation applied to it can have changed: the shared fields, in the partition
//! and in the oracle (`Oracle::copy_from`), and the VPs it can have written (`dirtied`):
//! after an operation local to one VP ([`Op::vp_local`]: it writes only that VP's state)
//! that VP alone, else every VP the config has (an operation on another is refused and
//! changes nothing). The config, revision and policy are fixed per root. The tests below
//! walk random states of every config and check the copy equals the state it copies.

use sintfuzz_model::{Op, Partition};
use sintfuzz_targets::Machine;

/// Every VP: what a scratch state holding another node's state must copy back.
pub const ALL_VPS: u8 = u8::MAX;

/// The VPs (bit n = VP n) whose state `op` can have written, besides the shared state:
/// the one VP it reads and writes, if there is one ([`super::memo::one_vp`]: its own VP
/// if it is local to one, the VP it names for a run, a host SINT signal, a host message
/// and a proxy assert; the test below); none for the relay's channel operations
/// ([`super::memo::channels_only`]); else all.
#[inline]
pub fn dirtied(op: &Op) -> u8 {
    if super::memo::channels_only(op) {
        return 0;
    }
    super::memo::one_vp(op).map_or(ALL_VPS, |w| 1u8.checked_shl(u32::from(w)).unwrap_or(0))
}

/// Make `scratch`, a state of the same root as `from` (same config, revision and
/// policy), equal to `from`, when they differ at most in the shared fields and the VPs in
/// `dirty` (bit n = VP n; [`ALL_VPS`] when unknown).
#[inline]
pub fn restore(scratch: &mut Machine, from: &Machine, dirty: u8) {
    let n = from.model.config.vps();
    let Partition {
        config: _,
        revision: _,
        vps,
        device_vector_table,
        devices,
        channels,
        use_interrupt_relay,
        vtl2_asserts,
        ..
    } = &from.model;
    let s = &mut scratch.model;
    for (v, (to, from)) in s.vps[..n].iter_mut().zip(&vps[..n]).enumerate() {
        if dirty & (1 << v) != 0 {
            *to = *from;
        }
    }
    s.device_vector_table = *device_vector_table;
    s.devices = *devices;
    s.channels = *channels;
    s.use_interrupt_relay = *use_interrupt_relay;
    s.vtl2_asserts = *vtl2_asserts;
    scratch.oracle.copy_from(&from.oracle, dirty);
}

#[cfg(test)]
mod tests {
    use sintfuzz_model::Revision;
    use sintfuzz_targets::NoHook;

    use super::*;
    use crate::check::domain::{configs, ConfigFilter};
    use crate::check::testing::{chooser, raises_a_flag, starts};

    /// Every field of both halves (the oracle's `Debug` shows them all, counters too).
    fn exact(m: &Machine) -> (Partition, String) {
        (m.model.clone(), format!("{:?}", m.oracle))
    }

    /// Random walks over every config and revision. At each state, operations are applied
    /// to a scratch copy one after another, as the search does, each followed by the
    /// restore of what it dirtied: the scratch state must then be the state, field for
    /// field. A second scratch state restored without the VP the operation can write
    /// shows the comparison sees a VP left out, in the model and in the oracle. Half the
    /// picks are operations that are not VP-local (the host's, the relay's), so the walks
    /// reach raised event flags and host-told vectors, which a local operation must not
    /// lose from the other VP's record or the shared fields.
    #[test]
    fn a_restored_scratch_state_equals_the_state_it_copies() {
        let mut rand = chooser(0x2545_f491_4f6c_dd1d);
        let (mut changed, mut partial, mut seen_model, mut seen_oracle) = (0, 0, 0, 0);
        let (mut told, mut flagged) = (0, 0);
        for c in configs(2, &ConfigFilter::default()) {
            for (r, mut state, all) in starts(&c, &Revision::ALL) {
                let shared: Vec<&Op> = all.iter().filter(|o| o.vp_local().is_none()).collect();
                let mut pick = || {
                    if rand(2) == 0 {
                        shared[rand(shared.len())]
                    } else {
                        &all[rand(all.len())]
                    }
                };
                // Raised event flags need an unmasked host SINT2, an open channel and a
                // signal: set them up first, then walk at random.
                for (k, o) in all.iter().filter(|o| raises_a_flag(o)).enumerate() {
                    let mut next = state.clone();
                    if next.step(k, o, &mut NoHook).is_none() && !next.halted() {
                        state = next;
                    }
                }
                let mut scratch = state.clone();
                let mut wrong = state.clone();
                for k in 0..16 {
                    let exact_state = exact(&state);
                    told += usize::from(exact_state.1.contains("told_any: true"));
                    flagged += usize::from(!exact_state.1.contains("RaisedFlags { keys: [0,"));
                    for _ in 0..4 {
                        // Dirty the scratch state with one operation, then copy back.
                        let op = pick();
                        scratch.step(k, op, &mut NoHook);
                        changed += usize::from(scratch.model != state.model);
                        restore(&mut scratch, &state, dirtied(op));
                        assert!(exact(&scratch) == exact_state, "{c:?} {r} {op:?}");
                        partial += usize::from(dirtied(op) != ALL_VPS);
                        // Left out: the VP the operation wrote.
                        wrong.step(k, op, &mut NoHook);
                        restore(&mut wrong, &state, !dirtied(op));
                        seen_model += usize::from(wrong.model != state.model);
                        seen_oracle += usize::from(format!("{:?}", wrong.oracle) != exact_state.1);
                        restore(&mut wrong, &state, ALL_VPS);
                    }
                    // Walk on.
                    let mut next = state.clone();
                    if next.step(k, pick(), &mut NoHook).is_none() && !next.halted() {
                        state = next;
                        restore(&mut scratch, &state, ALL_VPS);
                        restore(&mut wrong, &state, ALL_VPS);
                    }
                }
            }
        }
        // The operations did change what the copy restores, the partial copy was taken,
        // leaving out the written VP is seen in both halves, and the walks reached
        // host-told vectors and raised flags.
        assert!(changed > 1000, "{changed}");
        assert!(partial > 1000, "{partial}");
        assert!(
            seen_model > 100 && seen_oracle > 100,
            "{seen_model} {seen_oracle}"
        );
        assert!(told > 10 && flagged > 10, "{told} {flagged}");
    }
}
