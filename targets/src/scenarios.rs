//! Named, hand-built scenarios: the witnesses of every known defect (used by tests, the
//! regression files and `known.toml`), and the benign seeds of `corpus/`. Seeds are normal
//! guest life and must stay clean on every revision; witnesses are never seeds.

use sintfuzz_model::hvdef::{msr, reg, Sint, VP_INDEX_SELF};
use sintfuzz_model::op::{
    CloseChannel, GuestAck, HostAssert, HostDeviceInterrupt, HostOffer, HostPostMessage,
    HostSignalChannel, HostSignalSint, ModifyChannel, OpenChannel, RdMsr, Retarget, RunVp,
    SetVpRegister, UntrustedWrMsr, WrMsr,
};
use sintfuzz_model::{Config, Isolation, Op, ProxyAssert, RetargetFlaws, VmbusEra, Vtl};

use crate::codec::Scenario;
use crate::target::Target;

/// Guest WRMSR of a VTL's SINT `n`.
pub fn wr_sint(vp: u8, vtl: Vtl, n: u8, value: Sint) -> Op {
    Op::WrMsr(WrMsr {
        vp,
        vtl,
        msr: msr::SINT0 + n as u32,
        value: value.into_bits(),
    })
}

/// HvCallSetVpRegisters of SINT `n` on the caller's own VP.
pub fn set_reg_sint(vp: u8, caller: Vtl, target: Vtl, n: u8, value: Sint) -> Op {
    Op::SetVpRegister(SetVpRegister {
        vp,
        caller_vtl: caller,
        target_vtl: target,
        partition_self: true,
        vp_index: VP_INDEX_SELF,
        name: reg::SINT0 + n as u32,
        value: value.into_bits(),
    })
}

pub fn retarget(vp: u8, vtl: Vtl, device: u8, vector: u32, targets: u8) -> Op {
    Op::Retarget(Retarget {
        vp,
        vtl,
        device,
        vector,
        targets,
        flaws: RetargetFlaws::default(),
    })
}

/// A malicious host asserts `vector` on `vp` (the single-vector form).
pub fn host_assert(vp: u8, vector: u32) -> Op {
    Op::HostAssert(HostAssert {
        vp,
        assert: ProxyAssert::Single(vector),
    })
}

pub fn open(slot: u8, target_vp: u32) -> Op {
    Op::OpenChannel(OpenChannel {
        slot,
        target_vp,
        event_flag: slot as u16 + 1,
    })
}

pub fn config(vps: u8, relay: bool) -> Config {
    Config {
        vp_count: vps,
        vmbus_relay: relay,
        ..Config::default()
    }
}

/// A scenario with a name, the target it is written for, and for witnesses the
/// invariant it breaks on each revision.
pub struct Named {
    pub name: &'static str,
    pub target: Target,
    pub scenario: Scenario,
    pub about: &'static str,
    /// Upstream issue (`openvmm#N`) or sintfuzz finding id (`SF-NNN`); empty for seeds.
    pub finding: &'static str,
}

use Vtl::{Vtl0, Vtl1};

const V: u8 = 0x30;

fn relay_setup(sint_write: Op, vp: u8) -> Vec<Op> {
    vec![
        sint_write,
        Op::HostOffer(HostOffer { slot: 0 }),
        open(0, vp as u32),
        Op::HostSignalChannel(HostSignalChannel { slot: 0 }),
        Op::RunVp(RunVp { vp }),
    ]
}

