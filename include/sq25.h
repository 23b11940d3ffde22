/*
 * sq25.h -- the public API of libsq25, the 25square street-level rain nowcasting engine.
 *
 * This header is the whole API and its reference manual. Anything not declared here is not
 * API: it may change or vanish in any release. The exported symbols of libsq25.so all start
 * with "sq25_"; macros and enum values start with "SQ25_".
 *
 * Conventions used throughout (read once, they are not repeated at every function):
 *
 *   Return codes   Functions that can fail return an int: 0 (SQ25_OK) on success, a negative
 *                  SQ25_ERR_* code on failure. Codes are pinned forever and grouped in bands
 *                  (see SQ25_ERROR_MAP). sq25_strerror(code) gives a static text;
 *                  sq25_errmsg(ctx) gives the detail of the last failure in that context
 *                  (which file, which dataset, what was expected).
 *   Contexts       Every constructor takes an sq25_ctx. A context and the objects made from it
 *                  must be used by one thread at a time; distinct contexts (and their objects)
 *                  may be used from distinct threads at once. The context must outlive every
 *                  object made from it. There is no mutable global state. HDF5: Debian 12's
 *                  libhdf5 is built thread-safe (it serialises its own calls); the library
 *                  checks this at run time (H5is_library_threadsafe) and, only with an HDF5
 *                  that is not thread-safe, runs every HDF5 call of its own under one
 *                  library-wide mutex (sq25_io_hdf5_threadsafe says which). Either way HDF5
 *                  work of different threads is serialised; everything else runs in
 *                  parallel. HDF5's own error printing is switched off for the duration of the
 *                  library's calls only (per thread).
 *                  Objects a handle keeps (a pipeline's frames, a warning's grid) are copied
 *                  into the handle's context: they belong to it, not to the context of the
 *                  object passed in.
 *   Ownership      Each function says who owns what, in one of three phrases:
 *                  "caller-owned buffer" (you pass memory and its capacity),
 *                  "borrowed" (valid as long as the object it came from, do not free),
 *                  "new object" (release it with the named sq25_*_destroy or sq25_free).
 *                  Never release library memory with plain free().
 *   Units          Rain rates are mm/h as float32, NaN = no data, 0 = no rain. Times are UTC
 *                  seconds since 1970-01-01 (int64). Lengths are named with their unit.
 *   Grids          Row-major float32, row 0 is the northern (top) row. Georeference is a PROJ
 *                  definition plus a GDAL-style geotransform:
 *                  x = gt[0] + col*gt[1] + row*gt[2];  y = gt[3] + col*gt[4] + row*gt[5]
 *                  with (col,row) = (0,0) the upper-left corner of the upper-left pixel.
 *   Versions       "since 1.0" marks when a function was added.
 */
#ifndef SQ25_H
#define SQ25_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------ */
/* Export and deprecation markers                                                             */
/* ------------------------------------------------------------------------------------------ */
#if defined(SQ25_BUILDING_LIBRARY) && defined(__GNUC__)
#define SQ25_API __attribute__((visibility("default")))
#else
#define SQ25_API
#endif

#if defined(__GNUC__)
#define SQ25_DEPRECATED(msg) __attribute__((deprecated(msg)))
#else
#define SQ25_DEPRECATED(msg)
#endif

/* ------------------------------------------------------------------------------------------ */
/* Version                                                                                    */
/* ------------------------------------------------------------------------------------------ */
/* The Makefile reads these three lines; keep them in this form. The soname follows
 * SQ25_VERSION_MAJOR (libsq25.so.1), which changes only when the ABI breaks (docs/abi.md). */
#define SQ25_VERSION_MAJOR 1
#define SQ25_VERSION_MINOR 6
#define SQ25_VERSION_PATCH 0

#define SQ25_VERSION_NUMBER \
    (SQ25_VERSION_MAJOR * 10000 + SQ25_VERSION_MINOR * 100 + SQ25_VERSION_PATCH)
#define SQ25_STRINGIFY_(x) #x
#define SQ25_STRINGIFY(x) SQ25_STRINGIFY_(x)
#define SQ25_VERSION_STRING                                              \
    SQ25_STRINGIFY(SQ25_VERSION_MAJOR) "." SQ25_STRINGIFY(SQ25_VERSION_MINOR) "." \
    SQ25_STRINGIFY(SQ25_VERSION_PATCH)
/* True when the header is at least version major.minor.patch. */
#define SQ25_AT_LEAST_VERSION(major, minor, patch) \
    (SQ25_VERSION_NUMBER >= ((major) * 10000 + (minor) * 100 + (patch)))

/* The version of the library actually linked, as SQ25_VERSION_NUMBER. Since 1.0. */
SQ25_API int sq25_version(void);
/* The same as a string, e.g. "1.0.0". Borrowed, static. Since 1.0. */
SQ25_API const char *sq25_version_string(void);

/* ------------------------------------------------------------------------------------------ */
/* Error codes                                                                                */
/* ------------------------------------------------------------------------------------------ */
/* One table generates the enum, the names and the messages. Values are pinned forever: never
 * renumber, only add. Bands:  -1..-99 general,  -100..-199 files and formats,
 * -200..-299 georeference,  -300..-399 data content and time,  -400..-499 text input,
 * -500..-599 algorithms. */
#define SQ25_ERROR_MAP(X)                                                                    \
    X(OK, 0, "success")                                                                      \
    X(ERR_NOMEM, -1, "out of memory")                                                        \
    X(ERR_INVALID_ARG, -2, "invalid argument")                                               \
    X(ERR_RANGE, -3, "value out of the allowed range")                                      \
    X(ERR_INTERNAL, -4, "internal error")                                                    \
    X(ERR_UNSUPPORTED, -5, "unsupported feature or convention")                             \
    X(ERR_FILE_NOT_FOUND, -100, "file not found")                                           \
    X(ERR_FILE_EMPTY, -101, "file is empty")                                                 \
    X(ERR_FILE_TRUNCATED, -102, "file is truncated")                                         \
    X(ERR_NOT_HDF5, -103, "not an HDF5 file")                                                \
    X(ERR_FORMAT_UNKNOWN, -104, "HDF5 file of no known radar or CF convention")             \
    X(ERR_MISSING_DATASET, -105, "expected dataset is missing")                             \
    X(ERR_MISSING_ATTRIBUTE, -106, "expected attribute is missing")                         \
    X(ERR_BAD_DIMENSIONS, -107, "dimensions are inconsistent with the metadata")            \
    X(ERR_BAD_METADATA, -108, "metadata value cannot be interpreted")                       \
    X(ERR_SIZE_ABSURD, -109, "size is absurd (empty or too large)")                         \
    X(ERR_READ, -110, "read error")                                                          \
    X(ERR_WRITE, -111, "write error")                                                        \
    X(ERR_PERMISSION, -112, "permission denied")                                            \
    X(ERR_BAD_QUANTITY, -113, "quantity or unit not supported")                             \
    X(ERR_FILE_DAMAGED, -114, "file is damaged (its internal structure is inconsistent)")  \
    X(ERR_UNPACK, -130, "compressed or archived data cannot be unpacked")                   \
    X(ERR_PROJ, -200, "projection definition or transformation failed")                     \
    X(ERR_GRID_MISMATCH, -201, "grids do not match")                                        \
    X(ERR_OUTSIDE_GRID, -202, "location outside the grid")                                  \
    X(ERR_NO_DATA, -300, "no valid data")                                                    \
    X(ERR_TIME_GAP, -301, "gap in the time series")                                          \
    X(ERR_TIME_ORDER, -302, "times are not in increasing order")                            \
    X(ERR_TIME_MISMATCH, -303, "time steps do not match")                                   \
    X(ERR_TOO_FEW, -304, "too few inputs")                                                   \
    X(ERR_ALIGNMENT, -310, "sensor and radar intervals cannot be aligned")                  \
    X(ERR_PARSE, -400, "cannot parse text input")                                            \
    X(ERR_BAD_TIME, -401, "cannot parse time")                                               \
    X(ERR_NOT_CONVERGED, -500, "algorithm did not converge")                                \
    X(ERR_SINGULAR, -501, "singular system")

typedef enum sq25_status {
#define SQ25_ENUM_ENTRY_(name, value, text) SQ25_##name = value,
    SQ25_ERROR_MAP(SQ25_ENUM_ENTRY_)
#undef SQ25_ENUM_ENTRY_
    SQ25_STATUS_PINNED_ = -9999 /* not a code; keeps the enum int-sized */
} sq25_status;

/* Static text for a code, also for unknown codes ("unknown error code"). Borrowed, static,
 * never allocates, thread-safe. Since 1.0. */
SQ25_API const char *sq25_strerror(int code);
/* The code's symbolic name, e.g. "SQ25_ERR_NOMEM", or "SQ25_UNKNOWN". Borrowed, static.
 * Since 1.0. */
SQ25_API const char *sq25_errname(int code);

/* ------------------------------------------------------------------------------------------ */
/* Context                                                                                    */
/* ------------------------------------------------------------------------------------------ */
typedef struct sq25_ctx sq25_ctx;

/* Allocator hooks: alloc(opaque, size) returns NULL on failure; free(opaque, ptr) accepts
 * NULL. Every allocation the library itself makes for a context goes through them (memory
 * allocated inside HDF5, PROJ and GSL does not). */
typedef void *(*sq25_alloc_fn)(void *opaque, size_t size);
typedef void (*sq25_free_fn)(void *opaque, void *ptr);

/* Log levels for the log callback. */
enum { SQ25_LOG_ERROR = 1, SQ25_LOG_WARNING = 2, SQ25_LOG_INFO = 3, SQ25_LOG_DEBUG = 4 };
/* Log callback: level, one line of text without newline (borrowed for the call only). */
typedef void (*sq25_log_fn)(void *user, int level, const char *line);

/* Create a context with malloc/free. New object: release with sq25_ctx_destroy.
 * @return NULL only when memory runs out. Since 1.0. */
SQ25_API sq25_ctx *sq25_ctx_create(void);
/* Create a context whose allocations go through alloc/free (both non-NULL). New object:
 * release with sq25_ctx_destroy. @return NULL if the hooks are NULL or fail. Since 1.0. */
SQ25_API sq25_ctx *sq25_ctx_create_with_allocator(sq25_alloc_fn alloc, sq25_free_fn free_fn,
                                                  void *opaque);
/* Destroy a context. Accepts NULL. Every object made from it must be destroyed first.
 * Since 1.0. */
SQ25_API void sq25_ctx_destroy(sq25_ctx *ctx);
/* Set (or clear with NULL) the log callback; by default nothing is logged. Since 1.0. */
SQ25_API void sq25_ctx_set_log(sq25_ctx *ctx, sq25_log_fn fn, void *user, int max_level);
/* Code of the last failure in this context (SQ25_OK if the last call succeeded or none
 * failed yet). Since 1.0. */
SQ25_API int sq25_errcode(const sq25_ctx *ctx);
/* One-line detail of the last failure in this context, e.g.
 * "data/x.h5: dataset1/data1/data: 700x700 expected from /where, found 700x350".
 * Borrowed: valid until the next call on this context. Never NULL (empty string if none;
 * "no context" for a NULL ctx). Since 1.0. */
SQ25_API const char *sq25_errmsg(const sq25_ctx *ctx);
/* Release memory the library returned as "release with sq25_free". Accepts NULL.
 * Since 1.0. */
SQ25_API void sq25_free(sq25_ctx *ctx, void *ptr);

/* ==== limits: resource bounds of a context ================================================= */
/* Every size read from a file (grid cells, series steps, stations) is checked against the
 * reading context's limits, and against what the file can actually hold, BEFORE memory is
 * allocated for it; a size above a limit fails with SQ25_ERR_SIZE_ABSURD naming the file, the
 * size and the limit. The limits apply to objects the caller makes too (sq25_field_create,
 * sq25_series_create). Defaults:
 *   SQ25_LIMIT_GRID_CELLS    100 000 000 cells: a 2500 km x 2500 km composite at 250 m
 *                            (a national composite at 250 m is 16-40 million cells);
 *                            hard cap SQ25_MAX_GRID_CELLS.
 *   SQ25_LIMIT_SERIES_STEPS  5 270 400 steps: ten years of 1-minute steps; hard cap 2^31.
 *   SQ25_LIMIT_SERIES_VALUES 268 435 456 stations x steps (1 GiB of float32): 50 gauges for
 *                            ten years at 1 minute, or 2500 gauges for a year at 5 minutes;
 *                            hard cap 2^31.
 *   SQ25_LIMIT_STATIONS      1 000 000 stations; hard cap 2^31 - 1. */
enum {
    SQ25_LIMIT_GRID_CELLS = 0,
    SQ25_LIMIT_SERIES_STEPS = 1,
    SQ25_LIMIT_SERIES_VALUES = 2,
    SQ25_LIMIT_STATIONS = 3
};
/* Set a limit of ctx; value 0 restores the default. @return SQ25_OK, SQ25_ERR_INVALID_ARG
 * (unknown key) or SQ25_ERR_RANGE (negative or above the hard cap). Since 1.1. */
SQ25_API int sq25_ctx_set_limit(sq25_ctx *ctx, int key, int64_t value);
/* The current limit of ctx for key (the default for a NULL ctx); -1 for an unknown key.
 * Since 1.1. */
SQ25_API int64_t sq25_ctx_get_limit(const sq25_ctx *ctx, int key);

/* ------------------------------------------------------------------------------------------ */
/* Time                                                                                       */
/* ------------------------------------------------------------------------------------------ */
/* Parse a UTC time: "YYYY-MM-DDTHH:MM[:SS][Z]", "YYYY-MM-DD HH:MM[:SS]", "YYYYMMDDHHMM[SS]"
 * or "@<seconds since 1970>". Years 1000 to 9999 only (also for the "@" form: seconds from
 * -30610224000 to 253402300799). @return SQ25_OK or SQ25_ERR_BAD_TIME. Since 1.0. */
SQ25_API int sq25_time_parse(const char *text, int64_t *utc_seconds);
/* Format as "YYYY-MM-DDTHH:MM:SSZ" into buf (caller-owned buffer, cap >= 21 bytes; shorter
 * buffers get a truncated, terminated string). A time outside the years 1000 to 9999 is
 * written as "@<seconds>" (any int64, INT64_MIN included; at most 21 bytes).
 * @return the length written. Since 1.0. */
SQ25_API int sq25_time_format(int64_t utc_seconds, char *buf, size_t cap);

/* ------------------------------------------------------------------------------------------ */
/* Fields: georeferenced rain-rate grids                                                      */
/* ------------------------------------------------------------------------------------------ */
typedef struct sq25_field sq25_field;

/* Largest accepted grid side and cell count: guards against absurd sizes in files. */
#define SQ25_MAX_GRID_SIDE 100000
#define SQ25_MAX_GRID_CELLS ((int64_t)400000000)

/* Create a field of width x height cells, filled with NaN (no data).
 * projdef: a PROJ definition (proj-string, WKT, or "EPSG:n"), copied; geotransform: 6 doubles,
 * see "Grids" above, copied. valid_time in UTC seconds. New object: release with
 * sq25_field_destroy. @return SQ25_OK; SQ25_ERR_INVALID_ARG; SQ25_ERR_SIZE_ABSURD;
 * SQ25_ERR_PROJ if projdef is not understood by PROJ; SQ25_ERR_NOMEM. Since 1.0. */
SQ25_API int sq25_field_create(sq25_ctx *ctx, int width, int height, const char *projdef,
                               const double geotransform[6], int64_t valid_time,
                               sq25_field **out);
/* A deep copy. New object: release with sq25_field_destroy. Since 1.0. */
SQ25_API int sq25_field_clone(const sq25_field *field, sq25_field **out);
/* Destroy a field. Accepts NULL. Since 1.0. */
SQ25_API void sq25_field_destroy(sq25_field *field);

SQ25_API int sq25_field_width(const sq25_field *field);  /* columns. Since 1.0. */
SQ25_API int sq25_field_height(const sq25_field *field); /* rows. Since 1.0. */
/* The cells, row-major, height*width float32 in mm/h, NaN = no data. Borrowed: valid as long
 * as the field; you may write through it. Since 1.0. */
SQ25_API float *sq25_field_data(sq25_field *field);
SQ25_API const float *sq25_field_data_const(const sq25_field *field);
/* The PROJ definition. Borrowed. Since 1.0. */
SQ25_API const char *sq25_field_projdef(const sq25_field *field);
/* Copy the geotransform into gt (caller-owned buffer of 6 doubles). Since 1.0. */
SQ25_API void sq25_field_geotransform(const sq25_field *field, double gt[6]);
/* Valid time (UTC seconds). Since 1.0. */
SQ25_API int64_t sq25_field_valid_time(const sq25_field *field);
SQ25_API void sq25_field_set_valid_time(sq25_field *field, int64_t valid_time);
/* Accumulation length in seconds the rate was derived from (0 = instantaneous rate).
 * Since 1.0. */
SQ25_API int sq25_field_accumulation_s(const sq25_field *field);
SQ25_API void sq25_field_set_accumulation_s(sq25_field *field, int seconds);

/* Descriptive metadata keys for sq25_field_meta / sq25_field_set_meta. */
enum {
    SQ25_META_FORMAT = 0,   /* "ODIM_H5/V2_2", "KNMI_HDF5/3.5", "CF-1.8", "sq25" ... */
    SQ25_META_PRODUCER = 1, /* source / institution as the file states it */
    SQ25_META_QUANTITY = 2, /* quantity in the file: RATE, ACRR, DBZH, ... */
    SQ25_META_CONVERSION = 3, /* how the file values became mm/h, in words */
    SQ25_META_PATH = 4      /* the file it was read from */
};
/* A metadata string, "" if unset. Borrowed: valid until the field changes it or dies.
 * Since 1.0. */
SQ25_API const char *sq25_field_meta(const sq25_field *field, int key);
/* Set a metadata string (copied). @return SQ25_OK, SQ25_ERR_INVALID_ARG, SQ25_ERR_NOMEM.
 * Since 1.0. */
SQ25_API int sq25_field_set_meta(sq25_field *field, int key, const char *value);

/* Rain statistics of a field, computed without allocating: max rate (mm/h, NaN if no valid cell), mean over
 * valid cells (mm/h), wet fraction (cells > wet_threshold_mmh among valid cells), nodata
 * fraction (NaN cells among all). Any output pointer may be NULL. Since 1.0. */
SQ25_API void sq25_field_stats(const sq25_field *field, double wet_threshold_mmh,
                               double *max_mmh, double *mean_mmh, double *wet_fraction,
                               double *nodata_fraction);

/* ------------------------------------------------------------------------------------------ */
/* Georeference (PROJ)                                                                        */
/* ------------------------------------------------------------------------------------------ */
/* One rule for the whole library: every lon/lat it takes or gives (these functions, targets,
 * sensors, grids from lon/lat boxes, GeoJSON, maps, corner attributes of radar files) is WGS84
 * (EPSG:4326), longitude first, as RFC 7946. Between WGS84 and a grid's CRS the library uses one
 * transformation per grid CRS and context, cached in the context, made by PROJ from EPSG:4326
 * with its own choice of the best available operation (proj_create_crs_to_crs; datum shifts such
 * as BD72, Amersfoort, CH1903+, DHDN or OSGB36 to WGS84 included; the grids of the installed
 * proj-data are used, the network is not unless PROJ_NETWORK=ON). A CRS with no datum (a bare
 * ellipsoid, as radar proj-strings often give) gets no datum shift. Since 1.1 (1.0 converted to
 * the grid's own geographic CRS, 100 to 190 m off for non-WGS84 datums).
 *
 * Map n lon/lat points (degrees, WGS84) to pixel coordinates (col, row as doubles; the centre
 * of the upper-left cell is (0.5, 0.5)). Arrays are pointer + byte stride, as NumPy strides:
 * lon[i] is at (const char *)lon + i*lon_stride. Caller-owned buffers. Points PROJ cannot
 * transform give NaN. @return SQ25_OK or SQ25_ERR_PROJ. Not safe on one field from two
 * threads at once. Since 1.0. */
