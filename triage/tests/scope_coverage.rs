//! `.cargo/scope-coverage.sh`, cargo's rustc wrapper: in an engine build (libFuzzer, AFL++,
//! honggfuzz) it drops the sanitizer-coverage pass for the model and the targets crate, and
//! passes every other rustc call through unchanged. The engines' flags below are copied
//! from their cargo front ends (cargo-fuzz 0.13.2 `src/project.rs`, cargo-afl 0.18.2
//! `src/main.rs` `run_cargo`, honggfuzz 0.5.62 `src/bin/cargo-hfuzz.rs`), as cargo splits
//! RUSTFLAGS on whitespace.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use common::{root, write_script};

const LIBFUZZER: &str = "-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing \
    -Cllvm-args=-sanitizer-coverage-stack-depth";
const AFL: &str = "-C debug-assertions -C overflow_checks -C codegen-units=1 -C opt-level=3 \
    -C target-cpu=native -C passes=sancov-module -C llvm-args=-sanitizer-coverage-level=3 \
    -C llvm-args=-sanitizer-coverage-trace-pc-guard \
    -C llvm-args=-sanitizer-coverage-prune-blocks=0 \
    -C llvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing \
    -Clink-arg=/afl.rs/afl-llvm/afl-compiler-rt.o";
const HONGGFUZZ: &str = "--cfg fuzzing -C debug-assertions -C overflow_checks -C opt-level=3 \
    -C target-cpu=native -C passes=sancov-module -C llvm-args=-sanitizer-coverage-level=4 \
    -C llvm-args=-sanitizer-coverage-trace-pc-guard -C llvm-args=-sanitizer-coverage-trace-divs \
    -C llvm-args=-sanitizer-coverage-trace-geps -C llvm-args=-sanitizer-coverage-stack-depth \
    -C llvm-args=-sanitizer-coverage-trace-compares";
/// A plain build (cargo test, clippy): no coverage flags.
const PLAIN: &str = "--edition=2021 -C opt-level=3 --cfg feature=\"std\"";

/// The arguments the wrapper hands to rustc for one crate, one per line (a stand-in rustc
/// prints them).
fn wrapped(crate_name: &str, flags: &str) -> Vec<String> {
    static RUSTC: OnceLock<PathBuf> = OnceLock::new();
    let rustc = RUSTC.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("sintfuzz-scope-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let rustc = dir.join("rustc");
        write_script(&rustc, "#!/bin/sh\nfor a; do echo \"$a\"; done\n");
        rustc
    });
    let out = Command::new(root().join(".cargo/scope-coverage.sh"))
        .arg(rustc)
        .args(["--crate-name", crate_name])
        .args(flags.split_whitespace())
        .output()
        .expect("run .cargo/scope-coverage.sh");
    assert!(out.status.success(), "the wrapper failed: {out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The arguments as rustc would get them without the wrapper.
fn unwrapped(crate_name: &str, flags: &str) -> Vec<String> {
    ["--crate-name", crate_name]
        .into_iter()
        .chain(flags.split_whitespace())
        .map(str::to_string)
        .collect()
}

/// `args` without the pass, in either spelling (`-Cpasses=..` or `-C passes=..`).
fn without_pass(args: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in args {
        if a == "-Cpasses=sancov-module" {
            continue;
        }
        if a == "passes=sancov-module" && out.last().is_some_and(|l| l == "-C") {
            out.pop();
            continue;
        }
        out.push(a.clone());
    }
    out
}

#[test]
fn engine_builds_of_the_model_and_targets_lose_the_coverage_pass() {
    for (engine, flags) in [
        ("libFuzzer", LIBFUZZER),
        ("AFL++", AFL),
        ("honggfuzz", HONGGFUZZ),
    ] {
        for krate in ["sintfuzz_model", "sintfuzz_targets"] {
            let all = unwrapped(krate, flags);
            let want = without_pass(&all);
            assert!(
                want.len() < all.len(),
                "{engine}: no pass in the test's flags"
            );
            assert_eq!(wrapped(krate, flags), want, "{engine}, {krate}");
        }
    }
}

#[test]
fn every_other_call_is_unchanged() {
    for (what, krate, flags) in [
        ("a dependency in an AFL++ build", "arbitrary", AFL),
        ("the AFL++ wrappers", "relay_lifecycle_afl", AFL),
        ("a dependency in a honggfuzz build", "honggfuzz", HONGGFUZZ),
        ("the libFuzzer wrappers", "relay_lifecycle", LIBFUZZER),
        ("a plain build of the model", "sintfuzz_model", PLAIN),
        ("a plain build of the targets", "sintfuzz_targets", PLAIN),
    ] {
        assert_eq!(wrapped(krate, flags), unwrapped(krate, flags), "{what}");
    }
}
