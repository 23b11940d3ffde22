/* test_pipeline_gaps.c -- the pipeline across missing frames and radar outages, and the states
 * it gives (docs/warnings.md, "States").
 * 1. Analytic: a Gaussian cell moving (+2, +1) pixels per 5-minute step; the frame at +10 min
 *    is missing. The motion from the frames at +5 and +15 min (10 min apart) is (+4, +2) per
 *    10 min = (+2, +1) per step, so the +5 min lead has the cell where it will be; the warning
 *    is DEGRADED, not an error and not a reset.
 * 2. Analytic outage: the newest frame is all no data. The run extrapolates the newest frame
 *    with data two steps to the first lead (the cell where the analytic motion puts it) and the
 *    warning is STALE; after three frames without data (beyond the default gap of 2) the
 *    warning is NO_DATA everywhere, its target has level -1 and state no_data in the API, the
 *    CSV and the summary JSON: never level 0.
 * 3. Real data: the bundled RMI sequence with the 17:35 frame removed runs at 17:40 from the
 *    17:30 and 17:40 frames (DEGRADED) and verifies against the real 17:45 frame about as well
 *    as the full sequence does. */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UTM "EPSG:32631"
static const double GT_1KM[6] = {500000, 1000, 0, 5600000, 0, -1000};
static const int64_t T0 = 1625413800;

/* A Gaussian cell of peak 40 mm/h and sigma 4 px at step k of the analytic motion. */
static sq25_field *cell_at_step(sq25_ctx *ctx, int k)
{
    double cx = 20 + 2 * k, cy = 24 + k;
    sq25_field *f = NULL;
    assert_int_equal(sq25_field_create(ctx, 64, 64, UTM, GT_1KM, T0 + 300 * k, &f), SQ25_OK);
    float *d = sq25_field_data(f);
    for (int r = 0; r < 64; r++)
        for (int c = 0; c < 64; c++) {
            double dx = c + 0.5 - cx, dy = r + 0.5 - cy;
            d[r * 64 + c] = (float)(40.0 * exp(-(dx * dx + dy * dy) / (2 * 16.0)));
        }
    return f;
}

static sq25_field *outage_at_step(sq25_ctx *ctx, int k)
{
    sq25_field *f = NULL;
    assert_int_equal(sq25_field_create(ctx, 64, 64, UTM, GT_1KM, T0 + 300 * k, &f), SQ25_OK);
    return f; /* all NaN */
}

static void push_and_free(sq25_pipeline *p, sq25_field *f)
{
    assert_int_equal(sq25_pipeline_push_frame(p, f), SQ25_OK);
    sq25_field_destroy(f);
}

/* Centroid of the cells above half the maximum, in pixels. */
static void centroid(const sq25_field *f, double *cx, double *cy)
{
    const float *d = sq25_field_data_const(f);
    double mx = 0, sw = 0, sx = 0, sy = 0;
    for (int i = 0; i < 64 * 64; i++)
        if (d[i] > mx) mx = d[i];
    for (int r = 0; r < 64; r++)
        for (int c = 0; c < 64; c++) {
            double v = d[r * 64 + c];
            if (v > mx / 2) sw += v, sx += v * (c + 0.5), sy += v * (r + 0.5);
        }
    *cx = sx / sw;
    *cy = sy / sw;
}

