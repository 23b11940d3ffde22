"""Commercial microwave links: OpenSense CML files, the processing chain to path rain, ITU-R
P.838-3 coefficients, and links as line sensors in kriging and IDW (docs/links.md)."""
import ctypes

import numpy as np

from . import _lib
from ._lib import lib, proto
from .core import _c_path, _FieldArray, default_context
from .sensors import IDW, KRIGING, Series, _interp_options  # noqa: F401

_c = ctypes
POL_UNKNOWN, POL_HORIZONTAL, POL_VERTICAL = 0, 1, 2
WAA_NONE, WAA_CONSTANT, WAA_SCHLEISS2013, WAA_LEIJNSE2008 = 0, 1, 2, 3
FLAG_MISSING, FLAG_JUMP, FLAG_CONSTANT, FLAG_RATE, FLAG_STEP, FLAG_NOISY = 1, 2, 4, 8, 16, 32
CML_KEYS = {"window_s": 0, "threshold_db": 1, "baseline_steps": 2, "waa_method": 3,
            "waa_max_db": 4, "waa_tau_s": 5, "jump_db": 6, "constant_s": 7,
            "max_rate_mmh": 8, "min_valid": 9, "step_after": 10, "max_wet_share": 11}

_dp, _fp, _vpp = _lib.c_double_p, _lib.c_float_p, _lib.c_void_pp
proto("sq25_links_read_netcdf", _c.c_int, _c.c_void_p, _c.c_char_p, _vpp)
proto("sq25_links_create", _c.c_int, _c.c_void_p, _c.c_int, _c.c_int64, _c.c_int64, _c.c_int,
      _c.c_int, _c.c_int, _vpp)
proto("sq25_links_destroy", None, _c.c_void_p)
proto("sq25_links_count", _c.c_int, _c.c_void_p)
proto("sq25_links_step_count", _c.c_int64, _c.c_void_p)
proto("sq25_links_step_s", _c.c_int, _c.c_void_p)
proto("sq25_links_time", _c.c_int64, _c.c_void_p, _c.c_int64)
proto("sq25_links_id", _c.c_char_p, _c.c_void_p, _c.c_int)
proto("sq25_links_geometry", _c.c_int, _c.c_void_p, _c.c_int, _dp, _dp, _dp, _dp, _dp, _dp,
      _c.POINTER(_c.c_int))
proto("sq25_links_set_link", _c.c_int, _c.c_void_p, _c.c_int, _c.c_char_p, _c.c_double,
      _c.c_double, _c.c_double, _c.c_double, _c.c_double, _c.c_double, _c.c_int)
for _name in ("sq25_links_tsl", "sq25_links_rsl", "sq25_links_rain"):
    proto(_name, _fp, _c.c_void_p)
proto("sq25_p838_coefficients", _c.c_int, _c.c_double, _c.c_double, _c.c_double, _dp, _dp)
proto("sq25_p838_coefficients_pol", _c.c_int, _c.c_double, _c.c_int, _dp, _dp)
proto("sq25_cml_options_create", _c.c_int, _c.c_void_p, _vpp)
proto("sq25_cml_options_destroy", None, _c.c_void_p)
proto("sq25_cml_options_set", _c.c_int, _c.c_void_p, _c.c_int, _c.c_double)
proto("sq25_links_process", _c.c_int, _c.c_void_p, _c.c_void_p, _c.c_int64, _c.c_int64, _c.c_int,
      _vpp, _vpp)
proto("sq25_interp_lines_grid", _c.c_int, _c.c_void_p, _c.c_void_p, _c.c_int, _c.c_size_t, _dp,
      _dp, _c.c_double, _c.c_void_p, _c.c_void_p, _c.c_void_p)
proto("sq25_interp_lines_points", _c.c_int, _c.c_void_p, _c.c_void_p, _c.c_int, _c.c_size_t, _dp,
      _dp, _c.c_double, _c.c_void_p, _c.c_size_t, _dp, _dp, _c.c_int, _dp, _dp)


