//! Structure-aware minimization that keeps the bug (its root-cause signature, computed by
//! `sintfuzz_targets::signature`): delta debugging over
//! operations, then VPs and config, then simpler field values, then a final pass that
//! makes the result 1-minimal (removing any single operation loses the violation).

use sintfuzz_model::hvdef::Sint;
use sintfuzz_model::op::{
    GuestAck, HostAssert, HostDeviceInterrupt, HostSignalSint, ModifyChannel, OpenChannel, RdMsr,
    Retarget, RunVp, SetApic, SetVpRegister, UntrustedWrMsr, WrMsr,
};
use sintfuzz_model::{Config, Op, ProxyAssert, RetargetFlaws, VectorSet, Vtl};
use sintfuzz_targets::codec::{decode, encode};
use sintfuzz_targets::{
    run, signature, Invariant, Scenario, Settings, Signature, Target, Violation,
};

/// The result of a minimization.
#[derive(Clone, Debug)]
pub struct Minimized {
    pub scenario: Scenario,
    pub bytes: Vec<u8>,
    pub ops_before: usize,
    pub ops_after: usize,
    pub violation: Violation,
    /// The root-cause signature of the result: the input's, or the narrower one its
    /// separated coincident values have (`super::separate`); every later step kept it.
    pub signature: Signature,
    /// Oracle runs spent (signature replays not counted).
    pub runs: usize,
}

struct Search<'a> {
    target: Target,
    settings: &'a Settings,
    invariant: Invariant,
    signature: Signature,
    runs: usize,
}

impl Search<'_> {
    /// Whether `s` is still the same bug: a violation of the same invariant class with the
    /// same root-cause signature (through its canonical encoding, so the result is exactly
    /// what the file will replay).
    fn keeps(&mut self, s: &Scenario) -> bool {
        let Ok(bytes) = encode(self.target, s) else {
            return false;
        };
        self.runs += 1;
        let same_class = run(self.target, &bytes, self.settings)
            .violation()
            .is_some_and(|v| v.invariant.class() == self.invariant.class());
        same_class
            && signature(
                self.target,
                self.settings.revision,
                self.settings.invariants,
                &bytes,
            )
            .as_ref()
                == Some(&self.signature)
    }

    /// Zeller's ddmin over the operation list.
    fn ddmin(&mut self, s: &mut Scenario) {
        let mut n = 2;
        while s.ops.len() >= 2 {
            let len = s.ops.len();
            let chunk = len.div_ceil(n);
            let mut reduced = false;
            for start in (0..len).step_by(chunk) {
                let mut candidate = s.clone();
                candidate.ops.drain(start..(start + chunk).min(len));
                if self.keeps(&candidate) {
                    *s = candidate;
                    n = (n - 1).max(2);
                    reduced = true;
                    break;
                }
            }
            if !reduced {
                if n >= len {
                    break;
                }
                n = (n * 2).min(len);
            }
        }
    }

    /// Remove single operations until none can go.
    fn one_minimal(&mut self, s: &mut Scenario) {
        let mut i = 0;
        while i < s.ops.len() {
            let mut candidate = s.clone();
            candidate.ops.remove(i);
            if self.keeps(&candidate) {
                *s = candidate;
            } else {
                i += 1;
            }
        }
    }

    /// Fewer VPs (renumbered modulo the new count), then config flags back to defaults.
    fn shrink_config(&mut self, s: &mut Scenario) {
        for vps in 1..s.config.vp_count {
            let candidate = renumber(s, vps);
            if self.keeps(&candidate) {
                *s = candidate;
                break;
            }
        }
        let d = Config::default();
        let steps: [fn(&mut Config, &Config); 7] = [
            |c, d| c.isolation = d.isolation,
            |c, d| c.tdx_offload = d.tdx_offload,
            |c, d| c.vtl1_enabled = d.vtl1_enabled,
            |c, d| c.era = d.era,
            |c, d| c.vmbus_relay = d.vmbus_relay,
            |c, d| c.proxy_redirect = d.proxy_redirect,
            |c, d| c.guest_mirrors_sints = d.guest_mirrors_sints,
        ];
        for step in steps {
            let mut candidate = s.clone();
            step(&mut candidate.config, &d);
            if candidate != *s && self.keeps(&candidate) {
                *s = candidate;
            }
        }
    }

    /// Simpler values, operation by operation, to a fixed point (bounded).
    fn simplify_values(&mut self, s: &mut Scenario) {
        for _round in 0..4 {
            let mut changed = false;
            for i in 0..s.ops.len() {
                for simpler in simpler_ops(&s.ops[i]) {
                    if simpler == s.ops[i] {
                        continue;
                    }
                    let mut candidate = s.clone();
                    candidate.ops[i] = simpler;
                    if self.keeps(&candidate) {
                        *s = candidate;
                        changed = true;
                        break;
                    }
                }
            }
            if !changed {
                break;
            }
        }
    }
}

