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
    float *row_dxy;        /* scratch per thread: displacement interpolated to one row, per
                              node column (threads x 2 nodes_x) */
    int scratch_threads;   /* threads row_dxy has room for */
    unsigned char *dry;    /* per DRY_BLOCK block of the latest field, over it and its next
                              row and column: BLOCK_DRY if they hold only exact zeros,
                              BLOCK_NODATA if only NaN, else BLOCK_MIXED */
    int dry_blocks_x, dry_blocks_y;
} trajectories;

#define DRY_BLOCK_SHIFT 3 /* blocks of 8 x 8 cells */
enum { BLOCK_MIXED = 0, BLOCK_DRY = 1, BLOCK_NODATA = 2 };

/* Room in row_dxy for the context's current thread count. */
static int trajectories_scratch(sq25_ctx *ctx, trajectories *t)
{
    const int threads = sq25__threads(ctx);
    if (t->row_dxy && t->scratch_threads >= threads) return SQ25_OK;
    sq25__free(ctx, t->row_dxy);
    t->row_dxy = sq25__malloc(ctx, (size_t)threads * 2 * (size_t)t->nodes_x * sizeof(float));
    t->scratch_threads = t->row_dxy ? threads : 0;
    return t->row_dxy ? SQ25_OK : SQ25_ERR_NOMEM;
}

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
    if (!t->node_xy || trajectories_scratch(ctx, t)) return SQ25_ERR_NOMEM;
    for (int i = 0; i < t->nodes_y; i++)
        for (int j = 0; j < t->nodes_x; j++) {
            t->node_xy[2 * ((size_t)i * t->nodes_x + j)] = (float)(j * step);
            t->node_xy[2 * ((size_t)i * t->nodes_x + j) + 1] = (float)(i * step);
        }
    return SQ25_OK;
}

/* A block is dry when every cell a sample in it can touch (its own cells and the next row
 * and column) is exactly 0: no rain and no nodata; it is nodata when all of them are NaN.
 * A sample whose departure point lies in such a block is 0 (or NaN) without arithmetic: its
 * stencil cells with a non-zero weight all lie in that region. One block row per item. */
typedef struct {
    trajectories *t;
    const float *rate;
} dry_job;

static void mark_dry_rows(void *arg, int begin, int end, int worker)
{
    (void)worker;
    const dry_job *job = arg;
    const trajectories *t = job->t;
    const int w = t->width, h = t->height, side = 1 << DRY_BLOCK_SHIFT;
    for (int br = begin; br < end; br++)
        for (int bc = 0; bc < t->dry_blocks_x; bc++) {
            const int r1 = br * side + side < h ? br * side + side : h - 1;
            const int c1 = bc * side + side < w ? bc * side + side : w - 1;
            bool zeros = true, nans = true;
            for (int r = br * side; r <= r1 && (zeros || nans); r++) {
                const float *row = job->rate + (size_t)r * (size_t)w;
                for (int c = bc * side; c <= c1; c++) {
                    zeros = zeros && row[c] == 0.0f;
                    nans = nans && isnan(row[c]);
                }
            }
            t->dry[(size_t)br * t->dry_blocks_x + bc] =
                zeros ? BLOCK_DRY : nans ? BLOCK_NODATA : BLOCK_MIXED;
        }
}

static int mark_dry_blocks(sq25_ctx *ctx, trajectories *t, const float *rate)
{
    const int side = 1 << DRY_BLOCK_SHIFT;
    t->dry_blocks_x = (t->width + side - 1) / side;
    t->dry_blocks_y = (t->height + side - 1) / side;
    t->dry = sq25__malloc(ctx, (size_t)t->dry_blocks_x * (size_t)t->dry_blocks_y);
    if (!t->dry) return SQ25_ERR_NOMEM;
    dry_job job = {t, rate};
    sq25__parallel_for(ctx, t->dry_blocks_y, 4, mark_dry_rows, &job);
    return SQ25_OK;
}

