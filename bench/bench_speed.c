/* bench_speed.c -- speed and memory of the whole chain, each figure beside its baseline in the
 * same run (issue 15):
 *   1. motion + 12-step extrapolation against the plainest scalar kernel (bilinear backward
 *      semi-Lagrangian with the motion held at the arrival cell, 12 output fields written
 *      into pages faulted in beforehand), on 1 and 2 threads, for the Belgian 700 x 700 case
 *      and the European 1900 x 2200 one;
 *   2. the whole `sq25 nowcast` process (read, motion, 12 leads, write) against pysteps'
 *      whole process (bench/pysteps_nowcast.py) when pysteps can be imported, and the peak
 *      RSS of the sq25 process;
 *   3. `sq25 run` on the demo's data (the cycle of `make demo`), with and without maps;
 *   4. one pipeline cycle on a 10 m street grid of 25 x 25 km (6.25 M cells).
 * Runs of the things compared alternate (A B A B ...), and medians are printed. CPU time is
 * the process's user + system time of all its threads; wall time is printed too, but on a
 * shared machine it depends on the load, which is printed (/proc/loadavg) at start and end.
 *
 * Data: $SQ25_DATA, else ../shared/data, else data/ (which lacks the third OPERA frame: that
 * part is then skipped). pysteps: bench/pysteps_nowcast.py run by /usr/bin/python3 with
 * PYTHONPATH=$SQ25_PYSTEPS (a source tree built in place, see
 * ../shared/reference/README.md) when set; a message says when it cannot be imported.
 * SQ25_BENCH_RUNS sets the runs per measurement (default 5); SQ25_BENCH_PARTS a comma list of
 * the parts to run (kernels, whole, demo, city; default all). */
#include "sq25.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LEADS 12
#define SUBSTEPS 2 /* trajectory sub-steps per step, the CLI default */
#define MAX_RUNS 15
#define CLI "build/sq25"

typedef struct {
    double cpu_s, wall_s, rss_mb;
} cost;

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Median CPU, wall and largest RSS of n costs. */
static cost median_cost(const cost *c, int n)
{
    double cpu[MAX_RUNS], wall[MAX_RUNS], rss = 0;
    for (int i = 0; i < n; i++) {
        cpu[i] = c[i].cpu_s;
        wall[i] = c[i].wall_s;
        if (c[i].rss_mb > rss) rss = c[i].rss_mb;
    }
    return (cost){median(cpu, n), median(wall, n), rss};
}

static void print_load(const char *when)
{
    char buf[128] = "?";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
        fclose(f);
    }
    buf[strcspn(buf, "\n")] = 0;
    printf("load average (1, 5, 15 min) %s: %s on %ld online CPUs\n", when, buf,
           sysconf(_SC_NPROCESSORS_ONLN));
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* path of relative under $SQ25_DATA, ../shared/data or data/ (the first that has it). */
static int data_file(const char *relative, char *out, size_t cap)
{
    const char *roots[3] = {getenv("SQ25_DATA"), "../shared/data", "data"};
    for (int k = 0; k < 3; k++) {
        if (!roots[k] || !is_dir(roots[k])) continue;
        snprintf(out, cap, "%s/%s", roots[k], relative);
        if (access(out, R_OK) == 0) return 0;
    }
    return -1;
}

static int runs_wanted(void)
{
    const char *env = getenv("SQ25_BENCH_RUNS");
    int n = env ? atoi(env) : 5;
    return n < 1 ? 1 : n > MAX_RUNS ? MAX_RUNS : n;
}

/* ---- 1. in-process kernels ------------------------------------------------------------ */

