/* verify.c -- skill scores of a forecast against an observation: contingency counts (POD, FAR,
 * CSI), the fractions skill score (Roberts & Lean 2008) with summed-area tables, and MAE. */
#include "internal.h"

#include <math.h>
#include <string.h>

enum { HITS = 0, MISSES = 1, FALSE_ALARMS = 2, CORRECT_NEGATIVES = 3 };

int sq25_verify_contingency(const float *forecast, const float *observed, size_t n,
                            double threshold_mmh, int64_t counts[4])
{
    if (!forecast || !observed || !counts || isnan(threshold_mmh)) return SQ25_ERR_INVALID_ARG;
    int64_t c[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        float f = forecast[i], o = observed[i];
        if (isnan(f) || isnan(o)) continue;
        int forecast_event = f > threshold_mmh, observed_event = o > threshold_mmh;
        if (forecast_event && observed_event) c[HITS]++;
        else if (observed_event) c[MISSES]++;
        else if (forecast_event) c[FALSE_ALARMS]++;
        else c[CORRECT_NEGATIVES]++;
    }
    memcpy(counts, c, sizeof c);
    return SQ25_OK;
}

void sq25_verify_categorical_scores(const int64_t counts[4], double *pod, double *far,
                                    double *csi)
{
    double hits = counts ? (double)counts[HITS] : 0, misses = counts ? (double)counts[MISSES] : 0;
    double false_alarms = counts ? (double)counts[FALSE_ALARMS] : 0;
    if (pod) *pod = hits + misses > 0 ? hits / (hits + misses) : NAN;
    if (far) *far = hits + false_alarms > 0 ? false_alarms / (hits + false_alarms) : NAN;
    if (csi)
        *csi = hits + misses + false_alarms > 0 ? hits / (hits + misses + false_alarms) : NAN;
}

int sq25_verify_mae(const float *forecast, const float *observed, size_t n, double *mae_mmh)
{
    if (!forecast || !observed || !mae_mmh) return SQ25_ERR_INVALID_ARG;
    double sum = 0;
    size_t valid = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(forecast[i]) || isnan(observed[i])) continue;
        sum += fabs((double)forecast[i] - (double)observed[i]);
        valid++;
    }
    *mae_mmh = valid ? sum / (double)valid : NAN;
    return SQ25_OK;
}

/* Summed-area table of the binary events (value >= threshold where both fields are valid: a
 * cell NaN in either field is no event in both, the reference protocol's "cells valid in
 * both"), with one row and one column of zeros in front: sat[(r+1)*(w+1)+(c+1)] = events in
 * rows 0..r, cols 0..c. */
static void event_summed_area(const float *values, const float *other, int width, int height,
                              double threshold, int32_t *sat)
{
    const size_t stride = (size_t)width + 1;
    memset(sat, 0, stride * sizeof *sat);
    for (int r = 0; r < height; r++) {
        int32_t *row = sat + (size_t)(r + 1) * stride, *above = row - stride;
        const float *in = values + (size_t)r * (size_t)width;
        const float *in_other = other + (size_t)r * (size_t)width;
        int32_t running = 0;
        row[0] = 0;
        for (int c = 0; c < width; c++) {
            running += in[c] >= threshold && !isnan(in_other[c]); /* false for NaN */
            row[c + 1] = above[c + 1] + running;
        }
    }
}

/* Events in the window of side `window` around (r, c), zero padding outside the grid. */
static int32_t window_events(const int32_t *sat, int width, int height, int r, int c,
                             int window)
{
    int r0 = r - window / 2, c0 = c - window / 2;
    int r1 = r0 + window, c1 = c0 + window; /* exclusive */
    if (r0 < 0) r0 = 0;
    if (c0 < 0) c0 = 0;
    if (r1 > height) r1 = height;
    if (c1 > width) c1 = width;
    const size_t stride = (size_t)width + 1;
    return sat[(size_t)r1 * stride + (size_t)c1] - sat[(size_t)r0 * stride + (size_t)c1] -
           sat[(size_t)r1 * stride + (size_t)c0] + sat[(size_t)r0 * stride + (size_t)c0];
}

int sq25_verify_fss(sq25_ctx *ctx, const float *forecast, const float *observed, int width,
                    int height, double threshold_mmh, int window_px, double *fss)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!forecast || !observed || !fss || width <= 0 || height <= 0 || window_px < 1 ||
        isnan(threshold_mmh))
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_verify_fss: bad argument");
    int rc = sq25__check_grid_size(ctx, width, height, "sq25_verify_fss");
    if (rc) return rc;
    size_t cells = ((size_t)width + 1) * ((size_t)height + 1);
    int32_t *sat_f = sq25__malloc(ctx, cells * sizeof *sat_f);
    int32_t *sat_o = sq25__malloc(ctx, cells * sizeof *sat_o);
    if (!sat_f || !sat_o) {
        sq25__free(ctx, sat_f);
        sq25__free(ctx, sat_o);
        return SQ25_ERR_NOMEM;
    }
    event_summed_area(forecast, observed, width, height, threshold_mmh, sat_f);
    event_summed_area(observed, forecast, width, height, threshold_mmh, sat_o);
    const double area = (double)window_px * (double)window_px;
    double sum_sq_diff = 0, sum_ref = 0;
    for (int r = 0; r < height; r++)
        for (int c = 0; c < width; c++) {
            double pf = window_events(sat_f, width, height, r, c, window_px) / area;
            double po = window_events(sat_o, width, height, r, c, window_px) / area;
            sum_sq_diff += (pf - po) * (pf - po);
            sum_ref += pf * pf + po * po;
        }
    sq25__free(ctx, sat_f);
    sq25__free(ctx, sat_o);
    *fss = sum_ref > 0 ? 1.0 - sum_sq_diff / sum_ref : NAN;
    return sq25__ok(ctx);
}
