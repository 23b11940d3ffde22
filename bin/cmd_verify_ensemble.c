/* cmd_verify_ensemble.c -- sq25 verify --ensemble ENSEMBLE.nc OBS... : probabilistic scores of
 * every lead of an ensemble file (sq25 nowcast --members) against the observation of the same
 * valid time: Brier score, ROC area and reliability table per threshold, and with members in
 * the file CRPS and the rank histogram; with the control member in the file (since 1.4) also the
 * CRPS of the distribution the probabilities describe (the members pooled over the file's
 * window plus the control at the file's weight: sq25_verify_crps_neighbourhood). */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ROC_THRESHOLDS 10
#define RELIABILITY_BINS 10

typedef struct {
    const char *ensemble;
    const char **obs;
    int n_obs, json;
} ens_args;

typedef struct {
    int lead;                 /* 0-based */
    int64_t valid_time;
    double brier[SQ25_ENSEMBLE_MAX_THRESHOLDS], roc[SQ25_ENSEMBLE_MAX_THRESHOLDS];
    int64_t count[SQ25_ENSEMBLE_MAX_THRESHOLDS][RELIABILITY_BINS];
    int64_t events[SQ25_ENSEMBLE_MAX_THRESHOLDS][RELIABILITY_BINS];
    double psum[SQ25_ENSEMBLE_MAX_THRESHOLDS][RELIABILITY_BINS];
    double crps;
    double crps_shipped, crps_shipped_bound; /* NaN when the file cannot give it */
    int64_t *rank; /* members + 1 counts, NULL without members */
} ens_scores;

static int parse_args(int argc, char **argv, ens_args *a)
{
    const char *cmd = argv[0];
    memset(a, 0, sizeof *a);
    a->obs = calloc((size_t)argc, sizeof *a->obs);
    if (!a->obs) return cli_error(cmd, "out of memory");
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--ensemble") == 0) continue;
        if (strcmp(arg, "--json") == 0) a->json = 1;
        else if (arg[0] == '-' && arg[1] == '-')
            return cli_usage_error(cmd, "unknown option %s with --ensemble", arg);
        else if (!a->ensemble) a->ensemble = arg;
        else a->obs[a->n_obs++] = arg;
    }
    if (!a->ensemble || a->n_obs == 0)
        return cli_usage_error(cmd, "--ensemble needs an ensemble file and at least one observation");
    return CLI_OK;
}

/* Cells valid in the observation and in every grid scored: a copy of obs with NaN elsewhere. */
static void mask_observation(const sq25_ensemble *e, int lead, const float *obs, float *out,
                             size_t n)
{
    memcpy(out, obs, n * sizeof *out);
    const int n_thr = sq25_ensemble_threshold_count(e), members = sq25_ensemble_member_count(e);
    for (size_t i = 0; i < n; i++) {
        int bad = isnan(out[i]);
        for (int t = 0; t < n_thr && !bad; t++)
            bad = isnan(sq25_field_data_const(sq25_ensemble_probability(e, lead, t))[i]);
        for (int m = 0; sq25_ensemble_has_members(e) && m < members && !bad; m++)
            bad = isnan(sq25_field_data_const(sq25_ensemble_member(e, m, lead))[i]);
        if (bad) out[i] = NAN;
    }
}

/* CRPS of the distribution the file's probabilities describe: the members pooled over the
 * window of half side ceil(c k) at lead k steps (c: the file's neighbourhood_cells_per_lead_step)
 * and the control member at the file's control_weight. NaN when the weight is not known or is
 * > 0 without the control member in the file, and when the probabilities were shrunk (they
 * then describe no pooled distribution). */
static int score_shipped(sq25_ctx *ctx, const sq25_ensemble *e, int lead, const float **mem,
                         const float *obs, ens_scores *s)
{
    s->crps_shipped = s->crps_shipped_bound = NAN;
    const double c = sq25_ensemble_neighbourhood(e), w = sq25_ensemble_control_weight(e);
    const sq25_field *control = w > 0 ? sq25_ensemble_control_member(e, lead) : NULL;
    if (!(c >= 0) || !(w >= 0) || (w > 0 && !control)) return SQ25_OK;
    if (!(sq25_ensemble_probability_shrink_rate(e) == 0)) return SQ25_OK;
    /* the window rule of lib/ensemble_prob.c (a tolerance so that 0.5 x 2 steps is 1 cell) */
    const int half = c > 0 ? (int)ceil(c * (lead + 1) - 1e-9) : 0;
    const sq25_field *like = sq25_ensemble_mean(e, lead);
    return sq25_verify_crps_neighbourhood(ctx, mem, sq25_ensemble_member_count(e),
                                          control ? sq25_field_data_const(control) : NULL, w,
                                          sq25_field_width(like), sq25_field_height(like), half,
                                          obs, &s->crps_shipped, &s->crps_shipped_bound);
}

