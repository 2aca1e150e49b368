//! Symmetries: renamings that map the model and the oracle onto themselves, so that from
//! a state `s`, an operation `o` then the renaming reaches the state (and the verdict,
//! renamed) that the renaming then `o`'s image reaches (`Machine::swap_vps`,
//! `Machine::swap_vectors`; the tests below). So of a state every operation so far left
//! unchanged under a renaming (the fresh partition, then operations that name neither
//! renamed VP nor value), the search expands only the least of an operation and its
//! images (`search::Root::expands`): the other subtrees are mirror images. This keeps the
//! plain search's paths wherever it keeps a node at all (no two paths are merged), which
//! matters because a root-cause signature is computed from the witness path. Keeping
//! one state of each pair {s, swapped s} everywhere (the fingerprint the smaller of the
//! two) was built and not kept: it lost SF-010's signature on `unfiltered`
//! (bench/results.md, 2026-12-06, session 5).
//!
//! Two renamings, and their product:
//! - **VP symmetry**: VP 0 <-> VP 1, with two VPs where the config treats both alike.
//!   Where the model is not symmetric, no mirror is used:
//!   - #384 proxy redirection sends a device interrupt to the *first* (lowest-numbered)
//!     target VP only (`Partition::retarget`, after upstream
//!     `try_proxy_interrupt_redirection` in
//!     `openhcl/virt_mshv_vtl/src/processor/hardware_cvm/mod.rs`): configs with
//!     `redirect=on` are not symmetric;
//!   - pre-Win8 guests: in interrupt-page mode the relay signals VP 0 whatever the guest
//!     asked (`Partition::host_signal_channel`, after `ServerTaskInner::open_channel` in
//!     `vm/devices/vmbus/vmbus_server/src/lib.rs`), and any state can enter that mode
//!     (ModifyConnection), so `era=pre-win8` configs are not symmetric (before
//!     2026-12-06 the mirror was used on them: see bench/results.md);
//!   - with three VPs `HostDeviceInterrupt::pick` (the pick-th target in VP order,
//!     `Partition::host_device_interrupt`) has no state-independent image: only two VPs.
//! - **Value symmetry**: vectors 0x30 <-> 0x31 ([`VALUES`]), in every config. Both are
//!   ordinary fixed-interrupt vectors: not below 16 (the APIC's and the kernel's reserved
//!   range, `Apic::request_interrupt`, `VectorSet::RESERVED`), not VTL2's own 0xf3, and no
//!   rule of the model or the oracle names either one or compares vectors by order (no
//!   priority: a run takes the whole proxy IRR, a guest ack everything pending). A wider
//!   value whose low 8 bits are the vector (a retarget's 0x130, a single assert's, both
//!   truncated upstream) keeps its high bits, so truncation commutes with the swap. It
//!   applies only where the domain is closed under the swap: `medium` (made so), not
//!   `small` (SINT values of 0x30 only).
//!
//! One caveat: when one step violates on both renamed vectors at once, the oracle reports
//! the first it meets, in vector order (a run delivers the proxy IRR in ascending order),
//! so of a mirror-image pair of such steps one reports the image of the other's *second*
//! violation (`one_step_violating_on_both_vectors_reports_the_lower_one` below). The step
//! violates either way, so verdicts are kept; its root cause is then also the one of a
//! shorter witness with only that vector's operations, which the search meets a level
//! earlier. On random walks no such pair shows up (the commutation tests assert it), and
//! `tests/check_reductions.rs` checks on every revision that the root causes stay the same.
//!
//! The image of an operation is written out field by field (every variant and field is
//! destructured, so a new one fails to compile here until someone decides its image);
//! the state's image is `Partition::swap_vps`/`swap_vectors` and the oracle's. The tests
//! below check on random states that the model and the oracle commute with each renaming;
//! `tests/check_reductions.rs` compares the reduced search with the full one.

