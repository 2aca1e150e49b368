//! One test per row of the edge-case table in §4.3 of `shared/openvmm-semantics.md`
//! ("Scenario | Real behaviour at HEAD"), all at [`Revision::Head`].
//!
//! Rows the model does not cover:
//! * "Guest IPIs through the TDX kernel ICR fast path": the model has no guest IPI; the
//!   nearest modeled fact (no guest operation ever reaches the proxy IRR) is
//!   [`guest_ipis_via_tdx_icr_fast_path_are_not_modeled_no_guest_op_reaches_proxy_irr`].
//! * "Servicing / save-restore": out of scope, listed in `model/README.md`; no test.

mod common;

use common::*;
use sintfuzz_model::hvdef::{msr, reg, Sint};
use sintfuzz_model::op::{
    GuestAck, HostAssert, HostDeviceInterrupt, HostOffer, HostSignalChannel, HostSignalSint,
    ModifyConnection, OpenChannel, Retarget, SetApic, UntrustedWrMsr,
};
use sintfuzz_model::synic::Signal;
use sintfuzz_model::{
    AssertSite, Config, DropReason, Event, HvStatus, Isolation, MsrOutcome, Op, OpResult, Path,
    ProxyAssert, Refusal, RetargetFlaws, UpdateCause, VectorSet, VmbusEra, Vtl, MAX_VPS,
};

/// Row "SINT masked, then unmasked (VTL0 WRMSR)".
/// Mirrors `UhProcessor::update_proxy_irr_filter` (`openhcl/virt_mshv_vtl/src/processor/mod.rs`)
/// reached from `UhProcessor::write_msr_cvm`, and the kernel's drop of blocked bits in
/// `mshv_vtl_scan_proxy_interrupts` (`drivers/hv/mshv_vtl_main.c`). Trusted-synic message
/// queues are not modeled (see `model/README.md`).
#[test]
fn sint_masked_then_unmasked_rebuilds_at_once_and_loses_blocked_interrupts() {
    let mut p = head(cfg());
    let (r, ev) = run(&mut p, wr_sint(0, 2, plain(0x50)));
    assert_eq!(r, msr_ok(plain(0x50)));
    assert_eq!(filter_updates(&ev, 0), vec![UpdateCause::WrMsr]);
    assert!(allowed(&p, 0).contains(0x50));

    // Masking rebuilds at once: the vector is blocked.
    let (_, ev) = run(&mut p, wr_sint(0, 2, plain(0x50) | Sint::MASKED));
    assert_eq!(filter_updates(&ev, 0), vec![UpdateCause::WrMsr]);
    assert!(!allowed(&p, 0).contains(0x50));

    // A proxy interrupt arriving now is dropped by the kernel.
    let (_, ev) = run(&mut p, host_assert(0, 0x50));
    assert!(dropped(&ev, 0, 0x50, DropReason::Blocked));
    assert!(!p.vps[0].run.proxy_irr.contains(0x50));

    // Unmasking allows it again, but the dropped interrupt is lost: nothing replays it.
    let (_, ev) = run(&mut p, wr_sint(0, 2, plain(0x50)));
    assert_eq!(filter_updates(&ev, 0), vec![UpdateCause::WrMsr]);
    assert!(allowed(&p, 0).contains(0x50));
    let (_, ev) = run(&mut p, run_vp(0));
    assert!(delivered_vectors(&ev, 0, Vtl::Vtl0).is_empty());
    assert!(!p.vps[0].apic[0].irr.contains(0x50));

    // While masked, a vector the device table holds stays allowed.
    setup(&mut p, &[retarget(0, Vtl::Vtl0, 0, 0x60, 1)]);
    setup(&mut p, &[wr_sint(0, 3, plain(0x60) | Sint::MASKED)]);
    assert!(allowed(&p, 0).contains(0x60));
}

/// Row "Vector of SINT2 changed while a relayed channel is open".
/// Mirrors `UhProcessor::update_proxy_irr_filter` (`openhcl/virt_mshv_vtl/src/processor/mod.rs`)
/// and `RelayChannelTask::handle_open_channel` (`vm/devices/vmbus/vmbus_relay/src/lib.rs`),
/// whose channel state carries no vector.
#[test]
fn sint2_vector_change_with_open_channel_moves_the_filter_and_drops_the_old_vector() {
    let mut p = head(cfg());
    setup(&mut p, &[wr_sint(0, 2, plain(0x50))]);
    setup(&mut p, &offer_and_open(0, 0));
    let channel = p.channels[0];

    let (_, ev) = run(&mut p, wr_sint(0, 2, plain(0x60)));
    assert_eq!(filter_updates(&ev, 0), vec![UpdateCause::WrMsr]);
    assert!(allowed(&p, 0).contains(0x60));
    assert!(!allowed(&p, 0).contains(0x50));
    assert_eq!(p.channels[0], channel, "channel state is not touched");

    // A host interrupt still carrying the old vector is dropped.
    let (_, ev) = run(&mut p, host_assert(0, 0x50));
    assert!(dropped(&ev, 0, 0x50, DropReason::Blocked));

    // The channel's next signal carries the new vector and is delivered.
    let (_, ev) = run(&mut p, Op::HostSignalChannel(HostSignalChannel { slot: 0 }));
    assert!(ev.contains(&Event::ProxyAsserted {
        vp: 0,
        bits: VectorSet::single(0x60)
    }));
    assert_eq!(dropped_count(&ev, DropReason::Blocked), 0);
    let (_, ev) = run(&mut p, run_vp(0));
    assert!(delivered_proxy(&ev, 0, 0x60));
}

/// Row "Two SINTs share a vector; one is masked".
/// Mirrors `UhProcessor::update_proxy_irr_filter` (`openhcl/virt_mshv_vtl/src/processor/mod.rs`),
/// which rebuilds the allowed set from all 16 SINTs.
#[test]
fn two_sints_share_a_vector_one_masked_vector_stays_allowed() {
    let mut p = head(cfg());
    setup(
        &mut p,
        &[wr_sint(0, 2, plain(0x50)), wr_sint(0, 5, plain(0x50))],
    );
    assert!(allowed(&p, 0).contains(0x50));

    setup(&mut p, &[wr_sint(0, 5, plain(0x50) | Sint::MASKED)]);
    assert!(allowed(&p, 0).contains(0x50), "SINT2 still holds 0x50");
    let (_, ev) = run(&mut p, host_assert(0, 0x50));
    assert_eq!(dropped_count(&ev, DropReason::Blocked), 0);

    // Once the second one is masked too, it goes.
    setup(&mut p, &[wr_sint(0, 2, plain(0x50) | Sint::MASKED)]);
    assert!(!allowed(&p, 0).contains(0x50));
}

