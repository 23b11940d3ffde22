/* ensemble.c -- options of the STEPS-class ensemble and its result handle (per-lead and
 * per-window statistics grids). The run is in ensemble_run.c, the netCDF writer in
 * ensemble_write.c. */
#include "ensemble_internal.h"

#include <math.h>
#include <string.h>

/* ---- options ------------------------------------------------------------------------------ */

/* Defaults of the blend and the noise, chosen on the development cases of the Belgian storm
 * (issue times 11..18) and checked on the held-out ones and on the Dutch control
 * (docs/ensemble.md, "Choosing the defaults"); the control weight (0.3 in 1.2-1.5) by a rule
 * over both storms since 1.6 (docs/ensemble.md, "Session 6: skill"). */
#define DEFAULT_NOISE_GAIN 3.0
#define DEFAULT_NEIGHBOURHOOD_CELLS_PER_STEP 1.0
#define DEFAULT_CONTROL_WEIGHT 0.65

int sq25_ensemble_options_create(sq25_ctx *ctx, sq25_ensemble_options **out)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!out) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_ensemble_options_create: NULL");
    sq25_ensemble_options *o = sq25__calloc(ctx, 1, sizeof *o);
    if (!(*out = o)) return SQ25_ERR_NOMEM;
    o->ctx = ctx;
    o->members = 20;
    o->seed = 24;
    o->levels = 6;
    o->threads = 0;
    o->noise = SQ25_ENSEMBLE_NOISE_NONPARAMETRIC;
    o->perturb_motion = 1;
    o->mask = 1;
    o->match_cdf = 1;
    o->substeps = 2;
    o->rain_threshold_mmh = 0.1;
    o->perturb_scale = 1.0;
    o->mask_scale = 1.0;
    o->noise_scale = DEFAULT_NOISE_GAIN;
    o->neighbourhood_cells_per_step = DEFAULT_NEIGHBOURHOOD_CELLS_PER_STEP;
    o->control_weight = DEFAULT_CONTROL_WEIGHT;
    const double thr[4] = {1, 5, 10, 20};
    o->n_thresholds = o->n_accum_thresholds = 4;
    memcpy(o->thresholds, thr, sizeof thr);
    memcpy(o->accum_thresholds, thr, sizeof thr);
    o->n_quantiles = 0; /* chosen by the caller: each costs a grid per lead and window */
    o->n_accum = 3;
    o->accum_minutes[0] = 15;
    o->accum_minutes[1] = 30;
    o->accum_minutes[2] = 60;
    return sq25__ok(ctx);
}

void sq25_ensemble_options_destroy(sq25_ensemble_options *opt)
{
    if (opt) sq25__free(opt->ctx, opt);
}

int sq25_ensemble_options_clone(const sq25_ensemble_options *opt, sq25_ensemble_options **out)
{
    if (!opt || !out) return opt ? sq25__fail(opt->ctx, SQ25_ERR_INVALID_ARG, "NULL")
                                 : SQ25_ERR_INVALID_ARG;
    sq25_ensemble_options *o = sq25__malloc(opt->ctx, sizeof *o);
    if (!(*out = o)) return SQ25_ERR_NOMEM;
    *o = *opt;
    return sq25__ok(opt->ctx);
}

static int bad_option(sq25_ensemble_options *opt, const char *what)
{
    return opt ? sq25__fail(opt->ctx, SQ25_ERR_RANGE, "ensemble option %s out of range", what)
               : SQ25_ERR_INVALID_ARG;
}

static int set_int(sq25_ensemble_options *opt, int *field, int value, int lo, int hi,
                   const char *what)
{
    if (!opt || value < lo || value > hi) return bad_option(opt, what);
    *field = value;
    return SQ25_OK;
}

int sq25_ensemble_options_set_members(sq25_ensemble_options *opt, int members)
{
    return set_int(opt, opt ? &opt->members : NULL, members, 1, SQ25_ENSEMBLE_MAX_MEMBERS,
                   "members");
}

int sq25_ensemble_options_set_seed(sq25_ensemble_options *opt, uint64_t seed)
{
    if (!opt) return SQ25_ERR_INVALID_ARG;
    opt->seed = seed;
    return SQ25_OK;
}

int sq25_ensemble_options_set_cascade_levels(sq25_ensemble_options *opt, int levels)
{
    return set_int(opt, opt ? &opt->levels : NULL, levels, 2, SQ25__ENS_MAX_LEVELS,
                   "cascade levels");
}

