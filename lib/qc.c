/* qc.c -- quality control of personal weather stations after de Vos et al. (2019, GRL,
 * doi:10.1029/2019GL083731), following the filters of the pypwsqc package: faulty zeros,
 * high influx, station outliers (rolling correlation with neighbours, by running sums) and a
 * per-station bias-correction factor. All values are mm per step of the series. */
#include "qc_internal.h"
#include "spatial.h"

#include <math.h>
#include <string.h>

struct sq25_qc_options {
    sq25_ctx *ctx;
    double p[SQ25_QC_PARAM_COUNT_];
};

static const double qc_defaults[SQ25_QC_PARAM_COUNT_] = {
    [SQ25_QC_NEIGHBOUR_RANGE_M] = 10000, [SQ25_QC_MIN_NEIGHBOURS] = 5,
    [SQ25_QC_FZ_INTERVALS] = 6,          [SQ25_QC_HI_THRESHOLD_A] = 0.4,
    [SQ25_QC_HI_THRESHOLD_B] = 10,       [SQ25_QC_SO_WINDOW] = 4032,
    [SQ25_QC_SO_GAMMA] = 0.15,           [SQ25_QC_SO_MIN_MATCHES] = 200,
    [SQ25_QC_BIAS_START] = 1.24,         [SQ25_QC_BIAS_BETA] = 0.2,
    [SQ25_QC_SO_RAINY_MIN] = 100,        [SQ25_QC_REFERENCE_STEP_S] = 300,
    [SQ25_QC_IC_ENABLE] = 0,             [SQ25_QC_IC_QUANTILE] = 0.99,
    [SQ25_QC_IC_MIN_CORR] = 0.3,
};

int sq25_qc_options_create(sq25_ctx *ctx, sq25_qc_options **out)
{
    if (!ctx || !out) return SQ25_ERR_INVALID_ARG;
    sq25_qc_options *o = sq25__calloc(ctx, 1, sizeof *o);
    if (!o) return SQ25_ERR_NOMEM;
    o->ctx = ctx;
    memcpy(o->p, qc_defaults, sizeof o->p);
    *out = o;
    return SQ25_OK;
}

void sq25_qc_options_destroy(sq25_qc_options *o)
{
    if (o) sq25__free(o->ctx, o);
}

int sq25_qc_options_set(sq25_qc_options *o, int key, double value)
{
    if (!o || key < 0 || key >= SQ25_QC_PARAM_COUNT_) return SQ25_ERR_INVALID_ARG;
    bool counts = key == SQ25_QC_MIN_NEIGHBOURS || key == SQ25_QC_FZ_INTERVALS ||
                  key == SQ25_QC_SO_WINDOW || key == SQ25_QC_SO_MIN_MATCHES ||
                  key == SQ25_QC_SO_RAINY_MIN || key == SQ25_QC_REFERENCE_STEP_S;
    bool ok = isfinite(value) && value >= 0 && (!counts || value == floor(value));
    if (key == SQ25_QC_SO_GAMMA) ok = isfinite(value) && value >= -1 && value <= 1;
    if ((key == SQ25_QC_SO_WINDOW || key == SQ25_QC_FZ_INTERVALS) && value < 1) ok = false;
    if ((key == SQ25_QC_BIAS_START || key == SQ25_QC_HI_THRESHOLD_A ||
         key == SQ25_QC_REFERENCE_STEP_S) && !(value > 0))
        ok = false;
    if (key == SQ25_QC_IC_ENABLE) ok = value == 0 || value == 1;
    if (key == SQ25_QC_IC_QUANTILE) ok = ok && value < 1;
    if (key == SQ25_QC_IC_MIN_CORR) ok = isfinite(value) && value >= -1 && value <= 1;
    if (!ok)
        return sq25__fail(o->ctx, SQ25_ERR_RANGE, "QC parameter %d: value %g not allowed", key,
                          value);
    o->p[key] = value;
    return SQ25_OK;
}