SQ25_API int sq25_field_lonlat_to_pixel(sq25_field *field, size_t n, const double *lon,
                                        size_t lon_stride, const double *lat,
                                        size_t lat_stride, double *col, size_t col_stride,
                                        double *row, size_t row_stride);
/* The inverse: pixel coordinates to lon/lat degrees. Same conventions. Since 1.0. */
SQ25_API int sq25_field_pixel_to_lonlat(sq25_field *field, size_t n, const double *col,
                                        size_t col_stride, const double *row,
                                        size_t row_stride, double *lon, size_t lon_stride,
                                        double *lat, size_t lat_stride);
/* Lon/lat of the four outer corners, in the order upper-left, upper-right, lower-right,
 * lower-left: lonlat8 = {ul_lon, ul_lat, ur_lon, ur_lat, lr_lon, lr_lat, ll_lon, ll_lat}
 * (caller-owned buffer of 8). Since 1.0. */
SQ25_API int sq25_field_corners_lonlat(sq25_field *field, double lonlat8[8]);

/* ==== io: readers and writers ============================================================== */
/* File formats the readers recognise from the file's own metadata. */
enum {
    SQ25_FORMAT_UNKNOWN = 0,
    SQ25_FORMAT_ODIM = 1, /* ODIM_H5 (Conventions="ODIM_H5/..."), object COMP or IMAGE */
    SQ25_FORMAT_KNMI = 2, /* KNMI HDF5 radar products (/overview, /image1, /geographic) */
    SQ25_FORMAT_CF = 3,   /* CF-1.x netCDF-4 (an HDF5 file) with a gridded rain variable */
    SQ25_FORMAT_RADOLAN = 4,   /* DWD RADOLAN/RADVOR binary composite (bare, gzip, bzip2, tar).
                                  Since 1.1. */
    SQ25_FORMAT_ESRI_ASCII = 5 /* DWD RADOLAN grid as ESRI ASCII (bare or packed). Since 1.1. */
};

/* Detect the format of path from its metadata (not its name). @return SQ25_OK and *format,
 * or the file errors (FILE_NOT_FOUND, FILE_EMPTY, NOT_HDF5, FILE_TRUNCATED, FORMAT_UNKNOWN).
 * Since 1.0. */
SQ25_API int sq25_file_detect(sq25_ctx *ctx, const char *path, int *format);
/* Number of rain frames (time steps) a file holds: 1 for most radar files; for ODIM_H5 the
 * number of datasets holding the preferred quantity (e.g. the leads of a forecast written by
 * sq25 nowcast; other quantities such as motion are not frames); for CF the length of the time
 * dimension of a 3-D variable. Since 1.0. */
SQ25_API int sq25_file_frame_count(sq25_ctx *ctx, const char *path, int *count);
/* Read frame `index` (0-based, in file order) of a radar or gridded file as a field in mm/h,
 * detecting the format (HDF5 ones from their metadata; DWD RADOLAN/RADVOR products and ESRI
 * ASCII grids from their first bytes, also gzip/bzip2/tar packed, each tar member a frame;
 * since 1.1; the conventions read are tabulated in docs/readers.md). The valid time is the product's nominal time (ODIM /what date+time);
 * in an ODIM file of several frames, each frame's datasetN/what enddate+endtime. Conversions: ODIM RATE as is; ACRR (mm) divided by its accumulation
 * window; DBZH by Marshall-Palmer Z = 200 R^1.6; KNMI by the calibration formula the file
 * states; CF by scale_factor/add_offset/_FillValue and its units. Undetect/0 becomes 0,
 * nodata becomes NaN. New object: release with sq25_field_destroy. @return SQ25_OK or a file,
 * format, metadata or size error with the detail in sq25_errmsg(ctx). Since 1.0.
 *
 * What each reader relies on (all taken from the file, none from its name):
 *   ODIM_H5  /what object COMP or IMAGE; the first RATE, else ACRR, else DBZH/DBZ/TH found in
 *            dataset1..N/data1..M; quantity, gain, offset, nodata, undetect and the dataset
 *            times are looked up in datasetN/dataM/what, datasetN/what, /what in that order
 *            (no gain: physical values, NaN = nodata); projdef, xsize/ysize, xscale/yscale and
 *            the upper-left outer corner in datasetN/where or /where (UL_x/UL_y in projected
 *            metres when present, else UL_lon/UL_lat projected with projdef). Valid time is
 *            the nominal /what date+time.
 *   KNMI     linear calibration_formulas ("GEO=a*PV+b" in any order), missing/out-of-image
 *            codes -> NaN; geo_dim_pixel "KM,KM" grids are converted to metres (+a, +b, +x_0,
 *            +y_0 and the offsets times 1000); geo_product_corners are checked (0.01 degree).
 *            Valid time is product_datetime_end; accumulation = end - start.
 *   CF-1.x   the root variable with a grid_mapping (else the first 2-D/3-D one with rain
 *            units), dimensions (time,) y, x; 1-D x/y coordinates in m, km or degrees, y may
 *            increase (rows are flipped); the grid_mapping's crs_wkt/spatial_ref/proj4 text, or
 *            a PROJ string built from grid_mapping_name and its CF parameters; amounts need an
 *            interval (cell_methods "interval:", an accumulation attribute, or the time step).
 *            Since 1.1 also: text attributes in every HDF5 string form (NC_STRING); a scalar
 *            time coordinate, time bounds, any epoch, standard/gregorian/proleptic_gregorian
 *            calendars (else SQ25_ERR_BAD_TIME; a frame without time is SQ25_ERR_BAD_TIME,
 *            never 1970); valid_range, _Unsigned, netCDF default fills, int64; a mapping found
 *            by its attributes, a GDAL GeoTransform, a global proj_string; OpenSense grids.
 *   RADOLAN  DWD's composite format: header fields, 2-byte amounts (flags: no data and
 *            clutter -> NaN) or 1-byte RX/WX/EX reflectivity (0.5 dBZ, the context's Z-R);
 *            the valid time is the header time plus the RADVOR lead VV; accumulation INT. */
SQ25_API int sq25_read_field_frame(sq25_ctx *ctx, const char *path, int index,
                                   sq25_field **out);
/* Frame 0: sq25_read_field_frame(ctx, path, 0, out). Since 1.0. */
SQ25_API int sq25_read_field(sq25_ctx *ctx, const char *path, sq25_field **out);
/* Damaged files. The readers check what they can before HDF5 parses a file (signature,
 * superblock fields against the file size, declared sizes against stored bytes: a damaged
 * superblock is SQ25_ERR_FILE_DAMAGED, since 1.1), but HDF5 1.10 itself can still crash or
 * hang on some damaged files. For files from outside, read in a child process: */
/* sq25_read_field_frame in a child process (fork): the child reads the frame with a context
 * of its own and sends it through a pipe; the field is rebuilt in ctx. A child that crashes,
 * exits without a result or takes more than timeout_s seconds (> 0; then killed) gives
 * SQ25_ERR_FILE_DAMAGED with the signal in sq25_errmsg; the caller's process is untouched
 * (quarantine the file, keep serving). Any other code is the reader's, as from
 * sq25_read_field_frame. Costs a fork and a copy of the grid (about 5 ms for 700 x 700). Call
 * it while no other thread of the process is inside HDF5 (a child forked then may hang on
 * HDF5's lock until its timeout). POSIX only. New object: release with sq25_field_destroy.
 * Since 1.1. */
SQ25_API int sq25_read_field_isolated(sq25_ctx *ctx, const char *path, int index,
                                      int timeout_s, sq25_field **out);

/* ==== readers: reflectivity and rain-ceiling settings of a context ========================== */
/* The readers of this context convert reflectivity (ODIM DBZH/DBZ/TH, KNMI and CF dBZ, RADOLAN
 * RX/WX/EX) to mm/h with Z = a R^b (Z in mm^6 m^-3, R in mm/h); the default is Marshall-Palmer
 * a = 200, b = 1.6. The relation used is written in each field's SQ25_META_CONVERSION.
 * @return SQ25_OK; SQ25_ERR_RANGE unless 0 < a <= 1e5 and 0.5 <= b <= 5. Since 1.1. */
SQ25_API int sq25_ctx_set_zr(sq25_ctx *ctx, double a, double b);
/* The coefficients in use (caller-owned outputs). Since 1.1. */
SQ25_API void sq25_ctx_get_zr(const sq25_ctx *ctx, double *a, double *b);
/* What the readers do with rates above the ceiling. */
enum { SQ25_CEILING_CLIP = 0, SQ25_CEILING_NODATA = 1 };
/* A rain-rate ceiling in mm/h for every field this context reads (clutter in a 1 km European
 * composite converts to more than 1000 mm/h): cells above it are clipped to it
 * (SQ25_CEILING_CLIP) or set to no data (SQ25_CEILING_NODATA); the count is logged as a
 * warning and written in SQ25_META_CONVERSION. 0 switches it off (the default).
 * @return SQ25_OK; SQ25_ERR_RANGE (negative, not finite, or an unknown mode). Since 1.1. */
SQ25_API int sq25_ctx_set_rain_ceiling(sq25_ctx *ctx, double mmh, int mode);
/* The valid time (UTC seconds) the readers give a frame whose file states none (a CF grid
 * without any time coordinate, an ESRI ASCII grid without DWD's dated name), written in the
 * field's SQ25_META_CONVERSION as "time assumed by the caller". enabled = 0 (the default)
 * refuses such frames with SQ25_ERR_BAD_TIME. A time the file states is always used.
 * Since 1.1. */
SQ25_API void sq25_ctx_set_assumed_time(sq25_ctx *ctx, int enabled, int64_t utc_seconds);

/* An ODIM_H5 composite writer: one file, datasets appended in call order. */
typedef struct sq25_odim_writer sq25_odim_writer;
/* Start writing path. Whole outputs (every writer of the library, since 1.1): the data go to
 * a temporary file in path's folder, renamed over path (after fsync) only when complete; a
 * kill, crash or failed write leaves a previous file at path whole. A path that is a folder,
 * or in a missing folder, fails here (SQ25_ERR_WRITE; SQ25_ERR_PERMISSION when access is
 * refused; the message names the file and gives the system's reason). New object: finish
 * with sq25_odim_writer_close, which also releases it. Since 1.0. */
SQ25_API int sq25_odim_writer_create(sq25_ctx *ctx, const char *path, sq25_odim_writer **out);
/* Append a field as dataset<N>/data1 with the given ODIM quantity ("RATE" in mm/h, or any
 * other quantity name for auxiliary grids such as motion) and nominal start/end times
 * (UTC seconds). The first field added sets /what, /where (projection, corners, size).
 * Fields must share its grid (else SQ25_ERR_GRID_MISMATCH). Each dataset is written at once
 * (nothing is held until close), one chunk per dataset, compressed as
 * sq25_odim_writer_set_compression says (byte shuffle + deflate 1 by default). Since 1.0. */
SQ25_API int sq25_odim_writer_add(sq25_odim_writer *w, const sq25_field *field,
                                  const char *quantity, int64_t start_time, int64_t end_time);
/* Write (or replace) the string attribute /how/<name> = value, e.g. the merge method and
 * its fitted variogram as JSON ("sq25_merge"). Call after the first sq25_odim_writer_add.
 * name and value are copied. @return SQ25_OK; SQ25_ERR_INVALID_ARG (no dataset yet, empty
 * name or one with '/'); SQ25_ERR_WRITE. Since 1.1. */
SQ25_API int sq25_odim_writer_set_how(sq25_odim_writer *w, const char *name, const char *value);
/* Finish the file, rename it over the path, and release the writer (accepts NULL); every
 * HDF5 handle of the file is closed. @return SQ25_OK, SQ25_ERR_WRITE (SQ25_ERR_PERMISSION),
 * or SQ25_ERR_NO_DATA when no dataset was added; after any write error (also one of an
 * earlier sq25_odim_writer_add; a field refused for its argument or grid is not one: it is
 * simply not added) nothing is written: the temporary is removed and a previous file at the
 * path is kept. Since 1.0. */
SQ25_API int sq25_odim_writer_close(sq25_odim_writer *w);
/* Abandon the file: close every handle, remove the temporary, keep a previous file at the
 * path, release the writer (accepts NULL). The context's last error is left as it was (the
 * reason to discard). Since 1.1. */
SQ25_API void sq25_odim_writer_discard(sq25_odim_writer *w);
/* Write one field as a single-dataset ODIM_H5 file (RATE, mm/h; start time = valid time minus
 * the field's accumulation). Data are float32, shuffle + deflate 1, gain 1, offset 0, NaN written as nodata
 * -9999000 (undetect -8888000 is declared but never used). The grid must be north-up (no
 * rotation terms in the geotransform), else SQ25_ERR_UNSUPPORTED. Since 1.0. */
SQ25_API int sq25_write_odim(sq25_ctx *ctx, const char *path, const sq25_field *field);


/* 1 when the HDF5 linked at run time is thread-safe (the library then takes no lock of its
 * own around HDF5), 0 when every HDF5 call of the library runs under one library-wide mutex.
 * Since 1.1. */
SQ25_API int sq25_io_hdf5_threadsafe(void);

/* ==== grid: street grids and resampling ==================================================== */
/* A street grid is an sq25_field in a metric CRS (units metres), north-up, square cells. The
 * functions below make an empty one (all NaN) with the right PROJ definition and geotransform;
 * sq25_resample fills it from any other field. */

/* Smallest accepted street-grid cell size, metres. */
#define SQ25_GRID_MIN_CELL_M 10.0

/* Make an empty grid covering the projected box [xmin,xmax] x [ymin,ymax] (metres in the CRS
 * of projdef, a PROJ definition or "EPSG:n" whose unit must be metres) with square cells of
 * cell_m metres (>= SQ25_GRID_MIN_CELL_M). The box is widened up to whole cells from
 * (xmin, ymax). valid_time in UTC seconds. New object: release with sq25_field_destroy.
 * @return SQ25_OK; SQ25_ERR_INVALID_ARG (empty box, NULL); SQ25_ERR_RANGE (cell size);
 * SQ25_ERR_PROJ (projdef unknown or not metric); SQ25_ERR_SIZE_ABSURD. Since 1.0. */
SQ25_API int sq25_grid_create(sq25_ctx *ctx, const char *projdef, double xmin_m, double ymin_m,
                              double xmax_m, double ymax_m, double cell_m, int64_t valid_time,
                              sq25_field **out);
/* Make an empty grid that covers a lon/lat box (degrees, WGS84) in the metric CRS projdef, or
 * in the UTM zone (WGS84, EPSG:326xx / 327xx) of the box centre when projdef is NULL or "".
 * The four box corners and edge midpoints are transformed with PROJ and the grid covers their
 * projected bounding box. Otherwise as sq25_grid_create. Since 1.0. */
SQ25_API int sq25_grid_create_lonlat(sq25_ctx *ctx, const char *projdef, double lon_min,
                                     double lat_min, double lon_max, double lat_max,
                                     double cell_m, int64_t valid_time, sq25_field **out);
/* Make a grid from a text spec:
 *   "lonlat:LONMIN,LATMIN,LONMAX,LATMAX:CELL_M"  a lon/lat box in its UTM zone;
 *   "lonlat:LONMIN,LATMIN,LONMAX,LATMAX:CELL_M:CRS"  the same in the metric CRS given;
 *   "EPSG:n:XMIN,YMIN,XMAX,YMAX:CELL_M"  a projected box (metres) in EPSG:n;
 *   "proj:<proj-string>:XMIN,YMIN,XMAX,YMAX:CELL_M"  the same for a proj-string (no ':').
 * Example: "lonlat:4.73,52.28,5.07,52.43:100". New object: release with sq25_field_destroy.
 * @return SQ25_OK; SQ25_ERR_PARSE with the offending part in sq25_errmsg; or as above.
 * Since 1.0. */
SQ25_API int sq25_grid_parse(sq25_ctx *ctx, const char *spec, int64_t valid_time,
                             sq25_field **out);

/* Resampling methods. */
enum {
    SQ25_RESAMPLE_NEAREST = 0,  /* value of the source cell containing the target centre */
    SQ25_RESAMPLE_BILINEAR = 1, /* bilinear between the 4 source cell centres around it */
    SQ25_RESAMPLE_AREA = 2      /* area-conservative: mean of the source cells overlapping the
                                   target cell; when a source cell is larger than the target
                                   cell this is the value of the covering source cell */
};
/* Resample src onto the grid of dst (any CRS each; target cell centres, or for AREA a
 * sub-sampling of each target cell, are transformed to the source CRS with PROJ). The rate
 * values of dst are overwritten; NaN (nodata) in any contributing source cell propagates to
 * NaN (for AREA: a target cell is NaN when more than half of its samples fall on NaN, else the
 * mean of its valid samples), and targets outside src become NaN. dst takes src's valid time,
 * accumulation and metadata are left as they are. Caller-owned dst. @return SQ25_OK;
 * SQ25_ERR_INVALID_ARG; SQ25_ERR_PROJ; SQ25_ERR_NOMEM. Since 1.0. */
SQ25_API int sq25_resample(const sq25_field *src, sq25_field *dst, int method);
/* Resampling transforms an exact lattice of control points every SQ25_RESAMPLE_ALIGN_CELLS
 * target cells and interpolates between them: a window of a grid whose origin lies a multiple
 * of this many cells from the grid's origin resamples to exactly the same values. Since 1.1. */
#define SQ25_RESAMPLE_ALIGN_CELLS 8

/* ==== sensors: rain gauge time series ===================================================== */
/* An in-memory store of many stations x many regular time steps. Values are rain amounts per
 * step in mm (e.g. mm per 5 min for a 300 s step), float, NaN = missing. Times are the END of
 * each interval (UTC seconds): step k covers (t_k - step_s, t_k]. */
typedef struct sq25_series sq25_series;

/* Make a store of n_stations x n_steps, all NaN, first end time t0, step step_s seconds (> 0).
 * Station ids are "" and coordinates NaN until set. New object: release with
 * sq25_series_destroy. @return SQ25_OK; SQ25_ERR_INVALID_ARG; SQ25_ERR_SIZE_ABSURD;
 * SQ25_ERR_NOMEM. Since 1.0. */
SQ25_API int sq25_series_create(sq25_ctx *ctx, int n_stations, int64_t n_steps,
                                int64_t first_end_time, int step_s, sq25_series **out);
/* Destroy a store. Accepts NULL. Since 1.0. */
SQ25_API void sq25_series_destroy(sq25_series *s);
/* Read an OpenSense-layout netCDF-4 file: a 2-D rain variable (station, time) or (time,
 * station), found by name "rainfall"/"rain"/"precipitation" or by units "mm" / "mm h-1" and
 * its dimensions; "latitude"/"lat" and "longitude"/"lon" per station; "time" in seconds since
 * 1970 (end of interval, regular step); "id" strings if present. scale_factor, add_offset and
 * _FillValue are applied. New object: release with sq25_series_destroy. @return SQ25_OK; the
 * file errors of sq25_read_field; SQ25_ERR_MISSING_DATASET; SQ25_ERR_BAD_DIMENSIONS;
 * SQ25_ERR_TIME_GAP (irregular time axis); SQ25_ERR_NOMEM. Since 1.0. */
