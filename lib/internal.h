/* internal.h -- declarations shared between the library's own source files. Not API.
 * Cross-file helpers use the prefix sq25__ so a leak into the exported surface is obvious
 * (the version script exports sq25_* only, and tests/abi checks the list). */
#ifndef SQ25_INTERNAL_H
#define SQ25_INTERNAL_H

#include "sq25.h"
#include "pool.h"

#include <proj.h>
#include <stdarg.h>
#include <stdbool.h>

#define SQ25_ERRMSG_CAP 512

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
    PJ *to_lonlat;       /* lazily made: projected CRS -> lon/lat (normalised axis order) */
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
/* A transform from the CRS of projdef to geographic lon/lat degrees (WGS84, lon first). */
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
