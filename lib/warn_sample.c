/* warn_sample.c -- the warning at targets: the maximum over the grid cells within the target
 * radius around a point or along a line (lon/lat to pixel through PROJ). */
#include "warn_internal.h"

#include <math.h>
#include <string.h>

/* Cells sampled for every target, stored as one list with start offsets. */
typedef struct {
    size_t *start;    /* target_count + 1 offsets into cells */
    size_t *cells;    /* cell indices (row * width + col) */
    size_t count, cap;
    unsigned char *mark; /* width*height flags: cell already in the current target's list */
} sample_cells;

static int push_cell(sq25_ctx *ctx, sample_cells *s, size_t cell)
{
    if (s->mark[cell]) return SQ25_OK;
    if (s->count == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        size_t *bigger = sq25__malloc(ctx, cap * sizeof *bigger);
        if (!bigger) return SQ25_ERR_NOMEM;
        if (s->count) memcpy(bigger, s->cells, s->count * sizeof *bigger);
        sq25__free(ctx, s->cells);
        s->cells = bigger;
        s->cap = cap;
    }
    s->mark[cell] = 1;
    s->cells[s->count++] = cell;
    return SQ25_OK;
}

/* Cells whose centre lies within the target radius of pixel position (col, row), plus the cell
 * under the position itself. */
static int cells_around(const sq25_warning *w, sample_cells *s, double col, double row)
{
    if (!isfinite(col) || !isfinite(row)) return SQ25_OK;
    if (fabs(col) > 2.0 * SQ25_MAX_GRID_SIDE || fabs(row) > 2.0 * SQ25_MAX_GRID_SIDE)
        return SQ25_OK; /* far outside: keeps the integer conversions below in range */
    double r_m = w->opt.target_radius_m;
    double half_cols = fmin(ceil(r_m / w->pixel_x_m) + 1, w->width);
    double half_rows = fmin(ceil(r_m / w->pixel_y_m) + 1, w->height);
    int c0 = (int)floor(col), r0 = (int)floor(row);
    int r_first = r0 - (int)half_rows < 0 ? 0 : r0 - (int)half_rows;
    int r_last = r0 + (int)half_rows >= w->height ? w->height - 1 : r0 + (int)half_rows;
    int c_first = c0 - (int)half_cols < 0 ? 0 : c0 - (int)half_cols;
    int c_last = c0 + (int)half_cols >= w->width ? w->width - 1 : c0 + (int)half_cols;
    for (int r = r_first; r <= r_last; r++) {
        for (int c = c_first; c <= c_last; c++) {
            double dx_m = (c + 0.5 - col) * w->pixel_x_m, dy_m = (r + 0.5 - row) * w->pixel_y_m;
            bool under = c == c0 && r == r0;
            if (!under && dx_m * dx_m + dy_m * dy_m > r_m * r_m) continue;
            int rc = push_cell(w->ctx, s, (size_t)r * w->width + c);
            if (rc) return rc;
        }
    }
    return SQ25_OK;
}

/* Sample a point, or every half cell along each segment of a line. */
static int target_cells(sq25_warning *w, const sq25__target *t, sample_cells *s)
{
    size_t n = t->vertex_count;
    double *pix = sq25__malloc(w->ctx, 2 * n * sizeof(double));
    if (!pix) return SQ25_ERR_NOMEM;
    int rc = sq25_field_lonlat_to_pixel(w->grid, n, t->lonlat, 2 * sizeof(double), t->lonlat + 1,
                                        2 * sizeof(double), pix, 2 * sizeof(double), pix + 1,
                                        2 * sizeof(double));
    for (size_t k = 0; rc == SQ25_OK && k < n; k++) {
        if (k + 1 == n) {
            rc = cells_around(w, s, pix[2 * k], pix[2 * k + 1]);
            break;
        }
        double dc = pix[2 * k + 2] - pix[2 * k], dr = pix[2 * k + 3] - pix[2 * k + 1];
        double len = hypot(dc, dr);
        int steps = isfinite(len) ? (int)ceil(len / 0.5) : 0;
        if (steps > 4 * (w->width + w->height)) steps = 4 * (w->width + w->height);
        for (int i = 0; rc == SQ25_OK && i < (steps ? steps : 1); i++) {
            double f = steps ? (double)i / steps : 0;
            rc = cells_around(w, s, pix[2 * k] + f * dc, pix[2 * k + 1] + f * dr);
        }
    }
    sq25__free(w->ctx, pix);
    return rc;
}

