"""Core bindings: contexts, errors, fields, georeference. Expected values are analytic
(spherical equidistant cylindrical projection: x = R*lon, y = R*lat in radians)."""
import math

import numpy as np
import pytest

import sq25

EQC = "+proj=eqc +a=6371000 +b=6371000 +units=m"
R = 6371000.0
DEG = math.pi / 180


def make_field():
    gt = (2 * DEG * R, DEG * R, 0, 50 * DEG * R, 0, -DEG * R)  # 1-degree cells from 2E, 50N
    data = np.zeros((5, 10), dtype=np.float32)
    data[2, 3] = 12.5
    data[0, 0] = np.nan
    return sq25.Field.create(data, EQC, gt, valid_time=1625413800)


def test_version_matches_header():
    header = open(__file__.rsplit("/python/", 1)[0] + "/include/sq25.h").read()
    parts = [header.split(f"#define SQ25_VERSION_{k} ")[1].split()[0] for k in
             ("MAJOR", "MINOR", "PATCH")]
    assert sq25.version() == ".".join(parts)


def test_field_roundtrip_and_view_without_copy():
    f = make_field()
    assert f.shape == (5, 10)
    d = f.data
    assert d.dtype == np.float32 and math.isnan(d[0, 0]) and d[2, 3] == 12.5
    d[4, 9] = 3.0  # writes through to the C buffer
    assert f.data[4, 9] == 3.0
    mx, mean, wet, nodata = f.stats(0.1)
    assert mx == 12.5
    assert wet == pytest.approx(2 / 49)
    assert nodata == pytest.approx(1 / 50)
    assert f.valid_time_iso == "2021-07-04T15:50:00Z"


def test_view_outlives_field_object():
    d = make_field().data  # the Field goes out of scope; the view keeps it alive
    assert d[2, 3] == 12.5


def test_arrays_derived_from_the_view_keep_the_field():
    """np.asarray of the view drops the subclass (and, before 1.6, its reference to the Field:
    the C memory was freed under the array). The Field must live while any derived array does,
    and be released after: checked with a weak reference, independent of allocator reuse."""
    import gc
    import weakref
    for derive in (lambda d: np.asarray(d), lambda d: np.asarray(d[1:3]).reshape(-1)[10:]):
        f = make_field()
        alive = weakref.ref(f)
        plain = derive(f.data)
        assert type(plain) is np.ndarray
        del f
        gc.collect()
        assert alive() is not None
        assert 12.5 in plain
        del plain
        gc.collect()
        assert alive() is None


def test_georeference_analytic():
    f = make_field()
    corners = f.corners_lonlat()
    assert corners[0] == pytest.approx((2, 50))
    assert corners[2] == pytest.approx((12, 45))
    col, row = f.lonlat_to_pixel([4.5], [47.5])
    assert col[0] == pytest.approx(2.5) and row[0] == pytest.approx(2.5)
    lon, lat = f.pixel_to_lonlat(np.array([9.0]), np.array([4.75]))
    assert lon[0] == pytest.approx(11.0) and lat[0] == pytest.approx(45.25)


def test_errors_raise_with_code_and_message():
    with pytest.raises(sq25.Error) as e:
        sq25.Field.create(np.zeros((3, 3)), "+proj=nonsense", (0, 1, 0, 0, 0, -1))
    assert e.value.code == -200 and e.value.name == "SQ25_ERR_PROJ"
    with pytest.raises(sq25.Error) as e:
        sq25.parse_time("not a time")
    assert e.value.name == "SQ25_ERR_BAD_TIME"
    assert sq25.parse_time("2021-07-04T15:50Z") == 1625413800
