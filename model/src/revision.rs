//! The upstream revisions of the proxy-IRR filter, each a small set of policy changes
//! against its predecessor. This is the only place where revisions differ: the partition
//! code asks the [`Policy`] and never matches on a [`Revision`].

use core::fmt;
use core::str::FromStr;

#[cfg(feature = "inject")]
use crate::defect::Defect;

/// A revision of OpenHCL's filter code. The names are part of the CLI contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Revision {
    /// Before #609: no filter; every bit the host asserts reaches VTL0.
    Unfiltered,
    /// #609 + #775, just before #1207: only proxy-bit SINTs are admitted (the seed defect,
    /// upstream issue #1162).
    ProxyBit,
    /// #1207: every unmasked SINT is admitted while the relay is on; every SINT write by any
    /// VTL recomputes.
    RelayAware,
    /// #1275 (openvmm 1488a37b7): as `relay-aware`, the WRMSR recompute gated on VTL0.
    Head,
    /// sintfuzz's proposal: see [`Policy`] for the field-by-field difference from `head`.
    Proposed,
    /// Test-only (feature `inject`): `proposed` with [`Defect::MaskedSintAdmitted`].
    #[cfg(feature = "inject")]
    InjectMaskedSint,
    /// Test-only (feature `inject`): `proposed` with [`Defect::Sint2WrmsrStale`].
    #[cfg(feature = "inject")]
    InjectSint2Wrmsr,
    /// Test-only (feature `inject`): `proposed` with [`Defect::DeviceFirstTargetSkipped`].
    #[cfg(feature = "inject")]
    InjectDeviceFirstVp,
    /// Test-only (feature `inject`): `proposed` with [`Defect::PollOverwritesIrr`].
    #[cfg(feature = "inject")]
    InjectPollOverwritesIrr,
}

impl Revision {
    pub const ALL: [Revision; 5] = [
        Revision::Unfiltered,
        Revision::ProxyBit,
        Revision::RelayAware,
        Revision::Head,
        Revision::Proposed,
    ];

    /// The test-only revisions with an injected defect (feature `inject`); never in
    /// [`Revision::ALL`], whose names are the CLI contract.
    #[cfg(feature = "inject")]
    pub const INJECTED: [Revision; 4] = [
        Revision::InjectMaskedSint,
        Revision::InjectSint2Wrmsr,
        Revision::InjectDeviceFirstVp,
        Revision::InjectPollOverwritesIrr,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Revision::Unfiltered => "unfiltered",
            Revision::ProxyBit => "proxy-bit",
            Revision::RelayAware => "relay-aware",
            Revision::Head => "head",
            Revision::Proposed => "proposed",
            #[cfg(feature = "inject")]
            Revision::InjectMaskedSint => "inject-masked-sint",
            #[cfg(feature = "inject")]
            Revision::InjectSint2Wrmsr => "inject-sint2-wrmsr",
            #[cfg(feature = "inject")]
            Revision::InjectDeviceFirstVp => "inject-device-first-vp",
            #[cfg(feature = "inject")]
            Revision::InjectPollOverwritesIrr => "inject-poll-overwrites-irr",
        }
    }

    /// One line for `sintfuzz revisions`.
    pub const fn description(self) -> &'static str {
        match self {
            Revision::Unfiltered => "before #609: no proxy_irr_blocked filter at all",
            Revision::ProxyBit => {
                "#609/#775: filter admits proxy-bit SINTs only (seed defect #1162)"
            }
            Revision::RelayAware => {
                "#1207: admits every unmasked SINT with the relay on; any VTL's SINT write recomputes"
            }
            Revision::Head => "#1275 = openvmm 1488a37b7: relay-aware, recompute gated on VTL0",
            Revision::Proposed => {
                "sintfuzz: every VTL0 SINT path in sync, VTL-gated, SINT2 only, no vectors < 16, per-device vectors, synchronous retarget"
            }
            #[cfg(feature = "inject")]
            Revision::InjectMaskedSint => "test-only: proposed, masked SINTs admitted",
            #[cfg(feature = "inject")]
            Revision::InjectSint2Wrmsr => "test-only: proposed, SINT2 WRMSR never recomputes",
            #[cfg(feature = "inject")]
            Revision::InjectDeviceFirstVp => {
                "test-only: proposed, device vectors skip the first target VP"
            }
            #[cfg(feature = "inject")]
            Revision::InjectPollOverwritesIrr => {
                "test-only: proposed, the proxy IRR poll overwrites the VTL0 IRR"
            }
        }
    }

    pub const fn policy(self) -> Policy {
        match self {
            Revision::Unfiltered => UNFILTERED,
            Revision::ProxyBit => PROXY_BIT,
            Revision::RelayAware => RELAY_AWARE,
            Revision::Head => HEAD,
            Revision::Proposed => PROPOSED,
            #[cfg(feature = "inject")]
            Revision::InjectMaskedSint => PROPOSED.injected(Defect::MaskedSintAdmitted),
            #[cfg(feature = "inject")]
            Revision::InjectSint2Wrmsr => PROPOSED.injected(Defect::Sint2WrmsrStale),
            #[cfg(feature = "inject")]
            Revision::InjectDeviceFirstVp => PROPOSED.injected(Defect::DeviceFirstTargetSkipped),
            #[cfg(feature = "inject")]
            Revision::InjectPollOverwritesIrr => PROPOSED.injected(Defect::PollOverwritesIrr),
        }
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown revision name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRevision(pub String);

impl fmt::Display for UnknownRevision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown revision '{}' (expected one of: ", self.0)?;
        for (i, r) in Revision::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(r.name())?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for UnknownRevision {}

impl FromStr for Revision {
    type Err = UnknownRevision;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        #[cfg(feature = "inject")]
        let mut all = Revision::ALL.into_iter().chain(Revision::INJECTED);
        #[cfg(not(feature = "inject"))]
        let mut all = Revision::ALL.into_iter();
        all.find(|r| r.name() == s)
            .ok_or_else(|| UnknownRevision(s.to_string()))
    }
}

/// Which VTL0 SINTs contribute their vector to a VP's allowed set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SintAdmission {
    /// `proxy && !masked` (#609).
    ProxyOnly,
    /// `(proxy || vmbus_relay) && !masked` (#1207): with the relay on, all 16 SINTs.
    ProxyOrRelay,
    /// `(proxy || (vmbus_relay && sint == VMBUS_SINT)) && !masked` (proposed).
    ProxyOrRelayVmbusSint,
}

