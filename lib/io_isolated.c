/* io_isolated.c -- reading an untrusted file in a child process: HDF5 1.10 can crash or hang
 * on some damaged files (bugs inside HDF5 that no check from outside prevents). The child
 * reads the frame and sends it through a pipe; a crash or a timeout of the child becomes
 * SQ25_ERR_FILE_DAMAGED for the caller, whose process is untouched. */
#include "internal.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What the child sends first; the strings and the data follow. */
typedef struct {
    int32_t rc;
    int32_t width, height, accumulation_s;
    int64_t valid_time;
    double gt[6];
    uint32_t projdef_len;
    uint32_t meta_len[SQ25_META_COUNT];
    char errmsg[SQ25_ERRMSG_CAP];
} isolated_header;

static bool write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t put = write(fd, p, n);
        if (put < 0 && errno == EINTR) continue;
        if (put <= 0) return false;
        p += put;
        n -= (size_t)put;
    }
    return true;
}

/* The child's whole work; never returns. */
static void child_read(const char *path, int index, int fd)
{
    isolated_header h;
    memset(&h, 0, sizeof h);
    sq25_ctx *c = sq25_ctx_create();
    sq25_field *f = NULL;
    h.rc = c ? sq25_read_field_frame(c, path, index, &f) : SQ25_ERR_NOMEM;
    if (c) snprintf(h.errmsg, sizeof h.errmsg, "%s", sq25_errmsg(c));
    bool ok = true;
    if (h.rc == SQ25_OK) {
        h.width = f->width;
        h.height = f->height;
        h.accumulation_s = f->accumulation_s;
        h.valid_time = f->valid_time;
        memcpy(h.gt, f->gt, sizeof h.gt);
        h.projdef_len = (uint32_t)strlen(f->projdef);
        for (int k = 0; k < SQ25_META_COUNT; k++)
            h.meta_len[k] = f->meta[k] ? (uint32_t)strlen(f->meta[k]) : 0;
        ok = write_all(fd, &h, sizeof h) && write_all(fd, f->projdef, h.projdef_len);
        for (int k = 0; ok && k < SQ25_META_COUNT; k++)
            ok = write_all(fd, f->meta[k] ? f->meta[k] : "", h.meta_len[k]);
        ok = ok && write_all(fd, f->data, (size_t)f->width * (size_t)f->height * sizeof(float));
    } else {
        ok = write_all(fd, &h, sizeof h);
    }
    _exit(ok ? 0 : 3);
}

/* Read n bytes before the deadline (CLOCK_MONOTONIC seconds); false on end, error or time. */
static bool read_until(int fd, void *buf, size_t n, double deadline)
{
    char *p = buf;
    while (n > 0) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double left = deadline - ((double)now.tv_sec + 1e-9 * (double)now.tv_nsec);
        if (left <= 0) return false;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int ready = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) return false;
        ssize_t got = read(fd, p, n);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return false;
        p += got;
        n -= (size_t)got;
    }
    return true;
}

/* Rebuild the field the child sent, in ctx. */
static int receive_field(sq25_ctx *ctx, const char *path, int fd, const isolated_header *h,
                         double deadline, sq25_field **out)
{
    int rc = sq25__check_grid_size(ctx, h->width, h->height, path);
    if (rc) return rc;
    char *projdef = sq25__malloc(ctx, (size_t)h->projdef_len + 1);
    if (!projdef) return SQ25_ERR_NOMEM;
    bool ok = read_until(fd, projdef, h->projdef_len, deadline);
    projdef[h->projdef_len] = '\0';
    char *meta[SQ25_META_COUNT] = {NULL};
    for (int k = 0; ok && k < SQ25_META_COUNT; k++) {
        meta[k] = sq25__malloc(ctx, (size_t)h->meta_len[k] + 1);
        ok = meta[k] && read_until(fd, meta[k], h->meta_len[k], deadline);
        if (meta[k]) meta[k][h->meta_len[k]] = '\0';
    }
    sq25_field *f = NULL;
    rc = ok ? sq25_field_create(ctx, h->width, h->height, projdef, h->gt, h->valid_time, &f)
            : sq25__fail(ctx, SQ25_ERR_FILE_DAMAGED, "%s: the reading child stopped sending",
                         path);
    if (rc == SQ25_OK &&
        !read_until(fd, f->data, (size_t)h->width * (size_t)h->height * sizeof(float), deadline))
        rc = sq25__fail(ctx, SQ25_ERR_FILE_DAMAGED, "%s: the reading child stopped sending", path);
    for (int k = 0; rc == SQ25_OK && k < SQ25_META_COUNT; k++)
        rc = sq25_field_set_meta(f, k, meta[k]);
    if (rc == SQ25_OK) f->accumulation_s = h->accumulation_s;
    for (int k = 0; k < SQ25_META_COUNT; k++) sq25__free(ctx, meta[k]);
    sq25__free(ctx, projdef);
    if (rc) sq25_field_destroy(f);
    else *out = f;
    return rc;
}

/* Why the child gave no result: crashed (a signal), killed by us at the timeout, or exited. */
static int report_lost_child(sq25_ctx *ctx, const char *path, int status, int timeout_s)
{
    if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
        return sq25__fail(ctx, SQ25_ERR_FILE_DAMAGED,
                          "%s: damaged: reading it crashed the reader (signal %d, %s)", path,
                          WTERMSIG(status), strsignal(WTERMSIG(status)));
    if (WIFSIGNALED(status))
        return sq25__fail(ctx, SQ25_ERR_FILE_DAMAGED,
                          "%s: damaged: reading it did not finish within %d s", path, timeout_s);
    return sq25__fail(ctx, SQ25_ERR_FILE_DAMAGED,
                      "%s: damaged: the reader stopped (exit status %d) without a result", path,
                      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int sq25_read_field_isolated(sq25_ctx *ctx, const char *path, int index, int timeout_s,
                             sq25_field **out)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!path || !out || index < 0 || timeout_s <= 0)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_read_field_isolated: bad argument");
    *out = NULL;
    int fds[2];
    if (pipe(fds) != 0)
        return sq25__fail(ctx, SQ25_ERR_INTERNAL, "%s: cannot make a pipe: %s", path,
                          strerror(errno));
    fflush(NULL); /* buffered output must not be written twice */
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        close(fds[0]);
        close(fds[1]);
        return sq25__fail(ctx, SQ25_ERR_INTERNAL, "%s: cannot fork: %s", path, strerror(err));
    }
    if (pid == 0) {
        close(fds[0]);
        child_read(path, index, fds[1]);
    }
    close(fds[1]);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    double deadline = (double)t0.tv_sec + 1e-9 * (double)t0.tv_nsec + timeout_s;
    isolated_header h;
    bool got = read_until(fds[0], &h, sizeof h, deadline);
    int rc;
    if (!got) rc = SQ25_ERR_FILE_DAMAGED;
    else if (h.rc != SQ25_OK) {
        h.errmsg[sizeof h.errmsg - 1] = '\0';
        rc = sq25__fail(ctx, h.rc, "%s", h.errmsg);
    } else rc = receive_field(ctx, path, fds[0], &h, deadline, out);
    close(fds[0]);
    int status = 0;
    if (!got) kill(pid, SIGKILL); /* hung or dead: make sure it is gone */
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) continue;
    if (!got) rc = report_lost_child(ctx, path, status, timeout_s);
    return rc ? rc : sq25__ok(ctx);
}
