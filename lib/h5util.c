/* h5util.c -- HDF5 access under one process-wide lock, with HDF5's error printing off. */
#include "h5util.h"

#include <libdeflate.h>

#include <errno.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The one piece of process-wide state in the library, and it is a lock, needed only when the
 * HDF5 linked at run time is built without its thread-safe option (concurrent HDF5 calls from
 * two threads would corrupt it). Debian 12's libhdf5 is thread-safe ("Threadsafety: yes"): it
 * serialises its own API calls, so the lock is skipped there (checked once with
 * H5is_library_threadsafe). The mutex is recursive so a helper may enter while its caller
 * already holds it. HDF5's error-printing switch is per thread in a thread-safe build. */
static pthread_mutex_t h5_mutex;
static pthread_once_t h5_once = PTHREAD_ONCE_INIT;
static bool h5_needs_lock = true;
static _Thread_local int h5_depth;
static _Thread_local H5E_auto2_t saved_func;
static _Thread_local void *saved_data;

static void h5_mutex_init(void)
{
    /* HDF5 1.10 prints "infinite loop closing library" at process exit after some damaged
     * files (state it keeps inside itself), which breaks the one-line error of a tool. The
     * library closes everything it opens, so HDF5's exit-time cleanup is not needed: switch
     * it off (no effect when HDF5 was already initialised by the application). */
    H5dont_atexit();
    hbool_t threadsafe = 0;
    if (H5is_library_threadsafe(&threadsafe) < 0) threadsafe = 0;
    h5_needs_lock = !threadsafe;
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&h5_mutex, &attr);
    pthread_mutexattr_destroy(&attr);
}

bool sq25__h5_uses_lock(void)
{
    pthread_once(&h5_once, h5_mutex_init);
    return h5_needs_lock;
}

void sq25__h5_enter(void)
{
    pthread_once(&h5_once, h5_mutex_init);
    if (h5_needs_lock) pthread_mutex_lock(&h5_mutex);
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
    if (h5_needs_lock) pthread_mutex_unlock(&h5_mutex);
}

int sq25_io_hdf5_threadsafe(void) { return sq25__h5_uses_lock() ? 0 : 1; }

/* ---- superblock: checked before HDF5 parses the file ---- */

#define H5_UNDEF_ADDR UINT64_MAX

static uint64_t le_uint(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return n == 8 || v != (((uint64_t)1 << (8 * n)) - 1) ? v : H5_UNDEF_ADDR;
}

/* Offset of the HDF5 signature (0, 512, 1024, 2048, ...) in fp, or -1. */
static long find_signature(FILE *fp, long long size)
{
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    for (long long at = 0; at + 8 <= size; at = at ? at * 2 : 512) {
        unsigned char buf[8];
        if (fseek(fp, (long)at, SEEK_SET) != 0 || fread(buf, 1, 8, fp) != 8) return -1;
        if (memcmp(buf, sig, 8) == 0) return (long)at;
    }
    return -1;
}

/* The superblock's own fields against the file: version 0-3, sizes of offsets and lengths
 * HDF5 knows, B-tree K values > 0, end-of-file address within the file and the root group's
 * header inside it (HDF5 1.10 reads the superblock as it comes and may crash on some values;
 * the file format specification, "Superblock", gives the layout). 0 or an error code. */
