/* test_interp_lines.c -- line sensors in kriging and IDW: a zero-length link is exactly a point
 * sensor (compared with the point interpolation, a separate implementation), the block
 * variance of a single link against its definition, and kriging with an external drift that
 * reproduces a field linear in the drift. */
#include "support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N 30
#define UTM32 "EPSG:32632"

/* N sensors scattered over about 10 x 8 km near 11.0 E, 44.5 N, with a smooth field plus
 * noise (a fixed linear congruential generator, so the case is the same every run). */
static void make_sensors(double *lon, double *lat, double *z)
{
    unsigned s = 12345;
    for (int i = 0; i < N; i++) {
        s = s * 1103515245u + 12345u;
        double u = (s >> 8) / 16777216.0;
        s = s * 1103515245u + 12345u;
        double w = (s >> 8) / 16777216.0;
        s = s * 1103515245u + 12345u;
        double e = (s >> 8) / 16777216.0;
        lon[i] = 11.0 + 0.12 * u, lat[i] = 44.5 + 0.07 * w;
        z[i] = 3 + 2 * sin(6 * u) * cos(4 * w) + 0.5 * e;
    }
}

static sq25_interp_options *fixed_options(sq25_ctx *ctx, double radius_m)
{
    sq25_interp_options *o = NULL;
    assert_int_equal(sq25_interp_options_create(ctx, &o), SQ25_OK);
    sq25_interp_options_set(o, SQ25_INTERP_NUGGET, 0.1);
    sq25_interp_options_set(o, SQ25_INTERP_SILL, 2.0);
    sq25_interp_options_set(o, SQ25_INTERP_RANGE_M, 3000);
    sq25_interp_options_set(o, SQ25_INTERP_RADIUS_M, radius_m);
    sq25_interp_options_set(o, SQ25_INTERP_NEIGHBOURS, 10);
    return o;
}

static void test_zero_length_equals_point_kriging(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    double lon[N], lat[N], z[N], ll[4 * N];
    make_sensors(lon, lat, z);
    for (int i = 0; i < N; i++) ll[4 * i] = ll[4 * i + 2] = lon[i], ll[4 * i + 1] = ll[4 * i + 3] = lat[i];
    sq25_interp_options *o = fixed_options(ctx, 0);
    double tlon[5] = {11.01, 11.05, 11.09, 11.11, 11.03}, tlat[5] = {44.51, 44.52, 44.55, 44.56, 44.565};
    for (int method = SQ25_INTERP_IDW; method <= SQ25_INTERP_KRIGING; method++) {
        double a[N], va[N], b[N], vb[N];
        /* leave one out: every sensor predicted from the others */
        assert_int_equal(sq25_interp_points(ctx, o, method, N, lon, sizeof(double), lat,
                                            sizeof(double), z, sizeof(double), N, lon,
                                            sizeof(double), lat, sizeof(double), 1, a,
                                            sizeof(double), va, sizeof(double)),
                         SQ25_OK);
        assert_int_equal(sq25_interp_lines_points(ctx, o, method, N, ll, z, 100, NULL, N, lon, lat,
                                                  1, b, vb),
                         SQ25_OK);
        for (int i = 0; i < N; i++) {
            assert_true(fabs(a[i] - b[i]) < 1e-9);
            if (method == SQ25_INTERP_KRIGING) assert_true(fabs(va[i] - vb[i]) < 1e-9);
        }
        assert_int_equal(sq25_interp_points(ctx, o, method, N, lon, sizeof(double), lat,
                                            sizeof(double), z, sizeof(double), 5, tlon,
                                            sizeof(double), tlat, sizeof(double), 0, a,
                                            sizeof(double), va, sizeof(double)),
                         SQ25_OK);
        assert_int_equal(sq25_interp_lines_points(ctx, o, method, N, ll, z, 100, NULL, 5, tlon,
                                                  tlat, 0, b, vb),
                         SQ25_OK);
        for (int i = 0; i < 5; i++) assert_true(fabs(a[i] - b[i]) < 1e-9);
    }
    /* on a grid: the same block systems (neighbours of the block centre, no radius) */
    double gt[6] = {660000, 200, 0, 4935000, 0, -200};
    sq25_field *g1 = NULL, *g2 = NULL, *v1 = NULL, *v2 = NULL;
    sq25_field_create(ctx, 48, 40, UTM32, gt, 0, &g1);
    sq25_field_create(ctx, 48, 40, UTM32, gt, 0, &g2);
    sq25_field_create(ctx, 48, 40, UTM32, gt, 0, &v1);
    sq25_field_create(ctx, 48, 40, UTM32, gt, 0, &v2);
    assert_int_equal(sq25_interp_grid(ctx, o, SQ25_INTERP_KRIGING, N, lon, sizeof(double), lat,
                                      sizeof(double), z, sizeof(double), g1, v1),
                     SQ25_OK);
    assert_int_equal(sq25_interp_lines_grid(ctx, o, SQ25_INTERP_KRIGING, N, ll, z, 100, NULL, g2, v2),
                     SQ25_OK);
    const float *a = sq25_field_data_const(g1), *b = sq25_field_data_const(g2);
    const float *va = sq25_field_data_const(v1), *vb = sq25_field_data_const(v2);
    for (int k = 0; k < 48 * 40; k++) {
        assert_true(fabs(a[k] - b[k]) < 1e-5);
        assert_true(fabs(va[k] - vb[k]) < 1e-5);
    }
    sq25_field_destroy(g1), sq25_field_destroy(g2), sq25_field_destroy(v1), sq25_field_destroy(v2);
    sq25_interp_options_destroy(o);
    sq25_ctx_destroy(ctx);
}

