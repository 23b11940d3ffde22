#!/usr/bin/python3
"""The library's default probability with other control weights, scored offline on the grids
that bench_ensemble dumps (SQ25_BENCH_DUMP=DIR): docs/ensemble.md, "Session 6: skill".

usage: ensemble_weights.py DIR FIRST_ISSUE LAST_ISSUE [W,W,...]   (default 0.3,0.4,0.5,0.65)

For each weight W and lead 15 / 30 / 60 min, one JSON line: Brier and ROC area (10 thresholds)
at 1 and 5 mm/h, the worst reliability gap at 1 mm/h (bins holding >= 1 % of the cells) of
(1 - W) x the members' fraction + W x the control's (the dense extrapolation in the dump),
both over the window of half side k at lead k, as lib/ensemble_prob.c; and the CRPS of the
distribution that probability describes (sq25_verify_crps_neighbourhood, the members pooled
over the window with the control at weight W). A last row per lead is the dense
neighbourhood probability (W = 1) with the members' CRPS. Cells, formulas and pooling as
bench_ensemble (bench/ensemble_roc.py reproduces its default row); the figures equal the
bench's per-case lines for the weights it prints (0.3, 0.5, 0.65)."""
import glob
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import ensemble_roc as er  # noqa: E402
import sq25.ensemble as se  # noqa: E402

LEADS = (3, 6, 12)
THRESHOLDS = (1.0, 5.0)


def worst_gap(rel):
    total = rel[0].sum()
    return max([abs(rel[2][b] - rel[1][b]) / rel[0][b] for b in range(10)
                if rel[0][b] and rel[0][b] * 100 >= total] or [0])


def score_case(d, case, k, weights, acc):
    mem, lk, dense, obs = er.load(d, case, k)
    bad = np.isnan(obs) | np.isnan(lk) | np.isnan(dense) | np.all(np.isnan(mem), axis=0)
    obs = np.where(bad, np.nan, obs).astype(np.float32)
    masked = np.where(np.isnan(obs)[None], np.nan, mem).astype(np.float32)
    acc.setdefault(("members", k, "crps"), []).append(se.crps(list(masked), obs))
    for thr in THRESHOLDS:
        blend = er.window_mean(er.fraction(mem, thr), k)
        control = er.window_mean(er.indicator(dense, thr), k)
        rows = {("W", w): er.mix(blend, control, w) for w in weights}
        rows[("dense", 1.0)] = control
        for key, p in rows.items():
            sc = er.probability_scores(p, obs, thr)
            r = acc.setdefault((key, k, thr), {"brier": [], "roc": [], "rel": np.zeros((3, 10))})
            r["brier"].append(sc["brier"])
            if sc["ev"].any():  # a case without events has no ROC area
                r["roc"].append(sc["roc"])
            r["rel"] += sc["rel"]
    for w in weights:
        c, _ = se.crps_neighbourhood(list(mem.astype(np.float32)), obs,
                                     control=dense.astype(np.float32), control_weight=w,
                                     half_side=k)
        acc.setdefault((("W", w), k, "crps"), []).append(c)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    d, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    weights = [float(x) for x in (sys.argv[4] if len(sys.argv) > 4 else "0.3,0.4,0.5,0.65").split(",")]
    cases = sorted({int(os.path.basename(p)[4:].split("_")[0])
                    for p in glob.glob(os.path.join(d, "case*_lead12.f32"))})
    cases = [c for c in cases if first <= c <= last]
    if not cases:
        sys.exit("ensemble_weights: no dumped case %d..%d in %s" % (first, last, d))
    acc = {}
    for case in cases:
        for k in LEADS:
            score_case(d, case, k, weights, acc)
        print("case", case, file=sys.stderr, flush=True)
    for key in [("W", w) for w in weights] + [("dense", 1.0)]:
        for k in LEADS:
            row = {"row": "%s %g" % key, "lead_min": 5 * k, "cases": len(cases)}
            for thr in THRESHOLDS:
                r = acc[(key, k, thr)]
                row["brier%g" % thr] = round(float(np.mean(r["brier"])), 5)
                row["roc%g" % thr] = round(float(np.mean(r["roc"])), 4)
                if thr == 1.0:
                    row["gap1"] = round(float(worst_gap(r["rel"])), 4)
            if key[0] == "W":
                row["crps_shipped"] = round(float(np.mean(acc[(key, k, "crps")])), 5)
            else:
                row["crps_members"] = round(float(np.mean(acc[("members", k, "crps")])), 5)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
