/* links.h -- layout of the microwave-link store, shared by the CML reader and the processing.
 * Not API. */
#ifndef SQ25_LINKS_H
#define SQ25_LINKS_H

#include "internal.h"

struct sq25_links {
    sq25_ctx *ctx;
    int n;            /* sub-links */
    int64_t nt;       /* samples per link */
    int64_t t0;       /* time of sample 0, UTC s */
    int step_s;
    char **ids;
    double *lon0, *lat0, *lon1, *lat1, *length_m, *freq_ghz;
    int *pol;
    float *tsl, *rsl, *rain; /* link-major n x nt; NULL when absent */
};

/* Great-circle distance in metres between two lon/lat points (spherical, R = 6371 km). */
double sq25__haversine_m(double lon0, double lat0, double lon1, double lat1);

#endif
