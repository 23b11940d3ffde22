/* cmd_run.c -- sq25 run: the whole chain in one command (read, motion, extrapolation, street
 * grid, warnings, targets, maps), through the same sq25_pipeline a warning service drives frame
 * by frame. */
#include "cli.h"

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
    "  --radar FILE...      radar or gridded rain files (ODIM_H5, KNMI HDF5, CF netCDF-4,\n"
    "                       RADOLAN, ESRI ASCII); every frame of each file is read (a file\n"
    "                       may hold several: CF (time, y, x), a tar of products)\n"
    "  --time T             issue time: only frames valid at or before T are used\n"
    "  --zr A,B             reflectivity to rain rate by Z = A R^B (default 200,1.6)\n"
    "  --ceiling MMH[:MODE] rates above MMH clipped (MODE clip) or set to no data (nodata)\n"
    "  --grid SPEC          street grid, e.g. lonlat:5.9,50.0,6.3,50.3:100 (see 'sq25 help\n"
    "                       interpolate'); default: the radar grid\n"
    "  --targets FILE       points/lines to warn: CSV id,lon,lat,name or GeoJSON\n"
    "  --sensors FILE...    rain sensors (OpenSense netCDF-4, or CSV station_id,lon,lat,\n"
    "                       time_utc,mm): one long file or several of the same stations,\n"
    "                       joined in time; quality-controlled once over all of it, then the\n"
    "                       interval ending at the issue time is merged with the radar on the\n"
    "                       street grid (observation.h5) and the nowcast and warnings start\n"
    "                       from that merged analysis\n"
    "  --links FILE         microwave links (OpenSense CML netCDF-4: raw TSL/RSL or processed\n"
    "                       path rain) as line sensors, with or without --sensors: processed\n"
    "                       as 'sq25 links' does (options below), merged with block (line)\n"
    "                       support over their interval ending at the issue time\n"
    "  --links-step S       links' interval in seconds, a multiple of the file's step\n"
    "                       (default 300); --links-waa M, --links-window S,\n"
    "                       --links-threshold DB, --links-waa-max DB, --links-tau S: as\n"
    "                       --waa ... of 'sq25 help links'\n"
    "  --merge NAME         merging method: additive (default), ked, multiplicative, mfb\n"
    "  --sensor-stamp S     end (default: times end each interval) or start\n"
    "  --sensor-lag SEC     seconds added to the sensors' times (default 0)\n"
    "  --no-qc              use the sensor values as read (no PWS quality control)\n"
    "  --bias-correct       also multiply the QC-passed values by their PWSQC bias-correction\n"
    "                       factor (for PWS networks that under-read)\n"
    "  --step S             CSV sensor time step in seconds (default 300)\n"
    "  --method NAME        motion method: dense (default) or lk\n"
    "  --frames N           frames used for motion (default 3)\n"
    "  --max-gap N          missing frames in a row bridged (0..6, default 2); the warning is\n"
    "                       then marked degraded (a gap) or stale (newest frames without data)\n"
    "  --horizon MIN        forecast horizon in minutes (default 60)\n"
    "  --levels A,B,C       warning levels as 1-hour totals in mm (default 15,25,40: DWD)\n"
    "  --probability P      probability at which a level is issued (default of the warn module)\n"
    "  --calibration MAP    raw:calibrated probability points, e.g. 0:0,0.5:0.15,1:0.3\n"
    "                       (docs/warnings.md gives the map fitted on the Belgian storm)\n"
    "  --members N          probabilities from a STEPS-class ensemble of N members (the\n"
    "                       members' fraction reaching a level's 1-hour amount in a window,\n"
    "                       with the extrapolation as a control member; docs/ensemble.md);\n"
    "                       also writes ensemble.nc; the calibration map still applies\n"
    "  --seed S             ensemble seed (default 24)\n"
    "  --noise-gain G       factor on the ensemble's cascade noise (default: the library's)\n"
    "  --ensemble-neighbourhood CELLS  average the members' fraction over a square window of\n"
    "                       half side CELLS (default 0: the cell alone)\n"
    "  --out DIR            output folder (created)\n"
    "  --tz ZONE            local time beside UTC on the maps, e.g. Europe/Brussels\n"
    "  --credit TEXT        data source's credit line on the maps (default: DATA: and the\n"
    "                       radar file's producer); radar licences such as RMI's require one\n"
    "  --no-maps            skip the PNG maps (a real-time cycle that needs only the data)\n"
    "  --compression L      deflate level of forecast.h5, 0 (none) to 9; default 1\n"
    "  --threads T          threads to use, 0 = one per online CPU (default)\n"
    "  --quiet              no progress line on stderr\n";

