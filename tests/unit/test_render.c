/* test_render.c -- the rain palette (luminance falls with intensity, so maps read in grey) and
 * PNG maps read back with libpng: cells of known rates must show their class colours at known
 * places, no data grey, markers at targets, warning levels in their colours. */
#include "support.h"

#include "warn_internal.h" /* sq25__render_layout_for: where the map lies in the image */

#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EQC "+proj=eqc +a=6371000 +b=6371000 +units=m"
#define ISSUE ((int64_t)1625417400)
#define R_EARTH 6371000.0
#define DEG (180.0 / M_PI)

/* WCAG relative luminance of an sRGB colour. */
static double luminance(const unsigned char rgb[3])
{
    double lin[3];
    for (int k = 0; k < 3; k++) {
        double c = rgb[k] / 255.0;
        lin[k] = c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
    }
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
}

static void test_palette_luminance(void **state)
{
    (void)state;
    const double bounds[SQ25_RENDER_PALETTE_STEPS] = {0.1, 0.5, 1, 2, 5, 10, 20, 30, 50, 100};
    double previous = 1.0; /* white: no rain */
    for (int i = 0; i < SQ25_RENDER_PALETTE_STEPS; i++) {
        double lower;
        unsigned char rgb[3];
        assert_int_equal(sq25_render_palette(i, &lower, rgb), SQ25_OK);
        assert_float_equal(lower, bounds[i], 0);
        double y = luminance(rgb);
        /* strictly darker than the class below, by a visible step in grey */
        assert_true(y < previous - 0.01);
        previous = y;
    }
    assert_true(previous < 0.05); /* the top class is nearly black in grey */
    assert_int_equal(sq25_render_palette(SQ25_RENDER_PALETTE_STEPS, NULL, NULL), SQ25_ERR_RANGE);
    assert_int_equal(sq25_render_palette(-1, NULL, NULL), SQ25_ERR_RANGE);
}

typedef struct {
    png_image info;
    unsigned char *rgb;
} picture;

static void read_png(const char *path, picture *p)
{
    memset(&p->info, 0, sizeof p->info);
    p->info.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_file(&p->info, path));
    p->info.format = PNG_FORMAT_RGB;
    p->rgb = malloc(PNG_IMAGE_SIZE(p->info));
    assert_non_null(p->rgb);
    assert_true(png_image_finish_read(&p->info, NULL, p->rgb, 0, NULL));
}

static const unsigned char *pixel(const picture *p, int x, int y)
{
    assert_true(x >= 0 && y >= 0 && x < (int)p->info.width && y < (int)p->info.height);
    return p->rgb + ((size_t)y * p->info.width + x) * 3;
}

static void assert_rgb(const unsigned char *got, int r, int g, int b)
{
    if (got[0] != r || got[1] != g || got[2] != b)
        fprintf(stderr, "pixel (%d,%d,%d), expected (%d,%d,%d)\n", got[0], got[1], got[2], r, g,
                b);
    assert_true(got[0] == r && got[1] == g && got[2] == b);
}

/* The class of a rate by the bounds listed in the header comment, independent of the library. */
static int class_of(double mmh)
{
    const double bounds[SQ25_RENDER_PALETTE_STEPS] = {0.1, 0.5, 1, 2, 5, 10, 20, 30, 50, 100};
    int k = -1;
    for (int i = 0; i < SQ25_RENDER_PALETTE_STEPS; i++)
        if (mmh >= bounds[i]) k = i;
    return k;
}