/// When a SINTn WRMSR recomputes the filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WrmsrTrigger {
    /// Only when the old or the new value has the proxy bit (#609).
    OldOrNewProxy,
    /// Every SINT write (#1207).
    Always,
}

/// How device vectors enter the allowed set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceVectors {
    /// The partition-wide `device_vector_table`: set as `vector as u8` before the
    /// hypervisor call, never cleared (#609).
    StickyTable,
    /// Per device: the current, accepted route only, on the VPs it targets (proposed).
    PerDevice,
}

/// Every behaviour in which revisions differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Policy {
    /// Whether `proxy_irr_blocked` is maintained at all (#609). Without it the run page
    /// never blocks and no filter code (nor its VTL0 assert) exists.
    pub filter: bool,
    pub admission: SintAdmission,
    pub wrmsr_trigger: WrmsrTrigger,
    /// #1275: the WRMSR recompute runs only for `vtl == Vtl0`; before, it was called with
    /// the writing VTL and reached `assert_eq!(vtl, Vtl0)` for VTL1.
    pub wrmsr_vtl0_only: bool,
    /// Proposed: HvSetVpRegisters on a VTL0 SINT or SCONTROL, and SCONTROL WRMSR,
    /// recompute the filter too.
    pub sync_every_path: bool,
    /// Proposed: with VTL0's SCONTROL disabled no SINT vector is admitted.
    pub scontrol_gates_sints: bool,
    /// Proposed: vectors 0..=15 are never admitted.
    pub block_reserved: bool,
    /// Proposed: a retarget from a VTL other than VTL0 never touches the VTL0 filter.
    pub retarget_vtl0_only: bool,
    pub device_vectors: DeviceVectors,
    /// Proposed: a retarget recomputes every VP's filter before the hypercall returns,
    /// instead of waking the other VPs.
    pub retarget_sync: bool,
    /// Proposed: the VMBus server rejects a message SINT ≥ 16 that the guest names (an
    /// OpenReservedChannel/CloseReservedChannel `target_sint`, a multiclient
    /// InitiateContact's `TargetInfo::sint`) instead of posting to it; upstream posts it
    /// and `MessageQueues::enqueue_message` panics indexing its 16 queues.
    pub message_sint_check: bool,
    /// Test-only (feature `inject`): a defect injected into `proposed` (`crate::defect`).
    /// No [`Choice`] carries it, so no signature's fix removes it.
    #[cfg(feature = "inject")]
    pub defect: Option<Defect>,
}

/// One independent policy choice: a field of [`Policy`]. Root-cause signatures flip one
/// choice (or a pair) of `proposed` onto a revision to find which change removes a defect.
/// Names are part of the `known.toml` contract; variants are only appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Choice {
    Filter,
    Admission,
    WrmsrTrigger,
    WrmsrVtl0Only,
    SyncEveryPath,
    ScontrolGatesSints,
    BlockReserved,
    RetargetVtl0Only,
    DeviceVectors,
    RetargetSync,
    MessageSintCheck,
}