double sq25_qc_options_get(const sq25_qc_options *o, int key)
{
    if (!o || key < 0 || key >= SQ25_QC_PARAM_COUNT_) return NAN;
    return o->p[key];
}

void sq25_qc_result_destroy(sq25_qc_result *r)
{
    if (!r) return;
    sq25__free(r->ctx, r->flags);
    sq25__free(r->ctx, r->bias_factor);
    sq25__free(r->ctx, r->bias_at);
    sq25__free(r->ctx, r->indicator);
    sq25__free(r->ctx, r->n_neighbours);
    sq25__free(r->ctx, r);
}

const uint8_t *sq25_qc_flags(const sq25_qc_result *r) { return r ? r->flags : NULL; }

double sq25_qc_bias_factor(const sq25_qc_result *r, int station)
{
    if (!r || station < 0 || station >= r->n_stations) return NAN;
    return r->bias_factor[station];
}

int sq25_qc_neighbour_count(const sq25_qc_result *r, int station)
{
    if (!r || station < 0 || station >= r->n_stations) return 0;
    return r->n_neighbours[station];
}

/* Median of n floats (reorders buf), quickselect. */
float sq25__qc_median(float *buf, int n)
{
    int k = n / 2;
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        float pivot = buf[(lo + hi) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (buf[i] < pivot) i++;
            while (buf[j] > pivot) j--;
            if (i <= j) {
                float t = buf[i];
                buf[i++] = buf[j];
                buf[j--] = t;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else break;
    }
    float upper = buf[k];
    if (n % 2) return upper;
    float lower = buf[0];
    for (int i = 1; i < k; i++)
        if (buf[i] > lower) lower = buf[i];
    if (k == 0) lower = upper;
    return 0.5f * (lower + upper);
}

static int build_neighbours(qc_work *w, const sq25_series *s)
{
    sq25_ctx *ctx = w->ctx;
    int n = w->n, rc = SQ25_OK;
    double *x = sq25__malloc(ctx, (size_t)n * sizeof(double));
    double *y = sq25__malloc(ctx, (size_t)n * sizeof(double));
    w->nb_start = sq25__calloc(ctx, (size_t)n + 1, sizeof(int));
    if (!x || !y || !w->nb_start) rc = SQ25_ERR_NOMEM;
    double lon_sum = 0, lat_sum = 0;
    int known = 0;
    for (int i = 0; !rc && i < n; i++)
        if (isfinite(s->lon[i]) && isfinite(s->lat[i])) lon_sum += s->lon[i], lat_sum += s->lat[i], known++;
    char utm[32];
    sq25__utm_projdef(known ? lon_sum / known : 0, known ? lat_sum / known : 0, utm, sizeof utm);
    if (!rc) rc = sq25__lonlat_to_xy(ctx, utm, (size_t)n, s->lon, sizeof(double), s->lat,
                                     sizeof(double), x, y);
    double r2 = w->p[SQ25_QC_NEIGHBOUR_RANGE_M] * w->p[SQ25_QC_NEIGHBOUR_RANGE_M];
    size_t total = 0;
    for (int pass = 0; !rc && pass < 2; pass++) {
        total = 0;
        for (int i = 0; i < n; i++) {
            w->nb_start[i] = (int)total;
            for (int j = 0; j < n; j++) {
                double dx = x[i] - x[j], dy = y[i] - y[j];
                if (j == i || !(dx * dx + dy * dy <= r2)) continue;
                if (pass == 1) {
                    w->nb[total] = j;
                    w->nb_pair[total] = -1;
                }
                total++;
            }
        }
        w->nb_start[n] = (int)total;
        if (pass == 0) {
            w->nb = sq25__malloc(ctx, (total + 1) * sizeof(int));
            w->nb_pair = sq25__malloc(ctx, (total + 1) * sizeof(int));
            w->pair_a = sq25__malloc(ctx, (total / 2 + 1) * sizeof(int));
            w->pair_b = sq25__malloc(ctx, (total / 2 + 1) * sizeof(int));
            if (!w->nb || !w->nb_pair || !w->pair_a || !w->pair_b) rc = SQ25_ERR_NOMEM;
        }
    }
    /* Unique pairs, shared by both stations' lists. */
    for (int i = 0; !rc && i < n; i++)
        for (int e = w->nb_start[i]; e < w->nb_start[i + 1]; e++) {
            int j = w->nb[e];
            if (j < i) continue;
            w->pair_a[w->n_pairs] = i;
            w->pair_b[w->n_pairs] = j;
            w->nb_pair[e] = w->n_pairs;
            for (int f = w->nb_start[j]; f < w->nb_start[j + 1]; f++)
                if (w->nb[f] == i) w->nb_pair[f] = w->n_pairs;
            w->n_pairs++;
        }
    sq25__free(ctx, x);
    sq25__free(ctx, y);
    return rc;
}

static void compute_reference(qc_work *w, float *buf)
{
    int n = w->n;
    for (int64_t t = 0; t < w->nt; t++) {
        const float *row = w->vt + (size_t)t * (size_t)n;
        for (int i = 0; i < n; i++) {
            int m = 0;
            for (int e = w->nb_start[i]; e < w->nb_start[i + 1]; e++) {
                float v = row[w->nb[e]];
                if (!isnan(v)) buf[m++] = v;
            }
            size_t k = (size_t)t * (size_t)n + (size_t)i;
            w->n_rep[k] = (uint16_t)m;
            w->ref[k] = m ? sq25__qc_median(buf, m) : NAN;
        }
    }
}

/* Faulty zeros (pypwsqc fz_filter): a station that reported no rain (0, or nothing) in the
 * last FZ_INTERVALS+1 steps while the neighbours' median was > 0 in all of them is flagged,
 * and stays flagged until it reports rain again. */
static void faulty_zeros(const qc_work *w, int i, uint8_t *flags)
{
    int n = w->n, nint = (int)w->p[SQ25_QC_FZ_INTERVALS];
    int dry_run = 0, wet_ref_run = 0;
    bool state = false;
    for (int64_t t = 0; t < w->nt; t++) {
        size_t k = (size_t)t * (size_t)n + (size_t)i;
        float v = w->vt[k], r = w->ref[k];
        dry_run = (v > 0) ? 0 : dry_run + 1;
        wet_ref_run = (r > 0) ? wet_ref_run + 1 : 0;
        if (v > 0) state = false;
        else if (!state && dry_run >= nint + 1 && wet_ref_run >= nint + 1 && t >= nint)
            state = true;
        if (state && v == 0 && w->n_rep[k] >= w->p[SQ25_QC_MIN_NEIGHBOURS])
            flags[(size_t)i * (size_t)w->nt + (size_t)t] |= SQ25_QC_FLAG_FAULTY_ZERO;
    }
}

/* High influx (pypwsqc hi_filter): above B mm while the reference is below A, or above
 * reference * B / A when the reference is at least A. */
static void high_influx_and_coverage(const qc_work *w, int i, uint8_t *flags)
{
    int n = w->n;
    double a = w->p[SQ25_QC_HI_THRESHOLD_A], b = w->p[SQ25_QC_HI_THRESHOLD_B];
    for (int64_t t = 0; t < w->nt; t++) {
        size_t k = (size_t)t * (size_t)n + (size_t)i;
        uint8_t *f = &flags[(size_t)i * (size_t)w->nt + (size_t)t];
        float v = w->vt[k], r = w->ref[k];
        if (isnan(v)) *f |= SQ25_QC_FLAG_MISSING;
        if (w->n_rep[k] < w->p[SQ25_QC_MIN_NEIGHBOURS]) {
            *f |= SQ25_QC_FLAG_FEW_NEIGHBOURS;
            continue;
        }
        if (isnan(v)) continue;
        if ((r < a && v > b) || (r >= a && v > r * b / a)) *f |= SQ25_QC_FLAG_HIGH_INFLUX;
    }
}

static void mask_flagged(qc_work *w, const uint8_t *flags)
{
    for (int i = 0; i < w->n; i++)
        for (int64_t t = 0; t < w->nt; t++)
            if (flags[(size_t)i * (size_t)w->nt + (size_t)t] &
                (SQ25_QC_FLAG_FAULTY_ZERO | SQ25_QC_FLAG_HIGH_INFLUX))
                w->vt[(size_t)t * (size_t)w->n + (size_t)i] = NAN;
}

static void qc_work_free(qc_work *w)
{
    sq25_ctx *ctx = w->ctx;
    sq25__free(ctx, w->vt), sq25__free(ctx, w->nb_start), sq25__free(ctx, w->nb);
    sq25__free(ctx, w->nb_pair), sq25__free(ctx, w->pair_a), sq25__free(ctx, w->pair_b);
    sq25__free(ctx, w->ref), sq25__free(ctx, w->n_rep);
}

static int qc_work_init(qc_work *w, const sq25_series *s, const double *p)
{
    memset(w, 0, sizeof *w);
    w->ctx = s->ctx;
    w->p = p;
    w->n = s->n_stations;
    w->nt = s->n_steps;
    size_t total = (size_t)w->n * (size_t)w->nt;
    w->vt = sq25__malloc(w->ctx, total * sizeof(float));
    w->ref = sq25__malloc(w->ctx, total * sizeof(float));
    w->n_rep = sq25__malloc(w->ctx, total * sizeof(uint16_t));
    if (!w->vt || !w->ref || !w->n_rep) return SQ25_ERR_NOMEM;
    for (int i = 0; i < w->n; i++)
        for (int64_t t = 0; t < w->nt; t++)
            w->vt[(size_t)t * (size_t)w->n + (size_t)i] = s->values[(size_t)i * (size_t)w->nt + (size_t)t];
    return build_neighbours(w, s);
}

/* The parameters for the series' step: counts of intervals keep their durations and amounts
 * per interval their intensities (mm/h), relative to REFERENCE_STEP_S. */
static void scale_to_step(const double *given, int step_s, double *p)
{
    memcpy(p, given, SQ25_QC_PARAM_COUNT_ * sizeof *p);
    double k = p[SQ25_QC_REFERENCE_STEP_S] / step_s;
    static const int counts[] = {SQ25_QC_FZ_INTERVALS, SQ25_QC_SO_WINDOW, SQ25_QC_SO_MIN_MATCHES,
                                 SQ25_QC_SO_RAINY_MIN};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++)
        p[counts[c]] = fmax(1.0, round(p[counts[c]] * k));
    p[SQ25_QC_HI_THRESHOLD_A] /= k;
    p[SQ25_QC_HI_THRESHOLD_B] /= k;
}

