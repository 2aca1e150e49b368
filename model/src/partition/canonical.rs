//! The partition's canonical state for exhaustive exploration (`sintfuzz check`): `Hash`
//! covers exactly what decides the partition's future behaviour, so two states with equal
//! hashes answer every later operation alike. It is coarser than `Eq` (consistent with
//! it), and skips what cannot matter:
//! - VPs beyond `config.vps()`: every operation on them is refused, so they stay at reset;
//! - `vtl2_asserts` beyond whether it is zero (the VM is down or not);
//! - SIEFP event-flag words that are zero, SINTs at their reset value and zero timer
//!   registers (hashed sparsely, as (index, value) pairs: most are at reset);
//! - a channel's target VP, event flag and relay mode while it is not open (only a signal
//!   or a modify of an open channel reads them, and an open sets them anew).
//!
//! Fields are destructured without `..`, so a new field fails to compile here until
//! someone decides whether it belongs to the state.

use core::hash::{Hash, Hasher};

use super::{Channel, Partition};
use crate::hvdef::Sint;
use crate::synic::Synic;

/// The shared part, then each VP's ([`Partition::hash_shared`], [`Partition::hash_vp`]).
impl Hash for Partition {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.hash_shared(h);
        for v in 0..self.config.vps() {
            self.hash_vp(v, h);
        }
    }
}

impl Partition {
    /// VP `v`'s part of the canonical state: its record. An operation local to one VP
    /// (`Op::vp_local`) changes no other part, so `sintfuzz check` fingerprints the parts
    /// apart and rehashes only that VP's after one.
    #[inline]
    pub fn hash_vp<H: Hasher>(&self, v: usize, h: &mut H) {
        self.vps[v].hash(h);
    }

    /// The canonical state but the VPs' records: the config and everything shared.
    pub fn hash_shared<H: Hasher>(&self, h: &mut H) {
        let Partition {
            config,
            revision,
            policy,
            // `hash_vp`'s, the first `config.vps()`.
            vps: _,
            device_vector_table,
            devices,
            channels,
            use_interrupt_relay,
            vtl2_asserts,
        } = self;
        config.hash(h);
        revision.hash(h);
        policy.hash(h);
        // Only whether the VM went down matters (after the first assert it refuses all).
        (*vtl2_asserts != 0).hash(h);
        device_vector_table.hash(h);
        devices.hash(h);
        for c in channels {
            let Channel {
                offered,
                open,
                target_vp,
                event_flag,
                interrupt_relay,
            } = c;
            offered.hash(h);
            open.hash(h);
            // Read only while open (signal, modify); an open sets them all anew.
            if *open {
                target_vp.hash(h);
                event_flag.hash(h);
                interrupt_relay.hash(h);
            }
        }
        use_interrupt_relay.hash(h);
    }
}

/// Bit i: the i-th of at most 64 conditions holds.
#[inline]
pub fn mask(conditions: impl Iterator<Item = bool>) -> u64 {
    conditions
        .enumerate()
        .fold(0, |m, (i, c)| m | u64::from(c) << i)
}

impl Hash for Synic {
    fn hash<H: Hasher>(&self, h: &mut H) {
        let Synic {
            scontrol,
            siefp,
            simp,
            sints,
            flags,
            stimers,
            slots_busy,
            readiness,
        } = self;
        slots_busy.hash(h);
        readiness.hash(h);
        scontrol.hash(h);
        siefp.hash(h);
        simp.hash(h);
        // Most synics have every SINT at reset and every timer zero: a mask of the ones
        // that are not (built without a branch or a call), then only those.
        let mut rest = mask(sints.iter().map(|s| *s != Sint::RESET));
        while rest != 0 {
            let i = rest.trailing_zeros() as usize;
            h.write_usize(i);
            h.write_u64(sints[i].into_bits());
            rest &= rest - 1;
        }
        h.write_u8(0xff);
        let mut rest = mask(stimers.iter().map(|t| *t != 0));
        while rest != 0 {
            let i = rest.trailing_zeros() as usize;
            h.write_usize(i);
            h.write_u64(stimers[i]);
            rest &= rest - 1;
        }
        h.write_u8(0xff);
        // Sparse: only the set flags (`EventFlags`' own `Hash`).
        flags.hash(h);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::hash_map::DefaultHasher;

    use super::*;
    use crate::hvdef::msr;
    use crate::op::{RunVp, WrMsr};
    use crate::{Config, Op, Revision, Vtl};

    fn fingerprint(p: &Partition) -> u64 {
        let mut h = DefaultHasher::new();
        p.hash(&mut h);
        h.finish()
    }

    #[test]
    fn equal_behaviour_hashes_equal_and_state_changes_do_not() {
        let config = Config {
            vp_count: 2,
            ..Config::default()
        };
        let fresh = Partition::new(config, Revision::Head);
        let mut p = fresh.clone();
        // A refused operation (VP 3 does not exist) changes nothing.
        p.apply(&RunVp { vp: 3 }.into(), &mut ());
        assert_eq!(fingerprint(&p), fingerprint(&fresh));
        // A VM that went down is a different state.
        let mut down = fresh.clone();
        down.vtl2_asserts = 1;
        assert_ne!(fingerprint(&down), fingerprint(&fresh));
        let sint2: Op = WrMsr {
            vp: 1,
            vtl: Vtl::Vtl0,
            msr: msr::SINT0 + 2,
            value: Sint::unmasked(0x30, false).into_bits(),
        }
        .into();
        p.apply(&sint2, &mut ());
        assert_ne!(fingerprint(&p), fingerprint(&fresh));
        // An event flag is state too.
        let mut q = fresh.clone();
        q.vps[0].synic[0].flags.test_and_set(2, 0);
        assert_ne!(fingerprint(&q), fingerprint(&fresh));
        // So is the revision.
        let other = Partition::new(config, Revision::Proposed);
        assert_ne!(fingerprint(&other), fingerprint(&fresh));
    }
}
