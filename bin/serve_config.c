/* serve_config.c -- configuration of `sq25 serve`: one table of keys shared by the config file
 * ("key = value") and the flags ("--key value"), so that both always know the same options. */
#include "serve.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef enum { KEY_STRING, KEY_INT, KEY_LONG, KEY_DOUBLE, KEY_BOOL } key_type;

typedef struct {
    const char *name;
    key_type type;
    size_t offset;
    double min, max; /* numeric range, inclusive */
} key_def;

#define KS(name, field) {name, KEY_STRING, offsetof(serve_config, field), 0, 0}
#define KN(name, type, field, lo, hi) {name, type, offsetof(serve_config, field), lo, hi}

static const key_def keys[] = {
    KS("inbox", inbox),
    KS("outbox", outbox),
    KS("state", state_path),
    KS("grid", grid_spec),
    KS("targets", targets_path),
    KS("levels", levels),
    KS("calibration", calibration),
    KS("method", method),
    KN("frames", KEY_INT, frames, 2, 8),
    KN("horizon", KEY_INT, horizon_min, 5, 360),
    KN("probability", KEY_DOUBLE, probability, 0.0001, 1),
    KN("outage-min", KEY_DOUBLE, outage_min, 0.01, 1440),
    KN("hysteresis", KEY_INT, hysteresis, 1, 100),
    KN("max-file-mb", KEY_DOUBLE, max_file_mb, 0.001, 4096),
    KN("max-files", KEY_INT, max_files, 1, 1000000),
    KN("poll-ms", KEY_INT, poll_ms, 10, 600000),
    KN("settle-ms", KEY_INT, settle_ms, 0, 600000),
    KN("retry-s", KEY_INT, retry_s, 0, 86400),
    KS("watch", watch),
    KS("sender", sender),
    KS("cap-status", cap_status),
    KS("instruction-de", instruction_de),
    KS("instruction-en", instruction_en),
    KN("cap-radius-km", KEY_DOUBLE, cap_radius_km, 0.001, 100),
    KN("forecast", KEY_BOOL, forecast, 0, 1),
    KN("maps", KEY_BOOL, maps, 0, 1),
    KN("quiet", KEY_BOOL, quiet, 0, 1),
    KN("max-cycles", KEY_LONG, max_cycles, 0, 1e12),
    KN("replay", KEY_LONG, replay, 0, 1e12),
    KS("tz", tz),
    KS("credit", credit),
    KN("keep-cycles", KEY_INT, keep_cycles, 1, 10000),
    KS("merge", merge),
    KS("sensor-stamp", sensor_stamp),
    KN("sensor-lag", KEY_INT, sensor_lag_s, -86400, 86400),
    KN("step", KEY_INT, sensor_step_s, 1, 86400),
    KN("qc", KEY_BOOL, qc, 0, 1),
    KN("bias-correct", KEY_BOOL, bias_correct, 0, 1),
    KN("sensor-window-h", KEY_DOUBLE, sensor_window_h, 0.1, 2000),
    /* links: the ranges of `sq25 run --links-...` (bin/cli_links.c) */
    KN("links-step", KEY_INT, links_step_s, 1, 86400),
    KS("links-waa", links_waa),
    KN("links-window", KEY_DOUBLE, links_window_s, 1e-9, 1e9),
    KN("links-threshold", KEY_DOUBLE, links_threshold_db, 1e-9, 1e9),
    KN("links-waa-max", KEY_DOUBLE, links_waa_max_db, 0, 1e9),
    KN("links-tau", KEY_DOUBLE, links_tau_s, 1e-9, 1e9),
};
#define N_KEYS (sizeof keys / sizeof keys[0])

void serve_config_defaults(serve_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->frames = 3;
    cfg->horizon_min = 60;
    cfg->probability = -1;
    cfg->outage_min = 15;
    cfg->hysteresis = 2;
    cfg->max_file_mb = 64;
    cfg->max_files = 10000;
    cfg->poll_ms = 1000;
    cfg->settle_ms = 2000;
    cfg->retry_s = 10;
    cfg->cap_radius_km = 0.25;
    cfg->forecast = true;
    cfg->maps = true;
    cfg->keep_cycles = 3;
    cfg->sensor_step_s = 300;
    cfg->qc = true;
    cfg->sensor_window_h = 336; /* two weeks: the PWSQC station-outlier window */
    cfg->links_step_s = 300;    /* as `sq25 run --links` */
    cfg->links_window_s = cfg->links_threshold_db = NAN;
    cfg->links_waa_max_db = cfg->links_tau_s = NAN;
}

void serve_config_clear(serve_config *cfg)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (keys[i].type == KEY_STRING) free(*(char **)((char *)cfg + keys[i].offset));
    serve_config_defaults(cfg);
}

static const key_def *find_key(const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(keys[i].name, name) == 0) return &keys[i];
    return NULL;
}

bool serve_config_is_bool(const char *key)
{
    const key_def *k = find_key(key);
    return k && k->type == KEY_BOOL;
}

static int fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -1;
}

static int parse_bool(const char *v, bool *out)
{
    if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1")) *out = true;
    else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0"))
        *out = false;
    else return -1;
    return 0;
}

