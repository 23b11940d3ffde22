"""Python against the CLI and analytic cases.

- Same numbers as the CLI: `sq25 info --json` statistics and `sq25 nowcast` + `sq25 verify
  --json` scores on the bundled RMI frames are compared with the Python calls on the same files.
- A Gaussian rain cell moved by a known vector (+2, +1 pixels per step) is recovered.
- Round trip: a field written with write_odim reads back identical.
- Bad input raises sq25.Error with the library's code, never crashes the interpreter.
"""
import json
import math
import os
import subprocess

import numpy as np
import pytest

import sq25

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.environ.get("SQ25_CLI", os.path.join(ROOT, "build", "sq25"))
RMI = os.path.join(ROOT, "data", "radar", "rmi_20210704")
FRAMES = [os.path.join(RMI, f"2021070417{m}.rad.best.comp.rate.qpe.hdf")
          for m in ("3500", "4000", "4500")]
OBS = {5: os.path.join(RMI, "20210704175000.rad.best.comp.rate.qpe.hdf"),
       30: os.path.join(RMI, "20210704181500.rad.best.comp.rate.qpe.hdf")}


def cli(*args):
    return subprocess.run([CLI, *args], check=True, capture_output=True, text=True).stdout


def test_info_matches_cli():
    info = json.loads(cli("info", "--json", FRAMES[0]))
    f = sq25.read_field(FRAMES[0])
    mx, mean, wet, nodata = f.stats(0.1)
    assert (info["width"], info["height"]) == (f.shape[1], f.shape[0])
    assert info["max_mmh"] == pytest.approx(mx, rel=1e-9)
    assert info["wet_fraction"] == pytest.approx(wet, rel=1e-9)
    assert info["nodata_fraction"] == pytest.approx(nodata, rel=1e-9)
    assert info["valid_time"] == f.valid_time_iso


def test_nowcast_scores_match_cli(tmp_path):
    out = tmp_path / "fc.h5"
    cli("nowcast", *FRAMES, "--leads", "30", "--out", str(out))
    ver = json.loads(cli("verify", str(out), OBS[5], OBS[30], "--json"))
    frames = [sq25.read_field(p) for p in FRAMES]
    forecasts, u, v = sq25.nowcast.nowcast(frames, leads_min=30)
    # the file the CLI wrote holds the same forecasts as the Python call (float32 both)
    for i in (0, 5):
        from_file = sq25.read_field(out, frame=i)
        assert from_file.valid_time == forecasts[i].valid_time
        np.testing.assert_array_equal(np.nan_to_num(from_file.data, nan=-1),
                                      np.nan_to_num(forecasts[i].data, nan=-1))
    leads = {round(entry["lead_min"]): entry for entry in ver["leads"]}
    for lead, obs_path in OBS.items():
        obs = sq25.read_field(obs_path)
        s = sq25.scores(forecasts[lead // 5 - 1], obs)
        ref = leads[lead]
        # the CLI prints 10 significant digits; thresholds 1,5,10,20 and windows 5,15
        for k, t in enumerate((1, 5, 10, 20)):
            assert s[f"csi_{t}"] == pytest.approx(ref["csi"][k], abs=1e-9)
            assert s[f"pod_{t}"] == pytest.approx(ref["pod"][k], abs=1e-9)
        assert s["fss_5_5"] == pytest.approx(ref["fss"][0], abs=1e-9)
        assert s["fss_5_15"] == pytest.approx(ref["fss"][1], abs=1e-9)
        assert s["mae"] == pytest.approx(ref["mae_mmh"], abs=1e-9)


def gaussian(cx, cy, t, n=64):
    r, c = np.mgrid[0:n, 0:n]
    data = 40.0 * np.exp(-((c + 0.5 - cx) ** 2 + (r + 0.5 - cy) ** 2) / (2 * 16.0))
    return sq25.Field.create(data.astype(np.float32), "EPSG:32631",
                             (500000, 1000, 0, 5600000, 0, -1000), valid_time=t)


@pytest.mark.parametrize("method", ["dense", "lk"])
def test_gaussian_cell_known_vector(method):
    frames = [gaussian(20 + 2 * k, 24 + k, 1625413800 + 300 * k) for k in range(3)]
    u, v = sq25.motion(frames, method)
    # at the cell (last centre (24, 26)) the motion is (+2, +1) pixels per step
    assert u[26, 24] == pytest.approx(2.0, abs=0.1)
    assert v[26, 24] == pytest.approx(1.0, abs=0.1)
    fc = sq25.extrapolate(frames[-1], u, v, 300, 2)
    d = fc[1].data
    assert np.nanmax(d) <= np.nanmax(frames[-1].data) + 1e-4  # no rain is created
    # two steps after the last frame the cell is centred at (24 + 2*2, 26 + 2*1) = (28, 28)
    # pixels; centroid of the cells above half the maximum (robust to bilinear smoothing)
    r, c = np.mgrid[0:d.shape[0], 0:d.shape[1]]
    core = np.nan_to_num(d) > np.nanmax(d) / 2
    w = np.where(core, d, 0)
    assert (w * (c + 0.5)).sum() / w.sum() == pytest.approx(28.0, abs=0.3)
    assert (w * (r + 0.5)).sum() / w.sum() == pytest.approx(28.0, abs=0.3)


def test_write_read_roundtrip(tmp_path):
    f = sq25.read_field(FRAMES[-1])
    path = tmp_path / "copy.h5"
    sq25.write_odim(path, f)
    g = sq25.read_field(path)
    np.testing.assert_array_equal(np.isnan(f.data), np.isnan(g.data))
    np.testing.assert_array_equal(np.nan_to_num(f.data), np.nan_to_num(g.data))
    assert g.valid_time == f.valid_time and g.geotransform == pytest.approx(f.geotransform)


def test_bad_input_raises(tmp_path):
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    text = tmp_path / "text.h5"
    text.write_text("not hdf5\n")
    for path, name in ((tmp_path / "missing.h5", "SQ25_ERR_FILE_NOT_FOUND"),
                       (empty, "SQ25_ERR_FILE_EMPTY"), (text, "SQ25_ERR_NOT_HDF5")):
        with pytest.raises(sq25.Error) as e:
            sq25.read_field(path)
        assert e.value.name == name and str(path) in str(e.value)
    with pytest.raises(sq25.Error):
        sq25.street_grid("lonlat:nonsense")
    with pytest.raises(ValueError):
        sq25.motion([gaussian(1, 1, 0), gaussian(1, 1, 300)], "no-such-method")


def test_pipeline_frame_by_frame_equals_cli(tmp_path):
    out = tmp_path / "cli"
    cli("run", "--quiet", "--levels", "5,10,15", "--radar", *FRAMES, "--out", str(out))
    p = sq25.Pipeline(levels_mm=[5, 10, 15])
    for path in FRAMES:
        p.push(sq25.read_field(path))
    w = p.run()
    w.write("summary_json", tmp_path / "py-summary.json")
    assert (tmp_path / "py-summary.json").read_text() == (out / "summary.json").read_text()
    acc = w.accumulation(60).data
    assert math.isfinite(float(np.nanmax(acc)))
