/* cmd_run.c -- sq25 run: the whole chain in one command (read, motion, extrapolation, street
 * grid, warnings, targets, maps), through the same sq25_pipeline a warning service drives frame
 * by frame. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char cmd_run_usage[] =
    "usage: sq25 run --radar FILE... --out DIR [options]\n"
    "\n"
    "Reads the radar frames (any order; sorted by valid time), nowcasts from the newest one and\n"
    "writes into DIR: forecast.h5 (ODIM_H5, one dataset per lead, then motion u and v),\n"
    "warnings.geojson (warned areas), summary.json, and with --targets targets.geojson and\n"
    "targets.csv, plus PNG maps (observation, +30 and +60 min, warning).\n"
    "\n"
    "options:\n"
    "  --radar FILE...      radar or gridded rain files (ODIM_H5, KNMI HDF5, CF netCDF-4)\n"
    "  --grid SPEC          street grid, e.g. lonlat:5.9,50.0,6.3,50.3:100 (see 'sq25 help\n"
    "                       interpolate'); default: the radar grid\n"
    "  --targets FILE       points/lines to warn: CSV id,lon,lat,name or GeoJSON\n"
    "  --sensors FILE       rain sensors (OpenSense netCDF-4, or CSV station_id,lon,lat,\n"
    "                       time_utc,mm): quality-controlled, then merged with the newest\n"
    "                       radar frame on the street grid as the observation (observation.h5)\n"
    "  --method NAME        motion method: dense (default) or lk\n"
    "  --frames N           frames used for motion (default 3)\n"
    "  --max-gap N          missing frames in a row bridged (0..6, default 2); the warning is\n"
    "                       then marked degraded (a gap) or stale (newest frames without data)\n"
    "  --horizon MIN        forecast horizon in minutes (default 60)\n"
    "  --levels A,B,C       warning levels as 1-hour totals in mm (default 15,25,40: DWD)\n"
    "  --probability P      probability at which a level is issued (default of the warn module)\n"
    "  --calibration MAP    raw:calibrated probability points, e.g. 0:0,0.5:0.15,1:0.3\n"
    "                       (docs/warnings.md gives the map fitted on the Belgian storm)\n"
    "  --out DIR            output folder (created)\n"
    "  --tz ZONE            local time beside UTC on the maps, e.g. Europe/Brussels\n"
    "  --credit TEXT        data source's credit line on the maps (default: DATA: and the\n"
    "                       radar file's producer); radar licences such as RMI's require one\n"
    "  --quiet              no progress line on stderr\n";

typedef struct {
    const char **radar;
    int n_radar;
    const char *grid_spec, *targets_path, *sensors_path, *method, *out_dir, *levels;
    const char *calibration, *tz, *credit;
    int frames, horizon_min, max_gap;
    double probability;
    bool quiet;
} run_args;

static int parse_args(int argc, char **argv, run_args *a)
{
    memset(a, 0, sizeof *a);
    a->frames = 3;
    a->max_gap = 2;
    a->horizon_min = 60;
    a->method = "dense";
    a->probability = -1;
    a->radar = calloc((size_t)argc, sizeof *a->radar);
    if (!a->radar) return cli_error("run", "out of memory");
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        bool has_val = i + 1 < argc;
        if (strcmp(o, "--radar") == 0) {
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) a->radar[a->n_radar++] = argv[++i];
        } else if (strcmp(o, "--grid") == 0 && has_val) a->grid_spec = argv[++i];
        else if (strcmp(o, "--targets") == 0 && has_val) a->targets_path = argv[++i];
        else if (strcmp(o, "--sensors") == 0 && has_val) a->sensors_path = argv[++i];
        else if (strcmp(o, "--method") == 0 && has_val) a->method = argv[++i];
        else if (strcmp(o, "--out") == 0 && has_val) a->out_dir = argv[++i];
        else if (strcmp(o, "--levels") == 0 && has_val) a->levels = argv[++i];
        else if (strcmp(o, "--calibration") == 0 && has_val) a->calibration = argv[++i];
        else if (strcmp(o, "--tz") == 0 && has_val) a->tz = argv[++i];
        else if (strcmp(o, "--credit") == 0 && has_val) a->credit = argv[++i];
        else if (strcmp(o, "--frames") == 0 && has_val) a->frames = atoi(argv[++i]);
        else if (strcmp(o, "--horizon") == 0 && has_val) a->horizon_min = atoi(argv[++i]);
        else if (strcmp(o, "--max-gap") == 0 && has_val) a->max_gap = atoi(argv[++i]);
        else if (strcmp(o, "--probability") == 0 && has_val) a->probability = atof(argv[++i]);
        else if (strcmp(o, "--quiet") == 0) a->quiet = true;
        else return cli_usage_error("run", "unknown or incomplete option '%s'", o);
    }
    if (a->n_radar == 0) return cli_usage_error("run", "--radar needs at least one file");
    if (!a->out_dir) return cli_usage_error("run", "--out DIR is required");
    if (a->horizon_min <= 0) return cli_usage_error("run", "--horizon must be positive");
    return CLI_OK;
}

/* Progress on stderr, one line rewritten in place, only when stderr is a terminal. */
static void progress(const run_args *a, const char *fmt, const char *detail)
{
    if (a->quiet || !isatty(2)) return;
    fprintf(stderr, "\r\033[K");
    fprintf(stderr, fmt, detail);
    fflush(stderr);
}

