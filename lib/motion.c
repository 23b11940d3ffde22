/* motion.c -- optical flow between radar frames: options, preprocessing (dBR, clutter clip,
 * despeckle, nodata mask), image pyramids, and the dense multiscale method ("dense": windowed
 * least squares solved coarse to fine with warping, all frames sharing one motion).
 * The sparse Lucas-Kanade method lives in motion_lk.c. */
#include "motion_impl.h"

#include <math.h>
#include <string.h>

/* ---- options ---------------------------------------------------------------------------- */

int sq25_motion_options_create(sq25_ctx *ctx, sq25_motion_options **out)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!out) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_motion_options_create: NULL");
    sq25_motion_options *o = sq25__calloc(ctx, 1, sizeof *o);
    if (!(*out = o)) return SQ25_ERR_NOMEM;
    o->ctx = ctx;
    o->method = SQ25_MOTION_DENSE;
    o->rain_threshold_mmh = 0.1;
    o->clip_mmh = 100.0;
    o->levels = 5;
    o->window_radius_px = 9;
    o->iterations = 3;
    o->finest_level = 2;
    o->regularisation = 0.2;
    o->max_corners = 1000;
    o->lk_window_radius_px = 12;
    o->min_distance_px = 10;
    o->grid_step_px = 10;
    o->idw_scale_px = 20.0;
    o->floor_gap_db = 0.0;
    o->max_pair_steps = 2;
    return sq25__ok(ctx);
}

void sq25_motion_options_destroy(sq25_motion_options *opt)
{
    if (opt) sq25__free(opt->ctx, opt);
}

static int bad_option(const sq25_motion_options *opt, const char *what)
{
    return opt ? sq25__fail(opt->ctx, SQ25_ERR_RANGE, "motion option %s out of range", what)
               : SQ25_ERR_INVALID_ARG;
}

int sq25_motion_options_set_method(sq25_motion_options *opt, int method)
{
    if (!opt || (method != SQ25_MOTION_LK && method != SQ25_MOTION_DENSE))
        return bad_option(opt, "method");
    opt->method = method;
    return SQ25_OK;
}

int sq25_motion_options_set_rain_threshold(sq25_motion_options *opt, double mmh)
{
    if (!opt || !(mmh > 0 && mmh < 1000)) return bad_option(opt, "rain threshold");
    opt->rain_threshold_mmh = mmh;
    return SQ25_OK;
}

int sq25_motion_options_set_clip(sq25_motion_options *opt, double mmh)
{
    if (!opt || !(mmh > 0)) return bad_option(opt, "clip");
    opt->clip_mmh = mmh;
    return SQ25_OK;
}

int sq25_motion_options_set_levels(sq25_motion_options *opt, int levels)
{
    if (!opt || levels < 1 || levels > SQ25__MOTION_MAX_LEVELS) return bad_option(opt, "levels");
    opt->levels = levels;
    return SQ25_OK;
}

int sq25_motion_options_set_window_radius(sq25_motion_options *opt, int radius_px)
{
    if (!opt || radius_px < 1 || radius_px > 100) return bad_option(opt, "window radius");
    opt->window_radius_px = radius_px;
    opt->lk_window_radius_px = radius_px;
    return SQ25_OK;
}

int sq25_motion_options_set_iterations(sq25_motion_options *opt, int iterations)
{
    if (!opt || iterations < 1 || iterations > 100) return bad_option(opt, "iterations");
    opt->iterations = iterations;
    return SQ25_OK;
}

int sq25_motion_options_set_max_corners(sq25_motion_options *opt, int max_corners)
{
    if (!opt || max_corners < 1 || max_corners > 100000) return bad_option(opt, "max corners");
    opt->max_corners = max_corners;
    return SQ25_OK;
}

int sq25__motion_options_tune(sq25_motion_options *opt, const char *key, double value)
{
    if (!opt || !key) return SQ25_ERR_INVALID_ARG;
    if (strcmp(key, "finest_level") == 0) opt->finest_level = (int)value;
    else if (strcmp(key, "regularisation") == 0) opt->regularisation = value;
    else if (strcmp(key, "lk_window_radius") == 0) opt->lk_window_radius_px = (int)value;
    else if (strcmp(key, "idw_scale") == 0) opt->idw_scale_px = value;
    else if (strcmp(key, "grid_step") == 0) opt->grid_step_px = (int)value;
    else if (strcmp(key, "floor_gap") == 0) opt->floor_gap_db = value;
    else if (strcmp(key, "min_distance") == 0) opt->min_distance_px = (int)value;
    else if (strcmp(key, "max_pair_steps") == 0) opt->max_pair_steps = (int)value;
    else return SQ25_ERR_INVALID_ARG;
    return SQ25_OK;
}

int sq25_motion_method_from_name(const char *name, int *method)
{
    if (!name || !method) return SQ25_ERR_INVALID_ARG;
    if (strcmp(name, "lk") == 0) *method = SQ25_MOTION_LK;
    else if (strcmp(name, "dense") == 0) *method = SQ25_MOTION_DENSE;
    else return SQ25_ERR_INVALID_ARG;
    return SQ25_OK;
}

/* ---- preprocessing and pyramids --------------------------------------------------------- */

