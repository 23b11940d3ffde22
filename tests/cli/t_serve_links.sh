# sq25 serve with a microwave-link file in the inbox: the bundled OpenMRG links (OpenSense CML
# netCDF-4, 359 sub-links: the file's cml_id dimension, counted here with python3-netCDF4) are
# dropped beside OpenMRG radar frames (single-frame netCDF files cut here, with netCDF4, from
# the bundled 2-hour radar file, values copied unchanged). Every cycle must equal
# `sq25 run --radar <the same frames> --links <the same file>` (warnings, targets, summary):
# the expected results are `sq25 run`'s, the independent path, which reads and processes the
# file once over its frames; the service keeps the file and processes it each cycle. A
# rewritten links file replaces the earlier read (359 links merged, not twice as many); a
# truncated links file is refused and logged and the cycles go on. The link options of the
# config file (links-step, links-waa, links-window) must give what the same flags of `sq25 run`
# give.
set -eu
sq25=$1
src=data/sensors/openmrg_20150725_2h
[ -d "$src" ] || { echo "skip: $src not present"; exit 0; }
/usr/bin/python3 -c "import netCDF4" 2>/dev/null || { echo "skip: python3-netcdf4 not installed"; exit 0; }
cml=$PWD/$src/openmrg_cml_5min_2h.nc
wait_s=60
. "$(dirname "$0")/serve_common.sh"
frames=$tmp/frames
mkdir -p "$frames"
# frames 13:20, 13:25, 13:30, 13:35 (time indices 10..13 from 12:30 at 5 min)
/usr/bin/python3 - "$src/openmrg_rad_5min_2h.nc" "$frames" 10 11 12 13 <<'PY'
import sys, netCDF4
src = netCDF4.Dataset(sys.argv[1]); out = sys.argv[2]
for k in [int(a) for a in sys.argv[3:]]:
    dst = netCDF4.Dataset(f"{out}/frame_{k:02d}.nc", "w", format="NETCDF4")
    dst.setncatts({a: src.getncattr(a) for a in src.ncattrs()})
    for name, dim in src.dimensions.items():
        dst.createDimension(name, 1 if name == "time" else len(dim))
    for name, v in src.variables.items():
        fill = v.getncattr("_FillValue") if "_FillValue" in v.ncattrs() else None
        w = dst.createVariable(name, v.datatype, v.dimensions, fill_value=fill)
        w.setncatts({a: v.getncattr(a) for a in v.ncattrs() if a != "_FillValue"})
        v.set_auto_maskandscale(False); w.set_auto_maskandscale(False)
        w[:] = v[k:k + 1] if v.dimensions and v.dimensions[0] == "time" else v[:]
    dst.close()
PY
n_links=$(/usr/bin/python3 -c 'import sys, netCDF4; print(len(netCDF4.Dataset(sys.argv[1]).dimensions["cml_id"]))' "$cml")
[ "$n_links" -eq 359 ] || { echo "the OpenMRG links file has $n_links links, not 359"; exit 1; }
# targets in Gothenburg, where the links are
printf 'id,lon,lat,name\ng1,11.97,57.71,Centralstationen\ng2,12.00,57.69,Liseberg\ng3,11.93,57.72,Hisingen\n' > "$tmp/targets.csv"
targets=$tmp/targets.csv
levels=0.5,1,2
drop() { cp "$frames/frame_$1.nc" "$in/.tmp" && mv "$in/.tmp" "$in/frame_$1.nc"; }
put() { cp "$1" "$in/.tmp" && mv "$in/.tmp" "$in/$2"; }
# compare the outbox with `sq25 run` on the given frames and the links file (extra flags first)
same_as_run() {
  flags=$1; shift
  names=""
  for k in "$@"; do names="$names frame_$k.nc"; done
  rm -rf "$tmp/ref"
  # shellcheck disable=SC2086
  (cd "$frames" && "$sq25" run --radar $names --links "$cml" $flags --targets "$targets" --levels "$levels" \
     --no-maps --out "$tmp/ref" --quiet > /dev/null 2> "$tmp/run.err") ||
    { echo "sq25 run failed"; cat "$tmp/run.err"; exit 1; }
  same_outputs_as_run "$tmp/ref"
  expect_sensors_merged "$n_links"
}
start() {
  "$sq25" serve --inbox "$in" --outbox "$out" --targets "$targets" --levels "$levels" \
    --poll-ms 100 --settle-ms 0 --no-maps "$@" >> "$tmp/log" 2>> "$tmp/err" &
  pid=$!
}
start
put "$cml" cml.nc
wait_log '"event":"links","file":"cml.nc","detail":"359 link(s), 31 sample(s) of 300 s'
drop 10; wait_cycle 1
drop 11; wait_cycle 2
drop 12; wait_cycle 3; same_as_run "" 10 11 12
# the links are part of what is compared: radar alone gives other targets (no level at all
# at these targets at 13:30, where the links merged give level 2)
(cd "$frames" && "$sq25" run --radar frame_10.nc frame_11.nc frame_12.nc --targets "$targets" \
  --levels "$levels" --no-maps --out "$tmp/radar" --quiet > /dev/null 2>&1)
cmp -s "$tmp/radar/targets.geojson" "$tmp/ref/targets.geojson" &&
  { echo "the links did not change sq25 run's targets"; exit 1; }
# a truncated links file: refused, logged, no cycle, outbox unchanged
head -c 20000 "$cml" > "$tmp/cut.nc"
sum_before=$(cat "$out"/*.json "$out"/*.csv | md5sum)
put "$tmp/cut.nc" cut.nc
wait_log '"event":"refused","file":"cut.nc"'
[ "$(cycle_no)" -eq 3 ] && [ "$(cat "$out"/*.json "$out"/*.csv | md5sum)" = "$sum_before" ] ||
  { echo "a truncated links file changed the outbox"; exit 1; }
# the same file written again under its name: it replaces the first read (359 links, not 718)
put "$cml" cml.nc
wait_log '"event":"links","file":"cml.nc"' 2
cp "$tmp/ref/targets.geojson" "$tmp/ref0.targets.geojson" # cycle 3 at 13:30, default options
drop 13; wait_cycle 4; same_as_run "" 11 12 13
kill -TERM "$pid"; wait "$pid"; pid=""
grep -q '"event":"error"' "$tmp/log" && { echo "the service logged an error"; cat "$tmp/log"; exit 1; }
# the link options from the config file, with the names of `sq25 run`: links-step 900 (15-min
# path rain) changes the result; the wet-antenna and wet/dry options act on raw signal levels
# only (this file holds processed path rain) and are given to check that they are taken
rm -rf "$in" "$out"; mkdir -p "$in"
printf 'links-step = 900\nlinks-waa = schleiss\nlinks-window = 1800\n' > "$tmp/serve.conf"
start --config "$tmp/serve.conf"
put "$cml" cml.nc
wait_log '"event":"links","file":"cml.nc"' 3
drop 10; wait_cycle 1
drop 11; wait_cycle 2
drop 12; wait_cycle 3
same_as_run "--links-step 900 --links-waa schleiss --links-window 1800" 10 11 12
cmp -s "$tmp/ref/targets.geojson" "$tmp/ref0.targets.geojson" &&
  { echo "links-step 900 did not change sq25 run's targets"; exit 1; }
kill -TERM "$pid"; wait "$pid"; pid=""
exit 0
