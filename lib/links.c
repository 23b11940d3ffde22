/* links.c -- commercial microwave links to path rain rates: ITU-R P.838-3 coefficients, total
 * loss, wet/dry by rolling standard deviation, dry baseline, wet-antenna attenuation, the k-R
 * power law, quality flags, and the whole chain aggregated into a rain series per link. */
#include "links.h"
#include "sensors.h"

#include <complex.h>
#include <math.h>
#include <string.h>

/* ---- ITU-R P.838-3 ----------------------------------------------------------------------- */

/* Recommendation ITU-R P.838-3 (03/2005), Tables 1-4: constants a_j, b_j, c_j of the Gaussian
 * terms of equations (2) (log10 k) and (3) (alpha), then m and c of the linear term. */
typedef struct {
    int terms;
    double a[5], b[5], c[5], m, cc;
} p838_table;

static const p838_table P838_KH = {4,
                                   {-5.33980, -0.35351, -0.23789, -0.94158},
                                   {-0.10008, 1.26970, 0.86036, 0.64552},
                                   {1.13098, 0.45400, 0.15354, 0.16817},
                                   -0.18961,
                                   0.71147};
static const p838_table P838_KV = {4,
                                   {-3.80595, -3.44965, -0.39902, 0.50167},
                                   {0.56934, -0.22911, 0.73042, 1.07319},
                                   {0.81061, 0.51059, 0.11899, 0.27195},
                                   -0.16398,
                                   0.63297};
static const p838_table P838_AH = {5,
                                   {-0.14318, 0.29591, 0.32177, -5.37610, 16.1721},
                                   {1.82442, 0.77564, 0.63773, -0.96230, -3.29980},
                                   {-0.55187, 0.19822, 0.13164, 1.47828, 3.43990},
                                   0.67849,
                                   -1.95537};
static const p838_table P838_AV = {5,
                                   {-0.07771, 0.56727, -0.20238, -48.2991, 48.5833},
                                   {2.33840, 0.95545, 1.14520, 0.791669, 0.791459},
                                   {-0.76284, 0.54039, 0.26809, 0.116226, 0.116479},
                                   -0.053739,
                                   0.83433};

/* sum_j a_j exp(-((log10 f - b_j) / c_j)^2) + m log10 f + c */
static double p838_sum(const p838_table *t, double log_f)
{
    double s = t->m * log_f + t->cc;
    for (int j = 0; j < t->terms; j++) {
        double u = (log_f - t->b[j]) / t->c[j];
        s += t->a[j] * exp(-u * u);
    }
    return s;
}

int sq25_p838_coefficients(double frequency_ghz, double elevation_deg, double tilt_deg,
                           double *k, double *alpha)
{
    if (!k || !alpha) return SQ25_ERR_INVALID_ARG;
    if (!(frequency_ghz >= 1 && frequency_ghz <= 1000) || !(fabs(elevation_deg) <= 90) ||
        !isfinite(tilt_deg))
        return SQ25_ERR_RANGE;
    double lf = log10(frequency_ghz);
    double kh = pow(10, p838_sum(&P838_KH, lf)), kv = pow(10, p838_sum(&P838_KV, lf));
    double ah = p838_sum(&P838_AH, lf), av = p838_sum(&P838_AV, lf);
    const double rad = 3.14159265358979323846 / 180;
    double ce = cos(elevation_deg * rad), mix = ce * ce * cos(2 * tilt_deg * rad);
    /* equations (4) and (5) */
    *k = (kh + kv + (kh - kv) * mix) / 2;
    *alpha = (kh * ah + kv * av + (kh * ah - kv * av) * mix) / (2 * *k);
    return SQ25_OK;
}

int sq25_p838_coefficients_pol(double frequency_ghz, int polarization, double *k, double *alpha)
{
    double tilt = polarization == SQ25_POL_HORIZONTAL ? 0
                  : polarization == SQ25_POL_VERTICAL ? 90
                                                      : 45; /* unknown: the mean of H and V */
    if (polarization < SQ25_POL_UNKNOWN || polarization > SQ25_POL_VERTICAL) return SQ25_ERR_RANGE;
    return sq25_p838_coefficients(frequency_ghz, 0, tilt, k, alpha);
}

/* ---- the processing steps -------------------------------------------------------------- */

