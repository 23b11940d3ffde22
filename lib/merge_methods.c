/* merge_methods.c -- radar-sensor merging chosen by name: additive residual kriging, kriging
 * with external drift (merge_ked.c), multiplicative adjustment and mean field bias; the
 * variogram fitted per call with a climatological fallback; the radar kept exactly where no
 * sensor is within the interpolation radius. */
#include "merge_internal.h"
#include "spatial.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct sq25_merge_options {
    sq25_ctx *ctx;
    int method;
    sq25_interp_options *interp;
    double p[SQ25_MERGE_PARAM_COUNT_];
};

static const double merge_defaults[SQ25_MERGE_PARAM_COUNT_] = {
    [SQ25_MERGE_CLIM_RANGE_M] = 5000,   [SQ25_MERGE_CLIM_NUGGET_FRACTION] = 0.3,
    [SQ25_MERGE_MIN_FIT_SENSORS] = 10,  [SQ25_MERGE_RATIO_OFFSET_MMH] = 0.1,
    [SQ25_MERGE_FACTOR_MIN] = 0.1,      [SQ25_MERGE_FACTOR_MAX] = 10,
};

int sq25_merge_options_create(sq25_ctx *ctx, sq25_merge_options **out)
{
    if (!ctx || !out) return SQ25_ERR_INVALID_ARG;
    *out = NULL;
    sq25_merge_options *o = sq25__calloc(ctx, 1, sizeof *o);
    if (!o) return SQ25_ERR_NOMEM;
    o->ctx = ctx;
    o->method = SQ25_MERGE_ADDITIVE;
    memcpy(o->p, merge_defaults, sizeof o->p);
    int rc = sq25_interp_options_create(ctx, &o->interp);
    if (rc) {
        sq25__free(ctx, o);
        return rc;
    }
    *out = o;
    return SQ25_OK;
}

void sq25_merge_options_destroy(sq25_merge_options *o)
{
    if (!o) return;
    sq25_interp_options_destroy(o->interp);
    sq25__free(o->ctx, o);
}

int sq25_merge_options_set_method(sq25_merge_options *o, int method)
{
    if (!o) return SQ25_ERR_INVALID_ARG;
    if (method < SQ25_MERGE_ADDITIVE || method > SQ25_MERGE_MEAN_FIELD_BIAS)
        return sq25__fail(o->ctx, SQ25_ERR_RANGE, "merge method %d unknown", method);
    o->method = method;
    return SQ25_OK;
}

int sq25_merge_options_method(const sq25_merge_options *o) { return o ? o->method : 0; }

int sq25_merge_options_set(sq25_merge_options *o, int key, double value)
{
    if (!o || key < 0 || key >= SQ25_MERGE_PARAM_COUNT_) return SQ25_ERR_INVALID_ARG;
    bool ok = isfinite(value);
    switch (key) {
    case SQ25_MERGE_CLIM_RANGE_M: ok = ok && value > 0; break;
    case SQ25_MERGE_CLIM_NUGGET_FRACTION: ok = ok && value >= 0 && value < 1; break;
    case SQ25_MERGE_MIN_FIT_SENSORS: ok = ok && value >= 4 && value <= 1e6 && value == floor(value); break;
    case SQ25_MERGE_RATIO_OFFSET_MMH: ok = ok && value > 0; break;
    case SQ25_MERGE_FACTOR_MIN: ok = ok && value > 0 && value <= o->p[SQ25_MERGE_FACTOR_MAX]; break;
    default: ok = ok && value >= o->p[SQ25_MERGE_FACTOR_MIN]; break;
    }
    if (!ok)
        return sq25__fail(o->ctx, SQ25_ERR_RANGE, "merge parameter %d: value %g not allowed", key,
                          value);
    o->p[key] = value;
    return SQ25_OK;
}

double sq25_merge_options_get(const sq25_merge_options *o, int key)
{
    if (!o || key < 0 || key >= SQ25_MERGE_PARAM_COUNT_) return NAN;
    return o->p[key];
}

sq25_interp_options *sq25_merge_options_interp(sq25_merge_options *o) { return o ? o->interp : NULL; }

static const struct {
    const char *name;
    int method;
} method_names[] = {
    {"additive", SQ25_MERGE_ADDITIVE},        {"ked", SQ25_MERGE_KED},
    {"multiplicative", SQ25_MERGE_MULTIPLICATIVE}, {"mfb", SQ25_MERGE_MEAN_FIELD_BIAS},
    {"mean_field_bias", SQ25_MERGE_MEAN_FIELD_BIAS},
};