int sq25_qc_run(const sq25_series *s, const sq25_qc_options *o, sq25_qc_result **out)
{
    if (!s || !out) return SQ25_ERR_INVALID_ARG;
    sq25_ctx *ctx = s->ctx;
    *out = NULL;
    double p[SQ25_QC_PARAM_COUNT_];
    scale_to_step(o ? o->p : qc_defaults, s->step_s, p);
    qc_work w;
    memset(&w, 0, sizeof w);
    sq25_qc_result *r = sq25__calloc(ctx, 1, sizeof *r);
    float *buf = sq25__malloc(ctx, ((size_t)s->n_stations + 1) * sizeof(float));
    int rc = r && buf ? qc_work_init(&w, s, p) : SQ25_ERR_NOMEM;
    if (!r || !buf) w.ctx = NULL;
    if (!rc) {
        r->ctx = ctx;
        r->n_stations = s->n_stations;
        r->n_steps = s->n_steps;
        r->flags = sq25__calloc(ctx, (size_t)s->n_stations * (size_t)s->n_steps, 1);
        r->bias_factor = sq25__malloc(ctx, (size_t)s->n_stations * sizeof(double));
        r->bias_at = sq25__malloc(ctx, (size_t)s->n_stations * (size_t)s->n_steps * sizeof(float));
        r->indicator = sq25__malloc(ctx, (size_t)s->n_stations * sizeof(double));
        r->n_neighbours = sq25__malloc(ctx, (size_t)s->n_stations * sizeof(int));
        if (!r->flags || !r->bias_factor || !r->n_neighbours || !r->bias_at || !r->indicator)
            rc = SQ25_ERR_NOMEM;
        for (int i = 0; !rc && i < s->n_stations; i++) r->indicator[i] = NAN;
    }
    if (!rc) {
        compute_reference(&w, buf);
        for (int i = 0; i < w.n; i++) {
            r->n_neighbours[i] = w.nb_start[i + 1] - w.nb_start[i];
            high_influx_and_coverage(&w, i, r->flags);
            faulty_zeros(&w, i, r->flags);
        }
        /* Second pass, as in de Vos et al.: the outlier filter and the bias use the series
         * without the faulty-zero and high-influx values, and a reference made from them. */
        mask_flagged(&w, r->flags);
        compute_reference(&w, buf);
        rc = sq25__qc_outliers_and_bias(&w, r);
        if (!rc && p[SQ25_QC_IC_ENABLE] != 0) rc = sq25__qc_indicator(&w, r);
    }
    if (w.ctx) qc_work_free(&w);
    sq25__free(ctx, buf);
    if (rc) {
        if (r) r->ctx = ctx;
        sq25_qc_result_destroy(r);
        return rc == SQ25_ERR_NOMEM ? sq25__fail(ctx, rc, "sq25_qc_run: out of memory") : rc;
    }
    *out = r;
    return sq25__ok(ctx);
}

