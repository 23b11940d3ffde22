/* test_speed.c -- the context's thread pool and the streamed extrapolation: results must not
 * depend on the thread count, and the streamed leads must be those of sq25_extrapolate.
 * Real data (bundled RMI frames) and analytic cases (a uniform whole-cell shift moves values
 * exactly, by the definition of the backward semi-Lagrangian scheme). Expected values are
 * either analytic or the same computation on one thread: the property tested is that the
 * split of the work over threads changes nothing, bit for bit. */
#include "support.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EQC "+proj=eqc +a=6371000 +b=6371000 +units=m"
#define RMI(t) "radar/rmi_20210704/20210704" t "00.rad.best.comp.rate.qpe.hdf"
#define LEADS 6

static void read_frames(sq25_ctx *ctx, sq25_field *frames[3])
{
    /* the storm over the demo's street grid (Luxembourg-Belgium border) */
    const char *names[3] = {RMI("1735"), RMI("1740"), RMI("1745")};
    for (int k = 0; k < 3; k++)
        assert_int_equal(sq25_read_field(ctx, test_data_path(names[k]), &frames[k]), SQ25_OK);
}

/* Bitwise equality, NaN equal to NaN. */
static void assert_same_floats(const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) || isnan(b[i])) assert_true(isnan(a[i]) && isnan(b[i]));
        else assert_memory_equal(&a[i], &b[i], sizeof(float));
    }
}

static void test_thread_setting(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    assert_int_equal(sq25_ctx_threads(ctx), cpus < 1 ? 1 : cpus > 256 ? 256 : (int)cpus);
    assert_int_equal(sq25_ctx_set_threads(ctx, 1), SQ25_OK);
    assert_int_equal(sq25_ctx_threads(ctx), 1);
    assert_int_equal(sq25_ctx_set_threads(ctx, 3), SQ25_OK);
    assert_int_equal(sq25_ctx_threads(ctx), 3);
    assert_int_equal(sq25_ctx_set_threads(ctx, -1), SQ25_ERR_RANGE);
    assert_int_equal(sq25_ctx_set_threads(ctx, 257), SQ25_ERR_RANGE);
    assert_int_equal(sq25_ctx_threads(ctx), 3);
    assert_int_equal(sq25_ctx_set_threads(NULL, 1), SQ25_ERR_INVALID_ARG);
    sq25_ctx_destroy(ctx);
}

/* Motion (dense and lk) and every lead of the extrapolation of real frames on 1, 2 and 3
 * threads (3 on a 2-core machine: more threads than cores still splits the work). */
static void run_chain(int threads, int method, float *u, float *v, float *leads, size_t n)
{
    sq25_ctx *ctx = sq25_ctx_create();
    assert_int_equal(sq25_ctx_set_threads(ctx, threads), SQ25_OK);
    sq25_field *frames[3];
    read_frames(ctx, frames);
    sq25_motion_options *opt = NULL;
    assert_int_equal(sq25_motion_options_create(ctx, &opt), SQ25_OK);
    assert_int_equal(sq25_motion_options_set_method(opt, method), SQ25_OK);
    assert_int_equal(sq25_motion_estimate(ctx, (const sq25_field *const *)frames, 3, opt, u, v),
                     SQ25_OK);
    sq25_field *fc[LEADS];
    assert_int_equal(sq25_extrapolate(ctx, frames[2], u, v, 300, LEADS, 2, fc), SQ25_OK);
    for (int k = 0; k < LEADS; k++) {
        memcpy(leads + (size_t)k * n, sq25_field_data_const(fc[k]), n * sizeof(float));
        sq25_field_destroy(fc[k]);
    }
    sq25_motion_options_destroy(opt);
    for (int k = 0; k < 3; k++) sq25_field_destroy(frames[k]);
    sq25_ctx_destroy(ctx);
}

