/* bench_nowcast.c -- skill and speed of the nowcast on real radar sequences, beside the
 * reference figures (persistence and pysteps 1.x on the same protocol).
 *
 * Protocol (the reference figures' own): frames sorted by time; for each issue index i, the
 * motion comes from frames i-2, i-1, i and frame i is extrapolated; lead k is verified
 * against frame i+k where both are valid; each score is averaged over the cases (NaN scores,
 * e.g. CSI with no event, are left out of the mean).
 *   rmi_20210704   5 min, issue 11..26 (16 cases), leads 5..60 min
 *   knmi_20100826  5 min, issue 11, 15, ..., 79 (18 cases), leads 5..60 min
 *   opera_20180824 15 min, issue 3..19 (17 cases), leads 15..60 min
 * Data: $SQ25_DATA, else ../shared/data, else data/ (which holds only part of the RMI set);
 * a set that is not there is skipped with a message. SQ25_BENCH_SETS=rmi,knmi,opera picks sets.
 * Speed: motion and 12-step extrapolation of one 700x700 RMI case on one thread, median of
 * several runs (CPU time of the process), peak RSS from getrusage. */
#include "sq25.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

/* Internal tuning knobs of the motion (lib/motion.c), reachable from benchmarks only: set
 * SQ25_MOTION_TUNE="key=value,key=value" (e.g. finest_level=3,regularisation=0.2). */
int sq25__motion_options_tune(sq25_motion_options *opt, const char *key, double value);

static void apply_tuning(sq25_motion_options *opt)
{
    const char *env = getenv("SQ25_MOTION_TUNE");
    char key[64];
    double value;
    int used;
    while (env && sscanf(env, "%63[^=]=%lf%n", key, &value, &used) == 2) {
        if (strcmp(key, "window_radius") == 0)
            sq25_motion_options_set_window_radius(opt, (int)value);
        else if (sq25__motion_options_tune(opt, key, value) != SQ25_OK)
            fprintf(stderr, "bench: unknown tuning key %s\n", key);
        env += used;
        env = *env == ',' ? env + 1 : NULL;
    }
}

#define MAX_FRAMES 128
#define MAX_LEADS 12
#define N_SCORES 5 /* CSI 1, CSI 5, CSI 10 mm/h, FSS(5 mm/h, 15 px), MAE */
#define SPEED_RUNS 7
#define SUBSTEPS 2 /* trajectory sub-steps per time step, as the CLI default */

static const double csi_thresholds[3] = {1, 5, 10};
static const char *score_names[N_SCORES] = {"CSI>1", "CSI>5", "CSI>10", "FSS15", "MAE"};

typedef struct {
    const char *name, *dir, *suffix;
    int first_issue, last_issue, issue_stride, n_leads;
    /* reference figures at the last lead: persistence and pysteps LK, -1 = not known */
    double persistence_ref[N_SCORES], pysteps_ref[N_SCORES];
} data_set;

static const data_set sets[] = {
    {"rmi", "radar/rmi_20210704", ".hdf", 11, 26, 1, 12,
     {0.071, 0.004, 0.001, 0.038, 0.228}, {0.178, 0.042, 0.015, 0.296, 0.198}},
    {"knmi", "radar/knmi_20100826", ".h5", 11, 79, 4, 12,
     {0.118, -1, -1, -1, -1}, {0.308, -1, -1, -1, -1}},
    {"opera", "radar/opera_20180824", ".hdf", 3, 19, 1, 4,
     {-1, -1, -1, -1, -1}, {-1, -1, -1, -1, -1}},
};

/* ---- files and frames ---------------------------------------------------------------- */

typedef struct {
    char *paths[MAX_FRAMES];
    int n;
    sq25_field *cache[MAX_FRAMES];
} frame_list;

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Directory of a set: $SQ25_DATA, ../shared/data, data/ in that order. */
static int find_set_dir(const data_set *s, char *out, size_t cap)
{
    const char *roots[3] = {getenv("SQ25_DATA"), "../shared/data", "data"};
    for (int k = 0; k < 3; k++) {
        if (!roots[k]) continue;
        snprintf(out, cap, "%s/%s", roots[k], s->dir);
        if (is_dir(out)) return 0;
    }
    return -1;
}

