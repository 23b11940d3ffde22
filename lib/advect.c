/* advect.c -- backward semi-Lagrangian extrapolation of a rain field along a motion field.
 *
 * Every output cell traces its trajectory back in time. Each parcel keeps the motion it has
 * at its departure point (the motion field is carried along with the rain, not held fixed in
 * space), so the departure point of the cell at p0 after t steps solves p = p0 - t V(p), with
 * V bilinear in the motion field (pixels per step); it is solved by continuation over
 * `substeps` sub-steps per step, one fixed-point iteration each. The rate at lead k is the
 * latest field sampled bilinearly at the departure point for t = k. Bilinear weights are convex, so no rain is created
 * (forecast max <= input max). A departure point outside the grid, or whose interpolation
 * touches a NaN cell with a non-zero weight, gives NaN: rain from outside or from nodata is
 * unknown, not dry. Trajectories are integrated on a coarse grid of nodes and their
 * displacement interpolated to every cell (see DEPARTURE_GRID_STEP). */
#include "internal.h"

#include <math.h>
#include <string.h>

/* Trajectories are integrated on a coarse grid of nodes every DEPARTURE_GRID_STEP cells
 * (node (i, j) starts at cell (i*step, j*step); the last node row/column may lie just past
 * the grid) and the displacement is interpolated bilinearly to every cell. Motion fields are
 * smooth on that scale, and a uniform motion still moves every cell exactly. */
#define DEPARTURE_GRID_STEP 4

typedef struct {
    int width, height;     /* the field's grid */
    int nodes_x, nodes_y;  /* coarse grid of trajectory nodes */
    float *node_xy;        /* current departure point of each node, interleaved (x, y) */
    float *row_dxy;        /* scratch: displacement interpolated to one row, per node column */
    int *col_node;         /* per cell column: left node column */
    float *col_frac;       /* per cell column: fraction towards the right node */
    unsigned char *dry;    /* per DRY_BLOCK block of the latest field: 1 if it and its next
                              row and column hold only exact zeros */
    int dry_blocks_x;
} trajectories;

#define DRY_BLOCK_SHIFT 3 /* blocks of 8 x 8 cells */

static int trajectories_init(sq25_ctx *ctx, trajectories *t, int width, int height)
{
    const int step = DEPARTURE_GRID_STEP;
    memset(t, 0, sizeof *t);
    t->width = width;
    t->height = height;
    t->nodes_x = (width - 1 + step - 1) / step + 1;
    t->nodes_y = (height - 1 + step - 1) / step + 1;
    const size_t nodes = (size_t)t->nodes_x * (size_t)t->nodes_y;
    t->node_xy = sq25__malloc(ctx, 2 * nodes * sizeof(float));
    t->row_dxy = sq25__malloc(ctx, 2 * (size_t)t->nodes_x * sizeof(float));
    t->col_node = sq25__malloc(ctx, (size_t)width * sizeof(int));
    t->col_frac = sq25__malloc(ctx, (size_t)width * sizeof(float));
    if (!t->node_xy || !t->row_dxy || !t->col_node || !t->col_frac) return SQ25_ERR_NOMEM;
    for (int i = 0; i < t->nodes_y; i++)
        for (int j = 0; j < t->nodes_x; j++) {
            t->node_xy[2 * ((size_t)i * t->nodes_x + j)] = (float)(j * step);
            t->node_xy[2 * ((size_t)i * t->nodes_x + j) + 1] = (float)(i * step);
        }
    for (int c = 0; c < width; c++) {
        t->col_node[c] = c / step;
        t->col_frac[c] = (float)(c % step) / (float)step;
    }
    return SQ25_OK;
}

/* Mark the blocks where any bilinear sample is exactly 0 (no rain, no nodata), so that
 * sampling there needs no arithmetic. */