/* Exponential covariance of the fixed model (nugget 0.1 only at distance 0). */
static double cov(double h)
{
    return h == 0 ? 2.1 : 2.0 * exp(-h / 3000);
}

/* One link alone: ordinary kriging gives it weight 1, so the estimate is its value and the
 * variance is C(0) - 2 mean_k C(x, p_k) + mean_kl C(p_k, p_l), with p_k the midpoints of the
 * pieces. A 4-km east-west link in UTM 32N, cut into pieces of at most 1010 m: 4 points. */
static void test_single_link_block_variance(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_interp_options *o = fixed_options(ctx, 0);
    sq25_interp_options_set(o, SQ25_INTERP_MIN_SENSORS, 1);
    /* the link runs along the parallel 44.5 N, 4 km long (111320 m per degree x cos lat) */
    double ll[4] = {11.0, 44.5, 11.0 + 4000.0 / (111320.0 * cos(44.5 * 3.14159265358979 / 180)), 44.5};
    double z = 7.0, out[2], var[2];
    double tlon[2] = {ll[0], 10.98}, tlat[2] = {44.5, 44.5};
    assert_int_equal(sq25_interp_lines_points(ctx, o, SQ25_INTERP_KRIGING, 1, ll, &z, 1010, NULL, 2,
                                              tlon, tlat, 0, out, var),
                     SQ25_OK);
    assert_true(fabs(out[0] - 7) < 1e-12 && fabs(out[1] - 7) < 1e-12);
    /* the path is ~4000 m long in UTM (scale factor differences below 0.1 %): points at
     * 500, 1500, 2500, 3500 m from the start; target 0 at the start, target 1 about
     * 1588 m west of it (0.02 deg of longitude at 44.5 N) */
    double p[4] = {500, 1500, 2500, 3500}, cll = 0, cx0 = 0, cx1 = 0;
    double west = 0.02 * 111320.0 * cos(44.5 * 3.14159265358979 / 180);
    for (int k = 0; k < 4; k++) {
        cx0 += cov(p[k]) / 4, cx1 += cov(p[k] + west) / 4;
        for (int l = 0; l < 4; l++) cll += cov(fabs(p[k] - p[l])) / 16;
    }
    assert_true(fabs(var[0] - (2.1 - 2 * cx0 + cll)) < 5e-3);
    assert_true(fabs(var[1] - (2.1 - 2 * cx1 + cll)) < 5e-3);
    /* a point gauge at the same place would have variance 2 C(0) - 2 C(d) (no averaging) */
    assert_true(var[0] < 2 * 2.1 - 2 * cov(2000));
    sq25_interp_options_destroy(o);
    sq25_ctx_destroy(ctx);
}

