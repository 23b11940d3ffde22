/* links_merge.c -- the radar-sensor merge with line sensors: microwave links (and gauges as
 * zero-length links) merged with the radar as sq25_merge_run does for points, but with block
 * (line) support: residuals (additive), ratios (multiplicative) or the values themselves with
 * the radar as external drift (KED) are block-kriged (interp_lines.c), the variogram fitted
 * with the support regularised, and the radar kept bit for bit in every cell that has no
 * point of any valid path within the interpolation radius. */
#include "links_merge.h"
#include "interp_internal.h"
#include "links.h"

#include <math.h>
#include <string.h>

/* The valid sensors (value, radar value and end points finite), compacted. */
typedef struct {
    size_t n;
    double *ll, *z, *r, *q;
} valid_lines;

static void valid_free(sq25_ctx *ctx, valid_lines *v)
{
    sq25__free(ctx, v->ll), sq25__free(ctx, v->z), sq25__free(ctx, v->r), sq25__free(ctx, v->q);
}

static int valid_load(sq25_ctx *ctx, size_t n, const double *lonlat, const double *z,
                      const double *r, valid_lines *v)
{
    *v = (valid_lines){0, sq25__malloc(ctx, (4 * n + 4) * sizeof(double)),
                       sq25__malloc(ctx, (n + 1) * sizeof(double)),
                       sq25__malloc(ctx, (n + 1) * sizeof(double)),
                       sq25__malloc(ctx, (n + 1) * sizeof(double))};
    if (!v->ll || !v->z || !v->r || !v->q) return SQ25_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const double *e = lonlat + 4 * i;
        if (!isfinite(z[i]) || !isfinite(r[i]) || !isfinite(e[0]) || !isfinite(e[1]) ||
            !isfinite(e[2]) || !isfinite(e[3]))
            continue;
        memcpy(v->ll + 4 * v->n, e, 4 * sizeof(double));
        v->z[v->n] = z[i], v->r[v->n] = r[i];
        v->n++;
    }
    return SQ25_OK;
}

static double clip_factor(const sq25_merge_options *o, double f)
{
    return fmin(fmax(f, sq25_merge_options_get(o, SQ25_MERGE_FACTOR_MIN)),
                sq25_merge_options_get(o, SQ25_MERGE_FACTOR_MAX));
}

/* A fit the sensors cannot support: (almost) pure nugget, or a range outside the spread of
 * the paths' midpoints. */
static bool fit_unusable(const sq25__variogram *v, const valid_lines *s)
{
    double dmin = INFINITY, dmax = 0;
    for (size_t i = 0; i < s->n; i++)
        for (size_t j = i + 1; j < s->n; j++) {
            const double *a = s->ll + 4 * i, *b = s->ll + 4 * j;
            double d = sq25__haversine_m(0.5 * (a[0] + a[2]), 0.5 * (a[1] + a[3]),
                                         0.5 * (b[0] + b[2]), 0.5 * (b[1] + b[3]));
            if (d > 0) dmin = fmin(dmin, d);
            dmax = fmax(dmax, d);
        }
    return !(v->sill >= 0.05 * (v->nugget + v->sill)) || !(v->range_m >= 0.1 * dmin) ||
           !(v->range_m <= dmax);
}

