/* test_warn.c -- the warning model on analytic forecasts. Every expected number is worked out
 * by hand in the comment next to it, or counted by brute force independently of the
 * summed-area tables the library uses. Grids: 1 km cells of a spherical equidistant
 * cylindrical projection (units metres). */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EQC "+proj=eqc +a=6371000 +b=6371000 +units=m"
#define ISSUE ((int64_t)1625417400) /* 2021-07-04T16:50:00Z */
#define MAX_FRAMES 12

typedef float (*rate_fn)(int lead_index, int col, int row);

typedef struct {
    sq25_field *f[MAX_FRAMES];
    int n;
} frames_t;

static void make_frames(sq25_ctx *ctx, frames_t *fr, int w, int h, int n, int step_s,
                        rate_fn rate)
{
    const double gt[6] = {0, 1000, 0, 0, 0, -1000};
    fr->n = n;
    for (int j = 0; j < n; j++) {
        assert_int_equal(sq25_field_create(ctx, w, h, EQC, gt, ISSUE + (int64_t)(j + 1) * step_s,
                                           &fr->f[j]),
                         SQ25_OK);
        float *d = sq25_field_data(fr->f[j]);
        for (int r = 0; r < h; r++)
            for (int c = 0; c < w; c++) d[r * w + c] = rate(j, c, r);
    }
}

static void free_frames(frames_t *fr)
{
    for (int j = 0; j < fr->n; j++) sq25_field_destroy(fr->f[j]);
}

static sq25_warning *compute(sq25_ctx *ctx, const sq25_warn_options *opt, frames_t *fr,
                             int step_s)
{
    sq25_warning *w = NULL;
    int rc = sq25_warn_compute(ctx, opt, (const sq25_field *const *)fr->f, fr->n, step_s, ISSUE,
                               &w);
    if (rc) fprintf(stderr, "compute: %s\n", sq25_errmsg(ctx));
    assert_int_equal(rc, SQ25_OK);
    return w;
}

/* Value of a warning grid at (col,row). */
static double grid_at(sq25_field *f, int col, int row)
{
    return sq25_field_data(f)[row * sq25_field_width(f) + col];
}

static float uniform_30(int j, int c, int r)
{
    (void)j, (void)c, (void)r;
    return 30.0f;
}

/* 30 mm/h for 60 min at 5-min leads: 2.5 mm per step, so 7.5 mm in 15 min, 15 mm in 30 min,
 * 30 mm in 60 min: level 2 (25 <= 30 < 40) everywhere. Onset of level 1 (15 mm) after 6 steps
 * = 30 min, of level 2 (25 mm) after 10 steps = 50 min, level 3 never. */
