/* pool.h -- the thread pool of a context: row- or block-parallel loops of the library run on
 * it. Not API. Every loop that uses it splits its work into items (rows, blocks) whose results
 * do not depend on which thread computes them or in which order, so results are bit-identical
 * whatever the thread count. */
#ifndef SQ25_POOL_H
#define SQ25_POOL_H

#include <pthread.h>
#include <sys/types.h>
#include <stdatomic.h>
#include <stdbool.h>

#define SQ25__MAX_THREADS 256

/* Work on items [begin, end) as thread `worker` (0 = the calling thread, up to the pool's
 * thread count - 1; index per-thread scratch with it). */
typedef void (*sq25__range_fn)(void *arg, int begin, int end, int worker);

typedef struct {
    int wanted;            /* threads asked for with sq25_ctx_set_threads; 0 = online CPUs */
    int started;           /* worker threads running (the caller is one more) */
    bool ready;            /* mutex and conditions initialised */
    pid_t owner;           /* the process whose threads these are (not a fork's child) */
    atomic_bool stop;      /* workers leave */
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    atomic_ulong generation; /* bumped for each job (release: the job's fields are set) */
    int sleepers;          /* workers blocked on wake (under mu) */
    bool caller_waiting;   /* the calling thread blocked on done (under mu) */
    int next_worker;       /* worker indices handed out at start-up */
    bool oversubscribed;   /* more threads than online CPUs: polling threads yield */
    /* the current job */
    sq25__range_fn fn;
    void *arg;
    int n_items, chunk, n_chunks;
    atomic_int next_chunk;
    atomic_int pending;    /* workers still inside the job */
    bool running;          /* a job is on: nested loops run inline */
    pthread_t threads[SQ25__MAX_THREADS - 1];
} sq25__pool;

#endif
