"""Loading of libsq25 and the ctypes prototypes of the C API (include/sq25.h)."""
import ctypes
import ctypes.util
import os

_c = ctypes


def _find_library():
    """Path of libsq25: $SQ25_LIB, the repository's build/ folder, then the system."""
    env = os.environ.get("SQ25_LIB")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    for rel in ("../../build/libsq25.so", "../../build/libsq25.so.1"):
        cand = os.path.normpath(os.path.join(here, rel))
        if os.path.exists(cand):
            return cand
    found = ctypes.util.find_library("sq25")
    if found:
        return found
    raise OSError("libsq25 not found: build it with 'make' or set SQ25_LIB to its path")


lib = _c.CDLL(_find_library())

c_double_p = _c.POINTER(_c.c_double)
c_float_p = _c.POINTER(_c.c_float)
c_int64_p = _c.POINTER(_c.c_int64)
c_void_pp = _c.POINTER(_c.c_void_p)


def proto(name, restype, *argtypes):
    """Declare a C function's signature; returns None if the library lacks it (older build)."""
    fn = getattr(lib, name, None)
    if fn is None:
        return None
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


# core
proto("sq25_version", _c.c_int)
proto("sq25_version_string", _c.c_char_p)
proto("sq25_strerror", _c.c_char_p, _c.c_int)
proto("sq25_errname", _c.c_char_p, _c.c_int)
proto("sq25_ctx_create", _c.c_void_p)
proto("sq25_ctx_destroy", None, _c.c_void_p)
proto("sq25_errcode", _c.c_int, _c.c_void_p)
proto("sq25_errmsg", _c.c_char_p, _c.c_void_p)
proto("sq25_free", None, _c.c_void_p, _c.c_void_p)
proto("sq25_ctx_set_threads", _c.c_int, _c.c_void_p, _c.c_int)
proto("sq25_ctx_threads", _c.c_int, _c.c_void_p)
proto("sq25_time_parse", _c.c_int, _c.c_char_p, c_int64_p)
proto("sq25_time_format", _c.c_int, _c.c_int64, _c.c_char_p, _c.c_size_t)
# fields
proto("sq25_field_create", _c.c_int, _c.c_void_p, _c.c_int, _c.c_int, _c.c_char_p,
      c_double_p, _c.c_int64, c_void_pp)
proto("sq25_field_clone", _c.c_int, _c.c_void_p, c_void_pp)
proto("sq25_field_destroy", None, _c.c_void_p)
proto("sq25_field_width", _c.c_int, _c.c_void_p)
proto("sq25_field_height", _c.c_int, _c.c_void_p)
proto("sq25_field_data", c_float_p, _c.c_void_p)
proto("sq25_field_projdef", _c.c_char_p, _c.c_void_p)
proto("sq25_field_geotransform", None, _c.c_void_p, c_double_p)
proto("sq25_field_valid_time", _c.c_int64, _c.c_void_p)
proto("sq25_field_set_valid_time", None, _c.c_void_p, _c.c_int64)
proto("sq25_field_accumulation_s", _c.c_int, _c.c_void_p)
proto("sq25_field_set_accumulation_s", None, _c.c_void_p, _c.c_int)
proto("sq25_field_meta", _c.c_char_p, _c.c_void_p, _c.c_int)
proto("sq25_field_set_meta", _c.c_int, _c.c_void_p, _c.c_int, _c.c_char_p)
proto("sq25_field_stats", None, _c.c_void_p, _c.c_double, c_double_p, c_double_p, c_double_p,
      c_double_p)
for _name in ("sq25_field_lonlat_to_pixel", "sq25_field_pixel_to_lonlat"):
    proto(_name, _c.c_int, _c.c_void_p, _c.c_size_t, c_double_p, _c.c_size_t, c_double_p,
          _c.c_size_t, c_double_p, _c.c_size_t, c_double_p, _c.c_size_t)
