#!/usr/bin/env bash
# Time to exposure (FuzzBench/Magma style): per known defect, per engine, N independent
# trials from an empty corpus and from the checked-in seeds; seconds and executions to the
# first violation, and which known finding that first crash is.
#
#   bash bench/tte.sh                                  # every defect, libFuzzer, 10 trials
#   TTE_ENGINES="afl hfuzz" TTE_DEFECTS="1162 SF-001" TTE_TRIALS=5 TTE_JOBS=2 bash bench/tte.sh
#   python3 bench/tte_summary.py OUT/trials.tsv ...    # the tables (bench/results.md)
#
# Settings (environment):
#   TTE_ENGINES  libfuzzer afl hfuzz               (default: libfuzzer)
#   TTE_DEFECTS  configurations from the table below (default: all but SF-003-relay)
#   TTE_MODES    empty seeds                       (default: both)
#   TTE_TRIALS   trials per engine, defect and mode (default 10)
#   TTE_BUDGET   seconds per trial                  (default 60)
#   TTE_JOBS     trials run at once, one core each  (default 1)
#   TTE_OUT      output dir (default /tmp/sintfuzz-tte/<utc stamp>); trials.tsv is appended,
#                first crashes are kept in crashes/, logs of failed trials in logs/.
#   TTE_FIRST    first trial index (default 1), to add trials to an earlier run
#   TTE_KEEP_GOING=1  (libFuzzer only) a crash that is not the defect does not end the
#                trial: libFuzzer is restarted on the same, grown corpus with the rest of
#                the budget and seed TRIAL*1000+k for the k-th restart, as `sintfuzz
#                campaign` does, until the defect or the budget. Seconds and execs are summed
#                over the runs (classifying in between does not count); `known` then lists
#                the other findings hit on the way (e.g. "openvmm#1162<SF-002,SF-002").
#
# A defect configuration is a (target, revision, invariant set) on which that defect is
# what fires; the known ids it counts follow. The first crash of a trial is classified with
#   target/release/sintfuzz bucket --json --target T --revision R --invariants I CRASH
# and the trial exposes a defect only if the bucket's "known" id is that defect's id (so
# #1162 trials that first hit SF-002, also lost-relay on proxy-bit, count as SF-002).
#
# Engines (one process, one core per trial; binaries copied to a temp dir first):
#   libfuzzer  fuzz/target/x86_64-unknown-linux-gnu/release/T -use_value_profile=1
#              -max_len=2200 -max_total_time=BUDGET -seed=TRIAL -print_final_stats=1;
#              execs: stat::number_of_executed_units (printed at the crash too)
#   afl        AFL_NO_UI=1 AFL_BENCH_UNTIL_CRASH=1 AFL_NO_AFFINITY=1
#              cargo afl fuzz -s TRIAL -V BUDGET -i IN -o OUT fuzz/target/release/T_afl;
#              execs: the execs: field of the crash file name. AFL++ refuses an empty input
#              dir, so the "empty" mode gives it one 2-byte file of zeros (which decodes to
#              no actions and is clean everywhere).
#   hfuzz      fuzz/hfuzz_target/honggfuzz -n 1 --run_time BUDGET --exit_upon_crash
#              --exit_code_upon_crash 77 -v -P -i IN -W WS -- T_hfuzz; execs: "Summary
#              iterations". honggfuzz has no seed option: its trials are not reproducible.
# Seconds are from launching the engine to the mtime of its first crash file (start-up and
# seed calibration count, exit latency does not), as in fuzz/ttf.sh. The TRIAL-th trial
# uses seed TRIAL (libFuzzer -seed, AFL++ -s). Inputs are copies under the temp dir;
# corpus/ is only read.
#
# trials.tsv columns: engine defect mode trial seed target revision invariants outcome
#   known violation seconds execs loadavg crash engine_seconds
# engine_seconds is the engine's own clock at the first crash, where it has one: AFL++'s
# time: field of the crash file name (from the end of its start-up and dry run), else "-".
# outcome: crash (a violation, classified in `known`: an id, or "new"), miss (no crash within
# the budget), error (the engine failed, see logs/).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FUZZ=$ROOT/fuzz
TRIPLE=x86_64-unknown-linux-gnu
SINTFUZZ=$ROOT/target/release/sintfuzz

