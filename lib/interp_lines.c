/* interp_lines.c -- line sensors (microwave links) and point sensors together: each sensor is
 * its path cut into equal pieces, represented by the pieces' midpoints. Kriging (ordinary, or
 * with an external drift) uses block support: sensor-sensor covariances are the mean
 * covariance between their points, sensor-target covariances the mean over the sensor's
 * points. IDW weights a sensor by the mean of d^-p over its points. */
#include "interp_internal.h"
#include "spatial.h"

#include <gsl/gsl_linalg.h>
#include <math.h>
#include <string.h>

#define MAX_PIECES 64
#define MAX_NB 64 /* the interp options allow at most 64 neighbours */

typedef struct {
    size_t n;             /* valid sensors */
    double *mx, *my, *z;  /* path midpoint (m) and value */
    double *drift;        /* mean drift along the path (KED), or NULL */
    double *half_len;     /* half the path length, metres */
    int *first, *count;   /* into px, py */
    double *px, *py;      /* discretisation points, metres */
    long *orig;           /* index in the caller's arrays */
    double max_half_len;
    sq25__buckets b;      /* over the midpoints */
} line_set;

typedef struct {
    double p[SQ25_INTERP_PARAM_COUNT_];
} line_params;

/* The options' parameters (the point interpolation's defaults for NULL). */
static void params_load(const sq25_interp_options *o, line_params *lp)
{
    memcpy(lp->p, sq25__interp_params(o), sizeof lp->p);
}

static void lines_free(sq25_ctx *ctx, line_set *s)
{
    sq25__buckets_free(ctx, &s->b);
    void *arrays[] = {s->mx, s->my, s->z, s->drift, s->half_len, s->first, s->count, s->px, s->py, s->orig};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) sq25__free(ctx, arrays[i]);
    memset(s, 0, sizeof *s);
}

/* Drift field value at n points (metres in projdef), bilinear; NaN outside or on nodata. */
static int drift_at_xy(sq25_ctx *ctx, const sq25_field *drift, const char *projdef, size_t n,
                       const double *x, const double *y, double *out)
{
    PJ *op = sq25__proj_between(ctx, projdef, drift->projdef);
    if (!op) return sq25_errcode(ctx);
    const double *g = drift->gt;
    double det = g[1] * g[5] - g[2] * g[4];
    for (size_t i = 0; i < n; i++) {
        out[i] = NAN;
        if (!isfinite(x[i]) || !isfinite(y[i])) continue;
        PJ_COORD c = proj_trans(op, PJ_FWD, proj_coord(x[i], y[i], 0, 0));
        if (!isfinite(c.xy.x) || !isfinite(c.xy.y) || c.xy.x == HUGE_VAL) continue;
        double dx = c.xy.x - g[0], dy = c.xy.y - g[3];
        out[i] = sq25__sample_bilinear(drift, (g[5] * dx - g[2] * dy) / det,
                                       (-g[4] * dx + g[1] * dy) / det);
    }
    proj_destroy(op);
    return SQ25_OK;
}

/* Each sensor's drift, the mean of the field over its points (one transform for all points);
 * sensors with a NaN point (a path partly outside the field) are dropped from the set. */
static int drift_of_sensors(sq25_ctx *ctx, const sq25_field *drift, const char *projdef,
                            size_t n_points, line_set *s)
{
    double *dv = sq25__malloc(ctx, (n_points + 1) * sizeof *dv);
    if (!dv) return SQ25_ERR_NOMEM;
    int rc = drift_at_xy(ctx, drift, projdef, n_points, s->px, s->py, dv);
    size_t kept = 0;
    for (size_t i = 0; !rc && i < s->n; i++) {
        double sum = 0;
        int got = 0;
        for (int k = 0; k < s->count[i]; k++) {
            double v = dv[(size_t)s->first[i] + (size_t)k];
            if (isfinite(v)) sum += v, got++;
        }
        if (got < s->count[i]) continue;
        s->mx[kept] = s->mx[i], s->my[kept] = s->my[i], s->z[kept] = s->z[i];
        s->half_len[kept] = s->half_len[i], s->first[kept] = s->first[i];
        s->count[kept] = s->count[i], s->orig[kept] = s->orig[i];
        s->drift[kept++] = sum / got;
    }
    if (!rc) s->n = kept;
    sq25__free(ctx, dv);
    return rc;
}

