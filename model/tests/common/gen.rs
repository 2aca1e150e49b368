//! A small deterministic generator of configurations and operation streams, shared by the
//! no-panic property test and the micro-benchmark. The PRNG is splitmix64: fixed seeds give
//! the same streams on every machine.
//!
//! Field values are biased towards the ranges the model acts on (so streams reach deep
//! states: open channels, routed devices, unmasked SINTs sharing vectors) but every field
//! can also take any value of its type, out-of-range VPs, slots, devices and `Vtl2`
//! included.

#![allow(dead_code)]

use sintfuzz_model::hvdef::{msr, reg, VP_INDEX_DISABLE_INTERRUPT, VP_INDEX_SELF};
use sintfuzz_model::op::{
    CloseChannel, GuestAck, HostAssert, HostDeviceInterrupt, HostOffer, HostPostMessage,
    HostSignalChannel, HostSignalSint, ModifyChannel, ModifyConnection, OpenChannel, RdMsr,
    Retarget, RunVp, SetApic, SetVpRegister, UntrustedWrMsr, WrMsr,
};
use sintfuzz_model::{
    Config, Isolation, Op, ProxyAssert, RetargetFlaws, Sint, VectorSet, VmbusEra, Vtl,
};

/// splitmix64 (Steele, Lea, Flood 2014), a public-domain 64-bit generator.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform-enough in `0..n` (`n > 0`); the modulo bias is irrelevant here.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn bool(&mut self) -> bool {
        self.next_u64() & 1 != 0
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    pub fn u8(&mut self) -> u8 {
        self.next_u64() as u8
    }

    pub fn u16(&mut self) -> u16 {
        self.next_u64() as u16
    }

    pub fn u32(&mut self) -> u32 {
        self.next_u64() as u32
    }

    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// Vectors that collide often: reserved ones, ones shared between SINTs and devices, and
/// VTL2's own callback vector.
const VECTOR_POOL: [u8; 10] = [0x00, 0x05, 0x0f, 0x10, 0x30, 0x31, 0x50, 0x70, 0xf3, 0xff];

/// A configuration. `wild`: `vp_count` anywhere in 0..=255 (the model clamps); otherwise
/// 1..=4.
pub fn config(rng: &mut Rng, wild: bool) -> Config {
    Config {
        vp_count: if wild {
            rng.u8()
        } else {
            1 + rng.below(4) as u8
        },
        isolation: rng.pick(&[Isolation::Tdx, Isolation::Snp]),
        vmbus_relay: rng.chance(3, 4),
        tdx_offload: rng.bool(),
        vtl1_enabled: rng.bool(),
        era: rng.pick(&[VmbusEra::Modern, VmbusEra::Modern, VmbusEra::PreWin8]),
        proxy_redirect: rng.bool(),
        guest_mirrors_sints: rng.chance(3, 4),
    }
}

/// A VP index: often 0, mostly 0..=4 (4 is always out of range), sometimes any u8.
fn vp(rng: &mut Rng) -> u8 {
    small_index(rng)
}

/// 0 with probability 3/8 (so offers, opens and signals meet on the same slot and SINT
/// writes, polls and asserts on the same VP), 0..=4 with 1/2, any u8 with 1/8.
fn small_index(rng: &mut Rng) -> u8 {
    match rng.below(8) {
        0..=2 => 0,
        3..=6 => rng.below(5) as u8,
        _ => rng.u8(),
    }
}

/// Any VTL, `Vtl2` included; VTL0 most often.
fn vtl(rng: &mut Rng) -> Vtl {
    rng.pick(&[Vtl::Vtl0, Vtl::Vtl0, Vtl::Vtl0, Vtl::Vtl1, Vtl::Vtl2])
}

fn vector(rng: &mut Rng) -> u8 {
    if rng.chance(3, 4) {
        rng.pick(&VECTOR_POOL)
    } else {
        rng.u8()
    }
}

