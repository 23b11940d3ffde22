"""Street grids, resampling, sensor series, quality control and interpolation."""
import ctypes

import numpy as np

from . import _lib
from ._lib import lib
from .core import Field, _c_path, _FieldArray, default_context

NEAREST, IDW, KRIGING, MERGE = 0, 1, 2, 3
RESAMPLE_NEAREST, RESAMPLE_BILINEAR, RESAMPLE_AREA = 0, 1, 2
QC_FAULTY_ZERO, QC_HIGH_INFLUX, QC_OUTLIER = 1, 2, 4
QC_FEW_NEIGHBOURS, QC_SO_UNKNOWN, QC_MISSING = 8, 16, 32
QC_REJECT = QC_FAULTY_ZERO | QC_HIGH_INFLUX | QC_OUTLIER
INTERP_KEYS = {"power": 0, "radius_m": 1, "neighbours": 2, "variogram": 3, "nugget": 4,
               "sill": 5, "range_m": 6, "drift": 7, "min_sensors": 8, "block_cells": 9}
QC_KEYS = {"neighbour_range_m": 0, "min_neighbours": 1, "fz_intervals": 2,
           "hi_threshold_a": 3, "hi_threshold_b": 4, "so_window": 5, "so_gamma": 6,
           "so_min_matches": 7, "bias_start": 8, "bias_beta": 9, "so_rainy_min": 10,
           "reference_step_s": 11, "ic_enable": 12, "ic_quantile": 13, "ic_min_corr": 14}


def street_grid(spec, valid_time=0, ctx=None):
    """An empty street grid (all NaN) from a spec such as 'lonlat:4.73,52.28,5.07,52.43:100'."""
    ctx = ctx or default_context()
    out = ctypes.c_void_p()
    ctx.check(lib.sq25_grid_parse(ctx._ptr, spec.encode(), int(valid_time), ctypes.byref(out)))
    return Field(out.value, ctx)


def resample(src, dst, method=RESAMPLE_BILINEAR):
    """Fill dst (a Field) from src through PROJ; returns dst."""
    dst._ctx.check(lib.sq25_resample(src._ptr, dst._ptr, int(method)))
    return dst


class Series:
    """Rain amounts per step (mm per step, NaN missing) of many stations; end-stamped steps."""

    def __init__(self, ptr, ctx):
        self._ptr, self._ctx = ptr, ctx

    @classmethod
    def read_netcdf(cls, path, ctx=None):
        ctx = ctx or default_context()
        out = ctypes.c_void_p()
        ctx.check(lib.sq25_series_read_netcdf(ctx._ptr, _c_path(path), ctypes.byref(out)))
        return cls(out.value, ctx)

    @classmethod
    def read_csv(cls, path, step_s=300, ctx=None):
        ctx = ctx or default_context()
        out = ctypes.c_void_p()
        ctx.check(lib.sq25_series_read_csv(ctx._ptr, _c_path(path), int(step_s),
                                           ctypes.byref(out)))
        return cls(out.value, ctx)

    def __del__(self):
        ptr, self._ptr = getattr(self, "_ptr", None), None
        if ptr:
            lib.sq25_series_destroy(ptr)

    @property
    def shape(self):
        return (lib.sq25_series_station_count(self._ptr), lib.sq25_series_step_count(self._ptr))

    @property
    def step_s(self):
        return lib.sq25_series_step_s(self._ptr)

    @property
    def data(self):
        """(stations, steps) float32 view of the store, mm per step."""
        arr = np.ctypeslib.as_array(lib.sq25_series_data(self._ptr), shape=self.shape)
        return _FieldArray(arr, self)  # the view keeps the store alive

    @property
    def times(self):
        """End time (UTC s) of every step."""
        t0 = lib.sq25_series_time(self._ptr, 0)
        return t0 + self.step_s * np.arange(self.shape[1], dtype=np.int64)

    @property
    def ids(self):
        return [lib.sq25_series_station_id(self._ptr, i).decode() for i in range(self.shape[0])]

    @property
    def lonlat(self):
        lon, lat = ctypes.c_double(), ctypes.c_double()
        out = np.empty((self.shape[0], 2))
        for i in range(self.shape[0]):
            lib.sq25_series_station_lonlat(self._ptr, i, ctypes.byref(lon), ctypes.byref(lat))
            out[i] = lon.value, lat.value
        return out

    @property
    def bad_rows(self):
        n = lib.sq25_series_bad_rows(self._ptr)
        msgs = []
        for i in range(min(n, 100)):
            m = lib.sq25_series_bad_row_message(self._ptr, i)
            if m:
                msgs.append(m.decode())
        return n, msgs

    def window(self, t_from, t_to):
        """The steps whose end time lies in [t_from, t_to] (UTC s), as a new Series."""
        out = ctypes.c_void_p()
        self._ctx.check(lib.sq25_series_window(self._ptr, int(t_from), int(t_to),
                                               ctypes.byref(out)))
        return Series(out.value, self._ctx)

    def qc(self, **params):
        """Run the PWS quality control; returns a QCResult (flags per station and step)."""
        return QCResult(self, params)


