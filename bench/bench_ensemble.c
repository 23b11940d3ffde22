/* bench_ensemble.c -- skill and speed of the STEPS-class ensemble (docs/ensemble.md).
 *
 * Skill, the deterministic benchmark's protocol (bench_nowcast.c): frames sorted by time; for
 * issue index i the motion uses frames i-2, i-1, i and lead k is verified against frame i+k
 * on the cells valid in the observation and in every forecast compared; scores are averaged
 * over the cases (reliability and rank histogram pooled):
 *   rmi_20210704   issue 11..26 (16 cases)     knmi_20100826   issue 11, 15, ..., 79 (18)
 * Compared, in the same run: the raw ensemble (20 members, dense motion, the library's noise
 * gain), the neighbourhood probability around the deterministic LK extrapolation (square
 * window whose half side grows one pixel per 5-min step: the reference figures' baseline) and
 * the same around our dense extrapolation, blends (the members' fraction over a window of half
 * side ceil(c k) at lead k steps) and mixes (blend and the dense extrapolation's fraction in
 * the same window, weights w and 1 - w: the library's control member); "mix c=1 w=0.35" is the
 * library's default probability since 1.6 (control weight 0.65, lib/ensemble_prob.c), "mix c=1
 * w=0.7" that of 1.2-1.5 (control 0.3); "mix c=1 w=0.35 shrink 0.15 0.4/h" is
 * the mix w = 0.35 with sq25_ensemble_options_set_probability_shrink(0.15, 0.4) applied (session
 * 5; also in the 60-min amount table). The table prints Brier and ROC area at
 * 1 and 5 mm/h, CRPS (members; for the mixes the weighted members + control at the cell) and
 * the worst reliability gap at 1 mm/h over the bins holding >= 1 % of the cells; then the CRPS
 * of the distributions that the blend and the default probability describe (the members
 * pooled over the window, with the control member: sq25_verify_crps_neighbourhood).
 * Development / held-out split used in docs/ensemble.md: rmi SQ25_BENCH_FIRST=0
 * SQ25_BENCH_CASES=8 (issue 11..18) chose the defaults; rmi FIRST=8 CASES=8 (19..26) and all
 * of knmi are held out.
 * Speed: the whole process of 20 members x 12 leads on one 700x700 RMI case (read 3 frames,
 * motion, ensemble, netCDF write; once run then written, once with the write streamed as the
 * leads end, sq25_ensemble_run_netcdf, with how much of the write that hid) beside the
 * deterministic one (read, motion, 12-step extrapolation, ODIM write), each in a child process
 * so that its peak RSS is its own; then
 * the same two through the command line (`sq25 nowcast ... [--members 20]`, the executable
 * SQ25_CLI, else build/sq25), whole-process wall, CPU and peak RSS.
 *
 * Environment: SQ25_DATA (else ../shared/data, else data/); SQ25_BENCH_SETS=rmi,knmi;
 * SQ25_BENCH_FIRST=K, SQ25_BENCH_CASES=N (N issue times from the K-th; every case also prints
 * CASE/CRPS/REL lines, so chunks run separately can be pooled); SQ25_BENCH_MEMBERS (20);
 * SQ25_BENCH_THREADS (0 = all CPUs); SQ25_BENCH_SKIP=speed|skill|cli (comma-separated: parts left
 * out; cli = the command-line runs of the speed part); variants of the method:
 * SQ25_BENCH_PERTURB=0 (no motion perturbation), SQ25_BENCH_MASK=0, SQ25_BENCH_LEVELS=L,
 * SQ25_BENCH_POWERLAW=1; SQ25_BENCH_DUMP=DIR writes the raw grids of every case and reported
 * lead for bench/ensemble_roc.py. */
#include "sq25.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Internal knobs of the ensemble (lib/ensemble.c), reachable from benchmarks only:
 * SQ25_ENSEMBLE_TUNE="perturbation_scale=2,noise_scale=1". */
int sq25__ensemble_options_tune(sq25_ensemble_options *opt, const char *key, double value);

static void apply_tuning(sq25_ensemble_options *opt)
{
    const char *env = getenv("SQ25_ENSEMBLE_TUNE");
    char key[64];
    double value;
    int used;
    while (env && sscanf(env, "%63[^=]=%lf%n", key, &value, &used) == 2) {
        if (sq25__ensemble_options_tune(opt, key, value) != SQ25_OK)
            fprintf(stderr, "bench_ensemble: unknown tuning key %s\n", key);
        env += used;
        env = *env == ',' ? env + 1 : NULL;
    }
}

#define MAX_FRAMES 128
#define N_LEADS 12
#define N_REPORT 3
#define N_THR 2
#define ROC_THRESHOLDS 10
#define REL_BINS 10

static const int report_leads[N_REPORT] = {3, 6, 12}; /* 15, 30, 60 min */
static const double thresholds[N_THR] = {1, 5};

typedef struct {
    const char *name, *dir, *suffix;
    int first_issue, last_issue, stride;
} data_set;

static const data_set sets[] = {
    {"rmi", "radar/rmi_20210704", ".hdf", 11, 26, 1},
    {"knmi", "radar/knmi_20100826", ".h5", 11, 79, 4},
};

/* reference figures of the issue (rmi, 16 cases): per reported lead, STEPS Brier 1/5, ROC 1/5,
 * CRPS; neighbourhood (LK) Brier 1/5, ROC 1/5 */
static const double ref_steps[N_REPORT][5] = {
    {0.0148, 0.0042, 0.924, 0.809, 0.074}, {0.0198, 0.0050, 0.861, 0.706, 0.092},
    {0.0234, 0.0050, 0.756, 0.617, 0.104}};
static const double ref_nbhd[N_REPORT][4] = {
    {0.0149, 0.0042, 0.938, 0.833}, {0.0191, 0.0047, 0.893, 0.726}, {0.0226, 0.0048, 0.800, 0.616}};

/* ---- frames ------------------------------------------------------------------------------ */

typedef struct {
    char *paths[MAX_FRAMES];
    int n;
    sq25_field *cache[MAX_FRAMES];
} frames;

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int set_dir(const data_set *s, char *out, size_t cap)
{
    const char *roots[3] = {getenv("SQ25_DATA"), "../shared/data", "data"};
    for (int k = 0; k < 3; k++) {
        struct stat st;
        if (!roots[k]) continue;
        snprintf(out, cap, "%s/%s", roots[k], s->dir);
        if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
    }
    return -1;
}

