"""The archive workflow (python/examples/archive_skill.py) gives the CLI's scores: one issue
time of the bundled Belgian frames scored by the script (a multiprocessing pool) and by
`sq25 nowcast` + `sq25 verify --json` on the same files."""
import csv
import glob
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.environ.get("SQ25_CLI", os.path.join(ROOT, "build", "sq25"))
sys.path.insert(0, os.path.join(ROOT, "python", "examples"))
import archive_skill  # noqa: E402


def test_archive_script_matches_cli(tmp_path):
    folder = os.path.join(ROOT, "data", "radar", "rmi_20210704")
    out = tmp_path / "scores.csv"
    assert archive_skill.main([folder, "--first", "2", "--last", "2", "--leads", "2",
                               "--workers", "2", "--out", str(out)]) == 0
    rows = list(csv.DictReader(open(out)))
    files = sorted(glob.glob(os.path.join(folder, "*.hdf")))  # names sort by time here
    fc = tmp_path / "fc.h5"
    subprocess.run([CLI, "nowcast", *files[0:3], "--leads", "10", "--out", str(fc)], check=True,
                   capture_output=True)
    ver = json.loads(subprocess.run([CLI, "verify", str(fc), files[3], files[4], "--json"],
                                    check=True, capture_output=True, text=True).stdout)
    assert [int(r["lead_min"]) for r in rows] == [5, 10]
    for row, lead in zip(rows, ver["leads"]):
        assert float(row["csi_1"]) == pytest.approx(lead["csi"][0], abs=6e-5)  # CSV: 4 decimals
        assert float(row["csi_5"]) == pytest.approx(lead["csi"][1], abs=6e-5)
        assert float(row["fss"]) == pytest.approx(lead["fss"][1], abs=6e-5)
        assert float(row["mae"]) == pytest.approx(lead["mae_mmh"], abs=6e-5)
