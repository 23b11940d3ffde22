"""Explicit states through the Python bindings (docs/warnings.md, "States").

The bundled RMI sequence with the 17:35 frame removed: the pipeline bridges the gap and the
warning is 'degraded'; a target inside the street grid shares that state, a target far outside
it (lon 30, lat 10) has no data: level -1 and state 'no_data', never level 0. With no gap
bridged (max_gap=0) the missing frame is an error, as in 1.0.
"""
import os

import numpy as np
import pytest

import sq25

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RMI = os.path.join(ROOT, "data", "radar", "rmi_20210704")
GAP = [os.path.join(RMI, f"2021070417{m}.rad.best.comp.rate.qpe.hdf") for m in ("2500", "3000", "4000")]


def test_gap_degraded_and_no_data_target(tmp_path):
    targets_csv = tmp_path / "targets.csv"
    targets_csv.write_text("id,lon,lat,name\nin,6.2,50.16,Underpass\nout,30,10,Far away\n")
    targets = sq25.Targets(str(targets_csv))
    p = sq25.Pipeline(targets=targets)
    for path in GAP:
        p.push(sq25.read_field(path))
    w = p.run()
    assert w.state == "degraded"
    assert "600 s apart" in w.state_reason
    results = {r["id"]: r for r in w.target_results()}
    assert results["in"]["state"] == "degraded" and results["in"]["level"] >= 0
    assert results["out"]["state"] == "no_data" and results["out"]["level"] == -1
    assert np.isnan(results["out"]["probability"])
    states = w.states().data
    assert set(np.unique(states)) <= {1.0, 3.0}  # degraded where there is data, else no data


def test_gap_is_an_error_without_bridging():
    p = sq25.Pipeline(max_gap=0)
    p.push(sq25.read_field(GAP[0]))
    p.push(sq25.read_field(GAP[1]))  # the step is now 5 min
    with pytest.raises(sq25.Error, match="missing frame"):
        p.push(sq25.read_field(GAP[2]))
