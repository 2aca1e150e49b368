#!/usr/bin/env bash
# Executions per second: in-process, and per engine as a ratio to an empty target.
#
#   bash bench/execs.sh                      # everything, 20 s per engine run
#   EXECS_SECONDS=10 EXECS_ENGINES="libfuzzer afl" bash bench/execs.sh
#
# Prints markdown tables (bench/results.md holds a run of it). Parts:
#   inproc     target/release/sintfuzz bench --seconds EXECS_INPROC_SECONDS (default 2):
#              the model and oracle alone, no engine, per target and revision.
#   libfuzzer  fuzz/target/x86_64-unknown-linux-gnu/release/{empty,synic_msr,proxy_filter,
#              relay_lifecycle}, each for EXECS_SECONDS from a fresh copy of its seeds, with
#              and without -use_value_profile=1; the figure is libFuzzer's final
#              stat::average_exec_per_sec (-print_final_stats=1).
#   afl        fuzz/target/release/<t>_afl under `cargo afl fuzz -V EXECS_SECONDS`; the figure
#              is execs_per_sec from out/default/fuzzer_stats (AFL++'s execs over its run
#              time, start-up and calibration included).
#   hfuzz      fuzz/hfuzz_target/.../release/<t>_hfuzz under honggfuzz -n 1 --run_time
#              EXECS_SECONDS; the figure is "Summary iterations" over the wall time of the run.
# Every target binary runs with SINTFUZZ_REVISION=proposed SINTFUZZ_INVARIANTS=strict, which
# no seed or mutant is known to violate, so runs are not cut short by a crash (a crash is
# reported and the row is marked). The empty target (fuzz/bench_targets/) gets a copy of
# corpus/relay_lifecycle/ (the largest seeds) so it mutates inputs of the same sizes.
# One process at a time, one core each; binaries are copied to a temp dir first. Runs in
# the order empty, synic_msr, proxy_filter, relay_lifecycle, per engine and mode, so that
# the ratio compares runs minutes apart on the same machine state.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FUZZ=$ROOT/fuzz
TRIPLE=x86_64-unknown-linux-gnu
SECONDS_PER_RUN=${EXECS_SECONDS:-20}
INPROC_SECONDS=${EXECS_INPROC_SECONDS:-2}
ENGINES=${EXECS_ENGINES:-inproc libfuzzer afl hfuzz}
TARGETS=(empty synic_msr proxy_filter relay_lifecycle)

unset CARGO_TARGET_DIR SINTFUZZ_LOG
export SINTFUZZ_REVISION=proposed SINTFUZZ_INVARIANTS=strict RUST_BACKTRACE=0

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sintfuzz-execs.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

