//! Issue 20, one root cause per bucket: crashes whose fix had two alternatives because one
//! value served two roles are separated while minimizing, and land in the bucket of the one
//! root cause they show (`triage/src/findings/separate.rs`, `KnownList::label`).

use std::path::PathBuf;

use sintfuzz_model::hvdef::{msr, reg, VP_INDEX_SELF};
use sintfuzz_model::op::{HostSignalSint, RunVp, SetVpRegister, WrMsr};
use sintfuzz_model::{Config, Op, Revision, Sint, Vtl};
use sintfuzz_targets::codec::{decode, encode, Scenario};
use sintfuzz_targets::known::Label;
use sintfuzz_targets::signature::{analyze, Fix};
use sintfuzz_targets::{InvariantSet, Settings, Target};
use sintfuzz_triage::bucket::KnownList;
use sintfuzz_triage::findings::minimize::{minimize, Minimized};

fn known() -> KnownList {
    KnownList::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("known.toml")).unwrap()
}

fn proxy_bit() -> Settings {
    Settings {
        revision: Revision::ProxyBit,
        invariants: InvariantSet::default_set(),
    }
}

/// `data` minimized on proxy-bit: it violates `invariant`, and the known list labels it
/// finding `id` alone.
fn minimized_as(target: Target, data: &[u8], invariant: &str, id: &str) -> Minimized {
    let m = minimize(target, data, &proxy_bit()).unwrap();
    assert_eq!(m.violation.invariant.id(), invariant);
    let list = known();
    let label = list.label(&m.signature, m.violation.invariant);
    assert!(
        matches!(label, Label::Known(k) if k.id == id),
        "{}: {}",
        m.signature,
        label.line()
    );
    m
}

fn alternatives(fix: &Fix) -> usize {
    match fix {
        Fix::Choices(a) => a.len(),
        _ => 0,
    }
}

/// The README campaign's usual "#1162" witness: VP0 writes SINT2 = 0x2f by WRMSR, then sets
/// SINT2 = 0x2f with the proxy bit by HvSetVpRegisters (no recompute: SF-002), and the
/// host's signal on that proxy-bit SINT is dropped. #1162's fix hides it only because the
/// WRMSR gave the same vector. Separated, it is SF-002, and its witness has no WRMSR.
#[test]
fn a_lost_proxy_sint_witness_of_two_fixes_separates_into_sf_002() {
    let sint2 = |proxy| Sint::unmasked(0x2f, proxy).into_bits();
    let ops = vec![
        Op::WrMsr(WrMsr {
            vp: 0,
            vtl: Vtl::Vtl0,
            msr: msr::SINT0 + 2,
            value: sint2(false),
        }),
        Op::SetVpRegister(SetVpRegister {
            vp: 0,
            caller_vtl: Vtl::Vtl0,
            target_vtl: Vtl::Vtl0,
            partition_self: true,
            vp_index: VP_INDEX_SELF,
            name: reg::SINT0 + 2,
            value: sint2(true),
        }),
        Op::HostSignalSint(HostSignalSint { vp: 0, sint: 2 }),
        Op::RunVp(RunVp { vp: 0 }),
    ];
    let bytes = encode(
        Target::AllOps,
        &Scenario {
            config: Config::default(),
            ops,
        },
    )
    .unwrap();
    let s = proxy_bit();
    let before = analyze(Target::AllOps, s.revision, s.invariants, &bytes).unwrap();
    assert_eq!(before.violation.invariant.id(), "lost-proxy-sint");
    assert!(
        alternatives(&before.signature.fix) >= 2,
        "{}",
        before.signature
    );
    let m = minimized_as(Target::AllOps, &bytes, "lost-proxy-sint", "SF-002");
    assert_eq!(alternatives(&m.signature.fix), 1, "{}", m.signature);
    // The witness shows only that root cause: no WRMSR of the vector is left.
    let w = decode(Target::AllOps, &m.bytes);
    assert!(
        !w.ops.iter().any(|o| matches!(o, Op::WrMsr(_))),
        "{:?}",
        w.ops
    );
    // The bucket's signature is the one explain prints for its minimized file.
    let again = analyze(Target::AllOps, s.revision, s.invariants, &m.bytes).unwrap();
    assert_eq!(again.signature, m.signature);
}

/// The README campaign's "#1162" lost-device witness (4 VPs): VP 3 sets SINT2 = 0x2f, VP 0
/// retargets a device to 0x2f on VP 3, and the interrupt arrives before VP 3 runs:
/// SF-003's window, which #1162's fix hides by the same coincidence. It is SF-003's.
#[test]
fn a_lost_device_witness_of_two_fixes_is_sf_003() {
    let data = [
        0x00, 0x03, 0x01, 0x03, 0x00, 0x02, 0x2f, 0x00, 0x05, 0x00, 0x00, 0x01, 0x2f, 0x00, 0x08,
        0x00, 0x0f, 0x01, 0x00, 0x00, 0x03,
    ];
    minimized_as(Target::RelayLifecycle, &data, "lost-device", "SF-003");
}
