//! Root-cause signatures and the known list: every regression's violation on every
//! revision is a known root cause, each entry is witnessed on each revision it lists, no
//! signature names two entries, and flipping a policy choice is what a signature names.

use std::path::{Path, PathBuf};

use sintfuzz_model::{Choice, Policy, Revision};
use sintfuzz_targets::codec::encode;
use sintfuzz_targets::files::{list, read_input, REGRESSIONS_DIR};
use sintfuzz_targets::known::{judge, pattern_matches, KnownList, KnownMode, Verdict, EMBEDDED};
use sintfuzz_targets::scenarios::witnesses;
use sintfuzz_targets::signature::{analyze, signature, Direction, Fix};
use sintfuzz_targets::{run, InvariantSet, Settings, Target};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Input bytes written as hex.
fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// The analysis of a relay_lifecycle input that violates on proxy-bit (default set).
fn on_proxy_bit(data: &[u8]) -> sintfuzz_targets::signature::Analysis {
    analyze(
        Target::RelayLifecycle,
        Revision::ProxyBit,
        InvariantSet::default_set(),
        data,
    )
    .expect("violates on proxy-bit")
}

fn known() -> KnownList {
    KnownList::load(&root().join("triage/known.toml")).unwrap()
}

/// The invariant a witness (hex) of `target` violates on proxy-bit, and the known finding
/// its signature names (a test failure, with the signature, where it is new).
fn found_on_proxy_bit(target: Target, hex: &str) -> (&'static str, String) {
    found_on(Revision::ProxyBit, target, hex)
}

/// [`found_on_proxy_bit`] on any revision.
fn found_on(revision: Revision, target: Target, hex: &str) -> (&'static str, String) {
    let a = analyze(
        target,
        revision,
        InvariantSet::default_set(),
        &hex_bytes(hex),
    )
    .expect("violates");
    let list = known();
    let (_, k) = list
        .find(&a.signature, a.violation.invariant)
        .unwrap_or_else(|| panic!("{} is new", a.signature));
    (a.violation.invariant.id(), k.id.clone())
}

fn sets() -> [InvariantSet; 2] {
    [InvariantSet::default_set(), InvariantSet::strict()]
}

#[test]
fn embedded_list_is_the_checked_in_one_and_parses() {
    assert_eq!(KnownList::parse(EMBEDDED).unwrap(), known());
    assert!(KnownList::parse("[[finding]]\nid = 'x'\ntitle = ''\nstatus = 'maybe'\nsignatures = []\nrevisions = []\nregressions = []\n").is_err());
}

#[test]
fn every_regression_violation_is_a_known_root_cause() {
    let known = known();
    let mut n = 0;
    for target in Target::ALL {
        for file in list(&root().join(REGRESSIONS_DIR), target, "bin").unwrap() {
            let data = read_input(&file).unwrap();
            for revision in Revision::ALL {
                for invariants in sets() {
                    let Some(a) = analyze(target, revision, invariants, &data) else {
                        continue;
                    };
                    let matches: Vec<&str> = known
                        .finding
                        .iter()
                        .filter(|k| {
                            k.signatures
                                .iter()
                                .any(|p| pattern_matches(p, &a.signature.to_string()))
                        })
                        .map(|k| k.id.as_str())
                        .collect();
                    assert_eq!(
                        matches.len(),
                        1,
                        "{} on {revision} ({invariants}): signature `{}` matches {matches:?}",
                        file.display(),
                        a.signature
                    );
                    n += 1;
                }
            }
        }
    }
    assert!(n >= 60, "{n}");
}

#[test]
fn each_entry_is_witnessed_on_each_revision_it_lists() {
    for k in known().finding {
        assert!(!k.regressions.is_empty(), "{}", k.id);
        for r in &k.revisions {
            let revision: Revision = r.parse().unwrap();
            let witnessed = k.regressions.iter().any(|file| {
                let path = root().join(file);
                let target = Target::ALL
                    .into_iter()
                    .find(|t| file.contains(&format!("/{}/", t.name())))
                    .unwrap();
                let data = read_input(&path).unwrap_or_else(|e| panic!("{}: {e}", k.id));
                sets().into_iter().any(|inv| {
                    analyze(target, revision, inv, &data).is_some_and(|a| {
                        k.signatures
                            .iter()
                            .any(|p| pattern_matches(p, &a.signature.to_string()))
                    })
                })
            });
            assert!(witnessed, "{} is not witnessed on {r}", k.id);
        }
    }
}

