/* test_motion.c -- optical flow on analytic fields: a Gaussian rain cell moved by a known
 * sub-pixel vector, a field rotating about the grid centre, a nearly dry sequence, clutter and
 * nodata. Expected vectors are the ones used to build the frames. */
#include "support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EQC "+proj=eqc +a=6371000 +b=6371000 +units=m"
enum { W = 160, H = 140 };

typedef struct {
    double x, y, peak_mmh, sigma_px;
} gauss_cell;

/* Rain of a few Gaussian cells, each displaced by (dx, dy) cells. */
static sq25_field *cells_frame(sq25_ctx *ctx, const gauss_cell *cells, int n, const double *dx,
                               const double *dy, int64_t t)
{
    const double gt[6] = {0, 1000, 0, 0, 0, -1000};
    sq25_field *f = NULL;
    assert_int_equal(sq25_field_create(ctx, W, H, EQC, gt, t, &f), SQ25_OK);
    float *d = sq25_field_data(f);
    for (int r = 0; r < H; r++)
        for (int c = 0; c < W; c++) {
            double sum = 0;
            for (int k = 0; k < n; k++) {
                double ex = c - (cells[k].x + dx[k]), ey = r - (cells[k].y + dy[k]);
                double s = cells[k].sigma_px;
                sum += cells[k].peak_mmh * exp(-(ex * ex + ey * ey) / (2 * s * s));
            }
            d[r * W + c] = (float)sum;
        }
    return f;
}

/* Mean of u and v over the cells where the latest frame has > 1 mm/h. */
static void mean_motion_in_rain(const sq25_field *latest, const float *u, const float *v,
                                double *mu, double *mv)
{
    const float *d = sq25_field_data_const(latest);
    double su = 0, sv = 0;
    int n = 0;
    for (int i = 0; i < W * H; i++)
        if (d[i] > 1.0f) {
            su += u[i];
            sv += v[i];
            n++;
        }
    assert_true(n > 0);
    *mu = su / n;
    *mv = sv / n;
}

static void check_translation(int method)
{
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_motion_options *opt = NULL;
    assert_int_equal(sq25_motion_options_create(ctx, &opt), SQ25_OK);
    assert_int_equal(sq25_motion_options_set_method(opt, method), SQ25_OK);
    /* two cells, both moving (1.7, -1.2) cells per step */
    const double U = 1.7, V = -1.2;
    gauss_cell cells[2] = {{60, 70, 40, 9}, {100, 60, 15, 6}};
    sq25_field *frames[3];
    for (int k = 0; k < 3; k++) {
        double dx[2] = {U * k, U * k}, dy[2] = {V * k, V * k};
        frames[k] = cells_frame(ctx, cells, 2, dx, dy, 300 * k);
    }
    float *u = malloc(W * H * sizeof *u), *v = malloc(W * H * sizeof *v);
    assert_int_equal(sq25_motion_estimate(ctx, (const sq25_field *const *)frames, 3, opt, u, v),
                     SQ25_OK);
    double mu, mv;
    mean_motion_in_rain(frames[2], u, v, &mu, &mv);
    assert_float_equal(mu, U, 0.1);
    assert_float_equal(mv, V, 0.1);
    /* ...and at the peak of the big cell, pixel-wise */
    int peak = (int)lround(70 + 2 * V) * W + (int)lround(60 + 2 * U);
    assert_float_equal(u[peak], U, 0.1);
    assert_float_equal(v[peak], V, 0.1);
    for (int k = 0; k < 3; k++) sq25_field_destroy(frames[k]);
    free(u);
    free(v);
    sq25_motion_options_destroy(opt);
    sq25_ctx_destroy(ctx);
}

static void test_translation_dense(void **state)
{
    (void)state;
    check_translation(SQ25_MOTION_DENSE);
}

static void test_translation_lk(void **state)
{
    (void)state;
    check_translation(SQ25_MOTION_LK);
}

/* Cells on a ring rotating by omega radians per step about the grid centre: the motion at a
 * cell centre p is R(omega)(p - c) - (p - c), about omega * r tangentially. */