/* dBR of a rate, clipped at clip_mmh; dry cells (below the threshold) get the floor value,
 * floor_gap_db (default 0 dB) under the threshold's dBR: with no gap the floor joins the rain
 * continuously, which gave unbiased sub-pixel motion (a 5 dB step biased it, docs/nowcast.md). */
static void rates_to_dbr(const float *rate, size_t n, const struct sq25_motion_options *opt,
                         float floor_db, float *db, float *valid)
{
    const float threshold = (float)opt->rain_threshold_mmh, clip = (float)opt->clip_mmh;
    for (size_t i = 0; i < n; i++) {
        float r = rate[i];
        valid[i] = isnan(r) ? 0.0f : 1.0f;
        if (isnan(r) || r < threshold) db[i] = floor_db;
        else db[i] = 10.0f * log10f(r < clip ? r : clip);
    }
}

/* Isolated spikes (clutter): a cell more than 10 dB above all its valid neighbours takes
 * the largest neighbour value. Reads src, writes dst (distinct buffers); src and valid hold
 * the image's rows from `origin` on (with rows r_begin - 1 .. r_end inside the image), dst
 * from dst_origin on. */
static void despeckle(const float *src, const float *valid, int origin, int w, int h,
                      float floor_db, float *dst, int dst_origin, int r_begin, int r_end)
{
    for (int r = r_begin; r < r_end; r++)
        for (int c = 0; c < w; c++) {
            size_t i = (size_t)(r - origin) * (size_t)w + (size_t)c;
            float *out = dst + (size_t)(r - dst_origin) * (size_t)w + (size_t)c;
            *out = src[i];
            if (src[i] < floor_db + 10.0f) continue; /* not 10 dB above anything: no spike */
            float neighbour_max = -INFINITY;
            for (int dr = -1; dr <= 1; dr++)
                for (int dc = -1; dc <= 1; dc++) {
                    int rr = r + dr, cc = c + dc;
                    if ((dr == 0 && dc == 0) || rr < 0 || cc < 0 || rr >= h || cc >= w) continue;
                    size_t j = (size_t)(rr - origin) * (size_t)w + (size_t)cc;
                    if (valid[j] > 0 && src[j] > neighbour_max) neighbour_max = src[j];
                }
            if (neighbour_max > -INFINITY && src[i] > neighbour_max + 10.0f) *out = neighbour_max;
        }
}

static void erode_valid(const float *valid, int w, int h, float *out, int r_begin, int r_end)
{
    for (int r = r_begin; r < r_end; r++)
        for (int c = 0; c < w; c++) {
            size_t i = (size_t)r * (size_t)w + (size_t)c;
            float v = valid[i];
            if (c > 0 && valid[i - 1] == 0) v = 0;
            if (c < w - 1 && valid[i + 1] == 0) v = 0;
            if (r > 0 && valid[i - (size_t)w] == 0) v = 0;
            if (r < h - 1 && valid[i + (size_t)w] == 0) v = 0;
            out[i] = v;
        }
}

static void centred_gradients(const float *img, int w, int h, float *gx, float *gy,
                              int r_begin, int r_end)
{
    for (int r = r_begin; r < r_end; r++) {
        const float *row = img + (size_t)r * (size_t)w;
        const float *up = img + (size_t)(r > 0 ? r - 1 : r) * (size_t)w;
        const float *down = img + (size_t)(r < h - 1 ? r + 1 : r) * (size_t)w;
        float yscale = (r > 0 && r < h - 1) ? 0.5f : 1.0f;
        for (int c = 0; c < w; c++) {
            int cl = c > 0 ? c - 1 : c, cr = c < w - 1 ? c + 1 : c;
            float xscale = (cr - cl) == 2 ? 0.5f : 1.0f;
            gx[(size_t)r * w + c] = (row[cr] - row[cl]) * xscale;
            gy[(size_t)r * w + c] = (down[c] - up[c]) * yscale;
        }
    }
}

/* 2x2 mean of the finer image (fw x fh; fine_image and fine_valid hold its rows from
 * `origin` on); a coarse cell is valid when all its fine cells are. */
static void downsample(const float *fine_image, const float *fine_valid, int origin, int fw,
                       int fh, float *image, float *valid, int w, int r_begin, int r_end)
{
    for (int r = r_begin; r < r_end; r++)
        for (int c = 0; c < w; c++) {
            int r0 = 2 * r, c0 = 2 * c;
            int r1 = r0 + 1 < fh ? r0 + 1 : r0, c1 = c0 + 1 < fw ? c0 + 1 : c0;
            size_t a = (size_t)(r0 - origin) * fw + c0, b = (size_t)(r0 - origin) * fw + c1;
            size_t d = (size_t)(r1 - origin) * fw + c0, e = (size_t)(r1 - origin) * fw + c1;
            image[(size_t)r * w + c] =
                0.25f * (fine_image[a] + fine_image[b] + fine_image[d] + fine_image[e]);
            valid[(size_t)r * w + c] = fine_valid[a] * fine_valid[b] * fine_valid[d] *
                                       fine_valid[e];
        }
}

/* The pyramids of all frames are built together, one step at a time; each step is one
 * parallel loop whose items are the rows of that level in every frame (item = frame * level
 * height + row), so that a 3-frame motion pays one hand-over per step instead of three and
 * the threads share the rows of all frames. */
enum { PYR_DBR, PYR_DESPECKLE, PYR_DOWNSAMPLE, PYR_GRADIENTS, PYR_ERODE, PYR_FIRST_HALF };

