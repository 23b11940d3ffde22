/* warn.c -- the warning model: accumulations, onset leads, neighbourhood probabilities and
 * issued levels per grid cell (docs/warnings.md). */
#include "warn_internal.h"

#include <math.h>
#include <string.h>

/* DWD heavy-rain ("Starkregen") warning criteria by 1-hour totals (docs/warnings.md). */
static const double dwd_threshold_mm[3] = {15.0, 25.0, 40.0};
static const char *const dwd_level_name[3] = {"markant", "Unwetter", "extrem"};

/* ---- options ---- */

int sq25_warn_options_create(sq25_ctx *ctx, sq25_warn_options **out)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!out) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_warn_options_create: NULL out");
    *out = NULL;
    sq25_warn_options *o = sq25__calloc(ctx, 1, sizeof *o);
    if (!o) return SQ25_ERR_NOMEM;
    o->ctx = ctx;
    o->level_count = 3;
    for (int k = 0; k < 3; k++) {
        o->threshold_mm[k] = dwd_threshold_mm[k];
        snprintf(o->level_name[k], SQ25__WARN_NAME_CAP, "%s", dwd_level_name[k]);
    }
    o->radius_at_issue_m = 0.0;
    o->radius_growth_m_per_min = 100.0;
    o->probability_threshold = 0.3;
    o->horizon_s = 3600;
    o->target_radius_m = 250.0;
    *out = o;
    return sq25__ok(ctx);
}

void sq25_warn_options_destroy(sq25_warn_options *opt)
{
    if (opt) sq25__free(opt->ctx, opt);
}

int sq25_warn_options_set_levels(sq25_warn_options *opt, int count, const double *thresholds_mm,
                                 const char *const *names)
{
    if (!opt || !thresholds_mm) return SQ25_ERR_INVALID_ARG;
    if (count < 1 || count > SQ25_WARN_MAX_LEVELS)
        return sq25__fail(opt->ctx, SQ25_ERR_RANGE, "warning levels: %d levels, 1..%d allowed",
                          count, SQ25_WARN_MAX_LEVELS);
    for (int k = 0; k < count; k++) {
        bool increasing = k == 0 || thresholds_mm[k] > thresholds_mm[k - 1];
        if (!(thresholds_mm[k] > 0) || !isfinite(thresholds_mm[k]) || !increasing)
            return sq25__fail(opt->ctx, SQ25_ERR_RANGE,
                              "warning levels: threshold %d (%g mm) must be positive and "
                              "above the previous one", k + 1, thresholds_mm[k]);
    }
    opt->level_count = count;
    for (int k = 0; k < count; k++) {
        opt->threshold_mm[k] = thresholds_mm[k];
        if (names && names[k])
            snprintf(opt->level_name[k], SQ25__WARN_NAME_CAP, "%s", names[k]);
        else
            snprintf(opt->level_name[k], SQ25__WARN_NAME_CAP, "level %d", k + 1);
    }
    return sq25__ok(opt->ctx);
}

int sq25_warn_options_set_radius(sq25_warn_options *opt, double radius_at_issue_m,
                                 double growth_m_per_min)
{
    if (!opt) return SQ25_ERR_INVALID_ARG;
    if (!(radius_at_issue_m >= 0 && growth_m_per_min >= 0) || !isfinite(radius_at_issue_m) ||
        !isfinite(growth_m_per_min))
        return sq25__fail(opt->ctx, SQ25_ERR_RANGE,
                          "warning radius: %g m + %g m/min must be finite and >= 0",
                          radius_at_issue_m, growth_m_per_min);
    opt->radius_at_issue_m = radius_at_issue_m;
    opt->radius_growth_m_per_min = growth_m_per_min;
    return sq25__ok(opt->ctx);
}

int sq25_warn_options_set_probability_threshold(sq25_warn_options *opt, double probability)
{
    if (!opt) return SQ25_ERR_INVALID_ARG;
    if (!(probability > 0 && probability <= 1))
        return sq25__fail(opt->ctx, SQ25_ERR_RANGE,
                          "probability threshold %g outside (0, 1]", probability);
    opt->probability_threshold = probability;
    return sq25__ok(opt->ctx);
}

int sq25_warn_options_set_horizon(sq25_warn_options *opt, int horizon_s)
{
    if (!opt) return SQ25_ERR_INVALID_ARG;
    if (horizon_s <= 0 || horizon_s > 6 * 3600)
        return sq25__fail(opt->ctx, SQ25_ERR_RANGE, "horizon %d s outside 1..21600", horizon_s);
    opt->horizon_s = horizon_s;
    return sq25__ok(opt->ctx);
}

