//! What `sintfuzz check`'s partial-order reduction (`triage/src/check/por.rs`) asks of a
//! partition: which VPs' state an operation left as it was. Every field is destructured
//! without `..`, so a new one fails to compile here until someone decides whether it is
//! shared or per VP.

use super::Partition;

impl Partition {
    /// When `after` (this partition after one more operation) differs from `self` at most
    /// in some VPs' state: bit n set for each VP n of the config whose state is the same.
    /// `0` when shared state changed (device table, routes, channels, the relay's mode, a
    /// VTL2 assert).
    pub fn unchanged_vps(&self, after: &Partition) -> u8 {
        let Partition {
            config,
            revision,
            policy,
            vps,
            device_vector_table,
            devices,
            channels,
            use_interrupt_relay,
            vtl2_asserts,
        } = after;
        let shared_same = *config == self.config
            && *revision == self.revision
            && *policy == self.policy
            && *device_vector_table == self.device_vector_table
            && *devices == self.devices
            && *channels == self.channels
            && *use_interrupt_relay == self.use_interrupt_relay
            && *vtl2_asserts == self.vtl2_asserts;
        if !shared_same {
            return 0;
        }
        (0..config.vps())
            .filter(|&n| vps[n] == self.vps[n])
            .fold(0, |m, n| m | 1 << n)
    }
}
