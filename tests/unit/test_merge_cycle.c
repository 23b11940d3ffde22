/* test_merge_cycle.c -- the merging methods and the sensors in the pipeline cycle.
 * Every expected number is analytic:
 * 1. Additive: sensors at radar + 6 mm/h (a constant residual, which ordinary kriging
 *    reproduces exactly) give radar + 6 near them; beyond the radius the radar bit for bit.
 * 2. Multiplicative: sensors at 6 over a radar of 2 give 2 x (6 + 0.1) / (2 + 0.1).
 * 3. Mean field bias: sensors 3 and 5 over a radar of 2: factor 8 / 4 = 2.
 * 4. KED: sensors exactly on z = 3 + 2 r over a radar that is linear in x: KED reproduces the
 *    line at every cell (the drift is exact).
 * 5. Variogram sources: fewer sensors than MIN_FIT_SENSORS: climatological; given: given.
 * 6. Pipeline: sensors far from every cell give leads and warnings identical bit for bit to
 *    the radar-only run; a cluster of sensors seeing +10 mm/h moves with the radar motion
 *    (+2, +1) px per step; 1-minute start-stamped sensors are summed over the radar's 5-minute
 *    interval (values outside it are set to a different rate that must not show). */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* lon/lat of the centre of cell (c, r). */
static void cell_lonlat(sq25_field *f, double c, double r, double *lon, double *lat)
{
    double col = c + 0.5, row = r + 0.5;
    assert_int_equal(sq25_field_pixel_to_lonlat(f, 1, &col, 8, &row, 8, lon, 8, lat, 8), SQ25_OK);
}

/* n sensors on a 3-column lattice of 2 px spacing from (c0, r0). */
static void sensor_block(sq25_field *f, int n, int c0, int r0, double *lon, double *lat)
{
    for (int i = 0; i < n; i++) cell_lonlat(f, c0 + 2 * (i % 3), r0 + 2 * (i / 3), &lon[i], &lat[i]);
}

static sq25_merge_options *options(sq25_ctx *ctx, int method, double radius_m)
{
    sq25_merge_options *o = NULL;
    assert_int_equal(sq25_merge_options_create(ctx, &o), SQ25_OK);
    assert_int_equal(sq25_merge_options_set_method(o, method), SQ25_OK);
    assert_int_equal(sq25_interp_options_set(sq25_merge_options_interp(o), SQ25_INTERP_RADIUS_M,
                                             radius_m), SQ25_OK);
    return o;
}

/* Run a merge of n sensors with values z over radar onto a copy of radar's grid. */
static sq25_field *merged(sq25_ctx *ctx, sq25_merge_options *o, const sq25_field *radar, int n,
                          const double *lon, const double *lat, const double *z,
                          sq25_merge_info *info)
{
    sq25_field *g = NULL;
    assert_int_equal(sq25_field_clone(radar, &g), SQ25_OK);
    assert_int_equal(sq25_merge_run(ctx, o, radar, (size_t)n, lon, 8, lat, 8, z, 8, NULL, 0, g,
                                    NULL, info), SQ25_OK);
    return g;
}

static void test_additive_constant_residual(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *radar = constant_field(ctx, 2.0f, 0);
    double lon[6], lat[6], z[6];
    sensor_block(radar, 6, 20, 20, lon, lat);
    for (int i = 0; i < 6; i++) z[i] = 8.0;
    sq25_merge_options *o = options(ctx, SQ25_MERGE_ADDITIVE, 5000);
    sq25_merge_info info;
    sq25_field *g = merged(ctx, o, radar, 6, lon, lat, z, &info);
    const float *d = sq25_field_data_const(g);
    assert_float_equal(d[22 * W + 22], 8.0, 1e-4);
    assert_float_equal(d[24 * W + 27], 8.0, 1e-4); /* 3 km from the nearest sensor */
    /* 20 km away: more than the radius from every sensor: the radar exactly */
    assert_true(d[50 * W + 50] == 2.0f);
    assert_true(d[0] == 2.0f);
    assert_int_equal(info.radar_only, 0);
    assert_int_equal(info.sensors_used, 6);
    assert_int_equal(info.variogram_source, SQ25_VARIOGRAM_SOURCE_CLIMATOLOGICAL);
    sq25_field_destroy(g);
    sq25_merge_options_destroy(o);
    sq25_field_destroy(radar);
    sq25_ctx_destroy(ctx);
}

