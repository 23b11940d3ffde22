"""The STEPS-class ensemble (docs/ensemble.md) and its probabilistic scores, as NumPy arrays.

    ens = sq25.ensemble.run(frames, u, v, n_leads=12, members=20, seed=24)
    ens.probability            # (leads, thresholds, rows, cols) float32, P(rate > threshold)
    ens.mean, ens.quantiles    # (leads, rows, cols), (leads, quantiles, rows, cols) mm/h
    ens.members                # (members, leads, rows, cols) when keep_members=True
    ens.write_netcdf("ens.nc")
    sq25.ensemble.brier(p, obs, 1.0), roc_area(p, obs, 1.0), crps(members, obs) ...
"""
import ctypes

import numpy as np

from . import _lib
from ._lib import lib, proto
from .core import default_context

_c = ctypes
NOISE = {"nonparametric": 1, "powerlaw": 2}

proto("sq25_ensemble_options_create", _c.c_int, _c.c_void_p, _lib.c_void_pp)
proto("sq25_ensemble_options_destroy", None, _c.c_void_p)
for _n in ("members", "cascade_levels", "threads", "noise", "motion_perturbation", "mask",
           "probability_matching", "substeps", "keep_members"):
    proto(f"sq25_ensemble_options_set_{_n}", _c.c_int, _c.c_void_p, _c.c_int)
proto("sq25_ensemble_options_set_seed", _c.c_int, _c.c_void_p, _c.c_uint64)
proto("sq25_ensemble_options_set_rain_threshold", _c.c_int, _c.c_void_p, _c.c_double)
proto("sq25_ensemble_options_set_noise_gain", _c.c_int, _c.c_void_p, _c.c_double)
proto("sq25_ensemble_options_set_neighbourhood", _c.c_int, _c.c_void_p, _c.c_double)
proto("sq25_ensemble_options_set_control_weight", _c.c_int, _c.c_void_p, _c.c_double)
proto("sq25_ensemble_options_set_probability_shrink", _c.c_int, _c.c_void_p, _c.c_double,
      _c.c_double)
for _n in ("thresholds", "quantiles", "accumulation_thresholds"):
    proto(f"sq25_ensemble_options_set_{_n}", _c.c_int, _c.c_void_p, _c.c_int, _lib.c_double_p)
proto("sq25_ensemble_options_set_accumulations", _c.c_int, _c.c_void_p, _c.c_int,
      _c.POINTER(_c.c_int))
proto("sq25_ensemble_run", _c.c_int, _c.c_void_p, _c.c_void_p, _lib.c_void_pp, _c.c_int,
      _lib.c_float_p, _lib.c_float_p, _c.c_int, _lib.c_void_pp)
proto("sq25_ensemble_read_netcdf", _c.c_int, _c.c_void_p, _c.c_char_p, _lib.c_void_pp)
proto("sq25_ensemble_write_netcdf", _c.c_int, _c.c_void_p, _c.c_char_p)
proto("sq25_ensemble_destroy", None, _c.c_void_p)
for _n in ("member_count", "lead_count", "step_s", "threshold_count", "quantile_count",
           "accumulation_count", "accumulation_threshold_count", "has_members",
           "cascade_levels"):
    proto(f"sq25_ensemble_{_n}", _c.c_int, _c.c_void_p)
proto("sq25_ensemble_issue_time", _c.c_int64, _c.c_void_p)
for _n in ("threshold", "quantile", "accumulation_threshold"):
    proto(f"sq25_ensemble_{_n}", _c.c_double, _c.c_void_p, _c.c_int)
proto("sq25_ensemble_accumulation_minutes", _c.c_int, _c.c_void_p, _c.c_int)
for _n in ("probability", "quantile_field", "member", "accumulation_probability",
           "accumulation_quantile", "accumulation_member"):
    proto(f"sq25_ensemble_{_n}", _c.c_void_p, _c.c_void_p, _c.c_int, _c.c_int)
for _n in ("mean", "accumulation_mean"):
    proto(f"sq25_ensemble_{_n}", _c.c_void_p, _c.c_void_p, _c.c_int)
proto("sq25_ensemble_control_member", _c.c_void_p, _c.c_void_p, _c.c_int)
for _n in ("neighbourhood", "control_weight", "probability_shrink_rate"):
    proto(f"sq25_ensemble_{_n}", _c.c_double, _c.c_void_p)
proto("sq25_ensemble_level_parameters", _c.c_int, _c.c_void_p, _c.c_int, _lib.c_double_p,
      _lib.c_double_p, _lib.c_double_p, _lib.c_double_p, _lib.c_double_p)
proto("sq25_verify_crps", _c.c_int, _lib.c_void_pp, _c.c_int, _lib.c_float_p, _c.c_size_t,
      _lib.c_double_p)
