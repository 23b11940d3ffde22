/* ensemble_run.c -- the STEPS-class ensemble run: set-up (dBR, Lagrangian frames, cascade,
 * AR(2) per level, noise filter), the members advanced lead by lead in parallel (pthreads,
 * one random stream per member and lead, so the threads do not change the result), and the
 * statistics streamed from the members of each lead.
 *
 * The AR(2) state of each level is kept in the Fourier domain on the level's filter support
 * only: the noise is drawn there, filtered and added per level, and the levels are recomposed
 * by one inverse transform per member and lead (the mask and the probability matching act on
 * the recomposed field, not on the state, as in pysteps). */
#include "ensemble_prob.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

/* dBR of rates under the rain threshold: this far below the threshold's dBR (pysteps' value). */
#define DRY_GAP_DB 5.0
/* Incremental mask: the wet area grows 1 km per minute of lead step, then a rim of 10 px. */
#define MASK_KM_PER_MIN 1.0
#define MASK_RIM_PX 10.0
/* Bowler et al. (2006) fits of the motion perturbation's standard deviation in km/h,
 * a t^b + c with t the lead in minutes, along and across the motion. */
static const double BPS_PAR[3] = {10.88, 0.23, -7.68};
static const double BPS_PERP[3] = {5.76, 0.31, -2.72};

typedef struct {
    fftwf_complex *ar;    /* 2 * entries: blocks A and B of every level's state */
    int steps;            /* AR steps taken (the first two read the shared initial state) */
    unsigned char *wet;   /* wet cells of the previous Lagrangian forecast (mask source), bits */
    float *accum_mm;      /* amount since issue (NULL without accumulations) */
    float *node_xy;       /* node departure points at the last solved time */
    double tau;           /* that time, steps */
    double eps_par, eps_perp;
} member_state;

typedef struct {
    fftwf_complex *noise, *recomp;
    float *real, *lagr, *dist, *mask, *sample, *row_dxy;
    unsigned char *dry;
    uint32_t *sort;
    float *values; /* members' values at one cell (statistics) */
} thread_scratch;

typedef struct run {
    sq25_ctx *ctx;
    const sq25_ensemble_options *opt;
    sq25_ensemble *e;
    int width, height, n_leads, step_s, threads, substeps;
    size_t n;
    sq25__ens_fft fft;
    sq25__ens_filters bank;
    sq25__ens_flow flow;
    size_t entries, n_nodes;
    double ar_phi1[SQ25__ENS_MAX_LEVELS], ar_phi2[SQ25__ENS_MAX_LEVELS];
    double noise_gain[SQ25__ENS_MAX_LEVELS]; /* sigma_k / noise std of level k */
    double level_std[SQ25__ENS_MAX_LEVELS];  /* of the latest frame, for recomposition */
    fftwf_complex mean_term;                  /* spectrum entry 0 of the latest frame */
    float *filter;                            /* noise amplitude filter, n_spec */
    float *sorted_target;                     /* latest dBR, valid cells, ascending */
    size_t n_target;
    unsigned char *valid;                     /* latest frame has data */
    float *uv;                                /* the motion interleaved (r->flow.uv) */
    unsigned char *block_kinds;
    fftwf_complex *ar0; /* every member's initial state: lag 1 then lag 2 (as member_state.ar) */               /* sq25__ens_dry_blocks of valid (0) / not (NaN) */
    float thr_db, dry_db, mask_buffer_px;
    double *par_px, *perp_px;                 /* perturbation integral at each step, pixels */
    member_state *members;
    thread_scratch *scratch;
    float **lead_out;                         /* per member: its rate at the current lead */
    int lead;                                 /* 1-based lead being computed */
    int window;                               /* accumulation window ending at this lead, or -1 */
    atomic_int next;
    int items;
    void (*work)(struct run *, int item, int thread);
} run;

/* ---- threads -------------------------------------------------------------------------------- */

typedef struct {
    run *r;
    int thread;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    run *r = a->r;
    for (int item; (item = atomic_fetch_add(&r->next, 1)) < r->items;) r->work(r, item, a->thread);
    return NULL;
}

/* Run work(item) for item 0..items-1 on the run's threads; items are independent, so the
 * assignment of items to threads does not matter for the result. */
static void parallel_for(run *r, int items, void (*work)(run *, int, int))
{
    r->items = items;
    r->work = work;
    atomic_store(&r->next, 0);
    pthread_t tid[256];
    worker_arg args[256];
    int started = 0;
    for (int t = 1; t < r->threads && t < items; t++) {
        args[t] = (worker_arg){r, t};
        if (pthread_create(&tid[t], NULL, worker, &args[t]) != 0) break;
        started = t;
    }
    args[0] = (worker_arg){r, 0};
    worker(&args[0]);
    for (int t = 1; t <= started; t++) pthread_join(tid[t], NULL);
}

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

/* ---- set-up --------------------------------------------------------------------------------- */

