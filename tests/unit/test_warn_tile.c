/* test_warn_tile.c -- what tiled runs rest on: the halo a window needs, a warning cropped to a
 * window, targets selected by index. Expected numbers are worked out by hand in the comments;
 * the crop is checked cell by cell against the whole warning and against a warning computed
 * on the window + halo alone (the tiled run's claim, on an analytic storm). Grid: 1 km cells of
 * a spherical equidistant cylindrical projection (units metres). */
#include "support.h"

#include <math.h>
#include <string.h>

#define EQC "+proj=eqc +a=6371000 +b=6371000 +units=m"
#define ISSUE ((int64_t)1625417400)
#define STEP 300
#define LEADS 12
#define W 40
#define H 30

/* A 6 x 4 km block of 60 mm/h moving 1 km east per step: enough to cross levels somewhere. */
static float storm(int j, int c, int r)
{
    int c0 = 8 + j;
    return (c >= c0 && c < c0 + 6 && r >= 12 && r < 16) ? 60.0f : 0.5f;
}

static void make_leads(sq25_ctx *ctx, sq25_field **f, int col0, int row0, int w, int h)
{
    const double gt[6] = {col0 * 1000.0, 1000, 0, -row0 * 1000.0, 0, -1000};
    for (int j = 0; j < LEADS; j++) {
        assert_int_equal(sq25_field_create(ctx, w, h, EQC, gt, ISSUE + (int64_t)(j + 1) * STEP,
                                           &f[j]), SQ25_OK);
        float *d = sq25_field_data(f[j]);
        for (int r = 0; r < h; r++)
            for (int c = 0; c < w; c++) d[r * w + c] = storm(j, col0 + c, row0 + r);
    }
}

static sq25_warning *warn(sq25_ctx *ctx, const sq25_warn_options *opt, int col0, int row0,
                          int w, int h)
{
    sq25_field *f[LEADS];
    make_leads(ctx, f, col0, row0, w, h);
    sq25_warning *out = NULL;
    assert_int_equal(sq25_warn_compute(ctx, opt, (const sq25_field *const *)f, LEADS, STEP,
                                       ISSUE, &out), SQ25_OK);
    for (int j = 0; j < LEADS; j++) sq25_field_destroy(f[j]);
    return out;
}

static void test_halo_cells(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_warn_options *opt = NULL;
    assert_int_equal(sq25_warn_options_create(ctx, &opt), SQ25_OK);
    int cells = -1;
    /* defaults: 0 m + 100 m/min over the 60-min horizon = 6000 m: 60 cells of 100 m, 6 of
     * 1 km; the target reach, ceil(250 / 1000) + 1 = 2, is smaller. */
    assert_int_equal(sq25_warn_options_halo_cells(opt, 100.0, &cells), SQ25_OK);
    assert_int_equal(cells, 60);
    assert_int_equal(sq25_warn_options_halo_cells(opt, 1000.0, &cells), SQ25_OK);
    assert_int_equal(cells, 6);
    /* 2000 m + 50 m/min * 60 = 5000 m = 50 cells of 100 m; a 9 km target radius reaches
     * ceil(9000 / 100) + 1 = 91 cells, the larger. */
    assert_int_equal(sq25_warn_options_set_radius(opt, 2000.0, 50.0), SQ25_OK);
    assert_int_equal(sq25_warn_options_halo_cells(opt, 100.0, &cells), SQ25_OK);
    assert_int_equal(cells, 50);
    assert_int_equal(sq25_warn_options_set_target_radius(opt, 9000.0), SQ25_OK);
    assert_int_equal(sq25_warn_options_halo_cells(opt, 100.0, &cells), SQ25_OK);
    assert_int_equal(cells, 91);
    assert_int_equal(sq25_warn_options_halo_cells(opt, 0.0, &cells), SQ25_ERR_RANGE);
    assert_int_equal(sq25_warn_options_halo_cells(opt, NAN, &cells), SQ25_ERR_RANGE);
    assert_int_equal(sq25_warn_options_halo_cells(NULL, 100.0, &cells), SQ25_ERR_INVALID_ARG);
    sq25_warn_options_destroy(opt);
    sq25_ctx_destroy(ctx);
}

