#!/usr/bin/env bash
# Time to first violation, per engine, from the checked-in seeds.
#
#   bash fuzz/ttf.sh ENGINE TARGET REVISION INVARIANTS RUNS BUDGET_SECONDS
#   bash fuzz/ttf.sh libfuzzer relay_lifecycle proxy-bit lost-relay 5 120
#
# ENGINE is libfuzzer, afl or hfuzz. Each trial copies corpus/TARGET to a fresh temp dir
# (corpus/ is never written), runs one fuzzer process (one core) with
# SINTFUZZ_REVISION=REVISION SINTFUZZ_INVARIANTS=INVARIANTS until the first crash or the
# budget, and reports the time from launching the fuzzer to the mtime of its first crash
# file, so engine start-up counts and exit latency does not. A trial is a hit only if the
# crash carries a `sintfuzz violation: <id>:` line; the id is printed.
#   libfuzzer  fuzz/target/x86_64-unknown-linux-gnu/release/TARGET -use_value_profile=1
#              -max_len=2200 -max_total_time=BUDGET -seed=N  (stops at the first crash)
#   afl        AFL_NO_UI=1 AFL_BENCH_UNTIL_CRASH=1 AFL_NO_AFFINITY=1
#              cargo afl fuzz -s N -V BUDGET -i COPY -o OUT fuzz/target/release/TARGET_afl
#              (the crash is replayed with TARGET_afl on stdin to read its id)
#   hfuzz      fuzz/hfuzz_target/honggfuzz -n 1 --run_time BUDGET --exit_upon_crash
#              --exit_code_upon_crash 77 -Q -P -i COPY -W WS -- TARGET_hfuzz
#              (honggfuzz has no seed option: its trials are not seeded)
# Trial N uses seed TTF_SEED_BASE+N (default base 0). Extra engine flags can be appended
# with TTF_EXTRA_ARGS. The binaries are built first (`cargo fuzz build -s none`,
# `cargo afl build --release ...`, `cargo hfuzz build`), as in fuzz/README.md.
# The median counts a miss as longer than the budget. Each trial line ends with the 1-minute
# load average at its start: other processes on the machine slow every engine down.
set -euo pipefail

if (($# != 6)); then
    echo "usage: bash fuzz/ttf.sh ENGINE TARGET REVISION INVARIANTS RUNS BUDGET_SECONDS" >&2
    echo "  e.g. bash fuzz/ttf.sh libfuzzer relay_lifecycle proxy-bit lost-relay 5 120" >&2
    exit 2
fi
ENGINE=$1 TARGET=$2 REVISION=$3 INVARIANTS=$4 RUNS=$5 BUDGET=$6
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FUZZ=$ROOT/fuzz
TRIPLE=x86_64-unknown-linux-gnu
SEED_BASE=${TTF_SEED_BASE:-0}
read -r -a EXTRA <<<"${TTF_EXTRA_ARGS:-}"

[[ -d $ROOT/corpus/$TARGET ]] || { echo "ttf: no corpus/$TARGET" >&2; exit 2; }
[[ $RUNS =~ ^[1-9][0-9]*$ && $BUDGET =~ ^[1-9][0-9]*$ ]] || {
    echo "ttf: RUNS and BUDGET_SECONDS must be positive integers" >&2
    exit 2
}

unset CARGO_TARGET_DIR SINTFUZZ_LOG
export SINTFUZZ_REVISION=$REVISION SINTFUZZ_INVARIANTS=$INVARIANTS RUST_BACKTRACE=0
# Time to the first violation of any kind: known findings are not skipped.
export SINTFUZZ_KNOWN=report

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sintfuzz-ttf.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

build() {
    if ! (cd "$FUZZ" && "$@") >"$TMP/build.log" 2>&1; then
        echo "ttf: build failed: $*" >&2
        tail -n 30 "$TMP/build.log" >&2
        exit 1
    fi
}
case $ENGINE in
libfuzzer)
    build cargo fuzz build -s none "$TARGET"
    BIN=$FUZZ/target/$TRIPLE/release/$TARGET
    ;;
afl)
    build cargo afl build --release --no-default-features --features afl --bin "${TARGET}_afl"
    BIN=$FUZZ/target/release/${TARGET}_afl
    ;;
