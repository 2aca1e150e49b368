#!/usr/bin/env bash
# Engine parity: every checked-in input must give the same outcome in every engine's
# binary, and the outcome it is expected to give.
#
#   bash fuzz/parity.sh                           # from the repo root (any cwd works)
#   PARITY_INVARIANTS=strict bash fuzz/parity.sh  # the [strict] tables instead
#   PARITY_ENGINES="libfuzzer afl" bash fuzz/parity.sh
#
# Inputs: corpus/<target>/*.bin (seeds) and triage/regressions/<target>/*.bin. They are
# only read; engines get copies under a temp dir. It builds every engine's binaries, copies
# them to a temp dir (so a concurrent build cannot swap one mid-run), and for each file and
# each revision runs (paths are where the copies come from):
#   inproc      sintfuzz repro --target T --revision R FILE  (the triage CLI, no engine;
#               skipped with a note if the workspace has no sintfuzz-triage package)
#   libfuzzer   SINTFUZZ_REVISION=R fuzz/target/x86_64-unknown-linux-gnu/release/T FILE
#   afl         SINTFUZZ_REVISION=R fuzz/target/release/T_afl < FILE   (stdin mode)
#   hfuzz       the honggfuzz driver in static mode on a one-file input dir, no
#               mutations, one iteration: the release T_hfuzz binary in persistent mode
#   hfuzz-debug CARGO_HONGGFUZZ_CRASH_FILENAME=FILE hfuzz_target/.../debug/T_hfuzz
#               (what `cargo hfuzz run-debug` runs under a debugger, here without one)
# Each run is reduced to "clean" or the <id> of its `sintfuzz violation: <id>:` line; an
# exit code that does not fit the output is an error. Expected outcomes:
#   seeds        default: clean on every revision; strict: clean on `proposed`, and on
#                other revisions the engines only have to agree with each other
#   regressions  the [default] (or [strict]) table of the .toml sidecar
# Exits 0 only if every (file, revision, engine) outcome matches; 1 otherwise.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FUZZ=$ROOT/fuzz
TRIPLE=x86_64-unknown-linux-gnu
REVISIONS=(unfiltered proxy-bit relay-aware head proposed)
TARGETS=(synic_msr proxy_filter relay_lifecycle all_ops)
INVARIANTS=${PARITY_INVARIANTS:-default}
ENGINES=${PARITY_ENGINES:-inproc libfuzzer afl hfuzz hfuzz-debug}

case $INVARIANTS in
default | strict) ;;
*)
    echo "parity: PARITY_INVARIANTS must be default or strict, not '$INVARIANTS'" >&2
    exit 2
    ;;
esac

# The binary paths below are cargo's defaults; a different target dir would break them.
unset CARGO_TARGET_DIR
# Settings the binaries must not inherit from the caller.
unset SINTFUZZ_LOG
export SINTFUZZ_INVARIANTS=$INVARIANTS
# Every violation must show: known open findings are not skipped.
export SINTFUZZ_KNOWN=report
export RUST_BACKTRACE=0

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sintfuzz-parity.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# build <label> <dir> <command...>: quiet unless it fails.
build() {
    local label=$1 dir=$2
    shift 2
    local t0=$SECONDS
    if ! (cd "$dir" && "$@") >"$TMP/build-$label.log" 2>&1; then
        echo "parity: build failed: $label: $*" >&2
        tail -n 30 "$TMP/build-$label.log" >&2
        exit 1
    fi
    echo "built $label in $((SECONDS - t0)) s"
}

has_engine() { [[ " $ENGINES " == *" $1 "* ]]; }

if has_engine inproc; then
    if (cd "$ROOT" && cargo pkgid sintfuzz-triage) >/dev/null 2>&1; then
        build inproc "$ROOT" cargo build -q -p sintfuzz-triage
        SINTFUZZ_CLI=$ROOT/target/debug/sintfuzz
    else
        echo "note: no sintfuzz-triage package in the workspace; skipping the in-process column"
        ENGINES=${ENGINES/inproc/}
    fi
fi
if has_engine libfuzzer; then build libfuzzer "$FUZZ" cargo fuzz build -s none; fi
if has_engine afl; then
    build afl "$FUZZ" cargo afl build --release --no-default-features --features afl
