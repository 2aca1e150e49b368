//! Helpers shared by the integration tests: a partition builder, op constructors and
//! queries over the events a `Vec<Event>` observer collected.

#![allow(dead_code)]

pub mod gen;

use sintfuzz_model::hvdef::{msr, reg, VP_INDEX_SELF};
use sintfuzz_model::op::{
    HostAssert, HostOffer, ModifyConnection, OpenChannel, RdMsr, Retarget, RunVp, SetVpRegister,
    WrMsr,
};
use sintfuzz_model::{
    Config, DropReason, Event, Isolation, MsrOutcome, Op, OpResult, Partition, ProxyAssert,
    RetargetFlaws, Revision, Sint, UpdateCause, VectorSet, VmbusEra, Vtl,
};

/// One VP, SNP, relay on, modern guest, VTL1 off, no TDX offload.
pub fn cfg() -> Config {
    Config {
        vp_count: 1,
        isolation: Isolation::Snp,
        vmbus_relay: true,
        tdx_offload: false,
        vtl1_enabled: false,
        era: VmbusEra::Modern,
        proxy_redirect: false,
        guest_mirrors_sints: true,
    }
}

pub fn cfg_vps(vp_count: u8) -> Config {
    Config { vp_count, ..cfg() }
}

pub fn cfg_relay(vmbus_relay: bool) -> Config {
    Config {
        vmbus_relay,
        ..cfg()
    }
}

pub fn cfg_vtl1() -> Config {
    Config {
        vtl1_enabled: true,
        ..cfg()
    }
}

pub fn head(config: Config) -> Partition {
    Partition::new(config, Revision::Head)
}

/// Apply one op and return its result and the events it produced.
pub fn run(p: &mut Partition, op: Op) -> (OpResult, Vec<Event>) {
    let mut events = Vec::new();
    let r = p.apply(&op, &mut events);
    (r, events)
}

/// Apply a sequence of ops that must each succeed (not refused, not an assert, no #GP).
pub fn setup(p: &mut Partition, ops: &[Op]) {
    for op in ops {
        let (r, _) = run(p, *op);
        assert!(
            !matches!(
                r,
                OpResult::Refused(_)
                    | OpResult::Vtl2Assert
                    | OpResult::Msr(MsrOutcome::Gp | MsrOutcome::Unknown)
            ),
            "setup op {op:?} failed: {r:?}"
        );
    }
}

pub fn sint_msr(n: u8) -> u32 {
    msr::SINT0 + n as u32
}

pub fn wrmsr(vp: u8, vtl: Vtl, msr: u32, value: u64) -> Op {
    Op::WrMsr(WrMsr {
        vp,
        vtl,
        msr,
        value,
    })
}

pub fn rdmsr(vp: u8, vtl: Vtl, msr: u32) -> Op {
    Op::RdMsr(RdMsr { vp, vtl, msr })
}

/// VTL0 WRMSR of SINTn on `vp`.
pub fn wr_sint(vp: u8, n: u8, value: u64) -> Op {
    wrmsr(vp, Vtl::Vtl0, sint_msr(n), value)
}

/// An unmasked, non-proxy SINT value.
pub fn plain(vector: u8) -> u64 {
    Sint::unmasked(vector, false).into_bits()
}

/// An unmasked SINT value with the proxy bit.
pub fn proxied(vector: u8) -> u64 {
    Sint::unmasked(vector, true).into_bits()
}

/// HvCallSetVpRegisters that passes every access check (partition SELF, VP SELF).
pub fn set_reg(vp: u8, caller_vtl: Vtl, target_vtl: Vtl, name: u32, value: u64) -> Op {
    Op::SetVpRegister(SetVpRegister {
        vp,
        caller_vtl,
        target_vtl,
        partition_self: true,
        vp_index: VP_INDEX_SELF,
        name,
        value,
    })
}