/* Full-resolution rows per band of PYR_FIRST_HALF: twice the coarse rows of a band. */
#define HALF_BAND_ROWS 32

typedef struct {
    int step, level, height; /* the step, its level and that level's height */
    const sq25_field *const *frames;
    const struct sq25_motion_options *opt;
    float floor_db;
    sq25__motion_pyramid *pyr;
    float **scratch;         /* per frame: a grid of the level (PYR_DBR .. PYR_ERODE) */
    float *band;             /* PYR_FIRST_HALF: band_floats per worker */
    size_t band_floats;
} pyramid_job;

/* Level 1 straight from the rates, band by band (when level 0 itself is never used): the dBR,
 * validity and despeckled image of the full-resolution rows a band of level-1 rows needs live
 * only in the worker's band buffer, never as a full-resolution grid (three of them per frame
 * on a 700 x 700 grid: 5.9 MB). The same operations on the same values as the level-by-level
 * path, so the same bits. */
static void first_half_rows(const pyramid_job *j, int f, int begin, int end, float *band)
{
    const sq25_field *frame = j->frames[f];
    const int fw = frame->width, fh = frame->height;
    sq25__motion_level *lv = &j->pyr[f].level[1];
    const int halo_rows = 2 * HALF_BAND_ROWS + 2;
    float *db = band, *valid = db + (size_t)halo_rows * fw;
    float *image = valid + (size_t)halo_rows * fw;
    for (int r0 = begin; r0 < end; r0 += HALF_BAND_ROWS / 2) {
        const int r1 = r0 + HALF_BAND_ROWS / 2 < end ? r0 + HALF_BAND_ROWS / 2 : end;
        const int f0 = 2 * r0, f1 = 2 * r1 < fh ? 2 * r1 : fh; /* fine rows downsampled */
        const int lo = f0 > 0 ? f0 - 1 : 0, hi = f1 < fh ? f1 + 1 : fh; /* and their neighbours */
        rates_to_dbr(frame->data + (size_t)lo * fw, (size_t)(hi - lo) * fw, j->opt, j->floor_db,
                     db, valid);
        despeckle(db, valid, lo, fw, fh, j->floor_db, image, f0, f0, f1);
        downsample(image, valid + (size_t)(f0 - lo) * fw, f0, fw, fh, lv->image, lv->valid,
                   lv->width, r0, r1);
    }
}

/* One step on rows [begin, end) of frame f's level. */
static void pyramid_frame_rows(const pyramid_job *j, int f, int begin, int end, int worker)
{
    sq25__motion_level *lv = &j->pyr[f].level[j->level];
    const int w = lv->width, h = lv->height;
    const size_t i0 = (size_t)begin * (size_t)w, i1 = (size_t)end * (size_t)w;
    float *scratch = j->scratch ? j->scratch[f] : NULL;
    switch (j->step) {
    case PYR_FIRST_HALF:
        first_half_rows(j, f, begin, end, j->band + (size_t)worker * j->band_floats);
        break;
    case PYR_DBR: /* dBR into scratch, validity into lv->valid */
        rates_to_dbr(j->frames[f]->data + i0, i1 - i0, j->opt, j->floor_db, scratch + i0,
                     lv->valid + i0);
        break;
    case PYR_DESPECKLE:
        despeckle(scratch, lv->valid, 0, w, h, j->floor_db, lv->image, 0, begin, end);
        break;
    case PYR_DOWNSAMPLE: {
        const sq25__motion_level *fine = &j->pyr[f].level[j->level - 1];
        downsample(fine->image, fine->valid, 0, fine->width, fine->height, lv->image, lv->valid,
                   w, begin, end);
        break;
    }
    case PYR_GRADIENTS:
        centred_gradients(lv->image, w, h, lv->grad_x, lv->grad_y, begin, end);
        break;
    default: /* PYR_ERODE: eroded validity into scratch */
        erode_valid(lv->valid, w, h, scratch, begin, end);
        break;
    }
}

static void pyramid_items(void *arg, int begin, int end, int worker)
{
    const pyramid_job *j = arg;
    for (int item = begin; item < end;) {
        const int f = item / j->height, row = item % j->height;
        const int rows = end - item < j->height - row ? end - item : j->height - row;
        pyramid_frame_rows(j, f, row, row + rows, worker);
        item += rows;
    }
}

/* Rows per parallel chunk of a level w cells wide: at least MIN_CHUNK_CELLS cells, so that
 * the coarse levels (44 x 44 on a 700 x 700 grid) run on the calling thread instead of
 * paying a hand-over to the pool for microseconds of work. */
#define MIN_CHUNK_CELLS 2048
static int rows_per_chunk(int w, int at_least)
{
    const int rows = (MIN_CHUNK_CELLS + w - 1) / w;
    return rows > at_least ? rows : at_least;
}

static void pyramid_step(sq25_ctx *ctx, pyramid_job *job, int n_frames, int step, int level)
{
    const sq25__motion_level *lv = &job->pyr[0].level[level];
    job->step = step;
    job->level = level;
    job->height = lv->height;
    sq25__parallel_for(ctx, n_frames * lv->height, rows_per_chunk(lv->width, 16), pyramid_items,
                       job);
}

