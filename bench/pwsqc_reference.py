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
    all stations). With --r-steps the step loop of the same copy is limited too:
    `for(t in 1:length(Nint))` becomes a loop over chosen steps of each station. Each step t
    of that loop is independent (row t of `cortable` comes only from the window
    `comparestartrow[t]:t` of the data), so the SO flag at a chosen step is exactly the one
    the whole loop gives; the steps not chosen are left out of every comparison (their row
    stays NA, which the script would turn into -1: they are never counted as "not flagged").
    These two loop limits are the only edits, and the report says when they were used.
    --r-steps takes a comma-separated list of `pypwsqc` (the steps pypwsqc flags SO = 1),
    `every:K` (every K-th reported step of the station, from its first), `every:K:R` (the
    same from its R-th: every:5:1 .. every:5:4 are the complement of every:5) and `all`.
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
pwsqc <- args[1]; stations <- args[2]; steps <- args[3]
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
# FZ and HI flags do not depend on the SO loop: kept from an earlier run in this folder
if (!file.exists("OutputFolder/HI_flags_FiltersettingsA.RData")) run(file.path(pwsqc, "R", "PWSQC_2.R"))
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
if (steps != "all") {
  # steps.csv: station column (1-based, as i), step (1-based, as t); one line each
  st <- read.csv(steps, header = FALSE)
  chosen <- split(st$V2, st$V1)
  assign("sq25_steps_of", function(i) {
    s <- chosen[[as.character(i)]]
    cat(sprintf("station %%d: %%d steps from %%s\n", i, length(s), format(Sys.time(), "%%H:%%M:%%S")))
    if (is.null(s)) integer(0) else as.integer(s)
  }, envir = quiet)
  txt <- readLines(so)
  n <- sum(grepl("for(t in 1:length(Nint))", txt, fixed = TRUE))
  if (n != 1) stop("PWSQC_3.R: the step loop was not found once")
  txt <- sub("for(t in 1:length(Nint))", "for(t in sq25_steps_of(i))", txt, fixed = TRUE)
  writeLines(txt, "PWSQC_3_steps.R")
  so <- "PWSQC_3_steps.R"
}
run(so)
load("OutputFolder/FZ_flags_FiltersettingsA.RData")
load("OutputFolder/HI_flags_FiltersettingsA.RData")
load("OutputFolder/SO_flags_FiltersettingsA.RData")
write.table(FZ_flags, "fz_flags.csv", sep = ",", row.names = FALSE, col.names = FALSE)
write.table(HI_flags, "hi_flags.csv", sep = ",", row.names = FALSE, col.names = FALSE)
write.table(as.matrix(SO_flags), "so_flags.csv", sep = ",", row.names = FALSE, col.names = FALSE)
"""


def steps_text(steps, ids):
    """steps.csv for the R driver: "station column,step" (both 1-based) per chosen step."""
    return "".join("%d,%d\n" % (ids.index(sid) + 1, t + 1)
                   for sid in steps for t in steps[sid])


def run_pwsqc(pwsqc_dir, work, ds, rain, ids, stations, steps=None):
    """PWSQC's FZ, HI and SO flags; `steps` ({id: 0-based steps}) limits PWSQC_3.R's step
    loop (module docstring)."""
    wd = os.path.join(work, "pwsqc")
    done = os.path.join(wd, "so_flags.csv")
    sel = "all" if not stations else ",".join(str(ids.index(s) + 1) for s in stations)
    stamp = os.path.join(wd, "stations.txt")
    step_list = steps_text(steps, ids) if steps is not None else ""
    steps_file = os.path.join(wd, "steps.csv")
    same_steps = (steps is None and not os.path.exists(steps_file)) or (
        steps is not None and os.path.exists(steps_file) and open(steps_file).read() == step_list)
    if not (os.path.exists(done) and open(stamp).read() == sel and same_steps):
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
        if steps is not None:
            with open(steps_file, "w") as f:
                f.write(step_list)
        elif os.path.exists(steps_file):
            os.remove(steps_file)
        t0 = time.time()
        sys.stdout.flush()
        # R's own lines (script times, the steps per station) go straight to our stdout
        r = subprocess.run(["Rscript", os.path.join(wd, "driver.R"), pwsqc_dir, sel,
                            steps_file if steps is not None else "all"])
        if r.returncode != 0:
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


def summary(table, fzhi, stations, label):
    """Counts and judged share per definition over `stations`."""
    print("\n%s (%d stations)" % (label, len(stations)))
    print("%-8s %10s %10s %10s %9s %8s" % ("", "FZ steps", "HI steps", "SO steps", "SO stns",
                                         "judged"))
    for name, t in table.items():
        rep = sum(t[s]["reported"] for s in stations)
        jud = sum(t[s]["judged"] for s in stations)
        print("%-8s %10d %10d %10d %9d %7.1f%%" % (
            name, sum(fzhi[name][s][0] for s in stations), sum(fzhi[name][s][1] for s in stations),
            sum(t[s]["outlier"] for s in stations),
            sum(1 for s in stations if t[s]["outlier"] > 0), 100.0 * jud / max(rep, 1)))


def flagged_in(t, stations):
    return {s for s in stations if t[s]["outlier"] > 0}


def say(label, ids):
    print("%s: %s" % (label, " ".join(names(ids)) or "none"))


def every_spec(text):
    """(K, R) of "K" or "K:R" (every K-th reported step from the R-th, 0 <= R < K), else None."""
    parts = text.split(":")
    if len(parts) > 2 or not all(p.isdigit() for p in parts):
        return None
    k_step, offset = int(parts[0]), int(parts[1]) if len(parts) == 2 else 0
    return (k_step, offset) if k_step > 0 and offset < k_step else None


def choose_steps(spec, stations, ids, reported, so_pypwsqc):
    """{id: sorted 0-based steps} for PWSQC_3.R's step loop from --r-steps' spec."""
    out = {}
    for sid in stations:
        k = ids.index(sid)
        rep = np.flatnonzero(reported[k])
        chosen = set()
        for part in spec.split(","):
            if part == "all":
                chosen.update(range(reported.shape[1]))
            elif part == "pypwsqc":
                if so_pypwsqc is None:
                    raise SystemExit("--r-steps pypwsqc needs --pypwsqc")
                chosen.update(np.flatnonzero((so_pypwsqc[k] == 1) & reported[k]).tolist())
            elif part.startswith("every:") and every_spec(part[6:]):
                k_step, offset = every_spec(part[6:])
                chosen.update(rep[offset::k_step].tolist())
            else:
                raise SystemExit("--r-steps: '%s' is not all, pypwsqc, every:K or every:K:R" % part)
        out[sid] = sorted(chosen)
    return out


def compare_at_steps(so_of, ids, stations, evaluated, reported):
    """Per station, at the steps PWSQC_3.R evaluated only: SO = 1 counts of each definition
    and the steps where sq25's SO flag (-1/0/1) differs from R's."""
    print("\nAt the steps PWSQC_3.R evaluated (other steps are not compared):")
    print("%-7s %9s %9s %9s %9s %11s %11s" % ("id", "evaluated", "R SO=1", "sq25 SO=1",
                                            "py SO=1", "R=1,sq25=1", "R!=sq25"))
    flagged_r = set()
    for sid in stations:
        k = ids.index(sid)
        e = evaluated[k] & reported[k]
        r1 = (so_of["PWSQC"][k] == 1) & e
        q1 = (so_of["sq25"][k] == 1) & e
        py = int(np.sum((so_of["pypwsqc"][k] == 1) & e)) if "pypwsqc" in so_of else -1
        differ = int(np.sum((so_of["PWSQC"][k] != so_of["sq25"][k]) & e))
        print("%-7s %9d %9d %9d %9d %11d %11d" % (sid, int(e.sum()), int(r1.sum()), int(q1.sum()),
                                                  py, int(np.sum(r1 & q1)), differ))
        if r1.any():
            flagged_r.add(sid)
    return flagged_r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pwsqc", help="checkout of LottedeVos/PWSQC (R)")
    ap.add_argument("--pypwsqc", help="checkout of OpenSenseAction/pypwsqc")
    ap.add_argument("--work", required=True, help="scratch folder outside the repository")
    ap.add_argument("--r-stations", help="comma-separated ids for PWSQC_3.R's station loop")
    ap.add_argument("--r-steps", help="PWSQC_3.R's step loop over: pypwsqc, every:K, all "
                    "(comma-separated; default all); needs --r-stations")
    ap.add_argument("--file", default=FILE)
    a = ap.parse_args()
    ds, rain, ids = read_file(a.file)
    reported = ~np.isnan(rain)
    print("file: %s, %d stations x %d steps, %d reported station-steps"
          % (a.file, rain.shape[0], rain.shape[1], int(reported.sum())))

    def fz_hi(fz, hi):  # flagged reported steps per station
        return {s: (int(np.sum((fz[k] == 1) & reported[k])), int(np.sum((hi[k] == 1) & reported[k])))
                for k, s in enumerate(ids)}

    so, fz, hi = run_sq25(a.file, ids)
    so_of = {"sq25": so}
    table = {"sq25": per_station(so, reported, ids)}
    fzhi = {"sq25": fz_hi(fz.astype(int), hi.astype(int))}
    looped = ids
    if a.pypwsqc:
        so, fz, hi = run_pypwsqc(a.pypwsqc, a.work, ds, ids)
        so_of["pypwsqc"] = so
        table["pypwsqc"] = per_station(so, reported, ids)
        fzhi["pypwsqc"] = fz_hi(fz, hi)
    evaluated = None
    if a.pwsqc:
        stations = a.r_stations.split(",") if a.r_stations else None
        steps = None
        if a.r_steps and a.r_steps != "all":
            if not stations:
                raise SystemExit("--r-steps needs --r-stations")
            steps = choose_steps(a.r_steps, stations, ids, reported, so_of.get("pypwsqc"))
            evaluated = np.zeros(rain.shape, bool)
            for sid, ts in steps.items():
                evaluated[ids.index(sid), ts] = True
            print("PWSQC_3.R's step loop limited to %d steps (%s)"
                  % (int(evaluated.sum()), a.r_steps))
        so, fz, hi, looped = run_pwsqc(a.pwsqc, a.work, ds, rain, ids, stations, steps)
        if evaluated is not None:
            so = np.where(evaluated, so, np.nan)  # not evaluated: not compared
        so_of["PWSQC"] = np.nan_to_num(so, nan=-9)
        table["PWSQC"] = per_station(so_of["PWSQC"], reported, ids)
        fzhi["PWSQC"] = fz_hi(fz, hi)
        print("PWSQC_2.R over all stations: FZ %d, HI %d flagged reported steps"
              % (sum(v[0] for v in fzhi["PWSQC"].values()), sum(v[1] for v in fzhi["PWSQC"].values())))
    full = [n for n in table if n != "PWSQC" or looped == ids]
    summary({n: table[n] for n in full}, fzhi, ids, "All stations (flags on reported steps)")
    flagged = {n: flagged_in(table[n], ids) for n in full}
    for n in full:
        say("flagged by %s" % n, flagged[n])
    for n in [n for n in full if n != "sq25"]:
        say("flagged by %s, not by sq25" % n, flagged[n] - flagged["sq25"])
        say("flagged by sq25, not by %s" % n, flagged["sq25"] - flagged[n])
    if evaluated is not None:
        flagged_r = compare_at_steps(so_of, ids, looped, evaluated, reported)
        say("flagged by PWSQC at the steps it evaluated", flagged_r)
        if "pypwsqc" in table:
            say("flagged by both references (PWSQC at its steps) but not by sq25",
                flagged_r & flagged_in(table["pypwsqc"], looped) - flagged_in(table["sq25"], looped))
        return
    if "PWSQC" in table and looped != ids:
        print("\nPWSQC_3.R's station loop was limited to: %s (its FZ/HI run over all)"
              % " ".join(looped))
        summary(table, fzhi, looped, "The stations of the PWSQC loop")
        for st in looped:
            k = ids.index(st)
            differ = int(np.sum((so_of["sq25"][k] != so_of["PWSQC"][k]) & reported[k]))
            print("%s: SO flag (-1/0/1) differs between sq25 and PWSQC on %d of %d reported steps"
                  % (st, differ, int(reported[k].sum())))
    if "PWSQC" in table and "pypwsqc" in table:
        r = flagged_in(table["PWSQC"], looped)
        both = r & flagged_in(table["pypwsqc"], looped)
        say("flagged by both references (PWSQC over its loop) but not by sq25",
            both - flagged_in(table["sq25"], looped))
        candidates = flagged_in(table["pypwsqc"], ids) - flagged_in(table["sq25"], ids)
        unchecked = candidates - set(looped)
        if unchecked:
            say("(pypwsqc-only stations PWSQC was not run on)", unchecked)
    rows = set(looped) if looped != ids else set().union(*flagged.values())
    print("\nper station (SO steps / judged steps):")
    print("%-7s " % "id" + " ".join("%16s" % n for n in table))
    for s in names(rows):
        print("%-7s " % s + " ".join("%16s" % ("%d/%d" % (t[s]["outlier"], t[s]["judged"])
                                               if n != "PWSQC" or s in looped else "-")
                                     for n, t in table.items()))


if __name__ == "__main__":
    main()
