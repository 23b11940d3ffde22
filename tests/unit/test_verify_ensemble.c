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

/* CRPS of the neighbourhood ensemble against the exact formula on a small known ensemble:
 * a 3 x 1 grid, members {0, 2, 4} and {1, 3, 5}, half side 1. The pooled values of cell 0's
 * window (cells 0, 1) are {0, 1, 2, 3} with equal weight, of cell 1 {0, ..., 5}, of cell 2
 * {2, 3, 4, 5}. CRPS = mean |x - y| - 1/2 mean |x - x'|: cell 0 with y = 0: 6/4 - 10/16 =
 * 0.875 (pairs of {0..3}: sum_{i<j} |xi - xj| = 3*1 + 2*2 + 1*3 = 10, and 1/2 mean over the
 * 16 ordered pairs = 10/16); cell 1 with y = 2.5: 9/6 - 35/36 (pairs of {0..5}: 5 + 8 + 9 + 8
 * + 5 = 35) = 19/36; cell 2 with y = 5: 6/4 - 10/16 = 0.875. Mean (0.875 + 19/36 + 0.875) / 3.
 * The function's value is the mean of two sums that bracket the integral; it must lie within
 * its own bound (half their difference) of the exact value, and the bound must be small
 * (the grid's steps near the values 2..5 are 1 % of the value, so a few hundredths). */
static void crps_neighbourhood_pooled(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    const float m0[3] = {0, 2, 4}, m1[3] = {1, 3, 5}, obs[3] = {0, 2.5f, 5};
    const float *members[2] = {m0, m1};
    double crps = 0, bound = 1;
    assert_int_equal(sq25_verify_crps_neighbourhood(ctx, members, 2, NULL, 0, 3, 1, 1, obs, &crps,
                                                    &bound), SQ25_OK);
    const double exact = (0.875 + 19.0 / 36.0 + 0.875) / 3;
    assert_true(bound < 0.03);
    assert_true(fabs(crps - exact) <= bound + 1e-9);
    /* half side 0: each cell's own two members; cell 0: {0, 1} y 0: 1/2 - 1/4 = 0.25;
     * cell 1: {2, 3} y 2.5: 1/2 - 1/4 = 0.25; cell 2: {4, 5} y 5: 0.25 */
    assert_int_equal(sq25_verify_crps_neighbourhood(ctx, members, 2, NULL, 0, 3, 1, 0, obs, &crps,
                                                    &bound), SQ25_OK);
    assert_true(fabs(crps - 0.25) <= bound + 1e-9);
    assert_true(bound < 0.03);
    sq25_ctx_destroy(ctx);
}

/* The control member: one cell, one member at 0 and a control at 2 of weight 0.5, y = 1: the
 * distribution is 0 or 2 with probability 1/2 each, CRPS = 1 - 1/2 (2 x 1/4 x 2) = 0.5. Where
 * the control is NaN the member alone: |0 - 1| = 1. A NaN member removes the cell from the
 * score (as sq25_verify_crps) but its window still uses the other cells. */