static int score_lead(sq25_ctx *ctx, const sq25_ensemble *e, int lead, const float *obs,
                      size_t n, ens_scores *s)
{
    const int n_thr = sq25_ensemble_threshold_count(e);
    for (int t = 0; t < n_thr; t++) {
        const float *p = sq25_field_data_const(sq25_ensemble_probability(e, lead, t));
        const double thr = sq25_ensemble_threshold(e, t);
        int64_t h[ROC_THRESHOLDS] = {0}, m[ROC_THRESHOLDS] = {0}, f[ROC_THRESHOLDS] = {0},
                c[ROC_THRESHOLDS] = {0};
        int rc = sq25_verify_brier(p, obs, n, thr, &s->brier[t]);
        if (!rc) rc = sq25_verify_roc_counts(p, obs, n, thr, ROC_THRESHOLDS, h, m, f, c);
        if (!rc) rc = sq25_verify_reliability(p, obs, n, thr, RELIABILITY_BINS, s->count[t],
                                              s->events[t], s->psum[t]);
        if (rc) return rc;
        s->roc[t] = sq25_verify_roc_area(ROC_THRESHOLDS, h, m, f, c);
    }
    s->crps = s->crps_shipped = s->crps_shipped_bound = NAN;
    if (!sq25_ensemble_has_members(e)) return SQ25_OK;
    const int members = sq25_ensemble_member_count(e);
    const float **mem = calloc((size_t)members, sizeof *mem);
    s->rank = calloc((size_t)members + 1, sizeof *s->rank);
    if (!mem || !s->rank) {
        free(mem);
        return SQ25_ERR_NOMEM;
    }
    for (int m = 0; m < members; m++) mem[m] = sq25_field_data_const(sq25_ensemble_member(e, m, lead));
    int rc = sq25_verify_crps(mem, members, obs, n, &s->crps);
    if (!rc) rc = sq25_verify_rank_histogram(mem, members, obs, n, s->rank);
    if (!rc) rc = score_shipped(ctx, e, lead, mem, obs, s);
    free(mem);
    return rc;
}

static void print_json(const sq25_ensemble *e, const ens_scores *s, int n)
{
    const int n_thr = sq25_ensemble_threshold_count(e), members = sq25_ensemble_member_count(e);
    printf("{\n  \"members\": %d,\n  \"thresholds_mmh\": [", members);
    for (int t = 0; t < n_thr; t++) printf("%s%g", t ? ", " : "", sq25_ensemble_threshold(e, t));
    printf("],\n  \"leads\": [\n");
    for (int k = 0; k < n; k++) {
        char vt[32];
        sq25_time_format(s[k].valid_time, vt, sizeof vt);
        printf("    {\"lead_min\": %d, \"valid_time\": ", (s[k].lead + 1) * sq25_ensemble_step_s(e) / 60);
        cli_json_string(stdout, vt);
        printf(", \"crps_mmh\": ");
        cli_json_number(stdout, s[k].crps);
        printf(", \"crps_shipped_mmh\": ");
        cli_json_number(stdout, s[k].crps_shipped);
        printf(", \"crps_shipped_bound_mmh\": ");
        cli_json_number(stdout, s[k].crps_shipped_bound);
        printf(",\n     \"thresholds\": [\n");
        for (int t = 0; t < n_thr; t++) {
            printf("       {\"threshold_mmh\": %g, \"brier\": ", sq25_ensemble_threshold(e, t));
            cli_json_number(stdout, s[k].brier[t]);
            printf(", \"roc_area\": ");
            cli_json_number(stdout, s[k].roc[t]);
            printf(", \"reliability\": [");
            for (int b = 0; b < RELIABILITY_BINS; b++) {
                const int64_t c = s[k].count[t][b];
                printf("%s{\"bin\": [%g, %g], \"count\": %lld, \"observed_frequency\": ", b ? ", " : "",
                       (double)b / RELIABILITY_BINS, (double)(b + 1) / RELIABILITY_BINS, (long long)c);
                cli_json_number(stdout, c ? (double)s[k].events[t][b] / (double)c : NAN);
                printf(", \"mean_probability\": ");
                cli_json_number(stdout, c ? s[k].psum[t][b] / (double)c : NAN);
                printf("}");
            }
            printf("]}%s\n", t + 1 < n_thr ? "," : "");
        }
        printf("     ]");
        if (s[k].rank) {
            printf(",\n     \"rank_histogram\": [");
            for (int r = 0; r <= members; r++) printf("%s%lld", r ? ", " : "", (long long)s[k].rank[r]);
            printf("]");
        }
        printf("}%s\n", k + 1 < n ? "," : "");
    }
    printf("  ]\n}\n");
}