proto("sq25_field_corners_lonlat", _c.c_int, _c.c_void_p, c_double_p)
# io
proto("sq25_file_detect", _c.c_int, _c.c_void_p, _c.c_char_p, _c.POINTER(_c.c_int))
proto("sq25_file_frame_count", _c.c_int, _c.c_void_p, _c.c_char_p, _c.POINTER(_c.c_int))
proto("sq25_read_field_frame", _c.c_int, _c.c_void_p, _c.c_char_p, _c.c_int, c_void_pp)
proto("sq25_read_field", _c.c_int, _c.c_void_p, _c.c_char_p, c_void_pp)
proto("sq25_ctx_set_zr", _c.c_int, _c.c_void_p, _c.c_double, _c.c_double)
proto("sq25_ctx_get_zr", None, _c.c_void_p, c_double_p, c_double_p)
proto("sq25_ctx_set_rain_ceiling", _c.c_int, _c.c_void_p, _c.c_double, _c.c_int)
proto("sq25_ctx_set_assumed_time", None, _c.c_void_p, _c.c_int, _c.c_int64)
proto("sq25_write_odim", _c.c_int, _c.c_void_p, _c.c_char_p, _c.c_void_p)
# grid
proto("sq25_grid_create", _c.c_int, _c.c_void_p, _c.c_char_p, _c.c_double, _c.c_double,
      _c.c_double, _c.c_double, _c.c_double, _c.c_int64, c_void_pp)
proto("sq25_grid_create_lonlat", _c.c_int, _c.c_void_p, _c.c_char_p, _c.c_double, _c.c_double,
      _c.c_double, _c.c_double, _c.c_double, _c.c_int64, c_void_pp)
proto("sq25_grid_parse", _c.c_int, _c.c_void_p, _c.c_char_p, _c.c_int64, c_void_pp)
proto("sq25_resample", _c.c_int, _c.c_void_p, _c.c_void_p, _c.c_int)
# sensors and qc
proto("sq25_series_read_netcdf", _c.c_int, _c.c_void_p, _c.c_char_p, c_void_pp)
proto("sq25_series_read_csv", _c.c_int, _c.c_void_p, _c.c_char_p, _c.c_int, c_void_pp)
proto("sq25_series_destroy", None, _c.c_void_p)
proto("sq25_series_bad_rows", _c.c_int64, _c.c_void_p)
proto("sq25_series_bad_row_message", _c.c_char_p, _c.c_void_p, _c.c_int)
proto("sq25_series_station_count", _c.c_int, _c.c_void_p)
proto("sq25_series_step_count", _c.c_int64, _c.c_void_p)
proto("sq25_series_step_s", _c.c_int, _c.c_void_p)
proto("sq25_series_time", _c.c_int64, _c.c_void_p, _c.c_int64)
proto("sq25_series_step_at", _c.c_int64, _c.c_void_p, _c.c_int64)
proto("sq25_series_station_id", _c.c_char_p, _c.c_void_p, _c.c_int)
proto("sq25_series_station_lonlat", None, _c.c_void_p, _c.c_int, c_double_p, c_double_p)
proto("sq25_series_data", c_float_p, _c.c_void_p)
proto("sq25_series_window", _c.c_int, _c.c_void_p, _c.c_int64, _c.c_int64, c_void_pp)
proto("sq25_qc_options_create", _c.c_int, _c.c_void_p, c_void_pp)
proto("sq25_qc_options_destroy", None, _c.c_void_p)
proto("sq25_qc_options_set", _c.c_int, _c.c_void_p, _c.c_int, _c.c_double)
proto("sq25_qc_run", _c.c_int, _c.c_void_p, _c.c_void_p, c_void_pp)
proto("sq25_qc_result_destroy", None, _c.c_void_p)
proto("sq25_qc_flags", _c.POINTER(_c.c_uint8), _c.c_void_p)
proto("sq25_qc_bias_factor", _c.c_double, _c.c_void_p, _c.c_int)
proto("sq25_qc_apply", _c.c_int, _c.c_void_p, _c.c_void_p, _c.c_int, c_void_pp)
# interp
proto("sq25_interp_options_create", _c.c_int, _c.c_void_p, c_void_pp)
proto("sq25_interp_options_destroy", None, _c.c_void_p)
proto("sq25_interp_options_set", _c.c_int, _c.c_void_p, _c.c_int, _c.c_double)
proto("sq25_variogram_fit", _c.c_int, _c.c_void_p, _c.c_int, _c.c_size_t, c_double_p,
      _c.c_size_t, c_double_p, _c.c_size_t, c_double_p, _c.c_size_t, c_double_p, c_double_p,
      c_double_p)
