//! The input format: total and bounded decoding, exact round trips, and pinned bytes so
//! that checked-in files keep their meaning.

use sintfuzz_model::op::{
    HostAssert, HostDeviceInterrupt, OpenChannel, RdMsr, Retarget, RunVp, SetApic, SetVpRegister,
    UntrustedWrMsr, WrMsr,
};
use sintfuzz_model::{Op, ProxyAssert, RetargetFlaws, VectorSet, Vtl};
use sintfuzz_targets::codec::{decode, encode, EncodeError, MAX_CANONICAL_LEN, MAX_OPS};
use sintfuzz_targets::scenarios::{seeds, witnesses};
use sintfuzz_targets::{Scenario, Target};

use sintfuzz_targets::rng::SplitMix64 as Rng;

#[test]
fn random_bytes_decode_encode_decode_is_stable() {
    let mut rng = Rng(1);
    for target in Target::ALL {
        for _ in 0..3000 {
            let len = (rng.next_u64() % 700) as usize;
            let data = rng.bytes(len);
            let s = decode(target, &data);
            assert!(s.ops.len() <= MAX_OPS);
            let bytes = encode(target, &s).expect("every decoded scenario is encodable");
            assert!(bytes.len() <= MAX_CANONICAL_LEN);
            assert_eq!(decode(target, &bytes), s, "{target}: {data:02x?}");
            // Canonical bytes are a fixed point.
            assert_eq!(encode(target, &decode(target, &bytes)).unwrap(), bytes);
        }
    }
}

/// A random operation of every kind the codec knows. Long: a table, one arm per kind.
fn random_op(rng: &mut Rng, vps: u8) -> Op {
    let vp = (rng.next_u64() % vps as u64) as u8;
    let vtl = if rng.next_u64() & 1 == 0 {
        Vtl::Vtl0
    } else {
        Vtl::Vtl1
    };
    let r = rng.next_u64();
    let sint_value = (r & 0xff) | (r & (1 << 16 | 1 << 17 | 1 << 18 | 1 << 20));
    match rng.next_u64() % 12 {
        0 => Op::RunVp(RunVp { vp }),
        1 => Op::WrMsr(WrMsr {
            vp,
            vtl,
            msr: 0x4000_0090 + (r >> 32) as u32 % 16,
            value: sint_value,
        }),
        2 => Op::WrMsr(WrMsr {
            vp,
            vtl,
            msr: (r >> 32) as u32,
            value: rng.next_u64(),
        }),
        3 => Op::RdMsr(RdMsr {
            vp,
            vtl,
            msr: (r >> 8) as u32,
        }),
        4 => Op::Retarget(Retarget {
            vp,
            vtl,
            device: (r >> 40) as u8 % 4,
            vector: (r >> 8) as u16 as u32,
            targets: (r >> 24) as u8,
            flaws: RetargetFlaws {
                reserved_flags: r & 1 << 50 != 0,
                bad_processor_set: r & 1 << 51 != 0,
                not_msi: r & 1 << 52 != 0,
                multicast: r & 1 << 53 != 0,
            },
        }),
        5 => Op::HostAssert(HostAssert {
            vp,
            assert: ProxyAssert::Single(r as u32),
        }),
        6 => Op::HostAssert(HostAssert {
            vp,
            assert: ProxyAssert::Multi(VectorSet([
                r as u32,
                (r >> 32) as u32,
                rng.next_u64() as u32,
                0,
                0,
                1,
                0,
                r as u32,
            ])),
        }),
        7 => Op::OpenChannel(OpenChannel {
            slot: (r % 4) as u8,
            target_vp: if r & 1 << 9 != 0 { u32::MAX } else { vp as u32 },
            event_flag: (r >> 16) as u16,
        }),
        8 => Op::SetVpRegister(SetVpRegister {
            vp,
            caller_vtl: vtl,
            target_vtl: [Vtl::Vtl0, Vtl::Vtl1, Vtl::Vtl2][(r % 3) as usize],
            partition_self: r & 1 << 5 != 0,
            vp_index: if r & 1 << 6 != 0 {
                0xffff_fffe
            } else {
                (r >> 8) as u32
            },
            name: (r >> 16) as u32,
            value: rng.next_u64(),
        }),
        9 => Op::SetApic(SetApic {
            vp,
            vtl,
            hw_enabled: r & 1 != 0,
            sw_enabled: r & 2 != 0,
        }),
        10 => Op::HostDeviceInterrupt(HostDeviceInterrupt {
            device: (r % 4) as u8,
            pick: (r >> 8) as u8,
        }),
        _ => Op::UntrustedWrMsr(UntrustedWrMsr {
            vp,
            msr: (r >> 16) as u32,
            value: rng.next_u64(),
        }),
    }
}