static void test_multiplicative_and_mfb(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *radar = constant_field(ctx, 2.0f, 0);
    double lon[6], lat[6], z[6];
    sensor_block(radar, 6, 20, 20, lon, lat);
    for (int i = 0; i < 6; i++) z[i] = 6.0;
    sq25_merge_options *o = options(ctx, SQ25_MERGE_MULTIPLICATIVE, 5000);
    sq25_merge_info info;
    sq25_field *g = merged(ctx, o, radar, 6, lon, lat, z, &info);
    assert_float_equal(sq25_field_data_const(g)[21 * W + 21], 2.0 * 6.1 / 2.1, 1e-4);
    assert_true(sq25_field_data_const(g)[60 * W + 60] == 2.0f);
    sq25_field_destroy(g);
    sq25_merge_options_destroy(o);
    /* mean field bias: two sensors 3 and 5 over radar 2 -> factor 2, radar 4 near them */
    o = options(ctx, SQ25_MERGE_MEAN_FIELD_BIAS, 5000);
    z[0] = 3, z[1] = 5;
    g = merged(ctx, o, radar, 2, lon, lat, z, &info);
    assert_float_equal(info.factor, 2.0, 1e-12);
    assert_float_equal(sq25_field_data_const(g)[20 * W + 20], 4.0, 1e-6);
    assert_true(sq25_field_data_const(g)[60 * W + 60] == 2.0f);
    assert_int_equal(info.variogram_source, SQ25_VARIOGRAM_SOURCE_NONE);
    char json[512];
    sq25_merge_info_json(&info, json, sizeof json);
    assert_non_null(strstr(json, "\"method\":\"mfb\""));
    assert_non_null(strstr(json, "\"factor\":2"));
    sq25_field_destroy(g);
    sq25_merge_options_destroy(o);
    sq25_field_destroy(radar);
    sq25_ctx_destroy(ctx);
}

static void test_ked_reproduces_exact_drift(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *radar = constant_field(ctx, 0, 0);
    for (int r = 0; r < W; r++)
        for (int c = 0; c < W; c++) sq25_field_data(radar)[r * W + c] = (float)(1.0 + 0.25 * c);
    int n = 12;
    double lon[12], lat[12], z[12];
    sensor_block(radar, n, 10, 10, lon, lat);
    for (int i = 0; i < n; i++) z[i] = 3.0 + 2.0 * (1.0 + 0.25 * (10 + 2 * (i % 3)));
    sq25_merge_options *o = options(ctx, SQ25_MERGE_KED, 0);
    sq25_merge_info info;
    sq25_field *g = merged(ctx, o, radar, n, lon, lat, z, &info);
    const float *d = sq25_field_data_const(g);
    for (int c = 5; c < 40; c += 7) /* also far outside the sensors' columns 10..14 */
        assert_float_equal(d[15 * W + c], 3.0 + 2.0 * (1.0 + 0.25 * c), 2e-3);
    char json[512];
    sq25_merge_info_json(&info, json, sizeof json);
    assert_non_null(strstr(json, "\"method\":\"ked\""));
    /* given variogram */
    sq25_interp_options *io = sq25_merge_options_interp(o);
    assert_int_equal(sq25_interp_options_set(io, SQ25_INTERP_NUGGET, 0.1), SQ25_OK);
    assert_int_equal(sq25_interp_options_set(io, SQ25_INTERP_SILL, 1), SQ25_OK);
    assert_int_equal(sq25_interp_options_set(io, SQ25_INTERP_RANGE_M, 3000), SQ25_OK);
    sq25_field_destroy(g);
    g = merged(ctx, o, radar, n, lon, lat, z, &info);
    assert_int_equal(info.variogram_source, SQ25_VARIOGRAM_SOURCE_GIVEN);
    assert_float_equal(info.range_m, 3000, 0);
    int m = 0;
    assert_int_equal(sq25_merge_method_from_name("multiplicative", &m), SQ25_OK);
    assert_int_equal(m, SQ25_MERGE_MULTIPLICATIVE);
    assert_int_equal(sq25_merge_method_from_name("kriging", &m), SQ25_ERR_INVALID_ARG);
    assert_int_equal(sq25_merge_options_set(o, SQ25_MERGE_CLIM_NUGGET_FRACTION, 1.5), SQ25_ERR_RANGE);
    sq25_field_destroy(g);
    sq25_merge_options_destroy(o);
    sq25_field_destroy(radar);
    sq25_ctx_destroy(ctx);
}

