/* ensemble_prob.h -- probability post-processing of the ensemble (lib/ensemble_prob.c). Not
 * API. */
#ifndef SQ25_ENSEMBLE_PROB_H
#define SQ25_ENSEMBLE_PROB_H

#include "ensemble_internal.h"

/* Half side in cells of the blend's window at lead_steps (>= 1) steps: ceil(cells_per_step x
 * lead_steps), 0 when cells_per_step is 0 (no window). */
int sq25__ens_blend_half_side(double cells_per_step, int lead_steps);

/* What the control member is made from: the run's latest frame and motion (pixels per step),
 * borrowed, and the accumulation sub-steps per step. */
typedef struct {
    const sq25_field *latest;
    const float *u, *v;
    int substeps;
} sq25__ens_control;

/* The blend, in place on a finished run: every lead's exceedance probabilities and every
 * accumulation window's probabilities averaged over their square windows (the valid cells of
 * the window; NaN cells stay NaN), then, with a control weight W > 0 in e->opt and in given,
 * (1 - W) x that + W x the same window's fraction for the control member (the latest frame
 * extrapolated along the unperturbed motion; where it has no data the members' value stays).
 * Nothing is done when both are 0. SQ25_OK, SQ25_ERR_NOMEM or the errors of
 * sq25_extrapolate. */
int sq25__ens_blend_probabilities(sq25_ctx *ctx, sq25_ensemble *e, const sq25__ens_control *in);

/* The same blend one item at a time, for a caller that finishes the leads as they come
 * (lib/ensemble_write.c's streamed file): item < n_leads is that lead's probabilities, item
 * n_leads + w accumulation window w's; control is the control member's rate at that lead or
 * amount over that window (sq25_extrapolator_next / sq25_extrapolate_accumulation with the
 * ensemble's sub-steps, as sq25__ens_blend_probabilities makes them), NULL without a control
 * member. The arithmetic is sq25__ens_blend_probabilities', so the grids are bit-identical.
 * Scratch from sq25__ens_blend_scratch_make (SQ25_OK or SQ25_ERR_NOMEM; *out may be set
 * either way, release with sq25__ens_blend_scratch_free, which accepts NULL).
 * sq25__ens_blend_active: whether options o blend at all (a window or a control weight). */
bool sq25__ens_blend_active(const sq25_ensemble_options *o);
int sq25__ens_blend_scratch_make(sq25_ctx *ctx, const sq25_ensemble *e, void **out);
void sq25__ens_blend_scratch_free(sq25_ctx *ctx, void *scratch);
void sq25__ens_blend_one(sq25_ensemble *e, void *scratch, int item, const float *control);

/* One sentence saying what the probabilities of options o are ("fraction of the members
 * whose <what>, ..."), for the output files' attributes. SQ25_OK, or SQ25_ERR_RANGE when it
 * does not fit in cap bytes. */
int sq25__ens_blend_describe(const sq25_ensemble_options *o, const char *what, char *out,
                             size_t cap);

#endif