int sq25_cml_total_loss(size_t n, const float *tsl_dbm, const float *rsl_dbm, double *loss_db)
{
    if (!rsl_dbm || !loss_db) return SQ25_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++) {
        double t = tsl_dbm ? tsl_dbm[i] : 0.0, r = rsl_dbm[i];
        loss_db[i] = isfinite(t) && isfinite(r) ? t - r : NAN;
    }
    return SQ25_OK;
}

#define WET_UNKNOWN 255

int sq25_cml_wet_dry_std(size_t n, const double *loss_db, int window_steps, double threshold_db,
                         uint8_t *wet)
{
    if (!loss_db || !wet) return SQ25_ERR_INVALID_ARG;
    if (window_steps < 2 || !(threshold_db > 0)) return SQ25_ERR_RANGE;
    /* Centred window [i - before, i + after] with running sums of the valid values, shifted
     * by the first valid value so that the variance does not lose digits. */
    size_t before = (size_t)(window_steps - 1) / 2, after = (size_t)window_steps - 1 - before;
    double shift = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(loss_db[i])) {
            shift = loss_db[i];
            break;
        }
    double s1 = 0, s2 = 0;
    size_t cnt = 0, lo = 0, hi = 0; /* window holds [lo, hi) */
    for (size_t i = 0; i < n; i++) {
        size_t want_lo = i > before ? i - before : 0, want_hi = i + after + 1 < n ? i + after + 1 : n;
        for (; hi < want_hi; hi++)
            if (isfinite(loss_db[hi])) {
                double v = loss_db[hi] - shift;
                s1 += v, s2 += v * v, cnt++;
            }
        for (; lo < want_lo; lo++)
            if (isfinite(loss_db[lo])) {
                double v = loss_db[lo] - shift;
                s1 -= v, s2 -= v * v, cnt--;
            }
        if (cnt < 2 || 2 * cnt < (size_t)window_steps) {
            wet[i] = WET_UNKNOWN;
            continue;
        }
        double var = (s2 - s1 * s1 / (double)cnt) / (double)(cnt - 1); /* sample variance */
        wet[i] = sqrt(fmax(var, 0)) > threshold_db;
    }
    return SQ25_OK;
}

/* Mean of the first `count` valid dry samples from i on (NaN when none). */
static double dry_mean_after(size_t n, const double *loss, const uint8_t *wet, size_t i, int count)
{
    double sum = 0;
    int got = 0;
    for (; i < n && got < count; i++)
        if (wet[i] == 0 && isfinite(loss[i])) sum += loss[i], got++;
    return got ? sum / got : NAN;
}

int sq25_cml_reject_steps(size_t n, const double *loss_db, uint8_t *wet, int after_steps,
                          uint8_t *flags)
{
    if (!loss_db || !wet) return SQ25_ERR_INVALID_ARG;
    if (after_steps < 1) return SQ25_ERR_RANGE;
    int changed = 0;
    double before = NAN; /* last valid dry loss */
    for (size_t i = 0; i < n;) {
        if (wet[i] != 1) {
            if (wet[i] == 0 && isfinite(loss_db[i])) before = loss_db[i];
            i++;
            continue;
        }
        size_t end = i;
        double peak = 0;
        while (end < n && wet[end] == 1) {
            if (isfinite(loss_db[end]) && isfinite(before)) peak = fmax(peak, loss_db[end] - before);
            end++;
        }
        double after = dry_mean_after(n, loss_db, wet, end, after_steps);
        double shift = after - before;
        if (isfinite(shift) && fabs(shift) > 0.5 && fabs(shift) >= 0.5 * fmax(peak, fabs(shift))) {
            for (size_t k = i; k < end; k++) {
                wet[k] = 0;
                if (flags) flags[k] |= SQ25_CML_FLAG_STEP;
            }
            changed++;
        }
        i = end;
    }
    return changed;
}

int sq25_cml_baseline(size_t n, const double *loss_db, const uint8_t *wet, int dry_steps,
                      double *baseline_db)
{
    if (!loss_db || !wet || !baseline_db) return SQ25_ERR_INVALID_ARG;
    if (dry_steps < 1 || dry_steps > 100000) return SQ25_ERR_RANGE;
    /* ring of the last dry_steps valid dry values; the mean is frozen when a spell starts */
    double ring_sum = 0, held = NAN;
    size_t in_ring = 0;
    bool spell = false;
    for (size_t i = 0; i < n; i++) {
        bool dry = wet[i] == 0 && isfinite(loss_db[i]);
        if (dry) {
            ring_sum += loss_db[i];
            if (++in_ring > (size_t)dry_steps) {
                /* drop the oldest of the last dry values: find it backwards */
                size_t seen = 0, j = i;
                while (j-- > 0)
                    if (wet[j] == 0 && isfinite(loss_db[j]) && ++seen == (size_t)dry_steps) break;
                ring_sum -= loss_db[j];
                in_ring--;
            }
            baseline_db[i] = loss_db[i];
            spell = false;
            continue;
        }
        if (!spell) held = in_ring ? ring_sum / (double)in_ring : NAN;
        spell = true;
        baseline_db[i] = held;
    }
    return SQ25_OK;
}