/* ---- the pipeline ---------------------------------------------------------------------- */

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

static const int64_t T0 = 1625413800;

static sq25_pipeline *pipeline_with_frames(sq25_ctx *ctx)
{
    sq25_pipeline *p = NULL;
    assert_int_equal(sq25_pipeline_create(ctx, &p), SQ25_OK);
    sq25_warn_options *wo = sq25_pipeline_warn_options(p);
    const double levels[2] = {1, 5};
    assert_int_equal(sq25_warn_options_set_levels(wo, 2, levels, NULL), SQ25_OK);
    for (int k = 0; k < 3; k++) {
        sq25_field *f = gaussian_frame(ctx, 20 + 2 * k, 24 + 1 * k, T0 + 300 * k);
        assert_int_equal(sq25_pipeline_push_frame(p, f), SQ25_OK);
        sq25_field_destroy(f);
    }
    return p;
}

/* A series of n stations at lon/lat with `steps` steps of step_s ending at last_end, all
 * holding mm per step = rate_mmh * step_s / 3600. */
static sq25_series *series_at(sq25_ctx *ctx, int n, const double *lon, const double *lat,
                              int64_t steps, int step_s, int64_t last_end, double rate_mmh)
{
    sq25_series *s = NULL;
    assert_int_equal(sq25_series_create(ctx, n, steps, last_end - (steps - 1) * step_s, step_s, &s),
                     SQ25_OK);
    for (int i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof id, "s%d", i);
        assert_int_equal(sq25_series_set_station(s, i, id, lon[i], lat[i]), SQ25_OK);
        for (int64_t k = 0; k < steps; k++)
            sq25_series_data(s)[i * steps + k] = (float)(rate_mmh * step_s / 3600.0);
    }
    return s;
}

static void test_far_sensors_equal_radar_only(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_pipeline *a = pipeline_with_frames(ctx), *b = pipeline_with_frames(ctx);
    /* 6 sensors 200+ km east of the grid, reporting heavy rain; radius 10 km */
    double lon[6], lat[6];
    sq25_field *probe = constant_field(ctx, 0, 0);
    for (int i = 0; i < 6; i++) cell_lonlat(probe, 260 + i, 30, &lon[i], &lat[i]);
    sq25_series *s = series_at(ctx, 6, lon, lat, 12, 300, T0 + 600, 50);
    sq25_pipeline_set_sensor_qc(b, 0);
    assert_int_equal(sq25_pipeline_push_sensors(b, s), SQ25_OK);
    sq25_warning *wa = NULL, *wb = NULL;
    assert_int_equal(sq25_pipeline_run(a, &wa), SQ25_OK);
    assert_int_equal(sq25_pipeline_run(b, &wb), SQ25_OK);
    /* no sensor value inside the radar grid: radar only, said so */
    sq25_merge_info info;
    assert_int_equal(sq25_pipeline_merge_info(b, &info), SQ25_ERR_NO_DATA);
    assert_int_equal(info.radar_only, 1);
    assert_int_equal(sq25_pipeline_warn_forecast_count(b), 12);
    for (int i = 0; i < 12; i++)
        assert_memory_equal(sq25_field_data_const(sq25_pipeline_warn_forecast(a, i)),
                            sq25_field_data_const(sq25_pipeline_warn_forecast(b, i)),
                            W * W * sizeof(float));
    sq25_field *la = NULL, *lb = NULL;
    assert_int_equal(sq25_warning_probability(wa, 1, &la), SQ25_OK);
    assert_int_equal(sq25_warning_probability(wb, 1, &lb), SQ25_OK);
    assert_memory_equal(sq25_field_data_const(la), sq25_field_data_const(lb), W * W * sizeof(float));
    sq25_field_destroy(la), sq25_field_destroy(lb);
    sq25_warning_destroy(wa), sq25_warning_destroy(wb);
    sq25_series_destroy(s);
    sq25_field_destroy(probe);
    sq25_pipeline_destroy(a), sq25_pipeline_destroy(b);
    sq25_ctx_destroy(ctx);
}

