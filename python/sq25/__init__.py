"""25square: street-level heavy-rain nowcasting (Python bindings over libsq25's C ABI).

Fields come back as sq25.Field objects whose .data is a float32 NumPy view (NaN = no data) of
the C buffer, with the georeference (projdef, geotransform) and valid time as attributes.
Every failure raises sq25.Error carrying the library's code and message.
"""
from .core import (Context, Error, Field, default_context, frame_count, parse_time,  # noqa: F401
                   read_field, strerror, version, write_odim)

from . import ensemble, links, nowcast, sensors, warn  # noqa: F401,E402
from .nowcast import extrapolate, motion, scores  # noqa: F401,E402
from .sensors import Series, interpolate, street_grid  # noqa: F401,E402
from .warn import Pipeline, Targets, Warning, render_field  # noqa: F401,E402
from .links import Links  # noqa: F401,E402

__version__ = version()
