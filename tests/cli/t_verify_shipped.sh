# The control member in the ensemble file (control_rate, since 1.4) and `sq25 verify
# --ensemble`'s CRPS of the distribution the probabilities describe (crps_shipped_mmh).
# 1. A hand-made file (netCDF4-python, 8 x 8 cells, 2 members, 1 lead, window 1 cell per lead
#    step, control weight 0.5) and a hand-made observation valid at two cells; the CRPS of the
#    pooled distribution worked out by hand below.
# 2. A real run with --keep-members: ncdump -h and netCDF4 see control_rate, and verify prints
#    a finite crps_shipped_mmh.
set -eu
sq25=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
issue=1625418000 # 2021-07-04 17:00 UTC
proj="+proj=stere +lat_0=90 +lon_0=0 +lat_ts=60 +x_0=0 +y_0=0 +a=6378137 +b=6378137 +units=m"
/usr/bin/python3 - "$tmp/hand.nc" "$issue" "$proj" <<'PY'
import sys
import numpy as np
import netCDF4
path, issue, proj = sys.argv[1], float(sys.argv[2]), sys.argv[3]
ds = netCDF4.Dataset(path, "w")
for name, n in (("time", 1), ("threshold", 1), ("y", 8), ("x", 8), ("member", 2)):
    ds.createDimension(name, n)
ds.createVariable("time", "f8", ("time",))[:] = [issue + 300]
ds.createVariable("forecast_reference_time", "f8", ())[...] = issue
ds.createVariable("threshold", "f8", ("threshold",))[:] = [1.0]
ds.createVariable("x", "f8", ("x",))[:] = 500.0 + 1000.0 * np.arange(8)
ds.createVariable("y", "f8", ("y",))[:] = 7500.0 - 1000.0 * np.arange(8)
crs = ds.createVariable("crs", "i4", ())
crs.proj4_params = proj
p = ds.createVariable("exceedance_probability", "f4", ("time", "threshold", "y", "x"), fill_value=np.nan)
p[:] = 0.5
p.neighbourhood_cells_per_lead_step = 1.0
p.control_weight = 0.5
ds.createVariable("mean_rate", "f4", ("time", "y", "x"), fill_value=np.nan)[:] = 1.0
r = np.zeros((2, 1, 8, 8), dtype=np.float32)
r[1] = 2.0          # member 1: 2 mm/h everywhere but 11 mm/h at row 4, column 4
r[1, 0, 4, 4] = 11.0
ds.createVariable("rainfall_rate", "f4", ("member", "time", "y", "x"), fill_value=np.nan)[:] = r
ds.createVariable("control_rate", "f4", ("time", "y", "x"), fill_value=np.nan)[:] = 4.0
ds.close()
PY
PYTHONPATH=python /usr/bin/python3 - "$tmp/obs.h5" "$issue" "$proj" <<'PY'
import sys
import numpy as np
import sq25.core as sc
obs = np.full((8, 8), np.nan, dtype=np.float32)
obs[4, 4] = 1.0 # y = 1 mm/h where member 1 has 11
obs[1, 1] = 0.0 # y = 0 mm/h where the window holds only 0 and 2 mm/h members
f = sc.Field.create(obs, sys.argv[3], (0.0, 1000.0, 0.0, 8000.0, 0.0, -1000.0),
                    valid_time=int(sys.argv[2]) + 300)