use sintfuzz_model::hvdef::{msr, reg};
use sintfuzz_model::op::{
    CloseChannel, GuestAck, HostAssert, HostDeviceInterrupt, HostOffer, HostPostMessage,
    HostSignalChannel, HostSignalSint, ModifyChannel, ModifyConnection, OpenChannel, RdMsr,
    Retarget, RunVp, SetApic, SetVpRegister, UntrustedWrMsr, WrMsr,
};
use sintfuzz_model::partition::symmetry::{
    swap_vp_index as vp_index, swap_vp_set as vp_set, VectorSwap,
};
use sintfuzz_model::{Config, Op, ProxyAssert, VectorSet, VmbusEra};

/// The value symmetry's two vectors: ordinary vectors of the same role in the `medium`
/// domain (see the module comment).
pub const VALUES: VectorSwap = VectorSwap { a: 0x30, b: 0x31 };

/// VP 0 <-> VP 1.
fn vp(v: u8) -> u8 {
    vp_index(u32::from(v)) as u8
}

/// A renaming of operations: what it does to each kind of field that names a VP or a
/// vector. [`rename`] is the one table of which fields those are.
trait Renaming {
    /// A VP (the issuer, a target).
    fn vp(&self, v: u8) -> u8;
    /// A VP index carried as u32 (with its special values).
    fn vp_index(&self, v: u32) -> u32;
    /// A processor set (bit n = VP n).
    fn vp_set(&self, t: u8) -> u8;
    /// `HostDeviceInterrupt::pick`: the pick-th of the route's targets in VP order.
    fn pick(&self, p: u8) -> u8;
    /// The value written to synic register `msr`.
    fn register(&self, msr: u32, value: u64) -> u64;
    /// A value whose low 8 bits are a vector (a retarget's, a single assert's).
    fn wide(&self, v: u32) -> u32;
    /// A set of vectors.
    fn set(&self, s: VectorSet) -> VectorSet;
}

/// VP 0 <-> VP 1.
struct VpSwap;

impl Renaming for VpSwap {
    fn vp(&self, v: u8) -> u8 {
        vp(v)
    }
    fn vp_index(&self, v: u32) -> u32 {
        vp_index(v)
    }
    fn vp_set(&self, t: u8) -> u8 {
        vp_set(t)
    }
    // With two targets the other pick reaches the other VP, with one the pick is
    // irrelevant.
    fn pick(&self, p: u8) -> u8 {
        p ^ 1
    }
    fn register(&self, _: u32, value: u64) -> u64 {
        value
    }
    fn wide(&self, v: u32) -> u32 {
        v
    }
    fn set(&self, s: VectorSet) -> VectorSet {
        s
    }
}

/// A swap of two vectors: in SINT values (VsmVina's vector is not state: the model only
/// checks the write), retargets and proxy asserts.
struct ValueSwap(VectorSwap);

impl Renaming for ValueSwap {
    fn vp(&self, v: u8) -> u8 {
        v
    }
    fn vp_index(&self, v: u32) -> u32 {
        v
    }
    fn vp_set(&self, t: u8) -> u8 {
        t
    }
    fn pick(&self, p: u8) -> u8 {
        p
    }
    fn register(&self, msr: u32, value: u64) -> u64 {
        if msr::sint_index(msr).is_some() {
            self.0.sint(value)
        } else {
            value
        }
    }
    fn wide(&self, v: u32) -> u32 {
        self.0.wide(v)
    }
    fn set(&self, s: VectorSet) -> VectorSet {
        self.0.set(s)
    }
}

/// The image of `op` under VP 0 <-> VP 1.
pub fn swap_vps(op: &Op) -> Op {
    rename(op, &VpSwap)
}

/// The image of `op` under the vector swap `x`.
pub fn swap_values(op: &Op, x: VectorSwap) -> Op {
    rename(op, &ValueSwap(x))
}

