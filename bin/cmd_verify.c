/* cmd_verify.c -- sq25 verify FORECAST OBS... : scores of every lead of a forecast file
 * against the observation of the same valid time. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char cmd_verify_usage[] =
    "usage: sq25 verify FORECAST OBS... [--thresholds LIST] [--fss-threshold MMH]\n"
    "                   [--fss-windows LIST] [--time T] [--zr A,B] [--ceiling MMH] [--json]\n"
    "  Score each lead of FORECAST (a file written by sq25 nowcast, or any file of several\n"
    "  frames such as a DWD RADVOR RV tar.bz2) against the observation frame of the same valid\n"
    "  time among every frame of the OBS files; leads without an observation are skipped;\n"
    "  --time T scores only the lead valid at T. On the cells valid in\n"
    "  both: POD, FAR, CSI per threshold (event = rate > threshold) and MAE (mm/h). FSS\n"
    "  (Roberts and Lean 2008; event = rate >= threshold, nodata = no event, square window\n"
    "  zero-padded at the edges) for each window.\n"
    "  Persistence (the OBS file at the issue time, first lead minus one step, held fixed) is\n"
    "  scored the same way beside the forecast (columns p:...) when that file is among OBS.\n"
    "  --thresholds     comma-separated mm/h (default 1,5,10,20)\n"
    "  --fss-threshold  mm/h (default 5)\n"
    "  --fss-windows    comma-separated odd pixel counts (default 5,15)\n"
    "  --json           one JSON object on stdout\n"
    "       sq25 verify --ensemble ENSEMBLE.nc OBS... [--json]\n"
    "  Probabilistic scores of an ensemble file (sq25 nowcast --members) on the cells valid in\n"
    "  the observation and the forecast: Brier score (event = rate > threshold), ROC area (10\n"
    "  probability thresholds, trapezoid) and reliability table (10 bins: count, observed\n"
    "  frequency, mean probability) per threshold; with --keep-members files also CRPS (mm/h)\n"
    "  and the rank histogram, and (files of 1.4 on, which hold the control member) the CRPS\n"
    "  of the distribution the probabilities describe (crps_shipped: the members pooled over\n"
    "  the file's window plus the control member at its weight; null when the file's\n"
    "  probabilities were shrunk, --probability-shrink).\n";

#define VERIFY_MAX_LIST 16

typedef struct {
    double thresholds[VERIFY_MAX_LIST];
    int n_thresholds;
    double fss_threshold;
    int fss_windows[VERIFY_MAX_LIST];
    int n_windows;
    int json;
    const char *forecast, *time;
    const char **obs;
    int n_obs;
} verify_args;

/* Scores of one lead. */
typedef struct {
    int lead_index;
    int64_t valid_time;
    double pod[VERIFY_MAX_LIST], far[VERIFY_MAX_LIST], csi[VERIFY_MAX_LIST];
    double fss[VERIFY_MAX_LIST], mae;
} scores_t;

/* Scores of one lead: the forecast's and, when the issue-time observation is given, those of
 * persistence (that observation as the forecast of every lead). */
typedef struct {
    int lead_index;
    int64_t valid_time;
    scores_t forecast, persistence;
    bool has_persistence;
} lead_scores;

static int parse_list(const char *cmd, const char *name, const char *text, double *out, int *n)
{
    *n = 0;
    if (!text) return cli_usage_error(cmd, "%s needs a value", name);
    const char *p = text;
    while (*p) {
        char *end = NULL;
        double v = strtod(p, &end);
        if (end == p || !(v >= 0) || *n >= VERIFY_MAX_LIST || (*end && *end != ','))
            return cli_usage_error(cmd, "%s: cannot read '%s'", name, text);
        out[(*n)++] = v;
        p = *end ? end + 1 : end;
    }
    return *n ? CLI_OK : cli_usage_error(cmd, "%s is empty", name);
}

