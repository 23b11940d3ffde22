/* cmd_serve.c -- sq25 serve: the reference warning service (docs/serve.md). It watches an
 * inbox for radar files, runs one cycle per new radar time through sq25_pipeline, keeps each
 * target's warning between cycles (raise, update, lower after a hysteresis, cancel), and
 * publishes warnings, targets, summary, maps, the forecast and CAP 1.2 alerts atomically into
 * an outbox, with latest.json last. Built on the public API of libsq25 only. */
#include "cli.h"
#include "serve.h"
#include "serve_inbox.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char cmd_serve_usage[] =
    "usage: sq25 serve --inbox DIR --outbox DIR [options]\n"
    "\n"
    "Watches DIR for radar files (any format 'sq25 info' reads), rain-sensor files (CSV or\n"
    "OpenSense netCDF-4, as 'sq25 run --sensors') and microwave-link files (OpenSense CML\n"
    "netCDF-4, as 'sq25 run --links'), runs one cycle per new radar time (the sensors and\n"
    "links merged with the radar, as 'sq25 run') and publishes each cycle, whole, in one\n"
    "step: OUTBOX/cycles/<n>-<time>/ with warnings.geojson, targets.geojson, targets.csv,\n"
    "summary.json, forecast.h5, the maps (observation.png, forecast_30.png, forecast_60.png,\n"
    "warning.png), one CAP 1.2 alert per warned target (cap_<target>.cap.xml) and\n"
    "latest.json naming them; the link OUTBOX/current is switched to it (the top-level\n"
    "names are links through it). One JSON log line\n"
    "per cycle on stdout. SIGTERM finishes the cycle in progress and exits; SIGHUP re-reads\n"
    "the config file. docs/serve.md describes the states, the config file and the unit file.\n"
    "\n"
    "options (each also a line 'key = value' of the --config file; flags win):\n"
    "  --config FILE        config file\n"
    "  --inbox DIR          watched folder (files whose names start with '.' are skipped)\n"
    "  --outbox DIR         output folder (created)\n"
    "  --state FILE         warning state between runs (default OUTBOX/.sq25-serve.state)\n"
    "  --grid SPEC          street grid, as 'sq25 run' (default: the radar grid)\n"
    "  --targets FILE       points/lines to warn (CSV or GeoJSON, as 'sq25 run')\n"
    "  --levels A,B,C       warning levels in mm per hour (default 15,25,40: DWD)\n"
    "  --probability P      probability at which a level is issued\n"
    "  --calibration MAP    probability calibration, as 'sq25 run'\n"
    "  --method NAME        motion method: dense (default) or lk\n"
    "  --frames N           frames used for motion (default 3)\n"
    "  --horizon MIN        forecast horizon in minutes (default 60)\n"
    "  --outage-min M       no radar for longer than M minutes: every target no-data (15)\n"
    "  --hysteresis N       cycles below a level before it is lowered or cancelled (2)\n"
    "  --max-file-mb MB     inbox files larger than this are refused (64)\n"
    "  --max-files N        inbox entries remembered; more are a flood, looked at later (10000)\n"
    "  --poll-ms MS         polling interval / longest inotify wait (1000)\n"
    "  --settle-ms MS       a young file that does not read is retried, not refused (2000)\n"
    "  --retry-s S          wait before retrying a cycle that could not be published (10)\n"
    "  --watch MODE         auto (inotify when available), inotify or poll\n"
    "  --sender ID          CAP sender (default sq25@localhost)\n"
    "  --cap-status S       CAP status: Actual (default), Exercise, System, Test, Draft\n"
    "  --instruction-de T   CAP instruction text, German; --instruction-en T: English\n"
    "  --cap-radius-km R    CAP circle radius around point targets (0.25)\n"
    "  --merge NAME         sensors: merging method, additive (default), ked, multiplicative, mfb\n"
    "  --sensor-stamp S     sensors: end (default: times end each interval) or start\n"
    "  --sensor-lag SEC     sensors: seconds added to the sensors' times (default 0)\n"
    "  --no-qc              sensors: no PWS quality control; --bias-correct: PWSQC factors too\n"
    "  --step S             sensors: CSV time step in seconds (default 300)\n"
    "  --sensor-window-h H  sensors: hours of history pushed each cycle, QC'd (default 336)\n"
    "  --links-step S       links: interval in seconds (default 300); --links-waa M,\n"
    "                       --links-window S, --links-threshold DB, --links-waa-max DB,\n"
    "                       --links-tau S: as 'sq25 run --links-...' ('sq25 help links')\n"
    "  --no-forecast        do not publish forecast.h5\n"
    "  --no-maps            no maps (observation.png, forecast_30.png, forecast_60.png,\n"
    "                       warning.png: the maps of 'sq25 run')\n"
    "  --tz ZONE            local time beside UTC on the maps; --credit TEXT: their credit line\n"
    "  --keep-cycles N      cycle folders kept in OUTBOX/cycles (default 3)\n"
    "  --max-cycles N       exit after N cycles (0 = run until SIGTERM)\n"
    "  --replay N           soak: N cycles over the inbox frames (played to and fro), then exit\n"
    "  --quiet              no log lines on stdout\n";

static volatile sig_atomic_t stop_requested, reload_requested, stop_signal;

static void on_stop(int sig)
{
    stop_signal = sig;
    stop_requested = 1;
}
static void on_reload(int sig)
{
    (void)sig;
    reload_requested = 1;
}

#define MAX_HELD 8
#define MAX_OUT_FILES 64

typedef struct {
    sq25_field *field;
    char name[256];
} held_frame;

typedef struct {
    serve_config cfg;
    int argc;
    char **argv;
    char state_path[2304];
    sq25_ctx *ctx;
    sq25_pipeline *p;
    sq25_field *street;
    sq25_targets *targets;
    serve_state state;
    serve_inbox inbox;
    serve_sensors sensors;     /* the sensor files read from the inbox */
    bool sensors_pushed;       /* the pipeline holds a sensor window */
    serve_links links;         /* the microwave-link files read from the inbox */
    bool links_pushed;         /* the pipeline holds links' path rain */
    held_frame held[MAX_HELD]; /* oldest first */
    int n_held;
    int64_t last_arrival_ms; /* monotonic time of the newest frame's arrival */
    bool outage_published;
    size_t last_flood;                 /* entries left out by the last scan */
    int level_count;                   /* levels of the last forecast, for no-data cycles */
    int64_t last_fed_time;             /* newest frame fed to the pipeline */
    int fed_count;                     /* frames fed since the last reset */
    char feed_reason[400];             /* why the last feed started a new sequence */
    char level_names[SQ25_WARN_MAX_LEVELS][32];
    char published[MAX_OUT_FILES][96]; /* what the last cycle published */
    int n_published;
    int lock_fd; /* the outbox lock (flock) */
} service;

/* What one cycle found and did, for the outputs and the log line. */
typedef struct {
    int64_t issue_time;
    int64_t sensor_shift_s; /* soak: the sensor files' times moved by this */
    serve_data_state data_state;
    char reason[1024];
    int frames_used, step_s;
    int sensor_files, sensors_merged; /* files in the sensor window, sensors in the merge */
    int raised, updated, lowered, cancelled, active;
    double ms_read, ms_pipeline, ms_outputs, ms_publish, ms_total;
    double ms_forecast, ms_maps; /* parts of ms_outputs */
    bool published;
    char error[768];
} cycle_info;

/* ---- log lines: one JSON object per line on stdout ---- */
static void log_begin(const service *s, const char *event)
{
    if (s->cfg.quiet) return;
    char now[32];
    sq25_time_format((int64_t)time(NULL), now, sizeof now);
    printf("{\"time\":\"%s\",\"event\":\"%s\"", now, event);
}
static void log_str(const service *s, const char *key, const char *value)
{
    if (s->cfg.quiet) return;
    printf(",\"%s\":", key);
    cli_json_string(stdout, value);
}
static void log_end(const service *s)
{
    if (s->cfg.quiet) return;
    printf("}\n");
    fflush(stdout);
}
static void log_event(const service *s, const char *event, const char *file, const char *detail)
{
    log_begin(s, event);
    if (file) log_str(s, "file", file);
    if (detail) log_str(s, "detail", detail);
    log_end(s);
}

/* ---- runtime: context, pipeline, grid and targets from the configuration ---- */
static int parse_levels(const char *text, double *thr, int *n)
{
    const char *s = text;
    char *end;
    *n = 0;
    while (*n < SQ25_WARN_MAX_LEVELS) {
        thr[(*n)++] = strtod(s, &end);
        if (end == s) return -1;
        if (*end != ',') return *end ? -1 : 0;
        s = end + 1;
    }
    return -1;
}

static void free_runtime(service *s)
{
    sq25_pipeline_destroy(s->p);
    sq25_field_destroy(s->street);
    sq25_targets_destroy(s->targets);
    s->p = NULL;
    s->street = NULL;
    s->targets = NULL;
}

