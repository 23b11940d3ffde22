/* test_links_pipeline.c -- microwave links as line sensors in the merge and the pipeline, and
 * the variogram fitted with the line support regularised. Where every expected number comes
 * from:
 * 1. Regularised fit, point supports: the point fit (sq25__variogram_fit_dense, separate
 *    code) on the same values; the two must agree bit for bit (the regularisation
 *    correction is exactly 0 for points).
 * 2. Regularised fit, 60 links: values are the means over each path's discretisation points
 *    of a Gaussian field with a known point variogram (exponential, nugget 0, sill 1, range
 *    1500 m; drawn by a Cholesky factor of the point covariance, 300 realisations pooled).
 *    The fit must give back the point range and partial sill within 15 % (and a nugget of
 *    which a path mean sees under 0.05): with R = 300 pooled sets
 *    a class semivariance has a relative standard error of at most sqrt(2/R) = 8 % (less,
 *    with many pairs per class), so 15 % is about two standard errors of one class and more
 *    for the fit over 15 classes; seeds 1..20 all pass (checked while writing the test). The
 *    same values fitted at the path midpoints (the 1.1 fit) must miss the sill by more than
 *    15 %: the test tells the two fits apart.
 * 3. KED with links: link values exactly 3 + 2 x (radar averaged along the path) over a radar
 *    linear in x (so the path mean is the radar at the midpoint): kriging with external drift
 *    reproduces 3 + 2 r at every cell that has a path point within the radius (the drift is
 *    exact, residuals 0), and the radar bit for bit beyond.
 * 4. Pipeline: one link seeing 12 mm/h (3 mm per 15 min in the interval ending at the issue
 *    time; 7.5 mm in the others, which must not show) over a dry part of the radar: with
 *    one sensor, ordinary block kriging of the residual gives the residual itself, so the
 *    merged analysis is radar + 12 along the path; beyond the radius, and in every lead
 *    where no link is near, it is the radar-only run bit for bit; the first lead has the 12
 *    mm/h moved by the radar motion (+2, +1) px per step, an integer shift.
 * 5. A link far from the grid: every lead and the warning equal the radar-only run bit for
 *    bit (memcmp).
 * 6. The ensemble starts from the same merged analysis: a link seeing 30 mm/h (2.5 mm in
 *    every 5-minute step) over the dry radar of 4. Each of the three start frames is then
 *    radar + 30 mm/h along the path (one sensor: the block-kriged residual is the residual),
 *    which the members carry: at +5 min the path, moved (+2, +1) px, holds rain in every
 *    member where the radar-only members hold none (the radar there is below 1e-12 mm/h:
 *    40 exp(-(24^2 + 30^2)/32) at the latest frame, the cell moving away); and 30 mm/h for
 *    over two steps passes over a path cell within the hour (the band is 7 px across and
 *    moves 1 px a step across it), about 5 mm or more: P(>= 1 mm in the hour) rises from at
 *    most one member of eight to most of them.
 * 7. The same link far from the grid: the ensemble (probabilities, mean) and the warning are
 *    the radar-only ones bit for bit (same seed, same start frames).
 * 8. A link series of 7-minute steps against 5-minute radar: neither divides the other, so no
 *    comparison interval exists: the run fails with SQ25_ERR_ALIGNMENT naming both. */
#include "support.h"

#include "interp_internal.h"
#include "links_merge.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_linalg.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>

/* ---- 1, 2: the regularised fit --------------------------------------------------------- */