#[test]
fn the_issue_input_is_sf006() {
    // Issue 10: relay_lifecycle, 1 VP, SNP, relay off, VTL1 enabled; judged at delivery
    // as leak-cross-vtl, its root cause is SF-006's.
    let w = witnesses()
        .into_iter()
        .find(|w| w.name == "set-vp-registers-stale-filter-cross-vtl")
        .unwrap();
    let bytes = encode(w.target, &w.scenario).unwrap();
    let a = analyze(
        w.target,
        Revision::ProxyBit,
        InvariantSet::default_set(),
        &bytes,
    )
    .unwrap();
    assert_eq!(a.violation.invariant.id(), "leak-cross-vtl");
    assert_eq!(a.violation.step, 5);
    assert_eq!(a.divergence.step, Some(1));
    assert_eq!(a.divergence.direction, Direction::TooOpen);
    assert_eq!(a.divergence.op, "SetVpRegister.sint");
    assert!(!a.divergence.recomputed);
    let (_, k) = known()
        .find(&a.signature, a.violation.invariant)
        .map(|(i, k)| (i, k.clone()))
        .unwrap();
    assert_eq!(k.id, "SF-006");
}

/// A policy: `head` with one choice of `proposed` reverted onto it (proposed minus one
/// choice), for the flip test below.
fn proposed_without(c: Choice) -> Policy {
    Revision::Proposed
        .policy()
        .with_choice(c, Revision::Head.policy())
}

#[test]
fn flipping_each_choice_is_named_by_the_signature() {
    // For each choice in which head and proposed differ: the witness of the defect that
    // choice removes, on head, has a signature naming that choice; and proposed with that
    // one choice reverted breaks the same witness (the choice is necessary, not just
    // sufficient).
    let cases = [
        (Choice::Admission, "relay-admits-non-vmbus-sint"),
        (Choice::SyncEveryPath, "set-vp-registers-mask-stale-filter"),
        (Choice::ScontrolGatesSints, "scontrol-disabled-still-admits"),
        (Choice::BlockReserved, "offload-reserved-vector"),
        (Choice::RetargetVtl0Only, "vtl1-retarget-asserts"),
        (Choice::DeviceVectors, "retarget-vector-truncation"),
        (Choice::RetargetSync, "stale-device-vector"),
        (Choice::MessageSintCheck, "message-to-sint-16-panics"),
    ];
    let head = Revision::Head.policy();
    let proposed = Revision::Proposed.policy();
    let differing: Vec<Choice> = Choice::ALL
        .into_iter()
        .filter(|&c| head.differs(proposed, c))
        .collect();
    assert_eq!(
        differing,
        cases.iter().map(|c| c.0).collect::<Vec<_>>(),
        "a choice without a case"
    );
    for (choice, name) in cases {
        let w = witnesses().into_iter().find(|w| w.name == name).unwrap();
        let bytes = encode(w.target, &w.scenario).unwrap();
        let strict = InvariantSet::strict();
        let a = analyze(w.target, Revision::Head, strict, &bytes).unwrap();
        assert!(
            a.signature.fix.names(choice),
            "{name}: `{}` does not name {choice}",
            a.signature
        );
        let broken = sintfuzz_targets::harness::run_policy(
            w.target,
            &bytes,
            Revision::Proposed,
            proposed_without(choice),
            strict,
        );
        // Where two choices are alternatives (SF-001: retarget-vtl0-only | retarget-sync),
        // reverting one leaves the other.
        if let Fix::Choices(alts) = &a.signature.fix {
            if alts.len() == 1 && alts[0].count_ones() == 1 {
                assert!(broken.violation().is_some(), "{name} without {choice}");
            }
        }
    }
    // The older revisions: #563 names the filter, #1162 the admission and the trigger,
    // #1275 the VTL0 gate of the WRMSR recompute.
    for (name, revision, choices) in [
        (
            "unfiltered-host-injects-any-vector",
            Revision::Unfiltered,
            &[Choice::Filter][..],
        ),
        (
            "proxy-bit-drops-relay-signal",
            Revision::ProxyBit,
            &[Choice::Admission, Choice::WrmsrTrigger][..],
        ),
        (
            "vtl1-sint-write-asserts",
            Revision::RelayAware,
            &[Choice::WrmsrVtl0Only][..],
        ),
    ] {
        let w = witnesses().into_iter().find(|w| w.name == name).unwrap();
        let bytes = encode(w.target, &w.scenario).unwrap();
        let a = analyze(w.target, revision, InvariantSet::default_set(), &bytes).unwrap();
        for &c in choices {
            assert!(a.signature.fix.names(c), "{name}: `{}`", a.signature);
        }
    }
}

