//! Root-cause signatures: two violations are the same bug when the same fix removes both.
//!
//! For a violation on revision R the input is replayed with each single policy choice of
//! `proposed` applied to R alone ([`Choice`], `model/src/revision.rs`); the choices whose
//! application removes the violation name the root cause (pairs when no single one does,
//! triples when no pair does; `proposed` when nothing short of more does). Beside the fix, the *divergence*:
//! for the offending VP and vector, the first step from which the model's filter and the
//! guest's entitlement disagree without a break up to the step that decided the violation
//! (the latch of a leaked vector, the signal of a lost one), its direction and its
//! operation. The filter is read here to label a violation, never to decide one.
//!
//! Computed only once the oracle has reported a violation: nothing of this runs on the
//! fuzzing hot path. The engines ([`crate::known`]) and triage (bucket, minimize,
//! explain, `known.toml`) call the same [`analyze`]. The replay is over a [`Source`]: the
//! bytes of a target's input, or a scenario given as operations (a peer harness's crash
//! that our format cannot express, bucketed by [`analyze_source`] on its own replay).

use core::fmt;

use sintfuzz_model::hvdef::{msr, reg};
use sintfuzz_model::{
    Choice, Event, Op, OpResult, Partition, Path, Policy, Revision, Vtl, MAX_VPS,
};

use crate::harness::{Source, StepHook};
use crate::invariant::{InvariantSet, Tier};
use crate::oracle::{path_name, Oracle, Violation};
use crate::target::Target;

/// Which change of `proposed` removes a violation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fix {
    /// Each alternative (a set of [`Choice`]s, bit n = `Choice::ALL[n]`) removes it on its
    /// own: every single choice that does, then every pair neither of whose choices does;
    /// where none of those does, the smallest larger sets that do.
    Choices(Vec<u16>),
    /// No set of choices short of all of them does; all of `proposed` does.
    Proposed,
    /// Even `proposed`'s policy keeps it (or R is `proposed`).
    Unfixed,
}

impl Fix {
    /// Whether `c` is part of some alternative.
    pub fn names(&self, c: Choice) -> bool {
        let bit = 1u16 << choice_index(c);
        matches!(self, Fix::Choices(alts) if alts.iter().any(|a| a & bit != 0))
    }
}

fn choice_index(c: Choice) -> usize {
    Choice::ALL.iter().position(|&x| x == c).unwrap_or(0)
}

impl fmt::Display for Fix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fix::Proposed => f.write_str("proposed"),
            Fix::Unfixed => f.write_str("unfixed"),
            Fix::Choices(alts) => {
                for (i, a) in alts.iter().enumerate() {
                    if i > 0 {
                        f.write_str("|")?;
                    }
                    let mut first = true;
                    for (n, c) in Choice::ALL.iter().enumerate() {
                        if a & (1 << n) != 0 {
                            if !first {
                                f.write_str("+")?;
                            }
                            first = false;
                            f.write_str(c.name())?;
                        }
                    }
                }
                Ok(())
            }
        }
    }
}

/// How the VP's filter disagreed with the guest's entitlement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// The filter admitted a vector the guest did not entitle.
    TooOpen,
    /// The filter blocked a vector the guest entitled.
    TooClosed,
    /// They agreed where the violation was decided (the filter is not the cause).
    Agree,
    /// The violation concerns no vector (a VTL2 crash, a register or hypercall result).
    NoVector,
}

impl Direction {
    pub const fn name(self) -> &'static str {
        match self {
            Direction::TooOpen => "too-open",
            Direction::TooClosed => "too-closed",
            Direction::Agree => "agree",
            Direction::NoVector => "-",
        }
    }
}

/// Where the filter and the entitlement parted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Divergence {
    /// The step whose operation made them part; `None`: they disagreed from the start.
    /// With [`Direction::Agree`], the violation's step.
    pub step: Option<u16>,
    pub vp: u8,
    pub vector: Option<u8>,
    pub direction: Direction,
    /// [`op_kind`] of the operation at `step` (`initial` without one).
    pub op: &'static str,
    /// Whether the operation at `step` recomputed that VP's filter.
    pub recomputed: bool,
    /// What a signature with no fixing choice groups by ([`Cause`]).
    pub cause: Cause,
}