static void check_method_thread_independent(int method)
{
    const size_t n = 700 * 700;
    float *u1 = malloc(n * sizeof *u1), *v1 = malloc(n * sizeof *v1);
    float *l1 = malloc(LEADS * n * sizeof *l1);
    float *u2 = malloc(n * sizeof *u2), *v2 = malloc(n * sizeof *v2);
    float *l2 = malloc(LEADS * n * sizeof *l2);
    run_chain(1, method, u1, v1, l1, n);
    /* the motion is not trivial: the storm moves (docs/nowcast.md), so a bug that zeroed
     * parts of it would show */
    double speed = 0;
    for (size_t i = 0; i < n; i++) speed += fabs(u1[i]) + fabs(v1[i]);
    assert_true(speed / (double)n > 0.1);
    for (int threads = 2; threads <= 3; threads++) {
        run_chain(threads, method, u2, v2, l2, n);
        assert_same_floats(u1, u2, n);
        assert_same_floats(v1, v2, n);
        assert_same_floats(l1, l2, LEADS * n);
    }
    free(u1), free(v1), free(l1), free(u2), free(v2), free(l2);
}

static void test_dense_chain_thread_independent(void **state)
{
    (void)state;
    check_method_thread_independent(SQ25_MOTION_DENSE);
}

static void test_lk_chain_thread_independent(void **state)
{
    (void)state;
    check_method_thread_independent(SQ25_MOTION_LK);
}

/* The streamed leads are bit-identical to sq25_extrapolate's, into the same reused buffer. */
static void test_streamed_leads_match(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *frames[3];
    read_frames(ctx, frames);
    const size_t n = 700 * 700;
    float *u = malloc(n * sizeof *u), *v = malloc(n * sizeof *v), *buf = malloc(n * sizeof *buf);
    assert_int_equal(sq25_motion_estimate(ctx, (const sq25_field *const *)frames, 3, NULL, u, v),
                     SQ25_OK);
    sq25_field *fc[LEADS];
    assert_int_equal(sq25_extrapolate(ctx, frames[2], u, v, 300, LEADS, 2, fc), SQ25_OK);
    sq25_extrapolator *ex = NULL;
    assert_int_equal(sq25_extrapolator_create(ctx, frames[2], u, v, 2, &ex), SQ25_OK);
    assert_int_equal(sq25_extrapolator_lead(ex), 0);
    for (int k = 0; k < LEADS; k++) {
        /* change the thread count mid-way: the extrapolator adapts its scratch */
        if (k == 3) assert_int_equal(sq25_ctx_set_threads(ctx, 4), SQ25_OK);
        assert_int_equal(sq25_extrapolator_next(ex, buf), SQ25_OK);
        assert_int_equal(sq25_extrapolator_lead(ex), k + 1);
        assert_same_floats(sq25_field_data_const(fc[k]), buf, n);
        sq25_field_destroy(fc[k]);
    }
    assert_int_equal(sq25_extrapolator_next(ex, NULL), SQ25_ERR_INVALID_ARG);
    sq25_extrapolator_destroy(ex);
    sq25_extrapolator_destroy(NULL);
    assert_int_equal(sq25_extrapolator_create(ctx, frames[2], u, v, 0, &ex), SQ25_ERR_INVALID_ARG);
    assert_int_equal(sq25_extrapolator_create(ctx, frames[2], u, v, 3601, &ex), SQ25_ERR_RANGE);
    assert_null(ex);
    free(u), free(v), free(buf);
    for (int k = 0; k < 3; k++) sq25_field_destroy(frames[k]);
    sq25_ctx_destroy(ctx);
}

/* Analytic: a uniform motion of (3, 2) cells per step on a 200 x 150 grid moves every value
 * exactly, on 2 threads as on 1: out_k(r, c) = in(r - 2k, c - 3k), NaN from outside. */
