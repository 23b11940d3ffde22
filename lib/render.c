/* render.c -- PNG maps of rain-rate fields and warnings (libpng), with a title band, a legend
 * and target markers drawn in the built-in bitmap font (render_font.c). */
#include "warn_internal.h"
#include "io_deflate.h"

#include <libdeflate.h>

#include <math.h>
#include <png.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#define MARGIN_PX 10
#define TITLE_BAND_PX 56
#define LEGEND_W_PX 230
#define LEGEND_ROW_PX 22
#define TEXT_SCALE 2
#define MIN_MAP_SIDE_PX 600
#define MAX_SCALE 16

/* Rain classes: lower bound (mm/h) and colour, light to dark (relative luminance falls
 * strictly from 0.97 to 0.01, see tests/unit/test_render.c). */
static const double class_lower_mmh[SQ25_RENDER_PALETTE_STEPS] = {0.1, 0.5, 1,  2,  5,
                                                                  10,  20,  30, 50, 100};
static const unsigned char class_rgb[SQ25_RENDER_PALETTE_STEPS][3] = {
    {255, 255, 204}, {255, 237, 150}, {254, 217, 100}, {254, 178, 76}, {253, 141, 60},
    {240, 80, 40},   {205, 30, 35},   {160, 0, 50},    {110, 0, 90},   {55, 0, 70}};

static const unsigned char white[3] = {255, 255, 255};
static const unsigned char black[3] = {0, 0, 0};
static const unsigned char frame_grey[3] = {80, 80, 80};
static const unsigned char nodata_light[3] = {220, 220, 220};
static const unsigned char nodata_hatch[3] = {160, 160, 160};
static const unsigned char graticule_rgb[3] = {70, 110, 160}; /* muted blue, distinct from rain */
/* Warning levels 1..8: solid colours, darker with every level (relative luminance falls
 * strictly, tests/unit/test_render.c), the first three orange, red, dark red as DWD's levels
 * 2..4 for heavy rain. A level is never shaded by its probability, so a higher level can
 * never look paler than a lower one and the legend swatch is the drawn colour. Cells with a
 * level-1 probability above 0 but below the threshold: one pale colour. */
static const unsigned char level_rgb[SQ25_WARN_MAX_LEVELS][3] = {
    {255, 160, 0}, {225, 0, 0}, {140, 0, 40}, {110, 0, 90},
    {80, 0, 80},   {55, 0, 60}, {35, 0, 40},  {15, 0, 20}};
static const unsigned char below_threshold_rgb[3] = {255, 225, 180};
static const unsigned char no_data_target_rgb[3] = {120, 120, 120};

struct sq25_render_options {
    sq25_ctx *ctx;
    char *title;
    bool has_time;
    int64_t time;
    int scale;
    bool no_graticule; /* false: meridians and parallels are drawn */
    char *credit;      /* data source's credit line, NULL = the field's producer */
    bool has_local;    /* local time beside UTC */
    int utc_offset_min;
    char local_label[16];
};

typedef struct {
    int w, h;
    unsigned char *rgb;
} image;

/* ---- palette and options ---- */

int sq25_render_palette(int i, double *lower_mmh, unsigned char rgb[3])
{
    if (i < 0 || i >= SQ25_RENDER_PALETTE_STEPS) return SQ25_ERR_RANGE;
    if (lower_mmh) *lower_mmh = class_lower_mmh[i];
    if (rgb) memcpy(rgb, class_rgb[i], 3);
    return SQ25_OK;
}

int sq25_render_options_create(sq25_ctx *ctx, sq25_render_options **out)
{
    if (!ctx) return SQ25_ERR_INVALID_ARG;
    if (!out) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_render_options_create: NULL");
    *out = sq25__calloc(ctx, 1, sizeof **out);
    if (!*out) return SQ25_ERR_NOMEM;
    (*out)->ctx = ctx;
    return sq25__ok(ctx);
}

void sq25_render_options_destroy(sq25_render_options *opt)
{
    if (!opt) return;
    sq25__free(opt->ctx, opt->title);
    sq25__free(opt->ctx, opt->credit);
    sq25__free(opt->ctx, opt);
}

int sq25_render_options_set_title(sq25_render_options *opt, const char *title)
{
    if (!opt || !title) return SQ25_ERR_INVALID_ARG;
    char *copy = sq25__strdup(opt->ctx, title);
    if (!copy) return SQ25_ERR_NOMEM;
    sq25__free(opt->ctx, opt->title);
    opt->title = copy;
    return sq25__ok(opt->ctx);
}

int sq25_render_options_set_time(sq25_render_options *opt, int64_t utc_seconds)
{
    if (!opt) return SQ25_ERR_INVALID_ARG;
    opt->has_time = true;
    opt->time = utc_seconds;
    return SQ25_OK;
}

int sq25_render_options_set_credit(sq25_render_options *opt, const char *credit)
{
    if (!opt || !credit) return SQ25_ERR_INVALID_ARG;
    char *copy = sq25__strdup(opt->ctx, credit);
    if (!copy) return SQ25_ERR_NOMEM;
    sq25__free(opt->ctx, opt->credit);
    opt->credit = copy;
    return sq25__ok(opt->ctx);
}