static void list(const char *dir, const char *suffix, frames *fl)
{
    memset(fl, 0, sizeof *fl);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) && fl->n < MAX_FRAMES) {
        size_t len = strlen(e->d_name), sl = strlen(suffix);
        if (len <= sl || strcmp(e->d_name + len - sl, suffix) != 0) continue;
        size_t cap = strlen(dir) + len + 2;
        fl->paths[fl->n] = malloc(cap);
        snprintf(fl->paths[fl->n++], cap, "%s/%s", dir, e->d_name);
    }
    if (d) closedir(d);
    qsort(fl->paths, (size_t)fl->n, sizeof *fl->paths, by_name);
}

static sq25_field *get(sq25_ctx *ctx, frames *fl, int i)
{
    if (!fl->cache[i] && sq25_read_field(ctx, fl->paths[i], &fl->cache[i]) != SQ25_OK) {
        fprintf(stderr, "bench_ensemble: %s\n", sq25_errmsg(ctx));
        exit(1);
    }
    return fl->cache[i];
}

static void forget_before(frames *fl, int keep)
{
    for (int i = 0; i < keep && i < fl->n; i++) {
        sq25_field_destroy(fl->cache[i]);
        fl->cache[i] = NULL;
    }
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* CPU seconds of the process so far (all threads). */
static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int env_int(const char *name, int fallback)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : fallback;
}

/* ---- neighbourhood probabilities ---------------------------------------------------------- */

/* Fraction of valid cells with value > thr (prob = 0) or mean of the values (prob = 1) in a
 * square window of half side r around every cell, by summed-area tables; NaN where the cell
 * itself is NaN. */
static void window_mean(const float *in, int w, int h, int r, double thr, int as_event,
                        float *out)
{
    double *s = calloc((size_t)(w + 1) * (h + 1), sizeof *s);
    double *c = calloc((size_t)(w + 1) * (h + 1), sizeof *c);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float v = in[(size_t)y * w + x];
            double val = isnan(v) ? 0 : as_event ? (v > thr) : v, cnt = isnan(v) ? 0 : 1;
            size_t i = (size_t)(y + 1) * (w + 1) + x + 1;
            s[i] = val + s[i - 1] + s[i - (w + 1)] - s[i - (w + 1) - 1];
            c[i] = cnt + c[i - 1] + c[i - (w + 1)] - c[i - (w + 1) - 1];
        }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int x0 = x - r < 0 ? 0 : x - r, x1 = x + r + 1 > w ? w : x + r + 1;
            int y0 = y - r < 0 ? 0 : y - r, y1 = y + r + 1 > h ? h : y + r + 1;
            size_t a = (size_t)y1 * (w + 1) + x1, b = (size_t)y0 * (w + 1) + x1;
            size_t cc = (size_t)y1 * (w + 1) + x0, d = (size_t)y0 * (w + 1) + x0;
            double sum = s[a] - s[b] - s[cc] + s[d], n = c[a] - c[b] - c[cc] + c[d];
            out[(size_t)y * w + x] = isnan(in[(size_t)y * w + x]) || n <= 0 ? NAN : (float)(sum / n);
        }
    free(s);
    free(c);
}

/* ---- scores -------------------------------------------------------------------------------- */

/* Blends: the members' fraction over a square window of half side ceil(c k) cells at lead k
 * steps, for each c of blend_cells_per_step (the library's sq25_ensemble_options_set_neighbourhood
 * rule, lib/ensemble_prob.c; computed here from the raw probabilities by the bench's own
 * window code, so one ensemble run scores every c). Mixes: the deterministic (dense)
 * extrapolation as a control member of weight 1 - w beside the 20 members sharing w, the
 * weighted fraction over the same window: w blend + (1 - w) neighbourhood (window ceil(c k)). */
enum { M_ENS, M_BLEND_05, M_BLEND_1, M_BLEND_15, M_BLEND_2, M_MIX, M_SHRINK = M_MIX + 6,
       M_NBHD_LK, M_NBHD_DENSE, N_METHODS };
#define N_BLENDS 4
#define N_MIXES 6
static const double blend_cells_per_step[N_BLENDS] = {0.5, 1, 1.5, 2};
static const double mix_cells_per_step[N_MIXES] = {1, 1, 1, 1, 1.5, 1.5};
static const double mix_weight[N_MIXES] = {0.2, 0.35, 0.5, 0.7, 0.35, 0.5};
static const char *method_names[N_METHODS] = {
    "ensemble", "blend c=0.5", "blend c=1", "blend c=1.5", "blend c=2",
    "mix c=1 w=0.2", "mix c=1 w=0.35 (default)", "mix c=1 w=0.5", "mix c=1 w=0.7 (1.2-1.5)",
    "mix c=1.5 w=0.35",
    "mix c=1.5 w=0.5", "mix c=1 w=0.35 shrink 0.15 0.4/h", "neighbourhood LK",
    "neighbourhood dense"};

/* Session 5 (docs/ensemble.md, "Session 5: skill"): the mix of members weight 0.35 (control
 * 0.65) with the high probabilities shrunk as sq25_ensemble_options_set_probability_shrink
 * does: p above the knee becomes knee + (p - knee) max(0, 1 - rate t / 60), t in minutes. */
#define SHRINK_MIX 1 /* mix_weight[1] = 0.35 */
#define SHRINK_KNEE 0.15
#define SHRINK_RATE_PER_HOUR 0.4

static void shrink_probability(const float *in, size_t n, double minutes, float *out)
{
    const double slope = fmax(0, 1 - SHRINK_RATE_PER_HOUR * minutes / 60);
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] > SHRINK_KNEE ? (float)(SHRINK_KNEE + (in[i] - SHRINK_KNEE) * slope) : in[i];
}

/* CRPS (mm/h) of the weighted member set at each cell: the members with weight w / M each and
 * the control value with weight 1 - w; sum p_i |x_i - y| - 1/2 sum p_i p_j |x_i - x_j| over
 * the cells where the observation is valid (the empirical CRPS with unequal weights; w = 1
 * is the members' CRPS). */
