/* test_hostile.c -- regression tests for the hostile inputs of issue 11, each fed exactly:
 * time values at the ends of int64 in sensor CSV rows, declared sizes far beyond what a tiny
 * file holds (ODIM 20000 x 20000, OpenSense 1e9 and 2^61+1 time steps, CSV rows 4000 years
 * apart), out-of-range metadata (ODIM accumulation window, KNMI column count, station
 * longitudes, sq25_time_format(INT64_MIN)), the context limits, and a pipeline fed from a
 * short-lived context. The files in tests/hostile/ were written by tests/hostile/make_hostile.py
 * (h5py, independent of the library); every expected value below is analytic (a size in the
 * file, a time computed by hand, a code the header documents). Run under ASan+UBSan by
 * make check: an over-read or overflow fails there. */
#include "support.h"

#include <bzlib.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOSTILE(name) "tests/hostile/" name
#define HEADER "station_id,lon,lat,time_utc,mm\n"
#define RMI_DIR "radar/rmi_20210704/"
#define KNMI_0100 "radar/knmi_20100826/RAD_NL25_RAP_5min_201008260100.h5"

/* ---- times ---- */

static void test_time_range(void **state)
{
    (void)state;
    char buf[32];
    /* INT64_MIN has no date: written as "@seconds" (21 characters), no overflow. */
    assert_int_equal(sq25_time_format(INT64_MIN, buf, sizeof buf), 21);
    assert_string_equal(buf, "@-9223372036854775808");
    assert_int_equal(sq25_time_format(INT64_MAX, buf, sizeof buf), 20);
    assert_string_equal(buf, "@9223372036854775807");
    /* The ends of the accepted range (computed with Python's datetime). */
    sq25_time_format(253402300799, buf, sizeof buf);
    assert_string_equal(buf, "9999-12-31T23:59:59Z");
    sq25_time_format(-30610224000, buf, sizeof buf);
    assert_string_equal(buf, "1000-01-01T00:00:00Z");
    int64_t t = 0;
    assert_int_equal(sq25_time_parse("@253402300799", &t), SQ25_OK);
    assert_int_equal(t, 253402300799);
    assert_int_equal(sq25_time_parse("@253402300800", &t), SQ25_ERR_BAD_TIME);
    assert_int_equal(sq25_time_parse("@-30610224001", &t), SQ25_ERR_BAD_TIME);
    assert_int_equal(sq25_time_parse("@9223372036854775807", &t), SQ25_ERR_BAD_TIME);
    assert_int_equal(sq25_time_parse("@-9223372036854775808", &t), SQ25_ERR_BAD_TIME);
    /* strtoll saturates here; the overflow must not pass as INT64_MAX. */
    assert_int_equal(sq25_time_parse("@99999999999999999999", &t), SQ25_ERR_BAD_TIME);
}

/* ---- sensor CSV ---- */

static void test_csv_int64_max_row(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_series *s = NULL;
    /* The committed 65-byte file: one row at INT64_MAX seconds. */
    assert_int_equal(sq25_series_read_csv(ctx, HOSTILE("csv_int64max.csv"), 300, &s),
                     SQ25_ERR_NO_DATA);
    assert_null(s);
    assert_non_null(strstr(sq25_errmsg(ctx), "1 bad rows"));
    /* The same row among good ones: the good rows are kept, the bad one counted. */
    const char *path = test_write_file("int64max_mixed.csv",
                                       HEADER "a,4.9,52.3,@9223372036854775807,1\n"
                                              "a,4.9,52.3,2021-07-04T16:50Z,2\n");
    assert_int_equal(sq25_series_read_csv(ctx, path, 300, &s), SQ25_OK);
    assert_int_equal(sq25_series_bad_rows(s), 1);
    assert_non_null(strstr(sq25_series_bad_row_message(s, 0), "line 2: bad time_utc"));
    assert_int_equal(sq25_series_step_count(s), 1);
    assert_int_equal(sq25_series_time(s, 0), 1625417400); /* 2021-07-04T16:50Z */
    sq25_series_destroy(s);
    sq25_ctx_destroy(ctx);
}

static void test_csv_span_step_900(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_series *s = NULL;
    /* Rows at INT64_MAX, INT64_MIN and 0 with a 900 s step: the span used to overflow and the
     * reader wrote outside its store. Now the two extreme rows are bad rows. */
    assert_int_equal(sq25_series_read_csv(ctx, HOSTILE("csv_span.csv"), 900, &s), SQ25_OK);
    assert_int_equal(sq25_series_bad_rows(s), 2);
    assert_int_equal(sq25_series_step_count(s), 1);
    assert_int_equal(sq25_series_time(s, 0), 0);
    assert_true(sq25_series_data(s)[0] == 1.0f);
    sq25_series_destroy(s);
    /* Negative times round to the nearest step end too: -449 s -> 0, -451 s -> -900 s. */
    const char *path = test_write_file("negative.csv", HEADER "a,4.9,52.3,@-449,1\n"
                                                             "b,4.9,52.4,@-451,2\n");
    assert_int_equal(sq25_series_read_csv(ctx, path, 900, &s), SQ25_OK);
    assert_int_equal(sq25_series_time(s, 0), -900);
    assert_int_equal(sq25_series_step_count(s), 2);
    sq25_series_destroy(s);
    sq25_ctx_destroy(ctx);
}

