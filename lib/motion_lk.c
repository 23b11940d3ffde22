/* motion_lk.c -- sparse Lucas-Kanade motion: Shi-Tomasi features on the earlier frame of each
 * pair, pyramidal Lucas-Kanade tracking into the later frame, global outlier removal (median
 * and MAD), declustering into cells, and inverse-distance interpolation onto a coarse grid
 * that is bilinearly resampled to every pixel. */
#include "motion_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    float x, y, u, v; /* position (cells) and motion (cells per step) */
} motion_vector;

typedef struct {
    float score;
    int index;
} corner_candidate;

static int by_score_descending(const void *a, const void *b)
{
    float sa = ((const corner_candidate *)a)->score, sb = ((const corner_candidate *)b)->score;
    return (sa < sb) - (sa > sb);
}

/* Minimum eigenvalue of the 5x5 structure tensor at every cell (0 where not valid). */
static int min_eigen_map(sq25_ctx *ctx, const sq25__motion_level *lv, float *eig)
{
    const int w = lv->width, h = lv->height;
    const size_t n = (size_t)w * (size_t)h;
    float *xx = sq25__malloc(ctx, n * sizeof(float)), *xy = sq25__malloc(ctx, n * sizeof(float));
    float *yy = sq25__malloc(ctx, n * sizeof(float)), *tmp = sq25__malloc(ctx, n * sizeof(float));
    double *colsum = sq25__malloc(ctx, (size_t)w * sizeof(double));
    int rc = (xx && xy && yy && tmp && colsum) ? SQ25_OK : SQ25_ERR_NOMEM;
    if (rc == SQ25_OK) {
        for (size_t i = 0; i < n; i++) {
            float gx = lv->grad_x[i], gy = lv->grad_y[i];
            xx[i] = gx * gx;
            xy[i] = gx * gy;
            yy[i] = gy * gy;
        }
        sq25__box_sum(xx, eig, w, h, 2, tmp, colsum);
        memcpy(xx, eig, n * sizeof(float));
        sq25__box_sum(xy, eig, w, h, 2, tmp, colsum);
        memcpy(xy, eig, n * sizeof(float));
        sq25__box_sum(yy, eig, w, h, 2, tmp, colsum);
        memcpy(yy, eig, n * sizeof(float));
        for (size_t i = 0; i < n; i++) {
            float half_trace = 0.5f * (xx[i] + yy[i]);
            float d = 0.5f * (xx[i] - yy[i]);
            float e = half_trace - sqrtf(d * d + xy[i] * xy[i]);
            eig[i] = lv->valid[i] > 0 ? e : 0;
        }
    }
    sq25__free(ctx, xx);
    sq25__free(ctx, xy);
    sq25__free(ctx, yy);
    sq25__free(ctx, tmp);
    sq25__free(ctx, colsum);
    return rc;
}

/* Shi-Tomasi features: local maxima above 1% of the best, strongest first, at least
 * min_distance apart. Writes up to max_corners cell indices; returns how many (or < 0). */
static int find_corners(sq25_ctx *ctx, const sq25__motion_level *lv,
                        const struct sq25_motion_options *opt, int *corners)
{
    const int w = lv->width, h = lv->height;
    const size_t n = (size_t)w * (size_t)h;
    float *eig = sq25__malloc(ctx, n * sizeof(float));
    corner_candidate *cand = sq25__malloc(ctx, n * sizeof *cand);
    if (!eig || !cand || min_eigen_map(ctx, lv, eig)) {
        sq25__free(ctx, eig);
        sq25__free(ctx, cand);
        return SQ25_ERR_NOMEM;
    }
    float best = 0;
    for (size_t i = 0; i < n; i++) best = eig[i] > best ? eig[i] : best;
    const float floor_score = best * 0.01f > 1e-3f ? best * 0.01f : 1e-3f;
    int count = 0;
    for (int r = 1; r < h - 1; r++)
        for (int c = 1; c < w - 1; c++) {
            size_t i = (size_t)r * w + c;
            float e = eig[i];
            if (e < floor_score) continue;
            int is_max = 1;
            for (int dr = -1; dr <= 1 && is_max; dr++)
                for (int dc = -1; dc <= 1; dc++)
                    if (eig[i + (ptrdiff_t)dr * w + dc] > e) is_max = 0;
            if (is_max) cand[count++] = (corner_candidate){e, (int)i};
        }
    qsort(cand, (size_t)count, sizeof *cand, by_score_descending);
    const int dist = opt->min_distance_px, accepted_max = opt->max_corners;
    int accepted = 0;
    for (int k = 0; k < count && accepted < accepted_max; k++) {
        int cr = cand[k].index / w, cc = cand[k].index % w, far_enough = 1;
        for (int j = 0; j < accepted && far_enough; j++) {
            int dr = corners[j] / w - cr, dc = corners[j] % w - cc;
            if (dr * dr + dc * dc < dist * dist) far_enough = 0;
        }
        if (far_enough) corners[accepted++] = cand[k].index;
    }
    sq25__free(ctx, eig);
    sq25__free(ctx, cand);
    return accepted;
}

