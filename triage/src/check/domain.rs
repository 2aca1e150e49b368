//! The bounded domain `sintfuzz check` enumerates: the partition configs and, per config
//! and target, the concrete operations. Every value set is listed here and in docs/design.md
//! ("Exhaustive check"); both sizes hold an equivalent of every known witness (vectors
//! renamed to 0x30/0x31, other SINTs to SINT5).

use sintfuzz_model::hvdef::{msr, Sint, VMBUS_SINT};
use sintfuzz_model::op::{
    CloseChannel, GuestAck, HostAssert, HostDeviceInterrupt, HostOffer, HostPostMessage,
    HostSignalChannel, HostSignalSint, ModifyChannel, ModifyConnection, OpenChannel, RunVp,
    SetApic, UntrustedWrMsr, WrMsr,
};
use sintfuzz_model::{Config, Isolation, Op, ProxyAssert, VmbusEra, Vtl, VTL2_VECTOR};
use sintfuzz_targets::codec::encode;
use sintfuzz_targets::scenarios::{retarget, set_reg_sint, wr_sint};
use sintfuzz_targets::{Scenario, Target};

/// How many values each field ranges over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Size {
    /// The least that holds every known witness; what docs/design.md's depth claim is about.
    Small,
    /// The fuller lists: SINTs {0,2,5}, five SINT vectors with every mask/proxy
    /// combination, two channel slots, two devices, every APIC enable pair.
    Medium,
}

/// One config axis: its name, its values, and how a value sets the config.
struct Axis {
    name: &'static str,
    values: &'static [&'static str],
    set: fn(&mut Config, usize),
}

/// Every config axis the codec can choose. A new `Config` axis gets a line here.
const AXES: &[Axis] = &[
    Axis {
        name: "isolation",
        values: &["snp", "tdx", "tdx-offload"],
        set: |c, i| {
            c.isolation = if i == 0 {
                Isolation::Snp
            } else {
                Isolation::Tdx
            };
            c.tdx_offload = i == 2;
        },
    },
    Axis {
        name: "relay",
        values: &["on", "off"],
        set: |c, i| c.vmbus_relay = i == 0,
    },
    Axis {
        name: "era",
        values: &["modern", "pre-win8"],
        set: |c, i| {
            c.era = if i == 0 {
                VmbusEra::Modern
            } else {
                VmbusEra::PreWin8
            }
        },
    },
    Axis {
        name: "vtl1",
        values: &["off", "on"],
        set: |c, i| c.vtl1_enabled = i == 1,
    },
    Axis {
        name: "redirect",
        values: &["off", "on"],
        set: |c, i| c.proxy_redirect = i == 1,
    },
    Axis {
        name: "mirror",
        values: &["on", "off"],
        set: |c, i| c.guest_mirrors_sints = i == 0,
    },
];

/// `axis=value` choices from `--config`; an axis not named takes every value.
#[derive(Clone, Debug, Default)]
pub struct ConfigFilter(Vec<(usize, usize)>);

impl ConfigFilter {
    /// `relay=on,vtl1=off`; empty = every config.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (name, value) = item
                .split_once('=')
                .ok_or_else(|| format!("invalid config choice '{item}' (expected axis=value)"))?;
            let a = AXES.iter().position(|a| a.name == name).ok_or_else(|| {
                let names: Vec<_> = AXES.iter().map(|a| a.name).collect();
                format!(
                    "unknown config axis '{name}' (expected one of: {})",
                    names.join(", ")
                )
            })?;
            let v = AXES[a]
                .values
                .iter()
                .position(|v| *v == value)
                .ok_or_else(|| {
                    format!(
                        "unknown value '{value}' for config axis {name} (expected one of: {})",
                        AXES[a].values.join(", ")
                    )
                })?;
            out.push((a, v));
        }
        Ok(Self(out))
    }

    /// Whether it allows every config.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn allows(&self, axis: usize, value: usize) -> bool {
        self.0
            .iter()
            .filter(|(a, _)| *a == axis)
            .all(|(_, v)| *v == value)
    }
}