static void crps_neighbourhood_control(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    const float m[2] = {0, 0}, ctl[2] = {2, NAN}, obs[2] = {1, 1};
    const float *members[1] = {m};
    double crps = 0, bound = 1;
    assert_int_equal(sq25_verify_crps_neighbourhood(ctx, members, 1, ctl, 0.5, 1, 1, 0, obs, &crps,
                                                    &bound), SQ25_OK);
    assert_true(fabs(crps - 0.5) <= bound + 1e-9 && bound < 0.01);
    assert_int_equal(sq25_verify_crps_neighbourhood(ctx, members, 1, ctl + 1, 0.5, 1, 1, 0, obs,
                                                    &crps, &bound), SQ25_OK);
    assert_true(fabs(crps - 1.0) <= bound + 1e-9);
    /* weight 0 ignores the control: |0 - 1| */
    assert_int_equal(sq25_verify_crps_neighbourhood(ctx, members, 1, ctl, 0, 1, 1, 0, obs, &crps,
                                                    NULL), SQ25_OK);
    assert_true(fabs(crps - 1.0) < 0.01);
    /* 2 x 1 grid, half side 1, member {3, NaN}, observations {3, 3}: only cell 0 is scored,
     * its window holds the one valid value 3: CRPS 0 */
    const float mn[2] = {3, NAN}, o3[2] = {3, 3};
    const float *one[1] = {mn};
    assert_int_equal(sq25_verify_crps_neighbourhood(ctx, one, 1, NULL, 0, 2, 1, 1, o3, &crps,
                                                    &bound), SQ25_OK);
    assert_true(fabs(crps) <= bound + 1e-9);
    /* nothing valid to score: NaN */
    const float nan2[2] = {NAN, NAN};
    assert_int_equal(sq25_verify_crps_neighbourhood(ctx, one, 1, NULL, 0, 2, 1, 1, nan2, &crps,
                                                    &bound), SQ25_OK);
    assert_true(isnan(crps));
    /* arguments */
    assert_int_equal(sq25_verify_crps_neighbourhood(ctx, members, 1, ctl, 1.0, 1, 1, 0, obs, &crps,
                                                    NULL), SQ25_ERR_INVALID_ARG);
    assert_int_equal(sq25_verify_crps_neighbourhood(ctx, members, 1, NULL, 0, 1, 1, -1, obs, &crps,
                                                    NULL), SQ25_ERR_INVALID_ARG);
    assert_int_equal(sq25_verify_crps_neighbourhood(ctx, members, 0, NULL, 0, 1, 1, 0, obs, &crps,
                                                    NULL), SQ25_ERR_INVALID_ARG);
    const float inf[1] = {INFINITY};
    const float *bad[1] = {inf};
    assert_int_equal(sq25_verify_crps_neighbourhood(ctx, bad, 1, NULL, 0, 1, 1, 0, obs, &crps,
                                                    NULL), SQ25_ERR_INVALID_ARG);
    assert_int_equal(sq25_verify_crps_neighbourhood(ctx, members, 1, NULL, 0, 1, 1, 0, inf, &crps,
                                                    NULL), SQ25_ERR_INVALID_ARG);
    /* a rate under 0 counts as 0: member 0, observation -1: CRPS 0 */
    const float below[1] = {-1};
    assert_int_equal(sq25_verify_crps_neighbourhood(ctx, members, 1, NULL, 0, 1, 1, 0, below, &crps,
                                                    &bound), SQ25_OK);
    assert_true(fabs(crps) <= bound + 1e-12);
    sq25_ctx_destroy(ctx);
}

/* Half side 0 and no control: the empirical CRPS of sq25_verify_crps (checked above on
 * hand-computed cases) within the bound, on a pseudo-random 40 x 30 ensemble of 7 members
 * with dry cells, values up to 80 mm/h and NaN cells; then, with a window and a control, the
 * exact CRPS of the weighted pooled set computed here by the pair formula at the centre of a
 * 3 x 3 grid. */