static void print_table(const sq25_ensemble *e, const ens_scores *s, int n)
{
    const int n_thr = sq25_ensemble_threshold_count(e);
    printf("lead_min  crps_mmh  crps_shipped_mmh");
    for (int t = 0; t < n_thr; t++) {
        double thr = sq25_ensemble_threshold(e, t);
        printf("  brier>%g  roc>%g", thr, thr);
    }
    printf("\n");
    for (int k = 0; k < n; k++) {
        printf("%8d  %8.4f  %16.4f", (s[k].lead + 1) * sq25_ensemble_step_s(e) / 60, s[k].crps,
               s[k].crps_shipped);
        for (int t = 0; t < n_thr; t++) printf("  %8.5f  %6.3f", s[k].brier[t], s[k].roc[t]);
        printf("\n");
    }
}

static int run(sq25_ctx *ctx, const char *cmd, const ens_args *a, sq25_field **obs,
               ens_scores *scores, int *n_scored)
{
    sq25_ensemble *e = NULL;
    int rc = sq25_ensemble_read_netcdf(ctx, a->ensemble, &e);
    if (rc) return cli_lib_error(cmd, ctx, rc);
    for (int i = 0; i < a->n_obs && !rc; i++)
        if ((rc = sq25_read_field(ctx, a->obs[i], &obs[i])) != SQ25_OK) rc = cli_lib_error(cmd, ctx, rc);
    const sq25_field *like = sq25_ensemble_mean(e, 0);
    const size_t n = (size_t)sq25_field_width(like) * (size_t)sq25_field_height(like);
    float *masked = rc ? NULL : malloc(n * sizeof *masked);
    if (!rc && !masked) rc = cli_error(cmd, "out of memory");
    for (int k = 0; !rc && k < sq25_ensemble_lead_count(e); k++) {
        const int64_t t = sq25_field_valid_time(sq25_ensemble_mean(e, k));
        const sq25_field *match = NULL;
        for (int i = 0; i < a->n_obs && !match; i++)
            if (sq25_field_valid_time(obs[i]) == t) match = obs[i];
        if (!match) continue;
        if (sq25_field_width(match) != sq25_field_width(like) ||
            sq25_field_height(match) != sq25_field_height(like)) {
            rc = cli_error(cmd, "%s: grid %dx%d differs from the ensemble's %dx%d",
                           sq25_field_meta(match, SQ25_META_PATH), sq25_field_width(match),
                           sq25_field_height(match), sq25_field_width(like), sq25_field_height(like));
            break;
        }
        ens_scores *s = &scores[(*n_scored)++];
        s->lead = k;
        s->valid_time = t;
        mask_observation(e, k, sq25_field_data_const(match), masked, n);
        int lrc = score_lead(ctx, e, k, masked, n, s);
        if (lrc) rc = cli_lib_error(cmd, ctx, lrc);
    }
    if (!rc && *n_scored == 0) rc = cli_error(cmd, "no observation matches a lead's valid time");
    if (!rc) {
        if (a->json) print_json(e, scores, *n_scored);
        else print_table(e, scores, *n_scored);
    }
    free(masked);
    sq25_ensemble_destroy(e);
    return rc;
}

int cmd_verify_ensemble(int argc, char **argv)
{
    const char *cmd = argv[0];
    ens_args a;
    int rc = parse_args(argc, argv, &a);
    sq25_ctx *ctx = rc ? NULL : cli_ctx(cmd);
    sq25_field **obs = rc ? NULL : calloc((size_t)a.n_obs, sizeof *obs);
    ens_scores *scores = rc ? NULL : calloc(288, sizeof *scores);
    int n_scored = 0;
    if (!rc && (!ctx || !obs || !scores)) rc = ctx ? cli_error(cmd, "out of memory") : CLI_FAIL;
    if (!rc) rc = run(ctx, cmd, &a, obs, scores, &n_scored);
    for (int k = 0; scores && k < n_scored; k++) free(scores[k].rank);
    for (int i = 0; obs && i < a.n_obs; i++) sq25_field_destroy(obs[i]);
    free(scores);
    free(obs);
    free(a.obs);
    sq25_ctx_destroy(ctx);
    return rc;
}