/* Number of pieces of a path of length len_m. */
static int pieces_of(double len_m, double spacing_m)
{
    if (!(len_m > 0)) return 1;
    double p = ceil(len_m / spacing_m);
    return p > MAX_PIECES ? MAX_PIECES : (int)p;
}

/* Cut every valid sensor's path into points; with a drift field, the sensor's drift is the
 * mean of the field over its points (a sensor whose points are all NaN is left out). */
static int lines_load(sq25_ctx *ctx, const char *projdef, size_t n, const double *lonlat,
                      const double *value, double spacing_m, const sq25_field *drift,
                      line_set *s)
{
    memset(s, 0, sizeof *s);
    size_t np = (n + 1) * MAX_PIECES, nn = n + 1;
    double *ex = sq25__malloc(ctx, 4 * nn * sizeof(double)), *ey = ex ? ex + 2 * nn : NULL;
    s->mx = sq25__malloc(ctx, nn * sizeof(double)), s->my = sq25__malloc(ctx, nn * sizeof(double));
    s->z = sq25__malloc(ctx, nn * sizeof(double)), s->half_len = sq25__malloc(ctx, nn * sizeof(double));
    s->first = sq25__malloc(ctx, nn * sizeof(int)), s->count = sq25__malloc(ctx, nn * sizeof(int));
    s->px = sq25__malloc(ctx, np * sizeof(double)), s->py = sq25__malloc(ctx, np * sizeof(double));
    s->orig = sq25__malloc(ctx, nn * sizeof(long));
    if (drift) s->drift = sq25__malloc(ctx, nn * sizeof(double));
    int rc = ex && s->mx && s->my && s->z && s->half_len && s->first && s->count && s->px && s->py &&
                     s->orig && (!drift || s->drift)
                 ? SQ25_OK
                 : SQ25_ERR_NOMEM;
    /* end points 0 then 1 of every sensor: ex[0..n) and ex[n..2n) */
    if (!rc) rc = sq25__lonlat_to_xy(ctx, projdef, n, lonlat, 4 * sizeof(double), lonlat + 1,
                                     4 * sizeof(double), ex, ey);
    if (!rc) rc = sq25__lonlat_to_xy(ctx, projdef, n, lonlat + 2, 4 * sizeof(double), lonlat + 3,
                                     4 * sizeof(double), ex + n, ey + n);
    size_t used = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        double x0 = ex[i], y0 = ey[i], x1 = ex[n + i], y1 = ey[n + i], z = value[i];
        if (!isfinite(z) || !isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1)) continue;
        double len = hypot(x1 - x0, y1 - y0);
        int pc = pieces_of(len, spacing_m);
        for (int k = 0; k < pc; k++) {
            double t = (k + 0.5) / pc;
            s->px[used + (size_t)k] = x0 + t * (x1 - x0), s->py[used + (size_t)k] = y0 + t * (y1 - y0);
        }
        size_t j = s->n++;
        s->mx[j] = 0.5 * (x0 + x1), s->my[j] = 0.5 * (y0 + y1), s->z[j] = z;
        s->half_len[j] = 0.5 * len, s->first[j] = (int)used, s->count[j] = pc, s->orig[j] = (long)i;
        s->max_half_len = fmax(s->max_half_len, 0.5 * len);
        used += (size_t)pc;
    }
    sq25__free(ctx, ex);
    if (!rc && drift) rc = drift_of_sensors(ctx, drift, projdef, used, s);
    if (!rc) rc = sq25__buckets_build(ctx, s->n, s->mx, s->my, &s->b);
    if (rc) lines_free(ctx, s);
    return rc;
}

