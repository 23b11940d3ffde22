/* ensemble_prob.c -- probability post-processing of the ensemble: the blend and the control
 * member.
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
 * mean and stay NaN.
 *
 * The control member (sq25_ensemble_options_set_control_weight): the latest frame moved
 * along the unperturbed motion, i.e. the deterministic nowcast, joins the members with
 * weight W; its fraction in the same window is mixed in as (1 - W) blend + W control. On
 * the benchmark storms the members alone rank the cells worse at 1 mm/h (ROC area) than the
 * neighbourhood fraction of the deterministic nowcast, and the control recovers much of it
 * (docs/ensemble.md has the figures and how W was chosen). */
#include "ensemble_prob.h"

#include <math.h>
#include <string.h>

int sq25__ens_blend_half_side(double cells_per_step, int lead_steps)
{
    if (!(cells_per_step > 0) || lead_steps < 1) return 0;
    /* a small tolerance so that 0.5 x 2 steps is 1 cell, not 2, after rounding */
    return (int)ceil(cells_per_step * lead_steps - 1e-9);
}

/* Scratch of the window sums: one grid of row sums and one row of column sums (double, so
 * that the running sums add and subtract without drift). */
typedef struct {
    int width, height;
    double *row_sum, *col_sum;
    float *valid_count, *control_count, *ind; /* cells with data in each window; indicator */
    float *sum;                               /* window sums of the grid being averaged */
} box;

/* Sum of in over the (2 half + 1)^2 window of every cell, clipped at the edges, NaN counted
 * as 0 (or, with as_valid, the number of cells that are not NaN), by running sums along the
 * rows and then down the columns: O(cells) whatever the window. */
static void box_sum(box *b, const float *in, int half, int as_valid, float *out)
{
    const int w = b->width, h = b->height;
#define BOX_VALUE(x) (as_valid ? (isnan(x) ? 0.0 : 1.0) : (isnan(x) ? 0.0 : (double)(x)))
    for (int y = 0; y < h; y++) {
        const float *row = in + (size_t)y * w;
        double *rs = b->row_sum + (size_t)y * w, acc = 0;
        for (int x = 0; x <= half && x < w; x++) acc += BOX_VALUE(row[x]);
        for (int x = 0; x < w; x++) {
            rs[x] = acc;
            if (x + half + 1 < w) acc += BOX_VALUE(row[x + half + 1]);
            if (x - half >= 0) acc -= BOX_VALUE(row[x - half]);
        }
    }
#undef BOX_VALUE
    double *cs = b->col_sum;
    for (int x = 0; x < w; x++) cs[x] = 0;
    for (int y = 0; y <= half && y < h; y++)
        for (int x = 0; x < w; x++) cs[x] += b->row_sum[(size_t)y * w + x];
    for (int y = 0; y < h; y++) {
        float *o = out + (size_t)y * w;
        for (int x = 0; x < w; x++) o[x] = (float)cs[x];
        const double *add = y + half + 1 < h ? b->row_sum + (size_t)(y + half + 1) * w : NULL;
        const double *sub = y - half >= 0 ? b->row_sum + (size_t)(y - half) * w : NULL;
        for (int x = 0; add && x < w; x++) cs[x] += add[x];
        for (int x = 0; sub && x < w; x++) cs[x] -= sub[x];
    }
}

/* The mean of in over the valid cells of every window (count from box_sum(as_valid) of a
 * grid with the same NaN cells), NaN where the cell itself is NaN, into out (may be in). */
static void box_mean(box *b, const float *in, int half, const float *count, float *out)
{
    box_sum(b, in, half, 0, b->sum);
    const size_t n = (size_t)b->width * (size_t)b->height;
    for (size_t i = 0; i < n; i++)
        out[i] = isnan(in[i]) || !(count[i] > 0) ? NAN : (float)((double)b->sum[i] / count[i]);
}

/* The blended grids of one lead or window (the count probability grids of its thresholds,
 * which share their NaN cells): the members' fraction averaged over the window, then mixed
 * with the control's fraction of cells whose value passes each threshold in the same window
 * (control NULL: none). */
static void blend_grids(box *b, sq25_field **prob, int count, const double *thr, int half,
                        const float *control, int inclusive, double weight)
{
    const size_t n = (size_t)b->width * (size_t)b->height;
    if (half > 0) box_sum(b, prob[0]->data, half, 1, b->valid_count);
    if (control && half > 0) box_sum(b, control, half, 1, b->control_count);
    for (int j = 0; j < count; j++) {
        float *p = prob[j]->data;
        if (half > 0) box_mean(b, p, half, b->valid_count, p);
        if (!control) continue;
        const float *det = b->ind;
        for (size_t i = 0; i < n; i++) {
            const float x = control[i];
            b->ind[i] = isnan(x) ? NAN : (inclusive ? x >= thr[j] : x > thr[j]) ? 1.0f : 0.0f;
        }
        if (half > 0) box_mean(b, b->ind, half, b->control_count, b->ind);
        /* where the control has no data the members' fraction stands alone */
        for (size_t i = 0; i < n; i++)
            if (!isnan(p[i]) && !isnan(det[i]))
                p[i] = (float)((1 - weight) * p[i] + weight * det[i]);
    }
}