int sq25_cml_wet_antenna(size_t n, const double *excess_db, const uint8_t *wet, int method,
                         double waa_max_db, double tau_s, double step_s, double *waa_db)
{
    if (!excess_db || !wet || !waa_db) return SQ25_ERR_INVALID_ARG;
    if (method < SQ25_WAA_NONE || method > SQ25_WAA_SCHLEISS2013 || !(waa_max_db >= 0) ||
        !(tau_s > 0) || !(step_s > 0))
        return SQ25_ERR_RANGE;
    double gain = fmin(1.0, 3.0 * step_s / tau_s), prev = 0;
    for (size_t i = 0; i < n; i++) {
        double a = isfinite(excess_db[i]) ? fmax(excess_db[i], 0) : 0;
        double w = 0;
        if (wet[i] == 1) {
            if (method == SQ25_WAA_CONSTANT) w = fmin(a, waa_max_db);
            else if (method == SQ25_WAA_SCHLEISS2013)
                w = fmin(a, fmin(waa_max_db, prev + (waa_max_db - prev) * gain));
        }
        waa_db[i] = w;
        prev = w;
    }
    return SQ25_OK;
}

/* Relative permittivity of pure liquid water at f GHz and T kelvin: the double Debye model
 * of Liebe, Hufford and Manabe (1991), Int. J. Infrared Millim. Waves 12(7). With the time
 * convention exp(-i w t) its imaginary part is positive (loss). */
static double complex water_permittivity(double f_ghz, double t_k)
{
    double theta = 1 - 300.0 / t_k;
    double e0 = 77.66 - 103.3 * theta, e1 = 0.0671 * e0, e2 = 3.52 + 7.52 * theta;
    double f1 = 20.2 + 146.4 * theta + 316 * theta * theta, f2 = 39.8 * f1; /* GHz */
    return e2 + (e1 - e2) / (1 - I * f_ghz / f2) + (e0 - e1) / (1 - I * f_ghz / f1);
}

/* Characteristic matrix of a layer of index n and thickness d_m at wavenumber k0 (1/m)
 * (Born and Wolf, Principles of Optics, section 1.6), multiplied into m (2 x 2, row-major). */
static void layer_multiply(double complex m[4], double complex n, double d_m, double k0)
{
    double complex delta = k0 * n * d_m, c = ccos(delta), s = csin(delta);
    double complex l[4] = {c, -I * s / n, -I * n * s, c}, r[4];
    r[0] = m[0] * l[0] + m[1] * l[2], r[1] = m[0] * l[1] + m[1] * l[3];
    r[2] = m[2] * l[0] + m[3] * l[2], r[3] = m[2] * l[1] + m[3] * l[3];
    memcpy(m, r, sizeof r);
}

/* |t| of a normal-incidence wave from air through the layers into air. */
static double transmission(const double complex *n, const double *d_m, int layers, double k0)
{
    double complex m[4] = {1, 0, 0, 1};
    for (int i = 0; i < layers; i++) layer_multiply(m, n[i], d_m[i], k0);
    return cabs(2.0 / (m[0] + m[1] + m[2] + m[3]));
}

double sq25_cml_waa_leijnse(double rain_mmh, double frequency_ghz)
{
    if (!(rain_mmh > 0) || !(frequency_ghz > 0)) return 0;
    const double gamma_m = 2.06e-5, delta = 0.24, cover_m = 0.001, c = 299792458.0;
    const double complex n_cover = 1.73 + 0.014 * I;
    double complex n_water = csqrt(water_permittivity(frequency_ghz, 293.0));
    double k0 = 2 * 3.14159265358979323846 * frequency_ghz * 1e9 / c;
    double film = gamma_m * pow(rain_mmh, delta);
    double complex wet_n[2] = {n_water, n_cover};
    double wet_d[2] = {film, cover_m};
    double t_dry = transmission(&n_cover, &cover_m, 1, k0), t_wet = transmission(wet_n, wet_d, 2, k0);
    return 20 * log10(t_dry / t_wet);
}

