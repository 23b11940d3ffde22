/* test_verify_ensemble.c -- probabilistic scores on hand-computed cases. */
#include "support.h"

#include <math.h>
#include <string.h>

/* CRPS of the empirical distribution: members {0, 2}, observation 1: the CDF is 1/2 on [0, 2),
 * so CRPS = int_0^1 (1/2)^2 + int_1^2 (1/2)^2 = 0.5. One member: CRPS = |x - y|. A cell with a
 * NaN member or observation is skipped. */
static void crps_cases(void **state)
{
    (void)state;
    const float m0[3] = {0, 3, NAN}, m1[3] = {2, 3, 1}, obs[3] = {1, 1, 1};
    const float *members[2] = {m0, m1};
    double crps = 0;
    assert_int_equal(sq25_verify_crps(members, 2, obs, 1, &crps), SQ25_OK);
    assert_true(fabs(crps - 0.5) < 1e-12);
    /* cells 0 and 1: (0.5 + |3 - 1|) / 2; cell 2 skipped */
    assert_int_equal(sq25_verify_crps(members, 2, obs, 3, &crps), SQ25_OK);
    assert_true(fabs(crps - 1.25) < 1e-12);
    const float *one[1] = {m1};
    assert_int_equal(sq25_verify_crps(one, 1, obs, 3, &crps), SQ25_OK);
    assert_true(fabs(crps - (1 + 2 + 0) / 3.0) < 1e-12);
    assert_int_equal(sq25_verify_crps(members, 0, obs, 3, &crps), SQ25_ERR_INVALID_ARG);
}

/* Brier: probabilities 0.8, 0.1, 0.5 for observations 2 (> 1: event), 0 (no event), NaN:
 * ((0.8 - 1)^2 + 0.1^2) / 2 = 0.025. */
static void brier_case(void **state)
{
    (void)state;
    const float p[3] = {0.8f, 0.1f, 0.5f}, obs[3] = {2, 0, NAN};
    double b = 0;
    assert_int_equal(sq25_verify_brier(p, obs, 3, 1.0, &b), SQ25_OK);
    assert_true(fabs(b - 0.025) < 1e-7);
}

/* Reliability: 10 bins; p = 0.05 (bin 0) twice with one event, p = 0.95 (bin 9) once with an
 * event, p = 1 falls in the last bin. Counts add up over calls. */
static void reliability_bins(void **state)
{
    (void)state;
    const float p[4] = {0.05f, 0.05f, 0.95f, 1.0f}, obs[4] = {5, 0, 5, 0};
    int64_t count[10] = {0}, events[10] = {0};
    double psum[10] = {0};
    assert_int_equal(sq25_verify_reliability(p, obs, 4, 1.0, 10, count, events, psum), SQ25_OK);
    assert_int_equal(count[0], 2);
    assert_int_equal(events[0], 1);
    assert_int_equal(count[9], 2);
    assert_int_equal(events[9], 1);
    assert_true(fabs(psum[9] - 1.95) < 1e-6);
    assert_int_equal(sq25_verify_reliability(p, obs, 4, 1.0, 10, count, events, psum), SQ25_OK);
    assert_int_equal(count[0], 4);
}

/* ROC: a perfect forecast (1 on events, 0 elsewhere) has area 1; a forecast of 0.5
 * everywhere has POD = POFD at every threshold: area 0.5; a forecast that is 1 exactly where
 * there is no event has area 0. */
static void roc_areas(void **state)
{
    (void)state;
    const float obs[6] = {5, 5, 0, 0, 0, 2};
    const float perfect[6] = {1, 1, 0, 0, 0, 1}, flat[6] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
    const float wrong[6] = {0, 0, 1, 1, 1, 0};
    const float *cases[3] = {perfect, flat, wrong};
    const double expected[3] = {1.0, 0.5, 0.0};
    for (int c = 0; c < 3; c++) {
        int64_t h[10] = {0}, m[10] = {0}, f[10] = {0}, cn[10] = {0};
        assert_int_equal(sq25_verify_roc_counts(cases[c], obs, 6, 1.0, 10, h, m, f, cn), SQ25_OK);
        assert_true(fabs(sq25_verify_roc_area(10, h, m, f, cn) - expected[c]) < 1e-12);
    }
    int64_t h[10] = {0}, m[10] = {0}, f[10] = {0}, cn[10] = {0};
    const float dry[2] = {0, 0};
    sq25_verify_roc_counts(flat, dry, 2, 1.0, 10, h, m, f, cn);
    assert_true(isnan(sq25_verify_roc_area(10, h, m, f, cn))); /* no events */
}

/* Rank histogram: three members 1, 2, 3; observations 0 (rank 0), 2.5 (rank 2), 9 (rank 3). */
static void rank_histogram(void **state)
{
    (void)state;
    const float a[3] = {1, 1, 1}, b[3] = {2, 2, 2}, c[3] = {3, 3, 3}, obs[3] = {0, 2.5f, 9};
    const float *members[3] = {a, b, c};
    int64_t counts[4] = {0};
    assert_int_equal(sq25_verify_rank_histogram(members, 3, obs, 3, counts), SQ25_OK);
    assert_int_equal(counts[0], 1);
    assert_int_equal(counts[1], 0);
    assert_int_equal(counts[2], 1);
    assert_int_equal(counts[3], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crps_cases),      cmocka_unit_test(brier_case),
        cmocka_unit_test(reliability_bins), cmocka_unit_test(roc_areas),
        cmocka_unit_test(rank_histogram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
