/* h5util.c -- HDF5 access under one process-wide lock, with HDF5's error printing off. */
#include "h5util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The one piece of process-wide state in the library, and it is a lock: Debian builds HDF5
 * without its thread-safe option, so concurrent HDF5 calls from two threads corrupt it. The
 * mutex is recursive so a helper may enter while its caller already holds it. */
static pthread_mutex_t h5_mutex;
static pthread_once_t h5_once = PTHREAD_ONCE_INIT;
static _Thread_local int h5_depth;
static _Thread_local H5E_auto2_t saved_func;
static _Thread_local void *saved_data;

static void h5_mutex_init(void)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&h5_mutex, &attr);
    pthread_mutexattr_destroy(&attr);
}

void sq25__h5_enter(void)
{
    pthread_once(&h5_once, h5_mutex_init);
    pthread_mutex_lock(&h5_mutex);
    if (h5_depth++ == 0) {
        H5Eget_auto2(H5E_DEFAULT, &saved_func, &saved_data);
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    }
}

void sq25__h5_leave(void)
{
    if (--h5_depth == 0) {
        H5Eclear2(H5E_DEFAULT);
        H5Eset_auto2(H5E_DEFAULT, saved_func, saved_data);
    }
    pthread_mutex_unlock(&h5_mutex);
}

hid_t sq25__h5_open_read(sq25_ctx *ctx, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        int code = errno == EACCES ? SQ25_ERR_PERMISSION : SQ25_ERR_FILE_NOT_FOUND;
        sq25__fail(ctx, code, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        sq25__fail(ctx, SQ25_ERR_NOT_HDF5, "%s: is a directory, not an HDF5 file", path);
        return -1;
    }
    if (st.st_size == 0) {
        sq25__fail(ctx, SQ25_ERR_FILE_EMPTY, "%s: file is empty (0 bytes)", path);
        return -1;
    }
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        int code = errno == EACCES ? SQ25_ERR_PERMISSION : SQ25_ERR_READ;
        sq25__fail(ctx, code, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    fclose(fp);
    htri_t is_h5 = H5Fis_hdf5(path);
    if (is_h5 <= 0) {
        sq25__fail(ctx, SQ25_ERR_NOT_HDF5,
                   "%s: not an HDF5 file (no HDF5 signature; %lld bytes)", path,
                   (long long)st.st_size);
        return -1;
    }
    hid_t fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (fid < 0) {
        /* The signature is there but the file cannot be opened: in practice a file cut short
         * (its superblock points past the end of what is there). */
        sq25__fail(ctx, SQ25_ERR_FILE_TRUNCATED,
                   "%s: HDF5 signature found but the file cannot be opened (truncated or "
                   "damaged; %lld bytes)",
                   path, (long long)st.st_size);
        return -1;
    }
    return fid;
}

bool sq25__h5_exists(hid_t loc, const char *path)
{
    /* Check each component, as H5Lexists fails on a missing intermediate group. */
    char buf[512];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf) return false;
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char saved = buf[i];
            buf[i] = '\0';
            htri_t e = H5Lexists(loc, buf, H5P_DEFAULT);
            buf[i] = saved;
            if (e <= 0) return false;
        }
    }
    return H5Oexists_by_name(loc, path, H5P_DEFAULT) > 0;
}

bool sq25__h5_attr_exists(hid_t loc, const char *obj_path, const char *name)
{
    if (strcmp(obj_path, ".") != 0 && strcmp(obj_path, "/") != 0 && !sq25__h5_exists(loc, obj_path))
        return false;
    return H5Aexists_by_name(loc, obj_path, name, H5P_DEFAULT) > 0;
}

static hid_t open_attr(hid_t loc, const char *obj_path, const char *name)
{
    if (!sq25__h5_attr_exists(loc, obj_path, name)) return -1;
    return H5Aopen_by_name(loc, obj_path, name, H5P_DEFAULT, H5P_DEFAULT);
}

/* Copy the first element of a variable-length string attribute. The memory type takes the
 * file type's character set: HDF5 has no conversion between ASCII and UTF-8, so an ASCII
 * memory type makes H5Aread fail on the UTF-8 strings (netCDF NC_STRING) that netCDF4-python,
 * xarray and h5netcdf write. */
static int read_vlen_string(hid_t a, hid_t t, hid_t sp, hssize_t npts, char *buf, size_t cap)
{
    int rc = -1;
    char **vals = calloc((size_t)npts, sizeof *vals);
    hid_t mt = H5Tcopy(H5T_C_S1);
    if (vals && mt >= 0 && H5Tset_size(mt, H5T_VARIABLE) >= 0 &&
        H5Tset_cset(mt, H5Tget_cset(t)) >= 0 && H5Aread(a, mt, vals) >= 0) {
        snprintf(buf, cap, "%s", vals[0] ? vals[0] : "");
        H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, vals);
        rc = 0;
    }
    if (mt >= 0) H5Tclose(mt);
    free(vals);
    return rc;
}