#define LEIJNSE_TABLE 241 /* rain rates 1e-3 .. 1e3 mm/h, 40 per decade, plus 0 */

int sq25_cml_wet_antenna_leijnse(size_t n, const double *excess_db, const uint8_t *wet,
                                 double length_km, double frequency_ghz, double k, double alpha,
                                 double *waa_db)
{
    if (!excess_db || !wet || !waa_db) return SQ25_ERR_INVALID_ARG;
    if (!(length_km > 0) || !(frequency_ghz > 0) || !(k > 0) || !(alpha > 0)) return SQ25_ERR_RANGE;
    size_t wet_samples = 0;
    for (size_t i = 0; i < n; i++) {
        waa_db[i] = 0;
        wet_samples += wet[i] == 1 && excess_db[i] > 0;
    }
    if (wet_samples == 0) return SQ25_OK; /* a dry link needs no table */
    /* total(R) = k R^alpha L + waa(R) rises with R: tabulate it once per link and invert each
     * sample by interpolation (the waa between table rates is linear to < 1e-3 dB) */
    double total[LEIJNSE_TABLE + 1], waa[LEIJNSE_TABLE + 1];
    total[0] = waa[0] = 0;
    for (int j = 1; j <= LEIJNSE_TABLE; j++) {
        double r = pow(10, -3 + 6.0 * (j - 1) / (LEIJNSE_TABLE - 1));
        waa[j] = sq25_cml_waa_leijnse(r, frequency_ghz);
        total[j] = k * pow(r, alpha) * length_km + waa[j];
    }
    for (size_t i = 0; i < n; i++) {
        double a = excess_db[i];
        waa_db[i] = 0;
        if (wet[i] != 1 || !(a > 0)) continue;
        int lo = 0, hi = LEIJNSE_TABLE;
        if (a >= total[hi]) {
            waa_db[i] = waa[hi];
            continue;
        }
        while (hi - lo > 1) {
            int mid = (lo + hi) / 2;
            if (total[mid] > a) hi = mid;
            else lo = mid;
        }
        double t = (a - total[lo]) / (total[hi] - total[lo]);
        waa_db[i] = fmin(a, waa[lo] + t * (waa[hi] - waa[lo]));
    }
    return SQ25_OK;
}

int sq25_cml_rain_rate(size_t n, const double *excess_db, const double *waa_db,
                       const uint8_t *wet, double length_km, double k, double alpha,
                       double *rain_mmh)
{
    if (!excess_db || !wet || !rain_mmh) return SQ25_ERR_INVALID_ARG;
    if (!(length_km > 0) || !(k > 0) || !(alpha > 0)) return SQ25_ERR_RANGE;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(excess_db[i]) || wet[i] == WET_UNKNOWN) {
            rain_mmh[i] = NAN;
            continue;
        }
        if (wet[i] == 0) {
            rain_mmh[i] = 0;
            continue;
        }
        double a = fmax(excess_db[i] - (waa_db ? waa_db[i] : 0), 0) / length_km; /* dB/km */
        rain_mmh[i] = pow(a / k, 1.0 / alpha);
    }
    return SQ25_OK;
}

int sq25_cml_quality_flags(size_t n, const double *loss_db, double step_s, double jump_db,
                           double constant_s, uint8_t *flags)
{
    if (!loss_db || !flags) return SQ25_ERR_INVALID_ARG;
    if (!(step_s > 0) || !(jump_db > 0) || !(constant_s > 0)) return SQ25_ERR_RANGE;
    double prev = NAN;
    for (size_t i = 0; i < n; i++) {
        flags[i] = isfinite(loss_db[i]) ? 0 : SQ25_CML_FLAG_MISSING;
        if (flags[i]) continue;
        if (isfinite(prev) && fabs(loss_db[i] - prev) > jump_db) flags[i] |= SQ25_CML_FLAG_JUMP;
        prev = loss_db[i];
    }
    /* runs of one value among the valid samples (gaps do not break a run), by their span */
    size_t start = 0;
    while (start < n) {
        if (!isfinite(loss_db[start])) {
            start++;
            continue;
        }
        size_t end = start, last = start; /* last valid sample of the run */
        while (end + 1 < n && (!isfinite(loss_db[end + 1]) || loss_db[end + 1] == loss_db[start])) {
            end++;
            if (isfinite(loss_db[end])) last = end;
        }
        if ((double)(last - start + 1) * step_s >= constant_s)
            for (size_t i = start; i <= last; i++)
                if (isfinite(loss_db[i])) flags[i] |= SQ25_CML_FLAG_CONSTANT;
        start = last + 1;
    }
    return SQ25_OK;
}