static void trajectories_free(sq25_ctx *ctx, trajectories *t)
{
    sq25__free(ctx, t->dry);
    sq25__free(ctx, t->node_xy);
    sq25__free(ctx, t->row_dxy);
    memset(t, 0, sizeof *t);
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
 * refines it (two from the node itself on the first sub-step). One node row per item. */
typedef struct {
    trajectories *t;
    const float *u, *v;
    float t_prev, t_now;
} advance_job;

static void advance_rows(void *arg, int begin, int end, int worker)
{
    (void)worker;
    const advance_job *job = arg;
    trajectories *t = job->t;
    const int w = t->width, h = t->height, step = DEPARTURE_GRID_STEP;
    const float t_prev = job->t_prev, t_now = job->t_now;
    const int iterations = t_prev > 0 ? 1 : 2;
    for (int ni = begin; ni < end; ni++)
        for (int nj = 0; nj < t->nodes_x; nj++) {
            float *p = t->node_xy + 2 * ((size_t)ni * t->nodes_x + nj);
            const float sx = (float)(nj * step), sy = (float)(ni * step);
            if (t_prev > 0) {
                p[0] = sx + (p[0] - sx) * (t_now / t_prev);
                p[1] = sy + (p[1] - sy) * (t_now / t_prev);
            }
            for (int it = 0; it < iterations; it++) {
                float mu, mv;
                motion_at(job->u, job->v, w, h, p[0], p[1], &mu, &mv);
                p[0] = sx - mu * t_now;
                p[1] = sy - mv * t_now;
            }
        }
}

static void trajectories_advance(sq25_ctx *ctx, trajectories *t, const float *u,
                                 const float *v, float t_prev, float t_now)
{
    advance_job job = {t, u, v, t_prev, t_now};
    sq25__parallel_for(ctx, t->nodes_y, 4, advance_rows, &job);
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

/* Bilinear sample of the latest field at (x, y), inside the grid (outside, and in dry or
 * nodata blocks, sample_row needs no sample). The plain formula propagates NaN by itself;
 * only then is the careful path needed, to forgive a NaN neighbour with zero weight (exact
 * shifts). The weights form is exact when a weight is 0 or 1 (whole-cell shifts move values
 * exactly). */
static inline float sample_stencil(const float *rate, const trajectories *t, float x, float y)
{
    const int w = t->width, h = t->height;
    int x0 = (int)x, y0 = (int)y;
    x0 = x0 > w - 2 ? w - 2 : x0;
    y0 = y0 > h - 2 ? h - 2 : y0;
    const float fx = x - (float)x0, fy = y - (float)y0;
    const float *p = rate + (size_t)y0 * (size_t)w + (size_t)x0;
    float top = (1 - fx) * p[0] + fx * p[1], bottom = (1 - fx) * p[w] + fx * p[w + 1];
    float value = (1 - fy) * top + fy * bottom;
    return isnan(value) ? sample_rate_careful(p, w, fx, fy) : value;
}

/* Node displacements (current minus start) interpolated to cell row r, per node column,
 * into dxy (2 nodes_x floats). */
static void row_displacements(const trajectories *t, int r, float *dxy)
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
        dxy[2 * j] = dx0 + fy * (dx1 - dx0);
        dxy[2 * j + 1] = dy0 + fy * (dy1 - dy0);
    }
}

/* Four lanes of float32 (GCC vector extensions; SSE2 on x86-64, NEON on arm64). */
typedef float v4sf __attribute__((vector_size(16)));
typedef int v4si __attribute__((vector_size(16)));

#if DEPARTURE_GRID_STEP != 4
#error "sample_row computes the 4 cells of a node segment as one vector"
#endif

/* One row of cells. The displacement between node columns j and j + 1 is interpolated to the
 * four cells of the segment (fractions 0, 1/4, 2/4, 3/4) as one vector, with the same
 * operations in the same order as one cell at a time, so the departure points are the same
 * to the bit; cells whose departure point and its 2 x 2 stencil lie in a dry block are 0
 * without a sample, the others are sampled one by one. */
