#!/usr/bin/env python3
"""Minimized witness length per defect, next to the shortest known witness.

    python3 bench/witness.py TRIALS.tsv [TRIALS.tsv ...] [--engine libfuzzer] [--out DIR]

For each known defect, takes the first crash bench/tte.sh classified as that defect for the
engine (from the defect's own configuration if any; empty-corpus trials first, then seeded
ones, in trial order), and runs

    target/release/sintfuzz minimize --target T --revision R --invariants I CRASH -o MIN
    target/release/sintfuzz explain  --target T --revision R MIN        # "N operation(s):"
    target/release/sintfuzz bucket --json --target T --revision R --invariants I MIN

(bucket re-checks that the minimized file is still that known finding). The known witness
is every regression file triage/known.toml names for the id; the shortest is reported,
counted with `sintfuzz explain` on its own target (the regressions/<target>/ directory) and
the revision of the trial. Crash files are only read; minimized files go to --out
(default /tmp/sintfuzz-witness).
"""
import csv
import json
import os
import re
import subprocess
import sys
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SINTFUZZ = os.path.join(ROOT, "target", "release", "sintfuzz")
# The bench/tte.sh configuration made for each id (its crashes are preferred).
OWN = {"openvmm#563": "563", "openvmm#1162": "1162", "openvmm#1275": "1275",
       "SF-001": "SF-001", "SF-002": "SF-002", "SF-003": "SF-003", "SF-004": "SF-004",
       "SF-005": "SF-005+006", "SF-006": "SF-005+006"}
ORDER = ["openvmm#563", "openvmm#1162", "openvmm#1275", "SF-001", "SF-002", "SF-003",
         "SF-004", "SF-005", "SF-006"]


def ops(target, revision, path):
    r = subprocess.run([SINTFUZZ, "explain", "--target", target, "--revision", revision, path],
                       capture_output=True, text=True)
    m = re.search(r"^(\d+) operation\(s\):", r.stdout, re.M)
    return int(m.group(1)) if m else None


def main(argv):
    engine, out, paths = "libfuzzer", "/tmp/sintfuzz-witness", []
    it = iter(argv)
    for a in it:
        if a == "--engine":
            engine = next(it)
        elif a == "--out":
            out = next(it)
        else:
            paths.append(a)
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    os.makedirs(out, exist_ok=True)
    rows = []
    for p in paths:
        with open(p, newline="") as f:
            rows.extend(r for r in csv.DictReader(f, delimiter="\t") if r["engine"] == engine)
    rows.sort(key=lambda r: (r["mode"] != "empty", int(r["trial"])))
    with open(os.path.join(ROOT, "triage", "known.toml"), "rb") as f:
        known = tomllib.load(f)["finding"]

    print(f"| defect | first {engine} crash | actions (raw) | actions (minimized) |"
          " minimized skeleton, still classified as | shortest known witness | its actions |")
    print("|---|---|---:|---:|---|---|---:|")
    for did in ORDER:
        mine = [r for r in rows if r["outcome"] == "crash" and r["known"] == did]
        mine.sort(key=lambda r: r["defect"] != OWN[did])  # stable: own configuration first
        first = mine[0] if mine else None
        regs = sorted({k["regression"] for k in known if k["id"] == did})
        wit = []
        rev = first["revision"] if first else next(k["revisions"][-1] for k in known if k["id"] == did)
        for reg in regs:
            tgt = reg.split("/")[2]
            wit.append((ops(tgt, rev, os.path.join(ROOT, reg)), reg))
        wit.sort(key=lambda w: (w[0] is None, w[0]))
        wtxt = f"`{os.path.basename(wit[0][1])}`" if wit else "-"
        wops = wit[0][0] if wit else "-"
        if first is None:
            print(f"| {did} | none | - | - | - | {wtxt} | {wops} |")
            continue
        t, r, i = first["target"], first["revision"], first["invariants"]
        name = os.path.basename(first["crash"])
        mpath = os.path.join(out, name.replace(".bin", ".min.bin"))
        subprocess.run([SINTFUZZ, "minimize", "--target", t, "--revision", r, "--invariants", i,
                        first["crash"], "-o", mpath], capture_output=True, text=True)
        raw = ops(t, r, first["crash"])
        mops = ops(t, r, mpath) if os.path.exists(mpath) else None
        b = subprocess.run([SINTFUZZ, "bucket", "--json", "--target", t, "--revision", r,
                            "--invariants", i, mpath], capture_output=True, text=True)
        try:
            bj = json.loads(b.stdout.splitlines()[0])
            cls = f"`{bj['signature']['skeleton']}`, {bj['known'] or 'new'}"
        except (IndexError, ValueError, KeyError):
            cls = "?"
        label = f"{first['mode']} trial {first['trial']} ({first['seconds']} s), `{t}` {r}"
        print(f"| {did} | {label} | {raw} | {mops} | {cls} | {wtxt} | {wops} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