int sq25_ensemble_options_set_threads(sq25_ensemble_options *opt, int threads)
{
    return set_int(opt, opt ? &opt->threads : NULL, threads, 0, 256, "threads");
}

int sq25_ensemble_options_set_noise(sq25_ensemble_options *opt, int method)
{
    return set_int(opt, opt ? &opt->noise : NULL, method, SQ25_ENSEMBLE_NOISE_NONPARAMETRIC,
                   SQ25_ENSEMBLE_NOISE_POWERLAW, "noise");
}

int sq25_ensemble_options_set_motion_perturbation(sq25_ensemble_options *opt, int enabled)
{
    if (!opt) return SQ25_ERR_INVALID_ARG;
    opt->perturb_motion = enabled != 0;
    return SQ25_OK;
}

int sq25_ensemble_options_set_noise_gain(sq25_ensemble_options *opt, double gain)
{
    if (!opt || !(gain > 0 && gain <= 10)) return bad_option(opt, "noise gain");
    opt->noise_scale = gain;
    return SQ25_OK;
}

int sq25_ensemble_options_set_neighbourhood(sq25_ensemble_options *opt, double cells_per_step)
{
    if (!opt || !(cells_per_step >= 0 && cells_per_step <= 100)) return bad_option(opt, "neighbourhood");
    opt->neighbourhood_cells_per_step = cells_per_step;
    return SQ25_OK;
}

int sq25_ensemble_options_set_control_weight(sq25_ensemble_options *opt, double weight)
{
    if (!opt || !(weight >= 0 && weight < 1)) return bad_option(opt, "control weight");
    opt->control_weight = weight;
    return SQ25_OK;
}

int sq25_ensemble_options_set_probability_shrink(sq25_ensemble_options *opt, double knee,
                                                 double rate_per_hour)
{
    if (!opt) return SQ25_ERR_INVALID_ARG;
    if (!(knee >= 0 && knee < 1) || !(rate_per_hour >= 0 && rate_per_hour <= 10))
        return bad_option(opt, "probability shrink");
    opt->shrink_knee = knee;
    opt->shrink_rate_per_hour = rate_per_hour;
    return SQ25_OK;
}

int sq25_ensemble_options_set_mask(sq25_ensemble_options *opt, int enabled)
{
    if (!opt) return SQ25_ERR_INVALID_ARG;
    opt->mask = enabled != 0;
    return SQ25_OK;
}

int sq25_ensemble_options_set_probability_matching(sq25_ensemble_options *opt, int enabled)
{
    if (!opt) return SQ25_ERR_INVALID_ARG;
    opt->match_cdf = enabled != 0;
    return SQ25_OK;
}

int sq25_ensemble_options_set_rain_threshold(sq25_ensemble_options *opt, double mmh)
{
    if (!opt || !(mmh > 0 && mmh < 10)) return bad_option(opt, "rain threshold");
    opt->rain_threshold_mmh = mmh;
    return SQ25_OK;
}

/* count values in [lo, hi], strictly increasing. */
static bool increasing_in(const double *v, int count, double lo, double hi)
{
    for (int i = 0; i < count; i++) {
        if (!(v[i] >= lo && v[i] <= hi)) return false;
        if (i > 0 && !(v[i] > v[i - 1])) return false;
    }
    return true;
}

int sq25_ensemble_options_set_thresholds(sq25_ensemble_options *opt, int count,
                                         const double *mmh)
{
    if (!opt || count < 1 || count > SQ25_ENSEMBLE_MAX_THRESHOLDS || !mmh ||
        !increasing_in(mmh, count, 0, 1e4))
        return bad_option(opt, "thresholds");
    opt->n_thresholds = count;
    memcpy(opt->thresholds, mmh, (size_t)count * sizeof *mmh);
    return SQ25_OK;
}

int sq25_ensemble_options_set_quantiles(sq25_ensemble_options *opt, int count,
                                        const double *probabilities)
{
    if (!opt || count < 0 || count > SQ25_ENSEMBLE_MAX_QUANTILES ||
        (count > 0 && (!probabilities || !increasing_in(probabilities, count, 0, 1))))
        return bad_option(opt, "quantiles");
    opt->n_quantiles = count;
    if (count) memcpy(opt->quantiles, probabilities, (size_t)count * sizeof *probabilities);
    return SQ25_OK;
}