static int check_superblock(sq25_ctx *ctx, const char *path, FILE *fp, long long size)
{
    long at = find_signature(fp, size);
    if (at < 0) return SQ25_OK; /* H5Fis_hdf5 decides */
    unsigned char b[128];
    memset(b, 0, sizeof b);
    if (fseek(fp, at, SEEK_SET) != 0) return SQ25_OK;
    size_t got = fread(b, 1, sizeof b, fp);
    int version = b[8];
    if (version > 3)
        return sq25__fail(ctx, SQ25_ERR_FILE_DAMAGED, "%s: HDF5 superblock version %d (0-3 known)",
                          path, version);
    int so = version < 2 ? b[13] : b[9], sl = version < 2 ? b[14] : b[10];
    bool sizes_ok = (so == 2 || so == 4 || so == 8 || so == 16 || so == 32) &&
                    (sl == 2 || sl == 4 || sl == 8 || sl == 16 || sl == 32);
    if (!sizes_ok)
        return sq25__fail(ctx, SQ25_ERR_FILE_DAMAGED,
                          "%s: HDF5 superblock: %d-byte offsets, %d-byte lengths (damaged)", path,
                          so, sl);
    if (so != 8 && so != 4) return SQ25_OK; /* rare layouts: HDF5 checks the rest */
    size_t fields = version < 2 ? (version == 1 ? 28u : 24u) : 12u; /* bytes before base */
    if (version < 2 && (le_uint(b + 16, 2) == 0 || le_uint(b + 18, 2) == 0))
        return sq25__fail(ctx, SQ25_ERR_FILE_DAMAGED,
                          "%s: HDF5 superblock: B-tree K of 0 (damaged)", path);
    size_t need = fields + (size_t)so * (version < 2 ? 6u : 4u);
    if (got < need)
        return sq25__fail(ctx, SQ25_ERR_FILE_TRUNCATED,
                          "%s: HDF5 superblock cut short (%lld bytes)", path, size);
    uint64_t base = le_uint(b + fields, so);
    uint64_t eof = le_uint(b + fields + 2 * (size_t)so, so);
    /* v0/v1: the root symbol table entry's object header address follows the driver
     * information address and the entry's link name offset; v2/v3: it follows EOF. */
    uint64_t root = version < 2 ? le_uint(b + fields + 5 * (size_t)so, so)
                                : le_uint(b + fields + 3 * (size_t)so, so);
    if (base == H5_UNDEF_ADDR || eof == H5_UNDEF_ADDR || base > (uint64_t)size)
        return sq25__fail(ctx, SQ25_ERR_FILE_DAMAGED,
                          "%s: HDF5 superblock: undefined base or end-of-file address (damaged)",
                          path);
    if (eof > (uint64_t)size - base)
        return sq25__fail(ctx, SQ25_ERR_FILE_TRUNCATED,
                          "%s: HDF5 file declares %llu bytes but has %lld (truncated)", path,
                          (unsigned long long)(base + eof), size);
    if (root == H5_UNDEF_ADDR || root >= eof)
        return sq25__fail(ctx, SQ25_ERR_FILE_DAMAGED,
                          "%s: HDF5 root group header at %llu, outside the file's %llu bytes "
                          "(damaged)",
                          path, (unsigned long long)root, (unsigned long long)eof);
    return SQ25_OK;
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
    int sb = check_superblock(ctx, path, fp, (long long)st.st_size);
    fclose(fp);
    if (sb) return -1;
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

/* ---- direct chunk reads: deflate-only chunked 2-D datasets ---- */

/* Stored element types the direct path converts itself, exactly as HDF5's conversion to
 * double would (every value of these types is a double). */
typedef enum { DIRECT_NONE, DIRECT_F32, DIRECT_F64, DIRECT_U8, DIRECT_U16 } direct_type;

static direct_type direct_type_of(hid_t d, size_t *size)
{
    hid_t t = H5Dget_type(d);
    direct_type k = DIRECT_NONE;
    if (t < 0) return k;
    if (H5Tequal(t, H5T_IEEE_F32LE) > 0) k = DIRECT_F32, *size = 4;
    else if (H5Tequal(t, H5T_IEEE_F64LE) > 0) k = DIRECT_F64, *size = 8;
    else if (H5Tequal(t, H5T_STD_U8LE) > 0) k = DIRECT_U8, *size = 1;
    else if (H5Tequal(t, H5T_STD_U16LE) > 0) k = DIRECT_U16, *size = 2;
    H5Tclose(t);
    return k;
}

/* n little-endian values of one type from src as doubles into dst. */
static void decode_f32(const unsigned char *src, size_t n, double *dst)
{
    for (size_t c = 0; c < n; c++, src += 4) {
        const uint32_t bits = (uint32_t)src[0] | (uint32_t)src[1] << 8 | (uint32_t)src[2] << 16 |
                              (uint32_t)src[3] << 24;
        float v;
        memcpy(&v, &bits, sizeof v);
        dst[c] = v;
    }
}

static void decode_f64(const unsigned char *src, size_t n, double *dst)
{
    for (size_t c = 0; c < n; c++, src += 8) {
        uint64_t bits = 0;
        for (int b = 7; b >= 0; b--) bits = bits << 8 | src[b];
        memcpy(&dst[c], &bits, sizeof bits);
    }
}

static void decode_u8(const unsigned char *src, size_t n, double *dst)
{
    for (size_t c = 0; c < n; c++) dst[c] = src[c];
}

static void decode_u16(const unsigned char *src, size_t n, double *dst)
{
    for (size_t c = 0; c < n; c++, src += 2) dst[c] = (double)((unsigned)src[0] | (unsigned)src[1] << 8);
}

/* One decoded chunk (rows x cols of the chunk's full shape, little-endian values) into the
 * part of out it covers: rows [r0, r0 + nr), columns [c0, c0 + nc) of the ny x nx grid. */
static void place_chunk(direct_type k, const unsigned char *chunk, size_t chunk_cols,
                        size_t r0, size_t nr, size_t c0, size_t nc, size_t nx, double *out)
{
    const size_t esize = k == DIRECT_F32 ? 4 : k == DIRECT_F64 ? 8 : k == DIRECT_U8 ? 1 : 2;
    void (*decode)(const unsigned char *, size_t, double *) =
        k == DIRECT_F32 ? decode_f32 : k == DIRECT_F64 ? decode_f64
                                     : k == DIRECT_U8  ? decode_u8 : decode_u16;
    for (size_t r = 0; r < nr; r++)
        decode(chunk + r * chunk_cols * esize, nc, out + (r0 + r) * nx + c0);
}

/* Whether d is a 2-D dataset of ny x nx stored in chunks, every chunk written, with the
 * deflate filter alone (or no filter); its chunk shape in chunk[2] and *deflated. */
static bool direct_readable(hid_t d, size_t ny, size_t nx, hsize_t chunk[2], bool *deflated)
{
    hid_t sp = H5Dget_space(d), dcpl = H5Dget_create_plist(d);
    hsize_t dims[2] = {0, 0}, nchunks = 0;
    bool ok = sp >= 0 && dcpl >= 0 && H5Sget_simple_extent_ndims(sp) == 2 &&
              H5Sget_simple_extent_dims(sp, dims, NULL) == 2 && dims[0] == ny && dims[1] == nx &&
              H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, 2, chunk) == 2 &&
              chunk[0] > 0 && chunk[1] > 0;
    int nfilters = ok ? H5Pget_nfilters(dcpl) : -1;
    if (nfilters == 1) {
        unsigned flags = 0, values[8];
        size_t nvalues = 8;
        ok = H5Pget_filter2(dcpl, 0, &flags, &nvalues, values, 0, NULL, NULL) ==
             H5Z_FILTER_DEFLATE;
    } else {
        ok = ok && nfilters == 0;
    }
    *deflated = nfilters == 1;
    /* every chunk present (a missing one holds the fill value, which HDF5's read supplies) */
    const hsize_t expected = ok ? ((ny + chunk[0] - 1) / chunk[0]) * ((nx + chunk[1] - 1) / chunk[1])
                                : 0;
    ok = ok && H5Dget_num_chunks(d, sp, &nchunks) >= 0 && nchunks == expected;
    if (dcpl >= 0) H5Pclose(dcpl);
    if (sp >= 0) H5Sclose(sp);
    return ok;
}

