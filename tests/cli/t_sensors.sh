# sq25 qc and sq25 interpolate: summaries, ODIM output read back by sq25 info, bad CSV rows.
set -eu
sq25=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/pws.csv" <<'CSV'
station_id,lon,lat,time_utc,mm
a,4.88,52.36,2017-08-30T03:55:00Z,0.5
b,4.90,52.37,2017-08-30T03:55:00Z,1.0
c,4.92,52.35,2017-08-30T03:55:00Z,2.0
d,4.89,52.34,2017-08-30T03:55:00Z,1.5
e,4.91,52.38,2017-08-30T03:55:00Z,0.0
f,4.87,52.37,2017-08-30T03:55:00Z,1.2
g,4.93,52.36,not-a-time,1.0
CSV
$sq25 interpolate --sensors "$tmp/pws.csv" --time 2017-08-30T03:55 \
  --grid lonlat:4.86,52.33,4.94,52.39:100 --method kriging --out "$tmp/k.h5" \
  > "$tmp/out.txt" 2> "$tmp/err.txt"
grep -q "line 8: bad time_utc" "$tmp/err.txt" || { echo "bad row not reported"; cat "$tmp/err.txt"; exit 1; }
grep -q "kriging, max" "$tmp/out.txt" || { echo "no summary"; exit 1; }
$sq25 info "$tmp/k.h5" > "$tmp/info.txt"
grep -q "RATE" "$tmp/info.txt" || { echo "info does not show RATE"; cat "$tmp/info.txt"; exit 1; }
grep -q "32631" "$tmp/info.txt" || { echo "grid not in UTM 31N"; cat "$tmp/info.txt"; exit 1; }
# 1 mm per 5 min = 12 mm/h; the largest gauge is 2 mm -> at most 24 mm/h (OK weights may
# overshoot a little); the file must hold rain
grep -Eq "max +[0-9]" "$tmp/info.txt" || { echo "no max in info"; exit 1; }
$sq25 interpolate --sensors "$tmp/pws.csv" --time 2017-08-30T03:55 \
  --grid lonlat:4.86,52.33,4.94,52.39:100 --method idw --out "$tmp/i.h5" > /dev/null 2>&1
$sq25 info "$tmp/i.h5" | grep -q RATE || { echo "idw output unreadable"; exit 1; }
set +e
$sq25 interpolate --sensors "$tmp/pws.csv" --time 2017-08-30T03:55 --grid x --out "$tmp/x.h5" \
  2> "$tmp/err2.txt"; rc=$?
$sq25 interpolate --sensors "$tmp/pws.csv" 2> /dev/null; rc2=$?
$sq25 interpolate --sensors "$tmp/pws.csv" --time 2017-08-30T04:55 \
  --grid lonlat:4.86,52.33,4.94,52.39:100 --out "$tmp/y.h5" 2> /dev/null; rc3=$?
set -e
[ $rc -eq 1 ] && grep -q "grid spec" "$tmp/err2.txt" || { echo "bad grid: exit $rc"; exit 1; }
[ $rc2 -eq 2 ] || { echo "missing options: exit $rc2, expected 2"; exit 1; }
[ $rc3 -eq 1 ] || { echo "time outside the series: exit $rc3, expected 1"; exit 1; }
# qc on the bundled Amsterdam file
nc=data/gauges/amsterdam_pws_2017/test_dataset.nc
[ -f "$nc" ] || nc=../shared/data/gauges/amsterdam_pws_2017/test_dataset.nc
if [ -f "$nc" ]; then
  $sq25 qc --sensors "$nc" --from 2017-08-30T03:00 --to 2017-08-30T05:00 --json > "$tmp/qc.json"
  grep -q '"id": "ams134"' "$tmp/qc.json" || { echo "qc json lacks ams134"; exit 1; }
  [ "$(grep -c '"faulty_zero"' "$tmp/qc.json")" -eq 134 ] || { echo "qc json: not 134 stations"; exit 1; }
  $sq25 qc --sensors "$nc" --from 2017-08-30T03:00 --to 2017-08-30T05:00 | grep -q "^total:" ||
    { echo "qc text lacks total"; exit 1; }