# defect target revision invariants known-ids-it-counts
DEFECTS_TABLE="
563          proxy_filter    unfiltered  leak-unentitled  openvmm#563
1162         relay_lifecycle proxy-bit   lost-relay       openvmm#1162
1275         synic_msr       relay-aware vtl2-crash       openvmm#1275
SF-001       proxy_filter    head        vtl2-crash       SF-001
SF-002       relay_lifecycle head        lost-relay       SF-002
SF-003       proxy_filter    head        lost-device      SF-003
SF-003-relay relay_lifecycle head        lost-device      SF-003
SF-004       proxy_filter    head        lost-proxy-sint  SF-004
SF-005+006   proxy_filter    head        leak-unentitled  SF-005,SF-006
SF-005       proxy_filter    head        leak-unentitled  SF-005
SF-006       proxy_filter    head        leak-unentitled  SF-006
"
ALL_DEFAULT="563 1162 1275 SF-001 SF-002 SF-003 SF-004 SF-005+006"

ENGINES=${TTE_ENGINES:-libfuzzer}
DEFECTS=${TTE_DEFECTS:-$ALL_DEFAULT}
MODES=${TTE_MODES:-empty seeds}
TRIALS=${TTE_TRIALS:-10}
BUDGET=${TTE_BUDGET:-60}
JOBS=${TTE_JOBS:-1}
FIRST=${TTE_FIRST:-1}
KEEP_GOING=${TTE_KEEP_GOING:-0}
OUT=${TTE_OUT:-/tmp/sintfuzz-tte/$(date -u +%Y%m%dT%H%M%SZ)}

for v in TRIALS BUDGET JOBS FIRST; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "tte: TTE_$v must be a positive integer" >&2; exit 2; }
done
defect_row() { awk -v d="$1" '$1 == d { print; f = 1 } END { exit !f }' <<<"$DEFECTS_TABLE"; }
for d in $DEFECTS; do
    defect_row "$d" >/dev/null || { echo "tte: unknown defect '$d'" >&2; exit 2; }
done
[[ $KEEP_GOING == 0 || $ENGINES == libfuzzer ]] || {
    echo "tte: TTE_KEEP_GOING=1 is for TTE_ENGINES=libfuzzer only" >&2
    exit 2
}
for m in $MODES; do
    [[ $m == empty || $m == seeds ]] || { echo "tte: TTE_MODES: empty or seeds, not '$m'" >&2; exit 2; }
done

unset CARGO_TARGET_DIR SINTFUZZ_LOG SINTFUZZ_REVISION SINTFUZZ_INVARIANTS
# Known findings are what this measures: the engines must not skip them.
export RUST_BACKTRACE=0 SINTFUZZ_KNOWN=report
mkdir -p "$OUT/crashes" "$OUT/logs"
TSV=$OUT/trials.tsv
[[ -s $TSV ]] || printf 'engine\tdefect\tmode\ttrial\tseed\ttarget\trevision\tinvariants\toutcome\tknown\tviolation\tseconds\texecs\tloadavg\tcrash\tengine_seconds\n' >"$TSV"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sintfuzz-tte.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

build() {
    if ! (cd "$1" && shift && "$@") >"$TMP/build.log" 2>&1; then
        echo "tte: build failed: ${*:2}" >&2
        tail -n 30 "$TMP/build.log" >&2
        exit 1
    fi
}
build "$ROOT" cargo build --release -p sintfuzz-triage
cp "$SINTFUZZ" "$TMP/sintfuzz"
for engine in $ENGINES; do
    case $engine in
    libfuzzer)
        build "$FUZZ" cargo fuzz build -s none
        for t in synic_msr proxy_filter relay_lifecycle; do
            cp "$FUZZ/target/$TRIPLE/release/$t" "$TMP/libfuzzer-$t"
        done
        ;;
    afl)
        build "$FUZZ" cargo afl build --release --no-default-features --features afl
        for t in synic_msr proxy_filter relay_lifecycle; do
            cp "$FUZZ/target/release/${t}_afl" "$TMP/afl-$t"
        done
        ;;
    hfuzz)
        HFUZZ_BUILD_ARGS="--no-default-features --features honggfuzz" build "$FUZZ" cargo hfuzz build
        for t in synic_msr proxy_filter relay_lifecycle; do
            cp "$FUZZ/hfuzz_target/$TRIPLE/release/${t}_hfuzz" "$TMP/hfuzz-$t"
        done
        ;;
    *)
        echo "tte: unknown engine '$engine' (libfuzzer, afl, hfuzz)" >&2
        exit 2
        ;;
    esac