/* Every grid of a (w x h at col0,row0 of whole) equals the whole's cells there. */
static void assert_window_of(const sq25_warning *part, const sq25_warning *whole, int col0,
                             int row0)
{
    sq25_field *a = NULL, *b = NULL;
    for (int g = 0; g < 1 + 3 * 2 + 1; g++) {
        int rc1, rc2;
        if (g == 0) {
            rc1 = sq25_warning_levels(part, &a);
            rc2 = sq25_warning_levels(whole, &b);
        } else if (g <= 3) {
            rc1 = sq25_warning_probability(part, g, &a);
            rc2 = sq25_warning_probability(whole, g, &b);
        } else if (g <= 6) {
            rc1 = sq25_warning_onset(part, g - 3, &a);
            rc2 = sq25_warning_onset(whole, g - 3, &b);
        } else {
            rc1 = sq25_warning_accumulation(part, 30, &a);
            rc2 = sq25_warning_accumulation(whole, 30, &b);
        }
        assert_int_equal(rc1, SQ25_OK);
        assert_int_equal(rc2, SQ25_OK);
        int w = sq25_field_width(a), h = sq25_field_height(a), wb = sq25_field_width(b);
        const float *pa = sq25_field_data_const(a), *pb = sq25_field_data_const(b);
        for (int r = 0; r < h; r++)
            for (int c = 0; c < w; c++) {
                float x = pa[r * w + c], y = pb[(row0 + r) * wb + col0 + c];
                assert_true((isnan(x) && isnan(y)) || memcmp(&x, &y, sizeof x) == 0);
            }
        sq25_field_destroy(a);
        sq25_field_destroy(b);
    }
}

static void test_crop_is_the_window(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_warn_options *opt = NULL;
    assert_int_equal(sq25_warn_options_create(ctx, &opt), SQ25_OK);
    const double thr[3] = {2, 5, 8}; /* the block gives 60 mm/h * 5 min = 5 mm per lead */
    assert_int_equal(sq25_warn_options_set_levels(opt, 3, thr, NULL), SQ25_OK);
    sq25_warning *whole = warn(ctx, opt, 0, 0, W, H);
    assert_int_equal(sq25_warning_add_input(whole, "radar.h5"), SQ25_OK);
    sq25_warning *part = NULL;
    assert_int_equal(sq25_warning_crop(whole, 10, 9, 14, 11, &part), SQ25_OK);
    assert_int_equal(sq25_warning_level_count(part), 3);
    assert_int_equal(sq25_warning_issue_time(part), ISSUE);
    assert_window_of(part, whole, 10, 9);
    /* The crop's grid sits 10 km east and 9 km south of the whole's origin. */
    sq25_field *lv = NULL;
    assert_int_equal(sq25_warning_levels(part, &lv), SQ25_OK);
    double gt[6];
    sq25_field_geotransform(lv, gt);
    assert_true(gt[0] == 10000.0 && gt[3] == -9000.0 && gt[1] == 1000.0 && gt[5] == -1000.0);
    sq25_field_destroy(lv);
    /* A warning computed on window + halo (6 cells at 1 km) keeps, on the window, exactly the
     * whole's cells: the claim a tiled run makes. */
    int halo = 0;
    assert_int_equal(sq25_warn_options_halo_cells(opt, 1000.0, &halo), SQ25_OK);
    sq25_warning *region = warn(ctx, opt, 10 - halo, 9 - halo, 14 + 2 * halo, 11 + 2 * halo);
    sq25_warning *tile = NULL;
    assert_int_equal(sq25_warning_crop(region, halo, halo, 14, 11, &tile), SQ25_OK);
    assert_window_of(tile, whole, 10, 9);
    /* One cell of halo less on the west changes the probabilities next to the block. */
    sq25_warning *short_region = warn(ctx, opt, 10 - halo + 1, 9 - halo, 14 + 2 * halo - 1,
                                      11 + 2 * halo);
    sq25_field *p_short = NULL, *p_whole = NULL;
    assert_int_equal(sq25_warning_probability(short_region, 1, &p_short), SQ25_OK);
    assert_int_equal(sq25_warning_probability(whole, 1, &p_whole), SQ25_OK);
    int differ = 0, ws = sq25_field_width(p_short);
    for (int r = halo; r < halo + 11; r++)
        for (int c = halo - 1; c < halo - 1 + 14; c++) {
            float x = sq25_field_data(p_short)[r * ws + c];
            float y = sq25_field_data(p_whole)[(9 - halo + r) * W + 10 - halo + 1 + c];
            differ += !(x == y || (isnan(x) && isnan(y)));
        }
    assert_true(differ > 0);
    sq25_field_destroy(p_short);
    sq25_field_destroy(p_whole);
    /* Windows that leave the grid are refused. */
    sq25_warning *bad = NULL;
    assert_int_equal(sq25_warning_crop(whole, 30, 0, 11, 5, &bad), SQ25_ERR_RANGE);
    assert_int_equal(sq25_warning_crop(whole, -1, 0, 5, 5, &bad), SQ25_ERR_RANGE);
    assert_int_equal(sq25_warning_crop(whole, 0, 0, 0, 5, &bad), SQ25_ERR_RANGE);
    assert_null(bad);
    assert_non_null(strstr(sq25_errmsg(ctx), "not inside"));
    sq25_warning_destroy(short_region);
    sq25_warning_destroy(tile);
    sq25_warning_destroy(region);
    sq25_warning_destroy(part);
    sq25_warning_destroy(whole);
    sq25_warn_options_destroy(opt);
    sq25_ctx_destroy(ctx);
}

