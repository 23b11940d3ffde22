/* ensemble_spectral.c -- the Fourier side of the STEPS-class ensemble (Bowler, Pierce and Seed
 * 2006; Seed, Pierce and Norman 2013): FFTW plans, the Gaussian band-pass filter bank of the
 * cascade, per-level statistics by Parseval, the AR(2) fit with its stationarity constraints,
 * the random streams and the noise filters (nonparametric and power law). */
#include "ensemble_internal.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

/* FFTW's planner keeps global state; plans are made under this lock (execution with the
 * new-array interface is thread-safe). */
static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

void *sq25__ens_fft_alloc(size_t bytes) { return fftwf_malloc(bytes ? bytes : 1); }
void sq25__ens_fft_release(void *p) { fftwf_free(p); }

int sq25__ens_fft_init(sq25_ctx *ctx, sq25__ens_fft *f, int width, int height)
{
    memset(f, 0, sizeof *f);
    f->width = width;
    f->height = height;
    f->half_width = width / 2 + 1;
    f->n_real = (size_t)width * (size_t)height;
    f->n_spec = (size_t)height * (size_t)f->half_width;
    float *real = sq25__ens_fft_alloc(f->n_real * sizeof(float));
    fftwf_complex *spec = sq25__ens_fft_alloc(f->n_spec * sizeof(fftwf_complex));
    if (real && spec) {
        pthread_mutex_lock(&planner_lock);
        f->forward = fftwf_plan_dft_r2c_2d(height, width, real, spec, FFTW_ESTIMATE);
        f->inverse = fftwf_plan_dft_c2r_2d(height, width, spec, real, FFTW_ESTIMATE);
        pthread_mutex_unlock(&planner_lock);
    }
    sq25__ens_fft_release(real);
    sq25__ens_fft_release(spec);
    if (!f->forward || !f->inverse) {
        sq25__ens_fft_free(f);
        return sq25__fail(ctx, SQ25_ERR_NOMEM, "FFTW could not plan a %dx%d transform", width,
                          height);
    }
    return SQ25_OK;
}

void sq25__ens_fft_free(sq25__ens_fft *f)
{
    pthread_mutex_lock(&planner_lock);
    if (f->forward) fftwf_destroy_plan(f->forward);
    if (f->inverse) fftwf_destroy_plan(f->inverse);
    pthread_mutex_unlock(&planner_lock);
    f->forward = f->inverse = NULL;
}

void sq25__ens_fft_forward(const sq25__ens_fft *f, float *real, fftwf_complex *spec)
{
    fftwf_execute_dft_r2c(f->forward, real, spec);
}

void sq25__ens_fft_inverse_raw(const sq25__ens_fft *f, fftwf_complex *spec, float *real)
{
    fftwf_execute_dft_c2r(f->inverse, spec, real);
}

void sq25__ens_fft_inverse(const sq25__ens_fft *f, fftwf_complex *spec, float *real)
{
    fftwf_execute_dft_c2r(f->inverse, spec, real);
    const float scale = 1.0f / (float)f->n_real;
    for (size_t i = 0; i < f->n_real; i++) real[i] *= scale;
}

double sq25__ens_wavenumber(const sq25__ens_fft *f, int row, int col)
{
    const double side = f->width > f->height ? f->width : f->height;
    const int ky = row <= f->height / 2 ? row : row - f->height;
    const double kx = (double)col * side / f->width, kyy = (double)ky * side / f->height;
    return sqrt(kx * kx + kyy * kyy);
}

double sq25__ens_column_weight(const sq25__ens_fft *f, int col)
{
    if (col == 0) return 1.0;
    if (f->width % 2 == 0 && col == f->width / 2) return 1.0;
    return 2.0;
}

/* ---- filter bank --------------------------------------------------------------------------- */

/* Unnormalised Gaussian weights of every level at wavenumber r (r > 0): centres equally spaced
 * in ln r over [0, ln(side/2)], level k centred at (k + 1/2) d, standard deviation d/2 (d the
 * spacing), so neighbouring levels cross at half their peak. */
static void gaussian_weights(double r, int levels, double spacing, double *g)
{
    const double x = log(r);
    for (int k = 0; k < levels; k++) {
        const double z = (x - (k + 0.5) * spacing) / (0.5 * spacing);
        g[k] = exp(-0.5 * z * z);
    }
}