/* Copy the first element of a fixed-length string attribute (ASCII or UTF-8, any padding). */
static int read_fixed_string(hid_t a, hid_t t, hssize_t npts, char *buf, size_t cap)
{
    int rc = -1;
    size_t sz = H5Tget_size(t);
    if (sz == 0 || sz > ((size_t)1 << 30) / (size_t)npts) return -1;
    size_t total = sz * (size_t)npts;
    char *tmp = malloc(total + 1);
    hid_t mt = H5Tcopy(H5T_C_S1);
    if (tmp && mt >= 0 && H5Tset_size(mt, sz) >= 0 && H5Tset_strpad(mt, H5T_STR_NULLPAD) >= 0 &&
        H5Tset_cset(mt, H5Tget_cset(t)) >= 0 && H5Aread(a, mt, tmp) >= 0) {
        tmp[sz] = '\0'; /* first element only */
        snprintf(buf, cap, "%s", tmp);
        rc = 0;
    }
    if (mt >= 0) H5Tclose(mt);
    free(tmp);
    return rc;
}

int sq25__h5_attr_string(hid_t loc, const char *obj_path, const char *name, char *buf,
                         size_t cap)
{
    if (cap == 0) return -1;
    buf[0] = '\0';
    hid_t a = open_attr(loc, obj_path, name);
    if (a < 0) return -1;
    int rc = -1;
    hid_t t = H5Aget_type(a);
    hid_t sp = H5Aget_space(a);
    hssize_t npts = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (t >= 0 && H5Tget_class(t) == H5T_STRING && npts >= 1) {
        if (H5Tis_variable_str(t) > 0) rc = read_vlen_string(a, t, sp, npts, buf, cap);
        else rc = read_fixed_string(a, t, npts, buf, cap);
    }
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    H5Aclose(a);
    return rc;
}

int sq25__h5_attr_doubles(hid_t loc, const char *obj_path, const char *name, double *out,
                          size_t cap, size_t *n)
{
    *n = 0;
    hid_t a = open_attr(loc, obj_path, name);
    if (a < 0) return -1;
    int rc = -1;
    hid_t t = H5Aget_type(a);
    hid_t sp = H5Aget_space(a);
    hssize_t npts = H5Sget_simple_extent_npoints(sp);
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    if ((cls == H5T_INTEGER || cls == H5T_FLOAT) && npts >= 1) {
        double *tmp = malloc((size_t)npts * sizeof *tmp);
        if (tmp && H5Aread(a, H5T_NATIVE_DOUBLE, tmp) >= 0) {
            size_t k = (size_t)npts < cap ? (size_t)npts : cap;
            memcpy(out, tmp, k * sizeof *tmp);
            *n = k;
            rc = 0;
        }
        free(tmp);
    }
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    H5Aclose(a);
    if (rc != 0 && cls == H5T_STRING && cap >= 1) {
        char s[128], *end;
        if (sq25__h5_attr_string(loc, obj_path, name, s, sizeof s) == 0) {
            double v = strtod(s, &end);
            if (end != s) {
                out[0] = v;
                *n = 1;
                rc = 0;
            }
        }
    }
    return rc;
}

int sq25__h5_attr_double(hid_t loc, const char *obj_path, const char *name, double *out)
{
    size_t n = 0;
    return sq25__h5_attr_doubles(loc, obj_path, name, out, 1, &n) == 0 && n == 1 ? 0 : -1;
}

int sq25__h5_dataset_dims(hid_t loc, const char *path, int *rank, hsize_t dims[4])
{
    if (!sq25__h5_exists(loc, path)) return -1;
    hid_t d = H5Dopen2(loc, path, H5P_DEFAULT);
    if (d < 0) return -1;
    hid_t sp = H5Dget_space(d);
    int r = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    int rc = -1;
    if (r >= 0 && r <= 4) {
        H5Sget_simple_extent_dims(sp, dims, NULL);
        *rank = r;
        rc = 0;
    }
    if (sp >= 0) H5Sclose(sp);
    H5Dclose(d);
    return rc;
}

int sq25__h5_read_2d_double(sq25_ctx *ctx, const char *file, hid_t loc, const char *path,
                            long index, size_t ny, size_t nx, double *out)
{
    hid_t d = H5Dopen2(loc, path, H5P_DEFAULT);
    if (d < 0) return sq25__fail(ctx, SQ25_ERR_MISSING_DATASET, "%s: cannot open dataset %s",
                                 file, path);
    hid_t fsp = H5Dget_space(d);
    hsize_t count[3] = {1, ny, nx}, start[3] = {(hsize_t)(index < 0 ? 0 : index), 0, 0};
    hid_t msp = H5Screate_simple(2, count + 1, NULL);
    herr_t st = 0;
    if (index >= 0) st = H5Sselect_hyperslab(fsp, H5S_SELECT_SET, start, NULL, count, NULL);
    if (st >= 0) st = H5Dread(d, H5T_NATIVE_DOUBLE, msp, fsp, H5P_DEFAULT, out);
    H5Sclose(msp);
    H5Sclose(fsp);
    H5Dclose(d);
    if (st < 0)
        return sq25__fail(ctx, SQ25_ERR_FILE_TRUNCATED,
                          "%s: dataset %s cannot be read (data missing or corrupt: file "
                          "truncated or damaged)",
                          file, path);
    return SQ25_OK;
}