/// Row "Relay 'turned on after SINTs were configured'": not possible at run time.
/// Mirrors `UhLateParams.vmbus_relay` → `UhPartitionInner.vmbus_relay`, set at partition
/// build (`openhcl/underhill_core/src/worker.rs`), and `HclVp::new`
/// (`openhcl/hcl/src/ioctl.rs`), which starts every filter all-blocked.
#[test]
fn relay_is_fixed_at_build_and_every_vp_starts_all_blocked() {
    for relay in [false, true] {
        for era in [VmbusEra::Modern, VmbusEra::PreWin8] {
            let config = Config {
                vp_count: MAX_VPS as u8,
                vmbus_relay: relay,
                era,
                ..cfg()
            };
            let mut p = head(config);
            for vp in 0..MAX_VPS {
                assert_eq!(p.vps[vp].run.proxy_irr_blocked, VectorSet::ALL);
            }
            // No operation changes the relay flag (or any other part of the config).
            let ops = [
                Op::ModifyConnection(ModifyConnection {
                    use_interrupt_page: true,
                }),
                Op::ModifyConnection(ModifyConnection {
                    use_interrupt_page: false,
                }),
                Op::HostOffer(HostOffer { slot: 0 }),
                Op::OpenChannel(OpenChannel {
                    slot: 0,
                    target_vp: 0,
                    event_flag: 1,
                }),
                wr_sint(0, 2, plain(0x50)),
                set_sint_reg(0, Vtl::Vtl0, Vtl::Vtl0, 3, plain(0x51)),
                retarget(0, Vtl::Vtl0, 0, 0x60, 1),
                run_vp(1),
            ];
            for op in ops {
                let (r, _) = run(&mut p, op);
                if !relay
                    && matches!(
                        op,
                        Op::ModifyConnection(ModifyConnection { .. })
                            | Op::HostOffer(HostOffer { .. })
                    )
                {
                    assert_eq!(r, OpResult::Refused(Refusal::NoRelay));
                }
                assert_eq!(p.config, config);
            }
            // Non-proxy SINTs count exactly when the relay was on at build.
            assert_eq!(allowed(&p, 0).contains(0x50), relay);
            assert_eq!(allowed(&p, 0).contains(0x51), relay);
            assert!(allowed(&p, 0).contains(0x60));
        }
    }
}

/// Row "Relay on: which SINTs count": all 16 unmasked VTL0 SINTs.
/// Mirrors the `(proxy || partition.vmbus_relay) && !masked` test of
/// `UhProcessor::update_proxy_irr_filter` (`openhcl/virt_mshv_vtl/src/processor/mod.rs`).
#[test]
fn relay_on_all_16_unmasked_sints_are_admitted() {
    let mut p = head(cfg());
    for n in 0..16u8 {
        setup(&mut p, &[wr_sint(0, n, plain(0x20 + n))]);
    }
    assert_eq!(allowed(&p, 0), set_of(0x20..=0x2f));
    // SINT0, a timer-style SINT, counts too.
    let (_, ev) = run(&mut p, host_assert(0, 0x20));
    assert_eq!(dropped_count(&ev, DropReason::Blocked), 0);
}

/// Row "Relay off, non-proxy SINT unmasked": not allowed, host interrupts dropped.
/// Mirrors `UhProcessor::update_proxy_irr_filter` (`openhcl/virt_mshv_vtl/src/processor/mod.rs`).
#[test]
fn relay_off_non_proxy_sint_is_not_admitted() {
    let mut p = head(cfg_relay(false));
    let (_, ev) = run(&mut p, wr_sint(0, 2, plain(0x50)));
    assert_eq!(filter_updates(&ev, 0), vec![UpdateCause::WrMsr]);
    assert!(!allowed(&p, 0).contains(0x50));
    let (_, ev) = run(
        &mut p,
        Op::HostSignalSint(HostSignalSint { vp: 0, sint: 2 }),
    );
    assert!(dropped(&ev, 0, 0x50, DropReason::Blocked));

    // The same SINT with the proxy bit is admitted.
    setup(&mut p, &[wr_sint(0, 2, proxied(0x50))]);
    assert!(allowed(&p, 0).contains(0x50));
}

/// Row "SINT written via HvCallSetVpRegisters (VTL0 on itself, or VTL1 on VTL0)".
/// Mirrors `UhHypercallHandler::set_vp_register` → `synic.write_reg`
/// (`openhcl/virt_mshv_vtl/src/processor/hardware_cvm/mod.rs`), which never calls
/// `update_proxy_irr_filter`.
#[test]
fn set_vp_registers_changes_the_synic_but_not_the_filter_until_a_later_trigger() {
    for caller in [Vtl::Vtl0, Vtl::Vtl1] {
        let mut p = head(Config {
            vp_count: 2,
            ..cfg_vtl1()
        });
        setup(&mut p, &[wr_sint(0, 3, plain(0x40))]);
        let blocked = p.vps[0].run.proxy_irr_blocked;

        let (r, ev) = run(&mut p, set_sint_reg(0, caller, Vtl::Vtl0, 2, plain(0x50)));
        assert_eq!(r, OpResult::Hv(HvStatus::Success));
        assert!(ev.is_empty(), "{ev:?}");
        assert_eq!(p.vps[0].synic[0].sints[2], Sint::from_bits(plain(0x50)));
        assert_eq!(p.vps[0].run.proxy_irr_blocked, blocked, "filter is stale");
        let (_, ev) = run(&mut p, host_assert(0, 0x50));
        assert!(dropped(&ev, 0, 0x50, DropReason::Blocked));

        // Stale until the next VTL0 SINT WRMSR on that VP (any SINT)...
        let mut q = p.clone();
        setup(&mut q, &[wr_sint(0, 9, plain(0x41) | Sint::MASKED)]);
        assert!(allowed(&q, 0).contains(0x50));

        // ...or a device-vector wake from a retarget on another VP.
        let (_, ev) = run(&mut p, retarget(1, Vtl::Vtl0, 0, 0x70, 2));
        assert!(ev.contains(&Event::WakeQueued {
            vp: 0,
            vtl: Vtl::Vtl0
        }));
        assert!(!allowed(&p, 0).contains(0x50));
        let (_, ev) = run(&mut p, run_vp(0));
        assert_eq!(filter_updates(&ev, 0), vec![UpdateCause::Wake]);
        assert!(allowed(&p, 0).contains(0x50));
    }
}

