//! A hardware-disabled APIC is software-disabled too (`LocalApic::set_apic_base` resets the
//! registers when the global enable is cleared), so the TDX offload, gated on the software
//! enable, never injects into it.

use sintfuzz_model::op::{RunVp, SetApic, WrMsr};
use sintfuzz_model::{hvdef::msr, Config, Event, Isolation, Op, ProxyAssert, Revision, Sint, Vtl};
use sintfuzz_model::{op::HostAssert, Partition};

/// VP 0's VTL0 SINT2 = 0x40 with the proxy bit, by WRMSR.
fn proxy_sint2() -> Op {
    Op::WrMsr(WrMsr {
        vp: 0,
        vtl: Vtl::Vtl0,
        msr: msr::SINT0 + 2,
        value: Sint::unmasked(0x40, true).into_bits(),
    })
}

/// A malicious host asserts 0x40 on VP 0.
fn host_assert() -> Op {
    Op::HostAssert(HostAssert {
        vp: 0,
        assert: ProxyAssert::Single(0x40),
    })
}

#[test]
fn hardware_disable_clears_the_software_enable_and_nothing_is_offloaded() {
    let config = Config {
        isolation: Isolation::Tdx,
        tdx_offload: true,
        ..Config::default()
    };
    for revision in Revision::ALL {
        let mut p = Partition::new(config, revision);
        let mut events: Vec<Event> = Vec::new();
        let ops = [
            proxy_sint2(),
            Op::SetApic(SetApic {
                vp: 0,
                vtl: Vtl::Vtl0,
                hw_enabled: false,
                sw_enabled: true,
            }),
            host_assert(),
            Op::RunVp(RunVp { vp: 0 }),
        ];
        for op in &ops {
            p.apply(op, &mut events);
        }
        assert!(!p.vps[0].apic[0].sw_enabled, "{revision}");
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, Event::Delivered { vtl: Vtl::Vtl0, .. })),
            "{revision}: {events:?}"
        );
    }
}

/// `set_apic_base_inner` runs `reset_registers` when the global enable goes from set to
/// clear: the pending IRR is gone. A software disable alone (SVR) leaves it.
#[test]
fn hardware_disable_clears_the_irr_and_a_software_disable_does_not() {
    let signal = [proxy_sint2(), host_assert(), Op::RunVp(RunVp { vp: 0 })];
    for (hw_enabled, kept) in [(false, false), (true, true)] {
        for revision in Revision::ALL {
            let mut p = Partition::new(Config::default(), revision);
            let mut events: Vec<Event> = Vec::new();
            for op in &signal {
                p.apply(op, &mut events);
            }
            assert!(p.guest_irr(0).contains(0x40), "{revision}: {events:?}");
            let disable = Op::SetApic(SetApic {
                vp: 0,
                vtl: Vtl::Vtl0,
                hw_enabled,
                sw_enabled: false,
            });
            p.apply(&disable, &mut events);
            assert_eq!(
                p.guest_irr(0).contains(0x40),
                kept,
                "{revision} hw {hw_enabled}"
            );
        }
    }
}
