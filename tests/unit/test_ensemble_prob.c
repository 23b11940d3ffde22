/* test_ensemble_prob.c -- the ensemble's probability post-processing (lib/ensemble_prob.c):
 * the blend, the members' fraction within a square window growing with lead. Expected values
 * are worked out by hand from the constructions (stated at each) or recounted by the test
 * from the kept members. */
#include "support.h"

#include "ensemble_prob.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define W 24
#define H 20

/* ceil(c k): 1 x 3 = 3; 0.5 x 1 = 0.5 -> 1; 0.5 x 2 = 1 exactly -> 1 (not 2); 1.5 x 3 = 4.5
 * -> 5; c = 0 or a lead under 1 -> no window. */
static void half_side_rule(void **state)
{
    (void)state;
    assert_int_equal(sq25__ens_blend_half_side(1, 3), 3);
    assert_int_equal(sq25__ens_blend_half_side(0.5, 1), 1);
    assert_int_equal(sq25__ens_blend_half_side(0.5, 2), 1);
    assert_int_equal(sq25__ens_blend_half_side(1.5, 3), 5);
    assert_int_equal(sq25__ens_blend_half_side(0, 12), 0);
    assert_int_equal(sq25__ens_blend_half_side(1, 0), 0);
}

static sq25_ensemble *empty_result(sq25_ctx *ctx, double cells_per_step)
{
    const double gt[6] = {500000, 1000, 0, 5800000, 0, -1000};
    sq25_field *like = NULL;
    assert_int_equal(sq25_field_create(ctx, W, H, "EPSG:32631", gt, 1625410800, &like), SQ25_OK);
    sq25_ensemble_options *o = NULL;
    assert_int_equal(sq25_ensemble_options_create(ctx, &o), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_members(o, 20), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_neighbourhood(o, cells_per_step), SQ25_OK);
    const int minutes[2] = {5, 10}; /* 1 and 2 steps of 300 s */
    assert_int_equal(sq25_ensemble_options_set_accumulations(o, 2, minutes), SQ25_OK);
    sq25_ensemble *e = NULL;
    assert_int_equal(sq25__ensemble_alloc(ctx, o, like, 2, 300, &e), SQ25_OK);
    sq25_ensemble_options_destroy(o);
    sq25_field_destroy(like);
    return e;
}

/* Every probability grid 0 except 1/20 at (row 8, col 10): one member of 20 wet at one
 * pixel; (row 8, col 11) has no data (NaN) in every grid; the grids touch the corner cell
 * (0, 0) with 1/20 too. With c = 1 the window at lead 1 (and over the 5-min window) has half
 * side 1, at lead 2 (10-min window) half side 2. Cells within the window of the wet pixel
 * get (1/20) / (valid cells of their window): 9 cells for an interior window, 8 where the
 * NaN cell lies in it; (0, 0) sees 4 cells at half side 1 and 9 at half side 2 (the grid's
 * corner cuts the window). */