/* ---- variogram ---------------------------------------------------------------------------- */

/* The variogram of the options, or (when not given) the point variogram fitted with the line
 * support regularised (sq25__variogram_fit_lines). */
static int lines_variogram(sq25_ctx *ctx, const line_params *lp, const line_set *s,
                           sq25__variogram *v)
{
    const double *p = lp->p;
    int model = (int)p[SQ25_INTERP_VARIOGRAM];
    *v = (sq25__variogram){model, 0, 0, 0};
    int rc = SQ25_OK;
    if (!sq25__variogram_given(p)) {
        sq25__supports sup = {s->n, s->px, s->py, s->first, s->count};
        rc = sq25__variogram_fit_lines(ctx, model, &sup, 1, s->z, v);
    }
    return sq25__variogram_settle(ctx, p, rc, v);
}

/* ---- one local system ------------------------------------------------------------------- */

typedef struct {
    int m, dim;
    bool ked;
    int idx[MAX_NB];
    double alpha[MAX_NB + 2];
    double minv[(MAX_NB + 2) * (MAX_NB + 2)];
} line_system;

static double sensor_covariance(const sq25__variogram *v, const line_set *s, int i, int j)
{
    return sq25__block_covariance(v, s->px + s->first[i], s->py + s->first[i], s->count[i],
                                  s->px + s->first[j], s->py + s->first[j], s->count[j]);
}

/* Bordered block-covariance matrix (with a unit row, and the drift row for KED), LU with GSL,
 * inverse and alpha = M^-1 [z; 0], with `jitter` added to the diagonal. False when singular. */
static bool system_try(const line_set *s, const sq25__variogram *v, line_system *ls,
                       double jitter)
{
    int m = ls->m;
    ls->dim = m + 1 + (ls->ked ? 1 : 0);
    size_t dim = (size_t)ls->dim;
    gsl_matrix *a = gsl_matrix_alloc(dim, dim);
    gsl_permutation *perm = gsl_permutation_alloc(dim);
    bool ok = a && perm;
    double c0 = sq25__covariance(v, 0);
    for (int i = 0; ok && i < m; i++) {
        for (int j = i; j < m; j++) {
            double c = sensor_covariance(v, s, ls->idx[i], ls->idx[j]) + (i == j ? jitter : 0);
            gsl_matrix_set(a, (size_t)i, (size_t)j, c);
            gsl_matrix_set(a, (size_t)j, (size_t)i, c);
        }
        gsl_matrix_set(a, (size_t)i, (size_t)m, 1.0), gsl_matrix_set(a, (size_t)m, (size_t)i, 1.0);
        if (ls->ked) {
            double d = s->drift[ls->idx[i]];
            gsl_matrix_set(a, (size_t)i, (size_t)m + 1, d), gsl_matrix_set(a, (size_t)m + 1, (size_t)i, d);
        }
    }
    for (size_t i = (size_t)m; ok && i < dim; i++)
        for (size_t j = (size_t)m; j < dim; j++) gsl_matrix_set(a, i, j, 0.0);
    int sign;
    ok = ok && gsl_linalg_LU_decomp(a, perm, &sign) == 0;
    for (size_t i = 0; ok && i < dim; i++) ok = fabs(gsl_matrix_get(a, i, i)) > 1e-12 * c0;
    gsl_matrix_view inv = gsl_matrix_view_array(ls->minv, dim, dim);
    ok = ok && gsl_linalg_LU_invert(a, perm, &inv.matrix) == 0;
    for (size_t i = 0; ok && i < dim; i++) {
        double sum = 0;
        for (int j = 0; j < m; j++) sum += ls->minv[i * dim + (size_t)j] * s->z[ls->idx[j]];
        ls->alpha[i] = sum;
        ok = isfinite(sum);
    }
    gsl_permutation_free(perm);
    gsl_matrix_free(a);
    return ok;
}

/* Two sub-links of one link share their path, so their rows are equal: a jitter of 1e-6 of
 * the sill on the diagonal (a tiny nugget) makes such systems regular. */
