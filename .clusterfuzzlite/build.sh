#!/bin/bash -eu
# ClusterFuzzLite copies this file to $SRC/build.sh; the one build lives in oss-fuzz/build.sh.
# From a checkout (not $SRC/build.sh), fall back to the script next to this one.
script=${SRC:-/src}/sintfuzz/oss-fuzz/build.sh
if [ ! -f "$script" ]; then
    script=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/oss-fuzz/build.sh
fi
exec bash "$script"