static void test_point_supports_give_the_point_fit(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    enum { N = 40 };
    double x[N], y[N], z[N];
    int first[N], count[N];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    for (int i = 0; i < N; i++) {
        x[i] = 20000 * gsl_rng_uniform(rng), y[i] = 20000 * gsl_rng_uniform(rng);
        z[i] = sin(x[i] / 3000) + cos(y[i] / 4000) + 0.2 * gsl_rng_uniform(rng);
        first[i] = i, count[i] = 1;
    }
    gsl_rng_free(rng);
    for (int model = SQ25_VARIOGRAM_EXPONENTIAL; model <= SQ25_VARIOGRAM_SPHERICAL; model++) {
        sq25__variogram point, lines;
        assert_int_equal(sq25__variogram_fit_dense(ctx, model, N, x, y, z, &point), SQ25_OK);
        sq25__supports s = {N, x, y, first, count};
        assert_int_equal(sq25__variogram_fit_lines(ctx, model, &s, 1, z, &lines), SQ25_OK);
        assert_int_equal(point.model, lines.model);
        assert_memory_equal(&point.nugget, &lines.nugget, sizeof(double));
        assert_memory_equal(&point.sill, &lines.sill, sizeof(double));
        assert_memory_equal(&point.range_m, &lines.range_m, sizeof(double));
    }
    sq25_ctx_destroy(ctx);
}

#define NL 60
#define REALISATIONS 300

typedef struct {
    double px[NL * 24], py[NL * 24];
    int first[NL], count[NL], n_points;
    double cx[NL], cy[NL];
} link_layout;

/* 60 links 1..5 km long in random directions over 30 km x 30 km, cut in 250 m pieces. */
static void layout_links(gsl_rng *rng, link_layout *l)
{
    l->n_points = 0;
    for (int i = 0; i < NL; i++) {
        double x0 = 30000 * gsl_rng_uniform(rng), y0 = 30000 * gsl_rng_uniform(rng);
        double len = 1000 + 4000 * gsl_rng_uniform(rng), a = M_PI * gsl_rng_uniform(rng);
        double x1 = x0 + len * cos(a), y1 = y0 + len * sin(a);
        int pieces = (int)ceil(len / 250);
        l->first[i] = l->n_points, l->count[i] = pieces;
        for (int k = 0; k < pieces; k++) {
            double t = (k + 0.5) / pieces;
            l->px[l->n_points] = x0 + t * (x1 - x0), l->py[l->n_points] = y0 + t * (y1 - y0);
            l->n_points++;
        }
        l->cx[i] = 0.5 * (x0 + x1), l->cy[i] = 0.5 * (y0 + y1);
    }
}

/* REALISATIONS sets of the 60 path means of a Gaussian field with exponential covariance
 * exp(-h / 1500 m) at the discretisation points. */
static void path_means(gsl_rng *rng, const link_layout *l, double *z)
{
    int np = l->n_points;
    gsl_matrix *c = gsl_matrix_alloc((size_t)np, (size_t)np);
    for (int i = 0; i < np; i++)
        for (int j = 0; j < np; j++)
            gsl_matrix_set(c, (size_t)i, (size_t)j,
                           exp(-hypot(l->px[i] - l->px[j], l->py[i] - l->py[j]) / 1500) +
                               (i == j ? 1e-9 : 0));
    assert_int_equal(gsl_linalg_cholesky_decomp1(c), 0);
    double *e = malloc((size_t)np * sizeof *e), *f = malloc((size_t)np * sizeof *f);
    for (int r = 0; r < REALISATIONS; r++) {
        for (int i = 0; i < np; i++) e[i] = gsl_ran_ugaussian(rng);
        for (int i = 0; i < np; i++) {
            double s = 0;
            for (int j = 0; j <= i; j++) s += gsl_matrix_get(c, (size_t)i, (size_t)j) * e[j];
            f[i] = s;
        }
        for (int k = 0; k < NL; k++) {
            double s = 0;
            for (int p = 0; p < l->count[k]; p++) s += f[l->first[k] + p];
            z[r * NL + k] = s / l->count[k];
        }
    }
    free(e), free(f);
    gsl_matrix_free(c);
}