/* A buffer of the direct read from the context's allocator, or NULL. Not sq25__malloc: running
 * out here is no error (nothing logged), the read falls back to H5Dread. */
static void *direct_buffer(sq25_ctx *ctx, size_t bytes)
{
    return ctx ? ctx->alloc(ctx->opaque, bytes ? bytes : 1) : NULL;
}

/* The whole of d read chunk by chunk with H5Dread_chunk, each chunk's zlib stream inflated
 * by libdeflate (about 3 x faster than zlib's inflate behind HDF5's filter, and without
 * HDF5's type conversion buffers). Returns 0, or -1 when the dataset does not have that form
 * or any chunk does not decode exactly: the caller then reads it through H5Dread, which
 * reports what is wrong. Its buffers come from the context's allocator. */
static int read_direct(sq25_ctx *ctx, hid_t d, size_t ny, size_t nx, double *out)
{
    hsize_t chunk[2];
    bool deflated = false;
    size_t esize = 0;
    const direct_type k = direct_type_of(d, &esize);
    if (k == DIRECT_NONE || !direct_readable(d, ny, nx, chunk, &deflated)) return -1;
    if (chunk[0] * chunk[1] > ((hsize_t)64 << 20) / esize) return -1; /* a chunk over 64 MiB */
    const size_t chunk_bytes = (size_t)(chunk[0] * chunk[1]) * esize;
    unsigned char *plain = direct_buffer(ctx, chunk_bytes), *packed = NULL;
    size_t packed_cap = 0;
    struct libdeflate_decompressor *z = deflated ? libdeflate_alloc_decompressor() : NULL;
    int rc = plain && (z || !deflated) ? 0 : -1;
    for (size_t r0 = 0; rc == 0 && r0 < ny; r0 += chunk[0])
        for (size_t c0 = 0; rc == 0 && c0 < nx; c0 += chunk[1]) {
            hsize_t offset[2] = {r0, c0}, stored = 0;
            uint32_t filter_mask = 0;
            if (H5Dget_chunk_storage_size(d, offset, &stored) < 0 || stored == 0 ||
                stored > chunk_bytes + (chunk_bytes >> 4) + 1024) {
                rc = -1;
                break;
            }
            if (packed_cap < stored) {
                sq25__free(ctx, packed);
                packed_cap = (size_t)stored;
                if (!(packed = direct_buffer(ctx, packed_cap))) {
                    rc = -1;
                    break;
                }
            }
            if (H5Dread_chunk(d, H5P_DEFAULT, offset, &filter_mask, packed) < 0) {
                rc = -1;
                break;
            }
            size_t got = 0;
            if (!deflated || (filter_mask & 1u)) { /* the filter was skipped for this chunk */
                if (stored != chunk_bytes) rc = -1;
                else memcpy(plain, packed, chunk_bytes);
            } else if (libdeflate_zlib_decompress(z, packed, (size_t)stored, plain, chunk_bytes,
                                                  &got) != LIBDEFLATE_SUCCESS ||
                       got != chunk_bytes) {
                rc = -1;
            }
            if (rc == 0) {
                const size_t nr = ny - r0 < chunk[0] ? ny - r0 : (size_t)chunk[0];
                const size_t nc = nx - c0 < chunk[1] ? nx - c0 : (size_t)chunk[1];
                place_chunk(k, plain, (size_t)chunk[1], r0, nr, c0, nc, nx, out);
            }
        }
    if (z) libdeflate_free_decompressor(z);
    sq25__free(ctx, plain);
    sq25__free(ctx, packed);
    return rc;
}

