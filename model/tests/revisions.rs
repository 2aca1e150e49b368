//! For each revision, the behaviour that differs from its predecessor (§4.1, §4.2 and the
//! `proposed` policy in `model/src/revision.rs`). Each test runs the same operations on
//! both revisions and asserts that the outcome differs exactly as the change says.

mod common;

use common::*;
use sintfuzz_model::hvdef::{msr, Sint};
use sintfuzz_model::op::{HostDeviceInterrupt, HostOffer, HostSignalChannel, OpenChannel};
use sintfuzz_model::{
    AssertSite, Config, DropReason, Event, HvStatus, Op, OpResult, Partition, Revision,
    UpdateCause, VectorSet, Vtl,
};

fn on(revision: Revision, config: Config) -> Partition {
    Partition::new(config, revision)
}

fn vtl2_assert(events: &[Event], site: AssertSite) -> bool {
    events
        .iter()
        .any(|e| matches!(*e, Event::Vtl2Assert { site: s, .. } if s == site))
}

// ----- unfiltered -> proxy-bit (#609) -----

/// #609 (`UhProcessor::update_proxy_irr_filter` in `openhcl/virt_mshv_vtl/src/processor/mod.rs`,
/// `HclVp::new` in `openhcl/hcl/src/ioctl.rs`): a malicious HostAssert of an arbitrary
/// vector reaches VTL0 without the filter and is dropped as blocked with it.
#[test]
fn unfiltered_to_proxy_bit_malicious_assert_is_blocked() {
    let ops = [host_assert(0, 0x77), run_vp(0)];

    let mut p = on(Revision::Unfiltered, cfg());
    assert_eq!(p.vps[0].run.proxy_irr_blocked, VectorSet::EMPTY);
    let (_, a) = run(&mut p, ops[0]);
    let (_, b) = run(&mut p, ops[1]);
    assert_eq!(dropped_count(&a, DropReason::Blocked), 0);
    assert!(delivered_proxy(&b, 0, 0x77));
    assert!(p.vps[0].apic[0].irr.contains(0x77));

    let mut p = on(Revision::ProxyBit, cfg());
    assert_eq!(p.vps[0].run.proxy_irr_blocked, VectorSet::ALL);
    let (_, a) = run(&mut p, ops[0]);
    let (_, b) = run(&mut p, ops[1]);
    assert!(dropped(&a, 0, 0x77, DropReason::Blocked));
    assert!(!delivered_proxy(&b, 0, 0x77));
    assert!(p.vps[0].apic[0].irr.is_empty());
}

/// Without #609 there is no filter code at all: SINT writes and retargets never rewrite
/// `proxy_irr_blocked`, and nothing (not even VTL1) reaches the VTL0 assert.
#[test]
fn unfiltered_has_no_filter_updates_and_no_asserts() {
    let config = Config {
        vp_count: 2,
        ..cfg_vtl1()
    };
    let ops = [
        wr_sint(0, 2, proxied(0x50)),
        wrmsr(0, Vtl::Vtl1, sint_msr(2), proxied(0x51)),
        retarget(0, Vtl::Vtl1, 0, 0x60, 1),
        retarget(0, Vtl::Vtl0, 1, 0x61, 2),
        run_vp(1),
    ];
    let mut u = on(Revision::Unfiltered, config);
    let mut f = on(Revision::ProxyBit, config);
    let (mut eu, mut ef) = (Vec::new(), Vec::new());
    for op in ops {
        u.apply(&op, &mut eu);
        f.apply(&op, &mut ef);
    }
    assert!(!any_filter_update(&eu) && asserts(&eu) == 0, "{eu:?}");
    assert_eq!(u.vps[0].run.proxy_irr_blocked, VectorSet::EMPTY);
    assert!(any_filter_update(&ef) && asserts(&ef) > 0, "{ef:?}");
}

// ----- proxy-bit -> relay-aware (#1207) -----