/// The VP an operation runs on, where it has one.
fn vp_mut(op: &mut Op) -> Option<&mut u8> {
    match op {
        Op::WrMsr(WrMsr { vp, .. })
        | Op::RdMsr(RdMsr { vp, .. })
        | Op::SetVpRegister(SetVpRegister { vp, .. })
        | Op::UntrustedWrMsr(UntrustedWrMsr { vp, .. })
        | Op::Retarget(Retarget { vp, .. })
        | Op::SetApic(SetApic { vp, .. })
        | Op::GuestAck(GuestAck { vp, .. })
        | Op::HostSignalSint(HostSignalSint { vp, .. })
        | Op::HostAssert(HostAssert { vp, .. })
        | Op::RunVp(RunVp { vp }) => Some(vp),
        _ => None,
    }
}

/// The register value an operation writes, where it writes one.
fn value_mut(op: &mut Op) -> Option<&mut u64> {
    match op {
        Op::WrMsr(WrMsr { value, .. })
        | Op::SetVpRegister(SetVpRegister { value, .. })
        | Op::UntrustedWrMsr(UntrustedWrMsr { value, .. }) => Some(value),
        _ => None,
    }
}

/// `op` with one edit applied.
fn edited(op: &Op, edit: impl FnOnce(&mut Op)) -> Op {
    let mut o = *op;
    edit(&mut o);
    o
}

fn renumber(s: &Scenario, vps: u8) -> Scenario {
    let ops = s
        .ops
        .iter()
        .map(|op| {
            edited(op, |op| {
                if let Some(v) = vp_mut(op) {
                    *v %= vps;
                }
                if let Op::OpenChannel(OpenChannel { target_vp, .. })
                | Op::ModifyChannel(ModifyChannel { target_vp, .. }) = op
                {
                    if *target_vp < 0xf0 {
                        *target_vp %= vps as u32;
                    }
                }
            })
        })
        .collect();
    Scenario {
        config: Config {
            vp_count: vps,
            ..s.config
        },
        ops,
    }
}

/// Candidate simplifications of one operation, simplest first.
fn simpler_ops(op: &Op) -> Vec<Op> {
    let mut out = Vec::new();
    simpler_shared_fields(op, &mut out);
    simpler_by_kind(op, &mut out);
    out
}

/// Simplifications of the fields many operations share: the register value, the VP.
fn simpler_shared_fields(op: &Op, out: &mut Vec<Op>) {
    let mut probe = *op;
    // Simpler register values (reserved bits, polling/auto-EOI, smaller vector).
    if let Some(value) = value_mut(&mut probe).map(|v| *v) {
        for v in simpler_sint_values(value) {
            out.push(edited(op, |o| *value_mut(o).expect("same variant") = v));
        }
    }
    // VP 0 (a register write to self keeps naming itself).
    if let Some(vp) = vp_mut(&mut probe).map(|v| *v).filter(|&v| v != 0) {
        out.push(edited(op, |o| {
            *vp_mut(o).expect("same variant") = 0;
            if let Op::SetVpRegister(SetVpRegister { vp_index, .. }) = o {
                if *vp_index == vp as u32 {
                    *vp_index = sintfuzz_model::hvdef::VP_INDEX_SELF;
                }
            }
        }));
    }
}

/// Simplifications of one kind's own fields.
fn simpler_by_kind(op: &Op, out: &mut Vec<Op>) {
    match *op {
        Op::WrMsr(WrMsr { vtl: Vtl::Vtl1, .. }) => {
            out.push(edited(op, |o| {
                if let Op::WrMsr(WrMsr { vtl, .. }) = o {
                    *vtl = Vtl::Vtl0
                }
            }));
        }
        Op::Retarget(ref r) => simpler_retargets(r, out),
        Op::OpenChannel(OpenChannel {
            slot,
            target_vp,
            event_flag,
        }) => {
            if event_flag != 1 {
                out.push(Op::OpenChannel(OpenChannel {
                    slot,
                    target_vp,
                    event_flag: 1,
                }));
            }
            if target_vp != 0 {
                out.push(Op::OpenChannel(OpenChannel {
                    slot,
                    target_vp: 0,
                    event_flag,
                }));
            }
        }
        Op::HostDeviceInterrupt(HostDeviceInterrupt { device, pick }) if pick != 0 => {
            out.push(Op::HostDeviceInterrupt(HostDeviceInterrupt {
                device,
                pick: 0,
            }));
        }
        Op::HostAssert(HostAssert { vp, assert }) => {
            let bits = match assert {
                ProxyAssert::Single(v) => VectorSet::single(v as u8),
                ProxyAssert::Multi(b) => b,
            };
            // One vector of the set, in the single-vector form.
            for v in bits.iter() {
                out.push(Op::HostAssert(HostAssert {
                    vp,
                    assert: ProxyAssert::Single(v as u32),
                }));
            }
        }
        Op::SetApic(SetApic {
            vp,
            vtl,
            hw_enabled,
            sw_enabled,
        }) if !(hw_enabled && sw_enabled) => {
            out.push(Op::SetApic(SetApic {
                vp,
                vtl,
                hw_enabled: true,
                sw_enabled: true,
            }));
        }
        _ => {}
    }
}