static int parse_args(int argc, char **argv, verify_args *a)
{
    const char *cmd = argv[0];
    memset(a, 0, sizeof *a);
    a->n_thresholds = 4;
    a->thresholds[0] = 1, a->thresholds[1] = 5, a->thresholds[2] = 10, a->thresholds[3] = 20;
    a->fss_threshold = 5;
    a->n_windows = 2;
    a->fss_windows[0] = 5, a->fss_windows[1] = 15;
    a->obs = calloc((size_t)argc, sizeof *a->obs);
    if (!a->obs) return cli_error(cmd, "out of memory");
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = CLI_OK;
        if (cli_reader_option(argc, argv, &i, &rc)) {
            if (rc) return rc;
            continue;
        }
        if (strcmp(arg, "--json") == 0) a->json = 1;
        else if (strcmp(arg, "--time") == 0 && next) a->time = next, i++;
        else if (strcmp(arg, "--thresholds") == 0)
            rc = parse_list(cmd, arg, next, a->thresholds, &a->n_thresholds), i++;
        else if (strcmp(arg, "--fss-threshold") == 0) {
            double v[VERIFY_MAX_LIST];
            int n = 0;
            rc = parse_list(cmd, arg, next, v, &n), i++;
            if (!rc && n != 1) rc = cli_usage_error(cmd, "--fss-threshold takes one value");
            if (!rc) a->fss_threshold = v[0];
        } else if (strcmp(arg, "--fss-windows") == 0) {
            double v[VERIFY_MAX_LIST];
            rc = parse_list(cmd, arg, next, v, &a->n_windows), i++;
            for (int k = 0; !rc && k < a->n_windows; k++) {
                if (v[k] < 1 || v[k] > 10001 || v[k] != floor(v[k]))
                    rc = cli_usage_error(cmd, "--fss-windows: %g is not a window size", v[k]);
                a->fss_windows[k] = (int)v[k];
            }
        } else if (arg[0] == '-' && arg[1] == '-')
            rc = cli_usage_error(cmd, "unknown option %s", arg);
        else if (!a->forecast) a->forecast = arg;
        else a->obs[a->n_obs++] = arg;
        if (rc) return rc;
    }
    if (!a->forecast || a->n_obs == 0)
        return cli_usage_error(cmd, "needs a forecast file and at least one observation file");
    return CLI_OK;
}

static int score_lead(sq25_ctx *ctx, const verify_args *a, const sq25_field *fc,
                      const sq25_field *obs, scores_t *s)
{
    const int w = sq25_field_width(fc), h = sq25_field_height(fc);
    if (w != sq25_field_width(obs) || h != sq25_field_height(obs)) {
        char gf[160], go[160];
        cli_grid_text(fc, gf, sizeof gf);
        cli_grid_text(obs, go, sizeof go);
        /* the whole message here (one line); the caller prints nothing more for this code */
        fprintf(stderr, "sq25 verify: grids differ: forecast %s: %s; observation %s: %s "
                        "(SQ25_ERR_GRID_MISMATCH)\n",
                sq25_field_meta(fc, SQ25_META_PATH), gf, sq25_field_meta(obs, SQ25_META_PATH),
                go);
        return SQ25_ERR_GRID_MISMATCH;
    }
    const float *f = sq25_field_data_const(fc), *o = sq25_field_data_const(obs);
    const size_t n = (size_t)w * (size_t)h;
    for (int k = 0; k < a->n_thresholds; k++) {
        int64_t counts[4];
        int rc = sq25_verify_contingency(f, o, n, a->thresholds[k], counts);
        if (rc) return rc;
        sq25_verify_categorical_scores(counts, &s->pod[k], &s->far[k], &s->csi[k]);
    }
    for (int k = 0; k < a->n_windows; k++) {
        int rc = sq25_verify_fss(ctx, f, o, w, h, a->fss_threshold, a->fss_windows[k], &s->fss[k]);
        if (rc) return rc;
    }
    return sq25_verify_mae(f, o, n, &s->mae);
}