/* Normalised, cut weights of every level at spectrum entry (row, col). */
static void entry_weights(const sq25__ens_fft *f, int levels, double spacing, int row, int col,
                          double *w)
{
    const double r = sq25__ens_wavenumber(f, row, col);
    if (r <= 0) {
        for (int k = 0; k < levels; k++) w[k] = k == 0;
        return;
    }
    gaussian_weights(r, levels, spacing, w);
    double sum = 0;
    for (int k = 0; k < levels; k++) sum += w[k];
    double kept = 0;
    for (int k = 0; k < levels; k++) {
        w[k] = w[k] / sum < SQ25__ENS_FILTER_CUT ? 0 : w[k];
        kept += w[k];
    }
    for (int k = 0; k < levels; k++) w[k] /= kept;
}

int sq25__ens_filters_make(sq25_ctx *ctx, const sq25__ens_fft *f, int levels,
                           sq25__ens_filters *out)
{
    memset(out, 0, sizeof *out);
    if (levels < 2 || levels > SQ25__ENS_MAX_LEVELS)
        return sq25__fail(ctx, SQ25_ERR_RANGE, "cascade levels %d outside 2..%d", levels,
                          SQ25__ENS_MAX_LEVELS);
    const double side = f->width > f->height ? f->width : f->height;
    const double spacing = log(side / 2.0) / levels;
    out->levels = levels;
    for (int k = 0; k < levels; k++) out->centre[k] = exp((k + 0.5) * spacing);
    /* first pass: the weights of every entry (kept, as floats) and the entries per level */
    size_t count[SQ25__ENS_MAX_LEVELS] = {0};
    double w[SQ25__ENS_MAX_LEVELS];
    float *all = sq25__malloc(ctx, f->n_spec * (size_t)levels * sizeof *all);
    if (!all) return SQ25_ERR_NOMEM;
    const size_t row_len = (size_t)f->half_width * (size_t)levels;
    for (int row = 0; row < f->height; row++) {
        float *a_row = all + (size_t)row * row_len;
        /* a row past the middle has the wavenumbers of row h - row (ky = row - h): the same
         * weights, copied instead of computed again */
        if (row > f->height / 2) memcpy(a_row, all + (size_t)(f->height - row) * row_len,
                                        row_len * sizeof *all);
        for (int col = 0; col < f->half_width; col++) {
            float *a = a_row + (size_t)col * (size_t)levels;
            if (row <= f->height / 2) {
                entry_weights(f, levels, spacing, row, col, w);
                for (int k = 0; k < levels; k++) a[k] = (float)w[k];
            }
            for (int k = 0; k < levels; k++) count[k] += a[k] > 0;
        }
    }
    out->start[0] = 0;
    for (int k = 0; k < levels; k++) out->start[k + 1] = out->start[k] + count[k];
    const size_t total = out->start[levels];
    out->index = sq25__malloc(ctx, total * sizeof *out->index);
    out->weight = sq25__malloc(ctx, total * sizeof *out->weight);
    if (!out->index || !out->weight) {
        sq25__free(ctx, all);
        sq25__ens_filters_free(ctx, out);
        return SQ25_ERR_NOMEM;
    }
    size_t fill[SQ25__ENS_MAX_LEVELS];
    for (int k = 0; k < levels; k++) fill[k] = out->start[k];
    for (size_t i = 0; i < f->n_spec; i++)
        for (int k = 0; k < levels; k++) {
            const float wk = all[i * (size_t)levels + (size_t)k];
            if (wk > 0) {
                out->index[fill[k]] = (uint32_t)i;
                out->weight[fill[k]++] = wk;
            }
        }
    sq25__free(ctx, all);
    return SQ25_OK;
}

void sq25__ens_filters_free(sq25_ctx *ctx, sq25__ens_filters *b)
{
    sq25__free(ctx, b->index);
    sq25__free(ctx, b->weight);
    b->index = NULL;
    b->weight = NULL;
}

void sq25__ens_level_covariances(const sq25__ens_fft *f, const sq25__ens_filters *b, int k,
                                 int pairs, const fftwf_complex *const *a,
                                 const fftwf_complex *const *bb, double *out)
{
    double sum[SQ25__ENS_MAX_PAIRS] = {0};
    for (size_t e = b->start[k]; e < b->start[k + 1]; e++) {
        const uint32_t i = b->index[e];
        if (i == 0) continue; /* the mean */
        const int col = (int)(i % (uint32_t)f->half_width);
        const double w = b->weight[e], g = sq25__ens_column_weight(f, col) * w * w;
        for (int p = 0; p < pairs; p++) {
            const double re = (double)a[p][i][0] * bb[p][i][0] + (double)a[p][i][1] * bb[p][i][1];
            sum[p] += g * re;
        }
    }
    const double n = (double)f->n_real;
    for (int p = 0; p < pairs; p++) out[p] = sum[p] / (n * n);
}