static void test_csv_4000_years(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_series *s = NULL;
    /* Two rows 4000 years apart: 140 253 121 steps of 900 s, above the default 5 270 400. */
    assert_int_equal(sq25_series_read_csv(ctx, HOSTILE("csv_4000_years.csv"), 900, &s),
                     SQ25_ERR_SIZE_ABSURD);
    assert_non_null(strstr(sq25_errmsg(ctx), "csv_4000_years.csv"));
    assert_non_null(strstr(sq25_errmsg(ctx), "140253121 steps"));
    assert_null(s);
    /* An absurd step is refused before anything is read. */
    assert_int_equal(sq25_series_read_csv(ctx, HOSTILE("csv_4000_years.csv"), 86400 * 367, &s),
                     SQ25_ERR_INVALID_ARG);
    sq25_ctx_destroy(ctx);
}

/* ---- declared sizes against limits and against what the file holds ---- */

/* ---- values beyond float32 (the data type of fields and series) ----
 * A converted value above FLT_MAX (3.40282e38) used to become +inf, which every later
 * "heavier than" test takes for the heaviest rain. */
static void test_csv_mm_beyond_float(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_series *s = NULL;
    const char *path = test_write_file("mm_1e300.csv", HEADER "a,4.9,52.3,2021-07-04T16:45Z,1e300\n"
                                                              "a,4.9,52.3,2021-07-04T16:50Z,2\n");
    assert_int_equal(sq25_series_read_csv(ctx, path, 300, &s), SQ25_OK);
    assert_int_equal(sq25_series_bad_rows(s), 1);
    assert_non_null(strstr(sq25_series_bad_row_message(s, 0), "line 2: mm value beyond"));
    sq25_series_destroy(s);
    sq25_ctx_destroy(ctx);
}

/* A DWD RW grid as ESRI ASCII (900 x 900 at DWD's corner, the header of
 * RW_20221018-1250.asc in ../shared), written here: values are 0.1 mm per hour, so the file's
 * 1e39 is 1e38 mm/h (a float) and 4e39 and 1e300 are beyond float32 (NaN, never +inf). */
static void test_esri_value_beyond_float(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof path, "%s/RW_20221018-1250.asc", test_tmpdir());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "ncols 900\nnrows 900\nxllcorner -523462\nyllcorner -4658645\n"
               "cellsize 1000\nNODATA_value -1\n1e39 4e39 1e300 7");
    for (int k = 4; k < 900 * 900; k++) fputs(k % 900 ? " 0" : "\n0", f);
    fputc('\n', f);
    fclose(f);
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *field = NULL;
    int rc = sq25_read_field(ctx, path, &field);
    if (rc) printf("%s\n", sq25_errmsg(ctx));
    assert_int_equal(rc, SQ25_OK);
    const float *d = sq25_field_data(field);
    assert_float_equal(d[0], 1e38, 1e32);
    assert_true(isnan(d[1]));
    assert_true(isnan(d[2]));
    assert_float_equal(d[3], 0.7, 1e-6);
    assert_float_equal(d[4], 0.0, 0.0);
    sq25_field_destroy(field);
    sq25_ctx_destroy(ctx);
}

static void test_limits_api(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    /* The documented defaults. */
    assert_int_equal(sq25_ctx_get_limit(ctx, SQ25_LIMIT_GRID_CELLS), 100000000);
    assert_int_equal(sq25_ctx_get_limit(ctx, SQ25_LIMIT_SERIES_STEPS), 5270400);
    assert_int_equal(sq25_ctx_get_limit(ctx, SQ25_LIMIT_SERIES_VALUES), 268435456);
    assert_int_equal(sq25_ctx_get_limit(ctx, SQ25_LIMIT_STATIONS), 1000000);
    assert_int_equal(sq25_ctx_get_limit(NULL, SQ25_LIMIT_GRID_CELLS), 100000000);
    assert_int_equal(sq25_ctx_get_limit(ctx, 99), -1);
    assert_int_equal(sq25_ctx_set_limit(ctx, 99, 1), SQ25_ERR_INVALID_ARG);
    assert_int_equal(sq25_ctx_set_limit(ctx, SQ25_LIMIT_GRID_CELLS, -1), SQ25_ERR_RANGE);
    assert_int_equal(sq25_ctx_set_limit(ctx, SQ25_LIMIT_GRID_CELLS, SQ25_MAX_GRID_CELLS + 1),
                     SQ25_ERR_RANGE);
    /* A lowered limit applies to fields made by the caller too; 0 restores the default. */
    assert_int_equal(sq25_ctx_set_limit(ctx, SQ25_LIMIT_GRID_CELLS, 99), SQ25_OK);
    const double gt[6] = {0, 1000, 0, 0, 0, -1000};
    sq25_field *f = NULL;
    assert_int_equal(sq25_field_create(ctx, 10, 10, "EPSG:32631", gt, 0, &f),
                     SQ25_ERR_SIZE_ABSURD);
    assert_int_equal(sq25_ctx_set_limit(ctx, SQ25_LIMIT_GRID_CELLS, 0), SQ25_OK);
    assert_int_equal(sq25_ctx_get_limit(ctx, SQ25_LIMIT_GRID_CELLS), 100000000);
    assert_int_equal(sq25_field_create(ctx, 10, 10, "EPSG:32631", gt, 0, &f), SQ25_OK);
    sq25_field_destroy(f);
    /* stations x steps overflowing int64 is absurd, not a wrapped small size. */
    sq25_series *s = NULL;
    assert_int_equal(sq25_series_create(ctx, 2147483647, INT64_MAX, 0, 60, &s),
                     SQ25_ERR_SIZE_ABSURD);
    sq25_ctx_destroy(ctx);
}