static void sample_free(sq25_ctx *ctx, sample_cells *s)
{
    sq25__free(ctx, s->start);
    sq25__free(ctx, s->cells);
    sq25__free(ctx, s->mark);
}

static int collect_cells(sq25_warning *w, sample_cells *s)
{
    size_t targets = w->targets->count;
    s->start = sq25__calloc(w->ctx, targets + 1, sizeof *s->start);
    s->mark = sq25__calloc(w->ctx, (size_t)w->width * w->height, 1);
    if (!s->start || !s->mark) return SQ25_ERR_NOMEM;
    for (size_t i = 0; i < targets; i++) {
        s->start[i] = s->count;
        int rc = target_cells(w, &w->targets->items[i], s);
        if (rc) return rc;
        for (size_t k = s->start[i]; k < s->count; k++) s->mark[s->cells[k]] = 0;
    }
    s->start[targets] = s->count;
    return SQ25_OK;
}

/* Maximum of grid over the cells of target i, ignoring NaN; NaN if none is valid. */
static double max_over(const sample_cells *s, size_t i, const float *grid)
{
    double m = NAN;
    for (size_t k = s->start[i]; k < s->start[i + 1]; k++) {
        float v = grid[s->cells[k]];
        if (!isnan(v) && !(v <= m)) m = v;
    }
    return m;
}

/* The target's state from its sampled cells: NO_DATA when none has data (also when none was
 * sampled: outside the grid), DEGRADED when some lack data or are degraded themselves. */
static int target_data_state(const sq25_warning *w, const sample_cells *s, size_t i)
{
    size_t with_data = 0, total = s->start[i + 1] - s->start[i];
    bool degraded = false;
    for (size_t k = s->start[i]; k < s->start[i + 1]; k++) {
        int cs = w->cell_state[s->cells[k]];
        with_data += cs != SQ25_STATE_NO_DATA;
        degraded |= cs == SQ25_STATE_DEGRADED;
    }
    if (with_data == 0) return SQ25_STATE_NO_DATA;
    return degraded || with_data < total ? SQ25_STATE_DEGRADED : SQ25_STATE_OK;
}

static void init_results(sq25_warning *w, const sample_cells *s)
{
    size_t n = (size_t)w->width * w->height;
    for (size_t i = 0; i < w->targets->count; i++) {
        sq25__target_result *r = &w->results[i];
        double own = w->targets->items[i].prob_threshold;
        r->prob_threshold = isnan(own) ? w->opt.probability_threshold : own;
        r->sampled_cells = (int)(s->start[i + 1] - s->start[i]);
        r->amount_mm = max_over(s, i, w->cum_mm + (size_t)(w->lead_count - 1) * n);
        r->peak_mmh = max_over(s, i, w->peak_mmh);
        r->data_state = target_data_state(w, s, i);
        /* no data is never "no warning": the level says so too */
        r->level = r->data_state == SQ25_STATE_NO_DATA ? SQ25_LEVEL_NO_DATA : 0;
        for (int k = 0; k < SQ25__WARN_MAX_LEVELS; k++) {
            r->probability[k] = NAN;
            r->onset_min[k] = NAN;
        }
    }
}

/* Cells [c0, c1) x [r0, r1) of the grid. */
typedef struct {
    int c0, r0, c1, r1;
} cell_box;

/* The bounding box of target i's cells grown by a window of half sizes (hc, hr), clipped to
 * the grid: every window around one of its cells lies inside. An empty box when the target
 * has no cells. */
