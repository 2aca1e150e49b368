//! The subcommands on crash files and findings, from parsed arguments to output and exit
//! code: `repro`, `explain`, `minimize`, `bucket`, `promote`, `seed` (the seed corpus and
//! the witnesses' regressions) and `report`. `cli/` parses and dispatches here.

use std::io::Write;
use std::path::{Path, PathBuf};

use sintfuzz_model::Revision;
use sintfuzz_targets::files::{read_input, write_regression, write_seeds, write_witnesses};
use sintfuzz_targets::{run, InvariantSet, Outcome, Settings, Target};

use super::bucket::{crash_files, infer_from_path, Crash, KnownList};
use crate::args::{settings, Run};
use crate::{repo_root, Fail};

/// Trace `file` step by step; 1 when it violates.
pub fn explain(r: &Run, file: &Path) -> Result<u8, Fail> {
    let settings = r.settings()?;
    let data = read_input(file).map_err(Fail::Usage)?;
    let (text, outcome) = super::explain::explain(r.target, &data, &settings);
    print!("{text}");
    Ok(matches!(outcome, Outcome::Violation(_)) as u8)
}

/// Minimize a crash file keeping its root cause, to `out`.
pub fn minimize(r: Run, file: PathBuf, out: PathBuf) -> Result<u8, Fail> {
    let settings = r.settings()?;
    let data = read_input(&file).map_err(Fail::Usage)?;
    if same_file(&file, &out) {
        return Err(Fail::Usage(format!(
            "{}: refusing to overwrite the input file",
            out.display()
        )));
    }
    let m = super::minimize::minimize(r.target, &data, &settings).map_err(Fail::Usage)?;
    std::fs::write(&out, &m.bytes).map_err(|e| Fail::Usage(format!("{}: {e}", out.display())))?;
    println!(
        "{}: {} -> {} actions ({} oracle runs), wrote {}",
        file.display(),
        m.ops_before,
        m.ops_after,
        m.runs,
        out.display()
    );
    println!("{}", m.violation);
    Ok(0)
}

/// Bucket crash directories by root cause against the known list.
pub fn bucket(
    target: Option<Target>,
    revision: Option<Revision>,
    invariants: Option<InvariantSet>,
    known: Option<PathBuf>,
    json: bool,
    dirs: Vec<PathBuf>,
) -> Result<u8, Fail> {
    let known_path = known.unwrap_or_else(|| repo_root().join("triage/known.toml"));
    let known = KnownList::load(&known_path).map_err(Fail::Usage)?;
    let base = settings(None, invariants)?;
    let mut crashes = Vec::new();
    for d in &dirs {
        let files = crash_files(d).map_err(Fail::Usage)?;
        if files.is_empty() {
            return Err(Fail::Usage(format!(
                "{}: no crash files (crash-*, crashes/id:*, *.fuzz, *.bin, or a campaign's <engine>-<sha1>)",
                d.display()
            )));
        }
        for path in files {
            let (t, r) = infer_from_path(&path);
            let Some(t) = target.or(t) else {
                return Err(Fail::Usage(format!(
                    "{}: cannot tell the target from the path; pass --target",
                    path.display()
                )));
            };
            crashes.push(Crash {
                path,
                target: t,
                settings: Settings {
                    revision: revision.or(r).unwrap_or(base.revision),
                    invariants: base.invariants,
                },
                peer: None,
            });
        }
    }
    let b = super::bucket::bucket(&crashes, &known);
    if json {
        for bk in &b.buckets {
            println!("{}", serde_json::to_string(bk).expect("serializable"));
        }
    } else {
        for bk in &b.buckets {
            println!(
                "[{}] {} x{} ({} -> {} actions) {}",
                bk.known
                    .as_deref()
                    .map_or("new".to_string(), |k| format!("known {k}")),
                bk.representative.display(),
                bk.files.len(),
                bk.ops_before,
                bk.ops_after,
                bk.violation_line
            );
            println!(
                "    signature: {}  (label: {} {} {} [{}])",
                bk.signature,
                bk.label.invariant,
                bk.label.revision,
                bk.label.target,
                bk.label.skeleton
            );
        }
        println!(
            "{} bucket(s), {} new; {} file(s) replayed clean; {} unreadable",
            b.buckets.len(),
            b.buckets.iter().filter(|b| b.is_new()).count(),
            b.clean.len(),
            b.errors.len()
        );
    }
    for (p, e) in &b.errors {
        eprintln!("sintfuzz: {}: {e}", p.display());
    }
    Ok(b.buckets.iter().any(|b| b.fails()) as u8)
}

