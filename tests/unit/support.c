#include "support.h"

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *test_data_path(const char *relative)
{
    static char buf[1024];
    const char *root = getenv("SQ25_TEST_DATA");
    snprintf(buf, sizeof buf, "%s/%s", root ? root : "data", relative);
    return buf;
}

const char *test_shared_path(const char *relative)
{
    static char buf[1024];
    const char *root = getenv("SQ25_DATA");
    snprintf(buf, sizeof buf, "%s/%s", root ? root : "../shared/data", relative);
    struct stat st;
    return stat(buf, &st) == 0 ? buf : NULL;
}

static char tmpdir_buf[256];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Remove the test's temporary directory when the test process ends (unless asked to keep it
 * for inspection with SQ25_KEEP_TMP=1). */
static void remove_tmpdir(void)
{
    if (tmpdir_buf[0] && !getenv("SQ25_KEEP_TMP"))
        nftw(tmpdir_buf, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *test_tmpdir(void)
{
    char *buf = tmpdir_buf;
    if (!buf[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(buf, sizeof tmpdir_buf, "%s/sq25-test-XXXXXX", base ? base : "/tmp");
        if (!mkdtemp(buf)) {
            perror("mkdtemp");
            abort();
        }
        atexit(remove_tmpdir);
    }
    return buf;
}

const char *test_write_file(const char *name, const char *text)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", test_tmpdir(), name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    return path;
}

const char *test_ncgen(const char *name, const char *cdl)
{
    static char nc[600];
    if (system("command -v ncgen >/dev/null 2>&1") != 0) {
        printf("%s: skipped, ncgen (Debian netcdf-bin) is not installed\n", name);
        return NULL;
    }
    char cdl_name[96], cmd[1400];
    snprintf(cdl_name, sizeof cdl_name, "%s.cdl", name);
    const char *cdl_path = test_write_file(cdl_name, cdl);
    snprintf(nc, sizeof nc, "%s/%s.nc", test_tmpdir(), name);
    snprintf(cmd, sizeof cmd, "ncgen -k nc4 -o '%s' '%s'", nc, cdl_path);
    assert_int_equal(system(cmd), 0);
    return nc;
}

static void *failing_alloc(void *opaque, size_t size)
{
    test_alloc_state *st = opaque;
    st->calls++;
    if (st->fail_at && st->calls == st->fail_at) return NULL;
    void *p = malloc(size);
    if (p) st->live++;
    return p;
}

static void failing_free(void *opaque, void *ptr)
{
    test_alloc_state *st = opaque;
    if (ptr) st->live--;
    free(ptr);
}

sq25_ctx *test_ctx_failing(test_alloc_state *st)
{
    return sq25_ctx_create_with_allocator(failing_alloc, failing_free, st);
}

void test_ensemble_frames(sq25_ctx *ctx, sq25_field *frames[3])
{
    enum { W = 96, H = 80 };
    const double gt[6] = {500000, 1000, 0, 5800000, 0, -1000};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(sq25_field_create(ctx, W, H, "EPSG:32631", gt, 1625410800 + 300 * k,
                                           &frames[k]), SQ25_OK);
        float *d = sq25_field_data(frames[k]);
        for (int r = 0; r < H; r++)
            for (int c = 0; c < W; c++) {
                const double dx = c - 30 - 2 * k, dy = r - 40;
                const double v = 20 * exp(-(dx * dx + dy * dy) / 60.0) +
                                 3 * exp(-((dx - 25) * (dx - 25) + (dy - 10) * (dy - 10)) / 20.0);
                d[r * W + c] = v < 0.05 ? 0.0f : (float)v;
            }
        d[0] = NAN; /* a nodata corner */
    }
}
