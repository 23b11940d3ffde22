/* test_io_read.c -- the ODIM and KNMI readers on the bundled real files (data/), checked
 * against numbers read independently from the files with h5dump (hdf5-tools); each test gives
 * the command. Expected corners come from the files' own corner attributes. */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RMI_1650 "radar/rmi_20210704/20210704165000.rad.best.comp.rate.qpe.hdf"
#define OPERA_1800 "radar/opera_20180824/T_PAAH21_C_EUOC_20180824180000.hdf"
#define KNMI_0100 "radar/knmi_20100826/RAD_NL25_RAP_5min_201008260100.h5"
#define CORNER_TOL_DEG 0.01

static sq25_field *read_ok(sq25_ctx *ctx, const char *path)
{
    sq25_field *f = NULL;
    int rc = sq25_read_field(ctx, path, &f);
    if (rc != SQ25_OK) fprintf(stderr, "read %s: %s\n", path, sq25_errmsg(ctx));
    assert_int_equal(rc, SQ25_OK);
    assert_non_null(f);
    return f;
}

static float at(sq25_field *f, int row, int col)
{
    return sq25_field_data(f)[(size_t)row * (size_t)sq25_field_width(f) + (size_t)col];
}

/* expected8 = {ul_lon, ul_lat, ur_lon, ur_lat, lr_lon, lr_lat, ll_lon, ll_lat} */
static void assert_corners(sq25_field *f, const double expected8[8])
{
    double c[8];
    assert_int_equal(sq25_field_corners_lonlat(f, c), SQ25_OK);
    for (int k = 0; k < 8; k++) {
        if (fabs(c[k] - expected8[k]) > CORNER_TOL_DEG)
            fprintf(stderr, "corner value %d: got %.5f expected %.5f\n", k, c[k], expected8[k]);
        assert_true(fabs(c[k] - expected8[k]) <= CORNER_TOL_DEG);
    }
}

static void test_detect(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    int format = -1, count = -1;
    assert_int_equal(sq25_file_detect(ctx, test_data_path(RMI_1650), &format), SQ25_OK);
    assert_int_equal(format, SQ25_FORMAT_ODIM);
    assert_int_equal(sq25_file_detect(ctx, test_data_path(OPERA_1800), &format), SQ25_OK);
    assert_int_equal(format, SQ25_FORMAT_ODIM);
    assert_int_equal(sq25_file_detect(ctx, test_data_path(KNMI_0100), &format), SQ25_OK);
    assert_int_equal(format, SQ25_FORMAT_KNMI);
    /* The Amsterdam gauge file is netCDF-4 (it has _NCProperties) but holds station series,
     * not a grid: detected as CF, rejected by the grid reader with a reason. */
    const char *pws = test_data_path("gauges/amsterdam_pws_2017/test_dataset.nc");
    assert_int_equal(sq25_file_detect(ctx, pws, &format), SQ25_OK);
    assert_int_equal(format, SQ25_FORMAT_CF);
    sq25_field *f = NULL;
    assert_int_equal(sq25_read_field(ctx, pws, &f), SQ25_ERR_MISSING_DATASET);
    assert_null(f);
    assert_non_null(strstr(sq25_errmsg(ctx), "not a grid"));
    assert_int_equal(sq25_file_frame_count(ctx, test_data_path(RMI_1650), &count), SQ25_OK);
    assert_int_equal(count, 1);
    assert_int_equal(sq25_read_field_frame(ctx, test_data_path(RMI_1650), 1, &f), SQ25_ERR_RANGE);
    sq25_ctx_destroy(ctx);
}

