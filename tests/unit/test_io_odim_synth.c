/* test_io_odim_synth.c -- ODIM_H5 conversions on small files built here with the HDF5 C API:
 * DBZH (uint8, gain/offset/nodata/undetect in data1/what) by Marshall-Palmer, ACRR (uint16,
 * attributes inherited from dataset2/what) over its window, quantity preference; and KNMI
 * calibration formulas in other linear spellings on copies of a real KNMI file; RATE in chunked
 * layouts (deflate alone, shuffle + deflate, none; missing, unfiltered and corrupt chunks) of
 * five stored types. Expected values are analytic. */
#include "support.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KNMI_0100 "radar/knmi_20100826/RAD_NL25_RAP_5min_201008260100.h5"

static const char *tmp_file(const char *name)
{
    static char buf[4][512];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 512, "%s/%s", test_tmpdir(), name);
    return p;
}

static void attr_string(hid_t fid, const char *obj, const char *name, const char *value)
{
    if (H5Aexists_by_name(fid, obj, name, H5P_DEFAULT) > 0)
        H5Adelete_by_name(fid, obj, name, H5P_DEFAULT);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(value) + 1);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate_by_name(fid, obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0 && H5Awrite(a, t, value) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
}

static void attr_double(hid_t fid, const char *obj, const char *name, double v)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate_by_name(fid, obj, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT,
                                H5P_DEFAULT);
    assert_true(a >= 0 && H5Awrite(a, H5T_NATIVE_DOUBLE, &v) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
}