int sq25_warn_options_set_calibration(sq25_warn_options *opt, int count, const double *raw,
                                      const double *calibrated)
{
    if (!opt) return SQ25_ERR_INVALID_ARG;
    if (count == 0) {
        opt->calibration_count = 0;
        return sq25__ok(opt->ctx);
    }
    if (count < 2 || count > SQ25_WARN_MAX_CALIBRATION || !raw || !calibrated)
        return sq25__fail(opt->ctx, SQ25_ERR_RANGE, "calibration needs 2..%d points, got %d",
                          SQ25_WARN_MAX_CALIBRATION, count);
    for (int i = 0; i < count; i++) {
        bool in_range = raw[i] >= 0 && raw[i] <= 1 && calibrated[i] >= 0 && calibrated[i] <= 1;
        bool ordered = i == 0 || (raw[i] > raw[i - 1] && calibrated[i] >= calibrated[i - 1]);
        if (!in_range || !ordered)
            return sq25__fail(opt->ctx, SQ25_ERR_RANGE,
                              "calibration point %d (%g -> %g): raw must increase, calibrated "
                              "must not decrease, both within [0, 1]",
                              i, raw[i], calibrated[i]);
    }
    memcpy(opt->calibration_raw, raw, (size_t)count * sizeof *raw);
    memcpy(opt->calibration_p, calibrated, (size_t)count * sizeof *calibrated);
    opt->calibration_count = count;
    return sq25__ok(opt->ctx);
}

int sq25_warn_options_set_target_radius(sq25_warn_options *opt, double radius_m)
{
    if (!opt) return SQ25_ERR_INVALID_ARG;
    if (!(radius_m >= 0) || !isfinite(radius_m))
        return sq25__fail(opt->ctx, SQ25_ERR_RANGE, "target radius %g m must be >= 0", radius_m);
    opt->target_radius_m = radius_m;
    return sq25__ok(opt->ctx);
}

/* ---- checks on the input ---- */

static bool same_grid(const sq25_field *a, const sq25_field *b)
{
    return a->width == b->width && a->height == b->height &&
           memcmp(a->gt, b->gt, sizeof a->gt) == 0 && strcmp(a->projdef, b->projdef) == 0;
}

static int check_frames(sq25_ctx *ctx, const sq25_field *const *frames, int frame_count,
                        int lead_step_s, int64_t issue_time, int horizon_s)
{
    if (!frames || frame_count < 1 || lead_step_s <= 0)
        return sq25__fail(ctx, SQ25_ERR_INVALID_ARG,
                          "sq25_warn_compute: need frames and a positive lead step");
    if (horizon_s % lead_step_s != 0)
        return sq25__fail(ctx, SQ25_ERR_TIME_MISMATCH,
                          "horizon %d s is not a multiple of the lead step %d s", horizon_s,
                          lead_step_s);
    int needed = horizon_s / lead_step_s;
    if (frame_count < needed)
        return sq25__fail(ctx, SQ25_ERR_TOO_FEW,
                          "%d frames at %d s reach lead %d s, the horizon is %d s", frame_count,
                          lead_step_s, frame_count * lead_step_s, horizon_s);
    for (int i = 0; i < needed; i++) {
        if (!frames[i])
            return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_warn_compute: frame %d is NULL",
                              i);
        if (!same_grid(frames[0], frames[i]))
            return sq25__fail(ctx, SQ25_ERR_GRID_MISMATCH,
                              "forecast frame %d is not on the grid of frame 0", i);
        int64_t expected = issue_time + (int64_t)(i + 1) * lead_step_s;
        if (frames[i]->valid_time != expected) {
            char want[32], got[32];
            sq25__format_utc(expected, want, sizeof want);
            sq25__format_utc(frames[i]->valid_time, got, sizeof got);
            return sq25__fail(ctx, SQ25_ERR_TIME_MISMATCH,
                              "forecast frame %d is valid at %s, expected %s (issue + %d s)",
                              i, got, want, (i + 1) * lead_step_s);
        }
    }
    return SQ25_OK;
}

/* Pixel size in metres from the geotransform and the CRS's axis unit (through PROJ). */
static int pixel_size_m(sq25_ctx *ctx, const sq25_field *f, double *px_m, double *py_m)
{
    PJ *crs = sq25__proj_crs(ctx, f->projdef);
    if (!crs) return sq25_errcode(ctx);
    if (proj_get_type(crs) == PJ_TYPE_BOUND_CRS) { /* e.g. a proj-string with +towgs84 */
        PJ *source = proj_get_source_crs(ctx->pj_ctx, crs);
        proj_destroy(crs);
        crs = source;
        if (!crs)
            return sq25__fail(ctx, SQ25_ERR_PROJ, "cannot find the CRS inside \"%.120s\"",
                              f->projdef);
    }
    PJ_TYPE type = proj_get_type(crs);
    PJ *cs = proj_crs_get_coordinate_system(ctx->pj_ctx, crs);
    double to_metre = NAN;
    if (cs)
        proj_cs_get_axis_info(ctx->pj_ctx, cs, 0, NULL, NULL, NULL, &to_metre, NULL, NULL,
                              NULL);
    proj_destroy(cs);
    proj_destroy(crs);
    if (type == PJ_TYPE_GEOGRAPHIC_2D_CRS || type == PJ_TYPE_GEOGRAPHIC_3D_CRS ||
        type == PJ_TYPE_GEOGRAPHIC_CRS)
        return sq25__fail(ctx, SQ25_ERR_UNSUPPORTED,
                          "warnings need a projected grid; \"%.120s\" is geographic", f->projdef);
    if (!(to_metre > 0))
        return sq25__fail(ctx, SQ25_ERR_PROJ, "cannot find the axis unit of \"%.120s\"",
                          f->projdef);
    *px_m = hypot(f->gt[1], f->gt[4]) * to_metre;
    *py_m = hypot(f->gt[2], f->gt[5]) * to_metre;
    return SQ25_OK;
}

