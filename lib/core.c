/* core.c -- version, error texts, contexts, allocation and time helpers. */
#include "internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sq25_version(void) { return SQ25_VERSION_NUMBER; }
const char *sq25_version_string(void) { return SQ25_VERSION_STRING; }

/* ---- error texts: generated from SQ25_ERROR_MAP, static, never allocating ---- */
const char *sq25_strerror(int code)
{
    switch (code) {
#define SQ25_TEXT_CASE_(name, value, text) case value: return text;
        SQ25_ERROR_MAP(SQ25_TEXT_CASE_)
#undef SQ25_TEXT_CASE_
    default: return "unknown error code";
    }
}

const char *sq25_errname(int code)
{
    switch (code) {
#define SQ25_NAME_CASE_(name, value, text) case value: return "SQ25_" #name;
        SQ25_ERROR_MAP(SQ25_NAME_CASE_)
#undef SQ25_NAME_CASE_
    default: return "SQ25_UNKNOWN";
    }
}

/* ---- contexts ---- */
static void *default_alloc(void *opaque, size_t size)
{
    (void)opaque;
    return malloc(size);
}

static void default_free(void *opaque, void *ptr)
{
    (void)opaque;
    free(ptr);
}

/* PROJ prints nothing itself: its messages go to the context's log at debug level. */
static void proj_log_to_ctx(void *user, int level, const char *msg)
{
    (void)level;
    sq25__log((sq25_ctx *)user, SQ25_LOG_DEBUG, "PROJ: %s", msg);
}

sq25_ctx *sq25_ctx_create_with_allocator(sq25_alloc_fn alloc, sq25_free_fn free_fn,
                                         void *opaque)
{
    if (!alloc || !free_fn) return NULL;
    sq25_ctx *ctx = alloc(opaque, sizeof *ctx);
    if (!ctx) return NULL;
    memset(ctx, 0, sizeof *ctx);
    ctx->alloc = alloc;
    ctx->free_fn = free_fn;
    ctx->opaque = opaque;
    ctx->pj_ctx = proj_context_create();
    if (!ctx->pj_ctx) {
        free_fn(opaque, ctx);
        return NULL;
    }
    proj_log_func(ctx->pj_ctx, ctx, proj_log_to_ctx);
    proj_log_level(ctx->pj_ctx, PJ_LOG_ERROR);
    return ctx;
}

sq25_ctx *sq25_ctx_create(void)
{
    return sq25_ctx_create_with_allocator(default_alloc, default_free, NULL);
}

void sq25_ctx_destroy(sq25_ctx *ctx)
{
    if (!ctx) return;
    sq25__lonlat_ops_free(ctx);
    if (ctx->pj_ctx) proj_context_destroy(ctx->pj_ctx);
    ctx->free_fn(ctx->opaque, ctx);
}

void sq25_ctx_set_log(sq25_ctx *ctx, sq25_log_fn fn, void *user, int max_level)
{
    if (!ctx) return;
    ctx->log_fn = fn;
    ctx->log_user = user;
    ctx->log_max_level = max_level;
}

int sq25_errcode(const sq25_ctx *ctx) { return ctx ? ctx->last_code : SQ25_ERR_INVALID_ARG; }

const char *sq25_errmsg(const sq25_ctx *ctx) { return ctx ? ctx->errmsg : "no context"; }

void sq25_free(sq25_ctx *ctx, void *ptr) { sq25__free(ctx, ptr); }

/* ---- internal helpers ---- */
void *sq25__malloc(sq25_ctx *ctx, size_t size)
{
    void *p = ctx->alloc(ctx->opaque, size ? size : 1);
    if (!p) sq25__fail(ctx, SQ25_ERR_NOMEM, "out of memory allocating %zu bytes", size);
    return p;
}

