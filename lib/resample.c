/* resample.c -- any field onto another grid: target positions are transformed to the source
 * CRS with PROJ (a lattice of control points, interpolated between them), then sampled
 * nearest, bilinear or area-conservative. NaN propagates. */
#include "spatial.h"

#include <math.h>
#include <string.h>

static bool same_grid_georef(const sq25_field *a, const sq25_field *b)
{
    return strcmp(a->projdef, b->projdef) == 0;
}

/* Map dst pixel (col,row) -> projected x,y of dst -> (PROJ) src x,y -> src pixel. */
static void dst_to_src_exact(PJ *op, const sq25_field *dst, const sq25_field *src, double col,
                             double row, double *scol, double *srow)
{
    const double *g = dst->gt, *s = src->gt;
    double x = g[0] + col * g[1] + row * g[2], y = g[3] + col * g[4] + row * g[5];
    if (op) {
        PJ_COORD p = proj_trans(op, PJ_FWD, proj_coord(x, y, 0, 0));
        x = p.xy.x;
        y = p.xy.y;
    }
    if (!isfinite(x) || !isfinite(y) || x == HUGE_VAL) {
        *scol = *srow = NAN;
        return;
    }
    double det = s[1] * s[5] - s[2] * s[4], dx = x - s[0], dy = y - s[3];
    *scol = (s[5] * dx - s[2] * dy) / det;
    *srow = (-s[4] * dx + s[1] * dy) / det;
}

int sq25__pixmap_build(sq25_ctx *ctx, const sq25_field *dst, const sq25_field *src, int step,
                       sq25__pixmap *pm)
{
    memset(pm, 0, sizeof *pm);
    PJ *op = NULL;
    if (!same_grid_georef(dst, src)) {
        op = sq25__proj_between(ctx, dst->projdef, src->projdef);
        if (!op) return sq25_errcode(ctx);
    }
    pm->step = step < 1 ? 1 : step;
    pm->nx = (dst->width + pm->step - 1) / pm->step + 1;
    pm->ny = (dst->height + pm->step - 1) / pm->step + 1;
    size_t n = (size_t)pm->nx * (size_t)pm->ny;
    pm->src_col = sq25__malloc(ctx, n * sizeof(double));
    pm->src_row = sq25__malloc(ctx, n * sizeof(double));
    if (!pm->src_col || !pm->src_row) {
        proj_destroy(op);
        sq25__pixmap_free(ctx, pm);
        return SQ25_ERR_NOMEM;
    }
    for (int j = 0; j < pm->ny; j++)
        for (int i = 0; i < pm->nx; i++) {
            size_t k = (size_t)j * (size_t)pm->nx + (size_t)i;
            dst_to_src_exact(op, dst, src, (double)i * pm->step, (double)j * pm->step,
                             &pm->src_col[k], &pm->src_row[k]);
        }
    proj_destroy(op);
    return SQ25_OK;
}

/* floor() of a finite value in int range, without a libm call (x86-64's baseline has no
 * rounding instruction, and the calls were a tenth of a resampling). */
static inline int floor_int(double v)
{
    int i = (int)v;
    return v < (double)i ? i - 1 : i;
}

/* Bilinear between the control points v[0], v[1] and, a lattice row down, v[nx], v[nx + 1]. */
static inline double lattice_lerp(const double *v, size_t nx, double ax, double ay)
{
    return (1 - ay) * ((1 - ax) * v[0] + ax * v[1]) + ay * ((1 - ax) * v[nx] + ax * v[nx + 1]);
}

static inline void pixmap_at(const sq25__pixmap *pm, double col, double row, double *src_col,
                             double *src_row)
{
    double fx = col / pm->step, fy = row / pm->step;
    int i = floor_int(fx), j = floor_int(fy);
    if (i < 0) i = 0;
    if (j < 0) j = 0;
    if (i > pm->nx - 2) i = pm->nx - 2;
    if (j > pm->ny - 2) j = pm->ny - 2;
    double ax = fx - i, ay = fy - j;
    size_t k = (size_t)j * (size_t)pm->nx + (size_t)i, nx = (size_t)pm->nx;
    *src_col = lattice_lerp(pm->src_col + k, nx, ax, ay);
    *src_row = lattice_lerp(pm->src_row + k, nx, ax, ay);
}

void sq25__pixmap_at(const sq25__pixmap *pm, double col, double row, double *src_col,
                     double *src_row)
{
    pixmap_at(pm, col, row, src_col, src_row);
}