static void level_free(sq25_ctx *ctx, sq25__motion_level *lv)
{
    sq25__free(ctx, lv->image);
    sq25__free(ctx, lv->valid);
    sq25__free(ctx, lv->grad_x);
    sq25__free(ctx, lv->grad_y);
    lv->image = lv->valid = lv->grad_x = lv->grad_y = NULL;
}

void sq25__motion_pyramids_free(sq25_ctx *ctx, sq25__motion_pyramid *p, int n_frames)
{
    for (int f = 0; f < n_frames; f++) {
        for (int l = 0; l < SQ25__MOTION_MAX_LEVELS; l++) level_free(ctx, &p[f].level[l]);
        memset(&p[f], 0, sizeof p[f]);
    }
}

static void scratch_free(sq25_ctx *ctx, float **scratch, int n_frames)
{
    for (int f = 0; f < n_frames; f++) {
        sq25__free(ctx, scratch[f]);
        scratch[f] = NULL;
    }
}

/* A grid of n floats per frame; SQ25_OK or SQ25_ERR_NOMEM (none left allocated). */
static int scratch_alloc(sq25_ctx *ctx, float **scratch, int n_frames, size_t n)
{
    for (int f = 0; f < n_frames; f++)
        if (!(scratch[f] = sq25__malloc(ctx, n * sizeof(float)))) {
            scratch_free(ctx, scratch, n_frames);
            return SQ25_ERR_NOMEM;
        }
    return SQ25_OK;
}

/* Level 0 at full resolution (when it is used: Lucas-Kanade tracks on it), frame by frame so
 * that one dBR scratch grid is alive at a time. */
static int build_full_level(sq25_ctx *ctx, pyramid_job *job, int n_frames)
{
    const sq25__motion_level *lv = &job->pyr[0].level[0];
    float *one[1] = {NULL};
    int rc = scratch_alloc(ctx, one, 1, (size_t)lv->width * (size_t)lv->height);
    for (int f = 0; rc == SQ25_OK && f < n_frames; f++) {
        pyramid_job single = *job;
        single.frames = job->frames + f;
        single.pyr = job->pyr + f;
        single.scratch = one;
        pyramid_step(ctx, &single, 1, PYR_DBR, 0);
        pyramid_step(ctx, &single, 1, PYR_DESPECKLE, 0);
    }
    scratch_free(ctx, one, 1);
    return rc;
}

/* Level 1 without level 0 (PYR_FIRST_HALF), on a band buffer per thread. */
static int build_first_half(sq25_ctx *ctx, pyramid_job *job, int n_frames)
{
    const int threads = sq25__threads(ctx), fw = job->pyr[0].level[0].width;
    job->band_floats = (size_t)(3 * (2 * HALF_BAND_ROWS + 2)) * (size_t)fw;
    job->band = sq25__malloc(ctx, (size_t)threads * job->band_floats * sizeof(float));
    if (!job->band) return SQ25_ERR_NOMEM;
    pyramid_step(ctx, job, n_frames, PYR_FIRST_HALF, 1);
    sq25__free(ctx, job->band);
    job->band = NULL;
    return SQ25_OK;
}

/* Levels of a w x h grid, each half the previous one's size (rounded up), until `levels` or a
 * level under 8 cells on a side. */
static int level_count(int w, int h, int levels)
{
    int count = 1;
    while (count < levels && w >= 8 && h >= 8) {
        w = (w + 1) / 2;
        h = (h + 1) / 2;
        count++;
    }
    return count;
}

static int level_alloc(sq25_ctx *ctx, sq25__motion_level *lv, bool gradients)
{
    const size_t n = (size_t)lv->width * (size_t)lv->height;
    lv->image = sq25__malloc(ctx, n * sizeof(float));
    lv->valid = sq25__malloc(ctx, n * sizeof(float));
    if (gradients) {
        lv->grad_x = sq25__malloc(ctx, n * sizeof(float));
        lv->grad_y = sq25__malloc(ctx, n * sizeof(float));
    }
    return (lv->image && lv->valid && (!gradients || (lv->grad_x && lv->grad_y)))
               ? SQ25_OK
               : SQ25_ERR_NOMEM;
}

/* Levels finer than first_used_level are only steps towards the coarser ones: level 0 is then
 * never made whole (build_first_half), and each other such level is freed as soon as the next
 * is made. A grid too small for first_used_level levels uses its coarsest. */
