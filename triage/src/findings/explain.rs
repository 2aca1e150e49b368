//! `sintfuzz explain`: the root cause first (the step where the VP's filter and the guest's
//! entitlement parted, the policy choice that removes the violation, the known finding),
//! then the decoded scenario as a numbered trace with the model's events, the step where
//! the invariant broke, and there the guest's entitlement beside the VP's filter. Meant to
//! be pasted into an upstream bug report.

use sintfuzz_model::op::{
    CloseChannel, GuestAck, HostAssert, HostDeviceInterrupt, HostOffer, HostPostMessage,
    HostSignalChannel, HostSignalSint, ModifyChannel, ModifyConnection, OpenChannel, RdMsr,
    Retarget, RunVp, SetApic, SetVpRegister, UntrustedWrMsr, WrMsr,
};
use std::fmt::Write;

use sintfuzz_model::hvdef::{msr, reg, Sint};
use sintfuzz_model::Revision;
use sintfuzz_model::{Event, Op, OpResult, Partition, VectorSet, Vtl};
use sintfuzz_targets::codec::decode;
use sintfuzz_targets::known::KnownList;
use sintfuzz_targets::oracle::{path_name, Oracle};
use sintfuzz_targets::signature::{analyze, Analysis, Cause, Direction, Fix, Signature};
use sintfuzz_targets::trace::{init_tracing, TracingHook};
use sintfuzz_targets::{run_hooked, Outcome, Settings, StepHook, Target};

/// A SINT value with its vector and flags spelled out.
fn sint(v: u64) -> String {
    let s = Sint::from_bits(v);
    let mut t = format!("{v:#x} (vector {:#04x}", s.vector());
    for (on, name) in [
        (s.masked(), "masked"),
        (s.proxy(), "proxy"),
        (s.polling(), "polling"),
        (s.auto_eoi(), "auto-eoi"),
    ] {
        if on {
            t.push_str(", ");
            t.push_str(name);
        }
    }
    t.push(')');
    t
}

/// A synic MSR's name (`SINT3`, `SCONTROL`), else its number.
fn msr_name(m: u32) -> String {
    match m {
        msr::SINT0..=msr::SINT15 => format!("SINT{}", m - msr::SINT0),
        msr::SCONTROL => "SCONTROL".into(),
        msr::SVERSION => "SVERSION".into(),
        msr::SIEFP => "SIEFP".into(),
        msr::SIMP => "SIMP".into(),
        msr::EOM => "EOM".into(),
        m => format!("MSR {m:#x}"),
    }
}