/* ---- computation ---- */

static size_t cell_count(const sq25_warning *w) { return (size_t)w->width * (size_t)w->height; }

/* Cumulative accumulation to each lead, the peak rate and the first lead at which each
 * level's threshold is reached, in one pass over blocks of CELL_BLOCK cells: lead by lead
 * within a block, so that the totals of a block stay in registers and the lead loop is one
 * that -O2 vectorises (fixed trip count, restrict parameters). Callgrind, the 12 leads of
 * the demo's street grid: 102 M instructions for the two passes cell by cell before. */
#define CELL_BLOCK 32

static void accumulate_block(const float *restrict rate, double mm_per_mmh,
                             double *restrict sum_mm, double *restrict peak,
                             float *restrict cum)
{
    for (int c = 0; c < CELL_BLOCK; c++) {
        const double r = rate[c];
        sum_mm[c] += r * mm_per_mmh; /* NaN stays NaN for all later leads */
        peak[c] = r > peak[c] ? r : peak[c];
        cum[c] = (float)sum_mm[c];
    }
}

/* Onsets of cells [c0, c0 + count) at lead j from their totals there. Thresholds strictly
 * increase with the level (sq25_warn_options_set_levels), so a lead that reaches level k + 1
 * reaches level k: levels are reached in order and only the lowest one not reached yet
 * (next[c]) needs a test. */
static void onset_block(sq25_warning *w, size_t c0, int count, int j, const float *cum,
                        unsigned char *next)
{
    const size_t n = cell_count(w);
    const int levels = w->opt.level_count;
    const float lead_min = (float)((j + 1) * w->lead_step_s / 60.0);
    for (int c = 0; c < count; c++)
        while (next[c] < levels && cum[c] >= w->opt.threshold_mm[next[c]])
            w->onset_min[(size_t)next[c]++ * n + c0 + (size_t)c] = lead_min;
}

/* Cells [c0, c0 + count), count <= CELL_BLOCK. */
static void accumulate_cells(sq25_warning *w, const sq25_field *const *frames, size_t c0,
                             int count)
{
    const size_t n = cell_count(w);
    const double mm_per_mmh = w->lead_step_s / 3600.0;
    double sum_mm[CELL_BLOCK], peak[CELL_BLOCK];
    unsigned char next[CELL_BLOCK]; /* lowest level not reached yet */
    for (int c = 0; c < CELL_BLOCK; c++) sum_mm[c] = 0, peak[c] = -INFINITY, next[c] = 0;
    for (int j = 0; j < w->lead_count; j++) {
        const float *rate = frames[j]->data + c0;
        float *cum = w->cum_mm + (size_t)j * n + c0;
        if (count == CELL_BLOCK) {
            accumulate_block(rate, mm_per_mmh, sum_mm, peak, cum);
        } else {
            for (int c = 0; c < count; c++) {
                const double r = rate[c];
                sum_mm[c] += r * mm_per_mmh;
                peak[c] = r > peak[c] ? r : peak[c];
                cum[c] = (float)sum_mm[c];
            }
        }
        onset_block(w, c0, count, j, cum, next);
    }
    for (int c = 0; c < count; c++) {
        w->peak_mmh[c0 + (size_t)c] = isnan(sum_mm[c]) ? NAN : (float)peak[c];
        for (int k = next[c]; k < w->opt.level_count; k++)
            w->onset_min[(size_t)k * n + c0 + (size_t)c] = NAN;
    }
}

static void accumulate_rows(void *arg, int begin, int end, int worker)
{
    (void)worker;
    sq25_warning *w = ((void **)arg)[0];
    const sq25_field *const *frames = ((void **)arg)[1];
    const size_t last = (size_t)end * w->width;
    for (size_t c = (size_t)begin * w->width; c < last; c += CELL_BLOCK)
        accumulate_cells(w, frames, c, last - c < CELL_BLOCK ? (int)(last - c) : CELL_BLOCK);
}

static void accumulate_and_onsets(sq25_warning *w, const sq25_field *const *frames)
{
    void *arg[2] = {w, (void *)frames};
    sq25__parallel_for(w->ctx, w->height, 16, accumulate_rows, arg);
}

void sq25__warn_window(const sq25_warning *w, int j, int *half_cols, int *half_rows)
{
    double lead_min = (j + 1) * w->lead_step_s / 60.0;
    double radius_m = w->opt.radius_at_issue_m + w->opt.radius_growth_m_per_min * lead_min;
    double hc = floor(radius_m / w->pixel_x_m + 0.5), hr = floor(radius_m / w->pixel_y_m + 0.5);
    *half_cols = hc > w->width ? w->width : (int)hc;
    *half_rows = hr > w->height ? w->height : (int)hr;
}