#[test]
fn proposed_violations_have_no_fix() {
    // A hand-made proposed failure does not exist; a bare HostAssert on unfiltered is
    // fixed by the filter, and nothing on proposed can name a choice.
    let w = witnesses()
        .into_iter()
        .find(|w| w.name == "unfiltered-host-injects-any-vector")
        .unwrap();
    let bytes = encode(w.target, &w.scenario).unwrap();
    assert!(analyze(w.target, Revision::Proposed, InvariantSet::strict(), &bytes).is_none());
}

/// The clean-clone CI's head smoke (60 s, known findings suppressed) stopped on this input:
/// its fix has two alternatives, `admission|sync-every-path`, and the first entry that
/// matched was #1162 (fixed), though SF-002's fix alone (open) removes it too. A stacked
/// violation an open finding's fix alone removes is skipped as that finding; with
/// SINTFUZZ_KNOWN=report it still stops.
#[test]
fn a_stacked_violation_an_open_fix_removes_is_skipped() {
    let bytes = hex_bytes(concat!(
        "0000040000090100020000010300022f00010000022f00080000010300022f00010000022f010000",
        "822f00080008010900010000022f0008000801090000010009010002004242020e00020e0302020e",
        "004242414242424242422f0204030001030102ffffff09010200090100020042000000010300022f",
        "00010000022f010000822f0008000801090000010009010002004242020e000242020e00020e0302",
        "020e004242424242424242422f0204030001030102ffffff09010200020e0302020e525252525252",
        "2f5252525252525252525252020403002f025252525252525252110342305252420a2f010000",
    ));
    let settings = Settings {
        revision: Revision::Head,
        invariants: InvariantSet::default_set(),
    };
    let target = Target::RelayLifecycle;
    let v = run(target, &bytes, &settings).violation().unwrap();
    let known = known();
    let sf002 = known.finding.iter().position(|k| k.id == "SF-002").unwrap();
    assert_eq!(
        judge(&known, KnownMode::Suppress, target, &bytes, &settings, &v),
        Verdict::Suppressed(sf002)
    );
    assert!(matches!(
        judge(&known, KnownMode::Report, target, &bytes, &settings, &v),
        Verdict::Stop(_)
    ));
    // `only:` stops on the findings it names and skips the other open ones.
    let only = |ids: &str| KnownMode::only(&known, ids).unwrap();
    assert!(matches!(
        judge(
            &known,
            only("SF-006, SF-002"),
            target,
            &bytes,
            &settings,
            &v
        ),
        Verdict::Stop(_)
    ));
    assert_eq!(
        judge(&known, only("SF-005"), target, &bytes, &settings, &v),
        Verdict::Suppressed(sf002)
    );
    let e = KnownMode::only(&known, "SF-005,SF-999").unwrap_err();
    assert!(e.contains("SF-999"), "{e}");
}

#[test]
fn engines_skip_open_findings_and_stop_on_new_or_fixed_ones() {
    let known = known();
    let verdict = |name: &str, revision: Revision, list: &KnownList, mode: KnownMode| {
        let w = witnesses().into_iter().find(|w| w.name == name).unwrap();
        let bytes = encode(w.target, &w.scenario).unwrap();
        let settings = Settings {
            revision,
            invariants: InvariantSet::default_set(),
        };
        let v = run(w.target, &bytes, &settings).violation().unwrap();
        judge(list, mode, w.target, &bytes, &settings, &v)
    };
    // SF-001 is open: skipped, unless SINTFUZZ_KNOWN=report.
    let sf001 = known.finding.iter().position(|k| k.id == "SF-001").unwrap();
    assert_eq!(
        verdict(
            "vtl1-retarget-asserts",
            Revision::Head,
            &known,
            KnownMode::Suppress
        ),
        Verdict::Suppressed(sf001)
    );
    match verdict(
        "vtl1-retarget-asserts",
        Revision::Head,
        &known,
        KnownMode::Report,
    ) {
        Verdict::Stop(msg) => {
            assert!(msg.starts_with("sintfuzz violation: vtl2-crash:"), "{msg}");
            assert!(msg.contains("known SF-001 [open]"), "{msg}");
        }
        v => panic!("{v:?}"),
    }
    // With the list emptied, it is new and stops.
    match verdict(
        "vtl1-retarget-asserts",
        Revision::Head,
        &KnownList::default(),
        KnownMode::Suppress,
    ) {
        Verdict::Stop(msg) => assert!(msg.ends_with("(new)"), "{msg}"),
        v => panic!("{v:?}"),
    }
    // #1162 is fixed upstream: finding it is a regression, never skipped.
    match verdict(
        "proxy-bit-drops-relay-signal",
        Revision::ProxyBit,
        &known,
        KnownMode::Suppress,
    ) {
        Verdict::Stop(msg) => assert!(msg.contains("known openvmm#1162 [fixed]"), "{msg}"),
        v => panic!("{v:?}"),
    }
}

