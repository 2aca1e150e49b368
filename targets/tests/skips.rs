//! Skips are counted and stay narrow: on fixed-seed random inputs, each reason the oracle
//! declines to judge stays under a stated share of the deliveries it judged (head and
//! proposed, every target, every input run to its end). The bounds are what this seed
//! measured (`sintfuzz bench` prints the same shares) with headroom; a bound broken means
//! the oracle now skips more than it did.

use sintfuzz_model::Revision;
use sintfuzz_targets::harness::run_skips;
use sintfuzz_targets::oracle::{Skip, Skips};
use sintfuzz_targets::rng::SplitMix64;
use sintfuzz_targets::{InvariantSet, Settings, Target};

/// The stated bound per reason, as a share of judged deliveries. Random relay_lifecycle
/// inputs write the host's SINT copies often (one action kind in 17), so the untrusted-synic
/// skip is by far the widest.
fn bound(why: Skip) -> f64 {
    match why {
        Skip::UntrustedSynic => 1.5,
        Skip::InterruptPageFlag => 0.05,
        Skip::Reconfigured => 0.5,
        Skip::ExpectCap => 0.01,
    }
}

#[test]
fn each_skip_reason_stays_under_its_share_of_judged_deliveries() {
    let mut rng = SplitMix64(0x5eed);
    let inputs: Vec<Vec<u8>> = (0..4000).map(|_| rng.input()).collect();
    for target in Target::ALL {
        for revision in [Revision::Head, Revision::Proposed] {
            let s = Settings {
                revision,
                invariants: InvariantSet::NONE,
            };
            let mut total = Skips::default();
            for d in &inputs {
                total.add(&run_skips(target, d, &s).1);
            }
            assert!(
                total.judged >= 20,
                "{target} on {revision}: judged only {}",
                total.judged
            );
            for why in Skip::ALL {
                assert!(
                    total.share(why) <= bound(why),
                    "{target} on {revision}: {} skipped {} of {} judged ({:.3} > {})",
                    why.name(),
                    total.count(why),
                    total.judged,
                    total.share(why),
                    bound(why)
                );
            }
        }
    }
}

#[test]
fn a_malicious_assert_of_a_told_vector_is_judged() {
    // The untrusted-synic exemption covers an honest host signal only: the guest gives the
    // host's synic vector 0x50 for SINT3 (trusted: masked), and a malicious host asserts
    // 0x50 without any signal. That is a leak.
    use sintfuzz_model::hvdef::msr;
    use sintfuzz_model::op::{HostAssert, RunVp, UntrustedWrMsr};
    use sintfuzz_model::{Config, Op, ProxyAssert, Sint};
    use sintfuzz_targets::codec::{encode, Scenario};
    let ops = vec![
        Op::UntrustedWrMsr(UntrustedWrMsr {
            vp: 0,
            msr: msr::SINT0 + 3,
            value: Sint::unmasked(0x50, false).into_bits(),
        }),
        Op::HostAssert(HostAssert {
            vp: 0,
            assert: ProxyAssert::Single(0x50),
        }),
        Op::RunVp(RunVp { vp: 0 }),
    ];
    let s = Scenario {
        config: Config {
            vmbus_relay: false,
            ..Config::default()
        },
        ops,
    };
    let bytes = encode(Target::ProxyFilter, &s).unwrap();
    let settings = Settings {
        revision: Revision::Unfiltered,
        invariants: InvariantSet::default_set(),
    };
    let (outcome, skips) = run_skips(Target::ProxyFilter, &bytes, &settings);
    assert_eq!(
        outcome.violation().map(|v| v.invariant.id()),
        Some("leak-unentitled")
    );
    assert_eq!(skips.count(Skip::UntrustedSynic), 0);
}
