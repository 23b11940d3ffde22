/* test_ensemble.c -- the STEPS-class ensemble: analytic checks of each part (filter bank,
 * AR(2) fit, noise spectrum, probability matching, reproducibility with threads) and the
 * argument errors of the run. Expected values come from the constructions, stated at each. */
#include "support.h"

#include "ensemble_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The test's own Gaussian deviates (Box-Muller on a xorshift stream), independent of the
 * library's random streams. */
static uint64_t test_state = 88172645463325252ULL;
static double test_uniform(void)
{
    test_state ^= test_state << 13;
    test_state ^= test_state >> 7;
    test_state ^= test_state << 17;
    return ((test_state >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}
static double test_normal(void)
{
    return sqrt(-2 * log(test_uniform())) * cos(2 * M_PI * test_uniform());
}

/* Partition of unity: for every spectrum entry the level weights sum to one, are >= 0, and
 * the mean (entry 0) belongs to level 0 only. Non-square grid, odd width. */
static void filter_bank_sums_to_one(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25__ens_fft f;
    assert_int_equal(sq25__ens_fft_init(ctx, &f, 77, 52), SQ25_OK);
    for (int levels = 2; levels <= 8; levels += 3) {
        sq25__ens_filters b;
        assert_int_equal(sq25__ens_filters_make(ctx, &f, levels, &b), SQ25_OK);
        double *sum = calloc(f.n_spec, sizeof *sum);
        for (int k = 0; k < levels; k++)
            for (size_t e = b.start[k]; e < b.start[k + 1]; e++) {
                assert_true(b.weight[e] > 0);
                if (b.index[e] == 0) assert_int_equal(k, 0);
                sum[b.index[e]] += b.weight[e];
            }
        for (size_t i = 0; i < f.n_spec; i++) assert_true(fabs(sum[i] - 1) < 1e-6);
        /* levels are ordered by scale: central wavenumbers increase */
        for (int k = 1; k < levels; k++) assert_true(b.centre[k] > b.centre[k - 1]);
        free(sum);
        sq25__ens_filters_free(ctx, &b);
    }
    assert_int_equal(sq25__ens_filters_make(ctx, &f, 1, &(sq25__ens_filters){0}), SQ25_ERR_RANGE);
    sq25__ens_fft_free(&f);
    sq25_ctx_destroy(ctx);
}

/* Every entry's heaviest level is the one whose centre lies nearest in ln(wavenumber): the
 * Gaussians are equally spaced in ln r with equal widths, so the largest is the nearest centre
 * (worked out from the bank's definition, not from its code). Odd height, so that the rows
 * past the middle (whose weights are copied from their mirror row h - row) are checked
 * against their own wavenumber. */
static void filter_bank_peak_at_nearest_centre(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25__ens_fft f;
    assert_int_equal(sq25__ens_fft_init(ctx, &f, 64, 53), SQ25_OK);
    const int levels = 6;
    sq25__ens_filters b;
    assert_int_equal(sq25__ens_filters_make(ctx, &f, levels, &b), SQ25_OK);
    float *best_w = calloc(f.n_spec, sizeof *best_w);
    int *best_k = calloc(f.n_spec, sizeof *best_k);
    for (int k = 0; k < levels; k++)
        for (size_t e = b.start[k]; e < b.start[k + 1]; e++)
            if (b.weight[e] > best_w[b.index[e]]) {
                best_w[b.index[e]] = b.weight[e];
                best_k[b.index[e]] = k;
            }
    int checked = 0;
    for (int row = 0; row < f.height; row++)
        for (int col = 0; col < f.half_width; col++) {
            const int ky = row <= f.height / 2 ? row : row - f.height;
            const double kx = col * 64.0 / 64.0, kyy = ky * 64.0 / 53.0;
            const double r = sqrt(kx * kx + kyy * kyy);
            if (r <= 0) continue;
            int nearest = 0;
            for (int k = 1; k < levels; k++)
                if (fabs(log(r) - log(b.centre[k])) < fabs(log(r) - log(b.centre[nearest])))
                    nearest = k;
            /* skip ties (an entry halfway between two centres) */
            const double d0 = fabs(log(r) - log(b.centre[nearest]));
            int tie = 0;
            for (int k = 0; k < levels; k++)
                if (k != nearest && fabs(fabs(log(r) - log(b.centre[k])) - d0) < 1e-6) tie = 1;
            if (tie) continue;
            assert_int_equal(best_k[(size_t)row * f.half_width + col], nearest);
            checked++;
        }
    assert_true(checked > (int)f.n_spec / 2);
    free(best_w);
    free(best_k);
    sq25__ens_filters_free(ctx, &b);
    sq25__ens_fft_free(&f);
    sq25_ctx_destroy(ctx);
}

/* Three frames of a stationary AR(2) process of known coefficients, pixel by pixel (white in
 * space, so every cascade level follows the same AR(2)): x_a ~ N(0,1); x_b = g1 x_a +
 * sqrt(1 - g1^2) e (the stationary joint law of two steps); x_c = phi1 x_b + phi2 x_a +
 * sigma e with sigma^2 = 1 - phi1 g1 - phi2 g2, g1 = phi1/(1 - phi2), g2 = phi1 g1 + phi2.
 * The fit from the Parseval correlations must give phi1, phi2 within 0.02 on every level
 * with enough spectrum entries. */
static void ar2_fit_recovers_coefficients(void **state)
{
    (void)state;
    const double phi1 = 0.6, phi2 = 0.2;
    const double g1 = phi1 / (1 - phi2), g2 = phi1 * g1 + phi2;
    const double sigma = sqrt(1 - phi1 * g1 - phi2 * g2);
    const int w = 384, h = 384;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25__ens_fft f;
    assert_int_equal(sq25__ens_fft_init(ctx, &f, w, h), SQ25_OK);
    sq25__ens_filters b;
    assert_int_equal(sq25__ens_filters_make(ctx, &f, 6, &b), SQ25_OK);
    float *x[3];
    fftwf_complex *spec[3];
    for (int k = 0; k < 3; k++) {
        x[k] = sq25__ens_fft_alloc(f.n_real * sizeof(float));
        spec[k] = sq25__ens_fft_alloc(f.n_spec * sizeof(fftwf_complex));
    }
    for (size_t i = 0; i < f.n_real; i++) {
        x[0][i] = (float)test_normal();
        x[1][i] = (float)(g1 * x[0][i] + sqrt(1 - g1 * g1) * test_normal());
        x[2][i] = (float)(phi1 * x[1][i] + phi2 * x[0][i] + sigma * test_normal());
    }
    for (int k = 0; k < 3; k++) sq25__ens_fft_forward(&f, x[k], spec[k]);
    int checked = 0;
    for (int k = 0; k < b.levels; k++) {
        if (b.start[k + 1] - b.start[k] < 10000) continue;
        double v0 = sq25__ens_level_covariance(&f, &b, k, spec[2], spec[2]);
        double v1 = sq25__ens_level_covariance(&f, &b, k, spec[1], spec[1]);
        double v2 = sq25__ens_level_covariance(&f, &b, k, spec[0], spec[0]);
        double c1 = sq25__ens_level_covariance(&f, &b, k, spec[2], spec[1]);
        double c2 = sq25__ens_level_covariance(&f, &b, k, spec[2], spec[0]);
        /* the run's one-pass form (the same sums, pair by pair) gives the same numbers */
        const fftwf_complex *pa[5] = {spec[2], spec[1], spec[0], spec[2], spec[2]};
        const fftwf_complex *pb[5] = {spec[2], spec[1], spec[0], spec[1], spec[0]};
        double m[5];
        sq25__ens_level_covariances(&f, &b, k, 5, pa, pb, m);
        assert_true(m[0] == v0 && m[1] == v1 && m[2] == v2 && m[3] == c1 && m[4] == c2);
        double p1, p2, s;
        sq25__ens_ar2_fit(c1 / sqrt(v0 * v1), c2 / sqrt(v0 * v2), &p1, &p2, &s);
        assert_true(fabs(p1 - phi1) < 0.02);
        assert_true(fabs(p2 - phi2) < 0.02);
        assert_true(fabs(s - sigma) < 0.02);
        checked++;
    }
    assert_true(checked >= 2);
    /* stationarity: a lag-2 correlation outside the admissible region is pulled inside */
    double p1, p2, s;
    sq25__ens_ar2_fit(0.95, 0.0, &p1, &p2, &s); /* 2 g1^2 - 1 = 0.805 > 0 */
    assert_true(fabs(p2) < 1 && p1 + p2 < 1 && p2 - p1 < 1 && s >= 0);
    for (int k = 0; k < 3; k++) {
        sq25__ens_fft_release(x[k]);
        sq25__ens_fft_release(spec[k]);
    }
    sq25__ens_filters_free(ctx, &b);
    sq25__ens_fft_free(&f);
    sq25_ctx_destroy(ctx);
}

/* Radially averaged power spectrum of a real field by the test's own transform (FFTW called
 * directly) and its log-log slope over wavenumbers lo..hi (integer rings). */
static double measured_slope(const float *field, int w, int h, int lo, int hi)
{
    float *in = fftwf_malloc(sizeof(float) * (size_t)w * h);
    fftwf_complex *out = fftwf_malloc(sizeof(fftwf_complex) * (size_t)h * (w / 2 + 1));
    fftwf_plan p = fftwf_plan_dft_r2c_2d(h, w, in, out, FFTW_ESTIMATE);
    memcpy(in, field, sizeof(float) * (size_t)w * h);
    fftwf_execute(p);
    double *power = calloc((size_t)hi + 2, sizeof *power), *count = calloc((size_t)hi + 2, sizeof *count);
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w / 2 + 1; c++) {
            int ky = r <= h / 2 ? r : r - h;
            int ring = (int)lround(sqrt((double)c * c + (double)ky * ky));
            if (ring < lo || ring > hi) continue;
            const fftwf_complex *z = out + (size_t)r * (w / 2 + 1) + c;
            power[ring] += (double)z[0][0] * z[0][0] + (double)z[0][1] * z[0][1];
            count[ring] += 1;
        }
    double sx = 0, sy = 0, sxx = 0, sxy = 0, n = 0;
    for (int k = lo; k <= hi; k++) {
        double xx = log((double)k), yy = log(power[k] / count[k]);
        sx += xx, sy += yy, sxx += xx * xx, sxy += xx * yy, n += 1;
    }
    fftwf_destroy_plan(p);
    fftwf_free(in);
    fftwf_free(out);
    free(power);
    free(count);
    return -(n * sxy - sx * sy) / (n * sxx - sx * sx);
}

/* Noise drawn through the power-law filter k^(-beta/2) has power spectrum k^-beta: slope
 * within 5 % of beta. Then the nonparametric filter of a field synthesised by the test with
 * spectrum k^-2.5 gives noise whose slope is within 5 % of 2.5. */
static void noise_spectrum_slope(void **state)
{
    (void)state;
    const int w = 256, h = 256;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25__ens_fft f;
    assert_int_equal(sq25__ens_fft_init(ctx, &f, w, h), SQ25_OK);
    float *filter = malloc(f.n_spec * sizeof(float));
    fftwf_complex *spec = sq25__ens_fft_alloc(f.n_spec * sizeof(fftwf_complex));
    float *noise = sq25__ens_fft_alloc(f.n_real * sizeof(float));
    sq25__ens_rng g;
    const double beta = 3.0;
    sq25__ens_noise_filter_powerlaw(&f, beta, filter);
    sq25__ens_rng_seed(&g, 7, 0, 1);
    sq25__ens_noise_spectrum(&f, filter, &g, spec);
    sq25__ens_fft_inverse(&f, spec, noise);
    double s = measured_slope(noise, w, h, 2, 100);
    assert_true(fabs(s - beta) < 0.05 * beta);

    /* the target field: the test's own complex Gaussian coefficients times k^(-2.5/2) */
    float *target = sq25__ens_fft_alloc(f.n_real * sizeof(float));
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w / 2 + 1; c++) {
            int ky = r <= h / 2 ? r : r - h;
            double k = sqrt((double)c * c + (double)ky * ky);
            double a = k > 0 ? pow(k, -1.25) : 0;
            spec[(size_t)r * (w / 2 + 1) + c][0] = (float)(a * test_normal());
            spec[(size_t)r * (w / 2 + 1) + c][1] = (float)(a * test_normal());
        }
    fftwf_plan p = fftwf_plan_dft_c2r_2d(h, w, spec, target, FFTW_ESTIMATE);
    fftwf_execute(p);
    fftwf_destroy_plan(p);
    const float *const fields[1] = {target};
    assert_int_equal(sq25__ens_noise_filter_nonparametric(ctx, &f, fields, 1, filter), SQ25_OK);
    sq25__ens_rng_seed(&g, 8, 0, 1);
    sq25__ens_noise_spectrum(&f, filter, &g, spec);
    sq25__ens_fft_inverse(&f, spec, noise);
    s = measured_slope(noise, w, h, 2, 100);
    assert_true(fabs(s - 2.5) < 0.05 * 2.5);
    /* and the fitted power law of that field */
    double fitted = 0;
    assert_int_equal(sq25__ens_power_spectrum_slope(ctx, &f, fields, 1, &fitted), SQ25_OK);
    assert_true(fabs(fitted - 2.5) < 0.05 * 2.5);
    sq25__ens_fft_release(target);
    sq25__ens_fft_release(spec);
    sq25__ens_fft_release(noise);
    free(filter);
    sq25__ens_fft_free(&f);
    sq25_ctx_destroy(ctx);
}