/// The choices as `--config` takes them.
impl std::fmt::Display for ConfigFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<_> = self
            .0
            .iter()
            .map(|&(a, v)| format!("{}={}", AXES[a].name, AXES[a].values[v]))
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// One line naming a config by its axes, e.g. `vps=2 isolation=snp relay=on ...`.
pub fn describe(c: &Config) -> String {
    let mut parts = vec![format!("vps={}", c.vps())];
    for a in AXES {
        for (i, v) in a.values.iter().enumerate() {
            let mut probe = *c;
            (a.set)(&mut probe, i);
            if probe == *c {
                parts.push(format!("{}={v}", a.name));
                break;
            }
        }
    }
    parts.join(" ")
}

/// Every config with 1..=`max_vps` VPs the filter allows, in a fixed order. The pre-Win8
/// era is only taken with the relay on: without it no channel exists and the era changes
/// nothing.
pub fn configs(max_vps: u8, filter: &ConfigFilter) -> Vec<Config> {
    let mut out = Vec::new();
    for vps in 1..=max_vps {
        let mut index = vec![0usize; AXES.len()];
        'product: loop {
            let mut c = Config {
                vp_count: vps,
                ..Config::default()
            };
            let mut ok = true;
            for (a, &v) in index.iter().enumerate() {
                (AXES[a].set)(&mut c, v);
                ok &= filter.allows(a, v);
            }
            if ok && (c.vmbus_relay || c.era == VmbusEra::Modern) {
                out.push(c);
            }
            for a in (0..AXES.len()).rev() {
                index[a] += 1;
                if index[a] < AXES[a].values.len() {
                    continue 'product;
                }
                index[a] = 0;
            }
            break;
        }
    }
    out
}

/// The value sets of one domain size.
struct Values {
    sints: &'static [u8],
    sint_values: &'static [u64],
    untrusted_sints: &'static [u8],
    untrusted_values: &'static [u64],
    /// (caller, target) VTL pairs of HvSetVpRegisters.
    set_reg_vtls: &'static [(Vtl, Vtl)],
    devices: &'static [u8],
    retarget_vectors: &'static [u32],
    apic: &'static [(bool, bool)],
    slots: &'static [u8],
    assert_vectors: &'static [u32],
    /// VTL0 SINTs the host's VMBus messages go to (`HostPostMessage`).
    message_sints: &'static [u8],
}

const fn plain(v: u8) -> u64 {
    v as u64
}
const fn proxy(v: u8) -> u64 {
    v as u64 | Sint::PROXY
}
const fn masked(v: u8) -> u64 {
    v as u64 | Sint::MASKED
}

const SMALL: Values = Values {
    sints: &[2, 5],
    sint_values: &[plain(0x30), proxy(0x30), masked(0x30), plain(0x05)],
    untrusted_sints: &[2],
    untrusted_values: &[plain(0x30), masked(0x30)],
    set_reg_vtls: &[(Vtl::Vtl0, Vtl::Vtl0), (Vtl::Vtl1, Vtl::Vtl0)],
    devices: &[0],
    retarget_vectors: &[0x30, 0x31, 0x130],
    apic: &[(true, true), (false, false)],
    slots: &[0],
    assert_vectors: &[0x05, 0x30, 0x31, VTL2_VECTOR as u32],
    message_sints: &[VMBUS_SINT],
};