static void test_uniform_rain(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    frames_t fr;
    make_frames(ctx, &fr, 9, 7, 12, 300, uniform_30);
    sq25_warning *w = compute(ctx, NULL, &fr, 300);
    assert_int_equal(sq25_warning_level_count(w), 3);
    assert_string_equal(sq25_warning_level_name(w, 2), "Unwetter");
    assert_float_equal(sq25_warning_level_threshold_mm(w, 3), 40.0, 0);
    assert_int_equal(sq25_warning_horizon_s(w), 3600);
    const int minutes[3] = {15, 30, 60};
    const double expect_mm[3] = {7.5, 15.0, 30.0};
    for (int i = 0; i < 3; i++) {
        sq25_field *acc = NULL;
        assert_int_equal(sq25_warning_accumulation(w, minutes[i], &acc), SQ25_OK);
        assert_float_equal(grid_at(acc, 4, 3), expect_mm[i], 1e-5);
        assert_float_equal(grid_at(acc, 0, 0), expect_mm[i], 1e-5);
        assert_int_equal(sq25_field_valid_time(acc), ISSUE + minutes[i] * 60);
        sq25_field_destroy(acc);
    }
    sq25_field *f = NULL;
    assert_int_equal(sq25_warning_accumulation(w, 7, &f), SQ25_ERR_RANGE);
    assert_int_equal(sq25_warning_accumulation(w, 65, &f), SQ25_ERR_RANGE);
    assert_int_equal(sq25_warning_levels(w, &f), SQ25_OK);
    for (int r = 0; r < 7; r++)
        for (int c = 0; c < 9; c++) assert_float_equal(grid_at(f, c, r), 2.0, 0);
    sq25_field_destroy(f);
    assert_int_equal(sq25_warning_onset(w, 1, &f), SQ25_OK);
    assert_float_equal(grid_at(f, 2, 2), 30.0, 0);
    sq25_field_destroy(f);
    assert_int_equal(sq25_warning_onset(w, 2, &f), SQ25_OK);
    assert_float_equal(grid_at(f, 2, 2), 50.0, 0);
    sq25_field_destroy(f);
    assert_int_equal(sq25_warning_onset(w, 3, &f), SQ25_OK);
    assert_true(isnan(grid_at(f, 2, 2)));
    sq25_field_destroy(f);
    assert_int_equal(sq25_warning_probability(w, 2, &f), SQ25_OK);
    assert_float_equal(grid_at(f, 0, 6), 1.0, 0);
    sq25_field_destroy(f);
    assert_int_equal(sq25_warning_probability(w, 3, &f), SQ25_OK);
    assert_float_equal(grid_at(f, 0, 6), 0.0, 0);
    sq25_field_destroy(f);
    assert_int_equal(sq25_warning_probability(w, 4, &f), SQ25_ERR_RANGE);
    assert_int_equal(sq25_warning_peak_rate(w, &f), SQ25_OK);
    assert_float_equal(grid_at(f, 1, 1), 30.0, 0);
    sq25_field_destroy(f);
    sq25_warning_destroy(w);
    free_frames(&fr);
    sq25_ctx_destroy(ctx);
}

/* 15-minute steps: 20 mm/h gives 5 mm per step; 15 mm (level 1) after 3 steps = 45 min and
 * 20 mm in 60 min (level 1 only). A rate of 40 mm/h in the second step only gives a peak of
 * 40 mm/h. */
static float steps_15min(int j, int c, int r)
{
    (void)r;
    return (c == 1 && j == 1) ? 40.0f : 20.0f;
}

static void test_15_minute_steps(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    frames_t fr;
    make_frames(ctx, &fr, 3, 2, 4, 900, steps_15min);
    sq25_warn_options *opt = NULL; /* radius 0: each cell on its own */
    assert_int_equal(sq25_warn_options_create(ctx, &opt), SQ25_OK);
    assert_int_equal(sq25_warn_options_set_radius(opt, 0, 0), SQ25_OK);
    sq25_warning *w = compute(ctx, opt, &fr, 900);
    sq25_warn_options_destroy(opt);
    sq25_field *f = NULL;
    assert_int_equal(sq25_warning_accumulation(w, 30, &f), SQ25_OK);
    assert_float_equal(grid_at(f, 0, 0), 10.0, 1e-5);
    assert_float_equal(grid_at(f, 1, 0), 15.0, 1e-5); /* 5 + 10 */
    sq25_field_destroy(f);
    assert_int_equal(sq25_warning_onset(w, 1, &f), SQ25_OK);
    assert_float_equal(grid_at(f, 0, 1), 45.0, 0);
    assert_float_equal(grid_at(f, 1, 1), 30.0, 0); /* 5 + 10 = 15 mm at 30 min */
    sq25_field_destroy(f);
    assert_int_equal(sq25_warning_levels(w, &f), SQ25_OK);
    assert_float_equal(grid_at(f, 0, 0), 1.0, 0); /* 20 mm */
    assert_float_equal(grid_at(f, 1, 0), 2.0, 0); /* 5 + 10 + 5 + 5 = 25 mm */
    sq25_field_destroy(f);
    assert_int_equal(sq25_warning_peak_rate(w, &f), SQ25_OK);
    assert_float_equal(grid_at(f, 1, 0), 40.0, 0);
    assert_float_equal(grid_at(f, 2, 0), 20.0, 0);
    sq25_field_destroy(f);
    sq25_warning_destroy(w);
    free_frames(&fr);
    sq25_ctx_destroy(ctx);
}