static void test_missing_frame_is_bridged(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_pipeline *p = NULL;
    assert_int_equal(sq25_pipeline_create(ctx, &p), SQ25_OK);
    push_and_free(p, cell_at_step(ctx, 0));
    push_and_free(p, cell_at_step(ctx, 1));
    push_and_free(p, cell_at_step(ctx, 3)); /* step 2 missing */
    assert_int_equal(sq25_pipeline_step_s(p), 300);
    sq25_warning *w = NULL;
    assert_int_equal(sq25_pipeline_run(p, &w), SQ25_OK);
    assert_int_equal(sq25_warning_state(w), SQ25_STATE_DEGRADED);
    assert_non_null(strstr(sq25_warning_state_reason(w), "600 s apart"));
    assert_int_equal(sq25_warning_issue_time(w), T0 + 900);
    assert_int_equal(sq25_warning_data_time(w), T0 + 900);
    const sq25_field *lead1 = sq25_pipeline_forecast(p, 0);
    assert_int_equal(sq25_field_valid_time(lead1), T0 + 1200);
    double cx, cy;
    centroid(lead1, &cx, &cy);
    assert_float_equal(cx, 28.0, 0.3); /* step 4: 20 + 2*4 */
    assert_float_equal(cy, 28.0, 0.3); /* 24 + 4 */
    const float *u = sq25_pipeline_motion_u(p), *v = sq25_pipeline_motion_v(p);
    assert_float_equal(u[27 * 64 + 26], 2.0, 0.15); /* per 5-minute step, not per 10 */
    assert_float_equal(v[27 * 64 + 26], 1.0, 0.15);
    sq25_warning_destroy(w);
    /* more missing frames than bridged: the 1.0 behaviour, an error and nothing changed */
    assert_int_equal(sq25_pipeline_set_max_gap(p, 7), SQ25_ERR_RANGE);
    sq25_field *late = cell_at_step(ctx, 7); /* 3 frames missing after step 3 */
    assert_int_equal(sq25_pipeline_push_frame(p, late), SQ25_ERR_TIME_GAP);
    assert_non_null(strstr(sq25_errmsg(ctx), "at most 2 missing"));
    assert_int_equal(sq25_pipeline_set_max_gap(p, 3), SQ25_OK);
    assert_int_equal(sq25_pipeline_push_frame(p, late), SQ25_OK);
    sq25_field_destroy(late);
    sq25_pipeline_destroy(p);
    sq25_ctx_destroy(ctx);
}

