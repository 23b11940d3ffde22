/* variogram.c -- variogram models and their fit to data: empirical variogram in distance
 * classes, then a grid search over the range with non-negative weighted least squares for
 * nugget and partial sill (closed form). Robust: no starting values, no divergence. */
#include "interp_internal.h"
#include "spatial.h"

#include <math.h>
#include <string.h>

#define N_CLASSES 15
#define N_RANGES 80

/* Shape of the model at h/range, rising from 0 to 1. The exponential range is the scale
 * parameter (95 % of the sill at 3 range); the spherical range is where it reaches the sill. */
static double shape(int model, double h_over_range)
{
    double u = h_over_range;
    if (model == SQ25_VARIOGRAM_SPHERICAL) return u >= 1 ? 1.0 : 1.5 * u - 0.5 * u * u * u;
    return 1.0 - exp(-u);
}

double sq25__covariance(const sq25__variogram *v, double h_m)
{
    if (h_m <= 0) return v->nugget + v->sill;
    return v->sill * (1.0 - shape(v->model, h_m / v->range_m));
}

/* The largest distance between two of the n points (metres). */
static double max_pair_distance(size_t n, const double *x, const double *y)
{
    double dmax = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) dmax = fmax(dmax, hypot(x[i] - x[j], y[i] - y[j]));
    return dmax;
}

/* The mean distance h, mean semivariance g and pair count w of each class with pairs, from
 * the sums hs, gs and counts cnt of the N_CLASSES classes; cls (NULL: not wanted) gets each
 * kept class's index. Returns the number kept. */
static int class_means(const double *hs, const double *gs, const double *cnt, double *h,
                       double *g, double *w, int *cls)
{
    int m = 0;
    for (int c = 0; c < N_CLASSES; c++)
        if (cnt[c] > 0) {
            h[m] = hs[c] / cnt[c];
            g[m] = gs[c] / cnt[c];
            w[m] = cnt[c];
            if (cls) cls[m] = c;
            m++;
        }
    return m;
}

/* Semivariance per distance class up to half the largest distance; returns the number of
 * classes with pairs. */
static int empirical(size_t n, const double *x, const double *y, const double *z, double *h,
                     double *g, double *w)
{
    double width = max_pair_distance(n, x, y) / 2 / N_CLASSES;
    double hs[N_CLASSES] = {0}, gs[N_CLASSES] = {0}, cnt[N_CLASSES] = {0};
    if (!(width > 0)) return 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double d = hypot(x[i] - x[j], y[i] - y[j]);
            int c = (int)(d / width);
            if (c >= N_CLASSES) continue;
            double dz = z[i] - z[j];
            hs[c] += d, gs[c] += 0.5 * dz * dz, cnt[c] += 1;
        }
    return class_means(hs, gs, cnt, h, g, w, NULL);
}

/* Weighted least squares of g = nugget + sill * s with nugget, sill >= 0. Returns the SSE. */
static double fit_linear_nonneg(int m, const double *s, const double *g, const double *w,
                                double *nugget, double *sill)
{
    double sw = 0, ss = 0, sg = 0, sss = 0, ssg = 0;
    for (int k = 0; k < m; k++) {
        sw += w[k], ss += w[k] * s[k], sg += w[k] * g[k];
        sss += w[k] * s[k] * s[k], ssg += w[k] * s[k] * g[k];
    }
    double det = sw * sss - ss * ss;
    double a = NAN, b = NAN;
    if (fabs(det) > 1e-300) {
        a = (sss * sg - ss * ssg) / det;
        b = (sw * ssg - ss * sg) / det;
    }
    if (!(a >= 0 && b >= 0)) {
        /* Boundary solutions: nugget 0, or sill 0; keep the better. */
        double b0 = sss > 0 ? fmax(ssg / sss, 0) : 0, a1 = sw > 0 ? fmax(sg / sw, 0) : 0;
        double e0 = 0, e1 = 0;
        for (int k = 0; k < m; k++) {
            e0 += w[k] * pow(g[k] - b0 * s[k], 2);
            e1 += w[k] * pow(g[k] - a1, 2);
        }
        if (e0 <= e1) a = 0, b = b0;
        else a = a1, b = 0;
    }
    double sse = 0;
    for (int k = 0; k < m; k++) sse += w[k] * pow(g[k] - a - b * s[k], 2);
    *nugget = a;
    *sill = b;
    return sse;
}