static void test_line_fit_recovers_the_point_variogram(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    const char *seed = getenv("SQ25_TEST_SEED");
    gsl_rng_set(rng, seed ? strtoul(seed, NULL, 10) : 1);
    link_layout *l = malloc(sizeof *l);
    double *z = malloc(sizeof(double) * NL * REALISATIONS);
    layout_links(rng, l);
    path_means(rng, l, z);
    sq25__supports lines = {NL, l->px, l->py, l->first, l->count};
    sq25__variogram v;
    assert_int_equal(sq25__variogram_fit_lines(ctx, SQ25_VARIOGRAM_EXPONENTIAL, &lines,
                                               REALISATIONS, z, &v), SQ25_OK);
    printf("regularised fit: nugget %.3f sill %.3f range %.0f m\n", v.nugget, v.sill, v.range_m);
    assert_float_equal(v.range_m, 1500, 0.15 * 1500);
    assert_float_equal(v.sill, 1.0, 0.15);
    /* the point nugget reaches a path mean divided by its points (1/p of it), so path means
     * pin it down only weakly: what they see of it must be small */
    double inv_p = 0;
    for (int i = 0; i < NL; i++) inv_p += 1.0 / l->count[i] / NL;
    assert_true(v.nugget * inv_p < 0.05);
    /* the same values placed at the midpoints: the point fit sees the smoothed field */
    int first[NL], count[NL];
    for (int i = 0; i < NL; i++) first[i] = i, count[i] = 1;
    sq25__supports mid = {NL, l->cx, l->cy, first, count};
    sq25__variogram m;
    assert_int_equal(sq25__variogram_fit_lines(ctx, SQ25_VARIOGRAM_EXPONENTIAL, &mid,
                                               REALISATIONS, z, &m), SQ25_OK);
    printf("midpoint fit:    nugget %.3f sill %.3f range %.0f m\n", m.nugget, m.sill, m.range_m);
    assert_true(fabs(m.sill + m.nugget - 1.0) > 0.15);
    free(l), free(z);
    gsl_rng_free(rng);
    sq25_ctx_destroy(ctx);
}

/* ---- 3: KED with links ------------------------------------------------------------------ */

#define UTM "EPSG:32631"
static const double GT_1KM[6] = {500000, 1000, 0, 5600000, 0, -1000};
#define W 64

static sq25_field *constant_field(sq25_ctx *ctx, float value, int64_t t)
{
    sq25_field *f = NULL;
    assert_int_equal(sq25_field_create(ctx, W, W, UTM, GT_1KM, t, &f), SQ25_OK);
    for (int i = 0; i < W * W; i++) sq25_field_data(f)[i] = value;
    return f;
}

/* lon/lat of pixel position (col, row) (cell centres at + 0.5). */
static void px_lonlat(sq25_field *f, double col, double row, double *lon, double *lat)
{
    assert_int_equal(sq25_field_pixel_to_lonlat(f, 1, &col, 8, &row, 8, lon, 8, lat, 8), SQ25_OK);
}

/* Link end points from pixel positions. */
static void link_at(sq25_field *f, double c0, double r0, double c1, double r1, double *ll)
{
    px_lonlat(f, c0, r0, &ll[0], &ll[1]);
    px_lonlat(f, c1, r1, &ll[2], &ll[3]);
}