proto("sq25_interp_grid", _c.c_int, _c.c_void_p, _c.c_void_p, _c.c_int, _c.c_size_t,
      c_double_p, _c.c_size_t, c_double_p, _c.c_size_t, c_double_p, _c.c_size_t, _c.c_void_p,
      _c.c_void_p)
proto("sq25_interp_points", _c.c_int, _c.c_void_p, _c.c_void_p, _c.c_int, _c.c_size_t,
      c_double_p, _c.c_size_t, c_double_p, _c.c_size_t, c_double_p, _c.c_size_t, _c.c_size_t,
      c_double_p, _c.c_size_t, c_double_p, _c.c_size_t, _c.c_int, c_double_p, _c.c_size_t,
      c_double_p, _c.c_size_t)
proto("sq25_interp_merge", _c.c_int, _c.c_void_p, _c.c_void_p, _c.c_void_p, _c.c_size_t,
      c_double_p, _c.c_size_t, c_double_p, _c.c_size_t, c_double_p, _c.c_size_t, _c.c_void_p,
      _c.c_void_p)
# motion, advection, verification
proto("sq25_motion_options_create", _c.c_int, _c.c_void_p, c_void_pp)
proto("sq25_motion_options_destroy", None, _c.c_void_p)
proto("sq25_motion_options_set_method", _c.c_int, _c.c_void_p, _c.c_int)
proto("sq25_motion_method_from_name", _c.c_int, _c.c_char_p, _c.POINTER(_c.c_int))
proto("sq25_motion_estimate", _c.c_int, _c.c_void_p, c_void_pp, _c.c_int, _c.c_void_p,
      c_float_p, c_float_p)
proto("sq25_extrapolate", _c.c_int, _c.c_void_p, _c.c_void_p, c_float_p, c_float_p, _c.c_int,
      _c.c_int, _c.c_int, c_void_pp)
proto("sq25_extrapolate_accumulation", _c.c_int, _c.c_void_p, _c.c_void_p, c_float_p,
      c_float_p, _c.c_int, _c.c_int, _c.c_int, c_float_p)
proto("sq25_verify_contingency", _c.c_int, c_float_p, c_float_p, _c.c_size_t, _c.c_double,
      _c.POINTER(_c.c_int64))
proto("sq25_verify_categorical_scores", None, _c.POINTER(_c.c_int64), c_double_p, c_double_p,
      c_double_p)
proto("sq25_verify_mae", _c.c_int, c_float_p, c_float_p, _c.c_size_t, c_double_p)
proto("sq25_verify_fss", _c.c_int, _c.c_void_p, c_float_p, c_float_p, _c.c_int, _c.c_int,
      _c.c_double, _c.c_int, c_double_p)
# warnings, targets, maps
proto("sq25_warn_options_create", _c.c_int, _c.c_void_p, c_void_pp)
proto("sq25_warn_options_destroy", None, _c.c_void_p)
proto("sq25_warn_options_set_levels", _c.c_int, _c.c_void_p, _c.c_int, c_double_p,
      _c.POINTER(_c.c_char_p))
proto("sq25_warn_options_set_radius", _c.c_int, _c.c_void_p, _c.c_double, _c.c_double)
proto("sq25_warn_options_set_probability_threshold", _c.c_int, _c.c_void_p, _c.c_double)
proto("sq25_warn_compute", _c.c_int, _c.c_void_p, _c.c_void_p, c_void_pp, _c.c_int, _c.c_int,
      _c.c_int64, c_void_pp)
