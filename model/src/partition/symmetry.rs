//! The partition's image under a swap of VP 0 and VP 1, for `sintfuzz check`'s VP
//! symmetry: the search keeps one state of each pair {s, swapped s} where the model treats
//! both VPs alike (two VPs, no #384 redirection, no interrupt-page relay; see
//! `triage/src/check/symmetry.rs`). Not a model behaviour: a renaming of the state. Every
//! field is destructured without `..`, so a new one fails to compile here until someone
//! decides whether it names a VP.

use super::{Channel, DeviceRoute, Partition};
use crate::hvdef::{VP_INDEX_DISABLE_INTERRUPT, VP_INDEX_SELF};

/// VP 0 <-> VP 1 in a VP index carried as u32; every other value (another VP, "no
/// interrupt") stays.
pub const fn swap_vp_index(v: u32) -> u32 {
    const _: () = assert!(VP_INDEX_SELF > 1 && VP_INDEX_DISABLE_INTERRUPT > 1);
    match v {
        0 => 1,
        1 => 0,
        other => other,
    }
}

/// VP 0 <-> VP 1 in a processor set (bit n = VP n).
pub const fn swap_vp_set(t: u8) -> u8 {
    (t & !3) | ((t & 1) << 1) | ((t >> 1) & 1)
}

impl Partition {
    /// Rename VP 0 to VP 1 and back, everywhere a VP is named: the per-VP state, device
    /// target sets and channel target VPs. An involution.
    pub fn swap_vps(&mut self) {
        let Partition {
            config: _,
            revision: _,
            policy: _,
            vps,
            device_vector_table: _,
            devices,
            channels,
            use_interrupt_relay: _,
            vtl2_asserts: _,
        } = self;
        vps.swap(0, 1);
        for d in devices.iter_mut().flatten() {
            let DeviceRoute {
                vtl: _,
                vector: _,
                targets,
                redirected: _,
            } = d;
            *targets = swap_vp_set(*targets);
        }
        for c in channels.iter_mut() {
            let Channel {
                offered: _,
                open: _,
                target_vp,
                event_flag: _,
                interrupt_relay: _,
            } = c;
            *target_vp = swap_vp_index(*target_vp);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::hash_map::DefaultHasher;
    use std::hash::{Hash, Hasher};

    use super::*;
    use crate::hvdef::{msr, Sint};
    use crate::op::{HostOffer, OpenChannel, Retarget, WrMsr};
    use crate::{Config, Op, RetargetFlaws, Revision, Vtl};

    /// On `vp`: unmask SINT2, retarget device 0 to `vp` alone, open channel 0 to `vp`.
    fn ops(vp: u8) -> [Op; 4] {
        [
            WrMsr {
                vp,
                vtl: Vtl::Vtl0,
                msr: msr::SINT0 + 2,
                value: Sint::unmasked(0x30, true).into_bits(),
            }
            .into(),
            Retarget {
                vp,
                vtl: Vtl::Vtl0,
                device: 0,
                vector: 0x31,
                targets: 1 << vp,
                flaws: RetargetFlaws::default(),
            }
            .into(),
            HostOffer { slot: 0 }.into(),
            OpenChannel {
                slot: 0,
                target_vp: u32::from(vp),
                event_flag: 0,
            }
            .into(),
        ]
    }

    #[test]
    fn the_swap_of_a_state_built_on_vp_0_is_the_state_built_on_vp_1() {
        let config = Config {
            vp_count: 2,
            ..Config::default()
        };
        let run = |vp| {
            let mut p = Partition::new(config, Revision::Head);
            for o in ops(vp) {
                p.apply(&o, &mut ());
            }
            p
        };
        // The canonical state (`Hash`): the never-opened channels' unused targets differ.
        let fingerprint = |p: &Partition| {
            let mut h = DefaultHasher::new();
            p.hash(&mut h);
            h.finish()
        };
        let (zero, one) = (run(0), run(1));
        assert_ne!(fingerprint(&zero), fingerprint(&one));
        let mut swapped = zero.clone();
        swapped.swap_vps();
        assert_eq!(fingerprint(&swapped), fingerprint(&one));
        swapped.swap_vps();
        assert!(swapped == zero);
        assert_eq!(swap_vp_set(0b101), 0b110);
        assert_eq!(
            swap_vp_index(VP_INDEX_DISABLE_INTERRUPT),
            VP_INDEX_DISABLE_INTERRUPT
        );
    }
}