/* The plainest kernel: out_k(x) = latest(x - k V(x)), bilinear, NaN outside or next to NaN. */
static void plain_kernel(const float *rate, const float *u, const float *v, int w, int h,
                         float *const *out)
{
    for (int k = 1; k <= LEADS; k++) {
        float *o = out[k - 1];
        for (int r = 0; r < h; r++)
            for (int c = 0; c < w; c++) {
                size_t i = (size_t)r * w + c;
                float x = (float)c - (float)k * u[i], y = (float)r - (float)k * v[i];
                if (!(x >= 0 && y >= 0 && x <= (float)(w - 1) && y <= (float)(h - 1))) {
                    o[i] = NAN;
                    continue;
                }
                int x0 = (int)x, y0 = (int)y;
                if (x0 > w - 2) x0 = w - 2;
                if (y0 > h - 2) y0 = h - 2;
                float fx = x - (float)x0, fy = y - (float)y0;
                const float *p = rate + (size_t)y0 * w + x0;
                o[i] = (1 - fy) * ((1 - fx) * p[0] + fx * p[1]) + fy * ((1 - fx) * p[w] + fx * p[w + 1]);
            }
    }
}

static int sq25_chain(sq25_ctx *ctx, sq25_field **frames, float *u, float *v, float *const *out,
                      double *motion_cpu, double *motion_wall)
{
    double t0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
    int rc = sq25_motion_estimate(ctx, (const sq25_field *const *)frames, 3, NULL, u, v);
    *motion_cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - t0;
    *motion_wall = clock_s(CLOCK_MONOTONIC) - w0;
    sq25_extrapolator *ex = NULL;
    if (rc == SQ25_OK) rc = sq25_extrapolator_create(ctx, frames[2], u, v, SUBSTEPS, &ex);
    for (int k = 0; rc == SQ25_OK && k < LEADS; k++) rc = sq25_extrapolator_next(ex, out[k]);
    sq25_extrapolator_destroy(ex);
    return rc;
}

static void kernels(const char *name, const char *const files[3])
{
    char path[1024];
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *frames[3] = {0};
    for (int k = 0; k < 3; k++) {
        if (data_file(files[k], path, sizeof path) != 0 ||
            sq25_read_field(ctx, path, &frames[k]) != SQ25_OK) {
            printf("%s: %s not found (needs ../shared/data or SQ25_DATA): skipped\n", name,
                   files[k]);
            for (int j = 0; j < k; j++) sq25_field_destroy(frames[j]);
            sq25_ctx_destroy(ctx);
            return;
        }
    }
    const int w = sq25_field_width(frames[0]), h = sq25_field_height(frames[0]);
    const size_t n = (size_t)w * (size_t)h;
    float *u = malloc(n * sizeof *u), *v = malloc(n * sizeof *v), *out[LEADS];
    for (int k = 0; k < LEADS; k++) out[k] = calloc(n, sizeof(float)); /* pages faulted in */
    const int runs = runs_wanted();
    cost plain[MAX_RUNS], one[MAX_RUNS], two[MAX_RUNS];
    double motion1[MAX_RUNS], motion_wall[2][MAX_RUNS], extrap_wall[2][MAX_RUNS];
    for (int i = 0; i < runs; i++) { /* alternate: plain, 1 thread, 2 threads */
        double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
        plain_kernel(sq25_field_data_const(frames[2]), u, v, w, h, out);
        plain[i] = (cost){clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0, clock_s(CLOCK_MONOTONIC) - w0, 0};
        for (int t = 1; t <= 2; t++) {
            double motion_cpu = 0, mw = 0;
            sq25_ctx_set_threads(ctx, t);
            c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
            if (sq25_chain(ctx, frames, u, v, out, &motion_cpu, &mw) != SQ25_OK)
                printf("%s: %s\n", name, sq25_errmsg(ctx));
            cost c = {clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0, clock_s(CLOCK_MONOTONIC) - w0, 0};
            motion_wall[t - 1][i] = mw;
            extrap_wall[t - 1][i] = c.wall_s - mw;
            if (t == 1) one[i] = c, motion1[i] = motion_cpu;
            else two[i] = c;
        }
    }
    cost p = median_cost(plain, runs), a = median_cost(one, runs), b = median_cost(two, runs);
    double m = median(motion1, runs);
    printf("\n%s (%d x %d), motion (dense) + %d-step extrapolation, median of %d alternated "
           "runs:\n", name, w, h, LEADS, runs);
    printf("  %-44s %8s %8s %s\n", "", "CPU s", "wall s", "");
    printf("  %-44s %8.4f %8.4f\n", "plainest scalar kernel (12 steps, 1 thread)", p.cpu_s,
           p.wall_s);
    printf("  %-44s %8.4f %8.4f  %.2fx the plain kernel's CPU (motion %.4f s, "
           "extrapolation %.4f s)\n",
           "sq25 motion + extrapolation, 1 thread", a.cpu_s, a.wall_s, a.cpu_s / p.cpu_s, m,
           a.cpu_s - m);
    printf("  %-44s %8.4f %8.4f  wall speed-up over 1 thread %.2fx (CPU %.2fx of 1 thread; "
           "goal 1.8x)\n",
           "sq25 motion + extrapolation, 2 threads", b.cpu_s, b.wall_s, a.wall_s / b.wall_s,
           b.cpu_s / a.cpu_s);
    const double m1 = median(motion_wall[0], runs), m2 = median(motion_wall[1], runs);
    const double e1 = median(extrap_wall[0], runs), e2 = median(extrap_wall[1], runs);
    printf("  wall, 1 -> 2 threads: motion %.4f -> %.4f s (%.2fx), extrapolation %.4f -> %.4f s "
           "(%.2fx)\n", m1, m2, m1 / m2, e1, e2, e1 / e2);
    for (int k = 0; k < LEADS; k++) free(out[k]);
    free(u);
    free(v);
    for (int k = 0; k < 3; k++) sq25_field_destroy(frames[k]);
    sq25_ctx_destroy(ctx);
}

