#!/usr/bin/python3
"""steps_reference.py -- pysteps' STEPS run beside sq25's ensemble on the Belgian storm, and
both scored with sq25's own verification (docs/ensemble.md, "Session 4").

  steps_reference.py run OUT_DIR [--kmperpixel K] [--issues 11,14,...] [--members 20]
      pysteps' STEPS for each issue index i of the sorted RMI frames (../shared/data or
      SQ25_DATA): frames i-2..i read with pysteps' ODIM importer, the reference chain of
      ../shared/reference/README.md (dB_transform threshold 0.1 mm/h, zerovalue -15, NaN set to
      -15, Lucas-Kanade motion on the three frames) and STEPS as in pysteps'
      examples/plot_steps_nowcast.py (20 members, 6 cascade levels, precip_thr -10 dBR,
      nonparametric noise, bps motion perturbation, incremental mask, seed 24, timestep 5 min,
      kmperpixel K: the example's 2.0 by default; 1.0 is the RMI grid's true cell size).
      Writes OUT_DIR/steps_k<K>_case<i>.npz: the members in mm/h at leads 3, 6, 12 (15, 30,
      60 min; float32, NaN kept), the motion (pixels per step), the per-level lag-1/lag-2
      correlations and AR(2) parameters pysteps estimated, the CPU seconds.
  steps_reference.py score OUT_DIR DUMP_DIR [--kmperpixel K] [--issues ...]
      DUMP_DIR holds sq25's grids of the same cases (SQ25_BENCH_DUMP=DIR of bench_ensemble:
      our members, the LK and dense extrapolations, the observation). Scores both ensembles on
      the cells valid in the observation, in every member of both and in both extrapolations,
      with sq25's functions through the Python bindings: members' CRPS, the CRPS of the members
      pooled over a window of half side k at lead k (sq25_verify_crps_neighbourhood; ours also
      with the dense control member at the library's default weight, CONTROL_WEIGHT: the
      shipped distribution), Brier and ROC area
      (10 thresholds) at 1 and 5 mm/h of the members' fractions and of the pooled (blend)
      probabilities, the worst reliability gap, and per-case diagnostics at 60 min (ensemble
      mean error, spread, wet fraction, mean intensity, rank histogram).

Exit 3, saying so, when pysteps cannot be imported (run) or sq25's bindings cannot (score)."""
import argparse
import glob
import json
import os
import sys
import time

REPORT_LEADS = (3, 6, 12)
# the library's default control weight (lib/ensemble.c DEFAULT_CONTROL_WEIGHT: 0.65 since 1.6,
# 0.3 in 1.2-1.5; session 4's figures in docs/ensemble.md were made with 0.3)
CONTROL_WEIGHT = 0.65


def data_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    for root in (os.environ.get("SQ25_DATA"), os.path.join(here, "..", "..", "shared", "data"),
                 os.path.join(here, "..", "data")):
        if root and os.path.isdir(os.path.join(root, "radar", "rmi_20210704")):
            return os.path.join(root, "radar", "rmi_20210704")
    return None


def frame_paths():
    d = data_dir()
    if d is None:
        print("steps_reference: no radar/rmi_20210704 under SQ25_DATA, ../shared/data or data/")
        sys.exit(2)
    return sorted(glob.glob(os.path.join(d, "*.hdf")))


def parse_issues(text):
    return [int(x) for x in text.split(",") if x]


def run_steps(args):
    try:
        import numpy as np
        from pysteps import motion, nowcasts
        from pysteps.io import importers
        from pysteps.utils import transformation
    except ImportError as e:
        print("steps_reference: pysteps not importable (%s): no STEPS reference run" % e)
        sys.exit(3)
    paths = frame_paths()
    os.makedirs(args.out, exist_ok=True)
    for i in parse_issues(args.issues):
        out = os.path.join(args.out, "steps_k%g_case%d.npz" % (args.kmperpixel, i))
        if os.path.exists(out):
            continue
        t0 = time.process_time()
        frames = [importers.import_odim_hdf5(p, qty="RATE") for p in paths[i - 2:i + 1]]
        rates = np.stack([f[0] for f in frames])
        db, _ = transformation.dB_transform(rates, frames[-1][2], threshold=0.1, zerovalue=-15.0)
        db[~np.isfinite(db)] = -15.0
        velocity = motion.get_method("lucaskanade")(db[-3:])
        t1 = time.process_time()
        captured = CapturedStdout()
        with captured:
            fc = nowcasts.get_method("steps")(
                db[-3:], velocity, max(REPORT_LEADS), args.members, n_cascade_levels=6,
                precip_thr=-10.0, kmperpixel=args.kmperpixel, timestep=5,
                noise_method="nonparametric", vel_pert_method="bps", mask_method="incremental",
                seed=24)
        t2 = time.process_time()
        mm = transformation.dB_transform(fc, threshold=-10.0, inverse=True)[0]
        leads = np.stack([mm[:, k - 1] for k in REPORT_LEADS], axis=1).astype(np.float32)
        np.savez_compressed(out, members=leads, leads=np.array(REPORT_LEADS),
                            u=velocity[0].astype(np.float32), v=velocity[1].astype(np.float32),
                            log=np.array(captured.text), motion_cpu_s=t1 - t0, steps_cpu_s=t2 - t1)
        print(json.dumps({"issue": i, "kmperpixel": args.kmperpixel, "motion_cpu_s": round(t1 - t0, 2),
                          "steps_cpu_s": round(t2 - t1, 2)}), flush=True)