typedef struct {
    const char **radar;
    int n_radar;
    const char **sensors;
    int n_sensors;
    const char *links;      /* --links FILE */
    cli_links_opts links_opt;
    const char *grid_spec, *targets_path, *method, *out_dir, *levels;
    const char *calibration, *merge, *stamp, *tz, *credit, *time;
    int frames, horizon_min, sensor_lag_s, sensor_step_s, no_qc, bias_correct, max_gap;
    int members, ens_neighbourhood;
    unsigned long long seed;
    double probability, noise_gain;
    bool quiet;
    bool no_maps;
    int compression, threads;
} run_args;

static int parse_args(int argc, char **argv, run_args *a)
{
    memset(a, 0, sizeof *a);
    a->frames = 3;
    a->max_gap = 2;
    a->horizon_min = 60;
    a->method = "dense";
    a->probability = -1;
    a->merge = "additive";
    a->stamp = "end";
    a->sensor_step_s = 300;
    a->compression = 1;
    a->seed = 24;
    a->noise_gain = NAN; /* not given: the library's default */
    cli_links_defaults(&a->links_opt, 300);
    a->radar = calloc((size_t)argc, sizeof *a->radar);
    a->sensors = calloc((size_t)argc, sizeof *a->sensors);
    if (!a->radar || !a->sensors) return cli_error("run", "out of memory");
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        bool has_val = i + 1 < argc;
        int st = CLI_OK;
        if (cli_reader_option(argc, argv, &i, &st) ||
            cli_links_option(argc, argv, &i, "links-", &a->links_opt, &st)) {
            if (st) return st;
        } else if (strcmp(o, "--links") == 0 && has_val) {
            a->links = argv[++i];
        } else if (strcmp(o, "--radar") == 0) {
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) a->radar[a->n_radar++] = argv[++i];
        } else if (strcmp(o, "--grid") == 0 && has_val) a->grid_spec = argv[++i];
        else if (strcmp(o, "--targets") == 0 && has_val) a->targets_path = argv[++i];
        else if (strcmp(o, "--sensors") == 0 && has_val) {
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
                a->sensors[a->n_sensors++] = argv[++i];
        } else if (strcmp(o, "--merge") == 0 && has_val) a->merge = argv[++i];
        else if (strcmp(o, "--sensor-stamp") == 0 && has_val) a->stamp = argv[++i];
        else if (strcmp(o, "--sensor-lag") == 0 && has_val) a->sensor_lag_s = atoi(argv[++i]);
        else if (strcmp(o, "--step") == 0 && has_val) a->sensor_step_s = atoi(argv[++i]);
        else if (strcmp(o, "--no-qc") == 0) a->no_qc = 1;
        else if (strcmp(o, "--bias-correct") == 0) a->bias_correct = 1;
        else if (strcmp(o, "--method") == 0 && has_val) a->method = argv[++i];
        else if (strcmp(o, "--out") == 0 && has_val) a->out_dir = argv[++i];
        else if (strcmp(o, "--levels") == 0 && has_val) a->levels = argv[++i];
        else if (strcmp(o, "--calibration") == 0 && has_val) a->calibration = argv[++i];
        else if (strcmp(o, "--time") == 0 && has_val) a->time = argv[++i];
        else if (strcmp(o, "--tz") == 0 && has_val) a->tz = argv[++i];
        else if (strcmp(o, "--credit") == 0 && has_val) a->credit = argv[++i];
        else if (strcmp(o, "--max-gap") == 0 && has_val) {
            if (!cli_parse_int(argv[++i], 0, 6, &a->max_gap))
                return cli_usage_error("run", "--max-gap '%s': a whole number from 0 to 6", argv[i]);
        } else if (strcmp(o, "--frames") == 0 && has_val) {
            if (!cli_parse_int(argv[++i], 2, 8, &a->frames))
                return cli_usage_error("run", "--frames '%s': a whole number from 2 to 8", argv[i]);
        } else if (strcmp(o, "--horizon") == 0 && has_val) {
            /* minutes; the pipeline forecasts up to 6 hours */
            if (!cli_parse_int(argv[++i], 1, 360, &a->horizon_min))
                return cli_usage_error("run", "--horizon '%s': whole minutes from 1 to 360",
                                       argv[i]);
        } else if (strcmp(o, "--probability") == 0 && has_val) {
            if (!cli_parse_double(argv[++i], 0, 1, &a->probability))
                return cli_usage_error("run", "--probability '%s': a number from 0 to 1", argv[i]);
        }
        else if (strcmp(o, "--members") == 0 && has_val) a->members = atoi(argv[++i]);
        else if (strcmp(o, "--seed") == 0 && has_val) a->seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(o, "--noise-gain") == 0 && has_val) a->noise_gain = atof(argv[++i]);
        else if (strcmp(o, "--ensemble-neighbourhood") == 0 && has_val)
            a->ens_neighbourhood = atoi(argv[++i]);
        else if (strcmp(o, "--quiet") == 0) a->quiet = true;
        else if (strcmp(o, "--no-maps") == 0) a->no_maps = true;
        else if (strcmp(o, "--compression") == 0 && has_val) a->compression = atoi(argv[++i]);
        else if (strcmp(o, "--threads") == 0 && has_val) a->threads = atoi(argv[++i]);
        else return cli_usage_error("run", "unknown or incomplete option '%s'", o);
    }
    if (a->n_radar == 0) return cli_usage_error("run", "--radar needs at least one file");
    if (!a->out_dir) return cli_usage_error("run", "--out DIR is required");
    if (a->horizon_min <= 0) return cli_usage_error("run", "--horizon must be positive");
    if (a->sensor_step_s <= 0) return cli_usage_error("run", "--step must be > 0 seconds");
    int m;
    if (sq25_merge_method_from_name(a->merge, &m) != SQ25_OK)
        return cli_usage_error("run", "unknown --merge '%s' (additive, ked, multiplicative, mfb)",
                               a->merge);
    if (strcmp(a->stamp, "end") != 0 && strcmp(a->stamp, "start") != 0)
        return cli_usage_error("run", "--sensor-stamp must be end or start");
    if (a->compression < 0 || a->compression > 9)
        return cli_usage_error("run", "--compression needs a level from 0 to 9");
    if (a->threads < 0 || a->threads > 256)
        return cli_usage_error("run", "--threads needs a count from 0 to 256");
    if (a->members < 0 || a->members > SQ25_ENSEMBLE_MAX_MEMBERS)
        return cli_usage_error("run", "--members needs 1..%d", SQ25_ENSEMBLE_MAX_MEMBERS);
    if (a->ens_neighbourhood < 0 || a->ens_neighbourhood > 1000)
        return cli_usage_error("run", "--ensemble-neighbourhood needs 0..1000 cells");
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

