#!/usr/bin/env bash
# Issue 12 side by side: ours against the peer harnesses a user would write, on one machine
# in one run. `sintfuzz tte` runs our targets; this script adds the benchmark-only libFuzzer
# binaries of fuzz/bench_targets/ (naive, shaped, relay_lifecycle_ops).
#
#   bash bench/peers.sh tte [TRIALS] [CPU_SECONDS]    # default 10 trials, 60 CPU-seconds
#   bash bench/peers.sh execs [RUNS]                  # default 200000 executions
#
# tte    Time to the first lost-relay (#1162) on `proxy-bit` from an empty corpus, for
#        relay_lifecycle_ops (with the op-level mutator), relay_lifecycle (libFuzzer's byte
#        mutator), shaped and naive: -use_value_profile=1
#        -max_len=2200 -seed=TRIAL, SINTFUZZ_INVARIANTS=lost-relay, SINTFUZZ_KNOWN=report
#        (stop at the first lost-relay, whatever its root cause, as the issue measures).
#        The budget is CPU time (prlimit RLIMIT_CPU), so a shared machine does not eat the
#        trials' budget; libFuzzer's own wall-clock cap is set out of the way. One line per
#        trial: bin seed found executions cpu_seconds wall_seconds (executions: libFuzzer's
#        final count at the crash, else its last status line).
# execs  Executions per CPU-second of empty, relay_lifecycle and relay_lifecycle_ops (and
#        relay_lifecycle_before if BEFORE_BIN names an older build of relay_lifecycle), each
#        -runs=RUNS from a fresh copy of corpus/relay_lifecycle/, -use_value_profile=1,
#        revision proposed with the strict set (no crash ends a run), -seed=1.
# Binaries: fuzz/target/x86_64-unknown-linux-gnu/release/ (`cd fuzz && cargo fuzz build -s
# none`), copied to a temp dir first. Prints TSV; bench/results.md holds a run.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REL=$ROOT/fuzz/target/x86_64-unknown-linux-gnu/release
MODE=${1:-tte}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sintfuzz-peers.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
unset CARGO_TARGET_DIR SINTFUZZ_LOG
export RUST_BACKTRACE=0

copy() {
    for b in "$@"; do
        [ -x "$REL/$b" ] || {
            echo "peers: $REL/$b missing: cd fuzz && cargo fuzz build -s none" >&2
            exit 2
        }
        cp "$REL/$b" "$TMP/$b"
    done
}

trial() { # trial BIN SEED CPU_SECONDS
    local bin=$1 seed=$2 budget=$3 d
    d=$(mktemp -d "$TMP/t.XXXXXX")
    mkdir "$d/c"
    local start end found execs cpu
    start=$(date +%s.%N)
    (cd "$d" && SINTFUZZ_KNOWN=report SINTFUZZ_REVISION=proxy-bit SINTFUZZ_INVARIANTS=lost-relay \
        /usr/bin/time -f "%U %S" -o "$d/time" prlimit --cpu="$budget" \
        "$TMP/$bin" c -use_value_profile=1 -max_len=2200 -max_total_time=100000 \
        -seed="$seed" -print_final_stats=1 >log 2>&1) || true
    end=$(date +%s.%N)
    found=$(grep -c "sintfuzz violation: lost-relay" "$d/log" || true)
    if [ "$found" -gt 0 ]; then
        execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$d/log")
    else
        execs=$(grep -o '^#[0-9]*' "$d/log" | tail -1 | tr -d '#')
    fi
    cpu=$(tail -1 "$d/time" | awk '{print $1 + $2}')
    printf '%s\t%s\t%s\t%s\t%s\t%.1f\n' "$bin" "$seed" "$found" "$execs" "$cpu" \
        "$(echo "$end - $start" | bc)"
    rm -rf "$d"
}

rate() { # rate LABEL BINPATH RUNS
    local d
    d=$(mktemp -d "$TMP/e.XXXXXX")
    mkdir "$d/c"
    cp "$ROOT"/corpus/relay_lifecycle/* "$d/c/"
    (cd "$d" && SINTFUZZ_REVISION=proposed SINTFUZZ_INVARIANTS=strict \
        /usr/bin/time -f "%U %S" -o "$d/time" "$2" c -use_value_profile=1 -max_len=2200 \
        -seed=1 -runs="$3" -print_final_stats=1 >log 2>&1) || true
    local execs cpu
    execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$d/log")
    cpu=$(tail -1 "$d/time" | awk '{print $1 + $2}')
    printf '%s\t%s\t%s\t%s\n' "$1" "$execs" "$cpu" "$(echo "$execs / $cpu" | bc)"
    rm -rf "$d"
}

case $MODE in
tte)
    TRIALS=${2:-10}
    BUDGET=${3:-60}
    copy relay_lifecycle_ops relay_lifecycle shaped naive
    printf 'bin\tseed\tfound\texecutions\tcpu_s\twall_s\n'
    for seed in $(seq 1 "$TRIALS"); do
        for b in relay_lifecycle_ops relay_lifecycle shaped naive; do
            trial "$b" "$seed" "$BUDGET"
        done
    done
    ;;
execs)
    RUNS=${2:-200000}
    copy empty relay_lifecycle relay_lifecycle_ops
    printf 'bin\texecutions\tcpu_s\texecs_per_cpu_s\n'
    rate empty "$TMP/empty" "$RUNS"
    rate relay_lifecycle "$TMP/relay_lifecycle" "$RUNS"
    rate relay_lifecycle_ops "$TMP/relay_lifecycle_ops" "$RUNS"
    if [ -n "${BEFORE_BIN:-}" ]; then
        rate relay_lifecycle_before "$BEFORE_BIN" "$RUNS"
    fi
    ;;
*)
    echo "usage: bash bench/peers.sh tte [TRIALS] [CPU_SECONDS] | execs [RUNS]" >&2
    exit 2
    ;;
esac