static double weighted_crps(const float *const *mem, int members, const float *control,
                            double w, const float *obs, size_t n)
{
    double total = 0;
    size_t cells = 0;
    float x[SQ25_ENSEMBLE_MAX_MEMBERS + 1];
    double p[SQ25_ENSEMBLE_MAX_MEMBERS + 1];
    for (size_t i = 0; i < n; i++) {
        if (isnan(obs[i]) || isnan(control[i])) continue;
        int k = 0, bad = 0;
        for (int m = 0; m < members; m++) {
            x[k] = mem[m][i];
            bad |= isnan(x[k]);
            p[k++] = w / members;
        }
        if (bad) continue;
        x[k] = control[i];
        p[k++] = 1 - w;
        double a = 0, b = 0;
        for (int q = 0; q < k; q++) {
            a += p[q] * fabs(x[q] - obs[i]);
            for (int r = q + 1; r < k; r++) b += p[q] * p[r] * fabs(x[q] - x[r]);
        }
        total += a - b; /* the double sum counts each pair twice: 1/2 x 2 */
        cells++;
    }
    return cells ? total / (double)cells : NAN;
}

/* The 60-min amount (mm, event >= threshold as the warning levels; observed: the frames'
 * rates integrated by the rectangle rule, 5 min each, NaN where any frame has no data):
 * members' fraction, blend c = 1 (half side 12 cells), the blend and the control at 0.35 /
 * 0.65 (the default since 1.6) and at 0.7 / 0.3 (1.2-1.5), and the neighbourhood probability
 * of the deterministic (dense) amount with the same window. */
#define N_POOLED 3

enum { ACC_ENS, ACC_BLEND, ACC_DEFAULT, ACC_OLD_DEFAULT, ACC_SHRINK, ACC_NBHD, N_ACC };
#define N_ACC_THR 3
static const double acc_thresholds[N_ACC_THR] = {1, 5, 10};
static const char *acc_names[N_ACC] = {"ensemble", "blend c=1", "blend + control 0.65 (default)",
                                       "blend + control 0.3 (1.2-1.5)",
                                       "blend + control 0.65, shrink 0.15 0.4/h",
                                       "neighbourhood dense (deterministic amount)"};

typedef struct {
    double brier[N_METHODS][N_REPORT][N_THR], roc[N_METHODS][N_REPORT][N_THR];
    double crps[N_REPORT], crps_mix[N_MIXES][N_REPORT];
    double pooled_crps[N_POOLED][N_REPORT], pooled_bound[N_POOLED][N_REPORT];
    int cases, issue, first_issue;
    int64_t rel_count[N_METHODS][N_REPORT][REL_BINS], rel_events[N_METHODS][N_REPORT][REL_BINS];
    double rel_psum[N_METHODS][N_REPORT][REL_BINS];
    int64_t rank[N_REPORT][1001];
    double cpu_s;
    /* 60-min amount from the issue time (the warnings' probability), per ACC_* method and
     * amount threshold */
    double acc_brier[N_ACC][N_ACC_THR], acc_roc[N_ACC][N_ACC_THR];
    int64_t acc_rel_count[N_ACC][REL_BINS], acc_rel_events[N_ACC][REL_BINS];
    double acc_rel_psum[N_ACC][REL_BINS];
    int acc_cases;
} skill;

/* NaN wherever any of the grids is NaN, in place on copies of the probabilities. */
static void common_mask(float **grids, int count, float *obs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int bad = isnan(obs[i]);
        for (int k = 0; k < count && !bad; k++) bad = isnan(grids[k][i]);
        if (bad) {
            obs[i] = NAN;
            for (int k = 0; k < count; k++) grids[k][i] = NAN;
        }
    }
}

static void score_probability(skill *sk, int method, int r, int t, const float *p,
                              const float *obs, size_t n)
{
    double b;
    sq25_verify_brier(p, obs, n, thresholds[t], &b);
    int64_t h[ROC_THRESHOLDS] = {0}, m[ROC_THRESHOLDS] = {0}, f[ROC_THRESHOLDS] = {0},
            c[ROC_THRESHOLDS] = {0};
    sq25_verify_roc_counts(p, obs, n, thresholds[t], ROC_THRESHOLDS, h, m, f, c);
    const double area = sq25_verify_roc_area(ROC_THRESHOLDS, h, m, f, c);
    sk->brier[method][r][t] += b;
    sk->roc[method][r][t] += area;
    printf("CASE %d lead %d method %d thr %g brier %.6f roc %.6f\n", sk->issue, report_leads[r] * 5,
           method, thresholds[t], b, area);
    if (t == 0)
        sq25_verify_reliability(p, obs, n, thresholds[t], REL_BINS, sk->rel_count[method][r],
                                sk->rel_events[method][r], sk->rel_psum[method][r]);
}

static void extrapolate_lk(sq25_ctx *ctx, const sq25_field *const *in, int method,
                           sq25_field **fc)
{
    const int w = sq25_field_width(in[2]), h = sq25_field_height(in[2]);
    float *u = malloc(sizeof(float) * w * h), *v = malloc(sizeof(float) * w * h);
    sq25_motion_options *mo = NULL;
    sq25_motion_options_create(ctx, &mo);
    sq25_motion_options_set_method(mo, method);
    int step = (int)(sq25_field_valid_time(in[2]) - sq25_field_valid_time(in[1]));
    if (sq25_motion_estimate(ctx, in, 3, mo, u, v) ||
        sq25_extrapolate(ctx, in[2], u, v, step, N_LEADS, 2, fc)) {
        fprintf(stderr, "bench_ensemble: %s\n", sq25_errmsg(ctx));
        exit(1);
    }
    sq25_motion_options_destroy(mo);
    free(u);
    free(v);
}

