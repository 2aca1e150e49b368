//! Issue 9 ("model fidelity, round 2"): one test per behaviour around the filter that the
//! model now follows, each citing the upstream path (openvmm `1488a37b7`) it mirrors.
//! Items 1, 2 and 5 live next to their neighbours: `targets/tests/vm_down.rs`,
//! `edge_cases.rs` (`tdx_offload_needs_a_software_enabled_apic_else_the_user_poll_applies`)
//! and `registers.rs`.

mod common;

use common::gen::{self, Rng};
use common::*;
use sintfuzz_model::op::{HostDeviceInterrupt, HostPostMessage, HostSignalSint, UntrustedWrMsr};
use sintfuzz_model::{
    AssertSite, Config, DropReason, Event, HvStatus, Isolation, Op, OpResult, Partition, Path,
    RetargetFlaws, Revision, VectorSet, VmbusEra, Vtl,
};

fn device(device: u8, pick: u8) -> Op {
    Op::HostDeviceInterrupt(HostDeviceInterrupt { device, pick })
}

fn post(vp: u8) -> Op {
    Op::HostPostMessage(HostPostMessage { vp, sint: 2 })
}

fn proxy_asserted(ev: &[Event]) -> VectorSet {
    let mut s = VectorSet::EMPTY;
    for e in ev {
        if let Event::ProxyAsserted { bits, .. } = *e {
            s = s.union(bits);
        }
    }
    s
}

fn delivered_on(ev: &[Event], path: Path) -> VectorSet {
    let mut s = VectorSet::EMPTY;
    for e in ev {
        if let Event::Delivered {
            vector, path: p, ..
        } = *e
        {
            if p == path {
                s.insert(vector);
            }
        }
    }
    s
}

/// Item 3: on TDX a signal to a SINT the guest marked proxied goes to the untrusted synic,
/// which interrupts the APIC itself, bypassing the proxy IRR and the filter; SNP has no
/// untrusted synic and uses `signal_event_direct`, i.e. a proxy interrupt
/// (`UhEventPort::interrupt`, `openhcl/virt_mshv_vtl/src/lib.rs`).
#[test]
fn tdx_signal_to_a_proxied_sint_goes_to_the_untrusted_synic_not_the_proxy_irr() {
    for isolation in [Isolation::Tdx, Isolation::Snp] {
        let mut p = head(Config {
            isolation,
            era: VmbusEra::PreWin8,
            ..cfg()
        });
        setup(&mut p, &[interrupt_page(), wr_sint(0, 2, proxied(0x50))]);
        setup(&mut p, &offer_and_open(0, 0));
        let (r, ev) = run(
            &mut p,
            Op::HostSignalChannel(sintfuzz_model::op::HostSignalChannel { slot: 0 }),
        );
        assert_eq!(r, OpResult::Done);
        if isolation == Isolation::Tdx {
            assert_eq!(delivered_on(&ev, Path::UntrustedSynic), set_of([0x50]));
            assert!(proxy_asserted(&ev).is_empty(), "{ev:?}");
            assert!(p.vps[0].apic[0].irr.contains(0x50));
            assert!(p.vps[0].run.proxy_irr.is_empty());
        } else {
            assert_eq!(proxy_asserted(&ev), set_of([0x50]));
            assert!(delivered_on(&ev, Path::UntrustedSynic).is_empty());
        }
    }
}

