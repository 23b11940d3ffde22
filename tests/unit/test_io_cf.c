/* test_io_cf.c -- the CF-1.x netCDF-4 reader on files built here with the HDF5 C API (no CF
 * rain grid is in the shared data). Every expected number is analytic: it follows from the
 * values and attributes written by the test itself. */
#include "support.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *tmp_file(const char *name)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", test_tmpdir(), name);
    return buf;
}

/* ---- a tiny netCDF-4-like writer ---- */
static void attr_string(hid_t loc, const char *name, const char *value)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(value) + 1);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0 && H5Awrite(a, t, value) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
}

static void attr_doubles(hid_t loc, const char *name, hid_t file_type, const double *v, int n)
{
    hsize_t dims[1] = {(hsize_t)n};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t a = H5Acreate2(loc, name, file_type, sp, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0 && H5Awrite(a, H5T_NATIVE_DOUBLE, v) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
}

static void attr_double(hid_t loc, const char *name, hid_t file_type, double v)
{
    attr_doubles(loc, name, file_type, &v, 1);
}

/* A dataset of rank 0..3 (rank 0: a scalar grid-mapping variable) from doubles; the caller
 * closes the returned id after adding attributes. */
static hid_t variable(hid_t fid, const char *name, hid_t file_type, int rank,
                      const hsize_t *dims, const double *values)
{
    hid_t sp = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t d = H5Dcreate2(fid, name, file_type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(d >= 0);
    if (values)
        assert_true(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) >= 0);
    H5Sclose(sp);
    return d;
}

static hid_t new_nc4(const char *path)
{
    hid_t fid = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(fid >= 0);
    attr_string(fid, "_NCProperties", "version=2,netcdf=4.9.0,hdf5=1.10.8");
    attr_string(fid, "Conventions", "CF-1.8");
    attr_string(fid, "institution", "25square test");
    return fid;
}

static void coordinate(hid_t fid, const char *name, const char *axis, const char *std,
                       const char *units, const double *v, int n)
{
    hsize_t dims[1] = {(hsize_t)n};
    hid_t d = variable(fid, name, H5T_IEEE_F64LE, 1, dims, v);
    if (axis) attr_string(d, "axis", axis);
    if (std) attr_string(d, "standard_name", std);
    attr_string(d, "units", units);
    H5Dclose(d);
}

/* ---- 3-D amounts, packed int16, y increasing, km coordinates, polar stereographic ---- */
#define NT 3
#define NY 4
#define NX 5
#define FILL (-999)

static double packed(int t, int j, int i) { return 100.0 * t + 10.0 * j + i; }

static void build_3d_file(const char *path)
{
    hid_t fid = new_nc4(path);
    double x[NX], y[NY], t[NT] = {0, 5, 10};
    for (int i = 0; i < NX; i++) x[i] = 100 + i;  /* km */
    for (int j = 0; j < NY; j++) y[j] = 200 + j;  /* km, increasing: row 0 is the south */
    coordinate(fid, "x", "X", "projection_x_coordinate", "km", x, NX);
    coordinate(fid, "y", "Y", "projection_y_coordinate", "km", y, NY);
    coordinate(fid, "time", "T", "time", "minutes since 2021-07-04 16:00:00", t, NT);
    hid_t crs = variable(fid, "crs", H5T_STD_I32LE, 0, NULL, NULL);
    attr_string(crs, "grid_mapping_name", "polar_stereographic");
    attr_double(crs, "straight_vertical_longitude_from_pole", H5T_IEEE_F64LE, 0);
    attr_double(crs, "latitude_of_projection_origin", H5T_IEEE_F64LE, 90);
    attr_double(crs, "standard_parallel", H5T_IEEE_F64LE, 60);
    attr_double(crs, "false_easting", H5T_IEEE_F64LE, 0);
    attr_double(crs, "false_northing", H5T_IEEE_F64LE, 0);
    attr_double(crs, "semi_major_axis", H5T_IEEE_F64LE, 6378137);
    attr_double(crs, "inverse_flattening", H5T_IEEE_F64LE, 298.257223563);
    H5Dclose(crs);
    double v[NT * NY * NX];
    for (int k = 0; k < NT; k++)
        for (int j = 0; j < NY; j++)
            for (int i = 0; i < NX; i++) v[(k * NY + j) * NX + i] = packed(k, j, i);
    v[(1 * NY + 2) * NX + 3] = FILL;
    hsize_t dims[3] = {NT, NY, NX};
    hid_t d = variable(fid, "precip", H5T_STD_I16LE, 3, dims, v);
    attr_string(d, "units", "mm");
    attr_string(d, "grid_mapping", "crs");
    attr_string(d, "standard_name", "precipitation_amount");
    attr_double(d, "scale_factor", H5T_IEEE_F32LE, 0.01);
    attr_double(d, "add_offset", H5T_IEEE_F32LE, 0.5);
    attr_double(d, "_FillValue", H5T_STD_I16LE, FILL);
    H5Dclose(d);
    H5Fclose(fid);
}

static void test_cf_3d_amounts(void **state)
{
    (void)state;
    const char *path = tmp_file("cf3d.nc");
    build_3d_file(path);
    sq25_ctx *ctx = sq25_ctx_create();
    int format = 0, count = 0;
    assert_int_equal(sq25_file_detect(ctx, path, &format), SQ25_OK);
    assert_int_equal(format, SQ25_FORMAT_CF);
    assert_int_equal(sq25_file_frame_count(ctx, path, &count), SQ25_OK);
    assert_int_equal(count, NT);
    sq25_field *f = NULL;
    assert_int_equal(sq25_read_field_frame(ctx, path, 1, &f), SQ25_OK);
    assert_int_equal(sq25_field_width(f), NX);
    assert_int_equal(sq25_field_height(f), NY);
    /* mm per 5 min (the time spacing) = 0.01 * packed + 0.5; mm/h = 12 times that. Row r of
     * the field is file row NY-1-r (y increases in the file). */
    const float *d = sq25_field_data(f);
    for (int r = 0; r < NY; r++)
        for (int c = 0; c < NX; c++) {
            int j = NY - 1 - r;
            if (j == 2 && c == 3) {
                assert_true(isnan(d[r * NX + c])); /* _FillValue */
                continue;
            }
            double expected = (0.01 * packed(1, j, c) + 0.5) * 12.0;
            assert_float_equal(d[r * NX + c], expected, 1e-4);
        }
    /* Cell edges from centres: x 100..104 km -> left edge 99.5 km; top edge 203.5 km. */
    double gt[6];
    sq25_field_geotransform(f, gt);
    assert_float_equal(gt[0], 99500.0, 1e-6);
    assert_float_equal(gt[1], 1000.0, 1e-6);
    assert_float_equal(gt[3], 203500.0, 1e-6);
    assert_float_equal(gt[5], -1000.0, 1e-6);
    char t[32];
    sq25_time_format(sq25_field_valid_time(f), t, sizeof t);
    assert_string_equal(t, "2021-07-04T16:05:00Z");
    assert_int_equal(sq25_field_accumulation_s(f), 300);
    assert_non_null(strstr(sq25_field_projdef(f), "+proj=stere"));
    assert_non_null(strstr(sq25_field_projdef(f), "+lat_ts=60"));
    assert_string_equal(sq25_field_meta(f, SQ25_META_FORMAT), "CF-1.8");
    assert_string_equal(sq25_field_meta(f, SQ25_META_PRODUCER), "25square test");
    sq25_field_destroy(f);
    assert_int_equal(sq25_read_field_frame(ctx, path, NT, &f), SQ25_ERR_RANGE);
    sq25_ctx_destroy(ctx);
}

/* ---- 2-D flux on a lon/lat grid, y decreasing, no time, no interval needed ---- */
static void build_lonlat_flux(const char *path, const char *units, bool with_time)
{
    hid_t fid = new_nc4(path);
    double lon[4] = {4.0, 4.5, 5.0, 5.5}, lat[3] = {53.0, 52.5, 52.0};
    coordinate(fid, "lon", NULL, "longitude", "degrees_east", lon, 4);
    coordinate(fid, "lat", NULL, "latitude", "degrees_north", lat, 3);
    if (with_time) {
        double t0 = 1.0;
        coordinate(fid, "time", NULL, "time", "hours since 2017-09-08", &t0, 1);
    }
    hid_t crs = variable(fid, "crs", H5T_STD_I32LE, 0, NULL, NULL);
    attr_string(crs, "grid_mapping_name", "latitude_longitude");
    H5Dclose(crs);
    double v[12];
    for (int k = 0; k < 12; k++) v[k] = (k + 1) / 3600.0;
    hsize_t dims[2] = {3, 4};
    hid_t d = variable(fid, "pr", H5T_IEEE_F32LE, 2, dims, v);
    attr_string(d, "units", units);
    attr_string(d, "grid_mapping", "crs");
    H5Dclose(d);
    H5Fclose(fid);
}

static void test_cf_lonlat_flux(void **state)
{
    (void)state;
    const char *path = tmp_file("cf-flux.nc");
    build_lonlat_flux(path, "kg m-2 s-1", true);
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = NULL;
    assert_int_equal(sq25_read_field(ctx, path, &f), SQ25_OK);
    /* (k+1)/3600 kg m-2 s-1 = (k+1) mm/h; lat decreases, so the file order is kept. */
    const float *d = sq25_field_data(f);
    for (int k = 0; k < 12; k++) assert_float_equal(d[k], k + 1, 1e-4);
    /* Corners of a lon/lat grid are the cell edges: lon 3.75..5.75, lat 51.75..53.25. */
    double c[8];
    assert_int_equal(sq25_field_corners_lonlat(f, c), SQ25_OK);
    const double expected[8] = {3.75, 53.25, 5.75, 53.25, 5.75, 51.75, 3.75, 51.75};
    for (int k = 0; k < 8; k++) assert_float_equal(c[k], expected[k], 1e-9);
    char t[32];
    sq25_time_format(sq25_field_valid_time(f), t, sizeof t);
    assert_string_equal(t, "2017-09-08T01:00:00Z");
    sq25_field_destroy(f);
    /* An amount ("mm") with no interval anywhere cannot become a rate. */
    const char *amount = tmp_file("cf-amount.nc");
    build_lonlat_flux(amount, "mm", false);
    assert_int_equal(sq25_read_field(ctx, amount, &f), SQ25_ERR_BAD_QUANTITY);
    assert_non_null(strstr(sq25_errmsg(ctx), "interval"));
    /* Units that are not rain. */
    const char *kelvin = tmp_file("cf-kelvin.nc");
    build_lonlat_flux(kelvin, "K", false);
    assert_int_equal(sq25_read_field(ctx, kelvin, &f), SQ25_ERR_BAD_QUANTITY);
    assert_non_null(strstr(sq25_errmsg(ctx), "\"K\""));
    sq25_ctx_destroy(ctx);
}

/* ---- LCC from CF parameters with a cell_methods interval, compared with an explicit
 * proj4 string written in a second file: both give the same corners. ---- */
static void build_lcc(const char *path, bool explicit_proj4)
{
    hid_t fid = new_nc4(path);
    double x[3] = {-1000, 0, 1000}, y[2] = {500, -500};
    coordinate(fid, "x", "X", NULL, "m", x, 3);
    coordinate(fid, "y", "Y", NULL, "m", y, 2);
    hid_t crs = variable(fid, "lambert", H5T_STD_I32LE, 0, NULL, NULL);
    if (explicit_proj4) {
        attr_string(crs, "proj4", "+proj=lcc +lat_1=49.5 +lat_2=51.5 +lat_0=50.5 +lon_0=4.5 "
                                  "+x_0=0 +y_0=0 +ellps=GRS80");
    } else {
        const double sp[2] = {49.5, 51.5};
        attr_string(crs, "grid_mapping_name", "lambert_conformal_conic");
        attr_doubles(crs, "standard_parallel", H5T_IEEE_F64LE, sp, 2);
        attr_double(crs, "latitude_of_projection_origin", H5T_IEEE_F64LE, 50.5);
        attr_double(crs, "longitude_of_central_meridian", H5T_IEEE_F64LE, 4.5);
        attr_double(crs, "semi_major_axis", H5T_IEEE_F64LE, 6378137);
        attr_double(crs, "inverse_flattening", H5T_IEEE_F64LE, 298.257222101);
    }
    H5Dclose(crs);
    /* A scalar time coordinate (rank 0, CF 5.7), found by its standard_name. */
    double t30 = 30;
    hid_t tv = variable(fid, "time", H5T_IEEE_F64LE, 0, NULL, &t30);
    attr_string(tv, "standard_name", "time");
    attr_string(tv, "units", "minutes since 2021-07-04 16:00:00");
    H5Dclose(tv);
    double v[6] = {0, 1, 2, 3, 4, 5};
    hsize_t dims[2] = {2, 3};
    hid_t d = variable(fid, "acc", H5T_IEEE_F64LE, 2, dims, v);
    attr_string(d, "units", "kg m-2");
    attr_string(d, "grid_mapping", "lambert");
    attr_string(d, "cell_methods", "time: sum (interval: 15 minutes)");
    H5Dclose(d);
    H5Fclose(fid);
}

static void test_cf_lcc(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *a = NULL, *b = NULL;
    const char *pa = tmp_file("cf-lcc-params.nc");
    build_lcc(pa, false);
    assert_int_equal(sq25_read_field(ctx, pa, &a), SQ25_OK);
    const char *pb = tmp_file("cf-lcc-proj4.nc");
    build_lcc(pb, true);
    assert_int_equal(sq25_read_field(ctx, pb, &b), SQ25_OK);
    /* kg m-2 over 15 minutes: x4 to mm/h. */
    for (int k = 0; k < 6; k++) assert_float_equal(sq25_field_data(a)[k], 4.0 * k, 1e-9);
    assert_int_equal(sq25_field_accumulation_s(a), 900);
    assert_int_equal(sq25_field_valid_time(a), 1625414400 + 30 * 60); /* 16:00 + 30 min */
    double ca[8], cb[8];
    assert_int_equal(sq25_field_corners_lonlat(a, ca), SQ25_OK);
    assert_int_equal(sq25_field_corners_lonlat(b, cb), SQ25_OK);
    for (int k = 0; k < 8; k++) assert_float_equal(ca[k], cb[k], 1e-9);
    /* The grid is centred on the projection origin (4.5 E, 50.5 N): the mean of the four
     * corners lies there within 1e-4 degree. */
    assert_float_equal((ca[0] + ca[2] + ca[4] + ca[6]) / 4, 4.5, 1e-4);
    assert_float_equal((ca[1] + ca[3] + ca[5] + ca[7]) / 4, 50.5, 1e-4);
    sq25_field_destroy(a);
    sq25_field_destroy(b);
    sq25_ctx_destroy(ctx);
}

/* ---- a real netCDF-4 file written by the netCDF library: ncgen -k nc4 (Debian netcdf-bin)
 * from CDL; dimension scales, NC_CHAR attributes and an unlimited time axis as netCDF makes
 * them. Packed short, scale 0.1, _FillValue -1, y decreasing, LAEA from CF parameters. ---- */
static const char cdl[] =
    "netcdf radar {\n"
    "dimensions:\n  time = UNLIMITED ;\n  y = 3 ;\n  x = 4 ;\n"
    "variables:\n"
    "  double time(time) ;\n    time:standard_name = \"time\" ;\n"
    "    time:units = \"seconds since 2021-07-04T16:00:00Z\" ;\n"
    "  double y(y) ;\n    y:standard_name = \"projection_y_coordinate\" ;\n"
    "    y:units = \"m\" ;\n"
    "  double x(x) ;\n    x:standard_name = \"projection_x_coordinate\" ;\n"
    "    x:units = \"m\" ;\n"
    "  int crs ;\n    crs:grid_mapping_name = \"lambert_azimuthal_equal_area\" ;\n"
    "    crs:latitude_of_projection_origin = 55. ;\n"
    "    crs:longitude_of_projection_origin = 10. ;\n"
    "    crs:false_easting = 1950000. ;\n    crs:false_northing = -2100000. ;\n"
    "  short rr(time, y, x) ;\n    rr:units = \"mm h-1\" ;\n    rr:scale_factor = 0.1f ;\n"
    "    rr:add_offset = 0.f ;\n    rr:_FillValue = -1s ;\n    rr:grid_mapping = \"crs\" ;\n"
    "  :Conventions = \"CF-1.8\" ;\n"
    "data:\n"
    "  time = 0, 300 ;\n  y = 2500, 1500, 500 ;\n  x = 500, 1500, 2500, 3500 ;\n"
    "  rr = 0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, -1,\n"
    "       100, 101, 102, 103, 110, 111, 112, 113, 120, 121, 122, 123 ;\n"
    "}\n";

static void test_cf_ncgen(void **state)
{
    (void)state;
    const char *nc_path = test_ncgen("radar-ncgen", cdl);
    if (!nc_path) return;
    sq25_ctx *ctx = sq25_ctx_create();
    int format = 0, count = 0;
    assert_int_equal(sq25_file_detect(ctx, nc_path, &format), SQ25_OK);
    assert_int_equal(format, SQ25_FORMAT_CF);
    assert_int_equal(sq25_file_frame_count(ctx, nc_path, &count), SQ25_OK);
    assert_int_equal(count, 2);
    sq25_field *a = NULL, *b = NULL;
    assert_int_equal(sq25_read_field_frame(ctx, nc_path, 0, &a), SQ25_OK);
    assert_int_equal(sq25_read_field_frame(ctx, nc_path, 1, &b), SQ25_OK);
    /* mm/h = 0.1 * packed; y decreases, so row r is file row r. */
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++) {
            float va = sq25_field_data(a)[r * 4 + c], vb = sq25_field_data(b)[r * 4 + c];
            if (r == 2 && c == 3) assert_true(isnan(va));
            else assert_float_equal(va, 0.1 * (10 * r + c), 1e-6);
            assert_float_equal(vb, 0.1 * (100 + 10 * r + c), 1e-5);
        }
    double gt[6];
    sq25_field_geotransform(b, gt);
    const double expected_gt[6] = {0, 1000, 0, 3000, 0, -1000};
    for (int k = 0; k < 6; k++) assert_float_equal(gt[k], expected_gt[k], 1e-9);
    assert_int_equal(sq25_field_valid_time(a), 1625414400); /* 2021-07-04T16:00:00Z */
    assert_int_equal(sq25_field_valid_time(b), 1625414400 + 300);
    assert_non_null(strstr(sq25_field_projdef(b), "+proj=laea"));
    assert_non_null(strstr(sq25_field_projdef(b), "+x_0=1950000"));
    sq25_field_destroy(a);
    sq25_field_destroy(b);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cf_3d_amounts),
        cmocka_unit_test(test_cf_lonlat_flux),
        cmocka_unit_test(test_cf_lcc),
        cmocka_unit_test(test_cf_ncgen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
