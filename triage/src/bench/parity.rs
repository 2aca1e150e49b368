//! `sintfuzz parity`: every checked-in input (seeds in `corpus/<target>/`, regressions in
//! `triage/regressions/<target>/`) must give, on every revision, the same outcome in every
//! engine's binary and in-process, and the outcome it is expected to give:
//!   seeds        default set: clean on every revision; strict: clean on `proposed`, and
//!                elsewhere the runners only have to agree with each other;
//!   regressions  the `[default]` (or `[strict]`) table of the `.toml` sidecar.
//! Runners: `inproc` (the library, no engine), `libfuzzer` (the binary on the file),
//! `afl` (the binary, input on stdin), `honggfuzz` (the driver in static mode on a
//! one-file input dir: no feedback, no mutation, one iteration), `honggfuzz-debug`
//! (`CARGO_HONGGFUZZ_CRASH_FILENAME`, what `cargo hfuzz run-debug` runs). Each is reduced
//! to `clean` or the id of its `sintfuzz violation: <id>:` line; an exit code that does
//! not fit the output is an error. Known open findings are not skipped
//! (`SINTFUZZ_KNOWN=report`). Exit 0 only when every check matches, 1 otherwise.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

use clap::{Args, ValueEnum};
use sintfuzz_model::Revision;
use sintfuzz_targets::files::{outcome_name, read_input, Sidecar, CORPUS_DIR, REGRESSIONS_DIR};
use sintfuzz_targets::{InvariantSet, Settings, Target};

use crate::engine::{run_cmd, Engine};
use crate::{repo_root, Fail};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Runner {
    Inproc,
    Libfuzzer,
    Afl,
    Honggfuzz,
    HonggfuzzDebug,
}

impl Runner {
    fn name(self) -> &'static str {
        match self {
            Runner::Inproc => "inproc",
            Runner::Libfuzzer => "libfuzzer",
            Runner::Afl => "afl",
            Runner::Honggfuzz => "honggfuzz",
            Runner::HonggfuzzDebug => "honggfuzz-debug",
        }
    }
}

#[derive(Args, Clone, Debug)]
pub struct ParityArgs {
    /// Runners to compare (comma-separated).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "inproc,libfuzzer,afl,honggfuzz,honggfuzz-debug"
    )]
    pub runners: Vec<Runner>,
    /// `default` or `strict`: which sidecar table the regressions must match.
    #[arg(long, default_value = "default")]
    pub invariants: String,
    /// Checks run at once.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub jobs: u32,
}

struct Input {
    path: PathBuf,
    target: Target,
    /// Per revision: the expected outcome, or `None` when the runners only must agree.
    expected: Vec<Option<String>>,
}

fn inputs(root: &Path, strict: bool) -> Result<Vec<Input>, Fail> {
    let mut out = Vec::new();
    let io = |e: std::io::Error| Fail::Usage(format!("parity: {e}"));
    for t in Target::ALL {
        for p in sintfuzz_targets::files::list(&root.join(CORPUS_DIR), t, "bin").map_err(io)? {
            let expected = Revision::ALL
                .iter()
                .map(|&r| (!strict || r == Revision::Proposed).then(|| "clean".to_string()))
                .collect();
            out.push(Input {
                path: p,
                target: t,
                expected,
            });
        }
        for p in sintfuzz_targets::files::list(&root.join(REGRESSIONS_DIR), t, "bin").map_err(io)? {
            let toml = p.with_extension("toml");
            let text = std::fs::read_to_string(&toml)
                .map_err(|e| Fail::Usage(format!("{}: {e}", toml.display())))?;
            let side = Sidecar::parse(&text)
                .map_err(|e| Fail::Usage(format!("{}: {e}", toml.display())))?;
            let table = if strict { &side.strict } else { &side.default };
            let expected = Revision::ALL
                .iter()
                .map(|r| {
                    Some(
                        table
                            .get(r.name())
                            .cloned()
                            .unwrap_or_else(|| "missing".into()),
                    )
                })
                .collect();
            out.push(Input {
                path: p,
                target: t,
                expected,
            });
        }
    }
    Ok(out)
}

