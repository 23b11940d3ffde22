# sq25 serve with sensor files in the inbox: a CSV and an OpenSense netCDF-4 file of rain
# sensors (made here: stations placed in the RMI storm of 2021-07-04, values a fixed pattern)
# are dropped beside the radar frames; every cycle with a forecast must equal
# `sq25 run --radar <the same frames> --sensors <the same files>` (warnings, targets, summary,
# forecast). The expected results are `sq25 run`'s, the independent path: it reads and QCs the
# whole file once; the service pushes the window ending at each radar time. A second file with
# more stations must give what `sq25 run` gives on one file holding the rows of both (the
# concatenation is made here, by text). A bad CSV, a truncated netCDF and a sensor file older
# than the sensor window are logged and change nothing (the cycles go on).
set -eu
sq25=$1
d=data/radar/rmi_20210704
[ -d "$d" ] || { echo "skip: $d not present"; exit 0; }
. "$(dirname "$0")/serve_common.sh"
grid=lonlat:6.0,50.1,6.25,50.2:100
targets=$PWD/tests/demo/targets.csv
frame() { echo "20210704${1}00.rad.best.comp.rate.qpe.hdf"; }
drop() { cp "$d/$(frame "$1")" "$in/.tmp" && mv "$in/.tmp" "$in/$(frame "$1")"; }
put() { cp "$1" "$in/.tmp" && mv "$in/.tmp" "$in/$2"; } # a sensor file, as a writer should
# 12 stations in the storm, 5-minute amounts 17:15..17:55 (mm per 5 min)
python3 - "$tmp/a.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("station_id,lon,lat,time_utc,mm\n")
    for i in range(12):
        lon, lat = 6.02 + 0.02 * i, 50.11 + 0.007 * (i % 5)
        for m in range(15, 60, 5):
            f.write(f"s{i:02d},{lon:.3f},{lat:.3f},2021-07-04T17:{m:02d}:00Z,{0.2 + 0.15 * ((i * 7 + m) % 11):.2f}\n")
PY
# 4 more stations, 17:30..17:50, in a second file
python3 - "$tmp/b.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("station_id,lon,lat,time_utc,mm\n")
    for i in range(4):
        for m in range(30, 55, 5):
            f.write(f"t{i},{6.05 + 0.04 * i:.3f},{50.17:.3f},2021-07-04T17:{m:02d}:00Z,{1.0 + 0.3 * ((i + m) % 4):.2f}\n")