hfuzz)
    HFUZZ_BUILD_ARGS="--no-default-features --features honggfuzz" build cargo hfuzz build
    BIN=$FUZZ/hfuzz_target/$TRIPLE/release/${TARGET}_hfuzz
    ;;
*)
    echo "ttf: ENGINE must be libfuzzer, afl or hfuzz, not '$ENGINE'" >&2
    exit 2
    ;;
esac
cp "$BIN" "$TMP/bin"

# A bad revision or invariant list must stop the script, not look like "no crash found".
# The binaries print `sintfuzz: SINTFUZZ_...: <error>` and exit 2 at the first input.
bad_settings() {
    if grep -q '^sintfuzz: SINTFUZZ_' "$1"; then
        echo "ttf: $(grep -m1 '^sintfuzz: SINTFUZZ_' "$1")" >&2
        exit 2
    fi
}
: >"$TMP/empty"
case $ENGINE in
libfuzzer) "$TMP/bin" "$TMP/empty" >"$TMP/check" 2>&1 || true ;;
afl) "$TMP/bin" <"$TMP/empty" >"$TMP/check" 2>&1 || true ;;
hfuzz) : >"$TMP/check" ;; # only runs under honggfuzz: checked in each trial's log
esac
bad_settings "$TMP/check"

# now_ns, mtime_ns FILE
now_ns() { date +%s%N; }
mtime_ns() { stat -c %.9Y "$1" | tr -d .; }
secs() { awk -v ns="$1" 'BEGIN { printf "%.2f", ns / 1e9 }'; }
violation_id() {
    grep -o -m1 'sintfuzz violation: [a-z0-9-]*:' "$1" | sed 's/^sintfuzz violation: //; s/:$//' || true
}

echo "ttf: engine=$ENGINE target=$TARGET revision=$REVISION invariants=$INVARIANTS" \
    "runs=$RUNS budget=${BUDGET}s seeds=corpus/$TARGET ($(ls "$ROOT/corpus/$TARGET" | wc -l) files)" \
    "nproc=$(nproc) loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"