void *sq25__calloc(sq25_ctx *ctx, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) {
        sq25__fail(ctx, SQ25_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", count, size);
        return NULL;
    }
    void *p = sq25__malloc(ctx, count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

void sq25__free(sq25_ctx *ctx, void *ptr)
{
    if (ctx && ptr) ctx->free_fn(ctx->opaque, ptr);
}

char *sq25__strdup(sq25_ctx *ctx, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = sq25__malloc(ctx, n);
    if (d) memcpy(d, s, n);
    return d;
}

int sq25__fail(sq25_ctx *ctx, int code, const char *fmt, ...)
{
    if (!ctx) return code;
    ctx->last_code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->errmsg, sizeof ctx->errmsg, fmt, ap);
    va_end(ap);
    /* The message is one line by contract. */
    for (char *c = ctx->errmsg; *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
    sq25__log(ctx, SQ25_LOG_ERROR, "%s", ctx->errmsg);
    return code;
}

int sq25__ok(sq25_ctx *ctx)
{
    if (ctx) {
        ctx->last_code = SQ25_OK;
        ctx->errmsg[0] = '\0';
    }
    return SQ25_OK;
}

void sq25__log(sq25_ctx *ctx, int level, const char *fmt, ...)
{
    if (!ctx || !ctx->log_fn || level > ctx->log_max_level) return;
    char line[SQ25_ERRMSG_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ctx->log_fn(ctx->log_user, level, line);
}

int sq25__check_grid_size(sq25_ctx *ctx, int64_t width, int64_t height, const char *what)
{
    if (width < 1 || height < 1 || width > SQ25_MAX_GRID_SIDE || height > SQ25_MAX_GRID_SIDE ||
        width * height > SQ25_MAX_GRID_CELLS)
        return sq25__fail(ctx, SQ25_ERR_SIZE_ABSURD,
                          "%s: grid of %lld x %lld cells is absurd (limits: side %d, cells %lld)",
                          what, (long long)width, (long long)height, SQ25_MAX_GRID_SIDE,
                          (long long)SQ25_MAX_GRID_CELLS);
    return SQ25_OK;
}

/* ---- time (proleptic Gregorian; algorithm of H. Hinnant's "days_from_civil") ---- */
int64_t sq25__days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int64_t sq25__utc_seconds(int year, int month, int day, int hour, int minute, int second)
{
    return sq25__days_from_civil(year, (unsigned)month, (unsigned)day) * 86400 +
           (int64_t)hour * 3600 + minute * 60 + second;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)((int64_t)yoe + era * 400 + (*m <= 2));
}

void sq25__format_utc(int64_t t, char *buf, size_t cap)
{
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t sec = t - days * 86400;
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, (int)(sec / 3600),
             (int)(sec / 60 % 60), (int)(sec % 60));
}

int sq25_time_format(int64_t utc_seconds, char *buf, size_t cap)
{
    if (!buf || cap == 0) return 0;
    sq25__format_utc(utc_seconds, buf, cap);
    return (int)strlen(buf);
}

static bool valid_civil(int y, int mo, int d, int h, int mi, int s)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return y >= 1000 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 && d <= mdays[mo - 1] &&
           h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && s >= 0 && s <= 60;
}

int sq25_time_parse(const char *text, int64_t *utc_seconds)
{
    if (!text || !utc_seconds) return SQ25_ERR_INVALID_ARG;
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, n = 0;
    if (text[0] == '@') {
        char *end;
        long long v = strtoll(text + 1, &end, 10);
        if (end == text + 1 || *end) return SQ25_ERR_BAD_TIME;
        *utc_seconds = v;
        return SQ25_OK;
    }
    size_t len = strlen(text);
    bool digits_only = len > 0;
    for (size_t i = 0; i < len; i++) digits_only = digits_only && isdigit((unsigned char)text[i]);
    if (digits_only && (len == 12 || len == 14)) {
        n = sscanf(text, "%4d%2d%2d%2d%2d%2d", &y, &mo, &d, &h, &mi, &s);
        if (n < 5) return SQ25_ERR_BAD_TIME;
    } else {
        char sep = 0;
        int consumed = 0;
        n = sscanf(text, "%4d-%2d-%2d%c%2d:%2d%n:%2d%n", &y, &mo, &d, &sep, &h, &mi, &consumed, &s,
                   &consumed);
        if (n < 6 || (sep != 'T' && sep != ' ')) return SQ25_ERR_BAD_TIME;
        const char *rest = text + consumed;
        if (*rest == 'Z') rest++;
        if (*rest) return SQ25_ERR_BAD_TIME;
    }
    if (!valid_civil(y, mo, d, h, mi, s)) return SQ25_ERR_BAD_TIME;
    *utc_seconds = sq25__utc_seconds(y, mo, d, h, mi, s);
    return SQ25_OK;
}
