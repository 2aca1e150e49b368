//! The invariants the oracle checks: the one place that names, describes and groups them.
//! Ids are part of the CLI contract (`SINTFUZZ_INVARIANTS`, `sintfuzz invariants`).

use core::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Invariant {
    LostRelay,
    LostProxySint,
    LostDevice,
    LeakUnentitled,
    LeakCrossVtl,
    Vtl2Crash,
    RegisterSemantics,
    LeakNonVmbusSint,
    LeakStaleDeviceVector,
    ReservedVector,
    LeakSynicDisabled,
    HypercallSemantics,
    PendingWhileDisabled,
    LostMessage,
}

/// Whether an invariant is in the default set or only in `strict`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// Must hold for `proposed`; on by default.
    Default,
    /// Design weaknesses; on with `SINTFUZZ_INVARIANTS=strict`. `proposed` passes them too.
    Strict,
}

impl Invariant {
    pub const ALL: [Invariant; 14] = [
        Invariant::LostRelay,
        Invariant::LostProxySint,
        Invariant::LostDevice,
        Invariant::LeakUnentitled,
        Invariant::LeakCrossVtl,
        Invariant::Vtl2Crash,
        Invariant::RegisterSemantics,
        Invariant::LeakNonVmbusSint,
        Invariant::LeakStaleDeviceVector,
        Invariant::ReservedVector,
        Invariant::LeakSynicDisabled,
        Invariant::HypercallSemantics,
        Invariant::PendingWhileDisabled,
        Invariant::LostMessage,
    ];