static const char *slurp(const char *path)
{
    static char buf[1 << 16];
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void test_outage_stale_then_no_data(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_pipeline *p = NULL;
    sq25_targets *t = NULL;
    assert_int_equal(sq25_pipeline_create(ctx, &p), SQ25_OK);
    assert_int_equal(sq25_targets_create(ctx, &t), SQ25_OK);
    /* a target at pixel (28.5, 28.5): lon/lat of that grid position, through the same grid */
    sq25_field *probe = cell_at_step(ctx, 0);
    double col = 28.5, row = 28.5, lon, lat;
    assert_int_equal(sq25_field_pixel_to_lonlat(probe, 1, &col, 0, &row, 0, &lon, 0, &lat, 0),
                     SQ25_OK);
    sq25_field_destroy(probe);
    assert_int_equal(sq25_targets_add_point(t, "u1", "Underpass", lon, lat, NAN), SQ25_OK);
    sq25_pipeline_set_targets(p, t);
    const double levels[1] = {1.0};
    assert_int_equal(sq25_warn_options_set_levels(sq25_pipeline_warn_options(p), 1, levels, NULL),
                     SQ25_OK);
    for (int k = 0; k < 3; k++) push_and_free(p, cell_at_step(ctx, k));
    push_and_free(p, outage_at_step(ctx, 3));
    sq25_warning *w = NULL;
    assert_int_equal(sq25_pipeline_run(p, &w), SQ25_OK);
    assert_int_equal(sq25_warning_state(w), SQ25_STATE_STALE);
    assert_int_equal(sq25_warning_issue_time(w), T0 + 900);
    assert_int_equal(sq25_warning_data_time(w), T0 + 600);
    const sq25_field *lead1 = sq25_pipeline_forecast(p, 0);
    assert_int_equal(sq25_field_valid_time(lead1), T0 + 1200);
    double cx, cy;
    centroid(lead1, &cx, &cy);
    assert_float_equal(cx, 28.0, 0.3); /* step 4 */
    assert_float_equal(cy, 28.0, 0.3);
    int level, st;
    assert_int_equal(sq25_warning_target_result(w, 0, &level, NULL, NULL, NULL, NULL), SQ25_OK);
    assert_int_equal(level, 1); /* the cell passes over the target: 40 mm/h for minutes */
    assert_int_equal(sq25_warning_target_state(w, 0, &st), SQ25_OK);
    assert_int_equal(st, SQ25_STATE_STALE);
    sq25_warning_destroy(w);

    push_and_free(p, outage_at_step(ctx, 4));
    push_and_free(p, outage_at_step(ctx, 5)); /* 3 frames without data > gap of 2 */
    assert_int_equal(sq25_pipeline_run(p, &w), SQ25_OK);
    assert_int_equal(sq25_warning_state(w), SQ25_STATE_NO_DATA);
    assert_int_equal(sq25_warning_target_result(w, 0, &level, NULL, NULL, NULL, NULL), SQ25_OK);
    assert_int_equal(level, SQ25_LEVEL_NO_DATA);
    assert_int_equal(sq25_warning_target_state(w, 0, &st), SQ25_OK);
    assert_int_equal(st, SQ25_STATE_NO_DATA);
    sq25_field *states = NULL;
    assert_int_equal(sq25_warning_states(w, &states), SQ25_OK);
    assert_float_equal(sq25_field_data(states)[0], SQ25_STATE_NO_DATA, 0);
    sq25_field_destroy(states);
    char path[600];
    snprintf(path, sizeof path, "%s/outage.csv", test_tmpdir());
    assert_int_equal(sq25_warning_write_targets_csv(w, path), SQ25_OK);
    const char *csv = slurp(path);
    assert_non_null(strstr(csv, "level,level_name,state,"));
    assert_non_null(strstr(csv, ",-1,no data,no_data,"));
    snprintf(path, sizeof path, "%s/outage.json", test_tmpdir());
    assert_int_equal(sq25_warning_write_summary_json(w, path), SQ25_OK);
    const char *json = slurp(path);
    assert_non_null(strstr(json, "\"state\":\"no_data\""));
    assert_non_null(strstr(json, "\"level\":-1,\"state\":\"no_data\""));
    sq25_warning_destroy(w);
    sq25_pipeline_destroy(p);
    sq25_targets_destroy(t);
    sq25_ctx_destroy(ctx);
}

static const char *RMI[5] = {"radar/rmi_20210704/20210704172500.rad.best.comp.rate.qpe.hdf",
                             "radar/rmi_20210704/20210704173000.rad.best.comp.rate.qpe.hdf",
                             "radar/rmi_20210704/20210704173500.rad.best.comp.rate.qpe.hdf",
                             "radar/rmi_20210704/20210704174000.rad.best.comp.rate.qpe.hdf",
                             "radar/rmi_20210704/20210704174500.rad.best.comp.rate.qpe.hdf"};

/* CSI at 1 mm/h of the +5 min lead of a run over the frames `use` against the 17:45 frame. */
static double lead1_csi(sq25_ctx *ctx, const int *use, int n, int *run_state)
{
    sq25_pipeline *p = NULL;
    assert_int_equal(sq25_pipeline_create(ctx, &p), SQ25_OK);
    assert_int_equal(sq25_pipeline_set_horizon(p, 900), SQ25_OK);
    assert_int_equal(sq25_warn_options_set_horizon(sq25_pipeline_warn_options(p), 900), SQ25_OK);
    for (int i = 0; i < n; i++) {
        sq25_field *f = NULL;
        assert_int_equal(sq25_read_field(ctx, test_data_path(RMI[use[i]]), &f), SQ25_OK);
        push_and_free(p, f);
    }
    sq25_warning *w = NULL;
    assert_int_equal(sq25_pipeline_run(p, &w), SQ25_OK);
    *run_state = sq25_warning_state(w);
    sq25_field *obs = NULL;
    assert_int_equal(sq25_read_field(ctx, test_data_path(RMI[4]), &obs), SQ25_OK);
    const sq25_field *lead1 = sq25_pipeline_forecast(p, 0);
    assert_int_equal(sq25_field_valid_time(lead1), sq25_field_valid_time(obs));
    size_t cells = (size_t)sq25_field_width(obs) * (size_t)sq25_field_height(obs);
    int64_t counts[4];
    assert_int_equal(sq25_verify_contingency(sq25_field_data_const(lead1),
                                             sq25_field_data_const(obs), cells, 1.0, counts),
                     SQ25_OK);
    double csi;
    sq25_verify_categorical_scores(counts, NULL, NULL, &csi);
    sq25_field_destroy(obs);
    sq25_warning_destroy(w);
    sq25_pipeline_destroy(p);
    return csi;
}

static void test_bundled_sequence_with_a_frame_removed(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    const int full[3] = {1, 2, 3}, gap[3] = {0, 1, 3}; /* 17:35 removed */
    int st_full, st_gap;
    double csi_full = lead1_csi(ctx, full, 3, &st_full);
    double csi_gap = lead1_csi(ctx, gap, 3, &st_gap);
    print_message("CSI(1 mm/h, +5 min): full sequence %.3f, 17:35 removed %.3f\n", csi_full,
                  csi_gap);
    assert_int_equal(st_full, SQ25_STATE_OK);
    assert_int_equal(st_gap, SQ25_STATE_DEGRADED);
    assert_true(csi_gap > 0.5);                 /* a useful forecast, not an empty one */
    assert_true(fabs(csi_gap - csi_full) < 0.1); /* about as good as with every frame */
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_frame_is_bridged),
        cmocka_unit_test(test_outage_stale_then_no_data),
        cmocka_unit_test(test_bundled_sequence_with_a_frame_removed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