/* Track one feature at (x, y) of frame a into frame b; 1 and the motion on success. */
static int track_feature(const sq25__motion_pyramid *a, const sq25__motion_pyramid *b, float x,
                         float y, const struct sq25_motion_options *opt, float *patch,
                         float *u_out, float *v_out)
{
    const int radius = opt->lk_window_radius_px, side = 2 * radius + 1;
    const int cells = side * side;
    float *pa = patch, *pgx = patch + cells, *pgy = patch + 2 * cells;
    float du = 0, dv = 0;
    for (int l = a->levels - 1; l >= 0; l--) {
        const sq25__motion_level *la = &a->level[l], *lb = &b->level[l];
        const int w = la->width, h = la->height;
        const float scale = 1.0f / (float)(1 << l), px = x * scale, py = y * scale;
        if (l < a->levels - 1) {
            du *= 2;
            dv *= 2;
        }
        double g11 = 0, g12 = 0, g22 = 0;
        for (int j = 0, k = 0; j < side; j++)
            for (int i = 0; i < side; i++, k++) {
                float sx = px + (float)(i - radius), sy = py + (float)(j - radius);
                pa[k] = sq25__bilinear(la->image, w, h, sx, sy);
                pgx[k] = sq25__bilinear(la->grad_x, w, h, sx, sy);
                pgy[k] = sq25__bilinear(la->grad_y, w, h, sx, sy);
                g11 += pgx[k] * pgx[k];
                g12 += pgx[k] * pgy[k];
                g22 += pgy[k] * pgy[k];
            }
        double det = g11 * g22 - g12 * g12;
        double min_eig = 0.5 * (g11 + g22) - sqrt(0.25 * (g11 - g22) * (g11 - g22) + g12 * g12);
        if (!(min_eig / cells > 1e-3) || det <= 0) return 0;
        for (int it = 0; it < 10; it++) {
            double b1 = 0, b2 = 0;
            for (int j = 0, k = 0; j < side; j++)
                for (int i = 0; i < side; i++, k++) {
                    float sx = px + (float)(i - radius) + du, sy = py + (float)(j - radius) + dv;
                    float e = pa[k] - sq25__bilinear(lb->image, w, h, sx, sy);
                    b1 += pgx[k] * e;
                    b2 += pgy[k] * e;
                }
            float step_u = (float)((g22 * b1 - g12 * b2) / det);
            float step_v = (float)((g11 * b2 - g12 * b1) / det);
            du += step_u;
            dv += step_v;
            if (step_u * step_u + step_v * step_v < 1e-4f) break;
        }
    }
    const sq25__motion_level *b0 = &b->level[0];
    float ex = x + du, ey = y + dv;
    if (!(fabsf(du) < 30 && fabsf(dv) < 30) || ex < 0 || ey < 0 ||
        ex > (float)(b0->width - 1) || ey > (float)(b0->height - 1))
        return 0;
    if (sq25__bilinear(b0->valid, b0->width, b0->height, ex, ey) < 0.999f) return 0;
    *u_out = du;
    *v_out = dv;
    return 1;
}

static int compare_floats(const void *a, const void *b)
{
    float fa = *(const float *)a, fb = *(const float *)b;
    return (fa > fb) - (fa < fb);
}

static float median_of(float *values, int n)
{
    qsort(values, (size_t)n, sizeof *values, compare_floats);
    return n % 2 ? values[n / 2] : 0.5f * (values[n / 2 - 1] + values[n / 2]);
}

/* Drop vectors further than 3 robust standard deviations (1.4826 MAD, at least 0.5 cell)
 * from the median, per component. Returns the number kept. */
static int remove_outliers(motion_vector *vec, int n, float *scratch)
{
    if (n < 3) return n;
    float med[2], spread[2];
    for (int comp = 0; comp < 2; comp++) {
        for (int k = 0; k < n; k++) scratch[k] = comp ? vec[k].v : vec[k].u;
        med[comp] = median_of(scratch, n);
        for (int k = 0; k < n; k++) scratch[k] = fabsf((comp ? vec[k].v : vec[k].u) - med[comp]);
        float s = 3.0f * 1.4826f * median_of(scratch, n);
        spread[comp] = s > 0.5f ? s : 0.5f;
    }
    int kept = 0;
    for (int k = 0; k < n; k++)
        if (fabsf(vec[k].u - med[0]) <= spread[0] && fabsf(vec[k].v - med[1]) <= spread[1])
            vec[kept++] = vec[k];
    return kept;
}

/* Average the vectors falling in each cell x cell block (pysteps' "declustering"), so that a
 * dense cluster of features does not outweigh isolated ones. Returns the number of blocks. */
