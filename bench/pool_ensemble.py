#!/usr/bin/env python3
"""Pool the per-case lines of bench_ensemble runs made in chunks (SQ25_BENCH_FIRST /
SQ25_BENCH_CASES) into the table of a single run: usage pool_ensemble.py LOG...
The method names come from the logs' METHODS line (the list below for older logs).
Scores are means over cases; reliability is pooled (the last REL line of each log holds that
log's totals)."""
import collections
import sys

names = ["ensemble", "blend (ens. window k/2)", "blend (ens. window k)", "neighbourhood LK",
         "neighbourhood dense"]
score = collections.defaultdict(list)
crps = collections.defaultdict(list)
rel = collections.defaultdict(lambda: [[0, 0, 0.0] for _ in range(10)])
cases = set()
for path in sys.argv[1:]:
    last_rel = {}
    for line in open(path):
        f = line.split()
        if not f:
            continue
        if f[0] == "METHODS":
            names = line.split(None, 1)[1].rstrip("\n").split("|")
        elif f[0] == "CASE":
            cases.add(int(f[1]))
            score[(int(f[3]), int(f[5]), float(f[7]))].append((float(f[9]), float(f[11])))
        elif f[0] == "CRPS":
            crps[int(f[3])].append(float(f[4]))
        elif f[0] == "REL":
            last_rel[(int(f[3]), int(f[5]))] = f[6:]
    for key, v in last_rel.items():
        for b in range(10):
            rel[key][b][0] += int(v[3 * b])
            rel[key][b][1] += int(v[3 * b + 1])
            rel[key][b][2] += float(v[3 * b + 2])
print(f"{len(cases)} cases")
print("| lead | method | Brier 1 / 5 mm/h | ROC area 1 / 5 | CRPS (mm/h) |\n|---|---|---|---|---|")
for lead in (15, 30, 60):
    for m, name in enumerate(names):
        b1 = [x[0] for x in score[(lead, m, 1.0)]]
        b5 = [x[0] for x in score[(lead, m, 5.0)]]
        r1 = [x[1] for x in score[(lead, m, 1.0)]]
        r5 = [x[1] for x in score[(lead, m, 5.0)]]
        if not b1:
            continue
        mean = lambda v: sum(v) / len(v)
        c = f"{mean(crps[lead]):.3f}" if m == 0 else ""
        print(f"| {lead} min | {name} | {mean(b1):.4f} / {mean(b5):.4f} | {mean(r1):.3f} / {mean(r5):.3f} | {c} |")
print("\nreliability > 1 mm/h (mean probability / observed frequency / cells), worst |p-f| in bins >= 1 %:")
for m, name in enumerate(names):
    for lead in (15, 30, 60):
        bins = rel[(lead, m)]
        total = sum(b[0] for b in bins)
        if not total:
            continue
        cells, worst = [], 0.0
        for cnt, ev, ps in bins:
            if cnt:
                p, fr = ps / cnt, ev / cnt
                cells.append(f"{p:.2f}/{fr:.2f}/{cnt}")
                if cnt >= total / 100:
                    worst = max(worst, abs(p - fr))
            else:
                cells.append("-")
        print(f"  {name:26s} {lead:2d} min: worst {worst:.3f}  " + " ".join(cells))
