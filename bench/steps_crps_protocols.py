#!/usr/bin/python3
"""Why the issue's STEPS CRPS (0.104 mm/h at 60 min) is not what STEPS scores beside us: the
same members scored under three protocols (docs/ensemble.md, "Session 6: skill").

usage: PYTHONPATH=PYSTEPS_TREE steps_crps_protocols.py STEPS_DIR DUMP_DIR ISSUES [W]

STEPS_DIR: the steps_k2_case<i>.npz of `steps_reference.py run`; DUMP_DIR: sq25's grids of the
same cases (SQ25_BENCH_DUMP of bench_ensemble); ISSUES: comma-separated issue indices.
Per lead (15, 30, 60 min), means over the cases:
  common / exact    cells valid in the observation, every member of both ensembles and both
                    extrapolations; CRPS = mean|x - y| - 1/2 mean|x_i - x_j| (sq25_verify_crps)
  common / pysteps  the same cells, pysteps.verification.probscores.CRPS (Hersbach's
                    decomposition as pysteps codes it: strict inequalities, so an interval
                    whose end equals the observation, e.g. dry members at a dry cell, adds 0)
  own / pysteps     each ensemble on its own cells (the observation and all its members
                    finite: STEPS fills no-data with zero rain, sq25 leaves NaN), pysteps' CRPS
and sq25's shipped distribution (members pooled over the window of half side k, control
member at weight W, default 0.65: the library's default since 1.6) on its own cells. Exit 3
without pysteps."""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "python"))
LEADS = (3, 6, 12)


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    try:
        from pysteps.verification.probscores import CRPS
    except ImportError as e:
        print("steps_crps_protocols: pysteps not importable (%s); set PYTHONPATH" % e)
        sys.exit(3)
    import ensemble_roc as er
    import sq25.ensemble as se
    steps_dir, dump = sys.argv[1], sys.argv[2]
    weight = float(sys.argv[4]) if len(sys.argv) == 5 else 0.65
    tot = {}
    for case in [int(x) for x in sys.argv[3].split(",") if x]:
        npz = os.path.join(steps_dir, "steps_k2_case%d.npz" % case)
        if not os.path.exists(npz) or not os.path.exists(os.path.join(dump, "case%d_lead12.f32" % case)):
            print("steps_crps_protocols: issue %d missing, skipped" % case, file=sys.stderr)
            continue
        st = np.load(npz)
        for r, k in enumerate(LEADS):
            ours, lk, dense, obs = er.load(dump, case, k)
            steps = st["members"][:, r].astype(np.float32)
            bad = (~np.isfinite(obs) | ~np.all(np.isfinite(ours), 0) | ~np.all(np.isfinite(steps), 0)
                   | ~np.isfinite(lk) | ~np.isfinite(dense))
            common = np.where(bad, np.nan, obs).astype(np.float32)
            for name, m in (("STEPS", steps), ("sq25", ours)):
                mm = np.where(bad[None], np.nan, m).astype(np.float32)
                own_ok = np.isfinite(obs) & np.all(np.isfinite(m), 0)
                own = np.where(own_ok, obs, np.nan).astype(np.float32)
                tot.setdefault((name, k), []).append(
                    (se.crps(list(mm), common), CRPS(mm, common), CRPS(m, own), own_ok.sum()))
            own_ok = np.isfinite(obs) & np.all(np.isfinite(ours), 0)
            c, _ = se.crps_neighbourhood(list(ours), np.where(own_ok, obs, np.nan).astype(np.float32),
                                         control=dense.astype(np.float32), control_weight=weight,
                                         half_side=k)
            tot.setdefault(("sq25 shipped", k), []).append((np.nan, np.nan, c, own_ok.sum()))
        print("issue %d" % case, file=sys.stderr, flush=True)
    n = len(tot.get(("sq25", 12), []))
    print("%d cases; CRPS (mm/h); shipped = members pooled over the window + control %.2f" % (n, weight))
    print("| lead | ensemble | common cells, exact | common cells, pysteps' CRPS | own cells, pysteps' CRPS | own cells (mean count) |")
    print("|---|---|---|---|---|---|")
    for k in LEADS:
        for name in ("STEPS", "sq25", "sq25 shipped"):
            v = np.array(tot[(name, k)], dtype=np.float64).mean(0)
            fmt = lambda x: "" if np.isnan(x) else "%.4f" % x  # noqa: E731
            print("| %d min | %s | %s | %s | %.4f | %d |" % (5 * k, name, fmt(v[0]), fmt(v[1]), v[2], v[3]))


if __name__ == "__main__":
    main()