/* KED: the drift is linear in longitude (d = 100 lon on a lon/lat grid, so its bilinear
 * samples are exact); each sensor's value is 2 * (its mean drift) + 1, for a link the mean
 * over its points, which is 100 * (lon0 + lon1) / 2 up to the curvature of the UTM -> lon/lat
 * map (far below the tolerance over a few km). The kriged field must then be 2 d + 1
 * everywhere: the KED weights reproduce the drift. */
static void test_ked_reproduces_drift(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *grid = NULL, *dl = NULL;
    sq25_field_create(ctx, 60, 50, UTM32, (double[6]){662000, 100, 0, 4933000, 0, -100}, 0, &grid);
    sq25_field_create(ctx, 200, 100, "EPSG:4326", (double[6]){10.9, 0.002, 0, 44.6, 0, -0.002}, 0, &dl);
    float *dd = sq25_field_data(dl);
    for (int r = 0; r < 100; r++)
        for (int c = 0; c < 200; c++) dd[r * 200 + c] = (float)(100 * (10.9 + (c + 0.5) * 0.002));
    /* 4 point gauges and 4 links (lon0, lat0, lon1, lat1) */
    double ll[4 * 8] = {
        11.05, 44.50, 11.05, 44.50, 11.08, 44.49, 11.08, 44.49, 11.06, 44.48, 11.10, 44.47,
        11.07, 44.46, 11.07, 44.46, 11.11, 44.45, 11.11, 44.45, 11.04, 44.47, 11.09, 44.50,
        11.12, 44.48, 11.12, 44.43, 11.065, 44.455, 11.03, 44.44};
    double z[8];
    for (int i = 0; i < 8; i++) z[i] = 2 * 100 * 0.5 * (ll[4 * i] + ll[4 * i + 2]) + 1;
    sq25_interp_options *o = NULL;
    sq25_interp_options_create(ctx, &o);
    sq25_interp_options_set(o, SQ25_INTERP_NUGGET, 0.0);
    sq25_interp_options_set(o, SQ25_INTERP_SILL, 1.0);
    sq25_interp_options_set(o, SQ25_INTERP_RANGE_M, 2000);
    sq25_interp_options_set(o, SQ25_INTERP_RADIUS_M, 0);
    sq25_interp_options_set(o, SQ25_INTERP_MIN_SENSORS, 3);
    assert_int_equal(sq25_interp_lines_grid(ctx, o, SQ25_INTERP_KRIGING, 8, ll, z, 250, dl, grid, NULL),
                     SQ25_OK);
    /* 2 * drift + 1 with the drift resampled onto the grid by the library's bilinear
     * resampling (tested on its own in test_grid.c; exact for a field linear in lon) */
    sq25_field *dg = NULL;
    sq25_field_clone(grid, &dg);
    assert_int_equal(sq25_resample(dl, dg, SQ25_RESAMPLE_BILINEAR), SQ25_OK);
    const float *g = sq25_field_data_const(grid), *want = sq25_field_data_const(dg);
    for (int k = 0; k < 60 * 50; k++) {
        assert_false(isnan(want[k]));
        assert_true(fabs(g[k] - (2 * want[k] + 1)) < 0.01); /* values ~2200: 5e-6 relative */
    }
    /* ordinary kriging of the same values does not reproduce the trend away from sensors */
    assert_int_equal(sq25_interp_lines_grid(ctx, o, SQ25_INTERP_KRIGING, 8, ll, z, 250, NULL, grid, NULL),
                     SQ25_OK);
    double worst = 0;
    for (int k = 0; k < 60 * 50; k++) worst = fmax(worst, fabs(g[k] - (2 * want[k] + 1)));
    assert_true(worst > 0.5);
    sq25_field_destroy(dg), sq25_field_destroy(dl), sq25_field_destroy(grid);
    sq25_interp_options_destroy(o);
    sq25_ctx_destroy(ctx);
}