/// Which rule holds a vector: the VP's VTL0 SINTs, a device route, both or neither.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    Sint,
    Device,
    Both,
    #[default]
    Neither,
}

impl Rule {
    fn of((sint, device): (bool, bool)) -> Rule {
        match (sint, device) {
            (true, false) => Rule::Sint,
            (false, true) => Rule::Device,
            (true, true) => Rule::Both,
            (false, false) => Rule::Neither,
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Rule::Sint => "sint",
            Rule::Device => "device",
            Rule::Both => "sint+device",
            Rule::Neither => "none",
        }
    }
}

/// The root cause of a violation that no choice of `proposed` removes (a new defect, or
/// one injected into `proposed`): where, and by which filter decision, the VP's filter
/// first parted from the guest's entitlement. It replaces the divergence op in such a
/// signature, because there the op is mostly the vehicle: a wrong rule gives the same
/// wrong answer on every operation that recomputes, so one defect reached through
/// WRMSR, HvSetVpRegisters or a retarget is still one bucket; a missing recompute is
/// the operation that missed it; a filter that agreed points at the delivery path.
/// With a fixing choice the signature keeps the op, and this is [`Cause::Op`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cause {
    /// The divergence step recomputed the filter and the result disagreed with the
    /// entitlement: the rule that admitted the vector (too open; the model's current
    /// policy) or that entitles it (too closed; the guest's, per the oracle).
    Recompute(Rule),
    /// The divergence step changed the entitlement and did not recompute the filter
    /// (or they disagreed from the start): that operation missed its recompute.
    Missed,
    /// The filter agreed where the violation was decided: the delivery path (its name).
    Path(&'static str),
    /// The vector reached the guest's VTL0 IRR and left it without the guest's ack
    /// ([`Violation::irr_loss`]): after every filter decision, on any path.
    IrrLoss,
    /// The signature names the op (a fixing choice, or no vector).
    Op,
}

/// The root-cause signature: (invariant class, fixing choices, direction, divergence op).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signature {
    pub class: &'static str,
    pub fix: Fix,
    pub direction: Direction,
    pub op: &'static str,
    /// [`Cause::Op`] unless the fix names no choice; then the fourth field.
    pub cause: Cause,
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {} ", self.class, self.fix, self.direction.name())?;
        match self.cause {
            Cause::Op => f.write_str(self.op),
            Cause::Recompute(r) => write!(f, "recompute:{}", r.name()),
            Cause::Missed => write!(f, "missed:{}", self.op),
            Cause::Path(p) => write!(f, "path:{p}"),
            Cause::IrrLoss => f.write_str("irr-loss"),
        }
    }
}

/// A violation with its signature and divergence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Analysis {
    pub violation: Violation,
    pub signature: Signature,
    pub divergence: Divergence,
}

/// The signature of `data`'s first violation on `revision` under `invariants`; `None`
/// when it is clean.
pub fn signature(
    target: Target,
    revision: Revision,
    invariants: InvariantSet,
    data: &[u8],
) -> Option<Signature> {
    analyze(target, revision, invariants, data).map(|a| a.signature)
}

/// [`signature`] with the violation and the divergence.
pub fn analyze(
    target: Target,
    revision: Revision,
    invariants: InvariantSet,
    data: &[u8],
) -> Option<Analysis> {
    analyze_source(Source::Bytes(target, data), revision, invariants)
}

/// [`signature`] of any [`Source`]: bytes of a target, or operations.
pub fn signature_source(
    source: Source<'_>,
    revision: Revision,
    invariants: InvariantSet,
) -> Option<Signature> {
    analyze_source(source, revision, invariants).map(|a| a.signature)
}

