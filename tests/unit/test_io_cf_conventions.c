/* test_io_cf_conventions.c -- CF-1.x forms that netCDF-C (ncgen -k nc4, Debian netcdf-bin) and
 * netCDF4-python write: variable-length UTF-8 string attributes (NC_STRING), time forms,
 * packing, grid mappings. Files are made in the test's temporary folder from CDL written
 * here; every expected number follows from the values in that CDL (stated beside each check). */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Write cdl to NAME.cdl and run ncgen -k nc4 on it; returns the .nc path (static buffer) or
 * NULL when ncgen is missing (the test then says it skipped). */
static const char *ncgen(const char *name, const char *cdl)
{
    static char nc[600];
    if (system("command -v ncgen >/dev/null 2>&1") != 0) {
        printf("%s: skipped, ncgen (Debian netcdf-bin) is not installed\n", name);
        return NULL;
    }
    char cdl_path[600], cmd[1400];
    snprintf(cdl_path, sizeof cdl_path, "%s/%s.cdl", test_tmpdir(), name);
    snprintf(nc, sizeof nc, "%s/%s.nc", test_tmpdir(), name);
    FILE *f = fopen(cdl_path, "w");
    assert_non_null(f);
    fputs(cdl, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "ncgen -k nc4 -o '%s' '%s'", nc, cdl_path);
    assert_int_equal(system(cmd), 0);
    return nc;
}

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
    const char *path = ncgen("strings", cdl_strings);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nc_string_attributes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
