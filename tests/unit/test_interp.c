/* test_interp.c -- interpolation with known answers: a simulated field with a known
 * exponential variogram (fixed seed) whose fitted parameters must come back; linear fields
 * that IDW reproduces at the sensors and kriging with a linear drift reproduces everywhere;
 * constants that ordinary kriging reproduces; leave-one-out; radar merging and fallbacks. */
#include "support.h"

#include "interp_internal.h"

#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define UTM31 "EPSG:32631"

/* Sensor positions: n points in the 20 x 20 km UTM square starting at (620000, 5790000), as
 * x/y metres and lon/lat (through the library's own PROJ path on a helper field). */
typedef struct {
    int n;
    double x[1000], y[1000], lon[1000], lat[1000], z[1000];
} sensors;

static void random_sensors(sq25_ctx *ctx, gsl_rng *rng, int n, double size_m, sensors *s)
{
    const double gt[6] = {620000, 1, 0, 5810000, 0, -1};
    sq25_field *f = NULL;
    assert_int_equal(sq25_field_create(ctx, 1, 1, UTM31, gt, 0, &f), SQ25_OK);
    s->n = n;
    for (int i = 0; i < n; i++) {
        s->x[i] = 620000 + size_m * gsl_rng_uniform(rng);
        s->y[i] = 5790000 + size_m * gsl_rng_uniform(rng);
        double col = s->x[i] - 620000, row = 5810000 - s->y[i];
        sq25_field_pixel_to_lonlat(f, 1, &col, 8, &row, 8, &s->lon[i], 8, &s->lat[i], 8);
    }
    sq25_field_destroy(f);
}

static void test_variogram_fit_recovers_simulated_parameters(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20190101);
    static sensors s;
    const int n = 900;
    const double nugget = 0.2, sill = 4.0, range = 1500.0;
    random_sensors(ctx, rng, n, 20000, &s);
    /* Gaussian field with covariance nugget*delta + sill*exp(-h/range): z = L e, C = L L^T */
    gsl_matrix *c = gsl_matrix_alloc(n, n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double h = hypot(s.x[i] - s.x[j], s.y[i] - s.y[j]);
            gsl_matrix_set(c, i, j, sill * exp(-h / range) + (i == j ? nugget : 0));
        }
    assert_int_equal(gsl_linalg_cholesky_decomp1(c), 0);
    double e[900];
    for (int i = 0; i < n; i++) e[i] = gsl_ran_ugaussian(rng);
    for (int i = 0; i < n; i++) {
        double v = 0;
        for (int j = 0; j <= i; j++) v += gsl_matrix_get(c, i, j) * e[j];
        s.z[i] = v;
    }
    double fn, fs, fr;
    assert_int_equal(sq25_variogram_fit(ctx, SQ25_VARIOGRAM_EXPONENTIAL, n, s.x, 8, s.y, 8, s.z, 8,
                                        &fn, &fs, &fr), SQ25_OK);
    print_message("fitted nugget %.3f sill %.3f range %.0f m (true 0.2, 4, 1500)\n", fn, fs, fr);
    assert_true(fr > 1500 * 0.6 && fr < 1500 * 1.5);
    assert_true(fn + fs > 4.2 * 0.7 && fn + fs < 4.2 * 1.3);
    assert_true(fn < 1.0);
    /* too few points, no variance */
    assert_int_equal(sq25_variogram_fit(ctx, SQ25_VARIOGRAM_SPHERICAL, 3, s.x, 8, s.y, 8, s.z, 8,
                                        &fn, &fs, &fr), SQ25_ERR_TOO_FEW);
    double zero[10] = {0};
    assert_int_equal(sq25_variogram_fit(ctx, SQ25_VARIOGRAM_SPHERICAL, 10, s.x, 8, s.y, 8, zero, 8,
                                        &fn, &fs, &fr), SQ25_ERR_NO_DATA);
    gsl_matrix_free(c);
    gsl_rng_free(rng);
    sq25_ctx_destroy(ctx);
}