static void score_amounts(sq25_ctx *ctx, frames *fl, int issue, const sq25_ensemble *e,
                          const sq25_field *latest, const float *u, const float *v, skill *sk)
{
    const int w = sq25_field_width(latest), h = sq25_field_height(latest);
    const size_t n = (size_t)w * h;
    float *obs = calloc(n, sizeof(float)), *det = malloc(sizeof(float) * n);
    float *grid[N_ACC], *ind = malloc(sizeof(float) * n);
    for (int m = 0; m < N_ACC; m++) grid[m] = malloc(sizeof(float) * n);
    for (int k = 1; k <= N_LEADS; k++) {
        const float *f = sq25_field_data_const(get(ctx, fl, issue + k));
        for (size_t i = 0; i < n; i++) obs[i] += f[i] * (5.0f / 60.0f); /* NaN stays NaN */
    }
    if (sq25_extrapolate_accumulation(ctx, latest, u, v, 300, N_LEADS, 2, det)) {
        fprintf(stderr, "bench_ensemble: %s\n", sq25_errmsg(ctx));
        exit(1);
    }
    for (int t = 0; t < N_ACC_THR; t++) {
        const float *pe = sq25_field_data_const(sq25_ensemble_accumulation_probability(e, 0, t));
        memcpy(grid[ACC_ENS], pe, sizeof(float) * n);
        window_mean(pe, w, h, N_LEADS, 0, 0, grid[ACC_BLEND]);
        for (size_t i = 0; i < n; i++)
            ind[i] = isnan(det[i]) ? NAN : det[i] >= acc_thresholds[t] ? 1.0f : 0.0f;
        window_mean(ind, w, h, N_LEADS, 0, 0, grid[ACC_NBHD]);
        for (size_t i = 0; i < n; i++) {
            grid[ACC_DEFAULT][i] = (float)(0.35 * grid[ACC_BLEND][i] + 0.65 * grid[ACC_NBHD][i]);
            grid[ACC_OLD_DEFAULT][i] = (float)(0.7 * grid[ACC_BLEND][i] + 0.3 * grid[ACC_NBHD][i]);
            grid[ACC_SHRINK][i] = (float)(0.35 * grid[ACC_BLEND][i] + 0.65 * grid[ACC_NBHD][i]);
        }
        shrink_probability(grid[ACC_SHRINK], n, 60, grid[ACC_SHRINK]);
        float *o = malloc(sizeof(float) * n);
        memcpy(o, obs, sizeof(float) * n);
        common_mask(grid, N_ACC, o, n);
        for (int m = 0; m < N_ACC; m++) {
            double b;
            /* observed event amount > threshold: equal values have no weight for real amounts */
            sq25_verify_brier(grid[m], o, n, acc_thresholds[t], &b);
            int64_t hh[ROC_THRESHOLDS] = {0}, mm[ROC_THRESHOLDS] = {0}, ff[ROC_THRESHOLDS] = {0},
                    cc[ROC_THRESHOLDS] = {0};
            sq25_verify_roc_counts(grid[m], o, n, acc_thresholds[t], ROC_THRESHOLDS, hh, mm, ff, cc);
            sk->acc_brier[m][t] += b;
            sk->acc_roc[m][t] += sq25_verify_roc_area(ROC_THRESHOLDS, hh, mm, ff, cc);
            if (t == 0)
                sq25_verify_reliability(grid[m], o, n, acc_thresholds[t], REL_BINS,
                                        sk->acc_rel_count[m], sk->acc_rel_events[m],
                                        sk->acc_rel_psum[m]);
        }
        free(o);
    }
    sk->acc_cases++;
    for (int m = 0; m < N_ACC; m++) free(grid[m]);
    free(ind);
    free(obs);
    free(det);
}

static void print_amounts(const skill *sk)
{
    const double c = sk->acc_cases;
    printf("\n60-min amount from the issue time (the warnings' probability; window 12 cells):\n");
    printf("| method | Brier 1 / 5 / 10 mm | ROC area 1 / 5 / 10 mm | worst reliability gap 1 mm |\n"
           "|---|---|---|---|\n");
    for (int m = 0; m < N_ACC; m++) {
        int64_t total = 0;
        for (int b = 0; b < REL_BINS; b++) total += sk->acc_rel_count[m][b];
        double worst = 0;
        for (int b = 0; b < REL_BINS; b++) {
            const int64_t cnt = sk->acc_rel_count[m][b];
            if (!cnt || cnt * 100 < total) continue;
            const double gap = fabs(sk->acc_rel_psum[m][b] / cnt - (double)sk->acc_rel_events[m][b] / cnt);
            if (gap > worst) worst = gap;
        }
        printf("| %s | %.4f / %.4f / %.4f | %.3f / %.3f / %.3f | %.3f |\n", acc_names[m],
               sk->acc_brier[m][0] / c, sk->acc_brier[m][1] / c, sk->acc_brier[m][2] / c,
               sk->acc_roc[m][0] / c, sk->acc_roc[m][1] / c, sk->acc_roc[m][2] / c, worst);
    }
}

/* SQ25_BENCH_DUMP=DIR: the raw grids of each case and reported lead (float32, row-major,
 * NaN kept) as DIR/case<issue>_lead<k>.f32: the members, then the LK and dense deterministic
 * forecasts, then the observation; DIR/grid.txt has width height members. For exploring the
 * probability post-processing offline (bench/ensemble_postprocess.py). */
static void dump_case(int issue, int k, const sq25_ensemble *e, int members, const sq25_field *lk,
                      const sq25_field *dense, const float *obs, size_t n)
{
    const char *dir = getenv("SQ25_BENCH_DUMP");
    if (!dir || !*dir) return;
    char path[4200];
    snprintf(path, sizeof path, "%s/grid.txt", dir);
    FILE *g = fopen(path, "w");
    if (g) {
        fprintf(g, "%d %d %d\n", sq25_field_width(lk), sq25_field_height(lk), members);
        fclose(g);
    }
    snprintf(path, sizeof path, "%s/case%d_lead%d.f32", dir, issue, k);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    for (int m = 0; m < members; m++)
        fwrite(sq25_field_data_const(sq25_ensemble_member(e, m, k - 1)), sizeof(float), n, f);
    fwrite(sq25_field_data_const(lk), sizeof(float), n, f);
    fwrite(sq25_field_data_const(dense), sizeof(float), n, f);
    fwrite(obs, sizeof(float), n, f);
    if (fclose(f)) {
        perror(path);
        exit(1);
    }
}

/* CRPS of the distributions the probabilities describe (sq25_verify_crps_neighbourhood, on
 * the unmasked members and control, the cells where the observation and every member are
 * valid, the same cells as the members' CRPS): the members pooled over the window of half
 * side k at lead k (blend c=1), and that with the control member (the dense extrapolation)
 * at weight 0.3 (the default of 1.2-1.5) and 0.65 (the library's default since 1.6). */
static const char *pooled_names[N_POOLED] = {"blend c=1 (members pooled over the window)",
                                             "blend c=1 + control 0.3 (1.2-1.5)",
                                             "blend c=1 + control 0.65 (default)"};

