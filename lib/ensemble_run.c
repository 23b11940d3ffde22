/* ensemble_run.c -- the STEPS-class ensemble run: set-up (dBR, Lagrangian frames, cascade,
 * AR(2) per level, noise filter), the members advanced lead by lead in parallel (pthreads,
 * one random stream per member and lead, so the threads do not change the result), and the
 * statistics streamed from the members of each lead.
 *
 * The AR(2) state of each level is kept in the Fourier domain on the level's filter support
 * only: the noise is drawn there, filtered and added per level, and the levels are recomposed
 * by one inverse transform per member and lead (the mask and the probability matching act on
 * the recomposed field, not on the state, as in pysteps). The state is stored entry by entry
 * (the levels of one spectrum entry side by side), so that one pass in spectrum order draws
 * the noise, steps the levels and writes the recomposed entry once. */
#include "ensemble_prob.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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
    fftwf_complex *ar;    /* 2 * entries: blocks A and B of every level's state (slot order) */
    int steps;            /* AR steps taken (the first two read the shared initial state) */
    unsigned char *wet;   /* wet cells of the previous Lagrangian forecast (mask source), bits */
    float *accum_mm;      /* amount since issue (NULL without accumulations) */
    float *node_xy;       /* node departure points at the last solved time */
    double tau;           /* that time, steps */
    double eps_par, eps_perp;
} member_state;