/// [`analyze`] of any [`Source`]: the one implementation, whatever the input is.
pub fn analyze_source(
    source: Source<'_>,
    revision: Revision,
    invariants: InvariantSet,
) -> Option<Analysis> {
    let base = revision.policy();
    let v = source.run_policy(revision, base, invariants).violation()?;
    let fix = fixing_choices(source, revision, invariants, &v);
    let divergence = divergence(source, revision, invariants, &v);
    Some(Analysis {
        violation: v,
        signature: Signature {
            class: v.invariant.class(),
            cause: match fix {
                Fix::Choices(_) => Cause::Op,
                Fix::Proposed | Fix::Unfixed => divergence.cause,
            },
            fix,
            direction: divergence.direction,
            op: divergence.op,
        },
        divergence,
    })
}

fn fixing_choices(
    source: Source<'_>,
    revision: Revision,
    invariants: InvariantSet,
    v: &Violation,
) -> Fix {
    let base = revision.policy();
    let proposed = Revision::Proposed.policy();
    // Only the violated class is judged: another bug the replay runs into first neither
    // hides this one nor counts as it. A violation of the class that now comes later, or
    // at the same step on another VP or vector (a second bug in the same input), is a
    // different occurrence: this one is gone.
    let set = invariants.intersection(v.invariant.class_set());
    let removed = |p: Policy| {
        source
            .run_policy(revision, p, set)
            .violation()
            .is_none_or(|w| {
                w.step > v.step || (w.step == v.step && (w.vp, w.vector) != (v.vp, v.vector))
            })
    };
    let apply = |mask: u16| {
        Choice::ALL
            .iter()
            .enumerate()
            .filter(|(n, _)| mask & (1 << n) != 0)
            .fold(base, |p, (_, &c)| p.with_choice(c, proposed))
    };
    let differing: Vec<u16> = Choice::ALL
        .iter()
        .enumerate()
        .filter(|(_, &c)| base.differs(proposed, c))
        .map(|(n, _)| 1u16 << n)
        .collect();
    if differing.is_empty() {
        return Fix::Unfixed;
    }
    // Every minimal fix of at most two choices: the single choices that remove it, and
    // the pairs neither of whose choices does alone. (A single choice may remove a
    // violation by the way, e.g. a recompute it adds on another path; the pair that is the
    // real fix is then still listed.)
    let singles: Vec<u16> = differing
        .iter()
        .copied()
        .filter(|&m| removed(apply(m)))
        .collect();
    let mut alts = singles.clone();
    for (i, &a) in differing.iter().enumerate() {
        for &b in &differing[i + 1..] {
            if !singles.contains(&a) && !singles.contains(&b) && removed(apply(a | b)) {
                alts.push(a | b);
            }
        }
    }
    // Only when no single choice or pair does: the smallest sets that do, three choices
    // or more (on an older revision a loss can need a third change because a second path
    // entitles the same vector, or a fourth where two known defects stack, e.g. #1162's
    // admission masked by a sticky device vector in front of SF-003's wake window; a set
    // containing a known fix still names that root cause). All of them is `proposed`.
    for size in 3..differing.len() {
        if !alts.is_empty() {
            break;
        }
        alts = sets_of_size(&differing, size)
            .filter(|&m| removed(apply(m)))
            .collect();
    }
    if !alts.is_empty() {
        Fix::Choices(alts)
    } else if removed(proposed) {
        Fix::Proposed
    } else {
        Fix::Unfixed
    }
}

/// Every union of `size` distinct masks of `choices`, in lexicographic order of their
/// index sets (as nested loops would give them, so alternatives keep their order).
fn sets_of_size(choices: &[u16], size: usize) -> impl Iterator<Item = u16> + '_ {
    let n = choices.len();
    let mut sets: Vec<Vec<usize>> = (0u32..1 << n)
        .filter(|sel| sel.count_ones() as usize == size)
        .map(|sel| (0..n).filter(|i| sel & (1 << i) != 0).collect())
        .collect();
    sets.sort();
    sets.into_iter()
        .map(move |set| set.iter().fold(0u16, |m, &i| m | choices[i]))
}

