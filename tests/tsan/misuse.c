/* misuse.c -- a deliberate misuse for the ThreadSanitizer build: two threads share ONE
 * context (the header forbids it: a context and its objects are used by one thread at a
 * time). Both record errors in it at once, a data race on the context's error state that
 * TSan must report; tests/tsan/check-misuse.sh fails if it does not, which proves the TSan
 * build sees races in the library's own code (with ignore_noninstrumented_modules=1). */
#include <pthread.h>
#include <stdio.h>

#include "sq25.h"

static void *record_errors(void *arg)
{
    sq25_ctx *shared = arg;
    for (int i = 0; i < 2000; i++) {
        sq25_field *f = NULL;
        const double gt[6] = {0, 1, 0, 0, 0, -1};
        sq25_field_create(shared, -1, 1, "EPSG:4326", gt, 0, &f); /* fails: records the error */
    }
    return NULL;
}

int main(void)
{
    sq25_ctx *shared = sq25_ctx_create();
    pthread_t a, b;
    pthread_create(&a, NULL, record_errors, shared);
    pthread_create(&b, NULL, record_errors, shared);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("last error: %s\n", sq25_errmsg(shared));
    sq25_ctx_destroy(shared);
    return 0;
}
