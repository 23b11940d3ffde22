/* cmd_nowcast.c -- sq25 nowcast FILE... : motion from the latest frames, extrapolation of the
 * latest frame to every time step up to the lead, one ODIM_H5 file with every lead and the
 * motion. */
#include "cli.h"

#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char cmd_nowcast_usage[] =
    "usage: sq25 nowcast FILE... [--leads MIN] [--method lk|dense] [--frames N]\n"
    "                    [--substeps K] [--time T] [--zr A,B] [--ceiling MMH]\n"
    "                    [--compression L] [--threads T]\n"
    "                    --out FORECAST.h5 [--json]\n"
    "       sq25 nowcast FILE... --members M [--seed N] [--cascade-levels L] [--threads T]\n"
    "                    [--noise nonparametric|powerlaw] [--noise-gain G] [--neighbourhood C]\n"
    "                    [--control-weight W] [--probability-shrink KNEE,RATE]\n"
    "                    [--no-motion-perturbation]\n"
    "                    [--quantiles LIST] [--keep-members] [--leads MIN] --out ENSEMBLE.nc\n"
    "                    [--json]\n"
    "  Estimate the motion from the N latest frames (by valid time; default 3) and extrapolate\n"
    "  the latest one (backward semi-Lagrangian, bilinear) at every input time step up to\n"
    "  --leads minutes (default 60). Frames must share one grid and one time step.\n"
    "  --method   motion method: dense (default; multiscale least squares) or lk (sparse\n"
    "             Lucas-Kanade as in pysteps)\n"
    "  --substeps trajectory sub-steps per time step (default 2)\n"
    "  --compression  deflate level of the output, 0 (none, fastest) to 9 (smallest); the\n"
    "             default 1 (with byte shuffle) suits a real-time cycle\n"
    "  --threads  threads to use, 0 = one per online CPU (default); results do not change\n"
    "  --out      ODIM_H5 output: dataset1..datasetN = RATE (mm/h) at each lead in lead order,\n"
    "             then dataset N+1 = UMOTION and N+2 = VMOTION (pixels per time step, columns\n"
    "             to the east and rows to the south)\n"
    "  --json     a JSON summary on stdout (times, motion statistics, per-lead rain)\n"
    "  Each lead is written as soon as it is computed (only one lead is in memory).\n"
    "  --time T   issue time: only frames valid at or before T are used (every frame of every\n"
    "             FILE is read: a file may hold several, e.g. CF (time, y, x) or a tar)\n"
    "  --members  a STEPS-class ensemble of M members (1..1000) instead: CF-1.8 netCDF-4\n"
    "             output with exceedance probabilities (1, 5, 10, 20 mm/h), mean and\n"
    "             the --quantiles per lead, and the same for 15/30/60-min amounts\n"
    "             (--substeps sub-steps per step); needs 3 frames (docs/ensemble.md)\n"
    "  --seed     random seed (default 24): the same seed gives the same members\n"
    "  --cascade-levels  cascade levels 2..10 (default 6)\n"
    "  --quantiles LIST  comma-separated probabilities, e.g. 0.5,0.9 (default none)\n"
    "  --noise-gain G  factor on the cascade noise (default: the library's)\n"
    "  --neighbourhood C  blend: probabilities averaged over a square window of half side\n"
    "             ceil(C x lead steps) cells (default: the library's)\n"
    "  --control-weight W  weight in [0, 1) of the unperturbed extrapolation beside the\n"
    "             members in the probabilities (default: the library's; docs/ensemble.md\n"
    "             has the defaults and the measured effect of the three options)\n"
    "  --probability-shrink KNEE,RATE  probabilities above KNEE in [0, 1) scaled by\n"
    "             max(0, 1 - RATE x lead / 60 min), RATE per hour in [0, 10] (default: off;\n"
    "             docs/ensemble.md, Session 5: skill)\n"
    "  --keep-members  also write every member (dimension member)\n";

#define NOWCAST_MAX_FILES 1000
#define NOWCAST_WET_MMH 0.1

