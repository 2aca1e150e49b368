//! The synic register rules of §1.3 (`ProcessorSynic::write_msr` / `read_msr` and
//! `write_reg` / `read_reg` in `vm/hv1/hv1_emulator/src/synic.rs`) and the
//! HvCallSetVpRegisters access rules of §1.5 (`set_vp_registers` /
//! `validate_register_access` in `openhcl/virt_mshv_vtl/src/processor/hardware_cvm/mod.rs`),
//! at [`Revision::Head`].

mod common;

use common::*;
use sintfuzz_model::hvdef::{msr, reg, Sint, VP_INDEX_SELF};
use sintfuzz_model::op::SetVpRegister;
use sintfuzz_model::synic::{Signal, GUEST_PAGES};
use sintfuzz_model::{Config, HvStatus, MsrOutcome, Op, OpResult, Partition, Vtl};

fn both_vtls() -> Partition {
    head(Config {
        vp_count: 2,
        ..cfg_vtl1()
    })
}

/// SCONTROL: raw 64-bit store (reserved bits included), never fails, reset value 1; the
/// `enabled` bit is what `signal_event` sees.
#[test]
fn scontrol_stores_raw_value_and_resets_to_1() {
    let mut p = both_vtls();
    for vtl in Vtl::GUEST {
        for vp in 0..2 {
            assert_eq!(run(&mut p, rdmsr(vp, vtl, msr::SCONTROL)).0, msr_ok(1));
        }
    }
    let raw = 0xdead_beef_0000_fffe; // bit 0 clear, reserved bits set
    for vtl in Vtl::GUEST {
        assert_eq!(
            run(&mut p, wrmsr(0, vtl, msr::SCONTROL, raw)).0,
            msr_ok(raw)
        );
        assert_eq!(run(&mut p, rdmsr(0, vtl, msr::SCONTROL)).0, msr_ok(raw));
        assert!(!p.vps[0].synic[vtl.index()].enabled());
    }
    // VP1 is untouched.
    assert_eq!(run(&mut p, rdmsr(1, Vtl::Vtl0, msr::SCONTROL)).0, msr_ok(1));

    // `signal_event` follows the enabled bit of the raw value.
    setup(&mut p, &[wr_sint(0, 2, plain(0x50))]);
    assert_eq!(
        p.vps[0].synic[0].clone().signal_event(2, 0),
        Signal::Refused
    );
    setup(&mut p, &[wrmsr(0, Vtl::Vtl0, msr::SCONTROL, raw | 1)]);
    assert_eq!(
        run(&mut p, rdmsr(0, Vtl::Vtl0, msr::SCONTROL)).0,
        msr_ok(raw | 1)
    );
    assert_eq!(
        p.vps[0].synic[0].clone().signal_event(2, 0),
        Signal::Interrupt {
            vector: 0x50,
            auto_eoi: false
        }
    );
}

/// SVERSION: the only read-only synic register. A write is `InvalidAccess` (#GP) and
/// changes nothing; a read is always 1.
#[test]
fn sversion_write_is_gp_and_read_is_1() {
    let mut p = both_vtls();
    let before = p.clone();
    for vtl in Vtl::GUEST {
        for value in [0, 1, 2, u64::MAX] {
            let (r, ev) = run(&mut p, wrmsr(0, vtl, msr::SVERSION, value));
            assert_eq!(r, OpResult::Msr(MsrOutcome::Gp));
            assert!(ev.is_empty());
        }
        assert_eq!(run(&mut p, rdmsr(0, vtl, msr::SVERSION)).0, msr_ok(1));
    }
    assert_eq!(p, before);
}