/// A retarget without flaws, of device 0, with a smaller vector, to one VP.
fn simpler_retargets(r: &Retarget, out: &mut Vec<Op>) {
    let Retarget {
        device,
        vector,
        targets,
        flaws,
        ..
    } = *r;
    let retarget = |device, vector, targets, flaws| {
        Op::Retarget(Retarget {
            device,
            vector,
            targets,
            flaws,
            ..*r
        })
    };
    if flaws != RetargetFlaws::default() {
        out.push(retarget(device, vector, targets, RetargetFlaws::default()));
    }
    if device != 0 {
        out.push(retarget(0, vector, targets, flaws));
    }
    for v in [0x30u32, 0x20, 0x10]
        .into_iter()
        .filter(|&c| c < vector.min(0xff))
    {
        out.push(retarget(device, v, targets, flaws));
    }
    // Fewer target VPs: each single one.
    if targets.count_ones() > 1 {
        for b in (0..8).filter(|b| targets & (1 << b) != 0) {
            out.push(retarget(device, vector, 1 << b, flaws));
        }
    }
}

/// A SINT value with reserved bits dropped, then with polling and auto-EOI dropped, then
/// with a smaller vector.
fn simpler_sint_values(value: u64) -> Vec<u64> {
    let s = Sint::from_bits(value);
    let known = Sint::MASKED | Sint::AUTO_EOI | Sint::POLLING | Sint::PROXY | 0xff;
    let mut out = vec![value & known, value & (Sint::MASKED | Sint::PROXY | 0xff)];
    for v in [0x30u64, 0x20, 0x10] {
        if v < s.vector() as u64 {
            out.push(value & !0xff | v);
        }
    }
    out.dedup();
    out.retain(|&v| v != value);
    out
}

/// Minimize `data` for `target` under `settings`, keeping its root-cause signature.
pub fn minimize(target: Target, data: &[u8], settings: &Settings) -> Result<Minimized, String> {
    let violation = run(target, data, settings)
        .violation()
        .ok_or("the input does not violate any enabled invariant: nothing to minimize")?;
    let sig = signature(target, settings.revision, settings.invariants, data)
        .ok_or("internal: no signature for a violation")?;
    let mut s = decode(target, data);
    let ops_before = s.ops.len();
    let mut search = Search {
        target,
        settings,
        invariant: violation.invariant,
        signature: sig,
        runs: 0,
    };
    // The decoded scenario re-encodes canonically; it must still violate.
    if !search.keeps(&s) {
        return Err("the canonical re-encoding does not reproduce the violation".into());
    }
    search.ddmin(&mut s);
    search.one_minimal(&mut s);
    search.shrink_config(&mut s);
    search.simplify_values(&mut s);
    search.one_minimal(&mut s);
    // One root cause: separate coincident values while the fix has alternatives
    // (`super::separate`), then minimize again under the narrower signature.
    let mut probes = 0;
    if let Some((separated, sig)) = super::separate::separate(
        target,
        settings,
        violation.invariant,
        &s,
        &search.signature,
        &mut probes,
    ) {
        s = separated;
        search.signature = sig;
        search.one_minimal(&mut s);
        search.shrink_config(&mut s);
        search.simplify_values(&mut s);
        search.one_minimal(&mut s);
    }
    search.runs += probes;
    let bytes = encode(target, &s).map_err(|e| e.to_string())?;
    let violation = run(target, &bytes, settings)
        .violation()
        .ok_or("internal: the minimized input lost its violation")?;
    Ok(Minimized {
        ops_after: s.ops.len(),
        scenario: s,
        bytes,
        ops_before,
        violation,
        signature: search.signature,
        runs: search.runs,
    })
}