/* Summed-area tables of valid cells and of cells reaching threshold_mm, (w+1) x (h+1), in
 * two parallel passes: running sums along each row, then down each column block. Integer
 * sums, so the split cannot change a value. The valid cells' table depends on the lead only
 * and is kept for the levels of that lead. */
typedef struct {
    const sq25_warning *w;
    const float *cum;
    double threshold_mm;
    uint32_t *sat;     /* the table being built */
    bool valid_table;  /* counting valid cells (else cells reaching the threshold) */
    const uint32_t *valid_sat, *exceed_sat;
    int half_cols, half_rows;
    float *out;
    bool fold_max;     /* out = max(out, fraction), NaN sticks; else out = fraction */
} sat_job;

#define SAT_COLUMN_BLOCK 64

static void sat_row_sums(void *arg, int begin, int end, int worker)
{
    (void)worker;
    const sat_job *j = arg;
    const int width = j->w->width;
    const size_t stride = (size_t)width + 1;
    for (int r = begin; r < end; r++) {
        uint32_t run = 0;
        uint32_t *row = j->sat + (size_t)(r + 1) * stride;
        const float *cum = j->cum + (size_t)r * width;
        row[0] = 0;
        if (j->valid_table)
            for (int c = 0; c < width; c++) row[c + 1] = run += !isnan(cum[c]);
        else
            for (int c = 0; c < width; c++) row[c + 1] = run += cum[c] >= j->threshold_mm;
    }
}

/* Second pass of count tables: running sums down the columns of blocks [begin, end). */
static void column_sums(const sq25_warning *w, uint32_t *const *tables, int count, int begin,
                        int end)
{
    const size_t stride = (size_t)w->width + 1;
    const size_t c0 = (size_t)begin * SAT_COLUMN_BLOCK;
    const size_t c1 = (size_t)end * SAT_COLUMN_BLOCK < stride ? (size_t)end * SAT_COLUMN_BLOCK
                                                               : stride;
    for (int t = 0; t < count; t++)
        for (int r = 1; r <= w->height; r++) {
            uint32_t *row = tables[t] + (size_t)r * stride;
            const uint32_t *above = row - stride;
            for (size_t c = c0; c < c1; c++) row[c] += above[c];
        }
}

static void sat_column_sums(void *arg, int begin, int end, int worker)
{
    (void)worker;
    const sat_job *j = arg;
    column_sums(j->w, &j->sat, 1, begin, end);
}

static void sat_build(sat_job *job, uint32_t *sat, bool valid_table)
{
    const sq25_warning *w = job->w;
    const size_t stride = (size_t)w->width + 1;
    job->sat = sat;
    job->valid_table = valid_table;
    memset(sat, 0, stride * sizeof *sat);
    sq25__parallel_for(w->ctx, w->height, 16, sat_row_sums, job);
    sq25__parallel_for(w->ctx, (int)((stride + SAT_COLUMN_BLOCK - 1) / SAT_COLUMN_BLOCK), 1,
                       sat_column_sums, job);
}

/* The valid cells' table and one table per level of a lead (tables[0]: valid, tables[1 + k]:
 * level k), each in one pass down its rows: entry = the entry above + the row's running
 * count, so a table is written once, in order (the row above is still in cache). Tables are
 * the parallel items. A pass of row sums and then one of column sums over blocks of columns
 * read and wrote every table once more, with strides of a row; on a 2500 x 2500 grid those
 * two passes took a third of a pipeline cycle. Integer counts: the same values whatever
 * the split. */
typedef struct {
    const sq25_warning *w;
    const float *cum;
    uint32_t *tables[SQ25_WARN_MAX_LEVELS + 1];
    int count; /* tables built: the valid cells' and those of the levels reached */
} sat_all_job;

static void sat_all_tables(void *arg, int begin, int end, int worker)
{
    (void)worker;
    const sat_all_job *j = arg;
    const sq25_warning *w = j->w;
    const int width = w->width;
    const size_t stride = (size_t)width + 1;
    for (int t = begin; t < end; t++) {
        const double threshold = t > 0 ? w->opt.threshold_mm[t - 1] : 0;
        uint32_t *table = j->tables[t];
        memset(table, 0, stride * sizeof *table);
        for (int r = 0; r < w->height; r++) {
            const float *cum = j->cum + (size_t)r * width;
            uint32_t *row = table + (size_t)(r + 1) * stride, run = 0;
            const uint32_t *above = row - stride;
            row[0] = 0;
            if (t == 0)
                for (int c = 0; c < width; c++) row[c + 1] = above[c + 1] + (run += !isnan(cum[c]));
            else
                for (int c = 0; c < width; c++)
                    row[c + 1] = above[c + 1] + (run += cum[c] >= threshold);
        }
    }
}

static void sat_build_all(sat_all_job *job)
{
    sq25__parallel_for(job->w->ctx, job->count, 1, sat_all_tables, job);
}