build() {
    if ! (cd "$1" && shift && "$@") >"$TMP/build.log" 2>&1; then
        echo "execs: build failed: ${*:2}" >&2
        tail -n 30 "$TMP/build.log" >&2
        exit 1
    fi
}
seeds_of() { if [[ $1 == empty ]]; then echo relay_lifecycle; else echo "$1"; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f %%", 100 * a / b; else print "-" }'; }
now_ns() { date +%s%N; }

echo "# bench/execs.sh $(date -u +%Y-%m-%dT%H:%M:%SZ), nproc $(nproc)," \
    "loadavg at start $(cut -d' ' -f1-3 /proc/loadavg), ${SECONDS_PER_RUN} s per engine run"
echo

for engine in $ENGINES; do
    case $engine in
    inproc)
        build "$ROOT" cargo build --release -p sintfuzz-triage
        echo "## in-process: \`target/release/sintfuzz bench --seconds $INPROC_SECONDS\`"
        echo
        echo '```'
        "$ROOT/target/release/sintfuzz" bench --seconds "$INPROC_SECONDS"
        echo '```'
        echo
        ;;
    libfuzzer)
        build "$ROOT" cargo fuzz build -s none
        for t in "${TARGETS[@]}"; do cp "$FUZZ/target/$TRIPLE/release/$t" "$TMP/lf-$t"; done
        echo "## libFuzzer (-s none), ${SECONDS_PER_RUN} s per run, exec/s and share of the empty target"
        echo
        echo "| target | exec/s | ratio | exec/s, -use_value_profile=1 | ratio | crashed |"
        echo "|---|---:|---:|---:|---:|---|"
        declare -A LF=()
        declare -A LFC=()
        for vp in 0 1; do
            for t in "${TARGETS[@]}"; do
                d=$TMP/lf-$t-$vp
                mkdir -p "$d/art"
                cp -r "$ROOT/corpus/$(seeds_of "$t")" "$d/in"
                rc=0
                (cd "$d" && "$TMP/lf-$t" -use_value_profile=$vp -max_len=2200 -seed=1 \
                    -max_total_time="$SECONDS_PER_RUN" -print_final_stats=1 \
                    -artifact_prefix="$d/art/" "$d/in") >"$d/log" 2>&1 || rc=$?
                LF[$t/$vp]=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$d/log" | tail -n1)
                LFC[$t/$vp]=$([[ $rc == 0 ]] && echo no || echo "rc=$rc")
                rm -rf "$d"
            done
        done
        for t in "${TARGETS[@]}"; do
            echo "| $t | ${LF[$t/0]} | $(ratio "${LF[$t/0]}" "${LF[empty/0]}") |" \
                "${LF[$t/1]} | $(ratio "${LF[$t/1]}" "${LF[empty/1]}") |" \
                "${LFC[$t/0]}/${LFC[$t/1]} |"
        done
        echo
        ;;
    afl)
        build "$FUZZ" cargo afl build --release --no-default-features --features afl
        for t in "${TARGETS[@]}"; do cp "$FUZZ/target/release/${t}_afl" "$TMP/afl-$t"; done
        echo "## AFL++ (cargo afl fuzz, CmpLog -c0 as cargo-afl passes it), -V ${SECONDS_PER_RUN}"
        echo
        echo "| target | execs_per_sec | ratio | execs_done | crashes |"
        echo "|---|---:|---:|---:|---:|"
        declare -A AF=()
        declare -A AD=()
        declare -A AC=()
        for t in "${TARGETS[@]}"; do
            d=$TMP/afl-$t-run
            mkdir -p "$d"
            cp -r "$ROOT/corpus/$(seeds_of "$t")" "$d/in"
            (cd "$d" && AFL_NO_UI=1 AFL_NO_AFFINITY=1 cargo afl fuzz -s 1 -V "$SECONDS_PER_RUN" \
                -i "$d/in" -o "$d/out" "$TMP/afl-$t") >"$d/log" 2>&1 || true
            st=$d/out/default/fuzzer_stats
            AF[$t]=$(sed -n 's/^execs_per_sec *: *//p' "$st" 2>/dev/null || echo '?')
            AD[$t]=$(sed -n 's/^execs_done *: *//p' "$st" 2>/dev/null || echo '?')
            AC[$t]=$(sed -n 's/^saved_crashes *: *//p' "$st" 2>/dev/null || echo '?')
            rm -rf "$d"
        done
        for t in "${TARGETS[@]}"; do
            echo "| $t | ${AF[$t]} | $(ratio "${AF[$t]}" "${AF[empty]}") | ${AD[$t]} | ${AC[$t]} |"
        done
        echo
        ;;
    hfuzz)
        HFUZZ_BUILD_ARGS="--no-default-features --features honggfuzz" build "$FUZZ" cargo hfuzz build
        for t in "${TARGETS[@]}"; do
            cp "$FUZZ/hfuzz_target/$TRIPLE/release/${t}_hfuzz" "$TMP/hf-$t"
        done
        echo "## honggfuzz (-n 1, persistent), --run_time ${SECONDS_PER_RUN}"
        echo
        echo "| target | iterations/s | ratio | iterations | crashes |"
        echo "|---|---:|---:|---:|---:|"
        declare -A HF=()
        declare -A HI=()
        declare -A HC=()
        for t in "${TARGETS[@]}"; do
            d=$TMP/hf-$t-run
            mkdir -p "$d/ws"
            cp -r "$ROOT/corpus/$(seeds_of "$t")" "$d/in"
            t0=$(now_ns)
            "$FUZZ/hfuzz_target/honggfuzz" -n 1 --run_time "$SECONDS_PER_RUN" -v -P \
                -i "$d/in" -W "$d/ws" -- "$TMP/hf-$t" >"$d/log" 2>&1 || true
            wall=$(($(now_ns) - t0))
            sum=$(grep -m1 '^Summary iterations:' "$d/log" || true)
            HI[$t]=$(sed -n 's/^Summary iterations:\([0-9]*\).*/\1/p' <<<"$sum")
            HC[$t]=$(sed -n 's/.*crashes_count:\([0-9]*\).*/\1/p' <<<"$sum")
            HF[$t]=$(awk -v n="${HI[$t]:-0}" -v ns="$wall" 'BEGIN { printf "%.0f", n / (ns / 1e9) }')
            rm -rf "$d"
        done
        for t in "${TARGETS[@]}"; do
            echo "| $t | ${HF[$t]} | $(ratio "${HF[$t]}" "${HF[empty]}") | ${HI[$t]} | ${HC[$t]} |"
        done
        echo
        ;;
    *)
        echo "execs: unknown engine '$engine' (inproc, libfuzzer, afl, hfuzz)" >&2
        exit 2
        ;;
    esac
done
echo "loadavg at end $(cut -d' ' -f1-3 /proc/loadavg)"
