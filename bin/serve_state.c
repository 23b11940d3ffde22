/* serve_state.c -- the warning of each target across cycles: raised, updated, lowered (after
 * the hysteresis) and cancelled explicitly, with a stable warning identifier and the CAP
 * identifiers of its messages; saved to a small text file between runs. */
#include "serve.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* First line of the state file; bump the number when the columns change. */
#define STATE_MAGIC "sq25-serve-state 1"

const char *serve_data_state_name(serve_data_state s)
{
    switch (s) {
    case SERVE_DATA_OK: return "ok";
    case SERVE_DATA_DEGRADED: return "degraded";
    case SERVE_DATA_STALE: return "stale";
    default: return "no_data";
    }
}

const char *serve_action_name(serve_action a)
{
    static const char *names[] = {"none", "raise", "upgrade", "update",
                                  "hold", "lower", "cancel",  "no_data"};
    return (unsigned)a < sizeof names / sizeof names[0] ? names[a] : "none";
}

void serve_state_init(serve_state *s) { memset(s, 0, sizeof *s); }

void serve_state_free(serve_state *s)
{
    free(s->tracks);
    serve_state_init(s);
}

serve_track *serve_state_track(serve_state *s, const char *target_id)
{
    for (size_t i = 0; i < s->count; i++)
        if (strcmp(s->tracks[i].target_id, target_id) == 0) return &s->tracks[i];
    if (s->count == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        serve_track *t = realloc(s->tracks, cap * sizeof *t);
        if (!t) return NULL;
        s->tracks = t;
        s->cap = cap;
    }
    serve_track *t = &s->tracks[s->count++];
    memset(t, 0, sizeof *t);
    snprintf(t->target_id, sizeof t->target_id, "%s", target_id);
    return t;
}

/* A CAP identifier may not hold spaces, commas, '<' or '&' (CAP 1.2, 3.2.1): keep letters,
 * digits and - _ . : only. */
static void sanitize(char *out, size_t cap, const char *in)
{
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)in; *c && n + 1 < cap; c++) {
        bool keep = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                    (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.' || *c == ':';
        out[n++] = keep ? (char)*c : '_';
    }
    out[n] = '\0';
}

static void compact_time(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, cap, "%Y%m%dT%H%MZ", &tm);
}

/* The identifier of the next message of t: "sq25-<warning id>-<seq>". */
static void next_message(serve_track *t, int64_t sent)
{
    snprintf(t->prev_ident, sizeof t->prev_ident, "%s", t->last_ident);
    t->prev_sent = t->last_sent;
    t->seq++;
    snprintf(t->last_ident, sizeof t->last_ident, "sq25-%.120s-%d", t->warning_id, t->seq);
    if (t->seq == 1) {
        snprintf(t->first_ident, sizeof t->first_ident, "%s", t->last_ident);
        t->first_sent = sent;
    }
    t->last_sent = sent;
}

static serve_action raise_new(serve_track *t, int level, int64_t issue_time, int64_t sent)
{
    char id[64], when[32];
    sanitize(id, sizeof id, t->target_id);
    compact_time(issue_time, when, sizeof when);
    snprintf(t->warning_id, sizeof t->warning_id, "%.63s-%.31s", id, when);
    t->active = true;
    t->level = level;
    t->below = 0;
    t->seq = 0;
    t->first_ident[0] = t->last_ident[0] = '\0';
    next_message(t, sent);
    return SERVE_ACT_RAISE;
}

serve_action serve_track_step(serve_track *t, const serve_target_now *now, int hysteresis,
                              int64_t issue_time, int64_t sent)
{
    serve_action a;
    if (!t->active) {
        /* Never an all-clear from missing data, and never a warning from it either. */
        a = (!now->no_data && now->level > 0) ? raise_new(t, now->level, issue_time, sent)
                                              : SERVE_ACT_NONE;
        t->last_action = a;
        return a;
    }
    if (now->no_data) {
        a = SERVE_ACT_NODATA;
    } else if (now->level > t->level) {
        t->level = now->level;
        t->below = 0;
        a = SERVE_ACT_UPGRADE;
    } else if (now->level == t->level) {
        t->below = 0;
        a = SERVE_ACT_UPDATE;
    } else if (now->keep_level || ++t->below < hysteresis) {
        a = SERVE_ACT_HOLD;
    } else {
        t->below = 0;
        t->level = now->level;
        a = now->level > 0 ? SERVE_ACT_LOWER : SERVE_ACT_CANCEL;
    }
    next_message(t, sent);
    if (a == SERVE_ACT_CANCEL) t->active = false;
    t->last_action = a;
    return a;
}