typedef struct {
    int lead_minutes, n_frames, substeps, method, json, compression;
    int members, cascade_levels, threads, noise, perturb, keep, n_quantiles;
    double noise_gain, neighbourhood, control_weight; /* < 0: the library's default */
    double shrink_knee, shrink_rate; /* rate < 0: the library's default (no shrink) */
    double quantiles[SQ25_ENSEMBLE_MAX_QUANTILES];
    unsigned long long seed;
    const char *out_path, *time;
    const char *files[NOWCAST_MAX_FILES];
    int n_files;
} nowcast_args;

static int parse_int_option(const char *cmd, const char *name, const char *text, int lo,
                            int hi, int *out)
{
    char *end = NULL;
    long v = text ? strtol(text, &end, 10) : 0;
    if (!text || *end || v < lo || v > hi)
        return cli_usage_error(cmd, "%s needs an integer from %d to %d", name, lo, hi);
    *out = (int)v;
    return CLI_OK;
}

static int parse_args(int argc, char **argv, nowcast_args *a)
{
    const char *cmd = argv[0];
    *a = (nowcast_args){.lead_minutes = 60, .n_frames = 3, .substeps = 2,
                        .method = SQ25_MOTION_DENSE, .compression = 1, .cascade_levels = 6,
                        .seed = 24, .noise = SQ25_ENSEMBLE_NOISE_NONPARAMETRIC, .perturb = 1,
                        .noise_gain = -1, .neighbourhood = -1, .control_weight = -1,
                        .shrink_rate = -1};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = CLI_OK;
        if (cli_reader_option(argc, argv, &i, &rc)) {
            if (rc) return rc;
            continue;
        }
        if (strcmp(arg, "--json") == 0) a->json = 1;
        else if (strcmp(arg, "--time") == 0) {
            if (!next) return cli_usage_error(cmd, "--time needs a time");
            a->time = next;
            i++;
        } else if (strcmp(arg, "--leads") == 0)
            rc = parse_int_option(cmd, arg, next, 1, 1440, &a->lead_minutes), i++;
        else if (strcmp(arg, "--frames") == 0)
            rc = parse_int_option(cmd, arg, next, 2, 16, &a->n_frames), i++;
        else if (strcmp(arg, "--substeps") == 0)
            rc = parse_int_option(cmd, arg, next, 1, 60, &a->substeps), i++;
        else if (strcmp(arg, "--compression") == 0)
            rc = parse_int_option(cmd, arg, next, 0, 9, &a->compression), i++;
        else if (strcmp(arg, "--threads") == 0)
            rc = parse_int_option(cmd, arg, next, 0, 256, &a->threads), i++;
        else if (strcmp(arg, "--members") == 0)
            rc = parse_int_option(cmd, arg, next, 1, SQ25_ENSEMBLE_MAX_MEMBERS, &a->members), i++;
        else if (strcmp(arg, "--cascade-levels") == 0)
            rc = parse_int_option(cmd, arg, next, 2, 10, &a->cascade_levels), i++;
        else if (strcmp(arg, "--keep-members") == 0) a->keep = 1;
        else if (strcmp(arg, "--neighbourhood") == 0) {
            char *end = NULL;
            a->neighbourhood = next ? strtod(next, &end) : -1;
            if (!next || *end || !(a->neighbourhood >= 0 && a->neighbourhood <= 100))
                return cli_usage_error(cmd, "--neighbourhood needs cells per lead step in [0, 100]");
            i++;
        } else if (strcmp(arg, "--probability-shrink") == 0) {
            int used = 0;
            if (!next || sscanf(next, "%lf,%lf%n", &a->shrink_knee, &a->shrink_rate, &used) != 2 ||
                next[used] || !(a->shrink_knee >= 0 && a->shrink_knee < 1) ||
                !(a->shrink_rate >= 0 && a->shrink_rate <= 10))
                return cli_usage_error(cmd, "--probability-shrink needs KNEE,RATE with KNEE in "
                                            "[0, 1) and RATE per hour in [0, 10]");
            i++;
        } else if (strcmp(arg, "--control-weight") == 0) {
            char *end = NULL;
            a->control_weight = next ? strtod(next, &end) : -1;
            if (!next || *end || !(a->control_weight >= 0 && a->control_weight < 1))
                return cli_usage_error(cmd, "--control-weight needs a weight in [0, 1)");
            i++;
        } else if (strcmp(arg, "--noise-gain") == 0) {
            char *end = NULL;
            a->noise_gain = next ? strtod(next, &end) : 0;
            if (!next || *end || !(a->noise_gain > 0 && a->noise_gain <= 10))
                return cli_usage_error(cmd, "--noise-gain needs a factor in (0, 10]");
            i++;
        }
        else if (strcmp(arg, "--quantiles") == 0) {
            const char *p = next;
            a->n_quantiles = 0;
            while (p && *p) {
                char *end = NULL;
                double q = strtod(p, &end);
                if (end == p || !(q >= 0 && q <= 1) || a->n_quantiles >= SQ25_ENSEMBLE_MAX_QUANTILES ||
                    (*end && *end != ','))
                    return cli_usage_error(cmd, "--quantiles needs probabilities in [0, 1], e.g. 0.5,0.9");
                a->quantiles[a->n_quantiles++] = q;
                p = *end ? end + 1 : end;
            }
            if (!next || a->n_quantiles == 0)
                return cli_usage_error(cmd, "--quantiles needs probabilities in [0, 1], e.g. 0.5,0.9");
            i++;
        }
        else if (strcmp(arg, "--no-motion-perturbation") == 0) a->perturb = 0;
        else if (strcmp(arg, "--seed") == 0) {
            char *end = NULL;
            if (!next || !*next || next[0] == '-')
                return cli_usage_error(cmd, "--seed needs a non-negative integer");
            a->seed = strtoull(next, &end, 10);
            if (*end) return cli_usage_error(cmd, "--seed needs a non-negative integer");
            i++;
        } else if (strcmp(arg, "--noise") == 0) {
            if (next && strcmp(next, "nonparametric") == 0) a->noise = SQ25_ENSEMBLE_NOISE_NONPARAMETRIC;
            else if (next && strcmp(next, "powerlaw") == 0) a->noise = SQ25_ENSEMBLE_NOISE_POWERLAW;
            else return cli_usage_error(cmd, "--noise needs nonparametric or powerlaw");
            i++;
        } else if (strcmp(arg, "--method") == 0) {
            if (!next || sq25_motion_method_from_name(next, &a->method) != SQ25_OK)
                return cli_usage_error(cmd, "--method needs lk or dense");
            i++;
        } else if (strcmp(arg, "--out") == 0) {
            if (!next) return cli_usage_error(cmd, "--out needs a file name");
            a->out_path = next;
            i++;
        } else if (arg[0] == '-' && arg[1] == '-')
            return cli_usage_error(cmd, "unknown option %s", arg);
        else if (a->n_files >= NOWCAST_MAX_FILES) return cli_usage_error(cmd, "too many files");
        else a->files[a->n_files++] = arg;
        if (rc) return rc;
    }
    if (a->n_files < 1) return cli_usage_error(cmd, "needs input files");
    if (!a->out_path) return cli_usage_error(cmd, "needs --out FILE");
    if (a->members && a->n_frames < 3)
        return cli_usage_error(cmd, "--members needs --frames 3 or more (AR(2) needs 3 frames)");
    return cli_refuse_input_as_output(cmd, a->out_path, a->files, a->n_files);
}

