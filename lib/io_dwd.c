/* io_dwd.c -- the non-HDF5 inputs of the readers: DWD RADOLAN/RADVOR binary products and DWD
 * ESRI ASCII grids, bare or packed (gzip, bzip2, tar, as delivered). Each tar member is a frame
 * (the leads of a RADVOR issue, the hours of a day of RW grids), in member-name order. */
#include "io_archive.h"
#include "io.h"

#include <stdio.h>
#include <string.h>

bool sq25__dwd_sniff(const char *path, int *format)
{
    unsigned char b[600];
    long n = sq25__peek_file(path, b, sizeof b);
    if (n <= 0) return false;
    size_t m = (size_t)n;
    if (sq25__radolan_looks_like(b, m)) *format = SQ25_FORMAT_RADOLAN;
    else if (sq25__esri_looks_like(b, m)) *format = SQ25_FORMAT_ESRI_ASCII;
    else if (sq25__is_gzip(b, m) || sq25__is_bzip2(b, m) || sq25__is_tar(b, m))
        *format = SQ25_FORMAT_RADOLAN; /* refined when unpacked */
    else return false;
    return true;
}

static bool is_hdf5(const unsigned char *b, size_t n)
{
    return n >= 8 && memcmp(b, "\x89HDF\r\n\x1a\n", 8) == 0;
}

/* A member that is itself compressed (a tar of .gz products): unpacked once more; it must
 * hold one product. */
static int read_nested(sq25_ctx *ctx, const char *name, const unsigned char *b, size_t n,
                       sq25_field **out)
{
    sq25__unpacked *u = NULL;
    int rc = sq25__unpack_memory(ctx, name, b, n, &u);
    if (rc) return rc;
    if (u->count != 1 || sq25__is_gzip(u->data, u->size) || sq25__is_bzip2(u->data, u->size))
        rc = sq25__fail(ctx, SQ25_ERR_UNSUPPORTED,
                        "%s: a packed member holding %d products or packed again: not read", name,
                        u->count);
    else
        rc = sq25__dwd_read_member(ctx, name, u->data + u->members[0].offset, u->members[0].size,
                                   u->layers, out);
    sq25__unpacked_free(ctx, u);
    return rc;
}

int sq25__dwd_read_member(sq25_ctx *ctx, const char *name, const unsigned char *b, size_t n,
                          const char *layers, sq25_field **out)
{
    *out = NULL;
    if (sq25__radolan_looks_like(b, n)) return sq25__radolan_decode(ctx, name, b, n, layers, out);
    if (sq25__esri_looks_like(b, n)) return sq25__esri_decode(ctx, name, b, n, layers, out);
    if (sq25__is_gzip(b, n) || sq25__is_bzip2(b, n)) return read_nested(ctx, name, b, n, out);
    if (is_hdf5(b, n))
        return sq25__fail(ctx, SQ25_ERR_UNSUPPORTED,
                          "%s: an HDF5 file inside %s: unpack it first (gunzip, bunzip2 or tar "
                          "-x) and read the .h5",
                          name, layers[0] ? layers : "an archive");
    return sq25__fail(ctx, SQ25_ERR_FORMAT_UNKNOWN,
                      "%s: %s%sholds neither a RADOLAN product nor an ESRI ASCII grid", name,
                      layers[0] ? layers : "", layers[0] ? " data that " : "");
}

int sq25__dwd_frame_count(sq25_ctx *ctx, const char *path, int *count)
{
    const sq25__unpacked *u;
    int rc = sq25__unpack(ctx, path, &u);
    if (rc) return rc;
    *count = u->count;
    return SQ25_OK;
}

int sq25__dwd_read(sq25_ctx *ctx, const char *path, int index, sq25_field **out)
{
    *out = NULL;
    const sq25__unpacked *u;
    int rc = sq25__unpack(ctx, path, &u);
    if (rc) return rc;
    if (index >= u->count)
        return sq25__fail(ctx, SQ25_ERR_RANGE, "%s: frame %d requested, the file holds %d",
                          path, index, u->count);
    const sq25__member *m = &u->members[index];
    char name[1200];
    if (u->count > 1) snprintf(name, sizeof name, "%s:%s", path, m->name);
    else snprintf(name, sizeof name, "%s", path);
    return sq25__dwd_read_member(ctx, name, u->data + m->offset, m->size, u->layers, out);
}
