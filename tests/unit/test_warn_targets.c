/* test_warn_targets.c -- target files (CSV, GeoJSON) with bad rows, warnings sampled at
 * targets on a rain front whose arrival is worked out by hand, and the output writers.
 * Grid: 1 km cells of a spherical equidistant cylindrical projection (R = 6371 km) with the
 * upper-left corner at lon 0, lat 0, so the centre of cell (c, r) is at
 * lon = (c + 0.5) km / R, lat = -(r + 0.5) km / R (radians). */
#include "support.h"

#include "warn_internal.h" /* the JSON reader, to check that outputs parse */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EQC "+proj=eqc +a=6371000 +b=6371000 +units=m"
#define ISSUE ((int64_t)1625417400) /* 2021-07-04T16:50:00Z */
#define R_EARTH 6371000.0
#define DEG (180.0 / M_PI)

static double cell_lon(double c) { return (c + 0.5) * 1000.0 / R_EARTH * DEG; }
static double cell_lat(double r) { return -(r + 0.5) * 1000.0 / R_EARTH * DEG; }

static char *read_text(const char *path)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void test_csv_targets(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    const char *path = test_write_file("targets.csv",
                                  "id,lon,lat,name\n"
                                  "a,4.35,50.85,Brussels underpass\n"
                                  "b,abc,50.0,bad lon\n"
                                  "c,4.4,95,bad lat\n"
                                  ",4.4,50,empty id\n"
                                  "d,4.4,50.8,\"Name, with comma\"\n"
                                  "e,4.4\n"
                                  "\n"
                                  "a,4.0,50.0,duplicate\n");
    sq25_targets *t = NULL;
    assert_int_equal(sq25_targets_read(ctx, path, &t), SQ25_OK);
    assert_int_equal(sq25_targets_count(t), 2);
    assert_string_equal(sq25_targets_id(t, 0), "a");
    assert_string_equal(sq25_targets_name(t, 1), "Name, with comma");
    double lon, lat;
    assert_int_equal(sq25_targets_vertex(t, 1, 0, &lon, &lat), SQ25_OK);
    assert_float_equal(lon, 4.4, 0);
    assert_float_equal(lat, 50.8, 0);
    assert_int_equal(sq25_targets_problem_count(t), 5);
    const char *expect[5] = {":3: longitude", ":4: latitude", ":5: empty id", ":7: 2 columns",
                             ":9: duplicate id \"a\""};
    for (int i = 0; i < 5; i++) {
        const char *p = sq25_targets_problem(t, (size_t)i);
        if (!strstr(p, expect[i])) fprintf(stderr, "problem %d: %s\n", i, p);
        assert_non_null(strstr(p, expect[i]));
        assert_non_null(strstr(p, "targets.csv"));
    }
    sq25_targets_destroy(t);
    /* wrong header, nothing good, missing file */
    path = test_write_file("bad.csv", "name,x,y\nfoo,1,2\n");
    assert_int_equal(sq25_targets_read(ctx, path, &t), SQ25_ERR_PARSE);
    assert_non_null(strstr(sq25_errmsg(ctx), "bad.csv:1: header"));
    path = test_write_file("allbad.csv", "id,lon,lat,name\nx,1000,2,far\n");
    assert_int_equal(sq25_targets_read(ctx, path, &t), SQ25_ERR_PARSE);
    assert_non_null(strstr(sq25_errmsg(ctx), "allbad.csv:2: longitude"));
    assert_null(t);
    assert_int_equal(sq25_targets_read(ctx, "/nonexistent/t.csv", &t), SQ25_ERR_FILE_NOT_FOUND);
    path = test_write_file("empty.csv", "");
    assert_int_equal(sq25_targets_read(ctx, path, &t), SQ25_ERR_FILE_EMPTY);
    /* optional prob_threshold column */
    path = test_write_file("p.csv", "id,lon,lat,name,prob_threshold\nb1,4,50,basement,0.1\n"
                               "r1,4,50.1,road,\nx,4,50,bad,1.5\n");
    assert_int_equal(sq25_targets_read(ctx, path, &t), SQ25_OK);
    assert_int_equal(sq25_targets_count(t), 2);
    assert_int_equal(sq25_targets_problem_count(t), 1);
    assert_non_null(strstr(sq25_targets_problem(t, 0), ":4: prob_threshold"));
    sq25_targets_destroy(t);
    sq25_ctx_destroy(ctx);
}