static void single_wet_pixel(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_ensemble *e = empty_result(ctx, 1);
    const int wet = 8 * W + 10, hole = 8 * W + 11;
    sq25_field *grids[2 * 4 + 2 * 4];
    int n = 0;
    for (int k = 0; k < 2; k++)
        for (int t = 0; t < 4; t++) grids[n++] = (sq25_field *)sq25_ensemble_probability(e, k, t);
    for (int w = 0; w < 2; w++)
        for (int t = 0; t < 4; t++)
            grids[n++] = (sq25_field *)sq25_ensemble_accumulation_probability(e, w, t);
    for (int g = 0; g < n; g++) {
        assert_non_null(grids[g]);
        float *d = sq25_field_data(grids[g]);
        for (int i = 0; i < W * H; i++) d[i] = 0;
        d[wet] = d[0] = 1.0f / 20;
        d[hole] = NAN;
    }
    assert_int_equal(sq25__ens_blend_probabilities(ctx, e, NULL), SQ25_OK);
    for (int g = 0; g < n; g++) {
        const int half = g < 8 ? 1 + g / 4 : 1 + (g - 8) / 4; /* lead 1/2, window 5/10 min */
        const float *d = sq25_field_data_const(grids[g]);
        assert_true(isnan(d[hole]));
        for (int r = 0; r < H; r++)
            for (int c = 0; c < W; c++) {
                const int i = r * W + c;
                if (i == hole) continue;
                /* valid cells of the window, counted here */
                int cells = 0, sees_wet = 0, sees_corner = 0;
                for (int rr = r - half; rr <= r + half; rr++)
                    for (int cc = c - half; cc <= c + half; cc++) {
                        if (rr < 0 || cc < 0 || rr >= H || cc >= W) continue;
                        if (rr * W + cc == hole) continue;
                        cells++;
                        sees_wet |= rr * W + cc == wet;
                        sees_corner |= rr == 0 && cc == 0;
                    }
                const double expect = (sees_wet + sees_corner) / 20.0 / cells;
                assert_true(fabs(d[i] - expect) < 1e-7);
            }
        /* the hand-worked values */
        assert_true(fabs(d[wet] - (half == 1 ? 1.0 / 160 : 1.0 / 480)) < 1e-7);
        assert_true(fabs(d[0] - (half == 1 ? 1.0 / 80 : 1.0 / 180)) < 1e-7);
        assert_true(fabs(d[7 * W + 9] - (half == 1 ? 1.0 / 180 : 1.0 / 480)) < 1e-7);
        assert_true(d[8 * W + 13] == 0); /* 3 columns off: outside both windows */
    }
    /* c = 0: nothing changes */
    sq25_ensemble *raw = empty_result(ctx, 0);
    float *d = sq25_field_data((sq25_field *)sq25_ensemble_probability(raw, 1, 0));
    for (int i = 0; i < W * H; i++) d[i] = 0;
    d[wet] = 0.05f;
    assert_int_equal(sq25__ens_blend_probabilities(ctx, raw, NULL), SQ25_OK);
    assert_true(d[wet] == 0.05f && d[wet + 1] == 0);
    sq25_ensemble_destroy(raw);
    sq25_ensemble_destroy(e);
    sq25_ctx_destroy(ctx);
}

/* The window sums are exact: the mean of a constant fraction k / 20 over any window (half
 * sides 3 and 6 here, with nodata holes that change each window's count) is that fraction
 * to the bit, since k / 20 times the count is exact in double and so is the division back.
 * A float running sum (or one with rounding drift) would miss it in the last bits. */
static void constant_fraction_exact(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_ensemble *e = empty_result(ctx, 3);
    const float fraction[4] = {1.0f / 20, 7.0f / 20, 13.0f / 20, 19.0f / 20};
    for (int k = 0; k < 2; k++)
        for (int t = 0; t < 4; t++) {
            float *d = sq25_field_data((sq25_field *)sq25_ensemble_probability(e, k, t));
            float *a = sq25_field_data((sq25_field *)sq25_ensemble_accumulation_probability(e, k, t));
            for (int i = 0; i < W * H; i++) d[i] = a[i] = i % 37 == 5 ? NAN : fraction[t];
        }
    assert_int_equal(sq25__ens_blend_probabilities(ctx, e, NULL), SQ25_OK);
    for (int k = 0; k < 2; k++)
        for (int t = 0; t < 4; t++) {
            const float *d = sq25_field_data_const(sq25_ensemble_probability(e, k, t));
            const float *a = sq25_field_data_const(sq25_ensemble_accumulation_probability(e, k, t));
            for (int i = 0; i < W * H; i++) {
                if (i % 37 == 5) {
                    assert_true(isnan(d[i]) && isnan(a[i]));
                    continue;
                }
                assert_true(d[i] == fraction[t] && a[i] == fraction[t]);
            }
        }
    sq25_ensemble_destroy(e);
    /* windows wider than the grid (c = 12: half sides 12 and 24 on 24 x 20) and fractions
     * that vary: each mean is the window's sum of the fractions, summed here in double (exact
     * for these few multiples of 2^-28), over its valid cells, rounded once to float */
    e = empty_result(ctx, 12);
    static float given[W * H];
    for (int i = 0; i < W * H; i++) given[i] = i % 37 == 5 ? NAN : (float)((i * 7) % 21) / 20.0f;
    for (int k = 0; k < 2; k++)
        memcpy(sq25_field_data((sq25_field *)sq25_ensemble_probability(e, k, 0)), given, sizeof given);
    assert_int_equal(sq25__ens_blend_probabilities(ctx, e, NULL), SQ25_OK);
    for (int k = 0; k < 2; k++) {
        const int half = 12 * (k + 1);
        const float *d = sq25_field_data_const(sq25_ensemble_probability(e, k, 0));
        for (int i = 0; i < W * H; i++) {
            if (isnan(given[i])) {
                assert_true(isnan(d[i]));
                continue;
            }
            double sum = 0;
            int cells = 0;
            for (int j = 0; j < W * H; j++)
                if (abs(j / W - i / W) <= half && abs(j % W - i % W) <= half && !isnan(given[j]))
                    sum += given[j], cells++;
            assert_true(d[i] == (float)(sum / cells));
        }
    }
    sq25_ensemble_destroy(e);
    sq25_ctx_destroy(ctx);
}