static int check_frames(sq25_ctx *ctx, const sq25_field *const *frames, int n_frames,
                        const float *u, const float *v, int n_leads, int *step_s)
{
    if (!frames || !u || !v) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_ensemble_run: NULL");
    if (n_frames < 3)
        return sq25__fail(ctx, SQ25_ERR_TOO_FEW, "the ensemble needs 3 frames (AR(2)), %d given",
                          n_frames);
    if (n_leads < 1 || n_leads > 288)
        return sq25__fail(ctx, SQ25_ERR_RANGE, "ensemble leads %d outside 1..288", n_leads);
    const sq25_field *const *f = frames + n_frames - 3;
    for (int k = 0; k < 3; k++)
        if (!f[k]) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_ensemble_run: NULL frame");
    const sq25_field *latest = f[2];
    if (latest->width < 8 || latest->height < 8)
        return sq25__fail(ctx, SQ25_ERR_SIZE_ABSURD, "ensemble grid %dx%d is under 8x8",
                          latest->width, latest->height);
    for (int k = 0; k < 2; k++)
        if (f[k]->width != latest->width || f[k]->height != latest->height ||
            memcmp(f[k]->gt, latest->gt, sizeof latest->gt) != 0 ||
            strcmp(f[k]->projdef, latest->projdef) != 0)
            return sq25__fail(ctx, SQ25_ERR_GRID_MISMATCH, "ensemble frames are not on one grid");
    const int64_t d1 = f[1]->valid_time - f[0]->valid_time, d2 = latest->valid_time - f[1]->valid_time;
    if (d1 <= 0 || d2 <= 0)
        return sq25__fail(ctx, SQ25_ERR_TIME_ORDER, "ensemble frames are not in increasing time");
    if (d1 != d2 || d1 > 86400)
        return sq25__fail(ctx, SQ25_ERR_TIME_GAP, "ensemble frames are %lld s then %lld s apart",
                          (long long)d1, (long long)d2);
    *step_s = (int)d2;
    return SQ25_OK;
}

static int check_windows(sq25_ctx *ctx, const sq25_ensemble_options *o, int step_s, int n_leads)
{
    for (int w = 0; w < o->n_accum; w++) {
        const int s = o->accum_minutes[w] * 60;
        if (s % step_s != 0 || s / step_s > n_leads)
            return sq25__fail(ctx, SQ25_ERR_TIME_MISMATCH,
                              "accumulation over %d min: not a multiple of the %d s step or "
                              "beyond the %d leads", o->accum_minutes[w], step_s, n_leads);
    }
    return SQ25_OK;
}

/* dBR of rates (dry value below the threshold, NaN cells filled with the dry value). */
static void to_dbr(const float *rate, size_t n, float thr_mmh, float dry_db, float *out)
{
    for (size_t i = 0; i < n; i++) {
        const float r = rate[i];
        out[i] = r >= thr_mmh ? 10.0f * log10f(r) : dry_db; /* NaN fails the test: dry */
    }
}

/* Great-circle distance in km between the centres of two neighbouring cells mid-grid. */
static int pixel_km(sq25_ctx *ctx, const sq25_field *f, double *km)
{
    PJ *pj = sq25__proj_to_lonlat(ctx, f->projdef);
    if (!pj) return sq25__fail(ctx, SQ25_ERR_PROJ, "ensemble: cannot transform %s to lon/lat", f->projdef);
    const double c = f->width / 2 + 0.5, r = f->height / 2 + 0.5;
    double lon[2], lat[2];
    for (int k = 0; k < 2; k++) {
        const double x = f->gt[0] + (c + k) * f->gt[1] + r * f->gt[2];
        const double y = f->gt[3] + (c + k) * f->gt[4] + r * f->gt[5];
        PJ_COORD out = proj_trans(pj, PJ_FWD, proj_coord(x, y, 0, 0));
        lon[k] = out.lp.lam;
        lat[k] = out.lp.phi;
    }
    proj_destroy(pj);
    const double d2r = M_PI / 180, dphi = (lat[1] - lat[0]) * d2r, dl = (lon[1] - lon[0]) * d2r;
    const double a = sin(dphi / 2) * sin(dphi / 2) +
                     cos(lat[0] * d2r) * cos(lat[1] * d2r) * sin(dl / 2) * sin(dl / 2);
    *km = 2 * 6371.0 * asin(sqrt(a < 1 ? a : 1));
    if (!(*km > 0 && isfinite(*km)))
        return sq25__fail(ctx, SQ25_ERR_PROJ, "ensemble: cannot measure the cell size of %s",
                          f->projdef);
    return SQ25_OK;
}

/* The perturbation's integral at every lead step, pixels: sum over the steps of
 * (a t^b + c) km/h times the step in hours, times pixels per km. */
static void perturbation_integrals(run *r, double px_per_km)
{
    const double step_min = r->step_s / 60.0, step_h = r->step_s / 3600.0;
    r->par_px[0] = r->perp_px[0] = 0;
    for (int k = 1; k <= r->n_leads; k++) {
        const double t = k * step_min;
        r->par_px[k] = r->par_px[k - 1] + (BPS_PAR[0] * pow(t, BPS_PAR[1]) + BPS_PAR[2]) * step_h * px_per_km;
        r->perp_px[k] = r->perp_px[k - 1] + (BPS_PERP[0] * pow(t, BPS_PERP[1]) + BPS_PERP[2]) * step_h * px_per_km;
    }
}

static double interpolate_steps(const double *g, double tau)
{
    int k = (int)floor(tau);
    if (k < 0) return 0;
    double frac = tau - k;
    return frac > 0 ? g[k] + frac * (g[k + 1] - g[k]) : g[k];
}

/* Laplace(0, 1/sqrt 2) deviate: unit variance, as Bowler et al.'s perturbation amplitudes. */
static double laplace(sq25__ens_rng *g)
{
    double u = (sq25__ens_rng_next(g) >> 11) * (1.0 / 9007199254740992.0) - 0.5;
    double a = 1 - 2 * fabs(u);
    if (a <= 0) a = 1e-300;
    return -(u < 0 ? -1 : 1) * log(a) / sqrt(2.0);
}