/// Row "SINT written via TDX TDVMCALL (untrusted synic) or SNP GHCB".
/// Mirrors `write_tdvmcall_msr` (`openhcl/virt_mshv_vtl/src/processor/tdx/mod.rs`) and the
/// SNP GHCB MSR protocol handled by the hypervisor: the trusted synic is unchanged.
#[test]
fn untrusted_synic_writes_are_invisible_to_the_filter() {
    for isolation in [Isolation::Tdx, Isolation::Snp] {
        let mut p = head(Config { isolation, ..cfg() });
        let before = p.vps[0];
        let (r, ev) = run(
            &mut p,
            Op::UntrustedWrMsr(UntrustedWrMsr {
                vp: 0,
                msr: sint_msr(2),
                value: proxied(0x50),
            }),
        );
        assert_eq!(r, OpResult::Done);
        assert!(ev.is_empty(), "{ev:?}");
        assert_eq!(p.vps[0].synic, before.synic);
        assert_eq!(p.vps[0].run, before.run);
        assert_eq!(p.vps[0].untrusted.sints[2], Sint::from_bits(proxied(0x50)));
        let (_, ev) = run(&mut p, host_assert(0, 0x50));
        assert!(dropped(&ev, 0, 0x50, DropReason::Blocked));
    }
}

/// Row "VTL1 writes its own SINT by WRMSR": no filter update after #1275.
/// Mirrors the `vtl == Vtl0` gate in `UhProcessor::write_msr_cvm` before
/// `update_proxy_irr_filter` (`openhcl/virt_mshv_vtl/src/processor/mod.rs`).
#[test]
fn vtl1_sint_wrmsr_does_not_update_the_filter() {
    let mut p = head(cfg_vtl1());
    let run_before = p.vps[0].run;
    for value in [plain(0x50), proxied(0x51), plain(0x52) | Sint::MASKED] {
        let (r, ev) = run(&mut p, wrmsr(0, Vtl::Vtl1, sint_msr(2), value));
        assert_eq!(r, msr_ok(value));
        assert!(ev.is_empty(), "{ev:?}");
        assert_eq!(p.vps[0].synic[1].sints[2], Sint::from_bits(value));
    }
    assert_eq!(p.vps[0].run, run_before);
    assert_eq!(p.vtl2_asserts, 0);
    assert_eq!(
        p.vps[0].synic[0].sints[2],
        Sint::RESET,
        "VTL0's synic untouched"
    );
}

/// Row "SINT reconfigured on VP A; other VPs": per-VP state, no cross-VP wake.
/// Mirrors `UhProcessor::update_proxy_irr_filter` (`openhcl/virt_mshv_vtl/src/processor/mod.rs`),
/// which reads only this VP's SINTs and writes only this VP's run page.
#[test]
fn sint_write_on_one_vp_never_touches_another_vps_filter() {
    let mut p = head(cfg_vps(2));
    let (_, ev) = run(&mut p, wr_sint(0, 2, plain(0x50)));
    assert!(ev.iter().all(|e| !matches!(e, Event::WakeQueued { .. })));
    assert_eq!(filter_updates(&ev, 1), vec![]);
    assert_eq!(p.vps[1].run.proxy_irr_blocked, VectorSet::ALL);
    assert_eq!(p.vps[1].wake_reasons, 0);

    setup(&mut p, &[wr_sint(1, 2, plain(0x60))]);
    assert!(allowed(&p, 0).contains(0x50) && !allowed(&p, 0).contains(0x60));
    assert!(allowed(&p, 1).contains(0x60) && !allowed(&p, 1).contains(0x50));
    let (_, ev) = run(&mut p, host_assert(1, 0x50));
    assert!(dropped(&ev, 1, 0x50, DropReason::Blocked));
}

/// Row "HvCallRetargetDeviceInterrupt on VP A": table bit set, A updates at once, the
/// others on their next wake.
/// Mirrors `retarget_physical_interrupt` (`openhcl/virt_mshv_vtl/src/processor/hardware_cvm/mod.rs`)
/// and `request_proxy_irr_filter_update` (`openhcl/virt_mshv_vtl/src/lib.rs`).
#[test]
fn retarget_updates_the_caller_at_once_and_other_vps_only_after_their_wake() {
    let mut p = head(cfg_vps(3));
    let (r, ev) = run(&mut p, retarget(0, Vtl::Vtl0, 0, 0x70, 0b110));
    assert_eq!(r, OpResult::Hv(HvStatus::Success));
    assert!(p.device_vector_table.contains(0x70));
    assert_eq!(filter_updates(&ev, 0), vec![UpdateCause::Retarget]);
    assert!(allowed(&p, 0).contains(0x70));
    for other in [1u8, 2] {
        assert!(ev.contains(&Event::WakeQueued {
            vp: other,
            vtl: Vtl::Vtl0
        }));
        assert!(!allowed(&p, other as usize).contains(0x70), "not yet");
    }
    assert!(!ev.contains(&Event::WakeQueued {
        vp: 0,
        vtl: Vtl::Vtl0
    }));

    // Between the two points the device's interrupt on VP1 is dropped.
    let (_, ev) = run(
        &mut p,
        Op::HostDeviceInterrupt(HostDeviceInterrupt { device: 0, pick: 0 }),
    );
    assert!(dropped(&ev, 1, 0x70, DropReason::Blocked));

    let (_, ev) = run(&mut p, run_vp(1));
    assert_eq!(filter_updates(&ev, 1), vec![UpdateCause::Wake]);
    assert!(allowed(&p, 1).contains(0x70));
    assert_eq!(p.vps[1].wake_reasons, 0);
    let (_, ev) = run(
        &mut p,
        Op::HostDeviceInterrupt(HostDeviceInterrupt { device: 0, pick: 0 }),
    );
    assert_eq!(dropped_count(&ev, DropReason::Blocked), 0);
    let (_, ev) = run(&mut p, run_vp(1));
    assert!(delivered_proxy(&ev, 1, 0x70));
}

