/* interp_internal.h -- shared pieces of the interpolation modules: variogram models and the
 * bucket index for nearest-neighbour queries. Not API. */
#ifndef SQ25_INTERP_INTERNAL_H
#define SQ25_INTERP_INTERNAL_H

#include "internal.h"

#include <gsl/gsl_matrix.h>

/* A fitted or given variogram: gamma(h) = nugget + sill * shape(h / range). */
typedef struct {
    int model; /* SQ25_VARIOGRAM_* */
    double nugget, sill, range_m;
} sq25__variogram;

/* Covariance at distance h (metres): nugget + sill at h = 0, sill * (1 - shape) beyond. */
double sq25__covariance(const sq25__variogram *v, double h_m);
/* Mean covariance between the points of two sets (na and nb points, metres): the block
 * covariance of discretised supports such as a link path; for one point each it is
 * sq25__covariance of their distance. */
double sq25__block_covariance(const sq25__variogram *v, const double *ax, const double *ay,
                              int na, const double *bx, const double *by, int nb);
/* Fit to dense arrays (no NaN). Same results as sq25_variogram_fit. */
int sq25__variogram_fit_dense(sq25_ctx *ctx, int model, size_t n, const double *x,
                              const double *y, const double *z, sq25__variogram *out);

/* Points bucketed on a regular grid for k-nearest and radius queries. */
typedef struct {
    size_t n;
    const double *x, *y;   /* borrowed */
    double x0, y0, cell;   /* bucket grid origin and size, metres */
    int nx, ny;
    int *start;            /* nx*ny + 1 offsets into order */
    int *order;            /* point indices sorted by bucket */
} sq25__buckets;

int sq25__buckets_build(sq25_ctx *ctx, size_t n, const double *x, const double *y,
                        sq25__buckets *b);
void sq25__buckets_free(sq25_ctx *ctx, sq25__buckets *b);
/* The up-to-k nearest points to (qx,qy) within radius_m (0 = unlimited), skipping point
 * `exclude` (-1 = none); indices and squared distances sorted nearest first. Returns count. */
int sq25__knn(const sq25__buckets *b, double qx, double qy, int k, double radius_m, long exclude,
              int *idx, double *d2);
/* All points within radius_m of (qx,qy), unsorted, at most cap. Returns the count. */
int sq25__within(const sq25__buckets *b, double qx, double qy, double radius_m, int *idx,
                 int cap);

/* A bordered kriging system: fill writes its dim x dim matrix into a with `jitter` added to
 * the covariance diagonal. */
typedef void (*sq25__krige_fill)(const void *system, gsl_matrix *a, double jitter);
/* Factorise (LU, GSL) the system that fill writes and keep its inverse in minv (dim*dim,
 * row-major) and alpha = M^-1 [z; 0 ...] (dim values) for the m values z of its points. Tried
 * without jitter, then with c0 * 1e-12 and c0 * 1e-6 on the diagonal (c0: the covariance at
 * 0); a pivot under 1e-12 * pivot_scale counts as singular (checked before GSL's inversion,
 * whose default error handler aborts). False when singular every time or alpha not finite. */
bool sq25__krige_invert(const void *system, sq25__krige_fill fill, size_t dim, int m,
                        const double *z, double c0, double pivot_scale, double *minv,
                        double *alpha);

/* Radar (mm/h) at n lon/lat points (pointer + byte stride), bilinear, through PROJ; NaN
 * outside the radar grid or on nodata. out: n doubles. */
int sq25__radar_at_points(sq25_ctx *ctx, const sq25_field *radar, size_t n, const double *lon,
                          size_t lon_stride, const double *lat, size_t lat_stride, double *out);

#endif