static void test_ked_with_links_reproduces_exact_drift(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *radar = constant_field(ctx, 0, 0);
    for (int r = 0; r < W; r++)
        for (int c = 0; c < W; c++) sq25_field_data(radar)[r * W + c] = (float)(0.25 * (c + 0.5));
    /* 8 links between columns 10 and 40, rows 20..34, of 2..6 km, some oblique */
    enum { N = 8 };
    double ll[4 * N], z[N], rp[N];
    for (int i = 0; i < N; i++) {
        double c0 = 12 + 3.5 * i, r0 = 20 + 2 * (i % 4), len = 2 + (i % 5);
        link_at(radar, c0, r0, c0 + len * 0.8, r0 + len * 0.6 * (i % 2 ? 1 : -1), ll + 4 * i);
        /* radar linear in x: its path mean is its value at the midpoint column */
        double cmid = c0 + 0.4 * len;
        rp[i] = 0.25 * cmid;
        z[i] = 3 + 2 * rp[i];
    }
    sq25_merge_options *o = NULL;
    assert_int_equal(sq25_merge_options_create(ctx, &o), SQ25_OK);
    assert_int_equal(sq25_merge_options_set_method(o, SQ25_MERGE_KED), SQ25_OK);
    sq25_interp_options *io = sq25_merge_options_interp(o);
    assert_int_equal(sq25_interp_options_set(io, SQ25_INTERP_RADIUS_M, 5000), SQ25_OK);
    assert_int_equal(sq25_interp_options_set(io, SQ25_INTERP_NUGGET, 0), SQ25_OK);
    assert_int_equal(sq25_interp_options_set(io, SQ25_INTERP_SILL, 1), SQ25_OK);
    assert_int_equal(sq25_interp_options_set(io, SQ25_INTERP_RANGE_M, 8000), SQ25_OK);
    sq25_field *g = constant_field(ctx, -1, 0);
    sq25_merge_info info;
    assert_int_equal(sq25__merge_lines(ctx, o, radar, N, ll, z, rp, 250, g, &info), SQ25_OK);
    assert_int_equal(info.radar_only, 0);
    assert_int_equal(info.sensors_used, N);
    assert_int_equal(info.variogram_source, SQ25_VARIOGRAM_SOURCE_GIVEN);
    const float *d = sq25_field_data_const(g), *rd = sq25_field_data_const(radar);
    int merged = 0;
    for (int r = 0; r < W; r++)
        for (int c = 0; c < W; c++) {
            float b = rd[r * W + c], v = d[r * W + c];
            if (v != b) {
                assert_float_equal(v, 3 + 2 * b, 1e-3);
                merged++;
            }
        }
    /* near the paths every cell is merged; far from them (columns >= 56: over 5 km from
     * the easternmost path point at column 45.6) the radar exactly */
    assert_true(merged > 300);
    for (int r = 0; r < W; r++)
        for (int c = 0; c < W; c++)
            if (c >= 56 || r >= 45) assert_true(memcmp(&d[r * W + c], &rd[r * W + c], 4) == 0);
    assert_float_equal(d[22 * W + 14], 3 + 2 * rd[22 * W + 14], 1e-3);
    sq25_field_destroy(g), sq25_field_destroy(radar);
    sq25_merge_options_destroy(o);
    sq25_ctx_destroy(ctx);
}

/* ---- 4, 5: the pipeline ---------------------------------------------------------------- */

static const int64_t T0 = 1625413800;

/* A rain cell of 40 mm/h peak, moving (+2, +1) px per 5-minute frame. */
static sq25_field *gaussian_frame(sq25_ctx *ctx, double cx, double cy, int64_t t)
{
    sq25_field *f = constant_field(ctx, 0, t);
    float *d = sq25_field_data(f);
    for (int r = 0; r < W; r++)
        for (int c = 0; c < W; c++) {
            double dx = c + 0.5 - cx, dy = r + 0.5 - cy;
            d[r * W + c] = (float)(40.0 * exp(-(dx * dx + dy * dy) / (2 * 16.0)));
        }
    return f;
}

static sq25_pipeline *pipeline_with_frames(sq25_ctx *ctx, const sq25_series *links,
                                           const double *ll)
{
    sq25_pipeline *p = NULL;
    assert_int_equal(sq25_pipeline_create(ctx, &p), SQ25_OK);
    const double levels[2] = {1, 5};
    assert_int_equal(sq25_warn_options_set_levels(sq25_pipeline_warn_options(p), 2, levels, NULL),
                     SQ25_OK);
    if (links) {
        sq25_interp_options *io = sq25_merge_options_interp(sq25_pipeline_merge_options(p));
        assert_int_equal(sq25_interp_options_set(io, SQ25_INTERP_RADIUS_M, 3000), SQ25_OK);
        assert_int_equal(sq25_interp_options_set(io, SQ25_INTERP_MIN_SENSORS, 1), SQ25_OK);
        /* pushed before the frames: the radar along the path is taken as they come */
        assert_int_equal(sq25_pipeline_push_links(p, links, ll), SQ25_OK);
    }
    for (int k = 0; k < 3; k++) {
        sq25_field *f = gaussian_frame(ctx, 12 + 2 * k, 12 + 1 * k, T0 + 300 * k);
        assert_int_equal(sq25_pipeline_push_frame(p, f), SQ25_OK);
        sq25_field_destroy(f);
    }
    return p;
}

