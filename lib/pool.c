/* pool.c -- the context's thread pool (see pool.h): workers are started on the first parallel
 * loop and kept until the context is destroyed or its thread count changes. The calling
 * thread works too. A loop splits its items into contiguous chunks that threads take in turn;
 * each item's result must depend on the item only, so the split never changes a result. */
#include "internal.h"

#include <sched.h>
#include <time.h>
#include <unistd.h>

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) return 1;
    return n > SQ25__MAX_THREADS ? SQ25__MAX_THREADS : (int)n;
}

int sq25__threads(const sq25_ctx *ctx)
{
    if (!ctx) return 1;
    return ctx->pool.wanted > 0 ? ctx->pool.wanted : online_cpus();
}

static void run_chunks(sq25__pool *p, int worker)
{
    for (;;) {
        int c = atomic_fetch_add(&p->next_chunk, 1);
        if (c >= p->n_chunks) return;
        int begin = c * p->chunk, end = begin + p->chunk;
        p->fn(p->arg, begin, end < p->n_items ? end : p->n_items, worker);
    }
}

/* Waiting: a thread first polls for SPIN_NS, then blocks on a condition variable. Loops of
 * the library follow each other within microseconds (a pyramid level, a solver pass, a
 * lead), and waking a blocked thread costs tens of microseconds (more in a virtual machine):
 * on the 700 x 700 case about 130 loops per motion + extrapolation. A polling thread yields
 * its CPU (after the first YIELD_AFTER_NS) only when the pool has more threads than there are
 * CPUs, so that the thread with the work gets to run. Otherwise it never yields: a yielding
 * thread stays runnable, and under CFS it hands its CPU to any other runnable task, niced
 * background work included, until the next tick (milliseconds), while the caller waits for it
 * at the end of every loop; a blocked thread, once woken, preempts such work at once.
 * Measured on this 2-core machine with two `nice -n 15` busy loops beside the Belgian motion +
 * extrapolation: 2-thread wall speed-up 0.82-0.85x with the yield, 1.16-2.07x without. */
#define SPIN_NS 50000L
#define YIELD_AFTER_NS 5000L

static long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Poll until cond(p, v) holds or SPIN_NS passed; whether it holds. */
static bool spin_until(sq25__pool *p, bool (*cond)(sq25__pool *, unsigned long), unsigned long v)
{
    const long start = now_ns();
    for (;;) {
        for (int i = 0; i < 32; i++) {
            if (cond(p, v)) return true;
            cpu_relax();
        }
        const long spent = now_ns() - start;
        if (spent > SPIN_NS) return cond(p, v);
        if (p->oversubscribed && spent > YIELD_AFTER_NS) sched_yield();
    }
}

static bool new_job_or_stop(sq25__pool *p, unsigned long seen)
{
    return atomic_load_explicit(&p->stop, memory_order_acquire) ||
           atomic_load_explicit(&p->generation, memory_order_acquire) != seen;
}

static bool job_done(sq25__pool *p, unsigned long unused)
{
    (void)unused;
    return atomic_load_explicit(&p->pending, memory_order_acquire) == 0;
}