int sq25__motion_pyramids_build(sq25_ctx *ctx, const sq25_field *const *frames, int n_frames,
                                const struct sq25_motion_options *opt, int levels,
                                int first_used_level, sq25__motion_pyramid *out)
{
    memset(out, 0, (size_t)n_frames * sizeof *out);
    const int count = level_count(frames[0]->width, frames[0]->height, levels);
    const int first_used = first_used_level < count - 1 ? first_used_level : count - 1;
    float *scratch[SQ25__MOTION_MAX_FRAMES] = {NULL};
    pyramid_job job = {.frames = frames, .opt = opt, .pyr = out};
    job.floor_db = 10.0f * log10f((float)opt->rain_threshold_mmh) - (float)opt->floor_gap_db;
    int rc = SQ25_OK;
    for (int l = 0, w = frames[0]->width, h = frames[0]->height; l < count && rc == SQ25_OK;
         l++, w = (w + 1) / 2, h = (h + 1) / 2) {
        for (int f = 0; f < n_frames; f++) {
            out[f].levels = l + 1;
            out[f].level[l].width = w;
            out[f].level[l].height = h;
            if (!(l == 0 && first_used > 0) && rc == SQ25_OK)
                rc = level_alloc(ctx, &out[f].level[l], l >= first_used);
        }
        if (rc) break;
        if (l == 0 && first_used == 0) rc = build_full_level(ctx, &job, n_frames);
        else if (l == 1 && first_used > 0) rc = build_first_half(ctx, &job, n_frames);
        else if (l > 0) {
            pyramid_step(ctx, &job, n_frames, PYR_DOWNSAMPLE, l);
            if (l - 1 < first_used)
                for (int f = 0; f < n_frames; f++) level_free(ctx, &out[f].level[l - 1]);
        }
        if (rc == SQ25_OK && l >= first_used) pyramid_step(ctx, &job, n_frames, PYR_GRADIENTS, l);
    }
    /* Erode validity last, from fine to coarse, so coarse levels derive from raw validity. */
    for (int l = first_used; rc == SQ25_OK && l < count; l++) {
        const sq25__motion_level *lv = &out[0].level[l];
        rc = scratch_alloc(ctx, scratch, n_frames, (size_t)lv->width * (size_t)lv->height);
        if (rc) break;
        job.scratch = scratch;
        pyramid_step(ctx, &job, n_frames, PYR_ERODE, l);
        job.scratch = NULL;
        for (int f = 0; f < n_frames; f++) { /* the eroded grid becomes the validity */
            float *old = out[f].level[l].valid;
            out[f].level[l].valid = scratch[f];
            scratch[f] = old;
        }
        scratch_free(ctx, scratch, n_frames);
    }
    if (rc) sq25__motion_pyramids_free(ctx, out, n_frames);
    return rc;
}

/* ---- shared numerical helpers ----------------------------------------------------------- */

/* Horizontal pass of a box sum over rows [r0, r1): running sums along each row. */
static void box_rows(const float *in, float *tmp, int w, int r, int r0, int r1)
{
    for (int y = r0; y < r1; y++) {
        const float *src = in + (size_t)y * (size_t)w;
        float *dst = tmp + (size_t)y * (size_t)w;
        double run = 0;
        for (int x = 0; x <= r && x < w; x++) run += src[x];
        for (int x = 0; x < w; x++) {
            dst[x] = (float)run;
            if (x + r + 1 < w) run += src[x + r + 1];
            if (x - r >= 0) run -= src[x - r];
        }
    }
}

/* Vertical pass over columns [c0, c1): running sums down each column (colsum: w doubles,
 * of which [c0, c1) are used). */
static void box_columns(const float *tmp, float *out, int w, int h, int r, double *colsum,
                        int c0, int c1)
{
    for (int x = c0; x < c1; x++) colsum[x] = 0;
    for (int y = 0; y <= r && y < h; y++)
        for (int x = c0; x < c1; x++) colsum[x] += tmp[(size_t)y * w + x];
    for (int y = 0; y < h; y++) {
        float *dst = out + (size_t)y * (size_t)w;
        for (int x = c0; x < c1; x++) dst[x] = (float)colsum[x];
        if (y + r + 1 < h) {
            const float *add = tmp + (size_t)(y + r + 1) * w;
            for (int x = c0; x < c1; x++) colsum[x] += add[x];
        }
        if (y - r >= 0) {
            const float *sub = tmp + (size_t)(y - r) * w;
            for (int x = c0; x < c1; x++) colsum[x] -= sub[x];
        }
    }
}

void sq25__box_sum(const float *in, float *out, int w, int h, int r, float *tmp, double *colsum)
{
    box_rows(in, tmp, w, r, 0, h);
    box_columns(tmp, out, w, h, r, colsum, 0, w);
}

/* Bilinear upsampling of a flow component, destination rows [r0, r1). */
static void upsample_range(const float *src, int sw, int sh, float *dst, int dw, int dh,
                           float factor, int r0, int r1)
{
    const float sx = (float)sw / (float)dw, sy = (float)sh / (float)dh;
    for (int r = r0; r < r1; r++) {
        float y = ((float)r + 0.5f) * sy - 0.5f;
        for (int c = 0; c < dw; c++) {
            float x = ((float)c + 0.5f) * sx - 0.5f;
            dst[(size_t)r * dw + c] = factor * sq25__bilinear(src, sw, sh, x, y);
        }
    }
}

void sq25__upsample_flow(const float *src, int sw, int sh, float *dst, int dw, int dh,
                         float factor)
{
    upsample_range(src, sw, sh, dst, dw, dh, factor, 0, dh);
}

/* ---- dense multiscale least squares ----------------------------------------------------- */

#define DENSE_TERMS 5
/* Columns per item of the vertical box pass. */
#define BOX_COLUMN_BLOCK 32

/* Scratch of the dense solver at one level: five normal-equation terms, their window sums,
 * and a box-pass buffer and column sums per term (the five terms are summed at once). */
typedef struct {
    float *term[DENSE_TERMS], *sum[DENSE_TERMS], *tmp[DENSE_TERMS];
    double *colsum[DENSE_TERMS];
} dense_scratch;

static void dense_scratch_free(sq25_ctx *ctx, dense_scratch *s)
{
    for (int k = 0; k < DENSE_TERMS; k++) {
        sq25__free(ctx, s->term[k]);
        sq25__free(ctx, s->sum[k]);
        sq25__free(ctx, s->tmp[k]);
        sq25__free(ctx, s->colsum[k]);
    }
}

