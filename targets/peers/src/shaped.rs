//! The shaped peer: what a careful user writes after reading the TLFS. The synic MSRs
//! and registers are an enum, a SINT value is a struct of its bits plus a `u8` vector,
//! VP indexes are taken modulo the VP count, the two channel slots are a boolean, and
//! host asserts carry a `u8` vector.

use arbitrary::Arbitrary;
use sintfuzz_model::hvdef::{msr, reg, Scontrol, Sint, VP_INDEX_DISABLE_INTERRUPT, VP_INDEX_SELF};
use sintfuzz_model::op::{
    CloseChannel, GuestAck, HostAssert, HostDeviceInterrupt, HostOffer, HostPostMessage,
    HostSignalChannel, HostSignalSint, ModifyChannel, ModifyConnection, OpenChannel, RdMsr,
    Retarget, RunVp, SetApic, SetVpRegister, UntrustedWrMsr, WrMsr,
};
use sintfuzz_model::{
    Config, Isolation, Op, ProxyAssert, RetargetFlaws, VmbusEra, Vtl, MAX_DEVICES, MAX_VPS,
};

pub use crate::naive::GuestVtl;

/// The 16 SINTs.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct SintIndex(u8);

impl SintIndex {
    fn get(self) -> u32 {
        self.0 as u32 % 16
    }
}

/// The synic registers, by name (an MSR or an HvSetVpRegisters name).
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum SynicReg {
    Scontrol,
    Sversion,
    Siefp,
    Simp,
    Eom,
    Sint(SintIndex),
}

impl SynicReg {
    fn msr(self) -> u32 {
        match self {
            SynicReg::Scontrol => msr::SCONTROL,
            SynicReg::Sversion => msr::SVERSION,
            SynicReg::Siefp => msr::SIEFP,
            SynicReg::Simp => msr::SIMP,
            SynicReg::Eom => msr::EOM,
            SynicReg::Sint(i) => msr::SINT0 + i.get(),
        }
    }
    fn name(self) -> u32 {
        match self {
            SynicReg::Scontrol => reg::SCONTROL,
            SynicReg::Sversion => reg::SVERSION,
            SynicReg::Siefp => reg::SIEFP,
            SynicReg::Simp => reg::SIMP,
            SynicReg::Eom => reg::EOM,
            SynicReg::Sint(i) => reg::SINT0 + i.get(),
        }
    }
}

/// A SINT register value by its fields.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct SintBits {
    pub vector: u8,
    pub masked: bool,
    pub auto_eoi: bool,
    pub polling: bool,
    pub proxy: bool,
}

/// The value written: SINT bits for a SINT, the enable bit for SCONTROL, else raw.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct Value {
    pub sint: SintBits,
    pub enable: bool,
    pub raw: u64,
}

impl Value {
    fn for_reg(self, r: SynicReg) -> u64 {
        match r {
            SynicReg::Sint(_) => Sint::new()
                .with_vector(self.sint.vector)
                .with_masked(self.sint.masked)
                .with_auto_eoi(self.sint.auto_eoi)
                .with_polling(self.sint.polling)
                .with_proxy(self.sint.proxy)
                .into_bits(),
            SynicReg::Scontrol => Scontrol::new().with_enabled(self.enable).into_bits(),
            _ => self.raw,
        }
    }
}

/// The target VTL of HvSetVpRegisters.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum TargetVtl {
    Vtl0,
    Vtl1,
    Vtl2,
}

/// A channel's target VP: one of the VPs, or no interrupt.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum ChannelTarget {
    Vp(u8),
    NoInterrupt,
}

#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Action {
    WrMsr {
        vp: u8,
        vtl: GuestVtl,
        reg: SynicReg,
        value: Value,
    },
    RdMsr {
        vp: u8,
        vtl: GuestVtl,
        reg: SynicReg,
    },
    /// HvSetVpRegisters on the caller's own VP.
    SetVpRegister {
        vp: u8,
        caller: GuestVtl,
        target: TargetVtl,
        reg: SynicReg,
        value: Value,
    },
    /// A VTL0 write to the host's synic.
    UntrustedWrMsr {
        vp: u8,
        reg: SynicReg,
        value: Value,
    },
    Retarget {
        vp: u8,
        vtl: GuestVtl,
        device: u8,
        vector: u32,
        targets: u8,
        reserved_flags: bool,
        bad_processor_set: bool,
        not_msi: bool,
        multicast: bool,
    },
    SetApic {
        vp: u8,
        vtl: GuestVtl,
        hw_enabled: bool,
        sw_enabled: bool,
    },
    GuestAck {
        vp: u8,
        vtl: GuestVtl,
    },
    OpenChannel {
        slot: bool,
        target: ChannelTarget,
        event_flag: u16,
    },
    CloseChannel {
        slot: bool,
    },
    ModifyChannel {
        slot: bool,
        target: ChannelTarget,
    },
    ModifyConnection {
        use_interrupt_page: bool,
    },
    HostOffer {
        slot: bool,
    },
    HostSignalChannel {
        slot: bool,
    },
    HostSignalSint {
        vp: u8,
        sint: SintIndex,
    },
    HostDeviceInterrupt {
        device: u8,
        pick: u8,
    },
    HostAssert {
        vp: u8,
        vector: u8,
    },
    HostPostMessage {
        vp: u8,
    },
    RunVp {
        vp: u8,
    },
}

