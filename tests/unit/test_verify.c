/* test_verify.c -- contingency scores, MAE and FSS on small arrays computed by hand. */
#include "support.h"

#include <math.h>
#include <stdlib.h>

static void test_contingency_by_hand(void **state)
{
    (void)state;
    /* threshold 1 mm/h, event = value > 1 (so 1.0 itself is no event):
     *   cell: 0    1    2    3    4    5    6    7
     *   fc:   2    0    3    1.0  5    NaN  0    2
     *   obs:  3    2    0    0    1.5  9    0    NaN
     *   hit, miss, false alarm, correct neg, hit, skipped, correct neg, skipped
     * h=2 m=1 f=1 c=2 -> POD 2/3, FAR 1/3, CSI 2/4 = 0.5 */
    const float fc[8] = {2, 0, 3, 1.0f, 5, NAN, 0, 2};
    const float obs[8] = {3, 2, 0, 0, 1.5f, 9, 0, NAN};
    int64_t counts[4];
    assert_int_equal(sq25_verify_contingency(fc, obs, 8, 1.0, counts), SQ25_OK);
    assert_int_equal(counts[0], 2);
    assert_int_equal(counts[1], 1);
    assert_int_equal(counts[2], 1);
    assert_int_equal(counts[3], 2);
    double pod, far, csi;
    sq25_verify_categorical_scores(counts, &pod, &far, &csi);
    assert_float_equal(pod, 2.0 / 3.0, 1e-12);
    assert_float_equal(far, 1.0 / 3.0, 1e-12);
    assert_float_equal(csi, 0.5, 1e-12);
    /* no events at all: every score undefined */
    const int64_t none[4] = {0, 0, 0, 8};
    sq25_verify_categorical_scores(none, &pod, &far, &csi);
    assert_true(isnan(pod) && isnan(far) && isnan(csi));
    /* MAE over cells 0..4 and 6: |2-3|+|0-2|+|3-0|+|1-0|+|5-1.5|+|0-0| = 10.5, /6 = 1.75 */
    double mae;
    assert_int_equal(sq25_verify_mae(fc, obs, 8, &mae), SQ25_OK);
    assert_float_equal(mae, 1.75, 1e-12);
    assert_int_equal(sq25_verify_contingency(NULL, obs, 8, 1.0, counts), SQ25_ERR_INVALID_ARG);
}

static void test_fss_by_hand(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    /* 1 x 4 grid (one row), threshold 5 (event = value >= 5), window 3 (zero padding).
     *   fc events:  1 0 0 0     (fc = 5, 1, 0, NaN: 5 >= 5 is an event, NaN is not)
     *   obs events: 0 1 0 0
     * A 3x3 window on a one-row grid sees one row: fractions = (3-wide sums)/9.
     *   Pf = (1+0)/9, (1+0+0)/9, 0/9, 0 = 1/9, 1/9, 0, 0
     *   Po = (0+1)/9, (0+1+0)/9, (1+0+0)/9, 0 = 1/9, 1/9, 1/9, 0
     *   sum (Pf-Po)^2 = 1/81; sum Pf^2 + Po^2 = 2/81 + 3/81 = 5/81 -> FSS = 1 - 1/5 = 0.8 */
    const float fc[4] = {5, 1, 0, NAN};
    const float obs[4] = {0, 7, 0, 2};
    double fss = 0;
    assert_int_equal(sq25_verify_fss(ctx, fc, obs, 4, 1, 5.0, 3, &fss), SQ25_OK);
    assert_float_equal(fss, 0.8, 1e-12);
    /* window 1 is the pixel-wise score: Pf = 1,0,0,0; Po = 0,1,0,0 -> 1 - 2/2 = 0 */
    assert_int_equal(sq25_verify_fss(ctx, fc, obs, 4, 1, 5.0, 1, &fss), SQ25_OK);
    assert_float_equal(fss, 0.0, 1e-12);
    /* identical fields: perfect score; no events anywhere: undefined */
    assert_int_equal(sq25_verify_fss(ctx, obs, obs, 2, 2, 5.0, 3, &fss), SQ25_OK);
    assert_float_equal(fss, 1.0, 1e-12);
    assert_int_equal(sq25_verify_fss(ctx, obs, obs, 2, 2, 50.0, 3, &fss), SQ25_OK);
    assert_true(isnan(fss));
    assert_int_equal(sq25_verify_fss(ctx, fc, obs, 4, 1, 5.0, 0, &fss), SQ25_ERR_INVALID_ARG);
    /* joint mask: a forecast event where the observation is NaN is no event in either field.
     * fc events 1 1 0 0, obs 9 at cell 1 only and NaN at cell 0: with the mask both have the
     * single event at cell 1, so FSS = 1 (without it, window 1: Pf = 1,1,0,0, Po = 0,1,0,0,
     * 1 - 1/3 = 0.667) */
    const float fc2[4] = {6, 7, 0, 0}, obs2[4] = {NAN, 9, 0, 0};
    assert_int_equal(sq25_verify_fss(ctx, fc2, obs2, 4, 1, 5.0, 1, &fss), SQ25_OK);
    assert_float_equal(fss, 1.0, 1e-12);
    sq25_ctx_destroy(ctx);
}

/* FSS through summed-area tables equals a direct window count on a random 2-D case with
 * NaN observations (joint mask: no event in either field there). */
static void test_fss_matches_direct_sum(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    enum { W = 23, H = 17, WIN = 5 };
    float fc[W * H], obs[W * H];
    srand(7);
    for (int i = 0; i < W * H; i++) {
        fc[i] = (float)(rand() % 10);
        obs[i] = (i % 11 == 0) ? NAN : (float)(rand() % 10);
    }
    double num = 0, den = 0;
    for (int r = 0; r < H; r++)
        for (int c = 0; c < W; c++) {
            int nf = 0, no = 0;
            for (int rr = r - WIN / 2; rr <= r + WIN / 2; rr++)
                for (int cc = c - WIN / 2; cc <= c + WIN / 2; cc++) {
                    if (rr < 0 || cc < 0 || rr >= H || cc >= W) continue;
                    int valid = !isnan(obs[rr * W + cc]); /* fc has no NaN here */
                    nf += valid && fc[rr * W + cc] >= 7;
                    no += valid && obs[rr * W + cc] >= 7;
                }
            double pf = nf / 25.0, po = no / 25.0;
            num += (pf - po) * (pf - po);
            den += pf * pf + po * po;
        }
    double fss;
    assert_int_equal(sq25_verify_fss(ctx, fc, obs, W, H, 7.0, WIN, &fss), SQ25_OK);
    assert_float_equal(fss, 1.0 - num / den, 1e-12);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contingency_by_hand),
        cmocka_unit_test(test_fss_by_hand),
        cmocka_unit_test(test_fss_matches_direct_sum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