void sq25__pixmap_free(sq25_ctx *ctx, sq25__pixmap *pm)
{
    sq25__free(ctx, pm->src_col);
    sq25__free(ctx, pm->src_row);
    pm->src_col = pm->src_row = NULL;
}

static float sample_nearest(const sq25_field *src, double scol, double srow)
{
    if (!(scol >= 0 && srow >= 0 && scol < src->width && srow < src->height)) return NAN;
    return src->data[(size_t)srow * (size_t)src->width + (size_t)scol];
}

/* The four surrounding cell centres of pixel position (scol, srow) and the weights towards
 * the second ones; false outside the grid. Within half a cell of the outer edge the edge
 * cells are used (clamped). */
typedef struct {
    size_t i00, i01, i10, i11;
    double ax, ay;
} bilinear_at;

static inline bool bilinear_locate(const sq25_field *src, double scol, double srow,
                                   bilinear_at *b)
{
    if (!(scol >= 0 && srow >= 0 && scol <= src->width && srow <= src->height)) return false;
    double fx = scol - 0.5, fy = srow - 0.5;
    int i0 = floor_int(fx), j0 = floor_int(fy);
    b->ax = fx - i0;
    b->ay = fy - j0;
    int i1 = i0 + 1, j1 = j0 + 1;
    if (i0 < 0) i0 = 0;
    if (j0 < 0) j0 = 0;
    if (i1 > src->width - 1) i1 = src->width - 1;
    if (j1 > src->height - 1) j1 = src->height - 1;
    size_t w = (size_t)src->width;
    b->i00 = (size_t)j0 * w + i0, b->i01 = (size_t)j0 * w + i1;
    b->i10 = (size_t)j1 * w + i0, b->i11 = (size_t)j1 * w + i1;
    return true;
}

static inline float bilinear_apply(const float *d, const bilinear_at *b)
{
    const double ax = b->ax, ay = b->ay;
    float v00 = d[b->i00], v01 = d[b->i01], v10 = d[b->i10], v11 = d[b->i11];
    return (float)((1 - ay) * ((1 - ax) * v00 + ax * v01) + ay * ((1 - ax) * v10 + ax * v11));
}

/* Bilinear between the four surrounding cell centres; any NaN among them gives NaN. */
float sq25__sample_bilinear(const sq25_field *src, double scol, double srow)
{
    bilinear_at b = {0};
    return bilinear_locate(src, scol, srow, &b) ? bilinear_apply(src->data, &b) : NAN;
}

/* Samples per side of a target cell for AREA: enough that every overlapping source cell is
 * hit (at least 2 per source cell width), at most 16. One when a source cell is larger than
 * the target cell: the covering cell's value. */
static int area_samples(const sq25_field *dst, const sq25__pixmap *pm)
{
    double c0, r0, c1, r1;
    sq25__pixmap_at(pm, dst->width * 0.5, dst->height * 0.5, &c0, &r0);
    sq25__pixmap_at(pm, dst->width * 0.5 + 1, dst->height * 0.5 + 1, &c1, &r1);
    double extent = fmax(fabs(c1 - c0), fabs(r1 - r0)); /* target cell in source cells */
    if (!isfinite(extent) || extent <= 1.0) return 1;
    int s = (int)ceil(2 * extent);
    return s > 16 ? 16 : s;
}

static float sample_area(const sq25_field *src, const sq25__pixmap *pm, int col, int row, int s)
{
    double sum = 0;
    int valid = 0, nodata = 0;
    for (int b = 0; b < s; b++)
        for (int a = 0; a < s; a++) {
            double sc, sr;
            sq25__pixmap_at(pm, col + (a + 0.5) / s, row + (b + 0.5) / s, &sc, &sr);
            float v = sample_nearest(src, sc, sr);
            if (isnan(v)) nodata++;
            else sum += v, valid++;
        }
    return (valid == 0 || nodata * 2 > s * s) ? NAN : (float)(sum / valid);
}

/* Target rows [begin, end) of a resampling of n_fields sources on one grid onto as many
 * destinations on one grid: each target position is mapped once and every source sampled
 * there. One row per item. */
typedef struct {
    const sq25_field *const *src;
    sq25_field *const *dst;
    int n_fields;
    const sq25__pixmap *pm;
    int method, samples;
} resample_job;

/* The rows [begin, end) of bilinear sampling of every source at the same positions: the
 * pixel map's row terms taken once per row (pixmap_at's arithmetic, term by term), the
 * fields' data pointers once per call. */