#[test]
fn known_mode_reads_its_variable_strictly() {
    // Only the parser; the process-wide value is read once by the engines.
    assert!(pattern_matches(
        "leak filter too-open *",
        "leak filter too-open Retarget"
    ));
    assert!(!pattern_matches(
        "leak filter too-open *",
        "leak admission too-open Retarget"
    ));
    assert!(!pattern_matches(
        "leak filter *",
        "leak filter too-open Retarget"
    ));
    // Noise: a computed single that is part of the known fix; stacked: a computed pair
    // that contains it (SF-005 and SF-006 both admitting 0x00, found by a head campaign).
    assert!(pattern_matches(
        "lost admission+wrmsr-trigger too-closed WrMsr.sint",
        "lost admission too-closed WrMsr.sint"
    ));
    assert!(pattern_matches(
        "leak device-vectors|retarget-sync too-open *",
        "leak block-reserved|sync-every-path+device-vectors too-open SetVpRegister.sint"
    ));
    assert!(!pattern_matches(
        "leak device-vectors|retarget-sync too-open *",
        "leak sync-every-path too-open SetVpRegister.sint"
    ));
    // `filter` alone says nothing beyond "no filter".
    assert!(!pattern_matches(
        "strict-leak filter+retarget-sync too-open *",
        "strict-leak filter too-open WrMsr.scontrol"
    ));
    assert!(!pattern_matches(
        "leak filter too-open *",
        "leak filter+device-vectors too-open initial"
    ));
}

/// A proxy-bit campaign (CI's README command) found a lost device interrupt that no
/// single choice or pair of `proposed` removes: the cross-VP wake window (SF-003's
/// `device-vectors+retarget-sync`) with the vector also entitled through an
/// HvSetVpRegisters proxy SINT (SF-002's `sync-every-path`). Its minimal fix is the
/// triple, which contains known fixes, so it is a known finding, not a new bucket.
#[test]
fn a_loss_needing_three_choices_is_named_by_the_triple_and_known() {
    let data = hex_bytes("000305000001100008000202000002100200020e020200020f01000003");
    let a = on_proxy_bit(&data);
    let sig = a.signature.to_string();
    assert!(
        sig.contains("sync-every-path+device-vectors+retarget-sync"),
        "{sig}"
    );
    let list = known();
    let (_, k) = list
        .find(&a.signature, a.violation.invariant)
        .expect("a known finding");
    assert!(k.id == "SF-002" || k.id == "SF-003", "{}", k.id);
    // On head (which has sync-every-path) the same input is SF-003 by its pair.
    if let Some(h) = analyze(
        Target::RelayLifecycle,
        Revision::Head,
        InvariantSet::default_set(),
        &data,
    ) {
        assert!(h
            .signature
            .to_string()
            .contains("device-vectors+retarget-sync"));
    }
}

/// A lost relay interrupt a plain libFuzzer run on proxy-bit found: VTL0 sets SINT8 = 0x18
/// by HvSetVpRegisters (no recompute), then WRMSR SINT2 = 0x18 without the proxy bit, and
/// the host's signal is dropped. The filter parted from the entitlement at the hypercall
/// (SINT8 entitled 0x18 first), but the fix is #1162's (admit SINT2, recompute on its
/// WRMSR): SF-002's fix alone (recompute on the hypercall) still blocks 0x18. It is #1162.
#[test]
fn a_1162_loss_whose_vector_a_hypercall_entitled_first_is_1162() {
    let a = on_proxy_bit(&hex_bytes(
        "000008000900000100020000000818000100000218000d000000",
    ));
    assert_eq!(a.violation.invariant.id(), "lost-relay");
    assert_eq!(
        a.signature.to_string(),
        "lost admission+wrmsr-trigger too-closed SetVpRegister.sint"
    );
    let list = known();
    let (_, k) = list
        .find(&a.signature, a.violation.invariant)
        .expect("a known finding");
    assert_eq!(k.id, "openvmm#1162");
}

