/* qc_outliers.c -- the station-outlier filter and the bias-correction timeline as the PWSQC
 * R code defines them (de Vos et al. 2019, script PWSQC_3.R), and the indicator-correlation
 * filter (Bardossy et al. 2021, as in pypwsqc). Written from the published description and
 * the reference code's documented behaviour:
 * - each station has its own evaluation window ending at the step: SO_WINDOW intervals,
 *   extended back until it holds SO_RAINY_MIN intervals where the station is wet;
 * - a neighbour counts when, in that window, more than SO_MIN_MATCHES intervals have values
 *   of both stations (reported, whether wet or dry), and its Pearson correlation is defined;
 * - fewer than MIN_NEIGHBOURS such correlations: not judged; median below SO_GAMMA: outlier;
 * - where judged and not an outlier, the relative bias against each counting neighbour,
 *   mean(station - d * neighbour) / mean(d * neighbour) with d the default factor, gives a
 *   new factor 1 / (1 + median bias); it replaces the current one from the next step on when
 *   it differs by more than a factor 1 + BIAS_BETA.
 * The window start only moves forward in time, so each station keeps running sums per
 * neighbour that gain the new step and lose the steps leaving the window. */
#include "qc_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double n, sx, sy, sxx, syy, sxy; /* x: the station, y: the neighbour */
} pair_sums;

static void sums_add(pair_sums *q, float a, float b, double sign)
{
    if (isnan(a) || isnan(b)) return;
    q->n += sign;
    q->sx += sign * a, q->sy += sign * b;
    q->sxx += sign * (double)a * a, q->syy += sign * (double)b * b;
    q->sxy += sign * (double)a * b;
}

static double sums_corr(const pair_sums *q)
{
    if (q->n < 2) return NAN;
    double cov = q->sxy - q->sx * q->sy / q->n;
    double va = q->sxx - q->sx * q->sx / q->n, vb = q->syy - q->sy * q->sy / q->n;
    if (!(va > 1e-12 * q->n && vb > 1e-12 * q->n)) return NAN; /* a constant series */
    return cov / sqrt(va * vb);
}

/* Per-station scratch of the outlier filter. */
typedef struct {
    pair_sums *sums; /* per neighbour */
    float *corr, *bias;
    int64_t *wet_at; /* steps where the station is wet, in order */
} so_scratch;

/* Start of the evaluation window ending at t, or -1 when it cannot be formed (too early,
 * or fewer than rainy wet intervals so far). */
static int64_t window_start(int64_t t, int64_t win, int64_t rainy, const int64_t *wet_at,
                            int64_t wet_count)
{
    int64_t b = t - win + 1;
    if (b < 0) return -1;
    if (rainy < 1) return b;
    if (wet_count < rainy) return -1;
    int64_t a = wet_at[wet_count - rainy] - 1; /* just before the rainy-th last wet interval */
    if (a < 0) return -1;
    return a < b ? a : b;
}

/* Judge station i at one step from its window sums: 0 = not outlier (bias checked),
 * SQ25_QC_FLAG_OUTLIER or SQ25_QC_FLAG_SO_UNKNOWN. *bias_new: the factor suggested. */
static int judge(const qc_work *w, int deg, so_scratch *sc, double *bias_new)
{
    double matches = w->p[SQ25_QC_SO_MIN_MATCHES], d = w->p[SQ25_QC_BIAS_START];
    int m = 0, mb = 0;
    for (int e = 0; e < deg; e++) {
        const pair_sums *q = &sc->sums[e];
        if (!(q->n > matches)) continue;
        double c = sums_corr(q);
        if (!isnan(c)) sc->corr[m++] = (float)c;
        if (q->sy > 0) sc->bias[mb++] = (float)((q->sx - d * q->sy) / (d * q->sy));
    }
    *bias_new = NAN;
    if (m < w->p[SQ25_QC_MIN_NEIGHBOURS]) return SQ25_QC_FLAG_SO_UNKNOWN;
    if (sq25__qc_median(sc->corr, m) < w->p[SQ25_QC_SO_GAMMA]) return SQ25_QC_FLAG_OUTLIER;
    if (mb > 0) *bias_new = 1.0 / (1.0 + sq25__qc_median(sc->bias, mb));
    return 0;
}

static void station_outliers(qc_work *w, int i, so_scratch *sc, sq25_qc_result *r)
{
    int n = w->n, deg = w->nb_start[i + 1] - w->nb_start[i];
    const int *nb = w->nb + w->nb_start[i];
    int64_t nt = w->nt, win = (int64_t)w->p[SQ25_QC_SO_WINDOW];
    int64_t rainy = (int64_t)w->p[SQ25_QC_SO_RAINY_MIN];
    uint8_t *flags = r->flags + (size_t)i * (size_t)nt;
    float *bias_at = r->bias_at + (size_t)i * (size_t)nt;
    double factor = w->p[SQ25_QC_BIAS_START], log_beta = log1p(w->p[SQ25_QC_BIAS_BETA]);
    bool reports = false;
    for (int64_t t = 0; t < nt && !reports; t++) reports = !isnan(w->vt[(size_t)t * n + i]);
    memset(sc->sums, 0, (size_t)(deg + 1) * sizeof *sc->sums);
    int64_t lo = 0, wet = 0;
    for (int64_t t = 0; t < nt; t++) {
        bias_at[t] = (float)factor;
        if (deg < w->p[SQ25_QC_MIN_NEIGHBOURS] || !reports) {
            flags[t] |= SQ25_QC_FLAG_SO_UNKNOWN;
            continue;
        }
        const float *row = w->vt + (size_t)t * (size_t)n;
        for (int e = 0; e < deg; e++) sums_add(&sc->sums[e], row[i], row[nb[e]], +1);
        if (row[i] > 0) sc->wet_at[wet++] = t;
        int64_t start = window_start(t, win, rainy, sc->wet_at, wet);
        if (start < 0) {
            flags[t] |= SQ25_QC_FLAG_SO_UNKNOWN;
            continue;
        }
        for (; lo < start; lo++) {
            const float *old = w->vt + (size_t)lo * (size_t)n;
            for (int e = 0; e < deg; e++) sums_add(&sc->sums[e], old[i], old[nb[e]], -1);
        }
        double suggested;
        int verdict = judge(w, deg, sc, &suggested);
        flags[t] |= (uint8_t)verdict;
        if (verdict == 0 && isfinite(suggested) && suggested > 0 &&
            fabs(log(suggested / factor)) > log_beta)
            factor = suggested; /* in force from the next step */
    }
    r->bias_factor[i] = factor;
}

