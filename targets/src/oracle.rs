//! The oracle: an independent record of what the guest *asked for*, kept from the
//! operation stream (and the statuses the guest itself sees), compared after every step
//! with what the model delivered, dropped or crashed on. It never calls or copies the
//! model's filter code: entitlements below are the guest's intent, not `allowed()`.
//!
//! Where the reference semantics allow several outcomes, the oracle skips instead of
//! reporting (a false positive is a sintfuzz defect), and counts each skip per reason
//! ([`Skip`], [`Oracle::skips`]):
//! - the guest gave the host's (untrusted) synic a SINT value different from the trusted
//!   one, so an honest host *signal* on that SINT carries a vector VTL0 may not expect (no
//!   loss is judged, and that vector is not judged as a leak; a malicious assert is);
//! - an interrupt-page event flag was still outstanding (coalescing);
//! - the guest disabled its VTL0 APIC between the signal and the run that would show the
//!   interrupt (the poll then drops it, so no loss can be seen).
//!
//! A reconfiguration of SINTs, SCONTROL or the host's synic between a signal and the run
//! leaves the expectation in force: the kernel applies `proxy_irr_blocked` when the
//! interrupt arrives (`mshv_vtl_scan_proxy_interrupts`), and the poll that follows reads
//! the proxy IRR unfiltered and checks only the APIC's enables (`poll_apic_core`,
//! `request_fixed_interrupts`), so what the guest changes afterwards cannot change the
//! outcome. Expectations have room for one per operation of the longest input
//! ([`MAX_OPS`]), so the `expect-cap` count stays 0 for every target.
//!
//! Expectations settle against what the guest itself can read: its VTL0 IRR, which the
//! harness observes after each VP run and before each guest ack or VTL0 APIC write
//! (`crate::harness::observed_irr`), never the filter. An owed vector is met only if it
//! is in that IRR after the run, or in it when the guest acks (consumed). A met one is
//! then held: it must stay in the IRR until the guest's ack consumes it, or a hardware
//! disable of the APIC resets the IRR (`LocalApic::set_apic_base` → `reset_registers`);
//! one that leaves otherwise is reported under its own lost-* invariant (the guest lost
//! an interrupt it was owed). A delivered vector nothing was owed for is not judged when
//! it leaves: the rules allowed it never to arrive. The model keeps no ISR: `GuestAck`
//! accepts and EOIs everything pending at once, so the ISR is never observable between
//! operations and the IRR is all the guest sees pending. The oracle's own record of the
//! model's `Delivered` events only words a report ("reported delivered" but gone).
//!
//! Nothing the oracle judges by comes from a model result: retarget acceptance and device
//! routes follow the hypercall's rules, channel state the VMBus protocol, register values
//! the §1.3 rules. A model status that disagrees is itself a violation
//! (`hypercall-semantics`, `register-semantics`).

use core::fmt;
use core::hash::{Hash, Hasher};
use sintfuzz_model::op::{
    CloseChannel, GuestAck, HostDeviceInterrupt, HostOffer, HostPostMessage, HostSignalChannel,
    HostSignalSint, ModifyChannel, ModifyConnection, OpenChannel, RdMsr, Retarget, RunVp, SetApic,
    SetVpRegister, UntrustedWrMsr, WrMsr,
};

use sintfuzz_model::hvdef::{
    msr, reg, HvStatus, MsrOutcome, Sint, EVENT_FLAGS_PER_SINT, NUM_SINTS, VMBUS_SINT,
    VP_INDEX_DISABLE_INTERRUPT, VP_INDEX_SELF,
};
use sintfuzz_model::partition::canonical::mask;
use sintfuzz_model::synic::GUEST_PAGES;
use sintfuzz_model::{
    Config, Event, Isolation, Observer, Op, OpResult, Path, VectorSet, Vtl, MAX_CHANNELS,
    MAX_DEVICES, MAX_VPS, VTL2_VECTOR,
};

use crate::codec::MAX_OPS;
use crate::invariant::{Invariant, InvariantSet};

mod check;
mod symmetry;

/// A broken invariant, with where it broke. `Display` gives the one stable line engines
/// and triage bucket on: `sintfuzz violation: <invariant-id>: ...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Violation {
    pub invariant: Invariant,
    /// Index of the operation at which the violation became visible.
    pub step: u16,
    /// For losses: the operation that sent the lost interrupt.
    pub origin: Option<u16>,
    pub vp: u8,
    pub vtl: Vtl,
    pub vector: Option<u8>,
    pub path: Option<Path>,
    /// A loss of a vector that had reached the guest's VTL0 IRR (seen there after a run,
    /// or reported delivered) and is not there: the APIC state lost it after every filter
    /// decision and on any path, so neither is its root cause.
    pub irr_loss: bool,
    pub detail: &'static str,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sintfuzz violation: {}: step {} vp {} {}",
            self.invariant, self.step, self.vp, self.vtl
        )?;
        if let Some(v) = self.vector {
            write!(f, " vector {v:#04x}")?;
        }
        if let Some(p) = self.path {
            write!(f, " path {}", path_name(p))?;
        }
        if let Some(o) = self.origin {
            write!(f, " (sent at step {o})")?;
        }
        write!(f, ": {}", self.detail)
    }
}

pub fn path_name(p: Path) -> &'static str {
    match p {
        Path::ProxyUser => "proxy",
        Path::ProxyOffload => "proxy-offload",
        Path::TrustedSynic => "trusted-synic",
        Path::UntrustedSynic => "untrusted-synic",
        Path::Hypervisor => "hypervisor",
    }
}

/// Outstanding expected deliveries, over all VPs: each operation sets at most one, so an
/// input of the targets (at most [`MAX_OPS`] operations) never fills it. Only a longer
/// operation stream given by hand (`run_ops`) can, and that is counted (`expect-cap`).
const MAX_EXPECT: usize = MAX_OPS;

/// Why the oracle declined to judge: the places where the reference semantics allow
/// several outcomes. Counted per run (plain counters: nothing else on the hot path).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Skip {
    /// A host signal on a SINT whose host-side (untrusted synic) value the guest set
    /// differently from the trusted one: no loss judged, and the host's vector is not
    /// judged as a leak when it arrives. Never a malicious assert.
    UntrustedSynic,
    /// An interrupt-page event flag was still outstanding: the signal coalesces.
    InterruptPageFlag,
    /// The guest disabled its VTL0 APIC between a signal and the run that would show it:
    /// the poll drops the vector, so nothing is owed and no loss can be judged.
    Reconfigured,
    /// More than `MAX_EXPECT` expectations outstanding: never for an input of a target
    /// (at most `MAX_OPS` operations, one expectation each); only a longer hand-fed
    /// operation stream.
    ExpectCap,
}

impl Skip {
    pub const ALL: [Skip; 4] = [
        Skip::UntrustedSynic,
        Skip::InterruptPageFlag,
        Skip::Reconfigured,
        Skip::ExpectCap,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Skip::UntrustedSynic => "untrusted-synic",
            Skip::InterruptPageFlag => "interrupt-page-flag",
            Skip::Reconfigured => "reconfigured",
            Skip::ExpectCap => "expect-cap",
        }
    }
}

/// Judged deliveries (expectations settled, proxy deliveries checked for a leak) and
/// skips per [`Skip`] reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Skips {
    pub judged: u64,
    pub skipped: [u64; 4],
}

impl Skips {
    fn bump(&mut self, why: Skip) {
        self.skipped[why as usize] += 1;
    }

    pub fn add(&mut self, other: &Skips) {
        self.judged += other.judged;
        for (a, b) in self.skipped.iter_mut().zip(other.skipped) {
            *a += b;
        }
    }

    pub fn count(&self, why: Skip) -> u64 {
        self.skipped[why as usize]
    }

