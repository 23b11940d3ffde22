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
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

int sq25__ens_blend_half_side(double cells_per_step, int lead_steps)
{
    if (!(cells_per_step > 0) || lead_steps < 1) return 0;
    /* a small tolerance so that 0.5 x 2 steps is 1 cell, not 2, after rounding */
    return (int)ceil(cells_per_step * lead_steps - 1e-9);
}

/* Scratch of the window sums: one row of column sums of a fraction (double) and one of
 * counts (int32), and one grid of window sums or means. The sums run down the columns first
 * (vectorised across the row), then along the row of column sums, so no grid of partial
 * sums is needed. Every sum is exact: the counts are integers, and the fractions are k / v
 * with v <= members, all multiples of the ulp of 1 / members (2^-28 for 20 members), whose
 * window sums need far fewer than double's 53 bits, so the order of the additions does not
 * matter. A window's mean is its exact sum divided by its count, rounded once (session 4's
 * blend rounded the sum to float first: the means differ from its in the last bit at
 * most). */
typedef struct {
    int width, height;
    double *col_sum;
    double *col_window; /* width: one row's window sums (in col_sum's allocation) */
    int32_t *col_count;
    int32_t *col_prefix; /* width + 1: prefix sums of col_count (in col_count's allocation) */
    float *valid_count, *control_count; /* cells with data in each window */
    float *sum;                         /* window sums (counts) or means of one grid */
} box;

/* What a cell adds to a count: it has data, or its value passes a threshold (> or >=; NaN
 * never does). */
enum { COUNT_VALID, COUNT_ABOVE, COUNT_REACH };

/* The float bound with the same comparisons as the double thr, so that the row loops compare
 * floats (4 lanes): x > thr iff x > the largest float <= thr; x >= thr iff x >= the smallest
 * float >= thr. */
static float float_bound(double thr, bool inclusive)
{
    float t = (float)thr;
    if (!inclusive && (double)t > thr) t = nextafterf(t, -INFINITY);
    if (inclusive && (double)t < thr) t = nextafterf(t, INFINITY);
    return t;
}

static void add_count_row(int32_t *cc, const float *row, int w, int32_t sign, int what, float thr)
{
    switch (what) {
    case COUNT_VALID:
        for (int x = 0; x < w; x++) cc[x] += sign & -(int32_t)(row[x] == row[x]);
        break;
    case COUNT_ABOVE:
        for (int x = 0; x < w; x++) cc[x] += sign & -(int32_t)(row[x] > thr);
        break;
    default:
        for (int x = 0; x < w; x++) cc[x] += sign & -(int32_t)(row[x] >= thr);
        break;
    }
}

/* cs += row (NaN as 0), or cs -= row with subtract; with SSE2 four cells at a time (the
 * compiler does not vectorise the float-to-double widening of a selected value itself). */
static void add_value_row(double *cs, const float *row, int w, bool subtract)
{
    int x = 0;
#ifdef __SSE2__
    const __m128d sign = _mm_set1_pd(subtract ? -1.0 : 1.0);
    for (; x + 4 <= w; x += 4) {
        __m128 v = _mm_loadu_ps(row + x);
        v = _mm_and_ps(v, _mm_cmpeq_ps(v, v)); /* NaN -> +0 */
        const __m128d lo = _mm_cvtps_pd(v), hi = _mm_cvtps_pd(_mm_movehl_ps(v, v));
        /* times +-1 and the sums: exact */
        _mm_storeu_pd(cs + x, _mm_add_pd(_mm_loadu_pd(cs + x), _mm_mul_pd(sign, lo)));
        _mm_storeu_pd(cs + x + 2, _mm_add_pd(_mm_loadu_pd(cs + x + 2), _mm_mul_pd(sign, hi)));
    }
#endif
    for (; x < w; x++) {
        const double v = row[x] == row[x] ? (double)row[x] : 0.0;
        cs[x] += subtract ? -v : v;
    }
}

/* The window sums along one row of column sums, acc = the sum of col[x - half .. x + half]
 * within the row, handed to EMIT at every x: the loop is cut where the window's edges leave
 * the row's ends, so that its body has no test (col[x + half + 1] enters while x < w - half
 * - 1, col[x - half] leaves from x = half on; both, or neither when the row is narrower
 * than the window). Integer or exact double sums, so the order does not matter. */