int sq25_merge_method_from_name(const char *name, int *method)
{
    for (size_t i = 0; name && method && i < sizeof method_names / sizeof method_names[0]; i++)
        if (strcmp(name, method_names[i].name) == 0) {
            *method = method_names[i].method;
            return SQ25_OK;
        }
    return SQ25_ERR_INVALID_ARG;
}

const char *sq25_merge_method_name(int method)
{
    for (size_t i = 0; i < sizeof method_names / sizeof method_names[0]; i++)
        if (method_names[i].method == method) return method_names[i].name;
    return "unknown";
}

static const char *source_name(int source)
{
    switch (source) {
    case SQ25_VARIOGRAM_SOURCE_FITTED: return "fitted";
    case SQ25_VARIOGRAM_SOURCE_CLIMATOLOGICAL: return "climatological";
    case SQ25_VARIOGRAM_SOURCE_GIVEN: return "given";
    default: return "none";
    }
}

/* A number for JSON: null when not finite. */
static void json_number(char *buf, size_t cap, double v)
{
    if (isfinite(v)) snprintf(buf, cap, "%.6g", v);
    else snprintf(buf, cap, "null");
}

int sq25_merge_info_json(const sq25_merge_info *info, char *buf, size_t cap)
{
    if (!info) return snprintf(buf, cap, "null");
    char nug[32], sill[32], range[32], factor[32];
    json_number(nug, sizeof nug, info->nugget);
    json_number(sill, sizeof sill, info->sill);
    json_number(range, sizeof range, info->range_m);
    json_number(factor, sizeof factor, info->factor);
    const char *model = info->variogram_model == SQ25_VARIOGRAM_EXPONENTIAL   ? "\"exponential\""
                        : info->variogram_model == SQ25_VARIOGRAM_SPHERICAL ? "\"spherical\""
                                                                             : "null";
    return snprintf(buf, buf ? cap : 0,
                    "{\"method\":\"%s\",\"sensors_used\":%d,\"radar_only\":%s,"
                    "\"variogram\":{\"source\":\"%s\",\"model\":%s,\"nugget\":%s,\"sill\":%s,"
                    "\"range_m\":%s},\"factor\":%s}",
                    sq25_merge_method_name(info->method), info->sensors_used,
                    info->radar_only ? "true" : "false", source_name(info->variogram_source),
                    model, nug, sill, range, factor);
}

/* ---- the variogram of one merge ---------------------------------------------------------- */

static bool fit_degenerate(const sq25__variogram *v, size_t n, const double *x, const double *y)
{
    double dmin = INFINITY, dmax = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double d = hypot(x[i] - x[j], y[i] - y[j]);
            if (d > 0) dmin = fmin(dmin, d);
            dmax = fmax(dmax, d);
        }
    /* pure nugget (no spatial structure), or a range the sensors cannot resolve */
    return !(v->sill >= 0.05 * (v->nugget + v->sill)) || !(v->range_m >= 0.1 * dmin) ||
           !(v->range_m <= dmax);
}

/* Per-call fit of q at the sensors, or the climatological variogram: a fixed range and
 * nugget fraction whose total sill is the sample variance of q. */
static int choose_variogram(sq25_ctx *ctx, const sq25_merge_options *o, size_t n, const double *x,
                            const double *y, const double *q, sq25__variogram *v, int *source)
{
    int model = (int)sq25_interp_options_get(o->interp, SQ25_INTERP_VARIOGRAM);
    const double *p = sq25__interp_params(o->interp);
    if (sq25__variogram_given(p)) {
        *v = (sq25__variogram){model, p[SQ25_INTERP_NUGGET], p[SQ25_INTERP_SILL],
                               p[SQ25_INTERP_RANGE_M]};
        *source = SQ25_VARIOGRAM_SOURCE_GIVEN;
        return SQ25_OK;
    }
    if (n >= (size_t)o->p[SQ25_MERGE_MIN_FIT_SENSORS]) {
        int rc = sq25__variogram_fit_dense(ctx, model, n, x, y, q, v);
        if (rc == SQ25_ERR_NOMEM) return rc;
        sq25__ok(ctx);
        if (rc == SQ25_OK && !fit_degenerate(v, n, x, y)) {
            *source = SQ25_VARIOGRAM_SOURCE_FITTED;
            return SQ25_OK;
        }
    }
    double mean = 0, var = 0;
    for (size_t i = 0; i < n; i++) mean += q[i] / (double)n;
    for (size_t i = 0; i < n; i++) var += (q[i] - mean) * (q[i] - mean);
    var = n > 1 ? var / (double)(n - 1) : 0;
    if (!(var > 1e-6)) var = 1e-6;
    double f = o->p[SQ25_MERGE_CLIM_NUGGET_FRACTION];
    *v = (sq25__variogram){model, f * var, (1 - f) * var, o->p[SQ25_MERGE_CLIM_RANGE_M]};
    *source = SQ25_VARIOGRAM_SOURCE_CLIMATOLOGICAL;
    return SQ25_OK;
}

