/* fuzz_sensors_csv.c -- the sensor CSV reader (station_id,lon,lat,time_utc,mm) at a 300 s and
 * a 900 s step, then QC on what it read. Seeds: small CSV files, the hostile rows of
 * tests/hostile/. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("sensors.csv", data, size);
    if (!path) return 0;
    sq25_ctx *ctx = sq25_ctx_create();
    /* Small limits keep each run fast; the arithmetic is the same. */
    sq25_ctx_set_limit(ctx, SQ25_LIMIT_SERIES_VALUES, 1 << 16);
    static const int steps[2] = {300, 900};
    for (int k = 0; k < 2; k++) {
        sq25_series *s = NULL;
        if (sq25_series_read_csv(ctx, path, steps[k], &s) == SQ25_OK) {
            sq25_qc_result *r = NULL;
            if (sq25_series_station_count(s) * sq25_series_step_count(s) < 20000)
                sq25_qc_run(s, NULL, &r);
            sq25_qc_result_destroy(r);
            sq25_series *w = NULL;
            sq25_series_window(s, sq25_series_time(s, 0), sq25_series_time(s, 2), &w);
            sq25_series_destroy(w);
        }
        sq25_series_destroy(s);
    }
    sq25_ctx_destroy(ctx);
    return 0;
}
