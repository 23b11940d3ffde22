#!/usr/bin/env python3
"""Nowcast every issue time of an archived storm in parallel and write one scores table.

The protocol is the one of the project's skill figures (docs/nowcast.md): files sorted by valid
time; at each issue index i the inputs are frames i-2, i-1, i; each lead 1..L is verified against
frame i+lead; scores per case are averaged over the cases (NaN-aware, as the C benchmark).

    python3 python/examples/archive_skill.py ../shared/data/radar/rmi_20210704 \
        --first 11 --last 26 --leads 12 --workers 2 --out scores.csv

Each worker process has its own library context (sq25 makes one per thread on first use), so the
processes share nothing. For an archive larger than one machine, the same `score_case` function
maps onto a Dask cluster unchanged:

    from dask.distributed import Client
    client = Client("scheduler:8786")
    futures = client.map(score_case, [(files, i, leads, method) for i in issue_indices])
    rows = client.gather(futures)

(the workers need libsq25 and this package installed, and the files on a shared path).
"""
import argparse
import csv
import glob
import math
import multiprocessing
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import numpy as np  # noqa: E402

import sq25  # noqa: E402

THRESHOLDS = (1, 5, 10)
FSS_THRESHOLD, FSS_WINDOW = 5.0, 15


def score_case(task):
    """Nowcast from frames i-2..i and score leads 1..n_leads: a list of per-lead dicts."""
    files, i, n_leads, method = task
    frames = [sq25.read_field(files[k]) for k in (i - 2, i - 1, i)]
    step_s = frames[-1].valid_time - frames[-2].valid_time
    t0 = time.perf_counter()
    u, v = sq25.motion(frames, method)
    forecasts = sq25.extrapolate(frames[-1], u, v, step_s, n_leads)
    seconds = time.perf_counter() - t0
    rows = []
    for lead in range(1, n_leads + 1):
        obs = sq25.read_field(files[i + lead])
        fc = forecasts[lead - 1]
        row = {"issue_index": i, "lead_min": lead * step_s // 60, "seconds": seconds}
        for t in THRESHOLDS:
            row[f"csi_{t}"] = sq25.nowcast.categorical(fc, obs, t)[2]
            row[f"persistence_csi_{t}"] = sq25.nowcast.categorical(frames[-1], obs, t)[2]
        row["fss"] = sq25.nowcast.fss(fc, obs, FSS_THRESHOLD, FSS_WINDOW)
        row["persistence_fss"] = sq25.nowcast.fss(frames[-1], obs, FSS_THRESHOLD, FSS_WINDOW)
        row["mae"] = sq25.nowcast.mae(fc, obs)
        row["persistence_mae"] = sq25.nowcast.mae(frames[-1], obs)
        rows.append(row)
    return rows


def nanmean(values):
    vals = [v for v in values if not math.isnan(v)]
    return sum(vals) / len(vals) if vals else float("nan")


def summarise(rows):
    """Average over cases per lead time."""
    leads = sorted({r["lead_min"] for r in rows})
    keys = [k for k in rows[0] if k not in ("issue_index", "lead_min", "seconds")]
    return [dict(lead_min=lead, cases=sum(r["lead_min"] == lead for r in rows),
                 **{k: nanmean([r[k] for r in rows if r["lead_min"] == lead]) for k in keys})
            for lead in leads]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", help="folder of radar files of one event")
    ap.add_argument("--first", type=int, default=11, help="first issue index (0-based)")
    ap.add_argument("--last", type=int, default=26, help="last issue index")
    ap.add_argument("--every", type=int, default=1, help="take every n-th issue index")
    ap.add_argument("--leads", type=int, default=12, help="leads (time steps) to verify")
    ap.add_argument("--method", default="dense", help="motion method: dense or lk")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", default="-", help="CSV table of the averages ('-' = stdout)")
    args = ap.parse_args(argv)

    files = sorted(glob.glob(os.path.join(args.folder, "*")),
                   key=lambda p: sq25.read_field(p).valid_time)
    issues = [i for i in range(args.first, args.last + 1, args.every)
              if i >= 2 and i + args.leads < len(files)]
    if not issues:
        sys.exit(f"archive_skill: no issue index in {args.first}..{args.last} has 2 frames "
                 f"before and {args.leads} after it among the {len(files)} files of {args.folder}")
    tasks = [(files, i, args.leads, args.method) for i in issues]
    t0 = time.perf_counter()
    with multiprocessing.Pool(args.workers) as pool:
        rows = [r for case in pool.map(score_case, tasks) for r in case]
    wall = time.perf_counter() - t0
    table = summarise(rows)
    out = sys.stdout if args.out == "-" else open(args.out, "w", newline="")
    w = csv.DictWriter(out, fieldnames=list(table[0]))
    w.writeheader()
    for row in table:
        w.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in row.items()})
    if out is not sys.stdout:
        out.close()
    print(f"archive_skill: {len(issues)} cases x {args.leads} leads, method {args.method}, "
          f"{args.workers} worker(s), {wall:.1f} s wall", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