/* Probability matching onto a known distribution: after matching, the valid cells hold
 * exactly the target values (as a multiset), in the order of the original values; NaN cells
 * stay NaN. Target: 900 dry values (-15) and 2100 values 0.01 k (k = 1..2100). */
static void probability_matching_is_exact(void **state)
{
    (void)state;
    const size_t n = 3100, m = 3000;
    float *x = malloc(n * sizeof *x), *orig = malloc(n * sizeof *orig);
    float *target = malloc(m * sizeof *target), *got = malloc(n * sizeof *got);
    uint32_t *scratch = malloc(4 * n * sizeof *scratch);
    for (size_t i = 0; i < m; i++) target[i] = i < 900 ? -15.0f : 0.01f * (float)(i - 899);
    for (size_t i = 0; i < n; i++) x[i] = i % 31 == 0 ? NAN : (float)(test_normal() * 10);
    /* 100 NaN cells: i = 0, 31, ..., 3069 */
    memcpy(orig, x, n * sizeof *x);
    sq25__ens_match_cdf(x, n, target, m, scratch, scratch + n, scratch + 2 * n, scratch + 3 * n);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(orig[i])) {
            assert_true(isnan(x[i]));
            continue;
        }
        got[k++] = x[i];
    }
    assert_int_equal(k, m);
    /* order kept: a larger original value never gets a smaller target value */
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n && j < i + 40; j++)
            if (!isnan(orig[i]) && !isnan(orig[j]) && orig[i] < orig[j]) assert_true(x[i] <= x[j]);
    sq25__ens_sort_floats(got, m, scratch);
    for (size_t i = 0; i < m; i++) assert_true(got[i] == target[i]);
    free(x);
    free(orig);
    free(target);
    free(got);
    free(scratch);
}