static void test_odim_declared_20000(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = NULL;
    /* 20000 x 20000 = 4e8 cells, above the default limit of 1e8. */
    assert_int_equal(sq25_read_field(ctx, HOSTILE("odim_20000x20000.h5"), &f),
                     SQ25_ERR_SIZE_ABSURD);
    assert_non_null(strstr(sq25_errmsg(ctx), "20000 x 20000"));
    /* With the limit at its hard cap the size passes, but the file stores no chunk of the
     * 1.6 GB it declares (7368 bytes on disk): refused before any allocation. */
    assert_int_equal(sq25_ctx_set_limit(ctx, SQ25_LIMIT_GRID_CELLS, SQ25_MAX_GRID_CELLS),
                     SQ25_OK);
    assert_int_equal(sq25_read_field(ctx, HOSTILE("odim_20000x20000.h5"), &f),
                     SQ25_ERR_SIZE_ABSURD);
    assert_non_null(strstr(sq25_errmsg(ctx), "1600000000 bytes"));
    assert_null(f);
    sq25_ctx_destroy(ctx);
}

static void test_odim_accumulation_window(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = NULL;
    /* ACRR from 1900-01-01 to 2199-12-31: 9467020800 s, more than an int. */
    assert_int_equal(sq25_read_field(ctx, HOSTILE("odim_acrr_window.h5"), &f),
                     SQ25_ERR_BAD_METADATA);
    assert_non_null(strstr(sq25_errmsg(ctx), "9467020800 s"));
    assert_null(f);
    sq25_ctx_destroy(ctx);
}

static void test_netcdf_declared_times(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_series *s = NULL;
    assert_int_equal(sq25_series_read_netcdf(ctx, HOSTILE("nc_1e9_times.nc"), &s),
                     SQ25_ERR_SIZE_ABSURD);
    assert_non_null(strstr(sq25_errmsg(ctx), "1000000000 times"));
    /* 2^61 + 1 times: n * 8 bytes used to wrap to 8 bytes. */
    assert_int_equal(sq25_series_read_netcdf(ctx, HOSTILE("nc_2e61_times.nc"), &s),
                     SQ25_ERR_SIZE_ABSURD);
    assert_non_null(strstr(sq25_errmsg(ctx), "2305843009213693953 times"));
    /* With every limit at its hard cap, 1e9 times pass the limits but the file holds none of
     * the 8 GB it declares: refused by the storage check. */
    assert_int_equal(sq25_ctx_set_limit(ctx, SQ25_LIMIT_SERIES_STEPS, (int64_t)1 << 31), SQ25_OK);
    assert_int_equal(sq25_ctx_set_limit(ctx, SQ25_LIMIT_SERIES_VALUES, (int64_t)1 << 31),
                     SQ25_OK);
    assert_int_equal(sq25_series_read_netcdf(ctx, HOSTILE("nc_1e9_times.nc"), &s),
                     SQ25_ERR_FILE_TRUNCATED);
    assert_non_null(strstr(sq25_errmsg(ctx), "8000000000"));
    assert_null(s);
    sq25_ctx_destroy(ctx);
}

/* ---- packed data ---- */

/* bzip2 of 16 MiB of zeros (a few hundred bytes: bzip2 run-length codes them) named as a DWD
 * RW grid. The reader used to unpack it whole before finding it to be nothing (60 such MiB:
 * 723 bytes, 1 GB of memory, 10 s); it now refuses it after its first block. */