int sq25_ensemble_options_set_accumulations(sq25_ensemble_options *opt, int count,
                                            const int *minutes)
{
    if (!opt || count < 0 || count > SQ25_ENSEMBLE_MAX_ACCUMULATIONS || (count && !minutes))
        return bad_option(opt, "accumulations");
    for (int i = 0; i < count; i++)
        if (minutes[i] <= 0 || minutes[i] > 24 * 60 || (i > 0 && minutes[i] <= minutes[i - 1]))
            return bad_option(opt, "accumulations");
    opt->n_accum = count;
    if (count) memcpy(opt->accum_minutes, minutes, (size_t)count * sizeof *minutes);
    return SQ25_OK;
}

int sq25_ensemble_options_set_accumulation_thresholds(sq25_ensemble_options *opt, int count,
                                                      const double *mm)
{
    if (!opt || count < 1 || count > SQ25_ENSEMBLE_MAX_THRESHOLDS || !mm ||
        !increasing_in(mm, count, 0, 1e5))
        return bad_option(opt, "accumulation thresholds");
    opt->n_accum_thresholds = count;
    memcpy(opt->accum_thresholds, mm, (size_t)count * sizeof *mm);
    return SQ25_OK;
}

int sq25_ensemble_options_set_substeps(sq25_ensemble_options *opt, int substeps)
{
    return set_int(opt, opt ? &opt->substeps : NULL, substeps, 1, 60, "substeps");
}

int sq25__ensemble_options_tune(sq25_ensemble_options *opt, const char *key, double value)
{
    if (!opt || !key || !(value >= 0 && value <= 100)) return SQ25_ERR_INVALID_ARG;
    if (strcmp(key, "perturbation_scale") == 0) opt->perturb_scale = value;
    else if (strcmp(key, "noise_scale") == 0) opt->noise_scale = value;
    else if (strcmp(key, "mask_scale") == 0) opt->mask_scale = value;
    else if (strcmp(key, "lag2_adjust") == 0) opt->lag2_adjust = value != 0;
    else return SQ25_ERR_INVALID_ARG;
    return SQ25_OK;
}

int sq25_ensemble_options_set_keep_members(sq25_ensemble_options *opt, int keep)
{
    if (!opt) return SQ25_ERR_INVALID_ARG;
    opt->keep = keep != 0;
    return SQ25_OK;
}

/* ---- result ------------------------------------------------------------------------------- */

static sq25_field **field_array(sq25_ctx *ctx, const sq25_field *latest, size_t count, int *rc)
{
    if (*rc || count == 0) return NULL;
    sq25_field **a = sq25__calloc(ctx, count, sizeof *a);
    if (!a) {
        *rc = SQ25_ERR_NOMEM;
        return NULL;
    }
    for (size_t i = 0; i < count && *rc == SQ25_OK; i++) {
        *rc = sq25__field_clone_shape(latest, &a[i]);
        if (*rc == SQ25_OK) {
            a[i]->accumulation_s = 0;
            for (int k = 0; k < SQ25_META_COUNT; k++) {
                sq25__free(ctx, a[i]->meta[k]);
                a[i]->meta[k] = NULL;
            }
        }
    }
    return a;
}

static void free_fields(sq25_ctx *ctx, sq25_field **a, size_t count)
{
    for (size_t i = 0; a && i < count; i++) sq25_field_destroy(a[i]);
    sq25__free(ctx, a);
}