/// The binaries, copied to `tmp` so another build cannot swap one mid-run.
struct Bins {
    tmp: PathBuf,
}

impl Bins {
    fn path(&self, r: Runner, t: Target) -> PathBuf {
        self.tmp.join(format!("{}-{}", r.name(), t.name()))
    }
}

fn build(root: &Path, runners: &[Runner], tmp: &Path) -> Result<Bins, Fail> {
    let fuzz = root.join("fuzz");
    let snap = |from: PathBuf, to: PathBuf| {
        std::fs::copy(&from, &to)
            .map(|_| ())
            .map_err(|e| Fail::Usage(format!("parity: missing binary {}: {e}", from.display())))
    };
    for &r in runners {
        let dir = match r {
            Runner::Inproc => continue,
            Runner::Libfuzzer => {
                Engine::Libfuzzer.ensure_tools()?;
                Engine::Libfuzzer.build(root)?.dir
            }
            Runner::Afl => {
                Engine::Afl.ensure_tools()?;
                Engine::Afl.build(root)?.dir
            }
            Runner::Honggfuzz => {
                Engine::Honggfuzz.ensure_tools()?;
                let d = Engine::Honggfuzz.build(root)?.dir;
                snap(fuzz.join("hfuzz_target/honggfuzz"), tmp.join("honggfuzz"))?;
                d
            }
            Runner::HonggfuzzDebug => {
                Engine::Honggfuzz.ensure_tools()?;
                eprintln!("sintfuzz: building the honggfuzz debug targets ...");
                run_cmd(
                    &mut crate::engine::honggfuzz::cargo_hfuzz(root, "build-debug"),
                    "cargo hfuzz build-debug",
                )?;
                fuzz.join("hfuzz_target/x86_64-unknown-linux-gnu/debug")
            }
        };
        for t in Target::ALL {
            let name = match r {
                Runner::Libfuzzer => t.name().to_string(),
                Runner::Afl => format!("{}_afl", t.name()),
                _ => format!("{}_hfuzz", t.name()),
            };
            snap(
                dir.join(name),
                Bins {
                    tmp: tmp.to_path_buf(),
                }
                .path(r, t),
            )?;
        }
    }
    Ok(Bins {
        tmp: tmp.to_path_buf(),
    })
}

fn violation_id(text: &str) -> Option<String> {
    let i = text.find("sintfuzz violation: ")?;
    let rest = &text[i + "sintfuzz violation: ".len()..];
    let id: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    rest[id.len()..].starts_with(':').then_some(id)
}

/// `clean`, a violation id, or `error(...)`.
fn classify(o: &Output, clean: i32, violation: Option<i32>, marker: Option<&str>) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let code = o.status.code();
    match violation_id(&text) {
        None if code == Some(clean) && marker.is_none_or(|m| text.contains(m)) => "clean".into(),
        Some(id)
            if violation.map_or(code.is_some_and(|c| c != 0) || code.is_none(), |v| {
                code == Some(v)
            }) =>
        {
            id
        }
        _ => format!("error({})", o.status),
    }
}

