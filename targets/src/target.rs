//! The fuzz targets: which operation kinds each one draws from. Names are part of the
//! CLI contract.

use core::fmt;
use core::str::FromStr;

use crate::codec::{Kind, KindTable, TargetKinds};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// Raw synic MSR and register-name accesses by VTL0 and VTL1, untrusted-synic writes,
    /// a malicious host: register semantics, VTL2 crashes and leaks.
    SynicMsr,
    /// SINT masks, vectors, proxy flags and device retargets on several VPs against a
    /// malicious host asserting arbitrary proxy-IRR bits.
    ProxyFilter,
    /// The whole story with an honest host: offers, open/close/modify, SINT setup through
    /// every path, signals, device interrupts, VP runs in any order, APIC enable/disable.
    RelayLifecycle,
    /// Every operation kind (the union of the others, and every kind appended later):
    /// malicious asserts while relayed channels are open, raw MSRs between channel
    /// operations.
    AllOps,
}

/// Kind tables under the fixed tag rule (`codec` module docs): append new kinds at the
/// end of a list; `aliased` never changes (it is each v1 table's length).
const SYNIC_MSR: KindTable = KindTable {
    aliased: 13,
    kinds: &[
        Kind::RunVp,
        Kind::WrMsrRaw,
        Kind::RdMsr,
        Kind::SetVpRegRaw,
        Kind::UntrustedWrMsrRaw,
        Kind::WrSint,
        Kind::SetVpRegSint,
        Kind::WrScontrol,
        Kind::HostAssertSingle,
        Kind::HostAssertWindow,
        Kind::HostSignalSint,
        Kind::SetApic,
        Kind::GuestAck,
        Kind::HostPostMessage,
        Kind::HostPostMessageSint,
        Kind::GuestMessageTarget,
    ],
};

const PROXY_FILTER: KindTable = KindTable {
    aliased: 14,
    kinds: &[
        Kind::RunVp,
        Kind::WrSint,
        Kind::SetVpRegSint,
        Kind::UntrustedSint,
        Kind::WrScontrol,
        Kind::Retarget,
        Kind::SetApic,
        Kind::GuestAck,
        Kind::HostSignalSint,
        Kind::HostDeviceInterrupt,
        Kind::HostAssertSingle,
        Kind::HostAssertWindow,
        Kind::HostAssertFull,
        Kind::WrVmbusSint,
    ],
};

const RELAY_LIFECYCLE: KindTable = KindTable {
    aliased: 17,
    kinds: &[
        Kind::RunVp,
        Kind::WrSint,
        Kind::SetVpRegSint,
        Kind::UntrustedSint,
        Kind::WrScontrol,
        Kind::Retarget,
        Kind::SetApic,
        Kind::GuestAck,
        Kind::HostOffer,
        Kind::OpenChannel,
        Kind::CloseChannel,
        Kind::ModifyChannel,
        Kind::ModifyConnection,
        Kind::HostSignalChannel,
        Kind::HostSignalSint,
        Kind::HostDeviceInterrupt,
        Kind::WrVmbusSint,
        Kind::HostPostMessage,
        Kind::HostPostMessageSint,
        Kind::GuestMessageTarget,
    ],
};

/// Every kind, created with format v2: the first 17 in `relay_lifecycle`'s order, then
/// the malicious-host and raw register kinds. Kinds added later are appended here too.
const ALL_OPS: KindTable = KindTable {
    aliased: 24,
    kinds: &[
        Kind::RunVp,
        Kind::WrSint,
        Kind::SetVpRegSint,
        Kind::UntrustedSint,
        Kind::WrScontrol,
        Kind::Retarget,
        Kind::SetApic,
        Kind::GuestAck,
        Kind::HostOffer,
        Kind::OpenChannel,
        Kind::CloseChannel,
        Kind::ModifyChannel,
        Kind::ModifyConnection,
        Kind::HostSignalChannel,
        Kind::HostSignalSint,
        Kind::HostDeviceInterrupt,
        Kind::WrVmbusSint,
        Kind::HostAssertSingle,
        Kind::HostAssertWindow,
        Kind::HostAssertFull,
        Kind::WrMsrRaw,
        Kind::RdMsr,
        Kind::SetVpRegRaw,
        Kind::UntrustedWrMsrRaw,
        Kind::HostPostMessage,
        Kind::HostPostMessageSint,
        Kind::GuestMessageTarget,
    ],
};

impl Target {
    pub const ALL: [Target; 4] = [
        Target::SynicMsr,
        Target::ProxyFilter,
        Target::RelayLifecycle,
        Target::AllOps,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Target::SynicMsr => "synic_msr",
            Target::ProxyFilter => "proxy_filter",
            Target::RelayLifecycle => "relay_lifecycle",
            Target::AllOps => "all_ops",
        }
    }

    pub const fn description(self) -> &'static str {
        match self {
            Target::SynicMsr => "raw synic MSR / HvSetVpRegisters / untrusted-synic accesses from VTL0 and VTL1, malicious host",
            Target::ProxyFilter => "SINT masks, vectors, proxy bits and device retargets on several VPs vs. a malicious host",
            Target::RelayLifecycle => "offers, open/close/modify, SINT setup by every path, honest signals, device interrupts, VP runs",
            Target::AllOps => "every operation kind: the three above mixed, e.g. malicious asserts while relayed channels are open",
        }
    }

    /// The operation kinds this target draws from and how tags pick them.
    pub const fn table(self) -> KindTable {
        match self {
            Target::SynicMsr => SYNIC_MSR,
            Target::ProxyFilter => PROXY_FILTER,
            Target::RelayLifecycle => RELAY_LIFECYCLE,
            Target::AllOps => ALL_OPS,
        }
    }

    /// The kind each plain tag picks ([`KindTable::kinds_by_tag`]), computed at compile time.
    pub fn kinds_by_tag(self) -> &'static [Kind; 256] {
        const SYNIC: [Kind; 256] = SYNIC_MSR.kinds_by_tag();
        const PROXY: [Kind; 256] = PROXY_FILTER.kinds_by_tag();
        const RELAY: [Kind; 256] = RELAY_LIFECYCLE.kinds_by_tag();
        const ALL: [Kind; 256] = ALL_OPS.kinds_by_tag();
        match self {
            Target::SynicMsr => &SYNIC,
            Target::ProxyFilter => &PROXY,
            Target::RelayLifecycle => &RELAY,
            Target::AllOps => &ALL,
        }
    }

    /// The operation kinds this target draws from, in tag order.
    pub const fn kinds(self) -> &'static [Kind] {
        self.table().kinds
    }
}

/// The codec reads and writes a target's inputs through its table.
impl TargetKinds for Target {
    #[inline]
    fn table(self) -> KindTable {
        Target::table(self)
    }

    #[inline]
    fn kinds_by_tag(self) -> &'static [Kind; 256] {
        Target::kinds_by_tag(self)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Target::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown target '{s}' (expected synic_msr, proxy_filter, relay_lifecycle or all_ops)"
                )
            })
    }
}