/// Make a crash file a regression (bytes and measured sidecar).
pub fn promote(
    r: Run,
    file: PathBuf,
    name: Option<String>,
    about: String,
    finding: String,
    clean: bool,
) -> Result<u8, Fail> {
    let settings = r.settings()?;
    let data = read_input(&file).map_err(Fail::Usage)?;
    let (bytes, before, after, label) = if clean {
        if run(r.target, &data, &settings) != Outcome::Clean {
            return Err(Fail::Usage(format!(
                "{}: --clean, but it violates an invariant on {}",
                file.display(),
                settings.revision
            )));
        }
        let n = sintfuzz_targets::decode(r.target, &data).ops.len();
        (data, n, n, "clean".to_string())
    } else {
        let m = super::minimize::minimize(r.target, &data, &settings).map_err(Fail::Usage)?;
        let label = m.violation.invariant.id().to_string();
        (m.bytes, m.ops_before, m.ops_after, label)
    };
    let name = name.unwrap_or_else(|| format!("{label}-{:016x}", fnv1a(&bytes)));
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(Fail::Usage(format!("invalid regression name '{name}'")));
    }
    let (bin, sidecar) = write_regression(&repo_root(), r.target, &name, &about, &finding, &bytes)
        .map_err(|e| Fail::Usage(format!("cannot write the regression: {e}")))?;
    println!(
        "promoted {} ({before} -> {after} actions) to {}",
        file.display(),
        bin.display()
    );
    print!("{}", sidecar.to_toml());
    Ok(0)
}

/// Rewrite the seed corpus (and with `regressions`, the witnesses' regression files).
pub fn seed(regressions: bool, bless: Vec<String>) -> Result<u8, Fail> {
    let root = repo_root();
    let seeds = write_seeds(&root).map_err(|e| Fail::Usage(format!("seed: {e}")))?;
    let changed = seeds.iter().filter(|(_, c)| *c).count();
    println!("{} seed(s) in corpus/, {changed} changed", seeds.len());
    if regressions {
        let w = write_witnesses(&root, &|n| bless.iter().any(|b| b == n))
            .map_err(|e| Fail::Usage(format!("seed: {e}")))?;
        let diffs: Vec<&String> = w.iter().filter_map(|r| r.as_ref().err()).collect();
        for d in &diffs {
            println!("{d}");
        }
        println!(
            "{} witness regression(s) in triage/regressions/, {} would change and were left alone (re-record one with --bless NAME)",
            w.len(),
            diffs.len()
        );
    }
    Ok(0)
}

/// A known finding's upstream report (or every open one's).
pub fn report(id: Option<String>, out: Option<PathBuf>, all_open: bool) -> Result<u8, Fail> {
    let root = repo_root();
    let known = KnownList::load(&root.join("triage/known.toml")).map_err(Fail::Usage)?;
    let ids: Vec<String> = if all_open {
        known
            .finding
            .iter()
            .filter(|k| k.status == "open")
            .map(|k| k.id.clone())
            .collect()
    } else {
        id.into_iter().collect()
    };
    for id in ids {
        let text = super::finding::report(&root, &known, &id).map_err(Fail::Usage)?;
        let path = if all_open {
            Some(
                root.join(super::finding::REPORTS_DIR)
                    .join(super::finding::file_name(&id)),
            )
        } else {
            out.clone()
        };
        match path {
            Some(p) => {
                if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| Fail::Usage(format!("{}: {e}", dir.display())))?;
                }
                std::fs::write(&p, text)
                    .map_err(|e| Fail::Usage(format!("{}: {e}", p.display())))?;
                println!("wrote {}", p.display());
            }
            None => print!("{text}"),
        }
    }
    Ok(0)
}

/// Replay `files`: one line (or JSON object) each; 1 when any violates.
pub fn repro(r: &Run, json: bool, files: &[PathBuf]) -> Result<u8, Fail> {
    let settings = r.settings()?;
    // Read everything first: a bad file is a usage error before anything runs.
    let inputs: Vec<(PathBuf, Vec<u8>)> = files
        .iter()
        .map(|f| read_input(f).map(|d| (f.clone(), d)))
        .collect::<Result<_, _>>()
        .map_err(Fail::Usage)?;
    let mut any = false;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (file, data) in inputs {
        let outcome = run(r.target, &data, &settings);
        any |= outcome != Outcome::Clean;
        if json {
            let v = outcome.violation();
            let obj = serde_json::json!({
                "file": file.display().to_string(),
                "target": r.target.name(),
                "revision": settings.revision.name(),
                "outcome": if v.is_some() { "violation" } else { "clean" },
                "invariant": v.map(|v| v.invariant.id()),
                "step": v.map(|v| v.step),
                "vp": v.map(|v| v.vp),
                "vtl": v.map(|v| v.vtl as u8),
                "vector": v.and_then(|v| v.vector),
                "detail": v.map(|v| v.to_string()),
            });
            let _ = writeln!(out, "{obj}");
        } else {
            match outcome {
                Outcome::Clean => {
                    let _ = writeln!(out, "{}: clean", file.display());
                }
                Outcome::Violation(v) => {
                    let _ = writeln!(out, "{}: {v}", file.display());
                }
            }
        }
    }
    Ok(any as u8)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// A stable name hash (not for security).
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