/* One link's series at 15 min: 3 mm in the interval ending at `end`, 7.5 mm in the others. */
static sq25_series *link_series(sq25_ctx *ctx, const double *ll, int64_t end)
{
    sq25_series *s = NULL;
    assert_int_equal(sq25_series_create(ctx, 1, 8, end - 4 * 900, 900, &s), SQ25_OK);
    assert_int_equal(sq25_series_set_station(s, 0, "link/1", 0.5 * (ll[0] + ll[2]),
                                             0.5 * (ll[1] + ll[3])), SQ25_OK);
    for (int k = 0; k < 8; k++) sq25_series_data(s)[k] = k == 4 ? 3.0f : 7.5f;
    return s;
}

static void test_link_over_dry_radar_raises_its_path(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *probe = constant_field(ctx, 0, 0);
    double ll[4];
    /* row 44.5, columns 36..48: over 24 px from the rain cell (radar < 1e-12 mm/h there) */
    link_at(probe, 36, 44.5, 48, 44.5, ll);
    sq25_series *s = link_series(ctx, ll, T0 + 600);
    sq25_pipeline *a = pipeline_with_frames(ctx, NULL, NULL);
    sq25_pipeline *b = pipeline_with_frames(ctx, s, ll);
    sq25_warning *wa = NULL, *wb = NULL;
    assert_int_equal(sq25_pipeline_run(a, &wa), SQ25_OK);
    assert_int_equal(sq25_pipeline_run(b, &wb), SQ25_OK);
    sq25_merge_info info;
    assert_int_equal(sq25_pipeline_merge_info(b, &info), SQ25_OK);
    assert_int_equal(info.sensors_used, 1);
    const sq25_field *an = sq25_pipeline_analysis(b);
    assert_non_null(an);
    const float *d = sq25_field_data_const(an);
    sq25_field *latest = gaussian_frame(ctx, 16, 14, T0 + 600);
    const float *rd = sq25_field_data_const(latest);
    /* along the path: radar + 12 mm/h */
    for (int c = 36; c < 48; c++) assert_float_equal(d[44 * W + c], rd[44 * W + c] + 12.0, 1e-3);
    /* beyond the 3 km radius (rows <= 40 and >= 48, columns <= 32): the radar bit for bit */
    for (int r = 0; r < W; r++)
        for (int c = 0; c < W; c++)
            if (r <= 40 || r >= 48 || c <= 32 || c >= 52)
                assert_true(memcmp(&d[r * W + c], &rd[r * W + c], 4) == 0);
    /* the first lead (+5 min): the raised path moved (+2, +1) px */
    const float *l0 = sq25_field_data_const(sq25_pipeline_warn_forecast(b, 0));
    const float *r0 = sq25_field_data_const(sq25_pipeline_warn_forecast(a, 0));
    for (int c = 38; c < 50; c++) assert_float_equal(l0[45 * W + c], r0[45 * W + c] + 12.0, 0.01);
    /* rows far from the moving band: radar-only bit for bit in every lead */
    for (int k = 0; k < sq25_pipeline_warn_forecast_count(b); k++) {
        const float *fa = sq25_field_data_const(sq25_pipeline_warn_forecast(a, k));
        const float *fb = sq25_field_data_const(sq25_pipeline_warn_forecast(b, k));
        assert_memory_equal(fa, fb, 30 * W * sizeof(float));
    }
    sq25_field_destroy(latest);
    sq25_warning_destroy(wa), sq25_warning_destroy(wb);
    sq25_series_destroy(s);
    sq25_field_destroy(probe);
    sq25_pipeline_destroy(a), sq25_pipeline_destroy(b);
    sq25_ctx_destroy(ctx);
}