/* Session 5 (ensskill): the shrink of the high probabilities of one lead or window
 * (sq25_ensemble_options_set_probability_shrink), after the blend and the control. On the
 * Belgian storm the blended probabilities above about 0.2 are over-confident by more the
 * longer the lead (the rain decays while the members keep the issue time's distribution), so
 * the part above the knee is scaled by max(0, 1 - rate x minutes / 60); below the knee, where
 * the lowest ROC thresholds lie, nothing changes. Monotone in p, so the probabilities still
 * decrease with the threshold and rank the cells as before; NaN stays NaN. */
static void shrink_high_probabilities(sq25_field **prob, int count, double knee,
                                      double rate_per_hour, double minutes)
{
    const double slope = 1 - rate_per_hour * minutes / 60;
    const float k = (float)knee, s = (float)(slope > 0 ? slope : 0);
    if (!(rate_per_hour > 0) || !(minutes > 0)) return;
    for (int j = 0; j < count; j++) {
        float *p = prob[j]->data;
        const size_t n = (size_t)prob[j]->width * (size_t)prob[j]->height;
        for (size_t i = 0; i < n; i++)
            if (p[i] > k) p[i] = k + (p[i] - k) * s;
    }
}

/* The control member's amount over each accumulation window (mm, the ensemble's sub-steps):
 * amount[w], n floats each. */
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

/* The blend's items (every lead, then every accumulation window) in lanes on the context's
 * threads: lane l takes items l, l + lanes, ... with scratch of its own, so the memory is
 * that of the lanes whatever the thread count; each item's grids are its own and the
 * arithmetic is that of the serial loop, so the result does not depend on the threads
 * (ensfast: the blend was serial). */
#define BLEND_MAX_LANES 8
typedef struct {
    sq25_ensemble *e;
    int lanes;
    box *boxes;      /* per lane */
    float **control; /* per item: the control's rate or amount; NULL entries without it */
    double c, weight;
} blend_job;

static void blend_item(const blend_job *j, box *b, int item, const float *control)
{
    const sq25_ensemble *e = j->e;
    const sq25_ensemble_options *o = &e->opt;
    if (item < e->n_leads) {
        sq25_field **prob = e->probability + (size_t)item * o->n_thresholds;
        blend_grids(b, prob, o->n_thresholds, o->thresholds,
                    sq25__ens_blend_half_side(j->c, item + 1), control, 0, j->weight);
        shrink_high_probabilities(prob, o->n_thresholds, o->shrink_knee, o->shrink_rate_per_hour,
                                  (item + 1) * e->step_s / 60.0);
        return;
    }
    const int w = item - e->n_leads;
    sq25_field **prob = e->acc_probability + (size_t)w * o->n_accum_thresholds;
    blend_grids(b, prob, o->n_accum_thresholds, o->accum_thresholds,
                sq25__ens_blend_half_side(j->c, o->accum_minutes[w] * 60 / e->step_s), control, 1,
                j->weight);
    shrink_high_probabilities(prob, o->n_accum_thresholds, o->shrink_knee,
                              o->shrink_rate_per_hour, o->accum_minutes[w]);
}

static void blend_lanes(void *arg, int begin, int end, int worker)
{
    (void)worker;
    const blend_job *j = arg;
    const int items = j->e->n_leads + j->e->opt.n_accum;
    for (int lane = begin; lane < end; lane++)
        for (int item = lane; item < items; item += j->lanes)
            blend_item(j, &j->boxes[lane], item, j->control[item]);
}

static void box_free(sq25_ctx *ctx, box *b)
{
    sq25__free(ctx, b->row_sum);
    sq25__free(ctx, b->col_sum);
    sq25__free(ctx, b->valid_count);
    sq25__free(ctx, b->control_count);
    sq25__free(ctx, b->ind);
    sq25__free(ctx, b->sum);
}

static int box_alloc(sq25_ctx *ctx, int width, int height, box *b)
{
    const size_t n = (size_t)width * (size_t)height;
    *b = (box){width, height, sq25__malloc(ctx, n * sizeof(double)),
               sq25__malloc(ctx, (size_t)width * sizeof(double)), sq25__malloc(ctx, n * sizeof(float)),
               sq25__malloc(ctx, n * sizeof(float)), sq25__malloc(ctx, n * sizeof(float)),
               sq25__malloc(ctx, n * sizeof(float))};
    return b->row_sum && b->col_sum && b->valid_count && b->control_count && b->ind && b->sum
               ? SQ25_OK
               : SQ25_ERR_NOMEM;
}

/* The control's rate at every lead (one streamed extrapolation: the same values as
 * sq25_extrapolate) into control[0 .. n_leads - 1]. */