/// Row "Device vector table never shrinks".
/// Mirrors `request_proxy_irr_filter_update` (`openhcl/virt_mshv_vtl/src/lib.rs`), the only
/// writer of `device_vector_table`, and `fill_device_vectors`.
#[test]
fn device_vector_table_never_shrinks() {
    let mut p = head(cfg_vps(2));
    setup(&mut p, &[retarget(0, Vtl::Vtl0, 0, 0x40, 1)]);
    // Retarget the same device away to another vector.
    setup(&mut p, &[retarget(0, Vtl::Vtl0, 0, 0x50, 1)]);
    assert!(p.device_vector_table.contains(0x40));
    assert!(p.device_vector_table.contains(0x50));
    // A call the hypervisor fails (empty processor set) still leaves its bit.
    let _ = run(&mut p, retarget(0, Vtl::Vtl0, 1, 0x60, 0));
    assert!(p.device_vector_table.contains(0x60));

    // Other ops never clear it.
    let table = p.device_vector_table;
    for op in [
        wr_sint(0, 2, plain(0x40) | Sint::MASKED),
        set_sint_reg(0, Vtl::Vtl0, Vtl::Vtl0, 2, 0),
        run_vp(0),
        run_vp(1),
        Op::GuestAck(GuestAck {
            vp: 0,
            vtl: Vtl::Vtl0,
        }),
    ] {
        let _ = run(&mut p, op);
        assert_eq!(p.device_vector_table, table);
    }
    // Every VP's filter admits every vector ever retargeted.
    for vp in 0..2 {
        for v in [0x40, 0x50, 0x60] {
            assert!(allowed(&p, vp).contains(v), "vp{vp} {v:#x}");
        }
    }
}

/// Row "Retarget vector > 255": truncated `as u8` before insertion.
/// Mirrors `request_proxy_irr_filter_update(intercepted_vtl, vector as u8, ...)`
/// (`openhcl/virt_mshv_vtl/src/lib.rs`) with the u32 vector of `vm/hv1/hv1_hypercall/src/imp.rs`.
#[test]
fn retarget_vector_above_255_is_truncated_into_the_table() {
    let mut p = head(cfg());
    let _ = run(&mut p, retarget(0, Vtl::Vtl0, 0, 0x130, 1));
    assert_eq!(p.device_vector_table, VectorSet::single(0x30));
    assert!(allowed(&p, 0).contains(0x30));
    let (_, ev) = run(&mut p, host_assert(0, 0x30));
    assert_eq!(dropped_count(&ev, DropReason::Blocked), 0);
}

/// Row "Retarget input: reserved flags, bad processor set, non-MSI source".
/// Mirrors the input checks of HvCallRetargetDeviceInterrupt in
/// `vm/hv1/hv1_hypercall/src/imp.rs`: `InvalidParameter` before any table change.
#[test]
fn retarget_with_bad_input_is_invalid_parameter_before_any_change() {
    for bits in 1u8..8 {
        let flaws = RetargetFlaws {
            reserved_flags: bits & 1 != 0,
            bad_processor_set: bits & 2 != 0,
            not_msi: bits & 4 != 0,
            multicast: false,
        };
        let mut p = head(cfg_vps(2));
        let before = p.clone();
        let (r, ev) = run(
            &mut p,
            Op::Retarget(Retarget {
                vp: 0,
                vtl: Vtl::Vtl0,
                device: 0,
                vector: 0x40,
                targets: 1,
                flaws,
            }),
        );
        assert_eq!(r, OpResult::Hv(HvStatus::InvalidParameter), "{flaws:?}");
        assert!(ev.is_empty());
        assert_eq!(p, before);
    }
}

/// Row "Retarget issued from VTL1": no VTL gate, so the caller hits `assert_eq!(vtl, Vtl0)`
/// and the other VPs' VTL1 wakes do too.
/// Mirrors `impl RetargetDeviceInterrupt for UhHypercallHandler` →
/// `retarget_physical_interrupt` (`openhcl/virt_mshv_vtl/src/processor/hardware_cvm/mod.rs`),
/// `UhProcessor::update_proxy_irr_filter` and `handle_wake`
/// (`openhcl/virt_mshv_vtl/src/processor/mod.rs`).
#[test]
fn retarget_from_vtl1_reaches_the_vtl2_assert_on_caller_and_woken_vps() {
    let mut p = head(Config {
        vp_count: 2,
        ..cfg_vtl1()
    });
    let (r, ev) = run(&mut p, retarget(0, Vtl::Vtl1, 0, 0x40, 1));
    assert_eq!(r, OpResult::Vtl2Assert);
    assert!(ev.contains(&Event::WakeQueued {
        vp: 1,
        vtl: Vtl::Vtl1
    }));
    assert!(ev.contains(&Event::Vtl2Assert {
        vp: 0,
        vtl: Vtl::Vtl1,
        site: AssertSite::Retarget
    }));
    assert!(
        p.device_vector_table.contains(0x40),
        "the table bit is set before the assert"
    );
    assert_eq!(p.vtl2_asserts, 1);

    // The VM is down: VP 1 never runs to handle its queued VTL1 wake.
    let (r, ev) = run(&mut p, run_vp(1));
    assert_eq!(r, OpResult::Refused(Refusal::VmDown));
    assert!(ev.is_empty());
}

