/* test_sensors.c -- the series store, the CSV reader (bad rows reported, good rows kept) and
 * the netCDF-4 reader on a synthetic transposed file and on the real Amsterdam PWS file.
 * Real-file numbers were read independently with h5py:
 *   /usr/bin/python3 -c "import h5py,numpy as np; f=h5py.File('test_dataset.nc');
 *     r=f['rainfall'][:].astype(float); m=r==-9999; v=np.where(m,np.nan,r*0.001);
 *     print((~m).sum(), np.nansum(v[0]), (~m[0]).sum(), np.nanmax(v),
 *           np.unravel_index(np.nanargmax(v), v.shape), f['time'][0])"
 * -> 2612876 valid values, station 0 (ams1) sums 329.159 mm over 26390 values, the largest
 *    value is 19.897 mm at (84, 13323), first end time 1500076800. */
#include "support.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static void test_csv_bad_rows_kept_apart(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    const char *path = test_write_file("pws.csv",
                                  "station_id,lon,lat,time_utc,mm\n"
                                  "a,4.9,52.3,2017-09-08T07:05:00Z,0.5\n"  /* line 2 */
                                  "a,4.9,52.3,2017-09-08T07:10:00Z,1.25\n" /* 3 */
                                  "b,4.95,52.35,2017-09-08T07:00:00Z,0\n"  /* 4 */
                                  "b,4.95,52.35,not-a-time,1\n"            /* 5 bad time */
                                  "c,999,52.3,2017-09-08T07:05:00Z,1\n"    /* 6 bad lon */
                                  "c,4.8,52.3,2017-09-08T07:05:00Z\n"      /* 7 4 fields */
                                  "a,4.91,52.3,2017-09-08T07:15:00Z,2\n"   /* 8 moved */
                                  "b,4.95,52.35,2017-09-08T07:15:00Z,-1\n" /* 9 negative */
                                  "b,4.95,52.35,2017-09-08T07:15:00Z,abc\n" /* 10 bad mm */
                                  "\n"
                                  "b,4.95,52.35,2017-09-08 07:14:58,3\n"  /* 12 rounded */
                                  "a,4.9,52.3,2017-09-08T07:05:00Z,9\n"); /* 13 duplicate */
    sq25_series *s = NULL;
    assert_int_equal(sq25_series_read_csv(ctx, path, 300, &s), SQ25_OK);
    assert_int_equal(sq25_series_bad_rows(s), 7);
    assert_string_equal(sq25_series_bad_row_message(s, 0), "line 5: bad time_utc");
    assert_string_equal(sq25_series_bad_row_message(s, 1), "line 6: bad lon");
    assert_string_equal(sq25_series_bad_row_message(s, 2), "line 7: expected 5 comma-separated fields");
    assert_string_equal(sq25_series_bad_row_message(s, 3),
                        "line 8: station coordinates differ from its earlier rows");
    assert_string_equal(sq25_series_bad_row_message(s, 4), "line 9: negative mm value");
    assert_string_equal(sq25_series_bad_row_message(s, 5), "line 10: bad mm value");
    assert_string_equal(sq25_series_bad_row_message(s, 6),
                        "line 13: second value for the same station and step (first kept)");
    assert_null(sq25_series_bad_row_message(s, 7));
    assert_int_equal(sq25_series_station_count(s), 2);
    assert_int_equal(sq25_series_step_count(s), 4); /* 07:00 .. 07:15 */
    int64_t t0;
    sq25_time_parse("2017-09-08T07:00:00Z", &t0);
    assert_int_equal(sq25_series_time(s, 0), t0);
    assert_int_equal(sq25_series_step_at(s, t0 + 600), 2);
    assert_int_equal(sq25_series_step_at(s, t0 + 601), -1);
    assert_string_equal(sq25_series_station_id(s, 0), "a");
    double lon, lat;
    sq25_series_station_lonlat(s, 1, &lon, &lat);
    assert_float_equal(lon, 4.95, 1e-12);
    assert_float_equal(lat, 52.35, 1e-12);
    const float *v = sq25_series_data_const(s);
    assert_true(isnan(v[0]));
    assert_float_equal(v[1], 0.5, 0);
    assert_float_equal(v[2], 1.25, 0);
    assert_true(isnan(v[3]));
    assert_float_equal(v[4], 0, 0);
    assert_float_equal(v[7], 3, 0);
    /* window */
    sq25_series *w = NULL;
    assert_int_equal(sq25_series_window(s, t0 + 1, t0 + 600, &w), SQ25_OK);
    assert_int_equal(sq25_series_step_count(w), 2);
    assert_float_equal(sq25_series_data(w)[0], 0.5, 0);
    assert_string_equal(sq25_series_station_id(w, 1), "b");
    sq25_series_destroy(w);
    assert_int_equal(sq25_series_window(s, t0 + 5000, t0 + 6000, &w), SQ25_ERR_NO_DATA);
    sq25_series_destroy(s);
    /* header and missing file are fatal */
    assert_int_equal(sq25_series_read_csv(ctx, test_write_file("h.csv", "id,x\n"), 300, &s),
                     SQ25_ERR_PARSE);
    assert_non_null(strstr(sq25_errmsg(ctx), "line 1"));
    assert_int_equal(sq25_series_read_csv(ctx, test_write_file("bad.csv",
                                                          "station_id,lon,lat,time_utc,mm\nx\n"),
                                          300, &s), SQ25_ERR_NO_DATA);
    assert_int_equal(sq25_series_read_csv(ctx, "/nonexistent/x.csv", 300, &s),
                     SQ25_ERR_FILE_NOT_FOUND);
    sq25_ctx_destroy(ctx);
}

