/* fuzz_common.h -- helpers of the libFuzzer harnesses (tests/fuzz/fuzz_<name>.c): the
 * library reads files by path, so each input is written to a file in a private temporary
 * folder first. Each harness defines LLVMFuzzerTestOneInput; `make fuzz` and `make check`
 * build every tests/fuzz/fuzz_*.c (docs/fuzzing.md). */
#ifndef SQ25_FUZZ_COMMON_H
#define SQ25_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sq25.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Path "<private folder>/<name>" (the folder is made once per process, under $TMPDIR). */
static inline const char *fuzz_path(const char *name)
{
    static char dir[512];
    static char path[1024];
    if (!dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/sq25-fuzz-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        if (!mkdtemp(dir)) abort();
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* Write the input to a file of that name in the private folder; its path, or NULL. */
static inline const char *fuzz_file(const char *name, const uint8_t *data, size_t size)
{
    const char *path = fuzz_path(name);
    FILE *fp = fopen(path, "wb");
    if (!fp) return NULL;
    size_t put = size ? fwrite(data, 1, size, fp) : 0;
    if (fclose(fp) != 0 || put != size) return NULL;
    return path;
}

/* The input as a terminated string (caller frees). */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