/* Lagrangian frames in dBR: the frame `steps` steps before the latest moved to the latest
 * time along the motion. */
static int lagrangian_dbr(run *r, const sq25_field *frame, int steps, const float *u,
                          const float *v, float *out)
{
    if (steps == 0) {
        to_dbr(frame->data, r->n, (float)r->opt->rain_threshold_mmh, r->dry_db, out);
        return SQ25_OK;
    }
    sq25_field *moved[2] = {NULL, NULL};
    int rc = sq25_extrapolate(r->ctx, frame, u, v, r->step_s, steps, 2, moved);
    if (rc) return rc;
    to_dbr(moved[steps - 1]->data, r->n, (float)r->opt->rain_threshold_mmh, r->dry_db, out);
    for (int k = 0; k < steps; k++) sq25_field_destroy(moved[k]);
    return SQ25_OK;
}

/* The lag-2 correlation raised to the bound where the AR(2)'s characteristic roots turn
 * complex, (3 g1^2 - 2 + 2 (1 - g1^2)^1.5) / g1^2, and to 2 g1 g2 - 1, as pysteps' STEPS does
 * (adjust_lag2_corrcoef2; docs/ensemble.md, Session 5: skill): an oscillating AR(2) fitted
 * from the raw gamma2 would have a smaller innovation. Internal knob "lag2_adjust". */
static double lag2_adjusted(double g1, double g2)
{
    if (!(g1 > 0) || !(g1 < 1)) return g2;
    const double oscillation = (3 * g1 * g1 - 2 + 2 * pow(1 - g1 * g1, 1.5)) / (g1 * g1);
    if (g2 < 2 * g1 * g2 - 1) g2 = 2 * g1 * g2 - 1;
    return g2 < oscillation ? oscillation : g2;
}

/* Cascade statistics and AR(2) parameters per level from the three Lagrangian spectra. */
static void fit_levels(run *r, fftwf_complex *const spec[3])
{
    for (int k = 0; k < r->bank.levels; k++) {
        const double v0 = sq25__ens_level_covariance(&r->fft, &r->bank, k, spec[2], spec[2]);
        const double v1 = sq25__ens_level_covariance(&r->fft, &r->bank, k, spec[1], spec[1]);
        const double v2 = sq25__ens_level_covariance(&r->fft, &r->bank, k, spec[0], spec[0]);
        const double c1 = sq25__ens_level_covariance(&r->fft, &r->bank, k, spec[2], spec[1]);
        const double c2 = sq25__ens_level_covariance(&r->fft, &r->bank, k, spec[2], spec[0]);
        const double g1 = v0 > 0 && v1 > 0 ? c1 / sqrt(v0 * v1) : 0;
        const double g2_raw = v0 > 0 && v2 > 0 ? c2 / sqrt(v0 * v2) : 0;
        const double g2 = r->opt->lag2_adjust ? lag2_adjusted(g1, g2_raw) : g2_raw;
        double phi1, phi2, sigma;
        sq25__ens_ar2_fit(g1, g2, &phi1, &phi2, &sigma);
        sq25__ens_level *l = &r->e->level[k];
        *l = (sq25__ens_level){r->bank.centre[k], g1, g2, phi1, phi2, sigma};
        r->ar_phi1[k] = phi1;
        r->ar_phi2[k] = phi2;
        r->level_std[k] = sqrt(v0 > 0 ? v0 : 0);
        /* noise level std through Parseval: E|z|^2 = 1 */
        double nv = 0;
        for (size_t e = r->bank.start[k]; e < r->bank.start[k + 1]; e++) {
            const uint32_t i = r->bank.index[e];
            if (i == 0) continue;
            const double w = r->bank.weight[e] * (double)r->filter[i];
            nv += sq25__ens_column_weight(&r->fft, (int)(i % (uint32_t)r->fft.half_width)) * w * w;
        }
        nv /= (double)r->n * (double)r->n;
        r->noise_gain[k] = nv > 0 ? r->opt->noise_scale * sigma / sqrt(nv) : 0;
    }
    r->mean_term[0] = spec[2][0][0];
    r->mean_term[1] = spec[2][0][1];
}

/* Every member starts from the normalised levels of the latest two Lagrangian spectra. */
static void initial_state(run *r, fftwf_complex *ar, fftwf_complex *const spec[3])
{
    for (int k = 0; k < r->bank.levels; k++) {
        const double s0 = sqrt(sq25__ens_level_covariance(&r->fft, &r->bank, k, spec[2], spec[2]));
        const double s1 = sqrt(sq25__ens_level_covariance(&r->fft, &r->bank, k, spec[1], spec[1]));
        const float i0 = s0 > 0 ? (float)(1 / s0) : 0, i1 = s1 > 0 ? (float)(1 / s1) : 0;
        for (size_t e = r->bank.start[k]; e < r->bank.start[k + 1]; e++) {
            const uint32_t i = r->bank.index[e];
            const float w = i == 0 ? 0.0f : r->bank.weight[e];
            ar[e][0] = w * i0 * spec[2][i][0]; /* block A: lag 1 */
            ar[e][1] = w * i0 * spec[2][i][1];
            ar[r->entries + e][0] = w * i1 * spec[1][i][0]; /* block B: lag 2 */
            ar[r->entries + e][1] = w * i1 * spec[1][i][1];
        }
    }
}

