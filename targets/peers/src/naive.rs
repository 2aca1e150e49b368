//! The naive peer: every action of the model with the raw field types of its interface
//! (`msr: u32`, `value: u64`, `vector: u32`, VP and slot indexes as plain integers), the
//! way openvmm's fuzz crates derive their action enums. Out-of-range indexes are passed
//! through, and the model refuses them as the real interfaces would.

use arbitrary::Arbitrary;
use sintfuzz_model::op::{
    CloseChannel, GuestAck, HostAssert, HostDeviceInterrupt, HostOffer, HostPostMessage,
    HostSignalChannel, HostSignalSint, ModifyChannel, ModifyConnection, OpenChannel, RdMsr,
    Retarget, RunVp, SetApic, SetVpRegister, UntrustedWrMsr, WrMsr,
};
use sintfuzz_model::{Config, Isolation, Op, ProxyAssert, RetargetFlaws, VmbusEra, Vtl};

/// The calling VTL of a guest action.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum GuestVtl {
    Vtl0,
    Vtl1,
}

impl From<GuestVtl> for Vtl {
    fn from(v: GuestVtl) -> Vtl {
        match v {
            GuestVtl::Vtl0 => Vtl::Vtl0,
            GuestVtl::Vtl1 => Vtl::Vtl1,
        }
    }
}

#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Action {
    WrMsr {
        vp: u8,
        vtl: GuestVtl,
        msr: u32,
        value: u64,
    },
    RdMsr {
        vp: u8,
        vtl: GuestVtl,
        msr: u32,
    },
    SetVpRegister {
        vp: u8,
        caller: GuestVtl,
        target_vtl: u8,
        partition_self: bool,
        vp_index: u32,
        name: u32,
        value: u64,
    },
    UntrustedWrMsr {
        vp: u8,
        msr: u32,
        value: u64,
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
        slot: u8,
        target_vp: u32,
        event_flag: u16,
    },
    CloseChannel {
        slot: u8,
    },
    ModifyChannel {
        slot: u8,
        target_vp: u32,
    },
    ModifyConnection {
        use_interrupt_page: bool,
    },
    HostOffer {
        slot: u8,
    },
    HostSignalChannel {
        slot: u8,
    },
    HostSignalSint {
        vp: u8,
        sint: u8,
    },
    HostDeviceInterrupt {
        device: u8,
        pick: u8,
    },
    HostAssert {
        vp: u8,
        vector: u32,
    },
    HostAssertMulti {
        vp: u8,
        irr: [u32; 8],
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
            vp_count: self.vp_count,
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
        self.actions.iter().map(|&a| a.op())
    }
}

impl Action {
    /// The model operation this action stands for. Long: a table, one arm per action.
    pub fn op(self) -> Op {
        match self {
            Action::WrMsr {
                vp,
                vtl,
                msr,
                value,
            } => WrMsr {
                vp,
                vtl: vtl.into(),
                msr,
                value,
            }
            .into(),
            Action::RdMsr { vp, vtl, msr } => RdMsr {
                vp,
                vtl: vtl.into(),
                msr,
            }
            .into(),
            Action::SetVpRegister {
                vp,
                caller,
                target_vtl,
                partition_self,
                vp_index,
                name,
                value,
            } => SetVpRegister {
                vp,
                caller_vtl: caller.into(),
                target_vtl: match target_vtl {
                    0 => Vtl::Vtl0,
                    1 => Vtl::Vtl1,
                    _ => Vtl::Vtl2,
                },
                partition_self,
                vp_index,
                name,
                value,
            }
            .into(),
            Action::UntrustedWrMsr { vp, msr, value } => UntrustedWrMsr { vp, msr, value }.into(),
            Action::Retarget {
                vp,
                vtl,
                device,
                vector,
                targets,
                reserved_flags,
                bad_processor_set,
                not_msi,
                multicast,
            } => Retarget {
                vp,
                vtl: vtl.into(),
                device,
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
                vp,
                vtl,
                hw_enabled,
                sw_enabled,
            } => SetApic {
                vp,
                vtl: vtl.into(),
                hw_enabled,
                sw_enabled,
            }
            .into(),
            Action::GuestAck { vp, vtl } => GuestAck {
                vp,
                vtl: vtl.into(),
            }
            .into(),
            Action::OpenChannel {
                slot,
                target_vp,
                event_flag,
            } => OpenChannel {
                slot,
                target_vp,
                event_flag,
            }
            .into(),
            Action::CloseChannel { slot } => CloseChannel { slot }.into(),
            Action::ModifyChannel { slot, target_vp } => ModifyChannel { slot, target_vp }.into(),
            Action::ModifyConnection { use_interrupt_page } => {
                ModifyConnection { use_interrupt_page }.into()
            }
            Action::HostOffer { slot } => HostOffer { slot }.into(),
            Action::HostSignalChannel { slot } => HostSignalChannel { slot }.into(),
            Action::HostSignalSint { vp, sint } => HostSignalSint { vp, sint }.into(),
            Action::HostDeviceInterrupt { device, pick } => {
                HostDeviceInterrupt { device, pick }.into()
            }
            Action::HostAssert { vp, vector } => HostAssert {
                vp,
                assert: ProxyAssert::Single(vector),
            }
            .into(),
            Action::HostAssertMulti { vp, irr } => HostAssert {
                vp,
                assert: ProxyAssert::Multi(sintfuzz_model::VectorSet(irr)),
            }
            .into(),
            Action::HostPostMessage { vp } => HostPostMessage { vp, sint: 2 }.into(),
            Action::RunVp { vp } => RunVp { vp }.into(),
        }
    }
}