/// SIEFP / SIMP: on success the raw value is stored (reserved bits 1–11 unchecked); an
/// overlay that cannot be locked (GPN at or beyond the guest's memory) is
/// `InvalidAccess` (#GP) and leaves the register unchanged.
#[test]
fn siefp_and_simp_store_raw_and_gp_when_the_overlay_cannot_be_locked() {
    for n in [msr::SIEFP, msr::SIMP] {
        let mut p = both_vtls();
        for vtl in Vtl::GUEST {
            assert_eq!(run(&mut p, rdmsr(0, vtl, n)).0, msr_ok(0));
            // Last lockable page, enabled, with reserved bits 1..=11 set.
            let good = ((GUEST_PAGES - 1) << 12) | 0xfff;
            assert_eq!(run(&mut p, wrmsr(0, vtl, n, good)).0, msr_ok(good));
            assert_eq!(run(&mut p, rdmsr(0, vtl, n)).0, msr_ok(good));

            for bad_gpn in [GUEST_PAGES, GUEST_PAGES + 1, u64::MAX >> 12] {
                let bad = (bad_gpn << 12) | 1;
                let (r, ev) = run(&mut p, wrmsr(0, vtl, n, bad));
                assert_eq!(r, OpResult::Msr(MsrOutcome::Gp), "{n:#x} {bad:#x}");
                assert!(ev.is_empty());
                assert_eq!(run(&mut p, rdmsr(0, vtl, n)).0, msr_ok(good), "unchanged");
            }
        }
        // The other VTL's and the other register's values are independent.
        let other = if n == msr::SIEFP {
            msr::SIMP
        } else {
            msr::SIEFP
        };
        assert_eq!(run(&mut p, rdmsr(0, Vtl::Vtl0, other)).0, msr_ok(0));
    }
}

/// EOM: writes are ignored and never fail; reads are always 0.
#[test]
fn eom_write_is_ignored_and_read_is_0() {
    let mut p = both_vtls();
    let before = p.clone();
    for vtl in Vtl::GUEST {
        for value in [0, 1, u64::MAX] {
            let (r, ev) = run(&mut p, wrmsr(0, vtl, msr::EOM, value));
            assert!(matches!(r, OpResult::Msr(MsrOutcome::Ok(_))), "{r:?}");
            assert!(ev.is_empty());
            assert_eq!(run(&mut p, rdmsr(0, vtl, msr::EOM)).0, msr_ok(0));
        }
    }
    assert_eq!(p, before);
}

/// SINTn: `set_sint` stores the raw u64 with no validation (reserved bits, vectors below
/// 16, any pattern) and never fails; a read returns exactly what was written.
#[test]
fn sint_write_stores_the_raw_value_without_validation() {
    let reserved = 0xff00 | (1 << 19) | (u64::MAX << 21);
    let values = [
        0,
        1,
        15,
        plain(5) | reserved,
        proxied(0x10) | Sint::MASKED | Sint::POLLING | Sint::AUTO_EOI,
        Sint::RESET.into_bits(),
        u64::MAX,
        0x8000_0000_0000_0000,
    ];
    let mut p = both_vtls();
    for vtl in Vtl::GUEST {
        for n in 0..16u8 {
            for &value in &values {
                let (r, _) = run(&mut p, wrmsr(1, vtl, sint_msr(n), value));
                assert_eq!(r, msr_ok(value), "{vtl} SINT{n} {value:#x}");
                assert_eq!(
                    run(&mut p, rdmsr(1, vtl, sint_msr(n))).0,
                    msr_ok(value),
                    "{vtl} SINT{n} {value:#x}"
                );
            }
            // Leave a distinct value behind to check SINTs are independent.
            setup(&mut p, &[wrmsr(1, vtl, sint_msr(n), 0x100 + n as u64)]);
        }
        for n in 0..16u8 {
            assert_eq!(
                run(&mut p, rdmsr(1, vtl, sint_msr(n))).0,
                msr_ok(0x100 + n as u64)
            );
        }
    }
    // Reset value of every SINT is masked (raw 0x1_0000), on the VP not written to.
    for n in 0..16u8 {
        assert_eq!(
            run(&mut p, rdmsr(0, Vtl::Vtl0, sint_msr(n))).0,
            msr_ok(0x1_0000)
        );
    }
}

