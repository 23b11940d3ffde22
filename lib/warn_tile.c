/* warn_tile.c -- what a tiled run needs: a window of a warning as a warning of its own, and the
 * halo around a tile.
 * A tiled street grid (python/sq25/distributed.py) computes each tile's warning on the tile plus
 * a halo, then keeps the tile's own cells: everything a cell's result depends on lies within
 * sq25_warn_options_halo_cells of it, so the kept cells equal those of an untiled run. */
#include "warn_internal.h"

#include <math.h>
#include <string.h>

int sq25_warn_options_halo_cells(const sq25_warn_options *opt, double cell_m, int *cells)
{
    if (!opt || !cells) return SQ25_ERR_INVALID_ARG;
    if (!(cell_m > 0) || !isfinite(cell_m))
        return sq25__fail(opt->ctx, SQ25_ERR_RANGE, "halo: cell size %g m must be > 0", cell_m);
    /* The neighbourhood window is widest at the horizon (sq25__warn_window rounds the same way);
     * target sampling reaches the cells whose centre lies within the radius, plus one. */
    double window_m = opt->radius_at_issue_m + opt->radius_growth_m_per_min * opt->horizon_s / 60.0;
    double window_cells = floor(window_m / cell_m + 0.5);
    double target_cells = ceil(opt->target_radius_m / cell_m) + 1.0;
    double halo = fmax(window_cells, target_cells);
    if (halo > SQ25_MAX_GRID_SIDE)
        return sq25__fail(opt->ctx, SQ25_ERR_RANGE, "halo of %g cells at %g m is absurd", halo,
                          cell_m);
    *cells = (int)halo;
    return SQ25_OK;
}

/* dst (width x height) = the window of src (src_width wide) at (col0, row0), layers times. */
static void copy_window(float *dst, const float *src, int src_width, int src_height, int col0,
                        int row0, int width, int height, int layers)
{
    for (int k = 0; k < layers; k++) {
        const float *layer = src + (size_t)k * src_width * src_height;
        float *out = dst + (size_t)k * width * height;
        for (int r = 0; r < height; r++)
            memcpy(out + (size_t)r * width, layer + (size_t)(row0 + r) * src_width + col0,
                   (size_t)width * sizeof(float));
    }
}

static int crop_grid(const sq25_warning *w, int col0, int row0, int width, int height,
                     sq25_field **out)
{
    const double *g = w->grid->gt;
    /* Whole-cell offsets: the window's cell edges are the source's (exact for grids whose
     * origin and cell size are representable, as street grids are). */
    const double gt[6] = {g[0] + col0 * g[1] + row0 * g[2], g[1], g[2],
                          g[3] + col0 * g[4] + row0 * g[5], g[4], g[5]};
    int rc = sq25_field_create(w->ctx, width, height, w->grid->projdef, gt,
                               w->grid->valid_time, out);
    if (rc) return rc;
    (*out)->accumulation_s = w->grid->accumulation_s;
    copy_window((*out)->data, w->grid->data, w->width, w->height, col0, row0, width, height, 1);
    return SQ25_OK;
}

static void copy_state_window(unsigned char *dst, const unsigned char *src, int src_width,
                              int col0, int row0, int width, int height)
{
    for (int r = 0; r < height; r++)
        memcpy(dst + (size_t)r * width, src + (size_t)(row0 + r) * src_width + col0,
               (size_t)width);
}

/* The states (per cell and of the inputs) and the analysis note of w, for the window. */
static int copy_states(const sq25_warning *w, sq25_warning *c, int col0, int row0)
{
    c->input_state = w->input_state;
    c->data_time = w->data_time;
    memcpy(c->state_reason, w->state_reason, sizeof c->state_reason);
    if (w->analysis_json && !(c->analysis_json = sq25__strdup(c->ctx, w->analysis_json)))
        return SQ25_ERR_NOMEM;
    if (!w->cell_state) return SQ25_OK;
    c->cell_state = sq25__malloc(c->ctx, (size_t)c->width * (size_t)c->height);
    if (!c->cell_state) return SQ25_ERR_NOMEM;
    copy_state_window(c->cell_state, w->cell_state, w->width, col0, row0, c->width, c->height);
    return SQ25_OK;
}

static int copy_inputs(const sq25_warning *w, sq25_warning *c)
{
    for (size_t i = 0; i < w->input_count; i++) {
        int rc = sq25_warning_add_input(c, w->inputs[i]);
        if (rc) return rc;
    }
    return SQ25_OK;
}

int sq25_warning_crop(const sq25_warning *w, int col0, int row0, int width, int height,
                      sq25_warning **out)
{
    if (!w || !out) return w ? sq25__fail(w->ctx, SQ25_ERR_INVALID_ARG, "NULL out")
                             : SQ25_ERR_INVALID_ARG;
    *out = NULL;
    if (col0 < 0 || row0 < 0 || width < 1 || height < 1 || col0 > w->width - width ||
        row0 > w->height - height)
        return sq25__fail(w->ctx, SQ25_ERR_RANGE,
                          "crop window %d x %d at column %d, row %d is not inside the %d x %d "
                          "warning grid", width, height, col0, row0, w->width, w->height);
    sq25_warning *c = sq25__calloc(w->ctx, 1, sizeof *c);
    if (!c) return SQ25_ERR_NOMEM;
    c->ctx = w->ctx;
    c->opt = w->opt;
    c->width = width;
    c->height = height;
    c->lead_step_s = w->lead_step_s;
    c->lead_count = w->lead_count;
    c->issue_time = w->issue_time;
    c->pixel_x_m = w->pixel_x_m;
    c->pixel_y_m = w->pixel_y_m;
    int rc = sq25__warn_allocate_grids(c);
    if (rc == SQ25_OK) rc = crop_grid(w, col0, row0, width, height, &c->grid);
    if (rc == SQ25_OK) rc = copy_inputs(w, c);
    if (rc == SQ25_OK) rc = copy_states(w, c, col0, row0);
    if (rc) {
        sq25_warning_destroy(c);
        return rc;
    }
    int W = w->width, H = w->height, levels = w->opt.level_count;
    copy_window(c->cum_mm, w->cum_mm, W, H, col0, row0, width, height, w->lead_count);
    copy_window(c->peak_mmh, w->peak_mmh, W, H, col0, row0, width, height, 1);
    copy_window(c->probability, w->probability, W, H, col0, row0, width, height, levels);
    copy_window(c->onset_min, w->onset_min, W, H, col0, row0, width, height, levels);
    copy_window(c->level, w->level, W, H, col0, row0, width, height, 1);
    *out = c;
    return sq25__ok(w->ctx);
}