static void group(hid_t fid, const char *path)
{
    hid_t g = H5Gcreate2(fid, path, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(g >= 0);
    H5Gclose(g);
}

static void data_2d(hid_t fid, const char *path, hid_t type, const double *v)
{
    hsize_t dims[2] = {3, 4};
    hid_t sp = H5Screate_simple(2, dims, NULL);
    hid_t d = H5Dcreate2(fid, path, type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(d >= 0 && H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Dclose(d);
    H5Sclose(sp);
}

/* 4 x 3 grid, 1 km cells, spherical equidistant cylindrical projection with the upper-left
 * corner at lon 0, lat 0 (so UL projects to x = y = 0 exactly). */
static hid_t odim_skeleton(const char *path)
{
    hid_t fid = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(fid >= 0);
    attr_string(fid, "/", "Conventions", "ODIM_H5/V2_1");
    group(fid, "what");
    attr_string(fid, "what", "object", "IMAGE");
    attr_string(fid, "what", "date", "20200101");
    attr_string(fid, "what", "time", "120000");
    attr_string(fid, "what", "source", "WMO:06260");
    group(fid, "where");
    attr_string(fid, "where", "projdef", "+proj=eqc +a=6371000 +b=6371000 +units=m");
    attr_double(fid, "where", "xsize", 4);
    attr_double(fid, "where", "ysize", 3);
    attr_double(fid, "where", "xscale", 1000);
    attr_double(fid, "where", "yscale", 1000);
    attr_double(fid, "where", "UL_lon", 0);
    attr_double(fid, "where", "UL_lat", 0);
    return fid;
}

static const double dbz_raw[12] = {255, 0, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200};

/* dataset1/data1/what of a quantity with its scaling and nodata code */
static void data1_what(hid_t fid, const char *quantity, double gain, double offset,
                       double nodata)
{
    group(fid, "dataset1");
    group(fid, "dataset1/data1");
    group(fid, "dataset1/data1/what");
    attr_string(fid, "dataset1/data1/what", "quantity", quantity);
    attr_double(fid, "dataset1/data1/what", "gain", gain);
    attr_double(fid, "dataset1/data1/what", "offset", offset);
    attr_double(fid, "dataset1/data1/what", "nodata", nodata);
}

static void add_dbzh(hid_t fid)
{
    data1_what(fid, "DBZH", 0.5, -32, 255);
    attr_double(fid, "dataset1/data1/what", "undetect", 0);
    data_2d(fid, "dataset1/data1/data", H5T_STD_U8LE, dbz_raw);
}

static void test_dbzh_marshall_palmer(void **state)
{
    (void)state;
    const char *path = tmp_file("dbzh.h5");
    hid_t fid = odim_skeleton(path);
    add_dbzh(fid);
    H5Fclose(fid);
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = NULL;
    assert_int_equal(sq25_read_field(ctx, path, &f), SQ25_OK);
    const float *d = sq25_field_data(f);
    assert_true(isnan(d[0]));   /* nodata 255 */
    assert_true(d[1] == 0.0f);  /* undetect 0 */
    for (int k = 2; k < 12; k++) {
        double dbz = 0.5 * dbz_raw[k] - 32;
        double mmh = pow(pow(10, dbz / 10) / 200, 1 / 1.6); /* Z = 200 R^1.6 */
        assert_float_equal(d[k], mmh, 1e-5 * mmh);
    }
    assert_non_null(strstr(sq25_field_meta(f, SQ25_META_CONVERSION), "Marshall-Palmer"));
    double gt[6];
    sq25_field_geotransform(f, gt);
    assert_float_equal(gt[0], 0, 1e-6);
    assert_float_equal(gt[3], 0, 1e-6);
    sq25_field_destroy(f);
    /* The context's relation, here Z = 250 R^1.2 (a tropical one): R = (Z / 250)^(1/1.2),
     * and the relation in the metadata. */
    assert_int_equal(sq25_ctx_set_zr(ctx, 250, 1.2), SQ25_OK);
    assert_int_equal(sq25_read_field(ctx, path, &f), SQ25_OK);
    for (int k = 2; k < 12; k++) {
        double dbz = 0.5 * dbz_raw[k] - 32;
        double mmh = pow(pow(10, dbz / 10) / 250, 1 / 1.2);
        assert_float_equal(sq25_field_data(f)[k], mmh, 1e-5 * mmh);
    }
    assert_non_null(strstr(sq25_field_meta(f, SQ25_META_CONVERSION), "Z = 250 R^1.2"));
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

static void test_acrr_preferred_over_dbzh(void **state)
{
    (void)state;
    const char *path = tmp_file("acrr.h5");
    hid_t fid = odim_skeleton(path);
    add_dbzh(fid);
    group(fid, "dataset2");
    group(fid, "dataset2/what"); /* everything inherited from here: no data1/what */
    attr_string(fid, "dataset2/what", "quantity", "ACRR");
    attr_double(fid, "dataset2/what", "gain", 0.01);
    attr_double(fid, "dataset2/what", "offset", 0);
    attr_double(fid, "dataset2/what", "nodata", 65535);
    attr_string(fid, "dataset2/what", "startdate", "20200101");
    attr_string(fid, "dataset2/what", "starttime", "113000");
    attr_string(fid, "dataset2/what", "enddate", "20200101");
    attr_string(fid, "dataset2/what", "endtime", "120000");
    group(fid, "dataset2/data1");
    double raw[12];
    for (int k = 0; k < 12; k++) raw[k] = 100.0 * k;
    raw[11] = 65535;
    data_2d(fid, "dataset2/data1/data", H5T_STD_U16LE, raw);
    H5Fclose(fid);
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = NULL;
    assert_int_equal(sq25_read_field(ctx, path, &f), SQ25_OK);
    assert_string_equal(sq25_field_meta(f, SQ25_META_QUANTITY), "ACRR");
    assert_int_equal(sq25_field_accumulation_s(f), 1800);
    const float *d = sq25_field_data(f);
    for (int k = 0; k < 11; k++) /* 0.01 * raw mm per 30 min, times 2 for mm/h */
        assert_float_equal(d[k], 0.01 * 100.0 * k * 2.0, 1e-5);
    assert_true(isnan(d[11]));
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

static void test_unsupported_quantity_and_object(void **state)
{
    (void)state;
    const char *path = tmp_file("vrad.h5");
    hid_t fid = odim_skeleton(path);
    add_dbzh(fid);
    attr_string(fid, "dataset1/data1/what", "quantity", "VRADH");
    H5Fclose(fid);
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = NULL;
    assert_int_equal(sq25_read_field(ctx, path, &f), SQ25_ERR_BAD_QUANTITY);
    assert_non_null(strstr(sq25_errmsg(ctx), "VRADH"));
    fid = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    attr_string(fid, "what", "object", "PVOL");
    H5Fclose(fid);
    assert_int_equal(sq25_read_field(ctx, path, &f), SQ25_ERR_UNSUPPORTED);
    assert_non_null(strstr(sq25_errmsg(ctx), "PVOL"));
    sq25_ctx_destroy(ctx);
}

/* Copy a file byte for byte. */
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

/* Other spellings of a linear KNMI formula on a copy of a real frame. The reference PV 67 at
 * (508,423) comes from h5dump -d /image1/image_data -s "508,423" -c "1,1" FILE. */
static void test_knmi_formula_spellings(void **state)
{
    (void)state;
    static const struct {
        const char *formula;
        double slope, intercept;
    } cases[] = {{"GEO = 0.5 + 0.02 * PV", 0.02, 0.5},
                 {"GEO=PV*0.01-0.25", 0.01, -0.25},
                 {"GEO=1.0E-2*PV", 0.01, 0}};
    char src[512];
    snprintf(src, sizeof src, "%s", test_data_path(KNMI_0100));
    sq25_ctx *ctx = sq25_ctx_create();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = tmp_file("knmi-formula.h5");
        copy_file(src, path);
        hid_t fid = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
        attr_string(fid, "image1/calibration", "calibration_formulas", cases[i].formula);
        H5Fclose(fid);
        sq25_field *f = NULL;
        assert_int_equal(sq25_read_field(ctx, path, &f), SQ25_OK);
        float v = sq25_field_data(f)[508 * 700 + 423];
        assert_float_equal(v, (cases[i].slope * 67 + cases[i].intercept) * 12, 1e-4);
        sq25_field_destroy(f);
    }
    sq25_ctx_destroy(ctx);
}

/* ---- chunked layouts: read chunk by chunk (deflate alone) or through HDF5's filters ----
 * RATE in mm/h with gain 0.5 and offset 1 (so raw value k reads as 0.5 k + 1), on the 4 x 3
 * grid in chunks of 2 rows x 3 columns: the chunks of the last row and column reach past the
 * grid. Expected values are that formula on the raw values written. */

enum { CHUNK_DEFLATE, CHUNK_SHUFFLE_DEFLATE, CHUNK_PLAIN };

static void add_rate_group(hid_t fid) { data1_what(fid, "RATE", 0.5, 1, 250); }

static hid_t chunked_dataset(hid_t fid, hid_t type, int filters)
{
    hsize_t dims[2] = {3, 4}, chunk[2] = {2, 3};
    hid_t sp = H5Screate_simple(2, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    assert_true(H5Pset_chunk(dcpl, 2, chunk) >= 0);
    if (filters == CHUNK_SHUFFLE_DEFLATE) assert_true(H5Pset_shuffle(dcpl) >= 0);
    if (filters != CHUNK_PLAIN) assert_true(H5Pset_deflate(dcpl, 6) >= 0);
    hid_t d = H5Dcreate2(fid, "dataset1/data1/data", type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    assert_true(d >= 0);
    H5Pclose(dcpl);
    H5Sclose(sp);
    return d;
}

static const char *chunked_file(const char *name, hid_t type, int filters, const double *raw)
{
    const char *path = tmp_file(name);
    hid_t fid = odim_skeleton(path);
    add_rate_group(fid);
    hid_t d = chunked_dataset(fid, type, filters);
    assert_true(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) >= 0);
    H5Dclose(d);
    H5Fclose(fid);
    return path;
}

static void expect_rates(const char *path, const double *raw)
{
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = NULL;
    assert_int_equal(sq25_read_field(ctx, path, &f), SQ25_OK);
    const float *d = sq25_field_data(f);
    for (int k = 0; k < 12; k++) {
        if (raw[k] == 250) assert_true(isnan(d[k]));
        else assert_true(d[k] == (float)(0.5 * raw[k] + 1));
    }
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

static void test_chunked_types_and_filters(void **state)
{
    (void)state;
    const double raw[12] = {0, 1, 2, 3, 4, 5, 250, 7, 8, 9, 10, 249}; /* 250: nodata */
    const hid_t types[5] = {H5T_IEEE_F32LE, H5T_IEEE_F64LE, H5T_STD_U8LE, H5T_STD_U16LE,
                            H5T_IEEE_F32BE};
    const int filters[3] = {CHUNK_DEFLATE, CHUNK_SHUFFLE_DEFLATE, CHUNK_PLAIN};
    for (int t = 0; t < 5; t++)
        for (int k = 0; k < 3; k++) {
            char name[64];
            snprintf(name, sizeof name, "chunked_%d_%d.h5", t, k);
            expect_rates(chunked_file(name, types[t], filters[k], raw), raw);
        }
}

/* A chunk never written reads as the fill value (0 here: raw 0 reads 1 mm/h); a chunk stored
 * with the filter skipped (filter mask bit 0, as H5Dwrite_chunk allows) reads as its bytes. */
static void test_chunk_missing_or_unfiltered(void **state)
{
    (void)state;
    const char *path = tmp_file("chunk_missing.h5");
    hid_t fid = odim_skeleton(path);
    add_rate_group(fid);
    hid_t d = chunked_dataset(fid, H5T_IEEE_F32LE, CHUNK_DEFLATE);
    /* chunk (0, 0) only, rows 0-1 x columns 0-2, stored without compression */
    const float plain[6] = {4, 5, 6, 7, 8, 9};
    hsize_t offset[2] = {0, 0};
    assert_true(H5Dwrite_chunk(d, H5P_DEFAULT, 1u, offset, sizeof plain, plain) >= 0);
    H5Dclose(d);
    H5Fclose(fid);
    const double raw[12] = {4, 5, 6, 0, 7, 8, 9, 0, 0, 0, 0, 0};
    expect_rates(path, raw);
    /* the other chunks written too: every chunk present, one of them unfiltered */
    fid = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    d = H5Dopen2(fid, "dataset1/data1/data", H5P_DEFAULT);
    const float rest[12] = {4, 5, 6, 3, 7, 8, 9, 2, 10, 11, 12, 13};
    hsize_t start[2] = {0, 3}, count[2] = {3, 1};
    hid_t fsp = H5Dget_space(d), msp = H5Screate_simple(2, count, NULL);
    float column[3] = {rest[3], rest[7], rest[11]};
    assert_true(H5Sselect_hyperslab(fsp, H5S_SELECT_SET, start, NULL, count, NULL) >= 0);
    assert_true(H5Dwrite(d, H5T_NATIVE_FLOAT, msp, fsp, H5P_DEFAULT, column) >= 0);
    H5Sclose(msp);
    hsize_t start2[2] = {2, 0}, count2[2] = {1, 3};
    msp = H5Screate_simple(2, count2, NULL);
    assert_true(H5Sselect_hyperslab(fsp, H5S_SELECT_SET, start2, NULL, count2, NULL) >= 0);
    assert_true(H5Dwrite(d, H5T_NATIVE_FLOAT, msp, fsp, H5P_DEFAULT, rest + 8) >= 0);
    H5Sclose(msp);
    H5Sclose(fsp);
    H5Dclose(d);
    H5Fclose(fid);
    double all[12];
    for (int k = 0; k < 12; k++) all[k] = rest[k];
    expect_rates(path, all);
}

/* A chunk whose bytes are not a zlib stream: the read fails with a clear error (no crash). */
static void test_chunk_corrupt(void **state)
{
    (void)state;
    const char *path = tmp_file("chunk_corrupt.h5");
    const double raw[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    chunked_file("chunk_corrupt.h5", H5T_IEEE_F32LE, CHUNK_DEFLATE, raw);
    hid_t fid = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t d = H5Dopen2(fid, "dataset1/data1/data", H5P_DEFAULT);
    const unsigned char junk[16] = {0x78, 0x9c, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
    hsize_t offset[2] = {2, 3};
    assert_true(H5Dwrite_chunk(d, H5P_DEFAULT, 0, offset, sizeof junk, junk) >= 0);
    H5Dclose(d);
    H5Fclose(fid);
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = NULL;
    assert_int_equal(sq25_read_field(ctx, path, &f), SQ25_ERR_FILE_TRUNCATED);
    assert_null(f);
    assert_non_null(strstr(sq25_errmsg(ctx), "chunk_corrupt.h5"));
    sq25_ctx_destroy(ctx);
}

/* ---- the direct chunk read's buffers come from the context's allocator ----
 * An allocator that records the size of each allocation and fails the fail_at-th (from 1). */
typedef struct {
    long fail_at, calls, live;
    size_t sizes[8192];
} recording_alloc;

static void *recording_malloc(void *opaque, size_t size)
{
    recording_alloc *st = opaque;
    if (st->calls < 8192) st->sizes[st->calls] = size;
    if (++st->calls == st->fail_at) return NULL;
    void *p = malloc(size);
    st->live += p != NULL;
    return p;
}

static void recording_free(void *opaque, void *ptr)
{
    recording_alloc *st = opaque;
    st->live -= ptr != NULL;
    free(ptr);
}

/* Each allocation of a read failed in turn: the read fails with SQ25_ERR_NOMEM and nothing
 * left allocated, or it falls back to H5Dread and returns the rates. The allocations it
 * survives are exactly the direct read's buffers, so they go through the context's allocator:
 * one chunk of 2 x 3 float64 (48 bytes) and the stored chunks, each larger than the ones
 * before it (their sizes from HDF5 here, in the order the read visits them). */
static void test_direct_read_buffers_from_ctx_allocator(void **state)
{
    (void)state;
    const double raw[12] = {0, 1, 2, 3, 4, 5, 250, 7, 8, 9, 10, 249};
    const char *path = chunked_file("alloc.h5", H5T_IEEE_F64LE, CHUNK_DEFLATE, raw);
    hsize_t packed[4], grown = 0;
    int n_packed = 0;
    hid_t fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(fid, "dataset1/data1/data", H5P_DEFAULT);
    for (hsize_t r0 = 0; r0 < 3; r0 += 2)
        for (hsize_t c0 = 0; c0 < 4; c0 += 3) {
            const hsize_t offset[2] = {r0, c0};
            hsize_t stored = 0;
            assert_true(H5Dget_chunk_storage_size(d, offset, &stored) >= 0 && stored > 0);
            if (stored > grown) packed[n_packed++] = grown = stored;
        }
    H5Dclose(d);
    H5Fclose(fid);
    static recording_alloc st;
    memset(&st, 0, sizeof st);
    sq25_ctx *ctx = sq25_ctx_create_with_allocator(recording_malloc, recording_free, &st);
    sq25_field *f = NULL;
    assert_int_equal(sq25_read_field(ctx, path, &f), SQ25_OK);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
    const long calls = st.calls;
    assert_true(calls < 8192);
    int chunk_buffers = 0, packed_buffers = 0;
    for (long k = 1; k <= calls; k++) {
        memset(&st, 0, sizeof st);
        st.fail_at = k;
        ctx = sq25_ctx_create_with_allocator(recording_malloc, recording_free, &st);
        f = NULL;
        const int rc = ctx ? sq25_read_field(ctx, path, &f) : SQ25_ERR_NOMEM;
        if (rc == SQ25_OK) {
            const float *v = sq25_field_data(f);
            for (int i = 0; i < 12; i++)
                if (raw[i] == 250) assert_true(isnan(v[i]));
                else assert_true(v[i] == (float)(0.5 * raw[i] + 1));
            const size_t size = st.sizes[k - 1];
            bool is_packed = false;
            for (int j = 0; j < n_packed; j++) is_packed |= size == packed[j];
            assert_true(size == 2 * 3 * sizeof(double) || is_packed);
            if (size == 2 * 3 * sizeof(double)) chunk_buffers++;
            else packed_buffers++;
        } else {
            assert_int_equal(rc, SQ25_ERR_NOMEM);
            assert_null(f);
        }
        sq25_field_destroy(f);
        sq25_ctx_destroy(ctx);
        assert_int_equal(st.live, 0);
    }
    assert_int_equal(chunk_buffers, 1);
    assert_int_equal(packed_buffers, n_packed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dbzh_marshall_palmer),
        cmocka_unit_test(test_acrr_preferred_over_dbzh),
        cmocka_unit_test(test_unsupported_quantity_and_object),
        cmocka_unit_test(test_knmi_formula_spellings),
        cmocka_unit_test(test_chunked_types_and_filters),
        cmocka_unit_test(test_chunk_missing_or_unfiltered),
        cmocka_unit_test(test_chunk_corrupt),
        cmocka_unit_test(test_direct_read_buffers_from_ctx_allocator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
