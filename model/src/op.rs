//! The operations the model accepts: every guest, host and scheduling action of the
//! SINT → proxy-IRR → VTL0 path. This enum is the single definition of an operation; the
//! fuzz codec chooses among its variants, and the oracle reads the same values.

use crate::hvdef::Vtl;
use crate::vectors::VectorSet;

/// Input validity of an HvCallRetargetDeviceInterrupt (`vm/hv1/hv1_hypercall/src/imp.rs`),
/// and its one valid target flag. Any of the flaws set makes the call fail with
/// `InvalidParameter` before any table change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct RetargetFlaws {
    /// Reserved target flags non-zero.
    pub reserved_flags: bool,
    /// The processor set does not parse.
    pub bad_processor_set: bool,
    /// `entry.source` is not MSI.
    pub not_msi: bool,
    /// Not a flaw: the target's `multicast` flag (`HvInterruptParameters::multicast`),
    /// which makes #384 redirection fall back to the normal path.
    pub multicast: bool,
}

impl RetargetFlaws {
    /// Whether the input is invalid (`multicast` is not a flaw).
    pub fn any(self) -> bool {
        self.reserved_flags || self.bad_processor_set || self.not_msi
    }
}

/// What a (malicious or honest) host asserts in one proxy-interrupt message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProxyAssert {
    /// Multi-vector form: a 256-bit `asserted_irr`.
    Multi(VectorSet),
    /// Single-vector form: the kernel masks it with `& 0xff`.
    Single(u32),
}