/// A woken VP whose queued `UPDATE_PROXY_IRR_FILTER` reason is for VTL1 asserts in
/// `handle_wake` (`openhcl/virt_mshv_vtl/src/processor/mod.rs`, `UhProcessor::handle_wake`)
/// when it runs. The wake comes from a VTL1 retarget on another VP; to reach it without the
/// caller's own assert the model has no path, so the state is set up directly.
#[test]
fn vtl1_wake_reason_asserts_in_handle_wake_and_skips_the_poll() {
    let mut p = head(Config {
        vp_count: 2,
        ..cfg_vtl1()
    });
    setup(&mut p, &[wr_sint(1, 2, plain(0x50)), host_assert(1, 0x50)]);
    p.vps[1].wake_reasons = 1 << 32;
    let (r, ev) = run(&mut p, run_vp(1));
    assert_eq!(r, OpResult::Vtl2Assert);
    assert!(ev.contains(&Event::Vtl2Assert {
        vp: 1,
        vtl: Vtl::Vtl1,
        site: AssertSite::Wake
    }));
    assert!(
        !ev.iter().any(|e| matches!(e, Event::Delivered { .. })),
        "the panic ends the VP loop before the poll: {ev:?}"
    );
    assert_eq!(p.vps[1].run.proxy_irr, VectorSet::single(0x50));
}

/// Row "SINT vector < 16": accepted, admitted, then dropped by the user-space APIC, passed
/// through by the TDX offload, dropped by the trusted synic's `request_interrupt`.
/// Mirrors `ProcessorSynic` `set_sint` (`vm/hv1/hv1_emulator/src/synic.rs`),
/// `LocalApic::request_fixed_interrupts` (`poll_apic_core` in
/// `openhcl/virt_mshv_vtl/src/processor/hardware_cvm/apic.rs`), kernel
/// `mshv_tdx_pull_proxy_irr` and `SharedState::request_interrupt`
/// (`vmm_core/virt_support_apic/src/lib.rs`).
#[test]
fn sint_vector_below_16_is_admitted_then_dropped_by_the_apic_except_tdx_offload() {
    // User space (SNP).
    let mut p = head(cfg());
    let (r, _) = run(&mut p, wr_sint(0, 2, plain(5)));
    assert_eq!(r, msr_ok(plain(5)), "no #GP");
    assert!(allowed(&p, 0).contains(5));
    let (_, ev) = run(&mut p, host_assert(0, 5));
    assert_eq!(dropped_count(&ev, DropReason::Blocked), 0);
    assert!(p.vps[0].run.proxy_irr.contains(5));
    let (_, ev) = run(&mut p, run_vp(0));
    assert!(dropped(&ev, 0, 5, DropReason::ReservedVector));
    assert!(!p.vps[0].apic[0].irr.contains(5));

    // TDX in-kernel offload: ORed into the vAPIC IRR unmasked.
    let mut p = head(Config {
        isolation: Isolation::Tdx,
        tdx_offload: true,
        ..cfg()
    });
    setup(&mut p, &[wr_sint(0, 2, plain(5)), host_assert(0, 5)]);
    let (_, ev) = run(&mut p, run_vp(0));
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::Delivered {
            vp: 0,
            vector: 5,
            path: Path::ProxyOffload,
            ..
        }
    )));
    assert!(p.vps[0].apic[0].irr.contains(5));

    // Trusted-synic delivery (pre-Win8 interrupt relay): dropped by `request_interrupt`.
    let mut p = head(Config {
        era: VmbusEra::PreWin8,
        ..cfg()
    });
    setup(&mut p, &[wr_sint(0, 2, plain(5)), interrupt_page()]);
    setup(&mut p, &offer_and_open(0, 0));
    let (_, ev) = run(&mut p, Op::HostSignalChannel(HostSignalChannel { slot: 0 }));
    assert!(dropped(&ev, 0, 5, DropReason::ReservedVector));
    assert!(!p.vps[0].apic[0].irr.contains(5));
}

/// Row "Writing raw `0` to a SINT": unmasked, vector 0; with the relay on, bit 0 allowed.
/// Mirrors `set_sint` (`vm/hv1/hv1_emulator/src/synic.rs`) and
/// `UhProcessor::update_proxy_irr_filter` (`openhcl/virt_mshv_vtl/src/processor/mod.rs`).
#[test]
fn writing_raw_zero_to_a_sint_admits_vector_0_with_relay_then_apic_drops_it() {
    let mut p = head(cfg());
    let (r, _) = run(&mut p, wr_sint(0, 4, 0));
    assert_eq!(r, msr_ok(0));
    assert!(!p.vps[0].synic[0].sints[4].masked());
    assert!(allowed(&p, 0).contains(0));
    setup(&mut p, &[host_assert(0, 0)]);
    let (_, ev) = run(&mut p, run_vp(0));
    assert!(dropped(&ev, 0, 0, DropReason::ReservedVector));

    let mut p = head(cfg_relay(false));
    setup(&mut p, &[wr_sint(0, 4, 0)]);
    assert!(!allowed(&p, 0).contains(0));
}

/// Row "Reserved SINT bits set": stored, read back, no #GP, no effect on the filter.
/// Mirrors `set_sint` / `HvSynicSint` (`vm/hv1/hv1_emulator/src/synic.rs`,
/// `vm/hv1/hvdef/src/lib.rs`).
#[test]
fn reserved_sint_bits_are_kept_and_do_not_affect_the_filter() {
    let reserved = 0xff00 | (1 << 19) | (u64::MAX << 21);
    let mut p = head(cfg());
    let (r, _) = run(&mut p, wr_sint(0, 2, plain(0x40) | reserved));
    assert_eq!(r, msr_ok(plain(0x40) | reserved));
    let (r, _) = run(&mut p, rdmsr(0, Vtl::Vtl0, sint_msr(2)));
    assert_eq!(r, msr_ok(plain(0x40) | reserved));

    let mut q = head(cfg());
    setup(&mut q, &[wr_sint(0, 2, plain(0x40))]);
    assert_eq!(
        p.vps[0].run.proxy_irr_blocked,
        q.vps[0].run.proxy_irr_blocked
    );
    assert!(allowed(&p, 0).contains(0x40));
}

