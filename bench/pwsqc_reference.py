#!/usr/bin/python3
"""pwsqc_reference.py -- sq25's PWS quality control beside its two reference implementations
on the Amsterdam PWS file: the R code of de Vos et al. (2019), PWSQC, and pypwsqc.

The reference code is never part of this repository. Check the two repositories out anywhere
(outside the tree) and name them:

    git clone https://github.com/LottedeVos/PWSQC        /work/ref-pwsqc/PWSQC
    git clone https://github.com/OpenSenseAction/pypwsqc /work/ref-pwsqc/pypwsqc
    apt-get install --no-install-recommends r-base-core r-cran-geosphere   # for PWSQC
    # pypwsqc's flagging module needs only python3-xarray, python3-pandas, python3-numpy
    /usr/bin/python3 bench/pwsqc_reference.py --pwsqc /work/ref-pwsqc/PWSQC \
        --pypwsqc /work/ref-pwsqc/pypwsqc --work /work/ref-pwsqc/run

Each part runs when its checkout is given; results are cached in --work (delete to rerun).
What runs, and how (nothing of the reference code is changed except as said here):
  * PWSQC: our data preparation replaces PWSQC_0.R (which reads the authors' raw Netatmo CSV
    files): the file's 5-minute amounts become `Ndataset` (rows = steps, columns = stations,
    NA = no report) and `InputFiles/metatableAms.txt`; `InputFiles/Filtersettings.txt` is the
    repository's own (set "A": the published defaults). PWSQC_1.R, PWSQC_2.R and PWSQC_3.R are
    then sourced unchanged, each in an environment where `setwd` is a no-op (their
    `setwd("...")` placeholder) and `print` is silent (PWSQC_3.R prints once per station and
    step, 3.6 million lines). With --r-stations the station loop of PWSQC_3.R is limited to
    the stations named (a copy in --work with `1:nrow(Meta)` replaced; its neighbours are still
    all stations); that is the only edit and the report says when it was used.
  * pypwsqc: `pypwsqc.flagging` fz_filter, hi_filter and so_filter with the parameters of its
    notebooks (the PWSQC defaults), on the raw amounts as the notebooks call them; distances
    are Euclidean in EPSG:25832 (the file's x, y), as poligrain computes them in the notebooks.
  * sq25: `sq25_qc_run` over the whole file, default parameters, through the Python bindings
    (python/, the library built by `make`; SQ25_LIB may name another).
A station is "flagged" by a definition when at least one of its steps is a station outlier
(SO = 1); its judged share is the share of its reported steps where SO is 0 or 1.
"""

import argparse
import os
import subprocess
import sys
import time

import numpy as np

FILE = "data/gauges/amsterdam_pws_2017/test_dataset.nc"
# PWSQC's Filtersettings.txt, set "A" (also sq25's defaults, docs/sensors.md)
NINT, NSTAT, RANGE_M = 6, 5, 10e3
HI_A, HI_B = 0.4, 10.0
COMPAREINT, MATCHINT, CORTHRES = 4032, 200, 0.15


def read_file(path):
    """Amounts (mm per 5 min, NaN = no report), ids, lon, lat, x, y, times (s)."""
    import xarray as xr
    ds = xr.open_dataset(path)
    rain = ds["rainfall"].transpose("id", "time").values.astype(float)
    ids = [str(i) for i in ds["id"].values]
    return ds, rain, ids


def per_station(flags_so, reported, ids):
    """{id: {"outlier": n, "judged": n, "reported": n}} from an SO flag matrix (stations x
    steps, -1/0/1) and the reported mask."""
    out = {}
    for k, sid in enumerate(ids):
        f = flags_so[k]
        rep = reported[k]
        out[sid] = {"outlier": int(np.sum((f == 1) & rep)),
                    "judged": int(np.sum(((f == 0) | (f == 1)) & rep)),
                    "reported": int(np.sum(rep))}
    return out