/* Centroid (px) of where merged leads exceed the radar-only ones by more than 1 mm/h. */
static void excess_centroid(const sq25_field *m, const sq25_field *r, double *cx, double *cy)
{
    const float *dm = sq25_field_data_const(m), *dr = sq25_field_data_const(r);
    double sw = 0, sx = 0, sy = 0;
    for (int row = 0; row < W; row++)
        for (int c = 0; c < W; c++) {
            double e = dm[row * W + c] - dr[row * W + c];
            if (e > 1) sw += e, sx += e * (c + 0.5), sy += e * (row + 0.5);
        }
    assert_true(sw > 0);
    *cx = sx / sw, *cy = sy / sw;
}

static void test_near_sensors_move_with_the_rain(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_pipeline *a = pipeline_with_frames(ctx), *b = pipeline_with_frames(ctx);
    /* 9 sensors at cells (26..30, 16..20), on the cell's edge (radar 0.1-3 mm/h), seeing
     * 10 mm/h */
    double lon[9], lat[9];
    sq25_field *probe = constant_field(ctx, 0, 0);
    sensor_block(probe, 9, 26, 16, lon, lat);
    sq25_series *s = series_at(ctx, 9, lon, lat, 3, 300, T0 + 600, 10);
    sq25_pipeline_set_sensor_qc(b, 0);
    sq25_interp_options *io = sq25_merge_options_interp(sq25_pipeline_merge_options(b));
    assert_int_equal(sq25_interp_options_set(io, SQ25_INTERP_RADIUS_M, 2500), SQ25_OK);
    /* no nugget: the analysis honours each sensor exactly */
    assert_int_equal(sq25_interp_options_set(io, SQ25_INTERP_NUGGET, 0), SQ25_OK);
    assert_int_equal(sq25_interp_options_set(io, SQ25_INTERP_SILL, 1), SQ25_OK);
    assert_int_equal(sq25_interp_options_set(io, SQ25_INTERP_RANGE_M, 3000), SQ25_OK);
    assert_int_equal(sq25_pipeline_push_sensors(b, s), SQ25_OK);
    sq25_warning *wa = NULL, *wb = NULL;
    assert_int_equal(sq25_pipeline_run(a, &wa), SQ25_OK);
    assert_int_equal(sq25_pipeline_run(b, &wb), SQ25_OK);
    sq25_merge_info info;
    assert_int_equal(sq25_pipeline_merge_info(b, &info), SQ25_OK);
    assert_int_equal(info.sensors_used, 9);
    const sq25_field *an = sq25_pipeline_analysis(b);
    assert_non_null(an);
    assert_float_equal(sq25_field_data_const(an)[18 * W + 28], 10.0, 0.05);
    /* leads: the excess starts near the cluster's centre (28.5, 18.5) and moves (+2, +1) px
     * per step with the rain */
    double cx0, cy0;
    sq25_field *latest = gaussian_frame(ctx, 24, 26, T0 + 600);
    excess_centroid(an, latest, &cx0, &cy0);
    sq25_field_destroy(latest);
    /* weighted by 10 - radar, so a little east of the cluster centre, away from the cell */
    assert_true(cx0 > 28 && cx0 < 30.5 && cy0 > 17 && cy0 < 19.5);
    for (int k = 1; k <= 4; k++) {
        double cx, cy;
        excess_centroid(sq25_pipeline_warn_forecast(b, k - 1), sq25_pipeline_warn_forecast(a, k - 1),
                        &cx, &cy);
        assert_float_equal(cx, cx0 + 2 * k, 0.6);
        assert_float_equal(cy, cy0 + 1 * k, 0.6);
    }
    /* far from the cluster every lead is the radar-only lead exactly */
    const float *fa = sq25_field_data_const(sq25_pipeline_warn_forecast(a, 5));
    const float *fb = sq25_field_data_const(sq25_pipeline_warn_forecast(b, 5));
    for (int r = 40; r < W; r++)
        for (int c = 0; c < W; c++) assert_true(memcmp(&fa[r * W + c], &fb[r * W + c], 4) == 0);
    sq25_warning_destroy(wa), sq25_warning_destroy(wb);
    sq25_series_destroy(s);
    sq25_field_destroy(probe);
    sq25_pipeline_destroy(a), sq25_pipeline_destroy(b);
    sq25_ctx_destroy(ctx);
}

/* Centroid (metres) of the excess of merged over radar-only street leads, street grid cells
 * of 250 m in the radar's CRS: it must move by the radar motion, (+2, +1) radar pixels =
 * (+2000, -1000) m per step. */