static void test_crop_allocation_failures(void **state)
{
    (void)state;
    for (long n = 1;; n++) {
        test_alloc_state st = {0, 0, 0};
        sq25_ctx *ctx = test_ctx_failing(&st);
        sq25_warning *whole = warn(ctx, NULL, 0, 0, 12, 10);
        assert_int_equal(sq25_warning_add_input(whole, "a.h5"), SQ25_OK);
        st.fail_at = st.calls + n;
        sq25_warning *part = NULL;
        int rc = sq25_warning_crop(whole, 2, 3, 5, 4, &part);
        st.fail_at = 0;
        sq25_warning_destroy(part);
        sq25_warning_destroy(whole);
        sq25_ctx_destroy(ctx);
        assert_int_equal(st.live, 0);
        if (rc == SQ25_OK) break;
        assert_int_equal(rc, SQ25_ERR_NOMEM);
        assert_true(n < 100);
    }
}

static void test_targets_select(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_targets *t = NULL, *s = NULL;
    assert_int_equal(sq25_targets_create(ctx, &t), SQ25_OK);
    assert_int_equal(sq25_targets_add_point(t, "a", "A", 5.0, 50.0, NAN), SQ25_OK);
    const double line[4] = {5.1, 50.1, 5.2, 50.2};
    assert_int_equal(sq25_targets_add_line(t, "b", "B", 2, line, 0.5), SQ25_OK);
    assert_int_equal(sq25_targets_add_point(t, "c", NULL, 6.0, 51.0, NAN), SQ25_OK);
    const size_t pick[2] = {2, 1};
    assert_int_equal(sq25_targets_select(t, 2, pick, &s), SQ25_OK);
    assert_int_equal(sq25_targets_count(s), 2);
    assert_string_equal(sq25_targets_id(s, 0), "c");
    assert_string_equal(sq25_targets_id(s, 1), "b");
    assert_int_equal(sq25_targets_vertex_count(s, 1), 2);
    double lon, lat;
    assert_int_equal(sq25_targets_vertex(s, 1, 1, &lon, &lat), SQ25_OK);
    assert_true(lon == 5.2 && lat == 50.2);
    sq25_targets_destroy(s);
    const size_t out_of_range[1] = {3};
    s = NULL;
    assert_int_equal(sq25_targets_select(t, 1, out_of_range, &s), SQ25_ERR_RANGE);
    assert_null(s);
    sq25_targets_destroy(t);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_halo_cells),
        cmocka_unit_test(test_crop_is_the_window),
        cmocka_unit_test(test_crop_allocation_failures),
        cmocka_unit_test(test_targets_select),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