int sq25__variogram_fit_dense(sq25_ctx *ctx, int model, size_t n, const double *x,
                              const double *y, const double *z, sq25__variogram *out)
{
    if (model != SQ25_VARIOGRAM_EXPONENTIAL && model != SQ25_VARIOGRAM_SPHERICAL)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "variogram model %d unknown", model);
    if (n < 4) return sq25__fail(ctx, SQ25_ERR_TOO_FEW, "variogram fit: %zu points (need 4)", n);
    double h[N_CLASSES], g[N_CLASSES], w[N_CLASSES], s[N_CLASSES];
    int m = empirical(n, x, y, z, h, g, w);
    double gmax = 0;
    for (int k = 0; k < m; k++) gmax = fmax(gmax, g[k]);
    if (m < 2 || !(gmax > 0))
        return sq25__fail(ctx, SQ25_ERR_NO_DATA, "variogram fit: no spatial variance");
    double best = INFINITY;
    /* Ranges from a tenth of the first class to three times the last, log-spaced. */
    double rmin = h[0] / 10, rmax = h[m - 1] * 3;
    for (int r = 0; r < N_RANGES; r++) {
        double range = rmin * pow(rmax / rmin, (double)r / (N_RANGES - 1));
        for (int k = 0; k < m; k++) s[k] = shape(model, h[k] / range);
        double nug, sill, sse = fit_linear_nonneg(m, s, g, w, &nug, &sill);
        if (sse < best) {
            best = sse;
            *out = (sq25__variogram){model, nug, sill, range};
        }
    }
    if (!(out->sill > 0)) {
        /* Pure nugget: keep a tiny structured part so the kriging systems stay regular. */
        out->sill = 1e-6 * (out->nugget > 0 ? out->nugget : gmax);
    }
    return SQ25_OK;
}

bool sq25__variogram_given(const double *p)
{
    return !isnan(p[SQ25_INTERP_NUGGET]) && !isnan(p[SQ25_INTERP_SILL]) &&
           !isnan(p[SQ25_INTERP_RANGE_M]);
}

int sq25__variogram_settle(sq25_ctx *ctx, const double *p, int fit_rc, sq25__variogram *v)
{
    if (fit_rc == SQ25_ERR_NO_DATA || fit_rc == SQ25_ERR_TOO_FEW) {
        /* Constant values (no spatial variance) or too few to fit: any model reproduces
         * them; keep a small structured variance so the systems stay regular. */
        *v = (sq25__variogram){v->model, 0, 1e-6, 2000};
        sq25__ok(ctx);
    } else if (fit_rc) {
        return fit_rc;
    }
    if (!isnan(p[SQ25_INTERP_NUGGET])) v->nugget = p[SQ25_INTERP_NUGGET];
    if (!isnan(p[SQ25_INTERP_SILL])) v->sill = p[SQ25_INTERP_SILL];
    if (!isnan(p[SQ25_INTERP_RANGE_M])) v->range_m = p[SQ25_INTERP_RANGE_M];
    return SQ25_OK;
}