static int setup_scratch(run *r)
{
    r->scratch = sq25__calloc(r->ctx, (size_t)r->threads, sizeof *r->scratch);
    if (!r->scratch) return SQ25_ERR_NOMEM;
    for (int t = 0; t < r->threads; t++) {
        thread_scratch *s = &r->scratch[t];
        s->noise = sq25__ens_fft_alloc(r->fft.n_spec * sizeof(fftwf_complex));
        s->recomp = sq25__ens_fft_alloc(r->fft.n_spec * sizeof(fftwf_complex));
        s->real = sq25__ens_fft_alloc(r->n * sizeof(float));
        s->lagr = s->real; /* the back-transform to mm/h works in place */
        /* dist (chamfer distances) lives in the sort scratch and sample in the mask buffer:
         * their uses do not overlap within a member step */
        s->dist = NULL;
        s->row_dxy = sq25__malloc(r->ctx, 3 * (size_t)r->flow.nodes_x * sizeof(float));
        s->dry = sq25__malloc(r->ctx, (size_t)(r->width / 8 + 1) * (size_t)(r->height / 8 + 1));
        s->mask = sq25__malloc(r->ctx, r->n * sizeof(float));
        s->sort = sq25__malloc(r->ctx, 2 * r->n * sizeof(uint32_t));
        s->sample = s->mask;
        if (s->sort) s->dist = (float *)s->sort;
        s->values = sq25__malloc(r->ctx, (size_t)r->opt->members * sizeof(float));
        if (!s->noise || !s->recomp || !s->real || !s->lagr || !s->dist || !s->mask ||
            !s->sample || !s->sort || !s->values || !s->row_dxy || !s->dry)
            return SQ25_ERR_NOMEM;
    }
    return SQ25_OK;
}

static void free_scratch(run *r)
{
    for (int t = 0; r->scratch && t < r->threads; t++) {
        thread_scratch *s = &r->scratch[t];
        sq25__ens_fft_release(s->noise);
        sq25__ens_fft_release(s->recomp);
        sq25__ens_fft_release(s->real);
        sq25__free(r->ctx, s->row_dxy);
        sq25__free(r->ctx, s->dry);
        sq25__free(r->ctx, s->mask);
        sq25__free(r->ctx, s->sort);
        sq25__free(r->ctx, s->values);
    }
    sq25__free(r->ctx, r->scratch);
}

static int setup_members(run *r, fftwf_complex *const spec[3])
{
    const int m = r->opt->members;
    r->members = sq25__calloc(r->ctx, (size_t)m, sizeof *r->members);
    r->lead_out = sq25__calloc(r->ctx, (size_t)m, sizeof *r->lead_out);
    r->ar0 = sq25__ens_fft_alloc(2 * r->entries * sizeof(fftwf_complex));
    if (!r->members || !r->lead_out || !r->ar0) return SQ25_ERR_NOMEM;
    for (int j = 0; j < m; j++) {
        member_state *s = &r->members[j];
        s->ar = sq25__ens_fft_alloc(2 * r->entries * sizeof(fftwf_complex));
        s->wet = sq25__calloc(r->ctx, r->n / 8 + 1, 1);
        s->node_xy = sq25__malloc(r->ctx, 2 * r->n_nodes * sizeof(float));
        if (r->opt->n_accum) s->accum_mm = sq25__calloc(r->ctx, r->n, sizeof(float));
        if (!r->opt->keep) r->lead_out[j] = sq25__malloc(r->ctx, r->n * sizeof(float));
        if (!s->ar || !s->wet || !s->node_xy || (r->opt->n_accum && !s->accum_mm) ||
            (!r->opt->keep && !r->lead_out[j]))
            return SQ25_ERR_NOMEM;
        if (j == 0) initial_state(r, r->ar0, spec);
        sq25__ens_nodes_init(&r->flow, s->node_xy);
        sq25__ens_rng g;
        sq25__ens_rng_seed(&g, r->opt->seed, (uint64_t)j, 0);
        s->eps_par = r->opt->perturb_motion ? r->opt->perturb_scale * laplace(&g) : 0;
        s->eps_perp = r->opt->perturb_motion ? r->opt->perturb_scale * laplace(&g) : 0;
    }
    return SQ25_OK;
}

static void free_members(run *r)
{
    for (int j = 0; r->members && j < r->opt->members; j++) {
        member_state *s = &r->members[j];
        sq25__ens_fft_release(s->ar);
        sq25__free(r->ctx, s->wet);
        sq25__free(r->ctx, s->node_xy);
        sq25__free(r->ctx, s->accum_mm);
        if (!r->opt->keep && r->lead_out) sq25__free(r->ctx, r->lead_out[j]);
    }
    sq25__free(r->ctx, r->members);
    sq25__free(r->ctx, r->lead_out);
    sq25__ens_fft_release(r->ar0);
}

/* The latest frame's valid dBR values sorted (the target of the probability matching), and
 * its wet cells (the first mask's source). */