/// The witnesses of the historical and residual defects (one per finding). Long: a
/// table, one entry per witness, so it is as long as the list of defects.
pub fn witnesses() -> Vec<Named> {
    let vtl1 = Config {
        vtl1_enabled: true,
        ..config(1, true)
    };
    vec![
        Named {
            name: "unfiltered-host-injects-any-vector",
            target: Target::ProxyFilter,
            scenario: Scenario {
                config: config(1, true),
                ops: vec![
                    host_assert(0, 0x40),
                    Op::RunVp(RunVp { vp: 0 }),
                ],
            },
            about: "#563/#554: before #609 a malicious host reaches VTL0 with any vector",
            finding: "openvmm#563",
        },
        Named {
            name: "unfiltered-host-injects-vtl2-vector",
            target: Target::ProxyFilter,
            scenario: Scenario {
                config: config(1, true),
                ops: vec![
                    host_assert(0, sintfuzz_model::VTL2_VECTOR as u32),
                    Op::RunVp(RunVp { vp: 0 }),
                ],
            },
            about: "#563: VTL2's own SINT vector reaches VTL0",
            finding: "openvmm#563",
        },
        Named {
            name: "proxy-bit-drops-relay-signal",
            target: Target::RelayLifecycle,
            scenario: Scenario {
                config: config(1, true),
                ops: relay_setup(wr_sint(0, Vtl0, 2, Sint::unmasked(V, false)), 0),
            },
            about: "#1162: SINT2 without the proxy bit never admitted; relay interrupts lost",
            finding: "openvmm#1162",
        },
        Named {
            name: "vtl1-sint-write-asserts",
            target: Target::SynicMsr,
            scenario: Scenario {
                config: vtl1,
                ops: vec![wr_sint(0, Vtl1, 2, Sint::unmasked(V, true))],
            },
            about: "#1275: VTL1 SINT WRMSR reaches assert_eq!(vtl, Vtl0) (proxy-bit: with the proxy bit; relay-aware: any)",
            finding: "openvmm#1275",
        },
        Named {
            name: "vtl1-retarget-asserts",
            target: Target::ProxyFilter,
            scenario: Scenario {
                config: vtl1,
                ops: vec![retarget(0, Vtl1, 0, 0x40, 1)],
            },
            about: "residual: RetargetDeviceInterrupt from VTL1 has no VTL gate and hits the VTL0 assert",
            finding: "SF-001",
        },
        Named {
            name: "set-vp-registers-sint2-stale-filter",
            target: Target::RelayLifecycle,
            scenario: Scenario {
                config: config(1, true),
                ops: relay_setup(set_reg_sint(0, Vtl0, Vtl0, 2, Sint::unmasked(V, false)), 0),
            },
            about: "residual: SINT2 set by HvSetVpRegisters never updates the filter; relay interrupts lost",
            finding: "SF-002",
        },
        Named {
            name: "retarget-cross-vp-wake-window",
            target: Target::ProxyFilter,
            scenario: Scenario {
                config: config(2, true),
                ops: vec![
                    retarget(0, Vtl0, 0, 0x40, 0b10),
                    Op::HostDeviceInterrupt(HostDeviceInterrupt { device: 0, pick: 0 }),
                    Op::RunVp(RunVp { vp: 1 }),
                ],
            },
            about: "residual: other VPs update their filter only when they next run; the device interrupt is dropped meanwhile",
            finding: "SF-003",
        },
        Named {
            name: "set-vp-registers-proxy-sint-stale-filter",
            target: Target::ProxyFilter,
            scenario: Scenario {
                config: config(1, false),
                ops: vec![
                    set_reg_sint(0, Vtl0, Vtl0, 5, Sint::unmasked(0x50, true)),
                    Op::HostSignalSint(HostSignalSint { vp: 0, sint: 5 }),
                    Op::RunVp(RunVp { vp: 0 }),
                ],
            },
            about: "residual: a proxy-bit SINT set by HvSetVpRegisters is not admitted; host signals lost",
            finding: "SF-002",
        },
        Named {
            name: "retarget-vector-truncation",
            target: Target::ProxyFilter,
            scenario: Scenario {
                config: config(1, true),
                ops: vec![
                    retarget(0, Vtl0, 0, 0x130, 1),
                    host_assert(0, 0x30),
                    Op::RunVp(RunVp { vp: 0 }),
                ],
            },
            about: "residual: a rejected retarget to 0x130 admits 0x30 (u32 -> u8 truncation, set before the hypervisor call)",
            finding: "SF-005",
        },
        Named {
            name: "set-vp-registers-mask-stale-filter",
            target: Target::ProxyFilter,
            scenario: Scenario {
                config: config(1, true),
                ops: vec![
                    wr_sint(0, Vtl0, 2, Sint::unmasked(V, false)),
                    set_reg_sint(0, Vtl0, Vtl0, 2, Sint::from_bits(Sint::MASKED | V as u64)),
                    host_assert(0, V as u32),
                    Op::RunVp(RunVp { vp: 0 }),
                ],
            },
            about: "residual: masking SINT2 by HvSetVpRegisters leaves its vector admitted",
            finding: "SF-006",
        },
        Named {
            name: "set-vp-registers-proxy-cleared-stale-filter",
            target: Target::ProxyFilter,
            scenario: Scenario {
                config: config(1, false),
                ops: vec![
                    wr_sint(0, Vtl0, 0, Sint::unmasked(0x40, true)),
                    set_reg_sint(0, Vtl0, Vtl0, 0, Sint::unmasked(0x40, false)),
                    Op::HostSignalSint(HostSignalSint { vp: 0, sint: 0 }),
                    Op::RunVp(RunVp { vp: 0 }),
                ],
            },
            about: "residual: clearing a SINT's proxy bit by HvSetVpRegisters leaves its vector admitted",
            finding: "SF-006",
        },
        Named {
            name: "relay-admits-non-vmbus-sint",
            target: Target::ProxyFilter,
            scenario: Scenario {
                config: config(1, true),
                ops: vec![
                    wr_sint(0, Vtl0, 3, Sint::unmasked(0x44, false)),
                    host_assert(0, 0x44),
                    Op::RunVp(RunVp { vp: 0 }),
                ],
            },
            about: "strict: with the relay on, a non-proxy SINT3 vector is admitted to the host",
            finding: "SF-007",
        },
        Named {
            name: "offload-reserved-vector",
            target: Target::ProxyFilter,
            scenario: Scenario {
                config: Config {
                    isolation: Isolation::Tdx,
                    tdx_offload: true,
                    ..config(1, true)
                },
                ops: vec![
                    wr_sint(0, Vtl0, 2, Sint::unmasked(0x05, false)),
                    host_assert(0, 0x05),
                    Op::RunVp(RunVp { vp: 0 }),
                ],
            },
            about: "strict: a SINT vector below 16 is admitted and the TDX offload injects it",
            finding: "SF-008",
        },
        Named {
            name: "scontrol-disabled-still-admits",
            target: Target::ProxyFilter,
            scenario: Scenario {
                config: config(1, true),
                ops: vec![
                    wr_sint(0, Vtl0, 2, Sint::unmasked(V, false)),
                    Op::WrMsr(WrMsr {
                        vp: 0,
                        vtl: Vtl0,
                        msr: msr::SCONTROL,
                        value: 0,
                    }),
                    host_assert(0, V as u32),
                    Op::RunVp(RunVp { vp: 0 }),
                ],
            },
            about: "strict: the filter ignores SCONTROL; host SINT vectors arrive with the synic off",
            finding: "SF-009",
        },
        Named {
            name: "stale-device-vector",
            target: Target::ProxyFilter,
            scenario: Scenario {
                config: config(1, true),
                ops: vec![
                    retarget(0, Vtl0, 0, 0x40, 1),
                    retarget(0, Vtl0, 0, 0x41, 1),
                    host_assert(0, 0x40),
                    Op::RunVp(RunVp { vp: 0 }),
                ],
            },
            about: "strict: the device vector table never shrinks; a vector moved away stays admitted",
            finding: "SF-010",
        },
        Named {
            // Issue 10: found by a 60 s campaign on proxy-bit as a `leak-cross-vtl`; the
            // filter went stale at step 1, VTL1 configured the vector at step 3.
            name: "set-vp-registers-stale-filter-cross-vtl",
            target: Target::RelayLifecycle,
            scenario: Scenario {
                config: Config {
                    vtl1_enabled: true,
                    ..config(1, false)
                },
                ops: vec![
                    wr_sint(0, Vtl0, 0, Sint::unmasked(V, true)),
                    set_reg_sint(0, Vtl0, Vtl0, 0, Sint::unmasked(V, false)),
                    Op::HostSignalSint(HostSignalSint { vp: 0, sint: 0 }),
                    set_reg_sint(0, Vtl1, Vtl1, 0, Sint::unmasked(V, false)),
                    wr_sint(0, Vtl0, 0, Sint::from_bits(Sint::MASKED | Sint::PROXY)),
                    Op::RunVp(RunVp { vp: 0 }),
                ],
            },
            about: "residual: a proxy SINT re-set without the proxy bit by HvSetVpRegisters stays admitted; the latched vector reaches VTL0 after VTL1 configured it",
            finding: "SF-006",
        },
        Named {
            // The VMBus server's reply to a multiclient InitiateContact naming SINT 16 (or
            // to OpenReservedChannel with target_sint 0x10): nothing checks the SINT.
            name: "message-to-sint-16-panics",
            target: Target::SynicMsr,
            scenario: Scenario {
                config: config(1, true),
                ops: vec![Op::HostPostMessage(HostPostMessage { vp: 0, sint: 16 })],
            },
            about: "residual: a guest-named message SINT >= 16 indexes the 16 message queues out of bounds and panics VTL2",
            finding: "SF-011",
        },
    ]
}