static int build_runtime(service *s)
{
    const serve_config *c = &s->cfg;
    sq25_ctx *ctx = s->ctx;
    int method = 0, rc = sq25_motion_method_from_name(c->method ? c->method : "dense", &method);
    if (rc) return cli_error("serve", "unknown motion method '%s'", c->method);
    if ((rc = sq25_pipeline_create(ctx, &s->p)) ||
        (rc = sq25_motion_options_set_method(sq25_pipeline_motion_options(s->p), method)) ||
        (rc = sq25_pipeline_set_input_frames(s->p, c->frames)) ||
        (rc = sq25_pipeline_set_horizon(s->p, c->horizon_min * 60)))
        return cli_lib_error("serve", ctx, rc);
    sq25_warn_options *wo = sq25_pipeline_warn_options(s->p);
    /* As `sq25 run`: the level thresholds are 1-hour totals whatever the forecast horizon. */
    if ((rc = sq25_warn_options_set_horizon(wo, 3600))) return cli_lib_error("serve", ctx, rc);
    if (c->probability > 0 && (rc = sq25_warn_options_set_probability_threshold(wo, c->probability)))
        return cli_lib_error("serve", ctx, rc);
    if (c->levels) {
        double thr[SQ25_WARN_MAX_LEVELS];
        int n = 0;
        if (parse_levels(c->levels, thr, &n)) return cli_error("serve", "bad levels '%s'", c->levels);
        if ((rc = sq25_warn_options_set_levels(wo, n, thr, NULL))) return cli_lib_error("serve", ctx, rc);
    }
    if (c->calibration && cli_set_calibration("serve", ctx, wo, c->calibration) != CLI_OK)
        return CLI_FAIL;
    /* Sensors as `sq25 run --sensors`, except that QC runs in the pipeline on each cycle's
     * window (the service has no whole series to QC once). */
    int merge = SQ25_MERGE_ADDITIVE;
    if (c->merge) sq25_merge_method_from_name(c->merge, &merge);
    int stamp = c->sensor_stamp && strcmp(c->sensor_stamp, "start") == 0 ? SQ25_STAMP_START
                                                                        : SQ25_STAMP_END;
    if ((rc = sq25_merge_options_set_method(sq25_pipeline_merge_options(s->p), merge)) ||
        (rc = sq25_pipeline_set_sensor_alignment(s->p, stamp, c->sensor_lag_s)))
        return cli_lib_error("serve", ctx, rc);
    sq25_pipeline_set_sensor_qc(s->p, !c->qc ? 0 : c->bias_correct ? 2 : 1);
    if (c->tz) { /* a bad zone stops the start, not every cycle's maps */
        sq25_render_options *ro = NULL;
        if ((rc = sq25_render_options_create(ctx, &ro))) return cli_lib_error("serve", ctx, rc);
        int st = cli_map_options("serve", ro, c->tz, (int64_t)time(NULL), NULL);
        sq25_render_options_destroy(ro);
        if (st != CLI_OK) return st;
    }
    if (c->grid_spec) {
        if ((rc = sq25_grid_parse(ctx, c->grid_spec, 0, &s->street)) ||
            (rc = sq25_pipeline_set_street_grid(s->p, s->street)))
            return cli_lib_error("serve", ctx, rc);
    }
    if (c->targets_path) {
        if ((rc = sq25_targets_read(ctx, c->targets_path, &s->targets)))
            return cli_lib_error("serve", ctx, rc);
        for (size_t i = 0; i < sq25_targets_problem_count(s->targets); i++)
            log_event(s, "target_skipped", c->targets_path, sq25_targets_problem(s->targets, i));
        sq25_pipeline_set_targets(s->p, s->targets);
    }
    return CLI_OK;
}

/* Until the first forecast: the configured number of levels (3 by default), named by number
 * (a restarted service may hold warnings before it has a forecast). */
static void default_levels(service *s)
{
    double thr[SQ25_WARN_MAX_LEVELS];
    int n = 3;
    if (s->cfg.levels && parse_levels(s->cfg.levels, thr, &n)) n = 3;
    s->level_count = n;
    for (int k = 0; k < n; k++) snprintf(s->level_names[k], sizeof s->level_names[k], "level %d", k + 1);
}

/* ---- held frames ---- */
static void drop_held(service *s)
{
    for (int i = 0; i < s->n_held; i++) sq25_field_destroy(s->held[i].field);
    s->n_held = 0;
}

static bool held_has_time(const service *s, int64_t t)
{
    for (int i = 0; i < s->n_held; i++)
        if (sq25_field_valid_time(s->held[i].field) == t) return true;
    return false;
}

/* Keep frame (taking ownership) in time order; the oldest goes when full. */
static void hold_frame(service *s, sq25_field *frame, const char *name)
{
    int64_t t = sq25_field_valid_time(frame);
    if (s->n_held == MAX_HELD && t < sq25_field_valid_time(s->held[0].field)) {
        sq25_field_destroy(frame); /* older than all the held ones: not needed */
        return;
    }
    if (s->n_held == MAX_HELD) {
        sq25_field_destroy(s->held[0].field);
        memmove(s->held, s->held + 1, (MAX_HELD - 1) * sizeof s->held[0]);
        s->n_held--;
    }
    int k = s->n_held;
    while (k > 0 && sq25_field_valid_time(s->held[k - 1].field) > t) {
        s->held[k] = s->held[k - 1];
        k--;
    }
    s->held[k].field = frame;
    snprintf(s->held[k].name, sizeof s->held[k].name, "%s", name);
    s->n_held++;
}

/* Feed a frame (borrowed) to the pipeline as `sq25 run` does, so that both give the same
 * warnings: the pipeline bridges missing frames itself (its max gap, the warning then
 * DEGRADED); a gap longer than outage-min, a gap it cannot bridge or another grid starts a new
 * sequence, and *why says so. A frame fed already (a cycle being retried) is not fed again. */
static int feed_frame(service *s, const sq25_field *f)
{
    int64_t t = sq25_field_valid_time(f);
    if (s->fed_count > 0 && t == s->last_fed_time) return SQ25_OK;
    s->feed_reason[0] = '\0';
    int64_t outage_s = (int64_t)llround(s->cfg.outage_min * 60);
    char t_prev[32], t_new[32];
    sq25_time_format(s->last_fed_time, t_prev, sizeof t_prev);
    sq25_time_format(t, t_new, sizeof t_new);
    if (s->fed_count > 0 && t - s->last_fed_time > outage_s) {
        snprintf(s->feed_reason, sizeof s->feed_reason,
                 "radar outage: no frame between %s and %s (limit %g min)", t_prev, t_new,
                 s->cfg.outage_min);
        sq25_pipeline_reset(s->p);
        s->fed_count = 0;
    }
    int rc = sq25_pipeline_push_frame(s->p, f);
    if (rc == SQ25_ERR_TIME_GAP || rc == SQ25_ERR_GRID_MISMATCH) {
        snprintf(s->feed_reason, sizeof s->feed_reason, "%.300s; a new sequence starts",
                 sq25_errmsg(s->ctx));
        sq25_pipeline_reset(s->p);
        s->fed_count = 0;
        rc = sq25_pipeline_push_frame(s->p, f);
    }
    if (rc == SQ25_OK) {
        s->last_fed_time = t;
        s->fed_count++;
    }
    return rc;
}

static serve_data_state from_library_state(int state)
{
    switch (state) {
    case SQ25_STATE_OK: return SERVE_DATA_OK;
    case SQ25_STATE_DEGRADED: return SERVE_DATA_DEGRADED;
    case SQ25_STATE_STALE: return SERVE_DATA_STALE;
    default: return SERVE_DATA_NONE;
    }
}

/* ---- outputs ---- */
static double ms_since(int64_t start_ms) { return (double)(serve_now_ms() - start_ms); }

/* Read a whole small file (NUL-terminated); NULL on failure. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *b = realloc(buf, cap *= 2);
            if (!b) {
                free(buf);
                buf = NULL;
            } else buf = b;
        }
    }
    bool bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void write_service_json(FILE *f, const service *s, const cycle_info *ci)
{
    char t[32];
    sq25_time_format(ci->issue_time, t, sizeof t);
    fprintf(f, "{\"cycle\":%ld,\"issue_time\":\"%s\",\"data_state\":\"%s\",\"reason\":",
            s->state.cycles + 1, t, serve_data_state_name(ci->data_state));
    cli_json_string(f, ci->reason);
    fprintf(f, ",\"frames_used\":%d,\"step_s\":%d}", ci->frames_used, ci->step_s);
}

/* Add "service": {...} as the last member of the top-level JSON object in path. */
static int add_service_member(const char *path, const service *s, const cycle_info *ci)
{
    size_t len = 0;
    char *text = slurp(path, &len);
    if (!text) return -1;
    char *close = strrchr(text, '}');
    int rc = -1;
    FILE *f = close ? fopen(path, "wb") : NULL;
    if (f) {
        fwrite(text, 1, (size_t)(close - text), f);
        fputs(",\"service\":", f);
        write_service_json(f, s, ci);
        fputs(close, f);
        rc = ferror(f) ? -1 : 0;
        if (fclose(f) != 0) rc = -1;
    }
    free(text);
    return rc;
}

/* Append a data_state column to the targets CSV (per target, in row order). */
static int add_state_column(const char *path, const serve_data_state *states, size_t n)
{
    size_t len = 0;
    char *text = slurp(path, &len);
    if (!text) return -1;
    FILE *f = fopen(path, "wb");
    int rc = f ? 0 : -1;
    size_t row = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); f && line; line = strtok_r(NULL, "\n", &save)) {
        const char *col = row == 0 ? "data_state" : row - 1 < n ? serve_data_state_name(states[row - 1]) : "";
        fprintf(f, "%s,%s\n", line, col);
        row++;
    }
    if (f && (ferror(f) || fclose(f) != 0)) rc = -1;
    free(text);
    return rc;
}