static void sample_row(const trajectories *t, const float *rate, const float *dxy, int r,
                       float *o)
{
    const int w = t->width, h = t->height, step = DEPARTURE_GRID_STEP;
    const v4sf frac = {0.0f, 0.25f, 0.5f, 0.75f}, lane = {0.0f, 1.0f, 2.0f, 3.0f};
    const v4sf zero = {0, 0, 0, 0}, x_max = zero + (float)(w - 1), y_max = zero + (float)(h - 1);
    const float y_row = (float)r;
    for (int j = 0, c0 = 0; c0 < w; j++, c0 += step) {
        const float *a = dxy + 2 * j, *b = j + 1 < t->nodes_x ? a + 2 : a;
        const v4sf dx = a[0] + frac * (b[0] - a[0]), dy = a[1] + frac * (b[1] - a[1]);
        const v4sf x = ((float)c0 + lane) + dx, y = y_row + dy;
        const int cells = w - c0 < step ? w - c0 : step;
        /* inside the grid (NaN compares false), and the dry block of each departure point */
        const v4si inside = (x >= zero) & (y >= zero) & (x <= x_max) & (y <= y_max);
        const v4si x0 = __builtin_convertvector(x, v4si), y0 = __builtin_convertvector(y, v4si);
        for (int k = 0; k < cells; k++) {
            int block = BLOCK_NODATA; /* outside the grid: no data */
            if (inside[k])
                block = t->dry[(size_t)(y0[k] >> DRY_BLOCK_SHIFT) * t->dry_blocks_x +
                               (size_t)(x0[k] >> DRY_BLOCK_SHIFT)];
            o[c0 + k] = block == BLOCK_DRY      ? 0.0f
                        : block == BLOCK_NODATA ? NAN
                                                : sample_stencil(rate, t, x[k], y[k]);
        }
    }
}

/* The latest field sampled at every cell's current departure point; one row per item. */
typedef struct {
    const trajectories *t;
    const float *rate;
    float *out;
} sample_job;

static void sample_rows(void *arg, int begin, int end, int worker)
{
    const sample_job *job = arg;
    const trajectories *t = job->t;
    float *dxy = t->row_dxy + (size_t)worker * 2 * (size_t)t->nodes_x;
    for (int r = begin; r < end; r++) {
        row_displacements(t, r, dxy);
        sample_row(t, job->rate, dxy, r, job->out + (size_t)r * (size_t)t->width);
    }
}

static int sample_all(sq25_ctx *ctx, trajectories *t, const float *rate, float *out)
{
    int rc = trajectories_scratch(ctx, t);
    if (rc) return rc;
    sample_job job = {t, rate, out};
    sq25__parallel_for(ctx, t->height, 8, sample_rows, &job);
    return SQ25_OK;
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

struct sq25_extrapolator {
    sq25_ctx *ctx;
    const sq25_field *latest;
    const float *u, *v;
    int substeps, leads;
    trajectories t;
};

int sq25_extrapolator_create(sq25_ctx *ctx, const sq25_field *latest, const float *u,
                             const float *v, int substeps, sq25_extrapolator **out)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!out) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_extrapolator_create: NULL");
    *out = NULL;
    int rc = check_advect_args(ctx, latest, u, v, 1, 1, substeps, "sq25_extrapolator_create");
    if (rc) return rc;
    sq25_extrapolator *ex = sq25__calloc(ctx, 1, sizeof *ex);
    if (!ex) return SQ25_ERR_NOMEM;
    *ex = (sq25_extrapolator){ctx, latest, u, v, substeps, 0, {0}};
    rc = trajectories_init(ctx, &ex->t, latest->width, latest->height);
    if (rc == SQ25_OK) rc = mark_dry_blocks(ctx, &ex->t, latest->data);
    if (rc) {
        sq25_extrapolator_destroy(ex);
        return rc;
    }
    *out = ex;
    return sq25__ok(ctx);
}

int sq25_extrapolator_next(sq25_extrapolator *ex, float *out)
{
    if (!ex) return SQ25_ERR_INVALID_ARG;
    if (!out) return sq25__fail(ex->ctx, SQ25_ERR_INVALID_ARG, "sq25_extrapolator_next: NULL");
    const int k = ex->leads, subs = ex->substeps;
    for (int s = 0; s < subs; s++)
        trajectories_advance(ex->ctx, &ex->t, ex->u, ex->v, (float)k + (float)s / (float)subs,
                             (float)k + (float)(s + 1) / (float)subs);
    int rc = sample_all(ex->ctx, &ex->t, ex->latest->data, out);
    if (rc) return rc; /* the trajectories moved on: this extrapolator cannot go back */
    ex->leads = k + 1;
    return sq25__ok(ex->ctx);
}