static double linear(double x, double y) { return 3.0 + 0.0002 * (x - 620000) - 0.0001 * (y - 5790000); }

static void test_linear_field(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    static sensors s;
    random_sensors(ctx, rng, 60, 10000, &s);
    for (int i = 0; i < s.n; i++) s.z[i] = linear(s.x[i], s.y[i]);
    sq25_interp_options *o = NULL;
    assert_int_equal(sq25_interp_options_create(ctx, &o), SQ25_OK);
    /* IDW and nearest at the sensors themselves: exactly their values */
    double out[60], var[60];
    for (int method = SQ25_INTERP_NEAREST; method <= SQ25_INTERP_KRIGING; method++) {
        assert_int_equal(sq25_interp_points(ctx, o, method, s.n, s.lon, 8, s.lat, 8, s.z, 8, s.n,
                                            s.lon, 8, s.lat, 8, 0, out, 8, var, 8), SQ25_OK);
        for (int i = 0; i < s.n; i++) assert_float_equal(out[i], s.z[i], 1e-6);
    }
    /* kriging with a linear drift: exact on a grid strictly inside the sensor cloud */
    assert_int_equal(sq25_interp_options_set(o, SQ25_INTERP_DRIFT, 1), SQ25_OK);
    sq25_field *g = NULL, *v = NULL;
    assert_int_equal(sq25_grid_parse(ctx, UTM31 ":621000,5791000,629000,5799000:100", 0, &g),
                     SQ25_OK);
    assert_int_equal(sq25_field_clone(g, &v), SQ25_OK);
    assert_int_equal(sq25_interp_grid(ctx, o, SQ25_INTERP_KRIGING, s.n, s.lon, 8, s.lat, 8, s.z, 8,
                                      g, v), SQ25_OK);
    const float *d = sq25_field_data(g);
    double worst = 0;
    for (int r = 0; r < 80; r++)
        for (int c = 0; c < 80; c++) {
            double x = 621000 + (c + 0.5) * 100, y = 5799000 - (r + 0.5) * 100;
            worst = fmax(worst, fabs(d[r * 80 + c] - linear(x, y)));
            assert_true(sq25_field_data(v)[r * 80 + c] >= 0);
        }
    assert_true(worst < 1e-4); /* float32 storage of values near 3..5 */
    /* ordinary kriging (no drift) reproduces a constant exactly */
    assert_int_equal(sq25_interp_options_set(o, SQ25_INTERP_DRIFT, 0), SQ25_OK);
    for (int i = 0; i < s.n; i++) s.z[i] = 2.5;
    assert_int_equal(sq25_interp_grid(ctx, o, SQ25_INTERP_KRIGING, s.n, s.lon, 8, s.lat, 8, s.z, 8,
                                      g, NULL), SQ25_OK);
    for (int i = 0; i < 6400; i++) assert_float_equal(d[i], 2.5, 1e-5);
    sq25_field_destroy(g);
    sq25_field_destroy(v);
    sq25_interp_options_destroy(o);
    gsl_rng_free(rng);
    sq25_ctx_destroy(ctx);
}