static void crps_neighbourhood_random(void **state)
{
    (void)state;
    enum { W = 40, H = 30, M = 7 };
    static float mem[M][W * H], obs[W * H];
    uint64_t x = 12345;
    for (int m = 0; m < M; m++)
        for (int i = 0; i < W * H; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            const double u = (double)(x >> 11) / 9007199254740992.0;
            mem[m][i] = u < 0.5 ? 0.0f : (float)(0.1 * pow(800.0, (u - 0.5) * 2));
        }
    for (int i = 0; i < W * H; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        const double u = (double)(x >> 11) / 9007199254740992.0;
        obs[i] = u < 0.4 ? 0.0f : (float)(20 * u);
    }
    mem[2][17] = NAN;
    obs[33] = NAN;
    const float *members[M];
    for (int m = 0; m < M; m++) members[m] = mem[m];
    sq25_ctx *ctx = sq25_ctx_create();
    double exact = 0, crps = 0, bound = 1;
    assert_int_equal(sq25_verify_crps(members, M, obs, W * H, &exact), SQ25_OK);
    assert_int_equal(sq25_verify_crps_neighbourhood(ctx, members, M, NULL, 0, W, H, 0, obs, &crps,
                                                    &bound), SQ25_OK);
    assert_true(bound < 0.02);
    assert_true(fabs(crps - exact) <= bound + 1e-9);
    /* a window of half side 1 and a control of weight 0.3 on a 3 x 3 grid: the centre's
     * distribution is the 9 cells' 7 member values with weight 0.7 / 63 each and the 9
     * control values with weight 0.3 / 9 each; exact weighted CRPS by the pair formula
     * sum w_i |x_i - y| - 1/2 sum_ij w_i w_j |x_i - x_j|, compared at the centre alone (the
     * observation NaN elsewhere) */
    static float sm[M][9], sc[9], so[9];
    for (int m = 0; m < M; m++)
        for (int i = 0; i < 9; i++) sm[m][i] = mem[m][100 + i];
    for (int i = 0; i < 9; i++) {
        sc[i] = mem[0][300 + i] * 0.5f;
        so[i] = NAN;
    }
    so[4] = 4.0f;
    double xs[72], ws[72];
    int k = 0;
    for (int m = 0; m < M; m++)
        for (int i = 0; i < 9; i++) {
            xs[k] = sm[m][i];
            ws[k++] = 0.7 / 63;
        }
    for (int i = 0; i < 9; i++) {
        xs[k] = sc[i];
        ws[k++] = 0.3 / 9;
    }
    double a = 0, b = 0;
    for (int i = 0; i < k; i++) {
        a += ws[i] * fabs(xs[i] - 4.0);
        for (int j = 0; j < k; j++) b += ws[i] * ws[j] * fabs(xs[i] - xs[j]);
    }
    const float *small[M];
    for (int m = 0; m < M; m++) small[m] = sm[m];
    assert_int_equal(sq25_verify_crps_neighbourhood(ctx, small, M, sc, 0.3, 3, 3, 1, so, &crps,
                                                    &bound), SQ25_OK);
    assert_true(bound < 0.05);
    assert_true(fabs(crps - (a - b / 2)) <= bound + 1e-9);
    sq25_ctx_destroy(ctx);
}

/* Every allocation failure returns SQ25_ERR_NOMEM and leaks nothing. */
static void crps_neighbourhood_nomem(void **state)
{
    (void)state;
    const float m0[3] = {0, 2, 4}, m1[3] = {1, 3, 5}, ctl[3] = {1, 1, 1}, obs[3] = {0, 2.5f, 5};
    const float *members[2] = {m0, m1};
    int failures = 0;
    for (long n = 1; n < 100; n++) {
        test_alloc_state st = {0, 0, 0};
        sq25_ctx *ctx = test_ctx_failing(&st);
        st.fail_at = st.calls + n;
        double crps = 0;
        int rc = sq25_verify_crps_neighbourhood(ctx, members, 2, ctl, 0.3, 3, 1, 1, obs, &crps, NULL);
        st.fail_at = 0;
        sq25_ctx_destroy(ctx);
        assert_int_equal(st.live, 0);
        if (rc == SQ25_OK) break;
        assert_int_equal(rc, SQ25_ERR_NOMEM);
        failures++;
    }
    assert_true(failures > 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crps_cases),      cmocka_unit_test(brier_case),
        cmocka_unit_test(reliability_bins), cmocka_unit_test(roc_areas),
        cmocka_unit_test(rank_histogram), cmocka_unit_test(crps_neighbourhood_pooled),
        cmocka_unit_test(crps_neighbourhood_control), cmocka_unit_test(crps_neighbourhood_random),
        cmocka_unit_test(crps_neighbourhood_nomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
