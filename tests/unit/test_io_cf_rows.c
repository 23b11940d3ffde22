/* test_io_cf_rows.c -- the CF reader's row order when 2-D latitude/longitude disagree with
 * the y axis or the GeoTransform (lib/io_cf_grid.c, check_latlon): the rows follow the 2-D
 * lat/lon when the placement by y is more than a row off at a corner and the rows taken in
 * the opposite order are within half a row at every corner; any other disagreement is
 * reported and x/y are kept. The real case (OpenMRG's radar file) is in test_io_opensense.c;
 * here synthetic files written by ncgen (netCDF-C) from CDL made below.
 *
 * Every file is the same geographic grid of 4 rows and 3 columns, 0.1 degree cells: column
 * centres at 10.05, 10.15, 10.25 degrees east, row centres at 50.35 (north), 50.25, 50.15,
 * 50.05 degrees north, so the GeoTransform is (10.0, 0.1, 0, 50.4, 0, -0.1). The rain values
 * in file order are row j, column i -> 1 + 3 j + i mm/h (1, 2, 3 in the file's first row;
 * 10, 11, 12 in its last). Only the placement of the rows and the 2-D lat/lon change between
 * the cases; the expected first and last output rows (the output's row 0 is the north) and
 * the distances in the conversion text follow by hand from the lat/lon given, as stated at
 * each case. */
#include "support.h"

#include <stdio.h>
#include <string.h>

#define NY 4
#define NX 3

/* 2-D lat/lon of the file: lat[j][i] = lat0 + lat_row * j + lat_col * i (degrees north),
 * lon[j][i] = lon0 + lon_row * j + lon_col * i (degrees east). */
typedef struct {
    double lat0, lat_row, lat_col, lon0, lon_row, lon_col;
} latlon_plan;

/* The y axis as in the file: north first (50.35 .. 50.05) or south first. */
static const char y_north_first[] = "50.35, 50.25, 50.15, 50.05";
static const char y_south_first[] = "50.05, 50.15, 50.25, 50.35";

/* 1-D x/y coordinates (degrees, no grid mapping: WGS84 longitude/latitude). */
static const char xy_vars[] =
    "  double x(x) ;\n    x:units = \"degrees_east\" ;\n    x:axis = \"X\" ;\n"
    "  double y(y) ;\n    y:units = \"degrees_north\" ;\n    y:axis = \"Y\" ;\n";
/* No x/y: a latitude_longitude grid mapping with a north-up GDAL GeoTransform. */
static const char gdal_vars[] =
    "  int crs ;\n    crs:grid_mapping_name = \"latitude_longitude\" ;\n"
    "    crs:semi_major_axis = 6378137. ;\n    crs:inverse_flattening = 298.257223563 ;\n"
    "    crs:GeoTransform = \"10 0.1 0 50.4 0 -0.1\" ;\n";

static void append_values(char *buf, size_t cap, const char *name, double v0, double d_row,
                          double d_col)
{
    size_t used = strlen(buf);
    used += (size_t)snprintf(buf + used, cap - used, "  %s = ", name);
    for (int j = 0; j < NY; j++)
        for (int i = 0; i < NX; i++)
            used += (size_t)snprintf(buf + used, cap - used, "%.6f%s",
                                     v0 + d_row * j + d_col * i,
                                     j == NY - 1 && i == NX - 1 ? " ;\n" : ", ");
}

/* The CF file of one case: y = NULL gives the GeoTransform form. Returns the .nc path or NULL
 * when ncgen is missing. */