typedef struct {
    fftwf_complex *noise, *recomp;
    fftwf_complex *mirror; /* 2 x height: the noise of the self-conjugate columns by row */
    float *real, *lagr, *dist, *mask, *sample, *row_dxy;
    uint32_t *bucket_row; /* one row of the values' CDF buckets */
    uint64_t *row_bits;   /* one spectrum row of random draws (half_width) */
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
    /* the state's slots: spectrum entry i owns the next slot_count[i] slots, one per level of
     * its filter support in level order; slot_level and slot_gain (the level's noise gain
     * times its filter weight there) per slot */
    unsigned char *slot_count, *slot_level;
    float *slot_gain;
    uint32_t *slot_of; /* set-up only: the slot of each filter-bank entry */
    double level_var0[SQ25__ENS_MAX_LEVELS], level_var1[SQ25__ENS_MAX_LEVELS]; /* set-up */
    float *filter;                            /* noise amplitude filter, n_spec */
    float *sorted_target;                     /* latest dBR, valid cells, ascending */
    size_t n_target;
    unsigned char *valid;                     /* latest frame has data */
    float *uv;                                /* the motion interleaved (r->flow.uv) */
    unsigned char *block_kinds;
    /* sq25__ens_dry_blocks of valid (0) / not (NaN) */
    fftwf_complex *ar0; /* every member's initial state: lag 1 then lag 2 (as member_state.ar) */
    float thr_db, dry_db, mask_buffer_px;
    double cell_km; /* great-circle distance between neighbouring cells mid-grid */
    double *par_px, *perp_px;                 /* perturbation integral at each step, pixels */
    member_state *members;
    thread_scratch *scratch;
    float **lead_out;                         /* per member: its rate at the current lead */
    int lead;                                 /* 1-based lead being computed */
    int window;                               /* accumulation window ending at this lead, or -1 */
    const sq25__ens_hook *hook; /* NULL: none */
    int side_rc;                /* of the hook's lead_side */
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

/* Great-circle distance in km between the centres of two neighbouring cells mid-grid, through
 * pj (sq25__proj_to_lonlat of the grid). */
static int pixel_km(sq25_ctx *ctx, const sq25_field *f, PJ *pj, double *km)
{
    const double c = f->width / 2 + 0.5, r = f->height / 2 + 0.5;
    double lon[2], lat[2];
    for (int k = 0; k < 2; k++) {
        const double x = f->gt[0] + (c + k) * f->gt[1] + r * f->gt[2];
        const double y = f->gt[3] + (c + k) * f->gt[4] + r * f->gt[5];
        PJ_COORD out = proj_trans(pj, PJ_FWD, proj_coord(x, y, 0, 0));
        lon[k] = out.lp.lam;
        lat[k] = out.lp.phi;
    }
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
        /* the variances of the latest, previous and first frames' level, then its lag-1 and
         * lag-2 covariances */
        const fftwf_complex *const a[5] = {spec[2], spec[1], spec[0], spec[2], spec[2]};
        const fftwf_complex *const bb[5] = {spec[2], spec[1], spec[0], spec[1], spec[0]};
        double m[5];
        sq25__ens_level_covariances(&r->fft, &r->bank, k, 5, a, bb, m);
        const double v0 = m[0], v1 = m[1], v2 = m[2], c1 = m[3], c2 = m[4];
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
        r->level_var0[k] = v0;
        r->level_var1[k] = v1;
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

/* The state's slot layout (after fit_levels: the slots carry the noise gains). */
static int setup_slots(run *r)
{
    const sq25__ens_filters *b = &r->bank;
    uint32_t *first = sq25__calloc(r->ctx, r->fft.n_spec + 1, sizeof *first);
    r->slot_count = sq25__calloc(r->ctx, r->fft.n_spec, 1);
    r->slot_level = sq25__malloc(r->ctx, r->entries ? r->entries : 1);
    r->slot_gain = sq25__malloc(r->ctx, (r->entries ? r->entries : 1) * sizeof(float));
    r->slot_of = sq25__malloc(r->ctx, (r->entries ? r->entries : 1) * sizeof(uint32_t));
    if (!first || !r->slot_count || !r->slot_level || !r->slot_gain || !r->slot_of) {
        sq25__free(r->ctx, first);
        return SQ25_ERR_NOMEM;
    }
    for (size_t e = 0; e < r->entries; e++) r->slot_count[b->index[e]]++;
    for (size_t i = 0; i < r->fft.n_spec; i++) first[i + 1] = first[i] + r->slot_count[i];
    for (int k = 0; k < b->levels; k++) { /* levels in order: an entry's slots in level order */
        const float gain = (float)r->noise_gain[k];
        for (size_t e = b->start[k]; e < b->start[k + 1]; e++) {
            const uint32_t slot = first[b->index[e]]++;
            r->slot_of[e] = slot;
            r->slot_level[slot] = (unsigned char)k;
            r->slot_gain[slot] = gain * b->weight[e];
        }
    }
    sq25__free(r->ctx, first);
    return SQ25_OK;
}

/* Every member starts from the normalised levels of the latest two Lagrangian spectra. */
static void initial_state(run *r, fftwf_complex *ar, fftwf_complex *const spec[3])
{
    for (int k = 0; k < r->bank.levels; k++) {
        const double s0 = sqrt(r->level_var0[k]), s1 = sqrt(r->level_var1[k]);
        const float i0 = s0 > 0 ? (float)(1 / s0) : 0, i1 = s1 > 0 ? (float)(1 / s1) : 0;
        for (size_t e = r->bank.start[k]; e < r->bank.start[k + 1]; e++) {
            const uint32_t i = r->bank.index[e], slot = r->slot_of[e];
            const float w = i == 0 ? 0.0f : r->bank.weight[e];
            ar[slot][0] = w * i0 * spec[2][i][0]; /* block A: lag 1 */
            ar[slot][1] = w * i0 * spec[2][i][1];
            ar[r->entries + slot][0] = w * i1 * spec[1][i][0]; /* block B: lag 2 */
            ar[r->entries + slot][1] = w * i1 * spec[1][i][1];
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
        s->mirror = sq25__malloc(r->ctx, 2 * (size_t)r->height * sizeof(fftwf_complex));
        s->bucket_row = sq25__malloc(r->ctx, (size_t)r->width * sizeof(uint32_t));
        s->row_bits = sq25__malloc(r->ctx, (size_t)r->fft.half_width * sizeof(uint64_t));
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
        if (!s->noise || !s->recomp || !s->mirror || !s->bucket_row || !s->row_bits || !s->real || !s->lagr || !s->dist || !s->mask ||
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
        sq25__free(r->ctx, s->mirror);
        sq25__free(r->ctx, s->bucket_row);
        sq25__free(r->ctx, s->row_bits);
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
        /* zeroed by the member's first step, on its worker thread (the pages faulted in
         * there, not here one member after another) */
        if (r->opt->n_accum) s->accum_mm = sq25__malloc(r->ctx, r->n * sizeof(float));
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

/* The noise coefficient of entry (row, col) of a self-conjugate column (ci 0: column 0, 1: the
 * Nyquist column), as sq25__ens_noise_spectrum makes it: rows past the middle mirror the
 * conjugate of row height - row, row 0 and the middle row of an even height are real. */
static void self_conjugate_noise(int height, int row, fftwf_complex *mirror, float *re, float *im)
{
    if (row == 0 || (height % 2 == 0 && row == height / 2)) *im = 0.0f;
    else if (row <= (height - 1) / 2) {
        mirror[row][0] = *re;
        mirror[row][1] = *im;
    } else {
        *re = mirror[height - row][0];
        *im = -mirror[height - row][1];
    }
}

/* The state of one member and lead in slot order: lag1 and lag2 read, out written (out may be
 * lag2: the new state replaces the older lag), and the level parameters. */
typedef struct {
    const fftwf_complex *lag1, *lag2;
    fftwf_complex *out;
    const unsigned char *count, *level;
    const float *gain;
    float p1[SQ25__ENS_MAX_LEVELS], p2[SQ25__ENS_MAX_LEVELS], sd[SQ25__ENS_MAX_LEVELS];
} ar_pass;

/* AR(2) step of the levels of one spectrum entry (slots from *slot) driven by the noise
 * (nre, nim), and the entry's recomposition (the levels' sum in level order, as a grid of
 * zeros added to level by level). */
static inline void step_entry(const ar_pass *a, size_t i, size_t *slot, float nre, float nim,
                              float *rec)
{
    float rre = 0.0f, rim = 0.0f;
    size_t q = *slot;
    for (const size_t end = q + a->count[i]; q < end; q++) {
        const int k = a->level[q];
        const float w = a->gain[q];
        const float re = a->p1[k] * a->lag1[q][0] + a->p2[k] * a->lag2[q][0] + w * nre;
        const float im = a->p1[k] * a->lag1[q][1] + a->p2[k] * a->lag2[q][1] + w * nim;
        a->out[q][0] = re;
        a->out[q][1] = im;
        rre += a->sd[k] * re;
        rim += a->sd[k] * im;
    }
    *slot = q;
    rec[0] = rre;
    rec[1] = rim;
}

/* The filtered noise of one spectrum row (len entries from filter) into out: the draws from g
 * first (the stream's serial chain alone), then their parts as sq25__ens_noise_draw makes
 * them times the filter, in a loop the vectoriser takes (the same float operations). */
static void row_noise(sq25__ens_rng *g, const float *restrict filter, int len,
                      uint64_t *restrict bits, fftwf_complex *restrict out)
{
    for (int c = 0; c < len; c++) bits[c] = sq25__ens_rng_step(g);
    const float a2 = 2.0f * 1.2247449f, unit = 1.0f / 16777216.0f;
    for (int c = 0; c < len; c++) {
        const int32_t hi = (int32_t)(bits[c] >> 40), mid = (int32_t)((bits[c] >> 16) & 0xffffffu);
        out[c][0] = filter[c] * (((float)hi * unit - 0.5f) * a2);
        out[c][1] = filter[c] * (((float)mid * unit - 0.5f) * a2);
    }
}

/* AR(2) step of every level in the spectral domain, driven by this lead's noise (drawn from g
 * in spectrum order, the numbers of sq25__ens_noise_spectrum), and recomposition into
 * s->recomp, in one pass over the spectrum. */
static void evolve_levels(run *r, member_state *ms, thread_scratch *s, sq25__ens_rng *g)
{
    /* 1/n of the inverse transform folded into the recomposition weights */
    const float inv_n = 1.0f / (float)r->n;
    ar_pass a = {.count = r->slot_count, .level = r->slot_level, .gain = r->slot_gain};
    for (int k = 0; k < r->bank.levels; k++) {
        a.p1[k] = (float)r->ar_phi1[k];
        a.p2[k] = (float)r->ar_phi2[k];
        a.sd[k] = (float)r->level_std[k] * inv_n;
    }
    /* step 0 reads both lags from the shared initial state and writes A; step 1 reads A and
     * the shared lag 1 and writes B; from then on A and B alternate, the new state replacing
     * the older lag in place */
    fftwf_complex *sa = ms->ar, *sb = ms->ar + r->entries;
    a.out = ms->steps & 1 ? sb : sa;
    a.lag1 = ms->steps == 0 ? r->ar0 : ms->steps & 1 ? sa : sb;
    a.lag2 = ms->steps == 0 ? r->ar0 + r->entries : ms->steps == 1 ? r->ar0 : a.out;
    const float *filter = r->filter;
    fftwf_complex *rec = s->recomp, *mirror[2] = {s->mirror, s->mirror + r->height};
    const int hw = r->fft.half_width, last = r->width % 2 == 0 ? r->width / 2 : -1;
    const int inner_end = last > 0 ? last : hw; /* columns [1, inner_end) are not self-conjugate */
    size_t slot = 0;
    fftwf_complex *noise = s->noise; /* one row of filtered noise */
    for (int row = 0; row < r->height; row++) {
        const size_t i0 = (size_t)row * (size_t)hw;
        row_noise(g, filter + i0, hw, s->row_bits, noise);
        float nre = noise[0][0], nim = noise[0][1]; /* column 0 */
        self_conjugate_noise(r->height, row, mirror[0], &nre, &nim);
        if (row == 0) nre = nim = 0.0f; /* the mean: no noise */
        step_entry(&a, i0, &slot, nre, nim, rec[i0]);
        for (int c = 1; c < inner_end; c++)
            step_entry(&a, i0 + (size_t)c, &slot, noise[c][0], noise[c][1], rec[i0 + (size_t)c]);
        if (last < 0) continue;
        const size_t i = i0 + (size_t)last; /* the Nyquist column */
        nre = noise[last][0];
        nim = noise[last][1];
        self_conjugate_noise(r->height, row, mirror[1], &nre, &nim);
        step_entry(&a, i, &slot, nre, nim, rec[i]);
    }
    rec[0][0] = r->mean_term[0] * inv_n;
    rec[0][1] = r->mean_term[1] * inv_n;
    ms->steps++;
}

/* Float bit tests and selections in integer operations: with them GCC vectorises the
 * loops below at -O3 without -fno-trapping-math (a float comparison in a selection blocks it). */
static inline uint32_t float_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}
static inline float bits_float(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}
/* All bits set where x is not NaN, else 0. */
static inline uint32_t not_nan_mask(float x)
{
    return 0u - (uint32_t)((float_bits(x) & 0x7fffffffu) <= 0x7f800000u);
}
/* x where keep (all bits or none), else NaN (the bits of NAN). */
static inline float keep_or_nan(float x, uint32_t keep)
{
    return bits_float((float_bits(x) & keep) | (0x7fc00000u & ~keep));
}
/* The float's bits mapped so that unsigned order is numeric order (-0 before +0). */
static inline uint32_t order_key(float x)
{
    const uint32_t u = float_bits(x);
    return u ^ ((0u - (u >> 31)) | 0x80000000u);
}

/* Minimum of d over the valid cells that are not NaN (+inf if none), taken on order keys in
 * eight lanes. The same value as a scan with `<` (a minimum does not depend on the order it
 * is taken in), except that of a +0 and a -0 this takes -0, the scan the first one. */
static float valid_min(const float *restrict d, const unsigned char *restrict valid, size_t n)
{
    uint32_t lane[8], m = 0xffffffffu; /* above every number's key */
    for (int j = 0; j < 8; j++) lane[j] = m;
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) {
            const uint32_t keep = not_nan_mask(d[i + j]) & (0u - (uint32_t)(valid[i + j] != 0));
            const uint32_t k = (order_key(d[i + j]) & keep) | ~keep;
            lane[j] = k < lane[j] ? k : lane[j];
        }
    for (; i < n; i++) {
        const uint32_t k = valid[i] && d[i] == d[i] ? order_key(d[i]) : 0xffffffffu;
        m = k < m ? k : m;
    }
    for (int j = 0; j < 8; j++) m = lane[j] < m ? lane[j] : m;
    return m == 0xffffffffu ? INFINITY : bits_float(m & 0x80000000u ? m ^ 0x80000000u : ~m);
}

/* valid_min by float minima (SSE2, sixteen cells per turn: the valid flags as lane masks, NaN
 * and cells not valid as +inf). A minimum is the same number whatever the order, so this is
 * valid_min's value except where it is zero, whose sign valid_min decides: there (and
 * without SSE2) valid_min itself. */
static float valid_min_fast(const float *restrict d, const unsigned char *restrict valid, size_t n)
{
#ifdef __SSE2__
    const __m128 inf = _mm_set1_ps(INFINITY);
    const __m128i zero = _mm_setzero_si128();
    __m128 m0 = inf, m1 = inf, m2 = inf, m3 = inf;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        /* all bits set in the lanes of cells not valid */
        const __m128i off = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(valid + i)), zero);
        const __m128i off_lo = _mm_unpacklo_epi8(off, off), off_hi = _mm_unpackhi_epi8(off, off);
        const __m128 o0 = _mm_castsi128_ps(_mm_unpacklo_epi16(off_lo, off_lo));
        const __m128 o1 = _mm_castsi128_ps(_mm_unpackhi_epi16(off_lo, off_lo));
        const __m128 o2 = _mm_castsi128_ps(_mm_unpacklo_epi16(off_hi, off_hi));
        const __m128 o3 = _mm_castsi128_ps(_mm_unpackhi_epi16(off_hi, off_hi));
        const __m128 x0 = _mm_loadu_ps(d + i), x1 = _mm_loadu_ps(d + i + 4);
        const __m128 x2 = _mm_loadu_ps(d + i + 8), x3 = _mm_loadu_ps(d + i + 12);
        /* all bits set where valid and not NaN (equal to itself) */
        const __m128 g0 = _mm_andnot_ps(o0, _mm_cmpeq_ps(x0, x0));
        const __m128 g1 = _mm_andnot_ps(o1, _mm_cmpeq_ps(x1, x1));
        const __m128 g2 = _mm_andnot_ps(o2, _mm_cmpeq_ps(x2, x2));
        const __m128 g3 = _mm_andnot_ps(o3, _mm_cmpeq_ps(x3, x3));
        m0 = _mm_min_ps(_mm_or_ps(_mm_and_ps(g0, x0), _mm_andnot_ps(g0, inf)), m0);
        m1 = _mm_min_ps(_mm_or_ps(_mm_and_ps(g1, x1), _mm_andnot_ps(g1, inf)), m1);
        m2 = _mm_min_ps(_mm_or_ps(_mm_and_ps(g2, x2), _mm_andnot_ps(g2, inf)), m2);
        m3 = _mm_min_ps(_mm_or_ps(_mm_and_ps(g3, x3), _mm_andnot_ps(g3, inf)), m3);
    }
    float lane[4];
    _mm_storeu_ps(lane, _mm_min_ps(_mm_min_ps(m0, m1), _mm_min_ps(m2, m3)));
    float m = lane[0];
    for (int j = 1; j < 4; j++) m = lane[j] < m ? lane[j] : m;
    for (; i < n; i++)
        if (valid[i] && d[i] < m) m = d[i];
    if (m != 0.0f) return m;
#endif
    return valid_min(d, valid, n);
}

/* sq25__ens_cdf_bucket of x, SQ25__ENS_CDF_BUCKETS for NaN. */
static inline uint32_t bucket_or_nan(float x)
{
    return not_nan_mask(x) ? order_key(x) >> 21 : SQ25__ENS_CDF_BUCKETS;
}

/* One row of the mask (weights, NULL: none) applied to the dBR values dd (NaN where not ok)
 * and their buckets counted into hist (4 x (SQ25__ENS_CDF_BUCKETS + 1) counters, the last of
 * each for NaN; their sum is the histogram):
 * the values and buckets in a loop the vectoriser takes, the counting after it. */
static void mask_and_count_row(float *restrict dd, const unsigned char *restrict ok,
                               const float *restrict weight, float dmin, int len,
                               uint32_t *restrict bucket, uint32_t *restrict hist)
{
    if (weight)
        for (int c = 0; c < len; c++) {
            const float x = keep_or_nan(dmin + (dd[c] - dmin) * weight[c], 0u - (uint32_t)(ok[c] != 0));
            dd[c] = x;
            bucket[c] = bucket_or_nan(x);
        }
    else
        for (int c = 0; c < len; c++) {
            const float x = keep_or_nan(dd[c], 0u - (uint32_t)(ok[c] != 0));
            dd[c] = x;
            bucket[c] = bucket_or_nan(x);
        }
    /* four histograms in turn: runs of one bucket (the dry cells) do not wait on one counter */
    int c = 0;
    for (; c + 4 <= len; c += 4) {
        hist[bucket[c]]++;
        hist[SQ25__ENS_CDF_BUCKETS + 1 + bucket[c + 1]]++;
        hist[2 * (SQ25__ENS_CDF_BUCKETS + 1) + bucket[c + 2]]++;
        hist[3 * (SQ25__ENS_CDF_BUCKETS + 1) + bucket[c + 3]]++;
    }
    for (; c < len; c++) hist[bucket[c]]++;
}

/* Cells per chunk of rates_and_wet (a multiple of 8: whole bytes of the bit array). */
#define WET_CHUNK 512

/* The rates of the dBR values d in place (10^(d/10) where d >= thr_db, NaN where NaN, else 0)
 * and the wet cells (d >= thr_db) as bits, chunk by chunk: the wet flags and the dry cells'
 * values in loops the vectoriser takes, the exponentials for the wet cells only. */
static void rates_and_wet(float *restrict d, size_t n, float thr_db, unsigned char *restrict wet)
{
    unsigned char flag[WET_CHUNK];
    for (size_t i0 = 0; i0 < n; i0 += WET_CHUNK) {
        const int len = (int)(n - i0 < WET_CHUNK ? n - i0 : WET_CHUNK);
        float *restrict x = d + i0;
        for (int c = 0; c < len; c++) flag[c] = x[c] >= thr_db; /* NaN: not wet */
        for (int c = len; c < (len + 7) / 8 * 8; c++) flag[c] = 0;
        /* eight flags at a time: most cells are dry */
        for (int c0 = 0; c0 < len; c0 += 8) {
            uint64_t any;
            memcpy(&any, flag + c0, sizeof any);
            if (!any) continue;
            for (int c = c0; c < c0 + 8; c++)
                if (flag[c]) x[c] = exp2f(0.33219281f * x[c]); /* 10^(x/10) */
        }
        /* x where wet, else +0 where x is a number and NaN where not, in bit operations */
        for (int c = 0; c < len; c++) {
            const uint32_t keep = 0u - (uint32_t)flag[c], nan = ~not_nan_mask(x[c]);
            x[c] = bits_float((float_bits(x[c]) & keep) | (0x7fc00000u & nan & ~keep));
        }
        for (int b = 0; b < (len + 7) / 8; b++) {
            const unsigned char *f = flag + 8 * b;
            wet[i0 / 8 + (size_t)b] =
                (unsigned char)(f[0] | f[1] << 1 | f[2] << 2 | f[3] << 3 | f[4] << 4 |
                                f[5] << 5 | f[6] << 6 | f[7] << 7);
        }
    }
}

/* Mask, probability matching and back to mm/h of the Lagrangian dBR field s->real, into
 * s->lagr (the same array); updates the member's wet cells. */
static void finish_lagrangian(run *r, member_state *ms, thread_scratch *s)
{
    float *d = s->real;
    /* over the valid cells; the others become NaN in the next pass */
    const float dmin = valid_min_fast(d, r->valid, r->n);
    /* the mask from the previous lead's wet cells (the observation's at lead 1), applied in
     * the pass that counts the values for the probability matching, its weights made there
     * from the 16-bit distances (no grid of weights) */
    uint32_t hist4[4 * (SQ25__ENS_CDF_BUCKETS + 1)] = {0};
    sq25__ens_mask_params mp;
    const uint16_t *dist16 = (const uint16_t *)(const void *)s->dist;
    const size_t w = (size_t)r->width;
    if (r->opt->mask && sq25__ens_mask_u16(ms->wet, r->width, r->height, r->mask_buffer_px,
                                           MASK_RIM_PX, (uint16_t *)(void *)s->dist, &mp)) {
        float *restrict weight = s->mask; /* one row of weights (vectorised), in L1 */
        const sq25__ens_mask_params p = mp;   /* a local copy: not aliased by weight */
        for (int row = 0; row < r->height; row++) {
            const uint16_t *restrict dr = dist16 + (size_t)(row + 1) * (w + 2) + 1;
            for (int c = 0; c < r->width; c++) weight[c] = sq25__ens_mask_weight((float)dr[c], &p);
            mask_and_count_row(d + row * w, r->valid + row * w, weight, dmin, r->width,
                               s->bucket_row, hist4);
        }
    } else {
        const float *mask = NULL;
        if (r->opt->mask) {
            sq25__ens_mask(ms->wet, r->width, r->height, r->mask_buffer_px, MASK_RIM_PX, s->dist,
                           s->mask);
            mask = s->mask;
        }
        for (int row = 0; row < r->height; row++)
            mask_and_count_row(d + row * w, r->valid + row * w, mask ? mask + row * w : NULL,
                               dmin, r->width, s->bucket_row, hist4);
    }
    size_t hist[SQ25__ENS_CDF_BUCKETS + 1];
    for (int b = 0; b <= SQ25__ENS_CDF_BUCKETS; b++)
        hist[b] = (size_t)hist4[b] + hist4[SQ25__ENS_CDF_BUCKETS + 1 + b] +
                  hist4[2 * (SQ25__ENS_CDF_BUCKETS + 1) + b] + hist4[3 * (SQ25__ENS_CDF_BUCKETS + 1) + b];
    const size_t valid = r->n - hist[SQ25__ENS_CDF_BUCKETS];
    /* the sort's second pair of arrays: the spectra, free after the inverse transform */
    if (r->opt->match_cdf)
        sq25__ens_match_cdf_counted(d, r->n, hist, valid, r->sorted_target, r->n_target,
                                    s->sort, s->sort + r->n, (uint32_t *)s->noise,
                                    (uint32_t *)s->recomp);
    rates_and_wet(s->lagr, r->n, r->thr_db, ms->wet);
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
        /* the accumulation done by the sampler as it writes each row; the last two sub-steps
         * in one pass (the one before the last is kept in s->sample) */
        const sq25__ens_accum acc = {ms->accum_mm, j == sub && sub >= 2 ? s->sample : NULL,
                                     dt_h};
        const bool add = ms->accum_mm && j != sub - 1;
        sq25__ens_sample_acc(&r->flow, ms->node_xy, s->lagr, s->dry, s->row_dxy, dst,
                             add ? &acc : NULL);
    }
}

