//! The partition's image under a swap of VP 0 and VP 1, and under a swap of two
//! interrupt vectors, for `sintfuzz check`'s VP and value symmetries: where the model
//! treats both VPs (two VPs, no #384 redirection, no interrupt-page relay) or both
//! vectors (two ordinary vectors, 16..=255 and not VTL2's) alike, an operation then the
//! renaming reaches the state the renaming then the operation's image reaches (see
//! `triage/src/check/symmetry.rs`, whose tests check it on random states). Not a model
//! behaviour: a renaming of the state. Every field is destructured without `..`, so a new
//! one fails to compile here until someone decides whether it names a VP or a vector.

use super::{Channel, DeviceRoute, Partition, Vp};
use crate::apic::Apic;
use crate::hvdef::{Sint, VP_INDEX_DISABLE_INTERRUPT, VP_INDEX_SELF};
use crate::runpage::RunPage;
use crate::synic::Synic;
use crate::vectors::VectorSet;

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

/// The transposition of two interrupt vectors `a` and `b` (each its own image under
/// the other swaps), applied to every form a vector takes: a vector, a wider value whose
/// low 8 bits are the vector (a retarget's or a single proxy assert's, truncated later:
/// the high bits are kept, so truncation commutes with the swap), a set, and a SINT
/// register's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VectorSwap {
    pub a: u8,
    pub b: u8,
}

impl VectorSwap {
    /// `a` <-> `b`; every other vector stays.
    #[inline]
    pub const fn vector(self, v: u8) -> u8 {
        if v == self.a {
            self.b
        } else if v == self.b {
            self.a
        } else {
            v
        }
    }

    /// A value whose low 8 bits are a vector: those renamed, the rest kept.
    #[inline]
    pub const fn wide(self, v: u32) -> u32 {
        (v & !0xff) | self.vector(v as u8) as u32
    }

    /// The set with `a` and `b` exchanged.
    #[inline]
    pub fn set(self, s: VectorSet) -> VectorSet {
        let mut out = s;
        out.remove(self.a);
        out.remove(self.b);
        out.insert_if(self.b, s.contains(self.a));
        out.insert_if(self.a, s.contains(self.b));
        out
    }

    /// A SINT register's raw value with its vector field renamed (every other bit kept).
    #[inline]
    pub const fn sint(self, value: u64) -> u64 {
        let s = Sint::from_bits(value);
        s.with_vector(self.vector(s.vector())).into_bits()
    }

    fn synic(self, s: &mut Synic) {
        let Synic {
            scontrol: _,
            siefp: _,
            simp: _,
            sints,
            flags: _,
            stimers: _,
            slots_busy: _,
            readiness: _,
        } = s;
        for sint in sints.iter_mut() {
            *sint = Sint::from_bits(self.sint(sint.into_bits()));
        }
    }

    fn vp(self, vp: &mut Vp) {
        let Vp {
            synic,
            untrusted,
            queues: _,
            apic,
            run,
            wake_reasons: _,
        } = vp;
        for s in synic.iter_mut().chain([untrusted]) {
            self.synic(s);
        }
        for a in apic.iter_mut() {
            let Apic {
                hw_enabled: _,
                sw_enabled: _,
                irr,
                auto_eoi,
            } = a;
            *irr = self.set(*irr);
            *auto_eoi = self.set(*auto_eoi);
        }
        let RunPage {
            scan_proxy_irr: _,
            proxy_irr,
            proxy_irr_blocked,
            proxy_irr_exit,
        } = run;
        for s in [proxy_irr, proxy_irr_blocked, proxy_irr_exit] {
            *s = self.set(*s);
        }
    }
}

impl Partition {
    /// Rename vector `a` to `b` and back everywhere a vector is held: every synic's SINT
    /// values (the guest's per VTL and the host's copy), the APICs' IRR and auto-EOI
    /// sets, the run pages' proxy IRR and filter, the device vector table and the device
    /// routes. An involution.
    pub fn swap_vectors(&mut self, swap: VectorSwap) {
        let Partition {
            config: _,
            revision: _,
            policy: _,
            vps,
            device_vector_table,
            devices,
            channels: _,
            use_interrupt_relay: _,
            vtl2_asserts: _,
        } = self;
        for vp in vps.iter_mut() {
            swap.vp(vp);
        }
        *device_vector_table = swap.set(*device_vector_table);
        for d in devices.iter_mut().flatten() {
            let DeviceRoute {
                vtl: _,
                vector,
                targets: _,
                redirected: _,
            } = d;
            *vector = swap.vector(*vector);
        }
    }

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
    fn a_vector_swap_exchanges_two_vectors_in_every_form_and_keeps_the_rest() {
        let x = VectorSwap { a: 0x30, b: 0x31 };
        assert_eq!(
            (x.vector(0x30), x.vector(0x31), x.vector(0x05)),
            (0x31, 0x30, 0x05)
        );
        assert_eq!(
            (x.wide(0x130), x.wide(0x131), x.wide(0x132)),
            (0x131, 0x130, 0x132)
        );
        let mut s = VectorSet::single(0x30);
        s.insert(0xff);
        let mut want = VectorSet::single(0x31);
        want.insert(0xff);
        assert_eq!(x.set(s), want);
        assert_eq!(x.set(VectorSet::ALL), VectorSet::ALL);
        let v = Sint::unmasked(0x30, true).with_masked(true).into_bits();
        assert_eq!(
            x.sint(v),
            Sint::unmasked(0x31, true).with_masked(true).into_bits()
        );
        let mut p = Partition::new(
            Config {
                vp_count: 2,
                ..Config::default()
            },
            Revision::Head,
        );
        for o in ops(1) {
            p.apply(&o, &mut ());
        }
        let before = p.clone();
        p.swap_vectors(x);
        assert!(p != before);
        assert_eq!(p.devices[0].map(|d| d.vector), Some(0x30));
        p.swap_vectors(x);
        assert!(p == before);
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
