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
proto("sq25_write_odim", _c.c_int, _c.c_void_p, _c.c_char_p, _c.c_void_p)