static void member_lead(run *r, int m, int thread)
{
    member_state *ms = &r->members[m];
    thread_scratch *s = &r->scratch[thread];
    sq25__ens_rng g;
    sq25__ens_rng_seed(&g, r->opt->seed, (uint64_t)m, (uint64_t)r->lead);
    if (r->lead == 1 && ms->accum_mm) memset(ms->accum_mm, 0, r->n * sizeof(float));
    evolve_levels(r, ms, s, &g);
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

/* Quantiles of the members' valid values at cell i (the members gathered and sorted; all
 * zero: no sort, every quantile 0). */
static void cell_quantiles(run *r, thread_scratch *s, const stats_target *t, float *const *src,
                           size_t i)
{
    int valid = 0, all_zero = 1;
    for (int m = 0; m < r->opt->members; m++) {
        const float x = src[m][i];
        if (isnan(x)) continue;
        s->values[valid++] = x;
        all_zero &= x == 0;
    }
    for (int q = 0; q < r->opt->n_quantiles; q++) t->quant[q]->data[i] = valid == 0 ? NAN : 0.0f;
    if (valid == 0 || all_zero) return;
    sq25__ens_sort_small(s->values, valid);
    for (int q = 0; q < r->opt->n_quantiles; q++)
        t->quant[q]->data[i] = quantile_of(s->values, valid, r->opt->quantiles[q]);
}

/* Cells per pass of chunk_stats: its counters stay in L1. */
#define STATS_CHUNK 512

/* Exceedance fractions and means of the members' valid values at len cells from i0 (NaN where
 * no member is valid). The members are read one row segment at a time and the counts, valid
 * counts and sums (double, in member order) kept per cell, in loops the vectoriser takes. */
static void chunk_stats(int members, const stats_target *t, float *const *src, size_t i0,
                        int len)
{
    double sum[STATS_CHUNK];
    int valid[STATS_CHUNK], count[SQ25_ENSEMBLE_MAX_THRESHOLDS][STATS_CHUNK];
    for (int c = 0; c < len; c++) {
        sum[c] = 0;
        valid[c] = 0;
    }
    for (int j = 0; j < t->n_thr; j++) memset(count[j], 0, (size_t)len * sizeof count[j][0]);
    /* four members per pass over the counters (a quarter of their loads and stores), the sums
     * still in member order */
    int m = 0;
    for (; m + 4 <= members; m += 4) {
        const float *restrict x0 = src[m] + i0, *restrict x1 = src[m + 1] + i0;
        const float *restrict x2 = src[m + 2] + i0, *restrict x3 = src[m + 3] + i0;
        for (int c = 0; c < len; c++) {
            const uint32_t k0 = not_nan_mask(x0[c]), k1 = not_nan_mask(x1[c]);
            const uint32_t k2 = not_nan_mask(x2[c]), k3 = not_nan_mask(x3[c]);
            valid[c] += (int)((k0 & 1u) + (k1 & 1u) + (k2 & 1u) + (k3 & 1u));
            double t0 = sum[c]; /* NaN: + 0 */
            t0 += (double)bits_float(float_bits(x0[c]) & k0);
            t0 += (double)bits_float(float_bits(x1[c]) & k1);
            t0 += (double)bits_float(float_bits(x2[c]) & k2);
            t0 += (double)bits_float(float_bits(x3[c]) & k3);
            sum[c] = t0;
        }
        for (int j = 0; j < t->n_thr; j++) {
            const float thr = (float)t->thr[j]; /* NaN never counts */
            int *restrict n = count[j];
            if (t->inclusive)
                for (int c = 0; c < len; c++)
                    n[c] += (x0[c] >= thr) + (x1[c] >= thr) + (x2[c] >= thr) + (x3[c] >= thr);
            else
                for (int c = 0; c < len; c++)
                    n[c] += (x0[c] > thr) + (x1[c] > thr) + (x2[c] > thr) + (x3[c] > thr);
        }
    }
    for (; m < members; m++) {
        const float *restrict x = src[m] + i0;
        for (int c = 0; c < len; c++) {
            const uint32_t keep = not_nan_mask(x[c]);
            valid[c] += (int)(keep & 1u);
            sum[c] += (double)bits_float(float_bits(x[c]) & keep);
        }
        for (int j = 0; j < t->n_thr; j++) {
            const float thr = (float)t->thr[j];
            int *restrict n = count[j];
            if (t->inclusive)
                for (int c = 0; c < len; c++) n[c] += x[c] >= thr;
            else
                for (int c = 0; c < len; c++) n[c] += x[c] > thr;
        }
    }
    /* NaN where no member is valid (divided by 1 there, then replaced) */
    for (int j = 0; j < t->n_thr; j++) {
        float *restrict p = t->prob[j]->data + i0;
        const int *restrict n = count[j];
        for (int c = 0; c < len; c++) {
            const int v = valid[c];
            p[c] = keep_or_nan((float)n[c] / (float)(v + (v == 0)), 0u - (uint32_t)(v != 0));
        }
    }
    float *restrict mean = t->mean->data + i0;
    for (int c = 0; c < len; c++) {
        const int v = valid[c];
        mean[c] = keep_or_nan((float)(sum[c] / (v + (v == 0))), 0u - (uint32_t)(v != 0));
    }
}

/* The statistics of cells [i0, i1). */
static void range_stats(run *r, thread_scratch *s, const stats_target *t, float *const *src,
                        size_t i0, size_t i1)
{
    for (size_t i = i0; i < i1; i += STATS_CHUNK)
        chunk_stats(r->opt->members, t, src, i, (int)(i1 - i < STATS_CHUNK ? i1 - i : STATS_CHUNK));
    if (r->opt->n_quantiles > 0)
        for (size_t i = i0; i < i1; i++) cell_quantiles(r, s, t, src, i);
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
    range_stats(r, &r->scratch[thread], &lead, src, i0, i1);
    if (r->window < 0) return;
    const int w = r->window;
    stats_target acc = {o->n_accum_thresholds, o->accum_thresholds, 1,
                        r->e->acc_probability + w * o->n_accum_thresholds,
                        r->e->acc_quantile + w * o->n_quantiles, r->e->acc_mean[w]};
    for (int m = 0; m < o->members; m++) src[m] = r->members[m].accum_mm;
    range_stats(r, &r->scratch[thread], &acc, src, i0, i1);
}

/* Lead r->lead's members, and after them the hook's side work of the lead, if any. */
static void member_item(run *r, int item, int thread)
{
    if (item < r->opt->members) member_lead(r, item, thread);
    else r->side_rc = r->hook->lead_side(r->hook->arg, r->lead);
}

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
    const double km = r->cell_km;
    int rc = SQ25_OK;
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
    if (rc == SQ25_OK) rc = setup_slots(r);
    if (rc == SQ25_OK) rc = setup_target(r, f[2]->data, db[2]);
    if (rc == SQ25_OK) rc = setup_members(r, spec);
    sq25__free(ctx, r->slot_of);
    r->slot_of = NULL;
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
    sq25__free(r->ctx, r->slot_count);
    sq25__free(r->ctx, r->slot_level);
    sq25__free(r->ctx, r->slot_gain);
    sq25__free(r->ctx, r->slot_of);
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

/* The cell size (r->cell_km) through the grid's lon/lat transform, which then goes to the
 * hook's prepare (*prepared: it was called), so that the consumer's work on the grid alone
 * (the file's lat/lon) starts beside the set-up without making the transform again. */
static int measure_cells(run *r, const sq25_field *latest, const sq25__ens_hook *hook,
                         bool *prepared)
{
    PJ *pj = sq25__proj_to_lonlat(r->ctx, latest->projdef);
    if (!pj)
        return sq25__fail(r->ctx, SQ25_ERR_PROJ, "ensemble: cannot transform %s to lon/lat",
                          latest->projdef);
    int rc = pixel_km(r->ctx, latest, pj, &r->cell_km);
    if (rc == SQ25_OK && hook && hook->prepare) {
        *prepared = true;
        return hook->prepare(hook->arg, r->e, latest, pj);
    }
    proj_destroy(pj);
    return rc;
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
        r.hook = hook;
        r.width = f[2]->width;
        r.height = f[2]->height;
        r.n = (size_t)r.width * (size_t)r.height;
        r.n_leads = n_leads;
        r.step_s = step_s;
        r.threads = opt->threads > 0 ? opt->threads : online_cpus();
        r.substeps = opt->n_accum > 0 ? opt->substeps : 1;
        rc = sq25__ensemble_alloc(ctx, opt, f[2], n_leads, step_s, &r.e);
    }
    bool begun = false;
    if (rc == SQ25_OK) rc = measure_cells(&r, f[2], hook, &begun);
    if (rc == SQ25_OK) rc = setup(&r, f, u, v);
    if (rc == SQ25_OK && hook) {
        rc = hook->begin(hook->arg, r.e, f[2], u, v);
        begun = true;
    }
    for (int lead = 1; rc == SQ25_OK && lead <= n_leads; lead++) {
        r.lead = lead;
        r.window = window_ending_at(opt, lead, step_s);
        parallel_for(&r, opt->members + (hook && hook->lead_side ? 1 : 0), member_item);
        if ((rc = r.side_rc)) break;
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