/* Given, fitted (regularised for the line support) or climatological, as sq25_merge_run. */
static int lines_merge_variogram(sq25_ctx *ctx, sq25_merge_options *o, const char *projdef,
                                 const valid_lines *s, double spacing_m, sq25_merge_info *info,
                                 sq25__variogram *v)
{
    const sq25_interp_options *io = sq25_merge_options_interp(o);
    int model = (int)sq25_interp_options_get(io, SQ25_INTERP_VARIOGRAM);
    double nug = sq25_interp_options_get(io, SQ25_INTERP_NUGGET);
    double sill = sq25_interp_options_get(io, SQ25_INTERP_SILL);
    double range = sq25_interp_options_get(io, SQ25_INTERP_RANGE_M);
    int source = SQ25_VARIOGRAM_SOURCE_GIVEN;
    if (!isnan(nug) && !isnan(sill) && !isnan(range)) {
        *v = (sq25__variogram){model, nug, sill, range};
    } else {
        int rc = SQ25_ERR_TOO_FEW;
        if (s->n >= (size_t)sq25_merge_options_get(o, SQ25_MERGE_MIN_FIT_SENSORS)) {
            rc = sq25__lines_fit_variogram(ctx, model, projdef, s->n, s->ll, s->q, spacing_m, v);
            if (rc == SQ25_ERR_NOMEM) return rc;
            sq25__ok(ctx);
        }
        source = SQ25_VARIOGRAM_SOURCE_FITTED;
        if (rc || fit_unusable(v, s)) {
            double mean = 0, var = 0;
            for (size_t i = 0; i < s->n; i++) mean += s->q[i] / (double)s->n;
            for (size_t i = 0; i < s->n; i++) var += (s->q[i] - mean) * (s->q[i] - mean);
            var = s->n > 1 ? var / (double)(s->n - 1) : 0;
            if (!(var > 1e-6)) var = 1e-6;
            double f = sq25_merge_options_get(o, SQ25_MERGE_CLIM_NUGGET_FRACTION);
            *v = (sq25__variogram){model, f * var, (1 - f) * var,
                                   sq25_merge_options_get(o, SQ25_MERGE_CLIM_RANGE_M)};
            source = SQ25_VARIOGRAM_SOURCE_CLIMATOLOGICAL;
        }
    }
    if (!(v->sill > 0)) v->sill = 1e-12;
    info->variogram_source = source;
    info->variogram_model = v->model;
    info->nugget = v->nugget, info->sill = v->sill, info->range_m = v->range_m;
    return SQ25_OK;
}

/* The kriged quantity per sensor: residual, clipped ratio, or (KED) the residual of the
 * global line z = a + b r, whose variogram KED uses. */
static void kriged_quantity(const sq25_merge_options *o, int method, valid_lines *s)
{
    double c = sq25_merge_options_get(o, SQ25_MERGE_RATIO_OFFSET_MMH);
    double n = (double)s->n, mr = 0, mz = 0, srr = 0, srz = 0;
    for (size_t i = 0; i < s->n; i++) mr += s->r[i] / n, mz += s->z[i] / n;
    for (size_t i = 0; i < s->n; i++)
        srr += (s->r[i] - mr) * (s->r[i] - mr), srz += (s->r[i] - mr) * (s->z[i] - mz);
    double b = srr > 1e-12 ? srz / srr : 0;
    for (size_t i = 0; i < s->n; i++)
        s->q[i] = method == SQ25_MERGE_MULTIPLICATIVE ? clip_factor(o, (s->z[i] + c) / (s->r[i] + c))
                  : method == SQ25_MERGE_KED          ? s->z[i] - mz - b * (s->r[i] - mr)
                                                      : s->z[i] - s->r[i];
}

/* grid = the merged field from the background and the kriged field k (NaN: background). */
static void combine(const sq25_merge_options *o, int method, const sq25_field *bg,
                    const sq25_field *k, const uint8_t *near, sq25_field *grid)
{
    for (size_t i = 0, m = (size_t)grid->width * (size_t)grid->height; i < m; i++) {
        float b = bg->data[i], e = k->data[i], g;
        if (isnan(b) || !near[i] || isnan(e)) {
            grid->data[i] = b; /* the radar, bit for bit */
            continue;
        }
        g = method == SQ25_MERGE_MULTIPLICATIVE ? b * (float)clip_factor(o, e)
            : method == SQ25_MERGE_KED          ? e
                                                : b + e;
        grid->data[i] = g >= 0 ? g : 0.0f;
    }
}