static const char *write_case(const char *name, const char *y, const latlon_plan *ll)
{
    static char cdl[4096];
    snprintf(cdl, sizeof cdl,
             "netcdf %s {\n"
             "dimensions:\n  time = 1 ;\n  y = %d ;\n  x = %d ;\n"
             "variables:\n"
             "  double time(time) ;\n    time:standard_name = \"time\" ;\n"
             "    time:units = \"minutes since 2020-06-01 12:00:00\" ;\n"
             "%s"
             "  double lat(y, x) ;\n    lat:standard_name = \"latitude\" ;\n"
             "    lat:units = \"degrees_north\" ;\n"
             "  double lon(y, x) ;\n    lon:standard_name = \"longitude\" ;\n"
             "    lon:units = \"degrees_east\" ;\n"
             "  float pr(time, y, x) ;\n    pr:units = \"mm h-1\" ;\n%s"
             "  :Conventions = \"CF-1.8\" ;\n"
             "data:\n  time = 0 ;\n",
             name, NY, NX, y ? xy_vars : gdal_vars,
             y ? "" : "    pr:grid_mapping = \"crs\" ;\n");
    size_t used = strlen(cdl);
    if (y) snprintf(cdl + used, sizeof cdl - used, "  x = 10.05, 10.15, 10.25 ;\n  y = %s ;\n", y);
    append_values(cdl, sizeof cdl, "lat", ll->lat0, ll->lat_row, ll->lat_col);
    append_values(cdl, sizeof cdl, "lon", ll->lon0, ll->lon_row, ll->lon_col);
    used = strlen(cdl);
    snprintf(cdl + used, sizeof cdl - used, "  pr = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 ;\n}\n");
    return test_ncgen(name, cdl);
}

/* Read the case's only frame and check: output rows 0 (north) and NY - 1 start with the
 * values first_north and first_south (the file rows they come from), the grid is the one of
 * the header, and the conversion text holds `said`. */