PY
{ cat "$tmp/a.csv"; tail -n +2 "$tmp/b.csv"; } > "$tmp/ab.csv" # both files as one, by text
# compare the outbox with `sq25 run` on the given frames and sensor file
same_as_run() {
  sensors=$1; shift
  names=""
  for t in "$@"; do names="$names $(frame "$t")"; done
  rm -rf "$tmp/ref"
  # shellcheck disable=SC2086
  (cd "$in" && "$sq25" run --radar $names --sensors "$sensors" --grid "$grid" --targets "$targets" \
     --levels 2,5,10 --out "$tmp/ref" --quiet > /dev/null 2> "$tmp/run.err") ||
    { echo "sq25 run failed"; cat "$tmp/run.err"; exit 1; }
  same_outputs_as_run "$tmp/ref"
  expect_sensors_merged
  same_forecast_and_maps_as_run "$tmp/ref"
}
start() {
  "$sq25" serve --inbox "$in" --outbox "$out" --grid "$grid" --targets "$targets" --levels 2,5,10 \
    --poll-ms 100 --settle-ms 0 --sensor-window-h 1 "$@" >> "$tmp/log" 2>> "$tmp/err" &
  pid=$!
}
start
put "$tmp/a.csv" pws-a.csv
wait_log '"event":"sensors","file":"pws-a.csv","detail":"12 station(s), 9 step(s) of 300 s'
drop 1720; wait_cycle 1
drop 1725; wait_cycle 2
drop 1730; wait_cycle 3; same_as_run pws-a.csv 1720 1725 1730
grep -q '"sensors":{"files":1,"merged":12}' "$tmp/log" || { echo "cycle log lacks the sensors"; exit 1; }
# a bad CSV (wrong header) and a truncated netCDF: refused, logged, no cycle, outbox unchanged
sum_before=$(cat "$out"/*.json "$out"/*.csv | md5sum)
printf 'station,x,y\n1,2,3\n' > "$tmp/bad.csv"; put "$tmp/bad.csv" bad.csv
wait_log '"event":"refused","file":"bad.csv"'
# a sensor file whose steps end before the window of the last cycle (17:30 - 1 h): late
sed 's/T17:/T15:/' "$tmp/a.csv" > "$tmp/old.csv"; put "$tmp/old.csv" old.csv
wait_log '"event":"late","file":"old.csv"'
[ "$(cycle_no)" -eq 3 ] && [ "$(cat "$out"/*.json "$out"/*.csv | md5sum)" = "$sum_before" ] ||
  { echo "a bad sensor file changed the outbox"; exit 1; }
# a second file with 4 more stations: the window holds both, as one file of both rows
put "$tmp/b.csv" pws-b.csv
wait_log '"event":"sensors","file":"pws-b.csv","detail":"4 station(s)'
cp "$tmp/ab.csv" "$tmp/ab.keep"
drop 1735; wait_cycle 4
mv "$tmp/ab.keep" "$in/.ab.csv" # hidden: the service skips it, sq25 run reads it
same_as_run .ab.csv 1725 1730 1735
grep -q '"sensors":{"files":2,"merged":16}' "$tmp/log" || { echo "cycle 4 did not merge 16 sensors"; exit 1; }
kill -TERM "$pid"; wait "$pid"; pid=""
# an OpenSense netCDF-4 sensor file (station, time), written here with python3-netCDF4 from the
# rows of a.csv, in a fresh inbox; a truncated copy of it is refused
rm -rf "$in" "$out"; mkdir -p "$in"
/usr/bin/python3 - "$tmp/a.csv" "$tmp/a.nc" <<'PY'
import csv, sys, calendar, time
import netCDF4, numpy as np
rows = list(csv.DictReader(open(sys.argv[1])))
ids = sorted({r["station_id"] for r in rows})
times = sorted({calendar.timegm(time.strptime(r["time_utc"], "%Y-%m-%dT%H:%M:%SZ")) for r in rows})
ds = netCDF4.Dataset(sys.argv[2], "w", format="NETCDF4")
ds.createDimension("id", len(ids)); ds.createDimension("time", len(times))
v = ds.createVariable("id", str, ("id",)); v[:] = np.array(ids, dtype=object)
t = ds.createVariable("time", "i8", ("time",)); t.units = "seconds since 1970-01-01 00:00:00"; t[:] = times
lat = ds.createVariable("lat", "f8", ("id",)); lon = ds.createVariable("lon", "f8", ("id",))
r = ds.createVariable("rainfall_amount", "f4", ("id", "time"), fill_value=np.float32(-9999)); r.units = "mm"
data = np.full((len(ids), len(times)), -9999, dtype="f4")
for row in rows:
    i, j = ids.index(row["station_id"]), times.index(calendar.timegm(time.strptime(row["time_utc"], "%Y-%m-%dT%H:%M:%SZ")))
    data[i, j] = float(row["mm"]); lat[i] = float(row["lat"]); lon[i] = float(row["lon"])
r[:] = data
ds.close()
PY
head -c 2000 "$tmp/a.nc" > "$tmp/cut.nc"
start
put "$tmp/a.nc" pws.nc
wait_log '"event":"sensors","file":"pws.nc","detail":"12 station(s), 9 step(s) of 300 s'
put "$tmp/cut.nc" cut.nc
wait_log '"event":"refused","file":"cut.nc"'
drop 1730; wait_cycle 1
drop 1735; wait_cycle 2
drop 1740; wait_cycle 3; same_as_run pws.nc 1730 1735 1740
kill -TERM "$pid"; wait "$pid"; pid=""
exit 0