static void test_bzip2_of_zeros(void **state)
{
    (void)state;
    static char zeros[1 << 16], packed[1 << 16];
    bz_stream bs;
    memset(&bs, 0, sizeof bs);
    assert_int_equal(BZ2_bzCompressInit(&bs, 9, 0, 0), BZ_OK);
    bs.next_out = packed;
    bs.avail_out = sizeof packed;
    for (int k = 0; k < 256; k++) {
        bs.next_in = zeros;
        bs.avail_in = sizeof zeros;
        while (bs.avail_in) assert_int_equal(BZ2_bzCompress(&bs, BZ_RUN), BZ_RUN_OK);
    }
    while (BZ2_bzCompress(&bs, BZ_FINISH) != BZ_STREAM_END) {}
    size_t n = sizeof packed - bs.avail_out;
    BZ2_bzCompressEnd(&bs);
    assert_true(n < 4096);
    char path[512];
    snprintf(path, sizeof path, "%s/RW_20221018-1250.asc.bz2", test_tmpdir());
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(packed, 1, n, f), n);
    fclose(f);
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *field = NULL;
    assert_int_equal(sq25_read_field(ctx, path, &field), SQ25_ERR_FORMAT_UNKNOWN);
    assert_null(field);
    assert_non_null(strstr(sq25_errmsg(ctx), "unpacks to data that is neither"));
    sq25_ctx_destroy(ctx);
}

/* ---- out-of-range metadata ---- */

static void copy_file(const char *src, const char *dst)
{
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
}