static void test_geojson_targets(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    const char *path = test_write_file(
        "targets.geojson",
        "{\"type\": \"FeatureCollection\", \"features\": [\n"
        "  {\"type\": \"Feature\", \"properties\": {\"id\": \"u1\", \"name\": \"Tunnel \\u00e9\"},\n"
        "   \"geometry\": {\"type\": \"Point\", \"coordinates\": [4.35, 50.85]}},\n"
        "  {\"type\": \"Feature\", \"properties\": {\"id\": 7, \"prob_threshold\": 0.2},\n"
        "   \"geometry\": {\"type\": \"LineString\", \"coordinates\": [[4, 50], [4.1, 50.1], [4.2, 50]]}},\n"
        "  {\"type\": \"Feature\", \"properties\": {\"name\": \"no id\"},\n"
        "   \"geometry\": {\"type\": \"Point\", \"coordinates\": [4, 50]}},\n"
        "  {\"type\": \"Feature\", \"properties\": {\"id\": \"poly\"},\n"
        "   \"geometry\": {\"type\": \"Polygon\", \"coordinates\": []}},\n"
        "  {\"type\": \"Feature\", \"properties\": {\"id\": \"far\"},\n"
        "   \"geometry\": {\"type\": \"Point\", \"coordinates\": [4, 91]}}\n"
        "]}\n");
    sq25_targets *t = NULL;
    assert_int_equal(sq25_targets_read(ctx, path, &t), SQ25_OK);
    assert_int_equal(sq25_targets_count(t), 2);
    assert_string_equal(sq25_targets_name(t, 0), "Tunnel \xc3\xa9");
    assert_string_equal(sq25_targets_id(t, 1), "7");
    assert_int_equal(sq25_targets_vertex_count(t, 1), 3);
    double lon, lat;
    assert_int_equal(sq25_targets_vertex(t, 1, 2, &lon, &lat), SQ25_OK);
    assert_float_equal(lon, 4.2, 0);
    assert_int_equal(sq25_targets_vertex(t, 1, 3, &lon, &lat), SQ25_ERR_RANGE);
    assert_int_equal(sq25_targets_problem_count(t), 3);
    assert_non_null(strstr(sq25_targets_problem(t, 0), "targets.geojson:6: feature without "
                                                       "properties.id"));
    assert_non_null(strstr(sq25_targets_problem(t, 1), ":9: geometry is not a Point"));
    assert_non_null(strstr(sq25_targets_problem(t, 2), ":10: latitude"));
    sq25_targets_destroy(t);
    path = test_write_file("broken.geojson", "{\"type\": \"FeatureCollection\",\n \"features\": [,]}");
    assert_int_equal(sq25_targets_read(ctx, path, &t), SQ25_ERR_PARSE);
    assert_non_null(strstr(sq25_errmsg(ctx), "broken.geojson:2:"));
    sq25_ctx_destroy(ctx);
}

/* A rain front of 60 mm/h (5 mm per 5-min step) moving east one cell per step: at lead index
 * j (lead 5(j+1) min) it covers columns c <= j + 7. Column 10 is wet from j = 3 on: 5 mm at
 * j=3, 15 mm at j=5 (lead 30 min, level 1), 25 mm at j=7 (40 min, level 2), 40 mm at j=10
 * (55 min, level 3), 45 mm at j=11. Column 14 is wet from j = 7: 15 mm at j=9 (50 min),
 * 25 mm at j=11 (60 min): level 2. Column 20 stays dry within the hour. */
static float front(int j, int c)
{
    return c <= j + 7 ? 60.0f : 0.0f;
}