static uint32_t window_sum(const uint32_t *sat, size_t stride, int c0, int r0, int c1, int r1)
{
    /* cells c0..c1-1, r0..r1-1 */
    return sat[(size_t)r1 * stride + c1] - sat[(size_t)r0 * stride + c1] -
           sat[(size_t)r1 * stride + c0] + sat[(size_t)r0 * stride + c0];
}

/* Neighbourhood fractions of rows [begin, end). */
static void neighbourhood_rows(void *arg, int begin, int end, int worker)
{
    (void)worker;
    const sat_job *j = arg;
    const sq25_warning *w = j->w;
    const size_t stride = (size_t)w->width + 1;
    const int hc = j->half_cols, hr = j->half_rows;
    for (int r = begin; r < end; r++) {
        int r0 = r - hr < 0 ? 0 : r - hr, r1 = r + hr + 1 > w->height ? w->height : r + hr + 1;
        /* no cell of the rows the windows span reaches the threshold: every valid cell's
         * fraction is exactly 0 (its window holds at least the cell itself) */
        const bool none = window_sum(j->exceed_sat, stride, 0, r0, w->width, r1) == 0;
        for (int c = 0; c < w->width; c++) {
            size_t i = (size_t)r * w->width + c;
            float fraction = NAN;
            if (none) {
                if (!isnan(j->cum[i])) fraction = 0.0f;
            } else if (!isnan(j->cum[i])) {
                int c0 = c - hc < 0 ? 0 : c - hc, c1 = c + hc + 1 > w->width ? w->width : c + hc + 1;
                uint32_t valid = window_sum(j->valid_sat, stride, c0, r0, c1, r1);
                uint32_t exceed = window_sum(j->exceed_sat, stride, c0, r0, c1, r1);
                fraction = (float)((double)exceed / (double)valid);
            }
            if (!j->fold_max || isnan(fraction) || fraction > j->out[i]) j->out[i] = fraction;
        }
    }
}

int sq25__warn_sats_init(const sq25_warning *w, sq25__warn_sats *s)
{
    size_t sat_cells = ((size_t)w->width + 1) * ((size_t)w->height + 1);
    s->valid_sat = sq25__malloc(w->ctx, sat_cells * sizeof *s->valid_sat);
    s->exceed_sat = sq25__malloc(w->ctx, sat_cells * sizeof *s->exceed_sat);
    s->valid_lead = -1;
    if (s->valid_sat && s->exceed_sat) return SQ25_OK;
    sq25__warn_sats_free(w, s);
    return SQ25_ERR_NOMEM;
}

void sq25__warn_sats_free(const sq25_warning *w, sq25__warn_sats *s)
{
    sq25__free(w->ctx, s->valid_sat);
    sq25__free(w->ctx, s->exceed_sat);
    s->valid_sat = s->exceed_sat = NULL;
}

void sq25__warn_neighbourhood_with(const sq25_warning *w, int k, int j, sq25__warn_sats *s,
                                   float *out, bool fold_max)
{
    const size_t n = cell_count(w);
    sat_job job = {.w = w, .cum = w->cum_mm + (size_t)j * n, .threshold_mm = w->opt.threshold_mm[k],
                   .valid_sat = s->valid_sat, .exceed_sat = s->exceed_sat, .out = out,
                   .fold_max = fold_max};
    if (s->valid_lead != j) {
        sat_build(&job, s->valid_sat, true);
        s->valid_lead = j;
    }
    sat_build(&job, s->exceed_sat, false);
    sq25__warn_window(w, j, &job.half_cols, &job.half_rows);
    sq25__parallel_for(w->ctx, w->height, 16, neighbourhood_rows, &job);
}

int sq25__warn_neighbourhood(const sq25_warning *w, int k, int j, float *out)
{
    sq25__warn_sats s;
    if (sq25__warn_sats_init(w, &s)) return SQ25_ERR_NOMEM;
    sq25__warn_neighbourhood_with(w, k, j, &s, out, false);
    sq25__warn_sats_free(w, &s);
    return SQ25_OK;
}

/* The calibrated probability of a raw neighbourhood fraction (identity without a map). */
float sq25__warn_calibrate(const sq25_warn_options *o, float raw)
{
    int n = o->calibration_count;
    if (n == 0 || isnan(raw)) return raw;
    if (raw <= o->calibration_raw[0]) return (float)o->calibration_p[0];
    for (int i = 1; i < n; i++) {
        if (raw <= o->calibration_raw[i]) {
            double t = (raw - o->calibration_raw[i - 1]) /
                       (o->calibration_raw[i] - o->calibration_raw[i - 1]);
            return (float)(o->calibration_p[i - 1] +
                           t * (o->calibration_p[i] - o->calibration_p[i - 1]));
        }
    }
    return (float)o->calibration_p[n - 1];
}

