/* interp.c -- sensor values onto a street grid or onto points: nearest neighbour, inverse
 * distance weighting and kriging (ordinary, or with a linear drift) with local
 * neighbourhoods. Grid cells are processed in square blocks that share one candidate set
 * (IDW) or one kriging system (kriging), which keeps 2000 x 2000 grids well under a second. */
#include "interp_internal.h"
#include "spatial.h"

#include <gsl/gsl_linalg.h>
#include <math.h>
#include <string.h>

struct sq25_interp_options {
    sq25_ctx *ctx;
    double p[SQ25_INTERP_PARAM_COUNT_];
};

static const double interp_defaults[SQ25_INTERP_PARAM_COUNT_] = {
    [SQ25_INTERP_POWER] = 2,         [SQ25_INTERP_RADIUS_M] = 10000,
    [SQ25_INTERP_NEIGHBOURS] = 12,   [SQ25_INTERP_VARIOGRAM] = SQ25_VARIOGRAM_EXPONENTIAL,
    [SQ25_INTERP_NUGGET] = NAN,      [SQ25_INTERP_SILL] = NAN,
    [SQ25_INTERP_RANGE_M] = NAN,     [SQ25_INTERP_DRIFT] = 0,
    [SQ25_INTERP_MIN_SENSORS] = 5,   [SQ25_INTERP_BLOCK_CELLS] = 16,
};

#define MAX_NEIGHBOURS 64

int sq25_interp_options_create(sq25_ctx *ctx, sq25_interp_options **out)
{
    if (!ctx || !out) return SQ25_ERR_INVALID_ARG;
    sq25_interp_options *o = sq25__calloc(ctx, 1, sizeof *o);
    if (!o) return SQ25_ERR_NOMEM;
    o->ctx = ctx;
    memcpy(o->p, interp_defaults, sizeof o->p);
    *out = o;
    return SQ25_OK;
}

void sq25_interp_options_destroy(sq25_interp_options *o)
{
    if (o) sq25__free(o->ctx, o);
}

static bool interp_value_ok(int key, double v)
{
    switch (key) {
    case SQ25_INTERP_POWER: return isfinite(v) && v > 0 && v <= 10;
    case SQ25_INTERP_RADIUS_M: return isfinite(v) && v >= 0;
    case SQ25_INTERP_NEIGHBOURS: return v >= 1 && v <= MAX_NEIGHBOURS && v == floor(v);
    case SQ25_INTERP_VARIOGRAM:
        return v == SQ25_VARIOGRAM_EXPONENTIAL || v == SQ25_VARIOGRAM_SPHERICAL;
    case SQ25_INTERP_NUGGET: return isnan(v) || (isfinite(v) && v >= 0);
    case SQ25_INTERP_SILL:
    case SQ25_INTERP_RANGE_M: return isnan(v) || (isfinite(v) && v > 0);
    case SQ25_INTERP_DRIFT: return v == 0 || v == 1;
    case SQ25_INTERP_MIN_SENSORS: return v >= 1 && v <= 1e6 && v == floor(v);
    case SQ25_INTERP_BLOCK_CELLS: return v >= 1 && v <= 256 && v == floor(v);
    default: return false;
    }
}

int sq25_interp_options_set(sq25_interp_options *o, int key, double value)
{
    if (!o || key < 0 || key >= SQ25_INTERP_PARAM_COUNT_) return SQ25_ERR_INVALID_ARG;
    if (!interp_value_ok(key, value))
        return sq25__fail(o->ctx, SQ25_ERR_RANGE, "interpolation parameter %d: value %g not allowed",
                          key, value);
    o->p[key] = value;
    return SQ25_OK;
}

double sq25_interp_options_get(const sq25_interp_options *o, int key)
{
    if (!o || key < 0 || key >= SQ25_INTERP_PARAM_COUNT_) return NAN;
    return o->p[key];
}

/* ---- sensors in metric coordinates --------------------------------------------------- */

typedef struct {
    size_t n;
    double *x, *y, *z; /* valid sensors only */
    long *orig;        /* index in the caller's arrays */
    sq25__buckets b;
} sensor_set;

static void sensors_free(sq25_ctx *ctx, sensor_set *s)
{
    sq25__buckets_free(ctx, &s->b);
    sq25__free(ctx, s->x), sq25__free(ctx, s->y), sq25__free(ctx, s->z), sq25__free(ctx, s->orig);
    memset(s, 0, sizeof *s);
}

static int sensors_load(sq25_ctx *ctx, const char *projdef, size_t n, const double *lon,
                        size_t lon_stride, const double *lat, size_t lat_stride,
                        const double *value, size_t value_stride, sensor_set *s)
{
    memset(s, 0, sizeof *s);
    s->x = sq25__malloc(ctx, (n + 1) * sizeof(double));
    s->y = sq25__malloc(ctx, (n + 1) * sizeof(double));
    s->z = sq25__malloc(ctx, (n + 1) * sizeof(double));
    s->orig = sq25__malloc(ctx, (n + 1) * sizeof(long));
    if (!s->x || !s->y || !s->z || !s->orig) {
        sensors_free(ctx, s);
        return SQ25_ERR_NOMEM;
    }
    int rc = sq25__lonlat_to_xy(ctx, projdef, n, lon, lon_stride, lat, lat_stride, s->x, s->y);
    for (size_t i = 0; !rc && i < n; i++) {
        double v = SQ25__AT(value, value_stride, i);
        if (!isfinite(v) || !isfinite(s->x[i]) || !isfinite(s->y[i])) continue;
        s->x[s->n] = s->x[i], s->y[s->n] = s->y[i], s->z[s->n] = v, s->orig[s->n] = (long)i;
        s->n++;
    }
    if (!rc) rc = sq25__buckets_build(ctx, s->n, s->x, s->y, &s->b);
    if (rc) sensors_free(ctx, s);
    return rc;
}

long *sq25__loo_index(sq25_ctx *ctx, size_t m, bool loo, size_t n_kept, const long *orig)
{
    long *index = sq25__malloc(ctx, (m + 1) * sizeof(long));
    if (!index) return NULL;
    for (size_t j = 0; j < m; j++) index[j] = -1;
    if (loo)
        for (size_t i = 0; i < n_kept; i++) index[orig[i]] = (long)i;
    return index;
}

