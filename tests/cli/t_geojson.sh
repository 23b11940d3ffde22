# sq25 run on the demo's data: the warning GeoJSON is valid for GEOS (python3-shapely,
# tests/geojson_check.py: valid geometries, outer rings counter-clockwise, holes clockwise,
# levels not overlapping), and the outputs carry explicit states. Then the same run with the
# 17:35 frame removed: bridged, marked degraded in summary.json, targets.csv and on stdout;
# and a radar outage: marked stale.
set -eu
sq25=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
frames=$(ls data/radar/rmi_20210704/2021070417[2-4]*.hdf)
# shellcheck disable=SC2086
$sq25 run --quiet --radar $frames --grid lonlat:5.8,49.95,6.4,50.35:100 \
  --targets tests/demo/targets.csv --levels 5,10,15 --out "$tmp/full" > "$tmp/out" 2> "$tmp/err" ||
  { echo "run failed:"; cat "$tmp/err"; exit 1; }
grep -q '^state         ok$' "$tmp/out" || { echo "no 'state ok' line:"; cat "$tmp/out"; exit 1; }
if /usr/bin/python3 -c 'import shapely' 2>/dev/null; then
  /usr/bin/python3 tests/geojson_check.py "$tmp/full/warnings.geojson" > "$tmp/verdict" ||
    { echo "shapely rejects warnings.geojson:"; cat "$tmp/verdict"; exit 1; }
  grep -q "features valid, [1-9][0-9]* polygons" "$tmp/verdict" ||
    { echo "no polygon checked:"; cat "$tmp/verdict"; exit 1; }
else
  echo "python3-shapely missing: GeoJSON validity not checked" >&2
fi
head -1 "$tmp/full/targets.csv" | grep -q '^id,name,lon,lat,level,level_name,state,' ||
  { echo "targets.csv has no state column"; exit 1; }

gap=$(echo "$frames" | grep -v 173500)
# shellcheck disable=SC2086
$sq25 run --quiet --radar $gap --grid lonlat:5.8,49.95,6.4,50.35:100 \
  --targets tests/demo/targets.csv --levels 5,10,15 --out "$tmp/gap" > "$tmp/out" 2> "$tmp/err" ||
  { echo "run with a missing frame failed:"; cat "$tmp/err"; exit 1; }
grep -q '^state         degraded' "$tmp/out" || { echo "gap not marked degraded:"; cat "$tmp/out"; exit 1; }
grep -q '"state":"degraded"' "$tmp/gap/summary.json" || { echo "summary.json not degraded"; exit 1; }
awk -F, 'NR > 1 && $7 != "degraded" { bad = 1 } END { exit bad }' "$tmp/gap/targets.csv" ||
  { echo "targets.csv rows not degraded:"; cat "$tmp/gap/targets.csv"; exit 1; }
# with no gap bridged, the run starts a new sequence at 17:40 (1.0 behaviour) and tells so
# shellcheck disable=SC2086
$sq25 run --quiet --max-gap 0 --radar $gap --out "$tmp/reset" > /dev/null 2> "$tmp/err" || true
grep -q "starting a new sequence" "$tmp/err" || { echo "no new-sequence notice:"; cat "$tmp/err"; exit 1; }

# a radar outage: the newest frame (17:50, made here from the 17:45 file with h5py) all no data.
# 1.0 gave every target level 0 and an empty probability (an all-clear during the storm); now
# the 17:45 forecast is carried forward and every row says stale.
/usr/bin/python3 - "$tmp" <<'PY'
import shutil, sys
import h5py, numpy as np
dst = sys.argv[1] + "/20210704175000.outage.hdf"
shutil.copy("data/radar/rmi_20210704/20210704174500.rad.best.comp.rate.qpe.hdf", dst)
with h5py.File(dst, "r+") as f:
    f["what"].attrs["time"] = np.bytes_("175000")
    f["dataset1/data1/data"][...] = np.nan
PY
outage="$(echo "$frames" | tail -3) $tmp/20210704175000.outage.hdf"
# shellcheck disable=SC2086
$sq25 run --quiet --radar $outage --grid lonlat:5.8,49.95,6.4,50.35:100 \
  --targets tests/demo/targets.csv --levels 5,10,15 --out "$tmp/outage" > "$tmp/out" 2> "$tmp/err" ||
  { echo "run with an outage failed:"; cat "$tmp/err"; exit 1; }
grep -q '^state         stale' "$tmp/out" || { echo "outage not marked stale:"; cat "$tmp/out"; exit 1; }
awk -F, 'NR > 1 && $7 != "stale" { bad = 1 } END { exit bad }' "$tmp/outage/targets.csv" ||
  { echo "targets.csv rows not stale:"; cat "$tmp/outage/targets.csv"; exit 1; }
grep -q '"data_time":"2021-07-04T17:45:00Z"' "$tmp/outage/summary.json" ||
  { echo "summary.json lacks the data time"; exit 1; }
