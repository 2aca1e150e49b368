#!/bin/bash
# Executions and CPU seconds to the first crash of a libFuzzer binary from an empty corpus,
# SINTFUZZ_REVISION=proxy-bit SINTFUZZ_INVARIANTS=lost-relay, default known-finding
# suppression, one process per trial (bench/results.md, "Flags, and a plain cargo fuzz run").
# usage: [FIRST=1] lf-flags-1162.sh OUTDIR LAST_SEED "name|binary|flags" ...
# Seeds FIRST..LAST_SEED; per seed every variant in turn (alternated).
# One line per trial: name seed executions cpu_s(user+sys) wall_s load1 crashfile
# Bucket the crash files afterwards (sintfuzz bucket) to check which root cause each is.
out=$1; seeds=$2; shift 2
mkdir -p $out
for s in $(seq ${FIRST:-1} $seeds); do
  for v in "$@"; do
    IFS='|' read -r name bin flags <<<"$v"
    d=$out/$name-$s; rm -rf $d; mkdir -p $d/corpus $d/art
    load=$(cut -d' ' -f1 /proc/loadavg)
    SINTFUZZ_REVISION=proxy-bit SINTFUZZ_INVARIANTS=lost-relay /usr/bin/time -f "TIME %U %S %e" \
      nice -n 10 $bin $d/corpus -artifact_prefix=$d/art/ -seed=$s -print_final_stats=1 -max_total_time=120 $flags > $d/log 2>&1
    ex=$(grep -o 'stat::number_of_executed_units: *[0-9]*' $d/log | grep -o '[0-9]*$')
    t=$(grep '^TIME' $d/log | awk '{print $2+$3, $4}')
    cr=$(ls $d/art 2>/dev/null | head -1)
    echo "$name $s $ex $t $load $cr" | tee -a $out/trials.txt
  done
done
