/* test_pipeline_ensemble.c -- the pipeline's ensemble path with sensors and across gaps.
 * The expectations are analytic:
 * 1. Sensors outside the radar grid (no sensor value within any cell's radius): the merge
 *    reports radar only and the ensemble, its probabilities and the warning are the
 *    radar-only ones bit for bit (the same seed, the same start frames).
 * 2. A gauge cluster sees 30 mm/h on radar pixels that are dry (the radar's only cell, a
 *    Gaussian of 40 mm/h peak and sigma 4 px, lies 25 px away: 40 exp(-625/32) < 1e-7 mm/h,
 *    and it moves (+2, +1) px per step, away from the cluster). Radar only, no member can
 *    reach 1 mm in the hour there. With the merged start the cluster's rain (reproduced
 *    exactly at the sensors: zero nugget) leaves the centre sensor's pixel at 2.2 px per step;
 *    the correction reaches 2.5 km (2.5 px) beyond the outer sensors, 4.5 px upstream of the
 *    centre: about 2 steps = 10 min of 30 mm/h, 5 mm, pass over it in a pure advection: the
 *    1-mm probability there must rise from about 0 to most members.
 * 3. A bridged gap: frames at 0, 5, 10 min, 15 missing, 20 min (4 input frames held). The
 *    ensemble's frames are the evenly spaced subset (0, 10, 20 min), its step 10 min, its
 *    leads 6 for the hour, and the warning says it is degraded. Before, the three newest
 *    held frames (5, 10, 20 min) were taken and the run failed with SQ25_ERR_TIME_GAP.
 * 4. With too few evenly spaced frames (5, 10, 20 min held only) the ensemble cannot run:
 *    the run gives the deterministic warning, degraded, and says why. */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define UTM "EPSG:32631"
static const double GT_1KM[6] = {500000, 1000, 0, 5600000, 0, -1000};
#define W 64
static const int64_t T0 = 1625413800;

static sq25_field *gaussian_frame(sq25_ctx *ctx, double cx, double cy, int64_t t)
{
    sq25_field *f = NULL;
    assert_int_equal(sq25_field_create(ctx, W, W, UTM, GT_1KM, t, &f), SQ25_OK);
    float *d = sq25_field_data(f);
    for (int r = 0; r < W; r++)
        for (int c = 0; c < W; c++) {
            double dx = c + 0.5 - cx, dy = r + 0.5 - cy;
            d[r * W + c] = (float)(40.0 * exp(-(dx * dx + dy * dy) / (2 * 16.0)));
        }
    return f;
}

/* lon/lat of the centre of cell (c, r). */
static void cell_lonlat(sq25_field *f, double c, double r, double *lon, double *lat)
{
    double col = c + 0.5, row = r + 0.5;
    assert_int_equal(sq25_field_pixel_to_lonlat(f, 1, &col, 8, &row, 8, lon, 8, lat, 8), SQ25_OK);
}

/* A pipeline with levels 1 and 5 mm in the hour and an 8-member ensemble, fed the frames of
 * steps k (the cell at (20 + 2k, 24 + k), 5 minutes apart) for which use[k] is set. */
static sq25_pipeline *ensemble_pipeline(sq25_ctx *ctx, const int *use, int n, int inputs)
{
    sq25_pipeline *p = NULL;
    assert_int_equal(sq25_pipeline_create(ctx, &p), SQ25_OK);
    assert_int_equal(sq25_pipeline_set_input_frames(p, inputs), SQ25_OK);
    const double levels[2] = {1, 5};
    assert_int_equal(sq25_warn_options_set_levels(sq25_pipeline_warn_options(p), 2, levels, NULL),
                     SQ25_OK);
    sq25_ensemble_options *eo = NULL;
    assert_int_equal(sq25_ensemble_options_create(ctx, &eo), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_members(eo, 8), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_seed(eo, 7), SQ25_OK);
    /* The members' own fractions (no neighbourhood blend, no control member): the analytic
     * figures below are about what the members carry, not about a post-processing window. */
    assert_int_equal(sq25_ensemble_options_set_neighbourhood(eo, 0), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_control_weight(eo, 0), SQ25_OK);
    assert_int_equal(sq25_pipeline_set_ensemble(p, eo, 0), SQ25_OK);
    sq25_ensemble_options_destroy(eo);
    for (int k = 0; k < n; k++) {
        if (!use[k]) continue;
        sq25_field *f = gaussian_frame(ctx, 20 + 2 * k, 24 + 1 * k, T0 + 300 * k);
        assert_int_equal(sq25_pipeline_push_frame(p, f), SQ25_OK);
        sq25_field_destroy(f);
    }
    return p;
}