/* Ordinary kriging of q onto a field shaped like grid, with the chosen variogram. */
static int krige_values(sq25_ctx *ctx, const sq25_merge_options *o, const sq25__variogram *v,
                        size_t n, const double *lon, const double *lat, const double *q,
                        sq25_field *out, sq25_field *variance)
{
    sq25_interp_options *io = NULL;
    int rc = sq25_interp_options_create(ctx, &io);
    for (int key = 0; rc == SQ25_OK && key < SQ25_INTERP_PARAM_COUNT_; key++)
        rc = sq25_interp_options_set(io, key, sq25_interp_options_get(o->interp, key));
    if (!rc) rc = sq25_interp_options_set(io, SQ25_INTERP_VARIOGRAM, v->model);
    if (!rc) rc = sq25_interp_options_set(io, SQ25_INTERP_NUGGET, v->nugget);
    if (!rc) rc = sq25_interp_options_set(io, SQ25_INTERP_SILL, v->sill > 0 ? v->sill : 1e-12);
    if (!rc) rc = sq25_interp_options_set(io, SQ25_INTERP_RANGE_M, v->range_m);
    if (!rc) rc = sq25_interp_options_set(io, SQ25_INTERP_MIN_SENSORS, 1);
    if (!rc) rc = sq25_interp_grid(ctx, io, SQ25_INTERP_KRIGING, n, lon, sizeof(double), lat,
                                   sizeof(double), q, sizeof(double), out, variance);
    sq25_interp_options_destroy(io);
    return rc;
}

/* ---- the methods ------------------------------------------------------------------------- */

typedef struct {
    sq25_ctx *ctx;
    const sq25_merge_options *o;
    sq25__merge_points pts;
    double *lon, *lat; /* of the valid points */
    double *q;         /* the kriged quantity per point */
    sq25_field *background, *grid, *variance;
    sq25_merge_info *info;
} merge_job;

static double clip_factor(const sq25_merge_options *o, double f)
{
    return fmin(fmax(f, o->p[SQ25_MERGE_FACTOR_MIN]), o->p[SQ25_MERGE_FACTOR_MAX]);
}

static void record_variogram(sq25_merge_info *info, const sq25__variogram *v, int source)
{
    info->variogram_source = source;
    info->variogram_model = v->model;
    info->nugget = v->nugget, info->sill = v->sill, info->range_m = v->range_m;
}

/* additive and multiplicative: krige q, then combine with the background per cell. */
static int merge_kriged(merge_job *j, bool multiplicative)
{
    const sq25__merge_points *p = &j->pts;
    double c = j->o->p[SQ25_MERGE_RATIO_OFFSET_MMH];
    for (size_t i = 0; i < p->n; i++)
        j->q[i] = multiplicative ? clip_factor(j->o, (p->z[i] + c) / (p->r[i] + c)) : p->z[i] - p->r[i];
    sq25__variogram v;
    int source = 0;
    int rc = choose_variogram(j->ctx, j->o, p->n, p->x, p->y, j->q, &v, &source);
    if (rc) return rc;
    record_variogram(j->info, &v, source);
    sq25_field *k = NULL;
    rc = sq25_field_clone(j->grid, &k);
    if (!rc) rc = krige_values(j->ctx, j->o, &v, p->n, j->lon, j->lat, j->q, k, j->variance);
    for (size_t i = 0, m = (size_t)j->grid->width * (size_t)j->grid->height; !rc && i < m; i++) {
        float b = j->background->data[i], e = k->data[i];
        if (isnan(e)) j->grid->data[i] = b;
        else j->grid->data[i] = multiplicative ? b * (float)clip_factor(j->o, e) : b + e;
    }
    sq25_field_destroy(k);
    return rc;
}

