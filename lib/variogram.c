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

/* Semivariance per distance class up to half the largest distance; returns the number of
 * classes with pairs. */
static int empirical(size_t n, const double *x, const double *y, const double *z, double *h,
                     double *g, double *w)
{
    double dmax = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) dmax = fmax(dmax, hypot(x[i] - x[j], y[i] - y[j]));
    double width = dmax / 2 / N_CLASSES;
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
    int m = 0;
    for (int c = 0; c < N_CLASSES; c++)
        if (cnt[c] > 0) {
            h[m] = hs[c] / cnt[c];
            g[m] = gs[c] / cnt[c];
            w[m] = cnt[c];
            m++;
        }
    return m;
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