proto("sq25_warning_destroy", None, _c.c_void_p)
proto("sq25_warning_level_count", _c.c_int, _c.c_void_p)
proto("sq25_warning_accumulation", _c.c_int, _c.c_void_p, _c.c_int, c_void_pp)
proto("sq25_warning_probability", _c.c_int, _c.c_void_p, _c.c_int, c_void_pp)
proto("sq25_warning_levels", _c.c_int, _c.c_void_p, c_void_pp)
proto("sq25_warning_onset", _c.c_int, _c.c_void_p, _c.c_int, c_void_pp)
proto("sq25_warning_evaluate_targets", _c.c_int, _c.c_void_p, _c.c_void_p)
proto("sq25_state_name", _c.c_char_p, _c.c_int)
proto("sq25_pipeline_set_max_gap", _c.c_int, _c.c_void_p, _c.c_int)
proto("sq25_warning_state", _c.c_int, _c.c_void_p)
proto("sq25_warning_state_reason", _c.c_char_p, _c.c_void_p)
proto("sq25_warning_data_time", _c.c_int64, _c.c_void_p)
proto("sq25_warning_states", _c.c_int, _c.c_void_p, c_void_pp)
proto("sq25_warning_target_state", _c.c_int, _c.c_void_p, _c.c_size_t, _c.POINTER(_c.c_int))
proto("sq25_warning_target_result", _c.c_int, _c.c_void_p, _c.c_size_t, _c.POINTER(_c.c_int),
      c_double_p, c_double_p, c_double_p, c_double_p)
for _name in ("sq25_warning_write_areas_geojson", "sq25_warning_write_targets_geojson",
              "sq25_warning_write_targets_csv", "sq25_warning_write_summary_json"):
    proto(_name, _c.c_int, _c.c_void_p, _c.c_char_p)
proto("sq25_targets_read", _c.c_int, _c.c_void_p, _c.c_char_p, c_void_pp)
proto("sq25_targets_destroy", None, _c.c_void_p)
proto("sq25_targets_count", _c.c_size_t, _c.c_void_p)
proto("sq25_targets_id", _c.c_char_p, _c.c_void_p, _c.c_size_t)
proto("sq25_targets_name", _c.c_char_p, _c.c_void_p, _c.c_size_t)
proto("sq25_warn_options_set_horizon", _c.c_int, _c.c_void_p, _c.c_int)
proto("sq25_warn_options_set_calibration", _c.c_int, _c.c_void_p, _c.c_int, c_double_p,
      c_double_p)
proto("sq25_warn_options_set_target_radius", _c.c_int, _c.c_void_p, _c.c_double)
proto("sq25_warn_options_halo_cells", _c.c_int, _c.c_void_p, _c.c_double, _c.POINTER(_c.c_int))
proto("sq25_warning_add_input", _c.c_int, _c.c_void_p, _c.c_char_p)
proto("sq25_warning_crop", _c.c_int, _c.c_void_p, _c.c_int, _c.c_int, _c.c_int, _c.c_int,
      c_void_pp)
proto("sq25_targets_select", _c.c_int, _c.c_void_p, _c.c_size_t, _c.POINTER(_c.c_size_t),
      c_void_pp)
proto("sq25_targets_vertex_count", _c.c_size_t, _c.c_void_p, _c.c_size_t)
proto("sq25_targets_vertex", _c.c_int, _c.c_void_p, _c.c_size_t, _c.c_size_t, c_double_p,
      c_double_p)
proto("sq25_odim_writer_create", _c.c_int, _c.c_void_p, _c.c_char_p, c_void_pp)
proto("sq25_odim_writer_add", _c.c_int, _c.c_void_p, _c.c_void_p, _c.c_char_p, _c.c_int64,
      _c.c_int64)
