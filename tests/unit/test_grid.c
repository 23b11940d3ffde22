/* test_grid.c -- street grids (specs, UTM default) and resampling. Expected coordinates come
 * from PROJ's own cs2cs, run independently:
 *   printf "52.28 4.73\n52.43 4.73\n52.28 5.07\n52.43 5.07\n" | cs2cs -f %.3f EPSG:4326 EPSG:32631
 * gives (617619.569, 5810273.424) for the NW corner, (641210.609, 5794199.487) SE,
 * (618018.537, 5793590.914) SW and (640733.192, 5810881.166) NE; the other values are
 * analytic (linear fields are reproduced exactly by bilinear interpolation). */
#include "support.h"

#include <math.h>
#include <string.h>

static void test_grid_lonlat_default_utm(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *g = NULL;
    assert_int_equal(sq25_grid_parse(ctx, "lonlat:4.73,52.28,5.07,52.43:100", 0, &g), SQ25_OK);
    assert_string_equal(sq25_field_projdef(g), "EPSG:32631");
    double gt[6];
    sq25_field_geotransform(g, gt);
    assert_float_equal(gt[0], 617619.569, 0.01); /* west: NW corner x */
    assert_float_equal(gt[3], 5810881.166, 0.01); /* north: NE corner y */
    assert_float_equal(gt[1], 100, 0);
    assert_float_equal(gt[5], -100, 0);
    /* (641210.609 - 617619.569)/100 = 235.9 -> 236; (5810881.166 - 5793590.914)/100 = 172.9 */
    assert_int_equal(sq25_field_width(g), 236);
    assert_int_equal(sq25_field_height(g), 173);
    assert_true(isnan(sq25_field_data(g)[0]));
    sq25_field_destroy(g);
    sq25_ctx_destroy(ctx);
}

static void test_grid_projected_specs(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *g = NULL;
    assert_int_equal(sq25_grid_parse(ctx, "EPSG:32631:620000,5790000,640000,5810000:50", 7, &g),
                     SQ25_OK);
    assert_int_equal(sq25_field_width(g), 400);
    assert_int_equal(sq25_field_height(g), 400);
    assert_int_equal(sq25_field_valid_time(g), 7);
    double gt[6];
    sq25_field_geotransform(g, gt);
    assert_float_equal(gt[0], 620000, 0);
    assert_float_equal(gt[3], 5810000, 0);
    sq25_field_destroy(g);
    assert_int_equal(sq25_grid_parse(ctx, "proj:+proj=utm +zone=31 +datum=WGS84:0,0,1000,10:10",
                                     0, &g), SQ25_OK);
    assert_int_equal(sq25_field_width(g), 100);
    assert_int_equal(sq25_field_height(g), 1);
    sq25_field_destroy(g);
    /* explicit CRS after a lon/lat box */
    assert_int_equal(sq25_grid_parse(ctx, "lonlat:4.73,52.28,5.07,52.43:250:EPSG:28992", 0, &g),
                     SQ25_OK);
    assert_string_equal(sq25_field_projdef(g), "EPSG:28992");
    sq25_field_destroy(g);
    /* errors */
    assert_int_equal(sq25_grid_parse(ctx, "lonlat:4.73,52.28,5.07:100", 0, &g), SQ25_ERR_PARSE);
    assert_null(g);
    assert_non_null(strstr(sq25_errmsg(ctx), "lonlat:4.73,52.28,5.07:100"));
    assert_int_equal(sq25_grid_parse(ctx, "utm:1,2,3,4:10", 0, &g), SQ25_ERR_PARSE);
    assert_int_equal(sq25_grid_parse(ctx, "EPSG:32631:0,0,1000,1000:abc", 0, &g), SQ25_ERR_PARSE);
    assert_int_equal(sq25_grid_parse(ctx, "EPSG:32631:0,0,1000,1000:5", 0, &g), SQ25_ERR_RANGE);
    assert_int_equal(sq25_grid_parse(ctx, "EPSG:4326:0,0,1,1:10", 0, &g), SQ25_ERR_PROJ);
    assert_int_equal(sq25_grid_parse(ctx, "EPSG:32631:10,0,0,1000:10", 0, &g),
                     SQ25_ERR_INVALID_ARG);
    assert_int_equal(sq25_grid_create_lonlat(ctx, NULL, 5, 52, 4, 53, 100, 0, &g),
                     SQ25_ERR_INVALID_ARG);
    /* southern hemisphere picks the 327xx zone */
    assert_int_equal(sq25_grid_create_lonlat(ctx, "", 151.1, -33.9, 151.3, -33.8, 100, 0, &g),
                     SQ25_OK);
    assert_string_equal(sq25_field_projdef(g), "EPSG:32756");
    sq25_field_destroy(g);
    sq25_ctx_destroy(ctx);
}

/* Fill a field with a + b*col + c*row at cell centres (linear in projected x, y). */
static void fill_linear(sq25_field *f, double a, double b, double c)
{
    float *d = sq25_field_data(f);
    int w = sq25_field_width(f), h = sq25_field_height(f);
    for (int r = 0; r < h; r++)
        for (int q = 0; q < w; q++) d[r * w + q] = (float)(a + b * (q + 0.5) + c * (r + 0.5));
}