/* The incremental mask: 1 within the buffer, falling linearly to 0 over the rim. One wet cell
 * in the middle of a 41x41 grid, buffer 3 px, rim 4 px: cells 3 px away (straight) weigh 1,
 * 5 px away 1 - 2/5, 8 px and beyond 0 (3-4 chamfer distances are exact along the axes). */
static void incremental_mask(void **state)
{
    (void)state;
    const int w = 41, h = 41;
    unsigned char wet[41 * 41 / 8 + 1] = {0}; /* one bit per cell */
    float dist[43 * 43], mask[41 * 41];
    const int i = 20 * w + 20;
    wet[i >> 3] = (unsigned char)(1u << (i & 7));
    sq25__ens_mask(wet, w, h, 3, 4, dist, mask);
    assert_true(mask[20 * w + 23] == 1.0f);
    assert_true(fabs(mask[20 * w + 25] - 0.6) < 1e-6);
    assert_true(mask[28 * w + 20] == 0.0f);
    assert_true(mask[0] == 0.0f);
}

/* The mask against distances worked out by hand: on a grid without obstacles the 3-4 chamfer
 * distance between cells (dx, dy) apart is 3 max(|dx|,|dy|) + min(|dx|,|dy|) thirds of a
 * pixel (diagonal steps of 4 for the shorter side, straight steps of 3 for the rest), so the
 * transform must give, at every cell, that closed form minimised over the wet cells.
 * Scattered wet cells on an odd 37x29 grid; a rim of 4 px exercises the 16-bit path in
 * signed lanes, a rim of 11000 px (cap 33012 thirds: over 0x8000) the unsigned one, a rim of
 * 30000 px (capped distances would not fit 16 bits) the float one. */
static void mask_matches_closed_form(void **state)
{
    (void)state;
    enum { W = 37, H = 29 };
    unsigned char wet[W * H / 8 + 1] = {0};
    const int cells[4][2] = {{3, 2}, {30, 5}, {10, 25}, {36, 28}}; /* (x, y) */
    for (int k = 0; k < 4; k++) {
        const int i = cells[k][1] * W + cells[k][0];
        wet[i >> 3] |= (unsigned char)(1u << (i & 7));
    }
    static float dist[(W + 2) * (H + 2)], mask[W * H];
    const double rims[3] = {4, 11000, 30000};
    for (int t = 0; t < 3; t++) {
        const double buffer = 2, rim = rims[t];
        sq25__ens_mask(wet, W, H, buffer, rim, dist, mask);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                int best = 1 << 30;
                for (int k = 0; k < 4; k++) {
                    const int dx = abs(x - cells[k][0]), dy = abs(y - cells[k][1]);
                    const int d = 3 * (dx > dy ? dx : dy) + (dx > dy ? dy : dx);
                    best = d < best ? d : best;
                }
                double w = 1 - (best / 3.0 - buffer) / (rim + 1);
                w = w > 1 ? 1 : w < 0 ? 0 : w;
                assert_true(fabs(mask[y * W + x] - w) < 1e-5);
            }
    }
}

/* The same closed form on a wider grid with many wet cells, so that the mask's vectorised
 * horizontal scans (eight 16-bit lanes, a row of 133 + 2 cells: whole vectors and a tail; runs
 * of lanes all beyond the cap, skipped, beside lanes that change) meet every case: 90 wet cells
 * from a fixed linear congruential sequence on 133 x 71, buffer 2 px, rim 6 px. The expected
 * weight is min over the wet cells of 3 max(|dx|,|dy|) + min(|dx|,|dy|) thirds of a pixel. */
static void mask_matches_closed_form_many_cells(void **state)
{
    (void)state;
    enum { W = 133, H = 71, K = 90 };
    static unsigned char wet[W * H / 8 + 1];
    static int cx[K], cy[K];
    static float dist[(W + 2) * (H + 2)], mask[W * H];
    uint32_t lcg = 12345;
    for (int k = 0; k < K; k++) {
        lcg = lcg * 1664525u + 1013904223u;
        cx[k] = (int)((lcg >> 8) % W);
        lcg = lcg * 1664525u + 1013904223u;
        cy[k] = (int)((lcg >> 8) % H);
        const int i = cy[k] * W + cx[k];
        wet[i >> 3] |= (unsigned char)(1u << (i & 7));
    }
    const double buffer = 2, rim = 6;
    sq25__ens_mask(wet, W, H, buffer, rim, dist, mask);
    int inside = 0, zero = 0, between = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int best = 1 << 30;
            for (int k = 0; k < K; k++) {
                const int dx = abs(x - cx[k]), dy = abs(y - cy[k]);
                const int d = 3 * (dx > dy ? dx : dy) + (dx > dy ? dy : dx);
                best = d < best ? d : best;
            }
            double w = 1 - (best / 3.0 - buffer) / (rim + 1);
            w = w > 1 ? 1 : w < 0 ? 0 : w;
            assert_true(fabs(mask[y * W + x] - w) < 1e-5);
            inside += w == 1;
            zero += w == 0;
            between += w > 0 && w < 1;
        }
    assert_true(inside > 500 && zero > 500 && between > 500); /* every part of the ramp */
}

/* Dry blocks from the wet bits, worked out by hand on a 24x12 grid (3 x 2 blocks of 8x8; a
 * block's bilinear samples reach one row and one column into the next block) whose cells at
 * rows 8..11, columns 16..23 hold no data: block (1,2) sees only those (NODATA); (0,1), (0,2)
 * and (1,1) reach them and valid cells (mixed, 0). Without rain (0,0) and (1,0) are dry; a wet
 * cell at (x 8, y 9) lies in (1,1) and is also sampled by (1,0) through its extra column; one
 * at (x 2, y 8) lies in (1,0) and is sampled by (0,0) through its extra row. A random field
 * must agree with the per-cell reference sq25__ens_dry_blocks on the field itself. */