# ---- PWSQC (R) -----------------------------------------------------------------------------

R_DRIVER = r"""
args <- commandArgs(trailingOnly = TRUE)
pwsqc <- args[1]; stations <- args[2]
setwd("%s")
quiet <- new.env()
assign("setwd", function(dir) invisible(NULL), envir = quiet)
assign("print", function(...) invisible(NULL), envir = quiet)
Ndataset <- as.matrix(read.csv("ndataset.csv", header = FALSE))
dimnames(Ndataset) <- NULL
save(Ndataset, file = "OutputFolder/Ndataset.RData")
rm(Ndataset)
run <- function(script) {
  e <- new.env(parent = quiet)
  t0 <- proc.time()[["elapsed"]]
  source(script, local = e)
  cat(sprintf("%%s: %%.1f s\n", basename(script), proc.time()[["elapsed"]] - t0))
}
run(file.path(pwsqc, "R", "PWSQC_1.R"))
run(file.path(pwsqc, "R", "PWSQC_2.R"))
so <- file.path(pwsqc, "R", "PWSQC_3.R")
if (stations != "all") {
  assign("sq25_stations", as.integer(strsplit(stations, ",")[[1]]), envir = quiet)
  txt <- readLines(so)
  n <- sum(grepl("for(i in 1:nrow(Meta))", txt, fixed = TRUE))
  if (n != 1) stop("PWSQC_3.R: the station loop was not found once")
  txt <- sub("for(i in 1:nrow(Meta))", "for(i in sq25_stations)", txt, fixed = TRUE)
  writeLines(txt, "PWSQC_3_stations.R")
  so <- "PWSQC_3_stations.R"
}
run(so)
load("OutputFolder/FZ_flags_FiltersettingsA.RData")
load("OutputFolder/HI_flags_FiltersettingsA.RData")
load("OutputFolder/SO_flags_FiltersettingsA.RData")
write.table(FZ_flags, "fz_flags.csv", sep = ",", row.names = FALSE, col.names = FALSE)
write.table(HI_flags, "hi_flags.csv", sep = ",", row.names = FALSE, col.names = FALSE)
write.table(as.matrix(SO_flags), "so_flags.csv", sep = ",", row.names = FALSE, col.names = FALSE)
"""


def run_pwsqc(pwsqc_dir, work, ds, rain, ids, stations):
    wd = os.path.join(work, "pwsqc")
    done = os.path.join(wd, "so_flags.csv")
    sel = "all" if not stations else ",".join(str(ids.index(s) + 1) for s in stations)
    stamp = os.path.join(wd, "stations.txt")
    if not (os.path.exists(done) and open(stamp).read() == sel):
        os.makedirs(os.path.join(wd, "InputFiles"), exist_ok=True)
        os.makedirs(os.path.join(wd, "OutputFolder"), exist_ok=True)
        with open(os.path.join(pwsqc_dir, "R", "InputFiles", "Filtersettings.txt")) as f:
            settings = f.read()
        with open(os.path.join(wd, "InputFiles", "Filtersettings.txt"), "w") as f:
            f.write(settings)
        lon, lat = ds["longitude"].values, ds["latitude"].values
        with open(os.path.join(wd, "InputFiles", "metatableAms.txt"), "w") as f:
            f.write("id,lon,lat,radref\n")
            for k, sid in enumerate(ids):
                f.write("%s,%.8f,%.8f,%d\n" % (sid, lon[k], lat[k], k + 1))
        np.savetxt(os.path.join(wd, "ndataset.csv"), rain.T, delimiter=",", fmt="%.3f")
        # NaN -> NA for R
        path = os.path.join(wd, "ndataset.csv")
        with open(path) as f:
            text = f.read().replace("nan", "NA")
        with open(path, "w") as f:
            f.write(text)
        with open(os.path.join(wd, "driver.R"), "w") as f:
            f.write(R_DRIVER % wd)
        t0 = time.time()
        r = subprocess.run(["Rscript", os.path.join(wd, "driver.R"), pwsqc_dir, sel],
                           capture_output=True, text=True)
        sys.stdout.write(r.stdout)
        if r.returncode != 0:
            sys.stderr.write(r.stderr)
            raise SystemExit("PWSQC: Rscript failed (rc %d)" % r.returncode)
        print("PWSQC: %.0f s wall" % (time.time() - t0))
        with open(stamp, "w") as f:
            f.write(sel)
    so = np.loadtxt(done, delimiter=",", ndmin=2).T  # stations (of the loop) x steps
    fz = np.loadtxt(os.path.join(wd, "fz_flags.csv"), delimiter=",").T
    hi = np.loadtxt(os.path.join(wd, "hi_flags.csv"), delimiter=",").T
    looped = ids if sel == "all" else stations
    full = np.full(rain.shape, np.nan)
    for j, sid in enumerate(looped):
        full[ids.index(sid)] = so[j]
    return full, fz, hi, looped