/* ---- options ------------------------------------------------------------------------------ */

struct sq25_cml_options {
    sq25_ctx *ctx;
    double p[SQ25_CML_PARAM_COUNT_];
};

static const double cml_defaults[SQ25_CML_PARAM_COUNT_] = {
    [SQ25_CML_WINDOW_S] = 3600,    [SQ25_CML_THRESHOLD_DB] = 0.8,
    [SQ25_CML_BASELINE_STEPS] = 1, [SQ25_CML_WAA_METHOD] = SQ25_WAA_LEIJNSE2008,
    [SQ25_CML_WAA_MAX_DB] = 2.3,   [SQ25_CML_WAA_TAU_S] = 900,
    [SQ25_CML_JUMP_DB] = 10,       [SQ25_CML_CONSTANT_S] = 86400,
    [SQ25_CML_MAX_RATE_MMH] = 200, [SQ25_CML_MIN_VALID] = 0.5,
    [SQ25_CML_STEP_AFTER] = 10,    [SQ25_CML_MAX_WET_SHARE] = 0.5,
};

int sq25_cml_options_create(sq25_ctx *ctx, sq25_cml_options **out)
{
    if (!ctx || !out) return SQ25_ERR_INVALID_ARG;
    sq25_cml_options *o = sq25__calloc(ctx, 1, sizeof *o);
    if (!o) return SQ25_ERR_NOMEM;
    o->ctx = ctx;
    memcpy(o->p, cml_defaults, sizeof o->p);
    *out = o;
    return SQ25_OK;
}

void sq25_cml_options_destroy(sq25_cml_options *o)
{
    if (o) sq25__free(o->ctx, o);
}

static bool cml_value_ok(int key, double v)
{
    switch (key) {
    case SQ25_CML_WINDOW_S: return v >= 1 && v <= 7 * 86400;
    case SQ25_CML_STEP_AFTER:
    case SQ25_CML_BASELINE_STEPS: return v >= 1 && v <= 100000 && v == floor(v);
    case SQ25_CML_WAA_METHOD: return v >= SQ25_WAA_NONE && v <= SQ25_WAA_LEIJNSE2008 && v == floor(v);
    case SQ25_CML_WAA_MAX_DB: return v >= 0 && v <= 50;
    case SQ25_CML_MIN_VALID:
    case SQ25_CML_MAX_WET_SHARE: return v >= 0 && v <= 1;
    case SQ25_CML_THRESHOLD_DB:
    case SQ25_CML_WAA_TAU_S:
    case SQ25_CML_JUMP_DB:
    case SQ25_CML_CONSTANT_S:
    case SQ25_CML_MAX_RATE_MMH: return isfinite(v) && v > 0;
    default: return false;
    }
}

int sq25_cml_options_set(sq25_cml_options *o, int key, double value)
{
    if (!o || key < 0 || key >= SQ25_CML_PARAM_COUNT_) return SQ25_ERR_INVALID_ARG;
    if (!cml_value_ok(key, value))
        return sq25__fail(o->ctx, SQ25_ERR_RANGE, "link parameter %d: value %g not allowed", key,
                          value);
    o->p[key] = value;
    return SQ25_OK;
}

double sq25_cml_options_get(const sq25_cml_options *o, int key)
{
    if (!o || key < 0 || key >= SQ25_CML_PARAM_COUNT_) return NAN;
    return o->p[key];
}

/* ---- the whole chain ------------------------------------------------------------------ */

typedef struct {
    double *loss, *base, *excess, *waa, *rate;
    uint8_t *wet, *flags;
} chain_buffers;

/* A link that the rolling std calls wet most of the time is noise, not rain (OpenRainER's
 * link 367 is wet in 94 % of its samples, the median link in 6 %): over a record of at least
 * one day of judged samples, a wet share above max_share flags every sample NOISY. */
