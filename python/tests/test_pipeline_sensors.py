"""Sensors in the pipeline through the bindings: a service pushing the sensor window frame by
frame gets the same merged leads as one `sq25 run --sensors` (compared value for value with
the forecast.h5 the CLI wrote), and the merge info names the method. The sensors report the
radar + 6 mm/h (values chosen), so the analysis near them is radar + 6 (ordinary-kriging
weights sum to one)."""
import os
import subprocess

import numpy as np

import sq25

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.environ.get("SQ25_CLI", os.path.join(ROOT, "build", "sq25"))
RMI = os.path.join(ROOT, "data", "radar", "rmi_20210704")
FRAMES = [os.path.join(RMI, f"2021070417{m}.rad.best.comp.rate.qpe.hdf")
          for m in ("3500", "4000", "4500")]
GRID = "lonlat:5.8,49.95,6.4,50.35:500"


def test_service_equals_cli(tmp_path):
    latest = sq25.read_field(FRAMES[-1])
    grid = sq25.sensors.resample(latest, sq25.street_grid(GRID))
    rows, cols = grid.shape
    picks = [(r, c) for r in range(10, rows - 10, rows // 4) for c in range(10, cols - 10, cols // 3)]
    lon, lat = grid.pixel_to_lonlat(np.array([c + 0.5 for r, c in picks]),
                                    np.array([r + 0.5 for r, c in picks]))
    lines = ["station_id,lon,lat,time_utc,mm"]
    for k, (r, c) in enumerate(picks):
        lines.append(f"s{k},{lon[k]:.9f},{lat[k]:.9f},2021-07-04T17:45:00Z,"
                     f"{(float(grid.data[r, c]) + 6.0) / 12:.9f}")
    csv = tmp_path / "s.csv"
    csv.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    subprocess.run([CLI, "run", "--quiet", "--radar", *FRAMES, "--grid", GRID, "--sensors",
                    str(csv), "--no-qc", "--merge", "additive", "--out", str(out)], check=True,
                   capture_output=True)
    p = sq25.Pipeline(street_grid=sq25.street_grid(GRID))
    p.push_sensors(sq25.sensors.Series.read_csv(str(csv)), qc=0, merge="additive")
    for f in FRAMES:
        p.push(sq25.read_field(f))
    p.run()
    info = p.merge_info()
    assert info["method"] == "additive" and info["sensors_used"] == len(picks)
    assert not info["radar_only"]
    an = p.analysis()
    r, c = picks[0]
    assert abs(float(an.data[r, c]) - (float(grid.data[r, c]) + 6.0)) < 1e-3
    leads = p.warn_forecasts()
    assert len(leads) == 12
    first = sq25.read_field(out / "forecast.h5")  # frame 0: the merged +5 min lead
    np.testing.assert_array_equal(np.nan_to_num(first.data, nan=-1),
                                  np.nan_to_num(leads[0].data, nan=-1))
