/* test_io_radolan.c -- DWD RADOLAN/RADVOR composites (data/radar/dwd_radolan/, copied
 * byte-for-byte from ../shared/data). Expected values come from two independent sources:
 *  1. tests/tools/radolan_ref.py, a small decoder written for the tests from DWD's format
 *     description with Python's gzip/bz2/tarfile and NumPy (no code shared with the reader):
 *       radolan_ref.py showcase/raa01-ry_10000-1408102050-dwd---bin.gz ->
 *         rows 900, cols 900, precision 0.01, interval 5 min, n_nodata 202093,
 *         max 10.79 mm at (row from north 837, col 288), value at (450,450) 0.06
 *       ... raa01-rx_... -> n_nodata 176545, max 56.5 dBZ at (837, 288), (450,450) 19.0 dBZ
 *       ... misc/raa01-rw_10000-1408030950 -> precision 0.1, 60 min, max 42.1 at (461, 609)
 *       ... radvor/RE2210180700_005.gz -> VS 5, precision 0.001, 60 min, lead 5, max 0.944
 *       ... radvor/RQ2210180700_060.gz -> VS 5, precision 0.1, 60 min, lead 60, max 13.5 at
 *           (454, 611), (450,450) 1.5
 *       ... radvor/DE1200_RV2210180700.tar.bz2 DE1200_RV2210180700_060 -> 1200 x 1100, lead 60,
 *           max 4.62 at (579, 694), n_nodata 613592; member _120: max 4.73 at (555, 736)
 *  2. facts stated in DWD's descriptions: the corners of the 900 x 900 grid (lower left
 *     3.5889 E 46.9526 N, upper right 15.7208 E 54.7405 N; Kompositformat 2.x, as tabulated
 *     in wradlib's get_radolan_grid documentation) and of the DE1200 grid (north-west
 *     55.86209 N 1.46330 E, south-east 45.68461 N 16.58087 E; DWD's RV description). */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define RY "radar/dwd_radolan/showcase/raa01-ry_10000-1408102050-dwd---bin.gz"
#define RX "radar/dwd_radolan/showcase/raa01-rx_10000-1408102050-dwd---bin.gz"
#define RW "radar/dwd_radolan/misc/raa01-rw_10000-1408030950-dwd---bin.gz"
#define RE "radar/dwd_radolan/radvor/RE2210180700_005.gz"
#define RQ "radar/dwd_radolan/radvor/RQ2210180700_060.gz"
#define RV "radar/dwd_radolan/radvor/DE1200_RV2210180700.tar.bz2"

static sq25_field *read_frame(sq25_ctx *ctx, const char *rel, int index)
{
    sq25_field *f = NULL;
    int rc = sq25_read_field_frame(ctx, test_data_path(rel), index, &f);
    if (rc) printf("%s: %s\n", rel, sq25_errmsg(ctx));
    assert_int_equal(rc, SQ25_OK);
    return f;
}

static float at(const sq25_field *f, int row, int col)
{
    return sq25_field_data_const(f)[(size_t)row * (size_t)sq25_field_width(f) + (size_t)col];
}

static size_t count_nan(const sq25_field *f)
{
    size_t n = 0, cells = (size_t)sq25_field_width(f) * (size_t)sq25_field_height(f);
    for (size_t i = 0; i < cells; i++) n += isnan(sq25_field_data_const(f)[i]);
    return n;
}