SQ25_API int sq25_series_read_netcdf(sq25_ctx *ctx, const char *path, sq25_series **out);
/* Read a CSV file with the header "station_id,lon,lat,time_utc,mm" (mm in the interval that
 * ends at time_utc; times as sq25_time_parse accepts). step_s is the step of the store (> 0);
 * times are rounded to the nearest multiple of step_s. Bad rows (wrong field count, bad
 * number, bad time, station with changing coordinates, negative mm, a second value for the
 * same station and step) are skipped and counted, never fatal: see sq25_series_bad_rows. New object: release with sq25_series_destroy.
 * @return SQ25_OK (also with bad rows); SQ25_ERR_FILE_NOT_FOUND; SQ25_ERR_PARSE (bad header);
 * SQ25_ERR_NO_DATA (no good row); SQ25_ERR_NOMEM. Since 1.0. */
SQ25_API int sq25_series_read_csv(sq25_ctx *ctx, const char *path, int step_s,
                                  sq25_series **out);
/* Number of rows the CSV reader skipped. Since 1.0. */
SQ25_API int64_t sq25_series_bad_rows(const sq25_series *s);
/* Message i (0-based; the first 20 bad rows are kept) as "line N: reason", or NULL past the
 * end. Borrowed. Since 1.0. */
SQ25_API const char *sq25_series_bad_row_message(const sq25_series *s, int i);

SQ25_API int sq25_series_station_count(const sq25_series *s); /* Since 1.0. */
SQ25_API int64_t sq25_series_step_count(const sq25_series *s); /* Since 1.0. */
SQ25_API int sq25_series_step_s(const sq25_series *s);         /* seconds. Since 1.0. */
/* End time (UTC seconds) of step k; 0 for a NULL series or a time beyond int64. Since 1.0. */
SQ25_API int64_t sq25_series_time(const sq25_series *s, int64_t step);
/* Step whose interval ends at t (exactly), or -1. Since 1.0. */
SQ25_API int64_t sq25_series_step_at(const sq25_series *s, int64_t end_time);
/* Station id. Borrowed. Since 1.0. */
SQ25_API const char *sq25_series_station_id(const sq25_series *s, int station);
/* Station position in lon/lat degrees (WGS84); NaN when unknown. Since 1.0. */
SQ25_API void sq25_series_station_lonlat(const sq25_series *s, int station, double *lon,
                                         double *lat);
/* Set a station's id (copied) and position (NaN = unknown; otherwise lon -180..180, lat
 * -90..90). @return SQ25_OK; SQ25_ERR_INVALID_ARG; SQ25_ERR_RANGE (position out of range,
 * since 1.1); SQ25_ERR_NOMEM. Since 1.0. */
SQ25_API int sq25_series_set_station(sq25_series *s, int station, const char *id, double lon,
                                     double lat);
/* The values: station-major, value(station, step) at [station*n_steps + step], mm per step,
 * NaN missing. Borrowed; writable. Since 1.0. */
SQ25_API float *sq25_series_data(sq25_series *s);
/* The same, read-only. Borrowed. Since 1.0. */
SQ25_API const float *sq25_series_data_const(const sq25_series *s);
/* Copy the steps whose end time lies in [from, to] into a new store (all stations).
 * New object: release with sq25_series_destroy. @return SQ25_OK; SQ25_ERR_NO_DATA when no
 * step falls in the window; SQ25_ERR_NOMEM. Since 1.0. */
SQ25_API int sq25_series_window(const sq25_series *s, int64_t from, int64_t to,
                                sq25_series **out);

/* ==== qc: sensor and radar quality control ================================================= */
/* Quality control of personal weather stations after de Vos et al. (2019, GRL,
 * doi:10.1029/2019GL083731), as in the pypwsqc package. Each station is compared with its
 * neighbours (stations within a range); the neighbour reference is the median of the
 * neighbours that report at that step. Flags are kept per station and step (nothing is
 * dropped); docs/sensors.md describes every parameter. */
typedef struct sq25_qc_options sq25_qc_options;
typedef struct sq25_qc_result sq25_qc_result;

/* QC parameters (keys of sq25_qc_options_set), with their defaults (PWSQC's). Counts of
 * intervals and amounts per interval are given for REFERENCE_STEP_S (300 s): a series of
 * another step is judged with counts scaled by REFERENCE_STEP_S / step (the same durations)
 * and amounts scaled by step / REFERENCE_STEP_S (the same intensities in mm/h), so 1-minute
 * gauges and 5-minute PWS share one configuration. docs/sensors.md lists the mm/h and
 * duration equivalents. Since 1.1 the outlier filter follows the PWSQC R code (see
 * SO_MIN_MATCHES, SO_RAINY_MIN). */
enum {
    SQ25_QC_NEIGHBOUR_RANGE_M = 0, /* neighbours within this distance, metres: 10000 */
    SQ25_QC_MIN_NEIGHBOURS = 1,    /* fewer reporting neighbours = cannot judge: 5 */
    SQ25_QC_FZ_INTERVALS = 2,      /* faulty-zero window, intervals: 6 (30 min) */
    SQ25_QC_HI_THRESHOLD_A = 3,    /* high influx: reference threshold, mm per 5 min: 0.4
                                      (4.8 mm/h) */
    SQ25_QC_HI_THRESHOLD_B = 4,    /* high influx: station threshold, mm per 5 min: 10
                                      (120 mm/h) */
    SQ25_QC_SO_WINDOW = 5,         /* station-outlier window, intervals: 4032 (two weeks),
                                      extended back until it holds SO_RAINY_MIN wet ones */
    SQ25_QC_SO_GAMMA = 6,          /* median correlation below this = outlier: 0.15 */
    SQ25_QC_SO_MIN_MATCHES = 7,    /* a neighbour counts with more than this many intervals
                                      in the window where both stations report: 200 */
    SQ25_QC_BIAS_START = 8,        /* initial bias-correction factor: 1.24 */
    SQ25_QC_BIAS_BETA = 9,         /* relative change of the factor that updates it: 0.2 */
    SQ25_QC_SO_RAINY_MIN = 10,     /* wet intervals of the station the window must hold: 100
                                      (Since 1.1) */
    SQ25_QC_REFERENCE_STEP_S = 11, /* the step the counts and amounts are given for, s: 300
                                      (Since 1.1) */
    SQ25_QC_IC_ENABLE = 12,        /* indicator-correlation filter (Bardossy et al. 2021, as in
                                      pypwsqc) on: 1, off: 0 (default 0) (Since 1.1) */
    SQ25_QC_IC_QUANTILE = 13,      /* its indicator threshold: this quantile of each series'
                                      wet and dry values: 0.99 (Since 1.1) */
    SQ25_QC_IC_MIN_CORR = 14,      /* flagged when the median indicator correlation with the
                                      neighbours is below this: 0.3 (Since 1.1) */
    SQ25_QC_PARAM_COUNT_ = 15
};
/* Per-step flag bits (sq25_qc_flags). 0 = passed all filters. */
enum {
    SQ25_QC_FLAG_FAULTY_ZERO = 1,    /* station 0 while neighbours' median > 0 for a window */
    SQ25_QC_FLAG_HIGH_INFLUX = 2,    /* implausible amount compared with the neighbours */
    SQ25_QC_FLAG_OUTLIER = 4,        /* median correlation with neighbours below gamma */
    SQ25_QC_FLAG_FEW_NEIGHBOURS = 8, /* too few reporting neighbours: FZ/HI not judged */
    SQ25_QC_FLAG_SO_UNKNOWN = 16,    /* too few matched neighbours: outlier not judged */
    SQ25_QC_FLAG_MISSING = 32,       /* no value at this step */
    SQ25_QC_FLAG_INDICATOR = 64      /* indicator correlation too low (only with IC_ENABLE);
                                        Since 1.1 */
};
/* Flags that mean "do not use this value". */
#define SQ25_QC_REJECT                                                                      \
    (SQ25_QC_FLAG_FAULTY_ZERO | SQ25_QC_FLAG_HIGH_INFLUX | SQ25_QC_FLAG_OUTLIER |              \
     SQ25_QC_FLAG_INDICATOR)

/* Options with the defaults above. New object: release with sq25_qc_options_destroy.
 * @return SQ25_OK or SQ25_ERR_NOMEM. Since 1.0. */
SQ25_API int sq25_qc_options_create(sq25_ctx *ctx, sq25_qc_options **out);
SQ25_API void sq25_qc_options_destroy(sq25_qc_options *o); /* accepts NULL. Since 1.0. */
/* Set parameter key (SQ25_QC_*) to value. @return SQ25_OK; SQ25_ERR_INVALID_ARG (unknown
 * key); SQ25_ERR_RANGE (value not allowed, e.g. negative range). Since 1.0. */
SQ25_API int sq25_qc_options_set(sq25_qc_options *o, int key, double value);
/* Current value of a parameter (NaN for an unknown key). Since 1.0. */
SQ25_API double sq25_qc_options_get(const sq25_qc_options *o, int key);

/* Run the filters on every station and step of s (o may be NULL for defaults). Running sums
 * over the outlier window keep the cost linear in the number of steps. New object: release
 * with sq25_qc_result_destroy. @return SQ25_OK; SQ25_ERR_PROJ (station positions);
 * SQ25_ERR_NOMEM. Since 1.0. */
SQ25_API int sq25_qc_run(const sq25_series *s, const sq25_qc_options *o, sq25_qc_result **out);
SQ25_API void sq25_qc_result_destroy(sq25_qc_result *r); /* accepts NULL. Since 1.0. */
/* The flags: uint8 per station and step, same layout as sq25_series_data. Borrowed.
 * Since 1.0. */
SQ25_API const uint8_t *sq25_qc_flags(const sq25_qc_result *r);
/* Final bias-correction factor of a station (multiply its values by it); NaN when it could not
 * be estimated. Since 1.0. */
SQ25_API double sq25_qc_bias_factor(const sq25_qc_result *r, int station);
/* Bias-correction factor of a station at a step (the PWSQC bias-correction timeline: the
 * factor in force for that step's value); NaN out of range. Since 1.1. */
SQ25_API double sq25_qc_bias_factor_at(const sq25_qc_result *r, int station, int64_t step);
/* Indicator correlation of a station (median over its neighbours) when the filter ran, else
 * NaN. Since 1.1. */
SQ25_API double sq25_qc_indicator_correlation(const sq25_qc_result *r, int station);
/* Copy s into a new store where rejected values (flags in reject_mask) are NaN and every
 * other value is multiplied by its bias-correction factor at that step, as the method
 * intends. New object: release with sq25_series_destroy. Since 1.1. */
SQ25_API int sq25_qc_apply_corrected(const sq25_series *s, const sq25_qc_result *r,
                                     int reject_mask, sq25_series **out);
/* Number of neighbours of a station within the range. Since 1.0. */
SQ25_API int sq25_qc_neighbour_count(const sq25_qc_result *r, int station);
/* Copy s into a new store where every value whose flags intersect reject_mask is NaN.
 * New object: release with sq25_series_destroy. Since 1.0. */
SQ25_API int sq25_qc_apply(const sq25_series *s, const sq25_qc_result *r, int reject_mask,
                           sq25_series **out);

/* ==== interp: sensors onto the street grid, radar merging ================================== */
/* Point values (any unit; the grid functions write them as they are) interpolated onto a
 * street grid or onto other points. Positions are lon/lat degrees (WGS84), transformed with
 * PROJ into the metric CRS of the grid (or, for point targets, the UTM zone of the points). */
typedef struct sq25_interp_options sq25_interp_options;

enum {
    SQ25_INTERP_NEAREST = 0, /* value of the nearest sensor (within the radius) */
    SQ25_INTERP_IDW = 1,     /* inverse distance weighting of the k nearest within radius */
    SQ25_INTERP_KRIGING = 2, /* ordinary kriging (or with a linear drift), local neighbours */
    SQ25_INTERP_MERGE = 3    /* radar background + kriging of sensor-minus-radar residuals */
};
enum { SQ25_VARIOGRAM_EXPONENTIAL = 1, SQ25_VARIOGRAM_SPHERICAL = 2 };
/* Interpolation parameters (keys of sq25_interp_options_set) and defaults. */
enum {
    SQ25_INTERP_POWER = 0,       /* IDW power: 2 */
    SQ25_INTERP_RADIUS_M = 1,    /* search radius, metres (0 = unlimited): 10000 */
    SQ25_INTERP_NEIGHBOURS = 2,  /* k nearest used per cell: 12 */
    SQ25_INTERP_VARIOGRAM = 3,   /* SQ25_VARIOGRAM_*: exponential */
    SQ25_INTERP_NUGGET = 4,      /* variogram nugget (unit^2); NaN = fit to the data: NaN */
    SQ25_INTERP_SILL = 5,        /* partial sill (unit^2); NaN = fit: NaN */
    SQ25_INTERP_RANGE_M = 6,     /* range parameter, metres; NaN = fit: NaN */
    SQ25_INTERP_DRIFT = 7,       /* 0 ordinary kriging, 1 linear drift in x,y: 0 */
    SQ25_INTERP_MIN_SENSORS = 8, /* fewer valid sensors: kriging/merge fall back: 5 */
    SQ25_INTERP_BLOCK_CELLS = 9, /* cells per side of a block sharing one neighbourhood: 16 */
    SQ25_INTERP_PARAM_COUNT_ = 10
};
/* Options with the defaults above. New object: release with sq25_interp_options_destroy.
 * Since 1.0. */
SQ25_API int sq25_interp_options_create(sq25_ctx *ctx, sq25_interp_options **out);
SQ25_API void sq25_interp_options_destroy(sq25_interp_options *o); /* NULL ok. Since 1.0. */
/* Set parameter key to value. @return SQ25_OK; SQ25_ERR_INVALID_ARG; SQ25_ERR_RANGE.
 * Since 1.0. */
SQ25_API int sq25_interp_options_set(sq25_interp_options *o, int key, double value);
/* Current value of a parameter (NaN for an unknown key). Since 1.0. */
SQ25_API double sq25_interp_options_get(const sq25_interp_options *o, int key);

/* Fit a variogram model (SQ25_VARIOGRAM_*) to n points (projected x,y in metres, values z;
 * pointer + byte stride arrays, NaN z ignored): empirical variogram in 15 distance classes up
 * to half the largest distance, then a grid search over the range with non-negative weighted
 * least squares for nugget and partial sill (GSL). Outputs in unit^2 and metres.
 * @return SQ25_OK; SQ25_ERR_TOO_FEW (fewer than 4 valid points); SQ25_ERR_NO_DATA (no
 * variance). Since 1.0. */
SQ25_API int sq25_variogram_fit(sq25_ctx *ctx, int model, size_t n, const double *x_m,
                                size_t x_stride, const double *y_m, size_t y_stride,
                                const double *z, size_t z_stride, double *nugget,
                                double *partial_sill, double *range_m);

/* Interpolate n sensor values (lon/lat degrees, value; NaN values ignored) onto the grid of
 * `grid` (its data are overwritten; cells with no sensor within the radius become NaN).
 * method: NEAREST, IDW or KRIGING. variance: NULL, or a field on the same grid that receives
 * the kriging variance (unit^2; NaN for the other methods). Kriging with fewer than
 * MIN_SENSORS valid sensors falls back to IDW (variance NaN). Caller-owned grids.
 * @return SQ25_OK; SQ25_ERR_INVALID_ARG; SQ25_ERR_GRID_MISMATCH (variance grid);
 * SQ25_ERR_NO_DATA (no valid sensor); SQ25_ERR_PROJ; SQ25_ERR_NOMEM. Since 1.0. */
SQ25_API int sq25_interp_grid(sq25_ctx *ctx, const sq25_interp_options *o, int method,
                              size_t n, const double *lon, size_t lon_stride, const double *lat,
                              size_t lat_stride, const double *value, size_t value_stride,
                              sq25_field *grid, sq25_field *variance);
/* Interpolate n sensor values onto m target points (lon/lat degrees), writing out[j] (and
 * variance[j] for kriging when variance is not NULL; caller-owned buffers). With
 * leave_one_out != 0, m must equal n, the targets are the sensors, and each sensor is
 * predicted from the others (cross-validation). @return as sq25_interp_grid. Since 1.0. */
SQ25_API int sq25_interp_points(sq25_ctx *ctx, const sq25_interp_options *o, int method,
                                size_t n, const double *lon, size_t lon_stride,
                                const double *lat, size_t lat_stride, const double *value,
                                size_t value_stride, size_t m, const double *target_lon,
                                size_t target_lon_stride, const double *target_lat,
                                size_t target_lat_stride, int leave_one_out, double *out,
                                size_t out_stride, double *variance, size_t variance_stride);
/* Radar-anchored merging onto `grid`: the radar field (any grid and CRS, mm/h; NULL = none) is
 * resampled bilinearly as background; sensor values (mm/h) minus the radar at each sensor are
 * kriged and added (result clipped at 0). Fallbacks: fewer than MIN_SENSORS sensors with a
 * valid radar value: radar only; radar NULL: kriging of the sensors (IDW below MIN_SENSORS).
 * Cells where the radar is NaN stay NaN. The grid keeps its own valid time. variance: NULL
 * or a field on the grid for the residual kriging variance (NaN when not kriged). @return as sq25_interp_grid.
 * Since 1.0. */
SQ25_API int sq25_interp_merge(sq25_ctx *ctx, const sq25_interp_options *o,
                               const sq25_field *radar, size_t n, const double *lon,
                               size_t lon_stride, const double *lat, size_t lat_stride,
                               const double *value, size_t value_stride, sq25_field *grid,
                               sq25_field *variance);

/* ==== motion: optical flow ================================================================= */
/* Motion is estimated on dBR = 10 log10(R): rates under the rain threshold become a floor
 * value equal to the threshold's dBR (a gap of 0 dB: the floor joins the rain continuously,
 * which gave unbiased sub-pixel motion where a 5 dB step did not; docs/nowcast.md), rates above
 * the clip value are clipped, isolated spikes more than
 * 10 dB above all their neighbours are flattened (clutter), and NaN cells are masked (no
 * data, never "dry"). The result is a dense field u (columns, eastward on the usual
 * north-up grid) and v (rows, southward), in pixels per time step of the input frames: a
 * feature at (col, row) in one frame is at (col + u, row + v) one step later. Frames with
 * almost no rain give zero motion; the output never holds NaN. docs/nowcast.md gives the
 * methods, defaults and measured skill. */
enum {
    SQ25_MOTION_LK = 1,   /* sparse Lucas-Kanade: Shi-Tomasi features, pyramidal tracking,
                             outlier removal, interpolation to every pixel (pysteps' default) */
    SQ25_MOTION_DENSE = 2 /* dense multiscale least squares: coarse-to-fine windowed
                             Lucas-Kanade with warping, all frame pairs solved jointly */
};

/* Options of sq25_motion_estimate, opaque; set through the typed setters below. */
typedef struct sq25_motion_options sq25_motion_options;

/* Create options holding the defaults: method SQ25_MOTION_DENSE, rain threshold 0.1 mm/h,
 * clip 100 mm/h, 5 pyramid levels, window radius 9 px (per level), 3 iterations per level,
 * 1000 features per frame (lk). New object: release with sq25_motion_options_destroy.
 * @return SQ25_OK, SQ25_ERR_INVALID_ARG, SQ25_ERR_NOMEM. Since 1.0. */
SQ25_API int sq25_motion_options_create(sq25_ctx *ctx, sq25_motion_options **out);
/* Destroy options. Accepts NULL. Since 1.0. */
SQ25_API void sq25_motion_options_destroy(sq25_motion_options *opt);
/* Select the method (SQ25_MOTION_*). @return SQ25_OK or SQ25_ERR_RANGE. Since 1.0. */
SQ25_API int sq25_motion_options_set_method(sq25_motion_options *opt, int method);
/* Rate in mm/h under which a cell counts as dry (> 0, default 0.1). @return SQ25_OK or
 * SQ25_ERR_RANGE. Since 1.0. */