def p838(frequency_ghz, polarization=POL_VERTICAL, elevation_deg=None, tilt_deg=None):
    """(k, alpha) of ITU-R P.838-3: gamma = k R^alpha (dB/km, mm/h). With elevation_deg and
    tilt_deg the general form, else a horizontal path with the given polarisation."""
    k, a = _c.c_double(), _c.c_double()
    if elevation_deg is not None or tilt_deg is not None:
        rc = lib.sq25_p838_coefficients(float(frequency_ghz), float(elevation_deg or 0),
                                        float(tilt_deg or 0), _c.byref(k), _c.byref(a))
    else:
        rc = lib.sq25_p838_coefficients_pol(float(frequency_ghz), int(polarization), _c.byref(k),
                                            _c.byref(a))
    if rc:
        raise ValueError(f"P.838-3: frequency {frequency_ghz} GHz or polarisation out of range")
    return k.value, a.value


class Links:
    """Microwave sub-links: geometry, radio parameters and samples (link-major arrays)."""

    def __init__(self, ptr, ctx):
        self._ptr, self._ctx = ptr, ctx

    @classmethod
    def read_netcdf(cls, path, ctx=None):
        """Read an OpenSense CML netCDF-4 file (raw TSL/RSL and/or processed rain)."""
        ctx = ctx or default_context()
        out = _c.c_void_p()
        ctx.check(lib.sq25_links_read_netcdf(ctx._ptr, _c_path(path), _c.byref(out)))
        return cls(out.value, ctx)

    @classmethod
    def create(cls, n_links, n_steps, t0, step_s, signal=True, rain=False, ctx=None):
        """An empty store (NaN samples) to fill through .tsl/.rsl/.rain and set_link()."""
        ctx = ctx or default_context()
        out = _c.c_void_p()
        ctx.check(lib.sq25_links_create(ctx._ptr, int(n_links), int(n_steps), int(t0),
                                        int(step_s), int(bool(signal)), int(bool(rain)),
                                        _c.byref(out)))
        return cls(out.value, ctx)

    def __del__(self):
        ptr, self._ptr = getattr(self, "_ptr", None), None
        if ptr:
            lib.sq25_links_destroy(ptr)

    def __len__(self):
        return lib.sq25_links_count(self._ptr)

    @property
    def step_s(self):
        return lib.sq25_links_step_s(self._ptr)

    @property
    def times(self):
        t0 = lib.sq25_links_time(self._ptr, 0)
        return t0 + self.step_s * np.arange(lib.sq25_links_step_count(self._ptr), dtype=np.int64)

    @property
    def ids(self):
        return [lib.sq25_links_id(self._ptr, i).decode() for i in range(len(self))]

    def geometry(self):
        """Structured array: lon0, lat0, lon1, lat1 (deg), length_m, frequency_ghz, pol."""
        dt = [(n, "f8") for n in ("lon0", "lat0", "lon1", "lat1", "length_m", "frequency_ghz")]
        out = np.zeros(len(self), dtype=dt + [("pol", "i4")])
        vals = [_c.c_double() for _ in range(6)]
        pol = _c.c_int()
        for i in range(len(self)):
            lib.sq25_links_geometry(self._ptr, i, *[_c.byref(v) for v in vals], _c.byref(pol))
            out[i] = tuple(v.value for v in vals) + (pol.value,)
        return out

    def set_link(self, i, link_id, lon0, lat0, lon1, lat1, frequency_ghz,
                 polarization=POL_VERTICAL, length_m=float("nan")):
        self._ctx.check(lib.sq25_links_set_link(self._ptr, int(i), link_id.encode(), lon0, lat0,
                                                lon1, lat1, length_m, frequency_ghz,
                                                int(polarization)))

    def _array(self, name):
        p = getattr(lib, name)(self._ptr)
        if not p:
            return None
        shape = (len(self), lib.sq25_links_step_count(self._ptr))
        return _FieldArray(np.ctypeslib.as_array(p, shape=shape), self)

    @property
    def tsl(self):
        """(links, samples) float32 view, dBm; None when the store has no signal levels."""
        return self._array("sq25_links_tsl")

    @property
    def rsl(self):
        return self._array("sq25_links_rsl")

    @property
    def rain(self):
        """(links, samples) float32 view of processed rain, mm per step, or None."""
        return self._array("sq25_links_rain")

    def process(self, t_from, t_to, step_s=900, with_flags=False, **params):
        """Path rain in mm per interval of step_s for intervals ending in [t_from, t_to], as a
        Series (one station per link at the path midpoint); with with_flags also the Series
        of the share of flagged samples. params: CML_KEYS (e.g. waa_method=WAA_NONE)."""
        ctx = self._ctx
        opt, rain, flag = _c.c_void_p(), _c.c_void_p(), _c.c_void_p()
        ctx.check(lib.sq25_cml_options_create(ctx._ptr, _c.byref(opt)))
        try:
            for k, v in params.items():
                ctx.check(lib.sq25_cml_options_set(opt, CML_KEYS[k], float(v)))
            ctx.check(lib.sq25_links_process(self._ptr, opt, int(t_from), int(t_to), int(step_s),
                                             _c.byref(rain), _c.byref(flag)))
        finally:
            lib.sq25_cml_options_destroy(opt)
        r, f = Series(rain.value, ctx), Series(flag.value, ctx)
        return (r, f) if with_flags else r


