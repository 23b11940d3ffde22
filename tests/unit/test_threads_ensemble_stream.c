/* test_threads_ensemble_stream.c -- sq25_ensemble_run_netcdf (also run under ThreadSanitizer,
 * make check-tsan), the ensemble whose file is written as its leads end: the same result and
 * the same file values as sq25_ensemble_run followed by sq25_ensemble_write_netcdf (both read
 * back with sq25_ensemble_read_netcdf and compared grid by grid, bit for bit; the streamed
 * files of 1 and 3 threads byte for byte), with and without a result handed back (without one,
 * a stored grid's buffer is reused by a grid of the next lead), with kept
 * members and quantiles; a path that cannot be written and every allocation failure give
 * their codes, release what they took and leave no file. */
#include "support.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define W 96
#define H 80
#define LEADS 12

static float u_px[W * H], v_px[W * H];

static sq25_ensemble_options *options(sq25_ctx *ctx, int threads, int keep)
{
    for (int i = 0; i < W * H; i++) u_px[i] = 2, v_px[i] = 0.5f;
    sq25_ensemble_options *o = NULL;
    assert_int_equal(sq25_ensemble_options_create(ctx, &o), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_members(o, 4), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_threads(o, threads), SQ25_OK);
    if (keep) {
        const double q[2] = {0.25, 0.9};
        assert_int_equal(sq25_ensemble_options_set_keep_members(o, 1), SQ25_OK);
        assert_int_equal(sq25_ensemble_options_set_quantiles(o, 2, q), SQ25_OK);
    }
    return o;
}

static void same_grid(const sq25_field *a, const sq25_field *b)
{
    assert_non_null(a);
    assert_non_null(b);
    assert_memory_equal(sq25_field_data_const(a), sq25_field_data_const(b), W * H * sizeof(float));
}

/* Every grid of a and b is bit-identical. */
static void same_result(const sq25_ensemble *a, const sq25_ensemble *b)
{
    assert_int_equal(sq25_ensemble_lead_count(a), sq25_ensemble_lead_count(b));
    const int nt = sq25_ensemble_threshold_count(a), nq = sq25_ensemble_quantile_count(a);
    const int na = sq25_ensemble_accumulation_count(a);
    const int nat = sq25_ensemble_accumulation_threshold_count(a);
    const int members = sq25_ensemble_has_members(a) ? sq25_ensemble_member_count(a) : 0;
    assert_int_equal(na, 3); /* 15, 30, 60 min, blended with the control member */
    for (int k = 0; k < LEADS; k++) {
        for (int j = 0; j < nt; j++)
            same_grid(sq25_ensemble_probability(a, k, j), sq25_ensemble_probability(b, k, j));
        same_grid(sq25_ensemble_mean(a, k), sq25_ensemble_mean(b, k));
        for (int q = 0; q < nq; q++)
            same_grid(sq25_ensemble_quantile_field(a, k, q), sq25_ensemble_quantile_field(b, k, q));
        for (int m = 0; m < members; m++)
            same_grid(sq25_ensemble_member(a, m, k), sq25_ensemble_member(b, m, k));
    }
    for (int w = 0; w < na; w++) {
        for (int j = 0; j < nat; j++)
            same_grid(sq25_ensemble_accumulation_probability(a, w, j),
                      sq25_ensemble_accumulation_probability(b, w, j));
        same_grid(sq25_ensemble_accumulation_mean(a, w), sq25_ensemble_accumulation_mean(b, w));
        for (int q = 0; q < nq; q++)
            same_grid(sq25_ensemble_accumulation_quantile(a, w, q),
                      sq25_ensemble_accumulation_quantile(b, w, q));
        for (int m = 0; m < members; m++)
            same_grid(sq25_ensemble_accumulation_member(a, m, w),
                      sq25_ensemble_accumulation_member(b, m, w));
    }
}

static sq25_ensemble *read_back(sq25_ctx *ctx, const char *path)
{
    sq25_ensemble *e = NULL;
    assert_int_equal(sq25_ensemble_read_netcdf(ctx, path, &e), SQ25_OK);
    return e;
}