int sq25__ensemble_alloc(sq25_ctx *ctx, const sq25_ensemble_options *opt,
                         const sq25_field *latest, int n_leads, int step_s, sq25_ensemble **out)
{
    sq25_ensemble *e = sq25__calloc(ctx, 1, sizeof *e);
    if (!e) return SQ25_ERR_NOMEM;
    e->ctx = ctx;
    e->opt = *opt;
    e->n_leads = n_leads;
    e->step_s = step_s;
    e->levels = opt->levels;
    e->issue_time = latest->valid_time;
    const size_t leads = (size_t)n_leads, windows = (size_t)opt->n_accum;
    int rc = SQ25_OK;
    e->probability = field_array(ctx, latest, leads * opt->n_thresholds, &rc);
    e->mean = field_array(ctx, latest, leads, &rc);
    e->quantile = field_array(ctx, latest, leads * opt->n_quantiles, &rc);
    e->acc_probability = field_array(ctx, latest, windows * opt->n_accum_thresholds, &rc);
    e->acc_mean = field_array(ctx, latest, windows, &rc);
    e->acc_quantile = field_array(ctx, latest, windows * opt->n_quantiles, &rc);
    if (opt->keep) {
        e->member = field_array(ctx, latest, (size_t)opt->members * leads, &rc);
        e->acc_member = field_array(ctx, latest, (size_t)opt->members * windows, &rc);
    }
    if (rc) {
        sq25_ensemble_destroy(e);
        return rc;
    }
    /* valid times and accumulation lengths */
    for (int k = 0; k < n_leads; k++) {
        const int64_t t = e->issue_time + (int64_t)(k + 1) * step_s;
        for (int j = 0; j < opt->n_thresholds; j++) e->probability[k * opt->n_thresholds + j]->valid_time = t;
        e->mean[k]->valid_time = t;
        for (int j = 0; j < opt->n_quantiles; j++) e->quantile[k * opt->n_quantiles + j]->valid_time = t;
        for (int m = 0; e->member && m < opt->members; m++) e->member[(size_t)m * leads + k]->valid_time = t;
    }
    for (int w = 0; w < opt->n_accum; w++) {
        const int s = opt->accum_minutes[w] * 60;
        const int64_t t = e->issue_time + s;
        sq25_field *set[SQ25_ENSEMBLE_MAX_THRESHOLDS + 1 + SQ25_ENSEMBLE_MAX_QUANTILES];
        int count = 0;
        for (int j = 0; j < opt->n_accum_thresholds; j++)
            set[count++] = e->acc_probability[w * opt->n_accum_thresholds + j];
        set[count++] = e->acc_mean[w];
        for (int j = 0; j < opt->n_quantiles; j++) set[count++] = e->acc_quantile[w * opt->n_quantiles + j];
        for (int i = 0; i < count; i++) {
            set[i]->valid_time = t;
            set[i]->accumulation_s = s;
        }
        for (int m = 0; e->acc_member && m < opt->members; m++) {
            e->acc_member[(size_t)m * windows + w]->valid_time = t;
            e->acc_member[(size_t)m * windows + w]->accumulation_s = s;
        }
    }
    *out = e;
    return SQ25_OK;
}

int sq25__ensemble_alloc_control(sq25_ensemble *e)
{
    int rc = SQ25_OK;
    e->control = field_array(e->ctx, e->mean[0], (size_t)e->n_leads, &rc);
    for (int k = 0; rc == SQ25_OK && k < e->n_leads; k++) e->control[k]->valid_time = e->mean[k]->valid_time;
    if (rc) {
        free_fields(e->ctx, e->control, (size_t)e->n_leads);
        e->control = NULL;
    }
    return rc;
}

void sq25_ensemble_destroy(sq25_ensemble *e)
{
    if (!e) return;
    sq25_ctx *ctx = e->ctx;
    const size_t leads = (size_t)e->n_leads, windows = (size_t)e->opt.n_accum;
    free_fields(ctx, e->probability, leads * e->opt.n_thresholds);
    free_fields(ctx, e->mean, leads);
    free_fields(ctx, e->quantile, leads * e->opt.n_quantiles);
    free_fields(ctx, e->acc_probability, windows * e->opt.n_accum_thresholds);
    free_fields(ctx, e->acc_mean, windows);
    free_fields(ctx, e->acc_quantile, windows * e->opt.n_quantiles);
    free_fields(ctx, e->member, (size_t)e->opt.members * leads);
    free_fields(ctx, e->acc_member, (size_t)e->opt.members * windows);
    free_fields(ctx, e->control, leads);
    sq25__free(ctx, e);
}

int sq25_ensemble_member_count(const sq25_ensemble *e) { return e ? e->opt.members : 0; }
int sq25_ensemble_lead_count(const sq25_ensemble *e) { return e ? e->n_leads : 0; }
int sq25_ensemble_step_s(const sq25_ensemble *e) { return e ? e->step_s : 0; }
int64_t sq25_ensemble_issue_time(const sq25_ensemble *e) { return e ? e->issue_time : 0; }
int sq25_ensemble_threshold_count(const sq25_ensemble *e) { return e ? e->opt.n_thresholds : 0; }
int sq25_ensemble_quantile_count(const sq25_ensemble *e) { return e ? e->opt.n_quantiles : 0; }
int sq25_ensemble_accumulation_count(const sq25_ensemble *e) { return e ? e->opt.n_accum : 0; }
int sq25_ensemble_has_members(const sq25_ensemble *e) { return e ? e->opt.keep : 0; }
int sq25_ensemble_cascade_levels(const sq25_ensemble *e) { return e ? e->levels : 0; }

int sq25_ensemble_accumulation_threshold_count(const sq25_ensemble *e)
{
    return e ? e->opt.n_accum_thresholds : 0;
}