int sq25_variogram_fit(sq25_ctx *ctx, int model, size_t n, const double *x_m, size_t x_stride,
                       const double *y_m, size_t y_stride, const double *z, size_t z_stride,
                       double *nugget, double *partial_sill, double *range_m)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!x_m || !y_m || !z || !nugget || !partial_sill || !range_m)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_variogram_fit: NULL argument");
    double *buf = sq25__malloc(ctx, 3 * (n + 1) * sizeof(double));
    if (!buf) return SQ25_ERR_NOMEM;
    double *x = buf, *y = buf + n + 1, *v = buf + 2 * (n + 1);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        double xi = SQ25__AT(x_m, x_stride, i), yi = SQ25__AT(y_m, y_stride, i);
        double zi = SQ25__AT(z, z_stride, i);
        if (isfinite(xi) && isfinite(yi) && isfinite(zi)) x[m] = xi, y[m] = yi, v[m++] = zi;
    }
    sq25__variogram vg;
    int rc = sq25__variogram_fit_dense(ctx, model, m, x, y, v, &vg);
    sq25__free(ctx, buf);
    if (rc) return rc;
    *nugget = vg.nugget;
    *partial_sill = vg.sill;
    *range_m = vg.range_m;
    return sq25__ok(ctx);
}

double sq25__block_covariance(const sq25__variogram *v, const double *ax, const double *ay,
                              int na, const double *bx, const double *by, int nb)
{
    double sum = 0;
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++) sum += sq25__covariance(v, hypot(ax[i] - bx[j], ay[i] - by[j]));
    return na > 0 && nb > 0 ? sum / ((double)na * nb) : NAN;
}

/* ---- line (block) support ------------------------------------------------------------------
 * The empirical semivariance of two path-averaged values is not the point variogram at the
 * distance of their midpoints: it is the regularised variogram
 *   gamma_ij = mean gamma(v_i, v_j) - (mean gamma(v_i, v_i) + mean gamma(v_j, v_j)) / 2
 * (Journel and Huijbregts 1978, ch. II; Cressie 1993, sec. 5.2), the means taken over the
 * discretisation points of the two paths. With the point model gamma = nugget N + sill shape,
 * and the nugget treated as the block kriging does (it enters C(0) at coincident points only),
 * the pair model is linear in nugget and sill for a given range:
 *   gamma_ij = nugget N_ij + sill S_ij,
 *   S_ij = Sbar(v_i, v_j) - (Sbar(v_i, v_i) + Sbar(v_j, v_j)) / 2 (Sbar: mean shape),
 *   N_ij = (1/p_i + 1/p_j) / 2 - (coincident point pairs) / (p_i p_j).
 * So the point fit carries over: per distance class (midpoint distances) the model is
 * nugget N_c + sill (shape(h_c / range) + mean over the class's pairs of S_ij -
 * shape(d_ij / range)), i.e. the point model at the class distance plus the mean
 * regularisation correction; for point supports N = 1 and the correction is exactly 0, which
 * is the point fit bit for bit. The regularisation is averaged over at most PAIR_CAP pairs of
 * each class (an even stride through them) to bound the cost. */

#define PAIR_CAP 48

typedef struct {
    int n[N_CLASSES];
    int (*ij)[2]; /* PAIR_CAP per class */
} class_pairs;

/* exp(-u) tabulated for the exponential model's regularisation (millions of point pairs per
 * fit): EXP_PER_UNIT entries per unit of u up to EXP_U_MAX (exp(-36) < 3e-16, taken as 0);
 * linear interpolation, absolute error under 1.2e-7. */
#define EXP_PER_UNIT 1024
#define EXP_U_MAX 36

static double *exp_table(sq25_ctx *ctx)
{
    int n = EXP_PER_UNIT * EXP_U_MAX + 2;
    double *t = sq25__malloc(ctx, (size_t)n * sizeof *t);
    for (int k = 0; t && k < n; k++) t[k] = exp(-(double)k / EXP_PER_UNIT);
    return t;
}

static double shape_fast(int model, const double *etab, double u)
{
    if (!etab || model != SQ25_VARIOGRAM_EXPONENTIAL) return shape(model, u);
    if (u >= EXP_U_MAX) return 1.0;
    double x = u * EXP_PER_UNIT;
    int k = (int)x;
    return 1.0 - (etab[k] + (x - k) * (etab[k + 1] - etab[k]));
}

