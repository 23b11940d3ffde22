/* test_io_cf_conventions.c -- CF-1.x forms that netCDF-C (ncgen -k nc4, Debian netcdf-bin) and
 * netCDF4-python write: variable-length UTF-8 string attributes (NC_STRING), time forms,
 * packing, grid mappings. Files are made in the test's temporary folder from CDL written
 * here; every expected number follows from the values in that CDL (stated beside each check). */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *time_text(int64_t t)
{
    static char buf[32];
    sq25_time_format(t, buf, sizeof buf);
    return buf;
}

/* ---- NC_STRING attributes (HDF5 variable-length UTF-8 strings) everywhere ---- */
static const char cdl_strings[] =
    "netcdf strings {\n"
    "dimensions:\n  time = 1 ;\n  y = 2 ;\n  x = 3 ;\n"
    "variables:\n"
    "  double time(time) ;\n    string time:standard_name = \"time\" ;\n"
    "    string time:units = \"minutes since 2015-07-25 12:30:00\" ;\n"
    "  double y(y) ;\n    string y:units = \"km\" ;\n    string y:axis = \"Y\" ;\n"
    "  double x(x) ;\n    string x:units = \"km\" ;\n    string x:axis = \"X\" ;\n"
    "  int crs ;\n    string crs:grid_mapping_name = \"transverse_mercator\" ;\n"
    "    crs:longitude_of_central_meridian = 9. ;\n"
    "    crs:scale_factor_at_central_meridian = 0.9996 ;\n"
    "    crs:latitude_of_projection_origin = 0. ;\n    crs:false_easting = 500. ;\n"
    "  float pr(time, y, x) ;\n    string pr:units = \"mm h-1\" ;\n"
    "    string pr:grid_mapping = \"crs\" ;\n"
    "  string :Conventions = \"CF-1.8\" ;\n  string :institution = \"Zürich Ümlaut test\" ;\n"
    "data:\n  time = 35 ;\n  y = 5, 3 ;\n  x = 1, 3, 5 ;\n  pr = 1, 2, 3, 4, 5, 6 ;\n}\n";