/* Every frame of every --radar file (those valid up to --time), sorted by valid time; the
 * fields move from `in` into a new frame_entry array. */
static int read_frames(sq25_ctx *ctx, const run_args *a, frame_entry **frames, int *count)
{
    int64_t until = 0;
    if (a->time && sq25_time_parse(a->time, &until) != SQ25_OK)
        return cli_usage_error("run", "cannot parse --time '%s'", a->time);
    progress(a, "sq25 run: reading %s", a->radar[0]);
    cli_frames in;
    int st = cli_read_frames("run", ctx, a->radar, a->n_radar,
                             a->time ? CLI_FRAMES_UNTIL : CLI_FRAMES_ALL, until, &in);
    if (st) return st;
    *frames = calloc((size_t)in.count, sizeof **frames);
    if (!*frames) {
        cli_frames_free(&in);
        return cli_error("run", "out of memory");
    }
    for (int i = 0; i < in.count; i++) {
        (*frames)[i].field = in.fields[i];
        (*frames)[i].path = in.paths[i];
    }
    *count = in.count;
    in.count = 0; /* the fields now belong to *frames */
    cli_frames_free(&in);
    qsort(*frames, (size_t)*count, sizeof **frames, by_valid_time);
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
    int n = cli_parse_pair_list(text, raw, cal, SQ25_WARN_MAX_CALIBRATION);
    if (n < 0)
        return cli_usage_error(cmd, "bad --calibration '%s' (raw:p,raw:p,... at most %d pairs)",
                               text, SQ25_WARN_MAX_CALIBRATION);
    int rc = sq25_warn_options_set_calibration(wo, n, raw, cal);
    return rc ? cli_lib_error(cmd, ctx, rc) : CLI_OK;
}