/// #1207 (fixes #1162): with the relay on, VTL0 programs SINT2 *without* the proxy bit.
/// Before it, the SINT2 vector was never admitted (and no update was even triggered), so
/// the host's proxy interrupt for a relayed channel was dropped; after it, delivered.
/// Mirrors `UhProcessor::update_proxy_irr_filter` and the SINT trigger of `write_msr_cvm`.
#[test]
fn proxy_bit_to_relay_aware_relayed_channel_interrupt_is_delivered() {
    let ops = [
        wr_sint(0, 2, plain(0x50)),
        Op::HostOffer(HostOffer { slot: 0 }),
        Op::OpenChannel(OpenChannel {
            slot: 0,
            target_vp: 0,
            event_flag: 1,
        }),
        Op::HostSignalChannel(HostSignalChannel { slot: 0 }),
        run_vp(0),
    ];
    let mut events = Vec::new();
    for rev in [Revision::ProxyBit, Revision::RelayAware] {
        let mut p = on(rev, cfg());
        let mut ev = Vec::new();
        for op in ops {
            let r = p.apply(&op, &mut ev);
            assert!(!matches!(r, OpResult::Refused(_)), "{rev}: {op:?} {r:?}");
        }
        events.push(ev);
    }
    let (before, after) = (&events[0], &events[1]);
    // proxy-bit: no trigger (neither old nor new SINT2 has the proxy bit), then dropped.
    assert!(!any_filter_update(before), "{before:?}");
    assert!(dropped(before, 0, 0x50, DropReason::Blocked));
    assert!(!delivered_proxy(before, 0, 0x50));
    // relay-aware: every SINT write recomputes, SINT2 admitted, delivered.
    assert_eq!(filter_updates(after, 0), vec![UpdateCause::WrMsr]);
    assert!(!dropped(after, 0, 0x50, DropReason::Blocked));
    assert!(delivered_proxy(after, 0, 0x50));
}

/// Before #1207 the update ran with the writing VTL only when the old or new SINT had the
/// proxy bit, so a VTL1 WRMSR reached `assert_eq!(vtl, Vtl0)` in that case only (§4.2,
/// checked against the parent of #1207).
#[test]
fn proxy_bit_vtl1_sint_wrmsr_asserts_only_when_old_or_new_has_proxy() {
    let mut p = on(Revision::ProxyBit, cfg_vtl1());
    let (r, ev) = run(&mut p, wrmsr(0, Vtl::Vtl1, sint_msr(2), plain(0x50)));
    assert_eq!(r, msr_ok(plain(0x50)));
    assert!(ev.is_empty());

    // New value has the proxy bit.
    let mut q = p.clone();
    let (r, ev) = run(&mut q, wrmsr(0, Vtl::Vtl1, sint_msr(3), proxied(0x51)));
    assert_eq!(r, OpResult::Vtl2Assert);
    assert!(vtl2_assert(&ev, AssertSite::WrMsr));
    assert_eq!(q.vtl2_asserts, 1);
    // Old value has the proxy bit (set through a VTL1 register write, which never
    // recomputes).
    let mut q = p.clone();
    setup(
        &mut q,
        &[set_sint_reg(0, Vtl::Vtl1, Vtl::Vtl1, 3, proxied(0x51))],
    );
    let (r, _) = run(&mut q, wrmsr(0, Vtl::Vtl1, sint_msr(3), plain(0x52)));
    assert_eq!(r, OpResult::Vtl2Assert);
    // Neither.
    let (r, _) = run(&mut p, wrmsr(0, Vtl::Vtl1, sint_msr(3), plain(0x53)));
    assert_eq!(r, msr_ok(plain(0x53)));
    assert_eq!(p.vtl2_asserts, 0);
}

/// #1207 made every SINT write by any VTL recompute, so every VTL1 SINT WRMSR hits the
/// VTL0 assert (what #1275 then fixed).
#[test]
fn relay_aware_every_vtl1_sint_wrmsr_asserts() {
    for value in [plain(0x50), proxied(0x51), Sint::RESET.into_bits()] {
        let mut before = on(Revision::ProxyBit, cfg_vtl1());
        let mut after = on(Revision::RelayAware, cfg_vtl1());
        let op = wrmsr(0, Vtl::Vtl1, sint_msr(2), value);
        let (rb, _) = run(&mut before, op);
        let (ra, ea) = run(&mut after, op);
        assert_eq!(ra, OpResult::Vtl2Assert, "{value:#x}");
        assert!(vtl2_assert(&ea, AssertSite::WrMsr));
        assert_eq!(after.vtl2_asserts, 1);
        // proxy-bit asserts only for the proxied value.
        assert_eq!(
            rb == OpResult::Vtl2Assert,
            Sint::from_bits(value).proxy(),
            "{value:#x}"
        );
    }
}

// ----- relay-aware -> head (#1275) -----

