"""Warnings (exceedance probabilities per street cell and target), maps, and the pipeline."""
import ctypes

import numpy as np

from . import _lib
from ._lib import MergeInfo, lib
from .core import Field, _c_path, default_context
from .nowcast import _method_id


def _new_field(ctx, fn, *args):
    out = ctypes.c_void_p()
    ctx.check(fn(*args, ctypes.byref(out)))
    return Field(out.value, ctx)


class Targets:
    """Named points or lines (CSV id,lon,lat,name or GeoJSON) to warn."""

    def __init__(self, path, ctx=None):
        ctx = ctx or default_context()
        out = ctypes.c_void_p()
        ctx.check(lib.sq25_targets_read(ctx._ptr, _c_path(path), ctypes.byref(out)))
        self._ptr, self._ctx = out.value, ctx

    def __del__(self):
        ptr, self._ptr = getattr(self, "_ptr", None), None
        if ptr:
            lib.sq25_targets_destroy(ptr)

    def __len__(self):
        return lib.sq25_targets_count(self._ptr)

    @property
    def ids(self):
        return [lib.sq25_targets_id(self._ptr, i).decode() for i in range(len(self))]


class Warning:
    """The result of a warning computation (owned C sq25_warning)."""

    def __init__(self, ptr, ctx, targets=None):
        self._ptr, self._ctx, self._targets = ptr, ctx, targets

    @classmethod
    def compute(cls, forecasts, lead_step_s, issue_time, levels_mm=None, probability=None,
                radius_m=None, growth_m_per_min=None):
        """Warnings from forecast Fields at leads lead_step_s apart after issue_time."""
        ctx = forecasts[0]._ctx
        opt = ctypes.c_void_p()
        ctx.check(lib.sq25_warn_options_create(ctx._ptr, ctypes.byref(opt)))
        try:
            if levels_mm is not None:
                thr = (ctypes.c_double * len(levels_mm))(*levels_mm)
                ctx.check(lib.sq25_warn_options_set_levels(opt, len(levels_mm), thr, None))
            if probability is not None:
                ctx.check(lib.sq25_warn_options_set_probability_threshold(opt, probability))
            if radius_m is not None or growth_m_per_min is not None:
                ctx.check(lib.sq25_warn_options_set_radius(
                    opt, radius_m or 0.0, 100.0 if growth_m_per_min is None else growth_m_per_min))
            ptrs = (ctypes.c_void_p * len(forecasts))(*[f._ptr for f in forecasts])
            out = ctypes.c_void_p()
            ctx.check(lib.sq25_warn_compute(ctx._ptr, opt, ptrs, len(forecasts),
                                            int(lead_step_s), int(issue_time),
                                            ctypes.byref(out)))
        finally:
            lib.sq25_warn_options_destroy(opt)
        return cls(out.value, ctx)

    def __del__(self):
        ptr, self._ptr = getattr(self, "_ptr", None), None
        if ptr:
            lib.sq25_warning_destroy(ptr)

    @property
    def level_count(self):
        return lib.sq25_warning_level_count(self._ptr)

    def accumulation(self, minutes=60):
        """Forecast rain (mm) over the next 15, 30 or 60 minutes, per cell."""
        return _new_field(self._ctx, lib.sq25_warning_accumulation, self._ptr, int(minutes))

    def probability(self, level):
        return _new_field(self._ctx, lib.sq25_warning_probability, self._ptr, int(level))

    def onset(self, level):
        return _new_field(self._ctx, lib.sq25_warning_onset, self._ptr, int(level))

    def levels(self):
        return _new_field(self._ctx, lib.sq25_warning_levels, self._ptr)

    @property
    def state(self):
        """'ok', 'degraded', 'stale' or 'no_data' (docs/warnings.md, "States")."""
        return lib.sq25_state_name(lib.sq25_warning_state(self._ptr)).decode()

    @property
    def state_reason(self):
        return lib.sq25_warning_state_reason(self._ptr).decode()

    @property
    def data_time(self):
        """Valid time (UTC s) of the newest input data."""
        return lib.sq25_warning_data_time(self._ptr)

    def states(self):
        """Per-cell states as a field of 0 ok, 1 degraded, 2 stale, 3 no data."""
        return _new_field(self._ctx, lib.sq25_warning_states, self._ptr)

    def evaluate_targets(self, targets):
        self._ctx.check(lib.sq25_warning_evaluate_targets(self._ptr, targets._ptr))
        self._targets = targets

    def target_results(self):
        """One dict per target: level (-1 = no data), state, probability, amount_mm, peak_mmh,
        onset_min. Read the state before the level."""
        if self._targets is None:
            return []
        out = []
        lvl, st = ctypes.c_int(), ctypes.c_int()
        vals = [ctypes.c_double() for _ in range(4)]
        for i, tid in enumerate(self._targets.ids):
            self._ctx.check(lib.sq25_warning_target_result(self._ptr, i, ctypes.byref(lvl),
                                                           *[ctypes.byref(v) for v in vals]))
            self._ctx.check(lib.sq25_warning_target_state(self._ptr, i, ctypes.byref(st)))
            out.append({"id": tid, "level": lvl.value,
                        "state": lib.sq25_state_name(st.value).decode(),
                        "probability": vals[0].value,
                        "amount_mm": vals[1].value, "peak_mmh": vals[2].value,
                        "onset_min": vals[3].value})
        return out

    def write(self, kind, path):
        """kind: 'areas_geojson', 'targets_geojson', 'targets_csv' or 'summary_json'."""
        fn = getattr(lib, f"sq25_warning_write_{kind}")
        self._ctx.check(fn(self._ptr, _c_path(path)))

    def render(self, path, title=None):
        _render(self._ctx, lambda opt: lib.sq25_render_warning_png(self._ptr, opt, _c_path(path)),
                title)