fi
# qc --json counts flags of reported steps only: six stations 1.3-4 km apart (all
# neighbours within the 10 km range), 5 steps 03:00..03:20; b has no row at 03:10, c none at
# 03:10 and 03:15. Derived by hand: the file is far shorter than the outlier window (4032
# steps), so every reported step is "outlier_not_judged" (a, d, e, f: 5; b: 4; c: 3) and
# missing steps are only "missing". A step has too few neighbours (< 5 reporting) where a
# neighbour is missing: 03:10 and 03:15 for a, d, e, f (2); for b only 03:15 among its
# reported steps (1); for c none of 03:00, 03:05, 03:20 (0). Amounts 0-0.6 mm: no high
# influx (> 10 mm, or > 25 x the median of the neighbours), too short for a faulty zero.
{
  echo "station_id,lon,lat,time_utc,mm"
  for row in a,4.88,52.36:0.5,0.2,0.0,0.3,0.4 b,4.90,52.37:0.4,0.3,-,0.2,0.5 \
      c,4.92,52.35:0.6,0.1,-,-,0.3 d,4.89,52.34:0.3,0.2,0.1,0.0,0.2 \
      e,4.91,52.38:0.2,0.4,0.3,0.1,0.6 f,4.87,52.37:0.1,0.5,0.2,0.4,0.3; do
    k=0
    for v in $(echo "${row#*:}" | tr , ' '); do
      [ "$v" = - ] || echo "${row%%:*},2017-08-30T03:$(printf %02d $((k * 5))):00Z,$v"
      k=$((k + 1))
    done
  done
} > "$tmp/gaps.csv"
$sq25 qc --sensors "$tmp/gaps.csv" --from 2017-08-30T03:00 --to 2017-08-30T03:20 --json \
  > "$tmp/gaps.json"
for want in a:0:5:0:2:5 b:1:4:0:1:4 c:2:3:0:0:3 d:0:5:0:2:5 e:0:5:0:2:5 f:0:5:0:2:5; do
  IFS=: read -r id miss rep so few nj <<EOT
$want
EOT
  grep -q "\"id\": \"$id\".*\"steps\": 5, \"missing\": $miss, \"reported\": $rep, \"faulty_zero\": 0, \"high_influx\": 0, \"outlier\": $so, \"few_neighbours\": $few, \"outlier_not_judged\": $nj," "$tmp/gaps.json" ||
    { echo "qc json counts of $id: want missing $miss reported $rep few $few not judged $nj"; cat "$tmp/gaps.json"; exit 1; }
done
# merge with a real radar file (KNMI, another date: only the mechanics are checked): two
# datasets, RATE and RATE_VARIANCE, both read back by sq25 info
radar=data/radar/knmi_20100826/RAD_NL25_RAP_5min_201008260100.h5
[ -f "$radar" ] || radar=../shared/data/radar/knmi_20100826/RAD_NL25_RAP_5min_201008260100.h5
if [ -f "$radar" ]; then
  $sq25 interpolate --sensors "$tmp/pws.csv" --time 2017-08-30T03:55 --radar "$radar" \
    --grid lonlat:4.86,52.33,4.94,52.39:100 --method merge --out "$tmp/m.h5" > /dev/null 2>&1 ||
    { echo "merge failed"; exit 1; }
  $sq25 info --json "$tmp/m.h5" > "$tmp/m.json"
  grep -q '"RATE"' "$tmp/m.json" || { echo "merge output lacks RATE"; cat "$tmp/m.json"; exit 1; }
  h5ls -r "$tmp/m.h5" | grep -q "dataset2" || { echo "merge output lacks the variance dataset"; exit 1; }
  # merging method by name, its info in --json and in /how/sq25_merge
  $sq25 interpolate --sensors "$tmp/pws.csv" --time 2017-08-30T03:55 --radar "$radar" \
    --grid lonlat:4.86,52.33,4.94,52.39:100 --method merge --merge mfb --json --out "$tmp/f.h5" \
    > "$tmp/f.json" 2> /dev/null || { echo "merge mfb failed"; exit 1; }
  grep -q '"merge":{"method":"mfb","sensors_used":6' "$tmp/f.json" || { echo "json lacks merge"; cat "$tmp/f.json"; exit 1; }
  h5dump -a /how/sq25_merge "$tmp/f.h5" | grep -q '"method":"mfb"' || { echo "no /how/sq25_merge"; exit 1; }
