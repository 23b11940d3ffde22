/* verify_ensemble.c -- probabilistic scores: CRPS of an ensemble, Brier score, reliability
 * table, ROC counts and area, rank histogram. Cells count where the observation and the
 * forecast (every member, for member-based scores) are valid. */
#include "ensemble_internal.h"

#include <math.h>
#include <string.h>

/* Members' values at cell i into v (NULL when any is NaN); returns their count. */
static int gather(const float *const *members, int n_members, size_t i, float *v)
{
    for (int m = 0; m < n_members; m++) {
        v[m] = members[m][i];
        if (isnan(v[m])) return 0;
    }
    return n_members;
}

int sq25_verify_crps(const float *const *members, int n_members, const float *observed,
                     size_t n, double *crps_mmh)
{
    if (!members || n_members < 1 || n_members > 1000 || !observed || !crps_mmh)
        return SQ25_ERR_INVALID_ARG;
    for (int m = 0; m < n_members; m++)
        if (!members[m]) return SQ25_ERR_INVALID_ARG;
    float v[1000];
    double total = 0;
    size_t cells = 0;
    for (size_t i = 0; i < n; i++) {
        const float y = observed[i];
        if (isnan(y) || !gather(members, n_members, i, v)) continue;
        /* sorted members: sum_{j<k} |x_j - x_k| = sum_k (2k - M + 1) x_k (k 0-based) */
        sq25__ens_sort_small(v, n_members);
        double to_obs = 0, spread = 0;
        for (int k = 0; k < n_members; k++) {
            to_obs += fabs((double)v[k] - y);
            spread += (2.0 * k - n_members + 1) * v[k];
        }
        const double m = n_members;
        total += to_obs / m - spread / (m * m);
        cells++;
    }
    *crps_mmh = cells ? total / (double)cells : NAN;
    return SQ25_OK;
}

int sq25_verify_brier(const float *probability, const float *observed, size_t n,
                      double threshold_mmh, double *brier)
{
    if (!probability || !observed || !brier || isnan(threshold_mmh)) return SQ25_ERR_INVALID_ARG;
    double sum = 0;
    size_t cells = 0;
    for (size_t i = 0; i < n; i++) {
        const float p = probability[i], y = observed[i];
        if (isnan(p) || isnan(y)) continue;
        const double d = p - (y > threshold_mmh ? 1.0 : 0.0);
        sum += d * d;
        cells++;
    }
    *brier = cells ? sum / (double)cells : NAN;
    return SQ25_OK;
}

int sq25_verify_reliability(const float *probability, const float *observed, size_t n,
                            double threshold_mmh, int n_bins, int64_t *count, int64_t *events,
                            double *probability_sum)
{
    if (!probability || !observed || !count || !events || !probability_sum || n_bins < 1 ||
        n_bins > 100 || isnan(threshold_mmh))
        return SQ25_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++) {
        const float p = probability[i], y = observed[i];
        if (isnan(p) || isnan(y)) continue;
        int b = (int)floor(p * n_bins);
        b = b < 0 ? 0 : b >= n_bins ? n_bins - 1 : b;
        count[b]++;
        events[b] += y > threshold_mmh;
        probability_sum[b] += p;
    }
    return SQ25_OK;
}

int sq25_verify_roc_counts(const float *probability, const float *observed, size_t n,
                           double threshold_mmh, int n_thresholds, int64_t *hits,
                           int64_t *misses, int64_t *false_alarms, int64_t *correct_negatives)
{
    if (!probability || !observed || !hits || !misses || !false_alarms || !correct_negatives ||
        n_thresholds < 2 || n_thresholds > 101 || isnan(threshold_mmh))
        return SQ25_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++) {
        const float p = probability[i], y = observed[i];
        if (isnan(p) || isnan(y)) continue;
        /* observed event as the reference figures count it: value >= threshold */
        const int event = y >= threshold_mmh;
        for (int j = 0; j < n_thresholds; j++) {
            const int warned = p >= (double)j / (n_thresholds - 1);
            if (warned && event) hits[j]++;
            else if (event) misses[j]++;
            else if (warned) false_alarms[j]++;
            else correct_negatives[j]++;
        }
    }
    return SQ25_OK;
}

double sq25_verify_roc_area(int n_thresholds, const int64_t *hits, const int64_t *misses,
                            const int64_t *false_alarms, const int64_t *correct_negatives)
{
    if (n_thresholds < 2 || !hits || !misses || !false_alarms || !correct_negatives) return NAN;
    double prev_pofd = 1, prev_pod = 1, area = 0;
    for (int j = 0; j <= n_thresholds; j++) {
        double pod = 0, pofd = 0;
        if (j < n_thresholds) {
            const double ev = (double)hits[j] + misses[j], non = (double)false_alarms[j] + correct_negatives[j];
            if (!(ev > 0) || !(non > 0)) return NAN;
            pod = hits[j] / ev;
            pofd = false_alarms[j] / non;
        }
        area += (prev_pofd - pofd) * (prev_pod + pod) / 2;
        prev_pofd = pofd;
        prev_pod = pod;
    }
    return area;
}

int sq25_verify_rank_histogram(const float *const *members, int n_members,
                               const float *observed, size_t n, int64_t *counts)
{
    if (!members || n_members < 1 || n_members > 1000 || !observed || !counts)
        return SQ25_ERR_INVALID_ARG;
    for (int m = 0; m < n_members; m++)
        if (!members[m]) return SQ25_ERR_INVALID_ARG;
    float v[1000];
    uint64_t state = 0x9e3779b97f4a7c15ULL; /* fixed seed: reproducible tie splitting */
    for (size_t i = 0; i < n; i++) {
        const float y = observed[i];
        if (isnan(y) || !gather(members, n_members, i, v)) continue;
        int below = 0, equal = 0;
        for (int m = 0; m < n_members; m++) {
            below += v[m] < y;
            equal += v[m] == y;
        }
        if (equal > 0) { /* the observation's rank among ties: uniform over equal + 1 slots */
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            below += (int)(state % (uint64_t)(equal + 1));
        }
        counts[below]++;
    }
    return SQ25_OK;
}