/// Item 4: with #384 redirection a unicast retarget goes to the first target VP only
/// (`try_proxy_interrupt_redirection`, `openhcl/virt_mshv_vtl/src/processor/hardware_cvm/mod.rs`);
/// multicast falls back to the normal path, where the hypervisor may pick any target.
#[test]
fn proxy_redirect_sends_a_unicast_retarget_to_the_first_target_vp_only() {
    let two = |proxy_redirect| Config {
        vp_count: 2,
        proxy_redirect,
        ..cfg()
    };
    // Redirected: VP 0 (the first) gets it whatever the pick.
    let mut p = head(two(true));
    setup(&mut p, &[retarget(0, Vtl::Vtl0, 0, 0x40, 0b11)]);
    let route = p.devices[0].unwrap();
    assert_eq!((route.targets, route.redirected), (0b01, true));
    let (_, ev) = run(&mut p, device(0, 1));
    assert_eq!(proxy_asserted(&ev), set_of([0x40]));
    assert!(ev
        .iter()
        .all(|e| !matches!(e, Event::ProxyAsserted { vp: 1, .. })));
    // Multicast: the normal path.
    let mut p = head(two(true));
    let mut call = retarget(0, Vtl::Vtl0, 0, 0x40, 0b11);
    if let Op::Retarget(r) = &mut call {
        r.flaws = RetargetFlaws {
            multicast: true,
            ..RetargetFlaws::default()
        };
    }
    setup(&mut p, &[call]);
    assert_eq!(p.devices[0].unwrap().targets, 0b11);
    // No redirection: the hypervisor's pick, VP 1 here.
    let mut p = head(two(false));
    setup(&mut p, &[retarget(0, Vtl::Vtl0, 0, 0x40, 0b11)]);
    let (_, ev) = run(&mut p, device(0, 1));
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::ProxyAsserted { vp: 1, .. })));
}

/// Item 4, SF-003 under each setting: the other VPs' filters follow a retarget only when
/// they next run (`request_proxy_irr_filter_update` wakes them). Without redirection any
/// target VP other than the caller can take the interrupt in that window; with it only
/// the first target VP does, so the window needs a first target other than the caller.
#[test]
fn cross_vp_wake_window_under_redirection_needs_a_first_target_other_than_the_caller() {
    for proxy_redirect in [false, true] {
        let config = Config {
            vp_count: 2,
            proxy_redirect,
            ..cfg()
        };
        // First (only) target VP 1, caller VP 0: lost under both.
        let mut p = head(config);
        setup(&mut p, &[retarget(0, Vtl::Vtl0, 0, 0x40, 0b10)]);
        let (_, ev) = run(&mut p, device(0, 0));
        assert!(
            dropped(&ev, 1, 0x40, DropReason::Blocked),
            "{proxy_redirect}"
        );
        // Targets {0, 1}, pick VP 1: lost without redirection, on the caller (fresh
        // filter) with it.
        let mut p = head(config);
        setup(&mut p, &[retarget(0, Vtl::Vtl0, 0, 0x40, 0b11)]);
        let (_, ev) = run(&mut p, device(0, 1));
        assert_eq!(
            dropped(&ev, 1, 0x40, DropReason::Blocked),
            !proxy_redirect,
            "{proxy_redirect}"
        );
        if proxy_redirect {
            let (_, ev) = run(&mut p, run_vp(0));
            assert!(delivered_proxy(&ev, 0, 0x40));
        }
    }
}

/// Item 6: `use_interrupt_relay` starts false (`RelayTask::new`,
/// `vm/devices/vmbus/vmbus_relay/src/lib.rs`) and only an InitiateContact with an interrupt
/// page turns it on; in interrupt-page mode the server's event port is VP 0, even for a
/// channel opened with no interrupt (`ServerTaskInner::open_channel`,
/// `vm/devices/vmbus/vmbus_server/src/lib.rs`).
#[test]
fn interrupt_page_relay_starts_off_and_targets_vp0_even_without_an_interrupt() {
    let mut p = head(Config {
        vp_count: 2,
        era: VmbusEra::PreWin8,
        ..cfg()
    });
    assert!(!p.use_interrupt_relay);
    setup(
        &mut p,
        &[wr_sint(1, 2, plain(0x50)), wr_sint(0, 2, plain(0x51))],
    );
    setup(&mut p, &offer_and_open(0, 1));
    let signal = |slot| Op::HostSignalChannel(sintfuzz_model::op::HostSignalChannel { slot });
    // Opened before any interrupt page: the host signals VP 1 directly (proxy path).
    let (_, ev) = run(&mut p, signal(0));
    assert_eq!(proxy_asserted(&ev), set_of([0x50]));
    // Interrupt page: later opens relay through VTL2 to VP 0, "no interrupt" or not.
    setup(&mut p, &[interrupt_page()]);
    assert!(p.use_interrupt_relay);
    setup(&mut p, &offer_and_open(1, u32::MAX));
    let (r, ev) = run(&mut p, signal(1));
    assert_eq!(r, OpResult::Done);
    assert_eq!(delivered_on(&ev, Path::TrustedSynic), set_of([0x51]));
    assert!(p.vps[0].apic[0].irr.contains(0x51));
    // A modern guest's interrupt page is refused by the server.
    let mut q = head(cfg());
    setup(&mut q, &[interrupt_page()]);
    assert!(!q.use_interrupt_relay);
}