# ---- pypwsqc -------------------------------------------------------------------------------

def run_pypwsqc(src, work, ds, ids):
    wd = os.path.join(work, "pypwsqc")
    done = os.path.join(wd, "flags.npz")
    if not os.path.exists(done):
        os.makedirs(wd, exist_ok=True)
        sys.path.insert(0, os.path.join(src, "src"))
        import xarray as xr
        import pypwsqc.flagging as fl
        d = ds[["rainfall"]].load()
        x, y = ds["x"].values, ds["y"].values
        dist = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
        dm = xr.DataArray(dist, dims=("id", "neighbor_id"),
                          coords={"id": ds["id"].values, "neighbor_id": ds["id"].values})
        t0 = time.time()
        d = fl.fz_filter(d, NINT, NSTAT, dm, RANGE_M)
        d = fl.hi_filter(d, HI_A, HI_B, NINT, NSTAT, dm, RANGE_M)
        t1 = time.time()
        d = fl.so_filter(d, COMPAREINT, MATCHINT, CORTHRES, NSTAT, dm, RANGE_M)
        print("pypwsqc: FZ+HI %.0f s, SO %.0f s wall" % (t1 - t0, time.time() - t1))
        np.savez(done, fz=d["fz_flag"].transpose("id", "time").values,
                 hi=d["hi_flag"].transpose("id", "time").values,
                 so=d["so_flag"].transpose("id", "time").values)
    z = np.load(done)
    return z["so"], z["fz"], z["hi"]


# ---- sq25 ----------------------------------------------------------------------------------

def run_sq25(path, ids):
    """sq25's flags per station and step through the Python bindings (python/, the built
    library), as SO (-1/0/1), FZ and HI matrices in the file's station order."""
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, "..", "python"))
    import sq25
    t0 = time.time()
    series = sq25.Series.read_netcdf(path)
    flags = series.qc().flags
    print("sq25 qc: %.1f s wall" % (time.time() - t0))
    order = [list(series.ids).index(s) for s in ids]
    flags = flags[order].astype(int)
    so = np.where(flags & sq25.sensors.QC_SO_UNKNOWN, -1,
                  np.where(flags & sq25.sensors.QC_OUTLIER, 1, 0))
    return so, (flags & sq25.sensors.QC_FAULTY_ZERO) != 0, (flags & sq25.sensors.QC_HIGH_INFLUX) != 0


