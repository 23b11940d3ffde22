/* io_esri.c -- ESRI ASCII grids ("ncols / nrows / xllcorner / yllcorner / cellsize /
 * NODATA_value" then rows from the north) as DWD delivers RADOLAN RW hourly sums (the tar.gz
 * of one day, one grid per hour). The format carries no CRS, unit or time: a grid is read
 * only when its size and corner are those of a RADOLAN grid (then the RADOLAN projection
 * applies) and its name is DWD's "<product>_<YYYYMMDD>-<hhmm>.asc", which gives the product
 * (its unit: 0.1 mm per interval for RW, SF) and the end of the interval. */
#include "io.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    long long ncols, nrows;
    double xll, yll, cell, nodata;
    bool centre, has_nodata;
    size_t data_at;
} esri_header;

bool sq25__esri_looks_like(const unsigned char *b, size_t n)
{
    return n >= 5 && strncasecmp((const char *)b, "ncols", 5) == 0;
}

/* Reads "key value" lines until the first line that starts with a number. */
static int parse_header(sq25_ctx *ctx, const char *name, const char *t, size_t n,
                        esri_header *h)
{
    memset(h, 0, sizeof *h);
    size_t pos = 0;
    int seen = 0;
    while (pos < n) {
        while (pos < n && isspace((unsigned char)t[pos])) pos++;
        if (pos >= n || isdigit((unsigned char)t[pos]) || t[pos] == '-' || t[pos] == '.') break;
        char line[128], key[24];
        size_t len = 0; /* a bounded copy: the buffer is not NUL-terminated */
        while (pos + len < n && t[pos + len] != '\n' && len + 1 < sizeof line) {
            line[len] = t[pos + len];
            len++;
        }
        line[len] = '\0';
        double v;
        int used = 0;
        if (sscanf(line, "%23s %lf%n", key, &v, &used) != 2 || used <= 0)
            return sq25__fail(ctx, SQ25_ERR_PARSE, "%s: ESRI ASCII header line at byte %zu",
                              name, pos);
        bool is_size = !strcasecmp(key, "ncols") || !strcasecmp(key, "nrows");
        if (is_size && !(v >= 0 && v <= SQ25_MAX_GRID_SIDE && v == floor(v)))
            return sq25__fail(ctx, SQ25_ERR_SIZE_ABSURD, "%s: ESRI ASCII %s %g", name, key, v);
        if (!strcasecmp(key, "ncols")) h->ncols = (long long)v;
        else if (!strcasecmp(key, "nrows")) h->nrows = (long long)v;
        else if (!strcasecmp(key, "xllcorner")) h->xll = v;
        else if (!strcasecmp(key, "yllcorner")) h->yll = v;
        else if (!strcasecmp(key, "xllcenter")) h->xll = v, h->centre = true;
        else if (!strcasecmp(key, "yllcenter")) h->yll = v, h->centre = true;
        else if (!strcasecmp(key, "cellsize")) h->cell = v;
        else if (!strcasecmp(key, "nodata_value")) h->nodata = v, h->has_nodata = true;
        else
            return sq25__fail(ctx, SQ25_ERR_PARSE, "%s: ESRI ASCII header key \"%s\"", name,
                              key);
        seen++;
        pos += (size_t)used;
    }
    if (seen < 5 || !(h->cell > 0) || !isfinite(h->xll) || !isfinite(h->yll))
        return sq25__fail(ctx, SQ25_ERR_MISSING_ATTRIBUTE,
                          "%s: ESRI ASCII header needs ncols, nrows, xll*, yll*, cellsize", name);
    int rc = sq25__check_grid_size(ctx, h->ncols, h->nrows, name);
    if (rc) return rc;
    if (h->centre) {
        h->xll -= h->cell / 2;
        h->yll -= h->cell / 2;
    }
    h->data_at = pos;
    return SQ25_OK;
}

/* DWD's name: <product>_<YYYYMMDD>-<hhmm>[.asc], in the base name. */
static int name_product_time(const char *name, char product[3], int64_t *t)
{
    const char *base = name;
    for (const char *c = name; *c; c++)
        if (*c == '/' || *c == ':') base = c + 1; /* a tar member is named "archive:member" */
    int y, mo, d, hh, mi;
    char p[3];
    if (sscanf(base, "%2[A-Z]_%4d%2d%2d-%2d%2d", p, &y, &mo, &d, &hh, &mi) != 6) return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 23 || mi > 59) return -1;
    memcpy(product, p, 3);
    *t = sq25__utc_seconds(y, mo, d, hh, mi, 0);
    return 0;
}