/* ---- blocks of cells ------------------------------------------------------------------- */

sq25__blocks sq25__blocks_of(int width, int height, int bs)
{
    return (sq25__blocks){.width = width, .height = height, .bs = bs};
}

bool sq25__blocks_next(sq25__blocks *b)
{
    if (b->started && (b->c0 += b->bs) >= b->width) b->c0 = 0, b->r0 += b->bs;
    b->started = true;
    if (b->width <= 0 || b->r0 >= b->height) return false;
    b->c1 = b->c0 + b->bs < b->width ? b->c0 + b->bs : b->width;
    b->r1 = b->r0 + b->bs < b->height ? b->r0 + b->bs : b->height;
    return true;
}

/* ---- variogram choice ----------------------------------------------------------------- */

static int choose_variogram(sq25_ctx *ctx, const double *p, const sensor_set *s,
                            sq25__variogram *v)
{
    int model = (int)p[SQ25_INTERP_VARIOGRAM];
    *v = (sq25__variogram){model, 0, 0, 0};
    int rc = sq25__variogram_given(p)
                 ? SQ25_OK
                 : sq25__variogram_fit_dense(ctx, model, s->n, s->x, s->y, s->z, v);
    return sq25__variogram_settle(ctx, p, rc, v);
}

/* ---- one local kriging system ---------------------------------------------------------- */

/* Drift coordinates are in km around the system's centre, for conditioning. */
typedef struct {
    int m, dim;
    bool drift;
    int idx[MAX_NEIGHBOURS];
    double cx, cy;
    double px[MAX_NEIGHBOURS], py[MAX_NEIGHBOURS]; /* neighbour coordinates, metres */
    double alpha[MAX_NEIGHBOURS + 3];                          /* M^-1 [z; 0] */
    double minv[(MAX_NEIGHBOURS + 3) * (MAX_NEIGHBOURS + 3)]; /* M^-1, row-major */
} krige_system;

/* What fill_kriging_matrix needs, for sq25__krige_invert. */
typedef struct {
    const sensor_set *s;
    const sq25__variogram *v;
    const krige_system *ks;
} krige_fill_args;

static void fill_kriging_matrix(const void *args, gsl_matrix *a, double jitter)
{
    const krige_fill_args *f = args;
    const sensor_set *s = f->s;
    const sq25__variogram *v = f->v;
    const krige_system *ks = f->ks;
    int m = ks->m;
    for (int i = 0; i < m; i++) {
        int pi = ks->idx[i];
        for (int j = 0; j < m; j++) {
            int pj = ks->idx[j];
            double c = i == j ? sq25__covariance(v, 0) + jitter
                              : sq25__covariance(v, hypot(s->x[pi] - s->x[pj], s->y[pi] - s->y[pj]));
            gsl_matrix_set(a, (size_t)i, (size_t)j, c);
        }
        gsl_matrix_set(a, (size_t)i, (size_t)m, 1.0);
        gsl_matrix_set(a, (size_t)m, (size_t)i, 1.0);
        if (ks->drift) {
            double dx = (s->x[pi] - ks->cx) / 1000, dy = (s->y[pi] - ks->cy) / 1000;
            gsl_matrix_set(a, (size_t)i, (size_t)m + 1, dx);
            gsl_matrix_set(a, (size_t)m + 1, (size_t)i, dx);
            gsl_matrix_set(a, (size_t)i, (size_t)m + 2, dy);
            gsl_matrix_set(a, (size_t)m + 2, (size_t)i, dy);
        }
    }
    for (int i = m; i < ks->dim; i++)
        for (int j = m; j < ks->dim; j++) gsl_matrix_set(a, (size_t)i, (size_t)j, 0.0);
}

/* The LU factors are usable when no pivot is negligible against the scale. */
static bool lu_regular(const gsl_matrix *lu, double scale)
{
    for (size_t i = 0; i < lu->size1; i++)
        if (!(fabs(gsl_matrix_get(lu, i, i)) > 1e-12 * scale)) return false;
    return true;
}

bool sq25__krige_invert(const void *system, sq25__krige_fill fill, size_t dim, int m,
                        const double *z, double c0, double pivot_scale, double *minv,
                        double *alpha)
{
    gsl_matrix *a = gsl_matrix_alloc(dim, dim);
    gsl_permutation *perm = gsl_permutation_alloc(dim);
    gsl_matrix_view inv = gsl_matrix_view_array(minv, dim, dim);
    bool ok = false;
    for (int attempt = 0; a && perm && attempt < 3 && !ok; attempt++) {
        fill(system, a, attempt ? c0 * pow(1e-6, 3 - attempt) : 0);
        int sign;
        if (gsl_linalg_LU_decomp(a, perm, &sign) != 0 || !lu_regular(a, pivot_scale)) continue;
        if (gsl_linalg_LU_invert(a, perm, &inv.matrix) != 0) continue;
        ok = true;
        for (size_t i = 0; i < dim; i++) {
            double sum = 0;
            for (int j = 0; j < m; j++) sum += minv[i * dim + (size_t)j] * z[j];
            alpha[i] = sum;
            ok = ok && isfinite(sum);
        }
    }
    gsl_permutation_free(perm);
    gsl_matrix_free(a);
    return ok;
}

/* Factorise the bordered covariance matrix and keep its inverse and alpha = M^-1 [z; 0].
 * Returns false when singular even with a small jitter. */
static bool krige_build(const sensor_set *s, const sq25__variogram *v, krige_system *ks)
{
    ks->dim = ks->m + 1 + (ks->drift ? 2 : 0);
    double z[MAX_NEIGHBOURS];
    for (int i = 0; i < ks->m; i++) {
        z[i] = s->z[ks->idx[i]];
        ks->px[i] = s->x[ks->idx[i]], ks->py[i] = s->y[ks->idx[i]];
    }
    const krige_fill_args args = {s, v, ks};
    double c0 = sq25__covariance(v, 0);
    return sq25__krige_invert(&args, fill_kriging_matrix, (size_t)ks->dim, ks->m, z, c0, c0,
                              ks->minv, ks->alpha);
}