static void test_lines_bad_arguments(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    double ll[4] = {11, 44, 11.1, 44}, z = 1, out;
    assert_int_equal(sq25_interp_lines_points(ctx, NULL, SQ25_INTERP_NEAREST, 1, ll, &z, 100, NULL,
                                              1, ll, ll + 1, 0, &out, NULL),
                     SQ25_ERR_INVALID_ARG);
    assert_int_equal(sq25_interp_lines_points(ctx, NULL, SQ25_INTERP_IDW, 1, ll, &z, 0, NULL, 1, ll,
                                              ll + 1, 0, &out, NULL),
                     SQ25_ERR_RANGE);
    z = NAN;
    assert_int_equal(sq25_interp_lines_points(ctx, NULL, SQ25_INTERP_IDW, 1, ll, &z, 100, NULL, 1,
                                              ll, ll + 1, 0, &out, NULL),
                     SQ25_ERR_NO_DATA);
    /* IDW on a link's own path point returns its value */
    z = 4;
    double mid_lon = 11.1 / 2 + 11.0 / 2, mid_lat = 44;
    assert_int_equal(sq25_interp_lines_points(ctx, NULL, SQ25_INTERP_IDW, 1, ll, &z, 100000, NULL, 1,
                                              &mid_lon, &mid_lat, 0, &out, NULL),
                     SQ25_OK);
    assert_true(fabs(out - 4) < 1e-12);
    sq25_ctx_destroy(ctx);
}

/* Every allocation failed in turn: SQ25_ERR_NOMEM or success, nothing leaked. */
static void test_lines_allocation_failures(void **state)
{
    (void)state;
    double lon[N], lat[N], z[N], ll[4 * N];
    make_sensors(lon, lat, z);
    for (int i = 0; i < N; i++)
        ll[4 * i] = lon[i], ll[4 * i + 1] = lat[i], ll[4 * i + 2] = lon[i] + 0.01 * (i % 3), ll[4 * i + 3] = lat[i];
    for (long fail = 1; fail < 300; fail++) {
        test_alloc_state st = {fail, 0, 0};
        sq25_ctx *ctx = test_ctx_failing(&st);
        if (!ctx) continue;
        sq25_field *g = NULL, *d = NULL;
        double out[3], var[3];
        int rc = sq25_field_create(ctx, 20, 16, UTM32, (double[6]){660000, 500, 0, 4935000, 0, -500}, 0, &g);
        if (!rc) rc = sq25_field_clone(g, &d);
        if (!rc) {
            float *dd = sq25_field_data(d);
            for (int k = 0; k < 20 * 16; k++) dd[k] = (float)(k % 20);
            rc = sq25_interp_lines_grid(ctx, NULL, SQ25_INTERP_KRIGING, N, ll, z, 300, d, g, NULL);
        }
        if (!rc) rc = sq25_interp_lines_points(ctx, NULL, SQ25_INTERP_KRIGING, N, ll, z, 300, NULL,
                                               3, lon, lat, 0, out, var);
        assert_true(rc == SQ25_OK || rc == SQ25_ERR_NOMEM);
        sq25_field_destroy(g), sq25_field_destroy(d);
        sq25_ctx_destroy(ctx);
        assert_int_equal(st.live, 0);
        if (st.calls < fail) {
            assert_true(fail > 20); /* the success run made fewer calls than the failed one */
            return;
        }
    }
    fail(); /* 300 allocations were not enough to reach a successful run */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_length_equals_point_kriging),
        cmocka_unit_test(test_single_link_block_variance),
        cmocka_unit_test(test_ked_reproduces_drift),
        cmocka_unit_test(test_lines_bad_arguments),
        cmocka_unit_test(test_lines_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