static sq25_warning *front_warning(sq25_ctx *ctx, double target_radius_m, sq25_field **frames)
{
    const double gt[6] = {0, 1000, 0, 0, 0, -1000};
    for (int j = 0; j < 12; j++) {
        assert_int_equal(sq25_field_create(ctx, 30, 5, EQC, gt, ISSUE + (int64_t)(j + 1) * 300,
                                           &frames[j]),
                         SQ25_OK);
        float *d = sq25_field_data(frames[j]);
        for (int r = 0; r < 5; r++)
            for (int c = 0; c < 30; c++) d[r * 30 + c] = front(j, c);
    }
    sq25_warn_options *opt = NULL;
    assert_int_equal(sq25_warn_options_create(ctx, &opt), SQ25_OK);
    assert_int_equal(sq25_warn_options_set_radius(opt, 0, 0), SQ25_OK);
    assert_int_equal(sq25_warn_options_set_target_radius(opt, target_radius_m), SQ25_OK);
    sq25_warning *w = NULL;
    assert_int_equal(sq25_warn_compute(ctx, opt, (const sq25_field *const *)frames, 12, 300,
                                       ISSUE, &w),
                     SQ25_OK);
    sq25_warn_options_destroy(opt);
    return w;
}

static sq25_targets *front_targets(sq25_ctx *ctx)
{
    sq25_targets *t = NULL;
    assert_int_equal(sq25_targets_create(ctx, &t), SQ25_OK);
    assert_int_equal(sq25_targets_add_point(t, "p10", "cellar", cell_lon(10), cell_lat(2), NAN),
                     SQ25_OK);
    assert_int_equal(sq25_targets_add_point(t, "p20", "dry", cell_lon(20), cell_lat(2), NAN),
                     SQ25_OK);
    const double line[4] = {cell_lon(14), cell_lat(2), cell_lon(25), cell_lat(2)};
    assert_int_equal(sq25_targets_add_line(t, "road", "road, east", 2, line, NAN), SQ25_OK);
    assert_int_equal(sq25_targets_add_point(t, "away", "off the grid", 50.0, 10.0, NAN), SQ25_OK);
    return t;
}