static void *worker_main(void *arg)
{
    sq25__pool *p = arg;
    pthread_mutex_lock(&p->mu);
    const int worker = ++p->next_worker;
    pthread_mutex_unlock(&p->mu);
    unsigned long seen = 0; /* the generation at start-up: a job posted before we ran counts */
    for (;;) {
        if (!spin_until(p, new_job_or_stop, seen)) {
            pthread_mutex_lock(&p->mu);
            p->sleepers++;
            while (!new_job_or_stop(p, seen)) pthread_cond_wait(&p->wake, &p->mu);
            p->sleepers--;
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load_explicit(&p->stop, memory_order_acquire)) break;
        seen = atomic_load_explicit(&p->generation, memory_order_acquire);
        run_chunks(p, worker);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu); /* the last one out tells a blocked caller */
            if (p->caller_waiting) pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

/* In the child of a fork() the workers do not exist (only the forking thread is copied): the
 * pool is forgotten, never joined or waited for, and started afresh if a loop wants it. A
 * service that reads untrusted files in a child process (sq25_read_field_isolated) or a test
 * that kills a writer relies on this. */
static void forget_if_forked(sq25__pool *p)
{
    if (!p->ready || p->owner == getpid()) return;
    p->ready = false;
    p->running = false;
    atomic_store(&p->stop, false);
    p->started = 0;
    p->next_worker = 0;
}

void sq25__pool_stop(sq25__pool *p)
{
    forget_if_forked(p);
    if (!p->ready) return;
    pthread_mutex_lock(&p->mu);
    atomic_store_explicit(&p->stop, true, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->started; i++) pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    p->ready = false;
    atomic_store(&p->stop, false);
    p->started = 0;
    p->next_worker = 0;
}

/* Make sure `workers` threads run (fewer if the system refuses threads: the loops then use
 * the ones that started). */
static void pool_start(sq25__pool *p, int workers)
{
    if (p->ready && p->started == workers) return;
    sq25__pool_stop(p);
    if (pthread_mutex_init(&p->mu, NULL) != 0) return;
    if (pthread_cond_init(&p->wake, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        return;
    }
    if (pthread_cond_init(&p->done, NULL) != 0) {
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->mu);
        return;
    }
    p->ready = true;
    p->owner = getpid();
    p->oversubscribed = workers + 1 > sysconf(_SC_NPROCESSORS_ONLN);
    atomic_store(&p->generation, 0);
    p->sleepers = 0;
    p->caller_waiting = false;
    for (int i = 0; i < workers; i++) {
        if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0) break;
        p->started = i + 1;
    }
}

void sq25__parallel_for(sq25_ctx *ctx, int n_items, int min_chunk, sq25__range_fn fn, void *arg)
{
    if (n_items <= 0) return;
    sq25__pool *p = &ctx->pool;
    forget_if_forked(p);
    const int threads = sq25__threads(ctx);
    if (min_chunk < 1) min_chunk = 1;
    if (threads <= 1 || n_items < 2 * min_chunk || p->running) {
        fn(arg, 0, n_items, 0);
        return;
    }
    pool_start(p, threads - 1);
    if (!p->ready || p->started == 0) {
        fn(arg, 0, n_items, 0);
        return;
    }
    int n_chunks = n_items / min_chunk, most = 4 * (p->started + 1);
    if (n_chunks > most) n_chunks = most;
    /* the job's fields, then the generation (release): a worker that sees the new
     * generation sees the job */
    p->fn = fn;
    p->arg = arg;
    p->n_items = n_items;
    p->chunk = (n_items + n_chunks - 1) / n_chunks;
    p->n_chunks = (n_items + p->chunk - 1) / p->chunk;
    atomic_store(&p->next_chunk, 0);
    atomic_store(&p->pending, p->started);
    p->running = true;
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_acq_rel);
    pthread_mutex_lock(&p->mu); /* a worker past its polling checks the generation under mu */
    if (p->sleepers > 0) pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    run_chunks(p, 0);
    if (!spin_until(p, job_done, 0)) {
        pthread_mutex_lock(&p->mu);
        p->caller_waiting = true;
        while (!job_done(p, 0)) pthread_cond_wait(&p->done, &p->mu);
        p->caller_waiting = false;
        pthread_mutex_unlock(&p->mu);
    }
    p->running = false;
}

int sq25_ctx_set_threads(sq25_ctx *ctx, int threads)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (threads < 0 || threads > SQ25__MAX_THREADS)
        return sq25__fail(ctx, SQ25_ERR_RANGE, "thread count %d outside 0 (online CPUs) .. %d",
                          threads, SQ25__MAX_THREADS);
    if (threads != ctx->pool.wanted) sq25__pool_stop(&ctx->pool);
    ctx->pool.wanted = threads;
    return sq25__ok(ctx);
}

int sq25_ctx_threads(const sq25_ctx *ctx) { return sq25__threads(ctx); }
