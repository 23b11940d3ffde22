"""sq25 run --sensors: sensors that report the radar rate plus 6 mm/h give a merged observation
equal to the radar (bilinear on the street grid) plus 6 mm/h near them. Analytic: the residuals
are all 6, and ordinary-kriging weights sum to one, so any kriged residual is exactly 6."""
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


def test_sensors_merged_with_radar(tmp_path):
    latest = sq25.read_field(FRAMES[-1])
    radar_on_grid = sq25.sensors.resample(latest, sq25.street_grid(GRID))
    rows, cols = radar_on_grid.shape
    picks = [(r, c) for r in range(10, rows - 10, rows // 5) for c in range(10, cols - 10, cols // 4)]
    cc = np.array([c + 0.5 for r, c in picks])
    rr = np.array([r + 0.5 for r, c in picks])
    lon, lat = radar_on_grid.pixel_to_lonlat(cc, rr)
    lines = ["station_id,lon,lat,time_utc,mm"]
    for k, (r, c) in enumerate(picks):
        rate = float(radar_on_grid.data[r, c]) + 6.0  # mm/h
        lines.append(f"s{k},{lon[k]:.9f},{lat[k]:.9f},2021-07-04T17:45:00Z,{rate / 12:.9f}")
    csv = tmp_path / "sensors.csv"
    csv.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    subprocess.run([CLI, "run", "--quiet", "--radar", *FRAMES, "--grid", GRID,
                    "--sensors", str(csv), "--out", str(out)], check=True, capture_output=True)
    merged = sq25.read_field(out / "observation.h5")
    assert merged.shape == radar_on_grid.shape
    for r, c in picks:  # at and between the sensors
        for dr, dc in ((0, 0), (3, 2)):
            want = float(radar_on_grid.data[r + dr, c + dc]) + 6.0
            assert abs(float(merged.data[r + dr, c + dc]) - want) < 2e-3
