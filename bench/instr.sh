#!/usr/bin/env bash
# Where relay_lifecycle's libFuzzer exec/s goes: the same target built three ways, each run
# from a copy of corpus/relay_lifecycle/ next to the empty target (bench/results.md).
#
#   bash bench/instr.sh              # INSTR_SECONDS=10 per run, INSTR_TARGET=relay_lifecycle
#
# Builds (separate --target-dir under a temp dir; fuzz/target is not touched):
#   default        cargo fuzz build -s none            (what every other bench uses:
#                  sancov 8-bit counters + pc-table + trace-compares, debug assertions and
#                  overflow checks from fuzz/Cargo.toml's release profile)
#   no-cmp         ... --no-trace-compares
#   no-cmp-no-dbg  ... --no-trace-compares, with CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=false
#                  and CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=false
# Runs: -max_total_time=INSTR_SECONDS -max_len=2200 -seed=1 -print_final_stats=1, with
# SINTFUZZ_REVISION=proposed SINTFUZZ_INVARIANTS=strict; -use_value_profile=1 only for the
# default build (value profile feeds on the trace-compares hooks the other builds drop).
# The figure is libFuzzer's stat::average_exec_per_sec. One process at a time.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FUZZ=$ROOT/fuzz
SECS=${INSTR_SECONDS:-10}
T=${INSTR_TARGET:-relay_lifecycle}
TRIPLE=x86_64-unknown-linux-gnu
unset CARGO_TARGET_DIR SINTFUZZ_LOG
export SINTFUZZ_REVISION=proposed SINTFUZZ_INVARIANTS=strict RUST_BACKTRACE=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sintfuzz-instr.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

build() { # NAME ARGS... (env via `env` prefix in ARGS)
    local name=$1
    shift
    if ! (cd "$FUZZ" && "$@" --target-dir "$TMP/t-$name" "$T" && "$@" --target-dir "$TMP/t-$name" empty) \
        >"$TMP/build-$name.log" 2>&1; then
        echo "instr: build $name failed" >&2
        tail -n 20 "$TMP/build-$name.log" >&2
        exit 1
    fi
    cp "$TMP/t-$name/$TRIPLE/release/$T" "$TMP/$name-$T"
    cp "$TMP/t-$name/$TRIPLE/release/empty" "$TMP/$name-empty"
    rm -rf "$TMP/t-$name"
}
run() { # BIN VP -> exec/s
    local d
    d=$(mktemp -d "$TMP/run.XXXXXX")
    cp -r "$ROOT/corpus/relay_lifecycle" "$d/in"
    (cd "$d" && "$1" -use_value_profile="$2" -max_len=2200 -seed=1 -max_total_time="$SECS" \
        -print_final_stats=1 -artifact_prefix="$d/" "$d/in") >"$d/log" 2>&1 || true
    sed -n 's/^stat::average_exec_per_sec: *//p' "$d/log" | tail -n1
    rm -rf "$d"
}

build default cargo fuzz build -s none
build no-cmp cargo fuzz build -s none --no-trace-compares
build no-cmp-no-dbg env CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=false \
    CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=false cargo fuzz build -s none --no-trace-compares

echo "# bench/instr.sh $(date -u +%Y-%m-%dT%H:%M:%SZ), $T, ${SECS} s per run, loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| build | value profile | empty exec/s | $T exec/s | ratio | µs per exec over the empty target |"
echo "|---|---|---:|---:|---:|---:|"
for cfg in "default 1" "default 0" "no-cmp 0" "no-cmp-no-dbg 0"; do
    read -r name vp <<<"$cfg"
    e=$(run "$TMP/$name-empty" "$vp")
    x=$(run "$TMP/$name-$T" "$vp")
    awk -v n="$name" -v vp="$vp" -v e="$e" -v x="$x" 'BEGIN {
        printf "| %s | %s | %d | %d | %.1f %% | %.1f |\n", n, (vp ? "yes" : "no"), e, x,
            100 * x / e, 1e6 / x - 1e6 / e }'
done