#define ROW_WINDOW(col, w, half, acc, EMIT)                                                     \
    do {                                                                                        \
        const int add_end = (w) - (half) - 1, sub_begin = (half);                               \
        int lo = add_end < sub_begin ? add_end : sub_begin;                                     \
        int hi = add_end < sub_begin ? sub_begin : add_end;                                     \
        lo = lo < 0 ? 0 : lo > (w) ? (w) : lo;                                                  \
        hi = hi < lo ? lo : hi > (w) ? (w) : hi;                                                \
        for (int x = 0; x <= (half) && x < (w); x++) acc += col[x];                             \
        int x = 0;                                                                              \
        for (; x < lo; x++) { EMIT; acc += col[x + (half) + 1]; }                               \
        if (add_end >= sub_begin)                                                               \
            for (; x < hi; x++) { EMIT; acc += col[x + (half) + 1] - col[x - (half)]; }         \
        else                                                                                    \
            for (; x < hi; x++) { EMIT; }                                                       \
        for (; x < (w); x++) { EMIT; acc -= col[x - (half)]; }                                  \
    } while (0)

/* The sum of the window of x clipped at the row's ends, from the prefix sums pre. */
static inline int32_t clipped_window(const int32_t *pre, int w, int half, int x)
{
    const int lo = x - half > 0 ? x - half : 0, hi = x + half + 1 < w ? x + half + 1 : w;
    return pre[hi] - pre[lo];
}

/* The window counts along one row of column counts as differences of its prefix sums
 * (pre[x] = col[0] + ... + col[x - 1], w + 1 of them): the window of x, clipped at the row's
 * ends, sums col[lo .. hi - 1] = pre[hi] - pre[lo], lo = max(0, x - half), hi = min(w, x +
 * half + 1); integers, so the same counts as a sliding sum, and the cells whose window is
 * not clipped in a loop the vectoriser takes. */
static void row_window_counts(const int32_t *col, int w, int half, int32_t *restrict pre,
                              float *restrict out)
{
    int32_t acc = 0;
    pre[0] = 0;
    int x = 0;
    for (; x + 4 <= w; x += 4) { /* four cells per turn: a quarter of the loop's overhead */
        pre[x + 1] = acc += col[x];
        pre[x + 2] = acc += col[x + 1];
        pre[x + 3] = acc += col[x + 2];
        pre[x + 4] = acc += col[x + 3];
    }
    for (; x < w; x++) pre[x + 1] = acc += col[x];
    const int inner_begin = half < w ? half : w;
    const int inner_end = w - half > inner_begin ? w - half : inner_begin;
    for (x = inner_begin; x < inner_end; x++) out[x] = (float)(pre[x + half + 1] - pre[x - half]);
    for (x = 0; x < inner_begin; x++) out[x] = (float)clipped_window(pre, w, half, x);
    for (x = inner_end; x < w; x++) out[x] = (float)clipped_window(pre, w, half, x);
}

/* The window means along one row: the exact window sum over the valid cells of the window
 * (count), NaN where the cell itself (in) has no data; the division is the only rounding. */
/* out = the window sums win over count, rounded to float, NaN where in is NaN or count not
 * positive; with SSE2 four cells at a time (the same double division and rounding). */
static void divide_window_sums(const double *win, int w, const float *in, const float *count,
                               float *out)
{
    int x = 0;
#ifdef __SSE2__
    const __m128 nan = _mm_castsi128_ps(_mm_set1_epi32(0x7fc00000)); /* the bits of NAN */
    for (; x + 4 <= w; x += 4) {
        const __m128 v = _mm_loadu_ps(in + x), c = _mm_loadu_ps(count + x);
        const __m128 use = _mm_and_ps(_mm_cmpeq_ps(v, v), _mm_cmpgt_ps(c, _mm_setzero_ps()));
        /* lanes not used may divide by 0: their results are dropped */
        const __m128 lo = _mm_cvtpd_ps(_mm_div_pd(_mm_loadu_pd(win + x), _mm_cvtps_pd(c)));
        const __m128 hi = _mm_cvtpd_ps(
            _mm_div_pd(_mm_loadu_pd(win + x + 2), _mm_cvtps_pd(_mm_movehl_ps(c, c))));
        const __m128 mean = _mm_movelh_ps(lo, hi);
        _mm_storeu_ps(out + x, _mm_or_ps(_mm_and_ps(use, mean), _mm_andnot_ps(use, nan)));
    }
#endif
    for (; x < w; x++) out[x] = isnan(in[x]) || !(count[x] > 0) ? NAN : (float)(win[x] / count[x]);
}

/* The window means along one row: the sliding window sums into win (w doubles), then
 * divided by their counts. */
static void row_window_means(const double *col, int w, int half, const float *in,
                             const float *count, double *restrict win, float *out)
{
    double acc = 0;
    ROW_WINDOW(col, w, half, acc, win[x] = acc);
    divide_window_sums(win, w, in, count, out);
}

/* The number of cells of in that count (what, thr) in the (2 half + 1)^2 window of every
 * cell, clipped at the edges: O(cells) whatever the window. */