fn run_one(
    bins: &Bins,
    r: Runner,
    input: &Input,
    rev: Revision,
    inv: InvariantSet,
    scratch: &Path,
) -> String {
    let settings = Settings {
        revision: rev,
        invariants: inv,
    };
    if r == Runner::Inproc {
        return match read_input(&input.path) {
            Ok(d) => outcome_name(input.target, &d, &settings),
            Err(e) => format!("error({e})"),
        };
    }
    let _ = std::fs::remove_dir_all(scratch);
    let _ = std::fs::create_dir_all(scratch);
    let mut cmd;
    match r {
        Runner::Libfuzzer => {
            cmd = Command::new(bins.path(r, input.target));
            cmd.arg(format!("-artifact_prefix={}/", scratch.display()))
                .arg(&input.path);
        }
        Runner::Afl => {
            cmd = Command::new(bins.path(r, input.target));
            match std::fs::File::open(&input.path) {
                Ok(f) => cmd.stdin(Stdio::from(f)),
                Err(e) => return format!("error({e})"),
            };
        }
        Runner::Honggfuzz => {
            let inp = scratch.join("in");
            let _ = std::fs::create_dir_all(&inp);
            let _ = std::fs::copy(&input.path, inp.join("input"));
            cmd = Command::new(bins.tmp.join("honggfuzz"));
            // -x static mode (no feedback: the file is read whole), -r 0 no mutations,
            // -N 1 one iteration, -Q keep the child's stderr (the violation line).
            cmd.arg("-i")
                .arg(&inp)
                .arg("-W")
                .arg(scratch.join("ws"))
                .args(["-x", "-P", "-n", "1", "-N", "1", "-r", "0", "-Q", "-v"])
                .args(["--exit_upon_crash", "--exit_code_upon_crash", "77", "--"])
                .arg(bins.path(r, input.target));
        }
        Runner::HonggfuzzDebug => {
            cmd = Command::new(bins.path(r, input.target));
            cmd.env("CARGO_HONGGFUZZ_CRASH_FILENAME", &input.path);
        }
        Runner::Inproc => unreachable!(),
    }
    if r != Runner::Afl {
        cmd.stdin(Stdio::null());
    }
    let o = cmd
        .current_dir(scratch)
        .env(sintfuzz_targets::harness::ENV_REVISION, rev.name())
        .env(sintfuzz_targets::harness::ENV_INVARIANTS, inv.to_string())
        .env(sintfuzz_targets::known::ENV_KNOWN, "report")
        .env("RUST_BACKTRACE", "0")
        .env_remove(sintfuzz_targets::trace::ENV_LOG)
        .output();
    let Ok(o) = o else {
        return "error(cannot start)".into();
    };
    match r {
        Runner::Libfuzzer | Runner::Afl => classify(&o, 0, None, None),
        Runner::Honggfuzz => classify(&o, 0, Some(77), None),
        // Clean ends with exit 2 and this message; a violation is a plain panic (101).
        Runner::HonggfuzzDebug => classify(&o, 2, Some(101), Some("didn't trigger any panics")),
        Runner::Inproc => unreachable!(),
    }
}