def _render(ctx, draw, title):
    opt = ctypes.c_void_p()
    ctx.check(lib.sq25_render_options_create(ctx._ptr, ctypes.byref(opt)))
    try:
        if title:
            ctx.check(lib.sq25_render_options_set_title(opt, title.encode()))
        ctx.check(draw(opt))
    finally:
        lib.sq25_render_options_destroy(opt)


def render_field(field, path, title=None, targets=None):
    """Draw a rain-rate field as a PNG map (radar palette, legend, time stamp, targets)."""
    tptr = targets._ptr if targets is not None else None
    _render(field._ctx, lambda opt: lib.sq25_render_field_png(field._ptr, tptr, opt,
                                                              _c_path(path)), title)


class Pipeline:
    """The frame-by-frame chain of a warning service: push frames, run at each issue time."""

    def __init__(self, method="dense", frames=3, horizon_min=60, street_grid=None,
                 levels_mm=None, targets=None, max_gap=2, ctx=None):
        ctx = ctx or default_context()
        out = ctypes.c_void_p()
        ctx.check(lib.sq25_pipeline_create(ctx._ptr, ctypes.byref(out)))
        self._ptr, self._ctx, self._targets = out.value, ctx, targets
        ctx.check(lib.sq25_motion_options_set_method(lib.sq25_pipeline_motion_options(self._ptr),
                                                     _method_id(method)))
        ctx.check(lib.sq25_pipeline_set_input_frames(self._ptr, int(frames)))
        ctx.check(lib.sq25_pipeline_set_horizon(self._ptr, int(horizon_min * 60)))
        ctx.check(lib.sq25_pipeline_set_max_gap(self._ptr, int(max_gap)))
        if street_grid is not None:
            ctx.check(lib.sq25_pipeline_set_street_grid(self._ptr, street_grid._ptr))
        if levels_mm is not None:
            thr = (ctypes.c_double * len(levels_mm))(*levels_mm)
            ctx.check(lib.sq25_warn_options_set_levels(
                lib.sq25_pipeline_warn_options(self._ptr), len(levels_mm), thr, None))
        if targets is not None:
            lib.sq25_pipeline_set_targets(self._ptr, targets._ptr)

    def __del__(self):
        ptr, self._ptr = getattr(self, "_ptr", None), None
        if ptr:
            lib.sq25_pipeline_destroy(ptr)

    def push(self, frame):
        self._ctx.check(lib.sq25_pipeline_push_frame(self._ptr, frame._ptr))

    def reset(self):
        lib.sq25_pipeline_reset(self._ptr)

    def run(self):
        """Motion, extrapolation, warnings at the newest frame: a Warning."""
        out = ctypes.c_void_p()
        self._ctx.check(lib.sq25_pipeline_run(self._ptr, ctypes.byref(out)))
        return Warning(out.value, self._ctx, self._targets)

    def forecasts(self):
        """Copies of the last run's forecast Fields (radar grid), lead order."""
        n = lib.sq25_pipeline_forecast_count(self._ptr)
        out = []
        for i in range(n):  # the pipeline's fields are borrowed: clone them
            copy = ctypes.c_void_p()
            self._ctx.check(lib.sq25_field_clone(lib.sq25_pipeline_forecast(self._ptr, i),
                                                 ctypes.byref(copy)))
            out.append(Field(copy.value, self._ctx))
        return out

    def push_sensors(self, series, qc=1, merge="additive", stamp="end", lag_s=0):
        """Give the pipeline the sensors' recent series (a Series, copied). qc: 0 off, 1 reject
        flagged values, 2 also bias-correct. merge: additive, ked, multiplicative or mfb. The
        next runs merge the sensors with the radar and advect the merged analysis."""
        lib.sq25_pipeline_set_sensor_qc(self._ptr, int(qc))
        m = ctypes.c_int()
        if lib.sq25_merge_method_from_name(merge.encode(), ctypes.byref(m)) != 0:
            raise ValueError("unknown merge method %r" % merge)
        self._ctx.check(lib.sq25_merge_options_set_method(
            lib.sq25_pipeline_merge_options(self._ptr), m.value))
        self._ctx.check(lib.sq25_pipeline_set_sensor_alignment(
            self._ptr, 1 if stamp == "start" else 0, int(lag_s)))
        self._ctx.check(lib.sq25_pipeline_push_sensors(self._ptr, series._ptr))

    def push_links(self, rain, lonlat, merge=None):
        """Give the pipeline microwave links as line sensors: rain, their processed path rain
        (a Series, one station per link, mm per step, e.g. Links.process), and lonlat, the
        end points (n x 4: lon0, lat0, lon1, lat1); both copied. rain None clears. merge
        (optional): additive, ked, multiplicative or mfb. The next runs merge the links with
        the pushed sensors and the radar with line (block) support."""
        if merge is not None:
            m = ctypes.c_int()
            if lib.sq25_merge_method_from_name(merge.encode(), ctypes.byref(m)) != 0:
                raise ValueError("unknown merge method %r" % merge)
            self._ctx.check(lib.sq25_merge_options_set_method(
                lib.sq25_pipeline_merge_options(self._ptr), m.value))
        if rain is None:
            self._ctx.check(lib.sq25_pipeline_push_links(self._ptr, None, None))
            return
        ll = np.ascontiguousarray(lonlat, dtype=np.float64).reshape(-1, 4)
        if ll.shape[0] != len(rain.ids):
            raise ValueError("lonlat has %d links, rain %d" % (ll.shape[0], len(rain.ids)))
        self._ctx.check(lib.sq25_pipeline_push_links(
            self._ptr, rain._ptr, ll.ctypes.data_as(ctypes.POINTER(ctypes.c_double))))

    def analysis(self):
        """A copy of the last run's merged analysis (Field), or None when nothing was merged."""
        ptr = lib.sq25_pipeline_analysis(self._ptr)
        if not ptr:
            return None
        copy = ctypes.c_void_p()
        self._ctx.check(lib.sq25_field_clone(ptr, ctypes.byref(copy)))
        return Field(copy.value, self._ctx)

    def merge_info(self):
        """The last run's merge as a dict (method, sensors_used, radar_only, variogram, factor)."""
        import json
        info = MergeInfo()
        lib.sq25_pipeline_merge_info(self._ptr, ctypes.byref(info))
        buf = ctypes.create_string_buffer(1024)
        lib.sq25_merge_info_json(ctypes.byref(info), buf, len(buf))
        return json.loads(buf.value.decode())

    def warn_forecasts(self):
        """Copies of the leads the warnings used (street grid; merged when sensors merged)."""
        out = []
        for i in range(lib.sq25_pipeline_warn_forecast_count(self._ptr)):
            copy = ctypes.c_void_p()
            self._ctx.check(lib.sq25_field_clone(lib.sq25_pipeline_warn_forecast(self._ptr, i),
                                                 ctypes.byref(copy)))
            out.append(Field(copy.value, self._ctx))
        return out

    def motion(self):
        """Copies of the last run's motion (u, v), pixels per step."""
        n = lib.sq25_pipeline_forecast_count(self._ptr)
        if n == 0:
            return None
        first = lib.sq25_pipeline_forecast(self._ptr, 0)  # borrowed
        rows, cols = lib.sq25_field_height(first), lib.sq25_field_width(first)
        u = np.ctypeslib.as_array(lib.sq25_pipeline_motion_u(self._ptr), shape=(rows, cols))
        v = np.ctypeslib.as_array(lib.sq25_pipeline_motion_v(self._ptr), shape=(rows, cols))
        return u.copy(), v.copy()