static int by_valid_time(const void *a, const void *b)
{
    int64_t ta = sq25_field_valid_time(*(sq25_field *const *)a);
    int64_t tb = sq25_field_valid_time(*(sq25_field *const *)b);
    return (ta > tb) - (ta < tb);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
}

/* Rain statistics of one lead, for the JSON summary. */
typedef struct {
    int64_t valid_time;
    double max, mean, wet, nodata;
} lead_stats;

/* Extrapolate lead after lead into one field and write each as it is computed (RATE), then
 * the motion (UMOTION, VMOTION) through the same field: one grid in memory besides the
 * inputs and the motion. The latest frame is destroyed (and *latest set to NULL) once the
 * last lead is made, before the motion fields, which compress worst, are written. */
static int stream_forecast(sq25_ctx *ctx, const char *cmd, const nowcast_args *a,
                           sq25_field **latest, int n_leads, int step_s, const float *u,
                           const float *v, lead_stats *stats, double *advect_s)
{
    const size_t n = (size_t)sq25_field_width(*latest) * (size_t)sq25_field_height(*latest);
    const int64_t issue = sq25_field_valid_time(*latest);
    sq25_odim_writer *w = NULL;
    sq25_extrapolator *ex = NULL;
    sq25_field *lead = NULL;
    int rc = sq25_odim_writer_create(ctx, a->out_path, &w);
    if (rc == SQ25_OK) rc = sq25_odim_writer_set_compression(w, a->compression);
    if (rc == SQ25_OK) rc = sq25_extrapolator_create(ctx, *latest, u, v, a->substeps, &ex);
    if (rc == SQ25_OK) rc = sq25_field_clone(*latest, &lead);
    *advect_s = 0;
    for (int k = 0; rc == SQ25_OK && k < n_leads; k++) {
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = sq25_extrapolator_next(ex, sq25_field_data(lead));
        *advect_s += seconds_since(&t0);
        if (rc) break;
        const int64_t t = issue + (int64_t)(k + 1) * step_s;
        sq25_field_set_valid_time(lead, t);
        if (a->json) {
            stats[k].valid_time = t;
            sq25_field_stats(lead, NOWCAST_WET_MMH, &stats[k].max, &stats[k].mean,
                             &stats[k].wet, &stats[k].nodata);
        }
        rc = sq25_odim_writer_add(w, lead, "RATE", t - step_s, t);
    }
    sq25_extrapolator_destroy(ex);
    sq25_field_destroy(*latest);
    *latest = NULL;
    const float *motion[2] = {u, v};
    const char *names[2] = {"UMOTION", "VMOTION"};
    for (int k = 0; rc == SQ25_OK && k < 2; k++) {
        memcpy(sq25_field_data(lead), motion[k], n * sizeof(float));
        sq25_field_set_valid_time(lead, issue);
        rc = sq25_odim_writer_add(w, lead, names[k], issue - step_s, issue);
    }
    sq25_field_destroy(lead);
    if (rc == SQ25_OK) rc = sq25_odim_writer_close(w);
    else sq25_odim_writer_discard(w); /* nothing half-written; an old file stays */
    return rc ? cli_lib_error(cmd, ctx, rc) : CLI_OK;
}