    pub const fn id(self) -> &'static str {
        match self {
            Invariant::LostRelay => "lost-relay",
            Invariant::LostProxySint => "lost-proxy-sint",
            Invariant::LostDevice => "lost-device",
            Invariant::LeakUnentitled => "leak-unentitled",
            Invariant::LeakCrossVtl => "leak-cross-vtl",
            Invariant::Vtl2Crash => "vtl2-crash",
            Invariant::RegisterSemantics => "register-semantics",
            Invariant::LeakNonVmbusSint => "leak-non-vmbus-sint",
            Invariant::LeakStaleDeviceVector => "leak-stale-device-vector",
            Invariant::ReservedVector => "reserved-vector",
            Invariant::LeakSynicDisabled => "leak-synic-disabled",
            Invariant::HypercallSemantics => "hypercall-semantics",
            Invariant::PendingWhileDisabled => "pending-while-disabled",
            Invariant::LostMessage => "lost-message",
        }
    }

    pub const fn tier(self) -> Tier {
        match self {
            Invariant::LeakNonVmbusSint
            | Invariant::LeakStaleDeviceVector
            | Invariant::ReservedVector
            | Invariant::LeakSynicDisabled
            | Invariant::PendingWhileDisabled => Tier::Strict,
            _ => Tier::Default,
        }
    }

    /// The upstream issue or source the invariant stems from.
    pub const fn upstream(self) -> &'static str {
        match self {
            Invariant::LostRelay => "openvmm#1162 (fixed by #1207)",
            Invariant::LostProxySint => "openvmm#609 (proxy-bit SINTs must pass)",
            Invariant::LostDevice => {
                "openvmm#609 (device_vector_table, UPDATE_PROXY_IRR_FILTER wake)"
            }
            Invariant::LeakUnentitled => "openvmm#563/#554 (fixed by #609)",
            Invariant::LeakCrossVtl => "openvmm#563/#554, #691 (VTL0-only proxy IRR)",
            Invariant::Vtl2Crash => "openvmm#775 assert, #1275; MessageQueues::enqueue_message index",
            Invariant::RegisterSemantics => "hv1_emulator synic.rs (semantics §1.3)",
            Invariant::LeakNonVmbusSint => "openvmm#1207 (admits all 16 SINTs with the relay on)",
            Invariant::LeakStaleDeviceVector => "openvmm#609 (device_vector_table never cleared)",
            Invariant::ReservedVector => {
                "hvdef SINT vector unchecked; TDX offload skips 0..=15 mask"
            }
            Invariant::LeakSynicDisabled => "update_proxy_irr_filter ignores SCONTROL",
            Invariant::HypercallSemantics => {
                "TLFS HvCallRetargetDeviceInterrupt; vmbus_server channel state machine (an addition)"
            }
            Invariant::PendingWhileDisabled => {
                "request_fixed_interrupts needs both enables; TDX offloads only when can_offload_irr()"
            }
            Invariant::LostMessage => {
                "vmbus_server send_message (reserved channels, custom targets); deliver_synic_messages, ProcessorSynic::post_message"
            }
        }
    }

    /// One line for `sintfuzz invariants` and the docs.
    pub const fn description(self) -> &'static str {
        match self {
            Invariant::LostRelay => "an honest signal on an open relayed channel whose target VP has VTL0 SINT2 unmasked (vector >= 16, SCONTROL and APIC on) is pending in that VTL0 APIC after the VP next runs",
            Invariant::LostProxySint => "the same for an honest host signal on a VTL0 SINT with the proxy bit",
            Invariant::LostDevice => "after a retarget of vector x to VP set S returned, a device interrupt at x on a VP in S is pending after that VP next runs",
            Invariant::LeakUnentitled => "a vector reaches a VTL0 APIC through the proxy path with no VTL0 entitlement on that VP (unmasked proxy SINT, any unmasked SINT with the relay on, or a vector VTL0 retargeted a device to)",
            Invariant::LeakCrossVtl => "as leak-unentitled, where the vector is one only VTL1 or VTL2 configured",
            Invariant::Vtl2Crash => "a guest or host action reaches a VTL2 panic (assert_eq!(vtl, Vtl0), an out-of-bounds index)",
            Invariant::RegisterSemantics => "synic MSR and HvSetVpRegisters results and read-back values follow the register rules",
            Invariant::LeakNonVmbusSint => "with the relay on, a host vector admitted only because of a non-proxy SINT other than SINT2",
            Invariant::LeakStaleDeviceVector => "a vector admitted only because a device was once retargeted to it and has since moved away",
            Invariant::ReservedVector => "a vector below 16 made pending in a VTL0 APIC",
            Invariant::LeakSynicDisabled => "a host SINT interrupt delivered while VTL0's SCONTROL is disabled",
            Invariant::HypercallSemantics => "HvRetargetDeviceInterrupt statuses and VMBus offer/open/close/modify results follow the specification, as the oracle's own state machine computes them",
            Invariant::PendingWhileDisabled => "no vector becomes pending in a VTL0 APIC whose hardware or software enable is off, on any proxy path (user-space poll, TDX offload)",
            Invariant::LostMessage => "a host message to an unmasked, non-polling VTL0 SINT (any SINT; SCONTROL and APIC on, vector >= 16) raises its vector in that VTL0 APIC after the VP next runs, unless the synic refuses it to its sender: a full message slot keeps it queued (only the first since the guest last consumed its messages is judged); a proxied SINT needs the host's copy the guest gave it to match",
        }
    }

    /// The invariant class a root-cause signature names: the losses are one class, the
    /// default-set leaks another, the strict leaks a third (which VTL configured a leaked
    /// vector, or which path a lost interrupt took, is the vehicle, not the bug); every
    /// other invariant is its own class.
    pub const fn class(self) -> &'static str {
        match self {
            Invariant::LostRelay
            | Invariant::LostProxySint
            | Invariant::LostDevice
            | Invariant::LostMessage => "lost",
            Invariant::LeakUnentitled | Invariant::LeakCrossVtl => "leak",
            // Which strict leak the oracle names depends on the order it checks them; the
            // fixing choice tells them apart.
            Invariant::LeakNonVmbusSint
            | Invariant::LeakStaleDeviceVector
            | Invariant::LeakSynicDisabled => "strict-leak",
            _ => self.id(),
        }
    }

    /// Every invariant of this one's class.
    pub fn class_set(self) -> InvariantSet {
        let mut s = InvariantSet::NONE;
        for i in Invariant::ALL {
            if i.class() == self.class() {
                s = s.with(i);
            }
        }
        s
    }

    fn bit(self) -> u32 {
        1 << self as u32
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A set of invariants, as chosen by `SINTFUZZ_INVARIANTS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InvariantSet(u32);

impl InvariantSet {
    pub const NONE: Self = Self(0);

    pub fn default_set() -> Self {
        Self::tiers(&[Tier::Default])
    }

    pub fn strict() -> Self {
        Self::tiers(&[Tier::Default, Tier::Strict])
    }

    fn tiers(tiers: &[Tier]) -> Self {
        let mut s = Self::NONE;
        for i in Invariant::ALL {
            if tiers.contains(&i.tier()) {
                s = s.with(i);
            }
        }
        s
    }

    pub fn with(self, i: Invariant) -> Self {
        Self(self.0 | i.bit())
    }

    /// This set less each of `out`.
    pub fn without(self, out: &[Invariant]) -> Self {
        Self(out.iter().fold(self.0, |s, i| s & !i.bit()))
    }

    pub fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    pub fn contains(self, i: Invariant) -> bool {
        self.0 & i.bit() != 0
    }

    pub fn iter(self) -> impl Iterator<Item = Invariant> {
        Invariant::ALL
            .into_iter()
            .filter(move |i| self.contains(*i))
    }

    /// `default`, `strict`, or a comma-separated list of ids.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "default" => return Ok(Self::default_set()),
            "strict" => return Ok(Self::strict()),
            _ => {}
        }
        let mut set = Self::NONE;
        for id in s.split(',').map(str::trim) {
            let i = Invariant::ALL
                .into_iter()
                .find(|i| i.id() == id)
                .ok_or_else(|| {
                    format!("unknown invariant '{id}' (expected default, strict, or ids from `sintfuzz invariants`)")
                })?;
            set = set.with(i);
        }
        Ok(set)
    }
}

impl fmt::Display for InvariantSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Self::strict() {
            return f.write_str("strict");
        }
        if *self == Self::default_set() {
            return f.write_str("default");
        }
        for (n, i) in self.iter().enumerate() {
            if n > 0 {
                f.write_str(",")?;
            }
            f.write_str(i.id())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_parse_and_print() {
        assert_eq!(InvariantSet::parse("default").unwrap().iter().count(), 9);
        assert_eq!(InvariantSet::parse("strict").unwrap().iter().count(), 14);
        let s = InvariantSet::parse("lost-relay, leak-unentitled").unwrap();
        assert!(s.contains(Invariant::LostRelay) && !s.contains(Invariant::LostDevice));
        assert_eq!(s.to_string(), "lost-relay,leak-unentitled");
        assert!(InvariantSet::parse("lost-relay,nope")
            .unwrap_err()
            .contains("'nope'"));
        assert!(InvariantSet::parse("").is_err());
    }
}