/* --members: the pipeline's ensemble path. */
static int configure_ensemble(sq25_ctx *ctx, sq25_pipeline *p, const run_args *a)
{
    sq25_ensemble_options *eo = NULL;
    int rc = sq25_ensemble_options_create(ctx, &eo);
    if (!rc) rc = sq25_ensemble_options_set_members(eo, a->members);
    if (!rc) rc = sq25_ensemble_options_set_seed(eo, (uint64_t)a->seed);
    if (!rc && !isnan(a->noise_gain)) rc = sq25_ensemble_options_set_noise_gain(eo, a->noise_gain);
    if (!rc) rc = sq25_pipeline_set_ensemble(p, eo, a->ens_neighbourhood);
    sq25_ensemble_options_destroy(eo);
    return rc ? cli_lib_error("run", ctx, rc) : CLI_OK;
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
        int n = cli_parse_number_list(a->levels, thr, SQ25_WARN_MAX_LEVELS);
        if (n < 0)
            return cli_usage_error("run", "bad --levels '%s' (mm totals A,B,C, at most %d)",
                                   a->levels, SQ25_WARN_MAX_LEVELS);
        if ((rc = sq25_warn_options_set_levels(wo, n, thr, NULL)))
            return cli_lib_error("run", ctx, rc);
    }
    if (a->calibration && (rc = cli_set_calibration("run", ctx, wo, a->calibration)) != CLI_OK) return rc;
    int merge = SQ25_MERGE_ADDITIVE;
    sq25_merge_method_from_name(a->merge, &merge);
    if ((rc = sq25_merge_options_set_method(sq25_pipeline_merge_options(p), merge)) ||
        (rc = sq25_pipeline_set_sensor_alignment(
             p, strcmp(a->stamp, "start") == 0 ? SQ25_STAMP_START : SQ25_STAMP_END,
             a->sensor_lag_s)))
        return cli_lib_error("run", ctx, rc);
    sq25_pipeline_set_sensor_qc(p, 0); /* the CLI runs QC once over the whole series */
    if (a->members > 0 && (rc = configure_ensemble(ctx, p, a)) != CLI_OK) return rc;
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

/* forecast.h5 with a merge: the merged leads (RATE, mm/h) on the street grid, the merge's
 * method and variogram in /how/sq25_merge; motion only when the leads are on the radar grid. */
static int write_merged_forecast(sq25_ctx *ctx, const sq25_pipeline *p, const char *path)
{
    sq25_merge_info info;
    sq25_pipeline_merge_info(p, &info);
    char json[512];
    sq25_merge_info_json(&info, json, sizeof json);
    sq25_odim_writer *w = NULL;
    int rc = sq25_odim_writer_create(ctx, path, &w);
    int step = sq25_pipeline_step_s(p);
    for (int i = 0; rc == SQ25_OK && i < sq25_pipeline_warn_forecast_count(p); i++) {
        const sq25_field *f = sq25_pipeline_warn_forecast(p, i);
        int64_t t = sq25_field_valid_time(f);
        rc = sq25_odim_writer_add(w, f, "RATE", t - step, t);
    }
    if (rc == SQ25_OK) rc = sq25_odim_writer_set_how(w, "sq25_merge", json);
    if (rc) {
        sq25_odim_writer_discard(w); /* nothing half-written; an old file stays */
        return rc;
    }
    return sq25_odim_writer_close(w);
}

/* forecast.h5: the leads in time order (RATE, mm/h), then motion u and v (pixels per step). */
static int write_forecast(sq25_ctx *ctx, const sq25_pipeline *p, const char *path,
                          int compression)
{
    if (sq25_pipeline_analysis(p)) return write_merged_forecast(ctx, p, path);
    sq25_odim_writer *w = NULL;
    int rc = sq25_odim_writer_create(ctx, path, &w);
    if (rc == SQ25_OK) rc = sq25_odim_writer_set_compression(w, compression);
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
    if (rc) {
        sq25_odim_writer_discard(w); /* nothing half-written; an old file stays */
        return rc;
    }
    return sq25_odim_writer_close(w);
}

int cli_write_forecast(sq25_ctx *ctx, const sq25_pipeline *p, const char *path)
{
    return write_forecast(ctx, p, path, 1); /* the real-time default: shuffle + deflate 1 */
}