fi
# several times in one call: one read (and QC) of the file, RATE + RATE_VARIANCE per time
cat > "$tmp/pws3.csv" <<'CSV'
station_id,lon,lat,time_utc,mm
a,4.88,52.36,2017-08-30T03:50:00Z,0.5
b,4.90,52.37,2017-08-30T03:50:00Z,1.0
c,4.92,52.35,2017-08-30T03:50:00Z,2.0
d,4.89,52.34,2017-08-30T03:50:00Z,1.5
e,4.91,52.38,2017-08-30T03:50:00Z,0.0
a,4.88,52.36,2017-08-30T03:55:00Z,0.5
b,4.90,52.37,2017-08-30T03:55:00Z,1.0
c,4.92,52.35,2017-08-30T03:55:00Z,2.0
d,4.89,52.34,2017-08-30T03:55:00Z,1.5
e,4.91,52.38,2017-08-30T03:55:00Z,0.0
CSV
$sq25 interpolate --sensors "$tmp/pws3.csv" --time 2017-08-30T03:50/2017-08-30T03:55 \
  --grid lonlat:4.86,52.33,4.94,52.39:100 --method kriging --json --out "$tmp/k2.h5" > "$tmp/k2.json"
[ "$(grep -o '"time":' "$tmp/k2.json" | wc -l)" -eq 2 ] || { echo "two times expected"; exit 1; }
grep -q '"variogram":{"source":"fitted"' "$tmp/k2.json" || { echo "no fitted variogram"; cat "$tmp/k2.json"; exit 1; }
h5ls "$tmp/k2.h5" | grep -q "dataset4" || { echo "k2.h5 lacks dataset4"; exit 1; }
# sq25 run with sensors in the cycle (RMI frames, sensors placed in the storm, values chosen):
# the merged analysis is written with its method in /how (read back with h5dump), the summary
# names the method, and sensors far from the radar leave the run radar only, said so.
rmi=data/radar/rmi_20210704
[ -d "$rmi" ] || rmi=../shared/data/radar/rmi_20210704
if [ -d "$rmi" ]; then
  cat > "$tmp/rmi.csv" <<'CSV'