/* Mean shape between the points of two supports, and the number of coincident point pairs. */
static double mean_shape(int model, double range, const double *etab, const double *ax,
                         const double *ay, int na, const double *bx, const double *by, int nb,
                         int *coincident)
{
    double sum = 0, inv = 1.0 / range;
    int same = 0;
    for (int a = 0; a < na; a++)
        for (int b = 0; b < nb; b++) {
            double dx = ax[a] - bx[b], dy = ay[a] - by[b], h = sqrt(dx * dx + dy * dy);
            if (h > 0) sum += shape_fast(model, etab, h * inv);
            else same++;
        }
    if (coincident) *coincident = same;
    return sum / ((double)na * nb);
}

/* Mean shape within one support (each pair once, the zero diagonal included). */
static double self_shape(int model, double range, const double *etab, const sq25__supports *s,
                         size_t i)
{
    int p = s->count[i];
    if (p == 1) return 0;
    const double *x = s->px + s->first[i], *y = s->py + s->first[i];
    double sum = 0, inv = 1.0 / range;
    for (int a = 0; a < p; a++)
        for (int b = a + 1; b < p; b++) {
            double dx = x[a] - x[b], dy = y[a] - y[b];
            sum += shape_fast(model, etab, sqrt(dx * dx + dy * dy) * inv);
        }
    return 2 * sum / ((double)p * p);
}

static void support_centres(const sq25__supports *s, double *cx, double *cy)
{
    for (size_t i = 0; i < s->n; i++) {
        double sx = 0, sy = 0;
        int c = s->count[i];
        for (int k = 0; k < c; k++) sx += s->px[s->first[i] + k], sy += s->py[s->first[i] + k];
        cx[i] = c == 1 ? sx : sx / c, cy[i] = c == 1 ? sy : sy / c;
    }
}

/* Semivariance per distance class of the centres, pooled over the sets (a pair counts once
 * per set where both values are valid), up to half the largest distance; the pairs of each
 * class (a stride through them) are kept for the regularisation. Returns the classes kept
 * (their original index in cls[]). */
static int empirical_sets(const sq25__supports *s, const double *cx, const double *cy,
                          int n_sets, const double *z, double *h, double *g, double *w, int *cls,
                          class_pairs *cp)
{
    size_t n = s->n;
    double width = max_pair_distance(n, cx, cy) / 2 / N_CLASSES;
    double hs[N_CLASSES] = {0}, gs[N_CLASSES] = {0}, cnt[N_CLASSES] = {0};
    long pairs[N_CLASSES] = {0}, seen[N_CLASSES] = {0};
    if (!(width > 0)) return 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++) {
                double d = hypot(cx[i] - cx[j], cy[i] - cy[j]);
                int c = (int)(d / width);
                if (c >= N_CLASSES) continue;
                int valid = 0;
                for (int k = 0; k < n_sets; k++) {
                    double dz = z[(size_t)k * n + i] - z[(size_t)k * n + j];
                    if (!isfinite(dz)) continue;
                    valid++;
                    if (pass == 0) hs[c] += d, gs[c] += 0.5 * dz * dz, cnt[c] += 1;
                }
                if (!valid) continue;
                if (pass == 0) {
                    pairs[c]++;
                    continue;
                }
                long stride = (pairs[c] + PAIR_CAP - 1) / PAIR_CAP;
                if (seen[c]++ % stride == 0 && cp->n[c] < PAIR_CAP) {
                    int *e = cp->ij[c * PAIR_CAP + cp->n[c]++];
                    e[0] = (int)i, e[1] = (int)j;
                }
            }
    return class_means(hs, gs, cnt, h, g, w, cls);
}

/* Regularised model terms of class c at a range: the mean correction of the sill term and
 * the mean nugget coefficient over its kept pairs. self[i]: Sbar(v_i, v_i) at this range. */