typedef struct {
    sq25_field *field;
    const char *path;
} frame_entry;

static int by_valid_time(const void *x, const void *y)
{
    int64_t a = sq25_field_valid_time(((const frame_entry *)x)->field);
    int64_t b = sq25_field_valid_time(((const frame_entry *)y)->field);
    return (a > b) - (a < b);
}

static int read_frames(sq25_ctx *ctx, const run_args *a, frame_entry *frames)
{
    for (int i = 0; i < a->n_radar; i++) {
        progress(a, "sq25 run: reading %s", a->radar[i]);
        frames[i].path = a->radar[i];
        int rc = sq25_read_field(ctx, a->radar[i], &frames[i].field);
        if (rc) return cli_lib_error("run", ctx, rc);
    }
    qsort(frames, (size_t)a->n_radar, sizeof *frames, by_valid_time);
    return CLI_OK;
}

/* Feed the frames in time order; a gap or a changed grid starts a new sequence, so the run
 * uses the newest unbroken sequence. */
static int feed_pipeline(sq25_ctx *ctx, sq25_pipeline *p, const frame_entry *frames, int n)
{
    for (int i = 0; i < n; i++) {
        int rc = sq25_pipeline_push_frame(p, frames[i].field);
        if (rc == SQ25_ERR_TIME_GAP || rc == SQ25_ERR_GRID_MISMATCH) {
            fprintf(stderr, "sq25 run: %s; starting a new sequence at %s\n", sq25_errmsg(ctx),
                    frames[i].path);
            sq25_pipeline_reset(p);
            rc = sq25_pipeline_push_frame(p, frames[i].field);
        }
        if (rc) return cli_lib_error("run", ctx, rc);
    }
    return CLI_OK;
}

/* --calibration "raw:p,raw:p,...": a calibration map for the warning probabilities. */
int cli_set_calibration(const char *cmd, sq25_ctx *ctx, sq25_warn_options *wo, const char *text)
{
    double raw[SQ25_WARN_MAX_CALIBRATION], cal[SQ25_WARN_MAX_CALIBRATION];
    int n = 0, used = 0;
    const char *s = text;
    while (n < SQ25_WARN_MAX_CALIBRATION && sscanf(s, "%lf:%lf%n", &raw[n], &cal[n], &used) == 2) {
        n++;
        s += used;
        if (*s != ',') break;
        s++;
    }
    if (*s != '\0') return cli_usage_error(cmd, "bad --calibration '%s' (raw:p,raw:p,...)", text);
    int rc = sq25_warn_options_set_calibration(wo, n, raw, cal);
    return rc ? cli_lib_error(cmd, ctx, rc) : CLI_OK;
}

