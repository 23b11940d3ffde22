/* The ensemble writer's second path: a dataset whose stored form is not the one the writer
 * compresses for (little-endian float32, shuffle then deflate; a big-endian host) has its
 * grids written through HDF5's own filters with a plain H5Dwrite. That never happens on this
 * host, so the test switches it on with the internal test hook and checks, with HDF5 and zlib
 * directly (not the library's reader), that
 *  - every grid variable of the file reads back exactly as in the file the usual path writes,
 *  - the stored chunks are then HDF5's own: the shuffled floats through zlib's compress2 at
 *    the level the variable declares (HDF5's deflate filter, as its documentation gives it),
 *  - and the library's reader returns the ensemble bit for bit. */
#include "support.h"

#include "ensemble_internal.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum { W = 64, H = 48, LEADS = 4, MEMBERS = 4 };

/* The grid variables the writer stores (docs/ensemble.md). */
static const char *const grid_names[] = {
    "exceedance_probability", "mean_rate", "rate_quantile", "rainfall_rate",
    "accumulation_probability", "accumulation_mean", "accumulation_quantile", "accumulation"};
#define GRID_VARS (sizeof grid_names / sizeof grid_names[0])

/* Three frames of a blob moving east by 2 cells a step; a nodata corner. */
static void make_frames(sq25_ctx *ctx, sq25_field *frames[3])
{
    const double gt[6] = {500000, 1000, 0, 5800000, 0, -1000};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(sq25_field_create(ctx, W, H, "EPSG:32631", gt, 1625410800 + 300 * k,
                                           &frames[k]), SQ25_OK);
        float *d = sq25_field_data(frames[k]);
        for (int r = 0; r < H; r++)
            for (int c = 0; c < W; c++) {
                double dx = c - 20 - 2 * k, dy = r - 24;
                double v = 15 * exp(-(dx * dx + dy * dy) / 50.0);
                d[r * W + c] = v < 0.05 ? 0.0f : (float)v;
            }
        d[0] = NAN;
    }
}

static sq25_ensemble *run_ensemble(sq25_ctx *ctx, sq25_field *frames[3])
{
    static float u[W * H], v[W * H];
    for (int i = 0; i < W * H; i++) u[i] = 2, v[i] = 0;
    sq25_ensemble_options *o = NULL;
    assert_int_equal(sq25_ensemble_options_create(ctx, &o), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_members(o, MEMBERS), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_seed(o, 7), SQ25_OK);
    assert_int_equal(sq25_ensemble_options_set_keep_members(o, 1), SQ25_OK);
    const double quantiles[2] = {0.5, 0.9};
    assert_int_equal(sq25_ensemble_options_set_quantiles(o, 2, quantiles), SQ25_OK);
    const int minutes[2] = {10, 20};
    assert_int_equal(sq25_ensemble_options_set_accumulations(o, 2, minutes), SQ25_OK);
    sq25_ensemble *e = NULL;
    assert_int_equal(sq25_ensemble_run(ctx, o, (const sq25_field *const *)frames, 3, u, v, LEADS,
                                       &e), SQ25_OK);
    sq25_ensemble_options_destroy(o);
    return e;
}

/* Every value of dataset name in file f as float32; *n values. */
static float *read_grids(hid_t f, const char *name, size_t *n)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    assert_true(d >= 0);
    hid_t space = H5Dget_space(d);
    *n = (size_t)H5Sget_simple_extent_npoints(space);
    float *v = malloc(*n * sizeof *v);
    assert_non_null(v);
    assert_true(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Sclose(space);
    H5Dclose(d);
    return v;
}

/* HDF5's shuffle filter: byte k of every element into plane k. */
static void shuffle4(const float *in, size_t n, unsigned char *out)
{
    const unsigned char *b = (const unsigned char *)in;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 4; k++) out[(size_t)k * n + i] = b[4 * i + (size_t)k];
}

/* The first chunk (the first grid, H x W) of dataset name as stored, against the shuffled
 * first grid through compress2 at the level of its deflate filter. */