/// A compact, readable form of one operation.
pub fn describe(op: &Op) -> String {
    match *op {
        Op::WrMsr(WrMsr { vp, vtl, msr, value }) if msr::sint_index(msr).is_some() => {
            format!("guest {vtl} vp{vp}: WRMSR {} = {}", msr_name(msr), sint(value))
        }
        Op::WrMsr(WrMsr { vp, vtl, msr, value }) => {
            format!("guest {vtl} vp{vp}: WRMSR {} = {value:#x}", msr_name(msr))
        }
        Op::RdMsr(RdMsr { vp, vtl, msr }) => format!("guest {vtl} vp{vp}: RDMSR {}", msr_name(msr)),
        Op::SetVpRegister(SetVpRegister {
            vp,
            caller_vtl,
            target_vtl,
            partition_self,
            vp_index,
            name,
            value,
        }) => format!(
            "guest {caller_vtl} vp{vp}: HvSetVpRegisters({target_vtl}, name {name:#x}, value {}){}{}",
            if (reg::SINT0..=reg::SINT15).contains(&name) { sint(value) } else { format!("{value:#x}") },
            if partition_self { "" } else { " [other partition]" },
            if vp_index == sintfuzz_model::hvdef::VP_INDEX_SELF { String::new() } else { format!(" [vp_index {vp_index:#x}]") },
        ),
        Op::UntrustedWrMsr(UntrustedWrMsr { vp, msr, value }) => format!(
            "guest vtl0 vp{vp}: untrusted (TDVMCALL/GHCB) WRMSR {} = {value:#x}",
            msr_name(msr)
        ),
        Op::Retarget(Retarget {
            vp,
            vtl,
            device,
            vector,
            targets,
            flaws,
        }) => format!(
            "guest {vtl} vp{vp}: HvRetargetDeviceInterrupt(device {device}, vector {vector:#x}, vps {targets:#010b}){}",
            if flaws.any() { format!(" {flaws:?}") } else { String::new() }
        ),
        Op::SetApic(SetApic {
            vp,
            vtl,
            hw_enabled,
            sw_enabled,
        }) => format!("guest {vtl} vp{vp}: APIC hw {hw_enabled} sw {sw_enabled}"),
        Op::GuestAck(GuestAck { vp, vtl }) => format!("guest {vtl} vp{vp}: services pending interrupts"),
        Op::OpenChannel(OpenChannel {
            slot,
            target_vp,
            event_flag,
        }) => format!(
            "guest: OpenChannel(offer {slot}, target_vp {}, event_flag {event_flag})",
            if target_vp == u32::MAX { "none".to_string() } else { target_vp.to_string() }
        ),
        Op::CloseChannel(CloseChannel { slot }) => format!("guest: CloseChannel(offer {slot})"),
        Op::ModifyChannel(ModifyChannel { slot, target_vp }) => {
            format!("guest: ModifyChannel(offer {slot}, target_vp {target_vp:#x})")
        }
        Op::ModifyConnection(ModifyConnection { use_interrupt_page }) => {
            format!("guest: ModifyConnection(interrupt page {use_interrupt_page})")
        }
        Op::HostOffer(HostOffer { slot }) => format!("host: offers channel {slot}"),
        Op::HostSignalChannel(HostSignalChannel { slot }) => format!("host: signals channel {slot}"),
        Op::HostSignalSint(HostSignalSint { vp, sint }) => format!("host: signals vtl0 SINT{sint} on vp{vp}"),
        Op::HostDeviceInterrupt(HostDeviceInterrupt { device, pick }) => {
            format!("host: device {device} interrupt (target pick {pick})")
        }
        Op::HostAssert(HostAssert { vp, assert }) => format!("host (malicious): proxy interrupt on vp{vp}: {assert:?}"),
        Op::RunVp(RunVp { vp }) => format!("vp{vp} runs"),
        Op::HostPostMessage(HostPostMessage { vp, sint }) => {
            format!("host: VMBus message to VTL0 SINT{sint} of vp{vp}")
        }
    }
}

fn describe_event(e: &Event) -> String {
    match *e {
        Event::Delivered {
            vp,
            vtl,
            vector,
            path,
            coalesced,
        } => format!(
            "delivered {vector:#04x} to {vtl} vp{vp} via {}{}",
            path_name(path),
            if coalesced { " (already pending)" } else { "" }
        ),
        Event::Dropped {
            vp,
            vtl,
            vector,
            reason,
            path,
        } => format!(
            "dropped {vector:#04x} for {vtl} vp{vp}: {reason:?}{}",
            path.map_or(String::new(), |p| format!(
                " (on the {} path)",
                path_name(p)
            ))
        ),
        Event::ProxyAsserted { vp, bits } => format!("proxy interrupt on vp{vp}: {bits}"),
        Event::Blocked { vp, vectors } => format!("dropped {vectors} for vtl0 vp{vp}: Blocked"),
        Event::FilterUpdated { vp, blocked, cause } => format!(
            "vp{vp} filter recomputed ({cause:?}): admits {}",
            blocked.complement()
        ),
        Event::WakeQueued { vp, vtl } => {
            format!("UPDATE_PROXY_IRR_FILTER wake queued on vp{vp} ({vtl})")
        }
        Event::Vtl2Assert { vp, vtl, site } => {
            format!("VTL2 PANIC on vp{vp} ({vtl}, {site:?}): {}", site.what())
        }
    }
}

struct Explainer {
    out: String,
    /// The entitlement and filter of every VP after the last step.
    snapshot: Vec<(VectorSet, VectorSet, VectorSet)>,
}

