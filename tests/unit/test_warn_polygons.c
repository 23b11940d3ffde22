/* test_warn_polygons.c -- dissolved warning polygons and cell states on analytic cases.
 * 1. A square ring of warned cells (5 x 5 with the centre cell dry) on a 100 m UTM grid: the
 *    GeoJSON has one polygon with one hole, its outer ring the square's 4 corners (5 positions,
 *    closed) counter-clockwise and the hole the centre cell's 4 corners clockwise; shapely
 *    (python3-shapely, tests/geojson_check.py) finds it valid with a hole of 1/25 of the outer
 *    area. Before the fix every row was its own rectangle sharing edges with the next: invalid.
 * 2. Cells touching only at a corner, on the lattice directly: two separate cells give two
 *    rings; a 3 x 3 block with its centre and one corner cell out gives an outer ring and a
 *    hole touching it at one point; a diamond of 4 cells gives 4 squares; never a ring
 *    through the same corner twice.
 * 3. Cell states: one no-data cell in a uniform rain field; with a neighbourhood of 1 cell, the
 *    8 cells around it are DEGRADED, the cell itself NO_DATA, the others OK. */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warn_internal.h"
#include "warn_polygon.h"

#define UTM "EPSG:32631"
#define ISSUE ((int64_t)1625417400)
#define N 20

static bool in_ring(int c, int r) { return c >= 5 && c < 10 && r >= 5 && r < 10 && !(c == 7 && r == 7); }

/* 12 leads of 5 min: 60 mm/h on the ring (60 mm in the hour), 0 elsewhere; NaN at (nan_c, nan_r). */
static sq25_warning *ring_warning(sq25_ctx *ctx, int nan_c, int nan_r, double radius_m)
{
    const double gt[6] = {600000, 100, 0, 5650000, 0, -100};
    sq25_field *frames[12];
    for (int j = 0; j < 12; j++) {
        assert_int_equal(sq25_field_create(ctx, N, N, UTM, gt, ISSUE + (j + 1) * 300, &frames[j]),
                         SQ25_OK);
        float *d = sq25_field_data(frames[j]);
        for (int r = 0; r < N; r++)
            for (int c = 0; c < N; c++)
                d[r * N + c] = c == nan_c && r == nan_r ? NAN : in_ring(c, r) ? 60.0f : 0.0f;
    }
    sq25_warn_options *opt = NULL;
    assert_int_equal(sq25_warn_options_create(ctx, &opt), SQ25_OK);
    const double level[1] = {15};
    assert_int_equal(sq25_warn_options_set_levels(opt, 1, level, NULL), SQ25_OK);
    assert_int_equal(sq25_warn_options_set_radius(opt, radius_m, 0), SQ25_OK);
    sq25_warning *w = NULL;
    assert_int_equal(sq25_warn_compute(ctx, opt, (const sq25_field *const *)frames, 12, 300,
                                       ISSUE, &w), SQ25_OK);
    for (int j = 0; j < 12; j++) sq25_field_destroy(frames[j]);
    sq25_warn_options_destroy(opt);
    return w;
}

static char *read_all(const char *path)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

/* Shoelace over a GeoJSON ring (array of [lon, lat]): > 0 counter-clockwise. */
static double ring_signed_area(const sq25__json *ring)
{
    double a = 0;
    for (const sq25__json *p = ring->child; p && p->next; p = p->next) {
        const sq25__json *q = p->next;
        a += p->child->num * q->child->next->num - q->child->num * p->child->next->num;
    }
    return a;
}

static bool shapely_available(void)
{
    return system("/usr/bin/python3 -c 'import shapely' >/dev/null 2>&1") == 0;
}

static void test_ring_with_hole(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_warning *w = ring_warning(ctx, -1, -1, 0);
    char path[600];
    snprintf(path, sizeof path, "%s/ring.geojson", test_tmpdir());
    assert_int_equal(sq25_warning_write_areas_geojson(w, path), SQ25_OK);
    char *text = read_all(path);
    sq25__json *root = sq25__json_parse(ctx, text, path);
    assert_non_null(root);
    const sq25__json *features = sq25__json_get(root, "features");
    assert_int_equal(sq25__json_length(features), 1); /* level 1 only: no no-data cells */
    const sq25__json *coords = sq25__json_get(sq25__json_get(features->child, "geometry"),
                                              "coordinates");
    assert_int_equal(sq25__json_length(coords), 1);          /* one polygon */
    assert_int_equal(sq25__json_length(coords->child), 2);   /* outer ring + one hole */
    const sq25__json *outer = coords->child->child, *hole = outer->next;
    assert_int_equal(sq25__json_length(outer), 5); /* 4 corners, closed */
    assert_int_equal(sq25__json_length(hole), 5);
    assert_true(ring_signed_area(outer) > 0);      /* counter-clockwise */
    assert_true(ring_signed_area(hole) < 0);       /* clockwise */
    /* 25 cells around 1: the hole is 1/25 of the outer ring's area (UTM is conformal, the
     * lon/lat areas of such small squares are in the same ratio to 0.1 %) */
    assert_float_equal(-ring_signed_area(hole) / ring_signed_area(outer), 1.0 / 25, 1e-4);
    sq25__json_free(ctx, root);
    free(text);
    if (shapely_available()) {
        char cmd[900];
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 tests/geojson_check.py %s --polygons 1 --holes 1 "
                 "--hole-ratio 0.04",
                 path);
        assert_int_equal(system(cmd), 0);
    } else {
        print_message("python3-shapely missing: shapely check skipped\n");
    }
    sq25_warning_destroy(w);
    sq25_ctx_destroy(ctx);
}