static int merge_mean_field_bias(merge_job *j)
{
    double sz = 0, sr = 0;
    for (size_t i = 0; i < j->pts.n; i++) sz += j->pts.z[i], sr += j->pts.r[i];
    double f = sr > 0 ? clip_factor(j->o, sz / sr) : sz > 0 ? j->o->p[SQ25_MERGE_FACTOR_MAX] : 1.0;
    j->info->factor = f;
    for (size_t i = 0, m = (size_t)j->grid->width * (size_t)j->grid->height; i < m; i++)
        j->grid->data[i] = j->background->data[i] * (float)f;
    return SQ25_OK;
}

/* KED: the variogram is that of the residuals of a global least-squares line z = a + b r. */
static int merge_ked(merge_job *j)
{
    const sq25__merge_points *p = &j->pts;
    double n = (double)p->n, mr = 0, mz = 0, srr = 0, srz = 0;
    for (size_t i = 0; i < p->n; i++) mr += p->r[i] / n, mz += p->z[i] / n;
    for (size_t i = 0; i < p->n; i++)
        srr += (p->r[i] - mr) * (p->r[i] - mr), srz += (p->r[i] - mr) * (p->z[i] - mz);
    double b = srr > 1e-12 ? srz / srr : 0;
    for (size_t i = 0; i < p->n; i++) j->q[i] = p->z[i] - mz - b * (p->r[i] - mr);
    sq25__variogram v;
    int source = 0;
    int rc = choose_variogram(j->ctx, j->o, p->n, p->x, p->y, j->q, &v, &source);
    if (rc) return rc;
    record_variogram(j->info, &v, source);
    rc = sq25__merge_ked(j->ctx, j->o->interp, &v, p, j->background, j->grid, j->variance);
    for (size_t i = 0, m = (size_t)j->grid->width * (size_t)j->grid->height; !rc && i < m; i++)
        if (isnan(j->grid->data[i])) j->grid->data[i] = j->background->data[i];
    return rc;
}

/* Cells with no valid sensor within the radius take the background exactly; all are
 * clipped at 0 and the background's nodata stays NaN. */
static int keep_radar_far_from_sensors(merge_job *j)
{
    double radius = sq25_interp_options_get(j->o->interp, SQ25_INTERP_RADIUS_M);
    size_t m = (size_t)j->grid->width * (size_t)j->grid->height;
    sq25_field *near = NULL;
    int rc = SQ25_OK;
    if (radius > 0) {
        sq25_interp_options *io = NULL;
        rc = sq25_interp_options_create(j->ctx, &io);
        if (!rc) rc = sq25_interp_options_set(io, SQ25_INTERP_RADIUS_M, radius);
        if (!rc) rc = sq25_field_clone(j->grid, &near);
        if (!rc) rc = sq25_interp_grid(j->ctx, io, SQ25_INTERP_NEAREST, j->pts.n, j->lon,
                                       sizeof(double), j->lat, sizeof(double), j->pts.z,
                                       sizeof(double), near, NULL);
        sq25_interp_options_destroy(io);
    }
    for (size_t i = 0; !rc && i < m; i++) {
        float b = j->background->data[i], g = j->grid->data[i];
        if (isnan(b) || (near && isnan(near->data[i]))) {
            j->grid->data[i] = b;
            if (j->variance) j->variance->data[i] = NAN;
        } else if (!(g >= 0)) {
            j->grid->data[i] = 0.0f; /* negative, or NaN from an unsolvable block */
        }
    }
    sq25_field_destroy(near);
    return rc;
}

static void merge_job_free(merge_job *j)
{
    sq25_ctx *ctx = j->ctx;
    sq25__free(ctx, j->pts.x), sq25__free(ctx, j->pts.y), sq25__free(ctx, j->pts.z);
    sq25__free(ctx, j->pts.r), sq25__free(ctx, j->lon), sq25__free(ctx, j->lat);
    sq25__free(ctx, j->q);
    sq25_field_destroy(j->background);
}