def names(d):
    return sorted(d, key=lambda s: int(s[3:]) if s[3:].isdigit() else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pwsqc", help="checkout of LottedeVos/PWSQC (R)")
    ap.add_argument("--pypwsqc", help="checkout of OpenSenseAction/pypwsqc")
    ap.add_argument("--work", required=True, help="scratch folder outside the repository")
    ap.add_argument("--r-stations", help="comma-separated ids for PWSQC_3.R's station loop")
    ap.add_argument("--file", default=FILE)
    a = ap.parse_args()
    ds, rain, ids = read_file(a.file)
    reported = ~np.isnan(rain)
    print("file: %s, %d stations x %d steps, %d reported station-steps"
          % (a.file, rain.shape[0], rain.shape[1], int(reported.sum())))
    so, fz, hi = run_sq25(a.file, ids)
    table = {"sq25": per_station(so, reported, ids)}
    fzhi = {"sq25": {s: (int(np.sum(fz[k])), int(np.sum(hi[k]))) for k, s in enumerate(ids)}}
    looped = ids
    if a.pypwsqc:
        so, fz, hi = run_pypwsqc(a.pypwsqc, a.work, ds, ids)
        table["pypwsqc"] = per_station(so, reported, ids)
        fzhi["pypwsqc"] = {s: (int(np.sum(fz[k] == 1)), int(np.sum(hi[k] == 1)))
                           for k, s in enumerate(ids)}
    if a.pwsqc:
        stations = a.r_stations.split(",") if a.r_stations else None
        so, fz, hi, looped = run_pwsqc(a.pwsqc, a.work, ds, rain, ids, stations)
        table["PWSQC"] = {s: v for s, v in per_station(np.nan_to_num(so, nan=-9), reported,
                                                       ids).items() if s in looped}
        fzhi["PWSQC"] = {s: (int(np.sum(fz[k] == 1)), int(np.sum(hi[k] == 1)))
                         for k, s in enumerate(ids)}
        if stations:
            print("PWSQC_3.R station loop limited to %d stations: %s"
                  % (len(stations), ",".join(stations)))
    print("\n%-8s %10s %10s %10s %9s %8s" % ("", "FZ steps", "HI steps", "SO steps",
                                            "SO stns", "judged"))
    flagged = {}
    for name, t in table.items():
        sub = {s: v for s, v in t.items() if s in looped}
        flagged[name] = {s for s, v in sub.items() if v["outlier"] > 0}
        rep = sum(v["reported"] for v in sub.values())
        jud = sum(v["judged"] for v in sub.values())
        fzs = sum(fzhi[name][s][0] for s in ids)
        his = sum(fzhi[name][s][1] for s in ids)
        print("%-8s %10d %10d %10d %9d %7.1f%%" % (name, fzs, his,
                                                   sum(v["outlier"] for v in sub.values()),
                                                   len(flagged[name]), 100.0 * jud / max(rep, 1)))
    print("(SO steps, stations and judged share over the stations of the PWSQC loop: %d)"
          % len(looped))
    for name in flagged:
        print("flagged by %-8s: %s" % (name, " ".join(names(flagged[name]))))
    if "PWSQC" in flagged and "pypwsqc" in flagged:
        both = flagged["PWSQC"] & flagged["pypwsqc"]
        print("flagged by both references but not by sq25: %s"
              % (" ".join(names(both - flagged["sq25"])) or "none"))
        print("flagged by sq25 but by neither reference: %s"
              % (" ".join(names(flagged["sq25"] - flagged["PWSQC"] - flagged["pypwsqc"]))
                 or "none"))
    for name in [n for n in flagged if n != "sq25"]:
        print("flagged by %s, not by sq25: %s" % (name, " ".join(
            names(flagged[name] - flagged["sq25"])) or "none"))
        print("flagged by sq25, not by %s: %s" % (name, " ".join(
            names(flagged["sq25"] - flagged[name])) or "none"))
    print("\nper station (SO steps / judged steps):")
    print("%-7s " % "id" + " ".join("%16s" % n for n in table))
    for s in names(set().union(*flagged.values())):
        print("%-7s " % s + " ".join("%16s" % ("%d/%d" % (t[s]["outlier"], t[s]["judged"])
                                               if s in t else "-") for t in table.values()))


if __name__ == "__main__":
    main()