int sq25_render_options_set_local_time(sq25_render_options *opt, int utc_offset_min,
                                       const char *label)
{
    if (!opt) return SQ25_ERR_INVALID_ARG;
    if (utc_offset_min < -14 * 60 || utc_offset_min > 14 * 60)
        return sq25__fail(opt->ctx, SQ25_ERR_RANGE, "UTC offset %d min outside -840..840",
                          utc_offset_min);
    opt->has_local = true;
    opt->utc_offset_min = utc_offset_min;
    snprintf(opt->local_label, sizeof opt->local_label, "%s", label ? label : "LOCAL");
    return sq25__ok(opt->ctx);
}

int sq25_render_options_set_graticule(sq25_render_options *opt, int enabled)
{
    if (!opt) return SQ25_ERR_INVALID_ARG;
    opt->no_graticule = !enabled;
    return SQ25_OK;
}

int sq25_render_options_set_scale(sq25_render_options *opt, int pixels_per_cell)
{
    if (!opt) return SQ25_ERR_INVALID_ARG;
    if (pixels_per_cell < 0 || pixels_per_cell > MAX_SCALE)
        return sq25__fail(opt->ctx, SQ25_ERR_RANGE, "scale %d outside 0..%d", pixels_per_cell,
                          MAX_SCALE);
    opt->scale = pixels_per_cell;
    return SQ25_OK;
}

/* ---- layout and drawing primitives ---- */

sq25__render_layout sq25__render_layout_for(int grid_w, int grid_h, int scale_option)
{
    sq25__render_layout l;
    int longer = grid_w > grid_h ? grid_w : grid_h;
    l.scale = scale_option ? scale_option : (MIN_MAP_SIDE_PX + longer - 1) / longer;
    if (l.scale < 1) l.scale = 1;
    if (l.scale > MAX_SCALE) l.scale = MAX_SCALE;
    l.map_x = MARGIN_PX;
    l.map_y = TITLE_BAND_PX;
    l.map_w = grid_w * l.scale;
    l.map_h = grid_h * l.scale;
    l.legend_x = l.map_x + l.map_w + 2 * MARGIN_PX;
    l.width = l.legend_x + LEGEND_W_PX;
    int legend_h = 16 * LEGEND_ROW_PX;
    int body = l.map_h > legend_h ? l.map_h : legend_h;
    l.height = l.map_y + body + MARGIN_PX;
    return l;
}

static void put_pixel(image *img, int x, int y, const unsigned char rgb[3])
{
    if (x < 0 || y < 0 || x >= img->w || y >= img->h) return;
    memcpy(img->rgb + ((size_t)y * img->w + x) * 3, rgb, 3);
}

static void fill_rect(image *img, int x, int y, int w, int h, const unsigned char rgb[3])
{
    for (int yy = y; yy < y + h; yy++)
        for (int xx = x; xx < x + w; xx++) put_pixel(img, xx, yy, rgb);
}

static void outline_rect(image *img, int x, int y, int w, int h, const unsigned char rgb[3])
{
    fill_rect(img, x, y, w, 1, rgb);
    fill_rect(img, x, y + h - 1, w, 1, rgb);
    fill_rect(img, x, y, 1, h, rgb);
    fill_rect(img, x + w - 1, y, 1, h, rgb);
}

/* Text with the 5x7 font, each font pixel drawn as scale x scale image pixels. */
static void draw_text(image *img, int x, int y, const char *text, int scale,
                      const unsigned char rgb[3])
{
    for (const char *c = text; *c; c++, x += (SQ25__GLYPH_W + 1) * scale) {
        const unsigned char *rows = sq25__glyph(*c);
        for (int r = 0; r < SQ25__GLYPH_H; r++)
            for (int col = 0; col < SQ25__GLYPH_W; col++)
                if (rows[r] & (0x10 >> col))
                    fill_rect(img, x + col * scale, y + r * scale, scale, scale, rgb);
    }
}

static void hatch_colour(int x, int y, unsigned char out[3])
{
    memcpy(out, (x + y) % 8 < 2 ? nodata_hatch : nodata_light, 3);
}

/* The colour of a rain rate; NULL for no data (hatched). */
static const unsigned char *rain_rgb(float mmh)
{
    if (isnan(mmh)) return NULL;
    /* the lower bounds increase: the first one above the rate ends the search (most cells
     * of a map are dry, and stop at the first) */
    const unsigned char *rgb = white;
    for (int i = 0; i < SQ25_RENDER_PALETTE_STEPS && mmh >= class_lower_mmh[i]; i++)
        rgb = class_rgb[i];
    return rgb;
}

static const unsigned char *level_rgb_of(int level)
{
    return level_rgb[level > SQ25_WARN_MAX_LEVELS ? SQ25_WARN_MAX_LEVELS - 1 : level - 1];
}

static void level_colour(int level, unsigned char out[3]) { memcpy(out, level_rgb_of(level), 3); }

/* ---- the map ---- */

/* The colour of a grid cell, NULL where it is hatched (no data). */
typedef const unsigned char *(*cell_colour_fn)(const void *source, size_t cell);

/* Each cell is a scale x scale block of pixels. A cell's colour is looked up once per
 * row of cells; only hatched cells depend on the pixel. */
