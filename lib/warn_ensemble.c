/* warn_ensemble.c -- warnings from an ensemble: the probability of a level is the fraction of
 * members whose amount over the horizon reaches the level's threshold (optionally averaged
 * over a small square neighbourhood), instead of a neighbourhood fraction around one
 * deterministic forecast; amounts, peak rate and onset come from the ensemble mean. The
 * calibration map and the issuing of levels are the deterministic path's. */
#include "ensemble_internal.h"
#include "warn_internal.h"

#include <math.h>
#include <string.h>

int sq25__warn_compute_with_probabilities(sq25_ctx *ctx, const sq25_warn_options *opt,
                                          const sq25_field *const *frames, int frame_count,
                                          int lead_step_s, int64_t issue_time,
                                          const float *const *level_probability,
                                          sq25_warning **out)
{
    sq25_warning *w = NULL;
    int rc = sq25_warn_compute(ctx, opt, frames, frame_count, lead_step_s, issue_time, &w);
    if (rc) return rc;
    const size_t n = (size_t)w->width * (size_t)w->height;
    for (int k = 0; k < w->opt.level_count; k++) {
        float *prob = w->probability + (size_t)k * n;
        for (size_t c = 0; c < n; c++) prob[c] = sq25__warn_calibrate(&w->opt, level_probability[k][c]);
    }
    for (size_t c = 0; c < n; c++) {
        float level = isnan(w->peak_mmh[c]) ? NAN : 0;
        for (int k = 0; k < w->opt.level_count; k++)
            if (w->probability[(size_t)k * n + c] >= w->opt.probability_threshold)
                level = (float)(k + 1);
        w->level[c] = level;
    }
    *out = w;
    return sq25__ok(ctx);
}

int sq25_ensemble_options_use_warning_levels(sq25_ensemble_options *eo,
                                             const sq25_warn_options *wo)
{
    if (!eo || !wo) return eo ? sq25__fail(eo->ctx, SQ25_ERR_INVALID_ARG, "NULL warn options")
                              : SQ25_ERR_INVALID_ARG;
    if (wo->horizon_s % 60 != 0)
        return sq25__fail(eo->ctx, SQ25_ERR_RANGE, "warning horizon %d s is not whole minutes",
                          wo->horizon_s);
    const int minutes = wo->horizon_s / 60;
    int rc = sq25_ensemble_options_set_accumulations(eo, 1, &minutes);
    if (!rc) rc = sq25_ensemble_options_set_accumulation_thresholds(eo, wo->level_count, wo->threshold_mm);
    return rc;
}

/* Window of e over the warning horizon and the accumulation threshold of each level. */
static int match_levels(sq25_ctx *ctx, const sq25_warn_options *o, const sq25_ensemble *e,
                        int *window, int *thr)
{
    *window = -1;
    for (int a = 0; a < e->opt.n_accum; a++)
        if (e->opt.accum_minutes[a] * 60 == o->horizon_s) *window = a;
    if (*window < 0)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "the ensemble has no accumulation over the "
                          "warning horizon (%d s): see sq25_ensemble_options_use_warning_levels",
                          o->horizon_s);
    for (int k = 0; k < o->level_count; k++) {
        thr[k] = -1;
        for (int j = 0; j < e->opt.n_accum_thresholds; j++)
            if (fabs(e->opt.accum_thresholds[j] - o->threshold_mm[k]) < 1e-9) thr[k] = j;
        if (thr[k] < 0)
            return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "the ensemble has no accumulation "
                              "threshold of %g mm (level %d)", o->threshold_mm[k], k + 1);
    }
    return SQ25_OK;
}

int sq25__warn_ensemble_probabilities(sq25_ctx *ctx, const sq25_warn_options *o,
                                      const sq25_ensemble *e, int neighbourhood_cells,
                                      float **prob)
{
    int window, thr[SQ25__WARN_MAX_LEVELS];
    int rc = match_levels(ctx, o, e, &window, thr);
    for (int k = 0; !rc && k < o->level_count; k++) {
        const sq25_field *p = e->acc_probability[window * e->opt.n_accum_thresholds + thr[k]];
        if (neighbourhood_cells > 0)
            rc = sq25__ens_window_mean(ctx, p->data, p->width, p->height, neighbourhood_cells, prob[k]);
        else memcpy(prob[k], p->data, (size_t)p->width * p->height * sizeof(float));
    }
    return rc;
}

int sq25_warn_compute_ensemble(sq25_ctx *ctx, const sq25_warn_options *opt,
                               const sq25_ensemble *e, int neighbourhood_cells,
                               sq25_warning **out)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!e || !out || neighbourhood_cells < 0 || neighbourhood_cells > 1000)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_warn_compute_ensemble: bad argument");
    *out = NULL;
    sq25_warn_options *defaults = NULL;
    if (!opt) {
        int rc = sq25_warn_options_create(ctx, &defaults);
        if (rc) return rc;
        opt = defaults;
    }
    const sq25_field *like = e->mean[0];
    const size_t n = (size_t)like->width * (size_t)like->height;
    float *prob[SQ25__WARN_MAX_LEVELS] = {NULL};
    int rc = SQ25_OK;
    for (int k = 0; k < opt->level_count && !rc; k++)
        if (!(prob[k] = sq25__malloc(ctx, n * sizeof(float)))) rc = SQ25_ERR_NOMEM;
    if (!rc) rc = sq25__warn_ensemble_probabilities(ctx, opt, e, neighbourhood_cells, prob);
    if (!rc && opt->horizon_s % e->step_s != 0)
        rc = sq25__fail(ctx, SQ25_ERR_TIME_MISMATCH, "horizon %d s is not a multiple of the %d s step",
                        opt->horizon_s, e->step_s);
    if (!rc)
        rc = sq25__warn_compute_with_probabilities(ctx, opt, (const sq25_field *const *)e->mean,
                                                   opt->horizon_s / e->step_s, e->step_s,
                                                   e->issue_time, (const float *const *)prob, out);
    for (int k = 0; k < opt->level_count; k++) sq25__free(ctx, prob[k]);
    sq25_warn_options_destroy(defaults);
    return rc;
}