pub fn parity(args: ParityArgs) -> Result<u8, Fail> {
    let strict = match args.invariants.as_str() {
        "default" => false,
        "strict" => true,
        other => {
            return Err(Fail::Usage(format!(
                "parity: --invariants must be default or strict, not '{other}'"
            )))
        }
    };
    let root = repo_root();
    let mut runners = args.runners.clone();
    runners.sort();
    runners.dedup();
    let tmp = std::env::temp_dir().join(format!("sintfuzz-parity-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| Fail::Usage(format!("{}: {e}", tmp.display())))?;
    let result = check_all(&args, &root, &runners, strict, &tmp);
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

/// Build the runners' binaries in `tmp`, replay every input on each, print a line per
/// input and the totals; 1 when any runner disagreed.
fn check_all(
    args: &ParityArgs,
    root: &Path,
    runners: &[Runner],
    strict: bool,
    tmp: &Path,
) -> Result<u8, Fail> {
    let inv = if strict {
        InvariantSet::strict()
    } else {
        InvariantSet::default_set()
    };
    let bins = build(root, runners, tmp)?;
    let inputs = inputs(root, strict)?;
    if inputs.is_empty() {
        return Err(Fail::Usage(
            "parity: no input files under corpus/ or triage/regressions/".into(),
        ));
    }
    let names: Vec<&str> = runners.iter().map(|r| r.name()).collect();
    println!(
        "runners: {}; invariants: {}; revisions: {}",
        names.join(" "),
        args.invariants,
        Revision::ALL.map(|r| r.name()).join(" ")
    );
    let next = Mutex::new(0usize);
    let lines: Mutex<Vec<(usize, Checked)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for w in 0..args.jobs {
            let (next, lines, inputs, bins) = (&next, &lines, &inputs, &bins);
            let scratch = tmp.join(format!("w{w}"));
            s.spawn(move || loop {
                let i = {
                    let mut n = next.lock().expect("not poisoned");
                    *n += 1;
                    *n - 1
                };
                let Some(input) = inputs.get(i) else { break };
                let rel = input
                    .path
                    .strip_prefix(root)
                    .unwrap_or(&input.path)
                    .display()
                    .to_string();
                let checked = check_input(bins, runners, input, &rel, inv, &scratch);
                lines.lock().expect("not poisoned").push((i, checked));
            });
        }
    });
    let mut lines = lines.into_inner().expect("not poisoned");
    lines.sort_by_key(|l| l.0);
    let (mut checks, mut bad) = (0, 0);
    for (_, c) in &lines {
        println!("{}", c.text);
        checks += c.checks;
        bad += c.bad;
    }
    println!(
        "parity: {} files x {} revisions, {checks} checks, {bad} mismatches (runners: {}; invariants: {})",
        inputs.len(),
        Revision::ALL.len(),
        names.join(" "),
        args.invariants
    );
    Ok((bad > 0) as u8)
}

/// One input's line (with any mismatches above it), its checks and mismatches.
struct Checked {
    text: String,
    checks: usize,
    bad: usize,
}

/// `input` (named `rel`) replayed on every runner and revision: each runner must give
/// what the file expects, else what the first runner gave.
fn check_input(
    bins: &Bins,
    runners: &[Runner],
    input: &Input,
    rel: &str,
    inv: InvariantSet,
    scratch: &Path,
) -> Checked {
    let (mut line, mut checks, mut bad) = (String::new(), 0, 0);
    let mut detail = String::new();
    for (ri, &rev) in Revision::ALL.iter().enumerate() {
        let mut first: Option<String> = None;
        for &r in runners {
            let got = run_one(bins, r, input, rev, inv, scratch);
            checks += 1;
            let want = input.expected[ri]
                .clone()
                .or_else(|| first.clone())
                .unwrap_or_else(|| got.clone());
            if got != want {
                bad += 1;
                detail.push_str(&format!(
                    "MISMATCH {rel} revision={} runner={}: got {got}, expected {want}\n",
                    rev.name(),
                    r.name()
                ));
            }
            first.get_or_insert(got);
        }
        line.push_str(&format!(" {}={}", rev.name(), first.unwrap_or_default()));
    }
    let text = format!(
        "{detail}{} {rel}:{line}",
        if bad > 0 { "FAIL" } else { "ok  " }
    );
    Checked { text, checks, bad }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violation_lines() {
        assert_eq!(
            violation_id("x\nsintfuzz violation: lost-relay: step 4 ...").as_deref(),
            Some("lost-relay")
        );
        assert_eq!(violation_id("sintfuzz: SINTFUZZ_REVISION: bad"), None);
    }

    /// The in-process runner alone over every checked-in input: what CI's full parity
    /// run compares the engines against.
    #[test]
    fn inproc_matches_every_sidecar_and_seed() {
        let root = repo_root();
        let bins = Bins {
            tmp: std::env::temp_dir(),
        };
        for strict in [false, true] {
            let inv = if strict {
                InvariantSet::strict()
            } else {
                InvariantSet::default_set()
            };
            let all = inputs(&root, strict).unwrap();
            assert!(all.len() > 10);
            for input in &all {
                for (ri, &rev) in Revision::ALL.iter().enumerate() {
                    if let Some(want) = &input.expected[ri] {
                        let got = run_one(
                            &bins,
                            Runner::Inproc,
                            input,
                            rev,
                            inv,
                            Path::new("/nonexistent"),
                        );
                        assert_eq!(&got, want, "{} on {}", input.path.display(), rev.name());
                    }
                }
            }
        }
    }
}
