#!/usr/bin/python3
"""pwsqc_fz_definitions.py -- where the faulty-zero counts of PWSQC_2.R (R, de Vos et al.)
and of pypwsqc / sq25 part on the Amsterdam PWS file (docs/sensors.md, "Beside the reference
implementations").

PWSQC_2.R's faulty-zero rule, written here in numpy from the R script's text, is run with each
of the two definitions where pypwsqc (and sq25, which follows it) differ, one at a time:
  * a missing report: R finds the station's dry periods with rle(), where every NA is a run of
    its own, so a gap ends the dry period (the 7 dry steps must be 7 reported zeros in a row);
    pypwsqc counts a missing report as "no rain" (its sensor array is 0 there);
  * the neighbours: R takes the stations within 10 km by geosphere's distHaversine
    (r = 6 378 137 m, d <= range); pypwsqc's notebooks Euclidean distance in the file's
    EPSG:25832 x, y (d < range).
Counts are flagged reported station-steps (FZ = 1 where the station reported a value).

    /usr/bin/python3 bench/pwsqc_fz_definitions.py \
        [--r-flags WORK/pwsqc/fz_flags.csv] [--pypwsqc-flags WORK/pypwsqc/flags.npz] [--sq25]

--r-flags and --pypwsqc-flags are the flag files bench/pwsqc_reference.py leaves in its work
folder: each variant is then compared with them step by step. --sq25 adds sq25's own flags
(the Python bindings and the built library, as pwsqc_reference.py runs them).
"""

import argparse
import os
import sys
import warnings

import numpy as np

FILE = "data/gauges/amsterdam_pws_2017/test_dataset.nc"
NINT, NSTAT, RANGE_M = 6, 5, 10e3  # PWSQC's Filtersettings.txt, set "A"


def haversine_neighbours(lon, lat):
    """geosphere::distHaversine (sphere of r = 6 378 137 m): 0 < d <= RANGE_M."""
    la, lo = np.radians(lat), np.radians(lon)
    a = (np.sin((la[:, None] - la[None, :]) / 2) ** 2 +
         np.cos(la[:, None]) * np.cos(la[None, :]) * np.sin((lo[:, None] - lo[None, :]) / 2) ** 2)
    d = 2 * 6378137.0 * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    return (d > 0) & (d <= RANGE_M)


def euclidean_neighbours(x, y):
    """Distances in the file's projected x, y (metres): 0 < d < RANGE_M."""
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    return (d > 0) & (d < RANGE_M)


def reference(rain, nb):
    """The neighbours' median and how many of them reported, per station and step."""
    med = np.full(rain.shape, np.nan)
    count = np.zeros(rain.shape, int)
    for i in range(rain.shape[0]):
        v = rain[nb[i]]
        count[i] = np.sum(~np.isnan(v), axis=0)
        if v.shape[0]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # all-NaN steps: NaN, as R's median(na.rm=T)
                med[i] = np.nanmedian(v, axis=0)
    return med, count


def runs(a):
    """R's rle() of a vector with NaN (every NA a run of its own): starts, lengths, values."""
    same = (a[1:] == a[:-1]) & ~np.isnan(a[1:]) & ~np.isnan(a[:-1])
    starts = np.flatnonzero(np.concatenate(([True], ~same)))
    return starts, np.diff(np.append(starts, len(a))), a[starts]


def station_flags(v, ref, few, gap_is_dry):
    """PWSQC_2.R's FZ flags (-1/0/1) of one station: v its amounts, ref the binary reference
    (1 wet, 0 dry, NaN unknown), few the steps with under NSTAT reporting neighbours."""
    wet = np.where(v > 0, 1.0, v)
    if gap_is_dry:
        wet = np.where(np.isnan(wet), 0.0, wet)
    flags = np.zeros(len(v), int)
    for s0, n, value in zip(*runs(wet)):
        if n <= NINT or value != 0:
            continue
        end = s0 + n - 1
        part = ref[s0:end + 1]
        if np.sum(part == 1) <= NINT:
            continue
        s2, n2, v2 = runs(part)
        wet_runs = np.flatnonzero((n2 > NINT) & (v2 == 1))
        if len(wet_runs) == 0:
            continue
        flags[s0 + s2[wet_runs[0]] + NINT:end + 1] = 1  # from the 7th wet-reference step
        m = end + 1
        while m < len(v) and (np.isnan(v[m]) or v[m] == 0):  # on until it reports rain
            flags[m] = 1
            m += 1
    flags[few] = -1
    return flags