/* Estimate (and variance when wanted) at (qx, qy) from a built system. */
static double krige_at(const sq25__variogram *v, const krige_system *ks,
                       double qx, double qy, double *variance)
{
    double u[MAX_NEIGHBOURS + 3];
    int m = ks->m;
    double inv_range = 1.0 / v->range_m, c0 = v->nugget + v->sill;
    bool expo = v->model == SQ25_VARIOGRAM_EXPONENTIAL;
    for (int i = 0; i < m; i++) {
        double dx = ks->px[i] - qx, dy = ks->py[i] - qy, d2 = dx * dx + dy * dy;
        u[i] = d2 == 0 ? c0 : expo ? v->sill * exp(-sqrt(d2) * inv_range)
                                   : sq25__covariance(v, sqrt(d2));
    }
    u[m] = 1.0;
    if (ks->drift) u[m + 1] = (qx - ks->cx) / 1000, u[m + 2] = (qy - ks->cy) / 1000;
    return sq25__krige_estimate(ks->alpha, ks->minv, ks->dim, u, sq25__covariance(v, 0),
                                variance);
}

double sq25__krige_estimate(const double *alpha, const double *minv, int dim, const double *u,
                            double c0, double *variance)
{
    double est = 0;
    for (int i = 0; i < dim; i++) est += alpha[i] * u[i];
    if (variance) {
        double q = 0;
        for (int i = 0; i < dim; i++) {
            const double *row = minv + (size_t)i * (size_t)dim;
            double r = 0;
            for (int j = 0; j < dim; j++) r += row[j] * u[j];
            q += u[i] * r;
        }
        *variance = fmax(c0 - q, 0.0);
    }
    return est;
}

/* ---- IDW and nearest at one point, from candidates ------------------------------------- */

static double idw_from(const sensor_set *s, const int *cand, int nc, double qx, double qy, int k,
                       double radius2, double power, bool nearest)
{
    int top[MAX_NEIGHBOURS];
    double d2s[MAX_NEIGHBOURS];
    int m = 0;
    if (nearest) k = 1;
    for (int c = 0; c < nc; c++) {
        int i = cand[c];
        double dx = s->x[i] - qx, dy = s->y[i] - qy, d2 = dx * dx + dy * dy;
        if (d2 > radius2 || (m == k && d2 >= d2s[k - 1])) continue;
        int pos = m < k ? m++ : k - 1;
        while (pos > 0 && d2s[pos - 1] > d2) top[pos] = top[pos - 1], d2s[pos] = d2s[pos - 1], pos--;
        top[pos] = i, d2s[pos] = d2;
    }
    if (m == 0) return NAN;
    if (nearest || d2s[0] == 0) return s->z[top[0]];
    double wsum = 0, vsum = 0;
    for (int j = 0; j < m; j++) {
        double w = power == 2 ? 1.0 / d2s[j] : pow(d2s[j], -0.5 * power);
        wsum += w, vsum += w * s->z[top[j]];
    }
    return vsum / wsum;
}

/* ---- grid methods ------------------------------------------------------------------------ */

typedef struct {
    const sensor_set *s;
    const double *p;
    int method;
    const sq25__variogram *v;
    sq25_field *grid, *variance;
    double cell_m; /* the larger cell side, metres */
    int *lists;    /* MAX_REGION_DEPTH candidate lists of s->n + 1 */
    double *d2buf, *selbuf; /* s->n + 1 each */
    double *dxbuf;          /* block cells x MAX_NEIGHBOURS + block cells + 1: see region_axis_p2 */
} grid_job;

static void cell_centre(const double *gt, int col, int row, double *x, double *y)
{
    *x = gt[0] + (col + 0.5) * gt[1] + (row + 0.5) * gt[2];
    *y = gt[3] + (col + 0.5) * gt[4] + (row + 0.5) * gt[5];
}

/* Result of one cell from its sums: the weighted mean, or on a sensor (dmin = 0) its value. */
static float cell_value(const double *px, const double *py, const double *pz, int m, double x,
                        double y, double wsum, double vsum, double dmin)
{
    float v = wsum > 0 ? (float)(vsum / wsum) : NAN;
    if (dmin == 0) /* on a sensor: its value */
        for (int i = 0; i < m; i++)
            if (px[i] == x && py[i] == y) v = (float)pz[i];
    return v;
}

/* p = 2 sums of two cells (centres x[0..1], y[0..1], metres) over m neighbours all inside the
 * radius: weights 1/d^2 from squared distances, no sqrt or pow. The two cells share the
 * neighbour loads and their independent sums overlap in the pipeline (two dependency chains
 * instead of one); each cell adds its neighbours in the same order as a one-cell loop. */
static void pair_p2(const double *px, const double *py, const double *pz, int m, const double *x,
                    const double *y, double *wsum, double *vsum, double *dmin)
{
    double w0 = 0, w1 = 0, v0 = 0, v1 = 0, m0 = INFINITY, m1 = INFINITY;
    for (int i = 0; i < m; i++) {
        double dx0 = px[i] - x[0], dy0 = py[i] - y[0], d0 = dx0 * dx0 + dy0 * dy0; /* m^2 */
        double dx1 = px[i] - x[1], dy1 = py[i] - y[1], d1 = dx1 * dx1 + dy1 * dy1;
        double q0 = 1.0 / d0, q1 = 1.0 / d1;
        m0 = d0 < m0 ? d0 : m0, m1 = d1 < m1 ? d1 : m1;
        w0 += q0, w1 += q1;
        v0 += q0 * pz[i], v1 += q1 * pz[i];
    }
    wsum[0] = w0, wsum[1] = w1, vsum[0] = v0, vsum[1] = v1, dmin[0] = m0, dmin[1] = m1;
}