/* n sensors on a 3-column lattice of 2 px spacing from cell (c0, r0), each reporting
 * rate_mmh in each of `steps` 5-minute steps that end at last_end. */
static sq25_series *sensor_block(sq25_ctx *ctx, int n, int c0, int r0, int64_t last_end,
                                 int steps, double rate_mmh)
{
    sq25_field *probe = gaussian_frame(ctx, 0, 0, 0);
    sq25_series *s = NULL;
    assert_int_equal(sq25_series_create(ctx, n, steps, last_end - (steps - 1) * 300, 300, &s),
                     SQ25_OK);
    for (int i = 0; i < n; i++) {
        double lon, lat;
        cell_lonlat(probe, c0 + 2 * (i % 3), r0 + 2 * (i / 3), &lon, &lat);
        char id[16];
        snprintf(id, sizeof id, "g%d", i);
        assert_int_equal(sq25_series_set_station(s, i, id, lon, lat), SQ25_OK);
        for (int k = 0; k < steps; k++)
            sq25_series_data(s)[i * steps + k] = (float)(rate_mmh * 300 / 3600.0);
    }
    sq25_field_destroy(probe);
    return s;
}

static void exact_merge_options(sq25_pipeline *p)
{
    sq25_pipeline_set_sensor_qc(p, 0);
    sq25_interp_options *io = sq25_merge_options_interp(sq25_pipeline_merge_options(p));
    assert_int_equal(sq25_interp_options_set(io, SQ25_INTERP_RADIUS_M, 2500), SQ25_OK);
    assert_int_equal(sq25_interp_options_set(io, SQ25_INTERP_NUGGET, 0), SQ25_OK);
    assert_int_equal(sq25_interp_options_set(io, SQ25_INTERP_SILL, 1), SQ25_OK);
    assert_int_equal(sq25_interp_options_set(io, SQ25_INTERP_RANGE_M, 3000), SQ25_OK);
}

static const int ALL3[3] = {1, 1, 1};

/* The same three frames run radar only (a) and with the sensors s pushed (b). */
typedef struct {
    sq25_pipeline *a, *b;
    sq25_warning *wa, *wb;
    const sq25_ensemble *ea, *eb;
} pair_run;

static void run_pair(sq25_ctx *ctx, const sq25_series *s, pair_run *r)
{
    r->a = ensemble_pipeline(ctx, ALL3, 3, 3);
    r->b = ensemble_pipeline(ctx, ALL3, 3, 3);
    exact_merge_options(r->b);
    assert_int_equal(sq25_pipeline_push_sensors(r->b, s), SQ25_OK);
    r->wa = r->wb = NULL;
    assert_int_equal(sq25_pipeline_run(r->a, &r->wa), SQ25_OK);
    assert_int_equal(sq25_pipeline_run(r->b, &r->wb), SQ25_OK);
    r->ea = sq25_pipeline_ensemble(r->a);
    r->eb = sq25_pipeline_ensemble(r->b);
    assert_non_null(r->ea);
    assert_non_null(r->eb);
}

static void pair_free(pair_run *r)
{
    sq25_warning_destroy(r->wa), sq25_warning_destroy(r->wb);
    sq25_pipeline_destroy(r->a), sq25_pipeline_destroy(r->b);
}

/* Level-1 warning probability of both runs at cell i, or memcmp of the whole fields. */
static int warning_level1(const pair_run *r, int i, float *pa, float *pb)
{
    sq25_field *la = NULL, *lb = NULL;
    assert_int_equal(sq25_warning_probability(r->wa, 1, &la), SQ25_OK);
    assert_int_equal(sq25_warning_probability(r->wb, 1, &lb), SQ25_OK);
    *pa = sq25_field_data_const(la)[i], *pb = sq25_field_data_const(lb)[i];
    int same = memcmp(sq25_field_data_const(la), sq25_field_data_const(lb), W * W * sizeof(float));
    sq25_field_destroy(la), sq25_field_destroy(lb);
    return same;
}