static int draw_map(sq25_ctx *ctx, image *img, const sq25__render_layout *l, int grid_w,
                    cell_colour_fn colour, const void *source)
{
    const unsigned char **row_rgb = sq25__malloc(ctx, (size_t)grid_w * sizeof *row_rgb);
    if (!row_rgb) return SQ25_ERR_NOMEM;
    bool hatched = false; /* the current row of cells has hatched cells */
    const bool inside = l->map_x >= 0 && l->map_x + l->map_w <= img->w && l->map_y >= 0 &&
                        l->map_y + l->map_h <= img->h;
    for (int y = 0; y < l->map_h; y++) {
        const int row = y / l->scale, py = l->map_y + y;
        if (y % l->scale == 0) {
            hatched = false;
            for (int c = 0; c < grid_w; c++) {
                row_rgb[c] = colour(source, (size_t)row * grid_w + c);
                hatched |= !row_rgb[c];
            }
        } else if (!hatched && inside) { /* the same pixels as the image row above */
            unsigned char *dst = img->rgb + ((size_t)py * img->w + l->map_x) * 3;
            memcpy(dst, dst - (size_t)img->w * 3, (size_t)l->map_w * 3);
            continue;
        }
        if (py < 0 || py >= img->h) continue;
        for (int x = 0; x < l->map_w; x++) {
            const int px = l->map_x + x;
            if (px < 0 || px >= img->w) continue;
            const unsigned char *rgb = row_rgb[x / l->scale];
            if (!rgb) rgb = (px - l->map_x + y) % 8 < 2 ? nodata_hatch : nodata_light;
            memcpy(img->rgb + ((size_t)py * img->w + px) * 3, rgb, 3);
        }
    }
    sq25__free(ctx, row_rgb);
    outline_rect(img, l->map_x - 1, l->map_y - 1, l->map_w + 2, l->map_h + 2, frame_grey);
    return SQ25_OK;
}

static const unsigned char *field_cell_colour(const void *source, size_t cell)
{
    return rain_rgb(((const sq25_field *)source)->data[cell]);
}

static const unsigned char *warning_cell_colour(const void *source, size_t cell)
{
    const sq25_warning *w = source;
    float level = w->level[cell];
    if (isnan(level)) return NULL;
    if (level >= 1) return level_rgb_of((int)level);
    return w->probability[cell] > 0 ? below_threshold_rgb : white;
}

/* ---- title band, legends, targets ---- */

/* Title, time line and, in small type under them, the data source's credit line (the
 * licences of radar data, e.g. RMI's, require it on every product). */
static void draw_title_band(image *img, const char *title, const char *time_line,
                            const char *credit)
{
    if (title && title[0]) draw_text(img, MARGIN_PX, MARGIN_PX, title, TEXT_SCALE, black);
    draw_text(img, MARGIN_PX, MARGIN_PX + 8 * TEXT_SCALE + 4, time_line, TEXT_SCALE, black);
    if (credit && credit[0])
        draw_text(img, MARGIN_PX, MARGIN_PX + 2 * (8 * TEXT_SCALE + 4) - 3, credit, 1, black);
}

/* "PREFIX YYYY-MM-DD HH:MM UTC", and " (HH:MM LABEL)" when the caller gave a local time. */
static void format_time_line(const sq25_render_options *opt, int64_t t, const char *prefix,
                             char *buf, size_t cap)
{
    char iso[32];
    sq25__format_utc(t, iso, sizeof iso);
    int n = snprintf(buf, cap, "%s%.10s %.5s UTC", prefix, iso, iso + 11);
    if (opt && opt->has_local && n > 0 && (size_t)n < cap) {
        char local[32];
        sq25__format_utc(t + (int64_t)opt->utc_offset_min * 60, local, sizeof local);
        snprintf(buf + n, cap - (size_t)n, " (%.5s %s)", local + 11, opt->local_label);
    }
}

static void legend_box(image *img, int x, int y, const unsigned char rgb[3], bool hatched,
                       const char *label)
{
    for (int yy = 0; yy < 16; yy++)
        for (int xx = 0; xx < 28; xx++) {
            unsigned char c[3];
            if (hatched) hatch_colour(x + xx, y + yy, c);
            else memcpy(c, rgb, 3);
            put_pixel(img, x + xx, y + yy, c);
        }
    outline_rect(img, x, y, 28, 16, frame_grey);
    draw_text(img, x + 36, y + 1, label, TEXT_SCALE, black);
}

static void draw_rain_legend(image *img, const sq25__render_layout *l)
{
    int x = l->legend_x, y = l->map_y;
    draw_text(img, x, y, "MM/H", TEXT_SCALE, black);
    y += LEGEND_ROW_PX + 4;
    for (int i = SQ25_RENDER_PALETTE_STEPS - 1; i >= 0; i--, y += LEGEND_ROW_PX) {
        char label[16];
        snprintf(label, sizeof label, "%g", class_lower_mmh[i]);
        legend_box(img, x, y, class_rgb[i], false, label);
    }
    legend_box(img, x, y, white, false, "< 0.1");
    legend_box(img, x, y + LEGEND_ROW_PX, NULL, true, "NO DATA");
}