sc.write_odim(sys.argv[1], f)
PY
$sq25 verify --ensemble "$tmp/hand.nc" "$tmp/obs.h5" --json > "$tmp/hand.json"
/usr/bin/python3 - "$tmp/hand.json" <<'PY'
import json, sys
lead = json.load(open(sys.argv[1]))["leads"][0]
# Members' CRPS (E|X - y| - E|X - X'| / 2 over the two members at the cell):
#   (4,4): {0, 11}, y = 1: (1 + 10) / 2 - 11 / 4 = 2.75;  (1,1): {0, 2}, y = 0: 1 - 0.5 = 0.5
assert abs(lead["crps_mmh"] - (2.75 + 0.5) / 2) < 1e-5, lead
# Shipped distribution at lead 1 (window half side ceil(1 x 1) = 1: 3 x 3 cells): the members'
# 18 values share 1 - 0.5, the control's 9 values (all 4) share 0.5.
#   (4,4): 0 w 9/36, 2 w 8/36, 11 w 1/36, 4 w 1/2; y = 1:
#     E|X - y| = 1/4 + 2/9 + 10/36 + 3/2 = 2.25
#     E|X - X'| / 2 = 1/4 2/9 2 + 1/4 1/36 11 + 1/4 1/2 4 + 2/9 1/36 9 + 2/9 1/2 2 + 1/36 1/2 7
#                   = 1/9 + 11/144 + 1/2 + 1/18 + 2/9 + 7/72 = 1.0625  ->  CRPS 1.1875
#   (1,1): 0 w 1/4, 2 w 1/4, 4 w 1/2; y = 0: E|X - y| = 2.5, E|X - X'| / 2 = 1/8 + 1/2 + 1/4
#     = 0.875  ->  CRPS 1.625
want = (1.1875 + 1.625) / 2
got, bound = lead["crps_shipped_mmh"], lead["crps_shipped_bound_mmh"]
assert abs(got - want) <= bound + 1e-6 and bound < 0.05, (got, bound, want)
PY
# a file that does not state its control weight (files before 1.4): no shipped CRPS (null),
# the members' CRPS as before
cp "$tmp/hand.nc" "$tmp/old.nc"
/usr/bin/python3 -c 'import sys, netCDF4; ds = netCDF4.Dataset(sys.argv[1], "a"); ds["exceedance_probability"].delncattr("control_weight"); ds.close()' "$tmp/old.nc"
$sq25 verify --ensemble "$tmp/old.nc" "$tmp/obs.h5" --json > "$tmp/old.json"
/usr/bin/python3 - "$tmp/old.json" <<'PY'
import json, sys
lead = json.load(open(sys.argv[1]))["leads"][0]
assert lead["crps_shipped_mmh"] is None and abs(lead["crps_mmh"] - 1.625) < 1e-5, lead
PY
# the table form names the column
$sq25 verify --ensemble "$tmp/hand.nc" "$tmp/obs.h5" | grep -q crps_shipped_mmh
# 2. a real run
d=data/radar/rmi_20210704
[ -d "$d" ] || { echo "skip: $d not present"; exit 0; }
f1=$d/20210704170000.rad.best.comp.rate.qpe.hdf
f2=$d/20210704170500.rad.best.comp.rate.qpe.hdf
f3=$d/20210704171000.rad.best.comp.rate.qpe.hdf
$sq25 nowcast "$f1" "$f2" "$f3" --members 3 --seed 5 --leads 10 --keep-members --threads 2 \
  --out "$tmp/ens.nc"
ncdump -h "$tmp/ens.nc" > "$tmp/header.txt"
for want in 'float control_rate(time, y, x)' 'exceedance_probability:control_weight = 0.65' \
            'control_rate:units = "mm h-1"'; do
  grep -qF "$want" "$tmp/header.txt" || { echo "ncdump -h lacks: $want"; exit 1; }
done
/usr/bin/python3 - "$tmp/ens.nc" <<'PY'
import sys
import numpy as np
import netCDF4
ds = netCDF4.Dataset(sys.argv[1])
c = ds["control_rate"][:].filled(np.nan)
assert c.shape == (2, 700, 700) and np.isfinite(c).sum() > 100000 and np.nanmax(c) > 1, c.shape
PY
$sq25 verify --ensemble "$tmp/ens.nc" $d/*.hdf --json > "$tmp/ver.json"
/usr/bin/python3 - "$tmp/ver.json" <<'PY'
import json, math, sys
for lead in json.load(open(sys.argv[1]))["leads"]:
    assert math.isfinite(lead["crps_shipped_mmh"]) and lead["crps_shipped_mmh"] > 0, lead
PY
# without --keep-members there is no control member (nor members) in the file
$sq25 nowcast "$f1" "$f2" "$f3" --members 3 --seed 5 --leads 10 --out "$tmp/nokeep.nc"
ncdump -h "$tmp/nokeep.nc" | grep -q control_rate && { echo "control_rate without --keep-members"; exit 1; }
echo ok