static void score_pooled_crps(sq25_ctx *ctx, skill *sk, int r, const sq25_ensemble *e,
                              int members, const float *control, const float *obs, int w, int h)
{
    const int k = report_leads[r];
    const float *raw[SQ25_ENSEMBLE_MAX_MEMBERS];
    for (int m = 0; m < members; m++) raw[m] = sq25_field_data_const(sq25_ensemble_member(e, m, k - 1));
    const int half[N_POOLED] = {k, k, k};
    const double weight[N_POOLED] = {0, 0.3, 0.65};
    for (int q = 0; q < N_POOLED; q++) {
        double crps = NAN, bound = NAN;
        const double t0 = (double)clock() / CLOCKS_PER_SEC;
        if (sq25_verify_crps_neighbourhood(ctx, raw, members, weight[q] > 0 ? control : NULL,
                                           weight[q], w, h, half[q], obs, &crps, &bound)) {
            fprintf(stderr, "bench_ensemble: %s\n", sq25_errmsg(ctx));
            exit(1);
        }
        sk->pooled_crps[q][r] += crps;
        sk->pooled_bound[q][r] += bound;
        printf("CRPSPOOL %d lead %d pooled %d %.6f bound %.6f cpu %.2f s\n", sk->issue, k * 5, q,
               crps, bound, (double)clock() / CLOCKS_PER_SEC - t0);
    }
}

static void run_case(sq25_ctx *ctx, frames *fl, int issue, int members, int threads, skill *sk)
{
    const sq25_field *in[3] = {get(ctx, fl, issue - 2), get(ctx, fl, issue - 1), get(ctx, fl, issue)};
    const int w = sq25_field_width(in[2]), h = sq25_field_height(in[2]);
    const size_t n = (size_t)w * h;
    float *u = malloc(sizeof(float) * n), *v = malloc(sizeof(float) * n);
    double t0 = (double)clock() / CLOCKS_PER_SEC;
    sq25_ensemble_options *eo = NULL;
    sq25_ensemble_options_create(ctx, &eo);
    sq25_ensemble_options_set_members(eo, members);
    sq25_ensemble_options_set_threads(eo, threads);
    sq25_ensemble_options_set_keep_members(eo, 1);
    sq25_ensemble_options_set_quantiles(eo, 0, NULL);
    const int acc_minutes[1] = {60};
    sq25_ensemble_options_set_accumulations(eo, 1, acc_minutes);
    sq25_ensemble_options_set_accumulation_thresholds(eo, N_ACC_THR, acc_thresholds);
    /* the members' own fractions: the bench makes the blends and mixes itself */
    sq25_ensemble_options_set_neighbourhood(eo, 0);
    sq25_ensemble_options_set_control_weight(eo, 0);
    sq25_ensemble_options_set_motion_perturbation(eo, env_int("SQ25_BENCH_PERTURB", 1));
    sq25_ensemble_options_set_mask(eo, env_int("SQ25_BENCH_MASK", 1));
    sq25_ensemble_options_set_cascade_levels(eo, env_int("SQ25_BENCH_LEVELS", 6));
    if (env_int("SQ25_BENCH_POWERLAW", 0)) sq25_ensemble_options_set_noise(eo, SQ25_ENSEMBLE_NOISE_POWERLAW);
    apply_tuning(eo);
    sq25_ensemble *e = NULL;
    if (sq25_motion_estimate(ctx, in, 3, NULL, u, v) ||
        sq25_ensemble_run(ctx, eo, in, 3, u, v, N_LEADS, &e)) {
        fprintf(stderr, "bench_ensemble: %s\n", sq25_errmsg(ctx));
        exit(1);
    }
    sk->cpu_s += (double)clock() / CLOCKS_PER_SEC - t0;
    sq25_field *lk[N_LEADS], *dense[N_LEADS];
    extrapolate_lk(ctx, in, SQ25_MOTION_LK, lk);
    extrapolate_lk(ctx, in, SQ25_MOTION_DENSE, dense);
    float *obs = malloc(sizeof(float) * n), *grids[2 * N_METHODS], *scratch = malloc(sizeof(float) * n);
    for (int k = 0; k < 2 * N_METHODS; k++) grids[k] = malloc(sizeof(float) * n);
    const float *mem[SQ25_ENSEMBLE_MAX_MEMBERS];
    float *memc[SQ25_ENSEMBLE_MAX_MEMBERS];
    for (int m = 0; m < members; m++) memc[m] = malloc(sizeof(float) * n);
    for (int r = 0; r < N_REPORT; r++) {
        const int k = report_leads[r];
        memcpy(obs, sq25_field_data_const(get(ctx, fl, issue + k)), sizeof(float) * n);
        /* grids: [method * 2 + threshold] */
        for (int t = 0; t < N_THR; t++) {
            const float *pe = sq25_field_data_const(sq25_ensemble_probability(e, k - 1, t));
            memcpy(grids[M_ENS * 2 + t], pe, sizeof(float) * n);
            window_mean(sq25_field_data_const(lk[k - 1]), w, h, k, thresholds[t], 1, grids[M_NBHD_LK * 2 + t]);
            window_mean(sq25_field_data_const(dense[k - 1]), w, h, k, thresholds[t], 1, grids[M_NBHD_DENSE * 2 + t]);
            for (int b = 0; b < N_BLENDS; b++)
                window_mean(pe, w, h, (int)ceil(blend_cells_per_step[b] * k - 1e-9), 0, 0,
                            grids[(M_BLEND_05 + b) * 2 + t]);
            window_mean(sq25_field_data_const(dense[k - 1]), w, h, (int)ceil(1.5 * k - 1e-9),
                        thresholds[t], 1, scratch);
            for (int x = 0; x < N_MIXES; x++) {
                const int b = mix_cells_per_step[x] == 1 ? M_BLEND_1 : M_BLEND_15;
                const float *det = mix_cells_per_step[x] == 1 ? grids[M_NBHD_DENSE * 2 + t] : scratch;
                float *out = grids[(M_MIX + x) * 2 + t];
                const float *ens = grids[b * 2 + t];
                for (size_t i = 0; i < n; i++)
                    out[i] = (float)(mix_weight[x] * ens[i] + (1 - mix_weight[x]) * det[i]);
            }
            shrink_probability(grids[(M_MIX + SHRINK_MIX) * 2 + t], n, 5.0 * k,
                               grids[M_SHRINK * 2 + t]);
        }
        dump_case(issue, k, e, members, lk[k - 1], dense[k - 1], obs, n);
        common_mask(grids, 2 * N_METHODS, obs, n);
        for (int m = 0; m < members; m++) {
            memcpy(memc[m], sq25_field_data_const(sq25_ensemble_member(e, m, k - 1)), sizeof(float) * n);
            for (size_t i = 0; i < n; i++)
                if (isnan(obs[i])) memc[m][i] = NAN;
            mem[m] = memc[m];
        }
        for (int meth = 0; meth < N_METHODS; meth++)
            for (int t = 0; t < N_THR; t++) score_probability(sk, meth, r, t, grids[meth * 2 + t], obs, n);
        double crps;
        sq25_verify_crps(mem, members, obs, n, &crps);
        sk->crps[r] += crps;
        for (int x = 0; x < N_MIXES; x++) {
            const double c = weighted_crps(mem, members, sq25_field_data_const(dense[k - 1]),
                                           mix_weight[x], obs, n);
            sk->crps_mix[x][r] += c;
            printf("CRPSMIX %d lead %d method %d %.6f\n", issue, report_leads[r] * 5, M_MIX + x, c);
        }
        printf("CRPS %d lead %d %.6f\n", issue, report_leads[r] * 5, crps);
        score_pooled_crps(ctx, sk, r, e, members, sq25_field_data_const(dense[k - 1]), obs, w, h);
        sq25_verify_rank_histogram(mem, members, obs, n, sk->rank[r]);
    }
    score_amounts(ctx, fl, issue, e, in[2], u, v, sk);
    sk->cases++;
    for (int meth = 0; meth < N_METHODS; meth++)
        for (int r = 0; r < N_REPORT; r++) {
            printf("REL %d lead %d method %d", issue, report_leads[r] * 5, meth);
            for (int b = 0; b < REL_BINS; b++)
                printf(" %lld %lld %.3f", (long long)sk->rel_count[meth][r][b],
                       (long long)sk->rel_events[meth][r][b], sk->rel_psum[meth][r][b]);
            printf("\n");
        }
    fflush(stdout);
    for (int m = 0; m < members; m++) free(memc[m]);
    for (int k = 0; k < 2 * N_METHODS; k++) free(grids[k]);
    free(scratch);
    for (int k = 0; k < N_LEADS; k++) {
        sq25_field_destroy(lk[k]);
        sq25_field_destroy(dense[k]);
    }
    free(obs);
    free(u);
    free(v);
    sq25_ensemble_destroy(e);
    sq25_ensemble_options_destroy(eo);
}