/* No data at lead 7 (35 min) in cell (2,1): the 15- and 30-min sums stay valid, the 60-min sum,
 * the level and the probability there are NaN; neighbours do not count it as valid. */
static float gap_at_35min(int j, int c, int r)
{
    return (j == 6 && c == 2 && r == 1) ? NAN : 30.0f;
}

static void test_nodata(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    frames_t fr;
    make_frames(ctx, &fr, 5, 3, 12, 300, gap_at_35min);
    sq25_warning *w = compute(ctx, NULL, &fr, 300);
    sq25_field *f = NULL;
    assert_int_equal(sq25_warning_accumulation(w, 30, &f), SQ25_OK);
    assert_float_equal(grid_at(f, 2, 1), 15.0, 1e-5);
    sq25_field_destroy(f);
    assert_int_equal(sq25_warning_accumulation(w, 60, &f), SQ25_OK);
    assert_true(isnan(grid_at(f, 2, 1)));
    assert_float_equal(grid_at(f, 3, 1), 30.0, 1e-5);
    sq25_field_destroy(f);
    assert_int_equal(sq25_warning_levels(w, &f), SQ25_OK);
    assert_true(isnan(grid_at(f, 2, 1)));
    assert_float_equal(grid_at(f, 3, 1), 2.0, 0);
    sq25_field_destroy(f);
    /* level 1 onset is at 30 min, before the gap: still known */
    assert_int_equal(sq25_warning_onset(w, 1, &f), SQ25_OK);
    assert_float_equal(grid_at(f, 2, 1), 30.0, 0);
    sq25_field_destroy(f);
    assert_int_equal(sq25_warning_probability(w, 2, &f), SQ25_OK);
    assert_true(isnan(grid_at(f, 2, 1)));
    assert_float_equal(grid_at(f, 3, 1), 1.0, 0); /* the NaN neighbour is not counted */
    sq25_field_destroy(f);
    sq25_warning_destroy(w);
    free_frames(&fr);
    sq25_ctx_destroy(ctx);
}

/* Rain of 60 mm/h in columns 0..9 of a 20 x 20 grid, none elsewhere; a fixed radius of 3 km
 * = 3 cells gives 7-column windows. In row 10 (window rows 7..13, all inside) the fraction of
 * rain cells is the number of rain columns in the window over 7: column 8 -> cols 5..11 -> 5/7,
 * column 10 -> cols 7..13 -> 3/7, column 12 -> cols 9..15 -> 1/7, column 13 -> 0. With the
 * default threshold 0.3, level 1 is issued at column 10 (3/7 = 0.43) but not at 12. */
static float half_plane(int j, int c, int r)
{
    (void)j, (void)r;
    return c < 10 ? 60.0f : 0.0f;
}