/* File names sort by time in all three sets (time stamps in the names, fixed width). */
static int list_frames(const char *dir, const char *suffix, frame_list *fl)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *e;
    memset(fl, 0, sizeof *fl);
    while ((e = readdir(d)) && fl->n < MAX_FRAMES) {
        size_t len = strlen(e->d_name), sl = strlen(suffix);
        if (len <= sl || strcmp(e->d_name + len - sl, suffix) != 0) continue;
        size_t cap = strlen(dir) + len + 2;
        fl->paths[fl->n] = malloc(cap);
        snprintf(fl->paths[fl->n++], cap, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    qsort(fl->paths, (size_t)fl->n, sizeof *fl->paths, by_name);
    return 0;
}

static sq25_field *frame(sq25_ctx *ctx, frame_list *fl, int i)
{
    if (!fl->cache[i] && sq25_read_field(ctx, fl->paths[i], &fl->cache[i]) != SQ25_OK) {
        fprintf(stderr, "bench: %s\n", sq25_errmsg(ctx));
        exit(1);
    }
    return fl->cache[i];
}

/* Drop cached frames before index keep_from (bounded memory on long sequences). */
static void forget_before(frame_list *fl, int keep_from)
{
    for (int i = 0; i < keep_from && i < fl->n; i++) {
        sq25_field_destroy(fl->cache[i]);
        fl->cache[i] = NULL;
    }
}

static void frame_list_free(frame_list *fl)
{
    forget_before(fl, fl->n);
    for (int i = 0; i < fl->n; i++) free(fl->paths[i]);
}

/* ---- scores ------------------------------------------------------------------------- */

typedef struct {
    double sum[MAX_LEADS][N_SCORES];
    int count[MAX_LEADS][N_SCORES];
    double motion_s;
    int cases;
} skill_table;

static void score_lead(sq25_ctx *ctx, const sq25_field *fc, const sq25_field *obs, double *s)
{
    const float *f = sq25_field_data_const(fc), *o = sq25_field_data_const(obs);
    const int w = sq25_field_width(fc), h = sq25_field_height(fc);
    for (int t = 0; t < 3; t++) {
        int64_t counts[4];
        sq25_verify_contingency(f, o, (size_t)w * h, csi_thresholds[t], counts);
        sq25_verify_categorical_scores(counts, NULL, NULL, &s[t]);
    }
    sq25_verify_fss(ctx, f, o, w, h, 5.0, 15, &s[3]);
    sq25_verify_mae(f, o, (size_t)w * h, &s[4]);
}

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* One issue time: motion (method 0 = persistence), extrapolation, scores per lead. */
static void run_case(sq25_ctx *ctx, frame_list *fl, int issue, int n_leads, int method,
                     skill_table *tab, float *u, float *v)
{
    const sq25_field *in[3] = {frame(ctx, fl, issue - 2), frame(ctx, fl, issue - 1),
                               frame(ctx, fl, issue)};
    const size_t n = (size_t)sq25_field_width(in[2]) * sq25_field_height(in[2]);
    const int step_s = (int)(sq25_field_valid_time(in[2]) - sq25_field_valid_time(in[1]));
    double t0 = cpu_seconds();
    if (method) {
        sq25_motion_options *opt = NULL;
        sq25_motion_options_create(ctx, &opt);
        sq25_motion_options_set_method(opt, method);
        apply_tuning(opt);
        if (sq25_motion_estimate(ctx, in, 3, opt, u, v) != SQ25_OK) {
            fprintf(stderr, "bench: motion: %s\n", sq25_errmsg(ctx));
            exit(1);
        }
        sq25_motion_options_destroy(opt);
    } else {
        memset(u, 0, n * sizeof *u);
        memset(v, 0, n * sizeof *v);
    }
    tab->motion_s += cpu_seconds() - t0;
    sq25_field *fc[MAX_LEADS];
    if (sq25_extrapolate(ctx, in[2], u, v, step_s, n_leads, SUBSTEPS, fc) != SQ25_OK) {
        fprintf(stderr, "bench: extrapolate: %s\n", sq25_errmsg(ctx));
        exit(1);
    }
    for (int k = 0; k < n_leads; k++) {
        double s[N_SCORES];
        score_lead(ctx, fc[k], frame(ctx, fl, issue + k + 1), s);
        for (int j = 0; j < N_SCORES; j++)
            if (!isnan(s[j])) {
                tab->sum[k][j] += s[j];
                tab->count[k][j]++;
            }
        sq25_field_destroy(fc[k]);
    }
    tab->cases++;
}

static double mean_score(const skill_table *t, int k, int j)
{
    return t->count[k][j] ? t->sum[k][j] / t->count[k][j] : NAN;
}

static void print_table(const data_set *s, const char *method, const skill_table *t, int step_min)
{
    printf("\n%s, %s: %d cases, motion %.3f s per case (CPU)\n", s->name, method, t->cases,
           t->cases ? t->motion_s / t->cases : 0.0);
    printf("  lead  ");
    for (int j = 0; j < N_SCORES; j++) printf("%-8s", score_names[j]);
    printf("\n");
    for (int k = 0; k < s->n_leads; k++) {
        printf("  %3d   ", (k + 1) * step_min);
        for (int j = 0; j < N_SCORES; j++) printf("%-8.3f", mean_score(t, k, j));
        printf("\n");
    }
}

static void print_reference(const char *label, const double *ref, int lead_min)
{
    printf("  %-32s at %d min: ", label, lead_min);
    for (int j = 0; j < N_SCORES; j++)
        if (ref[j] >= 0) printf("%s %.3f  ", score_names[j], ref[j]);
    printf("\n");
}

static void run_set(sq25_ctx *ctx, const data_set *s)
{
    char dir[1024];
    frame_list fl;
    if (find_set_dir(s, dir, sizeof dir) != 0 || list_frames(dir, s->suffix, &fl) != 0) {
        printf("\n%s: skipped (no %s under $SQ25_DATA, ../shared/data or data/)\n", s->name,
               s->dir);
        return;
    }
    if (fl.n <= s->last_issue + s->n_leads) {
        printf("\n%s: skipped (%s holds %d frames, the protocol needs %d)\n", s->name, dir, fl.n,
               s->last_issue + s->n_leads + 1);
        frame_list_free(&fl);
        return;
    }
    const sq25_field *f0 = frame(ctx, &fl, 0);
    const size_t n = (size_t)sq25_field_width(f0) * sq25_field_height(f0);
    const int step_min =
        (int)(sq25_field_valid_time(frame(ctx, &fl, 1)) - sq25_field_valid_time(f0)) / 60;
    float *u = malloc(n * sizeof *u), *v = malloc(n * sizeof *v);
    const int methods[3] = {0, SQ25_MOTION_LK, SQ25_MOTION_DENSE};
    const char *names[3] = {"persistence", "lk", "dense (default)"};
    for (int m = 0; m < 3; m++) {
        skill_table tab;
        memset(&tab, 0, sizeof tab);
        for (int i = s->first_issue; i <= s->last_issue; i += s->issue_stride) {
            run_case(ctx, &fl, i, s->n_leads, methods[m], &tab, u, v);
            forget_before(&fl, i + s->issue_stride - 2);
        }
        forget_before(&fl, fl.n);
        print_table(s, names[m], &tab, step_min);
    }
    printf("  reference figures (same protocol):\n");
    print_reference("persistence", s->persistence_ref, s->n_leads * step_min);
    print_reference("pysteps 1.x LK + semi-Lagrangian", s->pysteps_ref, s->n_leads * step_min);
    free(u);
    free(v);
    frame_list_free(&fl);
}

/* ---- speed -------------------------------------------------------------------------- */

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void time_method(sq25_ctx *ctx, const sq25_field *const *in, int method, float *u,
                        float *v)
{
    double motion[SPEED_RUNS], advect[SPEED_RUNS];
    const int w = sq25_field_width(in[2]), h = sq25_field_height(in[2]);
    sq25_motion_options *opt = NULL;
    sq25_motion_options_create(ctx, &opt);
    sq25_motion_options_set_method(opt, method);
    apply_tuning(opt);
    for (int r = 0; r < SPEED_RUNS; r++) {
        double t0 = cpu_seconds();
        sq25_motion_estimate(ctx, in, 3, opt, u, v);
        double t1 = cpu_seconds();
        sq25_field *fc[12];
        sq25_extrapolate(ctx, in[2], u, v, 300, 12, SUBSTEPS, fc);
        double t2 = cpu_seconds();
        for (int k = 0; k < 12; k++) sq25_field_destroy(fc[k]);
        motion[r] = t1 - t0;
        advect[r] = t2 - t1;
    }
    sq25_motion_options_destroy(opt);
    qsort(motion, SPEED_RUNS, sizeof(double), compare_doubles);
    qsort(advect, SPEED_RUNS, sizeof(double), compare_doubles);
    double m = motion[SPEED_RUNS / 2], a = advect[SPEED_RUNS / 2];
    printf("  %-6s motion %.4f s, 12-step extrapolation %.4f s, total %.4f s; "
           "%.1f Mpixel/s motion, %.1f Mpixel-steps/s extrapolation\n",
           method == SQ25_MOTION_LK ? "lk" : "dense", m, a, m + a, (double)w * h / m / 1e6,
           12.0 * w * h / a / 1e6);
}

static void run_speed(sq25_ctx *ctx)
{
    const data_set *s = &sets[0];
    char dir[1024];
    frame_list fl;
    if (find_set_dir(s, dir, sizeof dir) != 0 || list_frames(dir, s->suffix, &fl) != 0 ||
        fl.n < 3) {
        printf("speed: skipped (no RMI frames found)\n");
        return;
    }
    const int issue = fl.n > 13 ? 13 : fl.n - 1;
    const sq25_field *in[3] = {frame(ctx, &fl, issue - 2), frame(ctx, &fl, issue - 1),
                               frame(ctx, &fl, issue)};
    const size_t n = (size_t)sq25_field_width(in[2]) * sq25_field_height(in[2]);
    float *u = malloc(n * sizeof *u), *v = malloc(n * sizeof *v);
    printf("speed on %dx%d (%s), one thread, median of %d runs (process CPU time):\n",
           sq25_field_width(in[2]), sq25_field_height(in[2]), fl.paths[issue], SPEED_RUNS);
    time_method(ctx, in, SQ25_MOTION_DENSE, u, v);
    time_method(ctx, in, SQ25_MOTION_LK, u, v);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("  peak RSS so far (3 input frames, motion, 12 forecasts): %.1f MB\n",
           ru.ru_maxrss / 1024.0);
    printf("  pysteps reference on the 2-core machine: LK motion 1.75 s, 12-step "
           "extrapolation 0.87 s, peak 1.1 GB\n");
    free(u);
    free(v);
    frame_list_free(&fl);
}

int main(void)
{
    sq25_ctx *ctx = sq25_ctx_create();
    if (!ctx) return 1;
    run_speed(ctx);
    const char *pick = getenv("SQ25_BENCH_SETS");
    for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++)
        if (!pick || strstr(pick, sets[k].name)) run_set(ctx, &sets[k]);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("\npeak RSS of the whole benchmark: %.1f MB\n", ru.ru_maxrss / 1024.0);
    sq25_ctx_destroy(ctx);
    return 0;
}
