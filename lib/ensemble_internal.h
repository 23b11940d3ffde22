/* ensemble_internal.h -- pieces of the STEPS-class ensemble shared by lib/ensemble*.c and the
 * unit tests. Not API.
 *
 * Spectra are FFTW's real-to-complex layout: height rows x (width/2 + 1) columns, unnormalised
 * (a forward then inverse transform multiplies by width*height). Wavenumbers are in cycles per
 * the longer side of the grid. */
#ifndef SQ25_ENSEMBLE_INTERNAL_H
#define SQ25_ENSEMBLE_INTERNAL_H

#include "internal.h"

#include <fftw3.h>
#include <string.h>

#define SQ25__ENS_MAX_LEVELS 10

/* FFTW plans of one grid, made once (planning is serialised behind a process-wide lock, as
 * FFTW's planner is not thread-safe) and executed from any thread on arrays allocated with
 * sq25__ens_fft_alloc (same alignment as at planning time). */
typedef struct {
    int width, height, half_width; /* half_width = width/2 + 1 */
    size_t n_real, n_spec;
    fftwf_plan forward, inverse;
} sq25__ens_fft;

int sq25__ens_fft_init(sq25_ctx *ctx, sq25__ens_fft *f, int width, int height);
void sq25__ens_fft_free(sq25__ens_fft *f);
void *sq25__ens_fft_alloc(size_t bytes);
void sq25__ens_fft_release(void *p);
/* Forward r2c of real (n_real floats; not modified) into spec (n_spec complex). */
void sq25__ens_fft_forward(const sq25__ens_fft *f, float *real, fftwf_complex *spec);
/* Inverse c2r of spec (destroyed) into real, divided by n_real (so it inverts forward). */
void sq25__ens_fft_inverse(const sq25__ens_fft *f, fftwf_complex *spec, float *real);
/* The same without the division (callers that fold 1/n_real into the spectrum). */
void sq25__ens_fft_inverse_raw(const sq25__ens_fft *f, fftwf_complex *spec, float *real);
/* Radial wavenumber (cycles per longer side) of spectrum entry (row, col). */
double sq25__ens_wavenumber(const sq25__ens_fft *f, int row, int col);
/* Weight of a half-spectrum column in full-spectrum sums (Parseval): 1 for column 0 and for
 * the Nyquist column of an even width, else 2 (the column stands for itself and its mirror). */
double sq25__ens_column_weight(const sq25__ens_fft *f, int col);

/* The cascade's filter bank: Gaussian band-pass filters in ln(wavenumber), normalised so that
 * the weights of every spectrum entry sum to one; weights under SQ25__ENS_FILTER_CUT of the
 * entry's total are dropped before normalising, so each level is stored sparsely (3 %: 1.66
 * levels per entry on 700 x 700 with 6 levels, 2.24 at 0.1 %). Level 0 holds the mean
 * (wavenumber 0). */
#define SQ25__ENS_FILTER_CUT 3e-2
typedef struct {
    int levels;
    size_t start[SQ25__ENS_MAX_LEVELS + 1]; /* entries of level k: [start[k], start[k+1]) */
    uint32_t *index;                        /* spectrum index row*half_width + col */
    float *weight;                          /* the level's weight there */
    double centre[SQ25__ENS_MAX_LEVELS];    /* central wavenumber, cycles per longer side */
} sq25__ens_filters;

int sq25__ens_filters_make(sq25_ctx *ctx, const sq25__ens_fft *f, int levels,
                           sq25__ens_filters *out);
void sq25__ens_filters_free(sq25_ctx *ctx, sq25__ens_filters *b);

/* Per-level statistics through Parseval, without inverse transforms: the variance of level k
 * of the field with spectrum a (the mean excluded), and the covariance of level k of a and b
 * (both in the field's units squared). */
double sq25__ens_level_covariance(const sq25__ens_fft *f, const sq25__ens_filters *b, int k,
                                  const fftwf_complex *a, const fftwf_complex *bb);
/* The same for pairs (a[p], bb[p]) of spectra, p < pairs <= SQ25__ENS_MAX_PAIRS, in one pass
 * over the level's entries, into out[p] (each the value sq25__ens_level_covariance gives). */