static void box_count(box *b, const float *in, int half, int what, float thr, float *out)
{
    const int w = b->width, h = b->height;
    int32_t *cc = b->col_count;
    memset(cc, 0, (size_t)w * sizeof *cc);
    for (int y = 0; y <= half && y < h; y++) add_count_row(cc, in + (size_t)y * w, w, 1, what, thr);
    for (int y = 0; y < h; y++) {
        row_window_counts(cc, w, half, b->col_prefix, out + (size_t)y * w);
        if (y + half + 1 < h) add_count_row(cc, in + (size_t)(y + half + 1) * w, w, 1, what, thr);
        if (y - half >= 0) add_count_row(cc, in + (size_t)(y - half) * w, w, -1, what, thr);
    }
}

/* The mean of in (NaN counted as 0) over the valid cells of the window of every cell
 * (count from box_count(COUNT_VALID) of a grid with the same NaN cells), NaN where the cell
 * itself is NaN, in place (through b->sum: the sums need the rows as they were). */
static void box_mean(box *b, float *in, int half, const float *count)
{
    const int w = b->width, h = b->height;
    double *cs = b->col_sum;
    for (int x = 0; x < w; x++) cs[x] = 0;
    for (int y = 0; y <= half && y < h; y++) add_value_row(cs, in + (size_t)y * w, w, false);
    for (int y = 0; y < h; y++) {
        const size_t row = (size_t)y * w;
        row_window_means(cs, w, half, in + row, count + row, b->col_window, b->sum + row);
        if (y + half + 1 < h) add_value_row(cs, in + (size_t)(y + half + 1) * w, w, false);
        if (y - half >= 0) add_value_row(cs, in + (size_t)(y - half) * w, w, true);
    }
    memcpy(in, b->sum, (size_t)w * (size_t)h * sizeof *in);
}

/* The windowed part of mix_control with SSE2, four cells at a time and the same double
 * arithmetic as its loop (the fraction rounded to float, the mix in double, then rounded):
 * the cells where the control or p has no data or the window no control cell keep p. Returns
 * the cells done (the rest is the loop's). */
static size_t mix_window_fractions(const box *b, float *p, const float *control, double weight)
{
    size_t i = 0;
#ifdef __SSE2__
    const size_t n = (size_t)b->width * (size_t)b->height;
    const __m128d keep_w = _mm_set1_pd(1 - weight), mix_w = _mm_set1_pd(weight);
    for (; i + 4 <= n; i += 4) {
        const __m128 x = _mm_loadu_ps(control + i), pv = _mm_loadu_ps(p + i);
        const __m128 count = _mm_loadu_ps(b->control_count + i), sum = _mm_loadu_ps(b->sum + i);
        const __m128 use = _mm_and_ps(_mm_and_ps(_mm_cmpeq_ps(x, x), _mm_cmpeq_ps(pv, pv)),
                                      _mm_cmpgt_ps(count, _mm_setzero_ps()));
        /* lanes not used may divide by 0 or NaN: their results are dropped */
        const __m128 det = _mm_movelh_ps(
            _mm_cvtpd_ps(_mm_div_pd(_mm_cvtps_pd(sum), _mm_cvtps_pd(count))),
            _mm_cvtpd_ps(_mm_div_pd(_mm_cvtps_pd(_mm_movehl_ps(sum, sum)),
                                    _mm_cvtps_pd(_mm_movehl_ps(count, count)))));
        const __m128 det_hi = _mm_movehl_ps(det, det), p_hi = _mm_movehl_ps(pv, pv);
        const __m128d lo = _mm_add_pd(_mm_mul_pd(keep_w, _mm_cvtps_pd(pv)),
                                      _mm_mul_pd(mix_w, _mm_cvtps_pd(det)));
        const __m128d hi = _mm_add_pd(_mm_mul_pd(keep_w, _mm_cvtps_pd(p_hi)),
                                      _mm_mul_pd(mix_w, _mm_cvtps_pd(det_hi)));
        const __m128 mixed = _mm_movelh_ps(_mm_cvtpd_ps(lo), _mm_cvtpd_ps(hi));
        _mm_storeu_ps(p + i, _mm_or_ps(_mm_and_ps(use, mixed), _mm_andnot_ps(use, pv)));
    }
#else
    (void)b, (void)p, (void)control, (void)weight;
#endif
    return i;
}

/* p = (1 - weight) p + weight x the control's fraction of cells passing thr in the window
 * (its count in b->sum; without a window the cell's own 0 or 1), where both have data. */
static void mix_control(box *b, float *p, const float *control, int half, int what, double thr,
                        double weight)
{
    const size_t n = (size_t)b->width * (size_t)b->height;
    size_t i = 0;
    if (half > 0) {
        box_count(b, control, half, what, float_bound(thr, what == COUNT_REACH), b->sum);
        i = mix_window_fractions(b, p, control, weight);
    }
    for (; i < n; i++) {
        const float x = control[i];
        if (isnan(x) || isnan(p[i])) continue; /* where the control has no data the members' fraction stands alone */
        float det;
        if (half == 0) det = (what == COUNT_REACH ? x >= thr : x > thr) ? 1.0f : 0.0f;
        else if (!(b->control_count[i] > 0)) continue;
        else det = (float)((double)b->sum[i] / b->control_count[i]);
        p[i] = (float)((1 - weight) * p[i] + weight * det);
    }
}

