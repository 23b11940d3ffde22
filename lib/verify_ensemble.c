/* verify_ensemble.c -- probabilistic scores: CRPS of an ensemble, Brier score, reliability
 * table, ROC counts and area, rank histogram. Cells count where the observation and the
 * forecast (every member, for member-based scores) are valid. */
#include "ensemble_internal.h"

#include <math.h>
#include <string.h>

/* Members' values at cell i into v (NULL when any is NaN); returns their count. */
static int gather(const float *const *members, int n_members, size_t i, float *v)
{
    for (int m = 0; m < n_members; m++) {
        v[m] = members[m][i];
        if (isnan(v[m])) return 0;
    }
    return n_members;
}

int sq25_verify_crps(const float *const *members, int n_members, const float *observed,
                     size_t n, double *crps_mmh)
{
    if (!members || n_members < 1 || n_members > 1000 || !observed || !crps_mmh)
        return SQ25_ERR_INVALID_ARG;
    for (int m = 0; m < n_members; m++)
        if (!members[m]) return SQ25_ERR_INVALID_ARG;
    float v[1000];
    double total = 0;
    size_t cells = 0;
    for (size_t i = 0; i < n; i++) {
        const float y = observed[i];
        if (isnan(y) || !gather(members, n_members, i, v)) continue;
        /* sorted members: sum_{j<k} |x_j - x_k| = sum_k (2k - M + 1) x_k (k 0-based) */
        sq25__ens_sort_small(v, n_members);
        double to_obs = 0, spread = 0;
        for (int k = 0; k < n_members; k++) {
            to_obs += fabs((double)v[k] - y);
            spread += (2.0 * k - n_members + 1) * v[k];
        }
        const double m = n_members;
        total += to_obs / m - spread / (m * m);
        cells++;
    }
    *crps_mmh = cells ? total / (double)cells : NAN;
    return SQ25_OK;
}

int sq25_verify_brier(const float *probability, const float *observed, size_t n,
                      double threshold_mmh, double *brier)
{
    if (!probability || !observed || !brier || isnan(threshold_mmh)) return SQ25_ERR_INVALID_ARG;
    double sum = 0;
    size_t cells = 0;
    for (size_t i = 0; i < n; i++) {
        const float p = probability[i], y = observed[i];
        if (isnan(p) || isnan(y)) continue;
        const double d = p - (y > threshold_mmh ? 1.0 : 0.0);
        sum += d * d;
        cells++;
    }
    *brier = cells ? sum / (double)cells : NAN;
    return SQ25_OK;
}

int sq25_verify_reliability(const float *probability, const float *observed, size_t n,
                            double threshold_mmh, int n_bins, int64_t *count, int64_t *events,
                            double *probability_sum)
{
    if (!probability || !observed || !count || !events || !probability_sum || n_bins < 1 ||
        n_bins > 100 || isnan(threshold_mmh))
        return SQ25_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++) {
        const float p = probability[i], y = observed[i];
        if (isnan(p) || isnan(y)) continue;
        int b = (int)floor(p * n_bins);
        b = b < 0 ? 0 : b >= n_bins ? n_bins - 1 : b;
        count[b]++;
        events[b] += y > threshold_mmh;
        probability_sum[b] += p;
    }
    return SQ25_OK;
}

int sq25_verify_roc_counts(const float *probability, const float *observed, size_t n,
                           double threshold_mmh, int n_thresholds, int64_t *hits,
                           int64_t *misses, int64_t *false_alarms, int64_t *correct_negatives)
{
    if (!probability || !observed || !hits || !misses || !false_alarms || !correct_negatives ||
        n_thresholds < 2 || n_thresholds > 101 || isnan(threshold_mmh))
        return SQ25_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++) {
        const float p = probability[i], y = observed[i];
        if (isnan(p) || isnan(y)) continue;
        /* observed event as the reference figures count it: value >= threshold */
        const int event = y >= threshold_mmh;
        for (int j = 0; j < n_thresholds; j++) {
            const int warned = p >= (double)j / (n_thresholds - 1);
            if (warned && event) hits[j]++;
            else if (event) misses[j]++;
            else if (warned) false_alarms[j]++;
            else correct_negatives[j]++;
        }
    }
    return SQ25_OK;
}