/* Whether two files hold the same bytes. */
static bool same_bytes(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool same = fa && fb;
    for (int ca = 0, cb = 0; same && ca != EOF; same = ca == cb) {
        ca = fgetc(fa);
        cb = fgetc(fb);
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

static void streamed_equals_written(int keep)
{
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *frames[3];
    test_ensemble_frames(ctx, frames);
    const sq25_field *const *f = (const sq25_field *const *)frames;
    char written[4096], one[4096], three[4096], inline_no_result[4096];
    snprintf(written, sizeof written, "%s/written%d.nc", test_tmpdir(), keep);
    snprintf(one, sizeof one, "%s/stream1_%d.nc", test_tmpdir(), keep);
    snprintf(three, sizeof three, "%s/stream3_%d.nc", test_tmpdir(), keep);
    snprintf(inline_no_result, sizeof inline_no_result, "%s/stream1n_%d.nc", test_tmpdir(), keep);
    /* the reference: run, then write */
    sq25_ensemble_options *o = options(ctx, 3, keep);
    sq25_ensemble *ref = NULL;
    assert_int_equal(sq25_ensemble_run(ctx, o, f, 3, u_px, v_px, LEADS, &ref), SQ25_OK);
    assert_int_equal(sq25_ensemble_write_netcdf(ref, written), SQ25_OK);
    sq25_ensemble_options_destroy(o);
    /* streamed on one thread (inline), result handed back */
    o = options(ctx, 1, keep);
    sq25_ensemble *s1 = NULL;
    assert_int_equal(sq25_ensemble_run_netcdf(ctx, o, f, 3, u_px, v_px, LEADS, one, &s1), SQ25_OK);
    sq25_ensemble_options_destroy(o);
    same_result(ref, s1);
    /* streamed on three threads (a writer thread), no result: grids freed once stored */
    o = options(ctx, 3, keep);
    assert_int_equal(sq25_ensemble_run_netcdf(ctx, o, f, 3, u_px, v_px, LEADS, three, NULL), SQ25_OK);
    sq25_ensemble_options_destroy(o);
    /* one thread, no result: every lead's grids are stored before the next lead, whose grids
     * then take over their buffers (written whole again, so nothing of a lead shows in the next) */
    o = options(ctx, 1, keep);
    assert_int_equal(
        sq25_ensemble_run_netcdf(ctx, o, f, 3, u_px, v_px, LEADS, inline_no_result, NULL), SQ25_OK);
    sq25_ensemble_options_destroy(o);
    /* the chunks are stored in one order whatever the threads: the same file */
    assert_true(same_bytes(one, three));
    assert_true(same_bytes(one, inline_no_result));
    sq25_ensemble *rw = read_back(ctx, written), *r1 = read_back(ctx, one), *r3 = read_back(ctx, three);
    same_result(ref, rw); /* the reader itself returns the grids bit for bit */
    same_result(rw, r1);
    same_result(rw, r3);
    sq25_ensemble_destroy(rw);
    sq25_ensemble_destroy(r1);
    sq25_ensemble_destroy(r3);
    sq25_ensemble_destroy(s1);
    sq25_ensemble_destroy(ref);
    for (int k = 0; k < 3; k++) sq25_field_destroy(frames[k]);
    sq25_ctx_destroy(ctx);
}

static void stream_default_options(void **state)
{
    (void)state;
    streamed_equals_written(0);
}

static void stream_kept_members_and_quantiles(void **state)
{
    (void)state;
    streamed_equals_written(1);
}

/* A folder that does not exist: SQ25_ERR_WRITE, no result, no file; a NULL path. */
static void stream_errors(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *frames[3];
    test_ensemble_frames(ctx, frames);
    const sq25_field *const *f = (const sq25_field *const *)frames;
    char path[4096];
    snprintf(path, sizeof path, "%s/no/such/folder/ens.nc", test_tmpdir());
    sq25_ensemble_options *o = options(ctx, 2, 0);
    sq25_ensemble *e = (sq25_ensemble *)1;
    assert_int_equal(sq25_ensemble_run_netcdf(ctx, o, f, 3, u_px, v_px, LEADS, path, &e),
                     SQ25_ERR_WRITE);
    assert_null(e);
    assert_int_not_equal(access(path, F_OK), 0);
    assert_non_null(strstr(sq25_errmsg(ctx), "ens.nc"));
    assert_int_equal(sq25_ensemble_run_netcdf(ctx, o, f, 3, u_px, v_px, LEADS, NULL, NULL),
                     SQ25_ERR_INVALID_ARG);
    /* the run's own errors come first: two frames */
    snprintf(path, sizeof path, "%s/two.nc", test_tmpdir());
    assert_int_equal(sq25_ensemble_run_netcdf(ctx, o, f, 2, u_px, v_px, LEADS, path, NULL),
                     SQ25_ERR_TOO_FEW);
    assert_int_not_equal(access(path, F_OK), 0);
    sq25_ensemble_options_destroy(o);
    for (int k = 0; k < 3; k++) sq25_field_destroy(frames[k]);
    sq25_ctx_destroy(ctx);
}

/* Every allocation failure: NOMEM, nothing leaked, a file only on success; both with the
 * writer thread and inline. */
static void stream_allocation_failures(void **state)
{
    (void)state;
    sq25_ctx *setup = sq25_ctx_create();
    sq25_field *frames[3];
    test_ensemble_frames(setup, frames);
    int ok = 0, failed = 0;
    for (long fail = 1; fail < 500; fail += 5) {
        test_alloc_state st = {.fail_at = fail};
        sq25_ctx *ctx = test_ctx_failing(&st);
        sq25_ensemble_options *o = NULL;
        if (sq25_ensemble_options_create(ctx, &o) != SQ25_OK) {
            sq25_ctx_destroy(ctx);
            continue;
        }
        sq25_ensemble_options_set_members(o, 2);
        sq25_ensemble_options_set_threads(o, 1 + (int)(fail % 2));
        const int minutes[2] = {15, 30}; /* windows, blended with the control, within 6 leads */
        sq25_ensemble_options_set_accumulations(o, 2, minutes);
        char path[4096];
        snprintf(path, sizeof path, "%s/salloc%ld.nc", test_tmpdir(), fail);
        sq25_ensemble *e = NULL;
        const int rc = sq25_ensemble_run_netcdf(ctx, o, (const sq25_field *const *)frames, 3,
                                                u_px, v_px, 6, path, fail % 3 ? &e : NULL);
        assert_true(rc == SQ25_OK || rc == SQ25_ERR_NOMEM);
        assert_int_equal(access(path, F_OK) == 0, rc == SQ25_OK);
        if (rc) assert_null(e);
        rc == SQ25_OK ? ok++ : failed++;
        sq25_ensemble_destroy(e);
        sq25_ensemble_options_destroy(o);
        sq25_ctx_destroy(ctx);
        assert_int_equal(st.live, 0);
    }
    assert_true(ok > 0);
    assert_true(failed > 0);
    for (int k = 0; k < 3; k++) sq25_field_destroy(frames[k]);
    sq25_ctx_destroy(setup);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stream_default_options),
        cmocka_unit_test(stream_kept_members_and_quantiles),
        cmocka_unit_test(stream_errors),
        cmocka_unit_test(stream_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