/* Three sensors on a line 1 km apart, values 1, 2, 4. */
static void test_idw_nearest_loo_and_variance(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *g = NULL, *v = NULL;
    assert_int_equal(sq25_grid_parse(ctx, UTM31 ":620000,5790000,623000,5791000:100", 0, &g), SQ25_OK);
    /* sensors at the centres of cells (5, 5), (15, 5), (25, 5) */
    double cols[3] = {5.5, 15.5, 25.5}, rows[3] = {5.5, 5.5, 5.5}, lon[3], lat[3];
    double z[3] = {1, 2, 4};
    sq25_field_pixel_to_lonlat(g, 3, cols, 8, rows, 8, lon, 8, lat, 8);
    sq25_interp_options *o = NULL;
    sq25_interp_options_create(ctx, &o);
    /* nearest: cell (9, 5) is 400 m from sensor 0 and 600 m from sensor 1 */
    assert_int_equal(sq25_interp_grid(ctx, o, SQ25_INTERP_NEAREST, 3, lon, 8, lat, 8, z, 8, g, NULL), SQ25_OK);
    assert_float_equal(sq25_field_data(g)[5 * 30 + 9], 1, 0);
    assert_float_equal(sq25_field_data(g)[5 * 30 + 11], 2, 0);
    /* IDW power 2 at cell (10, 5): 500 m from sensors 0 and 1, 1500 m from sensor 2:
     * weights 4, 4, 4/9 -> (4*1 + 4*2 + 4/9*4) / (8 + 4/9) = 1.6316 */
    assert_int_equal(sq25_interp_grid(ctx, o, SQ25_INTERP_IDW, 3, lon, 8, lat, 8, z, 8, g, NULL), SQ25_OK);
    assert_float_equal(sq25_field_data(g)[5 * 30 + 10], (4.0 + 8.0 + 16.0 / 9) / (8.0 + 4.0 / 9), 1e-4);
    assert_float_equal(sq25_field_data(g)[5 * 30 + 5], 1, 1e-6);
    /* radius 300 m: cells farther from every sensor are NaN */
    sq25_interp_options_set(o, SQ25_INTERP_RADIUS_M, 300);
    assert_int_equal(sq25_interp_grid(ctx, o, SQ25_INTERP_IDW, 3, lon, 8, lat, 8, z, 8, g, NULL), SQ25_OK);
    assert_true(isnan(sq25_field_data(g)[5 * 30 + 10]));
    assert_float_equal(sq25_field_data(g)[5 * 30 + 7], 1, 1e-6);
    sq25_interp_options_set(o, SQ25_INTERP_RADIUS_M, 0);
    /* leave-one-out with nearest: sensor 0 predicted by sensor 1, sensor 2 by sensor 1 */
    double out[3];
    assert_int_equal(sq25_interp_points(ctx, o, SQ25_INTERP_NEAREST, 3, lon, 8, lat, 8, z, 8, 3,
                                        lon, 8, lat, 8, 1, out, 8, NULL, 0), SQ25_OK);
    assert_float_equal(out[0], 2, 0);
    assert_true(out[1] == 1 || out[1] == 4); /* 1 km either side: a tie */
    assert_float_equal(out[2], 2, 0);
    /* kriging variance with a given variogram (no nugget): zero at a sensor, larger between */
    sq25_interp_options_set(o, SQ25_INTERP_MIN_SENSORS, 3);
    sq25_interp_options_set(o, SQ25_INTERP_NUGGET, 0);
    sq25_interp_options_set(o, SQ25_INTERP_SILL, 1);
    sq25_interp_options_set(o, SQ25_INTERP_RANGE_M, 1000);
    sq25_field_clone(g, &v);
    assert_int_equal(sq25_interp_grid(ctx, o, SQ25_INTERP_KRIGING, 3, lon, 8, lat, 8, z, 8, g, v), SQ25_OK);
    const float *var = sq25_field_data(v);
    assert_float_equal(var[5 * 30 + 5], 0, 1e-5);
    assert_float_equal(sq25_field_data(g)[5 * 30 + 15], 2, 1e-5);
    assert_true(var[5 * 30 + 10] > var[5 * 30 + 7] && var[5 * 30 + 7] > var[5 * 30 + 6]);
    assert_true(var[0] < 1.0 + 1e-6 && var[5 * 30 + 10] > 0.1);
    /* mismatched variance grid, bad options */
    sq25_field *small = NULL;
    sq25_grid_parse(ctx, UTM31 ":620000,5790000,621000,5791000:100", 0, &small);
    assert_int_equal(sq25_interp_grid(ctx, o, SQ25_INTERP_KRIGING, 3, lon, 8, lat, 8, z, 8, g, small),
                     SQ25_ERR_GRID_MISMATCH);
    assert_int_equal(sq25_interp_options_set(o, SQ25_INTERP_NEIGHBOURS, 0), SQ25_ERR_RANGE);
    assert_int_equal(sq25_interp_options_set(o, SQ25_INTERP_VARIOGRAM, 7), SQ25_ERR_RANGE);
    double nan3[3] = {NAN, NAN, NAN};
    assert_int_equal(sq25_interp_grid(ctx, o, SQ25_INTERP_IDW, 3, lon, 8, lat, 8, nan3, 8, g, NULL),
                     SQ25_ERR_NO_DATA);
    sq25_field_destroy(small);
    sq25_field_destroy(g);
    sq25_field_destroy(v);
    sq25_interp_options_destroy(o);
    sq25_ctx_destroy(ctx);
}