/// Normal guest life, for `corpus/<target>/`: boot, SINT setup through each path,
/// offers, opens, signals, retargets, closes; 1 and 4 VPs; relay on and off; TDX and SNP.
/// None of them may break an invariant on any revision.
pub fn seeds() -> Vec<Named> {
    let mut out = Vec::new();
    for (isolation, iso) in [(Isolation::Snp, "snp"), (Isolation::Tdx, "tdx")] {
        for vps in [1u8, 4] {
            for relay in [true, false] {
                let name = |n: &str| -> &'static str {
                    Box::leak(
                        format!(
                            "{n}-{iso}-{vps}vp-relay-{}",
                            if relay { "on" } else { "off" }
                        )
                        .into_boxed_str(),
                    )
                };
                out.extend(seeds_of(seed_config(isolation, vps, relay), name));
            }
        }
    }
    out
}

/// The config of one point of the seed grid.
fn seed_config(isolation: Isolation, vps: u8, relay: bool) -> Config {
    Config {
        vp_count: vps,
        isolation,
        vmbus_relay: relay,
        tdx_offload: isolation == Isolation::Tdx,
        vtl1_enabled: false,
        era: VmbusEra::Modern,
        ..Config::default()
    }
}

/// The seeds of one config, each named by `name` from its kind of guest life.
fn seeds_of(config: Config, name: impl Fn(&str) -> &'static str) -> Vec<Named> {
    let seed = |name, target, ops, about| Named {
        name,
        target,
        scenario: Scenario { config, ops },
        about,
        finding: "",
    };
    let boot = boot(config);
    let life = [boot.clone(), channel_life(config)].concat();
    let device = device_use(config);
    let registers = register_traffic();
    let mut out = vec![seed(
        name("vmbus-life"),
        Target::RelayLifecycle,
        life.clone(),
        "boot, SINT2 setup, offers, opens, acks, a modify, a close",
    )];
    for target in [Target::ProxyFilter, Target::RelayLifecycle] {
        out.push(seed(
            name(&format!("device-{}", target.name())),
            target,
            [boot.clone(), device.clone()].concat(),
            "a device retargeted on its own VP, then an interrupt",
        ));
    }
    out.push(seed(
        name("registers"),
        Target::SynicMsr,
        [boot, registers.clone()].concat(),
        "SCONTROL, SINT2, SIMP, SIEFP, EOM writes and reads",
    ));
    // Everything at once for `all_ops`: channel life, a device, register traffic, and a
    // host assert of the VMBus vector the guest entitled.
    let mixed = [
        life,
        device,
        registers,
        vec![host_assert(0, 0x2f), Op::RunVp(RunVp { vp: 0 })],
    ];
    out.push(seed(
        name("mixed"),
        Target::AllOps,
        mixed.concat(),
        "channel life, a device, register traffic, an entitled host assert",
    ));
    out
}

