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
    """Width, height, and the filtered rows with palette indices replaced by their RGB (an
    8-bit palette image, colour type 3, or RGB, type 2; rows with filter 0 only in the
    palette case, which is what the writer uses there)."""
    data = open(path, 'rb').read(); pos, idat, plte = 8, b'', None
    while pos < len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos + 8])
        if kind == b'IHDR': w, h, depth, colour = struct.unpack('>IIBB', data[pos + 8:pos + 18])
        if kind == b'PLTE': plte = data[pos + 8:pos + 8 + n]
        if kind == b'IDAT': idat += data[pos + 8:pos + 8 + n]
        pos += 12 + n
    raw = zlib.decompress(idat)
    if colour == 2: return w, h, raw
    assert colour == 3 and depth == 8 and plte, (colour, depth)
    out = bytearray()
    for y in range(h):
        line = raw[y * (w + 1):(y + 1) * (w + 1)]
        assert line[0] == 0, 'filter %d' % line[0]
        out += b'\0' + b''.join(plte[3 * k:3 * k + 3] for k in line[1:])
    return w, h, bytes(out)
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