/* A file name for target id: letters, digits, - and _ kept. */
static void cap_file_name(char *buf, size_t cap, const char *target_id)
{
    char safe[64];
    size_t k = 0;
    for (const unsigned char *c = (const unsigned char *)target_id; *c && k + 1 < sizeof safe; c++)
        safe[k++] = ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                     *c == '-' || *c == '_') ? (char)*c : '_';
    safe[k] = '\0';
    snprintf(buf, cap, "cap_%s.cap.xml", safe);
}

typedef struct {
    serve_target_now *now;
    serve_data_state *states;
    serve_action *actions;
    size_t n;
} target_table;

/* Results per target (or no data for all when w is NULL). */
static int fill_targets(const service *s, sq25_warning *w, target_table *tt)
{
    tt->n = s->targets ? sq25_targets_count(s->targets) : 0;
    tt->now = calloc(tt->n + 1, sizeof *tt->now);
    tt->states = calloc(tt->n + 1, sizeof *tt->states);
    tt->actions = calloc(tt->n + 1, sizeof *tt->actions);
    if (!tt->now || !tt->states || !tt->actions) return -1;
    for (size_t i = 0; i < tt->n; i++) {
        serve_target_now *t = &tt->now[i];
        t->probability = t->amount_mm = t->onset_min = NAN;
        if (w) sq25_warning_target_result(w, i, &t->level, &t->probability, &t->amount_mm, NULL, &t->onset_min);
        int st = SQ25_STATE_NO_DATA;
        if (w) sq25_warning_target_state(w, i, &st);
        t->no_data = !w || st == SQ25_STATE_NO_DATA || t->level < 0 || !isfinite(t->amount_mm);
        t->keep_level = st == SQ25_STATE_STALE; /* never lowered on carried-forward data */
        tt->states[i] = t->no_data ? SERVE_DATA_NONE : from_library_state(st);
        if (t->no_data) t->level = 0;
    }
    return 0;
}

static void free_targets(target_table *tt)
{
    free(tt->now);
    free(tt->states);
    free(tt->actions);
}

/* A CSV field, quoted (RFC 4180) when it holds a comma, a quote or a line break. */
static void csv_field(FILE *f, const char *v)
{
    if (!strpbrk(v, ",\"\r\n")) {
        fputs(v, f);
        return;
    }
    fputc('"', f);
    for (const char *c = v; *c; c++) {
        if (*c == '"') fputc('"', f);
        fputc(*c, f);
    }
    fputc('"', f);
}

/* The members a no-data output shares with the library's (1.1): state, data_time, reason. */
static void write_nodata_members(FILE *f, const service *s, const cycle_info *ci)
{
    char t[32], tv[32], td[32] = "";
    sq25_time_format(ci->issue_time, t, sizeof t);
    sq25_time_format(ci->issue_time + s->cfg.horizon_min * 60, tv, sizeof tv);
    if (s->state.last_frame_time) sq25_time_format(s->state.last_frame_time, td, sizeof td);
    fprintf(f, "\"issue_time\":\"%s\",\"valid_from\":\"%s\",\"valid_to\":\"%s\",\"state\":"
               "\"no_data\",\"data_time\":", t, t, tv);
    if (td[0]) fprintf(f, "\"%s\"", td);
    else fputs("null", f);
    fputs(",\"state_reason\":", f);
    cli_json_string(f, ci->reason);
}

static void write_nodata_target(FILE *f, const service *s, size_t i)
{
    fputs("\"id\":", f);
    cli_json_string(f, sq25_targets_id(s->targets, i));
    fputs(",\"name\":", f);
    cli_json_string(f, sq25_targets_name(s->targets, i));
    fprintf(f, ",\"level\":%d,\"state\":\"no_data\",\"level_name\":\"no data\"", SQ25_LEVEL_NO_DATA);
}

/* Outputs of a cycle without a forecast: every target explicitly without data (level
 * SQ25_LEVEL_NO_DATA, state no_data), with the columns and members of the library's. */
static int write_nodata_outputs(service *s, serve_publish *pub, const cycle_info *ci,
                                const target_table *tt)
{
    char path[4096], t[32], tv[32];
    sq25_time_format(ci->issue_time, t, sizeof t);
    sq25_time_format(ci->issue_time + s->cfg.horizon_min * 60, tv, sizeof tv);
    FILE *f = fopen(serve_publish_path(pub, "warnings.geojson", path, sizeof path), "w");
    if (!f) return -1;
    fputs("{\"type\":\"FeatureCollection\",", f);
    write_nodata_members(f, s, ci);
    fputs(",\"features\":[],\"service\":", f);
    write_service_json(f, s, ci);
    fputs("}\n", f);
    if (fclose(f) != 0) return -1;
    f = fopen(serve_publish_path(pub, "summary.json", path, sizeof path), "w");
    if (!f) return -1;
    fputc('{', f);
    write_nodata_members(f, s, ci);
    fputs(",\"targets\":[", f);
    for (size_t i = 0; i < tt->n; i++) {
        fputs(i ? ",{" : "{", f);
        write_nodata_target(f, s, i);
        fputc('}', f);
    }
    fputs("],\"service\":", f);
    write_service_json(f, s, ci);
    fputs("}\n", f);
    if (fclose(f) != 0) return -1;
    if (!s->targets) return 0;
    f = fopen(serve_publish_path(pub, "targets.csv", path, sizeof path), "w");
    if (!f) return -1;
    fputs("id,name,lon,lat,level,level_name,state,probability,prob_threshold,amount_mm,peak_mmh,"
          "onset_min,issue_time,valid_from,valid_to,inputs", f);
    for (int k = 0; k < s->level_count; k++) fprintf(f, ",p_level%d", k + 1);
    fputs(",data_state\n", f);
    for (size_t i = 0; i < tt->n; i++) {
        double lon = NAN, lat = NAN;
        sq25_targets_vertex(s->targets, i, 0, &lon, &lat);
        csv_field(f, sq25_targets_id(s->targets, i));
        fputc(',', f);
        csv_field(f, sq25_targets_name(s->targets, i));
        fprintf(f, ",%.7f,%.7f,%d,no data,no_data,,,,,,%s,%s,%s,", lon, lat, SQ25_LEVEL_NO_DATA, t,
                t, tv);
        for (int k = 0; k < s->level_count; k++) fputc(',', f);
        fputs(",no_data\n", f);
    }
    if (fclose(f) != 0) return -1;
    f = fopen(serve_publish_path(pub, "targets.geojson", path, sizeof path), "w");
    if (!f) return -1;
    fputs("{\"type\":\"FeatureCollection\",", f);
    write_nodata_members(f, s, ci);
    fputs(",\"features\":[", f);
    for (size_t i = 0; i < tt->n; i++) {
        size_t nv = sq25_targets_vertex_count(s->targets, i);
        fputs(i ? ",{\"type\":\"Feature\",\"properties\":{" : "{\"type\":\"Feature\",\"properties\":{", f);
        write_nodata_target(f, s, i);
        fprintf(f, "},\"geometry\":{\"type\":\"%s\",\"coordinates\":%s",
                nv == 1 ? "Point" : "LineString", nv == 1 ? "" : "[");
        for (size_t k = 0; k < nv; k++) {
            double lon, lat;
            sq25_targets_vertex(s->targets, i, k, &lon, &lat);
            fprintf(f, "%s[%.7f,%.7f]", k ? "," : "", lon, lat);
        }
        fprintf(f, "%s}}", nv == 1 ? "" : "]");
    }
    fputs("],\"service\":", f);
    write_service_json(f, s, ci);
    fputs("}\n", f);
    return fclose(f) != 0 ? -1 : 0;
}

/* forecast.h5 is written by a child process while the parent draws the maps: the two are
 * the largest outputs and independent, and a child (a copy of the process: its own HDF5
 * state and context, nothing shared) runs them in parallel without making the library's
 * context or HDF5 thread-safe. The child reports through a pipe. */
typedef struct {
    int rc, err_no;
    double ms;
    char message[1024];
} forecast_report;

typedef struct {
    pid_t pid; /* 0: written in this process (fork failed, or no forecast) */
    int fd;
    forecast_report report;
} forecast_job;

static void write_forecast_here(service *s, const char *path, forecast_report *r)
{
    int64_t t0 = serve_now_ms();
    memset(r, 0, sizeof *r);
    errno = 0;
    r->rc = cli_write_forecast(s->ctx, s->p, path);
    r->err_no = errno;
    r->ms = ms_since(t0);
    if (r->rc) snprintf(r->message, sizeof r->message, "%s", sq25_errmsg(s->ctx));
}

static void start_forecast(service *s, const char *path, forecast_job *job)
{
    int fds[2];
    memset(job, 0, sizeof *job);
    job->fd = -1;
    fflush(stdout); /* the child must not write the parent's buffered log lines again */
    if (pipe(fds) == 0) {
        pid_t parent = getpid();
        job->pid = fork();
        if (job->pid == 0) {
            /* The child dies with the service (a kill -9 of the service must not leave a
             * writer behind) and does not hold the outbox lock a restarted service takes. */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent) _exit(1);
            if (s->lock_fd >= 0) close(s->lock_fd);
            close(fds[0]);
            forecast_report r;
            write_forecast_here(s, path, &r);
            ssize_t n = write(fds[1], &r, sizeof r);
            _exit(n == (ssize_t)sizeof r && r.rc == 0 ? 0 : 1); /* no atexit handlers, no flush */
        }
        close(fds[1]);
        if (job->pid > 0) {
            job->fd = fds[0];
            return;
        }
        close(fds[0]);
        job->pid = 0;
    }
    write_forecast_here(s, path, &job->report); /* no child: in this process */
}

