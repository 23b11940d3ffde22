/* qc_periods.c -- the longest flagged periods of the Amsterdam PWS file under the default QC:
 * for the outlier and faulty-zero flags, the first three runs per station of at least 1 h
 * (outlier) or 1 day (faulty zero). Used for docs/sensors.md. Run from the repository root. */
#include "sq25.h"

#include <stdio.h>

static void print_runs(const sq25_series *s, const uint8_t *flags, int station, int bit,
                       const char *name, long min_steps)
{
    long nt = (long)sq25_series_step_count(s), start = -1;
    int printed = 0;
    for (long t = 0; t <= nt && printed < 3; t++) {
        int on = t < nt && (flags[(long)station * nt + t] & bit);
        if (on && start < 0) start = t;
        if (on || start < 0) continue;
        if (t - start >= min_steps) {
            char a[32], b[32];
            sq25_time_format(sq25_series_time(s, start), a, sizeof a);
            sq25_time_format(sq25_series_time(s, t - 1), b, sizeof b);
            printf("%-12s %-6s %s .. %s (%ld steps)\n", name, sq25_series_station_id(s, station),
                   a, b, t - start);
            printed++;
        }
        start = -1;
    }
}

int main(void)
{
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_series *s = NULL;
    sq25_qc_result *r = NULL;
    const char *path = "data/gauges/amsterdam_pws_2017/test_dataset.nc";
    if (sq25_series_read_netcdf(ctx, path, &s) || sq25_qc_run(s, NULL, &r)) {
        fprintf(stderr, "qc_periods: %s\n", sq25_errmsg(ctx));
        return 1;
    }
    for (int i = 0; i < sq25_series_station_count(s); i++)
        print_runs(s, sq25_qc_flags(r), i, SQ25_QC_FLAG_OUTLIER, "outlier", 12);
    for (int i = 0; i < sq25_series_station_count(s); i++)
        print_runs(s, sq25_qc_flags(r), i, SQ25_QC_FLAG_FAULTY_ZERO, "faulty-zero", 288);
    sq25_qc_result_destroy(r);
    sq25_series_destroy(s);
    sq25_ctx_destroy(ctx);
    return 0;
}
