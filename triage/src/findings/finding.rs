//! `sintfuzz report <id>`: the upstream bug report of a known finding, in Markdown. Built
//! from `triage/known.toml` (summary, upstream path, configuration) and by replaying the
//! finding's first regression file: its root-cause signature and divergence, and the
//! numbered trace of `sintfuzz explain`. The reports of every open finding are committed
//! under `triage/reports/` and a test checks they are what this writes.

use std::fmt::Write as _;
use std::path::Path;

use sintfuzz_model::Revision;
use sintfuzz_targets::files::read_input;
use sintfuzz_targets::known::KnownList;
use sintfuzz_targets::signature::{analyze, Fix};
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
    let file = k
        .regressions
        .first()
        .ok_or_else(|| format!("{id}: no regression file"))?;
    let target = Target::ALL
        .into_iter()
        .find(|t| file.contains(&format!("/{}/", t.name())))
        .ok_or_else(|| format!("{id}: cannot tell the target of {file}"))?;
    let data = read_input(&root.join(file))?;
    // The newest revision it reproduces on, under the smallest invariant set that shows it.
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
    let a = analyze(target, revision, invariants, &data).expect("reproduces");
    let settings = Settings {
        revision,
        invariants,
    };
    let (trace, _) = explain(target, &data, &settings);

    let mut s = String::new();
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
    let _ = writeln!(s, "## Where upstream\n");
    let _ = writeln!(
        s,
        "{}\n",
        k.upstream
            .as_deref()
            .unwrap_or("(not recorded in known.toml)")
    );
    let _ = writeln!(s, "## Configuration it needs\n");
    let _ = writeln!(
        s,
        "{}\n",
        k.config
            .as_deref()
            .unwrap_or("(not recorded in known.toml)")
    );
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
    let _ = writeln!(s, "## Minimal trace\n");
    let _ = writeln!(s, "```\n{}```\n", trace);
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
    Ok(s)
}