static cell_box target_region(const sq25_warning *w, const sample_cells *s, size_t i, int hc,
                              int hr)
{
    cell_box b = {w->width, w->height, 0, 0};
    for (size_t k = s->start[i]; k < s->start[i + 1]; k++) {
        const int c = (int)(s->cells[k] % (size_t)w->width), r = (int)(s->cells[k] / (size_t)w->width);
        if (c < b.c0) b.c0 = c;
        if (c + 1 > b.c1) b.c1 = c + 1;
        if (r < b.r0) b.r0 = r;
        if (r + 1 > b.r1) b.r1 = r + 1;
    }
    if (b.c1 <= b.c0) return (cell_box){0, 0, 0, 0};
    b.c0 = b.c0 - hc < 0 ? 0 : b.c0 - hc;
    b.r0 = b.r0 - hr < 0 ? 0 : b.r0 - hr;
    b.c1 = b.c1 + hc > w->width ? w->width : b.c1 + hc;
    b.r1 = b.r1 + hr > w->height ? w->height : b.r1 + hr;
    return b;
}

/* Summed-area table over box b of the cells that have data (valid_table) or whose
 * accumulation reaches threshold_mm: (b width + 1) x (b height + 1) counts, the same tests as
 * the whole grid's tables (lib/warn.c). */
static void region_sat(const sq25_warning *w, const float *cum, cell_box b, bool valid_table,
                       double threshold_mm, uint32_t *sat)
{
    const size_t stride = (size_t)(b.c1 - b.c0) + 1;
    memset(sat, 0, stride * sizeof *sat);
    for (int r = b.r0; r < b.r1; r++) {
        const float *row = cum + (size_t)r * (size_t)w->width;
        uint32_t *out = sat + (size_t)(r - b.r0 + 1) * stride, *above = out - stride, run = 0;
        out[0] = 0;
        for (int c = b.c0; c < b.c1; c++) {
            run += valid_table ? !isnan(row[c]) : row[c] >= threshold_mm;
            out[c - b.c0 + 1] = above[c - b.c0 + 1] + run;
        }
    }
}

static uint32_t region_window_sum(const uint32_t *sat, cell_box b, int c0, int r0, int c1,
                                  int r1)
{
    const size_t stride = (size_t)(b.c1 - b.c0) + 1;
    c0 -= b.c0, c1 -= b.c0, r0 -= b.r0, r1 -= b.r0;
    return sat[(size_t)r1 * stride + c1] - sat[(size_t)r0 * stride + c1] -
           sat[(size_t)r1 * stride + c0] + sat[(size_t)r0 * stride + c0];
}

/* Maximum over target i's cells of the neighbourhood fraction (valid cells reaching the
 * threshold over valid cells in the window, NaN at a cell without data), NaN if no cell has
 * data: the same integer window counts and the same division as the whole grid's fraction
 * (sq25__warn_neighbourhood_with), so the same value to the bit. */
static double region_max_fraction(const sq25_warning *w, const sample_cells *s, size_t i,
                                  const float *cum, cell_box b, int hc, int hr,
                                  const uint32_t *valid_sat, const uint32_t *exceed_sat)
{
    double m = NAN;
    for (size_t k = s->start[i]; k < s->start[i + 1]; k++) {
        const size_t cell = s->cells[k];
        if (isnan(cum[cell])) continue;
        const int c = (int)(cell % (size_t)w->width), r = (int)(cell / (size_t)w->width);
        const int c0 = c - hc < 0 ? 0 : c - hc, c1 = c + hc + 1 > w->width ? w->width : c + hc + 1;
        const int r0 = r - hr < 0 ? 0 : r - hr, r1 = r + hr + 1 > w->height ? w->height : r + hr + 1;
        const uint32_t valid = region_window_sum(valid_sat, b, c0, r0, c1, r1);
        const uint32_t exceed = region_window_sum(exceed_sat, b, c0, r0, c1, r1);
        const float fraction = (float)((double)exceed / (double)valid);
        if (!(fraction <= m)) m = fraction;
    }
    return m;
}

/* Per level and lead: the neighbourhood probability, maximum over each target's cells. Only
 * the region of each target (its cells and their windows) is tabulated: a few targets on a
 * large grid cost a fraction of one pass over the grid per lead and level. */