/// Row "SVERSION write": #GP on the MSR path, `InvalidParameter` on the hypercall path.
/// Mirrors `ProcessorSynic::write_msr` / `write_reg` (`vm/hv1/hv1_emulator/src/synic.rs`).
#[test]
fn sversion_write_is_gp_by_msr_and_invalid_parameter_by_hypercall() {
    let mut p = head(cfg());
    let before = p.clone();
    let (r, ev) = run(&mut p, wrmsr(0, Vtl::Vtl0, msr::SVERSION, 2));
    assert_eq!(r, OpResult::Msr(MsrOutcome::Gp));
    assert!(ev.is_empty());
    let (r, _) = run(&mut p, set_reg(0, Vtl::Vtl0, Vtl::Vtl0, reg::SVERSION, 2));
    assert_eq!(r, OpResult::Hv(HvStatus::InvalidParameter));
    assert_eq!(p, before);
    let (r, _) = run(&mut p, rdmsr(0, Vtl::Vtl0, msr::SVERSION));
    assert_eq!(r, msr_ok(1));
}

/// Row "`polling` or `auto_eoi` set on a qualifying SINT": still allowed; the proxy path
/// injects edge, non-auto-EOI.
/// Mirrors `UhProcessor::update_proxy_irr_filter` (`openhcl/virt_mshv_vtl/src/processor/mod.rs`)
/// and `LocalApic::request_fixed_interrupts` (`poll_apic_core`,
/// `openhcl/virt_mshv_vtl/src/processor/hardware_cvm/apic.rs`).
#[test]
fn polling_and_auto_eoi_sints_are_admitted_and_delivered_without_auto_eoi() {
    for (relay, value) in [
        (true, plain(0x50) | Sint::POLLING | Sint::AUTO_EOI),
        (false, proxied(0x50) | Sint::POLLING),
        (false, proxied(0x50) | Sint::AUTO_EOI),
    ] {
        let mut p = head(cfg_relay(relay));
        setup(&mut p, &[wr_sint(0, 2, value)]);
        assert!(allowed(&p, 0).contains(0x50), "{value:#x}");
        // A vector previously delivered with auto-EOI by the trusted synic.
        p.vps[0].apic[0].auto_eoi.insert(0x50);
        setup(&mut p, &[host_assert(0, 0x50)]);
        let (_, ev) = run(&mut p, run_vp(0));
        assert!(delivered_proxy(&ev, 0, 0x50));
        assert!(p.vps[0].apic[0].irr.contains(0x50));
        assert!(!p.vps[0].apic[0].auto_eoi.contains(0x50));
    }
}

/// Row "SCONTROL disabled": filter unaffected; the trusted `signal_event` returns
/// `Ok(false)`.
/// Mirrors `ProcessorSynic` SCONTROL handling and `GlobalSynic::signal_event`
/// (`vm/hv1/hv1_emulator/src/synic.rs`), and `UhProcessor::update_proxy_irr_filter`
/// (`openhcl/virt_mshv_vtl/src/processor/mod.rs`), which ignores SCONTROL.
#[test]
fn scontrol_disabled_leaves_the_filter_and_refuses_trusted_signals() {
    let mut p = head(Config {
        era: VmbusEra::PreWin8,
        ..cfg()
    });
    setup(&mut p, &[wr_sint(0, 2, plain(0x50))]);
    let blocked = p.vps[0].run.proxy_irr_blocked;
    let (r, ev) = run(&mut p, wrmsr(0, Vtl::Vtl0, msr::SCONTROL, 0));
    assert_eq!(r, msr_ok(0));
    assert!(ev.is_empty(), "no filter update: {ev:?}");
    assert_eq!(p.vps[0].run.proxy_irr_blocked, blocked);
    // A later rebuild still admits SINT vectors.
    setup(&mut p, &[wr_sint(0, 3, plain(0x51))]);
    assert!(allowed(&p, 0).contains(0x50) && allowed(&p, 0).contains(0x51));

    // The trusted synic refuses to signal.
    assert_eq!(
        p.vps[0].synic[0].clone().signal_event(2, 1),
        Signal::Refused
    );
    setup(&mut p, &[interrupt_page()]);
    setup(&mut p, &offer_and_open(0, 0));
    let (_, ev) = run(&mut p, Op::HostSignalChannel(HostSignalChannel { slot: 0 }));
    assert!(dropped(&ev, 0, 0x50, DropReason::SynicRefused));
    assert!(!p.vps[0].apic[0].irr.contains(0x50));
}

/// Row "Proxy bit set and masked": not in the filter, yet `signal_event` returns
/// `SintProxied` (the proxy check precedes the masked check).
/// Mirrors `GlobalSynic::signal_event` (`vm/hv1/hv1_emulator/src/synic.rs`) and
/// `UhProcessor::update_proxy_irr_filter` (`openhcl/virt_mshv_vtl/src/processor/mod.rs`).
#[test]
fn proxy_and_masked_sint_is_not_admitted_but_signal_event_reports_proxied() {
    let mut p = head(Config {
        era: VmbusEra::PreWin8,
        ..cfg()
    });
    setup(&mut p, &[wr_sint(0, 2, proxied(0x50) | Sint::MASKED)]);
    assert!(!allowed(&p, 0).contains(0x50));
    assert_eq!(
        p.vps[0].synic[0].clone().signal_event(2, 1),
        Signal::Proxied
    );

    // The relay's trusted delivery therefore falls back to the host, not `Ok(false)`.
    setup(&mut p, &offer_and_open(0, 0));
    let (_, ev) = run(&mut p, Op::HostSignalChannel(HostSignalChannel { slot: 0 }));
    assert!(!dropped(&ev, 0, 0x50, DropReason::SynicRefused), "{ev:?}");
    assert!(dropped(&ev, 0, 0x50, DropReason::HostSuppressed), "{ev:?}");
}

/// Row "No SINT write and no retarget yet on a VP": all-blocked, every proxy interrupt
/// dropped.
/// Mirrors `HclVp::new` (`openhcl/hcl/src/ioctl.rs`) and `mshv_vtl_scan_proxy_interrupts`
/// (`drivers/hv/mshv_vtl_main.c`).
#[test]
fn fresh_vp_blocks_every_proxy_interrupt() {
    let mut p = head(cfg_vps(MAX_VPS as u8));
    for vp in 0..MAX_VPS as u8 {
        assert_eq!(p.vps[vp as usize].run.proxy_irr_blocked, VectorSet::ALL);
        let (_, ev) = run(&mut p, host_assert_multi(vp, VectorSet::ALL));
        assert_eq!(dropped_count(&ev, DropReason::Blocked), 256);
        assert!(p.vps[vp as usize].run.proxy_irr.is_empty());
        let (_, ev) = run(&mut p, run_vp(vp));
        assert!(delivered_vectors(&ev, vp, Vtl::Vtl0).is_empty());
        assert!(p.vps[vp as usize].apic[0].irr.is_empty());
    }
}

