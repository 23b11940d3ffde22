#!/usr/bin/python3
"""Why the ensemble's ROC area at 1 mm/h lags the neighbourhood probability at long leads, and
what post-processing of the probabilities does about it: offline, on the raw grids that
bench_ensemble writes with SQ25_BENCH_DUMP=DIR (docs/ensemble.md, "ROC area at 60 min").

usage: ensemble_roc.py DIR FIRST_ISSUE LAST_ISSUE LEAD_STEPS [candidates]

Scores as bench_ensemble computes them (lib/verify_ensemble.c): the cells valid in the
observation and every forecast; Brier on value > 1 mm/h; ROC with 10 probability thresholds
j/9 (forecast event p >= j/9, observed event value >= 1 mm/h) and the trapezoid through (1,1)
and (0,0), averaged over cases; reliability pooled, worst |mean p - observed frequency| over
the 10 bins holding >= 1 % of the cells. Also the ROC area over every probability value
(Mann-Whitney), which does not depend on where the probabilities lie between 0 and 1.
Rows: the default probability of 1.2-1.5 (members' fraction over a square window of half side k at lead
k, 0.7 x that + 0.3 x the control's fraction in the same window), the neighbourhood
probability of the dense and LK extrapolations (window k); with "candidates", the variants
tried: square windows of other sizes for the members and the control, control weights 0.3 to
0.5, Gaussian kernels, a power of the default and the neighbourhood maximum (a member counts
where it exceeds within r cells; Schwartz and Sobash 2017)."""
import glob
import math
import os
import sys

import numpy as np
from scipy.ndimage import gaussian_filter, maximum_filter
from scipy.stats import rankdata

THR = 1.0


def load(d, case, k):
    w, h, m = map(int, open(os.path.join(d, "grid.txt")).read().split())
    a = np.fromfile(os.path.join(d, "case%d_lead%d.f32" % (case, k)), dtype=np.float32)
    a = a.reshape(m + 3, h, w)
    return a[:m], a[m], a[m + 1], a[m + 2]


def box_sum(a, r):
    h, w = a.shape
    s = np.zeros((h + 1, w + 1))
    s[1:, 1:] = a.cumsum(0).cumsum(1)
    y0 = np.clip(np.arange(h) - r, 0, h)
    y1 = np.clip(np.arange(h) + r + 1, 0, h)
    x0 = np.clip(np.arange(w) - r, 0, w)
    x1 = np.clip(np.arange(w) + r + 1, 0, w)
    return s[y1][:, x1] - s[y0][:, x1] - s[y1][:, x0] + s[y0][:, x0]


def window_mean(v, r, gauss=False):
    """mean of v over the valid cells of the window (Gaussian: weights of sigma r)."""
    ok = ~np.isnan(v)
    z = np.where(ok, v, 0).astype(np.float64)
    if gauss:
        c = gaussian_filter(ok.astype(np.float64), r, mode="constant", truncate=3.0)
        s = gaussian_filter(z, r, mode="constant", truncate=3.0)
    else:
        c = box_sum(ok.astype(np.float64), r)
        s = box_sum(z, r)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (s / c).astype(np.float32)
    out[~ok] = np.nan
    return out


def fraction(members, t, dilate=0):
    ok = ~np.isnan(members)
    ex = (np.where(ok, members, 0) > t).astype(np.float32)
    if dilate:
        ex = maximum_filter(ex, size=(1, 2 * dilate + 1, 2 * dilate + 1), mode="constant")
    n = ok.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = (ex.sum(0) / n).astype(np.float32)
    p[n == 0] = np.nan
    return p


def indicator(x, t):
    out = (x > t).astype(np.float32)
    out[np.isnan(x)] = np.nan
    return out


def mix(blend, control, w):
    return np.where(np.isnan(control), blend, (1 - w) * blend + w * control).astype(np.float32)


def probability_scores(p, obs, thr=THR):
    """The bench's scores of probability p against obs on the cells valid in both: Brier
    (value > thr), the ROC points and area (10 thresholds j/9, trapezoid; event value >= thr),
    the reliability counts per bin (cells, events > thr, sum of p), and the valid p and events."""
    ok = ~np.isnan(p) & ~np.isnan(obs)
    pp = p[ok].astype(np.float64)
    y = obs[ok]
    ev = y >= thr
    pod, pofd = [], []
    with np.errstate(invalid="ignore", divide="ignore"):  # no events: NaN, left out by callers
        for j in range(10):
            warned = pp >= j / 9.0
            pod.append(np.sum(warned & ev) / np.sum(ev))
            pofd.append(np.sum(warned & ~ev) / np.sum(~ev))
    area, pf, pd = 0.0, 1.0, 1.0
    for j in range(11):
        d, f = (pod[j], pofd[j]) if j < 10 else (0.0, 0.0)
        area += (pf - f) * (pd + d) / 2
        pf, pd = f, d
    bins = np.clip(np.floor(pp * 10).astype(int), 0, 9)
    rel = np.array([np.bincount(bins, minlength=10),
                    np.bincount(bins, weights=(y > thr).astype(float), minlength=10),
                    np.bincount(bins, weights=pp, minlength=10)])
    return {"brier": np.mean((pp - (y > thr)) ** 2), "roc": area, "pod": pod, "pofd": pofd,
            "rel": rel, "pp": pp, "ev": ev}