static void print_table(const verify_args *a, const lead_scores *s, int n, int step_s)
{
    bool persistence = n > 0 && s[0].has_persistence;
    printf("%-5s %-20s", "lead", "valid time");
    for (int k = 0; k < a->n_thresholds; k++) printf("  CSI>%-4g", a->thresholds[k]);
    for (int k = 0; k < a->n_thresholds; k++) printf("  POD>%-4g", a->thresholds[k]);
    for (int k = 0; k < a->n_thresholds; k++) printf("  FAR>%-4g", a->thresholds[k]);
    for (int k = 0; k < a->n_windows; k++) printf("  FSS%-2d   ", a->fss_windows[k]);
    printf("  MAE mm/h");
    for (int k = 0; persistence && k < a->n_thresholds; k++) printf("  p:CSI>%-4g", a->thresholds[k]);
    for (int k = 0; persistence && k < a->n_windows; k++) printf("  p:FSS%-2d   ", a->fss_windows[k]);
    printf("%s\n", persistence ? "  p:MAE" : "");
    for (int i = 0; i < n; i++) {
        char t[32];
        const scores_t *f = &s[i].forecast, *p = &s[i].persistence;
        sq25_time_format(s[i].valid_time, t, sizeof t);
        printf("%-5d %-20s", (s[i].lead_index + 1) * step_s / 60, t);
        for (int k = 0; k < a->n_thresholds; k++) printf("  %-8.3f", f->csi[k]);
        for (int k = 0; k < a->n_thresholds; k++) printf("  %-8.3f", f->pod[k]);
        for (int k = 0; k < a->n_thresholds; k++) printf("  %-8.3f", f->far[k]);
        for (int k = 0; k < a->n_windows; k++) printf("  %-8.3f", f->fss[k]);
        printf("  %-8.4f", f->mae);
        for (int k = 0; persistence && k < a->n_thresholds; k++) printf("  %-10.3f", p->csi[k]);
        for (int k = 0; persistence && k < a->n_windows; k++) printf("  %-10.3f", p->fss[k]);
        if (persistence) printf("  %.4f", p->mae);
        printf("\n");
    }
    printf("FSS threshold %g mm/h; categorical events are rate > threshold; every score on the\n"
           "cells valid in both fields.\n", a->fss_threshold);
    if (!persistence)
        printf("persistence: not scored (no OBS file at the issue time, one step before the "
               "first lead)\n");
}

static void json_array(const char *key, const double *v, int n, int comma)
{
    printf("\"%s\": [", key);
    for (int k = 0; k < n; k++) {
        cli_json_number(stdout, v[k]);
        if (k + 1 < n) printf(", ");
    }
    printf("]%s", comma ? ", " : "");
}

static void json_scores(const verify_args *a, const scores_t *s)
{
    json_array("pod", s->pod, a->n_thresholds, 1);
    json_array("far", s->far, a->n_thresholds, 1);
    json_array("csi", s->csi, a->n_thresholds, 1);
    json_array("fss", s->fss, a->n_windows, 1);
    printf("\"mae_mmh\": ");
    cli_json_number(stdout, s->mae);
}

static void print_json(const verify_args *a, const lead_scores *s, int n, int step_s)
{
    double windows[VERIFY_MAX_LIST];
    for (int k = 0; k < a->n_windows; k++) windows[k] = a->fss_windows[k];
    printf("{\n  \"forecast\": ");
    cli_json_string(stdout, a->forecast);
    printf(",\n  ");
    json_array("thresholds_mmh", a->thresholds, a->n_thresholds, 1);
    printf("\"fss_threshold_mmh\": ");
    cli_json_number(stdout, a->fss_threshold);
    printf(", ");
    json_array("fss_windows_px", windows, a->n_windows, 0);
    printf(",\n  \"leads\": [\n");
    for (int i = 0; i < n; i++) {
        char t[32];
        sq25_time_format(s[i].valid_time, t, sizeof t);
        printf("    {\"lead_min\": %d, \"valid_time\": ", (s[i].lead_index + 1) * step_s / 60);
        cli_json_string(stdout, t);
        printf(", ");
        json_scores(a, &s[i].forecast);
        printf(", \"persistence\": ");
        if (s[i].has_persistence) {
            printf("{");
            json_scores(a, &s[i].persistence);
            printf("}");
        } else {
            printf("null");
        }
        printf("}%s\n", i + 1 < n ? "," : "");
    }
    printf("  ]\n}\n");
}