static void print_json(const nowcast_args *a, int64_t issue_time, size_t n,
                       const lead_stats *stats, int n_leads, int step_s, const float *u,
                       const float *v, double motion_s, double advect_s)
{
    double su = 0, sv = 0, max_speed = 0;
    for (size_t i = 0; i < n; i++) {
        su += u[i];
        sv += v[i];
        double s = hypot(u[i], v[i]);
        if (s > max_speed) max_speed = s;
    }
    char issue[32];
    sq25_time_format(issue_time, issue, sizeof issue);
    printf("{\n  \"issue_time\": ");
    cli_json_string(stdout, issue);
    printf(",\n  \"step_s\": %d,\n  \"method\": \"%s\",\n  \"output\": ", step_s,
           a->method == SQ25_MOTION_LK ? "lk" : "dense");
    cli_json_string(stdout, a->out_path);
    printf(",\n  \"motion\": {\"mean_u_px_per_step\": ");
    cli_json_number(stdout, su / (double)n);
    printf(", \"mean_v_px_per_step\": ");
    cli_json_number(stdout, sv / (double)n);
    printf(", \"max_speed_px_per_step\": ");
    cli_json_number(stdout, max_speed);
    printf("},\n  \"seconds\": {\"motion\": ");
    cli_json_number(stdout, motion_s);
    printf(", \"extrapolation\": ");
    cli_json_number(stdout, advect_s);
    printf("},\n  \"leads\": [\n");
    for (int k = 0; k < n_leads; k++) {
        char t[32];
        sq25_time_format(stats[k].valid_time, t, sizeof t);
        printf("    {\"lead_min\": %d, \"valid_time\": ", (k + 1) * step_s / 60);
        cli_json_string(stdout, t);
        printf(", \"max_mmh\": ");
        cli_json_number(stdout, stats[k].max);
        printf(", \"mean_mmh\": ");
        cli_json_number(stdout, stats[k].mean);
        printf(", \"wet_fraction\": ");
        cli_json_number(stdout, stats[k].wet);
        printf(", \"nodata_fraction\": ");
        cli_json_number(stdout, stats[k].nodata);
        printf("}%s\n", k + 1 < n_leads ? "," : "");
    }
    printf("  ]\n}\n");
}

