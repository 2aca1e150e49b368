#!/usr/bin/env python3
"""Re-classify the kept crashes of bench/tte.sh trials with one sintfuzz binary.

    python3 bench/reclassify.py [--sintfuzz PATH] IN.tsv OUT.tsv

For every row with a kept crash file (first-crash trials, not TTE_KEEP_GOING rows), runs
`sintfuzz bucket --json --target T --revision R --invariants I CRASH` and rewrites
`known`, `violation` and `outcome` (crash, or error if the file replays clean). Use it when
the triage CLI that classified during the run was built from a different source state
than the engine binaries (bench/results.md, "Build skew").
"""
import csv
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv):
    sintfuzz = os.path.join(ROOT, "target", "release", "sintfuzz")
    if len(argv) >= 2 and argv[0] == "--sintfuzz":
        sintfuzz, argv = argv[1], argv[2:]
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    src, dst = argv
    with open(src, newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        fields, rows = reader.fieldnames, list(reader)
    changed = 0
    for r in rows:
        if r["crash"] in ("", "-") or "<" in r["known"]:
            continue
        b = subprocess.run([sintfuzz, "bucket", "--json", "--target", r["target"], "--revision",
                            r["revision"], "--invariants", r["invariants"], r["crash"]],
                           capture_output=True, text=True)
        try:
            j = json.loads(b.stdout.splitlines()[0])
            known = j.get("known") or "new"
            violation = re.match(r"sintfuzz violation: ([a-z0-9-]+):", j["violation_line"]).group(1)
            outcome = "crash"
        except (IndexError, ValueError, KeyError, AttributeError):
            known, violation, outcome = "unclassified", "-", "error"
        if (known, violation, outcome) != (r["known"], r["violation"], r["outcome"]):
            print(f"{r['engine']}-{r['defect']}-{r['mode']}-{r['trial']}: "
                  f"{r['outcome']} {r['known']} ({r['violation']}) -> {outcome} {known} ({violation})")
            changed += 1
        r["known"], r["violation"], r["outcome"] = known, violation, outcome
    with open(dst, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, delimiter="\t", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    print(f"{changed} of {len(rows)} rows changed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
