/* test_core.c -- version, error texts, contexts, allocator failures, time parsing, fields and
 * georeference. Expected numbers are analytic (calendar arithmetic, a spherical equidistant
 * cylindrical projection where x = R*lon and y = R*lat in radians). */
#include "support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_version(void **state)
{
    (void)state;
    assert_int_equal(sq25_version(), SQ25_VERSION_NUMBER);
    assert_string_equal(sq25_version_string(), SQ25_VERSION_STRING);
    assert_true(SQ25_AT_LEAST_VERSION(1, 0, 0));
    assert_false(SQ25_AT_LEAST_VERSION(SQ25_VERSION_MAJOR + 1, 0, 0));
}

static void test_error_texts(void **state)
{
    (void)state;
    assert_string_equal(sq25_strerror(SQ25_OK), "success");
    assert_string_equal(sq25_strerror(SQ25_ERR_NOMEM), "out of memory");
    assert_string_equal(sq25_strerror(12345), "unknown error code");
    assert_string_equal(sq25_errname(SQ25_ERR_FILE_TRUNCATED), "SQ25_ERR_FILE_TRUNCATED");
    assert_string_equal(sq25_errname(-77777), "SQ25_UNKNOWN");
    /* Pinned values: these numbers are part of the ABI and must never change. */
    assert_int_equal(SQ25_ERR_NOMEM, -1);
    assert_int_equal(SQ25_ERR_FILE_NOT_FOUND, -100);
    assert_int_equal(SQ25_ERR_NOT_HDF5, -103);
    assert_int_equal(SQ25_ERR_PROJ, -200);
    assert_int_equal(SQ25_ERR_PARSE, -400);
    assert_string_equal(sq25_errmsg(NULL), "no context");
}

static void test_time(void **state)
{
    (void)state;
    int64_t t = 0;
    /* 2021-07-04 15:50 UTC: 18812 days after 1970-01-01 (51 years with 13 leap days, plus 184
     * days of 2021 before 4 July) */
    assert_int_equal(sq25_time_parse("2021-07-04T15:50:00Z", &t), SQ25_OK);
    assert_int_equal(t, (int64_t)18812 * 86400 + 15 * 3600 + 50 * 60);
    int64_t t2 = 0;
    assert_int_equal(sq25_time_parse("202107041550", &t2), SQ25_OK);
    assert_int_equal(t2, t);
    assert_int_equal(sq25_time_parse("2021-07-04 15:50", &t2), SQ25_OK);
    assert_int_equal(t2, t);
    assert_int_equal(sq25_time_parse("@1625413800", &t2), SQ25_OK);
    assert_int_equal(t2, t);
    char buf[32];
    assert_int_equal(sq25_time_format(t, buf, sizeof buf), 20);
    assert_string_equal(buf, "2021-07-04T15:50:00Z");
    sq25_time_format(-1, buf, sizeof buf);
    assert_string_equal(buf, "1969-12-31T23:59:59Z");
    assert_int_equal(sq25_time_parse("2021-02-30T00:00", &t2), SQ25_ERR_BAD_TIME);
    assert_int_equal(sq25_time_parse("yesterday", &t2), SQ25_ERR_BAD_TIME);
    assert_int_equal(sq25_time_parse("2021-07-04T15:50:00+02", &t2), SQ25_ERR_BAD_TIME);
}

#define EQC "+proj=eqc +a=6371000 +b=6371000 +units=m"