class QCResult:
    def __init__(self, series, params):
        ctx = series._ctx
        opt, res = ctypes.c_void_p(), ctypes.c_void_p()
        ctx.check(lib.sq25_qc_options_create(ctx._ptr, ctypes.byref(opt)))
        try:
            for k, v in params.items():
                ctx.check(lib.sq25_qc_options_set(opt, QC_KEYS[k], float(v)))
            ctx.check(lib.sq25_qc_run(series._ptr, opt, ctypes.byref(res)))
        finally:
            lib.sq25_qc_options_destroy(opt)
        self._ptr, self._series, self._ctx = res.value, series, ctx

    def __del__(self):
        ptr, self._ptr = getattr(self, "_ptr", None), None
        if ptr:
            lib.sq25_qc_result_destroy(ptr)

    @property
    def flags(self):
        """(stations, steps) uint8 flag bits (QC_* constants); a copy."""
        arr = np.ctypeslib.as_array(lib.sq25_qc_flags(self._ptr), shape=self._series.shape)
        return arr.copy()

    def bias_factors(self):
        return np.array([lib.sq25_qc_bias_factor(self._ptr, i)
                         for i in range(self._series.shape[0])])

    def apply(self, reject_mask=QC_REJECT):
        """A new Series with flagged values set to NaN."""
        out = ctypes.c_void_p()
        self._ctx.check(lib.sq25_qc_apply(self._series._ptr, self._ptr, int(reject_mask),
                                          ctypes.byref(out)))
        return Series(out.value, self._ctx)


def _interp_options(ctx, params):
    opt = ctypes.c_void_p()
    ctx.check(lib.sq25_interp_options_create(ctx._ptr, ctypes.byref(opt)))
    try:
        for k, v in params.items():
            ctx.check(lib.sq25_interp_options_set(opt, INTERP_KEYS[k], float(v)))
    except Exception:
        lib.sq25_interp_options_destroy(opt)
        raise
    return opt


def _points(lon, lat, value):
    arrs = [np.ascontiguousarray(a, dtype=np.float64).ravel() for a in (lon, lat, value)]
    if not (arrs[0].size == arrs[1].size == arrs[2].size):
        raise ValueError("lon, lat and value differ in length")
    return arrs


def interpolate(grid, lon, lat, value, method=KRIGING, radar=None, with_variance=False,
                **params):
    """Fill the street grid (a Field, changed in place) from sensor values at lon/lat.

    method: NEAREST, IDW, KRIGING or MERGE (MERGE needs radar, a Field). Returns grid, or
    (grid, variance Field) with with_variance."""
    ctx = grid._ctx
    lo, la, va = _points(lon, lat, value)
    dp = _lib.c_double_p
    variance = grid.copy() if with_variance else None
    opt = _interp_options(ctx, params)
    try:
        vptr = variance._ptr if variance is not None else None
        if method == MERGE:
            if radar is None:
                raise ValueError("MERGE needs a radar field")
            rc = lib.sq25_interp_merge(ctx._ptr, opt, radar._ptr, lo.size, lo.ctypes.data_as(dp),
                                       8, la.ctypes.data_as(dp), 8, va.ctypes.data_as(dp), 8,
                                       grid._ptr, vptr)
        else:
            rc = lib.sq25_interp_grid(ctx._ptr, opt, int(method), lo.size, lo.ctypes.data_as(dp),
                                      8, la.ctypes.data_as(dp), 8, va.ctypes.data_as(dp), 8,
                                      grid._ptr, vptr)
        ctx.check(rc)
    finally:
        lib.sq25_interp_options_destroy(opt)
    return (grid, variance) if with_variance else grid


def interpolate_points(lon, lat, value, target_lon, target_lat, method=KRIGING,
                       leave_one_out=False, ctx=None, **params):
    """Values (and kriging variances, NaN for other methods) at target points."""
    ctx = ctx or default_context()
    lo, la, va = _points(lon, lat, value)
    tlo = np.ascontiguousarray(target_lon, dtype=np.float64).ravel()
    tla = np.ascontiguousarray(target_lat, dtype=np.float64).ravel()
    out, var = np.empty(tlo.size), np.empty(tlo.size)
    dp = _lib.c_double_p
    opt = _interp_options(ctx, params)
    try:
        ctx.check(lib.sq25_interp_points(
            ctx._ptr, opt, int(method), lo.size, lo.ctypes.data_as(dp), 8,
            la.ctypes.data_as(dp), 8, va.ctypes.data_as(dp), 8, tlo.size,
            tlo.ctypes.data_as(dp), 8, tla.ctypes.data_as(dp), 8, int(bool(leave_one_out)),
            out.ctypes.data_as(dp), 8, var.ctypes.data_as(dp), 8))
    finally:
        lib.sq25_interp_options_destroy(opt)
    return out, var