static void dry_blocks_from_wet_bits(void **state)
{
    (void)state;
    enum { W = 24, H = 12 };
    static float field[W * H], validity[W * H];
    unsigned char kinds[6], dry[6], ref[6];
    const unsigned char D = SQ25__ENS_BLOCK_DRY, N = SQ25__ENS_BLOCK_NODATA;
    const unsigned char expect[3][6] = {{D, 0, 0, D, 0, N}, {D, 0, 0, 0, 0, N}, {0, 0, 0, 0, 0, N}};
    const int wet_at[3] = {-1, 9 * W + 8, 8 * W + 2};
    for (int i = 0; i < W * H; i++) validity[i] = i / W >= 8 && i % W >= 16 ? NAN : 0.0f;
    sq25__ens_dry_blocks(validity, W, H, kinds);
    for (int t = 0; t < 3; t++) {
        unsigned char wet[W * H / 8 + 1] = {0};
        const int at = wet_at[t];
        if (at >= 0) wet[at >> 3] |= (unsigned char)(1u << (at & 7));
        sq25__ens_dry_blocks_wet(wet, kinds, W, H, dry);
        for (int k = 0; k < 6; k++) assert_int_equal(dry[k], expect[t][k]);
    }
    /* random wet cells (about 1 in 60) and a no-data corner */
    unsigned char wet2[W * H / 8 + 1] = {0};
    for (int i = 0; i < W * H; i++) {
        const int nodata = i / W < 4 && i % W < 9;
        const int is_wet = !nodata && test_uniform() < 1.0 / 60;
        field[i] = nodata ? NAN : is_wet ? 1.0f : 0.0f;
        validity[i] = nodata ? NAN : 0.0f;
        if (is_wet) wet2[i >> 3] |= (unsigned char)(1u << (i & 7));
    }
    sq25__ens_dry_blocks(validity, W, H, kinds);
    sq25__ens_dry_blocks_wet(wet2, kinds, W, H, dry);
    sq25__ens_dry_blocks(field, W, H, ref);
    for (int k = 0; k < 6; k++) assert_int_equal(dry[k], ref[k]);
}

/* The same agreement on a grid whose rows do not start on a byte of the bit array (45 cells
 * wide: row r starts at bit 45 r, offsets 0..7 within a byte) and end in a part block, at
 * three densities of random wet cells, with a no-data band. */
static void dry_blocks_from_wet_bits_odd_width(void **state)
{
    (void)state;
    enum { W = 45, H = 19, BX = (W + 7) / 8, BY = (H + 7) / 8 };
    static float field[W * H], validity[W * H];
    unsigned char kinds[BX * BY], dry[BX * BY], ref[BX * BY];
    const double density[3] = {1.0 / 200, 1.0 / 40, 1.0 / 8};
    for (int t = 0; t < 3; t++) {
        unsigned char wet[W * H / 8 + 1] = {0};
        for (int i = 0; i < W * H; i++) {
            const int nodata = i % W >= 30 && i % W < 34 && i / W > 3;
            const int is_wet = !nodata && test_uniform() < density[t];
            field[i] = nodata ? NAN : is_wet ? 2.0f : 0.0f;
            validity[i] = nodata ? NAN : 0.0f;
            if (is_wet) wet[i >> 3] |= (unsigned char)(1u << (i & 7));
        }
        sq25__ens_dry_blocks(validity, W, H, kinds);
        sq25__ens_dry_blocks_wet(wet, kinds, W, H, dry);
        sq25__ens_dry_blocks(field, W, H, ref);
        for (int k = 0; k < BX * BY; k++) assert_int_equal(dry[k], ref[k]);
    }
}

/* Three frames of a Gaussian cell moving 2 px per step east on a 96x80 grid in a metric CRS
 * (UTM 31N, 1 km cells). */
/* Bilinear value of f (w x h) at (x, y) in double, NaN outside the grid or when a cell of
 * non-zero weight is NaN: the sampling's definition, written from its description. */
