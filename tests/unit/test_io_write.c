/* test_io_write.c -- the ODIM_H5 writer: round trips through the project's own reader (a real
 * RMI frame and an analytic field), the file's layout as a plain HDF5/ODIM reader sees it, a
 * field of random low bytes read back through HDF5's filters, and removal of the partial file
 * on failure. */
#include "support.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RMI_1650 "radar/rmi_20210704/20210704165000.rad.best.comp.rate.qpe.hdf"
#define EQC "+proj=eqc +a=6371000 +b=6371000 +units=m"

static const char *tmp_file(const char *name)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", test_tmpdir(), name);
    return buf;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Same size, same georeference, bit-identical values (NaN where NaN). */
static void assert_same_field(sq25_field *a, sq25_field *b)
{
    assert_int_equal(sq25_field_width(a), sq25_field_width(b));
    assert_int_equal(sq25_field_height(a), sq25_field_height(b));
    assert_string_equal(sq25_field_projdef(a), sq25_field_projdef(b));
    assert_int_equal(sq25_field_valid_time(a), sq25_field_valid_time(b));
    double ga[6], gb[6];
    sq25_field_geotransform(a, ga);
    sq25_field_geotransform(b, gb);
    for (int k = 0; k < 6; k++) assert_float_equal(ga[k], gb[k], 1e-3); /* metres */
    const float *da = sq25_field_data_const(a), *db = sq25_field_data_const(b);
    size_t n = (size_t)sq25_field_width(a) * (size_t)sq25_field_height(a);
    for (size_t i = 0; i < n; i++) {
        if (isnan(da[i])) assert_true(isnan(db[i]));
        else assert_true(da[i] == db[i]);
    }
}

static void test_round_trip_rmi(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *src = NULL, *back = NULL;
    assert_int_equal(sq25_read_field(ctx, test_data_path(RMI_1650), &src), SQ25_OK);
    const char *out = tmp_file("rmi-roundtrip.h5");
    assert_int_equal(sq25_write_odim(ctx, out, src), SQ25_OK);
    assert_int_equal(sq25_read_field(ctx, out, &back), SQ25_OK);
    assert_same_field(src, back);
    assert_string_equal(sq25_field_meta(back, SQ25_META_FORMAT), "ODIM_H5/V2_2");
    assert_string_equal(sq25_field_meta(back, SQ25_META_PRODUCER), "ORG:25square");
    assert_string_equal(sq25_field_meta(back, SQ25_META_QUANTITY), "RATE");
    /* The written corners are those of the grid, so they match the RMI file's own /where
     * corners (h5dump -m '%.9g' -a /where/UL_lon -a /where/UL_lat FILE: -0.925464984,
     * 53.6928559) to 1e-4 degree, the precision the RMI file stores. */
    hid_t fid = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(fid >= 0);
    double ul_lon = 0, ul_lat = 0, nodata = 0;
    hid_t a = H5Aopen_by_name(fid, "where", "UL_lon", H5P_DEFAULT, H5P_DEFAULT);
    H5Aread(a, H5T_NATIVE_DOUBLE, &ul_lon);
    H5Aclose(a);
    a = H5Aopen_by_name(fid, "where", "UL_lat", H5P_DEFAULT, H5P_DEFAULT);
    H5Aread(a, H5T_NATIVE_DOUBLE, &ul_lat);
    H5Aclose(a);
    assert_float_equal(ul_lon, -0.925464984, 1e-4);
    assert_float_equal(ul_lat, 53.6928559, 1e-4);
    /* What a generic ODIM reader sees: float32 data, nodata in dataset1/what, and the
     * nodata code (not NaN) at a no-data cell such as (0,0). */
    a = H5Aopen_by_name(fid, "dataset1/what", "nodata", H5P_DEFAULT, H5P_DEFAULT);
    H5Aread(a, H5T_NATIVE_DOUBLE, &nodata);
    H5Aclose(a);
    assert_float_equal(nodata, -9999000.0, 0);
    hid_t d = H5Dopen2(fid, "dataset1/data1/data", H5P_DEFAULT);
    hid_t t = H5Dget_type(d);
    assert_true(H5Tequal(t, H5T_IEEE_F32LE) > 0);
    H5Tclose(t);
    float first[700];
    hid_t fsp = H5Dget_space(d);
    hsize_t start[2] = {0, 0}, count[2] = {1, 700};
    H5Sselect_hyperslab(fsp, H5S_SELECT_SET, start, NULL, count, NULL);
    hid_t msp = H5Screate_simple(2, count, NULL);
    assert_true(H5Dread(d, H5T_NATIVE_FLOAT, msp, fsp, H5P_DEFAULT, first) >= 0);
    assert_float_equal(first[0], -9999000.0, 0);
    H5Sclose(msp);
    H5Sclose(fsp);
    H5Dclose(d);
    H5Fclose(fid);
    sq25_field_destroy(back);
    sq25_field_destroy(src);
    sq25_ctx_destroy(ctx);
}

/* Analytic field: value(r,c) = r*10 + c/4, a NaN, an infinity (written as nodata, read back
 * as NaN), zeros; two datasets, the second an auxiliary quantity. */