/* The control member, analytic: members' fraction 0.3 everywhere (uniform, so its window
 * mean is 0.3); latest frame dry but 10 mm/h at (8, 10) and no data at (2, 2); no motion, so
 * the control keeps the frame at every lead (the departure point is the cell itself) and its
 * amount over L steps of 5 min is 10 x L / 12 mm: 0.833 mm over 5 min (under 1 mm), 1.667 mm
 * over 10 min. Weight 0.25, c = 1: p = 0.75 x 0.3 + 0.25 x (control's fraction in the
 * window): near (8, 10) at lead 1 (> 1 and > 5 mm/h; not > 10) 0.225 + 0.25 / 9, at lead 2
 * 0.225 + 0.25 / 25; 10-min amount >= 1 mm: 0.225 + 0.25 / 25, 5-min: 0.225; far from it
 * 0.225; at (2, 2), where the control has no data, the members' 0.3 stays. */
static void control_member(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_ensemble *e = empty_result(ctx, 1);
    e->opt.control_weight = 0.25;
    for (int k = 0; k < 2; k++)
        for (int t = 0; t < 4; t++) {
            float *d = sq25_field_data((sq25_field *)sq25_ensemble_probability(e, k, t));
            float *a = sq25_field_data((sq25_field *)sq25_ensemble_accumulation_probability(e, k, t));
            for (int i = 0; i < W * H; i++) d[i] = a[i] = 0.3f;
        }
    const double gt[6] = {500000, 1000, 0, 5800000, 0, -1000};
    sq25_field *latest = NULL;
    assert_int_equal(sq25_field_create(ctx, W, H, "EPSG:32631", gt, 1625410800, &latest), SQ25_OK);
    float *f = sq25_field_data(latest);
    for (int i = 0; i < W * H; i++) f[i] = 0;
    f[8 * W + 10] = 10;
    f[2 * W + 2] = NAN;
    static float u[W * H], v[W * H]; /* zero motion */
    const sq25__ens_control control = {latest, u, v, 2};
    assert_int_equal(sq25__ens_blend_probabilities(ctx, e, &control), SQ25_OK);
    const double base = 0.75 * 0.3;
    for (int k = 0; k < 2; k++) {
        const double near = base + 0.25 / (k == 0 ? 9 : 25);
        for (int t = 0; t < 4; t++) {
            const float *d = sq25_field_data_const(sq25_ensemble_probability(e, k, t));
            const float *a = sq25_field_data_const(sq25_ensemble_accumulation_probability(e, k, t));
            const double rate = t < 2 ? near : base, amount = k == 1 && t == 0 ? near : base;
            assert_true(fabs(d[8 * W + 10] - rate) < 1e-6);
            assert_true(fabs(d[(8 + 1 + k) * W + 10 - 1 - k] - rate) < 1e-6); /* window corner */
            assert_true(fabs(a[8 * W + 10] - amount) < 1e-6);
            assert_true(fabs(d[15 * W + 20] - base) < 1e-6);
            assert_true(fabs(d[2 * W + 2] - 0.3) < 1e-6);
        }
    }
    assert_null(sq25_ensemble_control_member(e, 0)); /* members not kept: nor the control */
    sq25_field_destroy(latest);
    sq25_ensemble_destroy(e);
    sq25_ctx_destroy(ctx);
}

