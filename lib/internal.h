/* internal.h -- declarations shared between the library's own source files. Not API.
 * Cross-file helpers use the prefix sq25__ so a leak into the exported surface is obvious
 * (the version script exports sq25_* only, and tests/abi checks the list). */
#ifndef SQ25_INTERNAL_H
#define SQ25_INTERNAL_H

#include "sq25.h"
#include "pool.h"

#include <float.h>
#include <math.h>
#include <proj.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#define SQ25_ERRMSG_CAP 512
/* Grid CRSs whose lon/lat transform a context keeps at once. */
#define SQ25_LONLAT_OPS 16
#define SQ25__LIMIT_COUNT 4

/* Times the library accepts from input: years 1000 to 9999 (the range sq25_time_parse and
 * sq25_time_format handle), in UTC seconds. Bounding every input time here keeps all time
 * differences and step products far inside int64. */
#define SQ25__TIME_MIN ((int64_t)-30610224000) /* 1000-01-01T00:00:00Z */
#define SQ25__TIME_MAX ((int64_t)253402300799) /* 9999-12-31T23:59:59Z */

/* Overflow-checked arithmetic (GCC/Clang builtins): true when the result fits. */
#define sq25__mul_ok(a, b, res) (!__builtin_mul_overflow((a), (b), (res)))
#define sq25__add_ok(a, b, res) (!__builtin_add_overflow((a), (b), (res)))
#define sq25__sub_ok(a, b, res) (!__builtin_sub_overflow((a), (b), (res)))

/* A value decoded from a file as float32 data: NaN when it is not finite or beyond the float
 * range, where the conversion would give an infinity (1e300 mm is no rain, and an infinity
 * passes every later "> threshold" test as the heaviest rain). */
static inline float sq25__float_or_nan(double v) { return fabs(v) <= FLT_MAX ? (float)v : NAN; }

struct sq25_ctx {
    sq25_alloc_fn alloc;
    sq25_free_fn free_fn;
    void *opaque;
    sq25_log_fn log_fn;
    void *log_user;
    int log_max_level;
    int last_code;
    char errmsg[SQ25_ERRMSG_CAP];
    PJ_CONTEXT *pj_ctx; /* PROJ context of this sq25 context: PROJ wants one per thread */
    /* The WGS84 lon/lat <-> grid transforms of this context, one per grid CRS (see geo.c). */
    struct sq25__lonlat_op {
        char *projdef; /* the grid's PROJ definition as given, NULL = free slot */
        PJ *op;        /* EPSG:4326 -> grid CRS, east/north axis order */
    } lonlat_ops[SQ25_LONLAT_OPS];
    int lonlat_next; /* slot replaced when the cache is full (round robin) */
    int64_t limits[SQ25__LIMIT_COUNT]; /* resource limits, see sq25_ctx_set_limit */
    void *unpack_cache; /* readers: the last unpacked archive (io_archive.c) */
    double zr_a, zr_b;  /* readers: Z = a R^b for reflectivity (0, 0: Marshall-Palmer) */
    double ceiling_mmh; /* readers: rates above it are clipped or flagged (0: none) */
    int ceiling_mode;   /* SQ25_CEILING_CLIP or SQ25_CEILING_NODATA */
    bool has_assumed_time; /* readers: a valid time for frames whose file states none */
    int64_t assumed_time;
    sq25__pool pool;    /* worker threads of the parallel loops (pool.c) */
};

#define SQ25_META_COUNT 5

struct sq25_field {
    sq25_ctx *ctx;
    int width, height;
    float *data;         /* height*width, row-major, mm/h, NaN = no data */
    char *projdef;       /* PROJ definition as given */
    double gt[6];        /* geotransform, see sq25.h */
    int64_t valid_time;  /* UTC seconds */
    int accumulation_s;  /* 0 = instantaneous rate */
    char *meta[SQ25_META_COUNT];
};

/* Release the readers' cached archive (io_archive.c). */
void sq25__unpack_cache_release(sq25_ctx *ctx);

/* Memory through the context's allocator. sq25__malloc sets SQ25_ERR_NOMEM on failure. */
void *sq25__malloc(sq25_ctx *ctx, size_t size);
void *sq25__calloc(sq25_ctx *ctx, size_t count, size_t size);
void sq25__free(sq25_ctx *ctx, void *ptr);
char *sq25__strdup(sq25_ctx *ctx, const char *s);

/* A field on src's grid with src's georeference, times and metadata, and uninitialised
 * data (no PROJ check: src's definition was checked when src was made). SQ25_OK or NOMEM. */
int sq25__field_clone_shape(const sq25_field *src, sq25_field **out);
/* The same, but the new field belongs to ctx (allocated there, reports errors there): for
 * handles that keep copies of objects made in another context. */
int sq25__field_clone_shape_in(sq25_ctx *ctx, const sq25_field *src, sq25_field **out);
/* A full copy of src (data too) that belongs to ctx. SQ25_OK or NOMEM. */
int sq25__field_copy_in(sq25_ctx *ctx, const sq25_field *src, sq25_field **out);

/* The latest frame moved along (u, v) step by step (lib/advect.c), giving after each step
 * the amount since the start (mm) that sq25_extrapolate_accumulation(ctx, latest, u, v,
 * step_s, steps so far, substeps, ...) gives, to the bit, in one pass for every window (the
 * ensemble's control member). sq25__accumulator_next: one step on; rate (may be NULL) gets
 * the rate (mm/h) at the step's end, the same as sq25_extrapolator_next's with the same
 * sub-steps when substeps is a power of two (the sub-step times are then exact in float);
 * amount_mm (may be NULL) the amount. latest, u and v are borrowed. SQ25_OK, NOMEM or
 * sq25_extrapolate_accumulation's argument errors. */
