"""Python bindings of the microwave-link API. Analytic: a synthetic link whose attenuation is
k R^alpha L for a known rain rate gives that rate back; P.838-3 against an ITU-R validation
example; the bundled OpenMRG file's values against h5py (an independent reader)."""
import math
import os

import numpy as np

import sq25
from sq25 import links

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MRG = os.path.join(ROOT, "data", "sensors", "openmrg_20150725_2h", "openmrg_cml_5min_2h.nc")


def test_p838_validation_example():
    # ITU-R SG3 validation example (ITU-Rpy test_data/838): el 31.07699124, 14.25 GHz, tau 0
    k, a = links.p838(14.25, elevation_deg=31.07699124, tilt_deg=0)
    assert abs(k / 0.03975488 - 1) < 2e-6 and abs(a / 1.12418043 - 1) < 2e-6


def test_synthetic_link_gives_rain_back():
    t0 = 1660435200
    lk = links.Links.create(1, 240, t0, 60)
    lk.set_link(0, "syn", 11.0, 44.0, 11.0634, 44.0, 25.0, links.POL_VERTICAL, 5000.0)
    # k, alpha at 25 GHz V from P.838-3 Tables 2 and 4 evaluated independently
    k, a = 0.15326853494332046, 0.9491316935589024
    m = np.arange(240)
    rate = np.where((m >= 60) & (m < 180), 12 + 8 * np.sin(2 * np.pi * (m - 60) / 20), 0.0)
    att = np.where(rate > 0, k * np.power(np.maximum(rate, 1e-9), a) * 5.0, 0.0)
    lk.tsl[0, :] = 10
    lk.rsl[0, :] = 10 - 110 - att
    r = lk.process(t0 + 900, t0 + 239 * 60, 900, waa_method=links.WAA_NONE)
    want = [rate[15 * j + 1:15 * j + 16].sum() / 60 for j in range(r.shape[1])]
    assert np.allclose(r.data[0], want, atol=1e-3)


def test_openmrg_reader_against_h5py():
    h5py = __import__("pytest").importorskip("h5py")
    lk = links.Links.read_netcdf(MRG)
    with h5py.File(MRG, "r") as f:
        R = f["R"][:]
        freq = f["frequency"][:]
    assert len(lk) == R.shape[1] == 359
    assert np.allclose(lk.rain.T, R, equal_nan=True, atol=1e-6)
    assert np.allclose(lk.geometry()["frequency_ghz"], freq / 1000)


def test_lines_idw_leave_one_out_by_hand():
    pyproj = __import__("pytest").importorskip("pyproj")
    lon = np.array([11.0, 11.02, 11.05, 11.03, 11.07, 11.01])
    lat = np.array([44.5, 44.52, 44.51, 44.55, 44.53, 44.56])
    z = np.array([1.0, 2.0, 0.5, 3.0, 1.5, 2.5])
    ll = np.stack([lon, lat, lon, lat], axis=1)
    est, _ = links.predict_lines(ll, z, lon, lat, method=links.IDW, leave_one_out=True)
    # by hand: UTM 32N with pyproj, weights 1/d^2 over the other five (all within 10 km)
    x, y = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32632", always_xy=True).transform(lon, lat)
    for j in range(6):
        d2 = (x - x[j]) ** 2 + (y - y[j]) ** 2
        w = np.where(np.arange(6) == j, 0.0, 1.0 / np.where(d2 > 0, d2, 1.0))
        assert abs(est[j] - (w * z).sum() / w.sum()) < 1e-9


def test_pipeline_links_equal_cli(tmp_path):
    """A service pushing the OpenMRG links' path rain gets the merged leads of one
    `sq25 run --links` (the first lead compared value for value with the forecast.h5 the CLI
    wrote); clearing the links gives the radar-only leads again."""
    import subprocess
    cli = os.environ.get("SQ25_CLI", os.path.join(ROOT, "build", "sq25"))
    radar = os.path.join(os.path.dirname(MRG), "openmrg_rad_5min_2h.nc")
    issue = "2015-07-25T14:00"
    out = tmp_path / "out"
    subprocess.run([cli, "run", "--quiet", "--no-maps", "--radar", radar, "--links", MRG,
                    "--time", issue, "--out", str(out)], check=True, capture_output=True)
    frames = [sq25.read_field(radar, frame=k) for k in range(sq25.frame_count(radar))]
    t_issue = int(np.datetime64(issue + ":00", "s").astype(np.int64))
    frames = sorted((f for f in frames if f.valid_time <= t_issue), key=lambda f: f.valid_time)
    lk = links.Links.read_netcdf(MRG)
    rain = lk.process(frames[0].valid_time, frames[-1].valid_time, 300)
    g = lk.geometry()
    lonlat = np.stack([g["lon0"], g["lat0"], g["lon1"], g["lat1"]], axis=1)

    def leads(with_links):
        p = sq25.Pipeline()
        if with_links:
            p.push_links(rain, lonlat)
        for f in frames:
            p.push(f)
        p.run()
        return p, p.warn_forecasts()

    p, merged = leads(True)
    info = p.merge_info()
    assert info["sensors_used"] == len(lk) == 359 and not info["radar_only"]
    first = sq25.read_field(out / "forecast.h5")
    np.testing.assert_array_equal(np.nan_to_num(first.data, nan=-1),
                                  np.nan_to_num(merged[0].data, nan=-1))
    _, plain = leads(False)
    assert not np.array_equal(np.nan_to_num(plain[0].data, nan=-1),
                              np.nan_to_num(merged[0].data, nan=-1))
    p.push_links(None, None)
    p.run()
    np.testing.assert_array_equal(np.nan_to_num(p.warn_forecasts()[0].data, nan=-1),
                                  np.nan_to_num(plain[0].data, nan=-1))