/* The blended grids of one lead or window (the count probability grids of its thresholds,
 * which share their NaN cells): the members' fraction averaged over the window, then mixed
 * with the control's fraction of cells whose value passes each threshold in the same window
 * (control NULL: none). */
static void blend_grids(box *b, sq25_field **prob, int count, const double *thr, int half,
                        const float *control, int inclusive, double weight)
{
    if (half > 0) box_count(b, prob[0]->data, half, COUNT_VALID, 0, b->valid_count);
    if (control && half > 0) box_count(b, control, half, COUNT_VALID, 0, b->control_count);
    for (int j = 0; j < count; j++) {
        float *p = prob[j]->data;
        if (half > 0) box_mean(b, p, half, b->valid_count);
        if (control)
            mix_control(b, p, control, half, inclusive ? COUNT_REACH : COUNT_ABOVE, thr[j], weight);
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
    sq25__free(ctx, b->col_sum);
    sq25__free(ctx, b->col_count);
    sq25__free(ctx, b->valid_count);
    sq25__free(ctx, b->control_count);
    sq25__free(ctx, b->sum);
}

static int box_alloc(sq25_ctx *ctx, int width, int height, box *b)
{
    const size_t n = (size_t)width * (size_t)height;
    *b = (box){width, height, sq25__malloc(ctx, 2 * (size_t)width * sizeof(double)), NULL,
               sq25__malloc(ctx, (2 * (size_t)width + 1) * sizeof(int32_t)), NULL,
               sq25__malloc(ctx, n * sizeof(float)), sq25__malloc(ctx, n * sizeof(float)),
               sq25__malloc(ctx, n * sizeof(float))};
    if (b->col_sum) b->col_window = b->col_sum + width;
    if (b->col_count) b->col_prefix = b->col_count + width;
    return b->col_sum && b->col_count && b->valid_count && b->control_count && b->sum
               ? SQ25_OK
               : SQ25_ERR_NOMEM;
}

/* The control member's rate at every lead (the same values as sq25_extrapolate with 2
 * sub-steps) into control[0 .. n_leads - 1] and its amount over each accumulation window
 * (mm, the ensemble's sub-steps; those of sq25_extrapolate_accumulation) into
 * control[n_leads + w], n floats each: one pass over the leads for all of them. */
static int control_inputs(sq25_ctx *ctx, const sq25_ensemble *e, const sq25__ens_control *in,
                          float **control)
{
    const sq25_ensemble_options *o = &e->opt;
    const size_t n = (size_t)in->latest->width * (size_t)in->latest->height;
    sq25_extrapolator *ex = NULL;
    sq25__accumulator *acc = NULL;
    int rc = SQ25_OK;
    if (o->n_accum)
        rc = sq25__accumulator_create(ctx, in->latest, in->u, in->v, e->step_s, in->substeps, &acc);
    if (rc == SQ25_OK && (!acc || in->substeps != 2))
        rc = sq25_extrapolator_create(ctx, in->latest, in->u, in->v, 2, &ex);
    for (int k = 1; rc == SQ25_OK && k <= e->n_leads; k++) {
        float *rate = control[k - 1] = sq25__malloc(ctx, n * sizeof(float)), *amount = NULL;
        for (int w = 0; rate && w < o->n_accum; w++) {
            if (o->accum_minutes[w] * 60 != k * e->step_s) continue;
            if (!(control[e->n_leads + w] = sq25__malloc(ctx, n * sizeof(float)))) rate = NULL;
            else if (!amount) amount = control[e->n_leads + w];
        }
        if (!rate) rc = SQ25_ERR_NOMEM;
        if (rc == SQ25_OK && ex) rc = sq25_extrapolator_next(ex, rate);
        if (rc == SQ25_OK && acc) rc = sq25__accumulator_next(acc, ex ? NULL : rate, amount);
        for (int w = 0; rc == SQ25_OK && amount && w < o->n_accum; w++) /* same-length windows */
            if (control[e->n_leads + w] != amount && o->accum_minutes[w] * 60 == k * e->step_s)
                memcpy(control[e->n_leads + w], amount, n * sizeof(float));
    }
    sq25_extrapolator_destroy(ex);
    sq25__accumulator_destroy(acc);
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
    if (rc == SQ25_OK && weight > 0) rc = control_inputs(ctx, e, in, job.control);
    if (rc == SQ25_OK && weight > 0) rc = keep_control(e, job.control);
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