/// The image of `op` under `r`, field by field.
/// Long (over 80 lines): a table with one arm per operation variant, every field named.
fn rename(op: &Op, r: &impl Renaming) -> Op {
    match *op {
        Op::WrMsr(WrMsr {
            vp,
            vtl,
            msr,
            value,
        }) => WrMsr {
            vp: r.vp(vp),
            vtl,
            msr,
            value: r.register(msr, value),
        }
        .into(),
        Op::RdMsr(RdMsr { vp, vtl, msr }) => RdMsr {
            vp: r.vp(vp),
            vtl,
            msr,
        }
        .into(),
        Op::SetVpRegister(SetVpRegister {
            vp,
            caller_vtl,
            target_vtl,
            partition_self,
            vp_index: i,
            name,
            value,
        }) => SetVpRegister {
            vp: r.vp(vp),
            caller_vtl,
            target_vtl,
            partition_self,
            vp_index: r.vp_index(i),
            name,
            value: reg::to_msr(name).map_or(value, |m| r.register(m, value)),
        }
        .into(),
        Op::UntrustedWrMsr(UntrustedWrMsr { vp, msr, value }) => UntrustedWrMsr {
            vp: r.vp(vp),
            msr,
            value: r.register(msr, value),
        }
        .into(),
        Op::Retarget(Retarget {
            vp,
            vtl,
            device,
            vector,
            targets,
            flaws,
        }) => Retarget {
            vp: r.vp(vp),
            vtl,
            device,
            vector: r.wide(vector),
            targets: r.vp_set(targets),
            flaws,
        }
        .into(),
        Op::SetApic(SetApic {
            vp,
            vtl,
            hw_enabled,
            sw_enabled,
        }) => SetApic {
            vp: r.vp(vp),
            vtl,
            hw_enabled,
            sw_enabled,
        }
        .into(),
        Op::GuestAck(GuestAck { vp, vtl }) => GuestAck { vp: r.vp(vp), vtl }.into(),
        Op::OpenChannel(OpenChannel {
            slot,
            target_vp,
            event_flag,
        }) => OpenChannel {
            slot,
            target_vp: r.vp_index(target_vp),
            event_flag,
        }
        .into(),
        Op::CloseChannel(CloseChannel { slot }) => CloseChannel { slot }.into(),
        Op::ModifyChannel(ModifyChannel { slot, target_vp }) => ModifyChannel {
            slot,
            target_vp: r.vp_index(target_vp),
        }
        .into(),
        Op::ModifyConnection(ModifyConnection { use_interrupt_page }) => {
            ModifyConnection { use_interrupt_page }.into()
        }
        Op::HostOffer(HostOffer { slot }) => HostOffer { slot }.into(),
        Op::HostSignalChannel(HostSignalChannel { slot }) => HostSignalChannel { slot }.into(),
        Op::HostSignalSint(HostSignalSint { vp, sint }) => {
            HostSignalSint { vp: r.vp(vp), sint }.into()
        }
        Op::HostDeviceInterrupt(HostDeviceInterrupt { device, pick }) => HostDeviceInterrupt {
            device,
            pick: r.pick(pick),
        }
        .into(),
        Op::HostAssert(HostAssert { vp, assert }) => HostAssert {
            vp: r.vp(vp),
            assert: match assert {
                ProxyAssert::Single(v) => ProxyAssert::Single(r.wide(v)),
                ProxyAssert::Multi(bits) => ProxyAssert::Multi(r.set(bits)),
            },
        }
        .into(),
        Op::HostPostMessage(HostPostMessage { vp, sint }) => {
            HostPostMessage { vp: r.vp(vp), sint }.into()
        }
        Op::RunVp(RunVp { vp }) => RunVp { vp: r.vp(vp) }.into(),
    }
}

/// Whether the config treats VP 0 and VP 1 alike (see the module comment).
pub fn symmetric(config: &Config) -> bool {
    config.vps() == 2 && !config.proxy_redirect && config.era == VmbusEra::Modern
}