/// Two lost-proxy-sint vehicles of known root causes that proxy-bit README campaigns
/// bucketed as new: the guest gives the host's copy of one SINT (untrusted WRMSR) a vector
/// it entitles elsewhere, and the host's signal on that SINT is dropped. With SINT2 = 0x2f
/// without the proxy bit it is #1162 (admitting SINT2 removes it); with a device routed to
/// 0x41 on VP 0 by another VP it is SF-003's wake window (a synchronous update removes it).
#[test]
fn lost_proxy_sint_vehicles_of_1162_and_sf003_are_theirs() {
    for (hex, id) in [
        (
            "0000010000022f000100000001030300002f000e00000000",
            "openvmm#1162",
        ),
        (
            "0002010000020503050200004100010003000241000e00020000",
            "SF-003",
        ),
    ] {
        let found = found_on_proxy_bit(Target::RelayLifecycle, hex);
        assert_eq!(found, ("lost-proxy-sint", id.to_string()));
    }
}

/// Two README campaigns on proxy-bit bucketed these as new. A relayed channel's signal
/// falls into SF-003's wake window: VP 0 tells the host SINT2 = 0x2f only by GHCB, so the
/// relay is owed 0x2f because VP 1 routes device 0 to 0x2f on VP 0, and the host signals
/// before VP 0 runs (SF-003's fix alone removes it). And a lost device interrupt where
/// SF-003's window is stacked on #1162 masked by a sticky device vector: only the union of
/// both fixes removes it, which names SF-003 (the invariant is its own).
#[test]
fn sf003_vehicles_a_relay_signal_and_a_stacked_1162_are_sf003() {
    for (hex, invariant) in [
        (
            "00010300022f0008000900000100050100002f0001000d000000",
            "lost-relay",
        ),
        (
            "0003050000002f91000008000900000100010000022f000d00000005000001100008000f01000003",
            "lost-device",
        ),
    ] {
        let found = found_on_proxy_bit(Target::RelayLifecycle, hex);
        assert_eq!(found, (invariant, "SF-003".to_string()));
    }
}

/// A relay-aware campaign bucketed this as new (`lost sync-every-path too-closed
/// Retarget`): VP 0 retargets device 2 to 0x10 on VP 1 (VP 1 only woken: SF-003's window),
/// VP 1 sets SINT2 = 0x10 with the proxy bit by HvSetVpRegisters (no recompute: SF-002's
/// path), and the device fires before VP 1 runs. Recomputing in HvSetVpRegisters alone
/// would have picked up the sticky device vector, but the divergence is the Retarget and
/// the loss the device's: SF-003, whose own fix removes it too (judged on lost-device
/// alone: with per-device vectors the rejected retarget to 0x30 no longer masks an earlier
/// SF-002 loss on VP 0, which would end the run first).
#[test]
fn a_device_loss_a_hypercall_recompute_would_mask_is_sf003() {
    let hex =
        "00010500000030001000020000000030020e000005000002100002000000020100000210020f02000001";
    let found = found_on(Revision::RelayAware, Target::RelayLifecycle, hex);
    assert_eq!(found, ("lost-device", "SF-003".to_string()));
    let fixed = sintfuzz_targets::harness::run_policy(
        Target::RelayLifecycle,
        &hex_bytes(hex),
        Revision::RelayAware,
        Revision::RelayAware
            .policy()
            .with_choice(Choice::DeviceVectors, Revision::Proposed.policy())
            .with_choice(Choice::RetargetSync, Revision::Proposed.policy()),
        InvariantSet::parse("lost-device").unwrap(),
    );
    assert!(fixed.violation().is_none(), "SF-003's fix leaves {fixed:?}");
}

/// The README campaign (CI, fresh clone) bucketed these as new: a message queued while
/// SINT2 had no proxy bit, then HvSetVpRegisters gives SINT2 the proxy bit (and in the
/// second a new vector): the run sends it through the host's copy and the stale filter
/// drops it. SF-002; the loss is traced from the hypercall that changed what it is owed.
#[test]
fn a_message_owed_anew_after_a_hypercall_sint_set_is_sf002() {
    for hex in [
        "0100010000021000ff0000020000000210020000",
        "0800010000021000ff0000010001021000020000000220020000",
    ] {
        let found = found_on_proxy_bit(Target::RelayLifecycle, hex);
        assert_eq!(found, ("lost-message", "SF-002".to_string()));
    }
}