#define SQ25__ENS_MAX_PAIRS 8
void sq25__ens_level_covariances(const sq25__ens_fft *f, const sq25__ens_filters *b, int k,
                                 int pairs, const fftwf_complex *const *a,
                                 const fftwf_complex *const *bb, double *out);

/* AR(2) parameters from the lag-1 and lag-2 correlations of a level. gamma1 is kept in
 * [0, 0.999] (rain levels decorrelate, they do not oscillate) and gamma2 inside the region of
 * a stationary AR(2), 2 gamma1^2 - 1 < gamma2 < 1 (Yule-Walker then gives |phi2| < 1,
 * phi1 + phi2 < 1, phi2 - phi1 < 1). sigma is the innovation's standard deviation for a
 * unit-variance process: sqrt(1 - phi1 gamma1 - phi2 gamma2). */
void sq25__ens_ar2_fit(double gamma1, double gamma2, double *phi1, double *phi2,
                       double *sigma);

/* A counter-free random stream (xoshiro256**), seeded from (seed, member, lead) by
 * splitmix64, so that a member's numbers do not depend on which thread draws them. */
typedef struct {
    uint64_t s[4];
} sq25__ens_rng;
void sq25__ens_rng_seed(sq25__ens_rng *r, uint64_t seed, uint64_t member, uint64_t lead);
uint64_t sq25__ens_rng_next(sq25__ens_rng *r);
/* sq25__ens_rng_next inline (the same stream), for loops that draw once per spectrum entry. */
static inline uint64_t sq25__ens_rng_step(sq25__ens_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t x = s[1] * 5, result = ((x << 7) | (x >> 57)) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}
/* Uniform in [0, 1) with 24 random bits. */
float sq25__ens_rng_uniform(sq25__ens_rng *r);

/* Noise amplitude filters (n_spec floats, entry 0 = 0): the nonparametric filter is the mean
 * amplitude spectrum of the count fields (each tapered by a Tukey window, mean removed); the
 * parametric one is wavenumber^(-beta/2), beta fitted by least squares to the radially
 * averaged power spectrum of those fields in log-log (wavenumbers 1 .. longer side / 2) or
 * given. */
int sq25__ens_noise_filter_nonparametric(sq25_ctx *ctx, const sq25__ens_fft *f,
                                         const float *const *fields, int count, float *filter);
int sq25__ens_power_spectrum_slope(sq25_ctx *ctx, const sq25__ens_fft *f,
                                   const float *const *fields, int count, double *beta);
void sq25__ens_noise_filter_powerlaw(const sq25__ens_fft *f, double beta, float *filter);
/* A noise spectrum: filter times i.i.d. zero-mean unit-variance complex coefficients (uniform
 * real and imaginary parts of 24 bits each, both from one 64-bit draw; after the inverse
 * transform every cell is a sum of all of them, Gaussian by the central limit theorem),
 * Hermitian on the self-conjugate columns, mean 0. */
void sq25__ens_noise_spectrum(const sq25__ens_fft *f, const float *filter, sq25__ens_rng *r,
                              fftwf_complex *out);
/* One coefficient of sq25__ens_noise_spectrum before the filter and the Hermitian fix-up:
 * the real and imaginary parts (uniform on [-sqrt 3/2, sqrt 3/2]) from one draw. */
static inline void sq25__ens_noise_draw(sq25__ens_rng *r, float *re, float *im)
{
    const float a2 = 2.0f * 1.2247449f;    /* 2a, a = sqrt(3/2): variance 1/2 per part */
    const float unit = 1.0f / 16777216.0f; /* 24 random bits to [0, 1) */
    const uint64_t bits = sq25__ens_rng_step(r); /* high 24 bits: real part; next 24: imaginary */
    *re = ((float)(bits >> 40) * unit - 0.5f) * a2;
    *im = ((float)((bits >> 16) & 0xffffffu) * unit - 0.5f) * a2;
}

/* Probability matching: replace the valid values of x (n cells, NaN = not valid) by the
 * sorted target values (sorted_target, m values ascending) of the same rank (rank scaled when
 * m differs from the number of valid x; ties broken by cell index). keys, idx, keys2, idx2:
 * scratch of n uint32 each. Exact: when x has as many valid cells as the target, x afterwards
 * holds exactly the target's values. */
