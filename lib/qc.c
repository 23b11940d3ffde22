/* qc.c -- quality control of personal weather stations after de Vos et al. (2019, GRL,
 * doi:10.1029/2019GL083731), following the filters of the pypwsqc package: faulty zeros,
 * high influx, station outliers (rolling correlation with neighbours, by running sums) and a
 * per-station bias-correction factor. All values are mm per step of the series. */
#include "sensors.h"
#include "spatial.h"

#include <math.h>
#include <string.h>

struct sq25_qc_options {
    sq25_ctx *ctx;
    double p[SQ25_QC_PARAM_COUNT_];
};

struct sq25_qc_result {
    sq25_ctx *ctx;
    int n_stations;
    int64_t n_steps;
    uint8_t *flags;      /* station-major, like the series */
    double *bias_factor; /* per station */
    int *n_neighbours;   /* per station */
};

static const double qc_defaults[SQ25_QC_PARAM_COUNT_] = {
    [SQ25_QC_NEIGHBOUR_RANGE_M] = 10000, [SQ25_QC_MIN_NEIGHBOURS] = 5,
    [SQ25_QC_FZ_INTERVALS] = 6,          [SQ25_QC_HI_THRESHOLD_A] = 0.4,
    [SQ25_QC_HI_THRESHOLD_B] = 10,       [SQ25_QC_SO_WINDOW] = 4032,
    [SQ25_QC_SO_GAMMA] = 0.15,           [SQ25_QC_SO_MIN_MATCHES] = 200,
    [SQ25_QC_BIAS_START] = 1.24,         [SQ25_QC_BIAS_BETA] = 0.2,
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
                  key == SQ25_QC_SO_WINDOW || key == SQ25_QC_SO_MIN_MATCHES;
    bool ok = isfinite(value) && value >= 0 && (!counts || value == floor(value));
    if (key == SQ25_QC_SO_GAMMA) ok = isfinite(value) && value >= -1 && value <= 1;
    if ((key == SQ25_QC_SO_WINDOW || key == SQ25_QC_FZ_INTERVALS) && value < 1) ok = false;
    if ((key == SQ25_QC_BIAS_START || key == SQ25_QC_HI_THRESHOLD_A) && !(value > 0)) ok = false;
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

/* ---- working state ------------------------------------------------------------------- */

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

/* Median of n floats (reorders buf), quickselect. */
static float median_inplace(float *buf, int n)
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
            w->ref[k] = m ? median_inplace(buf, m) : NAN;
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

/* Running sums of one station pair over the outlier window. */
typedef struct {
    double n, sx, sy, sxx, syy, sxy;
    int wet_matches;
} pair_sums;

static void pair_update(pair_sums *ps, float a, float b, double sign)
{
    if (isnan(a) || isnan(b)) return;
    ps->n += sign;
    ps->sx += sign * a;
    ps->sy += sign * b;
    ps->sxx += sign * (double)a * a;
    ps->syy += sign * (double)b * b;
    ps->sxy += sign * (double)a * b;
    if (a > 0 && b > 0) ps->wet_matches += (int)sign;
}

static double pair_corr(const pair_sums *ps)
{
    double n = ps->n;
    if (n < 2) return NAN;
    double cov = ps->sxy - ps->sx * ps->sy / n;
    double va = ps->sxx - ps->sx * ps->sx / n, vb = ps->syy - ps->sy * ps->sy / n;
    if (!(va > 1e-12 && vb > 1e-12)) return NAN;
    return cov / sqrt(va * vb);
}

/* Running sums of a station and its reference over the wet steps (reference > 0, station
 * reporting), for the bias factor. */
typedef struct {
    double station, ref;
} bias_sums;

static void bias_update(bias_sums *bs, float v, float r, double sign)
{
    if (isnan(v) || !(r > 0)) return;
    bs->station += sign * v;
    bs->ref += sign * r;
}

/* Station outliers and bias: for every step, the Pearson correlation of each neighbour pair
 * over the last SO_WINDOW steps (both reporting) comes from running sums; pairs with fewer
 * than SO_MIN_MATCHES steps where both are wet do not count. Fewer than MIN_NEIGHBOURS
 * counting pairs: unknown; median correlation below gamma: outlier. Where the station is
 * judged and not an outlier, the bias of factor*station against the reference over the
 * wet steps of the window (totals) is checked, and if |bias| > beta the factor becomes factor/(1+bias). */
static int outliers_and_bias(qc_work *w, uint8_t *flags, double *bias_factor)
{
    sq25_ctx *ctx = w->ctx;
    int n = w->n;
    int64_t win = (int64_t)w->p[SQ25_QC_SO_WINDOW];
    int min_matches = (int)w->p[SQ25_QC_SO_MIN_MATCHES];
    double gamma = w->p[SQ25_QC_SO_GAMMA], beta = w->p[SQ25_QC_BIAS_BETA];
    pair_sums *ps = sq25__calloc(ctx, (size_t)w->n_pairs + 1, sizeof *ps);
    bias_sums *bs = sq25__calloc(ctx, (size_t)n, sizeof *bs);
    float *corr = sq25__malloc(ctx, ((size_t)w->nb_start[n] + 1) * sizeof(float));
    if (!ps || !bs || !corr) {
        sq25__free(ctx, ps), sq25__free(ctx, bs), sq25__free(ctx, corr);
        return SQ25_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++) bias_factor[i] = w->p[SQ25_QC_BIAS_START];
    for (int64_t t = 0; t < w->nt; t++) {
        const float *row = w->vt + (size_t)t * (size_t)n, *rr = w->ref + (size_t)t * (size_t)n;
        for (int p = 0; p < w->n_pairs; p++)
            pair_update(&ps[p], row[w->pair_a[p]], row[w->pair_b[p]], +1);
        for (int i = 0; i < n; i++) bias_update(&bs[i], row[i], rr[i], +1);
        if (t >= win) {
            const float *old = w->vt + (size_t)(t - win) * (size_t)n;
            const float *oref = w->ref + (size_t)(t - win) * (size_t)n;
            for (int p = 0; p < w->n_pairs; p++)
                pair_update(&ps[p], old[w->pair_a[p]], old[w->pair_b[p]], -1);
            for (int i = 0; i < n; i++) bias_update(&bs[i], old[i], oref[i], -1);
        }
        for (int i = 0; i < n; i++) {
            int m = 0;
            for (int e = w->nb_start[i]; e < w->nb_start[i + 1]; e++) {
                const pair_sums *q = &ps[w->nb_pair[e]];
                double c = q->wet_matches >= min_matches ? pair_corr(q) : NAN;
                if (!isnan(c)) corr[m++] = (float)c;
            }
            uint8_t *f = &flags[(size_t)i * (size_t)w->nt + (size_t)t];
            if (m < w->p[SQ25_QC_MIN_NEIGHBOURS]) {
                *f |= SQ25_QC_FLAG_SO_UNKNOWN;
                continue;
            }
            if (median_inplace(corr, m) < gamma) {
                *f |= SQ25_QC_FLAG_OUTLIER;
                continue;
            }
            if (bs[i].station > 0 && bs[i].ref > 0) {
                double bias = bias_factor[i] * bs[i].station / bs[i].ref - 1.0;
                if (fabs(bias) > beta) bias_factor[i] /= 1.0 + bias;
            }
        }
    }
    sq25__free(ctx, ps), sq25__free(ctx, bs), sq25__free(ctx, corr);
    return SQ25_OK;
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

int sq25_qc_run(const sq25_series *s, const sq25_qc_options *o, sq25_qc_result **out)
{
    if (!s || !out) return SQ25_ERR_INVALID_ARG;
    sq25_ctx *ctx = s->ctx;
    *out = NULL;
    const double *p = o ? o->p : qc_defaults;
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
        r->n_neighbours = sq25__malloc(ctx, (size_t)s->n_stations * sizeof(int));
        if (!r->flags || !r->bias_factor || !r->n_neighbours) rc = SQ25_ERR_NOMEM;
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
        rc = outliers_and_bias(&w, r->flags, r->bias_factor);
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