/* Interval in seconds and precision of DWD's ASCII products. */
static int product_unit(const char *p, double *interval_s, double *scale)
{
    static const struct {
        const char *code;
        double interval_s, scale;
    } units[] = {{"RW", 3600, 0.1}, {"SF", 86400, 0.1}, {"RY", 300, 0.01}, {"YW", 300, 0.01}};
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
        if (strcmp(p, units[k].code) == 0) {
            *interval_s = units[k].interval_s;
            *scale = units[k].scale;
            return 0;
        }
    return -1;
}

static int read_values(sq25_ctx *ctx, const char *name, const char *t, size_t n,
                       const esri_header *h, double to_mmh, float *out)
{
    size_t pos = h->data_at, count = (size_t)(h->ncols * h->nrows);
    for (size_t i = 0; i < count; i++) {
        while (pos < n && isspace((unsigned char)t[pos])) pos++;
        char num[40];
        size_t k = 0;
        while (pos < n && !isspace((unsigned char)t[pos]) && k + 1 < sizeof num) num[k++] = t[pos++];
        num[k] = '\0';
        char *end;
        double v = strtod(num, &end);
        if (k == 0 || *end)
            return sq25__fail(ctx, k == 0 ? SQ25_ERR_FILE_TRUNCATED : SQ25_ERR_PARSE,
                              "%s: ESRI ASCII value %zu of %zu %s", name, i + 1, count,
                              k == 0 ? "missing (file cut short)" : "is not a number");
        bool missing = (h->has_nodata && v == h->nodata) || !isfinite(v);
        out[i] = missing ? NAN : sq25__float_or_nan(v * to_mmh);
    }
    return SQ25_OK;
}

int sq25__esri_decode(sq25_ctx *ctx, const char *name, const unsigned char *b, size_t n,
                      const char *layers, sq25_field **out)
{
    *out = NULL;
    const char *t = (const char *)b;
    esri_header h;
    int rc = parse_header(ctx, name, t, n, &h);
    if (rc) return rc;
    char projdef[200], product[3];
    double gt[6], interval_s = 3600, scale = 0.1;
    int64_t time;
    /* no CRS in the format: only RADOLAN grids (size and corner as DWD places them) */
    if (!(h.cell == 1000 && (h.nrows == 900 || h.nrows == 1100 || h.nrows == 1500) &&
          sq25__radolan_grid(ctx, name, (int)h.nrows, (int)h.ncols, 3, projdef, sizeof projdef,
                             gt) == SQ25_OK &&
          fabs(gt[0] - h.xll) < 1.0 && fabs(gt[3] - (double)h.nrows * h.cell - h.yll) < 1.0))
        return sq25__fail(ctx, SQ25_ERR_UNSUPPORTED,
                          "%s: ESRI ASCII grid %lld x %lld at (%.1f, %.1f) has no CRS: only "
                          "DWD RADOLAN grids are read from this format",
                          name, h.ncols, h.nrows, h.xll, h.yll);
    bool assumed = false;
    bool named = name_product_time(name, product, &time) == 0 &&
                 product_unit(product, &interval_s, &scale) == 0;
    if (!named && ctx->has_assumed_time) {
        /* without DWD's name: the caller's time, and RW's unit (DWD's ASCII product) */
        assumed = true;
        time = ctx->assumed_time;
        memcpy(product, "RW", 3);
        product_unit(product, &interval_s, &scale);
    } else if (!named)
        return sq25__fail(ctx, SQ25_ERR_BAD_TIME,
                          "%s: an ESRI ASCII grid has no time or unit; DWD's name "
                          "<RW|SF|RY|YW>_<YYYYMMDD>-<hhmm>.asc is needed for them",
                          name);
    rc = sq25_field_create(ctx, (int)h.ncols, (int)h.nrows, projdef, gt, time, out);
    if (!rc)
        rc = read_values(ctx, name, t, n, &h, scale * 3600.0 / interval_s, sq25_field_data(*out));
    char conversion[300];
    snprintf(conversion, sizeof conversion,
             "ESRI ASCII %s: values x %g mm per %.0f s (DWD's unit for %s), times 3600/%.0f to "
             "mm/h; NODATA_value -> NaN; RADOLAN grid by size and corner; %s%s%s",
             product, scale, interval_s, product, interval_s,
             assumed ? "time assumed by the caller, product taken as RW" : "time from the name",
             layers && layers[0] ? "; unpacked " : "", layers ? layers : "");
    if (!rc) rc = sq25__set_read_meta(*out, "ESRI ASCII grid", "DWD", product, conversion, name);
    if (!rc) sq25_field_set_accumulation_s(*out, (int)interval_s);
    if (rc) {
        sq25_field_destroy(*out);
        *out = NULL;
    }
    return rc;
}
