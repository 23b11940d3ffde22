# Hostile inputs and whole outputs through the CLI (issue 11): the tiny files of tests/hostile/
# fail with one line naming the file and peak memory under 100 MB; an output that is an input
# is refused; option values out of range are usage errors; `sq25 run` reads every input
# before writing and handles 60-minute frames; a nowcast killed while writing leaves the old
# file readable.
set -eu
sq25=$1
here=$(cd "$(dirname "$0")/../.." && pwd)
hostile=$here/tests/hostile
rmi=$here/data/radar/rmi_20210704
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "$*"; exit 1; }

# Peak RSS in kB of a command expected to fail with exit 1 and one stderr line.
peak_of_failure() {
  name=$1; shift
  set +e
  /usr/bin/time -f "%M" -o "$tmp/rss" "$@" > /dev/null 2> "$tmp/err"; rc=$?
  set -e
  [ $rc -eq 1 ] || fail "$name: exit $rc, expected 1: $(cat "$tmp/err")"
  [ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "$name: stderr is not one line: $(cat "$tmp/err")"
  grep -q "$name" "$tmp/err" || fail "$name: message does not name the file: $(cat "$tmp/err")"
  rss=$(tail -n 1 "$tmp/rss")
  [ "$rss" -lt 102400 ] || fail "$name: peak memory $rss kB (limit 100 MB)"
  echo "$name: peak $rss kB: $(cat "$tmp/err")"
}
peak_of_failure odim_20000x20000.h5 "$sq25" info "$hostile/odim_20000x20000.h5"
peak_of_failure odim_20000x20000.h5 "$sq25" nowcast "$hostile/odim_20000x20000.h5" \
  "$hostile/odim_20000x20000.h5" --frames 2 --out "$tmp/n.h5"
peak_of_failure odim_acrr_window.h5 "$sq25" info "$hostile/odim_acrr_window.h5"
for f in nc_1e9_times.nc nc_2e61_times.nc csv_int64max.csv csv_4000_years.csv; do
  peak_of_failure $f "$sq25" qc --sensors "$hostile/$f" --from 2021-07-04T00:00 \
    --to 2021-07-05T00:00 --step 900
done

set +e
# A folder named *.csv is a folder, not an empty file.
mkdir "$tmp/dir.csv"
"$sq25" qc --sensors "$tmp/dir.csv" --from 2021-07-04T00:00 --to 2021-07-05T00:00 2> "$tmp/err"
rc=$?
[ $rc -eq 1 ] && grep -q "is a directory" "$tmp/err" || fail "dir.csv: exit $rc: $(cat "$tmp/err")"
# Options out of range are usage errors (exit 2), not overflows.
"$sq25" qc --sensors "$hostile/csv_span.csv" --from 2021-07-04T00:00 --to 2021-07-05T00:00 \
  --step 99999999999 2> /dev/null; rc=$?
[ $rc -eq 2 ] || fail "qc --step 99999999999: exit $rc, expected 2"
"$sq25" run --radar "$rmi/20210704170000.rad.best.comp.rate.qpe.hdf" --horizon 99999999 \
  --out "$tmp/r0" 2> /dev/null; rc=$?
[ $rc -eq 2 ] || fail "run --horizon 99999999: exit $rc, expected 2"
# An output that is one of the inputs is refused, and the input is untouched.
cp "$rmi/20210704165500.rad.best.comp.rate.qpe.hdf" "$tmp/b.h5"
cp "$tmp/b.h5" "$tmp/b.orig"
"$sq25" nowcast "$rmi/20210704165000.rad.best.comp.rate.qpe.hdf" "$tmp/b.h5" --frames 2 \
  --out "$tmp/b.h5" 2> "$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "refusing to overwrite an input" "$tmp/err" || fail "out == in: exit $rc"
cmp -s "$tmp/b.h5" "$tmp/b.orig" || fail "the input was changed"
# A bad --sensors file is found before anything is written.
printf 'station_id,lon,lat,time_utc,mm\nbad\n' > "$tmp/bad.csv"
"$sq25" run --radar "$rmi/20210704165000.rad.best.comp.rate.qpe.hdf" \
  "$rmi/20210704165500.rad.best.comp.rate.qpe.hdf" --frames 2 --sensors "$tmp/bad.csv" \
  --out "$tmp/r1" > /dev/null 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "bad.csv" "$tmp/err" || fail "bad sensors: exit $rc: $(cat "$tmp/err")"
[ -z "$(ls -A "$tmp/r1")" ] || fail "bad sensors: outputs were written: $(ls "$tmp/r1")"
set -e
# 60-minute frames: one lead (+60 min), every output written.
"$sq25" run --radar "$rmi/20210704172000.rad.best.comp.rate.qpe.hdf" \
  "$rmi/20210704182000.rad.best.comp.rate.qpe.hdf" --frames 2 --out "$tmp/r2" > /dev/null
for f in forecast.h5 warnings.geojson summary.json observation.png forecast_60.png warning.png; do
  [ -s "$tmp/r2/$f" ] || fail "60-minute frames: $f missing"
done
# A street grid outside the radar is said, not a silent all-clear.
"$sq25" run --radar "$rmi/20210704172000.rad.best.comp.rate.qpe.hdf" \
  "$rmi/20210704172500.rad.best.comp.rate.qpe.hdf" --frames 2 \
  --grid lonlat:10.0,45.0,10.1,45.1:100 --out "$tmp/r3" > /dev/null 2> "$tmp/err"
grep -q "every cell is no data" "$tmp/err" || fail "street grid outside radar not reported"
grep -q "outside the radar coverage" "$tmp/r3/summary.json" || fail "summary.json: no state"
# Killed while writing: the old forecast stays readable (whatever the moment of the kill,
# the path holds the old file or the whole new one).
frames="$rmi/20210704165000.rad.best.comp.rate.qpe.hdf $rmi/20210704165500.rad.best.comp.rate.qpe.hdf $rmi/20210704170000.rad.best.comp.rate.qpe.hdf"
"$sq25" nowcast $frames --out "$tmp/f.h5" > /dev/null
for delay in 0.05 0.2 0.5; do
  "$sq25" nowcast $frames --leads 120 --out "$tmp/f.h5" > /dev/null 2>&1 &
  pid=$!
  sleep $delay
  kill -9 $pid 2> /dev/null || true
  wait $pid 2> /dev/null || true
  "$sq25" info "$tmp/f.h5" > /dev/null || fail "killed after $delay s: the forecast is damaged"
done
# The HDF5 crashers found by fuzzing: `info --check` gives one line per file and goes on.
set +e
crashers=$(ls "$here"/tests/fuzz/hdf5-crashers/*/* 2> /dev/null)
n=$(echo "$crashers" | grep -c .)
"$sq25" info --check $crashers "$rmi/20210704170000.rad.best.comp.rate.qpe.hdf" > "$tmp/out" \
  2> "$tmp/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "info --check on the crashers: exit $rc, expected 1"
[ "$(wc -l < "$tmp/err")" -eq "$n" ] || fail "info --check: not one line per crasher: $(cat "$tmp/err")"
grep -q "20210704170000" "$tmp/out" || fail "info --check stopped before the good file"
# A write the file system refuses (a 300 KB file-size limit stands for a full disk): exit 1,
# one line with the system's reason, no file left behind.
set +e
(trap '' XFSZ; ulimit -f 300; "$sq25" nowcast "$rmi"/2021070417[234]0*.hdf --compression 0 \
  --out "$tmp/limited.h5") > /dev/null 2> "$tmp/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "write over the file-size limit: exit $rc, expected 1: $(cat "$tmp/err")"
[ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "write over the limit: not one line: $(cat "$tmp/err")"
grep -q "File too large" "$tmp/err" || fail "write over the limit: no errno text: $(cat "$tmp/err")"
[ ! -e "$tmp/limited.h5" ] || fail "write over the limit left a file behind"
ls "$tmp" | grep -q '^\.limited\.h5\.' && fail "write over the limit left a temporary behind"
echo "t_harden: all checks passed"
