/* advect.c -- backward semi-Lagrangian extrapolation of a rain field along a motion field.
 *
 * Every output cell traces its trajectory back in time: starting at its centre p0, each
 * sub-step moves p <- p - V(p) * h, with V bilinear in the motion field (pixels per step) and
 * h = 1/substeps of a step. The rate at lead k is the latest field sampled bilinearly at the
 * departure point after k steps. Bilinear weights are convex, so no rain is created
 * (forecast max <= input max). A departure point outside the grid, or whose interpolation
 * touches a NaN cell with a non-zero weight, gives NaN: rain from outside or from nodata is
 * unknown, not dry. */
#include "internal.h"

#include <math.h>
#include <string.h>

/* Departure points of every cell, interleaved (x, y) in cell-index coordinates (centre of
 * cell (r, c) = (c, r)), and the motion interleaved (u, v) so one cache line serves both. */
typedef struct {
    int width, height;
    float *xy, *uv;
} trajectories;

static int trajectories_init(sq25_ctx *ctx, trajectories *t, int width, int height,
                             const float *u, const float *v)
{
    size_t n = (size_t)width * (size_t)height;
    t->width = width;
    t->height = height;
    t->xy = sq25__malloc(ctx, 2 * n * sizeof(float));
    t->uv = sq25__malloc(ctx, 2 * n * sizeof(float));
    if (!t->xy || !t->uv) return SQ25_ERR_NOMEM;
    for (int r = 0; r < height; r++)
        for (int c = 0; c < width; c++) {
            size_t i = (size_t)r * (size_t)width + (size_t)c;
            t->xy[2 * i] = (float)c;
            t->xy[2 * i + 1] = (float)r;
            t->uv[2 * i] = u[i];
            t->uv[2 * i + 1] = v[i];
        }
    return SQ25_OK;
}

static void trajectories_free(sq25_ctx *ctx, trajectories *t)
{
    sq25__free(ctx, t->xy);
    sq25__free(ctx, t->uv);
}

static inline float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Careful bilinear sample: only cells with a non-zero weight count, any NaN among them
 * gives NaN. */
static float sample_rate_careful(const float *p, int w, float fx, float fy)
{
    const float wts[4] = {(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy};
    const float vals[4] = {p[0], p[1], p[w], p[w + 1]};
    float sum = 0;
    for (int k = 0; k < 4; k++) {
        if (wts[k] <= 0) continue;
        if (isnan(vals[k])) return NAN;
        sum += wts[k] * vals[k];
    }
    return sum;
}

/* Bilinear sample of the latest field at (x, y); NaN outside the grid or next to NaN. The
 * plain formula propagates NaN by itself; only then is the careful path needed, to forgive
 * a NaN neighbour with zero weight (exact shifts). */
static inline float sample_rate(const float *rate, int w, int h, float x, float y)
{
    if (!(x >= 0 && y >= 0 && x <= (float)(w - 1) && y <= (float)(h - 1))) return NAN;
    int x0 = (int)x, y0 = (int)y;
    x0 = x0 > w - 2 ? w - 2 : x0;
    y0 = y0 > h - 2 ? h - 2 : y0;
    const float fx = x - (float)x0, fy = y - (float)y0;
    const float *p = rate + (size_t)y0 * (size_t)w + (size_t)x0;
    /* weights form: exact when a weight is 0 or 1 (whole-cell shifts move values exactly) */
    float top = (1 - fx) * p[0] + fx * p[1], bottom = (1 - fx) * p[w] + fx * p[w + 1];
    float value = (1 - fy) * top + fy * bottom;
    return isnan(value) ? sample_rate_careful(p, w, fx, fy) : value;
}

/* One sub-step back in time of length h steps (motion bilinear, clamped at the edges); when
 * out is not NULL, also sample the latest field at the new departure points. */
static void step_back_and_sample(trajectories *t, float h, const float *rate, float *out)
{
    const int w = t->width, ht = t->height;
    const float xmax = (float)(w - 1), ymax = (float)(ht - 1);
    const size_t n = (size_t)w * (size_t)ht;
    float *restrict xy = t->xy;
    const float *restrict uv = t->uv;
    for (size_t i = 0; i < n; i++) {
        float x = clampf(xy[2 * i], 0, xmax), y = clampf(xy[2 * i + 1], 0, ymax);
        int x0 = (int)x, y0 = (int)y;
        x0 = x0 > w - 2 ? w - 2 : x0;
        y0 = y0 > ht - 2 ? ht - 2 : y0;
        const float fx = x - (float)x0, fy = y - (float)y0;
        const float *m0 = uv + 2 * ((size_t)y0 * (size_t)w + (size_t)x0), *m1 = m0 + 2 * w;
        float ua = m0[0] + fx * (m0[2] - m0[0]), ub = m1[0] + fx * (m1[2] - m1[0]);
        float va = m0[1] + fx * (m0[3] - m0[1]), vb = m1[1] + fx * (m1[3] - m1[1]);
        float nx = xy[2 * i] - (ua + fy * (ub - ua)) * h;
        float ny = xy[2 * i + 1] - (va + fy * (vb - va)) * h;
        xy[2 * i] = nx;
        xy[2 * i + 1] = ny;
        if (out) out[i] = sample_rate(rate, w, ht, nx, ny);
    }
}

static void sample_all(const trajectories *t, const float *rate, float *out)
{
    const size_t n = (size_t)t->width * (size_t)t->height;
    for (size_t i = 0; i < n; i++)
        out[i] = sample_rate(rate, t->width, t->height, t->xy[2 * i], t->xy[2 * i + 1]);
}

static int check_advect_args(sq25_ctx *ctx, const sq25_field *latest, const float *u,
                             const float *v, int step_s, int count, int substeps,
                             const char *who)
{
    if (!latest || !u || !v || step_s <= 0 || count < 1 || substeps < 1)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "%s: bad argument", who);
    if (latest->width < 2 || latest->height < 2)
        return sq25__fail(ctx, SQ25_ERR_SIZE_ABSURD, "%s: grid smaller than 2x2", who);
    if (substeps > 3600)
        return sq25__fail(ctx, SQ25_ERR_RANGE, "%s: more than 3600 sub-steps per step", who);
    return SQ25_OK;
}