static int decluster(sq25_ctx *ctx, motion_vector *vec, int n, int width, int height, int cell)
{
    const int bw = (width + cell - 1) / cell, bh = (height + cell - 1) / cell;
    motion_vector *acc = sq25__calloc(ctx, (size_t)bw * (size_t)bh, sizeof *acc);
    int *count = sq25__calloc(ctx, (size_t)bw * (size_t)bh, sizeof *count);
    if (!acc || !count) {
        sq25__free(ctx, acc);
        sq25__free(ctx, count);
        return -1;
    }
    for (int k = 0; k < n; k++) {
        int bx = (int)(vec[k].x / (float)cell), by = (int)(vec[k].y / (float)cell);
        bx = bx < 0 ? 0 : bx >= bw ? bw - 1 : bx;
        by = by < 0 ? 0 : by >= bh ? bh - 1 : by;
        motion_vector *a = &acc[by * bw + bx];
        a->x += vec[k].x;
        a->y += vec[k].y;
        a->u += vec[k].u;
        a->v += vec[k].v;
        count[by * bw + bx]++;
    }
    int out = 0;
    for (int b = 0; b < bw * bh; b++) {
        if (!count[b]) continue;
        float inv = 1.0f / (float)count[b];
        vec[out++] =
            (motion_vector){acc[b].x * inv, acc[b].y * inv, acc[b].u * inv, acc[b].v * inv};
    }
    sq25__free(ctx, acc);
    sq25__free(ctx, count);
    return out;
}

/* Inverse-distance interpolation, weight 1/(d^2 + s^2)^2, onto a grid of step `step` cells,
 * then bilinear resampling to every cell. */
static int interpolate_vectors(sq25_ctx *ctx, const motion_vector *vec, int n, int width,
                               int height, const struct sq25_motion_options *opt, float *u,
                               float *v)
{
    const int step = opt->grid_step_px;
    const int gw = (width + step - 1) / step, gh = (height + step - 1) / step;
    float *gu = sq25__malloc(ctx, (size_t)gw * gh * sizeof(float));
    float *gv = sq25__malloc(ctx, (size_t)gw * gh * sizeof(float));
    if (!gu || !gv) {
        sq25__free(ctx, gu);
        sq25__free(ctx, gv);
        return SQ25_ERR_NOMEM;
    }
    const float s2 = (float)(opt->idw_scale_px * opt->idw_scale_px);
    for (int r = 0; r < gh; r++)
        for (int c = 0; c < gw; c++) {
            float x = ((float)c + 0.5f) * (float)step - 0.5f;
            float y = ((float)r + 0.5f) * (float)step - 0.5f;
            double sw = 0, su = 0, sv = 0;
            for (int k = 0; k < n; k++) {
                float dx = vec[k].x - x, dy = vec[k].y - y;
                float q = dx * dx + dy * dy + s2;
                double wk = 1.0 / ((double)q * (double)q);
                sw += wk;
                su += wk * vec[k].u;
                sv += wk * vec[k].v;
            }
            gu[(size_t)r * gw + c] = n ? (float)(su / sw) : 0.0f;
            gv[(size_t)r * gw + c] = n ? (float)(sv / sw) : 0.0f;
        }
    sq25__upsample_flow(gu, gw, gh, u, width, height, 1.0f);
    sq25__upsample_flow(gv, gw, gh, v, width, height, 1.0f);
    sq25__free(ctx, gu);
    sq25__free(ctx, gv);
    return SQ25_OK;
}

int sq25__motion_lucas_kanade(sq25_ctx *ctx, sq25__motion_pyramid *pyr, int n_frames,
                              const struct sq25_motion_options *opt, float *u, float *v)
{
    const int width = pyr[0].level[0].width, height = pyr[0].level[0].height;
    const int per_pair = opt->max_corners, side = 2 * opt->lk_window_radius_px + 1;
    motion_vector *vec = sq25__malloc(ctx, (size_t)per_pair * (size_t)(n_frames - 1) * sizeof *vec);
    int *corners = sq25__malloc(ctx, (size_t)per_pair * sizeof *corners);
    float *patch = sq25__malloc(ctx, (size_t)3 * side * side * sizeof(float));
    float *scratch = sq25__malloc(ctx, (size_t)per_pair * (size_t)(n_frames - 1) * sizeof(float));
    int rc = (vec && corners && patch && scratch) ? SQ25_OK : SQ25_ERR_NOMEM, n = 0;
    for (int f = 0; rc == SQ25_OK && f + 1 < n_frames; f++) {
        int found = find_corners(ctx, &pyr[f].level[0], opt, corners);
        if (found < 0) {
            rc = SQ25_ERR_NOMEM;
            break;
        }
        for (int k = 0; k < found; k++) {
            float x = (float)(corners[k] % width), y = (float)(corners[k] / width), du, dv;
            if (!track_feature(&pyr[f], &pyr[f + 1], x, y, opt, patch, &du, &dv)) continue;
            vec[n++] = (motion_vector){x + 0.5f * du, y + 0.5f * dv, du, dv};
        }
    }
    if (rc == SQ25_OK) {
        n = remove_outliers(vec, n, scratch);
        n = decluster(ctx, vec, n, width, height, 2 * opt->grid_step_px);
        rc = n < 0 ? SQ25_ERR_NOMEM : interpolate_vectors(ctx, vec, n, width, height, opt, u, v);
    }
    sq25__free(ctx, vec);
    sq25__free(ctx, corners);
    sq25__free(ctx, patch);
    sq25__free(ctx, scratch);
    return rc;
}