/* Calibration and issued level of cells [begin, end) rows. */
static void levels_rows(void *arg, int begin, int end, int worker)
{
    (void)worker;
    sq25_warning *w = arg;
    const size_t n = cell_count(w);
    for (size_t c = (size_t)begin * w->width; c < (size_t)end * w->width; c++) {
        float level = isnan(w->peak_mmh[c]) ? NAN : 0;
        for (int k = 0; k < w->opt.level_count; k++) {
            float *prob = w->probability + (size_t)k * n + c;
            *prob = sq25__warn_calibrate(&w->opt, *prob);
            if (*prob >= w->opt.probability_threshold) level = (float)(k + 1);
        }
        w->level[c] = level;
    }
}

/* All levels of one lead at once: the valid cells' window sum is taken once per cell and
 * each level's fraction folded into its probability (max over the leads, NaN sticks). */
typedef struct {
    const sq25_warning *w;
    const float *cum;
    const uint32_t *valid_sat, *exceed_sat[SQ25_WARN_MAX_LEVELS];
    int half_cols, half_rows;
    int reached; /* levels 0 .. reached - 1 have a cell at their threshold in this lead */
} levels_job;

#define QUIET_BLOCK 32
static void neighbourhood_levels_rows(void *arg, int begin, int end, int worker)
{
    (void)worker;
    const levels_job *j = arg;
    const sq25_warning *w = j->w;
    const size_t stride = (size_t)w->width + 1, n = cell_count(w);
    const int hc = j->half_cols, hr = j->half_rows, levels = w->opt.level_count;
    for (int r = begin; r < end; r++) {
        int r0 = r - hr < 0 ? 0 : r - hr, r1 = r + hr + 1 > w->height ? w->height : r + hr + 1;
        /* levels without a cell reaching them in the rows the windows span: fraction 0 */
        bool any[SQ25_WARN_MAX_LEVELS];
        for (int k = 0; k < levels; k++)
            any[k] = k < j->reached &&
                     window_sum(j->exceed_sat[k], stride, 0, r0, w->width, r1) != 0;
        /* and blocks of QUIET_BLOCK cells whose windows together hold no cell at the
         * lowest level: no level has a cell in any of their windows (levels are nested) */
        bool quiet = true;
        for (int c = 0; c < w->width; c++) {
            const size_t i = (size_t)r * w->width + c;
            float *prob = w->probability + i;
            if (c % QUIET_BLOCK == 0) { /* a new block of cells */
                const int b1 = c + QUIET_BLOCK < w->width ? c + QUIET_BLOCK : w->width;
                const int s0 = c - hc < 0 ? 0 : c - hc, s1 = b1 + hc > w->width ? w->width : b1 + hc;
                quiet = !any[0] || window_sum(j->exceed_sat[0], stride, s0, r0, s1, r1) == 0;
            }
            if (isnan(j->cum[i])) {
                for (int k = 0; k < levels; k++) prob[(size_t)k * n] = NAN;
                continue;
            }
            if (quiet) continue;
            int c0 = c - hc < 0 ? 0 : c - hc, c1 = c + hc + 1 > w->width ? w->width : c + hc + 1;
            uint32_t valid = 0;
            for (int k = 0; k < levels; k++) {
                /* no exceedance in the window: the fraction is exactly 0, which changes no
                 * probability (the valid count is needed only otherwise); and as a cell at
                 * level k + 1's threshold is at level k's (they increase), none for the
                 * higher levels either */
                uint32_t exceed = any[k] ? window_sum(j->exceed_sat[k], stride, c0, r0, c1, r1) : 0;
                if (exceed == 0) break;
                if (valid == 0) valid = window_sum(j->valid_sat, stride, c0, r0, c1, r1);
                float fraction = (float)((double)exceed / (double)valid);
                float *p = prob + (size_t)k * n;
                if (fraction > *p) *p = fraction; /* *p is not NaN: cum was valid so far */
            }
        }
    }
}

/* The earliest onset of each level over all cells (minutes, +inf where no cell reaches it):
 * at lead j a level whose earliest onset is later has no cell at its threshold, and the
 * tables of such levels would hold only zeros. */
static void earliest_onsets(const sq25_warning *w, float *first_min)
{
    const size_t n = cell_count(w);
    for (int k = 0; k < w->opt.level_count; k++) {
        const float *onset = w->onset_min + (size_t)k * n;
        float m = INFINITY;
        for (size_t i = 0; i < n; i++) m = onset[i] < m ? onset[i] : m; /* NaN: not reached */
        first_min[k] = m;
    }
}

/* How many levels (reached in order: their thresholds increase) have a cell at their
 * threshold by lead j, the lead minutes computed as onset_block does. */
static int levels_reached(const sq25_warning *w, const float *first_min, int j)
{
    const float lead_min = (float)((j + 1) * w->lead_step_s / 60.0);
    int k = 0;
    while (k < w->opt.level_count && first_min[k] <= lead_min) k++;
    return k;
}

/* The probability of each level is the maximum over the leads of the neighbourhood
 * fraction (NaN where any lead has no data); per lead, one table of valid cells and one per
 * level, then one pass for all levels. */