int sq25__qc_outliers_and_bias(qc_work *w, sq25_qc_result *r)
{
    sq25_ctx *ctx = w->ctx;
    int max_deg = 0;
    for (int i = 0; i < w->n; i++)
        if (w->nb_start[i + 1] - w->nb_start[i] > max_deg) max_deg = w->nb_start[i + 1] - w->nb_start[i];
    so_scratch sc = {sq25__malloc(ctx, (size_t)(max_deg + 1) * sizeof(pair_sums)),
                     sq25__malloc(ctx, (size_t)(max_deg + 1) * sizeof(float)),
                     sq25__malloc(ctx, (size_t)(max_deg + 1) * sizeof(float)),
                     sq25__malloc(ctx, ((size_t)w->nt + 1) * sizeof(int64_t))};
    int rc = sc.sums && sc.corr && sc.bias && sc.wet_at ? SQ25_OK : SQ25_ERR_NOMEM;
    for (int i = 0; !rc && i < w->n; i++) station_outliers(w, i, &sc, r);
    sq25__free(ctx, sc.sums), sq25__free(ctx, sc.corr), sq25__free(ctx, sc.bias);
    sq25__free(ctx, sc.wet_at);
    return rc;
}

/* ---- indicator correlation ------------------------------------------------------------ */

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The IC_QUANTILE quantile of a station's reported values (as pypwsqc: the value at index
 * floor(n * q) of the sorted values); NaN when it never reports. */
static float series_quantile(const qc_work *w, int i, float *buf)
{
    int64_t m = 0;
    for (int64_t t = 0; t < w->nt; t++) {
        float v = w->vt[(size_t)t * (size_t)w->n + (size_t)i];
        if (!isnan(v)) buf[m++] = v;
    }
    if (m == 0) return NAN;
    qsort(buf, (size_t)m, sizeof *buf, cmp_float);
    int64_t k = (int64_t)((double)m * w->p[SQ25_QC_IC_QUANTILE]);
    return buf[k < m ? k : m - 1];
}

/* Pearson correlation of the two indicator series (value >= threshold and > 0) over the
 * steps where both report; NaN with too few common steps or a constant indicator. */
static double indicator_corr(const qc_work *w, int i, int j, float ti, float tj)
{
    pair_sums q = {0};
    for (int64_t t = 0; t < w->nt; t++) {
        const float *row = w->vt + (size_t)t * (size_t)w->n;
        if (isnan(row[i]) || isnan(row[j])) continue;
        sums_add(&q, row[i] >= ti && row[i] > 0, row[j] >= tj && row[j] > 0, +1);
    }
    return q.n > w->p[SQ25_QC_SO_MIN_MATCHES] ? sums_corr(&q) : NAN;
}

int sq25__qc_indicator(qc_work *w, sq25_qc_result *r)
{
    sq25_ctx *ctx = w->ctx;
    float *thr = sq25__malloc(ctx, ((size_t)w->n + 1) * sizeof(float));
    float *buf = sq25__malloc(ctx, ((size_t)w->nt + 1) * sizeof(float));
    float *corr = sq25__malloc(ctx, ((size_t)w->n + 1) * sizeof(float));
    int rc = thr && buf && corr ? SQ25_OK : SQ25_ERR_NOMEM;
    for (int i = 0; !rc && i < w->n; i++) thr[i] = series_quantile(w, i, buf);
    for (int i = 0; !rc && i < w->n; i++) {
        int m = 0;
        for (int e = w->nb_start[i]; e < w->nb_start[i + 1] && !isnan(thr[i]); e++) {
            int j = w->nb[e];
            double c = isnan(thr[j]) ? NAN : indicator_corr(w, i, j, thr[i], thr[j]);
            if (!isnan(c)) corr[m++] = (float)c;
        }
        r->indicator[i] = m >= w->p[SQ25_QC_MIN_NEIGHBOURS] ? sq25__qc_median(corr, m) : NAN;
        if (!(r->indicator[i] < w->p[SQ25_QC_IC_MIN_CORR])) continue;
        uint8_t *f = r->flags + (size_t)i * (size_t)w->nt;
        for (int64_t t = 0; t < w->nt; t++)
            if (!isnan(w->vt[(size_t)t * (size_t)w->n + (size_t)i])) f[t] |= SQ25_QC_FLAG_INDICATOR;
    }
    sq25__free(ctx, thr), sq25__free(ctx, buf), sq25__free(ctx, corr);
    return rc;
}