/* Sums of one cell for any power, skipping neighbours beyond the radius (r2, m^2). */
static void cell_sums(const double *px, const double *py, const double *pz, int m, double x,
                      double y, double r2, double power, double *wsum, double *vsum, double *dmin)
{
    double ws = 0, vs = 0, dm = INFINITY;
    for (int i = 0; i < m; i++) {
        double dx = px[i] - x, dy = py[i] - y, d2 = dx * dx + dy * dy;
        if (d2 > r2) continue;
        dm = d2 < dm ? d2 : dm;
        double w = power == 2 ? 1.0 / d2 : pow(d2, -0.5 * power);
        ws += w, vs += w * pz[i];
    }
    *wsum = ws, *vsum = vs, *dmin = dm;
}

/* The p = 2 fixed-set sums of a north-up region (cell x depends on the column only, y on the
 * row only): the squared x offsets of every column and neighbour are computed once for the
 * region and the squared y offsets once per row, so each cell and neighbour costs one add
 * for d^2 (the same value as dx * dx + dy * dy), then 1/d^2 and the sums, two cells at a
 * time. */
static void region_axis_p2(grid_job *j, int c0, int r0, int c1, int r1, const double *px,
                           const double *py, const double *pz, int m)
{
    const double *gt = j->grid->gt;
    int w = c1 - c0;
    double *dx2 = j->dxbuf, *xs = j->dxbuf + (size_t)w * MAX_NEIGHBOURS; /* [col][nb], [col] */
    double dy2[MAX_NEIGHBOURS], y;
    for (int c = 0; c < w; c++) {
        cell_centre(gt, c0 + c, r0, &xs[c], &y);
        for (int i = 0; i < m; i++) {
            double dx = px[i] - xs[c];
            dx2[c * MAX_NEIGHBOURS + i] = dx * dx;
        }
    }
    for (int r = r0; r < r1; r++) {
        cell_centre(gt, c0, r, &xs[w], &y); /* x of column 0 again: only y is used */
        for (int i = 0; i < m; i++) {
            double dy = py[i] - y;
            dy2[i] = dy * dy;
        }
        float *out = j->grid->data + (size_t)r * j->grid->width + c0;
        for (int c = 0; c < w; c += 2) {
            int c2 = c + 1 < w ? c + 1 : c; /* odd width: the last cell twice */
            const double *a = dx2 + c * MAX_NEIGHBOURS, *b = dx2 + c2 * MAX_NEIGHBOURS;
            double w0 = 0, w1 = 0, v0 = 0, v1 = 0, m0 = INFINITY, m1 = INFINITY;
            for (int i = 0; i < m; i++) {
                double d0 = a[i] + dy2[i], d1 = b[i] + dy2[i]; /* m^2 */
                double q0 = 1.0 / d0, q1 = 1.0 / d1;
                m0 = d0 < m0 ? d0 : m0, m1 = d1 < m1 ? d1 : m1;
                w0 += q0, w1 += q1;
                v0 += q0 * pz[i], v1 += q1 * pz[i];
            }
            out[c] = cell_value(px, py, pz, m, xs[c], y, w0, v0, m0);
            out[c2] = cell_value(px, py, pz, m, xs[c2], y, w1, v1, m1);
        }
    }
}

/* IDW over a fixed set of neighbours (all cells of the region share their k nearest), two
 * cells of a row at a time when every neighbour is within the radius and p = 2. */
static void region_fixed_set(grid_job *j, int c0, int r0, int c1, int r1, const int *idx, int m,
                             double r2, double power, bool all_inside)
{
    double px[MAX_NEIGHBOURS + 1], py[MAX_NEIGHBOURS + 1], pz[MAX_NEIGHBOURS + 1];
    for (int i = 0; i < m; i++) px[i] = j->s->x[idx[i]], py[i] = j->s->y[idx[i]], pz[i] = j->s->z[idx[i]];
    const double *gt = j->grid->gt;
    bool fast = all_inside && power == 2;
    if (fast && gt[2] == 0 && gt[4] == 0 && c1 - c0 >= 2) {
        region_axis_p2(j, c0, r0, c1, r1, px, py, pz, m);
        return;
    }
    for (int r = r0; r < r1; r++) {
        float *out = j->grid->data + (size_t)r * j->grid->width;
        int c = c0;
        for (; fast && c + 1 < c1; c += 2) {
            double x[2], y[2], wsum[2], vsum[2], dmin[2];
            cell_centre(gt, c, r, &x[0], &y[0]);
            cell_centre(gt, c + 1, r, &x[1], &y[1]);
            pair_p2(px, py, pz, m, x, y, wsum, vsum, dmin);
            out[c] = cell_value(px, py, pz, m, x[0], y[0], wsum[0], vsum[0], dmin[0]);
            out[c + 1] = cell_value(px, py, pz, m, x[1], y[1], wsum[1], vsum[1], dmin[1]);
        }
        for (; c < c1; c++) {
            double x, y, wsum, vsum, dmin;
            cell_centre(gt, c, r, &x, &y);
            cell_sums(px, py, pz, m, x, y, r2, power, &wsum, &vsum, &dmin);
            out[c] = cell_value(px, py, pz, m, x, y, wsum, vsum, dmin);
        }
    }
}

/* Candidates shared by the cells of a region: every point that can be among the k nearest of
 * any cell of the region; points not in the set are farther than `reach` from (cx, cy). */
typedef struct {
    const int *idx;
    int n;
    double cx, cy, reach;
} candidate_set;

#define MAX_REGION_DEPTH 10

/* The k-th smallest of v[0..n) (0-based k), reordering v; quickselect. */
static double kth_smallest(double *v, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = v[(lo + hi) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot) i++;
            while (v[j] > pivot) j--;
            if (i <= j) {
                double t = v[i];
                v[i++] = v[j];
                v[j--] = t;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else break;
    }
    return v[k];
}

#define FEW_EXCESS 8 /* candidates beyond k up to which the largest ones are kept directly */

/* The k-th and (k+1)-th smallest of d2[0..n) (n > k, squared metres). With few candidates
 * beyond k, the n - k + 1 largest are kept sorted by insertion (no copy, few passes);
 * otherwise quickselect on the scratch copy sel. */