/// Closed under the value symmetry's swap of 0x30 and 0x31 (`super::symmetry::VALUES`):
/// every value with one has its twin with the other (0x131 beside 0x130).
const MEDIUM: Values = Values {
    sints: &[0, 2, 5],
    sint_values: &[
        plain(0x05),
        plain(0x30),
        plain(0x31),
        plain(VTL2_VECTOR),
        plain(0xff),
        proxy(0x05),
        proxy(0x30),
        proxy(0x31),
        proxy(VTL2_VECTOR),
        proxy(0xff),
        masked(0x05),
        masked(0x30),
        masked(0x31),
        masked(VTL2_VECTOR),
        masked(0xff),
        masked(0x30) | Sint::PROXY,
        masked(0x31) | Sint::PROXY,
    ],
    untrusted_sints: &[0, 2, 5],
    untrusted_values: &[plain(0x30), plain(0x31), masked(0x30), masked(0x31)],
    set_reg_vtls: &[
        (Vtl::Vtl0, Vtl::Vtl0),
        (Vtl::Vtl1, Vtl::Vtl0),
        (Vtl::Vtl1, Vtl::Vtl1),
    ],
    devices: &[0, 1],
    retarget_vectors: &[0x05, 0x30, 0x31, 0xff, 0x130, 0x131],
    apic: &[(true, true), (true, false), (false, true), (false, false)],
    slots: &[0, 1],
    assert_vectors: &[0x05, 0x30, 0x31, VTL2_VECTOR as u32, 0xff, 0x130, 0x131],
    // Besides the connection's SINT2, a SINT the guest named: a reserved channel's or an
    // unsupported multiclient InitiateContact's reply (`vmbus_server` `send_message`,
    // `MessageTarget::ReservedChannel` / `Custom`; see `Op::HostPostMessage`).
    message_sints: &[VMBUS_SINT, 5],
};

/// Every operation of the domain for `config`, in a fixed order, that `target` encodes
/// exactly (so a witness is a canonical input file of that target). Operations on VTL1
/// are left out when VTL1 is disabled (the model refuses them and nothing changes).
pub fn ops(target: Target, config: &Config, size: Size) -> Vec<Op> {
    let d = match size {
        Size::Small => &SMALL,
        Size::Medium => &MEDIUM,
    };
    let n = config.vps() as u8;
    let vps = 0..n;
    let vtls: &[Vtl] = if config.vtl1_enabled {
        &[Vtl::Vtl0, Vtl::Vtl1]
    } else {
        &[Vtl::Vtl0]
    };
    let mut all = Vec::new();
    for vp in vps.clone() {
        all.push(RunVp { vp }.into());
    }
    for vp in vps.clone() {
        guest_ops(d, vp, n, vtls, &mut all);
    }
    if config.vmbus_relay {
        relay_ops(d, n, &mut all);
    }
    host_ops(d, n, &mut all);
    all.retain(|op| {
        encode(
            target,
            &Scenario {
                config: *config,
                ops: vec![*op],
            },
        )
        .is_ok()
    });
    all
}

/// The guest's operations on VP `vp` (of `n`): SINT and SCONTROL writes, HvSetVpRegisters,
/// untrusted writes, retargets, APIC enables and acknowledgements.
fn guest_ops(d: &Values, vp: u8, n: u8, vtls: &[Vtl], all: &mut Vec<Op>) {
    for &vtl in vtls {
        for &s in d.sints {
            for &value in d.sint_values {
                all.push(wr_sint(vp, vtl, s, Sint::from_bits(value)));
            }
        }
        for value in [0, 1] {
            all.push(
                WrMsr {
                    vp,
                    vtl,
                    msr: msr::SCONTROL,
                    value,
                }
                .into(),
            );
        }
    }
    for &(caller, target_vtl) in d.set_reg_vtls {
        if vtls.contains(&caller) {
            for &s in d.sints {
                for &value in d.sint_values {
                    all.push(set_reg_sint(
                        vp,
                        caller,
                        target_vtl,
                        s,
                        Sint::from_bits(value),
                    ));
                }
            }
        }
    }
    for &s in d.untrusted_sints {
        for &value in d.untrusted_values {
            all.push(
                UntrustedWrMsr {
                    vp,
                    msr: msr::SINT0 + s as u32,
                    value,
                }
                .into(),
            );
        }
    }
    for &vtl in vtls {
        for &device in d.devices {
            for &vector in d.retarget_vectors {
                for targets in 1..(1u8 << n) {
                    all.push(retarget(vp, vtl, device, vector, targets));
                }
            }
        }
        for &(hw_enabled, sw_enabled) in d.apic {
            all.push(
                SetApic {
                    vp,
                    vtl,
                    hw_enabled,
                    sw_enabled,
                }
                .into(),
            );
        }
        all.push(GuestAck { vp, vtl }.into());
    }
}

