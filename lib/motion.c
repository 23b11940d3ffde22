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
 * the largest neighbour value. Reads src, writes dst (distinct buffers). */
static void despeckle(const float *src, const float *valid, int w, int h, float floor_db,
                      float *dst)
{
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++) {
            size_t i = (size_t)r * (size_t)w + (size_t)c;
            dst[i] = src[i];
            if (src[i] < floor_db + 10.0f) continue; /* not 10 dB above anything: no spike */
            float neighbour_max = -INFINITY;
            for (int dr = -1; dr <= 1; dr++)
                for (int dc = -1; dc <= 1; dc++) {
                    int rr = r + dr, cc = c + dc;
                    if ((dr == 0 && dc == 0) || rr < 0 || cc < 0 || rr >= h || cc >= w) continue;
                    size_t j = (size_t)rr * (size_t)w + (size_t)cc;
                    if (valid[j] > 0 && src[j] > neighbour_max) neighbour_max = src[j];
                }
            if (neighbour_max > -INFINITY && src[i] > neighbour_max + 10.0f) dst[i] = neighbour_max;
        }
}

static void erode_valid(const float *valid, int w, int h, float *out)
{
    for (int r = 0; r < h; r++)
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

static void centred_gradients(const float *img, int w, int h, float *gx, float *gy)
{
    for (int r = 0; r < h; r++) {
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

/* 2x2 mean of the finer image; a coarse cell is valid when all its fine cells are. */
static void downsample(const sq25__motion_level *fine, float *image, float *valid, int w, int h)
{
    const int fw = fine->width, fh = fine->height;
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++) {
            int r0 = 2 * r, c0 = 2 * c;
            int r1 = r0 + 1 < fh ? r0 + 1 : r0, c1 = c0 + 1 < fw ? c0 + 1 : c0;
            size_t a = (size_t)r0 * fw + c0, b = (size_t)r0 * fw + c1;
            size_t d = (size_t)r1 * fw + c0, e = (size_t)r1 * fw + c1;
            image[(size_t)r * w + c] =
                0.25f * (fine->image[a] + fine->image[b] + fine->image[d] + fine->image[e]);
            valid[(size_t)r * w + c] = fine->valid[a] * fine->valid[b] * fine->valid[d] *
                                       fine->valid[e];
        }
}

void sq25__motion_pyramid_free(sq25_ctx *ctx, sq25__motion_pyramid *p)
{
    for (int l = 0; l < SQ25__MOTION_MAX_LEVELS; l++) {
        sq25__free(ctx, p->level[l].image);
        sq25__free(ctx, p->level[l].valid);
        sq25__free(ctx, p->level[l].grad_x);
        sq25__free(ctx, p->level[l].grad_y);
    }
    memset(p, 0, sizeof *p);
}

static int level_alloc(sq25_ctx *ctx, sq25__motion_level *lv, int w, int h)
{
    size_t n = (size_t)w * (size_t)h;
    lv->width = w;
    lv->height = h;
    lv->image = sq25__malloc(ctx, n * sizeof(float));
    lv->valid = sq25__malloc(ctx, n * sizeof(float));
    lv->grad_x = sq25__malloc(ctx, n * sizeof(float));
    lv->grad_y = sq25__malloc(ctx, n * sizeof(float));
    return (lv->image && lv->valid && lv->grad_x && lv->grad_y) ? SQ25_OK : SQ25_ERR_NOMEM;
}

int sq25__motion_pyramid_build(sq25_ctx *ctx, const sq25_field *frame,
                               const struct sq25_motion_options *opt, int levels,
                               int first_used_level, sq25__motion_pyramid *out)
{
    memset(out, 0, sizeof *out);
    const float floor_db =
        10.0f * log10f((float)opt->rain_threshold_mmh) - (float)opt->floor_gap_db;
    int w = frame->width, h = frame->height;
    for (int l = 0; l < levels; l++) {
        sq25__motion_level *lv = &out->level[l];
        if (level_alloc(ctx, lv, w, h)) {
            sq25__motion_pyramid_free(ctx, out);
            return SQ25_ERR_NOMEM;
        }
        out->levels = l + 1;
        size_t n = (size_t)w * (size_t)h;
        if (l == 0) {
            /* grad_x / grad_y serve as scratch before the gradients are computed */
            rates_to_dbr(frame->data, n, opt, floor_db, lv->grad_x, lv->grad_y);
            despeckle(lv->grad_x, lv->grad_y, w, h, floor_db, lv->image);
            memcpy(lv->valid, lv->grad_y, n * sizeof(float));
        } else {
            downsample(&out->level[l - 1], lv->image, lv->grad_y, w, h);
            memcpy(lv->valid, lv->grad_y, n * sizeof(float));
        }
        if (l >= first_used_level) centred_gradients(lv->image, w, h, lv->grad_x, lv->grad_y);
        if (w < 8 || h < 8) break;
        w = (w + 1) / 2;
        h = (h + 1) / 2;
    }
    /* Erode validity last, from fine to coarse, so coarse levels derive from raw validity. */
    for (int l = first_used_level; l < out->levels; l++) {
        sq25__motion_level *lv = &out->level[l];
        size_t n = (size_t)lv->width * (size_t)lv->height;
        float *scratch = sq25__malloc(ctx, n * sizeof(float));
        if (!scratch) {
            sq25__motion_pyramid_free(ctx, out);
            return SQ25_ERR_NOMEM;
        }
        erode_valid(lv->valid, lv->width, lv->height, scratch);
        memcpy(lv->valid, scratch, n * sizeof(float));
        sq25__free(ctx, scratch);
    }
    return SQ25_OK;
}

/* ---- shared numerical helpers ----------------------------------------------------------- */

void sq25__box_sum(const float *in, float *out, int w, int h, int r, float *tmp, double *colsum)
{
    for (int y = 0; y < h; y++) {
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
    for (int x = 0; x < w; x++) colsum[x] = 0;
    for (int y = 0; y <= r && y < h; y++)
        for (int x = 0; x < w; x++) colsum[x] += tmp[(size_t)y * w + x];
    for (int y = 0; y < h; y++) {
        float *dst = out + (size_t)y * (size_t)w;
        for (int x = 0; x < w; x++) dst[x] = (float)colsum[x];
        if (y + r + 1 < h) {
            const float *add = tmp + (size_t)(y + r + 1) * w;
            for (int x = 0; x < w; x++) colsum[x] += add[x];
        }
        if (y - r >= 0) {
            const float *sub = tmp + (size_t)(y - r) * w;
            for (int x = 0; x < w; x++) colsum[x] -= sub[x];
        }
    }
}

void sq25__upsample_flow(const float *src, int sw, int sh, float *dst, int dw, int dh,
                         float factor)
{
    const float sx = (float)sw / (float)dw, sy = (float)sh / (float)dh;
    for (int r = 0; r < dh; r++) {
        float y = ((float)r + 0.5f) * sy - 0.5f;
        for (int c = 0; c < dw; c++) {
            float x = ((float)c + 0.5f) * sx - 0.5f;
            dst[(size_t)r * dw + c] = factor * sq25__bilinear(src, sw, sh, x, y);
        }
    }
}

/* ---- dense multiscale least squares ----------------------------------------------------- */

/* Scratch of the dense solver at one level: five normal-equation terms, their window sums. */
typedef struct {
    float *term[5], *sum[5], *tmp;
    double *colsum;
} dense_scratch;

static void dense_scratch_free(sq25_ctx *ctx, dense_scratch *s)
{
    for (int k = 0; k < 5; k++) {
        sq25__free(ctx, s->term[k]);
        sq25__free(ctx, s->sum[k]);
    }
    sq25__free(ctx, s->tmp);
    sq25__free(ctx, s->colsum);
}

static int dense_scratch_alloc(sq25_ctx *ctx, dense_scratch *s, int w, int h)
{
    size_t n = (size_t)w * (size_t)h;
    memset(s, 0, sizeof *s);
    int ok = 1;
    for (int k = 0; k < 5; k++) {
        s->term[k] = sq25__malloc(ctx, n * sizeof(float));
        s->sum[k] = sq25__malloc(ctx, n * sizeof(float));
        ok = ok && s->term[k] && s->sum[k];
    }
    s->tmp = sq25__malloc(ctx, n * sizeof(float));
    s->colsum = sq25__malloc(ctx, (size_t)w * sizeof(double));
    if (ok && s->tmp && s->colsum) return SQ25_OK;
    dense_scratch_free(ctx, s);
    return SQ25_ERR_NOMEM;
}

/* Normal-equation terms of one frame pair at the current flow: the earlier frame warped
 * back along the flow should match the later one: I_a(x - d) = I_b(x). */
static void accumulate_pair(const sq25__motion_level *a, const sq25__motion_level *b,
                            float steps, const float *u, const float *v, dense_scratch *s)
{
    const int w = a->width, h = a->height;
    for (int r = 0; r < h; r++)
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

static void dense_level(const sq25__motion_pyramid *pyr, int n_frames, int l,
                        const struct sq25_motion_options *opt, dense_scratch *s, float *u,
                        float *v)
{
    const int w = pyr[0].level[l].width, h = pyr[0].level[l].height;
    const size_t n = (size_t)w * (size_t)h;
    const int radius = opt->window_radius_px;
    const float side = (float)(2 * radius + 1);
    const float lambda = (float)opt->regularisation * side * side * side * side;
    for (int it = 0; it < opt->iterations; it++) {
        for (int k = 0; k < 5; k++) memset(s->term[k], 0, n * sizeof(float));
        for (int f = 0; f + 1 < n_frames; f++)
            for (int g = f + 1; g < n_frames && g - f <= opt->max_pair_steps; g++)
                accumulate_pair(&pyr[f].level[l], &pyr[g].level[l], (float)(g - f), u, v, s);
        /* Two box passes (a tent window): its spectrum is never negative, whereas one box
         * pass would flip the sign of some spatial frequencies of the flow and make the
         * warping iteration oscillate. */
        for (int k = 0; k < 5; k++) {
            sq25__box_sum(s->term[k], s->sum[k], w, h, radius, s->tmp, s->colsum);
            sq25__box_sum(s->sum[k], s->term[k], w, h, radius, s->tmp, s->colsum);
            float *swap = s->sum[k];
            s->sum[k] = s->term[k];
            s->term[k] = swap;
        }
        for (size_t i = 0; i < n; i++) {
            float a11 = s->sum[0][i] + lambda, a12 = s->sum[1][i], a22 = s->sum[2][i] + lambda;
            float det = a11 * a22 - a12 * a12;
            float du = (a22 * s->sum[3][i] - a12 * s->sum[4][i]) / det;
            float dv = (a11 * s->sum[4][i] - a12 * s->sum[3][i]) / det;
            u[i] += du > 1 ? 1 : du < -1 ? -1 : du;
            v[i] += dv > 1 ? 1 : dv < -1 ? -1 : dv;
        }
    }
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
        if (u_prev) {
            sq25__upsample_flow(u_prev, prev_w, prev_h, u, w, h, 2.0f);
            sq25__upsample_flow(v_prev, prev_w, prev_h, v, w, h, 2.0f);
        }
        dense_level(pyr, n_frames, l, opt, &s, u, v);
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
        sq25__upsample_flow(u_prev, prev_w, prev_h, u_out, w, h, factor);
        sq25__upsample_flow(v_prev, prev_w, prev_h, v_out, w, h, factor);
    }
    sq25__free(ctx, u);
    sq25__free(ctx, v);
    sq25__free(ctx, u_prev);
    sq25__free(ctx, v_prev);
    return rc;
}

/* ---- entry point ------------------------------------------------------------------------ */

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
    memset(pyr, 0, sizeof pyr);
    for (int k = 0; k < n_frames && rc == SQ25_OK; k++)
        rc = sq25__motion_pyramid_build(ctx, frames[k], options, levels, first_used, &pyr[k]);
    if (rc == SQ25_OK) {
        if (options->method == SQ25_MOTION_LK)
            rc = sq25__motion_lucas_kanade(ctx, pyr, n_frames, options, u, v);
        else
            rc = motion_dense(ctx, pyr, n_frames, options, u, v);
    }
    for (int k = 0; k < n_frames; k++) sq25__motion_pyramid_free(ctx, &pyr[k]);
    if (rc == SQ25_ERR_NOMEM) return sq25__fail(ctx, rc, "sq25_motion_estimate: out of memory");
    if (rc) return rc;
    /* Never NaN: a degenerate solve falls back to no motion. */
    const size_t n = (size_t)frames[0]->width * (size_t)frames[0]->height;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(u[i])) u[i] = 0;
        if (!isfinite(v[i])) v[i] = 0;
    }
    return sq25__ok(ctx);
}
