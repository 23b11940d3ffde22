#!/usr/bin/env python3
"""Pool the per-case lines of bench_ensemble runs made in chunks (SQ25_BENCH_FIRST /
SQ25_BENCH_CASES) into the table of a single run: usage pool_ensemble.py [--only A,B] LOG...
The method names come from the logs' METHODS line (the list below for older logs); --only
prints only the methods of those comma-separated names.
Scores are means over cases; reliability is pooled (the last REL line of each log holds that
log's totals); the worst reliability gap is over the bins holding >= 1 % of the cells."""
import collections
import sys

names = ["ensemble", "blend (ens. window k/2)", "blend (ens. window k)", "neighbourhood LK",
         "neighbourhood dense"]
args = sys.argv[1:]
only = None
if args and args[0] == "--only":
    only = args[1].split(",")
    args = args[2:]
score = collections.defaultdict(list)
crps = collections.defaultdict(list)
rel = collections.defaultdict(lambda: [[0, 0, 0.0] for _ in range(10)])
cases = set()
for path in args:
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
            crps[(int(f[3]), 0)].append(float(f[4]))
        elif f[0] == "CRPSMIX":
            crps[(int(f[3]), int(f[5]))].append(float(f[6]))
        elif f[0] == "REL":
            last_rel[(int(f[3]), int(f[5]))] = f[6:]
    for key, v in last_rel.items():
        for b in range(10):
            rel[key][b][0] += int(v[3 * b])
            rel[key][b][1] += int(v[3 * b + 1])
            rel[key][b][2] += float(v[3 * b + 2])


def mean(v):
    return sum(v) / len(v)


def worst_gap(bins):
    total = sum(b[0] for b in bins)
    return max([abs(ps / cnt - ev / cnt) for cnt, ev, ps in bins if cnt and cnt * 100 >= total],
               default=0.0)


def shown(name):
    return only is None or name in only


print(f"{len(cases)} cases: {sorted(cases)}")
print("| lead | method | Brier 1 / 5 mm/h | ROC area 1 / 5 | CRPS (mm/h) | worst reliability gap 1 mm/h |")
print("|---|---|---|---|---|---|")
for lead in (15, 30, 60):
    for m, name in enumerate(names):
        b1 = [x[0] for x in score[(lead, m, 1.0)]]
        b5 = [x[0] for x in score[(lead, m, 5.0)]]
        r1 = [x[1] for x in score[(lead, m, 1.0)]]
        r5 = [x[1] for x in score[(lead, m, 5.0)]]
        if not b1 or not shown(name):
            continue
        c = crps.get((lead, m))
        c = (f"{mean(c):.3f}" + (" (cell)" if m else "")) if c else ""
        print(f"| {lead} min | {name} | {mean(b1):.4f} / {mean(b5):.4f} | {mean(r1):.3f} / "
              f"{mean(r5):.3f} | {c} | {worst_gap(rel[(lead, m)]):.3f} |")
print("\nreliability > 1 mm/h (mean probability / observed frequency / cells):")
for m, name in enumerate(names):
    if not shown(name):
        continue
    for lead in (15, 30, 60):
        bins = rel[(lead, m)]
        if not sum(b[0] for b in bins):
            continue
        cells = [f"{ps / cnt:.2f}/{ev / cnt:.2f}/{cnt}" if cnt else "-" for cnt, ev, ps in bins]
        print(f"  {name:26s} {lead:2d} min: worst {worst_gap(bins):.3f}  " + " ".join(cells))
