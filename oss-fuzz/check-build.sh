#!/bin/bash
# Local stand-in for OSS-Fuzz's `helper.py build_fuzzers` + `check_build` (no Docker here):
# runs oss-fuzz/build.sh (and the ClusterFuzzLite entry .clusterfuzzlite/build.sh) on this
# machine with stable Rust, RUSTC_BOOTSTRAP=1 standing in for the image's nightly (ASan
# needs -Zsanitizer=address), then checks $OUT:
#   - exactly the shipped targets are there (<base>_<config>; never the env-driven <base>),
#     each an ASan-instrumented executable with <t>.options and <t>_seed_corpus.zip;
#   - the options are the expected ones, the zip holds exactly corpus/<base>/*.bin, no seed
#     is longer than max_len;
#   - each binary runs its unzipped seed corpus clean with -runs=0 (exit 0);
#   - the settings are baked: with SINTFUZZ_REVISION=head SINTFUZZ_INVARIANTS=default set,
#     the binary still runs clean on the triage witnesses that are clean on `proposed`
#     under `strict` (while the env-driven <base> binary crashes on some of them).
# Prints one summary line per target; exits non-zero on any problem.
#
# Usage: oss-fuzz/check-build.sh
# Env: OUT, WORK, SRC (defaults under target/oss-fuzz/; a given OUT must be empty),
#      CARGO_TARGET_DIR (default target/oss-fuzz/cargo, apart from fuzz/target so other
#      builds and running fuzzers are not disturbed), CHECK_FUZZ_RUNS=N to also fuzz each
#      target for N runs with its options.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
base_dir=$root/target/oss-fuzz
if [ -z "${OUT:-}" ]; then
    OUT=$base_dir/out
    rm -rf "$OUT"
elif [ -n "$(ls -A "$OUT" 2>/dev/null)" ]; then
    echo "check-build: OUT=$OUT is not empty" >&2
    exit 2
fi
WORK=${WORK:-$base_dir/work}
SRC=${SRC:-$base_dir/src}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$base_dir/cargo}
rm -rf "$WORK"
mkdir -p "$OUT" "$WORK" "$SRC"

problems=0
problem() {
    echo "check-build: FAIL: $*" >&2
    problems=$((problems + 1))
}

# --- build, through both entry points -------------------------------------------------
echo "check-build: building (log: $WORK/build.log)"
start=$(date +%s)
if ! OUT=$OUT WORK=$WORK SRC=$SRC RUSTC_BOOTSTRAP=1 bash "$root/oss-fuzz/build.sh" \
    >"$WORK/build.log" 2>&1; then
    tail -n 30 "$WORK/build.log" >&2
    echo "check-build: FAIL: oss-fuzz/build.sh failed" >&2
    exit 1
fi
echo "check-build: oss-fuzz/build.sh took $(($(date +%s) - start)) s"
grep '^build.sh: ' "$WORK/build.log"

# ClusterFuzzLite execs oss-fuzz/build.sh from its own build.sh: same output expected.
cflite_out=$WORK/out-cflite
mkdir -p "$cflite_out"
# It runs with SINTFUZZ_NO_ZIP=1, so the python3 zip fallback is checked too.
if ! OUT=$cflite_out WORK=$WORK SRC=$SRC RUSTC_BOOTSTRAP=1 SINTFUZZ_NO_ZIP=1 \
    bash "$root/.clusterfuzzlite/build.sh" >"$WORK/build-cflite.log" 2>&1; then
    tail -n 30 "$WORK/build-cflite.log" >&2
    problem ".clusterfuzzlite/build.sh failed"
elif ! diff <(cd "$OUT" && ls) <(cd "$cflite_out" && ls) >/dev/null; then
    problem ".clusterfuzzlite/build.sh produced other files than oss-fuzz/build.sh"