static void draw_warning_legend(image *img, const sq25__render_layout *l, const sq25_warning *w)
{
    int x = l->legend_x, y = l->map_y;
    draw_text(img, x, y, "WARNING", TEXT_SCALE, black);
    y += LEGEND_ROW_PX + 4;
    for (int level = w->opt.level_count; level >= 1; level--, y += LEGEND_ROW_PX) {
        char label[48];
        snprintf(label, sizeof label, "%d %.8s %gMM", level, w->opt.level_name[level - 1],
                 w->opt.threshold_mm[level - 1]);
        unsigned char rgb[3];
        level_colour(level, rgb);
        legend_box(img, x, y, rgb, false, label);
    }
    char label[40];
    snprintf(label, sizeof label, "P < %g", w->opt.probability_threshold);
    legend_box(img, x, y, below_threshold_rgb, false, label);
    legend_box(img, x, y + LEGEND_ROW_PX, NULL, true, "NO DATA");
    y += 2 * LEGEND_ROW_PX + 8;
    /* onset: the first lead at which each level's amount is reached in its warned cells */
    draw_text(img, x, y, "ONSET", TEXT_SCALE, black);
    y += LEGEND_ROW_PX;
    size_t n = (size_t)w->width * w->height;
    for (int level = w->opt.level_count; level >= 1; level--) {
        double first = NAN;
        const float *onset = w->onset_min + (size_t)(level - 1) * n;
        for (size_t c = 0; c < n; c++)
            if (w->level[c] == level && !isnan(onset[c]) && !(onset[c] >= first)) first = onset[c];
        if (isnan(first)) continue;
        snprintf(label, sizeof label, "%d FROM +%g MIN", level, first);
        draw_text(img, x, y, label, TEXT_SCALE, black);
        y += LEGEND_ROW_PX;
    }
    if (sq25_warning_state(w) != SQ25_STATE_OK) { /* never let a degraded map look normal */
        snprintf(label, sizeof label, "DATA %s", sq25_state_name(sq25_warning_state(w)));
        draw_text(img, x, y + 4, label, TEXT_SCALE, level_rgb[1]);
    }
}

static void draw_label(image *img, int cx, int cy, const char *label)
{
    int len = (int)strlen(label);
    fill_rect(img, cx + 8, cy - 5, len * 6 + 3, 11, white);
    draw_text(img, cx + 10, cy - 3, label, 1, black);
}

static void draw_marker(image *img, int cx, int cy, const char *label, bool no_data)
{
    for (int dy = -5; dy <= 5; dy++)
        for (int dx = -5; dx <= 5; dx++) {
            int d2 = dx * dx + dy * dy;
            if (d2 <= 9) put_pixel(img, cx + dx, cy + dy, no_data ? no_data_target_rgb : white);
            else if (d2 <= 30) put_pixel(img, cx + dx, cy + dy, black);
        }
    draw_label(img, cx, cy, label);
}

/* A target's label: its name (its id when it has none), and on a warning map its level and
 * onset ("L2 +25MIN") or "NO DATA". */
static void target_label(const sq25__target *tg, const sq25_warning *w, size_t i, char *buf,
                         size_t cap)
{
    const char *name = tg->name && tg->name[0] ? tg->name : tg->id;
    int n = snprintf(buf, cap, "%.32s", name);
    if (!w || !w->results || n < 0 || (size_t)n >= cap) return;
    const sq25__target_result *r = &w->results[i];
    if (r->level == SQ25_LEVEL_NO_DATA) snprintf(buf + n, cap - (size_t)n, " NO DATA");
    else if (r->level > 0)
        snprintf(buf + n, cap - (size_t)n, " L%d +%gMIN", r->level, r->onset_min[r->level - 1]);
}

/* A line two pixels wide, clipped to the map. */
static void draw_segment(image *img, const sq25__render_layout *l, double x0, double y0,
                         double x1, double y1)
{
    const double far_px = 1e7; /* keeps the integer conversions below in range */
    if (fabs(x0) > far_px || fabs(y0) > far_px || fabs(x1) > far_px || fabs(y1) > far_px) return;
    double len = hypot(x1 - x0, y1 - y0);
    int steps = (int)ceil(len) + 1;
    if (steps > 4 * (img->w + img->h)) steps = 4 * (img->w + img->h);
    for (int i = 0; i <= steps; i++) {
        double f = (double)i / steps;
        int x = (int)floor(x0 + f * (x1 - x0)), y = (int)floor(y0 + f * (y1 - y0));
        if (x < l->map_x || y < l->map_y || x + 1 >= l->map_x + l->map_w ||
            y + 1 >= l->map_y + l->map_h)
            continue;
        fill_rect(img, x, y, 2, 2, black);
    }
}

