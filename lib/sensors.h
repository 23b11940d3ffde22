/* sensors.h -- layout of the sensor series store, shared by the sensor readers and QC. */
#ifndef SQ25_SENSORS_H
#define SQ25_SENSORS_H

#include "internal.h"

#define SQ25__BAD_ROW_MESSAGES 20

struct sq25_series {
    sq25_ctx *ctx;
    int n_stations;
    int64_t n_steps;
    int64_t t0;      /* end time of step 0, UTC seconds */
    int step_s;      /* seconds */
    float *values;   /* station-major, mm per step, NaN missing */
    char **ids;      /* per station, may be NULL */
    double *lon, *lat;
    int64_t bad_rows;
    char *bad_msg[SQ25__BAD_ROW_MESSAGES];
};

int sq25__series_copy_stations(const sq25_series *from, sq25_series *to);

#endif
