//! A cheaper state copy for the search. Each transition applies one operation to a copy of
//! the node's state; a whole `Machine` is about 12 KB (room for `MAX_VPS` = 4 VPs), and
//! copying it was over half of the time on the last level (perf: `memmove` 56 %). Between
//! two operations of one node the search reuses one scratch state and copies back only
//! what an operation can change: the VPs the config has (every operation on another is
//! refused and changes nothing) and the shared fields, in the partition and in the oracle
//! (`Oracle::copy_from`; copying the oracle whole was a third of the bytes).
//! The config, revision and policy are fixed per root. The test below walks random states
//! of every config and checks the copy equals a fresh clone.

use sintfuzz_model::Partition;
use sintfuzz_targets::Machine;

/// Make `scratch`, a state of the same root as `from` (same config, revision and
/// policy), equal to `from`.
#[inline]
pub fn restore(scratch: &mut Machine, from: &Machine) {
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
    s.vps[..n].copy_from_slice(&vps[..n]);
    s.device_vector_table = *device_vector_table;
    s.devices = *devices;
    s.channels = *channels;
    s.use_interrupt_relay = *use_interrupt_relay;
    s.vtl2_asserts = *vtl2_asserts;
    scratch.oracle.copy_from(&from.oracle);
}

#[cfg(test)]
mod tests {
    use sintfuzz_model::Revision;
    use sintfuzz_targets::{InvariantSet, NoHook, Settings, Target};

    use super::*;
    use crate::check::domain::{configs, ops, ConfigFilter, Size};
    use crate::check::testing::{canonical, chooser};

    #[test]
    fn a_restored_scratch_state_equals_the_state_it_copies() {
        let mut rand = chooser(0x2545_f491_4f6c_dd1d);
        let mut changed = 0;
        for c in configs(2, &ConfigFilter::default()) {
            for r in Revision::ALL {
                let settings = Settings {
                    revision: r,
                    invariants: InvariantSet::parse("strict").unwrap(),
                };
                let all = ops(Target::AllOps, &c, Size::Medium);
                let mut state = Machine::new(c, &settings);
                let mut scratch = state.clone();
                for k in 0..12 {
                    // Dirty the scratch state with one operation, then copy back.
                    scratch.step(k, &all[rand(all.len())], &mut NoHook);
                    changed += usize::from(scratch.model != state.model);
                    restore(&mut scratch, &state);
                    assert!(scratch.model == state.model, "{c:?} {r}");
                    assert_eq!(canonical(&scratch), canonical(&state), "{c:?} {r}");
                    // Walk on.
                    let mut next = state.clone();
                    if next.step(k, &all[rand(all.len())], &mut NoHook).is_none() && !next.halted()
                    {
                        state = next;
                    }
                }
            }
        }
        // The operations did change what the copy restores.
        assert!(changed > 1000, "{changed}");
    }
}