static int control_rates(sq25_ctx *ctx, const sq25_ensemble *e, const sq25__ens_control *in,
                         float **control)
{
    const size_t n = (size_t)in->latest->width * (size_t)in->latest->height;
    sq25_extrapolator *ex = NULL;
    int rc = sq25_extrapolator_create(ctx, in->latest, in->u, in->v, 2, &ex);
    for (int k = 0; rc == SQ25_OK && k < e->n_leads; k++) {
        if (!(control[k] = sq25__malloc(ctx, n * sizeof(float)))) rc = SQ25_ERR_NOMEM;
        else rc = sq25_extrapolator_next(ex, control[k]);
    }
    sq25_extrapolator_destroy(ex);
    return rc;
}

/* With the members kept, the control member's rates are kept too (e->control), so that a
 * file holds everything the probabilities were made from (sq25 verify --ensemble scores the
 * distribution they describe). */
static int keep_control(sq25_ensemble *e, float *const *rates)
{
    if (!e->opt.keep) return SQ25_OK;
    int rc = e->control ? SQ25_OK : sq25__ensemble_alloc_control(e);
    const size_t n = (size_t)e->mean[0]->width * (size_t)e->mean[0]->height;
    for (int k = 0; rc == SQ25_OK && k < e->n_leads; k++)
        memcpy(e->control[k]->data, rates[k], n * sizeof(float));
    return rc;
}

int sq25__ens_blend_probabilities(sq25_ctx *ctx, sq25_ensemble *e, const sq25__ens_control *in)
{
    const sq25_ensemble_options *o = &e->opt;
    const double c = o->neighbourhood_cells_per_step, weight = in ? o->control_weight : 0;
    if (!(c > 0) && !(weight > 0) && !(o->shrink_rate_per_hour > 0)) return SQ25_OK;
    const sq25_field *like = e->mean[0];
    const int items = e->n_leads + o->n_accum, threads = sq25__threads(ctx);
    int lanes = threads < items ? threads : items;
    lanes = lanes < BLEND_MAX_LANES ? lanes : BLEND_MAX_LANES;
    blend_job job = {e, lanes, sq25__calloc(ctx, (size_t)lanes, sizeof(box)),
                     sq25__calloc(ctx, (size_t)items, sizeof(float *)), c, weight};
    int rc = job.boxes && job.control ? SQ25_OK : SQ25_ERR_NOMEM;
    for (int l = 0; rc == SQ25_OK && l < lanes; l++)
        rc = box_alloc(ctx, like->width, like->height, &job.boxes[l]);
    if (rc == SQ25_OK && weight > 0) rc = control_rates(ctx, e, in, job.control);
    if (rc == SQ25_OK && weight > 0) rc = keep_control(e, job.control);
    if (rc == SQ25_OK && weight > 0) rc = control_amounts(ctx, e, in, job.control + e->n_leads);
    if (rc == SQ25_OK) sq25__parallel_for(ctx, lanes, 1, blend_lanes, &job);
    for (int k = 0; job.control && k < items; k++) sq25__free(ctx, job.control[k]);
    for (int l = 0; job.boxes && l < lanes; l++) box_free(ctx, &job.boxes[l]);
    sq25__free(ctx, job.control);
    sq25__free(ctx, job.boxes);
    return rc;
}

/* ---- one item at a time (ensfast: the streamed writer blends each lead as it ends) -------- */

bool sq25__ens_blend_active(const sq25_ensemble_options *o)
{
    return o->neighbourhood_cells_per_step > 0 || o->control_weight > 0 ||
           o->shrink_rate_per_hour > 0;
}

int sq25__ens_blend_scratch_make(sq25_ctx *ctx, const sq25_ensemble *e, void **out)
{
    const sq25_field *like = e->mean[0];
    box *b = sq25__calloc(ctx, 1, sizeof *b);
    *out = b;
    if (!b) return SQ25_ERR_NOMEM;
    return box_alloc(ctx, like->width, like->height, b);
}

void sq25__ens_blend_scratch_free(sq25_ctx *ctx, void *scratch)
{
    if (!scratch) return;
    box_free(ctx, scratch);
    sq25__free(ctx, scratch);
}

void sq25__ens_blend_one(sq25_ensemble *e, void *scratch, int item, const float *control)
{
    const sq25_ensemble_options *o = &e->opt;
    const double weight = control ? o->control_weight : 0;
    if (!(o->neighbourhood_cells_per_step > 0) && !(weight > 0) && !(o->shrink_rate_per_hour > 0))
        return;
    const blend_job job = {e, 1, scratch, NULL, o->neighbourhood_cells_per_step, weight};
    blend_item(&job, scratch, item, control);
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
    char shrink[200] = "";
    if (o->shrink_rate_per_hour > 0)
        snprintf(shrink, sizeof shrink, "; then p above %g scaled by max(0, 1 - %g t / 60), "
                 "t the lead or window in minutes", o->shrink_knee, o->shrink_rate_per_hour);
    const int n = snprintf(out, cap, "fraction of the members whose %s, %s%s%s (lib/ensemble_prob.c)",
                           what, window, control, shrink);
    return n < 0 || (size_t)n >= cap ? SQ25_ERR_RANGE : SQ25_OK;
}