def _lines(lonlat, value):
    ll = np.ascontiguousarray(lonlat, dtype=np.float64).reshape(-1, 4)
    va = np.ascontiguousarray(value, dtype=np.float64).ravel()
    if ll.shape[0] != va.size:
        raise ValueError("lonlat (n x 4: lon0, lat0, lon1, lat1) and value differ in length")
    return ll, va


def interpolate_lines(grid, lonlat, value, method=KRIGING, drift=None, spacing_m=250,
                      with_variance=False, **params):
    """Fill grid (a Field, in place) from line sensors (n x 4 end points; a gauge has equal
    end points) with block-support kriging (KED with a drift Field) or IDW."""
    ctx = grid._ctx
    ll, va = _lines(lonlat, value)
    variance = grid.copy() if with_variance else None
    opt = _interp_options(ctx, params)
    try:
        ctx.check(lib.sq25_interp_lines_grid(
            ctx._ptr, opt, int(method), va.size, ll.ctypes.data_as(_dp), va.ctypes.data_as(_dp),
            float(spacing_m), drift._ptr if drift is not None else None, grid._ptr,
            variance._ptr if variance is not None else None))
    finally:
        lib.sq25_interp_options_destroy(opt)
    return (grid, variance) if with_variance else grid


def predict_lines(lonlat, value, target_lon, target_lat, method=KRIGING, drift=None,
                  spacing_m=250, leave_one_out=False, ctx=None, **params):
    """(estimate, variance) arrays at target points from line sensors (see interpolate_lines).
    leave_one_out: targets must be the sensors (n targets), each predicted without itself."""
    ctx = ctx or default_context()
    ll, va = _lines(lonlat, value)
    tlo = np.ascontiguousarray(target_lon, dtype=np.float64).ravel()
    tla = np.ascontiguousarray(target_lat, dtype=np.float64).ravel()
    out, var = np.empty(tlo.size), np.empty(tlo.size)
    opt = _interp_options(ctx, params)
    try:
        ctx.check(lib.sq25_interp_lines_points(
            ctx._ptr, opt, int(method), va.size, ll.ctypes.data_as(_dp), va.ctypes.data_as(_dp),
            float(spacing_m), drift._ptr if drift is not None else None, tlo.size,
            tlo.ctypes.data_as(_dp), tla.ctypes.data_as(_dp), int(bool(leave_one_out)),
            out.ctypes.data_as(_dp), var.ctypes.data_as(_dp)))
    finally:
        lib.sq25_interp_options_destroy(opt)
    return out, var