/* Largest |mean probability - observed frequency| over the reliability bins holding at least
 * 1 % of the cells (the issue's calibration criterion at 1 mm/h). */
static double worst_reliability_gap(const skill *sk, int m, int r)
{
    int64_t total = 0;
    for (int b = 0; b < REL_BINS; b++) total += sk->rel_count[m][r][b];
    double worst = 0;
    for (int b = 0; b < REL_BINS; b++) {
        const int64_t cnt = sk->rel_count[m][r][b];
        if (!cnt || cnt * 100 < total) continue;
        const double gap = fabs(sk->rel_psum[m][r][b] / cnt - (double)sk->rel_events[m][r][b] / cnt);
        if (gap > worst) worst = gap;
    }
    return worst;
}

static void print_skill(const data_set *s, const skill *sk, int members)
{
    const double c = sk->cases;
    printf("\n%s: %d cases (issue %d..%d), %d members; ensemble (motion + members) %.1f s CPU per case\n",
           s->name, sk->cases, sk->first_issue, sk->issue, members, sk->cpu_s / c);
    printf("| lead | method | Brier 1 / 5 mm/h | ROC area 1 / 5 | CRPS (mm/h) | worst reliability gap 1 mm/h |\n"
           "|---|---|---|---|---|---|\n");
    for (int r = 0; r < N_REPORT; r++) {
        const int lead = report_leads[r] * 5;
        for (int m = 0; m < N_METHODS; m++) {
            printf("| %d min | %s | %.4f / %.4f | %.3f / %.3f | ", lead, method_names[m],
                   sk->brier[m][r][0] / c, sk->brier[m][r][1] / c, sk->roc[m][r][0] / c,
                   sk->roc[m][r][1] / c);
            if (m == M_ENS) printf("%.3f", sk->crps[r] / c);
            if (m >= M_MIX && m < M_MIX + N_MIXES) printf("%.3f (cell)", sk->crps_mix[m - M_MIX][r] / c);
            printf(" | %.3f |\n", worst_reliability_gap(sk, m, r));
        }
        if (strcmp(s->name, "rmi") == 0 && sk->cases == 16) {
            printf("| %d min | pysteps STEPS (reference) | %.4f / %.4f | %.3f / %.3f | %.3f | |\n", lead,
                   ref_steps[r][0], ref_steps[r][1], ref_steps[r][2], ref_steps[r][3], ref_steps[r][4]);
            printf("| %d min | neighbourhood LK (reference) | %.4f / %.4f | %.3f / %.3f |  | |\n", lead,
                   ref_nbhd[r][0], ref_nbhd[r][1], ref_nbhd[r][2], ref_nbhd[r][3]);
        }
    }
    for (int m = 0; m < N_METHODS; m++) {
        printf("\nreliability > 1 mm/h, %s (bin: mean probability / observed frequency / cells):\n", method_names[m]);
        for (int r = 0; r < N_REPORT; r++) {
            printf("  %2d min:", report_leads[r] * 5);
            for (int b = 0; b < REL_BINS; b++) {
                const int64_t cnt = sk->rel_count[m][r][b];
                if (!cnt) {
                    printf(" [-]");
                    continue;
                }
                double pm = sk->rel_psum[m][r][b] / cnt, fr = (double)sk->rel_events[m][r][b] / cnt;
                printf(" [%.2f %.2f %lld]", pm, fr, (long long)cnt);
            }
            printf("  worst |p - f| in bins >= 1%%: %.3f\n", worst_reliability_gap(sk, m, r));
        }
    }
    printf("\nCRPS (mm/h) of the distributions the probabilities describe (threshold integral of the "
           "Brier score, sq25_verify_crps_neighbourhood; +- its error bound); members' CRPS "
           "(exact) beside:\n| lead | members (exact) |");
    for (int q = 0; q < N_POOLED; q++) printf(" %s |", pooled_names[q]);
    printf("\n|---|---|");
    for (int q = 0; q < N_POOLED; q++) printf("---|");
    printf("\n");
    for (int r = 0; r < N_REPORT; r++) {
        printf("| %d min | %.4f |", report_leads[r] * 5, sk->crps[r] / c);
        for (int q = 0; q < N_POOLED; q++)
            printf(" %.4f +- %.4f |", sk->pooled_crps[q][r] / c, sk->pooled_bound[q][r] / c);
        printf("\n");
    }
    print_amounts(sk);
    printf("\nrank histogram (fractions, rank 0 .. %d):\n", members);
    for (int r = 0; r < N_REPORT; r++) {
        int64_t total = 0;
        for (int k = 0; k <= members; k++) total += sk->rank[r][k];
        printf("  %2d min:", report_leads[r] * 5);
        for (int k = 0; k <= members; k++) printf(" %.3f", total ? (double)sk->rank[r][k] / total : 0);
        printf("\n");
    }
}

