/* ensemble_prob.c -- probability post-processing of the ensemble: the blend.
 *
 * A member places a cell's rain a few pixels off as easily as on it, and 20 members sample
 * that displacement poorly; the fraction of the members exceeding a threshold within a
 * square neighbourhood of the cell (equivalently, the mean of the members' per-cell fraction
 * over the window) spends the members on the intensity and growth uncertainty and lets the
 * window carry the position uncertainty that grows with lead (the neighbourhood method of
 * Theis et al. 2005; applied to an ensemble it is the "neighborhood ensemble probability" of
 * Schwartz et al. 2010, reviewed by Schwartz and Sobash 2017).
 *
 * The window's half side at lead k steps is ceil(c k) cells (c = cells per lead step, the
 * option sq25_ensemble_options_set_neighbourhood); an accumulation window from the issue time
 * over L steps uses the half side of its last lead, ceil(c L), because the amount's position
 * is as uncertain as the rain at its end. Cells without data are left out of the window's
 * mean and stay NaN. */
#include "ensemble_prob.h"

#include <math.h>
#include <string.h>

int sq25__ens_blend_half_side(double cells_per_step, int lead_steps)
{
    if (!(cells_per_step > 0) || lead_steps < 1) return 0;
    /* a small tolerance so that 0.5 x 2 steps is 1 cell, not 2, after rounding */
    return (int)ceil(cells_per_step * lead_steps - 1e-9);
}

/* The blended grid of one threshold: the members' fraction p (in place) averaged over the
 * window, mixed with the control's fraction of cells whose value passes thr in the same
 * window (control NULL: none). ind and tmp: n floats scratch. */
static int blend_grid(sq25_ctx *ctx, sq25_field *p, int half, const float *control, double thr,
                      int inclusive, double weight, float *ind, float *tmp)
{
    const size_t n = (size_t)p->width * (size_t)p->height;
    if (half > 0) {
        int rc = sq25__ens_window_mean(ctx, p->data, p->width, p->height, half, tmp);
        if (rc) return rc;
        memcpy(p->data, tmp, n * sizeof(float));
    }
    if (!control) return SQ25_OK;
    for (size_t i = 0; i < n; i++) {
        const float x = control[i];
        ind[i] = isnan(x) ? NAN : (inclusive ? x >= thr : x > thr) ? 1.0f : 0.0f;
    }
    const float *det = ind;
    if (half > 0) {
        int rc = sq25__ens_window_mean(ctx, ind, p->width, p->height, half, tmp);
        if (rc) return rc;
        det = tmp;
    }
    /* where the control has no data the members' fraction stands alone */
    for (size_t i = 0; i < n; i++)
        if (!isnan(p->data[i]) && !isnan(det[i]))
            p->data[i] = (float)((1 - weight) * p->data[i] + weight * det[i]);
    return SQ25_OK;
}

/* The control member's amount over each accumulation window (mm, the ensemble's sub-steps):
 * amount[w], n floats each (NULL entries when there is no control). */
static int control_amounts(sq25_ctx *ctx, const sq25_ensemble *e, const sq25__ens_control *in,
                           float **amount)
{
    const sq25_ensemble_options *o = &e->opt;
    const size_t n = (size_t)in->latest->width * (size_t)in->latest->height;
    for (int w = 0; w < o->n_accum; w++) {
        if (!(amount[w] = sq25__malloc(ctx, n * sizeof(float)))) return SQ25_ERR_NOMEM;
        int rc = sq25_extrapolate_accumulation(ctx, in->latest, in->u, in->v, e->step_s,
                                               o->accum_minutes[w] * 60 / e->step_s,
                                               in->substeps, amount[w]);
        if (rc) return rc;
    }
    return SQ25_OK;
}

int sq25__ens_blend_probabilities(sq25_ctx *ctx, sq25_ensemble *e, const sq25__ens_control *in)
{
    const sq25_ensemble_options *o = &e->opt;
    const double c = o->neighbourhood_cells_per_step, weight = in ? o->control_weight : 0;
    if (!(c > 0) && !(weight > 0)) return SQ25_OK;
    const sq25_field *like = e->mean[0];
    const size_t n = (size_t)like->width * (size_t)like->height;
    /* the control's rates come one lead at a time from a streamed extrapolation (the same
     * values as sq25_extrapolate), so only one grid of it is held */
    sq25_extrapolator *ex = NULL;
    float *amount[SQ25_ENSEMBLE_MAX_ACCUMULATIONS] = {NULL};
    float *tmp = sq25__malloc(ctx, n * sizeof(float)), *ind = sq25__malloc(ctx, n * sizeof(float));
    float *rate = weight > 0 ? sq25__malloc(ctx, n * sizeof(float)) : NULL;
    int rc = tmp && ind && (rate || !(weight > 0)) ? SQ25_OK : SQ25_ERR_NOMEM;
    if (rc == SQ25_OK && weight > 0) rc = sq25_extrapolator_create(ctx, in->latest, in->u, in->v, 2, &ex);
    for (int k = 1; rc == SQ25_OK && k <= e->n_leads; k++) {
        if (ex) rc = sq25_extrapolator_next(ex, rate);
        for (int t = 0; rc == SQ25_OK && t < o->n_thresholds; t++)
            rc = blend_grid(ctx, e->probability[(size_t)(k - 1) * o->n_thresholds + t],
                            sq25__ens_blend_half_side(c, k), ex ? rate : NULL, o->thresholds[t], 0,
                            weight, ind, tmp);
    }
    if (rc == SQ25_OK && weight > 0) rc = control_amounts(ctx, e, in, amount);
    for (int w = 0; rc == SQ25_OK && w < o->n_accum; w++) {
        const int steps = o->accum_minutes[w] * 60 / e->step_s;
        for (int t = 0; rc == SQ25_OK && t < o->n_accum_thresholds; t++)
            rc = blend_grid(ctx, e->acc_probability[(size_t)w * o->n_accum_thresholds + t],
                            sq25__ens_blend_half_side(c, steps), amount[w], o->accum_thresholds[t],
                            1, weight, ind, tmp);
    }
    sq25_extrapolator_destroy(ex);
    for (int w = 0; w < SQ25_ENSEMBLE_MAX_ACCUMULATIONS; w++) sq25__free(ctx, amount[w]);
    sq25__free(ctx, rate);
    sq25__free(ctx, tmp);
    sq25__free(ctx, ind);
    return rc;
}

int sq25__ens_blend_describe(const sq25_ensemble_options *o, const char *what, char *out,
                             size_t cap)
{
    const double c = o->neighbourhood_cells_per_step, w = o->control_weight;
    char window[200], control[200];
    if (c > 0)
        snprintf(window, sizeof window, "averaged over the valid cells of a square window of "
                 "half side ceil(%g k) cells at lead k steps (for an accumulation, k = the steps "
                 "of its window)", c);
    else snprintf(window, sizeof window, "at the cell alone");
    if (w > 0)
        snprintf(control, sizeof control, "; mixed as %g x that + %g x the same fraction for the "
                 "control member (the latest frame extrapolated along the unperturbed motion)",
                 1 - w, w);
    else control[0] = 0;
    const int n = snprintf(out, cap, "fraction of the members whose %s, %s%s (lib/ensemble_prob.c)",
                           what, window, control);
    return n < 0 || (size_t)n >= cap ? SQ25_ERR_RANGE : SQ25_OK;
}
