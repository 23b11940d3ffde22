/* test_advect.c -- semi-Lagrangian extrapolation: exact integer shifts, nodata from outside,
 * no rain created, and continuous accumulation tracks. Expected values follow from the
 * definition (a uniform shift by whole cells moves values exactly). */
#include "support.h"

#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EQC "+proj=eqc +a=6371000 +b=6371000 +units=m"

static sq25_field *make_field(sq25_ctx *ctx, int w, int h)
{
    const double gt[6] = {0, 1000, 0, 0, 0, -1000};
    sq25_field *f = NULL;
    assert_int_equal(sq25_field_create(ctx, w, h, EQC, gt, 1000, &f), SQ25_OK);
    return f;
}

static float *uniform(int n, float value)
{
    float *a = malloc((size_t)n * sizeof *a);
    for (int i = 0; i < n; i++) a[i] = value;
    return a;
}

static void test_integer_shift_is_exact(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    enum { W = 20, H = 15 };
    sq25_field *f = make_field(ctx, W, H);
    float *d = sq25_field_data(f);
    for (int i = 0; i < W * H; i++) d[i] = (float)((i * 37) % 101) / 7.0f;
    d[3 * W + 4] = NAN;
    /* motion (u, v) = (2, -1) cells per step: after k steps, out(r, c) = in(r + k, c - 2k) */
    float *u = uniform(W * H, 2.0f), *v = uniform(W * H, -1.0f);
    sq25_field *fc[3];
    assert_int_equal(sq25_extrapolate(ctx, f, u, v, 300, 3, 1, fc), SQ25_OK);
    for (int k = 1; k <= 3; k++) {
        const float *out = sq25_field_data_const(fc[k - 1]);
        assert_int_equal(sq25_field_valid_time(fc[k - 1]), 1000 + 300 * k);
        for (int r = 0; r < H; r++)
            for (int c = 0; c < W; c++) {
                int sr = r + k, sc = c - 2 * k;
                float got = out[r * W + c];
                if (sr >= H || sc < 0) assert_true(isnan(got)); /* from outside: nodata */
                else if (isnan(d[sr * W + sc])) assert_true(isnan(got));
                else assert_true(got == d[sr * W + sc]);
            }
        sq25_field_destroy(fc[k - 1]);
    }
    free(u);
    free(v);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

static void test_no_rain_created(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    enum { W = 40, H = 40 };
    sq25_field *f = make_field(ctx, W, H);
    float *d = sq25_field_data(f);
    for (int i = 0; i < W * H; i++) d[i] = (float)(rand() % 50);
    float *u = malloc(W * H * sizeof *u), *v = malloc(W * H * sizeof *v);
    for (int i = 0; i < W * H; i++) {
        u[i] = 0.7f + 0.01f * (float)(i % W); /* non-uniform, fractional */
        v[i] = -0.3f;
    }
    double in_max;
    sq25_field_stats(f, 0.1, &in_max, NULL, NULL, NULL);
    sq25_field *fc[6];
    assert_int_equal(sq25_extrapolate(ctx, f, u, v, 300, 6, 2, fc), SQ25_OK);
    for (int k = 0; k < 6; k++) {
        double out_max;
        sq25_field_stats(fc[k], 0.1, &out_max, NULL, NULL, NULL);
        assert_true(out_max <= in_max);
        sq25_field_destroy(fc[k]);
    }
    assert_int_equal(sq25_extrapolate(ctx, f, u, v, 0, 6, 1, fc), SQ25_ERR_INVALID_ARG);
    free(u);
    free(v);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

static void test_accumulation(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    enum { W = 60, H = 5 };
    sq25_field *f = make_field(ctx, W, H);
    float *d = sq25_field_data(f);
    /* uniform 12 mm/h, no motion, 4 steps of 300 s = 1/3 h: 4 mm everywhere */
    for (int i = 0; i < W * H; i++) d[i] = 12.0f;
    float *zero = uniform(W * H, 0), *acc = malloc(W * H * sizeof *acc);
    assert_int_equal(sq25_extrapolate_accumulation(ctx, f, zero, zero, 300, 4, 5, acc), SQ25_OK);
    for (int i = 0; i < W * H; i++) assert_float_equal(acc[i], 4.0, 1e-4);
    /* a one-cell-wide cell at column 30 moving 5 cells per step: with 5 sub-steps per step
     * every cell of its track 30..50 gets rain; with one sub-step only every 5th does. Cells
     * left of column 20 trace back to outside the grid: nodata. */
    for (int i = 0; i < W * H; i++) d[i] = 0;
    for (int r = 0; r < H; r++) d[r * W + 30] = 60.0f;
    float *u = uniform(W * H, 5.0f);
    assert_int_equal(sq25_extrapolate_accumulation(ctx, f, u, zero, 300, 4, 5, acc), SQ25_OK);
    for (int c = 30; c <= 50; c++) assert_true(acc[2 * W + c] > 0);
    assert_true(acc[2 * W + 52] == 0 && acc[2 * W + 25] == 0 && isnan(acc[2 * W + 19]));
    assert_int_equal(sq25_extrapolate_accumulation(ctx, f, u, zero, 300, 4, 1, acc), SQ25_OK);
    assert_true(acc[2 * W + 32] == 0 && acc[2 * W + 35] > 0);
    free(u);
    free(zero);
    free(acc);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

/* Every allocation failure of an extrapolation, an accumulation (both ways) or an FSS returns
 * SQ25_ERR_NOMEM, leaves no forecast behind and leaks nothing. */
static void test_allocation_failures(void **state)
{
    (void)state;
    enum { W = 12, H = 9 };
    float *u = uniform(W * H, 0.5f), *v = uniform(W * H, 0.25f), *acc = malloc(W * H * sizeof *acc);
    int failures = 0;
    for (long n = 1; n < 200; n++) {
        test_alloc_state st = {0, 0, 0};
        sq25_ctx *ctx = test_ctx_failing(&st);
        sq25_field *f = make_field(ctx, W, H);
        for (int i = 0; i < W * H; i++) sq25_field_data(f)[i] = (float)(i % 7);
        st.fail_at = st.calls + n;
        sq25_field *fc[3] = {NULL, NULL, NULL};
        double fss = 0;
        int rc = sq25_extrapolate(ctx, f, u, v, 300, 3, 2, fc);
        if (rc == SQ25_OK) {
            for (int k = 0; k < 3; k++) sq25_field_destroy(fc[k]);
            rc = sq25_extrapolate_accumulation(ctx, f, u, v, 300, 3, 2, acc);
        } else {
            for (int k = 0; k < 3; k++) assert_null(fc[k]);
        }
        if (rc == SQ25_OK) { /* the accumulator: nothing half-made is handed out */
            sq25__accumulator *a = NULL;
            rc = sq25__accumulator_create(ctx, f, u, v, 300, 2, &a);
            if (rc != SQ25_OK) assert_null(a);
            for (int k = 0; rc == SQ25_OK && k < 3; k++) rc = sq25__accumulator_next(a, NULL, acc);
            sq25__accumulator_destroy(a);
        }
        if (rc == SQ25_OK)
            rc = sq25_verify_fss(ctx, sq25_field_data(f), sq25_field_data(f), W, H, 3.0, 3, &fss);
        st.fail_at = 0;
        sq25_field_destroy(f);
        sq25_ctx_destroy(ctx);
        assert_int_equal(st.live, 0);
        if (rc == SQ25_OK) break; /* fewer than n allocations: every one has failed once */
        assert_int_equal(rc, SQ25_ERR_NOMEM);
        failures++;
    }
    assert_true(failures >= 10);
    free(u);
    free(v);
    free(acc);
}

/* sq25__accumulator (the ensemble control's one pass): uniform 12 mm/h without motion gives
 * 1 mm per 5-min step (12 mm/h x 1/12 h) after each step, and the rate stays 12. Under a
 * motion that varies in space, with nodata in the field, each step's amount is the same to
 * the bit as a separate sq25_extrapolate_accumulation over that many steps (the definition
 * the one pass must keep), and with 2 sub-steps its rate is sq25_extrapolator_next's. */
static void test_accumulator_one_pass(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    enum { W = 40, H = 30, STEPS = 5 };
    sq25_field *f = make_field(ctx, W, H);
    float *d = sq25_field_data(f);
    for (int i = 0; i < W * H; i++) d[i] = 12.0f;
    float *zero = uniform(W * H, 0), *acc = malloc(W * H * sizeof *acc);
    float *rate = malloc(W * H * sizeof *rate), *ref = malloc(W * H * sizeof *ref);
    sq25__accumulator *a = NULL;
    assert_int_equal(sq25__accumulator_create(ctx, f, zero, zero, 300, 3, &a), SQ25_OK);
    for (int k = 1; k <= 4; k++) {
        assert_int_equal(sq25__accumulator_next(a, rate, acc), SQ25_OK);
        for (int i = 0; i < W * H; i++) {
            assert_float_equal(acc[i], (double)k, 1e-5);
            assert_true(rate[i] == 12.0f);
        }
    }
    sq25__accumulator_destroy(a);
    /* a swirl of 0.3 to 1.5 px per step, a wet patch with a nodata hole */
    float *u = malloc(W * H * sizeof *u), *v = malloc(W * H * sizeof *v);
    for (int r = 0; r < H; r++)
        for (int c = 0; c < W; c++) {
            const int i = r * W + c;
            u[i] = 0.3f + 0.04f * (float)r;
            v[i] = -0.02f * (float)(c - 20);
            d[i] = (float)((r * 7 + c * 3) % 11) * (c > 5 && c < 30 ? 1.5f : 0.0f);
        }
    d[12 * W + 14] = NAN;
    for (int substeps = 2; substeps <= 3; substeps++) {
        sq25_extrapolator *ex = NULL;
        assert_int_equal(sq25_extrapolator_create(ctx, f, u, v, substeps, &ex), SQ25_OK);
        assert_int_equal(sq25__accumulator_create(ctx, f, u, v, 300, substeps, &a), SQ25_OK);
        for (int k = 1; k <= STEPS; k++) {
            assert_int_equal(sq25__accumulator_next(a, rate, k % 2 ? acc : NULL), SQ25_OK);
            assert_int_equal(sq25_extrapolator_next(ex, ref), SQ25_OK);
            if (substeps == 2) assert_memory_equal(rate, ref, W * H * sizeof *ref);
            if (k % 2 == 0) continue; /* no amount asked for */
            assert_int_equal(sq25_extrapolate_accumulation(ctx, f, u, v, 300, k, substeps, ref),
                             SQ25_OK);
            assert_memory_equal(acc, ref, W * H * sizeof *ref);
        }
        sq25__accumulator_destroy(a);
        sq25_extrapolator_destroy(ex);
    }
    /* bad arguments are refused */
    assert_int_equal(sq25__accumulator_create(ctx, f, u, v, 0, 2, &a), SQ25_ERR_INVALID_ARG);
    assert_null(a);
    free(u);
    free(v);
    free(zero);
    free(acc);
    free(rate);
    free(ref);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integer_shift_is_exact),
        cmocka_unit_test(test_no_rain_created),
        cmocka_unit_test(test_accumulation),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_accumulator_one_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
