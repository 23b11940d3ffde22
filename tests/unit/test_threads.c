/* test_threads.c -- distinct contexts used from distinct threads at once. Each thread makes
 * fields and runs PROJ transforms in its own context, and (when the bundled sample is there)
 * reads radar files, which exercises the library-wide HDF5 lock. Expected values are analytic
 * (spherical equidistant cylindrical projection) or compared with a single-threaded read. */
#include "support.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#define N_THREADS 4
#define ROUNDS 20
#define EQC "+proj=eqc +a=6371000 +b=6371000 +units=m"

typedef struct {
    int id;
    int failures;
    double max_read;
} worker_state;

static const char *sample_file(void)
{
    return test_data_path("radar/rmi_20210704/20210704170000.rad.best.comp.rate.qpe.hdf");
}

static void *worker(void *arg)
{
    worker_state *st = arg;
    sq25_ctx *ctx = sq25_ctx_create();
    if (!ctx) {
        st->failures++;
        return NULL;
    }
    const double R = 6371000.0, deg = M_PI / 180.0;
    const double gt[6] = {st->id * deg * R, deg * R, 0, 50 * deg * R, 0, -deg * R};
    st->max_read = NAN;
    for (int r = 0; r < ROUNDS; r++) {
        sq25_field *f = NULL;
        if (sq25_field_create(ctx, 16, 16, EQC, gt, r, &f) != SQ25_OK) {
            st->failures++;
            continue;
        }
        double c8[8];
        if (sq25_field_corners_lonlat(f, c8) != SQ25_OK || fabs(c8[0] - st->id) > 1e-9 ||
            fabs(c8[5] - 34.0) > 1e-9)
            st->failures++;
        sq25_field_destroy(f);
        sq25_field *radar = NULL;
        if (r % 5 == 0 && sq25_read_field(ctx, sample_file(), &radar) == SQ25_OK) {
            double mx;
            sq25_field_stats(radar, 0.1, &mx, NULL, NULL, NULL);
            st->max_read = mx;
            sq25_field_destroy(radar);
        }
    }
    sq25_ctx_destroy(ctx);
    return NULL;
}

static void test_parallel_contexts(void **state)
{
    (void)state;
    pthread_t th[N_THREADS];
    worker_state st[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        memset(&st[i], 0, sizeof st[i]);
        st[i].id = i;
        assert_int_equal(pthread_create(&th[i], NULL, worker, &st[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < N_THREADS; i++) assert_int_equal(st[i].failures, 0);

    /* Threaded reads must agree with a plain single-threaded read of the same file. */
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = NULL;
    assert_int_equal(sq25_read_field(ctx, sample_file(), &f), SQ25_OK);
    double mx;
    sq25_field_stats(f, 0.1, &mx, NULL, NULL, NULL);
    assert_true(mx > 0);
    for (int i = 0; i < N_THREADS; i++) assert_float_equal(st[i].max_read, mx, 0);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_parallel_contexts)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