int serve_config_set(serve_config *cfg, const char *key, const char *value, char *err,
                     size_t err_cap)
{
    const key_def *k = find_key(key);
    if (!k) return fail(err, err_cap, "unknown option '%s'", key);
    void *field = (char *)cfg + k->offset;
    if (k->type == KEY_STRING) {
        char *copy = strdup(value);
        if (!copy) return fail(err, err_cap, "out of memory");
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    if (k->type == KEY_BOOL) {
        if (parse_bool(value, (bool *)field))
            return fail(err, err_cap, "%s: '%s' is not yes/no", key, value);
        return 0;
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(value, &end);
    if (end == value || *end != '\0' || errno || !isfinite(v))
        return fail(err, err_cap, "%s: '%s' is not a number", key, value);
    if (v < k->min || v > k->max)
        return fail(err, err_cap, "%s: %s outside %g..%g", key, value, k->min, k->max);
    if ((k->type == KEY_INT || k->type == KEY_LONG) && v != floor(v))
        return fail(err, err_cap, "%s: '%s' is not a whole number", key, value);
    if (k->type == KEY_INT) *(int *)field = (int)v;
    else if (k->type == KEY_LONG) *(long *)field = (long)v;
    else *(double *)field = v;
    return 0;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

int serve_config_read_file(serve_config *cfg, const char *path, char *err, size_t err_cap)
{
    FILE *f = fopen(path, "r");
    if (!f) return fail(err, err_cap, "%s: cannot open the config file: %s", path, strerror(errno));
    char line[4096], msg[512];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            rc = fail(err, err_cap, "%s:%d: line longer than %zu bytes", path, lineno,
                      sizeof line - 1);
            break;
        }
        char *s = trim(line);
        if (*s == '\0' || *s == '#') continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = fail(err, err_cap, "%s:%d: expected 'key = value'", path, lineno);
            break;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        size_t n = strlen(value);
        if (n >= 2 && value[0] == '"' && value[n - 1] == '"') {
            value[n - 1] = '\0';
            value++;
        }
        if (strcmp(key, "config") == 0) rc = fail(err, err_cap, "%s:%d: 'config' cannot nest", path, lineno);
        else if (serve_config_set(cfg, key, value, msg, sizeof msg))
            rc = fail(err, err_cap, "%s:%d: %s", path, lineno, msg);
    }
    if (rc == 0 && ferror(f)) rc = fail(err, err_cap, "%s: read error", path);
    fclose(f);
    return rc;
}

int serve_config_load(serve_config *cfg, int argc, char **argv, char *err, size_t err_cap)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--config") == 0 && serve_config_read_file(cfg, argv[i + 1], err, err_cap))
            return -1;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (strncmp(o, "--", 2) != 0) return fail(err, err_cap, "unexpected argument '%s'", o), 1;
        const char *key = o + 2;
        if (strcmp(key, "config") == 0) {
            if (++i >= argc) return fail(err, err_cap, "--config needs a file"), 1;
            continue;
        }
        if (serve_config_is_bool(key)) {
            bool has_value = i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0;
            if (serve_config_set(cfg, key, has_value ? argv[++i] : "yes", err, err_cap)) return 1;
            continue;
        }
        if (strncmp(key, "no-", 3) == 0 && serve_config_is_bool(key + 3)) {
            serve_config_set(cfg, key + 3, "no", err, err_cap);
            continue;
        }
        if (i + 1 >= argc) return fail(err, err_cap, "option '%s' needs a value", o), 1;
        if (serve_config_set(cfg, key, argv[++i], err, err_cap)) return 1;
    }
    return 0;
}

int serve_config_check(const serve_config *cfg, char *err, size_t err_cap)
{
    if (!cfg->inbox) return fail(err, err_cap, "--inbox DIR is required");
    if (!cfg->outbox) return fail(err, err_cap, "--outbox DIR is required");
    if (strlen(cfg->outbox) > 1500 || strlen(cfg->inbox) > 1500)
        return fail(err, err_cap, "inbox or outbox path longer than 1500 bytes");
    if (cfg->watch && strcmp(cfg->watch, "auto") && strcmp(cfg->watch, "inotify") &&
        strcmp(cfg->watch, "poll"))
        return fail(err, err_cap, "watch: '%s' is not auto, inotify or poll", cfg->watch);
    const char *st = cfg->cap_status;
    if (st && strcmp(st, "Actual") && strcmp(st, "Exercise") && strcmp(st, "System") &&
        strcmp(st, "Test") && strcmp(st, "Draft"))
        return fail(err, err_cap, "cap-status: '%s' is not Actual, Exercise, System, Test or Draft",
                    st);
    const char *ss = cfg->sensor_stamp;
    if (ss && strcmp(ss, "end") && strcmp(ss, "start"))
        return fail(err, err_cap, "sensor-stamp: '%s' is not end or start", ss);
    const char *waa = cfg->links_waa;
    if (waa && strcmp(waa, "none") && strcmp(waa, "constant") && strcmp(waa, "schleiss") &&
        strcmp(waa, "leijnse"))
        return fail(err, err_cap, "links-waa: '%s' is not none, constant, schleiss or leijnse", waa);
    int merge = 0;
    if (cfg->merge && sq25_merge_method_from_name(cfg->merge, &merge) != SQ25_OK)
        return fail(err, err_cap, "merge: '%s' is not additive, ked, multiplicative or mfb",
                    cfg->merge);
    const char *snd = cfg->sender;
    if (snd && (!*snd || strpbrk(snd, " ,<&")))
        return fail(err, err_cap, "sender: '%s' must be non-empty, without spaces, commas, < or &",
                    snd);
    return 0;
}