proto("sq25_odim_writer_close", _c.c_int, _c.c_void_p)
proto("sq25_render_options_create", _c.c_int, _c.c_void_p, c_void_pp)
proto("sq25_render_options_destroy", None, _c.c_void_p)
proto("sq25_render_options_set_title", _c.c_int, _c.c_void_p, _c.c_char_p)
proto("sq25_render_field_png", _c.c_int, _c.c_void_p, _c.c_void_p, _c.c_void_p, _c.c_char_p)
proto("sq25_render_warning_png", _c.c_int, _c.c_void_p, _c.c_void_p, _c.c_char_p)
# pipeline
proto("sq25_pipeline_create", _c.c_int, _c.c_void_p, c_void_pp)
proto("sq25_pipeline_destroy", None, _c.c_void_p)
proto("sq25_pipeline_motion_options", _c.c_void_p, _c.c_void_p)
proto("sq25_pipeline_warn_options", _c.c_void_p, _c.c_void_p)
proto("sq25_pipeline_set_input_frames", _c.c_int, _c.c_void_p, _c.c_int)
proto("sq25_pipeline_set_horizon", _c.c_int, _c.c_void_p, _c.c_int)
proto("sq25_pipeline_set_street_grid", _c.c_int, _c.c_void_p, _c.c_void_p)
proto("sq25_pipeline_set_targets", None, _c.c_void_p, _c.c_void_p)
proto("sq25_pipeline_push_frame", _c.c_int, _c.c_void_p, _c.c_void_p)
proto("sq25_pipeline_reset", None, _c.c_void_p)
proto("sq25_pipeline_frame_count", _c.c_int, _c.c_void_p)
proto("sq25_pipeline_run", _c.c_int, _c.c_void_p, c_void_pp)
proto("sq25_pipeline_forecast_count", _c.c_int, _c.c_void_p)
proto("sq25_pipeline_forecast", _c.c_void_p, _c.c_void_p, _c.c_int)
proto("sq25_pipeline_motion_u", c_float_p, _c.c_void_p)
proto("sq25_pipeline_motion_v", c_float_p, _c.c_void_p)
proto("sq25_pipeline_step_s", _c.c_int, _c.c_void_p)

# ---- sensors in the cycle (1.1) ----
class MergeInfo(_c.Structure):
    _fields_ = [("method", _c.c_int), ("sensors_used", _c.c_int), ("radar_only", _c.c_int),
                ("variogram_source", _c.c_int), ("variogram_model", _c.c_int),
                ("nugget", _c.c_double), ("sill", _c.c_double), ("range_m", _c.c_double),
                ("factor", _c.c_double)]


proto("sq25_merge_method_from_name", _c.c_int, _c.c_char_p, _c.POINTER(_c.c_int))
proto("sq25_merge_options_set_method", _c.c_int, _c.c_void_p, _c.c_int)
proto("sq25_merge_info_json", _c.c_int, _c.POINTER(MergeInfo), _c.c_char_p, _c.c_size_t)
proto("sq25_pipeline_push_sensors", _c.c_int, _c.c_void_p, _c.c_void_p)
proto("sq25_pipeline_push_links", _c.c_int, _c.c_void_p, _c.c_void_p, _c.POINTER(_c.c_double))
proto("sq25_pipeline_merge_options", _c.c_void_p, _c.c_void_p)
proto("sq25_pipeline_set_sensor_qc", None, _c.c_void_p, _c.c_int)
proto("sq25_pipeline_set_sensor_alignment", _c.c_int, _c.c_void_p, _c.c_int, _c.c_int)
proto("sq25_pipeline_analysis", _c.c_void_p, _c.c_void_p)
proto("sq25_pipeline_warn_forecast_count", _c.c_int, _c.c_void_p)
proto("sq25_pipeline_warn_forecast", _c.c_void_p, _c.c_void_p, _c.c_int)
proto("sq25_pipeline_merge_info", _c.c_int, _c.c_void_p, _c.POINTER(MergeInfo))