#[test]
fn random_scenarios_round_trip_where_encodable() {
    let mut rng = Rng(2);
    let mut encoded = [0usize; Target::ALL.len()];
    for (t, target) in Target::ALL.into_iter().enumerate() {
        for _ in 0..3000 {
            let vps = (rng.next_u64() % 4 + 1) as u8;
            let n = (rng.next_u64() % 20) as usize;
            let s = Scenario {
                config: sintfuzz_model::Config {
                    vp_count: vps,
                    vmbus_relay: rng.next_u64() & 1 == 0,
                    vtl1_enabled: rng.next_u64() & 1 == 0,
                    proxy_redirect: rng.next_u64() & 1 == 0,
                    guest_mirrors_sints: rng.next_u64() & 1 == 0,
                    ..Default::default()
                },
                ops: (0..n).map(|_| random_op(&mut rng, vps)).collect(),
            };
            match encode(target, &s) {
                Ok(bytes) => {
                    encoded[t] += 1;
                    assert_eq!(decode(target, &bytes), s, "{target}");
                }
                Err(EncodeError::Unrepresentable { index, op }) => {
                    // Then no kind of this target decodes to it: check that claim on
                    // the op alone.
                    let one = Scenario {
                        config: s.config,
                        ops: vec![op],
                    };
                    assert!(encode(target, &one).is_err(), "op {index}: {op:?}");
                }
                Err(e) => panic!("{e}"),
            }
        }
    }
    // Each target represents a good share of its scenarios (guards the test itself).
    assert!(encoded.iter().all(|&n| n > 0), "{encoded:?}");
}

#[test]
fn named_scenarios_round_trip() {
    for w in witnesses().into_iter().chain(seeds()) {
        let bytes = encode(w.target, &w.scenario).unwrap_or_else(|e| panic!("{}: {e}", w.name));
        assert_eq!(decode(w.target, &bytes), w.scenario, "{}", w.name);
    }
}

#[test]
fn truncated_and_huge_inputs_decode_to_bounded_scenarios() {
    assert_eq!(decode(Target::RelayLifecycle, &[]).ops.len(), 0);
    let w = witnesses()
        .into_iter()
        .find(|w| w.name == "proxy-bit-drops-relay-signal")
        .unwrap();
    let bytes = encode(w.target, &w.scenario).unwrap();
    for cut in 0..bytes.len() {
        let s = decode(w.target, &bytes[..cut]);
        assert!(s.ops.len() <= w.scenario.ops.len());
        assert!((1..=4).contains(&s.config.vp_count));
    }
    let huge = Rng(3).bytes(10 << 20);
    for target in Target::ALL {
        let s = decode(target, &huge);
        assert_eq!(s.ops.len(), MAX_OPS);
        // Decoding reads at most the canonical maximum: its cost does not grow with size.
        assert!(encode(target, &s).unwrap().len() <= MAX_CANONICAL_LEN);
    }
}

