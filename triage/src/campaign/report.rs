//! The campaign report: `report.json` (everything, samples included), `report.md` (for
//! people) and one SVG plot per engine run (`plots/`, drawn with `plotters`) embedded in
//! it.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::campaign::store::utc;
use crate::engine::runner::{RunStats, Sample};
use crate::findings::bucket::Bucket;
use crate::findings::triage::ModelPanic;
use crate::Fail;

#[derive(Clone, Debug, Serialize)]
pub struct Header {
    /// Unix seconds.
    pub started: u64,
    pub revision: String,
    pub invariants: String,
    pub engine: String,
    pub budget_seconds: u64,
    pub jobs: u32,
    /// Engines ran at once on one shared corpus.
    pub side_by_side: bool,
    pub interrupted: bool,
    pub notes: Vec<String>,
}

/// The persistent corpus of one target over this run.
#[derive(Clone, Debug, Serialize)]
pub struct CorpusReport {
    pub target: String,
    /// Files kept from earlier runs.
    pub resumed: usize,
    /// Seeds from `corpus/<target>/` not in it yet.
    pub seeds_added: usize,
    /// Files that violate under this run's settings, moved to the crashes.
    pub moved_to_crashes: usize,
    /// Size when the engines started, and at the end.
    pub start: usize,
    pub end: usize,
    /// After the end-of-run minimization (libFuzzer merge), when it ran.
    pub minimized: Option<usize>,
    /// What the final corpus makes the model and the oracle do.
    pub semantic: crate::campaign::semantic::Semantic,
}