#[derive(Arbitrary, Clone, Debug)]
pub struct Input {
    pub vp_count: u8,
    pub tdx: bool,
    pub tdx_offload: bool,
    pub vmbus_relay: bool,
    pub vtl1_enabled: bool,
    pub pre_win8: bool,
    pub proxy_redirect: bool,
    pub guest_mirrors_sints: bool,
    pub actions: Vec<Action>,
}

impl Input {
    pub fn config(&self) -> Config {
        Config {
            vp_count: self.vp_count % MAX_VPS as u8 + 1,
            isolation: if self.tdx {
                Isolation::Tdx
            } else {
                Isolation::Snp
            },
            vmbus_relay: self.vmbus_relay,
            tdx_offload: self.tdx_offload,
            vtl1_enabled: self.vtl1_enabled,
            era: if self.pre_win8 {
                VmbusEra::PreWin8
            } else {
                VmbusEra::Modern
            },
            proxy_redirect: self.proxy_redirect,
            guest_mirrors_sints: self.guest_mirrors_sints,
        }
    }

    pub fn ops(&self) -> impl Iterator<Item = Op> + '_ {
        let vps = self.config().vp_count;
        self.actions.iter().map(move |&a| a.op(vps))
    }
}

impl Action {
    /// The model operation this action stands for. Long: a table, one arm per action.
    pub fn op(self, vps: u8) -> Op {
        let vp = |v: u8| v % vps;
        let slot = |s: bool| s as u8;
        let target = |t: ChannelTarget| match t {
            ChannelTarget::Vp(v) => vp(v) as u32,
            ChannelTarget::NoInterrupt => VP_INDEX_DISABLE_INTERRUPT,
        };
        match self {
            Action::WrMsr {
                vp: v,
                vtl,
                reg,
                value,
            } => WrMsr {
                vp: vp(v),
                vtl: vtl.into(),
                msr: reg.msr(),
                value: value.for_reg(reg),
            }
            .into(),
            Action::RdMsr { vp: v, vtl, reg } => RdMsr {
                vp: vp(v),
                vtl: vtl.into(),
                msr: reg.msr(),
            }
            .into(),
            Action::SetVpRegister {
                vp: v,
                caller,
                target,
                reg,
                value,
            } => SetVpRegister {
                vp: vp(v),
                caller_vtl: caller.into(),
                target_vtl: match target {
                    TargetVtl::Vtl0 => Vtl::Vtl0,
                    TargetVtl::Vtl1 => Vtl::Vtl1,
                    TargetVtl::Vtl2 => Vtl::Vtl2,
                },
                partition_self: true,
                vp_index: VP_INDEX_SELF,
                name: reg.name(),
                value: value.for_reg(reg),
            }
            .into(),
            Action::UntrustedWrMsr { vp: v, reg, value } => UntrustedWrMsr {
                vp: vp(v),
                msr: reg.msr(),
                value: value.for_reg(reg),
            }
            .into(),
            Action::Retarget {
                vp: v,
                vtl,
                device,
                vector,
                targets,
                reserved_flags,
                bad_processor_set,
                not_msi,
                multicast,
            } => Retarget {
                vp: vp(v),
                vtl: vtl.into(),
                device: device % MAX_DEVICES as u8,
                vector,
                targets,
                flaws: RetargetFlaws {
                    reserved_flags,
                    bad_processor_set,
                    not_msi,
                    multicast,
                },
            }
            .into(),
            Action::SetApic {
                vp: v,
                vtl,
                hw_enabled,
                sw_enabled,
            } => SetApic {
                vp: vp(v),
                vtl: vtl.into(),
                hw_enabled,
                sw_enabled,
            }
            .into(),
            Action::GuestAck { vp: v, vtl } => GuestAck {
                vp: vp(v),
                vtl: vtl.into(),
            }
            .into(),
            Action::OpenChannel {
                slot: s,
                target: t,
                event_flag,
            } => OpenChannel {
                slot: slot(s),
                target_vp: target(t),
                event_flag,
            }
            .into(),
            Action::CloseChannel { slot: s } => CloseChannel { slot: slot(s) }.into(),
            Action::ModifyChannel { slot: s, target: t } => ModifyChannel {
                slot: slot(s),
                target_vp: target(t),
            }
            .into(),
            Action::ModifyConnection { use_interrupt_page } => {
                ModifyConnection { use_interrupt_page }.into()
            }
            Action::HostOffer { slot: s } => HostOffer { slot: slot(s) }.into(),
            Action::HostSignalChannel { slot: s } => HostSignalChannel { slot: slot(s) }.into(),
            Action::HostSignalSint { vp: v, sint } => HostSignalSint {
                vp: vp(v),
                sint: sint.get() as u8,
            }
            .into(),
            Action::HostDeviceInterrupt { device, pick } => HostDeviceInterrupt {
                device: device % MAX_DEVICES as u8,
                pick,
            }
            .into(),
            Action::HostAssert { vp: v, vector } => HostAssert {
                vp: vp(v),
                assert: ProxyAssert::Single(vector as u32),
            }
            .into(),
            Action::HostPostMessage { vp: v } => HostPostMessage { vp: vp(v), sint: 2 }.into(),
            Action::RunVp { vp: v } => RunVp { vp: vp(v) }.into(),
        }
    }
}
