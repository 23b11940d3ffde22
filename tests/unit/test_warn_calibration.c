/* test_warn_calibration.c -- the calibration map of warning probabilities. Analytic cases:
 * uniform 30 mm/h for an hour gives a raw neighbourhood probability of exactly 1 for the 15 mm
 * level everywhere (every cell of every window exceeds); a map through (0,0) and (1,0.4) must
 * turn it into 0.4, and the level is issued at threshold 0.3 but not at 0.5. A map with a knee
 * (0,0), (0.5,0.1), (1,0.6): raw 1 -> 0.6. Bad maps are refused. */
#include "support.h"

#include <math.h>

#define UTM "EPSG:32631"

static sq25_warning *uniform_warning(sq25_ctx *ctx, sq25_warn_options *opt)
{
    const double gt[6] = {500000, 1000, 0, 5600000, 0, -1000};
    sq25_field *leads[12];
    const int64_t issue = 1625413800;
    for (int k = 0; k < 12; k++) {
        assert_int_equal(sq25_field_create(ctx, 20, 20, UTM, gt, issue + 300 * (k + 1), &leads[k]),
                         SQ25_OK);
        for (int i = 0; i < 400; i++) sq25_field_data(leads[k])[i] = 30.0f;
    }
    sq25_warning *w = NULL;
    assert_int_equal(sq25_warn_compute(ctx, opt, (const sq25_field *const *)leads, 12, 300, issue,
                                       &w),
                     SQ25_OK);
    for (int k = 0; k < 12; k++) sq25_field_destroy(leads[k]);
    return w;
}

static float value_at(sq25_field *f, int r, int c) { return sq25_field_data(f)[r * 20 + c]; }

static void test_calibration_map(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_warn_options *opt = NULL;
    assert_int_equal(sq25_warn_options_create(ctx, &opt), SQ25_OK);
    const double raw2[2] = {0, 1}, cal2[2] = {0, 0.4};
    assert_int_equal(sq25_warn_options_set_calibration(opt, 2, raw2, cal2), SQ25_OK);
    assert_int_equal(sq25_warn_options_set_probability_threshold(opt, 0.3), SQ25_OK);
    sq25_warning *w = uniform_warning(ctx, opt);
    sq25_field *p = NULL, *lv = NULL;
    assert_int_equal(sq25_warning_probability(w, 1, &p), SQ25_OK);
    assert_float_equal(value_at(p, 10, 10), 0.4, 1e-6);
    assert_int_equal(sq25_warning_levels(w, &lv), SQ25_OK);
    assert_float_equal(value_at(lv, 10, 10), 2.0, 0); /* 30 mm: levels 1 (15) and 2 (25) */
    sq25_field_destroy(p);
    sq25_field_destroy(lv);
    sq25_warning_destroy(w);

    assert_int_equal(sq25_warn_options_set_probability_threshold(opt, 0.5), SQ25_OK);
    w = uniform_warning(ctx, opt);
    assert_int_equal(sq25_warning_levels(w, &lv), SQ25_OK);
    assert_float_equal(value_at(lv, 3, 17), 0.0, 0); /* 0.4 < 0.5: nothing issued */
    sq25_field_destroy(lv);
    sq25_warning_destroy(w);

    const double raw3[3] = {0, 0.5, 1}, cal3[3] = {0, 0.1, 0.6};
    assert_int_equal(sq25_warn_options_set_calibration(opt, 3, raw3, cal3), SQ25_OK);
    w = uniform_warning(ctx, opt);
    assert_int_equal(sq25_warning_probability(w, 2, &p), SQ25_OK);
    assert_float_equal(value_at(p, 0, 0), 0.6, 1e-6);
    sq25_field_destroy(p);
    sq25_warning_destroy(w);

    /* refused: too few points, raw not increasing, calibrated decreasing, out of [0,1] */
    const double bad_raw[3] = {0, 0.5, 0.5}, bad_cal[3] = {0, 0.3, 0.2}, big[2] = {0, 1.5};
    assert_int_equal(sq25_warn_options_set_calibration(opt, 1, raw2, cal2), SQ25_ERR_RANGE);
    assert_int_equal(sq25_warn_options_set_calibration(opt, 3, bad_raw, cal3), SQ25_ERR_RANGE);
    assert_int_equal(sq25_warn_options_set_calibration(opt, 3, raw3, bad_cal), SQ25_ERR_RANGE);
    assert_int_equal(sq25_warn_options_set_calibration(opt, 2, raw2, big), SQ25_ERR_RANGE);
    assert_int_equal(sq25_warn_options_set_calibration(opt, 0, NULL, NULL), SQ25_OK);
    w = uniform_warning(ctx, opt); /* back to raw: probability 1 */
    assert_int_equal(sq25_warning_probability(w, 1, &p), SQ25_OK);
    assert_float_equal(value_at(p, 5, 5), 1.0, 0);
    sq25_field_destroy(p);
    sq25_warning_destroy(w);
    sq25_warn_options_destroy(opt);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_calibration_map)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