SQ25_API int sq25_motion_options_set_rain_threshold(sq25_motion_options *opt, double mmh);
/* Rates above mm/h are clipped before the flow (> 0, default 100). @return SQ25_OK or
 * SQ25_ERR_RANGE. Since 1.0. */
SQ25_API int sq25_motion_options_set_clip(sq25_motion_options *opt, double mmh);
/* Pyramid levels of the dense method, 1..8 (default 5; the lk method uses 4). @return
 * SQ25_OK or SQ25_ERR_RANGE. Since 1.0. */
SQ25_API int sq25_motion_options_set_levels(sq25_motion_options *opt, int levels);
/* Radius in pixels of the least-squares window at each pyramid level, 1..100 (default 9 for
 * dense; the lk tracking window, default 12, takes the same value). @return SQ25_OK or
 * SQ25_ERR_RANGE. Since 1.0. */
SQ25_API int sq25_motion_options_set_window_radius(sq25_motion_options *opt, int radius_px);
/* Warping iterations per pyramid level of the dense method, 1..100 (default 3). @return
 * SQ25_OK or SQ25_ERR_RANGE. Since 1.0. */
SQ25_API int sq25_motion_options_set_iterations(sq25_motion_options *opt, int iterations);
/* Most features tracked per frame pair by the lk method, 1..100000 (default 1000).
 * @return SQ25_OK or SQ25_ERR_RANGE. Since 1.0. */
SQ25_API int sq25_motion_options_set_max_corners(sq25_motion_options *opt, int max_corners);
/* Method from its name, "lk" or "dense" (as the CLI's --method). @return SQ25_OK or
 * SQ25_ERR_INVALID_ARG. Since 1.0. */
SQ25_API int sq25_motion_method_from_name(const char *name, int *method);
/* Estimate the motion from n_frames frames (2..16, oldest first, same grid, strictly
 * increasing valid times and an even time step; 3 is usual). options may be NULL
 * (defaults). u and v: caller-owned buffers of width*height floats each, written in pixels
 * per time step. Not thread-safe on one context. @return SQ25_OK; SQ25_ERR_TOO_FEW;
 * SQ25_ERR_GRID_MISMATCH; SQ25_ERR_TIME_ORDER; SQ25_ERR_INVALID_ARG; SQ25_ERR_NOMEM.
 * Since 1.0. */
SQ25_API int sq25_motion_estimate(sq25_ctx *ctx, const sq25_field *const *frames, int n_frames,
                                  const sq25_motion_options *options, float *u, float *v);

/* ==== advect: extrapolation ================================================================ */
/* Backward semi-Lagrangian extrapolation: each cell traces its trajectory back along the
 * motion (bilinear in u, v; every parcel keeps the motion of its departure point, i.e. the
 * motion field moves with the rain; solved by continuation over `substeps` equal sub-steps
 * per time step) and takes the latest rate at the departure point (bilinear). Rain from
 * outside the grid or from nodata becomes NaN; no rain is created (forecast max <= latest
 * max). */

/* Forecast n_leads lead times, one time step (step_s seconds, the motion's step) apart.
 * u, v: motion in pixels per step (width*height each, borrowed for the call). substeps:
 * trajectory sub-steps per time step, 1..3600 (1 or 2 are usual; the CLI uses 2).
 * forecasts: caller-owned array of n_leads pointers that receives new objects (release each
 * with sq25_field_destroy) with valid times latest + k*step_s, k = 1..n_leads;
 * on failure every entry is NULL. @return SQ25_OK; SQ25_ERR_INVALID_ARG; SQ25_ERR_RANGE;
 * SQ25_ERR_SIZE_ABSURD (grid under 2x2); SQ25_ERR_NOMEM. Since 1.0. */
SQ25_API int sq25_extrapolate(sq25_ctx *ctx, const sq25_field *latest, const float *u,
                              const float *v, int step_s, int n_leads, int substeps,
                              sq25_field **forecasts);
/* Rain accumulation in mm from the latest frame's time to n_steps*step_s seconds later: the
 * advected rate integrated in time with the trapezoidal rule over substeps sub-steps per time step
 * (e.g. 5 for 1-minute sub-steps of 5-minute frames), so a fast cell leaves a continuous
 * track. accum_mm: caller-owned buffer of width*height floats (NaN where any sample was
 * nodata). @return as sq25_extrapolate. Since 1.0. */
SQ25_API int sq25_extrapolate_accumulation(sq25_ctx *ctx, const sq25_field *latest,
                                           const float *u, const float *v, int step_s,
                                           int n_steps, int substeps, float *accum_mm);


/* ==== speed: threads, streamed extrapolation, output compression =========================== */
/* Threads. Each context has a pool of worker threads that the row- and block-parallel parts
 * use (pyramids, the dense motion solver, trajectories, sampling, resampling, the warnings'
 * window sums, interpolation onto street grids). Results are bit-identical whatever the
 * thread count. The workers start on the first parallel step and stop with
 * sq25_ctx_destroy; the calling thread works too, so 1 means no extra thread. A context is
 * still used by one thread at a time. */

/* Threads the context's parallel steps use: 0 (the default) = the number of online CPUs,
 * 1 = the calling thread only, up to 256. Takes effect at the next parallel step.
 * @return SQ25_OK, SQ25_ERR_INVALID_ARG (NULL ctx) or SQ25_ERR_RANGE. Since 1.1. */
SQ25_API int sq25_ctx_set_threads(sq25_ctx *ctx, int threads);
/* Threads the parallel steps use now (at least 1; the online CPUs when 0 was set). Since 1.1. */
SQ25_API int sq25_ctx_threads(const sq25_ctx *ctx);

/* Streamed extrapolation: the same forecast as sq25_extrapolate, one lead at a time into a
 * buffer of the caller's, so that a writer can store each lead as it is computed and no
 * lead is held longer than needed. */
typedef struct sq25_extrapolator sq25_extrapolator;

/* Start an extrapolation of latest along u, v (pixels per step, width*height each) with
 * substeps trajectory sub-steps per step (1..3600). latest, u and v are borrowed: they must
 * stay valid and unchanged until sq25_extrapolator_destroy. New object: release with
 * sq25_extrapolator_destroy. @return SQ25_OK; SQ25_ERR_INVALID_ARG; SQ25_ERR_RANGE;
 * SQ25_ERR_SIZE_ABSURD (grid under 2x2); SQ25_ERR_NOMEM. Since 1.1. */
SQ25_API int sq25_extrapolator_create(sq25_ctx *ctx, const sq25_field *latest, const float *u,
                                      const float *v, int substeps, sq25_extrapolator **out);
/* Compute the next lead (one time step after the previous one; the first call gives lead 1)
 * into out, a caller-owned buffer of width*height floats (mm/h, NaN = no data), bit-identical
 * to the same lead of sq25_extrapolate. @return SQ25_OK or SQ25_ERR_INVALID_ARG. Since 1.1. */
SQ25_API int sq25_extrapolator_next(sq25_extrapolator *ex, float *out);
/* Leads computed so far. Since 1.1. */
SQ25_API int sq25_extrapolator_lead(const sq25_extrapolator *ex);
/* Destroy an extrapolator. Accepts NULL. Since 1.1. */
SQ25_API void sq25_extrapolator_destroy(sq25_extrapolator *ex);

/* Output compression of an ODIM_H5 writer, for the datasets added after the call: 0 = none
 * (fastest, largest), 1..9 = HDF5 byte shuffle + deflate at that zlib level (1, the default,
 * suits a real-time cycle and uses zlib's run-length strategy, fast on fields that are mostly
 * runs of 0 and nodata; 9 an archive). Any HDF5 reader reads every level (standard shuffle and
 * deflate filters). The compressed bytes of a dataset do not depend on the thread count.
 * @return SQ25_OK, SQ25_ERR_INVALID_ARG or SQ25_ERR_RANGE. Since 1.1. */
SQ25_API int sq25_odim_writer_set_compression(sq25_odim_writer *w, int deflate_level);

/* ==== warn: warning levels per street cell and target ====================================== */
/* The warning model (docs/warnings.md). Input: a forecast as fields of rain rate (mm/h) at
 * leads step, 2*step, ... after the issue time, all on one grid; frame i holds the rate over
 * the interval ending at lead (i+1)*step and its valid time must be issue + (i+1)*step.
 * Per cell the model gives the accumulation (mm) from the issue time to each lead
 * (sum of rate * step/3600; NaN if any needed lead is NaN), the peak rate (mm/h) over the
 * horizon, the first lead (min) at which the accumulation reaches each level's threshold,
 * and a neighbourhood probability per level: at each lead, the fraction of valid cells inside
 * a window around the cell whose accumulation to that lead reaches the threshold; the
 * window's half size is the lead's radius (radius_at_issue + growth * lead) in cells, so it is
 * a square of (2n+1) x (2n+1) cells (summed-area tables, O(cells) per lead and level). The
 * probability of a level is the maximum of that fraction over the leads up to the horizon; a
 * level is issued where it reaches the probability threshold. Grids must be in a projected
 * CRS whose unit is a length (metres, feet...): geographic lon/lat grids give
 * SQ25_ERR_UNSUPPORTED. */

/* Largest number of warning levels. */
#define SQ25_WARN_MAX_LEVELS 8

typedef struct sq25_warn_options sq25_warn_options;
typedef struct sq25_warning sq25_warning;
typedef struct sq25_targets sq25_targets;

/* Options with the defaults: three levels by 1-hour totals after the DWD heavy-rain
 * criteria (level 1 "markant" >= 15 mm, level 2 "Unwetter" >= 25 mm, level 3 "extrem"
 * >= 40 mm), horizon 3600 s, radius 0 m at issue growing 100 m per minute of lead (1 km per
 * 10 min), probability threshold 0.3, target sampling radius 250 m. New object: release with
 * sq25_warn_options_destroy. @return SQ25_OK or SQ25_ERR_NOMEM. Since 1.0. */
SQ25_API int sq25_warn_options_create(sq25_ctx *ctx, sq25_warn_options **out);
/* Destroy options. Accepts NULL. Since 1.0. */
SQ25_API void sq25_warn_options_destroy(sq25_warn_options *opt);
/* Replace the levels: count (1..SQ25_WARN_MAX_LEVELS) thresholds in mm over the horizon,
 * strictly increasing; level k (1-based) is thresholds_mm[k-1]. names: count strings
 * (copied, up to 31 bytes each) or NULL for "level 1", "level 2" ... @return SQ25_OK or
 * SQ25_ERR_INVALID_ARG / SQ25_ERR_RANGE. Since 1.0. */
SQ25_API int sq25_warn_options_set_levels(sq25_warn_options *opt, int count,
                                          const double *thresholds_mm,
                                          const char *const *names);
/* Neighbourhood radius in metres at lead L minutes: radius_at_issue_m + growth_m_per_min * L
 * (both >= 0). @return SQ25_OK or SQ25_ERR_RANGE. Since 1.0. */
SQ25_API int sq25_warn_options_set_radius(sq25_warn_options *opt, double radius_at_issue_m,
                                          double growth_m_per_min);
/* Probability (0 < p <= 1) at or above which a level is issued for a cell, and the default
 * for targets without their own. @return SQ25_OK or SQ25_ERR_RANGE. Since 1.0. */
SQ25_API int sq25_warn_options_set_probability_threshold(sq25_warn_options *opt,
                                                         double probability);
/* Accumulation horizon in seconds (> 0, a multiple of the lead step when computing; the
 * level thresholds apply to the accumulation over it). @return SQ25_OK or SQ25_ERR_RANGE.
 * Since 1.0. */
SQ25_API int sq25_warn_options_set_horizon(sq25_warn_options *opt, int horizon_s);
/* Most points of a calibration map. */
#define SQ25_WARN_MAX_CALIBRATION 16
/* Calibration of the probabilities: a monotone piecewise-linear map from the raw
 * neighbourhood probability to the observed frequency of exceedance, given as count points
 * (raw[i], calibrated[i]) with raw strictly increasing and calibrated non-decreasing, all in
 * [0, 1]; raw probabilities outside [raw[0], raw[count-1]] take the end values. It is applied
 * before levels are issued and to every reported probability. count 0 = no calibration (the
 * default: raw neighbourhood fractions). bench/bench_warn fits such a map (pool-adjacent-
 * violators over probability bins) on a hindcast; docs/warnings.md gives the one fitted on the
 * Belgian storm of 2021-07-04. @return SQ25_OK, SQ25_ERR_RANGE (count, order or range).
 * Since 1.0. */
SQ25_API int sq25_warn_options_set_calibration(sq25_warn_options *opt, int count,
                                               const double *raw, const double *calibrated);
/* Radius in metres around a target point (and along a target line) within which grid cells
 * are sampled; the maximum counts (>= 0; 0 = the cell under the point). @return SQ25_OK or
 * SQ25_ERR_RANGE. Since 1.0. */
SQ25_API int sq25_warn_options_set_target_radius(sq25_warn_options *opt, double radius_m);
/* The halo, in cells of cell_m metres, that a window of a street grid needs around it so
 * that a warning computed on window + halo gives, on the window's own cells, exactly what a
 * warning on the whole grid gives there (tiled runs, python/sq25/distributed.py): the widest
 * neighbourhood window (at the horizon) or the target sampling reach, whichever is larger.
 * @return SQ25_OK; SQ25_ERR_INVALID_ARG; SQ25_ERR_RANGE (cell_m not > 0). Since 1.1. */
SQ25_API int sq25_warn_options_halo_cells(const sq25_warn_options *opt, double cell_m,
                                          int *cells);

/* Compute the warning from frame_count forecast fields (borrowed for the call; what the
 * warning keeps of them is copied into ctx) at leads of
 * lead_step_s seconds after issue_time (UTC s). opt may be NULL for the defaults (copied).
 * New object: release with sq25_warning_destroy. @return SQ25_OK; SQ25_ERR_INVALID_ARG;
 * SQ25_ERR_GRID_MISMATCH if the fields differ in grid; SQ25_ERR_TIME_MISMATCH if a valid time
 * is not issue + lead or the horizon is not a multiple of the step; SQ25_ERR_TOO_FEW if the
 * frames do not reach the horizon; SQ25_ERR_UNSUPPORTED for a geographic grid; SQ25_ERR_PROJ;
 * SQ25_ERR_NOMEM. Since 1.0. */
SQ25_API int sq25_warn_compute(sq25_ctx *ctx, const sq25_warn_options *opt,
                               const sq25_field *const *frames, int frame_count,
                               int lead_step_s, int64_t issue_time, sq25_warning **out);
/* Destroy a warning. Accepts NULL. Since 1.0. */
SQ25_API void sq25_warning_destroy(sq25_warning *w);
/* Issue time (UTC s), horizon (s), lead step (s), number of levels. Since 1.0. */
SQ25_API int64_t sq25_warning_issue_time(const sq25_warning *w);
SQ25_API int sq25_warning_horizon_s(const sq25_warning *w);
SQ25_API int sq25_warning_lead_step_s(const sq25_warning *w);
SQ25_API int sq25_warning_level_count(const sq25_warning *w);
/* Threshold (mm over the horizon) of level 1..count, NaN for others. Since 1.0. */
SQ25_API double sq25_warning_level_threshold_mm(const sq25_warning *w, int level);
/* Name of level 1..count ("" for others). Borrowed: valid as long as w. Since 1.0. */
SQ25_API const char *sq25_warning_level_name(const sq25_warning *w, int level);
/* Record the name of an input file (copied) for the outputs' "inputs" list.
 * @return SQ25_OK, SQ25_ERR_INVALID_ARG or SQ25_ERR_NOMEM. Since 1.0. */
SQ25_API int sq25_warning_add_input(sq25_warning *w, const char *name);
/* A new warning holding the window of width x height cells at (col0, row0) of w: its grid,
 * accumulations, peak rates, probabilities, onsets, levels, cell and input states, options and
 * inputs (targets are
 * not copied: evaluate them on the uncropped warning, whose cells around them are whole).
 * The writers then describe the window only, e.g. one tile of a tiled run without its halo.
 * New object: release with sq25_warning_destroy. @return SQ25_OK; SQ25_ERR_INVALID_ARG;
 * SQ25_ERR_RANGE (window not inside the grid); SQ25_ERR_NOMEM. Since 1.1. */
SQ25_API int sq25_warning_crop(const sq25_warning *w, int col0, int row0, int width,
                               int height, sq25_warning **out);

/* Grids of the warning, each a new field on the forecast grid (valid time = issue + horizon,
 * except as noted). New object: release with sq25_field_destroy. @return SQ25_OK,
 * SQ25_ERR_RANGE for a bad level or window, SQ25_ERR_NOMEM. Since 1.0. */
/* Accumulation in mm from the issue time over the next `minutes` (a multiple of the lead
 * step, up to the horizon; e.g. 15, 30, 60). Valid time = issue + minutes. */
SQ25_API int sq25_warning_accumulation(const sq25_warning *w, int minutes, sq25_field **out);
/* Peak rate in mm/h over the leads up to the horizon (the peak 5-minute intensity when the
 * step is 5 min; with 15-min steps, the peak 15-min mean rate). */
SQ25_API int sq25_warning_peak_rate(const sq25_warning *w, sq25_field **out);
/* Lead in minutes at which the accumulation first reaches level's threshold; NaN if never
 * within the horizon or no data. */
SQ25_API int sq25_warning_onset(const sq25_warning *w, int level, sq25_field **out);
/* Probability (0..1) that level's threshold is crossed within the horizon (see above). */
SQ25_API int sq25_warning_probability(const sq25_warning *w, int level, sq25_field **out);
/* The highest issued level per cell (0 = none, NaN = no data), as float values. */
SQ25_API int sq25_warning_levels(const sq25_warning *w, sq25_field **out);

/* Targets: named points and lines to warn, e.g. an underpass, a basement, a road. */
/* An empty list. New object: release with sq25_targets_destroy. Since 1.0. */
SQ25_API int sq25_targets_create(sq25_ctx *ctx, sq25_targets **out);
/* Read targets from a CSV file (header "id,lon,lat,name"; optional 5th column
 * prob_threshold) or a GeoJSON FeatureCollection (detected by a leading '{') of Point and
 * LineString features with properties id, name and optional prob_threshold; lon/lat in
 * degrees WGS84. Bad rows or features are skipped and recorded as problems ("path:line:
 * reason"), also logged as warnings; good rows are kept. New object: release with
 * sq25_targets_destroy. @return SQ25_OK when at least one target was read;
 * SQ25_ERR_FILE_NOT_FOUND, SQ25_ERR_READ, SQ25_ERR_FILE_EMPTY; SQ25_ERR_PARSE when the file
 * cannot be parsed or holds no good target (detail: the first problem). Since 1.0. */
SQ25_API int sq25_targets_read(sq25_ctx *ctx, const char *path, sq25_targets **out);
/* Add a point (lon, lat degrees) or a line of vertex_count points (lonlat = lon0, lat0, lon1,
 * lat1 ...; caller-owned, copied). id and name are copied (name may be NULL).
 * prob_threshold: in (0, 1], or NaN for the warning's default. @return SQ25_OK,
 * SQ25_ERR_INVALID_ARG, SQ25_ERR_RANGE, SQ25_ERR_NOMEM. Since 1.0. */
SQ25_API int sq25_targets_add_point(sq25_targets *t, const char *id, const char *name,
                                    double lon, double lat, double prob_threshold);