#[derive(Clone, Debug, Serialize)]
pub struct BucketReport {
    #[serde(flatten)]
    pub bucket: Bucket,
    pub status: &'static str,
    pub minimized_file: String,
    pub explain: String,
    /// From the output directory's history (unix seconds; count of crash files, runs).
    pub first_seen: u64,
    pub last_seen: u64,
    pub count: u64,
    pub runs: u64,
    /// Not seen by any earlier run in this output directory.
    pub new_since_previous: bool,
    /// Seconds from the campaign start to its first crash file in this run, and who found it.
    pub first_found_seconds: Option<f64>,
    pub first_found_by: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PanicReport {
    #[serde(flatten)]
    pub panic: ModelPanic,
    pub first_seen: u64,
    pub count: u64,
    pub new_since_previous: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub header: Header,
    pub previous_run: Option<u64>,
    pub corpora: Vec<CorpusReport>,
    pub runs: Vec<RunStats>,
    pub samples: Vec<Sample>,
    pub buckets: Vec<BucketReport>,
    pub model_panics: Vec<PanicReport>,
    pub failures: Vec<String>,
    pub clean_crash_files: usize,
    pub unreadable_crash_files: usize,
    pub exit_code: u8,
}

pub fn write(out: &Path, r: &Report) -> Result<(), Fail> {
    let err = |p: &Path, e: &dyn std::fmt::Display| Fail::Usage(format!("{}: {e}", p.display()));
    let json = serde_json::to_string_pretty(r).expect("serializable");
    let p = out.join("report.json");
    std::fs::write(&p, json).map_err(|e| err(&p, &e))?;
    let plots = out.join("plots");
    let _ = std::fs::remove_dir_all(&plots);
    std::fs::create_dir_all(&plots).map_err(|e| err(&plots, &e))?;
    let mut files = Vec::new();
    for run in &r.runs {
        let name = format!("{}-{}.svg", run.engine, run.target);
        let path = plots.join(&name);
        match crate::campaign::plot::run_plot(&path, run, &r.samples) {
            Ok(true) => files.push((run.engine.clone(), run.target.clone(), name)),
            Ok(false) => {}
            Err(e) => eprintln!("sintfuzz: {}: no plot: {e}", path.display()),
        }
    }
    let md = markdown(r, &files);
    let p = out.join("report.md");
    std::fs::write(&p, md).map_err(|e| err(&p, &e))
}

fn markdown(r: &Report, plots: &[(String, String, String)]) -> String {
    let mut s = String::new();
    md_header(&mut s, r);
    md_corpus(&mut s, r);
    md_runs(&mut s, r, plots);
    md_semantic(&mut s, r);
    md_buckets(&mut s, r);
    let _ = writeln!(
        s,
        "{} crash file(s) replayed clean, {} unreadable. Exit code {}.",
        r.clean_crash_files, r.unreadable_crash_files, r.exit_code
    );
    s
}

/// The title, the settings, the previous run, notes and engine failures.
fn md_header(s: &mut String, r: &Report) {
    let h = &r.header;
    let _ = writeln!(s, "# sintfuzz campaign\n");
    let _ = writeln!(
        s,
        "Started {}. Revision `{}`, invariants `{}`, engine `{}`{}, budget {} s, jobs {}.{}\n",
        utc(h.started),
        h.revision,
        h.invariants,
        h.engine,
        if h.side_by_side {
            " (side by side on one shared corpus)"
        } else {
            ""
        },
        h.budget_seconds,
        h.jobs,
        if h.interrupted { " Interrupted." } else { "" }
    );
    let _ = writeln!(
        s,
        "{}\n",
        r.previous_run
            .map_or("First run in this output directory.".to_string(), |p| {
                format!("Previous run in this output directory: {}.", utc(p))
            })
    );
    for n in &h.notes {
        let _ = writeln!(s, "Note: {n}.\n");
    }
    if !r.failures.is_empty() {
        let _ = writeln!(s, "## Engine failures (exit code 2)\n");
        for f in &r.failures {
            let _ = writeln!(s, "- {f}");
        }
        let _ = writeln!(s);
    }
}

/// The corpus table: resumed, seeded, moved, at start and end, after cmin.
fn md_corpus(s: &mut String, r: &Report) {
    let _ = writeln!(s, "## Corpus\n");
    let _ = writeln!(
        s,
        "| target | resumed from earlier runs | seeds added | moved to crashes | at start | at end | after cmin |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
    for c in &r.corpora {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            c.target,
            c.resumed,
            c.seeds_added,
            c.moved_to_crashes,
            c.start,
            c.end,
            c.minimized.map_or("-".into(), |m| m.to_string())
        );
    }
}

/// The runs table, what its columns mean, and the plots.
fn md_runs(s: &mut String, r: &Report, plots: &[(String, String, String)]) {
    let _ = writeln!(s, "\n## Runs\n");
    let _ = writeln!(
        s,
        "| engine | target | jobs | from s | seconds | rounds | execs | exec/s | coverage | crash files | exported | imported | exit |"
    );
    let _ = writeln!(
        s,
        "|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|"
    );
    for run in &r.runs {
        let exit = match &run.failure {
            Some(f) => format!("FAILED: {f}"),
            None if run.interrupted => "interrupted".into(),
            None => "ok".into(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.0} | {:.0} | {} | {} | {:.0} | {} | {} | {} | {} | {} |",
            run.engine,
            run.target,
            run.jobs,
            run.began,
            run.seconds,
            run.rounds,
            run.execs,
            run.exec_per_sec,
            run.coverage.as_deref().unwrap_or("-"),
            run.crash_files,
            run.exported,
            run.imported,
            exit.replace('|', "/")
        );
    }
    let _ = writeln!(
        s,
        "\n*exported*: the engine's own finds copied into the shared corpus (AFL++ keeps them \
         in its queue); libFuzzer and honggfuzz write into it directly. *imported*: inputs \
         from the shared corpus the engine took while running and that added coverage \
         (libFuzzer `RELOAD` lines, AFL++ `sync:` queue entries); honggfuzz reads the corpus \
         when it (re)starts. Coverage counts are each engine's own and not comparable \
         across engines. {} samples in `report.json`.\n",
        r.samples.len()
    );
    for (engine, target, file) in plots {
        let _ = writeln!(s, "![{engine} {target}](plots/{file})\n");
    }
}

/// Each final corpus's semantic coverage.
fn md_semantic(s: &mut String, r: &Report) {
    let _ = writeln!(s, "## Semantic coverage\n");
    for c in &r.corpora {
        let _ = writeln!(
            s,
            "{}",
            c.semantic
                .markdown(&format!("`{}`, the final corpus", c.target))
        );
    }
}

/// Every model panic and every bucket, with its history and explanation.
fn md_buckets(s: &mut String, r: &Report) {
    let _ = writeln!(s, "## Buckets\n");
    if r.buckets.is_empty() && r.model_panics.is_empty() {
        let _ = writeln!(s, "No violations.\n");
    }
    for p in &r.model_panics {
        let _ = writeln!(
            s,
            "### model-panic{} — {} on {} at `{}`\n\n`{}` (one file's message)\n\nThe replay panics inside the model at that site (not an oracle violation): a bug in the model. Minimized to {} operation(s). {} file(s): {}. First seen {}, {} file(s) over all runs.\n",
            if p.new_since_previous { " (new since the previous run)" } else { "" },
            p.panic.target,
            p.panic.revision,
            p.panic.site,
            p.panic.message,
            p.panic.minimized_ops,
            p.panic.files.len(),
            p.panic
                .files
                .iter()
                .map(|f| format!("`{}`", f.display()))
                .collect::<Vec<_>>()
                .join(", "),
            utc(p.first_seen),
            p.count
        );
    }
    for b in &r.buckets {
        let _ = writeln!(
            s,
            "### {}{} — {}\n",
            b.status,
            if b.new_since_previous {
                ", new since the previous run"
            } else {
                ""
            },
            b.bucket
                .known
                .as_deref()
                .unwrap_or("no known finding matches")
        );
        let _ = writeln!(s, "`{}`\n", b.bucket.violation_line);
        let _ = writeln!(
            s,
            "Signature: `{}` (label `{}` / `{}` / `{}` / `{}`). {} crash file(s) this run{}; minimized {} -> {} actions: `{}`.\n",
            b.bucket.signature,
            b.bucket.label.invariant,
            b.bucket.label.revision,
            b.bucket.label.target,
            b.bucket.label.skeleton,
            b.bucket.files.len(),
            match (&b.first_found_by, b.first_found_seconds) {
                (Some(e), Some(t)) => format!(", first by {e} at {t:.1} s"),
                _ => String::new(),
            },
            b.bucket.ops_before,
            b.bucket.ops_after,
            b.minimized_file
        );
        if !b.bucket.stacked.is_empty() {
            let _ = writeln!(
                s,
                "**Stacked**: {} of its crash file(s) have stacked root causes (no separation of coincident values kept the violation with one fix); each is also counted under its other finding(s).\n",
                b.bucket.stacked.len()
            );
        }
        let _ = writeln!(
            s,
            "History: first seen {}, last seen {}, {} crash file(s) in {} run(s).\n",
            utc(b.first_seen),
            utc(b.last_seen),
            b.count,
            b.runs
        );
        let _ = writeln!(s, "```\n{}```\n", b.explain);
    }
}
