/* test_io_bad.c -- bad input: each broken file (made at test time in test_tmpdir() from the
 * bundled real files, or with the HDF5 C API) gives its own error code and a one-line message
 * naming the file; nothing is printed on stderr (HDF5's error stack stays silent). */
#include "support.h"

#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RMI_1650 "radar/rmi_20210704/20210704165000.rad.best.comp.rate.qpe.hdf"
#define KNMI_0100 "radar/knmi_20100826/RAD_NL25_RAP_5min_201008260100.h5"

static const char *tmp_path(const char *name)
{
    static char buf[32][512]; /* distinct buffers: a test keeps up to 32 paths at once */
    static int next;
    char *p = buf[next++ % 32];
    snprintf(p, 512, "%s/%s", test_tmpdir(), name);
    return p;
}

/* Copy the first `bytes` bytes of src (all of it when bytes < 0) to dst. */
static void copy_prefix(const char *src, const char *dst, long bytes)
{
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[65536];
    long left = bytes;
    size_t n;
    while ((bytes < 0 || left > 0) && (n = fread(buf, 1, sizeof buf, in)) > 0) {
        if (bytes >= 0 && (long)n > left) n = (size_t)left;
        assert_int_equal(fwrite(buf, 1, n, out), n);
        left -= (long)n;
    }
    fclose(in);
    fclose(out);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Replace (or create) a numeric or string attribute of an object of an HDF5 file. */
static void set_attr_double(const char *file, const char *obj, const char *name, double v,
                            hid_t file_type)
{
    hid_t fid = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(fid >= 0);
    if (H5Aexists_by_name(fid, obj, name, H5P_DEFAULT) > 0)
        H5Adelete_by_name(fid, obj, name, H5P_DEFAULT);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate_by_name(fid, obj, name, file_type, sp, H5P_DEFAULT, H5P_DEFAULT,
                                H5P_DEFAULT);
    if (a < 0) fprintf(stdout, "cannot set %s/%s in %s\n", obj, name, file);
    assert_true(a >= 0);
    assert_true(H5Awrite(a, H5T_NATIVE_DOUBLE, &v) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Fclose(fid);
}

static void set_attr_string(const char *file, const char *obj, const char *name,
                            const char *value)
{
    hid_t fid = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(fid >= 0);
    if (H5Aexists_by_name(fid, obj, name, H5P_DEFAULT) > 0)
        H5Adelete_by_name(fid, obj, name, H5P_DEFAULT);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(value) + 1);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate_by_name(fid, obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0);
    assert_true(H5Awrite(a, t, value) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    H5Fclose(fid);
}

/* An HDF5 file with an ODIM Conventions attribute and /what but no dataset1. */
static void make_odim_without_dataset(const char *path)
{
    hid_t fid = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(fid >= 0);
    hid_t g = H5Gcreate2(fid, "what", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(g);
    H5Fclose(fid);
    set_attr_string(path, "/", "Conventions", "ODIM_H5/V2_2");
    set_attr_string(path, "what", "object", "COMP");
}

static void make_plain_hdf5(const char *path)
{
    hid_t fid = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(fid >= 0);
    hid_t g = H5Gcreate2(fid, "something", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(g);
    H5Fclose(fid);
}

typedef struct {
    const char *path;
    int expected;
    const char *message_part; /* must appear in the message besides the path */
} bad_case;

static void check_case(sq25_ctx *ctx, const bad_case *c)
{
    sq25_field *f = NULL;
    int rc = sq25_read_field(ctx, c->path, &f);
    if (rc != c->expected)
        fprintf(stdout, "%s: got %s (%s), expected %s\n", c->path, sq25_errname(rc),
                sq25_errmsg(ctx), sq25_errname(c->expected));
    assert_int_equal(rc, c->expected);
    assert_null(f);
    const char *msg = sq25_errmsg(ctx);
    assert_non_null(strstr(msg, c->path));
    assert_null(strchr(msg, '\n'));
    if (c->message_part && !strstr(msg, c->message_part))
        fprintf(stdout, "message \"%s\" lacks \"%s\"\n", msg, c->message_part);
    if (c->message_part) assert_non_null(strstr(msg, c->message_part));
}

static void test_bad_files(void **state)
{
    (void)state;
    char rmi[512], knmi[512]; /* test_data_path returns one static buffer: copy */
    snprintf(rmi, sizeof rmi, "%s", test_data_path(RMI_1650));
    snprintf(knmi, sizeof knmi, "%s", test_data_path(KNMI_0100));
    const char *missing = tmp_path("no-such-file.h5");
    const char *empty = tmp_path("empty.h5"), *text = tmp_path("text.h5");
    const char *half = tmp_path("half.h5"), *nodataset = tmp_path("nodataset.h5");
    const char *plain = tmp_path("plain.h5"), *xsize = tmp_path("xsize.h5");
    const char *absurd = tmp_path("absurd.h5");
    write_text(empty, "");
    write_text(text, "this is a text file, not HDF5\n");
    copy_prefix(rmi, half, file_size(rmi) / 2);
    make_odim_without_dataset(nodataset);
    make_plain_hdf5(plain);
    copy_prefix(rmi, xsize, -1);
    set_attr_double(xsize, "dataset1/where", "xsize", 701, H5T_STD_I64LE);
    copy_prefix(rmi, absurd, -1);
    set_attr_double(absurd, "dataset1/where", "xsize", 1e9, H5T_STD_I64LE);

    const char *knmi_formula = tmp_path("knmi-formula.h5");
    copy_prefix(knmi, knmi_formula, -1);
    set_attr_string(knmi_formula, "image1/calibration", "calibration_formulas",
                    "GEO=0.5*PV^2+1");
    const char *knmi_rows = tmp_path("knmi-rows.h5");
    copy_prefix(knmi, knmi_rows, -1);
    set_attr_double(knmi_rows, "geographic", "geo_number_rows", 764, H5T_STD_I32LE);
    const char *knmi_corner = tmp_path("knmi-corner.h5");
    copy_prefix(knmi, knmi_corner, -1);
    set_attr_double(knmi_corner, "geographic", "geo_row_offset", 3600, H5T_IEEE_F32LE);

    const bad_case cases[] = {
        {missing, SQ25_ERR_FILE_NOT_FOUND, NULL},
        {empty, SQ25_ERR_FILE_EMPTY, "empty"},
        {text, SQ25_ERR_NOT_HDF5, "not an HDF5"},
        {half, SQ25_ERR_FILE_TRUNCATED, "truncated"},
        {nodataset, SQ25_ERR_MISSING_DATASET, "dataset1/data1/data"},
        {plain, SQ25_ERR_FORMAT_UNKNOWN, NULL},
        {xsize, SQ25_ERR_BAD_DIMENSIONS, "701x700"},
        {absurd, SQ25_ERR_SIZE_ABSURD, "1000000000"},
        {knmi_formula, SQ25_ERR_UNSUPPORTED, "GEO=0.5*PV^2+1"},
        {knmi_rows, SQ25_ERR_BAD_DIMENSIONS, "700x764"},
        {knmi_corner, SQ25_ERR_BAD_METADATA, "geo_product_corners"},
    };
    fflush(stderr);
    const char *err_path = tmp_path("stderr.txt");
    int saved = dup(2), fd = open(err_path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    sq25_ctx *ctx = sq25_ctx_create();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(ctx, &cases[i]);
    int format = 0;
    assert_int_equal(sq25_file_detect(ctx, half, &format), SQ25_ERR_FILE_TRUNCATED);
    assert_int_equal(sq25_file_detect(ctx, plain, &format), SQ25_ERR_FORMAT_UNKNOWN);
    assert_int_equal(format, SQ25_FORMAT_UNKNOWN);
    sq25_ctx_destroy(ctx);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    /* Nothing on stderr: HDF5's error stack is silenced by the library. */
    assert_int_equal(file_size(err_path), 0);
}

static void test_dimension_message_names_both(void **state)
{
    (void)state;
    const char *xsize = tmp_path("xsize2.h5");
    copy_prefix(test_data_path(RMI_1650), xsize, -1);
    set_attr_double(xsize, "dataset1/where", "xsize", 701, H5T_STD_I64LE);
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = NULL;
    assert_int_equal(sq25_read_field(ctx, xsize, &f), SQ25_ERR_BAD_DIMENSIONS);
    assert_non_null(strstr(sq25_errmsg(ctx), "701x700"));
    assert_non_null(strstr(sq25_errmsg(ctx), "found 700x700"));
    sq25_ctx_destroy(ctx);
}

static void test_invalid_arguments(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = NULL;
    int n = 0;
    assert_int_equal(sq25_read_field(NULL, "x", &f), SQ25_ERR_INVALID_ARG);
    assert_int_equal(sq25_read_field(ctx, NULL, &f), SQ25_ERR_INVALID_ARG);
    assert_int_equal(sq25_read_field_frame(ctx, test_data_path(RMI_1650), -1, &f),
                     SQ25_ERR_RANGE);
    assert_int_equal(sq25_file_detect(ctx, NULL, &n), SQ25_ERR_INVALID_ARG);
    assert_int_equal(sq25_file_frame_count(ctx, test_data_path(RMI_1650), NULL),
                     SQ25_ERR_INVALID_ARG);
    assert_int_equal(sq25_file_detect(ctx, test_tmpdir(), &n), SQ25_ERR_NOT_HDF5);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_dimension_message_names_both),
        cmocka_unit_test(test_invalid_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