static int dense_scratch_alloc(sq25_ctx *ctx, dense_scratch *s, int w, int h)
{
    size_t n = (size_t)w * (size_t)h;
    memset(s, 0, sizeof *s);
    int ok = 1;
    for (int k = 0; k < DENSE_TERMS; k++) {
        s->term[k] = sq25__malloc(ctx, n * sizeof(float));
        s->sum[k] = sq25__malloc(ctx, n * sizeof(float));
        s->tmp[k] = sq25__malloc(ctx, n * sizeof(float));
        s->colsum[k] = sq25__malloc(ctx, (size_t)w * sizeof(double));
        ok = ok && s->term[k] && s->sum[k] && s->tmp[k] && s->colsum[k];
    }
    if (ok) return SQ25_OK;
    dense_scratch_free(ctx, s);
    return SQ25_ERR_NOMEM;
}

/* Normal-equation terms of one frame pair at the current flow, rows [r0, r1): the earlier
 * frame warped back along the flow should match the later one: I_a(x - d) = I_b(x). */
static void accumulate_pair(const sq25__motion_level *a, const sq25__motion_level *b,
                            float steps, const float *u, const float *v, dense_scratch *s,
                            int r0, int r1)
{
    const int w = a->width, h = a->height;
    for (int r = r0; r < r1; r++)
        for (int c = 0; c < w; c++) {
            size_t i = (size_t)r * w + c;
            float x = (float)c - steps * u[i], y = (float)r - steps * v[i];
            float weight = b->valid[i];
            if (weight > 0 && sq25__bilinear(a->valid, w, h, x, y) < 0.999f) weight = 0;
            if (x < 0 || y < 0 || x > (float)(w - 1) || y > (float)(h - 1)) weight = 0;
            if (weight == 0) continue;
            float warped = sq25__bilinear(a->image, w, h, x, y);
            /* d(warped)/d(flow) is -steps * gradient; the sign is folded into e below */
            float gx = steps * sq25__bilinear(a->grad_x, w, h, x, y);
            float gy = steps * sq25__bilinear(a->grad_y, w, h, x, y);
            float e = warped - b->image[i];
            s->term[0][i] += gx * gx;
            s->term[1][i] += gx * gy;
            s->term[2][i] += gy * gy;
            s->term[3][i] += gx * e;
            s->term[4][i] += gy * e;
        }
}

/* The steps of one warping iteration of the dense solver, each over rows (or, for the
 * vertical box pass, blocks of columns) of all five terms. DENSE_ACCUMULATE also makes the
 * first horizontal box pass of its rows, and DENSE_SOLVE_ACCUMULATE first solves its rows
 * for the previous iteration: a row's terms depend on the flow at that row's cells only, and
 * a horizontal pass on that row's terms only, so one hand-over does all three. */
enum { DENSE_ACCUMULATE, DENSE_SOLVE_ACCUMULATE, DENSE_BOX_ROWS, DENSE_BOX_COLUMNS, DENSE_SOLVE };

typedef struct {
    int step;
    const sq25__motion_pyramid *pyr;
    int n_frames, l, w, h, radius;
    const struct sq25_motion_options *opt;
    dense_scratch *s;
    float **box_in, **box_out; /* per term: input and output of the box pass */
    float lambda;
    float *u, *v;
} dense_job;

static void dense_solve_rows(const dense_job *j, int r0, int r1)
{
    const dense_scratch *s = j->s;
    for (size_t i = (size_t)r0 * j->w; i < (size_t)r1 * j->w; i++) {
        float a11 = s->sum[0][i] + j->lambda, a12 = s->sum[1][i], a22 = s->sum[2][i] + j->lambda;
        float det = a11 * a22 - a12 * a12;
        float du = (a22 * s->sum[3][i] - a12 * s->sum[4][i]) / det;
        float dv = (a11 * s->sum[4][i] - a12 * s->sum[3][i]) / det;
        j->u[i] += du > 1 ? 1 : du < -1 ? -1 : du;
        j->v[i] += dv > 1 ? 1 : dv < -1 ? -1 : dv;
    }
}

static void dense_items(void *arg, int begin, int end, int worker)
{
    (void)worker;
    const dense_job *j = arg;
    const int w = j->w, h = j->h;
    if (j->step == DENSE_ACCUMULATE || j->step == DENSE_SOLVE_ACCUMULATE) {
        if (j->step == DENSE_SOLVE_ACCUMULATE) dense_solve_rows(j, begin, end);
        for (int k = 0; k < DENSE_TERMS; k++)
            memset(j->s->term[k] + (size_t)begin * w, 0,
                   (size_t)(end - begin) * (size_t)w * sizeof(float));
        for (int f = 0; f + 1 < j->n_frames; f++)
            for (int g = f + 1; g < j->n_frames && g - f <= j->opt->max_pair_steps; g++)
                accumulate_pair(&j->pyr[f].level[j->l], &j->pyr[g].level[j->l], (float)(g - f),
                                j->u, j->v, j->s, begin, end);
        for (int k = 0; k < DENSE_TERMS; k++) /* the first horizontal pass: term -> tmp */
            box_rows(j->s->term[k], j->s->tmp[k], w, j->radius, begin, end);
    } else if (j->step == DENSE_SOLVE) {
        dense_solve_rows(j, begin, end);
    } else if (j->step == DENSE_BOX_ROWS) { /* items: term * h + row */
        for (int item = begin; item < end; item++) {
            const int k = item / h, r = item % h;
            box_rows(j->box_in[k], j->s->tmp[k], w, j->radius, r, r + 1);
        }
    } else { /* DENSE_BOX_COLUMNS, items: term * blocks + column block */
        const int blocks = (w + BOX_COLUMN_BLOCK - 1) / BOX_COLUMN_BLOCK;
        for (int item = begin; item < end; item++) {
            const int k = item / blocks, c0 = (item % blocks) * BOX_COLUMN_BLOCK;
            const int c1 = c0 + BOX_COLUMN_BLOCK < w ? c0 + BOX_COLUMN_BLOCK : w;
            box_columns(j->s->tmp[k], j->box_out[k], w, h, j->radius, j->s->colsum[k], c0, c1);
        }
    }
}