static int configure(sq25_ctx *ctx, sq25_pipeline *p, const run_args *a, sq25_targets **targets,
                     sq25_field **street)
{
    int method = 0, rc = sq25_motion_method_from_name(a->method, &method);
    if (rc) return cli_usage_error("run", "unknown motion method '%s'", a->method);
    if ((rc = sq25_motion_options_set_method(sq25_pipeline_motion_options(p), method)) ||
        (rc = sq25_pipeline_set_input_frames(p, a->frames)) ||
        (rc = sq25_pipeline_set_max_gap(p, a->max_gap)) ||
        (rc = sq25_pipeline_set_horizon(p, a->horizon_min * 60)))
        return cli_lib_error("run", ctx, rc);
    sq25_warn_options *wo = sq25_pipeline_warn_options(p);
    if ((rc = sq25_warn_options_set_horizon(wo, 3600)) != SQ25_OK)
        return cli_lib_error("run", ctx, rc);
    if (a->probability >= 0 && (rc = sq25_warn_options_set_probability_threshold(wo, a->probability)))
        return cli_lib_error("run", ctx, rc);
    if (a->levels) {
        double thr[SQ25_WARN_MAX_LEVELS];
        int n = 0;
        const char *s = a->levels;
        char *end;
        while (n < SQ25_WARN_MAX_LEVELS) {
            thr[n++] = strtod(s, &end);
            if (end == s) return cli_usage_error("run", "bad --levels '%s'", a->levels);
            if (*end != ',') break;
            s = end + 1;
        }
        if ((rc = sq25_warn_options_set_levels(wo, n, thr, NULL)))
            return cli_lib_error("run", ctx, rc);
    }
    if (a->calibration && (rc = cli_set_calibration("run", ctx, wo, a->calibration)) != CLI_OK) return rc;
    if (a->grid_spec) {
        if ((rc = sq25_grid_parse(ctx, a->grid_spec, 0, street)))
            return cli_lib_error("run", ctx, rc);
        if ((rc = sq25_pipeline_set_street_grid(p, *street))) return cli_lib_error("run", ctx, rc);
    }
    if (a->targets_path) {
        if ((rc = sq25_targets_read(ctx, a->targets_path, targets))) return cli_lib_error("run", ctx, rc);
        for (size_t i = 0; i < sq25_targets_problem_count(*targets); i++)
            fprintf(stderr, "sq25 run: %s\n", sq25_targets_problem(*targets, i));
        sq25_pipeline_set_targets(p, *targets);
    }
    return CLI_OK;
}

static void join_path(char *buf, size_t cap, const char *dir, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
}

/* forecast.h5: the leads in time order (RATE, mm/h), then motion u and v (pixels per step). */
int cli_write_forecast(sq25_ctx *ctx, const sq25_pipeline *p, const char *path)
{
    sq25_odim_writer *w = NULL;
    int rc = sq25_odim_writer_create(ctx, path, &w);
    int step = sq25_pipeline_step_s(p);
    for (int i = 0; rc == SQ25_OK && i < sq25_pipeline_forecast_count(p); i++) {
        const sq25_field *f = sq25_pipeline_forecast(p, i);
        int64_t t = sq25_field_valid_time(f);
        rc = sq25_odim_writer_add(w, f, "RATE", t - step, t);
    }
    const sq25_field *first = sq25_pipeline_forecast(p, 0);
    sq25_field *motion = NULL;
    if (rc == SQ25_OK && first) rc = sq25_field_clone(first, &motion);
    const float *comp[2] = {sq25_pipeline_motion_u(p), sq25_pipeline_motion_v(p)};
    const char *names[2] = {"UMOTION", "VMOTION"};
    size_t cells = motion ? (size_t)sq25_field_width(motion) * (size_t)sq25_field_height(motion) : 0;
    for (int k = 0; rc == SQ25_OK && k < 2; k++) {
        memcpy(sq25_field_data(motion), comp[k], cells * sizeof(float));
        int64_t t = sq25_field_valid_time(first) - step;
        rc = sq25_odim_writer_add(w, motion, names[k], t - step, t);
    }
    sq25_field_destroy(motion);
    int rc_close = sq25_odim_writer_close(w);
    return rc ? rc : rc_close;
}