static void test_half_plane_probability(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    frames_t fr;
    make_frames(ctx, &fr, 20, 20, 12, 300, half_plane);
    sq25_warn_options *opt = NULL;
    assert_int_equal(sq25_warn_options_create(ctx, &opt), SQ25_OK);
    assert_int_equal(sq25_warn_options_set_radius(opt, 3000, 0), SQ25_OK);
    sq25_warning *w = compute(ctx, opt, &fr, 300);
    sq25_field *p = NULL, *lev = NULL;
    assert_int_equal(sq25_warning_probability(w, 1, &p), SQ25_OK);
    assert_float_equal(grid_at(p, 8, 10), 5.0 / 7.0, 1e-6);
    assert_float_equal(grid_at(p, 10, 10), 3.0 / 7.0, 1e-6);
    assert_float_equal(grid_at(p, 12, 10), 1.0 / 7.0, 1e-6);
    assert_float_equal(grid_at(p, 13, 10), 0.0, 0);
    assert_float_equal(grid_at(p, 10, 0), 3.0 / 7.0, 1e-6); /* rows 0..3 only: same ratio */
    assert_int_equal(sq25_warning_levels(w, &lev), SQ25_OK);
    assert_float_equal(grid_at(lev, 10, 10), 3.0, 0); /* 60 mm >= 40 in the window */
    assert_float_equal(grid_at(lev, 12, 10), 0.0, 0);
    sq25_field_destroy(lev);
    sq25_field_destroy(p);
    sq25_warning_destroy(w);
    /* a stricter threshold of 0.5 drops column 10 */
    assert_int_equal(sq25_warn_options_set_probability_threshold(opt, 0.5), SQ25_OK);
    w = compute(ctx, opt, &fr, 300);
    assert_int_equal(sq25_warning_levels(w, &lev), SQ25_OK);
    assert_float_equal(grid_at(lev, 10, 10), 0.0, 0);
    assert_float_equal(grid_at(lev, 8, 10), 3.0, 0);
    sq25_field_destroy(lev);
    sq25_warning_destroy(w);
    assert_int_equal(sq25_warn_options_set_probability_threshold(opt, 0), SQ25_ERR_RANGE);
    assert_int_equal(sq25_warn_options_set_radius(opt, -1, 0), SQ25_ERR_RANGE);
    sq25_warn_options_destroy(opt);
    free_frames(&fr);
    sq25_ctx_destroy(ctx);
}

/* A disc of rain (radius 5.5 cells around cell (20,20) of a 41 x 41 grid), fixed radius 2 km:
 * the probability in every cell must equal the fraction of its 5 x 5 window (clipped to the
 * grid) covered by the disc, counted here cell by cell. */
static float rain_disc(int j, int c, int r)
{
    (void)j;
    double d2 = (c - 20.0) * (c - 20.0) + (r - 20.0) * (r - 20.0);
    return d2 <= 5.5 * 5.5 ? 50.0f : 0.0f;
}

static void test_disc_probability_brute_force(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    frames_t fr;
    make_frames(ctx, &fr, 41, 41, 12, 300, rain_disc);
    sq25_warn_options *opt = NULL;
    assert_int_equal(sq25_warn_options_create(ctx, &opt), SQ25_OK);
    assert_int_equal(sq25_warn_options_set_radius(opt, 2000, 0), SQ25_OK);
    sq25_warning *w = compute(ctx, opt, &fr, 300);
    sq25_field *p = NULL;
    assert_int_equal(sq25_warning_probability(w, 1, &p), SQ25_OK);
    int partial = 0;
    for (int r = 0; r < 41; r++) {
        for (int c = 0; c < 41; c++) {
            int inside = 0, all = 0;
            for (int dr = -2; dr <= 2; dr++)
                for (int dc = -2; dc <= 2; dc++) {
                    int rr = r + dr, cc = c + dc;
                    if (rr < 0 || rr >= 41 || cc < 0 || cc >= 41) continue;
                    all++;
                    inside += rain_disc(0, cc, rr) > 0;
                }
            double expect = (double)inside / all;
            partial += expect > 0 && expect < 1;
            assert_float_equal(grid_at(p, c, r), expect, 1e-6);
        }
    }
    assert_true(partial > 40); /* the edge ring is really exercised */
    sq25_field_destroy(p);
    sq25_warning_destroy(w);
    sq25_warn_options_destroy(opt);
    free_frames(&fr);
    sq25_ctx_destroy(ctx);
}

/* Rain cells at the edges of the library's blocks of 32 columns on a 100 x 9 grid, three
 * intensities held for the hour: 50 mm/h (50 mm, all three levels 15/25/40), 30 mm/h (levels
 * 1 and 2), 20 mm/h (level 1). The half window is 3 cells at every lead (radius 3 km, no
 * growth); the totals only grow, so each probability is the fraction at the last lead,
 * counted here by brute force over the clipped 7 x 7 window. */