    /// Skips for `why` per judged delivery (0 when nothing was judged).
    pub fn share(&self, why: Skip) -> f64 {
        if self.judged == 0 {
            0.0
        } else {
            self.count(why) as f64 / self.judged as f64
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Expect {
    vp: u8,
    vector: u8,
    /// The VTL0 SINT the signal went through (`None`: a device interrupt).
    sint: Option<u8>,
    invariant: Option<Invariant>,
    /// The step that sent it; for a message, the last reconfiguration that changed what it
    /// is owed (vector or path), if later.
    origin: u16,
    path: Option<Path>,
    stage: Stage,
}

/// Where an expectation stands against the guest's VTL0 IRR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Stage {
    /// Not settled: owed after the VP's next run (live).
    Owed,
    /// Its vector was in the IRR when the guest hardware-disabled its APIC, which clears
    /// the IRR (`LocalApic::set_apic_base` → `reset_registers`): met, and counted as
    /// judged where it settles, like an owed one (live).
    Reset,
    /// Met: pending in the IRR after a run. It must stay there until the guest's ack
    /// consumes it (or a reset clears it); held, not live.
    Held,
}

impl Expect {
    /// A free slot.
    const NONE: Expect = Expect {
        vp: 0,
        vector: 0,
        sint: None,
        invariant: None,
        origin: 0,
        path: None,
        stage: Stage::Owed,
    };

    /// Outstanding and not yet settled (counted in [`Oracle::live`]).
    fn live(&self) -> bool {
        self.invariant.is_some() && self.stage != Stage::Held
    }
}

/// The guest's view of one synic register window (`0x4000_0080..=0x4000_00bf`). Only
/// the registers a write can change are stored (those [`expected_write`] accepts:
/// SCONTROL..=EOM, SINT0..=15, STIMER0..=3 CONFIG/COUNT); every other one reads 0, its
/// reset value, and ignores writes (none reaches it: only accepted writes are recorded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Regs([u64; Regs::SLOTS]);

impl Regs {
    const SLOTS: usize = 5 + NUM_SINTS + 8;

    /// Where register `n` is stored.
    #[inline]
    fn slot(n: u32) -> Option<usize> {
        match n {
            msr::SCONTROL..=msr::EOM => Some((n - msr::SCONTROL) as usize),
            msr::SINT0..=msr::SINT15 => Some(5 + (n - msr::SINT0) as usize),
            msr::STIMER0_CONFIG..=msr::STIMER3_COUNT => {
                Some(5 + NUM_SINTS + (n - msr::STIMER0_CONFIG) as usize)
            }
            _ => None,
        }
    }

    /// The register of slot `i` (the inverse of [`Regs::slot`]).
    fn register(i: usize) -> u32 {
        match i {
            0..5 => msr::SCONTROL + i as u32,
            5..21 => msr::SINT0 + (i - 5) as u32,
            _ => msr::STIMER0_CONFIG + (i - 5 - NUM_SINTS) as u32,
        }
    }

    /// SCONTROL enabled, every SINT masked, the rest 0.
    const RESET: Regs = {
        let mut r = [0; Self::SLOTS];
        r[0] = 1;
        let mut i = 5;
        while i < 5 + NUM_SINTS {
            r[i] = Sint::RESET.into_bits();
            i += 1;
        }
        Regs(r)
    };
    #[inline]
    fn get(&self, n: u32) -> u64 {
        Self::slot(n).map_or(0, |i| self.0[i])
    }
    #[inline]
    fn set(&mut self, n: u32, v: u64) {
        if let Some(i) = Self::slot(n) {
            self.0[i] = v;
        }
    }
    fn sint(&self, i: usize) -> Sint {
        Sint::from_bits(self.get(msr::SINT0 + i as u32))
    }
    fn scontrol_on(&self) -> bool {
        self.get(msr::SCONTROL) & 1 != 0
    }
}

/// What a register access should give, by the §1.3 rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expected {
    Ok,
    Gp,
    Unknown,
}

fn expected_write(n: u32, value: u64) -> Expected {
    match n {
        msr::SVERSION => Expected::Gp,
        msr::SIEFP | msr::SIMP if value & 1 != 0 && value >> 12 >= GUEST_PAGES => Expected::Gp,
        msr::SCONTROL..=msr::EOM | msr::SINT0..=msr::SINT15 => Expected::Ok,
        msr::STIMER0_CONFIG..=msr::STIMER3_COUNT => Expected::Ok,
        _ => Expected::Unknown,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct GuestVp {
    regs: [Regs; 2],
    /// The host's (untrusted) SINT values as the guest gave them.
    untrusted: [u64; NUM_SINTS],
    /// The host's synic SCONTROL enable as the guest gave it (reset: enabled).
    untrusted_on: bool,
    /// SINT values the guest wrote to the host's synic on purpose (TDVMCALL/GHCB), not as
    /// a mirror of its own write: `told[n]`, valid where bit n of `told_set` is set.
    told: [u64; NUM_SINTS],
    told_set: u16,
    apic_on: [bool; 2],
    /// VTL0 vectors the model reported delivered since the guest's last ack or APIC
    /// reset. Never a verdict's ground (that is the observed IRR): it only tells a loss
    /// "delivered, then gone" from "never delivered" in the report.
    pending: VectorSet,
    /// The vectors of this VP's [`Stage::Held`] expectations: what must still be in the
    /// VTL0 IRR at each observation until the guest's ack.
    held: VectorSet,
    /// Proxy bits asserted while entitled and not yet consumed, per tier.
    admissible: [VectorSet; 2],
    /// Of the last assertion, the bits that became admissible with it.
    last_new: [VectorSet; 2],
    /// Interrupt-page flag 0 signalled since the last ack.
    flag_outstanding: bool,
    /// Per VTL0 SINT, at least as many host messages as are queued and not yet in a
    /// slot: each post adds one, and a run that finds the SINT's slots free takes one.
    queued: [u8; NUM_SINTS],
    /// Bit n: a message slot of VTL0 SINT n (the trusted synic's or the host's copy's)
    /// may hold a message the guest has not consumed. Set by a run that took a queued
    /// message, cleared by the guest's ack. A message is judged only when it finds its
    /// SINT's queue empty and slots free (`queued[n] == 0`, bit clear): then the next run
    /// posts it into a free slot. Any other message may wait for the slot (`ObjectInUse`)
    /// behind one the guest has not consumed yet, so it is not judged.
    slot_busy: u16,
    /// Vectors an honest host signal carried because the guest gave the host's synic a
    /// SINT value different from the trusted one (ambiguous: not judged as leaks).
    host_told: VectorSet,
    /// Of those, the ones the current step added.
    told_new: VectorSet,
}

/// A relayed channel as the VMBus protocol defines it: the oracle's own state machine
/// (offer once; open an offered, closed channel; close or modify an open one), never the
/// model's answers.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
struct GuestChannel {
    offered: bool,
    open: bool,
    target_vp: u32,
    event_flag: u16,
    interrupt_relay: bool,
}

impl GuestChannel {
    /// Never offered.
    const CLOSED: GuestChannel = GuestChannel {
        offered: false,
        open: false,
        target_vp: 0,
        event_flag: 0,
        interrupt_relay: false,
    };

    /// The VP a host signal on this channel interrupts, if it is open and has one: VP 0 in
    /// interrupt-page mode (the server re-signals VP 0 whatever the guest asked), else its
    /// target VP if that VP exists (not "no interrupt", not an absent VP).
    fn signalled_vp(&self, vps: usize) -> Option<usize> {
        if !self.open {
            None
        } else if self.interrupt_relay {
            Some(0)
        } else {
            ((self.target_vp as usize) < vps).then_some(self.target_vp as usize)
        }
    }
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
struct Route {
    vtl: Vtl,
    vector: u8,
    targets: u8,
}

const DEFAULT: usize = 0;
const STRICT: usize = 1;

/// The oracle for one run.
#[derive(Clone, Debug)]
pub struct Oracle {
    config: Config,
    set: InvariantSet,
    vps: [GuestVp; MAX_VPS],
    channels: [GuestChannel; MAX_CHANNELS],
    /// The guest supplied an interrupt page (pre-Win8 only).
    interrupt_page: bool,
    routes: [Option<Route>; MAX_DEVICES],
    /// Vectors VTL0 / VTL1 ever asked a device to be retargeted to.
    device_ever: [VectorSet; 2],
    step: u16,
    /// Some VP's `told_new` is not empty (so `before` clears them only then).
    told_any: bool,
    violation: Option<Violation>,
    skips: Skips,
    /// Outstanding expected deliveries (free: `invariant` is `None`), and how many are
    /// live (owed or reset, not held: [`Expect::live`]), so a run with none live looks
    /// at no slot (the held ones are checked through `GuestVp::held`).
    expect: [Expect; MAX_EXPECT],
    live: u8,
    /// Slots are taken first-fit, so only `expect[..used]` were ever taken since the
    /// start: every loop over the expectations stops there.
    used: u8,
    /// Bit n: VP n may have a `lost-message` expectation outstanding (a hint: clear bits
    /// are exact, set ones are checked), so a guest write scans the expectations only then.
    message_vps: u8,
    /// VTL0 SINT2 event flags the host set in each VP's event-flag page since the guest
    /// last scanned them (`GuestAck`): a host signal on a set flag raises nothing.
    host_flags: RaisedFlags,
}

/// The (VP, flag) pairs of [`Oracle::host_flags`], sorted, one per signal at most: room
/// for every signal of the longest input ([`MAX_OPS`]). A longer hand-fed stream that
/// fills it records no more (those signals read as raising).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
struct RaisedFlags {
    keys: [u32; MAX_OPS],
    len: u8,
}

impl RaisedFlags {
    const EMPTY: RaisedFlags = RaisedFlags {
        keys: [0; MAX_OPS],
        len: 0,
    };

    /// Set `flag` of `vp`'s SINT2; whether it was set already.
    fn test_and_set(&mut self, vp: u8, flag: u32) -> bool {
        let key = (vp as u32) << 16 | flag;
        let len = self.len as usize;
        match self.keys[..len].binary_search(&key) {
            Ok(_) => true,
            Err(_) if len == MAX_OPS => false,
            Err(at) => {
                self.keys.copy_within(at..len, at + 1);
                self.keys[at] = key;
                self.len += 1;
                false
            }
        }
    }

    /// The guest of `vp` scanned (and cleared) its flags.
    fn clear_vp(&mut self, vp: u8) {
        let len = self.len as usize;
        let mut kept = 0;
        for i in 0..len {
            let k = self.keys[i];
            if k >> 16 != vp as u32 {
                self.keys[kept] = k;
                kept += 1;
            }
        }
        self.keys[kept..len].fill(0);
        self.len = kept as u8;
    }
}

impl Oracle {
    /// Every VP's guest state at the start of a run, as a constant: a fresh oracle is
    /// built for every input, so its VPs are copied from here rather than built.
    const FRESH_VPS: [GuestVp; MAX_VPS] = {
        const VP: GuestVp = GuestVp {
            regs: [Regs::RESET; 2],
            // The host's synic resets masked, like the guest's.
            untrusted: [Sint::RESET.into_bits(); NUM_SINTS],
            untrusted_on: true,
            told: [0; NUM_SINTS],
            told_set: 0,
            apic_on: [true; 2],
            pending: VectorSet::EMPTY,
            held: VectorSet::EMPTY,
            admissible: [VectorSet::EMPTY; 2],
            last_new: [VectorSet::EMPTY; 2],
            flag_outstanding: false,
            queued: [0; NUM_SINTS],
            slot_busy: 0,
            host_told: VectorSet::EMPTY,
            told_new: VectorSet::EMPTY,
        };
        [VP; MAX_VPS]
    };

    #[inline]
    pub fn new(config: Config, set: InvariantSet) -> Self {
        Self {
            config,
            set,
            vps: Self::FRESH_VPS,
            channels: [GuestChannel::CLOSED; MAX_CHANNELS],
            // Only an InitiateContact with an interrupt page turns it on (`RelayTask::new`).
            interrupt_page: false,
            routes: [None; MAX_DEVICES],
            device_ever: [VectorSet::EMPTY; 2],
            step: 0,
            told_any: false,
            violation: None,
            skips: Skips {
                judged: 0,
                skipped: [0; 4],
            },
            expect: [Expect::NONE; MAX_EXPECT],
            live: 0,
            used: 0,
            message_vps: 0,
            host_flags: RaisedFlags::EMPTY,
        }
    }

    /// Make this oracle equal to `Oracle::new(config, set)` in place, copying only the
    /// VPs its last run can have changed: those below its config's VP count (it follows
    /// only operations on VPs the partition has; [`Partition::reset`] does the same for the
    /// model). The fuzz loop reuses one oracle this way instead of copying 5 KB per input.
    ///
    /// [`Partition::reset`]: sintfuzz_model::Partition::reset
    #[inline]
    pub fn reset(&mut self, config: Config, set: InvariantSet) {
        let dirty = self.config.vps();
        self.vps[..dirty].copy_from_slice(&Self::FRESH_VPS[..dirty]);
        // The rest as `new` builds it; destructured without `..`, so a new field fails to
        // compile here until it is reset too.
        let Oracle {
            config: c,
            set: s,
            vps: _,
            channels,
            interrupt_page,
            routes,
            device_ever,
            step,
            told_any,
            violation,
            skips,
            expect,
            live,
            used,
            message_vps,
            host_flags,
        } = self;
        *c = config;
        *s = set;
        *channels = [GuestChannel::CLOSED; MAX_CHANNELS];
        *interrupt_page = false;
        *routes = [None; MAX_DEVICES];
        *device_ever = [VectorSet::EMPTY; 2];
        *step = 0;
        *told_any = false;
        *violation = None;
        *skips = Skips::default();
        // Only the slots ever taken, and the raised flags in use (zero past `len`).
        expect[..*used as usize].fill(Expect::NONE);
        *live = 0;
        *used = 0;
        *message_vps = 0;
        host_flags.keys[..host_flags.len as usize].fill(0);
        host_flags.len = 0;
    }

    /// What was judged and what was skipped, and why, so far.
    pub fn skips(&self) -> Skips {
        self.skips
    }

    /// The first violation of an enabled invariant, if any.
    pub fn violation(&self) -> Option<Violation> {
        self.violation
    }

    fn report(&mut self, v: Violation) {
        if self.violation.is_none() && self.set.contains(v.invariant) {
            self.violation = Some(v);
        }
    }

    fn vtl_ok(&self, vtl: Vtl) -> Option<usize> {
        match vtl {
            Vtl::Vtl0 => Some(0),
            Vtl::Vtl1 if self.config.vtl1_enabled => Some(1),
            _ => None,
        }
    }

    // ----- entitlements: the guest's intent, per VP -----

    /// Unmasked VTL0 SINTs the host may signal. Default tier: proxy bit, or any SINT with
    /// the relay on. Strict tier: proxy bit, or SINT2 with the relay on, and SCONTROL on.
    fn sint_entitled(&self, vp: usize, tier: usize) -> VectorSet {
        let regs = &self.vps[vp].regs[0];
        let mut set = VectorSet::EMPTY;
        if tier == STRICT && !regs.scontrol_on() {
            return set;
        }
        for n in 0..NUM_SINTS {
            let s = regs.sint(n);
            let relay = self.config.vmbus_relay && (tier == DEFAULT || n == VMBUS_SINT as usize);
            if !s.masked() && (s.proxy() || relay) {
                set.insert(s.vector());
            }
        }
        set
    }

    /// Device vectors: default tier, any vector VTL0 ever retargeted to; strict tier, the
    /// current VTL0 routes that target this VP.
    fn device_entitled(&self, vp: usize, tier: usize) -> VectorSet {
        if tier == DEFAULT {
            return self.device_ever[0];
        }
        let mut set = VectorSet::EMPTY;
        for r in self.routes.iter().flatten() {
            if r.vtl == Vtl::Vtl0 && r.targets & (1 << vp) != 0 {
                set.insert(r.vector);
            }
        }
        set
    }

    fn entitled(&self, vp: usize, tier: usize) -> VectorSet {
        self.sint_entitled(vp, tier)
            .union(self.device_entitled(vp, tier))
    }

    /// The vectors VTL0 of `vp` entitles the host to send (default tier), for explain.
    pub fn entitlement(&self, vp: usize) -> VectorSet {
        self.entitled(vp.min(MAX_VPS - 1), DEFAULT)
    }

    /// The VPs (bit n = VP n) an open relayed channel would interrupt on a host signal
    /// (in interrupt-page mode the server signals VP 0).
    pub fn relay_targets(&self) -> u8 {
        self.channels
            .iter()
            .filter_map(|c| c.signalled_vp(self.config.vps()))
            .fold(0, |vps, vp| vps | 1 << vp)
    }

    /// The same under the strict tier.
    pub fn strict_entitlement(&self, vp: usize) -> VectorSet {
        self.entitled(vp.min(MAX_VPS - 1), STRICT)
    }

    /// Whether VTL0 of `vp` entitles `vector` (default or strict tier) through (its SINTs,
    /// a device retarget): what a root-cause signature names a lost vector by.
    pub fn entitled_by(&self, vp: usize, vector: u8, strict: bool) -> (bool, bool) {
        let (vp, tier) = (vp.min(MAX_VPS - 1), if strict { STRICT } else { DEFAULT });
        (
            self.sint_entitled(vp, tier).contains(vector),
            self.device_entitled(vp, tier).contains(vector),
        )
    }

    /// Vectors a VTL configured on this VP (unmasked SINTs, device retargets). Vectors
    /// below 16 are never a VTL's interrupt, so they belong to no VTL.
    fn configured(&self, vp: usize, vtl: usize) -> VectorSet {
        let mut set = self.device_ever[vtl];
        for n in 0..NUM_SINTS {
            let s = self.vps[vp].regs[vtl].sint(n);
            if !s.masked() {
                set.insert(s.vector());
            }
        }
        set.difference(VectorSet::RESERVED)
    }

    // ----- the step protocol -----

    /// Before the model applies `op`: host signals create expectations.
    /// Always inlined, like `after` and `Partition::apply`: the fuzz loop's step is
    /// specialized per operation kind (`codec::Kind::specialize`), so the match folds.
    #[inline(always)]
    pub fn before(&mut self, step: usize, op: &Op) {
        self.step = step.min(u16::MAX as usize) as u16;
        if self.told_any {
            for g in self.vps.iter_mut() {
                g.told_new = VectorSet::EMPTY;
            }
            self.told_any = false;
        }
        match *op {
            Op::HostSignalChannel(HostSignalChannel { slot }) => self.expect_channel(slot as usize),
            Op::HostPostMessage(HostPostMessage { vp, sint })
                if (vp as usize) < self.config.vps() && (sint as usize) < NUM_SINTS =>
            {
                self.expect_message(vp as usize, sint as usize)
            }
            Op::HostSignalSint(HostSignalSint { vp, sint }) => {
                let vp = vp as usize;
                // A SINT past 15 is refused by the model (`signal_event`); the codec never
                // makes one, a hand-written harness may.
                let n = sint as usize;
                if vp < self.config.vps() && n < NUM_SINTS {
                    self.host_signal(vp, n);
                    if self.vps[vp].regs[0].sint(n).proxy() {
                        if let Some(v) = self.sint_owed(vp, n) {
                            self.expect(
                                vp,
                                v,
                                Some(n as u8),
                                Invariant::LostProxySint,
                                Some(Path::ProxyUser),
                            );
                        }
                    }
                }
            }
            Op::HostDeviceInterrupt(HostDeviceInterrupt { device, pick }) => {
                if let Some(Some(r)) = self.routes.get(device as usize) {
                    let r = *r;
                    let n = pick as u32 % r.targets.count_ones().max(1);
                    let vp = (0..8).filter(|b| r.targets & (1 << b) != 0).nth(n as usize);
                    if let Some(vp) = vp {
                        let vp = vp as usize;
                        if r.vtl == Vtl::Vtl0 && r.vector >= 16 && self.vps[vp].apic_on[0] {
                            self.expect(vp, r.vector, None, Invariant::LostDevice, None);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// After the model applied `op` with result `r`: the guest's intent follows what it
    /// did (and what it was told), and a VP run settles its expectations.
    ///
    /// `seen` is the VTL0 IRR of `op`'s VP as its guest can read it, where the oracle
    /// settles: after a `RunVp`, and before a `GuestAck` or a VTL0 `SetApic` (each may
    /// clear it); ignored for every other operation ([`crate::harness::observed_irr`]).
    /// Guest-visible APIC state only, never the filter.
    #[inline(always)]
    pub fn after(&mut self, op: &Op, r: OpResult, seen: VectorSet) {
        match *op {
            Op::WrMsr(WrMsr {
                vp,
                vtl,
                msr,
                value,
            }) => self.after_wrmsr(vp, vtl, msr, value, r),
            Op::RdMsr(RdMsr { vp, vtl, msr }) => self.after_rdmsr(vp, vtl, msr, r),
            Op::SetVpRegister(ref call) => self.after_set_vp_register(call, r),
            Op::UntrustedWrMsr(UntrustedWrMsr { vp, msr, value }) => {
                self.after_untrusted_wrmsr(vp, msr, value)
            }
            Op::Retarget(call) => self.after_retarget(&call, r),
            Op::SetApic(SetApic {
                vp,
                vtl,
                hw_enabled,
                sw_enabled,
            }) => {
                if let (Some(t), true) = (self.vtl_ok(vtl), (vp as usize) < self.config.vps()) {
                    self.vps[vp as usize].apic_on[t] = hw_enabled && sw_enabled;
                    // Clearing the hardware enable resets the registers, IRR included
                    // (`LocalApic::set_apic_base` → `reset_registers`,
                    // `vmm_core/virt_support_apic/src/lib.rs`): what was pending is gone.
                    if t == 0 && !hw_enabled {
                        self.irr_cleared(vp as usize, seen, false);
                    }
                }
            }
            Op::GuestAck(GuestAck { vp, vtl }) => self.after_guest_ack(vp, vtl, seen),
            Op::HostOffer(_)
            | Op::OpenChannel(_)
            | Op::CloseChannel(_)
            | Op::ModifyChannel(_)
            | Op::HostSignalChannel(_) => self.after_channel_op(op, r),
            Op::ModifyConnection(ModifyConnection { use_interrupt_page })
                if self.config.vmbus_relay =>
            {
                // The server takes an interrupt page only from pre-Win8 guests.
                self.interrupt_page =
                    use_interrupt_page && self.config.era == sintfuzz_model::VmbusEra::PreWin8;
            }
            Op::RunVp(RunVp { vp }) if (vp as usize) < self.config.vps() => {
                self.settle(vp as usize, seen);
                self.messages_ran(vp as usize);
            }
            _ => {}
        }
        if self.message_vps != 0 {
            self.reconfigured_messages(op);
        }
    }

    /// A raw store to the host's synic (`ProcessorSynic::write_msr`): it never fails, and
    /// what it stores is what the guest told the host.
    #[inline(always)]
    fn after_untrusted_wrmsr(&mut self, vp: u8, msr: u32, value: u64) {
        if msr == msr::SCONTROL && (vp as usize) < self.config.vps() {
            self.vps[vp as usize].untrusted_on = value & 1 != 0;
        }
        if let (Some(i), true) = (msr::sint_index(msr), (vp as usize) < self.config.vps()) {
            let g = &mut self.vps[vp as usize];
            g.untrusted[i as usize] = value;
            g.told[i as usize] = value;
            g.told_set |= 1 << i;
        }
    }

    /// The guest acknowledged `vp`'s interrupts (`seen`: its VTL0 IRR just before): the
    /// pending vectors are consumed, and its event flags scanned.
    #[inline(always)]
    fn after_guest_ack(&mut self, vp: u8, vtl: Vtl, seen: VectorSet) {
        if let (Some(0), true) = (self.vtl_ok(vtl), (vp as usize) < self.config.vps()) {
            self.irr_cleared(vp as usize, seen, true);
            self.vps[vp as usize].flag_outstanding = false;
            self.vps[vp as usize].slot_busy = 0;
            self.host_flags.clear_vp(vp);
        }
    }

    /// `vp`'s VTL0 IRR, `seen` just before, is cleared: consumed by the guest's ack
    /// (`ack`), or discarded by an APIC reset. A held vector must still have been there.
    /// An owed vector that was there is met: at an ack it is consumed (judged); at a
    /// reset it becomes [`Stage::Reset`] and is judged where it settles. An owed vector
    /// that was not there stays owed.
    fn irr_cleared(&mut self, vp: usize, seen: VectorSet, ack: bool) {
        self.check_held(vp, seen);
        // Nothing live and nothing held by this VP (its held slots are those of `held`):
        // no slot to look at.
        let any = self.live != 0 || !self.vps[vp].held.is_empty();
        for e in self.expect[..self.used as usize].iter_mut().filter(|_| any) {
            if e.invariant.is_none() || e.vp as usize != vp {
                continue;
            }
            match e.stage {
                // Consumed or discarded; judged when it was met.
                Stage::Held => e.invariant = None,
                Stage::Owed if !ack && seen.contains(e.vector) => e.stage = Stage::Reset,
                Stage::Reset if ack => {
                    e.invariant = None;
                    self.live -= 1;
                    self.skips.judged += 1;
                }
                Stage::Owed if seen.contains(e.vector) => {
                    e.invariant = None;
                    self.live -= 1;
                    self.skips.judged += 1;
                }
                _ => {}
            }
        }
        let g = &mut self.vps[vp];
        g.pending = VectorSet::EMPTY;
        g.held = VectorSet::EMPTY;
    }

    /// The loss of `e`'s vector under `invariant`, seen at this step (`irr_loss`: it had
    /// reached the VTL0 IRR, see [`Violation::irr_loss`]).
    fn report_loss(
        &mut self,
        invariant: Invariant,
        e: &Expect,
        irr_loss: bool,
        detail: &'static str,
    ) {
        self.report(Violation {
            invariant,
            step: self.step,
            origin: Some(e.origin),
            vp: e.vp,
            vtl: Vtl::Vtl0,
            vector: Some(e.vector),
            path: e.path,
            irr_loss,
            detail,
        });
    }

    /// Every held vector of `vp` must still be in its VTL0 IRR (`seen`).
    #[inline(always)]
    fn check_held(&mut self, vp: usize, seen: VectorSet) {
        let gone = self.vps[vp].held.difference(seen);
        if !gone.is_empty() {
            self.left_irr(vp, gone);
        }
    }

    /// Held vectors of `vp` (`gone`) left its VTL0 IRR without the guest's ack: each
    /// was owed and met, so it is lost after all, under its expectation's own lost-*
    /// invariant (the guest lost an interrupt it was owed, as if it had never arrived; no
    /// invariant of its own). One loss is reported: the earliest-sent among those whose
    /// invariant is checked, so a loss is reported whenever any lost one's invariant is
    /// (which one labels it may depend on `origin`, whether one is reported does not: see
    /// `impl Hash for Oracle`). A delivered vector nothing was owed for is not judged when
    /// it leaves: the rules allowed it never to arrive. All their slots are freed, checked
    /// or not.
    #[cold]
    fn left_irr(&mut self, vp: usize, gone: VectorSet) {
        self.vps[vp].held = self.vps[vp].held.difference(gone);
        let set = self.set;
        let mut first: Option<(Invariant, Expect)> = None;
        for e in self.expect[..self.used as usize].iter_mut() {
            let lost = e.stage == Stage::Held && e.vp as usize == vp && gone.contains(e.vector);
            if let (Some(invariant), true) = (e.invariant, lost) {
                if set.contains(invariant) && first.is_none_or(|(_, f)| e.origin < f.origin) {
                    first = Some((invariant, *e));
                }
                e.invariant = None;
            }
        }
        if let Some((invariant, e)) = first {
            let detail = "an owed vector, pending in the VTL0 IRR after a run, left it without the guest's ack";
            self.report_loss(invariant, &e, true, detail);
        }
    }

    /// Channel state follows the protocol; the server's answer is checked against it.
    #[inline(always)]
    fn after_channel_op(&mut self, op: &Op, r: OpResult) {
        match *op {
            Op::HostOffer(HostOffer { slot }) => {
                let ok = self.channel(slot).is_some_and(|c| !c.offered);
                if self.channel_result(ok, r) {
                    self.channels[slot as usize].offered = true;
                }
            }
            Op::OpenChannel(OpenChannel {
                slot,
                target_vp,
                event_flag,
            }) => {
                let ok = self.channel(slot).is_some_and(|c| c.offered && !c.open);
                if self.channel_result(ok, r) {
                    let c = &mut self.channels[slot as usize];
                    c.open = true;
                    c.target_vp = target_vp;
                    c.event_flag = event_flag;
                    c.interrupt_relay = self.interrupt_page;
                }
            }
            Op::CloseChannel(CloseChannel { slot }) => {
                let ok = self.channel(slot).is_some_and(|c| c.open);
                if self.channel_result(ok, r) {
                    self.channels[slot as usize].open = false;
                }
            }
            Op::ModifyChannel(ModifyChannel { slot, target_vp }) => {
                // The server rejects "no interrupt" as a new target, and any retarget of a
                // channel opened without interrupts.
                let ok = self.channel(slot).is_some_and(|c| {
                    c.open
                        && target_vp != VP_INDEX_DISABLE_INTERRUPT
                        && c.target_vp != VP_INDEX_DISABLE_INTERRUPT
                });
                if self.channel_result(ok, r) {
                    self.channels[slot as usize].target_vp = target_vp;
                }
            }
            Op::HostSignalChannel(HostSignalChannel { slot }) => {
                // In interrupt-page mode the server signals VP 0 whatever the guest asked.
                let ok = self.channel(slot).is_some_and(|c| {
                    c.open && (c.interrupt_relay || c.target_vp != VP_INDEX_DISABLE_INTERRUPT)
                });
                self.channel_result(ok, r);
            }
            _ => {}
        }
    }

    /// The relayed channel in `slot`, when the relay exists and the slot does.
    fn channel(&self, slot: u8) -> Option<GuestChannel> {
        if !self.config.vmbus_relay {
            return None;
        }
        self.channels.get(slot as usize).copied()
    }

    /// Whether a channel operation the protocol allows (`ok`) was done, and one it
    /// forbids was refused; a disagreement is a `hypercall-semantics` violation. Returns
    /// `ok`: the protocol, not the answer, moves the oracle's state.
    fn channel_result(&mut self, ok: bool, r: OpResult) -> bool {
        let done = r == OpResult::Done;
        if done != ok {
            self.hypercall_violation(
                0,
                Vtl::Vtl0,
                if ok {
                    "the VMBus server refused a channel operation the protocol allows"
                } else {
                    "the VMBus server did a channel operation the protocol refuses"
                },
            );
        }
        ok
    }

    /// HvCallRetargetDeviceInterrupt by the specification: malformed input (reserved
    /// flags, an unparsable processor set, a non-MSI source) is `InvalidParameter`; the
    /// hypervisor accepts a vector of at most 0xff and a non-empty processor set within
    /// the partition's VPs, and then routes the device there; a well-formed call it
    /// rejects is `InvalidDeviceId` (the virtual path's answer). The model's status is
    /// checked against it, never used.
    fn after_retarget(&mut self, call: &Retarget, r: OpResult) {
        let (Some(t), true) = (
            self.vtl_ok(call.vtl),
            (call.vp as usize) < self.config.vps(),
        ) else {
            return;
        };
        let device = call.device as usize;
        if device >= MAX_DEVICES {
            return;
        }
        let vector = call.vector;
        if !call.flaws.any() && vector <= 0xff {
            self.device_ever[t].insert(vector as u8);
        }
        if r == OpResult::Vtl2Assert {
            // VTL2 crashed inside the call: no answer reached the guest (the crash is
            // `vtl2-crash`), and the call never reached the hypervisor.
            return;
        }
        let vps_mask = (1u16 << self.config.vps()) - 1;
        // #384 redirection (a VTL0 caller, not multicast): only the first target VP, and
        // the hypervisor sees that VP alone (`try_proxy_interrupt_redirection`).
        let first = call.targets.trailing_zeros() as usize;
        let redirected = self.config.proxy_redirect
            && call.vtl == Vtl::Vtl0
            && !call.flaws.any()
            && !call.flaws.multicast
            && call.targets != 0
            && first < self.config.vps()
            && vector <= 0xff;
        let accepted = redirected
            || (!call.flaws.any()
                && vector <= 0xff
                && call.targets != 0
                && (call.targets as u16) & !vps_mask == 0);
        // A well-formed call the hypervisor rejects: `retarget_interrupt` answers
        // `hv_result.or(virtual_result)`, and no software device owns the id, so the
        // virtual path's `InvalidDeviceId` is what the guest sees
        // (`openhcl/virt_mshv_vtl/src/processor/hardware_cvm/mod.rs` `retarget_interrupt`;
        // `vmm_core/virt/src/x86/apic_software_device.rs` `retarget_interrupt`).
        let expected = if accepted {
            HvStatus::Success
        } else if call.flaws.any() {
            HvStatus::InvalidParameter
        } else {
            HvStatus::InvalidDeviceId
        };
        if r != OpResult::Hv(expected) {
            self.hypercall_violation(
                call.vp,
                call.vtl,
                "HvRetargetDeviceInterrupt status differs from the hypercall's rules",
            );
        }
        if accepted {
            self.routes[device] = Some(Route {
                vtl: call.vtl,
                vector: vector as u8,
                targets: if redirected { 1 << first } else { call.targets },
            });
        }
    }

    /// The vector an honest host signal on VTL0 SINT `n` of `vp` is owed to the guest, if
    /// any. The host signals with its own copy of the SINT, as the guest gave it
    /// (mirrored or told: `UhEventPort`/`signal_event_direct` use the hypervisor's SINT):
    /// - the same as the guest's: owed when unmasked, not polling, vector >= 16, SCONTROL
    ///   and APIC on;
    /// - different and masked there: the host sends nothing, nothing is owed;
    /// - different and unmasked: the host's vector arrives as a proxy interrupt, and the
    ///   filter must admit it when VTL0's trusted synic entitles it unambiguously (the
    ///   strict tier: a proxy-bit SINT, or SINT2 with the relay on, SCONTROL on), so it is
    ///   owed then; otherwise nothing is owed (and its delivery is not a leak: the guest
    ///   told the host that vector, see `host_signal`). A vector only the default tier
    ///   entitles (say SINT5 without the proxy bit) is not owed: the strict invariants
    ///   allow a filter to block it, and the guest never asked the trusted synic for it on
    ///   this SINT.
    fn sint_owed(&self, vp: usize, n: usize) -> Option<u8> {
        let g = &self.vps[vp];
        let s = g.regs[0].sint(n);
        let u = Sint::from_bits(g.untrusted[n]);
        let on = g.regs[0].scontrol_on() && g.apic_on[0];
        if u.vector() == s.vector() && u.masked() == s.masked() {
            let ok = !s.masked() && !s.polling() && s.vector() >= 16 && on;
            return ok.then_some(s.vector());
        }
        let v = u.vector();
        let ok =
            !u.masked() && !u.polling() && v >= 16 && on && self.entitled(vp, STRICT).contains(v);
        ok.then_some(v)
    }

    /// For search feedback (`crate::feedback`): the vector a host signal on an open
    /// relayed channel would owe VTL0 of `vp` now, if one targets `vp` (`targets` is
    /// [`Oracle::relay_targets`], taken once per step).
    pub fn relay_owed(&self, vp: usize, targets: u8) -> Option<u8> {
        if !self.config.vmbus_relay || targets & (1 << vp) == 0 {
            return None;
        }
        self.sint_owed(vp, VMBUS_SINT as usize)
    }

    /// For search feedback: the vectors of VTL0's current device routes to `vp`.
    pub fn device_routes_to(&self, vp: usize) -> VectorSet {
        self.device_entitled(vp.min(MAX_VPS - 1), STRICT)
    }

    /// An honest host signal on VTL0 SINT `n` of `vp`: when the guest deliberately gave the
    /// host's synic a different value for that SINT, the host's vector may arrive and is
    /// not judged.
    fn host_signal(&mut self, vp: usize, n: usize) {
        let g = &mut self.vps[vp];
        // Only a value the guest told the host on purpose (not a mirror of its own write).
        if g.told_set & 1 << n != 0 && g.told[n] == g.untrusted[n] {
            let u = Sint::from_bits(g.untrusted[n]);
            let s = g.regs[0].sint(n);
            // The host signals with its own copy's vector (a mirror without the proxy bit
            // is the same SINT).
            if (u.vector() != s.vector() || u.masked() != s.masked()) && !u.masked() {
                if !g.host_told.contains(u.vector()) {
                    g.told_new.insert(u.vector());
                    self.told_any = true;
                }
                g.host_told.insert(u.vector());
            }
        }
    }

    /// A host signal on the relayed channel in `slot`: what VTL0 is owed, by the mode the
    /// channel was opened in.
    fn expect_channel(&mut self, slot: usize) {
        let Some(ch) = self.channels.get(slot).copied() else {
            return;
        };
        if !self.config.vmbus_relay
            || !ch.open
            || (!ch.interrupt_relay && ch.target_vp == VP_INDEX_DISABLE_INTERRUPT)
        {
            return;
        }
        if ch.interrupt_relay {
            self.expect_interrupt_page();
        } else if let Some(vp) = ch.signalled_vp(self.config.vps()) {
            self.expect_channel_flag(vp, ch.event_flag as u32);
        }
    }

    /// Interrupt-page mode: VTL2 re-signals VP 0, SINT2, flag 0, in the trusted synic.
    fn expect_interrupt_page(&mut self) {
        let regs = &self.vps[0].regs[0];
        let s = regs.sint(VMBUS_SINT as usize);
        let flag_set = !s.proxy() && !s.masked() && regs.scontrol_on();
        let outstanding = self.vps[0].flag_outstanding;
        if flag_set {
            self.vps[0].flag_outstanding = true;
        }
        if s.proxy() {
            self.expect_interrupt_page_proxied();
            return;
        }
        if outstanding {
            if !s.masked() {
                self.skips.bump(Skip::InterruptPageFlag);
            }
            return;
        }
        // The trusted synic raises its own SINT2 (`signal_event`): the host's copy
        // plays no part.
        let owed = !s.masked()
            && !s.polling()
            && s.vector() >= 16
            && regs.scontrol_on()
            && self.vps[0].apic_on[0];
        if let Some(v) = owed.then_some(s.vector()) {
            self.expect(
                0,
                v,
                Some(VMBUS_SINT),
                Invariant::LostRelay,
                Some(Path::TrustedSynic),
            );
        }
    }

    /// Interrupt-page mode with SINT2 proxied: the trusted synic hands the SINT back to
    /// the host, flag 0, which coalesces there like any host signal (a TDX untrusted synic
    /// also refuses its own proxied SINT; its SCONTROL is not tracked here).
    fn expect_interrupt_page_proxied(&mut self) {
        let g = &self.vps[0];
        let u = Sint::from_bits(g.untrusted[VMBUS_SINT as usize]);
        let tdx = self.config.isolation == sintfuzz_model::Isolation::Tdx;
        // `UhEventPort::interrupt` (`openhcl/virt_mshv_vtl/src/lib.rs`) on
        // `SintProxied`: TDX signals its untrusted synic, which checks as
        // `signal_event` does and interrupts the APIC itself; SNP signals the
        // hypervisor (`signal_event_direct`), a proxy interrupt like any host signal.
        let raises = if tdx {
            !u.proxy() && g.untrusted_on && !u.masked()
        } else {
            !u.masked()
        };
        let newly = raises && !self.host_flags.test_and_set(0, 0);
        self.host_signal(0, VMBUS_SINT as usize);
        if !newly {
            return;
        }
        let g = &self.vps[0];
        let owed = if tdx {
            (!u.polling() && u.vector() >= 16 && g.apic_on[0]).then_some(u.vector())
        } else {
            self.sint_owed(0, VMBUS_SINT as usize)
        };
        let path = if tdx {
            Path::UntrustedSynic
        } else {
            Path::ProxyUser
        };
        if let Some(v) = owed {
            self.expect(0, v, Some(VMBUS_SINT), Invariant::LostRelay, Some(path));
        }
    }

    /// The host sets the channel's `flag` in `vp`'s event-flag page and raises SINT2 only
    /// when the flag goes from 0 to 1 (`GlobalSynic::signal_event` order,
    /// `vm/hv1/hv1_emulator/src/synic.rs`; the hypervisor's semantics). A signal on a
    /// flag already set raises nothing and is owed nothing: the earlier raise of that
    /// flag stands for it (delivered: the guest will scan the flag; lost: the channel
    /// is hung, and that loss was or will be judged when the VP runs).
    fn expect_channel_flag(&mut self, vp: usize, flag: u32) {
        let u = Sint::from_bits(self.vps[vp].untrusted[VMBUS_SINT as usize]);
        if !u.masked()
            && flag < EVENT_FLAGS_PER_SINT
            && self.host_flags.test_and_set(vp as u8, flag)
        {
            return;
        }
        self.host_signal(vp, VMBUS_SINT as usize);
        if let Some(v) = self.sint_owed(vp, VMBUS_SINT as usize) {
            self.expect(
                vp,
                v,
                Some(VMBUS_SINT),
                Invariant::LostRelay,
                Some(Path::ProxyUser),
            );
        }
    }

    fn expect(
        &mut self,
        vp: usize,
        vector: u8,
        sint: Option<u8>,
        invariant: Invariant,
        path: Option<Path>,
    ) {
        let origin = self.step;
        // First fit: a free slot among those taken before, else the next one.
        let used = self.used as usize;
        let free = match self.expect[..used]
            .iter()
            .position(|e| e.invariant.is_none())
        {
            Some(i) => Some(i),
            None if used < MAX_EXPECT => {
                self.used += 1;
                Some(used)
            }
            None => None,
        };
        if let Some(i) = free {
            self.live += 1;
            self.expect[i] = Expect {
                vp: vp as u8,
                vector,
                sint,
                invariant: Some(invariant),
                origin,
                path,
                stage: Stage::Owed,
            };
        } else {
            self.skips.bump(Skip::ExpectCap);
        }
    }

    /// A host message to VTL0 SINT `n` of `vp`: where the guest's own settings decide the
    /// outcome, the SINT's vector is owed after the VP next runs. `handle_message_queues`
    /// and `deliver_synic_messages` (`openhcl/virt_mshv_vtl/src/processor/mod.rs`,
    /// `hardware_cvm/mod.rs`) post it to the trusted synic, or for a proxied SINT to the
    /// host's copy (TDX: its own interrupt; SNP: a proxy interrupt through the filter).
    /// `ProcessorSynic::post_message` (`vm/hv1/hv1_emulator/src/synic.rs`) refuses a masked
    /// or (trusted) proxied SINT, so the message is dropped, and a full slot with
    /// `ObjectInUse`, so it stays queued: only a message that finds its SINT's queue empty
    /// and slots free is judged (see `GuestVp::slot_busy`). A polling SINT raises nothing.
    fn expect_message(&mut self, vp: usize, n: usize) {
        if !self.set.contains(Invariant::LostMessage) {
            return;
        }
        let g = &mut self.vps[vp];
        let first = g.queued[n] == 0 && g.slot_busy & (1 << n) == 0;
        g.queued[n] = g.queued[n].saturating_add(1);
        let Some((vector, path)) = self.message_owed(vp, n).filter(|_| first) else {
            return;
        };
        self.message_vps |= 1 << vp;
        self.expect(
            vp,
            vector,
            Some(n as u8),
            Invariant::LostMessage,
            Some(path),
        );
    }

    /// The vector and path a message queued on VTL0 SINT `n` of `vp` raises when the VP
    /// next runs, as the guest has configured them now (`deliver_synic_messages` reads
    /// the SINT at the run), or `None` where nothing is owed.
    fn message_owed(&self, vp: usize, n: usize) -> Option<(u8, Path)> {
        let tdx = self.config.isolation == Isolation::Tdx;
        let g = &self.vps[vp];
        let s = g.regs[0].sint(n);
        let enabled = g.regs[0].scontrol_on() && g.apic_on[0];
        if !enabled || s.masked() || s.polling() || s.vector() < 16 {
            return None;
        }
        let path = if !s.proxy() {
            Path::TrustedSynic
        } else {
            // The host's copy, as the guest gave it, must raise the same vector.
            let host = Sint::from_bits(g.untrusted[n]);
            let same = host.vector() == s.vector() && !host.masked() && !host.polling();
            if !same || !g.untrusted_on || (tdx && host.proxy()) {
                return None;
            }
            if tdx {
                Path::UntrustedSynic
            } else {
                Path::ProxyUser
            }
        };
        Some((s.vector(), path))
    }

    /// `vp` ran: each VTL0 SINT with a queued message and free slots had one taken
    /// (`handle_message_queues` asks for readiness, `deliver_synic_messages` posts until a
    /// slot is full: posted, into the slot of the trusted synic or the host's copy by the
    /// proxy bit then, or dropped), and that slot may now be full. The guest's ack
    /// (`GuestAck`: every message consumed) frees both slots. An upper bound on what stays
    /// queued and on what is in a slot: a message judged by it is never behind another.
    #[inline(always)]
    fn messages_ran(&mut self, vp: usize) {
        let g = &mut self.vps[vp];
        if g.queued == [0; NUM_SINTS] {
            return;
        }
        for (n, q) in g.queued.iter_mut().enumerate() {
            if *q != 0 && g.slot_busy & (1 << n) == 0 {
                *q -= 1;
                g.slot_busy |= 1 << n;
            }
        }
    }

    /// A guest write between a host message and the run that delivers it changes what
    /// that run does only for the SINTs it touches (`handle_message_queues` drops a masked
    /// SINT's messages, `deliver_synic_messages` reads the SINT, its proxy bit and
    /// SCONTROL then; the APIC enable gates the poll; [`message_reach`]). Called after the
    /// write took effect: a touched expectation is recomputed from what the run will read
    /// ([`Self::message_owed`]), and dropped (`reconfigured`) only where that owes nothing;
    /// every other one stays in force.
    fn reconfigured_messages(&mut self, op: &Op) {
        let Some((vps, sints)) = message_reach(op) else {
            return;
        };
        if self.message_vps & vps == 0 || sints == 0 {
            return;
        }
        let mut left = 0;
        for i in 0..self.used as usize {
            let e = self.expect[i];
            // A held one is met: its vector is in the IRR, which no SINT write changes.
            if e.invariant != Some(Invariant::LostMessage) || !e.live() {
                continue;
            }
            let (Some(n), true) = (e.sint, vps & (1 << e.vp) != 0) else {
                left |= 1 << e.vp;
                continue;
            };
            if sints & (1 << n) == 0 {
                left |= 1 << e.vp;
            } else if let Some((vector, path)) = self.message_owed(e.vp as usize, n as usize) {
                // Owed differently from here on: the loss is traced from this step.
                if (vector, Some(path)) != (e.vector, e.path) {
                    self.expect[i].vector = vector;
                    self.expect[i].path = Some(path);
                    self.expect[i].origin = self.step;
                }
                left |= 1 << e.vp;
            } else {
                self.expect[i].invariant = None;
                self.live -= 1;
                self.skips.bump(Skip::Reconfigured);
            }
        }
        self.message_vps = left;
    }

    /// After `vp` ran (`seen`: its VTL0 IRR now): every held vector must still be pending,
    /// and every owed one must be pending now. A met one is held until the guest's ack
    /// consumes it (one per vector: the first stands for the rest).
    fn settle(&mut self, vp: usize, seen: VectorSet) {
        self.check_held(vp, seen);
        if self.live == 0 {
            return;
        }
        // The poll drops everything while the APIC is disabled (`poll_apic_core`,
        // `openhcl/virt_mshv_vtl/src/processor/hardware_cvm/apic.rs`; the TDX offload
        // needs it software-enabled): an undelivered vector is then owed nothing.
        let apic_on = self.vps[vp].apic_on[0];
        for i in 0..self.used as usize {
            // Each live expectation of this VP is taken (settled by this run).
            let e = self.expect[i];
            let Some(invariant) = e.invariant else {
                continue;
            };
            if e.vp as usize != vp || !e.live() {
                continue;
            }
            self.expect[i].invariant = None;
            self.live -= 1;
            if e.stage == Stage::Reset {
                self.skips.judged += 1;
            } else if seen.contains(e.vector) {
                self.skips.judged += 1;
                let g = &mut self.vps[vp];
                if !g.held.contains(e.vector) {
                    g.held.insert(e.vector);
                    self.expect[i].invariant = Some(invariant);
                    self.expect[i].stage = Stage::Held;
                }
            } else if !apic_on {
                self.skips.bump(Skip::Reconfigured);
            } else {
                self.skips.judged += 1;
                let delivered = self.vps[vp].pending.contains(e.vector);
                self.report_loss(invariant, &e, delivered, lost_detail(invariant, delivered));
            }
        }
    }

    // ----- register semantics (synic_msr) -----

    /// Inlined into each operation kind's step, like the model's `wrmsr`.
    #[inline(always)]
    fn after_wrmsr(&mut self, vp: u8, vtl: Vtl, n: u32, value: u64, r: OpResult) {
        let (Some(t), true) = (self.vtl_ok(vtl), (vp as usize) < self.config.vps()) else {
            return;
        };
        let expected = expected_write(n, value);
        if expected == Expected::Ok && (0x4000_0080..0x4000_00c0).contains(&n) {
            self.vps[vp as usize].regs[t].set(n, value);
        }
        if t == 0 && expected == Expected::Ok {
            self.guest_mirrors(vp as usize, n, value);
        }
        let got = match r {
            OpResult::Msr(MsrOutcome::Ok(_)) => Expected::Ok,
            OpResult::Msr(MsrOutcome::Gp) => Expected::Gp,
            OpResult::Msr(MsrOutcome::Unknown) => Expected::Unknown,
            // A VTL2 crash is its own invariant.
            _ => return,
        };
        if got != expected {
            self.register_violation(
                vp,
                vtl,
                "synic MSR write result differs from the register rules",
            );
        }
    }

    fn after_rdmsr(&mut self, vp: u8, vtl: Vtl, n: u32, r: OpResult) {
        let (Some(t), true) = (self.vtl_ok(vtl), (vp as usize) < self.config.vps()) else {
            return;
        };
        let regs = &self.vps[vp as usize].regs[t];
        let expected = match n {
            msr::SVERSION => MsrOutcome::Ok(1),
            msr::EOM => MsrOutcome::Ok(0),
            _ if expected_write(n, 0) == Expected::Ok => MsrOutcome::Ok(regs.get(n)),
            _ => MsrOutcome::Unknown,
        };
        if r != OpResult::Msr(expected) {
            self.register_violation(vp, vtl, "synic MSR read differs from what the guest wrote");
        }
    }

    #[inline(always)]
    fn after_set_vp_register(&mut self, call: &SetVpRegister, r: OpResult) {
        let SetVpRegister {
            vp,
            caller_vtl: caller,
            target_vtl: target,
            partition_self,
            vp_index,
            name,
            value,
        } = *call;
        if self.vtl_ok(caller).is_none() || vp as usize >= self.config.vps() {
            return;
        }
        let mapped = match name {
            reg::SINT0..=reg::SINT15 => Some(msr::SINT0 + (name - reg::SINT0)),
            reg::STIMER0_CONFIG..=reg::STIMER3_COUNT => {
                Some(msr::STIMER0_CONFIG + (name - reg::STIMER0_CONFIG))
            }
            reg::SCONTROL => Some(msr::SCONTROL),
            reg::SVERSION => Some(msr::SVERSION),
            reg::SIEFP => Some(msr::SIEFP),
            reg::SIMP => Some(msr::SIMP),
            reg::EOM => Some(msr::EOM),
            _ => None,
        };
        let expected = if !partition_self {
            HvStatus::AccessDenied
        } else if vp_index != VP_INDEX_SELF && vp_index != vp as u32 {
            HvStatus::InvalidVpIndex
        } else if target > caller {
            HvStatus::AccessDenied
        } else if name == reg::VSM_VINA {
            if target == Vtl::Vtl0 || value >> 11 != 0 {
                HvStatus::InvalidParameter
            } else {
                HvStatus::Success
            }
        } else if name == reg::VSM_PARTITION_CONFIG {
            // VTL1 target only; then the supported bits (0..=6) with read+write default
            // protections (`set_vsm_partition_config`).
            if target != Vtl::Vtl1 {
                HvStatus::InvalidParameter
            } else if value & !0x7f != 0 || (value >> 1) & 0b11 != 0b11 {
                HvStatus::InvalidRegisterValue
            } else {
                HvStatus::Success
            }
        } else if let Some(n) = mapped {
            match expected_write(n, value) {
                Expected::Ok => HvStatus::Success,
                _ => HvStatus::InvalidParameter,
            }
        } else {
            // `set_vp_register`'s "unsupported register".
            HvStatus::InvalidParameter
        };
        if r != OpResult::Hv(expected) && r != OpResult::Vtl2Assert {
            self.register_violation(
                vp,
                caller,
                "HvSetVpRegisters status differs from the access rules",
            );
        }
        if let (HvStatus::Success, Some(n)) = (expected, mapped) {
            let t = target.index();
            self.vps[vp as usize].regs[t].set(n, value);
            if caller == Vtl::Vtl0 && t == 0 {
                self.guest_mirrors(vp as usize, n, value);
            }
        }
    }

    /// A status or register value that differs from the rules: a violation of
    /// `invariant` (`hypercall-semantics` or `register-semantics`) with no vector.
    fn rules_violation(&mut self, invariant: Invariant, vp: u8, vtl: Vtl, detail: &'static str) {
        self.report(Violation {
            invariant,
            step: self.step,
            origin: None,
            vp,
            vtl,
            vector: None,
            path: None,
            irr_loss: false,
            detail,
        });
    }

    fn hypercall_violation(&mut self, vp: u8, vtl: Vtl, detail: &'static str) {
        self.rules_violation(Invariant::HypercallSemantics, vp, vtl, detail);
    }

    /// A mirroring guest (`Config::guest_mirrors_sints`) gives the host each VTL0 SINT
    /// value it writes.
    #[inline(always)]
    fn guest_mirrors(&mut self, vp: usize, n: u32, value: u64) {
        if !self.config.guest_mirrors_sints {
            return;
        }
        if let Some(i) = msr::sint_index(n) {
            // Without the proxy bit, as Linux's `hv_set_msr` writes the host's copy.
            self.vps[vp].untrusted[i as usize] = value & !Sint::PROXY;
        } else if n == msr::SCONTROL {
            self.vps[vp].untrusted_on = value & 1 != 0;
        }
    }

    fn register_violation(&mut self, vp: u8, vtl: Vtl, detail: &'static str) {
        self.rules_violation(Invariant::RegisterSemantics, vp, vtl, detail);
    }

    // ----- deliveries -----

    /// A vector made pending in `vp`'s VTL0 APIC: never below 16, never while the APIC is
    /// off, and through the proxy path only one VTL0 is entitled to.
    fn on_delivered(&mut self, vp: usize, vector: u8, path: Path, coalesced: bool) {
        self.vps[vp].pending.insert(vector);
        if vector < 16 {
            self.report_delivery(
                vp,
                vector,
                path,
                Invariant::ReservedVector,
                "a vector below 16 was made pending in the VTL0 APIC",
            );
        }
        // The guest's own APIC enables, as it last set them (`SetApic`).
        if !coalesced && path.is_proxy() && !self.vps[vp].apic_on[0] {
            self.report_delivery(
                vp,
                vector,
                path,
                Invariant::PendingWhileDisabled,
                "a vector became pending in a VTL0 APIC whose hardware or software enable is off",
            );
        }
        if !path.is_proxy() {
            return;
        }
        if let Some((invariant, detail)) = self.judge_proxy_delivery(vp, vector) {
            self.report_delivery(vp, vector, path, invariant, detail);
        }
        for a in self.vps[vp].admissible.iter_mut() {
            a.remove(vector);
        }
    }

    fn report_delivery(
        &mut self,
        vp: usize,
        vector: u8,
        path: Path,
        invariant: Invariant,
        detail: &'static str,
    ) {
        self.report(Violation {
            invariant,
            step: self.step,
            origin: None,
            vp: vp as u8,
            vtl: Vtl::Vtl0,
            vector: Some(vector),
            path: Some(path),
            irr_loss: false,
            detail,
        });
    }

    /// The leak, if any, of a proxy delivery of `vector` to `vp`: unentitled under the
    /// default tier, or entitled only by what the strict tier does not count.
    fn judge_proxy_delivery(&mut self, vp: usize, vector: u8) -> Option<(Invariant, &'static str)> {
        let g = self.vps[vp];
        // An honest host signalled this vector because the guest gave the host's synic a
        // different SINT value: which vector VTL0 meant is ambiguous, so this delivery is
        // not judged. (A malicious assert of the same vector is.)
        let told_host = g.host_told.contains(vector);
        self.vps[vp].host_told.remove(vector);
        // Exempt only where the verdict would be a leak: an entitled vector is judged.
        if told_host
            && !g.admissible[DEFAULT].contains(vector)
            && !self.entitled(vp, DEFAULT).contains(vector)
        {
            self.skips.bump(Skip::UntrustedSynic);
        } else {
            self.skips.judged += 1;
        }
        let ok = |tier: usize| {
            told_host
                || g.admissible[tier].contains(vector)
                || self.entitled(vp, tier).contains(vector)
        };
        if !ok(DEFAULT) {
            Some(self.unentitled_leak(vp, vector))
        } else if !ok(STRICT) {
            Some(self.strict_leak(&g.regs[0], vector))
        } else {
            None
        }
    }

    /// A vector VTL0 is not entitled to: another VTL's, or no one's.
    fn unentitled_leak(&self, vp: usize, vector: u8) -> (Invariant, &'static str) {
        let foreign = vector == VTL2_VECTOR
            || (self.config.vtl1_enabled && self.configured(vp, 1).contains(vector));
        if foreign && !self.configured(vp, 0).contains(vector) {
            (
                Invariant::LeakCrossVtl,
                "a vector only VTL1 or VTL2 configured reached VTL0 through the proxy path",
            )
        } else {
            (
                Invariant::LeakUnentitled,
                "a host vector reached VTL0 through the proxy path with no VTL0 entitlement",
            )
        }
    }

    /// A vector the default tier admits and the strict one does not: which of the
    /// default tier's allowances (`regs` are VTL0's synic registers) it came through.
    fn strict_leak(&self, regs: &Regs, vector: u8) -> (Invariant, &'static str) {
        let mut sint_vectors = VectorSet::EMPTY;
        for n in 0..NUM_SINTS {
            let s = regs.sint(n);
            let relay = self.config.vmbus_relay && n == VMBUS_SINT as usize;
            if !s.masked() && (s.proxy() || relay) {
                sint_vectors.insert(s.vector());
            }
        }
        if !regs.scontrol_on() && sint_vectors.contains(vector) {
            (
                Invariant::LeakSynicDisabled,
                "a host SINT vector reached VTL0 while its SCONTROL is disabled",
            )
        } else if self.device_ever[0].contains(vector) && !sint_vectors.contains(vector) {
            (
                Invariant::LeakStaleDeviceVector,
                "a vector admitted only by a device retarget that has since moved away",
            )
        } else {
            (
                Invariant::LeakNonVmbusSint,
                "a host vector admitted only by a non-proxy SINT other than SINT2",
            )
        }
    }
}

/// The report line of an owed vector missing from the VTL0 IRR after a run: `delivered`
/// when the model reported it delivered (it then left the IRR without the guest's ack).
fn lost_detail(invariant: Invariant, delivered: bool) -> &'static str {
    if delivered {
        return "an owed vector was reported delivered to VTL0 but is not in its IRR after the run";
    }
    match invariant {
        Invariant::LostRelay => {
            "host signal on an open relayed channel never reached VTL0 (SINT2 unmasked, SCONTROL and APIC on)"
        }
        Invariant::LostProxySint => "host signal on a proxy-bit SINT never reached VTL0",
        Invariant::LostMessage => {
            "host message to an unmasked VTL0 SINT (SCONTROL and APIC on, its slot free) never raised its vector"
        }
        _ => "device interrupt after a returned retarget never reached VTL0",
    }
}

/// Which VPs (bit per VP) and which VTL0 SINTs (bit per SINT) of them a guest operation
/// can change message delivery for: a SINT register (either copy) only its SINT; the other
/// synic registers (SCONTROL, SIMP, SIEFP, EOM, SVERSION) and the VTL0 APIC enables every
/// SINT; anything else (timers, VTL1, other MSRs) none. HvSetVpRegisters may name any VP.
fn message_reach(op: &Op) -> Option<(u8, u16)> {
    fn synic(n: u32, sint0: u32, scontrol: u32, eom: u32) -> u16 {
        match n {
            _ if (sint0..sint0 + NUM_SINTS as u32).contains(&n) => 1 << (n - sint0),
            _ if (scontrol..=eom).contains(&n) => u16::MAX,
            _ => 0,
        }
    }
    let one = |vp: u8| 1u8.checked_shl(vp as u32).unwrap_or(0);
    Some(match *op {
        Op::WrMsr(WrMsr {
            vp,
            vtl: Vtl::Vtl0,
            msr: n,
            ..
        })
        | Op::UntrustedWrMsr(UntrustedWrMsr { vp, msr: n, .. }) => {
            (one(vp), synic(n, msr::SINT0, msr::SCONTROL, msr::EOM))
        }
        Op::SetApic(SetApic {
            vp, vtl: Vtl::Vtl0, ..
        }) => (one(vp), u16::MAX),
        Op::SetVpRegister(SetVpRegister {
            target_vtl: Vtl::Vtl0,
            name,
            ..
        }) => (u8::MAX, synic(name, reg::SINT0, reg::SCONTROL, reg::EOM)),
        _ => return None,
    })
}

/// Always inlined: each call site in the model sends one kind of event, so the match
/// folds to that kind's handler, or to nothing for the events the oracle does not follow
/// (a filter update, a queued wake).
impl Observer for Oracle {
    #[inline(always)]
    fn event(&mut self, event: Event) {
        match event {
            Event::Delivered {
                vp,
                vtl: Vtl::Vtl0,
                vector,
                path,
                coalesced,
            } => self.on_delivered(vp as usize, vector, path, coalesced),
            Event::ProxyAsserted { vp, bits } => self.on_proxy_asserted(vp as usize, bits),
            Event::Blocked { vp, vectors } => self.on_blocked(vp as usize, vectors),
            Event::Dropped {
                vp,
                vtl: Vtl::Vtl0,
                vector,
                path,
                ..
            } if path.is_some_and(Path::is_proxy) => self.on_proxy_dropped(vp as usize, vector),
            Event::Vtl2Assert { vp, vtl, site } => self.report(Violation {
                invariant: Invariant::Vtl2Crash,
                step: self.step,
                origin: None,
                vp,
                vtl,
                vector: None,
                path: None,
                irr_loss: false,
                detail: site.what(),
            }),
            // Filter updates and queued wakes are never judged: the guest sees neither.
            // `sintfuzz check`'s verdict memo relies on it (a retarget updates and wakes
            // every VP, but its verdict reads only its caller's: triage/src/check/memo.rs).
            _ => {}
        }
    }
}

impl Oracle {
    /// Proxy bits asserted on `vp`: the ones VTL0 is entitled to (per tier) become
    /// admissible, and `last_new` records which did with this assertion.
    fn on_proxy_asserted(&mut self, vp: usize, bits: VectorSet) {
        for tier in [DEFAULT, STRICT] {
            let entitled = self.entitled(vp, tier);
            let g = &mut self.vps[vp];
            let new = bits.intersection(entitled).difference(g.admissible[tier]);
            g.admissible[tier] = g.admissible[tier].union(new);
            g.last_new[tier] = new;
        }
    }

    /// Each blocked vector on its own, as a set: a blocked bit never entered the proxy
    /// IRR, so of the bits the message made admissible (or the host was told), the
    /// blocked ones are consumed, vector by vector.
    fn on_blocked(&mut self, vp: usize, vectors: VectorSet) {
        let g = &mut self.vps[vp];
        for tier in [DEFAULT, STRICT] {
            let consumed = vectors.intersection(g.last_new[tier]);
            g.admissible[tier] = g.admissible[tier].difference(consumed);
        }
        g.host_told = g.host_told.difference(vectors.intersection(g.told_new));
    }

    /// One discarded by the poll left the proxy IRR. (A trusted-synic drop leaves the
    /// proxy IRR alone.)
    fn on_proxy_dropped(&mut self, vp: usize, vector: u8) {
        let g = &mut self.vps[vp];
        for a in g.admissible.iter_mut() {
            a.remove(vector);
        }
        g.host_told.remove(vector);
    }
}

/// The oracle's canonical state for exhaustive exploration (`sintfuzz check`), beside the
/// model's: what decides its future verdicts. Skipped: `step` and each expectation's
/// `origin` (they only label a report: whether a violation is reported never depends on
/// them; which invariant, vector and origin label it may, where `Oracle::left_irr` finds
/// several checked expectations lost at once), free expectation slots' stale contents, VPs beyond
/// the config's count, `last_new` and `told_new` (rewritten by every `ProxyAsserted` or
/// step before the `Dropped` events of the same operation read them), and the skip
/// counters (statistics, not state). Destructured without `..`, so a new
/// field fails to compile here until someone decides whether it is state.
/// The shared part, then each VP's ([`Oracle::hash_shared`], [`Oracle::hash_vp`]).
impl Hash for Oracle {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.hash_shared(h);
        for v in 0..self.config.vps() {
            self.hash_vp(v, h);
        }
    }
}

impl Oracle {
    /// The canonical state but the VPs' parts: the config and everything shared.
    pub fn hash_shared<H: Hasher>(&self, h: &mut H) {
        let Oracle {
            config,
            set,
            // `hash_vp`'s, the first `config.vps()`.
            vps: _,
            channels,
            interrupt_page,
            routes,
            device_ever,
            step: _,
            told_any: _,
            violation,
            skips: _,
            expect: _,
            live: _,
            used: _,
            message_vps: _,
            // Keyed by VP: `hash_vp`'s.
            host_flags: _,
        } = self;
        config.hash(h);
        set.hash(h);
        for c in channels {
            let GuestChannel {
                offered,
                open,
                target_vp,
                event_flag,
                interrupt_relay,
            } = c;
            offered.hash(h);
            open.hash(h);
            // Read only while open (signal, modify); an open sets them all anew.
            if *open {
                target_vp.hash(h);
                event_flag.hash(h);
                interrupt_relay.hash(h);
            }
        }
        interrupt_page.hash(h);
        routes.hash(h);
        device_ever.hash(h);
        violation.hash(h);
        // A raised flag or an expectation of a VP past the config's (never made) would
        // be here.
        self.hash_owed(h, |vp| vp >= config.vps());
    }

    /// VP `v`'s part of the canonical state: its record, its raised flags and the
    /// expectations it is owed. An operation local to one VP (`Op::vp_local`) changes no
    /// other part, so `sintfuzz check` fingerprints the parts apart and rehashes only that
    /// VP's after one.
    pub fn hash_vp<H: Hasher>(&self, v: usize, h: &mut H) {
        self.vps[v].hash(h);
        self.hash_owed(h, |vp| vp == v);
    }

    /// Sparse (the fingerprint is most of `sintfuzz check`'s time): the raised flags in
    /// use (zero past `len`, sorted, keyed `vp << 16 | flag`) and the live expectations
    /// (each with its slot; slots from `used` on are free) of the VPs that pass `of`.
    #[inline]
    fn hash_owed<H: Hasher>(&self, h: &mut H, of: impl Fn(usize) -> bool) {
        let flags = &self.host_flags.keys[..self.host_flags.len as usize];
        let mine = flags.iter().filter(|k| of((*k >> 16) as usize));
        h.write_u8(mine.clone().count() as u8);
        for k in mine {
            h.write_u32(*k);
        }
        for (i, e) in self.expect[..self.used as usize].iter().enumerate() {
            let Expect {
                vp,
                vector,
                sint,
                invariant,
                origin: _,
                path,
                stage,
            } = e;
            if let Some(inv) = invariant.as_ref().filter(|_| of(usize::from(*vp))) {
                h.write_u8(i as u8);
                inv.hash(h);
                vp.hash(h);
                vector.hash(h);
                sint.hash(h);
                path.hash(h);
                stage.hash(h);
            }
        }
        h.write_u8(0xff);
    }
}

/// Sparse: the (register offset in the window, value) pairs that differ from reset.
impl Hash for Regs {
    fn hash<H: Hasher>(&self, h: &mut H) {
        // Most are at reset: a mask of the others (no branch, no call), then those.
        let mut rest = mask(self.0.iter().zip(&Regs::RESET.0).map(|(v, r)| v != r));
        while rest != 0 {
            let i = rest.trailing_zeros() as usize;
            h.write_usize((Regs::register(i) - 0x4000_0080) as usize);
            h.write_u64(self.0[i]);
            rest &= rest - 1;
        }
        h.write_u8(0xff);
    }
}

/// The entries of `values` other than `reset`, as (index, value) pairs, then 0xff.
fn sparse<H: Hasher>(h: &mut H, values: &[u64; NUM_SINTS], reset: u64) {
    let mut rest = mask(values.iter().map(|v| *v != reset));
    while rest != 0 {
        let i = rest.trailing_zeros() as usize;
        h.write_u8(i as u8);
        h.write_u64(values[i]);
        rest &= rest - 1;
    }
    h.write_u8(0xff);
}

impl Hash for GuestVp {
    fn hash<H: Hasher>(&self, h: &mut H) {
        let GuestVp {
            regs,
            untrusted,
            told,
            told_set,
            apic_on,
            pending,
            // The vectors of the held expectations, hashed with them.
            held: _,
            admissible,
            last_new: _,
            flag_outstanding,
            queued,
            slot_busy,
            host_told,
            told_new: _,
            untrusted_on,
        } = self;
        regs.hash(h);
        // Sparse (most SINTs at reset, most told slots unset and 0): the (index, value)
        // pairs that differ, then a terminator no index takes.
        sparse(h, untrusted, Sint::RESET.into_bits());
        told_set.hash(h);
        sparse(h, told, 0);
        apic_on.hash(h);
        pending.hash(h);
        admissible.hash(h);
        flag_outstanding.hash(h);
        queued.hash(h);
        slot_busy.hash(h);
        host_told.hash(h);
        untrusted_on.hash(h);
    }
}
