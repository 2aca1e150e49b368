#!/usr/bin/env bash
# Every measurement in bench/results.md, in the order it was run, with the settings used.
#
#   bash bench/run_all.sh [STEP...]     # default: all steps; OUT=/tmp/sintfuzz-bench
#   JOBS=2 bash bench/run_all.sh afl hfuzz
#
# Steps (each writes under $OUT; nothing under corpus/ or triage/ is written):
#   libfuzzer   bench/tte.sh, libFuzzer, every defect, 10 trials, empty and seeded corpus
#   execs       bench/execs.sh (in-process, libFuzzer, AFL++, honggfuzz; 20 s runs)
#   afl         bench/tte.sh, AFL++, historical defects and SF-001..SF-003 ($AFL_TRIALS)
#   hfuzz       the same for honggfuzz ($HFUZZ_TRIALS)
#   keepgoing   bench/tte.sh TTE_KEEP_GOING=1, libFuzzer: #1162 (empty corpus), SF-005, SF-006
#   rest        AFL++ and honggfuzz for SF-004 and SF-005+006; libFuzzer SF-003 on relay_lifecycle
#   report      the tables: bench/tte_summary.py and bench/witness.py over the trials
# JOBS (default 1) trials at once; keep it at 1 while anything else uses a core.
set -euo pipefail
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-/tmp/sintfuzz-bench}
JOBS=${JOBS:-1}
AFL_TRIALS=${AFL_TRIALS:-10}
HFUZZ_TRIALS=${HFUZZ_TRIALS:-10}
mkdir -p "$OUT"

tte() { TTE_JOBS=$JOBS bash "$BENCH/tte.sh"; }
step() {
    case $1 in
    libfuzzer) TTE_ENGINES=libfuzzer TTE_TRIALS=10 TTE_OUT=$OUT/libfuzzer tte ;;
    execs) bash "$BENCH/execs.sh" | tee "$OUT/execs.md" ;;
    afl)
        TTE_ENGINES=afl TTE_DEFECTS="563 1162 1275 SF-001 SF-002 SF-003" \
            TTE_TRIALS=$AFL_TRIALS TTE_OUT=$OUT/afl tte
        ;;
    hfuzz)
        TTE_ENGINES=hfuzz TTE_DEFECTS="563 1162 1275 SF-001 SF-002 SF-003" \
            TTE_TRIALS=$HFUZZ_TRIALS TTE_OUT=$OUT/hfuzz tte
        ;;
    keepgoing)
        TTE_ENGINES=libfuzzer TTE_KEEP_GOING=1 TTE_DEFECTS=1162 TTE_MODES=empty TTE_TRIALS=10 \
            TTE_OUT=$OUT/keepgoing tte
        TTE_ENGINES=libfuzzer TTE_KEEP_GOING=1 TTE_DEFECTS="SF-005 SF-006" TTE_TRIALS=10 \
            TTE_OUT=$OUT/keepgoing tte
        ;;
    rest)
        TTE_ENGINES=libfuzzer TTE_DEFECTS=SF-003-relay TTE_TRIALS=10 TTE_OUT=$OUT/libfuzzer tte
        TTE_ENGINES=afl TTE_DEFECTS="SF-004 SF-005+006" TTE_TRIALS=$AFL_TRIALS TTE_OUT=$OUT/afl tte
        TTE_ENGINES=hfuzz TTE_DEFECTS="SF-004 SF-005+006" TTE_TRIALS=$HFUZZ_TRIALS \
            TTE_OUT=$OUT/hfuzz tte
        ;;
    report)
        python3 "$BENCH/tte_summary.py" "$OUT"/{libfuzzer,afl,hfuzz}/trials.tsv
        echo
        python3 "$BENCH/tte_summary.py" "$OUT/keepgoing/trials.tsv"
        echo
        python3 "$BENCH/witness.py" "$OUT/libfuzzer/trials.tsv" --out "$OUT/witness"
        ;;
    *)
        echo "run_all: unknown step '$1'" >&2
        exit 2
        ;;
    esac
}
steps=("$@")
((${#steps[@]})) || steps=(libfuzzer execs afl hfuzz keepgoing rest report)
for s in "${steps[@]}"; do step "$s"; done