static void kth_and_next(const double *d2, double *sel, int n, int k, double *dk, double *dk1)
{
    int keep = n - k + 1; /* the k-th smallest is the keep-th largest */
    if (keep <= FEW_EXCESS) {
        double big[FEW_EXCESS]; /* descending */
        int m = 0;
        for (int e = 0; e < n; e++) {
            double d = d2[e];
            if (m == keep && d <= big[keep - 1]) continue;
            int pos = m < keep ? m++ : keep - 1;
            while (pos > 0 && big[pos - 1] < d) big[pos] = big[pos - 1], pos--;
            big[pos] = d;
        }
        *dk = big[keep - 1], *dk1 = big[keep - 2];
        return;
    }
    for (int e = 0; e < n; e++) sel[e] = d2[e];
    *dk = kth_smallest(sel, n, k - 1);
    *dk1 = INFINITY;
    for (int e = k; e < n; e++) *dk1 = sel[e] < *dk1 ? sel[e] : *dk1;
}

/* How many candidates at exactly the k-th smallest squared distance dk are members (the
 * earliest ones), given the (k+1)-th smallest dk1 (both infinite when all are members). When
 * dk1 > dk the candidates up to dk are exactly k, so all of them are members, without a
 * count. */
static int tied_members(const double *d2, int nc, int k, double dk, double dk1)
{
    if (dk1 > dk || dk == INFINITY) return nc;
    int ties = k;
    for (int e = 0; e < nc; e++) ties -= d2[e] < dk;
    return ties;
}

/* One cell at (x, y) from n candidates gathered in px, py, pz (metres, value): the k nearest
 * (ties at the k-th distance to the earlier candidates), those beyond the radius (r2, m^2)
 * dropped, weights summed in candidate order: the same arithmetic as region_fixed_set on a
 * one-cell region. d2 and sel are scratch of n. */
static float cell_knn_idw(const double *px, const double *py, const double *pz, int n, double x,
                          double y, double *d2, double *sel, int k, double r2, double power)
{
    for (int e = 0; e < n; e++) {
        double dx = px[e] - x, dy = py[e] - y;
        d2[e] = dx * dx + dy * dy;
    }
    double dk = INFINITY, dk1 = INFINITY;
    if (n > k) kth_and_next(d2, sel, n, k, &dk, &dk1);
    int ties = tied_members(d2, n, k, dk, dk1);
    double wsum = 0, vsum = 0, dmin = INFINITY;
    int on_sensor = -1;
    for (int e = 0; e < n; e++) {
        double d = d2[e];
        if (!(d < dk || (d == dk && ties-- > 0)) || d > r2) continue;
        dmin = d < dmin ? d : dmin;
        double w = power == 2 ? 1.0 / d : pow(d, -0.5 * power);
        wsum += w, vsum += w * pz[e];
        if (px[e] == x && py[e] == y) on_sensor = e;
    }
    float v = wsum > 0 ? (float)(vsum / wsum) : NAN;
    if (dmin == 0 && on_sensor >= 0) v = (float)pz[on_sensor];
    return v;
}

#define DIRECT_CANDIDATES 64 /* at most this many candidates for the cell-by-cell path */

/* The cells of a small region (a single cell, or 2 x 2 at most) one by one from the region's
 * candidates (at most DIRECT_CANDIDATES), gathered once for all of them. */
static void cells_direct(grid_job *j, const candidate_set *cs, int c0, int r0, int c1, int r1,
                         int k, double r2, double power)
{
    double px[DIRECT_CANDIDATES], py[DIRECT_CANDIDATES], pz[DIRECT_CANDIDATES];
    double d2[DIRECT_CANDIDATES], sel[DIRECT_CANDIDATES];
    for (int e = 0; e < cs->n; e++) {
        int i = cs->idx[e];
        px[e] = j->s->x[i], py[e] = j->s->y[i], pz[e] = j->s->z[i];
    }
    for (int r = r0; r < r1; r++)
        for (int c = c0; c < c1; c++) {
            double x, y;
            cell_centre(j->grid->gt, c, r, &x, &y);
            j->grid->data[(size_t)r * j->grid->width + c] =
                cell_knn_idw(px, py, pz, cs->n, x, y, d2, sel, k, r2, power);
        }
}

/* IDW (and nearest) of a rectangular region: if the gap between the k-th distance from the
 * region centre and a lower bound of the (k+1)-th exceeds the region's diameter, every cell
 * shares the same k nearest and is summed directly; otherwise the candidates are narrowed to
 * those that can matter inside the region and the region is split in four, down to 2 x 2
 * regions whose cells then each select their own k nearest (cells_direct). */
