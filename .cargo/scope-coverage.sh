#!/usr/bin/env bash
# Cargo's rustc wrapper for this repository (.cargo/config.toml, `build.rustc-wrapper`):
# coverage only where it guides the search. In a libFuzzer build (cargo-fuzz's
# `-Cpasses=sancov-module` with inline 8-bit counters), the model and the targets crate
# (decoder, oracle, harness) are compiled without the sanitizer-coverage pass: no edge
# counters, no compare hooks, so no value-profile cost, on the code every input runs
# through. libFuzzer is guided by the near-miss feedback instead, which
# targets/src/feedback.rs also writes into libFuzzer's extra counters
# (`__libfuzzer_extra_counters`), and by the edges of everything else.
# bench/results.md ("Coverage only where it guides the search") has the measurements.
#
# Every other rustc call (cargo test, clippy, AFL++ and honggfuzz builds, other crates)
# runs unchanged. `RUSTC_WRAPPER= cargo fuzz build ...` (empty) skips this wrapper and
# instruments everything, as oss-fuzz/build.sh does for OSS-Fuzz's coverage reports.
rustc=$1
shift
case " $* " in
*" --crate-name sintfuzz_model "* | *" --crate-name sintfuzz_targets "*) ;;
*) exec "$rustc" "$@" ;;
esac
case " $* " in
*" -Cllvm-args=-sanitizer-coverage-inline-8bit-counters "*) ;;
*) exec "$rustc" "$@" ;;
esac
args=()
for a in "$@"; do
    [ "$a" = "-Cpasses=sancov-module" ] || args+=("$a")
done
exec "$rustc" "${args[@]}"