int sq25_extrapolator_lead(const sq25_extrapolator *ex) { return ex ? ex->leads : 0; }

void sq25_extrapolator_destroy(sq25_extrapolator *ex)
{
    if (!ex) return;
    trajectories_free(ex->ctx, &ex->t);
    sq25__free(ex->ctx, ex);
}

int sq25_extrapolate(sq25_ctx *ctx, const sq25_field *latest, const float *u, const float *v,
                     int step_s, int n_leads, int substeps, sq25_field **forecasts)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!forecasts) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_extrapolate: NULL");
    int rc = check_advect_args(ctx, latest, u, v, step_s, n_leads, substeps, "sq25_extrapolate");
    if (rc) return rc;
    for (int k = 0; k < n_leads; k++) forecasts[k] = NULL;
    sq25_extrapolator *ex = NULL;
    rc = sq25_extrapolator_create(ctx, latest, u, v, substeps, &ex);
    for (int k = 0; rc == SQ25_OK && k < n_leads; k++) {
        rc = sq25__field_clone_shape(latest, &forecasts[k]);
        if (rc == SQ25_OK) rc = sq25_extrapolator_next(ex, forecasts[k]->data);
        if (rc == SQ25_OK)
            forecasts[k]->valid_time = latest->valid_time + (int64_t)(k + 1) * step_s;
    }
    sq25_extrapolator_destroy(ex);
    if (rc) {
        for (int k = 0; k < n_leads; k++) {
            sq25_field_destroy(forecasts[k]);
            forecasts[k] = NULL;
        }
        return rc;
    }
    return sq25__ok(ctx);
}

/* accum += weight * rate, elementwise; one row per item. */
typedef struct {
    float *accum;
    const float *rate;
    double weight;
    int width;
    bool first;
} accumulate_job;

static void accumulate_rows(void *arg, int begin, int end, int worker)
{
    (void)worker;
    const accumulate_job *job = arg;
    const size_t i0 = (size_t)begin * (size_t)job->width, i1 = (size_t)end * (size_t)job->width;
    for (size_t i = i0; i < i1; i++) {
        if (job->first) job->accum[i] = (float)(job->weight * job->rate[i]);
        else job->accum[i] += (float)(job->weight * job->rate[i]);
    }
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
    /* Trapezoidal rule in time over every sub-step: rates in mm/h times hours. */
    const int total = n_steps * substeps;
    const double dt_h = (double)step_s / (double)substeps / 3600.0;
    for (int s = 0; rc == SQ25_OK && s <= total; s++) {
        if (s > 0)
            trajectories_advance(ctx, &t, u, v, (float)(s - 1) / (float)substeps,
                                 (float)s / (float)substeps);
        rc = sample_all(ctx, &t, latest->data, rate);
        const double weight = s == 0 || s == total ? 0.5 * dt_h : dt_h;
        accumulate_job job = {accum_mm, rate, weight, latest->width, s == 0};
        if (rc == SQ25_OK) sq25__parallel_for(ctx, latest->height, 8, accumulate_rows, &job);
    }
    trajectories_free(ctx, &t);
    sq25__free(ctx, rate);
    return rc ? rc : sq25__ok(ctx);
}

/* ---- the amount lead by lead (the ensemble's control member) --------------------------------
 *
 * One pass over the leads instead of one sq25_extrapolate_accumulation per window: the
 * trapezoidal sum through sub-step s - 1 does not depend on where the window ends (every
 * sub-step but the first and the last has the full weight), so it is kept as `interior_mm`
 * and a window ending at this step adds its last sample with half the weight. The samples,
 * the trajectories and the float additions are those of sq25_extrapolate_accumulation, in
 * the same order, so each amount is the same to the bit. */
