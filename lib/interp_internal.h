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

/* The variogram for the interpolation parameters p (indexed by SQ25_INTERP_*): the caller
 * fits into *v (its model set) only when !sq25__variogram_given(p), and passes the fit's
 * return code (SQ25_OK when it did not fit). SQ25_ERR_NO_DATA or SQ25_ERR_TOO_FEW from the fit
 * give a flat fallback (nugget 0, sill 1e-6, range 2000 m); then each of nugget, sill and
 * range_m given in p replaces the value. @return SQ25_OK or the fit's other error. */
bool sq25__variogram_given(const double *p); /* nugget, sill and range all given */
int sq25__variogram_settle(sq25_ctx *ctx, const double *p, int fit_rc, sq25__variogram *v);

/* Sensors with a support: sensor i is the count[i] points px/py[first[i] ..] (metres; a point
 * sensor has one), e.g. a link path cut into pieces as the block kriging does. */
typedef struct {
    size_t n;
    const double *px, *py;
    const int *first, *count;
} sq25__supports;
/* Fit of the point variogram whose regularised form (block support) matches the empirical
 * semivariances of the sensors' values, pooled over n_sets sets of n values (z[set * n + i];
 * NaN missing; distance classes by the supports' centres). Point supports give the result of
 * sq25__variogram_fit_dense exactly. @return SQ25_OK; SQ25_ERR_TOO_FEW (under 4 sensors);
 * SQ25_ERR_NO_DATA (no spatial variance); SQ25_ERR_INVALID_ARG; SQ25_ERR_NOMEM. */
int sq25__variogram_fit_lines(sq25_ctx *ctx, int model, const sq25__supports *s, int n_sets,
                              const double *z, sq25__variogram *out);

/* Line sensors (interp_lines.c), given as end points lonlat[4i..4i+3] and cut into pieces of
 * at most spacing_m as sq25_interp_lines_grid does. */
/* The mean of field f along each path (bilinear at the pieces' midpoints, the paths cut in
 * the links' UTM zone); NaN where any piece is NaN or the sensor has no position. */
int sq25__lines_field_mean(sq25_ctx *ctx, const sq25_field *f, size_t n, const double *lonlat,
                           double spacing_m, double *out);
/* Block kriging with variogram v onto grid (ordinary; with sensor_drift, per-sensor drift
 * values, and grid_drift, the drift on the grid's cells: KED). Cells without a system get
 * NaN. Options as sq25_interp_lines_grid (neighbours, radius, block cells). */
int sq25__lines_krige(sq25_ctx *ctx, const sq25_interp_options *o, const sq25__variogram *v,
                      size_t n, const double *lonlat, const double *value,
                      const double *sensor_drift, const float *grid_drift, double spacing_m,
                      sq25_field *grid);
/* near[cell] = 1 where a point of some path lies within radius_m of the cell's centre (all 1
 * for radius 0). */
int sq25__lines_near(sq25_ctx *ctx, size_t n, const double *lonlat, double spacing_m,
                     double radius_m, const sq25_field *grid, uint8_t *near);
/* sq25__variogram_fit_lines for sensors given by end points, cut in projdef's metres. */
int sq25__lines_fit_variogram(sq25_ctx *ctx, int model, const char *projdef, size_t n,
                              const double *lonlat, const double *value, double spacing_m,
                              sq25__variogram *out);

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

/* The kriging estimate alpha . u at a point whose right-hand side (covariances to the system's
 * points, then its drift terms) is u, dim values; with variance, also the kriging variance
 * c0 - u' M^-1 u, at least 0 (c0: the covariance at 0). */
double sq25__krige_estimate(const double *alpha, const double *minv, int dim, const double *u,
                            double c0, double *variance);

/* The blocks of bs x bs cells of a width x height grid, block row by block row, those at the
 * right and bottom edges cut to the grid. Walk them with
 * for (sq25__blocks b = sq25__blocks_of(w, h, bs); sq25__blocks_next(&b);) use(b.c0, ...). */
typedef struct {
    int width, height, bs; /* the grid's cells; the block side, cells */
    int c0, r0, c1, r1;    /* the current block: cells [c0, c1) x [r0, r1) */
    bool started;
} sq25__blocks;
sq25__blocks sq25__blocks_of(int width, int height, int bs);
/* Move to the next block; false when there is none left. */
bool sq25__blocks_next(sq25__blocks *b);

/* For leave-one-out over m targets that are the caller's sensors: index[j] = i where the
 * kept sensor i is the caller's sensor j (orig[i] == j), -1 for the others; all -1 when !loo.
 * New array of m + 1 (sq25__free), NULL on out-of-memory. */
long *sq25__loo_index(sq25_ctx *ctx, size_t m, bool loo, size_t n_kept, const long *orig);

/* The parameters of o (SQ25_INTERP_* order; the defaults for NULL). Borrowed. */
const double *sq25__interp_params(const sq25_interp_options *o);

/* Radar (mm/h) at n lon/lat points (pointer + byte stride), bilinear, through PROJ; NaN
 * outside the radar grid or on nodata. out: n doubles. */
int sq25__radar_at_points(sq25_ctx *ctx, const sq25_field *radar, size_t n, const double *lon,
                          size_t lon_stride, const double *lat, size_t lat_stride, double *out);

#endif