static bool system_build(const line_set *s, const sq25__variogram *v, line_system *ls)
{
    double c0 = sq25__covariance(v, 0);
    return system_try(s, v, ls, 0) || system_try(s, v, ls, 1e-6 * c0);
}

/* KED needs a drift that varies among the neighbours (a dry radar is the same everywhere):
 * when its system is singular, ordinary kriging of the same neighbours is used. */
static bool build_with_fallback(const line_set *s, const sq25__variogram *v, line_system *ls)
{
    if (ls->ked && ls->m >= 2 && system_build(s, v, ls)) return true;
    ls->ked = false;
    return system_build(s, v, ls);
}

/* Estimate (and variance) at point (x, y) with drift value d (KED). */
static double system_at(const sq25__variogram *v, const line_set *s, const line_system *ls,
                        double x, double y, double d, double *variance)
{
    double u[MAX_NB + 2];
    for (int i = 0; i < ls->m; i++) {
        int k = ls->idx[i];
        u[i] = sq25__block_covariance(v, &x, &y, 1, s->px + s->first[k], s->py + s->first[k],
                                      s->count[k]);
    }
    u[ls->m] = 1.0;
    if (ls->ked) u[ls->m + 1] = d;
    return sq25__krige_estimate(ls->alpha, ls->minv, ls->dim, u, sq25__covariance(v, 0),
                                variance);
}

/* The k sensors nearest (by midpoint) to (x, y), skipping `exclude`. */
static int neighbours(const line_set *s, const line_params *lp, double x, double y, double reach,
                      long exclude, int *idx)
{
    double d2[MAX_NB];
    int k = (int)lp->p[SQ25_INTERP_NEIGHBOURS];
    double radius = lp->p[SQ25_INTERP_RADIUS_M];
    return sq25__knn(&s->b, x, y, k > MAX_NB ? MAX_NB : k,
                     radius > 0 ? radius + reach + s->max_half_len : 0, exclude, idx, d2);
}

/* IDW at (x, y) from the neighbours: weight = mean over a sensor's points of d^-p; a target on
 * a sensor point takes its value; sensors whose nearest point is beyond the radius are out. */
static double idw_at(const line_set *s, const line_params *lp, const int *idx, int m, double x,
                     double y)
{
    double power = lp->p[SQ25_INTERP_POWER], radius = lp->p[SQ25_INTERP_RADIUS_M];
    double wsum = 0, vsum = 0;
    for (int e = 0; e < m; e++) {
        int i = idx[e];
        double w = 0, dmin2 = INFINITY;
        for (int k = 0; k < s->count[i]; k++) {
            double dx = s->px[s->first[i] + k] - x, dy = s->py[s->first[i] + k] - y;
            double d2 = dx * dx + dy * dy;
            if (d2 == 0) return s->z[i];
            dmin2 = fmin(dmin2, d2);
            w += power == 2 ? 1.0 / d2 : pow(d2, -0.5 * power);
        }
        if (radius > 0 && dmin2 > radius * radius) continue;
        w /= s->count[i];
        wsum += w, vsum += w * s->z[i];
    }
    return wsum > 0 ? vsum / wsum : NAN;
}

/* ---- grid ------------------------------------------------------------------------------- */

typedef struct {
    const line_set *s;
    const line_params *lp;
    const sq25__variogram *v;
    bool kriging;
    sq25_field *grid, *variance;
    const float *drift_grid; /* drift resampled on the grid (KED), or NULL */
} lines_job;