/// The holes `0x4000_0085..=0x4000_008F` and `0x4000_00A0..=0x4000_00AF`: the synic
/// returns `MsrError::Unknown` (not #GP): the write is dropped, the read gives `Unknown`,
/// and a hole write never triggers the filter.
#[test]
fn synic_holes_are_unknown_not_gp() {
    let mut p = both_vtls();
    setup(&mut p, &[wr_sint(0, 2, plain(0x50))]);
    let before = p.clone();
    for n in (0x4000_0085..=0x4000_008f).chain(0x4000_00a0..=0x4000_00af) {
        for vtl in Vtl::GUEST {
            let (r, ev) = run(&mut p, wrmsr(0, vtl, n, u64::MAX));
            assert_eq!(r, OpResult::Msr(MsrOutcome::Unknown), "{n:#x}");
            assert!(ev.is_empty(), "{n:#x}: {ev:?}");
            assert_eq!(
                run(&mut p, rdmsr(0, vtl, n)).0,
                OpResult::Msr(MsrOutcome::Unknown),
                "{n:#x}"
            );
        }
    }
    assert_eq!(p, before);
}

/// Item 5 of issue 9: a name `set_vp_register` does not handle is "unsupported register",
/// `InvalidParameter` (the `_` arm of `UhHypercallHandler::set_vp_register`,
/// `openhcl/virt_mshv_vtl/src/processor/hardware_cvm/mod.rs`), and changes nothing.
#[test]
fn set_vp_register_unknown_name_is_invalid_parameter() {
    let mut p = both_vtls();
    let before = p.clone();
    for name in [
        0,
        reg::EOM + 1,
        reg::SINT0 - 1,
        0x000a_001f,
        0x000b_0008,
        0xdead_beef,
    ] {
        assert_eq!(
            reg::to_msr(name),
            None,
            "{name:#x} must not be a synic name"
        );
        let (r, ev) = run(&mut p, set_reg(0, Vtl::Vtl0, Vtl::Vtl0, name, 1));
        assert_eq!(r, OpResult::Hv(HvStatus::InvalidParameter), "{name:#x}");
        assert!(ev.is_empty());
    }
    assert_eq!(p, before);
}

/// Item 5 of issue 9: the synthetic timer names `0xB0000..=0xB0007` reach the synic
/// (`ProcessorSynic::reg_to_msr`, `vm/hv1/hv1_emulator/src/synic.rs`) and store like the
/// STIMER MSRs; `HvRegisterVsmVina` is `0x000D0005` and `0x000D0007` is
/// `VsmPartitionConfig` (`vm/hv1/hvdef/src/lib.rs`), valid only for a VTL1 target.
#[test]
fn set_vp_register_stimer_names_are_accepted_and_vsm_names_are_hvdefs() {
    assert_eq!(reg::VSM_VINA, 0x000d_0005);
    assert_eq!(reg::VSM_PARTITION_CONFIG, 0x000d_0007);
    let mut p = both_vtls();
    for i in 0..8u32 {
        let (r, _) = run(
            &mut p,
            set_reg(
                0,
                Vtl::Vtl0,
                Vtl::Vtl0,
                reg::STIMER0_CONFIG + i,
                0x100 + i as u64,
            ),
        );
        assert_eq!(r, OpResult::Hv(HvStatus::Success), "stimer {i}");
        assert_eq!(
            p.vps[0].synic[0].read_msr(msr::STIMER0_CONFIG + i),
            MsrOutcome::Ok(0x100 + i as u64)
        );
    }
    // VsmPartitionConfig: a VTL0 target is InvalidParameter; a VTL1 target needs the
    // supported bits and read+write default protections.
    let cfg_write = |p: &mut Partition, caller, target, value| {
        run(
            p,
            set_reg(0, caller, target, reg::VSM_PARTITION_CONFIG, value),
        )
        .0
    };
    assert_eq!(
        cfg_write(&mut p, Vtl::Vtl1, Vtl::Vtl0, 0x7),
        OpResult::Hv(HvStatus::InvalidParameter)
    );
    assert_eq!(
        cfg_write(&mut p, Vtl::Vtl0, Vtl::Vtl0, 0x7),
        OpResult::Hv(HvStatus::InvalidParameter)
    );
    assert_eq!(
        cfg_write(&mut p, Vtl::Vtl1, Vtl::Vtl1, 0x80 | 0x7),
        OpResult::Hv(HvStatus::InvalidRegisterValue)
    );
    assert_eq!(
        cfg_write(&mut p, Vtl::Vtl1, Vtl::Vtl1, 0x1),
        OpResult::Hv(HvStatus::InvalidRegisterValue)
    );
    assert_eq!(
        cfg_write(&mut p, Vtl::Vtl1, Vtl::Vtl1, 0x7),
        OpResult::Hv(HvStatus::Success)
    );
}