/* Wait for the child; 0 when forecast.h5 is whole, else -1 with ci->error set. */
static int finish_forecast(forecast_job *job, cycle_info *ci)
{
    if (job->pid > 0) {
        size_t got = 0;
        char *buf = (char *)&job->report;
        while (got < sizeof job->report) {
            ssize_t n = read(job->fd, buf + got, sizeof job->report - got);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            got += (size_t)n;
        }
        close(job->fd);
        int status = 0;
        while (waitpid(job->pid, &status, 0) < 0 && errno == EINTR) {}
        if (got != sizeof job->report) {
            memset(&job->report, 0, sizeof job->report);
            job->report.rc = SQ25_ERR_WRITE;
            snprintf(job->report.message, sizeof job->report.message,
                     "the forecast writer (process %ld) ended without a report: %s %d",
                     (long)job->pid, WIFSIGNALED(status) ? "signal" : "status",
                     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        }
    }
    ci->ms_forecast = job->report.ms;
    if (job->report.rc == 0) return 0;
    snprintf(ci->error, sizeof ci->error, "writing the outputs failed: %s; %.600s",
             strerror(job->report.err_no ? job->report.err_no : EIO), job->report.message);
    return -1;
}

/* Outputs of a cycle with a forecast: the library's writers, plus the service member. */
static int write_forecast_outputs(service *s, serve_publish *pub, sq25_warning *w,
                                  cycle_info *ci, const target_table *tt)
{
    char path[4096];
    int rc = 0;
    if (rc == 0 && (rc = sq25_warning_write_areas_geojson(w, serve_publish_path(pub, "warnings.geojson", path, sizeof path))) == 0)
        rc = add_service_member(path, s, ci);
    if (rc == 0 && s->targets) {
        if ((rc = sq25_warning_write_targets_geojson(w, serve_publish_path(pub, "targets.geojson", path, sizeof path))) == 0)
            rc = add_service_member(path, s, ci);
        if (rc == 0 && (rc = sq25_warning_write_targets_csv(w, serve_publish_path(pub, "targets.csv", path, sizeof path))) == 0)
            rc = add_state_column(path, tt->states, tt->n);
    }
    if (rc == 0 && (rc = sq25_warning_write_summary_json(w, serve_publish_path(pub, "summary.json", path, sizeof path))) == 0)
        rc = add_service_member(path, s, ci);
    forecast_job fc = {.pid = 0, .fd = -1};
    bool forecast = rc == 0 && s->cfg.forecast;
    if (forecast) start_forecast(s, serve_publish_path(pub, "forecast.h5", path, sizeof path), &fc);
    int64_t t0 = serve_now_ms();
    if (rc == 0 && s->cfg.maps) {
        char credit[200];
        const sq25_field *latest = s->n_held ? s->held[s->n_held - 1].field : NULL;
        serve_map_job job = {.ctx = s->ctx, .p = s->p, .latest = latest, .street = s->street,
                             .targets = s->targets, .tz = s->cfg.tz,
                             .credit = cli_map_credit(latest, s->cfg.credit, credit, sizeof credit)};
        rc = latest ? serve_write_maps(&job, w, pub) : SQ25_ERR_INVALID_ARG;
    }
    ci->ms_maps = ms_since(t0);
    if (forecast && finish_forecast(&fc, ci) != 0 && rc == 0) rc = -1; /* always waited for */
    return rc;
}

static bool is_current_target(const service *s, const char *id)
{
    for (size_t i = 0; s->targets && i < sq25_targets_count(s->targets); i++)
        if (strcmp(sq25_targets_id(s->targets, i), id) == 0) return true;
    return false;
}

/* A target gone from the targets file (after a reload) whose warning is out: cancelled
 * explicitly, never left hanging. */
static int cancel_removed_targets(service *s, serve_publish *pub, cycle_info *ci, int64_t sent)
{
    char path[4096], name[128];
    for (size_t k = 0; k < s->state.count; k++) {
        serve_track *t = &s->state.tracks[k];
        if (!t->active || is_current_target(s, t->target_id)) continue;
        serve_target_now none = {.level = 0, .probability = NAN, .amount_mm = NAN, .onset_min = NAN};
        serve_action a = serve_track_step(t, &none, 1, ci->issue_time, sent); /* a Cancel */
        ci->cancelled++;
        serve_cap_message m = {
            .track = t, .action = a, .sender = s->cfg.sender ? s->cfg.sender : "sq25@localhost",
            .status = s->cfg.cap_status ? s->cfg.cap_status : "Actual", .sent = sent,
            .target_id = t->target_id, .target_name = t->target_id, .vertex_count = 0,
            .level_count = s->level_count, .level_name = "", .threshold_mm = NAN, .now = none,
            .issue_time = ci->issue_time, .expires = ci->issue_time + s->cfg.horizon_min * 60,
            .horizon_min = s->cfg.horizon_min, .data_state = ci->data_state,
            .instruction_de = s->cfg.instruction_de, .instruction_en = s->cfg.instruction_en};
        cap_file_name(name, sizeof name, t->target_id);
        FILE *f = fopen(serve_publish_path(pub, name, path, sizeof path), "w");
        int rc = f ? serve_cap_write(f, &m) : -1;
        if (f && fclose(f) != 0) rc = -1;
        if (rc) return -1;
    }
    return 0;
}

/* Step every target's warning and write its CAP message. Works on s->state (the caller keeps
 * a copy to restore if the cycle is not published). */
static int write_cap(service *s, serve_publish *pub, sq25_warning *w, cycle_info *ci,
                     target_table *tt, int64_t sent)
{
    char path[4096], name[128];
    for (size_t i = 0; i < tt->n; i++) {
        const char *id = sq25_targets_id(s->targets, i);
        serve_track *t = serve_state_track(&s->state, id);
        if (!t) return -1;
        serve_action a = serve_track_step(t, &tt->now[i], s->cfg.hysteresis, ci->issue_time, sent);
        tt->actions[i] = a;
        ci->raised += a == SERVE_ACT_RAISE;
        ci->updated += a == SERVE_ACT_UPDATE || a == SERVE_ACT_UPGRADE || a == SERVE_ACT_HOLD || a == SERVE_ACT_NODATA;
        ci->lowered += a == SERVE_ACT_LOWER;
        ci->cancelled += a == SERVE_ACT_CANCEL;
        ci->active += t->active;
        if (a == SERVE_ACT_NONE) continue;
        size_t nv = sq25_targets_vertex_count(s->targets, i);
        double *ll = calloc(2 * nv + 2, sizeof *ll);
        if (!ll) return -1;
        for (size_t k = 0; k < nv; k++) sq25_targets_vertex(s->targets, i, k, &ll[2 * k], &ll[2 * k + 1]);
        int level = a == SERVE_ACT_CANCEL ? 0 : t->level;
        int n_levels = w ? sq25_warning_level_count(w) : s->level_count;
        if (n_levels < level) n_levels = level;
        serve_cap_message m = {
            .track = t, .action = a, .sender = s->cfg.sender ? s->cfg.sender : "sq25@localhost",
            .status = s->cfg.cap_status ? s->cfg.cap_status : "Actual", .sent = sent,
            .target_id = id, .target_name = sq25_targets_name(s->targets, i), .lonlat = ll,
            .vertex_count = nv, .radius_km = s->cfg.cap_radius_km, .level = level,
            .level_count = n_levels,
            .level_name = level <= 0 ? ""
                          : w ? sq25_warning_level_name(w, level)
                              : s->level_names[level - 1],
            .threshold_mm = w && level > 0 ? sq25_warning_level_threshold_mm(w, level) : NAN,
            .now = tt->now[i], .issue_time = ci->issue_time,
            .expires = ci->issue_time + s->cfg.horizon_min * 60, .horizon_min = s->cfg.horizon_min,
            .data_state = tt->states[i], .instruction_de = s->cfg.instruction_de,
            .instruction_en = s->cfg.instruction_en};
        cap_file_name(name, sizeof name, id);
        FILE *f = fopen(serve_publish_path(pub, name, path, sizeof path), "w");
        int rc = f ? serve_cap_write(f, &m) : -1;
        if (f && fclose(f) != 0) rc = -1;
        free(ll);
        if (rc) return -1;
    }
    return cancel_removed_targets(s, pub, ci, sent);
}

static int write_latest(service *s, serve_publish *pub, const cycle_info *ci, const target_table *tt,
                        int first)
{
    char path[4096], t[32];
    FILE *f = fopen(serve_publish_path(pub, "latest.json", path, sizeof path), "w");
    if (!f) return -1;
    sq25_time_format(ci->issue_time, t, sizeof t);
    fputs("{\"service\":", f);
    write_service_json(f, s, ci);
    fputs(",\"folder\":", f); /* where this cycle's files are, whole, while it is kept */
    char folder[160];
    snprintf(folder, sizeof folder, "cycles/%s", pub->name);
    cli_json_string(f, folder);
    fputs(",\"inputs\":[", f);
    for (int i = first; ci->data_state != SERVE_DATA_NONE && i < s->n_held; i++) {
        if (i > first) fputc(',', f);
        cli_json_string(f, s->held[i].name);
    }
    fputs("],\"files\":[", f);
    int k = 0;
    for (int i = 0; i < pub->count; i++) {
        if (strcmp(pub->names[i], "latest.json") == 0) continue;
        if (k++) fputc(',', f);
        cli_json_string(f, pub->names[i]);
    }
    fputs("],\"targets\":[", f);
    for (size_t i = 0; i < tt->n; i++) {
        const char *id = sq25_targets_id(s->targets, i);
        const serve_track *tr = serve_state_track(&s->state, id);
        fprintf(f, "%s{\"id\":", i ? "," : "");
        cli_json_string(f, id);
        fprintf(f, ",\"data_state\":\"%s\",\"level\":", serve_data_state_name(tt->states[i]));
        fprintf(f, "%d", tt->states[i] == SERVE_DATA_NONE ? SQ25_LEVEL_NO_DATA : tt->now[i].level);
        fprintf(f, ",\"warning_active\":%s,\"warning_level\":%d,\"warning_id\":",
                tr && tr->active ? "true" : "false", tr && tr->active ? tr->level : 0);
        cli_json_string(f, tr && tr->warning_id[0] && tt->actions[i] != SERVE_ACT_NONE ? tr->warning_id : "");
        fprintf(f, ",\"action\":\"%s\"}", serve_action_name(tt->actions[i]));
    }
    fputs("]}\n", f);
    return fclose(f) != 0 ? -1 : 0;
}

/* After a publication: remove the files of the previous cycle this one did not publish (a
 * cancelled target's CAP file, maps and forecast after a no-data cycle). */
static void remove_stale(service *s, const serve_publish *pub)
{
    char path[4096];
    for (int i = 0; i < s->n_published; i++) {
        bool still = false;
        for (int k = 0; k < pub->count && !still; k++) still = strcmp(pub->names[k], s->published[i]) == 0;
        if (!still) {
            snprintf(path, sizeof path, "%s/%s", s->cfg.outbox, s->published[i]);
            unlink(path);
        }
    }
    s->n_published = pub->count < MAX_OUT_FILES ? pub->count : MAX_OUT_FILES;
    for (int i = 0; i < s->n_published; i++)
        snprintf(s->published[i], sizeof s->published[i], "%s", pub->names[i]);
}

static void log_cycle(const service *s, const cycle_info *ci, int first)
{
    if (s->cfg.quiet) return;
    log_begin(s, "cycle");
    char t[32];
    sq25_time_format(ci->issue_time, t, sizeof t);
    printf(",\"cycle\":%ld,\"issue_time\":\"%s\",\"data_state\":\"%s\"",
           s->state.cycles + (ci->published ? 0 : 1), t,
           serve_data_state_name(ci->data_state));
    log_str(s, "reason", ci->reason);
    printf(",\"inputs\":[");
    for (int i = first; ci->data_state != SERVE_DATA_NONE && i < s->n_held; i++) {
        if (i > first) putchar(',');
        cli_json_string(stdout, s->held[i].name);
    }
    printf("],\"sensors\":{\"files\":%d,\"merged\":%d}", ci->sensor_files, ci->sensors_merged);
    printf(",\"frames_used\":%d,\"step_s\":%d,\"durations_ms\":{\"read\":%.1f,\"pipeline\":%.1f,"
           "\"outputs\":%.1f,\"forecast\":%.1f,\"maps\":%.1f,\"publish\":%.1f,\"total\":%.1f},\"warnings\":{\"raised\":%d,"
           "\"updated\":%d,\"lowered\":%d,\"cancelled\":%d,\"active\":%d},\"published\":%s",
           ci->frames_used, ci->step_s, ci->ms_read, ci->ms_pipeline, ci->ms_outputs,
           ci->ms_forecast, ci->ms_maps, ci->ms_publish, ci->ms_total, ci->raised, ci->updated, ci->lowered, ci->cancelled,
           ci->active, ci->published ? "true" : "false");
    if (ci->error[0]) log_str(s, "error", ci->error);
    log_end(s);
}

static int copy_state(serve_state *dst, const serve_state *src)
{
    *dst = *src;
    dst->tracks = NULL;
    if (src->count == 0) {
        dst->cap = 0;
        return 0;
    }
    dst->tracks = malloc(src->cap * sizeof *dst->tracks);
    if (!dst->tracks) return -1;
    memcpy(dst->tracks, src->tracks, src->count * sizeof *dst->tracks);
    return 0;
}

/* The levels of the last forecast, so that a cycle without one still names them. */
static void remember_levels(service *s, const sq25_warning *w)
{
    s->level_count = sq25_warning_level_count(w);
    for (int k = 0; k < s->level_count && k < SQ25_WARN_MAX_LEVELS; k++)
        snprintf(s->level_names[k], sizeof s->level_names[k], "%s", sq25_warning_level_name(w, k + 1));
}

static void push_sensor_window(service *s, int64_t t, int64_t shift_s);
static void push_links_window(service *s, int64_t t, int64_t shift_s);

/* The cycle's folder in OUTBOX/cycles: its number (so that names sort in publication order)
 * and its issue time, e.g. 00000042-20210704T174500Z. */
static void cycle_folder_name(const service *s, const cycle_info *ci, char *buf, size_t cap)
{
    char t[32];
    sq25_time_format(ci->issue_time, t, sizeof t);
    char compact[32];
    size_t k = 0;
    for (const char *c = t; *c && k + 1 < sizeof compact; c++)
        if (*c != '-' && *c != ':') compact[k++] = *c;
    compact[k] = '\0';
    snprintf(buf, cap, "%08ld-%s", s->state.cycles + 1, compact);
}

/* One cycle at issue time ci->issue_time: forecast from the held frames when they allow it,
 * else the no-data outputs; then publication and the state file. Returns 0 when published. */
static int run_cycle(service *s, cycle_info *ci, bool with_frames)
{
    int64_t t0 = serve_now_ms();
    int first = s->n_held;
    sq25_warning *w = NULL;
    if (with_frames) {
        push_sensor_window(s, ci->issue_time, ci->sensor_shift_s);
        push_links_window(s, ci->issue_time, ci->sensor_shift_s);
        int rc = sq25_pipeline_run(s->p, &w);
        sq25_merge_info mi;
        ci->sensor_files = s->sensors_pushed ? (int)s->sensors.count : 0;
        ci->sensors_merged = rc == SQ25_OK && sq25_pipeline_merge_info(s->p, &mi) == SQ25_OK ? mi.sensors_used : 0;
        ci->frames_used = sq25_pipeline_frame_count(s->p);
        ci->step_s = sq25_pipeline_step_s(s->p);
        if (rc == SQ25_OK) {
            remember_levels(s, w);
            int st = sq25_warning_state(w);
            ci->data_state = from_library_state(st);
            snprintf(ci->reason, sizeof ci->reason, "%s",
                     st == SQ25_STATE_OK ? "ok"
                     : sq25_warning_state_reason(w)[0] ? sq25_warning_state_reason(w)
                                                       : "no cell of the radar picture has data");
            if (ci->step_s > 0) s->state.nominal_step_s = ci->step_s;
        } else {
            ci->data_state = SERVE_DATA_NONE;
            snprintf(ci->reason, sizeof ci->reason, "%.390s%s%.300s (%s)", s->feed_reason,
                     s->feed_reason[0] ? "; " : "", sq25_errmsg(s->ctx), sq25_errname(rc));
        }
        first = s->n_held - (ci->frames_used < s->n_held ? ci->frames_used : s->n_held);
    }
    ci->ms_pipeline = ms_since(t0);
    int64_t t1 = serve_now_ms();
    serve_state saved;
    target_table tt = {0};
    serve_publish pub;
    int rc = copy_state(&saved, &s->state);
    if (rc == 0) rc = fill_targets(s, w, &tt);
    char folder[64];
    cycle_folder_name(s, ci, folder, sizeof folder);
    if (rc == 0 && (rc = serve_publish_begin(&pub, s->cfg.outbox, folder)) != 0)
        snprintf(ci->error, sizeof ci->error, "%.700s", pub.error);
    else if (rc == 0) {
        rc = w ? write_forecast_outputs(s, &pub, w, ci, &tt) : write_nodata_outputs(s, &pub, ci, &tt);
        if (rc == 0) rc = write_cap(s, &pub, w, ci, &tt, (int64_t)time(NULL));
        if (rc == 0) rc = write_latest(s, &pub, ci, &tt, first);
        if (rc && !ci->error[0])
            snprintf(ci->error, sizeof ci->error, "writing the outputs failed: %s%s%s",
                     strerror(errno), sq25_errmsg(s->ctx)[0] ? "; " : "", sq25_errmsg(s->ctx));
        ci->ms_outputs = ms_since(t1);
        int64_t t2 = serve_now_ms();
        if (rc == 0 && (rc = serve_publish_commit(&pub, s->cfg.keep_cycles)) != 0)
            snprintf(ci->error, sizeof ci->error, "%.700s", pub.error);
        if (rc) serve_publish_abort(&pub);
        ci->ms_publish = ms_since(t2);
    }
    if (rc == 0) {
        remove_stale(s, &pub);
        s->state.cycles++;
        if (with_frames && s->n_held > 0)
            s->state.last_frame_time = sq25_field_valid_time(s->held[s->n_held - 1].field);
        char err[600];
        if (serve_state_save(&s->state, s->state_path, err, sizeof err))
            log_event(s, "error", s->state_path, err);
        ci->published = true;
        serve_state_free(&saved);
    } else {
        /* Not published: the warnings did not advance. */
        serve_state_free(&s->state);
        s->state = saved;
        ci->raised = ci->updated = ci->lowered = ci->cancelled = 0;
    }
    free_targets(&tt);
    sq25_warning_destroy(w);
    ci->ms_total = ms_since(t0) + ci->ms_read;
    log_cycle(s, ci, first);
    return rc;
}

/* ---- the inbox ---- */
typedef struct {
    serve_inbox_entry *entry;
    int64_t valid_time;
    sq25_field *frame; /* as read by the scan (owned; NULL: read again for its cycle) */
    double read_ms;
} candidate;

/* Free the frames the candidates still own, and the array. */
static void free_candidates(candidate *c, size_t n)
{
    for (size_t i = 0; c && i < n; i++) sq25_field_destroy(c[i].frame);
    free(c);
}

static int by_time(const void *a, const void *b)
{
    int64_t x = ((const candidate *)a)->valid_time, y = ((const candidate *)b)->valid_time;
    return (x > y) - (x < y);
}

static void inbox_path(const service *s, const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", s->cfg.inbox, name);
}

/* What an inbox file holds. read_input is the one place that tells the kinds apart: a new
 * kind of input is one more reader there and one more case in take_sensor_file's caller. */
typedef enum { INPUT_RADAR = 0, INPUT_SENSORS = 1, INPUT_LINKS = 2 } input_kind;

typedef struct {
    input_kind kind;
    sq25_field *frame;   /* INPUT_RADAR */
    sq25_series *series; /* INPUT_SENSORS */
    sq25_links *links;   /* INPUT_LINKS */
} inbox_input;

static bool has_suffix_nocase(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);
    if (n < k) return false;
    for (size_t i = 0; i < k; i++)
        if ((name[n - k + i] | 0x20) != suffix[i]) return false;
    return true;
}