static void test_targets_on_front(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *frames[12];
    sq25_warning *w = front_warning(ctx, 0, frames);
    sq25_field *onset = NULL;
    assert_int_equal(sq25_warning_onset(w, 1, &onset), SQ25_OK);
    assert_float_equal(sq25_field_data(onset)[2 * 30 + 10], 30.0, 0);
    sq25_field_destroy(onset);
    sq25_targets *t = front_targets(ctx);
    assert_int_equal(sq25_warning_evaluate_targets(w, t), SQ25_OK);
    int level;
    double p, amount, peak, lead;
    assert_int_equal(sq25_warning_target_result(w, 0, &level, &p, &amount, &peak, &lead), SQ25_OK);
    assert_int_equal(level, 3);
    assert_float_equal(p, 1.0, 0);
    assert_float_equal(amount, 45.0, 1e-4);
    assert_float_equal(peak, 60.0, 0);
    assert_float_equal(lead, 55.0, 0);
    assert_int_equal(sq25_warning_target_result(w, 1, &level, &p, &amount, &peak, &lead), SQ25_OK);
    assert_int_equal(level, 0);
    assert_float_equal(p, 0.0, 0);
    assert_float_equal(amount, 0.0, 0);
    assert_true(isnan(lead));
    assert_int_equal(sq25_warning_target_result(w, 2, &level, &p, &amount, &peak, &lead), SQ25_OK);
    assert_int_equal(level, 2);
    assert_float_equal(amount, 25.0, 1e-4);
    assert_float_equal(lead, 60.0, 0);
    assert_int_equal(sq25_warning_target_probability(w, 2, 1, &p), SQ25_OK);
    assert_float_equal(p, 1.0, 0);
    assert_int_equal(sq25_warning_target_probability(w, 2, 3, &p), SQ25_OK);
    assert_float_equal(p, 0.0, 0);
    /* off the grid: nothing sampled, no data: never level 0 (an all-clear) */
    assert_int_equal(sq25_warning_target_result(w, 3, &level, &p, &amount, &peak, &lead), SQ25_OK);
    assert_int_equal(level, SQ25_LEVEL_NO_DATA);
    assert_true(isnan(p) && isnan(amount) && isnan(peak) && isnan(lead));
    int st;
    assert_int_equal(sq25_warning_target_state(w, 3, &st), SQ25_OK);
    assert_int_equal(st, SQ25_STATE_NO_DATA);
    assert_int_equal(sq25_warning_target_state(w, 0, &st), SQ25_OK);
    assert_int_equal(st, SQ25_STATE_OK);
    assert_int_equal(sq25_warning_target_state(w, 4, &st), SQ25_ERR_RANGE);
    assert_int_equal(sq25_warning_target_result(w, 4, &level, NULL, NULL, NULL, NULL),
                     SQ25_ERR_RANGE);
    sq25_targets_destroy(t); /* the warning keeps its own copy */
    assert_int_equal(sq25_warning_target_result(w, 0, &level, NULL, NULL, NULL, NULL), SQ25_OK);
    sq25_warning_destroy(w);
    for (int j = 0; j < 12; j++) sq25_field_destroy(frames[j]);

    /* Target radius 1.5 km around p10: cells (9..11, 1..3); column 9 is wet from j = 2:
     * 10 steps = 50 mm, the maximum. */
    w = front_warning(ctx, 1500, frames);
    t = front_targets(ctx);
    assert_int_equal(sq25_warning_evaluate_targets(w, t), SQ25_OK);
    assert_int_equal(sq25_warning_target_result(w, 0, &level, NULL, &amount, NULL, &lead),
                     SQ25_OK);
    assert_float_equal(amount, 50.0, 1e-4);
    assert_float_equal(lead, 50.0, 0); /* column 9 reaches 40 mm (8 wet steps) at j = 9 */
    sq25_targets_destroy(t);
    sq25_warning_destroy(w);
    for (int j = 0; j < 12; j++) sq25_field_destroy(frames[j]);
    sq25_ctx_destroy(ctx);
}

/* Per-target probability thresholds on the half-plane case of test_warn.c (rain 60 mm/h in
 * columns 0..9, fixed radius 3 km): at column 11 the fraction is 2/7 = 0.286. A basement
 * (threshold 0.2) is warned, a road (0.5) and a target with the default (0.3) are not. */
static void test_target_thresholds(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    const double gt[6] = {0, 1000, 0, 0, 0, -1000};
    sq25_field *frames[12];
    for (int j = 0; j < 12; j++) {
        assert_int_equal(sq25_field_create(ctx, 20, 20, EQC, gt, ISSUE + (int64_t)(j + 1) * 300,
                                           &frames[j]),
                         SQ25_OK);
        float *d = sq25_field_data(frames[j]);
        for (int i = 0; i < 400; i++) d[i] = i % 20 < 10 ? 60.0f : 0.0f;
    }
    sq25_warn_options *opt = NULL;
    assert_int_equal(sq25_warn_options_create(ctx, &opt), SQ25_OK);
    assert_int_equal(sq25_warn_options_set_radius(opt, 3000, 0), SQ25_OK);
    assert_int_equal(sq25_warn_options_set_target_radius(opt, 0), SQ25_OK);
    sq25_warning *w = NULL;
    assert_int_equal(sq25_warn_compute(ctx, opt, (const sq25_field *const *)frames, 12, 300,
                                       ISSUE, &w),
                     SQ25_OK);
    sq25_targets *t = NULL;
    assert_int_equal(sq25_targets_create(ctx, &t), SQ25_OK);
    assert_int_equal(sq25_targets_add_point(t, "basement", NULL, cell_lon(11), cell_lat(10), 0.2),
                     SQ25_OK);
    assert_int_equal(sq25_targets_add_point(t, "road", NULL, cell_lon(11), cell_lat(10), 0.5),
                     SQ25_OK);
    assert_int_equal(sq25_targets_add_point(t, "plain", NULL, cell_lon(11), cell_lat(10), NAN),
                     SQ25_OK);
    assert_int_equal(sq25_targets_add_point(t, "x", NULL, 0, 0, 1.5), SQ25_ERR_RANGE);
    assert_int_equal(sq25_warning_evaluate_targets(w, t), SQ25_OK);
    int level;
    double p;
    const int expect[3] = {3, 0, 0};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(sq25_warning_target_result(w, i, &level, &p, NULL, NULL, NULL), SQ25_OK);
        assert_int_equal(level, expect[i]);
        assert_float_equal(p, 2.0 / 7.0, 1e-6);
    }
    sq25_targets_destroy(t);
    sq25_warning_destroy(w);
    sq25_warn_options_destroy(opt);
    for (int j = 0; j < 12; j++) sq25_field_destroy(frames[j]);
    sq25_ctx_destroy(ctx);
}