static float block_edges(int j, int c, int r)
{
    (void)j;
    if ((c == 29 && r == 4) || (c == 64 && r == 0)) return 50.0f;
    if ((c == 34 && r == 8) || (c == 95 && r == 2)) return 30.0f;
    if ((c == 61 && r == 5) || (c == 99 && r == 7)) return 20.0f;
    return 0.0f;
}

/* Twelve 5-minute leads of rate on a w x h grid, warned with a fixed radius (no growth). */
static sq25_warning *compute_fixed_radius(sq25_ctx *ctx, frames_t *fr, int w, int h,
                                          rate_fn rate, double radius_m)
{
    make_frames(ctx, fr, w, h, 12, 300, rate);
    sq25_warn_options *opt = NULL;
    assert_int_equal(sq25_warn_options_create(ctx, &opt), SQ25_OK);
    assert_int_equal(sq25_warn_options_set_radius(opt, radius_m, 0), SQ25_OK);
    sq25_warning *warning = compute(ctx, opt, fr, 300);
    sq25_warn_options_destroy(opt);
    return warning;
}

static void test_block_edges_brute_force(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    frames_t fr;
    sq25_warning *w = compute_fixed_radius(ctx, &fr, 100, 9, block_edges, 3000);
    const double threshold_mm[3] = {15, 25, 40};
    int nonzero = 0;
    for (int level = 1; level <= 3; level++) {
        sq25_field *p = NULL;
        assert_int_equal(sq25_warning_probability(w, level, &p), SQ25_OK);
        for (int r = 0; r < 9; r++)
            for (int c = 0; c < 100; c++) {
                int inside = 0, all = 0;
                for (int dr = -3; dr <= 3; dr++)
                    for (int dc = -3; dc <= 3; dc++) {
                        int rr = r + dr, cc = c + dc;
                        if (rr < 0 || rr >= 9 || cc < 0 || cc >= 100) continue;
                        all++;
                        inside += block_edges(0, cc, rr) >= threshold_mm[level - 1];
                    }
                nonzero += inside > 0;
                assert_float_equal(grid_at(p, c, r), (double)inside / all, 1e-7);
            }
        sq25_field_destroy(p);
    }
    assert_true(nonzero > 3 * 49); /* windows round every rain cell, across block edges */
    sq25_warning_destroy(w);
    free_frames(&fr);
    sq25_ctx_destroy(ctx);
}

/* Radius growth: 1000 mm/h in the single cell (15,15) during the first 5 min only (83 mm, above
 * every threshold from lead 5 on). Default growth 100 m/min on 1 km cells: the half window at
 * lead L min is round(L/10) cells: 1 at 5 and 10 min, ..., 6 at 60 min. A cell at Chebyshev
 * distance d <= 6 sees the rain cell first in the window of half size max(d,1), the smallest and
 * so the largest fraction: P = 1 / (2 max(d,1) + 1)^2; beyond 6 cells P = 0. */
static float single_burst(int j, int c, int r)
{
    return (j == 0 && c == 15 && r == 15) ? 1000.0f : 0.0f;
}

static void test_radius_growth(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    frames_t fr;
    make_frames(ctx, &fr, 31, 31, 12, 300, single_burst);
    sq25_warning *w = compute(ctx, NULL, &fr, 300);
    sq25_field *p = NULL;
    assert_int_equal(sq25_warning_probability(w, 3, &p), SQ25_OK);
    for (int d = 0; d <= 8; d++) {
        int n = d < 1 ? 1 : d;
        double expect = d <= 6 ? 1.0 / ((2 * n + 1) * (2 * n + 1)) : 0.0;
        assert_float_equal(grid_at(p, 15 + d, 15), expect, 1e-7);
        assert_float_equal(grid_at(p, 15 - d, 15 - d), expect, 1e-7);
    }
    sq25_field_destroy(p);
    sq25_warning_destroy(w);
    free_frames(&fr);
    sq25_ctx_destroy(ctx);
}