static void test_ry_amounts_and_grid(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    int format = 0;
    assert_int_equal(sq25_file_detect(ctx, test_data_path(RY), &format), SQ25_OK);
    assert_int_equal(format, SQ25_FORMAT_RADOLAN);
    sq25_field *f = read_frame(ctx, RY, 0);
    assert_int_equal(sq25_field_width(f), 900);
    assert_int_equal(sq25_field_height(f), 900);
    /* 10.79 mm in 5 min = 129.48 mm/h; 0.06 mm = 0.72 mm/h */
    assert_float_equal(at(f, 837, 288), 10.79 * 12, 1e-3);
    assert_float_equal(at(f, 450, 450), 0.06 * 12, 1e-5);
    double max;
    sq25_field_stats(f, 0.1, &max, NULL, NULL, NULL);
    assert_float_equal(max, 10.79 * 12, 1e-3);
    assert_int_equal(count_nan(f), 202093);
    assert_int_equal(sq25_field_accumulation_s(f), 300);
    assert_int_equal(sq25_field_valid_time(f), 1407703800); /* 2014-08-10T20:50:00Z */
    double c[8];
    assert_int_equal(sq25_field_corners_lonlat(f, c), SQ25_OK);
    assert_float_equal(c[4], 14.6209, 1e-3); /* lower right */
    assert_float_equal(c[5], 47.0705, 1e-3);
    assert_float_equal(c[2], 15.7208, 1e-3);
    assert_float_equal(c[3], 54.7405, 1e-3);
    assert_float_equal(c[6], 3.5889, 1e-3);
    assert_float_equal(c[7], 46.9526, 1e-3);
    assert_string_equal(sq25_field_meta(f, SQ25_META_QUANTITY), "RY");
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

static void test_rx_reflectivity_zr(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = read_frame(ctx, RX, 0);
    /* 56.5 dBZ with Z = 200 R^1.6: R = (10^5.65 / 200)^(1/1.6) */
    double mp = pow(pow(10, 5.65) / 200, 1 / 1.6);
    assert_float_equal(at(f, 837, 288), mp, 1e-3 * mp);
    assert_int_equal(count_nan(f), 176545);
    assert_non_null(strstr(sq25_field_meta(f, SQ25_META_CONVERSION), "Z = 200 R^1.6"));
    sq25_field_destroy(f);
    /* Another relation (Z = 300 R^1.4, the NEXRAD convective one): the same pixel gives
     * (10^5.65 / 300)^(1/1.4), and the relation is recorded in the metadata. */
    assert_int_equal(sq25_ctx_set_zr(ctx, 300, 1.4), SQ25_OK);
    f = read_frame(ctx, RX, 0);
    double nx = pow(pow(10, 5.65) / 300, 1 / 1.4);
    assert_float_equal(at(f, 837, 288), nx, 1e-3 * nx);
    assert_float_equal(at(f, 450, 450), pow(pow(10, 1.9) / 300, 1 / 1.4), 1e-4);
    assert_non_null(strstr(sq25_field_meta(f, SQ25_META_CONVERSION), "Z = 300 R^1.4"));
    sq25_field_destroy(f);
    /* A ceiling of 100 mm/h: clipped, or set to no data; counted in the metadata. */
    assert_int_equal(sq25_ctx_set_zr(ctx, 200, 1.6), SQ25_OK);
    assert_int_equal(sq25_ctx_set_rain_ceiling(ctx, 100, SQ25_CEILING_CLIP), SQ25_OK);
    f = read_frame(ctx, RX, 0);
    assert_float_equal(at(f, 837, 288), 100.0, 1e-6);
    assert_non_null(strstr(sq25_field_meta(f, SQ25_META_CONVERSION), "ceiling 100 mm/h"));
    sq25_field_destroy(f);
    assert_int_equal(sq25_ctx_set_rain_ceiling(ctx, 100, SQ25_CEILING_NODATA), SQ25_OK);
    f = read_frame(ctx, RX, 0);
    assert_true(isnan(at(f, 837, 288)));
    assert_true(count_nan(f) > 176545);
    sq25_field_destroy(f);
    assert_int_equal(sq25_ctx_set_rain_ceiling(ctx, -1, SQ25_CEILING_CLIP), SQ25_ERR_RANGE);
    assert_int_equal(sq25_ctx_set_zr(ctx, 0, 1.6), SQ25_ERR_RANGE);
    sq25_ctx_destroy(ctx);
}

static void test_rw_hourly(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = read_frame(ctx, RW, 0);
    assert_float_equal(at(f, 461, 609), 42.1, 1e-4); /* mm in 60 min = mm/h */
    assert_int_equal(sq25_field_accumulation_s(f), 3600);
    assert_int_equal(sq25_field_valid_time(f), 1407059400); /* 2014-08-03T09:50:00Z */
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

static void test_radvor_leads(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    int count = 0;
    /* RV: one tar.bz2 holding the leads 0, 5, ..., 120 min: 25 frames in lead order */
    assert_int_equal(sq25_file_frame_count(ctx, test_data_path(RV), &count), SQ25_OK);
    assert_int_equal(count, 25);
    sq25_field *f = read_frame(ctx, RV, 12);
    assert_int_equal(sq25_field_width(f), 1100);
    assert_int_equal(sq25_field_height(f), 1200);
    assert_int_equal(sq25_field_valid_time(f), 1666076400 + 60 * 60); /* 07:00 + 60 min */
    assert_float_equal(at(f, 579, 694), 4.62 * 12, 1e-3);
    assert_int_equal(count_nan(f), 613592);
    double c[8];
    assert_int_equal(sq25_field_corners_lonlat(f, c), SQ25_OK);
    assert_float_equal(c[0], 1.46330, 1e-4);
    assert_float_equal(c[1], 55.86209, 1e-4);
    assert_float_equal(c[4], 16.58087, 1e-4);
    assert_float_equal(c[5], 45.68461, 1e-4);
    sq25_field_destroy(f);
    f = read_frame(ctx, RV, 24);
    assert_int_equal(sq25_field_valid_time(f), 1666076400 + 120 * 60);
    assert_float_equal(at(f, 555, 736), 4.73 * 12, 1e-3);
    sq25_field_destroy(f);
    assert_int_equal(sq25_read_field_frame(ctx, test_data_path(RV), 25, &f), SQ25_ERR_RANGE);
    /* RE and RQ: one lead per file, VS 5 (WGS84) on the 900 x 900 grid */
    f = read_frame(ctx, RQ, 0);
    assert_int_equal(sq25_field_valid_time(f), 1666076400 + 60 * 60);
    assert_float_equal(at(f, 454, 611), 13.5, 1e-4);
    assert_float_equal(at(f, 450, 450), 1.5, 1e-5);
    sq25_field_destroy(f);
    f = read_frame(ctx, RE, 0);
    assert_int_equal(sq25_field_valid_time(f), 1666076400 + 5 * 60);
    assert_float_equal(at(f, 441, 640), 0.944, 1e-5);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

/* Damaged inputs: cut short, flipped bytes, an empty gzip: a code and a message, no crash. */
static void test_bad_products(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    FILE *in = fopen(test_data_path(RE), "rb");
    assert_non_null(in);
    unsigned char buf[30000];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    char path[600];
    snprintf(path, sizeof path, "%s/cut.gz", test_tmpdir());
    FILE *out = fopen(path, "wb");
    fwrite(buf, 1, n / 2, out);
    fclose(out);
    sq25_field *f = NULL;
    assert_int_equal(sq25_read_field(ctx, path, &f), SQ25_ERR_UNPACK);
    assert_non_null(strstr(sq25_errmsg(ctx), "cut.gz"));
    assert_null(f);
    const char *hdr = test_write_file("short.bin",
                                      "RW030950100000814BY1620130VS 3SW   2.13.1PR E-01INT  60GP"
                                      " 900x 900MS 00\003\001\002");
    assert_int_equal(sq25_read_field(ctx, hdr, &f), SQ25_ERR_FILE_TRUNCATED);
    const char *unknown = test_write_file("odd.bin",
                                          "RW030950100000814BY1620130VS 3QQ   2.13.1\003");
    assert_int_equal(sq25_read_field(ctx, unknown, &f), SQ25_ERR_BAD_METADATA);
    const char *grid = test_write_file("grid.bin",
                                       "RW030950100000814BY1620130VS 3PR E-01INT  60GP 777x 777\003");
    assert_int_equal(sq25_read_field(ctx, grid, &f), SQ25_ERR_UNSUPPORTED);
    sq25_ctx_destroy(ctx);
}

/* The ESRI ASCII day of RW (../shared only; 1.5 MB): 24 hourly grids in one tar.gz. Values
 * from numpy.loadtxt(RW_20221018-1250.asc, skiprows=6): max 197 (0.1 mm) at row 277, col 881
 * (first text row = north), 128779 cells at NODATA_value -1, (450, 450) = 0. */
static void test_esri_ascii_day(void **state)
{
    (void)state;
    const char *path = test_shared_path("radar/dwd_radolan/asc/RW-20221018.tar.gz");
    if (!path) {
        printf("test_esri_ascii_day: skipped, ../shared/data is not here\n");
        return;
    }
    sq25_ctx *ctx = sq25_ctx_create();
    int count = 0, format = 0;
    assert_int_equal(sq25_file_frame_count(ctx, path, &count), SQ25_OK);
    assert_int_equal(count, 24);
    assert_int_equal(sq25_file_detect(ctx, path, &format), SQ25_OK);
    assert_int_equal(format, SQ25_FORMAT_ESRI_ASCII);
    sq25_field *f = NULL;
    assert_int_equal(sq25_read_field_frame(ctx, path, 12, &f), SQ25_OK); /* RW_20221018-1250 */
    assert_int_equal(sq25_field_valid_time(f), 1666097400);           /* 2022-10-18T12:50Z */
    assert_float_equal(at(f, 277, 881), 19.7, 1e-4);
    assert_float_equal(at(f, 450, 450), 0.0, 0);
    assert_int_equal(count_nan(f), 128779);
    assert_int_equal(sq25_field_accumulation_s(f), 3600);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

/* Every allocation of a read failing in turn (RE: gzip; RV: bzip2 + tar, frame 3; the OpenMRG
 * CF grid): SQ25_ERR_NOMEM or success, never a leak (the allocator counts live blocks). */
static void failing_reads(const char *rel, int index)
{
    int failures = 0;
    for (long n = 1; n < 400; n++) {
        test_alloc_state st = {.fail_at = n};
        sq25_ctx *ctx = test_ctx_failing(&st);
        if (!ctx) {
            assert_int_equal(st.live, 0);
            continue;
        }
        sq25_field *f = NULL;
        int rc = sq25_read_field_frame(ctx, test_data_path(rel), index, &f);
        if (rc != SQ25_OK) {
            if (rc != SQ25_ERR_NOMEM) printf("%s at %ld: %s\n", rel, n, sq25_errmsg(ctx));
            assert_int_equal(rc, SQ25_ERR_NOMEM);
            assert_null(f);
            failures++;
        }
        sq25_field_destroy(f);
        sq25_ctx_destroy(ctx);
        assert_int_equal(st.live, 0);
        if (st.calls < n) break;
    }
    assert_true(failures >= 2);
}

static void test_allocation_failures(void **state)
{
    (void)state;
    failing_reads(RE, 0);
    failing_reads(RV, 3);
    failing_reads("sensors/openmrg_20150725_2h/openmrg_rad_5min_2h.nc", 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ry_amounts_and_grid), cmocka_unit_test(test_rx_reflectivity_zr),
        cmocka_unit_test(test_rw_hourly),           cmocka_unit_test(test_radvor_leads),
        cmocka_unit_test(test_bad_products),        cmocka_unit_test(test_esri_ascii_day),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