typedef struct sq25__accumulator sq25__accumulator;
int sq25__accumulator_create(sq25_ctx *ctx, const sq25_field *latest, const float *u,
                             const float *v, int step_s, int substeps, sq25__accumulator **out);
int sq25__accumulator_next(sq25__accumulator *a, float *rate, float *amount_mm);
void sq25__accumulator_destroy(sq25__accumulator *a);

/* Record a failure in ctx (code + printf-style one-line detail) and return the code, so that
 * callers can write: return sq25__fail(ctx, SQ25_ERR_READ, "%s: ...", path); */
int sq25__fail(sq25_ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Mark success: clears the last error. Returns SQ25_OK. */
int sq25__ok(sq25_ctx *ctx);
void sq25__log(sq25_ctx *ctx, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Check a grid size against SQ25_MAX_GRID_SIDE and the context's SQ25_LIMIT_GRID_CELLS; sets
 * SQ25_ERR_SIZE_ABSURD naming `what` and returns it if the grid is empty or too large. */
int sq25__check_grid_size(sq25_ctx *ctx, int64_t width, int64_t height, const char *what);
/* The context's limit for key (SQ25_LIMIT_*), the default when ctx is NULL. */
int64_t sq25__limit(const sq25_ctx *ctx, int key);
/* True when t is inside [SQ25__TIME_MIN, SQ25__TIME_MAX]. */
bool sq25__time_in_range(int64_t t);

/* Make a PROJ CRS object from a definition (proj-string without +type=crs is accepted). */
PJ *sq25__proj_crs(sq25_ctx *ctx, const char *projdef);
/* The one rule of the library: every lon/lat it takes or gives is WGS84 (EPSG:4326, lon
 * first). sq25__lonlat_op gives the context's cached transform from EPSG:4326 to the CRS of
 * projdef (PJ_FWD: lon/lat degrees -> grid x/y; PJ_INV: back), made once per CRS and context
 * with PROJ's choice of the best available operation. Borrowed: valid until the next
 * sq25__lonlat_op call on the context or its destruction; NULL with the error set. */
PJ *sq25__lonlat_op(sq25_ctx *ctx, const char *projdef);
/* Release the cached transforms (sq25_ctx_destroy). */
void sq25__lonlat_ops_free(sq25_ctx *ctx);
/* A new transform from the CRS of projdef to WGS84 lon/lat degrees (lon first), the same
 * operation as sq25__lonlat_op in the other direction; release with proj_destroy. */
PJ *sq25__proj_to_lonlat(sq25_ctx *ctx, const char *projdef);

/* HDF5 access: every HDF5 call of the library goes between sq25__h5_enter and
 * sq25__h5_leave, which switch HDF5's automatic error printing off (restoring the caller's
 * setting on leave) and, only when the HDF5 linked at run time is not thread-safe, hold one
 * process-wide recursive mutex (sq25__h5_uses_lock says which). */
void sq25__h5_enter(void);
void sq25__h5_leave(void);
bool sq25__h5_uses_lock(void);

/* Whole outputs (io_output.c), used by EVERY writer of the library: begin makes an empty
 * temporary file in the folder of path (checking that path is not a folder and its folder
 * exists; PERMISSION or WRITE naming the file, with the errno text); the writer writes
 * o->tmp (by name, or through sq25__output_fopen / sq25__output_fclose); commit fsyncs and
 * renames it over path; abort removes it. The old file at path stays whole until commit.
 * After begin, exactly one of commit or abort must be called; both release o. */
typedef struct {
    char *path; /* final path */
    char *tmp;  /* temporary in the same folder */
} sq25__output;
int sq25__output_begin(sq25_ctx *ctx, const char *path, sq25__output *o);
FILE *sq25__output_fopen(sq25_ctx *ctx, const sq25__output *o);
/* Flush and close fp; WRITE/PERMISSION with the errno text on failure (fp closed always). */
int sq25__output_fclose(sq25_ctx *ctx, const sq25__output *o, FILE *fp);
int sq25__output_commit(sq25_ctx *ctx, sq25__output *o);
/* Start writing the temporary's data to disk without waiting for it (Linux's
 * sync_file_range; nothing elsewhere), so that the commit's fsync has less left to wait for:
 * for a writer that writes a large file piece by piece beside other work. Makes no context
 * call (any thread); errors are left to the commit. */
void sq25__output_writeback(const sq25__output *o);
void sq25__output_abort(sq25_ctx *ctx, sq25__output *o);

/* Time helpers: days from civil date and back (proleptic Gregorian, UTC). */
int64_t sq25__days_from_civil(int64_t y, unsigned m, unsigned d);
int64_t sq25__utc_seconds(int year, int month, int day, int hour, int minute, int second);
/* Format as "YYYY-MM-DDTHH:MM:SSZ" into buf (caller-owned, at least 21 bytes). */
void sq25__format_utc(int64_t t, char *buf, size_t cap);

/* Thread pool (pool.c). sq25__parallel_for runs fn over items [0, n_items) in chunks of at
 * least min_chunk items on the context's threads and returns when all are done; it runs
 * inline with one thread, for few items, or when called from inside a loop. fn must not
 * allocate through the context, record errors or touch state other than its items' own. */
void sq25__parallel_for(sq25_ctx *ctx, int n_items, int min_chunk, sq25__range_fn fn,
                        void *arg);
/* Threads the loops use (the caller counts as one). */
int sq25__threads(const sq25_ctx *ctx);
/* Stop and join the workers (sq25_ctx_destroy). */
void sq25__pool_stop(sq25__pool *pool);

#endif
