#!/usr/bin/env bash
# Cargo's rustc wrapper for this repository (.cargo/config.toml, `build.rustc-wrapper`):
# coverage only where it guides the search. In an engine build — libFuzzer (cargo-fuzz's
# `-Cpasses=sancov-module` with inline 8-bit counters), honggfuzz (cargo-hfuzz's
# `-C passes=sancov-module` with trace-pc-guard) or AFL++ (cargo-afl's `-C
# passes=sancov-module` with trace-pc-guard, the stable build without AFL++'s LLVM plugins)
# — the model and the targets crate (decoder, oracle, harness) are compiled without the
# sanitizer-coverage pass: no edge counters, no compare hooks, so no value-profile or CmpLog
# cost, on the code every input runs through. The engine is guided by the near-miss
# feedback instead, which targets/src/feedback.rs writes into 8-bit counters
# (`__libfuzzer_extra_counters`): libFuzzer reads them itself, the honggfuzz and AFL++
# wrappers hand them to their engine (fuzz/counters.rs); and by the edges of everything else.
# bench/results.md ("Coverage only where it guides the search", "AFL++ scoped like
# libFuzzer") has the measurements; triage/tests/scope_coverage.rs tests this script.
#
# Every other rustc call (cargo test, clippy, other crates) runs unchanged.
# `RUSTC_WRAPPER= cargo fuzz build ...` (or `cargo afl build`, `cargo hfuzz build`; empty)
# skips this wrapper and instruments everything, as oss-fuzz/build.sh does for OSS-Fuzz's
# coverage reports.
rustc=$1
shift
case " $* " in
*" --crate-name sintfuzz_model "* | *" --crate-name sintfuzz_targets "*) ;;
*) exec "$rustc" "$@" ;;
esac
case " $* " in
*"llvm-args=-sanitizer-coverage-inline-8bit-counters "*) ;;
*"llvm-args=-sanitizer-coverage-trace-pc-guard "*) ;;
*) exec "$rustc" "$@" ;;
esac
# Drop the pass, in either spelling: `-Cpasses=sancov-module` or `-C passes=sancov-module`.
args=()
split_c=
for a in "$@"; do
    if [ -n "$split_c" ]; then
        split_c=
        [ "$a" = "passes=sancov-module" ] || args+=(-C "$a")
        continue
    fi
    case $a in
    -Cpasses=sancov-module) ;;
    -C) split_c=1 ;;
    *) args+=("$a") ;;
    esac
done
[ -z "$split_c" ] || args+=(-C)
exec "$rustc" "${args[@]}"