/// Slots and devices: as [`small_index`] (4 is out of range).
fn index(rng: &mut Rng) -> u8 {
    small_index(rng)
}

fn sint_number(rng: &mut Rng) -> u8 {
    if rng.chance(1, 2) {
        2
    } else {
        rng.below(16) as u8
    }
}

/// A synic-ish MSR: SINTs most often, the other synic registers, the holes, the timers,
/// or any u32.
fn msr_number(rng: &mut Rng) -> u32 {
    match rng.below(10) {
        0..=4 => msr::SINT0 + sint_number(rng) as u32,
        5 => rng.pick(&[
            msr::SCONTROL,
            msr::SVERSION,
            msr::SIEFP,
            msr::SIMP,
            msr::EOM,
        ]),
        6 => msr::SCONTROL + rng.below(0x40) as u32,
        7 => msr::STIMER0_CONFIG + rng.below(8) as u32,
        _ => rng.u32(),
    }
}

/// A SINT-shaped value (vector plus flag bits), a masked one, or any u64.
fn sint_value(rng: &mut Rng) -> u64 {
    match rng.below(8) {
        0 => rng.next_u64(),
        1 => vector(rng) as u64 | Sint::MASKED,
        _ => {
            let mut v = vector(rng) as u64;
            for bit in [Sint::PROXY, Sint::POLLING, Sint::AUTO_EOI] {
                if rng.chance(1, 4) {
                    v |= bit;
                }
            }
            if rng.chance(1, 8) {
                v |= Sint::MASKED;
            }
            v
        }
    }
}

/// A value for any MSR: SINT-shaped for SINTs, enable-bit-ish or arbitrary otherwise.
fn msr_value(rng: &mut Rng, n: u32) -> u64 {
    if msr::sint_index(n).is_some() {
        return sint_value(rng);
    }
    match rng.below(4) {
        0 => 0,
        1 => 1,
        // An overlay page somewhere, enabled, possibly beyond the guest's memory.
        2 => ((rng.next_u64() & !0xfff) >> rng.below(64)) | 1,
        _ => rng.next_u64(),
    }
}

fn reg_name(rng: &mut Rng) -> u32 {
    match rng.below(8) {
        0..=3 => reg::SINT0 + sint_number(rng) as u32,
        4 => rng.pick(&[
            reg::SCONTROL,
            reg::SVERSION,
            reg::SIEFP,
            reg::SIMP,
            reg::EOM,
            reg::VSM_VINA,
        ]),
        5 => reg::SINT0 + rng.below(0x20) as u32,
        _ => rng.u32(),
    }
}

fn target_vp(rng: &mut Rng) -> u32 {
    match rng.below(8) {
        0 => VP_INDEX_DISABLE_INTERRUPT,
        1 => rng.u32(),
        _ => rng.below(5) as u32,
    }
}

fn flaws(rng: &mut Rng) -> RetargetFlaws {
    if rng.chance(7, 8) {
        RetargetFlaws::default()
    } else {
        RetargetFlaws {
            reserved_flags: rng.bool(),
            bad_processor_set: rng.bool(),
            not_msi: rng.bool(),
            multicast: rng.bool(),
        }
    }
}

fn proxy_assert(rng: &mut Rng) -> ProxyAssert {
    match rng.below(4) {
        0 => ProxyAssert::Single(rng.u32()),
        1 => ProxyAssert::Single(vector(rng) as u32),
        2 => {
            let mut words = [0u32; 8];
            for w in &mut words {
                *w = rng.u32();
            }
            ProxyAssert::Multi(VectorSet(words))
        }
        _ => {
            let mut s = VectorSet::EMPTY;
            for _ in 0..rng.below(4) {
                s.insert(vector(rng));
            }
            ProxyAssert::Multi(s)
        }
    }
}

