//! What `sintfuzz check` needs of the oracle's state besides stepping and hashing it: a
//! cheaper copy (`triage/src/check/copy.rs`; an oracle is about 5 KB, most of it the
//! records of `MAX_VPS` = 4 VPs, while configs have one or two).

use super::Oracle;

impl Oracle {
    /// Make `self`, an oracle of the same config and invariants as `from` (a copy of the
    /// same initial oracle, stepped since), equal to `from`, copying only the VPs the
    /// config has: the records of the others never change (every operation on an absent
    /// VP is refused, and the oracle judges only the VPs that exist), so they are equal
    /// already.
    #[inline]
    pub fn copy_from(&mut self, from: &Oracle) {
        let Oracle {
            config,
            set,
            vps,
            channels,
            interrupt_page,
            routes,
            device_ever,
            step,
            told_any,
            violation,
            skips,
            expect,
            live,
            message_vps,
            host_flags,
        } = from;
        let n = config.vps();
        self.config = *config;
        self.set = *set;
        self.vps[..n].copy_from_slice(&vps[..n]);
        self.channels = *channels;
        self.interrupt_page = *interrupt_page;
        self.routes = *routes;
        self.device_ever = *device_ever;
        self.step = *step;
        self.told_any = *told_any;
        self.violation = *violation;
        self.skips = *skips;
        self.expect = *expect;
        self.live = *live;
        self.message_vps = *message_vps;
        self.host_flags = *host_flags;
    }

}