/* The shrink of the high probabilities (since 1.5), no window and no control: knee 0.15,
 * rate 0.4 per hour: the part above 0.15 is scaled by 1 - 0.4 x 5 / 60 = 29/30 at lead 1 and
 * over the 5-min window, by 1 - 0.4 x 10 / 60 = 14/15 at lead 2 and over the 10-min window:
 * 0.5 -> 0.15 + 0.35 x 29/30 = 0.488333 and 0.15 + 0.35 x 14/15 = 0.476667; 1 -> 0.15 +
 * 0.85 x 29/30 = 0.971667 and 0.15 + 0.85 x 14/15 = 0.943333; 0.1 (under the knee) and NaN
 * stay. Rate 10 per hour: the factor is 1 - 10 x 5 / 60 = 1/6 at lead 1 (0.5 -> 0.15 +
 * 0.35 / 6 = 0.208333, 1 -> 0.15 + 0.85 / 6 = 0.291667), and 1 - 10 x 10 / 60 < 0, clamped at
 * 0, at lead 2: everything above the knee becomes 0.15. */
static void probability_shrink(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    const float given[4] = {0.1f, 0.5f, 1.0f, NAN};
    const double want[2][2][4] = {
        {{0.1, 0.15 + 0.35 * 29 / 30.0, 0.15 + 0.85 * 29 / 30.0, NAN},
         {0.1, 0.15 + 0.35 * 14 / 15.0, 0.15 + 0.85 * 14 / 15.0, NAN}},
        {{0.1, 0.15 + 0.35 / 6, 0.15 + 0.85 / 6, NAN}, {0.1, 0.15, 0.15, NAN}}};
    for (int fast = 0; fast < 2; fast++) {
        sq25_ensemble *e = empty_result(ctx, 0);
        e->opt.shrink_knee = 0.15;
        e->opt.shrink_rate_per_hour = fast ? 10 : 0.4;
        for (int k = 0; k < 2; k++)
            for (int t = 0; t < 4; t++) {
                float *d = sq25_field_data((sq25_field *)sq25_ensemble_probability(e, k, t));
                float *a = sq25_field_data((sq25_field *)sq25_ensemble_accumulation_probability(e, k, t));
                for (int i = 0; i < W * H; i++) d[i] = a[i] = given[i % 4];
            }
        assert_int_equal(sq25__ens_blend_probabilities(ctx, e, NULL), SQ25_OK);
        for (int k = 0; k < 2; k++)
            for (int t = 0; t < 4; t++) {
                const float *d = sq25_field_data_const(sq25_ensemble_probability(e, k, t));
                const float *a = sq25_field_data_const(sq25_ensemble_accumulation_probability(e, k, t));
                for (int i = 0; i < 8; i++) {
                    const double x = want[fast][k][i % 4];
                    if (isnan(x)) {
                        assert_true(isnan(d[i]) && isnan(a[i]));
                        continue;
                    }
                    assert_true(fabs(d[i] - x) < 1e-6);
                    assert_true(fabs(a[i] - x) < 1e-6);
                }
            }
        sq25_ensemble_destroy(e);
    }
    sq25_ensemble_options *o = NULL;
    assert_int_equal(sq25_ensemble_options_create(ctx, &o), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_probability_shrink(o, 1, 0.4), SQ25_ERR_RANGE);
    assert_int_equal(sq25_ensemble_options_set_probability_shrink(o, -0.1, 0.4), SQ25_ERR_RANGE);
    assert_int_equal(sq25_ensemble_options_set_probability_shrink(o, 0.15, 10.5), SQ25_ERR_RANGE);
    assert_int_equal(sq25_ensemble_options_set_probability_shrink(o, 0.15, NAN), SQ25_ERR_RANGE);
    assert_int_equal(sq25_ensemble_options_set_probability_shrink(NULL, 0.15, 0.4),
                     SQ25_ERR_INVALID_ARG);
    assert_int_equal(sq25_ensemble_options_set_probability_shrink(o, 0.15, 0.4), SQ25_OK);
    sq25_ensemble_options_destroy(o);
    sq25_ctx_destroy(ctx);
}