/// Item 7: the host signals with its own SINT state, masked at reset. Upstream never
/// copies trusted SINT values to the hypervisor (`UhProcessor::write_msr_cvm`,
/// `openhcl/virt_mshv_vtl/src/processor/mod.rs`); only the guest's TDVMCALL/GHCB writes
/// reach it. A mirroring guest (Linux `hv_set_msr`) writes that copy too, without the
/// proxy bit.
#[test]
fn host_uses_its_own_sint_state_masked_at_reset_unless_the_guest_mirrors() {
    let signal = Op::HostSignalSint(HostSignalSint { vp: 0, sint: 2 });
    // Not mirrored: the host's SINT2 is still masked.
    let mut p = head(Config {
        guest_mirrors_sints: false,
        ..cfg()
    });
    setup(&mut p, &[wr_sint(0, 2, plain(0x50))]);
    let (_, ev) = run(&mut p, signal);
    assert!(dropped(&ev, 0, 0, DropReason::HostSuppressed), "{ev:?}");
    assert!(proxy_asserted(&ev).is_empty());
    // ... until the guest writes the host's copy itself.
    setup(
        &mut p,
        &[Op::UntrustedWrMsr(UntrustedWrMsr {
            vp: 0,
            msr: sint_msr(2),
            value: plain(0x51),
        })],
    );
    let (_, ev) = run(&mut p, signal);
    assert_eq!(proxy_asserted(&ev), set_of([0x51]));
    // Mirrored: every trusted write reaches the host's copy, without the proxy bit.
    let mut p = head(cfg());
    setup(&mut p, &[wr_sint(0, 2, proxied(0x52))]);
    assert_eq!(p.vps[0].untrusted.sints[2].into_bits(), plain(0x52));
    let (_, ev) = run(&mut p, signal);
    assert_eq!(proxy_asserted(&ev), set_of([0x52]));
    // A VTL1 write of VTL0's SINT is not the VTL0 guest mirroring.
    let mut p = head(Config {
        vtl1_enabled: true,
        ..cfg()
    });
    setup(
        &mut p,
        &[set_sint_reg(0, Vtl::Vtl1, Vtl::Vtl0, 2, plain(0x53))],
    );
    assert!(p.vps[0].untrusted.sints[2].masked());
}

/// Item 8: a host message to VTL0 SINT2 is queued (`UhVpInner::post_message`), handled on
/// the VP's next run (`handle_wake` `MESSAGE_QUEUES` → `request_sint_notifications`) and
/// posted when its slot is free (`deliver_synic_messages`,
/// `openhcl/virt_mshv_vtl/src/processor/hardware_cvm/mod.rs`); a busy slot keeps it queued.
#[test]
fn host_messages_queue_wait_for_a_free_slot_and_interrupt_the_guest() {
    let mut p = head(cfg());
    setup(&mut p, &[wr_sint(0, 2, plain(0x50)), post(0), post(0)]);
    assert_eq!(p.vps[0].queues[0][2], 2);
    let (_, ev) = run(&mut p, run_vp(0));
    assert_eq!(delivered_on(&ev, Path::TrustedSynic), set_of([0x50]));
    assert_eq!(p.vps[0].queues[0][2], 1, "the second waits for the slot");
    let (_, ev) = run(&mut p, run_vp(0));
    assert!(delivered_on(&ev, Path::TrustedSynic).is_empty());
    setup(
        &mut p,
        &[Op::GuestAck(sintfuzz_model::op::GuestAck {
            vp: 0,
            vtl: Vtl::Vtl0,
        })],
    );
    let (_, ev) = run(&mut p, run_vp(0));
    assert_eq!(delivered_on(&ev, Path::TrustedSynic), set_of([0x50]));
    assert_eq!(p.vps[0].queues[0][2], 0);

    // Masked SINT: dropped when the VP handles the queue.
    let mut p = head(cfg());
    setup(&mut p, &[post(0)]);
    let (_, ev) = run(&mut p, run_vp(0));
    assert!(ev.is_empty(), "{ev:?}");
    assert_eq!(p.vps[0].queues[0][2], 0);

    // Proxied SINT: the host's synic takes it (TDX untrusted synic, SNP hypervisor → a
    // proxy interrupt on the host's vector).
    for isolation in [Isolation::Tdx, Isolation::Snp] {
        let mut p = head(Config { isolation, ..cfg() });
        setup(&mut p, &[wr_sint(0, 2, proxied(0x54)), post(0)]);
        let (_, ev) = run(&mut p, run_vp(0));
        if isolation == Isolation::Tdx {
            assert_eq!(delivered_on(&ev, Path::UntrustedSynic), set_of([0x54]));
        } else {
            assert_eq!(proxy_asserted(&ev), set_of([0x54]));
        }
        assert_eq!(p.vtl2_asserts, 0);
    }
}

