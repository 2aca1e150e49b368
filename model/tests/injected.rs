//! The test-only injected defects (`src/defect.rs`, feature `inject`): each one does what
//! it says against `proposed` and nothing else, so the grouping tests in
//! `targets/tests/injected.rs` feed them the bug they name.
#![cfg(feature = "inject")]

mod common;

use common::*;
use sintfuzz_model::{Partition, Revision, Sint, Vtl};

fn on(revision: Revision, vps: u8) -> (Partition, Partition) {
    (
        Partition::new(cfg_vps(vps), Revision::Proposed),
        Partition::new(cfg_vps(vps), revision),
    )
}

#[test]
fn masked_sint_admitted_admits_a_masked_sint2_only_with_the_defect() {
    let (mut good, mut bad) = on(Revision::InjectMaskedSint, 1);
    for p in [&mut good, &mut bad] {
        setup(p, &[wr_sint(0, 2, plain(0x50) | Sint::MASKED)]);
    }
    assert!(!allowed(&good, 0).contains(0x50));
    assert!(allowed(&bad, 0).contains(0x50));
}

#[test]
fn sint2_wrmsr_stale_skips_the_recompute_of_sint2_writes_only() {
    let (mut good, mut bad) = on(Revision::InjectSint2Wrmsr, 1);
    for p in [&mut good, &mut bad] {
        setup(p, &[wr_sint(0, 2, plain(0x50))]);
    }
    assert!(allowed(&good, 0).contains(0x50));
    assert!(!allowed(&bad, 0).contains(0x50));
    // Another SINT's write still recomputes, and then admits SINT2 too.
    setup(&mut bad, &[wr_sint(0, 3, proxied(0x60))]);
    assert!(allowed(&bad, 0).contains(0x50) && allowed(&bad, 0).contains(0x60));
}

#[test]
fn device_first_target_skipped_admits_on_the_other_target_vps_only() {
    let (mut good, mut bad) = on(Revision::InjectDeviceFirstVp, 3);
    for p in [&mut good, &mut bad] {
        setup(p, &[retarget(0, Vtl::Vtl0, 0, 0x70, 0b110)]);
    }
    assert!(allowed(&good, 1).contains(0x70) && allowed(&good, 2).contains(0x70));
    assert!(!allowed(&bad, 1).contains(0x70) && allowed(&bad, 2).contains(0x70));
}

#[test]
fn poll_overwrites_irr_loses_what_was_pending_only_with_the_defect() {
    let (mut good, mut bad) = on(Revision::InjectPollOverwritesIrr, 1);
    for p in [&mut good, &mut bad] {
        setup(
            p,
            &[
                wr_sint(0, 5, proxied(0x50)),
                wr_sint(0, 6, proxied(0x60)),
                host_assert(0, 0x50),
                run_vp(0),
                host_assert(0, 0x60),
            ],
        );
        assert_eq!(p.guest_irr(0), set_of([0x50]));
    }
    // The second poll reports 0x60 delivered on both; only the defect drops 0x50.
    for p in [&mut good, &mut bad] {
        let (_, events) = run(p, run_vp(0));
        assert!(delivered_proxy(&events, 0, 0x60));
    }
    assert_eq!(good.guest_irr(0), set_of([0x50, 0x60]));
    assert_eq!(bad.guest_irr(0), set_of([0x60]));
}