SQ25_API int sq25_targets_add_line(sq25_targets *t, const char *id, const char *name,
                                   size_t vertex_count, const double *lonlat,
                                   double prob_threshold);
/* Destroy targets. Accepts NULL. Since 1.0. */
SQ25_API void sq25_targets_destroy(sq25_targets *t);
/* A new list of the targets at indices[0..n-1] of t (in that order; everything copied, the
 * per-target probability thresholds too), e.g. the targets one tile of a tiled run evaluates.
 * New object: release with sq25_targets_destroy. @return SQ25_OK; SQ25_ERR_INVALID_ARG;
 * SQ25_ERR_RANGE (an index not below the count); SQ25_ERR_NOMEM. Since 1.1. */
SQ25_API int sq25_targets_select(const sq25_targets *t, size_t n, const size_t *indices,
                                 sq25_targets **out);
/* Number of targets. Since 1.0. */
SQ25_API size_t sq25_targets_count(const sq25_targets *t);
/* Id and name of target i ("" out of range). Borrowed: valid as long as t. Since 1.0. */
SQ25_API const char *sq25_targets_id(const sq25_targets *t, size_t i);
SQ25_API const char *sq25_targets_name(const sq25_targets *t, size_t i);
/* Vertices of target i (1 for a point). Since 1.0. */
SQ25_API size_t sq25_targets_vertex_count(const sq25_targets *t, size_t i);
/* Vertex k of target i in degrees. @return SQ25_OK or SQ25_ERR_RANGE. Since 1.0. */
SQ25_API int sq25_targets_vertex(const sq25_targets *t, size_t i, size_t k, double *lon,
                                 double *lat);
/* Rejected rows or features while reading: count, and each as "path:line: reason".
 * Borrowed: valid as long as t. Since 1.0. */
SQ25_API size_t sq25_targets_problem_count(const sq25_targets *t);
SQ25_API const char *sq25_targets_problem(const sq25_targets *t, size_t i);

/* Sample the warning at each target (copied into w; a later call replaces them): the
 * maximum over the grid cells within the target radius around the point or along the line.
 * Targets outside the grid, or whose cells all lack data, get the state SQ25_STATE_NO_DATA,
 * level SQ25_LEVEL_NO_DATA (-1, since 1.1; 1.0 gave 0) and NaN amounts. @return SQ25_OK,
 * SQ25_ERR_PROJ, SQ25_ERR_NOMEM. Since 1.0. */
SQ25_API int sq25_warning_evaluate_targets(sq25_warning *w, const sq25_targets *t);
/* Result for evaluated target i: issued level (0 = none, SQ25_LEVEL_NO_DATA = no data: read
 * sq25_warning_target_state first; with the target's own probability
 * threshold if it has one), probability (0..1) of that level (of level 1 when none), expected
 * amount (mm over the horizon), peak rate (mm/h) and lead to onset (min: first lead at which
 * the probability of the issued level reached the threshold; NaN when none). Any output may
 * be NULL. @return SQ25_OK, or SQ25_ERR_RANGE if i is not an evaluated target. Since 1.0. */
SQ25_API int sq25_warning_target_result(const sq25_warning *w, size_t i, int *level,
                                        double *probability, double *amount_mm,
                                        double *peak_mmh, double *onset_min);
/* Probability (0..1) of level (1..count) at evaluated target i. @return SQ25_OK or
 * SQ25_ERR_RANGE. Since 1.0. */
SQ25_API int sq25_warning_target_probability(const sq25_warning *w, size_t i, int level,
                                             double *probability);

/* Writers. Each takes a path (replaced whole: written beside it and renamed over it when
 * complete, see sq25_odim_writer_create) and gives SQ25_ERR_WRITE or SQ25_ERR_PERMISSION
 * naming the path, with the system's reason, when it cannot be written. All outputs carry
 * the issue time, the valid period
 * (issue .. issue + horizon), the levels, and the inputs recorded with sq25_warning_add_input.
 * Coordinates are RFC 7946 lon,lat in WGS84 degrees (through PROJ). Since 1.0. */
/* GeoJSON FeatureCollection with one Feature per issued level: a MultiPolygon of the cells
 * whose highest issued level it is, dissolved into valid polygons (OGC simple features: outer
 * rings counter-clockwise, holes clockwise, cells touching at a corner as polygons or holes
 * touching at that point; since 1.1, 1.0 wrote one rectangle per run of cells in a row), with
 * level, name, threshold_mm, cells, state (the least trustworthy cell's), max_probability,
 * max_amount_mm, min_onset_min; and, when cells lack data, one Feature of level -1, name
 * "no data", state "no_data" covering them (since 1.1). */
SQ25_API int sq25_warning_write_areas_geojson(sq25_warning *w, const char *path);
/* GeoJSON FeatureCollection of the evaluated targets with their results (SQ25_ERR_INVALID_ARG
 * if none were evaluated). */
SQ25_API int sq25_warning_write_targets_geojson(sq25_warning *w, const char *path);
/* CSV, one row per evaluated target: id,name,lon,lat,level,level_name,state,probability,
 * prob_threshold,amount_mm,peak_mmh,onset_min,issue_time,valid_from,valid_to,inputs,
 * p_level1.. (state since 1.1: ok, degraded, stale or no_data; level -1 = no data). Every
 * output also carries the warning's state, data_time and state_reason (since 1.1), and each
 * target its state. */
SQ25_API int sq25_warning_write_targets_csv(sq25_warning *w, const char *path);
/* JSON summary: times, levels, options, inputs, cells per level, and the targets' results
 * when evaluated. */
SQ25_API int sq25_warning_write_summary_json(sq25_warning *w, const char *path);

/* ==== trust: explicit states of warnings, cells and targets ================================ */
/* Every warning, every grid cell and every evaluated target carries a state. A service must
 * read the state before the level: a level means what it says only in the states OK and
 * DEGRADED. What a service must do with each (docs/warnings.md, "States"):
 *   OK        computed from complete, current input: publish the level as it is.
 *   DEGRADED  computed, from less than the full input: a bridged gap in the radar frames
 *             (motion from frames further apart), or part of the cell's neighbourhood or of
 *             the target's sampled cells without data. Publish the level, flag it as degraded
 *             (e.g. "reduced confidence") and never lower a warning already out on its account.
 *   STALE     computed from data older than the issue time (the newest frame or frames missing
 *             or all no data): the older forecast carried forward. Keep the warnings already
 *             out, publish new ones, and tell the duty officer the data time; never send an
 *             all-clear on it.
 *   NO_DATA   no result: the target is outside the grid, or its cells (or the whole radar
 *             picture) have no data. The level is SQ25_LEVEL_NO_DATA (-1), never 0, and the
 *             probabilities are NaN. Never read it as "no warning": send "no information",
 *             keep the last warning in force until it expires, and alert the operator.
 * Values are ordered by severity: a combination takes the largest. Since 1.1. */
enum {
    SQ25_STATE_OK = 0,
    SQ25_STATE_DEGRADED = 1,
    SQ25_STATE_STALE = 2,
    SQ25_STATE_NO_DATA = 3
};
/* The level reported for a target in the state SQ25_STATE_NO_DATA. Since 1.1. */
#define SQ25_LEVEL_NO_DATA (-1)
/* The state's name as written in every output: "ok", "degraded", "stale", "no_data"
 * ("unknown" otherwise). Borrowed, static. Since 1.1. */
SQ25_API const char *sq25_state_name(int state);
/* State of the whole warning: the input state its producer set (sq25_warning_set_input_state;
 * OK by default), or NO_DATA when no cell of the grid has data. Since 1.1. */
SQ25_API int sq25_warning_state(const sq25_warning *w);
/* Mark a warning as computed from reduced input: state DEGRADED or STALE (or OK), the valid
 * time of the newest input data (UTC s; the issue time by default) and a one-line reason
 * (copied, up to 159 bytes; NULL = none). sq25_pipeline_run sets it; a caller of
 * sq25_warn_compute who bridges gaps itself should too. It raises the state of every cell
 * and target that has data. @return SQ25_OK, SQ25_ERR_INVALID_ARG or SQ25_ERR_RANGE (state
 * NO_DATA or unknown). Since 1.1. */
SQ25_API int sq25_warning_set_input_state(sq25_warning *w, int state, int64_t data_time,
                                          const char *reason);
/* Valid time (UTC s) of the newest input data, and the reason of the input state ("" when
 * none; borrowed: valid as long as w). Since 1.1. */
SQ25_API int64_t sq25_warning_data_time(const sq25_warning *w);
SQ25_API const char *sq25_warning_state_reason(const sq25_warning *w);
/* State of each cell as a new field of float values SQ25_STATE_* on the warning's grid:
 * NO_DATA where the level is NaN; DEGRADED where the neighbourhood window (at the horizon's
 * radius) holds cells without data; raised to the input state. Release with
 * sq25_field_destroy. @return SQ25_OK, SQ25_ERR_INVALID_ARG or SQ25_ERR_NOMEM. Since 1.1. */
SQ25_API int sq25_warning_states(const sq25_warning *w, sq25_field **out);
/* State of evaluated target i: NO_DATA when no sampled cell has data (outside the grid, or all
 * no data); DEGRADED when some sampled cells have no data or are degraded; raised to the input
 * state. @return SQ25_OK, or SQ25_ERR_RANGE if i is not an evaluated target. Since 1.1. */
SQ25_API int sq25_warning_target_state(const sq25_warning *w, size_t i, int *state);

/* ==== render: PNG maps ====================================================================== */
/* Maps drawn with a built-in 5x7 bitmap font: a title band (title and time stamp), the map
 * (north up, one or more pixels per cell), a legend on the right, and target markers. */
typedef struct sq25_render_options sq25_render_options;

/* The rain palette: SQ25_RENDER_PALETTE_STEPS classes with lower bounds 0.1, 0.5, 1, 2, 5,
 * 10, 20, 30, 50, 100 mm/h; light to dark (relative luminance falls strictly as the rate
 * rises, so it reads in grey). Below 0.1 mm/h: white; no data: light grey with hatching. */
#define SQ25_RENDER_PALETTE_STEPS 10
/* Lower bound (mm/h) and sRGB colour of class i (0-based). @return SQ25_OK or SQ25_ERR_RANGE.
 * Since 1.0. */
SQ25_API int sq25_render_palette(int i, double *lower_mmh, unsigned char rgb[3]);

/* Options with defaults: no title, time stamp = the field's valid time, scale chosen so the
 * map is at least 600 pixels on its longer side (at most 16 pixels per cell). New object:
 * release with sq25_render_options_destroy. @return SQ25_OK, SQ25_ERR_INVALID_ARG or
 * SQ25_ERR_NOMEM. Since 1.0. */
SQ25_API int sq25_render_options_create(sq25_ctx *ctx, sq25_render_options **out);
/* Destroy render options. Accepts NULL. Since 1.0. */
SQ25_API void sq25_render_options_destroy(sq25_render_options *opt);
/* Title (copied; drawn in capitals; characters outside the font show as boxes).
 * @return SQ25_OK, SQ25_ERR_INVALID_ARG or SQ25_ERR_NOMEM. Since 1.0. */
SQ25_API int sq25_render_options_set_title(sq25_render_options *opt, const char *title);
/* Time stamp shown in the title band (UTC s), instead of the field's valid time or the
 * warning's issue time. @return SQ25_OK or SQ25_ERR_INVALID_ARG. Since 1.0. */
SQ25_API int sq25_render_options_set_time(sq25_render_options *opt, int64_t utc_seconds);
/* Image pixels per grid cell (1..16), 0 = automatic. @return SQ25_OK or SQ25_ERR_RANGE.
 * Since 1.0. */
SQ25_API int sq25_render_options_set_scale(sq25_render_options *opt, int pixels_per_cell);
/* Draw meridians and parallels (dotted, labelled at the map edges, traced through PROJ at a
 * round spacing chosen from the map's extent): enabled != 0 (the default) or 0. Since 1.0. */
SQ25_API int sq25_render_options_set_graticule(sq25_render_options *opt, int enabled);

/* Credit line of the data source (copied), drawn in small type under the time line; radar
 * licences (e.g. RMI's) require it on every product. Default: "DATA: " and the field's
 * SQ25_META_PRODUCER on field maps, none on warning maps. @return SQ25_OK,
 * SQ25_ERR_INVALID_ARG or SQ25_ERR_NOMEM. Since 1.1. */
SQ25_API int sq25_render_options_set_credit(sq25_render_options *opt, const char *credit);
/* Show local time beside UTC in the time line, "17:45 UTC (19:45 CEST)": utc_offset_min is
 * the zone's offset at the map's time (e.g. 120 for CEST; -840..840) and label its name (up to
 * 15 bytes; NULL = "LOCAL"). The library does not read time-zone rules: the CLI's --tz works
 * out the offset with the C library's zone database. @return SQ25_OK, SQ25_ERR_INVALID_ARG or
 * SQ25_ERR_RANGE. Since 1.1. */
SQ25_API int sq25_render_options_set_local_time(sq25_render_options *opt, int utc_offset_min,
                                                const char *label);

/* Render a rain-rate field (mm/h) as a PNG map at path (replaced whole, as the ODIM writer). field, targets
 * and opt are borrowed for the call; targets (may be NULL) are drawn as markers (points) and
 * black lines; opt may be NULL for the defaults. @return SQ25_OK, SQ25_ERR_WRITE (with the
 * path), SQ25_ERR_SIZE_ABSURD for an image over 10^8 pixels, SQ25_ERR_PROJ, SQ25_ERR_NOMEM.
 * Since 1.0. */
SQ25_API int sq25_render_field_png(sq25_field *field, const sq25_targets *targets,
                                   const sq25_render_options *opt, const char *path);
/* Render a warning map: cells in one solid colour per highest issued level, darker with
 * every level (1 orange, 2 red, 3 dark red, then darker purples; since 1.1 never shaded by
 * probability, so a higher level never looks paler and the legend swatch is the drawn
 * colour), cells with a level-1 probability above 0 but below the threshold in pale orange, no
 * data hatched; a legend of the levels, the first onset lead of each level, and the warning's
 * state when not ok; the evaluated targets as markers labelled with their name (id if none),
 * level and onset ("L2 +25MIN") or "NO DATA" (grey marker). Time stamp = issue time unless
 * set.
 * @return as sq25_render_field_png. Since 1.0. */
SQ25_API int sq25_render_warning_png(sq25_warning *w, const sq25_render_options *opt,
                                     const char *path);

/* ==== links: commercial microwave links as line rain gauges ================================ */
/* Rain attenuates a microwave link along its whole path, so a link is a line sensor of the
 * path-averaged rain rate. The chain (docs/links.md gives every parameter and its source):
 * total loss TSL - RSL (dB) -> wet/dry by the rolling standard deviation of the loss
 * (Schleiss and Berne 2010) -> baseline held from the last dry samples -> excess attenuation
 * minus wet-antenna attenuation (Schleiss et al. 2013, or a constant) -> specific attenuation
 * (dB/km) -> rain rate R = (A / k)^(1/alpha) with k, alpha from ITU-R P.838-3. Each step is a
 * function of its own on one sub-link's samples (arrays of n values, NaN = missing); these
 * functions need no context and return SQ25_OK, SQ25_ERR_INVALID_ARG or SQ25_ERR_RANGE. */
typedef struct sq25_links sq25_links;

/* Polarisation of a sub-link. Unknown uses the mean of the H and V coefficients. */
enum { SQ25_POL_UNKNOWN = 0, SQ25_POL_HORIZONTAL = 1, SQ25_POL_VERTICAL = 2 };

/* Read an OpenSense CML netCDF-4 file (through HDF5): per cml_id the end points
 * site_0_lat/lon and site_1_lat/lon (degrees), length (m; from the end points when absent),
 * frequency (per cml or per cml and sub-link; "MHz"/"GHz" units, and values above 300 without
 * units are taken as MHz), polarization ("v"/"vertical"/"h"/"horizontal", else unknown);
 * raw signal levels tsl and rsl in dBm over (cml_id[, sublink_id], time) in any axis order, and
 * processed path rain R/rainfall_amount (no units or "mm": mm per step; "mm/h", "mm h-1": a
 * rate) when the file has it. time in "<unit> since <date>", increasing; the store's step is
 * the most frequent difference and gaps become NaN samples. scale_factor,
 * add_offset, _FillValue and missing_value are applied; signal levels outside -200..100 dBm
 * become NaN. Every sub-link is one link of the store, id "cml_id/sublink_id". New object:
 * release with sq25_links_destroy. @return SQ25_OK; the file errors of sq25_read_field;
 * SQ25_ERR_MISSING_DATASET (no end points, or neither signal levels nor rain);
 * SQ25_ERR_BAD_DIMENSIONS; SQ25_ERR_BAD_METADATA (time units); SQ25_ERR_TIME_ORDER (times not
 * increasing); SQ25_ERR_TIME_GAP (a step over a day); SQ25_ERR_SIZE_ABSURD (over 10^6
 * sub-links or 4 x 10^8 samples, or a variable of over 10 MB that stores less than 1/1000 of
 * what it declares); SQ25_ERR_NOMEM. Since 1.1. */
SQ25_API int sq25_links_read_netcdf(sq25_ctx *ctx, const char *path, sq25_links **out);
/* An empty store of n_links x n_steps samples (NaN) at step_s seconds from time t0, with
 * signal arrays (with_signal != 0) and/or a rain array (with_rain != 0), for data from
 * elsewhere and for tests. New object: release with sq25_links_destroy. @return SQ25_OK;
 * SQ25_ERR_INVALID_ARG; SQ25_ERR_SIZE_ABSURD; SQ25_ERR_NOMEM. Since 1.1. */
SQ25_API int sq25_links_create(sq25_ctx *ctx, int n_links, int64_t n_steps, int64_t t0,
                               int step_s, int with_signal, int with_rain, sq25_links **out);
/* Destroy a store. Accepts NULL. Since 1.1. */
SQ25_API void sq25_links_destroy(sq25_links *l);
/* Sizes: sub-links, samples, seconds between samples; time (UTC s) of sample k. Since 1.1. */
SQ25_API int sq25_links_count(const sq25_links *l);
SQ25_API int64_t sq25_links_step_count(const sq25_links *l);
SQ25_API int sq25_links_step_s(const sq25_links *l);
SQ25_API int64_t sq25_links_time(const sq25_links *l, int64_t step);
/* Id of link i ("" out of range). Borrowed. Since 1.1. */
SQ25_API const char *sq25_links_id(const sq25_links *l, int i);
/* End points (degrees), path length (m), frequency (GHz) and polarisation (SQ25_POL_*) of
 * link i; any output may be NULL. @return SQ25_OK or SQ25_ERR_RANGE. Since 1.1. */
SQ25_API int sq25_links_geometry(const sq25_links *l, int i, double *lon0, double *lat0,
                                 double *lon1, double *lat1, double *length_m,
                                 double *frequency_ghz, int *polarization);
/* Set link i's id (copied), end points, length (m; NaN = from the end points), frequency
 * (GHz) and polarisation. @return SQ25_OK; SQ25_ERR_RANGE; SQ25_ERR_INVALID_ARG;
 * SQ25_ERR_NOMEM. Since 1.1. */
SQ25_API int sq25_links_set_link(sq25_links *l, int i, const char *id, double lon0,
                                 double lat0, double lon1, double lat1, double length_m,
                                 double frequency_ghz, int polarization);
/* The samples, link-major: value(link, k) at [link * n_steps + k]. TSL and RSL in dBm, rain in
 * mm per step; NaN missing. NULL when the store has no such array. Borrowed; writable.
 * Since 1.1. */
