//! One root cause per crash (issue 20): when a violation's fix has several alternatives
//! (`a|b` in its signature), each of which alone removes it, the witness often uses one
//! value for two roles: a vector that both a SINT and a device route carry, one VP or
//! one SINT written by two paths. Each role is then a root cause of its own and the fix of
//! either hides the other. Separating the coincident values, one edit at a time, keeps the
//! edit when the same invariant is still violated and the fix has fewer alternatives, all
//! of them among the old ones. What remains is one root cause, or, where no separation
//! keeps the violation, a stacked one (`KnownList::label`).

use sintfuzz_model::hvdef::{msr, reg, Sint, NUM_SINTS};
use sintfuzz_model::op::{HostSignalSint, Retarget, SetVpRegister, UntrustedWrMsr, WrMsr};
use sintfuzz_model::{Op, MAX_VPS};
use sintfuzz_targets::codec::encode;
use sintfuzz_targets::signature::{analyze, Fix};
use sintfuzz_targets::{run, Invariant, Scenario, Settings, Signature, Target};

/// At most this many accepted separations (each removes at least one alternative).
const MAX_ROUNDS: usize = 8;

/// The alternatives of a fix, when it has some.
fn alternatives(sig: &Signature) -> &[u16] {
    match &sig.fix {
        Fix::Choices(alts) => alts,
        _ => &[],
    }
}

/// Separate `s`'s coincident values while the violation of `invariant` stays and the
/// fix narrows (`sig` is `s`'s signature). Returns the separated scenario and its
/// signature, or `None` when no edit narrowed the fix. `probes` counts the replays.
pub fn separate(
    target: Target,
    settings: &Settings,
    invariant: Invariant,
    s: &Scenario,
    sig: &Signature,
    probes: &mut usize,
) -> Option<(Scenario, Signature)> {
    let mut cur = (s.clone(), sig.clone());
    let mut changed = false;
    for _ in 0..MAX_ROUNDS {
        if alternatives(&cur.1).len() < 2 {
            break;
        }
        let next = candidates(&cur.0).into_iter().find_map(|c| {
            *probes += 1;
            narrower(target, settings, invariant, &c, &cur.1).map(|sig| (c, sig))
        });
        match next {
            Some(n) => {
                cur = n;
                changed = true;
            }
            None => break,
        }
    }
    changed.then_some(cur)
}

/// `c`'s signature, when `c` still violates `invariant` and its fix is a strict subset of
/// `old`'s alternatives.
fn narrower(
    target: Target,
    settings: &Settings,
    invariant: Invariant,
    c: &Scenario,
    old: &Signature,
) -> Option<Signature> {
    let bytes = encode(target, c).ok()?;
    let v = run(target, &bytes, settings).violation()?;
    if v.invariant != invariant {
        return None;
    }
    let a = analyze(target, settings.revision, settings.invariants, &bytes)?;
    let (new, was) = (alternatives(&a.signature), alternatives(old));
    let narrows = !new.is_empty() && new.len() < was.len() && new.iter().all(|n| was.contains(n));
    (narrows && a.signature.class == old.class).then_some(a.signature)
}

/// The vector a SINT value or a retarget carries, for the ops that carry one.
fn vector_of(op: &Op) -> Option<u8> {
    match *op {
        Op::WrMsr(WrMsr { msr: n, value, .. })
        | Op::UntrustedWrMsr(UntrustedWrMsr { msr: n, value, .. })
            if msr::sint_index(n).is_some() =>
        {
            Some(Sint::from_bits(value).vector())
        }
        Op::SetVpRegister(SetVpRegister { name, value, .. })
            if (reg::SINT0..=reg::SINT15).contains(&name) =>
        {
            Some(Sint::from_bits(value).vector())
        }
        Op::Retarget(Retarget { vector, .. }) if vector <= 0xff => Some(vector as u8),
        _ => None,
    }
}

fn with_vector(op: &Op, w: u8) -> Op {
    let mut o = *op;
    match &mut o {
        Op::WrMsr(WrMsr { value, .. })
        | Op::UntrustedWrMsr(UntrustedWrMsr { value, .. })
        | Op::SetVpRegister(SetVpRegister { value, .. }) => *value = *value & !0xff | w as u64,
        Op::Retarget(Retarget { vector, .. }) => *vector = w as u32,
        _ => {}
    }
    o
}