static void test_field_basics(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    assert_non_null(ctx);
    const double gt[6] = {0, 1000, 0, 0, 0, -1000};
    sq25_field *f = NULL;
    assert_int_equal(sq25_field_create(ctx, 4, 3, EQC, gt, 1000, &f), SQ25_OK);
    assert_int_equal(sq25_field_width(f), 4);
    assert_int_equal(sq25_field_height(f), 3);
    float *d = sq25_field_data(f);
    assert_true(isnan(d[0]) && isnan(d[11]));
    d[0] = 0.0f;
    d[1] = 2.0f;
    d[2] = 10.0f;
    double max, mean, wet, nodata;
    sq25_field_stats(f, 0.1, &max, &mean, &wet, &nodata);
    assert_float_equal(max, 10.0, 1e-12);
    assert_float_equal(mean, 4.0, 1e-12);
    assert_float_equal(wet, 2.0 / 3.0, 1e-12);
    assert_float_equal(nodata, 9.0 / 12.0, 1e-12);
    assert_int_equal(sq25_field_set_meta(f, SQ25_META_QUANTITY, "RATE"), SQ25_OK);
    sq25_field *g = NULL;
    assert_int_equal(sq25_field_clone(f, &g), SQ25_OK);
    assert_string_equal(sq25_field_meta(g, SQ25_META_QUANTITY), "RATE");
    assert_string_equal(sq25_field_meta(g, SQ25_META_PRODUCER), "");
    assert_float_equal(sq25_field_data(g)[2], 10.0, 0);
    assert_int_equal(sq25_field_valid_time(g), 1000);
    sq25_field_destroy(g);
    sq25_field_destroy(f);
    sq25_field_destroy(NULL);
    /* absurd sizes and bad projections fail with their own codes and a message */
    assert_int_equal(sq25_field_create(ctx, 0, 3, EQC, gt, 0, &f), SQ25_ERR_SIZE_ABSURD);
    assert_non_null(strstr(sq25_errmsg(ctx), "absurd"));
    assert_int_equal(sq25_field_create(ctx, 200000, 3, EQC, gt, 0, &f), SQ25_ERR_SIZE_ABSURD);
    assert_int_equal(sq25_field_create(ctx, 3, 3, "+proj=nonsense", gt, 0, &f), SQ25_ERR_PROJ);
    assert_null(f);
    assert_int_equal(sq25_errcode(ctx), SQ25_ERR_PROJ);
    sq25_ctx_destroy(ctx);
}

static void test_geo_analytic(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    const double R = 6371000.0, deg = M_PI / 180.0;
    /* 1-degree pixels whose upper-left corner is at lon 2, lat 50 */
    const double gt[6] = {2 * deg * R, deg * R, 0, 50 * deg * R, 0, -deg * R};
    sq25_field *f = NULL;
    assert_int_equal(sq25_field_create(ctx, 10, 5, EQC, gt, 0, &f), SQ25_OK);
    double c8[8];
    assert_int_equal(sq25_field_corners_lonlat(f, c8), SQ25_OK);
    const double expect[8] = {2, 50, 12, 50, 12, 45, 2, 45};
    for (int i = 0; i < 8; i++) assert_float_equal(c8[i], expect[i], 1e-9);
    double lon[2] = {4.5, 11.0}, lat[2] = {47.5, 45.25}, col[2], row[2];
    assert_int_equal(sq25_field_lonlat_to_pixel(f, 2, lon, sizeof(double), lat, sizeof(double),
                                                col, sizeof(double), row, sizeof(double)),
                     SQ25_OK);
    assert_float_equal(col[0], 2.5, 1e-9);
    assert_float_equal(row[0], 2.5, 1e-9);
    assert_float_equal(col[1], 9.0, 1e-9);
    assert_float_equal(row[1], 4.75, 1e-9);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

/* Fail each allocation in turn: every failure must give SQ25_ERR_NOMEM and leak nothing. */
static void test_allocation_failures(void **state)
{
    (void)state;
    const double gt[6] = {0, 1000, 0, 0, 0, -1000};
    int failures_seen = 0;
    for (long n = 1; n < 50; n++) {
        test_alloc_state st = {n, 0, 0};
        sq25_ctx *ctx = test_ctx_failing(&st);
        if (!ctx) {
            assert_int_equal(st.live, 0);
            failures_seen++;
            continue;
        }
        sq25_field *f = NULL, *g = NULL;
        int rc = sq25_field_create(ctx, 8, 8, EQC, gt, 0, &f);
        if (rc == SQ25_OK) rc = sq25_field_set_meta(f, SQ25_META_PRODUCER, "test");
        if (rc == SQ25_OK) rc = sq25_field_clone(f, &g);
        if (rc != SQ25_OK) {
            assert_int_equal(rc, SQ25_ERR_NOMEM);
            failures_seen++;
        }
        sq25_field_destroy(g);
        sq25_field_destroy(f);
        sq25_ctx_destroy(ctx);
        assert_int_equal(st.live, 0);
        if (st.calls < n) break; /* no allocation left to fail */
    }
    assert_true(failures_seen >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),          cmocka_unit_test(test_error_texts),
        cmocka_unit_test(test_time),             cmocka_unit_test(test_field_basics),
        cmocka_unit_test(test_geo_analytic),     cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