static void test_uniform_shift_two_threads(void **state)
{
    (void)state;
    enum { W = 200, H = 150 };
    sq25_ctx *ctx = sq25_ctx_create();
    assert_int_equal(sq25_ctx_set_threads(ctx, 2), SQ25_OK);
    const double gt[6] = {0, 1000, 0, 0, 0, -1000};
    sq25_field *f = NULL;
    assert_int_equal(sq25_field_create(ctx, W, H, EQC, gt, 0, &f), SQ25_OK);
    float *d = sq25_field_data(f);
    for (int i = 0; i < W * H; i++) d[i] = (i % 7 == 0) ? 0.0f : (float)((i * 31) % 97) / 3.0f;
    float *u = malloc(W * H * sizeof *u), *v = malloc(W * H * sizeof *v);
    float *out = malloc(W * H * sizeof *out);
    for (int i = 0; i < W * H; i++) u[i] = 3.0f, v[i] = 2.0f;
    sq25_extrapolator *ex = NULL;
    assert_int_equal(sq25_extrapolator_create(ctx, f, u, v, 2, &ex), SQ25_OK);
    for (int k = 1; k <= 4; k++) {
        assert_int_equal(sq25_extrapolator_next(ex, out), SQ25_OK);
        for (int r = 0; r < H; r++)
            for (int c = 0; c < W; c++) {
                int sr = r - 2 * k, sc = c - 3 * k;
                if (sr < 0 || sc < 0) assert_true(isnan(out[r * W + c]));
                else assert_true(out[r * W + c] == d[sr * W + sc]);
            }
    }
    sq25_extrapolator_destroy(ex);
    free(u), free(v), free(out);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

/* Every allocation of the streamed extrapolation may fail without a leak. */
static void test_extrapolator_allocation_failures(void **state)
{
    (void)state;
    enum { W = 64, H = 48 };
    bool succeeded = false;
    for (long fail = 1; fail < 40 && !succeeded; fail++) {
        test_alloc_state st = {fail, 0, 0};
        sq25_ctx *ctx = test_ctx_failing(&st);
        if (!ctx) continue; /* the context's own allocation failed */
        const double gt[6] = {0, 1000, 0, 0, 0, -1000};
        sq25_field *f = NULL;
        float u[W * H], v[W * H], out[W * H];
        for (int i = 0; i < W * H; i++) u[i] = 1.5f, v[i] = -0.5f;
        int rc = sq25_field_create(ctx, W, H, EQC, gt, 0, &f);
        sq25_extrapolator *ex = NULL;
        if (rc == SQ25_OK) rc = sq25_extrapolator_create(ctx, f, u, v, 2, &ex);
        if (rc == SQ25_OK) rc = sq25_extrapolator_next(ex, out);
        assert_true(rc == SQ25_OK || rc == SQ25_ERR_NOMEM);
        succeeded = rc == SQ25_OK;
        sq25_extrapolator_destroy(ex);
        sq25_field_destroy(f);
        sq25_ctx_destroy(ctx);
        assert_int_equal(st.live, 0);
    }
    assert_true(succeeded); /* the loop reached the count where nothing fails */
}

/* Filters and chunk of dataset<n>/data1/data as HDF5 itself reports them (H5Pget_filter2),
 * independently of the writer's code. */
static void dataset_layout(const char *path, int n, int *shuffle, int *deflate_level,
                           hsize_t chunk[2])
{
    hid_t fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(fid >= 0);
    char name[64];
    snprintf(name, sizeof name, "dataset%d/data1/data", n);
    hid_t d = H5Dopen2(fid, name, H5P_DEFAULT);
    hid_t plist = H5Dget_create_plist(d);
    assert_int_equal(H5Pget_chunk(plist, 2, chunk), 2);
    *shuffle = 0;
    *deflate_level = 0;
    for (int k = 0; k < H5Pget_nfilters(plist); k++) {
        unsigned flags, values[4] = {0};
        size_t nvalues = 4;
        char fname[64];
        H5Z_filter_t f = H5Pget_filter2(plist, (unsigned)k, &flags, &nvalues, values,
                                        sizeof fname, fname, NULL);
        if (f == H5Z_FILTER_SHUFFLE) *shuffle = 1;
        if (f == H5Z_FILTER_DEFLATE) *deflate_level = (int)values[0];
    }
    H5Pclose(plist);
    H5Dclose(d);
    H5Fclose(fid);
}

/* Default shuffle + deflate 1, level 0 = no filter, level 9; one chunk per lead; the values
 * read back identical at every level; levels outside 0..9 refused. */
static void test_writer_compression(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = NULL, *back = NULL;
    assert_int_equal(sq25_read_field(ctx, test_data_path(RMI("1745")), &f), SQ25_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/levels.h5", test_tmpdir());
    sq25_odim_writer *w = NULL;
    assert_int_equal(sq25_odim_writer_create(ctx, path, &w), SQ25_OK);
    assert_int_equal(sq25_odim_writer_add(w, f, "RATE", 0, 300), SQ25_OK);
    assert_int_equal(sq25_odim_writer_set_compression(w, 0), SQ25_OK);
    assert_int_equal(sq25_odim_writer_add(w, f, "RATE", 300, 600), SQ25_OK);
    assert_int_equal(sq25_odim_writer_set_compression(w, 9), SQ25_OK);
    assert_int_equal(sq25_odim_writer_add(w, f, "RATE", 600, 900), SQ25_OK);
    assert_int_equal(sq25_odim_writer_set_compression(w, 10), SQ25_ERR_RANGE);
    assert_int_equal(sq25_odim_writer_set_compression(w, -1), SQ25_ERR_RANGE);
    assert_int_equal(sq25_odim_writer_close(w), SQ25_OK);
    assert_int_equal(sq25_odim_writer_set_compression(NULL, 1), SQ25_ERR_INVALID_ARG);
    const int want_shuffle[3] = {1, 0, 1}, want_level[3] = {1, 0, 9};
    for (int k = 0; k < 3; k++) {
        int shuffle, level;
        hsize_t chunk[2];
        dataset_layout(path, k + 1, &shuffle, &level, chunk);
        assert_int_equal(shuffle, want_shuffle[k]);
        assert_int_equal(level, want_level[k]);
        assert_int_equal(chunk[0], 700); /* the whole 700 x 700 lead is one chunk */
        assert_int_equal(chunk[1], 700);
        assert_int_equal(sq25_read_field_frame(ctx, path, k, &back), SQ25_OK);
        assert_same_floats(sq25_field_data_const(f), sq25_field_data_const(back), 700 * 700);
        sq25_field_destroy(back);
    }
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

/* The warning chain on a street grid (pipeline: resampling, accumulations, neighbourhood
 * probabilities with summed-area tables, levels) gives the same grids on 1 and 2 threads. */
static void pipeline_grids(int threads, float *out, size_t n)
{
    sq25_ctx *ctx = sq25_ctx_create();
    assert_int_equal(sq25_ctx_set_threads(ctx, threads), SQ25_OK);
    sq25_field *frames[3], *street = NULL, *g = NULL;
    read_frames(ctx, frames);
    sq25_pipeline *p = NULL;
    assert_int_equal(sq25_pipeline_create(ctx, &p), SQ25_OK);
    /* the demo's street grid at 100 m on the storm of the bundled frames */
    assert_int_equal(sq25_grid_parse(ctx, "lonlat:5.8,49.95,6.4,50.35:100", 0, &street), SQ25_OK);
    assert_int_equal((size_t)sq25_field_width(street) * sq25_field_height(street), n);
    assert_int_equal(sq25_pipeline_set_street_grid(p, street), SQ25_OK);
    const double levels[3] = {1, 2, 5}; /* low levels so that probabilities are not all 0 */
    assert_int_equal(sq25_warn_options_set_levels(sq25_pipeline_warn_options(p), 3, levels, NULL),
                     SQ25_OK);
    for (int k = 0; k < 3; k++) assert_int_equal(sq25_pipeline_push_frame(p, frames[k]), SQ25_OK);
    sq25_warning *w = NULL;
    for (int run = 0; run < 2; run++) { /* the second run reuses the street pixel map */
        sq25_warning_destroy(w);
        assert_int_equal(sq25_pipeline_run(p, &w), SQ25_OK);
    }
    for (int level = 1; level <= 3; level++) {
        assert_int_equal(sq25_warning_probability(w, level, &g), SQ25_OK);
        memcpy(out + (size_t)(level - 1) * n, sq25_field_data_const(g), n * sizeof(float));
        sq25_field_destroy(g);
    }
    assert_int_equal(sq25_warning_accumulation(w, 60, &g), SQ25_OK);
    memcpy(out + 3 * n, sq25_field_data_const(g), n * sizeof(float));
    sq25_field_destroy(g);
    sq25_warning_destroy(w);
    sq25_pipeline_destroy(p);
    sq25_field_destroy(street);
    for (int k = 0; k < 3; k++) sq25_field_destroy(frames[k]);
    sq25_ctx_destroy(ctx);
}

static void test_street_warnings_thread_independent(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *street = NULL;
    assert_int_equal(sq25_grid_parse(ctx, "lonlat:5.8,49.95,6.4,50.35:100", 0, &street), SQ25_OK);
    const size_t n = (size_t)sq25_field_width(street) * sq25_field_height(street);
    sq25_field_destroy(street);
    sq25_ctx_destroy(ctx);
    float *one = malloc(4 * n * sizeof *one), *two = malloc(4 * n * sizeof *two);
    pipeline_grids(1, one, n);
    pipeline_grids(2, two, n);
    double wet = 0;
    for (size_t i = 0; i < n; i++) wet += one[i] > 0;
    assert_true(wet > 1000); /* some cells have a level-1 probability: the test can fail */
    assert_same_floats(one, two, 4 * n);
    free(one), free(two);
}

/* IDW and kriging onto a street grid, blocks on 1 and 2 threads: the same cells. Sensors
 * at pseudo-random places (a fixed linear congruential sequence). */
static void interp_cells(int threads, int method, float *out, size_t n)
{
    enum { SENSORS = 60 };
    sq25_ctx *ctx = sq25_ctx_create();
    assert_int_equal(sq25_ctx_set_threads(ctx, threads), SQ25_OK);
    double lon[SENSORS], lat[SENSORS], val[SENSORS];
    unsigned state = 12345;
    for (int i = 0; i < SENSORS; i++) {
        state = state * 1103515245u + 12345u;
        lon[i] = 4.73 + 0.34 * (double)(state >> 8) / (double)(1u << 24);
        state = state * 1103515245u + 12345u;
        lat[i] = 52.28 + 0.15 * (double)(state >> 8) / (double)(1u << 24);
        val[i] = 10.0 * (lon[i] - 4.73) + 3.0 * sin(40.0 * lat[i]);
    }
    sq25_field *grid = NULL;
    assert_int_equal(sq25_grid_parse(ctx, "lonlat:4.73,52.28,5.07,52.43:100", 0, &grid), SQ25_OK);
    assert_int_equal((size_t)sq25_field_width(grid) * sq25_field_height(grid), n);
    assert_int_equal(sq25_interp_grid(ctx, NULL, method, SENSORS, lon, sizeof *lon, lat,
                                      sizeof *lat, val, sizeof *val, grid, NULL),
                     SQ25_OK);
    memcpy(out, sq25_field_data_const(grid), n * sizeof(float));
    sq25_field_destroy(grid);
    sq25_ctx_destroy(ctx);
}

static void test_interp_thread_independent(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *grid = NULL;
    assert_int_equal(sq25_grid_parse(ctx, "lonlat:4.73,52.28,5.07,52.43:100", 0, &grid), SQ25_OK);
    const size_t n = (size_t)sq25_field_width(grid) * sq25_field_height(grid);
    sq25_field_destroy(grid);
    sq25_ctx_destroy(ctx);
    float *one = malloc(n * sizeof *one), *two = malloc(n * sizeof *two);
    const int methods[2] = {SQ25_INTERP_IDW, SQ25_INTERP_KRIGING};
    for (int m = 0; m < 2; m++) {
        interp_cells(1, methods[m], one, n);
        interp_cells(2, methods[m], two, n);
        size_t finite = 0;
        for (size_t i = 0; i < n; i++) finite += isfinite(one[i]);
        assert_true(finite > n / 2);
        assert_same_floats(one, two, n);
    }
    free(one), free(two);
}

/* The raw stored chunk (H5Dread_chunk: bytes as written) of dataset<n>/data1/data at row
 * r0; malloc'ed, its size in *bytes. */
static unsigned char *raw_chunk(const char *path, int n, hsize_t r0, size_t *bytes)
{
    hid_t fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    char name[64];
    snprintf(name, sizeof name, "dataset%d/data1/data", n);
    hid_t d = H5Dopen2(fid, name, H5P_DEFAULT);
    hsize_t offset[2] = {r0, 0}, size = 0;
    assert_true(H5Dget_chunk_storage_size(d, offset, &size) >= 0);
    unsigned char *buf = malloc((size_t)size);
    uint32_t mask = 1;
    assert_true(H5Dread_chunk(d, H5P_DEFAULT, offset, &mask, buf) >= 0);
    assert_int_equal(mask, 0); /* every declared filter was applied */
    H5Dclose(d);
    H5Fclose(fid);
    *bytes = (size_t)size;
    return buf;
}

static void write_one(sq25_ctx *ctx, const sq25_field *f, const char *path)
{
    sq25_odim_writer *w = NULL;
    assert_int_equal(sq25_odim_writer_create(ctx, path, &w), SQ25_OK);
    assert_int_equal(sq25_odim_writer_add(w, f, "RATE", 0, 300), SQ25_OK);
    assert_int_equal(sq25_odim_writer_close(w), SQ25_OK);
}

/* The stored bytes of a lead do not depend on the thread count (the zlib stream is made of
 * fixed pieces), and HDF5's own filters decode them to the written values. */
static void test_compressed_bytes_thread_independent(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = NULL, *back = NULL;
    assert_int_equal(sq25_read_field(ctx, test_data_path(RMI("1745")), &f), SQ25_OK);
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/one.h5", test_tmpdir());
    snprintf(p2, sizeof p2, "%s/two.h5", test_tmpdir());
    assert_int_equal(sq25_ctx_set_threads(ctx, 1), SQ25_OK);
    write_one(ctx, f, p1);
    assert_int_equal(sq25_ctx_set_threads(ctx, 2), SQ25_OK);
    write_one(ctx, f, p2);
    size_t n1, n2;
    unsigned char *c1 = raw_chunk(p1, 1, 0, &n1), *c2 = raw_chunk(p2, 1, 0, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(c1, c2, n1);
    assert_true(n1 < 700 * 700 * 4 / 4); /* compressed: the lead holds mostly 0 and nodata */
    free(c1), free(c2);
    assert_int_equal(sq25_read_field(ctx, p2, &back), SQ25_OK);
    assert_same_floats(sq25_field_data_const(f), sq25_field_data_const(back), 700 * 700);
    sq25_field_destroy(back);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

/* A grid over the one-chunk limit (16 Mi cells) is stored in chunks of whole rows, the last
 * one past the grid's edge; values (analytic: r + c / 8 on a band, NaN at one corner) read
 * back through HDF5's filters. */
static void test_large_grid_chunks(void **state)
{
    (void)state;
    enum { W = 4100, H = 4100 };
    sq25_ctx *ctx = sq25_ctx_create();
    const double gt[6] = {0, 10, 0, 0, 0, -10};
    sq25_field *f = NULL, *back = NULL;
    assert_int_equal(sq25_field_create(ctx, W, H, EQC, gt, 0, &f), SQ25_OK);
    float *d = sq25_field_data(f);
    for (size_t r = 0; r < H; r++)
        for (size_t c = 0; c < W; c++)
            d[r * W + c] = (r % 512 < 8) ? (float)r + (float)c / 8.0f : 0.0f;
    d[(size_t)(H - 1) * W + W - 1] = NAN;
    char path[512];
    snprintf(path, sizeof path, "%s/large.h5", test_tmpdir());
    write_one(ctx, f, path);
    int shuffle, level;
    hsize_t chunk[2];
    dataset_layout(path, 1, &shuffle, &level, chunk);
    assert_int_equal(chunk[1], W);
    assert_int_equal(chunk[0], (16 * 1024 * 1024) / W); /* 4092 rows: a second, edge chunk */
    assert_int_equal(sq25_read_field(ctx, path, &back), SQ25_OK);
    assert_same_floats(d, sq25_field_data_const(back), (size_t)W * H);
    sq25_field_destroy(back);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

/* Every allocation of the compressed writer may fail: the add fails with NOMEM, nothing
 * leaks, and close removes the partial file. */
static void test_writer_allocation_failures(void **state)
{
    (void)state;
    enum { W = 300, H = 200 };
    char path[512];
    snprintf(path, sizeof path, "%s/nomem.h5", test_tmpdir());
    bool succeeded = false;
    for (long fail = 1; fail < 200 && !succeeded; fail++) {
        test_alloc_state st = {fail, 0, 0};
        sq25_ctx *ctx = test_ctx_failing(&st);
        if (!ctx) continue;
        const double gt[6] = {0, 1000, 0, 0, 0, -1000};
        sq25_field *f = NULL;
        int rc = sq25_field_create(ctx, W, H, EQC, gt, 0, &f);
        for (int i = 0; rc == SQ25_OK && i < W * H; i++)
            sq25_field_data(f)[i] = (float)(i % 17) * 0.5f;
        sq25_odim_writer *w = NULL;
        if (rc == SQ25_OK) rc = sq25_odim_writer_create(ctx, path, &w);
        if (rc == SQ25_OK) rc = sq25_odim_writer_add(w, f, "RATE", 0, 300);
        int close_rc = w ? sq25_odim_writer_close(w) : SQ25_OK;
        if (rc == SQ25_OK) rc = close_rc;
        assert_true(rc == SQ25_OK || rc == SQ25_ERR_NOMEM || rc == SQ25_ERR_WRITE);
        if (rc != SQ25_OK && w) assert_int_equal(access(path, F_OK), -1); /* removed */
        succeeded = rc == SQ25_OK;
        sq25_field_destroy(f);
        sq25_ctx_destroy(ctx);
        assert_int_equal(st.live, 0);
    }
    assert_true(succeeded);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thread_setting),
        cmocka_unit_test(test_dense_chain_thread_independent),
        cmocka_unit_test(test_lk_chain_thread_independent),
        cmocka_unit_test(test_streamed_leads_match),
        cmocka_unit_test(test_uniform_shift_two_threads),
        cmocka_unit_test(test_extrapolator_allocation_failures),
        cmocka_unit_test(test_writer_compression),
        cmocka_unit_test(test_compressed_bytes_thread_independent),
        cmocka_unit_test(test_large_grid_chunks),
        cmocka_unit_test(test_writer_allocation_failures),
        cmocka_unit_test(test_street_warnings_thread_independent),
        cmocka_unit_test(test_interp_thread_independent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
