/* test_render_graticule.c -- meridians and parallels on maps. Analytic case: a spherical
 * equidistant cylindrical grid (x = R*lon, y = R*lat in radians) of 1-degree cells from 2E to
 * 12E and 45N to 50N, drawn at 16 pixels per cell (the largest scale): the map's extent is 10 x 5 degrees, so the
 * spacing is 1 degree (5 lines over the shorter 5-degree span) and meridian L lies on image
 * column map_x + 16*(L - 2), parallel B on image row map_y + 16*(50 - B). A dry field draws
 * white there except for the (dotted) graticule. Read back with libpng. */
#include "support.h"

#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warn_internal.h" /* sq25__render_layout_for: where the map sits in the image */

#define EQC "+proj=eqc +a=6371000 +b=6371000 +units=m"

static bool graticule_coloured(const unsigned char *px)
{
    return px[0] == 70 && px[1] == 110 && px[2] == 160;
}

static void test_graticule_on_analytic_grid(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    const double R = 6371000.0, deg = M_PI / 180.0;
    const double gt[6] = {2 * deg * R, deg * R, 0, 50 * deg * R, 0, -deg * R};
    sq25_field *f = NULL;
    assert_int_equal(sq25_field_create(ctx, 10, 5, EQC, gt, 0, &f), SQ25_OK);
    for (int i = 0; i < 50; i++) sq25_field_data(f)[i] = 0.0f;
    sq25_render_options *opt = NULL;
    assert_int_equal(sq25_render_options_create(ctx, &opt), SQ25_OK);
    assert_int_equal(sq25_render_options_set_scale(opt, 16), SQ25_OK);
    char path[600];
    snprintf(path, sizeof path, "%s/graticule.png", test_tmpdir());
    assert_int_equal(sq25_render_field_png(f, NULL, opt, path), SQ25_OK);

    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_file(&img, path));
    img.format = PNG_FORMAT_RGB;
    unsigned char *buf = malloc(PNG_IMAGE_SIZE(img));
    assert_true(png_image_finish_read(&img, NULL, buf, 0, NULL));
    sq25__render_layout l = sq25__render_layout_for(10, 5, 16);
    /* meridian 7E: count graticule pixels down its column (dotted: about half of them) */
    int on_meridian = 0, off_meridian = 0;
    for (int y = l.map_y + 24; y < l.map_y + l.map_h - 24; y++) {
        on_meridian += graticule_coloured(buf + ((size_t)y * img.width + l.map_x + 80) * 3);
        int from_parallel = (y - l.map_y + 1) % 16; /* parallels lie on rows 16k */
        if (from_parallel > 2) /* away from where a parallel crosses the column */
            off_meridian += graticule_coloured(buf + ((size_t)y * img.width + l.map_x + 88) * 3);
    }
    assert_true(on_meridian > 12);  /* 32 rows checked, dotted line */
    assert_int_equal(off_meridian, 0); /* half a cell away: nothing */
    /* parallel 48N: row map_y + 32 (or the row above: the row lies exactly on a pixel edge,
     * so the last bit of PROJ's WGS84 -> sphere arithmetic decides which pixel it rounds to) */
    int on_parallel = 0;
    for (int x = l.map_x + 24; x < l.map_x + l.map_w - 24; x++)
        on_parallel += graticule_coloured(buf + ((size_t)(l.map_y + 32) * img.width + x) * 3) ||
                       graticule_coloured(buf + ((size_t)(l.map_y + 31) * img.width + x) * 3);
    assert_true(on_parallel > 40); /* 112 columns checked */
    free(buf);
    png_image_free(&img);
    sq25_render_options_destroy(opt);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_graticule_on_analytic_grid)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