impl StepHook for Explainer {
    fn op(&mut self, step: usize, op: &Op, _: &Partition) {
        let _ = writeln!(self.out, "{step:4}  {}", describe(op));
    }
    fn event(&mut self, e: &Event) {
        // A blocked set reads as one drop per vector, as it always has.
        if let Event::Blocked { .. } = e {
            for (vp, vtl, vector, reason, path) in e.drops() {
                let one = Event::Dropped {
                    vp,
                    vtl,
                    vector,
                    reason,
                    path,
                };
                let _ = writeln!(self.out, "        . {}", describe_event(&one));
            }
            return;
        }
        let _ = writeln!(self.out, "        . {}", describe_event(e));
    }
    fn result(&mut self, _: usize, r: OpResult, model: &Partition, oracle: &Oracle) {
        if r != OpResult::Done {
            let _ = writeln!(self.out, "        -> {r:?}");
        }
        self.snapshot = (0..model.config.vps())
            .map(|vp| {
                (
                    oracle.entitlement(vp),
                    oracle.strict_entitlement(vp),
                    model.vps[vp].run.proxy_irr_blocked.complement(),
                )
            })
            .collect();
    }
}

/// The root cause first: where the filter and the guest's entitlement parted, which
/// policy choice removes the violation, and the known finding it is.
fn root_cause(out: &mut String, a: &Analysis, ops: &[Op], revision: Revision) {
    let d = &a.divergence;
    let known = KnownList::embedded()
        .label(&a.signature, a.violation.invariant)
        .line();
    let _ = writeln!(out, "root cause: {} ({known})", a.signature);
    let what = |step: Option<u16>| match step.and_then(|s| ops.get(s as usize).map(|o| (s, o))) {
        Some((s, op)) => format!("step {s}: {}", describe(op)),
        None => "the start (before any operation)".to_string(),
    };
    match (d.direction, d.vector) {
        (Direction::TooOpen | Direction::TooClosed, Some(vec)) => {
            let began = if d.direction == Direction::TooOpen {
                "admitting"
            } else {
                "blocking"
            };
            let entitled = if d.direction == Direction::TooOpen {
                "does not entitle it"
            } else {
                "entitles it"
            };
            let recompute = if d.step.is_none() {
                ""
            } else if d.recomputed {
                ", which recomputed the filter"
            } else {
                ", which did not recompute the filter"
            };
            let _ = writeln!(
                out,
                "divergence: vp{}'s filter began {began} {vec:#04x} at {}{recompute}; the guest {entitled} (filter {})",
                d.vp,
                what(d.step),
                d.direction.name()
            );
        }
        _ => {
            let _ = writeln!(
                out,
                "divergence: none (filter and entitlement agree for this violation); it happened at {}",
                what(d.step)
            );
        }
    }
    let fix = match &a.signature.fix {
        Fix::Choices(_) => format!(
            "proposed's `{}` applied to {revision} alone removes it (`|` separates alternatives)",
            a.signature.fix,
        ),
        Fix::Proposed => "only all of proposed's choices together remove it".to_string(),
        Fix::Unfixed => "no policy choice of proposed removes it".to_string(),
    };
    let _ = writeln!(out, "fix: {fix}");
    if let Some(cause) = grouping_cause(&a.signature) {
        let _ = writeln!(out, "grouped by: {cause}");
    }
}

/// For a violation no single choice of proposed removes (a new defect), what its bucket
/// is keyed on instead of the operation (targets/src/signature.rs, `Cause`), in words.
fn grouping_cause(sig: &Signature) -> Option<String> {
    Some(match sig.cause {
        Cause::Op => return None,
        Cause::Recompute(r) => format!(
            "the filter decision: a recompute that got this vector wrong (rule: {}), whichever operation recomputed",
            r.name()
        ),
        Cause::Missed => format!(
            "the operation that changed the entitlement without recomputing the filter: {}",
            sig.op
        ),
        Cause::Path(p) => format!(
            "the delivery path ({p}): the filter agreed with the entitlement where the violation was decided"
        ),
        Cause::IrrLoss => "the guest's VTL0 IRR: the vector reached it and left it without the guest's ack, after every filter decision and on any path".to_string(),
    })
}

