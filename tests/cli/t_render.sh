# sq25 render: a bundled RMI frame (700 x 700 cells of 1 km) drawn as a PNG map with targets;
# the PNG is decoded here with python3 + zlib to check its size and pixels of known colours.
set -eu
sq25=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
frame=data/radar/rmi_20210704/20210704170000.rad.best.comp.rate.qpe.hdf
printf 'id,lon,lat,name\nBXL,4.3517,50.8503,Brussels\nbad,x,50,oops\n' > "$tmp/targets.csv"

$sq25 render "$frame" --out "$tmp/map.png" --title "RMI 2021-07-04" --targets "$tmp/targets.csv" \
  > "$tmp/out" 2> "$tmp/err" || { echo "render failed:"; cat "$tmp/err"; exit 1; }
grep -q "wrote $tmp/map.png" "$tmp/out" || { echo "no 'wrote' line"; exit 1; }
grep -q 'targets.csv:3: longitude "x" is not a number' "$tmp/err" ||
  { echo "bad target row not reported:"; cat "$tmp/err"; exit 1; }

# Layout for 700 x 700 cells: scale 1 (600 px minimum), map at (10, 56), legend 230 px to the
# right after a 20 px gap: 10 + 700 + 20 + 230 = 960 wide, 56 + 700 + 10 = 766 high.
# The upper-left corner of the RMI composite is outside every radar: no data, grey.
# The marker of Brussels: white centre, black ring 5 px left of it.
/usr/bin/python3 - "$tmp/map.png" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
pos, idat, ihdr, plte = 8, b'', None, None
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b'IHDR': ihdr = struct.unpack('>IIBBBBB', body)
    if kind == b'PLTE': plte = body
    if kind == b'IDAT': idat += body
    pos += 12 + n
w, h, depth, colour = ihdr[:4]
# 8-bit RGB (colour type 2) or 8-bit palette (type 3, with its PLTE chunk), PNG spec 11.2
assert (w, h, depth) == (960, 766, 8) and colour in (2, 3), ihdr
assert colour == 2 or plte is not None, 'palette image without PLTE'
bpp = 3 if colour == 2 else 1
raw, stride, rows, prev = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp)
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    prev = line
    if colour == 3: line = b''.join(plte[3 * k:3 * k + 3] for k in line)
    rows.append(line)
px = lambda x, y: tuple(rows[y][3 * x:3 * x + 3])
corner = px(12, 60)
assert corner in ((220, 220, 220), (160, 160, 160)), corner
# find the marker: a white pixel whose neighbour 5 px to the left is black, inside the map
found = [(x, y) for y in range(56, 756) for x in range(15, 710)
         if px(x, y) == (255, 255, 255) and px(x - 5, y) == (0, 0, 0) and px(x + 5, y) == (0, 0, 0)
         and px(x, y - 5) == (0, 0, 0)]
assert found, 'no target marker'
# the title band holds black text
assert sum(px(x, 15) == (0, 0, 0) for x in range(0, 300)) > 10, 'no title text'
PY

# Warning mode: the four bundled RMI frames 16:50..17:05 taken as a forecast at 5-min steps:
# issue time one step earlier (16:45), horizon 20 min (valid to 17:05). The legend box of
# level 2 (third legend row: map top 56 + 26 + 22 = 104) is red (225, 0, 0) at full strength.
r=data/radar/rmi_20210704
$sq25 render --warning $r/20210704165000.rad.best.comp.rate.qpe.hdf \
  $r/20210704165500.rad.best.comp.rate.qpe.hdf $r/20210704170000.rad.best.comp.rate.qpe.hdf \
  $r/20210704170500.rad.best.comp.rate.qpe.hdf --horizon-min 20 --out "$tmp/warn.png" \
  --summary "$tmp/summary.json" > "$tmp/out" 2> "$tmp/err" ||
  { echo "render --warning failed:"; cat "$tmp/err"; exit 1; }
/usr/bin/python3 - "$tmp/summary.json" "$tmp/warn.png" <<'PY'
import json, struct, sys, zlib
s = json.load(open(sys.argv[1]))
assert s['issue_time'] == '2021-07-04T16:45:00Z', s['issue_time']
assert s['valid_to'] == '2021-07-04T17:05:00Z', s['valid_to']
assert s['horizon_min'] == 20 and s['lead_step_min'] == 5
assert len(s['inputs']) == 4 and s['inputs'][0].endswith('20210704165000.rad.best.comp.rate.qpe.hdf')
assert [l['threshold_mm'] for l in s['levels']] == [15, 25, 40]
assert s['grid']['pixel_x_m'] == 1000
data = open(sys.argv[2], 'rb').read()
w, h = struct.unpack('>II', data[16:24])
colour = data[25]
assert (w, h) == (960, 766) and colour in (2, 3), (w, h, colour)
idat, pos, plte = b'', 8, None
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    if kind == b'PLTE': plte = data[pos + 8:pos + 8 + n]
    if kind == b'IDAT': idat += data[pos + 8:pos + 8 + n]
    pos += 12 + n
bpp = 3 if colour == 2 else 1
raw, stride, prev = zlib.decompress(idat), w * bpp, bytearray(w * bpp)
for y in range(111):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    prev = line
x = 730 + 10
rgb = tuple(prev[3 * x:3 * x + 3]) if colour == 2 else tuple(plte[3 * prev[x]:3 * prev[x] + 3])
assert rgb == (225, 0, 0), rgb
PY
set +e
$sq25 render --warning $r/20210704165000.rad.best.comp.rate.qpe.hdf --out "$tmp/w1.png" 2> "$tmp/err"; rc=$?
set -e
[ $rc -eq 1 ] || { echo "one frame: exit $rc, expected 1"; exit 1; }
grep -q "at least 2 frames" "$tmp/err" || { echo "one frame: no reason given"; exit 1; }

# usage and file errors
set +e
$sq25 render "$frame" 2> "$tmp/err"; rc=$?
[ $rc -eq 2 ] || { echo "missing --out: exit $rc, expected 2"; exit 1; }
$sq25 render /nonexistent.h5 --out "$tmp/x.png" 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] || { echo "missing file: exit $rc, expected 1"; exit 1; }
grep -q nonexistent.h5 "$tmp/err" || { echo "error does not name the file"; exit 1; }
$sq25 render "$frame" --out /nonexistent-dir/x.png 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] || { echo "unwritable: exit $rc, expected 1"; exit 1; }
grep -q "SQ25_ERR_WRITE" "$tmp/err" || { echo "unwritable: no SQ25_ERR_WRITE"; cat "$tmp/err"; exit 1; }
set -e
$sq25 help render | grep -q 'usage: sq25 render FILE --out MAP.png' || { echo "help render"; exit 1; }
