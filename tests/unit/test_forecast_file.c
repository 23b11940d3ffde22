/* test_forecast_file.c -- a forecast file laid out as `sq25 nowcast` writes it (RATE leads,
 * then a motion grid) reads back lead by lead through the general readers: values, NaN and
 * valid times as written, the motion not counted as a lead. */
#include "support.h"

#include <math.h>
#include <stdio.h>

#define EQC "+proj=eqc +a=6371000 +b=6371000 +units=m"

static void test_round_trip(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    const double gt[6] = {0, 1000, 0, 5000000, 0, -1000};
    sq25_field *lead[2], *motion = NULL;
    for (int k = 0; k < 2; k++) {
        assert_int_equal(sq25_field_create(ctx, 6, 4, EQC, gt, 1000 + 300 * (k + 1), &lead[k]),
                         SQ25_OK);
        float *d = sq25_field_data(lead[k]);
        for (int i = 0; i < 24; i++) d[i] = (float)(i + 100 * k) * 0.25f;
        d[5] = NAN;
    }
    assert_int_equal(sq25_field_create(ctx, 6, 4, EQC, gt, 1000, &motion), SQ25_OK);
    for (int i = 0; i < 24; i++) sq25_field_data(motion)[i] = -1.5f;
    char path[512];
    snprintf(path, sizeof path, "%s/fc.h5", test_tmpdir());
    sq25_odim_writer *w = NULL;
    assert_int_equal(sq25_odim_writer_create(ctx, path, &w), SQ25_OK);
    for (int k = 0; k < 2; k++)
        assert_int_equal(sq25_odim_writer_add(w, lead[k], "RATE", 1000 + 300 * k, 1300 + 300 * k),
                         SQ25_OK);
    assert_int_equal(sq25_odim_writer_add(w, motion, "UMOTION", 700, 1000), SQ25_OK);
    assert_int_equal(sq25_odim_writer_close(w), SQ25_OK);

    int count = 0;
    assert_int_equal(sq25_file_frame_count(ctx, path, &count), SQ25_OK);
    assert_int_equal(count, 2); /* the motion dataset is not a lead */
    for (int k = 0; k < 2; k++) {
        sq25_field *f = NULL;
        assert_int_equal(sq25_read_field_frame(ctx, path, k, &f), SQ25_OK);
        assert_int_equal(sq25_field_valid_time(f), 1300 + 300 * k);
        const float *d = sq25_field_data_const(f);
        assert_true(isnan(d[5]));
        for (int i = 0; i < 24; i++)
            if (i != 5) assert_float_equal(d[i], (i + 100 * k) * 0.25, 1e-6);
        sq25_field_destroy(f);
    }
    sq25_field *f = NULL;
    assert_int_equal(sq25_read_field_frame(ctx, path, 2, &f), SQ25_ERR_RANGE);
    assert_null(f);
    assert_int_equal(sq25_file_frame_count(ctx, "/nonexistent.h5", &count),
                     SQ25_ERR_FILE_NOT_FOUND);
    for (int k = 0; k < 2; k++) sq25_field_destroy(lead[k]);
    sq25_field_destroy(motion);
    remove(path);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_round_trip)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
