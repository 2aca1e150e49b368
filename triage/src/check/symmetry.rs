//! VP symmetry: with two VPs, swapping VP 0 and VP 1 everywhere maps the model and the
//! oracle onto themselves when the config treats both alike: from a state `s`, an
//! operation `o` then the swap reaches the state (and the verdict, its VP swapped) that
//! the swap then `o`'s image reaches (`Machine::swap_vps`; the test below). So of a state
//! every operation so far left symmetric (the fresh partition, then operations that name
//! no VP or both), the search expands only one of an operation and its image
//! (`search::Root::mirror`): the other's subtree is its mirror image. Keeping one state
//! of each pair {s, swapped s} everywhere (the fingerprint the smaller of the two) was
//! built and not kept: it lost SF-010's signature on `unfiltered` (bench/results.md,
//! 2026-12-06, session 5).
//!
//! Where the model is not symmetric, no mirror is used:
//! - #384 proxy redirection sends a device interrupt to the *first* (lowest-numbered)
//!   target VP only (`Partition::retarget`, after upstream `try_proxy_interrupt_redirection`
//!   in `openhcl/virt_mshv_vtl/src/processor/hardware_cvm/mod.rs`): configs with
//!   `redirect=on` are not symmetric;
//! - pre-Win8 guests: in interrupt-page mode the relay signals VP 0 whatever the guest
//!   asked (`Partition::host_signal_channel`, after `ServerTaskInner::open_channel` in
//!   `vm/devices/vmbus/vmbus_server/src/lib.rs`), and any state can enter that mode
//!   (ModifyConnection), so `era=pre-win8` configs are not symmetric (before
//!   2026-12-06 the mirror was used on them: see bench/results.md);
//! - with three VPs `HostDeviceInterrupt::pick` (the pick-th target in VP order,
//!   `Partition::host_device_interrupt`) has no state-independent image: only two VPs.
//!
//! The image of an operation is written out field by field (every variant and field is
//! destructured, so a new one fails to compile here until someone decides its image);
//! the state's image is `Partition::swap_vps` and the oracle's. The test below checks on
//! random states that the model and the oracle commute with the swap;
//! `tests/check_reductions.rs` compares the reduced search with the full one.

use sintfuzz_model::op::{
    CloseChannel, GuestAck, HostAssert, HostDeviceInterrupt, HostOffer, HostPostMessage,
    HostSignalChannel, HostSignalSint, ModifyChannel, ModifyConnection, OpenChannel, RdMsr,
    Retarget, RunVp, SetApic, SetVpRegister, UntrustedWrMsr, WrMsr,
};
use sintfuzz_model::partition::symmetry::{swap_vp_index as vp_index, swap_vp_set as vp_set};
use sintfuzz_model::{Config, Op, VmbusEra};

/// VP 0 <-> VP 1.
fn vp(v: u8) -> u8 {
    vp_index(u32::from(v)) as u8
}

/// The image of `op` under VP 0 <-> VP 1. Long (over 80 lines): a table with one arm per
/// operation variant, every field named.
pub fn swap_vps(op: &Op) -> Op {
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
    config.vps() == 2 && !config.proxy_redirect && config.era == VmbusEra::Modern
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
    use crate::check::testing::{canonical, chooser, walk_on};
    use sintfuzz_model::hvdef::{Sint, VMBUS_SINT, VP_INDEX_DISABLE_INTERRUPT};
    use sintfuzz_model::{Revision, Vtl};
    use sintfuzz_targets::scenarios::wr_sint;
    use sintfuzz_targets::{InvariantSet, Machine, NoHook, Settings, Target, Violation};

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
    }

    /// `m` after `op` (from step `k`): its verdict, and its state's canonical bytes after
    /// `rename` (unless the step ended the run).
    fn after(m: &Machine, k: usize, op: &Op, rename: bool) -> (Option<Violation>, Option<Vec<u8>>) {
        let mut m = m.clone();
        let v = m.step(k, op, &mut NoHook);
        if v.is_some() || m.halted() {
            return (v, None);
        }
        if rename {
            m.swap_vps();
        }
        (v, Some(canonical(&m)))
    }

    /// The model and the oracle commute with the swap: from a random state `s` and for a
    /// random operation `o`, `o` then the swap gives the state and verdict (its VP
    /// swapped) of the swap then `o`'s image: what the mirror relies on.
    #[test]
    fn the_model_and_the_oracle_commute_with_the_swap_on_random_states() {
        let mut rand = chooser(0x2545_f491_4f6c_dd1d);
        let (mut probes, mut moved) = (0, 0);
        for c in configs(2, &ConfigFilter::default())
            .iter()
            .filter(|c| symmetric(c))
        {
            for r in Revision::ALL {
                let settings = Settings {
                    revision: r,
                    invariants: InvariantSet::parse("strict").unwrap(),
                };
                let all = ops(Target::AllOps, c, Size::Medium);
                let mut m = Machine::new(*c, &settings);
                for k in 0..10 {
                    let mut swapped = m.clone();
                    swapped.swap_vps();
                    moved += usize::from(canonical(&swapped) != canonical(&m));
                    swapped.swap_vps();
                    assert_eq!(canonical(&swapped), canonical(&m), "not an involution");
                    swapped.swap_vps();
                    for _ in 0..12 {
                        let o = &all[rand(all.len())];
                        let (v, s) = after(&m, k, o, true);
                        let (w, t) = after(&swapped, k, &swap_vps(o), false);
                        let v = v.map(|v| Violation { vp: vp(v.vp), ..v });
                        assert_eq!(v, w, "{c:?} {r}: {o:?} after {k} ops: verdicts differ");
                        assert!(s == t, "{c:?} {r}: {o:?} after {k} ops: states differ");
                        probes += 1;
                    }
                    walk_on(&mut m, k, &all, &mut rand);
                }
            }
        }
        assert!(probes > 1000 && moved > 100, "{probes} {moved}");
    }

    /// Why pre-Win8 configs are not symmetric: in interrupt-page mode the relay signals
    /// VP 0 whatever the guest asked, so a channel signal after a SINT2 write on VP 0 is
    /// not the image of one after the same write on VP 1.
    #[test]
    fn the_interrupt_page_relay_signals_vp_0_so_pre_win8_is_not_symmetric() {
        let c = Config {
            vp_count: 2,
            era: VmbusEra::PreWin8,
            vmbus_relay: true,
            proxy_redirect: false,
            ..Config::default()
        };
        assert!(!symmetric(&c));
        let settings = Settings::default();
        let write = wr_sint(0, Vtl::Vtl0, VMBUS_SINT, Sint::unmasked(0x30, false));
        let mut m = Machine::new(c, &settings);
        let setup: [Op; 3] = [
            ModifyConnection {
                use_interrupt_page: true,
            }
            .into(),
            HostOffer { slot: 0 }.into(),
            OpenChannel {
                slot: 0,
                target_vp: VP_INDEX_DISABLE_INTERRUPT,
                event_flag: 0,
            }
            .into(),
        ];
        for (k, o) in setup.iter().chain([&write]).enumerate() {
            assert!(m.step(k, o, &mut NoHook).is_none());
        }
        let mut swapped = m.clone();
        swapped.swap_vps();
        let signal = HostSignalChannel { slot: 0 }.into();
        let (_, s) = after(&m, 4, &signal, true);
        let (_, t) = after(&swapped, 4, &signal, false);
        assert!(s.is_some() && s != t);
    }
}