double sq25_verify_roc_area(int n_thresholds, const int64_t *hits, const int64_t *misses,
                            const int64_t *false_alarms, const int64_t *correct_negatives)
{
    if (n_thresholds < 2 || !hits || !misses || !false_alarms || !correct_negatives) return NAN;
    double prev_pofd = 1, prev_pod = 1, area = 0;
    for (int j = 0; j <= n_thresholds; j++) {
        double pod = 0, pofd = 0;
        if (j < n_thresholds) {
            const double ev = (double)hits[j] + misses[j], non = (double)false_alarms[j] + correct_negatives[j];
            if (!(ev > 0) || !(non > 0)) return NAN;
            pod = hits[j] / ev;
            pofd = false_alarms[j] / non;
        }
        area += (prev_pofd - pofd) * (prev_pod + pod) / 2;
        prev_pofd = pofd;
        prev_pod = pod;
    }
    return area;
}

int sq25_verify_rank_histogram(const float *const *members, int n_members,
                               const float *observed, size_t n, int64_t *counts)
{
    if (!members || n_members < 1 || n_members > 1000 || !observed || !counts)
        return SQ25_ERR_INVALID_ARG;
    for (int m = 0; m < n_members; m++)
        if (!members[m]) return SQ25_ERR_INVALID_ARG;
    float v[1000];
    uint64_t state = 0x9e3779b97f4a7c15ULL; /* fixed seed: reproducible tie splitting */
    for (size_t i = 0; i < n; i++) {
        const float y = observed[i];
        if (isnan(y) || !gather(members, n_members, i, v)) continue;
        int below = 0, equal = 0;
        for (int m = 0; m < n_members; m++) {
            below += v[m] < y;
            equal += v[m] == y;
        }
        if (equal > 0) { /* the observation's rank among ties: uniform over equal + 1 slots */
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            below += (int)(state % (uint64_t)(equal + 1));
        }
        counts[below]++;
    }
    return SQ25_OK;
}

/* ---- CRPS of the neighbourhood (blended) ensemble ------------------------------------------
 * The blended probability P_i(t) of cell i (lib/ensemble_prob.c: the members' fraction above t
 * averaged over the valid cells of the window, mixed with the control's fraction) defines a
 * distribution at every cell, and CRPS = integral over t >= 0 of (P_i(t) - 1{y_i > t})^2
 * (Hersbach 2000; Gneiting and Raftery 2007, the Brier score integrated over thresholds). With
 * H = 1{y > t}: CRPS = y - 2 int_0^y P dt + int_0^inf P^2 dt. P is non-increasing in t, so on
 * every interval [t_j, t_j+1) of the threshold grid it lies between P(t_j+1) and P(t_j): the
 * two sums bracket both integrals exactly, and their half difference is a rigorous error
 * bound. The grid: 0.01 mm/h steps to 1 mm/h, then 1 % steps, up to the largest value. */

#define CRPSN_FINE_STEP 0.01 /* mm/h, up to CRPSN_FINE_END */
#define CRPSN_FINE_END 1.0
#define CRPSN_RATIO 1.01

typedef struct { int x0, y0, x1, y1; } crpsn_rect; /* inclusive; x0 > x1 when empty */

static void rect_add(crpsn_rect *r, int x, int y)
{
    if (x < r->x0) r->x0 = x;
    if (x > r->x1) r->x1 = x;
    if (y < r->y0) r->y0 = y;
    if (y > r->y1) r->y1 = y;
}

static crpsn_rect rect_union(crpsn_rect a, crpsn_rect b)
{
    if (b.x0 > b.x1) return a;
    if (a.x0 > a.x1) return b;
    return (crpsn_rect){a.x0 < b.x0 ? a.x0 : b.x0, a.y0 < b.y0 ? a.y0 : b.y0,
                        a.x1 > b.x1 ? a.x1 : b.x1, a.y1 > b.y1 ? a.y1 : b.y1};
}