/// A proxy-bit campaign on synic_msr bucketed this as new: VP 0 sets SINT2 = 0x2f with the
/// proxy bit by WRMSR, clears it by HvSetVpRegisters (no recompute: SF-006), then writes
/// SINT0 = 0x2f and 0 without the proxy bit (no recompute on proxy-bit either); a malicious
/// host's 0x2f reaches VTL0. Recomputing in HvSetVpRegisters alone removes it: SF-006.
#[test]
fn a_withdrawn_sint_vector_kept_past_a_later_wrmsr_is_sf006() {
    let hex = "0000010000122f001000000000000300000000fe020000000000000000010000102f0000000000000001000010000000000000000008002f0000000000";
    let found = found_on_proxy_bit(Target::SynicMsr, hex);
    assert_eq!(found, ("leak-unentitled", "SF-006".to_string()));
}

/// A lost device interrupt a proxy-bit campaign found (4 VPs, SNP, relay on): VTL0 of VP 3
/// writes SINT2 = 0x2f without the proxy bit, VP 0 retargets a device to 0x2f on VP 3, the
/// device interrupts before VP 3 runs. #1162's fix (admit SINT2) removes it, and so does
/// SF-003's (update every target VP at the retarget). Both signatures match, but #1162
/// covers only `lost-relay` (issue 20: a finding's witness violates one of its
/// invariants), so this `lost-device` is SF-003 alone.
#[test]
fn a_finding_names_only_violations_of_its_own_invariants() {
    let data = [
        0x00, 0x03, 0x01, 0x03, 0x00, 0x02, 0x2f, 0x00, 0x05, 0x00, 0x00, 0x01, 0x2f, 0x00, 0x08,
        0x00, 0x0f, 0x01, 0x00, 0x00, 0x03,
    ];
    let a = sintfuzz_targets::signature::analyze(
        Target::RelayLifecycle,
        Revision::ProxyBit,
        InvariantSet::default_set(),
        &data,
    )
    .expect("a violation");
    let (sig, inv) = (a.signature, a.violation.invariant);
    assert_eq!(inv.id(), "lost-device");
    let list = known();
    let by_signature: Vec<&str> = list
        .finding
        .iter()
        .filter(|k| {
            k.signatures
                .iter()
                .any(|p| sintfuzz_targets::known::pattern_matches(p, &sig.to_string()))
        })
        .map(|k| k.id.as_str())
        .collect();
    assert_eq!(by_signature, ["openvmm#1162", "SF-003"], "{sig}");
    let ids: Vec<&str> = list
        .matching(&sig, inv)
        .iter()
        .map(|k| k.id.as_str())
        .collect();
    assert_eq!(ids, ["SF-003"], "{sig}");
    assert_eq!(
        list.find(&sig, inv).map(|(_, k)| k.id.as_str()),
        Some("SF-003")
    );
    // With both entries covering the invariant, each alternative names its own entry:
    // stacked, reported under each (`KnownList::label`).
    let both = sintfuzz_targets::known::KnownList::parse(
        r#"
[[finding]]
id = "A"
title = "a"
status = "fixed"
invariants = ["lost-device"]
signatures = ["lost admission+wrmsr-trigger too-closed *"]
revisions = []
regressions = []

[[finding]]
id = "B"
title = "b"
status = "open"
invariants = ["lost-device"]
signatures = ["lost device-vectors+retarget-sync too-closed *"]
revisions = []
regressions = []
"#,
    )
    .unwrap();
    assert_eq!(
        both.label(&sig, inv).line(),
        "stacked: known A [fixed], known B [open]",
        "{sig}"
    );
    assert_eq!(
        list.label(&sig, inv).line().split(':').next(),
        Some("known SF-003 [open]")
    );
    // On head the SINT2 write alone admits 0x2f on VP 3 (#1162 fixed, the filter
    // recomputed at the write), so SF-003's window never opens for this vector: clean.
    assert!(signature(
        Target::RelayLifecycle,
        Revision::Head,
        InvariantSet::default_set(),
        &data
    )
    .is_none());
}
