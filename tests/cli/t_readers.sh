# Readers through the CLI: DWD RADOLAN/RADVOR (gzip, tar.bz2), OpenSense radar frames and
# gauges, --time, --zr, --ceiling, one multi-frame file driving nowcast/verify/run/interpolate.
# Expected values: tests/tools/radolan_ref.py (an independent decoder written from DWD's format
# description) and netCDF4-python reads, quoted in tests/unit/test_io_radolan.c and
# test_io_opensense.c; the OpenMRG frame at 13:00 (index 6) has max 0.80849 mm per 5 min
# (netCDF4-python: np.nanmax(rainfall_amount[6]) * 12 = 9.7019 mm/h).
set -eu
sq25=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ry=data/radar/dwd_radolan/showcase/raa01-ry_10000-1408102050-dwd---bin.gz
rx=data/radar/dwd_radolan/showcase/raa01-rx_10000-1408102050-dwd---bin.gz
rv=data/radar/dwd_radolan/radvor/DE1200_RV2210180700.tar.bz2
rad=data/sensors/openmrg_20150725_2h/openmrg_rad_5min_2h.nc
gauges=data/sensors/openmrg_20150725_2h/openmrg_municp_gauge_5min_2h.nc

# RY: 10.79 mm in 5 min = 129.48 mm/h, valid 2014-08-10 20:50
$sq25 info "$ry" > "$tmp/ry.txt"
grep -q 'max 129.480 mm/h' "$tmp/ry.txt" || { echo "RY max"; cat "$tmp/ry.txt"; exit 1; }
grep -q 'valid time    2014-08-10T20:50:00Z' "$tmp/ry.txt" || { echo "RY time"; exit 1; }

# RX 56.5 dBZ: Marshall-Palmer 123.91 mm/h; --zr 300,1.4 gives (10^5.65/300)^(1/1.4) = 184.647
$sq25 info "$rx" | grep -q 'max 123.91' || { echo "RX Marshall-Palmer"; exit 1; }
$sq25 info --zr 300,1.4 "$rx" > "$tmp/rx.txt"
grep -q 'Z = 300 R^1.4' "$tmp/rx.txt" || { echo "RX relation not recorded"; exit 1; }
grep -q 'max 184.64[67]' "$tmp/rx.txt" || { echo "RX --zr"; cat "$tmp/rx.txt"; exit 1; }
$sq25 info --ceiling 100 "$rx" | grep -q 'max 100.000 mm/h' || { echo "--ceiling clip"; exit 1; }
set +e
$sq25 info --zr 300 "$rx" > /dev/null 2>&1; rc=$?
set -e
[ $rc -eq 2 ] || { echo "--zr without B: exit $rc, expected 2"; exit 1; }

# RADVOR RV: 25 leads in one tar.bz2; the lead valid at 08:00 (lead 60) has max 4.62 mm/5 min
$sq25 info --json --time 2022-10-18T08:00 "$rv" > "$tmp/rv.json"
/usr/bin/python3 -c "
import json, sys
o = json.load(open(sys.argv[1]))
assert o['frames'] == 25, o['frames']
assert o['valid_time'] == '2022-10-18T08:00:00Z', o['valid_time']
assert abs(o['max_mmh'] - 4.62 * 12) < 1e-3, o['max_mmh']
assert o['width'] == 1100 and o['height'] == 1200
" "$tmp/rv.json" || { echo "RV --time"; exit 1; }
set +e
$sq25 info --time 2022-10-18T08:01 "$rv" > /dev/null 2> "$tmp/err.txt"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q 'none of its 25 frames' "$tmp/err.txt" || { echo "RV --time without a frame"; exit 1; }

