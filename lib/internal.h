/* internal.h -- declarations shared between the library's own source files. Not API.
 * Cross-file helpers use the prefix sq25__ so a leak into the exported surface is obvious
 * (the version script exports sq25_* only, and tests/abi checks the list). */
#ifndef SQ25_INTERNAL_H
#define SQ25_INTERNAL_H

#include "sq25.h"

#include <proj.h>
#include <stdarg.h>
#include <stdbool.h>

#define SQ25_ERRMSG_CAP 512
/* Grid CRSs whose lon/lat transform a context keeps at once. */
#define SQ25_LONLAT_OPS 16

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

/* Memory through the context's allocator. sq25__malloc sets SQ25_ERR_NOMEM on failure. */
void *sq25__malloc(sq25_ctx *ctx, size_t size);
void *sq25__calloc(sq25_ctx *ctx, size_t count, size_t size);
void sq25__free(sq25_ctx *ctx, void *ptr);
char *sq25__strdup(sq25_ctx *ctx, const char *s);

/* A field on src's grid with src's georeference, times and metadata, and uninitialised
 * data (no PROJ check: src's definition was checked when src was made). SQ25_OK or NOMEM. */
int sq25__field_clone_shape(const sq25_field *src, sq25_field **out);

/* Record a failure in ctx (code + printf-style one-line detail) and return the code, so that
 * callers can write: return sq25__fail(ctx, SQ25_ERR_READ, "%s: ...", path); */
int sq25__fail(sq25_ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Mark success: clears the last error. Returns SQ25_OK. */
int sq25__ok(sq25_ctx *ctx);
void sq25__log(sq25_ctx *ctx, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Check a grid size against SQ25_MAX_GRID_*; sets the error and returns it if absurd. */
int sq25__check_grid_size(sq25_ctx *ctx, int64_t width, int64_t height, const char *what);

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

/* HDF5 serialisation: Debian's HDF5 is not thread-safe. Every HDF5 call of the library goes
 * between sq25__h5_enter and sq25__h5_leave, which hold one process-wide mutex and switch
 * HDF5's automatic error printing off (restoring the caller's setting on leave). */
void sq25__h5_enter(void);
void sq25__h5_leave(void);

/* Time helpers: days from civil date and back (proleptic Gregorian, UTC). */
int64_t sq25__days_from_civil(int64_t y, unsigned m, unsigned d);
int64_t sq25__utc_seconds(int year, int month, int day, int hour, int minute, int second);
/* Format as "YYYY-MM-DDTHH:MM:SSZ" into buf (caller-owned, at least 21 bytes). */
void sq25__format_utc(int64_t t, char *buf, size_t cap);

#endif