/* With the members kept the control member is kept too (since 1.4): under zero motion its
 * rate at every lead is the latest frame (0, 10 mm/h at (8, 10), NaN at (2, 2)), valid at
 * the lead's time; with a control weight of 0 none is made. */
static void control_member_kept(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    const double gt[6] = {500000, 1000, 0, 5800000, 0, -1000};
    sq25_field *latest = NULL;
    assert_int_equal(sq25_field_create(ctx, W, H, "EPSG:32631", gt, 1625410800, &latest), SQ25_OK);
    float *f = sq25_field_data(latest);
    for (int i = 0; i < W * H; i++) f[i] = 0;
    f[8 * W + 10] = 10;
    f[2 * W + 2] = NAN;
    static float u[W * H], v[W * H]; /* zero motion */
    const sq25__ens_control control = {latest, u, v, 2};
    for (int weighted = 0; weighted < 2; weighted++) {
        sq25_ensemble *e = empty_result(ctx, 1);
        e->opt.keep = 1;
        e->opt.control_weight = weighted ? 0.3 : 0;
        assert_int_equal(sq25__ens_blend_probabilities(ctx, e, &control), SQ25_OK);
        assert_true(sq25_ensemble_control_weight(e) == (weighted ? 0.3 : 0));
        assert_true(sq25_ensemble_neighbourhood(e) == 1);
        for (int k = 0; k < 2; k++) {
            const sq25_field *c = sq25_ensemble_control_member(e, k);
            if (!weighted) {
                assert_null(c);
                continue;
            }
            assert_non_null(c);
            assert_true(sq25_field_valid_time(c) == 1625410800 + 300 * (k + 1));
            const float *d = sq25_field_data_const(c);
            assert_true(d[8 * W + 10] == 10 && d[0] == 0 && d[15 * W + 20] == 0);
            assert_true(isnan(d[2 * W + 2]));
        }
        assert_null(sq25_ensemble_control_member(e, 2)); /* out of range */
        sq25_ensemble_destroy(e);
    }
    assert_true(isnan(sq25_ensemble_control_weight(NULL)));
    sq25_field_destroy(latest);
    sq25_ctx_destroy(ctx);
}

/* The attribute text names the rule and the factor, or says "at the cell alone". */
static void description(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_ensemble_options *o = NULL;
    assert_int_equal(sq25_ensemble_options_create(ctx, &o), SQ25_OK);
    char text[512];
    assert_int_equal(sq25_ensemble_options_set_neighbourhood(o, 1.5), SQ25_OK);
    assert_int_equal(sq25__ens_blend_describe(o, "rate exceeds", text, sizeof text), SQ25_OK);
    assert_non_null(strstr(text, "ceil(1.5 k)"));
    assert_non_null(strstr(text, "rate exceeds"));
    assert_int_equal(sq25__ens_blend_describe(o, "rate exceeds", text, 20), SQ25_ERR_RANGE);
    assert_int_equal(sq25_ensemble_options_set_neighbourhood(o, 0), SQ25_OK);
    assert_int_equal(sq25__ens_blend_describe(o, "rate exceeds", text, sizeof text), SQ25_OK);
    assert_non_null(strstr(text, "at the cell alone"));
    /* the control weight is in [0, 1): 1 would drop the members */
    assert_int_equal(sq25_ensemble_options_set_control_weight(o, 1), SQ25_ERR_RANGE);
    assert_int_equal(sq25_ensemble_options_set_control_weight(o, -0.1), SQ25_ERR_RANGE);
    assert_int_equal(sq25_ensemble_options_set_control_weight(NULL, 0.3), SQ25_ERR_INVALID_ARG);
    assert_int_equal(sq25_ensemble_options_set_control_weight(o, 0.3), SQ25_OK);
    assert_int_equal(sq25__ens_blend_describe(o, "rate exceeds", text, sizeof text), SQ25_OK);
    assert_non_null(strstr(text, "control"));
    sq25_ensemble_options_destroy(o);
    sq25_ctx_destroy(ctx);
}