static void run_skill(sq25_ctx *ctx, const data_set *s)
{
    char dir[1024];
    if (set_dir(s, dir, sizeof dir)) {
        printf("\n%s: skipped (no %s)\n", s->name, s->dir);
        return;
    }
    frames fl;
    list(dir, s->suffix, &fl);
    if (fl.n <= s->last_issue + N_LEADS) {
        printf("\n%s: skipped (%d frames, %d needed)\n", s->name, fl.n, s->last_issue + N_LEADS + 1);
        return;
    }
    const int max_cases = env_int("SQ25_BENCH_CASES", 1000), members = env_int("SQ25_BENCH_MEMBERS", 20);
    const int threads = env_int("SQ25_BENCH_THREADS", 0);
    skill *sk = calloc(1, sizeof *sk);
    const int first = env_int("SQ25_BENCH_FIRST", 0);
    printf("METHODS");
    for (int m = 0; m < N_METHODS; m++) printf("%s%s", m ? "|" : " ", method_names[m]);
    printf("\n");
    for (int i = s->first_issue + first * s->stride, c = 0; i <= s->last_issue && c < max_cases;
         i += s->stride, c++) {
        forget_before(&fl, i - 2);
        sk->issue = i;
        if (c == 0) sk->first_issue = i;
        run_case(ctx, &fl, i, members, threads, sk);
        fprintf(stderr, "  %s case %d (issue %d) done\n", s->name, c + 1, i);
    }
    print_skill(s, sk, members);
    free(sk);
    forget_before(&fl, fl.n);
    for (int i = 0; i < fl.n; i++) free(fl.paths[i]);
}

/* ---- speed ---------------------------------------------------------------------------------- */

/* Stage wall seconds of the last speed child, in memory shared with the parent: read +
 * motion, ensemble (members and blend), write (0 when streamed), ensemble + write. */
enum { STAGE_MOTION, STAGE_ENSEMBLE, STAGE_WRITE, STAGE_BOTH, STAGES };
static double *stage_wall;

/* The whole process in a child: read 3 frames, motion, ensemble (members > 0) or
 * extrapolation, write; streamed: sq25_ensemble_run_netcdf (the write overlapping the
 * leads), else sq25_ensemble_run then sq25_ensemble_write_netcdf. Prints wall and CPU
 * seconds of each stage. */
static void speed_child(frames *fl, int issue, int members, int streamed, int threads,
                        const char *out)
{
    sq25_ctx *ctx = sq25_ctx_create();
    double c[4];
    c[0] = cpu_s();
    double t0 = now_s();
    const sq25_field *in[3] = {get(ctx, fl, issue - 2), get(ctx, fl, issue - 1), get(ctx, fl, issue)};
    const size_t n = (size_t)sq25_field_width(in[2]) * sq25_field_height(in[2]);
    float *u = malloc(sizeof(float) * n), *v = malloc(sizeof(float) * n);
    double t1 = now_s();
    if (sq25_motion_estimate(ctx, in, 3, NULL, u, v)) exit(2);
    double t2 = now_s(), t3;
    c[1] = cpu_s();
    int rc;
    if (members > 0) {
        sq25_ensemble_options *eo = NULL;
        sq25_ensemble_options_create(ctx, &eo);
        sq25_ensemble_options_set_members(eo, members);
        sq25_ensemble_options_set_threads(eo, threads);
        sq25_ensemble *e = NULL;
        if (streamed) rc = sq25_ensemble_run_netcdf(ctx, eo, in, 3, u, v, N_LEADS, out, NULL);
        else rc = sq25_ensemble_run(ctx, eo, in, 3, u, v, N_LEADS, &e);
        t3 = now_s();
        c[2] = cpu_s();
        if (!rc && !streamed) rc = sq25_ensemble_write_netcdf(e, out);
        sq25_ensemble_destroy(e);
        sq25_ensemble_options_destroy(eo);
    } else {
        sq25_field *fc[N_LEADS];
        rc = sq25_extrapolate(ctx, in[2], u, v, 300, N_LEADS, 2, fc);
        t3 = now_s();
        c[2] = cpu_s();
        sq25_odim_writer *w = NULL;
        if (!rc) rc = sq25_odim_writer_create(ctx, out, &w);
        for (int k = 0; !rc && k < N_LEADS; k++)
            rc = sq25_odim_writer_add(w, fc[k], "RATE", sq25_field_valid_time(fc[k]) - 300, sq25_field_valid_time(fc[k]));
        if (w) {
            int crc = sq25_odim_writer_close(w);
            rc = rc ? rc : crc;
        }
        for (int k = 0; k < N_LEADS; k++) sq25_field_destroy(fc[k]);
    }
    double t4 = now_s();
    c[3] = cpu_s();
    if (rc) {
        fprintf(stderr, "bench_ensemble: %s\n", sq25_errmsg(ctx));
        exit(2);
    }
    if (streamed)
        printf("read %.3f s + motion %.3f s (CPU of both %.3f s), ensemble + streamed write %.3f s "
               "(CPU %.3f s); ", t1 - t0, t2 - t1, c[1] - c[0], t3 - t2, c[2] - c[1]);
    else
        printf("read %.3f s + motion %.3f s (CPU of both %.3f s), %s %.3f s (CPU %.3f s), write "
               "%.3f s (CPU %.3f s); ", t1 - t0, t2 - t1, c[1] - c[0],
               members ? "ensemble" : "extrapolation", t3 - t2, c[2] - c[1], t4 - t3, c[3] - c[2]);
    stage_wall[STAGE_MOTION] = t2 - t0;
    stage_wall[STAGE_ENSEMBLE] = streamed ? 0 : t3 - t2;
    stage_wall[STAGE_WRITE] = t4 - t3;
    stage_wall[STAGE_BOTH] = t4 - t2;
    fflush(stdout);
    exit(0);
}