static void test_far_sensors_same_ensemble(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    /* 200+ km east of the grid, heavy rain */
    sq25_series *s = sensor_block(ctx, 6, 260, 30, T0 + 600, 12, 50);
    pair_run r;
    run_pair(ctx, s, &r);
    sq25_merge_info info;
    assert_int_equal(sq25_pipeline_merge_info(r.b, &info), SQ25_ERR_NO_DATA);
    const sq25_ensemble *ea = r.ea, *eb = r.eb;
    for (int t = 0; t < 2; t++)
        assert_memory_equal(sq25_field_data_const(sq25_ensemble_accumulation_probability(ea, 0, t)),
                            sq25_field_data_const(sq25_ensemble_accumulation_probability(eb, 0, t)),
                            W * W * sizeof(float));
    for (int lead = 0; lead < sq25_ensemble_lead_count(ea); lead++)
        assert_memory_equal(sq25_field_data_const(sq25_ensemble_mean(ea, lead)),
                            sq25_field_data_const(sq25_ensemble_mean(eb, lead)),
                            W * W * sizeof(float));
    float pa, pb;
    assert_int_equal(warning_level1(&r, 0, &pa, &pb), 0);
    pair_free(&r);
    sq25_series_destroy(s);
    sq25_ctx_destroy(ctx);
}

static void test_gauge_on_dry_pixel_raises_probability(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    /* 9 gauges at cells (40..44, 6..10), centre (42, 8); the latest cell is at (24, 26) */
    sq25_series *s = sensor_block(ctx, 9, 40, 6, T0 + 600, 3, 30);
    pair_run r;
    run_pair(ctx, s, &r);
    sq25_merge_info info;
    assert_int_equal(sq25_pipeline_merge_info(r.b, &info), SQ25_OK);
    assert_int_equal(info.sensors_used, 9);
    const int gauge = 8 * W + 42;
    const sq25_ensemble *ea = r.ea, *eb = r.eb;
    float pa = sq25_field_data_const(sq25_ensemble_accumulation_probability(ea, 0, 0))[gauge];
    float pb = sq25_field_data_const(sq25_ensemble_accumulation_probability(eb, 0, 0))[gauge];
    float ma = sq25_field_data_const(sq25_ensemble_accumulation_mean(ea, 0))[gauge];
    float mb = sq25_field_data_const(sq25_ensemble_accumulation_mean(eb, 0))[gauge];
    printf("P(1 h amount >= 1 mm) at the gauge: radar only %.3f, merged start %.3f; "
           "mean amount %.3f -> %.3f mm\n", pa, pb, ma, mb);
    assert_true(pa <= 0.0625f); /* at most one member of eight */
    assert_true(pb >= 0.5f);
    /* the warning's level-1 probability follows */
    float wpa, wpb;
    warning_level1(&r, gauge, &wpa, &wpb);
    printf("warning level-1 probability at the gauge: %.3f -> %.3f\n", wpa, wpb);
    assert_true(wpb > wpa);
    pair_free(&r);
    sq25_series_destroy(s);
    sq25_ctx_destroy(ctx);
}

static void test_bridged_gap_uses_even_frames(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    const int gap[5] = {1, 1, 1, 0, 1}; /* 15 min missing */
    sq25_pipeline *p = ensemble_pipeline(ctx, gap, 5, 4); /* holds 0, 5, 10, 20 min */
    sq25_warning *w = NULL;
    assert_int_equal(sq25_pipeline_run(p, &w), SQ25_OK);
    const sq25_ensemble *e = sq25_pipeline_ensemble(p);
    assert_non_null(e);
    assert_int_equal(sq25_ensemble_step_s(e), 600);
    assert_int_equal(sq25_ensemble_lead_count(e), 6);
    assert_true(sq25_ensemble_issue_time(e) == T0 + 1200);
    assert_int_equal(sq25_warning_state(w), SQ25_STATE_DEGRADED);
    sq25_warning_destroy(w);
    sq25_pipeline_destroy(p);
    /* held 5, 10, 20 min only: no three evenly spaced frames: deterministic, said so */
    const int few[5] = {0, 1, 1, 0, 1};
    p = ensemble_pipeline(ctx, few, 5, 3);
    assert_int_equal(sq25_pipeline_run(p, &w), SQ25_OK);
    assert_null(sq25_pipeline_ensemble(p));
    assert_int_equal(sq25_warning_state(w), SQ25_STATE_DEGRADED);
    assert_non_null(strstr(sq25_warning_state_reason(w), "ensemble not run"));
    sq25_warning_destroy(w);
    sq25_pipeline_destroy(p);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_far_sensors_same_ensemble),
        cmocka_unit_test(test_gauge_on_dry_pixel_raises_probability),
        cmocka_unit_test(test_bridged_gap_uses_even_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
