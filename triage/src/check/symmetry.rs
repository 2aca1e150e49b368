//! VP symmetry: with two VPs, swapping VP 0 and VP 1 everywhere maps the model onto itself
//! when the config treats both alike, so a state that every operation so far left
//! symmetric (the fresh partition, then operations that name no VP or both) has two
//! mirror-image subtrees under an operation and its image. The search expands only the
//! first of the two (`search::Root::mirror`); the other's states, violations and witness
//! lengths are the mirror images of the ones it finds.
//!
//! Where the model is not symmetric, no mirror is used:
//! - #384 proxy redirection sends a device interrupt to the *first* (lowest-numbered)
//!   target VP only (`Partition::retarget`, after upstream `try_proxy_interrupt_redirection`
//!   in `openhcl/virt_mshv_vtl/src/processor/hardware_cvm/mod.rs`): configs with
//!   `redirect=on` are not symmetric;
//! - with three VPs `HostDeviceInterrupt::pick` (the pick-th target in VP order,
//!   `Partition::host_device_interrupt`) has no state-independent image: only two VPs.
//!
//! The image of an operation is written out field by field (every variant and field is
//! destructured, so a new one fails to compile here until someone decides its image).
//! `tests/check_reductions.rs` compares the reduced search with the full one.

use sintfuzz_model::hvdef::{VP_INDEX_DISABLE_INTERRUPT, VP_INDEX_SELF};
use sintfuzz_model::op::{
    CloseChannel, GuestAck, HostAssert, HostDeviceInterrupt, HostOffer, HostPostMessage,
    HostSignalChannel, HostSignalSint, ModifyChannel, ModifyConnection, OpenChannel, RdMsr,
    Retarget, RunVp, SetApic, SetVpRegister, UntrustedWrMsr, WrMsr,
};
use sintfuzz_model::{Config, Op};

/// VP 0 <-> VP 1.
fn vp(v: u8) -> u8 {
    match v {
        0 => 1,
        1 => 0,
        other => other,
    }
}

/// A VP index carried as u32 (`VP_INDEX_SELF`, `VP_INDEX_DISABLE_INTERRUPT` and others
/// are not VPs and stay).
fn vp_index(v: u32) -> u32 {
    match v {
        0 => 1,
        1 => 0,
        other => other,
    }
}

/// A processor set (bit n = VP n).
fn vp_set(t: u8) -> u8 {
    (t & !3) | ((t & 1) << 1) | ((t >> 1) & 1)
}