static void test_resample_bilinear_linear_field_across_crs(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    /* Source: 1 km LAEA Europe grid over Amsterdam; target: 100 m UTM 31N inside it. */
    const double gt_src[6] = {3960000, 1000, 0, 3300000, 0, -1000};
    sq25_field *src = NULL, *dst = NULL;
    assert_int_equal(sq25_field_create(ctx, 80, 80, "EPSG:3035", gt_src, 100, &src), SQ25_OK);
    fill_linear(src, 5.0, 0.1, -0.05);
    assert_int_equal(sq25_grid_create_lonlat(ctx, NULL, 4.8, 52.3, 5.0, 52.4, 100, 0, &dst),
                     SQ25_OK);
    assert_int_equal(sq25_resample(src, dst, SQ25_RESAMPLE_BILINEAR), SQ25_OK);
    assert_int_equal(sq25_field_valid_time(dst), 100);
    /* Independent check of every 7th cell: PROJ through the public pixel<->lon/lat calls. */
    int w = sq25_field_width(dst), h = sq25_field_height(dst), checked = 0;
    for (int r = 0; r < h; r += 7)
        for (int q = 0; q < w; q += 7) {
            double col = q + 0.5, row = r + 0.5, lon, lat, sc, sr;
            sq25_field_pixel_to_lonlat(dst, 1, &col, 8, &row, 8, &lon, 8, &lat, 8);
            sq25_field_lonlat_to_pixel(src, 1, &lon, 8, &lat, 8, &sc, 8, &sr, 8);
            double expected = 5.0 + 0.1 * sc - 0.05 * sr;
            assert_float_equal(sq25_field_data(dst)[r * w + q], expected, 2e-4);
            checked++;
        }
    assert_true(checked > 50);
    /* A NaN source cell makes the targets that use it NaN, and only those. */
    double lon = 4.9, lat = 52.35, sc, sr;
    sq25_field_lonlat_to_pixel(src, 1, &lon, 8, &lat, 8, &sc, 8, &sr, 8);
    sq25_field_data(src)[(int)sr * 80 + (int)sc] = NAN;
    assert_int_equal(sq25_resample(src, dst, SQ25_RESAMPLE_BILINEAR), SQ25_OK);
    double nodata;
    sq25_field_stats(dst, 0, NULL, NULL, NULL, &nodata);
    /* the NaN cell touches the 2x2 km around its centre: about 400 of the 100 m cells */
    double n_nan = nodata * w * h;
    assert_true(n_nan > 300 && n_nan < 500);
    sq25_field_destroy(src);
    sq25_field_destroy(dst);
    sq25_ctx_destroy(ctx);
}

static void test_resample_area(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *fine = NULL, *coarse = NULL, *huge = NULL;
    assert_int_equal(sq25_grid_parse(ctx, "EPSG:32631:620000,5790000,620400,5790400:10", 0, &fine),
                     SQ25_OK);
    assert_int_equal(sq25_grid_parse(ctx, "EPSG:32631:620000,5790000,620400,5790400:20", 0,
                                     &coarse), SQ25_OK);
    /* checkerboard of 0 and 2 mm/h on 10 m cells: every 20 m cell averages to exactly 1 */
    float *d = sq25_field_data(fine);
    for (int r = 0; r < 40; r++)
        for (int q = 0; q < 40; q++) d[r * 40 + q] = ((r + q) % 2) ? 2.0f : 0.0f;
    assert_int_equal(sq25_resample(fine, coarse, SQ25_RESAMPLE_AREA), SQ25_OK);
    for (int i = 0; i < 400; i++) assert_float_equal(sq25_field_data(coarse)[i], 1.0, 1e-6);
    /* nearest would give 0 or 2, never 1 */
    assert_int_equal(sq25_resample(fine, coarse, SQ25_RESAMPLE_NEAREST), SQ25_OK);
    assert_true(sq25_field_data(coarse)[0] == 0.0f || sq25_field_data(coarse)[0] == 2.0f);
    /* one NaN of four fine cells: mean of the other three; three NaN: NaN */
    d[0] = NAN;
    d[41] = NAN;
    d[1] = NAN;
    d[2] = NAN;
    assert_int_equal(sq25_resample(fine, coarse, SQ25_RESAMPLE_AREA), SQ25_OK);
    assert_true(isnan(sq25_field_data(coarse)[0]));
    assert_float_equal(sq25_field_data(coarse)[1], 4.0 / 3.0, 1e-6); /* NaN, 2, 2, 0 */
    /* Source cells larger than the target: the covering cell's value. */
    assert_int_equal(sq25_grid_parse(ctx, "EPSG:32631:619000,5789000,621000,5791000:1000", 0,
                                     &huge), SQ25_OK);
    float *hd = sq25_field_data(huge);
    hd[0] = 1, hd[1] = 3, hd[2] = 5, hd[3] = 7;
    assert_int_equal(sq25_resample(huge, coarse, SQ25_RESAMPLE_AREA), SQ25_OK);
    /* target (620000..620400, 5790000..5790400) lies in the NE quarter cell: value 3 */
    for (int i = 0; i < 400; i++) assert_float_equal(sq25_field_data(coarse)[i], 3.0, 0);
    assert_int_equal(sq25_resample(huge, coarse, 9), SQ25_ERR_INVALID_ARG);
    sq25_field_destroy(fine);
    sq25_field_destroy(coarse);
    sq25_field_destroy(huge);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grid_lonlat_default_utm),
        cmocka_unit_test(test_grid_projected_specs),
        cmocka_unit_test(test_resample_bilinear_linear_field_across_crs),
        cmocka_unit_test(test_resample_area),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