class Scores:
    def __init__(self):
        self.rows = {}

    def add(self, name, p, obs):
        sc = probability_scores(p, obs)
        pp, ev, pod, pofd, rel = sc["pp"], sc["ev"], sc["pod"], sc["pofd"], sc["rel"]
        r = rankdata(pp)
        n1, n0 = ev.sum(), (~ev).sum()
        auc = (r[ev].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
        row = self.rows.setdefault(name, {"brier": [], "roc": [], "auc": [], "pts": [],
                                          "rel": np.zeros((3, 10))})
        row["brier"].append(sc["brier"])
        row["roc"].append(sc["roc"])
        row["auc"].append(auc)
        row["pts"].append((pod, pofd))
        row["rel"] += rel

    def print(self):
        print("| method | Brier 1 mm/h | ROC area (10 thresholds) | ROC area (all values) | "
              "worst gap | POD / POFD at p >= 1/9, 2/9, 3/9 |")
        print("|---|---|---|---|---|---|")
        for name, row in self.rows.items():
            rel = row["rel"]
            total = rel[0].sum()
            gap = max([abs(rel[2][b] - rel[1][b]) / rel[0][b] for b in range(10)
                       if rel[0][b] and rel[0][b] * 100 >= total] or [0])
            pod = np.mean([p[0] for p in row["pts"]], 0)
            pofd = np.mean([p[1] for p in row["pts"]], 0)
            pts = ", ".join("%.3f / %.3f" % (pod[j], pofd[j]) for j in (1, 2, 3))
            print("| %s | %.4f | %.3f | %.3f | %.3f | %s |" % (
                name, np.mean(row["brier"]), np.mean(row["roc"]), np.mean(row["auc"]), gap, pts))


def main():
    d, first, last, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    candidates = len(sys.argv) > 5 and sys.argv[5] == "candidates"
    cases = sorted({int(os.path.basename(p)[4:].split("_")[0])
                    for p in glob.glob(os.path.join(d, "case*_lead%d.f32" % k))})
    sc = Scores()
    for case in [c for c in cases if first <= c <= last]:
        mem, lk, dense, obs = load(d, case, k)
        bad = np.isnan(obs) | np.isnan(lk) | np.isnan(dense) | np.all(np.isnan(mem), axis=0)
        obs = np.where(bad, np.nan, obs)
        pe = fraction(mem, THR)
        control = indicator(dense, THR)
        default = mix(window_mean(pe, k), window_mean(control, k), 0.3)
        rows = {"default (blend c=1 + control 0.3)": default,
                "neighbourhood dense": window_mean(control, k),
                "neighbourhood LK": window_mean(indicator(lk, THR), k)}
        if candidates:
            for rm, rc, w in ((2 * k, k, 0.3), (3 * k // 2, k, 0.4), (k, k, 0.5),
                              (k, 3 * k // 2, 0.5), (2 * k, k, 0.5)):
                rows["square members %d, control %d, weight %.1f" % (rm, rc, w)] = mix(
                    window_mean(pe, rm), window_mean(control, rc), w)
            for sm, scl, w in ((k // 2, k // 2, 0.3), (k // 2, k // 2, 0.5), (2 * k // 3, k // 2, 0.4)):
                rows["Gaussian sigma members %d, control %d, weight %.1f" % (sm, scl, w)] = mix(
                    window_mean(pe, sm, True), window_mean(control, scl, True), w)
            rows["default ^ 0.9"] = (default.astype(np.float64) ** 0.9).astype(np.float32)
            for r in (1, 2):
                rows["neighbourhood maximum r = %d, then the default" % r] = mix(
                    window_mean(fraction(mem, THR, r), k), window_mean(control, k), 0.3)
        for name, p in rows.items():
            sc.add(name, p, obs)
        del mem
    print("%s, issues %d..%d, lead %d min, 1 mm/h" % (d, first, last, 5 * k))
    sc.print()


if __name__ == "__main__":
    main()
