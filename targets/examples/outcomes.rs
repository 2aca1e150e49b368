//! Behaviour-equality check: a digest of what every input gives, to compare before and
//! after a change that must not change behaviour (a refactor, a speed-up).
//!
//! For each target × revision × invariant set (`default`, `strict`) it runs every corpus
//! seed (`corpus/<target>/*.bin`), every regression (`triage/regressions/<target>/*.bin`)
//! and `--count` seeded random inputs (splitmix64, fixed seed per row), and folds, per
//! input, the outcome (`clean` or the invariant id), the violation's first line and the
//! oracle's skip counts into one xxh3 digest. A second digest covers the root-cause
//! signature and the known-list verdict of every file input and of the first
//! `--signatures` violating seeded inputs of each row (the replays are slow). One line per
//! row, a line for the hand-built scenarios (`scenarios.rs`: every seed and witness,
//! field by field), then a total line:
//!
//! ```text
//! cargo run --release -p sintfuzz-targets --example outcomes -- --count 200000
//! ```
//!
//! Two runs of the same tree print the same lines; a diff of the output before and after a
//! change names the rows whose behaviour moved. `--without ID` (repeatable) leaves an
//! invariant out of both sets, to compare with a tree that predates it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sintfuzz_model::Revision;
use sintfuzz_targets::files::{list, read_input, CORPUS_DIR, REGRESSIONS_DIR};
use sintfuzz_targets::harness::run_skips;
use sintfuzz_targets::known::{judge, KnownList, KnownMode, Verdict};
use sintfuzz_targets::rng::SplitMix64;
use sintfuzz_targets::scenarios::{seeds, witnesses};
use sintfuzz_targets::signature::signature;
use sintfuzz_targets::{Invariant, InvariantSet, Outcome, Settings, Target};
use xxhash_rust::xxh3::Xxh3;

/// A streaming digest; xxh3 is specified, so the same across Rust versions and
/// platforms, unlike `DefaultHasher`.
struct Digest(Xxh3);

impl Digest {
    fn new() -> Self {
        Digest(Xxh3::new())
    }

    /// A field and its end, so `ab`+`c` and `a`+`bc` differ.
    fn field(&mut self, s: &str) {
        self.0.update(s.as_bytes());
        self.0.update(&[0xff]);
    }

    fn value(&self) -> u64 {
        self.0.digest()
    }
}

struct Options {
    count: u64,
    /// Invariants left out of both sets.
    without: Vec<Invariant>,
    signatures: u64,
    seed: u64,
    root: PathBuf,
}

const USAGE: &str = "expected --count N, --signatures N, --seed N, --root DIR, --without ID";

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        count: 200_000,
        without: Vec::new(),
        signatures: 20,
        seed: 0x5eed_0023,
        root: Path::new(env!("CARGO_MANIFEST_DIR")).join(".."),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        let number = |v: String| v.parse::<u64>().map_err(|e| format!("{a} '{v}': {e}"));
        match a.as_str() {
            "--count" => o.count = number(value()?)?,
            "--signatures" => o.signatures = number(value()?)?,
            "--seed" => o.seed = number(value()?)?,
            "--root" => o.root = PathBuf::from(value()?),
            "--without" => {
                let id = value()?;
                let i = Invariant::ALL.into_iter().find(|i| i.id() == id);
                o.without
                    .push(i.ok_or_else(|| format!("unknown invariant '{id}'"))?);
            }
            _ => return Err(format!("unknown argument '{a}' ({USAGE})")),
        }
    }
    Ok(o)
}

/// The checked-in inputs of `target`: corpus seeds, then regressions.
fn files(root: &Path, target: Target) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    for dir in [CORPUS_DIR, REGRESSIONS_DIR] {
        let paths = list(&root.join(dir), target, "bin").map_err(|e| format!("{dir}: {e}"))?;
        for p in paths {
            let name = p.strip_prefix(root).unwrap_or(&p).display().to_string();
            out.push((name, read_input(&p)?));
        }
    }
    Ok(out)
}

