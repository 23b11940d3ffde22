#!/usr/bin/python3
"""Compare `sq25 info --json` on every file of ../shared/data (or $SQ25_DATA) with independent
reads: h5py for ODIM_H5 / KNMI HDF5 (gain/offset/nodata/undetect, calibration formula),
netCDF4-python for CF / OpenSense (its own masking and scaling), tests/tools/radolan_ref.py for
DWD RADOLAN/RADVOR, numpy.loadtxt for the ESRI ASCII grids. Prints one line per file (maximum
in mm/h both ways, valid time, grid) and a summary; exit 1 on any disagreement beyond 1e-3
relative. Run from the repository root: tests/tools/check_info_shared.py build/sq25"""
import io, json, os, re, subprocess, sys, tarfile, gzip
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import radolan_ref  # noqa: E402

SQ25 = sys.argv[1] if len(sys.argv) > 1 else "build/sq25"
ROOT = os.environ.get("SQ25_DATA", "../shared/data")


def odim_max(path):
    import h5py
    with h5py.File(path, "r") as f:
        what = {}
        for g in ("what", "dataset1/what", "dataset1/data1/what"):  # ODIM inheritance order
            if g in f:
                what.update(dict(f[g].attrs))
        q = what["quantity"].decode() if isinstance(what["quantity"], bytes) else what["quantity"]
        d = f["dataset1/data1/data"][:].astype(float)
        bad = np.zeros(d.shape, bool)
        for k in ("nodata", "undetect"):
            if k in what:
                bad |= d == what[k]
        v = d * what.get("gain", 1.0) + what.get("offset", 0.0)
        v[bad] = np.nan
        assert q == "RATE", q
        return float(np.nanmax(v))


def knmi_max(path):
    import h5py
    with h5py.File(path, "r") as f:
        d = f["image1/image_data"][:].astype(float)
        formula = f["image1/calibration"].attrs["calibration_formulas"].decode()
        a, b = map(float, re.match(r"GEO=([\d.]+)\*PV\+([\d.-]+)", formula).groups())
        d[d == 65535] = np.nan
        return float(np.nanmax(d * a + b)) * 12  # mm per 5 min


def cf_max(path):
    import netCDF4
    with netCDF4.Dataset(path) as d:
        r = d["rainfall_amount"][0]
        return float(np.nanmax(np.ma.filled(r.astype(float), np.nan))) * 12  # sum 5min


def radolan_max(path):
    info, v = radolan_ref.read(radolan_ref.unpack(path))
    if len(radolan_ref.unpack(path)) == 0:
        return None
    if info["interval_min"] and v.dtype == float and info["product"] not in ("RX", "EX", "WX"):
        return float(np.nanmax(v)) * 60 / info["interval_min"]
    dbz = float(np.nanmax(v))
    return (10 ** (dbz / 10) / 200) ** (1 / 1.6)


def esri_max(path):
    raw = gzip.decompress(open(path, "rb").read())
    tf = tarfile.open(fileobj=io.BytesIO(raw))
    first = sorted(m.name for m in tf.getmembers() if m.isfile())[0]
    a = np.loadtxt(tf.extractfile(first), skiprows=6)
    return float(a.max()) * 0.1


def independent(path, fmt):
    if fmt == "ODIM_H5":
        return odim_max(path)
    if fmt == "KNMI HDF5":
        return knmi_max(path)
    if fmt == "CF netCDF-4":
        return cf_max(path)
    if fmt == "DWD RADOLAN":
        return radolan_max(path)
    if fmt == "ESRI ASCII grid":
        return esri_max(path)
    return None


def main():
    bad = checked = refused = 0
    for dirpath, _, names in sorted(os.walk(ROOT)):
        for n in sorted(names):
            if n.endswith(".md") or n == "SHA256SUMS":
                continue
            path = os.path.join(dirpath, n)
            p = subprocess.run([SQ25, "info", "--json", path], capture_output=True, text=True)
            if p.returncode:
                refused += 1
                print(f"REFUSED {path}: {p.stderr.strip()}")
                continue
            o = json.loads(p.stdout)
            fam = o["format_family"]
            if fam == "station series":
                print(f"SERIES  {path}: {o['stations']} stations, {o['steps']} x {o['step_s']} s, "
                      f"max {o['max_mm_per_step']:.3f} mm/step")
                continue
            ref = independent(path, fam)
            mine = o["max_mmh"]
            ok = ref is not None and abs(mine - ref) <= 1e-3 * max(1.0, abs(ref))
            checked += 1
            bad += not ok
            print(f"{'OK' if ok else 'DIFF'}      {path}: {fam} {o['width']}x{o['height']} "
                  f"{o['valid_time']} max {mine:.4f} mm/h (independent {ref:.4f})")
    print(f"checked {checked}, disagreeing {bad}, refused {refused}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
