# sq25 links: path rain per link from the bundled OpenSense CML files, JSON read back by
# Python's json module, errors for bad files and options.
set -eu
sq25=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mrg=data/sensors/openmrg_20150725_2h/openmrg_cml_5min_2h.nc
rainer=data/sensors/openrainer_8d/openrainer_cml_8d.nc
# processed rain (OpenMRG): 15-min sums, checked against the file's own R summed with h5py
# (an independent reader; skipped where python3-h5py is not installed)
$sq25 links --file "$mrg" --from 2015-07-25T12:45 --to 2015-07-25T15:00 --step 900 --json > "$tmp/m.json"
if /usr/bin/python3 -c "import h5py, numpy" 2>/dev/null; then
/usr/bin/python3 - "$tmp/m.json" "$mrg" <<'PY'
import json, sys, h5py, numpy as np
d = json.load(open(sys.argv[1]))
assert len(d["links"]) == 359, len(d["links"])
assert d["links"][0]["id"] == "10001/sublink_1"
R = h5py.File(sys.argv[2])["R"][:]  # (time, cml), mm per 5 min, time 0 = 12:30
for i in (0, 7, 100):
    got = d["links"][i]["rain_mm"]
    want = [np.nansum(R[1 + 3 * j:4 + 3 * j, i]) for j in range(len(got))]
    for g, w in zip(got, want):
        assert g is not None and abs(g - w) < 1e-4, (i, got, want)
PY
else
  grep -q '"id": "10001/sublink_1"' "$tmp/m.json" || { echo "json lacks link 10001"; exit 1; }
fi
# raw signal levels (OpenRainER): hourly text table
$sq25 links --file "$rainer" --from 2022-08-15T00:00 --to 2022-08-16T00:00 --step 3600 > "$tmp/r.txt"
grep -q "^412/channel1 " "$tmp/r.txt" || { echo "link 412 missing"; cat "$tmp/r.txt" | head; exit 1; }
grep -q "^links: 302" "$tmp/r.txt" || { echo "no summary"; exit 1; }
$sq25 links --file "$rainer" --from 2022-08-15T00:00 --to 2022-08-16T00:00 --waa none --json > /dev/null
# links as line sensors in interpolate: kriging with block support, the ODIM output read back
$sq25 interpolate --links "$rainer" --step 900 --time 2022-08-18T15:00 \
  --grid lonlat:11.0,44.3,11.6,44.7:1000 --method kriging --out "$tmp/k.h5" > "$tmp/k.txt"
grep -q "kriging, max" "$tmp/k.txt" || { echo "no interpolate summary"; cat "$tmp/k.txt"; exit 1; }
grep -q "nodata 0.0 %" "$tmp/k.txt" || { echo "links kriging left no-data cells"; cat "$tmp/k.txt"; exit 1; }
$sq25 info "$tmp/k.h5" | grep -q RATE || { echo "output unreadable"; exit 1; }
h5ls -r "$tmp/k.h5" | grep -q dataset2 || { echo "no variance dataset"; exit 1; }
set +e
$sq25 interpolate --links "$rainer" --step 900 --time 2022-08-18T15:00 \
  --grid lonlat:11.0,44.3,11.6,44.7:1000 --method nearest --out "$tmp/n.h5" 2> /dev/null
[ $? -eq 2 ] || { echo "--links with nearest accepted"; exit 1; }
[ ! -e "$tmp/n.h5" ] || { echo "output written after a usage error"; exit 1; }
$sq25 links --file "$tmp/none.nc" --from 2022-08-15T00:00 --to 2022-08-16T00:00 2> "$tmp/e.txt"
[ $? -eq 1 ] || { echo "missing file: wrong status"; exit 1; }
grep -q "none.nc" "$tmp/e.txt" || { echo "message lacks the file"; cat "$tmp/e.txt"; exit 1; }
$sq25 links --file "$rainer" --from 2022-08-15T00:00 --to 2022-08-16T00:00 --waa wet 2> /dev/null
[ $? -eq 2 ] || { echo "bad --waa accepted"; exit 1; }
$sq25 links --file "$rainer" --from 2022-08-15T00:00 --to 2022-08-16T00:00 --step 90 2> "$tmp/e.txt"
[ $? -eq 1 ] || { echo "step not a multiple accepted"; exit 1; }
$sq25 links --file data/gauges/amsterdam_pws_2017/test_dataset.nc --from 2017-08-30T00:00 --to 2017-08-31T00:00 2> "$tmp/e.txt"
[ $? -eq 1 ] || { echo "gauge file accepted as links"; exit 1; }
grep -q "site_0_lat" "$tmp/e.txt" || { echo "gauge file: unclear message"; cat "$tmp/e.txt"; exit 1; }
# links as line sensors in run: the bundled OpenMRG radar and links (359 sub-links, counted
# above from the file's own dimensions); the merged analysis is written and named in summary
mrad=data/sensors/openmrg_20150725_2h/openmrg_rad_5min_2h.nc
$sq25 run --quiet --no-maps --radar "$mrad" --links "$mrg" --time 2015-07-25T14:00 \
    --out "$tmp/run" > "$tmp/run.txt"
grep -q "radar merged with 359 sensors" "$tmp/run.txt" || { echo "run --links: no merge"; cat "$tmp/run.txt"; exit 1; }
[ -s "$tmp/run/observation.h5" ] || { echo "run --links: no observation.h5"; exit 1; }
/usr/bin/python3 - "$tmp/run/summary.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))["analysis"]
assert a["sensors_used"] == 359 and a["radar_only"] is False, a
PY
# a link file that cannot be read: an error naming it, and nothing written
set +e
$sq25 run --quiet --no-maps --radar "$mrad" --links "$tmp/none.nc" --out "$tmp/run2" 2> "$tmp/e.txt"
[ $? -eq 1 ] || { echo "run --links missing file: wrong status"; exit 1; }
grep -q "none.nc" "$tmp/e.txt" || { echo "run --links: message lacks the file"; cat "$tmp/e.txt"; exit 1; }
[ ! -e "$tmp/run2/forecast.h5" ] || { echo "run --links: output after a bad link file"; exit 1; }
$sq25 run --quiet --no-maps --radar "$mrad" --links "$mrg" --links-waa wet --out "$tmp/run2" 2> /dev/null
[ $? -eq 2 ] || { echo "run: bad --links-waa accepted"; exit 1; }
$sq25 run --quiet --no-maps --radar "$mrad" --links "$mrg" --links-step 90 --out "$tmp/run2" 2> "$tmp/e.txt"
[ $? -eq 1 ] || { echo "run: --links-step not a multiple accepted"; cat "$tmp/e.txt"; exit 1; }
exit 0