proto("sq25_verify_brier", _c.c_int, _lib.c_float_p, _lib.c_float_p, _c.c_size_t, _c.c_double,
      _lib.c_double_p)
proto("sq25_verify_reliability", _c.c_int, _lib.c_float_p, _lib.c_float_p, _c.c_size_t,
      _c.c_double, _c.c_int, _lib.c_int64_p, _lib.c_int64_p, _lib.c_double_p)
proto("sq25_verify_roc_counts", _c.c_int, _lib.c_float_p, _lib.c_float_p, _c.c_size_t,
      _c.c_double, _c.c_int, _lib.c_int64_p, _lib.c_int64_p, _lib.c_int64_p, _lib.c_int64_p)
proto("sq25_verify_roc_area", _c.c_double, _c.c_int, _lib.c_int64_p, _lib.c_int64_p,
      _lib.c_int64_p, _lib.c_int64_p)
proto("sq25_verify_rank_histogram", _c.c_int, _lib.c_void_pp, _c.c_int, _lib.c_float_p,
      _c.c_size_t, _lib.c_int64_p)
proto("sq25_verify_crps_neighbourhood", _c.c_int, _c.c_void_p, _lib.c_void_pp, _c.c_int,
      _lib.c_float_p, _c.c_double, _c.c_int, _c.c_int, _c.c_int, _lib.c_float_p, _lib.c_double_p,
      _lib.c_double_p)


def _grid(ptr, shape):
    """A copy of a borrowed C field's data as a (rows, cols) float32 array."""
    buf = lib.sq25_field_data(ptr)
    return np.ctypeslib.as_array(buf, shape=shape).copy()


def _doubles(values):
    values = [float(v) for v in values]
    return len(values), (_c.c_double * max(1, len(values)))(*values)


class Ensemble:
    """An ensemble result (from run() or read_netcdf()); arrays are copies, the C result is
    released with the object."""

    def __init__(self, ptr, ctx, shape):
        self._ptr, self._ctx, self.shape = ptr, ctx, shape

    def __del__(self):
        ptr, self._ptr = getattr(self, "_ptr", None), None
        if ptr:
            lib.sq25_ensemble_destroy(ptr)

    def _count(self, name):
        return getattr(lib, f"sq25_ensemble_{name}")(self._ptr)

    @property
    def n_members(self):
        return self._count("member_count")

    @property
    def n_leads(self):
        return self._count("lead_count")

    @property
    def step_s(self):
        return self._count("step_s")

    @property
    def issue_time(self):
        return lib.sq25_ensemble_issue_time(self._ptr)

    @property
    def thresholds(self):
        return np.array([lib.sq25_ensemble_threshold(self._ptr, i)
                         for i in range(self._count("threshold_count"))])

    @property
    def quantile_levels(self):
        return np.array([lib.sq25_ensemble_quantile(self._ptr, i)
                         for i in range(self._count("quantile_count"))])

    @property
    def accumulation_minutes(self):
        return [lib.sq25_ensemble_accumulation_minutes(self._ptr, i)
                for i in range(self._count("accumulation_count"))]

    @property
    def accumulation_thresholds(self):
        return np.array([lib.sq25_ensemble_accumulation_threshold(self._ptr, i)
                         for i in range(self._count("accumulation_threshold_count"))])

    def _stack(self, fn, outer, inner):
        out = np.empty((outer, inner) + self.shape, dtype=np.float32)
        for i in range(outer):
            for j in range(inner):
                out[i, j] = _grid(fn(self._ptr, i, j), self.shape)
        return out

    @property
    def probability(self):
        """(leads, thresholds, rows, cols): probability that the rate exceeds each threshold."""
        return self._stack(lib.sq25_ensemble_probability, self.n_leads, len(self.thresholds))

    @property
    def mean(self):
        return np.stack([_grid(lib.sq25_ensemble_mean(self._ptr, k), self.shape)
                         for k in range(self.n_leads)])

    @property
    def quantiles(self):
        return self._stack(lib.sq25_ensemble_quantile_field, self.n_leads,
                           len(self.quantile_levels))

    @property
    def members(self):
        """(members, leads, rows, cols) in mm/h, or None when members were not kept."""
        if not self._count("has_members"):
            return None
        return self._stack(lib.sq25_ensemble_member, self.n_members, self.n_leads)

    @property
    def control(self):
        """(leads, rows, cols) in mm/h: the control member the probabilities mix in (kept with
        the members when the control weight is > 0), or None."""
        if not lib.sq25_ensemble_control_member(self._ptr, 0):
            return None
        return np.stack([_grid(lib.sq25_ensemble_control_member(self._ptr, k), self.shape)
                         for k in range(self.n_leads)])

    @property
    def neighbourhood(self):
        """Window growth of the probabilities, cells per lead step (NaN: not stated)."""
        return lib.sq25_ensemble_neighbourhood(self._ptr)

    @property
    def control_weight(self):
        """Weight of the control member in the probabilities (NaN: not stated)."""
        return lib.sq25_ensemble_control_weight(self._ptr)

    @property
    def probability_shrink_rate(self):
        """Rate per hour of the shrink of the high probabilities (0: none; NaN: no result)."""
        return lib.sq25_ensemble_probability_shrink_rate(self._ptr)

    @property
    def accumulation_probability(self):
        """(windows, accumulation thresholds, rows, cols): P(amount since issue >= threshold)."""
        return self._stack(lib.sq25_ensemble_accumulation_probability,
                           len(self.accumulation_minutes), len(self.accumulation_thresholds))

    @property
    def accumulation_mean(self):
        return np.stack([_grid(lib.sq25_ensemble_accumulation_mean(self._ptr, k), self.shape)
                         for k in range(len(self.accumulation_minutes))])

    def cascade(self):
        """Per cascade level: dict of wavenumber, gamma1, gamma2, phi1, phi2."""
        out = []
        for k in range(self._count("cascade_levels")):
            vals = [_c.c_double() for _ in range(5)]
            self._ctx.check(lib.sq25_ensemble_level_parameters(self._ptr, k,
                                                               *[_c.byref(x) for x in vals]))
            out.append(dict(zip(("wavenumber", "gamma1", "gamma2", "phi1", "phi2"),
                                [x.value for x in vals])))
        return out

    def write_netcdf(self, path):
        """CF-1.8 netCDF-4 file (docs/ensemble.md)."""
        self._ctx.check(lib.sq25_ensemble_write_netcdf(self._ptr, str(path).encode()))


