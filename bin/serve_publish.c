/* serve_publish.c -- atomic publication into the outbox: a cycle's files are written into a
 * staging folder on the same file system, synced, the folder is renamed to cycles/<name> and
 * the link `current` switched to it in one rename, so a reader sees either the previous cycle
 * or this one, whole, and a failed cycle (full disk, crash) leaves the previous one current. */
#include "serve.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
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

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int serve_publish_begin(serve_publish *p, const char *outbox, const char *name)
{
    memset(p, 0, sizeof *p);
    snprintf(p->outbox, sizeof p->outbox, "%s", outbox);
    snprintf(p->staging, sizeof p->staging, "%s/.staging", outbox);
    char dir[4096], path[4096];
    snprintf(dir, sizeof dir, "%s/cycles", outbox);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(p->error, sizeof p->error, "%s: cannot create the cycles folder: %s", dir,
                 strerror(errno));
        return -1;
    }
    snprintf(p->name, sizeof p->name, "%s", name);
    for (int k = 2; k < 1000; k++) {
        snprintf(path, sizeof path, "%.3000s/%s", dir, p->name);
        if (!exists(path)) break;
        snprintf(p->name, sizeof p->name, "%.100s.%d", name, k);
    }
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

static int fail(serve_publish *p, const char *what, const char *path)
{
    snprintf(p->error, sizeof p->error, "%s: %s: %s", path, what, strerror(errno));
    return -1;
}

/* Make `link` point to target, replacing what is there in one rename (a link of the right
 * target is left alone). */
static int replace_link(serve_publish *p, const char *target, const char *link)
{
    char now[4096], tmp[4200];
    ssize_t n = readlink(link, now, sizeof now - 1);
    if (n >= 0) {
        now[n] = '\0';
        if (strcmp(now, target) == 0) return 0;
    }
    snprintf(tmp, sizeof tmp, "%s.new-link", link);
    unlink(tmp);
    if (symlink(target, tmp) != 0) return fail(p, "cannot make the link", tmp);
    if (rename(tmp, link) != 0) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
        return fail(p, "cannot switch the link", link);
    }
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Remove the cycle folders beyond the newest keep (names sort by cycle number); the current
 * one is never removed. Each goes out of sight first (renamed to .prune-<name>), so a folder
 * under a cycle name is always whole; a .prune- folder a crash left is removed next time. */
static void prune_cycles(const serve_publish *p, int keep)
{
    char dir[4096], path[4400];
    snprintf(dir, sizeof dir, "%s/cycles", p->outbox);
    DIR *d = opendir(dir);
    if (!d) return;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, ".prune-", 7) == 0) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            remove_tree_files(path);
        }
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            char **x = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof *x);
            if (!x) break;
            names = x;
        }
        if (!(names[n] = strdup(e->d_name))) break;
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i + (size_t)keep < n; i++) {
        if (strcmp(names[i], p->name) == 0) continue;
        char hidden[4400];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        snprintf(hidden, sizeof hidden, "%s/.prune-%s", dir, names[i]);
        if (rename(path, hidden) == 0) remove_tree_files(hidden);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

int serve_publish_commit(serve_publish *p, int keep)
{
    char path[4096], final[4096], target[4096];
    for (int i = 0; i < p->count; i++) {
        snprintf(path, sizeof path, "%s/%s", p->staging, p->names[i]);
        if (serve_fsync_path(path) != 0) return fail(p, "cannot sync", path);
    }
    if (serve_fsync_path(p->staging) != 0) return fail(p, "cannot sync the folder", p->staging);
    snprintf(final, sizeof final, "%s/cycles/%s", p->outbox, p->name);
    if (rename(p->staging, final) != 0) return fail(p, "cannot rename the staging folder to", final);
    snprintf(path, sizeof path, "%s/cycles", p->outbox);
    if (serve_fsync_path(path) != 0) return fail(p, "cannot sync the folder", path);
    /* The switch: from here on readers of `current` see this cycle, whole. */
    snprintf(target, sizeof target, "cycles/%s", p->name);
    snprintf(path, sizeof path, "%s/current", p->outbox);
    if (replace_link(p, target, path) != 0) return -1;
    /* The fixed names of earlier versions, as links through `current` (made once). */
    for (int i = 0; i < p->count; i++) {
        snprintf(target, sizeof target, "current/%s", p->names[i]);
        snprintf(path, sizeof path, "%s/%s", p->outbox, p->names[i]);
        if (replace_link(p, target, path) != 0) return -1;
    }
    serve_fsync_path(p->outbox);
    prune_cycles(p, keep);
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
