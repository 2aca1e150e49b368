//! What `sintfuzz check` needs of the oracle's state besides stepping and hashing it: a
//! cheaper copy (`triage/src/check/copy.rs`; an oracle is about 5 KB, most of it the
//! records of `MAX_VPS` = 4 VPs, while configs have one or two), and which VPs' records
//! an operation left as they were (`triage/src/check/por.rs`).

use super::Oracle;

impl Oracle {
    /// Make `self`, an oracle of the same config and invariants as `from` (a copy of the
    /// same initial oracle, stepped since), equal to `from`, where only the records of the
    /// VPs in `dirty` (bit n = VP n) and the shared fields can differ: the VPs of the
    /// config after any operation, one VP after an operation local to it
    /// (`sintfuzz_model::Op::vp_local`: it writes no other VP's record). The records of
    /// VPs past the config's count never change (every operation on an absent VP is
    /// refused, and the oracle judges only the VPs that exist), so they are equal already.
    /// Every VP's `told_new` is copied: `before` clears them all at each step.
    #[inline]
    pub fn copy_from(&mut self, from: &Oracle, dirty: u8) {
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
            used,
            message_vps,
            host_flags,
        } = from;
        let n = config.vps();
        self.config = *config;
        self.set = *set;
        for (v, (to, from)) in self.vps[..n].iter_mut().zip(&vps[..n]).enumerate() {
            if dirty & (1 << v) != 0 {
                *to = *from;
            } else {
                to.told_new = from.told_new;
            }
        }
        self.channels = *channels;
        self.interrupt_page = *interrupt_page;
        self.routes = *routes;
        self.device_ever = *device_ever;
        self.step = *step;
        self.told_any = *told_any;
        self.violation = *violation;
        self.skips = *skips;
        // Only slots below the high-water marks were ever taken (first fit, `used`): the
        // rest are free in both.
        let taken = self.used.max(*used) as usize;
        self.expect[..taken].copy_from_slice(&expect[..taken]);
        self.used = *used;
        self.live = *live;
        self.message_vps = *message_vps;
        // The raised flags in use: the keys are zero past `len` in both.
        let keys = self.host_flags.len.max(host_flags.len) as usize;
        self.host_flags.keys[..keys].copy_from_slice(&host_flags.keys[..keys]);
        self.host_flags.len = host_flags.len;
    }

    /// When `after` (this oracle after one more operation) differs from `self` at most in
    /// the records of some VPs (per-VP guest state): bit n set for each VP n of the config
    /// whose record is the same. `0` when anything else changed: channels, routes, the
    /// expectations (any VP's), raised flags, a violation. The step number and the skip
    /// counters are not compared (they label reports, and count).
    pub fn unchanged_vps(&self, after: &Oracle) -> u8 {
        let Oracle {
            config,
            set,
            vps,
            channels,
            interrupt_page,
            routes,
            device_ever,
            step: _,
            told_any,
            violation,
            skips: _,
            expect,
            live,
            used,
            message_vps,
            host_flags,
        } = after;
        let shared_same = *config == self.config
            && *set == self.set
            && *channels == self.channels
            && *interrupt_page == self.interrupt_page
            && *routes == self.routes
            && *device_ever == self.device_ever
            && *told_any == self.told_any
            && *violation == self.violation
            && *live == self.live
            && *used == self.used
            && *message_vps == self.message_vps
            && *host_flags == self.host_flags
            && *expect == self.expect;
        if !shared_same {
            return 0;
        }
        (0..config.vps())
            .filter(|&n| vps[n] == self.vps[n])
            .fold(0, |m, n| m | 1 << n)
    }
}