/* Read an inbox file by its content, as `sq25 info` tells the kinds apart: a CSV (by name)
 * is a sensor series (station_id,lon,lat,time_utc,mm); any other file is a radar frame when
 * a radar reader takes it, or a sensor series when it is a CF netCDF the grid readers refuse
 * and the OpenSense station reader takes, or microwave links when the OpenSense CML reader
 * takes it. Returns 0 with *in filled, or -1 (the entry refused
 * and logged once, or left settling). */
static void read_links_instead(service *s, const char *path, inbox_input *in, int *rc,
                               char *why, size_t cap)
{
    size_t n = strlen(why);
    snprintf(why + n, cap - n, "%.250s; not microwave links either: ", sq25_errmsg(s->ctx));
    in->kind = INPUT_LINKS;
    *rc = sq25_links_read_netcdf(s->ctx, path, &in->links);
}

static int read_input(service *s, serve_inbox_entry *e, inbox_input *in)
{
    char path[4096];
    inbox_path(s, e->name, path, sizeof path);
    memset(in, 0, sizeof *in);
    if ((double)e->size > s->cfg.max_file_mb * 1048576.0) {
        char msg[128];
        snprintf(msg, sizeof msg, "%lld bytes, over the limit of %g MB", (long long)e->size,
                 s->cfg.max_file_mb);
        log_event(s, "refused", e->name, msg);
        e->status = SERVE_ENTRY_REFUSED;
        return -1;
    }
    int rc, format = SQ25_FORMAT_UNKNOWN;
    char grid_error[600] = "";
    if (has_suffix_nocase(e->name, ".csv")) {
        in->kind = INPUT_SENSORS;
        rc = sq25_series_read_csv(s->ctx, path, s->cfg.sensor_step_s, &in->series);
    } else {
        in->kind = INPUT_RADAR;
        rc = sq25_read_field(s->ctx, path, &in->frame);
        if (rc == SQ25_ERR_UNSUPPORTED && sq25_file_detect(s->ctx, path, &format) == SQ25_OK &&
            format == SQ25_FORMAT_CF) {
            snprintf(grid_error, sizeof grid_error, "%s; not a station series either: ",
                     sq25_errmsg(s->ctx));
            in->kind = INPUT_SENSORS;
            rc = sq25_series_read_netcdf(s->ctx, path, &in->series);
            if (rc != SQ25_OK) read_links_instead(s, path, in, &rc, grid_error, sizeof grid_error);
        }
    }
    if (rc == SQ25_OK) return 0;
    sq25_field_destroy(in->frame);
    sq25_series_destroy(in->series);
    sq25_links_destroy(in->links);
    memset(in, 0, sizeof *in);
    if (serve_inbox_settling(e, s->cfg.settle_ms)) {
        e->status = SERVE_ENTRY_SETTLING;
        return -1;
    }
    char msg[1400];
    snprintf(msg, sizeof msg, "%s%s (%s)", grid_error, sq25_errmsg(s->ctx), sq25_errname(rc));
    log_event(s, "refused", e->name, msg);
    e->status = SERVE_ENTRY_REFUSED;
    return -1;
}