/* The maps' credit line: --credit, else "DATA: " and the producer the radar file states. */
static const char *map_credit(const run_args *a, const sq25_field *radar)
{
    static char buf[200];
    if (a->credit) return a->credit;
    const char *producer = sq25_field_meta(radar, SQ25_META_PRODUCER);
    if (!producer[0]) return NULL;
    snprintf(buf, sizeof buf, "DATA: %.180s", producer);
    return buf;
}

/* A copy of f for a map: on the street grid when one is given (bilinear), else f itself. */
static int map_field(const sq25_field *f, const sq25_field *street, sq25_field **out)
{
    int rc = sq25_field_clone(street ? street : f, out);
    if (rc == SQ25_OK && street) {
        rc = sq25_resample(f, *out, SQ25_RESAMPLE_BILINEAR);
        sq25_field_set_valid_time(*out, sq25_field_valid_time(f));
    }
    return rc;
}

static int render_map(sq25_ctx *ctx, const run_args *a, const char *credit, const sq25_field *f,
                      const sq25_field *street, const sq25_targets *targets, const char *title,
                      const char *name)
{
    char path[4096];
    join_path(path, sizeof path, a->out_dir, name);
    sq25_field *m = NULL;
    sq25_render_options *ro = NULL;
    int rc = map_field(f, street, &m);
    if (rc == SQ25_OK) rc = sq25_render_options_create(ctx, &ro);
    if (rc == SQ25_OK) rc = sq25_render_options_set_title(ro, title);
    int status = rc ? cli_lib_error("run", ctx, rc)
                    : cli_map_options("run", ro, a->tz, sq25_field_valid_time(f), credit);
    if (status == CLI_OK && (rc = sq25_render_field_png(m, targets, ro, path)))
        status = cli_lib_error("run", ctx, rc);
    sq25_render_options_destroy(ro);
    sq25_field_destroy(m);
    if (status) return status;
    printf("map           %s\n", path);
    return CLI_OK;
}

/* ---- sensors: QC, then the values of the step ending at the issue time, in mm/h ---- */
static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int read_clean_sensors(sq25_ctx *ctx, const run_args *a, int step_s, sq25_series **out)
{
    sq25_series *raw = NULL;
    int rc = ends_with(a->sensors_path, ".csv")
                 ? sq25_series_read_csv(ctx, a->sensors_path, step_s, &raw)
                 : sq25_series_read_netcdf(ctx, a->sensors_path, &raw);
    if (rc) return cli_lib_error("run", ctx, rc);
    if (sq25_series_bad_rows(raw) > 0)
        fprintf(stderr, "sq25 run: %s: %lld bad row(s) skipped, first: %s\n", a->sensors_path,
                (long long)sq25_series_bad_rows(raw), sq25_series_bad_row_message(raw, 0));
    sq25_qc_result *qc = NULL;
    rc = sq25_qc_run(raw, NULL, &qc);
    if (rc == SQ25_OK) rc = sq25_qc_apply(raw, qc, SQ25_QC_REJECT, out);
    sq25_qc_result_destroy(qc);
    sq25_series_destroy(raw);
    return rc ? cli_lib_error("run", ctx, rc) : CLI_OK;
}

/* Merge the sensors' rates at the issue time with the newest radar frame onto the street grid
 * (or the radar grid) and write observation.h5. *merged is NULL when no sensor reported. */