/* ---- the state file: a header line, "key value" lines, then one line per track ---- */
/* Track line: "track<TAB>target<TAB>active<TAB>level<TAB>below<TAB>seq<TAB>warning_id<TAB>
 * first_ident<TAB>first_sent<TAB>last_ident<TAB>last_sent"; "-" for empty strings. */

static const char *or_dash(const char *s) { return s[0] ? s : "-"; }

int serve_state_save(const serve_state *s, const char *path, char *err, size_t err_cap)
{
    size_t cap = 256 + s->count * (64 + 4 * SERVE_ID_CAP + 80);
    char *buf = malloc(cap);
    if (!buf) {
        snprintf(err, err_cap, "%s: out of memory", path);
        return -1;
    }
    size_t n = (size_t)snprintf(buf, cap, "%s\nlast_frame_time %" PRId64 "\nnominal_step_s %d\ncycles %ld\n",
                                STATE_MAGIC, s->last_frame_time, s->nominal_step_s, s->cycles);
    for (size_t i = 0; i < s->count && n < cap; i++) {
        const serve_track *t = &s->tracks[i];
        n += (size_t)snprintf(buf + n, cap - n,
                              "track\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%" PRId64 "\t%s\t%" PRId64 "\n",
                              t->target_id, t->active ? 1 : 0, t->level, t->below, t->seq,
                              or_dash(t->warning_id), or_dash(t->first_ident), t->first_sent,
                              or_dash(t->last_ident), t->last_sent);
    }
    int rc = n < cap ? serve_write_atomic(path, buf, n, err, err_cap) : -1;
    if (n >= cap) snprintf(err, err_cap, "%s: state larger than its buffer", path);
    free(buf);
    return rc;
}

static void copy_field(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", strcmp(src, "-") == 0 ? "" : src);
}

/* Split a tab-separated line in place into at most max fields. */
static int split_tabs(char *line, char **fields, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line, "\t\n", &save); tok && n < max; tok = strtok_r(NULL, "\t\n", &save))
        fields[n++] = tok;
    return n;
}

static int parse_track(serve_state *s, char *line)
{
    char *f[11];
    if (split_tabs(line, f, 11) != 11 || strcmp(f[0], "track") != 0) return -1;
    serve_track *t = serve_state_track(s, f[1]);
    if (!t) return -1;
    t->active = atoi(f[2]) != 0;
    t->level = atoi(f[3]);
    t->below = atoi(f[4]);
    t->seq = atoi(f[5]);
    copy_field(t->warning_id, sizeof t->warning_id, f[6]);
    copy_field(t->first_ident, sizeof t->first_ident, f[7]);
    t->first_sent = strtoll(f[8], NULL, 10);
    copy_field(t->last_ident, sizeof t->last_ident, f[9]);
    t->last_sent = strtoll(f[10], NULL, 10);
    if (t->level < 0 || t->level > SQ25_WARN_MAX_LEVELS || t->seq < 0) return -1;
    return 0;
}

int serve_state_load(serve_state *s, const char *path, char *err, size_t err_cap)
{
    serve_state_init(s);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) return 0;
        snprintf(err, err_cap, "%s: cannot open the state file: %s", path, strerror(errno));
        return -1;
    }
    char line[2048];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        long long v = 0;
        if (lineno == 1) rc = strncmp(line, STATE_MAGIC "\n", sizeof STATE_MAGIC) ? -1 : 0;
        else if (sscanf(line, "last_frame_time %lld", &v) == 1) s->last_frame_time = v;
        else if (sscanf(line, "nominal_step_s %lld", &v) == 1) s->nominal_step_s = (int)v;
        else if (sscanf(line, "cycles %lld", &v) == 1) s->cycles = (long)v;
        else rc = parse_track(s, line);
        if (rc) snprintf(err, err_cap, "%s:%d: not a sq25 serve state line", path, lineno);
    }
    if (rc == 0 && lineno == 0) {
        snprintf(err, err_cap, "%s: empty state file", path);
        rc = -1;
    }
    fclose(f);
    if (rc) serve_state_free(s);
    return rc;
}