/// Per step, for one VP and vector: the entitlement and the filter after the step.
#[derive(Clone, Copy, Default)]
struct Row {
    entitled: bool,
    admitted: bool,
    /// The vector entered the VP's proxy IRR at this step (asserted, not blocked).
    latched: bool,
    recomputed: bool,
    op: &'static str,
    /// The model's rule that admits the vector, and the guest's that entitles it.
    admits: Rule,
    entitles: Rule,
}

struct Track {
    vp: u8,
    vector: u8,
    strict: bool,
    initial: Option<(bool, bool)>,
    asserted: bool,
    blocked: bool,
    recomputed: bool,
    op: &'static str,
    rows: Vec<Row>,
}

impl Track {
    fn entitled(&self, oracle: &Oracle) -> bool {
        let vp = self.vp as usize;
        let set = if self.strict {
            oracle.strict_entitlement(vp)
        } else {
            oracle.entitlement(vp)
        };
        set.contains(self.vector)
    }
    fn admitted(&self, model: &Partition) -> bool {
        let vp = (self.vp as usize).min(MAX_VPS - 1);
        !model.vps[vp].run.proxy_irr_blocked.contains(self.vector)
    }
}

impl StepHook for Track {
    fn op(&mut self, step: usize, op: &Op, model: &Partition) {
        if step == 0 {
            let fresh = Oracle::new(model.config, InvariantSet::NONE);
            self.initial = Some((self.entitled(&fresh), self.admitted(model)));
        }
        self.asserted = false;
        self.blocked = false;
        self.recomputed = false;
        self.op = op_kind(op);
    }
    fn event(&mut self, e: &Event) {
        match *e {
            Event::ProxyAsserted { vp, bits } if vp == self.vp && bits.contains(self.vector) => {
                self.asserted = true
            }
            Event::Blocked { vp, vectors } if vp == self.vp && vectors.contains(self.vector) => {
                self.blocked = true
            }
            Event::FilterUpdated { vp, .. } if vp == self.vp => self.recomputed = true,
            _ => {}
        }
    }
    fn result(&mut self, _: usize, _: OpResult, model: &Partition, oracle: &Oracle) {
        let vp = self.vp as usize;
        self.rows.push(Row {
            entitled: self.entitled(oracle),
            admitted: self.admitted(model),
            latched: self.asserted && !self.blocked,
            recomputed: self.recomputed,
            op: self.op,
            admits: Rule::of(model.admitted_by(vp, self.vector)),
            entitles: Rule::of(oracle.entitled_by(vp, self.vector, self.strict)),
        });
    }
}

fn direction(entitled: bool, admitted: bool) -> Direction {
    match (entitled, admitted) {
        (false, true) => Direction::TooOpen,
        (true, false) => Direction::TooClosed,
        _ => Direction::Agree,
    }
}

fn divergence(
    source: Source<'_>,
    revision: Revision,
    invariants: InvariantSet,
    v: &Violation,
) -> Divergence {
    let mut track = Track {
        vp: v.vp,
        vector: v.vector.unwrap_or(0),
        strict: v.invariant.tier() == Tier::Strict,
        initial: None,
        asserted: false,
        blocked: false,
        recomputed: false,
        op: "initial",
        rows: Vec::new(),
    };
    source.run_policy_hooked(revision, revision.policy(), invariants, &mut track);
    let rows = &track.rows;
    let at = (v.step as usize).min(rows.len().saturating_sub(1));
    let agree = |step: usize| Divergence {
        step: Some(step as u16),
        vp: v.vp,
        vector: v.vector,
        direction: if v.vector.is_some() {
            Direction::Agree
        } else {
            Direction::NoVector
        },
        op: rows.get(step).map_or("initial", |r| r.op),
        recomputed: rows.get(step).is_some_and(|r| r.recomputed),
        cause: if v.vector.is_some() {
            Cause::Path(v.path.map_or("-", path_name))
        } else {
            Cause::Op
        },
    };
    if v.irr_loss {
        return Divergence {
            cause: Cause::IrrLoss,
            ..agree(at)
        };
    }
    if v.vector.is_none() || v.vtl != Vtl::Vtl0 || rows.is_empty() {
        return agree(at);
    }
    // The step that decided it: a lost interrupt's signal, a leaked vector's last latch.
    let decided = if v.invariant.class() == "lost" {
        v.origin.map_or(at, |o| (o as usize).min(at))
    } else if v.path.is_some_and(Path::is_proxy) {
        (0..=at).rev().find(|&s| rows[s].latched).unwrap_or(at)
    } else {
        at
    };
    let d = direction(rows[decided].entitled, rows[decided].admitted);
    if d == Direction::Agree {
        return agree(at);
    }
    let mut k = decided;
    while k > 0 && direction(rows[k - 1].entitled, rows[k - 1].admitted) == d {
        k -= 1;
    }
    let from_start = k == 0 && track.initial.is_some_and(|(e, a)| direction(e, a) == d);
    let recomputed = !from_start && rows[k].recomputed;
    Divergence {
        step: (!from_start).then_some(k as u16),
        vp: v.vp,
        vector: v.vector,
        direction: d,
        op: if from_start { "initial" } else { rows[k].op },
        recomputed,
        cause: match (recomputed, d) {
            (false, _) => Cause::Missed,
            (true, Direction::TooOpen) => Cause::Recompute(rows[k].admits),
            (true, _) => Cause::Recompute(rows[k].entitles),
        },
    }
}

