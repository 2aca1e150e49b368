#!/usr/bin/env bash
# Every measurement in bench/results.md, with the settings used.
#
#   bash bench/run_all.sh [STEP...]     # default: all steps; OUT=/tmp/sintfuzz-bench
#
# Steps (each writes under $OUT; nothing under corpus/ or triage/ is written):
#   libfuzzer   bench/tte.sh, libFuzzer, every defect, 10 trials, empty and seeded corpus,
#               then SF-003 on relay_lifecycle as well
#   execs       bench/execs.sh (in-process, libFuzzer, AFL++, honggfuzz; 20 s runs)
#   instr       bench/instr.sh (relay_lifecycle libFuzzer exec/s by instrumentation)
#   afl         bench/tte.sh, AFL++, every defect ($AFL_TRIALS trials, default 10)
#   hfuzz       the same for honggfuzz ($HFUZZ_TRIALS, default 10)
#   keepgoing   bench/tte.sh TTE_KEEP_GOING=1, libFuzzer: #1162 (empty corpus), SF-005, SF-006
#   report      the tables: bench/tte_summary.py and bench/witness.py over the trials
# For results.md the steps were run in pieces, one trial at a time (JOBS=1), adding trials
# to the same trials.tsv with TTE_FIRST; the order of the pieces is in results.md.
# Run it from a clean tree (e.g. `git archive HEAD | tar -x -C DIR`) when others are
# editing this one: tte.sh builds the triage CLI and the engine binaries a few seconds
# apart, and an edit in between makes them disagree (results.md, "Build skew").
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
    libfuzzer)
        TTE_ENGINES=libfuzzer TTE_TRIALS=10 TTE_OUT=$OUT/libfuzzer tte
        TTE_ENGINES=libfuzzer TTE_DEFECTS=SF-003-relay TTE_TRIALS=10 TTE_OUT=$OUT/libfuzzer tte
        ;;
    execs) bash "$BENCH/execs.sh" | tee "$OUT/execs.md" ;;
    instr) bash "$BENCH/instr.sh" | tee "$OUT/instr.md" ;;
    afl) TTE_ENGINES=afl TTE_TRIALS=$AFL_TRIALS TTE_OUT=$OUT/afl tte ;;
    hfuzz) TTE_ENGINES=hfuzz TTE_TRIALS=$HFUZZ_TRIALS TTE_OUT=$OUT/hfuzz tte ;;
    keepgoing)
        TTE_ENGINES=libfuzzer TTE_KEEP_GOING=1 TTE_DEFECTS=1162 TTE_MODES=empty TTE_TRIALS=10 \
            TTE_OUT=$OUT/keepgoing tte
        TTE_ENGINES=libfuzzer TTE_KEEP_GOING=1 TTE_DEFECTS="SF-005 SF-006" TTE_TRIALS=10 \
            TTE_OUT=$OUT/keepgoing tte
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
((${#steps[@]})) || steps=(libfuzzer execs instr afl hfuzz keepgoing report)
for s in "${steps[@]}"; do step "$s"; done