/// Row "VTL0 APIC hardware- or software-disabled when the proxy IRR is polled": the
/// snapshot is consumed and discarded.
/// Mirrors `ProcessorRunner::proxy_irr_vtl0` (`openhcl/hcl/src/ioctl.rs`) and
/// `LocalApic::request_fixed_interrupts` (`poll_apic_core`,
/// `openhcl/virt_mshv_vtl/src/processor/hardware_cvm/apic.rs`).
#[test]
fn disabled_apic_discards_the_polled_snapshot() {
    for (hw, sw) in [(false, true), (true, false), (false, false)] {
        let mut p = head(cfg());
        setup(&mut p, &[wr_sint(0, 2, plain(0x50)), host_assert(0, 0x50)]);
        setup(
            &mut p,
            &[Op::SetApic(SetApic {
                vp: 0,
                vtl: Vtl::Vtl0,
                hw_enabled: hw,
                sw_enabled: sw,
            })],
        );
        let (_, ev) = run(&mut p, run_vp(0));
        assert!(dropped(&ev, 0, 0x50, DropReason::ApicDisabled));
        assert!(p.vps[0].run.proxy_irr.is_empty());
        assert!(!p.vps[0].run.scan_proxy_irr);
        // Re-enabling does not bring it back.
        setup(
            &mut p,
            &[Op::SetApic(SetApic {
                vp: 0,
                vtl: Vtl::Vtl0,
                hw_enabled: true,
                sw_enabled: true,
            })],
        );
        let (_, ev) = run(&mut p, run_vp(0));
        assert!(ev.is_empty());
        assert!(p.vps[0].apic[0].irr.is_empty());
    }
}

/// Row "Malicious hypervisor asserts arbitrary bits": only unblocked bits survive; the
/// single-vector form is masked to 8 bits.
/// Mirrors `mshv_vtl_scan_proxy_interrupts` (`drivers/hv/mshv_vtl_main.c`).
#[test]
fn malicious_assert_only_unblocked_bits_survive_and_single_form_is_masked() {
    let mut p = head(cfg());
    setup(&mut p, &[wr_sint(0, 2, plain(0x50))]);
    let (_, ev) = run(&mut p, host_assert_multi(0, VectorSet::ALL));
    assert_eq!(dropped_count(&ev, DropReason::Blocked), 255);
    assert_eq!(p.vps[0].run.proxy_irr, VectorSet::single(0x50));
    assert!(p.vps[0].run.scan_proxy_irr);
    setup(&mut p, &[run_vp(0)]);

    // Single form: 0x150 & 0xff = 0x50, admitted; 0xffff_ff51 & 0xff = 0x51, blocked.
    let (_, ev) = run(
        &mut p,
        Op::HostAssert(HostAssert {
            vp: 0,
            assert: ProxyAssert::Single(0x150),
        }),
    );
    assert!(ev.contains(&Event::ProxyAsserted {
        vp: 0,
        bits: VectorSet::single(0x50)
    }));
    assert_eq!(p.vps[0].run.proxy_irr, VectorSet::single(0x50));
    let (_, ev) = run(&mut p, host_assert(0, 0xffff_ff51));
    assert!(ev.contains(&Event::ProxyAsserted {
        vp: 0,
        bits: VectorSet::single(0x51)
    }));
    assert!(dropped(&ev, 0, 0x51, DropReason::Blocked));
}

/// Item 2 of issue 9: the TDX kernel offload injects only while `can_offload_irr()` holds,
/// i.e. the APIC is offloaded and software-enabled (`TdxBacked::run_vp` sets
/// `offload_intr_inject` from it, `openhcl/virt_mshv_vtl/src/processor/tdx/mod.rs`;
/// `LocalApic::can_offload_irr`, `vmm_core/virt_support_apic/src/lib.rs`). Otherwise the
/// user-space poll (`poll_apic_core` → `request_fixed_interrupts`) applies: everything is
/// dropped while the APIC is disabled, and vectors 0..=15 are cleared.
#[test]
fn tdx_offload_needs_a_software_enabled_apic_else_the_user_poll_applies() {
    let tdx = Config {
        isolation: Isolation::Tdx,
        tdx_offload: true,
        ..cfg()
    };
    let poll = |sw: bool, hw: bool| {
        let mut p = head(tdx);
        setup(
            &mut p,
            &[
                wr_sint(0, 2, plain(5)),
                wr_sint(0, 3, plain(0x50)),
                Op::SetApic(SetApic {
                    vp: 0,
                    vtl: Vtl::Vtl0,
                    hw_enabled: hw,
                    sw_enabled: sw,
                }),
                host_assert_multi(0, set_of([5, 0x50])),
            ],
        );
        let (_, ev) = run(&mut p, run_vp(0));
        (p, ev)
    };
    // Software-disabled, or hardware-disabled (which resets SVR: `LocalApic::set_apic_base`):
    // no offload; the user-space poll discards the whole snapshot.
    let (p, ev) = poll(true, false);
    assert!(dropped(&ev, 0, 0x50, DropReason::ApicDisabled));
    assert!(p.vps[0].apic[0].irr.is_empty());
    let (p, ev) = poll(false, true);
    assert!(dropped(&ev, 0, 0x50, DropReason::ApicDisabled));
    assert!(dropped(&ev, 0, 5, DropReason::ApicDisabled));
    assert!(ev.iter().all(|e| !matches!(
        e,
        Event::Delivered { .. }
            | Event::Dropped {
                path: Some(Path::ProxyOffload),
                ..
            }
    )));
    assert!(p.vps[0].apic[0].irr.is_empty());
    // Enabled: offloaded, 0..=15 included.
    {
        let hw = true;
        let (p, ev) = poll(true, hw);
        assert_eq!(
            delivered_vectors(&ev, 0, Vtl::Vtl0),
            set_of([5, 0x50]),
            "hw {hw}"
        );
        assert!(ev.iter().all(|e| !matches!(
            e,
            Event::Delivered {
                path: Path::ProxyUser,
                ..
            }
        )));
        assert_eq!(p.vps[0].apic[0].irr, set_of([5, 0x50]));
    }
    // Offload off: the user-space poll, with its 0..=15 mask.
    let mut p = head(Config {
        tdx_offload: false,
        ..tdx
    });
    setup(
        &mut p,
        &[
            wr_sint(0, 2, plain(5)),
            wr_sint(0, 3, plain(0x50)),
            host_assert_multi(0, set_of([5, 0x50])),
        ],
    );
    let (_, ev) = run(&mut p, run_vp(0));
    assert!(dropped(&ev, 0, 5, DropReason::ReservedVector));
    assert!(delivered_proxy(&ev, 0, 0x50));
}