station_id,lon,lat,time_utc,mm
a,6.10,50.15,2021-07-04T17:35:00Z,3.0
b,6.12,50.16,2021-07-04T17:35:00Z,2.5
c,6.08,50.14,2021-07-04T17:35:00Z,2.0
d,6.11,50.13,2021-07-04T17:35:00Z,3.5
e,6.09,50.17,2021-07-04T17:35:00Z,2.8
f,6.13,50.14,2021-07-04T17:35:00Z,3.1
CSV
  frames="$rmi/20210704172500.rad.best.comp.rate.qpe.hdf $rmi/20210704173000.rad.best.comp.rate.qpe.hdf $rmi/20210704173500.rad.best.comp.rate.qpe.hdf"
  # shellcheck disable=SC2086
  $sq25 run --radar $frames --grid lonlat:5.9,50.0,6.3,50.3:250 --sensors "$tmp/rmi.csv" \
    --merge ked --no-qc --levels 5,10,15 --out "$tmp/run" > "$tmp/run.txt" 2>&1 ||
    { echo "run with sensors failed"; cat "$tmp/run.txt"; exit 1; }
  grep -q "radar merged with 6 sensors" "$tmp/run.txt" || { echo "no merge line"; cat "$tmp/run.txt"; exit 1; }
  h5dump -a /how/sq25_merge "$tmp/run/observation.h5" | grep -q '"method":"ked"' ||
    { echo "observation.h5 lacks /how/sq25_merge"; exit 1; }
  h5dump -a /how/sq25_merge "$tmp/run/forecast.h5" | grep -q '"variogram":{"source":' ||
    { echo "forecast.h5 lacks the variogram"; exit 1; }
  grep -q '"analysis":{"method":"ked","sensors_used":6,"radar_only":false' "$tmp/run/summary.json" ||
    { echo "summary lacks the analysis"; exit 1; }
  sed 's/,6\.1[0-3],/,-10.00,/; s/,6\.0[89],/,-10.01,/' "$tmp/rmi.csv" > "$tmp/far.csv"
  # shellcheck disable=SC2086
  $sq25 run --radar $frames --sensors "$tmp/far.csv" --no-qc --out "$tmp/far" > "$tmp/far.txt" 2>&1 ||
    { echo "run with far sensors failed"; cat "$tmp/far.txt"; exit 1; }
  grep -q "nowcast is radar only" "$tmp/far.txt" || { echo "far sensors: no radar-only note"; exit 1; }
  grep -q '"radar_only":true' "$tmp/far/summary.json" || { echo "far sensors: summary"; exit 1; }
  # run --members with sensors: the ensemble starts from the merged analyses. The six sensors
  # report 4 mm per 5 min (48 mm/h) at all three frame times, where the radar shows a few
  # tenths of a mm in the hour; 48 mm/h over a pixel for the ~6 min that 5 mm need is less
  # than the sensors' cluster takes to pass, so the members' hourly amount at sensor a must
  # reach 5 mm in most members, above the radar-only ensemble. Far sensors: ensemble.nc is
  # byte-identical to the radar-only one.
  { echo "station_id,lon,lat,time_utc,mm"
    for t in 17:25 17:30 17:35; do
      for s in a,6.10,50.15 b,6.12,50.16 c,6.08,50.14 d,6.11,50.13 e,6.09,50.17 f,6.13,50.14; do
        echo "$s,2021-07-04T$t:00Z,4.0"; done; done; } > "$tmp/ens.csv"
  sed 's/,6\.1[0-3],/,-10.00,/; s/,6\.0[89],/,-10.01,/' "$tmp/ens.csv" > "$tmp/ensfar.csv"
  for r in m:ens.csv f:ensfar.csv r:; do
    name=${r%%:*} csv=${r#*:}
    # shellcheck disable=SC2086
    $sq25 run --radar $frames ${csv:+--sensors "$tmp/$csv"} --no-qc --members 4 --seed 3 \
      --levels 5,10,15 --out "$tmp/e$name" > "$tmp/e$name.txt" 2>&1 ||
      { echo "run --members ($name) failed"; cat "$tmp/e$name.txt"; exit 1; }
  done
  cmp -s "$tmp/ef/ensemble.nc" "$tmp/er/ensemble.nc" ||
    { echo "far sensors changed the ensemble"; exit 1; }
  /usr/bin/python3 - "$tmp/em/ensemble.nc" "$tmp/er/ensemble.nc" <<'PY' || exit 1
import sys
import netCDF4
import numpy as np
p = []
for path in sys.argv[1:]:
    ds = netCDF4.Dataset(path)
    lat, lon = ds["lat"][:], ds["lon"][:]
    j, i = np.unravel_index(np.argmin((lat - 50.15) ** 2 + ((lon - 6.10) * 0.643) ** 2), lat.shape)
    p.append(float(ds["accumulation_probability"][0, 0, j, i]))
print("P(1 h >= 5 mm) at sensor a: merged start %.2f, radar only %.2f" % tuple(p))
assert p[0] >= 0.5 and p[0] > p[1], p
PY
  set +e
  # shellcheck disable=SC2086
  $sq25 run --radar $frames --sensors "$tmp/rmi.csv" --merge nonsense --out "$tmp/bad" 2> /dev/null
  rc=$?
  set -e
  [ $rc -eq 2 ] || { echo "bad --merge: exit $rc, expected 2"; exit 1; }
fi
