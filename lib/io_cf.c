/* io_cf.c -- reader for CF-1.x netCDF-4 rain grids (an HDF5 file). */
#include "io.h"

int sq25__cf_frame_count(sq25_ctx *ctx, const char *path, hid_t fid, int *count)
{
    (void)fid;
    *count = 0;
    return sq25__fail(ctx, SQ25_ERR_UNSUPPORTED, "%s: CF grids are read from the next commit on",
                      path);
}

int sq25__cf_read(sq25_ctx *ctx, const char *path, hid_t fid, int index, sq25_field **out)
{
    (void)index;
    *out = NULL;
    return sq25__cf_frame_count(ctx, path, fid, &index);
}
