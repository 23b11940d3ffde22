/* bench_interp.c -- speed of the sensor interpolation: 600 sensors onto a 2000 x 2000 street
 * grid (10 m cells, 20 x 20 km) by nearest neighbour (the reference in the same run), IDW,
 * kriging (with and without the variance field) and radar merging; and QC of the whole
 * Amsterdam PWS file when it is present. One core. Prints CPU seconds of this process; asserts nothing. */
#include "sq25.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Process CPU seconds: on a shared machine the wall clock also counts other people's work;
 * the interpolation is single-threaded, so CPU time is its one-core time. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int check(sq25_ctx *ctx, int rc, const char *what)
{
    if (rc) fprintf(stderr, "bench: %s failed: %s\n", what, sq25_errmsg(ctx));
    return rc;
}

enum { N_SENSORS = 600 };

static void make_sensors(sq25_field *grid, double *lon, double *lat, double *mmh)
{
    double col[N_SENSORS], row[N_SENSORS];
    srand(42);
    for (int i = 0; i < N_SENSORS; i++) {
        col[i] = 2000.0 * rand() / RAND_MAX;
        row[i] = 2000.0 * rand() / RAND_MAX;
        /* a smooth storm plus noise, mm/h */
        mmh[i] = 20 * exp(-(pow(col[i] - 900, 2) + pow(row[i] - 1100, 2)) / (2 * 500.0 * 500.0)) +
                 (double)rand() / RAND_MAX;
    }
    sq25_field_pixel_to_lonlat(grid, N_SENSORS, col, 8, row, 8, lon, 8, lat, 8);
}

static double time_method(sq25_ctx *ctx, int method, sq25_field *g, sq25_field *var,
                          const double *lon, const double *lat, const double *mmh)
{
    double t0 = now_s();
    if (check(ctx, sq25_interp_grid(ctx, NULL, method, N_SENSORS, lon, 8, lat, 8, mmh, 8, g, var),
              "interp"))
        return NAN;
    return now_s() - t0;
}

static void bench_qc(sq25_ctx *ctx)
{
    const char *paths[] = {"data/gauges/amsterdam_pws_2017/test_dataset.nc",
                           "../shared/data/gauges/amsterdam_pws_2017/test_dataset.nc"};
    for (int i = 0; i < 2; i++) {
        sq25_series *s = NULL;
        double t0 = now_s();
        if (sq25_series_read_netcdf(ctx, paths[i], &s) != SQ25_OK) continue;
        double t1 = now_s();
        sq25_qc_result *r = NULL;
        if (!check(ctx, sq25_qc_run(s, NULL, &r), "qc"))
            printf("qc: Amsterdam PWS, %d stations x %lld steps: read %.2f s, QC %.2f s "
                   "(target < 10 s)\n",
                   sq25_series_station_count(s), (long long)sq25_series_step_count(s), t1 - t0,
                   now_s() - t1);
        sq25_qc_result_destroy(r);
        sq25_series_destroy(s);
        return;
    }
    printf("qc: Amsterdam PWS file not found, skipped\n");
}

int main(void)
{
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *g = NULL, *var = NULL, *radar = NULL;
    if (check(ctx, sq25_grid_parse(ctx, "EPSG:32631:620000,5790000,640000,5810000:10", 0, &g),
              "grid") || check(ctx, sq25_field_clone(g, &var), "clone"))
        return 1;
    static double lon[N_SENSORS], lat[N_SENSORS], mmh[N_SENSORS];
    make_sensors(g, lon, lat, mmh);
    printf("interp: %d sensors onto %d x %d cells (10 m), one core\n", N_SENSORS,
           sq25_field_width(g), sq25_field_height(g));
    double t_nn = time_method(ctx, SQ25_INTERP_NEAREST, g, NULL, lon, lat, mmh);
    double t_idw = time_method(ctx, SQ25_INTERP_IDW, g, NULL, lon, lat, mmh);
    double t_kr = time_method(ctx, SQ25_INTERP_KRIGING, g, NULL, lon, lat, mmh);
    double t_krv = time_method(ctx, SQ25_INTERP_KRIGING, g, var, lon, lat, mmh);
    printf("  nearest            %.3f s\n", t_nn);
    printf("  IDW (k=12, p=2)    %.3f s  (%.1fx nearest; target < 0.2 s)\n", t_idw, t_idw / t_nn);
    printf("  kriging            %.3f s  (%.1fx nearest; target < 1 s)\n", t_kr, t_kr / t_nn);
    printf("  kriging + variance %.3f s  (%.1fx nearest)\n", t_krv, t_krv / t_nn);
    /* radar: 1 km LAEA grid covering the area, a smooth field */
    const double gt[6] = {3900000, 1000, 0, 3350000, 0, -1000};
    if (check(ctx, sq25_field_create(ctx, 200, 200, "EPSG:3035", gt, 0, &radar), "radar"))
        return 1;
    float *rd = sq25_field_data(radar);
    for (int r = 0; r < 200; r++)
        for (int c = 0; c < 200; c++) rd[r * 200 + c] = (float)(5 + 4 * sin(c / 9.0) * cos(r / 7.0));
    double t0 = now_s();
    if (check(ctx, sq25_interp_merge(ctx, NULL, radar, N_SENSORS, lon, 8, lat, 8, mmh, 8, g, NULL),
              "merge"))
        return 1;
    double t_merge = now_s() - t0;
    t0 = now_s();
    if (check(ctx, sq25_interp_merge(ctx, NULL, radar, N_SENSORS, lon, 8, lat, 8, mmh, 8, g, var),
              "merge"))
        return 1;
    double t_merge_var = now_s() - t0;
    printf("  merge with radar   %.3f s  (%.1fx nearest; target < 1.5 s)\n", t_merge,
           t_merge / t_nn);
    printf("  merge + variance   %.3f s  (%.1fx nearest)\n", t_merge_var, t_merge_var / t_nn);
    bench_qc(ctx);
    sq25_field_destroy(radar);
    sq25_field_destroy(var);
    sq25_field_destroy(g);
    sq25_ctx_destroy(ctx);
    return 0;
}