/* A radar frame from an inbox file: NULL when it is not one (refused, settling, or a sensor
 * file, which is not read again here). */
static sq25_field *read_frame(service *s, serve_inbox_entry *e)
{
    inbox_input in;
    if (read_input(s, e, &in) != 0) return NULL;
    sq25_series_destroy(in.series);
    sq25_links_destroy(in.links);
    return in.frame;
}

/* Where the sensor window of a cycle at issue time t ends, in the sensors' own times: their
 * clock runs sensor-lag behind, and start stamps name the interval ending one step later. */
static int64_t sensor_window_end(const service *s, int64_t t)
{
    bool start = s->cfg.sensor_stamp && strcmp(s->cfg.sensor_stamp, "start") == 0;
    return t - s->cfg.sensor_lag_s - (start ? s->sensors.step_s : 0);
}

static int64_t sensor_window_s(const service *s) { return (int64_t)llround(s->cfg.sensor_window_h * 3600); }

/* A sensor file read from the inbox goes into the store (one log line), or is refused when it
 * cannot join it or ends before the window of the last cycle (late). */
static void take_sensor_file(service *s, serve_inbox_entry *e, sq25_series *series)
{
    char msg[700], err[300], t0[32], t1[32];
    int64_t n = sq25_series_step_count(series);
    int64_t first = sq25_series_time(series, 0), last = sq25_series_time(series, n - 1);
    int stations = sq25_series_station_count(series), step = sq25_series_step_s(series);
    long long bad = (long long)sq25_series_bad_rows(series);
    const char *bad_msg = bad ? sq25_series_bad_row_message(series, 0) : NULL;
    char bad_text[200] = "";
    if (bad) snprintf(bad_text, sizeof bad_text, "; %lld bad row(s) skipped, first: %.120s", bad, bad_msg);
    sq25_time_format(first, t0, sizeof t0);
    sq25_time_format(last, t1, sizeof t1);
    e->valid_time = last;
    if (s->state.last_frame_time &&
        last <= sensor_window_end(s, s->state.last_frame_time) - sensor_window_s(s)) {
        snprintf(msg, sizeof msg, "sensor steps %s to %s end before the sensor window of the last cycle: late, ignored", t0, t1);
        log_event(s, "late", e->name, msg);
        sq25_series_destroy(series);
        e->status = SERVE_ENTRY_REFUSED;
        return;
    }
    if (serve_sensors_add(&s->sensors, e->name, series, err, sizeof err) != 0) {
        snprintf(msg, sizeof msg, "sensor file not used: %s", err);
        log_event(s, "refused", e->name, msg);
        e->status = SERVE_ENTRY_REFUSED;
        return;
    }
    snprintf(msg, sizeof msg, "%d station(s), %lld step(s) of %d s, %s to %s%s", stations,
             (long long)n, step, t0, t1, bad_text);
    log_event(s, "sensors", e->name, msg);
    e->status = SERVE_ENTRY_SENSORS;
}

/* Before a cycle at issue time t: the sensor window ending there goes into the pipeline, as
 * `sq25 run --sensors` gives it the series (shift_s: the soak's time shift of old files). A
 * failure is logged and the cycle runs on the radar alone (its outputs say so). */
static void push_sensor_window(service *s, int64_t t, int64_t shift_s)
{
    if (s->sensors.count == 0 && !s->sensors_pushed) return; /* radar only, as `sq25 run` */
    int64_t end = sensor_window_end(s, t);
    if (shift_s == 0) serve_sensors_prune(&s->sensors, end - sensor_window_s(s));
    sq25_series *w = NULL;
    int rc = serve_sensors_window(&s->sensors, s->ctx, end, sensor_window_s(s), shift_s, &w);
    if (rc == SQ25_OK) rc = sq25_pipeline_push_sensors(s->p, w);
    else if (rc == SQ25_ERR_NO_DATA) rc = sq25_pipeline_push_sensors(s->p, NULL);
    s->sensors_pushed = w != NULL && rc == SQ25_OK;
    sq25_series_destroy(w);
    if (rc != SQ25_OK) {
        char msg[700];
        snprintf(msg, sizeof msg, "the sensor window could not be used: %.600s (%s); this cycle is radar only",
                 sq25_errmsg(s->ctx), sq25_errname(rc));
        log_event(s, "error", NULL, msg);
        sq25_pipeline_push_sensors(s->p, NULL);
        s->sensors_pushed = false;
    }
}

/* A links file read from the inbox goes into the store (one log line); a file of the same
 * name read before is replaced. */
static void take_links_file(service *s, serve_inbox_entry *e, sq25_links *l)
{
    char msg[300], t0[32], t1[32];
    int64_t n = sq25_links_step_count(l);
    int count = sq25_links_count(l), step = sq25_links_step_s(l);
    sq25_time_format(n > 0 ? sq25_links_time(l, 0) : 0, t0, sizeof t0);
    sq25_time_format(n > 0 ? sq25_links_time(l, n - 1) : 0, t1, sizeof t1);
    e->valid_time = n > 0 ? sq25_links_time(l, n - 1) : 0;
    if (serve_links_add(&s->links, e->name, l) != 0) {
        log_event(s, "refused", e->name, "links file not used: out of memory");
        e->status = SERVE_ENTRY_REFUSED;
        return;
    }
    snprintf(msg, sizeof msg, "%d link(s), %lld sample(s) of %d s, %s to %s", count,
             (long long)n, step, t0, t1);
    log_event(s, "links", e->name, msg);
    e->status = SERVE_ENTRY_SENSORS;
}

