# sq25 nowcast and sq25 verify on the bundled RMI frames (5-minute steps, 700x700 mm/h).
set -eu
sq25=$1
d=data/radar/rmi_20210704
[ -d "$d" ] || { echo "skip: $d not present"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
f1=$d/20210704170000.rad.best.comp.rate.qpe.hdf
f2=$d/20210704170500.rad.best.comp.rate.qpe.hdf
f3=$d/20210704171000.rad.best.comp.rate.qpe.hdf
# inputs in any order: the command sorts by valid time
$sq25 nowcast "$f3" "$f1" "$f2" --leads 30 --method lk --out "$tmp/fc.h5" --json > "$tmp/nc.json"
python3 - "$tmp/nc.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["issue_time"] == "2021-07-04T17:10:00Z", s["issue_time"]
assert s["step_s"] == 300 and s["method"] == "lk"
leads = s["leads"]
assert [l["lead_min"] for l in leads] == [5, 10, 15, 20, 25, 30], leads
assert leads[-1]["valid_time"] == "2021-07-04T17:40:00Z"
PY
# 6 RATE datasets in lead order, then the two motion components
n=$(h5ls "$tmp/fc.h5" | grep -c '^dataset')
[ "$n" -eq 8 ] || { echo "expected 8 datasets, found $n"; exit 1; }
h5dump -a /dataset7/what/quantity "$tmp/fc.h5" | grep -q UMOTION || { echo "dataset7 is not UMOTION"; exit 1; }
h5dump -a /dataset1/what/enddate -a /dataset1/what/endtime "$tmp/fc.h5" | grep -q '171500' ||
  { echo "dataset1 does not end at 17:15"; exit 1; }
# no rain is created: forecast maxima never exceed the latest input's maximum
in_max=$($sq25 info "$f3" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["max_mmh"])')
python3 - "$tmp/nc.json" "$in_max" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); m = float(sys.argv[2])
assert all(l["max_mmh"] <= m + 1e-4 for l in s["leads"]), (m, s["leads"])
PY
# verify against the real frames: every lead matched by valid time, scores in [0, 1]
$sq25 verify "$tmp/fc.h5" $d/*.hdf --json > "$tmp/v.json"
python3 - "$tmp/v.json" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
assert [l["lead_min"] for l in v["leads"]] == [5, 10, 15, 20, 25, 30]
for l in v["leads"]:
    for k in ("pod", "far", "csi"):
        assert len(l[k]) == 4
        assert all(x is None or 0 <= x <= 1 for x in l[k])
    assert len(l["fss"]) == 2 and l["mae_mmh"] > 0
# skill decays with lead time on this storm
assert v["leads"][0]["csi"][0] > v["leads"][-1]["csi"][0]
PY
$sq25 verify "$tmp/fc.h5" $d/*.hdf | grep -q '^30 ' || { echo "table lacks lead 30"; exit 1; }
# persistence column: the 17:10 frame held fixed. Its lead-5 MAE and CSI > 1 mm/h against the
# 17:15 frame, computed here with h5py and numpy from the files (physical float32 RATE, NaN =
# nodata), independently of the library; the forecast beats persistence at 30 min.
/usr/bin/python3 - "$tmp/v.json" "$f3" "$d/20210704171500.rad.best.comp.rate.qpe.hdf" <<'PY'
import json, sys
import h5py, numpy as np
v = json.load(open(sys.argv[1]))
a = h5py.File(sys.argv[2], "r")["dataset1/data1/data"][...].astype(float)
b = h5py.File(sys.argv[3], "r")["dataset1/data1/data"][...].astype(float)
both = np.isfinite(a) & np.isfinite(b)
mae = np.abs(a[both] - b[both]).mean()
hits = np.sum((a > 1) & (b > 1) & both)
misses = np.sum((a <= 1) & (b > 1) & both)
false_alarms = np.sum((a > 1) & (b <= 1) & both)
csi = hits / (hits + misses + false_alarms)
p5 = v["leads"][0]["persistence"]
assert abs(p5["mae_mmh"] - mae) < 1e-4, (p5["mae_mmh"], mae)
assert abs(p5["csi"][0] - csi) < 1e-9, (p5["csi"][0], csi)
assert v["leads"][-1]["csi"][0] > v["leads"][-1]["persistence"]["csi"][0]
PY
$sq25 verify "$tmp/fc.h5" $d/*.hdf | grep -q 'p:CSI>1' || { echo "table lacks persistence"; exit 1; }
$sq25 verify "$tmp/fc.h5" "$d/20210704171500.rad.best.comp.rate.qpe.hdf" | grep -q 'persistence: not scored' ||
  { echo "no notice without the issue-time frame"; exit 1; }
# the dense method and the default output
$sq25 nowcast "$f1" "$f2" "$f3" --leads 10 --out "$tmp/fc2.h5"
# usage errors exit 2, work errors exit 1
set +e
$sq25 nowcast "$f1" "$f2" "$f3" --method vet --out "$tmp/x.h5" 2>/dev/null; rc1=$?
$sq25 nowcast "$f1" "$f2" "$f3" 2>/dev/null; rc2=$?
$sq25 nowcast "$f1" "$f3" "$d/20210704171500.rad.best.comp.rate.qpe.hdf" --out "$tmp/x.h5" 2>/dev/null; rc3=$?
$sq25 verify "$tmp/fc.h5" "$f1" 2>/dev/null; rc4=$?
set -e
[ $rc1 -eq 2 ] || { echo "--method vet: exit $rc1"; exit 1; }
[ $rc2 -eq 2 ] || { echo "no --out: exit $rc2"; exit 1; }
[ $rc3 -eq 1 ] || { echo "uneven steps: exit $rc3"; exit 1; }
[ $rc4 -eq 1 ] || { echo "no matching observation: exit $rc4"; exit 1; }
exit 0