static void test_merge_and_fallbacks(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 3);
    static sensors s;
    random_sensors(ctx, rng, 30, 10000, &s);
    for (int i = 0; i < s.n; i++) s.z[i] = 3.0;
    /* radar: 2 mm/h everywhere on a 1 km LAEA grid, one NaN cell far away */
    const double gt[6] = {3900000, 1000, 0, 3350000, 0, -1000};
    sq25_field *radar = NULL, *g = NULL, *v = NULL;
    assert_int_equal(sq25_field_create(ctx, 200, 200, "EPSG:3035", gt, 0, &radar), SQ25_OK);
    for (int i = 0; i < 40000; i++) sq25_field_data(radar)[i] = 2.0f;
    assert_int_equal(sq25_grid_parse(ctx, UTM31 ":621000,5791000,629000,5799000:200", 777, &g), SQ25_OK);
    sq25_field_clone(g, &v);
    /* residuals are all +1: kriged exactly, merged = 3 */
    assert_int_equal(sq25_interp_merge(ctx, NULL, radar, s.n, s.lon, 8, s.lat, 8, s.z, 8, g, v), SQ25_OK);
    assert_int_equal(sq25_field_valid_time(g), 777); /* the grid keeps its (sensor) time */
    for (int i = 0; i < 1600; i++) assert_float_equal(sq25_field_data(g)[i], 3.0, 1e-5);
    assert_false(isnan(sq25_field_data(v)[0]));
    /* three sensors only (< 5): radar only */
    assert_int_equal(sq25_interp_merge(ctx, NULL, radar, 3, s.lon, 8, s.lat, 8, s.z, 8, g, v), SQ25_OK);
    for (int i = 0; i < 1600; i++) assert_float_equal(sq25_field_data(g)[i], 2.0, 1e-6);
    assert_true(isnan(sq25_field_data(v)[0]));
    /* no radar: kriging of the sensors */
    for (int i = 0; i < s.n; i++) s.z[i] = 1.0 + (i % 2);
    assert_int_equal(sq25_interp_merge(ctx, NULL, NULL, s.n, s.lon, 8, s.lat, 8, s.z, 8, g, NULL), SQ25_OK);
    double max, mean;
    sq25_field_stats(g, 0, &max, &mean, NULL, NULL);
    assert_true(max <= 2.0 + 1e-5 && mean > 1.0 && mean < 2.0);
    /* sensors below the radar are clipped at 0, never negative */
    for (int i = 0; i < s.n; i++) s.z[i] = 0.0;
    for (int i = 0; i < 40000; i++) sq25_field_data(radar)[i] = (i % 7) ? 1.0f : 9.0f;
    assert_int_equal(sq25_interp_merge(ctx, NULL, radar, s.n, s.lon, 8, s.lat, 8, s.z, 8, g, NULL), SQ25_OK);
    double min_v = INFINITY;
    for (int i = 0; i < 1600; i++) min_v = fmin(min_v, sq25_field_data(g)[i]);
    assert_true(min_v >= 0);
    sq25_field_destroy(radar);
    sq25_field_destroy(g);
    sq25_field_destroy(v);
    gsl_rng_free(rng);
    sq25_ctx_destroy(ctx);
}