static int setup_target(run *r, const float *latest_rate, const float *latest_db)
{
    r->valid = sq25__malloc(r->ctx, r->n);
    r->sorted_target = sq25__malloc(r->ctx, r->n * sizeof(float));
    uint32_t *scratch = sq25__malloc(r->ctx, 2 * r->n * sizeof(uint32_t));
    r->block_kinds = sq25__malloc(r->ctx, (size_t)(r->width / 8 + 1) * (size_t)(r->height / 8 + 1));
    if (!r->valid || !r->sorted_target || !scratch || !r->block_kinds) {
        sq25__free(r->ctx, scratch);
        return SQ25_ERR_NOMEM;
    }
    size_t m = 0;
    for (size_t i = 0; i < r->n; i++) {
        r->valid[i] = !isnan(latest_rate[i]);
        if (r->valid[i]) r->sorted_target[m++] = latest_db[i];
    }
    r->n_target = m;
    sq25__ens_sort_floats(r->sorted_target, m, scratch);
    /* the valid cells' blocks (scratch as a field: 0 where valid, NaN elsewhere) */
    float *validity = (float *)scratch;
    for (size_t i = 0; i < r->n; i++) validity[i] = r->valid[i] ? 0.0f : NAN;
    sq25__ens_dry_blocks(validity, r->width, r->height, r->block_kinds);
    sq25__free(r->ctx, scratch);
    if (m == 0)
        return sq25__fail(r->ctx, SQ25_ERR_NO_DATA, "ensemble: the latest frame holds no valid cell");
    return SQ25_OK;
}

/* ---- one member, one lead ---------------------------------------------------------------- */

/* AR(2) step of every level in the spectral domain and recomposition into s->recomp. */
static void evolve_levels(run *r, member_state *ms, thread_scratch *s)
{
    memset(s->recomp, 0, r->fft.n_spec * sizeof(fftwf_complex));
    /* 1/n of the inverse transform folded into the recomposition weights */
    const float inv_n = 1.0f / (float)r->n;
    s->recomp[0][0] = r->mean_term[0] * inv_n;
    s->recomp[0][1] = r->mean_term[1] * inv_n;
    /* step 0 reads both lags from the shared initial state and writes A; step 1 reads A and
     * the shared lag 1 and writes B; from then on A and B alternate, the new state replacing
     * the older lag in place */
    fftwf_complex *a = ms->ar, *b = ms->ar + r->entries, *out = ms->steps & 1 ? b : a;
    const fftwf_complex *lag1 = ms->steps == 0 ? r->ar0 : ms->steps & 1 ? a : b;
    const fftwf_complex *lag2 = ms->steps == 0 ? r->ar0 + r->entries : ms->steps == 1 ? r->ar0 : out;
    for (int k = 0; k < r->bank.levels; k++) {
        const float p1 = (float)r->ar_phi1[k], p2 = (float)r->ar_phi2[k];
        const float gain = (float)r->noise_gain[k], sd = (float)r->level_std[k] * inv_n;
        for (size_t e = r->bank.start[k]; e < r->bank.start[k + 1]; e++) {
            const uint32_t i = r->bank.index[e];
            const float w = gain * r->bank.weight[e];
            const float re = p1 * lag1[e][0] + p2 * lag2[e][0] + w * s->noise[i][0];
            const float im = p1 * lag1[e][1] + p2 * lag2[e][1] + w * s->noise[i][1];
            out[e][0] = re;
            out[e][1] = im;
            if (i == 0) continue;
            s->recomp[i][0] += sd * re;
            s->recomp[i][1] += sd * im;
        }
    }
    ms->steps++;
}

/* Mask, probability matching and back to mm/h of the Lagrangian dBR field s->real, into
 * s->lagr; updates the member's wet cells. */
static void finish_lagrangian(run *r, member_state *ms, thread_scratch *s)
{
    float *d = s->real;
    float dmin = INFINITY; /* over the valid cells; the others become NaN in the next pass */
    for (size_t i = 0; i < r->n; i++)
        if (r->valid[i] && d[i] < dmin) dmin = d[i];
    /* the mask from the previous lead's wet cells (the observation's at lead 1), applied in
     * the pass that counts the values for the probability matching, its weights made there
     * from the 16-bit distances (no grid of weights) */
    size_t hist[SQ25__ENS_CDF_BUCKETS] = {0}, valid = 0;
    sq25__ens_mask_params mp;
    const uint16_t *dist16 = (const uint16_t *)(const void *)s->dist;
    if (r->opt->mask && sq25__ens_mask_u16(ms->wet, r->width, r->height, r->mask_buffer_px,
                                           MASK_RIM_PX, (uint16_t *)(void *)s->dist, &mp)) {
        float *restrict weight = s->mask; /* one row of weights (vectorised), in L1 */
        const sq25__ens_mask_params p = mp;   /* a local copy: not aliased by weight */
        for (int row = 0; row < r->height; row++) {
            const uint16_t *restrict dr = dist16 + (size_t)(row + 1) * (size_t)(r->width + 2) + 1;
            for (int c = 0; c < r->width; c++) weight[c] = sq25__ens_mask_weight((float)dr[c], &p);
            float *dd = d + (size_t)row * r->width;
            const unsigned char *ok = r->valid + (size_t)row * r->width;
            for (int c = 0; c < r->width; c++) {
                if (!ok[c]) {
                    dd[c] = NAN;
                    continue;
                }
                const float x = dmin + (dd[c] - dmin) * weight[c];
                dd[c] = x;
                if (isnan(x)) continue;
                hist[sq25__ens_cdf_bucket(x)]++;
                valid++;
            }
        }
    } else {
        const float *mask = NULL;
        if (r->opt->mask) {
            sq25__ens_mask(ms->wet, r->width, r->height, r->mask_buffer_px, MASK_RIM_PX, s->dist,
                           s->mask);
            mask = s->mask;
        }
        for (size_t i = 0; i < r->n; i++) {
            if (!r->valid[i]) {
                d[i] = NAN;
                continue;
            }
            const float x = mask ? dmin + (d[i] - dmin) * mask[i] : d[i];
            d[i] = x;
            if (isnan(x)) continue;
            hist[sq25__ens_cdf_bucket(x)]++;
            valid++;
        }
    }
    /* the sort's second pair of arrays: the spectra, free after the inverse transform */
    if (r->opt->match_cdf)
        sq25__ens_match_cdf_counted(d, r->n, hist, valid, r->sorted_target, r->n_target,
                                    s->sort, s->sort + r->n, (uint32_t *)s->noise,
                                    (uint32_t *)s->recomp);
    /* wet cells eight at a time (one byte of the bit array) */
    for (size_t b = 0; b * 8 < r->n; b++) {
        const size_t i0 = b * 8, i1 = i0 + 8 < r->n ? i0 + 8 : r->n;
        unsigned bits = 0;
        for (size_t i = i0; i < i1; i++) {
            const float x = d[i];
            const int wet = x >= r->thr_db; /* NaN: not wet */
            bits |= (unsigned)wet << (i - i0);
            s->lagr[i] = wet ? exp2f(0.33219281f * x) /* 10^(x/10) */ : isnan(x) ? NAN : 0.0f;
        }
        ms->wet[b] = (unsigned char)bits;
    }
}