/* Read every frame of every file (those valid up to --time), keep the latest n_frames by
 * valid time, check the time step. */
static int read_inputs(sq25_ctx *ctx, const char *cmd, const nowcast_args *a, cli_frames *in,
                       int *step_s)
{
    int64_t until = 0;
    if (a->time && sq25_time_parse(a->time, &until) != SQ25_OK)
        return cli_usage_error(cmd, "cannot parse --time '%s'", a->time);
    int rc = cli_read_frames(cmd, ctx, a->files, a->n_files,
                             a->time ? CLI_FRAMES_UNTIL : CLI_FRAMES_ALL, until, in);
    if (rc) return rc;
    qsort(in->fields, (size_t)in->count, sizeof *in->fields, by_valid_time);
    if (in->count < a->n_frames)
        return cli_error(cmd, "%d frames needed, %d given", a->n_frames, in->count);
    sq25_field **used = in->fields + (in->count - a->n_frames);
    int64_t step = sq25_field_valid_time(used[1]) - sq25_field_valid_time(used[0]);
    for (int k = 1; k < a->n_frames; k++) {
        const char *prev = sq25_field_meta(used[k - 1], SQ25_META_PATH);
        const char *this = sq25_field_meta(used[k], SQ25_META_PATH);
        if (!cli_same_grid(used[k], used[0])) {
            char g0[160], gk[160];
            cli_grid_text(used[0], g0, sizeof g0);
            cli_grid_text(used[k], gk, sizeof gk);
            return cli_error(cmd, "frames on different grids: %s has %s, %s has %s",
                             sq25_field_meta(used[0], SQ25_META_PATH), g0, this, gk);
        }
        int64_t dt = sq25_field_valid_time(used[k]) - sq25_field_valid_time(used[k - 1]);
        if (dt <= 0 || dt != step || dt > 86400) {
            char t0[32], t1[32];
            sq25_time_format(sq25_field_valid_time(used[k - 1]), t0, sizeof t0);
            sq25_time_format(sq25_field_valid_time(used[k]), t1, sizeof t1);
            return cli_error(cmd, "frames must be distinct and evenly spaced in time: %s (%s) "
                                  "then %s (%s) are %lld s apart, the first step is %lld s",
                             prev, t0, this, t1, (long long)dt, (long long)step);
        }
    }
    *step_s = (int)step;
    if ((a->lead_minutes * 60) % *step_s != 0)
        return cli_error(cmd, "--leads %d min is not a multiple of the %d s time step",
                         a->lead_minutes, *step_s);
    char what[600];
    snprintf(what, sizeof what, "%s (the newest frame)",
             sq25_field_meta(used[a->n_frames - 1], SQ25_META_PATH));
    cli_warn_if_no_data(cmd, what, used[a->n_frames - 1]);
    return CLI_OK;
}

/* Ensemble options from the command line. */
static int ensemble_options(sq25_ctx *ctx, const nowcast_args *a, sq25_ensemble_options **out)
{
    int rc = sq25_ensemble_options_create(ctx, out);
    if (!rc) rc = sq25_ensemble_options_set_members(*out, a->members);
    if (!rc) rc = sq25_ensemble_options_set_seed(*out, (uint64_t)a->seed);
    if (!rc) rc = sq25_ensemble_options_set_cascade_levels(*out, a->cascade_levels);
    if (!rc) rc = sq25_ensemble_options_set_threads(*out, a->threads);
    if (!rc) rc = sq25_ensemble_options_set_noise(*out, a->noise);
    if (!rc && a->noise_gain >= 0) rc = sq25_ensemble_options_set_noise_gain(*out, a->noise_gain);
    if (!rc && a->neighbourhood >= 0) rc = sq25_ensemble_options_set_neighbourhood(*out, a->neighbourhood);
    if (!rc && a->control_weight >= 0)
        rc = sq25_ensemble_options_set_control_weight(*out, a->control_weight);
    if (!rc && a->shrink_rate >= 0)
        rc = sq25_ensemble_options_set_probability_shrink(*out, a->shrink_knee, a->shrink_rate);
    if (!rc) rc = sq25_ensemble_options_set_motion_perturbation(*out, a->perturb);
    if (!rc) rc = sq25_ensemble_options_set_substeps(*out, a->substeps);
    if (!rc) rc = sq25_ensemble_options_set_keep_members(*out, a->keep);
    if (!rc && a->n_quantiles) rc = sq25_ensemble_options_set_quantiles(*out, a->n_quantiles, a->quantiles);
    /* windows the leads reach */
    int minutes[3] = {15, 30, 60}, count = 0;
    for (int k = 0; k < 3; k++)
        if (minutes[k] <= a->lead_minutes) minutes[count++] = minutes[k];
    if (!rc) rc = sq25_ensemble_options_set_accumulations(*out, count, minutes);
    return rc;
}

