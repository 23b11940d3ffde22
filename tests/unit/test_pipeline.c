/* test_pipeline.c -- the frame-by-frame pipeline a warning service drives.
 * 1. Analytic: a Gaussian rain cell moving by a known vector (+2, +1) pixels per 5-minute step;
 *    after three frames the +5 min forecast has its peak where the cell will be.
 * 2. Bad sequences: out of order, a gap, another grid, too few frames: distinct codes, and the
 *    held state does not change.
 * 3. The same warnings frame by frame through the C API as in one batch run of the CLI on the
 *    same real RMI frames (compared byte for byte in the written GeoJSON and JSON). */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UTM "EPSG:32631"
static const double GT_1KM[6] = {500000, 1000, 0, 5600000, 0, -1000};

/* A Gaussian cell of peak 40 mm/h and sigma 4 px centred at (cx, cy) pixels. */
static sq25_field *gaussian_frame(sq25_ctx *ctx, double cx, double cy, int64_t t)
{
    sq25_field *f = NULL;
    assert_int_equal(sq25_field_create(ctx, 64, 64, UTM, GT_1KM, t, &f), SQ25_OK);
    float *d = sq25_field_data(f);
    for (int r = 0; r < 64; r++)
        for (int c = 0; c < 64; c++) {
            double dx = c + 0.5 - cx, dy = r + 0.5 - cy;
            d[r * 64 + c] = (float)(40.0 * exp(-(dx * dx + dy * dy) / (2 * 16.0)));
        }
    return f;
}

static void peak_position(const sq25_field *f, double *cx, double *cy)
{
    /* centroid of the cells above half the maximum: robust to bilinear smoothing */
    const float *d = sq25_field_data_const(f);
    double mx = 0, sw = 0, sx = 0, sy = 0;
    for (int i = 0; i < 64 * 64; i++)
        if (d[i] > mx) mx = d[i];
    for (int r = 0; r < 64; r++)
        for (int c = 0; c < 64; c++) {
            double v = d[r * 64 + c];
            if (v > mx / 2) {
                sw += v;
                sx += v * (c + 0.5);
                sy += v * (r + 0.5);
            }
        }
    *cx = sx / sw;
    *cy = sy / sw;
}

static void test_moving_cell(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_pipeline *p = NULL;
    assert_int_equal(sq25_pipeline_create(ctx, &p), SQ25_OK);
    const int64_t t0 = 1625413800;
    for (int k = 0; k < 3; k++) {
        sq25_field *f = gaussian_frame(ctx, 20 + 2 * k, 24 + 1 * k, t0 + 300 * k);
        assert_int_equal(sq25_pipeline_push_frame(p, f), SQ25_OK);
        sq25_field_destroy(f);
    }
    assert_int_equal(sq25_pipeline_frame_count(p), 3);
    assert_int_equal(sq25_pipeline_step_s(p), 300);
    sq25_warning *w = NULL;
    assert_int_equal(sq25_pipeline_run(p, &w), SQ25_OK);
    assert_int_equal(sq25_pipeline_forecast_count(p), 12); /* 60 min / 5 min */
    const sq25_field *lead1 = sq25_pipeline_forecast(p, 0);
    assert_int_equal(sq25_field_valid_time(lead1), t0 + 900);
    double cx, cy;
    peak_position(lead1, &cx, &cy);
    /* last frame centred at (24, 26); one step later the cell is at (26, 27) */
    assert_float_equal(cx, 26.0, 0.3);
    assert_float_equal(cy, 27.0, 0.3);
    const sq25_field *lead4 = sq25_pipeline_forecast(p, 3);
    peak_position(lead4, &cx, &cy);
    assert_float_equal(cx, 32.0, 0.5); /* 24 + 4*2 */
    assert_float_equal(cy, 30.0, 0.5); /* 26 + 4*1 */
    /* motion field at the cell: (+2, +1) pixels per step */
    const float *u = sq25_pipeline_motion_u(p), *v = sq25_pipeline_motion_v(p);
    assert_float_equal(u[26 * 64 + 24], 2.0, 0.1);
    assert_float_equal(v[26 * 64 + 24], 1.0, 0.1);
    assert_int_equal(sq25_warning_issue_time(w), t0 + 600);
    sq25_warning_destroy(w);
    sq25_pipeline_destroy(p);
    sq25_ctx_destroy(ctx);
}

static void test_bad_sequences(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_pipeline *p = NULL;
    assert_int_equal(sq25_pipeline_create(ctx, &p), SQ25_OK);
    const int64_t t0 = 1625413800;
    sq25_field *a = gaussian_frame(ctx, 20, 20, t0), *b = gaussian_frame(ctx, 21, 20, t0 + 300);
    sq25_field *late = gaussian_frame(ctx, 22, 20, t0 + 900); /* 10 minutes missing */
    sq25_field *other = NULL;
    const double gt_other[6] = {500000, 500, 0, 5600000, 0, -500};
    assert_int_equal(sq25_field_create(ctx, 64, 64, UTM, gt_other, t0 + 600, &other), SQ25_OK);
    sq25_warning *w = NULL;
    assert_int_equal(sq25_pipeline_run(p, &w), SQ25_ERR_TOO_FEW);
    assert_null(w);
    assert_int_equal(sq25_pipeline_push_frame(p, a), SQ25_OK);
    assert_int_equal(sq25_pipeline_push_frame(p, a), SQ25_ERR_TIME_ORDER);
    assert_int_equal(sq25_pipeline_push_frame(p, b), SQ25_OK);
    assert_int_equal(sq25_pipeline_set_max_gap(p, 0), SQ25_OK); /* every gap an error, as 1.0 */
    assert_int_equal(sq25_pipeline_push_frame(p, late), SQ25_ERR_TIME_GAP);
    assert_non_null(strstr(sq25_errmsg(ctx), "600 s after"));
    assert_int_equal(sq25_pipeline_push_frame(p, other), SQ25_ERR_GRID_MISMATCH);
    assert_int_equal(sq25_pipeline_frame_count(p), 2); /* nothing changed by the failures */
    assert_int_equal(sq25_pipeline_run(p, &w), SQ25_ERR_TOO_FEW);
    assert_int_equal(sq25_pipeline_set_input_frames(p, 1), SQ25_ERR_RANGE);
    assert_int_equal(sq25_pipeline_set_horizon(p, 0), SQ25_ERR_RANGE);
    sq25_pipeline_reset(p);
    assert_int_equal(sq25_pipeline_frame_count(p), 0);
    assert_int_equal(sq25_pipeline_push_frame(p, late), SQ25_OK);
    sq25_field_destroy(a);
    sq25_field_destroy(b);
    sq25_field_destroy(late);
    sq25_field_destroy(other);
    sq25_pipeline_destroy(p);
    sq25_pipeline_destroy(NULL);
    sq25_ctx_destroy(ctx);
}

