//! The oracle's image under a swap of VP 0 and VP 1, and under a swap of two vectors,
//! beside the partition's (`Partition::swap_vps`, `Partition::swap_vectors`), for
//! `sintfuzz check`'s VP and value symmetries. Every field is destructured without `..`,
//! so a new one fails to compile here until someone decides whether it names a VP or a
//! vector.

use sintfuzz_model::hvdef::msr;
use sintfuzz_model::partition::symmetry::{swap_vp_index, swap_vp_set, VectorSwap};

use super::{Expect, GuestChannel, GuestVp, Oracle, RaisedFlags, Regs, Route, Violation};

/// VP 0 <-> VP 1.
fn swap_vp(v: u8) -> u8 {
    swap_vp_index(u32::from(v)) as u8
}

impl Oracle {
    /// Rename VP 0 to VP 1 and back everywhere a VP is named: the per-VP records, channel
    /// target VPs, route target sets, the expectations' VPs (each keeps its slot), the
    /// raised-flag keys (kept sorted), the message hint and a violation's VP. An
    /// involution.
    pub fn swap_vps(&mut self) {
        let Oracle {
            config: _,
            set: _,
            vps,
            channels,
            interrupt_page: _,
            routes,
            device_ever: _,
            step: _,
            told_any: _,
            violation,
            skips: _,
            expect,
            live: _,
            used: _,
            message_vps,
            host_flags,
        } = self;
        vps.swap(0, 1);
        for c in channels.iter_mut() {
            let GuestChannel {
                offered: _,
                open: _,
                target_vp,
                event_flag: _,
                interrupt_relay: _,
            } = c;
            *target_vp = swap_vp_index(*target_vp);
        }
        for r in routes.iter_mut().flatten() {
            let Route {
                vtl: _,
                vector: _,
                targets,
            } = r;
            *targets = swap_vp_set(*targets);
        }
        for e in expect.iter_mut().filter(|e| e.invariant.is_some()) {
            let Expect {
                vp,
                vector: _,
                sint: _,
                invariant: _,
                origin: _,
                path: _,
                stage: _,
            } = e;
            *vp = swap_vp(*vp);
        }
        *message_vps = swap_vp_set(*message_vps);
        if let Some(Violation { vp, .. }) = violation {
            *vp = swap_vp(*vp);
        }
        let RaisedFlags { keys, len } = host_flags;
        let keys = &mut keys[..*len as usize];
        for k in keys.iter_mut() {
            *k = u32::from(swap_vp((*k >> 16) as u8)) << 16 | (*k & 0xffff);
        }
        keys.sort_unstable();
    }

    /// Rename vector `swap.a` to `swap.b` and back everywhere a vector is held: the
    /// guest's SINT registers per VTL, the host's SINT values (given and told), every
    /// per-VP vector set, the routes' and the expectations' vectors, the vectors ever
    /// asked of a device and a violation's vector. An involution.
    pub fn swap_vectors(&mut self, swap: VectorSwap) {
        let Oracle {
            config: _,
            set: _,
            vps,
            channels: _,
            interrupt_page: _,
            routes,
            device_ever,
            step: _,
            told_any: _,
            violation,
            skips: _,
            expect,
            live: _,
            used: _,
            message_vps: _,
            host_flags: _,
        } = self;
        for g in vps.iter_mut() {
            g.swap_vectors(swap);
        }
        for r in routes.iter_mut().flatten() {
            let Route {
                vtl: _,
                vector,
                targets: _,
            } = r;
            *vector = swap.vector(*vector);
        }
        for s in device_ever.iter_mut() {
            *s = swap.set(*s);
        }
        for e in expect.iter_mut().filter(|e| e.invariant.is_some()) {
            let Expect {
                vp: _,
                vector,
                sint: _,
                invariant: _,
                origin: _,
                path: _,
                stage: _,
            } = e;
            *vector = swap.vector(*vector);
        }
        if let Some(Violation { vector, .. }) = violation {
            *vector = vector.map(|v| swap.vector(v));
        }
    }
}

impl GuestVp {
    /// [`Oracle::swap_vectors`] for one VP's guest record: its SINT registers per VTL,
    /// the host's SINT values (given and told) and every vector set.
    fn swap_vectors(&mut self, swap: VectorSwap) {
        let GuestVp {
            regs,
            untrusted,
            untrusted_on: _,
            told,
            told_set: _,
            apic_on: _,
            pending,
            held,
            admissible,
            last_new,
            flag_outstanding: _,
            queued: _,
            slot_busy: _,
            host_told,
            told_new,
        } = self;
        for Regs(r) in regs.iter_mut() {
            for n in msr::SINT0..=msr::SINT15 {
                let i = Regs::slot(n).expect("a SINT register is stored");
                r[i] = swap.sint(r[i]);
            }
        }
        for v in untrusted.iter_mut().chain(told.iter_mut()) {
            *v = swap.sint(*v);
        }
        for s in [pending, held, host_told, told_new]
            .into_iter()
            .chain(admissible.iter_mut())
            .chain(last_new.iter_mut())
        {
            *s = swap.set(*s);
        }
    }
}