/* The command line itself, `sq25 nowcast F1 F2 F3 --leads 60 [--members 20] --out F`, as a
 * child process: whole-process wall and CPU (user + sys) and peak RSS. */
static void run_cli(const char *cli, char *const files[3], int members, int threads,
                    const char *out)
{
    char m[16], t[16];
    snprintf(m, sizeof m, "%d", members);
    snprintf(t, sizeof t, "%d", threads);
    char *argv[16] = {(char *)cli, "nowcast", files[0], files[1], files[2], "--leads", "60",
                      "--threads", t, "--out", (char *)out};
    int argc = 11;
    if (members > 0) {
        argv[argc++] = "--members";
        argv[argc++] = m;
    }
    argv[argc] = NULL;
    fflush(stdout);
    const double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout)) _exit(127);
        execv(cli, argv);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    const double wall = now_s() - t0;
    const double cpu = ru.ru_utime.tv_sec + 1e-6 * ru.ru_utime.tv_usec + ru.ru_stime.tv_sec +
                       1e-6 * ru.ru_stime.tv_usec;
    printf("cli %s: wall %.2f s, CPU %.2f s, peak RSS %.0f MB%s\n",
           members ? "sq25 nowcast --members 20" : "sq25 nowcast (deterministic)", wall, cpu,
           ru.ru_maxrss / 1024.0, WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "" : " (FAILED)");
    if (members) printf("  per member: %.3f s CPU (whole process / %d)\n", cpu / members, members);
    remove(out);
}

static void run_speed(void)
{
    char dir[1024];
    if (set_dir(&sets[0], dir, sizeof dir)) {
        printf("speed: skipped (no %s)\n", sets[0].dir);
        return;
    }
    frames fl;
    list(dir, sets[0].suffix, &fl);
    const int issue = fl.n > 13 ? 13 : fl.n - 1, threads = env_int("SQ25_BENCH_THREADS", 0);
    /* a fresh folder under $TMPDIR (else /tmp) for this run's output files */
    const char *base = getenv("TMPDIR");
    char out[4352], tmpdir[4096];
    snprintf(tmpdir, sizeof tmpdir, "%s/bench_ensemble_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("bench_ensemble: mkdtemp");
        return;
    }
    printf("speed: 700x700 RMI case %s, 12 leads of 5 min, whole process per run (wall and CPU "
           "of the child; the machine is shared, so wall time depends on the load)\n",
           fl.paths[issue]);
    /* deterministic, ensemble then write, ensemble with the streamed write; twice */
    static const int runs[6] = {0, 20, 20, 0, 20, 20}, streamed[6] = {0, 0, 1, 0, 0, 1};
    stage_wall = mmap(NULL, STAGES * sizeof(double), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (stage_wall == MAP_FAILED) {
        perror("bench_ensemble: mmap");
        return;
    }
    double split_write = 0, split_both = 0;
    for (int k = 0; k < 6; k++) {
        snprintf(out, sizeof out, "%s/run%d.%s", tmpdir, k, runs[k] ? "nc" : "h5");
        fflush(stdout);
        double t0 = now_s();
        pid_t pid = fork();
        if (pid == 0) speed_child(&fl, issue, runs[k], streamed[k], threads, out);
        int status = 0;
        struct rusage ru;
        wait4(pid, &status, 0, &ru);
        double wall = now_s() - t0;
        double cpu = ru.ru_utime.tv_sec + 1e-6 * ru.ru_utime.tv_usec + ru.ru_stime.tv_sec + 1e-6 * ru.ru_stime.tv_usec;
        printf("%s: wall %.2f s, CPU %.2f s, peak RSS %.0f MB%s\n",
               !runs[k] ? "deterministic" : streamed[k] ? "ensemble 20 members, streamed write"
                                                        : "ensemble 20 members, then write",
               wall, cpu, ru.ru_maxrss / 1024.0,
               WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "" : " (FAILED)");
        if (runs[k]) printf("  per member: %.3f s CPU (whole process / 20)\n", cpu / 20);
        if (runs[k] && !streamed[k]) {
            split_write = stage_wall[STAGE_WRITE];
            split_both = stage_wall[STAGE_BOTH];
        } else if (runs[k] && split_write > 0) {
            /* how much of the write the streamed run hid behind the members */
            const double hidden = split_both - stage_wall[STAGE_BOTH];
            printf("  write overlapped: ensemble + write %.2f s streamed against %.2f s then "
                   "%.2f s write: %.2f s of the write's %.2f s hidden (%.0f %%)\n",
                   stage_wall[STAGE_BOTH], split_both - split_write, split_write, hidden,
                   split_write, 100 * hidden / split_write);
        }
        remove(out);
    }
    munmap(stage_wall, STAGES * sizeof(double));
    /* the same through the CLI (SQ25_CLI, else build/sq25), alternating the two runs */
    const char *cli = getenv("SQ25_CLI") ? getenv("SQ25_CLI") : "build/sq25";
    const char *skip = getenv("SQ25_BENCH_SKIP");
    if (skip && strstr(skip, "cli")) printf("cli: skipped (SQ25_BENCH_SKIP)\n");
    else if (access(cli, X_OK) != 0 || issue < 2) printf("cli: skipped (no executable %s)\n", cli);
    else {
        char *files[3] = {fl.paths[issue - 2], fl.paths[issue - 1], fl.paths[issue]};
        printf("cli: %s nowcast %s %s %s --leads 60 --threads %d [--members 20] --out F\n", cli,
               files[0], files[1], files[2], threads);
        for (int k = 0; k < 4; k++) {
            snprintf(out, sizeof out, "%s/cli%d.%s", tmpdir, k, k % 2 ? "nc" : "h5");
            run_cli(cli, files, k % 2 ? 20 : 0, threads, out);
        }
    }
    rmdir(tmpdir);
    for (int i = 0; i < fl.n; i++) free(fl.paths[i]);
}

int main(void)
{
    const char *skip = getenv("SQ25_BENCH_SKIP"), *which = getenv("SQ25_BENCH_SETS");
    if (!skip || !strstr(skip, "speed")) run_speed();
    if (skip && strstr(skip, "skill")) return 0;
    sq25_ctx *ctx = sq25_ctx_create();
    for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++)
        if (!which || strstr(which, sets[k].name)) run_skill(ctx, &sets[k]);
    sq25_ctx_destroy(ctx);
    return 0;
}