static void print_ensemble_json(const nowcast_args *a, const sq25_ensemble *e, double motion_s,
                                double ensemble_s, double write_s)
{
    char issue[32];
    sq25_time_format(sq25_ensemble_issue_time(e), issue, sizeof issue);
    printf("{\n  \"issue_time\": ");
    cli_json_string(stdout, issue);
    printf(",\n  \"step_s\": %d,\n  \"members\": %d,\n  \"seed\": %llu,\n  \"output\": ",
           sq25_ensemble_step_s(e), sq25_ensemble_member_count(e), a->seed);
    cli_json_string(stdout, a->out_path);
    printf(",\n  \"seconds\": {\"motion\": ");
    cli_json_number(stdout, motion_s);
    printf(", \"ensemble\": ");
    cli_json_number(stdout, ensemble_s);
    printf(", \"write\": ");
    cli_json_number(stdout, write_s);
    printf(", \"write_overlapped\": true},\n  \"cascade\": [\n");
    const int levels = sq25_ensemble_cascade_levels(e);
    for (int k = 0; k < levels; k++) {
        double wn, g1, g2, p1, p2;
        sq25_ensemble_level_parameters(e, k, &wn, &g1, &g2, &p1, &p2);
        printf("    {\"wavenumber\": ");
        cli_json_number(stdout, wn);
        printf(", \"gamma1\": ");
        cli_json_number(stdout, g1);
        printf(", \"gamma2\": ");
        cli_json_number(stdout, g2);
        printf(", \"phi1\": ");
        cli_json_number(stdout, p1);
        printf(", \"phi2\": ");
        cli_json_number(stdout, p2);
        printf("}%s\n", k + 1 < levels ? "," : "");
    }
    printf("  ],\n  \"leads\": [\n");
    const int n_leads = sq25_ensemble_lead_count(e);
    for (int k = 0; k < n_leads; k++) {
        double mean, wet;
        sq25_field_stats(sq25_ensemble_mean(e, k), NOWCAST_WET_MMH, NULL, &mean, &wet, NULL);
        double pmax;
        sq25_field_stats(sq25_ensemble_probability(e, k, 0), 0, &pmax, NULL, NULL, NULL);
        printf("    {\"lead_min\": %d, \"mean_mmh\": ", (k + 1) * sq25_ensemble_step_s(e) / 60);
        cli_json_number(stdout, mean);
        printf(", \"max_probability_1mmh\": ");
        cli_json_number(stdout, pmax);
        printf("}%s\n", k + 1 < n_leads ? "," : "");
    }
    printf("  ]\n}\n");
}

static int run_ensemble(sq25_ctx *ctx, const char *cmd, const nowcast_args *a,
                        const sq25_field *const *frames, int step_s, const float *u,
                        const float *v, double motion_s)
{
    sq25_ensemble_options *opt = NULL;
    sq25_ensemble *e = NULL;
    struct timespec t0;
    int lrc = ensemble_options(ctx, a, &opt);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* the file is written as the leads end (its compression overlaps the later leads), so
     * the ensemble's seconds include the write; the result is kept only for the JSON (else
     * each grid is freed once stored) */
    if (!lrc) lrc = sq25_ensemble_run_netcdf(ctx, opt, frames, a->n_frames, u, v,
                                             a->lead_minutes * 60 / step_s, a->out_path,
                                             a->json ? &e : NULL);
    double ensemble_s = seconds_since(&t0), write_s = 0;
    int rc = lrc ? cli_lib_error(cmd, ctx, lrc) : CLI_OK;
    if (!rc && a->json) print_ensemble_json(a, e, motion_s, ensemble_s, write_s);
    sq25_ensemble_destroy(e);
    sq25_ensemble_options_destroy(opt);
    return rc;
}