def run(frames, u, v, n_leads=12, members=20, seed=24, cascade_levels=6, threads=0,
        noise="nonparametric", motion_perturbation=True, mask=True, probability_matching=True,
        thresholds=(1, 5, 10, 20), quantiles=(), accumulations=(15, 30, 60),
        accumulation_thresholds=(1, 5, 10, 20), substeps=2, keep_members=False, noise_gain=None,
        neighbourhood=None, control_weight=None, probability_shrink=None):
    """Run the ensemble from 3+ Fields (oldest first) and the motion u, v (pixels per step).
    noise_gain, neighbourhood, control_weight: None keeps the library's defaults
    (docs/ensemble.md). probability_shrink: None (off) or (knee, rate per hour), as
    sq25_ensemble_options_set_probability_shrink."""
    ctx = frames[-1]._ctx
    opt = _c.c_void_p()
    ctx.check(lib.sq25_ensemble_options_create(ctx._ptr, _c.byref(opt)))
    try:
        for name, value in (("members", members), ("cascade_levels", cascade_levels),
                            ("threads", threads), ("noise", NOISE[noise]),
                            ("motion_perturbation", int(motion_perturbation)),
                            ("mask", int(mask)),
                            ("probability_matching", int(probability_matching)),
                            ("substeps", substeps), ("keep_members", int(keep_members))):
            ctx.check(getattr(lib, f"sq25_ensemble_options_set_{name}")(opt, int(value)))
        ctx.check(lib.sq25_ensemble_options_set_seed(opt, int(seed)))
        for name, value in (("noise_gain", noise_gain), ("neighbourhood", neighbourhood),
                            ("control_weight", control_weight)):
            if value is not None:
                ctx.check(getattr(lib, f"sq25_ensemble_options_set_{name}")(opt, float(value)))
        if probability_shrink is not None:
            knee, rate = probability_shrink
            ctx.check(lib.sq25_ensemble_options_set_probability_shrink(opt, float(knee),
                                                                       float(rate)))
        ctx.check(lib.sq25_ensemble_options_set_thresholds(opt, *_doubles(thresholds)))
        ctx.check(lib.sq25_ensemble_options_set_quantiles(opt, *_doubles(quantiles)))
        mins = [int(m) for m in accumulations]
        ctx.check(lib.sq25_ensemble_options_set_accumulations(
            opt, len(mins), (_c.c_int * max(1, len(mins)))(*mins)))
        ctx.check(lib.sq25_ensemble_options_set_accumulation_thresholds(
            opt, *_doubles(accumulation_thresholds)))
        shape = frames[-1].shape
        ua = np.ascontiguousarray(u, dtype=np.float32)
        va = np.ascontiguousarray(v, dtype=np.float32)
        if ua.shape != shape or va.shape != shape:
            raise ValueError("u and v must have the frames' shape")
        ptrs = (_c.c_void_p * len(frames))(*[f._ptr for f in frames])
        out = _c.c_void_p()
        ctx.check(lib.sq25_ensemble_run(ctx._ptr, opt, ptrs, len(frames),
                                        ua.ctypes.data_as(_lib.c_float_p),
                                        va.ctypes.data_as(_lib.c_float_p), int(n_leads),
                                        _c.byref(out)))
    finally:
        lib.sq25_ensemble_options_destroy(opt)
    return Ensemble(out.value, ctx, shape)


