/* serve_inbox.c -- the inbox of `sq25 serve`: which files are new, which were refused (too
 * large, unreadable, late, duplicate), bounded in the number of entries it remembers; and the
 * wait for the next change, with inotify on Linux and polling otherwise. */
#include "serve_inbox.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/inotify.h>
#endif

int64_t serve_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void serve_inbox_init(serve_inbox *in)
{
    memset(in, 0, sizeof *in);
    in->notify_fd = -1;
}

void serve_inbox_free(serve_inbox *in)
{
    free(in->entries);
    if (in->notify_fd >= 0) close(in->notify_fd);
    serve_inbox_init(in);
}

int serve_inbox_watch(serve_inbox *in, const char *dir, const char *mode)
{
    snprintf(in->dir, sizeof in->dir, "%s", dir);
    if (mode && strcmp(mode, "poll") == 0) return 0;
#ifdef __linux__
    in->notify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (in->notify_fd >= 0 &&
        inotify_add_watch(in->notify_fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE) < 0) {
        close(in->notify_fd);
        in->notify_fd = -1;
    }
#endif
    if (in->notify_fd < 0 && mode && strcmp(mode, "inotify") == 0) return -1;
    return 0;
}

void serve_inbox_wait(serve_inbox *in, int timeout_ms)
{
    if (in->notify_fd < 0) {
        poll(NULL, 0, timeout_ms); /* returns early on a signal */
        return;
    }
    struct pollfd pfd = {.fd = in->notify_fd, .events = POLLIN};
    if (poll(&pfd, 1, timeout_ms) > 0) {
        char buf[8192];
        while (read(in->notify_fd, buf, sizeof buf) > 0) {
        }
    }
}

static serve_inbox_entry *find_entry(serve_inbox *in, const char *name)
{
    for (size_t i = 0; i < in->count; i++)
        if (strcmp(in->entries[i].name, name) == 0) return &in->entries[i];
    return NULL;
}

/* Forget entries whose files are gone, so the table follows the inbox. */
static void prune(serve_inbox *in)
{
    size_t k = 0;
    for (size_t i = 0; i < in->count; i++)
        if (in->entries[i].present) in->entries[k++] = in->entries[i];
    in->count = k;
}

static serve_inbox_entry *add_entry(serve_inbox *in, const char *name, size_t limit)
{
    if (in->count >= limit) return NULL;
    if (in->count == in->cap) {
        size_t cap = in->cap ? 2 * in->cap : 64;
        serve_inbox_entry *e = realloc(in->entries, cap * sizeof *e);
        if (!e) return NULL;
        in->entries = e;
        in->cap = cap;
    }
    serve_inbox_entry *e = &in->entries[in->count++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    return e;
}

/* With the table full, a new file takes the place of the oldest refused one, if it is newer:
 * in a flood the newest files stay in view (a nowcast needs those), and the evicted file,
 * older than everything kept, cannot come back in and push another one out. */
#define MAX_EVICTIONS_PER_SCAN 64
static serve_inbox_entry *evict_for(serve_inbox *in, int64_t mtime_ns, const char *name)
{
    serve_inbox_entry *oldest = NULL;
    for (size_t i = 0; i < in->count; i++) {
        serve_inbox_entry *e = &in->entries[i];
        if (e->status == SERVE_ENTRY_REFUSED && e->mtime_ns < mtime_ns &&
            (!oldest || e->mtime_ns < oldest->mtime_ns))
            oldest = e;
    }
    if (!oldest) return NULL;
    memset(oldest, 0, sizeof *oldest);
    snprintf(oldest->name, sizeof oldest->name, "%s", name);
    return oldest;
}

int serve_inbox_scan(serve_inbox *in, size_t max_entries, serve_inbox_entry ***changed,
                     size_t *n_changed, size_t *n_refused_flood)
{
    *changed = NULL;
    *n_changed = 0;
    *n_refused_flood = 0;
    DIR *d = opendir(in->dir);
    if (!d) return -1;
    for (size_t i = 0; i < in->count; i++) in->entries[i].present = false;
    struct dirent *de;
    char path[4096];
    int evictions = 0;
    /* Mark what is there, add what is new (up to the limit). */
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue; /* hidden: temporary files of writers */
        if (strlen(de->d_name) >= sizeof in->entries[0].name) continue;
        snprintf(path, sizeof path, "%s/%s", in->dir, de->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        int64_t mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        serve_inbox_entry *e = find_entry(in, de->d_name);
        if (!e) {
            e = add_entry(in, de->d_name, max_entries);
            if (!e && evictions < MAX_EVICTIONS_PER_SCAN) {
                e = evict_for(in, mtime_ns, de->d_name);
                evictions += e != NULL;
            }
            if (!e) {
                (*n_refused_flood)++;
                continue;
            }
            e->status = SERVE_ENTRY_NEW;
        } else if (e->size != (int64_t)st.st_size || e->mtime_ns != mtime_ns) {
            e->status = SERVE_ENTRY_NEW; /* rewritten: look again */
        }
        e->present = true;
        e->size = (int64_t)st.st_size;
        e->mtime_ns = mtime_ns;
    }
    closedir(d);
    prune(in);
    size_t n = 0;
    for (size_t i = 0; i < in->count; i++)
        n += in->entries[i].status == SERVE_ENTRY_NEW || in->entries[i].status == SERVE_ENTRY_SETTLING;
    if (n == 0) return 0;
    *changed = malloc(n * sizeof **changed);
    if (!*changed) return -1;
    for (size_t i = 0; i < in->count; i++)
        if (in->entries[i].status == SERVE_ENTRY_NEW || in->entries[i].status == SERVE_ENTRY_SETTLING)
            (*changed)[(*n_changed)++] = &in->entries[i];
    return 0;
}

bool serve_inbox_settling(const serve_inbox_entry *e, int settle_ms)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    return now_ns - e->mtime_ns < (int64_t)settle_ms * 1000000;
}