SQ25_API float *sq25_links_tsl(sq25_links *l);
SQ25_API float *sq25_links_rsl(sq25_links *l);
SQ25_API float *sq25_links_rain(sq25_links *l);

/* ITU-R P.838-3 power-law coefficients of gamma = k R^alpha (gamma dB/km, R mm/h) for a
 * frequency of 1..1000 GHz, path elevation (degrees) and polarisation tilt (degrees; 0
 * horizontal, 90 vertical, 45 circular): equations (2)-(5) with Tables 1-4. Since 1.1. */
SQ25_API int sq25_p838_coefficients(double frequency_ghz, double elevation_deg,
                                    double tilt_deg, double *k, double *alpha);
/* The same for a polarisation SQ25_POL_* on a horizontal path. Since 1.1. */
SQ25_API int sq25_p838_coefficients_pol(double frequency_ghz, int polarization, double *k,
                                        double *alpha);
/* Total loss TSL - RSL in dB (caller-owned loss_db, n values; NaN where either is NaN).
 * tsl_dbm may be NULL for a constant transmitter: the loss is then -RSL. Since 1.1. */
SQ25_API int sq25_cml_total_loss(size_t n, const float *tsl_dbm, const float *rsl_dbm,
                                 double *loss_db);
/* Wet/dry after Schleiss and Berne (2010): a sample is wet (1) when the standard deviation of
 * the loss over the centred window of window_steps samples (>= 2) exceeds threshold_db;
 * windows with fewer than half their samples valid give 255 (unknown). Caller-owned wet.
 * Since 1.1. */
SQ25_API int sq25_cml_wet_dry_std(size_t n, const double *loss_db, int window_steps,
                                  double threshold_db, uint8_t *wet);
/* Step changes of the baseline (a re-aligned antenna, a new transmitter setting) are not
 * rain: a wet spell after which the mean loss of the next after_steps (>= 1) valid dry samples
 * differs from the last dry loss before it by at least half the spell's largest excess over
 * that level (and by more than 0.5 dB) becomes dry, and its samples get SQ25_CML_FLAG_STEP in
 * flags (NULL = no flags). wet is changed in place. @return the number of spells changed, or
 * a negative code. Since 1.1. */
SQ25_API int sq25_cml_reject_steps(size_t n, const double *loss_db, uint8_t *wet,
                                   int after_steps, uint8_t *flags);
/* Baseline (dB): in dry samples the loss itself; in wet (or unknown) samples the mean of the
 * last dry_steps (>= 1) valid dry samples before the wet spell (NaN before any). Since 1.1. */
SQ25_API int sq25_cml_baseline(size_t n, const double *loss_db, const uint8_t *wet,
                               int dry_steps, double *baseline_db);
/* Wet-antenna methods. */
enum {
    SQ25_WAA_NONE = 0,
    SQ25_WAA_CONSTANT = 1,     /* waa_max_db in every wet sample (capped by the excess) */
    SQ25_WAA_SCHLEISS2013 = 2, /* grows towards waa_max_db with time constant tau_s while wet */
    SQ25_WAA_LEIJNSE2008 = 3   /* a rain-dependent water film on the antenna cover (physical) */
};
/* Wet-antenna attenuation (dB) from the excess attenuation (loss - baseline, dB) and wet/dry:
 * 0 in dry samples; SCHLEISS2013: w_k = min(excess_k, waa_max, w_{k-1} + (waa_max - w_{k-1})
 * * 3 step_s / tau_s) (Schleiss et al. 2013, IEEE GRSL 10(5); 95 % of waa_max after tau_s of
 * rain). Caller-owned waa_db. Since 1.1. */
SQ25_API int sq25_cml_wet_antenna(size_t n, const double *excess_db, const uint8_t *wet,
                                  int method, double waa_max_db, double tau_s, double step_s,
                                  double *waa_db);
/* Wet-antenna attenuation (dB) of Leijnse et al. (2008, Adv. Water Resour. 31(11)): a water
 * film of thickness gamma R^delta (gamma 2.06e-5 m, delta 0.24, R in mm/h) on an antenna cover
 * of 1 mm with refractive index 1.73 + 0.014i, water permittivity after Liebe et al. (1991) at
 * 20 C; the loss is the ratio of the normal-incidence transmission through cover alone and
 * through film plus cover (transfer matrices). 0 for R <= 0. Since 1.1. */
SQ25_API double sq25_cml_waa_leijnse(double rain_mmh, double frequency_ghz);
/* The Leijnse wet antenna inverted per wet sample: the rain R with k R^alpha L + waa(R) =
 * excess (from a table of 241 rates, 1e-3..1e3 mm/h, interpolated) gives waa_db = waa(R); 0 in
 * dry samples. Caller-owned waa_db. Since 1.1. */
SQ25_API int sq25_cml_wet_antenna_leijnse(size_t n, const double *excess_db, const uint8_t *wet,
                                          double length_km, double frequency_ghz, double k,
                                          double alpha, double *waa_db);
/* Path rain rate (mm/h): wet samples R = (max(excess - waa, 0) / length_km / k)^(1/alpha);
 * dry samples 0; NaN where the excess is NaN or wet/dry is unknown. waa_db may be NULL (0).
 * Since 1.1. */
SQ25_API int sq25_cml_rain_rate(size_t n, const double *excess_db, const double *waa_db,
                                const uint8_t *wet, double length_km, double k, double alpha,
                                double *rain_mmh);
/* Quality flag bits of a sample. */
enum {
    SQ25_CML_FLAG_MISSING = 1,  /* no loss value */
    SQ25_CML_FLAG_JUMP = 2,     /* |loss_k - previous valid| > jump_db */
    SQ25_CML_FLAG_CONSTANT = 4, /* inside a run of identical loss values lasting >= constant_s */
    SQ25_CML_FLAG_RATE = 8,     /* rain rate above the plausible maximum */
    SQ25_CML_FLAG_STEP = 16,    /* a baseline step taken for a wet spell: rain 0, kept */
    SQ25_CML_FLAG_NOISY = 32    /* the link is wet too often to be believed (whole record) */
};
/* Flags from the loss series (caller-owned flags, n values): MISSING, JUMP, CONSTANT.
 * jump_db > 0; constant_s > 0 (seconds); step_s > 0. Since 1.1. */
SQ25_API int sq25_cml_quality_flags(size_t n, const double *loss_db, double step_s,
                                    double jump_db, double constant_s, uint8_t *flags);

/* Processing parameters (keys of sq25_cml_options_set) and defaults. */
enum {
    SQ25_CML_WINDOW_S = 0,        /* rolling std window, seconds: 3600 */
    SQ25_CML_THRESHOLD_DB = 1,    /* rolling std threshold, dB: 0.8 */
    SQ25_CML_BASELINE_STEPS = 2,  /* dry samples averaged for the baseline: 1 */
    SQ25_CML_WAA_METHOD = 3,      /* SQ25_WAA_*: LEIJNSE2008 (which ignores keys 4 and 5) */
    SQ25_CML_WAA_MAX_DB = 4,      /* wet-antenna maximum (or constant), dB: 2.3 */
    SQ25_CML_WAA_TAU_S = 5,       /* wet-antenna time constant, seconds: 900 */
    SQ25_CML_JUMP_DB = 6,         /* jump flag threshold, dB between samples: 10 */
    SQ25_CML_CONSTANT_S = 7,      /* constant-signal flag, seconds: 86400 */
    SQ25_CML_MAX_RATE_MMH = 8,    /* rates above are flagged RATE and set NaN, mm/h: 200 */
    SQ25_CML_MIN_VALID = 9,       /* share of valid samples an output interval needs: 0.5 */
    SQ25_CML_STEP_AFTER = 10,     /* dry samples after a spell that test for a step: 10 */
    SQ25_CML_MAX_WET_SHARE = 11,  /* a link wet in a larger share of its record (of at least
                                     one day of judged samples) is flagged NOISY: 0.5 */
    SQ25_CML_PARAM_COUNT_ = 12
};
typedef struct sq25_cml_options sq25_cml_options;
/* Options with the defaults above. New object: release with sq25_cml_options_destroy.
 * Since 1.1. */
SQ25_API int sq25_cml_options_create(sq25_ctx *ctx, sq25_cml_options **out);
SQ25_API void sq25_cml_options_destroy(sq25_cml_options *o); /* NULL ok. Since 1.1. */
/* Set or get a parameter. @return SQ25_OK; SQ25_ERR_INVALID_ARG; SQ25_ERR_RANGE. Since 1.1. */
SQ25_API int sq25_cml_options_set(sq25_cml_options *o, int key, double value);
SQ25_API double sq25_cml_options_get(const sq25_cml_options *o, int key);

/* The whole chain on every link, aggregated to intervals of out_step_s (a multiple of the
 * store's step) whose end lies in [from, to] (clipped to the samples' span): rain in mm per interval (the mean of the valid
 * sample rates times the interval; flagged samples are left out; NaN with fewer than MIN_VALID
 * valid samples). Links of a store with processed rain use it as it is: summed over the interval, a missing
 * step filled with the mean of the others. The history before
 * `from` is used by the window and baseline. rain: a new series, one station per link (id,
 * path midpoint). flagged: NULL or a new series of the share (0..1) of samples flagged in
 * each interval. opt NULL = defaults. New objects: release with sq25_series_destroy.
 * @return SQ25_OK; SQ25_ERR_INVALID_ARG; SQ25_ERR_NO_DATA (no interval in the window);
 * SQ25_ERR_NOMEM. Since 1.1. */
SQ25_API int sq25_links_process(const sq25_links *l, const sq25_cml_options *opt,
                                int64_t from, int64_t to, int out_step_s, sq25_series **rain,
                                sq25_series **flagged);

/* Line sensors in interpolation. n sensors given by their end points lonlat[4*i..4*i+3] =
 * lon0, lat0, lon1, lat1 (degrees; a point sensor has equal end points) and values (any unit;
 * NaN ignored). Each path is cut into equal pieces of at most spacing_m (> 0; at most 64
 * pieces) and represented by the pieces' midpoints. Kriging uses block support: the
 * covariance between two sensors is the mean covariance between their points, between a
 * sensor and a target the mean over the sensor's points, so a link is kriged as the mean
 * along its path; a zero-length link is exactly a point sensor. The variogram (when not given
 * in the options) is the point variogram fitted with the line support regularised: the
 * empirical semivariance of two sensors is matched by the mean point variogram between their
 * paths minus the mean within each (since 1.2; 1.1 fitted at the path midpoints). IDW weights a sensor by the mean of
 * d^-power over its points. method: SQ25_INTERP_IDW or SQ25_INTERP_KRIGING. drift: NULL, or a
 * field (any grid and CRS, e.g. radar in mm/h) used as external drift (kriging with external
 * drift, KED: sensor drift = mean of the field along the path, bilinear through PROJ); sensors
 * where it is NaN are left out and cells where it is NaN stay NaN; where the drift does not
 * vary among a system's sensors (e.g. a dry radar) that system is ordinary kriging. Options as for
 * sq25_interp_grid (neighbours by distance to the path midpoints). Caller-owned grids.
 * @return as sq25_interp_grid. Since 1.1. */
SQ25_API int sq25_interp_lines_grid(sq25_ctx *ctx, const sq25_interp_options *o, int method,
                                    size_t n, const double *lonlat, const double *value,
                                    double spacing_m, const sq25_field *drift,
                                    sq25_field *grid, sq25_field *variance);
/* The same onto m target points (lon/lat degrees), writing out[j] (and variance[j] for
 * kriging when not NULL; caller-owned). With a drift field, it is sampled at each target
 * (NaN there: the target gets NaN). leave_one_out != 0: m must equal n and target j is predicted
 * without sensor j. Targets in the UTM zone of the sensors. @return as sq25_interp_points.
 * Since 1.1. */
SQ25_API int sq25_interp_lines_points(sq25_ctx *ctx, const sq25_interp_options *o, int method,
                                      size_t n, const double *lonlat, const double *value,
                                      double spacing_m, const sq25_field *drift, size_t m,
                                      const double *target_lon, const double *target_lat,
                                      int leave_one_out, double *out, double *variance);

/* ==== verify: skill scores ================================================================= */
/* Categorical scores and MAE use the cells where both forecast and observation are valid
 * (not NaN). Arrays are caller-owned, n floats in mm/h, borrowed for the call. */

/* Contingency counts at a threshold in mm/h (event = value > threshold): counts[0] hits,
 * counts[1] misses, counts[2] false alarms, counts[3] correct negatives (caller-owned buffer
 * of 4). @return SQ25_OK or SQ25_ERR_INVALID_ARG. Since 1.0. */
SQ25_API int sq25_verify_contingency(const float *forecast, const float *observed, size_t n,
                                     double threshold_mmh, int64_t counts[4]);
/* POD = h/(h+m), FAR = f/(h+f), CSI = h/(h+m+f) from contingency counts; NaN when the
 * denominator is 0. Any output may be NULL. Since 1.0. */
SQ25_API void sq25_verify_categorical_scores(const int64_t counts[4], double *pod, double *far,
                                             double *csi);
/* Mean absolute error in mm/h over the cells valid in both (NaN when there are none).
 * @return SQ25_OK or SQ25_ERR_INVALID_ARG. Since 1.0. */
SQ25_API int sq25_verify_mae(const float *forecast, const float *observed, size_t n,
                             double *mae_mmh);
/* Fractions skill score (Roberts and Lean 2008) of width x height grids: event = value >=
 * threshold_mmh on the cells valid in both grids (a cell NaN in either grid is no event in
 * both: the joint mask of the verification protocol, as the other scores; since 1.1, 1.0 let
 * NaN be no event in each grid separately); fractions over a window_px x window_px square
 * (centred for odd sizes), zero-padded at the edges, always divided by window_px^2;
 * FSS = 1 - sum (Pf-Po)^2 / sum (Pf^2 + Po^2) over all cells, NaN when neither grid has an
 * event. Summed-area tables, O(width*height) whatever the window. @return SQ25_OK;
 * SQ25_ERR_INVALID_ARG; SQ25_ERR_SIZE_ABSURD; SQ25_ERR_NOMEM. Since 1.0. */
SQ25_API int sq25_verify_fss(sq25_ctx *ctx, const float *forecast, const float *observed,
                             int width, int height, double threshold_mmh, int window_px,
                             double *fss);

/* ==== ensemble: STEPS-class probabilistic nowcast ======================================== */
/* A stochastic ensemble after STEPS (Bowler, Pierce and Seed 2006; Seed, Pierce and Norman
 * 2013), computed with FFTW; docs/ensemble.md gives the method, defaults and measured skill.
 * The latest three frames (rain rates, mm/h) become dBR (10 log10 R; rates under the rain
 * threshold take the value 5 dB below it), the two older ones are moved to the latest time
 * along the motion (Lagrangian frame), and each is split into a cascade of levels by Gaussian
 * band-pass filters in log-wavenumber (normalised: each level has mean 0 and standard
 * deviation 1). Per level an AR(2) process is fitted to the lag-1 and lag-2 correlations
 * (stationarity enforced). Each member evolves every level by its AR(2) process driven by
 * spatially correlated noise (the observed field's amplitude spectrum, or a fitted power
 * law), recomposes the levels, applies the incremental precipitation mask and probability
 * matching (the member keeps the latest frame's distribution of values), returns to mm/h and
 * is moved along the motion, perturbed per member by a parallel and a perpendicular component
 * that grow with lead (Bowler et al. 2006, their fitted parameters). Reproducible: the same
 * seed and options give bit-identical members whatever the thread count. Members are
 * streamed into the statistics lead by lead: memory holds one field per member and lead being
 * processed, not members x leads (unless members are kept).
 *
 * Outputs per lead (valid time issue + (lead+1) * step): the probability (0..1) that the rate
 * exceeds each threshold (value > threshold), the ensemble mean (mm/h) and quantiles of the
 * rate (linear between order statistics); per accumulation window (minutes from issue, with
 * trajectory sub-steps as sq25_extrapolate_accumulation): the probability that the amount
 * reaches each accumulation threshold (value >= threshold, as warning levels), the mean (mm)
 * and quantiles. Cells where no member has data are NaN; elsewhere statistics use the members
 * with data there. */
enum {
    SQ25_ENSEMBLE_NOISE_NONPARAMETRIC = 1, /* noise filter = observed amplitude spectrum */
    SQ25_ENSEMBLE_NOISE_POWERLAW = 2       /* noise filter = fitted power law k^(-beta/2) */
};
#define SQ25_ENSEMBLE_MAX_MEMBERS 1000
#define SQ25_ENSEMBLE_MAX_THRESHOLDS 16
#define SQ25_ENSEMBLE_MAX_QUANTILES 16
#define SQ25_ENSEMBLE_MAX_ACCUMULATIONS 8

typedef struct sq25_ensemble_options sq25_ensemble_options;
typedef struct sq25_ensemble sq25_ensemble;

/* Options with the defaults: 20 members, seed 24, 6 cascade levels, threads 0 (one per online
 * CPU), nonparametric noise, motion perturbation on, incremental mask on, probability matching
 * on, rain threshold 0.1 mm/h, rate thresholds 1, 5, 10, 20 mm/h, no quantiles,
 * accumulations over 15, 30 and 60 min with thresholds 1, 5, 10, 20 mm, 2 trajectory
 * sub-steps per step, members not kept; since 1.2 noise gain 3, probabilities blended over a
 * window of ceil(1 x lead steps) cells with a control weight, 0.65 since 1.6 (0.3 in 1.2-1.5;
 * the setters below). New
 * object: release with sq25_ensemble_options_destroy. @return SQ25_OK, SQ25_ERR_INVALID_ARG
 * or SQ25_ERR_NOMEM. Since 1.1. */
SQ25_API int sq25_ensemble_options_create(sq25_ctx *ctx, sq25_ensemble_options **out);
/* Destroy options. Accepts NULL. Since 1.1. */
SQ25_API void sq25_ensemble_options_destroy(sq25_ensemble_options *opt);
/* A copy of the options. New object: release with sq25_ensemble_options_destroy. Since 1.1. */
SQ25_API int sq25_ensemble_options_clone(const sq25_ensemble_options *opt,
                                         sq25_ensemble_options **out);
/* Setters. Each returns SQ25_OK, SQ25_ERR_INVALID_ARG (NULL) or SQ25_ERR_RANGE, and changes
 * nothing on error. Since 1.1. */
/* Members, 1..SQ25_ENSEMBLE_MAX_MEMBERS. */
SQ25_API int sq25_ensemble_options_set_members(sq25_ensemble_options *opt, int members);
/* Seed of the random streams (any value). */
SQ25_API int sq25_ensemble_options_set_seed(sq25_ensemble_options *opt, uint64_t seed);
/* Cascade levels, 2..10. */
SQ25_API int sq25_ensemble_options_set_cascade_levels(sq25_ensemble_options *opt, int levels);
/* Worker threads, 0..256 (0 = one per online CPU). The result does not depend on it. */
SQ25_API int sq25_ensemble_options_set_threads(sq25_ensemble_options *opt, int threads);
/* Noise filter, SQ25_ENSEMBLE_NOISE_*. */
SQ25_API int sq25_ensemble_options_set_noise(sq25_ensemble_options *opt, int method);
/* Motion perturbation (parallel and perpendicular, growing with lead): enabled != 0 or 0. */
SQ25_API int sq25_ensemble_options_set_motion_perturbation(sq25_ensemble_options *opt,
                                                           int enabled);
/* Factor on the AR(2) innovation noise of every level (0 < gain <= 10; 1 = the published
 * method). The ensemble is under-dispersive on the benchmark storms; the default is 3 since
 * 1.2 (1 before), chosen on development cases of the Belgian storm (docs/ensemble.md); fit it
 * on your own cases. */