static void test_input_errors(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    frames_t fr;
    make_frames(ctx, &fr, 4, 4, 12, 300, uniform_30);
    sq25_warning *w = NULL;
    const sq25_field *const *frames = (const sq25_field *const *)fr.f;
    /* too few: 11 frames reach 55 min */
    assert_int_equal(sq25_warn_compute(ctx, NULL, frames, 11, 300, ISSUE, &w), SQ25_ERR_TOO_FEW);
    assert_null(w);
    /* valid times 5 min apart but the step claimed is 10 min */
    assert_int_equal(sq25_warn_compute(ctx, NULL, frames, 12, 600, ISSUE, &w),
                     SQ25_ERR_TIME_MISMATCH);
    assert_non_null(strstr(sq25_errmsg(ctx), "frame 0"));
    assert_int_equal(sq25_warn_compute(ctx, NULL, frames, 12, 420, ISSUE, &w),
                     SQ25_ERR_TIME_MISMATCH); /* 3600 is not a multiple of 420 */
    /* another grid */
    const double gt[6] = {0, 500, 0, 0, 0, -500};
    sq25_field *other = NULL;
    assert_int_equal(sq25_field_create(ctx, 4, 4, EQC, gt, ISSUE + 3 * 300, &other), SQ25_OK);
    sq25_field *saved = fr.f[2];
    fr.f[2] = other;
    assert_int_equal(sq25_warn_compute(ctx, NULL, frames, 12, 300, ISSUE, &w),
                     SQ25_ERR_GRID_MISMATCH);
    fr.f[2] = saved;
    sq25_field_destroy(other);
    /* a lon/lat grid has no metric pixel size */
    frames_t geo;
    geo.n = 12;
    const double gtdeg[6] = {4, 0.01, 0, 51, 0, -0.01};
    for (int j = 0; j < 12; j++)
        assert_int_equal(sq25_field_create(ctx, 3, 3, "EPSG:4326", gtdeg,
                                           ISSUE + (int64_t)(j + 1) * 300, &geo.f[j]),
                         SQ25_OK);
    assert_int_equal(sq25_warn_compute(ctx, NULL, (const sq25_field *const *)geo.f, 12, 300,
                                       ISSUE, &w),
                     SQ25_ERR_UNSUPPORTED);
    free_frames(&geo);
    /* options */
    sq25_warn_options *opt = NULL;
    assert_int_equal(sq25_warn_options_create(ctx, &opt), SQ25_OK);
    const double bad[2] = {20, 10};
    assert_int_equal(sq25_warn_options_set_levels(opt, 2, bad, NULL), SQ25_ERR_RANGE);
    assert_int_equal(sq25_warn_options_set_levels(opt, 9, bad, NULL), SQ25_ERR_RANGE);
    const double two[2] = {5, 10};
    assert_int_equal(sq25_warn_options_set_levels(opt, 2, two, NULL), SQ25_OK);
    assert_int_equal(sq25_warn_options_set_horizon(opt, 1800), SQ25_OK);
    w = compute(ctx, opt, &fr, 300);
    /* 30 min of 30 mm/h = 15 mm: level 2 (10 mm) */
    assert_int_equal(sq25_warning_level_count(w), 2);
    assert_string_equal(sq25_warning_level_name(w, 2), "level 2");
    sq25_field *lev = NULL;
    assert_int_equal(sq25_warning_levels(w, &lev), SQ25_OK);
    assert_float_equal(grid_at(lev, 1, 1), 2.0, 0);
    sq25_field_destroy(lev);
    assert_int_equal(sq25_warning_accumulation(w, 60, &lev), SQ25_ERR_RANGE);
    sq25_warning_destroy(w);
    sq25_warn_options_destroy(opt);
    free_frames(&fr);
    sq25_ctx_destroy(ctx);
}

/* The bundled RMI composite of 2021-07-04 17:00 UTC (Lambert conformal conic with +towgs84, a
 * PROJ BoundCRS; 1 km cells) held for an hour: the 60-minute total of each cell equals its rate
 * in mm/h read independently from the file (persistence: R mm/h for 1 h = R mm), cells without
 * data stay NaN, and the summary reports 1000 m pixels. */