static void region_idw(grid_job *j, const candidate_set *cs, int depth, int c0, int r0, int c1,
                       int r1)
{
    const double *p = j->p, *gt = j->grid->gt;
    int k = j->method == SQ25_INTERP_NEAREST ? 1 : (int)p[SQ25_INTERP_NEIGHBOURS];
    double radius = p[SQ25_INTERP_RADIUS_M], r2 = radius > 0 ? radius * radius : INFINITY;
    double power = j->method == SQ25_INTERP_NEAREST ? 2 : p[SQ25_INTERP_POWER];
    double sx = gt[0] + 0.5 * (c0 + c1) * gt[1] + 0.5 * (r0 + r1) * gt[2];
    double sy = gt[3] + 0.5 * (c0 + c1) * gt[4] + 0.5 * (r0 + r1) * gt[5];
    int nc = cs->n;
    if (c1 - c0 == 1 && r1 - r0 == 1 && nc <= DIRECT_CANDIDATES) {
        cells_direct(j, cs, c0, r0, c1, r1, k, r2, power);
        return;
    }
    double w = c1 - c0 - 1, h = r1 - r0 - 1;
    double hd = 0.5 * j->cell_m * sqrt(w * w + h * h) * 1.0000001 + 1e-9; /* half diagonal */
    double *d2 = j->d2buf, *sel = j->selbuf;
    for (int e = 0; e < nc; e++) {
        int i = cs->idx[e];
        double dx = j->s->x[i] - sx, dy = j->s->y[i] - sy;
        d2[e] = dx * dx + dy * dy;
    }
    double ox = sx - cs->cx, oy = sy - cs->cy, outside = cs->reach - sqrt(ox * ox + oy * oy);
    double dk = INFINITY, dk1 = INFINITY, next = outside;
    if (nc > k) {
        kth_and_next(d2, sel, nc, k, &dk, &dk1);
        next = fmin(sqrt(dk1), outside);
    }
    bool single = c1 - c0 == 1 && r1 - r0 == 1; /* with more than DIRECT_CANDIDATES */
    bool shared = nc == 0 || (nc <= k ? outside > 1e300 : next - sqrt(dk) > 2 * hd);
    if (!single && !shared && nc > k && outside - sqrt(dk) > 2 * hd) {
        /* The gap test is only sufficient. Exactly: the region shares its k nearest when every
         * cell is nearer to each of them than to each near rival. For one pair this holds on
         * a half-plane, so checking the rectangle's worst corner decides it. */
        double ax = gt[2] == 0 && gt[4] == 0 ? 0.5 * w * fabs(gt[1]) : hd;
        double ay = gt[2] == 0 && gt[4] == 0 ? 0.5 * h * fabs(gt[5]) : hd;
        double rival_limit = sqrt(dk) + 2 * hd;
        shared = true;
        for (int e = 0; e < nc && shared; e++) {
            if (d2[e] <= dk || d2[e] > rival_limit * rival_limit) continue; /* member or too far */
            int jr = cs->idx[e];
            for (int f = 0; f < nc && shared; f++) {
                if (!(d2[f] <= dk)) continue;
                int ir = cs->idx[f];
                double dx = j->s->x[jr] - j->s->x[ir], dy = j->s->y[jr] - j->s->y[ir];
                shared = d2[f] - d2[e] + 2 * (fabs(dx) * ax + fabs(dy) * ay) < 0;
            }
        }
        /* ties at the k-th distance make membership ambiguous: let the split decide */
        int at_dk = 0;
        for (int e = 0; e < nc; e++) at_dk += d2[e] == dk;
        if (at_dk > 1) shared = false;
    }
    if (single || shared) {
        int top[MAX_NEIGHBOURS + 1], m = 0, ties = tied_members(d2, nc, k, dk, dk1);
        double far2 = 0;
        for (int e = 0; e < nc && m < k; e++)
            if (d2[e] < dk || (d2[e] == dk && ties-- > 0)) {
                top[m++] = cs->idx[e];
                far2 = d2[e] > far2 ? d2[e] : far2;
            }
        double far = sqrt(far2) + hd; /* farthest neighbour from any cell of the region */
        region_fixed_set(j, c0, r0, c1, r1, top, m, r2, power, far * far < r2);
        return;
    }
    candidate_set child = *cs;
    if (depth < MAX_REGION_DEPTH && nc > k) {
        double reach = sqrt(dk) + 2 * hd, reach2 = reach * reach;
        int *list = j->lists + (size_t)depth * (j->s->n + 1), m = 0;
        for (int e = 0; e < nc; e++)
            if (d2[e] <= reach2) list[m++] = cs->idx[e];
        child = (candidate_set){list, m, sx, sy, fmin(reach, outside)};
    }
    if (c1 - c0 <= 2 && r1 - r0 <= 2 && child.n <= DIRECT_CANDIDATES) {
        cells_direct(j, &child, c0, r0, c1, r1, k, r2, power); /* what the split would do */
        return;
    }
    int cm = (c0 + c1 + 1) / 2, rm = (r0 + r1 + 1) / 2;
    region_idw(j, &child, depth + 1, c0, r0, cm, rm);
    if (cm < c1) region_idw(j, &child, depth + 1, cm, r0, c1, rm);
    if (rm < r1) region_idw(j, &child, depth + 1, c0, rm, cm, r1);
    if (cm < c1 && rm < r1) region_idw(j, &child, depth + 1, cm, rm, c1, r1);
}

static void block_idw(grid_job *j, int *cand, int c0, int r0, int c1, int r1, double bx, double by,
                      double hd)
{
    int k = j->method == SQ25_INTERP_NEAREST ? 1 : (int)j->p[SQ25_INTERP_NEIGHBOURS];
    double radius = j->p[SQ25_INTERP_RADIUS_M], d2[MAX_NEIGHBOURS];
    int top[MAX_NEIGHBOURS];
    int m = sq25__knn(&j->s->b, bx, by, k, radius > 0 ? radius + hd : 0, -1, top, d2);
    candidate_set cs = {cand, 0, bx, by, INFINITY};
    if (m == k) {
        cs.reach = sqrt(d2[m - 1]) + 2 * hd;
        cs.n = sq25__within(&j->s->b, bx, by, cs.reach, cand, (int)j->s->n);
    } else {
        memcpy(cand, top, (size_t)m * sizeof(int));
        cs.n = m;
        cs.reach = radius > 0 ? radius + hd : INFINITY;
    }
    if (cs.n == 0) {
        for (int r = r0; r < r1; r++)
            for (int c = c0; c < c1; c++) j->grid->data[(size_t)r * j->grid->width + c] = NAN;
        return;
    }
    region_idw(j, &cs, 0, c0, r0, c1, r1);
}

static void block_kriging(grid_job *j, int c0, int r0, int c1, int r1, double cx, double cy,
                          double hd, krige_system *ks)
{
    const double *p = j->p;
    double radius = p[SQ25_INTERP_RADIUS_M], d2[MAX_NEIGHBOURS];
    ks->drift = p[SQ25_INTERP_DRIFT] != 0;
    ks->cx = cx, ks->cy = cy;
    ks->m = sq25__knn(&j->s->b, cx, cy, (int)p[SQ25_INTERP_NEIGHBOURS],
                      radius > 0 ? radius + hd : 0, -1, ks->idx, d2);
    bool ok = ks->m >= (ks->drift ? 4 : 1) && krige_build(j->s, j->v, ks);
    for (int r = r0; r < r1; r++)
        for (int c = c0; c < c1; c++) {
            double x, y, var = NAN;
            cell_centre(j->grid->gt, c, r, &x, &y);
            double est = ok ? krige_at(j->v, ks, x, y, j->variance ? &var : NULL) : NAN;
            size_t k = (size_t)r * j->grid->width + c;
            j->grid->data[k] = (float)est;
            if (j->variance) j->variance->data[k] = ok ? (float)var : NAN;
        }
}