double sq25__ens_level_covariance(const sq25__ens_fft *f, const sq25__ens_filters *b, int k,
                                  const fftwf_complex *a, const fftwf_complex *bb)
{
    double c;
    sq25__ens_level_covariances(f, b, k, 1, &a, &bb, &c);
    return c;
}

/* ---- AR(2) ------------------------------------------------------------------------------- */

void sq25__ens_ar2_fit(double gamma1, double gamma2, double *phi1, double *phi2,
                       double *sigma)
{
    const double eps = 1e-6;
    if (!(gamma1 > 0)) gamma1 = 0;
    if (gamma1 > 0.999) gamma1 = 0.999;
    if (!(gamma2 == gamma2)) gamma2 = gamma1 * gamma1;
    const double lower = 2 * gamma1 * gamma1 - 1 + eps, upper = 1 - eps;
    if (gamma2 < lower) gamma2 = lower;
    if (gamma2 > upper) gamma2 = upper;
    const double d = 1 - gamma1 * gamma1;
    double p1 = gamma1 * (1 - gamma2) / d, p2 = (gamma2 - gamma1 * gamma1) / d;
    double var = 1 - p1 * gamma1 - p2 * gamma2;
    *phi1 = p1;
    *phi2 = p2;
    *sigma = var > 0 ? sqrt(var) : 0;
}

/* ---- random streams ------------------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void sq25__ens_rng_seed(sq25__ens_rng *r, uint64_t seed, uint64_t member, uint64_t lead)
{
    uint64_t x = seed;
    x = splitmix64(&x) ^ (member * 0xd1342543de82ef95ULL);
    x = splitmix64(&x) ^ (lead * 0xaf251af3b0f025b5ULL);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

uint64_t sq25__ens_rng_next(sq25__ens_rng *r) { return sq25__ens_rng_step(r); }

float sq25__ens_rng_uniform(sq25__ens_rng *r)
{
    return (float)(sq25__ens_rng_next(r) >> 40) * (1.0f / 16777216.0f);
}

/* ---- noise ---------------------------------------------------------------------------------- */

/* Tukey window (flat centre, cosine taper over alpha/2 of each edge) at position i of n. */
static double tukey(int i, int n, double alpha)
{
    const double x = (n > 1) ? (double)i / (n - 1) : 0.5, a = alpha / 2;
    if (x < a) return 0.5 * (1 - cos(M_PI * x / a));
    if (x > 1 - a) return 0.5 * (1 - cos(M_PI * (1 - x) / a));
    return 1;
}

/* Spectrum of a field tapered by the window, its (windowed) mean removed first. win: the
 * window along the rows (height values) then along the columns (width values). */
static void tapered_spectrum(const sq25__ens_fft *f, const double *win, const float *field,
                             float *real, fftwf_complex *spec)
{
    const double *wr = win, *wc = win + f->height;
    double sw = 0, swx = 0;
    for (int r = 0; r < f->height; r++)
        for (int c = 0; c < f->width; c++) {
            double w = wr[r] * wc[c];
            sw += w;
            swx += w * field[(size_t)r * f->width + c];
        }
    const double mean = sw > 0 ? swx / sw : 0;
    for (int r = 0; r < f->height; r++)
        for (int c = 0; c < f->width; c++) {
            double w = wr[r] * wc[c];
            real[(size_t)r * f->width + c] =
                (float)(w * (field[(size_t)r * f->width + c] - mean));
        }
    sq25__ens_fft_forward(f, real, spec);
}

/* The Tukey windows of tapered_spectrum (rows then columns); NULL when out of memory. */
static double *taper_windows(sq25_ctx *ctx, const sq25__ens_fft *f)
{
    double *win = sq25__malloc(ctx, ((size_t)f->height + (size_t)f->width) * sizeof *win);
    if (!win) return NULL;
    for (int r = 0; r < f->height; r++) win[r] = tukey(r, f->height, 0.2);
    for (int c = 0; c < f->width; c++) win[f->height + c] = tukey(c, f->width, 0.2);
    return win;
}

int sq25__ens_noise_filter_nonparametric(sq25_ctx *ctx, const sq25__ens_fft *f,
                                         const float *const *fields, int count, float *filter)
{
    float *real = sq25__ens_fft_alloc(f->n_real * sizeof(float));
    fftwf_complex *spec = sq25__ens_fft_alloc(f->n_spec * sizeof(fftwf_complex));
    double *win = taper_windows(ctx, f);
    if (!real || !spec || !win) {
        sq25__ens_fft_release(real);
        sq25__ens_fft_release(spec);
        sq25__free(ctx, win);
        return sq25__fail(ctx, SQ25_ERR_NOMEM, "out of memory for the noise filter");
    }
    memset(filter, 0, f->n_spec * sizeof(float));
    for (int k = 0; k < count; k++) {
        tapered_spectrum(f, win, fields[k], real, spec);
        /* |F| in double: the squares of the float parts are exact there and cannot
         * overflow, so this is hypot without its slow path */
        for (size_t i = 0; i < f->n_spec; i++) {
            const double re = spec[i][0], im = spec[i][1];
            filter[i] += (float)(sqrt(re * re + im * im) / count);
        }
    }
    filter[0] = 0;
    sq25__ens_fft_release(real);
    sq25__ens_fft_release(spec);
    sq25__free(ctx, win);
    return SQ25_OK;
}