results=() # per trial: ttf in ns, or "miss"
hits=0
for ((n = 1; n <= RUNS; n++)); do
    d=$TMP/trial-$n
    mkdir -p "$d/ws" "$d/artifacts"
    cp -r "$ROOT/corpus/$TARGET" "$d/in"
    seed=$((SEED_BASE + n))
    [[ $ENGINE == hfuzz ]] && seed=none
    rc=0
    crash="" id="" execs="?"
    load=$(cut -d' ' -f1 /proc/loadavg)
    t0=$(now_ns)
    case $ENGINE in
    libfuzzer)
        (cd "$d" && "$TMP/bin" -use_value_profile=1 -max_len=2200 -max_total_time="$BUDGET" \
            -seed="$seed" -artifact_prefix="$d/artifacts/" -print_final_stats=1 \
            "${EXTRA[@]}" "$d/in") >"$d/log" 2>&1 || rc=$?
        crash=$(ls -tr "$d"/artifacts/crash-* 2>/dev/null | head -n1 || true)
        [[ -n $crash ]] && id=$(violation_id "$d/log")
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/log" | tail -n1)
        ;;
    afl)
        (cd "$d" && AFL_NO_UI=1 AFL_BENCH_UNTIL_CRASH=1 AFL_NO_AFFINITY=1 \
            cargo afl fuzz -s "$seed" -V "$BUDGET" -i "$d/in" -o "$d/out" "${EXTRA[@]}" \
            "$TMP/bin") >"$d/log" 2>&1 || rc=$?
        crash=$(ls -tr "$d"/out/default/crashes/id:* 2>/dev/null | head -n1 || true)
        if [[ -n $crash ]]; then
            # In a subshell that outlives the binary, so the shell's "Aborted" goes to the file.
            ("$TMP/bin" <"$crash" || true) >"$d/replay" 2>&1
            id=$(violation_id "$d/replay")
            execs=$(basename "$crash" | sed -n 's/.*execs:\([0-9]*\).*/\1/p')
        else
            execs=$(sed -n 's/^execs_done *: *//p' "$d/out/default/fuzzer_stats" 2>/dev/null || true)
        fi
        ;;
    hfuzz)
        "$FUZZ/hfuzz_target/honggfuzz" -n 1 --run_time "$BUDGET" --exit_upon_crash \
            --exit_code_upon_crash 77 -Q -v -P -i "$d/in" -W "$d/ws" "${EXTRA[@]}" \
            -- "$TMP/bin" >"$d/log" 2>&1 || rc=$?
        crash=$(ls -tr "$d"/ws/*.fuzz 2>/dev/null | head -n1 || true)
        [[ -n $crash ]] && id=$(violation_id "$d/log")
        execs=$(sed -n 's/.*Summary iterations:\([0-9]*\).*/\1/p' "$d/log" | tail -n1)
        ;;
    esac
    wall=$(($(now_ns) - t0))
    bad_settings "$d/log"
    if [[ -n $crash && -n $id ]]; then
        ttf=$(($(mtime_ns "$crash") - t0))
        results+=("$ttf")
        hits=$((hits + 1))
        echo "trial $n/$RUNS seed=$seed: hit $id at $(secs "$ttf") s (${execs:-?} execs, rc=$rc, load $load)"
    elif [[ -n $crash ]]; then
        results+=(miss)
        echo "trial $n/$RUNS seed=$seed: crash without a violation line: $crash (rc=$rc)"
        tail -n 20 "$d/log" | sed 's/^/    | /'
        keep=${TMPDIR:-/tmp}/sintfuzz-ttf-unexplained
        mkdir -p "$keep" && cp "$crash" "$keep/$ENGINE-trial$n.bin" && echo "    kept as $keep/$ENGINE-trial$n.bin"
    else
        results+=(miss)
        echo "trial $n/$RUNS seed=$seed: miss after $(secs "$wall") s (${execs:-?} execs, rc=$rc, load $load)"
    fi
    rm -rf "$d"
done

# Median (misses sort last, as longer than the budget), min and max over hits.
sorted=$(printf '%s\n' "${results[@]}" | sed 's/^miss$/9999999999999999999/' | sort -n)
mid=$(echo "$sorted" | sed -n "$(((RUNS + 1) / 2))p")
median_of() {
    # RUNS even: mean of the two middle values, if both are hits.
    if ((RUNS % 2 == 1)); then
        echo "$1"
    else
        local b
        b=$(echo "$sorted" | sed -n "$((RUNS / 2 + 1))p")
        if [[ $b == 9999999999999999999 ]]; then echo "$b"; else echo $((($1 + b) / 2)); fi
    fi
}
med=$(median_of "$mid")
fmt() { if [[ $1 == 9999999999999999999 ]]; then echo ">${BUDGET}"; else secs "$1"; fi; }
hit_times=$(printf '%s\n' "${results[@]}" | grep -v '^miss$' | sort -n || true)
if ((hits > 0)); then
    min="$(secs "$(echo "$hit_times" | head -n1)") s"
    max="$(secs "$(echo "$hit_times" | tail -n1)") s"
else
    min=- max=-
fi
echo "summary engine=$ENGINE target=$TARGET revision=$REVISION invariants=$INVARIANTS:" \
    "hits $hits/$RUNS, median $(fmt "$med") s, min $min, max $max (min/max over hits; budget ${BUDGET} s)"