void sq25__ens_match_cdf(float *x, size_t n, const float *sorted_target, size_t m,
                         uint32_t *keys, uint32_t *idx, uint32_t *keys2, uint32_t *idx2);
/* The same in two steps, the histogram of the valid values' buckets (hist[bucket(x)] counts,
 * valid their number; NaN left out) made by the caller in a pass of its own. */
#define SQ25__ENS_CDF_BUCKETS 2048
static inline uint32_t sq25__ens_cdf_bucket(float x)
{
    uint32_t u; /* the float's bits mapped so that unsigned order is numeric order */
    memcpy(&u, &x, sizeof u);
    return ((u & 0x80000000u) ? ~u : (u | 0x80000000u)) >> 21;
}
void sq25__ens_match_cdf_counted(float *x, size_t n, const size_t *hist, size_t valid,
                                 const float *sorted_target, size_t m, uint32_t *keys,
                                 uint32_t *idx, uint32_t *keys2, uint32_t *idx2);
/* Mean of the valid values of in (w x h) over a (2r+1)^2 window around every cell (summed-area
 * tables, O(w h)), NaN where the cell itself is NaN, into out. SQ25_OK or SQ25_ERR_NOMEM. */
int sq25__ens_window_mean(sq25_ctx *ctx, const float *in, int w, int h, int r, float *out);
/* Sort n floats ascending (no NaN) by insertion: the members' values at one cell, few and
 * often nearly ordered. */
void sq25__ens_sort_small(float *v, int n);
/* Sort n floats ascending (no NaN) by an LSD radix sort. scratch: 2 * n uint32. */
void sq25__ens_sort_floats(float *v, size_t n, uint32_t *scratch);

/* Incremental mask (after pysteps' "incremental" mask method): weight 1 within buffer_px of a
 * wet cell (bit i & 7 of wet[i >> 3] set), falling linearly to 0 over rim_px beyond it; distances by a 3-4
 * chamfer transform (in pixels, within 8 % of Euclidean). dist: (width+2)*(height+2) floats
 * scratch. */
void sq25__ens_mask(const unsigned char *wet, int width, int height, double buffer_px,
                    double rim_px, float *dist, float *mask);
/* The same weights in two steps, without the grid of weights: sq25__ens_mask_u16 leaves the
 * 16-bit chamfer distances (thirds of a pixel, capped beyond the mask's reach) on the padded
 * grid dist ((width+2) x (height+2) uint16; cell (r, c) at (r+1)(width+2) + c+1) and the
 * weight's parameters in *p, and returns false (nothing done) when the cap does not fit 16
 * bits (then sq25__ens_mask); sq25__ens_mask_weight gives a distance's weight, the value
 * sq25__ens_mask stores, bit for bit. */
typedef struct {
    float buffer, inv_span; /* buffer_px, 1 / (rim_px + 1) */
} sq25__ens_mask_params;
static inline float sq25__ens_mask_weight(float d_thirds, const sq25__ens_mask_params *p)
{
    const float w = 1.0f - (d_thirds * (1.0f / 3.0f) - p->buffer) * p->inv_span;
    return w > 1.0f ? 1.0f : w > 0.0f ? w : 0.0f;
}
bool sq25__ens_mask_u16(const unsigned char *wet, int width, int height, double buffer_px,
                        double rim_px, uint16_t *dist, sq25__ens_mask_params *p);

/* Member trajectories on a coarse grid of nodes every SQ25__ENS_NODE_STEP cells (8; the
 * control in lib/advect.c keeps its own grid of 4), displacements interpolated bilinearly to
 * every cell (docs/ensemble.md, "Session 5, round 2", gives what 8 changes against 4). The departure point p of a node at x after tau steps solves
 * p = x - (tau V(p) + par e(p) + perp e_perp(p)), e the unit vector of the local motion and
 * e_perp = (-e_y, e_x): the motion carried with the rain, plus the member's perturbation
 * (par_px, perp_px: its integral up to tau, pixels). */
#define SQ25__ENS_NODE_STEP 8
typedef struct {
    int width, height, nodes_x, nodes_y;
    const float *u, *v; /* pixels per step */
    const float *uv;    /* NULL, or u and v interleaved (u0 v0 u1 v1 ...): half the cache lines */
} sq25__ens_flow;
void sq25__ens_nodes_init(const sq25__ens_flow *fl, float *node_xy);
/* Advance node_xy (departure points solved at tau_prev; tau_prev 0 = fresh) to tau. */
void sq25__ens_departures(const sq25__ens_flow *fl, float *node_xy, double tau_prev, double tau,
                          double par_px, double perp_px);
