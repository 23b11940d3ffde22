/* test_output.c -- whole outputs: a writer killed in the middle of a file leaves the previous
 * file byte for byte as it was; a failed write keeps the previous file, leaves no temporary
 * behind and no HDF5 object open; a folder or a missing folder as output path is refused with
 * a message naming the file and the system's reason. The expected bytes are the file's own
 * bytes read back before the second write (plain stdio), not values of the code under test. */
#include "support.h"

#include <dirent.h>
#include <hdf5.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define RMI "radar/rmi_20210704/20210704165000.rad.best.comp.rate.qpe.hdf"

static char *slurp(const char *path, long *size)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    *size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)*size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)*size, fp), (size_t)*size);
    fclose(fp);
    return buf;
}

static void assert_same_bytes(const char *path, const char *bytes, long size)
{
    long now = 0;
    char *again = slurp(path, &now);
    assert_int_equal(now, size);
    assert_memory_equal(again, bytes, (size_t)size);
    free(again);
}

/* Entries of dir whose name contains ".tmp-" (temporaries of the output helper). */
static int temporaries_in(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += strstr(e->d_name, ".tmp-") != NULL;
    closedir(d);
    return n;
}

static const char *out_path(const char *sub, const char *name)
{
    static char buf[1100], dir[520];
    snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), sub);
    mkdir(dir, 0777);
    snprintf(buf, sizeof buf, "%s/%s", dir, name);
    return buf;
}

static void test_killed_writer_keeps_old_file(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = NULL;
    assert_int_equal(sq25_read_field(ctx, test_data_path(RMI), &f), SQ25_OK);
    char path[1100];
    snprintf(path, sizeof path, "%s", out_path("kill", "forecast.h5"));
    assert_int_equal(sq25_write_odim(ctx, path, f), SQ25_OK);
    long size = 0;
    char *before = slurp(path, &size);
    assert_true(size > 1000);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        /* The second write of the same path, killed after two datasets, before close. */
        sq25_odim_writer *w = NULL;
        if (sq25_odim_writer_create(ctx, path, &w) != SQ25_OK) _exit(3);
        if (sq25_odim_writer_add(w, f, "RATE", 0, 300) != SQ25_OK) _exit(4);
        if (sq25_odim_writer_add(w, f, "RATE", 300, 600) != SQ25_OK) _exit(5);
        raise(SIGKILL);
        _exit(6);
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_same_bytes(path, before, size);
    sq25_field *back = NULL;
    assert_int_equal(sq25_read_field(ctx, path, &back), SQ25_OK);
    sq25_field_destroy(back);
    free(before);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

static void test_failed_write_keeps_old_file(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    sq25_field *f = NULL, *rotated = NULL;
    assert_int_equal(sq25_read_field(ctx, test_data_path(RMI), &f), SQ25_OK);
    char path[1100], dir[512];
    snprintf(path, sizeof path, "%s", out_path("fail", "obs.h5"));
    snprintf(dir, sizeof dir, "%s/fail", test_tmpdir());
    assert_int_equal(sq25_write_odim(ctx, path, f), SQ25_OK);
    long size = 0;
    char *before = slurp(path, &size);
    /* A rotated grid cannot be written as ODIM: the write fails after the file was begun. */
    const double gt[6] = {0, 1000, 10, 0, 10, -1000};
    assert_int_equal(sq25_field_create(ctx, 4, 3, "EPSG:32631", gt, 0, &rotated), SQ25_OK);
    assert_int_equal(sq25_write_odim(ctx, path, rotated), SQ25_ERR_UNSUPPORTED);
    assert_same_bytes(path, before, size);
    assert_int_equal(temporaries_in(dir), 0);
    /* Every HDF5 object of the library is closed again (no file left open). */
    assert_int_equal(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
    /* While a writer is open the file being written is a temporary; a writer closed with no
     * dataset writes nothing. */
    sq25_odim_writer *w = NULL;
    assert_int_equal(sq25_odim_writer_create(ctx, path, &w), SQ25_OK);
    assert_int_equal(temporaries_in(dir), 1);
    assert_same_bytes(path, before, size);
    assert_int_equal(sq25_odim_writer_add(w, rotated, "RATE", 0, 300), SQ25_ERR_UNSUPPORTED);
    assert_int_equal(sq25_odim_writer_close(w), SQ25_ERR_NO_DATA);
    assert_same_bytes(path, before, size);
    assert_int_equal(temporaries_in(dir), 0);
    /* A successful second write replaces the file whole. */
    assert_int_equal(sq25_write_odim(ctx, path, f), SQ25_OK);
    sq25_field *back = NULL;
    assert_int_equal(sq25_read_field(ctx, path, &back), SQ25_OK);
    assert_int_equal(sq25_field_width(back), 700);
    sq25_field_destroy(back);
    free(before);
    sq25_field_destroy(rotated);
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

static void test_bad_destinations(void **state)
{
    (void)state;
    sq25_ctx *ctx = sq25_ctx_create();
    const double gt[6] = {500000, 1000, 0, 5000000, 0, -1000};
    sq25_field *f = NULL;
    assert_int_equal(sq25_field_create(ctx, 4, 3, "EPSG:32631", gt, 0, &f), SQ25_OK);
    /* A folder named like a file. */
    char dir[512], missing[512];
    snprintf(dir, sizeof dir, "%s/folder.h5", test_tmpdir());
    mkdir(dir, 0777);
    assert_int_equal(sq25_write_odim(ctx, dir, f), SQ25_ERR_WRITE);
    assert_non_null(strstr(sq25_errmsg(ctx), "folder.h5: cannot write: it is a directory"));
    /* A missing folder: the system's reason is in the message. */
    snprintf(missing, sizeof missing, "%s/no/such/x.h5", test_tmpdir());
    assert_int_equal(sq25_write_odim(ctx, missing, f), SQ25_ERR_WRITE);
    assert_non_null(strstr(sq25_errmsg(ctx), "No such file or directory"));
    /* The PNG writer goes through the same helper. */
    snprintf(dir, sizeof dir, "%s/folder.png", test_tmpdir());
    mkdir(dir, 0777);
    assert_int_equal(sq25_render_field_png(f, NULL, NULL, dir), SQ25_ERR_WRITE);
    assert_non_null(strstr(sq25_errmsg(ctx), "it is a directory"));
    sq25_field_destroy(f);
    sq25_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_killed_writer_keeps_old_file),
        cmocka_unit_test(test_failed_write_keeps_old_file),
        cmocka_unit_test(test_bad_destinations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