static void test_nc_string_attributes(void **state)
{
    (void)state;
    const char *path = test_ncgen("strings", cdl_strings);
    if (!path) return;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = NULL;
    assert_int_equal(sq25_read_field(ctx, path, &f), SQ25_OK);
    /* Every one of these comes from a string attribute: Conventions, institution (UTF-8
     * bytes kept as they are), units "km" (x 1000 m), axis, grid_mapping, time units. */
    assert_string_equal(sq25_field_meta(f, SQ25_META_FORMAT), "CF-1.8");
    assert_string_equal(sq25_field_meta(f, SQ25_META_PRODUCER), "Zürich Ümlaut test");
    double gt[6];
    sq25_field_geotransform(f, gt);
    assert_float_equal(gt[0], 0.0, 1e-9);    /* x centres 1,3,5 km, 2 km cells: edge 0 */
    assert_float_equal(gt[1], 2000.0, 1e-9);
    assert_float_equal(gt[3], 6000.0, 1e-9); /* y centres 5,3 km: top edge 6 km */
    assert_non_null(strstr(sq25_field_projdef(f), "+proj=tmerc"));
    assert_non_null(strstr(sq25_field_projdef(f), "+x_0=500000")); /* 500 km false easting */
    /* 12:30 + 35 minutes */
    assert_string_equal(time_text(sq25_field_valid_time(f)), "2015-07-25T13:05:00Z");
    assert_float_equal(sq25_field_data(f)[5], 6.0, 1e-6);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

/* ---- a GDAL GeoTransform and a global PROJ string only (no x/y variables, no
 * grid_mapping attribute); time bounds in hours since a date with a +01:00 offset;
 * packed int64 with scale, offset, _FillValue and valid_range ---- */
static const char cdl_bounds[] =
    "netcdf bounds {\n"
    "dimensions:\n  time = 2 ;\n  nv = 2 ;\n  y = 2 ;\n  x = 2 ;\n"
    "variables:\n"
    "  double time(time) ;\n    time:standard_name = \"time\" ;\n"
    "    time:units = \"hours since 2014-08-10 21:00:00+01:00\" ;\n"
    "    time:calendar = \"standard\" ;\n    time:bounds = \"time_bnds\" ;\n"
    "  double time_bnds(time, nv) ;\n"
    "  int crs ;\n    crs:GeoTransform = \"1000 500 0 9000 0 -500\" ;\n"
    "    crs:long_name = \"CRS definition\" ;\n    crs:spatial_ref = \"\" ;\n"
    "  int64 acc(time, y, x) ;\n    acc:units = \"kg m-2\" ;\n"
    "    acc:scale_factor = 0.01 ;\n    acc:add_offset = 1. ;\n"
    "    acc:_FillValue = -9223372036854775806L ;\n"
    "    acc:valid_range = 0L, 100000L ;\n"
    "  :proj_string = \"+proj=utm +zone=32 +ellps=WGS84\" ;\n"
    "data:\n  time = 0, 1 ;\n  time_bnds = -0.25, 0, 0.75, 1 ;\n"
    "  acc = 100, 200, _, 300000, 400, 500, 600, 700 ;\n}\n";

static void test_bounds_geotransform_int64(void **state)
{
    (void)state;
    const char *path = test_ncgen("bounds", cdl_bounds);
    if (!path) return;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *a = NULL, *b = NULL;
    assert_int_equal(sq25_read_field_frame(ctx, path, 0, &a), SQ25_OK);
    assert_int_equal(sq25_read_field_frame(ctx, path, 1, &b), SQ25_OK);
    /* bounds (-0.25 h, 0 h]: 15 min ending at 21:00+01:00 = 20:00Z; frame 1 ends 21:00Z */
    assert_string_equal(time_text(sq25_field_valid_time(a)), "2014-08-10T20:00:00Z");
    assert_string_equal(time_text(sq25_field_valid_time(b)), "2014-08-10T21:00:00Z");
    assert_int_equal(sq25_field_accumulation_s(a), 900);
    assert_int_equal(sq25_field_accumulation_s(b), 900);
    /* kg m-2 over 15 min: (0.01 raw + 1) * 4 mm/h; fill and the raw 300000 beyond
     * valid_range are NaN */
    const float *d = sq25_field_data(a);
    assert_float_equal(d[0], (0.01 * 100 + 1) * 4, 1e-5);
    assert_float_equal(d[1], (0.01 * 200 + 1) * 4, 1e-5);
    assert_true(isnan(d[2]));
    assert_true(isnan(d[3]));
    assert_float_equal(sq25_field_data(b)[3], (0.01 * 700 + 1) * 4, 1e-5);
    double gt[6];
    sq25_field_geotransform(a, gt);
    const double expected[6] = {1000, 500, 0, 9000, 0, -500};
    for (int k = 0; k < 6; k++) assert_float_equal(gt[k], expected[k], 1e-9);
    assert_string_equal(sq25_field_projdef(a), "+proj=utm +zone=32 +ellps=WGS84");
    sq25_field_destroy(a);
    sq25_field_destroy(b);
    sq25_ctx_destroy(ctx);
}

/* ---- times that must be refused with a clear message ---- */
static const char cdl_bad_time_head[] =
    "netcdf badtime {\n"
    "dimensions:\n  y = 2 ;\n  x = 2 ;\n  nv = 2 ;\n"
    "variables:\n"
    "  double y(y) ;\n    y:units = \"m\" ;\n  double x(x) ;\n    x:units = \"m\" ;\n"
    "  double t ;\n    t:standard_name = \"time\" ;\n";

static int64_t last_valid_time; /* of the last field read_with_time read */

static int read_with_time(const char *name, const char *time_attrs, const char *time_value,
                          const char *rain_attrs, char *msg, size_t cap)
{
    char cdl[2048];
    snprintf(cdl, sizeof cdl,
             "%s%s  float pr(y, x) ;\n%s"
             "  :proj_string = \"+proj=utm +zone=32 +ellps=WGS84\" ;\n"
             "data:\n  y = 1, 0 ;\n  x = 0, 1 ;\n%s  pr = 1, 2, 3, 4 ;\n}\n",
             cdl_bad_time_head, time_attrs, rain_attrs, time_value);
    const char *path = test_ncgen(name, cdl);
    if (!path) return 1;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = NULL;
    int rc = sq25_read_field(ctx, path, &f);
    snprintf(msg, cap, "%s", sq25_errmsg(ctx));
    last_valid_time = f ? sq25_field_valid_time(f) : 0;
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
    return rc;
}

static void test_time_refusals(void **state)
{
    (void)state;
    char msg[600];
    const char *rate = "    pr:units = \"mm h-1\" ;\n";
    /* 1e300 seconds is no date */
    int rc = read_with_time("huge", "    t:units = \"seconds since 1970-01-01\" ;\n",
                            "  t = 1e300 ;\n", rate, msg, sizeof msg);
    if (rc == 1) return; /* ncgen missing */
    assert_int_equal(rc, SQ25_ERR_BAD_TIME);
    assert_non_null(strstr(msg, "out of range"));
    /* a bounds interval of 1e9 s (31 years; 1e30 s is already no date) */
    rc = read_with_time("wide",
                        "    t:units = \"seconds since 1970-01-01\" ;\n"
                        "    t:bounds = \"tb\" ;\n  double tb(nv) ;\n",
                        "  t = 0 ;\n  tb = -1e9, 0 ;\n", rate, msg, sizeof msg);
    assert_int_equal(rc, SQ25_ERR_BAD_TIME);
    assert_non_null(strstr(msg, "interval"));
    /* a calendar without a Gregorian year */
    rc = read_with_time("noleap",
                        "    t:units = \"days since 2000-01-01\" ;\n"
                        "    t:calendar = \"noleap\" ;\n",
                        "  t = 10 ;\n", rate, msg, sizeof msg);
    assert_int_equal(rc, SQ25_ERR_BAD_TIME);
    assert_non_null(strstr(msg, "noleap"));
    /* an amount whose cell_methods interval is 1e30 s */
    rc = read_with_time("interval", "    t:units = \"seconds since 1970-01-01\" ;\n",
                        "  t = 0 ;\n",
                        "    pr:units = \"mm\" ;\n"
                        "    pr:cell_methods = \"time: sum (interval: 1e30 s)\" ;\n",
                        msg, sizeof msg);
    assert_int_equal(rc, SQ25_ERR_BAD_QUANTITY); /* duration refused: no usable interval */
    assert_non_null(strstr(msg, "interval"));
    /* units that are not "<unit> since <date>": no time at all, never 1970-01-01 */
    rc = read_with_time("nosince", "    t:units = \"seconds\" ;\n", "  t = 0 ;\n", rate, msg,
                        sizeof msg);
    assert_int_equal(rc, SQ25_ERR_BAD_TIME);
    assert_non_null(strstr(msg, "no time"));
    /* the same file with a time given by the caller, said in the metadata */
    {
        char path[600];
        snprintf(path, sizeof path, "%s/nosince.nc", test_tmpdir());
        sq25_ctx *ctx = sq25_ctx_create();
        sq25_ctx_set_assumed_time(ctx, 1, 1666076400);
        sq25_field *f = NULL;
        assert_int_equal(sq25_read_field(ctx, path, &f), SQ25_OK);
        assert_int_equal(sq25_field_valid_time(f), 1666076400);
        assert_non_null(strstr(sq25_field_meta(f, SQ25_META_CONVERSION), "assumed by the caller"));
        sq25_field_destroy(f);
        sq25_ctx_destroy(ctx);
    }
    /* a scalar time named through "coordinates", minutes since a date with fractional
     * seconds and a Z: 5 min after 23:59:30.5 is 00:04:30.5, rounded to 00:04:31 */
    rc = read_with_time("coords", "    t:units = \"minutes since 1999-12-31T23:59:30.5Z\" ;\n",
                        "  t = 5 ;\n", "    pr:units = \"mm h-1\" ;\n    pr:coordinates = \"t\" ;\n",
                        msg, sizeof msg);
    assert_int_equal(rc, SQ25_OK);
    assert_string_equal(time_text(last_valid_time), "2000-01-01T00:04:31Z");
}

/* ---- intervals and values out of range (issue 11: range-check before converting) ----
 * A 5-minute amount written by ncgen; each case changes one attribute or value to an absurd
 * one. Before the checks, bounds of 1e-300 s gave "accumulation 0 s" and every cell +inf
 * mm/h (1 mm * 3600 / 1e-300 overflows float32), and a scale_factor of 1e300 also gave +inf. */
static void test_interval_and_value_ranges(void **state)
{
    (void)state;
    char msg[600];
    const char *bounds = "    t:units = \"seconds since 1970-01-01\" ;\n"
                         "    t:bounds = \"tb\" ;\n  double tb(nv) ;\n";
    const char *mm = "    pr:units = \"mm\" ;\n";
    /* bounds (-1e-300 s, 0]: an interval below one second is refused, naming the file,
     * the bounds variable and the value */
    int rc = read_with_time("tiny_bounds", bounds, "  t = 0 ;\n  tb = -1e-300, 0 ;\n", mm, msg,
                            sizeof msg);
    if (rc == 1) return; /* ncgen missing */
    assert_int_equal(rc, SQ25_ERR_BAD_TIME);
    assert_non_null(strstr(msg, "tiny_bounds.nc"));
    assert_non_null(strstr(msg, "tb"));
    assert_non_null(strstr(msg, "1e-300 s"));
    /* a numeric accumulation attribute of 1e-300 s on an amount without bounds */
    rc = read_with_time("tiny_attr", "    t:units = \"seconds since 1970-01-01\" ;\n",
                        "  t = 0 ;\n", "    pr:units = \"mm\" ;\n    pr:accumulation = 1e-300 ;\n",
                        msg, sizeof msg);
    assert_int_equal(rc, SQ25_ERR_BAD_TIME);
    assert_non_null(strstr(msg, "tiny_attr.nc"));
    assert_non_null(strstr(msg, "1e-300 s"));
    assert_non_null(strstr(msg, "between 1 s and one year"));
    /* a numeric accumulation of 2^31 s (68 years: more than an int holds) */
    rc = read_with_time("huge_attr", "    t:units = \"seconds since 1970-01-01\" ;\n",
                        "  t = 0 ;\n",
                        "    pr:units = \"mm\" ;\n    pr:accumulation = 2147483648. ;\n", msg,
                        sizeof msg);
    assert_int_equal(rc, SQ25_ERR_BAD_TIME);
    assert_non_null(strstr(msg, "2.14748e+09 s"));
    /* "interval: 0.001 s" in cell_methods is no usable interval (as 1e30 s is not) */
    rc = read_with_time("ms_interval", "    t:units = \"seconds since 1970-01-01\" ;\n",
                        "  t = 0 ;\n",
                        "    pr:units = \"mm\" ;\n"
                        "    pr:cell_methods = \"time: sum (interval: 0.001 s)\" ;\n",
                        msg, sizeof msg);
    assert_int_equal(rc, SQ25_ERR_BAD_QUANTITY);
    /* the shortest accepted interval, 1 s: 1 mm in 1 s is 3600 mm/h, accumulation 1 s */
    rc = read_with_time("one_second", bounds, "  t = 0 ;\n  tb = -1, 0 ;\n", mm, msg,
                        sizeof msg);
    assert_int_equal(rc, SQ25_OK);
    /* A scale_factor of 1e300 over a 300 s window: every cell would be (1..4) * 1e300 *
     * 3600 / 300 mm/h, beyond float32: nodata (NaN), never +inf. */
    {
        char path[600];
        rc = read_with_time("huge_scale", bounds, "  t = 0 ;\n  tb = -300, 0 ;\n",
                            "    pr:units = \"mm\" ;\n    pr:scale_factor = 1e300 ;\n", msg,
                            sizeof msg);
        assert_int_equal(rc, SQ25_OK);
        snprintf(path, sizeof path, "%s/huge_scale.nc", test_tmpdir());
        sq25_ctx *ctx = sq25_ctx_create();
        sq25_field *f = NULL;
        assert_int_equal(sq25_read_field(ctx, path, &f), SQ25_OK);
        assert_int_equal(sq25_field_accumulation_s(f), 300);
        for (int k = 0; k < 4; k++) assert_true(isnan(sq25_field_data(f)[k]));
        sq25_field_destroy(f);
        /* the 1 s file: 1 mm in 1 s is 3600 mm/h */
        snprintf(path, sizeof path, "%s/one_second.nc", test_tmpdir());
        assert_int_equal(sq25_read_field(ctx, path, &f), SQ25_OK);
        assert_int_equal(sq25_field_accumulation_s(f), 1);
        assert_float_equal(sq25_field_data(f)[0], 3600.0, 1e-3);
        sq25_field_destroy(f);
        sq25_ctx_destroy(ctx);
    }
}

/* ---- _Unsigned bytes, netCDF's default fill, missing_value, a start-time/valid-time pair,
 * a grid_mapping in the extended "crs: x y" form, x/y in km ---- */
static const char cdl_unsigned[] =
    "netcdf unsigned {\n"
    "dimensions:\n  time = 1 ;\n  y = 2 ;\n  x = 3 ;\n"
    "variables:\n"
    "  double time(time) ;\n    time:standard_name = \"time\" ;\n"
    "    time:units = \"minutes since 2022-10-18 07:00\" ;\n"
    "  double start_time(time) ;\n    start_time:units = \"minutes since 2022-10-18 07:00\" ;\n"
    "  double y(y) ;\n    y:units = \"km\" ;\n    y:standard_name = \"projection_y_coordinate\" ;\n"
    "  double x(x) ;\n    x:units = \"km\" ;\n    x:standard_name = \"projection_x_coordinate\" ;\n"
    "  int crs ;\n    crs:grid_mapping_name = \"polar_stereographic\" ;\n"
    "    crs:straight_vertical_longitude_from_pole = 10. ;\n"
    "    crs:latitude_of_projection_origin = 90. ;\n    crs:standard_parallel = 60. ;\n"
    "    crs:earth_radius = 6370040. ;\n"
    "  byte rr(time, y, x) ;\n    rr:units = \"mm\" ;\n    rr:_Unsigned = \"true\" ;\n"
    "    rr:missing_value = 100b ;\n    rr:scale_factor = 0.5 ;\n"
    "    rr:grid_mapping = \"crs: x y\" ;\n"
    "data:\n  time = 60 ;\n  start_time = 45 ;\n  y = -3800, -3801 ;\n"
    "  x = -100, -99, -98 ;\n  rr = 1, -56, -127, 100, 4, 200 ;\n}\n";

static void test_unsigned_fill_start_pair(void **state)
{
    (void)state;
    const char *path = test_ncgen("unsigned", cdl_unsigned);
    if (!path) return;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = NULL;
    int rc = sq25_read_field(ctx, path, &f);
    if (rc) printf("%s\n", sq25_errmsg(ctx));
    assert_int_equal(rc, SQ25_OK);
    /* interval: start 07:45 to valid 08:00 = 15 min, so mm x 4 = mm/h; raw bytes unsigned:
     * 1 -> 0.5 mm; -56 -> 200 -> 100 mm; -127 is netCDF's default byte fill (NaN);
     * 100 is missing_value (NaN); 4 -> 2 mm; 200 (stored as -56 by ncgen) -> 100 mm */
    assert_string_equal(time_text(sq25_field_valid_time(f)), "2022-10-18T08:00:00Z");
    assert_int_equal(sq25_field_accumulation_s(f), 900);
    const float *d = sq25_field_data(f);
    assert_float_equal(d[0], 0.5 * 4, 1e-6);
    assert_float_equal(d[1], 100.0 * 4, 1e-6);
    assert_true(isnan(d[2]));
    assert_true(isnan(d[3]));
    assert_float_equal(d[4], 2.0 * 4, 1e-6);
    assert_float_equal(d[5], 100.0 * 4, 1e-6);
    double gt[6];
    sq25_field_geotransform(f, gt);
    assert_float_equal(gt[0], -100500.0, 1e-6); /* km centres, 1 km cells */
    assert_float_equal(gt[3], -3799500.0, 1e-6);
    assert_non_null(strstr(sq25_field_projdef(f), "+R=6370040"));
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nc_string_attributes),
        cmocka_unit_test(test_bounds_geotransform_int64),
        cmocka_unit_test(test_time_refusals),
        cmocka_unit_test(test_interval_and_value_ranges),
        cmocka_unit_test(test_unsigned_fill_start_pair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