/* ---- 2, 3. whole processes ------------------------------------------------------------ */

/* Run argv (env: extra "NAME=value" or NULL), stdout to out_path (NULL: /dev/null); its
 * CPU, wall, peak RSS. Returns the exit status, or -1 if it could not run. */
static int run_process_to(char *const argv[], const char *env, const char *out_path, cost *c)
{
    fflush(stdout); /* or the child's freopen would write our buffered lines again */
    double w0 = clock_s(CLOCK_MONOTONIC);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (env) putenv((char *)env);
        if (!freopen(out_path ? out_path : "/dev/null", "w", stdout)) _exit(126);
        if (!freopen("/dev/null", "w", stderr)) _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR) return -1;
    c->wall_s = clock_s(CLOCK_MONOTONIC) - w0;
    c->cpu_s = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
               (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
    c->rss_mb = (double)ru.ru_maxrss / 1024.0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int run_process(char *const argv[], const char *env, cost *c)
{
    return run_process_to(argv, env, NULL, c);
}

static void print_cost(const char *what, cost c)
{
    printf("  %-52s %7.3f %7.3f %7.1f\n", what, c.cpu_s, c.wall_s, c.rss_mb);
}

static void whole_process(const char *tmp)
{
    char f[3][1024], out[1200], nc_dir[1200];
    const char *names[3] = {"radar/rmi_20210704/20210704174500.rad.best.comp.rate.qpe.hdf",
                            "radar/rmi_20210704/20210704175000.rad.best.comp.rate.qpe.hdf",
                            "radar/rmi_20210704/20210704175500.rad.best.comp.rate.qpe.hdf"};
    for (int k = 0; k < 3; k++)
        if (data_file(names[k], f[k], sizeof f[k]) != 0) {
            printf("whole process: %s not found: skipped\n", names[k]);
            return;
        }
    snprintf(out, sizeof out, "%s/fc.h5", tmp);
    snprintf(nc_dir, sizeof nc_dir, "%s", tmp);
    char *sq25_1[] = {CLI, "nowcast", f[0], f[1], f[2], "--out", out, "--threads", "1", NULL};
    char *sq25_2[] = {CLI, "nowcast", f[0], f[1], f[2], "--out", out, "--threads", "2", NULL};
    char *sq25_0[] = {CLI, "nowcast", f[0], f[1], f[2], "--out", out, "--threads", "1",
                      "--compression", "0", NULL};
    char *py9[] = {"/usr/bin/python3", "bench/pysteps_nowcast.py", nc_dir, "12", "9", f[0],
                   f[1], f[2], NULL};
    char *py1[] = {"/usr/bin/python3", "bench/pysteps_nowcast.py", nc_dir, "12", "1", f[0],
                   f[1], f[2], NULL};
    static char pypath[2048];
    const char *ps = getenv("SQ25_PYSTEPS");
    if (ps) snprintf(pypath, sizeof pypath, "PYTHONPATH=%s", ps);
    char stages[1300];
    snprintf(stages, sizeof stages, "%s/pysteps-stages.json", tmp);
    cost probe;
    int py_rc = access(py1[0], X_OK) == 0 ? run_process(py1, ps ? pypath : NULL, &probe) : -1;
    const bool have_py = py_rc == 0;
    if (!have_py)
        printf("\npysteps could not be imported (exit %d; set SQ25_PYSTEPS to a pysteps source "
               "tree built in place, see ../shared/reference/README.md): no side-by-side "
               "ratio\n", py_rc);
    const int runs = runs_wanted(), py_runs = runs < 3 ? runs : 3;
    cost a[MAX_RUNS] = {{0}}, b[MAX_RUNS] = {{0}}, z[MAX_RUNS] = {{0}}, p1[MAX_RUNS] = {{0}},
         p9[MAX_RUNS] = {{0}};
    for (int i = 0; i < runs; i++) { /* alternate */
        if (run_process(sq25_1, NULL, &a[i]) != 0) printf("sq25 nowcast failed\n");
        if (have_py && i < py_runs) run_process_to(py1, ps ? pypath : NULL, stages, &p1[i]);
        run_process(sq25_2, NULL, &b[i]);
        if (have_py && i < py_runs) run_process(py9, ps ? pypath : NULL, &p9[i]);
        run_process(sq25_0, NULL, &z[i]);
    }
    cost ma = median_cost(a, runs), mb = median_cost(b, runs), mz = median_cost(z, runs);
    printf("\nwhole process, Belgian 700 x 700, 3 frames, 12 leads (read, motion, leads, "
           "write), median of %d (pysteps %d):\n", runs, have_py ? py_runs : 0);
    printf("  %-52s %7s %7s %7s\n", "", "CPU s", "wall s", "RSS MiB");
    print_cost("sq25 nowcast, 1 thread (shuffle + deflate 1)", ma);
    print_cost("sq25 nowcast, 2 threads", mb);
    print_cost("sq25 nowcast, 1 thread, --compression 0", mz);
    if (have_py) {
        cost m1 = median_cost(p1, py_runs), m9 = median_cost(p9, py_runs);
        print_cost("pysteps, netCDF deflate 1", m1);
        print_cost("pysteps, netCDF deflate 9 (the exporter's default)", m9);
        printf("  pysteps (deflate 1) / sq25 (deflate 1): %.1fx CPU on 1 thread, %.1fx wall on "
               "2 threads; memory %.1fx\n",
               m1.cpu_s / ma.cpu_s, m1.wall_s / mb.wall_s, m1.rss_mb / ma.rss_mb);
        printf("  pysteps (its default, deflate 9) / sq25 (its default): %.1fx CPU\n",
               m9.cpu_s / ma.cpu_s);
        FILE *fs = fopen(stages, "r"); /* its JSON line, after pysteps' own messages */
        char line[512], json[512] = "";
        while (fs && fgets(line, sizeof line, fs))
            if (line[0] == '{') snprintf(json, sizeof json, "%s", line);
        if (fs) fclose(fs);
        if (json[0]) printf("  pysteps (deflate 1) stages, CPU s, last run: %s", json);
    }
    printf("  peak RSS of the sq25 process: %.1f MiB on 1 thread, %.1f MiB on 2 (target < 40)\n",
           ma.rss_mb, mb.rss_mb);
}

static void demo_cycle(const char *tmp)
{
    const char *times[6] = {"1720", "1725", "1730", "1735", "1740", "1745"};
    char f[6][1024], out[1200];
    for (int k = 0; k < 6; k++) {
        char rel[256];
        snprintf(rel, sizeof rel, "radar/rmi_20210704/20210704%s00.rad.best.comp.rate.qpe.hdf",
                 times[k]);
        if (data_file(rel, f[k], sizeof f[k]) != 0) {
            printf("demo cycle: %s not found: skipped\n", rel);
            return;
        }
    }
    snprintf(out, sizeof out, "%s/run", tmp);
    char *with_maps[] = {CLI, "run", "--radar", f[0], f[1], f[2], f[3], f[4], f[5], "--grid",
                         "lonlat:5.8,49.95,6.4,50.35:100", "--targets", "tests/demo/targets.csv",
                         "--levels", "5,10,15", "--out", out, "--quiet", "--threads", "1", NULL};
    char *no_maps[24], *no_maps_0[26];
    int n = 0;
    while (with_maps[n]) no_maps[n] = with_maps[n], no_maps_0[n] = with_maps[n], n++;
    no_maps[n] = "--no-maps", no_maps[n + 1] = NULL;
    no_maps_0[n] = "--no-maps", no_maps_0[n + 1] = "--compression", no_maps_0[n + 2] = "0";
    no_maps_0[n + 3] = NULL;
    char *two[26], *maps_0[26];
    for (int k = 0; k < n; k++) two[k] = maps_0[k] = with_maps[k];
    two[n - 1] = "2", two[n] = NULL;
    maps_0[n] = "--compression", maps_0[n + 1] = "0", maps_0[n + 2] = NULL;
    const int runs = runs_wanted();
    cost a[MAX_RUNS], b[MAX_RUNS], c[MAX_RUNS], d[MAX_RUNS], e[MAX_RUNS];
    for (int i = 0; i < runs; i++) {
        if (run_process(with_maps, NULL, &a[i]) != 0) printf("sq25 run failed\n");
        run_process(no_maps, NULL, &b[i]);
        run_process(no_maps_0, NULL, &c[i]);
        run_process(maps_0, NULL, &e[i]);
        run_process(two, NULL, &d[i]);
    }
    printf("\nsq25 run, the demo cycle (6 frames read, motion, 12 leads, 446 x 462 street grid at "
           "100 m, warnings, 3 targets; writes forecast.h5 with 14 datasets of 700 x 700, the "
           "GeoJSON, CSV and JSON files and 4 PNG maps), median of %d:\n", runs);
    printf("  %-52s %7s %7s %7s\n", "", "CPU s", "wall s", "RSS MiB");
    print_cost("with maps, 1 thread (goal < 0.25 s CPU)", median_cost(a, runs));
    print_cost("--no-maps, 1 thread", median_cost(b, runs));
    print_cost("with maps, --compression 0, 1 thread", median_cost(e, runs));
    print_cost("--no-maps --compression 0, 1 thread", median_cost(c, runs));
    print_cost("with maps, 2 threads", median_cost(d, runs));
}

/* ---- 4. 10 m street grid ------------------------------------------------------------ */

static void city_grid(void)
{
    const char *times[3] = {"1735", "1740", "1745"};
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_pipeline *p = NULL;
    sq25_field *street = NULL;
    /* 25 x 25 km in UTM 32N around 6.1 E, 50.15 N (cs2cs EPSG:4326 EPSG:32632: 292829,
     * 5559335), where the storm of the bundled frames passes */
    if (sq25_pipeline_create(ctx, &p) != SQ25_OK ||
        sq25_grid_parse(ctx, "EPSG:32632:280000,5547000,305000,5572000:10", 0, &street) !=
            SQ25_OK ||
        sq25_pipeline_set_street_grid(p, street) != SQ25_OK) {
        printf("city grid: %s\n", sq25_errmsg(ctx));
        goto done;
    }
    for (int k = 0; k < 3; k++) {
        char rel[256], path[1024];
        sq25_field *f = NULL;
        snprintf(rel, sizeof rel, "radar/rmi_20210704/20210704%s00.rad.best.comp.rate.qpe.hdf",
                 times[k]);
        if (data_file(rel, path, sizeof path) != 0 || sq25_read_field(ctx, path, &f) != SQ25_OK ||
            sq25_pipeline_push_frame(p, f) != SQ25_OK) {
            printf("city grid: %s: cannot be read: skipped\n", rel);
            sq25_field_destroy(f);
            goto done;
        }
        sq25_field_destroy(f);
    }
    const int runs = runs_wanted() < 3 ? runs_wanted() : 3;
    cost c[2][MAX_RUNS];
    for (int i = 0; i <= runs; i++)
        for (int t = 2; t >= 1; t--) {
            sq25_ctx_set_threads(ctx, t);
            sq25_warning *w = NULL;
            double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
            if (sq25_pipeline_run(p, &w) != SQ25_OK) printf("city grid: %s\n", sq25_errmsg(ctx));
            cost k = {clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0, clock_s(CLOCK_MONOTONIC) - w0, 0};
            sq25_warning_destroy(w);
            if (i > 0) c[t - 1][i - 1] = k; /* run 0 builds the pixel map: not a steady cycle */
        }
    cost one = median_cost(c[0], runs), two = median_cost(c[1], runs);
    printf("\none pipeline cycle on a 10 m street grid, 25 x 25 km (%d x %d = %.2f M cells; "
           "motion, 12 leads, resampling, warnings), median of %d:\n",
           sq25_field_width(street), sq25_field_height(street),
           (double)sq25_field_width(street) * sq25_field_height(street) / 1e6, runs);
    printf("  2 threads: %.3f s wall, %.3f s CPU (goal < 1 s wall)\n", two.wall_s, two.cpu_s);
    printf("  1 thread:  %.3f s wall, %.3f s CPU (wall speed-up %.2fx)\n", one.wall_s,
           one.cpu_s, one.wall_s / two.wall_s);
done:
    sq25_field_destroy(street);
    sq25_pipeline_destroy(p);
    sq25_ctx_destroy(ctx);
}

/* Whether part is in $SQ25_BENCH_PARTS (all parts when unset). */
static bool wanted(const char *part)
{
    const char *env = getenv("SQ25_BENCH_PARTS");
    if (!env || !env[0]) return true;
    const size_t n = strlen(part);
    for (const char *p = env; (p = strstr(p, part)) != NULL; p += n)
        if ((p == env || p[-1] == ',') && (p[n] == ',' || p[n] == 0)) return true;
    return false;
}

int main(void)
{
    /* a fresh folder under $TMPDIR (else /tmp) for this run's output files */
    const char *base = getenv("TMPDIR");
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s/sq25-bench-speed-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    print_load("at start");
    const char *rmi[3] = {"radar/rmi_20210704/20210704174500.rad.best.comp.rate.qpe.hdf",
                          "radar/rmi_20210704/20210704175000.rad.best.comp.rate.qpe.hdf",
                          "radar/rmi_20210704/20210704175500.rad.best.comp.rate.qpe.hdf"};
    const char *opera[3] = {"radar/opera_20180824/T_PAAH21_C_EUOC_20180824180000.hdf",
                            "radar/opera_20180824/T_PAAH21_C_EUOC_20180824181500.hdf",
                            "radar/opera_20180824/T_PAAH21_C_EUOC_20180824183000.hdf"};
    if (wanted("kernels")) kernels("Belgian RMI", rmi);
    if (wanted("kernels")) kernels("European OPERA", opera);
    if (wanted("whole")) whole_process(tmp);
    if (wanted("demo")) demo_cycle(tmp);
    if (wanted("city")) city_grid();
    print_load("at end");
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : 1;
}