static int merge_sensors(sq25_ctx *ctx, const run_args *a, const sq25_field *latest,
                         const sq25_field *street, int step_s, sq25_field **merged)
{
    *merged = NULL;
    sq25_series *s = NULL;
    int status = read_clean_sensors(ctx, a, step_s, &s);
    if (status != CLI_OK) return status;
    int64_t issue = sq25_field_valid_time(latest), k = sq25_series_step_at(s, issue);
    int n = sq25_series_station_count(s), used = 0;
    double *lon = calloc((size_t)n, sizeof *lon), *lat = calloc((size_t)n, sizeof *lat);
    double *rate = calloc((size_t)n, sizeof *rate);
    const float *data = sq25_series_data_const(s);
    int64_t steps = sq25_series_step_count(s);
    for (int i = 0; k >= 0 && lon && lat && rate && i < n; i++) {
        float mm = data[(size_t)i * (size_t)steps + (size_t)k]; /* mm in the step */
        if (mm != mm) continue;
        sq25_series_station_lonlat(s, i, &lon[used], &lat[used]);
        rate[used++] = mm * 3600.0 / sq25_series_step_s(s);
    }
    char when[32];
    sq25_time_format(issue, when, sizeof when);
    if (!lon || !lat || !rate) status = cli_error("run", "out of memory");
    else if (used == 0)
        fprintf(stderr, "sq25 run: %s: no sensor value after QC for the step ending %s; the "
                        "observation is radar only\n", a->sensors_path, when);
    else {
        int rc = sq25_field_clone(street ? street : latest, merged);
        if (rc == SQ25_OK)
            rc = sq25_interp_merge(ctx, NULL, latest, (size_t)used, lon, sizeof *lon, lat,
                                   sizeof *lat, rate, sizeof *rate, *merged, NULL);
        if (rc == SQ25_OK) sq25_field_set_valid_time(*merged, issue);
        char path[4096];
        join_path(path, sizeof path, a->out_dir, "observation.h5");
        if (rc == SQ25_OK) rc = sq25_write_odim(ctx, path, *merged);
        if (rc) status = cli_lib_error("run", ctx, rc);
        else printf("observation   %s (radar merged with %d sensors at %s)\n", path, used, when);
    }
    free(lon);
    free(lat);
    free(rate);
    sq25_series_destroy(s);
    return status;
}

/* Observation, +30 and +60 minutes (or the last lead if the horizon is shorter), warning. */
static int write_maps(sq25_ctx *ctx, const run_args *a, sq25_pipeline *p, sq25_warning *w,
                      const sq25_field *latest, const sq25_field *merged,
                      const sq25_field *street, const sq25_targets *targets)
{
    progress(a, "sq25 run: %s", "drawing maps");
    const char *credit = map_credit(a, latest);
    int status = merged ? render_map(ctx, a, credit, merged, NULL, targets,
                                     "Observed rain rate mm/h radar+sensors", "observation.png")
                        : render_map(ctx, a, credit, latest, street, targets, "Observed rain rate mm/h",
                                     "observation.png");
    int step_min = sq25_pipeline_step_s(p) / 60, n = sq25_pipeline_forecast_count(p);
    const int leads_min[2] = {30, 60};
    for (int k = 0; status == CLI_OK && k < 2 && step_min > 0; k++) {
        int i = leads_min[k] / step_min - 1;
        if (i >= n) i = n - 1;
        char title[64], name[64];
        snprintf(title, sizeof title, "Forecast +%d min rain rate mm/h", (i + 1) * step_min);
        snprintf(name, sizeof name, "forecast_%02d.png", (i + 1) * step_min);
        status = render_map(ctx, a, credit, sq25_pipeline_forecast(p, i), street, targets, title, name);
    }
    if (status != CLI_OK) return status;
    char path[4096];
    join_path(path, sizeof path, a->out_dir, "warning.png");
    sq25_render_options *ro = NULL;
    int rc = sq25_render_options_create(ctx, &ro);
    if (rc == SQ25_OK) rc = sq25_render_options_set_title(ro, "Heavy-rain warning next 60 min");
    status = rc ? cli_lib_error("run", ctx, rc)
                : cli_map_options("run", ro, a->tz, sq25_warning_issue_time(w), credit);
    if (status == CLI_OK && (rc = sq25_render_warning_png(w, ro, path)))
        status = cli_lib_error("run", ctx, rc);
    sq25_render_options_destroy(ro);
    if (status) return status;
    printf("map           %s\n", path);
    return CLI_OK;
}