static double bilinear_reference(const float *f, int w, int h, double x, double y)
{
    if (!(x >= 0 && y >= 0 && x <= w - 1 && y <= h - 1)) return NAN;
    int x0 = (int)x, y0 = (int)y;
    x0 = x0 > w - 2 ? w - 2 : x0;
    y0 = y0 > h - 2 ? h - 2 : y0;
    const double fx = x - x0, fy = y - y0, wt[4] = {(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy};
    const float v[4] = {f[y0 * w + x0], f[y0 * w + x0 + 1], f[(y0 + 1) * w + x0], f[(y0 + 1) * w + x0 + 1]};
    double sum = 0;
    for (int k = 0; k < 4; k++) {
        if (wt[k] <= 0) continue;
        if (isnan(v[k])) return NAN;
        sum += wt[k] * v[k];
    }
    return sum;
}

/* sq25__ens_sample against that definition at every cell of a field with rain, dry ground and
 * a nodata corner, along a varying motion with a perturbation: the departure point of a cell
 * is the bilinear mix of its node tile's corner displacements. The runs and tiles that the
 * sampler fills without sampling (dry or nodata blocks) must give exactly 0 / NaN where the
 * definition does; cells within 1e-3 px of a cell edge are skipped (float rounding there may
 * change which neighbours carry weight). */
static void sampling_matches_definition(void **state)
{
    (void)state;
    enum { W = 96, H = 80, N = W * H };
    static float field[N], u[N], v[N], out[N];
    for (int r = 0; r < H; r++)
        for (int c = 0; c < W; c++) {
            const double a = (c - 50) * (c - 50) + (r - 35) * (r - 35), b = (c - 20) * (c - 20) + (r - 60) * (r - 60);
            const double x = 12 * exp(-a / 40.0) + 4 * exp(-b / 15.0);
            field[r * W + c] = x < 0.1 ? 0.0f : (float)x;
            if (c > 80 && r < 20) field[r * W + c] = NAN; /* nodata corner */
            u[r * W + c] = (float)(3 + sin(r / 9.0));
            v[r * W + c] = (float)(-1 + 0.8 * cos(c / 11.0));
        }
    enum { S = SQ25__ENS_NODE_STEP }; /* the node step, cells */
    sq25__ens_flow fl = {W, H, (W - 1 + S - 1) / S + 1, (H - 1 + S - 1) / S + 1, u, v, NULL};
    float *nodes = malloc(2 * sizeof(float) * (size_t)fl.nodes_x * (size_t)fl.nodes_y);
    float *row = malloc(3 * sizeof(float) * (size_t)fl.nodes_x);
    unsigned char dry[(W / 8 + 1) * (H / 8 + 1)];
    assert_non_null(nodes);
    assert_non_null(row);
    sq25__ens_dry_blocks(field, W, H, dry);
    sq25__ens_nodes_init(&fl, nodes);
    sq25__ens_departures(&fl, nodes, 0, 3, 1.5, -0.7);
    sq25__ens_sample(&fl, nodes, field, dry, row, out);
    int zeros = 0, nans = 0, wet = 0, checked = 0;
    for (int r = 0; r < H; r++)
        for (int c = 0; c < W; c++) {
            const int i = r / S, j = c / S, i1 = i + 1 < fl.nodes_y ? i + 1 : i, j1 = j + 1 < fl.nodes_x ? j + 1 : j;
            const double fy = (r % S) / (double)S, fx = (c % S) / (double)S;
            double d[2];
            for (int k = 0; k < 2; k++) {
                const double origin_00 = k ? i * S : j * S, origin_01 = k ? i * S : j1 * S;
                const double origin_10 = k ? i1 * S : j * S, origin_11 = k ? i1 * S : j1 * S;
                const double d00 = nodes[2 * (i * fl.nodes_x + j) + k] - origin_00;
                const double d01 = nodes[2 * (i * fl.nodes_x + j1) + k] - origin_01;
                const double d10 = nodes[2 * (i1 * fl.nodes_x + j) + k] - origin_10;
                const double d11 = nodes[2 * (i1 * fl.nodes_x + j1) + k] - origin_11;
                d[k] = (1 - fy) * ((1 - fx) * d00 + fx * d01) + fy * ((1 - fx) * d10 + fx * d11);
            }
            const double x = c + d[0], y = r + d[1];
            if (fabs(x - floor(x + 0.5)) < 1e-3 || fabs(y - floor(y + 0.5)) < 1e-3) continue;
            const double ref = bilinear_reference(field, W, H, x, y);
            const float got = out[r * W + c];
            checked++;
            if (isnan(ref)) {
                assert_true(isnan(got));
                nans++;
            } else if (ref == 0) {
                assert_true(got == 0.0f);
                zeros++;
            } else {
                assert_true(fabs(got - ref) <= 1e-4 * (1 + fabs(ref)));
                wet++;
            }
        }
    /* every kind of cell is there, including the filled dry and nodata tiles */
    assert_true(checked > N / 2);
    assert_true(zeros > 1000 && nans > 100 && wet > 300);
    free(nodes);
    free(row);
}

/* The sampler's second pass, worked out by hand: on a 21 x 12 grid f(x, y) = 1 + x + 10 y
 * (bilinear samples of a linear field are the field itself; every value here is exact in
 * float) with NaN at (7, 5) and (2, 9), under a uniform motion of u px per step (v = 0), one
 * step: a cell's departure point is (x - u, y). With u = -1 it lies on a cell, so the NaN
 * neighbours at its right and below carry weight 0 and do not count: (5, 5) samples
 * f(6, 5) = 57 and (6, 4) samples f(7, 4) = 48, though (7, 5) is NaN (the first pass gives
 * NaN there, 0 * NaN); (6, 5) itself samples the NaN cell. The last column's point lies
 * beyond the grid (NaN); the one before it on its edge (column 20: f(20, y), the edge rule).
 * With u = -0.5 a NaN neighbour of weight 1/2 makes the sample NaN ((6, 5), (7, 5)), while
 * (6, 4) at (6.5, 4) still gets 1 + 6.5 + 40 = 47.5 (row 5 has weight 0). */
static void sampling_nan_neighbours_of_zero_weight(void **state)
{
    (void)state;
    enum { W = 21, H = 12, N = W * H };
    static float field[N], u[N], v[N], out[N];
    for (int i = 0; i < N; i++) field[i] = (float)(1 + i % W + 10 * (i / W));
    field[5 * W + 7] = NAN;
    field[9 * W + 2] = NAN;
    enum { S = SQ25__ENS_NODE_STEP }; /* the node step, cells */
    sq25__ens_flow fl = {W, H, (W - 1 + S - 1) / S + 1, (H - 1 + S - 1) / S + 1, u, v, NULL};
    float *nodes = malloc(2 * sizeof(float) * (size_t)fl.nodes_x * (size_t)fl.nodes_y);
    float *row = malloc(3 * sizeof(float) * (size_t)fl.nodes_x);
    unsigned char dry[(W / 8 + 1) * (H / 8 + 1)];
    assert_non_null(nodes);
    assert_non_null(row);
    sq25__ens_dry_blocks(field, W, H, dry);
    const float speeds[2] = {-1.0f, -0.5f};
    for (int t = 0; t < 2; t++) {
        for (int i = 0; i < N; i++) u[i] = speeds[t], v[i] = 0;
        sq25__ens_nodes_init(&fl, nodes);
        sq25__ens_departures(&fl, nodes, 0, 1, 0, 0);
        sq25__ens_sample(&fl, nodes, field, dry, row, out);
        if (t == 0) {
            assert_true(out[5 * W + 5] == 57.0f);
            assert_true(out[4 * W + 6] == 48.0f);
            assert_true(isnan(out[5 * W + 6]));
            assert_true(out[9 * W + 0] == 92.0f); /* f(1, 9); (2, 9) has weight 0 */
            assert_true(isnan(out[9 * W + 1]));
            assert_true(out[3 * W + 19] == 51.0f); /* on the edge: f(20, 3) */
            assert_true(isnan(out[3 * W + 20]));   /* beyond it */
        } else {
            assert_true(isnan(out[5 * W + 6]));
            assert_true(isnan(out[5 * W + 7]));
            assert_true(out[4 * W + 6] == 47.5f);
            assert_true(out[5 * W + 5] == 56.5f);
            assert_true(out[3 * W + 19] == 50.5f);
            assert_true(isnan(out[3 * W + 20])); /* at 20.5 */
        }
        /* every other cell: the linear field at (x - u, y) inside the grid */
        for (int r = 0; r < H; r++)
            for (int c = 0; c < W; c++) {
                const float x = (float)c - speeds[t];
                const int x0 = (int)x, x1 = x0 + (x > (float)x0);
                const int nan_near = (r == 5 && (x0 == 7 || x1 == 7)) || (r == 9 && (x0 == 2 || x1 == 2));
                const float got = out[r * W + c];
                if (x > W - 1 || nan_near) assert_true(isnan(got));
                else assert_true(got == 1.0f + x + 10.0f * (float)r);
            }
    }
    free(nodes);
    free(row);
}

static sq25_ensemble *run_small(sq25_ctx *ctx, sq25_field *frames[3], int threads,
                                uint64_t seed)
{
    static float u[96 * 80], v[96 * 80];
    for (int i = 0; i < 96 * 80; i++) u[i] = 2, v[i] = 0;
    sq25_ensemble_options *o = NULL;
    assert_int_equal(sq25_ensemble_options_create(ctx, &o), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_members(o, 5), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_threads(o, threads), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_seed(o, seed), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_keep_members(o, 1), SQ25_OK);
    /* the members' fractions alone (no blend), whatever the library's default */
    assert_int_equal(sq25_ensemble_options_set_neighbourhood(o, 0), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_control_weight(o, 0), SQ25_OK);
    const int minutes[2] = {15, 30};
    assert_int_equal(sq25_ensemble_options_set_accumulations(o, 2, minutes), SQ25_OK);
    sq25_ensemble *e = NULL;
    int rc = sq25_ensemble_run(ctx, o, (const sq25_field *const *)frames, 3, u, v, 6, &e);
    assert_int_equal(rc, SQ25_OK);
    sq25_ensemble_options_destroy(o);
    return e;
}

static int same_members(const sq25_ensemble *a, const sq25_ensemble *b)
{
    for (int m = 0; m < sq25_ensemble_member_count(a); m++)
        for (int k = 0; k < sq25_ensemble_lead_count(a); k++) {
            const float *x = sq25_field_data_const(sq25_ensemble_member(a, m, k));
            const float *y = sq25_field_data_const(sq25_ensemble_member(b, m, k));
            if (memcmp(x, y, 96 * 80 * sizeof(float)) != 0) return 0;
        }
    return 1;
}

/* One seed gives bit-identical members with 1 and 2 threads; another seed differs. The
 * statistics follow from the members: probability = fraction of members above the threshold
 * (recounted here), accumulation windows end at 15 and 30 min. */
static void same_seed_same_members(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *frames[3];
    test_ensemble_frames(ctx, frames);
    sq25_ensemble *a = run_small(ctx, frames, 1, 11), *b = run_small(ctx, frames, 2, 11);
    sq25_ensemble *c = run_small(ctx, frames, 2, 12);
    assert_true(same_members(a, b));
    assert_false(same_members(a, c));
    assert_int_equal(sq25_ensemble_lead_count(a), 6);
    assert_int_equal(sq25_ensemble_step_s(a), 300);
    assert_int_equal(sq25_ensemble_accumulation_minutes(a, 1), 30);
    const sq25_field *p = sq25_ensemble_probability(a, 2, 0); /* > 1 mm/h at 15 min */
    assert_int_equal(sq25_field_valid_time(p), 1625410800 + 600 + 900);
    int wet_cells = 0;
    for (int i = 0; i < 96 * 80; i++) {
        int count = 0, valid = 0;
        for (int m = 0; m < 5; m++) {
            float x = sq25_field_data_const(sq25_ensemble_member(a, m, 2))[i];
            if (isnan(x)) continue;
            valid++;
            count += x > 1.0f;
        }
        float pi = sq25_field_data_const(p)[i];
        if (valid == 0) assert_true(isnan(pi));
        else assert_true(fabs(pi - (float)count / valid) < 1e-6);
        wet_cells += count > 0;
    }
    assert_true(wet_cells > 20); /* the cell is forecast somewhere */
    assert_int_equal(sq25_field_accumulation_s(sq25_ensemble_accumulation_mean(a, 0)), 900);
    assert_null(sq25_ensemble_probability(a, 6, 0));
    assert_null(sq25_ensemble_member(a, 5, 0));
    sq25_ensemble_destroy(a);
    sq25_ensemble_destroy(b);
    sq25_ensemble_destroy(c);
    for (int k = 0; k < 3; k++) sq25_field_destroy(frames[k]);
    sq25_ctx_destroy(ctx);
}


/* The library's default probabilities (the blend with the control member, computed on the
 * context's threads) and accumulations (15, 30, 60 min) are bit-identical on 1 and 3 threads (ensemble and
 * context alike), and so are the files written from them (the writer compresses on threads). */
static sq25_ensemble *run_default(sq25_ctx *ctx, sq25_field *frames[3], int threads)
{
    static float u[96 * 80], v[96 * 80];
    for (int i = 0; i < 96 * 80; i++) u[i] = 2, v[i] = 0.5f;
    sq25_ensemble_options *o = NULL;
    assert_int_equal(sq25_ensemble_options_create(ctx, &o), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_members(o, 4), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_threads(o, threads), SQ25_OK);
    sq25_ensemble *e = NULL;
    assert_int_equal(sq25_ensemble_run(ctx, o, (const sq25_field *const *)frames, 3, u, v, 12, &e),
                     SQ25_OK);
    sq25_ensemble_options_destroy(o);
    return e;
}

static void default_probabilities_whatever_the_threads(void **state)
{
    (void)state;
    sq25_ctx *one = sq25_ctx_create(), *three = sq25_ctx_create();
    assert_int_equal(sq25_ctx_set_threads(one, 1), SQ25_OK);
    assert_int_equal(sq25_ctx_set_threads(three, 3), SQ25_OK);
    sq25_field *frames[3];
    test_ensemble_frames(one, frames);
    sq25_ensemble *a = run_default(one, frames, 1), *b = run_default(three, frames, 3);
    const size_t bytes = 96 * 80 * sizeof(float);
    int blended = 0; /* cells whose probability is neither 0 nor 1 nor k/4 */
    for (int k = 0; k < 12; k++)
        for (int j = 0; j < 4; j++) {
            const float *pa = sq25_field_data_const(sq25_ensemble_probability(a, k, j));
            const float *pb = sq25_field_data_const(sq25_ensemble_probability(b, k, j));
            assert_memory_equal(pa, pb, bytes);
            for (int i = 0; i < 96 * 80; i++) blended += pa[i] * 4 != floorf(pa[i] * 4);
        }
    assert_true(blended > 100); /* the blend acted */
    for (int w = 0; w < sq25_ensemble_accumulation_count(a); w++)
        for (int j = 0; j < 4; j++)
            assert_memory_equal(sq25_field_data_const(sq25_ensemble_accumulation_probability(a, w, j)),
                                sq25_field_data_const(sq25_ensemble_accumulation_probability(b, w, j)),
                                bytes);
    char pa[4096], pb[4096];
    snprintf(pa, sizeof pa, "%s/one.nc", test_tmpdir());
    snprintf(pb, sizeof pb, "%s/three.nc", test_tmpdir());
    assert_int_equal(sq25_ensemble_write_netcdf(a, pa), SQ25_OK);
    assert_int_equal(sq25_ensemble_write_netcdf(b, pb), SQ25_OK);
    sq25_ensemble *ra = NULL, *rb = NULL;
    assert_int_equal(sq25_ensemble_read_netcdf(one, pa, &ra), SQ25_OK);
    assert_int_equal(sq25_ensemble_read_netcdf(one, pb, &rb), SQ25_OK);
    for (int k = 0; k < 12; k++) {
        assert_memory_equal(sq25_field_data_const(sq25_ensemble_mean(ra, k)),
                            sq25_field_data_const(sq25_ensemble_mean(a, k)), bytes);
        assert_memory_equal(sq25_field_data_const(sq25_ensemble_probability(rb, k, 1)),
                            sq25_field_data_const(sq25_ensemble_probability(a, k, 1)), bytes);
    }
    sq25_ensemble_destroy(ra);
    sq25_ensemble_destroy(rb);
    sq25_ensemble_destroy(a);
    sq25_ensemble_destroy(b);
    for (int k = 0; k < 3; k++) sq25_field_destroy(frames[k]);
    sq25_ctx_destroy(one);
    sq25_ctx_destroy(three);
}

/* The pipeline's ensemble path: the warning's level probability at every cell equals the
 * fraction of the kept members whose amount over the horizon (30 min) reaches the level
 * (recounted here from the members); with a neighbourhood of 2 cells it is the mean of that
 * fraction over the 5x5 window (recomputed here at one interior cell). */
static void pipeline_ensemble_warnings(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *frames[3];
    test_ensemble_frames(ctx, frames);
    sq25_pipeline *p = NULL;
    assert_int_equal(sq25_pipeline_create(ctx, &p), SQ25_OK);
    assert_int_equal(sq25_pipeline_set_horizon(p, 1800), SQ25_OK);
    sq25_warn_options *wo = sq25_pipeline_warn_options(p);
    const double levels[2] = {1, 3};
    assert_int_equal(sq25_warn_options_set_levels(wo, 2, levels, NULL), SQ25_OK);
    assert_int_equal(sq25_warn_options_set_horizon(wo, 1800), SQ25_OK);
    sq25_ensemble_options *eo = NULL;
    assert_int_equal(sq25_ensemble_options_create(ctx, &eo), SQ25_OK);
    sq25_ensemble_options_set_members(eo, 4);
    sq25_ensemble_options_set_keep_members(eo, 1);
    sq25_ensemble_options_set_neighbourhood(eo, 0); /* the members' fractions alone */
    sq25_ensemble_options_set_control_weight(eo, 0);
    for (int k = 0; k < 3; k++) assert_int_equal(sq25_pipeline_push_frame(p, frames[k]), SQ25_OK);
    for (int nb = 0; nb <= 2; nb += 2) {
        assert_int_equal(sq25_pipeline_set_ensemble(p, eo, nb), SQ25_OK);
        sq25_warning *w = NULL;
        assert_int_equal(sq25_pipeline_run(p, &w), SQ25_OK);
        const sq25_ensemble *e = sq25_pipeline_ensemble(p);
        assert_non_null(e);
        assert_int_equal(sq25_ensemble_accumulation_minutes(e, 0), 30);
        sq25_field *prob = NULL;
        assert_int_equal(sq25_warning_probability(w, 1, &prob), SQ25_OK);
        const float *pw = sq25_field_data_const(prob);
        static float frac[96 * 80];
        int wet = 0;
        for (int i = 0; i < 96 * 80; i++) {
            int reach = 0, valid = 0;
            for (int m = 0; m < 4; m++) {
                float a = sq25_field_data_const(sq25_ensemble_accumulation_member(e, m, 0))[i];
                if (isnan(a)) continue;
                valid++;
                reach += a >= 1.0f;
            }
            frac[i] = valid ? (float)reach / valid : NAN;
            wet += reach > 0;
        }
        assert_true(wet > 10);
        if (nb == 0) {
            for (int i = 0; i < 96 * 80; i++)
                if (!isnan(frac[i])) assert_true(fabs(pw[i] - frac[i]) < 1e-6);
        } else {
            const int r0 = 40, c0 = 36;
            double sum = 0;
            int n = 0;
            for (int r = r0 - 2; r <= r0 + 2; r++)
                for (int c = c0 - 2; c <= c0 + 2; c++)
                    if (!isnan(frac[r * 96 + c])) sum += frac[r * 96 + c], n++;
            assert_true(fabs(pw[r0 * 96 + c0] - sum / n) < 1e-5);
        }
        sq25_field_destroy(prob);
        sq25_warning_destroy(w);
    }
    /* back to the deterministic path */
    assert_int_equal(sq25_pipeline_set_ensemble(p, NULL, 0), SQ25_OK);
    sq25_warning *w = NULL;
    assert_int_equal(sq25_pipeline_run(p, &w), SQ25_OK);
    assert_null(sq25_pipeline_ensemble(p));
    sq25_warning_destroy(w);
    sq25_ensemble_options_destroy(eo);
    sq25_pipeline_destroy(p);
    for (int k = 0; k < 3; k++) sq25_field_destroy(frames[k]);
    sq25_ctx_destroy(ctx);
}

/* Write then read back: the statistics and members come back bit for bit; a missing file and
 * a file that is not netCDF give their codes and no result. */
static void netcdf_round_trip(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *frames[3];
    test_ensemble_frames(ctx, frames);
    sq25_ensemble *e = run_small(ctx, frames, 2, 3), *back = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/ens.nc", test_tmpdir());
    assert_int_equal(sq25_ensemble_write_netcdf(e, path), SQ25_OK);
    assert_int_equal(sq25_ensemble_read_netcdf(ctx, path, &back), SQ25_OK);
    assert_int_equal(sq25_ensemble_lead_count(back), 6);
    assert_int_equal(sq25_ensemble_member_count(back), 5);
    assert_int_equal(sq25_ensemble_issue_time(back), sq25_ensemble_issue_time(e));
    assert_int_equal(sq25_ensemble_step_s(back), 300);
    assert_true(same_members(e, back));
    for (int k = 0; k < 6; k++) {
        const float *a = sq25_field_data_const(sq25_ensemble_probability(e, k, 1));
        const float *b = sq25_field_data_const(sq25_ensemble_probability(back, k, 1));
        assert_memory_equal(a, b, 96 * 80 * sizeof(float));
    }
    double g1 = 0, g1b = 0;
    sq25_ensemble_level_parameters(e, 3, NULL, &g1, NULL, NULL, NULL);
    sq25_ensemble_level_parameters(back, 3, NULL, &g1b, NULL, NULL, NULL);
    assert_true(g1 == g1b);
    sq25_ensemble_destroy(back);
    back = NULL;
    char missing[4096];
    snprintf(missing, sizeof missing, "%s/none.nc", test_tmpdir());
    assert_int_equal(sq25_ensemble_read_netcdf(ctx, missing, &back), SQ25_ERR_FILE_NOT_FOUND);
    const char *text = test_write_file("text.nc", "not a netCDF file\n");
    assert_int_equal(sq25_ensemble_read_netcdf(ctx, text, &back), SQ25_ERR_FORMAT_UNKNOWN);
    assert_null(back);
    /* a netCDF file of another layout (an ODIM_H5 file is HDF5 but has no ensemble dims) */
    char odim[4096];
    snprintf(odim, sizeof odim, "%s/f.h5", test_tmpdir());
    assert_int_equal(sq25_write_odim(ctx, odim, frames[0]), SQ25_OK);
    int rc = sq25_ensemble_read_netcdf(ctx, odim, &back);
    assert_true(rc == SQ25_ERR_FORMAT_UNKNOWN);
    assert_null(back);
    sq25_ensemble_destroy(e);
    for (int k = 0; k < 3; k++) sq25_field_destroy(frames[k]);
    sq25_ctx_destroy(ctx);
}


/* The blend: with 1 cell per step, the probability at lead index 1 (2 steps) is the mean over
 * the 5x5 window of the members' fraction (recounted here from the kept members) at an
 * interior cell; without it, the fraction at the cell itself. */
static void blended_probabilities(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *frames[3];
    test_ensemble_frames(ctx, frames);
    static float u[96 * 80], v[96 * 80];
    for (int i = 0; i < 96 * 80; i++) u[i] = 2, v[i] = 0;
    sq25_ensemble_options *o = NULL;
    assert_int_equal(sq25_ensemble_options_create(ctx, &o), SQ25_OK);
    sq25_ensemble_options_set_members(o, 5);
    sq25_ensemble_options_set_keep_members(o, 1);
    sq25_ensemble_options_set_accumulations(o, 0, NULL);
    assert_int_equal(sq25_ensemble_options_set_neighbourhood(o, 101), SQ25_ERR_RANGE);
    assert_int_equal(sq25_ensemble_options_set_neighbourhood(o, 1), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_control_weight(o, 0), SQ25_OK); /* members only */
    sq25_ensemble *e = NULL;
    assert_int_equal(sq25_ensemble_run(ctx, o, (const sq25_field *const *)frames, 3, u, v, 3, &e),
                     SQ25_OK);
    int checked = 0;
    for (int r0 = 30; r0 <= 50; r0 += 5)
        for (int c0 = 30; c0 <= 50; c0 += 5) {
            double sum = 0;
            int n = 0;
            for (int r = r0 - 2; r <= r0 + 2; r++)
                for (int c = c0 - 2; c <= c0 + 2; c++) {
                    int above = 0, valid = 0;
                    for (int m = 0; m < 5; m++) {
                        float x = sq25_field_data_const(sq25_ensemble_member(e, m, 1))[r * 96 + c];
                        if (isnan(x)) continue;
                        valid++;
                        above += x > 1.0f;
                    }
                    if (valid) sum += (double)above / valid, n++;
                }
            float p = sq25_field_data_const(sq25_ensemble_probability(e, 1, 0))[r0 * 96 + c0];
            if (n == 25) {
                assert_true(fabs(p - sum / n) < 1e-5);
                checked += sum > 0;
            }
        }
    assert_true(checked > 0);
    sq25_ensemble_destroy(e);
    sq25_ensemble_options_destroy(o);
    for (int k = 0; k < 3; k++) sq25_field_destroy(frames[k]);
    sq25_ctx_destroy(ctx);
}

/* Bad inputs: each gives its code and a message. */
static void run_errors(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *frames[3];
    test_ensemble_frames(ctx, frames);
    static float u[96 * 80], v[96 * 80];
    sq25_ensemble *e = NULL;
    const sq25_field *const *f = (const sq25_field *const *)frames;
    assert_int_equal(sq25_ensemble_run(ctx, NULL, f, 2, u, v, 6, &e), SQ25_ERR_TOO_FEW);
    assert_null(e);
    assert_int_equal(sq25_ensemble_run(ctx, NULL, f, 3, NULL, v, 6, &e), SQ25_ERR_INVALID_ARG);
    assert_int_equal(sq25_ensemble_run(ctx, NULL, f, 3, u, v, 0, &e), SQ25_ERR_RANGE);
    /* default windows 15/30/60 min do not fit in 6 leads of 5 min */
    assert_int_equal(sq25_ensemble_run(ctx, NULL, f, 3, u, v, 6, &e), SQ25_ERR_TIME_MISMATCH);
    assert_non_null(strstr(sq25_errmsg(ctx), "60 min"));
    sq25_field_set_valid_time(frames[2], sq25_field_valid_time(frames[2]) + 60);
    assert_int_equal(sq25_ensemble_run(ctx, NULL, f, 3, u, v, 12, &e), SQ25_ERR_TIME_GAP);
    sq25_field_set_valid_time(frames[2], sq25_field_valid_time(frames[1]));
    assert_int_equal(sq25_ensemble_run(ctx, NULL, f, 3, u, v, 12, &e), SQ25_ERR_TIME_ORDER);
    sq25_ensemble_options *o = NULL;
    assert_int_equal(sq25_ensemble_options_create(ctx, &o), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_members(o, 0), SQ25_ERR_RANGE);
    assert_int_equal(sq25_ensemble_options_set_cascade_levels(o, 11), SQ25_ERR_RANGE);
    assert_int_equal(sq25_ensemble_options_set_noise_gain(o, 0), SQ25_ERR_RANGE);
    const double bad[2] = {5, 1};
    assert_int_equal(sq25_ensemble_options_set_thresholds(o, 2, bad), SQ25_ERR_RANGE);
    assert_int_equal(sq25_ensemble_options_set_quantiles(o, 2, bad), SQ25_ERR_RANGE);
    sq25_ensemble_options_destroy(o);
    for (int k = 0; k < 3; k++) sq25_field_destroy(frames[k]);
    sq25_ctx_destroy(ctx);
}

/* Every allocation failure during a run, or while its result is written, is reported as
 * NOMEM and releases what it took; a failed write leaves no file. */
static void run_allocation_failures(void **state)
{
    (void)state;
    sq25_ctx *setup = sq25_ctx_create();
    sq25_field *frames[3];
    test_ensemble_frames(setup, frames);
    static float u[96 * 80], v[96 * 80];
    for (int i = 0; i < 96 * 80; i++) u[i] = 2, v[i] = 0;
    int writes_ok = 0, writes_failed = 0;
    for (long fail = 1; fail < 400; fail += 7) {
        test_alloc_state st = {.fail_at = fail};
        sq25_ctx *ctx = test_ctx_failing(&st);
        sq25_ensemble_options *o = NULL;
        if (sq25_ensemble_options_create(ctx, &o) != SQ25_OK) {
            sq25_ctx_destroy(ctx);
            continue;
        }
        sq25_ensemble_options_set_members(o, 2);
        sq25_ensemble_options_set_threads(o, 1);
        sq25_ensemble_options_set_accumulations(o, 0, NULL);
        sq25_ensemble *e = NULL;
        int rc = sq25_ensemble_run(ctx, o, (const sq25_field *const *)frames, 3, u, v, 3, &e);
        assert_true(rc == SQ25_OK || rc == SQ25_ERR_NOMEM);
        if (rc) assert_null(e);
        else { /* the allocations after the run's fail in the writer */
            char path[4096];
            snprintf(path, sizeof path, "%s/alloc%ld.nc", test_tmpdir(), fail);
            const int wrc = sq25_ensemble_write_netcdf(e, path);
            assert_true(wrc == SQ25_OK || wrc == SQ25_ERR_NOMEM);
            assert_int_equal(access(path, F_OK) == 0, wrc == SQ25_OK);
            if (wrc == SQ25_OK) writes_ok++;
            else writes_failed++;
        }
        sq25_ensemble_destroy(e);
        sq25_ensemble_options_destroy(o);
        sq25_ctx_destroy(ctx);
        assert_int_equal(st.live, 0);
    }
    assert_true(writes_failed > 0); /* the failures reached the writer */
    assert_true(writes_ok > 0);
    for (int k = 0; k < 3; k++) sq25_field_destroy(frames[k]);
    sq25_ctx_destroy(setup);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(filter_bank_sums_to_one),
        cmocka_unit_test(filter_bank_peak_at_nearest_centre),
        cmocka_unit_test(ar2_fit_recovers_coefficients),
        cmocka_unit_test(noise_spectrum_slope),
        cmocka_unit_test(probability_matching_is_exact),
        cmocka_unit_test(incremental_mask),
        cmocka_unit_test(mask_matches_closed_form),
        cmocka_unit_test(mask_matches_closed_form_many_cells),
        cmocka_unit_test(dry_blocks_from_wet_bits),
        cmocka_unit_test(dry_blocks_from_wet_bits_odd_width),
        cmocka_unit_test(sampling_matches_definition),
        cmocka_unit_test(sampling_nan_neighbours_of_zero_weight),
        cmocka_unit_test(same_seed_same_members),
        cmocka_unit_test(default_probabilities_whatever_the_threads),
        cmocka_unit_test(run_errors),
        cmocka_unit_test(run_allocation_failures),
        cmocka_unit_test(pipeline_ensemble_warnings),
        cmocka_unit_test(netcdf_round_trip),
        cmocka_unit_test(blended_probabilities),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