/// The index in `ops` of each operation's image under `image`, when `ops` is closed under
/// it; `None` otherwise.
fn images(ops: &[Op], image: impl Fn(&Op) -> Op) -> Option<Vec<u16>> {
    ops.iter()
        .map(|o| {
            let i = image(o);
            ops.iter().position(|p| *p == i).map(|i| i as u16)
        })
        .collect()
}

/// The index in `ops` of each operation's image under the VP swap, when `config` is
/// symmetric and `ops` is closed under the swap; `None` otherwise.
pub fn mirror(config: &Config, ops: &[Op]) -> Option<Vec<u16>> {
    if !symmetric(config) {
        return None;
    }
    images(ops, swap_vps)
}

/// The renamings of a root (`search::Root::mirrors`): the VP swap where `vps` and the
/// config and operations allow it, the vector swap [`VALUES`] where `values` and the
/// operations allow it, and their product when both apply.
pub fn mirrors(config: &Config, ops: &[Op], vps: bool, values: bool) -> Vec<Vec<u16>> {
    let v = vps.then(|| mirror(config, ops)).flatten();
    let x = values
        .then(|| images(ops, |o| swap_values(o, VALUES)))
        .flatten();
    match (v, x) {
        (Some(v), Some(x)) => {
            let both = x.iter().map(|&i| v[i as usize]).collect();
            vec![v, x, both]
        }
        (v, x) => v.into_iter().chain(x).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::domain::{configs, ops, ConfigFilter, Size};
    use crate::check::testing::{canonical, chooser, starts, walk_on};
    use sintfuzz_model::hvdef::{Sint, VMBUS_SINT, VP_INDEX_DISABLE_INTERRUPT};
    use sintfuzz_model::{Revision, Vtl};
    use sintfuzz_targets::scenarios::wr_sint;
    use sintfuzz_targets::{InvariantSet, Machine, NoHook, Settings, Target, Violation};

    #[test]
    fn the_swaps_are_involutions_and_the_domain_is_closed_under_them() {
        let (mut mirrored, mut valued) = (0, 0);
        for c in configs(2, &ConfigFilter::default()) {
            for t in Target::ALL {
                for size in [Size::Small, Size::Medium] {
                    let ops = ops(t, &c, size);
                    for o in &ops {
                        assert_eq!(swap_vps(&swap_vps(o)), *o);
                        assert_eq!(swap_values(&swap_values(o, VALUES), VALUES), *o);
                    }
                    let m = mirror(&c, &ops);
                    assert_eq!(m.is_some(), symmetric(&c), "{c:?} {t}");
                    let all = mirrors(&c, &ops, true, true);
                    // The value mirror applies to every config of `medium`, never `small`.
                    let values = usize::from(size == Size::Medium);
                    let expected = match (m.is_some(), values) {
                        (true, 1) => 3,
                        (vp, v) => usize::from(vp) + v,
                    };
                    assert_eq!(all.len(), expected, "{c:?} {t} {size:?}");
                    mirrored += usize::from(m.is_some());
                    valued += values;
                    for image in &all {
                        // A permutation, and some operations move: something to skip.
                        let mut seen = vec![false; ops.len()];
                        for &j in image {
                            assert!(!std::mem::replace(&mut seen[j as usize], true));
                        }
                        assert!(image.iter().enumerate().any(|(i, &j)| i != j as usize));
                    }
                }
            }
        }
        assert!(mirrored > 0 && valued > 0);
    }

    /// What a probe found: probes made, states the renaming moved, and mirror-image steps
    /// whose violations were not each other's image though both violated (the caveat in
    /// the module comment).
    #[derive(Debug, Default)]
    struct Probed {
        probes: usize,
        moved: usize,
        other_violation: usize,
    }

    /// `m` after `op` (from step `k`): its verdict, and its state's canonical bytes after
    /// `rename` (unless the step ended the run).
    fn after(
        m: &Machine,
        k: usize,
        op: &Op,
        rename: Option<&dyn Fn(&mut Machine)>,
    ) -> (Option<Violation>, Option<Vec<u8>>) {
        let mut m = m.clone();
        let v = m.step(k, op, &mut NoHook);
        if v.is_some() || m.halted() {
            return (v, None);
        }
        if let Some(rename) = rename {
            rename(&mut m);
        }
        (v, Some(canonical(&m)))
    }

    /// Whether the model and the oracle commute with a renaming (`state`, an involution
    /// on states; `image` on operations; `verdict` on violations) on random walks over
    /// `configs`, every revision, the `medium` domain: from a random state `s` and for a
    /// random operation `o`, `o` then the renaming gives the state and verdict (renamed)
    /// of the renaming then `o`'s image. `Err` at the first difference in a state or in
    /// whether a step violates.
    fn probe(
        configs: &[Config],
        state: &dyn Fn(&mut Machine),
        image: &dyn Fn(&Op) -> Op,
        verdict: &dyn Fn(Violation) -> Violation,
    ) -> Result<Probed, String> {
        let mut rand = chooser(0x2545_f491_4f6c_dd1d);
        let mut p = Probed::default();
        for c in configs {
            for (r, mut m, all) in starts(c, &Revision::ALL) {
                for k in 0..10 {
                    let mut renamed = m.clone();
                    state(&mut renamed);
                    p.moved += usize::from(canonical(&renamed) != canonical(&m));
                    state(&mut renamed);
                    if canonical(&renamed) != canonical(&m) {
                        return Err("not an involution".into());
                    }
                    state(&mut renamed);
                    for _ in 0..12 {
                        let o = &all[rand(all.len())];
                        let (v, s) = after(&m, k, o, Some(state));
                        let (w, t) = after(&renamed, k, &image(o), None);
                        let v = v.map(verdict);
                        let at = format!("{c:?} {r}: {o:?} after {k} ops");
                        if v.is_some() != w.is_some() {
                            return Err(format!("{at}: verdicts differ: {v:?} {w:?}"));
                        }
                        if s != t {
                            return Err(format!("{at}: states differ"));
                        }
                        p.other_violation += usize::from(v != w);
                        p.probes += 1;
                    }
                    walk_on(&mut m, k, &all, &mut rand);
                }
            }
        }
        Ok(p)
    }

    /// The model and the oracle commute with the VP swap on every symmetric config:
    /// what the VP mirror relies on.
    #[test]
    fn the_model_and_the_oracle_commute_with_the_vp_swap_on_random_states() {
        let symmetric: Vec<_> = configs(2, &ConfigFilter::default())
            .into_iter()
            .filter(symmetric)
            .collect();
        let p = probe(&symmetric, &Machine::swap_vps, &swap_vps, &|v| Violation {
            vp: vp(v.vp),
            ..v
        })
        .unwrap();
        assert!(p.probes > 1000 && p.moved > 100, "{p:?}");
        assert_eq!(p.other_violation, 0, "{p:?}");
    }

    /// [`probe`] with the vector swap `x`.
    fn probe_vectors(configs: &[Config], x: VectorSwap) -> Result<Probed, String> {
        probe(
            configs,
            &|m| m.swap_vectors(x),
            &|o| swap_values(o, x),
            &|v| Violation {
                vector: v.vector.map(|v| x.vector(v)),
                ..v
            },
        )
    }

    /// The model and the oracle commute with the swap of 0x30 and 0x31 on every config:
    /// what the value mirror relies on.
    #[test]
    fn the_model_and_the_oracle_commute_with_the_vector_swap_on_random_states() {
        let p = probe_vectors(&configs(2, &ConfigFilter::default()), VALUES).unwrap();
        assert!(p.probes > 10000 && p.moved > 1000, "{p:?}");
        assert_eq!(p.other_violation, 0, "{p:?}");
    }

    /// The test above can fail: a swap of 0x30 with the reserved 0x05 (below 16, which
    /// the APIC refuses) does not commute.
    #[test]
    fn a_swap_with_a_reserved_vector_does_not_commute() {
        let swap = VectorSwap { a: 0x30, b: 0x05 };
        let all = configs(1, &ConfigFilter::parse("isolation=snp,relay=on").unwrap());
        let differs = probe_vectors(&all, swap);
        assert!(differs.is_err(), "{differs:?}");
    }

    /// The caveat of the module comment, shown: on `unfiltered` with the relay, SINT5
    /// unmasked at 0x31 entitles 0x31 under the default tier only (the strict tier counts
    /// the relay's SINT2 alone); asserts of 0x30 and 0x31 then a run leak both, and the
    /// run reports the lower vector: 0x30's unentitled leak, but on the mirror image
    /// (SINT5 at 0x30) 0x30's strict leak. Both paths violate.
    #[test]
    fn one_step_violating_on_both_vectors_reports_the_lower_one() {
        let c = Config {
            vp_count: 1,
            vmbus_relay: true,
            ..Config::default()
        };
        let settings = Settings {
            revision: Revision::Unfiltered,
            invariants: InvariantSet::parse("strict").unwrap(),
        };
        let assert = |v| -> Op {
            HostAssert {
                vp: 0,
                assert: ProxyAssert::Single(v),
            }
            .into()
        };
        let path = [
            wr_sint(0, Vtl::Vtl0, 5, Sint::unmasked(0x31, false)),
            assert(0x30),
            assert(0x31),
            RunVp { vp: 0 }.into(),
        ];
        let last = |ops: &mut dyn Iterator<Item = Op>| {
            let mut m = Machine::new(c, &settings);
            ops.enumerate()
                .find_map(|(k, o)| m.step(k, &o, &mut NoHook))
        };
        let v = last(&mut path.iter().copied()).expect("violates");
        let w = last(&mut path.iter().map(|o| swap_values(o, VALUES))).expect("violates");
        assert_eq!((v.step, w.step), (3, 3));
        assert_eq!((v.vector, w.vector), (Some(0x30), Some(0x30)));
        assert_ne!(v.invariant, w.invariant);
    }

    /// Why pre-Win8 configs are not symmetric: in interrupt-page mode the relay signals
    /// VP 0 whatever the guest asked, so a channel signal after a SINT2 write on VP 0 is
    /// not the image of one after the same write on VP 1.
    #[test]
    fn the_interrupt_page_relay_signals_vp_0_so_pre_win8_is_not_symmetric() {
        let c = Config {
            vp_count: 2,
            era: VmbusEra::PreWin8,
            vmbus_relay: true,
            proxy_redirect: false,
            ..Config::default()
        };
        assert!(!symmetric(&c));
        let settings = Settings::default();
        let write = wr_sint(0, Vtl::Vtl0, VMBUS_SINT, Sint::unmasked(0x30, false));
        let mut m = Machine::new(c, &settings);
        let setup: [Op; 3] = [
            ModifyConnection {
                use_interrupt_page: true,
            }
            .into(),
            HostOffer { slot: 0 }.into(),
            OpenChannel {
                slot: 0,
                target_vp: VP_INDEX_DISABLE_INTERRUPT,
                event_flag: 0,
            }
            .into(),
        ];
        for (k, o) in setup.iter().chain([&write]).enumerate() {
            assert!(m.step(k, o, &mut NoHook).is_none());
        }
        let mut swapped = m.clone();
        swapped.swap_vps();
        let signal = HostSignalChannel { slot: 0 }.into();
        let (_, s) = after(&m, 4, &signal, Some(&Machine::swap_vps));
        let (_, t) = after(&swapped, 4, &signal, None);
        assert!(s.is_some() && s != t);
    }
}