/// Canonical bytes, unchanged since version 1, pinned. If one of these changes, old corpus and regression files
/// changed meaning: add a kind instead.
#[test]
fn format_v1_is_pinned() {
    let pinned: &[(&str, &str)] = &[
        (
            "proxy-bit-drops-relay-signal",
            "0000010000023000080009000001000d000000",
        ),
        ("vtl1-sint-write-asserts", "0800010001123000100000000000"),
        (
            "retarget-cross-vp-wake-window",
            "000105000000400002000900000001",
        ),
    ];
    for (name, hex) in pinned {
        let w = witnesses().into_iter().find(|w| w.name == *name).unwrap();
        let bytes = encode(w.target, &w.scenario).unwrap();
        let got: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(&got, hex, "{name}");
        let raw: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        assert_eq!(decode(w.target, &raw), w.scenario, "{name}");
    }
}

/// The codec's reader takes integers exactly as `arbitrary` 1.4.2's `Unstructured` does
/// (the format was defined by it): little-endian, zero-padded past the end.
#[test]
fn reader_reads_integers_as_arbitrary_does() {
    use arbitrary::{Arbitrary, Unstructured};
    use sintfuzz_targets::codec::{Reader, Stream};
    let mut rng = Rng(5);
    for _ in 0..2000 {
        let len = (rng.next_u64() % 24) as usize;
        let data = rng.bytes(len);
        let mut ours = Reader(&data);
        let mut theirs = Unstructured::new(&data);
        for _ in 0..12 {
            match rng.next_u64() % 4 {
                0 => {
                    let mut v = 0u8;
                    ours.u8(&mut v);
                    assert_eq!(v, u8::arbitrary(&mut theirs).unwrap());
                }
                1 => {
                    let mut v = 0u16;
                    ours.u16(&mut v);
                    assert_eq!(v, u16::arbitrary(&mut theirs).unwrap());
                }
                2 => {
                    let mut v = 0u32;
                    ours.u32(&mut v);
                    assert_eq!(v, u32::arbitrary(&mut theirs).unwrap());
                }
                _ => {
                    let mut v = 0u64;
                    ours.u64(&mut v);
                    assert_eq!(v, u64::arbitrary(&mut theirs).unwrap());
                }
            }
            assert_eq!(ours.0.len(), theirs.len());
        }
    }
}

#[test]
fn tag_modulus_is_exact_for_every_byte_and_divisor() {
    use sintfuzz_targets::codec::TagMod;
    for d in 1..=255usize {
        let m = TagMod::new(d);
        for tag in 0..=255u8 {
            assert_eq!(m.of(tag), tag as usize % d, "{tag} % {d}");
        }
    }
}

/// The fuzz loop's decoder (`Decoder::next_to`: a plain tag's kind from the target's
/// `kinds_by_tag`, the operation handed to a sink) decodes every input as `decode` does
/// (the tag rule through `KindTable::read`): every tag byte first, then random inputs.
#[test]
fn fuzz_loop_decoder_agrees_with_decode() {
    use sintfuzz_targets::codec::{Decoder, OpSink};
    struct Copy;
    impl OpSink for Copy {
        type Out = Op;
        fn op(&mut self, op: &Op) -> Op {
            *op
        }
    }
    let fast = |target: Target, data: &[u8]| {
        let mut d = Decoder::new(target, data);
        let ops: Vec<Op> = std::iter::from_fn(|| d.next_to(&mut Copy)).collect();
        Scenario {
            config: d.config,
            ops,
        }
    };
    let mut rng = Rng(0x6b1d);
    for target in Target::ALL {
        for tag in 0..=255u8 {
            for tail in [&[][..], &[tag, 7, 0xff, 3][..], &[0xff; 40][..]] {
                let data = [&[0, 1, tag][..], tail].concat();
                assert_eq!(
                    fast(target, &data),
                    decode(target, &data),
                    "{target} {data:?}"
                );
            }
        }
        for _ in 0..2000 {
            let data = rng.input();
            assert_eq!(
                fast(target, &data),
                decode(target, &data),
                "{target} {data:?}"
            );
        }
    }
}