/* The valid sensors (value, radar value and position) in the grid's CRS. */
static int load_points(merge_job *j, const sq25_field *radar, size_t n, const double *lon,
                       size_t lon_stride, const double *lat, size_t lat_stride,
                       const double *value, size_t value_stride, const double *radar_at,
                       size_t radar_stride)
{
    sq25_ctx *ctx = j->ctx;
    size_t cap = (n + 1) * sizeof(double);
    double *x = j->pts.x = sq25__malloc(ctx, cap), *y = j->pts.y = sq25__malloc(ctx, cap);
    double *z = j->pts.z = sq25__malloc(ctx, cap), *r = j->pts.r = sq25__malloc(ctx, cap);
    j->lon = sq25__malloc(ctx, cap), j->lat = sq25__malloc(ctx, cap), j->q = sq25__malloc(ctx, cap);
    if (!x || !y || !z || !r || !j->lon || !j->lat || !j->q) return SQ25_ERR_NOMEM;
    int rc = sq25__lonlat_to_xy(ctx, j->grid->projdef, n, lon, lon_stride, lat, lat_stride, x, y);
    if (!rc && !radar_at) rc = sq25__radar_at_points(ctx, radar, n, lon, lon_stride, lat, lat_stride, r);
    size_t m = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        double zi = SQ25__AT(value, value_stride, i);
        double ri = radar_at ? SQ25__AT(radar_at, radar_stride, i) : r[i];
        if (!isfinite(zi) || !isfinite(ri) || !isfinite(x[i]) || !isfinite(y[i])) continue;
        x[m] = x[i], y[m] = y[i], z[m] = zi, r[m] = ri;
        j->lon[m] = SQ25__AT(lon, lon_stride, i), j->lat[m] = SQ25__AT(lat, lat_stride, i);
        m++;
    }
    j->pts.n = m;
    return rc;
}

static int check_merge_args(sq25_ctx *ctx, const sq25_merge_options *o, const sq25_field *radar,
                            size_t n, const double *lon, const double *lat, const double *value,
                            const sq25_field *grid, const sq25_field *variance)
{
    if (!o || !radar || !grid || (n && (!lon || !lat || !value)))
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_merge_run: NULL argument");
    if (variance && (variance->width != grid->width || variance->height != grid->height ||
                     memcmp(variance->gt, grid->gt, sizeof grid->gt) != 0 ||
                     strcmp(variance->projdef, grid->projdef) != 0))
        return sq25__fail(ctx, SQ25_ERR_GRID_MISMATCH, "sq25_merge_run: variance not on the grid");
    return SQ25_OK;
}

int sq25_merge_run(sq25_ctx *ctx, const sq25_merge_options *o, const sq25_field *radar,
                   size_t n, const double *lon, size_t lon_stride, const double *lat,
                   size_t lat_stride, const double *value, size_t value_stride,
                   const double *radar_at, size_t radar_stride, sq25_field *grid,
                   sq25_field *variance, sq25_merge_info *info)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    int rc = check_merge_args(ctx, o, radar, n, lon, lat, value, grid, variance);
    if (rc) return rc;
    sq25_merge_info local;
    if (!info) info = &local;
    *info = (sq25_merge_info){o->method, 0, 1, SQ25_VARIOGRAM_SOURCE_NONE, 0, NAN, NAN, NAN, NAN};
    if (variance)
        for (size_t i = 0, m = (size_t)variance->width * (size_t)variance->height; i < m; i++)
            variance->data[i] = NAN;
    int64_t valid_time = grid->valid_time; /* the analysis keeps the grid's own time */
    rc = sq25_resample(radar, grid, SQ25_RESAMPLE_BILINEAR);
    grid->valid_time = valid_time;
    if (rc) return rc;
    merge_job j = {ctx, o, {0}, NULL, NULL, NULL, NULL, grid, variance, info};
    rc = sq25_field_clone(grid, &j.background);
    if (!rc) rc = load_points(&j, radar, n, lon, lon_stride, lat, lat_stride, value, value_stride,
                              radar_at, radar_stride);
    double min_sensors = o->method == SQ25_MERGE_MEAN_FIELD_BIAS
                             ? 1
                             : sq25_interp_options_get(o->interp, SQ25_INTERP_MIN_SENSORS);
    info->sensors_used = (int)j.pts.n;
    if (!rc && (double)j.pts.n >= min_sensors) {
        info->radar_only = 0;
        switch (o->method) {
        case SQ25_MERGE_KED: rc = merge_ked(&j); break;
        case SQ25_MERGE_MULTIPLICATIVE: rc = merge_kriged(&j, true); break;
        case SQ25_MERGE_MEAN_FIELD_BIAS: rc = merge_mean_field_bias(&j); break;
        default: rc = merge_kriged(&j, false); break;
        }
        if (!rc) rc = keep_radar_far_from_sensors(&j);
    } else if (!rc) {
        sq25__log(ctx, SQ25_LOG_INFO, "merge: %zu sensors with radar values, radar only", j.pts.n);
    }
    merge_job_free(&j);
    return rc ? rc : sq25__ok(ctx);
}