/// The SINT2 value the guest programs for its VMBus: no proxy bit with the relay (VTL2 is
/// the server), proxy bit without it (the host is).
fn vmbus_sint(config: Config) -> Sint {
    Sint::unmasked(0x2f, !config.vmbus_relay)
}

/// Boot: every VP enables its synic and programs SINT2 ([`vmbus_sint`]); both synics get
/// the same value.
fn boot(config: Config) -> Vec<Op> {
    let sint2 = vmbus_sint(config);
    let mut boot = Vec::new();
    for vp in 0..config.vp_count {
        boot.push(Op::WrMsr(WrMsr {
            vp,
            vtl: Vtl0,
            msr: msr::SCONTROL,
            value: 1,
        }));
        boot.push(Op::UntrustedWrMsr(UntrustedWrMsr {
            vp,
            msr: msr::SINT0 + 2,
            value: sint2.into_bits(),
        }));
        boot.push(wr_sint(vp, Vtl0, 2, sint2));
    }
    boot
}

/// After boot: with the relay, offers, opens, a modify, runs, an ack and a close; without
/// it, host signals on SINT2 and runs.
fn channel_life(config: Config) -> Vec<Op> {
    let last = config.vp_count - 1;
    if config.vmbus_relay {
        // No host signal: with SINT2 set, a signal here would be the #1162 witness on
        // `proxy-bit`, and seeds must not be witnesses.
        vec![
            Op::HostOffer(HostOffer { slot: 0 }),
            Op::HostOffer(HostOffer { slot: 1 }),
            open(0, 0),
            open(1, last as u32),
            Op::ModifyChannel(ModifyChannel {
                slot: 1,
                target_vp: 0,
            }),
            Op::RunVp(RunVp { vp: 0 }),
            Op::RunVp(RunVp { vp: last }),
            Op::GuestAck(GuestAck { vp: 0, vtl: Vtl0 }),
            Op::CloseChannel(CloseChannel { slot: 1 }),
            Op::RunVp(RunVp { vp: 0 }),
        ]
    } else {
        vec![
            Op::HostSignalSint(HostSignalSint { vp: 0, sint: 2 }),
            Op::HostSignalSint(HostSignalSint { vp: last, sint: 2 }),
            Op::RunVp(RunVp { vp: 0 }),
            Op::RunVp(RunVp { vp: last }),
        ]
    }
}

/// A device retargeted to its own VP (no cross-VP window), then used.
fn device_use(config: Config) -> Vec<Op> {
    let last = config.vp_count - 1;
    vec![
        retarget(last, Vtl0, 1, 0x41, 1 << last),
        Op::HostDeviceInterrupt(HostDeviceInterrupt { device: 1, pick: 0 }),
        Op::RunVp(RunVp { vp: last }),
    ]
}

/// Register traffic: reads, SIMP/SIEFP pages, EOM.
fn register_traffic() -> Vec<Op> {
    let wr = |msr, value| {
        Op::WrMsr(WrMsr {
            vp: 0,
            vtl: Vtl0,
            msr,
            value,
        })
    };
    let rd = |msr| {
        Op::RdMsr(RdMsr {
            vp: 0,
            vtl: Vtl0,
            msr,
        })
    };
    vec![
        wr(msr::SIMP, 0x1000 | 1),
        wr(msr::SIEFP, 0x2000 | 1),
        rd(msr::SINT0 + 2),
        rd(msr::SVERSION),
        wr(msr::EOM, 0),
        Op::RunVp(RunVp { vp: 0 }),
    ]
}