static void test_writer_two_datasets(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    const double gt[6] = {-500000, 2000, 0, 6000000, 0, -2000};
    sq25_field *f = NULL, *aux = NULL, *back = NULL;
    assert_int_equal(sq25_field_create(ctx, 40, 30, EQC, gt, 1625417400, &f), SQ25_OK);
    float *d = sq25_field_data(f);
    for (int r = 0; r < 30; r++)
        for (int c = 0; c < 40; c++) d[r * 40 + c] = (float)(r * 10 + c / 4.0);
    d[5] = NAN;
    d[6] = INFINITY;
    assert_int_equal(sq25_field_clone(f, &aux), SQ25_OK);
    const char *out = tmp_file("two.h5");
    sq25_odim_writer *w = NULL;
    assert_int_equal(sq25_odim_writer_create(ctx, out, &w), SQ25_OK);
    assert_int_equal(sq25_odim_writer_add(w, aux, "UMOT", 1625417100, 1625417400), SQ25_OK);
    assert_int_equal(sq25_odim_writer_add(w, f, "RATE", 1625417100, 1625417400), SQ25_OK);
    /* A field on another grid is refused and the file stays valid. */
    sq25_field *other = NULL;
    assert_int_equal(sq25_field_create(ctx, 41, 30, EQC, gt, 0, &other), SQ25_OK);
    assert_int_equal(sq25_odim_writer_add(w, other, "RATE", 0, 0), SQ25_ERR_GRID_MISMATCH);
    sq25_field_destroy(other);
    assert_int_equal(sq25_odim_writer_close(w), SQ25_OK);
    /* The reader prefers RATE (dataset2) over the unknown UMOT (dataset1). */
    assert_int_equal(sq25_read_field(ctx, out, &back), SQ25_OK);
    d[6] = NAN;
    assert_same_field(f, back);
    sq25_field_destroy(back);
    sq25_field_destroy(aux);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

/* Values whose low mantissa bytes are random (a linear congruential generator's high bits,
 * as in Numerical Recipes: x = 1664525 x + 1013904223 mod 2^32): the writer's pieces of those
 * byte planes go into stored blocks, the rest through deflate, in one zlib stream per chunk.
 * HDF5's own shuffle and deflate filters (H5Dread) must give back every value, NaN as the
 * nodata code. */
static void test_writer_random_low_bytes(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    const int n = 600; /* byte planes of 360000 bytes: the first piece is all random */
    const double gt[6] = {-500000, 1000, 0, 6000000, 0, -1000};
    sq25_field *f = NULL;
    assert_int_equal(sq25_field_create(ctx, n, n, EQC, gt, 1625417400, &f), SQ25_OK);
    float *d = sq25_field_data(f);
    uint32_t x = 12345;
    for (int i = 0; i < n * n; i++) {
        x = 1664525u * x + 1013904223u;
        d[i] = 1.0f + (float)(x >> 9) / 8388608.0f; /* 1 + random 23-bit mantissa */
    }
    for (int i = 0; i < n * n; i += 997) d[i] = NAN;
    const char *out = tmp_file("random.h5");
    assert_int_equal(sq25_write_odim(ctx, out, f), SQ25_OK);
    float *back = malloc((size_t)n * n * sizeof *back);
    assert_non_null(back);
    hid_t fid = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t ds = H5Dopen2(fid, "dataset1/data1/data", H5P_DEFAULT);
    assert_true(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, back) >= 0);
    H5Dclose(ds);
    H5Fclose(fid);
    for (int i = 0; i < n * n; i++)
        assert_true(back[i] == (isnan(d[i]) ? -9999000.0f : d[i]));
    free(back);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

static void test_write_failure_removes_file(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    const double gt[6] = {0, 1000, 0, 0, 0, -1000};
    sq25_field *f = NULL;
    assert_int_equal(sq25_field_create(ctx, 4, 3, EQC, gt, 0, &f), SQ25_OK);
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no-such-dir/x.h5", test_tmpdir());
    assert_int_equal(sq25_write_odim(ctx, bad, f), SQ25_ERR_WRITE);
    assert_non_null(strstr(sq25_errmsg(ctx), "no-such-dir"));
    assert_false(exists(bad));
    /* A rotated grid cannot be written as ODIM: the partial file is removed. */
    const double rotated[6] = {0, 1000, 10, 0, 10, -1000};
    sq25_field *r = NULL;
    assert_int_equal(sq25_field_create(ctx, 4, 3, EQC, rotated, 0, &r), SQ25_OK);
    const char *out = tmp_file("rotated.h5");
    assert_int_equal(sq25_write_odim(ctx, out, r), SQ25_ERR_UNSUPPORTED);
    assert_false(exists(out));
    assert_int_equal(sq25_odim_writer_close(NULL), SQ25_OK);
    sq25_field_destroy(r);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_rmi),
        cmocka_unit_test(test_writer_two_datasets),
        cmocka_unit_test(test_writer_random_low_bytes),
        cmocka_unit_test(test_write_failure_removes_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