int sq25_extrapolate(sq25_ctx *ctx, const sq25_field *latest, const float *u, const float *v,
                     int step_s, int n_leads, int substeps, sq25_field **forecasts)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!forecasts) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_extrapolate: NULL");
    int rc = check_advect_args(ctx, latest, u, v, step_s, n_leads, substeps, "sq25_extrapolate");
    if (rc) return rc;
    for (int k = 0; k < n_leads; k++) forecasts[k] = NULL;
    trajectories t = {0};
    rc = trajectories_init(ctx, &t, latest->width, latest->height, u, v);
    for (int k = 0; rc == SQ25_OK && k < n_leads; k++) {
        rc = sq25_field_clone(latest, &forecasts[k]);
        if (rc) break;
        for (int s = 1; s <= substeps; s++)
            step_back_and_sample(&t, 1.0f / (float)substeps, latest->data,
                                 s == substeps ? forecasts[k]->data : NULL);
        forecasts[k]->valid_time = latest->valid_time + (int64_t)(k + 1) * step_s;
    }
    trajectories_free(ctx, &t);
    if (rc) {
        for (int k = 0; k < n_leads; k++) {
            sq25_field_destroy(forecasts[k]);
            forecasts[k] = NULL;
        }
        return rc;
    }
    return sq25__ok(ctx);
}

int sq25_extrapolate_accumulation(sq25_ctx *ctx, const sq25_field *latest, const float *u,
                                  const float *v, int step_s, int n_steps, int substeps,
                                  float *accum_mm)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!accum_mm)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_extrapolate_accumulation: NULL");
    int rc = check_advect_args(ctx, latest, u, v, step_s, n_steps, substeps,
                               "sq25_extrapolate_accumulation");
    if (rc) return rc;
    const size_t n = (size_t)latest->width * (size_t)latest->height;
    trajectories t = {0};
    float *rate = sq25__malloc(ctx, n * sizeof(float));
    rc = rate ? trajectories_init(ctx, &t, latest->width, latest->height, u, v) : SQ25_ERR_NOMEM;
    if (rc == SQ25_OK) {
        /* Trapezoidal rule in time over every sub-step: rates in mm/h times hours. */
        const int total = n_steps * substeps;
        const double dt_h = (double)step_s / (double)substeps / 3600.0;
        sample_all(&t, latest->data, rate);
        for (size_t i = 0; i < n; i++) accum_mm[i] = (float)(0.5 * dt_h * rate[i]);
        for (int s = 1; s <= total; s++) {
            step_back_and_sample(&t, 1.0f / (float)substeps, latest->data, rate);
            const double weight = s == total ? 0.5 * dt_h : dt_h;
            for (size_t i = 0; i < n; i++) accum_mm[i] += (float)(weight * rate[i]);
        }
    }
    trajectories_free(ctx, &t);
    sq25__free(ctx, rate);
    return rc ? rc : sq25__ok(ctx);
}