static void test_knmi_column_count(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/knmi_cols.h5", test_tmpdir());
    copy_file(test_data_path(KNMI_0100), path);
    /* geographic/geo_number_columns (int32 700 in the real file) replaced by a double 1e30. */
    hid_t fid = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(fid >= 0);
    assert_true(H5Adelete_by_name(fid, "geographic", "geo_number_columns", H5P_DEFAULT) >= 0);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate_by_name(fid, "geographic", "geo_number_columns", H5T_IEEE_F64LE, sp,
                                H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    double v = 1e30;
    assert_true(a >= 0 && H5Awrite(a, H5T_NATIVE_DOUBLE, &v) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Fclose(fid);
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = NULL;
    assert_int_equal(sq25_read_field(ctx, path, &f), SQ25_ERR_BAD_METADATA);
    assert_non_null(strstr(sq25_errmsg(ctx), "geo_number_columns=1e+30"));
    assert_null(f);
    sq25_ctx_destroy(ctx);
}

/* KNMI's product_datetime_start moved from 26-AUG-2010;00:55 to 1910 (the reader takes the
 * years 1900-2200): the span to product_datetime_end (2010-08-26 01:00) is 3155760300 s
 * (Python: datetime(2010,8,26,1) - datetime(1910,8,26,0,55)), more than an int of seconds (the
 * field's accumulation), which used to be truncated to a wrong window. */
static void test_knmi_product_span(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/knmi_span.h5", test_tmpdir());
    copy_file(test_data_path(KNMI_0100), path);
    hid_t fid = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(fid >= 0);
    assert_true(H5Adelete_by_name(fid, "overview", "product_datetime_start", H5P_DEFAULT) >= 0);
    const char text[25] = "26-AUG-1910;00:55:00.000"; /* as the real 25-byte string */
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
    H5Tset_size(t, sizeof text);
    hid_t a = H5Acreate_by_name(fid, "overview", "product_datetime_start", t, sp, H5P_DEFAULT,
                                H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0 && H5Awrite(a, t, text) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    H5Fclose(fid);
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = NULL;
    assert_int_equal(sq25_read_field(ctx, path, &f), SQ25_ERR_BAD_METADATA);
    assert_null(f);
    assert_non_null(strstr(sq25_errmsg(ctx), "knmi_span.h5"));
    assert_non_null(strstr(sq25_errmsg(ctx), "is 3155760300 s, not 0 s to 366 days"));
    sq25_ctx_destroy(ctx);
}

/* An ensemble netCDF file (the layout sq25_ensemble_write_netcdf writes) cut to what the reader
 * reads before the grids, written with ncgen (netCDF-C, Debian netcdf-bin), with a reference
 * time and a first lead time given here. Returns the reader's code; 1 when ncgen is missing. */
static int read_ensemble_times(const char *name, const char *ref, const char *t0)
{
    char cdl[800];
    snprintf(cdl, sizeof cdl,
             "netcdf ens {\ndimensions:\n  time = 1 ;\n  threshold = 1 ;\n  y = 2 ;\n  x = 2 ;\n"
             "variables:\n  double time(time) ;\n  double threshold(threshold) ;\n"
             "  double y(y) ;\n  double x(x) ;\n  double forecast_reference_time ;\n"
             "  :ensemble_members = 2 ;\n"
             "data:\n  time = %s ;\n  threshold = 1 ;\n  y = 1, 0 ;\n  x = 0, 1 ;\n"
             "  forecast_reference_time = %s ;\n}\n",
             t0, ref);
    const char *nc = test_ncgen(name, cdl);
    if (!nc) return 1;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_ensemble *e = NULL;
    int rc = sq25_ensemble_read_netcdf(ctx, nc, &e);
    assert_null(e);
    assert_non_null(strstr(sq25_errmsg(ctx), name));
    if (rc == SQ25_ERR_BAD_TIME) assert_non_null(strstr(sq25_errmsg(ctx), "1e+300 s"));
    if (rc == SQ25_ERR_BAD_METADATA) assert_non_null(strstr(sq25_errmsg(ctx), "4.29497e+09 s"));
    sq25_ctx_destroy(ctx);
    return rc;
}

/* The reference time and the lead step are range-checked before they become integers: a
 * reference of 1e300 s is no time; a first lead 2^32 + 300 s after the reference used to pass
 * as a 300 s step (the int conversion kept the low 32 bits). A sane pair gets past both checks
 * to the next missing part (no crs variable here). */
static void test_ensemble_reference_time(void **state)
{
    (void)state;
    int rc = read_ensemble_times("ens_ref_1e300", "1e300", "1e300");
    if (rc == 1) return;
    assert_int_equal(rc, SQ25_ERR_BAD_TIME);
    assert_int_equal(read_ensemble_times("ens_step_2e32", "0", "4294967596"),
                     SQ25_ERR_BAD_METADATA);
    assert_int_equal(read_ensemble_times("ens_sane", "1625414400", "1625414700"),
                     SQ25_ERR_MISSING_DATASET);
}

/* Ensemble files whose grids were never written (ncgen writes no data for them, so HDF5 stores
 * no chunk): one declaring 288 leads x 2 grids of 1000 x 1000 cells (2 304 000 000 bytes, by
 * hand) in a few KB used to cost 2.3 GB of memory; a small one read its cells as netCDF's
 * default fill 9.96921e36 (a probability of 1e37) instead of nodata. */
static void test_ensemble_unwritten_grids(void **state)
{
    (void)state;
    static const char head[] =
        "netcdf ens {\ndimensions:\n  time = %d ;\n  threshold = 1 ;\n  y = %d ;\n  x = %d ;\n"
        "variables:\n  double time(time) ;\n  double threshold(threshold) ;\n"
        "  double y(y) ;\n  double x(x) ;\n  double forecast_reference_time ;\n  int crs ;\n"
        "    crs:proj4_params = \"+proj=utm +zone=32 +ellps=WGS84\" ;\n"
        "  float exceedance_probability(time, threshold, y, x) ;\n  float mean_rate(time, y, x) ;\n"
        "  :ensemble_members = 2 ;\n"
        "data:\n  time = 1625414700 ;\n  threshold = 1 ;\n  y = 1, 0 ;\n  x = 0, 1 ;\n"
        "  forecast_reference_time = 1625414400 ;\n}\n";
    char cdl[1200];
    snprintf(cdl, sizeof cdl, head, 288, 1000, 1000);
    /* the data section gives one time and two x/y values: ncgen fills the rest */
    const char *nc = test_ncgen("ens_big", cdl);
    if (!nc) return;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_ensemble *e = NULL;
    assert_int_equal(sq25_ensemble_read_netcdf(ctx, nc, &e), SQ25_ERR_SIZE_ABSURD);
    assert_null(e);
    assert_non_null(strstr(sq25_errmsg(ctx), "576 grids of 1000000 cells (2304000000 bytes)"));
    snprintf(cdl, sizeof cdl, head, 1, 2, 2);
    nc = test_ncgen("ens_small", cdl);
    int rc = sq25_ensemble_read_netcdf(ctx, nc, &e);
    if (rc) printf("%s\n", sq25_errmsg(ctx));
    assert_int_equal(rc, SQ25_OK);
    const float *p = sq25_field_data_const(sq25_ensemble_probability(e, 0, 0));
    for (int k = 0; k < 4; k++) assert_true(isnan(p[k]));
    sq25_ensemble_destroy(e);
    sq25_ctx_destroy(ctx);
}

/* An OpenSense CML file (1 link, 1 sub-link, 2 times; the layout of tests/fuzz/corpus/cml/raw.nc)
 * written with ncgen, its times 1e12 and 1e12 + 60 s after 1970 (the year 33658): below the
 * reader's old bound of 1e13 s, outside the years 1000-9999 every input time must lie in. */
static void test_cml_time_range(void **state)
{
    (void)state;
    static const char cdl[] =
        "netcdf cml {\ndimensions:\n  time = 2 ;\n  sublink_id = 1 ;\n  cml_id = 1 ;\n"
        "variables:\n  double time(time) ;\n    time:units = \"seconds since 1970-01-01\" ;\n"
        "  string sublink_id(sublink_id) ;\n  string cml_id(cml_id) ;\n"
        "  short rsl(cml_id, sublink_id, time) ;\n    rsl:units = \"dBm\" ;\n"
        "  short tsl(cml_id, sublink_id, time) ;\n    tsl:units = \"dBm\" ;\n"
        "  double length(cml_id) ;\n    length:units = \"m\" ;\n"
        "  double site_0_lat(cml_id) ;\n  double site_0_lon(cml_id) ;\n"
        "  double site_1_lat(cml_id) ;\n  double site_1_lon(cml_id) ;\n"
        "  double frequency(cml_id, sublink_id) ;\n"
        "data:\n time = 1e12, 1000000000060 ;\n sublink_id = \"a\" ;\n cml_id = \"1\" ;\n"
        " rsl = -40, -41 ;\n tsl = 10, 10 ;\n length = 2000 ;\n site_0_lat = 44.1 ;\n"
        " site_0_lon = 11.0 ;\n site_1_lat = 44.11 ;\n site_1_lon = 11.01 ;\n"
        " frequency = 24000 ;\n}\n";
    const char *nc = test_ncgen("cml_time", cdl);
    if (!nc) return;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_links *l = NULL;
    assert_int_equal(sq25_links_read_netcdf(ctx, nc, &l), SQ25_ERR_BAD_TIME);
    assert_null(l);
    assert_non_null(strstr(sq25_errmsg(ctx), "cml_time.nc: time value 1e+12"));
    sq25_ctx_destroy(ctx);
}

/* An OpenSense gauge file (1 station, 3 times) written with ncgen, with double times given
 * here; returns the reader's code and the series (NULL on error). 1 when ncgen is missing. */
static int read_gauge_times(const char *name, const char *units, const char *times,
                            sq25_ctx *ctx, sq25_series **s)
{
    char cdl[800];
    snprintf(cdl, sizeof cdl,
             "netcdf gauge {\ndimensions:\n  id = 1 ;\n  time = 3 ;\nvariables:\n"
             "  double time(time) ;\n    time:units = \"%s\" ;\n  double latitude(id) ;\n"
             "  double longitude(id) ;\n  float rainfall(id, time) ;\n    rainfall:units = \"mm\" ;\n"
             "data:\n  time = %s ;\n  latitude = 52.3 ;\n  longitude = 4.9 ;\n"
             "  rainfall = 1, 2, 3 ;\n}\n",
             units, times);
    const char *nc = test_ncgen(name, cdl);
    if (!nc) return 1;
    *s = NULL;
    return sq25_series_read_netcdf(ctx, nc, s);
}

/* Gauge times stored as doubles are converted by the reader, not by HDF5 (which cut 2.5
 * minutes to 2 and made the steps irregular, and clips 1e300 to INT64_MAX): 0, 2.5 and 5
 * minutes after 2021-07-04T16:00Z are 150 s apart (1625414400 + 150 k, by hand); a time of
 * 1e300 minutes and one half a second off the whole second are refused, naming the file. */
static void test_gauge_double_times(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_series *s = NULL;
    int rc = read_gauge_times("g_minutes", "minutes since 2021-07-04 16:00:00", "0, 2.5, 5", ctx,
                              &s);
    if (rc == 1) {
        sq25_ctx_destroy(ctx);
        return;
    }
    if (rc) printf("%s\n", sq25_errmsg(ctx));
    assert_int_equal(rc, SQ25_OK);
    assert_int_equal(sq25_series_step_count(s), 3);
    assert_int_equal(sq25_series_time(s, 0), 1625414400);
    assert_int_equal(sq25_series_time(s, 2), 1625414400 + 300);
    sq25_series_destroy(s);
    assert_int_equal(read_gauge_times("g_huge", "minutes since 2021-07-04 16:00:00",
                                      "0, 5, 1e300", ctx, &s),
                     SQ25_ERR_RANGE);
    assert_null(s);
    assert_non_null(strstr(sq25_errmsg(ctx), "g_huge.nc: time[2] = 1.0000000000000001e+300"));
    assert_int_equal(read_gauge_times("g_half", "seconds since 2021-07-04 16:00:00",
                                      "0, 300.5, 600", ctx, &s),
                     SQ25_ERR_BAD_TIME);
    assert_null(s);
    assert_non_null(strstr(sq25_errmsg(ctx), "g_half.nc: time[1] = 300.5"));
    sq25_ctx_destroy(ctx);
}

/* A 1-D chunked dataset of n elements with nothing written (HDF5 stores no chunk: the file
 * stays a few KB whatever n declares). */
static void empty_chunked(hid_t fid, const char *name, hid_t type, hsize_t n)
{
    hsize_t chunk = n < 1024 ? n : 1024;
    hid_t sp = H5Screate_simple(1, &n, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &chunk);
    hid_t d = H5Dcreate2(fid, name, type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    assert_true(d >= 0);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(sp);
}

static void attr_text(hid_t obj, const char *name, const char *value)
{
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
    H5Tset_size(t, strlen(value) + 1);
    hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0 && H5Awrite(a, t, value) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
}

/* A 5 KB CF file whose time coordinate declares 1e7 values (80 000 000 bytes) and stores none:
 * the reader allocated them (and as many bounds) before any check, 176 MB of peak memory for
 * `sq25 info`. The time variable's storage is now checked first, naming it. */
static void test_cf_declared_times(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/cf_times.nc", test_tmpdir());
    hid_t fid = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(fid >= 0);
    attr_text(fid, "Conventions", "CF-1.8");
    attr_text(fid, "proj_string", "+proj=utm +zone=32 +ellps=WGS84");
    const double xy[2][2] = {{0, 1000}, {1000, 0}};
    const char *axes[2] = {"x", "y"};
    for (int k = 0; k < 2; k++) {
        hsize_t two = 2;
        hid_t sp = H5Screate_simple(1, &two, NULL);
        hid_t d = H5Dcreate2(fid, axes[k], H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        assert_true(d >= 0 && H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, xy[k]) >= 0);
        attr_text(d, "axis", k ? "Y" : "X");
        attr_text(d, "units", "m");
        H5Dclose(d);
        H5Sclose(sp);
    }
    empty_chunked(fid, "time", H5T_IEEE_F64LE, 10000000);
    hid_t t = H5Dopen2(fid, "time", H5P_DEFAULT);
    attr_text(t, "axis", "T");
    attr_text(t, "units", "seconds since 2021-07-04");
    H5Dclose(t);
    hsize_t dims[3] = {10000000, 2, 2}, chunk[3] = {1, 2, 2};
    hid_t sp = H5Screate_simple(3, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 3, chunk);
    hid_t pr = H5Dcreate2(fid, "pr", H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    assert_true(pr >= 0);
    attr_text(pr, "units", "mm h-1");
    H5Dclose(pr);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Fclose(fid);
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = NULL;
    assert_int_equal(sq25_read_field(ctx, path, &f), SQ25_ERR_FILE_TRUNCATED);
    assert_null(f);
    assert_non_null(strstr(sq25_errmsg(ctx), "cf_times.nc: dataset time: 0 bytes stored of the 80000000"));
    sq25_ctx_destroy(ctx);
}

/* A CML file declaring 2^32 links (site_0_lat) and 2^32 sub-links (sublink_id): their product
 * wrapped to 0 in 64 bits, passed the size check and divided by zero (SIGFPE, `sq25 links`
 * on a 2 KB file). Each count is now bounded before the product. */
static void test_cml_count_product(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/cml_wrap.nc", test_tmpdir());
    hid_t fid = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(fid >= 0);
    empty_chunked(fid, "site_0_lat", H5T_IEEE_F64LE, (hsize_t)1 << 32);
    empty_chunked(fid, "sublink_id", H5T_STD_I32LE, (hsize_t)1 << 32);
    empty_chunked(fid, "time", H5T_IEEE_F64LE, 10);
    H5Fclose(fid);
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_links *l = NULL;
    assert_int_equal(sq25_links_read_netcdf(ctx, path, &l), SQ25_ERR_SIZE_ABSURD);
    assert_null(l);
    assert_non_null(strstr(sq25_errmsg(ctx), "4294967296 links x 4294967296 sub-links"));
    sq25_ctx_destroy(ctx);
}

/* A 6 KB CML file declaring 4e8 time samples with none stored: the reader used to allocate
 * 3.2 GB for the times and their slots (peak RSS 3.1 GB in `sq25 links`) before it found them
 * all 0 ("time not increasing"); the declared bytes are now checked against the stored ones
 * first (20 MB). */
static void test_cml_declared_times(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/cml_times.nc", test_tmpdir());
    hid_t fid = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(fid >= 0);
    empty_chunked(fid, "site_0_lat", H5T_IEEE_F64LE, 1);
    empty_chunked(fid, "time", H5T_IEEE_F64LE, 400000000);
    H5Fclose(fid);
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_links *l = NULL;
    assert_int_equal(sq25_links_read_netcdf(ctx, path, &l), SQ25_ERR_SIZE_ABSURD);
    assert_null(l);
    assert_non_null(strstr(sq25_errmsg(ctx), "time declares 3200000000 bytes of values"));
    sq25_ctx_destroy(ctx);
}

static void test_station_longitude(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_series *s = NULL;
    assert_int_equal(sq25_series_create(ctx, 2, 3, 0, 300, &s), SQ25_OK);
    assert_int_equal(sq25_series_set_station(s, 0, "far", 1e300, 52.0), SQ25_ERR_RANGE);
    assert_int_equal(sq25_series_set_station(s, 0, "far", 4.9, -91), SQ25_ERR_RANGE);
    assert_int_equal(sq25_series_set_station(s, 0, "ok", 180.0, -90.0), SQ25_OK);
    assert_int_equal(sq25_series_set_station(s, 1, "unknown", NAN, NAN), SQ25_OK);
    sq25_series_destroy(s);
    /* Series times: no overflow for any step or window. */
    assert_int_equal(sq25_series_create(ctx, 1, 3, 253402300799, 300, &s), SQ25_OK);
    assert_int_equal(sq25_series_time(s, INT64_MAX), 0);
    assert_int_equal(sq25_series_step_at(s, INT64_MIN), -1);
    sq25_series *w = NULL;
    /* Only step 0 ends inside the accepted range (steps 1 and 2 end after 9999). */
    assert_int_equal(sq25_series_window(s, INT64_MIN, INT64_MAX, &w), SQ25_OK);
    assert_int_equal(sq25_series_step_count(w), 1);
    sq25_series_destroy(w);
    sq25_series_destroy(s);
    assert_int_equal(sq25_series_create(ctx, 1, 3, 0, 300, &s), SQ25_OK);
    assert_int_equal(sq25_series_window(s, INT64_MIN, INT64_MAX, &w), SQ25_OK);
    assert_int_equal(sq25_series_step_count(w), 3);
    sq25_series_destroy(w);
    sq25_series_destroy(s);
    assert_int_equal(sq25_series_create(ctx, 1, 3, INT64_MAX, 300, &s), SQ25_ERR_RANGE);
    sq25_ctx_destroy(ctx);
}

/* ---- a pipeline fed from a short-lived context ---- */

static void test_pipeline_short_lived_context(void **state)
{
    (void)state;
    static const char *const names[3] = {RMI_DIR "20210704165000.rad.best.comp.rate.qpe.hdf",
                                         RMI_DIR "20210704165500.rad.best.comp.rate.qpe.hdf",
                                         RMI_DIR "20210704170000.rad.best.comp.rate.qpe.hdf"};
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_pipeline *p = NULL;
    assert_int_equal(sq25_pipeline_create(ctx, &p), SQ25_OK);
    assert_int_equal(sq25_pipeline_set_horizon(p, 900), SQ25_OK);
    assert_int_equal(sq25_warn_options_set_horizon(sq25_pipeline_warn_options(p), 900), SQ25_OK);
    for (int i = 0; i < 3; i++) {
        /* A reader's context per frame, destroyed right after the push (as a service would
         * read each file in a worker). Its allocations must not be reached again. */
        sq25_ctx *reader = sq25_ctx_create();
        sq25_field *f = NULL;
        assert_int_equal(sq25_read_field(reader, test_data_path(names[i]), &f), SQ25_OK);
        assert_int_equal(sq25_pipeline_push_frame(p, f), SQ25_OK);
        if (i == 0) assert_int_equal(sq25_pipeline_set_street_grid(p, f), SQ25_OK);
        sq25_field_destroy(f);
        sq25_ctx_destroy(reader);
    }
    sq25_warning *w = NULL;
    assert_int_equal(sq25_pipeline_run(p, &w), SQ25_OK);
    /* 900 s at the files' 300 s step: 3 leads, the last valid at 17:15 UTC (1625418900). */
    assert_int_equal(sq25_pipeline_forecast_count(p), 3);
    assert_int_equal(sq25_field_valid_time(sq25_pipeline_forecast(p, 2)), 1625418900);
    sq25_warning_destroy(w);
    sq25_pipeline_destroy(p);
    sq25_ctx_destroy(ctx);
}

/* Frames without a single valid cell: the run succeeds (nothing to forecast), but its
 * outputs name the frames "[no data: every cell NaN]" instead of reading as an all-clear. */
static void test_pipeline_all_nan_frames(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_pipeline *p = NULL;
    assert_int_equal(sq25_pipeline_create(ctx, &p), SQ25_OK);
    assert_int_equal(sq25_pipeline_set_horizon(p, 900), SQ25_OK);
    assert_int_equal(sq25_warn_options_set_horizon(sq25_pipeline_warn_options(p), 900), SQ25_OK);
    const double gt[6] = {500000, 1000, 0, 5600000, 0, -1000};
    for (int i = 0; i < 3; i++) {
        sq25_field *f = NULL; /* sq25_field_create fills with NaN */
        assert_int_equal(sq25_field_create(ctx, 40, 30, "EPSG:32631", gt, 1625417400 + 300 * i,
                                           &f),
                         SQ25_OK);
        assert_int_equal(sq25_pipeline_push_frame(p, f), SQ25_OK);
        sq25_field_destroy(f);
    }
    sq25_warning *w = NULL;
    assert_int_equal(sq25_pipeline_run(p, &w), SQ25_OK);
    char path[600];
    snprintf(path, sizeof path, "%s/nan-summary.json", test_tmpdir());
    assert_int_equal(sq25_warning_write_summary_json(w, path), SQ25_OK);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, fp);
    text[n] = '\0';
    fclose(fp);
    /* the three frames are unnamed (made here): their valid times name them */
    assert_non_null(strstr(text, "2021-07-04T17:00:00Z [no data: every cell NaN]"));
    sq25_warning_destroy(w);
    sq25_pipeline_destroy(p);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_range),
        cmocka_unit_test(test_csv_int64_max_row),
        cmocka_unit_test(test_csv_span_step_900),
        cmocka_unit_test(test_csv_4000_years),
        cmocka_unit_test(test_csv_mm_beyond_float),
        cmocka_unit_test(test_esri_value_beyond_float),
        cmocka_unit_test(test_bzip2_of_zeros),
        cmocka_unit_test(test_limits_api),
        cmocka_unit_test(test_odim_declared_20000),
        cmocka_unit_test(test_odim_accumulation_window),
        cmocka_unit_test(test_netcdf_declared_times),
        cmocka_unit_test(test_knmi_column_count),
        cmocka_unit_test(test_knmi_product_span),
        cmocka_unit_test(test_ensemble_reference_time),
        cmocka_unit_test(test_ensemble_unwritten_grids),
        cmocka_unit_test(test_cml_time_range),
        cmocka_unit_test(test_cf_declared_times),
        cmocka_unit_test(test_cml_count_product),
        cmocka_unit_test(test_cml_declared_times),
        cmocka_unit_test(test_gauge_double_times),
        cmocka_unit_test(test_station_longitude),
        cmocka_unit_test(test_pipeline_short_lived_context),
        cmocka_unit_test(test_pipeline_all_nan_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