/* Move the Lagrangian rate along the member's perturbed motion to the lead (and to its
 * sub-steps when accumulating). */
static void move_member(run *r, member_state *ms, thread_scratch *s, float *out)
{
    const int sub = r->substeps;
    const float dt_h = (float)(r->step_s / 3600.0 / sub);
    sq25__ens_dry_blocks_wet(ms->wet, r->block_kinds, r->width, r->height, s->dry);
    for (int j = 1; j <= sub; j++) {
        const double tau = (r->lead - 1) + (double)j / sub;
        const double par = ms->eps_par * interpolate_steps(r->par_px, tau);
        const double perp = ms->eps_perp * interpolate_steps(r->perp_px, tau);
        sq25__ens_departures(&r->flow, ms->node_xy, ms->tau, tau, par, perp);
        ms->tau = tau;
        float *dst = j == sub ? out : s->sample;
        sq25__ens_sample(&r->flow, ms->node_xy, s->lagr, s->dry, s->row_dxy, dst);
        if (!ms->accum_mm || j == sub - 1) continue; /* the last two sub-steps in one pass */
        float *restrict acc = ms->accum_mm;
        const float *restrict now = dst, *restrict before = s->sample;
        if (j == sub && sub >= 2)
            for (size_t i = 0; i < r->n; i++) acc[i] += dt_h * before[i] + dt_h * now[i];
        else
            for (size_t i = 0; i < r->n; i++) acc[i] += dt_h * now[i];
    }
}

static void member_lead(run *r, int m, int thread)
{
    member_state *ms = &r->members[m];
    thread_scratch *s = &r->scratch[thread];
    sq25__ens_rng g;
    sq25__ens_rng_seed(&g, r->opt->seed, (uint64_t)m, (uint64_t)r->lead);
    sq25__ens_noise_spectrum(&r->fft, r->filter, &g, s->noise);
    evolve_levels(r, ms, s);
    sq25__ens_fft_inverse_raw(&r->fft, s->recomp, s->real);
    finish_lagrangian(r, ms, s);
    float *out = r->opt->keep ? r->e->member[(size_t)m * r->n_leads + r->lead - 1]->data
                              : r->lead_out[m];
    move_member(r, ms, s, out);
    if (r->opt->keep && r->window >= 0)
        memcpy(r->e->acc_member[(size_t)m * r->opt->n_accum + r->window]->data, ms->accum_mm,
               r->n * sizeof(float));
}

/* ---- statistics --------------------------------------------------------------------------- */


/* Linear interpolation between order statistics (Hyndman and Fan type 7). */
static float quantile_of(const float *sorted, int n, double q)
{
    const double h = (n - 1) * q;
    const int lo = (int)floor(h);
    if (lo >= n - 1) return sorted[n - 1];
    return (float)(sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]));
}

typedef struct {
    int n_thr;
    const double *thr;
    int inclusive; /* event = value >= thr (accumulations) or > thr (rates) */
    sq25_field **prob, **quant;
    sq25_field *mean;
} stats_target;

static void cell_stats(run *r, thread_scratch *s, const stats_target *t, float *const *src,
                       size_t i)
{
    const int members = r->opt->members, nq = r->opt->n_quantiles;
    int valid = 0, all_zero = 1;
    double sum = 0;
    for (int m = 0; m < members; m++) {
        const float x = src[m][i];
        if (isnan(x)) continue;
        s->values[valid++] = x;
        sum += x;
        all_zero &= x == 0;
    }
    if (valid == 0 || (all_zero && t->thr[0] >= 0 && !t->inclusive)) {
        /* no data, or dry in every member: nothing exceeds a threshold >= 0 */
        const float v = valid ? 0.0f : NAN;
        for (int j = 0; j < t->n_thr; j++) t->prob[j]->data[i] = v;
        t->mean->data[i] = v;
        for (int q = 0; q < nq; q++) t->quant[q]->data[i] = v;
        return;
    }
    for (int j = 0; j < t->n_thr; j++) {
        int count = 0;
        const float thr = (float)t->thr[j];
        for (int k = 0; k < valid; k++) count += t->inclusive ? s->values[k] >= thr : s->values[k] > thr;
        t->prob[j]->data[i] = (float)count / (float)valid;
    }
    t->mean->data[i] = (float)(sum / valid);
    if (nq == 0) return;
    if (!all_zero) sq25__ens_sort_small(s->values, valid);
    for (int q = 0; q < nq; q++)
        t->quant[q]->data[i] = all_zero ? 0.0f : quantile_of(s->values, valid, r->opt->quantiles[q]);
}