static int probabilities_and_levels(sq25_warning *w)
{
    const size_t n = cell_count(w), stride = (size_t)w->width + 1;
    const size_t sat_cells = stride * ((size_t)w->height + 1);
    const int levels = w->opt.level_count;
    uint32_t *tables = sq25__malloc(w->ctx, (size_t)(levels + 1) * sat_cells * sizeof *tables);
    if (!tables) return SQ25_ERR_NOMEM;
    memset(w->probability, 0, n * (size_t)levels * sizeof *w->probability);
    levels_job lj = {.w = w, .valid_sat = tables};
    sat_all_job job = {.w = w};
    for (int t = 0; t <= levels; t++) job.tables[t] = tables + (size_t)t * sat_cells;
    for (int k = 0; k < levels; k++) lj.exceed_sat[k] = job.tables[k + 1];
    float first_min[SQ25_WARN_MAX_LEVELS];
    earliest_onsets(w, first_min);
    for (int j = 0; j < w->lead_count; j++) {
        job.cum = lj.cum = w->cum_mm + (size_t)j * n;
        lj.reached = levels_reached(w, first_min, j);
        job.count = 1 + lj.reached; /* a level no cell reaches has fraction 0 everywhere */
        sat_build_all(&job);
        sq25__warn_window(w, j, &lj.half_cols, &lj.half_rows);
        sq25__parallel_for(w->ctx, w->height, 16, neighbourhood_levels_rows, &lj);
    }
    sq25__free(w->ctx, tables);
    sq25__parallel_for(w->ctx, w->height, 16, levels_rows, w);
    return SQ25_OK;
}

int sq25__warn_allocate_grids(sq25_warning *w)
{
    size_t n = cell_count(w);
    size_t levels = (size_t)w->opt.level_count;
    w->cum_mm = sq25__malloc(w->ctx, n * (size_t)w->lead_count * sizeof(float));
    w->peak_mmh = sq25__malloc(w->ctx, n * sizeof(float));
    w->probability = sq25__malloc(w->ctx, n * levels * sizeof(float));
    w->onset_min = sq25__malloc(w->ctx, n * levels * sizeof(float));
    w->level = sq25__malloc(w->ctx, n * sizeof(float));
    if (!w->cum_mm || !w->peak_mmh || !w->probability || !w->onset_min || !w->level)
        return SQ25_ERR_NOMEM;
    return SQ25_OK;
}

int sq25_warn_compute(sq25_ctx *ctx, const sq25_warn_options *opt,
                      const sq25_field *const *frames, int frame_count, int lead_step_s,
                      int64_t issue_time, sq25_warning **out)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!out) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_warn_compute: NULL out");
    *out = NULL;
    sq25_warn_options defaults;
    if (!opt) {
        sq25_warn_options *d = NULL;
        int rc = sq25_warn_options_create(ctx, &d);
        if (rc) return rc;
        defaults = *d;
        sq25_warn_options_destroy(d);
        opt = &defaults;
    }
    int rc = check_frames(ctx, frames, frame_count, lead_step_s, issue_time, opt->horizon_s);
    if (rc) return rc;
    double px_m = 0, py_m = 0;
    if ((rc = pixel_size_m(ctx, frames[0], &px_m, &py_m))) return rc;

    sq25_warning *w = sq25__calloc(ctx, 1, sizeof *w);
    if (!w) return SQ25_ERR_NOMEM;
    w->ctx = ctx;
    w->opt = *opt;
    w->opt.ctx = ctx;
    w->input_state = SQ25_STATE_OK;
    w->data_time = issue_time;
    w->width = frames[0]->width;
    w->height = frames[0]->height;
    w->lead_step_s = lead_step_s;
    w->lead_count = opt->horizon_s / lead_step_s;
    w->issue_time = issue_time;
    w->pixel_x_m = px_m;
    w->pixel_y_m = py_m;
    if ((rc = sq25__warn_allocate_grids(w)) || (rc = sq25__field_copy_in(ctx, frames[0], &w->grid))) {
        sq25_warning_destroy(w);
        return rc;
    }
    accumulate_and_onsets(w, frames);
    if ((rc = probabilities_and_levels(w)) || (rc = sq25__warn_cell_states(w))) {
        sq25_warning_destroy(w);
        return rc;
    }
    memcpy(w->grid->data, w->cum_mm + (size_t)(w->lead_count - 1) * cell_count(w),
           cell_count(w) * sizeof(float));
    w->grid->valid_time = issue_time + opt->horizon_s;
    w->grid->accumulation_s = opt->horizon_s;
    *out = w;
    return sq25__ok(ctx);
}

void sq25_warning_destroy(sq25_warning *w)
{
    if (!w) return;
    sq25_ctx *ctx = w->ctx;
    sq25_field_destroy(w->grid);
    sq25__free(ctx, w->cum_mm);
    sq25__free(ctx, w->peak_mmh);
    sq25__free(ctx, w->probability);
    sq25__free(ctx, w->onset_min);
    sq25__free(ctx, w->level);
    sq25__free(ctx, w->cell_state);
    for (size_t i = 0; i < w->input_count; i++) sq25__free(ctx, w->inputs[i]);
    sq25__free(ctx, w->inputs);
    sq25__free(ctx, w->analysis_json);
    sq25_targets_destroy(w->targets);
    sq25__free(ctx, w->results);
    sq25__free(ctx, w);
}