fi
export HFUZZ_BUILD_ARGS="--no-default-features --features honggfuzz"
if has_engine hfuzz; then build hfuzz "$FUZZ" cargo hfuzz build; fi
if has_engine hfuzz-debug; then build hfuzz-debug "$FUZZ" cargo hfuzz build-debug; fi
read -r -a ENGINE_LIST <<<"$ENGINES"

# Snapshot the binaries: other builds in this checkout (another engineer's `cargo fuzz
# build`, say) must not swap a binary in the middle of the run.
BIN=$TMP/bin
mkdir -p "$BIN/lf" "$BIN/afl" "$BIN/hf" "$BIN/hfd"
snap() { cp "$1" "$2" || { echo "parity: missing binary $1" >&2; exit 1; }; }
if has_engine inproc; then snap "$SINTFUZZ_CLI" "$BIN/sintfuzz"; fi
for target in "${TARGETS[@]}"; do
    if has_engine libfuzzer; then snap "$FUZZ/target/$TRIPLE/release/$target" "$BIN/lf/"; fi
    if has_engine afl; then snap "$FUZZ/target/release/${target}_afl" "$BIN/afl/"; fi
    if has_engine hfuzz; then snap "$FUZZ/hfuzz_target/$TRIPLE/release/${target}_hfuzz" "$BIN/hf/"; fi
    if has_engine hfuzz-debug; then snap "$FUZZ/hfuzz_target/$TRIPLE/debug/${target}_hfuzz" "$BIN/hfd/"; fi
done
if has_engine hfuzz; then snap "$FUZZ/hfuzz_target/honggfuzz" "$BIN/honggfuzz"; fi

# violation_id <output file>: the id of the first `sintfuzz violation: <id>:` line, or "".
violation_id() {
    grep -o -m1 'sintfuzz violation: [a-z0-9-]*:' "$1" | sed 's/^sintfuzz violation: //; s/:$//' || true
}

# classify <rc> <output file> <clean rc> <violation rc or "nonzero"> [clean marker]
# Prints "clean", the violation id, or "error(rc=N)".
classify() {
    local rc=$1 out=$2 clean_rc=$3 bad_rc=$4 marker=${5:-}
    local id
    id=$(violation_id "$out")
    if [[ -z $id && $rc == "$clean_rc" ]] && { [[ -z $marker ]] || grep -q -F "$marker" "$out"; }; then
        echo clean
    elif [[ -n $id ]] && { [[ $bad_rc == nonzero && $rc != 0 ]] || [[ $rc == "$bad_rc" ]]; }; then
        echo "$id"
    else
        echo "error(rc=$rc)"
    fi
}

# run_engine <engine> <target> <revision> <file>: prints the outcome; keeps the output
# in $TMP/out for the mismatch report.
run_engine() {
    local engine=$1 target=$2 rev=$3 file=$4 out=$TMP/out rc=0
    case $engine in
    inproc)
        "$BIN/sintfuzz" repro --target "$target" --revision "$rev" "$file" >"$out" 2>&1 || rc=$?
        classify "$rc" "$out" 0 1
        ;;
    libfuzzer)
        (cd "$TMP" && SINTFUZZ_REVISION=$rev timeout 60 \
            "$BIN/lf/$target" -artifact_prefix="$TMP/lf-" "$file") \
            >"$out" 2>&1 || rc=$?
        classify "$rc" "$out" 0 nonzero
        ;;
    afl)
        SINTFUZZ_REVISION=$rev timeout 60 "$BIN/afl/${target}_afl" \
            <"$file" >"$out" 2>&1 || rc=$?
        classify "$rc" "$out" 0 nonzero
        ;;
    hfuzz)
        rm -rf "$TMP/hf"
        mkdir -p "$TMP/hf/in" "$TMP/hf/ws"
        cp "$file" "$TMP/hf/in/"
        # -x static mode (no feedback, so the file is read whole, not in growing
        # prefixes as in the dry run), -r 0 no mutations, -N 1 one iteration, -Q keep
        # the child's stderr (the violation line printed by hfuzz_targets/panic_line.rs).
        SINTFUZZ_REVISION=$rev timeout 60 "$BIN/honggfuzz" \
            -i "$TMP/hf/in" -W "$TMP/hf/ws" -x -P -n 1 -N 1 -r 0 -Q -v \
            --exit_upon_crash --exit_code_upon_crash 77 \
            -- "$BIN/hf/${target}_hfuzz" >"$out" 2>&1 || rc=$?
        classify "$rc" "$out" 0 77
        ;;
    hfuzz-debug)
        # Clean ends with exit 2 and this message; a violation is an ordinary panic (101).
        CARGO_HONGGFUZZ_CRASH_FILENAME=$file SINTFUZZ_REVISION=$rev timeout 60 \
            "$BIN/hfd/${target}_hfuzz" >"$out" 2>&1 || rc=$?
        classify "$rc" "$out" 2 101 "didn't trigger any panics"
        ;;
    *)
        echo "parity: unknown engine '$engine'" >&2
        exit 2
        ;;
    esac
}