#define STATS_ROWS 16

static void stats_rows(run *r, int item, int thread)
{
    const sq25_ensemble_options *o = r->opt;
    const int k = r->lead - 1;
    float *src[SQ25_ENSEMBLE_MAX_MEMBERS];
    const int r0 = item * STATS_ROWS, r1 = r0 + STATS_ROWS < r->height ? r0 + STATS_ROWS : r->height;
    const size_t i0 = (size_t)r0 * r->width, i1 = (size_t)r1 * r->width;
    stats_target lead = {o->n_thresholds, o->thresholds, 0, r->e->probability + k * o->n_thresholds,
                         r->e->quantile + k * o->n_quantiles, r->e->mean[k]};
    for (int m = 0; m < o->members; m++)
        src[m] = o->keep ? r->e->member[(size_t)m * r->n_leads + k]->data : r->lead_out[m];
    for (size_t i = i0; i < i1; i++) cell_stats(r, &r->scratch[thread], &lead, src, i);
    if (r->window < 0) return;
    const int w = r->window;
    stats_target acc = {o->n_accum_thresholds, o->accum_thresholds, 1,
                        r->e->acc_probability + w * o->n_accum_thresholds,
                        r->e->acc_quantile + w * o->n_quantiles, r->e->acc_mean[w]};
    for (int m = 0; m < o->members; m++) src[m] = r->members[m].accum_mm;
    for (size_t i = i0; i < i1; i++) cell_stats(r, &r->scratch[thread], &acc, src, i);
}

static void member_item(run *r, int item, int thread) { member_lead(r, item, thread); }

/* ---- driver --------------------------------------------------------------------------------- */

static int setup(run *r, const sq25_field *const *f, const float *u, const float *v)
{
    sq25_ctx *ctx = r->ctx;
    const sq25_ensemble_options *o = r->opt;
    r->thr_db = (float)(10 * log10(o->rain_threshold_mmh));
    r->dry_db = (float)(r->thr_db - DRY_GAP_DB);
    r->flow = (sq25__ens_flow){r->width, r->height,
                               (r->width - 1 + SQ25__ENS_NODE_STEP - 1) / SQ25__ENS_NODE_STEP + 1,
                               (r->height - 1 + SQ25__ENS_NODE_STEP - 1) / SQ25__ENS_NODE_STEP + 1,
                               u, v, NULL};
    r->n_nodes = (size_t)r->flow.nodes_x * (size_t)r->flow.nodes_y;
    r->uv = sq25__malloc(ctx, 2 * r->n * sizeof(float));
    if (!r->uv) return SQ25_ERR_NOMEM;
    for (size_t i = 0; i < r->n; i++) {
        r->uv[2 * i] = u[i];
        r->uv[2 * i + 1] = v[i];
    }
    r->flow.uv = r->uv;
    double km = 1;
    int rc = pixel_km(ctx, f[2], &km);
    if (rc) return rc;
    r->mask_buffer_px = (float)(o->mask_scale * MASK_KM_PER_MIN * (r->step_s / 60.0) / km);
    r->par_px = sq25__calloc(ctx, (size_t)r->n_leads + 2, sizeof(double));
    r->perp_px = sq25__calloc(ctx, (size_t)r->n_leads + 2, sizeof(double));
    if (!r->par_px || !r->perp_px) return SQ25_ERR_NOMEM;
    perturbation_integrals(r, 1 / km);
    if ((rc = sq25__ens_fft_init(ctx, &r->fft, r->width, r->height))) return rc;
    if ((rc = sq25__ens_filters_make(ctx, &r->fft, o->levels, &r->bank))) return rc;
    r->entries = r->bank.start[r->bank.levels];
    float *db[3] = {NULL, NULL, NULL};
    fftwf_complex *spec[3] = {NULL, NULL, NULL};
    float *real = sq25__ens_fft_alloc(r->n * sizeof(float));
    r->filter = sq25__malloc(ctx, r->fft.n_spec * sizeof(float));
    rc = real && r->filter ? SQ25_OK : SQ25_ERR_NOMEM;
    for (int k = 0; rc == SQ25_OK && k < 3; k++) {
        db[k] = sq25__malloc(ctx, r->n * sizeof(float));
        spec[k] = sq25__ens_fft_alloc(r->fft.n_spec * sizeof(fftwf_complex));
        if (!db[k] || !spec[k]) rc = SQ25_ERR_NOMEM;
        if (rc == SQ25_OK) rc = lagrangian_dbr(r, f[k], 2 - k, u, v, db[k]);
        if (rc == SQ25_OK) {
            memcpy(real, db[k], r->n * sizeof(float));
            sq25__ens_fft_forward(&r->fft, real, spec[k]);
        }
    }
    if (rc == SQ25_OK) {
        const float *const fields[3] = {db[0], db[1], db[2]};
        if (o->noise == SQ25_ENSEMBLE_NOISE_POWERLAW) {
            double beta = 0;
            rc = sq25__ens_power_spectrum_slope(ctx, &r->fft, fields, 3, &beta);
            if (rc == SQ25_OK) sq25__ens_noise_filter_powerlaw(&r->fft, beta, r->filter);
        } else rc = sq25__ens_noise_filter_nonparametric(ctx, &r->fft, fields, 3, r->filter);
    }
    if (rc == SQ25_OK) fit_levels(r, spec);
    if (rc == SQ25_OK) rc = setup_target(r, f[2]->data, db[2]);
    if (rc == SQ25_OK) rc = setup_members(r, spec);
    if (rc == SQ25_OK) rc = setup_scratch(r);
    /* the first mask of every member: the latest observation's wet cells */
    for (size_t i = 0; rc == SQ25_OK && i < r->n; i++)
        if (r->valid[i] && db[2][i] >= r->thr_db)
            r->members[0].wet[i >> 3] |= (unsigned char)(1u << (i & 7));
    for (int m = 1; rc == SQ25_OK && m < o->members; m++)
        memcpy(r->members[m].wet, r->members[0].wet, r->n / 8 + 1);
    for (int k = 0; k < 3; k++) {
        sq25__free(ctx, db[k]);
        sq25__ens_fft_release(spec[k]);
    }
    sq25__ens_fft_release(real);
    return rc == SQ25_ERR_NOMEM ? sq25__fail(ctx, rc, "out of memory for the ensemble") : rc;
}

