//! The oracle's image under a swap of VP 0 and VP 1, beside the partition's
//! (`Partition::swap_vps`), for `sintfuzz check`'s VP symmetry. Every field is
//! destructured without `..`, so a new one fails to compile here until someone decides
//! whether it names a VP.

use sintfuzz_model::partition::symmetry::{swap_vp_index, swap_vp_set};

use super::{Expect, GuestChannel, Oracle, RaisedFlags, Route, Violation};

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
}