/// Declares the payload structs, the [`Op`] enum whose variants carry them (variant and
/// struct share a name), `From<Payload> for Op`, and a `Debug` that prints the payload
/// alone, so `Op::RunVp(RunVp { vp: 0 })` reads `RunVp { vp: 0 }` as it always has.
macro_rules! ops {
    ($(
        $(#[$meta:meta])*
        $name:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty),* $(,)? }
    )*) => {
        $(
            $(#[$meta])*
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
            pub struct $name { $($(#[$fmeta])* pub $field: $ty),* }

            impl From<$name> for Op {
                fn from(p: $name) -> Op {
                    Op::$name(p)
                }
            }
        )*

        /// One step of a scenario.
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Op {
            $($(#[$meta])* $name($name),)*
        }

        impl Op {
            /// How many variants there are.
            pub const COUNT: usize = [$(stringify!($name)),*].len();

            /// The variant's number, in declaration order (`0..Op::COUNT`).
            #[inline]
            pub fn variant_index(&self) -> usize {
                #[allow(non_camel_case_types, clippy::enum_variant_names)]
                enum Index { $($name),* }
                match self {
                    $(Op::$name(_) => Index::$name as usize,)*
                }
            }
        }

        impl core::fmt::Debug for Op {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self {
                    $(Op::$name(p) => core::fmt::Debug::fmt(p, f),)*
                }
            }
        }
    };
}

ops! {
    // ----- guest -----
    /// WRMSR from `vtl` on `vp` (SNP #VC / TDX MSR_WRITE exit into VTL2).
    WrMsr { vp: u8, vtl: Vtl, msr: u32, value: u64 }
    /// RDMSR from `vtl` on `vp`.
    RdMsr { vp: u8, vtl: Vtl, msr: u32 }
    /// HvCallSetVpRegisters with one register, issued by `caller_vtl` on `vp`.
    SetVpRegister {
        vp: u8,
        caller_vtl: Vtl,
        target_vtl: Vtl,
        partition_self: bool,
        vp_index: u32,
        name: u32,
        value: u64,
    }
    /// A VTL0 MSR write that goes to the host's (untrusted) synic: TDX TDVMCALL or SNP
    /// GHCB. Never touches the trusted synic.
    UntrustedWrMsr { vp: u8, msr: u32, value: u64 }
    /// HvCallRetargetDeviceInterrupt for device `device` to the VP set `targets` (bit n =
    /// VP n), issued by `vtl` on `vp`.
    Retarget {
        vp: u8,
        vtl: Vtl,
        device: u8,
        vector: u32,
        targets: u8,
        flaws: RetargetFlaws,
    }
    /// Set the hardware (APIC base) and software (SVR) enable of a guest APIC.
    SetApic { vp: u8, vtl: Vtl, hw_enabled: bool, sw_enabled: bool }
    /// The guest services everything pending on `vp`/`vtl`: clears its APIC IRR and the
    /// SIEFP event flags.
    GuestAck { vp: u8, vtl: Vtl }
    /// OpenChannel for the offer in `slot`, with the guest's target VP (`u32::MAX` = no
    /// interrupt) and event flag.
    OpenChannel { slot: u8, target_vp: u32, event_flag: u16 }
    /// CloseChannel.
    CloseChannel { slot: u8 }
    /// ModifyChannel: a new target VP.
    ModifyChannel { slot: u8, target_vp: u32 }
    /// ModifyConnection / InitiateContact with or without an interrupt page.
    ModifyConnection { use_interrupt_page: bool }
    // ----- host -----
    /// The host offers a channel in `slot`.
    HostOffer { slot: u8 }
    /// Honest: the host signals the channel in `slot` (if open, with an interrupt target).
    HostSignalChannel { slot: u8 }
    /// Honest: the host signals VTL0 SINT `sint` on `vp` through the hypervisor.
    HostSignalSint { vp: u8, sint: u8 }
    /// Honest: device `device` fires at its current route; `pick` chooses among its
    /// target VPs.
    HostDeviceInterrupt { device: u8, pick: u8 }
    /// Malicious: a proxy-interrupt message on `vp` with arbitrary content.
    HostAssert { vp: u8, assert: ProxyAssert }
    /// Honest: the host sends a VMBus message to the guest, which OpenHCL's VTL0 VMBus
    /// server posts to VTL0 SINT `sint` of `vp` (`Synic::post_message` on
    /// `UhPartitionInner`, queued in `message_queues[Vtl0]`). The server only ever posts
    /// for VTL0. The connection's messages go to SINT2; a reserved channel's and an
    /// unsupported multiclient InitiateContact's reply go to the SINT the guest named
    /// (`vmbus_server` `send_message`, `MessageTarget::ReservedChannel` / `Custom`).
    HostPostMessage { vp: u8, sint: u8 }
    // ----- scheduling -----
    /// The VP runs: VTL2 handles its wake reasons, then polls the proxy IRR into VTL0.
    RunVp { vp: u8 }
}

impl Op {
    /// The one VP whose state alone this operation reads and writes, in the partition and
    /// in the oracle, if it touches no shared state (device table, routes, channels, the
    /// oracle's expectations): two operations local to different VPs commute, which
    /// `sintfuzz check`'s partial-order reduction relies on (its test applies every such
    /// pair in both orders on random states: the same state and the same verdicts). A
    /// guest's synic, APIC and acknowledgement; HvSetVpRegisters only on its own VP.
    pub fn vp_local(&self) -> Option<u8> {
        match *self {
            Op::WrMsr(WrMsr { vp, .. })
            | Op::RdMsr(RdMsr { vp, .. })
            | Op::UntrustedWrMsr(UntrustedWrMsr { vp, .. })
            | Op::SetApic(SetApic { vp, .. })
            | Op::GuestAck(GuestAck { vp, .. }) => Some(vp),
            Op::SetVpRegister(SetVpRegister { vp, vp_index, .. })
                if vp_index == crate::hvdef::VP_INDEX_SELF || vp_index == u32::from(vp) =>
            {
                Some(vp)
            }
            _ => None,
        }
    }

    /// Whether the host, not the guest, performs this operation.
    pub fn is_host(&self) -> bool {
        matches!(
            self,
            Op::HostOffer(_)
                | Op::HostSignalChannel(_)
                | Op::HostSignalSint(_)
                | Op::HostDeviceInterrupt(_)
                | Op::HostAssert(_)
                | Op::HostPostMessage(_)
        )
    }
}
