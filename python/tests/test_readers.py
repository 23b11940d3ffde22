"""Readers through the bindings: the RADVOR RV tar.bz2 as 25 frames, the Z-R relation and the
rain ceiling of a context on the RADOLAN RX sample. Expected values from
tests/tools/radolan_ref.py (an independent decoder written from DWD's format description):
RX maximum 56.5 dBZ at (row from north 837, col 288); RV lead 60 maximum 4.62 mm per 5 min."""
import math
import os

import numpy as np

import sq25

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RX = os.path.join(ROOT, "data/radar/dwd_radolan/showcase/raa01-rx_10000-1408102050-dwd---bin.gz")
RV = os.path.join(ROOT, "data/radar/dwd_radolan/radvor/DE1200_RV2210180700.tar.bz2")


def test_radvor_frames():
    assert sq25.frame_count(RV) == 25
    f = sq25.read_field(RV, frame=12)
    assert f.shape == (1200, 1100)
    assert f.valid_time_iso == "2022-10-18T08:00:00Z"
    assert abs(np.nanmax(f.data) - 4.62 * 12) < 1e-3


def test_zr_and_ceiling():
    ctx = sq25.Context()
    assert ctx.zr == (200.0, 1.6)
    ctx.set_zr(300, 1.4)
    f = sq25.read_field(RX, ctx=ctx)
    expected = (10 ** 5.65 / 300) ** (1 / 1.4)
    assert math.isclose(f.data[837, 288], expected, rel_tol=1e-4)
    assert "Z = 300 R^1.4" in f.meta(sq25.core.META_CONVERSION)
    ctx.set_rain_ceiling(50, nodata=True)
    g = sq25.read_field(RX, ctx=ctx)
    assert np.isnan(g.data[837, 288])
    assert np.nanmax(g.data) <= 50