static void street_excess_centroid(const sq25_field *m, const sq25_field *r, double *x, double *y)
{
    int w = sq25_field_width(m), h = sq25_field_height(m);
    double gt[6];
    sq25_field_geotransform(m, gt);
    const float *dm = sq25_field_data_const(m), *dr = sq25_field_data_const(r);
    double sw = 0, sx = 0, sy = 0;
    for (int row = 0; row < h; row++)
        for (int c = 0; c < w; c++) {
            double e = dm[row * w + c] - dr[row * w + c];
            if (e > 1) sw += e, sx += e * (gt[0] + (c + 0.5) * gt[1]), sy += e * (gt[3] + (row + 0.5) * gt[5]);
        }
    assert_true(sw > 0);
    *x = sx / sw, *y = sy / sw;
}

static void test_street_grid_motion(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_pipeline *a = pipeline_with_frames(ctx), *b = pipeline_with_frames(ctx);
    sq25_field *street = NULL;
    assert_int_equal(sq25_grid_create(ctx, UTM, 510000, 5540000, 550000, 5590000, 250, 0, &street),
                     SQ25_OK);
    assert_int_equal(sq25_pipeline_set_street_grid(a, street), SQ25_OK);
    assert_int_equal(sq25_pipeline_set_street_grid(b, street), SQ25_OK);
    double lon[9], lat[9];
    sq25_field *probe = constant_field(ctx, 0, 0);
    sensor_block(probe, 9, 26, 16, lon, lat);
    sq25_series *s = series_at(ctx, 9, lon, lat, 3, 300, T0 + 600, 10);
    sq25_pipeline_set_sensor_qc(b, 0);
    sq25_interp_options *io = sq25_merge_options_interp(sq25_pipeline_merge_options(b));
    assert_int_equal(sq25_interp_options_set(io, SQ25_INTERP_RADIUS_M, 2500), SQ25_OK);
    assert_int_equal(sq25_pipeline_push_sensors(b, s), SQ25_OK);
    sq25_warning *wa = NULL, *wb = NULL;
    assert_int_equal(sq25_pipeline_run(a, &wa), SQ25_OK);
    assert_int_equal(sq25_pipeline_run(b, &wb), SQ25_OK);
    double x1, y1, x4, y4;
    street_excess_centroid(sq25_pipeline_warn_forecast(b, 0), sq25_pipeline_warn_forecast(a, 0), &x1, &y1);
    street_excess_centroid(sq25_pipeline_warn_forecast(b, 3), sq25_pipeline_warn_forecast(a, 3), &x4, &y4);
    assert_float_equal(x4 - x1, 3 * 2000.0, 300);
    assert_float_equal(y4 - y1, -3 * 1000.0, 300);
    assert_int_equal(sq25_field_width(sq25_pipeline_analysis(b)), sq25_field_width(street));
    sq25_warning_destroy(wa), sq25_warning_destroy(wb);
    sq25_series_destroy(s);
    sq25_field_destroy(probe), sq25_field_destroy(street);
    sq25_pipeline_destroy(a), sq25_pipeline_destroy(b);
    sq25_ctx_destroy(ctx);
}

