/* test_damaged.c -- damaged HDF5 files: superblock fields checked before HDF5 parses the
 * file (copies of a real KNMI frame with single bytes changed at offsets of the HDF5 file
 * format specification, "Superblock" version 0: byte 13 = size of offsets, bytes 40-47 = end
 * of file address, bytes 64-71 = root group object header address; the values 54292 and 96
 * are those of the real file, read with Python's struct), the isolated reader (same field as
 * the in-process reader; a crashing file of tests/fuzz/hdf5-crashers/ costs the child, not
 * this process), and no HDF5 object left open after any failed read. */
#include "support.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KNMI_0100 "radar/knmi_20100826/RAD_NL25_RAP_5min_201008260100.h5"
#define RMI "radar/rmi_20210704/20210704165000.rad.best.comp.rate.qpe.hdf"
#define CRASHER "tests/fuzz/hdf5-crashers/radar/crash-40ba8633b8f05b0429859dce813c949a6608022b"

static char *slurp(const char *path, long *size)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    *size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)*size);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)*size, fp), (size_t)*size);
    fclose(fp);
    return buf;
}

/* A copy of the KNMI frame with n bytes at offset replaced (and cut to keep bytes when
 * keep > 0). Returns its path (static). */
static const char *damaged_copy(const char *name, long offset, const void *bytes, size_t n,
                                long keep)
{
    static char path[1024];
    long size = 0;
    char *buf = slurp(test_data_path(KNMI_0100), &size);
    assert_int_equal(size, 54292);
    if (n) memcpy(buf + offset, bytes, n);
    snprintf(path, sizeof path, "%s/%s", test_tmpdir(), name);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, (size_t)(keep > 0 ? keep : size), fp),
                     (size_t)(keep > 0 ? keep : size));
    fclose(fp);
    free(buf);
    return path;
}

static void expect_failure(const char *path, int code, const char *words)
{
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = NULL;
    assert_int_equal(sq25_read_field(ctx, path, &f), code);
    assert_null(f);
    if (!strstr(sq25_errmsg(ctx), words)) fail_msg("message \"%s\"", sq25_errmsg(ctx));
    assert_int_equal(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
    sq25_ctx_destroy(ctx);
}

static void test_superblock_checks(void **state)
{
    (void)state;
    const unsigned char three = 3;
    expect_failure(damaged_copy("offsets3.h5", 13, &three, 1, 0), SQ25_ERR_FILE_DAMAGED,
                   "3-byte offsets");
    /* End of file address 54292 -> 60000: the file is shorter than it declares. */
    const uint64_t eof = 60000;
    expect_failure(damaged_copy("eof.h5", 40, &eof, 8, 0), SQ25_ERR_FILE_TRUNCATED,
                   "declares 60000 bytes but has 54292");
    /* Cut at half: the declared end of file (54292) is past the 27146 bytes left. */
    expect_failure(damaged_copy("half.h5", 0, NULL, 0, 27146), SQ25_ERR_FILE_TRUNCATED,
                   "declares 54292 bytes but has 27146");
    /* Root group header address 96 -> 1e9: outside the file. */
    const uint64_t root = 1000000000;
    expect_failure(damaged_copy("root.h5", 64, &root, 8, 0), SQ25_ERR_FILE_DAMAGED,
                   "root group header at 1000000000");
    const unsigned char version9 = 9;
    expect_failure(damaged_copy("version.h5", 8, &version9, 1, 0), SQ25_ERR_FILE_DAMAGED,
                   "superblock version 9");
}

static void test_isolated_same_field(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *direct = NULL, *isolated = NULL;
    assert_int_equal(sq25_read_field(ctx, test_data_path(RMI), &direct), SQ25_OK);
    assert_int_equal(sq25_read_field_isolated(ctx, test_data_path(RMI), 0, 60, &isolated),
                     SQ25_OK);
    assert_int_equal(sq25_field_width(isolated), sq25_field_width(direct));
    assert_int_equal(sq25_field_height(isolated), sq25_field_height(direct));
    assert_int_equal(sq25_field_valid_time(isolated), sq25_field_valid_time(direct));
    assert_int_equal(sq25_field_accumulation_s(isolated), sq25_field_accumulation_s(direct));
    assert_string_equal(sq25_field_projdef(isolated), sq25_field_projdef(direct));
    for (int k = 0; k < 5; k++)
        assert_string_equal(sq25_field_meta(isolated, k), sq25_field_meta(direct, k));
    double ga[6], gb[6];
    sq25_field_geotransform(direct, ga);
    sq25_field_geotransform(isolated, gb);
    assert_memory_equal(ga, gb, sizeof ga);
    size_t n = (size_t)sq25_field_width(direct) * (size_t)sq25_field_height(direct);
    assert_memory_equal(sq25_field_data_const(direct), sq25_field_data_const(isolated),
                        n * sizeof(float)); /* NaN bit patterns included */
    sq25_field_destroy(isolated);
    sq25_field_destroy(direct);
    /* A reader error comes back as the reader's code and message. */
    assert_int_equal(sq25_read_field_isolated(ctx, "tests/hostile/odim_20000x20000.h5", 0, 60,
                                              &isolated),
                     SQ25_ERR_SIZE_ABSURD);
    assert_non_null(strstr(sq25_errmsg(ctx), "20000 x 20000"));
    assert_null(isolated);
    assert_int_equal(sq25_read_field_isolated(ctx, test_data_path(RMI), 0, 0, &isolated),
                     SQ25_ERR_INVALID_ARG);
    sq25_ctx_destroy(ctx);
}

static void test_isolated_crasher(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = NULL;
    /* A file found by fuzzing that makes HDF5 1.10.8 read out of bounds inside
     * H5Aexists_by_name (a segmentation fault in a plain build, an ASan report under ASan).
     * Isolated, this process survives whatever the child does. */
    int rc = sq25_read_field_isolated(ctx, CRASHER, 0, 60, &f);
    assert_int_not_equal(rc, SQ25_OK);
    assert_null(f);
    assert_non_null(strstr(sq25_errmsg(ctx), "crash-40ba8633"));
    printf("isolated read of the crasher: %s: %s\n", sq25_errname(rc), sq25_errmsg(ctx));
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_superblock_checks),
        cmocka_unit_test(test_isolated_same_field),
        cmocka_unit_test(test_isolated_crasher),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