static void flag_noisy(size_t n, const uint8_t *wet, int step_s, double max_share, uint8_t *flags)
{
    size_t judged = 0, wet_n = 0;
    for (size_t k = 0; k < n; k++)
        if (wet[k] != WET_UNKNOWN) judged++, wet_n += wet[k] == 1;
    if ((double)judged * step_s < 86400 || (double)wet_n <= max_share * (double)judged) return;
    for (size_t k = 0; k < n; k++) flags[k] |= SQ25_CML_FLAG_NOISY;
}

/* Rain rate (mm/h, NaN unusable) and flags of every sample of link i from its signal. */
static void chain_one_link(const sq25_links *l, const double *p, int i, chain_buffers *b)
{
    size_t n = (size_t)l->nt, off = (size_t)i * n;
    sq25_cml_total_loss(n, l->tsl ? l->tsl + off : NULL, l->rsl + off, b->loss);
    int window = (int)fmax(2, llround(p[SQ25_CML_WINDOW_S] / l->step_s));
    sq25_cml_wet_dry_std(n, b->loss, window, p[SQ25_CML_THRESHOLD_DB], b->wet);
    sq25_cml_quality_flags(n, b->loss, l->step_s, p[SQ25_CML_JUMP_DB], p[SQ25_CML_CONSTANT_S],
                           b->flags);
    sq25_cml_reject_steps(n, b->loss, b->wet, (int)p[SQ25_CML_STEP_AFTER], b->flags);
    flag_noisy(n, b->wet, l->step_s, p[SQ25_CML_MAX_WET_SHARE], b->flags);
    sq25_cml_baseline(n, b->loss, b->wet, (int)p[SQ25_CML_BASELINE_STEPS], b->base);
    for (size_t k = 0; k < n; k++) b->excess[k] = b->loss[k] - b->base[k];
    double kc, ac, km = l->length_m[i] / 1000;
    int rc = sq25_p838_coefficients_pol(l->freq_ghz[i], l->pol[i], &kc, &ac);
    if (rc || !(km > 0)) {
        for (size_t k = 0; k < n; k++) b->rate[k] = NAN;
        return;
    }
    if ((int)p[SQ25_CML_WAA_METHOD] == SQ25_WAA_LEIJNSE2008)
        sq25_cml_wet_antenna_leijnse(n, b->excess, b->wet, km, l->freq_ghz[i], kc, ac, b->waa);
    else
        sq25_cml_wet_antenna(n, b->excess, b->wet, (int)p[SQ25_CML_WAA_METHOD],
                             p[SQ25_CML_WAA_MAX_DB], p[SQ25_CML_WAA_TAU_S], l->step_s, b->waa);
    sq25_cml_rain_rate(n, b->excess, b->waa, b->wet, km, kc, ac, b->rate);
    for (size_t k = 0; k < n; k++) {
        if (b->rate[k] > p[SQ25_CML_MAX_RATE_MMH]) b->flags[k] |= SQ25_CML_FLAG_RATE;
        if (b->flags[k] & ~SQ25_CML_FLAG_STEP) b->rate[k] = NAN;
    }
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return q * b > a ? q - 1 : q;
}

/* Aggregate link i's samples into the output intervals: rain mm per interval and the share of
 * flagged samples. Sample k at time t_k belongs to the interval (T - out_step, T]. */
static void aggregate(const sq25_links *l, const double *p, int i, const double *rate_mmh,
                      const float *amount, const uint8_t *flags, int64_t first_end,
                      int out_step_s, int64_t n_out, float *rain, float *share)
{
    int per = out_step_s / l->step_s;
    for (int64_t o = 0; o < n_out; o++) {
        int64_t end = first_end + o * out_step_s;
        /* samples with t in (end - out_step, end]: k from (end - out - t0)/step + 1 */
        int64_t k0 = floor_div(end - out_step_s - l->t0, l->step_s) + 1, valid = 0, flagged = 0;
        double sum = 0;
        for (int64_t k = k0; k < k0 + per; k++) {
            if (k < 0 || k >= l->nt) continue;
            size_t at = (size_t)k;
            double v = amount ? amount[(size_t)i * (size_t)l->nt + at] : rate_mmh[at];
            if (flags && flags[at]) flagged++;
            if (isfinite(v)) sum += v, valid++;
        }
        share[o] = (float)flagged / (float)per;
        bool enough = valid > 0 && (double)valid >= p[SQ25_CML_MIN_VALID] * per;
        if (!enough) rain[o] = NAN;
        else if (amount) rain[o] = (float)(sum * per / (double)valid); /* mm, gaps filled by the mean */
        else rain[o] = (float)(sum / (double)valid * out_step_s / 3600.0);
    }
}