/* Blocks of 8 x 8 cells of field whose bilinear samples are all exactly 0 (the block, its
 * next row and column hold only zeros: SQ25__ENS_BLOCK_DRY) or all NaN (only NaN there:
 * SQ25__ENS_BLOCK_NODATA), else 0: dry, ((width+7)/8) x ((height+7)/8) bytes. */
#define SQ25__ENS_DRY_SHIFT 3
#define SQ25__ENS_BLOCK_DRY 1
#define SQ25__ENS_BLOCK_NODATA 2
void sq25__ens_dry_blocks(const float *field, int width, int height, unsigned char *dry);
/* The same for a field that is 0 where it is valid and not wet, NaN where it is not valid
 * and positive where wet (bit i & 7 of wet[i >> 3]): kinds is sq25__ens_dry_blocks of the
 * field's valid cells (0 where valid, NaN elsewhere), made once; O(cells / 8). */
void sq25__ens_dry_blocks_wet(const unsigned char *wet, const unsigned char *kinds, int width,
                              int height, unsigned char *dry);
/* field sampled bilinearly at every cell's departure point (NaN outside or from nodata);
 * dry from sq25__ens_dry_blocks(field); row_dxy: 3 * nodes_x floats scratch. */
void sq25__ens_sample(const sq25__ens_flow *fl, const float *node_xy, const float *field,
                      const unsigned char *dry, float *row_dxy, float *out);
/* The same, and row by row as it is written: acc_mm[i] += dt_h * out[i] (before NULL) or
 * acc_mm[i] += dt_h * before[i] + dt_h * out[i] (acc_mm: mm, out and before: mm/h, dt_h:
 * hours); acc_mm and before must not overlap out. */
typedef struct {
    float *acc_mm;
    const float *before;
    float dt_h;
} sq25__ens_accum;
void sq25__ens_sample_acc(const sq25__ens_flow *fl, const float *node_xy, const float *field,
                          const unsigned char *dry, float *row_dxy, float *out,
                          const sq25__ens_accum *acc);

/* ---- options and result (lib/ensemble.c) ---------------------------------------------- */
struct sq25_ensemble_options {
    sq25_ctx *ctx;
    int members, levels, threads, noise, perturb_motion, mask, match_cdf, substeps, keep;
    uint64_t seed;
    double rain_threshold_mmh;
    double perturb_scale, noise_scale; /* internal knobs (benchmarks): 1 = the published method */
    double mask_scale; /* internal knob (benchmarks): factor on the incremental mask's growth */
    double neighbourhood_cells_per_step; /* 0: probabilities of the members alone */
    double control_weight; /* weight of the unperturbed extrapolation (ensemble_prob.c) */
    int n_thresholds, n_quantiles, n_accum, n_accum_thresholds;
    double thresholds[SQ25_ENSEMBLE_MAX_THRESHOLDS];
    double quantiles[SQ25_ENSEMBLE_MAX_QUANTILES];
    int accum_minutes[SQ25_ENSEMBLE_MAX_ACCUMULATIONS];
    double accum_thresholds[SQ25_ENSEMBLE_MAX_THRESHOLDS];
    int lag2_adjust; /* internal knob (benchmarks): 1 = pysteps' lag-2 bound (ensemble_run.c) */
    double shrink_knee, shrink_rate_per_hour; /* ensemble_prob.c; rate 0 = no shrink */
};

/* Internal tuning of benchmarks ("perturbation_scale", "noise_scale"); SQ25_OK or
 * SQ25_ERR_INVALID_ARG for an unknown key. */
int sq25__ensemble_options_tune(sq25_ensemble_options *opt, const char *key, double value);

/* Per-level diagnostics kept in the result. */
typedef struct {
    double wavenumber, gamma1, gamma2, phi1, phi2, sigma;
} sq25__ens_level;