def read_netcdf(path, ctx=None):
    """An Ensemble read back from a file written by write_netcdf or sq25 nowcast --members."""
    ctx = ctx or default_context()
    out = _c.c_void_p()
    ctx.check(lib.sq25_ensemble_read_netcdf(ctx._ptr, str(path).encode(), _c.byref(out)))
    mean0 = lib.sq25_ensemble_mean(out.value, 0)
    shape = (lib.sq25_field_height(mean0), lib.sq25_field_width(mean0))
    return Ensemble(out.value, ctx, shape)


def _flat(a):
    arr = np.ascontiguousarray(a, dtype=np.float32).ravel()
    return arr, arr.ctypes.data_as(_lib.c_float_p)


def _check(rc):
    if rc != 0:
        raise ValueError(f"sq25: {lib.sq25_strerror(rc).decode()}")


def brier(probability, observed, threshold_mmh):
    """Brier score for the event observed > threshold, on cells valid in both."""
    p, pp = _flat(probability)
    o, op = _flat(observed)
    out = _c.c_double()
    _check(lib.sq25_verify_brier(pp, op, p.size, float(threshold_mmh), _c.byref(out)))
    return out.value


def reliability(probability, observed, threshold_mmh, bins=10):
    """(count, observed frequency, mean probability) per equal probability bin."""
    p, pp = _flat(probability)
    o, op = _flat(observed)
    count = np.zeros(bins, dtype=np.int64)
    events = np.zeros(bins, dtype=np.int64)
    psum = np.zeros(bins, dtype=np.float64)
    _check(lib.sq25_verify_reliability(pp, op, p.size, float(threshold_mmh), int(bins),
                                       count.ctypes.data_as(_lib.c_int64_p),
                                       events.ctypes.data_as(_lib.c_int64_p),
                                       psum.ctypes.data_as(_lib.c_double_p)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return count, events / count, psum / count


def roc_area(probability, observed, threshold_mmh, n_thresholds=10):
    """ROC area (trapezoid over n probability thresholds j/(n-1))."""
    p, pp = _flat(probability)
    o, op = _flat(observed)
    arrs = [np.zeros(n_thresholds, dtype=np.int64) for _ in range(4)]
    ptrs = [a.ctypes.data_as(_lib.c_int64_p) for a in arrs]
    _check(lib.sq25_verify_roc_counts(pp, op, p.size, float(threshold_mmh), int(n_thresholds),
                                      *ptrs))
    return lib.sq25_verify_roc_area(int(n_thresholds), *ptrs)


def _members(members, observed):
    m = [np.ascontiguousarray(x, dtype=np.float32).ravel() for x in members]
    o, op = _flat(observed)
    ptrs = (_c.c_void_p * len(m))(*[x.ctypes.data for x in m])
    return m, ptrs, o, op


def crps(members, observed):
    """CRPS in mm/h of the members (sequence of grids) on cells valid everywhere."""
    m, ptrs, o, op = _members(members, observed)
    out = _c.c_double()
    _check(lib.sq25_verify_crps(ptrs, len(m), op, o.size, _c.byref(out)))
    return out.value


def crps_neighbourhood(members, observed, control=None, control_weight=0.0, half_side=0,
                       ctx=None):
    """CRPS in mm/h of the blended ensemble distribution (the members' values pooled over a
    square window of half side half_side cells, plus the control's at control_weight: what the
    post-processed probabilities describe), on the cells where the observation and every
    member are valid; returns (crps, error_bound). Grids of one shape (rows, cols)."""
    ctx = ctx or default_context()
    shape = np.shape(observed)
    m, ptrs, o, op = _members(members, observed)
    c = None if control is None else np.ascontiguousarray(control, dtype=np.float32).ravel()
    cp = None if c is None else c.ctypes.data_as(_lib.c_float_p)
    out, bound = _c.c_double(), _c.c_double()
    ctx.check(lib.sq25_verify_crps_neighbourhood(ctx._ptr, ptrs, len(m), cp, float(control_weight),
                                                 shape[1], shape[0], int(half_side), op,
                                                 _c.byref(out), _c.byref(bound)))
    return out.value, bound.value


def rank_histogram(members, observed):
    """Counts of the observation's rank among the members (members + 1 bins)."""
    m, ptrs, o, op = _members(members, observed)
    counts = np.zeros(len(m) + 1, dtype=np.int64)
    _check(lib.sq25_verify_rank_histogram(ptrs, len(m), op, o.size,
                                          counts.ctypes.data_as(_lib.c_int64_p)))
    return counts