/* A (time, station) file with names lat/lon, a variable called "intensity" found by its units
 * "mm h-1", hourly steps in hours since 1970. */
static const char *write_transposed_nc(void)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/transposed.nc", test_tmpdir());
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t ns = 3, nt = 4, d2[2] = {4, 3};
    double lat[3] = {52.1, 52.2, 52.3}, lon[3] = {4.1, 4.2, 4.3};
    int64_t hours[4] = {420000, 420001, 420002, 420003};
    float rate[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, -1, 10, 11};
    hid_t s1 = H5Screate_simple(1, &ns, NULL), st = H5Screate_simple(1, &nt, NULL);
    hid_t s2 = H5Screate_simple(2, d2, NULL), sc = H5Screate(H5S_SCALAR);
    hid_t d = H5Dcreate2(f, "lat", H5T_NATIVE_DOUBLE, s1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, lat);
    H5Dclose(d);
    d = H5Dcreate2(f, "lon", H5T_NATIVE_DOUBLE, s1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, lon);
    H5Dclose(d);
    hid_t str = H5Tcopy(H5T_C_S1);
    d = H5Dcreate2(f, "time", H5T_NATIVE_INT64, st, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, hours);
    H5Tset_size(str, 28); /* strlen("hours since 1970-01-01 00:00") */
    hid_t a = H5Acreate2(d, "units", str, sc, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, str, "hours since 1970-01-01 00:00");
    H5Aclose(a);
    H5Dclose(d);
    d = H5Dcreate2(f, "intensity", H5T_NATIVE_FLOAT, s2, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, rate);
    H5Tset_size(str, 6);
    a = H5Acreate2(d, "units", str, sc, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, str, "mm h-1");
    H5Aclose(a);
    float fill = -1;
    a = H5Acreate2(d, "_FillValue", H5T_NATIVE_FLOAT, sc, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_FLOAT, &fill);
    H5Aclose(a);
    H5Dclose(d);
    H5Tclose(str);
    H5Sclose(s1), H5Sclose(st), H5Sclose(s2), H5Sclose(sc);
    H5Fclose(f);
    return path;
}

static void test_netcdf_transposed_layout(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_series *s = NULL;
    assert_int_equal(sq25_series_read_netcdf(ctx, write_transposed_nc(), &s), SQ25_OK);
    assert_int_equal(sq25_series_station_count(s), 3);
    assert_int_equal(sq25_series_step_count(s), 4);
    assert_int_equal(sq25_series_step_s(s), 3600);
    assert_int_equal(sq25_series_time(s, 0), (int64_t)420000 * 3600);
    assert_string_equal(sq25_series_station_id(s, 2), "station3");
    const float *v = sq25_series_data_const(s);
    /* station 1 over time: rate[1], rate[4], rate[7], rate[10] mm/h x 1 h */
    assert_float_equal(v[4 + 0], 1, 0);
    assert_float_equal(v[4 + 3], 10, 0);
    assert_true(isnan(v[0 * 4 + 3]));       /* station 0 step 3 = rate[9], the fill value */
    assert_float_equal(v[2 * 4 + 3], 11, 0); /* station 2 step 3 = rate[11] */
    sq25_series_destroy(s);
    assert_int_equal(sq25_series_read_netcdf(ctx, "/nonexistent.nc", &s), SQ25_ERR_FILE_NOT_FOUND);
    assert_int_equal(sq25_series_read_netcdf(ctx, test_write_file("x.nc", "not hdf5"), &s),
                     SQ25_ERR_NOT_HDF5);
    sq25_ctx_destroy(ctx);
}

static void test_netcdf_amsterdam(void **state)
{
    (void)state;
    const char *path = test_data_path("gauges/amsterdam_pws_2017/test_dataset.nc");
    FILE *fp = fopen(path, "rb");
    if (fp) fclose(fp);
    else path = test_shared_path("gauges/amsterdam_pws_2017/test_dataset.nc");
    if (!path) skip();
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_series *s = NULL;
    assert_int_equal(sq25_series_read_netcdf(ctx, path, &s), SQ25_OK);
    assert_int_equal(sq25_series_station_count(s), 134);
    assert_int_equal(sq25_series_step_count(s), 26784);
    assert_int_equal(sq25_series_step_s(s), 300);
    assert_int_equal(sq25_series_time(s, 0), 1500076800);
    assert_string_equal(sq25_series_station_id(s, 0), "ams1");
    assert_string_equal(sq25_series_station_id(s, 133), "ams134");
    double lon, lat;
    sq25_series_station_lonlat(s, 0, &lon, &lat);
    assert_float_equal(lat, 52.305896, 1e-9);
    assert_float_equal(lon, 4.670664, 1e-9);
    const float *v = sq25_series_data_const(s);
    size_t valid = 0, n0 = 0;
    double sum0 = 0;
    for (size_t i = 0; i < (size_t)134 * 26784; i++) valid += !isnan(v[i]);
    for (size_t k = 0; k < 26784; k++)
        if (!isnan(v[k])) sum0 += v[k], n0++;
    assert_int_equal(valid, 2612876);
    assert_int_equal(n0, 26390);
    assert_float_equal(sum0, 329.159, 1e-3);
    assert_float_equal(v[(size_t)84 * 26784 + 13323], 19.897, 1e-5);
    sq25_series_destroy(s);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_bad_rows_kept_apart),
        cmocka_unit_test(test_netcdf_transposed_layout),
        cmocka_unit_test(test_netcdf_amsterdam),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