/* Scratch of one thread of run_grid: its own copy of the job (with the candidate lists and
 * distance buffers), a kriging system and a candidate array. */
typedef struct {
    grid_job job;
    krige_system *ks;
    int *cand;
} grid_worker;

static void grid_worker_free(sq25_ctx *ctx, grid_worker *g)
{
    sq25__free(ctx, g->ks), sq25__free(ctx, g->cand), sq25__free(ctx, g->job.lists);
    sq25__free(ctx, g->job.d2buf), sq25__free(ctx, g->job.selbuf), sq25__free(ctx, g->job.dxbuf);
}

static int grid_worker_alloc(sq25_ctx *ctx, const grid_job *j, int bs, grid_worker *g)
{
    size_t np = j->s->n + 1;
    memset(g, 0, sizeof *g);
    g->job = *j;
    g->ks = sq25__malloc(ctx, sizeof *g->ks);
    g->cand = sq25__malloc(ctx, np * sizeof(int));
    g->job.lists = sq25__malloc(ctx, np * MAX_REGION_DEPTH * sizeof(int));
    g->job.d2buf = sq25__malloc(ctx, np * sizeof(double));
    g->job.selbuf = sq25__malloc(ctx, np * sizeof(double));
    g->job.dxbuf = sq25__malloc(ctx, ((size_t)bs * (MAX_NEIGHBOURS + 1) + 1) * sizeof(double));
    if (g->ks && g->cand && g->job.lists && g->job.d2buf && g->job.selbuf && g->job.dxbuf)
        return SQ25_OK;
    grid_worker_free(ctx, g);
    return SQ25_ERR_NOMEM;
}

typedef struct {
    grid_worker *workers;
    int bs;
} grid_rows_job;

/* Block rows [begin, end) of the grid; every block depends on its own cells only. */
static void grid_block_rows(void *arg, int begin, int end, int worker)
{
    const grid_rows_job *rj = arg;
    grid_worker *g = &rj->workers[worker];
    grid_job *j = &g->job;
    const int bs = rj->bs, w = j->grid->width, h = j->grid->height;
    const double *gt = j->grid->gt;
    double cell = fmax(hypot(gt[1], gt[4]), hypot(gt[2], gt[5]));
    for (int br = begin; br < end; br++)
        for (int c0 = 0, r0 = br * bs; c0 < w; c0 += bs) {
            int c1 = c0 + bs < w ? c0 + bs : w, r1 = r0 + bs < h ? r0 + bs : h;
            double cx = gt[0] + 0.5 * (c0 + c1) * gt[1] + 0.5 * (r0 + r1) * gt[2];
            double cy = gt[3] + 0.5 * (c0 + c1) * gt[4] + 0.5 * (r0 + r1) * gt[5];
            /* half the block diagonal: every cell centre is within hd of (cx, cy) */
            double hd = 0.5 * cell * sqrt((double)(c1 - c0) * (c1 - c0) + (double)(r1 - r0) * (r1 - r0)) * 1.0000001;
            if (j->method == SQ25_INTERP_KRIGING) block_kriging(j, c0, r0, c1, r1, cx, cy, hd, g->ks);
            else block_idw(j, g->cand, c0, r0, c1, r1, cx, cy, hd);
        }
}

static int run_grid(grid_job *j)
{
    sq25_ctx *ctx = j->grid->ctx;
    int bs = (int)j->p[SQ25_INTERP_BLOCK_CELLS], h = j->grid->height;
    const int threads = sq25__threads(ctx);
    grid_worker *workers = sq25__calloc(ctx, (size_t)threads, sizeof *workers);
    int rc = workers ? SQ25_OK : SQ25_ERR_NOMEM, made = 0;
    for (; rc == SQ25_OK && made < threads; made++)
        if ((rc = grid_worker_alloc(ctx, j, bs, &workers[made])) != SQ25_OK) break;
    if (rc == SQ25_OK) {
        grid_rows_job rj = {workers, bs};
        sq25__parallel_for(ctx, (h + bs - 1) / bs, 1, grid_block_rows, &rj);
    }
    for (int t = 0; t < made; t++) grid_worker_free(ctx, &workers[t]);
    sq25__free(ctx, workers);
    return rc;
}

static void fill_field(sq25_field *f, float v)
{
    if (!f) return;
    for (size_t i = 0, n = (size_t)f->width * (size_t)f->height; i < n; i++) f->data[i] = v;
}

static bool same_grid(const sq25_field *a, const sq25_field *b)
{
    return a->width == b->width && a->height == b->height && strcmp(a->projdef, b->projdef) == 0 &&
           memcmp(a->gt, b->gt, sizeof a->gt) == 0;
}

/* Grid interpolation from an already loaded sensor set. */
static int interp_grid_set(sq25_ctx *ctx, const double *p, int method, const sensor_set *s,
                           sq25_field *grid, sq25_field *variance)
{
    fill_field(variance, NAN);
    if (s->n == 0) {
        fill_field(grid, NAN);
        return sq25__fail(ctx, SQ25_ERR_NO_DATA, "interpolation: no valid sensor value");
    }
    if (method == SQ25_INTERP_KRIGING && s->n < (size_t)p[SQ25_INTERP_MIN_SENSORS])
        method = SQ25_INTERP_IDW;
    sq25__variogram v;
    if (method == SQ25_INTERP_KRIGING) {
        int rc = choose_variogram(ctx, p, s, &v);
        if (rc) return rc;
    }
    grid_job job = {s, p, method, &v, grid, method == SQ25_INTERP_KRIGING ? variance : NULL,
                    fmax(hypot(grid->gt[1], grid->gt[4]), hypot(grid->gt[2], grid->gt[5])), NULL,
                    NULL, NULL, NULL};
    int rc = run_grid(&job);
    return rc ? rc : sq25__ok(ctx);
}

