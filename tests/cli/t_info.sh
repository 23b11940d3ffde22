# sq25 info: text and --json output on the bundled files, bad files, exit codes.
set -eu
sq25=$1
rmi=data/radar/rmi_20210704/20210704165000.rad.best.comp.rate.qpe.hdf
knmi=data/radar/knmi_20100826/RAD_NL25_RAP_5min_201008260100.h5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Text: the valid time and max rate of the RMI frame (max 56.5590897 mm/h from
# h5dump -m '%.9g' -d /dataset1/data1/data FILE, see tests/unit/test_io_read.c).
$sq25 info "$rmi" > "$tmp/text.txt"
grep -q 'valid time    2021-07-04T16:50:00Z' "$tmp/text.txt" || { echo "text: valid time"; exit 1; }
grep -q 'max 56.559 mm/h' "$tmp/text.txt" || { echo "text: max"; exit 1; }
grep -q 'format        ODIM_H5/V2_2' "$tmp/text.txt" || { echo "text: format"; exit 1; }

# One file with --json: one object; two files: an array; both parse.
$sq25 info --json "$rmi" > "$tmp/one.json"
/usr/bin/python3 -m json.tool "$tmp/one.json" > /dev/null || { echo "json (one) does not parse"; exit 1; }
/usr/bin/python3 -c "
import json, sys
o = json.load(open(sys.argv[1]))
assert isinstance(o, dict), 'not an object'
assert o['valid_time'] == '2021-07-04T16:50:00Z', o['valid_time']
assert abs(o['max_mmh'] - 56.5590897) < 1e-4, o['max_mmh']
assert o['width'] == 700 and o['height'] == 700
assert len(o['corners_lonlat_ul_ur_lr_ll']) == 8
" "$tmp/one.json" || { echo "json (one): wrong content"; exit 1; }
$sq25 info "$knmi" --json "$rmi" > "$tmp/two.json"
/usr/bin/python3 -c "
import json, sys
a = json.load(open(sys.argv[1]))
assert isinstance(a, list) and len(a) == 2, 'not an array of 2'
assert a[0]['format'] == 'KNMI_HDF5/3.5' and a[0]['accumulation_s'] == 300
" "$tmp/two.json" || { echo "json (two): wrong content"; exit 1; }

# A bad file among good ones: one line on stderr naming it and the code, the others are
# still described, exit 1.
printf 'not hdf5\n' > "$tmp/bad.h5"
set +e
$sq25 info --json "$rmi" "$tmp/bad.h5" "$knmi" > "$tmp/mixed.json" 2> "$tmp/err.txt"
rc=$?
set -e
[ $rc -eq 1 ] || { echo "bad file: exit $rc, expected 1"; exit 1; }
[ "$(wc -l < "$tmp/err.txt")" -eq 1 ] || { echo "bad file: stderr is not one line"; cat "$tmp/err.txt"; exit 1; }
grep -q "^sq25 info: $tmp/bad.h5: .*(SQ25_ERR_NOT_HDF5)\$" "$tmp/err.txt" || { echo "bad file: message"; cat "$tmp/err.txt"; exit 1; }
/usr/bin/python3 -c "
import json, sys
a = json.load(open(sys.argv[1]))
assert len(a) == 2, len(a)
" "$tmp/mixed.json" || { echo "bad file: the good files are not both described"; exit 1; }

# Missing file: exit 1, code in the message. No file at all: usage error, exit 2.
set +e
$sq25 info "$tmp/missing.h5" > /dev/null 2> "$tmp/err2.txt"; rc=$?
$sq25 info > /dev/null 2>&1; rc2=$?
$sq25 info --frobnicate "$rmi" > /dev/null 2>&1; rc3=$?
set -e
[ $rc -eq 1 ] || { echo "missing file: exit $rc"; exit 1; }
grep -q 'SQ25_ERR_FILE_NOT_FOUND' "$tmp/err2.txt" || { echo "missing file: message"; exit 1; }
[ $rc2 -eq 2 ] || { echo "no file: exit $rc2, expected 2"; exit 1; }
[ $rc3 -eq 2 ] || { echo "unknown option: exit $rc3, expected 2"; exit 1; }
exit 0