static void test_one_minute_start_stamped_alignment(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_pipeline *p = NULL;
    assert_int_equal(sq25_pipeline_create(ctx, &p), SQ25_OK);
    double lon[1], lat[1];
    sq25_field *probe = constant_field(ctx, 0, 0);
    cell_lonlat(probe, 30, 30, &lon[0], &lat[0]);
    /* 1-min steps stored at their START times; the radar interval of the issue frame T0+600
     * is (T0+300, T0+600], i.e. the minutes starting T0+300 .. T0+540. They hold 6 mm/h;
     * every other minute holds 30 mm/h. */
    int64_t first_start = T0, steps = 15;
    sq25_series *s = series_at(ctx, 1, lon, lat, steps, 60, first_start + (steps - 1) * 60, 30);
    for (int k = 5; k < 10; k++) sq25_series_data(s)[k] = (float)(6.0 / 60.0);
    sq25_pipeline_set_sensor_qc(p, 0);
    assert_int_equal(sq25_merge_options_set_method(sq25_pipeline_merge_options(p),
                                                   SQ25_MERGE_MEAN_FIELD_BIAS), SQ25_OK);
    assert_int_equal(sq25_pipeline_set_sensor_alignment(p, SQ25_STAMP_START, 0), SQ25_OK);
    assert_int_equal(sq25_pipeline_set_sensor_alignment(p, 7, 0), SQ25_ERR_RANGE);
    assert_int_equal(sq25_pipeline_push_sensors(p, s), SQ25_OK);
    for (int k = 0; k < 3; k++) {
        sq25_field *f = constant_field(ctx, 2.0f, T0 + 300 * k);
        assert_int_equal(sq25_pipeline_push_frame(p, f), SQ25_OK);
        sq25_field_destroy(f);
    }
    sq25_warning *w = NULL;
    assert_int_equal(sq25_pipeline_run(p, &w), SQ25_OK);
    sq25_merge_info info;
    assert_int_equal(sq25_pipeline_merge_info(p, &info), SQ25_OK);
    assert_float_equal(info.factor, 3.0, 1e-5); /* 6 mm/h against a radar of 2 */
    assert_float_equal(sq25_field_data_const(sq25_pipeline_analysis(p))[30 * W + 30], 6.0, 1e-4);
    /* with a lag of +60 s the minutes counted shift by one and hold one 30 mm/h minute */
    sq25_warning_destroy(w);
    assert_int_equal(sq25_pipeline_set_sensor_alignment(p, SQ25_STAMP_START, 60), SQ25_OK);
    assert_int_equal(sq25_pipeline_run(p, &w), SQ25_OK);
    assert_int_equal(sq25_pipeline_merge_info(p, &info), SQ25_OK);
    assert_float_equal(info.factor, (4 * 6.0 + 30.0) / 5 / 2.0, 1e-5);
    sq25_warning_destroy(w);
    sq25_series_destroy(s);
    sq25_field_destroy(probe);
    sq25_pipeline_destroy(p);
    sq25_ctx_destroy(ctx);
}


/* Every allocation of a run with sensors (push, alignment, merge, correction, street grid)
 * fails in turn: the run reports SQ25_ERR_NOMEM and nothing leaks. */
static void test_allocation_failures(void **state)
{
    (void)state;
    int failures = 0;
    for (long n = 1; n < 20000; n++) {
        test_alloc_state st = {0, 0, 0};
        sq25_ctx *ctx = test_ctx_failing(&st);
        sq25_pipeline *p = NULL;
        sq25_field *street = NULL, *probe = NULL;
        sq25_series *s = NULL;
        double lon[9], lat[9];
        assert_int_equal(sq25_pipeline_create(ctx, &p), SQ25_OK);
        probe = constant_field(ctx, 0, 0);
        sensor_block(probe, 9, 26, 16, lon, lat);
        s = series_at(ctx, 9, lon, lat, 3, 300, T0 + 600, 10);
        assert_int_equal(sq25_grid_create(ctx, UTM, 510000, 5550000, 530000, 5590000, 500, 0, &street),
                         SQ25_OK);
        assert_int_equal(sq25_pipeline_set_street_grid(p, street), SQ25_OK);
        sq25_pipeline_set_sensor_qc(p, 0);
        for (int k = 0; k < 3; k++) {
            sq25_field *f = gaussian_frame(ctx, 20 + 2 * k, 24 + 1 * k, T0 + 300 * k);
            assert_int_equal(sq25_pipeline_push_frame(p, f), SQ25_OK);
            sq25_field_destroy(f);
        }
        st.fail_at = st.calls + n;
        int rc = sq25_pipeline_push_sensors(p, s);
        sq25_warning *w = NULL;
        if (rc == SQ25_OK) rc = sq25_pipeline_run(p, &w);
        if (rc == SQ25_OK) assert_non_null(sq25_pipeline_analysis(p));
        st.fail_at = 0;
        sq25_warning_destroy(w);
        sq25_series_destroy(s);
        sq25_field_destroy(probe), sq25_field_destroy(street);
        sq25_pipeline_destroy(p);
        sq25_ctx_destroy(ctx);
        assert_int_equal(st.live, 0);
        if (rc == SQ25_OK) break;
        assert_int_equal(rc, SQ25_ERR_NOMEM);
        failures++;
    }
    printf("allocation failures checked: %d\n", failures);
    assert_true(failures > 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_additive_constant_residual),
        cmocka_unit_test(test_multiplicative_and_mfb),
        cmocka_unit_test(test_ked_reproduces_exact_drift),
        cmocka_unit_test(test_far_sensors_equal_radar_only),
        cmocka_unit_test(test_near_sensors_move_with_the_rain),
        cmocka_unit_test(test_street_grid_motion),
        cmocka_unit_test(test_one_minute_start_stamped_alignment),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
