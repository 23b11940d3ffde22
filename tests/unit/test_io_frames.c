/* test_io_frames.c -- ODIM files of several frames (a forecast): the frames are the datasets
 * holding the preferred quantity, in order, each with its dataset's end time as valid time;
 * other quantities (motion) are not frames. Expected values are the analytic fields written. */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define UTM "EPSG:32631"

static sq25_field *constant_field(sq25_ctx *ctx, float value, int64_t t)
{
    const double gt[6] = {500000, 1000, 0, 5600000, 0, -1000};
    sq25_field *f = NULL;
    assert_int_equal(sq25_field_create(ctx, 6, 4, UTM, gt, t, &f), SQ25_OK);
    for (int i = 0; i < 24; i++) sq25_field_data(f)[i] = value;
    sq25_field_data(f)[5] = NAN;
    return f;
}

static void test_forecast_frames(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    char path[600];
    snprintf(path, sizeof path, "%s/forecast.h5", test_tmpdir());
    const int64_t issue = 1625413800; /* 2021-07-04T15:50Z */
    sq25_odim_writer *w = NULL;
    assert_int_equal(sq25_odim_writer_create(ctx, path, &w), SQ25_OK);
    for (int k = 1; k <= 3; k++) {
        sq25_field *f = constant_field(ctx, 10.0f * k, issue + 300 * k);
        assert_int_equal(sq25_odim_writer_add(w, f, "RATE", issue + 300 * (k - 1), issue + 300 * k),
                         SQ25_OK);
        sq25_field_destroy(f);
    }
    sq25_field *motion = constant_field(ctx, 1.5f, issue);
    assert_int_equal(sq25_odim_writer_add(w, motion, "UMOTION", issue - 300, issue), SQ25_OK);
    sq25_field_destroy(motion);
    assert_int_equal(sq25_odim_writer_close(w), SQ25_OK);

    int n = 0;
    assert_int_equal(sq25_file_frame_count(ctx, path, &n), SQ25_OK);
    assert_int_equal(n, 3); /* three RATE leads; the motion dataset is not a frame */
    for (int k = 0; k < 3; k++) {
        sq25_field *f = NULL;
        assert_int_equal(sq25_read_field_frame(ctx, path, k, &f), SQ25_OK);
        assert_float_equal(sq25_field_data(f)[0], 10.0 * (k + 1), 1e-6);
        assert_true(isnan(sq25_field_data(f)[5]));
        assert_int_equal(sq25_field_valid_time(f), issue + 300 * (k + 1));
        assert_string_equal(sq25_field_meta(f, SQ25_META_QUANTITY), "RATE");
        sq25_field_destroy(f);
    }
    sq25_field *f = NULL;
    assert_int_equal(sq25_read_field_frame(ctx, path, 3, &f), SQ25_ERR_RANGE);
    assert_non_null(strstr(sq25_errmsg(ctx), "holds 3"));
    assert_null(f);
    sq25_ctx_destroy(ctx);
}

static void test_single_frame_keeps_nominal_time(void **state)
{
    (void)state;
    /* RMI 16:50 file: one RATE dataset; nominal /what time 165000 while dataset1/what endtime
     * is the scan end (h5dump -a dataset1/what/endtime ... gives "164927") */
    sq25_ctx *ctx = sq25_ctx_create();
    const char *path = test_data_path("radar/rmi_20210704/20210704165000.rad.best.comp.rate.qpe.hdf");
    int n = 0;
    assert_int_equal(sq25_file_frame_count(ctx, path, &n), SQ25_OK);
    assert_int_equal(n, 1);
    sq25_field *f = NULL;
    assert_int_equal(sq25_read_field(ctx, path, &f), SQ25_OK);
    int64_t expect;
    assert_int_equal(sq25_time_parse("2021-07-04T16:50:00Z", &expect), SQ25_OK);
    assert_int_equal(sq25_field_valid_time(f), expect);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forecast_frames),
        cmocka_unit_test(test_single_frame_keeps_nominal_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