#define RESAMPLE_MAX_FIELDS 64
static void bilinear_rows(const resample_job *j, int begin, int end)
{
    const sq25_field *grid = j->dst[0];
    const sq25__pixmap *pm = j->pm;
    const float *src[RESAMPLE_MAX_FIELDS];
    float *dst[RESAMPLE_MAX_FIELDS];
    for (int k = 0; k < j->n_fields; k++) src[k] = j->src[k]->data, dst[k] = j->dst[k]->data;
    const size_t nx = (size_t)pm->nx;
    for (int row = begin; row < end; row++) {
        const double fy = (row + 0.5) / pm->step;
        int jy = floor_int(fy);
        if (jy < 0) jy = 0;
        if (jy > pm->ny - 2) jy = pm->ny - 2;
        const double ay = fy - jy;
        const double *c0 = pm->src_col + (size_t)jy * nx, *r0 = pm->src_row + (size_t)jy * nx;
        float *const *out = dst;
        for (int col = 0; col < grid->width; col++) {
            const size_t i = (size_t)row * (size_t)grid->width + (size_t)col;
            const double fx = (col + 0.5) / pm->step;
            int ix = floor_int(fx);
            if (ix < 0) ix = 0;
            if (ix > pm->nx - 2) ix = pm->nx - 2;
            const double ax = fx - ix;
            const double sc = lattice_lerp(c0 + ix, nx, ax, ay);
            const double sr = lattice_lerp(r0 + ix, nx, ax, ay);
            bilinear_at b = {0};
            if (bilinear_locate(j->src[0], sc, sr, &b)) /* fields share the source grid */
                for (int k = 0; k < j->n_fields; k++) out[k][i] = bilinear_apply(src[k], &b);
            else
                for (int k = 0; k < j->n_fields; k++) out[k][i] = NAN;
        }
    }
}

static void resample_rows(void *arg, int begin, int end, int worker)
{
    (void)worker;
    const resample_job *j = arg;
    const sq25_field *grid = j->dst[0];
    if (j->method == SQ25_RESAMPLE_BILINEAR && j->n_fields <= RESAMPLE_MAX_FIELDS) {
        bilinear_rows(j, begin, end);
        return;
    }
    for (int row = begin; row < end; row++)
        for (int col = 0; col < grid->width; col++) {
            const size_t i = (size_t)row * (size_t)grid->width + (size_t)col;
            if (j->method == SQ25_RESAMPLE_AREA && j->samples > 1) {
                for (int k = 0; k < j->n_fields; k++)
                    j->dst[k]->data[i] = sample_area(j->src[k], j->pm, col, row, j->samples);
                continue;
            }
            double sc, sr;
            pixmap_at(j->pm, col + 0.5, row + 0.5, &sc, &sr);
            if (j->method == SQ25_RESAMPLE_BILINEAR) { /* fields share the source grid */
                bilinear_at b = {0};
                const bool inside = bilinear_locate(j->src[0], sc, sr, &b);
                for (int k = 0; k < j->n_fields; k++)
                    j->dst[k]->data[i] = inside ? bilinear_apply(j->src[k]->data, &b) : NAN;
            } else {
                for (int k = 0; k < j->n_fields; k++)
                    j->dst[k]->data[i] = sample_nearest(j->src[k], sc, sr);
            }
        }
}

int sq25__resample_many(const sq25_field *const *src, sq25_field *const *dst, int n_fields,
                        const sq25__pixmap *pm, int method)
{
    if (n_fields < 1) return SQ25_OK;
    resample_job job = {src, dst, n_fields, pm, method,
                        method == SQ25_RESAMPLE_AREA ? area_samples(dst[0], pm) : 1};
    sq25__parallel_for(dst[0]->ctx, dst[0]->height, 8, resample_rows, &job);
    for (int k = 0; k < n_fields; k++) dst[k]->valid_time = src[k]->valid_time;
    return SQ25_OK;
}

int sq25_resample(const sq25_field *src, sq25_field *dst, int method)
{
    if (!src || !dst) return SQ25_ERR_INVALID_ARG;
    sq25_ctx *ctx = dst->ctx;
    if (method < SQ25_RESAMPLE_NEAREST || method > SQ25_RESAMPLE_AREA)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_resample: unknown method %d", method);
    sq25__pixmap pm;
    int rc = sq25__pixmap_build(ctx, dst, src, SQ25_RESAMPLE_ALIGN_CELLS, &pm);
    if (rc) return rc;
    sq25__resample_many(&src, &dst, 1, &pm, method);
    sq25__pixmap_free(ctx, &pm);
    return sq25__ok(ctx);
}