static void dense_step(sq25_ctx *ctx, dense_job *j, int step)
{
    j->step = step;
    int items = j->h, min_chunk = rows_per_chunk(j->w, 8);
    if (step == DENSE_BOX_ROWS) items = DENSE_TERMS * j->h, min_chunk = rows_per_chunk(j->w, 16);
    if (step == DENSE_BOX_COLUMNS) /* items of BOX_COLUMN_BLOCK columns down all rows */
        items = DENSE_TERMS * ((j->w + BOX_COLUMN_BLOCK - 1) / BOX_COLUMN_BLOCK),
        min_chunk = rows_per_chunk(BOX_COLUMN_BLOCK * j->h, 1);
    sq25__parallel_for(ctx, items, min_chunk, dense_items, j);
}

/* A box sum of all five terms, in -> out. */
static void dense_box(sq25_ctx *ctx, dense_job *j, float **in, float **out)
{
    j->box_in = in;
    j->box_out = out;
    dense_step(ctx, j, DENSE_BOX_ROWS);
    dense_step(ctx, j, DENSE_BOX_COLUMNS);
}

static void dense_level(sq25_ctx *ctx, const sq25__motion_pyramid *pyr, int n_frames, int l,
                        const struct sq25_motion_options *opt, dense_scratch *s, float *u,
                        float *v)
{
    const int radius = opt->window_radius_px;
    const float side = (float)(2 * radius + 1);
    dense_job j = {.pyr = pyr, .n_frames = n_frames, .l = l, .w = pyr[0].level[l].width,
                   .h = pyr[0].level[l].height, .radius = radius, .opt = opt, .s = s,
                   .lambda = (float)opt->regularisation * side * side * side * side,
                   .u = u, .v = v};
    for (int it = 0; it < opt->iterations; it++) {
        /* the previous iteration's solve, the terms and their first horizontal pass */
        dense_step(ctx, &j, it == 0 ? DENSE_ACCUMULATE : DENSE_SOLVE_ACCUMULATE);
        /* Two box passes (a tent window): its spectrum is never negative, whereas one box
         * pass would flip the sign of some spatial frequencies of the flow and make the
         * warping iteration oscillate. */
        j.box_out = s->sum;
        dense_step(ctx, &j, DENSE_BOX_COLUMNS); /* finishes the first: tmp -> sum */
        dense_box(ctx, &j, s->sum, s->term);
        for (int k = 0; k < DENSE_TERMS; k++) {
            float *swap = s->sum[k];
            s->sum[k] = s->term[k];
            s->term[k] = swap;
        }
    }
    dense_step(ctx, &j, DENSE_SOLVE);
}

/* Bilinear upsampling of both flow components, rows in parallel. */
typedef struct {
    const float *src_u, *src_v;
    int sw, sh, dw, dh;
    float factor;
    float *dst_u, *dst_v;
} upsample_job;

static void upsample_rows(void *arg, int begin, int end, int worker)
{
    (void)worker;
    const upsample_job *j = arg;
    upsample_range(j->src_u, j->sw, j->sh, j->dst_u, j->dw, j->dh, j->factor, begin, end);
    upsample_range(j->src_v, j->sw, j->sh, j->dst_v, j->dw, j->dh, j->factor, begin, end);
}

static void upsample_parallel(sq25_ctx *ctx, const float *src_u, const float *src_v, int sw,
                              int sh, float *dst_u, float *dst_v, int dw, int dh, float factor)
{
    upsample_job j = {src_u, src_v, sw, sh, dw, dh, factor, dst_u, dst_v};
    sq25__parallel_for(ctx, dh, rows_per_chunk(dw, 16), upsample_rows, &j);
}