static void check_rotation(int method)
{
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_motion_options *opt = NULL;
    assert_int_equal(sq25_motion_options_create(ctx, &opt), SQ25_OK);
    assert_int_equal(sq25_motion_options_set_method(opt, method), SQ25_OK);
    const double omega = 0.04, cx = W / 2.0, cy = H / 2.0;
    enum { N = 6 };
    gauss_cell cells[N];
    for (int k = 0; k < N; k++) {
        double a = 2 * M_PI * k / N, radius = 45;
        cells[k] = (gauss_cell){cx + radius * cos(a), cy + radius * sin(a), 20 + 5 * k, 6};
    }
    sq25_field *frames[3];
    for (int f = 0; f < 3; f++) {
        double dx[N], dy[N];
        for (int k = 0; k < N; k++) {
            double px = cells[k].x - cx, py = cells[k].y - cy, a = omega * f;
            dx[k] = cos(a) * px - sin(a) * py - px;
            dy[k] = sin(a) * px + cos(a) * py - py;
        }
        frames[f] = cells_frame(ctx, cells, N, dx, dy, 300 * f);
    }
    float *u = malloc(W * H * sizeof *u), *v = malloc(W * H * sizeof *v);
    assert_int_equal(sq25_motion_estimate(ctx, (const sq25_field *const *)frames, 3, opt, u, v),
                     SQ25_OK);
    for (int k = 0; k < N; k++) {
        /* cell centre in the latest frame (rotated by 2 omega) */
        double px = cells[k].x - cx, py = cells[k].y - cy, a = 2 * omega;
        double qx = cos(a) * px - sin(a) * py, qy = sin(a) * px + cos(a) * py;
        double eu = cos(omega) * qx - sin(omega) * qy - qx;
        double ev = sin(omega) * qx + cos(omega) * qy - qy;
        int i = (int)lround(cy + qy) * W + (int)lround(cx + qx);
        /* |motion| = 1.8 cells; 0.3 cells tolerance (the flow is smoothed over a window) */
        assert_float_equal(u[i], eu, 0.3);
        assert_float_equal(v[i], ev, 0.3);
    }
    for (int f = 0; f < 3; f++) sq25_field_destroy(frames[f]);
    free(u);
    free(v);
    sq25_motion_options_destroy(opt);
    sq25_ctx_destroy(ctx);
}

static void test_rotation_dense(void **state)
{
    (void)state;
    check_rotation(SQ25_MOTION_DENSE);
}

static void test_rotation_lk(void **state)
{
    (void)state;
    check_rotation(SQ25_MOTION_LK);
}

/* Dry frames, clutter spikes and a nodata half: finite output, zero where nothing moves. */
static void test_dry_clutter_nodata(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    for (int method = SQ25_MOTION_LK; method <= SQ25_MOTION_DENSE; method++) {
        sq25_motion_options *opt = NULL;
        assert_int_equal(sq25_motion_options_create(ctx, &opt), SQ25_OK);
        assert_int_equal(sq25_motion_options_set_method(opt, method), SQ25_OK);
        sq25_field *frames[3];
        double zero[1] = {0};
        gauss_cell none = {0, 0, 0, 1};
        for (int f = 0; f < 3; f++) {
            frames[f] = cells_frame(ctx, &none, 1, zero, zero, 300 * f);
            float *d = sq25_field_data(frames[f]);
            for (int r = 0; r < H; r++)
                for (int c = W / 2; c < W; c++) d[r * W + c] = NAN; /* nodata half */
            /* a clutter spike of 3000 mm/h jumping around: must not be tracked */
            d[(20 + 7 * f) * W + 30 + 11 * f] = 3000.0f;
        }
        float *u = malloc(W * H * sizeof *u), *v = malloc(W * H * sizeof *v);
        assert_int_equal(
            sq25_motion_estimate(ctx, (const sq25_field *const *)frames, 3, opt, u, v), SQ25_OK);
        for (int i = 0; i < W * H; i++) {
            assert_true(isfinite(u[i]) && isfinite(v[i]));
            assert_true(fabsf(u[i]) < 0.05f && fabsf(v[i]) < 0.05f);
        }
        /* frames out of order are refused */
        const sq25_field *swapped[2] = {frames[1], frames[0]};
        assert_int_equal(sq25_motion_estimate(ctx, swapped, 2, opt, u, v), SQ25_ERR_TIME_ORDER);
        assert_int_equal(sq25_motion_estimate(ctx, swapped, 1, opt, u, v), SQ25_ERR_TOO_FEW);
        for (int f = 0; f < 3; f++) sq25_field_destroy(frames[f]);
        free(u);
        free(v);
        sq25_motion_options_destroy(opt);
    }
    int m = 0;
    assert_int_equal(sq25_motion_method_from_name("lk", &m), SQ25_OK);
    assert_int_equal(m, SQ25_MOTION_LK);
    assert_int_equal(sq25_motion_method_from_name("vet", &m), SQ25_ERR_INVALID_ARG);
    sq25_ctx_destroy(ctx);
}