static void lines_block(const lines_job *j, line_system *ls, int c0, int r0, int c1, int r1)
{
    const double *gt = j->grid->gt;
    double cx = gt[0] + 0.5 * (c0 + c1) * gt[1] + 0.5 * (r0 + r1) * gt[2];
    double cy = gt[3] + 0.5 * (c0 + c1) * gt[4] + 0.5 * (r0 + r1) * gt[5];
    double hd = 0.5 * hypot((c1 - c0) * hypot(gt[1], gt[4]), (r1 - r0) * hypot(gt[2], gt[5]));
    ls->m = neighbours(j->s, j->lp, cx, cy, hd, -1, ls->idx);
    ls->ked = j->drift_grid != NULL;
    bool ok = j->kriging && ls->m >= 1 && build_with_fallback(j->s, j->v, ls);
    for (int r = r0; r < r1; r++)
        for (int c = c0; c < c1; c++) {
            double x = gt[0] + (c + 0.5) * gt[1] + (r + 0.5) * gt[2];
            double y = gt[3] + (c + 0.5) * gt[4] + (r + 0.5) * gt[5];
            size_t at = (size_t)r * (size_t)j->grid->width + (size_t)c;
            double d = j->drift_grid ? j->drift_grid[at] : 0, var = NAN, est = NAN;
            if (j->kriging && ok && isfinite(d)) est = system_at(j->v, j->s, ls, x, y, d, j->variance ? &var : NULL);
            else if (!j->kriging) est = idw_at(j->s, j->lp, ls->idx, ls->m, x, y);
            j->grid->data[at] = (float)est;
            if (j->variance) j->variance->data[at] = (float)var;
        }
}

/* Every block of bs x bs cells of the job's grid. */
static void lines_blocks(const lines_job *j, line_system *ls, int bs)
{
    for (sq25__blocks b = sq25__blocks_of(j->grid->width, j->grid->height, bs); sq25__blocks_next(&b);)
        lines_block(j, ls, b.c0, b.r0, b.c1, b.r1);
}

static bool grids_match(const sq25_field *a, const sq25_field *b)
{
    return a->width == b->width && a->height == b->height && strcmp(a->projdef, b->projdef) == 0 &&
           memcmp(a->gt, b->gt, sizeof a->gt) == 0;
}

static void fill_nan(sq25_field *f)
{
    for (size_t i = 0; f && i < (size_t)f->width * (size_t)f->height; i++) f->data[i] = NAN;
}

static int lines_check(sq25_ctx *ctx, const char *what, int method, size_t n,
                       const double *lonlat, const double *value, double spacing_m)
{
    if (n && (!lonlat || !value))
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "%s: NULL argument", what);
    if (method != SQ25_INTERP_IDW && method != SQ25_INTERP_KRIGING)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "%s: method %d (IDW or kriging)", what, method);
    if (!(spacing_m > 0) || !isfinite(spacing_m))
        return sq25__fail(ctx, SQ25_ERR_RANGE, "%s: spacing %g m", what, spacing_m);
    return SQ25_OK;
}

/* Drift field on the grid (bilinear); a new float array of the grid's cells. */
static int drift_on_grid(sq25_ctx *ctx, const sq25_field *drift, const sq25_field *grid, float **out)
{
    sq25_field *tmp = NULL;
    int rc = sq25_field_clone(grid, &tmp);
    if (!rc) rc = sq25_resample(drift, tmp, SQ25_RESAMPLE_BILINEAR);
    size_t cells = (size_t)grid->width * (size_t)grid->height;
    float *d = rc ? NULL : sq25__malloc(ctx, cells * sizeof *d);
    if (!rc && !d) rc = SQ25_ERR_NOMEM;
    if (!rc) memcpy(d, tmp->data, cells * sizeof *d);
    sq25_field_destroy(tmp);
    *out = d;
    return rc;
}

