#!/usr/bin/env python3
"""Summarize bench/tte.sh trials into markdown tables.

    python3 bench/tte_summary.py TRIALS.tsv [TRIALS.tsv ...] [--budget 60]

One row per engine, defect id and mode. A trial *exposes* a defect when its first crash is
classified (sintfuzz bucket --json) as that defect's known id. A trial that found nothing
within the budget, or first found a different finding, did not expose it: for the median
it counts as longer than the budget (FuzzBench-style censoring), so a median shown as
">B" means fewer than half of the trials exposed the defect. min/max seconds and the median
executions are over the exposing trials only. For TTE_KEEP_GOING=1 trials the "other
finding" column counts the crashes of other findings passed on the way to the defect.
"median s, engine clock" uses AFL++'s time: field of the crash name (its clock starts after
its start-up and dry run), censored the same way.
"""
import csv
import statistics
import sys
from collections import OrderedDict, Counter

DEFECT_ORDER = ["openvmm#563", "openvmm#1162", "openvmm#1275", "SF-001", "SF-002", "SF-003",
                "SF-004", "SF-005", "SF-006"]
# Which known ids each bench/tte.sh configuration counts (as in its DEFECTS_TABLE).
COUNTS = {
    "563": ["openvmm#563"], "1162": ["openvmm#1162"], "1275": ["openvmm#1275"],
    "SF-001": ["SF-001"], "SF-002": ["SF-002"], "SF-003": ["SF-003"],
    "SF-003-relay": ["SF-003"], "SF-004": ["SF-004"], "SF-005+006": ["SF-005", "SF-006"],
    "SF-005": ["SF-005"], "SF-006": ["SF-006"],
}
ENGINE_ORDER = ["libfuzzer", "afl", "hfuzz"]


def median_censored(values, n):
    """Median of n trials where only `values` (seconds) exposed; the rest count as > budget
    (inf). With an even n, the mean of the two middle trials, or inf if either is censored."""
    if n == 0:
        return None
    xs = sorted(values) + [float("inf")] * (n - len(values))
    if n % 2:
        return xs[n // 2]
    return (xs[n // 2 - 1] + xs[n // 2]) / 2


def fmt_s(x, budget):
    if x is None:
        return "-"
    if x == float("inf"):
        return f">{budget:g}"
    return f"{x:.2f}"


def main(argv):
    budget = 60.0
    paths = []
    it = iter(argv)
    for a in it:
        if a == "--budget":
            budget = float(next(it))
        else:
            paths.append(a)
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    rows = []
    for p in paths:
        with open(p, newline="") as f:
            rows.extend(csv.DictReader(f, delimiter="\t"))

    # (engine, config, mode) -> trials (dedup by trial index: a later file wins)
    groups = OrderedDict()
    for r in rows:
        groups.setdefault((r["engine"], r["defect"], r["mode"]), {})[r["trial"]] = r

    out = []
    out.append("| engine | defect | config (target, revision, invariants) | corpus | trials |"
               " exposed | first crash was another finding | median s | min s | max s |"
               " median execs | median s, engine clock |")
    out.append("|---|---|---|---|---:|---:|---|---:|---:|---:|---:|---:|")
    keyed = []
    for (engine, config, mode), trials in groups.items():
        trials = list(trials.values())
        cfg = trials[0]
        for did in COUNTS.get(config, [config]):
            keyed.append(((ENGINE_ORDER.index(engine) if engine in ENGINE_ORDER else 9,
                           DEFECT_ORDER.index(did) if did in DEFECT_ORDER else 99,
                           config, 0 if mode == "empty" else 1),
                          engine, did, config, mode, cfg, trials))
    keyed.sort(key=lambda k: k[0])
    for _, engine, did, config, mode, cfg, trials in keyed:
        n = len(trials)
        # TTE_KEEP_GOING rows: known is "<id it stopped at><<other ids hit on the way>".
        for t in trials:
            t["hit"], _, way = t["known"].partition("<")
            t["way"] = [w for w in way.split(",") if w]
        hits = [t for t in trials if t["outcome"] == "crash" and t["hit"] == did]
        secs = [float(t["seconds"]) for t in hits]
        execs = [int(t["execs"]) for t in hits if t["execs"].isdigit()]
        # AFL++'s own clock (engine_seconds), where the engine has one.
        eng = [float(t["engine_seconds"]) for t in hits
               if (t.get("engine_seconds") or "-") not in ("-", "")]
        others = Counter(t["hit"] for t in trials if t["outcome"] == "crash" and t["hit"] != did)
        others.update(w for t in trials for w in t["way"])
        errors = sum(1 for t in trials if t["outcome"] == "error")
        other_s = ", ".join(f"{k} x{v}" for k, v in sorted(others.items())) or "-"
        if errors:
            other_s += f"; {errors} error(s)"
        med = median_censored(secs, n)
        out.append(
            f"| {engine} | {did} | `{cfg['target']}` {cfg['revision']} {cfg['invariants']}"
            f"{' (' + config + ')' if config.endswith('-relay') else ''} | {mode} | {n} |"
            f" {len(hits)}/{n} ({100 * len(hits) / n:.0f} %) | {other_s} | {fmt_s(med, budget)} |"
            f" {fmt_s(min(secs) if secs else None, budget)} |"
            f" {fmt_s(max(secs) if secs else None, budget)} |"
            f" {int(statistics.median(execs)) if execs else '-'} |"
            f" {fmt_s(median_censored(eng, n), budget) if len(eng) == len(hits) and eng else '-'} |")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
