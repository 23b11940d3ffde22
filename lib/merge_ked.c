/* merge_ked.c -- kriging with the radar as external drift (KED), as mergeplg and wradlib offer
 * it: the sensor value is modelled as a + b * radar + a correlated residual, with a and b
 * local to each kriging neighbourhood (universal kriging with the radar as the drift
 * variable). Cells are processed in blocks that share one neighbourhood and one system. */
#include "merge_internal.h"

#include <gsl/gsl_matrix.h>
#include <math.h>
#include <string.h>

#define KED_MAX_NEIGHBOURS 64
#define KED_MAX_DIM (KED_MAX_NEIGHBOURS + 2)

typedef struct {
    int m, dim;  /* neighbours; system size: m + 1 (ordinary) or m + 2 (with drift) */
    int idx[KED_MAX_NEIGHBOURS];
    double alpha[KED_MAX_DIM];            /* M^-1 [z; 0; 0] */
    double minv[KED_MAX_DIM * KED_MAX_DIM]; /* M^-1, row-major */
} ked_system;

/* The drift is usable when the neighbours' radar values differ (else a + b r is not
 * identifiable and the block is ordinary kriging). */
static bool drift_identifiable(const sq25__merge_points *pts, const ked_system *ks)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < ks->m; i++) {
        double r = pts->r[ks->idx[i]];
        lo = fmin(lo, r), hi = fmax(hi, r);
    }
    return hi - lo > 1e-6;
}

/* What fill_matrix needs, for sq25__krige_invert. */
typedef struct {
    const sq25__merge_points *pts;
    const sq25__variogram *v;
    const ked_system *ks;
} ked_fill_args;

static void fill_matrix(const void *args, gsl_matrix *a, double jitter)
{
    const ked_fill_args *f = args;
    const sq25__merge_points *pts = f->pts;
    const sq25__variogram *v = f->v;
    const ked_system *ks = f->ks;
    int m = ks->m;
    for (int i = 0; i < m; i++) {
        int pi = ks->idx[i];
        for (int j = 0; j < m; j++) {
            int pj = ks->idx[j];
            double h = hypot(pts->x[pi] - pts->x[pj], pts->y[pi] - pts->y[pj]);
            gsl_matrix_set(a, (size_t)i, (size_t)j,
                           i == j ? sq25__covariance(v, 0) + jitter : sq25__covariance(v, h));
        }
        gsl_matrix_set(a, (size_t)i, (size_t)m, 1.0);
        gsl_matrix_set(a, (size_t)m, (size_t)i, 1.0);
        if (ks->dim == m + 2) {
            gsl_matrix_set(a, (size_t)i, (size_t)m + 1, pts->r[pi]);
            gsl_matrix_set(a, (size_t)m + 1, (size_t)i, pts->r[pi]);
        }
    }
    for (int i = m; i < ks->dim; i++)
        for (int j = m; j < ks->dim; j++) gsl_matrix_set(a, (size_t)i, (size_t)j, 0.0);
}

static bool ked_build(const sq25__merge_points *pts, const sq25__variogram *v, ked_system *ks)
{
    ks->dim = ks->m + 1 + (drift_identifiable(pts, ks) ? 1 : 0);
    double c0 = sq25__covariance(v, 0), rmax = 0, z[KED_MAX_NEIGHBOURS];
    for (int i = 0; i < ks->m; i++) {
        rmax = fmax(rmax, fabs(pts->r[ks->idx[i]]));
        z[i] = pts->z[ks->idx[i]];
    }
    double scale = fmin(c0, fmax(1.0, rmax)); /* the drift rows scale with the radar values */
    const ked_fill_args args = {pts, v, ks};
    return sq25__krige_invert(&args, fill_matrix, (size_t)ks->dim, ks->m, z, c0, scale,
                              ks->minv, ks->alpha);
}