/* Targets as markers (points) and black lines; w (may be NULL) gives their warning. */
static int draw_targets(image *img, const sq25__render_layout *l, sq25_field *grid,
                        const sq25_targets *t, const sq25_warning *w)
{
    for (size_t i = 0; t && i < t->count; i++) {
        const sq25__target *tg = &t->items[i];
        size_t n = tg->vertex_count;
        double *pix = sq25__malloc(grid->ctx, 2 * n * sizeof(double));
        if (!pix) return SQ25_ERR_NOMEM;
        int rc = sq25_field_lonlat_to_pixel(grid, n, tg->lonlat, 2 * sizeof(double),
                                            tg->lonlat + 1, 2 * sizeof(double), pix,
                                            2 * sizeof(double), pix + 1, 2 * sizeof(double));
        for (size_t k = 0; rc == SQ25_OK && k < n; k++) {
            pix[2 * k] = l->map_x + pix[2 * k] * l->scale;
            pix[2 * k + 1] = l->map_y + pix[2 * k + 1] * l->scale;
        }
        for (size_t k = 0; rc == SQ25_OK && k + 1 < n; k++)
            if (isfinite(pix[2 * k] + pix[2 * k + 1] + pix[2 * k + 2] + pix[2 * k + 3]))
                draw_segment(img, l, pix[2 * k], pix[2 * k + 1], pix[2 * k + 2],
                             pix[2 * k + 3]);
        /* points get a marker, lines a label at their last vertex */
        double lx = rc ? NAN : pix[2 * (n - 1)], ly = rc ? NAN : pix[2 * (n - 1) + 1];
        if (isfinite(lx) && isfinite(ly) && lx >= l->map_x &&
            ly >= l->map_y && lx < l->map_x + l->map_w && ly < l->map_y + l->map_h) {
            char label[64];
            target_label(tg, w, i, label, sizeof label);
            bool no_data = w && w->results && w->results[i].level == SQ25_LEVEL_NO_DATA;
            if (n == 1) draw_marker(img, (int)floor(lx), (int)floor(ly), label, no_data);
            else draw_label(img, (int)floor(lx), (int)floor(ly), label);
        }
        sq25__free(grid->ctx, pix);
        if (rc) return rc;
    }
    return SQ25_OK;
}

/* ---- graticule: meridians and parallels traced through PROJ, labelled at the map edges ---- */

#define GRATICULE_SAMPLES 256 /* points per traced line */
#define GRATICULE_EDGE_SAMPLES 32

/* Lon/lat extent of the grid from points along its four edges (caller-owned out[4]:
 * lon_min, lon_max, lat_min, lat_max). */
static int grid_lonlat_extent(sq25_field *grid, double out[4])
{
    const int n = 4 * GRATICULE_EDGE_SAMPLES;
    double col[4 * GRATICULE_EDGE_SAMPLES], row[4 * GRATICULE_EDGE_SAMPLES];
    double lon[4 * GRATICULE_EDGE_SAMPLES], lat[4 * GRATICULE_EDGE_SAMPLES];
    for (int k = 0; k < GRATICULE_EDGE_SAMPLES; k++) {
        double f = (double)k / (GRATICULE_EDGE_SAMPLES - 1);
        col[4 * k] = f * grid->width, row[4 * k] = 0;
        col[4 * k + 1] = f * grid->width, row[4 * k + 1] = grid->height;
        col[4 * k + 2] = 0, row[4 * k + 2] = f * grid->height;
        col[4 * k + 3] = grid->width, row[4 * k + 3] = f * grid->height;
    }
    int rc = sq25_field_pixel_to_lonlat(grid, (size_t)n, col, sizeof(double), row, sizeof(double),
                                        lon, sizeof(double), lat, sizeof(double));
    if (rc) return rc;
    out[0] = out[2] = INFINITY;
    out[1] = out[3] = -INFINITY;
    for (int k = 0; k < n; k++) {
        if (!isfinite(lon[k]) || !isfinite(lat[k])) continue;
        out[0] = fmin(out[0], lon[k]), out[1] = fmax(out[1], lon[k]);
        out[2] = fmin(out[2], lat[k]), out[3] = fmax(out[3], lat[k]);
    }
    return isfinite(out[0]) && isfinite(out[2]) ? SQ25_OK : SQ25_ERR_PROJ;
}

/* A round spacing in degrees that gives about 3 to 6 lines over span_deg. */
static double graticule_spacing(double span_deg)
{
    static const double nice[] = {0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30};
    for (size_t i = 0; i < sizeof nice / sizeof nice[0]; i++)
        if (span_deg / nice[i] <= 6) return nice[i];
    return 30;
}

static bool inside_map(const sq25__render_layout *l, double x, double y)
{
    return x >= l->map_x && y >= l->map_y && x < l->map_x + l->map_w && y < l->map_y + l->map_h;
}

/* Degrees as "6.1E", "50.25N", "0.5W": as many decimals as the spacing needs. */
static void format_degrees(double deg, double spacing, bool is_lon, char *buf, size_t cap)
{
    int decimals = spacing >= 1 ? 0 : spacing >= 0.1 ? 1 : 2;
    char hemi = is_lon ? (deg < 0 ? 'W' : 'E') : (deg < 0 ? 'S' : 'N');
    snprintf(buf, cap, "%.*f%c", decimals, fabs(deg), hemi);
}

/* Trace one meridian (is_lon) or parallel at value, dotted, and label it where it first enters
 * the map from the bottom (meridians) or the left (parallels). */