/// The whole explanation as text. With `SINTFUZZ_LOG` set, the model's tracing events go
/// to stderr as well.
pub fn explain(target: Target, data: &[u8], settings: &Settings) -> (String, Outcome) {
    let s = decode(target, data);
    let mut out = String::new();
    let c = s.config;
    let _ = writeln!(
        out,
        "target {target}, revision {}, invariants {}",
        settings.revision, settings.invariants
    );
    let _ = writeln!(
        out,
        "config: {} VP(s), {:?}, vmbus relay {}, TDX offload {}, VTL1 {}, VMBus {:?}, proxy redirection {}, guest mirrors SINTs to the host {}",
        c.vps(),
        c.isolation,
        if c.vmbus_relay { "on" } else { "off" },
        c.kernel_offload(),
        if c.vtl1_enabled {
            "enabled"
        } else {
            "disabled"
        },
        c.era,
        if c.proxy_redirect { "on" } else { "off" },
        if c.guest_mirrors_sints { "yes" } else { "no" },
    );
    if let Some(a) = analyze(target, settings.revision, settings.invariants, data) {
        root_cause(&mut out, &a, &s.ops, settings.revision);
    }
    let _ = writeln!(out, "{} operation(s):", s.ops.len());
    if init_tracing() {
        run_hooked(target, data, settings, &mut TracingHook);
    }
    let mut ex = Explainer {
        out,
        snapshot: Vec::new(),
    };
    let outcome = run_hooked(target, data, settings, &mut ex);
    let mut out = ex.out;
    match outcome {
        Outcome::Clean => {
            let _ = writeln!(out, "\nclean: no enabled invariant broke");
        }
        Outcome::Violation(v) => {
            let _ = writeln!(out, "\n{v}");
            let _ = writeln!(out, "\nat step {}, VP {} ({}):", v.step, v.vp, v.vtl);
            if let Some(&(entitled, strict, admits)) = ex.snapshot.get(v.vp as usize) {
                let _ = writeln!(out, "  guest entitlement (default) : {entitled}");
                let _ = writeln!(out, "  guest entitlement (strict)  : {strict}");
                let _ = writeln!(out, "  VP filter admits            : {admits}");
                if let Some(vec) = v.vector {
                    let _ = writeln!(
                        out,
                        "  vector {vec:#04x}: entitled {}, admitted by filter {}",
                        if entitled.contains(vec) { "yes" } else { "no" },
                        if admits.contains(vec) { "yes" } else { "no" }
                    );
                }
            }
            if v.vtl != Vtl::Vtl0 {
                let _ = writeln!(
                    out,
                    "  ({} reached update_proxy_irr_filter, which asserts VTL0)",
                    v.vtl
                );
            }
        }
    }
    (out, outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sintfuzz_targets::signature::Rule;

    fn unfixed(cause: Cause) -> Signature {
        Signature {
            class: "lost",
            fix: Fix::Unfixed,
            direction: Direction::TooClosed,
            op: "WrMsr.sint",
            cause,
        }
    }

    /// A new defect's bucket says in words what it is keyed on; a known fix's does not.
    #[test]
    fn the_grouping_cause_of_a_new_defect_is_spelled_out() {
        assert_eq!(grouping_cause(&unfixed(Cause::Op)), None);
        let missed = grouping_cause(&unfixed(Cause::Missed)).unwrap();
        assert!(missed.contains("without recomputing") && missed.contains("WrMsr.sint"));
        let rule = grouping_cause(&unfixed(Cause::Recompute(Rule::Device))).unwrap();
        assert!(rule.contains("(rule: device)"), "{rule}");
        let path = grouping_cause(&unfixed(Cause::Path("proxy"))).unwrap();
        assert!(path.contains("delivery path (proxy)"), "{path}");
    }
}