# sidecar_value <toml> <table> <key>: the string value of <key> in [<table>], or "".
sidecar_value() {
    awk -v table="[$2]" -v key="$3" '
        /^[[:space:]]*\[/ { gsub(/[[:space:]]/, ""); section = $0; next }
        section == table {
            line = $0
            sub(/^[[:space:]]*/, "", line)
            k = line; sub(/[[:space:]]*=.*/, "", k); gsub(/"/, "", k)
            if (k != key) next
            v = line; sub(/^[^=]*=[[:space:]]*/, "", v); sub(/[[:space:]]*(#.*)?$/, "", v)
            gsub(/"/, "", v); print v; exit
        }' "$1"
}

# expected <kind> <file> <revision>: the expected outcome, "?" if there is none (strict
# seeds on a revision other than proposed), or "missing" if a sidecar lacks the entry.
expected() {
    local kind=$1 file=$2 rev=$3
    if [[ $kind == seed ]]; then
        if [[ $INVARIANTS == default || $rev == proposed ]]; then echo clean; else echo "?"; fi
        return
    fi
    local toml=${file%.bin}.toml v=""
    [[ -f $toml ]] && v=$(sidecar_value "$toml" "$INVARIANTS" "$rev")
    echo "${v:-missing}"
}

files=0 checks=0 mismatches=0
echo "engines: ${ENGINE_LIST[*]}; invariants: $INVARIANTS; revisions: ${REVISIONS[*]}"
for kind_dir in seed:corpus regression:triage/regressions; do
    kind=${kind_dir%%:*}
    dir=$ROOT/${kind_dir#*:}
    for target in "${TARGETS[@]}"; do
        [[ -d $dir/$target ]] || continue
        for file in "$dir/$target"/*.bin; do
            [[ -f $file ]] || continue
            files=$((files + 1))
            rel=${file#"$ROOT"/}
            line=""
            bad=0
            for rev in "${REVISIONS[@]}"; do
                want=$(expected "$kind" "$file" "$rev")
                first=""
                for engine in "${ENGINE_LIST[@]}"; do
                    got=$(run_engine "$engine" "$target" "$rev" "$file")
                    checks=$((checks + 1))
                    ref=$want
                    [[ $ref == "?" ]] && ref=${first:-$got}
                    [[ -z $first ]] && first=$got
                    if [[ $got != "$ref" ]]; then
                        mismatches=$((mismatches + 1))
                        bad=1
                        echo "MISMATCH $rel revision=$rev engine=$engine: got $got, expected $ref" >&2
                        sed 's/^/    | /' "$TMP/out" | tail -n 8 >&2
                    fi
                done
                line+=" $rev=$first"
            done
            if ((bad)); then echo "FAIL $rel:$line"; else echo "ok   $rel:$line"; fi
        done
    done
done

if ((files == 0)); then
    echo "parity: no input files found under corpus/ or triage/regressions/" >&2
    exit 1
fi
echo "parity: $files files x ${#REVISIONS[@]} revisions, $checks checks, $mismatches mismatches" \
    "(engines: ${ENGINE_LIST[*]}; invariants: $INVARIANTS)"
((mismatches == 0))
