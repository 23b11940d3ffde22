# sq25 nowcast --members: a CF-1.8 netCDF-4 ensemble file that netcdf-bin's ncdump, the
# python3-netcdf4 module and xarray read; its statistics recomputed from its own members;
# its lat/lon checked against cs2cs (proj-bin); bad input gives an error and no file.
set -eu
sq25=$1
d=data/radar/rmi_20210704
[ -d "$d" ] || { echo "skip: $d not present"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
f1=$d/20210704170000.rad.best.comp.rate.qpe.hdf
f2=$d/20210704170500.rad.best.comp.rate.qpe.hdf
f3=$d/20210704171000.rad.best.comp.rate.qpe.hdf
# --neighbourhood 0 --control-weight 0: the members' fractions alone (recomputed below)
$sq25 nowcast "$f3" "$f1" "$f2" --members 4 --seed 5 --leads 15 --keep-members \
  --quantiles 0.5,0.9 --threads 2 --neighbourhood 0 --control-weight 0 \
  --out "$tmp/ens.nc" --json > "$tmp/ens.json"
ncdump -h "$tmp/ens.nc" > "$tmp/header.txt"
for want in 'time = 3' 'threshold = 4' 'quantile = 2' 'member = 4' 'y = 700' 'x = 700' \
            'float exceedance_probability(time, threshold, y, x)' \
            'float rainfall_rate(member, time, y, x)' ':Conventions = "CF-1.8"' \
            'grid_mapping_name = "lambert_conformal_conic"' 'exceedance_probability:grid_mapping = "crs"'; do
  grep -qF "$want" "$tmp/header.txt" || { echo "ncdump -h lacks: $want"; cat "$tmp/header.txt" | head -40; exit 1; }
done
# the same seed with another thread count gives the same file content
$sq25 nowcast "$f1" "$f2" "$f3" --members 4 --seed 5 --leads 15 --keep-members \
  --quantiles 0.5,0.9 --threads 1 --neighbourhood 0 --control-weight 0 --out "$tmp/ens1.nc"
/usr/bin/python3 - "$tmp/ens.nc" "$tmp/ens1.nc" > "$tmp/corner.txt" <<'PY'
import sys
import numpy as np
import netCDF4
ds = netCDF4.Dataset(sys.argv[1])
assert ds.Conventions == "CF-1.8"
t = ds["time"]
dates = netCDF4.num2date(t[:], t.units)
assert [d.strftime("%H:%M") for d in dates] == ["17:15", "17:20", "17:25"], dates
p = ds["exceedance_probability"][:].filled(np.nan)
r = ds["rainfall_rate"][:].filled(np.nan)
assert p.shape == (3, 4, 700, 700) and r.shape == (4, 3, 700, 700)
ok = np.isfinite(p[0, 0])
assert ok.sum() > 100000
assert np.nanmin(p) >= 0 and np.nanmax(p) <= 1
# probability of > 1 mm/h = fraction of the members above 1 mm/h (all members valid here)
allvalid = np.all(np.isfinite(r[:, 1]), axis=0)
frac = (r[:, 1] > 1.0).mean(axis=0)
assert np.allclose(p[1, 0][allvalid], frac[allvalid], atol=1e-6)
assert (frac > 0).sum() > 100, "no rain above 1 mm/h in any member"
m = ds["mean_rate"][:].filled(np.nan)
v2 = np.all(np.isfinite(r[:, 2]), axis=0)
assert np.allclose(m[2][v2], r[:, 2].mean(axis=0)[v2], rtol=1e-5, atol=1e-5)
# accumulation over 15 min: mean of the members' amounts
a = ds["accumulation"][:].filled(np.nan)
am = ds["accumulation_mean"][:].filled(np.nan)
assert a.shape == (4, 1, 700, 700)
v = np.all(np.isfinite(a[:, 0]), axis=0)
assert np.allclose(am[0][v], a[:, 0].mean(axis=0)[v], rtol=1e-5, atol=1e-5)
ds1 = netCDF4.Dataset(sys.argv[2])
assert np.array_equal(ds1["rainfall_rate"][:].filled(-1), ds["rainfall_rate"][:].filled(-1)), \
    "members differ between 1 and 2 threads"
print(float(ds["x"][0]), float(ds["y"][0]), float(ds["lon"][0, 0]), float(ds["lat"][0, 0]))
print(ds["crs"].proj4_params)
PY
# xarray decodes the file (times, coordinates) without help
/usr/bin/python3 - "$tmp/ens.nc" <<'PY'
import sys
import xarray as xr
ds = xr.open_dataset(sys.argv[1])
assert str(ds.time.values[0]).startswith("2021-07-04T17:15"), ds.time.values[0]
assert ds.exceedance_probability.dims == ("time", "threshold", "y", "x")
assert float(ds.threshold[1]) == 5.0
PY
# lat/lon of the upper-left cell centre: PROJ's cs2cs from the file's x/y
set -- $(head -1 "$tmp/corner.txt")
proj=$(sed -n 2p "$tmp/corner.txt")
echo "$1 $2" | cs2cs -f %.6f $proj +to +proj=longlat +datum=WGS84 > "$tmp/cs2cs.txt"
/usr/bin/python3 - "$3" "$4" "$tmp/cs2cs.txt" <<'PY'
import sys
lon, lat = float(sys.argv[1]), float(sys.argv[2])
ref = open(sys.argv[3]).read().split()
assert abs(lon - float(ref[0])) < 1e-4 and abs(lat - float(ref[1])) < 1e-4, (lon, lat, ref)
PY
# sq25 verify --ensemble: Brier and CRPS at 15 min recomputed from the file (netCDF4) and
# the observation read with h5py (ODIM physical values, NaN = nodata)
$sq25 verify --ensemble "$tmp/ens.nc" $d/*.hdf --json > "$tmp/ver.json"
/usr/bin/python3 - "$tmp/ens.nc" "$tmp/ver.json" $d/20210704172500.rad.best.comp.rate.qpe.hdf <<'PY'
import json, sys
import h5py, netCDF4
import numpy as np
ds = netCDF4.Dataset(sys.argv[1])
v = json.load(open(sys.argv[2]))
obs = h5py.File(sys.argv[3])["dataset1/data1/data"][:].astype(np.float64)
lead = [l for l in v["leads"] if l["lead_min"] == 15][0]
assert [l["lead_min"] for l in v["leads"]] == [5, 10, 15]
p = ds["exceedance_probability"][2].filled(np.nan).astype(np.float64)
r = ds["rainfall_rate"][:, 2].filled(np.nan).astype(np.float64)
ok = np.isfinite(obs) & np.all(np.isfinite(p), axis=0) & np.all(np.isfinite(r), axis=0)
for t, thr in enumerate([1, 5, 10, 20]):
    brier = np.mean((p[t][ok] - (obs[ok] > thr)) ** 2)
    got = lead["thresholds"][t]["brier"]
    assert abs(brier - got) < 1e-6 * max(1, brier), (thr, brier, got)
    counts = sum(b["count"] for b in lead["thresholds"][t]["reliability"])
    assert counts == ok.sum(), (counts, ok.sum())
x = r[:, ok]
crps = np.mean(np.abs(x - obs[ok]).mean(axis=0) - 0.5 * np.abs(x[:, None, :] - x[None, :, :]).mean(axis=(0, 1)))
assert abs(crps - lead["crps_mmh"]) < 1e-5, (crps, lead["crps_mmh"])
assert sum(lead["rank_histogram"]) == ok.sum()
PY
# sq25 run --members: warnings from the members; ensemble.nc carries the 1-hour window and the
# level thresholds as accumulation thresholds
$sq25 run --radar "$f1" "$f2" "$f3" --members 3 --levels 1,5,10 --out "$tmp/run" --quiet > /dev/null
/usr/bin/python3 - "$tmp/run/ensemble.nc" "$tmp/run/summary.json" <<'PY'
import json, sys
import netCDF4
ds = netCDF4.Dataset(sys.argv[1])
assert list(ds["window"][:]) == [3600.0], ds["window"][:]
assert list(ds["accumulation_threshold"][:]) == [1.0, 5.0, 10.0]
assert ds.ensemble_members == 3
s = json.load(open(sys.argv[2]))
assert [l["threshold_mm"] for l in s["levels"]] == [1, 5, 10]
PY
# the blend (lib/ensemble_prob.c): with --neighbourhood 1 the probability at lead 2 is the mean
# of the members' fraction (recounted here from the members) over the valid cells of the 5x5
# window (half side ceil(1 x 2)), by NumPy cumulative sums; the attributes say so
$sq25 nowcast "$f1" "$f2" "$f3" --members 3 --seed 7 --leads 15 --keep-members \
  --neighbourhood 1 --control-weight 0 --out "$tmp/blend.nc"
ncdump -h "$tmp/blend.nc" > "$tmp/blend.txt"
for want in 'exceedance_probability:neighbourhood_cells_per_lead_step = 1.' \
            'accumulation_probability:neighbourhood_cells_per_lead_step = 1.' 'ceil(1 k)'; do
  grep -qF "$want" "$tmp/blend.txt" || { echo "ncdump -h lacks: $want"; grep -F probability "$tmp/blend.txt"; exit 1; }
done
/usr/bin/python3 - "$tmp/blend.nc" <<'PY'
import sys
import numpy as np
import netCDF4
ds = netCDF4.Dataset(sys.argv[1])
p = ds["exceedance_probability"][1, 0].filled(np.nan)
r = ds["rainfall_rate"][:, 1].filled(np.nan)
valid = np.isfinite(r).any(axis=0)
frac = np.where(valid, np.nansum(r > 1, axis=0) / np.maximum(np.isfinite(r).sum(axis=0), 1), 0)
def window_sum(a, h):
    c = np.pad(a, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    n, m = a.shape
    y0 = np.clip(np.arange(n) - h, 0, n); y1 = np.clip(np.arange(n) + h + 1, 0, n)
    x0 = np.clip(np.arange(m) - h, 0, m); x1 = np.clip(np.arange(m) + h + 1, 0, m)
    return c[y1][:, x1] - c[y0][:, x1] - c[y1][:, x0] + c[y0][:, x0]
with np.errstate(divide="ignore", invalid="ignore"):
    want = window_sum(frac, 2) / window_sum(valid.astype(float), 2)
ok = valid & np.isfinite(p)
assert ok.sum() > 100000 and np.all(np.isnan(p[~valid]))
assert np.max(np.abs(p[ok] - want[ok])) < 1e-5, np.max(np.abs(p[ok] - want[ok]))
assert ((p > 0) & (p < 1)).sum() > 1000  # the window spreads the members' rain
PY
# the shrink of the high probabilities (since 1.5): members' fraction at the cell (no window,
# no control), then p above 0.15 scaled by max(0, 1 - 4 x lead / 60 min): 2/3 at 5 min, 1/3
# at 10 min, 0 at 15 min (every p above 0.15 becomes 0.15); recounted from the members
$sq25 nowcast "$f1" "$f2" "$f3" --members 3 --seed 7 --leads 15 --keep-members \
  --neighbourhood 0 --control-weight 0 --probability-shrink 0.15,4 --out "$tmp/shrink.nc"
ncdump -h "$tmp/shrink.nc" | grep -qF 'then p above 0.15 scaled by max(0, 1 - 4 t / 60)' ||
  { echo "ncdump -h lacks the shrink"; exit 1; }
/usr/bin/python3 - "$tmp/shrink.nc" <<'PY'
import sys
import numpy as np
import netCDF4
ds = netCDF4.Dataset(sys.argv[1])
for k, slope in enumerate((2 / 3, 1 / 3, 0)):
    p = ds["exceedance_probability"][k, 0].filled(np.nan)
    r = ds["rainfall_rate"][:, k].filled(np.nan)
    n = np.isfinite(r).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.nansum(r > 1, axis=0) / n
    want = np.where(frac > 0.15, 0.15 + (frac - 0.15) * slope, frac)
    ok = n == 3
    assert ok.sum() > 100000 and (frac[ok] > 0.5).sum() > 1000
    assert np.max(np.abs(p[ok] - want[ok])) < 1e-6, (k, np.max(np.abs(p[ok] - want[ok])))
PY
# the file says so, and verify gives no CRPS of a pooled distribution for shrunk
# probabilities (without the shrink this file's would be finite: no window, no control)
ncdump -h "$tmp/shrink.nc" | grep -q 'exceedance_probability:probability_shrink_rate_per_hour = 4\.' ||
  { echo "ncdump -h lacks probability_shrink_rate_per_hour"; exit 1; }
$sq25 verify --ensemble "$tmp/shrink.nc" "$d"/2021070417[12]*.hdf --json > "$tmp/shrink.json"
/usr/bin/python3 - "$tmp/shrink.json" <<'PY'
import json, math, sys
leads = json.load(open(sys.argv[1]))["leads"]
assert len(leads) == 3, leads
for lead in leads:
    assert lead["crps_shipped_mmh"] is None and math.isfinite(lead["crps_mmh"]), lead
PY
if $sq25 nowcast "$f1" "$f2" "$f3" --members 3 --probability-shrink 0.15 --out "$tmp/bad.nc" 2>/dev/null; then
  echo "--probability-shrink without a rate accepted"; exit 1; fi
# bad input: an error, no output file
if $sq25 nowcast "$f2" "$f3" --members 4 --frames 2 --out "$tmp/bad.nc" 2> "$tmp/err.txt"; then
  echo "two frames accepted for an ensemble"; exit 1; fi
grep -q "3 frames" "$tmp/err.txt" || { cat "$tmp/err.txt"; exit 1; }
[ ! -e "$tmp/bad.nc" ] || { echo "partial output left"; exit 1; }
if $sq25 nowcast "$f1" "$f2" "$f3" --members 4 --leads 15 --out "$tmp/no/such/dir.nc" 2> "$tmp/err.txt"; then
  echo "unwritable output accepted"; exit 1; fi
grep -q "no/such/dir.nc" "$tmp/err.txt" || { cat "$tmp/err.txt"; exit 1; }
ls "$tmp/no" 2>/dev/null && { echo "something left behind"; exit 1; }
if $sq25 nowcast "$f1" "$f2" "$f3" --members 0 --out "$tmp/bad.nc" 2>/dev/null; then
  echo "--members 0 accepted"; exit 1; fi
echo ok
