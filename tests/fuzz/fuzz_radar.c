/* fuzz_radar.c -- radar and gridded rain readers (ODIM_H5, KNMI HDF5, CF netCDF-4): format
 * detection, frame count and the first frames of any file. Seeds: a KNMI frame of data/, small
 * ODIM files. */
#include "fuzz_common.h"

#include <hdf5.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("radar.h5", data, size);
    if (!path) return 0;
    sq25_ctx *ctx = sq25_ctx_create();
    int format = 0, count = 0;
    sq25_file_detect(ctx, path, &format);
    if (sq25_file_frame_count(ctx, path, &count) != SQ25_OK) count = 1;
    for (int i = 0; i < count && i < 3; i++) {
        sq25_field *f = NULL;
        if (sq25_read_field_frame(ctx, path, i, &f) == SQ25_OK) {
            double max, mean, wet, nodata, lonlat[8];
            sq25_field_stats(f, 0.1, &max, &mean, &wet, &nodata);
            sq25_field_corners_lonlat(f, lonlat);
        }
        sq25_field_destroy(f);
    }
    sq25_ctx_destroy(ctx);
    /* Every error path closes what it opened: no HDF5 file, group, dataset, type, space or
     * attribute of the library may remain open. */
    if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) != 0) abort();
    return 0;
}