/// Issue 20: the VMBus server posts to any VTL0 SINT the guest names (a reserved
/// channel's target, an unsupported multiclient InitiateContact's reply:
/// `VmbusServerTask::send_message`, `vm/devices/vmbus/vmbus_server/src/lib.rs`, through
/// `DirectGuestMessagePort` to `UhPartitionInner::post_message`): each SINT has its own
/// queue, slot and vector, and a message to one leaves the others alone.
#[test]
fn host_messages_to_any_vtl0_sint_use_that_sints_queue_slot_and_vector() {
    let mut p = head(cfg());
    setup(
        &mut p,
        &[
            wr_sint(0, 2, plain(0x50)),
            wr_sint(0, 9, plain(0x69)),
            Op::HostPostMessage(HostPostMessage { vp: 0, sint: 9 }),
        ],
    );
    assert_eq!(p.vps[0].queues[0][9], 1);
    assert_eq!(p.vps[0].queues[0][2], 0);
    let (_, ev) = run(&mut p, run_vp(0));
    assert_eq!(delivered_on(&ev, Path::TrustedSynic), set_of([0x69]));
    assert_eq!(p.vps[0].synic[0].slots_busy, 1 << 9);
    // SINT2's slot is still free: its message is posted at once.
    setup(&mut p, &[post(0)]);
    let (_, ev) = run(&mut p, run_vp(0));
    assert_eq!(delivered_on(&ev, Path::TrustedSynic), set_of([0x50]));
}

/// Item 8: `request_sint_notifications` asserts VTL0 for proxied SINTs with queued
/// messages, but only VTL0 queues are ever filled: OpenHCL's VMBus server is built for
/// VTL0 (`VmbusServer::builder` in `openhcl/underhill_core/src/worker.rs` sets no VTL),
/// and `UhPartitionInner`'s `Synic::post_message` is the only producer of
/// `message_queues`. With VTL1 marking SINT2 proxied, no operation reaches the assert.
#[test]
fn no_operation_queues_a_vtl1_message_so_the_notification_assert_is_unreachable() {
    let mut rng = Rng::new(0x5eed_0009);
    for _ in 0..300 {
        let mut config = gen::config(&mut rng, false);
        config.vtl1_enabled = true;
        let mut p = Partition::new(config, Revision::Head);
        // VTL1 marks every SINT proxied, VTL0 gets messages.
        for n in 0..16 {
            let _ = run(&mut p, wrmsr(0, Vtl::Vtl1, sint_msr(n), proxied(0x60)));
        }
        for op in gen::stream(&mut rng, 60) {
            let (_, ev) = run(&mut p, op);
            assert!(p.vps.iter().all(|vp| vp.queues[1] == [0; 16]));
            assert!(!ev.iter().any(|e| matches!(
                e,
                Event::Vtl2Assert {
                    site: AssertSite::SintNotifications,
                    ..
                }
            )));
        }
    }
}