else
    for z in "$OUT"/*.zip; do
        n=$(basename "$z")
        mkdir -p "$WORK/unzip/a/$n" "$WORK/unzip/b/$n"
        python3 -m zipfile -e "$z" "$WORK/unzip/a/$n" &&
            python3 -m zipfile -e "$cflite_out/$n" "$WORK/unzip/b/$n" &&
            diff -r "$WORK/unzip/a/$n" "$WORK/unzip/b/$n" >/dev/null ||
            problem "$n: the zip and python3 zipfile paths give different seeds"
    done
    echo "check-build: .clusterfuzzlite/build.sh (python3 zip path) gave the same files"
fi

# --- what should ship ---------------------------------------------------------------------
expected=()
declare -A base_of
for src in "$root"/fuzz/fuzz_targets/*.rs; do
    name=$(basename "$src" .rs)
    [ -d "$root/corpus/$name" ] && continue # env-driven, never shipped
    base=
    for dir in "$root"/corpus/*/; do
        b=$(basename "$dir")
        if [[ $name == "${b}_"* ]] && [ ${#b} -gt ${#base} ]; then
            base=$b
        fi
    done
    expected+=("$name")
    base_of[$name]=$base
done
if [ ${#expected[@]} -eq 0 ]; then
    problem "no shippable target in fuzz/fuzz_targets/"
fi

# Nothing else in $OUT: no env-driven binary, no AFL/honggfuzz bin, no stray file.
for f in "$OUT"/*; do
    n=$(basename "$f")
    t=${n%.options}
    t=${t%_seed_corpus.zip}
    if [ -z "${base_of[$t]+x}" ]; then
        problem "unexpected file in \$OUT: $n"
    fi
done

options_expected=$'[libfuzzer]\nuse_value_profile = 1\nlen_control = 0\nmax_len = 2200'
bin_dir=$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release
summary=()

for t in "${expected[@]}"; do
    base=${base_of[$t]}
    bad=$problems
    line="$t (seeds: corpus/$base)"

    bin=$OUT/$t
    if [ ! -x "$bin" ]; then
        problem "$t: no executable \$OUT/$t"
        summary+=("FAIL $line: missing binary")
        continue
    fi
    asan=$(nm "$bin" 2>/dev/null | grep -c '__asan_report' || true)
    [ "$asan" -gt 0 ] || problem "$t: no __asan_report* symbols (not an ASan build?)"

    # Options.
    opts=ok
    if [ "$(cat "$OUT/$t.options" 2>/dev/null)" != "$options_expected" ]; then
        problem "$t: $t.options missing or not the expected [libfuzzer] options"
        opts=BAD
    fi
    max_len=$(sed -n 's/^max_len *= *//p' "$OUT/$t.options" 2>/dev/null)
    max_len=${max_len:-2200}

    # Seed corpus: exactly corpus/<base>/*.bin, byte for byte.
    seeds=$WORK/seeds/$t
    mkdir -p "$seeds"
    if ! python3 -m zipfile -e "$OUT/${t}_seed_corpus.zip" "$seeds" 2>/dev/null; then
        problem "$t: ${t}_seed_corpus.zip missing or unreadable"
    fi
    if ! diff <(cd "$root/corpus/$base" && ls -- *.bin) <(cd "$seeds" && ls) >/dev/null; then
        problem "$t: zip entries differ from corpus/$base/*.bin"
    fi
    for f in "$root/corpus/$base"/*.bin; do
        cmp -s "$f" "$seeds/$(basename "$f")" || problem "$t: seed $(basename "$f") differs in zip"
    done
    n_seeds=$(find "$seeds" -type f | wc -l)
    longest=$(find "$seeds" -type f -printf '%s\n' | sort -n | tail -n 1)
    [ "${longest:-0}" -le "$max_len" ] ||
        problem "$t: a seed is $longest bytes, over max_len $max_len (libFuzzer would truncate it)"

    # Replay the seeds, as OSS-Fuzz does first, with the options' flags.
    log=$WORK/replay-$t.log
    "$bin" -runs=0 -use_value_profile=1 -max_len="$max_len" "$seeds" >"$log" 2>&1
    rc=$?
    inited=$(grep -m1 'INITED' "$log" | sed -E 's/^#([0-9]+).*cov: ([0-9]+).*/\1 inputs, cov \2/')
    if [ $rc -ne 0 ]; then
        problem "$t: seed replay exited $rc: $(grep -m1 -E 'sintfuzz violation|ERROR' "$log")"
    fi

    # Baked settings: env vars must not switch the binary. For each triage witness that is
    # clean on `proposed` under `strict` and fails somewhere else, set the env to a revision
    # and set under which its sidecar records a violation: the baked binary must stay clean, and the
    # env-driven <base> binary shows that the env would have mattered.
    witnesses=0 env_crashes=0 baked_clean=0
    for w in "$root/triage/regressions/$base"/*.bin; do
        [ -f "$w" ] || continue
        env=$(python3 - "${w%.bin}.toml" <<'PY'
import sys, tomllib
try:
    with open(sys.argv[1], "rb") as f:
        side = tomllib.load(f)
except Exception:
    sys.exit(0)
if side.get("strict", {}).get("proposed") != "clean":
    sys.exit(0)
for inv in ("default", "strict"):
    for rev, outcome in side.get(inv, {}).items():
        if outcome != "clean":
            print(rev, inv)
            sys.exit(0)
PY
)
        [ -n "$env" ] || continue
        read -r rev inv <<<"$env"
        witnesses=$((witnesses + 1))
        if SINTFUZZ_REVISION=$rev SINTFUZZ_INVARIANTS=$inv "$bin" "$w" >"$WORK/w.log" 2>&1; then
            baked_clean=$((baked_clean + 1))
        else
            problem "$t: $(basename "$w") crashes with SINTFUZZ_REVISION=$rev SINTFUZZ_INVARIANTS=$inv set: $(grep -m1 'sintfuzz violation' "$WORK/w.log")"
        fi
        if [ -x "$bin_dir/$base" ] &&
            ! SINTFUZZ_REVISION=$rev SINTFUZZ_INVARIANTS=$inv SINTFUZZ_KNOWN=report "$bin_dir/$base" "$w" >/dev/null 2>&1; then
            env_crashes=$((env_crashes + 1))
        fi
    done

    # Optional short fuzzing run.
    fuzzed=
    if [ "${CHECK_FUZZ_RUNS:-0}" -gt 0 ]; then
        corpus=$WORK/fuzz-corpus/$t
        mkdir -p "$corpus" "$WORK/artifacts/$t"
        cp "$seeds"/* "$corpus"/
        if "$bin" -runs="$CHECK_FUZZ_RUNS" -use_value_profile=1 -max_len="$max_len" \
            -artifact_prefix="$WORK/artifacts/$t/" "$corpus" >"$WORK/fuzz-$t.log" 2>&1; then
            fuzzed=", fuzzed $CHECK_FUZZ_RUNS runs clean"
        else
            problem "$t: crashed within $CHECK_FUZZ_RUNS runs (see $WORK/fuzz-$t.log, $WORK/artifacts/$t/)"
        fi
    fi

    status=ok
    [ $problems -eq $bad ] || status=FAIL
    summary+=("$status $t: ASan ($asan asan symbols), options $opts, $n_seeds seeds from corpus/$base (longest ${longest:-0} B <= max_len $max_len), replay -runs=0 exit $rc (${inited:-no INITED line}), baked: $baked_clean/$witnesses witnesses clean with SINTFUZZ_* set to a revision that fails them (env-driven $base: $env_crashes/$witnesses crash)$fuzzed")
done

echo
echo "check-build summary ($OUT):"
for s in "${summary[@]}"; do
    echo "  $s"
done
skipped=$(grep -c 'not shipped' "$WORK/build.log" || true)
echo "  not shipped (env-driven, head by default): $skipped"
if [ $problems -ne 0 ]; then
    echo "check-build: $problems problem(s)" >&2
    exit 1
fi
echo "check-build: OK"
