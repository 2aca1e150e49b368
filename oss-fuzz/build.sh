#!/bin/bash -eu
# Builds sintfuzz's libFuzzer targets for OSS-Fuzz and ClusterFuzzLite
# (gcr.io/oss-fuzz-base/base-builder-rust: nightly Rust and cargo-fuzz on PATH).
#
# In: $OUT (required); $SRC only to find the checkout as $SRC/sintfuzz; $WORK is not used.
# Optional: CARGO_TARGET_DIR (cargo's own), SINTFUZZ_ROOT (the checkout).
# Out, for every shipped target <t>:
#   $OUT/<t>                  the ASan + libFuzzer binary (cargo fuzz build -O --debug-assertions)
#   $OUT/<t>_seed_corpus.zip  corpus/<base>/*.bin, names kept (see fuzz/README.md)
#   $OUT/<t>.options          [libfuzzer] use_value_profile = 1, len_control = 0, max_len = 2200
#
# Which targets ship: every fuzz/fuzz_targets/<base>_<config>.rs, where corpus/<base>/ holds
# its seeds (today <base>_proposed: revision `proposed`, `strict` invariants, baked in).
# The plain fuzz/fuzz_targets/<base>.rs binaries read SINTFUZZ_REVISION/SINTFUZZ_INVARIANTS
# and default to `head`, whose known findings would crash within seconds on every run;
# OSS-Fuzz runs binaries without env vars, so they are built but not shipped.
# Local check without Docker: oss-fuzz/check-build.sh.
set -euo pipefail

: "${OUT:?OUT must name the output directory}"
mkdir -p "$OUT"

# The repository: next to this script when run from a checkout (ClusterFuzzLite execs it
# there, and so does check-build.sh); otherwise the working directory, which the OSS-Fuzz
# and ClusterFuzzLite Dockerfiles set to the checkout; otherwise $SRC/sintfuzz.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -n "${SINTFUZZ_ROOT:-}" ]; then
    root=$SINTFUZZ_ROOT
elif [ -f "$here/../fuzz/Cargo.toml" ] && [ -d "$here/../corpus" ]; then
    root=$(cd "$here/.." && pwd)
elif [ -f "$PWD/fuzz/Cargo.toml" ] && [ -d "$PWD/corpus" ]; then
    root=$PWD
elif [ -f "${SRC:-/src}/sintfuzz/fuzz/Cargo.toml" ]; then
    root=${SRC:-/src}/sintfuzz
else
    echo "build.sh: cannot find the sintfuzz checkout (set SINTFUZZ_ROOT)" >&2
    exit 1
fi
fuzz_dir=$root/fuzz
echo "build.sh: sintfuzz at $root"

# Only the libFuzzer bins are built: the AFL++ and honggfuzz bins need non-default
# features (afl, honggfuzz), so cargo skips them. In coverage builds OSS-Fuzz's cargo
# wrapper turns this into `cargo build --bins` and copies the result to the same place.
# `RUSTC_WRAPPER=` (empty): every crate fully instrumented, for OSS-Fuzz's coverage
# reports; without it the rustc wrapper .cargo/scope-coverage.sh leaves the model and the
# targets crate without sanitizer coverage (faster to each finding, bench/results.md).
cd "$fuzz_dir"
RUSTC_WRAPPER= cargo fuzz build -O --debug-assertions

target_dir=${CARGO_TARGET_DIR:-$fuzz_dir/target}
case $target_dir in
    /*) ;;
    *) target_dir=$fuzz_dir/$target_dir ;;
esac
bin_dir=$target_dir/x86_64-unknown-linux-gnu/release

# zip_dir ZIP DIR: the regular files DIR/*.bin at the top of ZIP, in name order.
zip_dir() {
    local zip=$1 dir=$2
    rm -f "$zip"
    # SINTFUZZ_NO_ZIP=1 forces the python3 path (check-build.sh tests both).
    if [ -z "${SINTFUZZ_NO_ZIP:-}" ] && command -v zip >/dev/null 2>&1; then
        (cd "$dir" && find . -maxdepth 1 -type f -name '*.bin' -printf '%P\n' |
            LC_ALL=C sort | zip -q -X "$zip" -@)
    else
        python3 - "$zip" "$dir" <<'PY'
import os, sys, zipfile
out, src = sys.argv[1], sys.argv[2]
names = sorted(n for n in os.listdir(src)
               if n.endswith(".bin") and os.path.isfile(os.path.join(src, n)))
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for n in names:
        info = zipfile.ZipInfo(n, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        with open(os.path.join(src, n), "rb") as f:
            z.writestr(info, f.read())
PY
    fi
}

shipped=0
for src in "$fuzz_dir"/fuzz_targets/*.rs; do
    name=$(basename "$src" .rs)
    if [ -d "$root/corpus/$name" ]; then
        echo "build.sh: $name: env-driven (head by default), not shipped"
        continue
    fi
    # The base target: the longest corpus/<base>/ with name = <base>_<config>.
    base=
    for dir in "$root"/corpus/*/; do
        b=$(basename "$dir")
        if [[ $name == "${b}_"* ]] && [ ${#b} -gt ${#base} ]; then
            base=$b
        fi
    done
    if [ -z "$base" ]; then
        echo "build.sh: $name: no corpus/<base>/ for fuzz_targets/$name.rs" >&2
        exit 1
    fi
    seeds=$(find "$root/corpus/$base" -maxdepth 1 -type f -name '*.bin' | wc -l)
    if [ "$seeds" -eq 0 ]; then
        echo "build.sh: $name: corpus/$base/ has no *.bin seeds" >&2
        exit 1
    fi

    cp "$bin_dir/$name" "$OUT/$name"
    zip_dir "$OUT/${name}_seed_corpus.zip" "$root/corpus/$base"
    # Value profile: the codec branches on 1-byte enum tags and fields, which libFuzzer's
    # CMP tables miss (shared/fuzz-toolchain.md §1). max_len: the codec's longest canonical
    # input is 2178 bytes. len_control: no length ramp, inputs are lists of operations
    # (bench/results.md, "Near-miss feedback and no length ramp"). No dictionary: measured, no clear gain.
    printf '[libfuzzer]\nuse_value_profile = 1\nlen_control = 0\nmax_len = 2200\n' >"$OUT/$name.options"
    echo "build.sh: $name: shipped ($seeds seeds from corpus/$base/)"
    shipped=$((shipped + 1))
done

if [ "$shipped" -eq 0 ]; then
    echo "build.sh: no target shipped" >&2
    exit 1
fi
echo "build.sh: $shipped targets in $OUT"