static int trace_graticule_line(image *img, const sq25__render_layout *l, sq25_field *grid,
                                bool is_lon, double value, double spacing, const double ext[4])
{
    double lon[GRATICULE_SAMPLES], lat[GRATICULE_SAMPLES];
    double col[GRATICULE_SAMPLES], row[GRATICULE_SAMPLES];
    double lo = is_lon ? ext[2] : ext[0], hi = is_lon ? ext[3] : ext[1];
    for (int k = 0; k < GRATICULE_SAMPLES; k++) {
        double t = lo + (hi - lo) * k / (GRATICULE_SAMPLES - 1);
        lon[k] = is_lon ? value : t;
        lat[k] = is_lon ? t : value;
    }
    int rc = sq25_field_lonlat_to_pixel(grid, GRATICULE_SAMPLES, lon, sizeof(double), lat,
                                        sizeof(double), col, sizeof(double), row, sizeof(double));
    if (rc) return rc;
    double label_x = NAN, label_y = NAN;
    for (int k = 0; k + 1 < GRATICULE_SAMPLES; k++) {
        double x0 = l->map_x + col[k] * l->scale, y0 = l->map_y + row[k] * l->scale;
        double x1 = l->map_x + col[k + 1] * l->scale, y1 = l->map_y + row[k + 1] * l->scale;
        if (!isfinite(x0 + y0 + x1 + y1)) continue;
        int steps = (int)ceil(hypot(x1 - x0, y1 - y0)) + 1;
        if (steps > 4 * (img->w + img->h)) continue; /* a jump across the projection's edge */
        for (int i = 0; i <= steps; i++) {
            double x = x0 + (x1 - x0) * i / steps, y = y0 + (y1 - y0) * i / steps;
            if (!inside_map(l, x, y) || ((int)x + (int)y) % 4 >= 2) continue; /* dotted */
            put_pixel(img, (int)x, (int)y, graticule_rgb);
        }
        /* meridians are traced south to north, parallels west to east: the first sample
         * inside the map is at its bottom or left edge */
        if (isnan(label_x) && inside_map(l, x0, y0)) label_x = x0, label_y = y0;
    }
    if (!isnan(label_x)) {
        char text[24];
        format_degrees(value, spacing, is_lon, text, sizeof text);
        int len = (int)strlen(text);
        int tx = is_lon ? (int)label_x - len * 3 : (int)label_x + 2;
        int ty = is_lon ? (int)label_y - 10 : (int)label_y - 4;
        /* keep the label inside the map */
        tx = tx < l->map_x + 1 ? l->map_x + 1 : tx;
        tx = tx > l->map_x + l->map_w - len * 6 - 1 ? l->map_x + l->map_w - len * 6 - 1 : tx;
        ty = ty < l->map_y + 1 ? l->map_y + 1 : ty;
        ty = ty > l->map_y + l->map_h - 9 ? l->map_y + l->map_h - 9 : ty;
        fill_rect(img, tx - 1, ty - 1, len * 6 + 1, 9, white);
        draw_text(img, tx, ty, text, 1, graticule_rgb);
    }
    return SQ25_OK;
}

/* Meridians and parallels at a round spacing, so a reader can place the map. A grid PROJ
 * cannot map to lon/lat simply gets none (not an error: the map is still useful). */
static int draw_graticule(image *img, const sq25__render_layout *l, sq25_field *grid)
{
    double ext[4];
    if (grid_lonlat_extent(grid, ext) != SQ25_OK) return sq25__ok(grid->ctx);
    double spacing = graticule_spacing(fmin(ext[1] - ext[0], ext[3] - ext[2]));
    for (int pass = 0; pass < 2; pass++) {
        bool is_lon = pass == 0;
        double lo = is_lon ? ext[0] : ext[2], hi = is_lon ? ext[1] : ext[3];
        for (double v = ceil(lo / spacing) * spacing; v <= hi; v += spacing) {
            double value = round(v / spacing) * spacing; /* no drift from repeated sums */
            int rc = trace_graticule_line(img, l, grid, is_lon, value, spacing, ext);
            if (rc) return rc;
        }
    }
    return SQ25_OK;
}

/* ---- PNG output ---- */

/* libpng reports an error by a long jump; the handler keeps its message for ours. */
typedef struct {
    char message[160];
} png_failure;

static void png_failed(png_structp png, png_const_charp message)
{
    png_failure *f = png_get_error_ptr(png);
    snprintf(f->message, sizeof f->message, "%s", message);
    png_longjmp(png, 1);
}

static void png_warned(png_structp png, png_const_charp message)
{
    (void)png;
    (void)message;
}

/* The image as palette indices (8 bits, order of first appearance) when it has at most 256
 * colours, which a map always has (its classes, greys and text colours: 10 to 16 on the
 * maps of `make demo`). Returns the number of colours, or 0 when there are more (or no
 * memory): the image is then written as RGB. */