static int write_outputs(sq25_ctx *ctx, const run_args *a, sq25_pipeline *p, sq25_warning *w)
{
    char path[4096];
    int rc;
    join_path(path, sizeof path, a->out_dir, "forecast.h5");
    progress(a, "sq25 run: writing %s", path);
    if ((rc = cli_write_forecast(ctx, p, path))) return cli_lib_error("run", ctx, rc);
    printf("forecast      %s\n", path);
    join_path(path, sizeof path, a->out_dir, "warnings.geojson");
    if ((rc = sq25_warning_write_areas_geojson(w, path))) return cli_lib_error("run", ctx, rc);
    printf("warning areas %s\n", path);
    if (a->targets_path) {
        join_path(path, sizeof path, a->out_dir, "targets.geojson");
        if ((rc = sq25_warning_write_targets_geojson(w, path))) return cli_lib_error("run", ctx, rc);
        printf("targets       %s\n", path);
        join_path(path, sizeof path, a->out_dir, "targets.csv");
        if ((rc = sq25_warning_write_targets_csv(w, path))) return cli_lib_error("run", ctx, rc);
        printf("targets csv   %s\n", path);
    }
    join_path(path, sizeof path, a->out_dir, "summary.json");
    if ((rc = sq25_warning_write_summary_json(w, path))) return cli_lib_error("run", ctx, rc);
    printf("summary       %s\n", path);
    const char *reason = sq25_warning_state_reason(w);
    printf("state         %s%s%s%s\n", sq25_state_name(sq25_warning_state(w)),
           reason[0] ? " (" : "", reason, reason[0] ? ")" : "");
    return CLI_OK;
}

static int make_dir(const char *dir)
{
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) return CLI_OK;
    return cli_error("run", "%s: cannot create the output folder: %s", dir, strerror(errno));
}

int cmd_run(int argc, char **argv)
{
    run_args a;
    int status = parse_args(argc, argv, &a);
    if (status != CLI_OK) {
        free(a.radar);
        return status;
    }
    sq25_ctx *ctx = cli_ctx("run");
    frame_entry *frames = calloc((size_t)a.n_radar, sizeof *frames);
    sq25_pipeline *p = NULL;
    sq25_targets *targets = NULL;
    sq25_field *street = NULL;
    sq25_warning *w = NULL;
    if (!ctx || !frames) status = cli_error("run", "out of memory");
    if (status == CLI_OK) status = make_dir(a.out_dir);
    if (status == CLI_OK && sq25_pipeline_create(ctx, &p)) status = cli_lib_error("run", ctx, sq25_errcode(ctx));
    if (status == CLI_OK) status = configure(ctx, p, &a, &targets, &street);
    if (status == CLI_OK) status = read_frames(ctx, &a, frames);
    if (status == CLI_OK) status = feed_pipeline(ctx, p, frames, a.n_radar);
    if (status == CLI_OK) {
        progress(&a, "sq25 run: %s", "motion, extrapolation, warnings");
        int rc = sq25_pipeline_run(p, &w);
        if (rc) status = cli_lib_error("run", ctx, rc);
    }
    if (status == CLI_OK) {
        progress(&a, "%s", "");
        if (!a.quiet && isatty(2)) fputc('\r', stderr);
        status = write_outputs(ctx, &a, p, w);
    }
    sq25_field *merged = NULL;
    if (status == CLI_OK && a.sensors_path)
        status = merge_sensors(ctx, &a, frames[a.n_radar - 1].field, street,
                               sq25_pipeline_step_s(p), &merged);
    if (status == CLI_OK)
        status = write_maps(ctx, &a, p, w, frames[a.n_radar - 1].field, merged, street, targets);
    sq25_field_destroy(merged);
    sq25_warning_destroy(w);
    sq25_field_destroy(street);
    sq25_targets_destroy(targets);
    sq25_pipeline_destroy(p);
    for (int i = 0; frames && i < a.n_radar; i++) sq25_field_destroy(frames[i].field);
    free(frames);
    free(a.radar);
    sq25_ctx_destroy(ctx);
    return status;
}