static int mark_dry_blocks(sq25_ctx *ctx, trajectories *t, const float *rate)
{
    const int w = t->width, h = t->height, side = 1 << DRY_BLOCK_SHIFT;
    const int bx = (w + side - 1) / side, by = (h + side - 1) / side;
    t->dry_blocks_x = bx;
    t->dry = sq25__malloc(ctx, (size_t)bx * (size_t)by);
    if (!t->dry) return SQ25_ERR_NOMEM;
    memset(t->dry, 1, (size_t)bx * (size_t)by);
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++) {
            if (rate[(size_t)r * w + c] == 0.0f) continue; /* NaN and rain both count */
            /* the cell serves samples of its own block and of the blocks before it */
            int b_r = r >> DRY_BLOCK_SHIFT, b_c = c >> DRY_BLOCK_SHIFT;
            t->dry[(size_t)b_r * bx + b_c] = 0;
            if ((c & (side - 1)) == 0 && b_c > 0) t->dry[(size_t)b_r * bx + b_c - 1] = 0;
            if ((r & (side - 1)) == 0 && b_r > 0) {
                t->dry[(size_t)(b_r - 1) * bx + b_c] = 0;
                if ((c & (side - 1)) == 0 && b_c > 0) t->dry[(size_t)(b_r - 1) * bx + b_c - 1] = 0;
            }
        }
    return SQ25_OK;
}

static void trajectories_free(sq25_ctx *ctx, trajectories *t)
{
    sq25__free(ctx, t->dry);
    sq25__free(ctx, t->node_xy);
    sq25__free(ctx, t->row_dxy);
    sq25__free(ctx, t->col_node);
    sq25__free(ctx, t->col_frac);
}

static inline float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Motion (pixels per step) at (x, y), bilinear, clamped at the grid edges. */
static inline void motion_at(const float *u, const float *v, int w, int h, float x, float y,
                             float *mu, float *mv)
{
    x = clampf(x, 0, (float)(w - 1));
    y = clampf(y, 0, (float)(h - 1));
    int x0 = (int)x, y0 = (int)y;
    x0 = x0 > w - 2 ? w - 2 : x0;
    y0 = y0 > h - 2 ? h - 2 : y0;
    const float fx = x - (float)x0, fy = y - (float)y0;
    const size_t i = (size_t)y0 * (size_t)w + (size_t)x0;
    float ua = u[i] + fx * (u[i + 1] - u[i]), ub = u[i + w] + fx * (u[i + w + 1] - u[i + w]);
    float va = v[i] + fx * (v[i + 1] - v[i]), vb = v[i + w] + fx * (v[i + w + 1] - v[i + w]);
    *mu = ua + fy * (ub - ua);
    *mv = va + fy * (vb - va);
}

/* Advance every node's departure point from lead time t_prev to t (in steps). Each parcel
 * keeps the motion it has where it starts (the motion field moves with the rain), so the
 * departure point p of a node starting at s solves p = s - t V(p). The previous sub-step's
 * displacement, scaled by t / t_prev, is the first guess and one fixed-point iteration
 * refines it (two from the node itself on the first sub-step). */
static void trajectories_advance(trajectories *t, const float *u, const float *v, float t_prev,
                                 float t_now)
{
    const int w = t->width, h = t->height, step = DEPARTURE_GRID_STEP;
    const int iterations = t_prev > 0 ? 1 : 2;
    for (int ni = 0; ni < t->nodes_y; ni++)
        for (int nj = 0; nj < t->nodes_x; nj++) {
            float *p = t->node_xy + 2 * ((size_t)ni * t->nodes_x + nj);
            const float sx = (float)(nj * step), sy = (float)(ni * step);
            if (t_prev > 0) {
                p[0] = sx + (p[0] - sx) * (t_now / t_prev);
                p[1] = sy + (p[1] - sy) * (t_now / t_prev);
            }
            for (int it = 0; it < iterations; it++) {
                float mu, mv;
                motion_at(u, v, w, h, p[0], p[1], &mu, &mv);
                p[0] = sx - mu * t_now;
                p[1] = sy - mv * t_now;
            }
        }
}

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
static inline float sample_rate(const float *rate, const trajectories *t, float x, float y)
{
    const int w = t->width, h = t->height;
    if (!(x >= 0 && y >= 0 && x <= (float)(w - 1) && y <= (float)(h - 1))) return NAN;
    int x0 = (int)x, y0 = (int)y;
    if (t->dry[(size_t)(y0 >> DRY_BLOCK_SHIFT) * t->dry_blocks_x + (x0 >> DRY_BLOCK_SHIFT)])
        return 0.0f;
    x0 = x0 > w - 2 ? w - 2 : x0;
    y0 = y0 > h - 2 ? h - 2 : y0;
    const float fx = x - (float)x0, fy = y - (float)y0;
    const float *p = rate + (size_t)y0 * (size_t)w + (size_t)x0;
    /* weights form: exact when a weight is 0 or 1 (whole-cell shifts move values exactly) */
    float top = (1 - fx) * p[0] + fx * p[1], bottom = (1 - fx) * p[w] + fx * p[w + 1];
    float value = (1 - fy) * top + fy * bottom;
    return isnan(value) ? sample_rate_careful(p, w, fx, fy) : value;
}

