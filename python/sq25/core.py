"""Contexts, errors and georeferenced fields over the C API."""
import ctypes
import os
import threading

import numpy as np

from . import _lib
from ._lib import lib

META_FORMAT, META_PRODUCER, META_QUANTITY, META_CONVERSION, META_PATH = range(5)


class Error(Exception):
    """A failure reported by libsq25: .code (negative int), .name and the library's message."""

    def __init__(self, code, message):
        self.code = code
        self.name = lib.sq25_errname(code).decode()
        super().__init__(f"{message} ({self.name})")


def strerror(code):
    return lib.sq25_strerror(code).decode()


def version():
    return lib.sq25_version_string().decode()


class Context:
    """A library context. Objects keep their context alive; one context per thread."""

    def __init__(self):
        self._ptr = lib.sq25_ctx_create()
        if not self._ptr:
            raise MemoryError("sq25_ctx_create failed")

    def check(self, rc):
        """Raise Error for a non-zero return code, with the context's detailed message."""
        if rc != 0:
            msg = lib.sq25_errmsg(self._ptr).decode(errors="replace") or strerror(rc)
            raise Error(rc, msg)

    def set_zr(self, a, b):
        """Reflectivity to rain rate by Z = a R^b for every reader of this context (default
        Marshall-Palmer 200, 1.6); the relation is written in each field's conversion text."""
        self.check(lib.sq25_ctx_set_zr(self._ptr, float(a), float(b)))

    @property
    def zr(self):
        a, b = ctypes.c_double(), ctypes.c_double()
        lib.sq25_ctx_get_zr(self._ptr, ctypes.byref(a), ctypes.byref(b))
        return a.value, b.value

    def set_rain_ceiling(self, mmh, nodata=False):
        """Rates above mmh (mm/h) in every field read are clipped to it, or set to NaN with
        nodata=True; 0 switches the ceiling off."""
        self.check(lib.sq25_ctx_set_rain_ceiling(self._ptr, float(mmh), 1 if nodata else 0))

    def set_assumed_time(self, utc_seconds):
        """The valid time given to frames whose file states none (None: refuse them, the
        default); the field's conversion text says the time was assumed."""
        enabled = utc_seconds is not None
        lib.sq25_ctx_set_assumed_time(self._ptr, 1 if enabled else 0,
                                      int(utc_seconds) if enabled else 0)
    @property
    def threads(self):
        """Threads the library's parallel steps use in this context (at least 1)."""
        return lib.sq25_ctx_threads(self._ptr)

    @threads.setter
    def threads(self, count):
        """0 = one per online CPU (the default), 1 = the calling thread only, up to 256.
        Results do not depend on it."""
        self.check(lib.sq25_ctx_set_threads(self._ptr, int(count)))

    def __del__(self):
        ptr, self._ptr = getattr(self, "_ptr", None), None
        if ptr:
            lib.sq25_ctx_destroy(ptr)


_local = threading.local()


def default_context():
    """The calling thread's default context (contexts must not be shared between threads)."""
    ctx = getattr(_local, "ctx", None)
    if ctx is None:
        ctx = _local.ctx = Context()
    return ctx


def _c_path(path):
    return os.fsencode(os.fspath(path))