static void test_far_link_equals_radar_only(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *probe = constant_field(ctx, 0, 0);
    double ll[4];
    link_at(probe, 200, 30, 210, 31, ll); /* 130 km east of the grid's edge */
    sq25_series *s = link_series(ctx, ll, T0 + 600);
    sq25_pipeline *a = pipeline_with_frames(ctx, NULL, NULL);
    sq25_pipeline *b = pipeline_with_frames(ctx, s, ll);
    sq25_warning *wa = NULL, *wb = NULL;
    assert_int_equal(sq25_pipeline_run(a, &wa), SQ25_OK);
    assert_int_equal(sq25_pipeline_run(b, &wb), SQ25_OK);
    /* outside the radar grid the link has no radar value: radar only, said so */
    sq25_merge_info info;
    assert_int_equal(sq25_pipeline_merge_info(b, &info), SQ25_ERR_NO_DATA);
    assert_int_equal(info.radar_only, 1);
    assert_null(sq25_pipeline_analysis(b));
    assert_int_equal(sq25_pipeline_warn_forecast_count(b), sq25_pipeline_warn_forecast_count(a));
    for (int k = 0; k < sq25_pipeline_warn_forecast_count(a); k++)
        assert_memory_equal(sq25_field_data_const(sq25_pipeline_warn_forecast(a, k)),
                            sq25_field_data_const(sq25_pipeline_warn_forecast(b, k)),
                            W * W * sizeof(float));
    sq25_field *pa = NULL, *pb = NULL;
    assert_int_equal(sq25_warning_probability(wa, 1, &pa), SQ25_OK);
    assert_int_equal(sq25_warning_probability(wb, 1, &pb), SQ25_OK);
    assert_memory_equal(sq25_field_data_const(pa), sq25_field_data_const(pb), W * W * sizeof(float));
    /* clearing the links: a run is the radar-only run again */
    assert_int_equal(sq25_pipeline_push_links(b, NULL, NULL), SQ25_OK);
    assert_int_equal(sq25_pipeline_push_links(b, s, NULL), SQ25_ERR_INVALID_ARG);
    sq25_field_destroy(pa), sq25_field_destroy(pb);
    sq25_warning_destroy(wa), sq25_warning_destroy(wb);
    sq25_series_destroy(s);
    sq25_field_destroy(probe);
    sq25_pipeline_destroy(a), sq25_pipeline_destroy(b);
    sq25_ctx_destroy(ctx);
}

/* ---- 6, 7: the ensemble's start frames --------------------------------------------------- */

/* pipeline_with_frames with an 8-member ensemble (seed 7, the members' own fractions). */
static sq25_pipeline *ensemble_pipeline(sq25_ctx *ctx, const sq25_series *links, const double *ll)
{
    sq25_pipeline *p = NULL;
    assert_int_equal(sq25_pipeline_create(ctx, &p), SQ25_OK);
    const double levels[2] = {1, 5};
    assert_int_equal(sq25_warn_options_set_levels(sq25_pipeline_warn_options(p), 2, levels, NULL),
                     SQ25_OK);
    sq25_ensemble_options *eo = NULL;
    assert_int_equal(sq25_ensemble_options_create(ctx, &eo), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_members(eo, 8), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_seed(eo, 7), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_neighbourhood(eo, 0), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_control_weight(eo, 0), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_keep_members(eo, 1), SQ25_OK);
    assert_int_equal(sq25_pipeline_set_ensemble(p, eo, 0), SQ25_OK);
    sq25_ensemble_options_destroy(eo);
    if (links) {
        sq25_interp_options *io = sq25_merge_options_interp(sq25_pipeline_merge_options(p));
        assert_int_equal(sq25_interp_options_set(io, SQ25_INTERP_RADIUS_M, 3000), SQ25_OK);
        assert_int_equal(sq25_interp_options_set(io, SQ25_INTERP_MIN_SENSORS, 1), SQ25_OK);
        assert_int_equal(sq25_pipeline_push_links(p, links, ll), SQ25_OK);
    }
    for (int k = 0; k < 3; k++) {
        sq25_field *f = gaussian_frame(ctx, 12 + 2 * k, 12 + 1 * k, T0 + 300 * k);
        assert_int_equal(sq25_pipeline_push_frame(p, f), SQ25_OK);
        sq25_field_destroy(f);
    }
    return p;
}