/* A grid too small for the dense method's finest level (7 x 7: one pyramid level, the
 * finest is 2) is solved on the level it has. The frames hold a ramp of 2 dB per cell moving
 * half a cell east per step (rates 10^(0.2 (c - k/2)) mm/h at column c of frame k): the
 * estimate points east. (It read gradients that were never made before 1.3.) */
static void test_tiny_grid_dense(void **state)
{
    (void)state;
    enum { N = 7 };
    sq25_ctx *ctx = sq25_ctx_create();
    const double gt[6] = {0, 1000, 0, 0, 0, -1000};
    sq25_field *frames[3];
    for (int k = 0; k < 3; k++) {
        assert_int_equal(sq25_field_create(ctx, N, N, EQC, gt, 300 * k, &frames[k]), SQ25_OK);
        float *d = sq25_field_data(frames[k]);
        for (int i = 0; i < N * N; i++) d[i] = (float)pow(10.0, 0.2 * ((i % N) - 0.5 * k));
    }
    float u[N * N], v[N * N];
    assert_int_equal(sq25_motion_estimate(ctx, (const sq25_field *const *)frames, 3, NULL, u, v),
                     SQ25_OK);
    double mean_u = 0;
    for (int i = 0; i < N * N; i++) {
        assert_true(isfinite(u[i]) && isfinite(v[i]));
        mean_u += u[i] / (N * N);
    }
    assert_true(mean_u > 0.05);
    for (int k = 0; k < 3; k++) sq25_field_destroy(frames[k]);
    sq25_ctx_destroy(ctx);
}

/* Every allocation failure of a motion estimate returns SQ25_ERR_NOMEM and leaks nothing. */
static void test_motion_allocation_failures(void **state)
{
    (void)state;
    gauss_cell cell = {50, 50, 30, 8};
    double d0[1] = {0}, d1[1] = {1};
    float *u = malloc(W * H * sizeof *u), *v = malloc(W * H * sizeof *v);
    for (int method = SQ25_MOTION_LK; method <= SQ25_MOTION_DENSE; method++) {
        int failures = 0;
        for (long n = 1; n < 400; n++) {
            test_alloc_state st = {0, 0, 0};
            sq25_ctx *ctx = test_ctx_failing(&st);
            sq25_field *frames[2] = {cells_frame(ctx, &cell, 1, d0, d0, 0),
                                     cells_frame(ctx, &cell, 1, d1, d0, 300)};
            sq25_motion_options *opt = NULL;
            assert_int_equal(sq25_motion_options_create(ctx, &opt), SQ25_OK);
            sq25_motion_options_set_method(opt, method);
            st.fail_at = st.calls + n;
            int rc = sq25_motion_estimate(ctx, (const sq25_field *const *)frames, 2, opt, u, v);
            st.fail_at = 0;
            if (rc != SQ25_OK) {
                assert_int_equal(rc, SQ25_ERR_NOMEM);
                failures++;
            }
            sq25_motion_options_destroy(opt);
            sq25_field_destroy(frames[0]);
            sq25_field_destroy(frames[1]);
            sq25_ctx_destroy(ctx);
            assert_int_equal(st.live, 0);
            if (rc == SQ25_OK) break; /* the estimate needs fewer than n allocations */
        }
        assert_true(failures >= 5);
    }
    free(u);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_translation_dense), cmocka_unit_test(test_translation_lk),
        cmocka_unit_test(test_rotation_dense),    cmocka_unit_test(test_rotation_lk),
        cmocka_unit_test(test_dry_clutter_nodata),
        cmocka_unit_test(test_tiny_grid_dense),
        cmocka_unit_test(test_motion_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