int sq25_interp_lines_grid(sq25_ctx *ctx, const sq25_interp_options *o, int method, size_t n,
                           const double *lonlat, const double *value, double spacing_m,
                           const sq25_field *drift, sq25_field *grid, sq25_field *variance)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!grid) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_interp_lines_grid: no grid");
    int rc = lines_check(ctx, "sq25_interp_lines_grid", method, n, lonlat, value, spacing_m);
    if (rc) return rc;
    if (variance && !grids_match(grid, variance))
        return sq25__fail(ctx, SQ25_ERR_GRID_MISMATCH, "variance field is not on the grid");
    fill_nan(variance);
    line_params lp;
    params_load(o, &lp);
    line_set s;
    rc = lines_load(ctx, grid->projdef, n, lonlat, value, spacing_m,
                    method == SQ25_INTERP_KRIGING ? drift : NULL, &s);
    if (rc) return rc;
    if (s.n == 0) {
        lines_free(ctx, &s);
        fill_nan(grid);
        return sq25__fail(ctx, SQ25_ERR_NO_DATA, "interpolation: no valid sensor value");
    }
    bool kriging = method == SQ25_INTERP_KRIGING && s.n >= (size_t)lp.p[SQ25_INTERP_MIN_SENSORS];
    sq25__variogram v = {0};
    float *dg = NULL;
    if (kriging) rc = lines_variogram(ctx, &lp, &s, &v);
    if (!rc && kriging && drift) rc = drift_on_grid(ctx, drift, grid, &dg);
    line_system *ls = rc ? NULL : sq25__malloc(ctx, sizeof *ls);
    if (!rc && !ls) rc = SQ25_ERR_NOMEM;
    if (!rc) {
        lines_job job = {&s, &lp, &v, kriging, grid, kriging ? variance : NULL, dg};
        lines_blocks(&job, ls, (int)lp.p[SQ25_INTERP_BLOCK_CELLS]);
    }
    sq25__free(ctx, ls), sq25__free(ctx, dg);
    lines_free(ctx, &s);
    return rc ? rc : sq25__ok(ctx);
}

/* ---- points ---------------------------------------------------------------------------- */

static int lines_points_run(sq25_ctx *ctx, const line_params *lp, bool kriging, const line_set *s,
                            const sq25__variogram *v, size_t m, const double *tx,
                            const double *ty, const double *td, bool loo, double *out,
                            double *variance)
{
    line_system *ls = sq25__malloc(ctx, sizeof *ls);
    long *set_index = sq25__loo_index(ctx, m, loo, s->n, s->orig);
    if (!ls || !set_index) {
        sq25__free(ctx, ls), sq25__free(ctx, set_index);
        return SQ25_ERR_NOMEM;
    }
    for (size_t j = 0; j < m; j++) {
        double est = NAN, var = NAN, d = td ? td[j] : 0;
        if (isfinite(tx[j]) && isfinite(ty[j]) && isfinite(d)) {
            ls->m = neighbours(s, lp, tx[j], ty[j], 0, loo ? set_index[j] : -1, ls->idx);
            ls->ked = td != NULL;
            if (!kriging) est = ls->m ? idw_at(s, lp, ls->idx, ls->m, tx[j], ty[j]) : NAN;
            else if (ls->m >= 1 && build_with_fallback(s, v, ls))
                est = system_at(v, s, ls, tx[j], ty[j], d, &var);
        }
        out[j] = est;
        if (variance) variance[j] = var;
    }
    sq25__free(ctx, ls), sq25__free(ctx, set_index);
    return SQ25_OK;
}