/// Row "Guest IPIs through the TDX kernel ICR fast path": not modeled (`model/README.md`).
/// Upstream, `mshv_tdx_handle_simple_icr_write` (`drivers/hv/mshv_vtl_main.c`) ORs guest IPI
/// vectors into `proxy_irr` without consulting `proxy_irr_blocked`. Nearest modeled fact:
/// no guest operation writes the proxy IRR at all; only host proxy-interrupt messages do.
#[test]
fn guest_ipis_via_tdx_icr_fast_path_are_not_modeled_no_guest_op_reaches_proxy_irr() {
    let config = Config {
        vp_count: 2,
        isolation: Isolation::Tdx,
        tdx_offload: true,
        vtl1_enabled: true,
        ..cfg()
    };
    let mut p = head(config);
    let guest_ops = [
        wr_sint(0, 2, plain(0x50)),
        wr_sint(1, 2, plain(0x50)),
        wrmsr(0, Vtl::Vtl1, sint_msr(2), plain(0x51)),
        rdmsr(0, Vtl::Vtl0, sint_msr(2)),
        set_sint_reg(0, Vtl::Vtl0, Vtl::Vtl0, 3, plain(0x52)),
        Op::UntrustedWrMsr(UntrustedWrMsr {
            vp: 1,
            msr: sint_msr(2),
            value: plain(0x53),
        }),
        retarget(0, Vtl::Vtl0, 0, 0x60, 0b11),
        Op::SetApic(SetApic {
            vp: 1,
            vtl: Vtl::Vtl0,
            hw_enabled: true,
            sw_enabled: true,
        }),
        Op::GuestAck(GuestAck {
            vp: 0,
            vtl: Vtl::Vtl0,
        }),
        Op::OpenChannel(OpenChannel {
            slot: 0,
            target_vp: 1,
            event_flag: 1,
        }),
        Op::ModifyConnection(ModifyConnection {
            use_interrupt_page: false,
        }),
    ];
    for op in guest_ops {
        assert!(!op.is_host());
        let before: Vec<_> = p.vps.iter().map(|v| v.run).collect();
        let (_, ev) = run(&mut p, op);
        assert!(
            !ev.iter().any(|e| matches!(e, Event::ProxyAsserted { .. })),
            "{op:?}"
        );
        for (vp, b) in before.iter().enumerate() {
            assert_eq!(p.vps[vp].run.proxy_irr, b.proxy_irr, "{op:?}");
            assert_eq!(p.vps[vp].run.scan_proxy_irr, b.scan_proxy_irr, "{op:?}");
        }
    }
    // Contrast: a host message does reach it.
    setup(&mut p, &[host_assert(1, 0x50)]);
    assert!(p.vps[1].run.proxy_irr.contains(0x50));
}

/// Row "`use_interrupt_page` toggled after channels opened": only channels opened
/// afterwards follow it.
/// Mirrors `RelayTask::handle_modify` and `RelayChannelTask::handle_open_channel`
/// (`vm/devices/vmbus/vmbus_relay/src/lib.rs`), which read `use_interrupt_relay` at open.
#[test]
fn use_interrupt_page_toggle_affects_only_channels_opened_afterwards() {
    let mut p = head(Config {
        era: VmbusEra::PreWin8,
        ..cfg()
    });
    setup(&mut p, &[wr_sint(0, 2, plain(0x50))]);
    setup(
        &mut p,
        &[
            Op::ModifyConnection(ModifyConnection {
                use_interrupt_page: true,
            }),
            Op::HostOffer(HostOffer { slot: 0 }),
            Op::HostOffer(HostOffer { slot: 1 }),
            Op::OpenChannel(OpenChannel {
                slot: 0,
                target_vp: 0,
                event_flag: 1,
            }),
            Op::ModifyConnection(ModifyConnection {
                use_interrupt_page: false,
            }),
            Op::OpenChannel(OpenChannel {
                slot: 1,
                target_vp: 0,
                event_flag: 2,
            }),
        ],
    );
    assert!(p.channels[0].interrupt_relay);
    assert!(!p.channels[1].interrupt_relay);

    // Channel 0 still goes through VTL2 and the trusted synic, with no proxy IRR.
    let (_, ev) = run(&mut p, Op::HostSignalChannel(HostSignalChannel { slot: 0 }));
    assert!(!ev.iter().any(|e| matches!(e, Event::ProxyAsserted { .. })));
    assert!(ev.contains(&Event::Delivered {
        vp: 0,
        vtl: Vtl::Vtl0,
        vector: 0x50,
        path: Path::TrustedSynic,
        coalesced: false
    }));
    // Channel 1 is signalled by the host as a proxy interrupt.
    let (_, ev) = run(&mut p, Op::HostSignalChannel(HostSignalChannel { slot: 1 }));
    assert!(ev.contains(&Event::ProxyAsserted {
        vp: 0,
        bits: VectorSet::single(0x50)
    }));

    // Toggling back on changes neither open channel.
    setup(
        &mut p,
        &[Op::ModifyConnection(ModifyConnection {
            use_interrupt_page: true,
        })],
    );
    assert!(p.channels[0].interrupt_relay);
    assert!(!p.channels[1].interrupt_relay);
    // A modern guest can never turn it on (the server refuses an interrupt page).
    let mut m = head(cfg());
    setup(
        &mut m,
        &[Op::ModifyConnection(ModifyConnection {
            use_interrupt_page: true,
        })],
    );
    assert!(!m.use_interrupt_relay);
}
