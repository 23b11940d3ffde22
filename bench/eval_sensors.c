/* eval_sensors.c -- evaluation of the sensor interpolation on the Amsterdam PWS data (set D):
 * leave-one-out cross-validation on the heavy-rain days 2017-07-29, 2017-08-30 and
 * 2017-09-08 (5-minute amounts) for nearest neighbour, IDW and kriging, with and without QC;
 * and hourly PWS sums interpolated to the 20 points of the gauge-adjusted radar reference
 * RadarRef_AMS.nc. Prints Markdown tables (docs/sensors.md). Run from the repository root. */
#include "sq25.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const days[] = {"2017-07-29", "2017-08-30", "2017-09-08"};
static const char *const method_names[] = {"nearest", "IDW", "kriging"};
#define N_DAYS 3
#define N_METHODS 3

typedef struct {
    double n, se, sum_err, so, sp, soo, spp, sop;
    long hits, misses, false_alarms;
} scores;

static void add_pair(scores *s, double obs, double pred, double event_mm)
{
    if (!isfinite(obs) || !isfinite(pred)) return;
    double e = pred - obs;
    s->n++, s->se += e * e, s->sum_err += e;
    s->so += obs, s->sp += pred, s->soo += obs * obs, s->spp += pred * pred, s->sop += obs * pred;
    bool o = obs > event_mm, p = pred > event_mm;
    s->hits += o && p, s->misses += o && !p, s->false_alarms += !o && p;
}

static double corr(const scores *s)
{
    double cov = s->sop - s->so * s->sp / s->n;
    double vo = s->soo - s->so * s->so / s->n, vp = s->spp - s->sp * s->sp / s->n;
    return cov / sqrt(vo * vp);
}

static const char *find(const char *rel)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "data/%s", rel);
    FILE *fp = fopen(buf, "rb");
    if (fp) {
        fclose(fp);
        return buf;
    }
    snprintf(buf, sizeof buf, "../shared/data/%s", rel);
    return buf;
}

/* LOO at one step for one method; adds to sc. */
static void loo_step(sq25_ctx *ctx, const sq25_series *s, int64_t k, int method, scores *sc)
{
    int n = sq25_series_station_count(s);
    int64_t nt = sq25_series_step_count(s);
    double lon[512], lat[512], z[512], pred[512];
    int m = 0;
    for (int i = 0; i < n && m < 512; i++) {
        double v = sq25_series_data_const(s)[(size_t)i * nt + k];
        if (isnan(v)) continue;
        sq25_series_station_lonlat(s, i, &lon[m], &lat[m]);
        z[m++] = v;
    }
    if (m < 3) return;
    if (sq25_interp_points(ctx, NULL, method, m, lon, 8, lat, 8, z, 8, m, lon, 8, lat, 8, 1, pred,
                           8, NULL, 0) != SQ25_OK)
        return;
    for (int i = 0; i < m; i++) add_pair(sc, z[i], pred[i], 1.0);
}

static void cross_validation(sq25_ctx *ctx, const sq25_series *raw, const sq25_series *qc)
{
    printf("\n### Leave-one-out cross-validation, 5-minute amounts (mm per 5 min)\n\n");
    printf("| day | QC | method | n | RMSE | bias | corr | CSI > 1 mm |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    for (int d = 0; d < N_DAYS; d++) {
        char t0s[32];
        snprintf(t0s, sizeof t0s, "%sT00:05", days[d]);
        int64_t t0;
        sq25_time_parse(t0s, &t0);
        for (int q = 0; q < 2; q++) {
            const sq25_series *s = q ? qc : raw;
            int64_t k0 = sq25_series_step_at(s, t0);
            for (int method = 0; method < N_METHODS; method++) {
                scores sc = {0};
                for (int64_t k = k0; k < k0 + 288; k++) loo_step(ctx, s, k, method, &sc);
                double csi = (double)sc.hits / (double)(sc.hits + sc.misses + sc.false_alarms);
                printf("| %s | %s | %s | %.0f | %.3f | %+.3f | %.3f | %.3f |\n", days[d],
                       q ? "yes" : "no", method_names[method], sc.n, sqrt(sc.se / sc.n),
                       sc.sum_err / sc.n, corr(&sc), csi);
            }
        }
    }
}