static size_t rings_of(sq25_ctx *ctx, const unsigned char *mask, int w, int h, size_t *holes)
{
    sq25__polygons p;
    assert_int_equal(sq25__mask_polygons(ctx, mask, w, h, &p), SQ25_OK);
    size_t n = p.ring_count;
    *holes = 0;
    for (size_t i = 0; i < n; i++) {
        *holes += p.rings[i].is_hole;
        /* no ring passes a lattice vertex twice */
        for (size_t a = 0; a + 1 < p.rings[i].count; a++)
            for (size_t b = a + 1; b + 1 < p.rings[i].count; b++)
                assert_false(p.rings[i].xy[2 * a] == p.rings[i].xy[2 * b] &&
                             p.rings[i].xy[2 * a + 1] == p.rings[i].xy[2 * b + 1]);
    }
    sq25__polygons_free(ctx, &p);
    return n;
}

static void test_corner_touching_cells(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    size_t holes;
    /* two cells touching at a corner, nothing else: two squares */
    const unsigned char diagonal[4] = {1, 0, 0, 1};
    assert_int_equal(rings_of(ctx, diagonal, 2, 2, &holes), 2);
    assert_int_equal(holes, 0);
    /* 3 x 3 with the centre and the north-east corner out: the centre hole touches the notch
     * at one corner; the cells are one connected set, so one shell and one hole */
    const unsigned char notch[9] = {1, 1, 0, 1, 0, 1, 1, 1, 1};
    assert_int_equal(rings_of(ctx, notch, 3, 3, &holes), 2);
    assert_int_equal(holes, 1);
    /* a diamond of 4 cells around an empty centre, touching only at corners: 4 squares, no
     * hole (a hole touching its shell at 4 points would cut the polygon apart) */
    const unsigned char diamond[9] = {0, 1, 0, 1, 0, 1, 0, 1, 0};
    assert_int_equal(rings_of(ctx, diamond, 3, 3, &holes), 4);
    assert_int_equal(holes, 0);
    sq25_ctx_destroy(ctx);
}

static void test_cell_states_around_no_data(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    /* radius 100 m = 1 cell: the window is 3 x 3 cells */
    sq25_warning *w = ring_warning(ctx, 15, 15, 100);
    sq25_field *st = NULL;
    assert_int_equal(sq25_warning_states(w, &st), SQ25_OK);
    const float *s = sq25_field_data(st);
    for (int r = 0; r < N; r++)
        for (int c = 0; c < N; c++) {
            int want = c == 15 && r == 15                           ? SQ25_STATE_NO_DATA
                       : abs(c - 15) <= 1 && abs(r - 15) <= 1 ? SQ25_STATE_DEGRADED
                                                                   : SQ25_STATE_OK;
            assert_int_equal((int)s[r * N + c], want);
        }
    assert_int_equal(sq25_warning_state(w), SQ25_STATE_OK); /* one cell out: still a result */
    assert_int_equal(sq25_warning_set_input_state(w, SQ25_STATE_NO_DATA, 0, NULL),
                     SQ25_ERR_RANGE);
    assert_int_equal(sq25_warning_set_input_state(w, SQ25_STATE_STALE, ISSUE - 600, "test"),
                     SQ25_OK);
    sq25_field_destroy(st);
    assert_int_equal(sq25_warning_states(w, &st), SQ25_OK);
    assert_int_equal((int)sq25_field_data(st)[0], SQ25_STATE_STALE);
    assert_int_equal((int)sq25_field_data(st)[15 * N + 15], SQ25_STATE_NO_DATA);
    assert_string_equal(sq25_state_name(SQ25_STATE_DEGRADED), "degraded");
    assert_string_equal(sq25_state_name(9), "unknown");
    sq25_field_destroy(st);
    sq25_warning_destroy(w);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_with_hole),
        cmocka_unit_test(test_corner_touching_cells),
        cmocka_unit_test(test_cell_states_around_no_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