/* One link at 5-minute steps, 2.5 mm (30 mm/h) in each of the 12 ending at `end`. */
static sq25_series *steady_link(sq25_ctx *ctx, const double *ll, int64_t end)
{
    sq25_series *s = NULL;
    assert_int_equal(sq25_series_create(ctx, 1, 12, end - 11 * 300, 300, &s), SQ25_OK);
    assert_int_equal(sq25_series_set_station(s, 0, "link/1", 0.5 * (ll[0] + ll[2]),
                                             0.5 * (ll[1] + ll[3])), SQ25_OK);
    for (int k = 0; k < 12; k++) sq25_series_data(s)[k] = 2.5f;
    return s;
}

typedef struct {
    sq25_pipeline *a, *b; /* radar only, with the link */
    sq25_warning *wa, *wb;
    const sq25_ensemble *ea, *eb;
} ensemble_pair;

static void run_ensemble_pair(sq25_ctx *ctx, const double *ll, ensemble_pair *r)
{
    sq25_series *s = steady_link(ctx, ll, T0 + 600);
    r->a = ensemble_pipeline(ctx, NULL, NULL);
    r->b = ensemble_pipeline(ctx, s, ll);
    sq25_series_destroy(s);
    r->wa = r->wb = NULL;
    assert_int_equal(sq25_pipeline_run(r->a, &r->wa), SQ25_OK);
    assert_int_equal(sq25_pipeline_run(r->b, &r->wb), SQ25_OK);
    assert_non_null(r->ea = sq25_pipeline_ensemble(r->a));
    assert_non_null(r->eb = sq25_pipeline_ensemble(r->b));
}

static void ensemble_pair_free(ensemble_pair *r)
{
    sq25_warning_destroy(r->wa), sq25_warning_destroy(r->wb);
    sq25_pipeline_destroy(r->a), sq25_pipeline_destroy(r->b);
}

static void test_link_raises_the_ensemble_start(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *probe = constant_field(ctx, 0, 0);
    double ll[4];
    link_at(probe, 36, 44.5, 48, 44.5, ll); /* as in 4: row 44, columns 36..47 */
    ensemble_pair r;
    run_ensemble_pair(ctx, ll, &r);
    sq25_merge_info info;
    assert_int_equal(sq25_pipeline_merge_info(r.b, &info), SQ25_OK);
    assert_int_equal(info.sensors_used, 1);
    /* +5 min: the path moved (+2, +1) px, columns 38..49 of row 45 */
    int wet_b = 0, cells = 0;
    for (int m = 0; m < sq25_ensemble_member_count(r.eb); m++) {
        const float *ma = sq25_field_data_const(sq25_ensemble_member(r.ea, m, 0));
        const float *mb = sq25_field_data_const(sq25_ensemble_member(r.eb, m, 0));
        for (int c = 40; c < 48; c++, cells++) {
            assert_true(ma[45 * W + c] < 0.1f);
            wet_b += mb[45 * W + c] >= 1.0f;
        }
    }
    printf("members at +5 min on the moved path: %d of %d cells >= 1 mm/h (radar only: 0)\n",
           wet_b, cells);
    assert_true(wet_b * 4 >= cells * 3);
    const int cell = 44 * W + 44;
    float pa = sq25_field_data_const(sq25_ensemble_accumulation_probability(r.ea, 0, 0))[cell];
    float pb = sq25_field_data_const(sq25_ensemble_accumulation_probability(r.eb, 0, 0))[cell];
    float mb = sq25_field_data_const(sq25_ensemble_accumulation_mean(r.eb, 0))[cell];
    printf("P(1 h >= 1 mm) on the path: radar only %.3f, link-merged start %.3f (mean %.2f mm)\n",
           pa, pb, mb);
    assert_true(pa <= 0.125f);
    assert_true(pb >= 0.5f);
    ensemble_pair_free(&r);
    sq25_field_destroy(probe);
    sq25_ctx_destroy(ctx);
}