/// Item 9: `retarget_interrupt` returns `hv_result.or(virtual_result)`
/// (`openhcl/virt_mshv_vtl/src/processor/hardware_cvm/mod.rs`); the model's devices are
/// physical, so the hypervisor's (or the redirection's) answer decides acceptance, and a
/// rejected call answers the virtual path's `InvalidDeviceId` (no software device owns the
/// id: `vmm_core/virt/src/x86/apic_software_device.rs` `retarget_interrupt`).
#[test]
fn retarget_status_is_the_physical_result_or_else_the_virtual_one() {
    let two = |proxy_redirect| Config {
        vp_count: 2,
        proxy_redirect,
        ..cfg()
    };
    for (redirect, vector, targets, ok) in [
        (false, 0x40, 0b01, true),
        (false, 0x130, 0b01, false),
        (false, 0x40, 0b1001, false),
        // Redirection asks the hypervisor for the first VP alone.
        (true, 0x40, 0b1001, true),
        (true, 0x130, 0b01, false),
    ] {
        let mut p = head(two(redirect));
        let (r, _) = run(&mut p, retarget(0, Vtl::Vtl0, 0, vector, targets));
        let expected = if ok {
            HvStatus::Success
        } else {
            HvStatus::InvalidDeviceId
        };
        assert_eq!(
            r,
            OpResult::Hv(expected),
            "{redirect} {vector:#x} {targets:#b}"
        );
        assert_eq!(p.devices[0].is_some(), ok);
    }
}

/// Issue 20: the host raises a channel's SINT only when its event flag goes from 0 to 1
/// (`GlobalSynic::signal_event`, `vm/hv1/hv1_emulator/src/synic.rs`, the hypervisor's
/// semantics; `partition.rs` `host_signal_sint`). The #1162 witness (proxy-bit: SINT2
/// without the proxy bit, one relay signal dropped by the filter) plus later signals:
/// once the filter admits the vector, later signals still raise nothing, because the
/// lost one left the flag set. The channel is hung until the guest scans its flags.
#[test]
fn a_lost_relay_interrupt_leaves_the_event_flag_set_and_the_channel_hung() {
    let signal = Op::HostSignalChannel(sintfuzz_model::op::HostSignalChannel { slot: 0 });
    let mut p = Partition::new(cfg(), Revision::ProxyBit);
    setup(&mut p, &[wr_sint(0, 2, plain(0x30))]);
    setup(&mut p, &offer_and_open(0, 0));
    // The witness: the signal is dropped by the filter, nothing reaches VTL0.
    let (_, ev) = run(&mut p, signal);
    assert!(dropped(&ev, 0, 0x30, DropReason::Blocked));
    let (_, ev) = run(&mut p, run_vp(0));
    assert!(!delivered_proxy(&ev, 0, 0x30));
    // The guest adds the proxy bit: proxy-bit's filter now admits 0x30 ...
    setup(&mut p, &[wr_sint(0, 2, proxied(0x30))]);
    assert!(allowed(&p, 0).contains(0x30));
    // ... but every later signal on the channel finds its flag set and raises nothing.
    for _ in 0..3 {
        let (_, ev) = run(&mut p, signal);
        assert!(proxy_asserted(&ev).is_empty());
        assert!(dropped(&ev, 0, 0x30, DropReason::FlagAlreadySet));
        let (_, ev) = run(&mut p, run_vp(0));
        assert!(!delivered_proxy(&ev, 0, 0x30));
    }
    // Until the guest scans its event flags (an ack: another interrupt on SINT2).
    setup(
        &mut p,
        &[Op::GuestAck(sintfuzz_model::op::GuestAck {
            vp: 0,
            vtl: Vtl::Vtl0,
        })],
    );
    let (_, ev) = run(&mut p, signal);
    assert_eq!(proxy_asserted(&ev), set_of([0x30]));
    let (_, ev) = run(&mut p, run_vp(0));
    assert!(delivered_proxy(&ev, 0, 0x30));
    // A delivered signal coalesces the same way until the guest scans: one interrupt.
    let (_, ev) = run(&mut p, signal);
    assert!(dropped(&ev, 0, 0x30, DropReason::FlagAlreadySet));
}