/// The SINT index a register write or a host SINT signal names.
fn sint_of(op: &Op) -> Option<u8> {
    match *op {
        Op::WrMsr(WrMsr { msr: n, .. }) | Op::UntrustedWrMsr(UntrustedWrMsr { msr: n, .. }) => {
            msr::sint_index(n)
        }
        Op::SetVpRegister(SetVpRegister { name, .. })
            if (reg::SINT0..=reg::SINT15).contains(&name) =>
        {
            Some((name - reg::SINT0) as u8)
        }
        Op::HostSignalSint(HostSignalSint { sint, .. }) => Some(sint),
        _ => None,
    }
}

fn with_sint(op: &Op, m: u8) -> Op {
    let mut o = *op;
    match &mut o {
        Op::WrMsr(WrMsr { msr: n, .. }) | Op::UntrustedWrMsr(UntrustedWrMsr { msr: n, .. }) => {
            *n = msr::SINT0 + m as u32
        }
        Op::SetVpRegister(SetVpRegister { name, .. }) => *name = reg::SINT0 + m as u32,
        Op::HostSignalSint(HostSignalSint { sint, .. }) => *sint = m,
        _ => {}
    }
    o
}

/// The VP a guest register write runs on (the ops whose role a VP can separate).
fn vp_of(op: &Op) -> Option<u8> {
    match *op {
        Op::WrMsr(WrMsr { vp, .. })
        | Op::SetVpRegister(SetVpRegister { vp, .. })
        | Op::UntrustedWrMsr(UntrustedWrMsr { vp, .. }) => Some(vp),
        _ => None,
    }
}

fn with_vp(op: &Op, w: u8) -> Op {
    let mut o = *op;
    match &mut o {
        Op::WrMsr(WrMsr { vp, .. }) | Op::UntrustedWrMsr(UntrustedWrMsr { vp, .. }) => *vp = w,
        Op::SetVpRegister(SetVpRegister { vp, vp_index, .. }) => {
            if *vp_index == *vp as u32 {
                *vp_index = w as u32;
            }
            *vp = w
        }
        _ => {}
    }
    o
}

/// Single edits that give one use of a shared value a value of its own: a vector used by
/// two operations (a SINT and a device route, or two SINT paths), a SINT index written by
/// two paths, a VP two register writes run on (moved to a fresh VP).
fn candidates(s: &Scenario) -> Vec<Scenario> {
    let mut out = Vec::new();
    let used_vectors: Vec<u8> = s.ops.iter().filter_map(vector_of).collect();
    let fresh_vector = (0x80..=0xfeu8).find(|v| !used_vectors.contains(v));
    let used_sints: Vec<u8> = s.ops.iter().filter_map(sint_of).collect();
    let fresh_sint = (3..NUM_SINTS as u8)
        .chain([0, 1])
        .find(|n| !used_sints.contains(n));
    let mut push = |i: usize, op: Op| {
        if op != s.ops[i] {
            let mut c = s.clone();
            c.ops[i] = op;
            out.push(c);
        }
    };
    for (i, op) in s.ops.iter().enumerate() {
        if let (Some(v), Some(w)) = (vector_of(op), fresh_vector) {
            if used_vectors.iter().filter(|&&u| u == v).count() > 1 {
                push(i, with_vector(op, w));
            }
        }
        if let (Some(n), Some(m)) = (sint_of(op), fresh_sint) {
            if used_sints.iter().filter(|&&u| u == n).count() > 1 {
                push(i, with_sint(op, m));
            }
        }
    }
    // A register write moved to a fresh VP (one more VP in the config).
    if s.config.vps() < MAX_VPS {
        let fresh = s.config.vps() as u8;
        for (i, op) in s.ops.iter().enumerate() {
            if vp_of(op).is_some() {
                let mut c = s.clone();
                c.config.vp_count = fresh + 1;
                c.ops[i] = with_vp(op, fresh);
                out.push(c);
            }
        }
    }
    out
}