/// #1275: the WRMSR recompute is gated on `vtl == Vtl0`, so a VTL1 SINT write no longer
/// asserts; VTL0 writes still recompute in both.
#[test]
fn relay_aware_to_head_vtl1_sint_write_is_not_an_assert() {
    for value in [plain(0x50), proxied(0x51)] {
        let op = wrmsr(0, Vtl::Vtl1, sint_msr(2), value);
        let mut ra = on(Revision::RelayAware, cfg_vtl1());
        let mut hd = on(Revision::Head, cfg_vtl1());
        assert_eq!(run(&mut ra, op).0, OpResult::Vtl2Assert);
        let (r, ev) = run(&mut hd, op);
        assert_eq!(r, msr_ok(value));
        assert!(ev.is_empty(), "{ev:?}");
        assert_eq!(hd.vtl2_asserts, 0);
        assert_eq!(hd.vps[0].synic[1].sints[2], Sint::from_bits(value));

        // VTL0 SINT writes recompute identically in both (on a relay-aware VM that did
        // not just go down).
        let mut ra = on(Revision::RelayAware, cfg_vtl1());
        setup(&mut ra, &[set_sint_reg(0, Vtl::Vtl1, Vtl::Vtl1, 2, value)]);
        let op0 = wr_sint(0, 2, plain(0x52));
        let (_, e1) = run(&mut ra, op0);
        let (_, e2) = run(&mut hd, op0);
        assert_eq!(e1, e2);
        assert_eq!(filter_updates(&e2, 0), vec![UpdateCause::WrMsr]);
        assert_eq!(ra.vps, hd.vps);
    }
}

// ----- head -> proposed -----

/// Proposed: HvSetVpRegisters on a VTL0 SINT recomputes the filter; at head it stays
/// stale.
#[test]
fn head_to_proposed_set_vp_register_updates_the_filter() {
    for caller in [Vtl::Vtl0, Vtl::Vtl1] {
        let op = set_sint_reg(0, caller, Vtl::Vtl0, 2, plain(0x50));
        let mut hd = on(Revision::Head, cfg_vtl1());
        let mut pr = on(Revision::Proposed, cfg_vtl1());
        let (r, ev) = run(&mut hd, op);
        assert_eq!(r, OpResult::Hv(HvStatus::Success));
        assert!(!any_filter_update(&ev));
        assert!(!allowed(&hd, 0).contains(0x50));
        let (r, ev) = run(&mut pr, op);
        assert_eq!(r, OpResult::Hv(HvStatus::Success));
        assert_eq!(filter_updates(&ev, 0), vec![UpdateCause::SetVpRegister]);
        assert!(allowed(&pr, 0).contains(0x50));
    }
}

/// Proposed: with the relay on only the VMBus SINT (SINT2) is admitted without the proxy
/// bit; head admits all 16.
#[test]
fn head_to_proposed_relay_admits_sint2_but_not_sint3() {
    let ops = [wr_sint(0, 2, plain(0x50)), wr_sint(0, 3, plain(0x51))];
    let mut hd = on(Revision::Head, cfg());
    let mut pr = on(Revision::Proposed, cfg());
    setup(&mut hd, &ops);
    setup(&mut pr, &ops);
    assert_eq!(allowed(&hd, 0), set_of([0x50, 0x51]));
    assert_eq!(allowed(&pr, 0), set_of([0x50]));
    // A proxy-bit SINT3 still counts in proposed.
    setup(&mut pr, &[wr_sint(0, 3, proxied(0x51))]);
    assert_eq!(allowed(&pr, 0), set_of([0x50, 0x51]));
}

/// Proposed: vectors 0..=15 are never admitted, whatever admits them at head (relay SINT,
/// proxy SINT, device table).
#[test]
fn head_to_proposed_vectors_below_16_are_never_admitted() {
    let ops = [
        wr_sint(0, 2, plain(5)),
        wr_sint(0, 4, proxied(0)),
        retarget(0, Vtl::Vtl0, 0, 15, 1),
    ];
    let mut hd = on(Revision::Head, cfg());
    let mut pr = on(Revision::Proposed, cfg());
    for op in ops {
        let _ = run(&mut hd, op);
        let _ = run(&mut pr, op);
    }
    assert_eq!(
        allowed(&hd, 0).intersection(VectorSet::RESERVED),
        set_of([0, 5, 15])
    );
    assert!(allowed(&pr, 0).intersection(VectorSet::RESERVED).is_empty());
    let (_, ev) = run(&mut pr, host_assert_multi(0, VectorSet::RESERVED));
    assert_eq!(dropped_count(&ev, DropReason::Blocked), 16);
}

