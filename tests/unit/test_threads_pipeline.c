/* test_threads_pipeline.c -- frames handed between threads, as a service does: a reader
 * thread reads each radar file with its own context and hands the field to the pipeline
 * thread, which pushes it into a pipeline of another context, while the reader already reads
 * the next file with its context. The pipeline's copy must be made in the pipeline's context
 * (issue 11: it used the frame's, racing with the reader; ThreadSanitizer saw it). Run plain,
 * under ASan and under TSan (make check-tsan). Expected values: three RMI frames 5 minutes
 * apart (file names), a 15-minute horizon: 3 leads, the last at 17:15 UTC = 1625418900 s. */
#include "support.h"

#include <pthread.h>
#include <string.h>

#define RMI_DIR "radar/rmi_20210704/"
#define N_FRAMES 3

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    sq25_field *handed; /* a frame waiting for the pipeline thread */
    int pushed;         /* frames pushed so far */
    int push_rc;
} handover;

static void *pipeline_thread(void *arg)
{
    handover *h = arg;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_pipeline *p = NULL;
    int rc = sq25_pipeline_create(ctx, &p);
    if (rc == SQ25_OK) rc = sq25_pipeline_set_horizon(p, 900);
    if (rc == SQ25_OK) rc = sq25_warn_options_set_horizon(sq25_pipeline_warn_options(p), 900);
    for (int i = 0; i < N_FRAMES; i++) {
        pthread_mutex_lock(&h->lock);
        while (!h->handed) pthread_cond_wait(&h->changed, &h->lock);
        sq25_field *f = h->handed;
        h->handed = NULL;
        pthread_cond_broadcast(&h->changed);
        pthread_mutex_unlock(&h->lock);
        /* The reader is busy with its context now; the push must not touch it. */
        int prc = rc == SQ25_OK ? sq25_pipeline_push_frame(p, f) : rc;
        pthread_mutex_lock(&h->lock);
        if (prc != SQ25_OK) h->push_rc = prc;
        h->pushed++;
        pthread_cond_broadcast(&h->changed);
        pthread_mutex_unlock(&h->lock);
    }
    sq25_warning *w = NULL;
    if (h->push_rc == SQ25_OK) h->push_rc = sq25_pipeline_run(p, &w);
    if (h->push_rc == SQ25_OK &&
        sq25_field_valid_time(sq25_pipeline_forecast(p, 2)) != 1625418900)
        h->push_rc = -9999;
    sq25_warning_destroy(w);
    sq25_pipeline_destroy(p);
    sq25_ctx_destroy(ctx);
    return NULL;
}

static void test_frames_between_threads(void **state)
{
    (void)state;
    static const char *const names[N_FRAMES] = {
        RMI_DIR "20210704165000.rad.best.comp.rate.qpe.hdf",
        RMI_DIR "20210704165500.rad.best.comp.rate.qpe.hdf",
        RMI_DIR "20210704170000.rad.best.comp.rate.qpe.hdf"};
    handover h;
    memset(&h, 0, sizeof h);
    pthread_mutex_init(&h.lock, NULL);
    pthread_cond_init(&h.changed, NULL);
    pthread_t consumer;
    assert_int_equal(pthread_create(&consumer, NULL, pipeline_thread, &h), 0);
    sq25_ctx *reader = sq25_ctx_create();
    sq25_field *frames[N_FRAMES] = {NULL};
    for (int i = 0; i < N_FRAMES; i++) {
        assert_int_equal(sq25_read_field(reader, test_data_path(names[i]), &frames[i]), SQ25_OK);
        pthread_mutex_lock(&h.lock);
        while (h.handed) pthread_cond_wait(&h.changed, &h.lock); /* the previous one taken */
        h.handed = frames[i];
        pthread_cond_broadcast(&h.changed);
        pthread_mutex_unlock(&h.lock);
        /* no wait here: the next read runs while the frame is being pushed */
    }
    pthread_mutex_lock(&h.lock);
    while (h.pushed < N_FRAMES) pthread_cond_wait(&h.changed, &h.lock);
    pthread_mutex_unlock(&h.lock);
    for (int i = 0; i < N_FRAMES; i++) sq25_field_destroy(frames[i]);
    sq25_ctx_destroy(reader); /* before the run: the pipeline keeps no object of it */
    assert_int_equal(pthread_join(consumer, NULL), 0);
    assert_int_equal(h.push_rc, SQ25_OK);
    pthread_cond_destroy(&h.changed);
    pthread_mutex_destroy(&h.lock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_frames_between_threads)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