static int probabilities_at_targets(sq25_warning *w, const sample_cells *s)
{
    const size_t n = (size_t)w->width * w->height;
    size_t most = 0; /* table entries of the largest region */
    for (size_t i = 0; i < w->targets->count; i++)
        for (int j = 0; j < w->lead_count; j++) {
            int hc, hr;
            sq25__warn_window(w, j, &hc, &hr);
            const cell_box b = target_region(w, s, i, hc, hr);
            const size_t cells = ((size_t)(b.c1 - b.c0) + 1) * ((size_t)(b.r1 - b.r0) + 1);
            if (cells > most) most = cells;
        }
    uint32_t *valid_sat = sq25__malloc(w->ctx, 2 * most * sizeof *valid_sat);
    if (!valid_sat) return SQ25_ERR_NOMEM;
    uint32_t *exceed_sat = valid_sat + most;
    for (size_t i = 0; i < w->targets->count; i++) {
        sq25__target_result *r = &w->results[i];
        for (int j = 0; j < w->lead_count; j++) {
            int hc, hr;
            sq25__warn_window(w, j, &hc, &hr);
            const cell_box b = target_region(w, s, i, hc, hr);
            if (b.c1 <= b.c0) break; /* no cells: nothing sampled */
            const float *cum = w->cum_mm + (size_t)j * n;
            const double lead_min = (j + 1) * w->lead_step_s / 60.0;
            region_sat(w, cum, b, true, 0, valid_sat);
            for (int k = 0; k < w->opt.level_count; k++) {
                region_sat(w, cum, b, false, w->opt.threshold_mm[k], exceed_sat);
                const double p =
                    region_max_fraction(w, s, i, cum, b, hc, hr, valid_sat, exceed_sat);
                if (isnan(p)) continue;
                if (!(p <= r->probability[k])) r->probability[k] = p;
                if (isnan(r->onset_min[k]) && p >= r->prob_threshold) r->onset_min[k] = lead_min;
            }
        }
    }
    sq25__free(w->ctx, valid_sat);
    for (size_t i = 0; i < w->targets->count; i++) {
        sq25__target_result *r = &w->results[i];
        for (int k = 0; k < w->opt.level_count; k++)
            if (r->probability[k] >= r->prob_threshold) r->level = k + 1;
    }
    return SQ25_OK;
}

int sq25_warning_evaluate_targets(sq25_warning *w, const sq25_targets *t)
{
    if (!w || !t) return SQ25_ERR_INVALID_ARG;
    sq25_targets_destroy(w->targets);
    sq25__free(w->ctx, w->results);
    w->targets = NULL;
    w->results = NULL;
    int rc = sq25__targets_clone(t, &w->targets);
    if (rc) return rc;
    w->results = sq25__calloc(w->ctx, t->count ? t->count : 1, sizeof *w->results);
    sample_cells s = {0};
    if (!w->results) rc = SQ25_ERR_NOMEM;
    if (rc == SQ25_OK) rc = collect_cells(w, &s);
    if (rc == SQ25_OK) {
        init_results(w, &s);
        rc = probabilities_at_targets(w, &s);
    }
    sample_free(w->ctx, &s);
    if (rc) {
        sq25_targets_destroy(w->targets);
        sq25__free(w->ctx, w->results);
        w->targets = NULL;
        w->results = NULL;
        return rc;
    }
    return sq25__ok(w->ctx);
}

int sq25_warning_target_result(const sq25_warning *w, size_t i, int *level, double *probability,
                               double *amount_mm, double *peak_mmh, double *onset_min)
{
    if (!w || !w->targets || i >= w->targets->count) return SQ25_ERR_RANGE;
    const sq25__target_result *r = &w->results[i];
    int k = r->level > 0 ? r->level - 1 : 0;
    if (level) *level = r->level;
    if (probability) *probability = r->probability[k];
    if (amount_mm) *amount_mm = r->amount_mm;
    if (peak_mmh) *peak_mmh = r->peak_mmh;
    if (onset_min) *onset_min = r->level > 0 ? r->onset_min[k] : NAN;
    return SQ25_OK;
}

int sq25_warning_target_probability(const sq25_warning *w, size_t i, int level,
                                    double *probability)
{
    if (!w || !w->targets || i >= w->targets->count || level < 1 ||
        level > w->opt.level_count || !probability)
        return SQ25_ERR_RANGE;
    *probability = w->results[i].probability[level - 1];
    return SQ25_OK;
}
