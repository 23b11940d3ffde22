/* bench_warn.c -- hindcast of the warnings on real storms, against persistence warnings.
 *
 * For each issue time with 60 minutes of observations after it: motion from the frame and the
 * two before (default method), 12-step extrapolation, warnings (neighbourhood probabilities,
 * default radius growth and probability threshold); persistence warnings use the latest frame
 * held for the hour. Observed exceedance: the observed 60-minute total (sum of the next twelve
 * 5-minute frames x 5/60 h) reaches the level. Reported per level: POD, FAR, CSI of warned
 * cells, the distribution of onset-lead errors (forecast minus observed minutes to the first
 * exceedance, on hits), and a reliability table of the nowcast probabilities.
 *
 * Data: $SQ25_DATA or ../shared/data (radar/rmi_20210704, radar/knmi_20100826); falls back to
 * the bundled data/radar/rmi_20210704. Prints markdown tables; asserts nothing. */
#include "sq25.h"

#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_FILES 128
#define N_LEVELS 3
#define N_LEADS 12
#define N_BINS 10
#define MAX_ONSETS 2000000

static const double LEVELS_MM[N_LEVELS] = {5, 10, 15};

typedef struct {
    long long hits, misses, false_alarms, cells;
    double *onset_err; /* minutes, forecast - observed, on hits */
    long long n_onset;
} level_score;