done

now_ns() { date +%s%N; }
mtime_ns() { stat -c %.9Y "$1" | tr -d .; }

# classify FILE: sets known and violation from `sintfuzz bucket --json` (target, revision
# and invariants of the trial).
classify() {
    local js
    js=$("$TMP/sintfuzz" bucket --json --target "$target" --revision "$revision" \
        --invariants "$invariants" "$1" 2>/dev/null | head -n1 || true)
    known=$(python3 -c 'import json,sys
try:
    b = json.loads(sys.argv[1]); print(b.get("known") or "new")
except Exception:
    print("unclassified")' "$js")
    violation=$(python3 -c 'import json,re,sys
try:
    m = re.match(r"sintfuzz violation: ([a-z0-9-]+):", json.loads(sys.argv[1])["violation_line"]); print(m.group(1))
except Exception:
    print("-")' "$js")
}

# keep_going: the rest of a TTE_KEEP_GOING libFuzzer trial, after its first run crashed
# ($crash, $t0, $execs). Uses the variables of trial().
keep_going() {
    local want on_way="" k=0 spent run_t0 used total_execs=${execs:-0} c kept=- outcome=miss
    want=$(awk '{ print $5 }' <<<"$(defect_row "$defect")")
    spent=$(($(mtime_ns "$crash") - t0))
    while :; do
        classify "$crash"
        if [[ $violation != - && ,$want, == *",$known,"* ]]; then
            outcome=crash
            kept=$OUT/crashes/$name.bin
            cp "$crash" "$kept"
            break
        fi
        on_way+=${on_way:+,}$known
        mv "$crash" "$d/seen-$k"
        k=$((k + 1))
        used=$(((spent + 999999999) / 1000000000))
        ((used < BUDGET)) || break
        run_t0=$(now_ns)
        (cd "$d" && "$bin" -use_value_profile=1 -max_len=2200 -max_total_time=$((BUDGET - used)) \
            -seed=$((seed * 1000 + k)) -print_final_stats=1 -artifact_prefix="$d/art/" "$d/in") \
            >"$d/log" 2>&1 || true
        c=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/log" | tail -n1)
        total_execs=$((total_execs + ${c:-0}))
        crash=$(ls -tr "$d"/art/crash-* 2>/dev/null | head -n1 || true)
        if [[ -z $crash ]]; then
            spent=$((spent + $(now_ns) - run_t0))
            break
        fi
        spent=$((spent + $(mtime_ns "$crash") - run_t0))
    done
    [[ $outcome == crash ]] || { known=-; violation=-; }
    [[ -n $on_way ]] && known="$known<$on_way"
    secs=$(awk -v ns="$spent" 'BEGIN { printf "%.2f", ns / 1e9 }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t-\n' "$engine" \
        "$defect" "$mode" "$n" "$seed" "$target" "$revision" "$invariants" "$outcome" "$known" \
        "$violation" "$secs" "$total_execs" "$load" "$kept" >>"$TSV"
    echo "$name: keep-going $outcome $known ($violation) ${secs} s $total_execs execs (load $load)"
    rm -rf "$d"
}

# trial ENGINE DEFECT MODE N: runs one trial and appends one line to trials.tsv.
trial() {
    local engine=$1 defect=$2 mode=$3 n=$4
    local target revision invariants
    read -r _ target revision invariants _ <<<"$(defect_row "$defect")"
    local name="$engine-$defect-$mode-$n" d="$TMP/$engine-$defect-$mode-$n"
    local bin=$TMP/$engine-$target seed=$n rc=0 crash="" execs="" t0 load known violation
    local engine_s=""
    mkdir -p "$d/in" "$d/art" "$d/ws"
    [[ $mode == seeds ]] && cp "$ROOT/corpus/$target"/* "$d/in/"
    [[ $mode == empty && $engine == afl ]] && printf '\0\0' >"$d/in/zero2"
    load=$(cut -d' ' -f1 /proc/loadavg)
    export SINTFUZZ_REVISION=$revision SINTFUZZ_INVARIANTS=$invariants
    t0=$(now_ns)
    case $engine in
    libfuzzer)
        (cd "$d" && "$bin" -use_value_profile=1 -max_len=2200 -max_total_time="$BUDGET" \
            -seed="$seed" -print_final_stats=1 -artifact_prefix="$d/art/" "$d/in") \
            >"$d/log" 2>&1 || rc=$?
        crash=$(ls -tr "$d"/art/crash-* 2>/dev/null | head -n1 || true)
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/log" | tail -n1)
        if [[ $KEEP_GOING == 1 && -n $crash ]]; then
            keep_going
            return
        fi
        ;;
    afl)
        (cd "$d" && AFL_NO_UI=1 AFL_BENCH_UNTIL_CRASH=1 AFL_NO_AFFINITY=1 \
            cargo afl fuzz -s "$seed" -V "$BUDGET" -i "$d/in" -o "$d/out" "$bin") \
            >"$d/log" 2>&1 || rc=$?
        crash=$(ls -tr "$d"/out/default/crashes/id:* 2>/dev/null | head -n1 || true)
        if [[ -n $crash ]]; then
            execs=$(basename "$crash" | sed -n 's/.*execs:\([0-9]*\).*/\1/p')
            engine_s=$(basename "$crash" | sed -n 's/.*,time:\([0-9]*\).*/\1/p' |
                awk '{ printf "%.2f", $1 / 1000 }')
        else
            execs=$(sed -n 's/^execs_done *: *//p' "$d/out/default/fuzzer_stats" 2>/dev/null || true)
        fi
        ;;
    hfuzz)
        seed=-
        "$FUZZ/hfuzz_target/honggfuzz" -n 1 --run_time "$BUDGET" --exit_upon_crash \
            --exit_code_upon_crash 77 -v -P -i "$d/in" -W "$d/ws" -- "$bin" \
            >"$d/log" 2>&1 || rc=$?
        crash=$(ls -tr "$d"/ws/*.fuzz 2>/dev/null | head -n1 || true)
        execs=$(sed -n 's/^Summary iterations:\([0-9]*\).*/\1/p' "$d/log" | tail -n1)
        ;;
    esac
    local wall=$(($(now_ns) - t0)) outcome secs kept=-
    known=- violation=-
    if [[ -n $crash ]]; then
        secs=$(awk -v ns="$(($(mtime_ns "$crash") - t0))" 'BEGIN { printf "%.2f", ns / 1e9 }')
        kept=$OUT/crashes/$name.bin
        cp "$crash" "$kept"
        classify "$kept"
        if [[ $violation == - ]]; then
            outcome=error # a crash file that replays clean: not a violation
            cp "$d/log" "$OUT/logs/$name.log"
        else
            outcome=crash
        fi
    elif [[ $engine == libfuzzer && $rc != 0 ]] || [[ $engine == hfuzz && $rc != 0 ]] ||
        grep -q '^sintfuzz: SINTFUZZ_' "$d/log" || { [[ $engine == afl ]] && ! [[ -f $d/out/default/fuzzer_stats ]]; }; then
        outcome=error
        secs=$(awk -v ns="$wall" 'BEGIN { printf "%.2f", ns / 1e9 }')
        cp "$d/log" "$OUT/logs/$name.log"
    else
        outcome=miss
        secs=$(awk -v ns="$wall" 'BEGIN { printf "%.2f", ns / 1e9 }')
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$engine" "$defect" \
        "$mode" "$n" "$seed" "$target" "$revision" "$invariants" "$outcome" "$known" \
        "$violation" "$secs" "${execs:-?}" "$load" "$kept" "${engine_s:--}" >>"$TSV"
    echo "$name: $outcome $known ($violation) ${secs} s ${execs:-?} execs (load $load)${engine_s:+ engine clock ${engine_s}}"
    rm -rf "$d"
}

echo "tte: engines=[$ENGINES] defects=[$DEFECTS] modes=[$MODES] trials=$FIRST..$((FIRST + TRIALS - 1))" \
    "budget=${BUDGET}s jobs=$JOBS out=$OUT nproc=$(nproc) loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
running=0
for engine in $ENGINES; do
    for defect in $DEFECTS; do
        for mode in $MODES; do
            for ((n = FIRST; n < FIRST + TRIALS; n++)); do
                if ((running >= JOBS)); then
                    wait -n || true
                    running=$((running - 1))
                fi
                trial "$engine" "$defect" "$mode" "$n" &
                running=$((running + 1))
            done
        done
    done
done
wait
echo "tte: done; python3 $ROOT/bench/tte_summary.py $TSV"