SQ25_API int sq25_ensemble_options_set_noise_gain(sq25_ensemble_options *opt, double gain);
/* Blend: each lead's exceedance probabilities averaged over a square window of half side
 * ceil(cells_per_step * lead steps) cells (the fraction of member cells above the threshold
 * in that window), 0..100 (0 = the members' fraction at the cell alone). Since 1.2 the
 * accumulation probabilities are blended too (window of half side ceil(cells_per_step *
 * the window's steps)) and the default is 1 (0 before); the members are not changed. */
SQ25_API int sq25_ensemble_options_set_neighbourhood(sq25_ensemble_options *opt,
                                                     double cells_per_step);
/* Control member of the blended probabilities: weight (0 <= weight < 1; default 0.65 since 1.6,
 * 0.3 in 1.2-1.5, docs/ensemble.md "Session 6: skill") of the
 * latest frame extrapolated along the unperturbed motion (the deterministic nowcast), beside
 * the members sharing 1 - weight; every probability (per lead and per accumulation window)
 * becomes (1 - weight) x the members' fraction + weight x the control's, both over the
 * neighbourhood window of sq25_ensemble_options_set_neighbourhood (docs/ensemble.md). The
 * members are not changed. @return SQ25_OK, SQ25_ERR_INVALID_ARG, SQ25_ERR_RANGE. Since 1.2. */
SQ25_API int sq25_ensemble_options_set_control_weight(sq25_ensemble_options *opt,
                                                      double weight);
/* Shrink of the high probabilities, after the blend and the control member: every
 * exceedance probability p above knee (0 <= knee < 1) becomes
 * knee + (p - knee) x max(0, 1 - rate_per_hour x t / 60 min), t the lead (per-lead
 * probabilities) or the window's length (accumulation probabilities); the over-confidence
 * of the blended probabilities grows with lead (docs/ensemble.md, "Session 5: skill").
 * rate_per_hour 0..10; 0 (the default) = off. The mean, quantiles and members are not
 * changed. @return SQ25_OK, SQ25_ERR_INVALID_ARG, SQ25_ERR_RANGE. Since 1.5. */
SQ25_API int sq25_ensemble_options_set_probability_shrink(sq25_ensemble_options *opt,
                                                          double knee, double rate_per_hour);
/* Incremental precipitation mask: enabled != 0 or 0. */
SQ25_API int sq25_ensemble_options_set_mask(sq25_ensemble_options *opt, int enabled);
/* Probability (CDF) matching to the latest frame: enabled != 0 or 0. */
SQ25_API int sq25_ensemble_options_set_probability_matching(sq25_ensemble_options *opt,
                                                            int enabled);
/* Rain threshold in mm/h (0 < mmh < 10): rates under it are dry. */
SQ25_API int sq25_ensemble_options_set_rain_threshold(sq25_ensemble_options *opt, double mmh);
/* Rate thresholds for exceedance probabilities: count (1..SQ25_ENSEMBLE_MAX_THRESHOLDS)
 * values in mm/h, strictly increasing, >= 0 (caller-owned, copied). */
SQ25_API int sq25_ensemble_options_set_thresholds(sq25_ensemble_options *opt, int count,
                                                  const double *mmh);
/* Quantiles: count (0..SQ25_ENSEMBLE_MAX_QUANTILES) probabilities in [0, 1], strictly
 * increasing (copied). */
SQ25_API int sq25_ensemble_options_set_quantiles(sq25_ensemble_options *opt, int count,
                                                 const double *probabilities);
/* Accumulation windows: count (0..SQ25_ENSEMBLE_MAX_ACCUMULATIONS) lengths in minutes from
 * the issue time, strictly increasing, > 0 (copied). Each must be a multiple of the step and
 * within the leads when run. */
SQ25_API int sq25_ensemble_options_set_accumulations(sq25_ensemble_options *opt, int count,
                                                     const int *minutes);
/* Accumulation thresholds in mm: count (1..SQ25_ENSEMBLE_MAX_THRESHOLDS), strictly
 * increasing, >= 0 (copied). */
SQ25_API int sq25_ensemble_options_set_accumulation_thresholds(sq25_ensemble_options *opt,
                                                               int count, const double *mm);
/* Trajectory sub-steps per step for accumulations, 1..60. */
SQ25_API int sq25_ensemble_options_set_substeps(sq25_ensemble_options *opt, int substeps);
/* Keep every member's rate at every lead and amount per window (members x leads fields):
 * keep != 0 or 0. */
SQ25_API int sq25_ensemble_options_set_keep_members(sq25_ensemble_options *opt, int keep);

/* Run the ensemble. frames: n_frames >= 3 frames in mm/h (oldest first, one grid, one time
 * step; the latest three are used), borrowed for the call. u, v: the motion in pixels per
 * step (width*height floats each, e.g. from sq25_motion_estimate), borrowed. n_leads: 1..288
 * leads one step apart. opt may be NULL (defaults). New object: release with
 * sq25_ensemble_destroy. @return SQ25_OK; SQ25_ERR_INVALID_ARG; SQ25_ERR_TOO_FEW (fewer than 3
 * frames); SQ25_ERR_GRID_MISMATCH; SQ25_ERR_TIME_ORDER / SQ25_ERR_TIME_GAP (times not
 * increasing or not evenly spaced); SQ25_ERR_TIME_MISMATCH (an accumulation window that is
 * not a multiple of the step or lies beyond the leads); SQ25_ERR_SIZE_ABSURD (grid under
 * 8x8); SQ25_ERR_NO_DATA (the latest frame holds no valid cell); SQ25_ERR_PROJ;
 * SQ25_ERR_NOMEM. Since 1.1. */
SQ25_API int sq25_ensemble_run(sq25_ctx *ctx, const sq25_ensemble_options *opt,
                               const sq25_field *const *frames, int n_frames, const float *u,
                               const float *v, int n_leads, sq25_ensemble **out);
/* Destroy an ensemble result. Accepts NULL. Since 1.1. */
SQ25_API void sq25_ensemble_destroy(sq25_ensemble *e);
/* Shape of the result. Since 1.1. */
SQ25_API int sq25_ensemble_member_count(const sq25_ensemble *e);
SQ25_API int sq25_ensemble_lead_count(const sq25_ensemble *e);
SQ25_API int sq25_ensemble_step_s(const sq25_ensemble *e);
SQ25_API int64_t sq25_ensemble_issue_time(const sq25_ensemble *e);
SQ25_API int sq25_ensemble_threshold_count(const sq25_ensemble *e);
SQ25_API double sq25_ensemble_threshold(const sq25_ensemble *e, int i); /* mm/h; NaN if bad i */
SQ25_API int sq25_ensemble_quantile_count(const sq25_ensemble *e);
SQ25_API double sq25_ensemble_quantile(const sq25_ensemble *e, int i); /* NaN if bad i */
SQ25_API int sq25_ensemble_accumulation_count(const sq25_ensemble *e);
SQ25_API int sq25_ensemble_accumulation_minutes(const sq25_ensemble *e, int i); /* 0 if bad */
SQ25_API int sq25_ensemble_accumulation_threshold_count(const sq25_ensemble *e);
SQ25_API double sq25_ensemble_accumulation_threshold(const sq25_ensemble *e, int i); /* mm */
/* Whether members were kept (sq25_ensemble_options_set_keep_members). Since 1.1. */
SQ25_API int sq25_ensemble_has_members(const sq25_ensemble *e);
/* Per-lead grids (lead 0-based), on the frames' grid. Borrowed: valid as long as e; NULL
 * when an index is out of range (or members were not kept). Since 1.1. */
SQ25_API const sq25_field *sq25_ensemble_probability(const sq25_ensemble *e, int lead,
                                                     int threshold);
SQ25_API const sq25_field *sq25_ensemble_mean(const sq25_ensemble *e, int lead);
SQ25_API const sq25_field *sq25_ensemble_quantile_field(const sq25_ensemble *e, int lead,
                                                        int quantile);
SQ25_API const sq25_field *sq25_ensemble_member(const sq25_ensemble *e, int member, int lead);
/* Per-accumulation-window grids (window 0-based; amounts in mm, accumulation_s set).
 * Borrowed, NULL as above. Since 1.1. */
SQ25_API const sq25_field *sq25_ensemble_accumulation_probability(const sq25_ensemble *e,
                                                                  int window, int threshold);
SQ25_API const sq25_field *sq25_ensemble_accumulation_mean(const sq25_ensemble *e, int window);
SQ25_API const sq25_field *sq25_ensemble_accumulation_quantile(const sq25_ensemble *e,
                                                               int window, int quantile);
SQ25_API const sq25_field *sq25_ensemble_accumulation_member(const sq25_ensemble *e,
                                                             int member, int window);
/* The control member's rate at lead (0-based; mm/h, on the frames' grid): the latest frame
 * extrapolated along the unperturbed motion, which the probabilities mix in at
 * sq25_ensemble_control_weight. Kept with the members (sq25_ensemble_options_set_keep_members)
 * when the control weight is > 0, written to and read from the file (control_rate). Borrowed:
 * valid as long as e; NULL when the result holds none or lead is out of range. Since 1.4. */
SQ25_API const sq25_field *sq25_ensemble_control_member(const sq25_ensemble *e, int lead);
/* How the probabilities of e were made (sq25_ensemble_options_set_neighbourhood and
 * _set_control_weight): the window's half side in cells per lead step and the control
 * member's weight; NaN when e is NULL or was read from a file that does not say (the weight of
 * files written before 1.4). With sq25_verify_crps_neighbourhood (half side ceil(c k) at lead
 * k steps) they give the CRPS of the distribution the probabilities describe. Since 1.4. */
SQ25_API double sq25_ensemble_neighbourhood(const sq25_ensemble *e);
SQ25_API double sq25_ensemble_control_weight(const sq25_ensemble *e);
/* The rate (per hour) of sq25_ensemble_options_set_probability_shrink the probabilities of e
 * were made with: 0 = no shrink (also for files written before 1.5, when there was none); NaN
 * when e is NULL. With a shrink the probabilities no longer describe the pooled members and
 * control (sq25_verify_crps_neighbourhood does not give their CRPS). Since 1.5. */
SQ25_API double sq25_ensemble_probability_shrink_rate(const sq25_ensemble *e);
/* Diagnostics of cascade level (0 = largest scale): its central wavenumber (cycles per the
 * grid's longer side), the lag-1 and lag-2 correlations and the AR(2) coefficients used.
 * Any output may be NULL. @return SQ25_OK or SQ25_ERR_RANGE. Since 1.1. */
SQ25_API int sq25_ensemble_cascade_levels(const sq25_ensemble *e);
SQ25_API int sq25_ensemble_level_parameters(const sq25_ensemble *e, int level,
                                            double *wavenumber, double *gamma1,
                                            double *gamma2, double *phi1, double *phi2);
/* Write the result as a CF-1.8 netCDF-4 file (created or truncated; written to a temporary
 * name and renamed, so a failure leaves no partial file): dimensions time (the leads),
 * threshold, quantile, y, x, and member when members were kept; variables
 * exceedance_probability(time, threshold, y, x), mean_rate(time, y, x),
 * rate_quantile(time, quantile, y, x), rainfall_rate(member, time, y, x) when kept, and for
 * accumulations window, accumulation_threshold and the matching accumulation_* variables;
 * control_rate(time, y, x) when the result holds the control member (since 1.4);
 * x/y projected coordinates in metres with a grid_mapping variable (crs_wkt from PROJ) and
 * 2-D lat/lon. @return SQ25_OK, SQ25_ERR_WRITE (with the path), SQ25_ERR_PROJ,
 * SQ25_ERR_NOMEM. Since 1.1. */
SQ25_API int sq25_ensemble_write_netcdf(const sq25_ensemble *e, const char *path);
/* Run the ensemble and write it as sq25_ensemble_write_netcdf does, the file's grids
 * compressed and stored as each lead ends while the members of the later leads are computed
 * (the result is the one sq25_ensemble_run gives, and the file holds the same values as
 * sq25_ensemble_write_netcdf's; only the order of the chunks in the file differs). Arguments
 * as sq25_ensemble_run's, path as sq25_ensemble_write_netcdf's; out may be NULL when only the
 * file is wanted, else a new object to release with sq25_ensemble_destroy (when out is NULL
 * each grid is freed once stored, so the memory does not grow with the leads). The context
 * is still used by one thread at a time: the library's writer thread uses it (allocator,
 * PROJ) only to define the file while the calling thread computes members, and never its
 * pool. A failure leaves no file at path (a previous one stays whole). @return the codes of
 * both. Since 1.4. */
SQ25_API int sq25_ensemble_run_netcdf(sq25_ctx *ctx, const sq25_ensemble_options *opt,
                                      const sq25_field *const *frames, int n_frames,
                                      const float *u, const float *v, int n_leads,
                                      const char *path, sq25_ensemble **out);
/* Read a file written by sq25_ensemble_write_netcdf back into a result (statistics, members
 * when the file has them, the cascade diagnostics). Options not stored in the file (seed,
 * noise, ...) read as their defaults. New object: release with sq25_ensemble_destroy.
 * @return SQ25_OK; SQ25_ERR_FILE_NOT_FOUND; SQ25_ERR_FILE_EMPTY; SQ25_ERR_FORMAT_UNKNOWN (not
 * netCDF, or a dimension of the layout missing); SQ25_ERR_MISSING_DATASET /
 * SQ25_ERR_MISSING_ATTRIBUTE (named in the message); SQ25_ERR_BAD_DIMENSIONS;
 * SQ25_ERR_BAD_METADATA; SQ25_ERR_SIZE_ABSURD; SQ25_ERR_READ; SQ25_ERR_PROJ; SQ25_ERR_NOMEM.
 * Since 1.1. */
SQ25_API int sq25_ensemble_read_netcdf(sq25_ctx *ctx, const char *path, sq25_ensemble **out);

/* Warnings from an ensemble. Set the ensemble's accumulation window to the warning horizon
 * and its accumulation thresholds to the warning levels (replacing both). @return SQ25_OK,
 * SQ25_ERR_INVALID_ARG, SQ25_ERR_RANGE. Since 1.1. */
SQ25_API int sq25_ensemble_options_use_warning_levels(sq25_ensemble_options *eo,
                                                      const sq25_warn_options *wo);
/* Compute a warning from an ensemble run with such options: the probability of each level at
 * a cell is the fraction of members whose amount over the horizon reaches the level's
 * threshold, averaged over a square window of half side neighbourhood_cells (0 = the cell
 * alone; the mean over the valid cells of the window), then the calibration map of opt (if
 * any) and the levels issued at the probability threshold as sq25_warn_compute does; amounts,
 * peak rate and onset come from the ensemble mean rates. opt may be NULL (defaults). New
 * object: release with sq25_warning_destroy. @return SQ25_OK; SQ25_ERR_INVALID_ARG (no window
 * over the horizon or no threshold for a level, named in the message); SQ25_ERR_TIME_MISMATCH;
 * the errors of sq25_warn_compute. Since 1.1. */
SQ25_API int sq25_warn_compute_ensemble(sq25_ctx *ctx, const sq25_warn_options *opt,
                                        const sq25_ensemble *e, int neighbourhood_cells,
                                        sq25_warning **out);
/* The pipeline's ensemble path: with options set (copied; NULL returns to the deterministic
 * path), each sq25_pipeline_run also runs the ensemble after the motion (its accumulation
 * window and thresholds set from the warning options) and the warning's probabilities are the
 * members' fractions within neighbourhood_cells (0..1000) of each cell, on the street grid when
 * one is set (bilinear). The deterministic forecast and motion stay available. @return SQ25_OK,
 * SQ25_ERR_INVALID_ARG, SQ25_ERR_NOMEM. Since 1.1. */
typedef struct sq25_pipeline sq25_pipeline; /* section pipeline below */
SQ25_API int sq25_pipeline_set_ensemble(sq25_pipeline *p, const sq25_ensemble_options *opt,
                                        int neighbourhood_cells);
/* The ensemble of the last successful run (radar grid), or NULL. Borrowed: valid until the
 * next run, reset or destroy. Since 1.1. */
SQ25_API const sq25_ensemble *sq25_pipeline_ensemble(const sq25_pipeline *p);

/* Probabilistic scores on the cells where the observation and the forecast are both valid
 * (not NaN). Arrays are caller-owned, n floats, borrowed for the call. Since 1.1. */
/* CRPS in mm/h of an ensemble of n_members member grids (members[m][i]): per cell
 * mean |x_m - y| - 1/2 mean |x_m - x_k|, averaged over the cells where the observation and
 * every member are valid (NaN when none). @return SQ25_OK or SQ25_ERR_INVALID_ARG. */
SQ25_API int sq25_verify_crps(const float *const *members, int n_members, const float *observed,
                              size_t n, double *crps_mmh);
/* Brier score of probabilities (0..1) for the event observed > threshold_mmh (NaN when no
 * cell is valid). @return SQ25_OK or SQ25_ERR_INVALID_ARG. */
SQ25_API int sq25_verify_brier(const float *probability, const float *observed, size_t n,
                               double threshold_mmh, double *brier);
/* Reliability table: ADDS to count[b], events[b] (observed > threshold) and
 * probability_sum[b] for n_bins (1..100) equal bins of the forecast probability (bin
 * b = [b/n_bins, (b+1)/n_bins), the last one closed), so several cases can be pooled; the
 * observed frequency of bin b is events[b] / count[b]. @return SQ25_OK or
 * SQ25_ERR_INVALID_ARG. */
SQ25_API int sq25_verify_reliability(const float *probability, const float *observed, size_t n,
                                     double threshold_mmh, int n_bins, int64_t *count,
                                     int64_t *events, double *probability_sum);
/* ROC curve counts: ADDS to hits[j], misses[j], false_alarms[j], correct_negatives[j] for
 * n_thresholds (2..101) probability thresholds j/(n_thresholds-1) (forecast event =
 * probability >= threshold), so cases can be pooled. @return SQ25_OK or SQ25_ERR_INVALID_ARG. */
SQ25_API int sq25_verify_roc_counts(const float *probability, const float *observed, size_t n,
                                    double threshold_mmh, int n_thresholds, int64_t *hits,
                                    int64_t *misses, int64_t *false_alarms,
                                    int64_t *correct_negatives);
/* ROC area from such counts: the trapezoid rule over the points (POFD, POD) of the thresholds
 * plus (0,0) and (1,1). NaN when there are no events or no non-events. */
SQ25_API double sq25_verify_roc_area(int n_thresholds, const int64_t *hits,
                                     const int64_t *misses, const int64_t *false_alarms,
                                     const int64_t *correct_negatives);
/* Rank histogram: ADDS to counts[0..n_members] the rank of the observation among the members
 * (the number of members below it; ties split at random with a fixed seed, so the result is
 * reproducible) on the cells where the observation and every member are valid.
 * @return SQ25_OK or SQ25_ERR_INVALID_ARG. */
SQ25_API int sq25_verify_rank_histogram(const float *const *members, int n_members,
                                        const float *observed, size_t n, int64_t *counts);