static int motion_dense(sq25_ctx *ctx, sq25__motion_pyramid *pyr, int n_frames,
                        const struct sq25_motion_options *opt, float *u_out, float *v_out)
{
    const int levels = pyr[0].levels;
    const int finest = opt->finest_level < levels ? opt->finest_level : levels - 1;
    float *u = NULL, *v = NULL, *u_prev = NULL, *v_prev = NULL;
    int prev_w = 0, prev_h = 0, rc = SQ25_OK;
    for (int l = levels - 1; l >= finest && rc == SQ25_OK; l--) {
        const int w = pyr[0].level[l].width, h = pyr[0].level[l].height;
        const size_t n = (size_t)w * (size_t)h;
        u = sq25__calloc(ctx, n, sizeof(float));
        v = sq25__calloc(ctx, n, sizeof(float));
        dense_scratch s;
        if (!u || !v || dense_scratch_alloc(ctx, &s, w, h)) {
            rc = SQ25_ERR_NOMEM;
            break;
        }
        if (u_prev) upsample_parallel(ctx, u_prev, v_prev, prev_w, prev_h, u, v, w, h, 2.0f);
        dense_level(ctx, pyr, n_frames, l, opt, &s, u, v);
        dense_scratch_free(ctx, &s);
        sq25__free(ctx, u_prev);
        sq25__free(ctx, v_prev);
        u_prev = u;
        v_prev = v;
        u = v = NULL;
        prev_w = w;
        prev_h = h;
    }
    if (rc == SQ25_OK) {
        const int w = pyr[0].level[0].width, h = pyr[0].level[0].height;
        const float factor = (float)(1 << finest);
        upsample_parallel(ctx, u_prev, v_prev, prev_w, prev_h, u_out, v_out, w, h, factor);
    }
    sq25__free(ctx, u);
    sq25__free(ctx, v);
    sq25__free(ctx, u_prev);
    sq25__free(ctx, v_prev);
    return rc;
}

/* ---- entry point ------------------------------------------------------------------------ */

/* Non-finite motion (a degenerate solve) set to 0, rows in parallel. */
typedef struct {
    float *u, *v;
    int width;
} finite_job;

static void finite_rows(void *arg, int begin, int end, int worker)
{
    (void)worker;
    const finite_job *j = arg;
    for (size_t i = (size_t)begin * (size_t)j->width; i < (size_t)end * (size_t)j->width; i++) {
        if (!isfinite(j->u[i])) j->u[i] = 0;
        if (!isfinite(j->v[i])) j->v[i] = 0;
    }
}

static int check_frames(sq25_ctx *ctx, const sq25_field *const *frames, int n_frames)
{
    if (!frames || n_frames < 2)
        return sq25__fail(ctx, SQ25_ERR_TOO_FEW, "sq25_motion_estimate: need at least 2 frames");
    if (n_frames > SQ25__MOTION_MAX_FRAMES)
        return sq25__fail(ctx, SQ25_ERR_RANGE, "sq25_motion_estimate: more than %d frames",
                          SQ25__MOTION_MAX_FRAMES);
    for (int k = 0; k < n_frames; k++) {
        if (!frames[k])
            return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_motion_estimate: frame %d NULL", k);
        if (frames[k]->width != frames[0]->width || frames[k]->height != frames[0]->height)
            return sq25__fail(ctx, SQ25_ERR_GRID_MISMATCH,
                              "sq25_motion_estimate: frame %d is %dx%d, frame 0 is %dx%d", k,
                              frames[k]->width, frames[k]->height, frames[0]->width,
                              frames[0]->height);
        if (k > 0 && frames[k]->valid_time <= frames[k - 1]->valid_time)
            return sq25__fail(ctx, SQ25_ERR_TIME_ORDER,
                              "sq25_motion_estimate: frame %d is not later than frame %d", k,
                              k - 1);
    }
    if (frames[0]->width < 2 || frames[0]->height < 2)
        return sq25__fail(ctx, SQ25_ERR_SIZE_ABSURD, "sq25_motion_estimate: grid under 2x2");
    return SQ25_OK;
}

int sq25_motion_estimate(sq25_ctx *ctx, const sq25_field *const *frames, int n_frames,
                         const sq25_motion_options *options, float *u, float *v)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!u || !v) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_motion_estimate: NULL");
    int rc = check_frames(ctx, frames, n_frames);
    if (rc) return rc;
    sq25_motion_options defaults;
    if (!options) {
        sq25_motion_options *tmp = NULL;
        if ((rc = sq25_motion_options_create(ctx, &tmp))) return rc;
        defaults = *tmp;
        sq25_motion_options_destroy(tmp);
        options = &defaults;
    }
    const int levels = options->method == SQ25_MOTION_LK ? 4 : options->levels;
    /* the dense method never looks at levels finer than its finest one */
    int first_used = options->method == SQ25_MOTION_LK ? 0 : options->finest_level;
    if (first_used > levels - 1) first_used = levels - 1;
    sq25__motion_pyramid pyr[SQ25__MOTION_MAX_FRAMES];
    rc = sq25__motion_pyramids_build(ctx, frames, n_frames, options, levels, first_used, pyr);
    if (rc == SQ25_OK) {
        if (options->method == SQ25_MOTION_LK)
            rc = sq25__motion_lucas_kanade(ctx, pyr, n_frames, options, u, v);
        else
            rc = motion_dense(ctx, pyr, n_frames, options, u, v);
    }
    sq25__motion_pyramids_free(ctx, pyr, n_frames);
    if (rc == SQ25_ERR_NOMEM) return sq25__fail(ctx, rc, "sq25_motion_estimate: out of memory");
    if (rc) return rc;
    /* Never NaN: a degenerate solve falls back to no motion. */
    finite_job fj = {u, v, frames[0]->width};
    sq25__parallel_for(ctx, frames[0]->height, rows_per_chunk(frames[0]->width, 16),
                       finite_rows, &fj);
    return sq25__ok(ctx);
}
