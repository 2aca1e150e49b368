//! `sintfuzz report <id>`: the upstream bug report of a known finding, in Markdown. Built
//! from `triage/known.toml` (summary, upstream path, configuration) and by replaying the
//! finding's first regression file: its root-cause signature and divergence, and the
//! numbered trace of `sintfuzz explain`. The reports of every open finding are committed
//! under `triage/reports/` and a test checks they are what this writes.

use std::fmt::Write as _;
use std::path::Path;

use sintfuzz_model::Revision;
use sintfuzz_targets::files::read_input;
use sintfuzz_targets::known::{Known, KnownList};
use sintfuzz_targets::signature::{analyze, Analysis, Fix};
use sintfuzz_targets::{InvariantSet, Settings, Target};

use crate::findings::explain::explain;

/// Where the generated reports live.
pub const REPORTS_DIR: &str = "triage/reports";

/// The report's file name for a finding id (`SF-001.md`, `openvmm-1162.md`).
pub fn file_name(id: &str) -> String {
    format!("{}.md", id.replace('#', "-"))
}

/// The Markdown report of finding `id`, replayed under `root`.
pub fn report(root: &Path, known: &KnownList, id: &str) -> Result<String, String> {
    let k = known
        .by_id(id)
        .ok_or_else(|| format!("no known finding '{id}' in triage/known.toml"))?;
    let w = Witness::of(root, k)?;
    let a = analyze(w.target, w.revision, w.invariants, &w.data).expect("reproduces");
    let settings = Settings {
        revision: w.revision,
        invariants: w.invariants,
    };
    let (trace, _) = explain(w.target, &w.data, &settings);
    let mut s = String::new();
    write_about(&mut s, k);
    write_root_cause(&mut s, &a, w.revision);
    let _ = writeln!(s, "## Minimal trace\n");
    let _ = writeln!(s, "```\n{}```\n", trace);
    write_reproduce(&mut s, k, &w);
    Ok(s)
}

/// The finding's first regression file, and where it shows.
struct Witness<'a> {
    file: &'a str,
    target: Target,
    data: Vec<u8>,
    /// The newest revision it reproduces on.
    revision: Revision,
    /// The smallest invariant set that shows it there.
    invariants: InvariantSet,
}

impl<'a> Witness<'a> {
    fn of(root: &Path, k: &'a Known) -> Result<Self, String> {
        let id = &k.id;
        let file = k
            .regressions
            .first()
            .ok_or_else(|| format!("{id}: no regression file"))?;
        let target = Target::ALL
            .into_iter()
            .find(|t| file.contains(&format!("/{}/", t.name())))
            .ok_or_else(|| format!("{id}: cannot tell the target of {file}"))?;
        let data = read_input(&root.join(file))?;
        let revision: Revision = k
            .revisions
            .iter()
            .filter_map(|r| r.parse().ok())
            .max()
            .ok_or_else(|| format!("{id}: no revision"))?;
        let invariants = [InvariantSet::default_set(), InvariantSet::strict()]
            .into_iter()
            .find(|&i| analyze(target, revision, i, &data).is_some())
            .ok_or_else(|| format!("{id}: {file} does not reproduce on {revision}"))?;
        Ok(Witness {
            file,
            target,
            data,
            revision,
            invariants,
        })
    }
}

/// Title, status, summary, where upstream and the configuration it needs, from
/// `known.toml`.
fn write_about(s: &mut String, k: &Known) {
    let _ = writeln!(s, "# {}: {}\n", k.id, k.title);
    let _ = writeln!(
        s,
        "Status: **{}**. Reproduces on: {}. Found and checked by sintfuzz's model of OpenHCL's proxy-interrupt filter (openvmm `1488a37b7`).\n",
        k.status,
        k.revisions.join(", ")
    );
    let _ = writeln!(s, "## Summary and impact\n");
    let _ = writeln!(
        s,
        "{}\n",
        if k.summary.is_empty() {
            &k.title
        } else {
            &k.summary
        }
    );
    let not_recorded = "(not recorded in known.toml)";
    let _ = writeln!(s, "## Where upstream\n");
    let _ = writeln!(s, "{}\n", k.upstream.as_deref().unwrap_or(not_recorded));
    let _ = writeln!(s, "## Configuration it needs\n");
    let _ = writeln!(s, "{}\n", k.config.as_deref().unwrap_or(not_recorded));
}

/// The signature, the fix it names, and where the filter and the entitlement part.
fn write_root_cause(s: &mut String, a: &Analysis, revision: Revision) {
    let _ = writeln!(s, "## Root cause and the change that removes it\n");
    let _ = writeln!(s, "Signature: `{}`.\n", a.signature);
    let fix = match &a.signature.fix {
        Fix::Choices(_) => format!(
            "Applying sintfuzz's proposed `{}` to {revision} alone removes the violation (`|` separates alternatives, `+` joins a pair); see `Policy` in `model/src/revision.rs`.",
            a.signature.fix
        ),
        Fix::Proposed => "Only all of sintfuzz's proposed policy choices together remove it.".into(),
        Fix::Unfixed => "No policy choice of sintfuzz's proposal removes it.".into(),
    };
    let _ = writeln!(s, "{fix}\n");
    let d = &a.divergence;
    match (d.step, d.vector) {
        (Some(step), Some(v)) if d.direction.name() != "agree" => {
            let _ = writeln!(
                s,
                "The VP's filter and the guest's entitlement for vector {v:#04x} part at step {step} ({}, filter {}) and stay apart until the violation at step {}.\n",
                d.op,
                d.direction.name(),
                a.violation.step
            );
        }
        _ => {
            let _ = writeln!(
                s,
                "The violation happens at step {} ({}).\n",
                a.violation.step, d.op
            );
        }
    }
}

/// The witness files and the commands that replay the first.
fn write_reproduce(s: &mut String, k: &Known, w: &Witness) {
    let Witness {
        file,
        target,
        revision,
        invariants,
        ..
    } = w;
    let _ = writeln!(s, "## Reproduce\n");
    let _ = writeln!(
        s,
        "Witness: [`{file}`](../../{file}) ({} file(s) in all: {}).\n",
        k.regressions.len(),
        k.regressions
            .iter()
            .map(|r| format!("`{r}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        s,
        "```\nsintfuzz repro --target {target} --revision {revision} --invariants {invariants} {file}\nsintfuzz explain --target {target} --revision {revision} --invariants {invariants} {file}\n```"
    );
}