const double *sq25__interp_params(const sq25_interp_options *o)
{
    return o ? o->p : interp_defaults;
}

int sq25_interp_grid(sq25_ctx *ctx, const sq25_interp_options *o, int method, size_t n,
                     const double *lon, size_t lon_stride, const double *lat, size_t lat_stride,
                     const double *value, size_t value_stride, sq25_field *grid,
                     sq25_field *variance)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!grid || (n && (!lon || !lat || !value)))
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_interp_grid: NULL argument");
    if (method < SQ25_INTERP_NEAREST || method > SQ25_INTERP_KRIGING)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_interp_grid: method %d", method);
    if (variance && !same_grid(grid, variance))
        return sq25__fail(ctx, SQ25_ERR_GRID_MISMATCH, "variance field is not on the grid");
    sensor_set s;
    int rc = sensors_load(ctx, grid->projdef, n, lon, lon_stride, lat, lat_stride, value,
                          value_stride, &s);
    if (rc) return rc;
    rc = interp_grid_set(ctx, sq25__interp_params(o), method, &s, grid, variance);
    sensors_free(ctx, &s);
    return rc;
}

/* ---- point targets --------------------------------------------------------------------- */

static double point_estimate(const sensor_set *s, const double *p, int method,
                             const sq25__variogram *v, krige_system *ks, double qx, double qy,
                             long exclude, double *variance)
{
    double radius = p[SQ25_INTERP_RADIUS_M], d2[MAX_NEIGHBOURS];
    int k = method == SQ25_INTERP_NEAREST ? 1 : (int)p[SQ25_INTERP_NEIGHBOURS];
    ks->m = sq25__knn(&s->b, qx, qy, k, radius, exclude, ks->idx, d2);
    *variance = NAN;
    if (ks->m == 0) return NAN;
    if (method != SQ25_INTERP_KRIGING)
        return idw_from(s, ks->idx, ks->m, qx, qy, k, INFINITY, p[SQ25_INTERP_POWER],
                        method == SQ25_INTERP_NEAREST);
    ks->drift = p[SQ25_INTERP_DRIFT] != 0;
    ks->cx = qx, ks->cy = qy;
    if (ks->m < (ks->drift ? 4 : 1) || !krige_build(s, v, ks)) return NAN;
    return krige_at(v, ks, qx, qy, variance);
}

static int points_run(sq25_ctx *ctx, const double *p, int method, const sensor_set *s,
                      size_t m, const double *tx, const double *ty, int loo, double *out,
                      size_t out_stride, double *variance, size_t variance_stride)
{
    sq25__variogram v = {0};
    if (method == SQ25_INTERP_KRIGING && s->n < (size_t)p[SQ25_INTERP_MIN_SENSORS])
        method = SQ25_INTERP_IDW;
    if (method == SQ25_INTERP_KRIGING) {
        int rc = choose_variogram(ctx, p, s, &v);
        if (rc) return rc;
    }
    krige_system *ks = sq25__malloc(ctx, sizeof *ks);
    long *set_index = sq25__loo_index(ctx, m, loo, s->n, s->orig);
    if (!ks || !set_index) {
        sq25__free(ctx, ks), sq25__free(ctx, set_index);
        return SQ25_ERR_NOMEM;
    }
    for (size_t j = 0; j < m; j++) {
        double var = NAN, est = NAN;
        if (isfinite(tx[j]) && isfinite(ty[j]))
            est = point_estimate(s, p, method, &v, ks, tx[j], ty[j], loo ? set_index[j] : -1, &var);
        SQ25__SET(out, out_stride, j) = est;
        if (variance) SQ25__SET(variance, variance_stride, j) = var;
    }
    sq25__free(ctx, ks), sq25__free(ctx, set_index);
    return SQ25_OK;
}

int sq25_interp_points(sq25_ctx *ctx, const sq25_interp_options *o, int method, size_t n,
                       const double *lon, size_t lon_stride, const double *lat,
                       size_t lat_stride, const double *value, size_t value_stride, size_t m,
                       const double *target_lon, size_t target_lon_stride,
                       const double *target_lat, size_t target_lat_stride, int leave_one_out,
                       double *out, size_t out_stride, double *variance, size_t variance_stride)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if ((n && (!lon || !lat || !value)) || (m && (!target_lon || !target_lat || !out)) ||
        (leave_one_out && m != n) || method < SQ25_INTERP_NEAREST || method > SQ25_INTERP_KRIGING)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_interp_points: bad argument");
    double lon_sum = 0, lat_sum = 0;
    size_t known = 0;
    for (size_t i = 0; i < n; i++) {
        double lo = SQ25__AT(lon, lon_stride, i), la = SQ25__AT(lat, lat_stride, i);
        if (isfinite(lo) && isfinite(la)) lon_sum += lo, lat_sum += la, known++;
    }
    if (known == 0) return sq25__fail(ctx, SQ25_ERR_NO_DATA, "sq25_interp_points: no sensor");
    char utm[32];
    sq25__utm_projdef(lon_sum / known, lat_sum / known, utm, sizeof utm);
    sensor_set s;
    int rc = sensors_load(ctx, utm, n, lon, lon_stride, lat, lat_stride, value, value_stride, &s);
    if (rc) return rc;
    double *tx = sq25__malloc(ctx, (m + 1) * sizeof(double));
    double *ty = sq25__malloc(ctx, (m + 1) * sizeof(double));
    if (!tx || !ty) rc = SQ25_ERR_NOMEM;
    if (!rc) rc = sq25__lonlat_to_xy(ctx, utm, m, target_lon, target_lon_stride, target_lat,
                                     target_lat_stride, tx, ty);
    if (!rc && s.n == 0) rc = sq25__fail(ctx, SQ25_ERR_NO_DATA, "sq25_interp_points: no valid value");
    if (!rc) rc = points_run(ctx, sq25__interp_params(o), method, &s, m, tx, ty, leave_one_out, out,
                             out_stride, variance, variance_stride);
    sq25__free(ctx, tx), sq25__free(ctx, ty);
    sensors_free(ctx, &s);
    return rc ? rc : sq25__ok(ctx);
}