/* The bytes of a 4-byte load in memory order, low byte first, on any host. */
static inline uint32_t rgb_bytes_le(uint32_t loaded)
{
    const unsigned char *b = (const unsigned char *)&loaded;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

#define PALETTE_SLOTS 1024 /* open-addressing table of colours, a power of two over 256 */
static int palette_indices(const image *img, png_color palette[256], unsigned char *index)
{
    uint32_t slot_key[PALETTE_SLOTS]; /* colour + 1, 0 = empty */
    unsigned char slot_index[PALETTE_SLOTS];
    memset(slot_key, 0, sizeof slot_key);
    int colours = 0;
    uint32_t last_key = 0;
    unsigned char last_index = 0;
    const size_t pixels = (size_t)img->w * (size_t)img->h;
    for (size_t i = 0; i < pixels; i++) {
        const unsigned char *p = img->rgb + 3 * i;
        /* the pixel's three bytes in one load (the fourth byte, the next pixel's, masked
         * off; the last pixel, which has no next one, read byte by byte) */
        uint32_t rgb;
        if (i + 1 < pixels) memcpy(&rgb, p, sizeof rgb);
        else rgb = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
        const uint32_t key = (uint32_t)(rgb_bytes_le(rgb) & 0xffffffu) + 1;
        if (key != last_key) {
            uint32_t h = (key * 2654435761u) >> 22; /* Knuth's multiplicative hash, 10 bits */
            while (slot_key[h] && slot_key[h] != key) h = (h + 1) & (PALETTE_SLOTS - 1);
            if (!slot_key[h]) {
                if (colours == 256) return 0;
                slot_key[h] = key;
                slot_index[h] = (unsigned char)colours;
                palette[colours] = (png_color){p[0], p[1], p[2]};
                colours++;
            }
            last_key = key;
            last_index = slot_index[h];
        }
        index[i] = last_index;
    }
    return colours;
}

/* A palette image's IDAT data: the zlib stream (RFC 1950) of its rows, each after the filter
 * type byte 0 (none: runs of one index are already runs), coded by io_deflate.c with zlib's
 * run-length parse; NULL when out of memory. */
static unsigned char *palette_idat(sq25_ctx *ctx, const image *img, const unsigned char *index,
                                   size_t *bytes)
{
    const size_t row = (size_t)img->w + 1, raw_bytes = row * (size_t)img->h;
    const size_t cap = 2 + sq25__deflate_bound(raw_bytes) + 4;
    unsigned char *raw = sq25__malloc(ctx, raw_bytes), *z = raw ? sq25__malloc(ctx, cap) : NULL;
    size_t n = 0;
    if (z) {
        for (int y = 0; y < img->h; y++) {
            raw[(size_t)y * row] = 0;
            memcpy(raw + (size_t)y * row + 1, index + (size_t)y * img->w, (size_t)img->w);
        }
        z[0] = 0x78, z[1] = 0x01; /* deflate, 32 KiB window, the fastest level */
        n = sq25__deflate_rle(raw, raw_bytes, true, z + 2, cap - 6);
        const uint32_t sum = libdeflate_adler32(1, raw, raw_bytes);
        for (int k = 0; k < 4; k++) z[2 + n + (size_t)k] = (unsigned char)(sum >> (24 - 8 * k));
    }
    sq25__free(ctx, raw);
    if (!n) {
        sq25__free(ctx, z);
        return NULL;
    }
    *bytes = 2 + n + 4;
    return z;
}

/* 8 bits per sample, sRGB. A palette image when the map has at most 256 colours: libpng
 * writes the header chunks, its IDAT stream comes from palette_idat (libpng's zlib, even at
 * level 1 with the run-length strategy, took 3 x as long on the four maps of the demo
 * cycle). Else RGB with the Sub filter (which turns flat rows into runs of zeros) through
 * libpng and zlib level 1, run-length strategy. On the four maps of `make demo` the zlib
 * settings took 7 x fewer instructions (callgrind: 1.69 G to 0.23 G) than libpng's defaults
 * (RGB, level 6, an adaptive choice among five filters per row that alone cost more than
 * the compression), and the files came out 5 to 7 % smaller (docs/nowcast.md, "Speed,
 * issue 15"). */
static int png_stream(const image *img, FILE *fp, const png_color *palette, int colours,
                      const unsigned char *index, const unsigned char *idat, size_t idat_bytes,
                      png_failure *f)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, f, png_failed, png_warned);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        snprintf(f->message, sizeof f->message, "out of memory");
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    png_init_io(png, fp);
    png_set_IHDR(png, info, (png_uint_32)img->w, (png_uint_32)img->h, 8,
                 colours ? PNG_COLOR_TYPE_PALETTE : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (colours) png_set_PLTE(png, info, (png_colorp)palette, colours);
    png_set_sRGB(png, info, PNG_sRGB_INTENT_PERCEPTUAL);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, colours ? PNG_FILTER_NONE : PNG_FILTER_SUB);
    png_set_compression_level(png, 1);
    png_set_compression_strategy(png, Z_RLE);
    png_write_info(png, info);
    if (idat) {
        png_write_chunk(png, (png_const_bytep) "IDAT", idat, idat_bytes);
        png_write_chunk(png, (png_const_bytep) "IEND", NULL, 0);
    } else { /* RGB, or a palette image whose IDAT buffers could not be had: libpng's zlib */
        for (int y = 0; y < img->h; y++)
            png_write_row(png, colours ? index + (size_t)y * img->w
                                       : img->rgb + (size_t)y * img->w * 3);
        png_write_end(png, NULL);
    }
    png_destroy_write_struct(&png, &info);
    return 0;
}

static int encode_png(sq25_ctx *ctx, const image *img, FILE *fp, const png_color *palette,
                      int colours, const unsigned char *index, png_failure *f)
{
    size_t idat_bytes = 0;
    unsigned char *idat = colours ? palette_idat(ctx, img, index, &idat_bytes) : NULL;
    const int rc = png_stream(img, fp, palette, colours, index, idat, idat_bytes, f);
    sq25__free(ctx, idat);
    return rc;
}

