/* serve_inbox.h -- the inbox table and the wait for changes of `sq25 serve`. */
#ifndef SQ25_SERVE_INBOX_H
#define SQ25_SERVE_INBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SERVE_ENTRY_NEW = 0,  /* not looked at yet (or rewritten since) */
    SERVE_ENTRY_SETTLING, /* did not read, but is young: maybe still being written */
    SERVE_ENTRY_FRAME,    /* a radar frame, used or queued */
    SERVE_ENTRY_SENSORS,  /* a sensor file, read into the sensor store */
    SERVE_ENTRY_REFUSED   /* too large, unreadable, late or duplicate: logged once */
} serve_entry_status;

typedef struct {
    char name[256];
    int64_t size, mtime_ns;
    serve_entry_status status;
    int64_t valid_time; /* for frames; for sensor files the end of their last step */
    bool present;
} serve_inbox_entry;

typedef struct {
    char dir[2048];
    serve_inbox_entry *entries;
    size_t count, cap;
    int notify_fd; /* inotify descriptor, -1 when polling */
} serve_inbox;

int64_t serve_now_ms(void); /* monotonic clock, ms */
void serve_inbox_init(serve_inbox *in);
void serve_inbox_free(serve_inbox *in);
/* Watch dir: mode "inotify" (fails with -1 when unavailable), "poll", or "auto"/NULL
 * (inotify when available). */
int serve_inbox_watch(serve_inbox *in, const char *dir, const char *mode);
/* Wait up to timeout_ms for a change (or a signal). */
void serve_inbox_wait(serve_inbox *in, int timeout_ms);
/* Scan the folder: forget vanished files, add new ones (hidden names skipped; at most
 * max_entries remembered: the rest are counted in *n_refused_flood and looked at in a later
 * scan), and list the entries to look at (new, rewritten, settling) in *changed (malloc'd
 * array of pointers into the table, valid until the next scan; free it). 0, or -1 when the
 * folder cannot be read. */
int serve_inbox_scan(serve_inbox *in, size_t max_entries, serve_inbox_entry ***changed,
                     size_t *n_changed, size_t *n_refused_flood);
/* Whether the entry's file was modified less than settle_ms ago. */
bool serve_inbox_settling(const serve_inbox_entry *e, int settle_ms);

#endif