/// One row's digests.
#[derive(Default)]
struct Row {
    inputs: u64,
    violations: u64,
    outcomes: u64,
    signatures: u64,
}

/// Folds one input's (outcome, violation first line, skips) into `h`; the violation if any.
fn outcome_of(h: &mut Digest, target: Target, data: &[u8], settings: &Settings) -> bool {
    let (outcome, skips) = run_skips(target, data, settings);
    match outcome {
        Outcome::Clean => h.field("clean"),
        Outcome::Violation(v) => {
            h.field(v.invariant.id());
            h.field(v.to_string().lines().next().unwrap_or(""));
        }
    }
    h.field(&format!("{} {:?}", skips.judged, skips.skipped));
    outcome != Outcome::Clean
}

/// Folds one violating input's signature and known-list verdict into `h`.
fn signature_of(h: &mut Digest, list: &KnownList, target: Target, data: &[u8], s: &Settings) {
    let sig = signature(target, s.revision, s.invariants, data);
    h.field(&sig.map(|s| s.to_string()).unwrap_or_default());
    let Outcome::Violation(v) = sintfuzz_targets::run(target, data, s) else {
        return;
    };
    match judge(list, KnownMode::Suppress, target, data, s, &v) {
        Verdict::Suppressed(i) => h.field(&format!("suppressed {i}")),
        Verdict::Stop(msg) => h.field(&msg),
    }
}

fn row(o: &Options, files: &[(String, Vec<u8>)], target: Target, s: &Settings, n: u64) -> Row {
    let list = KnownList::embedded();
    let mut out = Digest::new();
    let mut sig = Digest::new();
    let mut r = Row::default();
    for (name, data) in files {
        out.field(name);
        sig.field(name);
        if outcome_of(&mut out, target, data, s) {
            r.violations += 1;
            signature_of(&mut sig, list, target, data, s);
        }
        r.inputs += 1;
    }
    // A fixed seed per row, so rows can be compared on their own.
    let mut rng = SplitMix64(o.seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut signed = 0;
    for _ in 0..o.count {
        let data = rng.input();
        if outcome_of(&mut out, target, &data, s) {
            r.violations += 1;
            if signed < o.signatures {
                signed += 1;
                signature_of(&mut sig, list, target, &data, s);
            }
        }
        r.inputs += 1;
    }
    r.outcomes = out.value();
    r.signatures = sig.value();
    r
}

/// The hand-built scenarios, every field of every one.
fn scenarios_line() -> String {
    let mut h = Digest::new();
    let (seeds, witnesses) = (seeds(), witnesses());
    for n in seeds.iter().chain(&witnesses) {
        h.field(&format!(
            "{} {} {} {} {:?}",
            n.name, n.target, n.about, n.finding, n.scenario
        ));
    }
    format!(
        "scenarios seeds={} witnesses={} digest={:016x}",
        seeds.len(),
        witnesses.len(),
        h.value()
    )
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("outcomes: {e}");
            return ExitCode::from(2);
        }
    };
    let mut total = Digest::new();
    let (mut inputs, mut violations) = (0, 0);
    let mut n = 0;
    for target in Target::ALL {
        let files = match files(&o.root, target) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("outcomes: {e}");
                return ExitCode::from(2);
            }
        };
        for revision in Revision::ALL {
            for (set, invariants) in [
                ("default", InvariantSet::default_set()),
                ("strict", InvariantSet::strict()),
            ] {
                let s = Settings {
                    revision,
                    invariants: invariants.without(&o.without),
                };
                let r = row(&o, &files, target, &s, n);
                n += 1;
                let line = format!(
                    "{target} {} {set} inputs={} violations={} outcomes={:016x} signatures={:016x}",
                    revision.name(),
                    r.inputs,
                    r.violations,
                    r.outcomes,
                    r.signatures
                );
                println!("{line}");
                total.field(&line);
                inputs += r.inputs;
                violations += r.violations;
            }
        }
    }
    let line = scenarios_line();
    println!("{line}");
    total.field(&line);
    println!(
        "total inputs={inputs} violations={violations} digest={:016x}",
        total.value()
    );
    ExitCode::SUCCESS
}