/* Node displacements (current minus start) interpolated to cell row r, per node column. */
static void row_displacements(trajectories *t, int r)
{
    const int step = DEPARTURE_GRID_STEP;
    const int i = r / step;
    const float fy = (float)(r % step) / (float)step;
    const float y_start0 = (float)(i * step), y_start1 = (float)((i + 1) * step);
    const float *n0 = t->node_xy + 2 * (size_t)i * t->nodes_x;
    const float *n1 = i + 1 < t->nodes_y ? n0 + 2 * t->nodes_x : n0;
    for (int j = 0; j < t->nodes_x; j++) {
        const float x_start = (float)(j * step);
        float dx0 = n0[2 * j] - x_start, dy0 = n0[2 * j + 1] - y_start0;
        float dx1 = n1[2 * j] - x_start, dy1 = n1[2 * j + 1] - (n1 == n0 ? y_start0 : y_start1);
        t->row_dxy[2 * j] = dx0 + fy * (dx1 - dx0);
        t->row_dxy[2 * j + 1] = dy0 + fy * (dy1 - dy0);
    }
}

/* The latest field sampled at every cell's current departure point. */
static void sample_all(trajectories *t, const float *rate, float *out)
{
    const int w = t->width, h = t->height;
    (void)h;
    for (int r = 0; r < h; r++) {
        row_displacements(t, r);
        const float *d = t->row_dxy;
        float *o = out + (size_t)r * (size_t)w;
        for (int c = 0; c < w; c++) {
            const int j = t->col_node[c];
            const float f = t->col_frac[c];
            const float *a = d + 2 * j, *b = j + 1 < t->nodes_x ? a + 2 : a;
            float dx = a[0] + f * (b[0] - a[0]), dy = a[1] + f * (b[1] - a[1]);
            o[c] = sample_rate(rate, t, (float)c + dx, (float)r + dy);
        }
    }
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
    rc = trajectories_init(ctx, &t, latest->width, latest->height);
    if (rc == SQ25_OK) rc = mark_dry_blocks(ctx, &t, latest->data);
    for (int k = 0; rc == SQ25_OK && k < n_leads; k++) {
        rc = sq25__field_clone_shape(latest, &forecasts[k]);
        if (rc) break;
        for (int s = 0; s < substeps; s++)
            trajectories_advance(&t, u, v, (float)k + (float)s / (float)substeps,
                                 (float)k + (float)(s + 1) / (float)substeps);
        sample_all(&t, latest->data, forecasts[k]->data);
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
    rc = rate ? trajectories_init(ctx, &t, latest->width, latest->height) : SQ25_ERR_NOMEM;
    if (rc == SQ25_OK) rc = mark_dry_blocks(ctx, &t, latest->data);
    if (rc == SQ25_OK) {
        /* Trapezoidal rule in time over every sub-step: rates in mm/h times hours. */
        const int total = n_steps * substeps;
        const double dt_h = (double)step_s / (double)substeps / 3600.0;
        sample_all(&t, latest->data, rate);
        for (size_t i = 0; i < n; i++) accum_mm[i] = (float)(0.5 * dt_h * rate[i]);
        for (int s = 1; s <= total; s++) {
            trajectories_advance(&t, u, v, (float)(s - 1) / (float)substeps,
                                 (float)s / (float)substeps);
            sample_all(&t, latest->data, rate);
            const double weight = s == total ? 0.5 * dt_h : dt_h;
            for (size_t i = 0; i < n; i++) accum_mm[i] += (float)(weight * rate[i]);
        }
    }
    trajectories_free(ctx, &t);
    sq25__free(ctx, rate);
    return rc ? rc : sq25__ok(ctx);
}