static void first_chunk_is_hdf5s_own(hid_t f, const char *name, const float *first_grid)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT), dcpl = H5Dget_create_plist(d);
    assert_int_equal(H5Pget_nfilters(dcpl), 2);
    unsigned flags, level[4];
    size_t n_cd = 4;
    assert_int_equal(H5Pget_filter2(dcpl, 0, &flags, &n_cd, level, 0, NULL, NULL),
                     H5Z_FILTER_SHUFFLE);
    n_cd = 4;
    assert_int_equal(H5Pget_filter2(dcpl, 1, &flags, &n_cd, level, 0, NULL, NULL),
                     H5Z_FILTER_DEFLATE);
    const hsize_t origin[4] = {0, 0, 0, 0};
    hsize_t stored = 0;
    assert_true(H5Dget_chunk_storage_size(d, origin, &stored) >= 0);
    unsigned char *raw = malloc(stored), *shuffled = malloc(W * H * 4);
    uLongf want_n = compressBound(W * H * 4);
    unsigned char *want = malloc(want_n);
    uint32_t mask = 0;
    assert_true(H5Dread_chunk(d, H5P_DEFAULT, origin, &mask, raw) >= 0);
    assert_int_equal(mask, 0); /* both filters applied */
    shuffle4(first_grid, W * H, shuffled);
    assert_int_equal(compress2(want, &want_n, shuffled, W * H * 4, (int)level[0]), Z_OK);
    assert_int_equal(stored, want_n);
    assert_memory_equal(raw, want, want_n);
    free(raw), free(shuffled), free(want);
    H5Pclose(dcpl);
    H5Dclose(d);
}

static void plain_write_path_reads_back_the_same(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *frames[3];
    make_frames(ctx, frames);
    sq25_ensemble *e = run_ensemble(ctx, frames);
    char usual[4096], plain[4096];
    snprintf(usual, sizeof usual, "%s/usual.nc", test_tmpdir());
    snprintf(plain, sizeof plain, "%s/plain.nc", test_tmpdir());
    assert_int_equal(sq25_ensemble_write_netcdf(e, usual), SQ25_OK);
    sq25__ensemble_write_through_filters = true;
    const int rc = sq25_ensemble_write_netcdf(e, plain);
    sq25__ensemble_write_through_filters = false;
    assert_int_equal(rc, SQ25_OK);

    hid_t fu = H5Fopen(usual, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t fp = H5Fopen(plain, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(fu >= 0 && fp >= 0);
    for (size_t v = 0; v < GRID_VARS; v++) {
        size_t nu = 0, np = 0;
        float *gu = read_grids(fu, grid_names[v], &nu), *gp = read_grids(fp, grid_names[v], &np);
        assert_int_equal(nu, np);
        assert_true(nu >= (size_t)W * H);
        assert_memory_equal(gu, gp, nu * sizeof *gu);
        first_chunk_is_hdf5s_own(fp, grid_names[v], gp);
        free(gu), free(gp);
    }
    H5Fclose(fu);
    H5Fclose(fp);

    sq25_ensemble *back = NULL;
    assert_int_equal(sq25_ensemble_read_netcdf(ctx, plain, &back), SQ25_OK);
    const size_t bytes = (size_t)W * H * sizeof(float);
    for (int k = 0; k < LEADS; k++) {
        assert_memory_equal(sq25_field_data_const(sq25_ensemble_mean(back, k)),
                            sq25_field_data_const(sq25_ensemble_mean(e, k)), bytes);
        assert_memory_equal(sq25_field_data_const(sq25_ensemble_probability(back, k, 1)),
                            sq25_field_data_const(sq25_ensemble_probability(e, k, 1)), bytes);
        for (int m = 0; m < MEMBERS; m++)
            assert_memory_equal(sq25_field_data_const(sq25_ensemble_member(back, m, k)),
                                sq25_field_data_const(sq25_ensemble_member(e, m, k)), bytes);
    }
    sq25_ensemble_destroy(back);
    sq25_ensemble_destroy(e);
    for (int k = 0; k < 3; k++) sq25_field_destroy(frames[k]);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_write_path_reads_back_the_same),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