/* Estimate at (qx, qy) whose drift value (radar on the grid) is rq; variance when wanted. */
static double ked_at(const sq25__merge_points *pts, const sq25__variogram *v,
                     const ked_system *ks, double qx, double qy, double rq, double *variance)
{
    double u[KED_MAX_DIM];
    int m = ks->m;
    for (int i = 0; i < m; i++) {
        int p = ks->idx[i];
        u[i] = sq25__covariance(v, hypot(pts->x[p] - qx, pts->y[p] - qy));
    }
    u[m] = 1.0;
    if (ks->dim == m + 2) u[m + 1] = rq;
    return sq25__krige_estimate(ks->alpha, ks->minv, ks->dim, u, sq25__covariance(v, 0),
                                variance);
}

typedef struct {
    const sq25__merge_points *pts;
    const sq25__variogram *v;
    const sq25__buckets *b;
    const sq25_field *background;
    sq25_field *grid, *variance;
    int k;
    double radius_m;
} ked_job;

static void ked_block(const ked_job *j, ked_system *ks, int c0, int r0, int c1, int r1)
{
    const double *gt = j->grid->gt;
    double cell = fmax(hypot(gt[1], gt[4]), hypot(gt[2], gt[5]));
    double cx = gt[0] + 0.5 * (c0 + c1) * gt[1] + 0.5 * (r0 + r1) * gt[2];
    double cy = gt[3] + 0.5 * (c0 + c1) * gt[4] + 0.5 * (r0 + r1) * gt[5];
    double hd = 0.5 * cell * hypot(c1 - c0, r1 - r0) * 1.0000001;
    double d2[KED_MAX_NEIGHBOURS];
    ks->m = sq25__knn(j->b, cx, cy, j->k, j->radius_m > 0 ? j->radius_m + hd : 0, -1, ks->idx, d2);
    bool ok = ks->m >= 1 && ked_build(j->pts, j->v, ks);
    int w = j->grid->width;
    for (int r = r0; r < r1; r++)
        for (int c = c0; c < c1; c++) {
            size_t k = (size_t)r * (size_t)w + (size_t)c;
            float bg = j->background->data[k];
            double x = gt[0] + (c + 0.5) * gt[1] + (r + 0.5) * gt[2];
            double y = gt[3] + (c + 0.5) * gt[4] + (r + 0.5) * gt[5];
            double var = NAN;
            bool here = ok && !isnan(bg);
            double est = here ? ked_at(j->pts, j->v, ks, x, y, bg, j->variance ? &var : NULL) : NAN;
            j->grid->data[k] = (float)est;
            if (j->variance) j->variance->data[k] = here ? (float)var : NAN;
        }
}

int sq25__merge_ked(sq25_ctx *ctx, const sq25_interp_options *io, const sq25__variogram *v,
                    const sq25__merge_points *pts, const sq25_field *background,
                    sq25_field *grid, sq25_field *variance)
{
    sq25__buckets b;
    int rc = sq25__buckets_build(ctx, pts->n, pts->x, pts->y, &b);
    if (rc) return rc;
    ked_system *ks = sq25__malloc(ctx, sizeof *ks);
    if (!ks) {
        sq25__buckets_free(ctx, &b);
        return SQ25_ERR_NOMEM;
    }
    int k = (int)sq25_interp_options_get(io, SQ25_INTERP_NEIGHBOURS);
    ked_job job = {pts, v, &b, background, grid, variance,
                   k > KED_MAX_NEIGHBOURS ? KED_MAX_NEIGHBOURS : k,
                   sq25_interp_options_get(io, SQ25_INTERP_RADIUS_M)};
    int bs = (int)sq25_interp_options_get(io, SQ25_INTERP_BLOCK_CELLS);
    for (sq25__blocks bl = sq25__blocks_of(grid->width, grid->height, bs); sq25__blocks_next(&bl);)
        ked_block(&job, ks, bl.c0, bl.r0, bl.c1, bl.r1);
    sq25__free(ctx, ks);
    sq25__buckets_free(ctx, &b);
    return SQ25_OK;
}
