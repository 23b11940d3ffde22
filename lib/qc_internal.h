/* qc_internal.h -- the working state shared by the QC filters (qc.c: faulty zeros, high
 * influx; qc_outliers.c: station outliers after the PWSQC R code, bias-correction timeline,
 * indicator correlation). Not API. */
#ifndef SQ25_QC_INTERNAL_H
#define SQ25_QC_INTERNAL_H

#include "sensors.h"

struct sq25_qc_result {
    sq25_ctx *ctx;
    int n_stations;
    int64_t n_steps;
    uint8_t *flags;      /* station-major, like the series */
    double *bias_factor; /* per station: the factor in force after the last step */
    float *bias_at;      /* station-major: the factor in force at each step */
    double *indicator;   /* per station: median indicator correlation, NaN if not run */
    int *n_neighbours;   /* per station */
};

typedef struct {
    sq25_ctx *ctx;
    const double *p;
    int n;              /* stations */
    int64_t nt;         /* steps */
    float *vt;          /* time-major values: vt[t*n + i] */
    int *nb_start;      /* CSR neighbour lists: nb[nb_start[i] .. nb_start[i+1]) */
    int *nb;
    int n_pairs;        /* unique pairs i<j */
    int *pair_a, *pair_b;
    int *nb_pair;       /* pair index of each neighbour list entry */
    float *ref;         /* time-major median of reporting neighbours, NaN if none */
    uint16_t *n_rep;    /* time-major number of reporting neighbours */
} qc_work;

/* Median of n floats (reorders buf). */
float sq25__qc_median(float *buf, int n);
/* Station outliers and the bias-correction timeline (PWSQC): flags OUTLIER / SO_UNKNOWN,
 * fills r->bias_at and r->bias_factor. w->vt holds the series without FZ/HI values. */
int sq25__qc_outliers_and_bias(qc_work *w, sq25_qc_result *r);
/* Indicator-correlation filter: fills r->indicator, flags INDICATOR on the reported steps of
 * stations whose median indicator correlation is below IC_MIN_CORR. */
int sq25__qc_indicator(qc_work *w, sq25_qc_result *r);

#endif