# A tar of gzip products (RADVOR RE and RQ one lead per file): each member one frame; an HDF5
# file inside gzip gets the tool that unpacks it
cp data/radar/dwd_radolan/radvor/RE2210180700_005.gz data/radar/dwd_radolan/radvor/RQ2210180700_060.gz "$tmp/"
(cd "$tmp" && tar cf leads.tar RE2210180700_005.gz RQ2210180700_060.gz)
$sq25 info "$tmp/leads.tar" | grep -q '2 frame(s)' || { echo "tar of .gz: frames"; exit 1; }
$sq25 info --time 2022-10-18T08:00 "$tmp/leads.tar" | grep -q 'quantity      RQ forecast' || { echo "tar of .gz: --time"; exit 1; }
gzip -c data/radar/rmi_20210704/20210704165000.rad.best.comp.rate.qpe.hdf > "$tmp/rmi.h5.gz"
set +e
$sq25 info "$tmp/rmi.h5.gz" > /dev/null 2> "$tmp/gz.err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q 'unpack it first (gunzip' "$tmp/gz.err" || { echo "HDF5 in gzip"; cat "$tmp/gz.err"; exit 1; }

# A CF grid without any time: refused (never 1970-01-01), or given the caller's time
if command -v ncgen > /dev/null 2>&1; then
  cat > "$tmp/notime.cdl" <<'CDL'
netcdf notime {
dimensions: y = 2 ; x = 2 ;
variables:
  double y(y) ; y:units = "m" ; double x(x) ; x:units = "m" ;
  float pr(y, x) ; pr:units = "mm h-1" ;
  :proj_string = "+proj=utm +zone=32 +ellps=WGS84" ;
data: y = 1, 0 ; x = 0, 1 ; pr = 1, 2, 3, 4 ;
}
CDL
  ncgen -k nc4 -o "$tmp/notime.nc" "$tmp/notime.cdl"
  set +e
  $sq25 info "$tmp/notime.nc" > /dev/null 2> "$tmp/nt.err"; rc=$?
  set -e
  [ $rc -eq 1 ] && grep -q 'has no time.*SQ25_ERR_BAD_TIME' "$tmp/nt.err" || { echo "CF without time"; cat "$tmp/nt.err"; exit 1; }
  $sq25 info --assume-time 2022-10-18T07:00 "$tmp/notime.nc" > "$tmp/nt.txt"
  grep -q 'valid time    2022-10-18T07:00:00Z' "$tmp/nt.txt" && grep -q 'assumed by the caller' "$tmp/nt.txt" ||
    { echo "--assume-time"; cat "$tmp/nt.txt"; exit 1; }
fi

# OpenSense: the radar frame at 13:00; the gauges described as a station series
$sq25 info --time 2015-07-25T13:00 "$rad" | grep -q 'max 9.702 mm/h' || { echo "OpenMRG 13:00"; exit 1; }
$sq25 info "$gauges" | grep -q 'stations      10' || { echo "OpenMRG gauges as series"; exit 1; }

# One multi-frame file drives nowcast (frames up to --time), verify, run and interpolate
$sq25 nowcast "$rad" --time 2015-07-25T14:00 --leads 15 --out "$tmp/f.h5" > /dev/null
$sq25 verify "$tmp/f.h5" "$rad" --json > "$tmp/v.json"
/usr/bin/python3 -c "
import json, sys
o = json.load(open(sys.argv[1]))
assert len(o['leads']) == 3, o
" "$tmp/v.json" || { echo "verify against the frames of one file"; cat "$tmp/v.json"; exit 1; }
$sq25 run --radar "$rad" --time 2015-07-25T14:00 --out "$tmp/run" --quiet > /dev/null
[ -s "$tmp/run/forecast.h5" ] || { echo "run with one multi-frame file"; exit 1; }
$sq25 interpolate --sensors "$gauges" --time 2015-07-25T13:00 --method merge --radar "$rad" \
  --grid lonlat:11.8,57.6,12.1,57.8:500 --out "$tmp/m.h5" > /dev/null 2> "$tmp/m.err"
if grep -q 'only frame' "$tmp/m.err"; then echo "merge used a frame of another time"; exit 1; fi
exit 0