struct sq25__accumulator {
    sq25_ctx *ctx;
    const sq25_field *latest;
    const float *u, *v;
    int substeps, steps; /* sub-steps per step; steps done */
    double dt_h;         /* hours per sub-step */
    trajectories t;
    float *rate;        /* mm/h at the latest sub-step */
    float *interior_mm; /* the trapezoidal sum through the latest sub-step, its sample at full
                           weight (the first one at half) */
};

/* amount = interior + half-weight sample (may be NULL); interior += full-weight sample; one
 * row per item. */
typedef struct {
    float *interior, *amount;
    const float *rate;
    double dt_h;
    int width;
} accumulate_step_job;

static void accumulate_step_rows(void *arg, int begin, int end, int worker)
{
    (void)worker;
    const accumulate_step_job *job = arg;
    const size_t i0 = (size_t)begin * (size_t)job->width, i1 = (size_t)end * (size_t)job->width;
    for (size_t i = i0; job->amount && i < i1; i++)
        job->amount[i] = job->interior[i] + (float)(0.5 * job->dt_h * job->rate[i]);
    for (size_t i = i0; i < i1; i++) job->interior[i] += (float)(job->dt_h * job->rate[i]);
}

void sq25__accumulator_destroy(sq25__accumulator *a)
{
    if (!a) return;
    trajectories_free(a->ctx, &a->t);
    sq25__free(a->ctx, a->rate);
    sq25__free(a->ctx, a->interior_mm);
    sq25__free(a->ctx, a);
}

int sq25__accumulator_create(sq25_ctx *ctx, const sq25_field *latest, const float *u,
                             const float *v, int step_s, int substeps, sq25__accumulator **out)
{
    *out = NULL;
    int rc = check_advect_args(ctx, latest, u, v, step_s, 1, substeps, "sq25__accumulator_create");
    if (rc) return rc;
    sq25__accumulator *a = sq25__calloc(ctx, 1, sizeof *a);
    if (!a) return SQ25_ERR_NOMEM;
    const size_t n = (size_t)latest->width * (size_t)latest->height;
    *a = (sq25__accumulator){ctx, latest, u, v, substeps, 0,
                             (double)step_s / (double)substeps / 3600.0, {0},
                             sq25__malloc(ctx, n * sizeof(float)), sq25__malloc(ctx, n * sizeof(float))};
    rc = a->rate && a->interior_mm ? trajectories_init(ctx, &a->t, latest->width, latest->height)
                                   : SQ25_ERR_NOMEM;
    if (rc == SQ25_OK) rc = mark_dry_blocks(ctx, &a->t, latest->data);
    if (rc == SQ25_OK) rc = sample_all(ctx, &a->t, latest->data, a->rate);
    if (rc == SQ25_OK) { /* the first sample, at half weight */
        accumulate_job job = {a->interior_mm, a->rate, 0.5 * a->dt_h, latest->width, true};
        sq25__parallel_for(ctx, latest->height, 8, accumulate_rows, &job);
    }
    if (rc) {
        sq25__accumulator_destroy(a);
        return rc;
    }
    *out = a;
    return SQ25_OK;
}

int sq25__accumulator_next(sq25__accumulator *a, float *rate, float *amount_mm)
{
    const int subs = a->substeps, s0 = a->steps * subs;
    const size_t n = (size_t)a->latest->width * (size_t)a->latest->height;
    for (int s = s0 + 1; s <= s0 + subs; s++) {
        trajectories_advance(a->ctx, &a->t, a->u, a->v, (float)(s - 1) / (float)subs,
                             (float)s / (float)subs);
        int rc = sample_all(a->ctx, &a->t, a->latest->data, a->rate);
        if (rc) return rc; /* the trajectories moved on: this accumulator cannot go back */
        accumulate_step_job job = {a->interior_mm, s == s0 + subs ? amount_mm : NULL, a->rate,
                                   a->dt_h, a->latest->width};
        sq25__parallel_for(a->ctx, a->latest->height, 8, accumulate_step_rows, &job);
    }
    if (rate) memcpy(rate, a->rate, n * sizeof(float));
    a->steps++;
    return SQ25_OK;
}