/// One operation of any variant. Long: a table, one arm per variant (by weight).
pub fn op(rng: &mut Rng) -> Op {
    match rng.below(21) {
        0..=2 => {
            let msr = msr_number(rng);
            Op::WrMsr(WrMsr {
                vp: vp(rng),
                vtl: vtl(rng),
                msr,
                value: msr_value(rng, msr),
            })
        }
        3 => Op::RdMsr(RdMsr {
            vp: vp(rng),
            vtl: vtl(rng),
            msr: msr_number(rng),
        }),
        4 => {
            let vp = vp(rng);
            let name = reg_name(rng);
            let value = match reg::to_msr(name) {
                Some(n) => msr_value(rng, n),
                None => rng.next_u64(),
            };
            Op::SetVpRegister(SetVpRegister {
                vp,
                caller_vtl: vtl(rng),
                target_vtl: vtl(rng),
                partition_self: rng.chance(7, 8),
                vp_index: match rng.below(4) {
                    0 => vp as u32,
                    1 => rng.u32(),
                    _ => VP_INDEX_SELF,
                },
                name,
                value,
            })
        }
        5 => {
            let msr = msr_number(rng);
            Op::UntrustedWrMsr(UntrustedWrMsr {
                vp: vp(rng),
                msr,
                value: msr_value(rng, msr),
            })
        }
        6 => Op::Retarget(Retarget {
            vp: vp(rng),
            vtl: vtl(rng),
            device: index(rng),
            vector: match rng.below(6) {
                0 => rng.u32(),
                1 => vector(rng) as u32 + 0x100 * (1 + rng.below(4) as u32),
                _ => vector(rng) as u32,
            },
            targets: if rng.chance(3, 4) {
                rng.below(16) as u8
            } else {
                rng.u8()
            },
            flaws: flaws(rng),
        }),
        7 => Op::SetApic(SetApic {
            vp: vp(rng),
            vtl: vtl(rng),
            hw_enabled: rng.chance(7, 8),
            sw_enabled: rng.chance(7, 8),
        }),
        8 => Op::GuestAck(GuestAck {
            vp: vp(rng),
            vtl: vtl(rng),
        }),
        9 => Op::OpenChannel(OpenChannel {
            slot: index(rng),
            target_vp: target_vp(rng),
            event_flag: if rng.chance(3, 4) {
                rng.below(4) as u16
            } else {
                rng.u16()
            },
        }),
        10 => Op::CloseChannel(CloseChannel { slot: index(rng) }),
        11 => Op::ModifyChannel(ModifyChannel {
            slot: index(rng),
            target_vp: target_vp(rng),
        }),
        12 => Op::ModifyConnection(ModifyConnection {
            use_interrupt_page: rng.bool(),
        }),
        13 => Op::HostOffer(HostOffer { slot: index(rng) }),
        14 => Op::HostSignalChannel(HostSignalChannel { slot: index(rng) }),
        15 => Op::HostSignalSint(HostSignalSint {
            vp: vp(rng),
            sint: if rng.chance(3, 4) {
                sint_number(rng)
            } else {
                rng.u8()
            },
        }),
        16 => Op::HostDeviceInterrupt(HostDeviceInterrupt {
            device: index(rng),
            pick: rng.u8(),
        }),
        17 => Op::HostAssert(HostAssert {
            vp: vp(rng),
            assert: proxy_assert(rng),
        }),
        18 => Op::HostPostMessage(HostPostMessage {
            vp: vp(rng),
            sint: (rng.next_u64() % 16) as u8,
        }),
        _ => Op::RunVp(RunVp { vp: vp(rng) }),
    }
}

/// A stream of 0..=`max_len` operations.
pub fn stream(rng: &mut Rng, max_len: usize) -> Vec<Op> {
    let len = rng.below(max_len as u64 + 1) as usize;
    (0..len).map(|_| op(rng)).collect()
}

/// A stream of exactly `len` operations.
pub fn stream_of(rng: &mut Rng, len: usize) -> Vec<Op> {
    (0..len).map(|_| op(rng)).collect()
}