static int write_png(sq25_ctx *ctx, const image *img, const char *path)
{
    /* A whole file or none: written beside path, renamed over it when complete. */
    sq25__output o;
    int rc = sq25__output_begin(ctx, path, &o);
    if (rc) return rc;
    FILE *fp = sq25__output_fopen(ctx, &o);
    if (!fp) {
        sq25__output_abort(ctx, &o);
        return sq25_errcode(ctx);
    }
    png_failure failure = {""};
    unsigned char *index = sq25__malloc(ctx, (size_t)img->w * (size_t)img->h); /* NULL: RGB */
    png_color palette[256];
    const int colours = index ? palette_indices(img, palette, index) : 0;
    const int encoded = encode_png(ctx, img, fp, palette, colours, index, &failure);
    sq25__free(ctx, index);
    if (encoded != 0) {
        rc = sq25__fail(ctx, SQ25_ERR_WRITE, "%s: cannot write PNG: %s", path, failure.message);
        fclose(fp);
        sq25__output_abort(ctx, &o);
        return rc;
    }
    rc = sq25__output_fclose(ctx, &o, fp);
    if (rc == SQ25_OK) rc = sq25__output_commit(ctx, &o);
    else sq25__output_abort(ctx, &o);
    return rc ? rc : sq25__ok(ctx);
}

static int new_image(sq25_ctx *ctx, const sq25__render_layout *l, image *img)
{
    img->w = l->width;
    img->h = l->height;
    img->rgb = sq25__malloc(ctx, (size_t)img->w * img->h * 3);
    if (!img->rgb) return SQ25_ERR_NOMEM;
    memset(img->rgb, 255, (size_t)img->w * img->h * 3);
    return SQ25_OK;
}

static int check_image_size(sq25_ctx *ctx, const sq25__render_layout *l)
{
    if ((int64_t)l->width * l->height > SQ25_MAX_GRID_CELLS / 4)
        return sq25__fail(ctx, SQ25_ERR_SIZE_ABSURD, "map of %d x %d pixels is too large",
                          l->width, l->height);
    return SQ25_OK;
}

int sq25_render_field_png(sq25_field *field, const sq25_targets *targets,
                          const sq25_render_options *opt, const char *path)
{
    if (!field) return SQ25_ERR_INVALID_ARG;
    sq25_ctx *ctx = field->ctx;
    if (!path) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_render_field_png: NULL path");
    sq25__render_layout l = sq25__render_layout_for(field->width, field->height,
                                                    opt ? opt->scale : 0);
    image img;
    int rc = check_image_size(ctx, &l);
    if (rc || (rc = new_image(ctx, &l, &img))) return rc;
    char time_line[96];
    format_time_line(opt, opt && opt->has_time ? opt->time : field->valid_time, "", time_line,
                     sizeof time_line);
    char credit[160];
    if (opt && opt->credit) snprintf(credit, sizeof credit, "%s", opt->credit);
    else if (field->meta[SQ25_META_PRODUCER] && field->meta[SQ25_META_PRODUCER][0])
        snprintf(credit, sizeof credit, "DATA: %.140s", field->meta[SQ25_META_PRODUCER]);
    else credit[0] = '\0';
    draw_title_band(&img, opt ? opt->title : NULL, time_line, credit);
    rc = draw_map(ctx, &img, &l, field->width, field_cell_colour, field);
    draw_rain_legend(&img, &l);
    if (rc == SQ25_OK && !(opt && opt->no_graticule)) rc = draw_graticule(&img, &l, field);
    if (rc == SQ25_OK) rc = draw_targets(&img, &l, field, targets, NULL);
    if (rc == SQ25_OK) rc = write_png(ctx, &img, path);
    sq25__free(ctx, img.rgb);
    return rc;
}

int sq25_render_warning_png(sq25_warning *w, const sq25_render_options *opt, const char *path)
{
    if (!w) return SQ25_ERR_INVALID_ARG;
    sq25_ctx *ctx = w->ctx;
    if (!path) return sq25__fail(ctx, SQ25_ERR_INVALID_ARG, "sq25_render_warning_png: NULL path");
    sq25__render_layout l = sq25__render_layout_for(w->width, w->height, opt ? opt->scale : 0);
    image img;
    int rc = check_image_size(ctx, &l);
    if (rc || (rc = new_image(ctx, &l, &img))) return rc;
    char time_line[128], horizon[32];
    format_time_line(opt, opt && opt->has_time ? opt->time : w->issue_time, "ISSUED ", time_line,
                     sizeof time_line);
    snprintf(horizon, sizeof horizon, " +%d MIN", w->opt.horizon_s / 60);
    strncat(time_line, horizon, sizeof time_line - strlen(time_line) - 1);
    draw_title_band(&img, opt ? opt->title : NULL, time_line, opt ? opt->credit : NULL);
    rc = draw_map(ctx, &img, &l, w->width, warning_cell_colour, w);
    draw_warning_legend(&img, &l, w);
    if (rc == SQ25_OK && !(opt && opt->no_graticule)) rc = draw_graticule(&img, &l, w->grid);
    if (rc == SQ25_OK) rc = draw_targets(&img, &l, w->grid, w->targets, w);
    if (rc == SQ25_OK) rc = write_png(ctx, &img, path);
    sq25__free(ctx, img.rgb);
    return rc;
}