class CapturedStdout:
    """Keeps what pysteps prints (its correlation and AR(2) tables) for the .npz."""

    def __enter__(self):
        import io
        self._old, self._buf = sys.stdout, io.StringIO()
        sys.stdout = self._buf
        return self

    def __exit__(self, *exc):
        sys.stdout = self._old
        self.text = self._buf.getvalue()
        return False


# ---- scoring with sq25's verification ---------------------------------------------------------

def load_dump(dump_dir, issue, k):
    import numpy as np
    with open(os.path.join(dump_dir, "grid.txt")) as f:
        w, h, members = (int(x) for x in f.read().split())
    raw = np.fromfile(os.path.join(dump_dir, "case%d_lead%d.f32" % (issue, k)), dtype=np.float32)
    grids = raw.reshape(members + 3, h, w)
    return grids[:members], grids[members], grids[members + 1], grids[members + 2]


def window_fraction(grids, thr, r):
    """Mean over a square window of half side r of the members' fraction > thr at each cell,
    over the window's cells valid in the members (the blend of lib/ensemble_prob.c)."""
    import numpy as np
    from scipy.ndimage import uniform_filter
    valid = np.all(np.isfinite(grids), axis=0)
    frac = np.where(valid, np.mean(np.nan_to_num(grids, nan=0.0) > thr, axis=0), 0.0)
    if r == 0:
        return np.where(valid, frac, np.nan)
    size = 2 * r + 1
    num = uniform_filter(frac, size=size, mode="constant", cval=0.0)
    den = uniform_filter(valid.astype(np.float64), size=size, mode="constant", cval=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    return np.where(valid, out, np.nan)


class Tally:
    def __init__(self):
        self.sums, self.counts, self.rel, self.rank = {}, {}, {}, {}

    def add(self, key, value):
        self.sums[key] = self.sums.get(key, 0.0) + value
        self.counts[key] = self.counts.get(key, 0) + 1

    def mean(self, key):
        return self.sums[key] / self.counts[key] if key in self.counts else float("nan")

    def add_rel(self, key, count, events, psum):
        import numpy as np
        c, e, s = self.rel.get(key, (np.zeros(10, np.int64), np.zeros(10, np.int64), np.zeros(10)))
        self.rel[key] = (c + count, e + events, s + psum)

    def merge(self, other):
        for key, v in other.sums.items():
            self.sums[key] = self.sums.get(key, 0.0) + v
            self.counts[key] = self.counts.get(key, 0) + other.counts[key]
        for key, (c, e, p) in other.rel.items():
            self.add_rel(key, c, e, p)
        for key, h in other.rank.items():
            self.rank[key] = self.rank.get(key, 0) + h

    def worst_gap(self, key):
        c, e, s = self.rel[key]
        worst = 0.0
        for b in range(len(c)):
            if c[b] and c[b] * 100 >= c.sum():
                worst = max(worst, abs(s[b] / c[b] - e[b] / c[b]))
        return worst


def diagnostics(members, obs):
    """Ensemble-mean error, spread, wet fraction (> 0.1 mm/h) and mean wet intensity."""
    import numpy as np
    mean = members.mean(axis=0)
    err = mean - obs
    return {"rmse_mean": float(np.sqrt(np.mean(err ** 2))), "mae_mean": float(np.mean(np.abs(err))),
            "spread": float(np.sqrt(np.mean(members.var(axis=0, ddof=1)))),
            "wet_fc": float(np.mean(members > 0.1)), "wet_obs": float(np.mean(obs > 0.1)),
            "mean_wet_fc": float(members[members > 0.1].mean()) if np.any(members > 0.1) else 0.0,
            "mean_wet_obs": float(obs[obs > 0.1].mean()) if np.any(obs > 0.1) else 0.0,
            "frac_ge1_fc": float(np.mean(members >= 1)), "frac_ge1_obs": float(np.mean(obs >= 1))}


def score(args):
    try:
        import numpy as np  # noqa: F401
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
        import sq25.ensemble  # noqa: F401
    except (ImportError, OSError) as e:
        print("steps_reference: sq25's Python bindings not usable (%s)" % e)
        sys.exit(3)
    import pickle
    paths = frame_paths()
    tally, per_case = Tally(), []
    for i in parse_issues(args.issues):
        npz = os.path.join(args.out, "steps_k%g_case%d.npz" % (args.kmperpixel, i))
        if not os.path.exists(npz) or not os.path.exists(os.path.join(args.dump, "case%d_lead12.f32" % i)):
            continue
        # one case's scores are kept beside the members (scoring takes ~25 s of CPU per case)
        cache = os.path.join(args.out, "score_%s_k%g_case%d.pkl" % (
            os.path.basename(os.path.normpath(args.dump)), args.kmperpixel, i))
        if os.path.exists(cache) and os.path.getmtime(cache) > os.path.getmtime(npz):
            with open(cache, "rb") as f:
                t, rows = pickle.load(f)
        else:
            t, rows = score_case(args, paths, i, npz)
            with open(cache, "wb") as f:
                pickle.dump((t, rows), f)
        tally.merge(t)
        per_case.extend(rows)
        print("scored issue %d" % i, file=sys.stderr, flush=True)
    print_tables(tally, per_case)


def score_case(args, paths, i, npz):
    import numpy as np
    import sq25.core as sc
    import sq25.ensemble as se
    tally, per_case = Tally(), []
    st = np.load(npz)
    check_orientation(paths[i], args.dump, i, sc)
    for r, k in enumerate(REPORT_LEADS):
        ours, lk, dense, obs = load_dump(args.dump, i, k)
        steps = st["members"][:, r]
        bad = (~np.isfinite(obs) | ~np.all(np.isfinite(ours), axis=0) |
               ~np.all(np.isfinite(steps), axis=0) | ~np.isfinite(lk) | ~np.isfinite(dense))
        o = np.where(bad, np.nan, obs).astype(np.float32)
        for name, mem in (("sq25", ours), ("steps", steps)):
            m = np.where(bad[None], np.nan, mem).astype(np.float32)
            tally.add((name, k, "crps"), se.crps(list(m), o))
            c, _ = se.crps_neighbourhood(list(mem.astype(np.float32)), o, half_side=k)
            tally.add((name, k, "crps_pool"), c)
            for thr_name, r_win in (("raw", 0), ("blend", k)):
                for thr in (1.0, 5.0):
                    p = window_fraction(m, thr, r_win)
                    p = np.where(bad, np.nan, p).astype(np.float32)
                    tally.add((name + "_" + thr_name, k, "brier", thr), se.brier(p, o, thr))
                    tally.add((name + "_" + thr_name, k, "roc", thr), se.roc_area(p, o, thr))
                    if thr == 1.0:
                        count, freq, pmean = se.reliability(p, o, 1.0)
                        events = np.rint(np.nan_to_num(freq) * count).astype(np.int64)
                        tally.add_rel((name + "_" + thr_name, k), count, events,
                                      np.nan_to_num(pmean) * count)
            rank = se.rank_histogram(list(m), o)
            tally.rank[(name, k)] = tally.rank.get((name, k), 0) + rank
            if k == 12:
                ok = ~bad
                d = diagnostics(mem[:, ok], obs[ok])
                d.update({"issue": i, "ens": name, "crps": se.crps(list(m), o)})
                per_case.append(d)
        c, _ = se.crps_neighbourhood(list(ours.astype(np.float32)), o,
                                     control=dense.astype(np.float32), control_weight=CONTROL_WEIGHT,
                                     half_side=k)
        tally.add(("sq25", k, "crps_shipped"), c)
        score_default(tally, np.where(bad[None], np.nan, ours), dense, k, bad, o)
    return tally, per_case


def score_default(tally, ours, dense, k, bad, o):
    """The library's default probability (lib/ensemble_prob.c): (1 - W) x the members' blend over
    the window of half side k + W x the dense extrapolation's fraction in the same window (W =
    CONTROL_WEIGHT)
    (the control member; where it has no data the blend alone)."""
    import numpy as np
    import sq25.ensemble as se
    for thr in (1.0, 5.0):
        blend = window_fraction(ours, thr, k)
        ctrl = window_fraction(dense[None], thr, k)
        p = np.where(np.isfinite(ctrl), (1 - CONTROL_WEIGHT) * blend + CONTROL_WEIGHT * ctrl, blend)
        p = np.where(bad, np.nan, p).astype(np.float32)
        tally.add(("sq25_default", k, "brier", thr), se.brier(p, o, thr))
        tally.add(("sq25_default", k, "roc", thr), se.roc_area(p, o, thr))
        if thr == 1.0:
            count, freq, pmean = se.reliability(p, o, 1.0)
            events = np.rint(np.nan_to_num(freq) * count).astype(np.int64)
            tally.add_rel(("sq25_default", k), count, events, np.nan_to_num(pmean) * count)


def check_orientation(path, dump_dir, issue, sc):
    """sq25's reading of the latest frame and pysteps' importer must agree cell for cell, or the
    two ensembles are not on the same grid (the dump's observation of lead 3 is frame i+3, so
    this compares the issue frame read both ways)."""
    import numpy as np
    from pysteps.io import importers
    ps = importers.import_odim_hdf5(path, qty="RATE")[0]
    ours = np.asarray(sc.read_field(path).data)
    both = np.isfinite(ps) & np.isfinite(ours)
    if ps.shape != ours.shape or not np.allclose(ps[both], ours[both], atol=1e-3):
        raise SystemExit("steps_reference: pysteps' and sq25's reading of %s differ" % path)


def print_tables(t, per_case):
    n = t.counts.get(("sq25", 12, "crps"), 0)
    print("\n%d cases; cells valid in the observation, every member of both and both extrapolations" % n)
    print("| lead | ensemble | members' CRPS | pooled CRPS (window k) | Brier 1 / 5 (raw) | ROC 1 / 5 (raw)"
          " | Brier 1 / 5 (blend) | ROC 1 / 5 (blend) | worst gap raw / blend |")
    print("|---|---|---|---|---|---|---|---|---|")
    for k in REPORT_LEADS:
        for name in ("sq25", "steps"):
            print("| %d min | %s | %.4f | %.4f | %.4f / %.4f | %.3f / %.3f | %.4f / %.4f | %.3f / %.3f | %.3f / %.3f |" % (
                k * 5, name, t.mean((name, k, "crps")), t.mean((name, k, "crps_pool")),
                t.mean((name + "_raw", k, "brier", 1.0)), t.mean((name + "_raw", k, "brier", 5.0)),
                t.mean((name + "_raw", k, "roc", 1.0)), t.mean((name + "_raw", k, "roc", 5.0)),
                t.mean((name + "_blend", k, "brier", 1.0)), t.mean((name + "_blend", k, "brier", 5.0)),
                t.mean((name + "_blend", k, "roc", 1.0)), t.mean((name + "_blend", k, "roc", 5.0)),
                t.worst_gap((name + "_raw", k)), t.worst_gap((name + "_blend", k))))
        print("| %d min | sq25 shipped (pooled + control %.2f) | | %.4f | | | %.4f / %.4f | %.3f / %.3f | / %.3f |" % (
            k * 5, CONTROL_WEIGHT, t.mean(("sq25", k, "crps_shipped")),
            t.mean(("sq25_default", k, "brier", 1.0)), t.mean(("sq25_default", k, "brier", 5.0)),
            t.mean(("sq25_default", k, "roc", 1.0)), t.mean(("sq25_default", k, "roc", 5.0)),
            t.worst_gap(("sq25_default", k))))
    print("\nrank histogram at 60 min (fractions, rank 0 .. members):")
    for name in ("sq25", "steps"):
        h = t.rank[(name, 12)]
        print("  %s: %s" % (name, " ".join("%.3f" % x for x in h / h.sum())))
    print("\nper case at 60 min (valid cells): CRPS, ensemble-mean RMSE / MAE, spread (rms of the"
          " members' sd), wet fraction > 0.1 fc / obs, mean wet intensity fc / obs, fraction >= 1 fc / obs")
    for d in per_case:
        print("  %2d %-5s crps %.4f rmse %.3f mae %.4f spread %.3f wet %.3f / %.3f int %.2f / %.2f ge1 %.4f / %.4f" % (
            d["issue"], d["ens"], d["crps"], d["rmse_mean"], d["mae_mean"], d["spread"], d["wet_fc"],
            d["wet_obs"], d["mean_wet_fc"], d["mean_wet_obs"], d["frac_ge1_fc"], d["frac_ge1_obs"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=("run", "score"))
    ap.add_argument("out")
    ap.add_argument("dump", nargs="?")
    ap.add_argument("--kmperpixel", type=float, default=2.0)
    ap.add_argument("--issues", default=",".join(str(i) for i in range(11, 27)))
    ap.add_argument("--members", type=int, default=20)
    args = ap.parse_args()
    if args.mode == "run":
        run_steps(args)
    else:
        if not args.dump:
            ap.error("score needs DUMP_DIR")
        score(args)


if __name__ == "__main__":
    main()