/* CRPS in mm/h of the blended (neighbourhood) ensemble distribution that the ensemble's
 * post-processed probabilities describe (sq25_ensemble_options_set_neighbourhood and
 * _set_control_weight): at cell i, P(X > t) = (1 - control_weight) x the members' fraction
 * above t averaged over the valid cells of the square window of half side half_side cells
 * (clipped at the edges), + control_weight x the fraction of the control's valid cells above
 * t in the same window (where control[i] is NaN, or control is NULL or control_weight 0, the
 * members' term alone). CRPS = integral over t of (P(X > t) - 1{y > t})^2, the Brier score
 * integrated over thresholds (Hersbach 2000), evaluated on a threshold grid (0.01 mm/h steps
 * to 1 mm/h, then 1 % steps to the largest value) between its lower and upper sums, which
 * bracket it because P is non-increasing; *crps_mmh is their mean and *error_bound_mmh (may
 * be NULL) half their difference, averaged over the cells where the observation and every
 * member are valid (those of sq25_verify_crps; NaN when none). With half_side 0 and no
 * control it is sq25_verify_crps's value within the bound. members: n_members (1..255) grids
 * of width x height, control: one grid or NULL; values in mm/h (NaN = no data; values under 0
 * count as 0), borrowed. @return SQ25_OK; SQ25_ERR_INVALID_ARG (NULL, half_side < 0,
 * control_weight outside [0, 1), an infinite value); SQ25_ERR_SIZE_ABSURD; SQ25_ERR_NOMEM.
 * Since 1.3. */
SQ25_API int sq25_verify_crps_neighbourhood(sq25_ctx *ctx, const float *const *members,
                                            int n_members, const float *control,
                                            double control_weight, int width, int height,
                                            int half_side, const float *observed,
                                            double *crps_mmh, double *error_bound_mmh);

/* ==== pipeline: the whole chain, frame by frame ============================================ */
/* A pipeline keeps the state a warning service needs between radar frames: the last few
 * frames (copies), the options of motion and warnings, an optional street grid and targets.
 * Feed it frame by frame as data arrives (no re-reading of old frames) and run it at each
 * issue time. One pipeline is used by one thread at a time.
 * Ownership (since 1.1, and for every handle that keeps objects): the copies a pipeline keeps
 * (frames, street grid) and everything it makes belong to the pipeline's context, whatever
 * context the originals were made in; a frame read with a short-lived context may be pushed,
 * and that context destroyed, before the run. Only the targets are borrowed. */
typedef struct sq25_pipeline sq25_pipeline;

/* Create a pipeline with the defaults: 3 input frames, dense motion, 60-minute horizon, DWD
 * levels, no street grid (warnings on the radar grid), no targets. New object: release with
 * sq25_pipeline_destroy. @return SQ25_OK or SQ25_ERR_NOMEM. Since 1.0. */
SQ25_API int sq25_pipeline_create(sq25_ctx *ctx, sq25_pipeline **out);
/* Destroy a pipeline. Accepts NULL. Since 1.0. */
SQ25_API void sq25_pipeline_destroy(sq25_pipeline *p);
/* The pipeline's motion and warning options, to configure with their setters. Borrowed: valid
 * as long as the pipeline. Since 1.0. */
SQ25_API sq25_motion_options *sq25_pipeline_motion_options(sq25_pipeline *p);
SQ25_API sq25_warn_options *sq25_pipeline_warn_options(sq25_pipeline *p);
/* Number of frames the motion uses (2..8, default 3). Clears nothing. @return SQ25_OK or
 * SQ25_ERR_RANGE. Since 1.0. */
SQ25_API int sq25_pipeline_set_input_frames(sq25_pipeline *p, int n_frames);
/* Forecast horizon in seconds (default 3600; a multiple of the input step when run; up to
 * 6 hours). @return SQ25_OK or SQ25_ERR_RANGE. Since 1.0. */
SQ25_API int sq25_pipeline_set_horizon(sq25_pipeline *p, int horizon_s);
/* Street grid onto which forecasts are resampled (bilinear, with PROJ) before warnings are
 * computed: any field, only its grid is used (copied into the pipeline's context). NULL =
 * warnings on the radar grid.
 * @return SQ25_OK or SQ25_ERR_NOMEM. Since 1.0. */
SQ25_API int sq25_pipeline_set_street_grid(sq25_pipeline *p, const sq25_field *grid);
/* Targets evaluated at each run. Borrowed: must outlive the pipeline or be replaced (NULL
 * clears). Since 1.0. */
SQ25_API void sq25_pipeline_set_targets(sq25_pipeline *p, const sq25_targets *targets);
/* Add the newest radar frame (copied into the pipeline's context; rates in mm/h). Frames must
 * share one grid, come in increasing valid time, and keep one time step (the spacing of the
 * first two frames), with gaps of whole steps up to the maximum gap
 * (sq25_pipeline_set_max_gap). On error nothing changes: SQ25_ERR_GRID_MISMATCH (other grid),
 * SQ25_ERR_TIME_ORDER (not newer than the last), SQ25_ERR_TIME_GAP (not a whole number of
 * steps after the last, or more missing frames than the maximum gap: call sq25_pipeline_reset
 * and feed again), SQ25_ERR_NOMEM. Since 1.0. */
SQ25_API int sq25_pipeline_push_frame(sq25_pipeline *p, const sq25_field *frame);
/* Most missing frames in a row the pipeline bridges (0..6, default 2; 0 = every gap is
 * SQ25_ERR_TIME_GAP as in 1.0). A frame up to (steps + 1) nominal steps after the last is
 * accepted; the run then estimates the motion from the available frames at their real spacing
 * (converted to pixels per nominal step) and marks the warning DEGRADED. A pushed frame without
 * any valid cell (a radar outage) counts as missing: the run extrapolates the newest frame that
 * has data up to the issue time plus the horizon and marks the warning STALE; when no frame with
 * data lies within the bridged gap, the run gives a warning in the state NO_DATA (every cell
 * and target without data, never level 0). @return SQ25_OK or SQ25_ERR_RANGE. Since 1.1. */
SQ25_API int sq25_pipeline_set_max_gap(sq25_pipeline *p, int steps);
/* Forget the stored frames and the last forecast (options, grid and targets stay). Since 1.0. */
SQ25_API void sq25_pipeline_reset(sq25_pipeline *p);
/* Frames held now: the input-frame count, plus older frames kept while newer ones are missing
 * or without data (at most input frames + maximum gap). Since 1.0. */
SQ25_API int sq25_pipeline_frame_count(const sq25_pipeline *p);
/* Run at the newest frame's time: motion from the held frames, extrapolation of the newest up
 * to the horizon at the input step, resampling onto the street grid if one is set, warnings,
 * targets. The warning's inputs name the held frames; a frame with no valid cell is named
 * "<path> [no data: every cell NaN]", and a street grid that no radar cell covers adds the
 * input "street grid [no data: outside the radar coverage]" (since 1.1), so that such a run
 * never reads as an all-clear. New object: release with sq25_warning_destroy. @return SQ25_OK; SQ25_ERR_TOO_FEW
 * (fewer frames than the motion needs); the errors of the stages. Since 1.0. */
SQ25_API int sq25_pipeline_run(sq25_pipeline *p, sq25_warning **out);
/* After a successful run: the number of forecast leads, and lead i (0-based; valid time issue
 * + (i+1)*step) on the radar grid, and the motion (pixels per step, width*height floats each).
 * Borrowed: valid until the next run, reset or destroy. NULL when there is none. Since 1.0. */
SQ25_API int sq25_pipeline_forecast_count(const sq25_pipeline *p);
SQ25_API const sq25_field *sq25_pipeline_forecast(const sq25_pipeline *p, int i);
SQ25_API const float *sq25_pipeline_motion_u(const sq25_pipeline *p);
SQ25_API const float *sq25_pipeline_motion_v(const sq25_pipeline *p);
/* Nominal time step of the held frames in seconds (the spacing of the first two frames after
 * a reset; 0 while fewer than two frames). Since 1.0. */
SQ25_API int sq25_pipeline_step_s(const sq25_pipeline *p);

/* ==== merge: radar-sensor merging methods, sensors in the pipeline cycle ==================== */
/* Merging puts the sensors' rain into the radar field on a street grid (or any grid). Every
 * method keeps the radar exactly (bit for bit) in the cells that have no valid sensor within
 * the interpolation radius (SQ25_INTERP_RADIUS_M of the merge's interp options; 0 = no such
 * limit), so where no sensor is near the merged analysis is the radar. docs/sensors.md
 * describes the methods, their defaults and their measured skill. */
enum {
    SQ25_MERGE_ADDITIVE = 1,       /* radar + ordinary kriging of sensor-minus-radar residuals
                                      (the method of sq25_interp_merge) */
    SQ25_MERGE_KED = 2,            /* kriging with the radar as external drift */
    SQ25_MERGE_MULTIPLICATIVE = 3, /* radar x kriged sensor/radar ratio */
    SQ25_MERGE_MEAN_FIELD_BIAS = 4 /* radar x one factor: sum of sensors / sum of radar */
};
/* Where the variogram of a merge came from. */
enum {
    SQ25_VARIOGRAM_SOURCE_NONE = 0,           /* no kriging (mean field bias, radar only) */
    SQ25_VARIOGRAM_SOURCE_FITTED = 1,         /* fitted to this cycle's sensors */
    SQ25_VARIOGRAM_SOURCE_CLIMATOLOGICAL = 2, /* too few sensors or a degenerate fit */
    SQ25_VARIOGRAM_SOURCE_GIVEN = 3           /* nugget, sill and range set in the options */
};
/* Merge parameters (keys of sq25_merge_options_set) and defaults. */
enum {
    SQ25_MERGE_CLIM_RANGE_M = 0,         /* climatological variogram range, metres: 5000 */
    SQ25_MERGE_CLIM_NUGGET_FRACTION = 1, /* its nugget / (nugget + sill): 0.3 (the total sill
                                            is the variance of the cycle's kriged values) */
    SQ25_MERGE_MIN_FIT_SENSORS = 2,      /* fewer valid sensors: climatological variogram: 10 */
    SQ25_MERGE_RATIO_OFFSET_MMH = 3,     /* multiplicative: ratio (s + c) / (r + c), c: 0.1 */
    SQ25_MERGE_FACTOR_MIN = 4,           /* multiplicative/mean field bias factors clipped to */
    SQ25_MERGE_FACTOR_MAX = 5,           /* [min, max]: 0.1 and 10 */
    SQ25_MERGE_PARAM_COUNT_ = 6
};
typedef struct sq25_merge_options sq25_merge_options;

/* What a merge did (filled by sq25_merge_run and sq25_pipeline_merge_info). */
typedef struct sq25_merge_info {
    int method;           /* SQ25_MERGE_* */
    int sensors_used;     /* sensors with a valid value and a valid radar value */
    int radar_only;       /* 1 when too few sensors: the result is the radar */
    int variogram_source; /* SQ25_VARIOGRAM_SOURCE_* */
    int variogram_model;  /* SQ25_VARIOGRAM_* (0 when none) */
    double nugget, sill, range_m; /* of the kriged quantity: (mm/h)^2 for additive and KED
                                     residuals, ratio^2 for multiplicative; NaN when none */
    double factor;        /* mean field bias factor; NaN for the other methods */
} sq25_merge_info;

/* Options with the defaults: additive, the interp defaults, the parameters above. New
 * object: release with sq25_merge_options_destroy. @return SQ25_OK, SQ25_ERR_INVALID_ARG,
 * SQ25_ERR_NOMEM. Since 1.1. */
SQ25_API int sq25_merge_options_create(sq25_ctx *ctx, sq25_merge_options **out);
/* Destroy options. Accepts NULL. Since 1.1. */
SQ25_API void sq25_merge_options_destroy(sq25_merge_options *o);
/* Select the method (SQ25_MERGE_*). @return SQ25_OK or SQ25_ERR_RANGE. Since 1.1. */
SQ25_API int sq25_merge_options_set_method(sq25_merge_options *o, int method);
SQ25_API int sq25_merge_options_method(const sq25_merge_options *o); /* Since 1.1. */
/* Set/get parameter key (SQ25_MERGE_*). @return SQ25_OK; SQ25_ERR_INVALID_ARG (key);
 * SQ25_ERR_RANGE (value). get: NaN for an unknown key. Since 1.1. */
SQ25_API int sq25_merge_options_set(sq25_merge_options *o, int key, double value);
SQ25_API double sq25_merge_options_get(const sq25_merge_options *o, int key);
/* The interpolation options the merge uses (radius, neighbours, variogram model, a given
 * nugget/sill/range, MIN_SENSORS: fewer valid sensors give the radar only; mean field bias
 * needs one). Borrowed: valid as long as o; configure with sq25_interp_options_set.
 * Since 1.1. */
SQ25_API sq25_interp_options *sq25_merge_options_interp(sq25_merge_options *o);
/* Method from its name: "additive", "ked", "multiplicative", "mfb" (also "mean_field_bias").
 * @return SQ25_OK or SQ25_ERR_INVALID_ARG. Since 1.1. */
SQ25_API int sq25_merge_method_from_name(const char *name, int *method);
/* Name of a method as above ("unknown" otherwise). Borrowed, static. Since 1.1. */
SQ25_API const char *sq25_merge_method_name(int method);
/* The info as one JSON object into buf (caller-owned buffer, cap bytes; always terminated):
 * {"method":..,"sensors_used":..,"radar_only":..,"variogram":{"source":..,"model":..,
 * "nugget":..,"sill":..,"range_m":..},"factor":..}. @return the length it needs (as
 * snprintf). Since 1.1. */
SQ25_API int sq25_merge_info_json(const sq25_merge_info *info, char *buf, size_t cap);

/* Merge n sensor values (mm/h; lon/lat degrees; pointer + byte stride arrays, NaN ignored)
 * with the radar field (mm/h, any grid and CRS) onto `grid` (its data are overwritten; it
 * keeps its valid time). The radar is resampled bilinearly as the background. radar_at: NULL,
 * or n values (stride radar_stride) of the radar at the sensors over the sensors' interval
 * (e.g. frames accumulated over it, see the pipeline); NULL samples `radar` at the sensors.
 * variance: NULL or a field on the grid for the kriging variance (NaN where not kriged).
 * info: NULL or filled. Results are clipped at 0; radar nodata stays NaN. @return SQ25_OK;
 * SQ25_ERR_INVALID_ARG; SQ25_ERR_GRID_MISMATCH; SQ25_ERR_PROJ; SQ25_ERR_NOMEM. Since 1.1. */
SQ25_API int sq25_merge_run(sq25_ctx *ctx, const sq25_merge_options *o,
                            const sq25_field *radar, size_t n, const double *lon,
                            size_t lon_stride, const double *lat, size_t lat_stride,
                            const double *value, size_t value_stride, const double *radar_at,
                            size_t radar_stride, sq25_field *grid, sq25_field *variance,
                            sq25_merge_info *info);

/* Sensors in the pipeline. Each run (issue time T = the newest frame's time) then does: QC of
 * the pushed window (once per push; optional) -> alignment of the sensors with the radar over
 * the comparison interval (T - L, T], L = the longer of the sensor step and the radar frames'
 * accumulation (their step when instantaneous): sensor steps summed, radar frames averaged
 * over it -> merged analysis at T on the street grid (or the radar grid) -> the forecast
 * advects the merged analysis with the radar motion: the correction (merged minus the radar
 * background) is extrapolated on that grid and added to the radar-only forecast there, so
 * rain still enters from the radar beyond the street grid and, where no sensor is near, every
 * lead and warning equals the radar-only run bit for bit -> warnings from the merged leads. */
enum { SQ25_STAMP_END = 0, SQ25_STAMP_START = 1 };

/* Give the pipeline the sensors' recent series (copied; a window ending at or after the
 * coming issue times, e.g. the last two weeks for QC; NULL clears). Replaces the previous
 * window; the QC (when on) runs now, once. @return SQ25_OK; SQ25_ERR_NOMEM; the errors of
 * sq25_qc_run. Since 1.1. */
SQ25_API int sq25_pipeline_push_sensors(sq25_pipeline *p, const sq25_series *window);
/* The merge options the runs use (borrowed: valid as long as the pipeline). Since 1.1. */
SQ25_API sq25_merge_options *sq25_pipeline_merge_options(sq25_pipeline *p);
/* QC of pushed windows: 1 (the default: sq25_qc_run with the options below, values with
 * flags in SQ25_QC_REJECT dropped), 2 (the same, and the other values multiplied by their
 * bias-correction factor, sq25_qc_apply_corrected: for PWS networks that under-read, as
 * PWSQC intends) or 0 (the window is used as pushed, e.g. QC'd already over a long file).
 * Applies from the next push. Since 1.1. */
SQ25_API void sq25_pipeline_set_sensor_qc(sq25_pipeline *p, int enabled);
SQ25_API sq25_qc_options *sq25_pipeline_qc_options(sq25_pipeline *p); /* borrowed. Since 1.1 */
/* Sensor time stamps: SQ25_STAMP_END (default; the series' times end each interval) or
 * SQ25_STAMP_START (the stored times are interval starts), and a lag in seconds added to
 * the sensors' times (their clock runs lag_s behind the radar's; |lag| <= 1 day).
 * @return SQ25_OK or SQ25_ERR_RANGE. Since 1.1. */
SQ25_API int sq25_pipeline_set_sensor_alignment(sq25_pipeline *p, int stamp, int lag_s);
/* After a run with sensors: the merged analysis at the issue time (on the street grid, or
 * the radar grid when none is set), NULL when no merge took place (no sensors pushed, or no
 * sensor value for the interval). Borrowed: valid until the next run, reset or destroy.
 * Since 1.1. */
SQ25_API const sq25_field *sq25_pipeline_analysis(const sq25_pipeline *p);
/* After a run: the leads the warnings were computed from (street grid when set; the merged
 * forecast when a merge took place), count and lead i (0-based). Borrowed, as above.
 * Since 1.1. */
SQ25_API int sq25_pipeline_warn_forecast_count(const sq25_pipeline *p);
SQ25_API const sq25_field *sq25_pipeline_warn_forecast(const sq25_pipeline *p, int i);
/* Info of the last run's merge (method SQ25_MERGE_*, sensors, variogram...). @return SQ25_OK,
 * or SQ25_ERR_NO_DATA when the last run merged nothing (info then says radar_only = 1).
 * Since 1.1. */
SQ25_API int sq25_pipeline_merge_info(const sq25_pipeline *p, sq25_merge_info *info);
/* Give the pipeline microwave links as line sensors: rain, their processed path rain (a
 * series with one station per link, mm per step, its times ending each interval, e.g. from
 * sq25_links_process) and lonlat, the links' end points (4 per link: lon0, lat0, lon1, lat1,
 * degrees; NaN = a link left out). Both copied; rain NULL clears (lonlat then ignored); a new
 * push replaces the previous one. Each run then merges the links together with the pushed
 * point sensors (sq25_pipeline_push_sensors, which need not be pushed): a link observes the
 * mean rain along its path, so the merge (the method of sq25_pipeline_merge_options) uses
 * block (line) support: residuals (additive) or ratios (multiplicative) are block-kriged, KED
 * takes the radar averaged along each path as the link's drift, mean field bias sums the
 * links like gauges; paths are cut into pieces of 250 m (at most 64), the variogram (when
 * not given) is the point variogram fitted with the line support regularised. Alignment as
 * for the point sensors, over the links' own interval: the longer of their step and the
 * radar interval, ending at the issue time (with the stamp and lag of
 * sq25_pipeline_set_sensor_alignment), against the radar along the path averaged over the
 * frames that end in it. Where no path point is within the interpolation radius, the merged
 * analysis and every lead equal the radar-only run bit for bit. @return SQ25_OK;
 * SQ25_ERR_INVALID_ARG (rain without lonlat); SQ25_ERR_NOMEM; SQ25_ERR_PROJ. A run returns
 * SQ25_ERR_ALIGNMENT when neither the link step nor the radar interval divides the other.
 * Since 1.2. */
SQ25_API int sq25_pipeline_push_links(sq25_pipeline *p, const sq25_series *rain,
                                      const double *lonlat);


#ifdef __cplusplus
}
#endif
#endif /* SQ25_H */