int sq25__h5_read_2d_double(sq25_ctx *ctx, const char *file, hid_t loc, const char *path,
                            long index, size_t ny, size_t nx, double *out)
{
    hid_t d = H5Dopen2(loc, path, H5P_DEFAULT);
    if (d < 0) return sq25__fail(ctx, SQ25_ERR_MISSING_DATASET, "%s: cannot open dataset %s",
                                 file, path);
    if (index < 0 && read_direct(ctx, d, ny, nx, out) == 0) {
        H5Dclose(d);
        return SQ25_OK;
    }
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

/* Declared bytes of a dataset (points x type size); false when they overflow. */
static bool declared_bytes(hid_t d, hsize_t *bytes)
{
    hid_t sp = H5Dget_space(d), t = H5Dget_type(d);
    hssize_t npts = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    size_t tsz = t >= 0 ? H5Tget_size(t) : 0;
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    return npts >= 0 && tsz > 0 && sq25__mul_ok((hsize_t)npts, (hsize_t)tsz, bytes);
}

int sq25__h5_check_storage(sq25_ctx *ctx, const char *file, hid_t loc, const char *path)
{
    hid_t d = H5Dopen2(loc, path, H5P_DEFAULT);
    if (d < 0)
        return sq25__fail(ctx, SQ25_ERR_MISSING_DATASET, "%s: cannot open dataset %s", file, path);
    hsize_t declared = 0, stored = H5Dget_storage_size(d), file_bytes = 0;
    bool sized = declared_bytes(d, &declared);
    hid_t dcpl = H5Dget_create_plist(d);
    int nfilters = dcpl >= 0 ? H5Pget_nfilters(dcpl) : -1;
    H5D_layout_t layout = dcpl >= 0 ? H5Pget_layout(dcpl) : H5D_LAYOUT_ERROR;
    if (dcpl >= 0) H5Pclose(dcpl);
    hid_t fid = H5Iget_file_id(d);
    herr_t fst = fid >= 0 ? H5Fget_filesize(fid, &file_bytes) : -1;
    if (fid >= 0) H5Fclose(fid);
    H5Dclose(d);
    if (!sized || nfilters < 0 || layout == H5D_LAYOUT_ERROR || fst < 0)
        return sq25__fail(ctx, SQ25_ERR_BAD_DIMENSIONS,
                          "%s: dataset %s: size or storage layout cannot be read", file, path);
    if (layout == H5D_COMPACT) return SQ25_OK; /* stored in its header (< 64 KiB) */
    if (stored > file_bytes)
        return sq25__fail(ctx, SQ25_ERR_FILE_TRUNCATED,
                          "%s: dataset %s: %llu bytes of data declared in a file of %llu bytes "
                          "(truncated or damaged)",
                          file, path, (unsigned long long)stored,
                          (unsigned long long)file_bytes);
    if (nfilters == 0 && stored < declared)
        return sq25__fail(ctx, SQ25_ERR_FILE_TRUNCATED,
                          "%s: dataset %s: %llu bytes stored of the %llu its size declares "
                          "(truncated or never written)",
                          file, path, (unsigned long long)stored, (unsigned long long)declared);
    if (nfilters > 0 && stored < declared / SQ25__H5_MAX_EXPANSION)
        return sq25__fail(ctx, SQ25_ERR_SIZE_ABSURD,
                          "%s: dataset %s: %llu compressed bytes cannot hold the %llu bytes its "
                          "size declares",
                          file, path, (unsigned long long)stored, (unsigned long long)declared);
    return SQ25_OK;
}