fn reg_class(m: u32) -> usize {
    match m {
        msr::SINT0..=msr::SINT15 => 0,
        msr::SCONTROL => 1,
        msr::SVERSION => 2,
        msr::SIEFP | msr::SIMP => 3,
        msr::EOM => 4,
        _ => 5,
    }
}

/// The kind of an operation as signatures name it: the variant and, for register
/// accesses, the register class (`WrMsr.sint`, `SetVpRegister.scontrol`, `Retarget`).
/// No VP, VTL or value: those are the vehicle.
pub fn op_kind(op: &Op) -> &'static str {
    const WR: [&str; 6] = [
        "WrMsr.sint",
        "WrMsr.scontrol",
        "WrMsr.sversion",
        "WrMsr.page",
        "WrMsr.eom",
        "WrMsr.other",
    ];
    const RD: [&str; 6] = [
        "RdMsr.sint",
        "RdMsr.scontrol",
        "RdMsr.sversion",
        "RdMsr.page",
        "RdMsr.eom",
        "RdMsr.other",
    ];
    const SET: [&str; 6] = [
        "SetVpRegister.sint",
        "SetVpRegister.scontrol",
        "SetVpRegister.sversion",
        "SetVpRegister.page",
        "SetVpRegister.eom",
        "SetVpRegister.other",
    ];
    const UNTRUSTED: [&str; 6] = [
        "UntrustedWrMsr.sint",
        "UntrustedWrMsr.scontrol",
        "UntrustedWrMsr.sversion",
        "UntrustedWrMsr.page",
        "UntrustedWrMsr.eom",
        "UntrustedWrMsr.other",
    ];
    match *op {
        Op::WrMsr(o) => WR[reg_class(o.msr)],
        Op::RdMsr(o) => RD[reg_class(o.msr)],
        Op::SetVpRegister(o) => SET[reg::to_msr(o.name).map_or(5, reg_class)],
        Op::UntrustedWrMsr(o) => UNTRUSTED[reg_class(o.msr)],
        Op::Retarget(_) => "Retarget",
        Op::SetApic(_) => "SetApic",
        Op::GuestAck(_) => "GuestAck",
        Op::OpenChannel(_) => "OpenChannel",
        Op::CloseChannel(_) => "CloseChannel",
        Op::ModifyChannel(_) => "ModifyChannel",
        Op::ModifyConnection(_) => "ModifyConnection",
        Op::HostOffer(_) => "HostOffer",
        Op::HostSignalChannel(_) => "HostSignalChannel",
        Op::HostSignalSint(_) => "HostSignalSint",
        Op::HostDeviceInterrupt(_) => "HostDeviceInterrupt",
        Op::HostAssert(_) => "HostAssert",
        Op::RunVp(_) => "RunVp",
        Op::HostPostMessage(_) => "HostPostMessage",
    }
}
