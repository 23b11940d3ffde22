/* serve_publish.c -- atomic publication into the outbox: a cycle's files are written into a
 * staging folder on the same file system, synced, then renamed into place one by one with
 * latest.json last, so a reader of latest.json only ever finds whole files, and a failed cycle
 * (full disk, crash) leaves the previous cycle's files as they were. */
#include "serve.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int serve_fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

static void remove_tree_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

int serve_publish_begin(serve_publish *p, const char *outbox)
{
    memset(p, 0, sizeof *p);
    snprintf(p->outbox, sizeof p->outbox, "%s", outbox);
    snprintf(p->staging, sizeof p->staging, "%s/.staging", outbox);
    remove_tree_files(p->staging); /* left by a crash */
    if (mkdir(p->staging, 0755) != 0) {
        snprintf(p->error, sizeof p->error, "%s: cannot create the staging folder: %s",
                 p->staging, strerror(errno));
        return -1;
    }
    return 0;
}

const char *serve_publish_path(serve_publish *p, const char *name, char *buf, size_t cap)
{
    int slot = -1;
    for (int i = 0; i < p->count; i++)
        if (strcmp(p->names[i], name) == 0) slot = i;
    if (slot < 0) {
        if (p->count == (int)(sizeof p->names / sizeof p->names[0]) || strlen(name) >= sizeof p->names[0])
            return NULL;
        slot = p->count++;
        snprintf(p->names[slot], sizeof p->names[slot], "%s", name);
    }
    snprintf(buf, cap, "%s/%s", p->staging, name);
    return buf;
}

static int rename_one(serve_publish *p, const char *name)
{
    char from[4096], to[4096];
    snprintf(from, sizeof from, "%s/%s", p->staging, name);
    snprintf(to, sizeof to, "%s/%s", p->outbox, name);
    if (rename(from, to) == 0) return 0;
    snprintf(p->error, sizeof p->error, "%s: cannot rename into place: %s", to, strerror(errno));
    return -1;
}

int serve_publish_commit(serve_publish *p)
{
    char path[4096];
    for (int i = 0; i < p->count; i++) {
        snprintf(path, sizeof path, "%s/%s", p->staging, p->names[i]);
        if (serve_fsync_path(path) != 0) {
            snprintf(p->error, sizeof p->error, "%s: cannot sync: %s", path, strerror(errno));
            return -1;
        }
    }
    int latest = -1;
    for (int i = 0; i < p->count; i++) {
        if (strcmp(p->names[i], "latest.json") == 0) {
            latest = i;
            continue;
        }
        if (rename_one(p, p->names[i])) return -1;
    }
    /* The folder entries must be durable before the index names them. */
    if (serve_fsync_path(p->outbox) != 0) {
        snprintf(p->error, sizeof p->error, "%s: cannot sync the folder: %s", p->outbox,
                 strerror(errno));
        return -1;
    }
    if (latest >= 0 && rename_one(p, p->names[latest])) return -1;
    serve_fsync_path(p->outbox);
    rmdir(p->staging);
    return 0;
}

void serve_publish_abort(serve_publish *p) { remove_tree_files(p->staging); }

int serve_write_atomic(const char *path, const char *data, size_t len, char *err, size_t err_cap)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        snprintf(err, err_cap, "%s: cannot create: %s", tmp, strerror(errno));
        return -1;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        done += (size_t)w;
    }
    int saved = errno;
    bool ok = done == len && fsync(fd) == 0;
    if (!ok && done == len) saved = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (!ok || rename(tmp, path) != 0) {
        if (ok) saved = errno;
        snprintf(err, err_cap, "%s: cannot write: %s", path, strerror(saved ? saved : EIO));
        unlink(tmp);
        return -1;
    }
    /* Sync the folder so the rename itself survives a power cut. */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    serve_fsync_path(slash ? (dir[0] ? dir : "/") : ".");
    return 0;
}