int sq25_interp_lines_points(sq25_ctx *ctx, const sq25_interp_options *o, int method, size_t n,
                             const double *lonlat, const double *value, double spacing_m,
                             const sq25_field *drift, size_t m, const double *target_lon,
                             const double *target_lat, int leave_one_out, double *out,
                             double *variance)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    int rc = lines_check(ctx, "sq25_interp_lines_points", method, n, lonlat, value, spacing_m);
    if (rc) return rc;
    if ((m && (!target_lon || !target_lat || !out)) || (leave_one_out && m != n))
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_interp_lines_points: bad targets");
    double lon_sum = 0, lat_sum = 0;
    size_t known = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(lonlat[4 * i]) && isfinite(lonlat[4 * i + 1]))
            lon_sum += lonlat[4 * i], lat_sum += lonlat[4 * i + 1], known++;
    if (known == 0) return sq25__fail(ctx, SQ25_ERR_NO_DATA, "sq25_interp_lines_points: no sensor");
    char utm[32];
    sq25__utm_projdef(lon_sum / known, lat_sum / known, utm, sizeof utm);
    line_params lp;
    params_load(o, &lp);
    const sq25_field *dr = method == SQ25_INTERP_KRIGING ? drift : NULL;
    line_set s;
    rc = lines_load(ctx, utm, n, lonlat, value, spacing_m, dr, &s);
    if (rc) return rc;
    double *t = sq25__malloc(ctx, 3 * (m + 1) * sizeof(double));
    if (!t) rc = SQ25_ERR_NOMEM;
    if (!rc) rc = sq25__lonlat_to_xy(ctx, utm, m, target_lon, sizeof(double), target_lat,
                                     sizeof(double), t, t + m + 1);
    if (!rc && dr) rc = drift_at_xy(ctx, dr, utm, m, t, t + m + 1, t + 2 * (m + 1));
    if (!rc && s.n == 0) rc = sq25__fail(ctx, SQ25_ERR_NO_DATA, "sq25_interp_lines_points: no valid value");
    bool kriging = method == SQ25_INTERP_KRIGING && s.n >= (size_t)lp.p[SQ25_INTERP_MIN_SENSORS];
    sq25__variogram v = {0};
    if (!rc && kriging) rc = lines_variogram(ctx, &lp, &s, &v);
    if (!rc)
        rc = lines_points_run(ctx, &lp, kriging, &s, &v, m, t, t + m + 1,
                              kriging && dr ? t + 2 * (m + 1) : NULL, leave_one_out != 0, out,
                              variance);
    sq25__free(ctx, t);
    lines_free(ctx, &s);
    return rc ? rc : sq25__ok(ctx);
}

/* ---- pieces for the merge of links (links_merge.c, pipeline_links.c) --------------------- */

int sq25__lines_field_mean(sq25_ctx *ctx, const sq25_field *f, size_t n, const double *lonlat,
                           double spacing_m, double *out)
{
    for (size_t i = 0; i < n; i++) out[i] = NAN;
    double lon_sum = 0, lat_sum = 0;
    size_t known = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(lonlat[4 * i]) && isfinite(lonlat[4 * i + 1]))
            lon_sum += lonlat[4 * i], lat_sum += lonlat[4 * i + 1], known++;
    if (known == 0) return SQ25_OK;
    char utm[32];
    sq25__utm_projdef(lon_sum / known, lat_sum / known, utm, sizeof utm);
    double *zero = sq25__calloc(ctx, n + 1, sizeof *zero);
    if (!zero) return SQ25_ERR_NOMEM;
    line_set s;
    int rc = lines_load(ctx, utm, n, lonlat, zero, spacing_m, NULL, &s);
    sq25__free(ctx, zero);
    if (rc) return rc;
    size_t used = s.n ? (size_t)s.first[s.n - 1] + (size_t)s.count[s.n - 1] : 0;
    double *v = sq25__malloc(ctx, (used + 1) * sizeof *v);
    rc = v ? drift_at_xy(ctx, f, utm, used, s.px, s.py, v) : SQ25_ERR_NOMEM;
    for (size_t i = 0; !rc && i < s.n; i++) {
        double sum = 0;
        for (int k = 0; k < s.count[i]; k++) sum += v[(size_t)s.first[i] + (size_t)k];
        out[s.orig[i]] = sum / s.count[i]; /* NaN when any piece is NaN */
    }
    sq25__free(ctx, v);
    lines_free(ctx, &s);
    return rc;
}

/* Each sensor's drift from the caller's per-sensor values; sensors without one leave. */
static void take_sensor_drift(line_set *s, const double *sensor_drift)
{
    size_t kept = 0;
    for (size_t i = 0; i < s->n; i++) {
        double d = sensor_drift[s->orig[i]];
        if (!isfinite(d)) continue;
        s->mx[kept] = s->mx[i], s->my[kept] = s->my[i], s->z[kept] = s->z[i];
        s->half_len[kept] = s->half_len[i], s->first[kept] = s->first[i];
        s->count[kept] = s->count[i], s->orig[kept] = s->orig[i];
        s->drift[kept++] = d;
    }
    s->n = kept;
}