/* ---- frame by frame (C API) against one batch run of the CLI ---- */
#define N_REAL 5
static const char *real_frames[N_REAL] = {
    "radar/rmi_20210704/20210704172500.rad.best.comp.rate.qpe.hdf",
    "radar/rmi_20210704/20210704173000.rad.best.comp.rate.qpe.hdf",
    "radar/rmi_20210704/20210704173500.rad.best.comp.rate.qpe.hdf",
    "radar/rmi_20210704/20210704174000.rad.best.comp.rate.qpe.hdf",
    "radar/rmi_20210704/20210704174500.rad.best.comp.rate.qpe.hdf"};
#define GRID_SPEC "lonlat:5.8,49.95,6.4,50.35:250"

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) n = 0;
    if (buf) buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void assert_same_file(const char *a, const char *b)
{
    char *x = slurp(a), *y = slurp(b);
    assert_non_null(x);
    assert_non_null(y);
    assert_string_equal(x, y);
    free(x);
    free(y);
}

static void test_frame_by_frame_equals_batch_cli(void **state)
{
    (void)state;
    char paths[N_REAL][512], cmd[4096], dir_cli[512], f_api[768], f_cli[768];
    int len = snprintf(cmd, sizeof cmd, "build/sq25 run --quiet --levels 5,10,15 --grid %s --radar",
                       GRID_SPEC);
    for (int i = 0; i < N_REAL; i++) {
        snprintf(paths[i], sizeof paths[i], "%s", test_data_path(real_frames[i]));
        len += snprintf(cmd + len, sizeof cmd - (size_t)len, " %s", paths[i]);
    }
    snprintf(dir_cli, sizeof dir_cli, "%s/cli", test_tmpdir());
    snprintf(cmd + len, sizeof cmd - (size_t)len, " --out %s > /dev/null", dir_cli);
    assert_int_equal(system(cmd), 0);

    sq25_ctx *ctx = sq25_ctx_create();
    sq25_pipeline *p = NULL;
    sq25_field *grid = NULL;
    assert_int_equal(sq25_pipeline_create(ctx, &p), SQ25_OK);
    const double levels[3] = {5, 10, 15};
    assert_int_equal(sq25_warn_options_set_levels(sq25_pipeline_warn_options(p), 3, levels, NULL),
                     SQ25_OK);
    assert_int_equal(sq25_grid_parse(ctx, GRID_SPEC, 0, &grid), SQ25_OK);
    assert_int_equal(sq25_pipeline_set_street_grid(p, grid), SQ25_OK);
    sq25_warning *w = NULL;
    for (int i = 0; i < N_REAL; i++) { /* as a service: each frame as it arrives, then a run */
        sq25_field *f = NULL;
        assert_int_equal(sq25_read_field(ctx, paths[i], &f), SQ25_OK);
        assert_int_equal(sq25_pipeline_push_frame(p, f), SQ25_OK);
        sq25_field_destroy(f);
        sq25_warning_destroy(w);
        w = NULL;
        int rc = sq25_pipeline_run(p, &w);
        assert_int_equal(rc, i < 2 ? SQ25_ERR_TOO_FEW : SQ25_OK);
    }
    snprintf(f_api, sizeof f_api, "%s/api-warnings.geojson", test_tmpdir());
    snprintf(f_cli, sizeof f_cli, "%s/warnings.geojson", dir_cli);
    assert_int_equal(sq25_warning_write_areas_geojson(w, f_api), SQ25_OK);
    assert_same_file(f_api, f_cli);
    snprintf(f_api, sizeof f_api, "%s/api-summary.json", test_tmpdir());
    snprintf(f_cli, sizeof f_cli, "%s/summary.json", dir_cli);
    assert_int_equal(sq25_warning_write_summary_json(w, f_api), SQ25_OK);
    assert_same_file(f_api, f_cli);
    /* the warning is not empty on this storm at these levels, so the comparison compares
     * warned cells, not two empty files: level 1 (5 mm in 60 min) covers some cells */
    char *summary = slurp(f_api);
    const char *lvl1 = strstr(summary, "\"areas\":[{\"level\":1,\"cells\":");
    assert_non_null(lvl1);
    assert_true(atoi(lvl1 + strlen("\"areas\":[{\"level\":1,\"cells\":")) > 0);
    free(summary);
    sq25_warning_destroy(w);
    sq25_field_destroy(grid);
    sq25_pipeline_destroy(p);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_moving_cell),
        cmocka_unit_test(test_bad_sequences),
        cmocka_unit_test(test_frame_by_frame_equals_batch_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