/* Outputs of the front case: every file parses as JSON where it should and carries the times,
 * inputs and results. */
static void test_writers(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *frames[12];
    sq25_warning *w = front_warning(ctx, 0, frames);
    assert_int_equal(sq25_warning_add_input(w, "nowcast_20210704T1650.h5"), SQ25_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/areas.geojson", test_tmpdir());
    assert_int_equal(sq25_warning_write_areas_geojson(w, path), SQ25_OK);
    char *text = read_text(path);
    sq25__json *root = sq25__json_parse(ctx, text, path);
    assert_non_null(root);
    assert_non_null(strstr(text, "\"issue_time\":\"2021-07-04T16:50:00Z\""));
    assert_non_null(strstr(text, "\"valid_to\":\"2021-07-04T17:50:00Z\""));
    assert_non_null(strstr(text, "\"inputs\":[\"nowcast_20210704T1650.h5\"]"));
    /* Level 3 (40 mm = 8 wet steps) needs wet from j <= 4, i.e. columns c <= 11: columns
     * 0..11 of all 5 rows, dissolved into one rectangle lon 0 .. 12 km / R, lat 0 .. -5 km / R,
     * counter-clockwise from its south-west corner. */
    const sq25__json *features = sq25__json_get(root, "features");
    const sq25__json *last = features->child;
    while (last->next) last = last->next;
    const sq25__json *props = sq25__json_get(last, "properties");
    assert_float_equal(sq25__json_get(props, "level")->num, 3, 0);
    assert_float_equal(sq25__json_get(props, "cells")->num, 60, 0);
    const sq25__json *coords = sq25__json_get(sq25__json_get(last, "geometry"), "coordinates");
    assert_int_equal(sq25__json_length(coords), 1);
    assert_int_equal(sq25__json_length(coords->child), 1); /* no hole */
    const sq25__json *ring = coords->child->child;
    assert_int_equal(sq25__json_length(ring), 5);
    const double want[5][2] = {{0, -5}, {12, -5}, {12, 0}, {0, 0}, {0, -5}};
    const sq25__json *pos = ring->child;
    for (int k = 0; k < 5; k++, pos = pos->next) {
        assert_float_equal(pos->child->num, want[k][0] * 1000.0 / R_EARTH * DEG, 1e-7);
        assert_float_equal(pos->child->next->num, want[k][1] * 1000.0 / R_EARTH * DEG, 1e-7);
    }
    sq25__json_free(ctx, root);

    /* targets are needed for the target outputs */
    snprintf(path, sizeof path, "%s/targets.csv", test_tmpdir());
    assert_int_equal(sq25_warning_write_targets_csv(w, path), SQ25_ERR_INVALID_ARG);
    sq25_targets *t = front_targets(ctx);
    assert_int_equal(sq25_warning_evaluate_targets(w, t), SQ25_OK);
    sq25_targets_destroy(t);
    assert_int_equal(sq25_warning_write_targets_csv(w, path), SQ25_OK);
    text = read_text(path);
    assert_non_null(strstr(text, "id,name,lon,lat,level,level_name,state,probability"));
    assert_non_null(strstr(text, "\np10,cellar,"));
    assert_non_null(strstr(text, ",3,extrem,ok,1,0.3,45,60,55,2021-07-04T16:50:00Z,"
                                 "2021-07-04T16:50:00Z,2021-07-04T17:50:00Z,"
                                 "nowcast_20210704T1650.h5,1,1,1\n"));
    assert_non_null(strstr(text, "\nroad,\"road, east\","));

    snprintf(path, sizeof path, "%s/targets.geojson", test_tmpdir());
    assert_int_equal(sq25_warning_write_targets_geojson(w, path), SQ25_OK);
    text = read_text(path);
    root = sq25__json_parse(ctx, text, path);
    assert_non_null(root);
    const sq25__json *f0 = sq25__json_get(root, "features")->child;
    assert_string_equal(sq25__json_get(sq25__json_get(f0, "properties"), "id")->str, "p10");
    assert_float_equal(sq25__json_get(sq25__json_get(f0, "properties"), "onset_min")->num, 55, 0);
    const sq25__json *g2 = sq25__json_get(f0->next->next, "geometry");
    assert_string_equal(sq25__json_get(g2, "type")->str, "LineString");
    sq25__json_free(ctx, root);

    snprintf(path, sizeof path, "%s/summary.json", test_tmpdir());
    assert_int_equal(sq25_warning_write_summary_json(w, path), SQ25_OK);
    text = read_text(path);
    root = sq25__json_parse(ctx, text, path);
    assert_non_null(root);
    assert_int_equal(sq25__json_length(sq25__json_get(root, "targets")), 4);
    assert_int_equal(sq25__json_length(sq25__json_get(root, "areas")), 3);
    sq25__json_free(ctx, root);

    /* an unwritable path names itself */
    assert_int_equal(sq25_warning_write_summary_json(w, "/nonexistent-dir/s.json"),
                     SQ25_ERR_WRITE);
    assert_non_null(strstr(sq25_errmsg(ctx), "/nonexistent-dir/s.json"));
    sq25_warning_destroy(w);
    for (int j = 0; j < 12; j++) sq25_field_destroy(frames[j]);
    sq25_ctx_destroy(ctx);
}

/* Fail each allocation of reading targets and evaluating them in turn: NOMEM, no leak. */
static void test_targets_allocation_failures(void **state)
{
    (void)state;
    const char *path = test_write_file("alloc.geojson",
                                  "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":"
                                  "\"Feature\",\"properties\":{\"id\":\"a\"},\"geometry\":{"
                                  "\"type\":\"LineString\",\"coordinates\":[[0,0],[0.01,-0.01]]"
                                  "}}]}");
    int failures = 0;
    for (long n = 1; n < 400; n++) {
        test_alloc_state st = {0, 0, 0};
        sq25_ctx *ctx = test_ctx_failing(&st);
        sq25_field *frames[12];
        sq25_warning *w = front_warning(ctx, 500, frames);
        st.fail_at = st.calls + n;
        long before = st.calls;
        sq25_targets *t = NULL;
        int rc = sq25_targets_read(ctx, path, &t);
        if (rc == SQ25_OK) rc = sq25_warning_evaluate_targets(w, t);
        if (rc != SQ25_OK) {
            assert_int_equal(rc, SQ25_ERR_NOMEM);
            failures++;
        }
        long used = st.calls - before;
        st.fail_at = 0;
        sq25_targets_destroy(t);
        sq25_warning_destroy(w);
        for (int j = 0; j < 12; j++) sq25_field_destroy(frames[j]);
        sq25_ctx_destroy(ctx);
        assert_int_equal(st.live, 0);
        if (used < n) break;
    }
    assert_true(failures >= 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_targets),
        cmocka_unit_test(test_geojson_targets),
        cmocka_unit_test(test_targets_on_front),
        cmocka_unit_test(test_target_thresholds),
        cmocka_unit_test(test_writers),
        cmocka_unit_test(test_targets_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