int sq25__lines_krige(sq25_ctx *ctx, const sq25_interp_options *o, const sq25__variogram *v,
                      size_t n, const double *lonlat, const double *value,
                      const double *sensor_drift, const float *grid_drift, double spacing_m,
                      sq25_field *grid)
{
    line_params lp;
    params_load(o, &lp);
    line_set s;
    fill_nan(grid);
    int rc = lines_load(ctx, grid->projdef, n, lonlat, value, spacing_m, NULL, &s);
    if (rc) return rc;
    if (sensor_drift) {
        s.drift = sq25__malloc(ctx, (s.n + 1) * sizeof *s.drift);
        if (!s.drift) rc = SQ25_ERR_NOMEM;
        else take_sensor_drift(&s, sensor_drift);
        /* the midpoint buckets index the sensors: rebuild them for the kept ones */
        sq25__buckets_free(ctx, &s.b);
        if (!rc) rc = sq25__buckets_build(ctx, s.n, s.mx, s.my, &s.b);
    }
    line_system *ls = rc ? NULL : sq25__malloc(ctx, sizeof *ls);
    if (!rc && !ls) rc = SQ25_ERR_NOMEM;
    if (!rc && s.n > 0) {
        lines_job job = {&s, &lp, v, true, grid, NULL, sensor_drift ? grid_drift : NULL};
        lines_blocks(&job, ls, (int)lp.p[SQ25_INTERP_BLOCK_CELLS]);
    }
    sq25__free(ctx, ls);
    lines_free(ctx, &s);
    return rc;
}

int sq25__lines_near(sq25_ctx *ctx, size_t n, const double *lonlat, double spacing_m,
                     double radius_m, const sq25_field *grid, uint8_t *near)
{
    size_t cells = (size_t)grid->width * (size_t)grid->height;
    memset(near, radius_m > 0 ? 0 : 1, cells);
    if (!(radius_m > 0) || n == 0) return SQ25_OK;
    double *zero = sq25__calloc(ctx, n + 1, sizeof *zero);
    if (!zero) return SQ25_ERR_NOMEM;
    line_set s;
    int rc = lines_load(ctx, grid->projdef, n, lonlat, zero, spacing_m, NULL, &s);
    sq25__free(ctx, zero);
    if (rc) return rc;
    size_t used = s.n ? (size_t)s.first[s.n - 1] + (size_t)s.count[s.n - 1] : 0;
    sq25__buckets pb;
    rc = sq25__buckets_build(ctx, used, s.px, s.py, &pb);
    const double *gt = grid->gt;
    for (int r = 0; !rc && used && r < grid->height; r++)
        for (int c = 0; c < grid->width; c++) {
            double x = gt[0] + (c + 0.5) * gt[1] + (r + 0.5) * gt[2];
            double y = gt[3] + (c + 0.5) * gt[4] + (r + 0.5) * gt[5];
            int idx;
            double d2;
            near[(size_t)r * (size_t)grid->width + (size_t)c] =
                sq25__knn(&pb, x, y, 1, radius_m, -1, &idx, &d2) > 0;
        }
    if (!rc) sq25__buckets_free(ctx, &pb);
    lines_free(ctx, &s);
    return rc;
}

int sq25__lines_fit_variogram(sq25_ctx *ctx, int model, const char *projdef, size_t n,
                              const double *lonlat, const double *value, double spacing_m,
                              sq25__variogram *out)
{
    line_set s;
    int rc = lines_load(ctx, projdef, n, lonlat, value, spacing_m, NULL, &s);
    if (rc) return rc;
    sq25__supports sup = {s.n, s.px, s.py, s.first, s.count};
    rc = sq25__variogram_fit_lines(ctx, model, &sup, 1, s.z, out);
    lines_free(ctx, &s);
    return rc;
}