/* A real run with c = 1, no control member, and kept members: the probability of > 1 mm/h at lead 2 is the mean,
 * over the valid cells of the 5x5 window, of the members' fraction (recounted here from the
 * members); the 10-min accumulation probability (>= 1 mm) likewise from the members'
 * amounts. A moving Gaussian cell of 20 mm/h, 2 px per step. */
static void run_matches_members(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    enum { RW = 64, RH = 48, M = 6 };
    const double gt[6] = {500000, 1000, 0, 5800000, 0, -1000};
    sq25_field *frames[3];
    for (int k = 0; k < 3; k++) {
        assert_int_equal(sq25_field_create(ctx, RW, RH, "EPSG:32631", gt, 1625410800 + 300 * k,
                                           &frames[k]), SQ25_OK);
        float *d = sq25_field_data(frames[k]);
        for (int r = 0; r < RH; r++)
            for (int c = 0; c < RW; c++) {
                const double dx = c - 24 - 2 * k, dy = r - 22;
                const double v = 20 * exp(-(dx * dx + dy * dy) / 40.0);
                d[r * RW + c] = v < 0.05 ? 0.0f : (float)v;
            }
    }
    static float u[RW * RH], v[RW * RH];
    for (int i = 0; i < RW * RH; i++) u[i] = 2, v[i] = 0;
    sq25_ensemble_options *o = NULL;
    assert_int_equal(sq25_ensemble_options_create(ctx, &o), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_members(o, M), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_keep_members(o, 1), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_neighbourhood(o, 1), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_control_weight(o, 0), SQ25_OK); /* members only */
    const int minutes[1] = {10};
    assert_int_equal(sq25_ensemble_options_set_accumulations(o, 1, minutes), SQ25_OK);
    sq25_ensemble *e = NULL;
    assert_int_equal(sq25_ensemble_run(ctx, o, (const sq25_field *const *)frames, 3, u, v, 3, &e),
                     SQ25_OK);
    static float frac_rate[RW * RH], frac_amount[RW * RH];
    for (int i = 0; i < RW * RH; i++) {
        int above = 0, reach = 0, valid = 0;
        for (int m = 0; m < M; m++) {
            const float x = sq25_field_data_const(sq25_ensemble_member(e, m, 1))[i];
            const float a = sq25_field_data_const(sq25_ensemble_accumulation_member(e, m, 0))[i];
            if (isnan(x)) continue;
            valid++;
            above += x > 1.0f;
            reach += a >= 1.0f;
        }
        frac_rate[i] = valid ? (float)above / valid : NAN;
        frac_amount[i] = valid ? (float)reach / valid : NAN;
    }
    const float *p = sq25_field_data_const(sq25_ensemble_probability(e, 1, 0));
    const float *pa = sq25_field_data_const(sq25_ensemble_accumulation_probability(e, 0, 0));
    int inside = 0;
    for (int r = 2; r < RH - 2; r++)
        for (int c = 2; c < RW - 2; c++) {
            double s = 0, sa = 0;
            int n = 0;
            for (int rr = r - 2; rr <= r + 2; rr++)
                for (int cc = c - 2; cc <= c + 2; cc++)
                    if (!isnan(frac_rate[rr * RW + cc]))
                        s += frac_rate[rr * RW + cc], sa += frac_amount[rr * RW + cc], n++;
            if (isnan(frac_rate[r * RW + c])) continue;
            assert_true(fabs(p[r * RW + c] - s / n) < 1e-5);
            assert_true(fabs(pa[r * RW + c] - sa / n) < 1e-5);
            inside += s > 0 && s < n; /* cells where the blend is strictly between 0 and 1 */
        }
    assert_true(inside > 20);
    sq25_ensemble_destroy(e);
    sq25_ensemble_options_destroy(o);
    for (int k = 0; k < 3; k++) sq25_field_destroy(frames[k]);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(half_side_rule),
        cmocka_unit_test(single_wet_pixel),
        cmocka_unit_test(constant_fraction_exact),
        cmocka_unit_test(control_member),
        cmocka_unit_test(control_member_kept),
        cmocka_unit_test(probability_shrink),
        cmocka_unit_test(description),
        cmocka_unit_test(run_matches_members),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