/* Hourly sums (mm) per station of the hour ending at t_end; NaN unless all 12 values exist. */
static void hourly_sums(const sq25_series *s, int64_t t_end, double *sums)
{
    int n = sq25_series_station_count(s);
    int64_t nt = sq25_series_step_count(s), k1 = sq25_series_step_at(s, t_end);
    int per_hour = 3600 / sq25_series_step_s(s);
    for (int i = 0; i < n; i++) {
        double sum = 0;
        for (int64_t k = k1 - per_hour + 1; k <= k1; k++) sum += sq25_series_data_const(s)[(size_t)i * nt + k];
        sums[i] = sum; /* NaN when any value is missing */
    }
}

static void reference_comparison(sq25_ctx *ctx, const sq25_series *qc, const sq25_series *ref)
{
    printf("\n### Hourly PWS sums (after QC) at the 20 points of RadarRef_AMS.nc (mm per hour)\n\n");
    printf("| day | method | n | RMSE | bias | corr |\n|---|---|---|---|---|---|\n");
    int n = sq25_series_station_count(qc), nr = sq25_series_station_count(ref);
    double lon[512], lat[512], rlon[64], rlat[64];
    for (int i = 0; i < nr; i++) sq25_series_station_lonlat(ref, i, &rlon[i], &rlat[i]);
    for (int d = 0; d < N_DAYS; d++) {
        char t0s[32];
        snprintf(t0s, sizeof t0s, "%sT01:00", days[d]);
        int64_t t0;
        sq25_time_parse(t0s, &t0);
        for (int method = 0; method < N_METHODS; method++) {
            scores sc = {0};
            for (int h = 0; h < 24; h++) {
                /* The reference is start-stamped: its value at t covers (t, t + 1 h]. The lag
                 * with the best correlation of the hourly medians shows it (docs/sensors.md). */
                int64_t t_end = t0 + 3600 * h, kr = sq25_series_step_at(ref, t_end - 3600);
                if (kr < 0) continue;
                double sums[512], z[512], pred[64];
                hourly_sums(qc, t_end, sums);
                int m = 0;
                for (int i = 0; i < n; i++) {
                    if (isnan(sums[i])) continue;
                    sq25_series_station_lonlat(qc, i, &lon[m], &lat[m]);
                    z[m++] = sums[i];
                }
                if (m < 3 || sq25_interp_points(ctx, NULL, method, m, lon, 8, lat, 8, z, 8, nr, rlon,
                                                8, rlat, 8, 0, pred, 8, NULL, 0) != SQ25_OK)
                    continue;
                for (int j = 0; j < nr; j++)
                    add_pair(&sc, sq25_series_data_const(ref)[(size_t)j * sq25_series_step_count(ref) + kr],
                             pred[j], 1e9);
            }
            printf("| %s | %s | %.0f | %.3f | %+.3f | %.3f |\n", days[d], method_names[method],
                   sc.n, sqrt(sc.se / sc.n), sc.sum_err / sc.n, corr(&sc));
        }
    }
}

int main(void)
{
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_series *raw = NULL, *qc = NULL, *ref = NULL;
    sq25_qc_result *r = NULL;
    if (sq25_series_read_netcdf(ctx, find("gauges/amsterdam_pws_2017/test_dataset.nc"), &raw) ||
        sq25_qc_run(raw, NULL, &r) || sq25_qc_apply(raw, r, SQ25_QC_REJECT, &qc) ||
        sq25_series_read_netcdf(ctx, find("gauges/amsterdam_pws_2017/RadarRef_AMS.nc"), &ref)) {
        fprintf(stderr, "eval: %s\n", sq25_errmsg(ctx));
        return 1;
    }
    cross_validation(ctx, raw, qc);
    reference_comparison(ctx, qc, ref);
    sq25_qc_result_destroy(r);
    sq25_series_destroy(raw);
    sq25_series_destroy(qc);
    sq25_series_destroy(ref);
    sq25_ctx_destroy(ctx);
    return 0;
}