static void class_terms(int model, double range, const double *etab, const sq25__supports *s,
                        const double *cx, const double *cy, const double *self,
                        const class_pairs *cp, int c, double *corr, double *nug)
{
    double sc = 0, sn = 0;
    int np = cp->n[c];
    for (int e = 0; e < np; e++) {
        int i = cp->ij[c * PAIR_CAP + e][0], j = cp->ij[c * PAIR_CAP + e][1];
        int pi = s->count[i], pj = s->count[j], same = 0;
        double d = hypot(cx[i] - cx[j], cy[i] - cy[j]);
        double point = d > 0 ? shape(model, d / range) : 0;
        if (pi == 1 && pj == 1) {
            sn += 1.0; /* two points: the point model as the point fit has it */
            continue;
        }
        double cross = mean_shape(model, range, etab, s->px + s->first[i], s->py + s->first[i], pi,
                                  s->px + s->first[j], s->py + s->first[j], pj, &same);
        sc += cross - 0.5 * (self[i] + self[j]) - point;
        sn += 0.5 * (1.0 / pi + 1.0 / pj) - (double)same / ((double)pi * pj);
    }
    *corr = np ? sc / np : 0;
    *nug = np ? sn / np : 1;
}

int sq25__variogram_fit_lines(sq25_ctx *ctx, int model, const sq25__supports *s, int n_sets,
                              const double *z, sq25__variogram *out)
{
    if (model != SQ25_VARIOGRAM_EXPONENTIAL && model != SQ25_VARIOGRAM_SPHERICAL)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "variogram model %d unknown", model);
    if (s->n < 4 || n_sets < 1)
        return sq25__fail(ctx, SQ25_ERR_TOO_FEW, "variogram fit: %zu sensors (need 4)", s->n);
    size_t n = s->n;
    double *buf = sq25__malloc(ctx, 3 * n * sizeof(double));
    class_pairs cp = {{0}, sq25__malloc(ctx, (size_t)N_CLASSES * PAIR_CAP * sizeof *cp.ij)};
    double *etab = exp_table(ctx);
    if (!buf || !cp.ij || !etab) {
        sq25__free(ctx, buf), sq25__free(ctx, cp.ij), sq25__free(ctx, etab);
        return SQ25_ERR_NOMEM;
    }
    double *cx = buf, *cy = buf + n, *self = buf + 2 * n;
    support_centres(s, cx, cy);
    double h[N_CLASSES], g[N_CLASSES], w[N_CLASSES], sv[N_CLASSES], gv[N_CLASSES], wv[N_CLASSES];
    int cls[N_CLASSES];
    int m = empirical_sets(s, cx, cy, n_sets, z, h, g, w, cls, &cp);
    double gmax = 0;
    for (int k = 0; k < m; k++) gmax = fmax(gmax, g[k]);
    int rc = SQ25_OK;
    if (m < 2 || !(gmax > 0)) rc = sq25__fail(ctx, SQ25_ERR_NO_DATA, "variogram fit: no spatial variance");
    double best = INFINITY, rmin = m ? h[0] / 10 : 0, rmax = m ? h[m - 1] * 3 : 0;
    for (int r = 0; !rc && r < N_RANGES; r++) {
        double range = rmin * pow(rmax / rmin, (double)r / (N_RANGES - 1));
        for (size_t i = 0; i < n; i++) self[i] = self_shape(model, range, etab, s, i);
        /* g = nugget N + sill S is g/N = nugget + sill S/N with weights w N^2 */
        for (int k = 0; k < m; k++) {
            double corr, nug;
            class_terms(model, range, etab, s, cx, cy, self, &cp, cls[k], &corr, &nug);
            double sk = shape(model, h[k] / range) + corr;
            if (!(nug > 0)) nug = 1e-12;
            sv[k] = sk / nug, gv[k] = g[k] / nug, wv[k] = w[k] * nug * nug;
        }
        double nugget, sill, sse = fit_linear_nonneg(m, sv, gv, wv, &nugget, &sill);
        if (sse < best) {
            best = sse;
            *out = (sq25__variogram){model, nugget, sill, range};
        }
    }
    if (!rc && !(out->sill > 0)) out->sill = 1e-6 * (out->nugget > 0 ? out->nugget : gmax);
    sq25__free(ctx, buf), sq25__free(ctx, cp.ij), sq25__free(ctx, etab);
    return rc;
}
