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
 *                  object made from it. There is no mutable global state, with one exception:
 *                  Debian's HDF5 is not built thread-safe, so every HDF5 call of the library
 *                  runs under one library-wide mutex (readers and writers of different
 *                  threads are serialised, everything else runs in parallel). HDF5's own error
 *                  printing is switched off for the duration of the library's calls only.
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
#define SQ25_VERSION_MINOR 0
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
    X(ERR_PROJ, -200, "projection definition or transformation failed")                     \
    X(ERR_GRID_MISMATCH, -201, "grids do not match")                                        \
    X(ERR_OUTSIDE_GRID, -202, "location outside the grid")                                  \
    X(ERR_NO_DATA, -300, "no valid data")                                                    \
    X(ERR_TIME_GAP, -301, "gap in the time series")                                          \
    X(ERR_TIME_ORDER, -302, "times are not in increasing order")                            \
    X(ERR_TIME_MISMATCH, -303, "time steps do not match")                                   \
    X(ERR_TOO_FEW, -304, "too few inputs")                                                   \
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

/* ------------------------------------------------------------------------------------------ */
/* Time                                                                                       */
/* ------------------------------------------------------------------------------------------ */
/* Parse a UTC time: "YYYY-MM-DDTHH:MM[:SS][Z]", "YYYY-MM-DD HH:MM[:SS]", "YYYYMMDDHHMM[SS]"
 * or "@<seconds since 1970>". @return SQ25_OK or SQ25_ERR_BAD_TIME. Since 1.0. */
SQ25_API int sq25_time_parse(const char *text, int64_t *utc_seconds);
/* Format as "YYYY-MM-DDTHH:MM:SSZ" into buf (caller-owned buffer, cap >= 21 bytes; shorter
 * buffers get a truncated, terminated string). @return the length written. Since 1.0. */
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
    SQ25_FORMAT_CF = 3    /* CF-1.x netCDF-4 (an HDF5 file) with a gridded rain variable */
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
 * detecting the format. The valid time is the product's nominal time (ODIM /what date+time);
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
 *            interval (cell_methods "interval:", an accumulation attribute, or the time step). */
SQ25_API int sq25_read_field_frame(sq25_ctx *ctx, const char *path, int index,
                                   sq25_field **out);
/* Frame 0: sq25_read_field_frame(ctx, path, 0, out). Since 1.0. */
SQ25_API int sq25_read_field(sq25_ctx *ctx, const char *path, sq25_field **out);

/* An ODIM_H5 composite writer: one file, datasets appended in call order. */
typedef struct sq25_odim_writer sq25_odim_writer;
/* Create (truncate) path for writing. New object: finish with sq25_odim_writer_close, which
 * also releases it. Since 1.0. */
SQ25_API int sq25_odim_writer_create(sq25_ctx *ctx, const char *path, sq25_odim_writer **out);
/* Append a field as dataset<N>/data1 with the given ODIM quantity ("RATE" in mm/h, or any
 * other quantity name for auxiliary grids such as motion) and nominal start/end times
 * (UTC seconds). The first field added sets /what, /where (projection, corners, size).
 * Fields must share its grid (else SQ25_ERR_GRID_MISMATCH). Since 1.0. */
SQ25_API int sq25_odim_writer_add(sq25_odim_writer *w, const sq25_field *field,
                                  const char *quantity, int64_t start_time, int64_t end_time);
/* Finish the file and release the writer (accepts NULL). @return SQ25_OK or SQ25_ERR_WRITE;
 * on error the partial file is removed. Since 1.0. */
SQ25_API int sq25_odim_writer_close(sq25_odim_writer *w);
/* Write one field as a single-dataset ODIM_H5 file (RATE, mm/h; start time = valid time minus
 * the field's accumulation). Data are float32, gzip, gain 1, offset 0, NaN written as nodata
 * -9999000 (undetect -8888000 is declared but never used). The grid must be north-up (no
 * rotation terms in the geotransform), else SQ25_ERR_UNSUPPORTED. Since 1.0. */
SQ25_API int sq25_write_odim(sq25_ctx *ctx, const char *path, const sq25_field *field);


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
/* End time (UTC seconds) of step k. Since 1.0. */
SQ25_API int64_t sq25_series_time(const sq25_series *s, int64_t step);
/* Step whose interval ends at t (exactly), or -1. Since 1.0. */
SQ25_API int64_t sq25_series_step_at(const sq25_series *s, int64_t end_time);
/* Station id. Borrowed. Since 1.0. */
SQ25_API const char *sq25_series_station_id(const sq25_series *s, int station);
/* Station position in lon/lat degrees (WGS84); NaN when unknown. Since 1.0. */
SQ25_API void sq25_series_station_lonlat(const sq25_series *s, int station, double *lon,
                                         double *lat);