struct sq25_ensemble {
    sq25_ctx *ctx;
    sq25_ensemble_options opt; /* copy */
    int n_leads, step_s, levels;
    int64_t issue_time;
    sq25__ens_level level[SQ25__ENS_MAX_LEVELS];
    /* per lead: probability[lead * n_thresholds + t], mean[lead], quantile[lead * nq + q] */
    sq25_field **probability, **mean, **quantile;
    /* per window: likewise with n_accum_thresholds */
    sq25_field **acc_probability, **acc_mean, **acc_quantile;
    sq25_field **member;     /* [member * n_leads + lead] when kept */
    sq25_field **acc_member; /* [member * n_accum + window] when kept */
    /* [lead] the control member's rate (lib/ensemble_prob.c) when members are kept and the
     * control weight is > 0 (or read from a file that has it), else NULL */
    sq25_field **control;
};

/* The run (lib/ensemble_run.c) fills a result made by sq25__ensemble_alloc; fields are made
 * with the latest frame's shape. */
int sq25__ensemble_alloc(sq25_ctx *ctx, const sq25_ensemble_options *opt,
                         const sq25_field *latest, int n_leads, int step_s,
                         sq25_ensemble **out);

/* Tests only (false in the library): sq25_ensemble_write_netcdf stores every grid through
 * HDF5's own filters (H5Dwrite), its path for a dataset whose stored form is not the one it
 * compresses (a big-endian host), so that path is tested on this one. */
extern bool sq25__ensemble_write_through_filters;
/* A consumer of the leads as they end (lib/ensemble_write.c's streamed file), called by
 * sq25__ensemble_run_hooked on the calling thread: prepare (may be NULL) before the set-up,
 * once the result's grids are allocated (latest borrowed until end; lonlat: the grid's
 * lon/lat transform of sq25__proj_to_lonlat, the consumer's to destroy, so that work on the
 * grid alone can start beside the set-up), begin once the set-up is done (the levels fitted;
 * latest, u, v: the control member's inputs, borrowed until end), lead_done after the
 * statistics of each lead (1-based; that lead's grids and the accumulation window ending
 * there are final, not blended), end once the members' state is freed, with the run's code
 * so far (the code it returns is the run's). A non-zero code from prepare, begin, lead_side
 * or lead_done stops the run (end is still called once prepare or begin was). With a hook
 * the run does not blend: the consumer does, lead by lead (sq25__ens_blend_one). */
typedef struct {
    void *arg;
    int (*prepare)(void *arg, sq25_ensemble *e, const sq25_field *latest, PJ *lonlat);
    int (*begin)(void *arg, sq25_ensemble *e, const sq25_field *latest, const float *u,
                 const float *v);
    /* may be NULL: lead k's work that needs none of its members, run as one more item of
     * lead k's members on any of the run's threads (never two at once), before lead_done */
    int (*lead_side)(void *arg, int lead);
    int (*lead_done)(void *arg, int lead);
    int (*end)(void *arg, int rc);
} sq25__ens_hook;
/* sq25_ensemble_run with a hook (NULL: sq25_ensemble_run itself). */
int sq25__ensemble_run_hooked(sq25_ctx *ctx, const sq25_ensemble_options *opt,
                              const sq25_field *const *frames, int n_frames, const float *u,
                              const float *v, int n_leads, const sq25__ens_hook *hook,
                              sq25_ensemble **out);
/* Allocate e->control (n_leads grids of the result's shape, valid times set), NULL before.
 * SQ25_OK or SQ25_ERR_NOMEM. */
int sq25__ensemble_alloc_control(sq25_ensemble *e);

/* lib/warn_ensemble.c: a warning whose level probabilities are given grids (one per level, on
 * the frames' grid, raw: the calibration map is applied), amounts/peak/onset from frames; and
 * the ensemble's level probabilities (fraction of members reaching each level over the
 * horizon, window-averaged when neighbourhood_cells > 0) into prob[level] (n cells each). */
int sq25__warn_compute_with_probabilities(sq25_ctx *ctx, const sq25_warn_options *opt,
                                          const sq25_field *const *frames, int frame_count,
                                          int lead_step_s, int64_t issue_time,
                                          const float *const *level_probability,
                                          sq25_warning **out);
int sq25__warn_ensemble_probabilities(sq25_ctx *ctx, const sq25_warn_options *o,
                                      const sq25_ensemble *e, int neighbourhood_cells,
                                      float **prob);

#endif