/// Proposed: a retarget from VTL1 never touches the VTL0 filter, so no assert; head
/// asserts on the caller.
#[test]
fn head_to_proposed_vtl1_retarget_does_not_assert() {
    let config = Config {
        vp_count: 2,
        ..cfg_vtl1()
    };
    let op = retarget(0, Vtl::Vtl1, 0, 0x40, 1);
    let mut hd = on(Revision::Head, config);
    let mut pr = on(Revision::Proposed, config);
    let (r, ev) = run(&mut hd, op);
    assert_eq!(r, OpResult::Vtl2Assert);
    assert!(vtl2_assert(&ev, AssertSite::Retarget));
    let (r, ev) = run(&mut pr, op);
    assert_eq!(r, OpResult::Hv(HvStatus::Success));
    assert_eq!(asserts(&ev), 0);
    assert!(!ev.iter().any(|e| matches!(e, Event::WakeQueued { .. })));
    let (r, ev) = run(&mut pr, run_vp(1));
    assert_eq!(r, OpResult::Done);
    assert_eq!(asserts(&ev), 0);
    assert_eq!(pr.vtl2_asserts, 0);
    // The VTL1 route's vector is not admitted into any VTL0 filter.
    assert!(!allowed(&pr, 0).contains(0x40) && !allowed(&pr, 1).contains(0x40));
}

/// Proposed: a retarget recomputes every VP's filter before the hypercall returns; head
/// wakes the other VPs, which drop the device's interrupt until they run.
#[test]
fn head_to_proposed_retarget_updates_other_vps_synchronously() {
    let op = retarget(0, Vtl::Vtl0, 0, 0x70, 0b10);
    let irq = Op::HostDeviceInterrupt(HostDeviceInterrupt { device: 0, pick: 0 });

    let mut hd = on(Revision::Head, cfg_vps(2));
    let (_, ev) = run(&mut hd, op);
    assert!(ev.contains(&Event::WakeQueued {
        vp: 1,
        vtl: Vtl::Vtl0
    }));
    assert!(!allowed(&hd, 1).contains(0x70));
    assert!(dropped(&run(&mut hd, irq).1, 1, 0x70, DropReason::Blocked));

    let mut pr = on(Revision::Proposed, cfg_vps(2));
    let (_, ev) = run(&mut pr, op);
    assert!(!ev.iter().any(|e| matches!(e, Event::WakeQueued { .. })));
    assert_eq!(filter_updates(&ev, 1), vec![UpdateCause::Retarget]);
    assert!(allowed(&pr, 1).contains(0x70));
    assert_eq!(dropped_count(&run(&mut pr, irq).1, DropReason::Blocked), 0);
    assert!(delivered_proxy(&run(&mut pr, run_vp(1)).1, 1, 0x70));
}

/// Proposed: device vectors are per device and per target VP, so a vector the device was
/// retargeted away from is dropped; head's table keeps admitting it.
#[test]
fn head_to_proposed_stale_device_vector_is_dropped_after_retarget_away() {
    let ops = [
        retarget(0, Vtl::Vtl0, 0, 0x40, 1),
        retarget(0, Vtl::Vtl0, 0, 0x50, 1),
    ];
    let mut hd = on(Revision::Head, cfg());
    let mut pr = on(Revision::Proposed, cfg());
    setup(&mut hd, &ops);
    setup(&mut pr, &ops);
    let (_, ev) = run(&mut hd, host_assert(0, 0x40));
    assert_eq!(dropped_count(&ev, DropReason::Blocked), 0);
    let (_, ev) = run(&mut pr, host_assert(0, 0x40));
    assert!(dropped(&ev, 0, 0x40, DropReason::Blocked));
    let (_, ev) = run(&mut pr, host_assert(0, 0x50));
    assert_eq!(dropped_count(&ev, DropReason::Blocked), 0);
    assert_eq!(allowed(&pr, 0), set_of([0x50]));
}

/// Proposed: with VTL0's SCONTROL disabled no SINT vector is admitted (and SCONTROL writes
/// recompute); head ignores SCONTROL.
#[test]
fn head_to_proposed_scontrol_disabled_admits_no_sint_vectors() {
    let ops = [
        wr_sint(0, 2, plain(0x50)),
        wr_sint(0, 3, proxied(0x51)),
        wrmsr(0, Vtl::Vtl0, msr::SCONTROL, 0),
    ];
    let mut hd = on(Revision::Head, cfg());
    let mut pr = on(Revision::Proposed, cfg());
    let mut eh = Vec::new();
    let mut ep = Vec::new();
    for op in ops {
        hd.apply(&op, &mut eh);
        pr.apply(&op, &mut ep);
    }
    assert_eq!(allowed(&hd, 0), set_of([0x50, 0x51]));
    assert!(allowed(&pr, 0).is_empty(), "{}", allowed(&pr, 0));
    // Re-enabling through SCONTROL brings them back at once in proposed.
    setup(&mut pr, &[wrmsr(0, Vtl::Vtl0, msr::SCONTROL, 1)]);
    assert_eq!(allowed(&pr, 0), set_of([0x50, 0x51]));
    assert_eq!(filter_updates(&eh, 0).len(), 2);
    assert_eq!(filter_updates(&ep, 0).len(), 3);
}