def fz_flags(rain, nb, gap_is_dry):
    med, count = reference(rain, nb)
    out = np.full(rain.shape, -1)
    for i in range(rain.shape[0]):
        if np.all(np.isnan(rain[i])) or nb[i].sum() < NSTAT:
            continue  # no report at all, or too few neighbours: -1 throughout
        ref = np.where(med[i] > 0, 1.0, np.where(med[i] == 0, 0.0, np.nan))
        few = count[i] < NSTAT
        ref[few] = np.nan
        out[i] = station_flags(rain[i], ref, few, gap_is_dry)
    return out


def sq25_flags(ids):
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    import pwsqc_reference
    return pwsqc_reference.run_sq25(FILE, ids)[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--r-flags", help="PWSQC_2.R's fz_flags.csv (steps x stations)")
    ap.add_argument("--pypwsqc-flags", help="pypwsqc's flags.npz (fz: stations x steps)")
    ap.add_argument("--sq25", action="store_true", help="also sq25's flags (Python bindings)")
    a = ap.parse_args()
    import xarray as xr
    ds = xr.open_dataset(FILE)
    rain = ds["rainfall"].transpose("id", "time").values.astype(float)
    ids = [str(i) for i in ds["id"].values]
    reported = ~np.isnan(rain)
    flagged = lambda f: (f == 1) & reported  # noqa: E731
    hav = haversine_neighbours(ds["longitude"].values, ds["latitude"].values)
    euc = euclidean_neighbours(ds["x"].values, ds["y"].values)
    print("neighbour sets that differ (haversine <= 10 km, Euclidean x, y < 10 km): %d stations"
          % int(np.sum(np.any(hav != euc, axis=1))))
    others, r_all = {}, None
    if a.r_flags:
        r_all = np.loadtxt(a.r_flags, delimiter=",").T.astype(int)
        others["PWSQC_2.R"] = flagged(r_all)
    if a.pypwsqc_flags:
        others["pypwsqc"] = flagged(np.load(a.pypwsqc_flags)["fz"])
    if a.sq25:
        others["sq25"] = sq25_flags(ids) & reported
    for name, f in others.items():
        print("%-10s %7d FZ steps" % (name, int(f.sum())))
    variants = {}
    for label, nb, gap_is_dry in (("R's rule", hav, False),
                                  ("  a missing report dry", hav, True),
                                  ("  Euclidean neighbours", euc, False),
                                  ("  both", euc, True)):
        all_steps = fz_flags(rain, nb, gap_is_dry)
        if r_all is not None and label == "R's rule":
            print("R's rule here = PWSQC_2.R's -1/0/1 at every station-step: %s"
                  % bool(np.array_equal(all_steps, r_all)))
        f = flagged(all_steps)
        variants[label] = f
        same = ["= %s" % name for name, g in others.items() if np.array_equal(f, g)]
        print("%-24s %7d FZ steps %s" % (label, int(f.sum()), ", ".join(same)))
    base, gap = variants["R's rule"], variants["  a missing report dry"]
    added, removed = gap & ~base, base & ~gap
    per = added.sum(axis=1)
    print("a missing report dry: +%d steps, -%d, on %d stations (most: %s)"
          % (int(added.sum()), int(removed.sum()), int(np.sum(per > 0)),
             ", ".join("%s %d" % (ids[k], per[k]) for k in np.argsort(-per)[:5])))
    nbd = np.argwhere(variants["  Euclidean neighbours"] != base)
    times = ds["time"].values
    for i, t in nbd:
        print("neighbours change %s at %s: R's rule %d" % (ids[i], str(times[t])[:16], base[i, t]))


if __name__ == "__main__":
    main()