/* The grid t_0 = 0 < t_1 < ... < t_last >= vmax (at least t_1); count returned, NULL on NOMEM. */
static double *crpsn_grid(sq25_ctx *ctx, double vmax, int *count)
{
    int n = 1;
    for (double t = 0; t < vmax || n < 2; n++)
        t = t < CRPSN_FINE_END - 1e-12 ? t + CRPSN_FINE_STEP : t * CRPSN_RATIO;
    double *g = sq25__malloc(ctx, (size_t)n * sizeof *g);
    if (!g) return NULL;
    g[0] = 0;
    for (int j = 1; j < n; j++)
        g[j] = g[j - 1] < CRPSN_FINE_END - 1e-12 ? g[j - 1] + CRPSN_FINE_STEP : g[j - 1] * CRPSN_RATIO;
    *count = n;
    return g;
}

/* Smallest j with grid[j] >= x (x > 0 and <= grid[n-1]): the value counts as "> t" for the
 * thresholds before j. */
static int crpsn_bucket(const double *grid, int n, double x)
{
    int lo = 1, hi = n - 1;
    while (lo < hi) {
        const int mid = (lo + hi) / 2;
        if (grid[mid] >= x) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

/* Values above 0 of one source (the members or the control) sorted by bucket (counting sort
 * of cell indices), with the bounding box of the cells whose values lie in buckets > j. */
typedef struct {
    size_t *start;     /* n_grid + 1 offsets into cell */
    uint32_t *cell;
    crpsn_rect *above; /* above[j]: cells with a value > grid[j] */
} crpsn_buckets;

static int crpsn_bucket_values(sq25_ctx *ctx, const float *const *grids, int count, size_t n,
                               int width, const double *grid, int n_grid, crpsn_buckets *b)
{
    b->start = sq25__malloc(ctx, ((size_t)n_grid + 1) * sizeof *b->start);
    b->above = sq25__malloc(ctx, (size_t)n_grid * sizeof *b->above);
    if (!b->start || !b->above) return SQ25_ERR_NOMEM;
    memset(b->start, 0, ((size_t)n_grid + 1) * sizeof *b->start);
    for (int m = 0; m < count; m++)
        for (size_t i = 0; i < n; i++)
            if (grids[m][i] > 0) b->start[crpsn_bucket(grid, n_grid, grids[m][i]) + 1]++;
    for (int j = 0; j < n_grid; j++) b->start[j + 1] += b->start[j];
    b->cell = sq25__malloc(ctx, (b->start[n_grid] ? b->start[n_grid] : 1) * sizeof *b->cell);
    size_t *fill = sq25__malloc(ctx, (size_t)n_grid * sizeof *fill);
    if (!b->cell || !fill) {
        sq25__free(ctx, fill);
        return SQ25_ERR_NOMEM;
    }
    memcpy(fill, b->start, (size_t)n_grid * sizeof *fill);
    const crpsn_rect empty = {INT32_MAX, INT32_MAX, -1, -1};
    for (int j = 0; j < n_grid; j++) b->above[j] = empty;
    for (int m = 0; m < count; m++)
        for (size_t i = 0; i < n; i++)
            if (grids[m][i] > 0) {
                const int k = crpsn_bucket(grid, n_grid, grids[m][i]);
                b->cell[fill[k]++] = (uint32_t)i;
                rect_add(&b->above[k - 1], (int)(i % (size_t)width), (int)(i / (size_t)width));
            }
    sq25__free(ctx, fill);
    /* above[k - 1] held bucket k alone: a value in bucket k is > grid[j] for every j < k */
    for (int j = n_grid - 2; j >= 0; j--) b->above[j] = rect_union(b->above[j], b->above[j + 1]);
    return SQ25_OK;
}

static void crpsn_buckets_free(sq25_ctx *ctx, crpsn_buckets *b)
{
    sq25__free(ctx, b->start);
    sq25__free(ctx, b->cell);
    sq25__free(ctx, b->above);
}

/* Window sums (half side r, clipped at the grid's edges) of in over the rectangle r_out,
 * whose input is 0 outside the rectangle r_in (r_out contains r_in grown by r): running sums
 * along the rows, then down the columns. row: (r_out rows) x width doubles; col: width. */
static void crpsn_box(const float *in, int width, crpsn_rect ro, int r, double *row,
                      double *col, float *out)
{
    const int w = ro.x1 - ro.x0 + 1;
    for (int y = ro.y0; y <= ro.y1; y++) {
        const float *src = in + (size_t)y * width;
        double *rs = row + (size_t)(y - ro.y0) * w, acc = 0;
        for (int x = ro.x0; x <= ro.x0 + r && x <= ro.x1; x++) acc += src[x];
        for (int x = ro.x0; x <= ro.x1; x++) {
            rs[x - ro.x0] = acc;
            if (x + r + 1 <= ro.x1) acc += src[x + r + 1];
            if (x - r >= ro.x0) acc -= src[x - r];
        }
    }
    for (int x = 0; x < w; x++) col[x] = 0;
    for (int y = ro.y0; y <= ro.y0 + r && y <= ro.y1; y++)
        for (int x = 0; x < w; x++) col[x] += row[(size_t)(y - ro.y0) * w + x];
    for (int y = ro.y0; y <= ro.y1; y++) {
        float *o = out + (size_t)y * width + ro.x0;
        for (int x = 0; x < w; x++) o[x] = (float)col[x];
        if (y + r + 1 <= ro.y1)
            for (int x = 0; x < w; x++) col[x] += row[(size_t)(y + r + 1 - ro.y0) * w + x];
        if (y - r >= ro.y0)
            for (int x = 0; x < w; x++) col[x] -= row[(size_t)(y - r - ro.y0) * w + x];
    }
}

static crpsn_rect rect_grow(crpsn_rect a, int r, int width, int height)
{
    if (a.x0 > a.x1) return a;
    return (crpsn_rect){a.x0 - r < 0 ? 0 : a.x0 - r, a.y0 - r < 0 ? 0 : a.y0 - r,
                        a.x1 + r >= width ? width - 1 : a.x1 + r,
                        a.y1 + r >= height ? height - 1 : a.y1 + r};
}

/* Per-cell state of the integration. */
typedef struct {
    int width, height, half_side, n_members;
    double weight;                    /* control weight, 0 without a control */
    const float *control;
    uint8_t *member_valid;            /* members with data at the cell (n_members <= 255) */
    float *window_valid, *window_cvalid; /* valid cells (members' fraction; control) per window */
    float *count, *ccount;            /* members (control) above the current threshold */
    float *frac, *sum, *csum;         /* members' fraction; window sums */
    float *prev;                      /* P at the previous threshold */
    float *mweight, *cweight;         /* P = sum x mweight + csum x cweight */
    float *inv_valid;                 /* 1 / members with data (0 without) */
    double *row, *col;
    double *a_lo, *a_hi, *b_lo, *b_hi;
} crpsn_state;

/* Window sums of the members' fractions (and the control's indicator) over rectangle ro. */
static void crpsn_window_sums(crpsn_state *s, crpsn_rect ro)
{
    crpsn_box(s->frac, s->width, ro, s->half_side, s->row, s->col, s->sum);
    if (s->weight > 0) crpsn_box(s->ccount, s->width, ro, s->half_side, s->row, s->col, s->csum);
}

/* P at cell i from the window sums: the members' mean times its weight plus the control's. */
static inline double crpsn_p(const crpsn_state *s, size_t i)
{
    return s->sum[i] * (double)s->mweight[i] + (s->weight > 0 ? s->csum[i] * (double)s->cweight[i] : 0);
}

/* P(t) on rectangle ro into s->prev (the first threshold). */
static void crpsn_first(crpsn_state *s, crpsn_rect ro)
{
    crpsn_window_sums(s, ro);
    for (int y = ro.y0; y <= ro.y1; y++)
        for (int x = ro.x0; x <= ro.x1; x++) {
            const size_t i = (size_t)y * s->width + x;
            s->prev[i] = (float)crpsn_p(s, i);
        }
}

/* One interval [t0, t1): P(t1) on rectangle ro from the current counts, the two sums of
 * int P^2 and of int_0^y P with P(t0) (s->prev) and P(t1), then P(t1) becomes s->prev. */
static void crpsn_interval(crpsn_state *s, crpsn_rect ro, double t0, double t1,
                           const float *observed)
{
    const double dt = t1 - t0;
    crpsn_window_sums(s, ro);
    for (int y = ro.y0; y <= ro.y1; y++)
        for (int x = ro.x0; x <= ro.x1; x++) {
            const size_t i = (size_t)y * s->width + x;
            const double hi = s->prev[i], lo = (float)crpsn_p(s, i), yv = observed[i];
            s->a_lo[i] += lo * lo * dt;
            s->a_hi[i] += hi * hi * dt;
            const double below = yv > t0 ? (yv < t1 ? yv - t0 : dt) : 0; /* part under y */
            s->b_lo[i] += lo * below;
            s->b_hi[i] += hi * below;
            s->prev[i] = (float)lo;
        }
}

static void crpsn_release(sq25_ctx *ctx, crpsn_state *s)
{
    void *all[] = {s->member_valid, s->window_valid, s->window_cvalid, s->count, s->ccount,
                   s->frac, s->sum, s->csum, s->prev, s->mweight, s->cweight, s->inv_valid, s->row, s->col, s->a_lo, s->a_hi,
                   s->b_lo, s->b_hi};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) sq25__free(ctx, all[k]);
}

/* The state's grids (n cells; row sums: n doubles; column sums: one row). 0 on NOMEM (what
 * was taken is released by crpsn_release). */
static int crpsn_alloc(sq25_ctx *ctx, crpsn_state *s, size_t n)
{
    float **floats[] = {&s->window_valid, &s->window_cvalid, &s->count, &s->ccount, &s->frac,
                        &s->sum, &s->csum, &s->prev, &s->mweight, &s->cweight, &s->inv_valid};
    double **doubles[] = {&s->row, &s->a_lo, &s->a_hi, &s->b_lo, &s->b_hi};
    int ok = (s->member_valid = sq25__malloc(ctx, n)) != NULL;
    for (size_t k = 0; k < sizeof floats / sizeof floats[0]; k++)
        ok &= (*floats[k] = sq25__malloc(ctx, n * sizeof(float))) != NULL;
    for (size_t k = 0; k < sizeof doubles / sizeof doubles[0]; k++)
        ok &= (*doubles[k] = sq25__malloc(ctx, n * sizeof(double))) != NULL;
    ok &= (s->col = sq25__malloc(ctx, (size_t)s->width * sizeof(double))) != NULL;
    return ok;
}

int sq25_verify_crps_neighbourhood(sq25_ctx *ctx, const float *const *members, int n_members,
                                   const float *control, double control_weight, int width,
                                   int height, int half_side, const float *observed,
                                   double *crps_mmh, double *error_bound_mmh)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    int bad = !members || n_members < 1 || n_members > 255 || !observed || !crps_mmh ||
              half_side < 0 || !(control_weight >= 0 && control_weight < 1) || width <= 0 ||
              height <= 0;
    for (int m = 0; !bad && m < n_members; m++) bad = !members[m];
    if (bad) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_verify_crps_neighbourhood: bad argument");
    int rc = sq25__check_grid_size(ctx, width, height, "sq25_verify_crps_neighbourhood");
    if (rc) return rc;
    if ((int64_t)width * height > UINT32_MAX) return sq25__fail(ctx, SQ25_ERR_SIZE_ABSURD, "sq25_verify_crps_neighbourhood: grid too large");
    const size_t n = (size_t)width * height;
    const float *ctl = control_weight > 0 ? control : NULL;
    double vmax = 0;
    for (int m = 0; m < n_members; m++)
        for (size_t i = 0; i < n; i++)
            if (members[m][i] > vmax) vmax = members[m][i];
    for (size_t i = 0; ctl && i < n; i++)
        if (ctl[i] > vmax) vmax = ctl[i];
    for (size_t i = 0; i < n; i++)
        if (isinf(observed[i])) vmax = INFINITY;
    if (!isfinite(vmax)) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_verify_crps_neighbourhood: infinite value");
    int n_grid = 0;
    double *grid = crpsn_grid(ctx, vmax, &n_grid);
    crpsn_buckets mb = {0}, cb = {0};
    crpsn_state s;
    memset(&s, 0, sizeof s);
    s.width = width;
    s.height = height;
    s.half_side = half_side;
    s.n_members = n_members;
    s.weight = ctl ? control_weight : 0;
    s.control = ctl;
    rc = grid && crpsn_alloc(ctx, &s, n) ? SQ25_OK : SQ25_ERR_NOMEM;
    if (rc == SQ25_OK) rc = crpsn_bucket_values(ctx, members, n_members, n, width, grid, n_grid, &mb);
    if (rc == SQ25_OK && ctl) rc = crpsn_bucket_values(ctx, &ctl, 1, n, width, grid, n_grid, &cb);
    if (rc != SQ25_OK) goto done;
    const crpsn_rect all = {0, 0, width - 1, height - 1};
    /* the windows' valid-cell counts (fixed) and the counts above t_0 = 0 */
    for (size_t i = 0; i < n; i++) {
        int valid = 0, wet = 0;
        for (int m = 0; m < n_members; m++) {
            valid += !isnan(members[m][i]);
            wet += members[m][i] > 0;
        }
        s.member_valid[i] = (uint8_t)valid;
        s.frac[i] = valid ? 1.0f : 0.0f;
        s.count[i] = (float)wet;
        s.ccount[i] = ctl && ctl[i] > 0 ? 1.0f : 0.0f;
        s.csum[i] = ctl && !isnan(ctl[i]) ? 1.0f : 0.0f;
        s.prev[i] = 0;
        s.a_lo[i] = s.a_hi[i] = s.b_lo[i] = s.b_hi[i] = 0;
    }
    crpsn_box(s.frac, width, all, half_side, s.row, s.col, s.window_valid);
    if (ctl) crpsn_box(s.csum, width, all, half_side, s.row, s.col, s.window_cvalid);
    for (size_t i = 0; i < n; i++) {
        /* P = (1 - W) members' mean + W control's mean where the control has data at i */
        const int mixed = ctl && !isnan(ctl[i]) && s.window_cvalid[i] > 0;
        const double members_mean = s.window_valid[i] > 0 ? 1.0 / s.window_valid[i] : 0;
        s.mweight[i] = (float)(mixed ? (1 - s.weight) * members_mean : members_mean);
        s.cweight[i] = mixed ? (float)(s.weight / s.window_cvalid[i]) : 0.0f;
        s.inv_valid[i] = s.member_valid[i] ? 1.0f / s.member_valid[i] : 0.0f;
        s.frac[i] = s.count[i] * s.inv_valid[i];
    }
    crpsn_rect region = rect_grow(rect_union(mb.above[0], ctl ? cb.above[0] : mb.above[0]),
                                  half_side, width, height);
    if (region.x0 <= region.x1) crpsn_first(&s, region);
    for (int j = 1; j < n_grid && region.x0 <= region.x1; j++) {
        /* the values in bucket j are not above grid[j] */
        for (size_t k = mb.start[j]; k < mb.start[j + 1]; k++) {
            const uint32_t c = mb.cell[k];
            s.count[c] -= 1;
            s.frac[c] = s.count[c] * s.inv_valid[c];
        }
        for (size_t k = ctl ? cb.start[j] : 0; ctl && k < cb.start[j + 1]; k++) s.ccount[cb.cell[k]] = 0;
        /* on the previous region, which holds every cell where P(grid[j - 1]) can be > 0 */
        crpsn_interval(&s, region, grid[j - 1], grid[j], observed);
        region = rect_grow(rect_union(mb.above[j], ctl ? cb.above[j] : mb.above[j]), half_side,
                           width, height);
    }
    double total = 0, spread = 0;
    size_t cells = 0;
    for (size_t i = 0; i < n; i++) {
        const double yv = observed[i] > 0 ? observed[i] : 0; /* rates: below 0 counts as 0 */
        if (isnan(observed[i]) || s.member_valid[i] != n_members) continue;
        const double lo = yv - 2 * s.b_hi[i] + s.a_lo[i], hi = yv - 2 * s.b_lo[i] + s.a_hi[i];
        total += (lo + hi) / 2;
        spread += (hi - lo) / 2;
        cells++;
    }
    *crps_mmh = cells ? total / (double)cells : NAN;
    if (error_bound_mmh) *error_bound_mmh = cells ? spread / (double)cells : NAN;
done:
    crpsn_buckets_free(ctx, &mb);
    crpsn_buckets_free(ctx, &cb);
    crpsn_release(ctx, &s);
    sq25__free(ctx, grid);
    return rc ? rc : sq25__ok(ctx);
}
