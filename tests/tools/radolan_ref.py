#!/usr/bin/python3
"""An independent reading of DWD RADOLAN/RADVOR composites, written for the tests from DWD's
format description ("RADOLAN/RADVOR-OP Kompositformat", and the RV description for DE1200),
sharing no code with lib/io_radolan.c. It prints facts the tests compare with:

  radolan_ref.py FILE [MEMBER]   -> JSON: product, ddhhmm, mmyy, rows, cols, precision,
      interval_min, lead_min, version, n_nodata, max_value (mm per interval, or dBZ for one-byte
      products), at (row-from-north, col) of the maximum, and the value at a few pixels.

Header: product (2), DDhhmm (6), station (5), MMYY (4), then fields; ETX (0x03) ends it. Pixels
from the south-west corner row by row northwards; two-byte little-endian with 12 value bits and
flags 0x2000 no data, 0x8000 clutter, 0x4000 negative; one-byte: dBZ = v/2 - 32.5, 249/250
clutter/no data."""
import bz2, gzip, io, json, re, sys, tarfile

import numpy as np


def unpack(path, member=None):
    raw = open(path, "rb").read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    elif raw[:3] == b"BZh":
        raw = bz2.decompress(raw)
    if len(raw) > 262 and raw[257:262] == b"ustar":
        tf = tarfile.open(fileobj=io.BytesIO(raw))
        names = sorted(m.name for m in tf.getmembers() if m.isfile())
        raw = tf.extractfile(member or names[0]).read()
    return raw


def read(raw):
    etx = raw.index(b"\x03")
    head = raw[:etx].decode("latin-1")
    out = {"product": head[0:2], "ddhhmm": head[2:8], "mmyy": head[13:17]}
    gp = re.search(r"GP\s*(\d+)x\s*(\d+)", head)
    rows, cols = int(gp.group(1)), int(gp.group(2))
    out.update(rows=rows, cols=cols)
    pr = re.search(r"PR\s*E([+-]\d+)", head)
    out["precision"] = 10.0 ** int(pr.group(1)) if pr else 1.0
    it = re.search(r"INT\s*(\d+)", head)
    out["interval_min"] = int(it.group(1)) if it else 0
    vv = re.search(r"VV\s*(\d+)", head)
    out["lead_min"] = int(vv.group(1)) if vv else 0
    vs = re.search(r"VS\s*(\d+)", head)
    out["version"] = int(vs.group(1)) if vs else 0
    body = raw[etx + 1:]
    n = rows * cols
    if len(body) >= 2 * n:
        w = np.frombuffer(body[: 2 * n], dtype="<u2").reshape(rows, cols)[::-1]  # north first
        bad = ((w & 0x2000) != 0) | ((w & 0x8000) != 0)
        v = (w & 0x0FFF).astype(float) * out["precision"]
        v[(w & 0x4000) != 0] *= -1
        v[bad] = np.nan
    else:
        b = np.frombuffer(body[:n], dtype=np.uint8).reshape(rows, cols)[::-1]
        v = b.astype(float) / 2 - 32.5
        v[b >= 249] = np.nan
    out["n_nodata"] = int(np.isnan(v).sum())
    out["max_value"] = float(np.nanmax(v))
    r, c = np.unravel_index(np.nanargmax(v), v.shape)
    out["at"] = [int(r), int(c)]
    out["samples"] = {f"{r},{c}": (None if np.isnan(v[r, c]) else float(v[r, c]))
                      for r, c in [(0, 0), (rows // 2, cols // 2), (int(r), int(c))]}
    return out, v


if __name__ == "__main__":
    info, _ = read(unpack(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
    print(json.dumps(info))