int sq25__ens_power_spectrum_slope(sq25_ctx *ctx, const sq25__ens_fft *f,
                                   const float *const *fields, int count, double *beta)
{
    const double side = f->width > f->height ? f->width : f->height;
    const int bins = (int)(side / 2);
    float *real = sq25__ens_fft_alloc(f->n_real * sizeof(float));
    fftwf_complex *spec = sq25__ens_fft_alloc(f->n_spec * sizeof(fftwf_complex));
    double *power = sq25__calloc(ctx, (size_t)bins + 1, sizeof(double));
    double *weight = sq25__calloc(ctx, (size_t)bins + 1, sizeof(double));
    double *win = taper_windows(ctx, f);
    int rc = real && spec && power && weight && win ? SQ25_OK : SQ25_ERR_NOMEM;
    for (int k = 0; rc == SQ25_OK && k < count; k++) {
        tapered_spectrum(f, win, fields[k], real, spec);
        for (int row = 0; row < f->height; row++)
            for (int col = 0; col < f->half_width; col++) {
                const int bin = (int)lround(sq25__ens_wavenumber(f, row, col));
                if (bin < 1 || bin > bins) continue;
                const fftwf_complex *s = spec + (size_t)row * f->half_width + col;
                const double cw = sq25__ens_column_weight(f, col);
                power[bin] += cw * ((double)s[0][0] * s[0][0] + (double)s[0][1] * s[0][1]);
                weight[bin] += cw;
            }
    }
    /* least squares of ln P against ln r over the radial means */
    double sx = 0, sy = 0, sxx = 0, sxy = 0, n = 0;
    for (int b = 1; rc == SQ25_OK && b <= bins; b++) {
        if (!(weight[b] > 0 && power[b] > 0)) continue;
        const double x = log((double)b), y = log(power[b] / weight[b]);
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
        n += 1;
    }
    if (rc == SQ25_OK) {
        const double den = n * sxx - sx * sx;
        if (n < 3 || !(fabs(den) > 0))
            rc = sq25__fail(ctx, SQ25_ERR_NO_DATA, "no spectrum to fit a power law to");
        else *beta = -(n * sxy - sx * sy) / den;
    }
    sq25__ens_fft_release(real);
    sq25__ens_fft_release(spec);
    sq25__free(ctx, power);
    sq25__free(ctx, weight);
    sq25__free(ctx, win);
    return rc == SQ25_ERR_NOMEM ? sq25__fail(ctx, rc, "out of memory for the spectrum") : rc;
}

void sq25__ens_noise_filter_powerlaw(const sq25__ens_fft *f, double beta, float *filter)
{
    for (int row = 0; row < f->height; row++)
        for (int col = 0; col < f->half_width; col++) {
            const double r = sq25__ens_wavenumber(f, row, col);
            filter[(size_t)row * f->half_width + col] = r > 0 ? (float)pow(r, -beta / 2) : 0;
        }
}

void sq25__ens_noise_spectrum(const sq25__ens_fft *f, const float *filter, sq25__ens_rng *r,
                              fftwf_complex *out)
{
    for (size_t i = 0; i < f->n_spec; i++) {
        float re, im;
        sq25__ens_noise_draw(r, &re, &im);
        out[i][0] = filter[i] * re;
        out[i][1] = filter[i] * im;
    }
    /* the self-conjugate columns: entry (h - row) mirrors entry (row) */
    const int last = f->width % 2 == 0 ? f->width / 2 : -1;
    for (int pass = 0; pass < 2; pass++) {
        const int col = pass == 0 ? 0 : last;
        if (col < 0) continue;
        for (int row = 1; row <= (f->height - 1) / 2; row++) {
            fftwf_complex *a = out + (size_t)row * f->half_width + col;
            fftwf_complex *b = out + (size_t)(f->height - row) * f->half_width + col;
            (*b)[0] = (*a)[0];
            (*b)[1] = -(*a)[1];
        }
        out[col][1] = 0;
        if (f->height % 2 == 0) out[(size_t)(f->height / 2) * f->half_width + col][1] = 0;
    }
    out[0][0] = out[0][1] = 0;
}