/// The relay's channel operations (the config has the relay on).
fn relay_ops(d: &Values, n: u8, all: &mut Vec<Op>) {
    let vps = 0..n;
    for &slot in d.slots {
        all.push(HostOffer { slot }.into());
        for target_vp in vps.clone().map(u32::from).chain([u32::MAX]) {
            all.push(
                OpenChannel {
                    slot,
                    target_vp,
                    event_flag: slot as u16 + 1,
                }
                .into(),
            );
        }
        all.push(CloseChannel { slot }.into());
        for target_vp in vps.clone().map(u32::from) {
            all.push(ModifyChannel { slot, target_vp }.into());
        }
        all.push(HostSignalChannel { slot }.into());
    }
    for use_interrupt_page in [false, true] {
        all.push(ModifyConnection { use_interrupt_page }.into());
    }
}

/// The host's signals, device interrupts and (malicious) proxy asserts.
fn host_ops(d: &Values, n: u8, all: &mut Vec<Op>) {
    let vps = 0..n;
    for vp in vps.clone() {
        for &sint in d.sints {
            all.push(HostSignalSint { vp, sint }.into());
        }
        for &sint in d.message_sints {
            all.push(HostPostMessage { vp, sint }.into());
        }
    }
    for &device in d.devices {
        for pick in vps.clone() {
            all.push(HostDeviceInterrupt { device, pick }.into());
        }
    }
    for vp in vps {
        for &v in d.assert_vectors {
            all.push(
                HostAssert {
                    vp,
                    assert: ProxyAssert::Single(v),
                }
                .into(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_cover_every_axis_and_the_filter_narrows_them() {
        let all = configs(2, &ConfigFilter::default());
        // 3 isolations x (relay on: 2 eras, off: 1) x 2 VTL1 x 2 redirect x 2 mirror
        // settings, for 1 and 2 VPs.
        assert_eq!(all.len(), 2 * 3 * 3 * 2 * 2 * 2);
        let f = ConfigFilter::parse("relay=off,vtl1=on,redirect=off,mirror=on").unwrap();
        let some = configs(1, &f);
        assert_eq!(some.len(), 3);
        assert!(some.iter().all(|c| !c.vmbus_relay && c.vtl1_enabled));
        assert!(ConfigFilter::parse("relay=maybe").is_err());
        assert!(ConfigFilter::parse("colour=red").is_err());
        assert_eq!(
            describe(&some[0]),
            "vps=1 isolation=snp relay=off era=modern vtl1=on redirect=off mirror=on"
        );
    }

    #[test]
    fn every_op_is_representable_and_targets_differ() {
        let c = configs(2, &ConfigFilter::parse("vtl1=on,relay=on").unwrap())[3];
        for t in Target::ALL {
            let ops = ops(t, &c, Size::Small);
            assert!(!ops.is_empty());
            let bytes = encode(
                t,
                &Scenario {
                    config: c,
                    ops: ops.clone(),
                },
            );
            assert!(bytes.is_ok() || ops.len() > sintfuzz_targets::MAX_OPS);
        }
        let relay = ops(Target::RelayLifecycle, &c, Size::Small);
        let filter = ops(Target::ProxyFilter, &c, Size::Small);
        assert!(relay.iter().any(|o| matches!(o, Op::OpenChannel(_))));
        assert!(!relay.iter().any(|o| matches!(o, Op::HostAssert(_))));
        assert!(filter.iter().any(|o| matches!(o, Op::HostAssert(_))));
        assert!(ops(Target::ProxyFilter, &c, Size::Medium).len() > filter.len());
    }

    /// Messages: `small` keeps the connection's SINT2 only (its figures stay comparable);
    /// `medium` also posts to another VTL0 SINT, as reserved channels and custom targets do.
    #[test]
    fn medium_posts_host_messages_to_a_sint_other_than_sint2() {
        let sints = |size| -> Vec<u8> {
            let c = configs(1, &ConfigFilter::default())[0];
            ops(Target::AllOps, &c, size)
                .iter()
                .filter_map(|o| match o {
                    Op::HostPostMessage(m) => Some(m.sint),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(sints(Size::Small), vec![VMBUS_SINT]);
        let medium = sints(Size::Medium);
        assert!(medium.contains(&VMBUS_SINT));
        assert!(medium.iter().any(|&s| s != VMBUS_SINT), "{medium:?}");
    }
}
