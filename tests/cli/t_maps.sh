# Map options of sq25 render: local time beside UTC (--tz, through the C library's zone
# database), the data source's credit line (--credit), and a clear usage error (exit 2) for a
# zone that does not exist.
set -eu
sq25=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
frame=data/radar/rmi_20210704/20210704170000.rad.best.comp.rate.qpe.hdf
$sq25 render "$frame" --out "$tmp/a.png" > /dev/null
$sq25 render "$frame" --out "$tmp/b.png" --tz Europe/Brussels --credit "Radar data: RMI" > /dev/null
# the time and credit lines are drawn in the title band: the two images differ there only
/usr/bin/python3 - "$tmp/a.png" "$tmp/b.png" <<'PY'
import sys, zlib, struct
def rows(path):
    data = open(path, 'rb').read(); pos, idat = 8, b''
    while pos < len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos + 8])
        if kind == b'IHDR': w, h = struct.unpack('>II', data[pos + 8:pos + 16])
        if kind == b'IDAT': idat += data[pos + 8:pos + 8 + n]
        pos += 12 + n
    return w, h, zlib.decompress(idat)
wa, ha, ra = rows(sys.argv[1]); wb, hb, rb = rows(sys.argv[2])
assert (wa, ha) == (wb, hb), 'sizes differ'
stride = wa * 3 + 1
band = 56  # title band height in pixels (lib/render.c TITLE_BAND_PX)
assert ra[:band * stride] != rb[:band * stride], 'title band unchanged by --tz/--credit'
assert ra[band * stride:] == rb[band * stride:], 'the map itself changed'
PY
set +e
$sq25 render "$frame" --out "$tmp/c.png" --tz Mars/Olympus 2> "$tmp/err"; rc=$?
set -e
[ $rc -eq 2 ] || { echo "unknown zone: exit $rc"; exit 1; }
grep -q "Mars/Olympus" "$tmp/err" || { echo "zone not named in the error"; exit 1; }
[ ! -e "$tmp/c.png" ] || { echo "a map was written despite the error"; exit 1; }