/// Register-name path: an MSR `InvalidAccess` becomes `InvalidParameter` (SVERSION, and an
/// unlockable SIEFP/SIMP overlay).
#[test]
fn set_vp_register_invalid_access_is_invalid_parameter() {
    let mut p = both_vtls();
    let before = p.clone();
    for (caller, target) in [
        (Vtl::Vtl0, Vtl::Vtl0),
        (Vtl::Vtl1, Vtl::Vtl0),
        (Vtl::Vtl1, Vtl::Vtl1),
    ] {
        for (name, value) in [
            (reg::SVERSION, 1),
            (reg::SIEFP, (GUEST_PAGES << 12) | 1),
            (reg::SIMP, (GUEST_PAGES << 12) | 1),
        ] {
            let (r, _) = run(&mut p, set_reg(0, caller, target, name, value));
            assert_eq!(r, OpResult::Hv(HvStatus::InvalidParameter), "{name:#x}");
        }
    }
    assert_eq!(p, before);
}

/// `VsmVina` targeting VTL0 is `InvalidParameter`; for VTL1, reserved bits set is
/// `InvalidParameter` too.
#[test]
fn set_vp_register_vsm_vina_to_vtl0_is_invalid_parameter() {
    let mut p = both_vtls();
    let before = p.clone();
    for caller in [Vtl::Vtl0, Vtl::Vtl1] {
        for value in [0, 1, u64::MAX] {
            let (r, _) = run(&mut p, set_reg(0, caller, Vtl::Vtl0, reg::VSM_VINA, value));
            assert_eq!(r, OpResult::Hv(HvStatus::InvalidParameter));
        }
    }
    let (r, _) = run(
        &mut p,
        set_reg(0, Vtl::Vtl1, Vtl::Vtl1, reg::VSM_VINA, u64::MAX),
    );
    assert_eq!(r, OpResult::Hv(HvStatus::InvalidParameter));
    let (r, _) = run(&mut p, set_reg(0, Vtl::Vtl1, Vtl::Vtl1, reg::VSM_VINA, 0));
    assert_eq!(r, OpResult::Hv(HvStatus::Success));
    assert_eq!(p, before);
}