typedef struct {
    level_score nowcast[N_LEVELS], persistence[N_LEVELS];
    long long rel_count[N_BINS], rel_obs[N_BINS]; /* level 1 reliability */
    double rel_sum_p[N_BINS];
    double brier_sum; /* level 1: sum of (p - observed)^2 over valid cells */
    long long brier_n;
    int cases;
    double seconds;
} hindcast;

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_dir(const char *dir, char **names)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < MAX_FILES) {
        if (e->d_name[0] == '.') continue;
        names[n] = malloc(strlen(dir) + strlen(e->d_name) + 2);
        sprintf(names[n++], "%s/%s", dir, e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, by_name); /* names sort by time in these sets */
    return n;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Observed 60-min total (mm) and onset lead (min) per level from the next N_LEADS frames. */
static void observe(sq25_field *const *obs, size_t cells, int step_s, float *acc,
                    float *onset[N_LEVELS])
{
    for (size_t i = 0; i < cells; i++) {
        double total = 0;
        for (int l = 0; l < N_LEVELS; l++) onset[l][i] = NAN;
        for (int k = 0; k < N_LEADS; k++) {
            float v = sq25_field_data(obs[k])[i];
            if (isnan(v)) {
                total = NAN;
                break;
            }
            total += v * step_s / 3600.0;
            for (int l = 0; l < N_LEVELS; l++)
                if (isnan(onset[l][i]) && total >= LEVELS_MM[l])
                    onset[l][i] = (float)((k + 1) * step_s / 60);
        }
        acc[i] = (float)total;
    }
}

static void score_warning(sq25_warning *w, const float *acc, float *const *obs_onset,
                          size_t cells, level_score *s, hindcast *h, bool reliability)
{
    sq25_field *levels = NULL;
    sq25_warning_levels(w, &levels);
    const float *lv = sq25_field_data(levels);
    for (int l = 0; l < N_LEVELS; l++) {
        sq25_field *onset = NULL, *prob = NULL;
        sq25_warning_onset(w, l + 1, &onset);
        sq25_warning_probability(w, l + 1, &prob);
        const float *on = sq25_field_data(onset), *p = sq25_field_data(prob);
        for (size_t i = 0; i < cells; i++) {
            if (isnan(acc[i]) || isnan(lv[i])) continue;
            bool warned = lv[i] >= l + 1, seen = acc[i] >= LEVELS_MM[l];
            s[l].cells++;
            if (warned && seen) {
                s[l].hits++;
                if (!isnan(on[i]) && s[l].n_onset < MAX_ONSETS)
                    s[l].onset_err[s[l].n_onset++] = on[i] - obs_onset[l][i];
            } else if (seen) s[l].misses++;
            else if (warned) s[l].false_alarms++;
            if (reliability && l == 0 && !isnan(p[i])) {
                int b = (int)(p[i] * N_BINS);
                if (b >= N_BINS) b = N_BINS - 1;
                h->rel_count[b]++;
                h->rel_sum_p[b] += p[i];
                h->rel_obs[b] += seen;
                h->brier_sum += (p[i] - seen) * (p[i] - seen);
                h->brier_n++;
            }
        }
        sq25_field_destroy(onset);
        sq25_field_destroy(prob);
    }
    sq25_field_destroy(levels);
}

static sq25_warning *warn_from(sq25_ctx *ctx, sq25_warn_options *opt, sq25_field **leads,
                               int step_s, int64_t issue)
{
    sq25_warning *w = NULL;
    if (sq25_warn_compute(ctx, opt, (const sq25_field *const *)leads, N_LEADS, step_s, issue,
                          &w))
        fprintf(stderr, "warn: %s\n", sq25_errmsg(ctx));
    return w;
}

static void run_case(sq25_ctx *ctx, sq25_warn_options *opt, char **files, int i, hindcast *h)
{
    sq25_field *in[3] = {0}, *obs[N_LEADS] = {0}, *fc[N_LEADS] = {0}, *pers[N_LEADS] = {0};
    for (int k = 0; k < 3; k++) sq25_read_field(ctx, files[i - 2 + k], &in[k]);
    for (int k = 0; k < N_LEADS; k++) sq25_read_field(ctx, files[i + 1 + k], &obs[k]);
    int w = sq25_field_width(in[2]), hgt = sq25_field_height(in[2]);
    size_t cells = (size_t)w * (size_t)hgt;
    int step_s = (int)(sq25_field_valid_time(in[2]) - sq25_field_valid_time(in[1]));
    int64_t issue = sq25_field_valid_time(in[2]);
    float *u = malloc(cells * sizeof *u), *v = malloc(cells * sizeof *v);
    float *acc = malloc(cells * sizeof *acc), *obs_onset[N_LEVELS];
    for (int l = 0; l < N_LEVELS; l++) obs_onset[l] = malloc(cells * sizeof(float));
    double t0 = now_s();
    sq25_motion_estimate(ctx, (const sq25_field *const *)in, 3, NULL, u, v);
    sq25_extrapolate(ctx, in[2], u, v, step_s, N_LEADS, 2, fc); /* CLI default sub-steps */
    sq25_warning *wn = warn_from(ctx, opt, fc, step_s, issue);
    h->seconds += now_s() - t0;
    for (int k = 0; k < N_LEADS; k++) {
        sq25_field_clone(in[2], &pers[k]);
        sq25_field_set_valid_time(pers[k], issue + (int64_t)(k + 1) * step_s);
    }
    sq25_warning *wp = warn_from(ctx, opt, pers, step_s, issue);
    observe(obs, cells, step_s, acc, obs_onset);
    if (wn && wp) {
        score_warning(wn, acc, obs_onset, cells, h->nowcast, h, true);
        score_warning(wp, acc, obs_onset, cells, h->persistence, h, false);
        h->cases++;
    }
    sq25_warning_destroy(wn);
    sq25_warning_destroy(wp);
    for (int k = 0; k < 3; k++) sq25_field_destroy(in[k]);
    for (int k = 0; k < N_LEADS; k++) {
        sq25_field_destroy(obs[k]);
        sq25_field_destroy(fc[k]);
        sq25_field_destroy(pers[k]);
    }
    for (int l = 0; l < N_LEVELS; l++) free(obs_onset[l]);
    free(u);
    free(v);
    free(acc);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A score as text: three decimals, or n/a when undefined (no event observed or warned). */
static const char *score_text(double v, char *buf, size_t cap)
{
    if (isnan(v)) snprintf(buf, cap, "n/a");
    else snprintf(buf, cap, "%.3f", v);
    return buf;
}

static void print_scores(const char *name, level_score *s)
{
    char b1[16], b2[16], b3[16];
    for (int l = 0; l < N_LEVELS; l++) {
        double pod = s[l].hits / (double)(s[l].hits + s[l].misses);
        double far = s[l].false_alarms / (double)(s[l].hits + s[l].false_alarms);
        double csi = s[l].hits / (double)(s[l].hits + s[l].misses + s[l].false_alarms);
        char onset[128] = "n/a";
        if (s[l].n_onset > 0) {
            qsort(s[l].onset_err, (size_t)s[l].n_onset, sizeof(double), cmp_double);
            long long n = s[l].n_onset, within = 0;
            for (long long k = 0; k < n; k++) within += fabs(s[l].onset_err[k]) <= 10;
            snprintf(onset, sizeof onset, "%+.0f / %+.0f / %+.0f (%.0f %% within 10 min)",
                     s[l].onset_err[n / 10], s[l].onset_err[n / 2], s[l].onset_err[9 * n / 10],
                     100.0 * within / n);
        }
        printf("| %s | %g mm | %lld | %lld | %lld | %s | %s | %s | %s |\n", name,
               LEVELS_MM[l], s[l].hits + s[l].misses, s[l].hits + s[l].false_alarms,
               s[l].hits, score_text(pod, b1, sizeof b1), score_text(far, b2, sizeof b2),
               score_text(csi, b3, sizeof b3), onset);
    }
}

static void report(const char *title, hindcast *h)
{
    printf("\n### %s: %d issue times, nowcast+warning %.2f s per case\n\n", title, h->cases,
           h->cases ? h->seconds / h->cases : 0);
    printf("| warnings | level (60-min total) | observed cells | warned cells | hits | POD | "
           "FAR | CSI | onset error min, p10 / median / p90 |\n|---|---|---|---|---|---|---|---|---|\n");
    print_scores("nowcast", h->nowcast);
    print_scores("persistence", h->persistence);
    printf("\nBrier score of the level-1 probability: %.5f over %lld cells\n",
           h->brier_n ? h->brier_sum / h->brier_n : NAN, h->brier_n);
    printf("\nReliability of the nowcast probability of %g mm in 60 min (cells):\n\n"
           "| probability bin | cells | mean forecast p | observed frequency |\n|---|---|---|---|\n",
           LEVELS_MM[0]);
    for (int b = 0; b < N_BINS; b++)
        if (h->rel_count[b])
            printf("| %.1f-%.1f | %lld | %.3f | %.3f |\n", b / 10.0, (b + 1) / 10.0,
                   h->rel_count[b], h->rel_sum_p[b] / h->rel_count[b],
                   h->rel_obs[b] / (double)h->rel_count[b]);
}

/* Pool-adjacent-violators over the reliability bins: the non-decreasing observed frequency
 * closest (cell-weighted) to the bins' frequencies, printed as a calibration map for
 * sq25_warn_options_set_calibration: points (mean raw p of the pooled bins, frequency). */
static void print_calibration_fit(const hindcast *h)
{
    double p[N_BINS], f[N_BINS], wgt[N_BINS];
    int n = 0;
    for (int b = 0; b < N_BINS; b++) {
        if (!h->rel_count[b]) continue;
        p[n] = h->rel_sum_p[b];
        f[n] = (double)h->rel_obs[b];
        wgt[n++] = (double)h->rel_count[b];
        while (n > 1 && f[n - 1] / wgt[n - 1] < f[n - 2] / wgt[n - 2]) { /* pool */
            p[n - 2] += p[n - 1];
            f[n - 2] += f[n - 1];
            wgt[n - 2] += wgt[n - 1];
            n--;
        }
    }
    printf("\nCalibration map fitted here (pool-adjacent-violators; SQ25_WARN_CALIBRATION form):\n"
           "0:0");
    for (int i = 0; i < n; i++)
        if (p[i] / wgt[i] > 0) printf(",%.3f:%.3f", p[i] / wgt[i], f[i] / wgt[i]);
    printf("\n");
}

/* Apply SQ25_WARN_CALIBRATION="raw:p,raw:p,..." if set. */
static void apply_calibration_env(sq25_warn_options *opt)
{
    const char *env = getenv("SQ25_WARN_CALIBRATION");
    if (!env) return;
    double raw[SQ25_WARN_MAX_CALIBRATION], cal[SQ25_WARN_MAX_CALIBRATION];
    int n = 0;
    const char *s = env;
    while (n < SQ25_WARN_MAX_CALIBRATION && sscanf(s, "%lf:%lf", &raw[n], &cal[n]) == 2) {
        n++;
        s = strchr(s, ',');
        if (!s) break;
        s++;
    }
    if (sq25_warn_options_set_calibration(opt, n, raw, cal))
        fprintf(stderr, "bench_warn: SQ25_WARN_CALIBRATION refused\n");
    else
        printf("\n(calibration map applied: %s)\n", env);
}

static void hindcast_set(sq25_ctx *ctx, const char *dir, int first, int last, int every,
                         const char *title)
{
    char *files[MAX_FILES];
    int n = list_dir(dir, files);
    if (n == 0) {
        printf("\n### %s: no files in %s, skipped\n", title, dir);
        return;
    }
    hindcast *h = calloc(1, sizeof *h);
    for (int l = 0; l < N_LEVELS; l++) {
        h->nowcast[l].onset_err = malloc(MAX_ONSETS * sizeof(double));
        h->persistence[l].onset_err = malloc(MAX_ONSETS * sizeof(double));
    }
    sq25_warn_options *opt = NULL;
    sq25_warn_options_create(ctx, &opt);
    sq25_warn_options_set_levels(opt, N_LEVELS, LEVELS_MM, NULL);
    /* SQ25_WARN_GROWTH (m per minute of lead) and SQ25_WARN_P (issue probability) override the
     * defaults, for calibration runs */
    if (getenv("SQ25_WARN_GROWTH"))
        sq25_warn_options_set_radius(opt, 0, atof(getenv("SQ25_WARN_GROWTH")));
    if (getenv("SQ25_WARN_P"))
        sq25_warn_options_set_probability_threshold(opt, atof(getenv("SQ25_WARN_P")));
    apply_calibration_env(opt);
    for (int i = first < 2 ? 2 : first; i <= last && i + N_LEADS < n; i += every)
        run_case(ctx, opt, files, i, h);
    report(title, h);
    print_calibration_fit(h);
    sq25_warn_options_destroy(opt);
    for (int l = 0; l < N_LEVELS; l++) {
        free(h->nowcast[l].onset_err);
        free(h->persistence[l].onset_err);
    }
    free(h);
    for (int k = 0; k < n; k++) free(files[k]);
}

int main(void)
{
    const char *root = getenv("SQ25_DATA") ? getenv("SQ25_DATA") : "../shared/data";
    char rmi[512], knmi[512];
    struct stat st;
    snprintf(rmi, sizeof rmi, "%s/radar/rmi_20210704", root);
    snprintf(knmi, sizeof knmi, "%s/radar/knmi_20100826", root);
    bool shared = stat(rmi, &st) == 0;
    if (!shared) snprintf(rmi, sizeof rmi, "data/radar/rmi_20210704");
    sq25_ctx *ctx = sq25_ctx_create();
    printf("## Warning hindcast (levels as 60-minute totals; DWD's 25 and 40 mm are never "
           "reached in these sets)\n");
    hindcast_set(ctx, rmi, 2, 100, 1, shared ? "Belgian storm, RMI 2021-07-04, every issue time"
                                             : "Belgian storm, bundled 20 frames");
    if (shared && !getenv("SQ25_WARN_RMI_ONLY"))
        hindcast_set(ctx, knmi, 11, 79, 4, "Dutch moderate rain, KNMI 2010-08-26 (control)");
    sq25_ctx_destroy(ctx);
    return 0;
}