static void mean_field_bias(const sq25_merge_options *o, const valid_lines *s,
                            const sq25_field *bg, const uint8_t *near, sq25_field *grid,
                            sq25_merge_info *info)
{
    double sz = 0, sr = 0;
    for (size_t i = 0; i < s->n; i++) sz += s->z[i], sr += s->r[i];
    double f = sr > 0 ? clip_factor(o, sz / sr)
               : sz > 0 ? sq25_merge_options_get(o, SQ25_MERGE_FACTOR_MAX)
                        : 1.0;
    info->factor = f;
    for (size_t i = 0, m = (size_t)grid->width * (size_t)grid->height; i < m; i++)
        grid->data[i] = near[i] && !isnan(bg->data[i]) ? bg->data[i] * (float)f : bg->data[i];
}

static int merge_kriged_lines(sq25_ctx *ctx, sq25_merge_options *o, int method,
                              valid_lines *s, double spacing_m, const sq25_field *bg,
                              const uint8_t *near, sq25_field *grid, sq25_merge_info *info)
{
    kriged_quantity(o, method, s);
    sq25__variogram v;
    int rc = lines_merge_variogram(ctx, o, grid->projdef, s, spacing_m, info, &v);
    sq25_field *k = NULL;
    if (!rc) rc = sq25__field_clone_shape(grid, &k);
    bool ked = method == SQ25_MERGE_KED;
    if (!rc)
        rc = sq25__lines_krige(ctx, sq25_merge_options_interp(o), &v, s->n, s->ll,
                               ked ? s->z : s->q, ked ? s->r : NULL, ked ? bg->data : NULL,
                               spacing_m, k);
    if (!rc) combine(o, method, bg, k, near, grid);
    sq25_field_destroy(k);
    return rc;
}

int sq25__merge_lines(sq25_ctx *ctx, sq25_merge_options *o, const sq25_field *radar, size_t n,
                      const double *lonlat, const double *z, const double *r, double spacing_m,
                      sq25_field *grid, sq25_merge_info *info)
{
    int method = sq25_merge_options_method(o);
    *info = (sq25_merge_info){method, 0, 1, SQ25_VARIOGRAM_SOURCE_NONE, 0, NAN, NAN, NAN, NAN};
    int64_t valid_time = grid->valid_time; /* the analysis keeps the grid's own time */
    int rc = sq25_resample(radar, grid, SQ25_RESAMPLE_BILINEAR);
    grid->valid_time = valid_time;
    if (rc) return rc;
    sq25_field *bg = NULL;
    valid_lines s = {0};
    size_t cells = (size_t)grid->width * (size_t)grid->height;
    uint8_t *near = sq25__malloc(ctx, cells + 1);
    rc = near ? sq25_field_clone(grid, &bg) : SQ25_ERR_NOMEM;
    if (!rc) rc = valid_load(ctx, n, lonlat, z, r, &s);
    const sq25_interp_options *io = sq25_merge_options_interp(o);
    double min_sensors = method == SQ25_MERGE_MEAN_FIELD_BIAS
                             ? 1
                             : sq25_interp_options_get(io, SQ25_INTERP_MIN_SENSORS);
    info->sensors_used = (int)s.n;
    if (!rc && (double)s.n >= min_sensors) {
        info->radar_only = 0;
        rc = sq25__lines_near(ctx, s.n, s.ll, spacing_m,
                              sq25_interp_options_get(io, SQ25_INTERP_RADIUS_M), grid, near);
        if (!rc && method == SQ25_MERGE_MEAN_FIELD_BIAS) mean_field_bias(o, &s, bg, near, grid, info);
        else if (!rc) rc = merge_kriged_lines(ctx, o, method, &s, spacing_m, bg, near, grid, info);
    } else if (!rc) {
        sq25__log(ctx, SQ25_LOG_INFO, "merge: %zu sensors with radar values, radar only", s.n);
    }
    valid_free(ctx, &s);
    sq25_field_destroy(bg);
    sq25__free(ctx, near);
    return rc;
}