/* The link options of the config, as `sq25 run --links-...` takes them. */
static cli_links_opts links_options(const service *s)
{
    const serve_config *c = &s->cfg;
    return (cli_links_opts){c->links_waa ? c->links_waa : "leijnse", c->links_step_s,
                            c->links_window_s, c->links_threshold_db, c->links_waa_max_db,
                            c->links_tau_s};
}

/* The oldest frame of the pipeline's sequence that a run would use (the first frame `sq25
 * run` is given for the same forecast); t when none is held. */
static int64_t first_used_frame_time(const service *s, int64_t t)
{
    int k = s->fed_count < s->cfg.frames ? s->fed_count : s->cfg.frames;
    if (k > s->n_held) k = s->n_held;
    return k > 0 ? sq25_field_valid_time(s->held[s->n_held - k].field) : t;
}

static void log_links_problem(service *s, const char *what, const char *detail)
{
    char msg[1200];
    snprintf(msg, sizeof msg, "%s: %.900s; this cycle is without links", what, detail);
    log_event(s, "links", NULL, msg);
}

/* Before a cycle at issue time t: the path rain of every links file over the frames' span
 * (from the first used frame to t, as `sq25 run --links` processes it over its frames), pushed
 * to the pipeline (shift_s: the soak's time shift of old files). A failure is logged and the
 * cycle runs without links. */
static void push_links_window(service *s, int64_t t, int64_t shift_s)
{
    if (s->links.count == 0 && !s->links_pushed) return; /* no links, as `sq25 run` */
    int64_t from = first_used_frame_time(s, t);
    if (shift_s == 0) serve_links_prune(&s->links, from);
    cli_links_opts a = links_options(s);
    sq25_cml_options *o = NULL;
    sq25_series *rain = NULL;
    double *lonlat = NULL;
    char skipped[600] = "", detail[900];
    int rc = cli_links_make_options("serve", s->ctx, &a, &o) == CLI_OK ? SQ25_OK : SQ25_ERR_INVALID_ARG;
    if (rc == SQ25_OK && s->links.count)
        rc = serve_links_path_rain(&s->links, s->ctx, o, from, t, a.step_s, shift_s, &rain, &lonlat,
                                   skipped, sizeof skipped);
    else if (rc == SQ25_OK) rc = SQ25_ERR_NO_DATA;
    if (rc == SQ25_OK) rc = sq25_pipeline_push_links(s->p, rain, lonlat);
    s->links_pushed = rc == SQ25_OK;
    char t_from[32], t_to[32];
    sq25_time_format(from, t_from, sizeof t_from);
    sq25_time_format(t, t_to, sizeof t_to);
    if (rc == SQ25_ERR_NO_DATA && s->links.count)
        snprintf(detail, sizeof detail, "no link interval of %d s ends within the radar frames "
                 "(%s to %s): %.500s", a.step_s, t_from, t_to, skipped);
    else if (rc != SQ25_OK && rc != SQ25_ERR_NO_DATA)
        snprintf(detail, sizeof detail, "%.600s (%s)", sq25_errmsg(s->ctx), sq25_errname(rc));
    else if (skipped[0])
        snprintf(detail, sizeof detail, "%.600s", skipped);
    if (rc != SQ25_OK) {
        sq25_pipeline_push_links(s->p, NULL, NULL);
        if (s->links.count)
            log_links_problem(s, rc == SQ25_ERR_NO_DATA ? "links not used" : "the links could not be used",
                              detail);
    } else if (skipped[0]) {
        char msg[1000];
        snprintf(msg, sizeof msg, "links file(s) left out of this cycle: %.900s", detail);
        log_event(s, "links", NULL, msg);
    }
    sq25_series_destroy(rain);
    free(lonlat);
    sq25_cml_options_destroy(o);
}

/* Look at the changed inbox entries: frames newer than the last cycle become candidates (in
 * time order); older ones are late, equal times duplicates. With prime, frames not newer than
 * the state's last frame refill the held frames (after a restart) instead of being late. */
static int collect_candidates(service *s, candidate **out, size_t *n_out, bool prime)
{
    serve_inbox_entry **changed = NULL;
    size_t n_changed = 0, flood = 0;
    *out = NULL;
    *n_out = 0;
    if (serve_inbox_scan(&s->inbox, (size_t)s->cfg.max_files, &changed, &n_changed, &flood) != 0) {
        log_event(s, "error", s->cfg.inbox, strerror(errno));
        return -1;
    }
    /* One line when the flood starts or changes size, not one per scan. */
    if (flood && flood != s->last_flood) {
        char msg[160];
        snprintf(msg, sizeof msg, "%zu more files than max-files (%d): looked at in later scans",
                 flood, s->cfg.max_files);
        log_event(s, "flood", s->cfg.inbox, msg);
    }
    s->last_flood = flood;
    candidate *c = calloc(n_changed + 1, sizeof *c);
    if (!c) {
        free(changed);
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < n_changed; i++) {
        serve_inbox_entry *e = changed[i];
        inbox_input in;
        int64_t t_read = serve_now_ms();
        if (read_input(s, e, &in) != 0) continue;
        if (in.kind == INPUT_SENSORS) {
            take_sensor_file(s, e, in.series);
            continue;
        }
        if (in.kind == INPUT_LINKS) {
            take_links_file(s, e, in.links);
            continue;
        }
        sq25_field *f = in.frame;
        int64_t t = sq25_field_valid_time(f);
        e->valid_time = t;
        e->status = SERVE_ENTRY_FRAME;
        char when[32];
        sq25_time_format(t, when, sizeof when);
        if (prime && t <= s->state.last_frame_time) {
            sq25_field_set_meta(f, SQ25_META_PATH, e->name);
            if (!held_has_time(s, t)) hold_frame(s, f, e->name);
            else sq25_field_destroy(f);
            continue;
        }
        /* A held frame newer than the last published cycle is one whose cycle failed: it is
         * a candidate again (the retry), not a duplicate. */
        if (t <= s->state.last_frame_time) {
            sq25_field_destroy(f);
            char msg[128];
            bool dup = held_has_time(s, t);
            snprintf(msg, sizeof msg, "frame %s is not newer than the last cycle: %s", when,
                     dup ? "duplicate" : "late, ignored");
            log_event(s, dup ? "duplicate" : "late", e->name, msg);
            e->status = SERVE_ENTRY_REFUSED;
            continue;
        }
        c[n].entry = e;
        c[n].frame = f; /* kept for its cycle: the file is not read twice */
        c[n].read_ms = ms_since(t_read);
        c[n++].valid_time = t;
    }
    free(changed);
    /* After a restart: the frames of the last cycles go back into the pipeline, in order. */
    for (int i = 0; prime && i < s->n_held; i++) feed_frame(s, s->held[i].field);
    qsort(c, n, sizeof *c, by_time);
    /* Equal times: the first name wins, the others are duplicates. */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k > 0 && c[i].valid_time == c[k - 1].valid_time) {
            log_event(s, "duplicate", c[i].entry->name, "same valid time as another new file");
            c[i].entry->status = SERVE_ENTRY_REFUSED;
            sq25_field_destroy(c[i].frame);
            continue;
        }
        c[k++] = c[i];
    }
    /* Memory stays bounded in a backlog (a restart after a long stop): only the newest
     * frames are kept from the scan; older candidates are read again for their cycles. */
    for (size_t i = 0; i + MAX_HELD < k; i++) {
        sq25_field_destroy(c[i].frame);
        c[i].frame = NULL;
    }
    *out = c;
    *n_out = k;
    return 0;
}

/* A cycle for a new frame from the inbox (its frame taken from the candidate, or read again).
 * Returns 0 when published. */
static int cycle_for_entry(service *s, candidate *cand)
{
    serve_inbox_entry *e = cand->entry;
    cycle_info ci;
    memset(&ci, 0, sizeof ci);
    int64_t t0 = serve_now_ms();
    sq25_field *f = cand->frame ? cand->frame : read_frame(s, e);
    cand->frame = NULL;
    if (!f) return 0;
    ci.ms_read = ms_since(t0) + cand->read_ms;
    int64_t t = sq25_field_valid_time(f);
    sq25_field_set_meta(f, SQ25_META_PATH, e->name); /* outputs name the file, not the path */
    int rc = feed_frame(s, f);
    if (!held_has_time(s, t)) hold_frame(s, f, e->name);
    else sq25_field_destroy(f);
    s->last_arrival_ms = serve_now_ms();
    s->outage_published = false;
    ci.issue_time = t;
    if (rc != SQ25_OK) { /* out of memory: the cycle says so, and is published without data */
        ci.data_state = SERVE_DATA_NONE;
        snprintf(ci.reason, sizeof ci.reason, "the frame could not be used: %.300s (%s)",
                 sq25_errmsg(s->ctx), sq25_errname(rc));
        return run_cycle(s, &ci, false);
    }
    return run_cycle(s, &ci, true);
}