class Field:
    """A georeferenced rain-rate grid in mm/h (NaN = no data), owned by a C sq25_field.

    .data is a NumPy float32 view of the C buffer (no copy): writing to it changes the field.
    """

    def __init__(self, ptr, ctx):
        self._ptr = ptr
        self._ctx = ctx  # keeps the context alive as long as the field

    @classmethod
    def create(cls, data, projdef, geotransform, valid_time=0, ctx=None):
        """A new field from a 2-D array (copied), a PROJ definition and a 6-term geotransform."""
        ctx = ctx or default_context()
        arr = np.asarray(data, dtype=np.float32)
        if arr.ndim != 2:
            raise ValueError("data must be 2-D (rows, cols)")
        gt = (ctypes.c_double * 6)(*[float(v) for v in geotransform])
        out = ctypes.c_void_p()
        ctx.check(lib.sq25_field_create(ctx._ptr, arr.shape[1], arr.shape[0],
                                        projdef.encode(), gt, int(valid_time),
                                        ctypes.byref(out)))
        f = cls(out.value, ctx)
        f.data[...] = arr
        return f

    def __del__(self):
        ptr, self._ptr = getattr(self, "_ptr", None), None
        if ptr:
            lib.sq25_field_destroy(ptr)

    @property
    def shape(self):
        return (lib.sq25_field_height(self._ptr), lib.sq25_field_width(self._ptr))

    @property
    def data(self):
        rows, cols = self.shape
        buf = lib.sq25_field_data(self._ptr)
        arr = np.ctypeslib.as_array(buf, shape=(rows, cols))
        arr.flags.writeable = True
        # Tie the view's lifetime to this object so the C buffer outlives the array.
        return _FieldArray(arr, self)

    @property
    def projdef(self):
        return lib.sq25_field_projdef(self._ptr).decode()

    @property
    def geotransform(self):
        gt = (ctypes.c_double * 6)()
        lib.sq25_field_geotransform(self._ptr, gt)
        return tuple(gt)

    @property
    def valid_time(self):
        """Valid time in UTC seconds since 1970."""
        return lib.sq25_field_valid_time(self._ptr)

    @valid_time.setter
    def valid_time(self, t):
        lib.sq25_field_set_valid_time(self._ptr, int(t))

    @property
    def valid_time_iso(self):
        buf = ctypes.create_string_buffer(32)
        lib.sq25_time_format(self.valid_time, buf, 32)
        return buf.value.decode()

    @property
    def accumulation_s(self):
        return lib.sq25_field_accumulation_s(self._ptr)

    def meta(self, key):
        return lib.sq25_field_meta(self._ptr, key).decode(errors="replace")

    @property
    def format(self):
        return self.meta(META_FORMAT)

    @property
    def quantity(self):
        return self.meta(META_QUANTITY)

    def stats(self, wet_threshold_mmh=0.1):
        """(max mm/h, mean mm/h, wet fraction, nodata fraction)."""
        vals = [ctypes.c_double() for _ in range(4)]
        lib.sq25_field_stats(self._ptr, wet_threshold_mmh, *[ctypes.byref(v) for v in vals])
        return tuple(v.value for v in vals)

    def _transform(self, fn, a, b):
        a = np.ascontiguousarray(a, dtype=np.float64).ravel()
        b = np.ascontiguousarray(b, dtype=np.float64).ravel()
        if a.shape != b.shape:
            raise ValueError("coordinate arrays differ in length")
        oa, ob = np.empty_like(a), np.empty_like(b)
        dp = _lib.c_double_p
        self._ctx.check(fn(self._ptr, a.size, a.ctypes.data_as(dp), 8, b.ctypes.data_as(dp), 8,
                           oa.ctypes.data_as(dp), 8, ob.ctypes.data_as(dp), 8))
        return oa, ob

    def lonlat_to_pixel(self, lon, lat):
        """Pixel (col, row) of lon/lat degrees; the upper-left cell's centre is (0.5, 0.5)."""
        return self._transform(lib.sq25_field_lonlat_to_pixel, lon, lat)

    def pixel_to_lonlat(self, col, row):
        return self._transform(lib.sq25_field_pixel_to_lonlat, col, row)

    def corners_lonlat(self):
        """((ul_lon, ul_lat), (ur_lon, ur_lat), (lr_lon, lr_lat), (ll_lon, ll_lat))."""
        c = (ctypes.c_double * 8)()
        self._ctx.check(lib.sq25_field_corners_lonlat(self._ptr, c))
        return tuple((c[2 * i], c[2 * i + 1]) for i in range(4))

    def copy(self):
        out = ctypes.c_void_p()
        self._ctx.check(lib.sq25_field_clone(self._ptr, ctypes.byref(out)))
        return Field(out.value, self._ctx)

    def __repr__(self):
        return (f"<sq25.Field {self.shape[0]}x{self.shape[1]} {self.quantity or 'mm/h'} "
                f"at {self.valid_time_iso}>")


class _FieldArray(np.ndarray):
    """A NumPy view of C memory that `owner` (a Field, a series store, ...) frees. The view's
    base is a ctypes buffer over the same memory that holds `owner`, so every array derived
    from it keeps the memory valid: np.asarray(view), which drops the subclass and its
    attributes, keeps the base chain (before 1.6 it did not, and the C memory could be freed
    under such an array)."""

    def __new__(cls, arr, owner):
        buf = (ctypes.c_char * arr.nbytes).from_address(arr.ctypes.data)
        buf._sq25_owner = owner
        obj = np.frombuffer(buf, dtype=arr.dtype).reshape(arr.shape).view(cls)
        obj._owner = owner
        return obj

    def __array_finalize__(self, obj):
        self._owner = getattr(obj, "_owner", None)


def read_field(path, frame=0, ctx=None):
    """Read a radar or gridded file (ODIM_H5, KNMI HDF5, CF netCDF-4) as a Field in mm/h."""
    ctx = ctx or default_context()
    out = ctypes.c_void_p()
    ctx.check(lib.sq25_read_field_frame(ctx._ptr, _c_path(path), int(frame), ctypes.byref(out)))
    return Field(out.value, ctx)


def frame_count(path, ctx=None):
    """Number of frames (time steps, leads, tar members) of a radar or gridded file."""
    ctx = ctx or default_context()
    n = ctypes.c_int()
    ctx.check(lib.sq25_file_frame_count(ctx._ptr, _c_path(path), ctypes.byref(n)))
    return n.value


def write_odim(path, field):
    """Write a field as a one-dataset ODIM_H5 file (RATE, mm/h)."""
    field._ctx.check(lib.sq25_write_odim(field._ctx._ptr, _c_path(path), field._ptr))


def parse_time(text):
    t = ctypes.c_int64()
    rc = lib.sq25_time_parse(text.encode(), ctypes.byref(t))
    if rc != 0:
        raise Error(rc, f"cannot parse time {text!r}")
    return t.value