static void test_field_png(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    const double gt[6] = {0, 1000, 0, 0, 0, -1000};
    sq25_field *f = NULL;
    assert_int_equal(sq25_field_create(ctx, 4, 2, EQC, gt, ISSUE, &f), SQ25_OK);
    const float values[8] = {NAN, 0.0f, 0.3f, 7.0f, 25.0f, 120.0f, 1.5f, 0.05f};
    memcpy(sq25_field_data(f), values, sizeof values);
    sq25_targets *t = NULL;
    assert_int_equal(sq25_targets_create(ctx, &t), SQ25_OK);
    /* the centre of cell (col 2, row 1) */
    assert_int_equal(sq25_targets_add_point(t, "X", NULL, 2.5 * 1000 / R_EARTH * DEG,
                                            -1.5 * 1000 / R_EARTH * DEG, NAN),
                     SQ25_OK);
    sq25_render_options *opt = NULL;
    assert_int_equal(sq25_render_options_create(ctx, &opt), SQ25_OK);
    assert_int_equal(sq25_render_options_set_title(opt, "TEST MAP"), SQ25_OK);
    assert_int_equal(sq25_render_options_set_scale(opt, 20), SQ25_ERR_RANGE);
    assert_int_equal(sq25_render_options_set_scale(opt, 12), SQ25_OK);
    /* cell colours are checked here; the graticule has its own test */
    assert_int_equal(sq25_render_options_set_graticule(opt, 0), SQ25_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/field.png", test_tmpdir());
    assert_int_equal(sq25_render_field_png(f, t, opt, path), SQ25_OK);

    picture p;
    read_png(path, &p);
    sq25__render_layout l = sq25__render_layout_for(4, 2, 12);
    assert_int_equal(p.info.width, l.width);
    assert_int_equal(p.info.height, l.height);
    /* each cell near its lower-left corner, clear of the marker (a disc of 5 px around the
     * centre of cell (2,1)) and of its label (from 8 px right of that centre) */
    for (int i = 0; i < 8; i++) {
        int c = i % 4, r = i / 4;
        const unsigned char *got = pixel(&p, l.map_x + c * 12 + 1, l.map_y + r * 12 + 10);
        if (isnan(values[i])) {
            assert_true(got[0] == got[1] && got[1] == got[2] && got[0] >= 150 && got[0] <= 230);
            continue;
        }
        int k = class_of(values[i]);
        unsigned char want[3] = {255, 255, 255};
        if (k >= 0) sq25_render_palette(k, NULL, want);
        assert_rgb(got, want[0], want[1], want[2]);
    }
    /* 7 mm/h is class 5..10 (index 4), 25 mm/h class 20..30 (index 6): not the same colour */
    assert_int_equal(class_of(7.0), 4);
    assert_int_equal(class_of(25.0), 6);
    /* marker at the centre of cell (2,1): white inside, black ring at 5 px */
    int mx = l.map_x + 2 * 12 + 6, my = l.map_y + 1 * 12 + 6;
    assert_rgb(pixel(&p, mx, my), 255, 255, 255);
    assert_rgb(pixel(&p, mx - 5, my), 0, 0, 0);
    /* title and time stamp drawn in black in the band above the map */
    int dark = 0;
    for (int y = 0; y < l.map_y; y++)
        for (int x = 0; x < (int)p.info.width; x++) dark += pixel(&p, x, y)[0] == 0;
    assert_true(dark > 200);
    free(p.rgb);

    /* a path that cannot be written is named in the error */
    assert_int_equal(sq25_render_field_png(f, NULL, NULL, "/nonexistent-dir/m.png"),
                     SQ25_ERR_WRITE);
    assert_non_null(strstr(sq25_errmsg(ctx), "/nonexistent-dir/m.png"));
    sq25_render_options_destroy(opt);
    sq25_targets_destroy(t);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

/* Uniform 30 mm/h for an hour: level 2 everywhere with probability 1: the level-2 colour
 * (225, 0, 0) at full strength; with 18 mm/h (18 mm, level 1): (255, 160, 0). */
static void test_warning_png(void **state)
{
    (void)state;
    const float rates[2] = {30.0f, 18.0f};
    const unsigned char want[2][3] = {{225, 0, 0}, {255, 160, 0}};
    for (int case_i = 0; case_i < 2; case_i++) {
        sq25_ctx *ctx = sq25_ctx_create();
        const double gt[6] = {0, 1000, 0, 0, 0, -1000};
        sq25_field *frames[12];
        for (int j = 0; j < 12; j++) {
            assert_int_equal(sq25_field_create(ctx, 5, 3, EQC, gt, ISSUE + (int64_t)(j + 1) * 300,
                                               &frames[j]),
                             SQ25_OK);
            for (int i = 0; i < 15; i++) sq25_field_data(frames[j])[i] = rates[case_i];
        }
        sq25_warning *w = NULL;
        assert_int_equal(sq25_warn_compute(ctx, NULL, (const sq25_field *const *)frames, 12, 300,
                                           ISSUE, &w),
                         SQ25_OK);
        char path[512];
        snprintf(path, sizeof path, "%s/warning%d.png", test_tmpdir(), case_i);
        assert_int_equal(sq25_render_warning_png(w, NULL, path), SQ25_OK);
        picture p;
        read_png(path, &p);
        sq25__render_layout l = sq25__render_layout_for(5, 3, 0);
        assert_int_equal(l.scale, 16); /* 600 px / 5 cells = 120, capped at 16 */
        free(p.rgb);
        sq25_render_options *opt = NULL;
        assert_int_equal(sq25_render_options_create(ctx, &opt), SQ25_OK);
        assert_int_equal(sq25_render_options_set_scale(opt, 4), SQ25_OK);
        assert_int_equal(sq25_render_options_set_graticule(opt, 0), SQ25_OK);
        assert_int_equal(sq25_render_warning_png(w, opt, path), SQ25_OK);
        read_png(path, &p);
        l = sq25__render_layout_for(5, 3, 4);
        const unsigned char *got = pixel(&p, l.map_x + 4 * 4 + 1, l.map_y + 2 * 4 + 1);
        assert_rgb(got, want[case_i][0], want[case_i][1], want[case_i][2]);
        free(p.rgb);
        sq25_render_options_destroy(opt);
        sq25_warning_destroy(w);
        for (int j = 0; j < 12; j++) sq25_field_destroy(frames[j]);
        sq25_ctx_destroy(ctx);
    }
}

/* Levels by intensity, legend equal to the map. A 9 x 3 grid of 1 km cells, a 1-cell
 * neighbourhood (3 x 3 window), an hour of constant rates: columns 0..2 at 30 mm/h (30 mm,
 * level 2 with probability 1 in column 0); in row 1, columns 6, 7, 8 at 45 mm/h, so the window
 * of cell (7, 1) holds 3 of 9 cells at 45 mm (level 3 with probability 1/3, just above the 0.3
 * threshold). 1.0 shaded by probability: level 3 at P = 1/3 was paler than level 2 at P = 1.
 * Now the level-3 cell is darker than the level-2 cell and both equal their legend swatches
 * (the legend lists level 3 first: rows from the top 3, 2, 1). */
static float level_case_rate(int col, int row)
{
    if (col <= 2) return 30.0f;
    if (col >= 6 && row == 1) return 45.0f;
    return 0.0f;
}

static void test_warning_levels_by_intensity(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    const double gt[6] = {0, 1000, 0, 0, 0, -1000};
    sq25_field *frames[12];
    for (int j = 0; j < 12; j++) {
        assert_int_equal(sq25_field_create(ctx, 9, 3, EQC, gt, ISSUE + (int64_t)(j + 1) * 300,
                                           &frames[j]), SQ25_OK);
        for (int i = 0; i < 27; i++) sq25_field_data(frames[j])[i] = level_case_rate(i % 9, i / 9);
    }
    sq25_warn_options *wo = NULL;
    assert_int_equal(sq25_warn_options_create(ctx, &wo), SQ25_OK);
    assert_int_equal(sq25_warn_options_set_radius(wo, 1000, 0), SQ25_OK);
    sq25_warning *w = NULL;
    assert_int_equal(sq25_warn_compute(ctx, wo, (const sq25_field *const *)frames, 12, 300, ISSUE,
                                       &w), SQ25_OK);
    sq25_field *lv = NULL, *p3 = NULL;
    assert_int_equal(sq25_warning_levels(w, &lv), SQ25_OK);
    assert_int_equal(sq25_warning_probability(w, 3, &p3), SQ25_OK);
    assert_float_equal(sq25_field_data(lv)[9 + 7], 3, 0);
    assert_float_equal(sq25_field_data(p3)[9 + 7], 1.0 / 3, 1e-6);
    assert_float_equal(sq25_field_data(lv)[9 + 0], 2, 0);
    sq25_render_options *opt = NULL;
    assert_int_equal(sq25_render_options_create(ctx, &opt), SQ25_OK);
    assert_int_equal(sq25_render_options_set_scale(opt, 16), SQ25_OK);
    assert_int_equal(sq25_render_options_set_graticule(opt, 0), SQ25_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/levels.png", test_tmpdir());
    assert_int_equal(sq25_render_warning_png(w, opt, path), SQ25_OK);
    picture p;
    read_png(path, &p);
    sq25__render_layout l = sq25__render_layout_for(9, 3, 16);
    const unsigned char *l3 = pixel(&p, l.map_x + 7 * 16 + 8, l.map_y + 16 + 8);
    const unsigned char *l2 = pixel(&p, l.map_x + 0 * 16 + 8, l.map_y + 16 + 8);
    assert_true(luminance(l3) < luminance(l2));
    /* legend rows: title, then levels 3, 2, 1 at 22 px, the first 26 px below the title */
    const unsigned char *sw3 = pixel(&p, l.legend_x + 14, l.map_y + 26 + 8);
    const unsigned char *sw2 = pixel(&p, l.legend_x + 14, l.map_y + 26 + 22 + 8);
    assert_rgb(sw3, l3[0], l3[1], l3[2]);
    assert_rgb(sw2, l2[0], l2[1], l2[2]);
    free(p.rgb);
    sq25_render_options_destroy(opt);
    sq25_field_destroy(lv);
    sq25_field_destroy(p3);
    sq25_warning_destroy(w);
    sq25_warn_options_destroy(wo);
    for (int j = 0; j < 12; j++) sq25_field_destroy(frames[j]);
    sq25_ctx_destroy(ctx);
}

/* A field the engine writes (ODIM_H5 through sq25_write_odim) renders after reading it back:
 * the cell of 12 mm/h shows the 10..20 class colour (index 5). */
static void test_render_written_file(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    const double gt[6] = {0, 1000, 0, 0, 0, -1000};
    sq25_field *f = NULL, *back = NULL;
    assert_int_equal(sq25_field_create(ctx, 3, 2, EQC, gt, ISSUE, &f), SQ25_OK);
    const float values[6] = {0, 0, 0, 0, 12.0f, 0};
    memcpy(sq25_field_data(f), values, sizeof values);
    char h5[512], png[512];
    snprintf(h5, sizeof h5, "%s/written.h5", test_tmpdir());
    snprintf(png, sizeof png, "%s/written.png", test_tmpdir());
    assert_int_equal(sq25_write_odim(ctx, h5, f), SQ25_OK);
    assert_int_equal(sq25_read_field(ctx, h5, &back), SQ25_OK);
    sq25_render_options *opt = NULL;
    assert_int_equal(sq25_render_options_create(ctx, &opt), SQ25_OK);
    assert_int_equal(sq25_render_options_set_scale(opt, 8), SQ25_OK);
    assert_int_equal(sq25_render_options_set_graticule(opt, 0), SQ25_OK);
    assert_int_equal(sq25_render_field_png(back, NULL, opt, png), SQ25_OK);
    picture p;
    read_png(png, &p);
    sq25__render_layout l = sq25__render_layout_for(3, 2, 8);
    unsigned char want[3];
    assert_int_equal(class_of(12.0), 5);
    sq25_render_palette(5, NULL, want);
    assert_rgb(pixel(&p, l.map_x + 1 * 8 + 4, l.map_y + 1 * 8 + 4), want[0], want[1], want[2]);
    assert_rgb(pixel(&p, l.map_x + 2 * 8 + 4, l.map_y + 1 * 8 + 4), 255, 255, 255);
    free(p.rgb);
    sq25_render_options_destroy(opt);
    sq25_field_destroy(back);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

/* Fail each allocation of drawing a map with targets in turn: SQ25_ERR_NOMEM, no leak. */
static void test_render_allocation_failures(void **state)
{
    (void)state;
    int failures = 0;
    for (long n = 1; n < 100; n++) {
        test_alloc_state st = {0, 0, 0};
        sq25_ctx *ctx = test_ctx_failing(&st);
        const double gt[6] = {0, 1000, 0, 0, 0, -1000};
        sq25_field *f = NULL;
        sq25_targets *t = NULL;
        assert_int_equal(sq25_field_create(ctx, 6, 4, EQC, gt, ISSUE, &f), SQ25_OK);
        assert_int_equal(sq25_targets_create(ctx, &t), SQ25_OK);
        const double line[4] = {0.001, -0.001, 0.03, -0.02};
        assert_int_equal(sq25_targets_add_line(t, "L", NULL, 2, line, NAN), SQ25_OK);
        assert_int_equal(sq25_targets_add_point(t, "P", NULL, 0.01, -0.01, NAN), SQ25_OK);
        char path[512];
        snprintf(path, sizeof path, "%s/alloc.png", test_tmpdir());
        st.fail_at = st.calls + n;
        long before = st.calls;
        sq25_render_options *opt = NULL;
        int rc = sq25_render_options_create(ctx, &opt);
        if (rc == SQ25_OK) rc = sq25_render_options_set_title(opt, "T");
        if (rc == SQ25_OK) rc = sq25_render_field_png(f, t, opt, path);
        if (rc != SQ25_OK) {
            assert_int_equal(rc, SQ25_ERR_NOMEM);
            failures++;
        }
        long used = st.calls - before;
        st.fail_at = 0;
        sq25_render_options_destroy(opt);
        sq25_targets_destroy(t);
        sq25_field_destroy(f);
        sq25_ctx_destroy(ctx);
        assert_int_equal(st.live, 0);
        if (used < n) break;
    }
    assert_true(failures >= 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_palette_luminance),
        cmocka_unit_test(test_field_png),
        cmocka_unit_test(test_warning_png),
        cmocka_unit_test(test_warning_levels_by_intensity),
        cmocka_unit_test(test_render_written_file),
        cmocka_unit_test(test_render_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