/* The grid path (shared candidates, quadtree) must give the k nearest of every cell exactly:
 * compare with the point path, which queries the k nearest of each target on its own. */
static void test_grid_idw_matches_point_queries(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 11);
    static sensors s;
    random_sensors(ctx, rng, 200, 8000, &s);
    for (int i = 0; i < s.n; i++) s.z[i] = gsl_rng_uniform(rng) * 10;
    sq25_field *g = NULL;
    assert_int_equal(sq25_grid_parse(ctx, UTM31 ":620500,5790500,626500,5796500:100", 0, &g), SQ25_OK);
    static double col[3600], row[3600], lon[3600], lat[3600], out[3600];
    for (int r = 0; r < 60; r++)
        for (int c = 0; c < 60; c++) col[r * 60 + c] = c + 0.5, row[r * 60 + c] = r + 0.5;
    sq25_field_pixel_to_lonlat(g, 3600, col, 8, row, 8, lon, 8, lat, 8);
    for (int method = SQ25_INTERP_NEAREST; method <= SQ25_INTERP_IDW; method++) {
        assert_int_equal(sq25_interp_grid(ctx, NULL, method, s.n, s.lon, 8, s.lat, 8, s.z, 8, g, NULL),
                         SQ25_OK);
        assert_int_equal(sq25_interp_points(ctx, NULL, method, s.n, s.lon, 8, s.lat, 8, s.z, 8, 3600,
                                            lon, 8, lat, 8, 0, out, 8, NULL, 0), SQ25_OK);
        for (int i = 0; i < 3600; i++) assert_float_equal(sq25_field_data(g)[i], out[i], 1e-4);
    }
    sq25_field_destroy(g);
    gsl_rng_free(rng);
    sq25_ctx_destroy(ctx);
}

/* Fail each allocation of a whole chain in turn (CSV read, QC, grid, kriging with variance,
 * merge): every failure is SQ25_ERR_NOMEM and nothing leaks. */
static int run_chain(sq25_ctx *ctx, const char *csv)
{
    sq25_series *s = NULL;
    sq25_qc_result *r = NULL;
    sq25_field *g = NULL, *v = NULL, *radar = NULL;
    int rc = sq25_series_read_csv(ctx, csv, 300, &s);
    if (!rc) rc = sq25_qc_run(s, NULL, &r);
    if (!rc) rc = sq25_grid_parse(ctx, "lonlat:4.86,52.33,4.90,52.36:200", 0, &g);
    if (!rc) rc = sq25_field_clone(g, &v);
    double lon[6], lat[6], z[6] = {1, 2, 3, 2, 1, 0};
    for (int i = 0; i < 6 && !rc; i++) sq25_series_station_lonlat(s, i, &lon[i], &lat[i]);
    sq25_interp_options *o = NULL;
    if (!rc) rc = sq25_interp_options_create(ctx, &o);
    if (!rc) rc = sq25_interp_options_set(o, SQ25_INTERP_MIN_SENSORS, 3);
    if (!rc) rc = sq25_interp_grid(ctx, o, SQ25_INTERP_KRIGING, 6, lon, 8, lat, 8, z, 8, g, v);
    const double gt[6] = {3960000, 1000, 0, 3300000, 0, -1000};
    if (!rc) rc = sq25_field_create(ctx, 80, 80, "EPSG:3035", gt, 0, &radar);
    if (!rc) rc = sq25_interp_merge(ctx, o, radar, 6, lon, 8, lat, 8, z, 8, g, v);
    sq25_interp_options_destroy(o);
    sq25_field_destroy(radar);
    sq25_field_destroy(v);
    sq25_field_destroy(g);
    sq25_qc_result_destroy(r);
    sq25_series_destroy(s);
    return rc;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    char csv[512];
    snprintf(csv, sizeof csv, "%s/chain.csv", test_tmpdir());
    FILE *fp = fopen(csv, "w");
    assert_non_null(fp);
    fputs("station_id,lon,lat,time_utc,mm\n", fp);
    for (int i = 0; i < 6; i++)
        for (int t = 0; t < 4; t++)
            fprintf(fp, "s%d,%.3f,%.3f,2017-08-30T03:%02d:00Z,%d\n", i, 4.87 + 0.005 * i,
                    52.34 + 0.003 * i, 40 + 5 * t, (i + t) % 3);
    fputs("bad,row\n", fp);
    fclose(fp);
    int failures_seen = 0;
    for (long n = 1; n < 2000; n++) {
        test_alloc_state st = {.fail_at = n};
        sq25_ctx *ctx = test_ctx_failing(&st);
        if (!ctx) {
            assert_int_equal(st.live, 0);
            failures_seen++;
            continue;
        }
        int rc = run_chain(ctx, csv);
        if (rc != SQ25_OK) {
            assert_int_equal(rc, SQ25_ERR_NOMEM);
            failures_seen++;
        }
        sq25_ctx_destroy(ctx);
        assert_int_equal(st.live, 0);
        if (st.calls < n) break; /* the whole chain ran without reaching allocation n */
    }
    assert_true(failures_seen >= 30);
}