static void test_real_frame_persistence(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *obs = NULL;
    const char *path = test_data_path("radar/rmi_20210704/20210704170000.rad.best.comp.rate.qpe.hdf");
    assert_int_equal(sq25_read_field(ctx, path, &obs), SQ25_OK);
    int64_t issue = sq25_field_valid_time(obs);
    sq25_field *frames[12];
    for (int j = 0; j < 12; j++) {
        assert_int_equal(sq25_field_clone(obs, &frames[j]), SQ25_OK);
        sq25_field_set_valid_time(frames[j], issue + (int64_t)(j + 1) * 300);
    }
    sq25_warning *w = NULL;
    int rc = sq25_warn_compute(ctx, NULL, (const sq25_field *const *)frames, 12, 300, issue, &w);
    if (rc) fprintf(stderr, "%s\n", sq25_errmsg(ctx));
    assert_int_equal(rc, SQ25_OK);
    sq25_field *acc = NULL;
    assert_int_equal(sq25_warning_accumulation(w, 60, &acc), SQ25_OK);
    const float *rate = sq25_field_data_const(obs);
    const float *mm = sq25_field_data_const(acc);
    size_t n = (size_t)sq25_field_width(obs) * sq25_field_height(obs), wet = 0, nodata = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(rate[i])) {
            assert_true(isnan(mm[i]));
            nodata++;
            continue;
        }
        assert_float_equal(mm[i], rate[i], 1e-4 * (1 + rate[i]));
        wet += rate[i] > 0.1f;
    }
    assert_true(wet > 1000 && nodata > 1000);
    char out[512];
    snprintf(out, sizeof out, "%s/summary.json", test_tmpdir());
    assert_int_equal(sq25_warning_write_summary_json(w, out), SQ25_OK);
    FILE *fp = fopen(out, "r");
    char text[4096] = "";
    assert_true(fread(text, 1, sizeof text - 1, fp) > 0);
    fclose(fp);
    assert_non_null(strstr(text, "\"pixel_x_m\":1000,\"pixel_y_m\":1000"));
    sq25_field_destroy(acc);
    sq25_warning_destroy(w);
    for (int j = 0; j < 12; j++) sq25_field_destroy(frames[j]);
    sq25_field_destroy(obs);
    sq25_ctx_destroy(ctx);
}

/* Fail each allocation of a warning computation in turn: SQ25_ERR_NOMEM and no leak. */
static void test_warn_allocation_failures(void **state)
{
    (void)state;
    int failures = 0;
    for (long n = 1; n < 200; n++) {
        test_alloc_state st = {0, 0, 0};
        sq25_ctx *ctx = test_ctx_failing(&st);
        frames_t fr;
        make_frames(ctx, &fr, 6, 5, 12, 300, uniform_30);
        st.fail_at = st.calls + n;
        long before = st.calls;
        sq25_warning *w = NULL;
        int rc = sq25_warn_compute(ctx, NULL, (const sq25_field *const *)fr.f, 12, 300, ISSUE,
                                   &w);
        if (rc == SQ25_OK) rc = sq25_warning_add_input(w, "forecast.h5");
        if (rc != SQ25_OK) {
            assert_int_equal(rc, SQ25_ERR_NOMEM);
            failures++;
        }
        long used = st.calls - before;
        st.fail_at = 0;
        sq25_warning_destroy(w);
        free_frames(&fr);
        sq25_ctx_destroy(ctx);
        assert_int_equal(st.live, 0);
        if (used < n) break;
    }
    assert_true(failures >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uniform_rain),
        cmocka_unit_test(test_15_minute_steps),
        cmocka_unit_test(test_nodata),
        cmocka_unit_test(test_half_plane_probability),
        cmocka_unit_test(test_disc_probability_brute_force),
        cmocka_unit_test(test_block_edges_brute_force),
        cmocka_unit_test(test_radius_growth),
        cmocka_unit_test(test_input_errors),
        cmocka_unit_test(test_real_frame_persistence),
        cmocka_unit_test(test_warn_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