static int render_map(sq25_ctx *ctx, const run_args *a, const char *credit, const sq25_field *f,
                      const sq25_field *street, const sq25_targets *targets, const char *title,
                      const char *name)
{
    char path[4096];
    join_path(path, sizeof path, a->out_dir, name);
    sq25_field *m = NULL;
    sq25_render_options *ro = NULL;
    int rc = cli_map_field(f, street, &m);
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

/* ---- sensors: all files joined in time, QC once over the whole, pushed to the pipeline ---- */
static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int read_one_series(sq25_ctx *ctx, const run_args *a, const char *path, sq25_series **out)
{
    int rc = ends_with(path, ".csv") ? sq25_series_read_csv(ctx, path, a->sensor_step_s, out)
                                     : sq25_series_read_netcdf(ctx, path, out);
    if (rc) return cli_lib_error("run", ctx, rc);
    if (sq25_series_bad_rows(*out) > 0)
        fprintf(stderr, "sq25 run: %s: %lld bad row(s) skipped, first: %s\n", path,
                (long long)sq25_series_bad_rows(*out), sq25_series_bad_row_message(*out, 0));
    return CLI_OK;
}

/* Files of the same stations (ids in the same order) and step join into one series. */
static bool same_stations(const sq25_series *x, const sq25_series *y)
{
    if (sq25_series_station_count(x) != sq25_series_station_count(y) ||
        sq25_series_step_s(x) != sq25_series_step_s(y))
        return false;
    for (int i = 0; i < sq25_series_station_count(x); i++)
        if (strcmp(sq25_series_station_id(x, i), sq25_series_station_id(y, i)) != 0) return false;
    return true;
}

static int join_series(sq25_ctx *ctx, sq25_series **parts, int n, sq25_series **out)
{
    int step = sq25_series_step_s(parts[0]), st = sq25_series_station_count(parts[0]);
    int64_t first = INT64_MAX, last = INT64_MIN;
    for (int k = 0; k < n; k++) {
        int64_t t0 = sq25_series_time(parts[k], 0);
        int64_t t1 = sq25_series_time(parts[k], sq25_series_step_count(parts[k]) - 1);
        if ((t0 - sq25_series_time(parts[0], 0)) % step != 0)
            return cli_error("run", "sensor files: time steps are not on one %d s grid", step);
        first = t0 < first ? t0 : first;
        last = t1 > last ? t1 : last;
    }
    int64_t steps = (last - first) / step + 1;
    int rc = sq25_series_create(ctx, st, steps, first, step, out);
    for (int i = 0; rc == SQ25_OK && i < st; i++) {
        double lon, lat;
        sq25_series_station_lonlat(parts[0], i, &lon, &lat);
        rc = sq25_series_set_station(*out, i, sq25_series_station_id(parts[0], i), lon, lat);
    }
    if (rc) return cli_lib_error("run", ctx, rc);
    float *dst = sq25_series_data(*out);
    for (int k = 0; k < n; k++) {
        int64_t nk = sq25_series_step_count(parts[k]);
        int64_t off = (sq25_series_time(parts[k], 0) - first) / step;
        const float *src = sq25_series_data_const(parts[k]);
        for (int i = 0; i < st; i++)
            for (int64_t j = 0; j < nk; j++) {
                float v = src[(size_t)i * (size_t)nk + (size_t)j];
                if (v == v) dst[(size_t)i * (size_t)steps + (size_t)(off + j)] = v;
            }
    }
    return CLI_OK;
}

/* The sensors as one QC'd series. */
static int read_sensor_series(sq25_ctx *ctx, const run_args *a, sq25_series **out)
{
    sq25_series **parts = calloc((size_t)a->n_sensors, sizeof *parts);
    if (!parts) return cli_error("run", "out of memory");
    int st = CLI_OK;
    for (int k = 0; st == CLI_OK && k < a->n_sensors; k++) {
        st = read_one_series(ctx, a, a->sensors[k], &parts[k]);
        if (st == CLI_OK && k > 0 && !same_stations(parts[0], parts[k]))
            st = cli_error("run", "%s: other stations or step than %s; sensor files must share "
                           "them", a->sensors[k], a->sensors[0]);
    }
    sq25_series *all = NULL;
    if (st == CLI_OK && a->n_sensors == 1) all = parts[0], parts[0] = NULL;
    else if (st == CLI_OK) st = join_series(ctx, parts, a->n_sensors, &all);
    for (int k = 0; k < a->n_sensors; k++) sq25_series_destroy(parts[k]);
    free(parts);
    if (st == CLI_OK && !a->no_qc) {
        sq25_qc_result *qc = NULL;
        sq25_series *clean = NULL;
        int rc = sq25_qc_run(all, NULL, &qc);
        if (rc == SQ25_OK)
            rc = a->bias_correct ? sq25_qc_apply_corrected(all, qc, SQ25_QC_REJECT, &clean)
                                 : sq25_qc_apply(all, qc, SQ25_QC_REJECT, &clean);
        sq25_qc_result_destroy(qc);
        sq25_series_destroy(all);
        all = clean;
        if (rc) st = cli_lib_error("run", ctx, rc);
    }
    if (st == CLI_OK) *out = all;
    else sq25_series_destroy(all);
    return st;
}

static int push_sensors(sq25_ctx *ctx, const run_args *a, sq25_pipeline *p)
{
    sq25_series *s = NULL;
    int st = read_sensor_series(ctx, a, &s);
    if (st != CLI_OK) return st;
    int rc = sq25_pipeline_push_sensors(p, s);
    sq25_series_destroy(s);
    return rc ? cli_lib_error("run", ctx, rc) : CLI_OK;
}

/* The links' path rain over the frames' span (the processing keeps the history before it for
 * the wet/dry window and baseline), pushed to the pipeline; a file without an interval
 * there leaves the run radar only (and says so). */
static int push_links(sq25_ctx *ctx, const run_args *a, sq25_pipeline *p, const frame_entry *frames,
                      int n_frames)
{
    int64_t from = sq25_field_valid_time(frames[0].field);
    int64_t to = sq25_field_valid_time(frames[n_frames - 1].field);
    sq25_series *rain = NULL;
    double *lonlat = NULL;
    int st = cli_links_path_rain("run", ctx, a->links, &a->links_opt, from, to, &rain, &lonlat);
    if (st != CLI_OK && sq25_errcode(ctx) == SQ25_ERR_NO_DATA) {
        fprintf(stderr, "sq25 run: %s: no link interval of %d s ends within the radar frames; "
                        "links not used\n", a->links, a->links_opt.step_s);
        return CLI_OK;
    }
    int rc = st == CLI_OK ? sq25_pipeline_push_links(p, rain, lonlat) : SQ25_OK;
    if (rc) st = cli_lib_error("run", ctx, rc);
    sq25_series_destroy(rain);
    free(lonlat);
    return st;
}

/* observation.h5: the merged analysis, with the merge's method and variogram in /how. */
static int write_observation(sq25_ctx *ctx, const run_args *a, const sq25_pipeline *p)
{
    const sq25_field *an = sq25_pipeline_analysis(p);
    sq25_merge_info info;
    int merged = sq25_pipeline_merge_info(p, &info) == SQ25_OK;
    char when[32];
    sq25_time_format(sq25_field_valid_time(sq25_pipeline_forecast(p, 0)) - sq25_pipeline_step_s(p),
                     when, sizeof when);
    if (!merged || !an) {
        fprintf(stderr, "sq25 run: %s: no sensor merged at %s (%d sensors with a value); the "
                        "nowcast is radar only\n", a->n_sensors ? a->sensors[0] : a->links, when,
                info.sensors_used);
        return CLI_OK;
    }
    char path[4096], json[512];
    join_path(path, sizeof path, a->out_dir, "observation.h5");
    sq25_merge_info_json(&info, json, sizeof json);
    sq25_odim_writer *w = NULL;
    int64_t t = sq25_field_valid_time(an);
    int rc = sq25_odim_writer_create(ctx, path, &w);
    if (!rc) rc = sq25_odim_writer_add(w, an, "RATE", t - sq25_pipeline_step_s(p), t);
    if (!rc) rc = sq25_odim_writer_set_how(w, "sq25_merge", json);
    if (rc) sq25_odim_writer_discard(w); /* nothing half-written; an old file stays */
    else rc = sq25_odim_writer_close(w);
    if (rc) return cli_lib_error("run", ctx, rc);
    printf("observation   %s (radar merged with %d sensors at %s, %s, variogram %s)\n", path,
           info.sensors_used, when, sq25_merge_method_name(info.method),
           info.variogram_source == SQ25_VARIOGRAM_SOURCE_FITTED           ? "fitted"
           : info.variogram_source == SQ25_VARIOGRAM_SOURCE_CLIMATOLOGICAL ? "climatological"
           : info.variogram_source == SQ25_VARIOGRAM_SOURCE_GIVEN          ? "given"
                                                                           : "none");
    return CLI_OK;
}

/* Observation, +30 and +60 minutes (or the last lead if the horizon is shorter), warning. */
/* latest_on_street: the newest frame already resampled onto the street grid (NULL: none). */
static int write_maps(sq25_ctx *ctx, const run_args *a, sq25_pipeline *p, sq25_warning *w,
                      const sq25_field *latest, const sq25_field *latest_on_street,
                      const sq25_field *merged, const sq25_field *street,
                      const sq25_targets *targets)
{
    progress(a, "sq25 run: %s", "drawing maps");
    char credit_line[200];
    const char *credit = cli_map_credit(latest, a->credit, credit_line, sizeof credit_line);
    int status = merged ? render_map(ctx, a, credit, merged, NULL, targets,
                                     "Observed rain rate mm/h radar+sensors", "observation.png")
                 : latest_on_street
                     ? render_map(ctx, a, credit, latest_on_street, NULL, targets,
                                  "Observed rain rate mm/h", "observation.png")
                     : render_map(ctx, a, credit, latest, street, targets,
                                  "Observed rain rate mm/h", "observation.png");
    int step_min = sq25_pipeline_step_s(p) / 60, n = sq25_pipeline_forecast_count(p);
    /* with a merge the leads are the merged ones, already on the street grid */
    bool use_merged = merged != NULL;
    int leads[2], n_maps = cli_map_leads(step_min, n, leads);
    for (int k = 0; status == CLI_OK && k < n_maps; k++) {
        int i = leads[k];
        char title[64], name[64];
        cli_map_lead_names(i, step_min, title, sizeof title, name, sizeof name);
        const sq25_field *grid, *lead = cli_map_lead_field(p, i, use_merged, street, &grid);
        status = render_map(ctx, a, credit, lead, grid, targets, title, name);
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
    if ((rc = write_forecast(ctx, p, path, a->compression))) return cli_lib_error("run", ctx, rc);
    printf("forecast      %s\n", path);
    if (sq25_pipeline_ensemble(p)) {
        join_path(path, sizeof path, a->out_dir, "ensemble.nc");
        progress(a, "sq25 run: writing %s", path);
        if ((rc = sq25_ensemble_write_netcdf(sq25_pipeline_ensemble(p), path)))
            return cli_lib_error("run", ctx, rc);
        printf("ensemble      %s\n", path);
    }
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

/* The files run writes into --out; none of them may be an input. */
static const char *const run_outputs[] = {"forecast.h5",     "warnings.geojson", "targets.geojson",
                                          "targets.csv",     "summary.json",     "observation.h5",
                                          "observation.png", "forecast_30.png",  "forecast_60.png",
                                          "warning.png"};

static int refuse_inputs_as_outputs(const run_args *a)
{
    const char *extra[2] = {a->targets_path, a->links};
    for (size_t k = 0; k < sizeof run_outputs / sizeof run_outputs[0]; k++) {
        char path[4096];
        join_path(path, sizeof path, a->out_dir, run_outputs[k]);
        int st = cli_refuse_input_as_output("run", path, a->radar, a->n_radar);
        if (st == CLI_OK) st = cli_refuse_input_as_output("run", path, a->sensors, a->n_sensors);
        if (st == CLI_OK) st = cli_refuse_input_as_output("run", path, extra, 2);
        if (st != CLI_OK) return st;
    }
    return CLI_OK;
}

/* Say so when the newest frame has no data at all, or none over the street grid: a warning
 * from such input would be a silent all-clear. */
static int warn_unseen(sq25_ctx *ctx, frame_entry latest, const sq25_field *street,
                       sq25_field **on_street)
{
    *on_street = NULL;
    if (cli_warn_if_no_data("run", latest.path, latest.field) || !street) return CLI_OK;
    int rc = cli_map_field(latest.field, street, on_street);
    if (rc) {
        sq25_field_destroy(*on_street);
        *on_street = NULL;
        return cli_lib_error("run", ctx, rc);
    }
    char what[4300];
    snprintf(what, sizeof what, "%s on the street grid (outside the radar's coverage?)",
             latest.path);
    cli_warn_if_no_data("run", what, *on_street);
    return CLI_OK; /* *on_street is kept for the observation map */
}

/* The pipeline keeps copies of the frames it uses; all but the newest (the observation map's
 * and the no-data check's) are released here, before the leads are computed, so that their
 * pages serve the leads instead of new ones (6 frames of 700 x 700: 9.8 MB). */
static void release_older_frames(frame_entry *frames, int n)
{
    for (int i = 0; i + 1 < n; i++) {
        sq25_field_destroy(frames[i].field);
        frames[i].field = NULL;
    }
}

static int make_dir(const char *dir)
{
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) return CLI_OK;
    return cli_error("run", "%s: cannot create the output folder: %s", dir, strerror(errno));
}

/* The grids of a cycle (radar and street leads, warning tables: about 75 MB for the demo)
 * come from one heap in transparent huge pages where Linux offers them (THP "madvise" or
 * "always"): a page fault then clears 2 MiB instead of 4 KiB, and the demo cycle's 21 000
 * page faults (a sixth of its CPU time, most of it the kernel's) become about 3 500. Blocks
 * of any size come from the heap (mmap threshold raised), which grows HEAP_STEP at a time
 * and keeps what is freed; that range is marked for huge pages. Results do not change;
 * where any of this is missing the heap stays as it was. The deterministic cycle only: the
 * ensemble's members allocate on the pool's threads, in their own arenas. */
#define HEAP_STEP ((size_t)128 << 20)
#define HUGE_PAGE_BYTES ((uintptr_t)2 << 20)
static void heap_in_huge_pages(void)
{
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD) && defined(M_TOP_PAD) && defined(MADV_HUGEPAGE)
    if (!mallopt(M_MMAP_THRESHOLD, (int)(HEAP_STEP / 2)) || !mallopt(M_TOP_PAD, (int)HEAP_STEP) ||
        !mallopt(M_TRIM_THRESHOLD, (int)(2 * HEAP_STEP)))
        return;
    void *probe = malloc(HEAP_STEP / 4); /* the heap now reaches HEAP_STEP past it */
    if (!probe) return;
    const uintptr_t from = ((uintptr_t)probe + HUGE_PAGE_BYTES - 1) & ~(HUGE_PAGE_BYTES - 1);
    const uintptr_t to = (uintptr_t)sbrk(0) & ~(HUGE_PAGE_BYTES - 1);
    if (to > from) madvise((void *)from, to - from, MADV_HUGEPAGE); /* a hint: failure is fine */
    free(probe);
#endif
}

int cmd_run(int argc, char **argv)
{
    run_args a;
    int status = parse_args(argc, argv, &a);
    if (status != CLI_OK) {
        free(a.radar);
        free(a.sensors);
        return status;
    }
    if (a.members == 0) heap_in_huge_pages(); /* the ensemble's members have heaps of their own */
    sq25_ctx *ctx = cli_ctx("run");
    frame_entry *frames = NULL;
    int n_frames = 0;
    sq25_pipeline *p = NULL;
    sq25_targets *targets = NULL;
    sq25_field *street = NULL;
    sq25_warning *w = NULL;
    if (!ctx) status = CLI_FAIL;
    if (status == CLI_OK) status = make_dir(a.out_dir);
    if (status == CLI_OK && sq25_ctx_set_threads(ctx, a.threads))
        status = cli_lib_error("run", ctx, sq25_errcode(ctx));
    if (status == CLI_OK && sq25_pipeline_create(ctx, &p)) status = cli_lib_error("run", ctx, sq25_errcode(ctx));
    if (status == CLI_OK) status = configure(ctx, p, &a, &targets, &street);
    if (status == CLI_OK) status = refuse_inputs_as_outputs(&a);
    if (status == CLI_OK) status = read_frames(ctx, &a, &frames, &n_frames);
    if (status == CLI_OK && a.n_sensors) status = push_sensors(ctx, &a, p);
    if (status == CLI_OK && a.links) status = push_links(ctx, &a, p, frames, n_frames);
    if (status == CLI_OK) status = feed_pipeline(ctx, p, frames, n_frames);
    if (status == CLI_OK) release_older_frames(frames, n_frames);
    sq25_field *latest_on_street = NULL; /* the newest frame resampled, NULL without a grid */
    if (status == CLI_OK)
        status = warn_unseen(ctx, frames[n_frames - 1], street, &latest_on_street);
    if (status == CLI_OK) {
        progress(&a, "sq25 run: %s", "motion, extrapolation, warnings");
        int rc = sq25_pipeline_run(p, &w);
        if (rc) status = cli_lib_error("run", ctx, rc);
    }
    /* Every input (sensors included, pushed above) is read and checked before the first
     * output is written. */
    if (status == CLI_OK) {
        progress(&a, "%s", "");
        if (!a.quiet && isatty(2)) fputc('\r', stderr);
        status = write_outputs(ctx, &a, p, w);
    }
    if (status == CLI_OK && (a.n_sensors || a.links)) status = write_observation(ctx, &a, p);
    if (status == CLI_OK && !a.no_maps)
        status = write_maps(ctx, &a, p, w, frames[n_frames - 1].field, latest_on_street,
                            sq25_pipeline_analysis(p), street, targets);
    sq25_field_destroy(latest_on_street);
    sq25_warning_destroy(w);
    sq25_field_destroy(street);
    sq25_targets_destroy(targets);
    sq25_pipeline_destroy(p);
    for (int i = 0; frames && i < n_frames; i++) sq25_field_destroy(frames[i].field);
    free(frames);
    free(a.radar);
    free(a.sensors);
    sq25_ctx_destroy(ctx);
    return status;
}