pub fn set_sint_reg(vp: u8, caller_vtl: Vtl, target_vtl: Vtl, n: u8, value: u64) -> Op {
    set_reg(vp, caller_vtl, target_vtl, reg::SINT0 + n as u32, value)
}

/// A well-formed HvCallRetargetDeviceInterrupt.
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

/// A malicious single-vector proxy-interrupt message.
pub fn host_assert(vp: u8, vector: u32) -> Op {
    Op::HostAssert(HostAssert {
        vp,
        assert: ProxyAssert::Single(vector),
    })
}

pub fn host_assert_multi(vp: u8, bits: VectorSet) -> Op {
    Op::HostAssert(HostAssert {
        vp,
        assert: ProxyAssert::Multi(bits),
    })
}

pub fn run_vp(vp: u8) -> Op {
    Op::RunVp(RunVp { vp })
}

/// A pre-Win8 guest's InitiateContact with an interrupt page.
pub fn interrupt_page() -> Op {
    Op::ModifyConnection(ModifyConnection {
        use_interrupt_page: true,
    })
}

/// Offer `slot` and open it with `target_vp` (flag 1).
pub fn offer_and_open(slot: u8, target_vp: u32) -> [Op; 2] {
    [
        Op::HostOffer(HostOffer { slot }),
        Op::OpenChannel(OpenChannel {
            slot,
            target_vp,
            event_flag: 1,
        }),
    ]
}

/// The set of vectors `vp`'s run-page filter lets through.
pub fn allowed(p: &Partition, vp: usize) -> VectorSet {
    p.vps[vp].run.proxy_irr_blocked.complement()
}

pub fn set_of(vectors: impl IntoIterator<Item = u8>) -> VectorSet {
    let mut s = VectorSet::EMPTY;
    for v in vectors {
        s.insert(v);
    }
    s
}

/// Whether `vector` was delivered to VTL0 of `vp` through the proxy IRR.
pub fn delivered_proxy(events: &[Event], vp: u8, vector: u8) -> bool {
    events.iter().any(|e| {
        matches!(*e, Event::Delivered { vp: v, vtl: Vtl::Vtl0, vector: x, path, .. }
            if v == vp && x == vector && path.is_proxy())
    })
}

/// Every vector delivered to `vtl` of `vp` by any path.
pub fn delivered_vectors(events: &[Event], vp: u8, vtl: Vtl) -> VectorSet {
    let mut s = VectorSet::EMPTY;
    for e in events {
        if let Event::Delivered {
            vp: v,
            vtl: t,
            vector,
            ..
        } = *e
        {
            if v == vp && t == vtl {
                s.insert(vector);
            }
        }
    }
    s
}

/// Whether `vector` of `vp` was dropped for `reason` (a `Dropped` event, or a member of a
/// `Blocked` set).
pub fn dropped(events: &[Event], vp: u8, vector: u8, reason: DropReason) -> bool {
    events
        .iter()
        .flat_map(Event::drops)
        .any(|(v, _, x, r, _)| v == vp && x == vector && r == reason)
}

/// Vectors dropped for `reason`, counting each member of a `Blocked` set.
pub fn dropped_count(events: &[Event], reason: DropReason) -> usize {
    events
        .iter()
        .flat_map(Event::drops)
        .filter(|&(_, _, _, r, _)| r == reason)
        .count()
}

/// The causes of every `FilterUpdated` on `vp`.
pub fn filter_updates(events: &[Event], vp: u8) -> Vec<UpdateCause> {
    events
        .iter()
        .filter_map(|e| match *e {
            Event::FilterUpdated { vp: v, cause, .. } if v == vp => Some(cause),
            _ => None,
        })
        .collect()
}

pub fn any_filter_update(events: &[Event]) -> bool {
    events
        .iter()
        .any(|e| matches!(e, Event::FilterUpdated { .. }))
}

pub fn asserts(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::Vtl2Assert { .. }))
        .count()
}

pub fn msr_ok(value: u64) -> OpResult {
    OpResult::Msr(MsrOutcome::Ok(value))
}