/// The image of `op` under VP 0 <-> VP 1. Long (over 80 lines): a table with one arm per
/// operation variant, every field named.
pub fn swap_vps(op: &Op) -> Op {
    const _: () = assert!(VP_INDEX_SELF > 1 && VP_INDEX_DISABLE_INTERRUPT > 1);
    match *op {
        Op::WrMsr(WrMsr {
            vp: v,
            vtl,
            msr,
            value,
        }) => WrMsr {
            vp: vp(v),
            vtl,
            msr,
            value,
        }
        .into(),
        Op::RdMsr(RdMsr { vp: v, vtl, msr }) => RdMsr {
            vp: vp(v),
            vtl,
            msr,
        }
        .into(),
        Op::SetVpRegister(SetVpRegister {
            vp: v,
            caller_vtl,
            target_vtl,
            partition_self,
            vp_index: i,
            name,
            value,
        }) => SetVpRegister {
            vp: vp(v),
            caller_vtl,
            target_vtl,
            partition_self,
            vp_index: vp_index(i),
            name,
            value,
        }
        .into(),
        Op::UntrustedWrMsr(UntrustedWrMsr { vp: v, msr, value }) => UntrustedWrMsr {
            vp: vp(v),
            msr,
            value,
        }
        .into(),
        Op::Retarget(Retarget {
            vp: v,
            vtl,
            device,
            vector,
            targets,
            flaws,
        }) => Retarget {
            vp: vp(v),
            vtl,
            device,
            vector,
            targets: vp_set(targets),
            flaws,
        }
        .into(),
        Op::SetApic(SetApic {
            vp: v,
            vtl,
            hw_enabled,
            sw_enabled,
        }) => SetApic {
            vp: vp(v),
            vtl,
            hw_enabled,
            sw_enabled,
        }
        .into(),
        Op::GuestAck(GuestAck { vp: v, vtl }) => GuestAck { vp: vp(v), vtl }.into(),
        Op::OpenChannel(OpenChannel {
            slot,
            target_vp,
            event_flag,
        }) => OpenChannel {
            slot,
            target_vp: vp_index(target_vp),
            event_flag,
        }
        .into(),
        Op::CloseChannel(CloseChannel { slot }) => CloseChannel { slot }.into(),
        Op::ModifyChannel(ModifyChannel { slot, target_vp }) => ModifyChannel {
            slot,
            target_vp: vp_index(target_vp),
        }
        .into(),
        Op::ModifyConnection(ModifyConnection { use_interrupt_page }) => {
            ModifyConnection { use_interrupt_page }.into()
        }
        Op::HostOffer(HostOffer { slot }) => HostOffer { slot }.into(),
        Op::HostSignalChannel(HostSignalChannel { slot }) => HostSignalChannel { slot }.into(),
        Op::HostSignalSint(HostSignalSint { vp: v, sint }) => {
            HostSignalSint { vp: vp(v), sint }.into()
        }
        // The pick-th of the route's targets in VP order (`pick % count`): with two
        // targets the other pick reaches the other VP, with one the pick is irrelevant.
        Op::HostDeviceInterrupt(HostDeviceInterrupt { device, pick }) => HostDeviceInterrupt {
            device,
            pick: pick ^ 1,
        }
        .into(),
        Op::HostAssert(HostAssert { vp: v, assert }) => HostAssert { vp: vp(v), assert }.into(),
        Op::HostPostMessage(HostPostMessage { vp: v, sint }) => {
            HostPostMessage { vp: vp(v), sint }.into()
        }
        Op::RunVp(RunVp { vp: v }) => RunVp { vp: vp(v) }.into(),
    }
}

/// Whether the config treats VP 0 and VP 1 alike (see the module comment).
pub fn symmetric(config: &Config) -> bool {
    config.vps() == 2 && !config.proxy_redirect
}

/// The index in `ops` of each operation's image, when `config` is symmetric and `ops` is
/// closed under the swap; `None` otherwise.
pub fn mirror(config: &Config, ops: &[Op]) -> Option<Vec<u16>> {
    if !symmetric(config) {
        return None;
    }
    ops.iter()
        .map(|o| {
            let image = swap_vps(o);
            ops.iter().position(|p| *p == image).map(|i| i as u16)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::domain::{configs, ops, ConfigFilter, Size};
    use sintfuzz_targets::Target;

    #[test]
    fn the_swap_is_an_involution_and_the_domain_is_closed_under_it() {
        let mut mirrored = 0;
        for c in configs(2, &ConfigFilter::default()) {
            for t in Target::ALL {
                for size in [Size::Small, Size::Medium] {
                    let ops = ops(t, &c, size);
                    for o in &ops {
                        assert_eq!(swap_vps(&swap_vps(o)), *o);
                    }
                    let m = mirror(&c, &ops);
                    assert_eq!(m.is_some(), symmetric(&c), "{c:?} {t}");
                    if let Some(m) = m {
                        mirrored += 1;
                        // Some operations move: the reduction has something to skip.
                        assert!(m.iter().enumerate().any(|(i, &j)| i != j as usize));
                    }
                }
            }
        }
        assert!(mirrored > 0);
        assert_eq!(vp_set(0b01), 0b10);
        assert_eq!(vp_set(0b11), 0b11);
        assert_eq!(vp_set(0b101), 0b110);
    }
}