double sq25_ensemble_threshold(const sq25_ensemble *e, int i)
{
    return e && i >= 0 && i < e->opt.n_thresholds ? e->opt.thresholds[i] : NAN;
}

double sq25_ensemble_quantile(const sq25_ensemble *e, int i)
{
    return e && i >= 0 && i < e->opt.n_quantiles ? e->opt.quantiles[i] : NAN;
}

int sq25_ensemble_accumulation_minutes(const sq25_ensemble *e, int i)
{
    return e && i >= 0 && i < e->opt.n_accum ? e->opt.accum_minutes[i] : 0;
}

double sq25_ensemble_accumulation_threshold(const sq25_ensemble *e, int i)
{
    return e && i >= 0 && i < e->opt.n_accum_thresholds ? e->opt.accum_thresholds[i] : NAN;
}

static inline bool in(int i, int n) { return i >= 0 && i < n; }

const sq25_field *sq25_ensemble_probability(const sq25_ensemble *e, int lead, int threshold)
{
    if (!e || !in(lead, e->n_leads) || !in(threshold, e->opt.n_thresholds)) return NULL;
    return e->probability[lead * e->opt.n_thresholds + threshold];
}

const sq25_field *sq25_ensemble_mean(const sq25_ensemble *e, int lead)
{
    return e && in(lead, e->n_leads) ? e->mean[lead] : NULL;
}

const sq25_field *sq25_ensemble_quantile_field(const sq25_ensemble *e, int lead, int quantile)
{
    if (!e || !in(lead, e->n_leads) || !in(quantile, e->opt.n_quantiles)) return NULL;
    return e->quantile[lead * e->opt.n_quantiles + quantile];
}

const sq25_field *sq25_ensemble_member(const sq25_ensemble *e, int member, int lead)
{
    if (!e || !e->member || !in(member, e->opt.members) || !in(lead, e->n_leads)) return NULL;
    return e->member[(size_t)member * e->n_leads + lead];
}

const sq25_field *sq25_ensemble_control_member(const sq25_ensemble *e, int lead)
{
    return e && e->control && in(lead, e->n_leads) ? e->control[lead] : NULL;
}

double sq25_ensemble_neighbourhood(const sq25_ensemble *e)
{
    return e ? e->opt.neighbourhood_cells_per_step : NAN;
}

double sq25_ensemble_control_weight(const sq25_ensemble *e) { return e ? e->opt.control_weight : NAN; }

double sq25_ensemble_probability_shrink_rate(const sq25_ensemble *e)
{
    return e ? e->opt.shrink_rate_per_hour : NAN;
}

const sq25_field *sq25_ensemble_accumulation_probability(const sq25_ensemble *e, int window,
                                                         int threshold)
{
    if (!e || !in(window, e->opt.n_accum) || !in(threshold, e->opt.n_accum_thresholds))
        return NULL;
    return e->acc_probability[window * e->opt.n_accum_thresholds + threshold];
}

const sq25_field *sq25_ensemble_accumulation_mean(const sq25_ensemble *e, int window)
{
    return e && in(window, e->opt.n_accum) ? e->acc_mean[window] : NULL;
}

const sq25_field *sq25_ensemble_accumulation_quantile(const sq25_ensemble *e, int window,
                                                      int quantile)
{
    if (!e || !in(window, e->opt.n_accum) || !in(quantile, e->opt.n_quantiles)) return NULL;
    return e->acc_quantile[window * e->opt.n_quantiles + quantile];
}

const sq25_field *sq25_ensemble_accumulation_member(const sq25_ensemble *e, int member,
                                                    int window)
{
    if (!e || !e->acc_member || !in(member, e->opt.members) || !in(window, e->opt.n_accum))
        return NULL;
    return e->acc_member[(size_t)member * e->opt.n_accum + window];
}

int sq25_ensemble_level_parameters(const sq25_ensemble *e, int level, double *wavenumber,
                                   double *gamma1, double *gamma2, double *phi1, double *phi2)
{
    if (!e || !in(level, e->levels)) return e ? SQ25_ERR_RANGE : SQ25_ERR_INVALID_ARG;
    const sq25__ens_level *l = &e->level[level];
    if (wavenumber) *wavenumber = l->wavenumber;
    if (gamma1) *gamma1 = l->gamma1;
    if (gamma2) *gamma2 = l->gamma2;
    if (phi1) *phi1 = l->phi1;
    if (phi2) *phi2 = l->phi2;
    return SQ25_OK;
}
