/* fuzz_serve_files.c -- libFuzzer harness for the two text parsers of `sq25 serve`: the
 * config file (serve_config_read_file) and the state file (serve_state_load). The first byte
 * picks the parser; the rest is the file. Build and run (clang with libFuzzer):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_XOPEN_SOURCE=700 \
 *     -D_DEFAULT_SOURCE -Iinclude -Ibin tests/fuzz/fuzz_serve_files.c bin/serve_config.c \
 *     bin/serve_state.c bin/serve_publish.c -o build/fuzz_serve_files
 *   build/fuzz_serve_files -max_total_time=60
 * Both parsers take a path, so each input is written to one temporary file first. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve.h"

static char path[4096];

static void remove_scratch(void)
{
    if (path[0]) unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    if (!path[0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/fuzz_serve_XXXXXX", dir && dir[0] ? dir : P_tmpdir);
        int fd = mkstemp(path);
        if (fd < 0) abort();
        close(fd);
        atexit(remove_scratch); /* no scratch file left behind */
    }
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    fwrite(data + 1, 1, size - 1, f);
    fclose(f);
    char err[1024];
    if (data[0] & 1) {
        serve_config cfg;
        serve_config_defaults(&cfg);
        serve_config_read_file(&cfg, path, err, sizeof err);
        serve_config_check(&cfg, err, sizeof err);
        serve_config_clear(&cfg);
    } else {
        serve_state s;
        if (serve_state_load(&s, path, err, sizeof err) == 0) serve_state_free(&s);
    }
    return 0;
}