/* Blocks of 256 KiB or more (every grid) get their own mapping and go back to the system
 * when freed. glibc's default threshold rises to the size of the first large block freed,
 * after which the frames, the pyramid levels and the raw read buffers come from the heap
 * and their freed pages stay resident beside the next stage's (about 2 MiB more peak RSS
 * on the 700 x 700 RMI nowcast). Each grid is allocated a few times per run, so the fresh
 * pages cost little. The ensemble too: its streamed file frees each result grid once stored,
 * which returns memory only from its own mapping (20 members x 12 leads on 700 x 700: peak
 * RSS 378 MB instead of 501 MB, 11 % more page faults). */
static void return_large_blocks_at_once(void)
{
#ifdef M_MMAP_THRESHOLD
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
}

static int run_nowcast(sq25_ctx *ctx, const char *cmd, const nowcast_args *a, cli_frames *in)
{
    return_large_blocks_at_once();
    int step_s = 0, rc = read_inputs(ctx, cmd, a, in, &step_s);
    if (rc) return rc;
    const sq25_field *const *frames =
        (const sq25_field *const *)(in->fields + in->count - a->n_frames);
    const sq25_field *latest = frames[a->n_frames - 1];
    const size_t n = (size_t)sq25_field_width(latest) * (size_t)sq25_field_height(latest);
    const int n_leads = a->lead_minutes * 60 / step_s;
    float *u = malloc(n * sizeof *u), *v = malloc(n * sizeof *v);
    lead_stats *stats = calloc((size_t)n_leads, sizeof *stats);
    sq25_motion_options *opt = NULL;
    if (!u || !v || !stats) rc = cli_error(cmd, "out of memory");
    int lrc = rc ? SQ25_OK : sq25_ctx_set_threads(ctx, a->threads);
    if (!lrc && !rc) lrc = sq25_motion_options_create(ctx, &opt);
    if (!lrc && !rc) lrc = sq25_motion_options_set_method(opt, a->method);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!lrc && !rc) lrc = sq25_motion_estimate(ctx, frames, a->n_frames, opt, u, v);
    double motion_s = seconds_since(&t0), advect_s = 0;
    if (a->members && !lrc && !rc) {
        rc = run_ensemble(ctx, cmd, a, frames, step_s, u, v, motion_s);
        sq25_motion_options_destroy(opt);
        free(stats);
        free(u);
        free(v);
        return rc;
    }
    /* only the latest frame is extrapolated: the others leave memory before the leads come */
    for (int i = 0; i < in->count - 1; i++) {
        sq25_field_destroy(in->fields[i]);
        in->fields[i] = NULL;
    }
    if (lrc) rc = cli_lib_error(cmd, ctx, lrc);
    const int64_t issue_time = sq25_field_valid_time(latest);
    if (!rc)
        rc = stream_forecast(ctx, cmd, a, &in->fields[in->count - 1], n_leads, step_s, u, v,
                             stats, &advect_s);
    if (!rc && a->json) print_json(a, issue_time, n, stats, n_leads, step_s, u, v, motion_s, advect_s);
    sq25_motion_options_destroy(opt);
    free(stats);
    free(u);
    free(v);
    return rc;
}

int cmd_nowcast(int argc, char **argv)
{
    const char *cmd = argv[0];
    nowcast_args *a = malloc(sizeof *a);
    if (!a) return cli_error(cmd, "out of memory");
    int rc = parse_args(argc, argv, a);
    if (rc) {
        free(a);
        return rc;
    }
    sq25_ctx *ctx = cli_ctx(cmd);
    cli_frames in = {0};
    if (!ctx) rc = CLI_FAIL;
    else rc = run_nowcast(ctx, cmd, a, &in);
    cli_frames_free(&in);
    sq25_ctx_destroy(ctx);
    free(a);
    return rc;
}