impl Choice {
    pub const ALL: [Choice; 11] = [
        Choice::Filter,
        Choice::Admission,
        Choice::WrmsrTrigger,
        Choice::WrmsrVtl0Only,
        Choice::SyncEveryPath,
        Choice::ScontrolGatesSints,
        Choice::BlockReserved,
        Choice::RetargetVtl0Only,
        Choice::DeviceVectors,
        Choice::RetargetSync,
        Choice::MessageSintCheck,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Choice::Filter => "filter",
            Choice::Admission => "admission",
            Choice::WrmsrTrigger => "wrmsr-trigger",
            Choice::WrmsrVtl0Only => "wrmsr-vtl0-only",
            Choice::SyncEveryPath => "sync-every-path",
            Choice::ScontrolGatesSints => "scontrol-gates-sints",
            Choice::BlockReserved => "block-reserved",
            Choice::RetargetVtl0Only => "retarget-vtl0-only",
            Choice::DeviceVectors => "device-vectors",
            Choice::RetargetSync => "retarget-sync",
            Choice::MessageSintCheck => "message-sint-check",
        }
    }
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Policy {
    /// `self` with choice `c` taken from `from`.
    pub fn with_choice(self, c: Choice, from: Policy) -> Policy {
        let mut p = self;
        match c {
            Choice::Filter => p.filter = from.filter,
            Choice::Admission => p.admission = from.admission,
            Choice::WrmsrTrigger => p.wrmsr_trigger = from.wrmsr_trigger,
            Choice::WrmsrVtl0Only => p.wrmsr_vtl0_only = from.wrmsr_vtl0_only,
            Choice::SyncEveryPath => p.sync_every_path = from.sync_every_path,
            Choice::ScontrolGatesSints => p.scontrol_gates_sints = from.scontrol_gates_sints,
            Choice::BlockReserved => p.block_reserved = from.block_reserved,
            Choice::RetargetVtl0Only => p.retarget_vtl0_only = from.retarget_vtl0_only,
            Choice::DeviceVectors => p.device_vectors = from.device_vectors,
            Choice::RetargetSync => p.retarget_sync = from.retarget_sync,
            Choice::MessageSintCheck => p.message_sint_check = from.message_sint_check,
        }
        p
    }

    /// `self` with the injected defect `d` (test-only, feature `inject`).
    #[cfg(feature = "inject")]
    pub const fn injected(self, d: Defect) -> Policy {
        Policy {
            defect: Some(d),
            ..self
        }
    }

    /// Whether `self` and `other` differ in choice `c`.
    pub fn differs(self, other: Policy, c: Choice) -> bool {
        self.with_choice(c, other) != self
    }
}

const PROXY_BIT: Policy = Policy {
    filter: true,
    admission: SintAdmission::ProxyOnly,
    wrmsr_trigger: WrmsrTrigger::OldOrNewProxy,
    wrmsr_vtl0_only: false,
    sync_every_path: false,
    scontrol_gates_sints: false,
    block_reserved: false,
    retarget_vtl0_only: false,
    device_vectors: DeviceVectors::StickyTable,
    retarget_sync: false,
    message_sint_check: false,
    #[cfg(feature = "inject")]
    defect: None,
};

const UNFILTERED: Policy = Policy {
    filter: false,
    ..PROXY_BIT
};

const RELAY_AWARE: Policy = Policy {
    admission: SintAdmission::ProxyOrRelay,
    wrmsr_trigger: WrmsrTrigger::Always,
    ..PROXY_BIT
};

const HEAD: Policy = Policy {
    wrmsr_vtl0_only: true,
    ..RELAY_AWARE
};

const PROPOSED: Policy = Policy {
    admission: SintAdmission::ProxyOrRelayVmbusSint,
    sync_every_path: true,
    scontrol_gates_sints: true,
    block_reserved: true,
    retarget_vtl0_only: true,
    device_vectors: DeviceVectors::PerDevice,
    retarget_sync: true,
    message_sint_check: true,
    ..HEAD
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_is_an_error() {
        for r in Revision::ALL {
            assert_eq!(r.name().parse::<Revision>().unwrap(), r);
        }
        let err = "tip".parse::<Revision>().unwrap_err();
        assert!(err.to_string().contains("unknown revision 'tip'"));
    }

    #[test]
    fn each_revision_is_a_small_step_from_its_predecessor() {
        let changed =
            |a: Policy, b: Policy| Choice::ALL.iter().filter(|&&c| a.differs(b, c)).count();
        assert_eq!(changed(UNFILTERED, PROXY_BIT), 1);
        assert_eq!(changed(PROXY_BIT, RELAY_AWARE), 2);
        assert_eq!(changed(RELAY_AWARE, HEAD), 1);
        assert_eq!(changed(HEAD, PROPOSED), 8);
    }

    #[test]
    fn choices_cover_every_policy_field() {
        // Taking every choice of `proposed` turns any revision into `proposed`: a field
        // that no choice carries would be left behind.
        for r in Revision::ALL {
            let all = Choice::ALL
                .iter()
                .fold(r.policy(), |p, &c| p.with_choice(c, PROPOSED));
            assert_eq!(all, PROPOSED, "{r}");
        }
        for c in Choice::ALL {
            assert!(
                Revision::ALL
                    .iter()
                    .any(|r| r.policy().differs(PROPOSED, c)),
                "{c} never differs from proposed"
            );
        }
    }
}