static void test_rmi_values(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = read_ok(ctx, test_data_path(RMI_1650));
    assert_int_equal(sq25_field_width(f), 700);
    assert_int_equal(sq25_field_height(f), 700);
    /* Independent values:
     *   h5dump -m '%.9g' -d /dataset1/data1/data -y -w 0 -o rmi.txt FILE
     *   then in /usr/bin/python3: split on commas, max over non-NaN values and its index:
     *   max 56.5590897 at row 608 col 475; (608,476) = 48.7419777; (610,480) = 2.37723398;
     *   (600,470) = 0; (0,0) = nan; 161707 NaN of 490000 cells; 56475 cells > 0.1. */
    double max, mean, wet, nodata;
    sq25_field_stats(f, 0.1, &max, &mean, &wet, &nodata);
    assert_float_equal(max, 56.5590897, 1e-5);
    assert_float_equal(at(f, 608, 475), 56.5590897, 1e-5);
    assert_float_equal(at(f, 608, 476), 48.7419777, 1e-5);
    assert_float_equal(at(f, 610, 480), 2.37723398, 1e-6);
    assert_true(at(f, 600, 470) == 0.0f);
    assert_true(isnan(at(f, 0, 0)));
    assert_float_equal(nodata, 161707.0 / 490000.0, 1e-12);
    assert_float_equal(wet, 56475.0 / (490000.0 - 161707.0), 1e-12);
    /* Nominal time: h5dump -a /what/date -a /what/time FILE -> "20210704", "165000". */
    char t[32];
    sq25_time_format(sq25_field_valid_time(f), t, sizeof t);
    assert_string_equal(t, "2021-07-04T16:50:00Z");
    assert_int_equal(sq25_field_accumulation_s(f), 0);
    assert_string_equal(sq25_field_meta(f, SQ25_META_FORMAT), "ODIM_H5/V2_2");
    assert_string_equal(sq25_field_meta(f, SQ25_META_QUANTITY), "RATE");
    /* /what/source: h5dump -a /what/source FILE */
    assert_string_equal(sq25_field_meta(f, SQ25_META_PRODUCER),
                        "NOD:behel,NOD:bejab,NOD:bewid,NOD:denhb,NOD:frave");
    /* dataset1/where UL_x=300000 UL_y=1e+06 xscale=yscale=1000 (h5dump -g /dataset1/where) */
    double gt[6];
    sq25_field_geotransform(f, gt);
    assert_float_equal(gt[0], 300000.0, 1e-6);
    assert_float_equal(gt[3], 1000000.0, 1e-6);
    assert_float_equal(gt[1], 1000.0, 0);
    assert_float_equal(gt[5], -1000.0, 0);
    /* Corners: h5dump -m '%.9g' -a /where/UL_lon ... -a /where/LL_lat FILE */
    const double corners[8] = {-0.925464984, 53.6928559, 9.66415988, 53.6919969,
                               9.00288046,   47.4160381, -0.2666974, 47.4167912};
    assert_corners(f, corners);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

static void test_opera_values(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = read_ok(ctx, test_data_path(OPERA_1800));
    assert_int_equal(sq25_field_width(f), 1900);
    assert_int_equal(sq25_field_height(f), 2200);
    /* Independent values (float64 data; nodata -9999000 and undetect -8888000 are in
     * dataset1/what):
     *   h5dump -m '%.17g' -d /dataset1/data1/data -y -w 0 -o op.txt FILE, then python3:
     *   2085857 cells == -9999000, 1605989 == -8888000; max of the rest 1205.22 at row 407
     *   col 391 and next 421.07 at (1626,769): single-pixel clutter, not rain (24 cells
     *   > 100 mm/h). Rain cells: (301,1383) = 20.73, (352,1342) = 28.73; undetect at
     *   (18,1312). */
    double max, nodata;
    sq25_field_stats(f, 0.1, &max, NULL, NULL, &nodata);
    assert_float_equal(max, 1205.22, 1e-3);
    assert_float_equal(at(f, 407, 391), 1205.22, 1e-3);
    assert_float_equal(at(f, 1626, 769), 421.07, 1e-3);
    assert_float_equal(at(f, 301, 1383), 20.73, 1e-5);
    assert_float_equal(at(f, 352, 1342), 28.73, 1e-5);
    assert_true(at(f, 18, 1312) == 0.0f); /* undetect -> 0 mm/h */
    assert_true(isnan(at(f, 0, 0)));      /* nodata -> NaN */
    assert_float_equal(nodata, 2085857.0 / 4180000.0, 1e-12);
    char t[32];
    sq25_time_format(sq25_field_valid_time(f), t, sizeof t); /* /what date 20180824 time 180000 */
    assert_string_equal(t, "2018-08-24T18:00:00Z");
    assert_string_equal(sq25_field_meta(f, SQ25_META_FORMAT), "ODIM_H5/V2_0");
    assert_string_equal(sq25_field_meta(f, SQ25_META_PRODUCER), "ORG:247");
    /* Corners: h5dump -m '%.9g' -a /where/UL_lon ... FILE (the reader uses only UL_lon/UL_lat
     * and the scales; the other three corners are an independent check). */
    const double corners[8] = {-39.5357864, 67.0228328, 57.8119648, 67.6210371,
                               29.4210386,  31.9876503, -10.4345768, 31.7462153};
    assert_corners(f, corners);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

static void test_knmi_values(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = read_ok(ctx, test_data_path(KNMI_0100));
    assert_int_equal(sq25_field_width(f), 700);
    assert_int_equal(sq25_field_height(f), 765);
    /* Raw PV: h5dump -d /image1/image_data -y -w 0 -o kn.txt FILE, then python3:
     * 398271 cells are 65535 (missing); max PV 67 at row 508 col 423 (also
     * h5dump -d /image1/image_data -s "508,423" -c "1,1" FILE -> 67); PV 6 at (230,433);
     * first valid cell (220,355) has PV 0. mm/h = PV * 0.01 (GEO=0.01*PV+0.0, mm per 5 min)
     * * 12. */
    double max, nodata;
    sq25_field_stats(f, 0.1, &max, NULL, NULL, &nodata);
    assert_float_equal(max, 67 * 0.01 * 12, 1e-5);
    assert_float_equal(at(f, 508, 423), 67 * 0.01 * 12, 1e-5);
    assert_float_equal(at(f, 230, 433), 6 * 0.01 * 12, 1e-6);
    assert_true(at(f, 220, 355) == 0.0f);
    assert_true(isnan(at(f, 0, 0)));
    assert_float_equal(nodata, 398271.0 / 535500.0, 1e-12);
    /* h5dump -a /overview/product_datetime_start -a /overview/product_datetime_end FILE:
     * "26-AUG-2010;00:55:00.000" and "26-AUG-2010;01:00:00.000" */
    char t[32];
    sq25_time_format(sq25_field_valid_time(f), t, sizeof t);
    assert_string_equal(t, "2010-08-26T01:00:00Z");
    assert_int_equal(sq25_field_accumulation_s(f), 300);
    assert_string_equal(sq25_field_meta(f, SQ25_META_FORMAT), "KNMI_HDF5/3.5");
    assert_string_equal(sq25_field_meta(f, SQ25_META_QUANTITY), "ACCUMULATED_PRECIPITATION_[MM]");
    /* Metres: geo_row_offset 3650 km -> UL y = -3650000 m; 1 km pixels. */
    double gt[6];
    sq25_field_geotransform(f, gt);
    assert_float_equal(gt[0], 0.0, 1e-9);
    assert_float_equal(gt[3], -3650000.0, 1e-6);
    assert_float_equal(gt[1], 1000.0, 1e-9);
    assert_float_equal(gt[5], -1000.0, 1e-9);
    /* h5dump -m '%.9g' -a /geographic/geo_product_corners FILE: pairs LL, UL, UR, LR =
     * (0, 49.362) (0, 55.974) (10.856, 55.389) (9.009, 48.895) */
    const double corners[8] = {0, 55.974, 10.856, 55.389, 9.009, 48.895, 0, 49.362};
    assert_corners(f, corners);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

/* Every allocation of a read may fail: the error is NOMEM and nothing leaks. */
static void test_read_allocation_failures(void **state)
{
    (void)state;
    int failures = 0;
    for (long n = 1; n < 200; n++) {
        test_alloc_state st = {.fail_at = n};
        sq25_ctx *ctx = test_ctx_failing(&st);
        if (!ctx) {
            assert_int_equal(st.live, 0);
            failures++;
            continue;
        }
        sq25_field *f = NULL;
        int rc = sq25_read_field(ctx, test_data_path(KNMI_0100), &f);
        if (rc != SQ25_OK) {
            assert_int_equal(rc, SQ25_ERR_NOMEM);
            assert_null(f);
            failures++;
        }
        sq25_field_destroy(f);
        sq25_ctx_destroy(ctx);
        assert_int_equal(st.live, 0);
        if (st.calls < n) break;
    }
    assert_true(failures >= 3);
}

/* The whole shared sets, when this machine has them: every frame reads, with the nominal time
 * its file name states. */
static void check_series(sq25_ctx *ctx, const char *dir, const char *prefix, const char *suffix,
                         int64_t first, int step_s, int frames)
{
    for (int i = 0; i < frames; i++) {
        int64_t t = first + (int64_t)i * step_s;
        char iso[32], stamp[32], rel[256];
        sq25_time_format(t, iso, sizeof iso); /* YYYY-MM-DDTHH:MM:SSZ */
        snprintf(stamp, sizeof stamp, "%.4s%.2s%.2s%.2s%.2s%.2s", iso, iso + 5, iso + 8,
                 iso + 11, iso + 14, iso + 17);
        if (strcmp(suffix, ".h5") == 0) stamp[12] = '\0'; /* KNMI names end at minutes */
        snprintf(rel, sizeof rel, "%s/%s%s%s", dir, prefix, stamp, suffix);
        const char *path = test_shared_path(rel);
        assert_non_null(path);
        sq25_field *f = read_ok(ctx, path);
        assert_int_equal(sq25_field_valid_time(f), t);
        sq25_field_destroy(f);
    }
}

static void test_shared_series(void **state)
{
    (void)state;
    if (!test_shared_path("radar")) {
        printf("test_shared_series: skipped, ../shared/data is not on this machine\n");
        return;
    }
    sq25_ctx *ctx = sq25_ctx_create();
    int64_t t0;
    /* README of the shared data: RMI 15:50..19:00 every 5 min (39 frames); KNMI 00:00..07:35
     * every 5 min (92); OPERA 18:00..23:45 every 15 min (24). */
    sq25_time_parse("2021-07-04T15:50:00Z", &t0);
    check_series(ctx, "radar/rmi_20210704", "", ".rad.best.comp.rate.qpe.hdf", t0, 300, 39);
    sq25_time_parse("2010-08-26T00:00:00Z", &t0);
    check_series(ctx, "radar/knmi_20100826", "RAD_NL25_RAP_5min_", ".h5", t0, 300, 92);
    sq25_time_parse("2018-08-24T18:00:00Z", &t0);
    check_series(ctx, "radar/opera_20180824", "T_PAAH21_C_EUOC_", ".hdf", t0, 900, 24);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect),          cmocka_unit_test(test_rmi_values),
        cmocka_unit_test(test_opera_values),    cmocka_unit_test(test_knmi_values),
        cmocka_unit_test(test_read_allocation_failures),
        cmocka_unit_test(test_shared_series),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