static void check_case(const char *name, const char *y, const latlon_plan *ll,
                       float first_north, float first_south, const char *said)
{
    const char *path = write_case(name, y, ll);
    if (!path) return;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = NULL;
    int rc = sq25_read_field_frame(ctx, path, 0, &f);
    if (rc) printf("%s: %s\n", name, sq25_errmsg(ctx));
    assert_int_equal(rc, SQ25_OK);
    assert_int_equal(sq25_field_width(f), NX);
    assert_int_equal(sq25_field_height(f), NY);
    const float *d = sq25_field_data(f);
    const char *conversion = sq25_field_meta(f, SQ25_META_CONVERSION);
    if (!strstr(conversion, said) || d[0] != first_north || d[(NY - 1) * NX] != first_south)
        printf("%s: rows start %g .. %g, conversion \"%s\"\n", name, d[0], d[(NY - 1) * NX],
               conversion);
    /* a row moves whole: its three values stay in column order */
    assert_float_equal(d[0], first_north, 0);
    assert_float_equal(d[1], first_north + 1, 0);
    assert_float_equal(d[2], first_north + 2, 0);
    assert_float_equal(d[(NY - 1) * NX], first_south, 0);
    assert_float_equal(d[(NY - 1) * NX + 2], first_south + 2, 0);
    double gt[6];
    sq25_field_geotransform(f, gt);
    const double expected[6] = {10.0, 0.1, 0, 50.4, 0, -0.1};
    for (int k = 0; k < 6; k++) assert_float_equal(gt[k], expected[k], 1e-9);
    assert_non_null(strstr(conversion, said));
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

/* lat/lon of the cells as the file's rows are written (row j at 50.35 - 0.1 j) and in the
 * opposite order (row j at 50.05 + 0.1 j); lon = 10.05 + 0.1 i in both. */
static const latlon_plan north_first = {50.35, -0.1, 0, 10.05, 0, 0.1};
static const latlon_plan south_first = {50.05, 0.1, 0, 10.05, 0, 0.1};

/* (a) y, or the GeoTransform, north-up; the 2-D latitudes put the file's row 0 at 50.05 (the
 * south): 3 rows off at every corner as y says (|50.05 - 50.35| / 0.1), exact with the rows
 * reversed. The output's north row is the file's last (10, 11, 12), its south row the first. */
static void test_reversed_rows_follow_latlon(void **state)
{
    (void)state;
    const char *said = "2-D lat/lon DISAGREE with the y axis by 3.0 rows and agree (within "
                       "0.00 row, 0.0 columns) with the rows in the opposite order: rows "
                       "follow the 2-D lat/lon";
    check_case("rows_y_north", y_north_first, &south_first, 10, 1, said);
    check_case("rows_gdal_north", NULL, &south_first, 10, 1, said);
    /* y south-first (the reader would turn the rows north-up) and latitudes north-first
     * (row 0 at 50.35): the reversal is undone, the file's row 0 stays the north */
    check_case("rows_y_south", y_south_first, &north_first, 1, 10, said);
    /* reversed and 0.04 degree (0.4 row) north of the cell centres: within half a row. As
     * read, row 0 at 50.09 against 50.35 (2.6 rows) and row 3 at 50.39 against 50.05 (3.4) */
    const latlon_plan near = {50.09, 0.1, 0, 10.05, 0, 0.1};
    check_case("rows_within_half", y_north_first, &near, 10, 1,
               "DISAGREE with the y axis by 3.4 rows and agree (within 0.40 row, 0.0 columns)");
}

/* (b) the 2-D lat/lon agree with y (north-first in the file, and south-first, which the
 * reader turns north-up): nothing flips; the corner distances are 0. */
static void test_agreeing_latlon_keep_rows(void **state)
{
    (void)state;
    const char *said = "2-D lat/lon agree (corner cells within 0.00 cell)";
    check_case("agree_north", y_north_first, &north_first, 1, 10, said);
    check_case("agree_south", y_south_first, &south_first, 10, 1, said);
    check_case("agree_gdal", NULL, &north_first, 1, 10, said);
}

/* (c) other disagreements: reported, x/y kept (the file's row 0, north-first by y, stays the
 * output's north row). */
static void test_other_disagreements_keep_xy(void **state)
{
    (void)state;
    /* every row 0.3 degree south of its centre (3 rows, not reversed): reversed, row 0 would
     * be at 50.05 (it is) but row 3 at 50.35 (it is at 49.75: 6 rows); as read 3.0 rows */
    const latlon_plan shifted = {50.05, -0.1, 0, 10.05, 0, 0.1};
    check_case("shift_3_rows", y_north_first, &shifted, 1, 10,
               "2-D lat/lon DISAGREE with the grid mapping by 3.0 cells at a corner; x/y and "
               "the grid mapping used");
    /* transposed: latitude falls along the columns (50.35 - 0.1 i), longitude rises down the
     * rows (10.05 + 0.1 j). As read, corner (row 3, column 0) lies at 10.35 E 50.35 N against
     * 10.05 E 50.05 N: 3 columns and 3 rows; reversed, corner (0, 0) at 50.35 against 50.05 */
    const latlon_plan transposed = {50.35, 0, -0.1, 10.05, 0.1, 0};
    check_case("transposed", y_north_first, &transposed, 1, 10,
               "DISAGREE with the grid mapping by 3.0 cells at a corner");
    /* reversed but 0.06 degree (0.6 row) off: more than half a row, so not followed. As
     * read, row 0 at 50.11 against 50.35 (2.4 rows), row 3 at 50.41 against 50.05 (3.6) */
    const latlon_plan beyond = {50.11, 0.1, 0, 10.05, 0, 0.1};
    check_case("rows_beyond_half", y_north_first, &beyond, 1, 10,
               "DISAGREE with the grid mapping by 3.6 cells at a corner");
    check_case("rows_beyond_half_gdal", NULL, &beyond, 1, 10,
               "DISAGREE with the grid mapping by 3.6 cells at a corner");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reversed_rows_follow_latlon),
        cmocka_unit_test(test_agreeing_latlon_keep_rows),
        cmocka_unit_test(test_other_disagreements_keep_xy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
