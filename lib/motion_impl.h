/* motion_impl.h -- shared between the motion sources (motion.c, motion_lk.c). Not API. */
#ifndef SQ25_MOTION_IMPL_H
#define SQ25_MOTION_IMPL_H

#include "internal.h"

#define SQ25__MOTION_MAX_LEVELS 8
#define SQ25__MOTION_MAX_FRAMES 16

struct sq25_motion_options {
    sq25_ctx *ctx;
    int method;                 /* SQ25_MOTION_* */
    double rain_threshold_mmh;  /* below: dry, set to the floor value in dBR */
    double clip_mmh;            /* rates above are clipped (clutter) */
    int levels;                 /* pyramid levels, 1 = full resolution only */
    int window_radius_px;       /* dense: least-squares window radius at each level */
    int iterations;             /* warping iterations per level */
    int finest_level;           /* dense: last level solved (0 = full resolution) */
    double regularisation;      /* dense: Tikhonov weight per window cell, dB^2/px^2 */
    int max_corners;            /* lk: Shi-Tomasi features per frame */
    int lk_window_radius_px;    /* lk: tracking window radius at each level */
    int min_distance_px;        /* lk: minimum distance between features */
    int grid_step_px;           /* lk: spacing of the interpolation grid */
    double idw_scale_px;        /* lk: smoothing length of the vector interpolation */
    double floor_gap_db;        /* dry cells lie this far below the threshold, dB */
    int max_pair_steps;         /* dense: frame pairs up to this many steps apart */
};

/* Internal knobs for tuning experiments (benchmarks link the static library): "finest_level",
 * "regularisation", "lk_window_radius", "idw_scale", "grid_step", "floor_gap",
 * "min_distance". Returns SQ25_ERR_INVALID_ARG for an unknown key. */
int sq25__motion_options_tune(sq25_motion_options *opt, const char *key, double value);

/* One level of an image pyramid: dBR image (nodata filled with the floor value), validity
 * (1 = valid, eroded by one cell so gradients never mix in nodata), centred gradients. */
typedef struct {
    int width, height;
    float *image, *valid, *grad_x, *grad_y;
} sq25__motion_level;

typedef struct {
    int levels;
    sq25__motion_level level[SQ25__MOTION_MAX_LEVELS];
} sq25__motion_pyramid;

/* The pyramids of n_frames frames of one grid (out: n_frames of them). Levels below
 * first_used_level are only steps towards the coarser ones: no gradients, no erosion, freed
 * once the next level is made (level 0 is then never held whole); a grid with fewer levels
 * uses its coarsest. SQ25_OK or SQ25_ERR_NOMEM (nothing left allocated). */
int sq25__motion_pyramids_build(sq25_ctx *ctx, const sq25_field *const *frames, int n_frames,
                                const struct sq25_motion_options *opt, int levels,
                                int first_used_level, sq25__motion_pyramid *out);
void sq25__motion_pyramids_free(sq25_ctx *ctx, sq25__motion_pyramid *p, int n_frames);

/* Bilinear sample with clamping at the edges; (x, y) in cell-index coordinates. */
static inline float sq25__bilinear(const float *img, int w, int h, float x, float y)
{
    if (x < 0) x = 0;
    if (y < 0) y = 0;
    if (x > (float)(w - 1)) x = (float)(w - 1);
    if (y > (float)(h - 1)) y = (float)(h - 1);
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
    float fx = x - (float)x0, fy = y - (float)y0;
    const float *r0 = img + (size_t)y0 * (size_t)w, *r1 = img + (size_t)y1 * (size_t)w;
    return (1 - fy) * ((1 - fx) * r0[x0] + fx * r0[x1]) + fy * ((1 - fx) * r1[x0] + fx * r1[x1]);
}

/* Sum over a (2r+1)x(2r+1) window, zero outside the grid. tmp: w*h floats, colsum: w doubles. */
void sq25__box_sum(const float *in, float *out, int w, int h, int r, float *tmp,
                   double *colsum);

/* Bilinear upsampling of a flow component from (sw, sh) to (dw, dh), values times `factor`. */
void sq25__upsample_flow(const float *src, int sw, int sh, float *dst, int dw, int dh,
                         float factor);

/* Sparse Lucas-Kanade + interpolation: u, v at full resolution (pixels per step). */
int sq25__motion_lucas_kanade(sq25_ctx *ctx, sq25__motion_pyramid *pyr, int n_frames,
                              const struct sq25_motion_options *opt, float *u, float *v);

#endif