static void teardown(run *r)
{
    free_members(r);
    free_scratch(r);
    sq25__ens_filters_free(r->ctx, &r->bank);
    sq25__ens_fft_free(&r->fft);
    sq25__free(r->ctx, r->filter);
    sq25__free(r->ctx, r->sorted_target);
    sq25__free(r->ctx, r->valid);
    sq25__free(r->ctx, r->block_kinds);
    sq25__free(r->ctx, r->uv);
    sq25__free(r->ctx, r->par_px);
    sq25__free(r->ctx, r->perp_px);
}

static int window_ending_at(const sq25_ensemble_options *o, int lead, int step_s)
{
    for (int w = 0; w < o->n_accum; w++)
        if (o->accum_minutes[w] * 60 == lead * step_s) return w;
    return -1;
}

int sq25_ensemble_run(sq25_ctx *ctx, const sq25_ensemble_options *opt,
                      const sq25_field *const *frames, int n_frames, const float *u,
                      const float *v, int n_leads, sq25_ensemble **out)
{
    return sq25__ensemble_run_hooked(ctx, opt, frames, n_frames, u, v, n_leads, NULL, out);
}

int sq25__ensemble_run_hooked(sq25_ctx *ctx, const sq25_ensemble_options *opt,
                              const sq25_field *const *frames, int n_frames, const float *u,
                              const float *v, int n_leads, const sq25__ens_hook *hook,
                              sq25_ensemble **out)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!out) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_ensemble_run: NULL");
    *out = NULL;
    sq25_ensemble_options *defaults = NULL;
    if (!opt) {
        int rc = sq25_ensemble_options_create(ctx, &defaults);
        if (rc) return rc;
        opt = defaults;
    }
    int step_s = 0;
    int rc = check_frames(ctx, frames, n_frames, u, v, n_leads, &step_s);
    if (rc == SQ25_OK) rc = check_windows(ctx, opt, step_s, n_leads);
    const sq25_field *const *f = frames + n_frames - 3;
    run r = {0};
    if (rc == SQ25_OK) {
        r.ctx = ctx;
        r.opt = opt;
        r.width = f[2]->width;
        r.height = f[2]->height;
        r.n = (size_t)r.width * (size_t)r.height;
        r.n_leads = n_leads;
        r.step_s = step_s;
        r.threads = opt->threads > 0 ? opt->threads : online_cpus();
        r.substeps = opt->n_accum > 0 ? opt->substeps : 1;
        rc = sq25__ensemble_alloc(ctx, opt, f[2], n_leads, step_s, &r.e);
        if (rc == SQ25_OK) rc = setup(&r, f, u, v);
    }
    bool begun = false;
    if (rc == SQ25_OK && hook) {
        rc = hook->begin(hook->arg, r.e, f[2], u, v);
        begun = true;
    }
    for (int lead = 1; rc == SQ25_OK && lead <= n_leads; lead++) {
        r.lead = lead;
        r.window = window_ending_at(opt, lead, step_s);
        parallel_for(&r, opt->members, member_item);
        if (lead == 2) { /* every member has left the shared initial state */
            sq25__ens_fft_release(r.ar0);
            r.ar0 = NULL;
        }
        parallel_for(&r, (r.height + STATS_ROWS - 1) / STATS_ROWS, stats_rows);
        if (hook) rc = hook->lead_done(hook->arg, lead);
    }
    teardown(&r);
    if (begun) rc = hook->end(hook->arg, rc);
    else if (rc == SQ25_OK && !hook) { /* the blend (ensemble_prob.c), once the members' state is freed */
        const sq25__ens_control control = {f[2], u, v, opt->substeps};
        rc = sq25__ens_blend_probabilities(ctx, r.e, &control);
    }
    sq25_ensemble_options_destroy(defaults);
    if (rc) {
        sq25_ensemble_destroy(r.e);
        return rc == SQ25_ERR_NOMEM ? sq25__fail(ctx, rc, "out of memory for the ensemble") : rc;
    }
    *out = r.e;
    return sq25__ok(ctx);
}