static const sq25_field *obs_at(const cli_frames *obs, int64_t valid_time)
{
    for (int i = 0; i < obs->count; i++)
        if (sq25_field_valid_time(obs->fields[i]) == valid_time) return obs->fields[i];
    return NULL;
}

static int run_verify(sq25_ctx *ctx, const char *cmd, const verify_args *a, cli_frames *obs,
                      lead_scores *scores, int *n_scored, int n_leads, int step_s)
{
    int64_t only = 0;
    if (a->time && sq25_time_parse(a->time, &only) != SQ25_OK)
        return cli_usage_error(cmd, "cannot parse --time '%s'", a->time);
    int st = cli_read_frames(cmd, ctx, a->obs, a->n_obs, a->time ? CLI_FRAMES_AT : CLI_FRAMES_ALL,
                             only, obs);
    if (st) return st;
    const sq25_field *at_issue = NULL; /* persistence: the observation at the issue time */
    sq25_field *first = NULL;
    if (step_s > 0 && sq25_read_field_frame(ctx, a->forecast, 0, &first) == SQ25_OK)
        at_issue = obs_at(obs, sq25_field_valid_time(first) - step_s);
    sq25_field_destroy(first);
    for (int k = 0; k < n_leads; k++) {
        sq25_field *fc = NULL;
        int rc = sq25_read_field_frame(ctx, a->forecast, k, &fc);
        if (rc) return cli_lib_error(cmd, ctx, rc);
        const sq25_field *match = obs_at(obs, sq25_field_valid_time(fc));
        if (match) {
            lead_scores *s = &scores[(*n_scored)++];
            s->lead_index = k;
            s->valid_time = sq25_field_valid_time(fc);
            rc = score_lead(ctx, a, fc, match, &s->forecast);
            s->has_persistence = at_issue != NULL;
            if (rc == SQ25_OK && at_issue) rc = score_lead(ctx, a, at_issue, match, &s->persistence);
        }
        sq25_field_destroy(fc);
        if (rc == SQ25_ERR_GRID_MISMATCH) return CLI_FAIL; /* score_lead said which grids */
        if (rc) return cli_lib_error(cmd, ctx, rc);
    }
    return *n_scored ? CLI_OK : cli_error(cmd, "no observation matches a lead's valid time");
}

/* The lead step in seconds: valid time of lead 2 minus that of lead 1. */
static int lead_step_s(sq25_ctx *ctx, const char *path, int n_leads)
{
    sq25_field *first = NULL, *last = NULL;
    int step = 0;
    if (sq25_read_field_frame(ctx, path, 0, &first) == SQ25_OK && n_leads > 1 &&
        sq25_read_field_frame(ctx, path, 1, &last) == SQ25_OK)
        step = (int)(sq25_field_valid_time(last) - sq25_field_valid_time(first));
    sq25_field_destroy(first);
    sq25_field_destroy(last);
    return step > 0 ? step : 0;
}

int cmd_verify(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--ensemble") == 0) return cmd_verify_ensemble(argc, argv);
    const char *cmd = argv[0];
    verify_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) {
        free(a.obs);
        return rc;
    }
    sq25_ctx *ctx = cli_ctx(cmd);
    int n_leads = 0, n_scored = 0, lrc = SQ25_OK;
    cli_frames obs = {0};
    lead_scores *scores = NULL;
    if (!ctx) rc = CLI_FAIL;
    if (!rc && (lrc = sq25_file_frame_count(ctx, a.forecast, &n_leads)) != SQ25_OK)
        rc = cli_lib_error(cmd, ctx, lrc);
    if (!rc && !(scores = calloc((size_t)n_leads, sizeof *scores)))
        rc = cli_error(cmd, "out of memory");
    int step = rc ? 0 : lead_step_s(ctx, a.forecast, n_leads);
    if (!rc) rc = run_verify(ctx, cmd, &a, &obs, scores, &n_scored, n_leads, step);
    if (!rc) {
        if (step == 0) step = 60; /* a single lead: minutes printed as lead index */
        if (a.json) print_json(&a, scores, n_scored, step);
        else print_table(&a, scores, n_scored, step);
    }
    cli_frames_free(&obs);
    free(scores);
    free(a.obs);
    sq25_ctx_destroy(ctx);
    return rc;
}