/* No new radar for longer than the outage limit (wall clock): every target no-data, once. */
static void check_outage(service *s)
{
    double limit_ms = s->cfg.outage_min * 60000.0;
    if (s->outage_published || (double)(serve_now_ms() - s->last_arrival_ms) < limit_ms) return;
    cycle_info ci;
    memset(&ci, 0, sizeof ci);
    ci.issue_time = (int64_t)time(NULL);
    ci.data_state = SERVE_DATA_NONE;
    char last[32] = "none";
    if (s->state.last_frame_time) sq25_time_format(s->state.last_frame_time, last, sizeof last);
    snprintf(ci.reason, sizeof ci.reason,
             "radar outage: no new frame for more than %g min (last frame %s)", s->cfg.outage_min,
             last);
    if (run_cycle(s, &ci, false) == 0) s->outage_published = true;
}

/* ---- set-up, reload, main loop ---- */
static int load_config(serve_config *cfg, int argc, char **argv)
{
    char err[1024];
    serve_config_defaults(cfg);
    int rc = serve_config_load(cfg, argc, argv, err, sizeof err);
    if (rc == 0) rc = serve_config_check(cfg, err, sizeof err) ? 1 : 0;
    if (rc == 0) return CLI_OK;
    serve_config_clear(cfg);
    return rc == 1 ? cli_usage_error("serve", "%s", err) : cli_error("serve", "%s", err);
}

static void reload(service *s)
{
    serve_config next;
    if (load_config(&next, s->argc, s->argv) != CLI_OK) {
        log_event(s, "reload_failed", NULL, "the configuration did not load; the old one stays");
        return;
    }
    /* The folders stay those of the running service. */
    serve_config_set(&next, "inbox", s->cfg.inbox, NULL, 0);
    serve_config_set(&next, "outbox", s->cfg.outbox, NULL, 0);
    serve_config old = s->cfg;
    sq25_pipeline *p = s->p;
    sq25_field *street = s->street;
    sq25_targets *targets = s->targets;
    s->cfg = next;
    s->p = NULL;
    s->street = NULL;
    s->targets = NULL;
    if (build_runtime(s) != CLI_OK) {
        free_runtime(s);
        serve_config_clear(&s->cfg);
        s->cfg = old;
        s->p = p;
        s->street = street;
        s->targets = targets;
        log_event(s, "reload_failed", NULL, "the new configuration did not build; the old one stays");
        return;
    }
    sq25_pipeline_destroy(p);
    sq25_field_destroy(street);
    sq25_targets_destroy(targets);
    serve_config_clear(&old);
    log_event(s, "reload", NULL, "configuration re-read");
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop; /* no SA_RESTART: a wait returns at once */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_reload;
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGXFSZ, &sa, NULL); /* a file-size limit gives EFBIG, reported as a failed cycle */
}

static int lock_outbox(const service *s)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/.sq25-serve.lock", s->cfg.outbox);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return cli_error("serve", "%s: cannot open the lock file: %s", path, strerror(errno)), -1;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return cli_error("serve", "%s: another sq25 serve uses this outbox", s->cfg.outbox), -1;
    }
    return fd;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Soak: the inbox frames at one step every cycle, their content played forwards, then
 * backwards, then forwards again (0..n-1, n-2..1, 0..), so the rain never jumps from the end
 * of the storm back to its start (which gives nonsense motion). */
static size_t replay_index(long k, size_t n)
{
    long period = 2 * ((long)n - 1), j = k % period;
    return (size_t)(j < (long)n ? j : period - j);
}

static int replay(service *s)
{
    candidate *c = NULL;
    size_t n = 0;
    if (collect_candidates(s, &c, &n, false) != 0 || n < 2) {
        free_candidates(c, n);
        return cli_error("serve", "--replay needs at least two radar frames in the inbox");
    }
    int64_t step = c[1].valid_time - c[0].valid_time;
    sq25_field **frames = calloc(n, sizeof *frames);
    int status = frames ? CLI_OK : cli_error("serve", "out of memory");
    for (size_t i = 0; status == CLI_OK && i < n; i++) {
        frames[i] = c[i].frame ? c[i].frame : read_frame(s, c[i].entry);
        c[i].frame = NULL;
        if (!frames[i]) status = CLI_FAIL;
    }
    for (long k = 0; status == CLI_OK && k < s->cfg.replay && !stop_requested; k++) {
        sq25_field *f = NULL;
        size_t idx = replay_index(k, n);
        if (sq25_field_clone(frames[idx], &f) != SQ25_OK) {
            status = cli_error("serve", "out of memory");
            break;
        }
        int64_t t = c[0].valid_time + step * k;
        sq25_field_set_valid_time(f, t);
        sq25_field_set_meta(f, SQ25_META_PATH, c[idx].entry->name);
        int rc = feed_frame(s, f);
        hold_frame(s, f, c[idx].entry->name);
        cycle_info ci;
        memset(&ci, 0, sizeof ci);
        ci.issue_time = t;
        ci.sensor_shift_s = t - c[idx].valid_time; /* the sensors replayed with their frame */
        if (rc != SQ25_OK) {
            status = cli_lib_error("serve", s->ctx, rc);
            break;
        }
        run_cycle(s, &ci, true);
        if ((k + 1) % 100 == 0 || k == 0) { /* resident memory, for the soak figures */
            log_begin(s, "soak");
            printf(",\"cycles\":%ld,\"rss_kb\":%ld", k + 1, rss_kb());
            log_end(s);
        }
    }
    for (size_t i = 0; frames && i < n; i++) sq25_field_destroy(frames[i]);
    free(frames);
    free_candidates(c, n);
    return status;
}

static int serve_loop(service *s)
{
    bool first_scan = true;
    int64_t retry_at = 0;
    long cycles = 0;
    while (!stop_requested) {
        if (reload_requested) {
            reload_requested = 0;
            reload(s);
        }
        candidate *c = NULL;
        size_t n = 0;
        if (serve_now_ms() >= retry_at && collect_candidates(s, &c, &n, first_scan) == 0) {
            first_scan = false;
            for (size_t i = 0; i < n && !stop_requested; i++) {
                if (cycle_for_entry(s, &c[i]) != 0) {
                    /* Retry this frame later; the ones after it wait for it. */
                    for (size_t k = i; k < n; k++) c[k].entry->status = SERVE_ENTRY_NEW;
                    retry_at = serve_now_ms() + (int64_t)s->cfg.retry_s * 1000;
                    break;
                }
                if (s->cfg.max_cycles && ++cycles >= s->cfg.max_cycles) stop_requested = 1;
            }
        }
        free_candidates(c, n);
        if (stop_requested) break;
        check_outage(s);
        serve_inbox_wait(&s->inbox, s->cfg.poll_ms);
    }
    return CLI_OK;
}

int cmd_serve(int argc, char **argv)
{
    service s;
    memset(&s, 0, sizeof s);
    s.argc = argc;
    s.argv = argv;
    serve_state_init(&s.state);
    serve_inbox_init(&s.inbox);
    serve_sensors_init(&s.sensors);
    serve_links_init(&s.links);
    int status = load_config(&s.cfg, argc, argv);
    if (status != CLI_OK) return status;
    s.lock_fd = -1;
    if (mkdir(s.cfg.outbox, 0755) != 0 && errno != EEXIST)
        status = cli_error("serve", "%s: cannot create the outbox: %s", s.cfg.outbox, strerror(errno));
    if (status == CLI_OK && (s.lock_fd = lock_outbox(&s)) < 0) status = CLI_FAIL;
    if (status == CLI_OK && !(s.ctx = cli_ctx("serve"))) status = CLI_FAIL;
    if (status == CLI_OK) status = build_runtime(&s);
    default_levels(&s);
    snprintf(s.state_path, sizeof s.state_path, "%s",
             s.cfg.state_path ? s.cfg.state_path : "");
    if (!s.cfg.state_path) snprintf(s.state_path, sizeof s.state_path, "%s/.sq25-serve.state", s.cfg.outbox);
    char err[1024];
    if (status == CLI_OK && serve_state_load(&s.state, s.state_path, err, sizeof err) != 0)
        status = cli_error("serve", "%s", err);
    if (status == CLI_OK && serve_inbox_watch(&s.inbox, s.cfg.inbox, s.cfg.watch) != 0)
        status = cli_error("serve", "%s: inotify is not available (use --watch poll)", s.cfg.inbox);
    if (status == CLI_OK && access(s.cfg.inbox, R_OK | X_OK) != 0)
        status = cli_error("serve", "%s: cannot read the inbox: %s", s.cfg.inbox, strerror(errno));
    if (status == CLI_OK) {
        install_signals();
        s.last_arrival_ms = serve_now_ms();
        log_begin(&s, "start");
        log_str(&s, "inbox", s.cfg.inbox);
        log_str(&s, "outbox", s.cfg.outbox);
        log_str(&s, "watch", s.inbox.notify_fd >= 0 ? "inotify" : "poll");
        if (!s.cfg.quiet) printf(",\"cycles_so_far\":%ld", s.state.cycles);
        log_end(&s);
        status = s.cfg.replay ? replay(&s) : serve_loop(&s);
        log_event(&s, "stop", NULL, stop_signal == SIGTERM ? "SIGTERM" : stop_signal ? "signal" : "done");
    }
    drop_held(&s);
    free_runtime(&s);
    serve_state_free(&s.state);
    serve_inbox_free(&s.inbox);
    serve_sensors_free(&s.sensors);
    serve_links_free(&s.links);
    sq25_ctx_destroy(s.ctx);
    if (s.lock_fd >= 0) close(s.lock_fd);
    serve_config_clear(&s.cfg);
    return status;
}