/* The block walk and the leave-one-out index the interpolators share (internal helpers):
 * every expected value listed by hand from the definitions. */
static void test_block_walk_and_loo_index(void **state)
{
    (void)state;
    /* a 5 x 3 grid in blocks of 2: three block columns (the last 1 wide), two block rows */
    const int want[6][4] = {{0, 0, 2, 2}, {2, 0, 4, 2}, {4, 0, 5, 2},
                            {0, 2, 2, 3}, {2, 2, 4, 3}, {4, 2, 5, 3}};
    int k = 0;
    for (sq25__blocks b = sq25__blocks_of(5, 3, 2); sq25__blocks_next(&b); k++) {
        assert_true(k < 6);
        assert_int_equal(b.c0, want[k][0]), assert_int_equal(b.r0, want[k][1]);
        assert_int_equal(b.c1, want[k][2]), assert_int_equal(b.r1, want[k][3]);
    }
    assert_int_equal(k, 6);
    sq25__blocks one = sq25__blocks_of(3, 3, 16); /* a block larger than the grid: one, cut */
    assert_true(sq25__blocks_next(&one));
    assert_int_equal(one.c1, 3), assert_int_equal(one.r1, 3);
    assert_false(sq25__blocks_next(&one));
    sq25__blocks none = sq25__blocks_of(0, 4, 2);
    assert_false(sq25__blocks_next(&none));

    sq25_ctx *ctx = sq25_ctx_create();
    const long orig[3] = {0, 2, 3}; /* sensor 1 of 4 was dropped (say, NaN) */
    long *index = sq25__loo_index(ctx, 4, true, 3, orig);
    const long want_index[4] = {0, -1, 1, 2};
    for (int j = 0; j < 4; j++) assert_int_equal(index[j], want_index[j]);
    sq25__free(ctx, index);
    index = sq25__loo_index(ctx, 4, false, 3, orig);
    for (int j = 0; j < 4; j++) assert_int_equal(index[j], -1);
    sq25__free(ctx, index);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_variogram_fit_recovers_simulated_parameters),
        cmocka_unit_test(test_linear_field),
        cmocka_unit_test(test_idw_nearest_loo_and_variance),
        cmocka_unit_test(test_merge_and_fallbacks),
        cmocka_unit_test(test_grid_idw_matches_point_queries),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_block_walk_and_loo_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