static void free_buffers(sq25_ctx *ctx, chain_buffers *b)
{
    sq25__free(ctx, b->loss), sq25__free(ctx, b->base), sq25__free(ctx, b->excess);
    sq25__free(ctx, b->waa), sq25__free(ctx, b->rate);
    sq25__free(ctx, b->wet), sq25__free(ctx, b->flags);
}

static bool alloc_buffers(sq25_ctx *ctx, size_t n, chain_buffers *b)
{
    memset(b, 0, sizeof *b);
    size_t d = (n ? n : 1) * sizeof(double), u = n ? n : 1;
    b->loss = sq25__malloc(ctx, d), b->base = sq25__malloc(ctx, d), b->excess = sq25__malloc(ctx, d);
    b->waa = sq25__malloc(ctx, d), b->rate = sq25__malloc(ctx, d);
    b->wet = sq25__malloc(ctx, u), b->flags = sq25__malloc(ctx, u);
    return b->loss && b->base && b->excess && b->waa && b->rate && b->wet && b->flags;
}

static int set_link_stations(const sq25_links *l, sq25_series *s)
{
    for (int i = 0; i < l->n; i++) {
        double lon = 0.5 * (l->lon0[i] + l->lon1[i]), lat = 0.5 * (l->lat0[i] + l->lat1[i]);
        int rc = sq25_series_set_station(s, i, l->ids[i], lon, lat);
        if (rc) return rc;
    }
    return SQ25_OK;
}

int sq25_links_process(const sq25_links *l, const sq25_cml_options *opt, int64_t from,
                       int64_t to, int out_step_s, sq25_series **rain, sq25_series **flagged)
{
    if (!l) return SQ25_ERR_INVALID_ARG;
    sq25_ctx *ctx = l->ctx;
    if (!rain || out_step_s <= 0 || out_step_s % l->step_s != 0 || to < from)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG,
                          "sq25_links_process: output step %d s must be a multiple of the "
                          "sample step %d s, and from <= to",
                          out_step_s, l->step_s);
    *rain = NULL;
    if (flagged) *flagged = NULL;
    const double *p = opt ? opt->p : cml_defaults;
    /* only intervals that can hold samples: ends in [t0, t_last + out_step] */
    int64_t t_last = l->t0 + (l->nt - 1) * (int64_t)l->step_s;
    if (from < l->t0) from = l->t0;
    if (to > t_last + out_step_s) to = t_last + out_step_s;
    /* interval ends on multiples of out_step_s (UTC) in [from, to] */
    int64_t first = floor_div(from, out_step_s) * out_step_s;
    if (first < from) first += out_step_s;
    if (first > to)
        return sq25__fail(ctx, SQ25_ERR_NO_DATA,
                          "no %d-s interval of the link samples ends in the window", out_step_s);
    int64_t n_out = (to - first) / out_step_s + 1;
    sq25_series *r = NULL, *fl = NULL;
    int rc = sq25_series_create(ctx, l->n, n_out, first, out_step_s, &r);
    if (!rc) rc = sq25_series_create(ctx, l->n, n_out, first, out_step_s, &fl);
    if (!rc) rc = set_link_stations(l, r);
    if (!rc) rc = set_link_stations(l, fl);
    chain_buffers b;
    if (!rc && !alloc_buffers(ctx, (size_t)l->nt, &b)) {
        free_buffers(ctx, &b);
        rc = SQ25_ERR_NOMEM;
    } else if (!rc) {
        for (int i = 0; i < l->n; i++) {
            float *dst = r->values + (size_t)i * (size_t)n_out, *sh = fl->values + (size_t)i * (size_t)n_out;
            if (l->rsl) {
                chain_one_link(l, p, i, &b);
                aggregate(l, p, i, b.rate, NULL, b.flags, first, out_step_s, n_out, dst, sh);
            } else {
                aggregate(l, p, i, NULL, l->rain, NULL, first, out_step_s, n_out, dst, sh);
            }
        }
        free_buffers(ctx, &b);
    }
    if (rc) {
        sq25_series_destroy(r), sq25_series_destroy(fl);
        return rc;
    }
    *rain = r;
    if (flagged) *flagged = fl;
    else sq25_series_destroy(fl);
    return sq25__ok(ctx);
}