/* Set a station's id (copied) and position. @return SQ25_OK; SQ25_ERR_INVALID_ARG;
 * SQ25_ERR_NOMEM. Since 1.0. */
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

/* QC parameters (keys of sq25_qc_options_set), with their defaults for 5-minute data. */
enum {
    SQ25_QC_NEIGHBOUR_RANGE_M = 0, /* neighbours within this distance, metres: 10000 */
    SQ25_QC_MIN_NEIGHBOURS = 1,    /* fewer reporting neighbours = cannot judge: 5 */
    SQ25_QC_FZ_INTERVALS = 2,      /* faulty-zero window, intervals: 6 */
    SQ25_QC_HI_THRESHOLD_A = 3,    /* high influx: reference threshold, mm per step: 0.4 */
    SQ25_QC_HI_THRESHOLD_B = 4,    /* high influx: station threshold, mm per step: 10 */
    SQ25_QC_SO_WINDOW = 5,         /* station-outlier window, steps: 4032 (two weeks) */
    SQ25_QC_SO_GAMMA = 6,          /* median correlation below this = outlier: 0.15 */
    SQ25_QC_SO_MIN_MATCHES = 7,    /* wet matched steps needed per neighbour pair: 200 */
    SQ25_QC_BIAS_START = 8,        /* initial bias-correction factor: 1.24 */
    SQ25_QC_BIAS_BETA = 9,         /* relative bias that triggers an update: 0.2 */
    SQ25_QC_PARAM_COUNT_ = 10
};
/* Per-step flag bits (sq25_qc_flags). 0 = passed all filters. */
enum {
    SQ25_QC_FLAG_FAULTY_ZERO = 1,    /* station 0 while neighbours' median > 0 for a window */
    SQ25_QC_FLAG_HIGH_INFLUX = 2,    /* implausible amount compared with the neighbours */
    SQ25_QC_FLAG_OUTLIER = 4,        /* median correlation with neighbours below gamma */
    SQ25_QC_FLAG_FEW_NEIGHBOURS = 8, /* too few reporting neighbours: FZ/HI not judged */
    SQ25_QC_FLAG_SO_UNKNOWN = 16,    /* too few matched neighbours: outlier not judged */
    SQ25_QC_FLAG_MISSING = 32        /* no value at this step */
};
/* Flags that mean "do not use this value". */
#define SQ25_QC_REJECT (SQ25_QC_FLAG_FAULTY_ZERO | SQ25_QC_FLAG_HIGH_INFLUX | SQ25_QC_FLAG_OUTLIER)

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

/* Compute the warning from frame_count forecast fields (borrowed for the call) at leads of
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

/* Writers. Each takes a path (created or truncated) and gives SQ25_ERR_WRITE naming the path
 * when it cannot be written. All outputs carry the issue time, the valid period
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

/* Render a rain-rate field (mm/h) as a PNG map at path (created or truncated). field, targets
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

/* ==== pipeline: the whole chain, frame by frame ============================================ */
/* A pipeline keeps the state a warning service needs between radar frames: the last few
 * frames (copies), the options of motion and warnings, an optional street grid and targets.
 * Feed it frame by frame as data arrives (no re-reading of old frames) and run it at each
 * issue time. One pipeline is used by one thread at a time. */
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
 * computed: any field, only its grid is used (copied). NULL = warnings on the radar grid.
 * @return SQ25_OK or SQ25_ERR_NOMEM. Since 1.0. */
SQ25_API int sq25_pipeline_set_street_grid(sq25_pipeline *p, const sq25_field *grid);
/* Targets evaluated at each run. Borrowed: must outlive the pipeline or be replaced (NULL
 * clears). Since 1.0. */
SQ25_API void sq25_pipeline_set_targets(sq25_pipeline *p, const sq25_targets *targets);
/* Add the newest radar frame (copied; rates in mm/h). Frames must share one grid, come in
 * increasing valid time, and keep one time step (the spacing of the first two frames), with
 * gaps of whole steps up to the maximum gap (sq25_pipeline_set_max_gap). On error nothing
 * changes: SQ25_ERR_GRID_MISMATCH (other grid), SQ25_ERR_TIME_ORDER (not newer than the last),
 * SQ25_ERR_TIME_GAP (not a whole number of steps after the last, or more missing frames than
 * the maximum gap: call sq25_pipeline_reset and feed again), SQ25_ERR_NOMEM. Since 1.0. */
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
 * targets. New object: release with sq25_warning_destroy. @return SQ25_OK; SQ25_ERR_TOO_FEW
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


#ifdef __cplusplus
}
#endif
#endif /* SQ25_H */