static void test_far_link_same_ensemble(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *probe = constant_field(ctx, 0, 0);
    double ll[4];
    link_at(probe, 200, 30, 210, 31, ll); /* 130 km east of the grid's edge */
    ensemble_pair r;
    run_ensemble_pair(ctx, ll, &r);
    sq25_merge_info info;
    assert_int_equal(sq25_pipeline_merge_info(r.b, &info), SQ25_ERR_NO_DATA);
    for (int t = 0; t < sq25_ensemble_accumulation_threshold_count(r.ea); t++)
        assert_memory_equal(
            sq25_field_data_const(sq25_ensemble_accumulation_probability(r.ea, 0, t)),
            sq25_field_data_const(sq25_ensemble_accumulation_probability(r.eb, 0, t)),
            W * W * sizeof(float));
    for (int lead = 0; lead < sq25_ensemble_lead_count(r.ea); lead++)
        assert_memory_equal(sq25_field_data_const(sq25_ensemble_mean(r.ea, lead)),
                            sq25_field_data_const(sq25_ensemble_mean(r.eb, lead)),
                            W * W * sizeof(float));
    sq25_field *pa = NULL, *pb = NULL;
    assert_int_equal(sq25_warning_probability(r.wa, 1, &pa), SQ25_OK);
    assert_int_equal(sq25_warning_probability(r.wb, 1, &pb), SQ25_OK);
    assert_memory_equal(sq25_field_data_const(pa), sq25_field_data_const(pb), W * W * sizeof(float));
    sq25_field_destroy(pa), sq25_field_destroy(pb);
    ensemble_pair_free(&r);
    sq25_field_destroy(probe);
    sq25_ctx_destroy(ctx);
}

static void test_link_step_not_aligned(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *probe = constant_field(ctx, 0, 0);
    double ll[4];
    link_at(probe, 36, 44.5, 48, 44.5, ll);
    sq25_series *s = NULL;
    assert_int_equal(sq25_series_create(ctx, 1, 8, T0 + 600 - 7 * 420, 420, &s), SQ25_OK);
    assert_int_equal(sq25_series_set_station(s, 0, "link/1", 0.5 * (ll[0] + ll[2]),
                                             0.5 * (ll[1] + ll[3])), SQ25_OK);
    for (int k = 0; k < 8; k++) sq25_series_data(s)[k] = 1.0f;
    sq25_pipeline *p = pipeline_with_frames(ctx, s, ll);
    sq25_warning *w = NULL;
    assert_int_equal(sq25_pipeline_run(p, &w), SQ25_ERR_ALIGNMENT);
    assert_null(w);
    assert_non_null(strstr(sq25_errmsg(ctx), "link step 420 s and radar interval 300 s"));
    sq25_series_destroy(s);
    sq25_field_destroy(probe);
    sq25_pipeline_destroy(p);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_point_supports_give_the_point_fit),
        cmocka_unit_test(test_line_fit_recovers_the_point_variogram),
        cmocka_unit_test(test_ked_with_links_reproduces_exact_drift),
        cmocka_unit_test(test_link_over_dry_radar_raises_its_path),
        cmocka_unit_test(test_far_link_equals_radar_only),
        cmocka_unit_test(test_link_raises_the_ensemble_start),
        cmocka_unit_test(test_far_link_same_ensemble),
        cmocka_unit_test(test_link_step_not_aligned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