/* ---- accessors ---- */

int64_t sq25_warning_issue_time(const sq25_warning *w) { return w ? w->issue_time : 0; }
int sq25_warning_horizon_s(const sq25_warning *w) { return w ? w->opt.horizon_s : 0; }
int sq25_warning_lead_step_s(const sq25_warning *w) { return w ? w->lead_step_s : 0; }
int sq25_warning_level_count(const sq25_warning *w) { return w ? w->opt.level_count : 0; }

double sq25_warning_level_threshold_mm(const sq25_warning *w, int level)
{
    if (!w || level < 1 || level > w->opt.level_count) return NAN;
    return w->opt.threshold_mm[level - 1];
}

const char *sq25_warning_level_name(const sq25_warning *w, int level)
{
    if (!w || level < 1 || level > w->opt.level_count) return "";
    return w->opt.level_name[level - 1];
}

int sq25_warning_add_input(sq25_warning *w, const char *name)
{
    if (!w || !name) return SQ25_ERR_INVALID_ARG;
    char **grown = sq25__malloc(w->ctx, (w->input_count + 1) * sizeof *grown);
    char *copy = sq25__strdup(w->ctx, name);
    if (!grown || !copy) {
        sq25__free(w->ctx, grown);
        sq25__free(w->ctx, copy);
        return SQ25_ERR_NOMEM;
    }
    if (w->input_count) memcpy(grown, w->inputs, w->input_count * sizeof *grown);
    sq25__free(w->ctx, w->inputs);
    w->inputs = grown;
    w->inputs[w->input_count++] = copy;
    return sq25__ok(w->ctx);
}

/* A new field on the warning's grid holding a copy of values. */
static int grid_copy(const sq25_warning *w, const float *values, int64_t valid_time,
                     int accumulation_s, sq25_field **out)
{
    if (!out) return sq25__fail(w->ctx, SQ25_ERR_INVALID_ARG, "NULL out");
    *out = NULL;
    sq25_field *f = NULL;
    int rc = sq25_field_create(w->ctx, w->width, w->height, w->grid->projdef, w->grid->gt,
                               valid_time, &f);
    if (rc) return rc;
    memcpy(f->data, values, cell_count(w) * sizeof(float));
    f->accumulation_s = accumulation_s;
    *out = f;
    return SQ25_OK;
}

int sq25_warning_accumulation(const sq25_warning *w, int minutes, sq25_field **out)
{
    if (!w) return SQ25_ERR_INVALID_ARG;
    int seconds = minutes * 60;
    if (minutes <= 0 || seconds % w->lead_step_s != 0 || seconds > w->opt.horizon_s)
        return sq25__fail(w->ctx, SQ25_ERR_RANGE,
                          "accumulation over %d min: need a multiple of the %d s step up to "
                          "the %d s horizon", minutes, w->lead_step_s, w->opt.horizon_s);
    int j = seconds / w->lead_step_s - 1;
    return grid_copy(w, w->cum_mm + (size_t)j * cell_count(w), w->issue_time + seconds, seconds,
                     out);
}

int sq25_warning_peak_rate(const sq25_warning *w, sq25_field **out)
{
    if (!w) return SQ25_ERR_INVALID_ARG;
    return grid_copy(w, w->peak_mmh, w->issue_time + w->opt.horizon_s, 0, out);
}

static int check_level(const sq25_warning *w, int level)
{
    if (level < 1 || level > w->opt.level_count)
        return sq25__fail(w->ctx, SQ25_ERR_RANGE, "level %d outside 1..%d", level,
                          w->opt.level_count);
    return SQ25_OK;
}

int sq25_warning_onset(const sq25_warning *w, int level, sq25_field **out)
{
    if (!w) return SQ25_ERR_INVALID_ARG;
    int rc = check_level(w, level);
    if (rc) return rc;
    return grid_copy(w, w->onset_min + (size_t)(level - 1) * cell_count(w),
                     w->issue_time + w->opt.horizon_s, 0, out);
}

int sq25_warning_probability(const sq25_warning *w, int level, sq25_field **out)
{
    if (!w) return SQ25_ERR_INVALID_ARG;
    int rc = check_level(w, level);
    if (rc) return rc;
    return grid_copy(w, w->probability + (size_t)(level - 1) * cell_count(w),
                     w->issue_time + w->opt.horizon_s, 0, out);
}

int sq25_warning_levels(const sq25_warning *w, sq25_field **out)
{
    if (!w) return SQ25_ERR_INVALID_ARG;
    return grid_copy(w, w->level, w->issue_time + w->opt.horizon_s, 0, out);
}

int sq25__warning_set_analysis(sq25_warning *w, const char *json)
{
    char *copy = sq25__strdup(w->ctx, json);
    if (!copy) return SQ25_ERR_NOMEM;
    sq25__free(w->ctx, w->analysis_json);
    w->analysis_json = copy;
    return SQ25_OK;
}