/// Names map to the same synic registers as the MSRs: a SINT/SCONTROL/SIMP set by name
/// reads back through RDMSR, on the target VTL's synic.
#[test]
fn set_vp_register_names_map_to_the_synic_msrs() {
    let mut p = both_vtls();
    for (caller, target) in [
        (Vtl::Vtl0, Vtl::Vtl0),
        (Vtl::Vtl1, Vtl::Vtl0),
        (Vtl::Vtl1, Vtl::Vtl1),
    ] {
        for n in 0..16u8 {
            let value = proxied(0x40 + n) | (1 << 40) | target as u64;
            let (r, _) = run(&mut p, set_sint_reg(0, caller, target, n, value));
            assert_eq!(r, OpResult::Hv(HvStatus::Success));
            assert_eq!(run(&mut p, rdmsr(0, target, sint_msr(n))).0, msr_ok(value));
        }
        for (name, n, value) in [
            (reg::SCONTROL, msr::SCONTROL, 0x1234_0000),
            (reg::SIMP, msr::SIMP, 0x5000 | 1),
            (reg::SIEFP, msr::SIEFP, 0x6000 | 1),
        ] {
            let (r, _) = run(&mut p, set_reg(0, caller, target, name, value));
            assert_eq!(r, OpResult::Hv(HvStatus::Success));
            assert_eq!(run(&mut p, rdmsr(0, target, n)).0, msr_ok(value));
        }
        let (r, _) = run(&mut p, set_reg(0, caller, target, reg::EOM, 7));
        assert_eq!(r, OpResult::Hv(HvStatus::Success));
    }
    // VTL1 set VTL0's and VTL1's; they differ only by the target tag in bit 0.
    assert_ne!(p.vps[0].synic[0].sints, p.vps[0].synic[1].sints);
}

/// Access rules: `partition_id` must be SELF (`AccessDenied`), `vp_index` must be SELF or
/// the caller's own (`InvalidVpIndex`), the target VTL must not be above the caller's
/// (`AccessDenied`); a refused call changes nothing.
#[test]
fn set_vp_register_access_rules() {
    let mut p = both_vtls();
    let before = p.clone();
    let call = |vp, caller, target, partition_self, vp_index| {
        Op::SetVpRegister(SetVpRegister {
            vp,
            caller_vtl: caller,
            target_vtl: target,
            partition_self,
            vp_index,
            name: reg::SINT0 + 2,
            value: plain(0x50),
        })
    };
    let refused = [
        (
            call(0, Vtl::Vtl0, Vtl::Vtl0, false, VP_INDEX_SELF),
            HvStatus::AccessDenied,
        ),
        (
            call(0, Vtl::Vtl1, Vtl::Vtl0, false, 0),
            HvStatus::AccessDenied,
        ),
        (
            call(0, Vtl::Vtl0, Vtl::Vtl0, true, 1),
            HvStatus::InvalidVpIndex,
        ),
        (
            call(1, Vtl::Vtl1, Vtl::Vtl1, true, 0),
            HvStatus::InvalidVpIndex,
        ),
        (
            call(0, Vtl::Vtl0, Vtl::Vtl0, true, u32::MAX),
            HvStatus::InvalidVpIndex,
        ),
        (
            call(0, Vtl::Vtl0, Vtl::Vtl1, true, VP_INDEX_SELF),
            HvStatus::AccessDenied,
        ),
        (
            call(1, Vtl::Vtl0, Vtl::Vtl1, true, 1),
            HvStatus::AccessDenied,
        ),
    ];
    for (op, status) in refused {
        let (r, ev) = run(&mut p, op);
        assert_eq!(r, OpResult::Hv(status), "{op:?}");
        assert!(ev.is_empty());
    }
    assert_eq!(p, before);

    // SELF or the caller's own index; target at or below the caller.
    for (op, vp, target) in [
        (call(0, Vtl::Vtl0, Vtl::Vtl0, true, VP_INDEX_SELF), 0, 0),
        (call(1, Vtl::Vtl0, Vtl::Vtl0, true, 1), 1, 0),
        (call(0, Vtl::Vtl1, Vtl::Vtl0, true, 0), 0, 0),
        (call(1, Vtl::Vtl1, Vtl::Vtl1, true, VP_INDEX_SELF), 1, 1),
    ] {
        let mut q = before.clone();
        assert_eq!(run(&mut q, op).0, OpResult::Hv(HvStatus::Success), "{op:?}");
        assert_eq!(
            q.vps[vp].synic[target].sints[2],
            Sint::from_bits(plain(0x50))
        );
    }
}