int sq25_qc_apply(const sq25_series *s, const sq25_qc_result *r, int reject_mask,
                  sq25_series **out)
{
    if (!s || !r || !out || r->n_stations != s->n_stations || r->n_steps != s->n_steps)
        return SQ25_ERR_INVALID_ARG;
    *out = NULL;
    sq25_series *c = NULL;
    int rc = sq25_series_create(s->ctx, s->n_stations, s->n_steps, s->t0, s->step_s, &c);
    if (!rc) rc = sq25__series_copy_stations(s, c);
    if (rc) {
        sq25_series_destroy(c);
        return rc;
    }
    size_t total = (size_t)s->n_stations * (size_t)s->n_steps;
    for (size_t k = 0; k < total; k++)
        c->values[k] = (r->flags[k] & reject_mask) ? NAN : s->values[k];
    *out = c;
    return SQ25_OK;
}

double sq25_qc_bias_factor_at(const sq25_qc_result *r, int station, int64_t step)
{
    if (!r || station < 0 || station >= r->n_stations || step < 0 || step >= r->n_steps)
        return NAN;
    return r->bias_at[(size_t)station * (size_t)r->n_steps + (size_t)step];
}

double sq25_qc_indicator_correlation(const sq25_qc_result *r, int station)
{
    if (!r || station < 0 || station >= r->n_stations) return NAN;
    return r->indicator[station];
}

int sq25_qc_apply_corrected(const sq25_series *s, const sq25_qc_result *r, int reject_mask,
                            sq25_series **out)
{
    int rc = sq25_qc_apply(s, r, reject_mask, out);
    if (rc) return rc;
    size_t total = (size_t)s->n_stations * (size_t)s->n_steps;
    for (size_t k = 0; k < total; k++) (*out)->values[k] *= r->bias_at[k];
    return SQ25_OK;
}
