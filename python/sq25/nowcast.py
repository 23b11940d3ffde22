"""Motion (optical flow), extrapolation and verification scores."""
import ctypes

import numpy as np

from . import _lib
from ._lib import lib
from .core import Field, default_context

MOTION_LK, MOTION_DENSE = 1, 2


def _f32(a):
    """A C-contiguous float32 view of a (no copy when it already is one) and its pointer."""
    arr = np.ascontiguousarray(a, dtype=np.float32)
    return arr, arr.ctypes.data_as(_lib.c_float_p)


def _method_id(method):
    if isinstance(method, int):
        return method
    m = ctypes.c_int()
    if lib.sq25_motion_method_from_name(method.encode(), ctypes.byref(m)) != 0:
        raise ValueError(f"unknown motion method {method!r} (lk or dense)")
    return m.value


def motion(frames, method="dense"):
    """Motion (u, v) in pixels per time step from 2+ fields in time order (oldest first).

    u is towards increasing columns (east), v towards increasing rows (south)."""
    ctx = frames[-1]._ctx
    opt = ctypes.c_void_p()
    ctx.check(lib.sq25_motion_options_create(ctx._ptr, ctypes.byref(opt)))
    try:
        ctx.check(lib.sq25_motion_options_set_method(opt, _method_id(method)))
        rows, cols = frames[-1].shape
        u = np.empty((rows, cols), dtype=np.float32)
        v = np.empty((rows, cols), dtype=np.float32)
        ptrs = (ctypes.c_void_p * len(frames))(*[f._ptr for f in frames])
        ctx.check(lib.sq25_motion_estimate(ctx._ptr, ptrs, len(frames), opt,
                                           u.ctypes.data_as(_lib.c_float_p),
                                           v.ctypes.data_as(_lib.c_float_p)))
    finally:
        lib.sq25_motion_options_destroy(opt)
    return u, v


def extrapolate(latest, u, v, step_s, n_leads, substeps=2):
    """Backward semi-Lagrangian forecast: a list of n_leads Fields, step_s seconds apart."""
    ctx = latest._ctx
    ua, up = _f32(u)
    va, vp = _f32(v)
    if ua.shape != latest.shape or va.shape != latest.shape:
        raise ValueError("u and v must have the field's shape")
    outs = (ctypes.c_void_p * n_leads)()
    ctx.check(lib.sq25_extrapolate(ctx._ptr, latest._ptr, up, vp, int(step_s), int(n_leads),
                                   int(substeps), outs))
    return [Field(p, ctx) for p in outs]


def accumulation(latest, u, v, step_s, n_steps, substeps=5):
    """Rain (mm) over the next n_steps steps, integrated with substeps per step."""
    ua, up = _f32(u)
    va, vp = _f32(v)
    out = np.empty(latest.shape, dtype=np.float32)
    latest._ctx.check(lib.sq25_extrapolate_accumulation(
        latest._ctx._ptr, latest._ptr, up, vp, int(step_s), int(n_steps), int(substeps),
        out.ctypes.data_as(_lib.c_float_p)))
    return out


def nowcast(frames, leads_min=60, method="dense", substeps=2):
    """Motion from the frames (oldest first) and the forecast of the last one: (forecasts, u, v)."""
    step_s = frames[-1].valid_time - frames[-2].valid_time
    u, v = motion(frames, method)
    n = int(leads_min * 60 // step_s)
    return extrapolate(frames[-1], u, v, step_s, n, substeps), u, v


def _pair(forecast, observed):
    fa, fp = _f32(forecast.data if isinstance(forecast, Field) else forecast)
    oa, op = _f32(observed.data if isinstance(observed, Field) else observed)
    if fa.shape != oa.shape:
        raise ValueError("forecast and observation differ in shape")
    return fa, fp, oa, op


def categorical(forecast, observed, threshold_mmh):
    """POD, FAR, CSI for event = rate > threshold on cells valid in both."""
    fa, fp, oa, op = _pair(forecast, observed)
    counts = (ctypes.c_int64 * 4)()
    if lib.sq25_verify_contingency(fp, op, fa.size, float(threshold_mmh), counts) != 0:
        raise ValueError("contingency failed")
    pod, far, csi = ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
    lib.sq25_verify_categorical_scores(counts, ctypes.byref(pod), ctypes.byref(far),
                                       ctypes.byref(csi))
    return pod.value, far.value, csi.value


def mae(forecast, observed):
    fa, fp, oa, op = _pair(forecast, observed)
    out = ctypes.c_double()
    lib.sq25_verify_mae(fp, op, fa.size, ctypes.byref(out))
    return out.value


def fss(forecast, observed, threshold_mmh=5.0, window_px=15):
    """Fractions skill score (Roberts and Lean 2008), zero-padded square window."""
    fa, fp, oa, op = _pair(forecast, observed)
    ctx = default_context()
    out = ctypes.c_double()
    ctx.check(lib.sq25_verify_fss(ctx._ptr, fp, op, fa.shape[1], fa.shape[0],
                                  float(threshold_mmh), int(window_px), ctypes.byref(out)))
    return out.value


def scores(forecast, observed, thresholds=(1, 5, 10, 20), fss_threshold=5.0,
           fss_windows=(5, 15)):
    """The scores of 'sq25 verify' for one lead, as a dict."""
    out = {"mae": mae(forecast, observed)}
    for t in thresholds:
        pod, far, csi = categorical(forecast, observed, t)
        out[f"pod_{t:g}"], out[f"far_{t:g}"], out[f"csi_{t:g}"] = pod, far, csi
    for w in fss_windows:
        out[f"fss_{fss_threshold:g}_{w}"] = fss(forecast, observed, fss_threshold, w)
    return out
